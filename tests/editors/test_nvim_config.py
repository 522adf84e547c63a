"""editors/nvim/lsp/stackguard.lua (Neovim >= 0.11) and the nvim-lspconfig
contribution, checked by running them: tests/editors/nvim_config_check.lua
loads each file in Debian's Neovim with a fake client, attaches it, runs
every user command and records what reaches client:exec_cmd()."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from editor_tools import EDITORS, describe, nvim

pytestmark = pytest.mark.e2e

CHECK = Path(__file__).resolve().parent / "nvim_config_check.lua"
NATIVE_CONFIG = EDITORS / "nvim" / "lsp" / "stackguard.lua"
LSPCONFIG_CONTRIBUTION = EDITORS / "nvim" / "lspconfig" / "lsp" / "stackguard.lua"
EXPECTED_MARKERS = [
    "pyproject.toml",
    "requirements.txt",
    "manage.py",
    "alembic.ini",
    "package.json",
    "go.mod",
    ".git",
]
REFACTOR_AND_VERIFY_COMMANDS = {
    "LspStackguardVerify",
    "LspStackguardShowStack",
    "LspStackguardExtractToService",
    "LspStackguardAddRepositoryMethod",
    "LspStackguardGenerateMigration",
}


def _project(tmp_path: Path) -> tuple[Path, Path]:
    root = tmp_path / "project"
    (root / "stack").mkdir(parents=True)
    (root / "stack" / "stack.yaml").write_text("language: python\nframework: fastapi\n")
    (root / "app").mkdir()
    (root / "app" / "repo.py").write_text("import os\n\n\nclass Repo:\n    pass\n\n")
    other = tmp_path / "other"
    (other / "stack").mkdir(parents=True)  # a folder named stack without stack.yaml
    return root, other


def _check(config: Path, tmp_path: Path) -> tuple[dict[str, Any], Path]:
    root, other = _project(tmp_path)
    result = tmp_path / "report.json"
    env = dict(os.environ)
    env.update(
        {
            "SG_CONFIG": str(config),
            "SG_RUNTIME": str(EDITORS / "nvim"),
            "SG_ROOT": str(root),
            "SG_OTHER": str(other),
            "SG_RESULT": str(result),
            "XDG_STATE_HOME": str(tmp_path / "state"),
            "XDG_DATA_HOME": str(tmp_path / "data"),
            "XDG_CONFIG_HOME": str(tmp_path / "config"),
        }
    )
    completed = subprocess.run(
        [nvim(), "--headless", "--clean", "-n", "-i", "NONE", "-c", f"luafile {CHECK}"],
        env=env,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=60,
        cwd=tmp_path,
        check=False,
    )
    report = json.loads(result.read_text()) if result.exists() else None
    assert completed.returncode == 0 and report and report["ok"], (
        f"{report}\n{describe(completed)}"
    )
    return report, root


def _calls(report: dict[str, Any]) -> list[tuple[str, Any]]:
    return [
        (call["command"], json.loads(call["arguments_json"]))
        for call in report["calls"]
    ]


def _assert_command_arguments(
    report: dict[str, Any], root: Path, *, prompts: bool
) -> list[tuple[str, Any]]:
    """The argument objects each user command sends: the shapes
    tests/editors/test_editor_commands_lsp.py sends to the real server.
    ``prompts``: the config asks for a description that was not typed."""
    folder = report["folder"]
    uri = report["uri"]
    calls = _calls(report)
    assert all(call["bufnr_matches"] for call in report["calls"]), report["calls"]
    assert all(call["title"] for call in report["calls"]), "exec_cmd needs a title"
    lines_3_to_5 = {
        "start": {"line": 2, "character": 0},
        "end": {"line": 5, "character": 0},
    }
    expected = [
        ("stackguard.verify", [{"folder": folder}]),
        ("stackguard.verify", [{"folder": folder, "steps": ["lint", "tests"]}]),
        ("stackguard.showStack", [{"folder": folder}]),
        (
            "stackguard.extractToService",
            [
                {
                    "uri": uri,
                    "range": {
                        "start": {"line": 1, "character": 0},
                        "end": {"line": 4, "character": 0},
                    },
                }
            ],
        ),
        # Without a selected query nothing is sent (a warning instead).
        (
            "stackguard.addRepositoryMethod",
            [
                {
                    "uri": uri,
                    "range": lines_3_to_5,
                    "description": "list newest orders first",
                }
            ],
        ),
        (
            "stackguard.addRepositoryMethod",
            [
                {
                    "uri": uri,
                    "range": lines_3_to_5,
                    "description": "find orders by customer email",
                }
                if prompts
                else {"uri": uri, "range": lines_3_to_5}
            ],
        ),
    ]
    expected += [
        (
            "stackguard.generateMigration",
            [{"folder": folder, "message": "add order status"}],
        ),
        (
            "stackguard.generateMigration",
            [{"folder": folder, "message": "rename column"}],
        ),
    ]
    assert calls[: len(expected)] == expected
    assert any("select the query" in message for message in report["notified"])
    assert folder == root.as_uri()
    return calls


def test_native_config_declares_what_neovim_needs(tmp_path: Path) -> None:
    report, root = _check(NATIVE_CONFIG, tmp_path)
    assert report["cmd"] == ["stackguard", "serve", "--stdio"]
    assert "python" in report["filetypes"] and {"toml", "yaml"} <= set(
        report["filetypes"]
    )
    # stack/stack.yaml first (a function marker), then the manifests, .git last.
    assert report["root_markers"] == ["<function>", *EXPECTED_MARKERS]
    assert report["function_markers"] == [
        {"stack_in_project": True, "stack_in_other": False, "other_name": False}
    ]
    assert report["found_root"] == str(root)
    # workspace/configuration answers settings.stackguard: an object, never [].
    assert json.loads(report["settings_json"]) == {"stackguard": {}}
    assert report["handlers"] == ["stackguard/stack", "stackguard/verifyOutput"]


def test_native_config_user_commands_call_exec_cmd(tmp_path: Path) -> None:
    report, root = _check(NATIVE_CONFIG, tmp_path)
    assert report["errors"] == []
    assert REFACTOR_AND_VERIFY_COMMANDS | {"LspStackguardDebugInfo"} == set(
        report["commands"]
    )
    assert report["commands"]["LspStackguardExtractToService"]["range"]
    calls = _assert_command_arguments(report, root, prompts=True)
    # debugInfo takes an empty object, sent as {} (an empty Lua table is []).
    assert calls[-1] == ("stackguard.debugInfo", [{}])
    # Step names offered by :LspStackguardVerify come from stackguard/stack.
    assert report["verify_completion"] == ["lint", "tests"]
    assert "[lint] app/repo.py:1:1: F401 unused import" in report["verify_buffer"]


def test_lspconfig_contribution(tmp_path: Path) -> None:
    report, root = _check(LSPCONFIG_CONTRIBUTION, tmp_path)
    assert report["errors"] == []
    text = LSPCONFIG_CONTRIBUTION.read_text()
    # nvim-lspconfig's conventions: a ---@brief doc block, a vim.lsp.Config
    # table, plain string root markers, no off-spec handlers, buffer-local
    # :Lsp-prefixed commands created in on_attach that go through
    # client:exec_cmd() and do not alias code actions.
    assert text.startswith("---@brief")
    assert "---@type vim.lsp.Config" in text
    assert report["cmd"] == ["stackguard", "serve", "--stdio"]
    assert report["filetypes"] == ["python"]
    assert report["root_markers"] == EXPECTED_MARKERS
    assert report["handlers"] == []
    assert json.loads(report["settings_json"]) == {"stackguard": {}}
    assert set(report["commands"]) == REFACTOR_AND_VERIFY_COMMANDS
    assert all(name.startswith("LspStackguard") for name in report["commands"])
    assert "nvim_buf_create_user_command(bufnr," in text and "client:exec_cmd(" in text
    assert "fixAll" not in text and "code_action" not in text
    _assert_command_arguments(report, root, prompts=False)
