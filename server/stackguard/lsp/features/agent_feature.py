"""The "(agent)" code actions and the ``stackguard.agent.run`` command.

Translation only: the agent itself lives in ``stackguard.agent``.

Code actions (``extra_code_actions``, called from the codeAction handler):

* "Extract to service (agent)" (``refactor.extract.service.agent``) on a
  route handler in a router module;
* "Move data access to a repository method (agent)"
  (``refactor.rewrite.repositoryMethod.agent``) in a function of a router or
  service module that calls the database itself;
* "Generate migration (agent)" (``source.generateMigration.agent``) on an
  SG601 diagnostic, or in a model module of a project with a migration tool;
* "Fix with agent: SGxxx" (``quickfix``) on every stackguard diagnostic.

Each carries the command ``stackguard.agent.run`` with one argument object
``{action, uri, range?, finding?, message?, description?, version?}``; the
agent never runs while a client merely lists actions. With ``agent.enabled``
false there are no agent actions. Without an API key in the variable named by
``agent.apiKeyEnv`` they are listed with ``disabled.reason`` ("Set
ANTHROPIC_API_KEY to enable agent actions") for clients that advertise
``codeAction.disabledSupport``, and left out for the others.

One command serves every action (``action``: ``extractToService``,
``addRepositoryMethod``, ``generateMigration`` or ``fixFinding``), so editors
bind one command and the argument says what to do. The run reports
``$/progress`` per step (a fresh uuid token via
``window/workDoneProgress/create``, only to clients with
``window.workDoneProgress``; cancellable). ``window/workDoneProgress/cancel``
or ``$/cancelRequest`` aborts the HTTP call in flight and applies nothing.
A validated change goes out as one ``workspace/applyEdit``: text edits
annotated with a change annotation (``needsConfirmation: true``, label
"stackguard agent: …") where the client supports change annotations, so VS
Code opens its refactor preview, and ``CreateFile`` operations where it
supports resource operations. A client that cannot create files through LSP
gets new files written on disk by the server, as the refactors do
(``lsp/new_files.py``), and removed again if it rejects the rest; they are
listed in ``created``. The result is ``{status, applied, reason?, created?,
summary?, files?, usage: {inputTokens, outputTokens, cacheReadInputTokens,
cacheCreationInputTokens, totalTokens}, turns, repairs, action}`` with status
one of applied, rejected, gave_up, error, cancelled, disabled, unsupported.
The API key never leaves the server process except in the API call itself.
"""

from __future__ import annotations

import ast
import asyncio
import logging
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.capabilities import get_capability

from ...agent.actions import (
    ACTIONS,
    ActionRequest,
    ActionResult,
    ActionRunner,
    enclosing_function,
)
from ...agent.client import (
    AgentApiError,
    AnthropicClient,
    missing_key_reason,
    preload_sdk,
    read_api_key,
    redact,
)
from ...agent.proposal import Proposal
from ...analysis.project import ProjectAnalyzer
from ...config import AgentSettings
from ...fixes.edits import text_edits
from ...rules import Finding
from ..new_files import create_files, remove_files
from ..server import CommandError, Feature, StackguardServer
from ..workspace_state import path_to_uri, uri_to_path
from .rules_feature import SOURCE, RulesFeature, expand_finding, to_client_range
from .stack_feature import StackFeature

logger = logging.getLogger(__name__)

AGENT_COMMAND = "stackguard.agent.run"
KIND_EXTRACT = "refactor.extract.service.agent"
KIND_REPOSITORY = "refactor.rewrite.repositoryMethod.agent"
KIND_MIGRATION = "source.generateMigration.agent"
# For the codeAction provider's codeActionKinds (quickfix is already there).
AGENT_CODE_ACTION_KINDS = [KIND_EXTRACT, KIND_REPOSITORY, KIND_MIGRATION]
ANNOTATION_ID = "stackguard-agent"
# How long a command waits for the first index of a project.
INDEX_WAIT_S = 60.0

ClientFactory = Callable[..., Any]

_TITLES = {
    "extractToService": "Extract to service (agent)",
    "addRepositoryMethod": "Move data access to a repository method (agent)",
    "generateMigration": "Generate migration (agent)",
}


class _Progress:
    """``$/progress`` for one agent run, or nothing for clients without
    ``window.workDoneProgress``. Cancelling it calls ``on_cancel``."""

    def __init__(self, server: StackguardServer, on_cancel: Callable[[], None]) -> None:
        self._server = server
        self._on_cancel = on_cancel
        self.token: str | None = None

    async def begin(self, title: str) -> None:
        if not self._server.client_support.work_done_progress:
            return
        token = str(uuid.uuid4())
        try:
            await self._server.work_done_progress.create_async(token)
        except Exception as exc:  # noqa: BLE001  # the client refused; run without progress
            self._server.log(f"window/workDoneProgress/create failed: {exc}", types.MessageType.Warning)
            return
        self.token = token
        self._server.work_done_progress.begin(
            token, types.WorkDoneProgressBegin(title=title, message="Starting", cancellable=True, percentage=0)
        )
        future = self._server.work_done_progress.tokens.get(token)
        if future is not None:
            loop = asyncio.get_running_loop()
            on_cancel = self._on_cancel

            def on_done(done: Any) -> None:
                if done.cancelled():
                    loop.call_soon_threadsafe(on_cancel)

            future.add_done_callback(on_done)

    def report(self, message: str, percentage: int | None) -> None:
        if self.token is not None:
            self._server.work_done_progress.report(
                self.token,
                types.WorkDoneProgressReport(message=redact(message), percentage=percentage, cancellable=True),
            )

    def end(self, message: str) -> None:
        if self.token is not None:
            self._server.work_done_progress.end(self.token, types.WorkDoneProgressEnd(message=redact(message)))
            self._server.work_done_progress.tokens.pop(self.token, None)
            self.token = None


class AgentFeature(Feature):
    name = "agent"

    def __init__(self, server: StackguardServer, client_factory: ClientFactory | None = None) -> None:
        super().__init__(server)
        self.client_factory: ClientFactory = client_factory or AnthropicClient.from_settings
        self._running: set[asyncio.Task[Any]] = set()
        self._spans: dict[str, tuple[str, Any]] = {}
        server.register_command(AGENT_COMMAND, self.run_command)

    # -- helpers ----------------------------------------------------------------------------
    def _agent_settings(self, uri: str) -> AgentSettings:
        folder = self.server.state.folder_for(uri)
        return folder.resolved.settings.agent if folder is not None else AgentSettings()

    def _disabled_support(self) -> bool:
        try:
            caps = self.server.client_capabilities
        except Exception:  # noqa: BLE001  # before initialize
            return False
        return bool(get_capability(caps, "text_document.code_action.disabled_support", False))

    def _analyzer(self, uri: str) -> ProjectAnalyzer | None:
        rules = self.server.get_feature(RulesFeature)
        if not isinstance(rules, RulesFeature):
            return None
        return rules.analyzer_for(uri)

    def _function_at(self, uri: str, text: str, line: int) -> Any:
        cached = self._spans.get(uri)
        if cached is None or cached[0] != text:
            cached = (text, {})
            self._spans[uri] = cached
        spans = cached[1]
        if line not in spans:
            spans[line] = enclosing_function(text, line)
        return spans[line]

    # -- code actions -----------------------------------------------------------------------
    def extra_code_actions(self, uri: str, params: types.CodeActionParams, text: str) -> list[types.CodeAction]:
        """The agent's code actions for ``params`` on the document ``uri``
        (whose current text is ``text``), already filtered by
        ``params.context.only``."""
        if not uri.endswith(".py"):
            return []
        settings = self._agent_settings(uri)
        if not settings.enabled:
            return []
        reason = None if read_api_key(settings.api_key_env) else missing_key_reason(settings.api_key_env)
        if reason is not None and not self._disabled_support():
            return []
        if reason is None:
            preload_sdk()
        only = params.context.only

        def wants(kind: str) -> bool:
            return only is None or any(kind == o or kind.startswith(f"{o}.") for o in only)

        document = self.server.workspace.text_documents.get(uri)
        version = document.version if document is not None else None
        analyzer = self._analyzer(uri)
        path = uri_to_path(uri)
        relative = (analyzer.relative(str(path)) if analyzer is not None and path is not None else None) or ""
        # From the document's own text while the index does not hold it.
        summary = _summary_of(analyzer, relative, text) if analyzer is not None and relative else None
        layer = summary.layer if summary is not None else None
        line = params.range.start.line + 1
        range_json = {
            "start": {"line": params.range.start.line, "character": params.range.start.character},
            "end": {"line": params.range.end.line, "character": params.range.end.character},
        }
        actions: list[types.CodeAction] = []

        def add(title: str, kind: str, argument: dict[str, Any], diagnostics: list[types.Diagnostic] | None = None) -> None:
            action = types.CodeAction(title=title, kind=kind, diagnostics=diagnostics)
            if reason is not None:
                action.disabled = types.CodeActionDisabled(reason=reason)
            else:
                action.command = types.Command(title=title, command=AGENT_COMMAND, arguments=[argument])
            actions.append(action)

        base = {"uri": uri, "range": range_json, "version": version}
        wants_refactor = wants(KIND_EXTRACT) or wants(KIND_REPOSITORY)
        function = self._function_at(uri, text, line) if wants_refactor and layer in ("router", "service") else None
        if function is not None:
            is_handler = summary is not None and function.name in summary.handlers
            if layer == "router" and is_handler and wants(KIND_EXTRACT):
                add(_TITLES["extractToService"], KIND_EXTRACT, {**base, "action": "extractToService"})
            if function.touches_database and wants(KIND_REPOSITORY):
                add(_TITLES["addRepositoryMethod"], KIND_REPOSITORY, {**base, "action": "addRepositoryMethod"})
        profile = analyzer.profile if analyzer is not None else None
        if wants(KIND_MIGRATION):
            # On an SG601 (models and migrations disagree), or anywhere in a
            # model module of a project with a migration tool.
            unmigrated = next(
                (d for d in params.context.diagnostics if d.source == SOURCE and d.code == "SG601"), None
            )
            if unmigrated is not None:
                argument = {**base, "action": "generateMigration", "message": unmigrated.message}
                data = unmigrated.data if isinstance(unmigrated.data, dict) else {}
                if isinstance(data.get("finding"), dict):
                    argument["finding"] = data["finding"]
                add(_TITLES["generateMigration"], KIND_MIGRATION, argument, [unmigrated])
            elif layer == "model" and profile is not None and profile.migrations:
                add(_TITLES["generateMigration"], KIND_MIGRATION, {**base, "action": "generateMigration"})
        if wants(types.CodeActionKind.QuickFix):
            for diagnostic in params.context.diagnostics:
                if diagnostic.source != SOURCE or not isinstance(diagnostic.code, str) or not diagnostic.code.startswith("SG"):
                    continue
                data = diagnostic.data if isinstance(diagnostic.data, dict) else {}
                argument = {
                    "action": "fixFinding",
                    "uri": uri,
                    "version": version,
                    "message": diagnostic.message,
                    "range": {
                        "start": {"line": diagnostic.range.start.line, "character": diagnostic.range.start.character},
                        "end": {"line": diagnostic.range.end.line, "character": diagnostic.range.end.character},
                    },
                    "code": diagnostic.code,
                }
                if isinstance(data.get("finding"), dict):
                    argument["finding"] = data["finding"]
                add(f"Fix with agent: {diagnostic.code}", types.CodeActionKind.QuickFix, argument, [diagnostic])
        return actions

    # -- the command -----------------------------------------------------------------------
    def _watch_request(self, on_cancel: Callable[[], None]) -> None:
        """Call ``on_cancel`` when the client cancels the current request.
        pygls cancels only the request's outer future on $/cancelRequest, not
        the command's own task; must run before the command's first await."""
        protocol = self.server.protocol
        msg_id = protocol.msg_id
        request = getattr(protocol, "_request_futures", {}).get(msg_id) if msg_id is not None else None
        if request is None:
            return
        loop = asyncio.get_running_loop()

        def on_done(done: Any) -> None:
            if done.cancelled():
                loop.call_soon_threadsafe(on_cancel)

        request.add_done_callback(on_done)

    async def run_command(self, argument: dict[str, Any]) -> dict[str, Any]:
        cancelled_by: list[str] = []
        runner_task: list[asyncio.Task[Any]] = []

        def cancel(source: str) -> None:
            if not cancelled_by:
                cancelled_by.append(source)
            for task in runner_task:
                task.cancel()

        self._watch_request(lambda: cancel("request"))
        action = argument.get("action")
        uri = argument.get("uri")
        if action not in ACTIONS:
            raise CommandError(f"action must be one of {', '.join(ACTIONS)}")
        if not isinstance(uri, str):
            raise CommandError("expected {action, uri, range?, finding?, message?, description?}")
        settings = self._agent_settings(uri)
        base: dict[str, Any] = {"action": action, "applied": False, "usage": _empty_usage(), "turns": 0, "repairs": 0}
        if not settings.enabled:
            return {**base, "status": "disabled", "reason": "agent actions are turned off (agent.enabled = false)"}
        if read_api_key(settings.api_key_env) is None:
            reason = missing_key_reason(settings.api_key_env)
            self.server.show_message_once(f"stackguard: {reason}", types.MessageType.Warning)
            return {**base, "status": "disabled", "reason": reason}
        path = uri_to_path(uri)
        if path is None:
            raise CommandError(f"{uri} is not a file URI")
        text, version = self._document(uri, path)
        if text is None:
            raise CommandError(f"cannot read {uri}")
        folder = self.server.state.folder_for(uri)
        stack = self.server.get_feature(StackFeature)
        if folder is not None and isinstance(stack, StackFeature):
            # The prompt describes the detected stack: not before it is known.
            loop = asyncio.get_running_loop()
            deadline = loop.time() + INDEX_WAIT_S
            while folder.detections == 0 and loop.time() < deadline:
                await asyncio.sleep(0.05)
            await stack.wait_for_detection(folder)
        analyzer = self._analyzer(uri)
        if analyzer is not None and not analyzer.indexed:
            await self._wait_for_index(analyzer)
        root = analyzer.root if analyzer is not None else (folder.path if folder is not None else path.parent)
        relative = (analyzer.relative(str(path)) if analyzer is not None else None) or _relative(root, path)
        if relative is None:
            raise CommandError(f"{uri} is outside the workspace")
        request = ActionRequest(
            action=action,
            root=Path(root),
            relative=relative,
            text=text,
            finding=self._finding(argument, uri, analyzer),
            description=argument.get("description") if isinstance(argument.get("description"), str) else None,
        )
        start, end = _lines_of(argument.get("range"))
        request.start_line, request.end_line = start, end
        if action == "fixFinding" and request.finding is None:
            raise CommandError("fixFinding needs the diagnostic's finding (its data.finding) and message")
        overlay, versions = self._overlay(Path(root))
        if version is not None:
            versions[relative] = version
        title = ACTIONS[action].title
        progress = _Progress(self.server, lambda: cancel("progress"))
        await progress.begin(f"stackguard agent: {title}")

        def on_retry(attempt: int, wait: float, reason: str) -> None:
            progress.report(f"API error ({reason}); retrying in {wait:.0f}s", None)

        try:
            # Building the first client imports the SDK, which takes seconds:
            # not on the event loop.
            client = await asyncio.to_thread(self.client_factory, settings, on_retry=on_retry)
        except AgentApiError as exc:
            progress.end(exc.message)
            return {**base, "status": "disabled" if exc.kind == "missing-key" else "error", "reason": exc.message}
        runner = ActionRunner(
            request,
            analyzer=analyzer,
            settings=settings,
            client=client,
            overlay=overlay,
            progress=progress.report,
        )
        task = asyncio.ensure_future(runner.run())
        runner_task.append(task)
        self._running.add(task)
        if cancelled_by:
            task.cancel()
        try:
            result: ActionResult = await task
        except asyncio.CancelledError:
            progress.end("Cancelled; nothing was applied")
            out = {**base, "status": "cancelled", "reason": "cancelled; nothing was applied"}
            out.update(usage=runner.usage.to_dict(), turns=runner.turns)
            self._log_usage(title, "cancelled", runner.usage.to_dict(), runner.turns)
            if not cancelled_by:
                raise  # the server itself is shutting down
            return out
        except Exception as exc:  # noqa: BLE001  # a bug in the agent must not take the server down
            logger.error("agent action failed: %s", redact(f"{type(exc).__name__}: {exc}"))
            progress.end("Failed")
            return {**base, "status": "error", "reason": redact(f"the agent failed: {type(exc).__name__}: {exc}")}
        finally:
            self._running.discard(task)
            try:
                await client.aclose()
            except Exception:  # noqa: BLE001, S110  # closing a client that already failed
                pass
        out = {**base, **result.to_dict(), "applied": False}
        if result.status != "proposed" or result.proposal is None:
            out["status"] = result.status
            progress.end(f"Gave up: {result.reason}" if result.status == "gave_up" else f"Failed: {result.reason}")
            self._log_usage(title, result.status, out["usage"], result.turns)
            self._tell(f"stackguard agent: {title}: {result.reason}", types.MessageType.Warning)
            return out
        progress.report("Sending the change to the editor for review", 99)
        edit, problem, new_files = self._workspace_edit(result.proposal, title, versions)
        if problem is not None:
            progress.end(problem)
            out.update(status="unsupported", reason=problem)
            self._tell(f"stackguard agent: {title}: {problem}", types.MessageType.Warning)
            return out
        # New files this editor cannot create through LSP: written here,
        # removed again if it rejects the rest (lsp/new_files.py).
        created, problem = await asyncio.to_thread(create_files, new_files) if new_files else ([], None)
        if problem is not None:
            progress.end(problem)
            out.update(status="error", reason=problem)
            self._tell(f"stackguard agent: {title}: {problem}", types.MessageType.Warning)
            return out
        applied = types.ApplyWorkspaceEditResult(applied=True)
        try:
            if edit is not None:
                applied = await self.server.workspace_apply_edit_async(
                    types.ApplyWorkspaceEditParams(edit=edit, label=f"stackguard agent: {title}")
                )
        except asyncio.CancelledError:
            remove_files(created)
            progress.end("Cancelled")
            raise
        except Exception as exc:  # noqa: BLE001  # the client answered with an error
            remove_files(created)
            progress.end("The editor did not apply the change")
            out.update(status="rejected", reason=redact(f"workspace/applyEdit failed: {exc}"))
            return out
        if applied.applied:
            out.update(status="applied", applied=True, created=[path_to_uri(path) for path in created])
            progress.end(f"Applied: {result.proposal.summary}")
            if created:
                names = ", ".join(Path(path).name for path in created)
                self._tell(
                    f"stackguard agent created {names} on disk (this editor cannot create files through LSP)",
                    types.MessageType.Info,
                )
        else:
            remove_files(created)
            out.update(status="rejected", reason=applied.failure_reason or "the editor did not apply the change")
            progress.end("Not applied")
        self._log_usage(title, out["status"], out["usage"], result.turns)
        return out

    # -- command helpers ------------------------------------------------------------------
    def _document(self, uri: str, path: Path) -> tuple[str | None, int | None]:
        document = self.server.workspace.text_documents.get(uri)
        if document is not None:
            return document.source, document.version
        try:
            return path.read_text(encoding="utf-8"), None
        except (OSError, UnicodeDecodeError):
            return None, None

    def _overlay(self, root: Path) -> tuple[dict[str, str], dict[str, int | None]]:
        """Unsaved editor text of the project's open documents, by relative path."""
        texts: dict[str, str] = {}
        versions: dict[str, int | None] = {}
        for uri, document in list(self.server.workspace.text_documents.items()):
            path = uri_to_path(uri)
            relative = _relative(root, path) if path is not None else None
            if relative is None:
                continue
            texts[relative] = document.source
            versions[relative] = document.version
        return texts, versions

    async def _wait_for_index(self, analyzer: ProjectAnalyzer) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + INDEX_WAIT_S
        while not analyzer.indexed and loop.time() < deadline:
            await asyncio.sleep(0.05)

    def _finding(self, argument: dict[str, Any], uri: str, analyzer: ProjectAnalyzer | None) -> Finding | None:
        raw = argument.get("finding")
        if not isinstance(raw, dict):
            # A client that drops diagnostic data: match the rules feature's
            # current findings by code and line.
            code = argument.get("code")
            line, _ = _lines_of(argument.get("range"))
            rules = self.server.get_feature(RulesFeature)
            state = rules.documents.get(uri) if isinstance(rules, RulesFeature) else None
            if not isinstance(code, str) or line is None or state is None:
                return None
            return next((f for f in state.findings if f.code == code and f.line == line), None)
        message = argument.get("message") if isinstance(argument.get("message"), str) else raw.get("message", "")
        try:
            return expand_finding(raw, uri, str(message or ""), analyzer)
        except (TypeError, KeyError, ValueError):
            return None

    def _workspace_edit(
        self, proposal: Proposal, title: str, versions: dict[str, int | None]
    ) -> tuple[types.WorkspaceEdit | None, str | None, list[tuple[str, str]]]:
        """The proposal as the edit this client can apply (None when nothing
        is left for it), or why it cannot be sent; and the ``(path, text)``
        of new files the client cannot create, for the server to write."""
        support = self.server.client_support
        new_files: list[tuple[str, str]] = []
        codec = self.server.workspace.position_codec
        annotate = support.document_changes and support.change_annotations
        document_changes: list[Any] = []
        changes: dict[str, list[types.TextEdit]] = {}
        for change in proposal.changes:
            uri = path_to_uri(change.path)
            document = self.server.workspace.text_documents.get(uri)
            if document is not None and document.version != versions.get(change.relative, document.version):
                return None, f"{change.relative} changed while the agent was working; run the action again", []
            if change.created:
                if not (support.document_changes and support.resource_create):
                    new_files.append((str(change.path), change.after))
                    continue
                document_changes.append(
                    types.CreateFile(
                        uri=uri,
                        options=types.CreateFileOptions(overwrite=False, ignore_if_exists=False),
                        annotation_id=ANNOTATION_ID if annotate else None,
                    )
                )
                whole = types.Range(types.Position(0, 0), types.Position(0, 0))
                content = _text_edit(whole, change.after, annotate)
                document_changes.append(
                    types.TextDocumentEdit(
                        text_document=types.OptionalVersionedTextDocumentIdentifier(uri=uri, version=None), edits=[content]
                    )
                )
                continue
            before = change.before or ""
            lines = _lines(before)
            edits = [
                _text_edit(to_client_range(lines, e.line, e.column, e.end_line, e.end_column, codec), e.new_text, annotate)
                for e in text_edits(before, change.after)
            ]
            changes[uri] = [types.TextEdit(range=e.range, new_text=e.new_text) for e in edits]
            document_changes.append(
                types.TextDocumentEdit(
                    text_document=types.OptionalVersionedTextDocumentIdentifier(
                        uri=uri, version=document.version if document is not None else None
                    ),
                    edits=edits,
                )
            )
        if not document_changes:
            return None, None, new_files
        if not support.document_changes:
            return types.WorkspaceEdit(changes=changes), None, new_files
        edit = types.WorkspaceEdit(document_changes=document_changes)
        if annotate:
            edit.change_annotations = {
                ANNOTATION_ID: types.ChangeAnnotation(
                    label=f"stackguard agent: {title}",
                    needs_confirmation=True,
                    description=redact(proposal.summary) or None,
                )
            }
        return edit, None, new_files

    def _log_usage(self, title: str, status: str, usage: dict[str, int], turns: int) -> None:
        self.server.log(
            f"stackguard agent: {title}: {status} after {turns} turn{'s' if turns != 1 else ''}; tokens: "
            f"input {usage.get('inputTokens', 0)}, output {usage.get('outputTokens', 0)}, "
            f"cache read {usage.get('cacheReadInputTokens', 0)}, cache write {usage.get('cacheCreationInputTokens', 0)}"
        )

    def _tell(self, message: str, level: types.MessageType) -> None:
        message = redact(message)
        self.server.log(message, level)
        try:
            self.server.window_show_message(types.ShowMessageParams(type=level, message=message))
        except Exception:  # noqa: BLE001, S110  # the client went away; the log has it
            pass

    def document_close(self, uri: str) -> None:
        self._spans.pop(uri, None)

    async def shutdown(self) -> None:
        for task in list(self._running):
            task.cancel()


def _summary_of(analyzer: ProjectAnalyzer, relative: str, text: str) -> Any:
    """The document's summary (``ProjectAnalyzer.summary_of``); None when
    the index does not hold it and the text does not parse (mid-typing)."""
    summary = analyzer.index.summaries.get(relative)
    if summary is not None:
        return summary  # no parse on every code action request
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    try:
        return analyzer.summary_of(relative, tree)
    except Exception as exc:  # noqa: BLE001  # a summary bug must not cost the other actions
        logger.debug("cannot summarise %s: %r", relative, exc)
        return None


def _lines(text: str) -> list[str]:
    return text.splitlines(keepends=True) or [""]


def _text_edit(range_: types.Range, new_text: str, annotate: bool) -> types.TextEdit | types.AnnotatedTextEdit:
    if annotate:
        return types.AnnotatedTextEdit(annotation_id=ANNOTATION_ID, range=range_, new_text=new_text)
    return types.TextEdit(range=range_, new_text=new_text)


def _relative(root: Path, path: Path | None) -> str | None:
    if path is None:
        return None
    for base in (root, root.resolve()):
        for candidate in (path, path.resolve()):
            try:
                return candidate.relative_to(base).as_posix()
            except ValueError:
                continue
    return None


def _lines_of(raw: object) -> tuple[int | None, int | None]:
    """1-based (start, end) lines of an LSP range argument; a range ending
    at character 0 of a later line ends on the line before."""
    if not isinstance(raw, dict):
        return None, None
    try:
        start: dict[str, Any] = raw["start"]
        end: dict[str, Any] = raw.get("end", start)
        first = int(start["line"]) + 1
        last = int(end["line"]) + 1
        if last > first and int(end.get("character", 1)) == 0:
            last -= 1
        return (first, max(first, last)) if first >= 1 else (None, None)
    except (KeyError, TypeError, ValueError):
        return None, None


def _empty_usage() -> dict[str, int]:
    return {"inputTokens": 0, "outputTokens": 0, "cacheCreationInputTokens": 0, "cacheReadInputTokens": 0, "totalTokens": 0}
