"""Bash steps are classified command by command, never raising."""

from __future__ import annotations

import pytest

from opsdoc.classify.powershell import classify_powershell
from opsdoc.classify.shell import classify_shell
from opsdoc.model import Statement, max_safety


def worst(statements: list[Statement]) -> str:
    return max_safety(*(s.safety for s in statements))


def one(code: str, **kwargs: object) -> Statement:
    statements = classify_shell(code, **kwargs)  # type: ignore[arg-type]
    assert len(statements) == 1, statements
    return statements[0]


def by_text(statements: list[Statement]) -> dict[str, Statement]:
    return {s.text: s for s in statements}


# --------------------------------------------------------------------------
# Read-only pipelines stay read, command by command
# --------------------------------------------------------------------------


def test_log_search_pipeline_is_two_read_commands() -> None:
    code = 'heroku logs --app checkout --num 500 | grep -i "H12\\|H13"\n'
    statements = classify_shell(code)
    assert [s.text for s in statements] == [
        "heroku logs --app checkout --num 500",
        'grep -i "H12\\|H13"',
    ]
    assert [s.kind for s in statements] == ["heroku logs", "grep"]
    assert all(s.safety == "read" and s.parsed for s in statements)


def test_decoding_a_token_is_read() -> None:
    statements = classify_shell("echo $API_JWT | cut -d. -f2 | base64 -d | jq .")
    assert [s.kind for s in statements] == ["echo", "cut", "base64", "jq"]
    assert worst(statements) == "read"


def test_wrangler_tail_statistics_over_continuation_lines() -> None:
    code = (
        "# Top outcomes in the last minutes\n"
        "wrangler tail --env staging --format=json | \\\n"
        "  jq -r '.outcome' | \\\n"
        "  sort | uniq -c | sort -rn\n"
    )
    statements = classify_shell(code, line=40)
    assert [s.kind for s in statements] == ["wrangler tail", "jq", "sort", "uniq", "sort"]
    assert worst(statements) == "read"
    assert [s.line for s in statements] == [41, 42, 43, 43, 43]
    # The comment labels every command of the pipeline it introduces.
    assert {s.label for s in statements} == {"Top outcomes in the last minutes"}


HEALTH_CHECK = """#!/usr/bin/env bash
# Quick health probe for the billing stack

echo -n "Primary DB: "
psql "$BILLING_DB" -c "SELECT 1" >/dev/null 2>&1 && echo "up" || echo "DOWN"

# Stuck invoices
STUCK=$(psql "$BILLING_DB" -t -A -c \\
  "SELECT count(*) FROM invoices
   WHERE state = 'sending' AND updated_at < now() - interval '10 minutes'")
[ "$STUCK" = "0" ] && echo "no stuck invoices" || echo "stuck: $STUCK"
"""


def test_health_check_script_is_entirely_read() -> None:
    statements = classify_shell(HEALTH_CHECK, line=100)
    assert worst(statements) == "read"
    kinds = [s.kind for s in statements]
    assert kinds == [
        "echo",
        "psql -c",
        "echo",
        "echo",
        "assignment",
        "psql -c",
        "[",
        "echo",
        "echo",
    ]
    texts = by_text(statements)
    probe = texts['psql "$BILLING_DB" -c "SELECT 1" >/dev/null 2>&1']
    assert probe.line == 104
    assert "SQL" in probe.reason
    assert texts['echo "DOWN"'].line == 104


def test_health_check_assignment_and_its_query_are_both_statements() -> None:
    statements = classify_shell(HEALTH_CHECK, line=100)
    assignment = next(s for s in statements if s.kind == "assignment")
    assert assignment.text.startswith("STUCK=$(psql")
    assert assignment.text.endswith("'10 minutes'\")")
    assert assignment.line == 107
    assert assignment.label == "Stuck invoices"
    query = [s for s in statements if s.kind == "psql -c"][1]
    assert query.text.startswith('psql "$BILLING_DB" -t -A -c')
    assert query.text.endswith("'10 minutes'\"")
    assert query.label == "Stuck invoices"


def test_shebang_is_neither_a_statement_nor_a_label() -> None:
    statements = classify_shell("#!/bin/sh\nuptime\n")
    assert [(s.text, s.label) for s in statements] == [("uptime", None)]


# --------------------------------------------------------------------------
# HTTP: the method decides
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "safety", "kind"),
    [
        ("curl -fsS https://api.example.test/healthz", "read", "curl GET"),
        ("curl -X GET https://api.example.test/v1/orders", "read", "curl GET"),
        ("curl -I https://cdn.example.test/app.js", "read", "curl HEAD"),
        ('curl -s -o /dev/null -w "%{http_code}" https://x.test', "read", "curl GET"),
        ("curl -X POST https://api.example.test/v1/replay", "write", "curl POST"),
        ("curl -XPUT https://api.example.test/v1/flags/beta", "write", "curl PUT"),
        ("curl --request=PATCH https://api.example.test/v1/x", "write", "curl PATCH"),
        ("curl https://api.example.test/v1/jobs -d '{\"retry\": true}'", "write", "curl POST"),
        ("curl --data-binary @payload.json https://api.example.test", "write", "curl POST"),
        ("curl -F file=@dump.csv https://api.example.test/upload", "write", "curl POST"),
        ("curl -X DELETE https://api.example.test/v1/sessions/42", "destructive", "curl DELETE"),
        ("curl --request DELETE https://api.example.test/v1/cache", "destructive", "curl DELETE"),
        ("curl -o report.json https://api.example.test/report", "write", "curl GET"),
    ],
)
def test_curl_method_decides(code: str, safety: str, kind: str) -> None:
    statement = one(code)
    assert (statement.safety, statement.kind) == (safety, kind)


def test_curl_post_reason_says_why() -> None:
    statement = one('curl -X POST "$API/v1/replay" -H "Authorization: Bearer $T"')
    assert statement.reason == "curl POST sends a request that changes state"


# --------------------------------------------------------------------------
# Embedded SQL takes the class of the SQL
# --------------------------------------------------------------------------


def test_d1_execute_update_is_write_and_select_is_read() -> None:
    code = (
        "wrangler d1 execute ORDERS --env production --command \\\n"
        "  \"UPDATE orders SET state='paid' WHERE id='ord_9'\"\n"
        'wrangler d1 execute ORDERS --command "SELECT state, count(*) FROM orders GROUP BY 1"\n'
    )
    update, select = classify_shell(code)
    assert (update.safety, update.kind, update.line) == (
        "write",
        "wrangler d1 execute --command",
        1,
    )
    assert "UPDATE" in update.reason
    assert (select.safety, select.line) == ("read", 3)


@pytest.mark.parametrize(
    ("code", "safety"),
    [
        ('psql "$DB" -tAc "SELECT now()"', "read"),
        ('psql "$DB" --command="SELECT 1"', "read"),
        ('psql "$DB" -c "DELETE FROM sessions WHERE expires_at < now()"', "destructive"),
        ('psql "$DB" -c "SELECT 1" -c "UPDATE t SET a = 1"', "write"),
        ('psql "$DB" -c ""', "write"),
        ('psql "$DB" -c "this is not sql at all"', "write"),
        ('psql "$DB" -f fix_balances.sql', "write"),
        ('psql "$DB"', "write"),
        ("psql -l", "read"),
        ('psql "$DB" -c "\\dt"', "read"),
        ("wrangler d1 execute ORDERS --file ./fix.sql", "write"),
    ],
)
def test_psql_and_d1(code: str, safety: str) -> None:
    assert one(code).safety == safety


# --------------------------------------------------------------------------
# Known CLIs: subcommands and flags
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "safety", "kind"),
    [
        ("git log --oneline -n 20", "read", "git log"),
        ("git -C services/api status", "read", "git status"),
        ("git checkout release-2024-06", "write", "git checkout"),
        ("git push origin main", "write", "git push"),
        ("git push --force origin main", "destructive", "git push"),
        ("git push -f", "destructive", "git push"),
        ("git push --dry-run", "read", "git push"),
        ("git branch", "read", "git branch"),
        ("git branch -D hotfix", "destructive", "git branch"),
        ("git reset --hard origin/main", "destructive", "git reset"),
        ("kubectl get pods -n payments", "read", "kubectl get"),
        ("kubectl -n payments get pods", "read", "kubectl get"),
        ("kubectl rollout status deploy/api -n payments", "read", "kubectl rollout status"),
        ("kubectl rollout restart deploy/api", "write", "kubectl rollout restart"),
        ("kubectl delete pod api-7f9c -n payments", "destructive", "kubectl delete"),
        ("kubectl delete -f old.yaml --dry-run=client", "read", "kubectl delete"),
        ("kubectl exec -it api-0 -- cat /etc/app.conf", "read", "kubectl exec"),
        ("kubectl exec -it api-0 -- rm -rf /tmp/cache", "destructive", "kubectl exec"),
        ("wrangler secret list --env production", "read", "wrangler secret list"),
        ("wrangler secret put STRIPE_KEY --env production", "write", "wrangler secret put"),
        (
            "wrangler secret delete OLD_KEY --env production",
            "destructive",
            "wrangler secret delete",
        ),
        ("wrangler deployments list", "read", "wrangler deployments list"),
        ("railway logs --service worker", "read", "railway logs"),
        ("railway up --service worker --detach", "write", "railway up"),
        ("railway variables", "read", "railway variables"),
        ("railway variables --set MODE=safe", "write", "railway variables"),
        ("railway down", "destructive", "railway down"),
        ("supabase migration list", "read", "supabase migration list"),
        (
            "supabase migration repair --status reverted 20240101",
            "write",
            "supabase migration repair",
        ),
        ("supabase db reset", "destructive", "supabase db reset"),
        ("docker system prune -af", "destructive", "docker system prune"),
        ("docker compose logs --tail 50 worker", "read", "docker compose logs"),
        ("docker-compose down -v", "destructive", "docker compose down"),
        ("redis-cli -h cache -n 2 GET session:9", "read", "redis-cli GET"),
        ("redis-cli -h cache FLUSHDB", "destructive", "redis-cli FLUSHDB"),
        ("redis-cli SET feature:beta on", "write", "redis-cli"),
        (
            "aws ec2 describe-instances --filters Name=tag:app,Values=api",
            "read",
            "aws ec2 describe-instances",
        ),
        (
            "aws --region eu-west-1 ec2 terminate-instances --instance-ids i-0a",
            "destructive",
            "aws ec2 terminate-instances",
        ),
        ("aws s3 rm s3://exports/2023 --recursive", "destructive", "aws s3 rm"),
        ("aws sts get-caller-identity", "read", "aws sts get-caller-identity"),
        ("gcloud compute instances list --project p", "read", "gcloud compute instances list"),
        ("az group delete -n staging-rg --yes", "destructive", "az group delete"),
        ("terraform plan -out tf.plan", "read", "terraform plan"),
        ("terraform apply tf.plan", "write", "terraform apply"),
        ("terraform state rm module.cache", "destructive", "terraform state rm"),
        ("pm2 status", "read", "pm2 status"),
        ("pm2 reload api", "write", "pm2 reload"),
        ("pm2 delete api", "destructive", "pm2 delete"),
        ("systemctl status nginx", "read", "systemctl status"),
        ("systemctl restart nginx", "write", "systemctl restart"),
        ("journalctl -u nginx --since '1 hour ago'", "read", "journalctl"),
        ("helm history api -n prod", "read", "helm history"),
        ("helm uninstall api", "destructive", "helm uninstall"),
        ("npm outdated", "read", "npm outdated"),
        ("npm audit fix", "write", "npm audit fix"),
        ("pnpm migrate:deploy", "write", "pnpm"),
        ("heroku ps -a shop", "read", "heroku ps"),
        ("heroku restart -a shop", "write", "heroku restart"),
        ("fly status -a shop", "read", "flyctl status"),
        ('pg_dump -Fc "$DB" > backup.dump', "write", "pg_dump"),
        ('pg_dump --schema-only "$DB"', "read", "pg_dump"),
        ('pg_restore -d "$DB" backup.dump', "destructive", "pg_restore"),
        ("sed -n '1,20p' app.conf", "read", "sed"),
        ("sed -i 's/debug/info/' app.conf", "write", "sed"),
        ("find /var/tmp -name '*.lock' -mmin +60 -delete", "destructive", "find"),
        ("find . -name '*.orig' -exec rm {} \\;", "destructive", "find"),
        ("find . -name '*.log' -size +100M", "read", "find"),
        ("wget -qO- https://status.example.test", "read", "wget"),
        ("wget https://example.test/tool.tar.gz", "write", "wget"),
        ("openssl s_client -connect api.example.test:443", "read", "openssl s_client"),
        ('node -e "console.log(process.version)"', "write", "node"),
        ("make rotate-keys", "write", "make"),
        ("kill -0 4242", "read", "kill"),
        ("kill -9 4242", "destructive", "kill"),
    ],
)
def test_known_commands(code: str, safety: str, kind: str) -> None:
    statement = one(code)
    assert (statement.safety, statement.kind) == (safety, kind), statement.reason


def test_destructive_reason_names_the_command() -> None:
    assert one("kubectl delete ns staging").reason == "kubectl delete removes resources"
    assert one("rm -rf ./build").reason == "rm deletes files"


@pytest.mark.parametrize(
    "code",
    ["rm -rf /var/cache/app", "sudo rm -rf /var/cache/app", "xargs rm -f < stale.txt"],
)
def test_rm_is_destructive_however_it_is_run(code: str) -> None:
    assert worst(classify_shell(code)) == "destructive"


# --------------------------------------------------------------------------
# Unknown commands, wrappers, assignments, redirections
# --------------------------------------------------------------------------


def test_unknown_local_script_counts_as_write() -> None:
    statement = one("./scripts/drain-queue.sh --dry 5")
    assert (statement.safety, statement.kind) == ("write", "unknown")
    assert statement.reason == "unknown command ./scripts/drain-queue.sh counts as write"


def test_source_counts_as_unknown_write() -> None:
    statement = one("source ./ops/env.sh")
    assert (statement.safety, statement.kind) == ("write", "unknown")


@pytest.mark.parametrize(
    ("code", "safety", "kind"),
    [
        ("sudo systemctl reload nginx", "write", "systemctl reload"),
        ("sudo -u postgres psql -c 'SELECT 1'", "read", "psql -c"),
        ("timeout 30 kubectl get nodes", "read", "kubectl get"),
        ("env AWS_PROFILE=prod aws s3 ls", "read", "aws s3 ls"),
        ("LOG_LEVEL=debug ./bin/worker", "write", "unknown"),
        ("nohup ./bin/worker > worker.log 2>&1", "write", "unknown"),
        ("watch -n 5 'kubectl get pods | grep -v Running'", "read", "watch"),
        ("nice -n 10 tar -tzf backup.tgz", "read", "tar"),
        ("command -v psql", "read", "command"),
        ("bash -c 'kubectl get pods && kubectl delete pod x'", "destructive", "bash -c"),
        ("ssh bastion 'sudo journalctl -u api -n 100'", "read", "ssh bastion"),
    ],
)
def test_wrappers_classify_what_they_run(code: str, safety: str, kind: str) -> None:
    statement = one(code)
    assert (statement.safety, statement.kind) == (safety, kind), statement.reason


def test_xargs_in_a_pipeline_runs_its_command() -> None:
    get, delete = classify_shell("kubectl get pods -o name | xargs -n1 kubectl delete")
    assert (get.safety, delete.safety) == ("read", "destructive")


@pytest.mark.parametrize("code", ["RETRIES=3", "export REGION=eu-west-1", "unset TOKEN"])
def test_assignments_are_read(code: str) -> None:
    assert one(code).safety == "read"


def test_substitution_commands_are_classified_beside_the_assignment() -> None:
    assignment, inner = classify_shell("POD=$(kubectl delete pod api-0 -o name)")
    assert (assignment.kind, assignment.safety) == ("assignment", "read")
    assert (inner.text, inner.safety) == ("kubectl delete pod api-0 -o name", "destructive")


def test_backtick_substitution_is_classified() -> None:
    statements = classify_shell("echo `rm -f lockfile`")
    assert [s.kind for s in statements] == ["echo", "rm"]


@pytest.mark.parametrize(
    ("code", "safety"),
    [
        ("date > /tmp/stamp.txt", "write"),
        ("date >> deploy.log", "write"),
        ("kubectl get events &> events.txt", "write"),
        ("date >/dev/null", "read"),
        ("date 2>/dev/null", "read"),
        ("date >&2", "read"),
        ("date 2>&1", "read"),
        ("date > /dev/stderr", "read"),
        ("grep ERROR < app.log", "read"),
        ("cat app.log | tee -a audit.log", "write"),
        ("cat app.log | tee /dev/stderr", "read"),
        ("{ date; uptime; } > snapshot.txt", "write"),
    ],
)
def test_redirections(code: str, safety: str) -> None:
    assert worst(classify_shell(code)) == safety


def test_redirect_reason_names_the_file() -> None:
    statement = one("kubectl get pods -o yaml > pods.yaml")
    assert (statement.safety, statement.kind) == ("write", "kubectl get")
    assert statement.reason == "output redirected to pods.yaml writes a file"


def test_function_call_takes_the_class_of_its_body() -> None:
    code = 'probe() { curl -fsS "$1/healthz"; }\nprobe https://api.example.test\n'
    statements = classify_shell(code)
    call = statements[-1]
    assert (call.text, call.kind, call.safety) == (
        "probe https://api.example.test",
        "function",
        "read",
    )


# --------------------------------------------------------------------------
# Placeholders are words, not redirections
# --------------------------------------------------------------------------


def test_angle_placeholder_is_not_a_redirection() -> None:
    statement = one("git checkout <commit-hash>", placeholders=["commit-hash"])
    assert (statement.text, statement.kind, statement.safety) == (
        "git checkout <commit-hash>",
        "git checkout",
        "write",
    )
    assert statement.parsed


def test_placeholder_is_recognised_even_when_not_declared() -> None:
    statement = one("git show <sha> --stat")
    assert (statement.kind, statement.safety, statement.parsed) == ("git show", "read", True)


def test_password_placeholder_inside_a_url() -> None:
    code = 'psql "postgresql://app:<password>@db.internal:5432/app" -c "SELECT 1"'
    statement = one(code, placeholders=["password"])
    assert statement.safety == "read"
    assert statement.text == code
    assert "redirect" not in statement.reason


def test_placeholder_in_a_prefix_assignment() -> None:
    code = "DATABASE_URL=postgresql://ops:<password>@localhost:5432/ops ./bin/migrate up"
    statement = one(code)
    assert (statement.kind, statement.safety) == ("unknown", "write")
    assert statement.reason == "unknown command ./bin/migrate counts as write"


def test_placeholder_reaches_the_sql_unchanged() -> None:
    code = 'psql "$DB" -c "DELETE FROM jobs WHERE id = <JOB_ID>"'
    statement = one(code, placeholders=["JOB_ID"])
    assert statement.safety == "destructive"
    assert statement.text == code


# --------------------------------------------------------------------------
# What bashlex cannot read goes through the fallback, never raising
# --------------------------------------------------------------------------


def test_multiline_node_script_with_escaped_backticks() -> None:
    code = (
        "# Mint a short-lived admin token\n"
        'ADMIN_TOKEN=$(node -e "\n'
        "const c = require('crypto');\n"
        "const h = Buffer.from('{}').toString('base64url');\n"
        "const s = c.createHmac('sha256', process.env.SIGNING_KEY).update(h).digest('hex');\n"
        "console.log(\\`\\${h}.\\${s}\\`);\n"
        '")\n'
        'curl -X POST "$API/admin/reindex" -H "Authorization: Bearer $ADMIN_TOKEN"\n'
    )
    statements = classify_shell(code, line=7)
    assert [s.kind for s in statements] == ["assignment", "node", "curl POST"]
    assert [s.line for s in statements] == [8, 8, 14]
    assert statements[1].safety == "write"
    assert statements[0].label == statements[1].label == "Mint a short-lived admin token"


def test_multiline_node_script_with_arithmetic_forces_the_fallback() -> None:
    code = (
        'EXP=$(node -e "\n'
        "console.log(\\`\\${Math.floor(Date.now() / 1000) + 300}\\`);\n"
        '")\n'
        "echo $(( EXP - 60 ))\n"
    )
    statements = classify_shell(code)
    assert [s.kind for s in statements] == ["assignment", "node", "echo"]
    assert worst(statements) == "write"


def test_double_bracket_test_goes_through_the_fallback() -> None:
    code = 'if [[ -d "$TMP_DIR" && "$TMP_DIR" != "/" ]]; then rm -rf "$TMP_DIR"; fi'
    statements = classify_shell(code)
    assert [(s.kind, s.safety, s.parsed) for s in statements] == [
        ("[[", "read", False),
        ("rm", "destructive", False),
    ]


def test_fallback_only_covers_the_lines_bashlex_rejects() -> None:
    code = "kubectl get pods\n[[ -f /tmp/flag ]] && echo flagged\nkubectl get svc\n"
    statements = classify_shell(code)
    assert [(s.text, s.parsed) for s in statements] == [
        ("kubectl get pods", True),
        ("[[ -f /tmp/flag ]]", False),
        ("echo flagged", False),
        ("kubectl get svc", True),
    ]


def test_case_statement_items_are_not_commands() -> None:
    code = (
        'case "$ACTION" in\n'
        "  restart|reload) systemctl reload nginx ;;\n"
        "  stop)\n"
        "    systemctl stop nginx\n"
        "    ;;\n"
        "esac\n"
    )
    statements = classify_shell(code)
    assert [s.kind for s in statements] == ["systemctl reload", "systemctl stop"]


def test_time_keyword_unwraps_to_its_command() -> None:
    statement = one("time curl -X DELETE https://api.example.test/v1/cache")
    assert (statement.kind, statement.safety) == ("curl DELETE", "destructive")


def test_here_document_body_is_not_commands() -> None:
    code = "cat <<EOF > note.txt\nrm -rf /\nEOF\necho done\n"
    statements = classify_shell(code)
    assert [(s.kind, s.safety) for s in statements] == [("cat", "write"), ("echo", "read")]


@pytest.mark.parametrize(
    "code",
    [
        "",
        "   \n\n",
        "# just a note\n# and another\n",
        '"unterminated',
        "echo $(",
        "echo ${",
        "a && ",
        "| | |",
        ")))(((",
        "fi done esac",
        "<<EOF",
        "cat <<",
        "`",
        "$((",
        "[[",
        "case",
        "\x00\x01\x02",
        "echo \\",
        "x" * 5000,
        "$(" * 200,
        "((((" * 100 + "))))",
        "'" * 7 + '"' * 5,
        "sudo",
        "xargs",
        "timeout",
        "watch",
        "--",
        "ssh -o",
        "curl -X",
        "psql -c",
        "kubectl exec --",
        "bash -c 'bash -c \"bash -c rm\"'",
        "\r\nls\r\n",
        "echo héllo ✓ 🚀 | wc -c",
    ],
)
def test_garbage_never_raises(code: str) -> None:
    for classify in (classify_shell, classify_powershell):
        statements = classify(code)
        assert all(s.safety in ("read", "write", "destructive") for s in statements)
        assert all(s.text.strip() for s in statements)


def test_non_string_input_gives_nothing() -> None:
    assert classify_shell(None) == []  # type: ignore[arg-type]


def test_comment_only_block_gives_nothing() -> None:
    assert classify_shell("# Restart the worker from the dashboard\n# (no CLI)\n") == []


# --------------------------------------------------------------------------
# Labels
# --------------------------------------------------------------------------


def test_labels_are_the_comment_lines_right_before() -> None:
    code = (
        "# Check the queue depth\n"
        "# before draining\n"
        "redis-cli LLEN jobs\n"
        "\n"
        "# Unrelated note\n"
        "\n"
        "redis-cli LLEN dead\n"
        "redis-cli INFO memory  # trailing comments are not labels\n"
    )
    depth, dead, info = classify_shell(code)
    assert depth.label == "Check the queue depth\nbefore draining"
    assert dead.label is None
    assert info.label is None
