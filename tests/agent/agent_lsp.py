"""Driving the real server for the agent's end-to-end tests.

``agent_server()`` starts ``stackguard serve --log-level debug`` behind
``lsp_relay.py``, which records the raw LSP bytes in both directions and the
server's stderr, so tests can assert what crossed the wire. The environment
is the test's minus every ``ANTHROPIC_*`` variable, plus the key when the
test gives one. The client applies ``workspace/applyEdit`` to disk the way
an editor that accepted the preview would, and records every request.
"""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Union

from agent_support import CLOSED_LOCAL_URL, KEY_ENV
from lsp_session import (
    apply_text_edits,
    Session,
    _plain_json_converter,
    _publish_diagnostics,
    uri,
    wait_until,
)
from lsprotocol import types
from pygls.uris import to_fs_path
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities
from pytest_lsp.client import DEFAULT_CLIENT_FEATURES, register_lsp_features

HERE = Path(__file__).resolve().parent
RELAY = HERE / "lsp_relay.py"


def _converter():
    """pygls' converter, except that a CodeAction carrying a command stays a
    CodeAction (lsprotocol parses any object with a "command" key as a bare
    Command, losing its kind and the command's arguments)."""
    converter = _plain_json_converter()

    def code_action_or_command(obj: Any, _: Any) -> Any:
        if isinstance(obj.get("command"), str):
            return converter.structure(obj, types.Command)
        return converter.structure(obj, types.CodeAction)

    # typing.Union, not `|`: the hook is keyed by the exact type lsprotocol uses.
    converter.register_structure_hook(Union[types.Command, types.CodeAction], code_action_or_command)  # noqa: UP007
    return converter



def apply_to_disk(edit: types.WorkspaceEdit) -> None:
    for change in edit.document_changes or []:
        if isinstance(change, types.CreateFile):
            path = Path(to_fs_path(change.uri))
            options = change.options or types.CreateFileOptions()
            if path.exists() and not (options.overwrite or options.ignore_if_exists):
                raise FileExistsError(path)
            path.parent.mkdir(parents=True, exist_ok=True)
            if not path.exists() or options.overwrite:
                path.write_text("")
        elif isinstance(change, types.TextDocumentEdit):
            path = Path(to_fs_path(change.text_document.uri))
            path.write_text(apply_text_edits(path.read_text(), list(change.edits)))
        else:
            raise AssertionError(f"unexpected change {change!r}")
    for target, edits in (edit.changes or {}).items():
        path = Path(to_fs_path(target))
        path.write_text(apply_text_edits(path.read_text(), list(edits)))


def make_agent_client() -> LanguageClient:
    client = LanguageClient(converter_factory=_converter)
    client.stackguard_versions = {}  # type: ignore[attr-defined]
    register_lsp_features(client, {**DEFAULT_CLIENT_FEATURES, types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS: _publish_diagnostics})
    client.applied_edits = []  # type: ignore[attr-defined]
    client.reject_edits = False  # type: ignore[attr-defined]  # a user pressing "Cancel"

    @client.feature(types.WORKSPACE_APPLY_EDIT)
    def on_apply(params: types.ApplyWorkspaceEditParams) -> types.ApplyWorkspaceEditResult:
        if client.reject_edits:  # type: ignore[attr-defined]
            return types.ApplyWorkspaceEditResult(applied=False, failure_reason="the user declined")
        client.applied_edits.append(params)  # type: ignore[attr-defined]
        apply_to_disk(params.edit)
        return types.ApplyWorkspaceEditResult(applied=True)

    return client


class AgentSession(Session):
    def __init__(self, client: LanguageClient, client_name: str, capabilities: types.ClientCapabilities, log_dir: Path) -> None:
        super().__init__(client, client_name, capabilities)
        self.log_dir = log_dir

    @property
    def applied_edits(self) -> list[types.ApplyWorkspaceEditParams]:
        return self.client.applied_edits  # type: ignore[attr-defined]

    async def code_actions(self, path: Path, start: tuple[int, int], end: tuple[int, int], diagnostics=()) -> list[Any]:
        return list(
            await self.client.text_document_code_action_async(
                types.CodeActionParams(
                    text_document=types.TextDocumentIdentifier(uri=uri(path)),
                    range=types.Range(types.Position(*start), types.Position(*end)),
                    context=types.CodeActionContext(diagnostics=list(diagnostics)),
                )
            )
            or []
        )

    async def wait_for_published(self, path: Path) -> list[types.Diagnostic]:
        """Diagnostics of an opened file, pushed or pulled."""
        if self.pulls:
            return await self.diagnostics(path)
        await wait_until(lambda: uri(path) in self.client.diagnostics, f"diagnostics for {path.name}")
        return list(self.client.diagnostics[uri(path)])

    def traffic(self) -> dict[str, bytes]:
        return {name: (self.log_dir / name).read_bytes() for name in ("client_to_server.bin", "server_to_client.bin", "stderr.log")}


def agent_actions(actions: list[Any]) -> list[types.CodeAction]:
    return [a for a in actions if isinstance(a, types.CodeAction) and ("agent" in (a.kind or "") or "with agent" in a.title)]


def only_argument(action: types.CodeAction) -> dict[str, Any]:
    assert action.command is not None and action.command.command == "stackguard.agent.run"
    [argument] = action.command.arguments or [None]
    assert isinstance(argument, dict)
    return argument


@asynccontextmanager
async def agent_server(
    tmp_path: Path,
    *,
    key: str | None,
    client_name: str = "visual-studio-code",
    capabilities: types.ClientCapabilities | None = None,
) -> AsyncIterator[AgentSession]:
    log_dir = tmp_path / "lsp-traffic"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANTHROPIC_") and k != KEY_ENV}
    env["ANTHROPIC_BASE_URL"] = CLOSED_LOCAL_URL
    if key is not None:
        env[KEY_ENV] = key
    config = ClientServerConfig(
        server_command=[sys.executable, str(RELAY), str(log_dir), "--", sys.executable, "-m", "stackguard", "serve", "--log-level", "debug"],
        client_factory=make_agent_client,
        server_env=env,
    )
    client = await config.start()
    session = AgentSession(client, client_name, capabilities or client_capabilities(client_name), log_dir)
    try:
        yield session
    finally:
        if client.capabilities is not None and client.error is None:
            await client.shutdown_session()
        await client.stop()


def agent_settings(base_url: str, **extra: Any) -> dict[str, Any]:
    return {"agent": {"baseUrl": base_url, "apiKeyEnv": KEY_ENV, "model": "claude-test", **extra}}
