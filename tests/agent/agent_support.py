"""Constants and helpers shared by the agent tests (a module of its own:
``conftest`` is a name every test folder uses)."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
WORKSPACES = HERE.parent / "workspaces"
# A fresh key per run, shaped like a real one, so a leak cannot be a
# coincidence with text already in a log.
TEST_KEY = f"sk-ant-test-{uuid.uuid4().hex}"
KEY_ENV = "STACKGUARD_TEST_ANTHROPIC_KEY"
CLOSED_LOCAL_URL = "http://127.0.0.1:9"


def copy_workspace(name: str, destination: Path) -> Path:
    target = destination / name
    shutil.copytree(WORKSPACES / name, target, ignore=shutil.ignore_patterns(".pytest_cache", "__pycache__", "*.db"))
    return target


def make_analyzer(root: Path):
    from stackguard.analysis.project import ProjectAnalyzer
    from stackguard.config import Settings
    from stackguard.stack import detect_root

    analyzer = ProjectAnalyzer(root, detect_root(root), Settings())
    analyzer.build_index()
    return analyzer
