"""Detection entry points: find a workspace folder's project roots and
profile each one.

Order per root: ecosystem detectors (python, go, rust, jvm, node; the first
that claims the root sets ``language``, and node goes last because a
package.json is often auxiliary: tooling next to a Python backend), backing
services from compose files, layer patterns from the folder layout, verify
steps, then the root's stack.yaml, which overrides what was detected. Each
step is isolated: a detector that raises becomes a Problem on the profile.
"""

from __future__ import annotations

import logging
import posixpath
import re
from collections.abc import Callable
from pathlib import Path, PurePath

from ..globs import glob_to_regex
from . import go, jvm, node, python, rust, services
from .discovery import find_project_roots
from .files import ProjectFiles, find_stack_file, is_skipped_dir
from .model import Evidence, LayerPattern, Problem, StackProfile
from .stackyaml import apply_stack_yaml, load_stack_yaml

log = logging.getLogger(__name__)

ECOSYSTEMS: tuple[tuple[str, Callable[[ProjectFiles, StackProfile], None]], ...] = (
    ("python", python.detect),
    ("go", go.detect),
    ("rust", rust.detect),
    ("jvm", jvm.detect),
    ("node", node.detect),
)

# Globs a file watcher registers; a change to any of these re-runs detection.
MANIFEST_GLOBS: tuple[str, ...] = (
    # Python
    "**/pyproject.toml",
    "**/requirements*.txt",
    "**/requirements*.in",
    "**/requirements/*.txt",
    "**/requirements/*.in",
    "**/Pipfile",
    "**/Pipfile.lock",
    "**/setup.cfg",
    "**/setup.py",
    "**/manage.py",
    "**/alembic.ini",
    "**/uv.lock",
    "**/poetry.lock",
    "**/pdm.lock",
    "**/pytest.ini",
    "**/tox.ini",
    "**/mypy.ini",
    "**/.mypy.ini",
    "**/ruff.toml",
    "**/.ruff.toml",
    "**/.flake8",
    "**/pyrightconfig.json",
    # Node
    "**/package.json",
    "**/tsconfig.json",
    "**/package-lock.json",
    "**/yarn.lock",
    "**/pnpm-lock.yaml",
    "**/bun.lock",
    "**/bun.lockb",
    "**/*.prisma",
    # Go, Rust, JVM
    "**/go.mod",
    "**/go.sum",
    "**/Cargo.toml",
    "**/Cargo.lock",
    "**/pom.xml",
    "**/build.gradle*",
    "**/settings.gradle*",
    "**/gradle/libs.versions.toml",
    # Backing services
    "**/docker-compose*.y*ml",
    "**/compose*.y*ml",
    # Declared stack
    "**/stack/stack.yaml",
    "**/.agents/skills/oma-backend/stack/stack.yaml",
)
# One alternation instead of a loop over ~40 patterns: is_manifest runs for
# every file of the tree on every detection.
_MANIFEST_PATTERN = re.compile("|".join(f"(?:{glob_to_regex(glob).pattern})" for glob in MANIFEST_GLOBS))

# Folder name -> layer. Only folders holding source files count.
LAYER_DIRS = {
    "routers": "router",
    "routes": "router",
    "api": "router",
    "endpoints": "router",
    "controllers": "router",
    "services": "service",
    "use_cases": "service",
    "repositories": "repository",
    "repos": "repository",
    "crud": "repository",
    "dao": "repository",
    "models": "model",
    "entities": "model",
    "migrations": "migration",
    "schemas": "schema",
    "tests": "test",
}
LAYER_FILES = {
    "repository.py": "repository",
    "crud.py": "repository",
    "selectors.py": "repository",
    "models.py": "model",
    "schemas.py": "schema",
    "serializers.py": "schema",
    "services.py": "service",
    "tests.py": "test",
}
SOURCE_SUFFIXES = (".py", ".ts", ".tsx", ".js", ".mjs", ".cjs", ".go", ".rs", ".java", ".kt")
# Code that opens a database, cache or broker connection: a services/ module
# doing this is infrastructure (a pool wrapper), not business logic.
INFRASTRUCTURE_CODE = re.compile(
    r"\b(?:create_pool|create_engine|create_async_engine|async_sessionmaker|sessionmaker|"
    r"AsyncIOMotorClient|MongoClient|(?:asyncpg|psycopg2?|aiomysql|pymysql|sqlite3|aiosqlite)\.connect|"
    r"(?:redis|aioredis)\.(?:Redis|StrictRedis|from_url)|Redis\.from_url|aio_pika\.connect(?:_robust)?|"
    r"new\s+(?:Pool|PrismaClient|Redis|MongoClient)|createPool|pgxpool\.New|sql\.Open)\s*\("
)
# A literal each alternative above contains: most modules contain none, and
# `in` is far cheaper than the regex, which has no literal prefix to skip by.
INFRASTRUCTURE_WORDS = (
    "create_pool", "create_engine", "create_async_engine", "sessionmaker", "MotorClient", "MongoClient",
    ".connect", "redis.", "from_url", "Pool", "PrismaClient", "Redis", "pgxpool", "sql.Open",
)
MAX_LAYER_PATTERNS = 200
# Folders that never contain a workspace of their own, whatever the path above.
NEVER_A_WORKSPACE = frozenset({"node_modules", "site-packages", ".venv", ".git", "__pycache__", ".tox", ".nox"})
SOURCE_MAX_BYTES = 512_000


def detect_workspace(folder: Path | str) -> list[StackProfile]:
    """A profile for every project root in ``folder``, sorted by relative
    root ("." first). Never raises on user input: a root whose detection
    fails is returned with the failure as a Problem."""
    workspace = Path(folder).absolute()
    try:
        roots = find_project_roots(workspace)
    except Exception as exc:  # a bug here must not take down the server
        log.exception("finding project roots in %s failed", workspace)
        profile = StackProfile(root=str(workspace))
        profile.problems.append(Problem(str(workspace), f"finding project roots failed: {type(exc).__name__}: {exc}"))
        return [profile]
    profiles = [_detect(root, workspace, {r for r in roots if _strictly_inside(r, root)}) for root in roots]
    return sorted(profiles, key=lambda p: (p.relative_root != ".", p.relative_root))


def detect_root(root: Path | str, workspace_folder: Path | str | None = None) -> StackProfile:
    """The profile of one project root; nested roots below it are left out
    of its files (they have their own profiles)."""
    root_path = Path(root).absolute()
    workspace = Path(workspace_folder).absolute() if workspace_folder is not None else root_path
    try:
        nested = {r for r in find_project_roots(root_path) if _strictly_inside(r, root_path)}
    except Exception:
        log.exception("finding nested roots in %s failed", root_path)
        nested = set()
    return _detect(root_path, workspace, nested)


def is_manifest(path: Path | str, root: Path | str | None = None) -> bool:
    """Whether a change to this file should trigger re-detection: it matches
    MANIFEST_GLOBS and is not inside a folder detection never reads. With
    ``root`` (the workspace folder), every SKIP_DIRS folder below it counts
    (dist/, build/, node_modules…); without it only folders that can never
    hold a workspace do, since an absolute path's parents (``~/build/app``)
    say nothing about the project."""
    pure = PurePath(path)
    folders = pure.parts[:-1]
    if root is not None:
        try:
            folders = pure.relative_to(PurePath(root)).parts[:-1]
            skipped = is_skipped_dir
        except ValueError:
            skipped = _never_a_workspace
    else:
        skipped = _never_a_workspace
    if any(skipped(part) for part in folders):
        return False
    posix = pure.as_posix()
    return _MANIFEST_PATTERN.fullmatch(posix) is not None


def _never_a_workspace(name: str) -> bool:
    return name in NEVER_A_WORKSPACE or name.endswith(".egg-info")


def _strictly_inside(path: Path, root: Path) -> bool:
    return path != root and root in path.parents


def _relative_root(root: Path, workspace: Path) -> str:
    try:
        relative = root.relative_to(workspace).as_posix()
    except ValueError:
        return root.as_posix()
    return relative or "."


def _detect(root: Path, workspace: Path, nested: set[Path]) -> StackProfile:
    profile = StackProfile(root=str(root), relative_root=_relative_root(root, workspace))
    try:
        files = ProjectFiles.scan(root, prune=nested)
    except Exception as exc:
        log.exception("listing %s failed", root)
        profile.problems.append(Problem(str(root), f"cannot list the project's files: {type(exc).__name__}: {exc}"))
        return profile

    for name, detector in ECOSYSTEMS:
        _isolated(profile, f"{name} detection", detector, files)
    _isolated(profile, "services detection", services.detect, files)
    _isolated(profile, "layer detection", detect_layers, files)
    _isolated(profile, "verify inference", python.infer_verify, files)
    _isolated(profile, "stack.yaml", _apply_stack_file, files)

    profile.manifests = _manifests(profile, files)
    profile.problems[:0] = files.problems
    return profile


def _isolated(
    profile: StackProfile, what: str, step: Callable[[ProjectFiles, StackProfile], None], files: ProjectFiles
) -> None:
    try:
        step(files, profile)
    except Exception as exc:
        log.exception("%s failed for %s", what, profile.root)
        profile.problems.append(Problem(profile.root, f"{what} failed: {type(exc).__name__}: {exc}"))


def _apply_stack_file(files: ProjectFiles, profile: StackProfile) -> None:
    relative = find_stack_file(files.root)
    if relative is None:
        return
    stack, problems = load_stack_yaml(files, relative)
    profile.problems.extend(problems)
    if stack is not None:
        apply_stack_yaml(profile, stack)


def _manifests(profile: StackProfile, files: ProjectFiles) -> list[str]:
    """What detectors reported reading and every other manifest-like file of
    the root, in path order."""
    found = [m for m in profile.manifests]
    found.extend(path for path in files.relative if is_manifest(path) and path not in found)
    return sorted(dict.fromkeys(found))


# --- layers --------------------------------------------------------------------------


def detect_layers(files: ProjectFiles, profile: StackProfile) -> None:
    """Layer patterns from the folder layout, most specific first (file
    patterns, then deeper folders), so the first pattern matching a path is
    its layer."""
    source_dirs: dict[str, list[str]] = {}
    for path in files.relative:
        if path.endswith(SOURCE_SUFFIXES):
            source_dirs.setdefault(posixpath.dirname(path), []).append(path)

    folder_layers: dict[str, str] = {}
    for directory in source_dirs:
        parts = directory.split("/") if directory else []
        for depth, name in enumerate(parts):
            prefix = "/".join(parts[: depth + 1])
            layer = LAYER_DIRS.get(name)
            if name == "versions" and _is_alembic_dir("/".join(parts[:depth]), files):
                layer = "migration"
            if layer is not None:
                folder_layers.setdefault(prefix, layer)
            if layer == "test":
                break  # tests/services/ is test code, not the service layer

    for fact in profile.migrations:
        locations = list(fact.detail.get("locations") or ()) + [fact.detail.get("location")]
        for location in locations:
            if isinstance(location, str) and files.dir_exists(location):
                folder_layers[location] = "migration"

    patterns: list[LayerPattern] = []
    for path, layer in _file_layers(files, profile, folder_layers):
        patterns.append(LayerPattern(layer, path, (Evidence(path),)))
    patterns.extend(_infrastructure_patterns(files, folder_layers, source_dirs))
    for folder in sorted(folder_layers, key=lambda f: (-f.count("/"), f)):
        layer = folder_layers[folder]
        # A folder inside one of the same layer adds nothing (app/api/routes).
        parent = posixpath.dirname(folder)
        if any(folder_layers.get(anc) == layer for anc in _ancestors(parent)):
            continue
        patterns.append(LayerPattern(layer, f"{folder}/**", (Evidence(folder),)))
    for pattern in patterns[:MAX_LAYER_PATTERNS]:
        if pattern not in profile.layers:
            profile.layers.append(pattern)


def _ancestors(folder: str) -> list[str]:
    parts = folder.split("/") if folder else []
    return ["/".join(parts[: i + 1]) for i in range(len(parts))]


def _inside_any(path: str, folders: dict[str, str], layer: str | None = None) -> bool:
    return any(
        path.startswith(folder + "/") and (layer is None or folders[folder] == layer) for folder in folders
    )


def _file_layers(files: ProjectFiles, profile: StackProfile, folder_layers: dict[str, str]) -> list[tuple[str, str]]:
    names = dict(LAYER_FILES)
    if profile.has("django"):
        names["views.py"] = "router"
    found = []
    for path in files.relative:
        layer = names.get(path.rsplit("/", 1)[-1])
        # models.py inside models/ or tests/ is already classified by its folder.
        if layer is None or _inside_any(path, folder_layers, "test") or _inside_any(path, folder_layers, layer):
            continue
        found.append((path, layer))
    return found


def _infrastructure_patterns(
    files: ProjectFiles, folder_layers: dict[str, str], source_dirs: dict[str, list[str]]
) -> list[LayerPattern]:
    """services/ modules that only hold connections (a DB pool wrapper) are
    infrastructure: classified "other" ahead of the folder's service pattern,
    so service rules do not fire on the one place that must open connections."""
    found = []
    for folder, layer in folder_layers.items():
        if layer != "service":
            continue
        for path in sorted(p for d, paths in source_dirs.items() if d == folder or d.startswith(folder + "/") for p in paths):
            text = _read_source(files, path)
            if text is None:
                continue
            if not any(word in text for word in INFRASTRUCTURE_WORDS):
                continue
            match = INFRASTRUCTURE_CODE.search(text)
            if match is None:
                continue
            line = text.count("\n", 0, match.start()) + 1
            found.append(LayerPattern("other", path, (Evidence(path, line, text.splitlines()[line - 1].strip()[:200]),)))
    return found


def _is_alembic_dir(folder: str, files: ProjectFiles) -> bool:
    """An Alembic script folder: env.py next to script.py.mako."""
    prefix = f"{folder}/" if folder else ""
    return files.exists(f"{prefix}env.py") and files.exists(f"{prefix}script.py.mako")


def _read_source(files: ProjectFiles, relative: str) -> str | None:
    """Source text, quietly: a huge or binary module is skipped, not reported
    (it is not a manifest), and not kept in the manifest cache."""
    path = files.root / relative
    try:
        if path.stat().st_size > SOURCE_MAX_BYTES:
            return None
        data = path.read_bytes()
    except OSError:
        return None
    if b"\x00" in data[:8192]:
        return None
    return data.decode("utf-8", errors="replace")
