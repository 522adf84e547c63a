"""Cheap iteration over ``ast`` trees, shared by the engine, the
incremental splicer and the rules' own walks: no generators, fields cached
per node type, operator and context singletons left out (no rule looks for
``ast.Load()`` or ``ast.Add()``, and they are shared across the tree)."""

from __future__ import annotations

import ast

# Fields that hold operator/context singletons (ast.Load(), ast.Add()…).
SINGLETON_FIELDS = frozenset({"ctx", "op", "ops"})
# Fields that hold identifiers, strings, numbers or Python constants in
# every node class that has them (the ASDL's identifier/string/int/constant
# fields; ``n`` and ``s`` are the deprecated Num/Str aliases).
PRIMITIVE_FIELDS = frozenset(
    {
        "id", "attr", "arg", "asname", "module", "level", "simple", "conversion", "is_async",
        "kind", "type_comment", "tag", "lineno", "rest", "kwd_attrs", "n", "s",
    }
)
# Fields whose primitiveness depends on the class: ``name`` is an identifier
# except in 3.12's TypeAlias (an expression), ``names`` is a list of strings
# in Global/Nonlocal (of alias nodes in imports), ``value`` is a constant in
# Constant and MatchSingleton (an expression elsewhere), ``str`` a constant
# in 3.14's Interpolation.
_PRIMITIVE_IN = {
    "name": lambda cls: cls.__name__ != "TypeAlias",
    "names": lambda cls: cls.__name__ in ("Global", "Nonlocal"),
    "value": lambda cls: issubclass(cls, (ast.Constant, ast.MatchSingleton)),
    "str": lambda cls: cls.__name__ == "Interpolation",
}
# Filled by ``child_fields``; hot loops (the engine's walk) read it directly.
CHILD_FIELDS: dict[type, tuple[str, ...]] = {}


# Node types that never have child nodes (their fields hold strings, numbers
# or lists of strings).
LEAF_TYPES = frozenset(
    {ast.Name, ast.Constant, ast.alias, ast.Pass, ast.Break, ast.Continue, ast.Global, ast.Nonlocal}
)


def _holds_nodes(annotation: object) -> bool:
    """Whether a ``_field_types`` annotation (3.13+: ``ast.expr``,
    ``list[ast.stmt]``, ``ast.expr | None``, ``str``…) admits AST nodes."""
    if isinstance(annotation, type) and issubclass(annotation, ast.AST):
        return True
    return any(_holds_nodes(argument) for argument in getattr(annotation, "__args__", ()))


def _may_hold_nodes(node_type: type, name: str) -> bool:
    if name in SINGLETON_FIELDS:
        return False
    field_types = getattr(node_type, "_field_types", None)
    if field_types and name in field_types:
        # 3.13+ says what each field holds.
        return _holds_nodes(field_types[name])
    if name in PRIMITIVE_FIELDS:
        return False
    primitive_in = _PRIMITIVE_IN.get(name)
    return primitive_in is None or not primitive_in(node_type)


def child_fields(node_type: type) -> tuple[str, ...]:
    """The fields of ``node_type`` that may hold child nodes: a node, None,
    or a list of nodes (and None, in ``Dict.keys`` and
    ``arguments.kw_defaults``). Operator/context singletons and primitive
    fields are left out, so walks need not test what each value is."""
    fields = CHILD_FIELDS.get(node_type)
    if fields is None:
        fields = CHILD_FIELDS[node_type] = tuple(
            name for name in getattr(node_type, "_fields", ()) if _may_hold_nodes(node_type, name)
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


def _block_fields(stmt_type: type) -> tuple[str, ...]:
    """The fields of a statement class that hold nested statements, in
    source order: ``body``/``orelse``/``finalbody`` (statement lists),
    ``handlers`` and ``cases`` (lists of nodes with a ``body``)."""
    blocks = ("body", "orelse", "finalbody", "handlers", "cases")
    return tuple(name for name in getattr(stmt_type, "_fields", ()) if name in blocks)


# Statement classes that hold nested statements; every other statement is a
# leaf, so the walks below skip the getattr probing for most statements.
_BLOCKS: dict[type, tuple[str, ...]] = {
    cls: fields for cls in ast.stmt.__subclasses__() if (fields := _block_fields(cls))
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
        names = blocks.get(type(stmt))
        if names is None:
            continue
        if not into_scopes and isinstance(stmt, scope_types):
            continue
        if names == ("body",):  # a def, class or with
            block = getattr(stmt, names[0], None)
            if isinstance(block, list):
                extend([child for child in block if isinstance(child, ast.stmt)][::-1])
            continue
        children: list[ast.stmt] = []
        for name in names:
            block = getattr(stmt, name, None) or ()
            if name in ("handlers", "cases"):
                for clause in block:
                    children.extend(getattr(clause, "body", None) or ())
            else:
                children.extend(child for child in block if isinstance(child, ast.stmt))
        extend(children[::-1])
    return found
