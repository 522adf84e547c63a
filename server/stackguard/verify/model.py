"""What a verification run returns: plain dataclasses, no I/O.

A ``StepResult`` per verify step (lint, typecheck, tests, ...) and the
``Finding`` list read from the tool's own report (ruff JSON, mypy lines,
pytest junit xml, tsc, eslint JSON, go vet, go test -json). Statuses mean:

- ``passed``: exit code 0, and ``pass_signal`` (when given) seen in the output;
- ``failed``: a non-zero exit code, or exit 0 without the ``pass_signal``;
- ``skipped``: the ``skip_if_missing`` binary is absent (the message says so);
- ``timeout``: stopped after the step's timeout (its process group killed);
- ``cancelled``: the user cancelled (its process group killed), or the run
  was cancelled before the step started;
- ``error``: the command could not be started (missing binary, bad argv).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

StepStatus = Literal["passed", "failed", "skipped", "timeout", "cancelled", "error"]
FindingSeverity = Literal["error", "warning", "info"]

# Statuses that make a verification (and ``stackguard verify``) fail.
FAILING_STATUSES: frozenset[str] = frozenset({"failed", "timeout", "error"})


@dataclass(frozen=True)
class Finding:
    """One problem a tool reported. ``path`` is absolute ("" for findings
    not tied to a file, such as a tsc option error); positions are 1-based,
    0 when the tool did not say (column 0: the whole line)."""

    path: str
    line: int
    message: str
    tool: str
    column: int = 0
    end_line: int = 0
    end_column: int = 0
    severity: FindingSeverity = "error"
    code: str | None = None
    url: str | None = None

    def location(self) -> str:
        if not self.path:
            return ""
        if self.line <= 0:
            return self.path
        return f"{self.path}:{self.line}:{self.column}" if self.column else f"{self.path}:{self.line}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class StepResult:
    """``command`` is the step's command line as written (stack.yaml or
    detection); ``argv`` what was actually started after environment
    resolution and report flags (empty when nothing was started).
    ``message`` explains skips, errors, timeouts and pass_signal failures."""

    name: str
    command: str
    status: StepStatus
    root: str = ""
    argv: list[str] = field(default_factory=list)
    exit_code: int | None = None
    duration_s: float = 0.0
    findings: list[Finding] = field(default_factory=list)
    output_tail: str = ""
    message: str = ""
    # True when more output was produced than kept in memory.
    output_truncated: bool = False

    @property
    def failing(self) -> bool:
        return self.status in FAILING_STATUSES

    def summary(self) -> str:
        """``tests failed (exit 1, 2 findings)`` style, for status lines."""
        details = []
        if self.status == "failed" and self.exit_code is not None:
            details.append(f"exit {self.exit_code}")
        if self.findings:
            details.append(f"{len(self.findings)} finding{'s' if len(self.findings) != 1 else ''}")
        if self.status in ("timeout", "cancelled", "skipped", "error") and self.message:
            details.append(self.message)
        return f"{self.name} {self.status}" + (f" ({', '.join(details)})" if details else "")

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "command": self.command,
            "status": self.status,
            "root": self.root,
            "argv": list(self.argv),
            "exit_code": self.exit_code,
            "duration_s": round(self.duration_s, 3),
            "findings": [finding.to_dict() for finding in self.findings],
            "output_tail": self.output_tail,
            "output_truncated": self.output_truncated,
            "message": self.message,
        }


@dataclass
class VerifyResult:
    """Every step run for one request, in order (several project roots may
    contribute; each step names its ``root``)."""

    steps: list[StepResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not any(step.failing for step in self.steps)

    @property
    def cancelled(self) -> bool:
        return any(step.status == "cancelled" for step in self.steps)

    def summary(self) -> str:
        if not self.steps:
            return "no verify steps"
        return ", ".join(step.summary() for step in self.steps)

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "steps": [step.to_dict() for step in self.steps]}
