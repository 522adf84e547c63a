"""SG301 hardcoded-secret: the name, value and format decisions of
``rules/_secrets.py`` and the contexts of the rule beyond its fixture."""

from __future__ import annotations

import textwrap
import time
from pathlib import Path

import pytest
from stackguard.analysis.engine import Engine
from stackguard.analysis.index import WorkspaceIndex
from stackguard.analysis.source import parse_source
from stackguard.config import Settings
from stackguard.rules import _secrets

GITHUB = "ghp_" + "Rt8Kq2Wm5Xz9Lp3Vn7Bc1Df4Gh6Jk0Ms2TyU"
STRIPE = "sk_" + "live_51NcQzLKh7Tq2Wm9Vb3Xy8Rt"


def lint(code: str, *, path: str = "app/services/clients.py", layer: str = "service", index: WorkspaceIndex | None = None):
    source = parse_source(f"/p/{path}", path, textwrap.dedent(code))
    assert source.tree is not None
    result = Engine(Settings(select=["SG301"])).check(source, layer, index=index)
    assert not result.rule_errors, result.rule_errors
    return result.findings


# -- names ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("SECRET_KEY", "secret"),
        ("clientSecret", "secret"),
        ("DB_PASSWORD", "password"),
        ("smtp_pass", "password"),
        ("API_KEY", "api_key"),
        ("apiKey", "api_key"),
        ("STRIPE_KEY", "api_key"),
        ("JWT_SIGNING_KEY", "signing_key"),
        ("GITHUB_TOKEN", "token"),
        ("private_key", "private_key"),
        ("Authorization", "authorization"),
        ("TOKEN_URL", None),
        ("tokenUrl", None),
        ("ACCESS_TOKEN_EXPIRE_MINUTES", None),
        ("PASSWORD_HASHERS", None),
        ("password_min_length", None),
        ("eos_token", None),
        ("PUBLIC_KEY", None),
        ("cache_key", None),
        ("SESSION_KEY", None),
        ("DB_PASSWORD_FILE", None),
        ("next_page_token", None),
        ("CLIENT_ID", None),
    ],
)
def test_secret_kind_of_names(name, kind):
    assert _secrets.secret_kind(name) == kind


# -- values ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    ["", "   ", "changethis", "change-me", "CHANGEME", "<your-key>", "xxx", "XXXXXXXX", "${VAR}", "${DB_PASSWORD:-x}",
     "{{ var }}", "{{ .Values.db.password }}", "${{ secrets.TOKEN }}", "your-api-key-here", "dummy", "example", "test",
     "%(password)s", "{password}", "$API_KEY", "********", "ENC[AES256_GCM,data:abc]", "!vault |", "django-insecure-changeme"],
)
def test_placeholders(value):
    assert _secrets.is_placeholder(value)
    assert not _secrets.looks_like_secret_value(value, "secret")


@pytest.mark.parametrize(
    "value",
    ["password", "secret", "token", "access_token", "Enter your password", "certs/jwt-private.pem", "/run/secrets/db",
     "django.contrib.auth.hashers.Argon2PasswordHasher", "JWT_SECRET", "HS256", "bearer", "https://auth.example.org/token",
     "$argon2id$v=19$m=65536,t=3,p=4$c29tZXNhbHQ$RdescudvJCsgt3ub", "$2b$12$KIXQJnO7nqUO3d7a3Z1bPuY0T6y2Y"],
)
def test_values_that_are_not_secrets(value):
    assert not _secrets.looks_like_secret_value(value, "secret")


@pytest.mark.parametrize("value", ["dev-secret", "x", "hunter2", "django-insecure-q8#v2m!w4t7x@z9p$r3k", "1234"])
def test_weak_real_values_are_secrets(value):
    assert _secrets.looks_like_secret_value(value, "password")


def test_digits_only_count_for_passwords_alone():
    assert _secrets.looks_like_secret_value("1234", "password")
    assert not _secrets.looks_like_secret_value("1234", "api_key")


# -- formats --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        (f"token={GITHUB}", "github_token"),
        ("github_pat_" + "11ABQ7Z2Y0kWq9LmVn3Rt8_Xp4Gh6Jd1Sf5Ty2Ub7Ni0Ce3Ma9Lo8Kz", "github_token"),
        (STRIPE, "stripe_key"),
        ("AKIA" + "4XQ7ZP2M9LTW3KRB", "aws_access_key"),
        ("xox" + "b-2840571936-7712093845-QwErTyUiOpAsDfGhJkLzXcVb", "slack_token"),
        ("sk-" + "ant-api03-Jq5Wm8Xr2Lz7Vn4Bt9Kc3Pd6Hs1Yg0Fa", "anthropic_key"),
        ("AIza" + "SyD4Lq8Wm2Zx7Vn3Bt9Kc1Pd6Hs0Yg5FaRt", "google_api_key"),
    ],
)
def test_token_formats(text, kind):
    found = _secrets.find_token(text)
    assert found is not None and found.kind == kind


@pytest.mark.parametrize(
    "text",
    ["AKIAIOSFODNN7EXAMPLE", "ghp_" + "a" * 36, "sk_" + "live_xxxxxxxxxxxxxxxxxxxxxxxx", "ghp_" + "1234567890" * 4,
     'if pem.startswith("-----BEGIN PRIVATE KEY-----"):', "sk_test_" + "4eC39HqLyjWDarjtT1zdp7dc"],
)
def test_fakes_and_headers_are_not_tokens(text):
    assert _secrets.find_token(text) is None


def test_pem_needs_a_body_and_accepts_escaped_newlines():
    body = "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gunVTLw7onLRnrq0"
    header = "-----BEGIN RSA PRIVATE" + " KEY-----"
    assert _secrets.find_token(f"{header}\n{body}\n-----END RSA PRIVATE KEY-----").kind == "pem_private_key"
    assert _secrets.find_token(f"{header}\\n{body}\\n-----END RSA PRIVATE KEY-----").kind == "pem_private_key"
    assert _secrets.find_token(f"{header}\n...\n-----END RSA PRIVATE KEY-----") is None


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("postgresql://user:pass@host/db", True),
        ("redis://:s3cret@cache:6379/0", True),
        ("postgresql://user@host/db", False),
        ("postgresql://user:${DB_PASSWORD}@host/db", False),
        ("postgresql://user:{password}@host/db", False),
        ("postgresql://user:%(password)s@host/db", False),
        ("postgresql://user:<password>@host/db", False),
        ("amqp://guest:****@rabbit//", False),
        ("https://example.org/a:b@c", False),
    ],
)
def test_url_credentials(text, found):
    assert (_secrets.find_url_credentials(text) is not None) is found


def test_describe_shows_only_the_mask_and_the_length():
    assert _secrets.describe("hunter2-and-more") == "'********', a 16-character literal"


# -- the rule -------------------------------------------------------------------


def test_literal_part_of_an_fstring_with_a_password():
    (finding,) = lint('def dsn(host):\n    return f"postgresql://app:Pg-s3cr3t-pw@{host}/app"\n')
    assert finding.data["kind"] == "url_credentials" and finding.fix_title is None


def test_bytes_literal_key_is_reported_without_a_fix():
    (finding,) = lint('SECRET_KEY = b"k3y-f0r-s1gning-t0kens"\n')
    assert finding.data["kind"] == "secret" and finding.fix_title is None


def test_class_attribute_and_self_attribute():
    findings = lint(
        """\
        class StripeClient:
            api_key = "key-4Lp8Zt2Xv6Qm"

            def __init__(self):
                self.password = "pw-4Lp8Zt2Xv6Qm"
        """
    )
    assert [(f.line, f.data["name"]) for f in findings] == [(2, "api_key"), (5, "password")]


def test_parameter_default_is_reported_without_a_fix():
    (finding,) = lint('def connect(host, password="pw-4Lp8Zt2Xv6Qm"):\n    ...\n')
    assert finding.data["context"] == "param_default" and finding.fix_title is None


def test_basic_auth_helpers_and_mail_login():
    findings = lint(
        """\
        import smtplib
        from requests.auth import HTTPBasicAuth

        auth = HTTPBasicAuth("reports", "r3p0rts-pw-77")
        server = smtplib.SMTP_SSL("smtp.example.org")
        server.login("noreply@example.org", "m4il-Pw-9931")
        """
    )
    assert [f.message.split(" (")[0] for f in findings] == [
        "Hardcoded password in `HTTPBasicAuth(…)`",
        "Hardcoded password in `server.login(…)`",
    ]


def test_env_readers_with_and_without_defaults():
    findings = lint(
        """\
        import os
        from decouple import config
        from os import getenv, environ

        A = os.environ.get("API_KEY", "key-4Lp8Zt2Xv6Qm")
        B = getenv("DB_PASSWORD", "pw-4Lp8Zt2Xv6Qm")
        C = environ.get("JWT_SECRET", "jwt-4Lp8Zt2Xv6Qm")
        D = config("SECRET_KEY", default="sk-4Lp8Zt2Xv6Qm")
        E = os.getenv("API_KEY")
        F = os.environ.get("LOG_LEVEL", "info")
        G = os.getenv("DATABASE_URL", "postgresql://app:Pg-s3cr3t-pw@db/app")
        """
    )
    assert [(f.line, f.data["context"], f.data["env_name"]) for f in findings] == [
        (5, "env_default", "API_KEY"),
        (6, "env_default", "DB_PASSWORD"),
        (7, "env_default", "JWT_SECRET"),
        (8, "env_default", "SECRET_KEY"),
        (11, "env_default", "DATABASE_URL"),
    ]
    assert findings[0].message == (
        "`os.environ.get(\"API_KEY\")` falls back to a hardcoded API key ('********', a 16-character literal); "
        "fail when the variable is missing instead"
    )


def test_test_layer_reports_only_real_looking_tokens():
    findings = lint(
        f"""\
        PASSWORD = "Adm1n-test-pw"
        DSN = "postgresql://app:Pg-s3cr3t-pw@db/app"
        FAKE = "ghp_{'a' * 36}"
        REAL = "{GITHUB}"
        """,
        path="tests/test_clients.py",
        layer="test",
    )
    assert [(f.line, f.data["kind"]) for f in findings] == [(4, "github_token")]


def test_suppression_comment():
    assert lint('SECRET_KEY = "sk-4Lp8Zt2Xv6Qm"  # stackguard: ignore[SG301]\n') == []


def test_settings_object_and_env_example_from_the_index(tmp_path: Path):
    (tmp_path / ".env.example").write_text("DEBUG=\n", encoding="utf-8")
    config = "from pydantic_settings import BaseSettings\n\n\nclass Settings(BaseSettings):\n    debug: bool = False\n\n\nsettings = Settings()\n"
    service = 'API_KEY = "key-4Lp8Zt2Xv6Qm"\n'
    index = WorkspaceIndex(root=tmp_path)
    for relative, text in (("app/core/config.py", config), ("app/services/clients.py", service)):
        index.update_tree(relative, parse_source(relative, relative, text).tree)
    (finding,) = lint(service, index=index)
    assert finding.data["settings"] == {"relative": "app/core/config.py", "module": "app.core.config", "classes": ["Settings"]}
    assert finding.data["has_env_example"] is True


def test_two_thousand_lines_stay_fast():
    block = textwrap.dedent(
        """\
        def handler_{n}(request, session):
            token = request.headers.get("Authorization", "")
            payload = {{"name": "item-{n}", "price": {n}, "tags": ["a", "b"], "url": "https://example.org/items/{n}"}}
            session.add(Item(**payload))
            return {{"ok": True, "message": "created item number {n} for the catalogue"}}

        """
    )
    code = "".join(block.format(n=n) for n in range(340))
    assert code.count("\n") > 2000
    source = parse_source("/p/app/services/big.py", "app/services/big.py", code)
    engine = Engine(Settings(select=["SG301"]))
    started = time.perf_counter()
    result = engine.check(source, "service")
    elapsed = time.perf_counter() - started
    assert result.findings == []
    assert elapsed < 1.0, elapsed


def test_setting_the_environment_is_reported_without_a_fix():
    findings = lint('import os\n\nos.environ["OPENAI_API_KEY"] = "key-4Lp8Zt2Xv6Qm"\nos.environ.setdefault("SECRET_KEY", "sk-4Lp8Zt2Xv6Qm")\n')
    assert [(f.line, f.fix_title) for f in findings] == [(3, None), (4, None)]


@pytest.mark.parametrize(
    "code",
    [
        'errors = {"password": "too_short"}\n',
        'labels = {"password": "Passwort"}\n',
        'field = CharField(password="required")\n',
        'client = Client(api_key=settings.API_KEY)\n',
        'DEFAULTS = {"password": ""}\n',
    ],
)
def test_dict_and_keyword_codes_labels_and_references_stay_quiet(code):
    assert lint(code) == []


def test_report_in_tests_setting_scans_test_files_like_other_code():
    from stackguard.analysis.engine import Engine
    from stackguard.analysis.source import parse_source
    from stackguard.config import resolve_settings

    text = 'ADMIN_PASSWORD = "Tr0ub4dor-and-3-horses"\n'
    source = parse_source("/p/tests/test_login.py", "tests/test_login.py", text)
    default = resolve_settings([]).settings
    strict = resolve_settings([("editor", {"select": ["SG301"], "secrets": {"reportInTests": True}})]).settings
    assert [f.code for f in Engine(default, None).check(source, "test").findings if f.code == "SG301"] == []
    found = [f for f in Engine(strict).check(source, "test").findings if f.code == "SG301"]
    assert [f.line for f in found] == [1]
    assert "Tr0ub4dor" not in found[0].message
