"""Live analysis of one project root for the editor: the workspace index and
the rule engine, updated one document version at a time.

The editor calls ``analyze(path, text)`` for every changed document. A
document that does not parse keeps its last good summary in the index (and
the caller keeps its last good diagnostics), so a syntax error mid-typing
doesn't flicker every diagnostic away. Cross-file effects are reported back
as ``affected``: only when the facts other files depend on (the models this
file declares) changed, not on every keystroke.
"""

from __future__ import annotations

import ast
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ..config import Settings
from ..rules import Finding
from ..stack.files import is_skipped_dir
from ..stack.model import StackProfile
from .engine import CarryOver, Engine, StatementFindings, is_excluded
from .incremental import global_declarations, skeleton, splice_tree, split_lines
from .index import WorkspaceIndex
from .semantics import ImportMap, find_route_handlers
from .source import ParseProblem, SourceFile, load_source, parse_source
from .summary import ModuleSummary


@dataclass
class DocumentAnalysis:
    relative: str
    findings: list[Finding] | None  # None: not analysed (parse problem or excluded)
    parse_problem: ParseProblem | None = None
    layer: str | None = None
    excluded: bool = False
    # Other files (relative paths) whose findings may have changed.
    affected: set[str] = field(default_factory=set)
    rule_errors: list[str] = field(default_factory=list)
    # How this version was analysed: "full" (parsed and checked whole),
    # "spliced" (re-parsed in part, every rule run) or "carried" (re-parsed
    # in part, unchanged statements' findings carried over).
    mode: str = "full"


@dataclass
class _OpenDocument:
    """The last good version of a document the editor keeps sending, kept
    to analyse the next version incrementally (analysis/incremental.py)."""

    text: str
    lines: list[str]
    tree: object  # ast.Module, unlinked; consumed by the next splice
    context: tuple[object, ...]
    statement_findings: StatementFindings | None


def python_files(root: Path, exclude: Iterable[str] = ()) -> list[str]:
    """Project-relative paths of the ``.py`` files under ``root``, skipping
    virtualenvs, node_modules, build output and symlinked folders."""
    import os

    found: list[str] = []
    patterns = list(exclude)
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        current = Path(dirpath)
        dirnames[:] = sorted(
            name for name in dirnames if not is_skipped_dir(name) and not (current / name).is_symlink()
        )
        for name in sorted(filenames):
            if name.endswith(".py"):
                relative = (current / name).relative_to(root).as_posix()
                if not is_excluded(relative, patterns):
                    found.append(relative)
    return found


class ProjectAnalyzer:
    """Index + engine for one project root. Thread-safe: the editor runs
    analyses in worker threads."""

    def __init__(self, root: str | Path, profile: StackProfile | None, settings: Settings) -> None:
        self.root = Path(root)
        self.profile = profile
        self.settings = settings
        self.engine = Engine(settings)
        self.index = WorkspaceIndex(self.root, self._layer_overrides())
        self.indexed = False
        self._lock = threading.RLock()
        self._documents: dict[str, _OpenDocument] = {}

    def _layer_overrides(self) -> dict[str, list[str]]:
        return dict(self.settings.layers)

    def relative(self, path: str | Path) -> str | None:
        try:
            return Path(path).resolve().relative_to(self.root.resolve()).as_posix()
        except ValueError:
            return None

    def build_index(self) -> None:
        """Cold index of every Python file (process pool for big trees)."""
        files = python_files(self.root, self.settings.exclude)
        built = WorkspaceIndex.build(self.root, files, settings_layers=self._layer_overrides())
        with self._lock:
            # Documents analysed while the build ran are newer than the disk.
            for relative, summary in self.index.summaries.items():
                built.summaries[relative] = summary
            built._rebuild_module_map()
            self.index = built
            self.indexed = True

    def summary_of(self, relative: str, tree: ast.Module) -> ModuleSummary:
        """The index's summary of a file, or, while the index does not hold
        it yet (a cold build after a new stack profile), the summary of
        ``tree`` as the index would store it (not stored)."""
        summary = self.index.summaries.get(relative)
        return summary if summary is not None else self.index.analyze(relative, tree)

    def analyze(self, path: str, text: str, *, incremental: bool = True) -> DocumentAnalysis:
        """Analyse one version of a document. With ``incremental`` (an open
        document the editor keeps editing), what this version shares with
        the previous one is reused and this version is kept for the next."""
        relative = self.relative(path) or Path(path).name
        if is_excluded(relative, self.settings.exclude):
            return DocumentAnalysis(relative, None, excluded=True)
        if len(text) > self.settings.diagnostics.max_file_bytes:
            problem = ParseProblem(
                f"file is larger than diagnostics.maxFileBytes ({self.settings.diagnostics.max_file_bytes}); not analysed",
                1,
                0,
                "too-large",
            )
            return DocumentAnalysis(relative, None, problem)
        with self._lock:
            return self._analyze(path, relative, text, incremental)

    def _analyze(self, path: str, relative: str, text: str, incremental: bool) -> DocumentAnalysis:
        previous = self._documents.pop(relative, None) if incremental else None
        lines = split_lines(text)
        splice = None
        if previous is not None and lines is not None:
            splice = splice_tree(previous.tree, previous.lines, lines)  # type: ignore[arg-type]
        if splice is not None:
            source = SourceFile(path, relative, text, splice.tree)
        else:
            source = parse_source(path, relative, text)
        if source.tree is None:
            if previous is not None:
                # A syntax error mid-typing: the next good version is diffed
                # against the last good one.
                self._documents[relative] = previous
            self.index.record_skipped(relative, source.parse_problem)  # type: ignore[arg-type]
            return DocumentAnalysis(relative, None, source.parse_problem)
        summary = self.index.analyze(relative, source.tree)
        # Non-empty only when something other files can see changed
        # (models, layer, top-level names), not on every keystroke.
        affected = self.index.update(summary)
        imports = ImportMap.from_tree(source.tree, summary.module, source.text)
        context = self._context(source, summary, imports, lines)
        carry = None
        if (
            splice is not None
            and previous is not None
            and previous.context == context
            and previous.statement_findings is not None
        ):
            carry = CarryOver(splice, previous.statement_findings)
        result = self.engine.check(
            source, summary.layer, profile=self.profile, index=self.index, module=summary.module, imports=imports, carry=carry
        )
        if incremental and lines is not None:
            self._documents[relative] = _OpenDocument(text, lines, source.tree, context, result.statement_findings)
        mode = "carried" if carry is not None else "spliced" if splice is not None else "full"
        return DocumentAnalysis(
            relative, result.findings, None, summary.layer, affected=affected, rule_errors=result.rule_errors, mode=mode
        )

    def _context(
        self, source: SourceFile, summary: ModuleSummary, imports: ImportMap, lines: list[str] | None
    ) -> tuple[object, ...]:
        """Everything a statement-scoped rule may read besides its own
        statement: findings carried over are right while this is equal."""
        return (
            summary.layer,
            summary.module,
            self.index.shape_of(summary.relative),
            skeleton(source.tree, lines) if lines is not None and source.tree is not None else None,
            tuple(sorted(imports.names.items())),
            tuple(sorted(imports.session_aliases)),
            tuple(sorted(imports.router_objects.items())),
            self._handler_shape(source, imports),
            global_declarations(source.text),
            # SG301's fix data says whether the project has one (a stat).
            (self.root / ".env.example").is_file(),
            id(self.index),
            self.index.generation,
            id(self.profile),
            id(self.engine),
        )

    @staticmethod
    def _handler_shape(source: SourceFile, imports: ImportMap) -> tuple[object, ...]:
        """The module's route handlers as the router rules see them: a
        handler can be declared from another function's body (a Starlette
        ``Route(path, endpoint)`` list built in a factory)."""
        from ..rules._layering import extra_route_handlers

        assert source.tree is not None
        handlers = [
            *find_route_handlers(source.tree, imports, source.relative),
            *extra_route_handlers(source.tree, imports),
        ]
        return tuple(sorted((h.node.name, h.framework, h.methods, h.path or "", h.owner or "") for h in handlers))

    def close_document(self, path: str) -> None:
        """The editor closed it: drop what was kept for incremental analysis."""
        relative = self.relative(path)
        if relative is not None:
            with self._lock:
                self._documents.pop(relative, None)

    def analyze_file(self, path: str) -> DocumentAnalysis:
        """A file that is not open, read from disk."""
        relative = self.relative(path) or Path(path).name
        source = load_source(Path(path), relative, self.settings.diagnostics.max_file_bytes)
        if source.tree is None:
            return DocumentAnalysis(relative, None, source.parse_problem)
        return self.analyze(path, source.text, incremental=False)

    def forget(self, path: str) -> set[str]:
        relative = self.relative(path)
        if relative is None:
            return set()
        with self._lock:
            self._documents.pop(relative, None)
            return self.index.remove(relative)
