"""Units of the LSP layer that need no client: client support flags,
per-folder state and settings layers, the diagnostics store, problem ranges,
manifest hover text and command argument checks."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcInvalidParams
from pygls.workspace.position_codec import PositionCodec
from pytest_lsp import client_capabilities

from stackguard.lsp.capabilities import ClientSupport
from stackguard.lsp.diagnostics_store import DiagnosticsStore
from stackguard.lsp.features.stack_feature import evidence_hover, problem_range
from stackguard.lsp.server import Feature, create_server, single_argument
from stackguard.lsp.workspace_state import (
    FolderState,
    WorkspaceState,
    path_to_uri,
    settings_from_initialization_options,
)
from stackguard.stack import Evidence, Fact, Problem, StackProfile


# -- ClientSupport -----------------------------------------------------------------
def test_client_support_of_vscode_snapshot():
    support = ClientSupport.from_capabilities(client_capabilities("visual-studio-code"))
    assert not support.pull_diagnostics
    assert support.watched_files_dynamic_registration
    assert support.code_action_resolve_edit
    assert support.change_annotations
    assert support.resource_create and support.resource_rename and support.resource_delete
    assert support.workspace_configuration and support.work_done_progress and support.show_document
    assert support.position_encoding == "utf-16"


def test_client_support_of_neovim_snapshot():
    support = ClientSupport.from_capabilities(client_capabilities("neovim"))
    assert support.pull_diagnostics
    assert not support.pull_diagnostics_dynamic_registration
    assert not support.diagnostic_refresh
    assert not support.watched_files_dynamic_registration
    assert not support.change_annotations
    assert support.position_encoding == "utf-8"


def test_client_support_of_an_empty_client_is_all_off():
    support = ClientSupport.from_capabilities(types.ClientCapabilities())
    flags = {k: v for k, v in support.to_dict().items() if k != "position_encoding"}
    assert not any(flags.values())
    assert ClientSupport.from_capabilities(None) == support


# -- workspace state -----------------------------------------------------------------
def profile(root: Path, relative_root: str = ".", **facts) -> StackProfile:
    result = StackProfile(root=str(root), relative_root=relative_root)
    for category, fact in facts.items():
        if category == "language":
            result.language = fact
        else:
            getattr(result, category).append(fact)
    return result


def test_folder_for_picks_the_deepest_folder(tmp_path: Path):
    state = WorkspaceState()
    outer = state.add_folder(path_to_uri(tmp_path))
    inner = state.add_folder(path_to_uri(tmp_path / "services" / "api"))
    assert state.folder_for(path_to_uri(tmp_path / "services" / "api" / "app.py")) is inner
    assert state.folder_for(path_to_uri(tmp_path / "services" / "other.py")) is outer
    assert state.folder_for(path_to_uri(tmp_path.parent / "elsewhere.py")) is None
    assert state.folder_for("untitled:Untitled-1") is None


def test_profile_for_picks_the_deepest_root(tmp_path: Path):
    state = WorkspaceState()
    folder = state.add_folder(path_to_uri(tmp_path))
    top = profile(tmp_path)
    backend = profile(tmp_path / "backend", "backend")
    folder.profiles = [top, backend]
    assert state.profile_for(path_to_uri(tmp_path / "backend" / "app" / "main.py")) is backend
    assert state.profile_for(path_to_uri(tmp_path / "scripts" / "tool.py")) is top
    assert state.profile_for(path_to_uri(tmp_path / "backendish" / "x.py")) is top


def test_non_file_folders_are_ignored_and_removal_accepts_other_spellings(tmp_path: Path):
    state = WorkspaceState()
    assert state.add_folder("vscode-vfs://github/org/repo") is None
    folder = state.add_folder(path_to_uri(tmp_path))
    assert state.remove_folder(path_to_uri(tmp_path) + "/") is folder
    assert list(state) == []


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"select": ["SG1"]}, {"select": ["SG1"]}),
        ({"settings": {"select": ["SG1"]}}, {"select": ["SG1"]}),
        (None, None),
        (["odd"], ["odd"]),
    ],
)
def test_initialization_options_shapes(options, expected):
    assert settings_from_initialization_options(options) == expected


def test_settings_layers_in_precedence_order(tmp_path: Path):
    (tmp_path / "pyproject.toml").write_text(
        '[tool.stackguard]\nselect = ["SG1"]\nignore = ["SG2"]\nexclude = ["a/**"]\n[tool.stackguard.agent]\nmaxTurns = 1\n'
    )
    state = WorkspaceState()
    state.init_options_settings = {"ignore": ["SG3"], "agent": {"maxTurns": 2}}
    folder = state.add_folder(path_to_uri(tmp_path))
    folder.profiles = [profile(tmp_path)]
    folder.profiles[0].stack_settings = {"select": ["SG4"], "exclude": ["b/**"]}
    folder.client_settings = {"agent": {"maxTurns": 3}}
    resolved = state.resolve(folder)
    settings, sources = resolved.settings, resolved.sources
    assert (settings.select, sources["select"]) == (["SG4"], "stack.yaml")
    assert (settings.exclude, sources["exclude"]) == (["b/**"], "stack.yaml")
    assert (settings.ignore, sources["ignore"]) == (["SG3"], "initializationOptions")
    assert (settings.agent.max_turns, sources["agent.maxTurns"]) == (3, "workspace/configuration")


def test_a_broken_pyproject_is_a_settings_problem_not_an_error(tmp_path: Path):
    (tmp_path / "pyproject.toml").write_text("[tool.stackguard\n")
    state = WorkspaceState()
    state.init_options_settings = {"select": ["SG1"]}
    folder = state.add_folder(path_to_uri(tmp_path))
    assert folder.resolved.settings.select == ["SG1"]
    [problem] = folder.resolved.problems
    assert "invalid TOML" in problem.message


# -- diagnostics store -----------------------------------------------------------
class FakeServer:
    def __init__(self, support: ClientSupport) -> None:
        self.client_support = support
        self.workspace = SimpleNamespace(text_documents={"file:///open.py": SimpleNamespace(version=7)})
        self.published: list[types.PublishDiagnosticsParams] = []
        self.tasks: list = []

    def text_document_publish_diagnostics(self, params: types.PublishDiagnosticsParams) -> None:
        self.published.append(params)

    def run_task(self, coro, name: str = ""):
        self.tasks.append(name)
        coro.close()


def diagnostic(message: str, source: str = "stackguard") -> types.Diagnostic:
    return types.Diagnostic(range=types.Range(types.Position(0, 0), types.Position(0, 1)), message=message, source=source)


def test_sources_do_not_overwrite_each_other_and_push_sends_the_union():
    server = FakeServer(ClientSupport())
    store = DiagnosticsStore(server)
    store.set("stackguard", "file:///open.py", [diagnostic("rule")], version=6)
    store.set("stackguard-verify", "file:///open.py", [diagnostic("mypy", "stackguard-verify")])
    store.publish("file:///open.py")
    [params] = server.published
    assert [d.message for d in params.diagnostics] == ["rule", "mypy"]
    assert params.version == 6
    store.clear("stackguard", "file:///open.py")
    store.publish("file:///open.py")
    assert [d.message for d in server.published[-1].diagnostics] == ["mypy"]
    assert server.published[-1].version == 7  # falls back to the open document's version
    store.clear_uri("file:///open.py")
    store.publish("file:///open.py")
    assert server.published[-1].diagnostics == []


def test_unknown_source_is_a_programming_error():
    store = DiagnosticsStore(FakeServer(ClientSupport()))
    with pytest.raises(ValueError):
        store.set("ruff", "file:///x.py", [])


def test_pull_clients_get_reports_with_result_ids_and_no_push():
    server = FakeServer(ClientSupport(pull_diagnostics=True, diagnostic_refresh=False))
    store = DiagnosticsStore(server)
    first = store.report("file:///a.py", None)
    assert isinstance(first, types.FullDocumentDiagnosticReport) and first.items == []
    assert isinstance(store.report("file:///a.py", first.result_id), types.UnchangedDocumentDiagnosticReport)
    store.set("stackguard", "file:///a.py", [diagnostic("x")])
    store.publish("file:///a.py")
    assert server.published == [] and server.tasks == []  # no push, no refresh without refreshSupport
    changed = store.report("file:///a.py", first.result_id)
    assert isinstance(changed, types.FullDocumentDiagnosticReport)
    assert [d.message for d in changed.items] == ["x"] and changed.result_id != first.result_id


def test_pull_clients_with_refresh_support_get_one_refresh_per_burst():
    server = FakeServer(ClientSupport(pull_diagnostics=True, diagnostic_refresh=True))
    store = DiagnosticsStore(server)
    for name in ("a", "b", "c"):
        store.set("stackguard", f"file:///{name}.py", [diagnostic(name)])
        store.publish(f"file:///{name}.py")
    assert server.tasks == ["diagnostic-refresh"]


# -- problem ranges ------------------------------------------------------------------
LINES = ["language: python\n", "framework: [fástapi\n", "orm: sqlalchemy\n"]


@pytest.mark.parametrize(
    ("problem", "encoding", "expected"),
    [
        # column given: from the column to the end of the line
        (Problem("p", "m", line=2, column=13), "utf-16", ((1, 12), (1, 19))),
        # non-ASCII before the end counts 2 bytes in utf-8
        (Problem("p", "m", line=2, column=13), "utf-8", ((1, 12), (1, 20))),
        # no column: the whole line
        (Problem("p", "m", line=3), "utf-16", ((2, 0), (2, 15))),
        # no line: the first line
        (Problem("p", "m"), "utf-16", ((0, 0), (0, 16))),
        # explicit end
        (Problem("p", "m", line=1, column=1, end_line=1, end_column=9), "utf-16", ((0, 0), (0, 8))),
        # past the end of the file: clamped to the last line
        (Problem("p", "m", line=40, column=2), "utf-16", ((2, 1), (2, 2))),
    ],
)
def test_problem_range(problem, encoding, expected):
    result = problem_range(problem, LINES, PositionCodec(encoding))
    assert ((result.start.line, result.start.character), (result.end.line, result.end.character)) == expected


def test_problem_range_without_file_text_is_still_a_range():
    result = problem_range(Problem("p", "m", line=3, column=4), [], PositionCodec("utf-16"))
    assert (result.start.line, result.start.character, result.end.line, result.end.character) == (2, 3, 2, 4)


# -- hover text ----------------------------------------------------------------------
def test_evidence_hover_names_category_fact_and_detail(tmp_path: Path):
    folder = FolderState(uri=path_to_uri(tmp_path), path=tmp_path)
    folder.profiles = [
        profile(
            tmp_path,
            frameworks=Fact("fastapi", (Evidence("pyproject.toml", 6, '"fastapi"'),)),
            orms=Fact("sqlalchemy", (Evidence("pyproject.toml", 7),), {"async": True}),
        ),
        profile(
            tmp_path / "web",
            "web",
            frameworks=Fact("express", (Evidence("package.json", 3),)),
        ),
    ]
    text = evidence_hover(folder, tmp_path / "pyproject.toml", 7)
    assert text is not None
    assert "ORM: **sqlalchemy (async=True)**" in text
    assert "fastapi" not in text
    assert evidence_hover(folder, tmp_path / "pyproject.toml", 1) is None
    nested = evidence_hover(folder, tmp_path / "web" / "package.json", 3)
    assert nested is not None and "framework: **express** in `web`" in nested


# -- command arguments ---------------------------------------------------------------
@pytest.mark.parametrize(("arguments", "expected"), [((), {}), ((None,), {}), (({"a": 1},), {"a": 1})])
def test_single_argument_accepts_nothing_or_one_object(arguments, expected):
    assert single_argument("cmd", arguments) == expected


@pytest.mark.parametrize("arguments", [("text",), ([1],), ({}, {})])
def test_single_argument_rejects_the_rest(arguments):
    with pytest.raises(JsonRpcInvalidParams):
        single_argument("cmd", arguments)


# -- feature isolation ---------------------------------------------------------------
async def test_a_failing_feature_does_not_stop_the_others():
    calls: list[str] = []

    class Broken(Feature):
        name = "broken"

        def document_open(self, uri: str) -> None:
            raise RuntimeError("boom")

        async def hover(self, uri, position):
            raise KeyError("no")

    class Recording(Feature):
        name = "recording"

        async def document_open(self, uri: str) -> None:
            calls.append(uri)

        def hover(self, uri, position):
            return "**hi**"

    server = create_server(features=[Broken, Recording])
    await server.call_features("document_open", "file:///x.py")
    assert calls == ["file:///x.py"]
    results = await server.call_features("hover", "file:///x.py", types.Position(0, 0))
    assert results == ["**hi**"]  # the broken feature is skipped, not a None placeholder
