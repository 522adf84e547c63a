"""SG501 quick fix: add the annotations that are certain.

Findings come from the real Engine (rules, index, layers); after the fix
the code parses and the rule no longer reports what was fixed."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest
from fixhelp import applied
from stackguard.analysis.engine import Engine, module_name
from stackguard.analysis.index import WorkspaceIndex
from stackguard.analysis.layers import classify_layer
from stackguard.analysis.source import parse_source
from stackguard.config import Settings
from stackguard.fixes import apply_text_edits
from stackguard.fixes.annotations import annotations_fix

SERVICE = "app/services/items.py"


def fixed(project, source: str, *, relative: str = SERVICE, files: dict[str, str] | None = None, which: int = 0):
    proj = project({**(files or {}), relative: source}, ["SG501"])
    findings = proj.findings(relative)
    finding = findings[which]
    fix = annotations_fix(finding, proj.files[relative], project_root=proj.root)
    assert fix is not None, "expected a fix"
    new = applied(fix, proj.path(relative), proj.files[relative])
    return new, fix, proj.findings(relative, new), finding


def test_literal_defaults_and_none_return(project):
    new, fix, after, _ = fixed(
        project,
        """\
        def archive_items(older_than_days=30, dry_run=False, *, reason="stale", ratio=0.5):
            print(older_than_days, dry_run, reason, ratio)
        """,
    )
    assert new == textwrap.dedent(
        """\
        def archive_items(older_than_days: int = 30, dry_run: bool = False, *, reason: str = "stale", ratio: float = 0.5) -> None:
            print(older_than_days, dry_run, reason, ratio)
        """
    )
    assert fix.title == "Add annotations `older_than_days: int`, `dry_run: bool`, `reason: str`, `ratio: float`, `-> None`"
    assert fix.safe
    assert after == []  # the rule no longer fires


def test_session_import_is_added_next_to_an_existing_one(project):
    new, _fix, after, _ = fixed(
        project,
        """\
        from sqlalchemy import select
        from sqlalchemy.orm import selectinload

        from app.models import Item


        def list_items(session, limit=50):
            return session.scalars(select(Item).options(selectinload(Item.tags)).limit(limit)).all()
        """,
    )
    assert new == textwrap.dedent(
        """\
        from sqlalchemy import select
        from sqlalchemy.orm import selectinload, Session

        from app.models import Item


        def list_items(session: Session, limit: int = 50):
            return session.scalars(select(Item).options(selectinload(Item.tags)).limit(limit)).all()
        """
    )
    # The return type is not certain: the finding stays, for the return only.
    assert [f.data["params"] for f in after] == [[]] and after[0].data["return"] is True


def test_aliased_session_import_is_used_and_nothing_is_imported(project):
    new, _fix, after, _ = fixed(
        project,
        """\
        from sqlalchemy.ext.asyncio import AsyncSession as DbSession


        async def touch(session, item):
            session.add(item)
            await session.commit()
        """,
    )
    assert "async def touch(session: DbSession, item) -> None:" in new
    assert new.count("import") == 1
    assert [f.data["params"] for f in after] == [["item"]] and after[0].data["return"] is False


def test_sqlmodel_session_from_the_project(project):
    new, _fix, after, _ = fixed(
        project,
        """\
        def save(session, hero):
            session.add(hero)
            session.commit()
        """,
        files={"app/db.py": "from sqlmodel import Session, create_engine\nengine = create_engine(URL)\n"},
    )
    assert new.startswith("from sqlmodel import Session\n")
    assert "def save(session: Session, hero) -> None:" in new
    assert after[0].data["params"] == ["hero"]


def test_methods_are_found_by_line_among_same_named_ones(project):
    source = """\
    class ItemService:
        @property
        def label(self):
            return "item"

        @label.setter
        def label(self, value="x"):
            self._label = value
    """
    new, _fix, after, finding = fixed(project, source, which=1)
    assert finding.line == 7
    assert "    def label(self, value: str = \"x\") -> None:" in new
    assert "    def label(self):\n" in new  # the getter is untouched
    assert len(after) == 1 and after[0].line == 3
    new_getter, _fix, after_getter, _ = fixed(project, source, which=0)
    assert "    def label(self) -> str:\n" in new_getter and len(after_getter) == 1


def test_multiline_signature_keeps_its_layout(project):
    new, _fix, _after, _ = fixed(
        project,
        """\
        def notify(
            user_id: int,
            channel="email",
            retries=3,
        ):
            print(user_id, channel, retries)
        """,
    )
    assert new == textwrap.dedent(
        """\
        def notify(
            user_id: int,
            channel: str = "email",
            retries: int = 3,
        ) -> None:
            print(user_id, channel, retries)
        """
    )


def test_route_handler_parameter_types_are_not_safe(project):
    source = """\
    from fastapi import APIRouter

    router = APIRouter()


    @router.get("/items")
    def list_items(limit=20):
        print(limit)
    """
    new, fix, after, finding = fixed(project, source, relative="app/routers/items.py")
    assert finding.fix_title and not finding.fixable
    assert not fix.safe
    assert "def list_items(limit: int = 20) -> None:" in new and after == []


def test_no_op_cases(project):
    proj = project({SERVICE: "def get(key):\n    return lookup(key)\n"}, ["SG501"])
    (finding,) = proj.findings(SERVICE)
    assert finding.fix_title is None
    assert annotations_fix(finding, proj.files[SERVICE]) is None  # nothing is certain
    source = "def log(message='x'):\n    print(message)\n"
    proj = project({SERVICE: source}, ["SG501"])
    (finding,) = proj.findings(SERVICE)
    done = "def log(message: str = 'x') -> None:\n    print(message)\n"
    assert annotations_fix(finding, done) is None  # already annotated: stale finding
    assert annotations_fix(finding, "\n\n\n\n") is None  # the function is gone
    assert annotations_fix(finding, "def log(message='x':\n") is None  # text that does not parse


FIXTURES = Path(__file__).parents[2] / "rules" / "fixtures" / "SG501"


def _load() -> dict[str, str]:
    files = {}
    for path in sorted(FIXTURES.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        match = re.search(r"^#\s*fixture-path:\s*(.+)$", text, re.MULTILINE)
        files[match.group(1).strip() if match else path.name] = text
    return files


def _lint(files: dict[str, str], relative: str, text: str):
    index = WorkspaceIndex()
    for other, body in files.items():
        index.update_tree(other, parse_source(other, other, text if other == relative else body).tree)
    source = parse_source(f"/p/{relative}", relative, text)
    assert source.tree is not None
    return Engine(Settings(select=["SG501"])).check(source, classify_layer(relative, source.tree), index=index, module=module_name(relative)).findings


@pytest.mark.parametrize("relative", sorted(_load()))
def test_fixes_on_the_rule_fixture(relative):
    """Every offered fix parses, shrinks what its finding reports, and leaves
    the other findings alone."""
    files = _load()
    text = files[relative]
    findings = _lint(files, relative, text)
    for finding in findings:
        fix = annotations_fix(finding, text)
        if finding.fix_title is None:
            assert fix is None
            continue
        assert fix is not None, finding
        new = apply_text_edits(text, fix.edits_for(finding.path))
        after = _lint(files, relative, new)
        name = finding.data["qualname"]
        same = [f for f in after if f.data["qualname"] == name]
        assert len(same) <= 1
        assert sorted(f.data["qualname"] for f in after if f.data["qualname"] != name) == sorted(
            f.data["qualname"] for f in findings if f is not finding
        )
        assert _missing(same[0]) < _missing(finding) if same else True


def _missing(finding) -> set[str]:
    return set(finding.data["params"]) | ({"-> return"} if finding.data["return"] else set())
