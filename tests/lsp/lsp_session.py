"""Helpers shared by the end-to-end tests: workspace copies, URIs, polling
waits and ``Session``, the test's view of one client/server connection."""

from __future__ import annotations

import asyncio
import shutil
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.uris import from_fs_path
from pygls.protocol import JsonRPCNotification, default_converter
from pytest_lsp import LanguageClient, client_capabilities
from pytest_lsp.client import DEFAULT_CLIENT_FEATURES, register_lsp_features

WORKSPACES = Path(__file__).resolve().parents[1] / "workspaces"
CLIENTS = ["visual-studio-code", "neovim"]
TIMEOUT_S = 30.0
STACK_NOTIFICATION = "stackguard/stack"


def _plain_json_converter():
    # pygls turns the params of methods it does not know into namedtuples,
    # renaming keys that are not identifiers; an editor sees plain JSON.
    converter = default_converter()
    converter.register_structure_hook(JsonRPCNotification, lambda obj, cls: cls(**obj))
    return converter


def _publish_diagnostics(client: LanguageClient, params: types.PublishDiagnosticsParams) -> None:
    client.diagnostics[params.uri] = params.diagnostics
    # The version each push carried, to check diagnostics match the edit.
    client.stackguard_versions[params.uri] = params.version  # type: ignore[attr-defined]


def make_client() -> LanguageClient:
    client = LanguageClient(converter_factory=_plain_json_converter)
    client.stackguard_versions = {}  # type: ignore[attr-defined]
    register_lsp_features(
        client, {**DEFAULT_CLIENT_FEATURES, types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS: _publish_diagnostics}
    )
    return client


def copy_workspace(name: str, destination: Path) -> Path:
    """A private copy of tests/workspaces/<name>, safe to edit."""
    target = destination / name
    shutil.copytree(WORKSPACES / name, target)
    return target


def uri(path: Path) -> str:
    return from_fs_path(str(path))


async def wait_until(predicate: Callable[[], Any], what: str, timeout: float = TIMEOUT_S) -> Any:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.02)


async def wait_until_async(fetch: Callable[[], Any], expected: Any, what: str, timeout: float = TIMEOUT_S) -> None:
    """Poll an async ``fetch`` (a request to the server) until it returns ``expected``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while (value := await fetch()) != expected:
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}; last value: {value!r}")
        await asyncio.sleep(0.05)


def apply_text_edits(text: str, edits: list[Any]) -> str:
    """Apply LSP text edits the way an editor does (positions in code units;
    the test files are ASCII, so UTF-16 and UTF-8 agree)."""
    lines = text.splitlines(keepends=True)
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line))

    def offset(position: types.Position) -> int:
        return offsets[min(position.line, len(lines))] + position.character

    for edit in sorted(edits, key=lambda e: (e.range.start.line, e.range.start.character), reverse=True):
        text = text[: offset(edit.range.start)] + edit.new_text + text[offset(edit.range.end) :]
    return text


def vscode_with_pull_diagnostics() -> types.ClientCapabilities:
    """VS Code as vscode-languageclient 8+ really is: pull diagnostics with
    dynamic registration and refresh support (the bundled snapshot is 1.65)."""
    capabilities = client_capabilities("visual-studio-code")
    capabilities.text_document.diagnostic = types.DiagnosticClientCapabilities(
        dynamic_registration=True, related_document_support=False
    )
    capabilities.workspace.diagnostics = types.DiagnosticWorkspaceClientCapabilities(refresh_support=True)
    return capabilities


class Session:
    """The test's view of one client/server connection."""

    def __init__(
        self, client: LanguageClient, client_name: str, capabilities: types.ClientCapabilities | None = None
    ) -> None:
        self.client = client
        self.client_name = client_name
        self.capabilities = capabilities or client_capabilities(client_name)
        self.stack: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.registrations: list[types.Registration] = []
        self.result: types.InitializeResult | None = None

        @client.feature(STACK_NOTIFICATION)
        def on_stack(params: Any) -> None:
            self.stack[params["folder"]].append(params)

        @client.feature(types.CLIENT_REGISTER_CAPABILITY)
        def on_register(params: types.RegistrationParams) -> None:
            self.registrations.extend(params.registrations)

    @property
    def pulls(self) -> bool:
        return self.capabilities.text_document is not None and self.capabilities.text_document.diagnostic is not None

    @property
    def watches_files(self) -> bool:
        watched = self.capabilities.workspace and self.capabilities.workspace.did_change_watched_files
        return bool(watched and watched.dynamic_registration)

    async def initialize(self, folders: list[Path], init_options: Any = None) -> types.InitializeResult:
        self.result = await self.client.initialize_session(
            types.InitializeParams(
                capabilities=self.capabilities,
                client_info=types.ClientInfo(name=f"pytest-{self.client_name}", version="1.0"),
                root_uri=uri(folders[0]) if folders else None,
                workspace_folders=[types.WorkspaceFolder(uri=uri(f), name=f.name) for f in folders],
                initialization_options=init_options,
            )
        )
        return self.result

    async def wait_for_stack(self, folder: Path, count: int = 1) -> dict[str, Any]:
        """The ``count``-th stackguard/stack notification for ``folder``."""
        key = uri(folder)
        await wait_until(lambda: len(self.stack[key]) >= count, f"stack notification #{count} for {folder.name}")
        return self.stack[key][count - 1]

    async def command(self, name: str, *arguments: Any) -> Any:
        return await self.client.workspace_execute_command_async(
            types.ExecuteCommandParams(command=name, arguments=list(arguments))
        )

    def open(self, path: Path, language_id: str) -> str:
        self.client.text_document_did_open(
            types.DidOpenTextDocumentParams(
                text_document=types.TextDocumentItem(
                    uri=uri(path), language_id=language_id, version=1, text=path.read_text(encoding="utf-8")
                )
            )
        )
        return uri(path)

    def file_changed_on_disk(self, path: Path, language_id: str) -> None:
        """Tell the server a file changed the way this editor would: a watched
        file event when the server registered watchers, otherwise open + save."""
        if self.watches_files:
            self.client.workspace_did_change_watched_files(
                types.DidChangeWatchedFilesParams(
                    changes=[types.FileEvent(uri=uri(path), type=types.FileChangeType.Changed)]
                )
            )
        else:
            self.open(path, language_id)
            self.client.text_document_did_save(
                types.DidSaveTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri(path)))
            )

    async def diagnostics(self, path: Path) -> list[types.Diagnostic]:
        """The server's current diagnostics for a file: pulled for pull
        clients, the last published set for push clients."""
        if self.pulls:
            report = await self.client.text_document_diagnostic_async(
                types.DocumentDiagnosticParams(text_document=types.TextDocumentIdentifier(uri=uri(path)))
            )
            return list(report.items)
        return list(self.client.diagnostics.get(uri(path), []))

    async def wait_for_diagnostics(self, path: Path, predicate: Callable[[list[types.Diagnostic]], bool], what: str):
        latest: list[types.Diagnostic] = []

        async def check() -> bool:
            nonlocal latest
            latest = await self.diagnostics(path)
            return predicate(latest)

        loop = asyncio.get_running_loop()
        deadline = loop.time() + TIMEOUT_S
        while not await check():
            if loop.time() > deadline:
                raise AssertionError(f"timed out waiting for {what}; last diagnostics: {latest}")
            await asyncio.sleep(0.05)
        return latest
