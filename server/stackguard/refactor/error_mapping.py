"""HTTP errors in moved code become domain errors, and the web layer maps
them back to the same responses, so the API behaves as before.

* Conversion reuses the SG104 quick fix (``fixes.domain_exception``): its
  ``RaiseDomainError`` codemod runs once per HTTP raise/abort in the new
  service function, against the errors module as it grows (``NotFoundError``
  and its ``DomainError`` base are added when missing, never twice).
* Mapping, once per project and idempotent: FastAPI registers
  ``@app.exception_handler(DomainError)`` on the app (the JSON body FastAPI
  gives an ``HTTPException``); Flask registers an error handler that answers
  with the werkzeug HTTP error ``abort()`` raised, through the app's own
  handlers; Django REST framework gets an ``EXCEPTION_HANDLER`` in
  ``REST_FRAMEWORK`` settings (DRF's handler for everything else, with its
  rollback). Where none of that can be placed (no app object found, a custom
  DRF handler already configured, a plain Django view), the router catches
  ``DomainError`` around the service call and raises/returns what it did
  before.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field

import libcst as cst
from libcst.codemod import Codemod, CodemodContext, SkipFile

from ..analysis.semantics import ImportMap, dotted_name
from ..fixes.domain_exception import (
    BASE_CLASS,
    CLASS_BY_STATUS,
    ErrorsModule,
    RaiseDomainError,
    _errors_target,
)
from ..fixes.edits import new_context
from ..rules.sg104_http_error_outside_router import ABORT_CALLS, is_http_exception
from .base import (
    ChangeSet,
    ImportSpec,
    ProjectView,
    Refuse,
    ensure_imports,
    module_of,
    parse_python,
    run_transform,
)

SYNTHETIC_ERROR = "__stackguard_http_error__"
HANDLER_NAME = "handle_domain_error"
DRF_HANDLER_NAME = "domain_exception_handler"


@dataclass
class ErrorsState:
    relative: str
    module: str
    errors: ErrorsModule
    used: list[str] = field(default_factory=list)  # classes the new code raises

    def statuses(self) -> set[int | None]:
        found: set[int | None] = set()
        by_name = {name: status for status, name in CLASS_BY_STATUS.items()}
        for name in self.used:
            info = self.errors.classes.get(name)
            found.add(info.status_code if info is not None and info.status_code is not None else by_name.get(name))
        return found


def errors_state(project: ProjectView, changes: ChangeSet, anchor: str) -> ErrorsState:
    """The errors module the project uses (or will get, next to ``anchor``'s layer package)."""
    configured = project.index.errors_module()
    target = _errors_target(configured, anchor)
    if target is None:
        raise Refuse(f"cannot place an errors module for {anchor}")
    relative, module = target
    errors = ErrorsModule.parse(changes.text(relative))
    if errors is None:
        raise Refuse(f"{relative} does not parse")
    return ErrorsState(relative, module, errors)


def convert_http_errors(
    text: str, relative: str, function: str, class_name: str | None, state: ErrorsState, path: str
) -> str:
    """``text`` with every HTTP raise/abort inside ``function`` (a method of
    ``class_name`` when given) raising a domain error instead."""
    module = module_of(relative)
    for _ in range(100):
        found = _next_http_error(text, module, function, class_name)
        if found is None:
            return text
        line, column, hint = found
        codemod = RaiseDomainError(
            new_context(path),
            source_text=text,
            line=line,
            column=column,
            hint_exception=hint,
            hint_status=None,
            errors=state.errors,
            errors_module=state.module,
            current_module=module,
        )
        new_text = run_transform(codemod, text)
        plan = codemod.plan
        if plan is None or new_text == text:
            raise Refuse(f"could not turn the HTTP error at line {line} into a domain error")
        if plan.classes_to_add:
            reparsed = ErrorsModule.parse(state.errors.with_classes(plan.classes_to_add))
            assert reparsed is not None
            state.errors = reparsed
        chain = state.errors.chain(plan.class_name) if plan.class_name != BASE_CLASS else state.errors.chain(BASE_CLASS)
        if chain is None or BASE_CLASS not in {info.name for info in chain}:
            raise Refuse(f"`{plan.class_name}` in {state.module} does not derive from `{BASE_CLASS}`, so it can't be mapped back to a response")
        if plan.class_name not in state.used:
            state.used.append(plan.class_name)
        text = new_text
    raise Refuse("too many HTTP errors to convert")


def _next_http_error(text: str, module: str, function: str, class_name: str | None) -> tuple[int, int, str] | None:
    tree = parse_python(text)
    if tree is None:
        raise Refuse("the generated service does not parse")
    imports = ImportMap.from_tree(tree, module)
    scope: list[ast.stmt] = tree.body
    if class_name is not None:
        owner = next((s for s in tree.body if isinstance(s, ast.ClassDef) and s.name == class_name), None)
        if owner is None:
            return None
        scope = owner.body
    target = next((s for s in scope if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef)) and s.name == function), None)
    if target is None:
        return None
    lines = text.splitlines()
    for node in ast.walk(target):
        hint: str | None = None
        if isinstance(node, ast.Raise) and node.exc is not None:
            callee = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
            if isinstance(callee, ast.Name) and callee.id == SYNTHETIC_ERROR:
                hint = "fastapi.HTTPException"
            else:
                qualified = imports.resolve(callee)
                if is_http_exception(qualified):
                    hint = qualified
        elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
            qualified = imports.resolve(node.value.func)
            if qualified in ABORT_CALLS:
                hint = qualified
        if hint is not None:
            raw = lines[node.lineno - 1] if node.lineno <= len(lines) else ""
            column = len(raw.encode("utf-8")[: node.col_offset].decode("utf-8", errors="ignore"))
            return node.lineno, column, hint
    return None


# --- where the mapping goes -----------------------------------------------------


@dataclass(frozen=True)
class Mapping:
    kind: str  # fastapi-app | flask-app | drf-settings | router
    relative: str | None = None  # the app module / settings module


def choose_mapping(project: ProjectView, changes: ChangeSet, framework: str, router_relative: str) -> Mapping:
    index = project.index
    if framework in ("fastapi", "starlette"):
        apps = [rel for rel, s in index.summaries.items() if any(d.kind == "FastAPI" for d in s.routers.values())]
        chosen = _app_for(project, apps, router_relative)
        return Mapping("fastapi-app", chosen) if chosen else Mapping("router")
    if framework == "flask":
        apps = [rel for rel, s in index.summaries.items() if any(d.kind == "Flask" for d in s.routers.values())]
        chosen = _app_for(project, apps, router_relative)
        return Mapping("flask-app", chosen) if chosen else Mapping("router")
    if framework == "drf":
        settings = _django_settings(project, changes)
        if settings is not None:
            text = changes.text(settings) or ""
            configured = re.search(r"[\"']EXCEPTION_HANDLER[\"']\s*:\s*[\"']([\w.]+)[\"']", text)
            if configured is None or configured.group(1).endswith(f".{DRF_HANDLER_NAME}"):
                return Mapping("drf-settings", settings)
        return Mapping("router")
    return Mapping("router")


def _app_for(project: ProjectView, apps: list[str], router_relative: str) -> str | None:
    if len(apps) == 1:
        return apps[0]
    index = project.index
    router_module = index.summaries[router_relative].module if router_relative in index.summaries else module_of(router_relative)
    importers = index.importers_of(router_module)
    linked = [rel for rel in apps if index.summaries[rel].module in importers or rel == router_relative]
    return linked[0] if len(linked) == 1 else None


def _django_settings(project: ProjectView, changes: ChangeSet) -> str | None:
    for relative in sorted(project.index.summaries):
        if project.index.layer_of(relative) in ("test", "migration"):
            continue
        text = changes.text(relative) or ""
        if re.search(r"^INSTALLED_APPS\s*=", text, re.MULTILINE) and "rest_framework" in text:
            return relative
    return None


def register_mapping(
    project: ProjectView, changes: ChangeSet, mapping: Mapping, state: ErrorsState
) -> None:
    """Add the app-wide mapping of ``DomainError`` (no-op when present)."""
    base = ImportSpec(state.module, BASE_CLASS)
    if mapping.kind == "fastapi-app":
        assert mapping.relative is not None
        _apply(changes, mapping.relative, RegisterFastAPIHandler(CodemodContext(), base, module_of(mapping.relative), project.first_party))
    elif mapping.kind == "flask-app":
        assert mapping.relative is not None
        _apply(changes, mapping.relative, RegisterFlaskHandler(CodemodContext(), base, module_of(mapping.relative), project.first_party))
    elif mapping.kind == "drf-settings":
        assert mapping.relative is not None
        folder = mapping.relative.rsplit("/", 1)[0] if "/" in mapping.relative else ""
        handlers_relative = f"{folder}/exception_handlers.py" if folder else "exception_handlers.py"
        handlers_module = module_of(handlers_relative)
        existing = changes.text(handlers_relative)
        if existing is None:
            existing = '"""How the API answers exceptions: domain errors carry their status code and detail."""\n\nfrom __future__ import annotations\n'
        _apply_text(changes, handlers_relative, existing, AddDrfHandler(CodemodContext(), base, handlers_module, project.first_party))
        _apply(changes, mapping.relative, ConfigureDrfHandler(CodemodContext(), f"{handlers_module}.{DRF_HANDLER_NAME}"))


def _apply(changes: ChangeSet, relative: str, codemod: Codemod) -> None:
    text = changes.text(relative)
    if text is None:
        raise Refuse(f"cannot read {relative}")
    _apply_text(changes, relative, text, codemod)


def _apply_text(changes: ChangeSet, relative: str, text: str, codemod: Codemod) -> None:
    try:
        new_text = run_transform(codemod, text)
    except Refuse as refusal:
        if refusal.reason == _ALREADY:
            if changes.text(relative) is None:
                changes.set(relative, text)
            return
        raise
    changes.set(relative, new_text)


_ALREADY = "the mapping is already registered"


def _registered(tree: cst.Module, base_local: str, method: str) -> bool:
    code = tree.code
    return re.search(rf"\.{method}\(\s*{re.escape(base_local)}\b", code) is not None


def _insert_after_imports(tree: cst.Module, statements: list[cst.BaseStatement]) -> cst.Module:
    body = list(tree.body)
    position = 0
    for index, statement in enumerate(body):
        if isinstance(statement, cst.SimpleStatementLine) and all(isinstance(s, (cst.Import, cst.ImportFrom)) for s in statement.body):
            position = index + 1
        elif index == 0 and isinstance(statement, cst.SimpleStatementLine) and isinstance(statement.body[0], cst.Expr):
            position = 1
    return tree.with_changes(body=[*body[:position], *statements, *body[position:]])


class RegisterFastAPIHandler(Codemod):
    """``@app.exception_handler(DomainError)`` answering ``{"detail": ...}``
    with the error's status code, as FastAPI does for ``HTTPException``."""

    DESCRIPTION = "Map domain errors to HTTP responses in the FastAPI app."

    def __init__(self, context: CodemodContext, base: ImportSpec, current_module: str, first_party: frozenset[str] = frozenset()) -> None:
        super().__init__(context)
        self.base = base
        self.current_module = current_module
        self.first_party = first_party

    def transform_module_impl(self, tree: cst.Module) -> cst.Module:
        python = parse_python(tree.code)
        imports = ImportMap.from_tree(python, self.current_module) if python else ImportMap()
        app = next((name for name, factory in imports.router_objects.items() if factory == "fastapi.FastAPI"), None)
        if app is None:
            raise SkipFile("no FastAPI app object at module level")
        tree, renames = ensure_imports(tree, [self.base], self.current_module, self.first_party)
        base = renames.get(self.base.local, self.base.local)
        if _registered(tree, base, "exception_handler") or _registered(tree, base, "add_exception_handler"):
            raise Refuse(_ALREADY)
        tree, renames = ensure_imports(
            tree, [ImportSpec("fastapi", "Request"), ImportSpec("fastapi.responses", "JSONResponse")], self.current_module, self.first_party
        )
        request, response = renames.get("Request", "Request"), renames.get("JSONResponse", "JSONResponse")
        handler = cst.parse_statement(
            f"@{app}.exception_handler({base})\n"
            f"async def {HANDLER_NAME}(request: {request}, error: {base}) -> {response}:\n"
            f'    """Answer a domain error with its status code and detail, as FastAPI answers an HTTPException."""\n'
            f'    return {response}(status_code=error.status_code, content={{"detail": error.detail}})\n'
        )
        handler = handler.with_changes(leading_lines=[cst.EmptyLine(), cst.EmptyLine()])
        return tree.with_changes(body=[*tree.body, handler])


class RegisterFlaskHandler(Codemod):
    """``app.register_error_handler(DomainError, handle_domain_error)`` in the
    app factory (or after a module-level app), the handler answering with the
    werkzeug error ``abort(status, description=detail)`` raises."""

    DESCRIPTION = "Map domain errors to HTTP errors in the Flask app."

    def __init__(self, context: CodemodContext, base: ImportSpec, current_module: str, first_party: frozenset[str] = frozenset()) -> None:
        super().__init__(context)
        self.base = base
        self.current_module = current_module
        self.first_party = first_party

    def transform_module_impl(self, tree: cst.Module) -> cst.Module:
        tree, renames = ensure_imports(tree, [self.base], self.current_module, self.first_party)
        base = renames.get(self.base.local, self.base.local)
        if _registered(tree, base, "register_error_handler") or _registered(tree, base, "errorhandler"):
            raise Refuse(_ALREADY)
        python = parse_python(tree.code)
        if python is None:
            raise SkipFile("the app module does not parse")
        imports = ImportMap.from_tree(python, self.current_module)
        factory, app = _flask_app(python, imports)
        if app is None:
            raise SkipFile("no Flask app object found")
        tree, renames = ensure_imports(
            tree,
            [
                ImportSpec("flask", "current_app"),
                ImportSpec("flask.typing", "ResponseReturnValue"),
                ImportSpec("werkzeug.exceptions", "InternalServerError"),
                ImportSpec("werkzeug.exceptions", "default_exceptions"),
            ],
            self.current_module,
            self.first_party,
        )
        current_app = renames.get("current_app", "current_app")
        returns = renames.get("ResponseReturnValue", "ResponseReturnValue")
        fallback = renames.get("InternalServerError", "InternalServerError")
        table = renames.get("default_exceptions", "default_exceptions")
        handler = cst.parse_statement(
            f"def {HANDLER_NAME}(error: {base}) -> {returns}:\n"
            f'    """Answer a domain error with the HTTP error ``abort(status, description=detail)``\n'
            f'    raises, through the app\'s own error handlers."""\n'
            f"    http_error = {table}.get(error.status_code, {fallback})(description=error.detail)\n"
            f"    return {current_app}.handle_http_exception(http_error)\n"
        )
        registration = cst.parse_statement(f"{app}.register_error_handler({base}, {HANDLER_NAME})\n")
        body = list(tree.body)
        if factory is None:
            handler = handler.with_changes(leading_lines=[cst.EmptyLine(), cst.EmptyLine()])
            return tree.with_changes(body=[*body, handler, registration.with_changes(leading_lines=[cst.EmptyLine()])])
        index = next(i for i, s in enumerate(body) if isinstance(s, cst.FunctionDef) and s.name.value == factory)
        function = body[index]
        assert isinstance(function, cst.FunctionDef) and isinstance(function.body, cst.IndentedBlock)
        inner = list(function.body.body)
        position = next(
            (
                i
                for i in range(len(inner) - 1, -1, -1)
                if isinstance(inner[i], cst.SimpleStatementLine)
                and isinstance(inner[i].body[0], cst.Return)  # type: ignore[union-attr]
            ),
            len(inner),
        )
        inner.insert(position, registration)
        body[index] = function.with_changes(body=function.body.with_changes(body=inner))
        leading = function.leading_lines
        body.insert(index, handler.with_changes(leading_lines=leading))
        body[index + 1] = body[index + 1].with_changes(leading_lines=[cst.EmptyLine(), cst.EmptyLine()])
        return tree.with_changes(body=body)


def _flask_app(tree: ast.Module, imports: ImportMap) -> tuple[str | None, str | None]:
    """(factory function or None, the app variable) where ``Flask(...)`` is built."""
    for name, factory in imports.router_objects.items():
        if factory == "flask.Flask":
            return None, name
    for statement in tree.body:
        if not isinstance(statement, ast.FunctionDef):
            continue
        for node in statement.body:
            if (
                isinstance(node, ast.Assign)
                and isinstance(node.value, ast.Call)
                and imports.resolve(node.value.func) == "flask.Flask"
                and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name)
            ):
                return statement.name, node.targets[0].id
    return None, None


class AddDrfHandler(Codemod):
    """The DRF exception handler answering domain errors."""

    DESCRIPTION = "Add a DRF exception handler for domain errors."

    def __init__(self, context: CodemodContext, base: ImportSpec, current_module: str, first_party: frozenset[str] = frozenset()) -> None:
        super().__init__(context)
        self.base = base
        self.current_module = current_module
        self.first_party = first_party

    def transform_module_impl(self, tree: cst.Module) -> cst.Module:
        if any(isinstance(s, cst.FunctionDef) and s.name.value == DRF_HANDLER_NAME for s in tree.body):
            raise Refuse(_ALREADY)
        tree, renames = ensure_imports(
            tree,
            [
                self.base,
                ImportSpec("typing", "Any"),
                ImportSpec("rest_framework.response", "Response"),
                ImportSpec("rest_framework.views", "exception_handler"),
                ImportSpec("rest_framework.views", "set_rollback"),
            ],
            self.current_module,
            self.first_party,
        )
        name = lambda local: renames.get(local, local)
        handler = cst.parse_statement(
            f"def {DRF_HANDLER_NAME}(exc: Exception, context: dict[str, {name('Any')}]) -> {name('Response')} | None:\n"
            f'    """DRF\'s exception handler, plus domain errors answered with their status code\n'
            f'    and detail (the body DRF gives its own API exceptions)."""\n'
            f"    if isinstance(exc, {name(self.base.local)}):\n"
            f"        {name('set_rollback')}()\n"
            f'        return {name("Response")}({{"detail": exc.detail}}, status=exc.status_code)\n'
            f"    return {name('exception_handler')}(exc, context)\n"
        )
        return tree.with_changes(body=[*tree.body, handler.with_changes(leading_lines=[cst.EmptyLine(), cst.EmptyLine()])])


class ConfigureDrfHandler(Codemod):
    """``REST_FRAMEWORK["EXCEPTION_HANDLER"]`` pointing at the handler."""

    DESCRIPTION = "Configure DRF's exception handler."

    def __init__(self, context: CodemodContext, dotted: str) -> None:
        super().__init__(context)
        self.dotted = dotted

    def transform_module_impl(self, tree: cst.Module) -> cst.Module:
        if self.dotted in tree.code:
            raise Refuse(_ALREADY)
        body = list(tree.body)
        for index, statement in enumerate(body):
            if not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
                continue
            small = statement.body[0]
            if not (isinstance(small, cst.Assign) and len(small.targets) == 1 and isinstance(small.targets[0].target, cst.Name)):
                continue
            if small.targets[0].target.value != "REST_FRAMEWORK":
                continue
            if not isinstance(small.value, cst.Dict):
                raise SkipFile("REST_FRAMEWORK is not a dict literal")
            elements = list(small.value.elements)
            entry = cst.DictElement(cst.SimpleString('"EXCEPTION_HANDLER"'), cst.SimpleString(f'"{self.dotted}"'))
            if elements:
                last = elements[-1]
                if isinstance(last.comma, cst.Comma):
                    # A trailing comma: the new entry takes the last place, laid out like the others.
                    previous = elements[-2].comma if len(elements) > 1 else None
                    separator = previous if isinstance(previous, cst.Comma) else last.comma
                    elements[-1] = last.with_changes(comma=separator)
                    entry = entry.with_changes(comma=last.comma)
                else:
                    elements[-1] = last.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
            elements.append(entry)
            body[index] = statement.with_changes(body=[small.with_changes(value=small.value.with_changes(elements=elements))])
            return tree.with_changes(body=body)
        addition = cst.parse_statement(f'REST_FRAMEWORK = {{"EXCEPTION_HANDLER": "{self.dotted}"}}\n')
        return tree.with_changes(body=[*body, addition.with_changes(leading_lines=[cst.EmptyLine()])])


def router_catch(framework: str, statuses: set[int | None], base_local: str, names: dict[str, str]) -> str:
    """The ``except`` body that answers a domain error in the router as the
    moved code did (``names`` maps helper names to their local names)."""
    if framework in ("fastapi", "starlette"):
        return f"raise {names['HTTPException']}(status_code=error.status_code, detail=error.detail) from error"
    if framework == "flask":
        return f"{names['abort']}(error.status_code, description=error.detail)"
    if framework == "drf":
        return f'return {names["Response"]}({{"detail": error.detail}}, status=error.status_code)'
    if statuses <= {404}:
        return f"raise {names['Http404']}(error.detail) from error"
    if statuses <= {403}:
        return f"raise {names['PermissionDenied']}(error.detail) from error"
    raise Refuse("a plain Django view can only map 404/403 errors back; this one raises others")


def router_catch_imports(framework: str, statuses: set[int | None]) -> list[ImportSpec]:
    if framework in ("fastapi", "starlette"):
        return [ImportSpec("fastapi", "HTTPException")]
    if framework == "flask":
        return [ImportSpec("flask", "abort")]
    if framework == "drf":
        return [ImportSpec("rest_framework.response", "Response")]
    if statuses <= {404}:
        return [ImportSpec("django.http", "Http404")]
    return [ImportSpec("django.core.exceptions", "PermissionDenied")]


def dotted(expr: ast.AST) -> str | None:
    return dotted_name(expr)
