"""SG104 quick fix: raise a domain exception from the project's errors module
instead of an HTTP exception in service or repository code.

``raise HTTPException(status_code=404, detail="Item not found")`` becomes
``raise NotFoundError("Item not found")``, imported from the errors module.
The class follows the status: 400 ``BadRequestError``, 401
``UnauthorizedError``, 403 ``ForbiddenError``, 404 ``NotFoundError``, 409
``ConflictError``, 422 ``InvalidInputError``; any other (or a status only
known at run time) raises the base ``DomainError(detail, status_code=…)``.
Also handled: Flask/werkzeug ``abort(404, …)`` and exception classes, Django
``Http404``/``PermissionDenied``, DRF and aiohttp HTTP exceptions.

The errors module is the one the workspace index knows (the
``errors_module`` argument or the finding's data), else ``<package>/errors.py``
next to the layer package (``app/services/items.py`` → ``app/errors.py``),
created with a ``DomainError(Exception)`` base that carries ``status_code``
and ``detail``. A missing subclass is appended; an existing one (by name, or a
class of the module with that ``status_code``) is reused, never duplicated.

Not done here: the router-side mapping — one exception handler that turns a
``DomainError`` into an HTTP response (``app.add_exception_handler`` in
FastAPI, ``errorhandler`` in Flask, DRF's ``EXCEPTION_HANDLER``). It is part of
the extract-to-service refactor; until then the raised error is a 500 unless
the project already maps it. That, and editing or creating a second file,
is why this fix is never marked safe.
"""

from __future__ import annotations

import ast
import http
import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import libcst as cst
from libcst.codemod import SkipFile

from ..analysis.engine import module_name
from ..analysis.semantics import ImportMap
from ..rules._layering import status_of_class
from ..rules.base import Finding
from ..rules.sg104_http_error_outside_router import (
    ABORT_CALLS,
    STATUS_FIRST,
    is_http_exception,
)
from .edits import (
    FileEdit,
    Fix,
    Located,
    StatementCodemod,
    add_from_import,
    imported_name,
    module_bindings,
    new_context,
    parses,
    remove_unused_imports,
    run_codemod,
    split_lines,
    text_edits,
)

log = logging.getLogger(__name__)

CLASS_BY_STATUS = {
    400: "BadRequestError",
    401: "UnauthorizedError",
    403: "ForbiddenError",
    404: "NotFoundError",
    409: "ConflictError",
    422: "InvalidInputError",
}
DEFAULT_DETAIL = {
    400: "Bad request",
    401: "Not authenticated",
    403: "Forbidden",
    404: "Not found",
    409: "Conflict",
    422: "Invalid input",
}
BASE_CLASS = "DomainError"
# Folders that hold one layer: the errors module goes next to them.
LAYER_FOLDERS = frozenset(
    {"services", "service", "repositories", "repository", "repos", "crud", "dao", "use_cases", "usecases", "domain", "routers", "routes", "api", "endpoints"}
)
MAX_ERRORS_MODULE_BYTES = 1_000_000



@dataclass(frozen=True)
class _Signature:
    """How an HTTP exception (or abort function) takes its status and detail."""

    status: int | None  # fixed by the class (404 for NotFound); None: passed in
    takes_status: bool  # the first positional / status_code= argument is the status
    detail_keywords: tuple[str, ...]
    detail_position: int | None


def _signature(qualified: str) -> _Signature | None:
    """Same classes as the SG104 rule (``is_http_exception``)."""
    if qualified in ABORT_CALLS:
        return _Signature(None, True, ("description",), 1)
    if not is_http_exception(qualified) or qualified == "fastapi.exceptions.RequestValidationError":
        return None
    if qualified in STATUS_FIRST:
        return _Signature(None, True, ("detail",), 1)
    status = 404 if qualified == "django.http.Http404" else status_of_class(qualified)
    if qualified.startswith("aiohttp."):
        return _Signature(status, False, ("text", "reason"), None)
    if qualified.startswith("werkzeug."):
        return _Signature(status, False, ("description",), 0)
    return _Signature(status, False, ("detail",), 0)


def domain_exception_fix(
    finding: Finding, source_text: str, *, project_root: str | None = None, errors_module: str | None = None
) -> Fix | None:
    data: Mapping[str, Any] = finding.data or {}
    what = f"{finding.code} at {finding.relative or finding.path}:{finding.line}"
    root = _project_root(finding, project_root)
    relative = _relative_of(finding, root)
    configured = errors_module or data.get("errors_module") or _imported_errors_module(source_text, relative, root)
    target = _errors_target(configured, relative)
    if target is None:
        log.info("%s: no fix: cannot place an errors module for %s", what, relative)
        return None
    errors_relative, errors_module_name = target
    errors_path = os.path.join(root, *errors_relative.split("/"))
    if os.path.normpath(errors_path) == os.path.normpath(finding.path):
        log.info("%s: no fix: the finding is in the errors module itself", what)
        return None
    existing_text = _read(errors_path)
    if existing_text is False:
        log.info("%s: no fix: cannot read %s", what, errors_path)
        return None
    errors = ErrorsModule.parse(existing_text if isinstance(existing_text, str) else None)
    if errors is None:
        log.info("%s: no fix: %s does not parse", what, errors_relative)
        return None

    codemod = RaiseDomainError(
        new_context(finding.path),
        source_text=source_text,
        line=finding.line,
        column=finding.column,
        hint_exception=str(data.get("exception") or ""),
        hint_status=data.get("status_code") if isinstance(data.get("status_code"), int) else None,
        errors=errors,
        errors_module=errors_module_name,
        current_module=module_name(relative),
    )
    new_source = run_codemod(codemod, source_text, what)
    if new_source is None or codemod.plan is None or not parses(new_source):
        return None
    plan = codemod.plan
    file_edits = [FileEdit(path=finding.path, edits=text_edits(source_text, new_source))]
    new_errors_text = errors.with_classes(plan.classes_to_add)
    if not isinstance(existing_text, str):
        file_edits.append(FileEdit(path=errors_path, create=True, new_text=new_errors_text))
    elif new_errors_text != existing_text:
        file_edits.append(FileEdit(path=errors_path, edits=text_edits(existing_text, new_errors_text)))
    # The diagnostic's title is what the client listed before resolving the action.
    title = finding.fix_title or f"Raise {plan.class_name} from {errors_module_name} instead of {plan.raised}"
    return Fix(title=title, code=finding.code, edits=tuple(file_edits), safe=False)


def _project_root(finding: Finding, project_root: str | None) -> str:
    if project_root:
        return project_root
    path = finding.path.replace(os.sep, "/")
    relative = finding.relative.replace(os.sep, "/")
    if relative and path.endswith("/" + relative):
        return finding.path[: len(finding.path) - len(relative) - 1] or "/"
    return os.path.dirname(finding.path)


def _relative_of(finding: Finding, root: str) -> str:
    try:
        return Path(finding.path).resolve().relative_to(Path(root).resolve()).as_posix()
    except (ValueError, OSError):
        return finding.relative.replace(os.sep, "/") or os.path.basename(finding.path)


def _errors_target(configured: object, relative: str) -> tuple[str, str] | None:
    """(relative path, module name) of the errors module."""
    if isinstance(configured, str) and configured.strip():
        value = configured.strip().replace(os.sep, "/")
        if not value.endswith(".py"):
            value = value.replace(".", "/") + ".py" if "/" not in value else value + ".py"
        if value.startswith("/") or ".." in value.split("/"):
            return None
        return value, module_name(value)
    parts = relative.split("/")[:-1]
    layer_index = max((i for i, part in enumerate(parts) if part in LAYER_FOLDERS), default=None)
    folder = parts[:layer_index] if layer_index is not None else parts
    errors_relative = "/".join([*folder, "errors.py"])
    name = module_name(errors_relative)
    return (errors_relative, name) if name else None


def _imported_errors_module(source_text: str, relative: str, root: str) -> str | None:
    """The relative path of a project ``errors``/``exceptions`` module this
    file already imports from (``from shop.errors import OutOfStock``)."""
    try:
        tree = ast.parse(source_text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    imports = ImportMap.from_tree(tree, module_name(relative))
    top = module_name(relative).split(".", 1)[0]
    modules = {qualified.rsplit(".", 1)[0] for qualified in imports.names.values() if "." in qualified}
    for module in sorted(modules):
        parts = module.split(".")
        if parts[-1] not in ("errors", "exceptions") or parts[0] != top:
            continue
        candidates = [f"{'/'.join(parts)}.py", f"{'/'.join(parts)}/__init__.py"]
        candidates += [f"src/{c}" for c in candidates]
        for candidate in candidates:
            if os.path.isfile(os.path.join(root, *candidate.split("/"))):
                return candidate
        return candidates[0]
    return None


def _read(path: str) -> str | None | bool:
    """The file's text, None when it does not exist, False when unreadable."""
    try:
        if not os.path.exists(path):
            return None
        if os.path.getsize(path) > MAX_ERRORS_MODULE_BYTES:
            return False
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except (OSError, UnicodeDecodeError):
        return False


# --- the errors module --------------------------------------------------------


@dataclass
class _ClassInfo:
    name: str
    bases: list[str]
    status_code: int | None
    init: ast.FunctionDef | None


@dataclass
class ErrorsModule:
    text: str | None  # None: the module does not exist yet
    classes: dict[str, _ClassInfo]

    @classmethod
    def parse(cls, text: str | None) -> ErrorsModule | None:
        if text is None:
            return cls(None, {})
        try:
            tree = ast.parse(text)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return None
        classes: dict[str, _ClassInfo] = {}
        for statement in tree.body:
            if not isinstance(statement, ast.ClassDef):
                continue
            status: int | None = None
            init: ast.FunctionDef | None = None
            for item in statement.body:
                if isinstance(item, (ast.Assign, ast.AnnAssign)):
                    targets = item.targets if isinstance(item, ast.Assign) else [item.target]
                    if any(isinstance(t, ast.Name) and t.id == "status_code" for t in targets) and item.value is not None:
                        status = _status_of_ast(item.value)
                elif isinstance(item, ast.FunctionDef) and item.name == "__init__":
                    init = item
            bases = [b.id if isinstance(b, ast.Name) else ast.unparse(b) for b in statement.bases]
            classes[statement.name] = _ClassInfo(statement.name, bases, status, init)
        return cls(text, classes)

    def chain(self, name: str) -> list[_ClassInfo] | None:
        """The class and its in-module bases up to ``Exception``; None when the
        chain leaves the module (a base we cannot read)."""
        found: list[_ClassInfo] = []
        current = name
        while current not in ("Exception", "BaseException"):
            info = self.classes.get(current)
            if info is None or len(info.bases) != 1 or len(found) > 20:
                return None
            found.append(info)
            current = info.bases[0]
        return found

    def accepts(self, name: str, *, detail: bool, status_code: bool) -> bool:
        """Whether ``Name(detail, status_code=…)`` (as needed) constructs it."""
        chain = self.chain(name)
        if chain is None:
            return False
        init = next((c.init for c in chain if c.init is not None), None)
        if init is None:  # Exception.__init__ takes any positional arguments
            return not status_code
        args = init.args
        positional = [a.arg for a in [*args.posonlyargs, *args.args]][1:]
        required = len(positional) - len(args.defaults)
        if required > (1 if detail else 0):
            return False
        if any(d is None for d in args.kw_defaults):  # required keyword-only arguments
            return False
        if detail and not positional and args.vararg is None:
            return False
        if status_code:
            names = set(positional) | {a.arg for a in args.kwonlyargs}
            return "status_code" in names or args.kwarg is not None
        return True

    def class_for(self, status: int | None) -> str | None:
        """An existing class for ``status``: by conventional name, else one
        of the module's classes that sets that ``status_code``."""
        wanted = CLASS_BY_STATUS.get(status) if status is not None else BASE_CLASS
        if wanted in self.classes:
            return wanted
        if status is not None:
            for info in self.classes.values():
                if info.status_code == status and self.chain(info.name) is not None:
                    return info.name
        return None

    def with_classes(self, names: list[str]) -> str:
        """The module text with the named classes (from CLASS_BY_STATUS or the
        base) appended; the new module's full text when it does not exist."""
        blocks = [_class_source(name, in_new_module=self.text is None, has_future=self._has_future()) for name in names]
        if self.text is None:
            header = (
                '"""Domain errors raised by services and repositories.\n\n'
                "Business code raises these instead of HTTP exceptions; the web layer maps\n"
                "each one to a response (status_code, detail) in one exception handler.\n"
                '"""\n\nfrom __future__ import annotations\n'
            )
            return header + "".join(f"\n\n{block}" for block in blocks)
        if not blocks:
            return self.text
        text = self.text
        if text and not text.endswith("\n"):
            text += "\n"
        separator = "\n\n" if text.strip() else ""
        return text + separator + "\n\n".join(blocks)

    def _has_future(self) -> bool:
        return self.text is not None and re.search(r"^from __future__ import[^\n]*\bannotations\b", self.text, re.MULTILINE) is not None


def _class_source(name: str, *, in_new_module: bool, has_future: bool) -> str:
    if name == BASE_CLASS:
        optional_str = "str | None" if in_new_module or has_future else '"str | None"'
        optional_int = "int | None" if in_new_module or has_future else '"int | None"'
        return (
            f"class {BASE_CLASS}(Exception):\n"
            '    """Base of the errors the business layer raises on purpose. The web layer\n'
            '    turns one into a response with this status code and detail."""\n'
            "\n"
            "    status_code: int = 400\n"
            '    detail: str = "Request failed"\n'
            "\n"
            f"    def __init__(self, detail: {optional_str} = None, *, status_code: {optional_int} = None) -> None:\n"
            "        if detail is not None:\n"
            "            self.detail = detail\n"
            "        if status_code is not None:\n"
            "            self.status_code = status_code\n"
            "        super().__init__(self.detail)\n"
        )
    status = next(code for code, class_name in CLASS_BY_STATUS.items() if class_name == name)
    return (
        f"class {name}({BASE_CLASS}):\n"
        f"    status_code = {status}\n"
        f'    detail = "{DEFAULT_DETAIL[status]}"\n'
    )


def _status_of_ast(node: ast.expr) -> int | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, int) and not isinstance(node.value, bool):
        return node.value
    if isinstance(node, (ast.Attribute, ast.Name)):
        return _status_of_name(node.attr if isinstance(node, ast.Attribute) else node.id)
    return None


def _status_of_name(name: str) -> int | None:
    """``HTTP_404_NOT_FOUND`` (fastapi/starlette/DRF ``status``) or
    ``NOT_FOUND`` (``http.HTTPStatus``) → 404."""
    match = re.match(r"HTTP_(\d{3})(?:_|$)", name)
    if match:
        return int(match.group(1))
    member = http.HTTPStatus.__members__.get(name)
    return member.value if member is not None else None


# --- the codemod ----------------------------------------------------------------


@dataclass
class _Plan:
    class_name: str
    raised: str  # what was raised, for the title
    classes_to_add: list[str]


class RaiseDomainError(StatementCodemod):
    """Replace the HTTP exception raised at the finding's position with a domain error."""

    DESCRIPTION = "Raise a domain exception instead of an HTTP exception."

    def __init__(
        self,
        context,
        *,
        source_text: str,
        line: int,
        column: int,
        hint_exception: str,
        hint_status: int | None,
        errors: ErrorsModule,
        errors_module: str,
        current_module: str,
    ) -> None:
        super().__init__(context, source_text)
        self.line = line
        self.column = column
        self.hint_exception = hint_exception
        self.hint_status = hint_status
        self.errors = errors
        self.errors_module = errors_module
        self.current_module = current_module
        self.plan: _Plan | None = None

    def transform_module_impl(self, tree: cst.Module) -> cst.Module:
        located = self.locate(tree, self.line)
        statement, call = self._target(located)
        python_tree = self.python_tree or ast.Module(body=[], type_ignores=[])
        imports = ImportMap.from_tree(python_tree, self.current_module)
        qualified = _qualified(call.func if isinstance(call, cst.Call) else call, imports) or self.hint_exception
        signature = _signature(qualified)
        if signature is None:
            raise SkipFile(f"{qualified or 'the raised exception'} is not an HTTP exception this fix knows")
        args = list(call.args) if isinstance(call, cst.Call) else []
        status_expr, detail_expr = self._arguments(signature, args)
        status = signature.status
        if status_expr is not None:
            status = _status_of_cst(status_expr)
        elif status is None:
            status = self.hint_status
        if status is None and status_expr is None:
            raise SkipFile("the status code is missing")
        class_name = CLASS_BY_STATUS.get(status) if status is not None else None
        needs_status_argument = class_name is None
        wanted = class_name or BASE_CLASS
        existing = self.errors.class_for(status if class_name else None)
        classes_to_add: list[str] = []
        if existing is not None:
            wanted = existing
            if not self.errors.accepts(existing, detail=detail_expr is not None, status_code=needs_status_argument):
                raise SkipFile(f"{existing} in {self.errors_module} takes different constructor arguments")
        else:
            if BASE_CLASS in self.errors.classes:
                if not self.errors.accepts(BASE_CLASS, detail=detail_expr is not None, status_code=needs_status_argument):
                    raise SkipFile(f"{BASE_CLASS} in {self.errors_module} takes different constructor arguments")
            else:
                classes_to_add.append(BASE_CLASS)
            if wanted != BASE_CLASS:
                classes_to_add.append(wanted)

        local = imported_name(tree, self.errors_module, wanted, self.current_module)
        if local is None and wanted in module_bindings(tree):
            raise SkipFile(f"{wanted} already names something else in this module")
        name = local or wanted
        new_args: list[cst.Arg] = []
        if detail_expr is not None:
            new_args.append(cst.Arg(detail_expr))
        if needs_status_argument:
            assert status_expr is not None or status is not None
            value = status_expr if status_expr is not None else cst.Integer(str(status))
            new_args.append(
                cst.Arg(value, keyword=cst.Name("status_code"), equal=cst.AssignEqual(cst.SimpleWhitespace(""), cst.SimpleWhitespace("")))
            )
        new_args = [
            arg.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))) if index < len(new_args) - 1 else arg
            for index, arg in enumerate(new_args)
        ]
        exception = cst.Call(func=cst.Name(name), args=new_args)
        if isinstance(statement, cst.Raise):
            replacement: cst.BaseSmallStatement = statement.with_changes(exc=exception)
        else:
            replacement = cst.Raise(exc=exception)
        updated = located.replace(tree, statement, replacement)
        # Imports only the old statement used (HTTPException, status) go.
        dropped = _names_in(statement) - _names_in(replacement)
        span = (located.start(statement), located.end(statement))
        updated = remove_unused_imports(updated, dropped, lambda name: _used_outside(python_tree, self.source_text, name, span))
        if local is None:
            updated = add_from_import(updated, self.errors_module, wanted, self.current_module)
        self.plan = _Plan(wanted, qualified.rsplit(".", 1)[-1], classes_to_add)
        return updated  # type: ignore[return-value]

    def _target(self, located: Located) -> tuple[cst.BaseSmallStatement, cst.BaseExpression]:
        """The ``raise X(...)`` (or bare ``abort(...)`` statement) at the
        finding's position, and the raised call."""
        best: tuple[int, cst.BaseSmallStatement, cst.BaseExpression] | None = None
        for node in located.positions:
            if isinstance(node, cst.Raise) and isinstance(node.exc, (cst.Call, cst.Name, cst.Attribute)):
                expression: cst.BaseExpression = node.exc
                rank = 0
            elif isinstance(node, cst.Expr) and isinstance(node.value, cst.Call) and _callee_name(node.value) == "abort":
                expression = node.value
                rank = 1
            else:
                continue
            start, end = located.start(node), located.end(node)
            if not (start <= (self.line, self.column) <= end) and start[0] != self.line:
                continue
            size = (end[0] - start[0]) * 10_000 + (end[1] - start[1])
            key = rank * 10**9 + size
            if best is None or key < best[0]:
                best = (key, node, expression)  # type: ignore[assignment]
        if best is None:
            raise SkipFile(f"no raise statement at line {self.line}")
        return best[1], best[2]

    def _arguments(
        self, signature: _Signature, args: list[cst.Arg]
    ) -> tuple[cst.BaseExpression | None, cst.BaseExpression | None]:
        status_expr: cst.BaseExpression | None = None
        detail_expr: cst.BaseExpression | None = None
        position = 0
        for arg in args:
            if arg.star:
                raise SkipFile("*args/**kwargs in the raised exception")
            if arg.keyword is not None:
                keyword = arg.keyword.value
                if keyword in ("status_code", "code") and signature.takes_status:
                    status_expr = arg.value
                elif keyword in signature.detail_keywords:
                    detail_expr = detail_expr or arg.value
                else:
                    raise SkipFile(f"the exception passes {keyword}=, which a domain error does not carry")
                continue
            if signature.takes_status and position == 0:
                status_expr = arg.value
            elif position == signature.detail_position:
                detail_expr = arg.value
            else:
                raise SkipFile("the exception passes more positional arguments than status and detail")
            position += 1
        return status_expr, detail_expr


def _status_of_cst(node: cst.BaseExpression) -> int | None:
    if isinstance(node, cst.Integer):
        try:
            return int(node.value, 0)
        except ValueError:
            return None
    if isinstance(node, cst.Attribute):
        return _status_of_name(node.attr.value)
    if isinstance(node, cst.Name):
        return _status_of_name(node.value)
    return None


def _names_in(node: cst.CSTNode) -> set[str]:
    """Root names an expression or statement refers to."""
    found: set[str] = set()

    class Names(cst.CSTVisitor):
        def visit_Name(self, name: cst.Name) -> None:
            found.add(name.value)

        def visit_Attribute(self, attribute: cst.Attribute) -> bool:
            attribute.value.visit(self)
            return False  # `.attr` is not a name in scope

        def visit_Arg(self, arg: cst.Arg) -> bool:
            arg.value.visit(self)
            return False  # `keyword=` is not a name in scope

    node.visit(Names())
    return found


def _used_outside(tree: ast.Module, text: str, name: str, span: tuple[tuple[int, int], tuple[int, int]]) -> bool:
    """Whether ``name`` is read anywhere but inside ``span`` (line, column in
    characters) of the original text, or listed in ``__all__``."""
    lines = [line.rstrip("\r\n") for line in split_lines(text)]
    start, end = span
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id == name:
            line = node.lineno
            raw = lines[line - 1] if 0 < line <= len(lines) else ""
            column = len(raw.encode("utf-8")[: node.col_offset].decode("utf-8", errors="ignore"))
            if not (start <= (line, column) <= end):
                return True
        elif (
            isinstance(node, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets)
            and any(isinstance(c, ast.Constant) and c.value == name for c in ast.walk(node.value))
        ):
            return True
    return False


def _qualified(func: cst.BaseExpression, imports: ImportMap) -> str | None:
    try:
        expression = ast.parse(cst.Module([]).code_for_node(func).strip(), mode="eval").body
    except (SyntaxError, ValueError):
        return None
    return imports.resolve(expression)


def _callee_name(call: cst.Call) -> str:
    func = call.func
    if isinstance(func, cst.Attribute):
        return func.attr.value
    return func.value if isinstance(func, cst.Name) else ""
