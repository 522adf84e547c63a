"""A list endpoint returns every row of a table with no limit or pagination.

## What it does
Flags a GET route handler (FastAPI, Starlette, Flask, Django, DRF,
aiohttp, Litestar) that returns the result of a collection query with no
bound: `session.scalars(select(Item)).all()`, `db.query(Item).all()`,
`session.exec(select(Hero)).all()`, `Item.query.all()`,
`Item.objects.filter(...)`. The query may be returned directly, through a
variable, inside a response wrapper (`jsonify`, `JsonResponse`, `Response`,
`web.json_response`, `render`, a response model or DRF serializer with
`many=True`) or through a comprehension (`[ItemOut.model_validate(i) for i
in items]`).

It stays quiet when the query is bounded: `.limit()`, `.offset()`,
`.slice()`, Django slicing (`[:50]`), `.paginate()`, `Paginator`, DRF
`paginate_queryset()` or a `pagination_class` on the view, or when a
`limit`/`offset`/`page`/`cursor` parameter of the handler is used in the
query. Queries returning one object (`.first()`, `.one()`, `.get()`),
non-GET handlers, and handlers that get their data from a service (whose
body this rule cannot see) stay quiet too.

DRF's global `DEFAULT_PAGINATION_CLASS` is not visible from a view module:
a generic `ListAPIView` with only a class-level `queryset` is not reported,
since global pagination may apply. A `list()` override that builds its own
response without `paginate_queryset()` bypasses global pagination and is
reported.

## Why is this bad?
A table only grows. An endpoint that returns all of it works in development
and then, with production data, loads tens of thousands of rows into memory,
serialises them into a multi-megabyte response and holds a database
connection for seconds: slow pages, memory spikes, timeouts, and an easy
denial of service for anyone who calls it in a loop.

## Example
```python
@router.get("/items")
def list_items(session: SessionDep) -> list[ItemOut]:
    return session.scalars(select(Item).order_by(Item.id)).all()
```

## Use instead
```python
@router.get("/items")
def list_items(session: SessionDep, limit: int = Query(50, le=200), offset: int = 0) -> list[ItemOut]:
    return session.scalars(select(Item).order_by(Item.id).limit(limit).offset(offset)).all()
```

## References
- FastAPI: [Query parameters with limits](https://fastapi.tiangolo.com/tutorial/sql-databases/#read-heroes)
- Django: [Pagination](https://docs.djangoproject.com/en/stable/topics/pagination/)
- Django REST framework: [Pagination](https://www.django-rest-framework.org/api-guide/pagination/)
- OWASP API Security: [API4:2023 Unrestricted Resource Consumption](https://owasp.org/API-Security/editions/2023/en/0xa4-unrestricted-resource-consumption/)
"""

from __future__ import annotations

import ast
import re

from ..analysis.semantics import FunctionNode, RouteHandler, dotted_name
from ._orm import COLLECTIONS, Query, QueryReader
from ._sql import Scope, scopes, statement_list
from .base import Rule

# Calls that pass a collection through to the response.
RESPONSE_WRAPPERS = frozenset(
    {"jsonify", "JsonResponse", "Response", "JSONResponse", "ORJSONResponse", "UJSONResponse", "json_response", "render", "render_template", "TemplateResponse", "list", "tuple", "sorted", "dict", "map", "filter", "reversed", "make_response", "dumps"}
)
PAGINATION_WORDS = re.compile(r"\b(?:paginate\w*|Paginator|get_page|get_paginated_response)\b")
PAGINATION_PARAMS = frozenset({"limit", "offset", "page", "per_page", "page_size", "size", "skip", "take", "cursor", "after", "before", "last_id", "since_id"})


class UnboundedListQuery(Rule):
    code = "SG205"
    name = "unbounded-list-query"
    default_severity = "warning"
    layers = frozenset({"router"})
    node_types = (ast.FunctionDef, ast.AsyncFunctionDef)
    scope = "statement"

    def visit(self, node: ast.AST) -> None:
        assert isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        handler = self.ctx.route_handler_nodes.get(id(node)) if self.ctx.route_handlers else None
        if handler is None or not _is_list_method(handler):
            return
        if self._paginated_view(node):
            return
        returns = [n for n in statement_list(node.body, into_scopes=False) if isinstance(n, ast.Return) and n.value is not None]
        if not returns:
            return
        if self._mentions_pagination(node):
            return
        scope = scopes(self.ctx).function(node)
        reader = QueryReader(self.ctx.imports, scope, self._is_model)
        page_params = {name for name in scope.params if name in PAGINATION_PARAMS}
        reported: set[int] = set()
        for ret in returns:
            assert ret.value is not None
            for expr, query in self._collections(ret.value, reader, scope, 0):
                if id(expr) in reported or query.bounded or (query.names & page_params):
                    continue
                reported.add(id(expr))
                self._report(node, handler, expr, query)

    def _report(self, func: FunctionNode, handler: RouteHandler, expr: ast.expr, query: Query) -> None:
        method = "GET" if not handler.methods or {m.upper() for m in handler.methods} & {"GET", "LIST", "ANY"} else handler.methods[0]
        path = self._full_path(handler)
        owner = getattr(func, "sg_parent", None)
        if path:
            where = f"`{method} {path}`"
        elif isinstance(owner, ast.ClassDef):
            where = f"`{owner.name}.{func.name}()`"
        else:
            where = f"`{func.name}()`"
        span = self.ctx.span_of(query.node)
        self.report(
            expr,
            f"List endpoint {where} returns every matching `{query.model}` row with no limit or pagination",
            data={
                "model": query.model,
                "orm": query.orm,
                "handler": func.name,
                "method": method,
                "path": path,
                "query_line": span.line,
                "query_col": span.column,
            },
        )

    def _full_path(self, handler: RouteHandler) -> str | None:
        """The decorator path with the prefix of a router declared in this
        module (``APIRouter(prefix=...)``, ``Blueprint(url_prefix=...)``)."""
        if handler.path is None:
            return None
        prefix = ""
        if handler.owner:
            for stmt in self.ctx.tree.body:
                if (
                    isinstance(stmt, ast.Assign)
                    and isinstance(stmt.value, ast.Call)
                    and any(isinstance(t, ast.Name) and t.id == handler.owner for t in stmt.targets)
                ):
                    for keyword in stmt.value.keywords:
                        if keyword.arg in ("prefix", "url_prefix") and isinstance(keyword.value, ast.Constant) and isinstance(keyword.value.value, str):
                            prefix = keyword.value.value
        if not prefix:
            return handler.path or "/"
        return prefix.rstrip("/") + ("/" + handler.path.lstrip("/") if handler.path.strip("/") else "")

    def _is_model(self, name: str) -> bool:
        models = self.ctx.model_names
        return name in models if models else True

    def _paginated_view(self, func: FunctionNode) -> bool:
        """A DRF view class with ``pagination_class`` set to something."""
        owner = getattr(func, "sg_parent", None)
        if not isinstance(owner, ast.ClassDef):
            return False
        for stmt in owner.body:
            if isinstance(stmt, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "pagination_class" for t in stmt.targets):
                return not (isinstance(stmt.value, ast.Constant) and stmt.value.value is None)
        return False

    def _mentions_pagination(self, func: FunctionNode) -> bool:
        lines = self.ctx.source.lines[func.lineno - 1 : func.end_lineno or func.lineno]
        return any(PAGINATION_WORDS.search(line) for line in lines)

    def _collections(self, expr: ast.expr, reader: QueryReader, scope: Scope, depth: int):
        """(expression, query) for every unbounded collection query the
        returned value carries to the response."""
        if depth > 8:
            return
        if isinstance(expr, ast.Await):
            yield from self._collections(expr.value, reader, scope, depth + 1)
            return
        if isinstance(expr, ast.Name):
            bindings = [b for b in scope.bindings.get(expr.id, ()) if b.line <= expr.lineno]
            if bindings and bindings[-1].kind == "value" and bindings[-1].value is not None:
                yield from self._collections(bindings[-1].value, reader, scope, depth + 1)
            return
        query = reader.read(expr)
        if query is not None:
            if query.shape in COLLECTIONS:
                yield expr, query
            return
        if isinstance(expr, ast.Dict):
            for value in expr.values:
                if value is not None:
                    yield from self._collections(value, reader, scope, depth + 1)
        elif isinstance(expr, (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)):
            yield from self._collections(expr.generators[0].iter, reader, scope, depth + 1)
        elif isinstance(expr, ast.Attribute) and expr.attr == "data":
            yield from self._collections(expr.value, reader, scope, depth + 1)  # serializer.data
        elif isinstance(expr, ast.Call):
            callee = (dotted_name(expr.func) or "").rsplit(".", 1)[-1]
            if not callee:
                return
            if callee in RESPONSE_WRAPPERS or (callee[:1].isupper() and _keeps_collection(expr, callee)):
                for arg in (*expr.args, *(k.value for k in expr.keywords)):
                    yield from self._collections(arg, reader, scope, depth + 1)


def _keeps_collection(call: ast.Call, callee: str) -> bool:
    """A response model or serializer built from the rows: ``ItemList(items=rows)``,
    ``ItemSerializer(rows, many=True)``."""
    if callee.endswith("Serializer"):
        return any(k.arg == "many" and isinstance(k.value, ast.Constant) and k.value.value is True for k in call.keywords)
    return True


def _is_list_method(handler: RouteHandler) -> bool:
    methods = {m.upper() for m in handler.methods}
    return not methods or bool(methods & {"GET", "LIST", "ANY"})
