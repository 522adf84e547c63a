"""Which folders of a workspace are project roots.

A project root is a folder holding a root manifest (pyproject.toml,
package.json, go.mod, …). A workspace folder may hold several: a monorepo's
``backend/pyproject.toml`` and ``frontend/package.json`` are profiled
separately, each with its own stack. The walk is bounded in depth and count,
never follows symlinked folders (so loops cannot happen) and never enters
SKIP_DIRS, hidden folders or build output such as a committed ``dist/``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from .files import STACK_FILES, is_skipped_dir

# Base names that make their folder a project root on their own.
ROOT_MANIFEST_NAMES = frozenset(
    {
        "pyproject.toml",
        "setup.py",
        "Pipfile",
        "manage.py",
        "package.json",
        "go.mod",
        "Cargo.toml",
        "pom.xml",
        "build.gradle",
        "build.gradle.kts",
    }
)
# requirements.txt, requirements-dev.txt, requirements_test.txt, requirements.in…
REQUIREMENTS_FILE = re.compile(r"requirements(?:[-_.][\w.-]*)?\.(?:txt|in)")
# A stack.yaml makes a root even without a manifest (a skill-configured repo).
# Folders whose requirements file installs documentation tooling, not a project.
DOCS_DIRS = frozenset({"docs", "doc"})

MAX_DEPTH = 6
MAX_ROOTS = 200
MAX_DIRS_VISITED = 20_000
# setup.cfg is read only to see whether it declares a package.
_SETUP_CFG_READ_BYTES = 256_000
_SETUP_CFG_PACKAGE_SECTION = re.compile(r"^\s*\[(metadata|options)\]\s*$", re.MULTILINE)


def find_project_roots(folder: Path) -> list[Path]:
    """Every project root in ``folder``: the folder itself when it holds a
    manifest, then nested roots, sorted by path. A folder with no manifest
    anywhere is its own (empty) root so it still gets a profile."""
    folder = Path(folder)
    roots: list[Path] = []
    visited = 0
    # (path, depth); a stack instead of os.walk so depth and count stay bounded
    # without listing folders we will never look at.
    pending: list[tuple[Path, int]] = [(folder, 0)]
    while pending and visited < MAX_DIRS_VISITED and len(roots) < MAX_ROOTS:
        current, depth = pending.pop()
        visited += 1
        try:
            entries = list(os.scandir(current))
        except OSError:
            continue
        file_names: set[str] = set()
        subdirs: list[os.DirEntry[str]] = []
        for entry in entries:
            try:
                if entry.is_symlink():
                    # A symlinked file can still be a manifest; a symlinked
                    # folder is never entered (that is what rules out loops).
                    if entry.is_file():
                        file_names.add(entry.name)
                    continue
                if entry.is_dir():
                    subdirs.append(entry)
                elif entry.is_file():
                    file_names.add(entry.name)
            except OSError:
                continue
        if current.name != "requirements" or current == folder:
            if _is_root(current, file_names, is_workspace=current == folder):
                roots.append(current)
        if depth >= MAX_DEPTH:
            continue
        for entry in sorted(subdirs, key=lambda e: e.name, reverse=True):
            if _never_enter(entry.name):
                continue
            pending.append((Path(entry.path), depth + 1))
    if not roots:
        return [folder]
    return sorted(roots, key=lambda p: (p != folder, p.as_posix()))


def _never_enter(name: str) -> bool:
    # Hidden folders hold tool state (.git, .cache, .agents) rather than
    # projects; the .agents stack.yaml is looked up directly by path.
    return is_skipped_dir(name) or name.startswith(".")


def _is_root(folder: Path, file_names: set[str], is_workspace: bool) -> bool:
    has_requirements = any(REQUIREMENTS_FILE.fullmatch(name) for name in file_names) or _has_requirements_dir(folder)
    strong = bool(file_names & ROOT_MANIFEST_NAMES)
    if not strong and "setup.cfg" in file_names:
        strong = _setup_cfg_declares_package(folder / "setup.cfg")
    if not strong:
        strong = any((folder / rel).is_file() for rel in STACK_FILES)
    if strong:
        return True
    if has_requirements:
        # docs/requirements.txt installs Sphinx for Read the Docs; it is part of
        # its parent project, not a project of its own.
        return is_workspace or folder.name not in DOCS_DIRS
    return False


def _has_requirements_dir(folder: Path) -> bool:
    """A ``requirements/`` folder (base.txt, dev.txt…) belongs to its parent."""
    req_dir = folder / "requirements"
    try:
        if req_dir.is_symlink() or not req_dir.is_dir():
            return False
        return any(
            entry.name.endswith((".txt", ".in")) and entry.is_file() for entry in os.scandir(req_dir)
        )
    except OSError:
        return False


def _setup_cfg_declares_package(path: Path) -> bool:
    """A setup.cfg holding only [flake8] or [tool:pytest] is tool config, not
    a package: only [metadata] or [options] make it a manifest."""
    try:
        with path.open("rb") as handle:
            head = handle.read(_SETUP_CFG_READ_BYTES)
    except OSError:
        return False
    text = head.decode("utf-8", errors="replace")
    return bool(_SETUP_CFG_PACKAGE_SECTION.search(text))
