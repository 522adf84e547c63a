"""Verification in the editor: the ``stackguard.verify`` and
``stackguard.runFileTests`` commands, a "Run tests in this file" code lens on
test files, and ``verify.onSave``.

A run reports ``$/progress`` (only to clients that advertise
``window.workDoneProgress``; a fresh uuid token, cancellable, one report per
step), streams every output line as ``window/logMessage`` and as the custom
``stackguard/verifyOutput`` notification ``{folder, root, step, line}``, ends
with a ``window/showMessage`` summary, and returns ``{steps: [...]}``.

Cancelling (``window/workDoneProgress/cancel`` on the token, or
``$/cancelRequest`` on the command's request) stops the running step's whole
process group; the step, and every step not started yet, is ``cancelled``.
pygls runs a command handler as a task of its own that ``$/cancelRequest``
does not reach (only the request's outer future is cancelled), so the
feature watches that future and cancels the run itself.

Findings become diagnostics with source ``stackguard-verify``, kept per
(folder, root, step), so a step's diagnostics are replaced by its next
result and cleared when it passes, without touching the other steps' or the
rules' diagnostics.

Commands defined by a workspace never run on their own: ``verify.onSave``
(off by default) runs the selected steps after a save only when the editor
said the workspace is trusted, through the ``trusted`` initialization option
(set by editor integrations from the editor's own trust model). Only that
layer can grant trust: ``trusted: true`` in the project's own files
(pyproject.toml, stack.yaml) or in workspace/configuration answers (which
some clients fill from project-local files) grants nothing, though any layer
saying ``false`` revokes it. An editor that reports the workspace untrusted
(``trusted: false`` in initializationOptions, VS Code's Restricted Mode)
gets no workspace commands at all, not even on request; an editor without a
trust model (no ``trusted`` option) runs them only when the user asks.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.workspace.position_codec import PositionCodec

from stackguard.stack import Problem, StackProfile
from stackguard.verify import (
    ON_SAVE_DEFAULT_STEPS,
    Finding,
    PlannedStep,
    StepResult,
    VerifyListener,
    VerifyResult,
    file_test_step,
    is_test_file,
    run_verify,
    select_steps,
)

from ..server import CommandError, Feature, StackguardServer
from ..workspace_state import FolderState, path_to_uri, uri_to_path
from .stack_feature import StackFeature, problem_range

logger = logging.getLogger(__name__)

VERIFY_COMMAND = "stackguard.verify"
RUN_FILE_TESTS_COMMAND = "stackguard.runFileTests"
OUTPUT_NOTIFICATION = "stackguard/verifyOutput"
DIAGNOSTIC_SOURCE = "stackguard-verify"
# Saves come in bursts (save all, format on save); one run for the burst.
ON_SAVE_DEBOUNCE_S = 1.0
# How long shutdown waits for running steps to stop their processes.
SHUTDOWN_WAIT_S = 8.0

_SEVERITIES = {
    "error": types.DiagnosticSeverity.Error,
    "warning": types.DiagnosticSeverity.Warning,
    "info": types.DiagnosticSeverity.Information,
}

StepKey = tuple[str, str, str]  # (folder uri, relative root, step name)


class _Progress:
    """``$/progress`` for one run, or nothing for clients without
    ``window.workDoneProgress``."""

    def __init__(self, server: StackguardServer, cancel: asyncio.Event) -> None:
        self._server = server
        self._cancel = cancel
        self.token: str | None = None

    async def begin(self, title: str, message: str) -> None:
        if not self._server.client_support.work_done_progress:
            return
        token = str(uuid.uuid4())
        try:
            await self._server.work_done_progress.create_async(token)
        except Exception as exc:  # the client refused; run without progress
            self._server.log(f"window/workDoneProgress/create failed: {exc}", types.MessageType.Warning)
            return
        self.token = token
        self._server.work_done_progress.begin(
            token, types.WorkDoneProgressBegin(title=title, message=message, cancellable=True, percentage=0)
        )
        future = self._server.work_done_progress.tokens.get(token)
        if future is not None:
            loop = asyncio.get_running_loop()
            cancel = self._cancel

            def on_done(done: Any) -> None:
                if done.cancelled():
                    loop.call_soon_threadsafe(cancel.set)

            future.add_done_callback(on_done)

    def report(self, message: str, percentage: int) -> None:
        if self.token is not None:
            self._server.work_done_progress.report(
                self.token, types.WorkDoneProgressReport(message=message, percentage=percentage, cancellable=True)
            )

    def end(self, message: str) -> None:
        if self.token is not None:
            self._server.work_done_progress.end(self.token, types.WorkDoneProgressEnd(message=message))
            # pygls never forgets a token; this one is done.
            self._server.work_done_progress.tokens.pop(self.token, None)
            self.token = None


class _EditorListener(VerifyListener):
    def __init__(
        self, feature: VerifyFeature, folder: FolderState, progress: _Progress, scope: set[str] | None
    ) -> None:
        self._feature = feature
        self._folder = folder
        self._progress = progress
        self._scope = scope

    def step_started(self, planned: PlannedStep, index: int, total: int) -> None:
        where = "" if planned.relative_root in (".", "") else f" [{planned.relative_root}]"
        self._progress.report(f"{planned.step.name}{where} ({index + 1}/{total})", int(index * 100 / max(total, 1)))
        self._feature.server.log(f"stackguard verify: {planned.step.name}{where}: {planned.step.cmd}")

    def output(self, planned: PlannedStep, line: str) -> None:
        server = self._feature.server
        server.log(f"[{planned.step.name}] {line}", types.MessageType.Log)
        server.protocol.notify(
            OUTPUT_NOTIFICATION,
            {"folder": self._folder.uri, "root": planned.relative_root, "step": planned.step.name, "line": line},
        )

    def step_finished(self, planned: PlannedStep, result: StepResult) -> None:
        self._feature.server.log(f"stackguard verify: {result.summary()} in {result.duration_s:.1f}s")
        if result.status in ("skipped", "error") and result.message:
            self._feature.server.log(f"stackguard verify: {result.name}: {result.message}")
        self._feature.apply_result(self._folder, planned, result, self._scope)


class VerifyFeature(Feature):
    name = "verify"

    def __init__(self, server: StackguardServer) -> None:
        super().__init__(server)
        self._by_step: dict[StepKey, dict[str, list[types.Diagnostic]]] = {}
        self._locks: dict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._active: set[asyncio.Event] = set()
        self._save_generation: dict[str, int] = defaultdict(int)
        self._save_cancel: dict[str, asyncio.Event] = {}
        self._warned_untrusted: set[str] = set()
        server.register_command(VERIFY_COMMAND, self.verify_command)
        server.register_command(RUN_FILE_TESTS_COMMAND, self.run_file_tests_command)

        # pygls marks handlers with attributes, which a bound method cannot take.
        def code_lens(params: types.CodeLensParams) -> list[types.CodeLens] | None:
            return self.code_lens(params)

        try:
            server.feature(types.TEXT_DOCUMENT_CODE_LENS, types.CodeLensOptions(resolve_provider=False))(code_lens)
        except Exception as exc:  # another feature owns code lenses; the command still works
            logger.warning("verify code lens not registered: %s", exc)

    # -- commands ----------------------------------------------------------------
    async def verify_command(self, argument: dict[str, Any]) -> dict[str, Any]:
        self._refuse_if_untrusted()
        folders = self.server.folders_argument(argument.get("folder"))
        names = _step_names(argument.get("steps"))
        stack = self.server.get_feature(StackFeature)
        for folder in folders:
            if isinstance(stack, StackFeature):
                await stack.wait_for_detection(folder)
        plans: list[tuple[FolderState, list[PlannedStep]]] = []
        found: set[str] = set()
        for folder in folders:
            planned, _ = select_steps(folder.profiles, names)
            found.update(p.step.name for p in planned)
            plans.append((folder, planned))
        missing = [name for name in names or [] if name not in found]
        if missing:
            available = sorted({p.step.name for f in folders for p in select_steps(f.profiles)[0]})
            raise CommandError(
                f"no verify step named {', '.join(missing)} (available: {', '.join(available) or 'none'})"
            )
        cancel = self._cancel_event_for_request()
        return await self._run(plans, cancel, title="stackguard verify", announce=True)

    async def run_file_tests_command(self, argument: dict[str, Any]) -> dict[str, Any]:
        self._refuse_if_untrusted()
        uri = argument.get("uri")
        if not isinstance(uri, str) or not uri:
            raise CommandError("'uri' must be the URI of a test file")
        path = uri_to_path(uri)
        folder = self.server.state.folder_for(uri)
        if path is None or folder is None:
            raise CommandError(f"{uri} is not in a workspace folder")
        stack = self.server.get_feature(StackFeature)
        if isinstance(stack, StackFeature):
            await stack.wait_for_detection(folder)
        profile = folder.profile_for_path(path) or _fallback_profile(folder)
        step = file_test_step(profile, path)
        if step is None:
            raise CommandError(f"no test runner known for {path.name}")
        planned = PlannedStep(Path(profile.root), profile.relative_root or ".", step)
        cancel = self._cancel_event_for_request()
        return await self._run(
            [(folder, [planned])], cancel, title=f"stackguard tests: {path.name}", announce=True, scope={uri}
        )


    def _cancel_event_for_request(self) -> asyncio.Event:
        """An event set when the client cancels the current request."""
        cancel = asyncio.Event()
        protocol = self.server.protocol
        msg_id = protocol.msg_id
        request = getattr(protocol, "_request_futures", {}).get(msg_id) if msg_id is not None else None
        if request is not None:
            loop = asyncio.get_running_loop()

            def on_done(done: Any) -> None:
                if done.cancelled():
                    loop.call_soon_threadsafe(cancel.set)

            request.add_done_callback(on_done)
        return cancel

    # -- running ------------------------------------------------------------------
    async def _run(
        self,
        plans: Sequence[tuple[FolderState, list[PlannedStep]]],
        cancel: asyncio.Event,
        *,
        title: str,
        announce: bool,
        scope: set[str] | None = None,
    ) -> dict[str, Any]:
        total = sum(len(planned) for _, planned in plans)
        steps_out: list[dict[str, Any]] = []
        results: list[StepResult] = []
        if total == 0:
            message = "stackguard verify: no verify steps (add a verify block to stack/stack.yaml)"
            if announce:
                self.server.window_show_message(types.ShowMessageParams(type=types.MessageType.Info, message=message))
            return {"steps": []}
        progress = _Progress(self.server, cancel)
        self._active.add(cancel)
        try:
            await progress.begin(title, f"{total} step{'s' if total != 1 else ''}")
            for folder, planned in plans:
                if not planned:
                    continue
                async with self._locks[folder.uri]:
                    settings = folder.resolved.settings
                    result = await run_verify(
                        planned,
                        interpreter=settings.interpreter,
                        folder=folder.path,
                        default_timeout=settings.verify.timeout_seconds,
                        # ``scope``: the URIs a file-scoped run (runFileTests)
                        # may replace diagnostics of; None for whole steps.
                        listener=_EditorListener(self, folder, progress, scope),
                        cancel=cancel,
                    )
                results.extend(result.steps)
                steps_out.extend(self._step_payload(folder, step) for step in result.steps)
        finally:
            self._active.discard(cancel)
            summary = VerifyResult(results).summary()
            progress.end(summary)
        overall = VerifyResult(results)
        if announce:
            if overall.cancelled:
                level = types.MessageType.Warning
            elif overall.ok:
                level = types.MessageType.Info
            else:
                level = types.MessageType.Error
            self.server.window_show_message(types.ShowMessageParams(type=level, message=f"stackguard verify: {summary}"))
        self.server.log(f"stackguard verify: {summary}")
        return {"steps": steps_out}

    def _step_payload(self, folder: FolderState, step: StepResult) -> dict[str, Any]:
        payload = step.to_dict()
        payload["folder"] = folder.uri
        for finding in payload["findings"]:
            finding["uri"] = path_to_uri(finding["path"]) if finding["path"] else None
        return payload

    # -- diagnostics ------------------------------------------------------------
    def apply_result(
        self, folder: FolderState, planned: PlannedStep, result: StepResult, scope: set[str] | None = None
    ) -> None:
        """A passing step clears its diagnostics; a result with findings
        replaces them; anything else (skipped, timeout, a failure nothing
        could be read from) leaves them as they were."""
        if result.status != "passed" and not (result.status == "failed" and result.findings):
            return
        key: StepKey = (folder.uri, planned.relative_root, planned.step.name)
        previous = self._by_step.get(key, {})
        fresh: dict[str, list[types.Diagnostic]] = defaultdict(list)
        for finding in result.findings:
            if not finding.path:
                continue
            uri = path_to_uri(finding.path)
            fresh[uri].append(self._diagnostic(uri, finding, planned.step.name))
        if scope is None:
            updated = dict(fresh)
        else:
            replaced = scope | set(fresh)
            updated = {uri: items for uri, items in previous.items() if uri not in replaced}
            updated.update(fresh)
        if updated:
            self._by_step[key] = updated
        else:
            self._by_step.pop(key, None)
        for uri in set(previous) | set(updated):
            self._publish(uri)

    def _publish(self, uri: str) -> None:
        union = [diagnostic for per_uri in self._by_step.values() for diagnostic in per_uri.get(uri, [])]
        store = self.server.diagnostics
        if union:
            store.set(DIAGNOSTIC_SOURCE, uri, union)
        else:
            store.clear(DIAGNOSTIC_SOURCE, uri)
        store.publish(uri)

    def _diagnostic(self, uri: str, finding: Finding, step: str) -> types.Diagnostic:
        problem = Problem(
            finding.path,
            finding.message,
            line=finding.line,
            column=finding.column,
            end_line=finding.end_line,
            end_column=finding.end_column,
            severity=finding.severity,
        )
        codec: PositionCodec = self.server.workspace.position_codec
        code_description = None
        if finding.url and self.server.client_support.diagnostic_code_description:
            code_description = types.CodeDescription(href=finding.url)
        return types.Diagnostic(
            range=problem_range(problem, _lines(self.server, uri), codec),
            message=f"{finding.tool}: {finding.message}",
            severity=_SEVERITIES.get(finding.severity, types.DiagnosticSeverity.Error),
            source=DIAGNOSTIC_SOURCE,
            code=finding.code,
            code_description=code_description,
            data={"tool": finding.tool, "step": step},
        )

    # -- trust ------------------------------------------------------------------------
    def editor_trust(self) -> bool | None:
        """``trusted`` as the editor's initializationOptions gave it (None:
        the editor has no trust model)."""
        raw = self.server.state.init_options_settings
        value = raw.get("trusted") if isinstance(raw, Mapping) else None
        return value if isinstance(value, bool) else None

    def trusted(self, folder: FolderState) -> bool:
        """Whether the editor (not the project) said this workspace is
        trusted, and no settings layer has taken it back since."""
        return self.editor_trust() is True and folder.resolved.settings.trusted

    def _refuse_if_untrusted(self) -> None:
        if self.editor_trust() is False:
            raise CommandError(
                "the editor marked this workspace as untrusted; verification runs the project's own "
                "commands, so it is disabled until you trust the workspace"
            )

    # -- verify.onSave ---------------------------------------------------------------

    def document_save(self, uri: str) -> None:
        folder = self.server.state.folder_for(uri)
        if folder is None or not folder.resolved.settings.verify.on_save:
            return
        if not self.trusted(folder):
            if folder.uri not in self._warned_untrusted:
                self._warned_untrusted.add(folder.uri)
                self.server.log(
                    f"stackguard verify: verify.onSave is on for {folder.name}, but the editor has not marked "
                    "the workspace as trusted; its commands run only when you ask (stackguard.verify)",
                    types.MessageType.Warning,
                )
            return
        self._save_generation[folder.uri] += 1
        self.server.run_task(self._run_on_save(folder, self._save_generation[folder.uri]), name="verify on save")

    async def _run_on_save(self, folder: FolderState, generation: int) -> None:
        await asyncio.sleep(ON_SAVE_DEBOUNCE_S)
        if self._save_generation[folder.uri] != generation or self.server.state.get(folder.uri) is not folder:
            return
        older = self._save_cancel.get(folder.uri)
        if older is not None:
            older.set()  # the files changed again: the older run's results are stale
        cancel = asyncio.Event()
        self._save_cancel[folder.uri] = cancel
        names = list(folder.resolved.settings.verify.steps) or list(ON_SAVE_DEFAULT_STEPS)
        planned, _ = select_steps(folder.profiles, names)
        try:
            if planned:
                await self._run([(folder, planned)], cancel, title="stackguard verify (on save)", announce=False)
        finally:
            if self._save_cancel.get(folder.uri) is cancel:
                del self._save_cancel[folder.uri]

    # -- code lens -------------------------------------------------------------------
    def code_lens(self, params: types.CodeLensParams) -> list[types.CodeLens] | None:
        uri = params.text_document.uri
        path = uri_to_path(uri)
        if path is None or not is_test_file(path) or self.server.state.folder_for(uri) is None:
            return None
        return [
            types.CodeLens(
                range=types.Range(types.Position(0, 0), types.Position(0, 0)),
                command=types.Command(
                    title="Run tests in this file", command=RUN_FILE_TESTS_COMMAND, arguments=[{"uri": uri}]
                ),
            )
        ]

    # -- lifecycle -------------------------------------------------------------------
    async def shutdown(self) -> None:
        """Stop every running step's processes before the server goes away."""
        for cancel in list(self._active):
            cancel.set()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + SHUTDOWN_WAIT_S
        while self._active and loop.time() < deadline:
            await asyncio.sleep(0.05)

    def folders_changed(self, added: list[FolderState], removed: list[FolderState]) -> None:
        for folder in removed:
            for key in [key for key in self._by_step if key[0] == folder.uri]:
                uris = self._by_step.pop(key)
                for uri in uris:
                    self._publish(uri)


def _step_names(value: Any) -> list[str] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(name, str) and name for name in value):
        raise CommandError("'steps' must be a list of step names, e.g. [\"lint\", \"tests\"]")
    return list(value) or None


def _fallback_profile(folder: FolderState) -> StackProfile:
    return folder.root_profile() or StackProfile(root=str(folder.path))


def _lines(server: StackguardServer, uri: str) -> list[str]:
    try:
        return list(server.workspace.get_text_document(uri).lines)
    except Exception:  # unreadable or vanished: positions stay unconverted
        return []
