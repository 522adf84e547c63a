"""How ``stackguard check`` prints findings: ``text``, ``json`` and ``sarif``.

Every format uses 1-based lines and columns and paths relative to the
directory the command ran in, with forward slashes. Columns count code
points (what ``Finding`` carries); end columns point one past the last
character, as SARIF's ``endColumn`` does, so ``end_column - column`` is the
length of a one-line range.

Plain data in, a string out: no I/O here, so every shape is testable.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

from stackguard import __version__
from stackguard.rules import Finding, Rule, rule_by_code

FORMATS = ("text", "json", "sarif")

# The keys of one JSON finding, in order; the public CI contract.
JSON_KEYS = (
    "path",
    "line",
    "column",
    "end_line",
    "end_column",
    "code",
    "name",
    "severity",
    "message",
    "layer",
    "fixable",
)

SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
SARIF_LEVELS = {"error": "error", "warning": "warning", "info": "note", "hint": "note"}
INFORMATION_URI = "https://github.com/stackguard/stackguard"


def display_path(path: str | Path, cwd: str | Path) -> str:
    """``path`` relative to ``cwd`` with forward slashes (``../x`` when it is
    outside; absolute only when no relative path exists, e.g. another drive)."""
    try:
        relative = os.path.relpath(path, cwd)
    except ValueError:
        relative = str(path)
    return relative.replace(os.sep, "/")


def finding_key(finding: Finding, cwd: str | Path) -> tuple[str, int, int, str]:
    return (display_path(finding.path, cwd), finding.line, finding.column, finding.code)


def sort_findings(findings: Iterable[Finding], cwd: str | Path) -> list[Finding]:
    return sorted(findings, key=lambda f: finding_key(f, cwd))


def format_text(findings: Sequence[Finding], cwd: str | Path) -> str:
    """``path:line:col: CODE message``, one finding a line."""
    return "".join(
        f"{display_path(f.path, cwd)}:{f.line}:{f.column + 1}: {f.code} {f.message}\n" for f in findings
    )


def finding_to_json(finding: Finding, cwd: str | Path) -> dict[str, Any]:
    return {
        "path": display_path(finding.path, cwd),
        "line": finding.line,
        "column": finding.column + 1,
        "end_line": finding.end_line,
        "end_column": finding.end_column + 1,
        "code": finding.code,
        "name": finding.name,
        "severity": finding.severity,
        "message": finding.message,
        "layer": finding.layer,
        "fixable": finding.fixable,
    }


def format_json(findings: Sequence[Finding], cwd: str | Path) -> str:
    return json.dumps([finding_to_json(f, cwd) for f in findings], indent=2) + "\n"


def _uri(relative: str) -> str:
    # A relative URI reference: percent-encode what is not allowed in a path.
    return quote(relative, safe="/-._~!$&'()*+,;=:@")


def sarif_rule(rule: type[Rule]) -> dict[str, Any]:
    from stackguard.rules_cli import one_line_summary

    doc = rule.doc()
    what = doc.sections.get("What it does", doc.summary)
    return {
        "id": rule.code,
        "name": rule.name,
        "shortDescription": {"text": one_line_summary(rule) or rule.name},
        "fullDescription": {"text": what or doc.summary or rule.name, "markdown": what or doc.summary or rule.name},
        "help": {"text": doc.markdown, "markdown": doc.markdown},
        "helpUri": doc.url,
        "defaultConfiguration": {"level": SARIF_LEVELS[rule.default_severity]},
        "properties": {
            "tags": sorted(rule.layers) if rule.layers else [],
            "fixable": bool(rule.fix_title and rule.fix_safe),
        },
    }


def format_sarif(
    findings: Sequence[Finding],
    rules: Sequence[type[Rule]],
    cwd: str | Path,
    notices: Sequence[tuple[str, str]] = (),
) -> str:
    """A SARIF 2.1.0 log with one run. ``rules`` are the enabled rules (the
    run's ``tool.driver.rules``); ``notices`` are ``(path, message)`` pairs
    reported as tool execution notifications (files that were skipped)."""
    ordered_rules = sorted({rule.code: rule for rule in rules}.values(), key=lambda r: r.code)
    # A finding of a rule that is not in the list still needs metadata.
    known = {rule.code for rule in ordered_rules}
    for code in sorted({f.code for f in findings} - known):
        extra = rule_by_code(code)
        if extra is not None:
            ordered_rules.append(extra)
    index_of = {rule.code: position for position, rule in enumerate(ordered_rules)}
    results = []
    for finding in findings:
        result: dict[str, Any] = {
            "ruleId": finding.code,
            "level": SARIF_LEVELS.get(finding.severity, "warning"),
            "message": {"text": finding.message},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": {"uri": _uri(display_path(finding.path, cwd)), "uriBaseId": "%SRCROOT%"},
                        "region": {
                            "startLine": finding.line,
                            "startColumn": finding.column + 1,
                            "endLine": finding.end_line,
                            "endColumn": finding.end_column + 1,
                        },
                    }
                }
            ],
            "properties": {"layer": finding.layer, "name": finding.name, "fixable": finding.fixable},
        }
        if finding.code in index_of:
            result["ruleIndex"] = index_of[finding.code]
        results.append(result)
    root_uri = Path(cwd).resolve().as_uri().rstrip("/") + "/"
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": "stackguard",
                "version": __version__,
                "semanticVersion": __version__,
                "informationUri": INFORMATION_URI,
                "rules": [sarif_rule(rule) for rule in ordered_rules],
            }
        },
        "originalUriBaseIds": {"%SRCROOT%": {"uri": root_uri}},
        # Finding columns count code points, not UTF-16 units (SARIF's default).
        "columnKind": "unicodeCodePoints",
        "invocations": [
            {
                "executionSuccessful": True,
                "toolExecutionNotifications": [
                    {
                        "level": "note",
                        "message": {"text": message},
                        "locations": [
                            {"physicalLocation": {"artifactLocation": {"uri": _uri(path), "uriBaseId": "%SRCROOT%"}}}
                        ],
                    }
                    for path, message in notices
                ],
            }
        ],
        "results": results,
    }
    log = {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}
    return json.dumps(log, indent=2) + "\n"


def summary_line(findings: Sequence[Finding], files_checked: int, fixed: int = 0) -> str:
    """The closing line ``check`` writes to stderr."""
    fixable = sum(1 for f in findings if f.fixable)
    checked = f"{files_checked} file{'s' if files_checked != 1 else ''} checked"
    fixed_part = f", {fixed} fixed" if fixed else ""
    if not findings:
        return f"All checks passed ({checked}{fixed_part})."
    counts: dict[str, int] = {}
    for finding in findings:
        counts[finding.severity] = counts.get(finding.severity, 0) + 1
    by_severity = ", ".join(f"{counts[s]} {s}" for s in ("error", "warning", "info", "hint") if s in counts)
    hint = f"; {fixable} fixable with --fix" if fixable else ""
    noun = "finding" if len(findings) == 1 else "findings"
    return f"Found {len(findings)} {noun} ({by_severity}) in {checked}{fixed_part}{hint}."
