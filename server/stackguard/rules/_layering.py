"""Helpers shared by the layering rules (SG101–SG104, SG106): route handlers
that ``semantics.find_route_handlers`` does not know yet, the span of a
function's name, a readable label for a call, DB handles kept on the
application object, the layer of an imported project module, and the HTTP
status an exception or ``abort()`` stands for.

Private to the rules package; the lead may promote parts to semantics.py.
"""

from __future__ import annotations

import ast
import re
import sys
import weakref
from collections.abc import Iterator
from functools import lru_cache
from http import HTTPStatus
from typing import TYPE_CHECKING

from ..analysis.semantics import (
    HTTP_METHODS,
    FunctionNode,
    ImportMap,
    RouteHandler,
    dotted_name,
    enclosing_function,
)
from .base import Span

if TYPE_CHECKING:
    from .base import RuleContext

# ---------------------------------------------------------------------------
# Route handlers

# View base classes missing from semantics.VIEW_BASES; their methods named
# after HTTP verbs handle requests.
_RESOURCE_BASES = {
    "flask_restful.Resource": "flask",
    "flask_restx.Resource": "flask",
    "flask_restplus.Resource": "flask",
    "starlette.endpoints.HTTPEndpoint": "starlette",
}
# Starlette route declarations: ``Route("/items", list_items)``.
_ROUTE_CONSTRUCTORS = frozenset({"starlette.routing.Route", "starlette.routing.WebSocketRoute"})

_extra_cache: weakref.WeakKeyDictionary[RuleContext, dict[int, RouteHandler]] = weakref.WeakKeyDictionary()


def extra_route_handlers(tree: ast.Module, imports: ImportMap) -> list[RouteHandler]:
    """Handlers ``find_route_handlers`` misses: Flask-RESTful/RESTX
    ``Resource`` and Starlette ``HTTPEndpoint`` methods, Django generic
    class-based views (``DetailView``, ``FormView``…) and functions named in
    Starlette ``Route(path, endpoint)`` declarations."""
    handlers: list[RouteHandler] = []
    functions: dict[str, FunctionNode] = {}
    for stmt in tree.body:
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
            functions[stmt.name] = stmt
        elif isinstance(stmt, ast.ClassDef):
            framework = _resource_framework(stmt, imports)
            if framework is None:
                continue
            for item in stmt.body:
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)) and item.name in HTTP_METHODS:
                    handlers.append(RouteHandler(item, framework, (item.name.upper(),), None, stmt.name, item.lineno))
    if any(q in _ROUTE_CONSTRUCTORS for q in imports.names.values()):
        for call in _module_calls(tree):
            if imports.resolve(call.func) not in _ROUTE_CONSTRUCTORS:
                continue
            target = call.args[1] if len(call.args) > 1 else None
            for kw in call.keywords:
                if kw.arg == "endpoint":
                    target = kw.value
            if isinstance(target, ast.Name) and target.id in functions:
                path = call.args[0].value if call.args and isinstance(call.args[0], ast.Constant) else None
                node = functions[target.id]
                handlers.append(RouteHandler(node, "starlette", ("GET",), path if isinstance(path, str) else None, None, node.lineno))
    return handlers


def _resource_framework(cls: ast.ClassDef, imports: ImportMap) -> str | None:
    for base in cls.bases:
        resolved = imports.resolve(base) or ""
        if resolved in _RESOURCE_BASES:
            return _RESOURCE_BASES[resolved]
        if resolved.startswith("django.views.generic."):
            return "django"
    return None


def _module_calls(tree: ast.Module) -> Iterator[ast.Call]:
    """Calls anywhere in the module; only used once a Starlette ``Route``
    import makes route declarations likely."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            yield node


def _handlers(ctx: RuleContext) -> dict[int, RouteHandler]:
    cached = _extra_cache.get(ctx)
    if cached is None:
        cached = dict(ctx.route_handler_nodes)
        for handler in extra_route_handlers(ctx.tree, ctx.imports):
            cached.setdefault(id(handler.node), handler)
        _extra_cache[ctx] = cached
    return cached


def declares_handlers(ctx: RuleContext) -> bool:
    """Whether the module declares any route handler (semantics' or ours)."""
    return bool(_handlers(ctx))


def handler_for_function(ctx: RuleContext, func: ast.AST) -> RouteHandler | None:
    """The route handler ``func`` is, from semantics or the extra patterns."""
    return _handlers(ctx).get(id(func))


def handler_display_name(func: FunctionNode) -> tuple[str, str | None]:
    """(``OrderView.get`` or ``create_item``, the class name or None); the
    engine has linked ``func`` to its parent when it visits it."""
    parent = getattr(func, "sg_parent", None)
    if isinstance(parent, ast.ClassDef):
        return f"{parent.name}.{func.name}", parent.name
    return func.name, None


_IMPORT_FRAMEWORKS = ("fastapi", "litestar", "flask", "quart", "aiohttp", "sanic", "starlette")


def handler_framework(handler: RouteHandler, imports: ImportMap) -> str:
    """The handler's framework. For decorator routes semantics guesses it
    from the routing object's *name* (``router`` matches several factories,
    in set order), so the module's own imports decide; view classes and
    ``@api_view`` are reliable as they are."""
    if handler.framework in ("django", "drf"):
        return handler.framework
    roots = {q.split(".", 1)[0] for q in imports.names.values()}
    for name in _IMPORT_FRAMEWORKS:
        if name in roots:
            return name
    return handler.framework


def function_name_span(ctx: RuleContext, func: FunctionNode) -> Span:
    """The function's name on its ``def`` line (decorators excluded)."""
    line = func.lineno
    text = ctx.source.line_text(line)
    match = re.search(rf"\bdef\s+({re.escape(func.name)})\b", text)
    if match is None:
        return ctx.span_of(func)
    start = len(text[: match.start(1)])
    return Span(line, start, line, start + len(func.name))


def call_label(ctx: RuleContext, call: ast.Call) -> str:
    """``db.add()``, ``Product.objects.filter().update()``: the call's method
    chain with arguments elided and whitespace collapsed."""
    methods: list[str] = []
    current: ast.expr = call
    while isinstance(current, ast.Call) and isinstance(current.func, ast.Attribute) and isinstance(current.func.value, ast.Call):
        methods.append(current.func.attr)
        current = current.func.value
    assert isinstance(current, ast.Call)
    head = ctx.source.segment(current.func) or dotted_name(current.func) or "call"
    text = " ".join(head.split()) + "()" + "".join(f".{name}()" for name in reversed(methods))
    return text


# ---------------------------------------------------------------------------
# DB handles kept on the application (aiohttp, Starlette)

_DB_HINTS = frozenset({"db", "pool", "database", "conn", "connection", "engine", "pg", "postgres", "mysql", "sqlite", "dsn"})


def _looks_like_db_key(text: str) -> bool:
    """``"db"``, ``"pg_pool"``, ``DB_KEY``, ``dbEngine``; not ``"http_session"``."""
    words = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", text).lower()
    tokens = set(re.split(r"[^a-z0-9]+", words))
    lowered = text.lower()
    return bool(tokens & _DB_HINTS) or lowered.startswith("db") or lowered.endswith("db")


def app_db_handle(expr: ast.expr) -> bool:
    """``request.app["db"]``, ``request.config_dict[db_key]``,
    ``request.app.state.pool``, ``self.request.app["pg"]``: a DB handle stored
    on the application object and read in a handler."""
    if isinstance(expr, ast.Await):
        expr = expr.value
    if isinstance(expr, ast.Subscript):
        owner = dotted_name(expr.value) or ""
        if not (owner == "app" or owner.endswith((".app", ".config_dict"))):
            return False
        key = expr.slice
        if isinstance(key, ast.Constant) and isinstance(key.value, str):
            return _looks_like_db_key(key.value)
        if isinstance(key, (ast.Name, ast.Attribute)):
            return _looks_like_db_key(dotted_name(key) or "")
        return False
    dotted = dotted_name(expr)
    if dotted is None or ".state." not in f".{dotted}":
        return False
    owner, _, attr = dotted.rpartition(".")
    return (owner == "app.state" or owner.endswith(".app.state")) and _looks_like_db_key(attr)


APP_HANDLE_METHODS = frozenset(
    {
        "acquire", "connect", "begin", "cursor", "transaction", "execute", "executemany", "fetch", "fetchrow",
        "fetchval", "fetch_all", "fetch_one", "fetch_val", "iterate", "query", "scalars", "scalar",
    }
)


# ---------------------------------------------------------------------------
# Layers of imported modules


def module_layer(ctx: RuleContext, module: str, name: str | None = None) -> tuple[str, str] | None:
    """``(module, layer)`` for an imported project module: ``module`` itself
    (``import app.crud``), or for ``from module import name`` the submodule
    ``module.name`` when that is one (``from app import crud``) and otherwise
    ``module``. The workspace index decides when it knows the module, else the
    path conventions applied to the dotted name. None for modules that are
    not the project's."""
    candidates = [f"{module}.{name}", module] if name and name != "*" else [module]
    index = ctx.index
    if index is not None:
        for candidate in candidates:
            found = _indexed_layer(index, candidate)
            if found is not None:
                return candidate, found
    if not _is_project_module(ctx, module):
        return None
    overrides = _overrides_key(ctx.settings.layers)
    # The module a `from` import reads is certainly a module; `module.name`
    # only may be one, so it is the fallback.
    for candidate in reversed(candidates):
        layer = _guessed_layer(candidate, overrides)
        if layer is not None:
            return candidate, layer
    return None


def _overrides_key(layers: object) -> tuple[tuple[str, tuple[str, ...]], ...]:
    if not isinstance(layers, dict) or not layers:
        return ()
    return tuple(sorted((str(k), tuple(v) if isinstance(v, (list, tuple)) else (str(v),)) for k, v in layers.items()))


@lru_cache(maxsize=4096)
def _guessed_layer(dotted: str, overrides: tuple[tuple[str, tuple[str, ...]], ...]) -> str | None:
    """Layer of a module the index does not hold, from the path conventions
    (and settings globs) applied to ``a/b/c.py`` and ``a/b/c/__init__.py``."""
    from ..analysis.layers import classify_layer

    globs = {layer: list(patterns) for layer, patterns in overrides} or None
    path = dotted.replace(".", "/")
    for relative in (f"{path}.py", f"{path}/__init__.py"):
        try:
            layer = classify_layer(relative, None, globs)
        except Exception:  # the classifier is another component's; never fail a rule on it
            return None
        if layer and layer != "other":
            return layer
    return None


def _indexed_layer(index: object, dotted: str) -> str | None:
    """The layer the index recorded for a module it holds (by dotted name)."""
    module_for = getattr(index, "module_for", None)
    if module_for is None:
        return None
    try:
        summary = module_for(dotted)
    except Exception:  # the index is another component's; never let it break a rule
        return None
    layer = getattr(summary, "layer", None)
    return layer if isinstance(layer, str) else None


_roots_cache: weakref.WeakKeyDictionary[object, tuple[int, frozenset[str]]] = weakref.WeakKeyDictionary()


def _index_roots(index: object) -> frozenset[str]:
    """Top-level packages of the indexed modules, recomputed when the number
    of indexed files changes (adding a package adds files)."""
    summaries = getattr(index, "summaries", None)
    size = len(summaries) if isinstance(summaries, dict) else -1
    try:
        cached = _roots_cache.get(index)
    except TypeError:  # not weak-referenceable
        cached = None
    if cached is not None and cached[0] == size:
        return cached[1]
    modules = getattr(index, "modules", None)
    roots = frozenset(name.split(".", 1)[0] for name in modules) if isinstance(modules, dict) else frozenset()
    try:
        _roots_cache[index] = (size, roots)
    except TypeError:
        pass
    return roots


def _is_project_module(ctx: RuleContext, dotted: str) -> bool:
    """Whether an import that the index does not hold still names a project
    module: its top-level package is this module's, or the index holds other
    modules of that package."""
    root = dotted.split(".", 1)[0]
    if not root or root in sys.stdlib_module_names:
        return False
    own_root = ctx.module.split(".", 1)[0] if ctx.module else ""
    if root == own_root and "." in ctx.module:
        return True
    return ctx.index is not None and root in _index_roots(ctx.index)


def import_base(ctx: RuleContext, node: ast.ImportFrom) -> str:
    """The absolute module an ``ImportFrom`` reads from (relative imports
    resolved against this module; ``__init__`` modules are their package)."""
    if not node.level:
        return node.module or ""
    package = ctx.module
    if not ctx.source.relative.endswith("__init__.py"):
        package = package.rsplit(".", 1)[0] if "." in package else ""
    parts = package.split(".") if package else []
    if node.level > 1:
        parts = parts[: max(len(parts) - (node.level - 1), 0)]
    if node.module:
        parts.append(node.module)
    return ".".join(parts)


def in_type_checking_block(ctx: RuleContext, node: ast.AST) -> bool:
    for ancestor in ctx.ancestors(node):
        if isinstance(ancestor, ast.If):
            test = dotted_name(ancestor.test) or ""
            if test == "TYPE_CHECKING" or test.endswith(".TYPE_CHECKING"):
                return True
    return False


# ---------------------------------------------------------------------------
# HTTP errors

_STATUS_BY_CLASS = {
    # werkzeug / aiohttp names (aiohttp adds the HTTP prefix), DRF, Litestar
    "BadRequest": 400, "Unauthorized": 401, "Forbidden": 403, "NotFound": 404, "MethodNotAllowed": 405,
    "NotAcceptable": 406, "RequestTimeout": 408, "Conflict": 409, "Gone": 410, "PreconditionFailed": 412,
    "RequestEntityTooLarge": 413, "UnsupportedMediaType": 415, "UnprocessableEntity": 422, "Locked": 423,
    "TooManyRequests": 429, "InternalServerError": 500, "NotImplemented": 501, "BadGateway": 502,
    "ServiceUnavailable": 503, "GatewayTimeout": 504,
    "ValidationError": 400, "ParseError": 400, "AuthenticationFailed": 401, "NotAuthenticated": 401,
    "PermissionDenied": 403, "Throttled": 429, "APIException": 500,
    "NotFoundException": 404, "ValidationException": 400, "NotAuthorizedException": 401,
    "PermissionDeniedException": 403, "ClientException": 400, "InternalServerException": 500,
    "MethodNotAllowedException": 405, "TooManyRequestsException": 429, "ServiceUnavailableException": 503,
    "Http404": 404, "RequestValidationError": 422,
    "HttpResponseBadRequest": 400, "HttpResponseForbidden": 403, "HttpResponseNotFound": 404,
    "HttpResponseNotAllowed": 405, "HttpResponseGone": 410, "HttpResponseServerError": 500,
}
for _status in HTTPStatus:
    _STATUS_BY_CLASS.setdefault(re.sub(r"[^A-Za-z]", "", _status.phrase.title()), _status.value)


def status_of_class(qualified: str) -> int | None:
    """404 for ``werkzeug.exceptions.NotFound``, ``aiohttp.web.HTTPNotFound``,
    ``rest_framework.exceptions.NotFound``…; None for the generic classes."""
    name = qualified.rsplit(".", 1)[-1]
    if qualified.startswith("aiohttp.") and name.startswith("HTTP"):
        name = name[4:]
    return _STATUS_BY_CLASS.get(name)


_STATUS_NAME = re.compile(r"^HTTP_(\d{3})(?:_|$)")


def status_from_expr(expr: ast.expr | None, imports: ImportMap) -> int | None:
    """``404``, ``status.HTTP_404_NOT_FOUND``, ``HTTPStatus.NOT_FOUND``."""
    if expr is None:
        return None
    if isinstance(expr, ast.Constant) and isinstance(expr.value, int) and not isinstance(expr.value, bool):
        return expr.value if 100 <= expr.value <= 599 else None
    dotted = dotted_name(expr)
    if dotted is None:
        return None
    last = dotted.rsplit(".", 1)[-1]
    match = _STATUS_NAME.match(last)
    if match:
        return int(match.group(1))
    resolved = imports.resolve(expr) or ""
    if resolved.startswith("http.HTTPStatus.") or dotted.startswith("HTTPStatus."):
        member = getattr(HTTPStatus, last, None)
        return int(member) if member is not None else None
    return None


def string_literal(expr: ast.expr | None) -> str | None:
    if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
        return expr.value
    return None


def keyword(call: ast.Call, *names: str) -> ast.expr | None:
    for kw in call.keywords:
        if kw.arg in names:
            return kw.value
    return None


def positional(call: ast.Call, index: int) -> ast.expr | None:
    if len(call.args) > index and not isinstance(call.args[index], ast.Starred):
        return call.args[index]
    return None


def local_bindings(func: FunctionNode) -> set[str]:
    """Parameter names of ``func`` (they shadow module-level names)."""
    args = func.args
    return {a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs)} | {
        a.arg for a in (args.vararg, args.kwarg) if a is not None
    }


def enclosing_scope(node: ast.AST) -> tuple[str, FunctionNode | None]:
    """``("function", f)`` inside a function, ``("class", None)`` directly in
    a class body, else ``("module", None)``."""
    func = enclosing_function(node)
    if func is not None:
        return "function", func
    current = getattr(node, "sg_parent", None)
    while current is not None:
        if isinstance(current, ast.ClassDef):
            return "class", None
        current = getattr(current, "sg_parent", None)
    return "module", None
