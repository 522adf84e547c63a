"""SG501 missing-annotations: which functions and parameters are checked,
and what the rule records as certain for its fix (literal defaults,
``-> None``, literal returns, sync/async sessions)."""

from __future__ import annotations

import textwrap

import pytest
from stackguard.analysis.engine import Engine
from stackguard.analysis.index import WorkspaceIndex
from stackguard.analysis.source import parse_source
from stackguard.config import Settings


def lint(code: str, *, path: str = "app/services/things.py", layer: str = "service", index: WorkspaceIndex | None = None):
    source = parse_source(f"/p/{path}", path, textwrap.dedent(code))
    assert source.tree is not None
    result = Engine(Settings(select=["SG501"])).check(source, layer, index=index)
    assert not result.rule_errors
    return result.findings


def only(code: str, **kwargs):
    findings = lint(code, **kwargs)
    assert len(findings) == 1, findings
    return findings[0]


def plan(code: str, **kwargs) -> dict:
    return only(code, **kwargs).data["fix"]


def test_span_is_the_function_name_and_message_lists_what_is_missing():
    finding = only("@decorator\nasync def create_order(payload, *, notify=True):\n    return payload\n")
    assert (finding.line, finding.column, finding.end_column) == (2, 10, 22)
    assert finding.message == "`create_order()` is missing type annotations: parameters `payload`, `notify` and the return type"
    assert finding.data["params"] == ["payload", "notify"] and finding.data["return"] is True


@pytest.mark.parametrize(
    "code",
    [
        "def _private(a):\n    return a\n",
        "class _Hidden:\n    def run(self, a):\n        return a\n",
        "def outer(a: int) -> int:\n    def inner(b):\n        return b\n    return inner(a)\n",
        "class A:\n    def __eq__(self, other):\n        return True\n",
        "class A:\n    def __init__(self, a: int):\n        self.a = a\n",  # __init__'s return is implied
        "def f(*args, **kwargs) -> None:\n    pass\n",
        "class A:\n    @classmethod\n    def make(cls) -> 'A':\n        return cls()\n",
        "class A:\n    def run(me) -> None:\n        pass\n",  # the first parameter of a method, whatever its name
    ],
)
def test_not_checked(code):
    assert lint(code) == []


def test_staticmethod_first_parameter_is_checked():
    assert only("class A:\n    @staticmethod\n    def run(a) -> None:\n        pass\n").data["params"] == ["a"]


@pytest.mark.parametrize("layer", ["router", "service", "repository"])
def test_layers(layer):
    assert len(lint("def f(a):\n    return a\n", layer=layer)) == 1


@pytest.mark.parametrize("layer", ["model", "schema", "config", "other", "test", "migration"])
def test_other_layers_are_quiet(layer):
    assert lint("def f(a):\n    return a\n", layer=layer) == []


@pytest.mark.parametrize(
    ("default", "expected"),
    [("10", "int"), ("-1", "int"), ("0.5", "float"), ("'x'", "str"), ("b'x'", "bytes"), ("True", "bool"), ("None", None), ("[]", None), ("SETTING", None), ("-True", None), ("...", None)],
)
def test_literal_default_types(default, expected):
    fix = plan(f"def f(a={default}) -> None:\n    print(a)\n")
    assert fix["params"].get("a") == expected


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("print(a)", "None"),
        ("print(a)\n    return", "None"),
        ("if a:\n        return None\n    print(a)", "None"),
        ("return a", None),
        ("yield a", None),
        ("...", None),
        ("pass", None),
        ("'''Docstring.'''\n    raise NotImplementedError", None),
        ("raise ValueError(a)", None),
        ("return 'text'", "str"),
        ("return f'{a}'", "str"),
        ("if a:\n        return 1\n    return 2", "int"),
        ("if a:\n        return 1\n    return 'x'", None),
        ("if a:\n        return 1\n    print(a)", None),  # falls off the end: int | None
        ("def inner():\n        return 1\n    inner()", "None"),  # a nested function's return is not ours
    ],
)
def test_certain_return(body, expected):
    assert plan(f"def f(a: int):\n    {body}\n")["return"] == expected


def test_abstract_methods_and_overloads_get_no_return():
    code = """
    from abc import abstractmethod
    from typing import overload


    class Repo:
        @abstractmethod
        def save(self, item: int):
            print(item)

        @overload
        def get(self, key: int): ...
    """
    assert [f.data["fix"]["return"] for f in lint(code)] == [None, None]


SYNC = "from sqlalchemy.orm import Session\n\n\n"
ASYNC = "from sqlalchemy.ext.asyncio import AsyncSession as DB\n\n\n"


@pytest.mark.parametrize(
    ("code", "expected", "imports"),
    [
        (SYNC + "def f(db) -> None:\n    db.add(1)\n    db.commit()\n", "Session", []),
        (ASYNC + "async def f(session) -> None:\n    session.add(1)\n    await session.commit()\n", "DB", []),
        # used without await in an async def: a sync Session
        (SYNC + "async def f(db) -> None:\n    db.query(1).all()\n", "Session", []),
        # not used as a session at all
        (SYNC + "def f(db) -> None:\n    print(db)\n", None, []),
        # aiohttp's ClientSession is often called `session`
        ("import aiohttp\nimport sqlalchemy\n\n\nasync def f(session) -> None:\n    await session.get('https://x')\n", None, []),
        # encode/databases: `await db.execute(query)` is not an AsyncSession
        ("import sqlalchemy\n\n\nasync def f(db) -> None:\n    await db.execute(1)\n    await db.fetch_all(1)\n", None, []),
        # both sync and awaited use: contradictory, no answer
        (ASYNC + "async def f(session) -> None:\n    session.commit()\n    await session.flush()\n", None, []),
        # not imported here, but the module imports sqlalchemy: import the class
        ("from sqlalchemy import select\n\n\ndef f(session) -> None:\n    session.execute(select(1))\n    session.commit()\n", "Session", [["sqlalchemy.orm", "Session"]]),
        # `Session` means something else here
        ("from sqlalchemy import select\nfrom requests import Session\n\n\ndef f(session) -> None:\n    session.commit()\n", None, []),
        # a Depends(get_db) parameter that is not named like a session
        (SYNC + "def f(conn=Depends(get_db)) -> None:\n    conn.add(1)\n    conn.commit()\n", "Session", []),
    ],
)
def test_session_parameters(code, expected, imports):
    fix = plan(code)
    name = next(iter(fix["params"]), None)
    assert (fix["params"][name] if name else None) == expected
    assert fix["imports"] == imports


def test_sqlmodel_project_from_the_index():
    index = WorkspaceIndex()
    db = parse_source("/p/app/db.py", "app/db.py", "from sqlmodel import Session, create_engine\nengine = create_engine(URL)\n")
    index.update_tree("app/db.py", db.tree)
    fix = plan("def f(session) -> None:\n    session.exec(1)\n    session.commit()\n", index=index)
    assert fix["params"] == {"session": "Session"} and fix["imports"] == [["sqlmodel", "Session"]]
    afix = plan("async def f(session) -> None:\n    await session.exec(1)\n", index=index)
    assert afix["params"] == {"session": "AsyncSession"} and afix["imports"] == [["sqlmodel.ext.asyncio.session", "AsyncSession"]]


def test_no_library_known_means_no_session_type():
    assert plan("def f(session) -> None:\n    session.add(1)\n    session.commit()\n")["params"] == {}


def test_fixability_and_safety():
    nothing = only("def f(a):\n    return a\n")
    assert nothing.fix_title is None and not nothing.fixable
    safe = only("def f(a: int, limit=10):\n    print(a, limit)\n")
    assert safe.fix_title and safe.fixable and not safe.data["unsafe"]
    handler = """
    from fastapi import APIRouter

    router = APIRouter()


    @router.get("/items")
    def items(limit=10):
        print(limit)
    """
    routed = only(handler, path="app/routers/items.py", layer="router")
    assert routed.fix_title and not routed.fixable and routed.data["unsafe"]
    injected = """
    from fastapi import APIRouter, Depends
    from sqlalchemy.orm import Session

    router = APIRouter()


    @router.get("/items")
    def items(db=Depends(get_db)) -> None:
        db.commit()
    """
    session_only = only(injected, path="app/routers/items.py", layer="router")
    assert session_only.fixable and not session_only.data["unsafe"]  # Depends ignores the annotation
    decorated = only("@validate_call\ndef f(a: int, limit=10):\n    print(a, limit)\n")
    assert decorated.fix_title and not decorated.fixable
