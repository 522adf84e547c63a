"""``analysis.nodes``: the child fields the engine's walk trusts to hold
only nodes, None or lists of nodes (it does no isinstance tests)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from stackguard.analysis.nodes import _may_hold_nodes, child_fields, child_nodes, statement_list

# Every construct whose fields mix nodes and primitives, in one module.
EVERY_SHAPE = '''
from .pkg import name as alias, other
import os.path as osp
global_name: int = 1
x = {**base, "k": v, None: 1}
def f(a, /, b: int = 1, *args, c, d=2, **kw) -> "T":  # type: ignore[misc]
    global counter
    nonlocal_free = lambda q, *, r=1: q
    for item in items:  # type: list[int]
        async_gen = [y async for y in aiter() if y]
    with open(p) as fh, lock:  # type: ignore
        pass
    try:
        raise ValueError("x") from None
    except (KeyError, ValueError) as exc:
        print(f"{exc!r:>{width}} {1.5:.2f}")
    finally:
        del x[1:2:3], y.attr
    match command:
        case {"k": 1, **rest}:
            pass
        case Point(x=0, y=yy) | [1, *others]:
            pass
        case None | True:
            pass
        case str() as s if s:
            pass
    return (yield from g()) or (await h())
class C(Base, metaclass=Meta):
    attr: "int"
    def method(self): ...
'''


def _corpus() -> list[ast.AST]:
    trees = [ast.parse(EVERY_SHAPE, type_comments=True)]
    library = Path(ast.__file__).parent
    for name in ("ast.py", "typing.py", "dataclasses.py", "argparse.py", "asyncio/tasks.py", "enum.py"):
        trees.append(ast.parse((library / name).read_text(encoding="utf-8")))
    return trees


@pytest.mark.parametrize("tree", _corpus(), ids=lambda tree: str(len(ast.dump(tree))))
def test_child_fields_find_every_child_and_nothing_else(tree: ast.AST) -> None:
    singletons = (ast.expr_context, ast.operator, ast.unaryop, ast.boolop, ast.cmpop)
    for node in ast.walk(tree):
        expected = [child for child in ast.iter_child_nodes(node) if not isinstance(child, singletons)]
        found: list[ast.AST] = []
        for name in child_fields(type(node)):
            value = getattr(node, name, None)
            if isinstance(value, list):
                # What the engine's walk relies on: no strings in a list field.
                assert all(item is None or isinstance(item, ast.AST) for item in value), (type(node), name)
                found.extend(item for item in value if item is not None)
            elif value is not None:
                assert isinstance(value, ast.AST), (type(node).__name__, name, value)
                found.append(value)
        assert found == expected
        assert child_nodes(node) == expected


def test_primitive_fields_are_left_out() -> None:
    assert child_fields(ast.Name) == ()
    assert child_fields(ast.Constant) == ()
    assert child_fields(ast.Global) == ()
    assert child_fields(ast.Attribute) == ("value",)
    assert child_fields(ast.ImportFrom) == ("names",)
    assert child_fields(ast.FunctionDef)[:2] == ("args", "body")
    assert "value" in child_fields(ast.Assign)


def test_newer_pythons_field_types_decide() -> None:
    # 3.13+ annotate every field; a class with such annotations is read from
    # them, whatever its field names (TypeAlias.name is an expression).
    class Shaped(ast.AST):
        _fields = ("name", "label", "items", "maybe")
        _field_types = {"name": ast.expr, "label": str, "items": list[ast.stmt], "maybe": ast.expr | None}

    assert [name for name in Shaped._fields if _may_hold_nodes(Shaped, name)] == ["name", "items", "maybe"]


def test_type_alias_name_is_a_child_without_field_types() -> None:
    # 3.12's TypeAlias (no _field_types there) names its alias with an
    # expression; everywhere else ``name`` is an identifier.
    class TypeAlias(ast.AST):
        _fields = ("name", "type_params", "value")

    class TypeVar(ast.AST):
        _fields = ("name", "bound")

    assert child_fields(TypeAlias) == ("name", "type_params", "value")
    assert child_fields(TypeVar) == ("bound",)


def test_statement_list_visits_nested_blocks_in_order() -> None:
    tree = ast.parse(EVERY_SHAPE)
    everything = [node for node in ast.walk(tree) if isinstance(node, ast.stmt)]
    listed = statement_list(tree.body)
    assert sorted(map(id, listed)) == sorted(map(id, everything))
    assert [n.lineno for n in listed] == sorted(n.lineno for n in listed)

