"""Query understanding: pasted text in, words and exact signals out."""

from __future__ import annotations

import random

import pytest

from opsdoc.search import Query
from opsdoc.search import to_query as understand  # the one entry for pasted text
from opsdoc.search.text import normalize_line

# --------------------------------------------------------------------------
# Noise: stripped at the start of a line, generalized inside it

LEADING_NOISE = [
    # (log line, the message that must be all that is left)
    ("2026-11-23T03:12:44Z ERROR disk quota exceeded", "disk quota exceeded"),
    ("2026-11-23T03:12:44.120Z WARN disk quota exceeded", "disk quota exceeded"),
    ("2026-11-23T03:12:44.120456+01:00 INFO disk quota exceeded", "disk quota exceeded"),
    ("2026-11-23 03:12:44 error: disk quota exceeded", "disk quota exceeded"),
    ("2026-11-23 03:12:44.120 UTC [48213] ERROR:  disk quota exceeded", "disk quota exceeded"),
    ("[2026-11-23 03:12:44,120] ERROR disk quota exceeded", "disk quota exceeded"),
    ("Nov 23 03:12:44 app-3 backup[48213]: disk quota exceeded", "disk quota exceeded (backup)"),
    ("1763867564 disk quota exceeded", "disk quota exceeded"),
    ("1763867564120 [error] disk quota exceeded", "disk quota exceeded"),
    ("E1123 03:12:44.120456   48213 quota.go:88] disk quota exceeded", "disk quota exceeded"),
    ("level=error disk quota exceeded", "disk quota exceeded"),
    ("2026/11/23 03:12:44 [error] 7#7: disk quota exceeded", "disk quota exceeded"),
    ("2026-11-23 03:12:44,120 WARN [main] disk quota exceeded", "disk quota exceeded"),
    ("2026-11-23 03:12:44,120 ERROR [pool-3-thread-7] disk quota exceeded", "disk quota exceeded"),
    ("pid=48213 disk quota exceeded", "disk quota exceeded"),
    ("\x1b[31mERROR\x1b[0m disk quota exceeded", "disk quota exceeded"),
    ("[FIRING:2] disk quota exceeded", "disk quota exceeded"),
]


@pytest.mark.parametrize(("line", "message"), LEADING_NOISE)
def test_leading_timestamps_levels_pids_are_stripped(line: str, message: str) -> None:
    assert normalize_line(line) == message


INLINE_NOISE = [
    # (line, what must be gone, what the line must read afterwards)
    (
        "upload req-7f3a9c21 failed",
        "7f3a9c21",
        "upload <id> failed",
    ),
    (
        "upload failed request_id=8c1e2f trace_id=4bf92f3577b34da6 span_id=00f067aa0ba902b7",
        "8c1e2f",
        "upload failed",
    ),
    (
        "job 9b2f4c1e-3a5d-4e6f-8a7b-1c2d3e4f5a6b lost its lease",
        "9b2f4c1e",
        "job <uuid> lost its lease",
    ),
    (
        "container 0f46f3f1289eed7afab81b6945c49336ef556861fe5bb09a902a00772848b7cc exited",
        "0f46f3f1",
        "container <hex> exited",
    ),
    ("deploy of commit b2af562 failed", "b2af562", "deploy of commit <hex> failed"),
    ("dial tcp 10.96.0.1:443: i/o timeout", "10.96", "dial tcp <ip>: i/o timeout"),
    ("connect to fe80::1ff:fe23:4567:890a refused", "fe80", "connect to <ip> refused"),
    ("could not connect to db.internal:5432", "5432", "could not connect to db.internal:<port>"),
    ("pod label-worker-5c7d9-q8vzt restarted", "q8vzt", "pod label-worker restarted"),
    ("pod inflate0-6c4bdb8b75-7qmfd pending", "7qmfd", "pod inflate0 pending"),
    ("daemon kube-proxy-xk7dz not ready", "xk7dz", "daemon kube-proxy not ready"),
    ("retried 12 times over 5m30s", "12", "retried <num> times over <dur>"),
    ("query took 1532ms", "1532", "query took <dur>"),
    ("volume 93% full, 48G used", "93", "volume <num>% full, <size> used"),
    ("mail to ops@example.com bounced", "ops@", "mail to <email> bounced"),
    (
        "raised in handlers/upload.py:42 and main.go:17:3",
        ":42",
        "raised in handlers/upload.py and main.go",
    ),
    ("GET /api/v1/orders/33433 slow", "33433", "GET /api/v1/orders/<num> slow"),
    (
        "Back-off restarting failed container (x50 over 13m)",
        "x50",
        "Back-off restarting failed container",
    ),
]


@pytest.mark.parametrize(("line", "gone", "expected"), INLINE_NOISE)
def test_inline_noise_is_generalized(line: str, gone: str, expected: str) -> None:
    normalized = normalize_line(line)
    assert gone not in normalized
    assert normalized == expected


def test_codes_survive_generalization() -> None:
    line = "Exit Code 137, HTTP 503, status: 401, SQLSTATE 42501, error 0x80370102"
    assert normalize_line(line) == line


def test_two_occurrences_of_one_event_normalize_alike() -> None:
    a = "2026-11-23T03:12:44.120Z ERROR [48213] order 7731 for 10.0.0.5 timed out after 30s"
    b = "2026-11-24T17:01:02.999Z ERROR [51] order 12 for 10.2.0.77 timed out after 4500ms"
    assert normalize_line(a) == normalize_line(b) == "order <num> for <ip> timed out after <dur>"


def test_placeholders_never_reach_words_or_text() -> None:
    q = understand("job 9b2f4c1e-3a5d-4e6f-8a7b-1c2d3e4f5a6b on 10.0.0.5 failed after 12s")
    assert "<" not in q.text
    assert q.words == ["job", "failed"]


# --------------------------------------------------------------------------
# Signals: exact strings worth matching verbatim

SIGNALS = [
    # (pasted text, signals that must be found, as written)
    (
        'ERROR: duplicate key value violates unique constraint "sd_backlog_map_unique_sd_backlog"',
        ["duplicate key value violates unique constraint", "sd_backlog_map_unique_sd_backlog"],
    ),
    (
        "TypeError: Cannot read properties of undefined (reading 'prepare')",
        ["TypeError", "prepare"],
    ),
    ("migration aborted with SQLSTATE 42501", ["42501"]),
    ("ERROR:  23505: duplicate key value", ["23505"]),
    ("pq: error code: 40P01 deadlock", ["40P01"]),
    ("upstream said HTTP 503", ["503"]),
    ('{"status": 401, "detail": "token expired"}', ["401", "token expired"]),
    ("billing API returned 500 on retry", ["500"]),
    ("got 500 Internal Server Error from billing", ["500"]),
    ("registry answered 403 Forbidden", ["403"]),
    ("ConnectionRefusedError: [Errno 111] Connection refused", ["ConnectionRefusedError"]),
    (
        "psycopg.errors.UniqueViolation: duplicate key",
        ["psycopg.errors.UniqueViolation", "UniqueViolation"],
    ),
    (
        "java.lang.OutOfMemoryError: Java heap space",
        ["java.lang.OutOfMemoryError", "Java heap space"],
    ),
    ("Failed to pull image: ErrImagePull", ["ErrImagePull"]),
    ("pod is in CrashLoopBackOff", ["CrashLoopBackOff"]),
    ("Last State: Terminated, Reason: OOMKilled", ["OOMKilled"]),
    ("The node was low on resource: memory. Evicted", ["Evicted"]),
    (
        "insert or update violates foreign key constraint orders_customer_id_fkey",
        ["orders_customer_id_fkey"],
    ),
    ("could not create unique index idx_users_email", ["idx_users_email"]),
    ("duplicate key in users_pkey and users_email_key", ["users_pkey", "users_email_key"]),
    ("signup rejected: SLUG_TAKEN", ["SLUG_TAKEN"]),
    ("signup rejected with EMAIL_EXISTS", ["EMAIL_EXISTS"]),
    ("audit event authz_deny reason role_mismatch", ["authz_deny", "role_mismatch"]),
    ("KubeProxyDown", ["KubeProxyDown"]),
    ("etcdBackendQuotaLowSpace firing for 10m", ["etcdBackendQuotaLowSpace"]),
    ("TargetDown on the api job", ["TargetDown"]),
    (
        "WslRegisterDistribution failed with error: 0x80370102",
        ["WslRegisterDistribution", "0x80370102"],
    ),
    ("Error code: Wsl/Service/0x8007273d", ["0x8007273d"]),
    ("BugCheck 0x1bc", ["0x1bc"]),
    ("connect ECONNREFUSED 127.0.0.1:6379", ["ECONNREFUSED"]),
    ("worker killed by SIGKILL", ["SIGKILL"]),
    ("Error from server (Forbidden): pods is forbidden", ["Forbidden"]),
    (
        'level=error msg="failed to compact user blocks" component=compactor',
        ["failed to compact user blocks"],
    ),
    ("panic: runtime error: index out of range [3] with length 3", ["index out of range"]),
    (
        'FATAL:  password authentication failed for user "app"',
        ["password authentication failed for user"],
    ),
]


@pytest.mark.parametrize(("text", "expected"), SIGNALS)
def test_signals_are_kept_exact(text: str, expected: list[str]) -> None:
    signals = understand(text).signals
    for signal in expected:
        assert signal in signals, (signal, signals)


def test_signals_keep_their_order_and_are_deduplicated() -> None:
    q = understand(
        'ERROR: duplicate key value violates unique constraint "users_email_key"\n'
        'ERROR: duplicate key value violates unique constraint "users_email_key"\n'
        "SQLSTATE 23505"
    )
    assert q.signals == [
        "duplicate key value violates unique constraint",
        "users_email_key",
        "23505",
    ]


NOT_SIGNALS = [
    # (text, strings that must not be signals)
    ("waited 12345 ms for the lock", ["12345"]),  # a number, not an SQLSTATE
    ("processed 503 rows", ["503"]),  # a number, not an HTTP status
    ("GitHub and PostgreSQL are fine", ["GitHub", "PostgreSQL"]),  # product names
    ('job "9b2f4c1e-3a5d-4e6f-8a7b-1c2d3e4f5a6b" lost', ["9b2f4c1e-3a5d-4e6f-8a7b-1c2d3e4f5a6b"]),
    (
        '{"node": "ip-10-0-3-4.ec2.internal", "msg": "slow disk"}',
        ["node", "ip-10-0-3-4.ec2.internal"],
    ),
    ("tenant_id=tenant_123 trace_id=abc_def_123 upload failed", ["tenant_id", "abc_def_123"]),
    ("error in /app/node_modules/pg/lib/client.js", ["node_modules"]),
    ("Error: Unauthorized", ["Unauthorized"]),  # a one-word message is a word, not a phrase
]


@pytest.mark.parametrize(("text", "unwanted"), NOT_SIGNALS)
def test_noise_is_not_a_signal(text: str, unwanted: list[str]) -> None:
    signals = understand(text).signals
    for value in unwanted:
        assert value not in signals, (value, signals)


def test_a_long_quoted_message_gives_its_first_clause() -> None:
    text = (
        'level=error msg="runc create failed: unable to start container process: error during '
        'container init: error mounting \\"/var/tmp/buildah2251989386/mnt\\" to rootfs"'
    )
    assert "runc create failed" in understand(text).signals


# --------------------------------------------------------------------------
# Words


def test_words_are_lowercase_prose_without_stop_words_in_order() -> None:
    q = understand("The replica is lagging behind the primary and the replica stops")
    assert q.words == ["replica", "lagging", "behind", "primary", "stops"]


def test_camelcase_alert_names_are_split_into_words_as_well() -> None:
    q = understand("KubeProxyDown")
    assert q.signals == ["KubeProxyDown"]
    assert q.words == ["kube", "proxy", "down"]
    assert understand("etcdBackendQuotaLowSpace").words == [
        "etcd",
        "backend",
        "quota",
        "low",
        "space",
    ]


def test_level_words_are_noise_only_where_they_are_noise() -> None:
    assert "error" not in understand("2026-11-23T03:12:44Z ERROR cache miss storm").words
    assert "error" not in understand("psql: FATAL:  role does not exist").words
    assert "level" not in understand('level=warn msg="cache miss storm"').words
    # In prose, the word stays: "runtime error" is what the user saw.
    assert "error" in understand("Internal Server Error from the gateway").words


def test_text_is_the_cleaned_input() -> None:
    q = understand(
        "2026-11-23T03:12:44.120Z ERROR [48213] upstream 10.0.0.5:8080 timed out after 30s"
    )
    assert q.text == "upstream timed out after"
    assert q.source == "text"
    assert q.alert_name is None and q.runbook_url is None


# --------------------------------------------------------------------------
# Multi-line input: traces, kubectl, repeated lines

PYTHON_TRACE = """\
Traceback (most recent call last):
  File "/srv/billing/worker.py", line 88, in <module>
    main()
  File "/srv/billing/worker.py", line 61, in settle_invoice
    ledger.post(entry)
  File "/srv/billing/ledger.py", line 17, in post_entry
    cur.execute(INSERT, params)
      ^^^^^^^^^^^^^^^^^^^^^^^^^
psycopg.errors.UniqueViolation: duplicate key value violates unique constraint "ledger_entries_pkey"
DETAIL:  Key (id)=(90210) already exists.
"""


def test_python_trace_keeps_the_exception_and_the_innermost_function() -> None:
    q = understand(PYTHON_TRACE)
    assert q.signals[:4] == [
        "psycopg.errors.UniqueViolation",
        "UniqueViolation",
        "duplicate key value violates unique constraint",
        "ledger_entries_pkey",
    ]
    assert "worker.py" not in q.text and "cur.execute" not in q.text
    assert "Traceback" not in q.text
    # The innermost frame's function is a weak word: last.
    assert q.words[-2:] == ["post", "entry"]
    assert "settle" not in q.words


JAVA_TRACE = """\
Exception in thread "main" java.lang.IllegalStateException: Failed to load ApplicationContext
\tat org.springframework.test.context.cache.DefaultCacheAwareContextLoaderDelegate.loadContext(DefaultCacheAwareContextLoaderDelegate.java:132)
\tat org.springframework.boot.SpringApplication.run(SpringApplication.java:315)
Caused by: org.postgresql.util.PSQLException: FATAL: remaining connection slots are reserved
\tat org.postgresql.core.v3.ConnectionFactoryImpl.openConnectionImpl(ConnectionFactoryImpl.java:693)
\tat org.postgresql.Driver.connect(Driver.java:267)
\t... 42 more
"""


def test_java_trace_keeps_exceptions_and_causes_drops_frames() -> None:
    q = understand(JAVA_TRACE)
    for signal in (
        "java.lang.IllegalStateException",
        "Failed to load ApplicationContext",
        "org.postgresql.util.PSQLException",
        "remaining connection slots are reserved",
    ):
        assert signal in q.signals
    assert "main" not in q.signals  # the thread name is noise
    assert "springframework" not in q.words and "more" not in q.words
    # The root cause's innermost frame, openConnectionImpl, as weak words at the end
    # ("connection" was already there).
    assert q.words[-2:] == ["open", "impl"]


GO_PANIC = """\
panic: runtime error: invalid memory address or nil pointer dereference
[signal SIGSEGV: segmentation violation code=0x1 addr=0x0 pc=0x4a2f1b]

goroutine 1 [running]:
main.(*Uploader).flushChunk(0xc000010000, {0x0, 0x0})
\t/app/uploader.go:42 +0x1b
main.main()
\t/app/main.go:17 +0x25
exit status 2
"""


def test_go_panic_keeps_the_message_and_the_innermost_function() -> None:
    q = understand(GO_PANIC)
    assert "invalid memory address or nil pointer dereference" in q.signals
    assert "SIGSEGV" in q.signals
    assert "goroutine" not in q.text and "uploader.go" not in q.text
    assert q.words[0] == "panic"
    assert q.words[-2:] == ["flush", "chunk"]


NODE_TRACE = """\
TypeError: Cannot read properties of undefined (reading 'prepare')
    at createTenant (/app/src/tenants.js:14:22)
    at Layer.handle [as handle_request] (/app/node_modules/express/lib/router/layer.js:95:5)
    at process.processTicksAndRejections (node:internal/process/task_queues:95:5)
"""


def test_node_trace() -> None:
    q = understand(NODE_TRACE)
    assert q.signals[:3] == ["TypeError", "Cannot read properties of undefined", "prepare"]
    assert "express" not in q.words
    assert q.words[-2:] == ["create", "tenant"]


KUBECTL_PODS = """\
NAME                            READY   STATUS             RESTARTS       AGE
api-7d9f8c6b5d-x2k9p            1/1     Running            0              3d
label-worker-5c7d9-q8vzt        0/1     CrashLoopBackOff   12 (3m ago)    1h
label-worker-5c7d9-z7tqm        0/1     OOMKilled          4 (10s ago)    1h
report-28391120-x8k2p           0/1     Evicted            0              2h
redis-0                         1/1     Running            0              9d
"""


def test_kubectl_get_pods_keeps_the_unhealthy_rows_status() -> None:
    q = understand(KUBECTL_PODS)
    assert q.signals == ["CrashLoopBackOff", "OOMKilled", "Evicted"]
    assert "label-worker CrashLoopBackOff" in q.text.splitlines()
    assert "api" not in q.words and "redis" not in q.words  # healthy rows
    assert "ago" not in q.words and "ready" not in q.words  # columns dropped


KUBECTL_EVENTS = """\
LAST SEEN   TYPE      REASON             OBJECT                         MESSAGE
3m          Normal    Pulled             pod/api-7d9f8c6b5d-x2k9p       Container image "api:1.2" already present on machine
2m          Warning   BackOff            pod/label-worker-5c7d9-q8vzt   Back-off restarting failed container
1m          Warning   FailedScheduling   pod/batch-6b5d4-m4v2x          0/3 nodes are available: 3 Insufficient memory.
"""


def test_kubectl_get_events_keeps_warnings_with_reason_and_message() -> None:
    q = understand(KUBECTL_EVENTS)
    assert q.signals == ["BackOff", "FailedScheduling"]
    assert "pulled" not in q.words
    assert {"restarting", "insufficient", "memory"} <= set(q.words)


KUBECTL_DESCRIBE = """\
    State:          Waiting
      Reason:       CrashLoopBackOff
    Last State:     Terminated
      Reason:       OOMKilled
      Exit Code:    137
Events:
  Type     Reason     Age                  From     Message
  ----     ------     ----                 ----     -------
  Normal   Pulled     12m (x5 over 20m)    kubelet  Container image "worker:2.1" already present on machine
  Warning  BackOff    2m (x61 over 19m)    kubelet  Back-off restarting failed container worker in pod label-worker-5c7d9-q8vzt
"""


def test_kubectl_describe_pod() -> None:
    q = understand(KUBECTL_DESCRIBE)
    assert q.signals[:3] == ["CrashLoopBackOff", "OOMKilled", "BackOff"]
    assert "Exit Code: 137" in q.text
    assert "x61" not in q.text and "q8vzt" not in q.text


def test_repeated_lines_count_once() -> None:
    lines = [
        f"2026-11-23T03:12:{s:02d}.000Z ERROR [{1000 + s}] lock timeout on table orders after {s}s"
        for s in range(40)
    ]
    q = understand("\n".join(lines))
    assert q.text == "lock timeout on table orders after"
    assert q.words == ["lock", "timeout", "table", "orders"]


def test_a_pasted_json_log_line_is_read_by_its_fields() -> None:
    q = understand(
        '{"level":"error","ts":1763867564.12,"logger":"signup","msg":"signup failed",'
        '"code":"SLUG_TAKEN","request_id":"req-8f3a9c21","tenant_id":"tenant_123"}'
    )
    assert q.signals == ["signup failed", "SLUG_TAKEN"]
    assert "8f3a9c21" not in q.text and "1763867564" not in q.text


# --------------------------------------------------------------------------
# Long, empty and garbage input


def test_a_megabyte_paste_completes_and_finds_the_rare_error() -> None:
    rng = random.Random(7)
    lines = [
        f"2026-11-23T03:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}.{rng.randint(0, 999):03d}Z "
        f"INFO [worker-{rng.randint(1, 9)}] request_id={rng.getrandbits(64):x} "
        f"GET /api/v1/orders/{rng.randint(1, 99999)} 200 {rng.randint(1, 900)}ms"
        for _ in range(10_000)
    ]
    lines.insert(
        6123,
        '2026-11-23T03:12:44.120Z ERROR [48213] deadlock detected on relation "orders" SQLSTATE 40P01',
    )
    text = "\n".join(lines)
    assert len(text) > 1_000_000
    q = understand(text)
    assert "40P01" in q.signals and "orders" in q.signals
    assert len(q.text.splitlines()) <= 200


def test_a_megabyte_of_distinct_lines_reads_at_most_two_hundred() -> None:
    rng = random.Random(3)

    def name() -> str:
        return "".join(rng.choice("ghijklmnopqrstuvwxyz") for _ in range(7))

    text = "\n".join(
        f"worker {name()} failed: {name().title()}TimeoutError in {name()} stage"
        for _ in range(30_000)
    )
    assert len(text) > 1_000_000
    q = understand(text)
    assert 0 < len(q.text.splitlines()) <= 200
    assert any(s.endswith("TimeoutError") for s in q.signals)


@pytest.mark.parametrize(
    "text",
    ["", "   \n\t\n", "\x00\x01\x02\x03" * 500, "\ufffd" * 300, b"\xff\xfe\x00\x00" * 400],
)
def test_empty_or_binary_input_gives_an_empty_query(text: str | bytes) -> None:
    q = understand(text)  # type: ignore[arg-type]
    assert q == Query(text="")
    assert q.empty


def test_garbage_never_raises() -> None:
    rng = random.Random(11)
    alphabet = "abcXYZ019 _-.:/\\\"'`=[]{}()<>@#%^*\n\t\x1b\u00e9\u4e2d"
    for _ in range(300):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 400)))
        q = understand(text)
        assert isinstance(q.words, list) and isinstance(q.signals, list)
    understand("x" * 2_000_000)  # a single enormous line
    understand("{" * 50_000 + '"alerts"')  # looks like JSON, is not


def test_a_line_that_starts_with_a_hex_error_code_keeps_it_as_a_signal() -> None:
    # "name : message" is a logger prefix; "0x80072efd : message" is a Windows error code.
    q = understand("An unexpected error occurred:\n0x80072efd : unknown error")
    assert "0x80072efd" in q.signals
    assert understand("c.e.demo.Application    : started").text == "started"
