"""The process runner: argv only, streamed lines, capped output, and stopping
the whole process group on timeout and cancellation."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path

import pytest
from stackguard.verify.runner import (
    OutputCollector,
    clean_line,
    group_members,
    run_command,
)

PY = sys.executable


def alive(pid: int) -> bool:
    """Running (a zombie waiting to be reaped is not)."""
    if Path("/proc").is_dir():
        try:
            text = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            return False
        return text[text.rfind(")") + 2 :].split()[0] not in ("Z", "X")
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


TREE = """
import os, subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"])
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write(f"{os.getpid()} {child.pid}")
os.replace(sys.argv[1] + ".tmp", sys.argv[1])
print("started", flush=True)
time.sleep(300)
"""

STUBBORN = """
import os, signal, subprocess, sys, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
child = subprocess.Popen([sys.executable, "-c",
    "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(300)"])
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write(f"{os.getpid()} {child.pid}")
os.replace(sys.argv[1] + ".tmp", sys.argv[1])
print("started", flush=True)
time.sleep(300)
"""


async def wait_for_file(path: Path, timeout: float = 20) -> list[int]:
    deadline = time.monotonic() + timeout
    while not path.is_file():
        assert time.monotonic() < deadline, f"{path.name} was never written"
        await asyncio.sleep(0.02)
    return [int(pid) for pid in path.read_text().split()]


async def test_lines_stream_in_order_with_stderr_merged(tmp_path: Path):
    seen: list[str] = []
    code = "import sys; print('one', flush=True); print('two', file=sys.stderr, flush=True); print('three')"
    outcome = await run_command([PY, "-c", code], cwd=tmp_path, on_line=seen.append)
    assert outcome.exit_code == 0
    assert seen == ["one", "two", "three"]
    assert outcome.lines == seen
    assert not (outcome.timed_out or outcome.cancelled or outcome.error)


async def test_exit_code_and_cwd(tmp_path: Path):
    outcome = await run_command([PY, "-c", "import os, sys; print(os.getcwd()); sys.exit(3)"], cwd=tmp_path)
    assert outcome.exit_code == 3
    assert outcome.lines == [str(tmp_path)]


async def test_arguments_are_never_interpreted_by_a_shell(tmp_path: Path):
    argv = [PY, "-c", "import sys; print(sys.argv[1:])", ";", "touch", "X", "$(touch Y)", "`touch Z`", "&&", ">", "W"]
    outcome = await run_command(argv, cwd=tmp_path)
    assert outcome.lines == [str([";", "touch", "X", "$(touch Y)", "`touch Z`", "&&", ">", "W"])]
    assert list(tmp_path.iterdir()) == []


async def test_missing_program_and_missing_folder_are_errors(tmp_path: Path):
    missing = await run_command(["stackguard-no-such-program"], cwd=tmp_path)
    assert missing.exit_code is None
    assert missing.error == "cannot run 'stackguard-no-such-program': not found"
    no_folder = await run_command([PY, "-c", "pass"], cwd=tmp_path / "gone")
    assert no_folder.error is not None and "does not exist" in no_folder.error
    empty = await run_command([], cwd=tmp_path)
    assert empty.error == "empty command"


async def test_output_is_capped_to_the_newest_lines(tmp_path: Path):
    code = "for i in range(5000): print(f'line {i:05d} ' + 'x' * 50)"
    count = 0

    def on_line(line: str) -> None:
        nonlocal count
        count += 1

    outcome = await run_command([PY, "-c", code], cwd=tmp_path, on_line=on_line, output_cap=10_000)
    assert count == 5000  # every line was streamed
    assert outcome.truncated
    assert sum(len(line) + 1 for line in outcome.lines) <= 10_000
    assert outcome.lines[-1].startswith("line 04999 ")


async def test_watch_text_is_noticed(tmp_path: Path):
    outcome = await run_command([PY, "-c", "print('== 3 passed ==')"], cwd=tmp_path, watch="3 passed")
    assert outcome.watch_seen
    outcome = await run_command([PY, "-c", "print('nothing')"], cwd=tmp_path, watch="3 passed")
    assert not outcome.watch_seen


async def test_timeout_stops_the_process_group(tmp_path: Path):
    pids_file = tmp_path / "pids"
    started = time.monotonic()
    outcome = await run_command([PY, "-c", TREE, str(pids_file)], cwd=tmp_path, timeout=1.5, kill_grace=2)
    assert outcome.timed_out and not outcome.cancelled
    assert outcome.exit_code is not None and outcome.exit_code < 0  # ended by a signal
    assert time.monotonic() - started < 10
    assert outcome.lines == ["started"]
    pids = [int(pid) for pid in pids_file.read_text().split()]
    assert [pid for pid in pids if alive(pid)] == []
    assert group_members(outcome.pid) == []


async def test_cancel_event_stops_the_group_and_sigkills_what_ignores_sigterm(tmp_path: Path):
    pids_file = tmp_path / "pids"
    cancel = asyncio.Event()
    running = asyncio.ensure_future(
        run_command([PY, "-c", STUBBORN, str(pids_file)], cwd=tmp_path, cancel=cancel, kill_grace=0.5)
    )
    pids = await wait_for_file(pids_file)
    assert all(alive(pid) for pid in pids)
    cancel.set()
    outcome = await asyncio.wait_for(running, 20)
    assert outcome.cancelled and not outcome.timed_out
    assert outcome.exit_code == -9  # SIGTERM was ignored; SIGKILL after the grace period
    assert [pid for pid in pids if alive(pid)] == []


async def test_cancelling_the_task_stops_the_group_then_propagates(tmp_path: Path):
    pids_file = tmp_path / "pids"
    running = asyncio.ensure_future(run_command([PY, "-c", TREE, str(pids_file)], cwd=tmp_path, kill_grace=2))
    pids = await wait_for_file(pids_file)
    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running
    assert [pid for pid in pids if alive(pid)] == []


async def test_a_background_process_holding_the_pipe_does_not_hang_the_run(tmp_path: Path):
    code = (
        "import subprocess, sys; "
        "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(30)']); print('parent done')"
    )
    started = time.monotonic()
    outcome = await run_command([PY, "-c", code], cwd=tmp_path)
    assert outcome.exit_code == 0
    assert outcome.lines == ["parent done"]
    assert time.monotonic() - started < 10


def test_collector_decodes_across_chunks_and_splits_long_lines():
    lines: list[str] = []
    collector = OutputCollector(lines.append)
    encoded = "héllo wörld\n".encode()
    for index in range(len(encoded)):  # one byte at a time: multi-byte characters split
        collector.feed(encoded[index : index + 1])
    collector.feed(b"\xff broken\npartial")
    collector.feed(b"y" * 70_000)
    collector.close()
    assert lines[0] == "héllo wörld"
    assert lines[1] == "\ufffd broken"
    assert lines[2] == "partial" + "y" * (65_536 - len("partial"))
    assert lines[3] == "y" * (70_000 + len("partial") - 65_536)


def test_a_failing_listener_does_not_stop_collection():
    calls = []

    def broken(line: str) -> None:
        calls.append(line)
        raise RuntimeError("listener bug")

    collector = OutputCollector(broken)
    collector.feed(b"a\nb\nc\n")
    assert calls == ["a"]
    assert collector.lines == ["a", "b", "c"]


def test_clean_line_drops_colours_and_carriage_return_redraws():
    assert clean_line("\x1b[31mFAILED\x1b[0m test_x\r") == "FAILED test_x"
    assert clean_line("progress 10%\rprogress 100%") == "progress 100%"
