"""SG102 logic-in-router: what counts as business logic in a handler body,
and where the thresholds sit."""

from __future__ import annotations

import ast
import textwrap

from stackguard.analysis.engine import Engine
from stackguard.analysis.semantics import ImportMap
from stackguard.analysis.source import parse_source
from stackguard.config import Settings
from stackguard.rules.sg102_logic_in_router import MAX_STATEMENTS, measure

HEADER = """\
import httpx
import requests
from fastapi import APIRouter, HTTPException

router = APIRouter()


"""


def measured(body: str, params: str = "item_id: int, page: int = 1, size: int = 20"):
    text = HEADER + f"@router.get('/x')\ndef handler({params}):\n" + textwrap.indent(textwrap.dedent(body), "    ")
    tree = ast.parse(text)
    func = tree.body[-1]
    assert isinstance(func, ast.FunctionDef)
    return measure(func, ImportMap.from_tree(tree, "app.routers.x"))


def findings(body: str):
    text = HEADER + "@router.get('/x')\ndef handler(item_id: int):\n" + textwrap.indent(textwrap.dedent(body), "    ")
    source = parse_source("/p/app/routers/x.py", "app/routers/x.py", text)
    result = Engine(Settings(select=["SG102"])).check(source, "router", module="app.routers.x")
    assert not result.rule_errors
    return result.findings


def test_guards_are_not_branches():
    m = measured(
        """\
        if item_id <= 0:
            raise HTTPException(422)
        if size > 100:
            size = 100
        if not page:
            log.warning("no page")
            return []
        for row in rows:
            if row is None:
                continue
        return rows
        """
    )
    assert m.branches == 0
    assert m.loops == []


def test_elif_chain_counts_every_arm_including_else():
    m = measured(
        """\
        if item_id == 1:
            kind = "a"
        elif item_id == 2:
            kind = "b"
        else:
            kind = "c"
        return kind
        """
    )
    assert m.branches == 3


def test_two_branches_stay_quiet_three_are_reported():
    two = """\
    if item_id % 2:
        label = "odd"
    else:
        label = "even"
    return {"label": label}
    """
    three = """\
    if item_id > 100:
        label = "big"
    elif item_id > 10:
        label = "medium"
    else:
        label = "small"
    return {"label": label}
    """
    assert findings(two) == []
    (finding,) = findings(three)
    assert "3 decision branches" in finding.message
    assert finding.data["branches"] == 3


def test_else_after_a_guard_is_the_main_path():
    m = measured(
        """\
        if item_id is None:
            raise HTTPException(404)
        else:
            value = compute(item_id)
            other = value
        return other
        """
    )
    assert m.branches == 0


def test_pagination_and_string_arithmetic_are_not_domain_arithmetic():
    m = measured(
        """\
        offset = (page - 1) * size
        pages = (total + size - 1) // size
        title = "Item " + str(item_id)
        message = "%s items" % total
        count = len(rows) + 1
        minutes = 60 * 24
        return {"offset": offset}
        """
    )
    assert m.arithmetic == 0


def test_domain_arithmetic_is_counted_once_per_expression():
    m = measured(
        """\
        subtotal = item.price * item.quantity + item.shipping
        total = subtotal - discount
        return total
        """
    )
    assert m.arithmetic == 2


def test_loop_that_only_maps_to_the_response_is_quiet():
    m = measured(
        """\
        out = []
        for row in rows:
            out.append({"id": row.id, "name": row.name})
        return out
        """
    )
    assert m.loops == []


def test_loop_that_mutates_objects_is_logic():
    m = measured(
        """\
        for row in rows:
            row.status = "archived"
        return rows
        """
    )
    assert len(m.loops) == 1


def test_external_calls_resolve_through_imports():
    m = measured(
        """\
        reply = requests.post("https://psp.example.com", json={})
        with httpx.Client() as client:
            client.get("/x")
        get("/local/function")
        return reply.json()
        """
    )
    assert m.external == ["requests.post", "httpx.Client"]


def test_statement_limit():
    body_ok = "\n".join(f"v{i} = {i}" for i in range(MAX_STATEMENTS - 1)) + "\nreturn v0\n"
    body_long = "\n".join(f"v{i} = {i}" for i in range(MAX_STATEMENTS)) + "\nreturn v0\n"
    assert findings(body_ok) == []
    (finding,) = findings(body_long)
    assert f"{MAX_STATEMENTS + 1} statements" in finding.message


def test_docstring_and_nested_function_bodies_do_not_count():
    m = measured(
        '''\
        """Docstring."""
        def helper(rows):
            for row in rows:
                row.total += 1
        return helper([])
        '''
    )
    assert m.loops == []
    assert m.statements == 2


def test_finding_is_on_the_handler_name():
    (finding,) = findings(
        """\
        for row in rows:
            row.total += row.price
        return rows
        """
    )
    assert (finding.line, finding.column, finding.end_column) == (9, 4, 11)
    assert finding.message.startswith("Route handler `handler` holds business logic (a loop that computes or mutates values at line 10)")
