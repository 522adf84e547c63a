"""What can be said for certain about a function's types, from ``ast`` alone:
the type of a literal default, whether a function returns nothing, and
whether a parameter is used as a synchronous or an asynchronous DB session.
Used by SG501 (missing annotations) to decide which annotations its fix may
add; nothing here guesses: every answer is "certain" or None.

Also the sync/async session classes a project uses, from its imports (the
module's own, then the workspace index's).

Private to the rules package; the lead may promote parts to semantics.py.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

from ..analysis.semantics import FunctionNode, dotted_name, walk_function_body

if TYPE_CHECKING:
    from .base import RuleContext

# Session classes per library: (sync module, sync name), (async module, async name).
SESSION_CLASSES: dict[str, tuple[tuple[str, str], tuple[str, str]]] = {
    "sqlmodel": (("sqlmodel", "Session"), ("sqlmodel.ext.asyncio.session", "AsyncSession")),
    "sqlalchemy": (("sqlalchemy.orm", "Session"), ("sqlalchemy.ext.asyncio", "AsyncSession")),
}
SYNC_SESSION_QUALIFIED = frozenset({"sqlalchemy.orm.Session", "sqlalchemy.orm.session.Session", "sqlmodel.Session", "sqlmodel.orm.session.Session"})
ASYNC_SESSION_QUALIFIED = frozenset(
    {"sqlalchemy.ext.asyncio.AsyncSession", "sqlalchemy.ext.asyncio.session.AsyncSession", "sqlmodel.ext.asyncio.session.AsyncSession"}
)
# Parameter names conventionally holding an ORM session (not a raw connection).
SESSION_PARAM_NAMES = frozenset({"session", "db", "db_session", "async_session", "dbsession", "sess"})
# Methods only ORM sessions have (not HTTP client sessions, not encode/databases).
ORM_ONLY_METHODS = frozenset(
    {"commit", "rollback", "flush", "refresh", "scalars", "scalar", "scalar_one", "scalar_one_or_none", "merge", "add", "add_all", "exec", "query", "expunge", "bulk_save_objects"}
)
# Session methods awaited on an AsyncSession.
AWAITABLE_SESSION_METHODS = frozenset(
    {"execute", "exec", "scalars", "scalar", "scalar_one", "scalar_one_or_none", "commit", "rollback", "flush", "refresh", "merge", "get", "delete", "stream", "stream_scalars", "close"}
)
# Session I/O that, called without `await`, means a synchronous Session.
SYNC_IO_METHODS = frozenset({"execute", "exec", "scalars", "scalar", "scalar_one", "scalar_one_or_none", "commit", "rollback", "flush", "refresh", "merge", "query"})
# Decorators after which the def's body says nothing certain about its type.
_ABSTRACT_DECORATORS = frozenset({"abstractmethod", "overload", "abstractproperty"})


def literal_type(default: ast.expr | None) -> str | None:
    """``int`` for ``10`` / ``-1``, ``str``, ``bool``, ``float``, ``bytes``;
    None for anything else (``None`` says nothing about the other type)."""
    if isinstance(default, ast.UnaryOp) and isinstance(default.op, (ast.USub, ast.UAdd)):
        default = default.operand
        if isinstance(default, ast.Constant) and isinstance(default.value, bool):
            return None
    if not isinstance(default, ast.Constant):
        return None
    value = default.value
    if isinstance(value, bool):
        return "bool"
    for kind in (int, float, str, bytes):
        if isinstance(value, kind):
            return kind.__name__
    return None


def certain_return(func: FunctionNode, source: str | None = None) -> str | None:
    """The return annotation that is certain for ``func``, or None:

    ``"None"`` when it returns no value — no ``return <value>``, not a
    generator, not abstract or an overload, and a real body (not a stub of
    ``...`` / ``pass`` / docstring, and not raise-only, which is
    ``NoReturn``); ``"str"`` / ``"int"`` / ``"bool"`` / ``"float"`` /
    ``"bytes"`` when every ``return`` returns a literal of that one type
    (f-strings are ``str``) and the body cannot fall off its end.

    ``source``, the function's text when the caller has it, lets a function
    without the word ``yield`` skip the expression walk that looks for one;
    returns are statements, found by a statement-level walk."""
    for decorator in func.decorator_list:
        name = dotted_name(decorator.func if isinstance(decorator, ast.Call) else decorator) or ""
        if name.rsplit(".", 1)[-1] in _ABSTRACT_DECORATORS:
            return None
    body = list(func.body)
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str):
        body = body[1:]
    if not body or all(_is_stub_statement(stmt) for stmt in body):
        return None
    if (source is None or "yield" in source) and _is_generator(func):
        return None
    returns = list(_own_returns(func))
    with_value = [r for r in returns if r.value is not None and not (isinstance(r.value, ast.Constant) and r.value.value is None)]
    if not with_value:
        if isinstance(body[-1], ast.Raise) and not returns:
            return None  # always raises: NoReturn, not None
        return "None"
    if len(with_value) != len(returns) or not isinstance(body[-1], (ast.Return, ast.Raise)):
        return None  # a bare return, or a path that ends without one: the result may be None
    kinds = {"str" if isinstance(r.value, ast.JoinedStr) else literal_type(r.value) for r in with_value}
    if len(kinds) != 1 or None in kinds:
        return None
    return kinds.pop()


def _own_returns(func: FunctionNode) -> Iterator[ast.Return]:
    for stmt in own_statements(func):
        if isinstance(stmt, ast.Return):
            yield stmt


def own_statements(func: FunctionNode) -> Iterator[ast.stmt]:
    """Every statement of ``func``'s body, nested blocks included, without
    expressions and without the bodies of nested functions and classes
    (their code runs elsewhere); much cheaper than an expression walk."""
    stack: list[ast.stmt] = list(reversed(func.body))
    while stack:
        stmt = stack.pop()
        yield stmt
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        children: list[ast.stmt] = []
        for name in ("body", "orelse", "finalbody"):
            block = getattr(stmt, name, None)
            if isinstance(block, list):
                children.extend(child for child in block if isinstance(child, ast.stmt))
        for handler in getattr(stmt, "handlers", None) or ():
            children.extend(handler.body)
        for case in getattr(stmt, "cases", None) or ():
            children.extend(case.body)
        stack.extend(reversed(children))


def bound_names(target: ast.expr) -> list[str]:
    """Names an assignment target binds (``a``, ``a, (b, *c)``); none for
    subscripts and attributes, which write into an existing object."""
    if isinstance(target, ast.Name):
        return [target.id]
    if isinstance(target, (ast.Tuple, ast.List)):
        return [name for element in target.elts for name in bound_names(element)]
    if isinstance(target, ast.Starred):
        return bound_names(target.value)
    return []


def _is_generator(func: FunctionNode) -> bool:
    return any(isinstance(node, (ast.Yield, ast.YieldFrom)) for node in walk_function_body(func))


def _is_stub_statement(stmt: ast.stmt) -> bool:
    if isinstance(stmt, (ast.Pass, ast.Raise)):
        return True
    return isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant) and (stmt.value.value is Ellipsis or isinstance(stmt.value.value, str))


def session_usage(func: FunctionNode, name: str) -> str | None:
    """``"sync"`` when ``name`` is certainly an ORM session used
    synchronously in ``func`` (session I/O called without ``await``),
    ``"async"`` when that I/O is awaited, None otherwise. Needs a method only
    ORM sessions have (``commit``, ``scalars``, ``add``…): a parameter named
    ``session`` is often an HTTP client session (``await session.get(url)``)
    or an encode/databases ``Database`` (``await db.execute(query)``)."""
    awaited: set[int] = set()
    sync = asynchronous = distinctive = False
    for node in walk_function_body(func):
        if isinstance(node, ast.Await) and isinstance(node.value, ast.Call):
            awaited.add(id(node.value))
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
            continue
        receiver = node.func.value
        if not (isinstance(receiver, ast.Name) and receiver.id == name):
            continue
        method = node.func.attr
        distinctive = distinctive or method in ORM_ONLY_METHODS
        if id(node) in awaited:
            asynchronous = asynchronous or method in AWAITABLE_SESSION_METHODS
        elif method in SYNC_IO_METHODS:
            sync = True
    if not distinctive or sync == asynchronous:
        return None
    return "async" if asynchronous else "sync"


def project_session_library(ctx: RuleContext) -> str | None:
    """``sqlmodel`` or ``sqlalchemy``: the library whose session classes the
    project uses, from this module's imports, then every indexed module's;
    None when neither is imported, or the answer is unclear."""
    roots = {qualified.split(".", 1)[0] for qualified in ctx.imports.names.values()}
    found = _library_of(roots)
    if found is not None:
        return found
    index = ctx.index
    summaries = getattr(index, "summaries", None)
    if not summaries:
        return None
    modules: set[str] = set()
    for summary in summaries.values():
        for record in summary.imports:
            modules.add(record.module.split(".", 1)[0])
    return _library_of(modules)


def _library_of(roots: Iterable[str]) -> str | None:
    roots = set(roots)
    if "sqlmodel" in roots:
        return "sqlmodel"
    if "sqlalchemy" in roots:
        return "sqlalchemy"
    return None


def session_annotation(ctx: RuleContext, kind: str) -> tuple[str, str | None, str | None] | None:
    """(annotation text, module to import from or None, name to import or
    None) for a ``kind`` ("sync" | "async") session in this module: the name
    the module already imports (under any alias), else the project's
    library's class, to be imported. None when unknown or the name is taken."""
    wanted = SYNC_SESSION_QUALIFIED if kind == "sync" else ASYNC_SESSION_QUALIFIED
    for local, qualified in ctx.imports.names.items():
        if qualified in wanted:
            return local, None, None
    # A module-level import of the package (`import sqlalchemy.orm`) is not
    # worth the special cases: import the class.
    library = project_session_library(ctx)
    if library is None:
        return None
    module, name = SESSION_CLASSES[library][0 if kind == "sync" else 1]
    if name in ctx.imports.names or name in _module_bindings(ctx.tree):
        return None  # the name means something else here
    return name, module, name


def _module_bindings(tree: ast.Module) -> set[str]:
    names: set[str] = set()
    for stmt in tree.body:
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(stmt.name)
        elif isinstance(stmt, ast.Assign):
            names.update(t.id for t in stmt.targets if isinstance(t, ast.Name))
        elif isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
            names.add(stmt.target.id)
    return names
