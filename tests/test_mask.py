"""Masking: known secret values and common secret shapes never get through."""

from __future__ import annotations

import random
import string
import time

import pytest

from opsdoc.mask import MASK, Masker, is_secret_name

# (text with a secret, the secret that must disappear, what must stay readable)
SHAPES = [
    (
        "curl -H 'Authorization: Bearer abc.DEF-ghi_123' https://api.example.com",
        "abc.DEF-ghi_123",
        "Authorization: Bearer ***",
    ),
    ('curl -H "Authorization: Basic dXNlcjpwYXNzd29yZA==" x', "dXNlcjpwYXNz", "Basic ***"),
    ("< authorization: token9f8e7d6c5b4a", "token9f8e7d6c5b4a", "authorization: ***"),
    ("retrying with Bearer 8f3a9c2e7b1d4f6a", "8f3a9c2e7b1d4f6a", "Bearer ***"),
    (
        "jwt=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
        "dozjgNryP4J3jVmNHl0w5N",
        "jwt=***",
    ),
    (
        "cookie: eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.sig-part_99 ok",
        "eyJzdWIiOiIxMjM0In0",
        " ok",
    ),
    ("aws_access_key_id = AKIAIOSFODNN7EXAMPLE", "AKIAIOSFODNN7EXAMPLE", "aws_access_key_id = "),
    ("session ASIAY34FZKBOKMUTVV7A expired", "ASIAY34FZKBOKMUTVV7A", "session *** expired"),
    (
        "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "wJalrXUtnFEMI",
        "aws_secret_access_key = ***",
    ),
    (
        '{"AccessKeyId": "ASIAY34FZKBOKMUTVV7A", "SecretAccessKey": "9drTJvcXLB89EXAMPLELB8923FB892xMFI", "SessionToken": "FwoGZXIvYXdzEBcaDEXAMPLE"}',
        "9drTJvcXLB89EXAMPLE",
        '"SecretAccessKey": "***"',
    ),
    (
        "psql postgresql://app:Sup3r-s3cret@db.internal:5432/orders?sslmode=require",
        "Sup3r-s3cret",
        "postgresql://app:***@db.internal:5432/orders?sslmode=require",
    ),
    ("redis://:r3dis-pass@cache:6379/0", "r3dis-pass", "redis://:***@cache:6379/0"),
    (
        "https://deploy:p%40ss%2Fword@git.example.com/repo.git",
        "p%40ss%2Fword",
        "https://deploy:***@git.example.com/repo.git",
    ),
    ("mysql://root:p@ss@db/x", "p@ss", "mysql://root:***@db/x"),
    (
        "host=db port=5432 user=app password=Kv8-secret dbname=orders",
        "Kv8-secret",
        "host=db port=5432 user=app password=*** dbname=orders",
    ),
    ("host=db password='with a space' dbname=x", "with a space", "password='***' dbname=x"),
    ("PGPASSWORD=Kv8-secret psql -h db -U app", "Kv8-secret", "PGPASSWORD=*** psql -h db -U app"),
    ('export PGPASSWORD="Kv8-secret"', "Kv8-secret", 'export PGPASSWORD="***"'),
    ("api_key: sk-12345abcdef", "sk-12345abcdef", "api_key: ***"),
    ("X_API-KEY=zz-top-secret-1", "zz-top-secret-1", "X_API-KEY=***"),
    ("apikey=q1w2e3r4", "q1w2e3r4", "apikey=***"),
    ("DB_PASSWORD=hunter22 ./migrate", "hunter22", "DB_PASSWORD=*** ./migrate"),
    ("passwd: letmein99", "letmein99", "passwd: ***"),
    ("token=tok_abc123; next", "tok_abc123", "token=***; next"),
    ("client_secret: 'shh-dont-tell'", "shh-dont-tell", "client_secret: '***'"),
    ('{"password": "correct horse battery"}', "correct horse", '{"password": "***"}'),
    ("GET /cb?code=1&access_token=at-998877&x=1", "at-998877", "access_token=***&x=1"),
    ("mysql --password hunter3x -h db", "hunter3x", "mysql --password *** -h db"),
    (
        "git clone https://ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789@github.com/o/r",
        "ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789",
        "github.com/o/r",
    ),
    (
        "GH_TOKEN=github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuv",
        "github_pat_11ABCDEFG",
        "GH_TOKEN=***",
    ),
    ("slack xoxb-123456789012-abcdefABCDEF posted", "xoxb-123456789012", "slack *** posted"),
    ("using xoxp-1111-2222-3333-abcd", "xoxp-1111-2222", "using ***"),
    (
        "key:\n-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA7v\nq8Zx+abc==\n-----END RSA PRIVATE KEY-----\ndone",
        "MIIEowIBAAKCAQEA7v",
        "-----BEGIN RSA PRIVATE KEY-----\n***\n-----END RSA PRIVATE KEY-----\ndone",
    ),
    (
        "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n(output cut)",
        "b3BlbnNzaC1rZXktdjEAAAAA",
        "-----BEGIN OPENSSH PRIVATE KEY-----\n***",
    ),
]


@pytest.mark.parametrize(("text", "secret", "kept"), SHAPES, ids=[s[2][:30] for s in SHAPES])
def test_every_secret_shape_is_masked_without_being_told(text: str, secret: str, kept: str) -> None:
    masked = Masker().mask(text)
    assert secret not in masked
    assert kept in masked
    assert Masker().mask(masked) == masked  # idempotent


@pytest.mark.parametrize(
    "text",
    [
        "the bearer of bad news",
        "https://host:443/path?q=1 and https://user@host/x",
        "rows: 12, exit_code=0, status=ok",
        "SELECT count(*) FROM sd_backlog_map WHERE created_at > now() - interval '1 hour';",
        "kubectl get pods -n prod",
        "git@github.com:org/repo.git",
        "UPDATE 3",
    ],
)
def test_ordinary_output_is_left_alone(text: str) -> None:
    assert Masker().mask(text) == text


def test_known_values_longest_first_and_url_encoded() -> None:
    masker = Masker(["abc123", "abc123456", "p@ss/w0rd"])
    assert masker.mask("x abc123456 y abc123 z") == "x *** y *** z"
    # the same value percent-encoded, as it appears inside a DSN or URL
    assert masker.mask("user=p%40ss%2Fw0rd") == "user=***"
    assert masker.mask("plain p@ss/w0rd here") == "plain *** here"


def test_values_shorter_than_three_characters_are_ignored() -> None:
    masker = Masker(["ab", "1", ""])
    masker.add("x")
    masker.add(None)  # type: ignore[arg-type]
    assert masker.mask("ab 1 x row 12") == "ab 1 x row 12"
    masker.add("abc")
    assert masker.mask("abc abcd") == "*** ***d"


def test_mask_data_walks_nested_data_and_keeps_keys_and_scalars() -> None:
    masker = Masker(["t0p-s3cret"])
    data = {
        "t0p-s3cret": "key stays",
        "list": ["a t0p-s3cret b", ("t0p-s3cret", 3, None, True)],
        "nested": {"deep": [{"dsn": "postgresql://u:whatever@h/db"}]},
        "password": "not-a-known-value",
        "count": 7,
        "ratio": 0.5,
    }
    out = masker.mask_data(data)
    assert out == {
        "t0p-s3cret": "key stays",
        "list": ["a *** b", ("***", 3, None, True)],
        "nested": {"deep": [{"dsn": "postgresql://u:***@h/db"}]},
        "password": MASK,  # a string under a secret-named key goes whole
        "count": 7,
        "ratio": 0.5,
    }
    assert data["list"][0] == "a t0p-s3cret b"  # the input is not changed


def test_secret_names() -> None:
    for name in ("password", "DB_PASSWORD", "api-key", "client_secret", "PGPASSWORD", "token"):
        assert is_secret_name(name), name
    for name in ("user", "host", "secret_name", "token_count", "content_hash", 3):
        assert not is_secret_name(name), name


def test_masking_64_kb_of_output_is_fast() -> None:
    rng = random.Random(7)
    noise = "".join(
        rng.choice(string.ascii_letters + string.digits + " \n=:/._-") for _ in range(32_768)
    )
    log = (
        "2026-11-23T07:39:02Z INFO worker=label-7 job=123 url=https://api.example.com/v1 "
        "dsn=postgresql://app:pw-123@db/x token=abc\n"
    ) * 300
    text = (noise + log)[:65_536]
    masker = Masker(["pw-123", "label-secret-value"])
    masker.mask(text)
    started = time.perf_counter()
    for _ in range(5):
        masked = masker.mask(text)
    per_call = (time.perf_counter() - started) / 5
    assert "pw-123" not in masked
    assert per_call < 0.25, f"{per_call * 1000:.0f} ms for 64 KB"
