"""The regular expressions that pasted text is read with, compiled on first use.

They live together because they are built from shared pieces (timestamps,
levels, exception suffixes) and because :class:`Lazy` keeps their compile
cost off the start of every ``opsdoc find``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from opsdoc.search.text.words import HTTP_PHRASES, K8S_REASONS


class Lazy:
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


ANSI_RE = Lazy(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b[@-Z\\-_]|\[\d{1,3}(?:;\d{1,3})*m(?!\])")
CTRL_RE = Lazy(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
BAD_CHARS_RE = Lazy(r"[\x00-\x08\x0b\x0c\x0e-\x1a\x1c-\x1f\x7f\ufffd]")

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
PREFIX_RE = Lazy(
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
    | (?!0x[0-9a-fA-F]+\s)[\w.$]+\s+:(?=\s)
    )[\s,|>»\-]*""",
    re.X,
)

LEAD_RE = Lazy(
    r"""^(?:Exception\ in\ thread\ "[^"]*"\s*|Caused\ by:\s*|Suppressed:\s*
    |Uncaught\s+(?:\(in\ promise\)\s*)?|Unhandled\ (?:exception|rejection)[.:]?\s*
    |\[(?:FIRING|RESOLVED)(?::\d+)?\]\s*)+""",
    re.X,
)
QUOTED_KEY_RE = Lazy(
    r'"([A-Za-z_@][\w.@-]{0,40})"\s*(?:=|:(?=\s*(?:["{\[\d-]|true\b|false\b|null\b)))\s*'
)
ESCAPED_NL_RE = Lazy(r"(?:\\r)?\\n(?:\\t)*|\\t")
WINPATH_RE = Lazy(r"\b[A-Za-z]:\\")
_KV_VALUE = r"""(?:"(?:[^"\\]|\\.)*"|'[^']*'|[^\s,;}\]"]+)"""
NOISE_KV_RE = Lazy(
    r"(?i)(?<![\w.-])(?:ts|time|timestamp|@timestamp|caller|pid|tid|thread(?:_?id)?|goroutine"
    r"|x-request-id|request[_-]?id|req[_-]?id|trace[_-]?id|span[_-]?id|parent[_-]?id"
    r"|correlation[_-]?id|dd\.trace_id|dd\.span_id|level|lvl|severity|loglevel|line|lineno"
    r"|file|logger_name|hostname)"
    rf"\s*=\s*{_KV_VALUE}"
    rf"|(?<![\w.-])(?:request|trace|span|correlation)[\s_-]id\s*[:=]\s*{_KV_VALUE}"
)
KEY_ONLY_RE = Lazy(r"(?i)(?<![\w.-])(?:msg|message|err|error|reason|event)\s*=\s*")

UUID_RE = Lazy(r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b")
EMAIL_RE = Lazy(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")
TS_INLINE_RE = Lazy(
    rf"(?:{_NGINX_TS}|\b{_SYSLOG}|\b{_ISO}|\b\d{{1,2}}:\d{{2}}:\d{{2}}(?:[.,]\d+)?{_ZONE})"
)
IP_RE = Lazy(
    r"\bip-\d{1,3}(?:-\d{1,3}){3}\b"
    r"|\b\d{1,3}(?:\.\d{1,3}){3}(?:/\d{1,2})?(?::\d{1,5})?\b"
    r"|(?<![\w:])(?=[0-9a-fA-F:]*:[0-9a-fA-F]*:)(?:[0-9a-fA-F]{0,4}:){2,7}[0-9a-fA-F]{0,4}(?![\w:])"
)
HEX0X_RE = Lazy(r"(?<![\w])0x[0-9a-fA-F]+\b")
ADDR_HEX_RE = Lazy(r"(?i)\b(?:addr|pc|sp|fp|lr|ip)=0x[0-9a-f]+")
REQID_RE = Lazy(r"\b(?i:req|request|trace|span|corr|txn)[-_](?=[\w-]*\d)[\w-]+")
HYPHEN_TOKEN_RE = Lazy(r"\b[a-z0-9]+(?:-[a-z0-9]+)+\b")
HEX_RE = Lazy(r"\b(?=[0-9a-fA-F]*\d)(?=[0-9a-fA-F]*[a-fA-F])[0-9a-fA-F]{7,}\b")
_SRC_EXT = (
    r"py|pyx|go|java|kt|scala|groovy|js|mjs|cjs|jsx|ts|tsx|rb|rs|c|h|cc|cpp|hpp|cs|php|ex|exs"
    r"|erl|swift|lua|pl|sh|sql|ya?ml|json|toml|tf|vue"
)
FILELINE_RE = Lazy(rf"\b([\w.\-/\\]+\.(?:{_SRC_EXT}))(?::\d+)+\b|,\s+line\s+\d+\b")
PORT_RE = Lazy(r"(?<=[A-Za-z\]]):\d{2,5}\b")
REPEAT_RE = Lazy(r"\(x\d+ over [\d.hms]+\)")
DUR_RE = Lazy(
    r"(?<![\w.])\d+(?:\.\d+)?(?:ns|us|µs|ms|s|sec|secs|m|min|mins|h|hr|hrs|d)"
    r"(?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h))*\b"
    r"|(?<![\w.])\d+(?:\.\d+)?\s*(?:milliseconds?|msecs?|seconds?|minutes?|hours?|days?)\b"
)
SIZE_RE = Lazy(r"(?<![\w.])\d+(?:\.\d+)?\s?(?:[kKMGTPE]i?B|[KMGTPE]i|[kKMGTPE]|bytes|B)\b")
PCT_RE = Lazy(r"(?<![\w.])\d+(?:\.\d+)?%")
FRACTION_RE = Lazy(r"(?<![\w.])\d+/\d+\b")
PATH_NUM_RE = Lazy(r"(?<=/)\d{3,}(?![\w.])")
NUM_RE = Lazy(r"(?<![\w.\-/])[-+]?\d+(?:[.,:]\d+)*(?!\w|\.\d)")
PLACEHOLDER_RE = Lazy(r"<(?:ts|uuid|hex|ip|id|num|dur|size|email|port)>")
DIGIT_RE = Lazy(r"\d")
SENTINEL_RE = Lazy("\ue000([\ue100-\ue1ff])")
SPACE_RE = Lazy(r"\s+")

# Anything volatile: where a core message is cut, why a quoted string is not exact.
NOISE_FIND_RE = Lazy(
    "|".join(
        p.pattern
        for p in (
            UUID_RE,
            EMAIL_RE,
            TS_INLINE_RE,
            IP_RE,
            REQID_RE,
            HEX_RE,
            DUR_RE,
            SIZE_RE,
            PCT_RE,
            FRACTION_RE,
            NUM_RE,
        )
    )
    + r"|\b[a-z0-9]+(?:-[a-z0-9]+)*-[bcdfghjklmnpqrstvwxz2-9]{5}\b"
)

HTTP_RE = Lazy(
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
SQLSTATE_RE = Lazy(
    r"(?i:\bsql[\s_-]?state|\bpgcode|\bsqlcode|\bcode)\]?\"?\s*[:=\[]?\s*\"?(?P<a>[0-9A-Z]{5})\b"
    r"|\b(?:ERROR|FATAL|PANIC)\s*:\s+(?P<b>[0-9A-Z]{5})(?=[:\s]|$)"
)
LEAD_SQLSTATE_RE = Lazy(r"\s*([0-9A-Z]{5})(?=:|\s|$):?\s*")
EXIT_RE = Lazy(
    r"(?i:\bexit(?:ed)?(?:[\s_-]?(?:code|status))?(?:\s+with)?|\bsignal|\berrno|\bcode)"
    r"\s*[:=]?\s*(\d{1,3})\b"
)
HEXCODE_RE = Lazy(r"(?<![\w=])0x[0-9a-fA-F]{1,10}\b")
_EXC_SUFFIX = (
    r"(?:Error|Exception|Violation|Failure|Fault|Warning|Exit|Interrupt|Exceeded|Timeout"
    r"|Refused|NotFound|Denied)"
)
CLASS_RE = Lazy(
    rf"(?<![\w$.])(?:[a-z_][\w$]*\.)+[A-Z][\w$]*?{_EXC_SUFFIX}\b"
    rf"|(?<![\w$])[A-Z][A-Za-z0-9$]*{_EXC_SUFFIX}\b"
)
K8S_API_REASON_RE = Lazy(r"\bError from server \((\w+)\)")
# Tokens that may be CamelCase names: an upper-case letter after the first, or a
# one-word Kubernetes reason.
CAMEL_CANDIDATE_RE = Lazy(
    r"\b(?:[A-Za-z][a-z0-9]*[A-Z][A-Za-z0-9]*|"
    + "|".join(sorted(r for r in K8S_REASONS if not any(c.isupper() for c in r[1:])))
    + r")\b"
)
SNAKE_RE = Lazy(r"(?<![\w\-/\\])[a-z][a-z0-9]*(?:_[a-z0-9]+)+(?![\w\-/\\])")
SCREAMING_RE = Lazy(r"(?<![\w\-/\\])[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+(?![\w\-/\\])")
# A level word before a colon inside a line ("... FATAL: password ...") is not prose.
INLINE_LEVEL_RE = Lazy(
    r"(?<![\w.])(?:ERROR|FATAL|PANIC|WARN(?:ING)?|DETAIL|HINT|Error|error|fatal)\s*:(?=\s|$)"
)
ERRNO_RE = Lazy(r"\b(?:E[A-Z]{3,12}|SIG[A-Z]{2,6})\b")
QUOTED_RE = Lazy(
    r"""(?<![\w\\])"((?:[^"\\\n]|\\.){2,600})"(?![\w])"""
    r"""|(?<![\w'])'([^'\n]{2,300})'(?![\w'])"""
    r"""|`([^`\n]{2,300})`"""
)
KEY_AFTER_RE = Lazy(r"""\s*[:=]\s*(?:["'{\[\d-]|true\b|false\b|null\b)""")
CORE_PREFIX_RE = Lazy(
    # kubectl's "Error from server (NotFound): ..." names its reason in parentheses.
    rf"(?:(?<![\w.])(?:ERROR|FATAL|PANIC|[Pp]anic|Error|error|fatal|Exception|exception)"
    rf"(?:\s+from\s+server\s+\([A-Za-z]+\))?"
    rf"|(?<![\w$.])(?:[A-Za-z_][\w$]*\.)*[A-Z][\w$]*{_EXC_SUFFIX})\s*:\s+"
)
GENERIC_LEAD_RE = Lazy(
    r"(?i)\s*(?:runtime error|fatal error|error|exception|internal error|unhandled exception"
    r"|uncaught exception|panic)\s*:\s*"
)
CHAIN_RE = Lazy(r"(?<=[\w)\]\"'])\s?:\s+(?=[A-Za-z])")
CORE_CUT_RE = Lazy(r"""[:"'`(\[{<=;,|]|\.(?:\s|$)|\s-\s|\.\.\.|\\""")
CAMEL_PART_RE = Lazy(r"[A-Z]{2,}(?=[A-Z][a-z]{2})|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")
WORD_RE = Lazy(r"[^\W_]+")

# A quoted message: it makes a line of a long paste say more.
QUOTE_PAIR_RE = Lazy(r'"[A-Za-z][^"\n]{1,80}"')

# Stack frames and other lines a trace is made of.
PY_FRAME_RE = Lazy(r'\s*File "[^"]*", line \d+(?:, in (\S+))?')
AT_FRAME_RE = Lazy(r"\s+at\s+(?:async\s+)?(\S+?)\s*(?:\(|$|\s+in\s+|\s+\[)|at\s+([\w$.<>]+)\(")
MORE_RE = Lazy(r"\s*\.\.\.\s*\d+\s+(?:more|common frames omitted)")
GO_HEADER_RE = Lazy(r"goroutine \d+ \[[^\]]*\]:\s*$")
GO_FILE_RE = Lazy(r"\s+\S+\.go:\d+")
GO_FUNC_RE = Lazy(r"([\w./*()\-\[\]{}]+)\(.*\)\s*$")
CARET_RE = Lazy(r"\s*[~^]+[~^\s]*$")
SKIP_LINE_RE = Lazy(
    r"\s*(?:Traceback \(most recent call last\):|During handling of the above exception"
    r"|The above exception was the direct cause|created by \S+)"
)
