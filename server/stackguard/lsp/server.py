"""The language server: LSP wiring only.

Behaviour lives in feature modules (``lsp/features/``), esbonio style: each
feature is a ``Feature`` subclass with empty default hooks, and the server
registers one handler per LSP method that calls the hook on every feature,
catching and logging exceptions per feature so one broken feature never takes
the server (or the other features) down. A new capability — the guardrail
rule engine, verification, the agent — is another ``Feature`` added in
``create_server``.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from typing import Any

from lsprotocol import types
from pygls.exceptions import JsonRpcException, JsonRpcInternalError, JsonRpcInvalidParams
from pygls.lsp.server import LanguageServer

from stackguard import __version__

from .capabilities import ClientSupport
from .diagnostics_store import DiagnosticsStore
from .serialization import stackguard_converter
from .workspace_state import FolderState, WorkspaceState, path_to_uri, settings_from_initialization_options, uri_to_path

logger = logging.getLogger(__name__)

DIAGNOSTIC_IDENTIFIER = "stackguard"
DIAGNOSTIC_REGISTRATION_ID = "stackguard-pull-diagnostics"
# A client that never answers workspace/configuration must not stall startup.
CONFIGURATION_TIMEOUT_S = 5.0
# How long a workspace/diagnostic long poll waits for a change.
WORKSPACE_DIAGNOSTIC_POLL_S = 5.0


class CommandError(ValueError):
    """A command was called with arguments it cannot use; becomes an
    InvalidParams error response, never a crash."""


class Feature:
    """Base class of feature modules. Every hook is optional and may be a
    plain method or a coroutine; hooks are called in registration order."""

    name = "feature"

    def __init__(self, server: StackguardServer) -> None:
        self.server = server

    def initialize(self, params: types.InitializeParams) -> None:
        """Before capabilities are computed; may register more LSP features."""

    def initialized(self) -> None | Awaitable[None]:
        """The client is ready; settings of the initial folders are resolved."""

    def document_open(self, uri: str) -> None | Awaitable[None]: ...

    def document_change(self, uri: str) -> None | Awaitable[None]: ...

    def document_save(self, uri: str) -> None | Awaitable[None]: ...

    def document_close(self, uri: str) -> None | Awaitable[None]: ...

    def folders_changed(self, added: list[FolderState], removed: list[FolderState]) -> None | Awaitable[None]:
        """Folders were added (settings already resolved) or removed."""

    def configuration_changed(self) -> None | Awaitable[None]:
        """The effective settings of some folders may have changed; read them
        from ``server.state`` again."""

    def watched_files_changed(self, changes: list[types.FileEvent]) -> None | Awaitable[None]: ...

    def stack_changed(self, folder: FolderState) -> None | Awaitable[None]:
        """A folder's stack profiles were (re)detected."""

    def workspace_diagnostics_requested(self) -> None | Awaitable[None]:
        """A pull client asks for workspace diagnostics (files not open)."""

    def diagnostics_requested(self, uri: str) -> None | Awaitable[None]:
        """A pull client asks for a document's diagnostics: finish pending
        analysis of it first so the answer is not one keystroke stale."""

    def hover(self, uri: str, position: types.Position) -> str | None | Awaitable[str | None]:
        """Markdown for the hover, or None."""
        return None

    def shutdown(self) -> None | Awaitable[None]: ...


class StackguardServer(LanguageServer):
    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("converter_factory", stackguard_converter)
        super().__init__(
            name="stackguard",
            version=__version__,
            text_document_sync_kind=types.TextDocumentSyncKind.Incremental,
            **kwargs,
        )
        self.state = WorkspaceState()
        self.client_support = ClientSupport()
        self.client_info: types.ClientInfo | None = None
        self.diagnostics = DiagnosticsStore(self)
        self.features: list[Feature] = []
        self._tasks: set[asyncio.Task[Any]] = set()
        self._shown_problems: set[str] = set()
        # didChangeConfiguration payload, for clients without workspace/configuration.
        self._pushed_settings: Any = None

    # -- features ----------------------------------------------------------
    def add_feature(self, feature: Feature) -> Feature:
        self.features.append(feature)
        return feature

    def get_feature(self, cls: type[Feature]) -> Feature | None:
        return next((feature for feature in self.features if isinstance(feature, cls)), None)

    async def call_features(self, hook: str, *args: Any) -> list[Any]:
        """Call ``hook`` on every feature; a failing feature is logged and skipped."""
        results = []
        for feature in list(self.features):
            try:
                result = getattr(feature, hook)(*args)
                if inspect.isawaitable(result):
                    result = await result
                results.append(result)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.log_exception(f"feature {feature.name!r} failed in {hook}", exc)
        return results

    def call_features_sync(self, hook: str, *args: Any) -> None:
        """For hooks that must run before a handler returns (initialize);
        a coroutine returned here is scheduled, not awaited."""
        for feature in list(self.features):
            try:
                result = getattr(feature, hook)(*args)
                if inspect.iscoroutine(result):
                    self.run_task(result, name=f"{feature.name}.{hook}")
            except Exception as exc:
                self.log_exception(f"feature {feature.name!r} failed in {hook}", exc)

    def run_task(self, coro: Coroutine[Any, Any, Any], name: str = "task") -> asyncio.Task[Any]:
        """Start background work, keep a reference, and log its failure."""
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)

        def done(finished: asyncio.Task[Any]) -> None:
            self._tasks.discard(finished)
            if not finished.cancelled() and (exc := finished.exception()) is not None:
                self.log_exception(f"background task {name!r} failed", exc)

        task.add_done_callback(done)
        return task

    def register_command(self, command: str, function: Callable[[dict[str, Any]], Any]) -> None:
        """Register ``function(argument_object)`` as ``workspace/executeCommand``
        ``command``. Editors send one JSON object (or nothing); anything else,
        and a ``CommandError`` from the function, is an InvalidParams error."""

        async def handler(ls: StackguardServer, *arguments: Any) -> Any:
            argument = single_argument(command, arguments)
            try:
                result = function(argument)
                if inspect.isawaitable(result):
                    result = await result
            except CommandError as exc:
                raise JsonRpcInvalidParams(message=f"{command}: {exc}") from None
            except (JsonRpcException, asyncio.CancelledError):
                raise
            except Exception as exc:
                ls.log_exception(f"command {command} failed", exc)
                raise JsonRpcInternalError(message=f"{command} failed: {exc}") from None
            return result

        self.command(command)(handler)

    def folders_argument(self, uri: Any) -> list[FolderState]:
        """The folders a command's ``folder`` argument names: every folder
        when it is absent, else the one folder (matched by URI or path)."""
        if uri is None:
            return list(self.state)
        if not isinstance(uri, str):
            raise CommandError(f"'folder' must be a folder URI string, got {type(uri).__name__}")
        folder = self.state.get(uri)
        if folder is None:
            path = uri_to_path(uri)
            folder = next((f for f in self.state if path is not None and f.path == path), None)
        if folder is None:
            raise CommandError(f"{uri} is not a workspace folder")
        return [folder]

    # -- talking to the user ---------------------------------------------------
    def log(self, message: str, level: types.MessageType = types.MessageType.Info) -> None:
        logger.log(_LOG_LEVELS.get(level, logging.INFO), "%s", message)
        try:
            self.window_log_message(types.LogMessageParams(type=level, message=message))
        except Exception:  # no client attached (unit tests) or the pipe is gone
            pass

    def log_exception(self, message: str, exc: BaseException) -> None:
        logger.error("%s", message, exc_info=exc)
        self.log(f"{message}: {type(exc).__name__}: {exc}", types.MessageType.Error)

    def show_message_once(self, message: str, level: types.MessageType = types.MessageType.Warning) -> None:
        """window/showMessage, at most once per distinct text for this process."""
        if message in self._shown_problems:
            return
        self._shown_problems.add(message)
        self.log(message, level)
        try:
            self.window_show_message(types.ShowMessageParams(type=level, message=message))
        except Exception:
            pass

    # -- settings --------------------------------------------------------------
    async def refresh_settings(self, folders: Iterable[FolderState] | None = None) -> list[FolderState]:
        """Re-read editor settings for ``folders`` (all by default), re-resolve
        them, tell the user about new problems; returns the folders whose
        effective settings changed."""
        targets = list(folders) if folders is not None else list(self.state)
        if not targets:
            return []
        client_values = await self._client_settings(targets)
        changed = []
        for folder, value in zip(targets, client_values):
            if self.state.get(folder.uri) is not folder:
                continue  # removed while we were waiting for the client
            before = folder.resolved.settings
            folder.client_settings = value
            resolved = self.state.resolve(folder)
            if resolved.settings != before:
                changed.append(folder)
            self.report_settings_problems(folder)
        return changed

    def report_settings_problems(self, folder: FolderState) -> None:
        for problem in folder.resolved.problems:
            self.show_message_once(f"stackguard settings: {problem}")

    async def _client_settings(self, folders: list[FolderState]) -> list[Any]:
        if not self.client_support.workspace_configuration:
            pushed = self._pushed_settings
            return [pushed for _ in folders]
        params = types.ConfigurationParams(
            items=[types.ConfigurationItem(scope_uri=folder.uri, section="stackguard") for folder in folders]
        )
        try:
            values = await asyncio.wait_for(self.workspace_configuration_async(params), CONFIGURATION_TIMEOUT_S)
            values = list(values or [])
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self.log(f"workspace/configuration failed ({type(exc).__name__}: {exc}); using the other layers")
            return [folder.client_settings for folder in folders]
        return [values[index] if index < len(values) else None for index in range(len(folders))]

    def set_pushed_settings(self, settings: Any) -> None:
        """``workspace/didChangeConfiguration`` settings (``{"stackguard": {...}}``)
        stand in for workspace/configuration on clients that lack it."""
        if isinstance(settings, dict) and "stackguard" in settings:
            self._pushed_settings = settings["stackguard"]

    # -- lifecycle -------------------------------------------------------------
    def on_initialize(self, params: types.InitializeParams) -> None:
        self.client_support = ClientSupport.from_capabilities(params.capabilities)
        self.client_info = params.client_info
        self.state.init_options_settings = settings_from_initialization_options(params.initialization_options)
        for folder in params.workspace_folders or []:
            self.state.add_folder(folder.uri, folder.name)
        if not self.state.folders:
            root_uri = params.root_uri or (path_to_uri(params.root_path) if params.root_path else None)
            if root_uri:
                self.state.add_folder(root_uri)
        if self.client_support.pull_diagnostics and not self.client_support.pull_diagnostics_dynamic_registration:
            # Static registration: pygls advertises features registered during
            # initialize, so push-only clients never see a diagnosticProvider.
            self.feature(types.TEXT_DOCUMENT_DIAGNOSTIC, _diagnostic_options())(_pull_diagnostics)
            self.feature(types.WORKSPACE_DIAGNOSTIC)(_workspace_diagnostics)
        self.call_features_sync("initialize", params)

    async def on_initialized(self) -> None:
        if self.client_support.pull_diagnostics_dynamic_registration:
            await self._register_pull_diagnostics()
        await self.refresh_settings()
        await self.call_features("initialized")

    async def _register_pull_diagnostics(self) -> None:
        # The handler is added only now, after capabilities were computed, so
        # it is not also advertised statically.
        self.feature(types.TEXT_DOCUMENT_DIAGNOSTIC)(_pull_diagnostics)
        self.feature(types.WORKSPACE_DIAGNOSTIC)(_workspace_diagnostics)
        options = _diagnostic_options()
        registration = types.Registration(
            id=DIAGNOSTIC_REGISTRATION_ID,
            method=types.TEXT_DOCUMENT_DIAGNOSTIC,
            register_options=types.DiagnosticRegistrationOptions(
                # Every file: stack-config diagnostics land on YAML/TOML/JSON files.
                document_selector=[types.TextDocumentFilterScheme(scheme="file")],
                identifier=options.identifier,
                inter_file_dependencies=options.inter_file_dependencies,
                workspace_diagnostics=options.workspace_diagnostics,
            ),
        )
        try:
            await self.client_register_capability_async(types.RegistrationParams(registrations=[registration]))
        except Exception as exc:
            self.log(f"could not register pull diagnostics: {exc}", types.MessageType.Warning)

    async def on_shutdown(self) -> None:
        await self.call_features("shutdown")
        for task in list(self._tasks):
            task.cancel()


_LOG_LEVELS = {
    types.MessageType.Error: logging.ERROR,
    types.MessageType.Warning: logging.WARNING,
    types.MessageType.Info: logging.INFO,
    types.MessageType.Log: logging.DEBUG,
    types.MessageType.Debug: logging.DEBUG,
}


def _diagnostic_options() -> types.DiagnosticOptions:
    return types.DiagnosticOptions(
        identifier=DIAGNOSTIC_IDENTIFIER, inter_file_dependencies=True, workspace_diagnostics=True
    )


def single_argument(command: str, arguments: tuple[Any, ...]) -> dict[str, Any]:
    """The one argument object of a command; ``[]`` and ``[null]`` mean ``{}``."""
    if len(arguments) > 1:
        raise JsonRpcInvalidParams(message=f"{command} takes one argument object, got {len(arguments)} arguments")
    argument = arguments[0] if arguments else None
    if argument is None:
        return {}
    if not isinstance(argument, dict):
        raise JsonRpcInvalidParams(
            message=f"{command} takes one argument object, got {type(argument).__name__}"
        )
    return argument


async def _pull_diagnostics(
    ls: StackguardServer, params: types.DocumentDiagnosticParams
) -> types.DocumentDiagnosticReport:
    await ls.call_features("diagnostics_requested", params.text_document.uri)
    return ls.diagnostics.report(params.text_document.uri, params.previous_result_id)


async def _workspace_diagnostics(
    ls: StackguardServer, params: types.WorkspaceDiagnosticParams
) -> types.WorkspaceDiagnosticReport:
    """Files that are not open (with ``diagnostics.workspace`` on). Answered
    as a long poll: when nothing changed since the client's result ids, wait
    for a change (or a deadline) instead of answering at once, because
    clients re-request as soon as an answer arrives."""
    await ls.call_features("workspace_diagnostics_requested")
    previous = {item.uri: item.value for item in params.previous_result_ids or []}
    open_uris = set(ls.workspace.text_documents)
    report = ls.diagnostics.workspace_report(previous, open_uris)
    if previous and all(isinstance(item, types.WorkspaceUnchangedDocumentDiagnosticReport) for item in report.items):
        await ls.diagnostics.wait_for_change(WORKSPACE_DIAGNOSTIC_POLL_S)
        report = ls.diagnostics.workspace_report(previous, set(ls.workspace.text_documents))
    return report


def _register_handlers(server: StackguardServer) -> None:
    @server.feature(types.INITIALIZE)
    def initialize(ls: StackguardServer, params: types.InitializeParams) -> None:
        ls.on_initialize(params)

    @server.feature(types.INITIALIZED)
    async def initialized(ls: StackguardServer, params: types.InitializedParams) -> None:
        await ls.on_initialized()

    @server.feature(types.SHUTDOWN)
    async def shutdown(ls: StackguardServer, params: None) -> None:
        await ls.on_shutdown()

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    async def did_open(ls: StackguardServer, params: types.DidOpenTextDocumentParams) -> None:
        await ls.call_features("document_open", params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    async def did_change(ls: StackguardServer, params: types.DidChangeTextDocumentParams) -> None:
        await ls.call_features("document_change", params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE, types.SaveOptions(include_text=False))
    async def did_save(ls: StackguardServer, params: types.DidSaveTextDocumentParams) -> None:
        await ls.call_features("document_save", params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    async def did_close(ls: StackguardServer, params: types.DidCloseTextDocumentParams) -> None:
        await ls.call_features("document_close", params.text_document.uri)

    @server.feature(types.WORKSPACE_DID_CHANGE_WORKSPACE_FOLDERS)
    async def did_change_folders(ls: StackguardServer, params: types.DidChangeWorkspaceFoldersParams) -> None:
        removed = [f for f in (ls.state.remove_folder(w.uri) for w in params.event.removed or []) if f is not None]
        added = [f for f in (ls.state.add_folder(w.uri, w.name) for w in params.event.added or []) if f is not None]
        if added:
            await ls.refresh_settings(added)
        await ls.call_features("folders_changed", added, removed)

    @server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
    async def did_change_configuration(ls: StackguardServer, params: types.DidChangeConfigurationParams) -> None:
        ls.set_pushed_settings(params.settings)
        await ls.refresh_settings()
        await ls.call_features("configuration_changed")

    @server.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)
    async def did_change_watched_files(ls: StackguardServer, params: types.DidChangeWatchedFilesParams) -> None:
        changes = list(params.changes or [])
        for change in changes:
            if change.type == types.FileChangeType.Deleted and change.uri in ls.diagnostics.uris():
                ls.diagnostics.clear_uri(change.uri)
                ls.diagnostics.publish(change.uri)
        await ls.call_features("watched_files_changed", changes)

    @server.feature(types.TEXT_DOCUMENT_HOVER)
    async def hover(ls: StackguardServer, params: types.HoverParams) -> types.Hover | None:
        parts = [part for part in await ls.call_features("hover", params.text_document.uri, params.position) if part]
        if not parts:
            return None
        kind = types.MarkupKind.Markdown if ls.client_support.hover_markdown else types.MarkupKind.PlainText
        return types.Hover(contents=types.MarkupContent(kind=kind, value="\n\n---\n\n".join(parts)))


def create_server(features: Iterable[type[Feature]] | None = None) -> StackguardServer:
    """The server with its LSP handlers and feature modules."""
    server = StackguardServer()
    _register_handlers(server)
    if features is None:
        from .features.rules_feature import RulesFeature
        from .features.stack_feature import StackFeature
        from .features.agent_feature import AgentFeature
        from .features.migrations_feature import MigrationsFeature
        from .features.refactor_feature import RefactorFeature
        from .features.verify_feature import VerifyFeature

        features = [StackFeature, RulesFeature, RefactorFeature, VerifyFeature, MigrationsFeature, AgentFeature]
    for feature_cls in features:
        server.add_feature(feature_cls(server))
    return server
