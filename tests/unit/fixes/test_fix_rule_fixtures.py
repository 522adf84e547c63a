"""Every SG104/SG201/SG202 finding in the rules' own fixtures (realistic code
the rule authors wrote): a computed fix parses and removes exactly its
finding, nothing else changes in the findings, and most findings get one."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from stackguard.analysis.engine import Engine, module_name
from stackguard.analysis.index import WorkspaceIndex
from stackguard.analysis.layers import classify_layer
from stackguard.analysis.source import parse_source
from stackguard.config import Settings
from stackguard.fixes import apply_text_edits, fix_for

FIXTURES = Path(__file__).parents[2] / "rules" / "fixtures"


def load(code: str):
    paths = [FIXTURES / f"{code}.py"] if (FIXTURES / f"{code}.py").exists() else sorted((FIXTURES / code).rglob("*.py"))
    files = {}
    for path in paths:
        text = path.read_text(encoding="utf-8")
        match = re.search(r"^#\s*fixture-path:\s*(.+)$", text, re.MULTILINE)
        files[match.group(1).strip() if match else path.name] = text
    return files


def lint(files: dict[str, str], relative: str, text: str, code: str, root: str):
    index = WorkspaceIndex()
    for other, body in files.items():
        index.update_tree(other, parse_source(other, other, text if other == relative else body).tree)
    source = parse_source(f"{root}/{relative}", relative, text)
    assert source.tree is not None
    result = Engine(Settings(select=[code])).check(source, classify_layer(relative, source.tree), index=index, module=module_name(relative))
    return result.findings


def _unlined(finding) -> str:
    return re.sub(r"line \d+", "line N", finding.message)


@pytest.mark.parametrize(("code", "minimum_share"), [("SG201", 0.6), ("SG202", 0.9), ("SG104", 0.6)])
def test_fixes_on_the_rule_fixtures(tmp_path: Path, code: str, minimum_share: float):
    files = load(code)
    assert files, f"no fixtures for {code}"
    root = str(tmp_path)
    total = fixed = 0
    for relative, text in files.items():
        findings = lint(files, relative, text, code, root)
        for finding in findings:
            total += 1
            fix = fix_for(finding, text, project_root=root)
            if fix is None:
                continue
            fixed += 1
            new = apply_text_edits(text, fix.edits_for(finding.path))
            after = lint(files, relative, new, code, root)
            # Exactly this finding is gone: the others stay (their lines may shift by added imports).
            assert len(after) == len(findings) - 1, f"{relative}:{finding.line}\n{new}"
            assert sorted(map(_unlined, after)) == sorted(map(_unlined, (f for f in findings if f is not finding)))
            if code == "SG104":
                assert not fix.safe
    assert total, f"{code}: the fixtures produced no findings"
    assert fixed / total >= minimum_share, f"{code}: only {fixed}/{total} findings got a fix"
