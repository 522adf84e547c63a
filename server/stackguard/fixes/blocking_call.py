"""SG502 quick fix: stop a blocking call from stalling the event loop.

``time.sleep(x)`` becomes ``await asyncio.sleep(x)``; any other flagged
call ``f(*args, **kwargs)`` becomes ``await asyncio.to_thread(f, *args,
**kwargs)``, parenthesised where the result is used further
(``(await asyncio.to_thread(requests.get, url)).json()``). The module's own
way of naming asyncio is used (``import asyncio as aio`` → ``aio.to_thread``,
``from asyncio import sleep as async_sleep`` → ``async_sleep``), else
``import asyncio`` is added. A ``time``/``sleep`` import left unused by
the sleep rewrite is removed.

Switching to an async client (``httpx.AsyncClient``, ``AsyncSession``,
``redis.asyncio``) rewrites more than the call and is not attempted, also
when the project already uses one: the diagnostic names it.

No fix (None, reason logged) when the call cannot be found at the finding's
range, is already awaited, or sits in a generator expression, a lambda or a
sync function (where ``await`` is not allowed or changes what the code is),
or when the name ``asyncio`` means something else in the module. Never
marked safe: running a call in a thread changes which thread touches its
objects (a sync DB session or connection), which wants a look.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import libcst as cst
from libcst.codemod import CodemodContext, SkipFile

from ..rules.base import Finding
from .edits import (
    Fix,
    Located,
    StatementCodemod,
    in_file_fix,
    insert_import,
    module_bindings,
    new_context,
    parses,
    remove_unused_imports,
    run_codemod,
)

log = logging.getLogger(__name__)

TO_THREAD_TITLE = "Run `{call}` in a worker thread with `await asyncio.to_thread(...)`"
SLEEP_TITLE = "Replace `{call}` with `await asyncio.sleep(...)`"


def blocking_call_fix(finding: Finding, source_text: str, *, project_root: str | None = None, **_: Any) -> Fix | None:
    data: Mapping[str, Any] = finding.data or {}
    what = f"{finding.code} at {finding.relative or finding.path}:{finding.line}"
    call = str(data.get("call") or "the call")
    sleep = bool(data.get("sleep"))
    codemod = OffloadBlockingCall(
        new_context(finding.path),
        source_text,
        span=(finding.line, finding.column, finding.end_line, finding.end_column),
        sleep=sleep,
    )
    new = run_codemod(codemod, source_text, what)
    if new is None or not parses(new):
        return None
    title = (SLEEP_TITLE if sleep else TO_THREAD_TITLE).format(call=call)
    return in_file_fix(title, finding.code, finding.path, source_text, new, safe=False)


class OffloadBlockingCall(StatementCodemod):
    DESCRIPTION = "Await a blocking call in a worker thread, or asyncio.sleep for time.sleep."

    def __init__(self, context: CodemodContext, source_text: str, *, span: tuple[int, int, int, int], sleep: bool) -> None:
        super().__init__(context, source_text)
        self.span = span
        self.sleep = sleep

    def transform_module_impl(self, tree: cst.Module) -> cst.Module:
        line, column, end_line, end_column = self.span
        located = self.locate(tree, line)
        call = self._call_at(located, (line, column), (end_line, end_column))
        self._check_context(located, call)
        reference, needs_import = self._asyncio_reference(tree, "sleep" if self.sleep else "to_thread")
        if self.sleep:
            replacement_call = cst.Call(func=reference, args=call.args, whitespace_before_args=call.whitespace_before_args)
            removed_root = _root_name(call.func)
        else:
            replacement_call = _to_thread_call(reference, call)
            removed_root = None
        parent = located.parents.get(call)
        needs_parens = bool(call.lpar) or _used_further(parent, call)
        awaited = cst.Await(
            expression=replacement_call,
            lpar=[cst.LeftParen()] if needs_parens else [],
            rpar=[cst.RightParen()] if needs_parens else [],
        )
        replaced = located.replace(tree, call, awaited)
        # `located` indexes the original tree: add the import after the swap.
        if needs_import:
            replaced = insert_import(replaced, cst.parse_statement("import asyncio\n"))  # type: ignore[arg-type]
        if removed_root is not None:
            replaced = remove_unused_imports(replaced, [removed_root], lambda name: _name_used(replaced, name))
        return replaced

    def _call_at(self, located: Located, start: tuple[int, int], end: tuple[int, int]) -> cst.Call:
        for node in located.nodes_starting_on(start[0]):
            if isinstance(node, cst.Call) and located.start(node) == start and located.end(node) == end:
                return node
        raise _skip("no call at the finding's range (the text changed?)")

    def _check_context(self, located: Located, call: cst.Call) -> None:
        parent = located.parents.get(call)
        if isinstance(parent, cst.Await):
            raise _skip("the call is already awaited")
        current: cst.CSTNode | None = parent
        while current is not None:
            if isinstance(current, (cst.GeneratorExp, cst.Lambda)):
                raise _skip("`await` inside a generator expression or lambda would change the code's meaning")
            if isinstance(current, cst.FunctionDef):
                if current.asynchronous is None:
                    raise _skip("the call is in a sync function")
                return
            current = located.parents.get(current)
        raise _skip("the call is not inside an async function")

    def _asyncio_reference(self, tree: cst.Module, function: str) -> tuple[cst.BaseExpression, bool]:
        """How the module names ``asyncio.<function>``, and whether
        ``import asyncio`` must be added for it."""
        module_alias: str | None = None
        direct: str | None = None
        for statement in tree.body:
            if not isinstance(statement, cst.SimpleStatementLine):
                continue
            for small in statement.body:
                if isinstance(small, cst.Import):
                    for alias in small.names:
                        if _dotted(alias.name) == "asyncio":
                            module_alias = _alias(alias) or "asyncio"
                elif isinstance(small, cst.ImportFrom) and not isinstance(small.names, cst.ImportStar):
                    if small.relative or _dotted(small.module) != "asyncio":
                        continue
                    for alias in small.names:
                        if _dotted(alias.name) == function:
                            direct = _alias(alias) or function
        if direct is not None:
            return cst.Name(direct), False
        if module_alias is not None:
            return _attribute(module_alias, function), False
        if "asyncio" in module_bindings(tree):
            raise _skip("`asyncio` names something else in this module")
        return _attribute("asyncio", function), True


def _to_thread_call(reference: cst.BaseExpression, call: cst.Call) -> cst.Call:
    """``f(a, b=1)`` → ``to_thread(f, a, b=1)``, keeping the argument layout."""
    func = call.func.with_changes(lpar=[], rpar=[]) if isinstance(call.func, (cst.Name, cst.Attribute)) else call.func
    args = list(call.args)
    if not args:
        return cst.Call(func=reference, args=[cst.Arg(func)], whitespace_before_args=call.whitespace_before_args)
    multiline = isinstance(call.whitespace_before_args, cst.ParenthesizedWhitespace)
    separator = cst.Comma(whitespace_after=call.whitespace_before_args if multiline else cst.SimpleWhitespace(" "))
    return cst.Call(
        func=reference,
        args=[cst.Arg(func, comma=separator), *args],
        whitespace_before_args=call.whitespace_before_args,
    )


def _used_further(parent: cst.CSTNode | None, call: cst.Call) -> bool:
    """Whether the call's value is the object of an attribute, subscript or
    call (``f().json()``), where ``await`` needs parentheses."""
    if isinstance(parent, (cst.Attribute, cst.Subscript)):
        return parent.value is call
    return isinstance(parent, cst.Call) and parent.func is call


def _name_used(tree: cst.Module, name: str) -> bool:
    """Whether ``name`` is referenced anywhere outside import statements."""

    class Finder(cst.CSTVisitor):
        def __init__(self) -> None:
            super().__init__()
            self.found = False

        def visit_Import(self, node: cst.Import) -> bool:
            return False

        def visit_ImportFrom(self, node: cst.ImportFrom) -> bool:
            return False

        def visit_Attribute(self, node: cst.Attribute) -> bool:
            node.value.visit(self)  # `x.name` does not refer to `name`
            return False

        def visit_Name(self, node: cst.Name) -> None:
            if node.value == name:
                self.found = True

    finder = Finder()
    tree.visit(finder)
    return finder.found


def _root_name(expr: cst.BaseExpression) -> str | None:
    while isinstance(expr, cst.Attribute):
        expr = expr.value
    return expr.value if isinstance(expr, cst.Name) else None


def _attribute(base: str, attr: str) -> cst.Attribute:
    return cst.Attribute(value=cst.Name(base), attr=cst.Name(attr))


def _alias(alias: cst.ImportAlias) -> str | None:
    if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
        return alias.asname.name.value
    return None


def _dotted(node: cst.BaseExpression | None) -> str | None:
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        base = _dotted(node.value)
        return f"{base}.{node.attr.value}" if base else None
    return None


def _skip(reason: str) -> SkipFile:
    return SkipFile(reason)
