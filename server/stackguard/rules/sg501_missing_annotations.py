"""A router, service or repository function lacks parameter or return annotations.

## What it does
Flags public functions and methods in router, service and repository
modules whose parameters or return type are not annotated. One finding per
function, on its name, listing what is missing.

Not checked: private helpers (`_name`) and methods of private classes,
dunder methods except `__init__` (whose parameters are checked, not its
return: `-> None` is implied for it, as in mypy), `self`/`cls` (the first
parameter of any non-static method), `*args` and `**kwargs` (they
usually forward to another callable, where the only honest type is often
`Any`), functions nested inside other functions (local helpers), tests,
and every other layer.

## Why is this bad?
Typed signatures are the contract between layers: the service a router
calls, the repository a service calls. Without them a type checker cannot
catch a handler passing a schema where a model is expected, an `int` id
where a UUID is stored, or a sync session handed to async code; FastAPI and
similar frameworks also read the annotations to validate, inject and
document request data. Untyped layers drift apart silently.

## Example
```python
class OrderService:
    def __init__(self, repo):
        self.repo = repo

    def list_orders(self, customer_id, limit=20):
        return self.repo.for_customer(customer_id, limit)

    def cancel(self, order_id):
        self.repo.cancel(order_id)
```

## Use instead
```python
class OrderService:
    def __init__(self, repo: OrderRepository) -> None:
        self.repo = repo

    def list_orders(self, customer_id: int, limit: int = 20) -> list[Order]:
        return self.repo.for_customer(customer_id, limit)

    def cancel(self, order_id: int) -> None:
        self.repo.cancel(order_id)
```

## Fix
Adds only the annotations that are certain, never `Any` and never a guess:
`-> None` when the function returns no value (not for generators, abstract
methods, overloads, stubs or raise-only bodies); `-> str` (`int`, `bool`…)
when every `return` returns a literal of that type and the body cannot
end without one; the type of a literal
default (`limit=20` → `limit: int = 20`, `str`, `bool`, `float`, `bytes`);
`Session` / `AsyncSession` for a session parameter used as one (ORM methods
called, awaited or not) when the project's session library is known from its
imports, importing the class if needed. When nothing is certain there is no
fix. Applied by `--fix` except on route handlers whose parameters would get
types: FastAPI-style frameworks validate by annotation, so that changes
behaviour and is left for review.

## References
- PEP 484: [Type hints](https://peps.python.org/pep-0484/)
- mypy: [Function signatures](https://mypy.readthedocs.io/en/stable/getting_started.html#function-signatures-and-dynamic-vs-static-typing)
- FastAPI: [Python types intro](https://fastapi.tiangolo.com/python-types/)
"""

from __future__ import annotations

import ast
import dataclasses
from collections.abc import Mapping
from typing import Any

from ..analysis.semantics import FunctionNode, dotted_name
from ._layering import handler_for_function
from ._typing import (
    SESSION_PARAM_NAMES,
    certain_return,
    literal_type,
    session_annotation,
    session_usage,
)
from .base import Rule, Span

# Decorators that leave a function's annotations without runtime meaning.
_INERT_DECORATORS = frozenset({"staticmethod", "classmethod", "property", "setter", "getter", "deleter", "cached_property", "abstractmethod", "overload", "override", "wraps", "final"})


class MissingAnnotations(Rule):
    code = "SG501"
    name = "missing-annotations"
    default_severity = "info"
    layers = frozenset({"router", "service", "repository"})
    node_types = (ast.FunctionDef, ast.AsyncFunctionDef)
    scope = "statement"
    fix_title = "Add the annotations that are certain"
    fix_safe = True

    def visit(self, node: ast.AST) -> None:
        assert isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        name = node.name
        if name.startswith("_") and name != "__init__":
            return
        if (node.returns is not None or name == "__init__") and _all_annotated(node.args):
            return  # the common case: nothing can be missing, whatever the owner
        owner = self._owner(node)
        if owner is False:
            return
        params = _checked_params(node, method=owner is not None)
        missing_params = [arg.arg for arg, _default in params if arg.annotation is None]
        missing_return = node.returns is None and name != "__init__"
        if not missing_params and not missing_return:
            return
        qualname = f"{owner.name}.{name}" if isinstance(owner, ast.ClassDef) else name
        fixes = self._certain(node, params, missing_params, missing_return)
        is_handler = handler_for_function(self.ctx, node) is not None
        # FastAPI-style frameworks validate by annotation: typing a handler's
        # parameters changes behaviour, so that fix is offered for review only.
        injected = {arg.arg for arg, default in params if _is_dependency(default)}
        typed = set(fixes["params"]) - injected
        unsafe = bool(typed) and (is_handler or not _inert_decorators(node))
        self.report(
            self._name_span(node),
            f"`{qualname}()` is missing type annotations: {_describe(missing_params, missing_return)}",
            data={
                "function": name,
                "qualname": qualname,
                "line": node.lineno,
                "params": missing_params,
                "return": missing_return,
                "fix": fixes,
                "unsafe": unsafe,
            },
            fixable=None if (fixes["return"] or fixes["params"]) else False,
        )
        if unsafe and self.ctx.findings and self.ctx.findings[-1].fixable:
            self.ctx.findings[-1] = dataclasses.replace(self.ctx.findings[-1], fixable=False)

    def _name_span(self, node: FunctionNode) -> Span:
        """The function's name on its ``def`` line (a string search: a regex
        per function name would be compiled for every function)."""
        text = self.ctx.source.line_text(node.lineno)
        keyword = text.find("def")
        start = text.find(node.name, keyword + 3) if keyword >= 0 else -1
        if start < 0:
            return self.ctx.span_of(node)
        return Span(node.lineno, start, node.lineno, start + len(node.name))

    def _owner(self, node: FunctionNode) -> ast.ClassDef | None | bool:
        """The class a method belongs to, None for a module-level function,
        False for functions nested in functions and members of private classes."""
        parent = getattr(node, "sg_parent", None)
        while isinstance(parent, (ast.If, ast.Try, ast.With)) or type(parent).__name__ == "TryStar":
            parent = getattr(parent, "sg_parent", None)
        if isinstance(parent, ast.Module):
            return None
        if isinstance(parent, ast.ClassDef):
            if parent.name.startswith("_"):
                return False
            return parent
        return False

    def _certain(
        self,
        node: FunctionNode,
        params: list[tuple[ast.arg, ast.expr | None]],
        missing_params: list[str],
        missing_return: bool,
    ) -> dict[str, Any]:
        """The annotations the fix may add: ``{"return": "None" | None,
        "params": {name: type}, "imports": [[module, name], ...]}``."""
        fix: dict[str, Any] = {"return": None, "params": {}, "imports": []}
        if missing_return:
            lines = self.ctx.source.lines[node.lineno - 1 : node.end_lineno or node.lineno]
            fix["return"] = certain_return(node, "\n".join(lines))
        missing = set(missing_params)
        for arg, default in params:
            if arg.arg not in missing:
                continue
            kind = literal_type(default)
            if kind is not None:
                fix["params"][arg.arg] = kind
                continue
            if arg.arg in SESSION_PARAM_NAMES or _is_session_dependency(default):
                usage = session_usage(node, arg.arg)
                annotation = session_annotation(self.ctx, usage) if usage is not None else None
                if annotation is not None:
                    text, module, imported = annotation
                    fix["params"][arg.arg] = text
                    if module is not None and [module, imported] not in fix["imports"]:
                        fix["imports"].append([module, imported])
        return fix


def _checked_params(node: FunctionNode, *, method: bool) -> list[tuple[ast.arg, ast.expr | None]]:
    """(parameter, default) pairs that need an annotation: not ``*args`` /
    ``**kwargs``, not a method's ``self``/``cls``."""
    args = node.args
    positional = [*args.posonlyargs, *args.args]
    defaults: list[ast.expr | None] = [None] * (len(positional) - len(args.defaults)) + list(args.defaults)
    pairs = list(zip(positional, defaults))
    if method and pairs and not _is_static(node):
        pairs = pairs[1:]
    pairs += list(zip(args.kwonlyargs, args.kw_defaults))
    return pairs


def _all_annotated(args: ast.arguments) -> bool:
    for arg in args.posonlyargs:
        if arg.annotation is None:
            return False
    for arg in args.args:
        if arg.annotation is None:
            return False
    for arg in args.kwonlyargs:
        if arg.annotation is None:
            return False
    return True


def _is_static(node: FunctionNode) -> bool:
    return any((dotted_name(d) or "").rsplit(".", 1)[-1] == "staticmethod" for d in node.decorator_list)


def _inert_decorators(node: FunctionNode) -> bool:
    for decorator in node.decorator_list:
        name = dotted_name(decorator.func if isinstance(decorator, ast.Call) else decorator) or ""
        if name.rsplit(".", 1)[-1] not in _INERT_DECORATORS:
            return False
    return True


def _is_dependency(default: ast.expr | None) -> bool:
    """``Depends(...)``-style injection: the framework ignores the annotation."""
    if not isinstance(default, ast.Call):
        return False
    return (dotted_name(default.func) or "").rsplit(".", 1)[-1] in ("Depends", "Provide", "Inject", "Security")


def _is_session_dependency(default: ast.expr | None) -> bool:
    """``Depends(get_db)`` / ``Depends(get_session)``."""
    if not isinstance(default, ast.Call) or not _is_dependency(default) or not default.args:
        return False
    target = (dotted_name(default.args[0]) or "").rsplit(".", 1)[-1].lower()
    return "session" in target or "db" in target


def _describe(params: list[str], returns: bool) -> str:
    parts = []
    if params:
        noun = "parameter" if len(params) == 1 else "parameters"
        parts.append(f"{noun} " + ", ".join(f"`{p}`" for p in params))
    if returns:
        parts.append("the return type")
    return " and ".join(parts)


def fix_summary(data: Mapping[str, Any]) -> str:
    """``-> None``, ``limit: int``… for a fix title."""
    fix = data.get("fix") or {}
    pieces = [f"{name}: {kind}" for name, kind in (fix.get("params") or {}).items()]
    if fix.get("return"):
        pieces.append(f"-> {fix['return']}")
    return ", ".join(pieces)

