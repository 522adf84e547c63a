"""String-building analysis for SQL rules: is this expression an SQL string
with interpolated values, and are those values constant?

A value is *constant* (safe to interpolate) when it is a literal, a name
bound at module level to a constant, an imported or ALL_CAPS name, an
identifier attribute (``Model.__tablename__``, ``self.table_name``), a number
(``int(x)``, ``len(x)``, a parameter annotated ``int``), or something built
only from those: ``", ".join(["%s"] * len(ids))``, ``ALLOWED_SORTS[key]``,
a list appended to only with constants. Everything else (parameters, request
data, values returned by calls) is *variable*.

All of it is scoped to one function (or the module body) and computed once
per scope; the rules keep one ``Scope`` per function node.
"""

from __future__ import annotations

import ast
import re
import weakref
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, NamedTuple

from ..analysis.nodes import child_nodes, statement_list
from ..analysis.semantics import FunctionNode, callee_name
from ..analysis.source import SourceFile

if TYPE_CHECKING:
    from .base import RuleContext

# Keywords that make a string's constant text look like SQL.
_SQL_TEXT = re.compile(
    r"""
    ^\s*\(?\s*(SELECT|INSERT|UPDATE|DELETE|WITH|CREATE|DROP|ALTER|TRUNCATE|REPLACE|MERGE|UPSERT|GRANT|REVOKE|VACUUM|PRAGMA|EXPLAIN|CALL|EXEC)\b
    | \bSELECT\b[\s\S]*\bFROM\b
    | \bINSERT\s+INTO\b
    | \bUPDATE\b[\s\S]*\bSET\b
    | \bDELETE\s+FROM\b
    | \bWHERE\b
    | \bORDER\s+BY\b
    | \bGROUP\s+BY\b
    | \bVALUES\s*\(
    | \b(INNER|LEFT|RIGHT|OUTER|CROSS)\s+JOIN\b
    """,
    re.IGNORECASE | re.VERBOSE,
)

# Calls whose result is a number or a bool whatever the argument.
_NUMERIC_CALLS = frozenset({"int", "float", "len", "bool", "round", "abs", "range", "hash", "ord"})
# Builtins that keep their arguments' constancy.
_PASSTHROUGH_CALLS = frozenset({"list", "tuple", "set", "frozenset", "sorted", "reversed", "enumerate", "zip", "min", "max", "sum", "dict", "str"})
# str methods whose result is constant when the receiver and the arguments are.
_STR_METHODS = frozenset(
    {"join", "format", "upper", "lower", "strip", "lstrip", "rstrip", "replace", "title", "capitalize", "casefold", "removeprefix", "removesuffix", "split", "items", "keys", "values", "copy", "ljust", "rjust", "center", "zfill"}
)
# Attributes that hold identifiers set in code, not request data.
_IDENTIFIER_ATTRS = frozenset({"__tablename__", "db_table", "table", "table_name", "tablename", "_table", "_table_name", "__table__", "schema", "_schema"})
# Functions called as a statement on a value to check it (they raise).
_VALIDATOR_NAME = re.compile(r"^_*(?:validate|check|ensure|assert|verify|require)", re.IGNORECASE)
# ALL_CAPS attributes that hold request data (Django's request.GET and friends).
_REQUEST_ATTRS = frozenset({"GET", "POST", "FILES", "COOKIES", "META", "REQUEST", "DATA", "QUERY", "HEADERS", "FORM", "ARGS", "JSON"})
# Parameter annotations that cannot carry SQL text.
_SCALAR_ANNOTATIONS = frozenset({"int", "float", "bool", "Decimal", "UUID", "date", "datetime", "time", "timedelta", "PositiveInt", "NonNegativeInt", "conint"})


def source_text(source: SourceFile, node: ast.AST) -> str:
    """The node's source text, from the file's cached lines.
    ``SourceFile.segment`` (``ast.get_source_segment``) re-splits the whole
    file on every call, which is O(file) per finding or message."""
    try:
        lines = source.lines
        start, end = node.lineno, node.end_lineno  # type: ignore[attr-defined]
        col, end_col = node.col_offset, node.end_col_offset  # type: ignore[attr-defined]
        if end is None or end_col is None or not (0 < start <= end <= len(lines)):
            return ast.unparse(node)
        if start == end:
            return lines[start - 1].encode("utf-8")[col:end_col].decode("utf-8")
        first = lines[start - 1].encode("utf-8")[col:].decode("utf-8")
        last = lines[end - 1].encode("utf-8")[:end_col].decode("utf-8")
        return "\n".join([first, *lines[start : end - 1], last])
    except (AttributeError, UnicodeDecodeError, ValueError, RecursionError):
        try:
            return ast.unparse(node)
        except (ValueError, RecursionError):
            return ""


def looks_like_sql(text: str) -> bool:
    return bool(text) and _SQL_TEXT.search(text[:20_000]) is not None


def _is_caps(name: str) -> bool:
    letters = name.strip("_")
    return bool(letters) and letters.upper() == letters and any(c.isalpha() for c in letters)


def _annotation_is_scalar(annotation: ast.expr | None) -> bool:
    if annotation is None:
        return False
    if isinstance(annotation, ast.Constant) and isinstance(annotation.value, str):
        return annotation.value.rsplit(".", 1)[-1] in _SCALAR_ANNOTATIONS
    if isinstance(annotation, ast.Subscript):  # Optional[int], Annotated[int, Query()]
        head = annotation.value
        head_name = head.attr if isinstance(head, ast.Attribute) else getattr(head, "id", "")
        if head_name in ("Optional", "Annotated"):
            inner = annotation.slice
            first = inner.elts[0] if isinstance(inner, ast.Tuple) and inner.elts else inner
            return _annotation_is_scalar(first)
        return False
    if isinstance(annotation, ast.BinOp) and isinstance(annotation.op, ast.BitOr):
        sides = (annotation.left, annotation.right)
        return all(_annotation_is_scalar(s) or (isinstance(s, ast.Constant) and s.value is None) for s in sides)
    if isinstance(annotation, ast.Name):
        return annotation.id in _SCALAR_ANNOTATIONS
    if isinstance(annotation, ast.Attribute):
        return annotation.attr in _SCALAR_ANNOTATIONS
    if isinstance(annotation, ast.Call):  # conint(ge=0)
        return _annotation_is_scalar(annotation.func)
    return False


def walk_scope(body: list[ast.stmt]) -> Iterator[ast.AST]:
    """Every node of a scope's statements, not descending into nested
    functions, classes or lambdas (operator/context singletons left out)."""
    stack: list[ast.AST] = body[::-1]
    scope_types = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, scope_types):
            continue
        stack.extend(child_nodes(node)[::-1])


def scope_statements(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """Every statement of a scope, nested blocks included, in source order,
    not descending into nested functions or classes."""
    stack: list[ast.stmt] = list(reversed(body))
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
        for handler in getattr(stmt, "handlers", ()) or ():
            children.extend(handler.body)
        for case in getattr(stmt, "cases", ()) or ():
            children.extend(case.body)
        stack.extend(reversed(children))


class Binding(NamedTuple):
    """One way a name gets its value in a scope. (A named tuple: a scope
    creates one per assignment, and a frozen dataclass costs three times as
    much to build.)"""

    kind: str  # value | aug | item | items | iter | opaque
    value: ast.expr | None
    line: int
    op: ast.operator | None = None


@dataclass
class Scope:
    """The bindings of one function (or module body), for constancy checks."""

    bindings: dict[str, list[Binding]] = field(default_factory=dict)
    params: dict[str, ast.expr | None] = field(default_factory=dict)
    module: Scope | None = None  # the module scope, for module-level constants
    imported: frozenset[str] = frozenset()
    # Names checked against an allow-list or passed to a validator.
    guarded: set[str] = field(default_factory=set)
    # Membership guards: name -> the containers it is checked against.
    _allow_lists: dict[str, list[ast.expr]] = field(default_factory=dict)

    @classmethod
    def of_function(cls, func: FunctionNode, module: Scope) -> Scope:
        scope = cls(module=module, imported=module.imported)
        args = func.args
        for arg in (*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg):
            if arg is not None:
                scope.params[arg.arg] = arg.annotation
        scope._collect(func.body)
        return scope

    @classmethod
    def of_module(cls, tree: ast.Module, imported: set[str]) -> Scope:
        scope = cls(imported=frozenset(imported))
        scope._collect(tree.body)
        return scope

    def _add(self, name: str, binding: Binding) -> None:
        self.bindings.setdefault(name, []).append(binding)

    def _bind_target(self, target: ast.expr, value: ast.expr | None, line: int) -> None:
        if isinstance(target, ast.Name):
            self._add(target.id, Binding("value" if value is not None else "opaque", value, line))
        elif isinstance(target, (ast.Tuple, ast.List)):
            pairs = value.elts if isinstance(value, (ast.Tuple, ast.List)) and len(value.elts) == len(target.elts) else None
            for index, element in enumerate(target.elts):
                self._bind_target(element, pairs[index] if pairs else None, line)
        elif isinstance(target, ast.Starred):
            self._bind_target(target.value, None, line)
        elif isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name) and value is not None:
            self._add(target.value.id, Binding("item", value, line))

    def _bind_iteration(self, target: ast.expr, iterable: ast.expr, line: int) -> None:
        if isinstance(target, ast.Name):
            self._add(target.id, Binding("iter", iterable, line))
        else:  # for i, col in enumerate(COLUMNS): every element comes from the iterable
            for node in ast.walk(target):
                if isinstance(node, ast.Name):
                    self._add(node.id, Binding("iter", iterable, line))

    def _collect(self, body: list[ast.stmt]) -> None:
        """Statement-level bindings (assignments, loops, ``with``, imports,
        ``x.append(...)`` statements); expressions are not walked, so an
        assignment expression (``:=``) is not seen."""
        for node in statement_list(body, into_scopes=False):
            if isinstance(node, ast.Assign):
                for target in node.targets:
                    self._bind_target(target, node.value, node.lineno)
            elif isinstance(node, ast.AnnAssign):
                if node.value is not None:
                    self._bind_target(node.target, node.value, node.lineno)
            elif isinstance(node, ast.AugAssign):
                if isinstance(node.target, ast.Name):
                    self._add(node.target.id, Binding("aug", node.value, node.lineno, node.op))
            elif isinstance(node, (ast.For, ast.AsyncFor)):
                self._bind_iteration(node.target, node.iter, node.lineno)
            elif isinstance(node, (ast.With, ast.AsyncWith)):
                for item in node.items:
                    if item.optional_vars is not None:
                        self._bind_target(item.optional_vars, None, node.lineno)
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                for alias in node.names:
                    local = (alias.asname or alias.name).split(".", 1)[0]
                    self._add(local, Binding("opaque", None, node.lineno))
            elif isinstance(node, ast.Expr):
                self._note_container_call(node.value)
                self._note_validator_call(node.value)
            elif isinstance(node, ast.If):
                self._note_if_guard(node)
            elif isinstance(node, ast.Assert):
                self._note_membership(node.test, ast.In)
            elif isinstance(node, ast.Try):
                for handler in node.handlers:
                    if handler.name:
                        self._add(handler.name, Binding("opaque", None, handler.lineno))
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                self._add(node.name, Binding("opaque", None, node.lineno))

    def _note_if_guard(self, node: ast.If) -> None:
        """``if table not in ALLOWED: raise ...`` (or return): past it,
        ``table`` is one of the allowed values."""
        if node.body and isinstance(node.body[0], (ast.Raise, ast.Return, ast.Continue)):
            self._note_membership(node.test, ast.NotIn)

    def _note_membership(self, test: ast.expr, op: type[ast.cmpop]) -> None:
        if (
            isinstance(test, ast.Compare)
            and isinstance(test.left, ast.Name)
            and len(test.ops) == 1
            and isinstance(test.ops[0], op)
        ):
            self._allow_lists.setdefault(test.left.id, []).append(test.comparators[0])

    def _note_validator_call(self, value: ast.expr) -> None:
        """``validate_table_name(table)`` as a statement: a check that raises."""
        if isinstance(value, ast.Await):
            value = value.value
        if not isinstance(value, ast.Call):
            return
        func = value.func
        name = callee_name(func) or ""
        if _VALIDATOR_NAME.search(name):
            self.guarded.update(arg.id for arg in value.args if isinstance(arg, ast.Name))

    def _note_container_call(self, value: ast.expr) -> None:
        """``clauses.append("a = %s")``: what a list or dict is filled with."""
        if isinstance(value, ast.Await):
            value = value.value
        if not (isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute) and isinstance(value.func.value, ast.Name)):
            return
        method = value.func.attr
        owner = value.func.value.id
        if method in ("append", "add") and value.args:
            self._add(owner, Binding("item", value.args[0], value.lineno))
        elif method == "insert" and len(value.args) > 1:
            self._add(owner, Binding("item", value.args[1], value.lineno))
        elif method in ("extend", "update") and value.args:
            self._add(owner, Binding("items", value.args[0], value.lineno))

    # -- constancy -------------------------------------------------------

    def is_constant(self, expr: ast.expr, assume: frozenset[str] = frozenset(), seen: frozenset[str] = frozenset()) -> bool:
        """Whether ``expr`` can only evaluate to text fixed in code (so
        interpolating it into SQL cannot inject anything). ``assume``: names
        taken as constant; ``seen``: names being resolved (cycle guard)."""
        if isinstance(expr, ast.Constant):
            return True
        if isinstance(expr, ast.Name):
            return self._name_is_constant(expr.id, assume, seen)
        if isinstance(expr, ast.Attribute):
            if (_is_caps(expr.attr) and expr.attr not in _REQUEST_ATTRS) or expr.attr in _IDENTIFIER_ATTRS:
                return True
            # Model.__table__.name
            return expr.attr == "name" and isinstance(expr.value, ast.Attribute) and expr.value.attr == "__table__"
        if isinstance(expr, ast.JoinedStr):
            return all(
                self.is_constant(part.value, assume, seen)
                for part in expr.values
                if isinstance(part, ast.FormattedValue)
            )
        if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.Add):
            return all(self.is_constant(operand, assume, seen) for operand in _flatten_add(expr))
        if isinstance(expr, ast.BinOp):
            if isinstance(expr.op, ast.Mult):  # "?" * len(ids), ["%s"] * n
                return self.is_constant(expr.left, assume, seen) or self.is_constant(expr.right, assume, seen)
            return self.is_constant(expr.left, assume, seen) and self.is_constant(expr.right, assume, seen)
        if isinstance(expr, (ast.List, ast.Tuple, ast.Set)):
            return all(self.is_constant(e, assume, seen) for e in expr.elts)
        if isinstance(expr, ast.Dict):
            return all(v is not None and self.is_constant(v, assume, seen) for v in expr.values)
        if isinstance(expr, ast.Subscript):  # ALLOWED_SORTS[sort]: an allow-list lookup
            return self.is_constant(expr.value, assume, seen)
        if isinstance(expr, ast.IfExp):
            return self.is_constant(expr.body, assume, seen) and self.is_constant(expr.orelse, assume, seen)
        if isinstance(expr, (ast.Compare, ast.UnaryOp)):
            return True  # a bool or a number
        if isinstance(expr, ast.BoolOp):
            return all(self.is_constant(v, assume, seen) for v in expr.values)
        if isinstance(expr, (ast.ListComp, ast.SetComp, ast.GeneratorExp)):
            inner = self._with_comprehension(expr.generators, assume, seen)
            return inner is not None and self.is_constant(expr.elt, inner, seen)
        if isinstance(expr, ast.DictComp):
            inner = self._with_comprehension(expr.generators, assume, seen)
            return inner is not None and self.is_constant(expr.value, inner, seen)
        if isinstance(expr, ast.Call):
            return self._call_is_constant(expr, assume, seen)
        if isinstance(expr, ast.Starred):
            return self.is_constant(expr.value, assume, seen)
        if isinstance(expr, ast.FormattedValue):
            return self.is_constant(expr.value, assume, seen)
        return False

    def _with_comprehension(self, generators: list[ast.comprehension], assume: frozenset[str], seen: frozenset[str]) -> frozenset[str] | None:
        """Comprehension targets are constant when they iterate constants
        (``"?" for _ in ids`` has a constant element whatever ``ids`` is, so
        a target is only needed when the element uses it)."""
        names = set(assume)
        for generator in generators:
            targets = {n.id for n in ast.walk(generator.target) if isinstance(n, ast.Name)}
            if self.is_constant(generator.iter, frozenset(names), seen):
                names.update(targets)
        return frozenset(names)

    def _call_is_constant(self, call: ast.Call, assume: frozenset[str], seen: frozenset[str]) -> bool:
        func = call.func
        args = [*call.args, *(kw.value for kw in call.keywords)]
        if isinstance(func, ast.Name):
            if func.id in _NUMERIC_CALLS:
                return True
            if func.id in _PASSTHROUGH_CALLS:
                return all(self.is_constant(a, assume, seen) for a in args)
            return False
        if isinstance(func, ast.Attribute):
            if not self.is_constant(func.value, assume, seen):
                return False
            if func.attr == "get":  # ALLOWED.get(key, DEFAULT): the key only selects
                return len(call.args) < 2 or self.is_constant(call.args[1], assume, seen)
            if func.attr in _STR_METHODS:
                return all(self.is_constant(a, assume, seen) for a in args)
        return False

    def _name_is_constant(self, name: str, assume: frozenset[str], seen: frozenset[str]) -> bool:
        if name in assume or name in self.guarded:
            return True
        allow_lists = self._allow_lists.get(name)
        if allow_lists and name not in seen and all(self.is_constant(c, assume, seen | {name}) for c in allow_lists):
            return True
        if name in seen:
            return True  # a self-reference adds nothing new: judged by the other bindings
        if name in self.params and name not in self.bindings:
            return _annotation_is_scalar(self.params[name])
        bindings = self.bindings.get(name)
        if bindings is None:
            if self.module is not None:
                return self.module._name_is_constant(name, frozenset(), frozenset())
            return name in self.imported or _is_caps(name) or name in ("True", "False", "None")
        if name in self.imported and all(b.kind == "opaque" for b in bindings):
            return True  # an imported name: a module-level object from elsewhere
        inner = seen | {name}
        for binding in bindings:
            if binding.kind == "opaque" or binding.value is None:
                return False
            if not self.is_constant(binding.value, assume, inner):
                return False
        # A parameter that is also reassigned keeps its caller's value on some path.
        return name not in self.params or _annotation_is_scalar(self.params[name])

    def string_bindings(self, name: str, before_line: int) -> list[Binding]:
        """Bindings of ``name`` that can be in effect at ``before_line``."""
        return [b for b in self.bindings.get(name, ()) if b.line <= before_line]


class ScopeCache:
    """One ``Scope`` per function (and one for the module) per checked
    document, shared by every rule that reads local bindings."""

    def __init__(self, tree: ast.Module, imported: set[str]) -> None:
        self._tree = tree
        self._imported = imported
        self._module: Scope | None = None
        self._functions: dict[int, Scope] = {}

    def module(self) -> Scope:
        if self._module is None:
            self._module = Scope.of_module(self._tree, self._imported)
        return self._module

    def function(self, func: FunctionNode | None) -> Scope:
        if func is None:
            return self.module()
        scope = self._functions.get(id(func))
        if scope is None:
            scope = self._functions[id(func)] = Scope.of_function(func, self.module())
        return scope


_CACHES: weakref.WeakKeyDictionary[object, ScopeCache] = weakref.WeakKeyDictionary()


def scopes(ctx: RuleContext) -> ScopeCache:
    """The scope cache of one rule context (one document version)."""
    cache = _CACHES.get(ctx)
    if cache is None:
        cache = _CACHES[ctx] = ScopeCache(ctx.tree, set(ctx.imports.names))
    return cache


@dataclass
class Interpolation:
    """Variable values formatted into a string."""

    style: str  # fstring | percent | format | concat
    values: list[ast.expr]
    node: ast.expr  # the string-building expression
    text: str  # the constant parts, for the SQL-ness test


def constant_text(expr: ast.expr) -> str:
    """The constant string parts of a string-building expression."""
    parts: list[str] = []
    stack: list[ast.AST] = [expr]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            parts.append(node.value)
        elif isinstance(node, ast.JoinedStr):
            stack.extend(reversed(node.values))
        elif isinstance(node, ast.BinOp):
            stack.extend((node.right, node.left))
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format":
            stack.append(node.func.value)
    return " ".join(parts)


# Text right before a slot that makes the slot an identifier (a table or a
# column), which a bound parameter cannot replace.
_IDENTIFIER_BEFORE = re.compile(
    r"""(?:\b(?:FROM|JOIN|INTO|UPDATE|TABLE|TRUNCATE|BY|SELECT|DISTINCT|WHERE|ON|AND|OR|EXISTS|INDEX|SCHEMA|DATABASE|VIEW|COLUMN|RETURNING|AS|PRAGMA|ANALYZE|VACUUM|REINDEX)|[."`])\s*$""",
    re.IGNORECASE,
)
_VALUE_BEFORE = re.compile(r"""(?:[=<>(,'+\-*/%]|\b(?:LIKE|ILIKE|LIMIT|OFFSET|IN|BETWEEN|THEN|ELSE|VALUES|IS|NOT|SET))\s*$""", re.IGNORECASE)
_PERCENT_SLOT = re.compile(r"%(?:\(\w+\))?[-#0 +]*\d*(?:\.\d+)?[sdifrxXeEgGc]")
_FORMAT_SLOT = re.compile(r"\{[^{}]*\}")


def identifier_slot(found: Interpolation) -> bool:
    """Whether a variable value sits where SQL expects an identifier or a
    clause (``FROM {table}``, ``ORDER BY {column}``, ``{schema}.users``,
    ``WHERE {conditions}``): a bound parameter cannot replace it, so no
    automatic fix applies."""
    node = found.node
    if isinstance(node, ast.JoinedStr):
        variable = {id(v) for v in found.values}
        parts = node.values
        for index, part in enumerate(parts):
            if isinstance(part, ast.FormattedValue) and id(part.value) in variable:
                before = _text(parts[index - 1]) if index else ""
                after = _text(parts[index + 1]) if index + 1 < len(parts) else ""
                if _is_identifier_slot(before, after):
                    return True
        return False
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        operands = _flatten_add(node)
        variable = {id(v) for v in found.values}
        for index, operand in enumerate(operands):
            if id(operand) in variable:
                before = _text(operands[index - 1]) if index else ""
                after = _text(operands[index + 1]) if index + 1 < len(operands) else ""
                if _is_identifier_slot(before, after):
                    return True
        return False
    pattern = _PERCENT_SLOT if found.style == "percent" else _FORMAT_SLOT
    text = found.text
    for match in pattern.finditer(text):
        if _is_identifier_slot(text[: match.start()], text[match.end() :]):
            return True
    return False


def _text(node: ast.AST) -> str:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else ""


def _is_identifier_slot(before: str, after: str) -> bool:
    if after.startswith("."):
        return True  # {schema}.table
    if _VALUE_BEFORE.search(before):
        return False
    return _IDENTIFIER_BEFORE.search(before) is not None


def _flatten_add(expr: ast.BinOp) -> list[ast.expr]:
    operands: list[ast.expr] = []
    stack: list[ast.expr] = [expr]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            stack.extend((node.right, node.left))
        else:
            operands.append(node)
    return operands


def is_str_literal(expr: ast.expr) -> bool:
    return (isinstance(expr, ast.Constant) and isinstance(expr.value, str)) or isinstance(expr, ast.JoinedStr)


def interpolation(expr: ast.expr, scope: Scope, assume: frozenset[str] = frozenset()) -> Interpolation | None:
    """How ``expr`` formats variable values into a string, or None when it
    does not (a literal, a constant-only f-string, a call, a name)."""
    if isinstance(expr, ast.JoinedStr):
        values = [
            part.value
            for part in expr.values
            if isinstance(part, ast.FormattedValue) and not scope.is_constant(part.value, assume)
        ]
        return Interpolation("fstring", values, expr, constant_text(expr)) if values else None
    if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.Mod):
        if not (is_str_literal(expr.left) or _is_string_name(expr.left, scope)):
            return None
        right = expr.right
        items = list(right.elts) if isinstance(right, ast.Tuple) else [v for v in right.values if v is not None] if isinstance(right, ast.Dict) else [right]
        values = [v for v in items if not scope.is_constant(v, assume)]
        if not values:
            return None
        return Interpolation("percent", values, expr, constant_text(expr.left) or _name_text(expr.left, scope))
    if isinstance(expr, ast.Call) and isinstance(expr.func, ast.Attribute) and expr.func.attr == "format":
        receiver = expr.func.value
        if not (is_str_literal(receiver) or _is_string_name(receiver, scope)):
            return None
        items = [*expr.args, *(kw.value for kw in expr.keywords)]
        values = [v for v in items if not scope.is_constant(v, assume)]
        if not values:
            return None
        return Interpolation("format", values, expr, constant_text(receiver) or _name_text(receiver, scope))
    if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.Add):
        operands = _flatten_add(expr)
        if not any(is_str_literal(o) for o in operands):
            return None
        pieces: list[ast.expr] = []
        inner_style: str | None = None
        for operand in operands:
            if isinstance(operand, ast.Constant):
                continue
            if isinstance(operand, ast.JoinedStr):
                inner = interpolation(operand, scope, assume)
                if inner is not None:
                    pieces.extend(inner.values)
                    inner_style = inner_style or inner.style
                continue
            if not scope.is_constant(operand, assume):
                pieces.append(operand)
                inner_style = "concat"
        if not pieces:
            return None
        return Interpolation(inner_style or "concat", pieces, expr, constant_text(expr))
    return None


def _is_string_name(expr: ast.expr, scope: Scope) -> bool:
    """A name bound to string literals (a SQL template in a variable);
    bindings that reuse the name itself (``sql = sql.format(...)``) derive
    from those literals and do not count."""
    if not isinstance(expr, ast.Name):
        return False
    for current in (scope, scope.module):
        if current is None:
            continue
        bindings = current.bindings.get(expr.id)
        if bindings:
            own = [b for b in bindings if b.value is None or not _refers_to(b.value, expr.id)]
            return bool(own) and all(b.kind in ("value", "aug") and b.value is not None and is_str_literal(b.value) for b in own)
    return False


def _refers_to(expr: ast.expr, name: str) -> bool:
    return any(isinstance(node, ast.Name) and node.id == name for node in ast.walk(expr))


def _name_text(expr: ast.expr, scope: Scope) -> str:
    if not isinstance(expr, ast.Name):
        return ""
    for current in (scope, scope.module):
        if current is None:
            continue
        bindings = current.bindings.get(expr.id)
        if bindings:
            return " ".join(constant_text(b.value) for b in bindings if b.value is not None)
    return ""
