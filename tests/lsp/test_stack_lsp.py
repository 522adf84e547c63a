"""Stack detection through the real server over stdio, for a push client
(VS Code snapshot) and a pull client (Neovim snapshot).

Run with ``-W error::pytest_lsp.LspSpecificationWarning``.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcInvalidParams, JsonRpcMethodNotFound

from lsp_session import Session, copy_workspace, uri, wait_until, wait_until_async

pytestmark = pytest.mark.e2e

PYTHON = "lsp_fastapi"
NODE = "lsp_express"


def names(facts: list[dict]) -> list[str]:
    return [fact["name"] for fact in facts]


def line_number(path: Path, pattern: str) -> int:
    """0-based line of the first line matching ``pattern``."""
    for index, line in enumerate(path.read_text().splitlines()):
        if re.search(pattern, line):
            return index
    raise AssertionError(f"{pattern!r} not in {path}")


async def test_one_stack_notification_per_folder(lsp: Session, tmp_path: Path):
    python_folder = copy_workspace(PYTHON, tmp_path)
    node_folder = copy_workspace(NODE, tmp_path)
    result = await lsp.initialize([python_folder, node_folder])
    assert result.server_info.name == "stackguard"

    python_stack = await lsp.wait_for_stack(python_folder)
    node_stack = await lsp.wait_for_stack(node_folder)

    [python_root] = python_stack["roots"]
    assert python_root["root"] == uri(python_folder)
    assert python_root["relativeRoot"] == "."
    assert python_root["summary"].startswith("python")
    profile = python_root["profile"]
    assert profile["language"]["name"] == "python"
    assert names(profile["frameworks"]) == ["fastapi"]
    assert names(profile["orms"]) == ["sqlalchemy"]
    assert names(profile["migrations"]) == ["alembic"]
    # camelCase field names; evidence points at the manifest line.
    assert "testRunners" in profile and "test_runners" not in profile
    [evidence] = profile["frameworks"][0]["evidence"]
    assert evidence["path"] == "pyproject.toml"
    assert evidence["line"] == line_number(python_folder / "pyproject.toml", r'"fastapi') + 1

    [node_root] = node_stack["roots"]
    node_profile = node_root["profile"]
    assert node_profile["language"]["name"] in ("javascript", "typescript")
    assert names(node_profile["frameworks"]) == ["express"]
    assert names(node_profile["orms"]) == ["prisma"]

    # Exactly one detection per folder: the server's own count agrees with
    # what the client received, so no second notification is in flight.
    info = await lsp.command("stackguard.debugInfo", {})
    assert {folder["uri"]: folder["detections"] for folder in info["folders"]} == {
        uri(python_folder): 1,
        uri(node_folder): 1,
    }
    assert len(lsp.stack[uri(python_folder)]) == 1
    assert len(lsp.stack[uri(node_folder)]) == 1


async def test_folder_added_at_runtime_is_detected(lsp: Session, tmp_path: Path):
    python_folder = copy_workspace(PYTHON, tmp_path)
    node_folder = copy_workspace(NODE, tmp_path)
    stack_yaml = python_folder / "stack" / "stack.yaml"
    stack_yaml.parent.mkdir()
    stack_yaml.write_text("framework: [\n")
    await lsp.initialize([python_folder])
    await lsp.wait_for_stack(python_folder)
    await lsp.wait_for_diagnostics(stack_yaml, lambda items: len(items) == 1, "the stack.yaml diagnostic")

    lsp.client.workspace_did_change_workspace_folders(
        types.DidChangeWorkspaceFoldersParams(
            event=types.WorkspaceFoldersChangeEvent(
                added=[types.WorkspaceFolder(uri=uri(node_folder), name=node_folder.name)], removed=[]
            )
        )
    )
    node_stack = await lsp.wait_for_stack(node_folder)
    assert names(node_stack["roots"][0]["profile"]["frameworks"]) == ["express"]

    # Removing a folder drops it from the server's state.
    lsp.client.workspace_did_change_workspace_folders(
        types.DidChangeWorkspaceFoldersParams(
            event=types.WorkspaceFoldersChangeEvent(
                added=[], removed=[types.WorkspaceFolder(uri=uri(python_folder), name=python_folder.name)]
            )
        )
    )
    info = await lsp.command("stackguard.debugInfo", {})
    assert [folder["uri"] for folder in info["folders"]] == [uri(node_folder)]
    # ...and its diagnostics with it.
    await lsp.wait_for_diagnostics(stack_yaml, lambda items: items == [], "the removed folder's diagnostics to clear")


async def test_editing_a_manifest_redetects(lsp: Session, tmp_path: Path):
    folder = copy_workspace(PYTHON, tmp_path)
    await lsp.initialize([folder])
    first = await lsp.wait_for_stack(folder)
    assert names(first["roots"][0]["profile"]["frameworks"]) == ["fastapi"]

    if lsp.watches_files:
        [registration] = [r for r in lsp.registrations if r.method == types.WORKSPACE_DID_CHANGE_WATCHED_FILES]
        globs = [watcher["globPattern"] for watcher in registration.register_options["watchers"]]
        assert "**/pyproject.toml" in globs
    else:
        assert not any(r.method == types.WORKSPACE_DID_CHANGE_WATCHED_FILES for r in lsp.registrations)

    pyproject = folder / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('"fastapi>=0.110"', '"flask>=3.0"'))
    lsp.file_changed_on_disk(pyproject, "toml")

    second = await lsp.wait_for_stack(folder, count=2)
    assert names(second["roots"][0]["profile"]["frameworks"]) == ["flask"]


async def test_malformed_stack_yaml_is_a_diagnostic_until_fixed(lsp: Session, tmp_path: Path):
    folder = copy_workspace(PYTHON, tmp_path)
    stack_yaml = folder / "stack" / "stack.yaml"
    stack_yaml.parent.mkdir()
    stack_yaml.write_text("language: python\nframework: [fastapi\norm: sqlalchemy\n")
    result = await lsp.initialize([folder])
    provider = result.capabilities.diagnostic_provider
    if lsp.pulls:
        assert provider is not None and provider.identifier == "stackguard"
    else:
        assert provider is None  # push-only clients get publishDiagnostics
    await lsp.wait_for_stack(folder)
    lsp.open(stack_yaml, "yaml")

    diagnostics = await lsp.wait_for_diagnostics(stack_yaml, lambda items: len(items) > 0, "stack.yaml diagnostic")
    [diagnostic] = diagnostics
    assert diagnostic.source == "stackguard"
    assert diagnostic.code == "stack-config"
    assert diagnostic.severity == types.DiagnosticSeverity.Error
    assert "YAML" in diagnostic.message
    assert diagnostic.range.start.line == 2  # the parser notices on the line after the open bracket

    stack_yaml.write_text("language: python\nframework: fastapi\norm: sqlalchemy\n")
    lsp.file_changed_on_disk(stack_yaml, "yaml")
    fixed = await lsp.wait_for_stack(folder, count=2)
    assert fixed["roots"][0]["profile"]["source"] == "stack.yaml"
    await lsp.wait_for_diagnostics(stack_yaml, lambda items: items == [], "the diagnostic to clear")


async def test_pull_diagnostics_only_for_pull_clients(lsp: Session, tmp_path: Path):
    folder = copy_workspace(PYTHON, tmp_path)
    stack_yaml = folder / "stack" / "stack.yaml"
    stack_yaml.parent.mkdir()
    stack_yaml.write_text("framework: [\n")
    await lsp.initialize([folder])
    await lsp.wait_for_stack(folder)
    params = types.DocumentDiagnosticParams(text_document=types.TextDocumentIdentifier(uri=uri(stack_yaml)))
    if not lsp.pulls:
        # Never advertised, never served: a push client must not be asked to pull.
        with pytest.raises(JsonRpcMethodNotFound):
            await lsp.client.text_document_diagnostic_async(params)
        return
    full = await lsp.client.text_document_diagnostic_async(params)
    assert full.kind == "full" and len(full.items) == 1
    params.previous_result_id = full.result_id
    again = await lsp.client.text_document_diagnostic_async(params)
    assert again.kind == "unchanged" and again.result_id == full.result_id


async def test_pull_diagnostics_registered_dynamically_with_refresh(lsp_pull_dynamic: Session, tmp_path: Path):
    lsp = lsp_pull_dynamic
    folder = copy_workspace(PYTHON, tmp_path)
    stack_yaml = folder / "stack" / "stack.yaml"
    stack_yaml.parent.mkdir()
    stack_yaml.write_text("framework: [\n")
    result = await lsp.initialize([folder])
    # Registered through client/registerCapability, not advertised statically.
    assert result.capabilities.diagnostic_provider is None
    await lsp.wait_for_stack(folder)
    [registration] = [r for r in lsp.registrations if r.method == types.TEXT_DOCUMENT_DIAGNOSTIC]
    assert registration.register_options["identifier"] == "stackguard"
    assert registration.register_options["interFileDependencies"] is True
    lsp.open(stack_yaml, "yaml")
    [diagnostic] = await lsp.diagnostics(stack_yaml)
    assert diagnostic.code == "stack-config"
    assert lsp.client.diagnostics == {}  # nothing pushed to a pull client

    refreshes = lsp.client.diagnostic_refresh_count
    stack_yaml.write_text("framework: fastapi\n")
    lsp.file_changed_on_disk(stack_yaml, "yaml")
    await lsp.wait_for_stack(folder, count=2)
    await wait_until(lambda: lsp.client.diagnostic_refresh_count > refreshes, "workspace/diagnostic/refresh")
    assert await lsp.diagnostics(stack_yaml) == []


async def test_hover_on_a_dependency_line(lsp: Session, tmp_path: Path):
    folder = copy_workspace(PYTHON, tmp_path)
    await lsp.initialize([folder])
    await lsp.wait_for_stack(folder)
    pyproject = folder / "pyproject.toml"
    document = lsp.open(pyproject, "toml")

    hover = await lsp.client.text_document_hover_async(
        types.HoverParams(
            text_document=types.TextDocumentIdentifier(uri=document),
            position=types.Position(line=line_number(pyproject, r'"fastapi'), character=8),
        )
    )
    assert hover is not None
    assert hover.contents.kind == types.MarkupKind.Markdown
    assert "framework: **fastapi**" in hover.contents.value
    assert "pyproject.toml" in hover.contents.value

    nothing = await lsp.client.text_document_hover_async(
        types.HoverParams(
            text_document=types.TextDocumentIdentifier(uri=document),
            position=types.Position(line=line_number(pyproject, r"^\[project\]"), character=1),
        )
    )
    assert nothing is None


async def test_show_stack_command(lsp: Session, tmp_path: Path):
    python_folder = copy_workspace(PYTHON, tmp_path)
    node_folder = copy_workspace(NODE, tmp_path)
    await lsp.initialize([python_folder, node_folder])
    notified = await lsp.wait_for_stack(python_folder)

    one = await lsp.command("stackguard.showStack", {"folder": uri(python_folder)})
    assert one == notified
    assert any(
        message.type == types.MessageType.Info and "python · fastapi" in message.message
        for message in lsp.client.messages
    )

    every = await lsp.command("stackguard.showStack", {})
    assert [entry["folder"] for entry in every["folders"]] == [uri(python_folder), uri(node_folder)]
    assert names(every["folders"][1]["roots"][0]["profile"]["frameworks"]) == ["express"]
    # An editor that sends no arguments at all gets the same.
    assert await lsp.command("stackguard.showStack") == every


async def test_debug_info_command_reports_settings_and_their_sources(lsp: Session, tmp_path: Path):
    folder = copy_workspace(PYTHON, tmp_path)
    stack_yaml = folder / "stack" / "stack.yaml"
    stack_yaml.parent.mkdir()
    stack_yaml.write_text('language: python\nstackguard:\n  ignore: ["SG205"]\n')
    lsp.client.set_configuration({"agent": {"maxTurns": 3}}, section="stackguard", scope_uri=uri(folder))
    await lsp.initialize([folder], init_options={"settings": {"agent": {"enabled": False}}})
    await lsp.wait_for_stack(folder)

    info = await lsp.command("stackguard.debugInfo", {})
    assert info["stackguardVersion"] == "0.1.0"
    assert info["python"]["executable"]
    assert info["client"] == {"name": f"pytest-{lsp.client_name}", "version": "1.0"}
    assert info["clientSupport"]["pull_diagnostics"] is lsp.pulls
    assert info["positionEncoding"] == ("utf-8" if lsp.client_name == "neovim" else "utf-16")
    [entry] = info["folders"]
    assert entry["uri"] == uri(folder)
    assert entry["roots"][0]["summary"].startswith("python")
    settings, sources = entry["settings"], entry["settingsSources"]
    assert settings["exclude"] == ["migrations/**"] and sources["exclude"] == "pyproject.toml"
    assert settings["ignore"] == ["SG205"] and sources["ignore"] == "stack.yaml"
    assert settings["agent"]["enabled"] is False and sources["agent.enabled"] == "initializationOptions"
    assert settings["agent"]["maxTurns"] == 3 and sources["agent.maxTurns"] == "workspace/configuration"
    assert sources["agent.model"] == "default"
    assert entry["settingsProblems"] == []
    # The same information is logged as text for the editor's output panel.
    assert any(
        "stackguard 0.1.0" in log.message and "agent.maxTurns=workspace/configuration" in log.message
        for log in lsp.client.log_messages
    )


async def test_changed_configuration_is_read_again(lsp: Session, tmp_path: Path):
    folder = copy_workspace(PYTHON, tmp_path)
    await lsp.initialize([folder])
    await lsp.wait_for_stack(folder)
    lsp.client.set_configuration({"select": ["SG101"]}, section="stackguard", scope_uri=uri(folder))
    lsp.client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings=None))

    # The server asks the client for the new values asynchronously.
    async def select_source() -> str:
        info = await lsp.command("stackguard.debugInfo", {})
        return info["folders"][0]["settingsSources"]["select"]

    await wait_until_async(select_source, "workspace/configuration", "settings to be read again")
    info = await lsp.command("stackguard.debugInfo", {})
    assert info["folders"][0]["settings"]["select"] == ["SG101"]


async def test_invalid_initialization_options_warn_once_and_the_server_works(lsp: Session, tmp_path: Path):
    python_folder = copy_workspace(PYTHON, tmp_path)
    node_folder = copy_workspace(NODE, tmp_path)
    await lsp.initialize([python_folder, node_folder], init_options={"select": "SG101", "agent": {"maxTurns": 5}})
    await lsp.wait_for_stack(python_folder)
    await lsp.wait_for_stack(node_folder)

    info = await lsp.command("stackguard.debugInfo", {})
    warnings = [m for m in lsp.client.messages if m.type == types.MessageType.Warning]
    assert len(warnings) == 1, warnings
    assert "select" in warnings[0].message and "initializationOptions" in warnings[0].message
    for entry in info["folders"]:
        # The valid key next to the invalid one still applies.
        assert entry["settings"]["agent"]["maxTurns"] == 5
        assert entry["settings"]["select"] == []
        assert entry["settingsSources"]["select"] == "default"
        assert any("select" in problem for problem in entry["settingsProblems"])


@pytest.mark.parametrize(
    "arguments",
    [["not-an-object"], [{"folder": 42}], [{"folder": "file:///not/a/workspace/folder"}], [{}, {}]],
    ids=["string", "folder-not-a-string", "unknown-folder", "two-arguments"],
)
async def test_bogus_command_arguments_get_an_error_not_a_crash(lsp: Session, tmp_path: Path, arguments):
    folder = copy_workspace(PYTHON, tmp_path)
    await lsp.initialize([folder])
    await lsp.wait_for_stack(folder)
    with pytest.raises(JsonRpcInvalidParams):
        await lsp.command("stackguard.showStack", *arguments)
    # Still serving.
    info = await lsp.command("stackguard.debugInfo", {})
    assert info["folders"][0]["uri"] == uri(folder)
    assert not [m for m in lsp.client.messages if m.type == types.MessageType.Error]
