"""SG202 quick fix: load the relationship with the query instead of once per row.

SQLAlchemy (and SQLModel): ``.options(selectinload(Model.rel))`` for a
to-many relationship, ``joinedload`` for a to-one, right after the
``select(Model)`` / ``session.query(Model)`` call the finding points at; an
``.options(...)`` already on that query gets the loader as one more argument.
The loader is imported once (``from sqlalchemy.orm import selectinload``)
unless the module already has it, under any alias (``selectinload as sil``,
``from sqlalchemy import orm as sa_orm`` → ``sa_orm.selectinload``).

Django: ``.prefetch_related("comments")`` (to-many) or
``.select_related("author")`` (to-one) on the queryset, before any slice or
method that stops returning a queryset; an existing call of the same kind
gets the lookup added.

No fix (None, reason logged) when the query at the finding's position cannot
be found, the model is not named in the query, or the loader is already there.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import libcst as cst
from libcst.codemod import Codemod, SkipFile

from ..rules.base import Finding
from .edits import (
    Fix,
    Located,
    StatementCodemod,
    add_from_import,
    in_file_fix,
    module_bindings,
    new_context,
    parses,
    run_codemod,
)

log = logging.getLogger(__name__)

SQLALCHEMY_LOADERS = frozenset({"selectinload", "joinedload", "subqueryload", "immediateload"})
DJANGO_LOADERS = frozenset({"prefetch_related", "select_related"})
# Queryset methods that return a queryset, so a loader can follow them.
_QUERYSET_METHODS = frozenset(
    {
        "all", "filter", "exclude", "order_by", "annotate", "alias", "distinct", "only", "defer", "using",
        "select_related", "prefetch_related", "select_for_update", "reverse", "extra", "none", "union",
    }
)
_ORM_MODULES = ("sqlalchemy.orm", "sqlalchemy.orm.strategy_options")


def eager_load_fix(finding: Finding, source_text: str, **_: object) -> Fix | None:
    data: Mapping[str, Any] = finding.data or {}
    what = f"{finding.code} at {finding.relative or finding.path}:{finding.line}"
    model = str(data.get("model") or "")
    relationship = str(data.get("relationship") or "")
    query_line = data.get("query_line")
    query_col = data.get("query_col")
    if not model or not relationship.isidentifier() or not isinstance(query_line, int):
        log.info("%s: no fix: the finding does not say which model, relationship and query", what)
        return None
    orm = str(data.get("orm") or "sqlalchemy").lower()
    to_many = bool(data.get("to_many", True))
    loader = str(data.get("loader") or "")
    if orm == "django":
        if loader not in DJANGO_LOADERS:
            loader = "prefetch_related" if to_many else "select_related"
        codemod: Codemod = AddDjangoLoader(
            new_context(finding.path),
            source_text=source_text,
            relationship=relationship,
            loader=loader,
            line=query_line,
            column=_col(query_col),
            end=_end(data),
        )
        title = f'Add .{loader}("{relationship}") to the query'
    else:
        if loader not in SQLALCHEMY_LOADERS:
            loader = "selectinload" if to_many else "joinedload"
        codemod = AddSqlAlchemyLoader(
            new_context(finding.path),
            source_text=source_text,
            model=model.rsplit(".", 1)[-1],
            relationship=relationship,
            loader=loader,
            line=query_line,
            column=_col(query_col),
            end=_end(data),
        )
        title = f"Load {model.rsplit('.', 1)[-1]}.{relationship} with {loader}()"
    new = run_codemod(codemod, source_text, what)
    if new is None or not parses(new):
        return None
    # The diagnostic's title is what the client listed before resolving the action.
    return in_file_fix(finding.fix_title or title, finding.code, finding.path, source_text, new, safe=finding.fixable)


def _col(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _end(data: Mapping[str, Any]) -> tuple[int, int] | None:
    line, column = _col(data.get("query_end_line")), _col(data.get("query_end_col"))
    return (line, column) if line is not None and column is not None else None


def _exact(located: Located, line: int, column: int | None, end: tuple[int, int] | None) -> cst.BaseExpression | None:
    """The query expression spanning exactly the finding's query range."""
    if column is None or end is None:
        return None
    for kind in (cst.Call, cst.Attribute):
        for node in located.nodes_starting_on(line):
            if isinstance(node, kind) and located.start(node) == (line, column) and located.end(node) == end:
                return node
    return None


def _dotted(node: cst.BaseExpression) -> str | None:
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        base = _dotted(node.value)
        return f"{base}.{node.attr.value}" if base else None
    return None


def _method(call: cst.Call) -> str | None:
    return call.func.attr.value if isinstance(call.func, cst.Attribute) else None


def _chain_above(root: cst.BaseExpression, parents: Mapping[cst.CSTNode, cst.CSTNode]) -> list[cst.Call]:
    """The method calls applied to ``root``: ``root.a().b()`` → [a(), b()]."""
    chain: list[cst.Call] = []
    current: cst.CSTNode = root
    while True:
        attribute = parents.get(current)
        outer = parents.get(attribute) if attribute is not None else None
        if not (isinstance(attribute, cst.Attribute) and attribute.value is current and isinstance(outer, cst.Call) and outer.func is attribute):
            return chain
        chain.append(outer)
        current = outer


def _at(located: Located, line: int, column: int | None) -> list[cst.CSTNode]:
    """Calls/attributes starting at the position (on the line, when none starts exactly there)."""
    on_line: list[cst.CSTNode] = [n for n in located.nodes_starting_on(line) if isinstance(n, (cst.Call, cst.Attribute))]
    if column is not None:
        exact = [n for n in on_line if located.start(n)[1] == column]
        if exact:
            return exact
    return on_line


def _add_arg(call: cst.Call, value: cst.BaseExpression) -> cst.Call:
    args = list(call.args)
    if not args:
        return call.with_changes(args=[cst.Arg(value)])
    last = args[-1]
    multiline = isinstance(call.whitespace_before_args, cst.ParenthesizedWhitespace)
    separator = cst.Comma(whitespace_after=call.whitespace_before_args if multiline else cst.SimpleWhitespace(" "))
    args[-1] = last.with_changes(comma=separator, whitespace_after_arg=cst.SimpleWhitespace(""))
    args.append(cst.Arg(value, comma=last.comma, whitespace_after_arg=last.whitespace_after_arg))
    return call.with_changes(args=args)


def _append_method(base: cst.BaseExpression, method: str, arg: cst.BaseExpression) -> cst.Call:
    """``base.method(arg)``; parentheses around ``base`` move to the result."""
    lpar, rpar = base.lpar, base.rpar
    inner = base.with_changes(lpar=[], rpar=[])
    return cst.Call(func=cst.Attribute(value=inner, attr=cst.Name(method)), args=[cst.Arg(arg)], lpar=lpar, rpar=rpar)


class AddSqlAlchemyLoader(StatementCodemod):
    """``select(Model)`` → ``select(Model).options(selectinload(Model.rel))``."""

    DESCRIPTION = "Eager-load a relationship on a SQLAlchemy query."

    def __init__(
        self,
        context,
        *,
        source_text: str,
        model: str,
        relationship: str,
        loader: str,
        line: int,
        column: int | None,
        end: tuple[int, int] | None = None,
    ) -> None:
        super().__init__(context, source_text)
        self.end = end
        self.model = model
        self.relationship = relationship
        self.loader = loader
        self.line = line
        self.column = column

    def transform_module_impl(self, tree: cst.Module) -> cst.Module:
        located = self.locate(tree, self.line)
        query: cst.BaseExpression | None = None
        model_expr: cst.BaseExpression | None = None
        for node in _at(located, self.line, self.column):
            model_expr = self._model_of_root(node)  # type: ignore[arg-type]
            if model_expr is not None:
                query = node  # type: ignore[assignment]
                break
        if query is None or model_expr is None:
            # The statement was built in steps (`stmt = stmt.order_by(...)`):
            # the option goes on the expression the finding points at.
            query = _exact(located, self.line, self.column, self.end)
            if query is None or not _in_scope(tree, located, self.model):
                raise SkipFile(f"no select({self.model}) / query({self.model}) / {self.model}.query at line {self.line}")
            model_expr = cst.Name(self.model)
        loader_name, imported = self._loader_reference(tree)
        attribute = f"{_dotted(model_expr)}.{self.relationship}"
        chain = _chain_above(query, located.parents)
        for link in chain:
            if _method(link) == "options" and _mentions(link, attribute):
                raise SkipFile(f"{attribute} already has a loader option")
        option = cst.parse_expression(f"{loader_name}({attribute})")
        existing = next((link for link in chain if _method(link) == "options"), None)
        if existing is not None:
            updated = located.replace(tree, existing, _add_arg(existing, option))
        else:
            updated = located.replace(tree, query, _append_method(query, "options", option))
        if not imported:
            updated = add_from_import(updated, "sqlalchemy.orm", self.loader)
        return updated

    def _model_of_root(self, node: cst.BaseExpression) -> cst.BaseExpression | None:
        """The expression naming the model when ``node`` roots a query:
        ``select(Model)``, ``session.query(Model)``, Flask-SQLAlchemy ``Model.query``."""
        if isinstance(node, cst.Attribute):
            if node.attr.value == "query" and self._names_model(node.value):
                return node.value
            return None
        if not isinstance(node, cst.Call):
            return None
        func = node.func
        name = func.attr.value if isinstance(func, cst.Attribute) else func.value if isinstance(func, cst.Name) else ""
        if name not in ("select", "query"):
            return None
        for arg in node.args:
            if arg.keyword is None and not arg.star and self._names_model(arg.value):
                return arg.value
        return None

    def _names_model(self, node: cst.BaseExpression) -> bool:
        dotted = _dotted(node)
        return dotted is not None and dotted.rsplit(".", 1)[-1] == self.model

    def _loader_reference(self, tree: cst.Module) -> tuple[str, bool]:
        """How this module can name the loader: an existing import (any
        alias) of it or of ``sqlalchemy.orm``, else the bare name to import."""
        module_alias: str | None = None
        for statement in tree.body:
            if not isinstance(statement, cst.SimpleStatementLine):
                continue
            for small in statement.body:
                if isinstance(small, cst.ImportFrom) and not small.relative and not isinstance(small.names, cst.ImportStar):
                    source = _dotted(small.module) if small.module is not None else None
                    for alias in small.names:
                        imported = _dotted(alias.name)
                        local = alias.asname.name.value if alias.asname and isinstance(alias.asname.name, cst.Name) else imported
                        if source in _ORM_MODULES and imported == self.loader:
                            return str(local), True
                        if source == "sqlalchemy" and imported == "orm":
                            module_alias = module_alias or str(local)
                elif isinstance(small, cst.Import):
                    for alias in small.names:
                        imported = _dotted(alias.name)
                        if imported == "sqlalchemy.orm":
                            if alias.asname and isinstance(alias.asname.name, cst.Name):
                                module_alias = module_alias or alias.asname.name.value
                            else:
                                module_alias = module_alias or "sqlalchemy.orm"
        if module_alias is not None:
            return f"{module_alias}.{self.loader}", True
        return self.loader, False


def _in_scope(tree: cst.Module, located: Located, name: str) -> bool:
    """Whether ``name`` (the model) is usable here: referred to in the
    statement, or bound at module level (imported, defined)."""
    if any(isinstance(node, cst.Name) and node.value == name for node in located.positions):
        return True
    return name in module_bindings(tree)


def _mentions(call: cst.Call, attribute: str) -> bool:
    """Whether a loader in ``.options(...)`` already targets ``attribute``."""
    target = attribute.replace(" ", "")
    code = cst.Module([]).code_for_node(call).replace(" ", "").replace("\n", "")
    return f"({target})" in code or f"({target}," in code or f"({target}." in code


class AddDjangoLoader(StatementCodemod):
    """``Post.objects.filter(...)`` → ``Post.objects.filter(...).prefetch_related("comments")``."""

    DESCRIPTION = "Eager-load a relation on a Django queryset."

    def __init__(
        self,
        context,
        *,
        source_text: str,
        relationship: str,
        loader: str,
        line: int,
        column: int | None,
        end: tuple[int, int] | None = None,
    ) -> None:
        super().__init__(context, source_text)
        self.end = end
        self.relationship = relationship
        self.loader = loader
        self.line = line
        self.column = column

    def transform_module_impl(self, tree: cst.Module) -> cst.Module:
        located = self.locate(tree, self.line)
        parents = located.parents
        base = self._queryset_base(located) or _exact(located, self.line, self.column, self.end)
        if base is None:
            raise SkipFile(f"no Model.objects queryset at line {self.line}")
        # Walk outwards along the queryset-returning calls: the loader goes
        # after the last one, before a slice or a terminal method.
        last: cst.BaseExpression = base
        existing: cst.Call | None = None
        current: cst.CSTNode = base
        while True:
            attribute = parents.get(current)
            outer = parents.get(attribute) if attribute is not None else None
            if not (isinstance(attribute, cst.Attribute) and attribute.value is current and isinstance(outer, cst.Call)):
                break
            method = attribute.attr.value
            if method not in _QUERYSET_METHODS:
                break
            if method == self.loader:
                existing = outer
            last = outer
            current = outer
        lookup = cst.SimpleString(f'"{self.relationship}"')
        if existing is not None:
            for arg in existing.args:
                value = arg.value.evaluated_value if isinstance(arg.value, cst.SimpleString) else None
                if isinstance(value, str) and (value == self.relationship or value.startswith(f"{self.relationship}__")):
                    raise SkipFile(f"{self.relationship} is already loaded with {self.loader}")
            return located.replace(tree, existing, _add_arg(existing, lookup))
        # `last` may be the bare manager (`Post.objects`): it has the method too.
        return located.replace(tree, last, _append_method(last, self.loader, lookup))

    def _queryset_base(self, located: Located) -> cst.BaseExpression | None:
        """The ``Model.objects`` attribute of the queryset at the position."""
        found = [
            node
            for node in located.nodes_starting_on(self.line)
            if isinstance(node, cst.Attribute) and node.attr.value == "objects" and isinstance(node.value, (cst.Name, cst.Attribute))
        ]
        if not found:
            return None
        if self.column is not None:
            exact = [node for node in found if located.start(node)[1] == self.column]
            if exact:
                return exact[0]
        return found[0]
