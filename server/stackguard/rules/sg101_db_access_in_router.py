"""Route handler queries or writes the database itself.

## What it does
Flags a route handler (FastAPI, Starlette, Flask, Django, DRF, aiohttp,
Litestar) whose body talks to the database directly: session, connection or
cursor methods (`db.add()`, `session.execute()`, `conn.fetch()`), Django
managers (`Item.objects.filter()`), Flask-SQLAlchemy (`db.session…`,
`User.query…`, `db.get_or_404()`), Django's `get_object_or_404()`, and pools
kept on the application (`request.app["db"].acquire()`,
`request.app.state.pool.fetch()`). One finding per handler, on its first
database call; the finding lists every call so the extract-to-service
refactor can move them together.

Declarative queries stay quiet: a DRF view's `queryset = Item.objects.all()`
class attribute and its `get_queryset()` hook, and dependency functions such
as `get_db()` that are not handlers themselves.

## Why is this bad?
A handler that queries the database mixes HTTP concerns with data access:
the query cannot be reused by another endpoint, a CLI or a worker, it cannot
be tested without an HTTP client, and transaction boundaries end up spread
across endpoints. Router → Service → Repository keeps each layer replaceable
and testable on its own.

## Example
```python
@router.post("/items", status_code=201)
def create_item(data: ItemCreate, db: Session = Depends(get_db)) -> ItemOut:
    item = Item(**data.model_dump())
    db.add(item)
    db.commit()
    return ItemOut.model_validate(item)
```

## Use instead
```python
@router.post("/items", status_code=201)
def create_item(data: ItemCreate, service: ItemService = Depends(get_item_service)) -> ItemOut:
    return ItemOut.model_validate(service.create(data))
```

## Fix
The refactor `refactor.extract.service` (Extract to service) moves the
handler's database calls into a service method and a repository.

## References
- FastAPI: [Bigger applications](https://fastapi.tiangolo.com/tutorial/bigger-applications/)
- Cosmic Python: [Repository pattern](https://www.cosmicpython.com/book/chapter_02_repository.html)
- HackSoft Django Styleguide: [Services and selectors](https://github.com/HackSoftware/Django-Styleguide#services)
"""

from __future__ import annotations

import ast
from collections.abc import Container, Iterator

from ..analysis.semantics import DB_WRITE_METHODS, FunctionNode, db_call_kind
from ._layering import (
    APP_HANDLE_METHODS,
    app_db_handle,
    call_label,
    handler_display_name,
    handler_for_function,
    handler_framework,
)
from ._sql import child_nodes
from .base import Rule

# Flask-SQLAlchemy 3 helpers on the extension object: `db.get_or_404(User, id)`.
FLASK_SQLALCHEMY_DB_METHODS = frozenset({"get_or_404", "first_or_404", "one_or_404", "paginate"})
# Query methods at the end of a Flask-SQLAlchemy `Model.query` chain.
MODEL_QUERY_METHODS = frozenset(
    {
        "get", "get_or_404", "first", "first_or_404", "one", "one_or_none", "one_or_404", "all", "filter",
        "filter_by", "order_by", "paginate", "count", "limit", "offset", "join", "options", "delete", "update",
        "distinct", "group_by", "with_entities", "exists",
    }
)
DJANGO_SHORTCUTS = frozenset({"django.shortcuts.get_object_or_404", "django.shortcuts.get_list_or_404"})


class DbAccessInRouter(Rule):
    code = "SG101"
    name = "db-access-in-router"
    default_severity = "warning"
    layers = frozenset({"router"})
    # Route handler detection is the framework gate (FastAPI, Starlette,
    # Flask/Quart, Django/DRF, aiohttp, Litestar); a stack-name filter would
    # only lose frameworks the detector does not name.
    frameworks = None
    node_types = (ast.FunctionDef, ast.AsyncFunctionDef)
    scope = "statement"
    fix_title = None

    def visit(self, node: ast.AST) -> None:
        assert isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        handler = handler_for_function(self.ctx, node)
        if handler is None:
            return
        calls = list(self._db_calls(node))
        if not calls:
            return
        calls.sort(key=lambda item: (item[0].lineno, item[0].col_offset))
        first, kind = calls[0]
        label = call_label(self.ctx, first)
        shown, owner = handler_display_name(node)
        self.report(
            first,
            f"Route handler `{shown}` calls `{label}` directly; move data access into a service or repository",
            data={
                "handler": node.name,
                "class": owner,
                "line": node.lineno,
                "call_lines": sorted({call.lineno for call, _ in calls}),
                "call": label,
                "kind": kind,
                "framework": handler_framework(handler, self.ctx.imports),
                "methods": list(handler.methods),
                "path": handler.path,
            },
        )

    def _db_calls(self, func: FunctionNode) -> Iterator[tuple[ast.Call, str]]:
        """Every database call in the handler body, the outermost call of a
        chain once (``Item.objects.filter().first()`` is one call)."""
        ctx = self.ctx
        sessions = ctx.sessions_in(func)
        handles = _app_handle_names(func)
        stack: list[ast.AST] = list(reversed(func.body))
        while stack:
            node = stack.pop()
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
                continue
            if isinstance(node, ast.Call):
                kind = self._kind(node, sessions, handles)
                if kind is not None:
                    yield node, kind
                    # The receiver chain is this call; its arguments may hold more.
                    stack.extend(reversed([*node.args, *(kw.value for kw in node.keywords)]))
                    continue
            stack.extend(child_nodes(node)[::-1])

    def _kind(self, call: ast.Call, sessions: set[str], handles: set[str]) -> str | None:
        ctx = self.ctx
        func = call.func
        if isinstance(func, ast.Attribute) and func.attr in ("get", "pop") and call.args and isinstance(call.args[0], ast.Constant):
            # `session.get("user_id")`: a web session (aiohttp_session,
            # Beaker) read like a dict; `Session.get` takes a model first.
            return None
        kind = db_call_kind(call, sessions, ctx.imports, ctx.model_names)
        if kind is not None:
            return kind
        if ctx.imports.resolve(func) in DJANGO_SHORTCUTS:
            return "read"
        if not isinstance(func, ast.Attribute):
            return None
        receiver = func.value
        if func.attr in APP_HANDLE_METHODS and (app_db_handle(receiver) or (isinstance(receiver, ast.Name) and receiver.id in handles)):
            return "write" if func.attr in DB_WRITE_METHODS else "read"
        if func.attr in FLASK_SQLALCHEMY_DB_METHODS and _is_flask_sqlalchemy_db(receiver, ctx.imports.names, sessions):
            return "read"
        if func.attr in MODEL_QUERY_METHODS and self._is_model_query(receiver):
            return "write" if func.attr in ("delete", "update") else "read"
        return None

    def _is_model_query(self, receiver: ast.expr) -> bool:
        """``User.query`` at the root of a method chain, ``User`` an ORM model."""
        base = receiver
        while isinstance(base, ast.Call) and isinstance(base.func, ast.Attribute):
            base = base.func.value
        if not (isinstance(base, ast.Attribute) and base.attr == "query" and isinstance(base.value, ast.Name)):
            return False
        model = base.value.id
        if not model[:1].isupper():
            return False
        if model in self.ctx.model_names:
            return True
        if "models" in self.ctx.imports.names.get(model, "").split("."):
            return True
        return "flask-sqlalchemy" in self.ctx.frameworks or "flask_sqlalchemy" in {q.split(".", 1)[0] for q in self.ctx.imports.names.values()}


def _is_flask_sqlalchemy_db(receiver: ast.expr, imported: dict[str, str], sessions: Container[str]) -> bool:
    """The Flask-SQLAlchemy extension object: ``db`` (module-level or
    imported from the app's extensions module), not a session parameter."""
    if not isinstance(receiver, ast.Name) or receiver.id in sessions:
        return False
    qualified = imported.get(receiver.id, receiver.id)
    return qualified == "db" or qualified.endswith(".db")


def _app_handle_names(func: FunctionNode) -> set[str]:
    """Locals bound to a DB handle read from the application:
    ``pool = request.app["db"]``."""
    names: set[str] = set()
    stack: list[ast.AST] = list(func.body)
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            continue
        if isinstance(node, ast.Assign) and app_db_handle(node.value):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.AnnAssign) and node.value is not None and app_db_handle(node.value):
            if isinstance(node.target, ast.Name):
                names.add(node.target.id)
        if isinstance(node, ast.stmt):
            stack.extend(child_nodes(node))
    return names
