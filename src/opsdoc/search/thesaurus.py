"""Words on-call engineers and runbook authors use for the same thing.

A person at 3 a.m. writes "the sync isn't moving"; the runbook says "queue
stuck". Each group below is a set of interchangeable words for one idea in
operations; a query word in a group brings the others in as weaker search
terms (see ``find.WEIGHT_RELATED``). Kept as plain data so a team can read
and extend it; no network, no model.
"""

from __future__ import annotations

import re
from functools import lru_cache

from opsdoc.parse.words import stem

GROUPS: tuple[tuple[str, ...], ...] = (
    # state of work
    (
        "stuck",
        "hung",
        "hang",
        "hanging",
        "frozen",
        "spinning",
        "blocked",
        "wedged",
        "stalled",
        "not moving",
        "never finishes",
        "not progressing",
        "processing",
        "pending",
    ),
    (
        "slow",
        "latency",
        "sluggish",
        "performance",
        "lag",
        "lagging",
        "delay",
        "delayed",
        "p95",
        "p99",
        "timeouts",
    ),
    (
        "backlog",
        "queue",
        "queued",
        "pile",
        "piling",
        "accumulating",
        "growing",
        "draining",
        "not draining",
        "lag",
    ),
    (
        "down",
        "outage",
        "unavailable",
        "unreachable",
        "offline",
        "dead",
        "not responding",
        "no response",
        "not answering",
        "answers",
    ),
    (
        "crash",
        "crashed",
        "crashing",
        "crashloop",
        "crashloopbackoff",
        "restarts",
        "restarting",
        "died",
        "dies",
        "death",
        "killed",
        "exited",
        "panic",
    ),
    (
        "memory",
        "ram",
        "oom",
        "oomkilled",
        "out of memory",
        "memoryerror",
        "heap",
        "rss",
        "eats memory",
        "chewing",
    ),
    ("cpu", "load", "saturated", "saturation", "throttled", "throttling", "hot"),
    (
        "disk",
        "storage",
        "volume",
        "filesystem",
        "space",
        "full",
        "filling",
        "quota",
        "inodes",
        "persistentvolume",
        "pvc",
    ),
    (
        "fail",
        "failed",
        "failing",
        "failure",
        "errors",
        "broken",
        "not working",
        "doesn't work",
        "does not work",
    ),
    ("retry", "retries", "requeue", "re-queue", "resend", "replay", "redrive"),
    ("remove", "delete", "drop", "purge", "clear", "clean", "wipe", "prune"),
    ("restart", "reboot", "bounce", "redeploy", "recycle", "rollout restart", "kick"),
    ("rollback", "roll back", "revert", "undo", "previous version", "downgrade"),
    ("deploy", "deployment", "release", "ship", "rollout", "upgrade", "publish"),
    ("stop", "pause", "halt", "disable", "turn off", "suspend"),
    ("start", "resume", "enable", "turn on", "unpause"),
    ("kill", "terminate", "cancel", "abort", "end"),
    ("lock", "locked", "locks", "blocking", "deadlock", "waiting", "contention", "advisory"),
    ("duplicate", "duplicates", "dupes", "twice", "double", "repeated", "unique", "conflict"),
    (
        "missing",
        "absent",
        "gone",
        "lost",
        "not found",
        "never shows up",
        "not appearing",
        "disappeared",
        "no",
    ),
    # people and access
    (
        "login",
        "log in",
        "sign in",
        "signin",
        "authentication",
        "authenticate",
        "auth",
        "credentials",
        "session",
    ),
    ("signup", "sign up", "register", "registration", "onboarding", "create account"),
    (
        "permission",
        "permissions",
        "forbidden",
        "denied",
        "denial",
        "unauthorized",
        "403",
        "401",
        "access",
        "not allowed",
        "rbac",
        "grant",
        "grants",
        "role",
        "roles",
    ),
    (
        "secret",
        "secrets",
        "key",
        "keys",
        "token",
        "tokens",
        "credential",
        "credentials",
        "password",
        "jwt",
        "signing key",
        "api key",
    ),
    ("leak", "leaked", "exposed", "compromised", "stolen", "breach"),
    ("user", "users", "customer", "customers", "tenant", "tenants", "account", "club", "merchant"),
    (
        "setup",
        "provisioning",
        "provision",
        "onboarding",
        "bootstrap",
        "install",
        "installation",
        "create",
        "creation",
    ),
    # transport
    (
        "network",
        "networking",
        "internet",
        "connectivity",
        "connection",
        "dns",
        "route",
        "routing",
        "reachable",
        "offline",
    ),
    ("vpn", "proxy", "firewall", "tunnel"),
    ("certificate", "cert", "certs", "tls", "ssl", "x509", "https", "expired", "ca"),
    (
        "load balancer",
        "loadbalancer",
        "lb",
        "ingress",
        "external ip",
        "service ip",
        "advertise",
        "advertises",
        "handed out",
        "assigned",
        "allocated",
    ),
    ("webhook", "webhooks", "callback", "hook", "notification", "notifications"),
    (
        "email",
        "mail",
        "e-mail",
        "smtp",
        "confirmation",
        "verification",
        "bounce",
        "bounces",
        "delivery",
        "inbox",
    ),
    ("alert", "alerts", "page", "paging", "notify", "alertmanager", "pagerduty"),
    # data
    ("database", "db", "postgres", "postgresql", "sql", "table", "tables", "rows"),
    ("migration", "migrations", "schema", "migrate", "ddl", "half applied", "partially applied"),
    ("index", "indexes", "indices", "reindex", "query plan", "explain", "seq scan"),
    ("vacuum", "bloat", "autovacuum", "wraparound", "xid", "xmin", "dead tuples"),
    ("replication", "replica", "standby", "primary", "failover", "lag", "wal"),
    ("backup", "backups", "restore", "snapshot", "dump", "pitr"),
    (
        "connection pool",
        "pooler",
        "pgbouncer",
        "connections",
        "max connections",
        "slots",
        "pool",
        "saturation",
    ),
    ("sync", "synchronization", "syncing", "export", "push", "shopify", "integration"),
    ("batch", "batches", "lot", "lots", "intake", "import"),
    ("job", "jobs", "worker", "workers", "task", "tasks", "sidekiq", "consumer", "background"),
    ("heartbeat", "heartbeats", "liveness", "health", "healthcheck", "probe", "status"),
    ("flag", "feature flag", "toggle", "switch", "kill switch", "offline mode"),
    ("vendor", "third party", "external api", "upstream", "provider", "downstream"),
    ("circuit breaker", "breaker", "tripped", "open circuit"),
    # kubernetes and hosts
    ("pod", "pods", "container", "containers", "workload"),
    ("node", "nodes", "host", "hosts", "machine", "vm", "instance", "worker node", "kubelet"),
    ("too many", "packed", "limit", "max", "maximum", "capacity", "exhausted", "exceeded"),
    ("image", "images", "pull", "registry", "errimagepull", "imagepullbackoff"),
    ("cluster", "kubernetes", "k8s", "control plane", "kind", "etcd", "apiserver"),
    ("log", "logs", "logging", "tail", "journal", "output"),
    ("metrics", "prometheus", "scrape", "target", "targets", "exporter"),
    ("wsl", "windows subsystem", "windows"),
)

_WORD = re.compile(r"[a-z0-9]+")


@lru_cache(maxsize=1)
def _by_word() -> dict[str, tuple[int, ...]]:
    """Each single-word member's stem, and the key phrase of each multi-word one, to groups."""
    index: dict[str, list[int]] = {}
    for number, group in enumerate(GROUPS):
        for member in group:
            key = " ".join(stem(w) for w in _WORD.findall(member.lower()))
            index.setdefault(key, []).append(number)
    return {k: tuple(v) for k, v in index.items()}


def related(words: list[str], text: str = "") -> list[list[str]]:
    """For each idea the query mentions, the other words for it (one list per idea).

    Kept per idea so the ranking can count an idea once: a section that says
    "credentials", "secrets" and "passwords" has not matched three things.
    """
    table = _by_word()
    stems = [stem(w) for w in (w.lower() for w in words) if w]
    keys = set(stems)
    flat = " ".join(stem(w) for w in _WORD.findall(text.lower()))
    groups: dict[int, None] = {}
    for key, numbers in table.items():
        if key in keys or (" " in key and f" {key} " in f" {flat} "):
            for number in numbers:
                groups.setdefault(number, None)
    out: list[list[str]] = []
    for number in groups:
        members = [
            m
            for m in GROUPS[number]
            if " ".join(stem(w) for w in _WORD.findall(m.lower())) not in keys
        ]
        if members:
            out.append(members)
    return out
