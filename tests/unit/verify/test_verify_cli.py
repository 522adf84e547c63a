"""``stackguard verify``: the fixture projects' real ruff, mypy and pytest
runs (tools from the test extras, found on PATH as a user's activated
environment would provide them)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
from stackguard.cli import build_parser, main

WORKSPACES = Path(__file__).resolve().parents[2] / "workspaces"


@pytest.fixture(autouse=True)
def tools_on_path(monkeypatch):
    scripts = [sysconfig.get_path("scripts"), os.path.dirname(sys.executable)]
    monkeypatch.setenv("PATH", os.pathsep.join([*scripts, os.environ.get("PATH", "")]))


def copy(name: str, tmp_path: Path) -> Path:
    target = tmp_path / name
    shutil.copytree(WORKSPACES / name, target)
    return target


def test_failing_project_exits_1_and_reports_each_finding(tmp_path: Path, capsys, monkeypatch):
    folder = copy("verify_py_fail", tmp_path)
    monkeypatch.chdir(folder)
    assert main(["verify"]) == 1
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert lines[0].split()[:2] == ["lint", "failed"]
    assert "  calc/ops.py:1:8: warning: `os` imported but unused  [F401]" in lines
    assert '  calc/ops.py:9:12: error: Incompatible return value type (got "int", expected "str")  [return-value]' in lines
    test_line = next(line for line in lines if line.startswith("  tests/test_ops.py:9: error: "))
    assert "test_add_negative_numbers failed: AssertionError: negative numbers add up" in test_line
    assert lines[-1] == "3 failed"
    # Progress goes to stderr, one start and one end line per step.
    assert err.splitlines()[0] == "[1/3] lint: ruff check ."
    assert "      tests failed (exit 1, 1 finding)" in err


def test_passing_project_exits_0(tmp_path: Path, capsys):
    folder = copy("verify_py_pass", tmp_path)
    assert main(["verify", str(folder)]) == 0
    out, _ = capsys.readouterr()
    assert [line.split()[:2] for line in out.splitlines()[:-1]] == [
        ["syntax", "passed"],
        ["lint", "passed"],
        ["typecheck", "passed"],
        ["tests", "passed"],
    ]
    assert out.splitlines()[-1] == "4 passed"


def test_json_format_and_step_selection(tmp_path: Path, capsys):
    folder = copy("verify_py_fail", tmp_path)
    assert main(["verify", str(folder), "--step", "typecheck", "--step", "lint", "--format", "json"]) == 1
    payload = json.loads(capsys.readouterr().out)
    assert payload["folder"] == str(folder.resolve())
    assert payload["ok"] is False
    assert [(s["name"], s["status"]) for s in payload["steps"]] == [("typecheck", "failed"), ("lint", "failed")]
    [finding] = payload["steps"][0]["findings"]
    assert finding == {
        "path": str(folder.resolve() / "calc" / "ops.py"),
        "line": 9,
        "message": 'Incompatible return value type (got "int", expected "str")',
        "tool": "mypy",
        "column": 12,
        "end_line": 0,
        "end_column": 0,
        "severity": "error",
        "code": "return-value",
        "url": None,
    }


def test_verbose_streams_tool_output(tmp_path: Path, capsys):
    folder = copy("verify_py_fail", tmp_path)
    assert main(["verify", str(folder), "--step", "tests", "-v"]) == 1
    err = capsys.readouterr().err
    assert any(line.startswith("  1 failed, 1 passed in ") for line in err.splitlines())


def test_usage_errors_exit_2(tmp_path: Path, capsys):
    folder = copy("verify_py_pass", tmp_path)
    assert main(["verify", str(folder), "--step", "deploy"]) == 2
    assert "no step named deploy (available: lint, syntax, tests, typecheck)" in capsys.readouterr().err
    assert main(["verify", str(tmp_path / "missing")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_a_step_error_fails_the_run(tmp_path: Path, capsys):
    (tmp_path / "stack").mkdir()
    (tmp_path / "stack" / "stack.yaml").write_text(
        "language: python\nverify:\n"
        "  lint: { cmd: \"stackguard-absent-tool\", skip_if_missing: stackguard-absent-tool }\n"
        "  tests: { cmd: \"stackguard-absent-tool\" }\n"
    )
    assert main(["verify", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "  skipped: stackguard-absent-tool is not installed" in out
    assert "  stackguard-absent-tool not found" in out
    assert out.splitlines()[-1] == "1 error, 1 skipped"


def test_only_skipped_steps_pass(tmp_path: Path, capsys):
    (tmp_path / "stack").mkdir()
    (tmp_path / "stack" / "stack.yaml").write_text(
        "language: python\nverify:\n  lint: { cmd: \"stackguard-absent-tool\", skip_if_missing: stackguard-absent-tool }\n"
    )
    assert main(["verify", str(tmp_path)]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "1 skipped"


def test_verify_is_a_subcommand():
    parser = build_parser()
    args = parser.parse_args(["verify", "proj", "--step", "lint", "--format", "json"])
    assert (args.path, args.steps, args.format) == ("proj", ["lint"], "json")


def test_the_public_api_resolves_and_the_cli_module_imports_light():
    import stackguard.verify as verify

    assert all(getattr(verify, name) is not None for name in verify.__all__)
    probe = subprocess.run(
        [sys.executable, "-c", "import sys, stackguard.verify.cli; print(sorted({'asyncio', 'stackguard.stack'} & set(sys.modules)))"],
        capture_output=True,
        text=True,
        check=True,
    )
    # `stackguard --help` imports the verify subcommand; it must not pay for asyncio or detection.
    assert probe.stdout.strip() == "[]"
