"""Helpers for the refactor tests: private copies of the fixture apps, the
project view a refactor reads, applying a Fix to disk, the app's own test
suite, the real rule engine on the result, and snapshots.

Snapshots live in ``snapshots/<name>.txt``: a unified diff of every edited
file and the full text of every created one. Set
STACKGUARD_UPDATE_SNAPSHOTS=1 to rewrite them, then review the diff.
"""

from __future__ import annotations

import difflib
import os
import shutil
import subprocess
import sys
from pathlib import Path

from stackguard.analysis.index import WorkspaceIndex
from stackguard.analysis.project import ProjectAnalyzer, python_files
from stackguard.config import Settings
from stackguard.fixes import Fix, apply_text_edits
from stackguard.refactor import ProjectView, RefactorRefusal
from stackguard.rules import Finding
from stackguard.stack.detect import detect_root

HERE = Path(__file__).parent
SNAPSHOTS = HERE / "snapshots"
WORKSPACES = HERE.parents[1] / "workspaces"
APP_TEST_TIMEOUT_S = 240


def copy_app(name: str, destination: Path) -> Path:
    target = destination / name
    shutil.copytree(
        WORKSPACES / name, target, ignore=shutil.ignore_patterns(".pytest_cache", "__pycache__", "*.db", "*.sqlite3", ".stackguard_cache")
    )
    return target


def write_project(root: Path, files: dict[str, str]) -> Path:
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def view(root: Path) -> ProjectView:
    return ProjectView(root, WorkspaceIndex.build(root, python_files(root), processes=1))


def position(root: Path, relative: str, needle: str, occurrence: int = 1) -> tuple[int, int]:
    """(1-based line, 0-based column) of the ``occurrence``-th ``needle``."""
    text = (root / relative).read_text(encoding="utf-8")
    index = -1
    for _ in range(occurrence):
        index = text.index(needle, index + 1)
    line = text.count("\n", 0, index) + 1
    return line, index - (text.rfind("\n", 0, index) + 1)


def line_of_def(root: Path, relative: str, name: str) -> int:
    return position(root, relative, f"def {name}(")[0]


def expect_fix(result: Fix | RefactorRefusal) -> Fix:
    assert isinstance(result, Fix), f"refused: {result}"
    return result


def expect_refusal(result: Fix | RefactorRefusal) -> str:
    assert isinstance(result, RefactorRefusal), f"expected a refusal, got a fix: {result.title}"
    return result.reason


def apply_fix(fix: Fix) -> dict[str, str | None]:
    """Write the fix to disk; returns the files' texts before (None: created)."""
    before: dict[str, str | None] = {}
    for file_edit in fix.edits:
        path = Path(file_edit.path)
        if file_edit.create:
            assert not path.exists(), f"{path} already exists"
            before[file_edit.path] = None
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(file_edit.new_text or "", encoding="utf-8")
        else:
            old = path.read_text(encoding="utf-8")
            before[file_edit.path] = old
            path.write_text(apply_text_edits(old, file_edit.edits), encoding="utf-8")
    return before


def describe(fix: Fix, root: Path, before: dict[str, str | None]) -> str:
    """The snapshot text of an applied fix."""
    parts = [f"# {fix.title}\n"]
    for path in sorted(before, key=lambda p: (before[p] is None, p)):
        relative = Path(path).relative_to(root).as_posix()
        after = Path(path).read_text(encoding="utf-8")
        old = before[path]
        if old is None:
            parts.append(f"\n## {relative} (created)\n{after}")
        else:
            diff = difflib.unified_diff(old.splitlines(keepends=True), after.splitlines(keepends=True), "before", "after", n=2)
            parts.append(f"\n## {relative} (edited)\n{''.join(diff)}")
    return "".join(parts)


def check_snapshot(name: str, text: str) -> None:
    path = SNAPSHOTS / f"{name}.txt"
    if os.environ.get("STACKGUARD_UPDATE_SNAPSHOTS") == "1" or not path.exists():
        if os.environ.get("CI") and not path.exists():
            raise AssertionError(f"missing snapshot {path.name}")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return
    expected = path.read_text(encoding="utf-8")
    assert text == expected, f"snapshot {path.name} differs:\n" + "".join(
        difflib.unified_diff(expected.splitlines(keepends=True), text.splitlines(keepends=True), "snapshot", "now")
    )


def run_app_tests(root: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "DJANGO_"))}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-x"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=APP_TEST_TIMEOUT_S,
        check=False,
    )


def assert_app_tests_pass(root: Path) -> None:
    result = run_app_tests(root)
    assert result.returncode == 0, f"the app's tests failed after the refactor:\n{result.stdout[-4000:]}\n{result.stderr[-2000:]}"


def assert_app_tests_pass_in_each(copies: dict[str, Path]) -> None:
    """Run the suites of several refactored copies side by side (they are
    independent processes; most of their time is interpreter start-up)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "DJANGO_"))}
    running = {
        name: subprocess.Popen(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-x"],
            cwd=root,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for name, root in copies.items()
    }
    failures = []
    for name, process in running.items():
        try:
            output, _ = process.communicate(timeout=APP_TEST_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            output, _ = process.communicate()
        if process.returncode != 0:
            failures.append(f"--- after {name}:\n{output[-3000:]}")
    assert not failures, "the app's tests failed after the refactor:\n" + "\n".join(failures)


def findings(root: Path, relatives: list[str] | None = None) -> list[Finding]:
    """The real engine over ``relatives`` (every Python file by default)."""
    analyzer = ProjectAnalyzer(root, detect_root(root), Settings())
    analyzer.build_index()
    found: list[Finding] = []
    for relative in relatives if relatives is not None else sorted(analyzer.index.summaries):
        if not (root / relative).exists():
            continue
        analysis = analyzer.analyze_file(str(root / relative))
        found.extend(analysis.findings or [])
    return found


def layering_findings(root: Path, codes: tuple[str, ...] = ("SG101", "SG102", "SG103", "SG104", "SG105")) -> set[tuple[str, str, str]]:
    """(file, code, handler or message) of the architecture findings: line
    numbers move with every edit, what they are about does not."""
    keyed = set()
    for finding in findings(root):
        if finding.code in codes:
            about = str(finding.data.get("handler") or finding.message)
            keyed.add((finding.relative, finding.code, about))
    return keyed


def changed_relatives(fix: Fix, root: Path) -> list[str]:
    return sorted(Path(e.path).relative_to(root).as_posix() for e in fix.edits)
