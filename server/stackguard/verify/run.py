"""Running verify steps: choose them, find their programs, run them, read
their findings, decide their status.

The status rule is the whole point (the backend skill's runner passed a
pytest run whose summary said "1 failed, 3 passed"): a step passes when its
exit code is 0 and, if it has a ``pass_signal``, that text also appeared in
its output. Nothing else makes a step pass.
"""

from __future__ import annotations

import asyncio
import os
import shlex
import shutil
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .environment import ProjectEnvironment, project_environment
from .model import StepResult, VerifyResult
from .parsers import command_tool, plan_report
from .runner import KILL_GRACE_S, run_command

DEFAULT_STEP_TIMEOUT_S = 600
# What ``verify.onSave`` runs when ``verify.steps`` is empty: quick checks.
ON_SAVE_DEFAULT_STEPS = ("lint", "typecheck")
# stack.yaml ``verify`` keys that are not commands.
NOT_COMMANDS = frozenset({"raw_sql", "detect"})
# The ``output_tail`` kept in a result (the runner keeps more for parsing).
OUTPUT_TAIL_CHARS = 20_000

if TYPE_CHECKING:
    # Not at run time: importing stackguard.stack loads detection (yaml,
    # jsonschema), which ``stackguard --help`` should not pay for.
    from stackguard.stack.model import StackProfile, VerifyStep

PYTHON_TEST_FILE_SUFFIXES = (".py",)
JS_TEST_SUFFIXES = (".js", ".cjs", ".mjs", ".jsx", ".ts", ".cts", ".mts", ".tsx")


@dataclass(frozen=True)
class PlannedStep:
    """One step of one project root. ``relative_root`` names the root in
    results ("." for the workspace folder itself)."""

    root: Path
    relative_root: str
    step: VerifyStep


class VerifyListener:
    """What a run tells its caller as it goes; every method is optional."""

    def step_started(self, planned: PlannedStep, index: int, total: int) -> None: ...

    def output(self, planned: PlannedStep, line: str) -> None: ...

    def step_finished(self, planned: PlannedStep, result: StepResult) -> None: ...


def select_steps(
    profiles: Iterable[StackProfile], names: Sequence[str] | None = None
) -> tuple[list[PlannedStep], list[str]]:
    """The steps of every root, in profile order, restricted to ``names``
    when given; also the names asked for that no root has."""
    wanted = list(dict.fromkeys(names)) if names else None
    planned: list[PlannedStep] = []
    seen_names: set[str] = set()
    for profile in profiles:
        for step in profile.verify:
            if step.name in NOT_COMMANDS:
                continue
            seen_names.add(step.name)
            if wanted is None or step.name in wanted:
                planned.append(PlannedStep(Path(profile.root), profile.relative_root or ".", step))
    if wanted is not None:
        order = {name: index for index, name in enumerate(wanted)}
        planned.sort(key=lambda p: order[p.step.name])
    unknown = [name for name in (wanted or []) if name not in seen_names]
    return planned, unknown


def step_timeout(step: VerifyStep, default_timeout: int | None) -> float | None:
    """Seconds, or None for no limit: the step's own timeout (stack.yaml),
    else the default (``verify.timeoutSeconds``; 0 means no limit)."""
    if step.timeout is not None and step.timeout > 0:
        return float(step.timeout)
    if default_timeout is None:
        return float(DEFAULT_STEP_TIMEOUT_S)
    return float(default_timeout) if default_timeout > 0 else None


async def run_step(
    planned: PlannedStep,
    environment: ProjectEnvironment,
    *,
    default_timeout: int | None = DEFAULT_STEP_TIMEOUT_S,
    listener: VerifyListener | None = None,
    cancel: asyncio.Event | None = None,
    kill_grace: float = KILL_GRACE_S,
) -> StepResult:
    step = planned.step
    listener = listener or VerifyListener()
    result = StepResult(name=step.name, command=step.cmd, status="error", root=planned.relative_root)
    if cancel is not None and cancel.is_set():
        result.status = "cancelled"
        result.message = "not started: verification was cancelled"
        return result
    if not step.argv:
        result.message = "empty command"
        return result
    if step.skip_if_missing:
        needed = await environment.resolve_program(step.skip_if_missing)
        if not needed.found:
            result.status = "skipped"
            result.message = f"skipped: {step.skip_if_missing} is not installed (looked in {environment.describe()})"
            return result
    resolved = await environment.resolve(step.argv)
    if resolved.argv is None:
        result.message = (
            f"{resolved.program} not found (looked in {environment.describe()}); install it, or add "
            f"skip_if_missing: {resolved.program} to the step in stack.yaml to skip the step when it is absent"
        )
        return result

    report_dir = Path(tempfile.mkdtemp(prefix="stackguard-verify-"))
    try:
        plan = plan_report(resolved.argv, report_dir, step.name, root=planned.root)
        result.argv = list(plan.argv)

        def forward(line: str) -> None:
            listener.output(planned, line)

        outcome = await run_command(
            plan.argv,
            cwd=planned.root,
            env=environment.env(),
            timeout=step_timeout(step, default_timeout),
            on_line=forward,
            cancel=cancel,
            watch=step.pass_signal,
            kill_grace=kill_grace,
        )
        result.exit_code = outcome.exit_code
        result.duration_s = outcome.duration_s
        result.output_truncated = outcome.truncated
        output = outcome.output
        result.output_tail = output[-OUTPUT_TAIL_CHARS:]
        if outcome.error is not None:
            result.status = "error"
            result.message = outcome.error
        elif outcome.cancelled:
            result.status = "cancelled"
            result.message = f"cancelled after {outcome.duration_s:.1f}s; its processes were stopped"
        elif outcome.timed_out:
            limit = step_timeout(step, default_timeout) or 0
            result.status = "timeout"
            result.message = f"stopped after the {limit:g}s timeout; its processes were stopped"
        else:
            signal_seen = outcome.watch_seen or (step.pass_signal is not None and step.pass_signal in output)
            if outcome.exit_code == 0 and (step.pass_signal is None or signal_seen):
                result.status = "passed"
            else:
                result.status = "failed"
                if outcome.exit_code == 0:
                    result.message = f"exit code 0, but the pass_signal {step.pass_signal!r} is not in the output"
                else:
                    result.message = f"exit code {outcome.exit_code}"
            result.findings = plan.read(planned.root, outcome.lines, complete_output=not outcome.truncated)
            if plan.report_path is not None:
                # The tool wrote its results to the report file, not the
                # output: show them as the lines a person would read.
                for finding in result.findings:
                    where = os.path.relpath(finding.path, planned.root) if finding.path else ""
                    position = f"{where}:{finding.line}:{finding.column}" if finding.line else where
                    forward(f"{position}: {finding.code + ' ' if finding.code else ''}{finding.message}")
    finally:
        shutil.rmtree(report_dir, ignore_errors=True)
    return result


async def run_verify(
    steps: Sequence[PlannedStep],
    *,
    interpreter: Sequence[str] = (),
    folder: str | Path | None = None,
    default_timeout: int | None = DEFAULT_STEP_TIMEOUT_S,
    listener: VerifyListener | None = None,
    cancel: asyncio.Event | None = None,
    base_env: Mapping[str, str] | None = None,
    kill_grace: float = KILL_GRACE_S,
) -> VerifyResult:
    """Run ``steps`` one after another. A timeout or failure does not stop
    the others; a cancellation does (the rest are reported cancelled)."""
    listener = listener or VerifyListener()
    environments: dict[Path, ProjectEnvironment] = {}
    result = VerifyResult()
    for index, planned in enumerate(steps):
        environment = environments.get(planned.root)
        if environment is None:
            environment = project_environment(planned.root, interpreter, folder=folder, base_env=base_env)
            environments[planned.root] = environment
        listener.step_started(planned, index, len(steps))
        step_result = await run_step(
            planned,
            environment,
            default_timeout=default_timeout,
            listener=listener,
            cancel=cancel,
            kill_grace=kill_grace,
        )
        result.steps.append(step_result)
        listener.step_finished(planned, step_result)
    return result


# -- the tests of one file ---------------------------------------------------------------


def is_test_file(path: str | Path) -> bool:
    """Test files by the conventions of pytest, node:test/jest/vitest and go."""
    name = Path(path).name
    if name.endswith(".py"):
        return name.startswith("test_") or name.endswith("_test.py")
    if name.endswith("_test.go"):
        return True
    if name.endswith(JS_TEST_SUFFIXES) and ".d." not in name:
        stem = name.rsplit(".", 1)[0]
        if stem.endswith((".test", ".spec", "-test", "_test")) or stem.startswith("test-"):
            return True
        return any(part in ("__tests__",) for part in Path(path).parts)
    return False


def file_test_step(profile: StackProfile, path: str | Path) -> VerifyStep | None:
    """A ``tests`` step that runs only the tests of ``path`` with the
    project's runner (its ``tests`` step when that names pytest, vitest or
    jest), or None for a file no known runner takes."""
    from stackguard.stack.model import VerifyStep

    file_path = Path(path)
    relative = _relative(file_path, Path(profile.root))
    tests = next((step for step in profile.verify if step.name == "tests"), None)
    tool, index = command_tool(tests.argv) if tests is not None else (None, -1)
    runners = set(profile.names("test_runners"))
    if file_path.suffix == ".py":
        if tests is not None and tool == "pytest":
            argv = [*tests.argv, relative]
        elif "pytest" in runners or "unittest" not in runners:
            argv = ["pytest", "-q", relative]
        else:
            argv = ["python", "-m", "unittest", relative]
    elif file_path.suffix in JS_TEST_SUFFIXES:
        if tests is not None and tool in ("vitest", "jest", "mocha"):
            prefix = list(tests.argv[: index + 1])
            argv = [*prefix, "run", relative] if tool == "vitest" else [*prefix, relative]
        elif "vitest" in runners:
            argv = ["npx", "vitest", "run", relative]
        elif "jest" in runners:
            argv = ["npx", "jest", relative]
        elif "mocha" in runners:
            argv = ["npx", "mocha", relative]
        else:
            argv = ["node", "--test", relative]
    elif file_path.suffix == ".go":
        package = os.path.dirname(relative) or "."
        argv = ["go", "test", "./" + package if not package.startswith(".") else package]
    else:
        return None
    return VerifyStep(
        name="tests",
        cmd=shlex.join(argv),
        argv=tuple(argv),
        timeout=tests.timeout if tests is not None else None,
    )


def _relative(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        try:
            return path.resolve().relative_to(root.resolve()).as_posix()
        except (ValueError, OSError):
            return str(path)
