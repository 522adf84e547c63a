"""stackguard in a real Neovim: Debian's 0.7.2 (headless) through
editors/nvim/lua/stackguard.lua, the start_client + buf_attach_client path
of Neovim < 0.8. The driver is tests/editors/nvim_e2e.lua."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from editor_tools import (
    EDITORS,
    MARKER_ENV,
    WORKSPACES,
    describe,
    new_marker,
    nvim,
    processes_with_marker,
    stackguard_python,
    wait_for_no_marked_processes,
)

pytestmark = pytest.mark.e2e

DRIVER = Path(__file__).resolve().parent / "nvim_e2e.lua"
SG201_FILE = "app/repositories/product_repository.py"
FIX_TITLE = "Bind the interpolated values as query parameters"


def test_neovim_diagnostic_quick_fix_and_command(tmp_path: Path) -> None:
    executable = nvim()
    shop = tmp_path / "example_shop"
    shutil.copytree(WORKSPACES / "example_shop", shop)
    result_path = tmp_path / "result.json"
    marker = new_marker()
    env = dict(os.environ)
    env.update(
        {
            MARKER_ENV: marker,
            "SG_RUNTIME": str(EDITORS / "nvim"),
            "SG_FILE": str(shop / SG201_FILE),
            "SG_PYTHON": stackguard_python(),
            "SG_CODE": "SG201",
            "SG_FIX_TITLE": FIX_TITLE,
            "SG_RESULT": str(result_path),
            # Neovim writes its log and state under these.
            "XDG_STATE_HOME": str(tmp_path / "state"),
            "XDG_CACHE_HOME": str(tmp_path / "cache"),
            "XDG_DATA_HOME": str(tmp_path / "data"),
            "XDG_CONFIG_HOME": str(tmp_path / "config"),
        }
    )
    completed = subprocess.run(
        [
            executable,
            "--headless",
            "--clean",
            "-n",
            "-i",
            "NONE",
            "-c",
            f"luafile {DRIVER}",
        ],
        cwd=shop,
        env=env,
        check=False,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=240,
        start_new_session=True,
    )
    report = json.loads(result_path.read_text()) if result_path.exists() else None
    assert completed.returncode == 0, f"nvim failed: {report}\n{describe(completed)}"
    assert report is not None and report["ok"], report

    assert report["client"]["name"] == "stackguard"
    assert report["client"]["root_dir"] == str(shop)
    assert (
        "SG201" not in report["line_after"]
        and report["line_after"] != report["line_before"]
    )
    assert ":term" in report["line_after"], report["line_after"]
    assert FIX_TITLE in report["offered"]
    assert any("fastapi" in message["message"] for message in report["messages"]), (
        report["messages"]
    )

    # Neovim stopped the server on exit (shutdown/exit); nothing of the
    # session may outlive it.
    leftovers = wait_for_no_marked_processes(marker, timeout=5)
    assert not leftovers, f"processes left after nvim exited: {leftovers}"
    assert not processes_with_marker(marker)
