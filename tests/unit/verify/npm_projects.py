"""The Node fixture projects of the verify tests, installed for real."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

WORKSPACES = Path(__file__).resolve().parents[2] / "workspaces"


def install_fixture(destination: Path, name: str, *npm_args: str) -> Path:
    """A copy of ``tests/workspaces/<name>`` with its npm dependencies
    installed by ``npm <npm_args>``. npm must be reachable: a failed
    install fails the test that needs it."""
    folder = destination / name
    shutil.copytree(WORKSPACES / name, folder)
    npm = shutil.which("npm")
    assert npm is not None, f"npm is needed for the {name} fixture project"
    install = subprocess.run(
        [npm, *npm_args, "--no-audit", "--no-fund"], cwd=folder, capture_output=True, text=True, timeout=600, check=False
    )
    assert install.returncode == 0, f"npm {' '.join(npm_args)} failed:\n{install.stdout}\n{install.stderr}"
    return folder
