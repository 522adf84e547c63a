"""What the rules need to know about a module beyond its syntax: which names
are imported from where, which functions are route handlers, which names hold
a DB session or connection, and which calls touch the database.

All of it is pure ``ast`` over one module, computed once per document version
and shared by every rule through ``RuleContext``. Statement-level walks only
where possible: the expression-level pass is the engine's.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Container, Iterator
from dataclasses import dataclass, field

from .nodes import statement_list

FunctionNode = ast.FunctionDef | ast.AsyncFunctionDef

HTTP_METHODS = ("get", "post", "put", "patch", "delete", "head", "options")
# Decorator attributes that declare a route on an app/router/blueprint object.
ROUTE_DECORATOR_ATTRS = frozenset({*HTTP_METHODS, "route", "api_route", "websocket", "view"})

# Constructors whose result is a routing object: `router = APIRouter()`.
ROUTER_FACTORIES = frozenset(
    {
        "fastapi.FastAPI",
        "fastapi.APIRouter",
        "fastapi.routing.APIRouter",
        "starlette.applications.Starlette",
        "starlette.routing.Router",
        "flask.Flask",
        "flask.Blueprint",
        "quart.Quart",
        "quart.Blueprint",
        "aiohttp.web.RouteTableDef",
        "aiohttp.web.Application",
        "litestar.Router",
        "litestar.Litestar",
        "sanic.Sanic",
        "sanic.Blueprint",
    }
)
# Used when a routing object is imported from elsewhere (`from app.main import app`).
ROUTER_OBJECT_NAMES = frozenset({"app", "router", "api", "bp", "blueprint", "routes", "api_router", "v1"})

LITESTAR_HANDLERS = frozenset(f"litestar.{m}" for m in (*HTTP_METHODS, "route"))

# Base classes whose methods named after HTTP verbs (or DRF actions) are handlers.
VIEW_BASES = frozenset(
    {
        "django.views.View",
        "django.views.generic.View",
        "django.views.generic.base.View",
        "rest_framework.views.APIView",
        "rest_framework.generics.GenericAPIView",
        "rest_framework.generics.ListCreateAPIView",
        "rest_framework.generics.RetrieveUpdateDestroyAPIView",
        "rest_framework.generics.ListAPIView",
        "rest_framework.generics.CreateAPIView",
        "rest_framework.generics.RetrieveAPIView",
        "rest_framework.viewsets.ViewSet",
        "rest_framework.viewsets.GenericViewSet",
        "rest_framework.viewsets.ModelViewSet",
        "rest_framework.viewsets.ReadOnlyModelViewSet",
        "aiohttp.web.View",
        "flask.views.MethodView",
        "flask.views.View",
        "litestar.Controller",
    }
)
VIEW_METHOD_NAMES = frozenset(
    {*HTTP_METHODS, "list", "create", "retrieve", "update", "partial_update", "destroy", "perform_create", "perform_update", "perform_destroy", "dispatch_request"}
)

# Annotations that mark a parameter as a DB session or connection.
SESSION_TYPE_SUFFIXES = (
    "Session",
    "AsyncSession",
    "Connection",
    "AsyncConnection",
    "Cursor",
    "AsyncCursor",
    "Pool",
)
SESSION_DEPENDENCY_ALIAS = re.compile(r"^(Async)?(Db|DB|Database|Session|DbSession|Conn|Connection)(Dep|Dependency)$")
SESSION_PARAM_NAMES = frozenset(
    {"session", "db_session", "db", "conn", "connection", "cursor", "cur", "async_session", "dbsession", "tx", "uow_session"}
)
SELF_SESSION_ATTRS = frozenset({"session", "_session", "db", "_db", "conn", "_conn", "connection", "_connection", "db_session", "_db_session", "cursor", "_cursor", "pool", "_pool"})
SESSION_FACTORY_HINTS = ("session", "db", "conn", "connection", "pool")
# Calls that return a session/connection when assigned or used in `with`.
SESSION_CONSTRUCTORS = frozenset(
    {
        "sqlalchemy.orm.Session",
        "sqlalchemy.ext.asyncio.AsyncSession",
        "sqlmodel.Session",
        "sqlite3.connect",
        "psycopg.connect",
        "psycopg.AsyncConnection.connect",
        "psycopg2.connect",
        "pymysql.connect",
        "asyncpg.connect",
        "asyncpg.create_pool",
        "aiopg.connect",
        "aiosqlite.connect",
    }
)

DB_READ_METHODS = frozenset(
    {"execute", "exec", "scalars", "scalar", "scalar_one", "get", "query", "fetch", "fetchrow", "fetchval", "fetchall", "fetchone", "fetchmany", "exec_driver_sql", "stream", "stream_scalars", "refresh", "executemany", "select"}
)
DB_WRITE_METHODS = frozenset({"add", "add_all", "delete", "merge", "flush", "bulk_save_objects", "bulk_insert_mappings", "bulk_update_mappings", "copy_records_to_table", "copy_to_table", "expunge"})
DJANGO_WRITE_METHODS = frozenset({"create", "update", "delete", "bulk_create", "bulk_update", "get_or_create", "update_or_create"})
ACTIVE_RECORD_METHODS = frozenset(
    {"select", "filter", "get", "get_or_none", "create", "all", "insert", "update", "delete", "raw", "get_or_create", "exclude", "first", "count", "exists", "bulk_create", "delete_by_id", "get_by_id"}
)


def dotted_name(expr: ast.AST) -> str | None:
    """``a.b.c`` for a Name/Attribute chain, else None."""
    parts: list[str] = []
    while isinstance(expr, ast.Attribute):
        parts.append(expr.attr)
        expr = expr.value
    if isinstance(expr, ast.Name):
        parts.append(expr.id)
        return ".".join(reversed(parts))
    return None


def callee_name(func: ast.AST) -> str | None:
    """The last name of a call's callee: ``b`` for ``a.b(...)``, ``f`` for
    ``f(...)``; None for anything else (``f()()``, ``x[0]()``)."""
    kind = type(func)
    if kind is ast.Attribute:
        return func.attr  # type: ignore[attr-defined]
    if kind is ast.Name:
        return func.id  # type: ignore[attr-defined]
    return None


def iter_statements(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """Every statement, nested ones included, without visiting expressions."""
    return iter(statement_list(body))


_IMPORT_TYPES = (ast.Import, ast.ImportFrom)


@dataclass
class ImportMap:
    """Local name → fully qualified name, for every import in the module,
    plus module-level aliases of session annotations (``SessionDep``)."""

    names: dict[str, str] = field(default_factory=dict)
    module: str = ""
    session_aliases: set[str] = field(default_factory=set)
    # module-level routing objects: name -> the factory that built it
    router_objects: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_tree(cls, tree: ast.Module, module: str = "", text: str | None = None) -> ImportMap:
        """``text``, the module's source, lets a module whose only imports
        are top-level skip the walk into every block for nested ones."""
        imports = cls(module=module)
        package = module.rsplit(".", 1)[0] if "." in module else ""
        statements: list[ast.stmt] = tree.body
        if text is None or text.count("import") != sum(type(stmt) in _IMPORT_TYPES for stmt in statements):
            # Every import statement spells the keyword out (a backslash
            # cannot split a token): more occurrences than top-level imports
            # means one may be nested (or the word is in a string).
            statements = statement_list(statements)
        for stmt in statements:
            if isinstance(stmt, ast.Import):
                for alias in stmt.names:
                    if alias.asname:
                        imports.names[alias.asname] = alias.name
                    else:
                        root = alias.name.split(".", 1)[0]
                        imports.names[root] = root
            elif isinstance(stmt, ast.ImportFrom):
                base = stmt.module or ""
                if stmt.level:
                    parts = package.split(".") if package else []
                    if stmt.level > 1:
                        parts = parts[: len(parts) - (stmt.level - 1)] if len(parts) >= stmt.level - 1 else []
                    base = ".".join([*parts, base] if base else parts)
                for alias in stmt.names:
                    if alias.name == "*":
                        continue
                    local = alias.asname or alias.name
                    imports.names[local] = f"{base}.{alias.name}" if base else alias.name
        for stmt in tree.body:
            imports._note_module_assignment(stmt)
        return imports

    def _note_module_assignment(self, stmt: ast.stmt) -> None:
        targets: list[ast.expr] = []
        value: ast.expr | None = None
        if isinstance(stmt, ast.Assign):
            targets, value = stmt.targets, stmt.value
        elif isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
            targets, value = [stmt.target], stmt.value
        elif hasattr(ast, "TypeAlias") and isinstance(stmt, getattr(ast, "TypeAlias")):
            targets, value = [stmt.name], stmt.value  # type: ignore[attr-defined]
        if value is None:
            return
        names = [t.id for t in targets if isinstance(t, ast.Name)]
        if not names:
            return
        if self.is_session_annotation(value):
            self.session_aliases.update(names)
        if isinstance(value, ast.Call):
            factory = self.resolve(value.func)
            if factory in ROUTER_FACTORIES:
                self.router_objects.update(dict.fromkeys(names, factory))

    def resolve(self, expr: ast.AST) -> str | None:
        """The qualified name of a Name/Attribute chain whose root is imported
        (``sa.text`` → ``sqlalchemy.text``); None when the root is local."""
        dotted = dotted_name(expr)
        if dotted is None:
            return None
        root, _, rest = dotted.partition(".")
        qualified = self.names.get(root)
        if qualified is None:
            return None
        return f"{qualified}.{rest}" if rest else qualified

    def resolves_to(self, expr: ast.AST, *candidates: str) -> bool:
        resolved = self.resolve(expr)
        return resolved is not None and resolved in candidates

    def is_session_annotation(self, annotation: ast.AST | None) -> bool:
        if annotation is None:
            return False
        if isinstance(annotation, ast.Constant) and isinstance(annotation.value, str):
            try:
                annotation = ast.parse(annotation.value, mode="eval").body
            except (SyntaxError, ValueError, UnicodeError, RecursionError, MemoryError):
                return False
        if isinstance(annotation, ast.Name) and annotation.id in self.session_aliases:
            return True
        if isinstance(annotation, ast.Subscript):
            # Annotated[Session, Depends(...)] / Optional[Session]
            head = dotted_name(annotation.value) or ""
            if head.rsplit(".", 1)[-1] in ("Annotated", "Optional"):
                inner = annotation.slice
                first = inner.elts[0] if isinstance(inner, ast.Tuple) and inner.elts else inner
                return self.is_session_annotation(first)
            return False
        if isinstance(annotation, ast.BinOp) and isinstance(annotation.op, ast.BitOr):
            return self.is_session_annotation(annotation.left) or self.is_session_annotation(annotation.right)
        dotted = dotted_name(annotation)
        if dotted is None:
            return False
        last = dotted.rsplit(".", 1)[-1]
        if last in ("Engine", "AsyncEngine", "sessionmaker", "async_sessionmaker"):
            return False
        if SESSION_DEPENDENCY_ALIAS.match(last):
            # `SessionDep = Annotated[Session, Depends(get_session)]` imported
            # from another module (the FastAPI tutorial style).
            return True
        return last.endswith(SESSION_TYPE_SUFFIXES) and last not in ("ClientSession",)


@dataclass(frozen=True)
class RouteHandler:
    node: FunctionNode
    framework: str  # fastapi | flask | django | drf | aiohttp | litestar | starlette | generic
    methods: tuple[str, ...]
    path: str | None
    owner: str | None  # the routing object's name (router, app, bp) or the view class
    line: int


def _string_arg(call: ast.Call, index: int = 0, keyword: str | None = None) -> str | None:
    if keyword:
        for kw in call.keywords:
            if kw.arg == keyword and isinstance(kw.value, ast.Constant) and isinstance(kw.value.value, str):
                return kw.value.value
    if len(call.args) > index:
        arg = call.args[index]
        if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
            return arg.value
    return None


def _methods_kw(call: ast.Call) -> tuple[str, ...] | None:
    for kw in call.keywords:
        if kw.arg == "methods" and isinstance(kw.value, (ast.List, ast.Tuple, ast.Set)):
            return tuple(
                e.value.upper() for e in kw.value.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)
            )
    return None


def _framework_of(owner_qualified: str | None, imports: ImportMap) -> str:
    if owner_qualified:
        for prefix, name in (
            ("fastapi", "fastapi"),
            ("starlette", "starlette"),
            ("flask", "flask"),
            ("quart", "flask"),
            ("aiohttp", "aiohttp"),
            ("litestar", "litestar"),
            ("sanic", "sanic"),
        ):
            if owner_qualified.startswith(prefix):
                return name
    roots = {q.split(".", 1)[0] for q in imports.names.values()}
    for name in ("fastapi", "flask", "aiohttp", "litestar", "starlette", "quart", "sanic"):
        if name in roots:
            return "flask" if name == "quart" else name
    return "generic"


def _decorator_route(decorator: ast.expr, imports: ImportMap) -> tuple[str, tuple[str, ...], str | None, str | None] | None:
    """(framework, methods, path, owner) when the decorator declares a route."""
    call = decorator if isinstance(decorator, ast.Call) else None
    func = call.func if call else decorator
    resolved = imports.resolve(func)
    if resolved in LITESTAR_HANDLERS and call is not None:
        verb = resolved.rsplit(".", 1)[-1]
        methods = (verb.upper(),) if verb != "route" else (_methods_kw(call) or ("GET",))
        path = _string_arg(call, 0, "path")
        return "litestar", methods, path, None
    if resolved in ("rest_framework.decorators.api_view",):
        methods: tuple[str, ...] = ("GET",)
        if call is not None and call.args and isinstance(call.args[0], (ast.List, ast.Tuple)):
            methods = tuple(
                e.value.upper() for e in call.args[0].elts if isinstance(e, ast.Constant) and isinstance(e.value, str)
            )
        return "drf", methods, None, None
    if call is None or not isinstance(func, ast.Attribute) or func.attr not in ROUTE_DECORATOR_ATTRS:
        return None
    owner_expr = func.value
    owner = dotted_name(owner_expr)
    if owner is None:
        return None
    owner_root = owner.split(".", 1)[0]
    known_owner = owner_root in imports.router_objects
    plausible = owner_root in ROUTER_OBJECT_NAMES or owner_root.endswith(("_router", "router", "_bp", "_app", "_routes", "blueprint"))
    if not (known_owner or plausible):
        return None
    path = _string_arg(call, 0, "path") if func.attr != "view" else _string_arg(call, 0)
    if path is None and func.attr != "route" and call.args:
        return None  # @cache.get(key) and friends: first argument is not a path
    if path is not None and path and not path.startswith(("/", "{", "<")):
        return None
    if func.attr in HTTP_METHODS:
        methods = (func.attr.upper(),)
    elif func.attr == "websocket":
        methods = ("WEBSOCKET",)
    else:
        methods = _methods_kw(call) or ("GET",)
    return _framework_of(imports.router_objects.get(owner_root), imports), methods, path, owner


def _class_is_view(cls: ast.ClassDef, imports: ImportMap) -> str | None:
    for base in cls.bases:
        resolved = imports.resolve(base)
        if resolved in VIEW_BASES:
            if resolved.startswith("rest_framework"):
                return "drf"
            return resolved.split(".", 1)[0]
        dotted = dotted_name(base) or ""
        if dotted.endswith(("APIView", "ViewSet", "GenericAPIView")):
            return "drf"
        if dotted.endswith(("MethodView",)):
            return "flask"
    return None


def find_route_handlers(tree: ast.Module, imports: ImportMap, relative: str = "") -> list[RouteHandler]:
    """Functions that handle HTTP requests in this module.

    Decorated handlers (FastAPI/Starlette/Flask/Litestar/aiohttp route tables,
    DRF ``@api_view``), methods of view classes (Django/DRF/Flask/aiohttp),
    functions registered imperatively (``app.router.add_get(path, handler)``,
    ``web.get(path, handler)``, ``app.add_url_rule``), and plain Django view
    functions (first parameter ``request``) in ``views.py`` modules.
    """
    handlers: list[RouteHandler] = []
    seen: set[int] = set()
    functions: dict[str, FunctionNode] = {}
    is_views_module = relative.rsplit("/", 1)[-1] in ("views.py", "apis.py") or "/views/" in f"/{relative}"

    def add(node: FunctionNode, framework: str, methods: tuple[str, ...], path: str | None, owner: str | None) -> None:
        if id(node) in seen:
            return
        seen.add(id(node))
        handlers.append(RouteHandler(node, framework, methods, path, owner, node.lineno))

    for stmt in tree.body:
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
            functions[stmt.name] = stmt
            for decorator in stmt.decorator_list:
                route = _decorator_route(decorator, imports)
                if route:
                    add(stmt, *route)
                    break
            else:
                if is_views_module and stmt.args.args and stmt.args.args[0].arg == "request" and not stmt.name.startswith("_"):
                    add(stmt, "django", ("GET",), None, None)
        elif isinstance(stmt, ast.ClassDef):
            framework = _class_is_view(stmt, imports)
            for item in stmt.body:
                if not isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    continue
                route = next((r for d in item.decorator_list if (r := _decorator_route(d, imports))), None)
                if route:  # litestar Controller methods
                    add(item, *route[:3], stmt.name)
                elif framework and item.name in VIEW_METHOD_NAMES:
                    method = item.name.upper() if item.name in HTTP_METHODS else item.name
                    add(item, framework, (method,), None, stmt.name)
                elif framework == "drf" and any((dotted_name(d.func if isinstance(d, ast.Call) else d) or "").endswith("action") for d in item.decorator_list):
                    add(item, framework, ("GET",), None, stmt.name)

    # Imperative registration: app.router.add_get("/x", handler), web.get("/x", handler),
    # app.add_url_rule("/x", view_func=handler), app.add_api_route("/x", handler).
    for node in iter_statements(tree.body):
        for call in _calls_in_statement(node):
            func = call.func
            if not isinstance(func, ast.Attribute):
                continue
            target: ast.expr | None = None
            method: str | None = None
            if func.attr.startswith("add_") and func.attr[4:] in (*HTTP_METHODS, "route", "api_route", "view", "url_rule"):
                verb = func.attr[4:]
                method = verb.upper() if verb in HTTP_METHODS else "GET"
                target = call.args[1] if len(call.args) > 1 else None
                if func.attr == "add_route" and len(call.args) > 2:
                    target = call.args[2]
                for kw in call.keywords:
                    if kw.arg in ("view_func", "handler", "endpoint"):
                        target = kw.value
            elif func.attr in HTTP_METHODS and imports.resolve(func.value) == "aiohttp.web":
                method = func.attr.upper()
                target = call.args[1] if len(call.args) > 1 else None
            if isinstance(target, ast.Name) and target.id in functions:
                framework = "aiohttp" if "aiohttp" in {q.split(".")[0] for q in imports.names.values()} else _framework_of(None, imports)
                add(functions[target.id], framework, (method or "GET",), _string_arg(call, 0), dotted_name(func.value))
    return handlers


def _calls_in_statement(stmt: ast.stmt) -> Iterator[ast.Call]:
    """Top-level calls of an expression statement or assignment value, and
    calls inside list/tuple literals there (``app.add_routes([web.get(...)])``)."""
    value = getattr(stmt, "value", None)
    if not isinstance(stmt, (ast.Expr, ast.Assign, ast.AnnAssign)) or value is None:
        return
    stack = [value]
    while stack:
        expr = stack.pop()
        if isinstance(expr, ast.Call):
            yield expr
            stack.extend(expr.args)
        elif isinstance(expr, (ast.List, ast.Tuple)):
            stack.extend(expr.elts)


def session_names(func: FunctionNode, imports: ImportMap) -> set[str]:
    """Local names that hold a DB session, connection or cursor in ``func``:
    annotated/injected parameters, conventionally named parameters, and locals
    bound from a session factory, a connect call, ``request.state.db``,
    Flask-SQLAlchemy's ``db.session`` or ``with … as name``."""
    names: set[str] = set()
    args = func.args
    positional = [*args.posonlyargs, *args.args]
    defaults: list[ast.expr | None] = [None] * (len(positional) - len(args.defaults)) + list(args.defaults)
    pairs = list(zip(positional, defaults)) + list(zip(args.kwonlyargs, args.kw_defaults))
    for arg, default in pairs:
        if arg.arg in ("self", "cls"):
            continue
        if imports.is_session_annotation(arg.annotation):
            names.add(arg.arg)
        elif arg.annotation is None and arg.arg in SESSION_PARAM_NAMES:
            names.add(arg.arg)
        elif default is not None and _is_session_dependency(default):
            names.add(arg.arg)
        elif arg.annotation is not None and _is_annotated_dependency(arg.annotation):
            names.add(arg.arg)
    for stmt in iter_statements(func.body):
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        if isinstance(stmt, (ast.Assign, ast.AnnAssign)):
            value = stmt.value
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
            if value is not None and is_session_source(value, imports, names):
                names.update(t.id for t in targets if isinstance(t, ast.Name))
            elif isinstance(stmt, ast.AnnAssign) and imports.is_session_annotation(stmt.annotation):
                names.update(t.id for t in targets if isinstance(t, ast.Name))
        elif isinstance(stmt, (ast.With, ast.AsyncWith)):
            for item in stmt.items:
                if isinstance(item.optional_vars, ast.Name) and is_session_source(item.context_expr, imports, names):
                    names.add(item.optional_vars.id)
    return names


def _is_session_dependency(default: ast.expr) -> bool:
    """``Depends(get_db)`` / ``Depends(get_session)``."""
    if not isinstance(default, ast.Call):
        return False
    head = dotted_name(default.func) or ""
    if head.rsplit(".", 1)[-1] not in ("Depends", "Provide", "Inject"):
        return False
    if not default.args:
        return False
    target = dotted_name(default.args[0]) or ""
    last = target.rsplit(".", 1)[-1].lower()
    return any(hint in last for hint in SESSION_FACTORY_HINTS)


def _is_annotated_dependency(annotation: ast.expr) -> bool:
    """``Annotated[Any, Depends(get_db)]`` with a session-looking dependency."""
    if not isinstance(annotation, ast.Subscript):
        return False
    inner = annotation.slice
    if not isinstance(inner, ast.Tuple):
        return False
    return any(_is_session_dependency(e) for e in inner.elts[1:])


def is_session_source(expr: ast.expr, imports: ImportMap, known: Container[str] = ()) -> bool:
    """Whether evaluating ``expr`` yields a session/connection/cursor."""
    if isinstance(expr, ast.Await):
        expr = expr.value
    dotted = dotted_name(expr)
    if dotted is not None:
        # request.state.db, db.session (Flask-SQLAlchemy), self.session
        if dotted.endswith((".state.db", ".state.session", ".state.conn")):
            return True
        if dotted == "db.session" or dotted.endswith(".db.session"):
            return True
        return False
    if not isinstance(expr, ast.Call):
        return False
    func = expr.func
    resolved = imports.resolve(func)
    if resolved in SESSION_CONSTRUCTORS:
        return True
    name = dotted_name(func) or ""
    last = name.rsplit(".", 1)[-1]
    # SessionLocal(), async_session(), get_db(), engine.connect(), pool.acquire(), conn.cursor()
    if last in ("connect", "begin", "acquire", "cursor", "begin_nested", "raw_connection"):
        receiver = name.rsplit(".", 1)[0] if "." in name else ""
        return bool(receiver) or resolved is not None
    lowered = last.lower()
    if lowered in ("sessionlocal", "session_local", "async_session", "async_session_maker", "session_factory", "session_maker", "get_session", "get_db", "get_connection", "new_session", "scoped_session"):
        return True
    if last.endswith(("SessionLocal", "Session")) and last[0].isupper():
        return True
    return False


def session_expression(expr: ast.expr, sessions: Container[str]) -> bool:
    """Whether ``expr`` (the receiver of a method call) is a session:
    a known session name, ``self.session``-style attributes, ``db.session``,
    or ``request.state.db``."""
    if isinstance(expr, ast.Name):
        return expr.id in sessions
    if isinstance(expr, ast.Attribute):
        if isinstance(expr.value, ast.Name) and expr.value.id in ("self", "cls") and expr.attr in SELF_SESSION_ATTRS:
            return True
        dotted = dotted_name(expr) or ""
        if dotted == "db.session" or dotted.endswith((".state.db", ".state.session", ".state.conn")):
            return True
    if isinstance(expr, ast.Call):
        # conn.cursor().execute(...)
        func = expr.func
        return isinstance(func, ast.Attribute) and func.attr == "cursor" and session_expression(func.value, sessions)
    return False


def db_call_kind(
    call: ast.Call,
    sessions: Container[str],
    imports: ImportMap,
    model_names: Container[str] = (),
) -> str | None:
    """``read``, ``write``, ``commit`` or ``rollback`` when the call touches the
    database directly, else None. Covers session/connection/cursor methods,
    Django managers (``X.objects.…``) and active-record models (Peewee,
    Tortoise, SQLModel class methods) whose names the index knows."""
    func = call.func
    if not isinstance(func, ast.Attribute):
        return None
    method = func.attr
    receiver = func.value
    if session_expression(receiver, sessions):
        if method == "commit":
            return "commit"
        if method == "rollback":
            return "rollback"
        if method in DB_WRITE_METHODS:
            return "write"
        if method in DB_READ_METHODS:
            return "read"
        return None
    # Django: Model.objects.filter(...), Model.objects.create(...)
    base = receiver
    chain_methods = [method]
    while isinstance(base, ast.Call) and isinstance(base.func, ast.Attribute):
        chain_methods.append(base.func.attr)
        base = base.func.value
    if isinstance(base, ast.Attribute) and base.attr == "objects":
        if isinstance(base.value, ast.Name) and base.value.id[:1].isupper():
            return "write" if any(m in DJANGO_WRITE_METHODS for m in chain_methods) else "read"
    if isinstance(receiver, ast.Name) and receiver.id in model_names and method in ACTIVE_RECORD_METHODS:
        return "write" if method in ("create", "insert", "update", "delete", "bulk_create", "delete_by_id", "get_or_create") else "read"
    return None


def enclosing_function(node: ast.AST) -> FunctionNode | None:
    """Nearest enclosing function, using the ``sg_parent`` links the engine sets."""
    current = getattr(node, "sg_parent", None)
    while current is not None:
        if isinstance(current, (ast.FunctionDef, ast.AsyncFunctionDef)):
            return current
        current = getattr(current, "sg_parent", None)
    return None


def walk_function_body(func: FunctionNode) -> Iterator[ast.AST]:
    """Every node inside ``func``'s body, not descending into nested
    functions, classes or lambdas (their code runs elsewhere)."""
    stack: list[ast.AST] = list(reversed(func.body))
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            continue
        stack.extend(reversed(list(ast.iter_child_nodes(node))))
