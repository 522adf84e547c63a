"""SG301 never repeats a secret: not in a finding's message or data, not in
the snapshot's finding lines, not in text/JSON/SARIF output, not in what the
language server sends (diagnostic message and data), not in a log record,
and not in a quick fix's title or edits.

The secrets are collected from the findings themselves (the literal at each
finding's range in the SG301 fixtures, and the values of a config-file scan),
so every reported secret is checked in every rendered form."""

from __future__ import annotations

import ast
import json
import logging
import sys
from pathlib import Path

import pytest
from stackguard.config import Settings
from stackguard.config_scan import scan_config_text
from stackguard.fixes.secrets_env import secrets_env_fix
from stackguard.lsp.features.rules_feature import compact_finding
from stackguard.output import format_json, format_sarif, format_text
from stackguard.rules import rule_by_code
from stackguard.rules._secrets import find_url_credentials

RULES_TESTS = Path(__file__).parents[2] / "rules"
sys.path.insert(0, str(RULES_TESTS))
from test_rule_fixtures import render, run_fixture

# Built by concatenation so this file holds no contiguous token.
GITHUB = "ghp_" + "Rt8Kq2Wm5Xz9Lp3Vn7Bc1Df4Gh6Jk0Ms2TyU"
CONFIG_FILES = {
    ".env": "DB_PASSWORD=hunter2-pw-Q7\nSECRET_KEY='abc-def-Ghi-913'\nDATABASE_URL=postgresql://app:Pg-Url-pw-55@db/app\n",
    "config/app.yaml": f"database:\n  password: Yaml-pw-2024-x\nservices:\n  - token: '{GITHUB}'\n",
    "pyproject.toml": '[tool.app]\napi_key = "toml-Key-88231"\n',
    "config.json": '{"db": {"password": "json-Pw-77123"}}\n',
    "setup.cfg": "[db]\npassword = ini-Pw-88123\n",
    "web/config.ts": "const s = process.env.JWT_SECRET || 'ts-Jwt-secret-991';\n",
}


def _secret_of(finding, source_text: str) -> str:
    """The secret a finding points at, read back from the source."""
    line, column, end_line, end_column = finding.data["value_range"]
    lines = source_text.splitlines(keepends=True)
    start = sum(len(l) for l in lines[: line - 1]) + column
    end = sum(len(l) for l in lines[: end_line - 1]) + end_column
    raw = source_text[start:end]
    try:
        value = ast.literal_eval(raw)
    except (SyntaxError, ValueError):
        value = raw.strip("'\"")
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    url = find_url_credentials(value)
    return value[url.start : url.end] if url is not None and finding.data["kind"] == "url_credentials" else value


def _fragments(secret: str) -> list[str]:
    """The whole secret and, for long ones, a middle and a tail window: a
    partial reveal (`'sk-a…' (32 chars)`) is a leak too."""
    parts = [secret]
    if len(secret) >= 12:
        middle = len(secret) // 2
        parts += [secret[middle - 4 : middle + 4], secret[-8:]]
    return parts


@pytest.fixture(scope="module")
def reported():
    """(finding, secret, source text) for every SG301 finding of the fixtures
    and of the config-file scan, run with every log record captured."""
    handler = _Capture()
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        out = []
        results = run_fixture("SG301")
        for _path, source, findings in results:
            for finding in findings:
                out.append((finding, _secret_of(finding, source.text), source.text))
        for relative, text in CONFIG_FILES.items():
            for finding in scan_config_text(relative, text, path=f"/p/{relative}", settings=Settings()):
                out.append((finding, _secret_of(finding, text), text))
        for finding, _secret, text in out:
            if finding.fix_title:
                secrets_env_fix(finding, text, project_root=None)
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
    return out, results, handler.messages


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())
        if record.exc_text:
            self.messages.append(record.exc_text)


def test_every_secret_is_found_and_distinct(reported):
    findings, _, _ = reported
    secrets = [secret for _, secret, _ in findings]
    assert len(findings) >= 25
    assert all(len(secret) >= 8 or secret == "x" for secret in secrets), secrets
    assert GITHUB in secrets


def test_messages_and_data_never_hold_a_secret(reported):
    findings, _, _ = reported
    for finding, secret, _ in findings:
        shown = finding.message + json.dumps(finding.to_dict()) + json.dumps(compact_finding(finding))
        for fragment in _fragments(secret):
            if secret == "x":
                assert "'x'" not in shown and '"x"' not in shown
                continue
            assert fragment not in shown, (finding.message, fragment)
        assert "'********'" in finding.message or "********@" in finding.message


def test_data_carries_names_kinds_and_ranges_only(reported):
    findings, _, _ = reported
    allowed = {"name", "env_name", "kind", "context", "value_range", "length", "settings", "has_env_example", "env_call", "format"}
    for finding, _, _ in findings:
        assert set(finding.data) <= allowed, set(finding.data) - allowed


def test_snapshot_finding_lines_and_cli_outputs_never_hold_a_secret(reported, tmp_path):
    findings, results, _ = reported
    rendered = [line for line in render(results).splitlines() if not line.startswith("    | ")]
    all_findings = [finding for finding, _, _ in findings]
    outputs = "\n".join(
        [
            *rendered,
            format_text(all_findings, tmp_path),
            format_json(all_findings, tmp_path),
            format_sarif(all_findings, [rule_by_code("SG301")], tmp_path),
        ]
    )
    for _, secret, _ in findings:
        for fragment in _fragments(secret):
            if secret != "x":
                assert fragment not in outputs, fragment


def test_no_log_record_holds_a_secret(reported):
    findings, _, messages = reported
    logged = "\n".join(messages)
    for _, secret, _ in findings:
        for fragment in _fragments(secret):
            if secret != "x":
                assert fragment not in logged, fragment


def test_fix_titles_and_edits_never_hold_a_secret(reported, tmp_path):
    findings, _, _ = reported
    (tmp_path / ".env.example").write_text("DEBUG=\n", encoding="utf-8")
    fixes = 0
    for finding, secret, text in findings:
        if not finding.fix_title:
            continue
        fix = secrets_env_fix(finding, text, project_root=str(tmp_path))
        if fix is None:
            continue
        fixes += 1
        needles = [f"'{secret}'", f'"{secret}"'] if secret == "x" else _fragments(secret)
        for needle in needles:
            assert needle not in fix.title
            for file_edit in fix.edits:
                for edit in file_edit.edits:
                    assert needle not in edit.new_text
    assert fixes >= 10
