"""HTTP errors raised in service or repository code.

## What it does
Flags service and repository code that speaks HTTP to report a failure:

- raising FastAPI/Starlette `HTTPException`, Werkzeug/Flask HTTP exceptions
  (`NotFound`, `Forbidden`…), Django's `Http404`, DRF exceptions
  (`rest_framework.exceptions.*`, `serializers.ValidationError`), aiohttp
  `web.HTTP*` exceptions or Litestar HTTP exceptions;
- calling Flask's `abort(404)`;
- returning an error response (`HttpResponseNotFound`,
  `JsonResponse(..., status=400)`, `JSONResponse(status_code=404)`);
- calling `get_object_or_404()` (Django) or `get_or_404()`/`first_or_404()`
  (Flask-SQLAlchemy), which raise `Http404`/`NotFound` for you.

Pydantic's and Django's own `ValidationError` (`django.core.exceptions`) are
domain-level and stay quiet, as does anything raised in routers.

## Why is this bad?
A service that raises `HTTPException(404)` decides the HTTP response from
deep inside the business logic: it cannot be reused from a worker, a CLI or
another transport, its tests need the web framework, and the API's error
format is scattered over many files. Services and repositories should raise
domain exceptions from one errors module (`ItemNotFound`, `NotAllowed`); the
router — or one exception handler — maps them to status codes.

## Example
```python
class ItemService:
    def get(self, item_id: int) -> Item:
        item = self.repository.get(item_id)
        if item is None:
            raise HTTPException(status_code=404, detail="Item not found")
        return item
```

## Use instead
```python
from app.errors import ItemNotFound


class ItemService:
    def get(self, item_id: int) -> Item:
        item = self.repository.get(item_id)
        if item is None:
            raise ItemNotFound(item_id)
        return item


@app.exception_handler(ItemNotFound)
async def item_not_found(request: Request, exc: ItemNotFound) -> JSONResponse:
    return JSONResponse(status_code=404, content={"detail": str(exc)})
```

## Fix
Replaces the HTTP exception with a domain exception from the project's
errors module (created when the project has none), keeping the status code
and detail so a handler can map it back. Review it: callers that caught the
HTTP exception need the new type.

## References
- FastAPI: [Install custom exception handlers](https://fastapi.tiangolo.com/tutorial/handling-errors/#install-custom-exception-handlers)
- Cosmic Python: [Domain exceptions](https://www.cosmicpython.com/book/chapter_04_service_layer.html)
"""

from __future__ import annotations

import ast
from typing import Any

from ..analysis.semantics import callee_name
from ._layering import keyword, positional, status_from_expr, status_of_class, string_literal
from .base import Rule

# Exception classes whose constructor reads (status_code, detail).
STATUS_FIRST = frozenset(
    {
        "fastapi.HTTPException",
        "fastapi.exceptions.HTTPException",
        "starlette.exceptions.HTTPException",
        "litestar.exceptions.HTTPException",
        "starlite.exceptions.HTTPException",
    }
)
OTHER_HTTP_EXCEPTIONS = frozenset(
    {
        "fastapi.exceptions.RequestValidationError",
        "django.http.Http404",
        "rest_framework.serializers.ValidationError",
    }
)
# Modules whose exception classes all map to an HTTP status.
HTTP_EXCEPTION_MODULES = ("werkzeug.exceptions", "rest_framework.exceptions", "litestar.exceptions", "starlite.exceptions")
NOT_EXCEPTIONS = frozenset(
    {
        "werkzeug.exceptions.abort",
        "werkzeug.exceptions.Aborter",
        "rest_framework.exceptions.ErrorDetail",
        "litestar.exceptions.ImproperlyConfiguredException",
        "litestar.exceptions.MissingDependencyException",
        "litestar.exceptions.SerializationException",
        "litestar.exceptions.LitestarException",
        "litestar.exceptions.LitestarWarning",
    }
)
ABORT_CALLS = frozenset({"flask.abort", "werkzeug.exceptions.abort", "quart.abort"})
SHORTCUTS = {
    "django.shortcuts.get_object_or_404": "django.http.Http404",
    "django.shortcuts.get_list_or_404": "django.http.Http404",
}
FLASK_SQLALCHEMY_404 = frozenset({"get_or_404", "first_or_404", "one_or_404"})
# Response classes: a `return` of one with an error status is an HTTP error.
ERROR_RESPONSE_CLASSES = frozenset(
    {
        "django.http.HttpResponseBadRequest",
        "django.http.HttpResponseForbidden",
        "django.http.HttpResponseNotFound",
        "django.http.HttpResponseNotAllowed",
        "django.http.HttpResponseGone",
        "django.http.HttpResponseServerError",
    }
)
RESPONSE_CLASSES = frozenset(
    {
        "django.http.HttpResponse",
        "django.http.JsonResponse",
        "fastapi.responses.JSONResponse",
        "fastapi.responses.Response",
        "fastapi.Response",
        "starlette.responses.JSONResponse",
        "starlette.responses.Response",
        "rest_framework.response.Response",
        "flask.Response",
        "aiohttp.web.json_response",
        "aiohttp.web.Response",
    }
)
LAYER_TITLES = {"service": "Service", "repository": "Repository"}
# The called names `_call` reports on.
_CALLED_NAMES = frozenset({*FLASK_SQLALCHEMY_404, "abort", "get_object_or_404", "get_list_or_404"})


def is_http_exception(qualified: str | None) -> bool:
    if not qualified or qualified in NOT_EXCEPTIONS:
        return False
    if qualified in STATUS_FIRST or qualified in OTHER_HTTP_EXCEPTIONS:
        return True
    module, _, name = qualified.rpartition(".")
    if module in ("aiohttp.web", "aiohttp.web_exceptions"):
        return name.startswith("HTTP")
    return module in HTTP_EXCEPTION_MODULES and name[:1].isupper()


class HttpErrorOutsideRouter(Rule):
    code = "SG104"
    name = "http-error-outside-router"
    default_severity = "warning"
    layers = frozenset({"service", "repository"})
    node_types = (ast.Raise, ast.Call, ast.Return)
    scope = "statement"
    fix_title = "Raise a domain exception from the errors module"
    fix_safe = False

    def visit(self, node: ast.AST) -> None:
        # Calls are most of the nodes and almost none is an abort or a 404
        # shortcut: test the called name before anything else.
        node_type = type(node)
        if node_type is ast.Call:
            func = node.func  # type: ignore[attr-defined]
            last = callee_name(func)
            if last in _CALLED_NAMES:
                self._call(node)  # type: ignore[arg-type]
        elif node_type is ast.Raise:
            self._raise(node)  # type: ignore[arg-type]
        elif node_type is ast.Return:
            self._return(node)  # type: ignore[arg-type]

    def _raise(self, node: ast.Raise) -> None:
        exc = node.exc
        if exc is None:
            return
        call = exc if isinstance(exc, ast.Call) else None
        target = call.func if call is not None else exc
        qualified = self.ctx.imports.resolve(target)
        if not is_http_exception(qualified):
            return
        assert qualified is not None
        status, detail = _status_and_detail(qualified, call, self.ctx.imports)
        written = self.ctx.source.segment(target) or qualified.rsplit(".", 1)[-1]
        self.report(
            node,
            f"{self._who()} raises `{written}`{_status_text(status)}; HTTP errors belong in the router",
            data=self._data(qualified, status, detail, "raise"),
        )

    def _call(self, node: ast.Call) -> None:
        func = node.func
        last = callee_name(func)
        if last is None:
            return
        if last in FLASK_SQLALCHEMY_404 and isinstance(func, ast.Attribute) and _is_flask_sqlalchemy_query(func.value):
            self.report(
                node,
                f"{self._who()} calls `{last}()`, which aborts the request with HTTP 404; HTTP errors belong in the router",
                data=self._data("werkzeug.exceptions.NotFound", 404, None, "shortcut"),
                fixable=False,
            )
            return
        if last not in ("abort", "get_object_or_404", "get_list_or_404"):
            return
        qualified = self.ctx.imports.resolve(func)
        if qualified in SHORTCUTS:
            self.report(
                node,
                f"{self._who()} calls `{last}()`, which raises `Http404`; HTTP errors belong in the router",
                data=self._data(SHORTCUTS[qualified], 404, None, "shortcut"),
                fixable=False,
            )
        elif qualified in ABORT_CALLS:
            status = status_from_expr(positional(node, 0) or keyword(node, "code", "status"), self.ctx.imports)
            detail = string_literal(keyword(node, "description")) or string_literal(positional(node, 1))
            shown = f"abort({status})" if status is not None else "abort()"
            self.report(
                node,
                f"{self._who()} calls `{shown}`; HTTP errors belong in the router",
                data=self._data(qualified, status, detail, "abort"),
            )

    def _return(self, node: ast.Return) -> None:
        call = node.value
        if not isinstance(call, ast.Call):
            return
        qualified = self.ctx.imports.resolve(call.func)
        if qualified is None:
            return
        if qualified in ERROR_RESPONSE_CLASSES:
            status = status_of_class(qualified)
        elif qualified in RESPONSE_CLASSES:
            status = status_from_expr(keyword(call, "status", "status_code"), self.ctx.imports)
            if status is None or status < 400:
                return
        else:
            return
        detail = string_literal(positional(call, 0)) if qualified.startswith("django.http.HttpResponse") else None
        written = self.ctx.source.segment(call.func) or qualified.rsplit(".", 1)[-1]
        self.report(
            node,
            f"{self._who()} returns an HTTP error response `{written}`{_status_text(status)}; HTTP errors belong in the router",
            data=self._data(qualified, status, detail, "return"),
        )

    def _who(self) -> str:
        return f"{LAYER_TITLES.get(self.ctx.layer, self.ctx.layer.title())} code"

    def _data(self, qualified: str, status: int | None, detail: str | None, form: str) -> dict[str, Any]:
        return {
            "exception": qualified,
            "status_code": status,
            "detail": detail,
            "errors_module": _errors_module(self.ctx.index),
            "form": form,
        }


def _status_and_detail(qualified: str, call: ast.Call | None, imports) -> tuple[int | None, str | None]:
    if qualified in STATUS_FIRST:
        if call is None:
            return None, None
        status = status_from_expr(keyword(call, "status_code") or positional(call, 0), imports)
        detail = string_literal(keyword(call, "detail")) or string_literal(positional(call, 1))
        if qualified.startswith(("litestar.", "starlite.")) and status is None:
            # Litestar's HTTPException(*args, detail=..., status_code=...) defaults to 500.
            detail = detail or string_literal(positional(call, 0))
        return status, detail
    if qualified == "fastapi.exceptions.RequestValidationError":
        return 422, None
    status = status_of_class(qualified)
    if call is None:
        return status, None
    if qualified.startswith(("aiohttp.",)):
        detail = string_literal(keyword(call, "reason")) or string_literal(keyword(call, "text"))
    elif qualified.startswith("werkzeug."):
        detail = string_literal(keyword(call, "description")) or string_literal(positional(call, 0))
    else:
        detail = string_literal(keyword(call, "detail")) or string_literal(positional(call, 0))
    explicit = status_from_expr(keyword(call, "status_code"), imports)
    return explicit or status, detail


def _is_flask_sqlalchemy_query(receiver: ast.expr) -> bool:
    """``User.query…``, ``db`` or ``db.session``: not a project method that
    happens to be called ``get_or_404``."""
    base = receiver
    while True:
        if isinstance(base, ast.Call):
            base = base.func
        elif isinstance(base, ast.Attribute):
            if base.attr == "query" and isinstance(base.value, ast.Name) and base.value.id[:1].isupper():
                return True
            if base.attr == "session" and isinstance(base.value, ast.Name) and base.value.id == "db":
                return True
            base = base.value
        else:
            return isinstance(base, ast.Name) and base.id == "db" and base is receiver


def _status_text(status: int | None) -> str:
    return f" (HTTP {status})" if status is not None else ""


def _errors_module(index: object | None) -> str | None:
    """The project's errors module name, when the index knows one."""
    if index is None:
        return None
    found = getattr(index, "errors_module", None)
    try:
        value = found() if callable(found) else found
    except Exception:  # the index is another component's; a rule never fails on it
        return None
    if value is None:
        return None
    if isinstance(value, str):
        return value
    module = getattr(value, "module", None)
    return module if isinstance(module, str) else None
