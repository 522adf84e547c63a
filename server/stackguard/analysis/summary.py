"""What the workspace index keeps about one module: a ``ModuleSummary``.

A summary is everything *other* files may need to know about this one: its
imports (resolved to absolute module names), the ORM models it declares with
their columns and relationships, the routes it declares (with the prefix of
the router they hang on), the routers it includes into others, module-level
DB engines/sessions, whether a rate limiter is wired in, and the exception
classes it defines.

Everything is plain picklable dataclasses, so a cold index can be built in
worker processes and cached. ``summarize`` runs on every keystroke of a
changed file, so it walks the module's *statements* once (never every
expression) plus the expressions of the few statements that matter
(decorators, class bodies of models, registration calls).

Conventions: ``line`` values are 1-based, ``col`` values 0-based UTF-8 byte
offsets exactly as ``ast`` reports them; ``relative`` paths use forward
slashes; module names follow the engine's rule (``src/`` is a source root,
``__init__`` names the package).
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field

from ..migrations.history import AlembicRevision, DjangoMigration, migration_facts

# --------------------------------------------------------------------------
# Result types
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class ImportRecord:
    """One imported module. ``module`` is absolute (relative imports are
    resolved against this module's package; an import climbing above the
    top-level package keeps its leading dots). ``names`` are the names taken
    from it by ``from … import`` (``("*",)`` for a star import), empty for a
    plain ``import``. ``bound`` are the local names the statement binds."""

    module: str
    names: tuple[str, ...]
    line: int
    col: int
    end_line: int
    end_col: int
    is_from: bool
    bound: tuple[str, ...] = ()
    level: int = 0
    # Under ``if TYPE_CHECKING:``: not a runtime dependency.
    type_checking: bool = False


@dataclass
class ColumnInfo:
    """A mapped column. ``name`` is the attribute name; ``column_name`` the
    database column when it differs (``Column("user_name", …)``, Django
    ``author`` → ``author_id``). ``nullable`` is None when it cannot be told.
    ``foreign_key`` is ``"table.column"`` as written (SQLAlchemy/SQLModel) or
    derived from the target model (Django)."""

    name: str
    type: str | None
    nullable: bool | None
    primary_key: bool = False
    unique: bool = False
    index: bool = False
    default: str | None = None
    foreign_key: str | None = None
    line: int = 0
    column_name: str | None = None
    server_default: str | None = None
    # Added by the ORM, not written in the class (Django's implicit ``id``).
    implicit: bool = False
    # Django's ``max_length=`` as written (source text), when given.
    max_length: str | None = None


@dataclass
class RelationshipInfo:
    """A relationship attribute. ``uselist`` is True for to-many, False for
    to-one, None when only the other side's foreign keys can tell (the index
    infers it then). ``reverse`` marks attributes the ORM adds to the target
    (Django reverse accessors, SQLAlchemy ``backref``)."""

    name: str
    target: str
    uselist: bool | None
    lazy: str | None = None
    back_populates: str | None = None
    secondary: str | None = None
    line: int = 0
    reverse: bool = False
    backref: str | None = None
    # relationship | Relationship | ForeignKey | OneToOneField | ManyToManyField
    kind: str = "relationship"
    related_name: str | None = None
    # For a backref given as ``backref("name", lazy=..., uselist=...)``.
    backref_lazy: str | None = None
    backref_uselist: bool | None = None


@dataclass
class TableConstraintInfo:
    """An ``Index`` (``kind`` "index") or ``UniqueConstraint`` ("unique")
    declared in a model's ``__table_args__``; ``columns`` are database
    column names."""

    kind: str
    name: str | None
    columns: tuple[str, ...]
    unique: bool = False  # Index(..., unique=True)
    line: int = 0


@dataclass
class ModelInfo:
    name: str
    module: str
    relative: str
    line: int
    end_line: int
    orm: str  # sqlalchemy | sqlmodel | flask-sqlalchemy | django | peewee | tortoise
    table: str | None
    columns: dict[str, ColumnInfo] = field(default_factory=dict)
    relationships: dict[str, RelationshipInfo] = field(default_factory=dict)
    bases: tuple[str, ...] = ()
    app_label: str | None = None  # Django
    # SQLAlchemy/SQLModel ``__table_args__`` indexes and unique constraints.
    constraints: list[TableConstraintInfo] = field(default_factory=list)
    # ``__table_args__`` holds something that cannot be read from the source
    # (a functional index, a call that builds the tuple): the table's index
    # set is not known completely.
    opaque_table_args: bool = False


@dataclass
class RouteInfo:
    """One (method, path) served. ``path`` has the prefixes known inside the
    declaring module applied (the router's own prefix, and includes of that
    router into another routing object of the same module); the index adds
    prefixes from other modules. ``owner`` is the routing object the route
    hangs on after those local includes (a variable name, a Litestar handler
    or controller name, ``urlpatterns``). ``handler`` is the handler's name
    when defined here, else its qualified reference (``blog.views.detail``).
    ``method`` is ``ANY`` when the framework dispatches every verb to it
    (Django views, DRF routers, aiohttp ``view``)."""

    method: str
    path: str
    handler: str
    relative: str
    line: int
    framework: str
    owner: str = ""
    handler_line: int = 0  # 0 when the handler is defined in another module


@dataclass(frozen=True)
class RouterDecl:
    """A routing object created here: ``router = APIRouter(prefix="/items")``."""

    name: str
    framework: str
    prefix: str
    line: int
    kind: str = ""  # constructor name: APIRouter, Blueprint, DefaultRouter…


@dataclass(frozen=True)
class RouterInclude:
    """``parent`` (a routing object of this module) mounts ``child`` at
    ``prefix``. ``child`` is a local name, or a qualified reference
    (``app.api.routes.items.router``), or with ``child_is_module`` a module
    whose ``urlpatterns`` are included (Django ``include("blog.urls")``)."""

    parent: str
    child: str
    prefix: str
    line: int
    kind: str
    child_is_module: bool = False


@dataclass(frozen=True)
class SessionBinding:
    """A module-level name bound to a DB engine, session factory, session,
    connection, pool or client. ``kind``: engine | sessionmaker |
    scoped_session | session | connection | pool | database |
    flask_sqlalchemy | redis | mongo_client | http_client."""

    name: str
    kind: str
    line: int
    factory: str


@dataclass
class ModuleSummary:
    module: str
    relative: str
    layer: str
    imports: list[ImportRecord] = field(default_factory=list)
    models: list[ModelInfo] = field(default_factory=list)
    routes: list[RouteInfo] = field(default_factory=list)
    routers: dict[str, RouterDecl] = field(default_factory=dict)
    includes: list[RouterInclude] = field(default_factory=list)
    # Functions and classes of this module that handle requests.
    handlers: list[str] = field(default_factory=list)
    sessions: dict[str, SessionBinding] = field(default_factory=dict)
    has_limiter: bool = False
    limiter_line: int = 0
    exception_classes: list[str] = field(default_factory=list)
    # Top-level functions and classes: name -> line.
    symbols: dict[str, int] = field(default_factory=dict)
    # The migration this module is (an Alembic revision or a Django
    # migration, ``stackguard.migrations.history``), for SG601.
    migration: AlembicRevision | DjangoMigration | None = None

    @property
    def declares_handlers(self) -> bool:
        return bool(self.handlers)

    @property
    def defines_exceptions(self) -> bool:
        return bool(self.exception_classes)

    @property
    def router_prefixes(self) -> dict[str, str]:
        return {name: decl.prefix for name, decl in self.routers.items()}

    def model_names(self) -> set[str]:
        return {model.name for model in self.models}


# --------------------------------------------------------------------------
# Small AST helpers
# --------------------------------------------------------------------------


def module_name(relative: str) -> str:
    """``app/routers/items.py`` → ``app.routers.items``; packages drop
    ``__init__``; a leading ``src/`` is a source root. Same rule as
    ``engine.module_name`` so index keys and rule contexts agree."""
    path = relative
    for suffix in (".py", ".pyi"):
        if path.endswith(suffix):
            path = path[: -len(suffix)]
            break
    parts = [p for p in path.split("/") if p]
    if parts and parts[-1] == "__init__":
        parts.pop()
    if parts and parts[0] == "src":
        parts = parts[1:]
    return ".".join(parts)


def _package_of(relative: str, module: str) -> str:
    if relative.endswith(("/__init__.py", "/__init__.pyi")) or relative in ("__init__.py", "__init__.pyi"):
        return module
    return module.rsplit(".", 1)[0] if "." in module else ""


def resolve_relative(package: str, level: int, module: str | None) -> str:
    """``from ..x import y`` inside ``package`` → absolute ``pkg.x``. When the
    import climbs above the top-level package the dots are kept."""
    if not level:
        return module or ""
    parts = package.split(".") if package else []
    if level - 1 > len(parts):
        return "." * level + (module or "")
    base = parts[: len(parts) - (level - 1)]
    if module:
        base.append(module)
    return ".".join(base) if base else "." * level + (module or "")


def dotted(expr: ast.AST | None) -> str | None:
    parts: list[str] = []
    while isinstance(expr, ast.Attribute):
        parts.append(expr.attr)
        expr = expr.value
    if isinstance(expr, ast.Name):
        parts.append(expr.id)
        return ".".join(reversed(parts))
    return None


def _last(name: str | None) -> str:
    return name.rsplit(".", 1)[-1] if name else ""


def _kw(call: ast.Call, *names: str) -> ast.expr | None:
    for keyword in call.keywords:
        if keyword.arg in names:
            return keyword.value
    return None


def _str(expr: ast.AST | None) -> str | None:
    if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
        return expr.value
    return None


def _bool(expr: ast.AST | None) -> bool | None:
    if isinstance(expr, ast.Constant) and isinstance(expr.value, bool):
        return expr.value
    return None


def _unparse(expr: ast.AST | None) -> str | None:
    if expr is None:
        return None
    try:
        return ast.unparse(expr)
    except (ValueError, RecursionError):  # pathological expressions
        return None


def _string_annotation(expr: ast.expr | None) -> ast.expr | None:
    """A string annotation (``"Item"``, ``"list[Item]"``) as an expression."""
    text = _str(expr)
    if text is None:
        return expr
    try:
        return ast.parse(text.strip(), mode="eval").body
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def _arg(call: ast.Call, index: int, *keywords: str) -> ast.expr | None:
    value = _kw(call, *keywords) if keywords else None
    if value is not None:
        return value
    positional = [a for a in call.args if not isinstance(a, ast.Starred)]
    return positional[index] if len(positional) > index else None


def join_path(prefix: str, path: str) -> str:
    """Join URL fragments the way the frameworks do: ``/items`` + ``/{id}``,
    ``api/`` + ``posts/``, ``/bp`` + ``/`` → ``/bp/``."""
    if not prefix:
        return path
    if not path:
        return prefix
    return prefix.rstrip("/") + "/" + path.lstrip("/")


def apply_include(path: str, include: RouterInclude, child: RouterDecl | None, parent: RouterDecl | None) -> str:
    """The path of a route of ``child`` once ``include`` mounts it on
    ``parent``. ``path`` already carries the child's own prefix. Flask's
    ``register_blueprint(bp, url_prefix=...)`` *replaces* the blueprint's
    ``url_prefix``; everywhere else the include prefix is prepended, then the
    parent's own prefix (an ``APIRouter(prefix=...)`` including another)."""
    if include.kind == "register_blueprint" and include.prefix and child is not None and child.prefix:
        own = child.prefix.rstrip("/")
        if own and (path == own or path.startswith(own + "/")):
            path = path[len(own) :] or "/"
    return normalize_path(join_path(join_path(parent.prefix if parent else "", include.prefix), path))


def normalize_path(path: str) -> str:
    """Routes are shown with a leading slash whatever the framework's
    spelling (Django writes ``posts/<int:pk>/``)."""
    if not path:
        return "/"
    return path if path.startswith("/") else "/" + path


# --------------------------------------------------------------------------
# Vocabulary
# --------------------------------------------------------------------------

HTTP_METHODS = ("get", "post", "put", "patch", "delete", "head", "options", "trace")
_DECORATOR_VERBS = frozenset({*HTTP_METHODS, "route", "api_route", "websocket", "view"})

# Constructor (last name) → (framework, prefix keyword) per framework package.
_ROUTER_CONSTRUCTORS: dict[str, dict[str, tuple[str, str | None]]] = {
    "fastapi": {"FastAPI": ("fastapi", None), "APIRouter": ("fastapi", "prefix")},
    "starlette": {"Starlette": ("starlette", None), "Router": ("starlette", None)},
    "flask": {"Flask": ("flask", None), "Blueprint": ("flask", "url_prefix")},
    "quart": {"Quart": ("quart", None), "Blueprint": ("quart", "url_prefix")},
    "sanic": {"Sanic": ("sanic", None), "Blueprint": ("sanic", "url_prefix")},
    "aiohttp": {"Application": ("aiohttp", None), "RouteTableDef": ("aiohttp", None)},
    "litestar": {"Litestar": ("litestar", None), "Router": ("litestar", "path")},
    "starlite": {"Starlite": ("litestar", None), "Router": ("litestar", "path")},
    "ninja": {"NinjaAPI": ("django-ninja", None), "Router": ("django-ninja", None)},
    "rest_framework": {"DefaultRouter": ("drf", None), "SimpleRouter": ("drf", None)},
}
_FRAMEWORK_IMPORT_ORDER = (
    ("fastapi", "fastapi"),
    ("flask", "flask"),
    ("aiohttp", "aiohttp"),
    ("litestar", "litestar"),
    ("starlite", "litestar"),
    ("starlette", "starlette"),
    ("ninja", "django-ninja"),
    ("quart", "quart"),
    ("sanic", "sanic"),
    ("rest_framework", "drf"),
    ("django", "django"),
)
# Names a routing object imported from elsewhere usually has.
_ROUTER_OWNER_NAME = re.compile(r"(?:^|_)(?:app|api|router|routes|bp|blueprint|v\d+)$|router$|_bp$|_app$", re.IGNORECASE)

# Class bases that make a class a request handler.
_VIEW_BASE_LAST = frozenset(
    {
        "View",
        "TemplateView",
        "RedirectView",
        "ListView",
        "DetailView",
        "CreateView",
        "UpdateView",
        "DeleteView",
        "FormView",
        "ArchiveIndexView",
        "APIView",
        "GenericAPIView",
        "ListAPIView",
        "CreateAPIView",
        "RetrieveAPIView",
        "UpdateAPIView",
        "DestroyAPIView",
        "ListCreateAPIView",
        "RetrieveUpdateAPIView",
        "RetrieveDestroyAPIView",
        "RetrieveUpdateDestroyAPIView",
        "ViewSet",
        "GenericViewSet",
        "ModelViewSet",
        "ReadOnlyModelViewSet",
        "MethodView",
        "HTTPEndpoint",
        "WebSocketEndpoint",
        "Controller",
        "Resource",
        "HTTPMethodView",
    }
)
_VIEW_FRAMEWORK_ROOTS = {
    "django": "django",
    "rest_framework": "drf",
    "aiohttp": "aiohttp",
    "flask": "flask",
    "flask_restful": "flask",
    "flask_smorest": "flask",
    "starlette": "starlette",
    "litestar": "litestar",
    "starlite": "litestar",
    "sanic": "sanic",
    "quart": "quart",
}
# Decorators that make a function a request handler without a path.
_HANDLER_DECORATORS = {
    "rest_framework.decorators.api_view": "drf",
    "django.views.decorators.http.require_http_methods": "django",
    "django.views.decorators.http.require_GET": "django",
    "django.views.decorators.http.require_POST": "django",
    "django.views.decorators.http.require_safe": "django",
}

# Calls that build backing-service infrastructure; value = session binding kind.
_INFRA_BY_QUALIFIED = {
    "sqlalchemy.create_engine": "engine",
    "sqlalchemy.engine.create_engine": "engine",
    "sqlalchemy.ext.asyncio.create_async_engine": "engine",
    "sqlalchemy.engine_from_config": "engine",
    "sqlmodel.create_engine": "engine",
    "sqlalchemy.orm.sessionmaker": "sessionmaker",
    "sqlalchemy.ext.asyncio.async_sessionmaker": "sessionmaker",
    "sqlalchemy.orm.scoped_session": "scoped_session",
    "sqlalchemy.ext.asyncio.async_scoped_session": "scoped_session",
    "sqlalchemy.orm.Session": "session",
    "sqlalchemy.ext.asyncio.AsyncSession": "session",
    "sqlmodel.Session": "session",
    "flask_sqlalchemy.SQLAlchemy": "flask_sqlalchemy",
    "asyncpg.create_pool": "pool",
    "asyncpg.connect": "connection",
    "aiopg.create_pool": "pool",
    "aiopg.connect": "connection",
    "aiomysql.create_pool": "pool",
    "aiomysql.connect": "connection",
    "psycopg.connect": "connection",
    "psycopg.AsyncConnection.connect": "connection",
    "psycopg2.connect": "connection",
    "psycopg_pool.ConnectionPool": "pool",
    "psycopg_pool.AsyncConnectionPool": "pool",
    "psycopg2.pool.SimpleConnectionPool": "pool",
    "psycopg2.pool.ThreadedConnectionPool": "pool",
    "pymysql.connect": "connection",
    "MySQLdb.connect": "connection",
    "sqlite3.connect": "connection",
    "aiosqlite.connect": "connection",
    "databases.Database": "database",
    "redis.Redis": "redis",
    "redis.StrictRedis": "redis",
    "redis.from_url": "redis",
    "redis.Redis.from_url": "redis",
    "redis.asyncio.Redis": "redis",
    "redis.asyncio.from_url": "redis",
    "redis.asyncio.Redis.from_url": "redis",
    "aioredis.from_url": "redis",
    "aioredis.create_redis_pool": "redis",
    "aioredis.Redis": "redis",
    "pymongo.MongoClient": "mongo_client",
    "motor.motor_asyncio.AsyncIOMotorClient": "mongo_client",
    "aiohttp.ClientSession": "http_client",
    "httpx.Client": "http_client",
    "httpx.AsyncClient": "http_client",
    "aio_pika.connect_robust": "connection",
    "aio_pika.connect": "connection",
    "boto3.client": "client",
    "boto3.resource": "client",
    "elasticsearch.Elasticsearch": "client",
    "elasticsearch.AsyncElasticsearch": "client",
}
# Names unambiguous enough to recognise without resolving the import.
_INFRA_BY_LAST = {
    "create_engine": "engine",
    "create_async_engine": "engine",
    "sessionmaker": "sessionmaker",
    "async_sessionmaker": "sessionmaker",
    "scoped_session": "scoped_session",
    "create_pool": "pool",
    "ClientSession": "http_client",
    "StrictRedis": "redis",
    "AsyncIOMotorClient": "mongo_client",
    "MongoClient": "mongo_client",
    "AsyncConnectionPool": "pool",
    "ThreadedConnectionPool": "pool",
    "SimpleConnectionPool": "pool",
    "connect_robust": "connection",
}


def infrastructure_kind(qualified: str | None) -> str | None:
    """The kind of backing-service object a call to ``qualified`` builds."""
    if not qualified:
        return None
    kind = _INFRA_BY_QUALIFIED.get(qualified)
    if kind is not None:
        return kind
    return _INFRA_BY_LAST.get(_last(qualified))


_LIMITER_MODULES = ("slowapi", "flask_limiter", "fastapi_limiter", "django_ratelimit", "ratelimit", "limits", "rest_framework.throttling", "aiohttp_ratelimiter", "sanic_limiter", "litestar.middleware.rate_limit")

_MAPPED_WRAPPERS = frozenset({"Mapped", "DynamicMapped", "WriteOnlyMapped"})
_COLLECTIONS = frozenset({"list", "List", "set", "Set", "Sequence", "MutableSequence", "frozenset", "FrozenSet", "Iterable", "Collection", "tuple", "Tuple", "AbstractSet", "MutableSet"})
_SA_COLUMN_CALLS = frozenset({"Column", "mapped_column"})
_SA_RELATIONSHIP_CALLS = frozenset({"relationship", "relation"})
_DJANGO_RELATIONS = frozenset({"ForeignKey", "OneToOneField", "ManyToManyField", "ParentalKey", "ParentalManyToManyField"})
_DJANGO_VIRTUAL = frozenset({"GenericForeignKey", "GenericRelation"})
# ORMs we do not model; a ``Model`` base from them is not Flask-SQLAlchemy.
_OTHER_ORMS = ("peewee", "tortoise", "ormar", "mongoengine", "odmantic", "beanie", "piccolo", "pony", "pydantic", "django")


def _camel_to_snake(name: str) -> str:
    """Flask-SQLAlchemy 3's default ``__tablename__`` (``camel_to_snake_case``)."""
    snake = re.sub(r"((?<=[a-z0-9])[A-Z]|(?!^)[A-Z](?=[a-z]))", r"_\1", name)
    return snake.lower().lstrip("_")


def _lazy_text(expr: ast.expr | None) -> str | None:
    if expr is None:
        return None
    if isinstance(expr, ast.Constant):
        value = expr.value
        if value is True:
            return "select"
        if value is False:
            return "joined"
        if value is None:
            return "noload"
        if isinstance(value, str):
            return value
    return _unparse(expr)


def _type_text(expr: ast.expr) -> str:
    """``sa.String(120)`` → ``String(120)``: the type without its module."""
    if isinstance(expr, ast.Name):
        return expr.id
    if isinstance(expr, ast.Attribute):
        return expr.attr
    if isinstance(expr, ast.Call):
        args = [_unparse(a) or "?" for a in expr.args]
        args += [f"{k.arg}={_unparse(k.value)}" if k.arg else f"**{_unparse(k.value)}" for k in expr.keywords]
        return f"{_type_text(expr.func)}({', '.join(args)})"
    return _unparse(expr) or "?"


def _split_optional(expr: ast.expr | None) -> tuple[ast.expr | None, bool]:
    """``X | None`` / ``Optional[X]`` / ``Union[X, None]`` → (X, True)."""
    expr = _string_annotation(expr)
    if expr is None:
        return None, False
    if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.BitOr):
        parts: list[ast.expr] = []
        stack: list[ast.expr] = [expr]
        while stack:
            item = stack.pop()
            if isinstance(item, ast.BinOp) and isinstance(item.op, ast.BitOr):
                stack.extend((item.right, item.left))
            else:
                parts.append(item)
        rest = [p for p in parts if not (isinstance(p, ast.Constant) and p.value is None)]
        nullable = len(rest) != len(parts)
        return (rest[0] if len(rest) == 1 else expr), nullable
    if isinstance(expr, ast.Subscript):
        head = _last(dotted(expr.value))
        if head == "Optional":
            return _string_annotation(expr.slice), True
        if head == "Union" and isinstance(expr.slice, ast.Tuple):
            elts = expr.slice.elts
            rest = [e for e in elts if not (isinstance(e, ast.Constant) and e.value is None)]
            return (rest[0] if len(rest) == 1 else expr), len(rest) != len(elts)
    return expr, False


def _collection_element(expr: ast.expr | None) -> tuple[bool, ast.expr | None]:
    """``list["Item"]`` → (True, "Item"); anything else → (False, itself)."""
    expr = _string_annotation(expr)
    if isinstance(expr, ast.Subscript) and _last(dotted(expr.value)) in _COLLECTIONS:
        inner = expr.slice
        if isinstance(inner, ast.Tuple) and inner.elts:
            inner = inner.elts[0]
        return True, _string_annotation(inner)
    return False, expr


def _class_name_of(expr: ast.expr | None) -> str | None:
    """``"app.models.Item"`` / ``Item`` / ``models.Item`` / ``lambda: Item`` → ``Item``."""
    if isinstance(expr, ast.Lambda):
        expr = expr.body
    text = _str(expr)
    if text is not None:
        text = text.strip().strip("'\"")
        return text.rsplit(".", 1)[-1] or None
    name = dotted(expr)
    return _last(name) or None


# --------------------------------------------------------------------------
# The summarizer
# --------------------------------------------------------------------------


@dataclass
class _ClassInfo:
    node: ast.ClassDef
    bases: list[str]
    kind: str | None = None  # sqlalchemy | sqlmodel | flask-sqlalchemy | django | sa-base | sa-mixin
    is_model: bool = False
    abstract: bool = False
    table: str | None = None
    app_label: str | None = None
    columns: dict[str, ColumnInfo] = field(default_factory=dict)
    relationships: dict[str, RelationshipInfo] = field(default_factory=dict)
    meta: dict[str, ast.expr] = field(default_factory=dict)


_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)
_ASSIGNS = (ast.Assign, ast.AnnAssign, ast.AugAssign)
_BLOCKS = tuple(
    getattr(ast, name)
    for name in ("For", "AsyncFor", "While", "With", "AsyncWith", "Try", "TryStar", "Match")
    if hasattr(ast, name)
)
# Method names of registration calls (``app.include_router(...)``); any
# ``add_*`` also qualifies.
_REGISTRATION_ATTRS = frozenset(
    {"include_router", "register_blueprint", "mount", "register", "append", "extend"}
)
# Calls worth a look when assigned inside a function (an app factory).
_SCOPED_CALL_NAMES = frozenset(
    {last for table in _ROUTER_CONSTRUCTORS.values() for last in table} | {"declarative_base", "generate_base", "SQLAlchemy"}
)


def _worth_a_look(value: ast.expr | None) -> bool:
    """Whether a function-local assignment can declare routing: a routing
    object's constructor or a route table. Keeps ordinary locals
    (``item = db.get(...)``) off the summariser's path."""
    kind = type(value)
    if kind is ast.Call:
        func = value.func  # type: ignore[union-attr]
        name = func.attr if type(func) is ast.Attribute else func.id if type(func) is ast.Name else ""
        return name in _SCOPED_CALL_NAMES
    if kind is ast.List or kind is ast.Tuple:
        return any(type(e) is ast.Call for e in value.elts)  # type: ignore[union-attr]
    if kind is ast.BinOp:
        return True
    return kind is ast.Attribute and value.attr == "urls"  # type: ignore[union-attr]


class _Summarizer:
    def __init__(self, relative: str, tree: ast.Module, layer: str) -> None:
        self.relative = relative
        self.tree = tree
        self.module = module_name(relative)
        self.package = _package_of(relative, self.module)
        self.summary = ModuleSummary(self.module, relative, layer)
        self.names: dict[str, str] = {}  # local name -> qualified
        self.import_roots: set[str] = set()
        self.functions: dict[str, ast.FunctionDef | ast.AsyncFunctionDef] = {}
        self.classes: dict[str, _ClassInfo] = {}
        self.class_order: list[_ClassInfo] = []
        self.declarative_bases: set[str] = set()
        self.flask_db_names: set[str] = set()
        self._handlers: dict[str, None] = {}
        # Module-level string constants, for prefixes given by name.
        self.constants: dict[str, str] = {}
        self._local_parent: dict[str, tuple[str, str]] = {}

    # ---- name resolution -------------------------------------------------

    def qualify(self, expr: ast.AST | None) -> str | None:
        """Qualified name of a Name/Attribute chain; a chain rooted in a
        local name stays as written (``db.Column``)."""
        name = dotted(expr)
        if name is None:
            return None
        root, dot, rest = name.partition(".")
        qualified = self.names.get(root)
        if qualified is None:
            return name
        return f"{qualified}.{rest}" if dot else qualified

    def _path_text(self, expr: ast.expr | None) -> str:
        """A URL path or prefix argument: a literal, a module-level string
        constant, else the expression in braces (``{settings.API_V1_STR}``)
        so a route still shows where its unknown part comes from."""
        if expr is None:
            return ""
        text = _str(expr)
        if text is not None:
            return text
        if isinstance(expr, ast.Name) and expr.id in self.constants:
            return self.constants[expr.id]
        return "{" + (_unparse(expr) or "?") + "}"

    def _framework_guess(self) -> str:
        for root, framework in _FRAMEWORK_IMPORT_ORDER:
            if root in self.import_roots:
                return framework
        return "unknown"

    # ---- driver ----------------------------------------------------------

    def run(self) -> ModuleSummary:
        assigns: list[tuple[ast.stmt, str]] = []
        exprs: list[ast.Expr] = []
        decorated: list[tuple[ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef, ast.ClassDef | None]] = []
        summary = self.summary
        # One iterative walk over statements (never expressions), each with
        # its scope and whether it sits under ``if TYPE_CHECKING:``.
        stack: list[tuple[ast.stmt, str, bool]] = [(s, "module", False) for s in reversed(self.tree.body)]
        pop, push = stack.pop, stack.append
        while stack:
            stmt, scope, checking = pop()
            kind = type(stmt)
            if kind is ast.Expr:
                value = stmt.value  # type: ignore[attr-defined]
                if scope != "class" and type(value) is ast.Call and type(value.func) is ast.Attribute:
                    attr = value.func.attr
                    if attr.startswith("add_") or (
                        attr in _REGISTRATION_ATTRS
                        and (scope == "module" or attr not in ("append", "extend"))
                    ):
                        exprs.append(stmt)  # type: ignore[arg-type]
            elif kind in _ASSIGNS:
                if scope == "class":
                    self._class_level_assign(stmt)
                elif scope == "module" or _worth_a_look(stmt.value):  # type: ignore[attr-defined]
                    assigns.append((stmt, scope))
            elif kind is ast.Import or kind is ast.ImportFrom:
                self._import(stmt, checking)  # type: ignore[arg-type]
            elif kind in _FUNCTIONS:
                if scope == "module":
                    summary.symbols.setdefault(stmt.name, stmt.lineno)  # type: ignore[attr-defined]
                if scope != "class":
                    self.functions.setdefault(stmt.name, stmt)  # type: ignore[attr-defined, arg-type]
                    if stmt.decorator_list:  # type: ignore[attr-defined]
                        decorated.append((stmt, None))  # type: ignore[arg-type]
                for child in reversed(stmt.body):  # type: ignore[attr-defined]
                    push((child, "function", checking))
            elif kind is ast.ClassDef:
                if scope == "module":
                    summary.symbols.setdefault(stmt.name, stmt.lineno)  # type: ignore[attr-defined]
                    info = _ClassInfo(stmt, [])  # type: ignore[arg-type]
                    self.classes.setdefault(stmt.name, info)  # type: ignore[attr-defined]
                    self.class_order.append(info)
                    if stmt.decorator_list:  # type: ignore[attr-defined]
                        decorated.append((stmt, None))  # type: ignore[arg-type]  # aiohttp @routes.view on a class
                inner = "function" if scope == "function" else "class"
                for child in reversed(stmt.body):  # type: ignore[attr-defined]
                    push((child, inner, checking))
            elif kind is ast.If:
                test = dotted(stmt.test) or ""  # type: ignore[attr-defined]
                for child in reversed(stmt.orelse):  # type: ignore[attr-defined]
                    push((child, scope, checking))
                body_checking = checking or test.endswith("TYPE_CHECKING")
                for child in reversed(stmt.body):  # type: ignore[attr-defined]
                    push((child, scope, body_checking))
            elif kind in _BLOCKS:
                children: list[ast.stmt] = []
                for name in ("body", "orelse", "finalbody"):
                    children.extend(getattr(stmt, name, None) or ())
                for handler in getattr(stmt, "handlers", None) or ():
                    children.extend(handler.body)
                for case in getattr(stmt, "cases", None) or ():
                    children.extend(case.body)
                for child in reversed(children):
                    push((child, scope, checking))
        # Methods of module-level classes: route decorators on methods
        # (Litestar controllers, class-based FastAPI helpers).
        for info in self.class_order:
            for item in info.node.body:
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)) and item.decorator_list:
                    decorated.append((item, info.node))
            info.bases = [self.qualify(b) or (_unparse(b) or "") for b in info.node.bases]

        for stmt, scope in assigns:
            self._assign_pass_one(stmt, scope)
        for info in self.class_order:
            self._class_pass(info)
        for func, owner_class in decorated:
            self._decorated(func, owner_class)
        for stmt, scope in assigns:
            self._assign_pass_two(stmt, scope)
        for stmt in exprs:
            self._registration(stmt.value, stmt.lineno)  # type: ignore[arg-type]  # filtered to calls above
        self._models()
        self._apply_local_includes()
        summary.handlers = list(self._handlers)
        return summary

    # ---- imports ---------------------------------------------------------

    def _import(self, stmt: ast.Import | ast.ImportFrom, checking: bool) -> None:
        position = {
            "line": stmt.lineno,
            "col": stmt.col_offset,
            "end_line": stmt.end_lineno or stmt.lineno,
            "end_col": stmt.end_col_offset or stmt.col_offset,
        }
        if isinstance(stmt, ast.Import):
            for alias in stmt.names:
                if alias.asname:
                    self.names[alias.asname] = alias.name
                    local_name = alias.asname
                else:
                    local_name = alias.name.split(".", 1)[0]
                    self.names.setdefault(local_name, local_name)
                self.import_roots.add(alias.name.split(".", 1)[0])
                self._note_limiter(alias.name, stmt.lineno)
                self.summary.imports.append(
                    ImportRecord(alias.name, (), is_from=False, bound=(local_name,), type_checking=checking, **position)
                )
            return
        base = resolve_relative(self.package, stmt.level, stmt.module)
        names = tuple(alias.name for alias in stmt.names)
        bound: list[str] = []
        for alias in stmt.names:
            if alias.name == "*":
                continue
            local = alias.asname or alias.name
            self.names[local] = f"{base}.{alias.name}" if base else alias.name
            bound.append(local)
        if not stmt.level and stmt.module:
            self.import_roots.add(stmt.module.split(".", 1)[0])
        self._note_limiter(base, stmt.lineno)
        if base == "rest_framework" and "throttling" in names:
            self._note_limiter("rest_framework.throttling", stmt.lineno)
        self.summary.imports.append(
            ImportRecord(base, names, is_from=True, bound=tuple(bound), level=stmt.level, type_checking=checking, **position)
        )

    def _note_limiter(self, module: str, line: int) -> None:
        if self.summary.has_limiter:
            return
        for candidate in _LIMITER_MODULES:
            if module == candidate or module.startswith(candidate + "."):
                self.summary.has_limiter = True
                self.summary.limiter_line = line
                return

    # ---- assignments -----------------------------------------------------

    @staticmethod
    def _targets(stmt: ast.stmt) -> list[str]:
        if isinstance(stmt, ast.Assign):
            return [t.id for t in stmt.targets if isinstance(t, ast.Name)]
        if isinstance(stmt, (ast.AnnAssign, ast.AugAssign)) and isinstance(stmt.target, ast.Name):
            return [stmt.target.id]
        return []

    def _assign_pass_one(self, stmt: ast.stmt, scope: str) -> None:
        """Routing objects, declarative bases and session bindings: what the
        decorators and registrations later refer to."""
        value = getattr(stmt, "value", None)
        if isinstance(stmt, ast.AugAssign) or value is None:
            return
        targets = self._targets(stmt)
        if not targets:
            return
        call = value.value if isinstance(value, ast.Await) else value
        if scope == "module" and isinstance(value, ast.Constant) and isinstance(value.value, str):
            for name in targets:
                self.constants[name] = value.value
            return
        if not isinstance(call, ast.Call):
            if scope == "module" and isinstance(value, ast.Dict):
                self._settings_dict(value, stmt.lineno)
            return
        qualified = self.qualify(call.func) or ""
        router = self._router_constructor(qualified)
        if router is not None:
            framework, prefix_kw, kind = router
            prefix: str | None
            if framework == "litestar" and kind == "Router":
                prefix = self._path_text(_arg(call, 0, "path"))
            else:
                prefix = self._path_text(_kw(call, prefix_kw)) if prefix_kw else None
            for name in targets:
                self.summary.routers[name] = RouterDecl(name, framework, prefix or "", stmt.lineno, kind)
        last = _last(qualified)
        if last in ("declarative_base", "generate_base") or qualified.endswith("registry.generate_base"):
            self.declarative_bases.update(targets)
        if scope == "module":
            binding_kind = infrastructure_kind(qualified)
            if binding_kind is None:
                binding_kind = self._session_call_kind(call, qualified)
            if binding_kind is not None:
                for name in targets:
                    self.summary.sessions[name] = SessionBinding(name, binding_kind, stmt.lineno, qualified)
                if binding_kind == "flask_sqlalchemy":
                    self.flask_db_names.update(targets)
        if last == "SQLAlchemy":
            self.flask_db_names.update(targets)

    def _session_call_kind(self, call: ast.Call, qualified: str) -> str | None:
        """``SessionLocal()`` (a sessionmaker bound here or imported by a
        session-looking name) → session; ``engine.connect()`` → connection."""
        head = qualified.rsplit(".", 1)[0] if "." in qualified else ""
        last = _last(qualified)
        binding = self.summary.sessions.get(qualified)
        if binding is not None and binding.kind in ("sessionmaker", "scoped_session"):
            return "session"
        if last in ("connect", "raw_connection") and head in self.summary.sessions:
            return "connection"
        if last == "begin" and head in self.summary.sessions:
            return None
        if "Session" in last and last[:1].isupper() and last not in ("ClientSession",) and "maker" not in last.lower():
            return "session"
        return None

    def _settings_dict(self, value: ast.Dict, line: int) -> None:
        # DRF settings: REST_FRAMEWORK = {"DEFAULT_THROTTLE_CLASSES": [...]}.
        for key in value.keys:
            if _str(key) in ("DEFAULT_THROTTLE_CLASSES", "DEFAULT_THROTTLE_RATES") and not self.summary.has_limiter:
                self.summary.has_limiter = True
                self.summary.limiter_line = getattr(key, "lineno", line)

    def _router_constructor(self, qualified: str) -> tuple[str, str | None, str] | None:
        root = qualified.split(".", 1)[0]
        table = _ROUTER_CONSTRUCTORS.get(root)
        if table is None:
            return None
        last = _last(qualified)
        found = table.get(last)
        if found is None:
            return None
        return found[0], found[1], last

    def _class_level_assign(self, stmt: ast.stmt) -> None:
        for name in self._targets(stmt):
            if name in ("throttle_classes", "throttle_scope") and not self.summary.has_limiter:
                self.summary.has_limiter = True
                self.summary.limiter_line = stmt.lineno

    def _assign_pass_two(self, stmt: ast.stmt, scope: str) -> None:
        """Route tables held in variables: ``urlpatterns = [path(...)]``,
        Starlette ``routes = [Route(...)]``, aiohttp ``[web.get(...)]``, and
        application objects built with their routes."""
        value = getattr(stmt, "value", None)
        if value is None:
            return
        targets = self._targets(stmt)
        if not targets:
            return
        owner = targets[0]
        if isinstance(value, (ast.List, ast.Tuple)):
            self._route_list(value.elts, "", owner)
        elif isinstance(value, ast.BinOp) and isinstance(value.op, ast.Add):
            # urlpatterns = [...] + router.urls
            for side in (value.left, value.right):
                if isinstance(side, (ast.List, ast.Tuple)):
                    self._route_list(side.elts, "", owner)
                else:
                    self._include_urls_expr(owner, side, "", stmt.lineno)
        elif isinstance(value, ast.Attribute) and value.attr == "urls":
            self._include_urls_expr(owner, value, "", stmt.lineno)
        elif isinstance(value, ast.Call):
            qualified = self.qualify(value.func) or ""
            last = _last(qualified)
            decl = self.summary.routers.get(owner)
            if last in ("Starlette", "Router") and decl is not None and decl.framework == "starlette" or (
                last == "FastAPI" and _kw(value, "routes") is not None
            ):
                self._routes_argument(owner, _kw(value, "routes"), "", stmt.lineno)
            elif decl is not None and decl.framework == "litestar":
                handlers = _kw(value, "route_handlers")
                if handlers is None and last == "Router":
                    handlers = _arg(value, 1)
                if isinstance(handlers, (ast.List, ast.Tuple)):
                    # The Router's own path is its declared prefix, applied
                    # on top of each included handler's path.
                    for element in handlers.elts:
                        child = self.qualify(element)
                        if child:
                            self._include(owner, child, "", stmt.lineno, "route_handlers")

    def _routes_argument(self, owner: str, routes: ast.expr | None, prefix: str, line: int) -> None:
        if isinstance(routes, (ast.List, ast.Tuple)):
            self._route_list(routes.elts, prefix, owner)
        elif routes is not None:
            child = self.qualify(routes)
            if child:
                self._include(owner, child, prefix, line, "routes")

    # ---- route tables (Django, Starlette, aiohttp lists) ----------------

    def _route_list(self, elements: list[ast.expr], prefix: str, owner: str) -> None:
        for element in elements:
            if not isinstance(element, ast.Call):
                continue
            qualified = self.qualify(element.func) or ""
            root = qualified.split(".", 1)[0]
            last = _last(qualified)
            if root == "django" and last in ("path", "re_path", "url"):
                self._django_path(element, last, prefix, owner)
            elif root == "starlette" and last in ("Route", "WebSocketRoute", "Mount"):
                self._starlette_route(element, last, prefix, owner)
            elif qualified.startswith("aiohttp.web.") and last in (*HTTP_METHODS, "route", "view"):
                self._aiohttp_route_def(element, last, prefix, owner)

    def _django_path(self, call: ast.Call, kind: str, prefix: str, owner: str) -> None:
        route = _str(_arg(call, 0, "route", "regex"))
        if route is None:
            route = self._path_text(_arg(call, 0, "route", "regex"))
        elif kind != "path":
            route = route.removeprefix("^").removesuffix("$")
        full = join_path(prefix, route)
        view = _arg(call, 1, "view")
        if view is None:
            return
        if isinstance(view, ast.Call):
            func_name = self.qualify(view.func) or ""
            last = _last(func_name)
            if last == "include":
                self._django_include(view, full, owner, call.lineno)
                return
            if last == "as_view" and isinstance(view.func, ast.Attribute):
                handler = self.qualify(view.func.value) or "?"
                methods = self._as_view_methods(view)
                for method in methods:
                    self._add_route(method, full, handler, call.lineno, "django", owner, local=self._local_handler(view.func.value))
                return
            return
        if isinstance(view, (ast.List, ast.Tuple)):
            self._route_list(view.elts, full, owner)
            return
        if isinstance(view, ast.Attribute) and view.attr == "urls":
            self._include_urls_expr(owner, view, full, call.lineno)
            return
        reference = self.qualify(view)
        if reference:
            self._add_route("ANY", full, reference, call.lineno, "django", owner, local=self._local_handler(view))

    @staticmethod
    def _as_view_methods(call: ast.Call) -> list[str]:
        # DRF: ViewSet.as_view({"get": "list", "post": "create"})
        mapping = _arg(call, 0, "actions")
        if isinstance(mapping, ast.Dict):
            methods = [k.upper() for key in mapping.keys if (k := _str(key))]
            if methods:
                return methods
        return ["ANY"]

    def _django_include(self, include: ast.Call, prefix: str, owner: str, line: int) -> None:
        target = _arg(include, 0, "arg")
        if isinstance(target, ast.Tuple) and target.elts:
            target = target.elts[0]  # include(("app.urls", "ns")) / include((patterns, "ns"))
        module = _str(target)
        if module is not None:
            self._include(owner, module, prefix, line, "include", child_is_module=True)
        elif isinstance(target, (ast.List, ast.Tuple)):
            self._route_list(target.elts, prefix, owner)
        elif target is not None:
            self._include_urls_expr(owner, target, prefix, line)

    def _include_urls_expr(self, owner: str, expr: ast.expr, prefix: str, line: int) -> None:
        """``router.urls`` (DRF), ``api.urls`` (django-ninja), or a pattern
        list variable mounted at ``prefix``."""
        if isinstance(expr, ast.Attribute) and expr.attr == "urls":
            expr = expr.value
        child = self.qualify(expr)
        if child:
            self._include(owner, child, prefix, line, "include")

    def _starlette_route(self, call: ast.Call, kind: str, prefix: str, owner: str) -> None:
        path = _str(_arg(call, 0, "path")) or ""
        full = join_path(prefix, path)
        if kind == "Mount":
            routes = _kw(call, "routes")
            app = _arg(call, 1, "app")
            if isinstance(routes, (ast.List, ast.Tuple)):
                self._route_list(routes.elts, full, owner)
            elif routes is not None or app is not None:
                child = self.qualify(routes if routes is not None else app)
                if child:
                    self._include(owner, child, full, call.lineno, "mount")
            return
        endpoint = _arg(call, 1, "endpoint")
        handler = self.qualify(endpoint) or "?"
        if kind == "WebSocketRoute":
            methods = ["WEBSOCKET"]
        else:
            methods = self._methods_kw(call) or ["GET"]
            if endpoint is not None and self._is_endpoint_class(endpoint):
                methods = ["ANY"]
        for method in methods:
            self._add_route(method, full, handler, call.lineno, "starlette", owner, local=self._local_handler(endpoint))

    def _is_endpoint_class(self, expr: ast.expr) -> bool:
        name = dotted(expr)
        info = self.classes.get(name or "")
        return info is not None and any(_last(b) in ("HTTPEndpoint", "WebSocketEndpoint") for b in info.bases)

    def _aiohttp_route_def(self, call: ast.Call, verb: str, prefix: str, owner: str) -> None:
        if verb == "route":
            method = (_str(_arg(call, 0, "method")) or "*").upper()
            path, handler_expr = _str(_arg(call, 1, "path")), _arg(call, 2, "handler")
        else:
            method = "ANY" if verb == "view" else verb.upper()
            path, handler_expr = _str(_arg(call, 0, "path")), _arg(call, 1, "handler")
        if method == "*":
            method = "ANY"
        handler = self.qualify(handler_expr) or "?"
        self._add_route(method, join_path(prefix, path or ""), handler, call.lineno, "aiohttp", owner, local=self._local_handler(handler_expr))

    @staticmethod
    def _methods_kw(call: ast.Call, keyword: str = "methods") -> list[str] | None:
        value = _kw(call, keyword)
        if isinstance(value, (ast.List, ast.Tuple, ast.Set)):
            methods = [s.upper() for e in value.elts if (s := _str(e))]
            return methods or None
        single = _str(value)
        return [single.upper()] if single else None

    # ---- registrations: app.include_router(...), app.router.add_get(...) -

    def _registration(self, call: ast.Call, line: int) -> None:
        func = call.func
        if not isinstance(func, ast.Attribute):
            return
        attr = func.attr
        receiver = func.value
        owner = dotted(receiver)
        if owner is None:
            return
        # app.router.add_get(...): the routing object is ``app``.
        if attr.startswith("add_") and isinstance(receiver, ast.Attribute) and receiver.attr == "router":
            owner = dotted(receiver.value) or owner
        if attr == "include_router":
            child = self.qualify(_arg(call, 0, "router"))
            if child:
                self._include(owner, child, self._path_text(_kw(call, "prefix")), line, attr)
        elif attr == "register_blueprint":
            child = self.qualify(_arg(call, 0, "blueprint"))
            if child:
                self._include(owner, child, self._path_text(_kw(call, "url_prefix")), line, attr)
        elif attr == "add_router":  # django-ninja: api.add_router("/items/", router)
            child = self.qualify(_arg(call, 1, "router"))
            if child:
                self._include(owner, child, self._path_text(_arg(call, 0, "prefix")), line, attr)
        elif attr == "add_subapp":  # aiohttp
            child = self.qualify(_arg(call, 1, "subapp"))
            if child:
                self._include(owner, child, self._path_text(_arg(call, 0, "prefix")), line, attr)
        elif attr == "mount":
            app = _arg(call, 1, "app")
            if isinstance(app, (ast.Name, ast.Attribute)):
                child = self.qualify(app)
                if child:
                    self._include(owner, child, self._path_text(_arg(call, 0, "path")), line, attr)
        elif attr == "add_api_route":
            endpoint = _arg(call, 1, "endpoint")
            path = self._path_text(_arg(call, 0, "path"))
            for method in self._methods_kw(call) or ["GET"]:
                self._route_on_owner(owner, method, path, endpoint, line, "fastapi")
        elif attr == "add_url_rule":
            view = _kw(call, "view_func")
            if view is None:
                view = _arg(call, 2)
            path = _str(_arg(call, 0, "rule")) or ""
            handler_expr = view.func.value if isinstance(view, ast.Call) and isinstance(view.func, ast.Attribute) and view.func.attr == "as_view" else view
            methods = self._methods_kw(call) or (["ANY"] if handler_expr is not view else ["GET"])
            for method in methods:
                self._route_on_owner(owner, method, path, handler_expr, line, "flask")
        elif attr == "add_resource":  # flask-restful / flask-restx
            resource = _arg(call, 0)
            for url in call.args[1:]:
                url_path = _str(url)
                if url_path is not None:
                    self._route_on_owner(owner, "ANY", url_path, resource, line, "flask")
        elif attr == "add_routes":  # aiohttp
            routes = _arg(call, 0, "routes")
            if isinstance(routes, (ast.List, ast.Tuple)):
                self._route_list(routes.elts, "", owner)
            elif routes is not None:
                child = self.qualify(routes)
                if child:
                    self._include(owner, child, "", line, attr)
        elif attr.startswith("add_") and attr[4:] in (*HTTP_METHODS, "route", "view"):  # aiohttp router
            verb = attr[4:]
            if verb == "route":
                method = (_str(_arg(call, 0, "method")) or "ANY").upper()
                route_path, handler_expr = _str(_arg(call, 1, "path")), _arg(call, 2, "handler")
            else:
                method = "ANY" if verb == "view" else verb.upper()
                route_path, handler_expr = _str(_arg(call, 0, "path")), _arg(call, 1, "handler")
            if route_path is not None:
                self._route_on_owner(owner, "ANY" if method == "*" else method, route_path, handler_expr, line, "aiohttp")
        elif attr == "register":  # DRF router.register(prefix, ViewSet)
            decl = self.summary.routers.get(owner)
            viewset = _arg(call, 1, "viewset")
            prefix = _str(_arg(call, 0, "prefix"))
            if prefix is None or viewset is None:
                return
            if (decl is None or decl.framework != "drf") and not _last(dotted(viewset)).endswith(("ViewSet", "View")):
                return
            handler = self.qualify(viewset) or "?"
            local = self._local_handler(viewset)
            base = "/" + prefix.strip("/")
            for path in (base + "/", base + "/{pk}/"):
                self._add_route("ANY", path, handler, line, "drf", owner, local=local)
        elif attr in ("append", "extend") and call.args:
            # urlpatterns.append(path(...)) / urlpatterns.extend([...])
            arg = call.args[0]
            elements = arg.elts if isinstance(arg, (ast.List, ast.Tuple)) else [arg]
            self._route_list(elements, "", owner)
            if attr == "extend" and isinstance(arg, ast.Attribute) and arg.attr == "urls":
                self._include_urls_expr(owner, arg, "", line)

    def _route_on_owner(self, owner: str, method: str, path: str, handler_expr: ast.expr | None, line: int, fallback: str) -> None:
        decl = self.summary.routers.get(owner.split(".", 1)[0])
        framework = decl.framework if decl else fallback
        prefix = decl.prefix if decl else ""
        handler = self.qualify(handler_expr) or "?"
        self._add_route(method, join_path(prefix, path), handler, line, framework, owner, local=self._local_handler(handler_expr))

    def _local_handler(self, expr: ast.expr | None) -> int:
        """Line of the handler when it is a function or class of this module
        (and record it as a handler), else 0."""
        name = dotted(expr) if expr is not None else None
        if not name or "." in name:
            return 0
        node = self.functions.get(name) or (self.classes[name].node if name in self.classes else None)
        if node is None:
            return 0
        self._handlers[name] = None
        return node.lineno

    def _include(self, parent: str, child: str, prefix: str, line: int, kind: str, child_is_module: bool = False) -> None:
        self.summary.includes.append(RouterInclude(parent, child, prefix, line, kind, child_is_module))

    def _add_route(self, method: str, path: str, handler: str, line: int, framework: str, owner: str, local: int = 0) -> None:
        self.summary.routes.append(RouteInfo(method, normalize_path(path), handler, self.relative, line, framework, owner, local))

    # ---- decorators ------------------------------------------------------

    def _decorated(self, func: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef, owner_class: ast.ClassDef | None) -> None:
        for decorator in func.decorator_list:
            call = decorator if isinstance(decorator, ast.Call) else None
            target = call.func if call is not None else decorator
            qualified = self.qualify(target) or ""
            handler_framework = _HANDLER_DECORATORS.get(qualified)
            if handler_framework is not None:
                self._handlers[owner_class.name if owner_class else func.name] = None
                continue
            root = qualified.split(".", 1)[0]
            last = _last(qualified)
            if root in ("litestar", "starlite") and last in (*HTTP_METHODS, "route", "websocket") and "." in qualified:
                if not isinstance(func, ast.ClassDef):
                    self._litestar_route(func, call, last, owner_class)
                continue
            if call is None or not isinstance(target, ast.Attribute) or target.attr not in _DECORATOR_VERBS:
                continue
            owner = dotted(target.value)
            if owner is None:
                continue
            route = self._decorator_route(call, target.attr, owner)
            if route is None:
                continue
            framework, methods, paths = route
            handler_name = f"{owner_class.name}.{func.name}" if owner_class else func.name
            self._handlers[owner_class.name if owner_class else func.name] = None
            decl = self.summary.routers.get(owner.split(".", 1)[0])
            prefix = decl.prefix if decl else ""
            for path in paths:
                for method in methods:
                    self._add_route(method, join_path(prefix, path), handler_name, func.lineno, framework, owner, local=func.lineno)

    def _decorator_route(self, call: ast.Call, verb: str, owner: str) -> tuple[str, list[str], list[str]] | None:
        root = owner.split(".", 1)[0]
        decl = self.summary.routers.get(root)
        imported = root in self.names
        if decl is not None:
            framework = decl.framework
        elif imported or _ROUTER_OWNER_NAME.search(root):
            framework = self._framework_guess()
        else:
            return None
        if framework in ("drf", "django"):
            # The only decorator routes in Django land are django-ninja's.
            framework = "django-ninja"
        aiohttp_route = framework == "aiohttp" and verb == "route"
        path_expr = _arg(call, 1, "path") if aiohttp_route else _arg(call, 0, "path", "rule", "uri")
        path = _str(path_expr)
        if decl is None:
            # An object we did not see being built: insist on a path literal
            # so ``@cache.get(key)`` and friends are not routes.
            if path is None or (path and not path.startswith(("/", "{", "<"))):
                return None
            if framework == "unknown":
                framework = "fastapi" if verb == "api_route" else "flask" if verb == "route" else "unknown"
        if path is None:
            path = self._path_text(path_expr)
        if verb in HTTP_METHODS:
            methods = [verb.upper()]
        elif verb == "websocket":
            methods = ["WEBSOCKET"]
        elif verb == "view":
            methods = ["ANY"]
        elif aiohttp_route:
            method = (_str(_arg(call, 0, "method")) or "ANY").upper()
            methods = ["ANY" if method == "*" else method]
        else:
            methods = self._methods_kw(call) or ["GET"]
        return framework, methods, [path]

    def _litestar_route(self, func: ast.FunctionDef | ast.AsyncFunctionDef, call: ast.Call | None, verb: str, owner_class: ast.ClassDef | None) -> None:
        # Litestar joins paths without trailing slashes; no path is the
        # owner's own path.
        paths: list[str] = [""]
        path_expr = _arg(call, 0, "path") if call is not None else None
        if isinstance(path_expr, (ast.List, ast.Tuple)):
            paths = [s for e in path_expr.elts if (s := _str(e)) is not None] or [""]
        elif _str(path_expr) is not None:
            paths = [_str(path_expr) or ""]
        paths = [p.rstrip("/") for p in paths]
        if verb in HTTP_METHODS:
            methods = [verb.upper()]
        elif verb == "websocket":
            methods = ["WEBSOCKET"]
        else:
            methods = (self._methods_kw(call, "http_method") if call is not None else None) or ["ANY"]
        if owner_class is not None:
            owner = owner_class.name
            decl = self.summary.routers.get(owner)
            prefix = decl.prefix if decl else ""
            handler = f"{owner_class.name}.{func.name}"
            self._handlers[owner_class.name] = None
        else:
            owner, prefix, handler = func.name, "", func.name
            self._handlers[func.name] = None
        for path in paths:
            for method in methods:
                self._add_route(method, join_path(prefix, path), handler, func.lineno, "litestar", owner, local=func.lineno)

    # ---- classes: views, exceptions, controllers, model pre-pass --------

    def _class_pass(self, info: _ClassInfo) -> None:
        node = info.node
        bases = info.bases
        lasts = [_last(b) for b in bases]
        # Exceptions.
        if any(last in ("Exception", "BaseException") or last.endswith(("Error", "Exception")) for last in lasts) or any(
            b in self.summary.exception_classes for b in bases
        ):
            self.summary.exception_classes.append(node.name)
        # Views and controllers.
        view_framework = self._view_framework(bases)
        if view_framework is not None:
            self._handlers[node.name] = None
            if view_framework == "litestar" and any(_last(b) == "Controller" for b in bases):
                path = ""
                for stmt in node.body:
                    if isinstance(stmt, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "path" for t in stmt.targets):
                        path = _str(stmt.value) or ""
                self.summary.routers[node.name] = RouterDecl(node.name, "litestar", path, node.lineno, "Controller")
        self._classify_model(info)

    def _view_framework(self, bases: list[str]) -> str | None:
        for base in bases:
            root = base.split(".", 1)[0]
            last = _last(base)
            if root in _VIEW_FRAMEWORK_ROOTS and "." in base and (last in _VIEW_BASE_LAST or last.endswith(("View", "ViewSet", "Endpoint"))):
                if last == "Resource" and root not in ("flask_restful", "flask_smorest"):
                    continue
                if last == "Controller" and root not in ("litestar", "starlite"):
                    continue
                return _VIEW_FRAMEWORK_ROOTS[root]
            if last.endswith(("APIView", "ViewSet")):
                return "drf"
            in_module = self.classes.get(base)
            if in_module is not None and in_module.node.name in self._handlers:
                return self._view_framework(in_module.bases) or "unknown"
        return None

    # ---- models ----------------------------------------------------------

    def _classify_model(self, info: _ClassInfo) -> None:
        node = info.node
        bases = info.bases
        parents = [self.classes[b] for b in bases if b in self.classes and self.classes[b] is not info]
        parent_kinds = {p.kind for p in parents}
        lasts = [_last(b) for b in bases]
        body_names = self._class_body_markers(node)
        meta = self._django_meta(node)
        info.meta = meta
        if any(last == "SQLModel" and (b == "SQLModel" or b.startswith("sqlmodel")) for b, last in zip(bases, lasts)) or "sqlmodel" in parent_kinds:
            info.kind = "sqlmodel"
            info.is_model = any(k.arg == "table" and _bool(k.value) is True for k in node.keywords)
            return
        if any(b in ("django.db.models.Model", "django.db.models.base.Model") for b in bases) or "django" in parent_kinds or (
            "django_field" in body_names and not any(k in parent_kinds for k in ("sqlalchemy", "sa-base", "flask-sqlalchemy"))
        ):
            info.kind = "django"
            info.abstract = _bool(meta.get("abstract")) is True
            info.is_model = not info.abstract
            return
        if any(last in ("DeclarativeBase", "DeclarativeBaseNoMeta") for last in lasts):
            info.kind = "sa-base"
            info.is_model = "__tablename__" in body_names
            if info.is_model:
                info.kind = "sqlalchemy"
            return
        for orm in ("peewee", "tortoise"):
            if orm in parent_kinds or any(b.split(".", 1)[0] == orm and last == "Model" for b, last in zip(bases, lasts)):
                # Active-record ORMs: rules need their model names to spot
                # ``Note.select()`` in a handler.
                info.kind = orm
                info.abstract = _bool(meta.get("abstract")) is True
                info.is_model = not info.abstract
                return
        flask = "flask-sqlalchemy" in parent_kinds
        for base in bases:
            head, _, last = base.rpartition(".")
            root = head.split(".", 1)[0]
            if last == "Model" and head and root not in _OTHER_ORMS and (
                head in self.flask_db_names or root not in self.import_roots or _last(head) == "db"
            ):
                flask = True
        abstract = _bool(self._class_constant(node, "__abstract__")) is True
        if flask:
            info.kind = "flask-sqlalchemy"
            info.abstract = abstract
            info.is_model = not abstract
            return
        has_markers = "sa_marker" in body_names
        local_base = any(b in self.declarative_bases for b in bases) or bool(parent_kinds & {"sa-base", "sqlalchemy"})
        table_declared = "__tablename__" in body_names or "__table__" in body_names
        project_base = any(("Base" in last or "Model" in last) and not b.split(".", 1)[0] in _OTHER_ORMS and last != "BaseModel" for b, last in zip(bases, lasts))
        if local_base or table_declared or (has_markers and project_base):
            info.kind = "sqlalchemy"
            info.abstract = abstract
            info.is_model = not abstract and (table_declared or has_markers or "sqlalchemy" in parent_kinds)
        elif has_markers:
            info.kind = "sa-mixin"

    def _class_body_markers(self, node: ast.ClassDef) -> set[str]:
        found: set[str] = set()
        value: ast.expr | None
        for stmt in node.body:
            if isinstance(stmt, ast.Assign):
                names = [t.id for t in stmt.targets if isinstance(t, ast.Name)]
                found.update(n for n in names if n in ("__tablename__", "__table__"))
                value = stmt.value
            elif isinstance(stmt, ast.AnnAssign):
                value = stmt.value
                if isinstance(stmt.target, ast.Name) and stmt.target.id in ("__tablename__", "__table__"):
                    found.add(stmt.target.id)
                head = _last(self.qualify(stmt.annotation.value) if isinstance(stmt.annotation, ast.Subscript) else None)
                if head in _MAPPED_WRAPPERS:
                    found.add("sa_marker")
            else:
                continue
            if isinstance(value, ast.Call):
                qualified = self.qualify(value.func) or ""
                last = _last(qualified)
                if last in _SA_COLUMN_CALLS or last in _SA_RELATIONSHIP_CALLS:
                    found.add("sa_marker")
                elif qualified.startswith("django.") and (last.endswith("Field") or last in _DJANGO_RELATIONS):
                    found.add("django_field")
        return found

    @staticmethod
    def _class_constant(node: ast.ClassDef, name: str) -> ast.expr | None:
        for stmt in node.body:
            if isinstance(stmt, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in stmt.targets):
                return stmt.value
            if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name) and stmt.target.id == name:
                return stmt.value
        return None

    @staticmethod
    def _django_meta(node: ast.ClassDef) -> dict[str, ast.expr]:
        meta: dict[str, ast.expr] = {}
        for stmt in node.body:
            if isinstance(stmt, ast.ClassDef) and stmt.name == "Meta":
                for item in stmt.body:
                    if isinstance(item, ast.Assign):
                        for target in item.targets:
                            if isinstance(target, ast.Name):
                                meta[target.id] = item.value
        return meta

    def _models(self) -> None:
        app_label = self._django_app_label()
        for info in self.class_order:
            if info.kind is None:
                continue
            if info.kind in ("sqlalchemy", "flask-sqlalchemy", "sa-mixin", "sa-base"):
                self._sa_fields(info)
            elif info.kind == "sqlmodel":
                self._sqlmodel_fields(info)
            elif info.kind in ("peewee", "tortoise"):
                self._active_record_fields(info)
            elif info.kind == "django":
                info.app_label = _str(info.meta.get("app_label")) or app_label
                self._django_fields(info)
        parents_in_module = {b for info in self.class_order for b in info.bases if b in self.classes}
        for info in self.class_order:
            if info.kind in ("peewee", "tortoise") and not info.columns and info.node.name in parents_in_module:
                info.is_model = False  # a ``BaseModel`` holding only ``Meta.database``
        for info in self.class_order:
            if not info.is_model:
                continue
            columns, relationships = self._inherited(info, set())
            table = self._table_of(info)
            implicit_pk = {"django": "BigAutoField", "peewee": "AutoField", "tortoise": "IntField"}.get(info.kind or "")
            if implicit_pk and not any(c.primary_key for c in columns.values()) and not self._has_concrete_parent(info):
                columns = {"id": ColumnInfo("id", implicit_pk, False, primary_key=True, line=info.node.lineno, implicit=True), **columns}
            node = info.node
            constraints, opaque = self._table_args(info, columns) if info.kind != "django" else ([], False)
            self.summary.models.append(
                ModelInfo(
                    node.name,
                    self.module,
                    self.relative,
                    node.lineno,
                    node.end_lineno or node.lineno,
                    "sqlalchemy" if info.kind == "sa-base" else info.kind or "sqlalchemy",
                    table,
                    columns,
                    relationships,
                    tuple(info.bases),
                    info.app_label if info.kind == "django" else None,
                    constraints,
                    opaque,
                )
            )

    def _table_args(self, info: _ClassInfo, columns: dict[str, ColumnInfo], depth: int = 0) -> tuple[list[TableConstraintInfo], bool]:
        """The indexes and unique constraints of ``__table_args__`` (the
        class's own, else the first in-module base's that has one), and
        whether it holds anything else that could not be read."""
        value = self._class_constant(info.node, "__table_args__")
        if value is None:
            for base in info.bases:
                parent = self.classes.get(base)
                if parent is not None and depth < 20:
                    found = self._table_args(parent, columns, depth + 1)
                    if found[0] or found[1]:
                        return found
            return [], False
        if isinstance(value, ast.Dict):
            return [], False  # table options only (schema, comment…)
        if not isinstance(value, ast.Tuple):
            return [], True  # built by a call or a name: cannot be read
        constraints: list[TableConstraintInfo] = []
        opaque = False
        for element in value.elts:
            if isinstance(element, ast.Dict):
                continue  # the trailing options
            if not isinstance(element, ast.Call):
                opaque = True
                continue
            kind = _last(self.qualify(element.func))
            if kind in ("CheckConstraint", "PrimaryKeyConstraint", "ForeignKeyConstraint"):
                continue  # not compared with the migrations
            if kind == "Index":
                # Index("ix_name", "col", …) or Index("col", …, name="ix_name")
                named = _kw(element, "name")
                name = _str(named if named is not None else _arg(element, 0))
                targets = element.args if named is not None else element.args[1:]
            elif kind == "UniqueConstraint":
                name, targets = _str(_kw(element, "name")), element.args
            else:
                opaque = True
                continue
            names = [self._constraint_column(target, columns) for target in targets]
            if not names or None in names:
                opaque = True  # an expression index (func.lower(email)), or no columns
                continue
            constraints.append(
                TableConstraintInfo(
                    "index" if kind == "Index" else "unique",
                    name,
                    tuple(n for n in names if n is not None),
                    unique=kind == "Index" and _bool(_kw(element, "unique")) is True,
                    line=element.lineno,
                )
            )
        return constraints, opaque

    @staticmethod
    def _constraint_column(target: ast.expr, columns: dict[str, ColumnInfo]) -> str | None:
        """A column of an Index/UniqueConstraint: its name as a string, or the
        class attribute holding it (``Index("ix", email)``)."""
        text = _str(target)
        if text is not None:
            return text
        if isinstance(target, ast.Name) and target.id in columns:
            column = columns[target.id]
            return column.column_name or column.name
        return None

    def _has_concrete_parent(self, info: _ClassInfo) -> bool:
        return any(b in self.classes and self.classes[b].is_model for b in info.bases)

    def _inherited(self, info: _ClassInfo, seen: set[str]) -> tuple[dict[str, ColumnInfo], dict[str, RelationshipInfo]]:
        """Fields of in-module mixins / abstract bases / non-table SQLModel
        bases, then the class's own. A parent that is itself a mapped model
        keeps its columns (joined/multi-table inheritance)."""
        seen.add(info.node.name)
        columns: dict[str, ColumnInfo] = {}
        relationships: dict[str, RelationshipInfo] = {}
        for base in reversed(info.bases):
            parent = self.classes.get(base)
            if parent is None or parent.node.name in seen or parent.is_model:
                continue
            parent_columns, parent_relationships = self._inherited(parent, seen)
            columns.update(parent_columns)
            relationships.update(parent_relationships)
        columns.update(info.columns)
        relationships.update(info.relationships)
        return columns, relationships

    def _table_of(self, info: _ClassInfo, depth: int = 0) -> str | None:
        node = info.node
        explicit = _str(self._class_constant(node, "__tablename__"))
        if explicit is None:
            table = self._class_constant(node, "__table__")
            if isinstance(table, ast.Call):
                explicit = _str(_arg(table, 0, "name"))
        if info.kind in ("peewee", "tortoise"):
            return _str(info.meta.get("table_name" if info.kind == "peewee" else "table")) or node.name.lower()
        if info.kind == "django":
            db_table = _str(info.meta.get("db_table"))
            if db_table:
                return db_table
            if _bool(info.meta.get("proxy")) is True:
                parent = next((self.classes[b] for b in info.bases if b in self.classes and self.classes[b].is_model), None)
                if parent is not None and depth < 20:
                    return self._table_of(parent, depth + 1)
            return f"{info.app_label}_{node.name.lower()}" if info.app_label else node.name.lower()
        if explicit:
            return explicit
        parent = next((self.classes[b] for b in info.bases if b in self.classes and self.classes[b].is_model), None)
        if parent is not None and info.kind != "sqlmodel" and depth < 20:
            # Single-table inheritance: the subclass lives in its parent's table.
            return self._table_of(parent, depth + 1)
        if info.kind == "sqlmodel":
            return node.name.lower()
        if info.kind == "flask-sqlalchemy":
            return _camel_to_snake(node.name)
        return None

    def _django_app_label(self) -> str | None:
        """Django's default app label is the app package's last name: the
        folder holding ``models.py``, or holding the ``models/`` package."""
        parts = self.relative.split("/")
        if len(parts) < 2:
            return None
        if parts[-1] in ("models.py", "__init__.py") or len(parts) < 3 or parts[-2] != "models":
            folder = parts[-2]
            if folder == "models" and len(parts) >= 3:
                folder = parts[-3]
            return folder
        return parts[-3]

    def _annotation_head(self, annotation: ast.expr | None) -> tuple[str | None, ast.expr | None]:
        """``Mapped[X]`` → ("Mapped", X); anything else → (None, annotation)."""
        annotation = _string_annotation(annotation)
        if isinstance(annotation, ast.Subscript):
            head = _last(self.qualify(annotation.value))
            if head in _MAPPED_WRAPPERS:
                return head, _string_annotation(annotation.slice)
        return None, annotation

    def _sa_fields(self, info: _ClassInfo) -> None:
        for stmt in info.node.body:
            if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
                name, annotation, value = stmt.target.id, stmt.annotation, stmt.value
            elif isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
                name, annotation, value = stmt.targets[0].id, None, stmt.value
            else:
                continue
            if name.startswith("__"):
                continue
            wrapper, inner = self._annotation_head(annotation)
            call = value if isinstance(value, ast.Call) else None
            last = _last(self.qualify(call.func)) if call is not None else ""
            if last in _SA_RELATIONSHIP_CALLS and call is not None:
                info.relationships[name] = self._sa_relationship(name, call, wrapper, inner, stmt.lineno)
            elif last in _SA_COLUMN_CALLS and call is not None:
                info.columns[name] = self._sa_column(name, call, wrapper, inner, stmt.lineno, last == "mapped_column")
            elif call is None and value is None and wrapper is not None and not _collection_element(inner)[0]:
                # ``name: Mapped[int]`` alone is a column typed by its annotation.
                info.columns[name] = ColumnInfo(name, _unparse(inner), _split_optional(inner)[1], line=stmt.lineno)

    def _sa_column(self, name: str, call: ast.Call, wrapper: str | None, inner: ast.expr | None, line: int, mapped: bool) -> ColumnInfo:
        kws = {k.arg: k.value for k in call.keywords if k.arg}
        column_name: str | None = None
        type_text: str | None = None
        foreign_key: str | None = None
        for index, arg in enumerate(call.args):
            text = _str(arg)
            if text is not None:
                if index == 0:
                    column_name = text
                continue
            if isinstance(arg, ast.Call) and _last(self.qualify(arg.func)) == "ForeignKey":
                target = _arg(arg, 0, "column")
                foreign_key = _str(target) or _unparse(target)
                continue
            if isinstance(arg, ast.Call) and _last(self.qualify(arg.func)) in ("Sequence", "Identity", "Computed", "CheckConstraint", "FetchedValue"):
                continue
            if type_text is None:
                type_text = _type_text(arg)
        type_kw = kws.get("type_")
        if type_kw is not None:
            type_text = _type_text(type_kw)
        column_name = _str(kws.get("name")) or column_name
        primary_key = _bool(kws.get("primary_key")) is True
        explicit_nullable = _bool(kws.get("nullable"))
        if explicit_nullable is not None:
            nullable: bool | None = explicit_nullable
        elif primary_key:
            nullable = False
        elif mapped and wrapper is not None:
            nullable = _split_optional(inner)[1]
        else:
            nullable = True
        if type_text is None and inner is not None:
            type_text = _unparse(inner)
        return ColumnInfo(
            name,
            type_text,
            nullable,
            primary_key=primary_key,
            unique=_bool(kws.get("unique")) is True,
            index=_bool(kws.get("index")) is True,
            default=_unparse(kws.get("default")),
            foreign_key=foreign_key,
            line=line,
            column_name=column_name if column_name and column_name != name else None,
            server_default=_unparse(kws.get("server_default")),
        )

    def _sa_relationship(self, name: str, call: ast.Call, wrapper: str | None, inner: ast.expr | None, line: int) -> RelationshipInfo:
        target = _class_name_of(_arg(call, 0, "argument"))
        many: bool | None = None
        if wrapper is not None and inner is not None:
            is_collection, element = _collection_element(inner)
            if wrapper in ("DynamicMapped", "WriteOnlyMapped"):
                is_collection = True
            else:
                element = _split_optional(element)[0] if not is_collection else element
            many = is_collection
            if target is None:
                target = _class_name_of(element)
        uselist = _bool(_kw(call, "uselist"))
        secondary_expr = _kw(call, "secondary")
        secondary = _str(secondary_expr) or _unparse(secondary_expr)
        if uselist is None:
            uselist = many
        if uselist is None and (secondary is not None or _kw(call, "collection_class") is not None):
            uselist = True
        lazy = _lazy_text(_kw(call, "lazy"))
        if lazy is None and wrapper == "DynamicMapped":
            lazy = "dynamic"
        elif lazy is None and wrapper == "WriteOnlyMapped":
            lazy = "write_only"
        backref_expr = _kw(call, "backref")
        backref = _str(backref_expr)
        backref_lazy: str | None = None
        backref_uselist: bool | None = None
        if isinstance(backref_expr, ast.Call):
            backref = _str(_arg(backref_expr, 0, "name"))
            backref_lazy = _lazy_text(_kw(backref_expr, "lazy"))
            backref_uselist = _bool(_kw(backref_expr, "uselist"))
        return RelationshipInfo(
            name,
            target or "?",
            uselist,
            lazy,
            _str(_kw(call, "back_populates")),
            secondary,
            line,
            backref=backref,
            backref_lazy=backref_lazy,
            backref_uselist=backref_uselist,
        )

    def _sqlmodel_fields(self, info: _ClassInfo) -> None:
        for stmt in info.node.body:
            if not (isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name)):
                continue
            name = stmt.target.id
            if name.startswith("_") or name == "model_config":
                continue
            annotation = _string_annotation(stmt.annotation)
            if isinstance(annotation, ast.Subscript) and _last(self.qualify(annotation.value)) == "ClassVar":
                continue
            value = stmt.value
            call = value if isinstance(value, ast.Call) else None
            last = _last(self.qualify(call.func)) if call is not None else ""
            if last == "Relationship" and call is not None:
                many, element = _collection_element(annotation)
                if not many:
                    element = _split_optional(element)[0]
                kwargs = _kw(call, "sa_relationship_kwargs")
                lazy = None
                uselist = many
                if isinstance(kwargs, ast.Dict):
                    for key, item in zip(kwargs.keys, kwargs.values):
                        if _str(key) == "lazy":
                            lazy = _lazy_text(item)
                        elif _str(key) == "uselist" and _bool(item) is not None:
                            uselist = bool(_bool(item))
                link = _kw(call, "link_model")
                info.relationships[name] = RelationshipInfo(
                    name,
                    _class_name_of(element) or "?",
                    uselist,
                    lazy,
                    _str(_kw(call, "back_populates")),
                    _class_name_of(link) if link is not None else None,
                    stmt.lineno,
                    kind="Relationship",
                )
                continue
            optional = _split_optional(annotation)[1]
            type_text = _unparse(annotation)
            if last == "Field" and call is not None:
                sa_column = _kw(call, "sa_column")
                if isinstance(sa_column, ast.Call) and _last(self.qualify(sa_column.func)) in _SA_COLUMN_CALLS:
                    info.columns[name] = self._sa_column(name, sa_column, "Mapped", annotation, stmt.lineno, True)
                    continue
                sa_type = _kw(call, "sa_type")
                if sa_type is not None:
                    type_text = _type_text(sa_type)
                primary_key = _bool(_kw(call, "primary_key")) is True
                explicit = _bool(_kw(call, "nullable"))
                nullable = explicit if explicit is not None else (False if primary_key else optional)
                default_expr = _arg(call, 0, "default")
                default = _unparse(default_expr)
                factory = _kw(call, "default_factory")
                if default is None and factory is not None:
                    default = f"{_unparse(factory)}()"
                if default == "Ellipsis" or default == "...":
                    default = None
                info.columns[name] = ColumnInfo(
                    name,
                    type_text,
                    nullable,
                    primary_key=primary_key,
                    unique=_bool(_kw(call, "unique")) is True,
                    index=_bool(_kw(call, "index")) is True,
                    default=default,
                    foreign_key=_str(_kw(call, "foreign_key")),
                    line=stmt.lineno,
                )
            else:
                info.columns[name] = ColumnInfo(name, type_text, optional, default=_unparse(value), line=stmt.lineno)

    def _active_record_fields(self, info: _ClassInfo) -> None:
        """Peewee (``TextField()``, ``ForeignKeyField(User, backref=...)``)
        and Tortoise (``fields.CharField()``, ``fields.ForeignKeyField(
        "models.Team", related_name=...)``) fields."""
        tortoise = info.kind == "tortoise"
        for stmt in info.node.body:
            if not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name)):
                continue
            value = stmt.value
            if not isinstance(value, ast.Call):
                continue
            name = stmt.targets[0].id
            last = _last(self.qualify(value.func))
            if not last.endswith("Field") and last not in ("ForeignKeyField", "ManyToManyField"):
                continue
            kws = {k.arg: k.value for k in value.keywords if k.arg}
            primary_key = _bool(kws.get("primary_key")) is True or _bool(kws.get("pk")) is True
            related = _str(kws.get("related_name" if tortoise else "backref"))
            if related is None and tortoise and _bool(kws.get("related_name")) is False:
                related = "+"
            if last in ("ForeignKeyField", "OneToOneField", "ManyToManyField", "DeferredForeignKey"):
                target_expr = _arg(value, 0, "model_name" if tortoise else "model", "rel_model")
                target = _class_name_of(target_expr) or "?"
                if target == "self":
                    target = info.node.name
                many = last == "ManyToManyField"
                kind = {"ForeignKeyField": "ForeignKey", "DeferredForeignKey": "ForeignKey"}.get(last, last)
                info.relationships[name] = RelationshipInfo(
                    name, target, many, None, None, None, stmt.lineno, kind=kind, related_name=related
                )
                if many:
                    continue
                column_name = _str(kws.get("column_name" if not tortoise else "source_field")) or f"{name}_id"
                info.columns[name] = ColumnInfo(
                    name,
                    last,
                    _bool(kws.get("null")) is True,
                    primary_key=primary_key,
                    unique=last == "OneToOneField" or _bool(kws.get("unique")) is True,
                    index=True,
                    default=_unparse(kws.get("default")),
                    foreign_key=f"{target.lower()}.id",
                    line=stmt.lineno,
                    column_name=column_name,
                )
                continue
            info.columns[name] = ColumnInfo(
                name,
                last,
                False if primary_key else _bool(kws.get("null")) is True,
                primary_key=primary_key,
                unique=_bool(kws.get("unique")) is True or primary_key,
                index=_bool(kws.get("index" if not tortoise else "db_index")) is True or _bool(kws.get("index")) is True,
                default=_unparse(kws.get("default")),
                line=stmt.lineno,
                column_name=_str(kws.get("column_name" if not tortoise else "source_field")),
            )

    def _django_fields(self, info: _ClassInfo) -> None:
        for stmt in info.node.body:
            if not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name)):
                continue
            value = stmt.value
            if not isinstance(value, ast.Call):
                continue
            name = stmt.targets[0].id
            qualified = self.qualify(value.func) or ""
            last = _last(qualified)
            if last in _DJANGO_VIRTUAL:
                continue
            if last in _DJANGO_RELATIONS:
                self._django_relation(info, name, value, last, stmt.lineno)
            elif last.endswith("Field"):
                primary_key = _bool(_kw(value, "primary_key")) is True
                null = _bool(_kw(value, "null"))
                info.columns[name] = ColumnInfo(
                    name,
                    last,
                    False if primary_key else bool(null),
                    primary_key=primary_key,
                    unique=_bool(_kw(value, "unique")) is True or primary_key,
                    index=_bool(_kw(value, "db_index")) is True,
                    default=_unparse(_kw(value, "default")),
                    line=stmt.lineno,
                    column_name=_str(_kw(value, "db_column")),
                    max_length=_unparse(_kw(value, "max_length")),
                )

    def _django_relation(self, info: _ClassInfo, name: str, call: ast.Call, kind: str, line: int) -> None:
        target_expr = _arg(call, 0, "to")
        target, target_table = self._django_target(info, target_expr)
        related_name = _str(_kw(call, "related_name"))
        if kind in ("ManyToManyField", "ParentalManyToManyField"):
            through = _kw(call, "through")
            secondary = _class_name_of(through) if through is not None else (
                f"{info.app_label}_{info.node.name.lower()}_{name}" if info.app_label else f"{info.node.name.lower()}_{name}"
            )
            info.relationships[name] = RelationshipInfo(name, target, True, None, None, secondary, line, kind=kind, related_name=related_name)
            return
        null = _bool(_kw(call, "null"))
        to_field = _str(_kw(call, "to_field")) or "id"
        info.columns[name] = ColumnInfo(
            name,
            kind,
            bool(null),
            primary_key=_bool(_kw(call, "primary_key")) is True,
            unique=kind == "OneToOneField" or _bool(_kw(call, "unique")) is True,
            index=_bool(_kw(call, "db_index")) is not False,
            default=_unparse(_kw(call, "default")),
            foreign_key=f"{target_table}.{to_field}" if target_table else None,
            line=line,
            column_name=_str(_kw(call, "db_column")) or f"{name}_id",
        )
        info.relationships[name] = RelationshipInfo(name, target, False, None, None, None, line, kind=kind, related_name=related_name)

    def _django_target(self, info: _ClassInfo, expr: ast.expr | None) -> tuple[str, str | None]:
        """(model name, its default table) for a ForeignKey target."""
        if isinstance(expr, ast.Call) and _last(dotted(expr.func)) == "get_user_model":
            return "User", "auth_user"
        text = _str(expr)
        if text is None:
            name = dotted(expr) or ""
            if name.endswith("AUTH_USER_MODEL"):
                return "User", "auth_user"
            local = self.classes.get(name)
            if local is not None:
                return name, self._django_table_guess(local)
            qualified = self.qualify(expr) or name
            parts = qualified.split(".")
            model = parts[-1]
            app = parts[-3] if len(parts) >= 3 and parts[-2] == "models" else (parts[-2] if len(parts) >= 2 else info.app_label)
            return model, f"{app}_{model.lower()}" if app else model.lower()
        if text == "self":
            return info.node.name, self._django_table_guess(info)
        if "." in text:
            app, _, model = text.rpartition(".")
            return model, f"{app.lower()}_{model.lower()}"
        local = self.classes.get(text)
        if local is not None:
            return text, self._django_table_guess(local)
        return text, f"{info.app_label}_{text.lower()}" if info.app_label else text.lower()

    def _django_table_guess(self, info: _ClassInfo) -> str:
        meta = info.meta or self._django_meta(info.node)
        db_table = _str(meta.get("db_table"))
        if db_table:
            return db_table
        app = _str(meta.get("app_label")) or info.app_label or self._django_app_label()
        return f"{app}_{info.node.name.lower()}" if app else info.node.name.lower()

    # ---- local include chains -------------------------------------------

    def _apply_local_includes(self) -> None:
        """Apply includes between routing objects of this module so each
        route carries the longest prefix known here, and re-own it to the
        outermost local routing object (the index continues from there)."""
        parent_of: dict[str, tuple[str, RouterInclude]] = {}
        for include in self.summary.includes:
            if include.child_is_module or "." in include.child:
                continue
            parent_of.setdefault(include.child, (include.parent, include))
        if not parent_of:
            return
        for route in self.summary.routes:
            owner = route.owner
            path = route.path
            seen = {owner}
            while owner in parent_of:
                parent, include = parent_of[owner]
                if parent in seen:
                    break
                seen.add(parent)
                path = apply_include(path, include, self.summary.routers.get(owner), self.summary.routers.get(parent))
                owner = parent
            route.path = normalize_path(path)
            route.owner = owner


def summarize(relative: str, tree: ast.Module, layer: str) -> ModuleSummary:
    """The summary of one parsed module. Never raises on odd code: a
    construct it does not understand is skipped, and an expression too deep
    to inspect leaves the summary with what was gathered until then."""
    summarizer = _Summarizer(relative, tree, layer)
    try:
        summary = summarizer.run()
    except (RecursionError, MemoryError):
        summarizer.summary.handlers = list(summarizer._handlers)
        return summarizer.summary
    try:
        summary.migration = migration_facts(relative, tree)
    except (RecursionError, MemoryError):
        pass
    return summary


def route_handler_names(relative: str, tree: ast.Module) -> list[str]:
    """Names of the functions/classes of this module that handle requests
    (what makes a module a router by content)."""
    return summarize(relative, tree, "other").handlers
