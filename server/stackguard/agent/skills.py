"""The system prompt: stackguard's skill text, the project's own additions,
the detected stack and examples of the project's own code.

Two system blocks, both marked for prompt caching (``cache_control``
ephemeral), so every turn after the first reads them from the cache:

1. the backend skill: ``skills/backend/SKILL.md`` and its ``resources/``
   (checklist, ORM reference, error playbook). The same for every action and
   project that does not override them, so it is cached across actions;
2. the action's file under ``skills/actions/`` and the project context:
   extra or overriding skills from ``.stackguard/skills/``, stack notes in the
   backend-skill format (``stack/tech-stack.md``, ``stack/snippets.md``, also
   under ``.agents/skills/oma-backend/stack/``), the detected stack profile,
   and one example each of the project's service, repository, errors module
   and test, chosen by the workspace index (closest to the file the action is
   about first).

A project file with the same path as a packaged one under
``.stackguard/skills/`` (``backend/SKILL.md``, ``actions/fix-finding.md``…)
replaces it; any other ``.md`` there is added. Project files are read
through ``PathGuard`` (no symlink out of the project) and capped in size.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from ..profile_report import render_text
from ..resources import skills_root
from .tools import PathGuard, ToolError, is_secret_path

if TYPE_CHECKING:
    from ..analysis.index import WorkspaceIndex
    from ..stack.model import StackProfile

BACKEND_SKILL_FILES = (
    "backend/SKILL.md",
    "backend/resources/checklist.md",
    "backend/resources/orm-reference.md",
    "backend/resources/error-playbook.md",
)
PROJECT_SKILLS_DIR = ".stackguard/skills"
STACK_NOTE_DIRS = ("stack", ".agents/skills/oma-backend/stack")
STACK_NOTE_FILES = ("tech-stack.md", "snippets.md")
MAX_SKILL_CHARS = 40_000
MAX_PROJECT_SKILLS = 20
MAX_EXAMPLE_CHARS = 8_000
CACHE = {"type": "ephemeral"}

INTRODUCTION = """\
You are stackguard's backend agent, working inside a developer's editor on their project. You change code
through tools: read what you need, then finish with exactly one propose_edits call holding the complete change.
stackguard validates it (the Python parses, the finding you were asked to fix is gone, no new error-level
findings) and shows it to the developer as a preview they accept or reject. Nothing is written before that.
The skill below says how backend code should be layered and what good code looks like; the project context
after it says how THIS project does things. When the two differ, follow the project.
"""


@dataclass(frozen=True)
class SkillText:
    name: str  # path under skills/, e.g. "backend/SKILL.md"
    text: str
    origin: str  # "stackguard" or "project"


def packaged_skill(name: str) -> str | None:
    """A skill file shipped with stackguard, or None."""
    try:
        node = skills_root()
        for part in name.split("/"):
            node = node.joinpath(part)
        if not node.is_file():
            return None
        return _clip(node.read_text(encoding="utf-8"), MAX_SKILL_CHARS)
    except (OSError, UnicodeDecodeError, ModuleNotFoundError):
        return None


def project_skills(root: str | Path) -> dict[str, str]:
    """``.stackguard/skills/**/*.md`` of the project, by path under that
    folder (posix), size-capped, never through a symlink out of the project."""
    guard = PathGuard(root)
    base = guard.logical_root / PROJECT_SKILLS_DIR
    if not base.is_dir():
        return {}
    found: dict[str, str] = {}
    for dirpath, dirnames, filenames in os.walk(base, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if not (Path(dirpath) / d).is_symlink())
        for name in sorted(filenames):
            if not name.endswith(".md") or len(found) >= MAX_PROJECT_SKILLS:
                continue
            relative = (Path(dirpath) / name).relative_to(guard.logical_root).as_posix()
            text = _read_project_file(guard, relative)
            if text is not None:
                found[PurePosixPath(relative).relative_to(PROJECT_SKILLS_DIR).as_posix()] = text
    return found


def _read_project_file(guard: PathGuard, relative: str, limit: int = MAX_SKILL_CHARS) -> str | None:
    try:
        path, relative = guard.resolve(relative)
    except ToolError:
        return None
    if is_secret_path(relative):
        return None
    try:
        if not path.is_file() or path.stat().st_size > 4 * limit:
            return None
        data = path.read_bytes()
    except OSError:
        return None
    if b"\x00" in data[:4096]:
        return None
    return _clip(data.decode("utf-8", errors="replace"), limit)


def skill_texts(action_file: str, root: str | Path) -> tuple[list[SkillText], list[SkillText]]:
    """(backend skill files, action file + added project skills), with the
    project's overrides applied."""
    overrides = project_skills(root)
    backend: list[SkillText] = []
    for name in BACKEND_SKILL_FILES:
        if name in overrides:
            backend.append(SkillText(name, overrides.pop(name), "project"))
        else:
            text = packaged_skill(name)
            if text is not None:
                backend.append(SkillText(name, text, "stackguard"))
    action: list[SkillText] = []
    if action_file in overrides:
        action.append(SkillText(action_file, overrides.pop(action_file), "project"))
    else:
        text = packaged_skill(action_file)
        if text is not None:
            action.append(SkillText(action_file, text, "stackguard"))
    for name in sorted(overrides):
        # Other actions' files are not this action's business.
        if name.startswith("actions/") and name != action_file:
            continue
        action.append(SkillText(name, overrides[name], "project"))
    return backend, action


def stack_notes(root: str | Path) -> list[tuple[str, str]]:
    """(relative path, text) of the backend-skill stack notes present."""
    guard = PathGuard(root)
    notes: list[tuple[str, str]] = []
    for folder in STACK_NOTE_DIRS:
        for name in STACK_NOTE_FILES:
            relative = f"{folder}/{name}"
            text = _read_project_file(guard, relative)
            if text is not None:
                notes.append((relative, text))
    return notes


def _resource_words(focus: str | None) -> list[str]:
    """``app/routers/users.py`` → ["users"]: names to look for in other layers."""
    if not focus:
        return []
    stem = PurePosixPath(focus).stem
    if stem in ("__init__", "main", "views", "routes", "api", "models"):
        stem = PurePosixPath(focus).parent.name
    return [stem] if stem else []


def project_examples(index: WorkspaceIndex | None, focus: str | None = None) -> list[tuple[str, str]]:
    """(kind, relative path) of one existing service, repository, errors module
    and test of the project, nearest to ``focus`` first."""
    if index is None:
        return []
    words = _resource_words(focus)
    chosen: list[tuple[str, str]] = []

    def pick(kind: str, layer: str, related: Iterable[str]) -> None:
        candidates = [rel for rel in related if rel != focus]
        if not candidates:
            candidates = [
                rel
                for rel in index.files_in_layer(layer)
                if rel != focus and not rel.endswith("__init__.py") and _symbol_count(index, rel) > 0
            ]
            candidates.sort(key=lambda rel: (rel.count("/"), -_symbol_count(index, rel), rel))
        if candidates:
            chosen.append((kind, candidates[0]))

    related_services = [rel for word in words for rel in index.service_modules_for(word)]
    related_repositories = [rel for word in words for rel in index.repository_modules_for(word)]
    pick("service", "service", related_services)
    pick("repository", "repository", related_repositories)
    errors = index.errors_module()
    if errors is not None and errors != focus:
        chosen.append(("errors module", errors))
    tests = [rel for rel in index.files_in_layer("test") if PurePosixPath(rel).name.startswith("test_")]
    if tests:
        services = {rel for kind, rel in chosen if kind == "service"}
        service_modules = {index.summaries[rel].module for rel in services if rel in index.summaries}

        def rank(rel: str) -> tuple[int, int, str]:
            summary = index.summaries.get(rel)
            imports_service = bool(summary) and any(
                record.module in service_modules or any(f"{record.module}.{n}" in service_modules for n in record.names)
                for record in summary.imports  # type: ignore[union-attr]
            )
            named = any(word in PurePosixPath(rel).stem for word in words)
            return (0 if imports_service else 1 if named else 2, rel.count("/"), rel)

        chosen.append(("test", min(tests, key=rank)))
    return chosen


def _symbol_count(index: WorkspaceIndex, relative: str) -> int:
    summary = index.summaries.get(relative)
    return len(summary.symbols) if summary else 0


def project_context(
    root: str | Path,
    profile: StackProfile | None,
    index: WorkspaceIndex | None,
    focus: str | None = None,
    extra_skills: Iterable[SkillText] = (),
) -> str:
    """The project-specific part of the system prompt (without the action file)."""
    guard = PathGuard(root)
    parts: list[str] = []
    for skill in extra_skills:
        parts.append(f'<skill file="{skill.name}" source="{skill.origin}">\n{skill.text.strip()}\n</skill>')
    parts.append("# This project")
    if profile is not None:
        parts.append(
            "Detected stack (stackguard's detection, with the evidence for each fact):\n"
            + render_text([profile]).strip()
        )
    else:
        parts.append("No stack profile was detected for this folder.")
    for relative, text in stack_notes(root):
        parts.append(f'<stack-notes file="{relative}">\n{text.strip()}\n</stack-notes>')
    examples = project_examples(index, focus)
    if examples:
        parts.append(
            "Examples of this project's own code. Match their structure, naming, error handling, typing and test "
            "style in what you write:"
        )
        for kind, relative in examples:
            example = _read_project_file(guard, relative, MAX_EXAMPLE_CHARS)
            if example is None:
                continue
            parts.append(f'<example kind="{kind}" file="{relative}">\n{example.rstrip()}\n</example>')
    else:
        parts.append("The index found no service, repository, errors module or test to use as an example.")
    return "\n\n".join(parts)


def build_system_prompt(
    action_file: str,
    *,
    root: str | Path,
    profile: StackProfile | None = None,
    index: WorkspaceIndex | None = None,
    focus: str | None = None,
) -> list[dict[str, Any]]:
    """System blocks for the Messages API, both with ``cache_control``."""
    backend, action = skill_texts(action_file, root)
    skill_part = [INTRODUCTION.strip()]
    for skill in backend:
        skill_part.append(f'<skill file="{skill.name}" source="{skill.origin}">\n{skill.text.strip()}\n</skill>')
    action_files = [s for s in action if s.name == action_file]
    added = [s for s in action if s.name != action_file]
    project_part: list[str] = []
    for skill in action_files:
        project_part.append(f'<skill file="{skill.name}" source="{skill.origin}">\n{skill.text.strip()}\n</skill>')
    project_part.append(project_context(root, profile, index, focus, added))
    return [
        {"type": "text", "text": "\n\n".join(skill_part), "cache_control": dict(CACHE)},
        {"type": "text", "text": "\n\n".join(project_part), "cache_control": dict(CACHE)},
    ]


def _clip(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[:limit] + f"\n… [cut at {limit} characters]"
