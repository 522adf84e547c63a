"""The system prompt: packaged skills, project overrides and additions,
stack notes, and examples of the project's own code."""

from __future__ import annotations

from pathlib import Path

import pytest
from agent_support import copy_workspace, make_analyzer
from stackguard.agent.actions import ACTIONS
from stackguard.agent.skills import (
    BACKEND_SKILL_FILES,
    build_system_prompt,
    packaged_skill,
    project_examples,
    project_skills,
)


@pytest.mark.parametrize("name", [*BACKEND_SKILL_FILES, *(spec.skill_file for spec in ACTIONS.values())])
def test_every_skill_file_ships(name: str):
    text = packaged_skill(name)
    assert text is not None and text.startswith("# ") and len(text) > 800, name


def test_project_overrides_replace_and_additions_are_added(shop: Path, tmp_path: Path):
    skills = shop / ".stackguard" / "skills"
    (skills / "backend" / "resources").mkdir(parents=True)
    (skills / "actions").mkdir()
    (skills / "backend" / "resources" / "checklist.md").write_text("# Our checklist\nEvery service returns DTOs.\n")
    (skills / "actions" / "fix-finding.md").write_text("# Our fix procedure\nAlways add a regression test.\n")
    (skills / "actions" / "generate-migration.md").write_text("# Our migrations\nNot for this action.\n")
    (skills / "team.md").write_text("# Team conventions\nServices are classes named <Entity>Service.\n")
    outside = tmp_path / "elsewhere.md"
    outside.write_text("# Outside\nSHOULD-NOT-APPEAR\n")
    (skills / "linked.md").symlink_to(outside)

    assert sorted(project_skills(shop)) == ["actions/fix-finding.md", "actions/generate-migration.md", "backend/resources/checklist.md", "team.md"]
    skill, project = build_system_prompt("actions/fix-finding.md", root=shop)
    assert '<skill file="backend/resources/checklist.md" source="project">\n# Our checklist' in skill["text"]
    assert "# Review checklist for a backend change" not in skill["text"]
    assert '<skill file="backend/SKILL.md" source="stackguard">' in skill["text"]
    assert '<skill file="actions/fix-finding.md" source="project">\n# Our fix procedure' in project["text"]
    assert '<skill file="team.md" source="project">' in project["text"]
    assert "Not for this action" not in project["text"]
    assert "SHOULD-NOT-APPEAR" not in skill["text"] + project["text"]


def test_stack_notes_in_both_locations(shop: Path):
    (shop / "stack").mkdir()
    (shop / "stack" / "snippets.md").write_text("# Snippets\nrepository pattern: ...\n")
    nested = shop / ".agents" / "skills" / "oma-backend" / "stack"
    nested.mkdir(parents=True)
    (nested / "tech-stack.md").write_text("# Tech stack\nPostgreSQL 16\n")
    _, project = build_system_prompt("actions/fix-finding.md", root=shop)
    assert '<stack-notes file="stack/snippets.md">' in project["text"]
    assert '<stack-notes file=".agents/skills/oma-backend/stack/tech-stack.md">\n# Tech stack\nPostgreSQL 16' in project["text"]


def test_examples_come_from_the_projects_own_code(tmp_path: Path):
    app = copy_workspace("app_fastapi_sqlalchemy", tmp_path)
    (app / "app" / "errors.py").write_text('class NotFound(Exception):\n    """A thing is missing."""\n')
    analyzer = make_analyzer(app)
    examples = project_examples(analyzer.index, "app/routers/books.py")
    assert ("service", "app/services/books.py") in examples
    assert ("errors module", "app/errors.py") in examples
    # The test that exercises the chosen service comes first.
    assert ("test", "tests/test_books.py") in examples
    _, project = build_system_prompt(
        "actions/extract-to-service.md", root=app, profile=analyzer.profile, index=analyzer.index, focus="app/routers/books.py"
    )
    assert '<example kind="service" file="app/services/books.py">' in project["text"]
    assert "MAX_BOOKS_PER_USER = 50" in project["text"]
    assert "python · fastapi · sqlalchemy · alembic" in project["text"]
    assert project["text"].index('<skill file="actions/extract-to-service.md"') < project["text"].index("# This project")
