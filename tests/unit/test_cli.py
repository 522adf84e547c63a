"""The command line: ``stackguard stack``, ``--help``, ``--version``."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from stackguard import __version__
from stackguard.cli import build_parser, main

WORKSPACES = Path(__file__).resolve().parents[1] / "workspaces"


@pytest.fixture
def python_project(tmp_path: Path) -> Path:
    target = tmp_path / "lsp_fastapi"
    shutil.copytree(WORKSPACES / "lsp_fastapi", target)
    return target


def test_stack_text_lists_each_category_with_evidence(python_project: Path, capsys):
    assert main(["stack", str(python_project)]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    lines = out.splitlines()
    assert lines[0] == ".  [detected]  python · fastapi · sqlalchemy · alembic"
    assert "  frameworks:" in lines
    assert "    fastapi  (pyproject.toml:6)" in lines
    assert any(line.startswith("    alembic") and "alembic.ini:2" in line for line in lines)


def test_stack_json_is_the_editor_payload(python_project: Path, capsys):
    assert main(["stack", str(python_project), "--format", "json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["folder"] == str(python_project.resolve())
    [root] = payload["roots"]
    assert root["relativeRoot"] == "."
    assert root["summary"] == "python · fastapi · sqlalchemy · alembic"
    profile = root["profile"]
    assert profile["frameworks"][0]["name"] == "fastapi"
    assert profile["frameworks"][0]["evidence"] == [{"path": "pyproject.toml", "line": 6, "text": '"fastapi>=0.110",'}]
    # camelCase field names, fact details verbatim
    assert "testRunners" in profile and "stackSettings" in profile
    assert profile["orms"][0]["detail"] == {"async": False}


def test_stack_problems_go_to_stderr_and_exit_zero(python_project: Path, capsys, monkeypatch):
    stack_yaml = python_project / "stack" / "stack.yaml"
    stack_yaml.parent.mkdir()
    stack_yaml.write_text("language: python\nframework: [fastapi\norm: sqlalchemy\n")
    monkeypatch.chdir(python_project)
    assert main(["stack"]) == 0
    out, err = capsys.readouterr()
    assert out.startswith(".  [detected]")
    [problem] = err.splitlines()
    assert problem.startswith("stack/stack.yaml:3:")
    assert "invalid YAML" in problem


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_stack_on_a_missing_path_exits_2(tmp_path: Path, capsys, fmt):
    assert main(["stack", str(tmp_path / "nope"), "--format", fmt]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert "does not exist" in err


def test_stack_on_a_file_exits_2(python_project: Path, capsys):
    assert main(["stack", str(python_project / "pyproject.toml")]) == 2
    assert "is not a directory" in capsys.readouterr().err


def test_help_lists_only_real_subcommands(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    subparsers = next(action for action in build_parser()._actions if action.dest == "command")
    assert sorted(subparsers.choices) == ["check", "rules", "serve", "stack", "verify"]
    for name in subparsers.choices:
        assert name in out
    # Each listed subcommand does something: none answers "not implemented".
    for name in subparsers.choices:
        help_text = subparsers.choices[name].format_help()
        assert "not implemented" not in help_text.lower() and "placeholder" not in help_text.lower()


def test_no_subcommand_prints_usage_and_exits_2(capsys):
    assert main([]) == 2
    assert "usage: stackguard" in capsys.readouterr().err


def test_serve_rejects_a_bad_tcp_address(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["serve", "--tcp", "localhost"])
    assert exit_info.value.code == 2
    assert "HOST:PORT" in capsys.readouterr().err


def test_subcommands_plug_in_through_an_adder_function():
    def add_hello_parser(subparsers):
        parser = subparsers.add_parser("hello")
        parser.set_defaults(handler=lambda args: 7)

    parser = build_parser([add_hello_parser])
    args = parser.parse_args(["hello"])
    assert args.handler(args) == 7


def test_python_dash_m_version():
    completed = subprocess.run(
        [sys.executable, "-m", "stackguard", "--version"], capture_output=True, text=True, timeout=60
    )
    assert completed.returncode == 0
    assert completed.stdout.strip() == f"stackguard {__version__}"
