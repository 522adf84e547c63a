"""``stackguard check``: the guardrails over a tree, for CI.

What happens, in order:

1. **Roots.** Each PATH belongs to a project root: the nearest folder at or
   above it with a root manifest (pyproject.toml, setup.py, manage.py,
   requirements*.txt, stack.yaml…). That root and the project roots nested
   in it are each profiled by stack detection; every file belongs to the
   deepest root holding it.
2. **Settings per root**, lowest first: defaults < ``[tool.stackguard]`` of
   the root's pyproject.toml < the ``stackguard:`` settings of its
   stack.yaml < the command line (``--select``/``--ignore``). Invalid values
   are reported once and the valid ones kept.
3. **Files.** Every ``*.py`` under the root, never entering SKIP_DIRS or a
   symlinked folder (so a symlink loop cannot hang the walk), minus the
   ``exclude`` globs of the file's root and of every root above it in this
   run. The index needs the whole root even when PATH names one file:
   cross-file rules (SG202 needs every model) must see the same project the
   editor sees.
4. **Index, then rules**, each file parsed once (almost: see below). Phase
   one parses, classifies and summarises every file whose summary is not
   cached; the parsed trees
   stay in the process that parsed them. The workspace index is built from
   all summaries. Phase two runs the rules over every requested file whose
   findings are not cached, on the retained trees. Large trees are split
   between the CPUs: forked workers take files from a shared queue and each
   keeps its own trees for phase two, while the parent runs stack detection
   (only the rules need the profile) and then builds the index. In phase
   two a worker done with its own files takes over the others' unclaimed
   ones, parsing those again: the rules cost a file something else than
   parsing it did, and without this one CPU idles at the end of the run.
5. **Cache** (``.stackguard_cache/`` in the root, git-ignored): summaries
   keyed by content and layer settings; findings keyed by content, settings,
   stack, enabled rules and a digest of the index facts other files
   contribute (so editing a model re-checks the files that read it, and
   editing a function body re-checks only that file). Everything is keyed by
   the stackguard version and its code, so an upgrade starts afresh.

Bad input never stops a run: an unparsable, binary, non-UTF-8 or oversized
file is one notice and skipped; a rule that raises is one notice and the
other rules' findings stand; a worker that dies has its files redone here.
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import hashlib
import io
import json
import logging
import multiprocessing
import os
import pickle
import re
import sys
import tempfile
import threading
import time
import tokenize
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stackguard import __version__
from stackguard.analysis.source import (
    ParseProblem,
    SourceFile,
    decode_source,
    parse_source,
)

# The engine, the rules, settings and stack detection are imported where
# they are used: building the command line parser (``stackguard --help``,
# ``stackguard serve``) must not pay for them.
if TYPE_CHECKING:
    from stackguard.analysis.engine import Engine
    from stackguard.config import ResolvedSettings, Settings
    from stackguard.rules import Finding, Rule
    from stackguard.stack.model import StackProfile

log = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2

CACHE_DIR_NAME = ".stackguard_cache"
CACHE_FORMAT = 1
# Severities that fail the run (exit 1); info and hint are advice.
FAILING_SEVERITIES = frozenset({"error", "warning"})

# Files a folder of which makes it a project root (see stack/discovery.py).
ROOT_MARKERS = (
    "pyproject.toml",
    "setup.py",
    "setup.cfg",
    "Pipfile",
    "manage.py",
    "requirements.txt",
    "stack/stack.yaml",
    ".agents/skills/oma-backend/stack/stack.yaml",
)

# Below this much source (bytes to parse) one process is faster than forking.
PARALLEL_MIN_BYTES = 400_000
PARALLEL_MIN_FILES = 48
# A process keeps at most this much source's trees between the two phases;
# past it, trees are dropped and the file is parsed again for the rules.
RETAIN_BUDGET_BYTES = 96_000_000
# The cyclic collector is off while a process works (trees it keeps would be
# walked over and over); dropped trees are cyclic (``sg_parent``), so they
# are collected by hand once this much source has been dropped.
COLLECT_EVERY_BYTES = 64_000_000

SOURCE_PYPROJECT = "pyproject.toml"
SOURCE_STACK_YAML = "stack.yaml"
SOURCE_COMMAND_LINE = "command line"


class UsageError(Exception):
    """A mistake on the command line (exit 2)."""


# ---------------------------------------------------------------------------
# Results


@dataclass(frozen=True)
class Notice:
    """Something the user should know that is not a finding: a skipped file,
    a rule that failed, an invalid setting. ``path`` is absolute ('' when the
    notice is about the run, not a file)."""

    path: str
    message: str
    kind: str = "parse"  # parse | rule | index | settings | detection | cache | fix


@dataclass
class CheckStats:
    files: int = 0  # requested files (what was checked)
    indexed: int = 0  # files in the indexes (whole roots)
    parsed: int = 0  # ast.parse calls
    summary_hits: int = 0
    summary_misses: int = 0
    findings_hits: int = 0
    findings_misses: int = 0
    workers: int = 1
    cache_written: bool = False
    seconds: float = 0.0
    # Wall time per step (plan, read, summaries, index, rules, cache), for the benchmark.
    timings: dict[str, float] = field(default_factory=dict)


@dataclass
class CheckRun:
    findings: list[Finding]
    notices: list[Notice]
    stats: CheckStats
    # The rules enabled in any root (SARIF rule metadata).
    rules: list[type[Rule]]
    fixed: int = 0
    # For ``--fix``: each root's context (settings, profile, index) and each
    # checked file's (root, relative path, layer), by absolute path.
    contexts: dict[str, RootContext] = field(default_factory=dict, repr=False)
    files: dict[str, tuple[str, str, str]] = field(default_factory=dict, repr=False)

    @property
    def failing(self) -> list[Finding]:
        return [f for f in self.findings if f.severity in FAILING_SEVERITIES]


@dataclass
class CheckOptions:
    paths: Sequence[str] = (".",)
    select: list[str] | None = None
    ignore: list[str] | None = None
    fix: bool = False
    use_cache: bool = True
    # None: as many processes as CPUs when the tree is large enough.
    jobs: int | None = None
    cwd: str | None = None


# ---------------------------------------------------------------------------
# Roots and settings


@dataclass
class Root:
    path: str  # absolute
    top: str  # the folder detection ran from (relative roots are relative to it)
    resolved: ResolvedSettings
    stack_settings: dict[str, Any] = field(default_factory=dict)
    # relative path -> absolute path, every indexed file of this root
    files: dict[str, str] = field(default_factory=dict)
    # relative paths whose findings were asked for
    targets: set[str] = field(default_factory=set)
    alembic_dirs: tuple[str, ...] = ()
    # (relative path, size, mtime) of every non-Python file detection may read
    manifests: list[tuple[str, int, int]] = field(default_factory=list)
    profile: StackProfile | None = None

    @property
    def settings(self) -> Settings:
        return self.resolved.settings


def _has_marker(folder: str) -> bool:
    return any(os.path.isfile(os.path.join(folder, marker)) for marker in ROOT_MARKERS) or any(
        name.startswith("requirements") and name.endswith((".txt", ".in")) for name in _listdir(folder)
    )


def _listdir(folder: str) -> list[str]:
    try:
        return os.listdir(folder)
    except OSError:
        return []


def project_root_for(path: str) -> str:
    """The nearest folder at or above ``path`` that holds a root manifest;
    ``path`` itself (or its folder) when none does."""
    start = path if os.path.isdir(path) else os.path.dirname(path)
    current = start
    while True:
        if _has_marker(current):
            return current
        parent = os.path.dirname(current)
        if parent == current:
            return start
        current = parent


def _inside(parent: str, child: str) -> bool:
    return child == parent or child.startswith(parent.rstrip(os.sep) + os.sep)


def _project_roots(top: str, notices: list[Notice]) -> list[str]:
    try:
        from stackguard.stack.discovery import find_project_roots

        roots = [os.path.abspath(root) for root in find_project_roots(Path(top))]
    except Exception as exc:  # discovery is best effort: the top is a root anyway
        notices.append(Notice(top, f"cannot look for nested project roots ({exc!r})", "detection"))
        roots = []
    if top not in roots:
        roots.append(top)
    return sorted({root for root in roots if _inside(top, root)}, key=len)


def _stack_settings(root: str, notices: list[Notice]) -> tuple[dict[str, Any], str]:
    """The ``stackguard:`` settings of the root's stack.yaml and its absolute
    path, read the way detection reads them (settings are needed before
    detection runs; detection reports the file's problems)."""
    try:
        from stackguard.stack.files import ProjectFiles, find_stack_file

        relative = find_stack_file(Path(root))
        if relative is None:
            return {}, ""
        # Only now: the YAML parser and the schema cost a run without a
        # stack.yaml ~15 ms before any worker starts.
        from stackguard.stack.model import StackProfile
        from stackguard.stack.stackyaml import apply_stack_yaml, load_stack_yaml

        files = ProjectFiles(root=Path(root))
        path = os.path.join(root, relative)
        stack, _problems = load_stack_yaml(files, relative)
        if stack is None:
            return {}, path
        profile = StackProfile(root=root)
        apply_stack_yaml(profile, stack)
        return dict(profile.stack_settings), path
    except Exception as exc:
        notices.append(Notice(root, f"cannot read stack.yaml settings ({exc!r})", "settings"))
        return {}, ""


def _cli_settings(options: CheckOptions) -> dict[str, Any] | None:
    """The command line's settings layer. ``--select`` alone replaces the
    project's selection whole (its ``ignore`` too): ``--select SG101`` runs
    SG101 even where the project ignores it."""
    raw: dict[str, Any] = {}
    if options.select is not None:
        raw["select"] = options.select
        raw["ignore"] = options.ignore or []
    elif options.ignore is not None:
        raw["ignore"] = options.ignore
    return raw or None


def resolve_root_settings(
    root: str, stack_settings: Mapping[str, Any] | None, cli: Mapping[str, Any] | None, stack_file: str = ""
) -> ResolvedSettings:
    """defaults < pyproject ``[tool.stackguard]`` < stack.yaml < command line.
    Sources are named by absolute path, so problems point at the file."""
    from stackguard.config import (
        ResolvedSettings,
        SettingsProblem,
        read_pyproject_settings,
        resolve_settings,
    )

    layers: list[tuple[str, Any]] = []
    problems: list[SettingsProblem] = []
    pyproject = os.path.join(root, "pyproject.toml")
    if os.path.isfile(pyproject):
        section, problem = read_pyproject_settings(Path(pyproject))
        if problem is not None:
            problems.append(problem)
        layers.append((os.path.join(root, SOURCE_PYPROJECT), section))
    if stack_settings:
        layers.append((stack_file or os.path.join(root, SOURCE_STACK_YAML), stack_settings))
    layers.append((SOURCE_COMMAND_LINE, cli))
    resolved = resolve_settings(layers)
    if problems:
        resolved = ResolvedSettings(resolved.settings, (*problems, *resolved.problems), resolved.sources)
    return resolved


# ---------------------------------------------------------------------------
# File discovery


def _is_python(name: str) -> bool:
    return name.endswith(".py")


def _is_manifest_name(name: str) -> bool:
    """Files whose change can change the detected stack (cheap name test;
    the cache key of the detected profile)."""
    return (
        name in _MANIFEST_NAMES
        or (name.startswith("requirements") and name.endswith((".txt", ".in")))
        or name.endswith((".lock", ".toml", ".cfg", ".ini", ".yaml", ".yml", ".json", ".gradle", ".kts", ".mod", ".xml"))
    )


_MANIFEST_NAMES = frozenset({"Pipfile", "manage.py", "setup.py", "go.mod", "Dockerfile", "schema.prisma"})


def walk_files(top: str, prune_dir: Any = None, on_other: Any = None) -> Iterator[str]:
    """Absolute paths of the ``*.py`` files under ``top``: never into
    SKIP_DIRS, ``*.egg-info`` or symlinked folders (so symlink loops cannot
    hang the walk); ``prune_dir(abs_dir)`` may veto more folders (excluded
    ones); ``on_other(abs_path)`` sees the other files."""
    from stackguard.stack.files import is_skipped_dir

    for dirpath, dirnames, filenames in os.walk(top, followlinks=False):
        keep = []
        for name in sorted(dirnames):
            child = os.path.join(dirpath, name)
            if is_skipped_dir(name) or os.path.islink(child):
                continue
            if prune_dir is not None and prune_dir(child):
                continue
            keep.append(name)
        dirnames[:] = keep
        for name in sorted(filenames):
            full = os.path.join(dirpath, name)
            if _is_python(name):
                if os.path.islink(full) and not os.path.isfile(full):
                    continue  # dangling or looping link
                yield full
            elif on_other is not None:
                on_other(full)


def _relative(path: str, root: str) -> str:
    prefix = root.rstrip(os.sep) + os.sep
    if path.startswith(prefix):  # the common case, without relpath's normalising
        relative = path[len(prefix) :]
    else:
        relative = os.path.relpath(path, root)
    return relative.replace(os.sep, "/") if os.sep != "/" else relative


def _alembic_dirs(relatives: Iterable[str]) -> tuple[str, ...]:
    """Folders holding an Alembic ``env.py`` next to a ``versions/`` folder."""
    relatives = list(relatives)
    env_dirs = {rel.rsplit("/", 1)[0] if "/" in rel else "" for rel in relatives if rel.rsplit("/", 1)[-1] == "env.py"}
    found = set()
    for rel in relatives:
        parts = rel.split("/")
        if "versions" in parts[:-1]:
            index = len(parts) - 2 - parts[-2::-1].index("versions")
            parent = "/".join(parts[:index])
            if parent in env_dirs:
                found.add(parent)
    return tuple(sorted(found))


class Plan:
    """The roots of a run, their settings, and which of their files are
    indexed and checked. Stack detection (slow: it reads every manifest and
    scans the code) is not part of the plan; ``detect`` runs it later, while
    workers parse."""

    def __init__(self, options: CheckOptions, notices: list[Notice]) -> None:
        self.options = options
        self.notices = notices
        self.cwd = os.path.abspath(options.cwd or os.getcwd())
        self.roots: dict[str, Root] = {}
        self.tops: list[str] = []
        self._cli = _cli_settings(options)

    def build(self) -> Plan:
        requested: list[str] = []
        for raw in self.options.paths or (".",):
            path = os.path.abspath(os.path.join(self.cwd, raw))
            if not os.path.lexists(path):
                raise UsageError(f"{raw}: no such file or directory")
            if not os.path.exists(path):
                raise UsageError(f"{raw}: broken symbolic link")
            requested.append(path)
        tops: dict[str, list[str]] = {}
        for path in requested:
            tops.setdefault(project_root_for(path), []).append(path)
        # A top inside another top's tree is covered by the outer walk.
        merged: dict[str, list[str]] = {}
        for top in sorted(tops, key=len):
            outer = next((t for t in merged if _inside(t, top)), None)
            merged.setdefault(outer or top, []).extend(tops[top])
        for top, paths in merged.items():
            self.tops.append(top)
            self._add_top(top, paths)
        return self

    @staticmethod
    def _root_for(path: str, roots: list[str]) -> str:
        best = roots[0]
        for candidate in roots:
            if _inside(candidate, path) and len(candidate) > len(best):
                best = candidate
        return best

    def _add_top(self, top: str, requested: list[str]) -> None:
        from stackguard.analysis.engine import is_excluded

        root_paths: list[str] = []

        def excluded(path: str, is_dir: bool) -> bool:
            """Excluded by the ``exclude`` of any root holding ``path``."""
            for root_path in root_paths:
                if not _inside(root_path, path):
                    continue
                patterns = self.roots[root_path].settings.exclude
                relative = _relative(path, root_path)
                if not patterns or relative == ".":
                    continue
                # A folder is pruned when everything inside it is excluded.
                if is_excluded(relative + "/\x00" if is_dir else relative, patterns):
                    return True
            return False

        # Outer roots first, so a nested root in an excluded folder is dropped
        # before its settings are even read.
        for root_path in _project_roots(top, self.notices):
            if root_path in self.roots or (root_path != top and excluded(root_path, True)):
                continue
            stack_settings, stack_file = _stack_settings(root_path, self.notices)
            resolved = resolve_root_settings(root_path, stack_settings, self._cli, stack_file)
            for problem in resolved.problems:
                where = problem.source if os.path.isabs(problem.source) else ""
                what = f"{problem.key}: {problem.message}" if problem.key else problem.message
                self.notices.append(Notice(where, what, "settings"))
            self.roots[root_path] = Root(root_path, top, resolved, stack_settings)
            root_paths.append(root_path)
        if not root_paths:
            return

        def other_file(path: str) -> None:
            if _is_manifest_name(os.path.basename(path)):
                root = self.roots[self._root_for(path, root_paths)]
                try:
                    stat = os.stat(path)
                except OSError:
                    return
                root.manifests.append((_relative(path, root.path), stat.st_size, stat.st_mtime_ns))

        seen_real: set[str] = set()
        linked: list[tuple[str, str]] = []
        # No folder below ``top`` is entered through a link, so a plain
        # file's real path is the real ``top`` plus the rest of its path.
        top_real = os.path.realpath(top)
        for path in walk_files(top, prune_dir=lambda d: excluded(d, True), on_other=other_file):
            if excluded(path, False):
                continue
            # Folders are never followed through links, so only a linked
            # file can be a second name for a file already listed.
            if os.path.islink(path):
                real = os.path.realpath(path)
                if real in seen_real:
                    continue
                linked.append((path, real))
            else:
                seen_real.add(top_real + path[len(top) :])
            root = self.roots[self._root_for(path, root_paths)]
            root.files[_relative(path, root.path)] = path
        for path, real in linked:
            if real in seen_real:  # the link's target is listed under its own name
                root = self.roots[self._root_for(path, root_paths)]
                del root.files[_relative(path, root.path)]
            seen_real.add(real)
        for path in requested:
            if os.path.isdir(path):
                for root_path in root_paths:
                    root = self.roots[root_path]
                    for relative, absolute in root.files.items():
                        if _inside(path, absolute):
                            root.targets.add(relative)
                continue
            root = self.roots[self._root_for(path, root_paths)]
            relative = _relative(path, root.path)
            if relative in root.files:
                root.targets.add(relative)
            elif excluded(path, False):
                continue  # an excluded file named explicitly stays excluded
            elif not _is_python(path):
                self.notices.append(Notice(path, "not a Python file (*.py); skipped", "parse"))
            else:
                # Inside a skipped folder (e.g. a venv) but named explicitly.
                root.files[relative] = path
                root.targets.add(relative)
        for root_path in root_paths:
            root = self.roots[root_path]
            root.alembic_dirs = _alembic_dirs(root.files)

    def detect(self) -> None:
        """Stack profiles for every root that has none yet (one detection per
        top folder); never raises."""
        from stackguard.stack.model import StackProfile

        for top in self.tops:
            pending = [root for root in self.roots.values() if root.top == top and root.profile is None]
            if not pending:
                continue
            try:
                from stackguard.stack import detect_workspace

                profiles = {os.path.abspath(p.root): p for p in detect_workspace(Path(top))}
            except Exception as exc:  # detection is best effort; rules still run
                log.debug("stack detection failed in %s", top, exc_info=True)
                self.notices.append(Notice(top, f"stack detection failed ({exc!r}); checking without a stack profile", "detection"))
                profiles = {}
            for root in pending:
                root.profile = profiles.get(root.path) or StackProfile(root=root.path)


# ---------------------------------------------------------------------------
# Per-file work (runs in the parent or in a forked worker)


@dataclass(slots=True)
class FileTask:
    key: int  # position in the run's task list
    root: str
    relative: str
    path: str
    data: bytes | None
    digest: str
    # A problem met while reading (too large, unreadable); no parse then.
    problem: ParseProblem | None = None
    # Not read yet: whichever process parses it reads it (and hashes it).
    # A run with no cache to look things up in does not read every file in
    # the parent before the workers can start.
    unread: bool = False
    size: int = 0  # bytes, known before reading


def task_size(task: FileTask) -> int:
    return len(task.data) if task.data else task.size


@dataclass(slots=True)
class Prepared:
    key: int
    layer: str
    summary: Any  # ModuleSummary | None
    problem: ParseProblem | None
    notices: list[Notice]
    retained: bool = False  # the preparing process kept the tree for phase two
    digest: str = ""  # of an unread task, once read


@dataclass(slots=True)
class Checked:
    key: int
    findings: list[Finding]
    notices: list[Notice]


@dataclass
class RootContext:
    """What a process needs to classify, summarise and check a root's files."""

    root: str
    settings: Settings
    alembic_dirs: tuple[str, ...]
    # Both set before phase two: stack detection overlaps phase one.
    profile: StackProfile | None = None
    index: Any = None  # WorkspaceIndex
    _engine: Engine | None = None

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            from stackguard.analysis.engine import Engine

            self._engine = Engine(self.settings)
        return self._engine

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_engine"] = None
        return state


class FileWorker:
    """Parses, summarises and checks files, keeping the trees it parsed in
    phase one for phase two (as long as they fit in the budget)."""

    def __init__(
        self, contexts: Mapping[str, RootContext], retain: set[int] | None = None, *, exits_after: bool = False
    ) -> None:
        self.contexts = contexts
        self.retain = retain
        # A worker process: it exits right after phase two, so the trees it
        # kept need not be unlinked for reference counting to free them.
        self.exits_after = exits_after
        self.sources: dict[int, tuple[SourceFile, str]] = {}
        self.retained_bytes = 0
        self.dropped_bytes = 0
        self.parsed = 0

    def _dropped(self, task: FileTask) -> None:
        self.dropped_bytes += len(task.data or b"")
        if self.dropped_bytes >= COLLECT_EVERY_BYTES:
            self.dropped_bytes = 0
            gc.collect()

    def parse(self, task: FileTask) -> SourceFile:
        if task.unread:
            # This process's copy of the task: phase two and the parent's
            # digest (from Prepared) see what was read here.
            max_bytes = self.contexts[task.root].settings.diagnostics.max_file_bytes
            task.data, task.problem = _read(task.path, max_bytes)
            task.digest = _digest(task.data, task.problem)
            task.unread = False
        if task.problem is not None or task.data is None:
            return SourceFile(task.path, task.relative, "", None, task.problem)
        text, problem = decode_source(task.data)
        if text is None:
            return SourceFile(task.path, task.relative, "", None, problem)
        self.parsed += 1
        return parse_source(task.path, task.relative, text)

    def prepare(self, task: FileTask) -> Prepared:
        ctx = self.contexts[task.root]
        source = self.parse(task)
        notices: list[Notice] = []
        if source.tree is None:
            layer = self._classify(ctx, task.relative, None, None, notices)
            return Prepared(task.key, layer, None, source.parse_problem, notices, digest=task.digest)
        summary = None
        try:
            from stackguard.analysis.summary import summarize

            summary = summarize(task.relative, source.tree, "other")
        except Exception as exc:  # RecursionError on pathological code included
            notices.append(Notice(task.path, f"cannot index this file ({exc!r}); cross-file facts from it are missing", "index"))
        # The summary's route handlers feed the layer's content rule (as
        # index.analyze_module does), so the module is not scanned twice.
        has_routes = summary.declares_handlers if summary is not None else None
        layer = self._classify(ctx, task.relative, source.tree, has_routes, notices)
        if summary is not None:
            summary.layer = layer
        wanted = self.retain is None or task.key in self.retain
        retained = wanted and self.retained_bytes + len(task.data or b"") <= RETAIN_BUDGET_BYTES
        if retained:
            self.sources[task.key] = (source, layer)
            self.retained_bytes += len(task.data or b"")
        else:
            self._dropped(task)
        return Prepared(task.key, layer, summary, None, notices, retained, task.digest)

    @staticmethod
    def _classify(ctx: RootContext, relative: str, tree: Any, has_routes: bool | None, notices: list[Notice]) -> str:
        try:
            from stackguard.analysis.layers import classify_layer

            return classify_layer(
                relative, tree, ctx.settings.layers or None, has_routes, alembic_dirs=ctx.alembic_dirs
            )
        except Exception as exc:
            notices.append(Notice(os.path.join(ctx.root, relative), f"cannot classify the layer ({exc!r})", "index"))
            return "other"

    def check(self, task: FileTask, layer: str) -> Checked:
        ctx = self.contexts[task.root]
        retained = self.sources.pop(task.key, None)
        if retained is not None:
            source, layer = retained
        else:
            source = self.parse(task)
        if source.tree is None:
            return Checked(task.key, [], [])
        from stackguard.analysis.engine import module_name

        notices: list[Notice] = []
        try:
            result = ctx.engine.check(
                source,
                layer,
                profile=ctx.profile,
                index=ctx.index,
                module=module_name(task.relative),
                # A kept tree was alive since phase one: leaving its links
                # costs no memory the process has not used already (a tree
                # parsed again here is unlinked, or it would pile up).
                keep_parent_links=self.exits_after and retained is not None,
            )
        except Exception as exc:  # the engine guards rules; this guards the engine
            notices.append(Notice(task.path, f"cannot check this file ({exc!r}); skipped", "rule"))
            return Checked(task.key, [], notices)
        finally:
            self._dropped(task)
        for error in result.rule_errors:
            notices.append(Notice(task.path, f"rule {error}; its findings in this file are dropped", "rule"))
        return Checked(task.key, list(result.findings), notices)


# ---------------------------------------------------------------------------
# Worker processes

_PHASE_DONE = None


class TaskQueue:
    """Phase one's tasks, largest first, handed out one at a time to
    whichever worker asks next (a shared counter): the shares balance
    themselves whatever each file costs."""

    def __init__(self, tasks: Sequence[FileTask], counter: Any = None, lock: Any = None) -> None:
        self.tasks = sorted(tasks, key=lambda t: -task_size(t))
        self.counter = counter
        self.lock = lock
        self._next = 0  # without a shared counter (one process)

    @classmethod
    def shared(cls, tasks: Sequence[FileTask], ctx: Any) -> TaskQueue:
        return cls(tasks, ctx.RawValue("q", 0), ctx.Lock())

    def __iter__(self) -> Iterator[FileTask]:
        while True:
            if self.counter is None:
                position = self._next
                self._next += 1
            else:
                with self.lock:
                    position = self.counter.value
                    self.counter.value = position + 1
            if position >= len(self.tasks):
                return
            yield self.tasks[position]


class Claims:
    """Phase two's files, each checked by exactly one process. A worker
    first checks the files whose trees it kept, then helps with the rest
    (parsing those again): the rules cost a file something else than
    parsing it did, so shares split by phase one end at different times,
    and without this one CPU would sit idle while the other finishes."""

    def __init__(self, flags: Any, lock: Any) -> None:
        self.flags = flags
        self.lock = lock

    @classmethod
    def shared(cls, capacity: int, ctx: Any) -> Claims:
        return cls(ctx.RawArray("b", max(capacity, 1)), ctx.Lock())

    def claim(self, key: int) -> bool:
        with self.lock:
            if self.flags[key]:
                return False
            self.flags[key] = 1
            return True


def _worker_main(
    conn: Any, contexts: Mapping[str, RootContext], queue: TaskQueue, retain: set[int], claims: Claims
) -> None:
    """A worker process: phase one over what it takes from ``queue``; then
    the profiles and every other summary, to build the index; then phase
    two over the files the parent sends: its own, then whatever files no
    process has claimed yet. Then exit."""
    gc.disable()  # its trees stay alive for phase two: collecting is wasted work
    try:
        worker = FileWorker(contexts, retain, exits_after=True)
        prepared = [worker.prepare(task) for task in queue]
        # Bytes, so the parent can forward them to the other workers as
        # they are (it unpickles its own copy).
        conn.send_bytes(pickle.dumps((prepared, worker.parsed), protocol=pickle.HIGHEST_PROTOCOL))
        message = conn.recv()
        if message is _PHASE_DONE:
            return
        profiles_blob, other_results, extra_blob, own_first = message
        # Every worker builds the index itself from all the summaries: its
        # own, the other workers' (forwarded bytes) and those no worker made
        # (cached, unreadable), as the parent built it. The parent meanwhile
        # reads the same summaries and decides what is left to check.
        by_key = {task.key: task for task in queue.tasks}
        summaries: dict[str, dict[str, Any]] = {}
        skipped: dict[str, dict[str, ParseProblem]] = {}

        def add(root: str, relative: str, summary: Any, problem: ParseProblem | None) -> None:
            if summary is not None:
                summaries.setdefault(root, {})[relative] = summary
            elif problem is not None:
                skipped.setdefault(root, {})[relative] = problem

        for blob in other_results:
            prepared.extend(pickle.loads(blob)[0])
        for item in prepared:
            task = by_key[item.key]
            add(task.root, task.relative, item.summary, item.problem)
        for root, relative, summary, problem in pickle.loads(extra_blob):
            add(root, relative, summary, problem)
        for root, profile in pickle.loads(profiles_blob).items():
            context = worker.contexts[root]
            context.profile = profile
            context.index = _build_index(context, summaries.get(root, {}), skipped.get(root, {}), [])
        parsed_before = worker.parsed
        checked: list[Checked] = []
        if own_first:
            # No findings can come from a cache: every tree this process kept
            # is to be checked, so it starts without waiting for the list.
            for key in list(worker.sources):
                if claims.claim(key):
                    checked.append(worker.check(by_key[key], worker.sources[key][1]))
        message = conn.recv()
        if message is _PHASE_DONE:
            return
        own, others = message
        checked += [worker.check(task, layer) for task, layer in (*own, *others) if claims.claim(task.key)]
        conn.send((checked, worker.parsed - parsed_before))
    except (EOFError, BrokenPipeError, KeyboardInterrupt):
        pass
    finally:
        conn.close()


def _mp_context() -> Any:
    """``fork`` shares the parent's imports and the files' bytes for free,
    and the command line runs no threads. Called from a process that does
    (a server), forking could deadlock a child on a lock another thread
    held: workers are started fresh there instead."""
    methods = multiprocessing.get_all_start_methods()
    if "fork" in methods and threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")


class Workers:
    """``count`` worker processes (or, for one, the calling process). Each
    keeps the trees it parsed in phase one; phase two sends every file back
    to the process holding its tree. With workers, the calling process only
    coordinates (and detects the stack meanwhile): it never holds trees, so
    it exits without a long collection of them."""

    def __init__(self, contexts: Mapping[str, RootContext], capacity: int = 0) -> None:
        self.contexts = contexts
        self.capacity = capacity  # task keys are below this
        # Works when there is no worker, and redoes what a dead worker lost.
        self.local = FileWorker(contexts)
        # (process, connection, keys whose trees it kept), for phase two
        self.children: list[tuple[Any, Any, set[int]]] = []
        self.child_parsed = 0
        self.count = 1
        self._queue: TaskQueue | None = None
        self._started: list[tuple[Any, Any]] = []

    @property
    def parsed(self) -> int:
        return self.local.parsed + self.child_parsed

    @staticmethod
    def _size(task: FileTask) -> int:
        return task_size(task)

    def start(self, tasks: Sequence[FileTask], retain: set[int], count: int) -> None:
        """Start phase one: fork the workers (they begin at once), or with
        ``count`` 1 just queue the tasks for ``finish_phase_one``."""
        self.local.retain = retain
        queue = TaskQueue(tasks)
        if count > 1:
            # Imported once here rather than once per forked worker.
            import stackguard.analysis.engine
            import stackguard.analysis.index
            import stackguard.analysis.layers
            import stackguard.analysis.summary  # noqa: F401

            ctx = _mp_context()
            try:
                queue = TaskQueue.shared(tasks, ctx)
                claims = Claims.shared(self.capacity, ctx)
            except (OSError, ImportError) as exc:  # no shared memory here: one process
                log.debug("no shared task queue: %s", exc)
                count = 1
            for _ in range(count if count > 1 else 0):
                parent_end, child_end = ctx.Pipe()
                process = ctx.Process(
                    target=_worker_main, args=(child_end, self.contexts, queue, retain, claims), daemon=True
                )
                try:
                    process.start()
                except OSError as exc:  # cannot fork (limits): fewer workers
                    log.debug("cannot start a worker: %s", exc)
                    parent_end.close()
                    child_end.close()
                    break
                child_end.close()
                self._started.append((process, parent_end))
        self._queue = queue
        self.count = max(len(self._started), 1)

    def finish_phase_one(
        self,
        profiles: Mapping[str, StackProfile],
        known: Sequence[tuple[int, str, str, Any, ParseProblem | None]] = (),
        own_first: bool = False,
    ) -> list[Prepared]:
        """Wait for phase one (doing it here when there is no worker), then
        start the workers on their indexes: each gets the ``profiles`` (per
        root), the other workers' results as they sent them, and the
        summaries no worker made: ``known`` (key, root, relative, summary,
        problem), from the cache or unreadable, and what a dead worker's
        share gave here. ``own_first``: every kept tree is to be checked (no
        findings cache), so workers check theirs before phase two's list
        arrives."""
        assert self._queue is not None
        results: list[Prepared] = []
        if not self._started:
            results = [self.local.prepare(task) for task in self._queue]
        started = len(self._started)
        received: list[tuple[Any, Any, bytes]] = []
        for process, conn in self._started:
            try:
                received.append((process, conn, conn.recv_bytes()))
            except (EOFError, OSError):
                self._reap(process, conn)
        self._started = []
        redone: list[Prepared] = []
        if len(received) < started:
            # What a dead worker had taken is lost: redo it here. (Its share
            # is known only from what the live ones did not do.)
            done = {p.key for _, _, raw in received for p in pickle.loads(raw)[0]}
            redone = [self.local.prepare(t) for t in self._queue.tasks if t.key not in done]
        if received:
            by_key = {task.key: task for task in self._queue.tasks}
            extra = [entry[1:] for entry in known]
            extra += [(by_key[p.key].root, by_key[p.key].relative, p.summary, p.problem) for p in redone]
            extra_blob = pickle.dumps(extra, protocol=pickle.HIGHEST_PROTOCOL)
            profiles_blob = pickle.dumps(dict(profiles), protocol=pickle.HIGHEST_PROTOCOL)
            # Sent before this process reads the results itself: the workers
            # build their indexes meanwhile.
            live: list[tuple[Any, Any, bytes]] = []
            for process, conn, raw in received:
                others = [other for _, _, other in received if other is not raw]
                try:
                    conn.send((profiles_blob, others, extra_blob, own_first))
                    live.append((process, conn, raw))
                except (OSError, EOFError):
                    # Gone after phase one: its results count, its trees are
                    # lost (phase two parses those files again).
                    self._reap(process, conn)
            for process, conn, raw in received:
                prepared, parsed = pickle.loads(raw)
                results.extend(prepared)
                self.child_parsed += parsed
                if any(conn is other for _, other, _ in live):
                    self.children.append((process, conn, {p.key for p in prepared if p.retained}))
        results.extend(redone)
        self.count = max(len(self.children), 1)
        return results

    def phase_two(
        self,
        items: Sequence[tuple[FileTask, str]],
        shared: Mapping[str, tuple[Any, StackProfile]],
        count: int,
        entries: Sequence[tuple[int, str, str, Any, ParseProblem | None]] = (),
    ) -> list[Checked]:
        """Run the rules; ``shared`` is each root's (index, profile) and
        ``entries`` every summary the indexes were built from, as (key,
        root, relative, summary, problem), for workers forked only now."""
        for root, (index, profile) in shared.items():
            self.contexts[root].index = index
            self.contexts[root].profile = profile
        if not self.children and count > 1:
            # Phase one ran here (or not at all): fork now for the rules.
            self.start([], set(), count)
            self.finish_phase_one({root: profile for root, (_, profile) in shared.items()}, entries)
        if not self.children:
            return [self.local.check(task, layer) for task, layer in items]
        owners: dict[int, int] = {}
        for position, (_, _, keys) in enumerate(self.children):
            for key in keys:
                owners.setdefault(key, position)
        own: list[list[tuple[FileTask, str]]] = [[] for _ in self.children]
        unowned: list[tuple[FileTask, str]] = []
        for task, layer in items:
            owner = owners.get(task.key)
            (own[owner] if owner is not None else unowned).append((task, layer))
        unowned.sort(key=lambda item: -self._size(item[0]))
        sent = []
        for position, (process, conn, _) in enumerate(self.children):
            # Its own files (their bytes stay home: it has the trees), the
            # files nobody kept, then the others' files from their far end,
            # where their owners get last.
            mine = [(dataclasses.replace(task, data=None), layer) for task, layer in own[position]]
            theirs = [item for other, items_of in enumerate(own) if other != position for item in reversed(items_of)]
            try:
                conn.send((mine, [*unowned, *theirs]))
                sent.append((process, conn))
            except (OSError, EOFError, pickle.PicklingError, RecursionError):
                self._reap(process, conn)
        self.children = []
        results: list[Checked] = []
        for process, conn in sent:
            try:
                checked, parsed = conn.recv()
                results.extend(checked)
                self.child_parsed += parsed
            except (EOFError, OSError):
                pass
            self._reap(process, conn)
        # What a dead worker had claimed (or a worker that could not be
        # reached) is done here.
        done = {checked.key for checked in results}
        results.extend(self.local.check(task, layer) for task, layer in items if task.key not in done)
        return results

    def close(self) -> None:
        for process, conn in self._started:
            self._reap(process, conn)
        self._started = []
        for process, conn, _ in self.children:
            try:
                conn.send(_PHASE_DONE)
            except (OSError, EOFError):
                pass
            self._reap(process, conn)
        self.children = []

    @staticmethod
    def _reap(process: Any, conn: Any) -> None:
        try:
            conn.close()
        except OSError:
            pass
        process.join(timeout=10)
        if process.is_alive():
            process.kill()
            process.join(timeout=5)


# ---------------------------------------------------------------------------
# Cache


def _hash(*parts: bytes | str) -> str:
    digest = hashlib.blake2b(digest_size=16)
    for part in parts:
        digest.update(part.encode("utf-8") if isinstance(part, str) else part)
        digest.update(b"\x00")
    return digest.hexdigest()


def code_fingerprint() -> str:
    """The stackguard version, the Python that parses (its grammar and ``ast``
    shapes differ) and the package's own files, so a development checkout
    whose rules changed under the same version number starts afresh."""
    package = Path(__file__).resolve().parent
    entries = []
    for path in sorted(package.rglob("*.py")):
        try:
            stat = path.stat()
        except OSError:
            continue
        entries.append(f"{path.relative_to(package).as_posix()}:{stat.st_size}:{stat.st_mtime_ns}")
    return _hash(__version__, sys.version.split()[0], CACHE_FORMAT.__str__(), *entries)


class _SafeUnpickler(pickle.Unpickler):
    """The cache lives in the project folder, which may come from anyone: a
    pickle must only rebuild stackguard's own data classes and plain
    containers, never call arbitrary functions."""

    _BUILTINS = frozenset({"set", "frozenset", "dict", "list", "tuple", "str", "int", "float", "bool", "bytes"})

    def find_class(self, module: str, name: str) -> Any:
        if module == "builtins" and name in self._BUILTINS:
            return super().find_class(module, name)
        if module == "stackguard" or module.startswith("stackguard."):
            value = super().find_class(module, name)
            if isinstance(value, type) and (dataclasses.is_dataclass(value) or hasattr(value, "__attrs_attrs__")):
                return value
        raise pickle.UnpicklingError(f"refusing to load {module}.{name} from the cache")


@dataclass
class SummaryEntry:
    digest: str
    layer_key: str
    layer: str
    summary: Any
    problem: ParseProblem | None


@dataclass
class FindingsEntry:
    digest: str
    key: str
    findings: tuple[Finding, ...]
    notices: tuple[Notice, ...]


@dataclass
class RootCache:
    fingerprint: str
    summaries: dict[str, SummaryEntry] = field(default_factory=dict)
    findings: dict[str, FindingsEntry] = field(default_factory=dict)
    # (key, detected profile): detection reads manifests and scans the code,
    # so its key is every manifest's stat and every Python file's digest.
    profile: tuple[str, StackProfile] | None = None


class CheckCache:
    """One pickle per root in ``<root>/.stackguard_cache/``, read whole at the
    start and replaced atomically at the end."""

    FILE_NAME = f"check-v{CACHE_FORMAT}.pickle"

    def __init__(self, root: str, fingerprint: str, enabled: bool) -> None:
        self.root = root
        self.folder = os.path.join(root, CACHE_DIR_NAME)
        self.fingerprint = fingerprint
        self.enabled = enabled
        self.data = RootCache(fingerprint)
        self.dirty = False

    def is_empty(self) -> bool:
        """Nothing cached for this root (a first run, or a new stackguard)."""
        data = self.data
        return not data.summaries and not data.findings and data.profile is None

    def load(self, notices: list[Notice]) -> None:
        if not self.enabled:
            return
        path = os.path.join(self.folder, self.FILE_NAME)
        try:
            with open(path, "rb") as handle:
                loaded = _SafeUnpickler(handle).load()
        except FileNotFoundError:
            return
        except Exception as exc:  # corrupt, truncated, foreign: start afresh
            reason = f"{exc.__class__.__name__}: {exc}"[:200]
            notices.append(Notice(path, f"ignoring an unreadable cache ({reason}); rebuilding it", "cache"))
            return
        if isinstance(loaded, RootCache) and loaded.fingerprint == self.fingerprint:
            self.data = loaded

    def save(self, live: set[str], notices: list[Notice]) -> bool:
        if not self.enabled:
            return False
        # Forget deleted files.
        for store in (self.data.summaries, self.data.findings):
            for relative in [r for r in store if r not in live]:
                del store[relative]
                self.dirty = True
        if not self.dirty:
            return False
        try:
            os.makedirs(self.folder, exist_ok=True)
            gitignore = os.path.join(self.folder, ".gitignore")
            if not os.path.exists(gitignore):
                with open(gitignore, "w", encoding="utf-8") as handle:
                    handle.write("# Created by stackguard: the cache is never committed.\n*\n")
            fd, temporary = tempfile.mkstemp(prefix=".check-", suffix=".tmp", dir=self.folder)
            with os.fdopen(fd, "wb") as handle:
                pickle.dump(self.data, handle, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(temporary, os.path.join(self.folder, self.FILE_NAME))
        except (OSError, pickle.PicklingError, RecursionError) as exc:
            notices.append(Notice(self.folder, f"cannot write the cache ({exc}); the next run starts afresh", "cache"))
            try:
                os.unlink(temporary)  # type: ignore[possibly-undefined]
            except (OSError, NameError):
                pass
            return False
        self.dirty = False
        return True


# ``field=<int>`` of the position fields in a summary's repr.
_POSITIONS = re.compile(r"\b(?:line|col|end_line|end_col|handler_line|limiter_line)=-?\d+")
_SYMBOL_LINES = re.compile(r"(symbols=\{[^{}]*\})")


def _strip_symbol_lines(match: re.Match[str]) -> str:
    return re.sub(r": -?\d+", "", match.group(1))


def index_digest(summaries: Mapping[str, Any]) -> str:
    """Digest of what the index knows from every file, source positions
    aside: moving code within a file (or editing a function body) does not
    change what other files can learn from it, so it does not re-check
    them. Symbols keep their names only."""
    digest = hashlib.blake2b(digest_size=16)
    for relative in sorted(summaries):
        summary = summaries[relative]
        text = "-" if summary is None else _SYMBOL_LINES.sub(_strip_symbol_lines, _POSITIONS.sub("", repr(summary)))
        digest.update(f"{relative}\x00{text}\x00".encode())
    return digest.hexdigest()


def settings_digest(settings: Settings) -> str:
    from stackguard.config import settings_to_dict

    return _hash(json.dumps(settings_to_dict(settings), sort_keys=True, default=str))


def profile_digest(profile: StackProfile) -> str:
    from stackguard.stack.model import StackProfile
    facts: dict[str, Any] = {"language": profile.language.name if profile.language else None}
    for category in StackProfile.FACT_LISTS:
        facts[category] = sorted((fact.name, json.dumps(fact.detail, sort_keys=True, default=str)) for fact in getattr(profile, category))
    facts["layers"] = sorted((pattern.layer, pattern.glob) for pattern in profile.layers)
    facts["stack_settings"] = json.dumps(profile.stack_settings, sort_keys=True, default=str)
    return _hash(json.dumps(facts, sort_keys=True))


def layer_key(settings: Settings, alembic_dirs: Sequence[str]) -> str:
    return _hash(json.dumps(settings.layers, sort_keys=True), *alembic_dirs)


# ---------------------------------------------------------------------------
# The run


def _read(path: str, max_bytes: int) -> tuple[bytes | None, ParseProblem | None]:
    try:
        size = os.stat(path).st_size
        if size > max_bytes:
            return None, ParseProblem(f"file is {size} bytes, over the {max_bytes}-byte limit; skipped", 1, 0, "too-large")
        with open(path, "rb") as handle:
            return handle.read(max_bytes + 1), None
    except OSError as exc:
        return None, ParseProblem(f"cannot read: {exc.strerror or exc}", 1, 0, "unreadable")


def _digest(data: bytes | None, problem: ParseProblem | None) -> str:
    """What the cache keys a file's entries by: its bytes, or the reason
    there are none."""
    return _hash(data) if data is not None else _hash(problem.message if problem else "")


def _profile_key(root: Root, digests: Sequence[str]) -> str:
    """What a cached stack profile is valid for: the manifests as they are
    on disk and every file's content (detection also scans the code)."""
    manifests = [f"{rel}:{size}:{mtime}" for rel, size, mtime in sorted(root.manifests)]
    return _hash(*manifests, "--", *digests)


def _cache_profile(options: CheckOptions, cache: CheckCache, key: str, root: Root) -> None:
    if options.use_cache and (cache.data.profile or ("", None))[0] != key:
        cache.data.profile = (key, root.profile)
        cache.dirty = True


def _worker_count(options: CheckOptions, tasks: Sequence[FileTask]) -> int:
    if options.jobs is not None:
        return max(1, min(options.jobs, len(tasks)))
    try:
        cpus = len(os.sched_getaffinity(0))  # the CPUs this process may use (containers)
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    if cpus <= 1:
        return 1
    work_bytes = sum(task_size(task) for task in tasks)
    if work_bytes < PARALLEL_MIN_BYTES or len(tasks) < PARALLEL_MIN_FILES:
        return 1
    # At least ~200 KB of source per process, or forking costs more than it saves.
    return max(1, min(cpus, len(tasks), work_bytes // 200_000 or 1))


def _build_index(
    root: RootContext, summaries: Mapping[str, Any], skipped: Mapping[str, ParseProblem], notices: list[Notice]
) -> Any:
    """The root's ``WorkspaceIndex`` from summaries in hand (cached or just
    made), without parsing anything again."""
    try:
        from stackguard.analysis.index import WorkspaceIndex
    except ImportError:
        return None
    try:
        return WorkspaceIndex.from_summaries(Path(root.root), summaries, skipped, root.settings.layers, root.alembic_dirs)
    except Exception as exc:
        notices.append(Notice(root.root, f"cannot build the workspace index ({exc!r}); cross-file rules stay quiet", "index"))
        return None


def parse_notice(problem: ParseProblem) -> str:
    """``cannot parse …; skipped`` for every kind of unusable file."""
    message = problem.message.strip()
    for prefix in ("cannot parse: ", "cannot parse "):
        message = message.removeprefix(prefix)
    message = message.removesuffix("; skipped").rstrip(";. ")
    where = f" (line {problem.line})" if problem.kind == "syntax" and problem.line > 1 else ""
    return f"cannot parse: {message}{where}; skipped"


def _relocate(finding: Finding, root: str) -> Finding:
    path = os.path.join(root, *finding.relative.split("/"))
    return finding if finding.path == path else dataclasses.replace(finding, path=path)


def run_check(options: CheckOptions) -> CheckRun:
    """Check ``options.paths``; raises ``UsageError`` for a path that does
    not exist. Never raises on the content of the files."""
    started = time.perf_counter()
    gc_was_enabled = gc.isenabled()
    # Trees, summaries and findings all live until the end of a phase: the
    # cyclic collector would only walk them again and again. (Workers
    # collect the trees they drop; see FileWorker._dropped.)
    gc.disable()
    try:
        notices: list[Notice] = []
        plan = Plan(options, notices).build()
        planned = time.perf_counter()
        run = _check_plan(plan, options, notices)
        run.stats.timings["plan"] = planned - started
        if options.fix:
            fixed = _apply_fixes(run, notices)
            if fixed:
                notices = [n for n in notices if n.kind in ("settings", "detection", "fix")]
                plan = Plan(options, notices).build()
                run = _check_plan(plan, options, notices)
            run.fixed = fixed
    finally:
        if gc_was_enabled:
            gc.enable()
    run.stats.seconds = time.perf_counter() - started
    return run


def _check_plan(plan: Plan, options: CheckOptions, notices: list[Notice]) -> CheckRun:
    from stackguard.rules import select_rules

    started = time.perf_counter()
    stats = CheckStats()
    fingerprint = code_fingerprint() if options.use_cache else ""
    tasks: list[FileTask] = []
    contexts: dict[str, RootContext] = {}
    caches: dict[str, CheckCache] = {}
    layer_keys: dict[str, str] = {}
    profile_keys: dict[str, str] = {}
    summaries: dict[int, SummaryEntry] = {}
    enabled_rules: dict[str, type[Rule]] = {}
    unread_roots: set[str] = set()
    roots = [root for root in plan.roots.values() if root.files]
    for root in roots:
        settings = root.settings
        for rule in select_rules(settings.select, settings.ignore):
            enabled_rules[rule.code] = rule
        contexts[root.path] = RootContext(root.path, settings, root.alembic_dirs)
        cache = CheckCache(root.path, fingerprint, options.use_cache)
        cache.load(notices)
        caches[root.path] = cache
        lkey = layer_keys[root.path] = layer_key(settings, root.alembic_dirs)
        max_bytes = settings.diagnostics.max_file_bytes
        if not options.use_cache or cache.is_empty():
            # Nothing to look up by content: the workers read the files.
            unread_roots.add(root.path)
            for relative in sorted(root.files):
                path = root.files[relative]
                try:
                    size = os.stat(path).st_size
                except OSError:
                    size = 0
                tasks.append(FileTask(len(tasks), root.path, relative, path, None, "", None, True, size))
            continue
        digests = []
        for relative in sorted(root.files):
            path = root.files[relative]
            data, problem = _read(path, max_bytes)
            digest = _digest(data, problem)
            digests.append(f"{relative}:{digest}")
            task = FileTask(len(tasks), root.path, relative, path, data, digest, problem)
            tasks.append(task)
            entry = cache.data.summaries.get(relative)
            if problem is not None:
                summaries[task.key] = SummaryEntry(digest, lkey, "other", None, problem)
            elif entry is not None and entry.digest == digest and entry.layer_key == lkey:
                summaries[task.key] = entry
                stats.summary_hits += 1
        if options.use_cache:
            profile_keys[root.path] = _profile_key(root, digests)
            cached = cache.data.profile
            if cached is not None and cached[0] == profile_keys[root.path]:
                root.profile = cached[1]
    stats.indexed = len(tasks)
    mark = time.perf_counter()
    stats.timings["read"] = mark - started
    targets = {task.key for task in tasks if task.relative in plan.roots[task.root].targets}
    stats.files = len(targets)

    to_prepare = [task for task in tasks if task.key not in summaries]
    stats.summary_misses = len(to_prepare)
    workers = Workers(contexts, capacity=len(tasks))
    try:
        if to_prepare:
            workers.start(to_prepare, targets, _worker_count(options, to_prepare))
        stats.workers = workers.count
        # Detection runs here while the workers parse.
        detect_started = time.perf_counter()
        plan.detect()
        stats.timings["detect"] = time.perf_counter() - detect_started
        for root in roots:
            assert root.profile is not None
            if root.path not in unread_roots:
                _cache_profile(options, caches[root.path], profile_keys.get(root.path, ""), root)
            # A broken pyproject.toml is already a settings notice.
            reported = {notice.path for notice in notices if notice.kind == "settings"}
            for problem in root.profile.problems:
                if problem.severity in ("error", "warning") and problem.path not in reported:
                    notices.append(Notice(problem.path, problem.message, "detection"))
        if to_prepare:
            known = [(k, tasks[k].root, tasks[k].relative, e.summary, e.problem) for k, e in summaries.items()]
            # Without cached findings (no cache, or an empty one) every file a
            # worker kept a tree of is to be checked.
            own_first = len(unread_roots) == len(roots)
            prepared_files = workers.finish_phase_one({root.path: root.profile for root in roots}, known, own_first)
        else:
            prepared_files = []
        for prepared in prepared_files:
            task = tasks[prepared.key]
            if task.unread:
                task.digest = prepared.digest
            entry = SummaryEntry(task.digest, layer_keys[task.root], prepared.layer, prepared.summary, prepared.problem)
            summaries[task.key] = entry
            notices.extend(prepared.notices)
            caches[task.root].data.summaries[task.relative] = entry
            caches[task.root].dirty = True
        for root in roots:
            if root.path in unread_roots and options.use_cache:
                digests = [f"{t.relative}:{t.digest}" for t in tasks if t.root == root.path]
                profile_keys[root.path] = _profile_key(root, digests)
                _cache_profile(options, caches[root.path], profile_keys[root.path], root)
        stats.timings["summaries"] = time.perf_counter() - mark
        mark = time.perf_counter()
        shared: dict[str, tuple[Any, StackProfile]] = {}
        index_keys: dict[str, str] = {}
        for root in roots:
            assert root.profile is not None
            root_entries = {tasks[k].relative: e for k, e in summaries.items() if tasks[k].root == root.path}
            index = _build_index(
                contexts[root.path],
                {rel: e.summary for rel, e in root_entries.items() if e.summary is not None},
                {rel: e.problem for rel, e in root_entries.items() if e.summary is None and e.problem is not None},
                notices,
            )
            shared[root.path] = (index, root.profile)
            # Here too (not only in the workers): --fix re-checks in this process.
            contexts[root.path].index = index
            contexts[root.path].profile = root.profile
            if options.use_cache:
                settings = root.settings
                rule_codes = ",".join(rule.code for rule in select_rules(settings.select, settings.ignore))
                index_keys[root.path] = _hash(
                    settings_digest(settings),
                    profile_digest(root.profile),
                    rule_codes,
                    index_digest({rel: e.summary for rel, e in root_entries.items()}),
                )
        findings: list[Finding] = []
        to_check: list[tuple[FileTask, str]] = []
        for key in sorted(targets):
            task = tasks[key]
            entry = summaries[key]
            if entry.problem is not None:
                notices.append(Notice(task.path, parse_notice(entry.problem), "parse"))
                continue
            hit = None
            if options.use_cache:
                cached = caches[task.root].data.findings.get(task.relative)
                if cached is not None and cached.digest == task.digest and cached.key == index_keys[task.root]:
                    hit = cached
            if hit is not None:
                stats.findings_hits += 1
                findings.extend(_relocate(f, task.root) for f in hit.findings)
                notices.extend(hit.notices)
            else:
                to_check.append((task, entry.layer))
        stats.findings_misses = len(to_check)
        stats.timings["index"] = time.perf_counter() - mark
        mark = time.perf_counter()
        if to_check:
            count = workers.count if workers.children else _worker_count(options, [t for t, _ in to_check])
            entries = [(k, tasks[k].root, tasks[k].relative, e.summary, e.problem) for k, e in summaries.items()]
            checked_files = workers.phase_two(to_check, shared, count, entries)
            stats.workers = max(stats.workers, count)
            for checked in checked_files:
                task = tasks[checked.key]
                findings.extend(checked.findings)
                notices.extend(checked.notices)
                if options.use_cache:
                    caches[task.root].data.findings[task.relative] = FindingsEntry(
                        task.digest, index_keys[task.root], tuple(checked.findings), tuple(checked.notices)
                    )
                    caches[task.root].dirty = True
        workers.close()
        stats.parsed = workers.parsed
        stats.timings["rules"] = time.perf_counter() - mark
    finally:
        workers.close()
    mark = time.perf_counter()
    for root in roots:
        if caches[root.path].save(set(root.files), notices):
            stats.cache_written = True
    stats.timings["cache"] = time.perf_counter() - mark
    mark = time.perf_counter()
    # Config files may live in roots without Python files (a YAML-only repo).
    for root in plan.roots.values():
        findings.extend(_config_findings(root, options))
    stats.timings["config"] = time.perf_counter() - mark
    rules = sorted(enabled_rules.values(), key=lambda rule: rule.code)
    files = {tasks[k].path: (tasks[k].root, tasks[k].relative, summaries[k].layer) for k in targets}
    return CheckRun(findings, _dedupe(notices), stats, rules, contexts=contexts, files=files)


def _config_findings(root: Root, options: CheckOptions) -> list[Finding]:
    """SG301 over the config files git tracks in this root (YAML, TOML,
    JSON, INI, .env, JS/TS env fallbacks) that lie under a requested path."""
    from stackguard.config_scan import scan_tracked_config
    from stackguard.rules import select_rules

    if "SG301" not in {rule.code for rule in select_rules(root.settings.select, root.settings.ignore)}:
        return []
    base = options.cwd or os.getcwd()
    requested = [os.path.realpath(os.path.join(base, path)) for path in options.paths]
    found = []
    for finding in scan_tracked_config(Path(root.path), root.settings):
        real = os.path.realpath(finding.path)
        if any(real == path or real.startswith(path.rstrip(os.sep) + os.sep) for path in requested):
            found.append(finding)
    return found


def _dedupe(notices: Iterable[Notice]) -> list[Notice]:
    return list(dict.fromkeys(notices))


def _apply_fixes(run: CheckRun, notices: list[Notice]) -> int:
    """Apply the safe fixes of every file with a fixable finding and write
    the files; returns how many findings were fixed. The caller checks the
    tree again afterwards, so what it reports is what remains."""
    from stackguard.analysis.engine import module_name
    from stackguard.fixes import fix_all

    by_path: dict[str, list[Finding]] = {}
    for finding in run.findings:
        if finding.fixable:
            by_path.setdefault(finding.path, []).append(finding)
    fixed = 0
    for path in sorted(by_path):
        if path not in run.files:
            continue
        root, relative, layer = run.files[path]
        ctx = run.contexts[root]

        def check(text: str, ctx: RootContext = ctx, relative: str = relative, layer: str = layer, path: str = path) -> list[Finding]:
            source = parse_source(path, relative, text)
            if source.tree is None:
                return []
            result = ctx.engine.check(source, layer, profile=ctx.profile, index=ctx.index, module=module_name(relative))
            return list(result.findings)

        try:
            with open(path, "rb") as handle:
                data = handle.read()
            text, _problem = decode_source(data)
            if text is None:
                continue
            new_text, fixed_findings = fix_all(text, check, project_root=root)
        except Exception as exc:  # a fix must never take the run down
            notices.append(Notice(path, f"cannot apply fixes ({exc!r}); file left unchanged", "fix"))
            continue
        if not fixed_findings or new_text == text:
            continue
        try:
            # Keep the file's own encoding and line endings (the fix keeps
            # the text's; newline="" writes them as they are).
            encoding = _source_encoding(data)
            with open(path, "w", encoding=encoding, newline="") as handle:
                handle.write(new_text)
        except (OSError, UnicodeEncodeError, LookupError) as exc:
            notices.append(Notice(path, f"cannot write the fixed file ({exc})", "fix"))
            continue
        fixed += len(fixed_findings)
    return fixed


def _source_encoding(data: bytes) -> str:
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError:
        return "utf-8"
    return "utf-8" if encoding == "utf-8-sig" and not data.startswith(b"\xef\xbb\xbf") else encoding


# ---------------------------------------------------------------------------
# Command line


def add_check_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "check",
        help="check files or folders against the guardrails (for CI)",
        description=(
            "Check PATHs (default: .) and print the findings. Exit status: 0 when no error or warning "
            "remains (or with --exit-zero), 1 when some do, 2 on a usage error."
        ),
    )
    parser.add_argument("paths", nargs="*", default=["."], metavar="PATH", help="files or folders (default: .)")
    parser.add_argument("--select", type=_codes, metavar="CODES", help="comma-separated rule codes or prefixes to enable (SG1,SG201)")
    parser.add_argument("--ignore", type=_codes, metavar="CODES", help="comma-separated rule codes or prefixes to disable")
    parser.add_argument("--fix", action="store_true", help="apply the safe fixes, then report what remains")
    parser.add_argument("--format", choices=["text", "json", "sarif"], default="text", help="output format (default: text)")
    parser.add_argument("--exit-zero", action="store_true", help="exit 0 even when findings remain")
    parser.add_argument("--no-cache", action="store_true", help=f"neither read nor write {CACHE_DIR_NAME}/")
    parser.add_argument("--jobs", "-j", type=_positive, metavar="N", help="processes to use (default: one per CPU for large trees)")
    parser.add_argument("--quiet", "-q", action="store_true", help="no summary line")
    parser.set_defaults(handler=run_check_command)


def _codes(value: str) -> list[str]:
    codes = [part.strip().upper() for part in value.split(",") if part.strip()]
    for code in codes:
        if not code.isalnum():
            raise argparse.ArgumentTypeError(f"not a rule code or prefix: {code!r}")
    return codes


def _positive(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {value!r}") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"expected at least 1, got {number}")
    return number


def run_check_command(args: argparse.Namespace) -> int:
    # The cyclic collector would only re-walk trees that are alive until the
    # end of the run anyway (the workers collect what they drop).
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _run_check_command(args)
    finally:
        if gc_was_enabled:
            gc.enable()


def _run_check_command(args: argparse.Namespace) -> int:
    from stackguard import output

    cwd = os.getcwd()
    options = CheckOptions(
        paths=args.paths or ["."],
        select=args.select,
        ignore=args.ignore,
        fix=args.fix,
        use_cache=not args.no_cache,
        jobs=args.jobs,
        cwd=cwd,
    )
    try:
        run = run_check(options)
    except UsageError as exc:
        print(f"stackguard check: {exc}", file=sys.stderr)
        return EXIT_USAGE
    findings = output.sort_findings(run.findings, cwd)
    stderr = sys.stderr
    for notice in run.notices:
        where = output.display_path(notice.path, cwd) if notice.path else "stackguard"
        stderr.write(f"{where}: notice: {notice.message}\n")
    if args.format == "json":
        sys.stdout.write(output.format_json(findings, cwd))
    elif args.format == "sarif":
        sarif_notices = [(output.display_path(n.path, cwd), n.message) for n in run.notices if n.path]
        sys.stdout.write(output.format_sarif(findings, run.rules, cwd, sarif_notices))
    else:
        sys.stdout.write(output.format_text(findings, cwd))
    sys.stdout.flush()
    if not args.quiet:
        stderr.write(output.summary_line(findings, run.stats.files, run.fixed) + "\n")
    if os.environ.get("STACKGUARD_TIMINGS"):
        # For tests/bench: where the time went, as one JSON line.
        stats = dataclasses.asdict(run.stats)
        stderr.write("stackguard-timings: " + json.dumps(stats, sort_keys=True) + "\n")
    if args.exit_zero:
        return EXIT_OK
    return EXIT_FINDINGS if run.failing else EXIT_OK
