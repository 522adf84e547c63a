"""Verification: the project's own checks (lint, typecheck, tests,
migrations...) run as commands, with their results read as findings.

Public API (no pygls here; the language server and the CLI build on it):

- ``select_steps(profiles, names=None) -> (planned steps, unknown names)``
- ``run_verify(planned, interpreter=..., default_timeout=..., listener=...,
  cancel=...) -> VerifyResult`` and ``run_step(...) -> StepResult``
- ``VerifyListener``: ``step_started`` / ``output`` / ``step_finished`` hooks
- ``file_test_step(profile, path)`` / ``is_test_file(path)``: the tests of one file
- ``project_environment(root, interpreter)``: where a step's programs come from
- ``run_command(argv, cwd=..., timeout=..., cancel=...)``: the process runner
- ``plan_report`` and the ``parse_*`` functions: tools' results as findings
- ``VerifyResult``, ``StepResult``, ``Finding`` (plain dataclasses)

Names are loaded on first use: ``stackguard.verify.cli`` is imported by
``stackguard --help``, which should not pay for asyncio.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_MODULE_OF = {
    "ProjectEnvironment": "environment",
    "Resolution": "environment",
    "project_environment": "environment",
    "FAILING_STATUSES": "model",
    "Finding": "model",
    "StepResult": "model",
    "StepStatus": "model",
    "VerifyResult": "model",
    "CommandPlan": "parsers",
    "command_tool": "parsers",
    "parse_eslint_json": "parsers",
    "parse_go_test_json": "parsers",
    "parse_go_vet": "parsers",
    "parse_junit_xml": "parsers",
    "parse_mypy": "parsers",
    "parse_ruff_json": "parsers",
    "parse_ruff_text": "parsers",
    "parse_tap": "parsers",
    "parse_tsc": "parsers",
    "plan_report": "parsers",
    "DEFAULT_STEP_TIMEOUT_S": "run",
    "ON_SAVE_DEFAULT_STEPS": "run",
    "PlannedStep": "run",
    "VerifyListener": "run",
    "file_test_step": "run",
    "is_test_file": "run",
    "run_step": "run",
    "run_verify": "run",
    "select_steps": "run",
    "step_timeout": "run",
    "CommandOutcome": "runner",
    "run_command": "runner",
}

__all__ = [
    "DEFAULT_STEP_TIMEOUT_S",
    "FAILING_STATUSES",
    "ON_SAVE_DEFAULT_STEPS",
    "CommandOutcome",
    "CommandPlan",
    "Finding",
    "PlannedStep",
    "ProjectEnvironment",
    "Resolution",
    "StepResult",
    "StepStatus",
    "VerifyListener",
    "VerifyResult",
    "command_tool",
    "file_test_step",
    "is_test_file",
    "parse_eslint_json",
    "parse_go_test_json",
    "parse_go_vet",
    "parse_junit_xml",
    "parse_mypy",
    "parse_ruff_json",
    "parse_ruff_text",
    "parse_tap",
    "parse_tsc",
    "plan_report",
    "project_environment",
    "run_command",
    "run_step",
    "run_verify",
    "select_steps",
    "step_timeout",
]

if TYPE_CHECKING:
    from .environment import ProjectEnvironment, Resolution, project_environment
    from .model import FAILING_STATUSES, Finding, StepResult, StepStatus, VerifyResult
    from .parsers import (
        CommandPlan,
        command_tool,
        parse_eslint_json,
        parse_go_test_json,
        parse_go_vet,
        parse_junit_xml,
        parse_mypy,
        parse_ruff_json,
        parse_ruff_text,
        parse_tap,
        parse_tsc,
        plan_report,
    )
    from .run import (
        DEFAULT_STEP_TIMEOUT_S,
        ON_SAVE_DEFAULT_STEPS,
        PlannedStep,
        VerifyListener,
        file_test_step,
        is_test_file,
        run_step,
        run_verify,
        select_steps,
        step_timeout,
    )
    from .runner import CommandOutcome, run_command


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value
