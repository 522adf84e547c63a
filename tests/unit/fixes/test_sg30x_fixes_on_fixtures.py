"""The SG301/SG302/SG303 quick fixes over every finding of the rules' own
fixtures (realistic code): a computed fix parses, removes exactly its
finding and adds none, and most fixable findings get a fix."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest
from stackguard.analysis.engine import Engine, module_name
from stackguard.analysis.index import WorkspaceIndex
from stackguard.analysis.layers import classify_layer
from stackguard.analysis.source import parse_source
from stackguard.config import Settings
from stackguard.fixes import apply_text_edits
from stackguard.fixes.edits import parses
from stackguard.fixes.jwt_verify import jwt_verify_fix
from stackguard.fixes.password_hash import password_hash_fix
from stackguard.fixes.secrets_env import secrets_env_fix

FIXTURES = Path(__file__).parents[2] / "rules" / "fixtures"
FIXES = {"SG301": secrets_env_fix, "SG302": password_hash_fix, "SG303": jwt_verify_fix}


def load(code: str) -> dict[str, str]:
    files = {}
    for path in sorted((FIXTURES / code).rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        match = re.search(r"^#\s*fixture-path:\s*(.+)$", text, re.MULTILINE)
        files[match.group(1).strip() if match else path.name] = text
    return files


def lint(files: dict[str, str], relative: str, text: str, code: str, root: Path):
    index = WorkspaceIndex(root=root)
    for other, body in files.items():
        index.update_tree(other, parse_source(other, other, text if other == relative else body).tree)
    source = parse_source(str(root / relative), relative, text)
    assert source.tree is not None
    engine = Engine(Settings(select=[code]))
    return engine.check(source, classify_layer(relative, source.tree), index=index, module=module_name(relative)).findings


@pytest.mark.parametrize(("code", "least", "minimum"), [("SG301", 12, 0.9), ("SG302", 4, 1.0), ("SG303", 6, 1.0)])
def test_fixes_on_the_rule_fixtures(tmp_path: Path, code: str, least: int, minimum: float):
    files = load(code)
    for relative, text in files.items():
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_text(text, encoding="utf-8")
    fixable = fixed = 0
    for relative, text in files.items():
        before = lint(files, relative, text, code, tmp_path)
        for finding in before:
            if not finding.fix_title:
                continue
            fixable += 1
            fix = FIXES[code](finding, text, project_root=str(tmp_path))
            if fix is None:
                continue
            fixed += 1
            assert fix.code == code and not fix.safe
            new = apply_text_edits(text, fix.edits_for(finding.path))
            assert parses(new), new
            after = lint(files, relative, new, code, tmp_path)
            expected = Counter(f.message for f in before)
            expected[finding.message] -= 1
            assert Counter(f.message for f in after) == +expected, (relative, finding.line, finding.message)
    assert fixable >= least, (code, fixable)
    assert fixed / fixable >= minimum, (code, fixed, fixable)
