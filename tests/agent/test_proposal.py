"""``propose_edits``: turning the model's edits into file changes, and the
validation that decides whether the user sees them."""

from __future__ import annotations

from pathlib import Path

import pytest
from agent_support import make_analyzer
from stackguard.agent.proposal import ProposalError, ProposalValidator, parse_proposal
from stackguard.agent.tools import ToolBox

REPOSITORY = "app/repositories/users.py"
SQL_OLD = """text(f"SELECT id FROM users WHERE email = '{email}'"))"""
SQL_NEW = """text("SELECT id FROM users WHERE email = :email"), {"email": email})"""


@pytest.fixture
def analyzer(shop: Path):
    return make_analyzer(shop)


@pytest.fixture
def sql_finding(shop: Path, analyzer):
    text = (shop / REPOSITORY).read_text()
    return next(f for f in analyzer.analyze(str(shop / REPOSITORY), text).findings if f.code == "SG201")


def edits(*items: dict, summary: str = "Bind the email as a parameter") -> dict:
    return {"edits": list(items), "summary": summary}


def test_replacements_and_new_files(shop: Path):
    box = ToolBox(shop)
    proposal = parse_proposal(
        edits(
            {"path": REPOSITORY, "old_text": SQL_OLD, "new_text": SQL_NEW},
            {"path": REPOSITORY, "old_text": "    def add(", "new_text": "    def add_user("},
            {"path": "app/services/users.py", "new_text": "def noop() -> None:\n    return None\n"},
        ),
        box,
    )
    changed, created = proposal.changes
    assert changed.relative == REPOSITORY and not changed.created
    assert changed.before == (shop / REPOSITORY).read_text()
    assert SQL_NEW in changed.after and "def add_user(" in changed.after and SQL_OLD not in changed.after
    assert created.created and created.before is None and created.path == shop / "app/services/users.py"
    assert proposal.summary == "Bind the email as a parameter"
    # Nothing is written: the editor applies changes after review.
    assert SQL_OLD in (shop / REPOSITORY).read_text()
    assert not (shop / "app/services/users.py").exists()


def test_every_mistake_is_reported_at_once(shop: Path):
    box = ToolBox(shop)
    with pytest.raises(ProposalError) as caught:
        parse_proposal(
            edits(
                {"path": REPOSITORY, "old_text": "no such text", "new_text": "x"},
                {"path": REPOSITORY, "old_text": "self.session", "new_text": "self.db"},
                {"path": "../escape.py", "new_text": "x"},
                {"path": "app/new.py", "old_text": "a", "new_text": "b"},
                {"path": REPOSITORY},
                "not an object",
                summary="",
            ),
            box,
        )
    problems = caught.value.problems
    assert problems[0] == "summary must be a short description of the change for the user"
    assert any("edit 1 (app/repositories/users.py): old_text was not found" in p for p in problems)
    assert any("edit 2 (app/repositories/users.py): old_text occurs 6 times" in p for p in problems)
    assert any(p.startswith("edit 3: '../escape.py': '..' is not allowed") for p in problems)
    assert any("edit 4 (app/new.py): the file does not exist" in p for p in problems)
    assert any("edit 5 (app/repositories/users.py): new_text must be a string" in p for p in problems)
    assert "edit 6: must be an object {path, new_text, old_text?}" in problems


def test_near_miss_hint_and_no_op(shop: Path):
    box = ToolBox(shop)
    with pytest.raises(ProposalError, match="first line matches line 16 apart from whitespace"):
        parse_proposal(edits({"path": REPOSITORY, "old_text": "def find_by_email(self, email: str) -> User | None:\n  row", "new_text": "x"}), box)
    with pytest.raises(ProposalError, match="the edits change nothing"):
        parse_proposal(edits({"path": REPOSITORY, "old_text": "    def add(", "new_text": "    def add("}), box)
    for bad in (None, [], {"edits": []}, {"edits": "x", "summary": "s"}):
        with pytest.raises(ProposalError):
            parse_proposal(bad, box)


def test_crlf_files_keep_their_line_breaks(shop: Path):
    path = shop / "app" / "crlf.py"
    path.write_bytes(b"def one() -> int:\r\n    return 1\r\n")
    proposal = parse_proposal(edits({"path": "app/crlf.py", "old_text": "def one() -> int:\n    return 1", "new_text": "def one() -> int:\n    return 2"}), ToolBox(shop))
    assert proposal.changes[0].after == "def one() -> int:\r\n    return 2\r\n"


def test_valid_fix_passes_validation(shop: Path, analyzer, sql_finding):
    proposal = parse_proposal(edits({"path": REPOSITORY, "old_text": SQL_OLD, "new_text": SQL_NEW}), ToolBox(shop))
    validation = ProposalValidator(analyzer, target=sql_finding).validate(proposal)
    assert validation.ok, validation.problems
    assert "SG201" not in [f.code for f in validation.findings_after[REPOSITORY]]


def test_syntax_errors_are_reported_with_position(shop: Path, analyzer, sql_finding):
    broken = SQL_NEW[:-1]  # drop the closing parenthesis
    proposal = parse_proposal(edits({"path": REPOSITORY, "old_text": SQL_OLD, "new_text": broken}), ToolBox(shop))
    [problem] = ProposalValidator(analyzer, target=sql_finding).validate(proposal).problems
    assert problem.startswith("app/repositories/users.py:17:") and "does not parse: '(' was never closed" in problem


def test_target_still_present_fails(shop: Path, analyzer, sql_finding):
    proposal = parse_proposal(edits({"path": REPOSITORY, "old_text": "    def add(", "new_text": "    def add_user("}), ToolBox(shop))
    [problem] = ProposalValidator(analyzer, target=sql_finding).validate(proposal).problems
    assert problem.startswith("app/repositories/users.py:17: SG201 is still reported:")
    untouched = parse_proposal(edits({"path": "app/services/new.py", "new_text": "X = 1\n"}), ToolBox(shop))
    assert "SG201 is still reported" in ProposalValidator(analyzer, target=sql_finding).validate(untouched).problems[0]


def test_silencing_the_finding_is_refused(shop: Path, analyzer, sql_finding):
    silenced = SQL_OLD + "  # stackguard: ignore[SG201]"
    proposal = parse_proposal(edits({"path": REPOSITORY, "old_text": SQL_OLD, "new_text": silenced}), ToolBox(shop))
    [problem] = ProposalValidator(analyzer, target=sql_finding).validate(proposal).problems
    assert "adds a '# stackguard: ignore[...]' comment" in problem


def test_new_error_findings_in_touched_files_fail(shop: Path, analyzer, sql_finding):
    injected = (
        "from sqlalchemy import text\nfrom sqlalchemy.orm import Session\n\n\n"
        "def by_name(session: Session, name: str) -> object:\n"
        "    return session.execute(text(f\"SELECT * FROM users WHERE name = '{name}'\")).first()\n"
    )
    proposal = parse_proposal(
        edits(
            {"path": REPOSITORY, "old_text": SQL_OLD, "new_text": SQL_NEW},
            {"path": "app/repositories/names.py", "new_text": injected},
        ),
        ToolBox(shop),
    )
    [problem] = ProposalValidator(analyzer, target=sql_finding).validate(proposal).problems
    assert problem.startswith("app/repositories/names.py:6: new error SG201 sql-string-interpolation:")


def test_existing_errors_elsewhere_in_a_touched_file_do_not_fail(shop: Path, analyzer):
    # No target: an unrelated edit to a file that already has an error-level finding.
    proposal = parse_proposal(edits({"path": REPOSITORY, "old_text": "    def add(", "new_text": "    def add_user("}), ToolBox(shop))
    assert ProposalValidator(analyzer).validate(proposal).ok


def test_cross_file_rules_see_the_proposed_files(shop: Path, analyzer):
    """The scratch index holds every proposed file: a relationship of a model
    that exists only in the proposal, read per row in a loop in another
    proposed file, is an N+1."""
    models = (
        "from sqlalchemy import ForeignKey\nfrom sqlalchemy.orm import Mapped, mapped_column, relationship\n\n"
        "from app.models import Base\n\n\n"
        "class Shelf(Base):\n    __tablename__ = \"shelves\"\n\n"
        "    id: Mapped[int] = mapped_column(primary_key=True)\n"
        "    books: Mapped[list[\"Volume\"]] = relationship(back_populates=\"shelf\")\n\n\n"
        "class Volume(Base):\n    __tablename__ = \"volumes\"\n\n"
        "    id: Mapped[int] = mapped_column(primary_key=True)\n"
        "    shelf_id: Mapped[int] = mapped_column(ForeignKey(\"shelves.id\"))\n"
        "    shelf: Mapped[Shelf] = relationship(back_populates=\"books\")\n"
    )
    loop = (
        "from sqlalchemy import select\nfrom sqlalchemy.orm import Session\n\nfrom app.shelves import Shelf\n\n\n"
        "def sizes(session: Session) -> dict[int, int]:\n"
        "    shelves = session.scalars(select(Shelf)).all()\n"
        "    return {shelf.id: len(shelf.books) for shelf in shelves}\n"
    )
    proposal = parse_proposal(
        edits({"path": "app/shelves.py", "new_text": models}, {"path": "app/repositories/shelves.py", "new_text": loop}),
        ToolBox(shop),
    )
    validation = ProposalValidator(analyzer).validate(proposal)
    assert "SG202" in [f.code for f in validation.findings_after["app/repositories/shelves.py"]]
    # Without the proposed model file the same loop is not an N+1 stackguard can see.
    alone = parse_proposal(edits({"path": "app/repositories/shelves.py", "new_text": loop}), ToolBox(shop))
    assert "SG202" not in [f.code for f in ProposalValidator(analyzer).validate(alone).findings_after["app/repositories/shelves.py"]]
    # The live index is untouched by validation.
    assert "app/shelves.py" not in analyzer.index.summaries
