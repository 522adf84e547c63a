"""What "extract to service" would move out of one route handler, decided on
the ``ast`` alone (cheap enough to run while the editor lists code actions,
so a refused action can be shown disabled with its reason).

A handler body is cut in three:

* **prologue** (stays in the router): input reading and validation before
  any data access — statements up to the last one, before the first
  database call, that reads the request or is a guard (an ``if`` that only
  raises, aborts or returns);
* **core** (moves to the service): from there to the response mapping;
  HTTP errors raised in it become domain errors;
* **epilogue** (stays): the final ``return`` when it builds the response
  from values the core computed (``jsonify(_as_json(post)), 201``,
  ``Response(BookSerializer(book).data)``) and the presentation statements
  just before it. A final ``return`` that queries the database moves with
  the core and the service returns its value.

The service takes the handler's parameters and prologue values the core
reads (the session first), and returns the core values the epilogue reads.
The plan refuses, with a reason, what cannot move without changing
behaviour: generators, the request/response/background tasks used in the
logic, early returns that are not error responses, ``global``/``nonlocal``,
names the core needs that only the router module defines (classes, or
helpers that speak HTTP).
"""

from __future__ import annotations

import ast
import builtins
from dataclasses import dataclass, field

from ..analysis.semantics import (
    FunctionNode,
    ImportMap,
    RouteHandler,
    db_call_kind,
    dotted_name,
    find_route_handlers,
    session_names,
)
from ..rules._layering import extra_route_handlers, handler_framework, status_from_expr
from ..rules.sg101_db_access_in_router import (
    FLASK_SQLALCHEMY_DB_METHODS,
    MODEL_QUERY_METHODS,
)
from ..rules.sg102_logic_in_router import measure
from ..rules.sg104_http_error_outside_router import ABORT_CALLS, is_http_exception
from .base import (
    ImportSpec,
    ProjectView,
    Refuse,
    has_star_import,
    import_bindings,
    module_of,
    parse_python,
    snake,
)

SUPPORTED_FRAMEWORKS = frozenset({"fastapi", "starlette", "flask", "django", "drf"})
# Qualified-name prefixes of web framework objects the service must not see.
HTTP_PREFIXES = (
    "fastapi.",
    "starlette.",
    "flask.",
    "werkzeug.",
    "quart.",
    "django.http",
    "django.shortcuts",
    "django.template",
    "django.urls",
    "django.contrib.messages",
    "rest_framework.",
    "aiohttp.web",
    "litestar.",
)
HTTP_OBJECT_TYPES = {
    "Request": "the request",
    "HttpRequest": "the request",
    "WSGIRequest": "the request",
    "HTTPConnection": "the request",
    "Response": "the response",
    "HttpResponse": "the response",
    "StreamingResponse": "the response",
    "BackgroundTasks": "background tasks",
    "BackgroundTask": "background tasks",
    "WebSocket": "the websocket",
    "UploadFile": "an uploaded file",
    "SecurityScopes": "the security scopes",
}
HTTP_OBJECT_NAMES = {
    "request": "the request",
    "req": "the request",
    "response": "the response",
    "background_tasks": "background tasks",
    "tasks": "background tasks",
    "websocket": "the websocket",
    "ws": "the websocket",
}
ERROR_RESPONSES = frozenset(
    {
        "rest_framework.response.Response",
        "fastapi.responses.JSONResponse",
        "starlette.responses.JSONResponse",
        "django.http.JsonResponse",
        "django.http.response.JsonResponse",
    }
)
DJANGO_404_SHORTCUTS = frozenset({"django.shortcuts.get_object_or_404"})
FLASK_404_METHODS = frozenset({"first_or_404", "get_or_404", "one_or_404"})
_BUILTINS = frozenset(dir(builtins)) | {"__name__", "__file__"}


@dataclass
class HandlerPlan:
    relative: str
    module: str
    text: str
    tree: ast.Module
    imports: ImportMap
    bindings: dict[str, ImportSpec]
    handler: RouteHandler
    func: FunctionNode
    view_class: ast.ClassDef | None
    framework: str
    is_async: bool
    has_docstring: bool
    prologue: list[ast.stmt]
    core: list[ast.stmt]
    epilogue: list[ast.stmt]
    core_returns: bool  # the final ``return`` moves: the service returns its value
    results: list[str]  # core values the epilogue reads
    params: list[str]  # handler parameters and prologue values the core reads
    sessions: set[str]
    session: str | None  # the session parameter the core uses
    import_deps: list[str]  # imported names the core reads
    module_deps: list[str]  # module-level functions/constants of the router the core reads
    service_name: str
    models: list[str] = field(default_factory=list)  # model classes the core names
    raises_http: bool = False

    @property
    def handler_label(self) -> str:
        return f"{self.view_class.name}.{self.func.name}" if self.view_class else self.func.name


def find_handler(tree: ast.Module, imports: ImportMap, relative: str, line: int) -> tuple[RouteHandler, ast.ClassDef | None] | None:
    """The route handler whose definition (decorators included) spans ``line``."""
    handlers = find_route_handlers(tree, imports, relative)
    known = {id(h.node) for h in handlers}
    handlers += [h for h in extra_route_handlers(tree, imports) if id(h.node) not in known]
    best: tuple[int, RouteHandler] | None = None
    for handler in handlers:
        node = handler.node
        start = min([node.lineno, *(d.lineno for d in node.decorator_list)])
        end = node.end_lineno or node.lineno
        if start <= line <= end and (best is None or end - start < best[0]):
            best = (end - start, handler)
    if best is None:
        return None
    handler = best[1]
    owner = next(
        (stmt for stmt in tree.body if isinstance(stmt, ast.ClassDef) and any(item is handler.node for item in stmt.body)),
        None,
    )
    return handler, owner


def plan_extraction(project: ProjectView, relative: str, text: str, line: int) -> HandlerPlan:
    """The plan for the handler at ``line``; raises ``Refuse`` with the reason
    it cannot be extracted."""
    tree = parse_python(text)
    if tree is None:
        raise Refuse("the file does not parse")
    module = module_of(relative)
    imports = ImportMap.from_tree(tree, module)
    found = find_handler(tree, imports, relative, line)
    if found is None:
        raise Refuse("there is no route handler here")
    handler, view_class = found
    return _Planner(project, relative, module, text, tree, imports, handler, view_class).plan()


class _Planner:
    def __init__(
        self,
        project: ProjectView,
        relative: str,
        module: str,
        text: str,
        tree: ast.Module,
        imports: ImportMap,
        handler: RouteHandler,
        view_class: ast.ClassDef | None,
    ) -> None:
        self.project = project
        self.relative = relative
        self.module = module
        self.text = text
        self.tree = tree
        self.imports = imports
        self.handler = handler
        self.func = handler.node
        self.view_class = view_class
        self.bindings = import_bindings(tree, module, package=relative.endswith("__init__.py"))
        self.models = set(project.index.models)
        self.name = f"{view_class.name}.{self.func.name}" if view_class else self.func.name

    # -- facts -----------------------------------------------------------------
    def _is_http(self, qualified: str | None) -> bool:
        return bool(qualified) and (qualified + ".").startswith(HTTP_PREFIXES)  # type: ignore[operator]

    def _http_objects(self) -> dict[str, str]:
        """Parameters (and ``self``) holding request-scoped web objects → what they are."""
        found: dict[str, str] = {}
        args = self.func.args
        for arg in (*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg):
            if arg is None:
                continue
            if arg.arg in ("self", "cls"):
                found[arg.arg] = "the view (`self`)"
                continue
            what = None
            if arg.annotation is not None:
                for sub in ast.walk(arg.annotation):
                    name = dotted_name(sub) if isinstance(sub, (ast.Name, ast.Attribute)) else None
                    last = name.rsplit(".", 1)[-1] if name else ""
                    if last in HTTP_OBJECT_TYPES:
                        what = HTTP_OBJECT_TYPES[last]
                        break
            if what is None and arg.annotation is None:
                what = HTTP_OBJECT_NAMES.get(arg.arg)
            if what is None and arg.arg in ("request", "req") and self.handler.framework in ("django", "drf", "flask"):
                what = "the request"
            if what is not None:
                found[arg.arg] = what
        for local, qualified in self.imports.names.items():
            if qualified in ("flask.request", "quart.request", "flask.session", "flask.g", "flask.current_app"):
                found[local] = "the request" if qualified.endswith("request") else f"`{qualified}`"
        return found

    def _sessions(self) -> set[str]:
        return function_sessions(self.project, self.func, self.imports, self.bindings)

    def _touches_db(self, node: ast.AST, sessions: set[str]) -> bool:
        for sub in ast.walk(node):
            if isinstance(sub, ast.Attribute):
                if isinstance(sub.value, ast.Name) and sub.value.id in sessions:
                    return True
                dotted = dotted_name(sub) or ""
                if dotted == "db.session" or dotted.endswith((".db.session", ".objects")):
                    return True
                if sub.attr == "query" and isinstance(sub.value, ast.Name) and sub.value.id in self.models:
                    return True
            elif isinstance(sub, ast.Call):
                if db_call_kind(sub, sessions, self.imports, self.models) is not None:
                    return True
                qualified = self.imports.resolve(sub.func) or ""
                if qualified.startswith("django.shortcuts.get_"):
                    return True
                func = sub.func
                if isinstance(func, ast.Attribute):
                    receiver = dotted_name(func.value) or ""
                    if receiver.rsplit(".", 1)[-1] == "db" and func.attr in (*FLASK_SQLALCHEMY_DB_METHODS, "select", "session"):
                        return True
                    if func.attr in ("save", "delete", "refresh_from_db") and isinstance(func.value, ast.Name) and func.value.id not in self.imports.names:
                        return True
                    if func.attr in MODEL_QUERY_METHODS and isinstance(func.value, ast.Attribute) and func.value.attr == "query":
                        return True
        return False

    def _is_guard(self, statement: ast.stmt, sessions: set[str]) -> bool:
        if not isinstance(statement, ast.If) or self._touches_db(statement.test, sessions):
            return False

        def rejects(body: list[ast.stmt]) -> bool:
            if not body:
                return False
            last = body[-1]
            if isinstance(last, (ast.Raise, ast.Return)):
                return True
            return isinstance(last, ast.Expr) and isinstance(last.value, ast.Call) and (dotted_name(last.value.func) or "").rsplit(".", 1)[-1] == "abort"

        if not rejects(statement.body):
            return False
        orelse = statement.orelse
        if not orelse:
            return True
        return len(orelse) == 1 and isinstance(orelse[0], ast.If) and self._is_guard(orelse[0], sessions)

    def _reads(self, node: ast.AST, names: set[str] | dict[str, str]) -> ast.Name | None:
        for sub in ast.walk(node):
            if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Load) and sub.id in names:
                return sub
        return None

    # -- the plan --------------------------------------------------------------
    def plan(self) -> HandlerPlan:
        func = self.func
        framework = handler_framework(self.handler, self.imports)
        if framework not in SUPPORTED_FRAMEWORKS:
            raise Refuse(f"{framework} handlers are not supported by the deterministic extraction yet")
        if has_star_import(self.tree):
            raise Refuse("the module uses `import *`, so the names the moved code needs can't be told")
        for node in _own_nodes(func):
            if isinstance(node, (ast.Yield, ast.YieldFrom)):
                raise Refuse(f"`{self.name}` is a generator (it yields at line {node.lineno}); a streamed response can't move into a service")
            if isinstance(node, (ast.Global, ast.Nonlocal)):
                raise Refuse(f"`{self.name}` declares `{'global' if isinstance(node, ast.Global) else 'nonlocal'}` names at line {node.lineno}")
        body = list(func.body)
        has_docstring = bool(body) and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str)
        if has_docstring:
            body = body[1:]
        if not body:
            raise Refuse(f"`{self.name}` has no body to move")
        sessions = self._sessions()
        http_objects = self._http_objects()
        db = [self._touches_db(statement, sessions) for statement in body]

        # Prologue: input reading and guards before the first data access.
        first_db = next((i for i, flag in enumerate(db) if flag), len(body))
        final_return = body[-1] if isinstance(body[-1], ast.Return) else None
        limit = min(first_db, len(body) - (1 if final_return is not None else 0))
        prologue_end = 0
        for index in range(limit):
            statement = body[index]
            if self._is_guard(statement, sessions) or self._reads(statement, http_objects):
                prologue_end = index + 1

        # Epilogue: the final return (unless it queries) and the presentation
        # statements right before it.
        epilogue_start = len(body)
        core_returns = False
        if final_return is not None:
            if db[-1] or final_return.value is None:
                core_returns = final_return.value is not None
                if final_return.value is None:
                    epilogue_start = len(body) - 1
            else:
                epilogue_start = len(body) - 1
                while epilogue_start - 1 >= prologue_end and not db[epilogue_start - 1] and self._presents(body[epilogue_start - 1], http_objects):
                    epilogue_start -= 1
        prologue, core, epilogue = body[:prologue_end], body[prologue_end:epilogue_start], body[epilogue_start:]
        if not core:
            raise Refuse(f"`{self.name}` has nothing to move: it only validates input, calls other code and maps the response")
        if not any(db[prologue_end:epilogue_start]) and not measure(func, self.imports).reasons():
            raise Refuse(f"`{self.name}` has nothing to move: it has no data access or business logic")

        raises_http = self._check_core(core, http_objects, core_returns)
        param_order = [a.arg for a in (*func.args.posonlyargs, *func.args.args, *func.args.kwonlyargs) if a.arg not in ("self", "cls")]
        prologue_stores = _ordered_stores(prologue)
        core_loads = _loads(core)
        core_stores = _ordered_stores(core)
        epilogue_loads = _loads(epilogue)
        known = [*param_order, *[n for n in prologue_stores if n not in param_order]]
        params = [name for name in known if name in core_loads]
        for name in params:
            if name in http_objects:
                raise Refuse(f"the logic uses {http_objects[name]} (`{name}`), which the service must not see")
        results = [] if core_returns else [name for name in core_stores if name in epilogue_loads]
        session = next((name for name in params if name in sessions), None)
        if session is not None:
            params = [session, *[name for name in params if name != session]]

        local = set(known) | set(core_stores)
        free = [name for name in _ordered_loads(core) if name not in local and name not in _BUILTINS]
        import_deps: list[str] = []
        module_deps: list[str] = []
        module_level = _module_level_definitions(self.tree)
        for name in free:
            if name in self.bindings:
                import_deps.append(name)
            elif name in module_level:
                module_deps.append(name)
            elif name in _BUILTINS:
                continue
            else:
                raise Refuse(f"the logic reads `{name}`, which is not defined in this module")
        self._check_module_deps(module_deps, module_level, http_objects)
        model_names = [name for name in free if _last(self.imports.names.get(name, name)) in self.models]
        return HandlerPlan(
            relative=self.relative,
            module=self.module,
            text=self.text,
            tree=self.tree,
            imports=self.imports,
            bindings=self.bindings,
            handler=self.handler,
            func=func,
            view_class=self.view_class,
            framework=framework,
            is_async=isinstance(func, ast.AsyncFunctionDef),
            has_docstring=has_docstring,
            prologue=prologue,
            core=core,
            epilogue=epilogue,
            core_returns=core_returns,
            results=results,
            params=params,
            sessions=sessions,
            session=session,
            import_deps=import_deps,
            module_deps=module_deps,
            service_name=self._service_name(),
            models=model_names,
            raises_http=raises_http,
        )

    def _presents(self, statement: ast.stmt, http_objects: dict[str, str]) -> bool:
        """Response building: an assignment or call reading web framework
        names or schema classes (guards and control flow are logic)."""
        if not isinstance(statement, (ast.Assign, ast.AnnAssign, ast.AugAssign, ast.Expr)):
            return False
        for sub in ast.walk(statement):
            if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Load):
                if sub.id in http_objects:
                    return True
                spec = self.bindings.get(sub.id)
                if spec is None:
                    continue
                if self._is_http(spec.qualified):
                    return True
                target = self.project.index.resolve_module(spec.module or spec.name)
                if target is not None and self.project.index.layer_of(target) == "schema":
                    return True
        return False

    def _check_core(self, core: list[ast.stmt], http_objects: dict[str, str], core_returns: bool) -> bool:
        """Refuse web objects and early returns in the moved code; returns
        whether it raises HTTP errors (they become domain errors)."""
        allowed: set[int] = set()
        raises = False
        final = core[-1] if core_returns else None
        for statement in core:
            for node in _own_nodes_of(statement):
                if isinstance(node, ast.Raise) and node.exc is not None:
                    target = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
                    if is_http_exception(self.imports.resolve(target)):
                        allowed.update(id(n) for n in ast.walk(node))
                        raises = True
                elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Call) and self.imports.resolve(node.value.func) in ABORT_CALLS:
                    allowed.update(id(n) for n in ast.walk(node))
                    raises = True
                elif isinstance(node, ast.Return) and node is not final:
                    if error_response(node, self.imports) is None:
                        raise Refuse(f"the logic returns early at line {node.lineno} with something other than an error response")
                    allowed.update(id(n) for n in ast.walk(node))
                    raises = True
                elif isinstance(node, ast.Call) and self._converted_404(node):
                    allowed.update(id(n) for n in ast.walk(node.func))
                    raises = True
                elif isinstance(node, ast.Try):
                    for handler in node.handlers:
                        if handler.type is not None and any(
                            is_http_exception(self.imports.resolve(t)) for t in ast.walk(handler.type) if isinstance(t, (ast.Name, ast.Attribute))
                        ):
                            raise Refuse(f"the logic catches an HTTP exception at line {handler.lineno}")
        for statement in core:
            for node in _own_nodes_of(statement):
                if id(node) in allowed or not isinstance(node, ast.Name):
                    continue
                if node.id in http_objects:
                    raise Refuse(f"the logic uses {http_objects[node.id]} (`{node.id}`) at line {node.lineno}, which the service must not see")
                spec = self.bindings.get(node.id)
                if spec is not None and self._is_http(spec.qualified):
                    raise Refuse(f"the logic uses `{node.id}` from the web framework at line {node.lineno}; only raised HTTP errors can move")
        return raises

    def _converted_404(self, call: ast.Call) -> bool:
        """``db.first_or_404(stmt)`` / ``get_object_or_404(Model, ...)`` as
        the value of an assignment to a name (rewritten into a query and a
        domain error); anywhere else the plan refuses."""
        qualified = self.imports.resolve(call.func) or ""
        func = call.func
        is_flask = isinstance(func, ast.Attribute) and func.attr in FLASK_404_METHODS and (dotted_name(func.value) or "").rsplit(".", 1)[-1] == "db"
        if qualified not in DJANGO_404_SHORTCUTS and not is_flask:
            return False
        parent = getattr(call, "sg_assign", None)
        if parent is None:
            raise Refuse(f"`{dotted_name(func)}()` at line {call.lineno} must be assigned to a name to be rewritten")
        return True

    def _check_module_deps(self, names: list[str], definitions: dict[str, ast.stmt], http_objects: dict[str, str]) -> None:
        for name in names:
            statement = definitions[name]
            if isinstance(statement, ast.ClassDef):
                raise Refuse(f"the logic uses the class `{name}` defined in this router module; move it to its own module first")
            if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
                if statement.decorator_list:
                    raise Refuse(f"the logic calls `{name}`, a decorated function of this router module")
                if any(h.node is statement for h in find_route_handlers(self.tree, self.imports, self.relative)):
                    raise Refuse(f"the logic calls the route handler `{name}`")
            for sub in ast.walk(statement):
                if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Load):
                    spec = self.bindings.get(sub.id)
                    if (spec is not None and self._is_http(spec.qualified)) or sub.id in http_objects:
                        raise Refuse(f"the logic uses `{name}`, which depends on the web framework (`{sub.id}`)")
                    if sub.id in definitions and sub.id != name and sub.id not in names:
                        raise Refuse(f"the logic uses `{name}`, which needs `{sub.id}` from this router module")

    def _service_name(self) -> str:
        if self.view_class is None:
            return self.func.name
        base = self.view_class.name
        for suffix in ("APIView", "ViewSet", "View", "Resource", "Endpoint", "Controller"):
            if base.endswith(suffix) and len(base) > len(suffix):
                base = base[: -len(suffix)]
                break
        return f"{snake(base)}_{self.func.name}"


def error_response(node: ast.Return, imports: ImportMap) -> tuple[ast.expr, ast.expr | None] | None:
    """(status, detail) of ``return Response({"detail": X}, status=4xx)`` and
    its FastAPI/Django equivalents: an error response whose body is exactly
    what the domain error mapping produces."""
    call = node.value
    if not isinstance(call, ast.Call) or imports.resolve(call.func) not in ERROR_RESPONSES:
        return None
    keywords = {kw.arg: kw.value for kw in call.keywords if kw.arg}
    status = keywords.get("status") or keywords.get("status_code")
    content = keywords.get("content") or keywords.get("data")
    if content is None and call.args:
        content = call.args[0]
    if status is None and len(call.args) > 1:
        status = call.args[1]
    code = status_from_expr(status, imports)
    if code is None or code < 400 or len(call.args) > 2:
        return None
    if not isinstance(content, ast.Dict) or len(content.keys) != 1:
        return None
    key = content.keys[0]
    if not (isinstance(key, ast.Constant) and key.value == "detail"):
        return None
    assert status is not None
    return status, content.values[0]


def function_sessions(project: ProjectView, func: FunctionNode, imports: ImportMap, bindings: dict[str, ImportSpec]) -> set[str]:
    """Session parameters and locals: semantics' rules, plus parameters
    annotated with a session alias imported from another module
    (``session: SessionDep`` with ``SessionDep = Annotated[Session, ...]``
    in ``app/db.py``)."""
    names = session_names(func, imports)
    args = func.args
    for arg in (*args.posonlyargs, *args.args, *args.kwonlyargs):
        if arg.arg in names or arg.annotation is None:
            continue
        if isinstance(arg.annotation, ast.Name) and session_alias_target(project, bindings, arg.annotation.id):
            names.add(arg.arg)
    return names


def session_alias_target(project: ProjectView, bindings: dict[str, ImportSpec], alias: str) -> tuple[str, ImportSpec | None] | None:
    """For ``SessionDep`` imported from a project module where it is
    ``Annotated[Session, Depends(...)]``: (``Session``, its import there)."""
    spec = bindings.get(alias)
    if spec is None or spec.module is None:
        return None
    relative = project.index.resolve_module(spec.module)
    if relative is None:
        return None
    text = project.text(relative)
    tree = parse_python(text) if text is not None else None
    if tree is None:
        return None
    module = project.index.summaries[relative].module if relative in project.index.summaries else module_of(relative)
    imports = ImportMap.from_tree(tree, module)
    if spec.name not in imports.session_aliases:
        return None
    for statement in tree.body:
        value = None
        if isinstance(statement, ast.Assign) and any(isinstance(t, ast.Name) and t.id == spec.name for t in statement.targets) or isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name) and statement.target.id == spec.name:
            value = statement.value
        if value is None:
            continue
        inner = value
        if isinstance(inner, ast.Subscript):
            inner = inner.slice.elts[0] if isinstance(inner.slice, ast.Tuple) and inner.slice.elts else inner.slice
        name = dotted_name(inner)
        if name is None:
            return None
        there = import_bindings(tree, module, package=relative.endswith("__init__.py"))
        return name, there.get(name.split(".", 1)[0])
    return None


# --- small ast helpers ---------------------------------------------------------


def _own_nodes(func: FunctionNode):
    """Nodes of the function body, not descending into nested scopes."""
    for statement in func.body:
        yield from _own_nodes_of(statement)


def _own_nodes_of(root: ast.AST):
    stack: list[ast.AST] = [root]
    while stack:
        node = stack.pop()
        yield node
        if node is not root and isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            continue
        children = list(ast.iter_child_nodes(node))
        if isinstance(node, (ast.Assign, ast.AnnAssign)) and isinstance(getattr(node, "value", None), ast.Call):
            single = node.targets if isinstance(node, ast.Assign) else [node.target]
            if len(single) == 1 and isinstance(single[0], ast.Name):
                node.value.sg_assign = node  # type: ignore[union-attr]
        stack.extend(reversed(children))


def _loads(nodes: list[ast.stmt]) -> set[str]:
    return {n.id for statement in nodes for n in ast.walk(statement) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


def _ordered_loads(nodes: list[ast.stmt]) -> list[str]:
    seen: dict[str, None] = {}
    for statement in nodes:
        for n in _own_nodes_of(statement):
            if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load):
                seen.setdefault(n.id, None)
    return list(seen)


def _ordered_stores(nodes: list[ast.stmt]) -> list[str]:
    seen: dict[str, None] = {}
    for statement in nodes:
        for n in _own_nodes_of(statement):
            if isinstance(n, ast.Name) and isinstance(n.ctx, (ast.Store, ast.Del)):
                seen.setdefault(n.id, None)
            elif isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) or isinstance(n, ast.ExceptHandler) and n.name:
                seen.setdefault(n.name, None)
            elif isinstance(n, (ast.Import, ast.ImportFrom)):
                for alias in n.names:
                    seen.setdefault((alias.asname or alias.name).split(".", 1)[0], None)
    return list(seen)


def _module_level_definitions(tree: ast.Module) -> dict[str, ast.stmt]:
    found: dict[str, ast.stmt] = {}
    for statement in tree.body:
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            found[statement.name] = statement
        elif isinstance(statement, ast.Assign):
            for target in statement.targets:
                if isinstance(target, ast.Name):
                    found[target.id] = statement
        elif isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name):
            found[statement.target.id] = statement
    return found


def _last(name: str) -> str:
    return name.rsplit(".", 1)[-1]
