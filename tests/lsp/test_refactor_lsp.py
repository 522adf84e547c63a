"""Extract to service and add repository method through the real server:
code action → ``codeAction/resolve`` or command → ``workspace/applyEdit``.

Three capability sets: VS Code (resolves edits, creates files through
``documentChanges``, shows disabled actions), Neovim (resolves edits but
advertises no ``documentChanges``, so it cannot create files: the server
writes them and says so) and Emacs (no resolve: every action carries its
command). Run with ``-W error::pytest_lsp.LspSpecificationWarning``.
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

SERVER_COMMAND = [sys.executable, "-m", "stackguard", "serve"]
APP = "app_fastapi_sqlalchemy"
USERS = "app/routers/users.py"
EXTRACT = "refactor.extract.service"
REPOSITORY = "refactor.rewrite.repositoryMethod"


@pytest_lsp.fixture(
    config=ClientServerConfig(server_command=SERVER_COMMAND, client_factory=make_client),
    params=["visual-studio-code", "neovim", "emacs"],
)
async def refactor_client(request, client: LanguageClient):
    client.stackguard_session = Session(client, request.param)  # type: ignore[attr-defined]
    applied: list[types.ApplyWorkspaceEditParams] = []
    client.applied_edits = applied  # type: ignore[attr-defined]

    @client.feature(types.WORKSPACE_APPLY_EDIT)
    def on_apply(params: types.ApplyWorkspaceEditParams) -> types.ApplyWorkspaceEditResult:
        applied.append(params)
        return types.ApplyWorkspaceEditResult(applied=True)

    yield
    if client.capabilities is not None:
        await client.shutdown_session()


@pytest.fixture
def lsp(refactor_client: LanguageClient) -> Session:
    return refactor_client.stackguard_session  # type: ignore[attr-defined]


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    return copy_workspace(APP, tmp_path)


# -- helpers -------------------------------------------------------------------------


def carried_command(item: types.CodeAction | types.Command) -> types.Command | None:
    """The command an action carries. lsprotocol's client-side hook parses
    any object with a "command" key as a bare Command, so a CodeAction
    carrying one arrives as Command(command=str(<the command object>))."""
    if isinstance(item, types.CodeAction):
        return item.command
    if isinstance(item.command, str) and item.command.startswith("{"):
        raw = ast.literal_eval(item.command)
        return types.Command(title=raw["title"], command=raw["command"], arguments=raw.get("arguments"))
    return item


def title_of(item: types.CodeAction | types.Command) -> str:
    if isinstance(item, types.CodeAction):
        return item.title
    command = carried_command(item)
    return command.title if command is not None else item.title


def line_of(path: Path, needle: str) -> int:
    """0-based line of the first ``needle``."""
    return next(i for i, line in enumerate(path.read_text(encoding="utf-8").splitlines()) if needle in line)


def span(path: Path, needle: str) -> types.Range:
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines()):
        column = line.find(needle)
        if column >= 0:
            return types.Range(types.Position(number, column), types.Position(number, column + len(needle)))
    raise AssertionError(f"{needle!r} not in {path}")


async def actions_at(lsp: Session, path: Path, where: types.Range, diagnostics=(), only=None) -> list[Any]:
    found = await lsp.client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri(path)),
            range=where,
            context=types.CodeActionContext(diagnostics=list(diagnostics), only=only),
        )
    )
    return list(found or [])



def apply_workspace_edit(edit: types.WorkspaceEdit) -> dict[str, str]:
    """Apply to disk as an editor would; returns {uri: new text}."""
    from pygls.uris import to_fs_path

    written: dict[str, str] = {}
    for change in edit.document_changes or []:
        if isinstance(change, types.CreateFile):
            path = Path(to_fs_path(change.uri))
            path.parent.mkdir(parents=True, exist_ok=True)
            if not path.exists():
                path.write_text("", encoding="utf-8")
        elif isinstance(change, types.TextDocumentEdit):
            path = Path(to_fs_path(change.text_document.uri))
            written[change.text_document.uri] = apply_text_edits(path.read_text(encoding="utf-8"), change.edits)  # type: ignore[arg-type]
            path.write_text(written[change.text_document.uri], encoding="utf-8")
    for target, edits in (edit.changes or {}).items():
        path = Path(to_fs_path(target))
        written[target] = apply_text_edits(path.read_text(encoding="utf-8"), edits)
        path.write_text(written[target], encoding="utf-8")
    return written


def edited_uris(edit: types.WorkspaceEdit) -> set[str]:
    found = set(edit.changes or {})
    found |= {c.text_document.uri for c in edit.document_changes or [] if isinstance(c, types.TextDocumentEdit)}
    return found


async def edit_of(lsp: Session, action: Any) -> types.WorkspaceEdit:
    """Resolve or run the action the way this client does; the edit it got."""
    applied: list[types.ApplyWorkspaceEditParams] = lsp.client.applied_edits  # type: ignore[attr-defined]
    if isinstance(action, types.CodeAction) and action.data is not None:
        resolved = await lsp.client.code_action_resolve_async(action)
        if resolved.edit is not None:
            return resolved.edit
        action = resolved  # the client cannot create files: the command does
    command = carried_command(action)
    assert command is not None, action
    count = len(applied)
    result = await lsp.command(command.command, *(command.arguments or []))
    assert result["applied"] is True, result
    await wait_until(lambda: len(applied) > count, "workspace/applyEdit")
    return applied[-1].edit


# -- extract to service -------------------------------------------------------------


async def test_extract_to_service_from_a_flagged_handler(lsp: Session, workspace: Path) -> None:
    await lsp.initialize([workspace])
    path = workspace / USERS
    lsp.open(path, "python")
    diagnostics = await lsp.wait_for_diagnostics(
        path, lambda ds: any(d.code == "SG101" and "create_user" in d.message for d in ds), "SG101 on create_user"
    )
    flagged = next(d for d in diagnostics if d.code == "SG101" and "create_user" in d.message)
    actions = await actions_at(lsp, path, flagged.range, [flagged])
    extract = [a for a in actions if title_of(a).startswith("Extract `create_user` to a service")]
    assert len(extract) == 1, [title_of(a) for a in actions]
    action = extract[0]
    assert title_of(action) == "Extract `create_user` to a service (app/services/users.py)"
    if lsp.client_name == "emacs":
        # No codeAction/resolve: the action carries the command and its one argument object.
        command = carried_command(action)
        assert command is not None and command.command == "stackguard.extractToService"
        assert command.arguments == [{"uri": uri(path), "range": command.arguments[0]["range"]}]
    else:
        assert action.kind == EXTRACT and action.edit is None and action.data["kind"] == "extractService"
        assert [d.code for d in action.diagnostics] == ["SG101"]

    edit = await edit_of(lsp, action)
    service = workspace / "app/services/users.py"
    if lsp.client_name == "visual-studio-code":
        creates = [c.uri for c in edit.document_changes if isinstance(c, types.CreateFile)]
        assert creates == [uri(workspace / "app/errors.py"), uri(service)] or sorted(creates) == sorted(
            [uri(workspace / "app/errors.py"), uri(service)]
        )
        assert not service.exists()  # the client creates it
    else:
        # Neither Neovim's nor Emacs's capabilities allow creating files
        # through an edit: the server wrote them and said so.
        assert not [c for c in edit.document_changes or [] if not isinstance(c, types.TextDocumentEdit)]
        assert edited_uris(edit) == {uri(path), uri(workspace / "app/main.py")}
        assert "def create_user(session: Session, payload: UserCreate) -> User:" in service.read_text(encoding="utf-8")
        await wait_until(lambda: any("created" in m.message and "users.py" in m.message for m in lsp.client.messages), "showMessage")
    written = apply_workspace_edit(edit)
    router = written[uri(path)]
    assert "    return user_service.create_user(session, payload)\n" in router
    assert "session.scalar(" not in router.split("def create_user", 1)[1].split("@router", 1)[0]
    compile(router, str(path), "exec")
    assert 'raise ConflictError("Email already registered")' in service.read_text(encoding="utf-8")
    assert "@app.exception_handler(DomainError)" in (workspace / "app/main.py").read_text(encoding="utf-8")


async def test_refused_extraction_is_shown_disabled_only_to_clients_that_support_it(lsp: Session, workspace: Path) -> None:
    await lsp.initialize([workspace])
    path = workspace / "app/routers/books.py"
    lsp.open(path, "python")
    where = span(path, "def list_books")
    actions = await actions_at(lsp, path, where, only=["refactor"])
    extract = [a for a in actions if isinstance(a, types.CodeAction) and a.kind == EXTRACT]
    if lsp.client_name == "visual-studio-code":
        assert len(extract) == 1 and extract[0].disabled is not None
        assert "nothing to move" in extract[0].disabled.reason
        assert extract[0].edit is None and extract[0].data is None and extract[0].command is None
    else:
        assert extract == []
    # The command says why, too.
    result = await lsp.command("stackguard.extractToService", {"uri": uri(path), "range": {"start": {"line": where.start.line, "character": 4}, "end": {"line": where.start.line, "character": 4}}})
    assert result["applied"] is False and "nothing to move" in result["reason"]
    await wait_until(lambda: any("nothing to move" in m.message for m in lsp.client.messages), "showMessage with the reason")


async def test_outside_a_handler_there_is_no_refactor_action(lsp: Session, workspace: Path) -> None:
    await lsp.initialize([workspace])
    path = workspace / "app/schemas.py"
    lsp.open(path, "python")
    actions = await actions_at(lsp, path, span(path, "class UserCreate"), only=["refactor"])
    assert actions == []


async def test_commands_check_their_argument_object(lsp: Session, workspace: Path) -> None:
    await lsp.initialize([workspace])
    path = workspace / USERS
    with pytest.raises(Exception, match="expected \\{uri, range\\}"):
        await lsp.command("stackguard.extractToService", {"uri": uri(path)})
    with pytest.raises(Exception, match="expected `name`, one of: get, list, get_by_email, create, update, delete"):
        await lsp.command("stackguard.addRepositoryMethod", {"uri": uri(workspace / "app/models.py"), "model": "User"})
    with pytest.raises(Exception, match="expected `range`"):
        await lsp.command("stackguard.addRepositoryMethod", {"uri": uri(path)})


# -- add repository method -------------------------------------------------------------


async def test_move_query_to_a_repository_method(lsp: Session, workspace: Path) -> None:
    await lsp.initialize([workspace])
    path = workspace / USERS
    lsp.open(path, "python")
    where = span(path, "select(User).where(User.email == email)")
    actions = await actions_at(lsp, path, where, only=["refactor.rewrite"])
    # The deterministic action; an "(agent)" variant (disabled without a key) may follow.
    actions = [a for a in actions if not title_of(a).endswith("(agent)")]
    titles = [title_of(a) for a in actions]
    assert titles == ["Move query to `UserRepository.get_by_email`"]
    edit = await edit_of(lsp, actions[0])
    repository = workspace / "app/repositories/users.py"
    if lsp.client_name == "visual-studio-code":
        creates = {c.uri for c in edit.document_changes if isinstance(c, types.CreateFile)}
        assert creates == {uri(repository), uri(workspace / "app/repositories/__init__.py")}
    else:
        assert repository.exists() and (workspace / "app/repositories/__init__.py").exists()
    written = apply_workspace_edit(edit)
    assert "existing = UserRepository(session).get_by_email(email)" in written[uri(path)]
    text = repository.read_text(encoding="utf-8")
    assert "def get_by_email(self, email: str) -> User | None:" in text and "commit" not in text


async def test_standard_repository_methods_on_a_model(lsp: Session, workspace: Path) -> None:
    await lsp.initialize([workspace])
    path = workspace / "app/models.py"
    lsp.open(path, "python")
    actions = await actions_at(lsp, path, span(path, "class User(Base)"), only=[REPOSITORY])
    titles = [title_of(a) for a in actions]
    assert titles == [f"Add `UserRepository.{m}`" for m in ("get", "list", "get_by_email", "create", "update", "delete")]
    create = actions[titles.index("Add `UserRepository.create`")]
    if lsp.client_name == "emacs":
        command = carried_command(create)
        assert command is not None and command.arguments == [{"uri": uri(path), "model": "User", "name": "create"}]
    edit = await edit_of(lsp, create)
    apply_workspace_edit(edit)
    text = (workspace / "app/repositories/users.py").read_text(encoding="utf-8")
    assert "def create(self, *, email: str, full_name: str, is_active: bool = True) -> User:" in text
    assert "self.session.flush()" in text and "commit" not in text
    # With the file on disk, the listed methods no longer include create.
    if lsp.client_name != "visual-studio-code":
        remaining = [title_of(a) for a in await actions_at(lsp, path, span(path, "class User(Base)"), only=[REPOSITORY])]
        assert "Add `UserRepository.create`" not in remaining and "Add `UserRepository.get`" in remaining
