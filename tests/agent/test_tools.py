"""The model's tools: the path fence (``..``, absolute paths, symlinks that
escape, credential files), size caps, and each tool's answers."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from agent_support import make_analyzer
from stackguard.agent.tools import (
    MAX_LIST_ENTRIES,
    MAX_RESULT_CHARS,
    TOOL_SPECS,
    PathGuard,
    ToolBox,
    ToolError,
)

REPOSITORY = "app/repositories/users.py"


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    secret = tmp_path / "outside" / "secret.txt"
    secret.parent.mkdir()
    secret.write_text("TOP-SECRET-OUTSIDE-THE-PROJECT\n")
    return secret


@pytest.fixture
def toolbox(shop: Path) -> ToolBox:
    analyzer = make_analyzer(shop)
    from stackguard.agent.proposal import findings_for_text

    return ToolBox(shop, index=analyzer.index, findings_for=lambda rel, text: findings_for_text(analyzer, analyzer.index, rel, text))


@pytest.mark.parametrize(
    "path",
    ["../outside/secret.txt", "app/../../outside/secret.txt", "..", "app/..", "./../outside/secret.txt", "..\\outside\\secret.txt"],
)
def test_parent_references_are_refused(toolbox: ToolBox, outside: Path, path: str):
    result = toolbox.call("read_file", {"path": path})
    assert result.is_error and "'..' is not allowed" in result.content
    assert "TOP-SECRET" not in result.content


def test_absolute_paths_only_inside_the_root(toolbox: ToolBox, shop: Path, outside: Path):
    refused = toolbox.call("read_file", {"path": str(outside)})
    assert refused.is_error and "outside the project" in refused.content
    assert toolbox.call("read_file", {"path": "/etc/passwd"}).is_error
    inside = toolbox.call("read_file", {"path": str(shop / REPOSITORY), "start_line": 1, "end_line": 1})
    assert not inside.is_error and "from sqlalchemy import select, text" in inside.content


def test_symlinks_that_escape_are_refused(toolbox: ToolBox, shop: Path, outside: Path):
    (shop / "app" / "leak.py").symlink_to(outside)
    (shop / "linked_dir").symlink_to(outside.parent, target_is_directory=True)
    (shop / "app" / "loop.py").symlink_to(shop / "app" / "loop.py")
    for path in ("app/leak.py", "linked_dir/secret.txt"):
        result = toolbox.call("read_file", {"path": path})
        assert result.is_error and "resolves outside the project" in result.content, path
        assert "TOP-SECRET" not in result.content
    assert toolbox.call("read_file", {"path": "app/loop.py"}).is_error
    listed = toolbox.call("list_files", {"glob": "**/*"}).content
    assert "leak.py" not in listed and "linked_dir" not in listed and "app/models.py" in listed
    assert toolbox.call("search", {"pattern": "SECRET-OUTSIDE"}).content == "no matches for 'SECRET-OUTSIDE'"
    # A symlink that stays inside the project is fine.
    (shop / "app" / "alias.py").symlink_to(shop / REPOSITORY)
    assert "class UserRepository" in toolbox.call("read_file", {"path": "app/alias.py"}).content


def test_credential_files_are_never_read(toolbox: ToolBox, shop: Path):
    (shop / ".env").write_text("DATABASE_PASSWORD=hunter2\n")
    (shop / ".env.example").write_text("DATABASE_PASSWORD=\n")
    (shop / "deploy.pem").write_text("-----BEGIN PRIVATE KEY-----\n")
    (shop / ".git").mkdir()
    (shop / ".git" / "config").write_text("[remote]\n")
    for path in (".env", "deploy.pem", ".git/config"):
        result = toolbox.call("read_file", {"path": path})
        assert result.is_error and "credentials" in result.content
    assert toolbox.call("search", {"pattern": "hunter2", "glob": "**/*"}).content == "no matches for 'hunter2'"
    assert toolbox.call("search", {"pattern": "DATABASE_PASSWORD"}).content == ".env.example:1: DATABASE_PASSWORD="
    assert ".env\n" not in toolbox.call("list_files", {"glob": "*"}).content + "\n"
    assert not toolbox.call("read_file", {"path": ".env.example"}).is_error


def test_read_file_numbers_lines_and_reads_ranges(toolbox: ToolBox):
    whole = toolbox.call("read_file", {"path": REPOSITORY})
    assert whole.content.startswith(f"{REPOSITORY} (lines 1-22 of 22)\n")
    assert " 7\tclass UserRepository:" in whole.content
    part = toolbox.call("read_file", {"path": REPOSITORY, "start_line": 16, "end_line": 17})
    assert part.content.splitlines()[1:] == [
        "16\t    def find_by_email(self, email: str) -> User | None:",
        "17\t        row = self.session.execute(text(f\"SELECT id FROM users WHERE email = '{email}'\")).first()",
    ]
    assert toolbox.call("read_file", {"path": REPOSITORY, "start_line": 99}).is_error
    assert toolbox.call("read_file", {"path": REPOSITORY, "start_line": "1"}).is_error
    assert toolbox.call("read_file", {"path": "app/missing.py"}).content == "read_file: app/missing.py does not exist"
    assert "is a folder" in toolbox.call("read_file", {"path": "app"}).content


def test_reads_are_capped_and_binary_is_refused(toolbox: ToolBox, shop: Path):
    (shop / "big.py").write_text("".join(f"value_{n} = {'x' * 90!r}\n" for n in range(2000)))
    result = toolbox.call("read_file", {"path": "big.py"})
    assert len(result.content) <= MAX_RESULT_CHARS + 200
    assert "read on with start_line=" in result.content
    (shop / "blob.bin").write_bytes(b"\x00\x01binary")
    assert "binary" in toolbox.call("read_file", {"path": "blob.bin"}).content
    (shop / "huge.txt").write_bytes(b"a" * 2_100_000)
    assert "over the" in toolbox.call("read_file", {"path": "huge.txt"}).content


def test_overlay_text_wins_over_disk(shop: Path):
    box = ToolBox(shop, overlay={REPOSITORY: "# unsaved edit\n"})
    assert box.call("read_file", {"path": REPOSITORY}).content.endswith("1\t# unsaved edit")


def test_list_files_globs_and_skips_environments(toolbox: ToolBox, shop: Path):
    (shop / ".venv" / "lib").mkdir(parents=True)
    (shop / ".venv" / "lib" / "site.py").write_text("x = 1\n")
    (shop / "node_modules").mkdir()
    (shop / "node_modules" / "x.py").write_text("")
    listed = toolbox.call("list_files", {"glob": "**/*.py"}).content.splitlines()
    assert "app/repositories/users.py" in listed and "app/main.py" in listed
    assert not any(p.startswith((".venv", "node_modules")) for p in listed)
    assert toolbox.call("list_files", {"glob": "app/*.py"}).content.splitlines() == ["app/__init__.py", "app/main.py", "app/models.py"]
    assert toolbox.call("list_files", {"glob": "app/**/users.py"}).content.splitlines() == [
        "app/repositories/users.py",
        "app/routers/users.py",
    ]
    assert toolbox.call("list_files", {"glob": "../*"}).is_error
    assert toolbox.call("list_files", {"glob": "nothing/*"}).content == "no files match 'nothing/*'"


def test_list_files_is_capped(toolbox: ToolBox, shop: Path):
    many = shop / "many"
    many.mkdir()
    for n in range(MAX_LIST_ENTRIES + 5):
        (many / f"f{n:04d}.txt").write_text("")
    result = toolbox.call("list_files", {"glob": "many/*"}).content
    assert result.endswith("… and 5 more; narrow the glob")


def test_search_regex_literal_fallback_and_glob(toolbox: ToolBox):
    found = toolbox.call("search", {"pattern": r"def (add|find_by_email)\b", "glob": "app/**/*.py"}).content.splitlines()
    assert found == [
        "app/repositories/users.py:11: def add(self, user: User) -> User:",
        "app/repositories/users.py:16: def find_by_email(self, email: str) -> User | None:",
    ]
    literal = toolbox.call("search", {"pattern": "text(f\"SELECT", "glob": "**/*.py"}).content
    assert literal.startswith("(not a valid regular expression")
    assert "app/repositories/users.py:17:" in literal
    assert toolbox.call("search", {"pattern": ""}).is_error
    assert toolbox.call("search", {"pattern": "x" * 600}).is_error


def test_find_symbol_uses_the_index_and_finds_methods(toolbox: ToolBox):
    model = toolbox.call("find_symbol", {"name": "User"}).content
    assert model.startswith("model User (sqlalchemy) in app/models.py:")
    assert "table 'users'" in model and "app/models.py:" in model
    method = toolbox.call("find_symbol", {"name": "find_by_email"}).content
    assert method.splitlines()[0] == "app/repositories/users.py:16"
    assert "return self.session.get(User, row.id) if row else None" in method
    assert toolbox.call("find_symbol", {"name": "nope_nothing"}).content == "no definition of 'nope_nothing' found"
    assert toolbox.call("find_symbol", {"name": "a; rm -rf /"}).is_error


def test_get_findings_reports_stackguards_diagnostics(toolbox: ToolBox):
    result = toolbox.call("get_findings", {"path": REPOSITORY}).content
    assert "app/repositories/users.py:17:" in result and "error SG201" in result
    assert "SG105" in result
    assert toolbox.call("get_findings", {"path": "pyproject.toml"}).is_error
    assert toolbox.call("get_findings", {"path": "../x.py"}).is_error


@pytest.mark.parametrize(
    ("name", "arguments", "message"),
    [
        ("run_shell", {"command": "ls"}, "unknown tool 'run_shell'"),
        ("read_file", ["not", "an", "object"], "input must be a JSON object"),
        ("read_file", {}, "path must be a non-empty string"),
        ("read_file", {"path": 7}, "path must be a non-empty string"),
        ("read_file", {"path": "a\x00b"}, "NUL"),
        ("list_files", {"glob": 3}, "glob must be a non-empty glob"),
    ],
)
def test_unknown_tools_and_malformed_input_are_errors_not_crashes(toolbox: ToolBox, name, arguments, message):
    result = toolbox.call(name, arguments)
    assert result.is_error and message in result.content


def test_tool_specs_have_no_shell_and_valid_schemas():
    names = [spec["name"] for spec in TOOL_SPECS]
    assert names == ["read_file", "list_files", "search", "find_symbol", "get_findings", "propose_edits"]
    for spec in TOOL_SPECS:
        assert spec["input_schema"]["type"] == "object" and spec["description"]


def test_path_guard_keeps_the_logical_path(tmp_path: Path):
    real = tmp_path / "real"
    (real / "pkg").mkdir(parents=True)
    alias = tmp_path / "alias"
    os.symlink(real, alias)
    guard = PathGuard(alias)
    path, relative = guard.resolve("pkg/mod.py")
    assert relative == "pkg/mod.py" and path == alias / "pkg" / "mod.py"
    assert guard.resolve(str(real / "pkg" / "mod.py"))[1] == "pkg/mod.py"
    with pytest.raises(ToolError):
        guard.resolve(".")
