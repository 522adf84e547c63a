"""Add repository method: move a query into ``<Model>Repository``, or add a
repository's standard methods.

* **Move query** (on a query expression in a router or service):
  ``session.scalar(select(User).where(User.email == email))`` becomes
  ``UserRepository(session).get_by_email(email)``. The method is named from
  the query (``get_by_email``, ``list_by_owner``, ``count``,
  ``list_active``), takes the values the query reads, threads the session
  through (``self.session``; Flask-SQLAlchemy's ``db.session`` and Django
  managers need none), and is added to the repository the project's
  conventions name (created when missing, as a class or module functions
  like its siblings). A local statement the query alone reads
  (``statement = select(User)…``) moves with it.
* **Standard methods** (on a model or its repository): one action per
  missing ``get``, ``list`` (limit/offset), ``get_by_<unique column>``,
  ``create``, ``update``, ``delete``, typed from the model's columns, for
  SQLAlchemy 2.0 (``select()``), SQLModel, Flask-SQLAlchemy and Django
  managers.

Repository methods never commit or roll back (SG105): ``create``/``update``/
``delete`` flush, so generated ids exist, and the service decides the
transaction.
"""

from __future__ import annotations

import ast
import builtins
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

import libcst as cst
from libcst.codemod import Codemod, CodemodContext, SkipFile

from ..analysis.semantics import ImportMap, db_call_kind, dotted_name
from ..analysis.summary import ColumnInfo, ModelInfo
from ..fixes.edits import Fix, locate, remove_unused_imports
from ..rules._orm import QueryReader
from ..rules._sql import Scope
from .base import (
    ChangeSet,
    ImportSpec,
    ProjectView,
    RefactorRefusal,
    Refuse,
    code_of,
    ensure_import,
    ensure_imports,
    import_bindings,
    loaded_names,
    module_of,
    new_module_text,
    parse_python,
    plural,
    rename,
    run_transform,
    snake,
)
from .conventions import ModuleTarget, detect_conventions, repository_target
from .handler_plan import function_sessions
from .inference import ANY, INT, Inference, TypeRef

log = logging.getLogger(__name__)

KIND = "refactor.rewrite.repositoryMethod"
CODE = "repository-method"
STANDARD_METHODS = ("get", "list", "get_by", "create", "update", "delete")
_TERMINAL_SHAPES = frozenset({"one", "models", "rows", "values", "result", "scalars", "queryset", "query"})
_NOT_QUERIES = frozenset({"refresh", "expunge", "flush", "merge", "add", "add_all", "delete", "commit", "rollback", "close"})
_ONE = frozenset({"first", "one", "one_or_none", "scalar", "scalar_one", "scalar_one_or_none", "get", "get_one", "latest", "earliest", "last", "afirst", "aget"})
_SA_PYTHON_TYPES = {
    "String": "str", "Text": "str", "Unicode": "str", "UnicodeText": "str", "VARCHAR": "str", "CHAR": "str",
    "Integer": "int", "BigInteger": "int", "SmallInteger": "int", "Boolean": "bool", "Float": "float",
    "Numeric": "Decimal", "DateTime": "datetime", "Date": "date", "Time": "time", "LargeBinary": "bytes",
    "Uuid": "UUID", "UUID": "UUID", "JSON": "Any", "Interval": "timedelta",
}
_DJANGO_PYTHON_TYPES = {
    "CharField": "str", "TextField": "str", "EmailField": "str", "SlugField": "str", "URLField": "str",
    "IntegerField": "int", "BigIntegerField": "int", "SmallIntegerField": "int", "PositiveIntegerField": "int",
    "PositiveSmallIntegerField": "int", "PositiveBigIntegerField": "int", "AutoField": "int", "BigAutoField": "int",
    "SmallAutoField": "int", "BooleanField": "bool", "FloatField": "float", "DecimalField": "Decimal",
    "DateTimeField": "datetime", "DateField": "date", "TimeField": "time", "DurationField": "timedelta",
    "UUIDField": "UUID", "JSONField": "Any", "BinaryField": "bytes", "GenericIPAddressField": "str",
}
_TYPE_IMPORTS = {
    "Decimal": ImportSpec("decimal", "Decimal"),
    "datetime": ImportSpec("datetime", "datetime"),
    "date": ImportSpec("datetime", "date"),
    "time": ImportSpec("datetime", "time"),
    "timedelta": ImportSpec("datetime", "timedelta"),
    "UUID": ImportSpec("uuid", "UUID"),
    "Any": ImportSpec("typing", "Any"),
}


@dataclass(frozen=True)
class StandardMethod:
    name: str  # get | list | get_by_email | create | update | delete
    model: str

    @property
    def title(self) -> str:
        return f"Add `{self.model}Repository.{self.name}`"


# --- entry points -------------------------------------------------------------------


def model_at(project: ProjectView, relative: str, line: int) -> str | None:
    """The model whose class (or whose ``<Model>Repository`` class) spans ``line``."""
    for model in project.index.models.values():
        if model.relative == relative and model.line <= line <= model.end_line:
            return model.name
    text = project.text(relative)
    tree = parse_python(text) if text is not None else None
    if tree is None:
        return None
    for statement in tree.body:
        if isinstance(statement, ast.ClassDef) and statement.lineno <= line <= (statement.end_lineno or statement.lineno):
            for suffix in ("Repository", "Repo"):
                if statement.name.endswith(suffix) and statement.name[: -len(suffix)] in project.index.models:
                    return statement.name[: -len(suffix)]
    return None


def missing_standard_methods(project: ProjectView, model_name: str) -> list[StandardMethod] | RefactorRefusal:
    model = project.index.model(model_name)
    if model is None:
        return RefactorRefusal(f"`{model_name}` is not a model the index knows")
    if model.orm not in ("sqlalchemy", "sqlmodel", "flask-sqlalchemy", "django"):
        return RefactorRefusal(f"{model.orm} models are not supported yet")
    target = repository_target(project, detect_conventions(project), model)
    existing = _existing_methods(project, target, model)
    wanted = ["get", "list", *(f"get_by_{c.name}" for c in _unique_columns(model)), "create", "update", "delete"]
    return [StandardMethod(name, model.name) for name in wanted if name not in existing]


def add_standard_method(project: ProjectView, model_name: str, method: str) -> Fix | RefactorRefusal:
    try:
        model = project.index.model(model_name)
        if model is None:
            raise Refuse(f"`{model_name}` is not a model the index knows")
        return _StandardMethodWriter(project, model).run(method)
    except Refuse as refusal:
        return RefactorRefusal(refusal.reason)
    except Exception as exc:
        log.exception("add repository method %s.%s failed", model_name, method)
        return RefactorRefusal(f"internal error: {exc!r}")


def check_query(
    project: ProjectView, relative: str, start: tuple[int, int], end: tuple[int, int] | None = None
) -> QueryPlan | RefactorRefusal:
    text = project.text(relative)
    if text is None:
        return RefactorRefusal(f"cannot read {relative}")
    try:
        return plan_query(project, relative, text, start, end or start)
    except Refuse as refusal:
        return RefactorRefusal(refusal.reason)
    except Exception as exc:
        log.exception("move query: planning %s:%s failed", relative, start)
        return RefactorRefusal(f"internal error: {exc!r}")


def move_query_to_repository(
    project: ProjectView,
    relative: str,
    start: tuple[int, int],
    end: tuple[int, int] | None = None,
    name: str | None = None,
) -> Fix | RefactorRefusal:
    """Move the query expression at ``start``–``end`` (1-based line,
    0-based character column) into a repository method."""
    text = project.text(relative)
    if text is None:
        return RefactorRefusal(f"cannot read {relative}")
    try:
        plan = plan_query(project, relative, text, start, end or start)
        if name:
            if not name.isidentifier():
                raise Refuse(f"`{name}` is not a valid method name")
            plan.method = name
        return _QueryMover(project, plan).run()
    except Refuse as refusal:
        return RefactorRefusal(refusal.reason)
    except Exception as exc:
        log.exception("move query at %s:%s failed", relative, start)
        return RefactorRefusal(f"internal error: {exc!r}")


# --- the query plan ------------------------------------------------------------------


@dataclass
class QueryPlan:
    relative: str
    module: str
    text: str
    tree: ast.Module
    imports: ImportMap
    bindings: dict[str, ImportSpec]
    func: ast.FunctionDef | ast.AsyncFunctionDef
    node: ast.expr  # what is replaced (the query, or the ``await`` of it)
    call: ast.Call
    model: ModelInfo
    session: str | None  # source of the session expression (``session``, ``self.session``)
    session_param: str | None  # the function's parameter/local holding it
    method: str
    params: list[str]
    inlined: list[ast.Assign]
    awaited: bool
    import_deps: list[str]
    # Inference context (see inference.FunctionContext).
    prologue: list[ast.stmt] = field(default_factory=list)
    is_async: bool = False

    @property
    def title(self) -> str:
        return f"Move query to `{self.model.name}Repository.{self.method}`"


def plan_query(project: ProjectView, relative: str, text: str, start: tuple[int, int], end: tuple[int, int]) -> QueryPlan:
    tree = parse_python(text)
    if tree is None:
        raise Refuse("the file does not parse")
    module = module_of(relative)
    imports = ImportMap.from_tree(tree, module)
    lines = text.splitlines()
    func = _enclosing_function(tree, start[0])
    if func is None:
        raise Refuse("there is no query inside a function here")
    bindings = import_bindings(tree, module, package=relative.endswith("__init__.py"))
    sessions = function_sessions(project, func, imports, bindings)
    models = set(project.index.models)

    def is_model(local: str) -> bool:
        return imports.names.get(local, local).rsplit(".", 1)[-1] in models

    reader = QueryReader(imports, Scope.of_function(func, Scope.of_module(tree, set(imports.names))), is_model)

    def span(node: ast.AST) -> tuple[tuple[int, int], tuple[int, int]]:
        def char(line: int, column: int) -> int:
            raw = lines[line - 1] if 0 < line <= len(lines) else ""
            return len(raw.encode("utf-8")[:column].decode("utf-8", errors="ignore"))

        return (node.lineno, char(node.lineno, node.col_offset)), (node.end_lineno or node.lineno, char(node.end_lineno or node.lineno, node.end_col_offset or 0))

    candidates: list[tuple[int, ast.expr]] = []
    for node in ast.walk(func):
        if not isinstance(node, (ast.Call, ast.Await)):
            continue
        node_start, node_end = span(node)
        if node_start <= start and end <= node_end:
            size = (node_end[0] - node_start[0]) * 100_000 + (node_end[1] - node_start[1])
            candidates.append((size, node))
    candidates.sort(key=lambda item: -item[0])
    chosen: ast.expr | None = None
    for _size, node in candidates:
        call = node.value if isinstance(node, ast.Await) else node
        if isinstance(call, ast.Call) and _is_read_query(call, sessions, imports, models, reader):
            chosen = node
            break
    if chosen is None:
        raise Refuse("there is no database query here")
    call = chosen.value if isinstance(chosen, ast.Await) else chosen
    assert isinstance(call, ast.Call)
    awaited = isinstance(chosen, ast.Await)
    if not awaited:
        parent = next((n for n in ast.walk(func) if isinstance(n, ast.Await) and n.value is call), None)
        if parent is not None:
            chosen, awaited = parent, True
    model_name = _model_of(call, reader, models, imports)
    if model_name is None:
        raise Refuse("cannot tell which model this query reads")
    model = project.index.model(model_name)
    assert model is not None
    session, session_param = _session_of(call, sessions)
    legacy_query = any(isinstance(n, ast.Attribute) and n.attr == "query" for n in ast.walk(call))
    if session is None and model.orm not in ("django", "flask-sqlalchemy") and not legacy_query:
        raise Refuse("cannot tell which session this query runs on")

    module_level = {t.id for s in tree.body if isinstance(s, (ast.Assign, ast.AnnAssign)) for t in ast.walk(s) if isinstance(t, ast.Name)}
    module_level |= {s.name for s in tree.body if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}
    func_params = [a.arg for a in (*func.args.posonlyargs, *func.args.args, *func.args.kwonlyargs)]
    assignments = _assignments(func)
    inlined: list[ast.Assign] = []
    params: list[str] = []
    import_deps: list[str] = []
    pending: list[ast.AST] = [call]
    seen: set[str] = set()
    while pending:
        node = pending.pop(0)
        for name_node in (n for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)):
            name = name_node.id
            if name in seen or name == session_param or name in ("self", "cls"):
                continue
            seen.add(name)
            if name in bindings:
                import_deps.append(name)
            elif name in func_params:
                params.append(name)
            elif name in assignments:
                found = assignments[name]
                single = found[0] if len(found) == 1 and isinstance(found[0], ast.Assign) and len(found[0].targets) == 1 else None
                statement = reader.read(single.value) if single is not None and isinstance(single.value, ast.Call) else None
                if (
                    single is not None
                    and statement is not None
                    and statement.shape in ("stmt", "query", "queryset")
                    and isinstance(single.targets[0], ast.Name)
                    and _loads_in(func, name) == _loads_in(call, name)
                    and single.lineno < call.lineno
                ):
                    inlined.append(single)
                    pending.append(single.value)
                else:
                    params.append(name)
            elif name in module_level:
                raise Refuse(f"the query reads `{name}`, defined in this module; the repository can't import it from here")
            elif name in _BUILTIN_NAMES:
                continue
            else:
                params.append(name)
    inlined.sort(key=lambda a: a.lineno)
    # The function's parameters in its order, then locals as they appear.
    first_seen = {n.id: (n.lineno, n.col_offset) for n in sorted(
        (n for n in ast.walk(func) if isinstance(n, ast.Name)), key=lambda n: (n.lineno, n.col_offset), reverse=True
    )}
    params.sort(key=lambda name: (0, func_params.index(name)) if name in func_params else (1, *first_seen.get(name, (0, 0))))
    model_locals = {model.name} | {local for local, qualified in imports.names.items() if qualified.rsplit(".", 1)[-1] == model.name}
    method = _method_name(call, inlined, model_locals, reader)
    return QueryPlan(
        relative=relative,
        module=module,
        text=text,
        tree=tree,
        imports=imports,
        bindings=bindings,
        func=func,
        node=chosen,
        call=call,
        model=model,
        session=session,
        session_param=session_param,
        method=method,
        params=params,
        inlined=inlined,
        awaited=awaited,
        import_deps=import_deps,
        is_async=awaited,
    )


_BUILTIN_NAMES = frozenset(dir(builtins))


def _is_read_query(call: ast.Call, sessions: set[str], imports: ImportMap, models: set[str], reader: QueryReader) -> bool:
    func = call.func
    if isinstance(func, ast.Attribute) and func.attr in _NOT_QUERIES:
        return False
    if isinstance(func, ast.Attribute) and func.attr.endswith("_or_404"):
        return False
    kind = db_call_kind(call, sessions, imports, models)
    if kind is not None:
        return kind == "read"
    query = reader.read(call)
    if query is not None and query.shape in _TERMINAL_SHAPES:
        return True
    if isinstance(func, ast.Attribute) and (dotted_name(func.value) or "").endswith("db.session"):
        return func.attr not in _NOT_QUERIES
    return False


def _model_of(call: ast.Call, reader: QueryReader, models: set[str], imports: ImportMap) -> str | None:
    query = reader.read(call)
    if query is not None:
        return imports.names.get(query.model, query.model).rsplit(".", 1)[-1]
    for node in ast.walk(call):
        name = dotted_name(node) if isinstance(node, (ast.Name, ast.Attribute)) else None
        if name is None:
            continue
        last = imports.names.get(name, name).rsplit(".", 1)[-1]
        if "." not in name and last in models:
            return last
    return None


def _session_of(call: ast.Call, sessions: set[str]) -> tuple[str | None, str | None]:
    """(source of the session expression the query runs on, the local name
    holding it): the receiver of the first session method call inside."""
    for node in ast.walk(call):
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
            continue
        receiver = node.func.value
        dotted = dotted_name(receiver)
        if dotted in ("self.session", "self._session", "self.db", "self._db") or (dotted or "").endswith("db.session"):
            return dotted, None
        if isinstance(receiver, ast.Name) and receiver.id in sessions:
            return receiver.id, receiver.id
    return None, None


def _enclosing_function(tree: ast.Module, line: int) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
    best = None
    for node in ast.walk(tree):
        inside = isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.lineno <= line <= (node.end_lineno or node.lineno)
        if inside and (best is None or node.lineno > best.lineno):
            best = node
    return best


def _assignments(func: ast.AST) -> dict[str, list[ast.AST]]:
    """Every statement binding each local name (only a lone ``name = value``
    can be inlined)."""
    found: dict[str, list[ast.AST]] = {}
    for node in ast.walk(func):
        targets: list[ast.AST] = []
        if isinstance(node, ast.Assign):
            targets = list(node.targets)
        elif isinstance(node, (ast.AnnAssign, ast.AugAssign, ast.For, ast.AsyncFor, ast.NamedExpr)):
            targets = [node.target]
        elif isinstance(node, (ast.With, ast.AsyncWith)):
            targets = [item.optional_vars for item in node.items if item.optional_vars is not None]
        for target in targets:
            for name in ast.walk(target):
                if isinstance(name, ast.Name):
                    found.setdefault(name.id, []).append(node)
    return found


def _loads_in(node: ast.AST, name: str) -> int:
    return sum(1 for n in ast.walk(node) if isinstance(n, ast.Name) and n.id == name and isinstance(n.ctx, ast.Load))


# --- naming ---------------------------------------------------------------------------


def _method_name(call: ast.Call, inlined: list[ast.Assign], model: set[str], reader: QueryReader) -> str:
    nodes: list[ast.AST] = [call, *(a.value for a in inlined)]
    equal: list[str] = []
    flags: list[str] = []
    extras: list[str] = []
    counting = False
    exists = False
    for root in nodes:
        for node in ast.walk(root):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                method = node.func.attr
                if method in ("count", "acount"):
                    counting = True
                if method in ("exists", "aexists"):
                    exists = True
                if method == "annotate":
                    extras.extend(kw.arg for kw in node.keywords if kw.arg)
                if method in ("select_related", "prefetch_related"):
                    extras.extend(a.value.split("__", 1)[0] for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str))
                if method == "options":
                    for option in node.args:
                        for sub in ast.walk(option):
                            if isinstance(sub, ast.Attribute) and isinstance(sub.value, ast.Name) and sub.value.id in model:
                                extras.append(sub.attr)
                if method in ("where", "filter", "filter_by", "get", "exclude") or method.endswith("_or_404"):
                    for kw in node.keywords:
                        if kw.arg is None:
                            continue
                        column = kw.arg.split("__", 1)[0]
                        if isinstance(kw.value, ast.Constant) and isinstance(kw.value.value, bool):
                            flags.append(column if kw.value.value else f"not_{column}")
                        else:
                            equal.append(column)
                    for arg in node.args:
                        _column_tests(arg, model, equal, flags)
            if isinstance(node, ast.Call) and (dotted_name(node.func) or "").rsplit(".", 1)[-1] == "count":
                counting = True
    if isinstance(call.func, ast.Attribute) and call.func.attr == "get" and call.args and not equal:
        equal.append("id")
    query = reader.read(call)
    if counting:
        kind = "count"
    elif exists:
        kind = "exists"
    elif query is not None and query.shape in ("models", "scalars", "queryset", "query", "rows", "values", "result"):
        kind = "list"
    else:
        kind = "get"
    equal = [_column_word(c) for c in dict.fromkeys(equal)]
    equal = [c for c in equal if c]
    flags = [_flag_word(f) for f in dict.fromkeys(flags)]
    name = kind
    if flags and kind != "get":
        name += "_" + "_".join(flags)
    if equal and equal != ["id"] and equal != ["pk"]:
        name += "_by_" + "_and_".join(equal[:2])
    elif equal and kind != "get":
        name += "_by_id"
    if extras:
        # Loaded or computed extras make it a different query than the plain one.
        name += "_with_" + "_and_".join(dict.fromkeys(extras))
    return name


def _column_tests(expr: ast.AST, model: set[str], equal: list[str], flags: list[str]) -> None:
    for node in ast.walk(expr):
        if isinstance(node, ast.Compare) and len(node.ops) == 1 and isinstance(node.ops[0], (ast.Eq, ast.Is)):
            column = _model_column(node.left, model)
            if column is None:
                continue
            right = node.comparators[0]
            if isinstance(right, ast.Constant) and isinstance(right.value, bool):
                flags.append(column if right.value else f"not_{column}")
            else:
                equal.append(column)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in ("is_", "is_not"):
            column = _model_column(node.func.value, model)
            if column is not None and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, bool):
                positive = node.args[0].value == (node.func.attr == "is_")
                flags.append(column if positive else f"not_{column}")


def _model_column(expr: ast.AST, model: set[str]) -> str | None:
    if isinstance(expr, ast.Attribute) and isinstance(expr.value, ast.Name) and expr.value.id in model:
        return expr.attr
    return None


def _column_word(column: str) -> str:
    if column in ("pk", "id"):
        return "id"
    if column.endswith("_id") and len(column) > 3:
        return column[:-3]
    return column


def _flag_word(flag: str) -> str:
    for prefix in ("is_", "has_"):
        if flag.startswith(prefix):
            return flag[len(prefix) :]
        if flag.startswith(f"not_{prefix}"):
            return "not_" + flag[len(prefix) + 4 :]
    return flag


# --- writing the repository ---------------------------------------------------------


@dataclass
class _RepositoryShape:
    target: ModuleTarget
    session_attr: str | None  # attribute of the class holding the session; None: no session
    session_type: TypeRef | None


def _repository_shape(project: ProjectView, changes: ChangeSet, model: ModelInfo, needs_session: bool, session_type: TypeRef | None) -> _RepositoryShape:
    target = repository_target(project, detect_conventions(project), model)
    if target.style != "class" or not needs_session:
        return _RepositoryShape(target, None, session_type if needs_session else None)
    text = changes.text(target.relative)
    tree = parse_python(text) if text else None
    owner = next((s for s in tree.body if isinstance(s, ast.ClassDef) and s.name == target.class_name), None) if tree else None
    if owner is None:
        return _RepositoryShape(target, "session", session_type)
    init = next((s for s in owner.body if isinstance(s, ast.FunctionDef) and s.name == "__init__"), None)
    if init is None or len(init.args.args) != 2:
        raise Refuse(f"`{target.class_name}.__init__` does not take just a session")
    param = init.args.args[1].arg
    for node in ast.walk(init):
        if (
            isinstance(node, ast.Assign)
            and isinstance(node.value, ast.Name)
            and node.value.id == param
            and isinstance(node.targets[0], ast.Attribute)
            and isinstance(node.targets[0].value, ast.Name)
            and node.targets[0].value.id == "self"
        ):
            return _RepositoryShape(target, node.targets[0].attr, session_type)
    raise Refuse(f"`{target.class_name}.__init__` does not keep its session on `self`")


def _existing_methods(project: ProjectView, target: ModuleTarget, model: ModelInfo) -> set[str]:
    text = project.text(target.relative) if target.exists else None
    tree = parse_python(text) if text else None
    if tree is None:
        return set()
    scope: list[ast.stmt] = tree.body
    if target.style == "class":
        owner = next((s for s in tree.body if isinstance(s, ast.ClassDef) and s.name == target.class_name), None)
        if owner is None:
            return set()
        scope = owner.body
    return {s.name for s in scope if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef))}


_BLANK = cst.EmptyLine(indent=False)


class AddRepositoryMethod(Codemod):
    """Add one method to the repository class (created when missing) or one
    function to a repository module of functions; an identical existing one
    is kept, a different one with the same name refuses."""

    DESCRIPTION = "Add a repository method."

    def __init__(
        self,
        context: CodemodContext,
        *,
        shape: _RepositoryShape,
        method: str,
        source: str,
        imports: Sequence[ImportSpec],
        model: ModelInfo,
        first_party: frozenset[str],
    ) -> None:
        super().__init__(context)
        self.shape = shape
        self.method = method
        self.source = source  # the method's code, indented at module level, ``self`` first for a class
        self.imports = imports
        self.model = model
        self.first_party = first_party
        self.reused = False

    def transform_module_impl(self, tree: cst.Module) -> cst.Module:
        target = self.shape.target
        specs = list(self.imports)
        if self.shape.session_type is not None and self.shape.session_attr is not None:
            specs.extend(self.shape.session_type.imports)
        tree, renames = ensure_imports(tree, specs, target.module, self.first_party)
        function = rename(cst.parse_statement(self.source), renames)
        assert isinstance(function, cst.FunctionDef)
        body = list(tree.body)
        if target.style != "class":
            existing = next((s for s in body if isinstance(s, cst.FunctionDef) and s.name.value == self.method), None)
            if existing is not None:
                return self._same(existing, function, tree)
            body.append(function.with_changes(leading_lines=[cst.EmptyLine(), cst.EmptyLine()]))
            return tree.with_changes(body=body)
        class_name = target.class_name
        index = next((i for i, s in enumerate(body) if isinstance(s, cst.ClassDef) and s.name.value == class_name), None)
        if index is None:
            resource = plural(snake(self.model.name)).replace("_", " ")
            lines = [f"class {class_name}:\n", f'    """Data access for {resource}; the caller owns the transaction."""\n']
            if self.shape.session_attr is not None and self.shape.session_type is not None:
                session_text = renames.get(self.shape.session_type.text, self.shape.session_type.text)
                lines.append(f"\n    def __init__(self, session: {session_text}) -> None:\n        self.{self.shape.session_attr} = session\n")
            new_class = cst.parse_statement("".join(lines))
            assert isinstance(new_class, cst.ClassDef) and isinstance(new_class.body, cst.IndentedBlock)
            new_class = new_class.with_changes(
                body=new_class.body.with_changes(body=[*new_class.body.body, function.with_changes(leading_lines=[_BLANK])]),
                leading_lines=[cst.EmptyLine(), cst.EmptyLine()],
            )
            body.append(new_class)
            return tree.with_changes(body=body)
        owner = body[index]
        assert isinstance(owner, cst.ClassDef) and isinstance(owner.body, cst.IndentedBlock)
        existing = next((s for s in owner.body.body if isinstance(s, cst.FunctionDef) and s.name.value == self.method), None)
        if existing is not None:
            return self._same(existing, function, tree)
        body[index] = owner.with_changes(
            body=owner.body.with_changes(body=[*owner.body.body, function.with_changes(leading_lines=[_BLANK])])
        )
        return tree.with_changes(body=body)

    def _same(self, existing: cst.FunctionDef, function: cst.FunctionDef, tree: cst.Module) -> cst.Module:
        if _dump(existing) != _dump(function):
            owner = f"{self.shape.target.class_name}." if self.shape.target.class_name else ""
            raise SkipFile(f"{self.shape.target.relative} already defines `{owner}{self.method}` with a different body; pick another name")
        self.reused = True
        return tree


def _dump(function: cst.FunctionDef) -> str:
    python = parse_python(code_of(function.with_changes(leading_lines=[], decorators=[])).strip() + "\n")
    return ast.dump(python) if python is not None else code_of(function)


class _QueryMover:
    def __init__(self, project: ProjectView, plan: QueryPlan) -> None:
        self.project = project
        self.plan = plan
        self.changes = ChangeSet(project)

    def run(self) -> Fix:
        plan = self.plan
        model = plan.model
        infer = Inference(self.project, _InferenceContext.of(plan))
        needs_session = plan.session_param is not None or (plan.session is not None and plan.session.startswith("self."))
        session_type = None
        if needs_session:
            arg = next((a for a in (*plan.func.args.args, *plan.func.args.kwonlyargs) if a.arg == plan.session_param), None)
            session_type = infer.session_type(arg.annotation if arg is not None else None)
        shape = _repository_shape(self.project, self.changes, model, needs_session, session_type)
        target = shape.target
        if target.relative == plan.relative:
            raise Refuse("the query is already in the repository module")
        function_params = infer_params(plan)
        before = _InferenceContext.of(plan).prologue
        flattened = _attribute_params(self.project, plan)
        params: list[tuple[str, TypeRef]] = []
        arguments: list[str] = []
        for name in plan.params:
            if name in flattened:
                attr, parameter, kind = flattened[name]
                params.append((parameter, kind))
                arguments.append(f"{name}.{attr}")
            else:
                params.append((name, infer.parameter(name) if name in function_params else (infer.local(name, before) or ANY)))
                arguments.append(name)
        returns = infer.expression(plan.call) or ANY
        # The method body: inlined statements, then the query, with the session renamed.
        body_lines = [_source(plan.text, a) for a in plan.inlined]
        query_source = _source(plan.text, plan.call)
        statements = "\n".join([*body_lines, f"return {'await ' if plan.awaited else ''}{query_source}"])
        module = cst.parse_module(statements + "\n")
        if flattened:
            module = module.visit(_FlattenAttributes({name: (attr, parameter) for name, (attr, parameter, _kind) in flattened.items()}))
        if plan.session_param is not None:
            replacement: str | cst.BaseExpression = (
                cst.Attribute(cst.Name("self"), cst.Name(shape.session_attr)) if shape.session_attr else cst.Name("session")
            )
            module = rename(module, {plan.session_param: replacement})  # type: ignore[assignment]
        elif plan.session is not None and plan.session.startswith("self.") and shape.session_attr:
            module = cst.parse_module(module.code.replace(plan.session, f"self.{shape.session_attr}"))
        parameters = [f"{name}: {kind.text}" for name, kind in params]
        if shape.target.style == "class":
            parameters.insert(0, "self")
        elif needs_session and session_type is not None:
            parameters.insert(0, f"session: {session_type.text}")
        header = f"{'async ' if plan.awaited else ''}def {plan.method}({', '.join(parameters)}) -> {returns.text}:\n"
        source = header + "".join(f"    {line}\n" if line else "\n" for line in module.code.rstrip("\n").split("\n"))
        imports = [plan.bindings[name] for name in plan.import_deps] + [s for _n, k in params for s in k.imports] + list(returns.imports)
        if needs_session and session_type is not None and shape.target.style != "class":
            imports.extend(session_type.imports)
        existing = self.changes.text(target.relative)
        base = existing if existing is not None else new_module_text(_repository_docstring(target, model))
        codemod = AddRepositoryMethod(
            CodemodContext(), shape=shape, method=plan.method, source=source, imports=imports, model=model, first_party=self.project.first_party
        )
        self.changes.set(target.relative, run_transform(codemod, base))
        for init in target.init_files:
            if self.changes.text(init) is None:
                self.changes.set(init, "")
        # The call site.
        args = list(arguments)
        if target.style == "class":
            session_arg = plan.session if shape.session_attr else ""
            spec = ImportSpec(target.module, target.class_name)
            callee_template = "{local}(" + (session_arg or "") + ")." + plan.method
        else:
            package, _, stem = target.module.rpartition(".")
            spec = ImportSpec(package or None, stem, f"{stem}_repository" if package else None)
            callee_template = "{local}." + plan.method
            if needs_session:
                args.insert(0, plan.session or "session")
        replace_codemod = ReplaceQuery(
            CodemodContext(), plan=plan, spec=spec, callee_template=callee_template, args=args, first_party=self.project.first_party
        )
        self.changes.set(plan.relative, run_transform(replace_codemod, plan.text))
        for relative, new_text in self.changes.changed().items():
            if parse_python(new_text) is None:
                raise Refuse(f"the result for {relative} does not parse")
        fix = self.changes.to_fix(plan.title, CODE, KIND)
        if fix is None:
            raise Refuse("nothing to change")
        return fix


def _attribute_params(project: ProjectView, plan: QueryPlan) -> dict[str, tuple[str, str, TypeRef]]:
    """Values the query reads only as one attribute (``team.name``,
    ``post.id``) are passed as that attribute: the repository takes a plain
    value, not the caller's schema or model object. Typed from the column the
    query compares it with."""
    roots: list[ast.AST] = [plan.call, *(a.value for a in plan.inlined)]
    parents: dict[int, ast.AST] = {}
    for root in roots:
        for node in ast.walk(root):
            for child in ast.iter_child_nodes(node):
                parents[id(child)] = node
    taken = set(plan.params)
    found: dict[str, tuple[str, str, TypeRef]] = {}
    for name in plan.params:
        loads = [n for root in roots for n in ast.walk(root) if isinstance(n, ast.Name) and n.id == name]
        attrs = {parents[id(n)].attr for n in loads if isinstance(parents.get(id(n)), ast.Attribute)}  # type: ignore[union-attr]
        if not loads or len(attrs) != 1 or any(not isinstance(parents.get(id(n)), ast.Attribute) for n in loads):
            continue
        attr = attrs.pop()
        parameter = f"{name}_{attr}" if attr in ("id", "pk") else attr
        if parameter in taken or attr in ("self", "cls") or not attr.isidentifier():
            continue
        kind: TypeRef = ANY
        for root in roots:
            for node in ast.walk(root):
                if not isinstance(node, ast.Compare) or len(node.comparators) != 1:
                    continue
                sides = [node.left, node.comparators[0]]
                mine = [s for s in sides if isinstance(s, ast.Attribute) and isinstance(s.value, ast.Name) and s.value.id == name]
                other = [s for s in sides if isinstance(s, ast.Attribute) and isinstance(s.value, ast.Name) and s.value.id != name]
                if mine and other:
                    model = project.index.model(other[0].value.id)  # type: ignore[union-attr]
                    column = model.columns.get(other[0].attr) if model is not None else None
                    if model is not None and column is not None:
                        kind = _StandardMethodWriter(project, model).column_type(column).required()
        taken.add(parameter)
        found[name] = (attr, parameter, kind)
    return found


class _FlattenAttributes(cst.CSTTransformer):
    """``team.name`` → ``name`` (the parameter the value now arrives in)."""

    def __init__(self, names: dict[str, tuple[str, str]]) -> None:
        super().__init__()
        self.names = names

    def leave_Attribute(self, original_node: cst.Attribute, updated_node: cst.Attribute) -> cst.BaseExpression:
        if isinstance(updated_node.value, cst.Name) and updated_node.value.value in self.names:
            attr, parameter = self.names[updated_node.value.value]
            if updated_node.attr.value == attr:
                return cst.Name(parameter)
        return updated_node


def infer_params(plan: QueryPlan) -> set[str]:
    return {a.arg for a in (*plan.func.args.posonlyargs, *plan.func.args.args, *plan.func.args.kwonlyargs)}


@dataclass
class _InferenceContext:
    text: str
    tree: ast.Module
    imports: ImportMap
    bindings: dict[str, ImportSpec]
    func: ast.FunctionDef | ast.AsyncFunctionDef
    params: list[str]
    session: str | None
    prologue: list[ast.stmt]
    is_async: bool

    @classmethod
    def of(cls, plan: QueryPlan) -> _InferenceContext:
        statements = [s for s in ast.walk(plan.func) if isinstance(s, ast.stmt) and s is not plan.func and getattr(s, "lineno", 0) < plan.call.lineno]
        return cls(plan.text, plan.tree, plan.imports, plan.bindings, plan.func, list(infer_params(plan)), plan.session_param, statements, plan.awaited)


class ReplaceQuery(Codemod):
    """Replace the query with the repository call, drop the statements that
    moved with it and the imports nothing uses any more."""

    DESCRIPTION = "Call the repository method instead of the query."

    def __init__(
        self, context: CodemodContext, *, plan: QueryPlan, spec: ImportSpec, callee_template: str, args: list[str], first_party: frozenset[str]
    ) -> None:
        super().__init__(context)
        self.plan = plan
        self.spec = spec
        self.callee_template = callee_template
        self.args = args
        self.first_party = first_party

    def transform_module_impl(self, tree: cst.Module) -> cst.Module:
        plan = self.plan
        located = locate(tree, plan.func.lineno, plan.tree)
        if located is None:
            raise SkipFile("cannot find the query's function")
        lines = plan.text.splitlines()

        def char(line: int, column: int) -> int:
            raw = lines[line - 1] if 0 < line <= len(lines) else ""
            return len(raw.encode("utf-8")[:column].decode("utf-8", errors="ignore"))

        node = plan.node
        want = ((node.lineno, char(node.lineno, node.col_offset)), (node.end_lineno, char(node.end_lineno or node.lineno, node.end_col_offset or 0)))
        target: cst.CSTNode | None = None
        for candidate in located.positions:
            if isinstance(candidate, (cst.Call, cst.Await)) and (located.start(candidate), located.end(candidate)) == want:
                target = candidate
                break
        if target is None:
            raise SkipFile("cannot find the query in the file")
        removals: set[int] = set()
        for assign in plan.inlined:
            for candidate in located.positions:
                if isinstance(candidate, cst.SimpleStatementLine) and located.start(candidate)[0] == assign.lineno and len(candidate.body) == 1:
                    removals.add(id(candidate))
        _, local = ensure_import(tree, self.spec, plan.module, self.first_party)
        callee = self.callee_template.format(local=local)
        replacement = cst.parse_expression(f"{'await ' if plan.awaited else ''}{callee}({', '.join(self.args)})")
        statement = located.statement.visit(_Replace(target, replacement, removals))
        body = list(tree.body)
        body[located.index] = statement  # type: ignore[assignment]
        tree = tree.with_changes(body=body)
        tree, _ = ensure_import(tree, self.spec, plan.module, self.first_party)
        python = parse_python(tree.code)
        if python is None:
            raise SkipFile("the rewritten code does not parse")
        loaded = loaded_names(python)
        return remove_unused_imports(tree, set(plan.import_deps), lambda name: name in loaded)


class _Replace(cst.CSTTransformer):
    def __init__(self, target: cst.CSTNode, replacement: cst.BaseExpression, removals: set[int]) -> None:
        super().__init__()
        self.target = target
        self.replacement = replacement
        self.removals = removals

    def on_leave(self, original_node: cst.CSTNode, updated_node: cst.CSTNode):  # type: ignore[override]
        if original_node is self.target:
            return self.replacement
        if id(original_node) in self.removals:
            return cst.RemovalSentinel.REMOVE
        return updated_node


def _source(text: str, node: ast.AST) -> str:
    segment = ast.get_source_segment(text, node)
    if segment is None:
        return ast.unparse(node)
    if "\n" in segment:
        # Continuation lines keep their indentation relative to the first.
        first, *rest = segment.split("\n")
        indent = min((len(line) - len(line.lstrip()) for line in rest if line.strip()), default=0)
        own = getattr(node, "col_offset", 0)
        shift = max(min(indent, own), 0)
        segment = "\n".join([first, *(line[shift:] for line in rest)])
    return segment


# --- standard methods -------------------------------------------------------------------


def _unique_columns(model: ModelInfo) -> list[ColumnInfo]:
    return [c for c in model.columns.values() if c.unique and not c.primary_key]


def _primary_key(model: ModelInfo) -> ColumnInfo | None:
    return next((c for c in model.columns.values() if c.primary_key), None)


class _StandardMethodWriter:
    def __init__(self, project: ProjectView, model: ModelInfo) -> None:
        self.project = project
        self.model = model
        self.changes = ChangeSet(project)
        self.model_text = project.text(model.relative) or ""
        self.model_tree = parse_python(self.model_text)
        model_module = project.index.summaries[model.relative].module if model.relative in project.index.summaries else module_of(model.relative)
        self.model_bindings = import_bindings(self.model_tree, model_module) if self.model_tree else {}
        self.model_spec = ImportSpec(model_module, model.name)

    def run(self, method: str) -> Fix:
        model = self.model
        if model.orm not in ("sqlalchemy", "sqlmodel", "flask-sqlalchemy", "django"):
            raise Refuse(f"{model.orm} models are not supported yet")
        django = model.orm == "django"
        flask = model.orm == "flask-sqlalchemy"
        needs_session = not django and not flask
        session_type: TypeRef | None = None
        if needs_session:
            session_type = (
                TypeRef("Session", (ImportSpec("sqlmodel", "Session"),))
                if model.orm == "sqlmodel"
                else TypeRef("Session", (ImportSpec("sqlalchemy.orm", "Session"),))
            )
            existing = self._project_session_type()
            if existing is not None:
                session_type = existing
        shape = _repository_shape(self.project, self.changes, model, needs_session, session_type)
        is_async = session_type is not None and session_type.text.startswith("Async")
        source, imports = self._method(method, shape, is_async)
        target = shape.target
        if method in _existing_methods(self.project, target, model):
            raise Refuse(f"`{target.class_name or target.module}.{method}` already exists")
        existing = self.changes.text(target.relative)
        base = existing if existing is not None else new_module_text(_repository_docstring(target, model))
        codemod = AddRepositoryMethod(
            CodemodContext(),
            shape=shape,
            method=method,
            source=source,
            imports=[self.model_spec, *imports],
            model=model,
            first_party=self.project.first_party,
        )
        self.changes.set(target.relative, run_transform(codemod, base))
        for init in target.init_files:
            if self.changes.text(init) is None:
                self.changes.set(init, "")
        fix = self.changes.to_fix(StandardMethod(method, model.name).title, CODE, KIND)
        if fix is None:
            raise Refuse("nothing to change")
        return fix

    def _project_session_type(self) -> TypeRef | None:
        """The session class the project's repositories already take, else
        ``AsyncSession`` when the project uses SQLAlchemy's asyncio API."""
        found = self._repository_session_type()
        if found is not None:
            return found
        for summary in self.project.index.summaries.values():
            if summary.layer in ("test", "migration"):
                continue
            for record in summary.imports:
                if record.module == "sqlalchemy.ext.asyncio" and "AsyncSession" in record.names:
                    return TypeRef("AsyncSession", (ImportSpec("sqlalchemy.ext.asyncio", "AsyncSession"),))
        return None

    def _repository_session_type(self) -> TypeRef | None:
        for relative in self.project.index.files_in_layer("repository"):
            text = self.project.text(relative)
            tree = parse_python(text) if text else None
            if tree is None:
                continue
            bindings = import_bindings(tree, module_of(relative))
            for local in ("AsyncSession", "Session"):
                spec = bindings.get(local)
                if spec is not None and spec.module is not None and spec.module.split(".")[0] in ("sqlalchemy", "sqlmodel"):
                    return TypeRef(local, (spec,))
        return None

    # -- typing columns --------------------------------------------------------------
    def column_type(self, column: ColumnInfo) -> TypeRef:
        model = self.model
        if model.orm == "django":
            relation = model.relationships.get(column.name)
            if relation is not None:
                target = self.project.index.model(relation.target)
                if target is not None:
                    spec = ImportSpec(target.module, target.name)
                    return TypeRef(target.name, (spec,))
            text = _DJANGO_PYTHON_TYPES.get(column.type or "", "Any")
            return TypeRef(text, (_TYPE_IMPORTS[text],) if text in _TYPE_IMPORTS else ())
        annotation = self._annotation(column.name)
        if annotation is not None:
            return annotation
        head = (column.type or "").split("(", 1)[0]
        text = _SA_PYTHON_TYPES.get(head, head if head in ("int", "str", "bool", "float", "bytes") else "Any")
        return TypeRef(text, (_TYPE_IMPORTS[text],) if text in _TYPE_IMPORTS else ())

    def _annotation(self, name: str) -> TypeRef | None:
        """``Mapped[str]`` → ``str`` (SQLAlchemy 2.0), ``int | None`` (SQLModel), from the model source."""
        if self.model_tree is None:
            return None
        owner = next((s for s in self.model_tree.body if isinstance(s, ast.ClassDef) and s.name == self.model.name), None)
        classes = [owner] if owner is not None else []
        # SQLModel table models inherit their fields from a base model in the same module.
        if owner is not None:
            for base in owner.bases:
                parent = next((s for s in self.model_tree.body if isinstance(s, ast.ClassDef) and isinstance(base, ast.Name) and s.name == base.id), None)
                if parent is not None:
                    classes.append(parent)
        for cls in classes:
            for statement in cls.body:
                if isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name) and statement.target.id == name:
                    annotation = statement.annotation
                    if isinstance(annotation, ast.Subscript) and (dotted_name(annotation.value) or "").rsplit(".", 1)[-1] == "Mapped":
                        annotation = annotation.slice
                    imports: list[ImportSpec] = []
                    for sub in ast.walk(annotation):
                        if isinstance(sub, ast.Name):
                            spec = self.model_bindings.get(sub.id)
                            if spec is not None:
                                imports.append(spec)
                            elif sub.id not in _BUILTIN_NAMES and sub.id != "None":
                                model = self.project.index.model(sub.id)
                                if model is None:
                                    return None
                                imports.append(ImportSpec(model.module, model.name))
                    return TypeRef(ast.get_source_segment(self.model_text, annotation) or ast.unparse(annotation), tuple(imports))
        return None

    def _creatable(self) -> list[tuple[ColumnInfo, TypeRef, str | None]]:
        """(column, type, default source or None when required) for ``create``."""
        found: list[tuple[ColumnInfo, TypeRef, str | None]] = []
        for column in self.model.columns.values():
            if column.primary_key or column.implicit or column.server_default is not None:
                continue
            if self.model.orm == "django" and self._django_auto(column.name):
                continue
            kind = self.column_type(column)
            default = column.default
            if default is not None and not _literal(default):
                continue  # a callable default (``_now``) stays the ORM's job
            if default is None and column.nullable:
                default = "None"
                kind = kind.optional()
            found.append((column, kind, default))
        found.sort(key=lambda item: item[2] is not None)
        return found

    def _django_auto(self, name: str) -> bool:
        if self.model_tree is None:
            return False
        owner = next((s for s in self.model_tree.body if isinstance(s, ast.ClassDef) and s.name == self.model.name), None)
        for statement in owner.body if owner else []:
            named = isinstance(statement, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in statement.targets)
            if named and isinstance(statement.value, ast.Call):
                return any(k.arg in ("auto_now", "auto_now_add") for k in statement.value.keywords)
        return False

    # -- the methods --------------------------------------------------------------------
    def _method(self, method: str, shape: _RepositoryShape, is_async: bool) -> tuple[str, list[ImportSpec]]:
        model = self.model
        name = model.name
        var = snake(name)
        django = model.orm == "django"
        flask = model.orm == "flask-sqlalchemy"
        cls_style = shape.target.style == "class"
        session = "db.session" if flask else (f"self.{shape.session_attr}" if cls_style and shape.session_attr else "session")
        imports: list[ImportSpec] = []
        if flask:
            db = self.model_bindings.get("db")
            if db is None:
                raise Refuse("cannot find Flask-SQLAlchemy's `db` in the models module")
            imports.append(db)
        select_spec = ImportSpec("sqlmodel", "select") if model.orm == "sqlmodel" else ImportSpec("sqlalchemy", "select")
        awaits = "await " if is_async else ""
        first: list[str] = []
        if cls_style:
            first.append("self")
        elif not django and not flask:
            assert shape.session_type is not None
            first.append(f"session: {shape.session_type.text}")
        pk = _primary_key(model)
        pk_name = "pk" if django else f"{var}_id"
        pk_type = self.column_type(pk).required() if pk is not None else INT
        if model.orm == "sqlmodel" and pk_type.text.endswith("| None"):
            pk_type = pk_type.required()
        imports.extend(pk_type.imports)
        order = f"{name}.{pk.name}" if pk is not None else None

        def header(params: list[str], returns: str) -> str:
            return f"{'async ' if is_async else ''}def {method}({', '.join([*first, *params])}) -> {returns}:\n"

        if method == "get":
            if django:
                body = f"return {name}.objects.filter(pk={pk_name}).first()"
            else:
                body = f"return {awaits}{session}.get({name}, {pk_name})"
            return header([f"{pk_name}: {pk_type.text}"], f"{name} | None") + f"    {body}\n", imports
        if method == "list":
            imports.append(ImportSpec("collections.abc", "Sequence"))
            if django:
                body = f"return list({name}.objects.all()[offset : offset + limit])"
            else:
                imports.append(select_spec)
                ordering = f".order_by({order})" if order else ""
                statement = f"select({name}){ordering}.limit(limit).offset(offset)"
                if is_async:
                    body = f"return (await {session}.scalars({statement})).all()"
                elif model.orm == "sqlmodel":
                    body = f"return {session}.exec({statement}).all()"
                else:
                    body = f"return {session}.scalars({statement}).all()"
            return header(["limit: int = 100", "offset: int = 0"], f"Sequence[{name}]") + f"    {body}\n", imports
        if method.startswith("get_by_"):
            column_name = method[len("get_by_") :]
            column = model.columns.get(column_name)
            if column is None or not column.unique:
                raise Refuse(f"`{name}.{column_name}` is not a unique column")
            kind = self.column_type(column).required()
            imports.extend(kind.imports)
            if django:
                body = f"return {name}.objects.filter({column_name}={column_name}).first()"
            else:
                imports.append(select_spec)
                statement = f"select({name}).where({name}.{column_name} == {column_name})"
                if model.orm == "sqlmodel" and not is_async:
                    body = f"return {session}.exec({statement}).first()"
                else:
                    body = f"return {awaits}{session}.scalar({statement})"
            return header([f"{column_name}: {kind.text}"], f"{name} | None") + f"    {body}\n", imports
        if method == "create":
            columns = self._creatable()
            params = ["*"] if columns else []
            for column, kind, default in columns:
                imports.extend(kind.imports)
                params.append(f"{column.name}: {kind.text}" + (f" = {_python_literal(default)}" if default is not None else ""))
            values = ", ".join(f"{c.name}={c.name}" for c, _k, _d in columns)
            if django:
                lines = [f"return {name}.objects.create({values})"]
            else:
                lines = [f"{var} = {name}({values})", f"{session}.add({var})", f"{awaits}{session}.flush()", f"return {var}"]
            return header(params, name) + "".join(f"    {line}\n" for line in lines), imports
        if method == "update":
            columns = [c for c, _k, _d in self._creatable()]
            if not columns:
                raise Refuse(f"`{name}` has no columns to update")
            params = [f"{var}: {name}", "*"]
            lines = ['"""Set the columns given; None leaves a column unchanged."""']
            for column in columns:
                kind = self.column_type(column).required()
                imports.extend(kind.imports)
                params.append(f"{column.name}: {kind.text} | None = None")
            if django:
                lines.append("changed: list[str] = []")
            for column in columns:
                lines.append(f"if {column.name} is not None:")
                lines.append(f"    {var}.{column.name} = {column.name}")
                if django:
                    lines.append(f'    changed.append("{column.name}")')
            if django:
                lines.append("if changed:")
                lines.append(f"    {var}.save(update_fields=changed)")
            else:
                lines.append(f"{awaits}{session}.flush()")
            lines.append(f"return {var}")
            return header(params, name) + "".join(f"    {line}\n" for line in lines), imports
        if method == "delete":
            if django:
                lines = [f"{var}.delete()"]
            else:
                lines = [f"{awaits}{session}.delete({var})", f"{awaits}{session}.flush()"]
            return header([f"{var}: {name}"], "None") + "".join(f"    {line}\n" for line in lines), imports
        raise Refuse(f"`{method}` is not a standard repository method")


def _repository_docstring(target: ModuleTarget, model: ModelInfo) -> str:
    folder, _, stem = target.relative.rpartition("/")
    if stem == "repositories.py" and folder:
        return f"Data access of the {folder.rsplit('/', 1)[-1]} app."
    return f"Data access for {plural(snake(model.name)).replace('_', ' ')}."


def _python_literal(source: str) -> str:
    """A default as the project's code would write it (double-quoted strings)."""
    value = ast.literal_eval(source)
    if isinstance(value, str):
        return json.dumps(value)
    return repr(value)


def _literal(source: str) -> bool:
    try:
        value = ast.literal_eval(source)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return False
    return isinstance(value, (str, int, float, bool, type(None)))
