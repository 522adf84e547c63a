"""``propose_edits``: from the model's input to checked file changes.

``parse_proposal`` turns the tool input into whole-file changes (each edit
either replaces one unique ``old_text`` or gives a file's whole new content)
and reports every mistake at once, so one repair turn can fix them all.

``ProposalValidator`` decides whether the user gets to see the change:

1. every touched Python file parses with this interpreter;
2. the finding the action targets is gone from its file, and not by a new
   ``# stackguard: ignore`` comment;
3. no touched file has an error-level finding it did not have before.

Findings after the change are computed on a scratch copy of the workspace
index that holds the proposed files, so cross-file rules see the new service
module and the rewritten router together, and the live index is untouched.
"""

from __future__ import annotations

import ast
from collections import Counter
from collections.abc import Callable, Iterable
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..analysis.engine import is_excluded
from ..analysis.index import WorkspaceIndex
from ..analysis.source import parse_source
from .tools import ToolBox, ToolError

if TYPE_CHECKING:
    from ..analysis.project import ProjectAnalyzer
    from ..rules import Finding

MAX_EDITS = 60
MAX_FILES = 25
MAX_NEW_TEXT_CHARS = 600_000
PYTHON_SUFFIXES = (".py", ".pyi")
SUPPRESSION_MARK = "stackguard: ignore"


@dataclass(frozen=True)
class FileChange:
    relative: str
    path: Path  # absolute
    before: str | None  # None: the file is created
    after: str

    @property
    def created(self) -> bool:
        return self.before is None


@dataclass(frozen=True)
class Proposal:
    changes: tuple[FileChange, ...]
    summary: str

    @property
    def relatives(self) -> list[str]:
        return [change.relative for change in self.changes]


class ProposalError(ToolError):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass
class _Working:
    original: str | None
    eol: str
    text: str | None  # LF line breaks while edits apply


def parse_proposal(arguments: object, toolbox: ToolBox) -> Proposal:
    """The change ``arguments`` describes, or ProposalError listing every
    problem found."""
    if not isinstance(arguments, dict):
        raise ProposalError(["propose_edits input must be an object {edits: [...], summary: ...}"])
    edits = arguments.get("edits")
    summary = arguments.get("summary")
    problems: list[str] = []
    if not isinstance(edits, list) or not edits:
        raise ProposalError(["edits must be a non-empty list of {path, new_text, old_text?}"])
    if len(edits) > MAX_EDITS:
        raise ProposalError([f"at most {MAX_EDITS} edits per proposal (got {len(edits)})"])
    if not isinstance(summary, str) or not summary.strip():
        problems.append("summary must be a short description of the change for the user")
        summary = ""
    files: dict[str, _Working] = {}
    for number, edit in enumerate(edits, start=1):
        where = f"edit {number}"
        if not isinstance(edit, dict):
            problems.append(f"{where}: must be an object {{path, new_text, old_text?}}")
            continue
        try:
            _, relative = toolbox.guard.resolve(edit.get("path"))
        except ToolError as exc:
            problems.append(f"{where}: {exc}")
            continue
        where = f"edit {number} ({relative})"
        new_text = edit.get("new_text")
        old_text = edit.get("old_text")
        if not isinstance(new_text, str):
            problems.append(f"{where}: new_text must be a string")
            continue
        if old_text is not None and not isinstance(old_text, str):
            problems.append(f"{where}: old_text must be a string when given")
            continue
        if len(new_text) > MAX_NEW_TEXT_CHARS:
            problems.append(f"{where}: new_text is over {MAX_NEW_TEXT_CHARS} characters")
            continue
        working = files.get(relative)
        if working is None:
            try:
                original = toolbox.read_text(relative)
            except ToolError as exc:
                problems.append(f"{where}: {exc}")
                continue
            eol = "\r\n" if original is not None and "\r\n" in original else "\n"
            text = original.replace("\r\n", "\n") if original is not None else None
            working = files[relative] = _Working(original, eol, text)
        new_lf = new_text.replace("\r\n", "\n")
        if old_text is None:
            working.text = new_lf
            continue
        old_lf = old_text.replace("\r\n", "\n")
        if working.text is None:
            problems.append(f"{where}: the file does not exist; give its whole content without old_text to create it")
            continue
        if not old_lf:
            problems.append(f"{where}: old_text is empty; give the exact text to replace")
            continue
        count = working.text.count(old_lf)
        if count == 0:
            problems.append(f"{where}: old_text was not found in the file's current text{_near_miss(working.text, old_lf)}")
            continue
        if count > 1:
            problems.append(f"{where}: old_text occurs {count} times; include surrounding lines so it is unique")
            continue
        working.text = working.text.replace(old_lf, new_lf, 1)
    changes: list[FileChange] = []
    for relative, working in files.items():
        if working.text is None:
            continue
        after = working.text.replace("\n", working.eol) if working.eol != "\n" else working.text
        if after == working.original:
            continue
        changes.append(FileChange(relative, toolbox.root / relative, working.original, after))
    if len(changes) > MAX_FILES:
        problems.append(f"the proposal touches {len(changes)} files; at most {MAX_FILES}")
    if not problems and not changes:
        problems.append("the edits change nothing")
    if problems:
        raise ProposalError(problems)
    return Proposal(tuple(changes), summary.strip())


def _near_miss(text: str, old: str) -> str:
    """A hint when old_text differs only in indentation or trailing spaces."""
    first = next((line.strip() for line in old.splitlines() if line.strip()), "")
    if not first:
        return ""
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip() == first:
            return f" (its first line matches line {number} apart from whitespace; copy the text exactly)"
    return " (read the file again and copy the text exactly)"


# -- validation ---------------------------------------------------------------------------


@dataclass
class Validation:
    problems: list[str] = field(default_factory=list)
    # Findings of the touched Python files after the change, for the result.
    findings_after: dict[str, list[Finding]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems


class ProposalValidator:
    """Checks proposals against one project. ``analyzer`` may be None (no
    stackguard analysis for this root): then only parsing is checked."""

    def __init__(
        self,
        analyzer: ProjectAnalyzer | None,
        *,
        target: Finding | None = None,
        current_text: Callable[[str], str | None] | None = None,
    ) -> None:
        self.analyzer = analyzer
        self.target = target
        self.current_text = current_text

    def validate(self, proposal: Proposal) -> Validation:
        result = Validation()
        for change in proposal.changes:
            if change.relative.endswith(PYTHON_SUFFIXES):
                problem = _parse_problem(change)
                if problem:
                    result.problems.append(problem)
        for change in proposal.changes:
            marks_before = (change.before or "").count(SUPPRESSION_MARK)
            if change.after.count(SUPPRESSION_MARK) > marks_before:
                result.problems.append(
                    f"{change.relative}: adds a '# {SUPPRESSION_MARK}[...]' comment; fix the cause instead of silencing stackguard"
                )
        if result.problems or self.analyzer is None:
            return result
        analyzer = self.analyzer
        python = [c for c in proposal.changes if c.relative.endswith(".py")]
        touched = {c.relative for c in python}
        target = self.target
        with getattr(analyzer, "_lock", None) or nullcontext():
            live = analyzer.index
            before_index = _scratch_index(live, {})
            before_texts = {c.relative: c.before for c in python if c.before is not None}
            if target is not None and target.relative not in before_texts:
                text = self._text(target.relative)
                if text is not None:
                    before_texts[target.relative] = text
            after_texts = {c.relative: c.after for c in python}
            after_index = _scratch_index(live, after_texts)
        before = {rel: findings_for_text(analyzer, before_index, rel, text) for rel, text in before_texts.items()}
        after = {rel: findings_for_text(analyzer, after_index, rel, text) for rel, text in after_texts.items()}
        result.findings_after = after
        if target is not None:
            remaining = after.get(target.relative) if target.relative in touched else before.get(target.relative)
            if remaining is not None:
                still = _still_present(target, before.get(target.relative, []), remaining)
                if still is not None:
                    result.problems.append(
                        f"{target.relative}:{still.line}: {still.code} is still reported: {still.message} "
                        "The change must remove the cause of this finding."
                    )
        for relative in sorted(touched):
            old = Counter((f.code, f.message) for f in before.get(relative, []) if f.severity == "error")
            for finding in after.get(relative, []):
                if finding.severity != "error":
                    continue
                key = (finding.code, finding.message)
                if old[key] > 0:
                    old[key] -= 1
                    continue
                result.problems.append(
                    f"{relative}:{finding.line}: new error {finding.code} {finding.name}: {finding.message}"
                )
        return result

    def _text(self, relative: str) -> str | None:
        if self.current_text is not None:
            return self.current_text(relative)
        if self.analyzer is None:
            return None
        try:
            return (self.analyzer.root / relative).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return None


def _parse_problem(change: FileChange) -> str | None:
    try:
        ast.parse(change.after, filename=change.relative)
    except SyntaxError as exc:
        line = exc.lineno or 1
        column = (exc.offset or 1)
        lines = change.after.splitlines()
        shown = lines[line - 1].rstrip() if 0 < line <= len(lines) else ""
        context = f"\n    {shown}" if shown else ""
        return f"{change.relative}:{line}:{column}: does not parse: {exc.msg}{context}"
    except (ValueError, RecursionError, MemoryError) as exc:
        return f"{change.relative}: does not parse: {type(exc).__name__}: {exc}"
    return None


def _scratch_index(live: WorkspaceIndex, texts: dict[str, str]) -> WorkspaceIndex:
    """A copy of ``live`` with the summaries of ``texts`` replaced."""
    scratch = WorkspaceIndex(live.root, live.overrides, live.alembic_dirs)
    scratch.summaries = dict(live.summaries)
    scratch.skipped = dict(live.skipped)
    scratch._rebuild_module_map()
    for relative, text in texts.items():
        source = parse_source(str(Path(live.root or ".") / relative), relative, text)
        if source.tree is not None:
            scratch.update(scratch.analyze(relative, source.tree))
    return scratch


def findings_for_text(analyzer: ProjectAnalyzer, index: WorkspaceIndex, relative: str, text: str) -> list[Finding]:
    """stackguard's findings for ``text`` as file ``relative`` against ``index``
    (which is only read)."""
    if is_excluded(relative, analyzer.settings.exclude):
        return []
    source = parse_source(str(analyzer.root / relative), relative, text)
    if source.tree is None:
        return []
    summary = index.analyze(relative, source.tree)
    return analyzer.engine.check(source, summary.layer, profile=analyzer.profile, index=index, module=summary.module).findings


def _still_present(target: Finding, before: Iterable[Finding], after: list[Finding]) -> Finding | None:
    """The finding in ``after`` that is the target, if any: the same code and
    message (or the same fix data), or simply as many findings of that code
    as before (lines move when code is moved)."""
    same_code = [f for f in after if f.code == target.code]
    if not same_code:
        return None
    for finding in same_code:
        if finding.message == target.message or (target.data and dict(finding.data) == dict(target.data)):
            return finding
    count_before = sum(1 for f in before if f.code == target.code)
    if count_before and len(same_code) >= count_before:
        return same_code[0]
    return None


def describe_changes(proposal: Proposal) -> list[dict[str, Any]]:
    return [{"path": c.relative, "created": c.created} for c in proposal.changes]
