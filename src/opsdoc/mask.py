"""Masking: secrets never reach the journal, the terminal or logs unmasked.

A :class:`Masker` replaces two kinds of secret with ``***``:

- **Known values**: the values of secret params, a DSN's password, anything
  added with :meth:`Masker.add`. Matched exactly, longest first, and also in
  their URL-encoded forms (a password inside a DSN is often percent-encoded).
  Values shorter than :data:`MIN_SECRET_LEN` (3) characters are ignored:
  masking every ``1`` or ``ab`` in the output would shred it beyond reading
  (row counts, exit codes, ids), and the pattern of the ``***`` left behind
  would itself give a one- or two-character secret away. Such a value is no
  protection anyway; the runner should refuse or warn about it.
- **Secret shapes**, even when no value was given: ``Authorization:`` headers
  and ``Bearer`` tokens, JWTs, AWS access key ids and secret keys, passwords
  in URLs and DSNs (``postgresql://app:***@db:5432/x`` keeps the user and
  the host), libpq ``password=…``, ``PGPASSWORD=…``, any ``token``,
  ``secret``, ``password``, ``passwd``, ``api_key`` name followed by ``:`` or
  ``=`` and a value (also as a JSON key), ``--password VALUE`` flags, GitHub
  and Slack tokens, Stripe and Google API keys, PEM private key blocks.

The replacement keeps the structure around the secret readable
(``Bearer ***``, ``password=*** host=db``, ``"token": "***"``), and masking
is idempotent: masking masked text changes nothing.

DSNs have their own helpers, the one place opsdoc hides a connection
string's password: :class:`DsnScrub` (the SQL executor's output, errors and
results), :func:`shown_dsn` (a target as plans, messages and the journal
name it) and :func:`dsn_where` (``host:port`` for messages).

Every pattern is compiled once at import; :meth:`Masker.mask` makes one
``re.sub`` pass per pattern plus one for all known values together, so 64 KB
of output is masked in milliseconds.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import quote, quote_plus

MASK = "***"
MIN_SECRET_LEN = 3

# Names that say "the value next to me is a secret": used for key=value text
# and for dict keys in mask_data.
_SECRET_NAME = (
    r"(?:token|secret|passw(?:or)?d|pwd|api[_-]?key|access[_-]?key|private[_-]?key"
    r"|credentials?|auth[_-]?key|session[_-]?key)"
)
_SECRET_KEY_RE = re.compile(rf"(?i)^[\w.\-]*{_SECRET_NAME}[\w.\-]*$")
# Dict keys that merely mention the word and hold no secret.
_NOT_SECRET_KEYS = re.compile(r"(?i)^(?:secret|token|password)s?_?(?:name|names|id|ids|count)$")

Replacement = str | Callable[[re.Match[str]], str]


_QUOTED_OR_BARE = r"""(?:"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'|[^\s,;&"'}\]<>)]+)"""

_PATTERNS: list[tuple[re.Pattern[str], Replacement]] = [
    # PEM private keys (also when output was cut before the END line).
    (
        re.compile(
            r"(-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----)"
            r"([\s\S]*?)"
            r"(-----END (?:[A-Z0-9]+ )*PRIVATE KEY-----|\Z)"
        ),
        lambda m: f"{m.group(1)}\n{MASK}\n{m.group(3)}" if m.group(3) else f"{m.group(1)}\n{MASK}",
    ),
    # scheme://user:PASSWORD@host — keep the user and the host. The password
    # runs to the last @ before the path, so an unencoded @ in it is covered.
    (
        re.compile(r"(?i)(\b[a-z][a-z0-9+.\-]*://[^\s:/@]*:)([^\s/]+?)(@[^\s@/]*(?:[/\s?#]|$))"),
        lambda m: m.group(1) + MASK + m.group(3),
    ),
    # Authorization: <scheme> <credentials>  (any scheme; Basic carries a password)
    (
        re.compile(
            r"(?i)(\b(?:proxy-)?authorization[\"']?[ \t]*[:=][ \t]*[\"']?)"
            r"(?:(bearer|basic|token|digest|negotiate|ntlm|apikey|sso-key)(\s+))?"
            r"([^\s\"',;]+)"
        ),
        lambda m: m.group(1) + (m.group(2) + m.group(3) if m.group(2) else "") + MASK,
    ),
    # Bearer <token> anywhere (curl -H, logs). Short words after "bearer" in
    # prose ("the bearer of") are left alone.
    (
        re.compile(r"(?i)(\bbearer\s+)(?!\*\*\*)[A-Za-z0-9\-._~+/]{8,}=*"),
        lambda m: m.group(1) + MASK,
    ),
    # Tokens recognizable by their shape alone, in one pass: JWTs (three
    # base64url parts, the first a JSON header: "eyJ" is '{"'), AWS access key
    # ids, GitHub, Slack, Stripe and Google API keys.
    (
        re.compile(
            r"\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*"
            r"|\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA)[A-Z0-9]{16}\b"
            r"|\bgh[pousr]_[A-Za-z0-9]{20,}|\bgithub_pat_[A-Za-z0-9_]{20,}"
            r"|\bxox[abprs]-[A-Za-z0-9-]{8,}"
            r"|\b(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{16,}"
            r"|\bAIza[0-9A-Za-z_-]{35}\b"
        ),
        MASK,
    ),
    # aws_secret_access_key / aws_session_token, in config, env or JSON.
    (
        re.compile(
            r"(?i)(\b(?:aws_?)?(?:secret_?access_?key|session_?token)[\"']?\s*[:=]\s*[\"']?)"
            r"([A-Za-z0-9/+=]{16,})"
        ),
        lambda m: m.group(1) + MASK,
    ),
    # Slack webhook URLs carry their secret in the path.
    (re.compile(r"(hooks\.slack\.com/services/)[A-Za-z0-9/]+"), lambda m: m.group(1) + MASK),
    # --password VALUE, --api-token VALUE (a short -p VALUE is too ambiguous).
    (
        re.compile(rf"(?i)((?<![\w-])--?[\w-]*{_SECRET_NAME}[\w-]*[ \t]+)(?!-)({_QUOTED_OR_BARE})"),
        lambda m: m.group(1) + _mask_value(m.group(2)),
    ),
    # name = value / name: value / "name": "value" where the name says secret:
    # PGPASSWORD=..., libpq password=..., api_key: ..., "client_secret": "...".
    (
        re.compile(
            rf"(?i)((?<![\w.\-])(?=[\w.\-]*?{_SECRET_NAME})[\w.\-]++[\"']?[ \t]*[:=][ \t]*)"
            rf"(?!\*\*\*)({_QUOTED_OR_BARE})"
        ),
        lambda m: m.group(1) + _mask_value(m.group(2)),
    ),
]


# A value that names where the secret comes from rather than being it: $VAR,
# $(cmd), `cmd`, a <placeholder>, process.env.X, os.environ[...]. Masking those
# hides what a step will run and shows a reference as if it were a secret.
_REFERENCE = re.compile(r"""["']?(?:\$|`|<[\w.-]+>|process\.env\b|os\.(?:environ|getenv)\b)""")


def _mask_value(value: str) -> str:
    """*** in place of a value, keeping its quotes; a reference is left as it is."""
    if _REFERENCE.match(value):
        return value
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[0] + MASK + value[0]
    return MASK


class Masker:
    """Replaces known secret values and common secret shapes with ``***``."""

    def __init__(self, values: Iterable[str] = ()) -> None:
        self._values: set[str] = set()
        self._known: re.Pattern[str] | None = None
        for value in values:
            self.add(value)

    def add(self, value: str | None) -> None:
        """Mask this value from now on (ignored when shorter than 3 characters)."""
        if not value or len(value) < MIN_SECRET_LEN:
            return
        forms = {value, value.strip(), quote(value, safe=""), quote_plus(value, safe="")}
        new = {f for f in forms if len(f) >= MIN_SECRET_LEN} - self._values
        if new:
            self._values |= new
            ordered = sorted(self._values, key=lambda v: (-len(v), v))
            self._known = re.compile("|".join(re.escape(v) for v in ordered))

    @property
    def values(self) -> frozenset[str]:
        return frozenset(self._values)

    def mask(self, text: str) -> str:
        """The text with every known secret and every secret shape replaced."""
        if not text:
            return text
        if self._known is not None:
            text = self._known.sub(MASK, text)
        for pattern, repl in _PATTERNS:
            text = pattern.sub(repl, text)
        return text

    def mask_data(self, obj: Any) -> Any:
        """A copy of ``obj`` with every string masked (dict keys are kept).

        Walks dicts, lists and tuples; other scalars are returned as they are.
        A string held under a key whose name says secret (``password``,
        ``api_key``, ``token``, ...) is replaced whole.
        """
        if isinstance(obj, str):
            return self.mask(obj)
        if isinstance(obj, dict):
            out = {}
            for key, value in obj.items():
                if isinstance(value, str) and value and _masks_whole(key):
                    out[key] = MASK
                else:
                    out[key] = self.mask_data(value)
            return out
        if isinstance(obj, list):
            return [self.mask_data(item) for item in obj]
        if isinstance(obj, tuple):
            return tuple(self.mask_data(item) for item in obj)
        return obj


# Words of a name that say it holds a credential, and endings of run-together
# words (PGPASSWORD, apitoken, clientsecret).
_SECRET_WORDS = {
    "token",
    "tokens",
    "secret",
    "secrets",
    "password",
    "passwd",
    "pass",
    "pwd",
    "key",
    "keys",
    "apikey",
    "credential",
    "credentials",
    "creds",
    "auth",
    "dsn",
    "cookie",
    "private",
    "passphrase",
    "signature",
    "sig",
    "cert",
    "pem",
}
_SECRET_ENDINGS = ("password", "passwd", "secret", "token", "apikey", "passphrase")
_CONNECTION_URL = re.compile(
    r"(database|db|postgres|postgresql|pg|mysql|redis|mongo|mongodb|amqp|broker|conn|connection)"
    r"_?(url|uri|string|dsn)",
    re.IGNORECASE,
)


def is_secret_name(name: object) -> bool:
    """Whether a name says its value is a credential: a parameter (``DB_PASSWORD``,
    ``<new-token>``, ``DATABASE_URL_PROD``, ``USER_JWT``) or a key in journaled data.

    The one definition opsdoc uses, for the parser's ``secret`` flag and for
    masking values held under such keys.
    """
    if not isinstance(name, str) or not name or _NOT_SECRET_KEYS.match(name):
        return False
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)
    parts = [p for p in re.split(r"[^A-Za-z0-9]+", spaced.lower()) if p]
    if set(parts) & _SECRET_WORDS or (parts and parts[-1] == "jwt"):
        return True
    if any(part.endswith(_SECRET_ENDINGS) for part in parts):
        return True
    return bool(_CONNECTION_URL.search(name.replace("-", "_")) or _SECRET_KEY_RE.match(name))


@functools.lru_cache(maxsize=4096)  # the journal asks about the same few keys all the time
def _masks_whole(key: str) -> bool:
    """Data keys whose values are hidden entirely. Connection strings (``dsn``,
    ``database_url``) are not: pattern masking hides their password and keeps
    the host and database readable in the journal."""
    if _CONNECTION_URL.search(key.replace("-", "_")) or key.lower() in ("dsn", "url", "uri"):
        return False
    return is_secret_name(key)


# Only the shapes (PGPASSWORD=..., PEM keys, tokens): for text no run has
# seen, a runbook shown or printed, where no secret value is known yet.
SHAPES = Masker()


# --------------------------------------------------------------------------
# DSNs
# --------------------------------------------------------------------------

_URL_PASSWORD = re.compile(r"(://[^:/@\s]*:)[^@\s]*@")
_KV_PASSWORD = re.compile(r"(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)", re.IGNORECASE)


def dsn_passwords(*dsns: str | None) -> list[str]:
    """The passwords of the DSNs (as libpq reads them, and a URL's userinfo as written),
    longest first; one shorter than 3 characters is left out."""
    from psycopg.conninfo import conninfo_to_dict  # psycopg only when a DSN is scrubbed

    secrets: set[str] = set()
    for dsn in filter(None, dsns):
        with contextlib.suppress(Exception):
            password = conninfo_to_dict(dsn).get("password")
            if password:
                secrets.add(str(password))
        match = re.search(r"://[^:/@\s]*:([^@\s]*)@", dsn)
        if match and match.group(1):
            secrets.add(match.group(1))
    return sorted((s for s in secrets if len(s) >= MIN_SECRET_LEN), key=len, reverse=True)


class DsnScrub:
    """Removes the DSNs' passwords from anything opsdoc says: the password itself
    wherever it appears, and any URL or ``password=`` password by its shape."""

    def __init__(self, *dsns: str | None) -> None:
        self.secrets = dsn_passwords(*dsns)

    def __call__(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, MASK)
        text = _URL_PASSWORD.sub(r"\1***@", text)
        return _KV_PASSWORD.sub(r"\1***", text)

    def value(self, value: Any) -> Any:
        """``value`` with every string in it scrubbed (lists and dicts walked)."""
        if isinstance(value, str):
            return self(value)
        if isinstance(value, list):
            return [self.value(item) for item in value]
        if isinstance(value, dict):
            return {key: self.value(item) for key, item in value.items()}
        return value


def shown_dsn(dsn: str, password: str | None = None) -> str:
    """The DSN with its password masked, for plans, messages and the journal.

    ``password`` is the one the DSN holds (:func:`opsdoc.config.dsn_password`),
    masked wherever it appears; the shapes catch ``?password=``, a quoted
    ``password='...'`` and a URL's userinfo without it.
    """
    return Masker([password] if password else []).mask(dsn)


def dsn_where(dsn: str) -> str:
    """``host:port`` (and database, user) of a DSN, for messages; never the password."""
    from psycopg.conninfo import conninfo_to_dict

    try:
        info = conninfo_to_dict(dsn)
    except Exception:
        return "the target database"
    host = str(info.get("host") or info.get("hostaddr") or os.environ.get("PGHOST") or "localhost")
    port = str(info.get("port") or os.environ.get("PGPORT") or "5432")
    extra = [f"database {info['dbname']}"] if info.get("dbname") else []
    extra += [f"user {info['user']}"] if info.get("user") else []
    return f"{host}:{port}" + (f" ({', '.join(extra)})" if extra else "")
