"""What stack detection returns: a ``StackProfile`` per project root.

Every fact carries the evidence it was derived from (file and line), so hover,
``stackguard stack`` and the editors' status items can say *why*.
Plain dataclasses: no pygls, no I/O.
"""

from __future__ import annotations

import shlex
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

ProblemSeverity = Literal["error", "warning", "info"]


@dataclass(frozen=True, order=True)
class Evidence:
    """Where a fact was seen. ``path`` is relative to the profile's root, with
    forward slashes; ``line`` is 1-based, 0 when the file's existence alone is
    the evidence (a lock file, a ``migrations/`` folder)."""

    path: str
    line: int = 0
    text: str = ""

    def __str__(self) -> str:
        return f"{self.path}:{self.line}" if self.line else self.path


@dataclass(frozen=True)
class Fact:
    """One detected thing: ``name`` is a stable lowercase id (``fastapi``,
    ``sqlalchemy``, ``postgresql``); ``detail`` holds facts about the fact
    (``{"async": True}``, ``{"location": "migrations"}``)."""

    name: str
    evidence: tuple[Evidence, ...] = ()
    detail: dict[str, Any] = field(default_factory=dict)

    def with_evidence(self, *more: Evidence) -> Fact:
        merged = tuple(sorted(set(self.evidence) | set(more)))
        return Fact(self.name, merged, dict(self.detail))


@dataclass(frozen=True)
class VerifyStep:
    """A check a developer would run. ``name`` is one of syntax, lint,
    typecheck, tests, migrations (or a custom name from stack.yaml); ``cmd`` is
    the command line as written, ``argv`` its shell-free split."""

    name: str
    cmd: str
    argv: tuple[str, ...]
    pass_signal: str | None = None
    skip_if_missing: str | None = None
    timeout: int | None = None
    evidence: tuple[Evidence, ...] = ()

    @classmethod
    def from_cmd(
        cls,
        name: str,
        cmd: str,
        *evidence: Evidence,
        pass_signal: str | None = None,
        skip_if_missing: str | None = None,
        timeout: int | None = None,
    ) -> VerifyStep:
        """Split ``cmd`` the way a POSIX shell splits words (quotes honoured)
        but interpret nothing else: no pipes, globs, ``$()`` or variables.
        An unbalanced quote keeps the raw words rather than failing."""
        try:
            argv = tuple(shlex.split(cmd))
        except ValueError:
            argv = tuple(cmd.split())
        return cls(name, cmd, argv, pass_signal, skip_if_missing, timeout, tuple(evidence))


@dataclass(frozen=True)
class LayerPattern:
    layer: str  # router | service | repository | model | migration | schema | config | test
    glob: str
    evidence: tuple[Evidence, ...] = ()


@dataclass(frozen=True)
class Problem:
    """Something detection could not read. Positions are 1-based; ``line`` 0
    means the whole file. The rest of detection still runs."""

    path: str  # absolute path
    message: str
    line: int = 0
    column: int = 0
    end_line: int = 0
    end_column: int = 0
    severity: ProblemSeverity = "error"

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}:{self.column}" if self.line else self.path
        return f"{where}: {self.message}"


@dataclass
class StackProfile:
    """The stack of one project root (a workspace folder, or a nested root
    with its own manifest). ``root`` is an absolute path; ``relative_root``
    is the root relative to the workspace folder ("." for the folder itself).

    Multi-valued categories are lists; ``language`` is the primary language
    (the one the root's main manifest is for).
    """

    root: str
    relative_root: str = "."
    source: Literal["detected", "stack.yaml"] = "detected"
    language: Fact | None = None
    frameworks: list[Fact] = field(default_factory=list)
    orms: list[Fact] = field(default_factory=list)
    migrations: list[Fact] = field(default_factory=list)
    validation: list[Fact] = field(default_factory=list)
    auth: list[Fact] = field(default_factory=list)
    test_runners: list[Fact] = field(default_factory=list)
    linters: list[Fact] = field(default_factory=list)
    typecheckers: list[Fact] = field(default_factory=list)
    package_managers: list[Fact] = field(default_factory=list)
    databases: list[Fact] = field(default_factory=list)
    queues: list[Fact] = field(default_factory=list)
    layers: list[LayerPattern] = field(default_factory=list)
    verify: list[VerifyStep] = field(default_factory=list)
    # Manifests read for this root (relative paths), for hover and debugInfo.
    manifests: list[str] = field(default_factory=list)
    # stack.yaml path (relative) when one was applied.
    stack_file: str | None = None
    # Raw stackguard settings found in stack.yaml (``stackguard:`` key).
    stack_settings: dict[str, Any] = field(default_factory=dict)
    # stack.yaml ``verify.raw_sql`` (patterns, include_glob, exclude_dirs): not a
    # command to run but extra patterns for SG201 (kept apart from settings).
    raw_sql: dict[str, Any] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    FACT_LISTS = (
        "frameworks",
        "orms",
        "migrations",
        "validation",
        "auth",
        "test_runners",
        "linters",
        "typecheckers",
        "package_managers",
        "databases",
        "queues",
    )

    def add(self, category: str, fact: Fact) -> None:
        """Add a fact to a list category, merging evidence and detail with an
        existing fact of the same name instead of duplicating it."""
        items: list[Fact] = getattr(self, category)
        for index, existing in enumerate(items):
            if existing.name == fact.name:
                merged = existing.with_evidence(*fact.evidence)
                merged.detail.update({k: v for k, v in fact.detail.items() if k not in merged.detail})
                items[index] = merged
                return
        items.append(fact)

    def names(self, category: str) -> list[str]:
        value = getattr(self, category)
        if isinstance(value, Fact):
            return [value.name]
        if value is None:
            return []
        return [item.name for item in value]

    def has(self, name: str) -> bool:
        """True when any category holds a fact with this name."""
        if self.language is not None and self.language.name == name:
            return True
        return any(name in self.names(category) for category in self.FACT_LISTS)

    def evidence_at(self, relative_path: str) -> list[tuple[str, Fact, Evidence]]:
        """Every (category, fact, evidence) whose evidence is in this file,
        for hover on manifest lines."""
        found = []
        categories = [("language", [self.language] if self.language else [])]
        categories += [(c, getattr(self, c)) for c in self.FACT_LISTS]
        for category, facts in categories:
            for fact in facts:
                for evidence in fact.evidence:
                    if evidence.path == relative_path:
                        found.append((category, fact, evidence))
        return found

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        return data

    def summary(self) -> str:
        """One line for status bars: ``python · fastapi · sqlalchemy · alembic``."""
        parts = [self.language.name] if self.language else []
        for category in ("frameworks", "orms", "migrations"):
            parts.extend(self.names(category))
        return " · ".join(dict.fromkeys(parts)) or "unknown stack"
