"""The agent's code actions computed in-process, where the state the LSP
tests cannot pin down can be set up exactly: an analyzer whose workspace
index does not hold the document yet."""

from __future__ import annotations

from pathlib import Path

import pytest
from agent_support import KEY_ENV, TEST_KEY, copy_workspace
from lsprotocol import types
from pygls.workspace import Workspace

from stackguard.analysis.project import ProjectAnalyzer
from stackguard.lsp.features.agent_feature import AgentFeature
from stackguard.lsp.features.rules_feature import RulesFeature
from stackguard.lsp.server import create_server
from stackguard.lsp.workspace_state import path_to_uri

ROUTER = "app/routers/users.py"
PING_ROUTER = """from fastapi import APIRouter

router = APIRouter()


def log_ping(count: int):
    print(count)
"""


def test_refactor_actions_before_the_index_holds_the_document(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    # CI once asked for code actions right after a late stack detection had
    # replaced the analyzer: its index was still being built, the document's
    # layer was unknown, and only "Fix with agent" came back.
    monkeypatch.setenv(KEY_ENV, TEST_KEY)
    app = copy_workspace("app_fastapi_sqlalchemy", tmp_path)
    server = create_server()
    # What initialize sets up, without a client.
    server.protocol._workspace = Workspace(path_to_uri(app), types.TextDocumentSyncKind.Incremental)
    server.state.init_options_settings = {"agent": {"apiKeyEnv": KEY_ENV, "baseUrl": "http://127.0.0.1:9"}}
    folder = server.state.add_folder(path_to_uri(app))
    assert folder is not None
    rules = server.get_feature(RulesFeature)
    agent = server.get_feature(AgentFeature)
    assert isinstance(rules, RulesFeature) and isinstance(agent, AgentFeature)
    analyzer = ProjectAnalyzer(app, folder.profile_for_path(app), folder.resolved.settings)
    rules.analyzers[rules._analyzer_key(folder, str(app))] = analyzer
    assert analyzer.index.summaries == {}  # never built

    router = app / ROUTER
    text = router.read_text()
    line = next(number for number, content in enumerate(text.splitlines()) if "def create_user(" in content) + 2
    params = types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri=path_to_uri(router)),
        range=types.Range(types.Position(line, 4), types.Position(line, 4)),
        context=types.CodeActionContext(diagnostics=[]),
    )
    titles = [action.title for action in agent.extra_code_actions(path_to_uri(router), params, text)]
    assert titles == ["Extract to service (agent)", "Move data access to a repository method (agent)"]
    # Mid-typing (the text does not parse): no refactor actions, no error.
    assert agent.extra_code_actions(path_to_uri(router), params, text + "\ndef broken(:\n") == []


async def test_fix_all_before_the_index_holds_the_document(tmp_path: Path):
    # The same window for source.fixAll: the document's layer comes from its
    # own text (SG501, whose safe fix adds `-> None`, applies to routers,
    # not to the "other" layer an unknown file used to get).
    app = copy_workspace("lsp_rules", tmp_path)
    server = create_server()
    server.protocol._workspace = Workspace(path_to_uri(app), types.TextDocumentSyncKind.Incremental)
    folder = server.state.add_folder(path_to_uri(app))
    assert folder is not None
    rules = server.get_feature(RulesFeature)
    assert isinstance(rules, RulesFeature)
    analyzer = ProjectAnalyzer(app, folder.profile_for_path(app), folder.resolved.settings)
    rules.analyzers[rules._analyzer_key(folder, str(app))] = analyzer
    path = app / "app/routers/ping.py"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(PING_ROUTER)
    server.workspace.put_text_document(types.TextDocumentItem(uri=path_to_uri(path), language_id="python", version=1, text=PING_ROUTER))
    edit = await rules._fix_all_edit(path_to_uri(path))
    assert edit is not None and edit.changes
    [edits] = edit.changes.values()
    assert [e.new_text for e in edits] == [" -> None"]
