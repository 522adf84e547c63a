"""Extract to service: move a route handler's data access and business logic
into a service function (or a method of the resource's service class) and
leave a thin handler: validate input → call the service → map the result to
the response.

``handler_plan`` decides what moves (``ast`` only); this module writes it:

1. ``AddServiceFunction`` puts the moved statements into the service module
   the project's conventions name (``conventions.service_target``): an
   existing module for the resource is extended, otherwise one is created
   where the layout says, with the imports the moved code needs copied from
   the router, constants and helpers it uses moved along, and annotations on
   every parameter and the return value. The session stays injected in the
   router and is passed in (``SessionDep`` becomes the ``Session`` it
   aliases); Flask-SQLAlchemy code keeps using ``db.session``; Django
   service functions take keyword-only plain arguments (HackSoft style).
2. HTTP errors in the moved code become domain errors of the errors module
   (``error_mapping``), and the web layer maps them back to the same
   responses.
3. ``ThinHandler`` rewrites the handler to call the service, imports it,
   and drops the imports nothing uses any more.

The result is a ``Fix`` touching every file involved, or a
``RefactorRefusal`` saying why the code can't move safely.
"""

from __future__ import annotations

import ast
import json
import logging
from dataclasses import dataclass, replace

import libcst as cst
from libcst.codemod import Codemod, CodemodContext

from ..fixes.domain_exception import BASE_CLASS, ErrorsModule
from ..fixes.edits import Fix, locate, remove_unused_imports
from .base import (
    ChangeSet,
    ImportSpec,
    ProjectView,
    RefactorRefusal,
    Refuse,
    code_of,
    ensure_import,
    ensure_imports,
    loaded_names,
    new_module_text,
    parse_python,
    rename,
    run_transform,
)
from .conventions import (
    ModuleTarget,
    detect_conventions,
    resource_of,
    service_alias,
    service_target,
)
from .error_mapping import (
    SYNTHETIC_ERROR,
    ErrorsState,
    Mapping,
    choose_mapping,
    convert_http_errors,
    errors_state,
    register_mapping,
    router_catch,
    router_catch_imports,
)
from .handler_plan import (
    DJANGO_404_SHORTCUTS,
    FLASK_404_METHODS,
    HandlerPlan,
    error_response,
    plan_extraction,
)
from .inference import ANY, NONE, Inference, TypeRef

log = logging.getLogger(__name__)

KIND = "refactor.extract.service"
CODE = "extract-service"


def check_extraction(project: ProjectView, relative: str, line: int) -> HandlerPlan | RefactorRefusal:
    """Whether the handler at ``line`` can be extracted (``ast`` only: cheap
    enough while the client lists code actions)."""
    text = project.text(relative)
    if text is None:
        return RefactorRefusal(f"cannot read {relative}")
    try:
        return plan_extraction(project, relative, text, line)
    except Refuse as refusal:
        return RefactorRefusal(refusal.reason)
    except Exception as exc:  # a planner bug must not break the code action list
        log.exception("extract to service: planning %s:%d failed", relative, line)
        return RefactorRefusal(f"internal error: {exc!r}")


def extract_to_service(project: ProjectView, relative: str, line: int) -> Fix | RefactorRefusal:
    """The edits that extract the handler at ``line`` of ``relative``."""
    text = project.text(relative)
    if text is None:
        return RefactorRefusal(f"cannot read {relative}")
    try:
        plan = plan_extraction(project, relative, text, line)
        return _Extraction(project, plan).run()
    except Refuse as refusal:
        return RefactorRefusal(refusal.reason)
    except Exception as exc:
        log.exception("extract to service at %s:%d failed", relative, line)
        return RefactorRefusal(f"internal error: {exc!r}")


def planned_target(project: ProjectView, plan: HandlerPlan) -> ModuleTarget:
    """Where the service for this handler goes (shown in the action title)."""
    model_classes = [plan.imports.names.get(name, name).rsplit(".", 1)[-1] for name in plan.models]
    return service_target(project, detect_conventions(project), plan.relative, resource_of(plan.relative, model_classes))


def action_title(plan: HandlerPlan, target: ModuleTarget | None = None) -> str:
    where = f" ({target.relative})" if target is not None else ""
    return f"Extract `{plan.handler_label}` to a service{where}"


@dataclass
class _Signature:
    params: list[tuple[str, TypeRef]]
    returns: TypeRef
    keyword_only: bool


class _Extraction:
    def __init__(self, project: ProjectView, plan: HandlerPlan) -> None:
        self.project = project
        self.plan = plan
        self.changes = ChangeSet(project)
        self.conventions = detect_conventions(project)
        model_classes = [plan.imports.names.get(name, name).rsplit(".", 1)[-1] for name in plan.models]
        self.resource = resource_of(plan.relative, model_classes)
        self.target = service_target(project, self.conventions, plan.relative, self.resource)
        self.infer = Inference(project, plan)

    # -- the whole refactor ------------------------------------------------------
    def run(self) -> Fix:
        plan = self.plan
        target = self.target
        if target.relative == plan.relative:
            raise Refuse("the service module would be the router module itself")
        session_attr = self._session_attr()
        signature = self._signature(session_attr)
        router_tree = cst.parse_module(plan.text)
        segments = _segments(router_tree, plan)
        function = self._service_function(segments.core, signature, session_attr)
        specs = self._service_imports(signature)
        dependencies = [_top_level_statement(router_tree, plan.tree, name) for name in plan.module_deps]
        specs += self._dependency_imports()

        state = errors_state(self.project, self.changes, target.relative)
        existing = self.changes.text(target.relative)
        base_text = existing if existing is not None else new_module_text(_service_docstring(target, self.resource))
        if existing is not None and _defines(existing, target.class_name, plan.service_name):
            self._check_same(function, specs, dependencies, signature, session_attr, state, existing)
        else:
            codemod = AddServiceFunction(
                CodemodContext(),
                function=function,
                target=target,
                imports=specs,
                dependencies=dependencies,
                session=(session_attr, signature) if session_attr else None,
                session_type=self._session_type() if session_attr else None,
                first_party=self.project.first_party,
            )
            service_text = run_transform(codemod, base_text)
            service_text = convert_http_errors(
                service_text, target.relative, plan.service_name, target.class_name, state, self.project.path(target.relative)
            )
            # Imports only the converted HTTP errors used (Response, status…).
            before = _bound_names(existing or "")
            service_text = _drop_unused_imports(service_text, {spec.local for spec in specs} - before)
            self.changes.set(target.relative, service_text)
            for init in target.init_files:
                if self.changes.text(init) is None:
                    self.changes.set(init, "")

        raises = bool(state.used)
        mapping = choose_mapping(self.project, self.changes, plan.framework, plan.relative) if raises else Mapping("none")
        router_text = self.changes.text(plan.relative)
        assert router_text is not None
        thin = ThinHandler(
            CodemodContext(),
            plan=plan,
            target=target,
            alias=service_alias(self.conventions, target),
            call_args=self._call_args(signature, session_attr),
            class_session=plan.session if session_attr else None,
            catch=(plan.framework, state.statuses(), ImportSpec(state.module, BASE_CLASS)) if mapping.kind == "router" else None,
            first_party=self.project.first_party,
        )
        self.changes.set(plan.relative, run_transform(thin, router_text))
        if raises:
            if state.errors.text != self.changes.text(state.relative):
                self.changes.set(state.relative, state.errors.text or "")
            if mapping.kind != "router":
                register_mapping(self.project, self.changes, mapping, state)
        for relative, new_text in self.changes.changed().items():
            if parse_python(new_text) is None:
                raise Refuse(f"the result for {relative} does not parse")
        fix = self.changes.to_fix(action_title(plan, target), CODE, KIND)
        if fix is None:
            raise Refuse("nothing to change")
        return fix

    # -- the service function ------------------------------------------------------
    def _session_attr(self) -> str | None:
        """For a service class: the attribute holding the session (read from
        an existing ``__init__``, else ``session``); None for module functions
        or when the handler has no session parameter."""
        if self.target.style != "class" or self.plan.session is None:
            return None
        text = self.changes.text(self.target.relative)
        tree = parse_python(text) if text else None
        owner = next((s for s in tree.body if isinstance(s, ast.ClassDef) and s.name == self.target.class_name), None) if tree else None
        init = next((s for s in owner.body if isinstance(s, ast.FunctionDef) and s.name == "__init__"), None) if owner else None
        if owner is None:
            return "session"
        if init is None:
            raise Refuse(f"`{self.target.class_name}` has no `__init__` taking the session; add one or extract by hand")
        params = [a.arg for a in init.args.args[1:]]
        required = len(params) - len(init.args.defaults)
        if required != 1 or init.args.kwonlyargs and any(d is None for d in init.args.kw_defaults):
            raise Refuse(f"`{self.target.class_name}.__init__` takes {', '.join(params) or 'nothing'}, not just a session; extend it by hand")
        for node in ast.walk(init):
            if (
                isinstance(node, ast.Assign)
                and isinstance(node.value, ast.Name)
                and node.value.id == params[0]
                and isinstance(node.targets[0], ast.Attribute)
                and isinstance(node.targets[0].value, ast.Name)
                and node.targets[0].value.id == "self"
            ):
                return node.targets[0].attr
        raise Refuse(f"`{self.target.class_name}.__init__` does not keep its session on `self`")

    def _session_type(self) -> TypeRef:
        args = self.plan.func.args
        arg = next((a for a in (*args.posonlyargs, *args.args, *args.kwonlyargs) if a.arg == self.plan.session), None)
        return self.infer.session_type(arg.annotation if arg is not None else None)

    def _signature(self, session_attr: str | None) -> _Signature:
        plan = self.plan
        params = [(name, self.infer.parameter(name)) for name in plan.params if not (session_attr and name == plan.session)]
        if plan.core_returns:
            returns = self.infer.annotation(plan.func.returns)
            if returns is None:
                self.infer.learn(plan.core[:-1])
                final = plan.core[-1]
                assert isinstance(final, ast.Return)
                returns = self.infer.expression(final.value)
        elif len(plan.results) == 1:
            name = plan.results[0]
            returns = None
            if _returns_exactly(plan.epilogue, name):
                returns = self.infer.annotation(plan.func.returns)
            returns = returns or self.infer.local(name, plan.core)
        elif plan.results:
            types = [self.infer.local(name, plan.core) or ANY for name in plan.results]
            imports = tuple(spec for found in types for spec in found.imports)
            returns = TypeRef(f"tuple[{', '.join(t.text for t in types)}]", imports)
        else:
            returns = NONE
        return _Signature(params, returns or ANY, keyword_only=plan.framework in ("django", "drf"))

    def _service_function(self, core: list[cst.BaseStatement], signature: _Signature, session_attr: str | None) -> cst.FunctionDef:
        plan = self.plan
        aliases = self._service_self_aliases()
        moved = [_MovedCode(plan, aliases).transform(statement) for statement in core]
        statements: list[cst.BaseStatement] = [s for group in moved for s in group]
        if session_attr and plan.session:
            session_expr = cst.Attribute(cst.Name("self"), cst.Name(session_attr))
            statements = [rename(s, {plan.session: session_expr}) for s in statements]  # type: ignore[misc]
        if plan.results:
            statements.append(cst.parse_statement(f"return {', '.join(plan.results)}\n"))
        if statements:
            first = statements[0]
            kept = list(first.leading_lines)
            while kept and kept[0].comment is None:
                kept.pop(0)
            statements[0] = first.with_changes(leading_lines=kept)
        parameters = [f"{name}: {kind.text}" for name, kind in signature.params]
        if signature.keyword_only and parameters:
            parameters.insert(0, "*")
        if self.target.style == "class":
            parameters.insert(0, "self")
        header = f"{'async ' if plan.is_async else ''}def {plan.service_name}({', '.join(parameters)}) -> {signature.returns.text}:\n    pass\n"
        function = cst.parse_statement(header)
        assert isinstance(function, cst.FunctionDef)
        return function.with_changes(body=cst.IndentedBlock(body=statements))

    def _service_self_aliases(self) -> set[str]:
        """Router names bound to the target service module itself
        (``book_service`` for ``from app.services import books as
        book_service``): inside the service their attributes are local names."""
        return {
            local
            for local, spec in self.plan.bindings.items()
            if spec.qualified == self.target.module and local in self.plan.import_deps
        }

    def _service_imports(self, signature: _Signature) -> list[ImportSpec]:
        specs: list[ImportSpec] = []
        aliases = self._service_self_aliases()
        for name in self.plan.import_deps:
            spec = self.plan.bindings[name]
            if name in aliases or spec.module == self.target.module:
                continue
            specs.append(spec)
        for _name, kind in signature.params:
            specs.extend(kind.imports)
        specs.extend(signature.returns.imports)
        if signature.returns.text == "Any" or any(kind.text == "Any" for _n, kind in signature.params):
            specs.append(ImportSpec("typing", "Any"))
        return specs

    def _dependency_imports(self) -> list[ImportSpec]:
        specs: list[ImportSpec] = []
        for name in self.plan.module_deps:
            statement = next(s for s in self.plan.tree.body if name in _defined_names(s))
            for node in ast.walk(statement):
                if isinstance(node, ast.Name) and node.id in self.plan.bindings:
                    specs.append(self.plan.bindings[node.id])
        return specs

    def _check_same(
        self,
        function: cst.FunctionDef,
        specs: list[ImportSpec],
        dependencies: list[cst.BaseStatement],
        signature: _Signature,
        session_attr: str | None,
        state: ErrorsState,
        existing: str,
    ) -> None:
        """The service already defines the function: fine when it is what
        this extraction would write (running the action twice), else refuse."""
        scratch_state = ErrorsState(state.relative, state.module, ErrorsModule.parse(state.errors.text) or state.errors)
        codemod = AddServiceFunction(
            CodemodContext(),
            function=function,
            target=replace(self.target, exists=False),
            imports=specs,
            dependencies=dependencies,
            session=(session_attr, signature) if session_attr else None,
            session_type=self._session_type() if session_attr else None,
            first_party=self.project.first_party,
        )
        scratch = run_transform(codemod, new_module_text("scratch"))
        scratch = convert_http_errors(scratch, self.target.relative, self.plan.service_name, self.target.class_name, scratch_state, "scratch.py")
        if _function_dump(scratch, self.target.class_name, self.plan.service_name) != _function_dump(
            existing, self.target.class_name, self.plan.service_name
        ):
            owner = f"{self.target.class_name}." if self.target.class_name else ""
            raise Refuse(f"{self.target.relative} already defines `{owner}{self.plan.service_name}` with different code")
        state.used.extend(name for name in scratch_state.used if name not in state.used)

    def _call_args(self, signature: _Signature, session_attr: str | None) -> str:
        names = [name for name, _kind in signature.params]
        if signature.keyword_only:
            return ", ".join(f"{name}={name}" for name in names)
        return ", ".join(names)


# --- the router side ---------------------------------------------------------------


@dataclass
class _Segments:
    function: cst.FunctionDef
    docstring: list[cst.BaseStatement]
    prologue: list[cst.BaseStatement]
    core: list[cst.BaseStatement]
    epilogue: list[cst.BaseStatement]


def _find_function(tree: cst.Module, plan: HandlerPlan) -> tuple[cst.FunctionDef, object]:
    located = locate(tree, plan.func.lineno, plan.tree)
    if located is None:
        raise Refuse("cannot find the handler in the file")
    best: tuple[int, cst.FunctionDef] | None = None
    for node in located.positions:
        if isinstance(node, cst.FunctionDef) and node.name.value == plan.func.name:
            start, end = located.start(node)[0], located.end(node)[0]
            if start <= plan.func.lineno <= end and (best is None or end - start < best[0]):
                best = (end - start, node)
    if best is None:
        raise Refuse("cannot find the handler in the file")
    return best[1], located


def _segments(tree: cst.Module, plan: HandlerPlan) -> _Segments:
    function, _located = _find_function(tree, plan)
    if not isinstance(function.body, cst.IndentedBlock):
        raise Refuse("the handler is written on one line")
    offset = 1 if plan.has_docstring else 0
    bounds = (offset, offset + len(plan.prologue), offset + len(plan.prologue) + len(plan.core))
    parts: dict[str, list[cst.BaseStatement]] = {"docstring": [], "prologue": [], "core": [], "epilogue": []}
    index = 0
    for statement in function.body.body:
        count = len(statement.body) if isinstance(statement, cst.SimpleStatementLine) else 1
        names = {_segment_of(i, bounds) for i in range(index, index + count)}
        if len(names) != 1:
            raise Refuse("a line holds statements on both sides of the cut (`a; b`); split it first")
        parts[names.pop()].append(statement)
        index += count
    if index != len(plan.func.body):
        raise Refuse("the handler's statements could not be matched")
    return _Segments(function, parts["docstring"], parts["prologue"], parts["core"], parts["epilogue"])


def _segment_of(index: int, bounds: tuple[int, int, int]) -> str:
    if index < bounds[0]:
        return "docstring"
    if index < bounds[1]:
        return "prologue"
    if index < bounds[2]:
        return "core"
    return "epilogue"


class ThinHandler(Codemod):
    """Replace the handler's moved statements with one call of the service."""

    DESCRIPTION = "Make the route handler call the service."

    def __init__(
        self,
        context: CodemodContext,
        *,
        plan: HandlerPlan,
        target: ModuleTarget,
        alias: str,
        call_args: str,
        class_session: str | None,
        catch: tuple[str, set[int | None], ImportSpec] | None,
        first_party: frozenset[str] = frozenset(),
    ) -> None:
        super().__init__(context)
        self.first_party = first_party
        self.plan = plan
        self.target = target
        self.alias = alias
        self.call_args = call_args
        self.class_session = class_session
        self.catch = catch

    def transform_module_impl(self, tree: cst.Module) -> cst.Module:
        plan = self.plan
        module = plan.module
        # Positions come from the unchanged text: cut the handler before
        # adding any import.
        segments = _segments(tree, plan)
        imports: list[ImportSpec] = []
        if self.target.style == "class":
            assert self.target.class_name is not None
            service_spec = ImportSpec(self.target.module, self.target.class_name)
        else:
            package, _, stem = self.target.module.rpartition(".")
            service_spec = ImportSpec(package or None, stem, self.alias if self.alias != stem else None)
        _, local = ensure_import(tree, service_spec, module)
        imports.append(service_spec)
        if self.target.style == "class":
            callee = f"{local}({self.class_session or ''}).{plan.service_name}"
        else:
            callee = f"{local}.{plan.service_name}"
        call = f"{'await ' if plan.is_async else ''}{callee}({self.call_args})"
        epilogue_kept = True
        if plan.core_returns or (len(plan.results) == 1 and _returns_exactly(plan.epilogue, plan.results[0])):
            statement = f"return {call}"
            epilogue_kept = False
        elif plan.results:
            statement = f"{', '.join(plan.results)} = {call}"
        else:
            statement = call
        if self.catch is not None:
            framework, statuses, base = self.catch
            catch_specs = [base, *router_catch_imports(framework, statuses)]
            _, renames = ensure_imports(tree, catch_specs, module)
            imports.extend(catch_specs)
            names = {spec.local: renames.get(spec.local, spec.local) for spec in catch_specs}
            handler = router_catch(framework, statuses, names[base.local], names)
            statement = f"try:\n    {statement}\nexcept {names[base.local]} as error:\n    {handler}"
        new_statements = [cst.parse_statement(statement + "\n")]
        body = [*segments.docstring, *segments.prologue, *new_statements, *(segments.epilogue if epilogue_kept else [])]
        function = segments.function
        tree = tree.deep_replace(function, function.with_changes(body=function.body.with_changes(body=body)))  # type: ignore[assignment]
        tree, _ = ensure_imports(tree, imports, module, self.first_party)

        # Constants and helpers that moved: gone from here, or imported back.
        candidates = set(plan.import_deps)
        for name in plan.module_deps:
            statement_index = next(i for i, s in enumerate(tree.body) if name in _cst_defined_names(s))
            removed = tree.body[statement_index]
            body_list = list(tree.body)
            del body_list[statement_index]
            tree = tree.with_changes(body=body_list)
            python = parse_python(tree.code)
            if python is not None and name in _loaded_names(python):
                tree, _ = ensure_import(tree, ImportSpec(self.target.module, name), module, self.first_party)
            candidates |= {n.id for n in ast.walk(parse_python(code_of(removed)) or ast.Module(body=[], type_ignores=[])) if isinstance(n, ast.Name)}
        python = parse_python(tree.code)
        if python is None:
            raise Refuse("the rewritten router does not parse")
        loaded = _loaded_names(python)
        return remove_unused_imports(tree, candidates, lambda name: name in loaded)


_loaded_names = loaded_names


def _returns_exactly(epilogue: list[ast.stmt], name: str) -> bool:
    return (
        len(epilogue) == 1
        and isinstance(epilogue[0], ast.Return)
        and isinstance(epilogue[0].value, ast.Name)
        and epilogue[0].value.id == name
    )


# --- the service side ------------------------------------------------------------


class AddServiceFunction(Codemod):
    """Add the moved code to the service module: its imports, the router
    constants/helpers it uses, and the function (or a method of the
    service class, creating the class when missing)."""

    DESCRIPTION = "Add a service function."

    def __init__(
        self,
        context: CodemodContext,
        *,
        function: cst.FunctionDef,
        target: ModuleTarget,
        imports: list[ImportSpec],
        dependencies: list[cst.BaseStatement],
        session: tuple[str, _Signature] | None,
        session_type: TypeRef | None,
        first_party: frozenset[str] = frozenset(),
    ) -> None:
        super().__init__(context)
        self.first_party = first_party
        self.function = function
        self.target = target
        self.imports = imports
        self.dependencies = dependencies
        self.session = session
        self.session_type = session_type

    def transform_module_impl(self, tree: cst.Module) -> cst.Module:
        specs = list(self.imports)
        if self.session_type is not None:
            specs.extend(self.session_type.imports)
        tree, renames = ensure_imports(tree, specs, self.target.module, self.first_party)
        function = rename(self.function, renames)
        assert isinstance(function, cst.FunctionDef)
        body = list(tree.body)
        existing = {name: index for index, statement in enumerate(body) for name in _cst_defined_names(statement)}
        insert_at = _after_imports(body)
        for dependency in self.dependencies:
            dependency = rename(dependency, renames)  # type: ignore[assignment]
            names = _cst_defined_names(dependency)
            clash = [name for name in names if name in existing]
            if clash:
                if all(code_of(body[existing[name]]).strip() == code_of(dependency).strip() for name in clash):
                    continue
                raise Refuse(f"{self.target.relative} already defines `{clash[0]}` differently")
            body.insert(insert_at, dependency.with_changes(leading_lines=[cst.EmptyLine()] if insert_at else []))  # type: ignore[union-attr]
            insert_at += 1
        if self.target.style != "class":
            body.append(function.with_changes(leading_lines=[cst.EmptyLine(), cst.EmptyLine()]))
            return tree.with_changes(body=body)
        class_name = self.target.class_name
        assert class_name is not None
        index = next((i for i, s in enumerate(body) if isinstance(s, cst.ClassDef) and s.name.value == class_name), None)
        method = function.with_changes(leading_lines=[cst.EmptyLine(indent=False)])
        if index is None:
            lines = [f"class {class_name}:\n"]
            if self.session is not None and self.session_type is not None:
                attr = self.session[0]
                session_text = renames.get(self.session_type.text, self.session_type.text)
                lines.append(f"    def __init__(self, session: {session_text}) -> None:\n        self.{attr} = session\n")
            else:
                lines.append("    pass\n")
            new_class = cst.parse_statement("".join(lines))
            assert isinstance(new_class, cst.ClassDef) and isinstance(new_class.body, cst.IndentedBlock)
            members = [m for m in new_class.body.body if not (isinstance(m, cst.SimpleStatementLine) and isinstance(m.body[0], cst.Pass))]
            if not members:
                method = method.with_changes(leading_lines=[])
            new_class = new_class.with_changes(
                body=new_class.body.with_changes(body=[*members, method]), leading_lines=[cst.EmptyLine(), cst.EmptyLine()]
            )
            body.append(new_class)
            return tree.with_changes(body=body)
        owner = body[index]
        assert isinstance(owner, cst.ClassDef) and isinstance(owner.body, cst.IndentedBlock)
        body[index] = owner.with_changes(body=owner.body.with_changes(body=[*owner.body.body, method]))
        return tree.with_changes(body=body)


class _MovedCode(cst.CSTTransformer):
    """Rewrites on the moved statements: the router's alias of the service
    module itself drops away (``book_service.X`` → ``X``); an early error
    response and the 404 shortcuts become raises the domain error conversion
    understands."""

    def __init__(self, plan: HandlerPlan, self_aliases: set[str]) -> None:
        super().__init__()
        self.plan = plan
        self.self_aliases = self_aliases

    def transform(self, statement: cst.BaseStatement) -> list[cst.BaseStatement]:
        result = statement.visit(self)
        if isinstance(result, cst.FlattenSentinel):
            return list(result.nodes)
        return [result]  # type: ignore[list-item]

    def leave_Attribute(self, original_node: cst.Attribute, updated_node: cst.Attribute) -> cst.BaseExpression:
        if isinstance(updated_node.value, cst.Name) and updated_node.value.value in self.self_aliases:
            return cst.Name(updated_node.attr.value)
        return updated_node

    def leave_Return(self, original_node: cst.Return, updated_node: cst.Return) -> cst.BaseSmallStatement:
        python = parse_python(code_of(original_node).strip())
        if python is None or not python.body or not isinstance(python.body[0], ast.Return):
            return updated_node
        found = error_response(python.body[0], self.plan.imports)
        if found is None:
            return updated_node
        status, detail = found
        code = code_of(original_node).strip()

        def source(node: ast.expr) -> str:
            return ast.get_source_segment(code, node) or ast.unparse(node)

        arguments = f"status_code={source(status)}" + (f", detail={source(detail)}" if detail is not None else "")
        raised = cst.parse_statement(f"raise {SYNTHETIC_ERROR}({arguments})\n")
        assert isinstance(raised, cst.SimpleStatementLine)
        return raised.body[0]

    def leave_SimpleStatementLine(
        self, original_node: cst.SimpleStatementLine, updated_node: cst.SimpleStatementLine
    ) -> cst.BaseStatement | cst.FlattenSentinel[cst.BaseStatement]:
        if len(updated_node.body) != 1 or not isinstance(updated_node.body[0], cst.Assign):
            return updated_node
        python = parse_python(code_of(updated_node.body[0]).strip())
        if python is None or not isinstance(python.body[0], ast.Assign):
            return updated_node
        assign = python.body[0]
        if len(assign.targets) != 1 or not isinstance(assign.targets[0], ast.Name) or not isinstance(assign.value, ast.Call):
            return updated_node
        target = assign.targets[0].id
        call = assign.value
        rewritten = self._query_of_404(call)
        if rewritten is None:
            return updated_node
        query, detail = rewritten
        detail_argument = f", detail={detail}" if detail else ""
        replacement = cst.parse_module(
            f"{target} = {query}\nif {target} is None:\n    raise {SYNTHETIC_ERROR}(status_code=404{detail_argument})\n"
        ).body
        first = replacement[0].with_changes(leading_lines=updated_node.leading_lines)
        return cst.FlattenSentinel([first, *replacement[1:]])

    def _query_of_404(self, call: ast.Call) -> tuple[str, str | None] | None:
        """(the plain query, the 404 detail) for ``db.first_or_404(stmt)``,
        ``db.get_or_404(Model, id)``, ``db.one_or_404(stmt)`` and
        ``get_object_or_404(Model, **lookup)``."""
        func = call.func
        description = next((ast.unparse(k.value) for k in call.keywords if k.arg == "description"), None)
        if isinstance(func, ast.Attribute) and func.attr in FLASK_404_METHODS:
            receiver = ast.unparse(func.value)
            args = ", ".join(ast.unparse(a) for a in call.args)
            if func.attr == "first_or_404":
                return f"{receiver}.session.scalar({args})", description
            if func.attr == "one_or_404":
                return f"{receiver}.session.execute({args}).scalar_one_or_none()", description
            extra = ", ".join(f"{k.arg}={ast.unparse(k.value)}" for k in call.keywords if k.arg not in ("description", None))
            return f"{receiver}.session.get({args}{', ' + extra if extra else ''})", description
        if self.plan.imports.resolve(func) in DJANGO_404_SHORTCUTS and call.args:
            model = call.args[0]
            if not isinstance(model, ast.Name):
                raise Refuse("`get_object_or_404` on a queryset can't be rewritten; pass the model")
            lookups = ", ".join([*(ast.unparse(a) for a in call.args[1:]), *(f"{k.arg}={ast.unparse(k.value)}" if k.arg else f"**{ast.unparse(k.value)}" for k in call.keywords)])
            model_name = self.plan.imports.names.get(model.id, model.id).rsplit(".", 1)[-1]
            return f"{model.id}.objects.filter({lookups}).first()", json.dumps(f"No {model_name} matches the given query.")
        return None


# --- small helpers ------------------------------------------------------------------


def _service_docstring(target: ModuleTarget, resource: str) -> str:
    folder, _, stem = target.relative.rpartition("/")
    if stem in ("services.py", "service.py") and folder:
        return f"Business logic of the {folder.rsplit('/', 1)[-1]} app." if stem == "services.py" else f"Business logic for {folder.rsplit('/', 1)[-1]}."
    return f"Business logic for {resource.replace('_', ' ')}."


def _defined_names(statement: ast.stmt) -> set[str]:
    if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {statement.name}
    if isinstance(statement, ast.Assign):
        return {t.id for t in statement.targets if isinstance(t, ast.Name)}
    if isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name):
        return {statement.target.id}
    return set()


def _cst_defined_names(statement: cst.CSTNode) -> set[str]:
    if isinstance(statement, (cst.FunctionDef, cst.ClassDef)):
        return {statement.name.value}
    if isinstance(statement, cst.SimpleStatementLine):
        names: set[str] = set()
        for small in statement.body:
            if isinstance(small, cst.Assign):
                names.update(t.target.value for t in small.targets if isinstance(t.target, cst.Name))
            elif isinstance(small, cst.AnnAssign) and isinstance(small.target, cst.Name):
                names.add(small.target.value)
        return names
    return set()


def _top_level_statement(tree: cst.Module, python: ast.Module, name: str) -> cst.BaseStatement:
    for statement in tree.body:
        if name in _cst_defined_names(statement):
            return statement.with_changes(leading_lines=[])  # type: ignore[return-value]
    raise Refuse(f"cannot find `{name}` in the router module")


def _after_imports(body: list[cst.BaseStatement]) -> int:
    position = 0
    for index, statement in enumerate(body):
        if isinstance(statement, cst.SimpleStatementLine):
            smalls = statement.body
            is_doc = index == 0 and isinstance(smalls[0], cst.Expr) and isinstance(smalls[0].value, (cst.SimpleString, cst.ConcatenatedString))
            if is_doc or all(isinstance(s, (cst.Import, cst.ImportFrom)) for s in smalls):
                position = index + 1
                continue
        break
    return position


def _bound_names(text: str) -> set[str]:
    tree = parse_python(text)
    if tree is None:
        return set()
    return {(a.asname or a.name).split(".", 1)[0] for s in tree.body if isinstance(s, (ast.Import, ast.ImportFrom)) for a in s.names}


def _drop_unused_imports(text: str, names: set[str]) -> str:
    python = parse_python(text)
    if python is None or not names:
        return text
    loaded = _loaded_names(python)
    return remove_unused_imports(cst.parse_module(text), names, lambda name: name in loaded).code


def _defines(text: str, class_name: str | None, name: str) -> bool:
    return _function_dump(text, class_name, name) is not None


def _function_dump(text: str, class_name: str | None, name: str) -> str | None:
    tree = parse_python(text)
    if tree is None:
        return None
    scope: list[ast.stmt] = tree.body
    if class_name is not None:
        owner = next((s for s in tree.body if isinstance(s, ast.ClassDef) and s.name == class_name), None)
        if owner is None:
            return None
        scope = owner.body
    for statement in scope:
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)) and statement.name == name:
            return ast.dump(statement, include_attributes=False)
    return None
