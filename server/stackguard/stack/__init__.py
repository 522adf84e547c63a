"""Stack detection: which language, framework, ORM, migration tool, test
runner, linters… each project root uses, with the evidence for every fact.

Public API (everything else in this package is internal):

- ``detect_workspace(folder) -> list[StackProfile]``: every project root in
  a workspace folder (the folder itself and nested roots with their own
  manifest), each profiled; never raises on user input.
- ``detect_root(root, workspace_folder=None) -> StackProfile``.
- ``is_manifest(path) -> bool``: whether a change to this file should
  trigger re-detection (manifests, lock files, alembic.ini, compose files,
  stack.yaml).
"""

from .model import Evidence, Fact, LayerPattern, Problem, StackProfile, VerifyStep

__all__ = [
    "Evidence",
    "Fact",
    "LayerPattern",
    "Problem",
    "StackProfile",
    "VerifyStep",
    "detect_workspace",
    "detect_root",
    "is_manifest",
    "MANIFEST_GLOBS",
]

_DETECTION = frozenset({"MANIFEST_GLOBS", "detect_root", "detect_workspace", "is_manifest"})


def __getattr__(name: str) -> object:
    # Detection (the per-language scanners, YAML) loads on first use:
    # ``stackguard check`` imports this package for its data model and file
    # helpers long before it detects anything, and its workers never do.
    if name in _DETECTION:
        from . import detect

        return getattr(detect, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
