"""The deterministic refactors in the editor: code actions
``refactor.extract.service`` and ``refactor.rewrite.repositoryMethod``, and
the commands ``stackguard.extractToService`` / ``stackguard.addRepositoryMethod``.

Translation only: what moves where is ``stackguard.refactor``. Listing is
cheap (``ast`` checks, no libcst); the edit is computed on resolve when the
client resolves edits, otherwise the action carries the command, which
computes it and sends ``workspace/applyEdit``. Edits are built by
``RulesFeature.workspace_edit`` (versions, CreateFile when the client can
create files). A client that cannot create files through LSP gets the new
files written on disk by the server, told with ``window/showMessage``, and
the rest as a normal edit.

The rules feature owns ``textDocument/codeAction``; it calls
``extra_code_actions`` and, for payload kinds this feature owns,
``resolve``.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable
from typing import Any, TypeVar

from lsprotocol import types
from pygls.capabilities import get_capability

from ...analysis.project import ProjectAnalyzer
from ...fixes import Fix
from ...refactor import ProjectView, RefactorRefusal
from ...refactor.extract_service import KIND as EXTRACT_KIND
from ...refactor.extract_service import (
    action_title,
    check_extraction,
    extract_to_service,
    planned_target,
)
from ...refactor.handler_plan import HandlerPlan
from ...refactor.repository_method import KIND as REPOSITORY_KIND
from ...refactor.repository_method import (
    QueryPlan,
    add_standard_method,
    check_query,
    missing_standard_methods,
    model_at,
    move_query_to_repository,
)
from ..new_files import create_files, remove_files
from ..server import CommandError, Feature, StackguardServer
from ..workspace_state import path_to_uri, uri_to_path
from .rules_feature import RulesFeature, from_client_position

log = logging.getLogger(__name__)

EXTRACT_COMMAND = "stackguard.extractToService"
REPOSITORY_COMMAND = "stackguard.addRepositoryMethod"
CODE_ACTION_KINDS = (EXTRACT_KIND, REPOSITORY_KIND)
# Payload kinds in CodeAction.data that ``resolve`` answers.
PAYLOAD_KINDS = frozenset({"extractService", "repositoryQuery", "repositoryMethod"})
# Refusals that mean "nothing of ours here", not "shown disabled".
_NOT_HERE = ("there is no route handler here", "there is no database query here", "there is no query inside a function here")
INDEX_TIMEOUT_S = 30.0
T = TypeVar("T")


class RefactorFeature(Feature):
    name = "refactor"

    def __init__(self, server: StackguardServer) -> None:
        super().__init__(server)
        server.register_command(EXTRACT_COMMAND, self.extract_command)
        server.register_command(REPOSITORY_COMMAND, self.repository_command)

    # -- plumbing ----------------------------------------------------------------
    def _rules(self) -> RulesFeature:
        rules = self.server.get_feature(RulesFeature)
        if not isinstance(rules, RulesFeature):
            raise CommandError("the rules feature is not running")
        return rules

    async def _project(self, uri: str) -> tuple[ProjectView, str] | None:
        """The project view of the root holding ``uri`` (index built, open
        documents overlaid) and the document's path relative to it."""
        rules = self.server.get_feature(RulesFeature)
        path = uri_to_path(uri)
        if not isinstance(rules, RulesFeature) or path is None:
            return None
        analyzer = rules.analyzer_for(uri)
        if analyzer is None:
            return None
        relative = analyzer.relative(path)
        if relative is None:
            return None
        await self._ensure_index(analyzer)
        overlay: dict[str, str] = {}
        for open_uri, document in list(self.server.workspace.text_documents.items()):
            open_path = uri_to_path(open_uri)
            open_relative = analyzer.relative(open_path) if open_path is not None else None
            if open_relative is not None:
                overlay[open_relative] = document.source
        # The analyzer's lock: its index changes while documents are analysed.
        return ProjectView(analyzer.root, analyzer.index, overlay, lock=analyzer._lock), relative

    async def _ensure_index(self, analyzer: ProjectAnalyzer) -> None:
        """Refactors follow the whole project's conventions: wait for the cold
        index (the rules feature builds it), building it here if needed."""
        if analyzer.indexed:
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 2.0
        while not analyzer.indexed and loop.time() < deadline:
            await asyncio.sleep(0.05)
        if not analyzer.indexed:
            await asyncio.wait_for(asyncio.to_thread(analyzer.build_index), INDEX_TIMEOUT_S)

    def _disabled_support(self) -> bool:
        capabilities = getattr(self.server, "client_capabilities", None)
        return bool(get_capability(capabilities, "text_document.code_action.disabled_support", False)) if capabilities else False

    # -- code actions ---------------------------------------------------------------
    async def extra_code_actions(self, uri: str, params: types.CodeActionParams, text: str) -> list[types.CodeAction]:
        """The refactor actions at ``params.range`` of the document (its
        current ``text``)."""
        if not uri.endswith(".py"):
            return []
        only = params.context.only
        wants = lambda kind: only is None or any(kind == o or kind.startswith(f"{o}.") for o in only)
        if not (wants(EXTRACT_KIND) or wants(REPOSITORY_KIND)):
            return []
        found = await self._project(uri)
        if found is None:
            return []
        project, relative = found
        lines = text.splitlines(keepends=True) or [""]
        codec = self.server.workspace.position_codec
        start = from_client_position(lines, params.range.start, codec)
        end = from_client_position(lines, params.range.end, codec)
        document = self.server.workspace.text_documents.get(uri)
        version = document.version if document is not None else None
        actions: list[types.CodeAction] = []
        if wants(EXTRACT_KIND):
            actions.extend(await _off_loop(project, self._extract_actions, project, relative, uri, version, start, params))
        if wants(REPOSITORY_KIND):
            actions.extend(await _off_loop(project, self._repository_actions, project, relative, uri, version, start, end, params))
        return actions

    def _extract_actions(
        self,
        project: ProjectView,
        relative: str,
        uri: str,
        version: int | None,
        start: tuple[int, int],
        params: types.CodeActionParams,
    ) -> list[types.CodeAction]:
        checked = check_extraction(project, relative, start[0])
        if isinstance(checked, RefactorRefusal):
            if checked.reason in _NOT_HERE or not self._disabled_support():
                return []
            return [
                types.CodeAction(
                    title="Extract route handler to a service",
                    kind=EXTRACT_KIND,
                    disabled=types.CodeActionDisabled(reason=checked.reason),
                )
            ]
        plan: HandlerPlan = checked
        target = planned_target(project, plan)
        title = action_title(plan, target)
        handler_lines = (min([plan.func.lineno, *(d.lineno for d in plan.func.decorator_list)]), plan.func.end_lineno or plan.func.lineno)
        diagnostics = [
            d
            for d in params.context.diagnostics
            if d.source == "stackguard" and d.code in ("SG101", "SG102") and handler_lines[0] <= d.range.start.line + 1 <= handler_lines[1]
        ]
        argument = {"uri": uri, "range": _range_json(params.range)}
        action = types.CodeAction(title=title, kind=EXTRACT_KIND, diagnostics=diagnostics or None, is_preferred=bool(diagnostics) or None)
        self._defer(action, {"kind": "extractService", "version": version, **argument}, EXTRACT_COMMAND, argument)
        return [action]

    def _repository_actions(
        self,
        project: ProjectView,
        relative: str,
        uri: str,
        version: int | None,
        start: tuple[int, int],
        end: tuple[int, int],
        params: types.CodeActionParams,
    ) -> list[types.CodeAction]:
        actions: list[types.CodeAction] = []
        checked = check_query(project, relative, start, end)
        if isinstance(checked, QueryPlan):
            argument = {"uri": uri, "range": _range_json(params.range)}
            action = types.CodeAction(title=checked.title, kind=REPOSITORY_KIND)
            self._defer(action, {"kind": "repositoryQuery", "version": version, **argument}, REPOSITORY_COMMAND, argument)
            actions.append(action)
        elif checked.reason not in _NOT_HERE and self._disabled_support():
            actions.append(
                types.CodeAction(
                    title="Move query to a repository method", kind=REPOSITORY_KIND, disabled=types.CodeActionDisabled(reason=checked.reason)
                )
            )
        model = model_at(project, relative, start[0])
        if model is not None:
            missing = missing_standard_methods(project, model)
            if isinstance(missing, RefactorRefusal):
                if self._disabled_support():
                    actions.append(
                        types.CodeAction(
                            title=f"Add {model}Repository methods", kind=REPOSITORY_KIND, disabled=types.CodeActionDisabled(reason=missing.reason)
                        )
                    )
                return actions
            for method in missing:
                argument = {"uri": uri, "model": method.model, "name": method.name}
                action = types.CodeAction(title=method.title, kind=REPOSITORY_KIND)
                self._defer(action, {"kind": "repositoryMethod", "version": version, **argument}, REPOSITORY_COMMAND, argument)
                actions.append(action)
        return actions

    def _defer(self, action: types.CodeAction, payload: dict[str, Any], command: str, argument: dict[str, Any]) -> None:
        """Edit-less with ``data`` for clients that resolve edits, else the command."""
        if self.server.client_support.code_action_resolve_edit:
            action.data = payload
        else:
            action.command = types.Command(title=action.title, command=command, arguments=[argument])

    async def resolve(self, action: types.CodeAction) -> types.CodeAction | None:
        """``codeAction/resolve`` for this feature's payloads; None for others."""
        payload = action.data if isinstance(action.data, dict) else None
        if payload is None or payload.get("kind") not in PAYLOAD_KINDS:
            return None
        try:
            result = await self._compute(payload)
        except CommandError as exc:
            log.info("refactor resolve: %s", exc)
            return action
        if isinstance(result, RefactorRefusal):
            self.server.log(f"{action.title}: {result.reason}")
            return action
        edit = self._rules().workspace_edit(result, self._open_texts(result))
        if edit is None:
            # The client resolves edits but cannot create files: the command
            # writes them itself.
            command = EXTRACT_COMMAND if payload["kind"] == "extractService" else REPOSITORY_COMMAND
            argument = {k: v for k, v in payload.items() if k not in ("kind", "version")}
            action.command = types.Command(title=action.title, command=command, arguments=[argument])
            return action
        action.edit = edit
        return action

    async def _compute(self, payload: dict[str, Any]) -> Fix | RefactorRefusal:
        uri = payload.get("uri")
        if not isinstance(uri, str):
            raise CommandError("expected `uri` (a document URI)")
        found = await self._project(uri)
        if found is None:
            raise CommandError(f"{uri} is not in a workspace folder")
        project, relative = found
        text = project.text(relative)
        if text is None:
            raise CommandError(f"cannot read {uri}")
        kind = payload.get("kind")
        if kind == "extractService":
            start, _end = self._range(payload, text)
            return await _off_loop(project, extract_to_service, project, relative, start[0])
        if kind == "repositoryMethod":
            model, name = payload.get("model"), payload.get("name")
            if not isinstance(model, str) or not isinstance(name, str):
                raise CommandError("expected `model` and `name`")
            return await _off_loop(project, add_standard_method, project, model, name)
        start, end = self._range(payload, text)
        name = payload.get("name") if isinstance(payload.get("name"), str) else None
        return await _off_loop(project, move_query_to_repository, project, relative, start, end, name)

    def _range(self, payload: dict[str, Any], text: str) -> tuple[tuple[int, int], tuple[int, int]]:
        raw = payload.get("range")
        try:
            client_range = types.Range(
                types.Position(int(raw["start"]["line"]), int(raw["start"]["character"])),
                types.Position(int(raw["end"]["line"]), int(raw["end"]["character"])),
            )
        except (TypeError, KeyError, ValueError):
            raise CommandError("expected `range` ({start: {line, character}, end: {line, character}})") from None
        lines = text.splitlines(keepends=True) or [""]
        codec = self.server.workspace.position_codec
        return from_client_position(lines, client_range.start, codec), from_client_position(lines, client_range.end, codec)

    def _open_texts(self, fix: Fix) -> dict[str, str]:
        texts: dict[str, str] = {}
        for file_edit in fix.edits:
            uri = path_to_uri(file_edit.path)
            document = self.server.workspace.text_documents.get(uri)
            if document is not None:
                texts[uri] = document.source
        return texts

    # -- commands -----------------------------------------------------------------------
    async def extract_command(self, argument: dict[str, Any]) -> dict[str, Any]:
        if not isinstance(argument.get("uri"), str) or not isinstance(argument.get("range"), dict):
            raise CommandError("expected {uri, range}")
        return await self._run({**argument, "kind": "extractService"}, "stackguard: extract to service")

    async def repository_command(self, argument: dict[str, Any]) -> dict[str, Any]:
        if not isinstance(argument.get("uri"), str):
            raise CommandError("expected {uri, range?, model?, name?, description?}")
        if isinstance(argument.get("model"), str):
            if not isinstance(argument.get("name"), str):
                found = await self._project(argument["uri"])
                missing = await _off_loop(found[0], missing_standard_methods, found[0], argument["model"]) if found else []
                names = ", ".join(m.name for m in missing) if isinstance(missing, list) else missing.reason
                raise CommandError(f"expected `name`, one of: {names or 'none missing'}")
            kind = "repositoryMethod"
        elif isinstance(argument.get("range"), dict):
            kind = "repositoryQuery"
        else:
            raise CommandError("expected `range` (a query expression) or `model` and `name`")
        # ``description`` is for the agent variant; the deterministic action names and writes the method itself.
        return await self._run({**argument, "kind": kind}, "stackguard: add repository method")

    async def _run(self, payload: dict[str, Any], label: str) -> dict[str, Any]:
        result = await self._compute(payload)
        if isinstance(result, RefactorRefusal):
            self._show(f"stackguard: {result.reason}", types.MessageType.Warning)
            return {"applied": False, "reason": result.reason}
        return await self.apply_fix(result, label)

    async def apply_fix(self, fix: Fix, label: str) -> dict[str, Any]:
        """Send the fix with ``workspace/applyEdit``. New files go in the
        edit as CreateFile where the client supports it; otherwise they are
        written here first (and removed again if the client rejects the rest)."""
        rules = self._rules()
        texts = self._open_texts(fix)
        edit = rules.workspace_edit(fix, texts)
        created: list[str] = []
        if edit is None:
            remaining = tuple(file_edit for file_edit in fix.edits if not file_edit.create)
            new_files = [(e.path, e.new_text or "") for e in fix.edits if e.create]
            created, problem = await asyncio.to_thread(create_files, new_files)
            if problem is not None:
                return {"applied": False, "reason": problem}
            edit = rules.workspace_edit(Fix(fix.title, fix.code, remaining, fix.safe, fix.kind), texts)
            if edit is None:
                remove_files(created)
                return {"applied": False, "reason": "the client cannot apply this edit"}
        result = await self.server.workspace_apply_edit_async(types.ApplyWorkspaceEditParams(edit=edit, label=label))
        if not result.applied:
            remove_files(created)
            return {"applied": False, "reason": result.failure_reason or "the client did not apply the edit", "created": []}
        if created:
            names = ", ".join(os.path.basename(path) for path in created)
            self._show(f"stackguard created {names} on disk (this editor cannot create files through LSP)", types.MessageType.Info)
        return {"applied": True, "reason": None, "created": [path_to_uri(path) for path in created]}

    def _show(self, message: str, level: types.MessageType) -> None:
        self.server.log(message, level)
        try:
            self.server.window_show_message(types.ShowMessageParams(type=level, message=message))
        except Exception as exc:  # noqa: BLE001  # no client attached (unit tests) or the pipe is gone
            log.debug("showMessage failed: %r", exc)


async def _off_loop(project: ProjectView, function: Callable[..., T], *args: Any) -> T:
    """Run ``function`` in a worker thread, holding the project's index lock."""

    def locked() -> T:
        with project.reading():
            return function(*args)

    return await asyncio.to_thread(locked)


def _range_json(client_range: types.Range) -> dict[str, Any]:
    return {
        "start": {"line": client_range.start.line, "character": client_range.start.character},
        "end": {"line": client_range.end.line, "character": client_range.end.character},
    }
