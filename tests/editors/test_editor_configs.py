"""The editor configurations agree with the server they configure: the VS
Code extension's contributed settings and the LSP4IJ schema mirror
stackguard.config (keys, types, defaults); the LSP4IJ template has the
structure LSP4IJ reads and builds into an importable zip; the Helix
languages.toml parses with the expected keys; every settings payload an
editor sends resolves without a settings problem.

No editor is needed here; the real-client tests are test_vscode_e2e.py and
test_nvim_*.py."""

from __future__ import annotations

import fnmatch
import json
import re
import sys
import zipfile
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import tomllib
from editor_tools import EDITORS
from stackguard.config import (
    SEVERITIES,
    _all_setting_keys,
    resolve_settings,
    settings_to_dict,
)
from stackguard.lsp.workspace_state import settings_from_initialization_options

VSCODE_PACKAGE = EDITORS / "vscode" / "package.json"
LSP4IJ = EDITORS / "jetbrains" / "lsp4ij" / "stackguard"
HELIX = EDITORS / "helix" / "languages.toml"
EMACS = EDITORS / "emacs" / "stackguard-eglot.el"

# Read by the editor integration itself, never sent to the server.
VSCODE_CLIENT_ONLY = {"path", "trace.server"}
# Set by editors from their own trust model, not a user setting in VS Code.
EDITOR_PROVIDED = {"trusted"}
# The palette commands and their titles (README.md documents each).
VSCODE_COMMANDS = {
    "stackguard.restart": "Restart Server",
    "stackguard.showDetectedStack": "Show Detected Stack",
    "stackguard.runVerify": "Verify…",
    "stackguard.extractSelectionToService": "Extract to Service",
    "stackguard.promptAddRepositoryMethod": "Add Repository Method…",
    "stackguard.promptGenerateMigration": "Generate Migration…",
    "stackguard.showLogs": "Show Logs",
    "stackguard.showDebugInfo": "Debug Info",
}
# What template.json may contain (LSP4IJ ServerTemplate / template docs).
LSP4IJ_TEMPLATE_KEYS = {
    "id",
    "name",
    "url",
    "dev",
    "programArgs",
    "workingDir",
    "env",
    "fileTypeMappings",
    "languageMappings",
    "expandConfiguration",
}


def _server_keys() -> set[str]:
    resolve_settings([])  # resolves the settings classes' string annotations first
    return set(_all_setting_keys())


def _server_defaults() -> dict[str, Any]:
    """Default value per dotted server setting key."""
    flat: dict[str, Any] = {}

    def walk(value: dict[str, Any], prefix: str) -> None:
        for key, item in value.items():
            dotted = f"{prefix}{key}"
            if isinstance(item, dict) and key not in ("severity", "layers"):
                walk(item, dotted + ".")
            else:
                flat[dotted] = item

    walk(settings_to_dict(resolve_settings([]).settings), "")
    return flat


def _vscode_settings() -> dict[str, dict[str, Any]]:
    properties = json.loads(VSCODE_PACKAGE.read_text())["contributes"]["configuration"][
        "properties"
    ]
    assert all(key.startswith("stackguard.") for key in properties)
    return {key.removeprefix("stackguard."): spec for key, spec in properties.items()}


def _schema_leaves(
    schema: dict[str, Any], prefix: str = ""
) -> dict[str, dict[str, Any]]:
    """Dotted key -> schema of each server setting in the LSP4IJ schema."""
    leaves = {}
    for key, spec in schema["properties"].items():
        dotted = f"{prefix}{key}"
        if spec.get("type") == "object" and "properties" in spec and key != "layers":
            leaves.update(_schema_leaves(spec, dotted + "."))
        else:
            leaves[dotted] = spec
    return leaves


def _assert_no_settings_problems(sources: list[tuple[str, Any]]) -> None:
    problems = resolve_settings(sources).problems
    assert not problems, [str(problem) for problem in problems]


# -- VS Code -------------------------------------------------------------------
def test_vscode_settings_mirror_the_server_settings() -> None:
    contributed = _vscode_settings()
    server_keys = _server_keys()
    assert set(contributed) - VSCODE_CLIENT_ONLY == server_keys - EDITOR_PROVIDED
    defaults = _server_defaults()
    for key, spec in contributed.items():
        if key in VSCODE_CLIENT_ONLY:
            continue
        assert spec.get("default") == defaults[key], (
            f"stackguard.{key}: default differs from the server's"
        )
        assert spec.get("scope") in ("resource", "window", "machine-overridable"), (
            f"stackguard.{key}: scope"
        )
        assert spec.get("description") or spec.get("markdownDescription"), (
            f"stackguard.{key}: no description"
        )
    assert contributed["severity"]["additionalProperties"]["enum"] == list(SEVERITIES)
    assert contributed["logLevel"]["enum"] == ["error", "warning", "info", "debug"]
    # Per-folder settings are resource scoped; the executable is per machine.
    assert contributed["select"]["scope"] == "resource"
    assert contributed["path"]["scope"] == "machine-overridable"


def test_vscode_manifest_commands_and_trust() -> None:
    manifest = json.loads(VSCODE_PACKAGE.read_text())
    commands = {
        command["command"]: command for command in manifest["contributes"]["commands"]
    }
    assert {
        name: command["title"] for name, command in commands.items()
    } == VSCODE_COMMANDS
    assert all(command["category"] == "stackguard" for command in commands.values())
    readme = (EDITORS / "vscode" / "README.md").read_text()
    for title in VSCODE_COMMANDS.values():
        assert title in readme, f"README.md does not document {title!r}"
    trust = manifest["capabilities"]["untrustedWorkspaces"]
    assert trust["supported"] == "limited"
    restricted = {
        key.removeprefix("stackguard.") for key in trust["restrictedConfigurations"]
    }
    assert {
        "path",
        "interpreter",
        "verify.onSave",
        "verify.steps",
        "agent.baseUrl",
        "agent.apiKeyEnv",
    } <= restricted
    assert restricted <= set(_vscode_settings())
    assert "onLanguage:python" in manifest["activationEvents"]
    dependencies = manifest["dependencies"]
    assert dependencies["vscode-languageclient"].startswith("^9")
    assert "@vscode/python-extension" in dependencies
    assert not manifest.get("extensionDependencies"), (
        "the Python extension must stay optional"
    )
    lock = json.loads((EDITORS / "vscode" / "package-lock.json").read_text())
    assert lock["packages"][""]["dependencies"] == dependencies, (
        "package-lock.json is out of date"
    )


def test_vscode_settings_payload_resolves_cleanly() -> None:
    """What the extension sends for a user who set every server setting."""
    contributed = _vscode_settings()
    payload: dict[str, Any] = {"trusted": True}
    for key, spec in contributed.items():
        if key in VSCODE_CLIENT_ONLY:
            continue
        node = payload
        *parents, leaf = key.split(".")
        for parent in parents:
            node = node.setdefault(parent, {})
        node[leaf] = spec["default"]
    payload["severity"] = {"SG201": "error"}
    payload["layers"] = {"service": ["app/domain/**"]}
    _assert_no_settings_problems(
        [
            (
                "initializationOptions",
                settings_from_initialization_options({"settings": payload}),
            )
        ]
    )


# -- JetBrains (LSP4IJ) ----------------------------------------------------------
def _lsp4ij(name: str) -> Any:
    return json.loads((LSP4IJ / name).read_text())


def test_lsp4ij_template_json_structure() -> None:
    template = _lsp4ij("template.json")
    assert set(template) <= LSP4IJ_TEMPLATE_KEYS, set(template) - LSP4IJ_TEMPLATE_KEYS
    assert template["id"] == "stackguard" and re.fullmatch(
        r"[a-z0-9-]+", template["id"]
    )
    assert template["name"]
    program = template["programArgs"]
    assert (
        set(program) <= {"default", "windows", "mac", "unix"} and "default" in program
    )
    assert all(
        value.split()[1:] == ["serve", "--stdio"] for value in program.values()
    ), program
    mappings = template["fileTypeMappings"]
    assert isinstance(mappings, list) and mappings
    by_language: dict[str, list[str]] = {}
    for mapping in mappings:
        assert set(mapping) == {"fileType", "languageId"}, mapping
        file_type = mapping["fileType"]
        assert set(file_type) <= {"name", "patterns"} and file_type, mapping
        patterns = file_type.get("patterns", [])
        assert isinstance(patterns, list) and all(
            isinstance(p, str) and p for p in patterns
        )
        by_language.setdefault(mapping["languageId"], []).extend(patterns)
        if "name" in file_type:
            assert isinstance(file_type["name"], str) and file_type["name"]
    python_mapping = next(m for m in mappings if m["languageId"] == "python")
    assert python_mapping["fileType"].get("name") == "Python"

    def mapped(filename: str) -> str | None:
        return next(
            (
                lang
                for lang, pats in by_language.items()
                if any(fnmatch.fnmatch(filename, p) for p in pats)
            ),
            None,
        )

    assert mapped("views.py") == "python"
    assert mapped("pyproject.toml") == "toml"
    assert mapped("stack.yaml") == "yaml"
    assert mapped("docker-compose.prod.yml") == "yaml"
    assert mapped("requirements-dev.txt") == "pip-requirements"
    assert mapped("alembic.ini") == "ini"
    assert mapped("notes.txt") is None


def test_lsp4ij_settings_validate_against_the_schema_and_the_server() -> None:
    schema = _lsp4ij("settings.schema.json")
    jsonschema.Draft7Validator.check_schema(schema)
    settings = _lsp4ij("settings.json")
    jsonschema.validate(settings, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"stackguard": {"severity": {"SG201": "fatal"}}}, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"stackguard": {"selct": []}}, schema)
    # LSP4IJ answers workspace/configuration for "stackguard" with this object.
    init_options = _lsp4ij("initializationOptions.json")
    _assert_no_settings_problems(
        [
            (
                "initializationOptions",
                settings_from_initialization_options(init_options),
            ),
            ("workspace/configuration", settings["stackguard"]),
        ]
    )


def test_lsp4ij_schema_mirrors_the_server_settings() -> None:
    leaves = _schema_leaves(_lsp4ij("settings.schema.json")["properties"]["stackguard"])
    assert set(leaves) == _server_keys() - EDITOR_PROVIDED
    defaults = _server_defaults()
    vscode = _vscode_settings()
    for key, spec in leaves.items():
        assert spec.get("default") == defaults[key], (
            f"{key}: default differs from the server's"
        )
        assert spec.get("type") == vscode[key]["type"], (
            f"{key}: type differs from the VS Code setting"
        )
        assert spec.get("enum") == vscode[key].get("enum"), key


def test_lsp4ij_template_zip_builds(tmp_path: Path) -> None:
    sys.path.insert(0, str(EDITORS / "jetbrains"))
    try:
        import build_lsp4ij_template
    finally:
        sys.path.remove(str(EDITORS / "jetbrains"))
    output = build_lsp4ij_template.build(tmp_path / "out" / "stackguard.zip")
    with zipfile.ZipFile(output) as archive:
        names = sorted(archive.namelist())
        assert names == sorted(
            f"stackguard/{name}" for name in build_lsp4ij_template.TEMPLATE_FILES
        )
        for name in names:
            if name.endswith(".json"):
                assert json.loads(archive.read(name)) == json.loads(
                    (LSP4IJ / Path(name).name).read_text()
                )
    # A broken template file stops the build instead of shipping.
    broken = tmp_path / "broken" / "stackguard"
    broken.mkdir(parents=True)
    for name in build_lsp4ij_template.TEMPLATE_FILES:
        (broken / name).write_text((LSP4IJ / name).read_text())
    (broken / "settings.json").write_text("{ not json")
    with pytest.raises(ValueError, match="settings.json"):
        build_lsp4ij_template.build(tmp_path / "broken.zip", broken)


# -- Helix, Emacs ----------------------------------------------------------------
def test_helix_languages_toml() -> None:
    config = tomllib.loads(HELIX.read_text())
    server = config["language-server"]["stackguard"]
    assert server["command"] == "stackguard"
    assert server["args"] == ["serve", "--stdio"]
    # Helix sends `config` as initializationOptions: the server reads "settings".
    assert set(server["config"]) == {"settings"}
    _assert_no_settings_problems(
        [
            (
                "initializationOptions",
                settings_from_initialization_options(server["config"]),
            )
        ]
    )
    languages = {language["name"]: language for language in config["language"]}
    python_servers = languages["python"]["language-servers"]
    assert "stackguard" in python_servers and python_servers[0] != "stackguard", (
        "the Python server stays first"
    )
    for name in ("toml", "yaml"):
        assert "stackguard" in languages[name]["language-servers"]


def _lisp_balanced(text: str) -> bool:
    depth, in_string, escaped, in_comment = 0, False, False, False
    for char in text:
        if in_comment:
            in_comment = char != "\n"
        elif in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == ";":
            in_comment = True
        elif char == '"':
            in_string = True
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth < 0:
                return False
    return depth == 0 and not in_string


def test_emacs_eglot_snippet_is_well_formed() -> None:
    text = EMACS.read_text()
    assert _lisp_balanced(text)
    assert '"stackguard" "serve" "--stdio"' in text
    assert ":workspace/executeCommand" in text and "(vector argument)" in text
    assert "(provide 'stackguard-eglot)" in text
