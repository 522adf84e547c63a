"""The engine's single pass: dispatch by node type, isolation of a failing
rule, suppressions, deep trees, and no parent links left behind."""

from __future__ import annotations

import ast

from stackguard.analysis.engine import Engine, is_excluded, module_name
from stackguard.analysis.source import parse_source
from stackguard.config import Settings
from stackguard.rules import Rule


class CountsNames(Rule):
    code = "SG901"
    name = "test-counts-names"
    node_types = (ast.Name,)

    def visit(self, node: ast.AST) -> None:
        assert isinstance(node, ast.Name)
        if node.id == "flagged":
            # Parent links of the visited node and its ancestors exist.
            assert isinstance(node.sg_parent, ast.AST)  # type: ignore[attr-defined]
            self.report(node, "flagged name")


class Explodes(Rule):
    code = "SG902"
    name = "test-explodes"
    node_types = (ast.expr,)  # an abstract base: every expression class
    calls = 0

    def visit(self, node: ast.AST) -> None:
        Explodes.calls += 1
        self.report(node, "never kept")
        raise RuntimeError("boom")


def check(text: str, *rules: type[Rule]):
    source = parse_source("/p/app/x.py", "app/x.py", text)
    return source, Engine(Settings(), list(rules)).check(source, "other")


def test_a_failing_rule_is_dropped_and_the_others_still_report():
    Explodes.calls = 0
    _, result = check("a = flagged\nb = flagged + 1\n", Explodes, CountsNames)
    assert [f.line for f in result.findings] == [1, 2]
    assert {f.code for f in result.findings} == {"SG901"}
    assert Explodes.calls == 1  # never called again after it raised
    assert len(result.rule_errors) == 1 and "SG902" in result.rule_errors[0]


def test_suppression_on_the_line_and_the_line_above():
    text = "a = flagged  # stackguard: ignore[SG901]\n# stackguard: ignore[SG901]\nb = flagged\nc = flagged\n"
    _, result = check(text, CountsNames)
    assert [f.line for f in result.findings] == [4]


def test_deep_expression_chain_and_parent_links_are_removed():
    text = "x = " + " + ".join(["flagged"] * 2000) + "\n"
    source, result = check(text, CountsNames)
    assert len(result.findings) == 2000
    # Unlinked after the pass, so the tree is freed by reference counting.
    assert not any(hasattr(node, "sg_parent") for node in ast.walk(source.tree))


def test_unparsable_source_returns_the_parse_problem():
    source, result = check("def f(:\n", CountsNames)
    assert source.tree is None and result.parse_problem is not None and result.findings == []


def test_module_names_and_exclude_globs():
    assert module_name("app/routers/__init__.py") == "app.routers"
    assert module_name("src/shop/models.py") == "shop.models"
    assert is_excluded("tests/fixtures/a.py", ["tests/**"])
    assert is_excluded("app/migrations/0001.py", ["migrations"])
    assert not is_excluded("app/models.py", ["tests/**", "migrations"])
