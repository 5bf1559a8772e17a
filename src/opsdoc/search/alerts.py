"""Alert payloads for ``opsdoc find``: an Alertmanager webhook or a PagerDuty event to a search.

:func:`from_alert` picks the alert's names, name-like labels, summaries and
runbook link out of the payload and reads its prose with the same machinery
as :func:`opsdoc.search.text.understand`.
"""

from __future__ import annotations

import contextlib
import json
import re
from typing import Any

from opsdoc.errors import OpsdocError
from opsdoc.search.text.clean import flatten, pod_sub
from opsdoc.search.text.patterns import HYPHEN_TOKEN_RE, NOISE_FIND_RE, WORD_RE
from opsdoc.search.text.signals import camel_parts, is_camel_signal
from opsdoc.search.text.understand import analyze_text, dedupe
from opsdoc.search.text.words import HEALTHY_STATES, STOP_WORDS, word_set
from opsdoc.search.types import Query, Source

__all__ = ["from_alert"]

RUNBOOK_KEYS = ("runbook_url", "runbook", "runbookurl", "runbook_link", "playbook", "playbook_url")
ALERTNAME_KEYS = ("alertname", "alert_name", "alert")
# Alert labels whose values are names worth matching verbatim.
NAME_LABELS = word_set(
    """
    namespace job service pod container deployment statefulset daemonset job_name cronjob app
    app_kubernetes_io_name component reason queue database datname persistentvolumeclaim
    horizontalpodautoscaler
    """
)
# PagerDuty custom_details keys whose values are ids or links, not symptoms.
NOISE_DETAIL_KEYS = word_set(
    """
    id uuid dedup_key incident_key fingerprint timestamp time created_at updated_at startsat
    endsat starts_at ends_at generatorurl generator_url url href link links num_firing
    num_resolved severity priority status event_action routing_key client client_url
    """
)


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _str(value: Any) -> str:
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return ""


def _load_payload(payload: str | bytes | dict[str, Any] | list[Any]) -> Any:
    if isinstance(payload, (dict, list)):
        return payload
    if isinstance(payload, bytes):
        try:
            payload = payload.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise OpsdocError("alert payload is not UTF-8 text") from None
    if not isinstance(payload, str):
        raise OpsdocError(f"alert payload must be JSON text, not {type(payload).__name__}")
    if not payload.strip():
        raise OpsdocError("alert payload is empty")
    try:
        return json.loads(payload.lstrip("\ufeff"))
    except json.JSONDecodeError as exc:
        raise OpsdocError(
            f"alert payload is not JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"
        ) from None
    except RecursionError:
        raise OpsdocError("alert payload is not JSON: nested too deeply") from None


def _alert_kind(obj: Any) -> str | None:
    if isinstance(obj, list):
        if obj and all(isinstance(a, dict) and isinstance(a.get("labels"), dict) for a in obj):
            return "alertmanager"
        return None
    if not isinstance(obj, dict):
        return None
    if isinstance(obj.get("alerts"), list):
        return "alertmanager"
    if isinstance(obj.get("labels"), dict) and "alertname" in obj["labels"]:
        return "alertmanager"
    payload = obj.get("payload")
    if isinstance(payload, dict) and ({"summary", "custom_details", "source"} & payload.keys()):
        return "pagerduty"
    if isinstance(_dict(obj.get("event")).get("data"), dict):
        return "pagerduty"
    messages = obj.get("messages")
    first = messages[0] if isinstance(messages, list) and messages else None
    if isinstance(first, dict) and isinstance(first.get("incident"), dict):
        return "pagerduty"
    return None


def from_alert(payload: str | bytes | dict[str, Any]) -> Query:
    """What an alert is about: an Alertmanager webhook or a PagerDuty event.

    Alertmanager: ``alerts[].labels.alertname`` (every firing alert's name is a
    signal, the first is ``alert_name``), name-like label values, the
    ``summary`` and ``description`` annotations, ``runbook_url``. PagerDuty
    Events v2: ``payload.summary``, ``payload.source``,
    ``payload.custom_details`` (flattened; ``runbook``, ``runbook_url`` or
    ``playbook`` gives ``runbook_url``); the v3 webhook's ``event.data.title``.
    Raises :class:`OpsdocError` (one line) when the payload is not JSON or
    neither shape.
    """
    obj = _load_payload(payload)
    kind = _alert_kind(obj)
    if kind == "alertmanager":
        return _from_alertmanager(obj)
    if kind == "pagerduty":
        return _from_pagerduty(obj)
    what = {dict: "object", list: "array", str: "string", bool: "boolean"}.get(
        type(obj), "null" if obj is None else "number"
    )
    raise OpsdocError(
        f"alert payload is a JSON {what} but neither an Alertmanager webhook "
        "(alerts[].labels.alertname) nor a PagerDuty event (payload.summary)"
    )


def _label_signal(key: str, value: str) -> str | None:
    if not value or len(value) > 100 or not re.fullmatch(r"[A-Za-z][\w.\-/:]*", value):
        return None
    if key == "pod" or "-" in value:
        value = HYPHEN_TOKEN_RE.sub(pod_sub, value)
    if NOISE_FIND_RE.search(value) or value.lower() in HEALTHY_STATES:
        return None
    return value


def _is_link(value: str) -> bool:
    if re.search(r"\s", value):
        return False
    return bool(
        re.match(r"[a-z][\w+.-]*://", value) or re.search(r"\.(?:md|markdown)\b|[/#]", value)
    )


def _alert_query(
    names: list[str],
    label_signals: list[str],
    texts: list[str],
    runbook_url: str | None,
    source: Source,
) -> Query:
    result = analyze_text("\n".join(dedupe(t.strip() for t in texts if t and t.strip())))
    name_words = [
        part.lower()
        for name in names
        for part in (camel_parts(name) if is_camel_signal(name) else WORD_RE.findall(name))
    ]
    name_words = [w for w in name_words if len(w) > 1 and w not in STOP_WORDS]
    lines = dedupe([*names, *result.lines])
    return Query(
        text="\n".join(lines),
        words=dedupe([*name_words, *result.words]),
        signals=dedupe([*names, *label_signals, *result.signals], fold=True),
        runbook_url=runbook_url or None,
        alert_name=names[0] if names else None,
        source=source,
    )


def _from_alertmanager(obj: Any) -> Query:
    if isinstance(obj, list):
        alerts, common_labels, common_annotations, group_labels = obj, {}, {}, {}
    elif isinstance(obj.get("alerts"), list):
        alerts = obj["alerts"]
        common_labels = _dict(obj.get("commonLabels"))
        common_annotations = _dict(obj.get("commonAnnotations"))
        group_labels = _dict(obj.get("groupLabels"))
    else:
        alerts, common_labels, common_annotations, group_labels = [obj], {}, {}, {}
    alerts = [a for a in alerts if isinstance(a, dict)]
    firing = [a for a in alerts if a.get("status", "firing") == "firing"] or alerts
    firing = firing[:50]

    names = [_str(_dict(a.get("labels")).get("alertname")) for a in firing]
    names = dedupe(n for n in names if n)
    if not names:
        fallback = _str(common_labels.get("alertname")) or _str(group_labels.get("alertname"))
        names = [fallback] if fallback else []
    if not names and not firing:
        raise OpsdocError("Alertmanager payload has no alerts")

    label_signals: list[str] = []
    texts: list[str] = []
    runbook_url: str | None = None
    annotation_sets = [_dict(a.get("annotations")) for a in firing[:20]] + [common_annotations]
    label_sets = [_dict(a.get("labels")) for a in firing[:20]] + [common_labels]
    for labels in label_sets:
        for key, value in labels.items():
            if key in NAME_LABELS:
                signal = _label_signal(key, _str(value))
                if signal:
                    label_signals.append(signal)
    for annotation in annotation_sets:
        for key in ("summary", "message", "description"):
            texts.append(_str(annotation.get(key)))
    for source in annotation_sets + label_sets:
        for key in (*RUNBOOK_KEYS, "runbookURL", "runbookUrl"):
            value = _str(source.get(key))
            if value and runbook_url is None:
                runbook_url = value
    return _alert_query(names, label_signals, texts, runbook_url, "alertmanager")


# Alertmanager's PagerDuty template: "Labels:\n - alertname = X\nAnnotations:\n - ..."
_AM_LINE_RE = re.compile(r"^\s*-\s*([\w.]+)\s*=\s*(.+?)\s*$", re.M)
_AM_HEADING_RE = re.compile(r"^\s*(?:Labels|Annotations|Source|Alerts \w+):\s*$", re.M)


def _from_pagerduty(obj: dict[str, Any]) -> Query:
    summary = source_name = ""
    details: Any = {}
    extra: list[str] = []
    if isinstance(obj.get("payload"), dict):
        body = obj["payload"]
        summary, source_name = _str(body.get("summary")), _str(body.get("source"))
        details = body.get("custom_details", {})
        extra = [_str(body.get(k)) for k in ("component", "group", "class")]
    elif isinstance(_dict(obj.get("event")).get("data"), dict):
        data = obj["event"]["data"]
        summary = _str(data.get("title")) or _str(data.get("summary"))
        source_name = _str(_dict(data.get("service")).get("summary"))
        details = data.get("custom_details") or _dict(data.get("body")).get("details") or {}
    else:
        incident = obj["messages"][0]["incident"]
        summary = _str(incident.get("title")) or _str(incident.get("summary"))
        source_name = _str(_dict(incident.get("service")).get("name"))
    if isinstance(details, str) and details.strip()[:1] in ("{", "["):
        with contextlib.suppress(ValueError):
            details = json.loads(details)

    names: list[str] = []
    label_signals: list[str] = []
    texts: list[str] = [summary, source_name, *extra]
    runbook_url: str | None = None

    pairs = list(flatten(details, "details"))
    for _, value in list(pairs):
        if isinstance(value, str) and _AM_LINE_RE.search(value):
            pairs += [(m.group(1), m.group(2)) for m in _AM_LINE_RE.finditer(value)]
    for key, value in pairs:
        low = key.lower()
        text = _str(value) if not isinstance(value, bool) else ""
        if not text:
            continue
        if low in RUNBOOK_KEYS:
            if runbook_url is None and _is_link(text):
                runbook_url = text
            continue
        if low in ALERTNAME_KEYS:
            names.append(text)
            continue
        if low in NOISE_DETAIL_KEYS or isinstance(value, (int, float)):
            continue
        if low in NAME_LABELS:
            signal = _label_signal(low, text)
            if signal:
                label_signals.append(signal)
            continue
        if _AM_LINE_RE.search(text):
            text = _AM_HEADING_RE.sub("", _AM_LINE_RE.sub("", text))
        if text.startswith(("http://", "https://")):
            continue
        texts.append(text)
    for link in obj.get("links", []) if isinstance(obj.get("links"), list) else []:
        link = _dict(link)
        href, label = _str(link.get("href")), _str(link.get("text")).lower()
        if runbook_url is None and href and ("runbook" in label or "playbook" in label):
            runbook_url = href
    if not names:
        m = re.match(r"\[(?:FIRING|RESOLVED)(?::\d+)?\]\s+([A-Za-z][\w.:-]*)", summary)
        if m:
            names.append(m.group(1))
    return _alert_query(dedupe(names), label_signals, texts, runbook_url, "pagerduty")
