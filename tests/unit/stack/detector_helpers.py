"""Helpers shared by the per-ecosystem detector tests (a plain module, not a
conftest: several test folders have a conftest of their own)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from stackguard.stack.files import ProjectFiles
from stackguard.stack.model import Fact, StackProfile

Detector = Callable[[ProjectFiles, StackProfile], None]


def run_detector(
    detector: Detector, root: Path, profile: StackProfile | None = None
) -> tuple[StackProfile, ProjectFiles]:
    """One ecosystem detector on ``root``, as the orchestrator calls it."""
    files = ProjectFiles.scan(root)
    profile = profile or StackProfile(root=str(root))
    detector(files, profile)
    return profile, files


def fact(profile: StackProfile, category: str, name: str) -> Fact:
    matches = [item for item in getattr(profile, category) if item.name == name]
    assert matches, f"{name} not in {category}: {profile.names(category)}"
    return matches[0]


def where(item: Fact) -> set[str]:
    return {str(evidence) for evidence in item.evidence}


def write(root: Path, files: dict[str, str | bytes]) -> Path:
    for relative, content in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
    return root


def steps(profile: StackProfile) -> list[tuple[str, tuple[str, ...], str | None]]:
    return [(step.name, step.argv, step.skip_if_missing) for step in profile.verify]
