"""Snapshot tests for every rule, generated from the registry.

Each rule has a fixture, ``fixtures/<CODE>.py`` or a folder
``fixtures/<CODE>/`` of files, written as the project files they stand for:

- ``# fixture-path: app/routers/items.py`` (first lines) is the path the file
  is analysed under, which decides its layer;
- ``# fixture-stack: fastapi, sqlalchemy`` sets the detected frameworks/ORMs;
- ``# expect: SG201`` on a line means a finding of that code starts there;
- ``# quiet: <why>`` marks a case that must stay quiet.

The test checks the markers (≥ 6 true positives and ≥ 6 quiet cases per
rule; every expected finding present, no unexpected one) and the full output
(code, message, range, source line) against ``snapshots/<CODE>.txt``. Set
STACKGUARD_UPDATE_SNAPSHOTS=1 to rewrite snapshots, then review the diff.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from stackguard.analysis.engine import Engine, module_name
from stackguard.analysis.index import WorkspaceIndex
from stackguard.analysis.layers import classify_layer
from stackguard.analysis.source import parse_source
from stackguard.analysis.summary import summarize
from stackguard.config import Settings
from stackguard.rules import all_rules
from stackguard.stack.model import Evidence, Fact, StackProfile

HERE = Path(__file__).parent
FIXTURES = HERE / "fixtures"
SNAPSHOTS = HERE / "snapshots"
EXPECT = re.compile(r"#\s*expect:\s*([A-Z0-9, ]+)")
QUIET = re.compile(r"#\s*quiet:")
FRAMEWORK_CATEGORY = {
    "sqlalchemy": "orms", "sqlmodel": "orms", "flask-sqlalchemy": "orms", "django": "frameworks",
    "peewee": "orms", "tortoise": "orms",
}


def fixture_files(code: str) -> list[Path]:
    single = FIXTURES / f"{code}.py"
    folder = FIXTURES / code
    if single.exists():
        return [single]
    if folder.is_dir():
        return sorted(folder.rglob("*.py"))
    return []


def header(text: str, key: str) -> str | None:
    match = re.search(rf"^#\s*fixture-{key}:\s*(.+)$", text, re.MULTILINE)
    return match.group(1).strip() if match else None


def run_fixture(code: str):
    files = fixture_files(code)
    settings = Settings(select=[code])
    sources = []
    profile = StackProfile(root=str(FIXTURES))
    for path in files:
        text = path.read_text(encoding="utf-8")
        relative = header(text, "path") or path.name
        source = parse_source(str(path), relative, text)
        assert source.tree is not None, f"{path}: fixture must parse: {source.parse_problem}"
        for name in (header(text, "stack") or "").split(","):
            name = name.strip()
            if name:
                profile.add(FRAMEWORK_CATEGORY.get(name, "frameworks"), Fact(name, (Evidence("fixture"),)))
        sources.append((path, source))
    index = WorkspaceIndex()
    layers = {}
    for path, source in sources:
        layer = classify_layer(source.relative, source.tree)
        layers[path] = layer
        index.update(summarize(source.relative, source.tree, layer))
    engine = Engine(settings)
    results = []
    for path, source in sources:
        result = engine.check(source, layers[path], profile=profile, index=index, module=module_name(source.relative))
        assert not result.rule_errors, result.rule_errors
        results.append((path, source, result.findings))
    return results


def render(results) -> str:
    out = []
    for path, source, findings in results:
        for f in findings:
            out.append(
                f"{source.relative}:{f.line}:{f.column + 1}-{f.end_line}:{f.end_column + 1} {f.code} [{f.severity}] {f.message}"
            )
            out.append(f"    | {source.line_text(f.line).strip()}")
            if f.fix_title:
                out.append(f"    fix: {f.fix_title}{' (safe)' if f.fixable else ''}")
    return "\n".join(out) + "\n"


CODES = [rule.code for rule in all_rules()]


@pytest.mark.parametrize("code", CODES)
def test_rule_has_fixture_and_docs(code):
    assert fixture_files(code), f"no fixture for {code} under {FIXTURES}"
    rule = next(r for r in all_rules() if r.code == code)
    doc = rule.doc()
    for section in ("What it does", "Why is this bad?", "Example", "Use instead"):
        assert doc.sections.get(section), f"{code}: docstring lacks '## {section}'"


@pytest.mark.parametrize("code", CODES)
def test_rule_fixture_snapshot(code):
    results = run_fixture(code)
    expected: set[tuple[str, int]] = set()
    quiet = 0
    for path, source, _ in results:
        for number, line in enumerate(source.lines, start=1):
            match = EXPECT.search(line)
            if match:
                for expected_code in match.group(1).replace(" ", "").split(","):
                    if expected_code == code:
                        expected.add((source.relative, number))
            if QUIET.search(line):
                quiet += 1
    assert len(expected) >= 6, f"{code}: needs at least 6 true-positive cases, has {len(expected)}"
    assert quiet >= 6, f"{code}: needs at least 6 must-stay-quiet cases, has {quiet}"
    actual = {(source.relative, f.line) for _, source, findings in results for f in findings if f.code == code}
    assert actual - expected == set(), f"{code}: unexpected findings at {sorted(actual - expected)}"
    assert expected - actual == set(), f"{code}: missing findings at {sorted(expected - actual)}"
    snapshot = SNAPSHOTS / f"{code}.txt"
    rendered = render(results)
    if os.environ.get("STACKGUARD_UPDATE_SNAPSHOTS") or not snapshot.exists():
        if os.environ.get("CI") and not snapshot.exists():
            pytest.fail(f"missing snapshot {snapshot}; run the tests locally with STACKGUARD_UPDATE_SNAPSHOTS=1")
        snapshot.write_text(rendered, encoding="utf-8")
    assert rendered == snapshot.read_text(encoding="utf-8")
