"""The agent actions: what each one asks the model to do, and running one
from request to validated change.

Actions (``ACTIONS``):

* ``extractToService``: move a route handler's data access and business
  logic into the service layer (and a repository where the project has
  one); the handler keeps validation and response mapping. Targets the
  handler's SG101/SG102 finding when it has one.
* ``addRepositoryMethod``: move the data access of the selected function
  into a repository method (created in the project's repository module, or
  a new one), and call it.
* ``generateMigration``: write a migration for the model changes in the
  selected file with the project's migration tool (Alembic revision, Django
  migration…), reversible.
* ``fixFinding``: "Fix with agent" for any stackguard finding; the finding
  must be gone afterwards.

``ActionRunner`` builds the system prompt (``skills``), the tools
(``tools``), the validator (``proposal``) and the loop (``loop``), runs it,
and returns an ``ActionResult``. It never writes files.
"""

from __future__ import annotations

import ast
import asyncio
from collections.abc import Mapping
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from ..analysis.semantics import (
    SESSION_PARAM_NAMES,
    ImportMap,
    db_call_kind,
    session_names,
)
from ..rules import rule_by_code
from .client import AgentApiError, ModelClient, TokenUsage, redact
from .loop import AgentLoop, ProgressFn
from .proposal import Proposal, ProposalValidator, findings_for_text
from .skills import build_system_prompt
from .tools import ToolBox, ToolError

if TYPE_CHECKING:
    from ..analysis.project import ProjectAnalyzer
    from ..config import AgentSettings
    from ..rules import Finding

MAX_SELECTION_LINES = 400


@dataclass(frozen=True)
class ActionSpec:
    id: str
    title: str
    skill_file: str
    # Findings in the selected function that the action removes.
    target_codes: tuple[str, ...] = ()


ACTIONS: dict[str, ActionSpec] = {
    spec.id: spec
    for spec in (
        ActionSpec("extractToService", "Extract to service", "actions/extract-to-service.md", ("SG101", "SG102")),
        ActionSpec("addRepositoryMethod", "Add repository method", "actions/add-repository-method.md", ("SG101", "SG106")),
        ActionSpec("generateMigration", "Generate migration", "actions/generate-migration.md", ("SG601",)),
        ActionSpec("fixFinding", "Fix with agent", "actions/fix-finding.md"),
    )
}


@dataclass
class ActionRequest:
    action: str
    root: Path  # the project root the action works in
    relative: str  # the file the action was invoked on
    text: str  # that file's current text
    start_line: int | None = None  # 1-based selection, inclusive
    end_line: int | None = None
    finding: Finding | None = None
    description: str | None = None  # the developer's own words, when given


@dataclass
class ActionResult:
    action: str
    title: str
    status: Literal["proposed", "gave_up", "error"]
    reason: str | None = None
    proposal: Proposal | None = None
    target: Finding | None = None
    usage: TokenUsage = field(default_factory=TokenUsage)
    turns: int = 0
    repairs: int = 0

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "action": self.action,
            "status": self.status,
            "usage": self.usage.to_dict(),
            "turns": self.turns,
            "repairs": self.repairs,
        }
        if self.reason:
            out["reason"] = self.reason
        if self.proposal is not None:
            out["summary"] = self.proposal.summary
            out["files"] = [{"path": c.relative, "created": c.created} for c in self.proposal.changes]
        if self.target is not None:
            out["target"] = {"code": self.target.code, "line": self.target.line, "path": self.target.relative}
        return out


@dataclass(frozen=True)
class FunctionSpan:
    name: str
    start: int  # first line, decorators included
    end: int
    is_async: bool
    # The body calls the database directly (session, connection, cursor,
    # Django manager, active-record model): what a repository method takes over.
    touches_database: bool = False


def enclosing_function(text: str, line: int) -> FunctionSpan | None:
    """The innermost function containing ``line`` (1-based), or None."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    best: ast.FunctionDef | ast.AsyncFunctionDef | None = None
    best_start = 0
    for node in ast.walk(tree):
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        start = min([node.lineno, *(d.lineno for d in node.decorator_list)])
        end = node.end_lineno or node.lineno
        if start <= line <= end and (best is None or start >= best_start):
            best, best_start = node, start
    if best is None:
        return None
    return FunctionSpan(
        best.name,
        best_start,
        best.end_lineno or best.lineno,
        isinstance(best, ast.AsyncFunctionDef),
        _touches_database(best, tree),
    )


def _touches_database(function: ast.FunctionDef | ast.AsyncFunctionDef, tree: ast.Module) -> bool:
    try:
        imports = ImportMap.from_tree(tree, "")
        arguments = [*function.args.posonlyargs, *function.args.args, *function.args.kwonlyargs]
        # Parameters named like sessions count whatever their annotation
        # says (``session: SessionDep`` aliases are common).
        sessions = session_names(function, imports) | {a.arg for a in arguments if a.arg in SESSION_PARAM_NAMES}
        return any(
            isinstance(node, ast.Call) and db_call_kind(node, sessions, imports) is not None for node in ast.walk(function)
        )
    except (RecursionError, ValueError, AttributeError):
        return False


def _numbered(text: str, start: int, end: int) -> str:
    lines = text.splitlines()
    end = min(end, len(lines), start + MAX_SELECTION_LINES - 1)
    width = len(str(end))
    return "\n".join(f"{n:>{width}}\t{lines[n - 1]}" for n in range(max(start, 1), end + 1))


def _rule_section(finding: Finding) -> str:
    rule = rule_by_code(finding.code)
    if rule is None:
        return ""
    doc = rule.doc()
    wanted = [name for name in ("What it does", "Why is this bad?", "Use instead", "Fix") if name in doc.sections]
    body = "\n\n".join(f"## {name}\n{doc.sections[name].strip()}" for name in wanted)
    return f"stackguard's documentation of {finding.code} ({doc.name}):\n{body}" if body else ""


class ActionRunner:
    """One agent action from request to ``ActionResult``. ``usage`` and
    ``turns`` are readable while it runs and after a cancellation."""

    def __init__(
        self,
        request: ActionRequest,
        *,
        analyzer: ProjectAnalyzer | None,
        settings: AgentSettings,
        client: ModelClient,
        overlay: Mapping[str, str] | None = None,
        progress: ProgressFn | None = None,
    ) -> None:
        if request.action not in ACTIONS:
            raise ValueError(f"unknown agent action {request.action!r}; known: {', '.join(ACTIONS)}")
        self.request = request
        self.spec = ACTIONS[request.action]
        self.analyzer = analyzer
        self.settings = settings
        self.client = client
        self.overlay = {**(overlay or {}), request.relative: request.text}
        self.progress = progress or (lambda message, percentage: None)
        self.loop: AgentLoop | None = None
        self.target: Finding | None = None

    @property
    def usage(self) -> TokenUsage:
        return self.loop.usage if self.loop is not None else TokenUsage()

    @property
    def turns(self) -> int:
        return self.loop.turns if self.loop is not None else 0

    def _result(self, status: Literal["proposed", "gave_up", "error"], reason: str | None = None, **extra: Any) -> ActionResult:
        return ActionResult(
            self.request.action,
            self.spec.title,
            status,
            redact(reason) if reason else None,
            target=self.target,
            usage=self.usage,
            turns=self.turns,
            repairs=self.loop.repairs if self.loop is not None else 0,
            **extra,
        )

    async def run(self) -> ActionResult:
        request = self.request
        analyzer = self.analyzer
        self.progress("Reading the project's skills and conventions", 0)
        toolbox = ToolBox(
            request.root,
            index=analyzer.index if analyzer is not None else None,
            findings_for=self._findings_for if analyzer is not None else None,
            overlay=self.overlay,
        )
        self.target = await asyncio.to_thread(self._target)
        if request.action == "fixFinding" and self.target is None:
            return self._result("error", "Fix with agent needs the finding to fix (pass it as `finding`).")
        system = await asyncio.to_thread(
            build_system_prompt,
            self.spec.skill_file,
            root=request.root,
            profile=analyzer.profile if analyzer is not None else None,
            index=analyzer.index if analyzer is not None else None,
            focus=request.relative,
        )

        def current_text(relative: str) -> str | None:
            try:
                return toolbox.read_text(relative)
            except ToolError:
                return None

        validator = ProposalValidator(analyzer, target=self.target, current_text=current_text)
        self.loop = AgentLoop(
            self.client,
            toolbox,
            validator,
            system=system,
            max_turns=self.settings.max_turns,
            token_budget=self.settings.max_tokens,
            progress=self.progress,
        )
        try:
            outcome = await self.loop.run(self.instruction())
        except AgentApiError as exc:
            return self._result("error", exc.message)
        if outcome.status == "proposed":
            return self._result("proposed", None, proposal=outcome.proposal)
        return self._result("gave_up", outcome.reason)

    # -- analysis helpers ------------------------------------------------------------
    def _findings_for(self, relative: str, text: str) -> list[Finding] | None:
        analyzer = self.analyzer
        if analyzer is None:
            return None
        with getattr(analyzer, "_lock", None) or nullcontext():
            try:
                return findings_for_text(analyzer, analyzer.index, relative, text)
            except (RecursionError, MemoryError):
                return None

    def _selection(self) -> tuple[int, int] | None:
        request = self.request
        if request.start_line is None:
            if request.finding is not None:
                return request.finding.line, request.finding.end_line
            return None
        return request.start_line, request.end_line or request.start_line

    def _function(self) -> FunctionSpan | None:
        selection = self._selection()
        if selection is None:
            return None
        return enclosing_function(self.request.text, selection[0])

    def _target(self) -> Finding | None:
        """The finding the action must remove: the one given, else the
        action's kind of finding inside the selected function."""
        request = self.request
        if request.finding is not None:
            return request.finding
        if not self.spec.target_codes or not request.relative.endswith(".py"):
            return None
        findings = self._findings_for(request.relative, request.text) or []
        function = self._function()
        for finding in findings:
            if finding.code not in self.spec.target_codes:
                continue
            if function is None or function.start <= finding.line <= function.end:
                return finding
        return None

    # -- the task ----------------------------------------------------------------------
    def instruction(self) -> str:
        request = self.request
        spec = self.spec
        layer = None
        if self.analyzer is not None:
            layer = self.analyzer.index.layer_of(request.relative)
        lines = [f"# Task: {spec.title}", f"File: {request.relative}" + (f" (layer: {layer})" if layer else "")]
        function = self._function()
        selection = self._selection()
        if request.action == "extractToService":
            lines.append(
                "Move the data access and business logic of the route handler below into the service layer "
                "(and a repository, if this project uses repositories), following this project's conventions. "
                "The handler keeps only HTTP concerns: input validation, calling the service, mapping results and "
                "domain errors to responses."
            )
        elif request.action == "addRepositoryMethod":
            lines.append(
                "Move the data access in the code below into a repository method (in this project's repository "
                "module for the entity, or a new one following the project's conventions) and call that method "
                "instead. The repository does data access only: no commits, no HTTP errors."
            )
        elif request.action == "generateMigration":
            lines.append(
                "Write the migration that brings the database schema in line with the models in this file, with "
                "this project's migration tool and conventions. Make it reversible (a real downgrade)."
            )
        else:
            lines.append("Fix the stackguard finding below at its cause, the way this project would.")
        if function is not None:
            lines.append(f"\nThe function `{function.name}` (lines {function.start}-{function.end}):")
            lines.append(_numbered(request.text, function.start, function.end))
        elif selection is not None:
            start, end = selection
            lines.append(f"\nThe selected code (lines {start}-{end}):")
            lines.append(_numbered(request.text, start, end))
        else:
            lines.append(f"\nThe action applies to the whole file {request.relative}; read it first.")
        if self.target is not None:
            target = self.target
            lines.append(
                f"\nTarget finding (it must be gone when you finish): {target.code} {target.name} at "
                f"{target.relative}:{target.line}:{target.column + 1} ({target.severity}): {target.message}"
            )
            section = _rule_section(target)
            if section:
                lines.append(section)
        if request.description:
            lines.append(f"\nThe developer adds: {request.description.strip()}")
        lines.append("\nConstraints:")
        lines.append("- Keep the observable behaviour: routes, status codes, response bodies and error messages stay the same.")
        lines.append("- Follow the project's existing structure and naming; read the files you change before proposing edits.")
        lines.append("- You may create new files (give their whole content without old_text).")
        lines.append("- Never silence stackguard with ignore comments.")
        lines.append("Finish with one propose_edits call containing the complete change.")
        return "\n".join(lines)
