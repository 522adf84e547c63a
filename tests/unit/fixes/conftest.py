"""Fixtures of the quick-fix tests (helpers live in fixhelp.py)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from fixhelp import Project


@pytest.fixture
def project(tmp_path: Path) -> Callable[..., Project]:
    """``project(files, codes)``: a Project rooted in tmp_path."""

    def make(files: dict[str, str], codes: list[str]) -> Project:
        return Project(tmp_path, files, codes)

    return make
