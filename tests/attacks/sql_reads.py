"""SQL read-escape attempts: SQL blocks whose every trick must fail under ``--yes``.

Each entry is ``(id, code)``. The setup (:data:`SETUP`) gives them things to
break: a ``canary`` table, a ``hits`` counter behind a view and a function,
a sequence, a function shadowing a built-in name and a user operator.
``{canary_file}`` stands for a path that must not come to exist. The test
runs each as the only step of a section, ``opsdoc run --yes`` with no
``--allow``, and checks after each that nothing changed.
"""

from __future__ import annotations

SETUP = (
    "CREATE TABLE canary (id int PRIMARY KEY)",
    "INSERT INTO canary SELECT generate_series(1, 3)",
    "CREATE TABLE hits (n int)",
    "INSERT INTO hits VALUES (0)",
    "CREATE SEQUENCE seq",
    "CREATE FUNCTION bump() RETURNS int LANGUAGE sql AS "
    "$$ UPDATE hits SET n = n + 1 RETURNING n $$",
    "CREATE VIEW bumped AS SELECT bump() AS n",
    "CREATE FUNCTION public.upper(int) RETURNS int LANGUAGE sql AS $$ SELECT bump() $$",
    "CREATE FUNCTION plus(text, text) RETURNS int LANGUAGE sql AS $$ SELECT bump() $$",
    "CREATE OPERATOR public.+ (LEFTARG = text, RIGHTARG = text, FUNCTION = plus)",
    "CREATE PROCEDURE wipe() LANGUAGE sql AS $$ DELETE FROM canary $$",
    "CREATE MATERIALIZED VIEW mv AS SELECT bump() AS n WITH NO DATA",
)

DEL = "DELETE FROM canary"

# Lexing: literals that end somewhere else than opsdoc thinks.
LEXING = [
    (
        "scs-off-set",
        f"SET standard_conforming_strings = off;\nSET application_name = 'a\\' , ' ; COMMIT; {DEL}; -- ';",
    ),
    (
        "scs-off-session",
        f"SET SESSION standard_conforming_strings TO off;\nSELECT 'a\\' ; {DEL}; -- ';",
    ),
    (
        "scs-off-local",
        f"BEGIN;\nSET LOCAL standard_conforming_strings = off;\nSELECT 'a\\' ; {DEL}; -- ';\nCOMMIT;",
    ),
    (
        "scs-set-config",
        f"SELECT set_config('standard_conforming_strings', 'off', false);\nSELECT 'a\\' ; {DEL}; -- ';",
    ),
    (
        "scs-pg-settings",
        "UPDATE pg_settings SET setting = 'off' WHERE name = 'standard_conforming_strings';",
    ),
    ("scs-reset", f"RESET standard_conforming_strings;\nSELECT 'a\\' ; {DEL}; -- ';"),
    ("backslash-quote", f"SET backslash_quote = on;\nSELECT E'a\\' ; {DEL}; -- ';"),
    ("client-encoding", f"SET client_encoding = 'SJIS';\nSELECT '\\x95\\' ; {DEL}; -- ';"),
    (
        "scs-then-update",
        f"SET standard_conforming_strings = off;\nUPDATE hits SET n = n WHERE 'a\\' <> ' ; {DEL}; -- ' IS NULL;",
    ),
    ("estring-escape", f"SELECT E'\\'; {DEL}; --' AS x;"),
    ("estring-double", f"SELECT E'\\\\'' ; {DEL}; --' AS x;"),
    ("dollar-nested", f"SELECT $a$ $$; {DEL}; $$ $a$ AS x;"),
    ("dollar-unterminated", f"SELECT $a$ ; {DEL};"),
    ("block-comment-nested", f"SELECT 1 /* /* */ {DEL}; */ AS x;"),
    ("line-comment-cr", f"SELECT 1 AS x -- \r {DEL};"),
    ("uescape", f"SELECT U&'d!0061t!+000061' UESCAPE '!' AS x; -- {DEL}"),
    ("quote-in-ident", f'SELECT 1 AS "x\'; {DEL}; --";'),
    ("unterminated-string", f"SELECT 'abc ; {DEL};"),
]

# READ ONLY lifted, transaction ended, or the session changed under the next statement.
TRANSACTION = [
    ("set-tx-read-write", "BEGIN;\nSET TRANSACTION READ WRITE;\nSELECT * FROM bumped;\nCOMMIT;"),
    (
        "tx-read-only-off",
        "BEGIN;\nSET transaction_read_only = off;\nSELECT * FROM bumped;\nCOMMIT;",
    ),
    ("start-read-write", "START TRANSACTION READ WRITE;\nSELECT * FROM bumped;\nEND;"),
    ("begin-read-write", "BEGIN READ WRITE;\nSELECT * FROM bumped;\nCOMMIT;"),
    (
        "session-read-write",
        "SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE;\nSELECT * FROM bumped;",
    ),
    ("default-read-only-off", "SET default_transaction_read_only = off;\nSELECT * FROM bumped;"),
    (
        "set-config-read-only",
        "SELECT set_config('transaction_read_only', 'off', true), (SELECT n FROM bumped);",
    ),
    ("commit-then-delete", f"SELECT 1;\nCOMMIT;\n{DEL};"),
    ("end-then-bump", "BEGIN;\nSELECT 1;\nEND;\nSELECT bump();"),
    ("prepare-transaction", "BEGIN;\nSELECT 1;\nPREPARE TRANSACTION 'x';\nSELECT * FROM bumped;"),
    ("commit-and-chain", "BEGIN;\nSELECT 1;\nCOMMIT AND CHAIN;\nSELECT * FROM bumped;\nCOMMIT;"),
    ("rollback-then-bump", "BEGIN;\nROLLBACK;\nSELECT * FROM bumped;"),
    ("savepoint-release", "BEGIN;\nSAVEPOINT a;\nRELEASE a;\nSELECT * FROM bumped;\nCOMMIT;"),
    ("reset-all", "RESET ALL;\nSELECT * FROM bumped;"),
    ("discard-all", "DISCARD ALL;\nSELECT * FROM bumped;"),
    ("set-role", "SET ROLE postgres;\nSELECT * FROM bumped;"),
    ("session-authorization", "SET SESSION AUTHORIZATION postgres;\nSELECT * FROM bumped;"),
    ("search-path-public-first", "SET search_path = public, pg_catalog;\nSELECT upper(1);"),
    ("replication-role", f"SET session_replication_role = replica;\n{DEL};"),
]

# Calls, hidden or named, that act.
CALLS = [
    ("view-side-effect", "SELECT * FROM bumped;"),
    ("unknown-function", "SELECT bump();"),
    ("shadowed-builtin", "SELECT upper(1);"),
    ("qualified-shadow", "SELECT public.upper(1);"),
    ("user-operator", "SELECT 'a'::text + 'b'::text AS x;"),
    ("nextval", "SELECT nextval('seq');"),
    ("setval", "SELECT setval('seq', 100);"),
    ("setval-in-insert", "INSERT INTO hits SELECT setval('seq', 100);"),
    (
        "terminate-backend",
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid <> pg_backend_pid();",
    ),
    (
        "cancel-backend",
        "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE pid <> pg_backend_pid();",
    ),
    ("reload-conf", "SELECT pg_reload_conf();"),
    ("rotate-logfile", "SELECT pg_rotate_logfile();"),
    ("replication-slot", "SELECT pg_create_physical_replication_slot('evil');"),
    ("logical-slot", "SELECT pg_create_logical_replication_slot('evil', 'pgoutput');"),
    ("restore-point", "SELECT pg_create_restore_point('evil');"),
    ("switch-wal", "SELECT pg_switch_wal();"),
    ("lo-import", "SELECT lo_import('/etc/hostname');"),
    ("lo-export", "SELECT lo_export(1, '{canary_file}');"),
    ("lo-create", "SELECT lo_create(0);"),
    ("notify", "SELECT pg_notify('ch', 'x');"),
    ("advisory-lock", "SELECT pg_advisory_lock(42);"),
    ("query-to-xml", f"SELECT query_to_xml('{DEL} RETURNING 1', true, true, '');"),
    ("ts-stat", f"SELECT * FROM ts_stat('{DEL} RETURNING ''a''::tsvector');"),
    ("dblink", f"SELECT dblink_exec('dbname=postgres', '{DEL}');"),
    ("cast-user-type", "SELECT '1'::evil_type;"),
    ("tablesample-user", "SELECT * FROM canary TABLESAMPLE evil_method(1);"),
    ("explain-analyze-delete", f"EXPLAIN ANALYZE {DEL};"),
    ("explain-analyze-bump", "EXPLAIN ANALYZE SELECT * FROM bumped;"),
    ("cte-delete", f"WITH d AS ({DEL} RETURNING *) SELECT * FROM d;"),
    ("select-into", "SELECT * INTO stolen FROM canary;"),
    ("create-table-as", "CREATE TABLE stolen AS SELECT * FROM canary;"),
    ("call-procedure", "CALL wipe();"),
    ("do-block", f"DO $$ BEGIN {DEL}; END $$;"),
    ("do-execute", f"DO $$ BEGIN EXECUTE '{DEL}'; END $$;"),
    ("prepare-execute", f"PREPARE p AS {DEL};\nEXECUTE p;"),
    ("refresh-mv", "REFRESH MATERIALIZED VIEW mv;"),
    ("for-update", "SELECT * FROM canary FOR UPDATE;"),
    ("lock-table", "LOCK TABLE canary IN ACCESS EXCLUSIVE MODE;"),
    ("copy-to-program", "COPY canary TO PROGRAM 'touch {canary_file}';"),
    ("copy-to-file", "COPY canary TO '{canary_file}';"),
    ("copy-from-file", "COPY canary FROM '/etc/hostname';"),
    ("truncate", "TRUNCATE canary;"),
    ("vacuum", "VACUUM canary;"),
    ("checkpoint", "CHECKPOINT;"),
    ("listen", "LISTEN ch;"),
    ("alter-system", "ALTER SYSTEM SET standard_conforming_strings = off;"),
    ("alter-database", "ALTER DATABASE postgres SET standard_conforming_strings = off;"),
    ("comment-on", "COMMENT ON TABLE canary IS 'x';"),
    ("security-label", "SECURITY LABEL ON TABLE canary IS 'x';"),
]

# psql meta-commands that run commands or write files on the operator's machine.
META = [
    ("meta-shell", "\\! touch {canary_file}"),
    ("meta-echo-backtick", "\\echo `touch {canary_file}`"),
    ("meta-set-backtick", "\\set x `touch {canary_file}`"),
    ("meta-dt-backtick", "\\dt `touch {canary_file}`"),
    ("meta-if-backtick", "\\if `touch {canary_file}`\n\\endif"),
    ("meta-timing-backtick", "\\timing `touch {canary_file}`"),
    ("meta-pset-backtick", "\\pset format `touch {canary_file}`"),
    ("meta-cd-backtick", "\\cd `touch {canary_file}`"),
    ("meta-out-pipe", "\\o '|touch {canary_file}'"),
    ("meta-out-file", "\\o {canary_file}"),
    ("meta-copy-program", "\\copy canary to program 'touch {canary_file}'"),
    ("meta-copy-file", "\\copy canary to '{canary_file}'"),
    ("meta-g-pipe", "SELECT 1 \\g |touch {canary_file}"),
    ("meta-gexec", f"SELECT '{DEL}' \\gexec"),
    ("meta-write", "\\w {canary_file}"),
    ("meta-include", "\\i /etc/hostname"),
    ("meta-setenv", "\\setenv PAGER 'touch {canary_file}'"),
    ("meta-lo-export", "\\lo_export 1 {canary_file}"),
]

CASES = LEXING + TRANSACTION + CALLS + META
