"""Cheap iteration over ``ast`` trees, shared by the engine, the
incremental splicer and the rules' own walks: no generators, fields cached
per node type, operator and context singletons left out (no rule looks for
``ast.Load()`` or ``ast.Add()``, and they are shared across the tree)."""

from __future__ import annotations

import ast

# Fields that hold operator/context singletons (ast.Load(), ast.Add()…).
SINGLETON_FIELDS = frozenset({"ctx", "op", "ops"})
# Filled by ``child_fields``; hot loops (the engine's walk) read it directly.
CHILD_FIELDS: dict[type, tuple[str, ...]] = {}


# Node types that never have child nodes (their fields hold strings, numbers
# or lists of strings).
LEAF_TYPES = frozenset(
    {ast.Name, ast.Constant, ast.alias, ast.Pass, ast.Break, ast.Continue, ast.Global, ast.Nonlocal}
)


def child_fields(node_type: type) -> tuple[str, ...]:
    """The fields of ``node_type`` that may hold child nodes."""
    fields = CHILD_FIELDS.get(node_type)
    if fields is None:
        fields = CHILD_FIELDS[node_type] = tuple(
            name for name in getattr(node_type, "_fields", ()) if name not in SINGLETON_FIELDS
        )
    return fields


def child_nodes(node: ast.AST) -> list[ast.AST]:
    """``list(ast.iter_child_nodes(node))`` without the operator and context
    singletons, about three times cheaper."""
    children: list[ast.AST] = []
    add = children.append
    AST = ast.AST
    for name in child_fields(type(node)):
        value = getattr(node, name, None)
        if value is None:
            continue
        if type(value) is list:
            for item in value:
                if isinstance(item, AST):
                    add(item)
        elif isinstance(value, AST):
            add(value)
    return children


def _block_fields(stmt_type: type) -> tuple[tuple[str, ...], bool, bool]:
    """(statement-list fields, has ``handlers``, has ``cases``) of a statement class."""
    fields = getattr(stmt_type, "_fields", ())
    return tuple(n for n in ("body", "orelse", "finalbody") if n in fields), "handlers" in fields, "cases" in fields


# Statement classes that hold nested statements; every other statement is a
# leaf, so the walks below skip the getattr probing for most statements.
_BLOCKS: dict[type, tuple[tuple[str, ...], bool, bool]] = {
    cls: shape for cls in ast.stmt.__subclasses__() if (shape := _block_fields(cls)) != ((), False, False)
}


def statement_list(body: list[ast.stmt], *, into_scopes: bool = True) -> list[ast.stmt]:
    """Every statement under ``body``, nested blocks included, in source
    order; with ``into_scopes=False`` not descending into nested functions or
    classes (the statements of one scope)."""
    found: list[ast.stmt] = []
    add = found.append
    blocks = _BLOCKS
    scope_types = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
    stack = body[::-1]
    pop, extend = stack.pop, stack.extend
    while stack:
        stmt = pop()
        add(stmt)
        shape = blocks.get(type(stmt))
        if shape is None:
            continue
        if not into_scopes and isinstance(stmt, scope_types):
            continue
        names, has_handlers, has_cases = shape
        if len(names) == 1 and not has_handlers and not has_cases:
            block = getattr(stmt, names[0], None)
            if isinstance(block, list):
                extend([child for child in block if isinstance(child, ast.stmt)][::-1])
            continue
        children: list[ast.stmt] = []
        for name in names:
            block = getattr(stmt, name, None)
            if isinstance(block, list):
                children.extend(child for child in block if isinstance(child, ast.stmt))
        if has_handlers:
            for handler in getattr(stmt, "handlers", None) or ():
                children.extend(handler.body)
        if has_cases:
            for case in getattr(stmt, "cases", None) or ():
                children.extend(case.body)
        extend(children[::-1])
    return found
