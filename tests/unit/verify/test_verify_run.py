"""Step status rules, step selection, timeouts and the tests of one file."""

from __future__ import annotations

import asyncio
import shlex
import sys
from pathlib import Path

import pytest
from stackguard.stack import StackProfile, VerifyStep, detect_root
from stackguard.stack.model import Fact
from stackguard.verify import (
    PlannedStep,
    VerifyListener,
    file_test_step,
    is_test_file,
    project_environment,
    run_step,
    run_verify,
    select_steps,
    step_timeout,
)

PY = shlex.quote(sys.executable)


def planned(root: Path, cmd: str, name: str = "tests", **options) -> PlannedStep:
    return PlannedStep(root, ".", VerifyStep.from_cmd(name, cmd, **options))


async def run(root: Path, cmd: str, **options):
    return await run_step(planned(root, cmd, **options), project_environment(root, [sys.executable]))


# -- pass / fail -----------------------------------------------------------------------------


async def test_exit_code_decides_even_when_the_output_says_passed(tmp_path: Path):
    result = await run(tmp_path, f"{PY} -c \"print('3 passed'); raise SystemExit(1)\"")
    assert (result.status, result.exit_code, result.message) == ("failed", 1, "exit code 1")
    assert result.output_tail == "3 passed"
    assert result.failing


async def test_exit_zero_passes(tmp_path: Path):
    result = await run(tmp_path, f"{PY} -c \"print('FAILED everything, error error')\"")
    assert (result.status, result.exit_code, result.message) == ("passed", 0, "")


async def test_pass_signal_must_also_appear(tmp_path: Path):
    missing = await run(tmp_path, f"{PY} -c \"print('done')\"", pass_signal="All good")
    assert (missing.status, missing.exit_code) == ("failed", 0)
    assert missing.message == "exit code 0, but the pass_signal 'All good' is not in the output"
    present = await run(tmp_path, f"{PY} -c \"print('== All good ==')\"", pass_signal="All good")
    assert present.status == "passed"
    signal_but_failing = await run(tmp_path, f"{PY} -c \"print('All good'); raise SystemExit(2)\"", pass_signal="All good")
    assert signal_but_failing.status == "failed"


async def test_skip_if_missing_skips_and_says_so(tmp_path: Path):
    result = await run(tmp_path, "stackguard-absent-tool run", skip_if_missing="stackguard-absent-tool")
    assert result.status == "skipped"
    assert result.message.startswith("skipped: stackguard-absent-tool is not installed (looked in ")
    assert not result.failing
    # The named binary decides, not the command word.
    present = await run(tmp_path, f"{PY} -c pass", skip_if_missing="python")
    assert present.status == "passed"


async def test_missing_program_without_skip_is_an_error(tmp_path: Path):
    result = await run(tmp_path, "stackguard-absent-tool run")
    assert (result.status, result.exit_code, result.argv) == ("error", None, [])
    assert result.message.startswith("stackguard-absent-tool not found (looked in ")
    assert "skip_if_missing: stackguard-absent-tool" in result.message
    assert result.failing


async def test_timeout_from_the_step(tmp_path: Path):
    result = await run(tmp_path, f"{PY} -c \"import time; print('working', flush=True); time.sleep(60)\"", timeout=1)
    assert result.status == "timeout"
    assert result.message == "stopped after the 1s timeout; its processes were stopped"
    assert result.output_tail == "working"
    assert 1 <= result.duration_s < 10


def test_step_timeout_precedence():
    assert step_timeout(VerifyStep.from_cmd("tests", "x", timeout=30), 600) == 30
    assert step_timeout(VerifyStep.from_cmd("tests", "x"), 120) == 120
    assert step_timeout(VerifyStep.from_cmd("tests", "x"), None) == 600
    assert step_timeout(VerifyStep.from_cmd("tests", "x"), 0) is None


async def test_findings_are_read_from_the_tools_report(tmp_path: Path):
    (tmp_path / "app.py").write_text("import os\n")
    (tmp_path / "pyproject.toml").write_text("[tool.ruff]\n")
    lines: list[str] = []

    class Listener(VerifyListener):
        def output(self, planned_step: PlannedStep, line: str) -> None:
            lines.append(line)

    step = planned(tmp_path, "ruff check .", name="lint")
    result = await run_step(step, project_environment(tmp_path, [sys.executable]), listener=Listener())
    assert result.status == "failed"
    [finding] = result.findings
    assert (finding.path, finding.line, finding.column, finding.code, finding.tool) == (
        str(tmp_path / "app.py"),
        1,
        8,
        "F401",
        "ruff",
    )
    assert result.argv[-5:] == ["--output-format", "json", "--output-file", result.argv[-2], "."]
    assert not Path(result.argv[-2]).exists()  # the report's temporary folder is gone
    # ruff wrote JSON to a file; the output shows the findings as text lines.
    assert "app.py:1:8: F401 `os` imported but unused" in lines


# -- runs of several steps -----------------------------------------------------------------------


async def test_a_run_continues_after_failures_and_stops_after_a_cancellation(tmp_path: Path):
    cancel = asyncio.Event()
    events: list[tuple[str, str]] = []

    class Listener(VerifyListener):
        def step_started(self, step: PlannedStep, index: int, total: int) -> None:
            events.append(("start", f"{step.step.name} {index + 1}/{total}"))

        def output(self, step: PlannedStep, line: str) -> None:
            if line == "ready":
                cancel.set()

        def step_finished(self, step: PlannedStep, result) -> None:
            events.append(("end", f"{step.step.name} {result.status}"))

    steps = [
        planned(tmp_path, f"{PY} -c \"raise SystemExit(1)\"", name="lint"),
        planned(tmp_path, f"{PY} -c \"import time; print('ready', flush=True); time.sleep(60)\"", name="tests"),
        planned(tmp_path, f"{PY} -c pass", name="migrations"),
    ]
    result = await run_verify(steps, interpreter=[sys.executable], listener=Listener(), cancel=cancel, kill_grace=1)
    assert [(s.name, s.status) for s in result.steps] == [
        ("lint", "failed"),
        ("tests", "cancelled"),
        ("migrations", "cancelled"),
    ]
    assert result.steps[2].message == "not started: verification was cancelled"
    assert events == [
        ("start", "lint 1/3"),
        ("end", "lint failed"),
        ("start", "tests 2/3"),
        ("end", "tests cancelled"),
        ("start", "migrations 3/3"),
        ("end", "migrations cancelled"),
    ]
    assert not result.ok and result.cancelled


def test_select_steps_keeps_order_and_reports_unknown_names(tmp_path: Path):
    profile = StackProfile(root=str(tmp_path))
    profile.verify = [VerifyStep.from_cmd(name, f"{name}-tool") for name in ("syntax", "lint", "typecheck", "tests")]
    nested = StackProfile(root=str(tmp_path / "api"), relative_root="api")
    nested.verify = [VerifyStep.from_cmd("tests", "go test ./...")]

    everything, unknown = select_steps([profile, nested])
    assert [(p.relative_root, p.step.name) for p in everything] == [
        (".", "syntax"),
        (".", "lint"),
        (".", "typecheck"),
        (".", "tests"),
        ("api", "tests"),
    ]
    assert unknown == []
    chosen, unknown = select_steps([profile, nested], ["tests", "lint", "deploy"])
    assert [(p.relative_root, p.step.name) for p in chosen] == [(".", "tests"), ("api", "tests"), (".", "lint")]
    assert unknown == ["deploy"]


def test_raw_sql_is_not_a_step(tmp_path: Path):
    (tmp_path / "stack").mkdir()
    (tmp_path / "stack" / "stack.yaml").write_text(
        "language: python\n"
        "verify:\n"
        "  tests: { cmd: \"pytest -q\" }\n"
        "  raw_sql:\n"
        "    patterns: ['f\"SELECT ']\n"
    )
    profile = detect_root(tmp_path)
    steps, unknown = select_steps([profile])
    assert [p.step.name for p in steps] == ["tests"] and unknown == []
    assert select_steps([profile], ["raw_sql"]) == ([], ["raw_sql"])
    assert profile.raw_sql["patterns"] == ['f"SELECT ']


# -- the tests of one file ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("tests/test_api.py", True),
        ("app/api_test.py", True),
        ("app/api.py", False),
        ("src/sum.test.ts", True),
        ("src/sum.spec.js", True),
        ("src/__tests__/sum.js", True),
        ("src/sum.js", False),
        ("types/sum.test.d.ts", False),
        ("orders/total_test.go", True),
        ("orders/total.go", False),
    ],
)
def test_is_test_file(path: str, expected: bool):
    assert is_test_file(path) is expected


def test_file_test_step_uses_the_projects_runner(tmp_path: Path):
    python = StackProfile(root=str(tmp_path))
    python.verify = [VerifyStep.from_cmd("tests", "uv run pytest -q", timeout=90)]
    step = file_test_step(python, tmp_path / "tests" / "test_api.py")
    assert step is not None
    assert step.argv == ("uv", "run", "pytest", "-q", "tests/test_api.py")
    assert (step.name, step.cmd, step.timeout) == ("tests", "uv run pytest -q tests/test_api.py", 90)

    bare = StackProfile(root=str(tmp_path))
    assert file_test_step(bare, tmp_path / "test_x.py").argv == ("pytest", "-q", "test_x.py")
    unittest_profile = StackProfile(root=str(tmp_path))
    unittest_profile.test_runners = [Fact("unittest")]
    assert file_test_step(unittest_profile, tmp_path / "tests/test_x.py").argv == (
        "python",
        "-m",
        "unittest",
        "tests/test_x.py",
    )

    vitest = StackProfile(root=str(tmp_path))
    vitest.verify = [VerifyStep.from_cmd("tests", "npx vitest")]
    assert file_test_step(vitest, tmp_path / "src/a.test.ts").argv == ("npx", "vitest", "run", "src/a.test.ts")
    jest = StackProfile(root=str(tmp_path))
    jest.test_runners = [Fact("jest")]
    assert file_test_step(jest, tmp_path / "src/a.test.js").argv == ("npx", "jest", "src/a.test.js")
    node = StackProfile(root=str(tmp_path))
    assert file_test_step(node, tmp_path / "test/sum.test.js").argv == ("node", "--test", "test/sum.test.js")
    go = StackProfile(root=str(tmp_path))
    assert file_test_step(go, tmp_path / "orders/total_test.go").argv == ("go", "test", "./orders")
    assert file_test_step(go, tmp_path / "README.md") is None
