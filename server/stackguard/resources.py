"""Files that ship inside the package: the stack.yaml JSON Schema and the
agent skills. Read through importlib.resources so an installed wheel works;
a source checkout installed in editable mode falls back to the repo's
``skills/`` folder (setuptools' legacy editable mode cannot map it)."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any


@cache
def stack_schema() -> dict[str, Any]:
    text = resources.files("stackguard.schemas").joinpath("stack.schema.json").read_text(encoding="utf-8")
    return json.loads(text)


def skills_root() -> Traversable:
    """The shipped skills folder. Reached through the ``stackguard`` package
    (not ``stackguard._skills``, a namespace package whose MultiplexedPath
    takes one path segment per ``joinpath``)."""
    installed = resources.files("stackguard").joinpath("_skills")
    if installed.is_dir():
        return installed
    checkout = Path(__file__).resolve().parents[2] / "skills"
    if checkout.is_dir():
        return checkout  # type: ignore[return-value]
    raise FileNotFoundError("stackguard's skills/ folder is missing from this installation")
