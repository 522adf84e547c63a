"""SG301 through the real server: a secret in an open Python settings file
and in a YAML file git tracks is reported masked, never in clear, and the
quick fix moves it to the environment."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from lsp_session import Session, apply_text_edits, uri
from lsprotocol import types
from test_rules_lsp import codes, edits_for

SECRET = "d8f7a6b5c4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a9"
DB_PASSWORD = "Tr0ub4dor-and-3"


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    root = tmp_path / "secrets_app"
    (root / "app").mkdir(parents=True)
    (root / "pyproject.toml").write_text('[project]\nname = "secrets-app"\ndependencies = ["fastapi"]\n')
    (root / "app" / "__init__.py").write_text("")
    (root / "app" / "settings.py").write_text(f'import os\n\nDEBUG = os.environ.get("DEBUG") == "1"\nSECRET_KEY = "{SECRET}"\n')
    (root / "deploy.yaml").write_text(f"service:\n  name: shop\n  database_url: postgresql://shop:{DB_PASSWORD}@db.internal/shop\n")
    (root / "local.yaml").write_text(f"database_url: postgresql://shop:{DB_PASSWORD}@localhost/shop\n")
    git = ["git", "-c", "user.email=t@example.invalid", "-c", "user.name=t"]
    subprocess.run([*git, "init", "-q"], cwd=root, check=True)
    subprocess.run([*git, "add", "pyproject.toml", "app", "deploy.yaml"], cwd=root, check=True)  # local.yaml stays untracked
    return root


def assert_masked(diagnostics: list[types.Diagnostic]) -> None:
    for diagnostic in diagnostics:
        serialised = json.dumps({"message": diagnostic.message, "data": diagnostic.data})
        assert SECRET not in serialised and SECRET[:8] not in serialised
        assert DB_PASSWORD not in serialised


async def test_secret_in_open_settings_file_is_masked_and_fixable(lsp: Session, workspace: Path):
    await lsp.initialize([workspace])
    path = workspace / "app" / "settings.py"
    lsp.open(path, "python")
    diagnostics = await lsp.wait_for_diagnostics(path, lambda d: "SG301" in codes(d), "SG301 on the settings file")
    assert_masked(diagnostics)
    secret = next(d for d in diagnostics if d.code == "SG301")
    assert "SECRET_KEY" in secret.message and "********" in secret.message
    assert secret.range.start.line == 3
    actions = await lsp.client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri(path)),
            range=secret.range,
            context=types.CodeActionContext(diagnostics=[secret], only=[types.CodeActionKind.QuickFix]),
        )
    )
    fix = next(a for a in actions if not a.title.startswith("Ignore"))
    resolved = await lsp.client.code_action_resolve_async(fix)
    new_text = apply_text_edits(path.read_text(), edits_for(resolved.edit, uri(path)))
    assert 'SECRET_KEY = os.environ["SECRET_KEY"]' in new_text
    assert SECRET not in new_text


async def test_secret_in_tracked_yaml_is_reported_untracked_is_not(lsp: Session, workspace: Path):
    await lsp.initialize([workspace])
    tracked, untracked = workspace / "deploy.yaml", workspace / "local.yaml"
    lsp.open(tracked, "yaml")
    diagnostics = await lsp.wait_for_diagnostics(tracked, lambda d: "SG301" in codes(d), "SG301 on deploy.yaml")
    assert_masked(diagnostics)
    credential = next(d for d in diagnostics if d.code == "SG301")
    assert credential.range.start.line == 2
    lsp.open(untracked, "yaml")
    # The untracked file is analysed (published or pulled empty), never flagged.
    await lsp.wait_for_diagnostics(untracked, lambda d: codes(d) == [], "no SG301 on the untracked file")
    if not lsp.pulls:
        await lsp.wait_for_diagnostics(
            untracked, lambda d: uri(untracked) in lsp.client.diagnostics, "a publish for local.yaml"
        )
