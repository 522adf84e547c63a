"""Incremental analysis must be invisible: after any edit, the spliced tree
is the tree ``ast.parse`` builds, and the findings of an incremental check
are the findings of a full one.

The edits are random but seeded (the same on every run): comments typed at
line ends, lines added, removed, duplicated and re-indented, identifiers
renamed, top-level functions inserted — on every rule's fixture, analysed
with every rule enabled, so each rule's ``scope`` declaration is checked
against its real behaviour.
"""

from __future__ import annotations

import ast
import random
import re
import shutil
import sys
from pathlib import Path

import pytest

from stackguard.analysis.engine import Engine
from stackguard.analysis.incremental import (
    Splice,
    carry_finding,
    skeleton,
    splice_tree,
    split_lines,
)
from stackguard.analysis.project import ProjectAnalyzer
from stackguard.config import Settings
from stackguard.rules import Finding, all_rules
from stackguard.stack.model import Evidence, Fact, StackProfile

# The rule fixtures and how the snapshot test reads their headers.
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "rules"))
from test_rule_fixtures import CODES, FRAMEWORK_CATEGORY, fixture_files, header  # noqa: E402

IDENTIFIER = re.compile(r"\b[a-z_][a-z0-9_]{2,}\b")


def dump(tree: ast.AST) -> str:
    return ast.dump(tree, include_attributes=True)


def random_edit(text: str, rng: random.Random) -> str:
    """One editor-like change; the result may not parse (as mid-typing)."""
    lines = text.splitlines(keepends=True) or ["\n"]
    at = rng.randrange(len(lines))
    line = lines[at]
    indent = line[: len(line) - len(line.lstrip())]
    kind = rng.choice(
        ["comment", "comment", "blank", "drop-blank", "duplicate", "statement", "statement", "rename", "rename", "delete", "function", "dedent", "char", "signature", "signature"]
    )
    if kind == "signature":
        # A parameter typed into some function's signature (or its
        # annotation changed): other statements' findings are carried over.
        defs = [i for i, text_line in enumerate(lines) if text_line.lstrip().startswith(("def ", "async def ")) and "(" in text_line]
        if defs:
            at = rng.choice(defs)
            line = lines[at]
            if "self" in line and rng.random() < 0.5:
                lines[at] = line.replace("self", "self, typed: int = 0", 1)
            elif "->" in line:
                lines[at] = line.replace("->", "-> 'Typed' or", 1) if rng.random() < 0.3 else line.replace("(", "(typed_arg, ", 1)
            else:
                lines[at] = line.replace("(", "(typed_arg=None, ", 1)
        return "".join(lines)
    if kind == "comment":
        lines[at] = line.rstrip("\r\n") + "  # typed" + ("\n" if line.endswith("\n") else "")
    elif kind == "blank":
        lines.insert(at, "\n")
    elif kind == "drop-blank":
        blanks = [i for i, text_line in enumerate(lines) if not text_line.strip()]
        if blanks:
            del lines[rng.choice(blanks)]
    elif kind == "duplicate":
        lines.insert(at, line)
    elif kind == "statement":
        lines.insert(at + 1, f"{indent}typed_value = {rng.randint(1, 99)}\n")
    elif kind == "rename":
        names = IDENTIFIER.findall(line)
        if names:
            name = rng.choice(names)
            lines[at] = line.replace(name, name + "_x", 1)
    elif kind == "delete":
        del lines[at]
    elif kind == "function":
        tops = [i for i, text_line in enumerate(lines) if text_line.startswith(("def ", "class ", "async def ", "@"))]
        where = rng.choice(tops) if tops else len(lines)
        lines.insert(where, "def typed_helper(x):\n    return x\n\n\n")
    elif kind == "dedent":
        lines[at] = line.lstrip()
    elif kind == "char":
        column = rng.randrange(len(line)) if line else 0
        lines[at] = line[:column] + rng.choice("x(:,. '\"") + line[column:]
    return "".join(lines)


def edit_sequence(text: str, seed: int, count: int) -> list[str]:
    """``count`` versions after ``text``; a version that does not parse is
    followed by a return to the last good one (undo), as while typing."""
    rng = random.Random(seed)
    versions = []
    good = text
    current = text
    for _ in range(count):
        current = random_edit(current, rng)
        versions.append(current)
        try:
            ast.parse(current)
            good = current
        except SyntaxError:
            versions.append(good)
            current = good
    return versions


def fixture_sources() -> list[tuple[str, Path]]:
    return [(code, path) for code in CODES for path in fixture_files(code)]


# ---------------------------------------------------------------------------
# The spliced tree is the parsed tree


@pytest.mark.parametrize(("code", "path"), fixture_sources(), ids=lambda v: v if isinstance(v, str) else v.name)
def test_splice_builds_the_tree_ast_parse_builds(code: str, path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    tree = ast.parse(text)
    lines = split_lines(text)
    assert lines is not None
    spliced = 0
    for seed_offset, new_text in enumerate(edit_sequence(text, hash(code) % 1000, 40)):
        new_lines = split_lines(new_text)
        assert new_lines is not None
        splice = splice_tree(tree, lines, new_lines)
        try:
            expected = ast.parse(new_text)
        except SyntaxError:
            assert splice is None, f"version {seed_offset}: a spliced tree for a text that does not parse"
            tree = ast.parse(text)  # the splice may have consumed it: start again from the last good text
            continue
        if splice is None:
            tree = expected
        else:
            assert dump(splice.tree) == dump(expected), f"version {seed_offset} of {path.name} differs"
            tree = splice.tree
            spliced += 1
        text, lines = new_text, new_lines
    assert spliced >= 10, f"only {spliced} versions were spliced"


def test_splice_cases_by_hand() -> None:
    old = "import os\n\n\ndef f():\n    return 1\n\n\ndef g():\n    return 2\n"

    def check(new: str) -> Splice | None:
        tree = ast.parse(old)
        splice = splice_tree(tree, split_lines(old), split_lines(new))  # type: ignore[arg-type]
        if splice is not None:
            assert dump(splice.tree) == dump(ast.parse(new))
        return splice

    # Typing in f's body: f is re-parsed, import and g carried (g unmoved).
    splice = check(old.replace("return 1", "return 11"))
    assert splice is not None and splice.carried == {0: (0, 0), 2: (2, 0)}
    # A line added in f: g is carried one line down.
    splice = check(old.replace("    return 1\n", "    x = 1\n    return 1\n"))
    assert splice is not None and splice.carried[2] == (2, 1) and splice.delta == 1
    # An indented line typed after f's blank lines still belongs to f.
    splice = check(old.replace("    return 1\n\n", "    return 1\n\n    y = 2\n"))
    assert splice is not None and len(splice.tree.body) == 3
    # Indenting `def g` makes it part of f's body.
    splice = check(old.replace("def g", "    def g").replace("    return 2", "        return 2"))
    assert splice is not None and len(splice.tree.body) == 2
    # An unclosed bracket: no splice (the caller parses and reports it).
    assert check(old.replace("return 1", "return (1")) is None
    # `else:` at column 0 after an if: part of the if statement above.
    old_if = "if x:\n    pass\n\ny = 1\n"
    tree = ast.parse(old_if)
    new_if = old_if.replace("\ny = 1", "else:\n    pass\ny = 1")
    splice = splice_tree(tree, split_lines(old_if), split_lines(new_if))  # type: ignore[arg-type]
    assert splice is not None and dump(splice.tree) == dump(ast.parse(new_if))
    # Unchanged text: everything carried, nothing parsed.
    tree = ast.parse(old)
    splice = splice_tree(tree, split_lines(old), split_lines(old))  # type: ignore[arg-type]
    assert splice is not None and splice.tree is tree and len(splice.carried) == 3


def test_form_feeds_and_unicode_line_breaks_are_parsed_whole() -> None:
    assert split_lines("x = 1\x0c\ny = 2\n") is None
    assert split_lines("s = 'a\u2028b'\n") is None
    assert split_lines("x = 1\r\ny = 2\r\n") == ["x = 1\r\n", "y = 2\r\n"]


def test_skeleton_ignores_function_signatures_bodies_and_positions() -> None:
    old = "import os\n\n@app.get('/')\ndef f(a: int) -> int:\n    return a\n\nclass C:\n    x = 1\n    def m(self):\n        return 2\n"
    moved = old.replace("    return a\n", "    b = a\n\n    return b\n").replace("        return 2", "        pass")
    retyped = old.replace("a: int", "a: str").replace("def m(self):", "def m(self, extra=1):  # typed")
    for same in (moved, retyped):
        assert skeleton(ast.parse(old), split_lines(old)) == skeleton(ast.parse(same), split_lines(same))  # type: ignore[arg-type]
    renamed = old.replace("def f(", "def g(")
    async_now = old.replace("def f(", "async def f(")
    for changed in (renamed, async_now, old.replace("x = 1", "x = 2"), old.replace("'/'", "'/x'"), "import sys\n" + old):
        assert skeleton(ast.parse(old), split_lines(old)) != skeleton(ast.parse(changed), split_lines(changed))  # type: ignore[arg-type]


def test_carried_finding_moves_its_lines_everywhere_it_names_them() -> None:
    old = "".join(f"x{i} = {i}\n" for i in range(1, 31))
    new = old.replace("x3 = 3\n", "x3 = 3\nadded = 1\nadded = 2\n")
    splice = splice_tree(ast.parse(old), split_lines(old), split_lines(new))  # type: ignore[arg-type]
    assert splice is not None and splice.delta == 2
    finding = Finding(
        "SG203", "multiple-commits", "Second commit (first commit on line 10; see lines 12, 14)", "warning",
        "/p/a.py", "a.py", 20, 0, 21, 4, "service", data={"first_line": 10, "nested": {"loop_line": 2}, "count": 3},
    )
    moved = carry_finding(finding, splice)
    assert moved is not None
    assert (moved.line, moved.end_line) == (22, 23)
    assert moved.message == "Second commit (first commit on line 12; see lines 14, 16)"
    assert moved.data == {"first_line": 12, "nested": {"loop_line": 2}, "count": 3}
    # Naming a line that was re-parsed: cannot be carried.
    touching = Finding(**{**finding.to_dict(), "message": "see line 3", "data": {}})
    assert carry_finding(touching, splice) is None


# ---------------------------------------------------------------------------
# Incremental findings are full findings


def fixture_workspace(tmp_path: Path, code: str) -> tuple[Path, StackProfile, list[tuple[Path, str]]]:
    root = tmp_path / code
    profile = StackProfile(root=str(root))
    placed = []
    for path in fixture_files(code):
        text = path.read_text(encoding="utf-8")
        relative = header(text, "path") or path.name
        target = root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
        placed.append((target, text))
        for name in (header(text, "stack") or "").split(","):
            if name.strip():
                profile.add(FRAMEWORK_CATEGORY.get(name.strip(), "frameworks"), Fact(name.strip(), (Evidence("fixture"),)))
    return root, profile, placed


@pytest.mark.parametrize("code", CODES)
def test_incremental_findings_equal_full_findings(tmp_path: Path, code: str) -> None:
    root, profile, placed = fixture_workspace(tmp_path, code)
    analyzer = ProjectAnalyzer(root, profile, Settings())
    analyzer.build_index()
    modes: dict[str, int] = {}
    for number, (path, text) in enumerate(placed):
        analyzer.analyze(str(path), text)
        for version, new_text in enumerate(edit_sequence(text, number * 7919 + len(code), 60)):
            incremental = analyzer.analyze(str(path), new_text)
            full = analyzer.analyze(str(path), new_text, incremental=False)
            assert incremental.rule_errors == full.rule_errors == []
            modes[incremental.mode] = modes.get(incremental.mode, 0) + 1
            if incremental.findings != full.findings:
                inc = [(f.line, f.code, f.message, dict(f.data)) for f in incremental.findings or []]
                ref = [(f.line, f.code, f.message, dict(f.data)) for f in full.findings or []]
                pytest.fail(
                    f"{path.name} version {version}: incremental and full findings differ:\n"
                    f"only incremental: {[x for x in inc if x not in ref]}\nonly full: {[x for x in ref if x not in inc]}"
                )
        analyzer.close_document(str(path))
    # The fast path must actually be taken, or this test proves nothing.
    assert modes.get("carried", 0) >= 5, modes


def test_every_rule_declares_a_known_scope() -> None:
    for rule in all_rules():
        assert rule.scope in ("statement", "module"), rule.code


def test_carry_over_skips_walking_unchanged_statements(tmp_path: Path) -> None:
    """The point of it all: a body edit re-runs statement rules only on the
    edited statement (counted through a rule's visit calls)."""
    calls: list[int] = []

    class Counting(next(r for r in all_rules() if r.code == "SG501")):  # type: ignore[misc]
        def visit(self, node: ast.AST) -> None:
            calls.append(node.lineno)  # type: ignore[attr-defined]
            super().visit(node)

    root = tmp_path / "p"
    (root / "app" / "services").mkdir(parents=True)
    path = root / "app" / "services" / "things.py"
    text = "".join(f"def f{i}(a):\n    return a\n\n\n" for i in range(50))
    path.write_text(text)
    analyzer = ProjectAnalyzer(root, None, Settings())
    analyzer.engine = Engine(Settings(), [Counting])
    analyzer.build_index()
    first = analyzer.analyze(str(path), text)
    assert first.mode == "full" and len(calls) == 50 and len(first.findings or []) == 50
    calls.clear()
    second = analyzer.analyze(str(path), text.replace("def f10(a):\n    return a", "def f10(a):\n    b = a\n    return b"))
    assert second.mode == "carried"
    assert calls == [41]  # only f10, where it now is
    assert [f.line for f in second.findings or []][10:12] == [41, 46]  # f11 moved a line down


def test_a_handler_declared_from_another_functions_body_is_context(tmp_path: Path) -> None:
    """Starlette routes listed inside a factory function make `list_items`
    a route handler: editing only the factory's body changes what SG101
    says about `list_items`, so carried findings must not survive it."""
    root = tmp_path / "p"
    (root / "app" / "routers").mkdir(parents=True)
    path = root / "app" / "routers" / "items.py"
    text = (
        "from starlette.routing import Route\n"
        "from sqlalchemy import text\n\n\n"
        "async def list_items(request):\n"
        "    rows = await request.state.db.execute(text('SELECT id FROM items'))\n"
        "    return rows\n\n\n"
        "def routes():\n"
        "    return [Route('/items', list_items)]\n"
    )
    path.write_text(text)
    analyzer = ProjectAnalyzer(root, None, Settings())
    analyzer.build_index()
    first = analyzer.analyze(str(path), text)
    assert [f.code for f in first.findings or []].count("SG101") == 1
    edited = text.replace("Route('/items', list_items)", "Route('/items', other_view)")
    incremental = analyzer.analyze(str(path), edited)
    full = analyzer.analyze(str(path), edited, incremental=False)
    assert "SG101" not in [f.code for f in full.findings or []]
    assert incremental.findings == full.findings
