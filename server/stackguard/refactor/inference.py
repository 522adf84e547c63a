"""Annotations for generated functions: copied from the handler where it has
them (``payload: UserCreate``, ``-> list[User]``), else inferred from simple
expressions and ORM queries (``session.get(User, id)`` → ``User | None``,
narrowed to ``User`` by a following ``if user is None: raise``), else ``Any``.

A type is text plus the imports it needs in the module it is written into.
"""

from __future__ import annotations

import ast
import builtins
from dataclasses import dataclass
from typing import Protocol

from ..analysis.semantics import ImportMap, dotted_name
from ..rules._orm import QueryReader
from ..rules._sql import Scope
from .base import ImportSpec, ProjectView
from .handler_plan import HTTP_PREFIXES, session_alias_target

_BUILTIN_TYPES = frozenset(name for name in dir(builtins) if isinstance(getattr(builtins, name), type)) | {"None"}
_STR_METHODS = frozenset({"strip", "lstrip", "rstrip", "lower", "upper", "title", "capitalize", "casefold", "replace", "format", "join", "sub", "removeprefix", "removesuffix", "zfill"})
_SINGLE_OR_NONE = frozenset({"first", "one_or_none", "scalar", "scalar_one_or_none", "get_or_none", "afirst", "alast", "last", "latest", "earliest"})
_SINGLE = frozenset({"one", "scalar_one", "get_or_404", "first_or_404", "one_or_404", "create", "aget", "acreate"})
_COUNTS = frozenset({"count", "acount"})
_EXISTS = frozenset({"exists", "aexists"})


@dataclass(frozen=True)
class TypeRef:
    text: str
    imports: tuple[ImportSpec, ...] = ()

    def optional(self) -> TypeRef:
        if self.text.endswith("| None") or self.text in ("Any", "None"):
            return self
        return TypeRef(f"{self.text} | None", self.imports)

    def required(self) -> TypeRef:
        if self.text.endswith(" | None"):
            return TypeRef(self.text[: -len(" | None")], self.imports)
        return self


ANY = TypeRef("Any", (ImportSpec("typing", "Any"),))
NONE = TypeRef("None")
INT = TypeRef("int")
STR = TypeRef("str")
BOOL = TypeRef("bool")


class FunctionContext(Protocol):
    """What inference reads about the function code comes from (a
    ``HandlerPlan`` is one)."""

    text: str
    tree: ast.Module
    imports: ImportMap
    bindings: dict[str, ImportSpec]
    func: ast.FunctionDef | ast.AsyncFunctionDef
    params: list[str]
    session: str | None
    prologue: list[ast.stmt]
    is_async: bool


class Inference:
    def __init__(self, project: ProjectView, plan: FunctionContext) -> None:
        self.project = project
        self.plan = plan
        self.models = set(project.index.models)
        module_scope = Scope.of_module(plan.tree, set(plan.imports.names))
        self.reader = QueryReader(plan.imports, Scope.of_function(plan.func, module_scope), self._is_model)
        self._local_defs = {
            s.name for s in plan.tree.body if isinstance(s, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
        }
        self._env: dict[str, TypeRef] = {}

    def _is_model(self, name: str) -> bool:
        return name in self.models

    # -- annotations written in the handler ------------------------------------
    def annotation(self, node: ast.expr | None) -> TypeRef | None:
        """The annotation as written, with its imports; None when it names web
        framework types or classes only the router module defines."""
        if node is None:
            return None
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return None
        imports: list[ImportSpec] = []
        for sub in ast.walk(node):
            if not isinstance(sub, ast.Name):
                continue
            spec = self.plan.bindings.get(sub.id)
            if spec is not None:
                if (spec.qualified + ".").startswith(HTTP_PREFIXES):
                    return None
                imports.append(spec)
            elif sub.id in self._local_defs or sub.id not in _BUILTIN_TYPES:
                return None
        text = ast.get_source_segment(self.plan.text, node) or ast.unparse(node)
        return TypeRef(text, tuple(imports))

    def parameter(self, name: str) -> TypeRef:
        """The service parameter's type."""
        args = self.plan.func.args
        arg = next((a for a in (*args.posonlyargs, *args.args, *args.kwonlyargs) if a.arg == name), None)
        if name == self.plan.session:
            return self.session_type(arg.annotation if arg is not None else None)
        if arg is not None:
            annotation = arg.annotation
            if isinstance(annotation, ast.Subscript) and (dotted_name(annotation.value) or "").rsplit(".", 1)[-1] == "Annotated":
                inner = annotation.slice
                annotation = inner.elts[0] if isinstance(inner, ast.Tuple) and inner.elts else inner
            found = self.annotation(annotation)
            if found is not None:
                return found
            default = _default_of(self.plan.func, name)
            if isinstance(default, ast.Constant) and default.value is not None and type(default.value).__name__ in _BUILTIN_TYPES:
                return TypeRef(type(default.value).__name__)
            return ANY
        # A prologue value: its last assignment before the core.
        value = _last_assignment(self.plan.prologue, name)
        found = self.expression(value) if value is not None else None
        return found or ANY

    def session_type(self, annotation: ast.expr | None) -> TypeRef:
        if isinstance(annotation, ast.Subscript) and (dotted_name(annotation.value) or "").rsplit(".", 1)[-1] == "Annotated":
            inner = annotation.slice
            annotation = inner.elts[0] if isinstance(inner, ast.Tuple) and inner.elts else inner
        if isinstance(annotation, ast.Name):
            alias = session_alias_target(self.project, self.plan.bindings, annotation.id)
            if alias is not None:
                name, spec = alias
                root = name.split(".", 1)[0]
                if spec is not None and spec.local == root:
                    return TypeRef(name, (spec,))
        found = self.annotation(annotation)
        if found is not None and found.text != "Any":
            return found
        orms = {model.orm for model in self.project.index.models.values()}
        if self.plan.is_async:
            return TypeRef("AsyncSession", (ImportSpec("sqlalchemy.ext.asyncio", "AsyncSession"),))
        if orms == {"sqlmodel"}:
            return TypeRef("Session", (ImportSpec("sqlmodel", "Session"),))
        return TypeRef("Session", (ImportSpec("sqlalchemy.orm", "Session"),))

    # -- inferred ----------------------------------------------------------------
    def model(self, expr: ast.expr | None) -> TypeRef | None:
        name = dotted_name(expr) if expr is not None else None
        if name is None or "." in name:
            return None
        spec = self.plan.bindings.get(name)
        qualified = spec.qualified if spec is not None else name
        if qualified.rsplit(".", 1)[-1] in self.models:
            return TypeRef(name, (spec,) if spec is not None else ())
        return None

    def expression(self, expr: ast.expr | None) -> TypeRef | None:
        if expr is None:
            return None
        if isinstance(expr, ast.Await):
            return self.expression(expr.value)
        if isinstance(expr, ast.Constant):
            if expr.value is None:
                return NONE
            name = type(expr.value).__name__
            return TypeRef(name) if name in _BUILTIN_TYPES else None
        if isinstance(expr, ast.JoinedStr):
            return STR
        if isinstance(expr, (ast.Compare, ast.BoolOp)) and not (isinstance(expr, ast.BoolOp) and isinstance(expr.op, ast.Or)):
            return BOOL
        if isinstance(expr, ast.UnaryOp) and isinstance(expr.op, ast.Not):
            return BOOL
        if isinstance(expr, ast.Name):
            return self._env.get(expr.id) or (self.parameter(expr.id) if expr.id in self.plan.params else None)
        if isinstance(expr, ast.BinOp):
            left, right = self.expression(expr.left), self.expression(expr.right)
            if left is not None and right is not None and left.text == right.text and left.text in ("int", "str", "float"):
                return left
            if {getattr(left, "text", None), getattr(right, "text", None)} == {"int", "float"}:
                return TypeRef("float")
            return None
        if isinstance(expr, ast.Call):
            return self._call(expr)
        return None

    def _call(self, call: ast.Call) -> TypeRef | None:
        func = call.func
        if isinstance(func, ast.Name):
            if func.id in ("str", "repr"):
                return STR
            if func.id in ("int", "len", "round"):
                return INT
            if func.id in ("bool", "any", "all", "isinstance"):
                return BOOL
            if func.id == "float":
                return TypeRef("float")
            if func.id in ("min", "max") and call.args:
                return self.expression(call.args[0]) or (self.expression(call.args[1]) if len(call.args) > 1 else None)
            model = self.model(func)
            if model is not None:
                return model
        query = self.reader.read(call)
        if isinstance(func, ast.Attribute):
            method = func.attr
            receiver = func.value
            if method in ("model_validate", "from_orm", "parse_obj"):
                model = self.model(receiver)
                if model is not None:
                    return model
            counts = any(isinstance(n, ast.Call) and (dotted_name(n.func) or "").rsplit(".", 1)[-1] == "count" for n in ast.walk(call))
            if method in ("scalar", "scalar_one") and counts:
                return INT
            if method in ("scalar", "scalar_one", "scalar_one_or_none", "first_or_404", "one_or_404") and call.args:
                statement = self.reader.read(call.args[0])
                if statement is not None and statement.shape == "stmt" and not statement.columns:
                    model = self._model_named(statement.model)
                    if model is not None:
                        return model.optional() if method in ("scalar", "scalar_one_or_none") else model
            if method == "get_or_404" and call.args:
                model = self.model(call.args[0])
                if model is not None:
                    return model
            if method in _COUNTS:
                return INT
            if method in _EXISTS:
                return BOOL
            if method == "get" and call.args:
                model = self.model(call.args[0])
                if model is not None:  # session.get(Model, id)
                    return model.optional()
                if isinstance(receiver, ast.Attribute) and receiver.attr == "objects":
                    return self.model(receiver.value)  # Model.objects.get(...) raises when missing
            if method in ("get", "create", "get_or_create") and isinstance(receiver, ast.Attribute) and receiver.attr == "objects":
                model = self.model(receiver.value)
                if model is not None and method == "get_or_create":
                    return TypeRef(f"tuple[{model.text}, bool]", model.imports)
                return model
            if method in _STR_METHODS:
                return STR
            if method == "get" and isinstance(receiver, ast.Attribute) and receiver.attr == "args":
                for keyword in call.keywords:
                    if keyword.arg == "type" and isinstance(keyword.value, ast.Name) and keyword.value.id in ("int", "str", "float", "bool"):
                        return TypeRef(keyword.value.id)
                return TypeRef("str | None")
        if query is not None:
            model = self._model_named(query.model)
            if model is None:
                return None
            last = func.attr if isinstance(func, ast.Attribute) else ""
            if query.shape == "one":
                if last in _SINGLE:
                    return model
                if last in _SINGLE_OR_NONE:
                    return model.optional()
                return None
            if query.shape == "models" and not query.columns:
                if isinstance(func, ast.Attribute):  # ScalarResult.all() and friends
                    return TypeRef(f"Sequence[{model.text}]", (*model.imports, ImportSpec("collections.abc", "Sequence")))
                return TypeRef(f"list[{model.text}]", model.imports)
            if query.shape == "queryset":
                return TypeRef(f"QuerySet[{model.text}]", (*model.imports, ImportSpec("django.db.models", "QuerySet")))
            if query.shape == "scalars" and not query.columns:
                if last == "all":
                    return TypeRef(f"Sequence[{model.text}]", (*model.imports, ImportSpec("collections.abc", "Sequence")))
                if last in ("scalars", "exec"):
                    return TypeRef(f"ScalarResult[{model.text}]", (*model.imports, ImportSpec("sqlalchemy", "ScalarResult")))
        return None

    def _model_named(self, name: str) -> TypeRef | None:
        for local, spec in self.plan.bindings.items():
            if spec.qualified.rsplit(".", 1)[-1] == name:
                return TypeRef(local, (spec,))
        return TypeRef(name) if name in self.models else None

    def learn(self, statements: list[ast.stmt]) -> None:
        for statement in statements:
            self._learn(statement)

    def local(self, name: str, statements: list[ast.stmt]) -> TypeRef | None:
        """The type of ``name`` after ``statements`` ran: its last
        assignment's type, narrowed by a later ``if name is None: raise``."""
        self.learn(statements)
        found = self._env.get(name)
        if found is None:
            return None
        if any(_guards_none(statement, name) for statement in statements):
            found = found.required()
        return found

    def _learn(self, statement: ast.stmt) -> None:
        for node in ast.walk(statement):
            if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                found = self.annotation(node.annotation)
                if found is not None:
                    self._env[node.target.id] = found
            elif isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                found = self.expression(node.value)
                if found is not None:
                    self._env[node.targets[0].id] = found
            elif isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Tuple):
                value = self.expression(node.value)
                if value is not None and value.text.startswith("tuple[") and isinstance(node.targets[0].elts[0], ast.Name):
                    inner = value.text[len("tuple[") : -1].split(", ")
                    for element, text in zip(node.targets[0].elts, inner):
                        if isinstance(element, ast.Name):
                            self._env[element.id] = TypeRef(text, value.imports)


def _guards_none(statement: ast.stmt, name: str) -> bool:
    """``if name is None: raise/abort/return`` (or ``if not name:``)."""
    if not isinstance(statement, ast.If):
        return False
    test = statement.test
    tested = False
    if isinstance(test, ast.Compare) and isinstance(test.left, ast.Name) and test.left.id == name:
        tested = len(test.ops) == 1 and isinstance(test.ops[0], ast.Is) and isinstance(test.comparators[0], ast.Constant) and test.comparators[0].value is None
    elif isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not) and isinstance(test.operand, ast.Name):
        tested = test.operand.id == name
    elif isinstance(test, ast.BoolOp) and isinstance(test.op, ast.Or) and test.values:
        first = test.values[0]
        probe = ast.If(test=first, body=statement.body, orelse=[])
        tested = _guards_none(probe, name)
    if not tested or not statement.body:
        return False
    last = statement.body[-1]
    if isinstance(last, (ast.Raise, ast.Return)):
        return True
    return isinstance(last, ast.Expr) and isinstance(last.value, ast.Call) and (dotted_name(last.value.func) or "").endswith("abort")


def _last_assignment(statements: list[ast.stmt], name: str) -> ast.expr | None:
    found: ast.expr | None = None
    for statement in statements:
        for node in ast.walk(statement):
            if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in node.targets) or isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.target.id == name:
                found = node.value
    return found


def _default_of(func: ast.FunctionDef | ast.AsyncFunctionDef, name: str) -> ast.expr | None:
    args = func.args
    positional = [*args.posonlyargs, *args.args]
    defaults = [None] * (len(positional) - len(args.defaults)) + list(args.defaults)
    for arg, default in [*zip(positional, defaults), *zip(args.kwonlyargs, args.kw_defaults)]:
        if arg.arg == name:
            return default
    return None
