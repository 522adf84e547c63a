"""Repository or service builds its own engine, session or client.

## What it does
Flags repository and service code that creates the database resources it
works with instead of receiving them:

- inside a function or method (including `__init__`): `create_engine()`,
  `create_async_engine()`, `sessionmaker()`/`async_sessionmaker()`,
  `Session(engine)`, a call of the project's session factory
  (`SessionLocal()`, `async_session()`), `engine.connect()`/`engine.begin()`
  on an engine imported from the db module, DB-API/async driver connects
  (`sqlite3.connect`, `psycopg.connect`, `asyncpg.connect`/`create_pool`…) and
  cache/database clients (`redis.Redis()`, `redis.from_url()`, `MongoClient()`);
- at module or class level of a repository/service module: engines, session
  factories, pools and clients (they belong in a db/config module).
  Module-level sessions and connections are SG204's (shared-session).

Quiet: a session, connection, engine or factory received as a parameter or
stored on `self` from one (`with self.session_factory() as session:`);
engines and `sessionmaker` factories in db/config modules (`db.py`,
`database.py`, `session.py`); tests. HTTP clients are not flagged.

## Why is this bad?
A repository that opens its own session cannot take part in the caller's
transaction: two repositories used by one service commit separately, and a
failure halfway leaves half the work written. Building engines and clients in
place also hard-wires the backing service: tests cannot pass an in-memory
database or a fake, and the connection settings are spread over the code
instead of coming from configuration. Receive the session (or connection,
or client) from the caller; create engines once, in the db module.

## Example
```python
class UserRepository:
    def __init__(self) -> None:
        engine = create_engine(settings.database_url)
        self.session = sessionmaker(bind=engine)()

    def get(self, user_id: int) -> User | None:
        return self.session.get(User, user_id)
```

## Use instead
```python
class UserRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, user_id: int) -> User | None:
        return self.session.get(User, user_id)
```

## References
- SQLAlchemy: [When do I construct a Session?](https://docs.sqlalchemy.org/en/20/orm/session_basics.html#session-faq-whentocreate)
- The Twelve-Factor App: [Backing services](https://12factor.net/backing-services)
"""

from __future__ import annotations

import ast

from ..analysis.semantics import dotted_name
from ._layering import enclosing_scope, local_bindings
from .base import Rule

# Qualified constructor → the kind of resource it builds.
CONSTRUCTORS: dict[str, str] = {
    "sqlalchemy.create_engine": "engine",
    "sqlalchemy.engine.create_engine": "engine",
    "sqlalchemy.engine_from_config": "engine",
    "sqlalchemy.ext.asyncio.create_async_engine": "engine",
    "sqlmodel.create_engine": "engine",
    "sqlalchemy.orm.sessionmaker": "factory",
    "sqlalchemy.orm.scoped_session": "factory",
    "sqlalchemy.ext.asyncio.async_sessionmaker": "factory",
    "sqlalchemy.ext.asyncio.async_scoped_session": "factory",
    "sqlalchemy.orm.Session": "session",
    "sqlalchemy.ext.asyncio.AsyncSession": "session",
    "sqlmodel.Session": "session",
    "sqlmodel.ext.asyncio.session.AsyncSession": "session",
    "sqlite3.connect": "connection",
    "psycopg.connect": "connection",
    "psycopg.AsyncConnection.connect": "connection",
    "psycopg.Connection.connect": "connection",
    "psycopg2.connect": "connection",
    "pymysql.connect": "connection",
    "MySQLdb.connect": "connection",
    "mysql.connector.connect": "connection",
    "asyncpg.connect": "connection",
    "aiosqlite.connect": "connection",
    "aiopg.connect": "connection",
    "aiomysql.connect": "connection",
    "asyncpg.create_pool": "pool",
    "aiopg.create_pool": "pool",
    "aiomysql.create_pool": "pool",
    "psycopg_pool.ConnectionPool": "pool",
    "psycopg_pool.AsyncConnectionPool": "pool",
    "psycopg2.pool.SimpleConnectionPool": "pool",
    "psycopg2.pool.ThreadedConnectionPool": "pool",
    "databases.Database": "pool",
    "redis.Redis": "client",
    "redis.StrictRedis": "client",
    "redis.from_url": "client",
    "redis.Redis.from_url": "client",
    "redis.asyncio.Redis": "client",
    "redis.asyncio.from_url": "client",
    "redis.asyncio.Redis.from_url": "client",
    "aioredis.from_url": "client",
    "aioredis.Redis": "client",
    "pymongo.MongoClient": "client",
    "motor.motor_asyncio.AsyncIOMotorClient": "client",
}
# At module/class level, sessions and connections are SG204's (shared-session).
MODULE_LEVEL_KINDS = frozenset({"engine", "factory", "pool", "client"})
SESSION_FACTORY_NAMES = frozenset(
    {"sessionlocal", "session_local", "asyncsessionlocal", "async_session_local", "async_session", "async_session_maker", "async_session_factory", "session_factory", "session_maker", "sessionmaker", "scoped_session"}
)
ADVICE = {
    "engine": "create engines once in the db/config module and pass sessions in",
    "factory": "define the session factory in the db module and inject it",
    "session": "receive the session from the caller so it joins the caller's transaction",
    "connection": "receive the connection or pool from the caller",
    "pool": "create the pool at startup and pass it in",
    "client": "create the client at startup from config and pass it in",
}
BUILDS = {
    "engine": "creates its own engine",
    "factory": "creates its own session factory",
    "session": "opens its own session",
    "connection": "opens its own connection",
    "pool": "creates its own connection pool",
    "client": "creates its own client",
}
LAYER_TITLES = {"service": "Service", "repository": "Repository"}
# The method names `_classify` can match on an attribute call: the last part
# of a constructor, or an engine's connect. Most calls (`session.execute`,
# `select(...).where`) are none of them and skip name resolution.
_ENGINE_METHODS = ("connect", "begin", "raw_connection")
_CLASSIFIED_ATTRS = frozenset({*(name.rsplit(".", 1)[-1] for name in CONSTRUCTORS), *_ENGINE_METHODS})


class RepositoryOwnsConnection(Rule):
    code = "SG106"
    name = "repository-owns-connection"
    default_severity = "warning"
    layers = frozenset({"repository", "service"})
    node_types = (ast.Call,)
    scope = "statement"
    fix_title = None

    def begin(self) -> None:
        self._module_factories = _module_bound(self.ctx.tree, self.ctx.imports, "factory")
        self._module_engines = _module_bound(self.ctx.tree, self.ctx.imports, "engine")

    def visit(self, node: ast.AST) -> None:
        assert isinstance(node, ast.Call)
        func = node.func
        if not isinstance(func, (ast.Name, ast.Attribute)):
            return
        found = self._classify(node)
        if found is None:
            return
        kind, shown, qualified = found
        scope, function = enclosing_scope(node)
        if scope != "function" and kind not in MODULE_LEVEL_KINDS:
            return
        if function is not None:
            params = local_bindings(function)
            # A parameter that shadows the module-level name was injected.
            root = func if isinstance(func, ast.Name) else func.value
            if isinstance(root, ast.Name) and root.id in params:
                return
            if kind == "session" and qualified in CONSTRUCTORS and _bound_to_injected(node, params):
                return
        where = {"function": "", "class": " in a class body", "module": " at module level"}[scope]
        title = LAYER_TITLES.get(self.ctx.layer, self.ctx.layer.title())
        self.report(
            node,
            f"{title} {BUILDS[kind]} with `{shown}()`{where}; {ADVICE[kind]}",
            data={
                "kind": kind,
                "call": qualified or shown,
                "scope": scope,
                "function": function.name if function is not None else None,
            },
        )

    def _classify(self, call: ast.Call) -> tuple[str, str, str | None] | None:
        """(kind, name as written, qualified name or None for local factories)."""
        func = call.func
        imports = self.ctx.imports
        # Cheap name tests first: a bare name resolves only when imported, and
        # an attribute call's qualified name ends with the attribute itself.
        if isinstance(func, ast.Name):
            if func.id not in imports.names and func.id not in self._module_factories:
                return None
        elif isinstance(func, ast.Attribute) and func.attr not in _CLASSIFIED_ATTRS:
            return None
        qualified = imports.resolve(func)
        written = dotted_name(func) or ""
        if qualified in CONSTRUCTORS:
            return CONSTRUCTORS[qualified], written, qualified
        if isinstance(func, ast.Name):
            # The project's session factory: imported (`from app.db import
            # SessionLocal`) or built at module level here.
            if func.id in self._module_factories:
                return "session", written, None
            if qualified is not None and _is_project_factory_name(qualified):
                return "session", written, qualified
            return None
        assert isinstance(func, ast.Attribute)
        if func.attr in _ENGINE_METHODS and isinstance(func.value, ast.Name):
            engine = imports.resolve(func.value)
            # `from app.db import engine` then `engine.connect()`
            if engine is not None and engine.rsplit(".", 1)[-1].lower().endswith("engine") and engine.split(".", 1)[0] not in ("sqlalchemy", "sqlmodel"):
                return "connection", written, f"{engine}.{func.attr}"
            if func.value.id in self._module_engines:
                return "connection", written, None
        return None


def _bound_to_injected(call: ast.Call, params: set[str]) -> bool:
    """``Session(self.engine)`` / ``AsyncSession(bind=engine)`` with an engine
    that was handed in: the caller owns the resource, this code only opens a
    unit of work on it (what a service is for)."""
    bind = call.args[0] if call.args else next((kw.value for kw in call.keywords if kw.arg == "bind"), None)
    if bind is None:
        return False
    if isinstance(bind, ast.Attribute) and isinstance(bind.value, ast.Name) and bind.value.id in ("self", "cls"):
        return True
    return isinstance(bind, ast.Name) and bind.id in params


def _is_project_factory_name(qualified: str) -> bool:
    module, _, name = qualified.rpartition(".")
    if not module or module.split(".", 1)[0] in ("sqlalchemy", "sqlmodel"):
        return False
    lowered = name.lower()
    return lowered in SESSION_FACTORY_NAMES or (name.endswith("SessionLocal") and name[:1].isupper())


def _module_bound(tree: ast.Module, imports, kind: str) -> set[str]:
    """Module-level names bound to a constructor of ``kind``
    (``SessionLocal = sessionmaker(...)``, ``engine = create_engine(...)``)."""
    names: set[str] = set()
    for stmt in tree.body:
        value = stmt.value if isinstance(stmt, (ast.Assign, ast.AnnAssign)) else None
        if not isinstance(value, ast.Call) or CONSTRUCTORS.get(imports.resolve(value.func) or "") != kind:
            continue
        targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
        names.update(t.id for t in targets if isinstance(t, ast.Name))
    return names
