"""Generate migration through the real server: SG601 diagnostics → the
``source.generateMigration`` code action → ``stackguard.generateMigration``
→ the file, created with ``workspace/applyEdit`` (CreateFile) where the
client supports resource operations (VS Code), written by the server with a
``window/showMessage`` where it does not (Neovim advertises no
``documentChanges``; Emacs neither ``resourceOperations`` nor
``showDocument``), and opened with ``window/showDocument`` where supported.

Run with ``-W error::pytest_lsp.LspSpecificationWarning``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Union

import pytest
import pytest_lsp
from lsp_session import (
    Session,
    _plain_json_converter,
    _publish_diagnostics,
    copy_workspace,
    uri,
    wait_until,
)
from lsprotocol import types
from pygls.exceptions import JsonRpcInvalidParams
from pygls.uris import to_fs_path
from pytest_lsp import ClientServerConfig, LanguageClient
from pytest_lsp.client import DEFAULT_CLIENT_FEATURES, register_lsp_features

SERVER = [sys.executable, "-m", "stackguard", "serve"]
MODELS = "app/models.py"


def sg601(diagnostics: list[types.Diagnostic]) -> list[types.Diagnostic]:
    return [d for d in diagnostics if d.source == "stackguard" and d.code == "SG601"]


def _converter():
    """The suite's plain-JSON converter, plus a structure hook that tells a
    CodeAction carrying a command from a bare Command (lsprotocol's hook
    reads any object with a "command" key as a Command and drops the
    action's kind and diagnostics)."""
    converter = _plain_json_converter()

    def command_or_action(obj: Any, _type: Any) -> types.Command | types.CodeAction:
        if isinstance(obj.get("command"), str):
            return converter.structure(obj, types.Command)
        return converter.structure(obj, types.CodeAction)

    # typing.Union, not ``|``: the hook is looked up by the exact type lsprotocol uses.
    converter.register_structure_hook(Union[types.Command, types.CodeAction], command_or_action)  # noqa: UP007
    return converter


def make_action_client() -> LanguageClient:
    client = LanguageClient(converter_factory=_converter)
    client.stackguard_versions = {}  # type: ignore[attr-defined]
    register_lsp_features(client, {**DEFAULT_CLIENT_FEATURES, types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS: _publish_diagnostics})
    return client


def generate_actions(actions: list[Any] | None) -> list[types.CodeAction]:
    return [a for a in actions or [] if isinstance(a, types.CodeAction) and a.kind == "source.generateMigration"]


def run_tool(argv: list[str], cwd: Path, database: Path | None = None) -> str:
    env = dict(os.environ)
    env.pop("DATABASE_URL", None)
    if database is not None:
        env["DATABASE_URL"] = f"sqlite:///{database}"
    result = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=180, check=False)
    assert result.returncode == 0, f"{argv}:\n{result.stdout}\n{result.stderr}"
    return result.stdout + result.stderr


def change_models(app: Path) -> None:
    """A new table and a new unique column referencing it."""
    models = app / MODELS
    text = models.read_text()
    text = text.replace(
        "    pages: Mapped[int] = mapped_column(default=0)\n",
        "    pages: Mapped[int] = mapped_column(default=0)\n"
        "    isbn: Mapped[str | None] = mapped_column(String(13), unique=True)\n"
        '    shelf_id: Mapped[int | None] = mapped_column(ForeignKey("shelves.id"))\n',
    )
    text += '\n\nclass Shelf(Base):\n    __tablename__ = "shelves"\n\n    id: Mapped[int] = mapped_column(primary_key=True)\n    label: Mapped[str] = mapped_column(String(50), index=True)\n'
    models.write_text(text)


def make_fixture(client_name: str):
    @pytest_lsp.fixture(config=ClientServerConfig(server_command=SERVER, client_factory=make_action_client))
    async def fixture(client: LanguageClient):
        client.stackguard_session = Session(client, client_name)  # type: ignore[attr-defined]
        applied: list[types.ApplyWorkspaceEditParams] = []
        client.applied_edits = applied  # type: ignore[attr-defined]

        @client.feature(types.WORKSPACE_APPLY_EDIT)
        def on_apply(params: types.ApplyWorkspaceEditParams) -> types.ApplyWorkspaceEditResult:
            applied.append(params)
            return types.ApplyWorkspaceEditResult(applied=True)

        yield
        if client.capabilities is not None:
            await client.shutdown_session()

    return fixture


vscode = make_fixture("visual-studio-code")
neovim = make_fixture("neovim")
emacs = make_fixture("emacs")


async def generate_action(lsp: Session, path: Path) -> tuple[list[types.Diagnostic], list[Any], types.CodeAction]:
    """Wait for SG601 on ``path``, list code actions for those diagnostics,
    and return the generate-migration action."""
    diagnostics = await lsp.wait_for_diagnostics(path, lambda d: len(sg601(d)) >= 2, "SG601 on the models")
    found = sg601(diagnostics)
    actions = await lsp.client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri(path)),
            range=found[0].range,
            context=types.CodeActionContext(diagnostics=found),
        )
    )
    generate = generate_actions(actions)
    assert generate, actions
    return found, actions or [], generate[0]


def materialize(edit: types.WorkspaceEdit) -> Path:
    """Do what the editor does with the edit: create the file, insert the text."""
    create, text_edit = edit.document_changes  # type: ignore[misc]
    assert isinstance(create, types.CreateFile)
    assert create.options is not None and create.options.overwrite is False and create.options.ignore_if_exists is False
    assert isinstance(text_edit, types.TextDocumentEdit) and text_edit.text_document.uri == create.uri
    [insert] = text_edit.edits
    assert insert.range.start == insert.range.end == types.Position(0, 0)
    path = Path(to_fs_path(create.uri))
    assert not path.exists()
    path.write_text(insert.new_text, encoding="utf-8")
    return path


async def test_vscode_creates_the_revision_with_a_workspace_edit(vscode: LanguageClient, tmp_path: Path):
    lsp: Session = vscode.stackguard_session  # type: ignore[attr-defined]
    app = copy_workspace("app_fastapi_sqlalchemy", tmp_path)
    change_models(app)
    await lsp.initialize([app])
    models = app / MODELS
    lsp.open(models, "python")
    found, actions, action = await generate_action(lsp, models)
    assert {d.data["finding"]["data"]["kind"] for d in found} == {"missing_column", "missing_table"}
    assert action.title == "Generate a migration" and action.edit is None  # the command computes and applies it
    assert {d.code for d in action.diagnostics or []} == {"SG601"}
    command = action.command
    assert command is not None and command.command == "stackguard.generateMigration"
    assert list(command.arguments or []) == [{"folder": uri(app), "message": "create shelves, add books.isbn, add books.shelf_id", "location": "alembic/versions"}]
    assert [a.title for a in generate_actions(actions)] == [
        "Generate a migration",
        "Generate a migration (alembic autogenerate, scratch SQLite database)",
    ]

    result: Any = await lsp.command(command.command, *(command.arguments or []))
    assert result["status"] == "created" and result["createdWith"] == "workspaceEdit"
    assert result["operations"][:2] == ["create table shelves", "create index ix_shelves_label on shelves"]
    applied = vscode.applied_edits  # type: ignore[attr-defined]
    assert len(applied) == 1 and applied[0].label == "stackguard: generate migration"
    path = materialize(applied[0].edit)
    assert path == Path(result["path"]) and path.parent == app / "alembic/versions"
    await wait_until(lambda: any(d.uri == uri(path) for d in vscode.shown_documents), "window/showDocument")

    # The editor opens the new file (didOpen): SG601 on the models goes away.
    lsp.open(path, "python")
    await lsp.wait_for_diagnostics(models, lambda d: not sg601(d), "SG601 gone once the revision exists")

    database = tmp_path / "fresh.db"
    run_tool([sys.executable, "-m", "alembic", "upgrade", "head"], app, database)
    assert "No new upgrade operations detected" in run_tool([sys.executable, "-m", "alembic", "check"], app, database)
    run_tool([sys.executable, "-m", "alembic", "downgrade", "base"], app, database)

    # Idempotence: nothing left to generate, nothing created, the user is told.
    again: Any = await lsp.command("stackguard.generateMigration", {"folder": uri(app)})
    assert again["status"] == "no_changes"
    assert len(applied) == 1
    await wait_until(lambda: any("No changes" in m.message for m in vscode.messages), "the no-changes message")


async def test_neovim_gets_the_file_written_on_disk_and_shown(neovim: LanguageClient, tmp_path: Path):
    lsp: Session = neovim.stackguard_session  # type: ignore[attr-defined]
    app = copy_workspace("app_fastapi_sqlalchemy", tmp_path)
    change_models(app)
    await lsp.initialize([app])
    models = app / MODELS
    lsp.open(models, "python")
    _found, _actions, action = await generate_action(lsp, models)
    command = action.command
    assert command is not None
    result: Any = await lsp.command(command.command, *(command.arguments or []))
    # Neovim lists resourceOperations but not workspaceEdit.documentChanges:
    # a CreateFile cannot be sent, so the server writes the file itself.
    assert result["status"] == "created" and result["createdWith"] == "disk"
    assert neovim.applied_edits == []  # type: ignore[attr-defined]
    path = Path(result["path"])
    text = path.read_text()
    assert "down_revision: Union[str, Sequence[str], None] = '8c41e07a5d22'" in text
    await wait_until(lambda: any("wrote alembic/versions/" in m.message and "cannot create files" in m.message for m in neovim.messages), "showMessage")
    await wait_until(lambda: any(d.uri == uri(path) for d in neovim.shown_documents), "window/showDocument")
    await lsp.wait_for_diagnostics(models, lambda d: not sg601(d), "SG601 gone after the write")


async def test_emacs_without_show_document(emacs: LanguageClient, tmp_path: Path):
    lsp: Session = emacs.stackguard_session  # type: ignore[attr-defined]
    app = copy_workspace("app_fastapi_sqlalchemy", tmp_path)
    change_models(app)
    await lsp.initialize([app])
    models = app / MODELS
    lsp.open(models, "python")
    _found, _actions, action = await generate_action(lsp, models)
    command = action.command
    assert command is not None
    result: Any = await lsp.command(command.command, *(command.arguments or []))
    assert result["createdWith"] == "disk" and Path(result["path"]).is_file()
    assert emacs.shown_documents == []  # not advertised, never sent
    # The server re-checks the open models file itself.
    await lsp.wait_for_diagnostics(models, lambda d: not sg601(d), "SG601 gone after the write")


async def test_multiple_heads_are_refused_with_a_message(vscode: LanguageClient, tmp_path: Path):
    lsp: Session = vscode.stackguard_session  # type: ignore[attr-defined]
    app = copy_workspace("app_fastapi_sqlalchemy", tmp_path)
    change_models(app)
    for rev in ("aaaa00000001", "bbbb00000002"):
        (app / f"alembic/versions/{rev}_branch.py").write_text(
            f'revision = "{rev}"\ndown_revision = "8c41e07a5d22"\n\n\ndef upgrade() -> None:\n    pass\n\n\ndef downgrade() -> None:\n    pass\n'
        )
    await lsp.initialize([app])
    result: Any = await lsp.command("stackguard.generateMigration", {"folder": uri(app), "message": "x"})
    assert result["status"] == "refused" and "alembic merge heads" in result["message"]
    assert vscode.applied_edits == []  # type: ignore[attr-defined]
    await wait_until(
        lambda: any(m.type == types.MessageType.Warning and "2 heads" in m.message for m in vscode.messages), "the refusal"
    )


async def test_django_runs_makemigrations_with_progress(vscode: LanguageClient, tmp_path: Path):
    lsp: Session = vscode.stackguard_session  # type: ignore[attr-defined]
    app = copy_workspace("app_django_drf", tmp_path)
    models = app / "catalog/models.py"
    models.write_text(
        models.read_text().replace(
            "    in_print = models.BooleanField(default=True)\n",
            "    in_print = models.BooleanField(default=True)\n    pages = models.PositiveIntegerField(null=True, blank=True)\n",
        )
    )
    await lsp.initialize([app], {"interpreter": [sys.executable]})
    lsp.open(models, "python")
    diagnostics = await lsp.wait_for_diagnostics(models, lambda d: bool(sg601(d)), "SG601 on the Django model")
    actions = await lsp.client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri(models)),
            range=sg601(diagnostics)[0].range,
            context=types.CodeActionContext(diagnostics=sg601(diagnostics), only=["source"]),
        )
    )
    # The deterministic action (an "(agent)" variant, disabled without a key, may follow).
    actions = generate_actions(actions)
    assert [a.title for a in actions] == ["Generate a migration (makemigrations)"]
    command = actions[0].command
    result: Any = await lsp.command(command.command, *(command.arguments or []))
    assert result["status"] == "created" and result["createdWith"] == "django", result
    path = Path(result["path"])
    assert path.name == "0003_add_catalog_book_pages.py" and path.is_file()
    assert result["operations"] == ["Add field pages to book"]
    assert vscode.progress_reports, "makemigrations reports $/progress"
    await wait_until(lambda: any(d.uri == uri(path) for d in vscode.shown_documents), "window/showDocument")
    assert "No changes detected" in run_tool([sys.executable, "manage.py", "makemigrations", "--check", "--dry-run"], app)


async def test_autogenerate_variant_writes_through_alembic(vscode: LanguageClient, tmp_path: Path):
    lsp: Session = vscode.stackguard_session  # type: ignore[attr-defined]
    app = copy_workspace("app_fastapi_sqlalchemy", tmp_path)
    models = app / MODELS
    models.write_text(
        models.read_text().replace(
            "    pages: Mapped[int] = mapped_column(default=0)\n",
            "    pages: Mapped[int] = mapped_column(default=0)\n    language: Mapped[str | None] = mapped_column(String(8))\n",
        )
    )
    await lsp.initialize([app], {"interpreter": [sys.executable]})
    result: Any = await lsp.command("stackguard.generateMigration", {"folder": uri(app), "message": "language", "mode": "autogenerate"})
    assert result["status"] == "created" and result["createdWith"] == "alembic", result
    path = Path(result["path"])
    assert "batch_op.add_column(sa.Column('language', sa.String(length=8), nullable=True))" in path.read_text()
    assert vscode.applied_edits == []  # type: ignore[attr-defined]  # alembic wrote it
    database = tmp_path / "auto.db"
    run_tool([sys.executable, "-m", "alembic", "upgrade", "head"], app, database)
    assert "No new upgrade operations detected" in run_tool([sys.executable, "-m", "alembic", "check"], app, database)


async def test_bad_arguments_are_invalid_params(vscode: LanguageClient, tmp_path: Path):
    lsp: Session = vscode.stackguard_session  # type: ignore[attr-defined]
    app = copy_workspace("app_fastapi_sqlalchemy", tmp_path)
    await lsp.initialize([app])
    with pytest.raises(JsonRpcInvalidParams, match="is not a folder of this workspace"):
        await lsp.command("stackguard.generateMigration", {"folder": uri(tmp_path / "elsewhere")})
    with pytest.raises(JsonRpcInvalidParams, match="expected"):
        await lsp.command("stackguard.generateMigration", {})
    with pytest.raises(JsonRpcInvalidParams, match="mode"):
        await lsp.command("stackguard.generateMigration", {"folder": uri(app), "mode": "yolo"})
