"""Alert payloads: Alertmanager webhooks and PagerDuty events in, words and exact signals out."""

from __future__ import annotations

import json

import pytest

from opsdoc.errors import OpsdocError
from opsdoc.search import to_query as understand
from opsdoc.search.alerts import from_alert

ALERTMANAGER = {
    "version": "4",
    "status": "firing",
    "receiver": "oncall",
    "groupLabels": {"alertname": "KubePodCrashLooping"},
    "commonLabels": {"alertname": "KubePodCrashLooping", "namespace": "labels"},
    "commonAnnotations": {},
    "alerts": [
        {
            "status": "firing",
            "labels": {
                "alertname": "KubePodCrashLooping",
                "namespace": "labels",
                "pod": "label-worker-5c7d9-q8vzt",
                "container": "worker",
                "reason": "CrashLoopBackOff",
                "instance": "10.0.3.4:8080",
                "severity": "warning",
            },
            "annotations": {
                "summary": "Pod is crash looping.",
                "description": "Pod labels/label-worker-5c7d9-q8vzt (worker) is restarting 2.5 times / 10 minutes.",
                "runbook_url": "https://runbooks.example.com/k8s/pods.md#crash-looping",
            },
            "startsAt": "2026-11-23T03:12:44.120Z",
            "fingerprint": "8f3a9c2e7b1d4f6a",
        },
        {
            "status": "firing",
            "labels": {"alertname": "KubeContainerWaiting", "namespace": "labels"},
            "annotations": {"summary": "Container waiting longer than 1 hour"},
        },
        {
            "status": "resolved",
            "labels": {"alertname": "KubeJobFailed"},
            "annotations": {"summary": "Job failed to complete."},
        },
    ],
}


def test_alertmanager_webhook() -> None:
    q = from_alert(json.dumps(ALERTMANAGER))
    assert q.source == "alertmanager"
    assert q.alert_name == "KubePodCrashLooping"
    assert q.runbook_url == "https://runbooks.example.com/k8s/pods.md#crash-looping"
    assert q.signals[:2] == ["KubePodCrashLooping", "KubeContainerWaiting"]
    assert "KubeJobFailed" not in q.signals  # resolved
    # Name-like label values, the pod without its hashes; not ids, addresses or severity.
    for value in ("labels", "label-worker", "worker", "CrashLoopBackOff"):
        assert value in q.signals
    for value in ("label-worker-5c7d9-q8vzt", "10.0.3.4:8080", "warning"):
        assert value not in q.signals
    assert q.words[:4] == ["kube", "pod", "crash", "looping"]
    assert {"restarting", "waiting", "longer"} <= set(q.words)


def test_alertmanager_without_runbook_url_and_from_bytes_or_dict() -> None:
    payload = json.loads(json.dumps(ALERTMANAGER))
    del payload["alerts"][0]["annotations"]["runbook_url"]
    for form in (payload, json.dumps(payload).encode()):
        q = from_alert(form)
        assert q.runbook_url is None
        assert q.alert_name == "KubePodCrashLooping"


def test_alertmanager_runbook_url_from_common_annotations() -> None:
    payload = {
        "alerts": [{"labels": {"alertname": "KubeProxyDown"}, "annotations": {}}],
        "commonAnnotations": {"runbook_url": "runbooks/k8s.md#kube-proxy-down"},
    }
    q = from_alert(payload)
    assert q.runbook_url == "runbooks/k8s.md#kube-proxy-down"
    assert q.signals == ["KubeProxyDown"]
    assert q.words == ["kube", "proxy", "down"]


PAGERDUTY = {
    "routing_key": "R0UT1NGKEY",
    "event_action": "trigger",
    "dedup_key": "signup-9f8e",
    "payload": {
        "summary": "Signup failures spiking: SLUG_TAKEN",
        "source": "signup-api",
        "severity": "error",
        "custom_details": {
            "service": "signup-api",
            "error": {"code": "SLUG_TAKEN", "message": "slug already registered"},
            "window": {"minutes": 5, "count": 312},
            "runbook": "docs/runbooks/signup.md#signup-failed",
        },
    },
}


def test_pagerduty_event_v2() -> None:
    q = from_alert(json.dumps(PAGERDUTY))
    assert q.source == "pagerduty"
    assert q.runbook_url == "docs/runbooks/signup.md#signup-failed"
    assert q.signals == ["signup-api", "SLUG_TAKEN"]
    assert q.words[:3] == ["signup", "failures", "spiking"]
    assert {"slug", "already", "registered"} <= set(q.words)
    assert "312" not in q.text and "R0UT1NGKEY" not in q.text


def test_pagerduty_without_runbook_and_other_runbook_keys() -> None:
    payload = json.loads(json.dumps(PAGERDUTY))
    del payload["payload"]["custom_details"]["runbook"]
    assert from_alert(payload).runbook_url is None
    payload["payload"]["custom_details"]["playbook"] = "https://wiki.example.com/signup#slug"
    assert from_alert(payload).runbook_url == "https://wiki.example.com/signup#slug"


def test_pagerduty_event_sent_by_alertmanager() -> None:
    firing = (
        "Labels:\n - alertname = etcdBackendQuotaLowSpace\n - namespace = openshift-etcd\n"
        "Annotations:\n - description = etcd cluster database size exceeds the defined quota "
        "on etcd instance 10.0.0.5:2379.\n"
        " - runbook_url = https://runbooks.example.com/etcd/etcdBackendQuotaLowSpace.md\n"
    )
    payload = {
        "event_action": "trigger",
        "payload": {
            "summary": "[FIRING:1] etcdBackendQuotaLowSpace (etcd-0 openshift-etcd)",
            "source": "prometheus-k8s-0",
            "severity": "critical",
            "custom_details": {"firing": firing, "num_firing": "1"},
        },
    }
    q = from_alert(payload)
    assert q.alert_name == "etcdBackendQuotaLowSpace"
    assert q.runbook_url == "https://runbooks.example.com/etcd/etcdBackendQuotaLowSpace.md"
    assert q.signals[:2] == ["etcdBackendQuotaLowSpace", "openshift-etcd"]
    assert {"database", "size", "exceeds", "quota"} <= set(q.words)
    assert "labels" not in q.words and "annotations" not in q.words


def test_pagerduty_v3_webhook() -> None:
    payload = {
        "event": {
            "event_type": "incident.triggered",
            "data": {
                "type": "incident",
                "title": "Connection pool exhausted on orders-db",
                "service": {"summary": "orders-api"},
            },
        }
    }
    q = from_alert(payload)
    assert q.source == "pagerduty"
    assert q.words[:3] == ["connection", "pool", "exhausted"]


def test_an_alert_payload_pasted_as_text_is_read_as_an_alert() -> None:
    q = understand(json.dumps(ALERTMANAGER, indent=2))
    assert q.source == "alertmanager" and q.alert_name == "KubePodCrashLooping"


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ("this is not json", "not JSON"),
        ('{"alerts": [', "not JSON"),
        ("", "empty"),
        (b"\xff\xfe\x00", "not UTF-8"),
        ("[1, 2, 3]", "neither an Alertmanager webhook"),
        ('{"incident": "db down"}', "neither an Alertmanager webhook"),
        ("null", "neither an Alertmanager webhook"),
        ('{"alerts": []}', "no alerts"),
    ],
)
def test_bad_payloads_raise_one_clear_line(payload: str | bytes, message: str) -> None:
    with pytest.raises(OpsdocError) as caught:
        from_alert(payload)
    text = str(caught.value)
    assert message in text
    assert "\n" not in text
