"""Per workspace folder state: detected stack profiles and effective settings.

Settings precedence for a folder, lowest first (DESIGN.md "Configuration"):
defaults < ``[tool.stackguard]`` of the folder's pyproject.toml < the
``stackguard:`` settings of the folder's stack.yaml < initializationOptions <
``workspace/configuration`` (section ``stackguard``, scoped to the folder).
stack.yaml sits above pyproject.toml because it is the file written for
stackguard alone. The merge itself is ``config.resolve_settings``; this module
only gathers the layers, so it stays free of any LSP round trip.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import attrs
from pygls.uris import from_fs_path, to_fs_path

from stackguard.config import (
    ResolvedSettings,
    SettingsProblem,
    read_pyproject_settings,
    resolve_settings,
)
from stackguard.stack import StackProfile

# Names of the layers as they appear in ResolvedSettings.sources and messages.
SOURCE_PYPROJECT = "pyproject.toml"
SOURCE_STACK_YAML = "stack.yaml"
SOURCE_INIT_OPTIONS = "initializationOptions"
SOURCE_CLIENT_CONFIG = "workspace/configuration"


def uri_to_path(uri: str) -> Path | None:
    """Filesystem path of a ``file:`` URI; None for anything else."""
    if not isinstance(uri, str):
        return None
    path = to_fs_path(uri)
    return Path(os.path.abspath(path)) if path else None


def path_to_uri(path: str | Path) -> str:
    return from_fs_path(str(path)) or str(path)


def _real(path: Path) -> Path:
    try:
        return path.resolve()
    except (OSError, RuntimeError):
        return path


def contains(parent: Path, child: Path) -> bool:
    return child == parent or parent in child.parents


def settings_from_initialization_options(options: Any) -> Any:
    """Editors send the settings object itself, ``{"settings": {...}}`` (the
    vscode-python-tools template shape) or ``{"stackguard": {...}}`` (the
    section name, so Helix's one ``config`` table can serve both
    initializationOptions and workspace/configuration); anything else is
    passed through so ``resolve_settings`` reports it."""
    if isinstance(options, Mapping):
        for key in ("settings", "stackguard"):
            if isinstance(options.get(key), Mapping) and len(options) == 1:
                return options[key]
        if isinstance(options.get("settings"), Mapping):
            return options["settings"]
    return options


@dataclasses.dataclass
class FolderState:
    uri: str
    path: Path
    name: str = ""
    profiles: list[StackProfile] = dataclasses.field(default_factory=list)
    resolved: ResolvedSettings = dataclasses.field(default_factory=lambda: resolve_settings([]))
    # The folder's value of workspace/configuration "stackguard" (None: not asked or unset).
    client_settings: Any = None
    detections: int = 0
    real_path: Path = dataclasses.field(init=False)

    def __post_init__(self) -> None:
        self.real_path = _real(self.path)

    def root_profile(self) -> StackProfile | None:
        """The profile of the folder itself (relative root "."), whose
        stack.yaml settings apply to the folder."""
        for profile in self.profiles:
            if profile.relative_root in (".", ""):
                return profile
        return None

    def profile_for_path(self, path: Path) -> StackProfile | None:
        """The deepest project root that contains ``path``."""
        target = _real(path)
        best: tuple[int, StackProfile] | None = None
        for profile in self.profiles:
            root = _real(Path(profile.root))
            if contains(root, target) and (best is None or len(root.parts) > best[0]):
                best = (len(root.parts), profile)
        return best[1] if best else None


def settings_layers(
    folder: FolderState, init_options_settings: Any, client_settings: Any
) -> tuple[list[tuple[str, Any]], list[SettingsProblem]]:
    """The ``(source, raw)`` layers for ``resolve_settings``, lowest first,
    plus problems met while reading project files."""
    problems: list[SettingsProblem] = []
    layers: list[tuple[str, Any]] = []
    pyproject = folder.path / "pyproject.toml"
    if pyproject.is_file():
        section, problem = read_pyproject_settings(pyproject)
        if problem is not None:
            problems.append(problem)
        layers.append((SOURCE_PYPROJECT, section))
    root = folder.root_profile()
    if root is not None and root.stack_settings:
        layers.append((SOURCE_STACK_YAML, root.stack_settings))
    layers.append((SOURCE_INIT_OPTIONS, init_options_settings))
    layers.append((SOURCE_CLIENT_CONFIG, client_settings))
    return layers, problems


def resolve_folder_settings(folder: FolderState, init_options_settings: Any, client_settings: Any) -> ResolvedSettings:
    layers, file_problems = settings_layers(folder, init_options_settings, client_settings)
    resolved = resolve_settings(layers)
    if file_problems:
        resolved = attrs.evolve(resolved, problems=(*file_problems, *resolved.problems))
    return resolved


class WorkspaceState:
    """The workspace folders the server knows, keyed by the URI the client sent."""

    def __init__(self) -> None:
        self.folders: dict[str, FolderState] = {}
        self.init_options_settings: Any = None

    def add_folder(self, uri: str, name: str = "") -> FolderState | None:
        """Track a folder; None for a non-``file:`` URI (nothing to detect there)."""
        path = uri_to_path(uri)
        if path is None:
            return None
        folder = FolderState(uri=uri, path=path, name=name or path.name)
        folder.resolved = resolve_folder_settings(folder, self.init_options_settings, None)
        self.folders[uri] = folder
        return folder

    def remove_folder(self, uri: str) -> FolderState | None:
        folder = self.folders.pop(uri, None)
        if folder is not None:
            return folder
        # Clients may spell the same folder differently (trailing slash, quoting).
        path = uri_to_path(uri)
        for key, candidate in list(self.folders.items()):
            if path is not None and candidate.path == path:
                return self.folders.pop(key)
        return None

    def get(self, uri: str) -> FolderState | None:
        return self.folders.get(uri)

    def __iter__(self):
        return iter(list(self.folders.values()))

    def folder_for(self, uri: str) -> FolderState | None:
        """The deepest folder containing the file (nested folders are allowed
        in multi-root workspaces)."""
        path = uri_to_path(uri)
        if path is None:
            return None
        target = _real(path)
        best: FolderState | None = None
        for folder in self.folders.values():
            if contains(folder.real_path, target) or contains(folder.path, path):
                if best is None or len(folder.path.parts) > len(best.path.parts):
                    best = folder
        return best

    def profile_for(self, uri: str) -> StackProfile | None:
        folder = self.folder_for(uri)
        path = uri_to_path(uri)
        if folder is None or path is None:
            return None
        return folder.profile_for_path(path)

    def resolve(self, folder: FolderState) -> ResolvedSettings:
        folder.resolved = resolve_folder_settings(folder, self.init_options_settings, folder.client_settings)
        return folder.resolved

    def all_problems(self, folders: Iterable[FolderState] | None = None) -> list[SettingsProblem]:
        problems: list[SettingsProblem] = []
        for folder in folders if folders is not None else self:
            problems.extend(folder.resolved.problems)
        return problems
