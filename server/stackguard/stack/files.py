"""Safe, bounded file access for detection.

Detection reads user trees that may hold anything: binary files named like
manifests, non-UTF-8 text, huge lock files, symlink loops, node_modules with
100k files. Everything here returns ``None`` plus a recorded ``Problem``
instead of raising, and never follows a symlink out of, or around, the tree.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ..globs import glob_to_regex
from .model import Evidence, Problem

# Where a root's stack.yaml lives, the project's own first.
STACK_FILES = ("stack/stack.yaml", ".agents/skills/oma-backend/stack/stack.yaml")


def find_stack_file(root: Path) -> str | None:
    """The root's stack.yaml (relative path), the project's own first."""
    for relative in STACK_FILES:
        try:
            if (root / relative).is_file():
                return relative
        except OSError:
            continue
    return None


# Folders that never hold a project's own manifests or code.
SKIP_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        "node_modules",
        ".venv",
        "venv",
        "env",
        ".env",
        "__pycache__",
        ".mypy_cache",
        ".ruff_cache",
        ".pytest_cache",
        ".tox",
        ".nox",
        "dist",
        "build",
        "target",
        "site-packages",
        ".next",
        ".nuxt",
        "coverage",
        ".idea",
        ".vscode",
        ".stackguard_cache",
        ".eggs",
    }
)

# A manifest bigger than this is not a manifest a person wrote.
MAX_MANIFEST_BYTES = 2_000_000
# How many files one walk lists at most; the rest is reported once.
MAX_WALK_FILES = 50_000


def is_skipped_dir(name: str) -> bool:
    return name in SKIP_DIRS or name.endswith(".egg-info")


@dataclass
class ProjectFiles:
    """The files of one tree, listed once and read on demand.

    ``root`` is absolute; every path handed in or out is relative to it with
    forward slashes. ``problems`` collects what could not be read.
    """

    root: Path
    relative: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    _cache: dict[str, str | None] = field(default_factory=dict)
    _reported: set[str] = field(default_factory=set)

    @classmethod
    def scan(cls, root: Path, prune: set[Path] | None = None, max_files: int = MAX_WALK_FILES) -> ProjectFiles:
        """List files under ``root``, skipping SKIP_DIRS, the absolute paths
        in ``prune`` (nested project roots), and symlinked directories (which
        is what makes loops impossible)."""
        files = cls(root=root)
        prune_set = {p.resolve() for p in (prune or set())}
        count = 0
        for dirpath, dirnames, filenames in os.walk(root, onerror=files._walk_error, followlinks=False):
            current = Path(dirpath)
            keep = []
            for name in sorted(dirnames):
                child = current / name
                if is_skipped_dir(name) or child.is_symlink():
                    continue
                if child.resolve() in prune_set:
                    continue
                keep.append(name)
            dirnames[:] = keep
            for name in sorted(filenames):
                full = current / name
                if full.is_symlink() and not full.exists():
                    continue  # dangling link
                files.relative.append(full.relative_to(root).as_posix())
                count += 1
                if count >= max_files:
                    files.problems.append(
                        Problem(
                            str(root),
                            f"more than {max_files} files; detection looked at the first {max_files} only",
                            severity="warning",
                        )
                    )
                    return files
        return files

    def _walk_error(self, error: OSError) -> None:
        self.problems.append(Problem(str(error.filename or self.root), f"cannot list folder: {error.strerror}"))

    def exists(self, relative: str) -> bool:
        return relative in self._set

    @property
    def _set(self) -> set[str]:
        cached = self.__dict__.get("_set_cache")
        if cached is None or len(cached) != len(self.relative):
            cached = set(self.relative)
            self.__dict__["_set_cache"] = cached
        return cached

    def dir_exists(self, relative_dir: str) -> bool:
        prefix = relative_dir.rstrip("/") + "/"
        return any(path.startswith(prefix) for path in self.relative)

    def glob(self, pattern: str) -> list[str]:
        """fnmatch-style with ``**`` for any depth; ``*`` stays within one segment."""
        regex = glob_to_regex(pattern)
        return [path for path in self.relative if regex.fullmatch(path)]

    def named(self, *names: str) -> list[str]:
        """Files with one of these base names, at any depth."""
        wanted = set(names)
        return [path for path in self.relative if path.rsplit("/", 1)[-1] in wanted]

    def read_text(self, relative: str, max_bytes: int = MAX_MANIFEST_BYTES) -> str | None:
        """The file's text, or None (with a Problem) when it is unreadable,
        binary, too large or not UTF-8. Latin-1 text is not guessed at: a
        manifest must be UTF-8."""
        if relative in self._cache:
            return self._cache[relative]
        path = self.root / relative
        text: str | None = None
        try:
            size = path.stat().st_size
            if size > max_bytes:
                self._problem(relative, f"file is {size} bytes, larger than the {max_bytes} read for detection; skipped")
            else:
                data = path.read_bytes()
                if b"\x00" in data[:8192]:
                    self._problem(relative, "binary file, not a text manifest; skipped")
                else:
                    text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            self._problem(relative, f"not valid UTF-8 (byte {exc.start}); skipped")
        except OSError as exc:
            self._problem(relative, f"cannot read: {exc.strerror or exc}")
        self._cache[relative] = text
        return text

    def _problem(self, relative: str, message: str, line: int = 0, severity: str = "error") -> None:
        key = f"{relative}:{line}:{message}"
        if key in self._reported:
            return
        self._reported.add(key)
        self.problems.append(Problem(str(self.root / relative), message, line=line, severity=severity))  # type: ignore[arg-type]

    def problem(self, relative: str, message: str, line: int = 0, column: int = 0, severity: str = "error") -> None:
        """Record a problem in a file of this tree (invalid TOML, …)."""
        key = f"{relative}:{line}:{message}"
        if key in self._reported:
            return
        self._reported.add(key)
        self.problems.append(
            Problem(str(self.root / relative), message, line=line, column=column, severity=severity)  # type: ignore[arg-type]
        )

    def iter_text(self, pattern: str, max_files: int = 2000, max_bytes: int = 512_000) -> Iterator[tuple[str, str]]:
        """(path, text) of the files matching ``pattern`` that can be read,
        bounded so a scan of source files stays cheap."""
        for index, relative in enumerate(self.glob(pattern)):
            if index >= max_files:
                return
            text = self.read_text(relative, max_bytes=max_bytes)
            if text is not None:
                yield relative, text


def line_of(text: str, pattern: str | re.Pattern[str], start_line: int = 1) -> Evidence | None:
    """The first line (1-based, from ``start_line``) matching ``pattern``, as
    evidence without a path; callers fill in the path with ``at``."""
    regex = re.compile(pattern) if isinstance(pattern, str) else pattern
    for number, line in enumerate(text.splitlines(), start=1):
        if number < start_line:
            continue
        if regex.search(line):
            return Evidence("", number, line.strip()[:200])
    return None


def evidence(path: str, text: str | None, pattern: str | re.Pattern[str] | None = None) -> Evidence:
    """Evidence in ``path``: the first line matching ``pattern``, else the file itself."""
    if text is not None and pattern is not None:
        found = line_of(text, pattern)
        if found is not None:
            return Evidence(path, found.line, found.text)
    return Evidence(path, 0, "")
