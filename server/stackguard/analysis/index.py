"""The workspace index: one ``ModuleSummary`` per Python file of a project
root, and the cross-file questions rules and actions ask of them.

* Built cold at startup (``WorkspaceIndex.build``): files are read, parsed
  with ``ast`` and summarised; a tree of more than ``PARALLEL_THRESHOLD``
  files on a machine with more than one CPU is spread over a process pool in
  chunks (summaries are plain picklable dataclasses; trees never cross a
  process boundary). Files that cannot be read or parsed are recorded in
  ``skipped`` and left out, never raised.
* Updated per changed file (``update``/``remove``), which return the files
  whose analysis may change as a result (``dependents``), so the server can
  re-check only those.
* Queries: models and relationships (including reverse accessors the ORM
  adds), routes with prefixes applied across modules, layers, the import
  graph, rate limiting, the errors module.

Derived tables (models by name, reverse relationships, routes, the import
graph) are computed lazily and dropped when a summary changes: an edit
costs a dict update, the next query pays for the rebuild (milliseconds for
a thousand files). The index is not locked: callers mutate it from one
thread (the server's event loop) and read it from the same one.
"""

from __future__ import annotations

import ast
import math
import multiprocessing
import os
import sys
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from .incremental import line_free
from .layers import classify_layer
from .source import ParseProblem, load_source
from .summary import (
    ModelInfo,
    ModuleSummary,
    RelationshipInfo,
    RouteInfo,
    RouterInclude,
    apply_include,
    summarize,
)

# Below this many files a cold build stays in-process: starting workers
# costs more than parsing a few hundred small files.
PARALLEL_THRESHOLD = 200
MAX_FILE_BYTES = 2_000_000
_MAX_WORKERS = 8
_ERROR_MODULE_STEMS = frozenset({"errors", "exceptions", "error", "exception", "exc"})
_DJANGO_RELATION_KINDS = frozenset({"ForeignKey", "OneToOneField", "ManyToManyField", "ParentalKey", "ParentalManyToManyField"})

Overrides = Mapping[str, Sequence[str]]


@dataclass(frozen=True)
class BuildStats:
    files: int
    parsed: int
    skipped: int
    workers: int  # 1 when the build ran in-process
    seconds: float


def normalise_overrides(layers: Any) -> dict[str, list[str]]:
    """Layer globs from settings (``{"router": ["app/api/**"]}``) or from a
    stack profile's ``LayerPattern`` list, as one mapping."""
    if not layers:
        return {}
    if isinstance(layers, Mapping):
        out: dict[str, list[str]] = {}
        for layer, globs in layers.items():
            if isinstance(globs, str):
                globs = [globs]
            if isinstance(layer, str) and isinstance(globs, Iterable):
                out[layer] = [g for g in globs if isinstance(g, str)]
        return out
    out = {}
    for pattern in layers:
        layer, glob = getattr(pattern, "layer", None), getattr(pattern, "glob", None)
        if isinstance(layer, str) and isinstance(glob, str):
            out.setdefault(layer, []).append(glob)
    return out


def alembic_dirs_in(relatives: Iterable[str]) -> set[str]:
    """Folders holding an Alembic ``env.py`` next to a ``versions/`` folder."""
    files = list(relatives)
    env_dirs = {rel[: -len("env.py")].rstrip("/") for rel in files if rel == "env.py" or rel.endswith("/env.py")}
    found = set()
    for folder in env_dirs:
        prefix = f"{folder}/versions/" if folder else "versions/"
        if any(rel.startswith(prefix) for rel in files):
            found.add(folder)
    return found


def analyze_module(
    relative: str,
    tree: ast.Module,
    overrides: Overrides | None = None,
    alembic_dirs: Iterable[str] = (),
) -> ModuleSummary:
    """Summary and layer of one parsed module, in one pass: the summary's
    route handlers feed the layer's content rule."""
    summary = summarize(relative, tree, "other")
    summary.layer = classify_layer(
        relative,
        tree,
        overrides,
        has_routes=summary.declares_handlers,
        alembic_dirs=frozenset(alembic_dirs),
        imports=summary.imports,
    )
    return summary


def _analyze_path(
    root: Path, relative: str, overrides: Overrides | None, alembic_dirs: frozenset[str], max_bytes: int
) -> tuple[str, ModuleSummary | None, ParseProblem | None]:
    path = root / relative
    try:
        resolved = path.resolve()
        if resolved != path and not resolved.is_relative_to(root.resolve()):
            return relative, None, ParseProblem("symlink to a file outside the project; skipped", 1, 0, "unreadable")
    except (OSError, RuntimeError) as exc:  # RuntimeError: symlink loop on older Pythons
        return relative, None, ParseProblem(f"cannot resolve path: {exc}", 1, 0, "unreadable")
    source = load_source(path, relative, max_bytes)
    if source.tree is None:
        return relative, None, source.parse_problem or ParseProblem("cannot parse", 1, 0, "syntax")
    try:
        return relative, analyze_module(relative, source.tree, overrides, alembic_dirs), None
    except (RecursionError, MemoryError):
        return relative, None, ParseProblem("too deeply nested to analyse; skipped", 1, 0, "unsupported")
    except Exception as exc:  # noqa: BLE001  # a summariser bug must not lose the whole build
        return relative, None, ParseProblem(f"could not analyse: {exc!r}", 1, 0, "unsupported")


def _analyze_chunk(
    args: tuple[str, list[str], dict[str, list[str]], frozenset[str], int],
) -> list[tuple[str, ModuleSummary | None, ParseProblem | None]]:
    """Worker entry point (module level so it pickles by reference)."""
    root, relatives, overrides, alembic_dirs, max_bytes = args
    root_path = Path(root)
    return [_analyze_path(root_path, rel, overrides, alembic_dirs, max_bytes) for rel in relatives]


def _pool_context() -> multiprocessing.context.BaseContext:
    """``fork`` for a single-threaded process on Linux (``stackguard
    check``): cheapest, and it does not re-run the ``__main__`` script in the
    workers. A threaded process (the language server) must not fork (a child
    can inherit a lock another thread holds), so it uses ``forkserver``, or
    ``spawn`` where that is missing; both re-import ``__main__`` unless it is
    a package's ``__main__`` (``python -m stackguard``) or guarded by
    ``if __name__ == "__main__"`` (console scripts are)."""
    methods = multiprocessing.get_all_start_methods()
    if sys.platform.startswith("linux") and "fork" in methods and threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")


class WorkspaceIndex:
    def __init__(
        self,
        root: Path | None = None,
        settings_layers: Any = None,
        alembic_dirs: Iterable[str] = (),
    ) -> None:
        self.root = root
        self.overrides: dict[str, list[str]] = normalise_overrides(settings_layers)
        self.alembic_dirs: set[str] = set(alembic_dirs)
        self.summaries: dict[str, ModuleSummary] = {}
        self.skipped: dict[str, ParseProblem] = {}
        self.last_build: BuildStats | None = None
        self._module_relative: dict[str, str] = {}
        self._graph_stale = True
        self._suffixes: dict[str, list[str]] = {}
        self._edges: dict[str, set[str]] = {}
        self._importers: dict[str, set[str]] = {}
        self._name_importers: dict[str, set[str]] = {}
        self._models_by_name: dict[str, list[ModelInfo]] | None = None
        self._model_names: frozenset[str] | None = None
        self._reverse: dict[tuple[str, str], RelationshipInfo] | None = None
        self._routes: list[RouteInfo] | None = None
        self._routes_by_relative: dict[str, list[RouteInfo]] | None = None
        # Bumped whenever a summary changes in anything but positions: an
        # open document's carried-over findings (analysis/incremental.py)
        # are only valid while the index they were computed with is.
        self.generation = 0
        self._shapes: dict[str, Any] = {}

    # ---- building --------------------------------------------------------

    @classmethod
    def build(
        cls,
        root: Path,
        relatives: list[str],
        processes: int | None = None,
        settings_layers: Any = None,
        *,
        max_file_bytes: int = MAX_FILE_BYTES,
        parallel_threshold: int = PARALLEL_THRESHOLD,
    ) -> WorkspaceIndex:
        """Index the ``.py`` files among ``relatives`` (paths relative to
        ``root``). ``processes``: worker count (None: the CPU count, at most
        8; 1: in-process)."""
        started = time.perf_counter()
        root = Path(root)
        python_files = sorted({rel.replace("\\", "/") for rel in relatives if rel.endswith(".py")})
        index = cls(root, settings_layers, alembic_dirs_in(relatives))
        alembic = frozenset(index.alembic_dirs)
        workers = processes if processes is not None else min(os.cpu_count() or 1, _MAX_WORKERS)
        results: list[tuple[str, ModuleSummary | None, ParseProblem | None]] = []
        used_workers = 1
        if workers > 1 and len(python_files) > parallel_threshold:
            pooled = index._build_in_pool(root, python_files, workers, alembic, max_file_bytes)
            if pooled is not None:
                results = pooled
                used_workers = workers
        if not results and python_files:
            results = [_analyze_path(root, rel, index.overrides, alembic, max_file_bytes) for rel in python_files]
        for relative, summary, problem in results:
            if summary is not None:
                index.summaries[relative] = summary
            elif problem is not None:
                index.skipped[relative] = problem
        index._rebuild_module_map()
        index.last_build = BuildStats(
            len(python_files), len(index.summaries), len(index.skipped), used_workers, time.perf_counter() - started
        )
        return index

    @classmethod
    def from_summaries(
        cls,
        root: Path | None,
        summaries: Mapping[str, ModuleSummary],
        skipped: Mapping[str, ParseProblem] | None = None,
        settings_layers: Any = None,
        alembic_dirs: Iterable[str] = (),
    ) -> WorkspaceIndex:
        """An index from summaries computed elsewhere (``stackguard check``'s
        workers, a cache), loaded in bulk: ``update`` per file would rebuild
        the module map and import graph once per file."""
        index = cls(root, settings_layers, alembic_dirs)
        index.summaries.update(sorted(summaries.items()))
        index.skipped.update(skipped or {})
        index._rebuild_module_map()
        return index

    def _build_in_pool(
        self, root: Path, files: list[str], workers: int, alembic: frozenset[str], max_bytes: int
    ) -> list[tuple[str, ModuleSummary | None, ParseProblem | None]] | None:
        """Summaries from a process pool, or None when a pool cannot run here
        (no semaphores in a sandbox, a worker died): the caller falls back to
        in-process."""
        size = max(8, math.ceil(len(files) / (workers * 4)))
        chunks = [files[i : i + size] for i in range(0, len(files), size)]
        jobs = [(str(root), chunk, self.overrides, alembic, max_bytes) for chunk in chunks]
        try:
            with ProcessPoolExecutor(max_workers=workers, mp_context=_pool_context()) as pool:
                out: list[tuple[str, ModuleSummary | None, ParseProblem | None]] = []
                for part in pool.map(_analyze_chunk, jobs):
                    out.extend(part)
                return out
        except (OSError, BrokenProcessPool, ImportError, RuntimeError, ValueError):
            return None

    def analyze(self, relative: str, tree: ast.Module) -> ModuleSummary:
        """Summary of a parsed document with this index's layer settings; not
        stored (call ``update`` with it)."""
        return analyze_module(relative, tree, self.overrides, self.alembic_dirs)

    def update_tree(self, relative: str, tree: ast.Module) -> set[str]:
        """``update(analyze(relative, tree))``."""
        return self.update(self.analyze(relative, tree))

    # ---- incremental updates ---------------------------------------------

    def update(self, summary: ModuleSummary) -> set[str]:
        """Store a file's new summary. Returns the other files whose analysis
        may change: its dependents (before and after the change) when what
        other files can see of it changed (layer, models, top-level names,
        exception classes), every router file when the project's rate-limiter
        status flipped, and nothing when only bodies or positions moved, so a
        keystroke inside a function does not re-check its importers."""
        relative = summary.relative
        old = self.summaries.get(relative)
        shape = line_free(summary)
        old_shape = self._shapes.get(relative) if old is not None else None
        if old is not None and old_shape is None:
            old_shape = line_free(old)
        if old_shape != shape:
            self.generation += 1
        self._shapes[relative] = shape
        limiter_before = self.has_rate_limiter
        visible_change = old is None or public_signature(old) != public_signature(summary)
        affected = self.dependents(relative) if old is not None and visible_change else set()
        self.summaries[relative] = summary
        self.skipped.pop(relative, None)
        if old is None or old.module != summary.module:
            self._rebuild_module_map()
        else:
            self._refresh_edges(relative, old)
        self._invalidate()
        if visible_change:
            affected |= self.dependents(relative)
        if self.has_rate_limiter != limiter_before:
            affected |= set(self.files_in_layer("router"))
        if (old.migration if old is not None else None) != summary.migration:
            # SG601 compares every model with the migration history.
            affected |= self.files_declaring_models()
        affected.discard(relative)
        return affected

    def shape_of(self, relative: str) -> Any:
        """The file's summary without positions (what ``generation`` tracks)."""
        shape = self._shapes.get(relative)
        if shape is None and relative in self.summaries:
            shape = self._shapes[relative] = line_free(self.summaries[relative])
        return shape

    def files_declaring_models(self) -> set[str]:
        return {relative for relative, summary in self.summaries.items() if summary.models}

    def remove(self, relative: str) -> set[str]:
        """Forget a deleted (or excluded) file; returns its dependents (and
        every router file when the project's only rate limiter went away)."""
        self.skipped.pop(relative, None)
        if relative not in self.summaries:
            return set()
        limiter_before = self.has_rate_limiter
        self.generation += 1
        self._shapes.pop(relative, None)
        affected = self.dependents(relative)
        if self.summaries[relative].migration is not None:
            affected |= self.files_declaring_models()
        del self.summaries[relative]
        self._rebuild_module_map()
        self._invalidate()
        if self.has_rate_limiter != limiter_before:
            affected |= set(self.files_in_layer("router"))
        affected.discard(relative)
        return affected

    def record_skipped(self, relative: str, problem: ParseProblem) -> None:
        """Note that a file cannot be parsed. Its last good summary (if any)
        stays: a syntax error mid-typing must not erase what the file
        declared a keystroke earlier."""
        self.skipped[relative] = problem

    def _invalidate(self) -> None:
        self._models_by_name = None
        self._model_names = None
        self._reverse = None
        self._routes = None
        self._routes_by_relative = None

    # ---- import graph ----------------------------------------------------

    def _rebuild_module_map(self) -> None:
        self._module_relative = {}
        for relative in sorted(self.summaries):
            self._module_relative.setdefault(self.summaries[relative].module, relative)
        suffixes: dict[str, list[str]] = {}
        for module in self._module_relative:
            parts = module.split(".")
            # Only suffixes of two names or more: ``import logging`` must not
            # resolve to the project's ``app/core/logging.py``.
            for start in range(1, len(parts) - 1):
                suffixes.setdefault(".".join(parts[start:]), []).append(module)
        self._suffixes = suffixes
        self._graph_stale = True

    def _ensure_graph(self) -> None:
        if not self._graph_stale:
            return
        self._edges = {}
        self._importers = {}
        self._name_importers = {}
        for relative in self.summaries:
            self._add_edges(relative)
        self._graph_stale = False

    def _refresh_edges(self, relative: str, old: ModuleSummary) -> None:
        if self._graph_stale:
            return
        for target in self._edges.pop(relative, set()):
            self._importers.get(target, set()).discard(relative)
        for record in old.imports:
            for name in record.names:
                self._name_importers.get(name, set()).discard(relative)
        self._add_edges(relative)

    def _add_edges(self, relative: str) -> None:
        summary = self.summaries[relative]
        targets: set[str] = set()
        for record in summary.imports:
            if record.module.startswith("."):
                continue
            base = self.resolve_module(record.module)
            if base is not None:
                targets.add(base)
            if record.is_from:
                for name in record.names:
                    if name == "*":
                        continue
                    sub = self.resolve_module(f"{record.module}.{name}")
                    if sub is not None:
                        targets.add(sub)
                    elif base is not None:
                        self._name_importers.setdefault(name, set()).add(relative)
        targets.discard(relative)
        self._edges[relative] = targets
        for target in targets:
            self._importers.setdefault(target, set()).add(relative)

    def resolve_module(self, module: str) -> str | None:
        """The relative path of a project module by dotted name: exact, else
        the one module whose name ends with it (``app.models`` when modules
        are named from a parent folder, ``backend.app.models``)."""
        relative = self._module_relative.get(module)
        if relative is not None:
            return relative
        if "." not in module:
            return None
        candidates = self._suffixes.get(module)
        if candidates and len(candidates) == 1:
            return self._module_relative[candidates[0]]
        return None

    def module_for(self, relative_or_module: str) -> ModuleSummary | None:
        """The summary of a file, by relative path (``app/models.py``) or by
        dotted module name (``app.models``); its ``.module`` is the name."""
        summary = self.summaries.get(relative_or_module)
        if summary is not None:
            return summary
        relative = self.resolve_module(relative_or_module)
        return self.summaries.get(relative) if relative is not None else None

    @property
    def modules(self) -> dict[str, str]:
        """Dotted module name → relative path, for every indexed module."""
        return dict(self._module_relative)

    def relative_for(self, module: str) -> str | None:
        return self.resolve_module(module)

    def imports_of(self, module: str) -> set[str]:
        """Project modules ``module`` imports (dotted names)."""
        self._ensure_graph()
        relative = self.resolve_module(module) or (module if module in self.summaries else None)
        if relative is None:
            return set()
        return {self.summaries[r].module for r in self._edges.get(relative, set())}

    def importers_of(self, module: str) -> set[str]:
        """Project modules importing ``module`` (dotted names)."""
        self._ensure_graph()
        relative = self.resolve_module(module) or (module if module in self.summaries else None)
        if relative is None:
            return set()
        return {self.summaries[r].module for r in self._importers.get(relative, set())}

    def dependents(self, relative: str) -> set[str]:
        """Files whose analysis may change when ``relative`` changes: its
        importers, and when it defines models, every file importing one of
        those model names from any project module (re-exports included)."""
        self._ensure_graph()
        result = set(self._importers.get(relative, set()))
        summary = self.summaries.get(relative)
        if summary is not None:
            for name in summary.model_names():
                result |= self._name_importers.get(name, set())
        result.discard(relative)
        return result

    # ---- layers ----------------------------------------------------------

    def layer_of(self, relative: str) -> str | None:
        summary = self.summaries.get(relative)
        return summary.layer if summary else None

    def files_in_layer(self, layer: str) -> list[str]:
        return sorted(rel for rel, s in self.summaries.items() if s.layer == layer)

    # ---- models ----------------------------------------------------------

    def _model_table(self) -> dict[str, list[ModelInfo]]:
        if self._models_by_name is None:
            table: dict[str, list[ModelInfo]] = {}
            for relative in sorted(self.summaries):
                for model in self.summaries[relative].models:
                    table.setdefault(model.name, []).append(model)
            self._models_by_name = table
        return self._models_by_name

    @property
    def models(self) -> dict[str, ModelInfo]:
        """Model name → model; for a name defined twice, the first by path
        (``models_named`` has them all)."""
        return {name: found[0] for name, found in self._model_table().items()}

    def model_names(self) -> frozenset[str]:
        """Every model class name in the project; kept until the index
        changes (every rule context of a check asks for it)."""
        if self._model_names is None:
            self._model_names = frozenset(self._model_table())
        return self._model_names

    def models_named(self, name: str) -> list[ModelInfo]:
        return list(self._model_table().get(name, ()))

    def model(self, name: str) -> ModelInfo | None:
        """A model by class name, or ``module.Class`` to pick among equals."""
        found = self._model_table().get(name)
        if found:
            return found[0]
        if "." in name:
            module, _, cls = name.rpartition(".")
            for model in self._model_table().get(cls, ()):
                if model.module == module or model.module.endswith("." + module):
                    return model
        return None

    def model_for_table(self, table: str) -> ModelInfo | None:
        for found in self._model_table().values():
            for model in found:
                if model.table == table:
                    return model
        return None

    def relationships_of(self, model_name: str) -> dict[str, RelationshipInfo]:
        """Declared and reverse relationships of a model (to-many/to-one
        inferred from foreign keys where the declaration leaves it open)."""
        out: dict[str, RelationshipInfo] = {}
        for (target, attr), info in self._reverse_table().items():
            if target == model_name:
                out[attr] = info
        for model in self.models_named(model_name):
            for attr, rel in model.relationships.items():
                out.setdefault(attr, self._with_uselist(model, rel))
        return out

    def relationship(self, model_name: str, attr: str) -> RelationshipInfo | None:
        for model in self.models_named(model_name):
            rel = model.relationships.get(attr)
            if rel is not None:
                return self._with_uselist(model, rel)
        return self._reverse_table().get((model_name, attr))

    def _with_uselist(self, model: ModelInfo, rel: RelationshipInfo) -> RelationshipInfo:
        if rel.uselist is not None:
            return rel
        inferred = self._infer_uselist(model, rel)
        return replace(rel, uselist=inferred) if inferred is not None else rel

    def _infer_uselist(self, model: ModelInfo, rel: RelationshipInfo) -> bool | None:
        """SQLAlchemy's rule when nothing says: the side holding the foreign
        key to the other's table is many-to-one, the other one-to-many."""
        if rel.secondary:
            return True
        target = self.model(rel.target)
        if target is None:
            return None
        # ``ForeignKey("users.id")`` names the table, ``ForeignKey(User.id)`` the class.
        if any(_fk_table(c.foreign_key) in (target.table, target.name) for c in model.columns.values()):
            return False
        if any(_fk_table(c.foreign_key) in (model.table, model.name) for c in target.columns.values()):
            return True
        return None

    def _reverse_table(self) -> dict[tuple[str, str], RelationshipInfo]:
        if self._reverse is not None:
            return self._reverse
        reverse: dict[tuple[str, str], RelationshipInfo] = {}
        for found in self._model_table().values():
            for model in found:
                for rel in model.relationships.values():
                    if rel.reverse:
                        continue
                    if model.orm == "django" and rel.kind in _DJANGO_RELATION_KINDS:
                        entry = self._django_reverse(model, rel)
                    elif model.orm in ("peewee", "tortoise"):
                        entry = self._active_record_reverse(model, rel)
                    else:
                        entry = self._sqlalchemy_reverse(model, rel)
                    if entry is not None:
                        reverse.setdefault((rel.target, entry.name), entry)
        self._reverse = reverse
        return reverse

    @staticmethod
    def _django_reverse(model: ModelInfo, rel: RelationshipInfo) -> RelationshipInfo | None:
        """``Comment.post = ForeignKey(Post, related_name="comments")`` gives
        ``Post.comments`` (to-many); without ``related_name`` the accessor is
        ``comment_set`` (``comment`` for a one-to-one); ``+`` hides it."""
        related = rel.related_name
        if related is not None:
            if related.endswith("+"):
                return None
            related = related.replace("%(class)s", model.name.lower()).replace("%(app_label)s", model.app_label or "")
        one_to_one = rel.kind == "OneToOneField"
        name = related or (model.name.lower() if one_to_one else f"{model.name.lower()}_set")
        return RelationshipInfo(
            name,
            model.name,
            not one_to_one,
            None,
            rel.name,
            rel.secondary,
            rel.line,
            reverse=True,
            kind=rel.kind,
            related_name=rel.related_name,
        )

    @staticmethod
    def _active_record_reverse(model: ModelInfo, rel: RelationshipInfo) -> RelationshipInfo | None:
        """Peewee ``backref`` (default ``<model>_set``) and Tortoise
        ``related_name`` (default ``<model>s``); ``+`` hides it."""
        name = rel.related_name
        if name is not None and name.endswith("+"):
            return None
        if not name:
            name = f"{model.name.lower()}s" if model.orm == "tortoise" else f"{model.name.lower()}_set"
        one_to_one = rel.kind == "OneToOneField"
        return RelationshipInfo(
            name, model.name, not one_to_one, None, rel.name, None, rel.line, reverse=True, kind=rel.kind, related_name=rel.related_name
        )

    def _sqlalchemy_reverse(self, model: ModelInfo, rel: RelationshipInfo) -> RelationshipInfo | None:
        """``backref="x"`` adds ``x`` to the target; a ``back_populates``
        naming an attribute the target does not declare is treated the same."""
        name = rel.backref
        if name is None and rel.back_populates:
            target = self.model(rel.target)
            if target is not None and rel.back_populates in target.relationships:
                return None
            name = rel.back_populates
        if not name:
            return None
        forward = self._with_uselist(model, rel).uselist
        if rel.backref_uselist is not None:
            uselist: bool | None = rel.backref_uselist
        elif rel.secondary:
            uselist = True
        elif forward is None:
            uselist = None
        else:
            uselist = not forward
        return RelationshipInfo(
            name,
            model.name,
            uselist,
            rel.backref_lazy,
            rel.name,
            rel.secondary,
            rel.line,
            reverse=True,
            kind=rel.kind,
        )

    # ---- routes ----------------------------------------------------------

    @property
    def routes(self) -> list[RouteInfo]:
        """Every route, with includes across modules applied
        (``app.include_router(items.router, prefix="/items")`` in main.py,
        ``register_blueprint``, Django ``include("blog.urls")``…). A router
        mounted twice yields its routes twice, once per mount."""
        if self._routes is not None:
            return self._routes
        self._ensure_graph()
        by_child: dict[tuple[str, str], list[tuple[str, RouterInclude]]] = {}
        for relative in sorted(self.summaries):
            for include in self.summaries[relative].includes:
                target = self._include_target(relative, include)
                if target is not None:
                    by_child.setdefault(target, []).append((relative, include))
        routes: list[RouteInfo] = []
        for relative in sorted(self.summaries):
            for route in self.summaries[relative].routes:
                for path in self._mounted_paths(route.path, relative, route.owner, by_child, {(relative, route.owner)}, True):
                    routes.append(route if path == route.path else replace(route, path=path))
        self._routes = routes
        return routes

    def routes_in(self, relative: str) -> list[RouteInfo]:
        """The routes whose handlers live in ``relative`` (asked once per
        router file per check: grouped once, not filtered each time)."""
        if self._routes_by_relative is None:
            grouped: dict[str, list[RouteInfo]] = {}
            for route in self.routes:
                grouped.setdefault(route.relative, []).append(route)
            self._routes_by_relative = grouped
        return list(self._routes_by_relative.get(relative, ()))

    def _mounted_paths(
        self,
        path: str,
        relative: str,
        owner: str,
        by_child: dict[tuple[str, str], list[tuple[str, RouterInclude]]],
        seen: set[tuple[str, str]],
        first: bool,
    ) -> list[str]:
        parents = by_child.get((relative, owner), [])
        if first:
            # Includes inside the route's own module were applied by the summary.
            parents = [p for p in parents if p[0] != relative]
        if not parents or len(seen) > 12:
            return [path]
        out: list[str] = []
        child_decl = self.summaries[relative].routers.get(owner)
        for parent_relative, include in parents:
            key = (parent_relative, include.parent)
            if key in seen:
                continue
            parent_decl = self.summaries[parent_relative].routers.get(include.parent)
            mounted = apply_include(path, include, child_decl, parent_decl)
            out.extend(self._mounted_paths(mounted, parent_relative, include.parent, by_child, seen | {key}, False))
            if len(out) > 32:
                break
        return out or [path]

    def _include_target(self, relative: str, include: RouterInclude) -> tuple[str, str] | None:
        """(file, routing object) an include refers to."""
        if include.child_is_module:
            target = self.resolve_module(include.child)
            return (target, "urlpatterns") if target is not None else None
        if "." not in include.child:
            return relative, include.child
        return self._resolve_object(include.child, 0)

    def _resolve_object(self, qualified: str, depth: int) -> tuple[str, str] | None:
        """``app.api.routes.items.router`` → (``app/api/routes/items.py``,
        ``router``), following ``from .items import router as items_router``
        re-exports a few levels deep."""
        module, _, name = qualified.rpartition(".")
        target = self.resolve_module(module) if module else None
        if target is None:
            return None
        summary = self.summaries[target]
        defines = name in summary.routers or any(r.owner == name for r in summary.routes) or name in summary.symbols
        if defines or depth >= 3:
            return target, name
        for record in summary.imports:
            if not record.is_from or "*" in record.names:
                continue
            for original, bound in zip(record.names, record.bound):
                if bound == name:
                    found = self._resolve_object(f"{record.module}.{original}", depth + 1)
                    if found is not None:
                        return found
        return target, name

    # ---- project-wide facts ----------------------------------------------

    @property
    def has_rate_limiter(self) -> bool:
        return any(summary.has_limiter for summary in self.summaries.values())

    def rate_limiter_evidence(self) -> tuple[str, int] | None:
        for relative in sorted(self.summaries):
            summary = self.summaries[relative]
            if summary.has_limiter:
                return relative, summary.limiter_line
        return None

    def errors_module(self) -> str | None:
        """The project's errors module: ``errors.py``/``exceptions.py`` (or
        an ``errors/``/``exceptions/`` package) outside tests and migrations.
        One that defines exception classes beats one that does not, then the
        shallower path, then the one with more classes."""
        best: tuple[tuple[int, int, int, str], str] | None = None
        for relative, summary in self.summaries.items():
            if summary.layer in ("test", "migration"):
                continue
            parts = relative.split("/")
            stem = parts[-1].rsplit(".", 1)[0]
            named = stem in _ERROR_MODULE_STEMS or (stem == "__init__" and len(parts) > 1 and parts[-2] in _ERROR_MODULE_STEMS)
            if not named:
                continue
            key = (0 if summary.exception_classes else 1, len(parts), -len(summary.exception_classes), relative)
            if best is None or key < best[0]:
                best = (key, relative)
        return best[1] if best else None

    def modules_for(self, resource: str, layer: str) -> list[str]:
        """Files of ``layer`` named after ``resource`` (``Item``, ``items``):
        ``services/items.py``, ``item_service.py``, ``services/item/…``."""
        variants = _name_variants(resource)
        found = []
        for relative, summary in self.summaries.items():
            if summary.layer != layer:
                continue
            parts = relative.split("/")
            stem = parts[-1].rsplit(".", 1)[0]
            words = set(stem.split("_")) | set(parts[:-1])
            if stem in variants or words & variants:
                found.append(relative)
        return sorted(found, key=lambda rel: (rel.count("/"), rel))

    def service_modules_for(self, resource: str) -> list[str]:
        return self.modules_for(resource, "service")

    def repository_modules_for(self, resource: str) -> list[str]:
        return self.modules_for(resource, "repository")

    def find_symbol(self, name: str) -> list[tuple[str, int]]:
        """(file, line) of every top-level function or class named ``name``."""
        return sorted(
            (relative, summary.symbols[name]) for relative, summary in self.summaries.items() if name in summary.symbols
        )


def public_signature(summary: ModuleSummary) -> tuple[Any, ...]:
    """What other files' analysis can depend on, without positions: two
    summaries with equal signatures need no re-check of dependents."""
    models = tuple(
        (
            m.name,
            m.orm,
            m.table,
            tuple((c.name, c.type, c.nullable, c.primary_key, c.unique, c.index, c.default, c.foreign_key) for c in m.columns.values()),
            tuple((r.name, r.target, r.uselist, r.lazy, r.back_populates, r.secondary, r.backref, r.related_name) for r in m.relationships.values()),
        )
        for m in summary.models
    )
    return (
        summary.module,
        summary.layer,
        models,
        tuple(sorted(summary.symbols)),
        tuple(summary.exception_classes),
        summary.has_limiter,
        tuple(sorted(summary.sessions)),
    )


def _fk_table(foreign_key: str | None) -> str | None:
    if not foreign_key or "." not in foreign_key:
        return None
    return foreign_key.rsplit(".", 1)[0]


def _name_variants(resource: str) -> set[str]:
    """``Item``/``items``/``Category`` → {item, items, category, categories}."""
    import re

    snake = re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", resource).lower().strip("_")
    variants = {snake}
    if snake.endswith("ies"):
        variants.add(snake[:-3] + "y")
    elif snake.endswith("s"):
        variants.add(snake[:-1])
    if snake.endswith("y"):
        variants.add(snake[:-1] + "ies")
    else:
        variants.add(snake + "s")
    return {v for v in variants if v}
