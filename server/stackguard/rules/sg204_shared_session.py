"""An ORM session, DB connection or cursor instance is created at module level and shared.

## What it does
Flags a session, connection or cursor *instance* bound at module level (or
as a class attribute, or to a `global` from inside a function):
`session = Session(engine)`, `db = SessionLocal()`,
`conn = sqlite3.connect(...)`, `conn = psycopg.connect(...)`,
`conn = engine.connect()`, `cursor = conn.cursor()`.

Factories and pools are meant to be shared and stay quiet: engines
(`create_engine`, `create_async_engine`), `sessionmaker(...)` /
`async_sessionmaker(...)`, `scoped_session(...)` registries (they hand each
thread its own session), Flask-SQLAlchemy's `db = SQLAlchemy()` and
`db.session`, connection pools (`asyncpg.create_pool`,
`psycopg_pool.ConnectionPool`), Redis clients (a `redis.Redis()` is a
pool), and annotated declarations without a value (`session: Session`).
Code under `if __name__ == "__main__":` runs once as a script, with nothing
to share with, and stays quiet too. A factory imported from the project
(`from app.db import SessionLocal`) is recognised through the workspace
index (or, without one, by its conventional name); `Session` classes of
other libraries (`boto3`, `requests`) are not database sessions.

## Why is this bad?
A session or connection is a unit of work with state: the identity map,
the open transaction, the cursor position. Shared by every request (threads
in a sync server, tasks in an async one), one request's rollback discards
another's writes, objects leak between users, a failed transaction poisons
every later request ("This Session's transaction has been rolled back"), and
drivers such as sqlite3 refuse use from another thread outright. A
module-level connection also dies silently when the database restarts.

## Example
```python
engine = create_engine(settings.database_url)
SessionLocal = sessionmaker(bind=engine)
session = SessionLocal()


def get_user(user_id: int) -> User | None:
    return session.get(User, user_id)
```

## Use instead
```python
engine = create_engine(settings.database_url)
SessionLocal = sessionmaker(bind=engine)


def get_db() -> Iterator[Session]:
    with SessionLocal() as session:
        yield session


def get_user(session: Session, user_id: int) -> User | None:
    return session.get(User, user_id)
```

## References
- SQLAlchemy: [Is the Session thread-safe?](https://docs.sqlalchemy.org/en/20/orm/session_basics.html#is-the-session-thread-safe-is-asyncsession-safe-to-share-in-concurrent-tasks)
- FastAPI: [SQL (Relational) Databases — one session per request](https://fastapi.tiangolo.com/tutorial/sql-databases/)
- Python: [sqlite3 `check_same_thread`](https://docs.python.org/3/library/sqlite3.html#sqlite3.connect)
"""

from __future__ import annotations

import ast
from ..analysis.semantics import dotted_name
from ..config import LAYER_NAMES
from ._sql import source_text, statement_list
from .base import Rule

SESSION_CLASSES = frozenset(
    {
        "sqlalchemy.orm.Session",
        "sqlalchemy.orm.session.Session",
        "sqlalchemy.ext.asyncio.AsyncSession",
        "sqlalchemy.ext.asyncio.session.AsyncSession",
        "sqlmodel.Session",
        "sqlmodel.ext.asyncio.session.AsyncSession",
    }
)
CONNECT_CALLS = frozenset(
    {
        "sqlite3.connect",
        "sqlite3.dbapi2.connect",
        "psycopg.connect",
        "psycopg.Connection.connect",
        "psycopg2.connect",
        "pymysql.connect",
        "MySQLdb.connect",
        "mysql.connector.connect",
        "pyodbc.connect",
        "cx_Oracle.connect",
        "oracledb.connect",
        "duckdb.connect",
        "aiosqlite.connect",
        "asyncpg.connect",
        "aiomysql.connect",
        "aiopg.connect",
        "psycopg.AsyncConnection.connect",
    }
)
FACTORY_CALLS = frozenset(
    {
        "sqlalchemy.orm.sessionmaker",
        "sqlalchemy.orm.session.sessionmaker",
        "sqlalchemy.ext.asyncio.async_sessionmaker",
        "sqlmodel.ext.asyncio.session.async_sessionmaker",
    }
)
SCOPED_CALLS = frozenset({"sqlalchemy.orm.scoped_session", "sqlalchemy.ext.asyncio.async_scoped_session"})
# Names conventionally given to a session factory, for a factory imported
# from a module the workspace index does not know. ``Session`` is not one of
# them: boto3, requests and aiohttp all export a ``Session`` class.
FACTORY_NAMES = frozenset({"SessionLocal", "session_local", "async_session", "async_session_maker", "async_session_factory", "session_factory", "session_maker", "AsyncSessionLocal"})
KIND_WORDS = {"session": "session", "connection": "connection", "cursor": "cursor"}


class SharedSession(Rule):
    code = "SG204"
    name = "shared-session"
    default_severity = "warning"
    layers = frozenset(LAYER_NAMES) - {"test", "migration"}
    # Functions: default arguments and `global` assignments (see visit).
    node_types = (ast.FunctionDef, ast.AsyncFunctionDef)
    scope = "statement"

    def begin(self) -> None:
        tree = self.ctx.tree
        factories: set[str] = set()  # module-level sessionmaker results
        scoped: set[str] = set()  # module-level scoped_session registries
        instances: dict[str, str] = {}  # module-level instance name -> kind
        for stmt, owner in _module_statements(tree.body):
            if not isinstance(stmt, (ast.Assign, ast.AnnAssign)):
                continue  # most statements: defs, imports, expressions
            target_names, value = _assignment(stmt)
            if value is None or not target_names:
                continue
            call = value.value if isinstance(value, ast.Await) else value
            if not isinstance(call, ast.Call):
                continue
            resolved = self.ctx.imports.resolve(call.func) or ""
            if resolved in FACTORY_CALLS:
                factories.update(target_names)
                continue
            if resolved in SCOPED_CALLS:
                scoped.update(target_names)
                continue
            kind = self._instance_kind(call, resolved, factories, scoped, instances)
            if kind is None:
                continue
            for name in target_names:
                instances[name] = kind
                self._report(stmt, name, kind, call, owner)
        self._factories, self._scoped, self._instances = factories, scoped, instances
        # A `global` statement needs the keyword in the text: without it no
        # function declares one, and only the default arguments need a look.
        self._may_declare_globals = "global" in self.ctx.source.text

    def _instance_kind(self, call: ast.Call, resolved: str, factories: set[str], scoped: set[str], instances: dict[str, str]) -> str | None:
        func = call.func
        if resolved in SESSION_CLASSES:
            return "session"
        if resolved in CONNECT_CALLS:
            return "connection"
        if isinstance(func, ast.Name):
            if func.id in factories or func.id in scoped:
                return "session"  # calling the registry binds this thread's session for everyone
            if resolved and not resolved.startswith(("sqlalchemy", "sqlmodel")):
                return self._imported_factory_kind(func.id, resolved)
            return None
        if isinstance(func, ast.Attribute):
            receiver = dotted_name(func.value) or ""
            if func.attr == "cursor" and (receiver in instances or self._looks_like_connection(func.value)):
                return "cursor"
            if func.attr in ("connect", "raw_connection") and self._is_engine(func.value):
                return "connection"
            if func.attr == "cursor" and self.ctx.imports.resolve(func.value) in ("django.db.connection",):
                return "cursor"
        return None

    def _imported_factory_kind(self, local: str, resolved: str) -> str | None:
        """``from app.db import SessionLocal; s = SessionLocal()``: what the
        index knows the imported name is bound to, else the naming convention."""
        module, _, name = resolved.rpartition(".")
        index = self.ctx.index
        summary = index.module_for(module) if index is not None and module else None
        if summary is not None:
            binding = summary.sessions.get(name)
            if binding is None:
                return None
            return "session" if binding.kind in ("sessionmaker", "scoped_session") else None
        return "session" if local in FACTORY_NAMES else None

    def _looks_like_connection(self, expr: ast.expr) -> bool:
        if isinstance(expr, ast.Call):
            resolved = self.ctx.imports.resolve(expr.func) or ""
            return resolved in CONNECT_CALLS
        return self.ctx.imports.resolve(expr) in ("django.db.connection",)

    def _is_engine(self, expr: ast.expr) -> bool:
        """``engine.connect()``: a module-level engine or a create_engine() call."""
        if isinstance(expr, ast.Call):
            resolved = self.ctx.imports.resolve(expr.func) or ""
            return resolved.endswith(("create_engine", "create_async_engine"))
        name = dotted_name(expr) or ""
        return name.rsplit(".", 1)[-1].lower().endswith("engine")

    def visit(self, node: ast.AST) -> None:
        """Instances created once and kept for the process from inside a
        function: default arguments (``def f(db=SessionLocal())`` evaluates
        once, at import) and ``global session`` then ``session =
        SessionLocal()`` (a lazily created module-level instance)."""
        assert isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        factories, scoped, instances = self._factories, self._scoped, self._instances
        args = node.args
        if args.defaults or args.kw_defaults:
            for default in (*args.defaults, *args.kw_defaults):
                if isinstance(default, ast.Call):
                    kind = self._instance_kind(default, self.ctx.imports.resolve(default.func) or "", factories, scoped, instances)
                    if kind is not None:
                        self._report(default, "", kind, default, f"default argument of `{node.name}()`")
        if not self._may_declare_globals:
            return
        inner_statements = statement_list(node.body)
        declared = {name for inner in inner_statements if isinstance(inner, ast.Global) for name in inner.names}
        if not declared:
            return
        for inner in inner_statements:
            names, value = _assignment(inner)
            names = [n for n in names if n in declared]
            if not names or value is None:
                continue
            call = value.value if isinstance(value, ast.Await) else value
            if not isinstance(call, ast.Call):
                continue
            kind = self._instance_kind(call, self.ctx.imports.resolve(call.func) or "", factories, scoped, instances)
            if kind is not None:
                for name in names:
                    self._report(inner, name, kind, call, f"global by `{node.name}()`")

    def _report(self, where: ast.stmt | ast.expr, name: str, kind: str, call: ast.Call, place: str | None) -> None:
        """``place``: None at module level, a class name for a class
        attribute, or a description (global, default argument)."""
        factory = source_text(self.ctx.source, call.func) or "…"
        shown = f"{factory}(…)" if call.args or call.keywords else f"{factory}()"
        noun = KIND_WORDS[kind]
        if place is None:
            subject = f"`{name}` is a module-level {noun} (`{shown}`)"
        elif place.startswith(("global", "default")):
            subject = f"`{name}` is a {noun} (`{shown}`) kept in a {place}" if name else f"A {noun} (`{shown}`) is created once as the {place}"
        else:
            subject = f"`{name}` is a {noun} (`{shown}`) stored as a class attribute of `{place}`"
        self.report(
            where,
            f"{subject}, shared by every request and thread; open one per request or unit of work",
            data={"name": name or None, "kind": kind, "factory": factory, "line": where.lineno},
        )


def _assignment(stmt: ast.stmt) -> tuple[list[str], ast.expr | None]:
    if isinstance(stmt, ast.Assign):
        return [t.id for t in stmt.targets if isinstance(t, ast.Name)], stmt.value
    if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
        return [stmt.target.id], stmt.value
    return [], None


def _module_statements(body: list[ast.stmt], owner: str | None = None) -> list[tuple[ast.stmt, str | None]]:
    """Statements that run at import time: the module body, its if/try/with
    blocks and class bodies, but not ``if __name__ == "__main__":``."""
    found: list[tuple[ast.stmt, str | None]] = []
    _add_module_statements(body, owner, found)
    return found


def _add_module_statements(body: list[ast.stmt], owner: str | None, found: list[tuple[ast.stmt, str | None]]) -> None:
    # Appends to one list rather than nesting generators: called per module.
    for stmt in body:
        if isinstance(stmt, ast.If) and _is_main_guard(stmt.test):
            _add_module_statements(stmt.orelse, owner, found)
            continue
        found.append((stmt, owner))
        if isinstance(stmt, ast.ClassDef):
            _add_module_statements(stmt.body, stmt.name, found)
        elif isinstance(stmt, _IMPORT_TIME_BLOCKS):
            for name in ("body", "orelse", "finalbody"):
                _add_module_statements(getattr(stmt, name, []) or [], owner, found)
            for handler in getattr(stmt, "handlers", ()) or ():
                _add_module_statements(handler.body, owner, found)


_IMPORT_TIME_BLOCKS = (ast.If, ast.Try, getattr(ast, "TryStar", ast.Try))


def _is_main_guard(test: ast.expr) -> bool:
    return (
        isinstance(test, ast.Compare)
        and isinstance(test.left, ast.Name)
        and test.left.id == "__name__"
        and len(test.comparators) == 1
        and isinstance(test.comparators[0], ast.Constant)
        and test.comparators[0].value == "__main__"
    )
