"""Run one command the way verification needs it: argv only (never a shell),
in its own session so the whole process group can be stopped, output read
line by line as it comes, kept in memory only up to a cap.

``run_command`` never raises for a command that cannot start (that is an
``error`` outcome) and always leaves no process of the group alive when it
stops one (timeout or cancellation): SIGTERM to the group, SIGKILL to what is
left after a grace period. When the awaiting task itself is cancelled (the
CLI's Ctrl-C), the group is stopped the same way before the cancellation
propagates.
"""

from __future__ import annotations

import asyncio
import codecs
import collections
import logging
import os
import re
import signal
import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

logger = logging.getLogger(__name__)

# Output kept in memory per command; older lines are dropped first.
OUTPUT_CAP_BYTES = 1_048_576
# A "line" without a newline is cut here, so one giant line (minified JSON,
# a progress bar) cannot grow without bound before it is delivered.
MAX_LINE_CHARS = 65_536
# Between SIGTERM and SIGKILL.
KILL_GRACE_S = 3.0
# How long to keep reading after the command exited: a background process
# it left behind may hold the pipe open forever.
DRAIN_GRACE_S = 2.0
_POLL_S = 0.05

_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]")

LineCallback = Callable[[str], None]


@dataclass
class CommandOutcome:
    """What happened to one command. ``exit_code`` is None when it never
    started (``error`` says why) and negative when a signal ended it."""

    argv: list[str]
    exit_code: int | None = None
    timed_out: bool = False
    cancelled: bool = False
    error: str | None = None
    duration_s: float = 0.0
    lines: list[str] = field(default_factory=list)
    truncated: bool = False
    # ``watch`` (a pass_signal) appeared in the output.
    watch_seen: bool = False
    pid: int | None = None

    @property
    def output(self) -> str:
        return "\n".join(self.lines)


def clean_line(text: str) -> str:
    """A terminal line as a person saw it: colour codes removed, and for
    carriage-return progress output only what was drawn last."""
    text = _ANSI.sub("", text.rstrip("\r"))
    if "\r" in text:
        text = text.rsplit("\r", 1)[-1]
    return text


class OutputCollector:
    """Turns the byte stream into lines: decodes UTF-8 across chunk
    boundaries, calls ``on_line`` per line, keeps the newest lines within
    ``cap`` bytes, and notices ``watch``."""

    def __init__(self, on_line: LineCallback | None = None, cap: int = OUTPUT_CAP_BYTES, watch: str | None = None):
        self._on_line = on_line
        self._cap = cap
        self._watch = watch or None
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._partial = ""
        self._lines: collections.deque[str] = collections.deque()
        self._size = 0
        self.truncated = False
        self.watch_seen = False
        self._callback_failed = False

    def feed(self, data: bytes) -> None:
        text = self._partial + self._decoder.decode(data)
        *complete, self._partial = text.split("\n")
        for line in complete:
            self._emit(line)
        while len(self._partial) > MAX_LINE_CHARS:
            self._emit(self._partial[:MAX_LINE_CHARS])
            self._partial = self._partial[MAX_LINE_CHARS:]

    def close(self) -> None:
        tail = self._partial + self._decoder.decode(b"", final=True)
        self._partial = ""
        if tail:
            self._emit(tail)

    def _emit(self, raw: str) -> None:
        line = clean_line(raw)
        if self._watch is not None and not self.watch_seen and self._watch in line:
            self.watch_seen = True
        self._lines.append(line)
        self._size += len(line) + 1
        while self._size > self._cap and len(self._lines) > 1:
            self._size -= len(self._lines.popleft()) + 1
            self.truncated = True
        if self._on_line is not None and not self._callback_failed:
            try:
                self._on_line(line)
            except Exception:  # a broken listener must not stop the command
                self._callback_failed = True
                logger.exception("output listener failed; no more lines are forwarded")

    @property
    def lines(self) -> list[str]:
        return list(self._lines)


class _PipeProtocol(asyncio.Protocol):
    def __init__(self, collector: OutputCollector, closed: asyncio.Future[None]) -> None:
        self._collector = collector
        self._closed = closed

    def data_received(self, data: bytes) -> None:
        self._collector.feed(data)

    def eof_received(self) -> bool | None:
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        if not self._closed.done():
            self._closed.set_result(None)


# -- process groups --------------------------------------------------------------


def _signal_group(pgid: int, sig: int) -> bool:
    try:
        os.killpg(pgid, sig)
        return True
    except (ProcessLookupError, PermissionError):
        return False


def group_members(pgid: int) -> list[int]:
    """Live (not zombie) processes whose process group is ``pgid``. Reads
    /proc where it exists; elsewhere the best available answer is whether
    the group can still be signalled."""
    proc = Path("/proc")
    if not proc.is_dir():
        try:
            os.killpg(pgid, 0)
        except (ProcessLookupError, PermissionError):
            return []
        return [pgid]
    members = []
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # "pid (comm) state ppid pgrp ..." where comm may contain spaces or ')'.
        fields = stat[stat.rfind(")") + 2 :].split()
        if len(fields) >= 3 and fields[2] == str(pgid) and fields[0] not in ("Z", "X"):
            members.append(int(entry.name))
    return members


async def terminate_group(process: asyncio.subprocess.Process, grace: float = KILL_GRACE_S) -> None:
    """SIGTERM the process group led by ``process``, SIGKILL whatever is still
    alive after ``grace`` seconds, and reap the leader."""
    pgid = process.pid
    if not hasattr(os, "killpg"):  # no process groups (Windows): the process only
        if process.returncode is None:
            process.kill()
        await process.wait()
        return
    loop = asyncio.get_running_loop()
    _signal_group(pgid, signal.SIGTERM)
    deadline = loop.time() + grace
    while loop.time() < deadline:
        if process.returncode is not None and not group_members(pgid):
            return
        await asyncio.sleep(_POLL_S)
    _signal_group(pgid, signal.SIGKILL)
    if process.returncode is None:
        try:
            await asyncio.wait_for(process.wait(), 5.0)
        except asyncio.TimeoutError:
            logger.warning("process %s did not exit after SIGKILL", pgid)
    deadline = loop.time() + 2.0
    while group_members(pgid) and loop.time() < deadline:
        await asyncio.sleep(_POLL_S)


# -- running -----------------------------------------------------------------------


async def run_command(
    argv: Sequence[str],
    *,
    cwd: str | Path,
    env: Mapping[str, str] | None = None,
    timeout: float | None = None,
    on_line: LineCallback | None = None,
    cancel: asyncio.Event | None = None,
    watch: str | None = None,
    output_cap: int = OUTPUT_CAP_BYTES,
    kill_grace: float = KILL_GRACE_S,
) -> CommandOutcome:
    """Run ``argv`` (no shell) in ``cwd`` with stdout and stderr merged.

    ``timeout`` (seconds, None or <= 0: none) and ``cancel`` stop the whole
    process group; the outcome says which. Output lines go to ``on_line`` as
    they arrive."""
    argv = [str(arg) for arg in argv]
    outcome = CommandOutcome(argv=argv)
    if not argv or not argv[0]:
        outcome.error = "empty command"
        return outcome
    loop = asyncio.get_running_loop()
    started = loop.time()
    collector = OutputCollector(on_line, output_cap, watch)
    read_fd, write_fd = os.pipe()
    try:
        process = await asyncio.create_subprocess_exec(
            *argv,
            cwd=str(cwd),
            env=dict(env) if env is not None else None,
            stdin=subprocess.DEVNULL,
            stdout=write_fd,
            stderr=write_fd,
            start_new_session=True,
        )
    except (OSError, ValueError) as exc:
        os.close(read_fd)
        outcome.error = _spawn_error(argv[0], str(cwd), exc)
        outcome.duration_s = loop.time() - started
        return outcome
    finally:
        os.close(write_fd)
    outcome.pid = process.pid

    closed: asyncio.Future[None] = loop.create_future()
    transport, _ = await loop.connect_read_pipe(
        lambda: _PipeProtocol(collector, closed), os.fdopen(read_fd, "rb", buffering=0)
    )
    exited = asyncio.ensure_future(process.wait())
    cancelled = asyncio.ensure_future(cancel.wait()) if cancel is not None else None
    try:
        waiting = {exited} | ({cancelled} if cancelled is not None else set())
        done, _ = await asyncio.wait(
            waiting, timeout=timeout if timeout and timeout > 0 else None, return_when=asyncio.FIRST_COMPLETED
        )
        if exited not in done:
            if cancelled is not None and cancelled in done:
                outcome.cancelled = True
            else:
                outcome.timed_out = True
            await terminate_group(process, kill_grace)
        try:
            await asyncio.wait_for(asyncio.shield(closed), DRAIN_GRACE_S)
        except asyncio.TimeoutError:
            pass
    except asyncio.CancelledError:
        # Ctrl-C in the CLI, or a caller that cancels the task: stop the
        # group even if this task is cancelled again while waiting.
        outcome.cancelled = True
        stopping = asyncio.ensure_future(terminate_group(process, kill_grace))
        try:
            await asyncio.shield(stopping)
        except asyncio.CancelledError:
            pass
        raise
    finally:
        for task in (exited, cancelled):
            if task is not None and not task.done():
                task.cancel()
        transport.close()
        collector.close()
        outcome.exit_code = process.returncode
        outcome.duration_s = loop.time() - started
        outcome.lines = collector.lines
        outcome.truncated = collector.truncated
        outcome.watch_seen = collector.watch_seen
    return outcome


def _spawn_error(program: str, cwd: str, exc: OSError | ValueError) -> str:
    if isinstance(exc, OSError) and exc.filename == cwd and not Path(cwd).is_dir():
        return f"cannot run {program!r}: the folder {cwd} does not exist"
    if isinstance(exc, FileNotFoundError):
        return f"cannot run {program!r}: not found"
    if isinstance(exc, PermissionError):
        return f"cannot run {program!r}: permission denied"
    if isinstance(exc, NotADirectoryError):
        return f"cannot run {program!r}: {exc.strerror or exc}"
    return f"cannot run {program!r}: {exc}"

