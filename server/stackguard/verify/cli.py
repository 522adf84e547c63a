"""``stackguard verify [PATH] [--step NAME ...] [--format text|json]``.

Runs the verify steps of every project root in PATH (stack.yaml's, else the
detected ones) and prints what each step found. Progress (and, with
``--verbose``, the tools' own output) goes to stderr, the report to stdout.
Exit code 1 when a step failed, timed out or could not run; 2 for a bad
PATH or an unknown step name. Only the standard library is imported until
the handler runs, so ``stackguard --help`` stays fast.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from stackguard.config import Settings

    from .model import StepResult, VerifyResult
    from .run import PlannedStep

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
# Lines of output shown for a failed step that produced no findings.
TAIL_LINES = 20


def add_verify_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "verify",
        help="run the project's lint, typecheck, test and migration checks",
        description=(
            "Run the verify steps of every project root in PATH: stack.yaml's `verify` commands, else the "
            "detected ones (ruff, mypy, pytest, tsc, eslint, npm test, go vet, go test...). Commands run "
            "as argv in the project root, never through a shell. Exit code 1 when a step failed."
        ),
    )
    parser.add_argument("path", nargs="?", default=".", metavar="PATH", help="workspace folder (default: .)")
    parser.add_argument(
        "--step",
        dest="steps",
        action="append",
        metavar="NAME",
        help="run only this step (lint, typecheck, tests, ...); repeat for several",
    )
    parser.add_argument("--format", choices=["text", "json"], default="text", help="report format (default: text)")
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="also print the tools' output on stderr as it comes"
    )
    parser.set_defaults(handler=run_verify_command)


def project_settings(folder: Path, profiles: list[Any]) -> Settings:
    """Settings from the project's own files (pyproject ``[tool.stackguard]``
    and stack.yaml ``stackguard:``); problems are printed, not fatal."""
    from stackguard.config import read_pyproject_settings, resolve_settings

    layers: list[tuple[str, Any]] = []
    pyproject = folder / "pyproject.toml"
    if pyproject.is_file():
        section, problem = read_pyproject_settings(pyproject)
        if problem is not None:
            print(f"stackguard verify: {problem}", file=sys.stderr)
        layers.append(("pyproject.toml", section))
    root = next((p for p in profiles if p.relative_root in (".", "")), None)
    if root is not None and root.stack_settings:
        layers.append(("stack.yaml", root.stack_settings))
    resolved = resolve_settings(layers)
    for problem in resolved.problems:
        print(f"stackguard verify: settings: {problem}", file=sys.stderr)
    return resolved.settings


def run_verify_command(args: argparse.Namespace) -> int:
    import asyncio

    from stackguard.stack import detect_workspace

    from .run import VerifyListener, run_verify, select_steps

    folder = Path(args.path)
    if not folder.is_dir():
        reason = "does not exist" if not folder.exists() else "is not a directory"
        print(f"stackguard verify: {args.path}: {reason}", file=sys.stderr)
        return EXIT_USAGE
    folder = folder.resolve()
    profiles = detect_workspace(folder)
    settings = project_settings(folder, profiles)
    planned, unknown = select_steps(profiles, args.steps)
    if unknown:
        available = sorted({p.step.name for p in select_steps(profiles)[0]})
        print(
            f"stackguard verify: no step named {', '.join(unknown)} "
            f"(available: {', '.join(available) or 'none'})",
            file=sys.stderr,
        )
        return EXIT_USAGE
    if not planned:
        print(f"stackguard verify: no verify steps found in {folder}", file=sys.stderr)

    class Progress(VerifyListener):
        def step_started(self, step: PlannedStep, index: int, total: int) -> None:
            where = "" if step.relative_root in (".", "") else f" [{step.relative_root}]"
            print(f"[{index + 1}/{total}] {step.step.name}{where}: {step.step.cmd}", file=sys.stderr, flush=True)

        def output(self, step: PlannedStep, line: str) -> None:
            if args.verbose:
                print(f"  {line}", file=sys.stderr, flush=True)

        def step_finished(self, step: PlannedStep, result: StepResult) -> None:
            print(f"      {result.summary()} in {result.duration_s:.1f}s", file=sys.stderr, flush=True)

    result = asyncio.run(
        run_verify(
            planned,
            interpreter=settings.interpreter,
            folder=folder,
            default_timeout=settings.verify.timeout_seconds,
            listener=Progress(),
        )
    )
    if args.format == "json":
        payload = {"folder": str(folder), **result.to_dict()}
        print(json.dumps(payload, indent=2))
    else:
        write_text_report(result, folder, sys.stdout)
    return EXIT_OK if result.ok else EXIT_FAILED


def _shown(path: str, folder: Path) -> str:
    if not path:
        return ""
    try:
        relative = os.path.relpath(path, folder)
    except ValueError:
        return path
    return path if relative.startswith("..") else relative


def write_text_report(result: VerifyResult, folder: Path, out: TextIO) -> None:
    width = max((len(step.name) for step in result.steps), default=0)
    counts: dict[str, int] = {}
    for step in result.steps:
        counts[step.status] = counts.get(step.status, 0) + 1
        where = "" if step.root in (".", "") else f"  [{step.root}]"
        out.write(f"{step.name.ljust(width)}  {step.status:<9} {step.duration_s:6.1f}s  {step.command}{where}\n")
        if step.message and step.status != "passed":
            out.write(f"  {step.message}\n")
        for finding in step.findings:
            location = _shown(finding.path, folder)
            if finding.line:
                location += f":{finding.line}" + (f":{finding.column}" if finding.column else "")
            code = f"  [{finding.code}]" if finding.code else ""
            prefix = f"{location}: " if location else ""
            message = finding.message.replace("\n", "\n      ")
            out.write(f"  {prefix}{finding.severity}: {message}{code}\n")
        if step.status in ("failed", "error", "timeout") and not step.findings and step.output_tail:
            out.writelines(f"  | {line}\n" for line in step.output_tail.splitlines()[-TAIL_LINES:])
    order = ("passed", "failed", "timeout", "error", "cancelled", "skipped")
    summary = ", ".join(f"{counts[status]} {status}" for status in order if counts.get(status))
    out.write(f"{summary or 'no steps run'}\n")
