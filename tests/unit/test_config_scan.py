"""SG301 over tracked configuration files: each format's key/value pairs,
token formats and URLs on any line, PEM blocks, JS/TS env fallbacks, the
masking of every message, settings, suppressions, and which files git
tracks."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from stackguard import config_scan
from stackguard.config import Settings
from stackguard.config_scan import (
    config_format,
    scan_config_text,
    scan_tracked_config,
    tracked_config_files,
)

GITHUB = "ghp_" + "Rt8Kq2Wm5Xz9Lp3Vn7Bc1Df4Gh6Jk0Ms2TyU"
PEM_BODY = "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gunVTLw7onLRnrq0"
PEM_BEGIN = "-----BEGIN RSA PRIVATE" + " KEY-----"


def scan(relative: str, text: str, settings: Settings | None = None):
    return scan_config_text(relative, text, path=f"/p/{relative}", settings=settings or Settings())


def spans(relative: str, text: str):
    """(line, value as written, kind, name) per finding."""
    lines = text.splitlines()
    return [
        (f.line, lines[f.line - 1][f.column : f.end_column] if f.line == f.end_line else None, f.data["kind"], f.data["name"])
        for f in scan(relative, text)
    ]


def test_dotenv_pairs_quotes_comments_and_placeholders():
    text = (
        "# local development\n"
        "DB_PASSWORD=hunter2-pw\n"
        "SECRET_KEY='abc-def-ghi'  # rotate me\n"
        "API_KEY=\n"
        "TOKEN=${TOKEN}\n"
        'export JWT_SECRET="s3cr3t-jwt"\n'
        "DATABASE_URL=postgresql://app:p4ss-w0rd@db/app\n"
        "DEBUG=true\n"
        "FIRST_SUPERUSER_PASSWORD=changethis\n"
    )
    assert spans(".env", text) == [
        (2, "hunter2-pw", "password", "DB_PASSWORD"),
        (3, "'abc-def-ghi'", "secret", "SECRET_KEY"),
        (6, '"s3cr3t-jwt"', "secret", "JWT_SECRET"),
        (7, "postgresql://app:p4ss-w0rd@db/app", "url_credentials", "DATABASE_URL"),
    ]
    finding = scan(".env", text)[0]
    assert finding.code == "SG301" and finding.layer == "config" and finding.name == "hardcoded-secret"
    assert finding.message == (
        "Hardcoded password in `DB_PASSWORD` ('********', a 10-character value) in a file git tracks; "
        "stop tracking `.env` (`git rm --cached`) and rotate the secret"
    )
    assert finding.fix_title is None and not finding.fixable
    assert finding.data["value_range"] == [2, 12, 2, 22]


def test_env_example_advice_differs():
    (finding,) = scan(".env.example", "SECRET_KEY=changethis\nJWT_SECRET=dev-secret-123\n")
    assert finding.message.endswith("example files are committed: leave the value empty or a placeholder")


def test_yaml_mappings_env_lists_tokens_and_block_scalars():
    text = (
        "database:\n"
        "  host: db\n"
        "  password: Pg-pw-2024  # prod\n"
        '  url: "postgresql://app:${DB_PASSWORD}@db/app"\n'
        "services:\n"
        f"  - api_key: '{GITHUB}'\n"
        "environment:\n"
        "  - POSTGRES_PASSWORD=pgpass-991\n"
        "  - SECRET=${SECRET}\n"
        "vault_password: !vault |\n"
        "  $ANSIBLE_VAULT;1.1;AES256\n"
        "signing: |\n"
        f"  {PEM_BEGIN}\n"
        f"  {PEM_BODY}\n"
        "  -----END RSA PRIVATE KEY-----\n"
        "hooks:\n"
        f"  - {GITHUB[:-1]}Z\n"
    )
    assert [(line, kind, name) for line, _, kind, name in spans("deploy/values.yaml", text)] == [
        (3, "password", "password"),
        (6, "github_token", "api_key"),
        (8, "password", "POSTGRES_PASSWORD"),
        (13, "pem_private_key", None),
        (17, "github_token", None),
    ]


def test_toml_basic_literal_and_inline_tables():
    text = '[tool.app]\npassword = "toml-pw-123"\ndb = { user = "a", password = \'inline-pw-9\' }\nname = "x"\ntoken_url = "/token"\n'
    assert spans("pyproject.toml", text) == [
        (2, '"toml-pw-123"', "password", "password"),
        (3, "'inline-pw-9'", "password", "password"),
    ]


def test_json_pairs_and_arrays():
    text = '{\n  "db": {"password": "json-pw-77", "host": "x"},\n  "token": "${TOKEN}",\n  "list": ["' + GITHUB + '"]\n}\n'
    assert [(line, kind, name) for line, _, kind, name in spans("config/settings.json", text)] == [
        (2, "password", "password"),
        (4, "github_token", None),
    ]


def test_ini_and_cfg():
    text = "[db]\npassword = ini-pw-881\nuser: app\n; password = commented-out\nsecret_key: 'cfg-secret-77' ; note\n"
    assert spans("setup.cfg", text) == [(2, "ini-pw-881", "password", "password"), (5, "'cfg-secret-77'", "secret", "secret_key")]


def test_js_and_ts_env_fallbacks():
    text = (
        "const secret = process.env.JWT_SECRET || 'dev-jwt-secret';\n"
        "const port = process.env.PORT || '3000';\n"
        'const key = process.env["API_KEY"] ?? "key-1234567";\n'
        "const empty = process.env.TOKEN || '';\n"
        "const url = `postgres://${process.env.DB_USER}`;\n"
    )
    findings = scan("src/config.ts", text)
    assert [(f.line, f.data["name"], f.data["context"]) for f in findings] == [(1, "JWT_SECRET", "env_fallback"), (3, "API_KEY", "env_fallback")]
    assert findings[1].message == (
        "`process.env.API_KEY ?? …` falls back to a hardcoded API key ('********', a 11-character value); "
        "fail when the variable is missing instead"
    )


def test_test_files_report_only_real_looking_tokens():
    text = f"password: test-pw-123\ndsn: postgresql://u:pw-in-tests@db/x\ntoken: {GITHUB}\n"
    assert [(line, kind) for line, _, kind, _ in spans("tests/fixtures/app.yaml", text)] == [(3, "github_token")]


def test_no_message_or_data_holds_a_value():
    values = ["hunter2-pw", "abc-def-ghi", "p4ss-w0rd", GITHUB, "toml-pw-123"]
    text = f"DB_PASSWORD=hunter2-pw\nSECRET_KEY=abc-def-ghi\nDATABASE_URL=postgresql://app:p4ss-w0rd@db/app\nGH={GITHUB}\nPASSWORD=toml-pw-123\n"
    findings = scan(".env.production", text)
    assert len(findings) == 5
    for finding in findings:
        shown = finding.message + repr(finding.to_dict())
        assert not any(value in shown for value in values)


def test_suppression_select_ignore_exclude_and_severity():
    text = "DB_PASSWORD=hunter2-pw  # stackguard: ignore[SG301]\nSECRET_KEY=abc-def-ghi\n"
    assert [f.line for f in scan(".env", text)] == [2]
    assert scan(".env", text, Settings(ignore=["SG3"])) == []
    assert scan(".env", text, Settings(select=["SG2"])) == []
    assert scan("deploy/.env", text, Settings(exclude=["deploy/**"])) == []
    assert scan(".env", text, Settings(severity={"SG301": "warning"}))[0].severity == "warning"


def test_odd_input_never_raises():
    assert scan(".env", "") == []
    assert scan("x.yaml", "key: 'unterminated\n: : :\n- - -\n\x00\x01") == []
    assert scan("x.json", '{"password": "a\\', ) == []
    assert scan("README.md", "password: hunter2-pw\n") == []


def test_config_format_and_skipped_files():
    assert config_format(".env") == "env"
    assert config_format("deploy/.env.production") == "env"
    assert config_format("k8s/app.yml") == "yaml"
    assert config_format("web/src/app.tsx") == "script"
    assert config_format("package-lock.json") is None
    assert config_format("static/app.min.js") is None
    assert config_format("app/main.py") is None
    assert not config_scan.is_config_file("node_modules/pkg/config.json")


# -- git ------------------------------------------------------------------------


def _git(root: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, timeout=30)


def test_only_tracked_config_files_are_scanned(tmp_path: Path):
    _git(tmp_path, "init", "-q")
    (tmp_path / ".env").write_text("DB_PASSWORD=hunter2-pw\n", encoding="utf-8")
    (tmp_path / ".env.local").write_text("DB_PASSWORD=untracked-pw\n", encoding="utf-8")
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "app.yaml").write_text("password: Pg-pw-2024\n", encoding="utf-8")
    (tmp_path / "app.py").write_text("x = 1\n", encoding="utf-8")
    (tmp_path / "gone.toml").write_text('password = "x-pw-123"\n', encoding="utf-8")
    _git(tmp_path, "add", ".env", "config/app.yaml", "app.py", "gone.toml")
    (tmp_path / "gone.toml").unlink()  # tracked but deleted from the working tree
    assert tracked_config_files(tmp_path) == [".env", "config/app.yaml"]
    findings = scan_tracked_config(tmp_path, Settings())
    assert [(f.relative, f.line, f.path) for f in findings] == [
        (".env", 1, str(tmp_path / ".env")),
        ("config/app.yaml", 1, str(tmp_path / "config" / "app.yaml")),
    ]


def test_nested_root_lists_paths_relative_to_itself(tmp_path: Path):
    _git(tmp_path, "init", "-q")
    backend = tmp_path / "backend"
    backend.mkdir()
    (backend / ".env").write_text("SECRET_KEY=abc-def-ghi\n", encoding="utf-8")
    (tmp_path / "root.yaml").write_text("password: x-pw-1234\n", encoding="utf-8")
    _git(tmp_path, "add", "-A")
    assert tracked_config_files(backend) == [".env"]


def test_no_repository_no_git_and_a_hanging_git(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    (tmp_path / ".env").write_text("DB_PASSWORD=hunter2-pw\n", encoding="utf-8")
    assert tracked_config_files(tmp_path) == []
    assert tracked_config_files(tmp_path / "missing") == []
    monkeypatch.setattr(config_scan.shutil, "which", lambda name: None)
    assert tracked_config_files(tmp_path) == []
    monkeypatch.setattr(config_scan.shutil, "which", lambda name: "/usr/bin/git")

    def hang(*args, **kwargs):
        raise subprocess.TimeoutExpired(cmd=args[0], timeout=kwargs.get("timeout", 0))

    monkeypatch.setattr(config_scan.subprocess, "run", hang)
    assert tracked_config_files(tmp_path) == []
