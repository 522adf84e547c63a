"""The agent through the real language server: code actions, progress,
``workspace/applyEdit`` with a change annotation, files on disk, the fixture
app's own tests, cancellation, missing keys and the key never crossing the
wire. The model is the fake Messages API on 127.0.0.1, reached by the real
SDK in the server process through ``agent.baseUrl``."""

from __future__ import annotations

import ast
import asyncio
import subprocess
import sys
from pathlib import Path

import pytest
from agent_lsp import (
    AgentSession,
    agent_actions,
    agent_server,
    agent_settings,
    only_argument,
)
from agent_support import KEY_ENV, TEST_KEY, copy_workspace
from fake_anthropic import FakeAnthropic, error, hang, propose, reply, text, tool_use
from lsp_session import uri, wait_until
from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pytest_lsp import client_capabilities

pytestmark = [pytest.mark.e2e, pytest.mark.filterwarnings("error::pytest_lsp.LspSpecificationWarning")]

ROUTER = "app/routers/users.py"
REPOSITORY = "app/repositories/users.py"
SQL_OLD = """text(f"SELECT id FROM users WHERE email = '{email}'"))"""
SQL_NEW = """text("SELECT id FROM users WHERE email = :email"), {"email": email})"""

USER_SERVICE = '''"""Business rules for members."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import User
from app.schemas import UserCreate


class EmailAlreadyRegistered(Exception):
    """Another member already uses this email address."""


def create_user(session: Session, data: UserCreate) -> User:
    email = data.email.lower()
    if session.scalar(select(User).where(User.email == email)) is not None:
        raise EmailAlreadyRegistered(email)
    user = User(email=email, full_name=data.full_name.strip())
    session.add(user)
    session.commit()
    session.refresh(user)
    return user
'''

USER_SERVICE_TEST = '''from __future__ import annotations

import pytest

from app.schemas import UserCreate
from app.services import users as user_service


def test_create_user_normalises_and_refuses_duplicates(session_factory) -> None:
    with session_factory() as session:
        user = user_service.create_user(session, UserCreate(email="Grace@Example.com", full_name=" Grace Hopper "))
        assert (user.email, user.full_name) == ("grace@example.com", "Grace Hopper")
        with pytest.raises(user_service.EmailAlreadyRegistered):
            user_service.create_user(session, UserCreate(email="grace@example.com", full_name="Someone"))
'''

THIN_HANDLER = '''    try:
        return user_service.create_user(session, payload)
    except user_service.EmailAlreadyRegistered as exc:
        raise HTTPException(status_code=status.HTTP_409_CONFLICT, detail="Email already registered") from exc
'''


def line_of(path: Path, needle: str) -> int:
    return next(n for n, line in enumerate(path.read_text().splitlines()) if needle in line)


def body_of(path: Path, function: str) -> str:
    """The exact source lines of a function's body, as a model would copy
    them from read_file."""
    text = path.read_text()
    node = next(n for n in ast.walk(ast.parse(text)) if isinstance(n, ast.FunctionDef) and n.name == function)
    lines = text.splitlines(keepends=True)
    return "".join(lines[node.body[0].lineno - 1 : node.end_lineno])


def import_line(path: Path, prefix: str) -> str:
    return next(line for line in path.read_text().splitlines(keepends=True) if line.startswith(prefix))


def progress_values(lsp: AgentSession) -> list[list[object]]:
    return [list(values) for values in lsp.client.progress_reports.values()]


async def test_extract_to_service_end_to_end(tmp_path: Path, fake: FakeAnthropic):
    app = copy_workspace("app_fastapi_sqlalchemy", tmp_path)
    router = app / ROUTER
    schemas_import = import_line(router, "from app.schemas import")
    fake.add(
        reply(text("I'll read the handler and the existing services."), tool_use("read_file", {"path": ROUTER}), tool_use("list_files", {"glob": "app/services/*.py"})),
        reply(tool_use("read_file", {"path": "app/services/books.py"}), tool_use("get_findings", {"path": ROUTER})),
        propose(
            [
                {"path": "app/services/users.py", "new_text": USER_SERVICE},
                {"path": ROUTER, "old_text": body_of(router, "create_user"), "new_text": THIN_HANDLER},
                {"path": ROUTER, "old_text": schemas_import, "new_text": schemas_import + "from app.services import users as user_service\n"},
                {"path": "tests/test_user_service.py", "new_text": USER_SERVICE_TEST},
            ],
            "Moved member creation into app/services/users.py with an EmailAlreadyRegistered domain error; the handler maps it to 409.",
        ),
    )
    async with agent_server(tmp_path, key=TEST_KEY) as lsp:
        await lsp.initialize([app], agent_settings(fake.base_url))
        lsp.open(router, "python")
        diagnostics = await lsp.wait_for_diagnostics(
            router, lambda d: any(x.code == "SG101" and "create_user" in x.message for x in d), "SG101 on create_user"
        )
        target = next(d for d in diagnostics if d.code == "SG101" and "create_user" in d.message)
        handler_line = line_of(router, "def create_user(")
        actions = await lsp.code_actions(router, (handler_line + 2, 4), (handler_line + 2, 4), [target])
        titles = [a.title for a in agent_actions(actions)]
        assert titles == ["Extract to service (agent)", "Move data access to a repository method (agent)", "Fix with agent: SG101"]
        extract = agent_actions(actions)[0]
        assert extract.kind == "refactor.extract.service.agent" and extract.disabled is None and extract.edit is None
        argument = only_argument(extract)
        assert argument["action"] == "extractToService" and argument["uri"] == uri(router)
        # Outside a handler: no extract; in a model module: generate a migration.
        assert agent_actions(await lsp.code_actions(router, (0, 0), (0, 0))) == []
        models = app / "app/models.py"
        lsp.open(models, "python")
        await lsp.wait_for_published(models)
        [migration] = agent_actions(await lsp.code_actions(models, (line_of(models, "class Book"), 0), (line_of(models, "class Book"), 0)))
        assert (migration.title, migration.kind) == ("Generate migration (agent)", "source.generateMigration.agent")
        assert only_argument(migration)["action"] == "generateMigration"
        # A client asking only for quick fixes gets no refactors.
        only_quickfix = await lsp.client.text_document_code_action_async(
            types.CodeActionParams(
                text_document=types.TextDocumentIdentifier(uri=uri(router)),
                range=types.Range(types.Position(handler_line + 2, 4), types.Position(handler_line + 2, 4)),
                context=types.CodeActionContext(diagnostics=[target], only=[types.CodeActionKind.QuickFix]),
            )
        )
        assert [a.title for a in agent_actions(list(only_quickfix or []))] == ["Fix with agent: SG101"]

        result = await lsp.command("stackguard.agent.run", argument)

        assert result["status"] == "applied" and result["applied"] is True, result
        # The handler's SG101 was the validation target, and it is gone.
        assert result["target"] == {"code": "SG101", "line": target.range.start.line + 1, "path": ROUTER}
        assert result["files"] == [
            {"path": "app/services/users.py", "created": True},
            {"path": ROUTER, "created": False},
            {"path": "tests/test_user_service.py", "created": True},
        ]
        usage = result["usage"]
        assert usage["inputTokens"] > 0 and usage["outputTokens"] == 150
        assert usage["cacheCreationInputTokens"] > 0 and usage["cacheReadInputTokens"] == 2 * usage["cacheCreationInputTokens"]
        assert result["turns"] == 3 and result["repairs"] == 0

        # Progress: one fresh token, begin/report/end, cancellable.
        [reports] = progress_values(lsp)
        begin, *middle, end = reports
        assert isinstance(begin, types.WorkDoneProgressBegin)
        assert begin.title == "stackguard agent: Extract to service" and begin.cancellable is True
        messages = [r.message for r in middle]
        assert f"Reading {ROUTER}" in messages and "Listing app/services/*.py" in messages
        assert "Validating the proposed edits" in messages
        assert isinstance(end, types.WorkDoneProgressEnd) and end.message.startswith("Applied: Moved member creation")

        # One applyEdit, annotated so VS Code shows its refactor preview.
        [applied] = lsp.applied_edits
        assert applied.label == "stackguard agent: Extract to service"
        annotation = applied.edit.change_annotations["stackguard-agent"]
        assert annotation.needs_confirmation is True and annotation.label == "stackguard agent: Extract to service"
        creates = [c for c in applied.edit.document_changes if isinstance(c, types.CreateFile)]
        assert [c.uri for c in creates] == [uri(app / "app/services/users.py"), uri(app / "tests/test_user_service.py")]
        assert all(c.annotation_id == "stackguard-agent" and c.options.overwrite is False for c in creates)
        router_edit = next(
            c for c in applied.edit.document_changes if isinstance(c, types.TextDocumentEdit) and c.text_document.uri == uri(router)
        )
        assert router_edit.text_document.version == 1
        assert router_edit.edits and all(isinstance(e, types.AnnotatedTextEdit) for e in router_edit.edits)

    # The files on disk are what the model proposed...
    assert (app / "app/services/users.py").read_text() == USER_SERVICE
    new_router = router.read_text()
    create_user = new_router[new_router.index("def create_user(") : new_router.index("@router.delete")]
    assert "session.add" not in create_user and "session.scalar" not in create_user and "user_service.create_user(session, payload)" in new_router
    assert "from app.services import users as user_service\n" in new_router
    # ...and the fixture app's own test suite passes against them.
    run = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=app,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "10 passed" in run.stdout
    assert fake.problems == []


async def fix_with_agent_action(lsp: AgentSession, workspace: Path) -> tuple[types.Diagnostic, types.CodeAction]:
    path = workspace / REPOSITORY
    lsp.open(path, "python")
    diagnostics = await lsp.wait_for_diagnostics(path, lambda d: any(x.code == "SG201" for x in d), "SG201")
    sql = next(d for d in diagnostics if d.code == "SG201")
    actions = await lsp.code_actions(path, (sql.range.start.line, sql.range.start.character), (sql.range.end.line, sql.range.end.character), [sql])
    fix = next(a for a in agent_actions(actions) if a.title == "Fix with agent: SG201")
    return sql, fix


async def test_cancelling_the_progress_aborts_the_request_and_applies_nothing(tmp_path: Path, fake: FakeAnthropic):
    shop = copy_workspace("lsp_rules", tmp_path)
    fake.add(hang())
    async with agent_server(tmp_path, key=TEST_KEY) as lsp:
        await lsp.initialize([shop], agent_settings(fake.base_url))
        _, fix = await fix_with_agent_action(lsp, shop)
        assert fix.kind == types.CodeActionKind.QuickFix
        running = asyncio.ensure_future(lsp.command("stackguard.agent.run", only_argument(fix)))
        assert await asyncio.to_thread(fake.wait_until_hanging, 60)
        [token] = lsp.client.progress_reports
        lsp.client.window_work_done_progress_cancel(types.WorkDoneProgressCancelParams(token=token))
        result = await asyncio.wait_for(running, 30)
        assert result["status"] == "cancelled" and result["applied"] is False
        assert result["reason"] == "cancelled; nothing was applied"
        await wait_until(lambda: fake.disconnects, "the HTTP request to be aborted")
        assert fake.disconnects == [0]
        assert lsp.applied_edits == []
        end = lsp.client.progress_reports[token][-1]
        assert isinstance(end, types.WorkDoneProgressEnd) and end.message == "Cancelled; nothing was applied"
    assert SQL_OLD in (shop / REPOSITORY).read_text()


async def test_cancelling_the_request_aborts_the_http_call(tmp_path: Path, fake: FakeAnthropic):
    shop = copy_workspace("lsp_rules", tmp_path)
    fake.add(hang())
    async with agent_server(tmp_path, key=TEST_KEY) as lsp:
        await lsp.initialize([shop], agent_settings(fake.base_url))
        _, fix = await fix_with_agent_action(lsp, shop)
        params = types.ExecuteCommandParams(command="stackguard.agent.run", arguments=[only_argument(fix)])
        running = asyncio.ensure_future(
            lsp.client.protocol.send_request_async(types.WORKSPACE_EXECUTE_COMMAND, params, msg_id="agent-run-1")
        )
        assert await asyncio.to_thread(fake.wait_until_hanging, 60)
        lsp.client.protocol.notify(types.CANCEL_REQUEST, types.CancelParams(id="agent-run-1"))
        with pytest.raises(JsonRpcException):
            await asyncio.wait_for(running, 30)
        await wait_until(lambda: fake.disconnects, "the HTTP request to be aborted")
        [token] = lsp.client.progress_reports
        await wait_until(
            lambda: isinstance(lsp.client.progress_reports[token][-1], types.WorkDoneProgressEnd), "the progress to end"
        )
        assert lsp.applied_edits == []
    assert SQL_OLD in (shop / REPOSITORY).read_text()


@pytest.mark.parametrize("client_name", ["visual-studio-code", "neovim"])
async def test_without_a_key_agent_actions_are_disabled_with_the_reason(tmp_path: Path, client_name: str):
    shop = copy_workspace("lsp_rules", tmp_path)
    async with agent_server(tmp_path, key=None, client_name=client_name) as lsp:
        # Default settings: the key is read from ANTHROPIC_API_KEY, which the server does not have.
        await lsp.initialize([shop], {"agent": {"baseUrl": "http://127.0.0.1:9"}})
        path = shop / REPOSITORY
        lsp.open(path, "python")
        diagnostics = await lsp.wait_for_diagnostics(path, lambda d: any(x.code == "SG201" for x in d), "SG201")
        sql = next(d for d in diagnostics if d.code == "SG201")
        actions = await lsp.code_actions(path, (sql.range.start.line, 0), (sql.range.start.line, 0), [sql])
        agent = agent_actions(actions)
        if client_name == "visual-studio-code":
            # codeAction.disabledSupport: listed, greyed out, with the reason.
            assert [a.title for a in agent] == ["Fix with agent: SG201"]
            for action in agent:
                assert action.disabled.reason == "Set ANTHROPIC_API_KEY to enable agent actions"
                assert action.command is None and action.edit is None
        else:
            # No disabledSupport: agent actions are left out.
            assert agent == []
        # Every deterministic action still works.
        assert any("ignore" in a.title.lower() and a.edit is not None for a in actions)
        result = await lsp.command("stackguard.agent.run", {"action": "fixFinding", "uri": uri(path), "finding": sql.data["finding"], "message": sql.message})
        assert result["status"] == "disabled" and result["applied"] is False
        assert result["reason"] == "Set ANTHROPIC_API_KEY to enable agent actions"
        await wait_until(lambda: any("ANTHROPIC_API_KEY" in m.message for m in lsp.client.messages), "a message naming the variable")


async def test_disabled_setting_hides_agent_actions(tmp_path: Path):
    shop = copy_workspace("lsp_rules", tmp_path)
    async with agent_server(tmp_path, key=TEST_KEY) as lsp:
        await lsp.initialize([shop], {"agent": {"enabled": False, "apiKeyEnv": KEY_ENV}})
        path = shop / REPOSITORY
        lsp.open(path, "python")
        diagnostics = await lsp.wait_for_diagnostics(path, lambda d: any(x.code == "SG201" for x in d), "SG201")
        sql = next(d for d in diagnostics if d.code == "SG201")
        assert agent_actions(await lsp.code_actions(path, (sql.range.start.line, 0), (sql.range.start.line, 0), [sql])) == []


async def test_retries_failures_and_the_key_never_crosses_the_wire(tmp_path: Path, fake: FakeAnthropic):
    """A run with a rate limit then success, a run that meets 500s until it
    gives up, and a run the API refuses (401). The raw LSP traffic in both
    directions and the server's debug log must not contain the key, which
    the API requests did carry."""
    shop = copy_workspace("lsp_rules", tmp_path)
    fake.add(
        error(429, "rate_limit_error", "Number of requests has exceeded your rate limit", {"retry-after-ms": "50"}),
        reply(tool_use("read_file", {"path": REPOSITORY})),
        propose([{"path": REPOSITORY, "old_text": SQL_OLD, "new_text": SQL_NEW}], "Bound the email as a query parameter."),
    )
    async with agent_server(tmp_path, key=TEST_KEY) as lsp:
        await lsp.initialize([shop], agent_settings(fake.base_url))
        sql, fix = await fix_with_agent_action(lsp, shop)
        argument = only_argument(fix)
        assert argument["finding"]["code"] == "SG201" and argument["message"] == sql.message

        first = await lsp.command("stackguard.agent.run", argument)
        assert first["status"] == "applied", first
        [reports] = progress_values(lsp)
        assert any("API error (429 rate_limit_error" in (r.message or "") and "retrying" in r.message for r in reports[1:-1])
        assert SQL_NEW in (shop / REPOSITORY).read_text()

        fake.add(*[error(500, "api_error", "Internal server error", {"retry-after-ms": "10"}) for _ in range(4)])
        second = await lsp.command("stackguard.agent.run", argument)
        assert second["status"] == "error" and second["applied"] is False
        assert second["reason"] == "The Anthropic API kept failing (500 api_error: Internal server error); gave up after 4 attempts. Try again later."
        await wait_until(lambda: any("gave up after 4 attempts" in m.message for m in lsp.client.messages), "the give-up message")

        fake.add(error(401, "authentication_error", "invalid x-api-key"))
        third = await lsp.command("stackguard.agent.run", argument)
        assert third["status"] == "error"
        assert third["reason"].startswith(f"The Anthropic API rejected the API key in {KEY_ENV} (401")
        assert len(lsp.applied_edits) == 1

    key = TEST_KEY.encode()
    api_requests = [r for r in fake.requests if r.path == "/v1/messages"]
    assert len(api_requests) == 3 + 4 + 1
    assert all(fake.presented_key(r) == TEST_KEY for r in api_requests), "the key was not used for the API calls"
    traffic = lsp.traffic()
    assert b"workspace/applyEdit" in traffic["server_to_client.bin"] and b"stackguard.agent.run" in traffic["client_to_server.bin"]
    assert b"Request options" in traffic["stderr.log"], "the SDK's debug log is not in the captured stderr"
    assert b"rejected the API key" in traffic["stderr.log"] + traffic["server_to_client.bin"]
    for name, data in traffic.items():
        assert key not in data, f"the API key appears in {name}"
    assert fake.problems == []


async def test_clients_without_file_creation_get_new_files_written_by_the_server(tmp_path: Path, fake: FakeAnthropic):
    """Emacs advertises documentChanges but no resource operations. As with
    the refactors, the server writes a new file itself and sends the rest
    as an edit; an edit the editor rejects takes the new file back."""
    shop = copy_workspace("lsp_rules", tmp_path)
    new_file = shop / "app/services/email.py"
    change = [{"path": "app/services/email.py", "new_text": "X = 1\n"}, {"path": REPOSITORY, "old_text": SQL_OLD, "new_text": SQL_NEW}]
    fake.add(propose(change, "Bound the email."), propose(change, "Bound the email."))
    async with agent_server(tmp_path, key=TEST_KEY, client_name="emacs", capabilities=client_capabilities("emacs")) as lsp:
        await lsp.initialize([shop], agent_settings(fake.base_url))
        path = shop / REPOSITORY
        lsp.open(path, "python")
        diagnostics = await lsp.wait_for_published(path)
        sql = next(d for d in diagnostics if d.code == "SG201")
        # Without the diagnostic's data (some clients drop it) the finding is
        # found again by code and line.
        where = {"start": {"line": sql.range.start.line, "character": 0}, "end": {"line": sql.range.start.line, "character": 0}}
        argument = {"action": "fixFinding", "uri": uri(path), "code": "SG201", "range": where}

        lsp.client.reject_edits = True  # type: ignore[attr-defined]
        rejected = await lsp.command("stackguard.agent.run", argument)
        assert rejected["status"] == "rejected" and rejected["applied"] is False
        assert not new_file.exists(), "the new file stayed although the editor rejected the change"
        assert SQL_OLD in path.read_text()

        lsp.client.reject_edits = False  # type: ignore[attr-defined]
        result = await lsp.command("stackguard.agent.run", argument)
        assert result["status"] == "applied" and result["target"]["code"] == "SG201"
        assert result["created"] == [uri(new_file)]
        second = lsp.applied_edits[-1]
        assert second.edit.change_annotations is None
        assert not any(isinstance(c, types.CreateFile) for c in second.edit.document_changes or [])
        assert [c.text_document.uri for c in second.edit.document_changes or []] == [uri(path)]
        await wait_until(lambda: any("created email.py on disk" in m.message for m in lsp.client.messages), "showMessage")
    assert new_file.read_text() == "X = 1\n"
    assert SQL_NEW in path.read_text()
    first = fake.message_requests[0]
    assert "You may create new files" in first["messages"][0]["content"][0]["text"]
    assert "python · fastapi · sqlalchemy" in first["system"][1]["text"]
