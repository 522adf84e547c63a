"""Generated migrations verified with the real tools, on private copies of
the fixture apps: alembic upgrade/downgrade on a fresh SQLite database and
``alembic check``; Django ``makemigrations --check``; the app's own test
suite after generation; and generating twice writes one file."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from migration_apps import (
    add_sqlalchemy_column,
    alembic,
    app_tests,
    change_django_models,
    change_sqlalchemy_models,
    change_sqlmodel_models,
    copy_app,
    index_of,
    manage,
)
from stackguard.migrations.diff import project_diff
from stackguard.migrations.generate import (
    plan_alembic_migration,
    run_alembic_autogenerate,
    run_makemigrations,
    write_new_file,
)


def generate_static(app: Path, message: str) -> Path:
    result = plan_alembic_migration(app, index_of(app), message)
    assert result.status == "created", result.message
    write_new_file(result.path, result.content)
    return result.path


def verify_alembic(app: Path, tmp_path: Path) -> None:
    database = tmp_path / f"{app.name}-fresh.db"
    alembic(app, database, "upgrade", "head")
    assert "No new upgrade operations detected" in alembic(app, database, "check")
    alembic(app, database, "downgrade", "base")
    alembic(app, database, "upgrade", "head")


def test_sqlalchemy_static_revision_upgrades_downgrades_and_checks(tmp_path: Path):
    app = copy_app("app_fastapi_sqlalchemy", tmp_path)
    change_sqlalchemy_models(app)
    generate_static(app, "add shelves")
    verify_alembic(app, tmp_path)
    assert "passed" in app_tests(app)  # includes the app's compare_metadata test
    again = plan_alembic_migration(app, index_of(app), "add shelves")
    assert again.status == "no_changes"
    assert len(list((app / "alembic/versions").glob("*.py"))) == 3


def test_sqlmodel_static_revision_upgrades_downgrades_and_checks(tmp_path: Path):
    app = copy_app("app_fastapi_sqlmodel", tmp_path)
    change_sqlmodel_models(app)
    generate_static(app, "missions")
    verify_alembic(app, tmp_path)
    assert "passed" in app_tests(app)
    assert plan_alembic_migration(app, index_of(app)).status == "no_changes"


def test_removing_a_column_and_its_index_round_trips(tmp_path: Path):
    app = copy_app("app_fastapi_sqlalchemy", tmp_path)
    models = app / "app/models.py"
    text = models.read_text()
    text = text.replace("    summary: Mapped[str | None] = mapped_column(Text)\n", "")
    text = text.replace("title: Mapped[str] = mapped_column(String(200), index=True)", "title: Mapped[str] = mapped_column(String(200))")
    models.write_text(text)
    schemas = app / "app/schemas.py"
    schemas.write_text(schemas.read_text().replace("    summary: str | None = None\n", "").replace("    summary: str | None\n", ""))
    service = app / "app/services/books.py"
    service.write_text(service.read_text().replace("summary=data.summary, ", ""))
    tests = app / "tests/test_books.py"
    tests.write_text(tests.read_text().replace(' and book["summary"] is None', ""))
    generate_static(app, "drop summary")
    verify_alembic(app, tmp_path)
    assert "passed" in app_tests(app)


def test_table_args_constraints_are_found_generated_and_checked(tmp_path: Path):
    # A composite index and a named unique constraint in __table_args__, and
    # a new table with both: SG601 finds them, the static revision creates
    # them, and alembic's own comparison (alembic check) agrees afterwards.
    app = copy_app("app_fastapi_sqlalchemy", tmp_path)
    models = app / "app/models.py"
    text = models.read_text().replace("from sqlalchemy import DateTime, ForeignKey, String, Text, func", "from sqlalchemy import DateTime, ForeignKey, Index, String, Text, UniqueConstraint, func")
    text = text.replace(
        '    __tablename__ = "books"\n',
        '    __tablename__ = "books"\n'
        '    __table_args__ = (Index("ix_books_owner_pages", "owner_id", "pages"), UniqueConstraint("owner_id", "title", name="uq_books_owner_title"))\n',
    )
    text += (
        "\n\nclass Loan(Base):\n"
        '    __tablename__ = "loans"\n'
        '    __table_args__ = (UniqueConstraint("book_id", "borrower", name="uq_loans_book_borrower"), Index("ix_loans_borrower", "borrower"))\n\n'
        "    id: Mapped[int] = mapped_column(primary_key=True)\n"
        "    book_id: Mapped[int] = mapped_column()\n"
        "    borrower: Mapped[str] = mapped_column(String(80))\n"
    )
    models.write_text(text)
    found = {(c.kind, c.table) for c in project_diff(index_of(app)).changes}
    assert found == {("missing_index", "books"), ("missing_unique", "books"), ("missing_table", "loans")}
    path = generate_static(app, "book constraints")
    revision = path.read_text()
    assert "create_index(batch_op.f('ix_books_owner_pages'), ['owner_id', 'pages'], unique=False)" in revision
    assert "create_unique_constraint(batch_op.f('uq_books_owner_title'), ['owner_id', 'title'])" in revision
    assert "sa.UniqueConstraint('book_id', 'borrower', name=op.f('uq_loans_book_borrower'))" in revision
    verify_alembic(app, tmp_path)
    assert project_diff(index_of(app)).changes == []


def test_alembic_autogenerate_against_a_scratch_database(tmp_path: Path):
    app = copy_app("app_fastapi_sqlalchemy", tmp_path)
    add_sqlalchemy_column(app)
    result = asyncio.run(run_alembic_autogenerate(app, "book language", interpreter=[sys.executable]))
    assert result.status == "created", result.message
    assert result.written and result.path.is_file() and result.path.parent == app / "alembic/versions"
    assert result.down_revision == "8c41e07a5d22"
    assert any("books.language" in op for op in result.operations)
    assert not (app / "app.db").exists()  # the user's database was never touched
    verify_alembic(app, tmp_path)
    again = asyncio.run(run_alembic_autogenerate(app, "nothing", interpreter=[sys.executable]))
    assert again.status == "no_changes", again.message
    assert len(list((app / "alembic/versions").glob("*.py"))) == 3


def test_alembic_autogenerate_refuses_multiple_heads(tmp_path: Path):
    app = copy_app("app_fastapi_sqlalchemy", tmp_path)
    for rev in ("aaaa00000001", "bbbb00000002"):
        (app / f"alembic/versions/{rev}_branch.py").write_text(f'revision = "{rev}"\ndown_revision = "8c41e07a5d22"\n')
    result = asyncio.run(run_alembic_autogenerate(app, "x", interpreter=[sys.executable]))
    assert result.status == "refused" and "2 heads" in result.message


def test_django_makemigrations_for_the_changed_app(tmp_path: Path):
    app = copy_app("app_django_drf", tmp_path)
    change_django_models(app)
    result = asyncio.run(run_makemigrations(app, ["catalog"], "book pages and reviews", interpreter=[sys.executable]))
    assert result.status == "created", result.message
    assert [p.name for p in result.paths] == ["0003_book_pages_and_reviews.py"]
    assert result.operations == ["Add field pages to book", "Create model Review"]
    assert "No changes detected" in manage(app, "makemigrations", "--check", "--dry-run")
    assert "passed" in app_tests(app)
    again = asyncio.run(run_makemigrations(app, ["catalog"], "again", interpreter=[sys.executable]))
    assert again.status == "no_changes"
    assert len(list((app / "catalog/migrations").glob("0*.py"))) == 3


def test_django_max_length_change_is_found_and_migrated(tmp_path: Path):
    # SG601 reads the change from the sources; Django's own autodetector
    # agrees (it writes an AlterField), and afterwards the two are in sync.
    app = copy_app("app_django_drf", tmp_path)
    models = app / "catalog/models.py"
    models.write_text(models.read_text().replace("title = models.CharField(max_length=200)", "title = models.CharField(max_length=300)"))
    [change] = project_diff(index_of(app)).changes
    assert (change.kind, change.model, change.column) == ("max_length_changed", "Book", "title")
    assert change.message == "Field `Book.title` has max_length=300 on the model but max_length=200 in the migrations"
    result = asyncio.run(run_makemigrations(app, ["catalog"], "longer titles", interpreter=[sys.executable]))
    assert result.status == "created", result.message
    assert result.operations == ["Alter field title on book"]
    assert project_diff(index_of(app)).changes == []


def test_django_failure_is_reported_not_raised(tmp_path: Path):
    app = copy_app("app_django_drf", tmp_path)
    (app / "catalog/models.py").write_text("raise RuntimeError('broken models')\n")
    result = asyncio.run(run_makemigrations(app, ["catalog"], interpreter=[sys.executable], timeout=60))
    assert result.status == "failed"
    assert "makemigrations failed (exit code 1)" in result.message and "broken models" in result.message


def test_fixture_apps_pass_their_own_tests_untouched(tmp_path: Path):
    for name in ("app_fastapi_sqlalchemy", "app_fastapi_sqlmodel", "app_flask_sqlalchemy", "app_django_drf"):
        app = copy_app(name, tmp_path)
        output = app_tests(app)
        assert " passed" in output and "failed" not in output, output
