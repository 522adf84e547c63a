"""Every server command the editor integrations call, through the real server
over stdio, with the argument objects the editors send and the
initializationOptions / configuration each editor provides:

- VS Code (editors/vscode/src/commands.ts): initializationOptions
  ``{"settings": {..., "trusted": bool}}``; ``showStack {folder}`` or ``{}``,
  ``debugInfo {}``, ``verify {folder, steps?}``;
- Neovim (editors/nvim/lsp/stackguard.lua; test_nvim_config.py checks the
  same shapes leave the Lua side): no initializationOptions, settings from
  workspace/configuration ``stackguard``; ``showStack {folder}``,
  ``verify {folder}``, ``verify {folder, steps}``, ``debugInfo {}``;
- both editors' prompts: ``generateMigration {folder, message}`` and
  ``{folder}`` when the message is left empty;
- code actions of every client: ``fixAll {uri}``.

- the refactor prompts: ``extractToService {uri, range}`` (the selection or
  cursor) and ``addRepositoryMethod {uri, range, description?}`` (a selected
  query; the description is for the agent variant).
"""

from __future__ import annotations

import asyncio
import json
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import pytest_lsp
from editor_tools import EDITORS, WORKSPACES
from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pygls.protocol import JsonRPCNotification, default_converter
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities
from pytest_lsp.client import register_lsp_features

pytestmark = pytest.mark.e2e

TIMEOUT_S = 60.0
IMPLEMENTED = {
    "stackguard.showStack",
    "stackguard.debugInfo",
    "stackguard.verify",
    "stackguard.fixAll",
    "stackguard.generateMigration",
    "stackguard.extractToService",
    "stackguard.addRepositoryMethod",
}
EDITORS_UNDER_TEST = ["visual-studio-code", "neovim"]


def _plain_json_client() -> LanguageClient:
    # Params of custom notifications as the plain JSON an editor sees.
    def converter():
        conv = default_converter()
        conv.register_structure_hook(JsonRPCNotification, lambda obj, cls: cls(**obj))
        return conv

    client = LanguageClient(converter_factory=converter)
    register_lsp_features(client)
    return client


class Editor:
    """One editor's side of the connection: what it records and sends."""

    def __init__(self, client: LanguageClient, name: str) -> None:
        self.client = client
        self.name = name
        self.capabilities = client_capabilities(name)
        self.verify_output: list[dict[str, Any]] = []
        self.stacks: list[dict[str, Any]] = []
        self.applied_edits: list[types.WorkspaceEdit] = []

        @client.feature("stackguard/verifyOutput")
        def on_verify_output(params: Any) -> None:
            self.verify_output.append(params)

        @client.feature("stackguard/stack")
        def on_stack(params: Any) -> None:
            self.stacks.append(params)

        @client.feature(types.CLIENT_REGISTER_CAPABILITY)
        def on_register(params: types.RegistrationParams) -> None:
            pass

        @client.feature(types.WORKSPACE_APPLY_EDIT)
        def on_apply(
            params: types.ApplyWorkspaceEditParams,
        ) -> types.ApplyWorkspaceEditResult:
            self.applied_edits.append(params.edit)
            _write_created_files(params.edit)
            return types.ApplyWorkspaceEditResult(applied=True)

    async def start(
        self, folder: Path, *, trusted: bool | None = True
    ) -> types.InitializeResult:
        """Initialize the way this editor does."""
        if self.name == "visual-studio-code":
            settings: dict[str, Any] = {}
            if trusted is not None:
                settings["trusted"] = trusted
            init_options: Any = {"settings": settings}
        else:
            init_options = (
                None  # Neovim sends none; settings come from workspace/configuration
            )
            self.client.set_configuration({}, section="stackguard")
        result = await self.client.initialize_session(
            types.InitializeParams(
                capabilities=self.capabilities,
                client_info=types.ClientInfo(name=f"pytest-{self.name}"),
                root_uri=folder.as_uri(),
                workspace_folders=[
                    types.WorkspaceFolder(uri=folder.as_uri(), name=folder.name)
                ],
                initialization_options=init_options,
            )
        )
        # Editors offer the stack commands once the stack is known (VS Code's
        # status item and verify picker are filled from this notification).
        await _until(
            lambda: any(s["folder"] == folder.as_uri() for s in self.stacks),
            "the stack notification",
        )
        return result

    async def diagnostics(self, uri: str) -> list[types.Diagnostic]:
        """Pulled when this editor pulls (Neovim 0.11), else the last published."""
        if (
            self.capabilities.text_document
            and self.capabilities.text_document.diagnostic
        ):
            report = await self.client.text_document_diagnostic_async(
                types.DocumentDiagnosticParams(
                    text_document=types.TextDocumentIdentifier(uri=uri)
                )
            )
            return list(report.items)
        return list(self.client.diagnostics.get(uri, []))

    async def command(self, name: str, argument: dict[str, Any]) -> Any:
        return await asyncio.wait_for(
            self.client.workspace_execute_command_async(
                types.ExecuteCommandParams(command=name, arguments=[argument])
            ),
            TIMEOUT_S,
        )

    def open(self, path: Path) -> str:
        uri = path.as_uri()
        self.client.text_document_did_open(
            types.DidOpenTextDocumentParams(
                text_document=types.TextDocumentItem(
                    uri=uri, language_id="python", version=1, text=path.read_text()
                )
            )
        )
        return uri


def _write_created_files(edit: types.WorkspaceEdit) -> None:
    """What an editor does with a new file in a workspace edit: create it
    and save the text the edit puts into it (edits to existing files stay
    unapplied, as in an editor that has not saved them yet)."""
    created: dict[str, list[str]] = {}
    for change in edit.document_changes or []:
        if isinstance(change, types.CreateFile):
            created[change.uri] = []
        elif (
            isinstance(change, types.TextDocumentEdit)
            and change.text_document.uri in created
        ):
            created[change.text_document.uri].extend(e.new_text for e in change.edits)
    for uri, texts in created.items():
        path = Path(uri.removeprefix("file://"))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(texts))


async def _until(predicate: Callable[[], Any], what: str) -> Any:
    deadline = asyncio.get_running_loop().time() + TIMEOUT_S
    while not (value := predicate()):
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)
    return value


@pytest_lsp.fixture(
    config=ClientServerConfig(
        server_command=[sys.executable, "-m", "stackguard", "serve"],
        client_factory=_plain_json_client,
    ),
    params=EDITORS_UNDER_TEST,
)
async def editor_client(request, client: LanguageClient):
    client.editor = Editor(client, request.param)  # type: ignore[attr-defined]
    yield
    if client.capabilities is not None:
        await client.shutdown_session()


@pytest.fixture
def editor(editor_client: LanguageClient) -> Editor:
    return editor_client.editor  # type: ignore[attr-defined]


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    folder = tmp_path / "example_shop"
    shutil.copytree(WORKSPACES / "example_shop", folder)
    return folder


@pytest.fixture
def quick_verify_project(tmp_path: Path) -> Path:
    """A project whose two verify steps are instant Python one-liners."""
    folder = tmp_path / "quick"
    (folder / "stack").mkdir(parents=True)
    (folder / "app.py").write_text("VALUE = 1\n")
    (folder / "stack" / "stack.yaml").write_text(
        "language: python\n"
        "verify:\n"
        "  lint:\n"
        "    cmd: >-\n"
        f"      {sys.executable} -c \"print('lint says hello')\"\n"
        "  tests:\n"
        "    cmd: >-\n"
        f"      {sys.executable} -c \"print('1 passed')\"\n"
    )
    return folder


async def test_server_lists_the_editor_commands(editor: Editor, shop: Path) -> None:
    result = await editor.start(shop)
    provided = set(result.capabilities.execute_command_provider.commands)
    assert IMPLEMENTED <= provided
    # vscode-languageclient registers every server command as a VS Code
    # command; the extension's own palette ids must not collide with them.
    manifest = json.loads((EDITORS / "vscode" / "package.json").read_text())
    palette = {command["command"] for command in manifest["contributes"]["commands"]}
    assert not palette & provided, palette & provided


async def test_show_stack_with_a_folder_and_without(editor: Editor, shop: Path) -> None:
    await editor.start(shop)
    folder = shop.as_uri()
    one = await editor.command("stackguard.showStack", {"folder": folder})
    assert one["folder"] == folder
    [root] = one["roots"]
    assert "fastapi" in root["summary"]
    await _until(
        lambda: any("fastapi" in m.message for m in editor.client.messages),
        "the stack message",
    )
    # VS Code's palette command without an active folder sends {}.
    every = await editor.command("stackguard.showStack", {})
    assert [payload["folder"] for payload in every["folders"]] == [folder]


async def test_debug_info_reports_where_settings_came_from(
    editor: Editor, shop: Path
) -> None:
    await editor.start(shop)
    info = await editor.command("stackguard.debugInfo", {})
    [folder] = info["folders"]
    assert folder["uri"] == shop.as_uri()
    assert info["client"]["name"] == f"pytest-{editor.name}"
    expected_source = (
        "initializationOptions" if editor.name == "visual-studio-code" else "default"
    )
    assert folder["settingsSources"]["trusted"] == expected_source
    assert folder["settingsProblems"] == []


async def test_verify_all_steps_and_picked_steps(
    editor: Editor, quick_verify_project: Path
) -> None:
    await editor.start(quick_verify_project)
    folder = quick_verify_project.as_uri()
    everything = await editor.command("stackguard.verify", {"folder": folder})
    assert [(step["name"], step["status"]) for step in everything["steps"]] == [
        ("lint", "passed"),
        ("tests", "passed"),
    ]
    lines = await _until(
        lambda: [
            o
            for o in editor.verify_output
            if o["step"] == "lint" and "lint says hello" in o["line"]
        ],
        "the lint step's output line",
    )
    assert lines[0]["folder"] == folder

    picked = await editor.command(
        "stackguard.verify", {"folder": folder, "steps": ["tests"]}
    )
    assert [(step["name"], step["status"]) for step in picked["steps"]] == [
        ("tests", "passed")
    ]


async def test_verify_is_refused_in_an_untrusted_vscode_workspace(
    editor_client: LanguageClient, quick_verify_project: Path
) -> None:
    editor: Editor = editor_client.editor  # type: ignore[attr-defined]
    if editor.name != "visual-studio-code":
        # Only VS Code has a trust model to report; Neovim never sends trusted.
        await editor.start(quick_verify_project)
        result = await editor.command(
            "stackguard.verify",
            {"folder": quick_verify_project.as_uri(), "steps": ["lint"]},
        )
        assert [step["status"] for step in result["steps"]] == ["passed"]
        return
    await editor.start(quick_verify_project, trusted=False)
    with pytest.raises(JsonRpcException, match="untrusted"):
        await editor.command(
            "stackguard.verify",
            {"folder": quick_verify_project.as_uri(), "steps": ["lint"]},
        )
    assert editor.verify_output == []


async def test_fix_all_applies_an_edit(editor: Editor, shop: Path) -> None:
    await editor.start(shop)
    path = shop / "app" / "repositories" / "order_repository.py"
    uri = editor.open(path)
    # SG202 (N+1) has a safe fix; it needs the workspace index, so it may
    # arrive after the first diagnostics.
    deadline = asyncio.get_running_loop().time() + TIMEOUT_S
    while not any(d.code == "SG202" for d in await editor.diagnostics(uri)):
        assert asyncio.get_running_loop().time() < deadline, "no SG202 diagnostic"
        await asyncio.sleep(0.1)
    await editor.command("stackguard.fixAll", {"uri": uri})
    edits = await _until(lambda: editor.applied_edits, "workspace/applyEdit")
    edit = edits[-1]
    changed = edit.changes or {
        change.text_document.uri: change.edits for change in edit.document_changes or []
    }
    assert uri in changed and any(
        "selectinload(Order.items)" in e.new_text for e in changed[uri]
    ), edit


async def test_generate_migration_with_and_without_a_message(
    editor: Editor, shop: Path
) -> None:
    models = shop / "app" / "models" / "catalog.py"
    models.write_text(
        models.read_text().replace(
            "    stock: Mapped[int] = mapped_column(Integer, default=0)\n",
            "    stock: Mapped[int] = mapped_column(Integer, default=0)\n"
            "    discontinued: Mapped[bool] = mapped_column(default=False)\n",
        )
    )
    await editor.start(shop)
    folder = shop.as_uri()
    # The shape VS Code's and Neovim's prompts send when the user typed a message.
    created = await editor.command(
        "stackguard.generateMigration",
        {"folder": folder, "message": "add discontinued"},
    )
    assert created["status"] == "created", created
    assert any("discontinued" in operation for operation in created["operations"]), (
        created
    )
    revision = Path(created["path"])
    assert revision.parent == shop / "migrations" / "versions"
    # Written by the server or created through workspace/applyEdit, per the
    # client's resource-operation support; either way the revision exists.
    created_uris = [
        change.uri
        for edit in editor.applied_edits
        for change in edit.document_changes or []
        if isinstance(change, types.CreateFile)
    ]
    assert revision.exists(), (created, created_uris)
    assert "add discontinued" in revision.read_text()
    # An empty message is left out: {folder} alone.
    again = await editor.command("stackguard.generateMigration", {"folder": folder})
    assert again["status"] == "no_changes", again


def _selection(path: Path, needle: str) -> dict[str, Any]:
    """The LSP range of ``needle`` in the file, as an editor's selection."""
    for number, line in enumerate(path.read_text().splitlines()):
        column = line.find(needle)
        if column >= 0:
            return {
                "start": {"line": number, "character": column},
                "end": {"line": number, "character": column + len(needle)},
            }
    raise AssertionError(f"{needle!r} not in {path}")


@pytest.fixture
def fastapi_app(tmp_path: Path) -> Path:
    folder = tmp_path / "app_fastapi_sqlalchemy"
    shutil.copytree(WORKSPACES / "app_fastapi_sqlalchemy", folder)
    return folder


async def test_extract_to_service_with_the_cursor_range(editor: Editor, fastapi_app: Path) -> None:
    await editor.start(fastapi_app)
    path = fastapi_app / "app" / "routers" / "users.py"
    uri = editor.open(path)
    cursor = _selection(path, "user = session.get(User, user_id)")
    cursor["end"] = cursor["start"]  # no selection: the cursor inside the handler
    result = await editor.command("stackguard.extractToService", {"uri": uri, "range": cursor})
    assert result and result.get("applied") is not False, result
    edits = await _until(lambda: editor.applied_edits, "workspace/applyEdit")
    changed = edits[-1].changes or {c.text_document.uri: c.edits for c in edits[-1].document_changes or [] if hasattr(c, "edits")}
    router_edits = changed.get(uri, [])
    assert router_edits, edits[-1]
    assert not any("session.get(User" in e.new_text for e in router_edits)


async def test_add_repository_method_with_selection_and_description(editor: Editor, fastapi_app: Path) -> None:
    await editor.start(fastapi_app)
    path = fastapi_app / "app" / "routers" / "users.py"
    uri = editor.open(path)
    query = "select(User).where(User.email == email)"
    argument = {"uri": uri, "range": _selection(path, query), "description": "find a user by email"}
    result = await editor.command("stackguard.addRepositoryMethod", argument)
    assert result and result.get("applied") is not False, result
    edits = await _until(lambda: editor.applied_edits, "workspace/applyEdit")
    assert edits[-1].changes or edits[-1].document_changes
