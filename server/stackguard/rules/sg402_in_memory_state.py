"""A module-level mutable container is written while serving requests.

## What it does
In router and service modules, flags module-level dicts, lists, sets,
`defaultdict`s, `OrderedDict`s, `Counter`s and `deque`s that request code
writes: item assignment (`_carts[user_id] = cart`), `del`, augmented
assignment, mutating methods (`.append`, `.add`, `.update`, `.setdefault`,
`.pop`, …) and rebinding through `global`, inside route handlers,
dependencies, service functions and methods. One finding per container and
function, on its first write there.

It also flags `@lru_cache` / `@cache` (and `cachetools` / `async_lru`
equivalents) on router or service functions that take a request-dependent
argument: a request, a session or connection, a user or user id, a token,
a tenant or account id, or an ORM model instance.

Stays quiet on: containers only read (lookup tables, constants);
writes at import time (module level); registries filled by decorators or
registration functions at import (`@register("pdf")`,
`HANDLERS[name] = func; return func`); startup and shutdown hooks
(`lifespan`, `@app.on_event("startup")`, `app.on_startup.append(...)`,
`setup_*`/`register_*`/`init_*` functions); local variables and parameters
that shadow the module name; `__all__`; caches in non-request code
(config, infrastructure, scripts — other layers); `@lru_cache` on
functions without arguments (the FastAPI `get_settings()` idiom) or whose
arguments are not request data (`load_template(name)`).

## Why is this bad?
Production runs several worker processes (gunicorn/uvicorn workers, several
containers behind a load balancer), each with its own copy of module
globals. State kept there is invisible to the other workers, so a user's
next request sees a different cart, counter or session depending on where it
lands; it is lost on every restart and deploy, grows without bound, and is
written by concurrent requests without a lock. `lru_cache` keyed by a user
or session serves stale data after another worker changes it, holds ORM
objects and sessions alive, and never hits for objects hashed by identity.
Services should be stateless; shared state belongs in the database, Redis or
another backing service.

## Example
```python
_carts: dict[int, list[int]] = {}


@router.post("/cart/items")
def add_item(item_id: int, user: User = Depends(current_user)) -> list[int]:
    _carts.setdefault(user.id, []).append(item_id)
    return _carts[user.id]


@lru_cache
def permissions_for(user_id: int) -> set[str]:
    ...
```

## Use instead
```python
@router.post("/cart/items")
def add_item(item_id: int, user: CurrentUser, carts: CartRepository = Depends()) -> list[int]:
    return carts.add_item(user.id, item_id)  # persisted in the database or Redis


def permissions_for(session: Session, user_id: int) -> set[str]:
    ...  # query per request, or cache in Redis with an expiry and invalidation
```

## References
- The Twelve-Factor App: [VI. Processes](https://12factor.net/processes) (stateless processes, share-nothing)
- Gunicorn: [How many workers?](https://docs.gunicorn.org/en/stable/design.html#how-many-workers)
- Python: [`functools.lru_cache`](https://docs.python.org/3/library/functools.html#functools.lru_cache)
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from ..analysis.semantics import (
    FunctionNode,
    dotted_name,
    iter_statements,
    walk_function_body,
)
from ._layering import handler_for_function
from ._typing import bound_names, own_statements
from .base import Rule

CONTAINER_CALLS = {
    "dict": "dict",
    "list": "list",
    "set": "set",
    "collections.defaultdict": "defaultdict",
    "collections.OrderedDict": "OrderedDict",
    "collections.Counter": "Counter",
    "collections.deque": "deque",
    "collections.ChainMap": "ChainMap",
    "typing.DefaultDict": "defaultdict",
}
_LITERALS: dict[type[ast.AST], str] = {
    ast.Dict: "dict",
    ast.DictComp: "dict",
    ast.List: "list",
    ast.ListComp: "list",
    ast.Set: "set",
    ast.SetComp: "set",
}
MUTATING_METHODS = frozenset(
    {
        "append", "extend", "insert", "add", "update", "setdefault", "pop", "popitem", "remove", "discard", "clear",
        "appendleft", "extendleft", "popleft", "rotate", "move_to_end", "subtract", "sort", "reverse",
        "difference_update", "intersection_update", "symmetric_difference_update", "__setitem__", "__delitem__",
    }
)
CACHE_DECORATORS = frozenset(
    {
        "functools.lru_cache",
        "functools.cache",
        "cachetools.cached",
        "cachetools.func.lru_cache",
        "cachetools.func.ttl_cache",
        "cachetools.func.lfu_cache",
        "async_lru.alru_cache",
    }
)
# Packages every cache decorator above is imported from.
_CACHE_PACKAGES = tuple(sorted({q.split(".", 1)[0] for q in CACHE_DECORATORS}))
# Arguments whose value depends on who is asking.
REQUEST_PARAMS = frozenset(
    {
        "request", "req", "session", "db", "db_session", "conn", "connection", "cursor", "user", "current_user",
        "user_id", "uid", "account", "account_id", "tenant", "tenant_id", "org_id", "organization_id", "customer",
        "customer_id", "token", "access_token", "refresh_token", "api_key", "session_id", "principal", "identity",
        "claims", "jwt", "member_id", "owner_id",
    }
)
REQUEST_TYPES = frozenset({"Request", "HttpRequest", "WebSocket", "HTTPConnection", "Session", "AsyncSession", "User", "AbstractUser", "AbstractBaseUser", "AnonymousUser"})
# Decorator attributes that register startup/shutdown hooks.
LIFECYCLE_DECORATORS = frozenset({"on_event", "before_first_request", "before_serving", "after_serving", "on_startup", "on_shutdown", "listener", "on_cleanup"})
# Calls that register a function as a startup/shutdown hook at import time.
LIFECYCLE_CALLS = frozenset({"add_event_handler", "before_first_request", "before_serving", "after_serving", "register"})
LIFECYCLE_LISTS = frozenset({"on_startup", "on_shutdown", "on_cleanup", "cleanup_ctx"})
LIFECYCLE_KEYWORDS = frozenset({"lifespan", "on_startup", "on_shutdown"})
# The parameter name of a decorator that registers what it decorates.
_DECORATED_NAMES = frozenset({"func", "fn", "f", "function", "cls", "klass", "handler", "callback", "view", "wrapped", "plugin", "hook", "view_func", "task", "command"})
LIFECYCLE_NAMES = frozenset({"lifespan", "startup", "shutdown", "on_startup", "on_shutdown", "init_app", "setup", "configure", "create_app", "main"})
LIFECYCLE_PREFIXES = ("register_", "_register", "setup_", "_setup", "init_", "_init", "startup_", "shutdown_", "on_startup_", "on_shutdown_")


class InMemoryState(Rule):
    code = "SG402"
    name = "in-memory-state"
    default_severity = "warning"
    layers = frozenset({"router", "service"})
    node_types = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Subscript, ast.Call, ast.Global)

    def begin(self) -> None:
        self.containers = _module_containers(self.ctx.tree, self.ctx.imports.names)
        self.import_time: set[str] | None = None
        self.facts: dict[int, _FunctionFacts] = {}
        self.reported: set[tuple[int, str]] = set()
        # What needs visiting: functions only when a cache decorator can
        # resolve (through a functools/cachetools import), writes only when
        # the module has containers. The engine dispatches just those types.
        self.cache_imported = any(q.startswith(_CACHE_PACKAGES) for q in self.ctx.imports.names.values())
        wanted: tuple[type[ast.AST], ...] = ()
        if self.cache_imported:
            wanted += (ast.FunctionDef, ast.AsyncFunctionDef)
        if self.containers:
            wanted += (ast.Subscript, ast.Call, ast.Global)
        self.node_types = wanted  # type: ignore[assignment,misc]

    def visit(self, node: ast.AST) -> None:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            if node.decorator_list and self.cache_imported:
                self._check_cache_decorator(node)
            return
        containers = self.containers
        if not containers:
            return
        if isinstance(node, ast.Subscript):
            # `X[k] = v`, `X[k] += 1`, `del X[k]`, `X[a][b] = v`: the outer subscript stores.
            if isinstance(node.ctx, ast.Load):
                return
            name = _subscript_root(node)
            if name in containers:
                self._write(node, name, _statement_of(node))
        elif isinstance(node, ast.Call):
            func = node.func
            if not isinstance(func, ast.Attribute) or func.attr not in MUTATING_METHODS:
                return
            name = _subscript_root(func.value, allow_bare=True)
            if name in containers:
                self._write(node, name, node)
        elif isinstance(node, ast.Global):
            for name in node.names:
                if name in containers:
                    self._rebinding(node, name)

    # -- writes -------------------------------------------------------------

    def _write(self, node: ast.AST, name: str, shown: ast.AST) -> None:
        func = _enclosing_function(node)
        if func is None or (id(func), name) in self.reported:
            return  # import time: module level or a class body
        facts = self._facts_of(func)
        if facts.outside_requests or (name in facts.local and name not in facts.declared_global):
            return  # startup/registration code, or a local that shadows the module name
        self.reported.add((id(func), name))
        self._report_write(func, name, self.containers[name], shown)

    def _rebinding(self, node: ast.Global, name: str) -> None:
        """``global X`` then ``X = …`` in a request function."""
        func = _enclosing_function(node)
        if func is None:
            return
        for stmt in walk_function_body(func):
            assigns = isinstance(stmt, (ast.Assign, ast.AugAssign, ast.AnnAssign)) and stmt.value is not None
            if assigns and any(isinstance(t, ast.Name) and t.id == name for t in _targets(stmt)):  # type: ignore[arg-type]
                self._write(stmt, name, stmt)
                return

    def _facts_of(self, func: FunctionNode) -> _FunctionFacts:
        """Computed once per function, only for functions that write a container."""
        facts = self.facts.get(id(func))
        if facts is None:
            if self.import_time is None:
                self.import_time = _import_time_functions(self.ctx.tree)
            facts = _FunctionFacts.of(func, self.import_time)
            outer = _enclosing_function(func)
            while outer is not None and not facts.outside_requests:
                facts.outside_requests = _is_lifecycle(outer, self.import_time)
                outer = _enclosing_function(outer)
            self.facts[id(func)] = facts
        return facts

    def _report_write(self, func: FunctionNode, name: str, kind: str, node: ast.AST) -> None:
        handler = handler_for_function(self.ctx, func)
        where = f"request handler `{func.name}()`" if handler is not None else f"`{func.name}()`"
        statement = " ".join((self.ctx.source.segment(node) or "").split())
        if len(statement) > 60:
            statement = statement[:59] + "…"
        shown = f" (`{statement}`)" if statement else ""
        lowered = name.lower()
        consequence = (
            "a per-process cache that other workers never see or invalidate"
            if "cache" in lowered or "memo" in lowered
            else "each worker process keeps its own copy and it is lost on restart"
        )
        self.report(
            node,
            f"Module-level {kind} `{name}` is written in {where}{shown}: {consequence}; keep shared state in the database or Redis",
            data={"container": name, "kind": kind, "function": func.name, "handler": handler is not None},
        )

    # -- lru_cache ------------------------------------------------------------

    def _check_cache_decorator(self, func: FunctionNode) -> None:
        for decorator in func.decorator_list:
            target = decorator.func if isinstance(decorator, ast.Call) else decorator
            qualified = self.ctx.imports.resolve(target)
            if qualified not in CACHE_DECORATORS:
                continue
            params = [a for a in _all_args(func) if a.arg not in ("self", "cls")]
            dependent = [a.arg for a in params if self._request_dependent(a)]
            if not dependent:
                return
            shown = "@" + (self.ctx.source.segment(target) or qualified.rsplit(".", 1)[-1])
            args = ", ".join(a.arg for a in params)
            objects = [name for name in dependent if not name.lower().endswith(("_id", "id", "token", "key"))]
            alive = f"; it also keeps every `{objects[0]}` passed in alive" if objects else ""
            self.report(
                decorator,
                f"`{shown}` on `{func.name}({args})` caches results per {dependent[0]} in this process: "
                f"stale once another worker changes the data and never shared between workers{alive}",
                data={"function": func.name, "decorator": qualified, "arguments": dependent},
            )
            return

    def _request_dependent(self, arg: ast.arg) -> bool:
        name = arg.arg.lower()
        if name in REQUEST_PARAMS or name.endswith("_user"):
            return True
        annotation = arg.annotation
        if annotation is None:
            return False
        if self.ctx.imports.is_session_annotation(annotation):
            return True
        for part in ast.walk(annotation):
            dotted = dotted_name(part) if isinstance(part, (ast.Name, ast.Attribute)) else None
            if dotted is None:
                continue
            last = dotted.rsplit(".", 1)[-1]
            if last in REQUEST_TYPES or last in self.ctx.model_names:
                return True
        return False


class _FunctionFacts:
    """What a function's own body says about the names it writes, and
    whether it runs outside requests (startup, registration)."""

    def __init__(self, local: set[str], declared_global: set[str], outside_requests: bool) -> None:
        self.local = local
        self.declared_global = declared_global
        self.outside_requests = outside_requests

    @classmethod
    def of(cls, func: FunctionNode, import_time: set[str]) -> _FunctionFacts:
        """A statement-level walk: names are bound and values stored by
        statements (walrus bindings are not looked at)."""
        local: set[str] = {a.arg for a in _all_args(func)}
        declared_global: set[str] = set()
        stored: set[str] = set()  # names stored into a container (the registration shape)
        returned: set[str] = set()
        for stmt in own_statements(func):
            if isinstance(stmt, ast.Global):
                declared_global.update(stmt.names)
            elif isinstance(stmt, ast.Return):
                if isinstance(stmt.value, ast.Name):
                    returned.add(stmt.value.id)
            elif isinstance(stmt, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
                for target in _targets(stmt):
                    local.update(bound_names(target))
                    if isinstance(target, ast.Subscript) and isinstance(stmt.value, ast.Name):
                        stored.add(stmt.value.id)
            elif isinstance(stmt, (ast.For, ast.AsyncFor)):
                local.update(bound_names(stmt.target))
            elif isinstance(stmt, (ast.With, ast.AsyncWith)):
                for item in stmt.items:
                    if item.optional_vars is not None:
                        local.update(bound_names(item.optional_vars))
            elif isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                local.add(stmt.name)
            elif isinstance(stmt, (ast.Import, ast.ImportFrom)):
                local.update((alias.asname or alias.name).split(".", 1)[0] for alias in stmt.names)
            elif isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call):
                call = stmt.value
                if isinstance(call.func, ast.Attribute) and call.func.attr in MUTATING_METHODS and call.args and isinstance(call.args[-1], ast.Name):
                    stored.add(call.args[-1].id)
            elif isinstance(stmt, ast.Try):
                local.update(handler.name for handler in stmt.handlers if handler.name)
        outside = _is_lifecycle(func, import_time) or _is_registration(func, stored, returned)
        return cls(local, declared_global, outside)


def _enclosing_function(node: ast.AST) -> FunctionNode | None:
    """The nearest function around ``node`` (a lambda runs where it is
    called, so it does not count); None at module level or in a class body."""
    child: ast.AST = node
    current = getattr(node, "sg_parent", None)
    while current is not None:
        # Decorators, defaults and annotations run where the def is, not in it.
        if isinstance(current, (ast.FunctionDef, ast.AsyncFunctionDef)) and child in current.body:
            return current
        if isinstance(current, ast.ClassDef) and child in current.body:
            return None
        child, current = current, getattr(current, "sg_parent", None)
    return None


def _statement_of(node: ast.AST) -> ast.AST:
    current: ast.AST | None = node
    while current is not None and not isinstance(current, ast.stmt):
        current = getattr(current, "sg_parent", None)
    return current if current is not None else node


def _all_args(func: FunctionNode) -> list[ast.arg]:
    args = func.args
    found = [*args.posonlyargs, *args.args, *args.kwonlyargs]
    if args.vararg:
        found.append(args.vararg)
    if args.kwarg:
        found.append(args.kwarg)
    return found


def _targets(node: ast.Assign | ast.AugAssign | ast.AnnAssign) -> list[ast.expr]:
    return node.targets if isinstance(node, ast.Assign) else [node.target]


def _subscript_root(expr: ast.expr, *, allow_bare: bool = False) -> str | None:
    """``NAME`` of ``NAME[a][b]`` (and of a bare ``NAME`` when ``allow_bare``,
    the receiver of ``NAME.append(...)``)."""
    depth = 0
    while isinstance(expr, ast.Subscript):
        expr = expr.value
        depth += 1
    if isinstance(expr, ast.Name) and (depth or allow_bare):
        return expr.id
    return None


def _container_kind(value: ast.expr | None, imports: dict[str, str]) -> str | None:
    if value is None:
        return None
    kind = _LITERALS.get(type(value))
    if kind is not None:
        return kind
    if isinstance(value, ast.Call):
        dotted = dotted_name(value.func)
        if dotted is None:
            return None
        root, _, rest = dotted.partition(".")
        if root in imports:
            qualified = f"{imports[root]}.{rest}" if rest else imports[root]
        elif not rest and root in ("dict", "list", "set"):
            qualified = root
        else:
            return None
        return CONTAINER_CALLS.get(qualified)
    return None


def _module_containers(tree: ast.Module, imports: dict[str, str]) -> dict[str, str]:
    """Module-level name → container kind, for names bound at import time
    to a mutable container (module body and its if/try blocks)."""
    found: dict[str, str] = {}
    stack = list(tree.body)
    while stack:
        stmt = stack.pop()
        if isinstance(stmt, ast.Assign):
            kind = _container_kind(stmt.value, imports)
            for target in stmt.targets:
                if isinstance(target, ast.Name) and kind is not None and target.id != "__all__":
                    found[target.id] = kind
        elif isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
            kind = _container_kind(stmt.value, imports)
            if kind is not None and stmt.target.id != "__all__":
                found[stmt.target.id] = kind
        elif isinstance(stmt, (ast.If, ast.Try, ast.With)):
            for name in ("body", "orelse", "finalbody"):
                stack.extend(getattr(stmt, name, None) or [])
            for handler in getattr(stmt, "handlers", ()) or ():
                stack.extend(handler.body)
    return found


def _decorator_name(decorator: ast.expr) -> str | None:
    target = decorator.func if isinstance(decorator, ast.Call) else decorator
    return target.id if isinstance(target, ast.Name) else None


def _import_time_functions(tree: ast.Module) -> set[str]:
    """Names of functions that run at import or startup, not per request:
    used as decorators, called at module level, or registered as hooks."""
    names: set[str] = set()
    for node in iter_statements(tree.body):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            for decorator in node.decorator_list:
                name = _decorator_name(decorator)
                if name is not None:
                    names.add(name)
    for stmt in _module_level(tree.body):
        value = stmt.value if isinstance(stmt, (ast.Expr, ast.Assign, ast.AnnAssign)) else None
        if value is None:
            continue
        for call in (n for n in ast.walk(value) if isinstance(n, ast.Call)):
            func = call.func
            if isinstance(func, ast.Name):
                names.add(func.id)  # `load_registry()` at import
            attr = func.attr if isinstance(func, ast.Attribute) else None
            owner = func.value.attr if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Attribute) else None
            registering = attr in LIFECYCLE_CALLS or (attr == "append" and owner in LIFECYCLE_LISTS)
            if registering:
                names.update(a.id for a in call.args if isinstance(a, ast.Name))
            for kw in call.keywords:
                if kw.arg in LIFECYCLE_KEYWORDS:
                    names.update(n.id for n in ast.walk(kw.value) if isinstance(n, ast.Name))
    return names


def _module_level(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    for stmt in body:
        yield stmt
        if isinstance(stmt, (ast.If, ast.Try, ast.With)):
            for name in ("body", "orelse", "finalbody"):
                yield from _module_level(getattr(stmt, name, None) or [])
            for handler in getattr(stmt, "handlers", ()) or ():
                yield from _module_level(handler.body)


def _is_lifecycle(func: FunctionNode, import_time: set[str]) -> bool:
    if func.name in import_time or func.name in LIFECYCLE_NAMES or func.name.startswith(LIFECYCLE_PREFIXES):
        return True
    for decorator in func.decorator_list:
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        if isinstance(target, ast.Attribute) and target.attr in LIFECYCLE_DECORATORS:
            return True
    return False


def _is_registration(func: FunctionNode, stored: set[str], returned: set[str]) -> bool:
    """The decorator shape: takes one argument (the decorated object),
    stores it and returns it (``REGISTRY[func.__name__] = func; return func``)."""
    args = _all_args(func)
    return len(args) == 1 and args[0].arg in _DECORATED_NAMES and args[0].arg in stored and args[0].arg in returned
