"""Query understanding for ``opsdoc find``: from pasted text to a search.

A pasted error line, a screen of log output, a stack trace or ``kubectl``
output says a few things that matter (an exception class, a constraint name,
an SQLSTATE, a quoted message) inside a lot that does not (timestamps,
levels, pids, request ids, addresses, durations). :func:`understand` keeps
the first kind as exact *signals*, generalizes or strips the second, and
gives the prose that is left as *words*. :func:`opsdoc.alerts.from_alert`
does the same for an Alertmanager webhook or a PagerDuty event. Everything
is local regular expressions and small word lists: no network, no model.

The ranking reads ``words`` as an OR of terms and ``signals`` as phrases
that boost a section quoting them, so a wrong signal costs more than a
missing word: signals are kept only when they look like names or codes.
"""

from __future__ import annotations

import json
import re
from bisect import bisect_right
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import accumulate
from typing import Any, Literal, NamedTuple

from opsdoc.errors import OpsdocError

__all__ = ["Query", "normalize_line", "understand"]

Source = Literal["text", "alertmanager", "pagerduty"]

MAX_INPUT_CHARS = 1_000_000  # beyond this, the head and the tail of a paste are read
MAX_LINE_CHARS = 2_000  # longer lines are read in pieces of this size
MAX_LINES = 200  # the most signal-dense lines of a long paste
MAX_READ_CHARS = 30_000  # and at most this much of them read closely
MAX_SIGNAL_CHARS = 120  # a longer quoted message gives its first clause instead
MAX_CORE_WORDS = 12


@dataclass
class Query:
    """What a search should look for, from pasted text or an alert."""

    text: str  # the cleaned text: noise stripped, one line per kept input line
    words: list[str] = field(default_factory=list)  # prose words, in order, deduplicated
    signals: list[str] = field(default_factory=list)  # exact strings, in order, deduplicated
    runbook_url: str | None = None  # from an alert annotation or PagerDuty details
    alert_name: str | None = None
    source: Source = "text"

    @property
    def empty(self) -> bool:
        """True when there is nothing to search for."""
        return not (self.words or self.signals or self.runbook_url)


# --------------------------------------------------------------------------
# Word lists


def _set(text: str) -> frozenset[str]:
    return frozenset(text.split())


STOP_WORDS = _set(
    """
    a about above after again against all am an and any are as at be because been before
    being below between both but by can could did do does doing during each few for from
    further had has have having he her here hers herself him himself his how i if in into is
    it its itself just me more most my myself no nor not now of on once only or other our
    ours ourselves own same she should so some such than that the their theirs them
    themselves then there these they this those through to too under until very was we were
    what when where which while who whom why will with would you your yours yourself
    yourselves also via e.g i.e etc please let us s t d ll m re ve y
    """
)

# Words that say nothing about the problem when they appear in a log line.
NOISE_WORDS = _set("msg lvl ts caller ago traceback stacktrace null none nil www https com org")

# Parts of a CamelCase name that make a two-part name an alert or a state
# (TargetDown, MemoryError) rather than a product name (GitHub, PostgreSQL).
STATE_WORDS = _set(
    """
    down up error errors failed failure failing fail fails high low full missing pressure
    exceeded killed off timeout timeouts unavailable unhealthy crash crashing crashlooping
    looping invalid err lag lagging slow stuck degraded not ready lost absent denied refused
    violation exception warning fault overflow expired expiring evicted throttling throttled
    saturation saturated mismatch conflict unreachable dropped restart restarting restarts
    panic deadlock limit quota space filling outage disabled unknown pending rate latency leak
    unschedulable overcommit insufficient unbound deny drift skew flapping frozen blocked
    locked corrupt corrupted growing hanging hung stale behind erroring errored terminated oom
    rejected backoff
    """
)

# Kubernetes reasons and states worth matching verbatim wherever they appear.
K8S_REASONS = _set(
    """
    CrashLoopBackOff ImagePullBackOff ErrImagePull ErrImageNeverPull OOMKilled Evicted BackOff
    CreateContainerConfigError CreateContainerError InvalidImageName RunContainerError
    ContainerCannotRun ContainerStatusUnknown FailedScheduling FailedMount FailedAttachVolume
    FailedCreatePodSandBox FailedKillPod FailedSync FailedCreate FailedPreStopHook
    FailedPostStartHook NodeNotReady NotReady Unhealthy DeadlineExceeded NodeLost Preempted
    OutOfcpu OutOfmemory OutOfpods DiskPressure MemoryPressure PIDPressure NetworkUnavailable
    ImageInspectError RegistryUnavailable SchedulingDisabled ProvisioningFailed FailedBinding
    ExceededGracePeriod NodeAffinity ContainerCreating PodInitializing
    """
)

# Values of a kubectl STATUS/REASON column that mean all is well.
HEALTHY_STATES = _set(
    "running completed succeeded ready bound active available normal true established "
    "healthy synced"
)

ERRNO_NAMES = _set(
    """
    ECONNREFUSED ECONNRESET ECONNABORTED ETIMEDOUT ENOSPC ENOENT EACCES EPERM EADDRINUSE
    EADDRNOTAVAIL EMFILE ENFILE ENOMEM EPIPE EHOSTUNREACH ENETUNREACH ENOTFOUND EEXIST EROFS
    EBUSY ENOTCONN EDQUOT ESRCH EAGAIN EINTR EINVAL ENOTDIR EISDIR ENOTEMPTY EXDEV ESHUTDOWN
    EPROTO ENOTSUP EOVERFLOW ETXTBSY ESPIPE ENOEXEC ECHILD EDEADLK ELOOP ENAMETOOLONG
    """
)

# SQLSTATE classes (the first two characters of a code), from PostgreSQL's appendix A.
SQLSTATE_CLASSES = _set(
    "00 01 02 03 08 09 0A 0B 0F 0L 0P 0Z 20 21 22 23 24 25 26 27 28 2B 2D 2F 34 38 39 3B 3D "
    "3F 40 42 44 53 54 55 57 58 72 F0 HV P0 XX"
)

HTTP_PHRASES = {
    "100": "continue",
    "200": "ok",
    "201": "created",
    "202": "accepted",
    "204": "no content",
    "301": "moved permanently",
    "302": "found",
    "304": "not modified",
    "400": "bad request",
    "401": "unauthorized",
    "402": "payment required",
    "403": "forbidden",
    "404": "not found",
    "405": "method not allowed",
    "406": "not acceptable",
    "408": "request timeout",
    "409": "conflict",
    "410": "gone",
    "413": "payload too large|request entity too large",
    "414": "uri too long",
    "415": "unsupported media type",
    "422": "unprocessable entity|unprocessable content",
    "429": "too many requests",
    "499": "client closed request",
    "500": "internal server error",
    "501": "not implemented",
    "502": "bad gateway",
    "503": "service unavailable",
    "504": "gateway timeout",
}

# Function names that say nothing as the innermost frame of a trace.
GENERIC_FUNCTIONS = _set(
    "<module> <anonymous> <init> <clinit> <lambda> main run call wrapper inner invoke apply "
    "__init__ __call__ lambda anonymous module"
)


# --------------------------------------------------------------------------
# Regular expressions


class _Lazy:
    """A regular expression compiled on first use.

    Compiling all of these took ~11 ms of every `opsdoc find` start, and a
    typical query needs a third of them (stack traces, JSON and numbers
    bring in the rest).
    """

    __slots__ = ("_compiled", "flags", "pattern")

    def __init__(self, pattern: str, flags: int = 0) -> None:
        self.pattern = pattern
        self.flags = flags
        self._compiled: re.Pattern[str] | None = None

    @property
    def compiled(self) -> re.Pattern[str]:
        if self._compiled is None:
            self._compiled = re.compile(self.pattern, self.flags)
        return self._compiled

    def match(self, *args: Any) -> re.Match[str] | None:
        return self.compiled.match(*args)

    def search(self, *args: Any) -> re.Match[str] | None:
        return self.compiled.search(*args)

    def finditer(self, *args: Any) -> Iterator[re.Match[str]]:
        return self.compiled.finditer(*args)

    def findall(self, *args: Any) -> list[Any]:
        return self.compiled.findall(*args)

    def sub(self, *args: Any, **kwargs: Any) -> str:
        return self.compiled.sub(*args, **kwargs)


_ANSI_RE = _Lazy(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b[@-Z\\-_]|\[\d{1,3}(?:;\d{1,3})*m(?!\])")
_CTRL_RE = _Lazy(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_BAD_CHARS_RE = _Lazy(r"[\x00-\x08\x0b\x0c\x0e-\x1a\x1c-\x1f\x7f\ufffd]")

_MON = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
_DOW = r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)"
_TIME = r"\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d{1,9})?)?"
_ZONE = r"(?:Z\b|\s?[+-]\d{2}:?\d{2}\b|\s(?:UTC|GMT|[A-Z]{2,4}T)\b)?"
_ISO = rf"\d{{4}}[-/.]\d{{2}}[-/.]\d{{2}}(?:(?:[T_]|\s+){_TIME}{_ZONE})?"
_SYSLOG = rf"(?:{_DOW},?\s+)?{_MON}\s+\d{{1,2}}(?:,?\s+\d{{4}})?\s+{_TIME}(?:\s+\d{{4}})?{_ZONE}"
_NGINX_TS = rf"\d{{2}}/{_MON}/\d{{4}}:{_TIME}(?:\s[+-]\d{{4}})?"
_LEVELS_UPPER = (
    r"ERROR|ERRO|EROR|ERR|WARNING|WARN|WRN|INFO|INF|DEBUG|DBG|TRACE|FATAL|CRITICAL|CRIT|NOTICE|"
    r"PANIC|SEVERE|ALERT|EMERGENCY|EMERG|VERBOSE"
)

# One leading piece of a log line's prefix: a timestamp, a level, a pid, a thread.
_PREFIX_RE = _Lazy(
    rf"""\s*(?:
      (?P<klog>[IWEF])\d{{4}}\s+(?:{_TIME}\s+)?(?:\d+\s+)?[\w.\-/]+:\d+\]
    | (?P<syslog>{_SYSLOG})(?:\s+[\w.\-]+\s+(?P<prog>[\w.\-/]+)(?:\[\d+\])?:(?=\s))?
    | [\[(]?(?:{_ISO}|{_NGINX_TS})[\])]?
    | \d{{10}}(?:\d{{3}})?(?:\.\d+)?(?=\s)
    | \[?\d{{1,2}}:\d{{2}}:\d{{2}}(?:[.,]\d+)?\]?
    | [\[<](?P<blevel>(?i:{_LEVELS_UPPER}))[\]>]:?
    | (?i:level|lvl|severity|loglevel)=["']?(?P<kvlevel>\w+)["']?
    | (?P<ulevel>{_LEVELS_UPPER})(?:\[\d+\])?(?::|(?=\s))
    | (?P<pglevel>LOG|DETAIL|HINT|STATEMENT|CONTEXT|QUERY|LOCATION):
    | (?P<clevel>[Ee]rror|[Ff]atal|[Ww]arn(?:ing)?|[Ii]nfo|[Dd]ebug|[Cc]ritical):(?=\s|$)
    | (?P<rlevel>[IWEFD])\s\|
    | \[\d+(?:[-:/\#]\d+)?\]:?
    | \d+\#\d+:
    | \d+\s+---(?=\s)
    | (?i:pid|tid)[=:]\s*\d+
    | \[[\w.\-]*(?:[Tt]hread|exec|worker|pool|main)[\w.\-]*\]
    | <\d{{1,3}}>
    | \[(?:FIRING|RESOLVED)(?::\d+)?\]
    | [\w.$]+\s+:(?=\s)
    )[\s,|>»\-]*""",
    re.X,
)
_ERROR_LEVELS = _set(
    "error erro eror err fatal panic critical crit severe alert emergency emerg e f"
)

_LEAD_RE = _Lazy(
    r"""^(?:Exception\ in\ thread\ "[^"]*"\s*|Caused\ by:\s*|Suppressed:\s*
    |Uncaught\s+(?:\(in\ promise\)\s*)?|Unhandled\ (?:exception|rejection)[.:]?\s*
    |\[(?:FIRING|RESOLVED)(?::\d+)?\]\s*)+""",
    re.X,
)
_QUOTED_KEY_RE = _Lazy(
    r'"([A-Za-z_@][\w.@-]{0,40})"\s*(?:=|:(?=\s*(?:["{\[\d-]|true\b|false\b|null\b)))\s*'
)
_ESCAPED_NL_RE = _Lazy(r"(?:\\r)?\\n(?:\\t)*|\\t")
_WINPATH_RE = _Lazy(r"\b[A-Za-z]:\\")
_KV_VALUE = r"""(?:"(?:[^"\\]|\\.)*"|'[^']*'|[^\s,;}\]"]+)"""
_NOISE_KV_RE = _Lazy(
    r"(?i)(?<![\w.-])(?:ts|time|timestamp|@timestamp|caller|pid|tid|thread(?:_?id)?|goroutine"
    r"|x-request-id|request[_-]?id|req[_-]?id|trace[_-]?id|span[_-]?id|parent[_-]?id"
    r"|correlation[_-]?id|dd\.trace_id|dd\.span_id|level|lvl|severity|loglevel|line|lineno"
    r"|file|logger_name|hostname)"
    rf"\s*=\s*{_KV_VALUE}"
    rf"|(?<![\w.-])(?:request|trace|span|correlation)[\s_-]id\s*[:=]\s*{_KV_VALUE}"
)
_KEY_ONLY_RE = _Lazy(r"(?i)(?<![\w.-])(?:msg|message|err|error|reason|event)\s*=\s*")

_UUID_RE = _Lazy(r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b")
_EMAIL_RE = _Lazy(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")
_TS_INLINE_RE = _Lazy(
    rf"(?:{_NGINX_TS}|\b{_SYSLOG}|\b{_ISO}|\b\d{{1,2}}:\d{{2}}:\d{{2}}(?:[.,]\d+)?{_ZONE})"
)
_IP_RE = _Lazy(
    r"\bip-\d{1,3}(?:-\d{1,3}){3}\b"
    r"|\b\d{1,3}(?:\.\d{1,3}){3}(?:/\d{1,2})?(?::\d{1,5})?\b"
    r"|(?<![\w:])(?=[0-9a-fA-F:]*:[0-9a-fA-F]*:)(?:[0-9a-fA-F]{0,4}:){2,7}[0-9a-fA-F]{0,4}(?![\w:])"
)
_HEX0X_RE = _Lazy(r"(?<![\w])0x[0-9a-fA-F]+\b")
_ADDR_HEX_RE = _Lazy(r"(?i)\b(?:addr|pc|sp|fp|lr|ip)=0x[0-9a-f]+")
_REQID_RE = _Lazy(r"\b(?i:req|request|trace|span|corr|txn)[-_](?=[\w-]*\d)[\w-]+")
_HYPHEN_TOKEN_RE = _Lazy(r"\b[a-z0-9]+(?:-[a-z0-9]+)+\b")
_HEX_RE = _Lazy(r"\b(?=[0-9a-fA-F]*\d)(?=[0-9a-fA-F]*[a-fA-F])[0-9a-fA-F]{7,}\b")
_SRC_EXT = (
    r"py|pyx|go|java|kt|scala|groovy|js|mjs|cjs|jsx|ts|tsx|rb|rs|c|h|cc|cpp|hpp|cs|php|ex|exs"
    r"|erl|swift|lua|pl|sh|sql|ya?ml|json|toml|tf|vue"
)
_FILELINE_RE = _Lazy(rf"\b([\w.\-/\\]+\.(?:{_SRC_EXT}))(?::\d+)+\b|,\s+line\s+\d+\b")
_PORT_RE = _Lazy(r"(?<=[A-Za-z\]]):\d{2,5}\b")
_REPEAT_RE = _Lazy(r"\(x\d+ over [\d.hms]+\)")
_DUR_RE = _Lazy(
    r"(?<![\w.])\d+(?:\.\d+)?(?:ns|us|µs|ms|s|sec|secs|m|min|mins|h|hr|hrs|d)"
    r"(?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h))*\b"
    r"|(?<![\w.])\d+(?:\.\d+)?\s*(?:milliseconds?|msecs?|seconds?|minutes?|hours?|days?)\b"
)
_SIZE_RE = _Lazy(r"(?<![\w.])\d+(?:\.\d+)?\s?(?:[kKMGTPE]i?B|[KMGTPE]i|[kKMGTPE]|bytes|B)\b")
_PCT_RE = _Lazy(r"(?<![\w.])\d+(?:\.\d+)?%")
_FRACTION_RE = _Lazy(r"(?<![\w.])\d+/\d+\b")
_PATH_NUM_RE = _Lazy(r"(?<=/)\d{3,}(?![\w.])")
_NUM_RE = _Lazy(r"(?<![\w.\-/])[-+]?\d+(?:[.,:]\d+)*(?!\w|\.\d)")
_PLACEHOLDER_RE = _Lazy(r"<(?:ts|uuid|hex|ip|id|num|dur|size|email|port)>")
_DIGIT_RE = _Lazy(r"\d")
_SENTINEL_RE = _Lazy("\ue000([\ue100-\ue1ff])")
_SPACE_RE = _Lazy(r"\s+")

# Anything volatile: where a core message is cut, why a quoted string is not exact.
_NOISE_FIND_RE = _Lazy(
    "|".join(
        p.pattern
        for p in (
            _UUID_RE,
            _EMAIL_RE,
            _TS_INLINE_RE,
            _IP_RE,
            _REQID_RE,
            _HEX_RE,
            _DUR_RE,
            _SIZE_RE,
            _PCT_RE,
            _FRACTION_RE,
            _NUM_RE,
        )
    )
    + r"|\b[a-z0-9]+(?:-[a-z0-9]+)*-[bcdfghjklmnpqrstvwxz2-9]{5}\b"
)

_HTTP_RE = _Lazy(
    r"\bHTTP(?:/\d(?:\.\d)?)?\"?\s+(?P<a>[1-5]\d\d)\b"
    r"|(?i:\b(?:http[\s_-]?)?status(?:[\s_-]?code)?|\bresponse[\s_-]?code)\"?\s*[:=]?\s*"
    r"(?P<b>[1-5]\d\d)\b"
    r"|(?i:\b(?:returned|returns|got|received|responded\s+with|response|error)\s+"
    r"(?:(?:an?|with|status|code|http)\s+)*)(?P<c>[1-5]\d\d)\b"
    r"|\b(?P<d>[1-5]\d\d)\s*[-:]?\s*(?P<phrase>(?i:"
    + "|".join(sorted({p for v in HTTP_PHRASES.values() for p in v.split("|")}, key=len)[::-1])
    + r"))\b"
    r"|\b(?P<e>[45]\d\d)s?\s+(?i:errors?|responses?)\b"
)
_SQLSTATE_RE = _Lazy(
    r"(?i:\bsql[\s_-]?state|\bpgcode|\bsqlcode|\bcode)\]?\"?\s*[:=\[]?\s*\"?(?P<a>[0-9A-Z]{5})\b"
    r"|\b(?:ERROR|FATAL|PANIC)\s*:\s+(?P<b>[0-9A-Z]{5})(?=[:\s]|$)"
)
_LEAD_SQLSTATE_RE = _Lazy(r"\s*([0-9A-Z]{5})(?=:|\s|$):?\s*")
_EXIT_RE = _Lazy(
    r"(?i:\bexit(?:ed)?(?:[\s_-]?(?:code|status))?(?:\s+with)?|\bsignal|\berrno|\bcode)"
    r"\s*[:=]?\s*(\d{1,3})\b"
)
_HEXCODE_RE = _Lazy(r"(?<![\w=])0x[0-9a-fA-F]{1,10}\b")
_EXC_SUFFIX = (
    r"(?:Error|Exception|Violation|Failure|Fault|Warning|Exit|Interrupt|Exceeded|Timeout"
    r"|Refused|NotFound|Denied)"
)
_CLASS_RE = _Lazy(
    rf"(?<![\w$.])(?:[a-z_][\w$]*\.)+[A-Z][\w$]*?{_EXC_SUFFIX}\b"
    rf"|(?<![\w$])[A-Z][A-Za-z0-9$]*{_EXC_SUFFIX}\b"
)
_K8S_API_REASON_RE = _Lazy(r"\bError from server \((\w+)\)")
# Tokens that may be CamelCase names: an upper-case letter after the first, or a
# one-word Kubernetes reason.
_CAMEL_CANDIDATE_RE = _Lazy(
    r"\b(?:[A-Za-z][a-z0-9]*[A-Z][A-Za-z0-9]*|"
    + "|".join(sorted(r for r in K8S_REASONS if not any(c.isupper() for c in r[1:])))
    + r")\b"
)
_SNAKE_RE = _Lazy(r"(?<![\w\-/\\])[a-z][a-z0-9]*(?:_[a-z0-9]+)+(?![\w\-/\\])")
_SCREAMING_RE = _Lazy(r"(?<![\w\-/\\])[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+(?![\w\-/\\])")
# A level word before a colon inside a line ("... FATAL: password ...") is not prose.
_INLINE_LEVEL_RE = _Lazy(
    r"(?<![\w.])(?:ERROR|FATAL|PANIC|WARN(?:ING)?|DETAIL|HINT|Error|error|fatal)\s*:(?=\s|$)"
)
_ERRNO_RE = _Lazy(r"\b(?:E[A-Z]{3,12}|SIG[A-Z]{2,6})\b")
_QUOTED_RE = _Lazy(
    r"""(?<![\w\\])"((?:[^"\\\n]|\\.){2,600})"(?![\w])"""
    r"""|(?<![\w'])'([^'\n]{2,300})'(?![\w'])"""
    r"""|`([^`\n]{2,300})`"""
)
_TRIVIAL_QUOTED = _set("stdin stdout stderr true false main default")
_KEY_AFTER_RE = _Lazy(r"""\s*[:=]\s*(?:["'{\[\d-]|true\b|false\b|null\b)""")
_CORE_PREFIX_RE = _Lazy(
    # kubectl's "Error from server (NotFound): ..." names its reason in parentheses.
    rf"(?:(?<![\w.])(?:ERROR|FATAL|PANIC|[Pp]anic|Error|error|fatal|Exception|exception)"
    rf"(?:\s+from\s+server\s+\([A-Za-z]+\))?"
    rf"|(?<![\w$.])(?:[A-Za-z_][\w$]*\.)*[A-Z][\w$]*{_EXC_SUFFIX})\s*:\s+"
)
_GENERIC_LEAD_RE = _Lazy(
    r"(?i)\s*(?:runtime error|fatal error|error|exception|internal error|unhandled exception"
    r"|uncaught exception|panic)\s*:\s*"
)
_CHAIN_RE = _Lazy(r"(?<=[\w)\]\"'])\s?:\s+(?=[A-Za-z])")
MAX_CHAIN_SEGMENTS = 8
_CORE_CUT_RE = _Lazy(r"""[:"'`(\[{<=;,|]|\.(?:\s|$)|\s-\s|\.\.\.|\\""")
_CAMEL_PART_RE = _Lazy(r"[A-Z]{2,}(?=[A-Z][a-z]{2})|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")
_WORD_RE = _Lazy(r"[^\W_]+")

# How much a line of a long paste says: words found with str.find on the lowercased
# text (a regular expression over a megabyte is several times slower).
_SCORE_WORDS = (
    *sorted(
        _set(
            "error exception fatal panic fail refused denied timeout cannot can't unable killed "
            "oom invalid violat unavailable forbidden unauthori exceeded sqlstate crashloop "
            "backoff back-off evicted corrupt deadlock unreachable terminated rejected traceback"
        )
    ),
    "timed out",
    "not found",
    "no such",
)
_LOW_LEVELS = ("INFO", "DEBUG", "TRACE", "level=info", "level=debug", "level=trace")
_QUOTE_PAIR_RE = _Lazy(r'"[A-Za-z][^"\n]{1,80}"')
# Bytes dropped to compare two lines of a long paste: digits and hex letters.
_SHAPE_DROP = b"0123456789abcdefABCDEF"

# Stack frames and other lines a trace is made of.
_PY_FRAME_RE = _Lazy(r'\s*File "[^"]*", line \d+(?:, in (\S+))?')
_AT_FRAME_RE = _Lazy(r"\s+at\s+(?:async\s+)?(\S+?)\s*(?:\(|$|\s+in\s+|\s+\[)|at\s+([\w$.<>]+)\(")
_MORE_RE = _Lazy(r"\s*\.\.\.\s*\d+\s+(?:more|common frames omitted)")
_GO_HEADER_RE = _Lazy(r"goroutine \d+ \[[^\]]*\]:\s*$")
_GO_FILE_RE = _Lazy(r"\s+\S+\.go:\d+")
_GO_FUNC_RE = _Lazy(r"([\w./*()\-\[\]{}]+)\(.*\)\s*$")
_CARET_RE = _Lazy(r"\s*[~^]+[~^\s]*$")
_SKIP_LINE_RE = _Lazy(
    r"\s*(?:Traceback \(most recent call last\):|During handling of the above exception"
    r"|The above exception was the direct cause|created by \S+)"
)

_K8S_ALPHABET = frozenset("bcdfghjklmnpqrstvwxz2456789")


# --------------------------------------------------------------------------
# Small helpers


def _dedupe(items: Iterable[str], *, fold: bool = False) -> list[str]:
    seen: set[str] = set()
    out: list[str] = []
    for item in items:
        key = item.lower() if fold else item
        if item and key not in seen:
            seen.add(key)
            out.append(item)
    return out


def _camel_parts(token: str) -> list[str]:
    return _CAMEL_PART_RE.findall(token)


def _is_camel_signal(token: str) -> bool:
    """A CamelCase name that reads as an alert, a reason or an error, not a product."""
    if token in K8S_REASONS:
        return True
    if not any(c.isupper() for c in token[1:]) or not any(c.islower() for c in token):
        return False
    parts = _camel_parts(token)
    if len(parts) >= 3:
        return True
    return len(parts) == 2 and any(p.lower() in STATE_WORDS for p in parts)


def _is_sqlstate(code: str) -> bool:
    return len(code) == 5 and code[:2] in SQLSTATE_CLASSES and any(c.isdigit() for c in code)


def _pod_sub(match: re.Match[str]) -> str:
    """``label-worker-5c7d9-q8vzt`` → ``label-worker``: drop replica set and pod hashes."""
    token = match.group(0)
    parts = token.split("-")

    def rs_hash(s: str) -> bool:
        return 5 <= len(s) <= 10 and set(s) <= _K8S_ALPHABET and any(c.isdigit() for c in s)

    last = parts[-1]
    pod_suffix = len(last) == 5 and set(last) <= _K8S_ALPHABET
    if pod_suffix and len(parts) >= 3 and rs_hash(parts[-2]):
        return "-".join(parts[:-2])
    if (pod_suffix and any(c.isdigit() for c in last)) or (len(last) > 5 and rs_hash(last)):
        return "-".join(parts[:-1])
    return token


def _ip_sub(match: re.Match[str]) -> str:
    text = match.group(0)
    # An IPv6 address has hex letters or '::'; plain 12:34:56 is a time or a counter.
    ipv6 = ":" in text and "." not in text
    if ipv6 and "::" not in text and not any(c in "abcdefABCDEF" for c in text):
        return text
    return "<ip>"


_GENERALIZE: list[tuple[_Lazy, Any]] = [
    (_UUID_RE, "<uuid>"),
    (_EMAIL_RE, "<email>"),
    (_TS_INLINE_RE, "<ts>"),
    (_IP_RE, _ip_sub),
    (_ADDR_HEX_RE, "<hex>"),
    (_HEX0X_RE, lambda m: m.group(0) if len(m.group(0)) <= 12 else "<hex>"),
    (_REQID_RE, "<id>"),
    (_HYPHEN_TOKEN_RE, _pod_sub),
    (_HEX_RE, "<hex>"),
    (_FILELINE_RE, lambda m: m.group(1) or ""),
    (_PORT_RE, ":<port>"),
    (_REPEAT_RE, ""),
    (_DUR_RE, "<dur>"),
    (_SIZE_RE, "<size>"),
    (_PCT_RE, "<num>%"),
    (_FRACTION_RE, "<num>/<num>"),
    (_PATH_NUM_RE, "<num>"),
    (_NUM_RE, "<num>"),
]


def _generalize(text: str, protect: list[tuple[int, int]]) -> str:
    """Replace volatile parts with placeholders, leaving the protected spans as written."""
    kept: list[str] = []
    if protect:
        pieces: list[str] = []
        last = 0
        for start, end in _merge(protect)[:255]:
            pieces.append(text[last:start])
            pieces.append("\ue000" + chr(0xE100 + len(kept)))
            kept.append(text[start:end])
            last = end
        pieces.append(text[last:])
        text = "".join(pieces)
    if _DIGIT_RE.search(text):
        for pattern, replacement in _GENERALIZE:
            text = pattern.sub(replacement, text)
    elif "@" in text:  # every other volatile shape has a digit in it
        text = _EMAIL_RE.sub("<email>", text)
    if kept:
        text = _SENTINEL_RE.sub(lambda m: kept[ord(m.group(1)) - 0xE100], text)
    return _SPACE_RE.sub(" ", text).strip()


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if out and start < out[-1][1]:
            out[-1] = (out[-1][0], max(end, out[-1][1]))
        else:
            out.append((start, end))
    return out


def _inside(pos: int, spans: list[tuple[int, int]]) -> bool:
    return any(start <= pos < end for start, end in spans)


def _core_phrase(text: str, start: int, protect: list[tuple[int, int]]) -> str | None:
    """The leading clause of a message: cut at punctuation, quotes or the first id."""
    m = _LEAD_SQLSTATE_RE.match(text, start)
    if m and _is_sqlstate(m.group(1)):
        start = m.end()
    for _ in range(4):
        m = _GENERIC_LEAD_RE.match(text, start)
        if not m:
            break
        start = m.end()
    end = min(len(text), start + 400)
    for noise in _NOISE_FIND_RE.finditer(text, start, end):
        if noise.group(0).strip() and not _inside(noise.start(), protect):
            end = noise.start()
            break
    # The first clause that says something: "sorry, too many clients" reads past
    # the comma, "duplicate key value violates unique constraint" stops at its quote.
    for cut in (*(m.start() for m in _CORE_CUT_RE.finditer(text, start, end)), end):
        phrase = _clause(text[start:cut])
        if phrase:
            return phrase
    return None


def _clause(text: str) -> str | None:
    phrase = " ".join(text.split()[:MAX_CORE_WORDS]).strip(" .,;:!?-\"'`([{")
    content = [w for w in _WORD_RE.findall(phrase.lower()) if w not in STOP_WORDS and w.isalpha()]
    return phrase if len(content) >= 2 else None


# --------------------------------------------------------------------------
# One line


@dataclass
class _Line:
    cleaned: str  # with placeholders
    signals: list[str]


def _strip_prefix(line: str) -> tuple[str, str | None, bool]:
    """The line without its leading timestamp, level, pid and thread; the level; core?"""
    pos = 0
    level: str | None = None
    core = False
    prog: str | None = None
    for _ in range(10):
        m = _PREFIX_RE.match(line, pos)
        if not m or m.end() == pos:
            break
        found = next(
            (
                m.group(g)
                for g in ("klog", "blevel", "kvlevel", "ulevel", "pglevel", "clevel", "rlevel")
                if m.group(g)
            ),
            None,
        )
        if found:
            level = found.lower()
            token = line[m.start(0) : m.end(0)].rstrip(" \t,|>»-")
            core = level in _ERROR_LEVELS and token.endswith(":")
        elif m.group("prog"):
            prog = m.group("prog")
        pos = m.end()
    rest = line[pos:]
    if prog:
        rest = f"{rest} ({prog})"
    return rest, level, core


def _preclean(line: str) -> tuple[str, bool]:
    """A line as signals are read from it: prefix, ids and noise keys gone."""
    if not line.isprintable():
        line = _CTRL_RE.sub("", line)
    rest, _level, core = _strip_prefix(line)
    lead = _LEAD_RE.match(rest)
    if lead and lead.end():
        rest = rest[lead.end() :]
    stripped = rest.strip()
    if stripped.startswith("{") and stripped.endswith("}") and len(stripped) < 20_000:
        converted = _json_line(stripped)
        if converted is not None:
            rest, core = converted
    if "\\" in rest and not _WINPATH_RE.search(rest):
        rest = _ESCAPED_NL_RE.sub(" ", rest)
    if '"' in rest:
        rest = _QUOTED_KEY_RE.sub(lambda m: m.group(1) + "=", rest)
    if "=" in rest:
        rest = _NOISE_KV_RE.sub("", rest)
        rest = _KEY_ONLY_RE.sub("", rest)
    return rest.strip(), core


def _flatten(obj: Any, key: str = "", depth: int = 0) -> Iterator[tuple[str, Any]]:
    """Leaf values of nested dicts and lists with their nearest key, at most 500."""
    count = 0
    stack: list[tuple[str, Any, int]] = [(key, obj, depth)]
    while stack and count < 500:
        k, value, d = stack.pop(0)
        if isinstance(value, dict) and d < 8:
            stack[:0] = [(str(sub), v, d + 1) for sub, v in value.items()]
        elif isinstance(value, list) and d < 8:
            stack[:0] = [(k, v, d + 1) for v in value]
        elif not isinstance(value, (dict, list)):
            count += 1
            yield k, value


def _json_line(text: str) -> tuple[str, bool] | None:
    """A JSON log line as ``msg="..." key=value`` text; core when its level is an error."""
    try:
        data = json.loads(text)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    level = ""
    first: list[str] = []
    rest: list[str] = []
    for key, value in _flatten(data):
        low = key.lower()
        if low in ("level", "lvl", "severity", "loglevel", "log.level"):
            level = str(value).lower()
            continue
        if isinstance(value, bool) or value is None or value == "":
            continue
        shown = json.dumps(value) if isinstance(value, str) and " " in value else str(value)
        if low in ("msg", "message", "error", "err", "exception", "reason", "event"):
            first.append(shown if " " in str(value) else str(value))
        else:
            rest.append(f"{key}={shown}")
    return " ".join(first + rest), level in _ERROR_LEVELS and bool(first)


def _signals(
    text: str, core_from_start: bool
) -> tuple[list[tuple[int, str]], list[tuple[int, int]]]:
    """Exact signals in a pre-cleaned line, with their positions; spans numbers keep."""
    found: list[tuple[int, str]] = []
    protect: list[tuple[int, int]] = []

    if _DIGIT_RE.search(text):  # codes: SQLSTATE, HTTP status, exit code, 0x...
        _codes(text, core_from_start, found, protect)
    for m in _CLASS_RE.finditer(text):
        found.append((m.start(), m.group(0)))
    if "server (" in text:
        for m in _K8S_API_REASON_RE.finditer(text):
            found.append((m.start(1), m.group(1)))
    for m in _CAMEL_CANDIDATE_RE.finditer(text):
        if _is_camel_signal(m.group(0)):
            found.append((m.start(), m.group(0)))
    for m in _ERRNO_RE.finditer(text):
        name = m.group(0)
        if name.startswith("SIG") or name in ERRNO_NAMES:
            found.append((m.start(), name))
    if "_" in text:
        for regex in (_SNAKE_RE, _SCREAMING_RE):
            for m in regex.finditer(text):
                name = m.group(0)
                after = text[m.end() : m.end() + 2]
                if after.startswith("=") or after.startswith('":'):
                    continue  # a key, not a value
                if sum(1 for part in name.split("_") if any(c.isalpha() for c in part)) >= 2:
                    found.append((m.start(), name))

    for m in _QUOTED_RE.finditer(text):
        value = _quoted_signal(text, m, protect)
        if value:
            found.append((m.start(), value))

    starts = [0] if core_from_start else []
    starts += [m.end() for m in _CORE_PREFIX_RE.finditer(text)]
    if starts:
        # An error chain ("failed calling webhook: ...: x509: certificate has
        # expired ...", "dial tcp ...: connect: connection refused"): its later
        # segments are the specific causes, so each is a core phrase too.
        chain = [m.end() for m in _CHAIN_RE.finditer(text, starts[0])]
        starts += [c for c in chain[:MAX_CHAIN_SEGMENTS] if c not in starts]
    for start in starts:
        phrase = _core_phrase(text, start, protect)
        if phrase:
            found.append((start, phrase))
    found.sort(key=lambda item: item[0])
    return found, protect


def _codes(
    text: str,
    core_from_start: bool,
    found: list[tuple[int, str]],
    protect: list[tuple[int, int]],
) -> None:
    """SQLSTATEs, HTTP statuses and 0x codes as signals; exit codes only kept as written."""
    if core_from_start:
        m = _LEAD_SQLSTATE_RE.match(text)
        if m and _is_sqlstate(m.group(1)):
            found.append((m.start(1), m.group(1)))
            protect.append(m.span(1))
    for m in _SQLSTATE_RE.finditer(text):
        group = "a" if m.group("a") else "b"
        if _is_sqlstate(m.group(group)):
            found.append((m.start(group), m.group(group)))
            protect.append(m.span(group))
    for m in _HTTP_RE.finditer(text):
        group = next(g for g in "abcde" if m.group(g))
        code = m.group(group)
        if group == "d" and m.group("phrase").lower() not in HTTP_PHRASES.get(code, "").split("|"):
            continue
        found.append((m.start(group), code))
        protect.append(m.span(group))
    for m in _EXIT_RE.finditer(text):
        protect.append(m.span(1))
    for m in _HEXCODE_RE.finditer(text):
        protect.append(m.span())
        if len(m.group(0)) >= 5:
            found.append((m.start(), m.group(0)))


def _quoted_signal(text: str, m: re.Match[str], protect: list[tuple[int, int]]) -> str | None:
    index = next(i for i in (1, 2, 3) if m.group(i) is not None)
    content = m.group(index)
    if index == 1:
        content = content.replace('\\"', '"').replace("\\\\", "\\")
    content = content.strip()
    if not any(c.isalpha() for c in content):
        return None
    key_like = re.fullmatch(r"[\w.@-]{1,40}", content) is not None
    if key_like and _KEY_AFTER_RE.match(text, m.end()):
        return None  # a JSON or logfmt key
    before = text[max(0, m.start() - 2) : m.start()]
    if " " not in content and ("=" in before or before.endswith(": ") or before.endswith(":")):
        return None  # a one-word field value: names in it are caught by their shape
    low = content.lower()
    if low in STOP_WORDS or low in NOISE_WORDS or low in _TRIVIAL_QUOTED or len(content) < 3:
        return None
    if re.fullmatch(r"v?\d+(?:[.\w-]*)", content):
        return None  # a version
    if len(content) <= MAX_SIGNAL_CHARS and not _NOISE_FIND_RE.search(content):
        return content
    return _core_phrase(content, 0, [])


def _analyze(raw: str) -> _Line:
    text, core = _preclean(raw)
    found, protect = _signals(text, core)
    cleaned = _generalize(text, protect)
    signals = [s for _, s in found if 2 <= len(s) <= 160]
    return _Line(cleaned, signals)


def normalize_line(line: str) -> str:
    """One log line with its noise generalized.

    The leading timestamp, level, pid and thread are stripped; ids, addresses,
    times, durations, sizes and bare numbers inside the line become
    placeholders (``<uuid>``, ``<hex>``, ``<ip>``, ``<ts>``, ``<id>``,
    ``<dur>``, ``<size>``, ``<num>``, ``<email>``, ``<port>``); pod names lose
    their hash suffixes; HTTP statuses, SQLSTATEs, exit codes and ``0x`` codes
    stay as written. Two occurrences of the same event normalize alike.
    """
    return _analyze(_ANSI_RE.sub("", line)).cleaned


def _words(cleaned: str, camel: set[str]) -> Iterator[str]:
    for token in _WORD_RE.findall(_INLINE_LEVEL_RE.sub(" ", cleaned)):
        parts = _camel_parts(token) if token in camel else [token]
        for part in parts:
            word = part.lower()
            if len(word) < 2 or word in STOP_WORDS or word in NOISE_WORDS:
                continue
            digits = sum(c.isdigit() for c in word)
            if (
                word.startswith("0x")
                or digits == len(word)
                or digits > 3
                or (digits and len(word) > 10)
            ):
                continue
            yield word


def _plain(cleaned: str) -> str:
    """Cleaned text without placeholders, for reading and for words."""
    text = _PLACEHOLDER_RE.sub(" ", cleaned)
    text = re.sub(r"\(\s*\)|\[\s*\]|\{\s*\}", " ", text)
    return _SPACE_RE.sub(" ", text).strip()


# --------------------------------------------------------------------------
# Many lines: traces, tables, selection


class _Logical(NamedTuple):
    index: int
    text: str
    extra: tuple[str, ...] = ()  # signals from a table column


# Marks of a trace or a table: without any, lines are read as they are.
_STRUCTURE_MARKS = ('File "', "at ", "goroutine ", "Traceback", "NAME ", "REASON", "Reason ", "...")


def _function_word(name: str) -> list[str]:
    parts = [p for p in re.split(r"[./:$]", name) if p and not p.startswith("(")]
    parts = [p for p in parts if not re.fullmatch(r"func\d+|lambda\d*|\d+", p)]
    if not parts:
        return []
    last = parts[-1].strip("<>*()")
    if not last or f"<{last}>" in GENERIC_FUNCTIONS or last in GENERIC_FUNCTIONS:
        return []
    words = [w.lower() for piece in last.split("_") for w in _camel_parts(piece)]
    return [w for w in words if len(w) > 1 and w not in STOP_WORDS]


def _prepare(lines: list[str], text: str) -> tuple[list[_Logical], list[str]]:
    """Logical lines (frames dropped, tables reduced) and the innermost frame's words."""
    if not any(mark in text for mark in _STRUCTURE_MARKS):
        return [
            _Logical(i, line) for i, line in enumerate(lines) if line and not line.isspace()
        ], []
    out: list[_Logical] = []
    py_func: str | None = None
    at_func: str | None = None
    go_func: str | None = None
    at_block = False
    after_py_frame = False
    go_mode = False
    table: _Table | None = None

    for index, line in enumerate(lines):
        if table is not None:
            if line and not line.isspace() and not table.ends_at(line):
                table.add(index, line)
                continue
            out.extend(table.rows())
            table = None
        if not line or line.isspace():
            after_py_frame = False
            continue
        if line[0].isspace() or line[0] in _TRACE_LEADS or go_mode or after_py_frame:
            kind, name = _trace_line(line, line.strip(), after_py_frame, go_mode)
            after_py_frame = kind == "py"
            if kind != "at":
                at_block = False
            if kind == "py":
                py_func = name or py_func
            elif kind == "at" and not at_block:
                at_func = name if name and "node:internal" not in line else at_func
                at_block = True
            elif kind == "go":
                go_mode = True
                if name and go_func is None and not name.startswith(("runtime.", "panic")):
                    go_func = name
            elif kind == "end-go":
                go_mode = False
            if kind not in ("", "end-go"):
                continue
        else:
            at_block = False
        if "NAME" in line or "REASON" in line or "Reason" in line:
            table = _Table.header(line)
            if table is not None:
                continue
        out.append(_Logical(index, line))
    if table is not None:
        out.extend(table.rows())
    func = py_func or at_func or go_func
    return out, _function_word(func) if func else []


_TRACE_LEADS = frozenset("Fa.^~TDcg")


def _trace_line(line: str, stripped: str, after_py_frame: bool, go_mode: bool) -> tuple[str, str]:
    """What a line is in a trace: py/at/go frame, skip, end-go, or "" (a line to read)."""
    if after_py_frame and line[:1].isspace() and not stripped.startswith('File "'):
        return "skip", ""  # the source line under a Python frame
    if 'File "' in line:
        m = _PY_FRAME_RE.match(line)
        if m:
            return "py", m.group(1) or ""
    if "at " in line[:40]:
        m = _AT_FRAME_RE.match(line)
        if m and ("(" in line or line[:1].isspace()):
            return "at", m.group(1) or m.group(2) or ""
    if _MORE_RE.match(line) or _CARET_RE.match(line) or _SKIP_LINE_RE.match(line):
        return "skip", ""
    if stripped.startswith("goroutine ") and _GO_HEADER_RE.match(stripped):
        return "go", ""
    if go_mode:
        if _GO_FILE_RE.match(line):
            return "go", ""
        m = _GO_FUNC_RE.match(line)
        if m and not line[:1].isspace():
            return "go", m.group(1)
        return "end-go", ""
    return "", ""


class _Table:
    """A kubectl table: NAME/STATUS/REASON/MESSAGE columns kept, the rest dropped."""

    KEEP = ("NAME", "STATUS", "REASON", "OBJECT", "MESSAGE")
    STATE = ("STATUS", "REASON")

    def __init__(self, header: str, columns: list[tuple[str, int]]) -> None:
        self.header_line = header
        self.columns = columns
        self.items: list[tuple[int, dict[str, str]]] = []

    @classmethod
    def header(cls, line: str) -> _Table | None:
        columns = [(m.group(0).upper(), m.start()) for m in re.finditer(r"\S+(?: \S+)*", line)]
        names = [name for name, _ in columns]
        if not all(re.fullmatch(r"[A-Z][A-Z ()-]*", n) for n in names) or len(names) < 2:
            return None
        if "NAME" in names and ({"STATUS", "READY", "REASON"} & set(names)):
            return cls(line, columns)
        if "REASON" in names and "MESSAGE" in names:
            return cls(line, columns)  # kubectl get events, describe's Events
        return None

    def ends_at(self, line: str) -> bool:
        return line.lstrip().startswith(("$ ", "# ", "---")) and not re.match(r"\s*-{2,}\s", line)

    def add(self, index: int, line: str) -> None:
        if re.fullmatch(r"\s*[-\s]+", line):
            return  # describe's ---- underline
        values = self._split(line)
        if values:
            self.items.append((index, values))

    def _split(self, line: str) -> dict[str, str] | None:
        names = [name for name, _ in self.columns]
        starts = [start for _, start in self.columns]
        aligned = all(start == 0 or line[start - 1 : start] in (" ", "\t", "") for start in starts)
        if aligned and len(line) > starts[-1]:
            bounds = [*starts[1:], len(line)]
            return {n: line[s:e].strip() for n, s, e in zip(names, starts, bounds, strict=True)}
        cells = re.split(r"\s{2,}|\t", line.strip())
        if len(cells) < len(names):
            cells = line.split()
        if len(cells) < len(names):
            return None
        last = len(names) - 1
        cells = [*cells[:last], " ".join(cells[last:])]
        return dict(zip(names, cells, strict=True))

    def rows(self) -> list[_Logical]:
        def unhealthy(values: dict[str, str]) -> bool:
            if values.get("TYPE", "").lower() == "normal":
                return False
            states = [values[c] for c in self.STATE if c in values]
            return (
                any(
                    part.strip().lower() not in HEALTHY_STATES
                    for state in states
                    for part in re.split(r"[,:]", state)
                    if part.strip() and not re.search(r"\d", part)
                )
                or not states
            )

        items = self.items
        bad = [item for item in items if unhealthy(item[1])]
        if bad:
            items = bad
        out: list[_Logical] = []
        for index, values in items:
            kept = [values[c] for c in self.KEEP if values.get(c) and values[c] != "<none>"]
            extra = [
                part.strip()
                for c in self.STATE
                for part in re.split(r"[,:]", values.get(c, ""))
                if part.strip()
                and not re.search(r"\d", part)
                and part.strip().lower() not in HEALTHY_STATES
                and re.fullmatch(r"[A-Za-z][A-Za-z-]+", part.strip())
            ]
            out.append(_Logical(index, "  ".join(kept), tuple(extra)))
        return out


def _chunks(line: str) -> Iterator[str]:
    while len(line) > MAX_LINE_CHARS:
        cut = line.rfind(" ", MAX_LINE_CHARS // 2, MAX_LINE_CHARS)
        cut = cut if cut > 0 else MAX_LINE_CHARS
        yield line[:cut]
        line = line[cut:]
    yield line


def _ranked(items: list[_Logical]) -> list[_Logical]:
    """Items by how much they say, most first: error words, quotes, table states.

    Scored in one pass over the joined text, not line by line: a 1 MB paste is
    tens of thousands of lines, and a Python call per line costs more than
    the regular expressions.
    """
    texts = [item.text for item in items]
    joined = "\n".join(texts)
    starts = list(accumulate(map((1).__add__, map(len, texts)), initial=0))
    scores = [3 * len(item.extra) for item in items]
    low = joined.lower()
    for word in _SCORE_WORDS:
        pos = low.find(word)
        while pos != -1:
            scores[bisect_right(starts, pos) - 1] += 2
            pos = low.find(word, pos + len(word))
    for m in _QUOTE_PAIR_RE.finditer(joined):
        scores[bisect_right(starts, m.start()) - 1] += 1
    for level in _LOW_LEVELS:
        pos = joined.find(level)
        while pos != -1:
            line = bisect_right(starts, pos) - 1
            if pos - starts[line] < 60:
                scores[line] -= 3
            pos = joined.find(level, pos + len(level))
    order = sorted(range(len(items)), key=lambda i: (-scores[i], i))
    return [items[i] for i in order]


@dataclass
class _Result:
    lines: list[str]  # cleaned, placeholders removed
    words: list[str]
    signals: list[str]


def _analyze_text(text: str) -> _Result:
    if "\x1b" in text or "[0m" in text or "[1m" in text:
        text = _ANSI_RE.sub("", text)
    raw_lines: list[str] = []
    for line in text.splitlines():
        raw_lines.extend(_chunks(line) if len(line) > MAX_LINE_CHARS else (line,))
    logical, weak = _prepare(raw_lines, text)

    first: dict[Any, _Logical] = {}
    if len(logical) > MAX_LINES:
        # Lines that differ only in digits and hex ids are one event: keep its first.
        for item in logical:
            first.setdefault(
                item.text.encode("utf-8", "replace").translate(None, _SHAPE_DROP), item
            )
    else:
        for item in logical:
            first.setdefault(item.text, item)
    candidates = list(first.values())
    if len(candidates) > MAX_LINES:
        candidates = _ranked(candidates)[:MAX_LINES]
    chosen: dict[str, tuple[int, _Line, tuple[str, ...]]] = {}
    budget = MAX_READ_CHARS
    for item in candidates:
        budget -= len(item.text)
        if budget < 0 and chosen:
            break
        analyzed = _analyze(item.text)
        if analyzed.cleaned or analyzed.signals or item.extra:
            chosen.setdefault(analyzed.cleaned, (item.index, analyzed, item.extra))

    lines: list[str] = []
    words: list[str] = []
    signals: list[str] = []
    for _, analyzed, extra in sorted(chosen.values(), key=lambda entry: entry[0]):
        plain = _plain(analyzed.cleaned)
        if plain:
            lines.append(plain)
        line_signals = [*extra, *analyzed.signals]
        signals.extend(line_signals)
        camel = {s for s in line_signals if _is_camel_signal(s)}
        words.extend(_words(plain, camel))
    words.extend(weak)
    return _Result(lines, _dedupe(words), _dedupe(signals, fold=True))


def _readable(text: str | bytes) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    if not isinstance(text, str):
        return ""
    if len(text) > MAX_INPUT_CHARS:
        half = MAX_INPUT_CHARS // 2
        head = text[:half].rsplit("\n", 1)[0]
        tail = text[-half:].split("\n", 1)[-1]
        text = head + "\n" + tail
    return text


def _binaryish(text: str) -> bool:
    sample = text[:4096]
    return len(_BAD_CHARS_RE.findall(sample)) > max(8, len(sample) // 10)


def understand(text: str) -> Query:
    """What pasted text is about: one line, many lines, a stack trace, kubectl output.

    Never raises: empty, binary or otherwise unreadable input gives an empty
    :class:`Query`. An Alertmanager or PagerDuty JSON payload pasted as text
    is read as :func:`from_alert` reads it.
    """
    try:
        text = _readable(text)
        if not text.strip() or _binaryish(text):
            return Query(text="")
        alert = _pasted_alert(text)
        if alert is not None:
            return alert
        result = _analyze_text(text)
    except RecursionError:  # pragma: no cover - deeply nested JSON in a log line
        return Query(text="")
    return Query(text="\n".join(result.lines), words=result.words, signals=result.signals)


def _pasted_alert(text: str) -> Query | None:
    head = text.lstrip()[:1]
    if head not in ("{", "[") or not re.search(
        r'"(?:alerts|payload|event|labels)"', text[:100_000]
    ):
        return None
    # Imported here: alerts imports this module, and most queries are not alerts.
    from opsdoc.alerts import from_alert

    try:
        return from_alert(text)
    except (OpsdocError, RecursionError):
        return None
