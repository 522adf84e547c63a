"""What an ORM query expression returns: which model, in which shape (a
statement, a result, rows, an iterable of model instances, one object), with
which eager-loading options and whether it is bounded by a limit.

Covers SQLAlchemy 2.0 (``session.scalars(select(User))``,
``session.execute(select(User)).scalars().all()``), the legacy
``session.query(User)``, SQLModel (``session.exec(select(Hero))``),
Flask-SQLAlchemy (``User.query``, ``db.select``, ``db.session``) and Django
managers/querysets (``User.objects.filter(...)``), followed through local
variables (``stmt = select(User)``; ``stmt = stmt.where(...)``;
``users = session.scalars(stmt).all()``). Anything not understood is None:
the rules stay quiet rather than guess.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from dataclasses import dataclass, replace

from ..analysis.semantics import ImportMap, dotted_name
from ._sql import Scope

SELECT_FUNCTIONS = frozenset(
    {
        "sqlalchemy.select",
        "sqlalchemy.future.select",
        "sqlalchemy.sql.select",
        "sqlalchemy.sql.expression.select",
        "sqlmodel.select",
        "sqlmodel.sql.expression.select",
    }
)
# Loader options that load the relationship with the parent query (or make
# lazy loading impossible), so reading it per row issues no query.
EAGER_LOADERS = frozenset({"selectinload", "joinedload", "subqueryload", "immediateload", "contains_eager", "raiseload", "noload"})
OTHER_LOADERS = frozenset({"lazyload", "defaultload", "load_only", "defer", "undefer", "undefer_group", "selectin_polymorphic", "with_expression", "Load"})
# Query methods that keep the shape (statement, legacy query, queryset).
STATEMENT_METHODS = frozenset(
    {"where", "filter", "filter_by", "order_by", "join", "outerjoin", "join_from", "outerjoin_from", "select_from", "distinct", "group_by", "having", "execution_options", "params", "with_for_update", "correlate", "prefix_with", "suffix_with", "where_in", "enable_eagerloads", "populate_existing", "yield_per", "autoflush", "with_hint", "order_by_", "reset_joinpoint"}
)
BOUNDING_METHODS = frozenset({"limit", "offset", "slice", "fetch", "paginate", "get_page", "page"})
SINGLE_METHODS = frozenset({"first", "one", "one_or_none", "scalar", "scalar_one", "scalar_one_or_none", "get", "count", "exists", "first_or_404", "one_or_404", "get_or_404", "last", "latest", "earliest", "aggregate", "in_bulk", "get_or_create", "update_or_create", "create", "update", "delete", "afirst", "alast", "aget", "acount", "aexists", "aaggregate", "contains", "explain"})
QUERYSET_METHODS = frozenset(
    {"all", "filter", "exclude", "order_by", "annotate", "alias", "distinct", "only", "defer", "using", "reverse", "select_for_update", "iterator", "none", "complex_filter", "union", "intersection", "difference", "extra", "raw_filter", "prefetch_related", "select_related"}
)
RESULT_ROWS_METHODS = frozenset({"all", "fetchall", "mappings", "partitions", "tuples", "fetchmany"})
# Shapes that iterate model instances.
MODEL_ITERABLES = frozenset({"scalars", "query", "queryset", "models"})
# Shapes that are collections of rows (what a list endpoint returns).
COLLECTIONS = frozenset({"scalars", "query", "queryset", "models", "result", "rows", "values"})


@dataclass(frozen=True)
class Query:
    model: str
    orm: str  # sqlalchemy | sqlmodel | flask-sqlalchemy | django
    shape: str  # stmt | result | scalars | rows | query | queryset | values | models | one
    node: ast.expr  # the statement / query / queryset expression an option is added to
    loaded: frozenset[str] = frozenset()  # eager-loaded relationships ("*": all, "*fk": Django select_related())
    opaque_options: bool = False  # options we cannot read (a variable, *args, a helper call)
    bounded: bool = False  # limit/offset/slice/paginate
    awaited: bool = False  # went through ``await`` (an async session)
    columns: bool = False  # selects columns or several entities: rows, not model instances
    names: frozenset[str] = frozenset()  # names used in the chain's arguments


class QueryReader:
    """Reads query expressions of one scope (function or module)."""

    def __init__(self, imports: ImportMap, scope: Scope, is_model: Callable[[str], bool]) -> None:
        self.imports = imports
        self.scope = scope
        self.is_model = is_model

    def read(self, expr: ast.expr, depth: int = 0) -> Query | None:
        if depth > 12:
            return None
        if isinstance(expr, ast.Await):
            found = self.read(expr.value, depth + 1)
            return replace(found, awaited=True) if found is not None else None
        if isinstance(expr, ast.Name):
            return self._read_name(expr, depth)
        if isinstance(expr, ast.Subscript):
            found = self.read(expr.value, depth + 1)
            if found is None or found.shape not in COLLECTIONS:
                return None
            if isinstance(expr.slice, ast.Slice):
                return replace(found, bounded=True, names=found.names | _names_in(expr.slice))
            return replace(found, shape="one")
        if isinstance(expr, ast.Call):
            return self._read_call(expr, depth)
        return None

    def _read_name(self, name: ast.Name, depth: int) -> Query | None:
        bindings = [b for b in self.scope.bindings.get(name.id, ()) if b.line < name.lineno]
        if not bindings:
            return None
        latest = bindings[-1]
        if latest.kind != "value" or latest.value is None:
            return None
        return self.read(latest.value, depth + 1)

    def _model_of(self, expr: ast.expr | None) -> str | None:
        if expr is None:
            return None
        name = dotted_name(expr)
        if name is None:
            return None
        last = name.rsplit(".", 1)[-1]
        return last if last[:1].isupper() and self.is_model(last) else None

    def _read_call(self, call: ast.Call, depth: int) -> Query | None:
        func = call.func
        first = call.args[0] if call.args and not isinstance(call.args[0], ast.Starred) else None
        if isinstance(func, ast.Name) and func.id in ("list", "tuple", "sorted") and first is not None:
            inner = self.read(first, depth + 1)
            if inner is not None and inner.shape in MODEL_ITERABLES:
                return replace(inner, shape="models")
            if inner is not None and inner.shape in COLLECTIONS:
                return replace(inner, shape="rows" if inner.shape != "values" else "values")
            return None
        resolved = self.imports.resolve(func) or ""
        dotted = dotted_name(func) or ""
        if resolved in SELECT_FUNCTIONS or dotted == "db.select" or dotted.endswith(".db.select"):
            return self._select(call, resolved, dotted)
        if not isinstance(func, ast.Attribute):
            return None
        method = func.attr
        receiver = func.value
        if method in ("scalars", "execute", "exec", "stream_scalars", "stream") and first is not None:
            statement = self.read(first, depth + 1)
            if statement is None or statement.shape != "stmt":
                return None
            if method in ("scalars", "stream_scalars"):
                shape = "rows" if statement.columns else "scalars"
            elif method == "exec":  # SQLModel: scalars for one entity, rows otherwise
                shape = "rows" if statement.columns else "scalars"
                statement = replace(statement, orm="sqlmodel" if statement.orm == "sqlalchemy" else statement.orm)
            else:
                shape = "result"
            return replace(statement, shape=shape)
        if method == "query" and first is not None:
            model = self._model_of(first)
            if model is None:
                return None
            orm = "flask-sqlalchemy" if (dotted_name(receiver) or "").endswith("db.session") else "sqlalchemy"
            return Query(model, orm, "query", call, columns=len(call.args) > 1)
        # Django manager and Flask-SQLAlchemy Model.query as the chain's root.
        if isinstance(receiver, ast.Attribute) and receiver.attr == "objects":
            model = self._model_of(receiver.value)
            if model is None:
                return None
            base = Query(model, "django", "queryset", receiver)
            return self._apply(base, call, method)
        if isinstance(receiver, ast.Attribute) and receiver.attr == "query" and not isinstance(receiver.value, ast.Call):
            model = self._model_of(receiver.value)
            if model is None:
                return None
            base = Query(model, "flask-sqlalchemy", "query", receiver)
            return self._apply(base, call, method)
        inner = self.read(receiver, depth + 1)
        if inner is None:
            return None
        return self._apply(inner, call, method)

    def _select(self, call: ast.Call, resolved: str, dotted: str) -> Query | None:
        if not call.args or call.keywords:
            return None
        orm = "sqlmodel" if resolved.startswith("sqlmodel") else "flask-sqlalchemy" if dotted.endswith("db.select") else "sqlalchemy"
        model = self._model_of(call.args[0])
        if model is not None and len(call.args) == 1:
            return Query(model, orm, "stmt", call)
        # select(User.id, User.name) / select(User, Address): rows, not instances
        base = dotted_name(call.args[0]) or ""
        owner = base.split(".", 1)[0] if "." in base else base
        if owner[:1].isupper() and self.is_model(owner):
            return Query(owner, orm, "stmt", call, columns=True)
        return None

    def _apply(self, query: Query, call: ast.Call, method: str) -> Query | None:
        """The query after ``.method(...)``."""
        shape = query.shape
        names = query.names | _call_names(call)
        if method in BOUNDING_METHODS:
            if method in ("paginate", "get_page", "page") and shape not in ("query", "stmt", "queryset"):
                return None
            return replace(query, node=call, bounded=True, names=names) if shape in ("stmt", "query", "queryset") else None
        if shape == "stmt":
            if method == "options":
                return self._with_sqlalchemy_options(replace(query, node=call, names=names), call)
            if method in STATEMENT_METHODS:
                return replace(query, node=call, names=names)
            return None
        if shape == "query":
            if method == "options":
                return self._with_sqlalchemy_options(replace(query, node=call, names=names), call)
            if method in STATEMENT_METHODS:
                return replace(query, node=call, names=names)
            if method == "all":
                return replace(query, shape="rows" if query.columns else "models")
            if method in SINGLE_METHODS:
                return replace(query, shape="one")
            return None
        if shape == "queryset":
            if method in ("select_related", "prefetch_related"):
                return self._with_django_loading(replace(query, node=call, names=names), call, method)
            if method in ("values", "values_list"):
                return replace(query, node=call, shape="values", names=names)
            if method in QUERYSET_METHODS:
                return replace(query, node=call, names=names)
            if method in SINGLE_METHODS:
                return replace(query, shape="one")
            return None
        if shape == "values":
            if method in QUERYSET_METHODS:
                return replace(query, node=call, names=names)
            return replace(query, shape="one") if method in SINGLE_METHODS else None
        if shape == "result":
            if method == "scalars":
                return replace(query, shape="rows" if query.columns else "scalars")
            if method == "unique":
                return query
            if method in RESULT_ROWS_METHODS:
                return replace(query, shape="rows")
            if method in SINGLE_METHODS:
                return replace(query, shape="one")
            return None
        if shape == "scalars":
            if method in ("all", "unique", "fetchall", "fetchmany"):
                return replace(query, shape="scalars") if method == "unique" else replace(query, shape="models")
            if method in SINGLE_METHODS:
                return replace(query, shape="one")
            return None
        return None

    def _with_sqlalchemy_options(self, query: Query, call: ast.Call) -> Query:
        loaded = set(query.loaded)
        opaque = query.opaque_options
        for arg in call.args:
            first_hop = _first_loader_hop(arg)
            if first_hop is None:
                opaque = True
                continue
            loader, attr = first_hop
            if loader in EAGER_LOADERS and attr:
                loaded.add(attr)
        return replace(query, loaded=frozenset(loaded), opaque_options=opaque)

    def _with_django_loading(self, query: Query, call: ast.Call, method: str) -> Query:
        loaded = set(query.loaded)
        opaque = query.opaque_options
        if method == "select_related" and not call.args:
            loaded.add("*fk")  # every non-null forward foreign key
        for arg in call.args:
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                loaded.add(arg.value.split("__", 1)[0])
            elif isinstance(arg, ast.Call) and (dotted_name(arg.func) or "").rsplit(".", 1)[-1] == "Prefetch":
                lookup = arg.args[0] if arg.args else next((k.value for k in arg.keywords if k.arg == "lookup"), None)
                to_attr = next((k.value for k in arg.keywords if k.arg == "to_attr"), None)
                for item in (lookup, to_attr):
                    if isinstance(item, ast.Constant) and isinstance(item.value, str):
                        loaded.add(item.value.split("__", 1)[0])
                    elif item is not None:
                        opaque = True
            else:
                opaque = True
        return replace(query, loaded=frozenset(loaded), opaque_options=opaque)


def _first_loader_hop(option: ast.expr) -> tuple[str, str] | None:
    """``selectinload(User.items).joinedload(Item.tags)`` → ("selectinload",
    "items"); ``Load(User).selectinload(User.items)`` the same;
    ``joinedload("*")`` → ("joinedload", "*"). None for options we cannot
    read (a variable, a helper function)."""
    chain: list[ast.Call] = []
    node: ast.expr = option
    while isinstance(node, ast.Call):
        chain.append(node)
        func = node.func
        node = func.value if isinstance(func, ast.Attribute) else func
    chain.reverse()
    for link in chain:
        func = link.func
        name = func.attr if isinstance(func, ast.Attribute) else (func.id if isinstance(func, ast.Name) else "")
        if name in ("Load", "load_only", "defer", "undefer", "undefer_group", "with_expression", "selectin_polymorphic"):
            if name == "Load":
                continue
            return (name, "")
        if name in EAGER_LOADERS or name in OTHER_LOADERS:
            target = link.args[0] if link.args else None
            return (name, _attribute_name(target) or "")
        return None
    return None


def _attribute_name(expr: ast.expr | None) -> str | None:
    if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
        return expr.value.split(".", 1)[0]
    if isinstance(expr, ast.Attribute):
        return expr.attr
    if isinstance(expr, ast.Call) and isinstance(expr.func, ast.Attribute):  # User.items.of_type(X), .and_(...)
        return _attribute_name(expr.func.value)
    return None


def _names_in(node: ast.AST) -> frozenset[str]:
    return frozenset(n.id for n in ast.walk(node) if isinstance(n, ast.Name))


def _call_names(call: ast.Call) -> frozenset[str]:
    names: set[str] = set()
    for arg in (*call.args, *(k.value for k in call.keywords)):
        names.update(_names_in(arg))
    return frozenset(names)
