"""Blocking I/O is called directly inside an `async def`.

## What it does
Flags calls that block the thread when made from an `async def`:
HTTP with `requests`, `urllib.request.urlopen` and sync `httpx` (module
functions and `httpx.Client`/`requests.Session` instances); `time.sleep`;
`subprocess.run`/`call`/`check_call`/`check_output` and `os.system`; bulk
file operations from `shutil` (`copyfileobj`, `copytree`, `rmtree`, …);
connecting with sync DB drivers (`sqlite3`, `psycopg2`, sync `psycopg`,
`pymysql`, `MySQLdb`, `mysql.connector`) and executing on their
connections and cursors; the I/O methods (`execute`, `query`, `commit`,
`scalars`, `get`, `refresh`, …) of a synchronous SQLAlchemy/SQLModel
`Session` (an annotated parameter, `with Session(engine)`, a sync
`sessionmaker`), of a sync engine's connections, of a sync Redis client
and of a `pymongo` client — whether the handle is built in the function,
at module level, in another module the workspace index knows, or arrives
as a parameter annotated with its type (`requests.Session`, `redis.Redis`,
`sqlite3.Connection`, a pymongo `Collection`…).

Stays quiet on: awaited calls (`await asyncio.sleep(1)`,
`await client.get(...)` on `httpx.AsyncClient`, `aiohttp`, `AsyncSession`,
`redis.asyncio`, `motor`, `asyncpg`); calls handed to a thread
(`asyncio.to_thread(requests.get, url)`, `loop.run_in_executor(...)`,
`run_in_threadpool`, `anyio.to_thread.run_sync`, `sync_to_async`); sync
functions and lambdas defined inside the `async def` (they run where they
are called, usually in a thread); plain `def` functions; tests and
migrations. `open()` and small file reads are not flagged: a local file
read is fast next to network I/O and flagging each one would drown the
findings that matter; bulk copies through `shutil` are.

## Why is this bad?
An event loop runs every request of the worker on one thread. A blocking
call inside a coroutine freezes all of them until it returns: one slow
upstream API, a `time.sleep(2)` or a sync database query turns a server
that handles thousands of concurrent requests into one that handles one at
a time, and health checks time out under load. FastAPI runs plain `def`
handlers in a thread pool for this reason; `async def` handlers must only
await.

## Example
```python
@router.get("/rates")
async def rates(db: Session = Depends(get_db)) -> dict:
    response = requests.get("https://api.example.com/rates", timeout=5)
    db.execute(insert(Rate).values(response.json()))
    time.sleep(1)
    return response.json()
```

## Use instead
```python
@router.get("/rates")
async def rates(db: AsyncSession = Depends(get_db)) -> dict:
    async with httpx.AsyncClient(timeout=5) as client:
        response = await client.get("https://api.example.com/rates")
    await db.execute(insert(Rate).values(response.json()))
    await asyncio.sleep(1)
    return response.json()
```

## Fix
`time.sleep(x)` becomes `await asyncio.sleep(x)`; any other flagged call
`f(*args, **kwargs)` becomes `await asyncio.to_thread(f, *args, **kwargs)`
(Python 3.9+), importing `asyncio` when needed and using the module's own
alias (`import asyncio as aio`, `from asyncio import to_thread`). Switching
to an async client (`httpx.AsyncClient`, `AsyncSession`, `redis.asyncio`)
changes more than one call and is left to you; the message names the async
client the project already uses. Not offered inside generator expressions,
where `await` would change what the expression is.

## References
- Python: [Developing with asyncio — running blocking code](https://docs.python.org/3/library/asyncio-dev.html#running-blocking-code)
- Python: [`asyncio.to_thread`](https://docs.python.org/3/library/asyncio-task.html#asyncio.to_thread)
- FastAPI: [Concurrency and async / await](https://fastapi.tiangolo.com/async/)
- SQLAlchemy: [Asynchronous I/O (asyncio)](https://docs.sqlalchemy.org/en/20/orm/extensions/asyncio.html)
"""

from __future__ import annotations

import ast
import re

from ..analysis.semantics import FunctionNode, callee_name, dotted_name
from ..config import LAYER_NAMES
from ._typing import bound_names, own_statements
from .base import Rule

# Blocking module-level functions: qualified name -> category.
BLOCKING_CALLS: dict[str, str] = {
    **{f"requests.{m}": "http" for m in ("get", "post", "put", "patch", "delete", "head", "options", "request")},
    **{f"requests.api.{m}": "http" for m in ("get", "post", "put", "patch", "delete", "head", "options", "request")},
    **{f"httpx.{m}": "http" for m in ("get", "post", "put", "patch", "delete", "head", "options", "request", "stream")},
    "urllib.request.urlopen": "http",
    "urllib.request.urlretrieve": "http",
    "time.sleep": "sleep",
    "subprocess.run": "subprocess",
    "subprocess.call": "subprocess",
    "subprocess.check_call": "subprocess",
    "subprocess.check_output": "subprocess",
    "subprocess.getoutput": "subprocess",
    "subprocess.getstatusoutput": "subprocess",
    "os.system": "subprocess",
    **{f"shutil.{m}": "file" for m in ("copyfileobj", "copyfile", "copy", "copy2", "copytree", "rmtree", "move", "make_archive", "unpack_archive")},
    "sqlite3.connect": "driver",
    "psycopg2.connect": "driver",
    "psycopg.connect": "driver",
    "psycopg.Connection.connect": "driver",
    "pymysql.connect": "driver",
    "MySQLdb.connect": "driver",
    "mysql.connector.connect": "driver",
    "smtplib.SMTP": "smtp",
    "smtplib.SMTP_SSL": "smtp",
}
# Constructors of synchronous handles: qualified name -> handle kind.
SYNC_HANDLES: dict[str, str] = {
    "requests.Session": "http",
    "requests.session": "http",
    "requests.sessions.Session": "http",
    "httpx.Client": "http",
    "sqlite3.connect": "dbapi",
    "psycopg2.connect": "dbapi",
    "psycopg.connect": "dbapi",
    "psycopg.Connection.connect": "dbapi",
    "pymysql.connect": "dbapi",
    "MySQLdb.connect": "dbapi",
    "mysql.connector.connect": "dbapi",
    "sqlalchemy.orm.Session": "orm",
    "sqlalchemy.orm.session.Session": "orm",
    "sqlmodel.Session": "orm",
    "sqlalchemy.create_engine": "engine",
    "sqlalchemy.engine.create_engine": "engine",
    "sqlmodel.create_engine": "engine",
    "sqlalchemy.orm.sessionmaker": "sessionmaker",
    "sqlalchemy.orm.session.sessionmaker": "sessionmaker",
    "redis.Redis": "redis",
    "redis.StrictRedis": "redis",
    "redis.client.Redis": "redis",
    "redis.from_url": "redis",
    "redis.Redis.from_url": "redis",
    "redis.StrictRedis.from_url": "redis",
    "pymongo.MongoClient": "mongo",
    "pymongo.mongo_client.MongoClient": "mongo",
}
# Annotations that declare a sync handle: qualified type -> handle kind.
ANNOTATION_KINDS: dict[str, str] = {
    **dict.fromkeys(("sqlalchemy.orm.Session", "sqlalchemy.orm.session.Session", "sqlmodel.Session", "sqlmodel.orm.session.Session"), "orm"),
    **dict.fromkeys(("requests.Session", "requests.sessions.Session", "httpx.Client"), "http"),
    **dict.fromkeys(("redis.Redis", "redis.StrictRedis", "redis.client.Redis"), "redis"),
    **dict.fromkeys(("pymongo.MongoClient", "pymongo.mongo_client.MongoClient", "pymongo.collection.Collection", "pymongo.database.Database"), "mongo"),
    **dict.fromkeys(("sqlite3.Connection", "sqlite3.Cursor", "psycopg2.extensions.connection", "psycopg2.extensions.cursor", "psycopg.Connection", "psycopg.Cursor", "pymysql.connections.Connection"), "dbapi"),
    **dict.fromkeys(("sqlalchemy.engine.Connection", "sqlalchemy.Connection", "sqlalchemy.engine.base.Connection"), "connection"),
}
# Blocking methods per handle kind.
HANDLE_METHODS: dict[str, frozenset[str]] = {
    "http": frozenset({"get", "post", "put", "patch", "delete", "head", "options", "request", "send", "stream"}),
    "dbapi": frozenset({"execute", "executemany", "executescript", "commit", "rollback", "callproc"}),
    "orm": frozenset({"execute", "scalars", "scalar", "scalar_one", "scalar_one_or_none", "get", "query", "commit", "flush", "refresh", "merge", "rollback", "exec"}),
    "connection": frozenset({"execute", "exec_driver_sql", "scalars", "scalar", "commit", "rollback"}),
    "redis": frozenset(
        {
            "get", "set", "setex", "setnx", "getset", "mget", "mset", "delete", "exists", "expire", "ttl", "incr", "incrby", "decr",
            "hget", "hset", "hgetall", "hdel", "hincrby", "lpush", "rpush", "lpop", "rpop", "lrange", "llen", "sadd", "srem",
            "smembers", "sismember", "zadd", "zrange", "zrem", "zincrby", "publish", "keys", "scan", "flushdb", "ping", "eval",
        }
    ),
    "mongo": frozenset(
        {
            "find_one", "find", "insert_one", "insert_many", "update_one", "update_many", "replace_one", "delete_one", "delete_many",
            "aggregate", "count_documents", "find_one_and_update", "find_one_and_delete", "find_one_and_replace", "bulk_write", "distinct",
        }
    ),
}
_ALL_HANDLE_METHODS = frozenset().union(*HANDLE_METHODS.values())
# Calls whose arguments run in a worker thread.
OFFLOAD_CALLS = frozenset({"to_thread", "run_in_executor", "run_in_threadpool", "run_sync", "sync_to_async"})
_LAST_NAMES = frozenset(q.rsplit(".", 1)[-1] for q in BLOCKING_CALLS)
# One set test per call: the names a flagged call can end in.
_CANDIDATE_NAMES = _LAST_NAMES | _ALL_HANDLE_METHODS
# `async def`, the two tokens apart by blanks or a backslash continuation
# (nothing else can stand between them).
_ASYNC_DEF = re.compile(r"\basync(?:[ \t\f]|\\\r?\n)+def\b")

ADVICE = {
    "http": "use an async HTTP client (httpx.AsyncClient, aiohttp) or `await asyncio.to_thread(...)`",
    "sleep": "use `await asyncio.sleep(...)`",
    "subprocess": "use `asyncio.create_subprocess_exec` or `await asyncio.to_thread(...)`",
    "file": "run it with `await asyncio.to_thread(...)`",
    "driver": "use an async driver (asyncpg, psycopg's AsyncConnection, aiosqlite, aiomysql) or `await asyncio.to_thread(...)`",
    "dbapi": "use an async driver (asyncpg, psycopg's AsyncConnection, aiosqlite, aiomysql) or `await asyncio.to_thread(...)`",
    "orm": "use an `AsyncSession`, make the function a plain `def`, or `await asyncio.to_thread(...)`",
    "connection": "use an async engine (`create_async_engine`) or `await asyncio.to_thread(...)`",
    "redis": "use `redis.asyncio` or `await asyncio.to_thread(...)`",
    "mongo": "use `motor` (or pymongo's `AsyncMongoClient`) or `await asyncio.to_thread(...)`",
    "smtp": "use `aiosmtplib` or `await asyncio.to_thread(...)`",
}
WHAT = {
    "http": "Blocking HTTP call",
    "sleep": "Blocking sleep",
    "subprocess": "Blocking subprocess call",
    "file": "Blocking file operation",
    "driver": "Blocking DB connect",
    "dbapi": "Blocking DB driver call",
    "orm": "Sync session call",
    "connection": "Sync engine connection call",
    "redis": "Sync Redis call",
    "mongo": "Sync MongoDB call",
    "smtp": "Blocking SMTP connection",
}


class BlockingCallInAsync(Rule):
    code = "SG502"
    name = "blocking-call-in-async"
    default_severity = "warning"
    layers = frozenset(LAYER_NAMES) - {"test", "migration"}
    node_types = (ast.Call,)
    scope = "statement"
    fix_title = "Run it in a worker thread with `await asyncio.to_thread(...)`"
    fix_safe = False

    def begin(self) -> None:
        tree = self.ctx.tree
        # Without `async def` in the text there is no coroutine to block. (In
        # a string it only costs the visits: a call outside any coroutine is
        # never reported.)
        self.has_async = "async" in self.ctx.source.text and _ASYNC_DEF.search(self.ctx.source.text) is not None
        self.module_handles: dict[str, str] = {}
        self.sync_session_aliases: set[str] = set()
        self.function_handles: dict[int, dict[str, str]] = {}
        self.async_http: str | None = None
        self.project_async_http: str | None = None  # computed on first use; "" = none
        if not self.has_async:
            self.node_types = ()  # type: ignore[assignment,misc]  # the engine then dispatches nothing here
            return
        for stmt in tree.body:
            names, value = _binding(stmt)
            if value is None:
                continue
            kind = self._handle_kind(value, self.module_handles)
            if kind is not None:
                self.module_handles.update(dict.fromkeys(names, kind))
            elif self._is_sync_session_annotation(value):
                self.sync_session_aliases.update(names)
        qualified = set(self.ctx.imports.names.values())
        if "httpx" in {q.split(".", 1)[0] for q in qualified}:
            self.async_http = "httpx.AsyncClient" if "AsyncClient" in self.ctx.source.text else None
        if self.async_http is None and any(q.startswith("aiohttp") for q in qualified) and "ClientSession" in self.ctx.source.text:
            self.async_http = "aiohttp.ClientSession"

    def visit(self, node: ast.AST) -> None:
        if not self.has_async:
            return
        assert isinstance(node, ast.Call)
        func = node.func
        last = callee_name(func)
        if last not in _CANDIDATE_NAMES:
            return
        if isinstance(getattr(node, "sg_parent", None), ast.Await):
            return
        category = BLOCKING_CALLS.get(self.ctx.imports.resolve(func) or "") if last in _LAST_NAMES else None
        if category is None and not isinstance(func, ast.Attribute):
            return
        function = self._async_function(node)
        if function is None:
            return
        if category is None:
            category = self._handle_call(func, function)  # type: ignore[arg-type]
            if category is None:
                return
        label = self._label(node)
        advice = ADVICE[category]
        if category == "http":
            known = self._async_http_client()
            if known is not None:
                client, where = known
                advice = f"use the `{client}` {where} already uses, or `await asyncio.to_thread(...)`"
        sleep = category == "sleep"
        self.report(
            node,
            f"{WHAT[category]} `{label}` inside `async def {function.name}()` blocks the event loop; {advice}",
            data={"call": label, "category": category, "function": function.name, "sleep": sleep},
            fix_title="Replace with `await asyncio.sleep(...)`" if sleep else None,
        )

    def _async_http_client(self) -> tuple[str, str] | None:
        """(the async HTTP client, "this module" | "the project") when one is
        already in use: the message points at it instead of a new dependency."""
        if self.async_http is not None:
            return self.async_http, "this module"
        if self.project_async_http is None:
            self.project_async_http = ""
            for summary in getattr(self.ctx.index, "summaries", {}).values():
                factories = {binding.factory for binding in summary.sessions.values()}
                names = {(record.module, name) for record in summary.imports for name in record.names}
                if "httpx.AsyncClient" in factories or ("httpx", "AsyncClient") in names:
                    self.project_async_http = "httpx.AsyncClient"
                    break
                if "aiohttp.ClientSession" in factories or ("aiohttp", "ClientSession") in names:
                    self.project_async_http = "aiohttp.ClientSession"
        return (self.project_async_http, "the project") if self.project_async_http else None

    # -- where the call runs -------------------------------------------------

    def _async_function(self, node: ast.AST) -> ast.AsyncFunctionDef | None:
        """The ``async def`` whose coroutine runs ``node`` directly: None when
        the nearest enclosing scope is a sync def, a lambda or a class, or
        when the call is an argument of a thread-offloading call."""
        child: ast.AST = node
        current = getattr(node, "sg_parent", None)
        while current is not None:
            if isinstance(current, (ast.AsyncFunctionDef, ast.FunctionDef, ast.Lambda)):
                in_body = child is current.body if isinstance(current, ast.Lambda) else child in current.body
                if in_body:
                    return current if isinstance(current, ast.AsyncFunctionDef) else None
                # Decorators, defaults and annotations run where the def is, not in it.
            elif isinstance(current, ast.ClassDef):
                if child in current.body:
                    return None
            elif isinstance(current, ast.Call) and _is_offload(current):
                return None
            child, current = current, getattr(current, "sg_parent", None)
        return None

    # -- handles ---------------------------------------------------------------

    def _handle_call(self, func: ast.Attribute, function: ast.AsyncFunctionDef) -> str | None:
        method = func.attr
        receiver = func.value
        kind: str | None = None
        if isinstance(receiver, ast.Name):
            kind = self._kind_of_name(receiver.id, function)
        elif isinstance(receiver, ast.Call):
            kind = self._handle_kind(receiver, self._known_in(function))  # conn.cursor().execute()
        elif isinstance(receiver, (ast.Attribute, ast.Subscript)):
            root: ast.expr = receiver
            while isinstance(root, (ast.Attribute, ast.Subscript)):
                root = root.value
            if isinstance(root, ast.Name) and self._kind_of_name(root.id, function) == "mongo":
                kind = "mongo"  # only MongoDB is used through attribute chains (client.db.collection)
        if kind is None or kind in ("engine", "sessionmaker"):
            return None
        return kind if method in HANDLE_METHODS.get(kind, ()) else None

    def _kind_of_name(self, name: str, function: FunctionNode) -> str | None:
        """A local binding decides (``""``: a local that is no sync handle,
        shadowing any module-level one); else the module's or an imported one."""
        local = self._handles_in(function).get(name)
        if local is not None:
            return local or None
        return self.module_handles.get(name) or self._imported_handle(name)

    def _known_in(self, function: FunctionNode) -> dict[str, str]:
        known = dict(self.module_handles)
        for name, kind in self._handles_in(function).items():
            if kind:
                known[name] = kind
            else:
                known.pop(name, None)
        return known

    def _handles_in(self, function: FunctionNode) -> dict[str, str]:
        """Names ``function`` binds itself → the kind of sync handle they
        hold, ``""`` when they hold something else (or different things on
        different paths: flow-insensitive, so precision first). Parameters
        count by their annotation. A statement-level walk: handles are bound
        by statements."""
        key = id(function)
        cached = self.function_handles.get(key)
        if cached is not None:
            return cached
        handles: dict[str, str] = {}

        def bind(name: str, kind: str | None) -> None:
            previous = handles.get(name)
            handles[name] = (kind or "") if previous is None or previous == (kind or "") else ""

        args = function.args
        for arg in (*args.posonlyargs, *args.args, *args.kwonlyargs, *filter(None, (args.vararg, args.kwarg))):
            bind(arg.arg, self._annotation_kind(arg.annotation) if arg.annotation is not None else None)
        known = dict(self.module_handles)
        for node in own_statements(function):
            known.update({name: kind for name, kind in handles.items() if kind})
            if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
                kind = self._handle_kind(node.value, known) if node.value is not None and not isinstance(node, ast.AugAssign) else None
                if kind is None and isinstance(node, ast.AnnAssign):
                    kind = self._annotation_kind(node.annotation)
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for target in targets:
                    simple = isinstance(target, ast.Name)
                    for name in bound_names(target):
                        bind(name, kind if simple else None)
            elif isinstance(node, (ast.With, ast.AsyncWith)):
                for item in node.items:
                    if item.optional_vars is None:
                        continue
                    kind = self._handle_kind(item.context_expr, known) if isinstance(node, ast.With) else None
                    simple = isinstance(item.optional_vars, ast.Name)
                    for name in bound_names(item.optional_vars):
                        bind(name, kind if simple else None)
            elif isinstance(node, (ast.For, ast.AsyncFor)):
                for name in bound_names(node.target):
                    bind(name, None)
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                bind(node.name, None)
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                for alias in node.names:
                    bind((alias.asname or alias.name).split(".", 1)[0], None)
        self.function_handles[key] = handles
        return handles

    def _handle_kind(self, value: ast.expr, known: dict[str, str]) -> str | None:
        """The kind of sync handle ``value`` evaluates to, if any; also
        through ``await asyncio.to_thread(sqlite3.connect, path)``, whose
        result is the same sync connection."""
        if isinstance(value, ast.Await) and isinstance(value.value, ast.Call) and _is_offload(value.value):
            offloaded = value.value
            target = next((arg for arg in offloaded.args if not (isinstance(arg, ast.Constant) and arg.value is None)), None)
            if target is None:
                return None
            value = ast.Call(func=target, args=[], keywords=[])
        if not isinstance(value, ast.Call):
            return None
        func = value.func
        qualified = self.ctx.imports.resolve(func)
        if qualified in SYNC_HANDLES:
            return SYNC_HANDLES[qualified]
        if isinstance(func, ast.Name):
            kind = known.get(func.id) or self._imported_handle(func.id)
            if kind == "sessionmaker":
                return "orm"  # SessionLocal()
            return None
        if isinstance(func, ast.Attribute):
            owner = func.value
            if isinstance(owner, ast.Name):
                kind = known.get(owner.id) or self._imported_handle(owner.id)
            elif isinstance(owner, ast.Call):
                kind = self._handle_kind(owner, known)  # sqlite3.connect(path).cursor()
            else:
                return None
            if kind == "dbapi" and func.attr == "cursor":
                return "dbapi"
            if kind == "engine" and func.attr in ("connect", "begin"):
                return "connection"
            if kind == "sessionmaker" and func.attr == "begin":
                return "orm"
        return None

    def _imported_handle(self, name: str) -> str | None:
        """A sync handle created at module level in another project module
        (``from app.cache import redis_client``), as the index recorded it."""
        index = self.ctx.index
        qualified = self.ctx.imports.names.get(name)
        if index is None or qualified is None or "." not in qualified:
            return None
        module, _, attr = qualified.rpartition(".")
        try:
            summary = index.module_for(module)
        except Exception:  # noqa: BLE001  # an index problem must not stop the rule
            return None
        binding = summary.sessions.get(attr) if summary is not None else None
        if binding is None:
            return None
        return SYNC_HANDLES.get(binding.factory)

    def _annotation_kind(self, annotation: ast.expr) -> str | None:
        """The sync handle an annotation declares: ``Session``,
        ``requests.Session``, ``redis.Redis``…, also inside
        ``Annotated[...]``, ``Optional[...]``, ``X | None``, a string, or a
        module alias (``SessionDep``)."""
        if isinstance(annotation, ast.Constant) and isinstance(annotation.value, str):
            try:
                annotation = ast.parse(annotation.value, mode="eval").body
            except (SyntaxError, ValueError, RecursionError, MemoryError):
                return None
        if isinstance(annotation, ast.Name) and annotation.id in self.sync_session_aliases:
            return "orm"
        if isinstance(annotation, ast.Subscript):
            head = (dotted_name(annotation.value) or "").rsplit(".", 1)[-1]
            if head in ("Annotated", "Optional"):
                inner = annotation.slice
                first = inner.elts[0] if isinstance(inner, ast.Tuple) and inner.elts else inner
                return self._annotation_kind(first)
            return None
        if isinstance(annotation, ast.BinOp) and isinstance(annotation.op, ast.BitOr):
            return self._annotation_kind(annotation.left) or self._annotation_kind(annotation.right)
        return ANNOTATION_KINDS.get(self.ctx.imports.resolve(annotation) or "")

    def _is_sync_session_annotation(self, annotation: ast.expr) -> bool:
        return self._annotation_kind(annotation) == "orm"

    def _label(self, call: ast.Call) -> str:
        head = " ".join((self.ctx.source.segment(call.func) or dotted_name(call.func) or "call").split())
        if len(head) > 50:
            head = "…" + head[-49:]
        return f"{head}()"


def _binding(stmt: ast.AST) -> tuple[list[str], ast.expr | None]:
    if isinstance(stmt, ast.Assign):
        return [t.id for t in stmt.targets if isinstance(t, ast.Name)], stmt.value
    if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
        return [stmt.target.id], stmt.value
    return [], None


def _is_offload(call: ast.Call) -> bool:
    func = call.func
    name = callee_name(func)
    return name in OFFLOAD_CALLS

