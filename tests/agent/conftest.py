"""Fixtures of the agent tests: the fake Anthropic API, copies of the test
workspaces, analyzers over them, and LSP specification checks for what the
agent sends to clients.

No test reaches the internet: every client is pointed at the fake server on
127.0.0.1, and ``ANTHROPIC_BASE_URL`` is set to a closed local port for the
whole run so a code path that forgot its base URL fails locally.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "lsp"))

from agent_support import CLOSED_LOCAL_URL, KEY_ENV, TEST_KEY, copy_workspace
from fake_anthropic import FakeAnthropic
from lsprotocol import types
from pygls.capabilities import get_capability
from pytest_lsp import checks


@pytest.fixture(autouse=True)
def no_real_api(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_PROFILE", "ANTHROPIC_CUSTOM_HEADERS", KEY_ENV):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", CLOSED_LOCAL_URL)


@pytest.fixture
def fake():
    with FakeAnthropic(api_key=TEST_KEY) as server:
        yield server


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    """A copy of tests/workspaces/lsp_rules (FastAPI + SQLAlchemy, with an
    SG201 f-string query in app/repositories/users.py)."""
    return copy_workspace("lsp_rules", tmp_path)


# -- LSP specification checks for what the agent sends ---------------------------------


def _check_apply_edit(capabilities: types.ClientCapabilities, params: types.ApplyWorkspaceEditParams) -> None:
    edit = params.edit
    document_changes = get_capability(capabilities, "workspace.workspace_edit.document_changes", False)
    annotations = get_capability(capabilities, "workspace.workspace_edit.change_annotation_support", None)
    operations = set(get_capability(capabilities, "workspace.workspace_edit.resource_operations", None) or ())
    if edit.document_changes:
        assert document_changes, "workspace/applyEdit uses documentChanges the client did not advertise"
    if edit.change_annotations:
        assert annotations is not None, "workspace/applyEdit uses change annotations the client did not advertise"
    for change in edit.document_changes or []:
        if isinstance(change, types.CreateFile):
            assert types.ResourceOperationKind.Create in operations, "CreateFile without resourceOperations create"
            if change.annotation_id:
                assert annotations is not None, "annotated CreateFile without changeAnnotationSupport"
        if isinstance(change, types.TextDocumentEdit):
            for text_edit in change.edits:
                if isinstance(text_edit, types.AnnotatedTextEdit):
                    assert annotations is not None, "AnnotatedTextEdit without changeAnnotationSupport"
                    assert text_edit.annotation_id in (edit.change_annotations or {}), "unknown annotation id"


def _check_code_actions(capabilities: types.ClientCapabilities, result) -> None:
    disabled_support = get_capability(capabilities, "text_document.code_action.disabled_support", False)
    for item in result or []:
        if isinstance(item, types.CodeAction) and item.disabled is not None:
            assert disabled_support, "a disabled code action sent to a client without codeAction.disabledSupport"


if types.WORKSPACE_APPLY_EDIT not in checks.PARAMS_CHECKS:
    checks.check_params_of(method=types.WORKSPACE_APPLY_EDIT)(_check_apply_edit)
if types.TEXT_DOCUMENT_CODE_ACTION not in checks.RESULT_CHECKS:
    checks.check_result_for(method=types.TEXT_DOCUMENT_CODE_ACTION)(_check_code_actions)
