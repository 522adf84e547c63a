"""Fixtures shared by the editor tests: the built VS Code extension and the
artifacts folder for screenshots and logs."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

import pytest
from editor_tools import EDITORS, VsixBuild, describe, node_env, npm, run

VSCODE_SOURCES = (
    "src",
    "package.json",
    "package-lock.json",
    "tsconfig.json",
    "eslint.config.mjs",
    ".vscodeignore",
    "LICENSE",
    "README.md",
)


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    """Screenshots and logs of the real-editor tests, in
    $STACKGUARD_TEST_ARTIFACTS or a fresh folder under
    <tmp>/stackguard-test-artifacts/; never under pytest's own tmp folders,
    which later runs (and parallel ones) delete."""
    configured = os.environ.get("STACKGUARD_TEST_ARTIFACTS")
    if configured:
        folder = Path(configured)
    else:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        folder = (
            Path(tempfile.gettempdir())
            / "stackguard-test-artifacts"
            / f"{stamp}-{os.getpid()}"
        )
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="session")
def vsix_build(tmp_path_factory: pytest.TempPathFactory) -> VsixBuild:
    """editors/vscode built from a clean copy exactly as CI documents it:
    ``npm ci && npm run compile && npm run lint && npx @vscode/vsce package``.
    A failing step fails every test that needs the extension."""
    folder = tmp_path_factory.mktemp("vscode-build") / "vscode"
    folder.mkdir()
    source = EDITORS / "vscode"
    for name in VSCODE_SOURCES:
        path = source / name
        if path.is_dir():
            shutil.copytree(path, folder / name)
        else:
            shutil.copy2(path, folder / name)
    env = node_env()
    npm_bin = npm()
    steps: dict[str, str] = {}
    commands = {
        "npm ci": [npm_bin, "ci", "--prefer-offline", "--no-audit", "--no-fund"],
        "npm run compile": [npm_bin, "run", "compile"],
        "npm run lint": [npm_bin, "run", "lint"],
        "vsce package": [
            npm_bin,
            "exec",
            "--",
            "vsce",
            "package",
            "--out",
            "stackguard.vsix",
        ],
    }
    for name, command in commands.items():
        result = run(command, cwd=folder, env=env, timeout=900)
        steps[name] = result.stdout + result.stderr
        if result.returncode != 0:
            pytest.fail(
                f"`{name}` failed in {folder}: {describe(result)}", pytrace=False
            )
    return VsixBuild(folder=folder, vsix=folder / "stackguard.vsix", steps=steps)
