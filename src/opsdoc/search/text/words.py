"""The word lists that pasted text is read with.

Kept apart from the code that reads them so a list can be reviewed and
extended on its own: stop words, words that are log noise, words that make
a CamelCase name a state, Kubernetes reasons, errno names, SQLSTATE classes,
HTTP phrases, and the words that score a line of a long paste.
"""

from __future__ import annotations


def word_set(text: str) -> frozenset[str]:
    return frozenset(text.split())


STOP_WORDS = word_set(
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
NOISE_WORDS = word_set("msg lvl ts caller ago traceback stacktrace null none nil www https com org")

# Parts of a CamelCase name that make a two-part name an alert or a state
# (TargetDown, MemoryError) rather than a product name (GitHub, PostgreSQL).
STATE_WORDS = word_set(
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
K8S_REASONS = word_set(
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
HEALTHY_STATES = word_set(
    "running completed succeeded ready bound active available normal true established "
    "healthy synced"
)

ERRNO_NAMES = word_set(
    """
    ECONNREFUSED ECONNRESET ECONNABORTED ETIMEDOUT ENOSPC ENOENT EACCES EPERM EADDRINUSE
    EADDRNOTAVAIL EMFILE ENFILE ENOMEM EPIPE EHOSTUNREACH ENETUNREACH ENOTFOUND EEXIST EROFS
    EBUSY ENOTCONN EDQUOT ESRCH EAGAIN EINTR EINVAL ENOTDIR EISDIR ENOTEMPTY EXDEV ESHUTDOWN
    EPROTO ENOTSUP EOVERFLOW ETXTBSY ESPIPE ENOEXEC ECHILD EDEADLK ELOOP ENAMETOOLONG
    """
)

# SQLSTATE classes (the first two characters of a code), from PostgreSQL's appendix A.
SQLSTATE_CLASSES = word_set(
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
GENERIC_FUNCTIONS = word_set(
    "<module> <anonymous> <init> <clinit> <lambda> main run call wrapper inner invoke apply "
    "__init__ __call__ lambda anonymous module"
)

# Levels (lowercased) that make the message after a line's prefix an error.
ERROR_LEVELS = word_set(
    "error erro eror err fatal panic critical crit severe alert emergency emerg e f"
)

# Quoted strings too common to be a signal.
TRIVIAL_QUOTED = word_set("stdin stdout stderr true false main default")

# How much a line of a long paste says: words found with str.find on the lowercased
# text (a regular expression over a megabyte is several times slower).
SCORE_WORDS = (
    *sorted(
        word_set(
            "error exception fatal panic fail refused denied timeout cannot can't unable killed "
            "oom invalid violat unavailable forbidden unauthori exceeded sqlstate crashloop "
            "backoff back-off evicted corrupt deadlock unreachable terminated rejected traceback"
        )
    ),
    "timed out",
    "not found",
    "no such",
)
# Levels near the start of a line that make it say less.
LOW_LEVELS = ("INFO", "DEBUG", "TRACE", "level=info", "level=debug", "level=trace")
