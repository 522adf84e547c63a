"""Settings precedence and invalid-value handling (server/stackguard/config.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from stackguard.config import (
    AgentSettings,
    Settings,
    find_pyproject,
    read_pyproject_settings,
    resolve_settings,
    settings_to_dict,
)


def problem_keys(resolved) -> list[str]:
    return [problem.key for problem in resolved.problems]


def test_no_sources_gives_defaults_from_default_source():
    resolved = resolve_settings([])
    assert resolved.settings == Settings()
    assert resolved.problems == ()
    assert set(resolved.sources.values()) == {"default"}
    # Every leaf setting is listed, in the editor's camelCase spelling.
    assert {"select", "agent.apiKeyEnv", "diagnostics.debounceMs", "verify.timeoutSeconds"} <= set(resolved.sources)


@pytest.mark.parametrize(
    "raw",
    [
        {"diagnostics": {"debounceMs": 300}, "agent": {"maxTurns": 3, "apiKeyEnv": "MY_KEY"}},
        {"diagnostics": {"debounce_ms": 300}, "agent": {"max_turns": 3, "api_key_env": "MY_KEY"}},
    ],
    ids=["camelCase", "snake_case"],
)
def test_camel_and_snake_keys_are_equivalent(raw):
    resolved = resolve_settings([("editor", raw)])
    assert resolved.problems == ()
    assert resolved.settings.diagnostics.debounce_ms == 300
    assert resolved.settings.agent.max_turns == 3
    assert resolved.settings.agent.api_key_env == "MY_KEY"
    assert resolved.sources["diagnostics.debounceMs"] == "editor"
    assert resolved.sources["agent.apiKeyEnv"] == "editor"


def test_later_sources_win_and_nested_sections_merge_deeply():
    resolved = resolve_settings(
        [
            ("pyproject.toml", {"select": ["SG1"], "agent": {"model": "claude-x", "maxTurns": 4}}),
            ("initializationOptions", {"agent": {"enabled": False}}),
            ("workspace/configuration", {"agent": {"maxTurns": 8}, "ignore": ["SG205"]}),
        ]
    )
    settings = resolved.settings
    assert resolved.problems == ()
    # Keys from every layer survive the merge of the "agent" table...
    assert settings.agent == AgentSettings(enabled=False, model="claude-x", max_turns=8)
    assert settings.select == ["SG1"]
    assert settings.ignore == ["SG205"]
    # ...and each leaf remembers which layer set it.
    assert resolved.sources["select"] == "pyproject.toml"
    assert resolved.sources["agent.model"] == "pyproject.toml"
    assert resolved.sources["agent.enabled"] == "initializationOptions"
    assert resolved.sources["agent.maxTurns"] == "workspace/configuration"
    assert resolved.sources["ignore"] == "workspace/configuration"
    assert resolved.sources["agent.baseUrl"] == "default"


def test_none_sources_are_skipped():
    resolved = resolve_settings([("pyproject.toml", None), ("editor", {"exclude": ["build/**"]}), ("other", None)])
    assert resolved.problems == ()
    assert resolved.settings.exclude == ["build/**"]


def test_unknown_keys_are_reported_and_the_rest_kept():
    resolved = resolve_settings([("editor", {"selectt": ["SG1"], "agent": {"modle": "x"}, "ignore": ["SG101"]})])
    assert resolved.settings.ignore == ["SG101"]
    assert resolved.settings.select == []
    assert sorted(problem_keys(resolved)) == ["agent.modle", "selectt"]
    assert all("unknown setting" in problem.message for problem in resolved.problems)
    assert all(problem.source == "editor" for problem in resolved.problems)


@pytest.mark.parametrize(
    ("raw", "key", "text"),
    [
        ({"select": "SG101"}, "select", "expected a list"),
        ({"diagnostics": {"debounceMs": "fast"}}, "diagnostics.debounceMs", "whole number"),
        ({"diagnostics": {"debounceMs": True}}, "diagnostics.debounceMs", "whole number"),
        ({"verify": {"timeoutSeconds": -1}}, "verify.timeoutSeconds", ">= 0"),
        ({"verify": {"onSave": 1}}, "verify.onSave", "true or false"),
        ({"logLevel": "loud"}, "logLevel", "expected one of"),
        ({"severity": "error"}, "severity", "expected an object"),
        ({"agent": True}, "agent", "expected an object"),
        ({"select": ["SG101", 3]}, "select", "expected text, got 3"),
        ({"agent": {"model": 5}}, "agent.model", "expected text, got 5"),
    ],
)
def test_bad_types_fall_back_to_the_default_with_a_problem(raw, key, text):
    resolved = resolve_settings([("editor", {**raw, "exclude": ["kept/**"]})])
    assert problem_keys(resolved) == [key]
    assert text in resolved.problems[0].message
    assert resolved.problems[0].source == "editor"
    # The valid value next to the bad one is kept; the bad one is the default.
    assert resolved.settings.exclude == ["kept/**"]
    default = settings_to_dict(Settings())
    effective = settings_to_dict(resolved.settings)
    head, _, leaf = key.partition(".")
    assert (effective[head][leaf] if leaf else effective[head]) == (default[head][leaf] if leaf else default[head])


def test_a_rejected_value_is_not_credited_to_its_source():
    resolved = resolve_settings(
        [("pyproject.toml", {"agent": {"model": "claude-x"}}), ("editor", {"diagnostics": {"debounceMs": "fast"}})]
    )
    assert resolved.sources["diagnostics.debounceMs"] == "default"
    assert resolved.sources["agent.model"] == "pyproject.toml"


def test_severity_keeps_valid_codes_and_reports_the_others():
    resolved = resolve_settings([("editor", {"severity": {"SG101": "error", "SG201": "hint", "SG102": "loud"}})])
    assert resolved.settings.severity == {"SG101": "error", "SG201": "hint"}
    assert problem_keys(resolved) == ["severity.SG102"]
    assert "'loud'" in resolved.problems[0].message


def test_layers_with_unknown_layer_names_are_reported():
    resolved = resolve_settings([("editor", {"layers": {"router": ["app/api/**"], "controllers": ["app/ctl/**"]}})])
    assert problem_keys(resolved) == ["layers"]
    message = resolved.problems[0].message
    assert "controllers" in message and "router" in message  # names the bad layer and the known ones
    # Unknown layer names make the whole mapping fall back to the default.
    assert resolved.settings.layers == {}


def test_layers_with_known_names_are_accepted():
    layers = {"router": ["app/api/**"], "repository": ["app/repos/**"]}
    resolved = resolve_settings([("editor", {"layers": layers})])
    assert resolved.problems == ()
    assert resolved.settings.layers == layers


@pytest.mark.parametrize("raw", [["select"], "select=SG1", 42])
def test_a_source_that_is_not_an_object_is_reported_and_skipped(raw):
    resolved = resolve_settings(
        [("pyproject.toml", {"select": ["SG1"]}), ("initializationOptions", raw)]
    )
    assert resolved.settings.select == ["SG1"]
    assert [(p.source, p.key) for p in resolved.problems] == [("initializationOptions", "")]
    assert "expected an object" in resolved.problems[0].message


def test_settings_to_dict_is_camel_case_with_codes_verbatim():
    resolved = resolve_settings([("editor", {"severity": {"SG101": "warning"}, "layers": {"service": ["svc/**"]}})])
    data = settings_to_dict(resolved.settings)
    assert data["agent"]["apiKeyEnv"] == "ANTHROPIC_API_KEY"
    assert data["diagnostics"]["debounceMs"] == 150
    assert data["severity"] == {"SG101": "warning"}
    assert data["layers"] == {"service": ["svc/**"]}
    # The dict form round-trips through resolve_settings unchanged.
    assert resolve_settings([("again", data)]).settings == resolved.settings


def test_read_pyproject_settings(tmp_path: Path):
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text('[tool.stackguard]\nselect = ["SG1"]\n[tool.stackguard.agent]\nmaxTurns = 2\n')
    section, problem = read_pyproject_settings(pyproject)
    assert problem is None
    assert section == {"select": ["SG1"], "agent": {"maxTurns": 2}}


def test_read_pyproject_without_section(tmp_path: Path):
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text('[project]\nname = "x"\n')
    assert read_pyproject_settings(pyproject) == (None, None)


def test_read_pyproject_invalid_toml_is_a_problem(tmp_path: Path):
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text("[tool.stackguard\nselect = 1\n")
    section, problem = read_pyproject_settings(pyproject)
    assert section is None
    assert problem is not None and "invalid TOML" in problem.message
    assert problem.source == str(pyproject)


def test_read_pyproject_section_not_a_table(tmp_path: Path):
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text('[tool]\nstackguard = "on"\n')
    section, problem = read_pyproject_settings(pyproject)
    assert section is None
    assert problem is not None and problem.key == "tool.stackguard"


def test_read_pyproject_missing_file_is_a_problem(tmp_path: Path):
    section, problem = read_pyproject_settings(tmp_path / "missing.toml")
    assert section is None
    assert problem is not None and "cannot read" in problem.message


def test_find_pyproject_stops_at_the_workspace(tmp_path: Path):
    (tmp_path / "pyproject.toml").write_text("")
    project = tmp_path / "ws" / "pkg"
    project.mkdir(parents=True)
    assert find_pyproject(project) == tmp_path / "pyproject.toml"
    assert find_pyproject(project, stop_at=tmp_path / "ws") is None
    (project / "pyproject.toml").write_text("")
    assert find_pyproject(project / "module.py", stop_at=tmp_path / "ws") == project / "pyproject.toml"
