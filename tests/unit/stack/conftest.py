"""Helpers for stack detection tests: fixture workspaces and a compact,
complete view of a profile so a test can assert every field at once."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from stackguard.stack.model import Fact, StackProfile

WORKSPACES = Path(__file__).resolve().parents[2] / "workspaces"


def workspace_path(name: str) -> Path:
    path = WORKSPACES / name
    assert path.is_dir(), f"no fixture workspace {name!r} under {WORKSPACES}"
    return path


@pytest.fixture
def copy_workspace(tmp_path: Path):
    """Copy a fixture workspace to tmp_path, for tests that add to it."""

    def copy(name: str) -> Path:
        target = tmp_path / name
        shutil.copytree(workspace_path(name), target, symlinks=True)
        return target

    return copy


def facts(items: list[Fact]) -> list[tuple[str, list[str], dict[str, Any]]]:
    """(name, ["path:line", ...], detail) per fact, in profile order."""
    return [(fact.name, [str(e) for e in fact.evidence], fact.detail) for fact in items]


def summary(profile: StackProfile) -> dict[str, Any]:
    """Every field of a profile with evidence as ``path:line`` and problem
    paths relative to the root; compare with ``==`` to assert all of it."""
    root = Path(profile.root)
    return {
        "relative_root": profile.relative_root,
        "source": profile.source,
        "language": facts([profile.language])[0] if profile.language else None,
        **{category: facts(getattr(profile, category)) for category in StackProfile.FACT_LISTS},
        "layers": [(p.layer, p.glob, [str(e) for e in p.evidence]) for p in profile.layers],
        "verify": [
            (s.name, s.cmd, s.skip_if_missing, s.pass_signal, s.timeout, [str(e) for e in s.evidence])
            for s in profile.verify
        ],
        "manifests": profile.manifests,
        "stack_file": profile.stack_file,
        "stack_settings": profile.stack_settings,
        "raw_sql": profile.raw_sql,
        "problems": [
            (Path(p.path).relative_to(root).as_posix(), p.line, p.column, p.severity, p.message)
            for p in profile.problems
        ],
    }


def evidence_texts(fact: Fact) -> dict[str, str]:
    return {str(e): e.text for e in fact.evidence}
