"""Guardrail diagnostics, quick fixes and rule hover through the real server.

Runs with the VS Code (push) and Neovim (pull) capability sets; the command
fallback for clients without ``codeAction/resolve`` uses the Emacs set.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path
from typing import Any

import pytest
import pytest_lsp
from lsp_session import Session, apply_text_edits, copy_workspace, make_client, uri, wait_until
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

REPOSITORY = "app/repositories/users.py"


def codes(diagnostics: list[types.Diagnostic]) -> list[str]:
    return sorted(str(d.code) for d in diagnostics if d.source == "stackguard")



def edits_for(edit: types.WorkspaceEdit, target: str) -> list[types.TextEdit]:
    found: list[types.TextEdit] = []
    if edit.changes:
        found.extend(edit.changes.get(target, []))
    for change in edit.document_changes or []:
        if isinstance(change, types.TextDocumentEdit) and change.text_document.uri == target:
            found.extend(change.edits)  # type: ignore[arg-type]
    return found


def change_document(lsp: Session, path: Path, text: str, version: int) -> None:
    lsp.client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri(path), version=version),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)],
        )
    )


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    return copy_workspace("lsp_rules", tmp_path)


async def test_open_reports_guardrails_with_data_and_docs_link(lsp: Session, workspace: Path):
    await lsp.initialize([workspace])
    path = workspace / REPOSITORY
    lsp.open(path, "python")
    diagnostics = await lsp.wait_for_diagnostics(path, lambda d: "SG105" in codes(d), "SG105 on open")
    commit = next(d for d in diagnostics if d.code == "SG105")
    assert commit.range.start.line == 12  # `self.session.commit()` on line 13
    assert commit.range.start.character == 8
    assert commit.severity == types.DiagnosticSeverity.Warning
    assert "transaction boundaries belong to the service" in commit.message
    assert commit.data["finding"]["code"] == "SG105"
    assert commit.data["finding"]["layer"] == "repository"


async def test_edit_updates_diagnostics_and_survives_syntax_errors(lsp: Session, workspace: Path):
    await lsp.initialize([workspace])
    path = workspace / REPOSITORY
    original = path.read_text()
    lsp.open(path, "python")
    await lsp.wait_for_diagnostics(path, lambda d: "SG105" in codes(d), "SG105 on open")

    # Mid-typing syntax error: the server stays up and keeps the last good results.
    change_document(lsp, path, original.replace("return user\n", "return user(\n", 1), version=2)
    broken = await lsp.wait_for_diagnostics(path, lambda d: "SG105" in codes(d), "last good results kept")
    assert all(d.code != "parse" for d in broken)

    # The commit is replaced by a flush: SG105 is gone in the new version.
    fixed = original.replace("self.session.commit()", "self.session.flush()")
    change_document(lsp, path, fixed, version=3)
    await lsp.wait_for_diagnostics(path, lambda d: "SG105" not in codes(d), "SG105 gone after the edit")
    if not lsp.pulls:
        assert lsp.client.stackguard_versions[uri(path)] == 3  # type: ignore[attr-defined]


async def test_ranges_follow_the_negotiated_encoding_and_inserted_lines(lsp: Session, workspace: Path):
    """Columns after a non-BMP character are counted in the client's units
    (UTF-16 for VS Code, UTF-8 for Neovim), and an incrementally analysed
    edit that adds lines above a finding moves it with them."""
    await lsp.initialize([workspace])
    path = workspace / REPOSITORY
    original = path.read_text()
    emoji = original.replace("        self.session.commit()", '        note = "\U0001F600"; self.session.commit()')
    path.write_text(emoji)
    lsp.open(path, "python")
    diagnostics = await lsp.wait_for_diagnostics(path, lambda d: "SG105" in codes(d), "SG105 after an emoji")
    commit = next(d for d in diagnostics if d.code == "SG105")
    # `self` is code point 20; the emoji before it is 2 UTF-16 units, 4 UTF-8 bytes.
    expected = {"utf-16": 21, "utf-8": 23}["utf-8" if lsp.client_name == "neovim" else "utf-16"]
    assert (commit.range.start.line, commit.range.start.character) == (12, expected)

    moved = emoji.replace("    def add(self, user: User) -> User:\n", "    def add(self, user: User) -> User:\n        pass\n\n")
    change_document(lsp, path, moved, version=2)
    diagnostics = await lsp.wait_for_diagnostics(
        path, lambda d: any(x.code == "SG105" and x.range.start.line == 14 for x in d), "SG105 two lines down"
    )
    sql = next(d for d in diagnostics if d.code == "SG201")
    assert sql.range.start.line == 18  # below the edit: moved too


async def test_close_clears_diagnostics(lsp: Session, workspace: Path):
    await lsp.initialize([workspace])
    path = workspace / REPOSITORY
    lsp.open(path, "python")
    await lsp.wait_for_diagnostics(path, lambda d: "SG105" in codes(d), "SG105 on open")
    lsp.client.text_document_did_close(
        types.DidCloseTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri(path)))
    )
    await lsp.wait_for_diagnostics(path, lambda d: codes(d) == [], "diagnostics cleared on close")


async def test_hover_on_diagnostic_and_on_suppression_code(lsp: Session, workspace: Path):
    await lsp.initialize([workspace])
    path = workspace / REPOSITORY
    text = path.read_text().replace("self.session.add(user)\n", "self.session.add(user)  # stackguard: ignore[SG201]\n", 1)
    path.write_text(text)
    lsp.open(path, "python")
    await lsp.wait_for_diagnostics(path, lambda d: "SG105" in codes(d), "SG105 on open")
    hover = await lsp.client.text_document_hover_async(
        types.HoverParams(text_document=types.TextDocumentIdentifier(uri=uri(path)), position=types.Position(12, 20))
    )
    assert hover is not None and "SG105 commit-in-repository" in hover.contents.value
    assert "## Why is this bad?" in hover.contents.value
    column = text.splitlines()[11].index("SG201") + 2
    hover = await lsp.client.text_document_hover_async(
        types.HoverParams(text_document=types.TextDocumentIdentifier(uri=uri(path)), position=types.Position(11, column))
    )
    assert hover is not None and "SG201 sql-string-interpolation" in hover.contents.value


async def test_ignore_action_is_offered_with_an_edit(lsp: Session, workspace: Path):
    await lsp.initialize([workspace])
    path = workspace / REPOSITORY
    lsp.open(path, "python")
    diagnostics = await lsp.wait_for_diagnostics(path, lambda d: "SG105" in codes(d), "SG105 on open")
    commit = next(d for d in diagnostics if d.code == "SG105")
    actions = await lsp.client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri(path)),
            range=commit.range,
            context=types.CodeActionContext(diagnostics=[commit]),
        )
    )
    ignore = next(a for a in actions if a.title.startswith("Ignore SG105"))
    new_text = apply_text_edits(path.read_text(), edits_for(ignore.edit, uri(path)))
    assert "self.session.commit()  # stackguard: ignore[SG105]" in new_text


async def test_sql_fix_through_code_action_and_resolve(lsp: Session, workspace: Path):
    await lsp.initialize([workspace])
    path = workspace / REPOSITORY
    lsp.open(path, "python")
    diagnostics = await lsp.wait_for_diagnostics(path, lambda d: "SG201" in codes(d), "SG201 on open")
    sql = next(d for d in diagnostics if d.code == "SG201")
    actions = await lsp.client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri(path)),
            range=sql.range,
            context=types.CodeActionContext(diagnostics=[sql], only=[types.CodeActionKind.QuickFix]),
        )
    )
    fix = next(a for a in actions if a.diagnostics and a.diagnostics[0].code == "SG201" and not a.title.startswith("Ignore"))
    # Both capability sets list "edit" in resolveSupport: the edit comes from resolve.
    assert fix.edit is None and fix.data is not None
    resolved = await lsp.client.code_action_resolve_async(fix)
    new_text = apply_text_edits(path.read_text(), edits_for(resolved.edit, uri(path)))
    assert 'text("SELECT id FROM users WHERE email = :email"), {"email": email}' in new_text
    compile(new_text, str(path), "exec")
    change_document(lsp, path, new_text, version=2)
    await lsp.wait_for_diagnostics(path, lambda d: "SG201" not in codes(d), "SG201 gone after the fix")


async def test_model_edit_updates_n_plus_one_in_another_open_file(lsp: Session, workspace: Path):
    await lsp.initialize([workspace])
    repository = workspace / REPOSITORY
    models = workspace / "app/models.py"
    lsp.open(repository, "python")
    await lsp.wait_for_diagnostics(repository, lambda d: "SG202" in codes(d), "SG202 on open")
    lsp.open(models, "python")
    eager = models.read_text().replace(
        'relationship(back_populates="user")', 'relationship(back_populates="user", lazy="selectin")'
    )
    change_document(lsp, models, eager, version=2)
    await lsp.wait_for_diagnostics(repository, lambda d: "SG202" not in codes(d), "SG202 gone after the model edit")


async def test_fix_all_source_action_applies_only_safe_fixes(lsp: Session, workspace: Path):
    await lsp.initialize([workspace])
    path = workspace / REPOSITORY
    lsp.open(path, "python")
    await lsp.wait_for_diagnostics(path, lambda d: {"SG201", "SG202"} <= set(codes(d)), "SG201 and SG202 on open")
    actions = await lsp.client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri(path)),
            range=types.Range(types.Position(0, 0), types.Position(0, 0)),
            context=types.CodeActionContext(diagnostics=[], only=["source.fixAll"]),
        )
    )
    assert [a.kind for a in actions] == ["source.fixAll.stackguard"]
    resolved = await lsp.client.code_action_resolve_async(actions[0])
    new_text = apply_text_edits(path.read_text(), edits_for(resolved.edit, uri(path)))
    assert ":email" in new_text  # SG201: bound parameter
    assert ".options(selectinload(User.orders))" in new_text  # SG202: eager load
    assert "self.session.commit()" in new_text  # SG105 has no safe fix: untouched
    change_document(lsp, path, new_text, version=2)
    await lsp.wait_for_diagnostics(path, lambda d: codes(d) == ["SG105"], "only SG105 left")


# -- clients without codeAction/resolve: the action carries a command ----------


def carried_command(item: types.CodeAction | types.Command) -> types.Command | None:
    """The command a code action carries. lsprotocol's client-side hook parses
    every object with a "command" key as a bare Command, so a CodeAction that
    carries one arrives as Command(command=str(<the command object>)); an
    editor reading the JSON sees the CodeAction with no edit and a command."""
    if isinstance(item, types.CodeAction):
        assert item.edit is None or item.command is None
        return item.command
    if isinstance(item.command, str) and item.command.startswith("{"):
        raw = ast.literal_eval(item.command)
        return types.Command(title=raw["title"], command=raw["command"], arguments=raw.get("arguments"))
    return item


@pytest_lsp.fixture(
    config=ClientServerConfig(server_command=[sys.executable, "-m", "stackguard", "serve"], client_factory=make_client),
)
async def emacs_client(client: LanguageClient):
    client.stackguard_session = Session(client, "emacs")  # type: ignore[attr-defined]
    applied: list[types.ApplyWorkspaceEditParams] = []
    client.applied_edits = applied  # type: ignore[attr-defined]

    @client.feature(types.WORKSPACE_APPLY_EDIT)
    def on_apply(params: types.ApplyWorkspaceEditParams) -> types.ApplyWorkspaceEditResult:
        applied.append(params)
        return types.ApplyWorkspaceEditResult(applied=True)

    yield
    if client.capabilities is not None:
        await client.shutdown_session()


async def test_command_fallback_applies_fix_with_apply_edit(emacs_client: LanguageClient, tmp_path: Path):
    lsp: Session = emacs_client.stackguard_session  # type: ignore[attr-defined]
    workspace = copy_workspace("lsp_rules", tmp_path)
    await lsp.initialize([workspace])
    path = workspace / REPOSITORY
    lsp.open(path, "python")
    diagnostics = await lsp.wait_for_diagnostics(path, lambda d: "SG201" in codes(d), "SG201 on open")
    sql = next(d for d in diagnostics if d.code == "SG201")
    actions = await lsp.client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri(path)),
            range=sql.range,
            context=types.CodeActionContext(diagnostics=[sql]),
        )
    )
    command = next(c for c in map(carried_command, actions) if c is not None and c.command == "stackguard.applyFix")
    result: Any = await lsp.command(command.command, *(command.arguments or []))
    assert result["applied"] is True
    applied = emacs_client.applied_edits  # type: ignore[attr-defined]
    await wait_until(lambda: applied, "workspace/applyEdit")
    new_text = apply_text_edits(path.read_text(), edits_for(applied[0].edit, uri(path)))
    assert ":email" in new_text and "{email}" not in new_text

    # fixAll, listed at the cursor, carries the stackguard.fixAll command.
    fix_all = next(c for c in map(carried_command, actions) if c is not None and c.command == "stackguard.fixAll")
    assert fix_all.arguments == [{"uri": uri(path)}]
    result = await lsp.command("stackguard.fixAll", {"uri": uri(path)})
    assert result["applied"] is True
    await wait_until(lambda: len(applied) == 2, "second workspace/applyEdit")
    assert ".options(selectinload(User.orders))" in apply_text_edits(path.read_text(), edits_for(applied[1].edit, uri(path)))


async def test_workspace_symbols_list_routes(lsp: Session, workspace: Path):
    await lsp.initialize([workspace])
    await lsp.wait_for_stack(workspace)
    symbols = await lsp.client.workspace_symbol_async(types.WorkspaceSymbolParams(query="get users"))
    names = {s.name: s for s in symbols}
    assert "GET /api/users/{user_id}" in names, sorted(names)
    assert "POST /api/users/" not in names  # "get" does not match POST
    symbol = names["GET /api/users/{user_id}"]
    assert symbol.location.uri == uri(workspace / "app/routers/users.py")
    assert symbol.location.range.start.line == 6  # the `@router.get` route declaration, line 7


async def test_workspace_diagnostics_cover_files_that_are_not_open(lsp: Session, workspace: Path):
    await lsp.initialize([workspace], {"diagnostics": {"workspace": True}})
    await lsp.wait_for_stack(workspace)
    repository = uri(workspace / REPOSITORY)
    if lsp.pulls:
        report = await lsp.client.workspace_diagnostic_async(types.WorkspaceDiagnosticParams(previous_result_ids=[]))
        by_uri = {item.uri: item for item in report.items}
        assert "SG105" in codes(list(by_uri[repository].items))
        # Nothing changed: a repeated poll with the result ids waits, then says "unchanged".
        previous = [types.PreviousResultId(uri=item.uri, value=item.result_id) for item in report.items]
        again = await lsp.client.workspace_diagnostic_async(types.WorkspaceDiagnosticParams(previous_result_ids=previous))
        assert all(isinstance(item, types.WorkspaceUnchangedDocumentDiagnosticReport) for item in again.items)
    else:
        await wait_until(lambda: "SG105" in codes(lsp.client.diagnostics.get(repository, [])), "SG105 published unopened")
        assert lsp.client.stackguard_versions[repository] is None  # type: ignore[attr-defined]
