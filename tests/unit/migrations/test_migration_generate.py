"""Static Alembic revisions: what is written, and when nothing is.

The generated file for a fixed scenario is compared with a reviewed
snapshot (``snapshots/``); STACKGUARD_UPDATE_SNAPSHOTS=1 rewrites it.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

from migration_apps import (
    change_sqlalchemy_models,
    change_sqlmodel_models,
    copy_app,
    edit,
    index_of,
)
from stackguard.migrations.generate import (
    find_alembic_setups,
    plan_alembic_migration,
    render_template,
    scratch_database_plan,
    slugify,
    write_new_file,
)

SNAPSHOTS = Path(__file__).parent / "snapshots"
NOW = dt.datetime(2024, 10, 1, 12, 30, 5)


def check_snapshot(name: str, text: str) -> None:
    path = SNAPSHOTS / name
    if os.environ.get("STACKGUARD_UPDATE_SNAPSHOTS") or not path.exists():
        path.parent.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8")


def test_sqlalchemy_revision_matches_snapshot(tmp_path: Path):
    app = copy_app("app_fastapi_sqlalchemy", tmp_path)
    change_sqlalchemy_models(app)
    result = plan_alembic_migration(app, index_of(app), "add shelves", revision_id="0a1b2c3d4e5f", now=NOW)
    assert result.status == "created", result.message
    # alembic.ini's file_template is %%(year)d%%(month).2d%%(day).2d_%%(rev)s_%%(slug)s.
    assert result.path == app / "alembic/versions/20241001_0a1b2c3d4e5f_add_shelves.py"
    assert (result.revision, result.down_revision) == ("0a1b2c3d4e5f", "8c41e07a5d22")
    assert result.operations == [
        "create table shelves",
        "create index ix_shelves_label on shelves",
        "add column users.nickname",
        "add column books.isbn",
        "add column books.shelf_id",
        "change type of users.full_name to String(length=150)",
    ]
    assert not result.path.exists()  # planned, not written
    check_snapshot("app_fastapi_sqlalchemy.revision.py.txt", result.content)


def test_sqlmodel_types_and_template(tmp_path: Path):
    app = copy_app("app_fastapi_sqlmodel", tmp_path)
    change_sqlmodel_models(app)
    result = plan_alembic_migration(app, index_of(app), revision_id="1b2c3d4e5f60", now=NOW)
    assert result.status == "created", result.message
    assert result.path.name == "1b2c3d4e5f60_create_mission_add_hero_power.py"
    # The project's script.py.mako already imports sqlmodel: not imported twice.
    assert result.content.count("import sqlmodel") == 1
    assert "sa.Column('codename', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False)" in result.content
    assert "batch_op.add_column(sa.Column('power', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True))" in result.content
    assert "sa.UniqueConstraint('codename')" in result.content
    check_snapshot("app_fastapi_sqlmodel.revision.py.txt", result.content)


def test_without_batch_mode_ops_name_their_table(tmp_path: Path):
    app = copy_app("app_fastapi_sqlalchemy", tmp_path)
    env = app / "alembic/env.py"
    env.write_text(
        env.read_text()
        .replace(", render_as_batch=True", "")
        .replace("        render_as_batch=True,\n", "")
        .replace('"sqlite:///./app.db"', '"postgresql+psycopg://localhost/library"'),
        encoding="utf-8",
    )
    change_sqlalchemy_models(app)
    result = plan_alembic_migration(app, index_of(app), "shelves", revision_id="2c3d4e5f6071", now=NOW)
    assert "batch_alter_table" not in result.content
    assert "op.add_column('books', sa.Column('isbn', sa.String(length=13), nullable=True))" in result.content
    assert "op.create_unique_constraint(op.f('uq_books_isbn'), 'books', ['isbn'])" in result.content
    assert "op.create_foreign_key(op.f('fk_books_shelf_id_shelves'), 'books', 'shelves', ['shelf_id'], ['id'])" in result.content
    assert (
        "op.alter_column('users', 'full_name', existing_type=sa.String(length=100), type_=sa.String(length=150), existing_nullable=False)"
        in result.content
    )
    assert "op.drop_constraint(op.f('fk_books_shelf_id_shelves'), 'books', type_='foreignkey')" in result.content
    assert result.content.index("op.drop_index(op.f('ix_shelves_label'), table_name='shelves')") < result.content.index("op.drop_table('shelves')")


def test_no_changes_and_idempotence(tmp_path: Path):
    app = copy_app("app_fastapi_sqlalchemy", tmp_path)
    assert plan_alembic_migration(app, index_of(app)).status == "no_changes"
    change_sqlalchemy_models(app)
    first = plan_alembic_migration(app, index_of(app), "shelves")
    write_new_file(first.path, first.content)
    second = plan_alembic_migration(app, index_of(app), "shelves")
    assert second.status == "no_changes" and second.path is None
    assert len(list((app / "alembic/versions").glob("*.py"))) == 3


def test_multiple_heads_are_refused_with_advice(tmp_path: Path):
    app = copy_app("app_fastapi_sqlalchemy", tmp_path)
    versions = app / "alembic/versions"
    for rev in ("aaaa00000001", "bbbb00000002"):
        (versions / f"{rev}_branch.py").write_text(
            f'revision = "{rev}"\ndown_revision = "8c41e07a5d22"\n\ndef upgrade():\n    pass\n\ndef downgrade():\n    pass\n'
        )
    change_sqlalchemy_models(app)
    result = plan_alembic_migration(app, index_of(app))
    assert result.status == "refused"
    assert "2 heads (aaaa00000001, bbbb00000002)" in result.message
    assert "alembic merge heads" in result.message
    assert len(list(versions.glob("*.py"))) == 4


def test_models_inheriting_columns_from_elsewhere_are_not_generated(tmp_path: Path):
    app = copy_app("app_fastapi_sqlalchemy", tmp_path)
    (app / "app/mixins.py").write_text(
        "from sqlalchemy.orm import Mapped, mapped_column\n\n\nclass IdMixin:\n    id: Mapped[int] = mapped_column(primary_key=True)\n"
    )
    models = app / "app/models.py"
    edit(models, "from app.db import Base\n", "from app.db import Base\nfrom app.mixins import IdMixin\n")
    models.write_text(models.read_text() + '\n\nclass Tag(IdMixin, Base):\n    __tablename__ = "tags"\n\n    name: Mapped[str]\n')
    result = plan_alembic_migration(app, index_of(app))
    assert result.status == "refused"
    assert "`Tag` inherits columns from a class stackguard cannot see" in result.message


def test_projects_without_alembic(tmp_path: Path):
    app = copy_app("app_flask_sqlalchemy", tmp_path)
    result = plan_alembic_migration(app, index_of(app))
    assert result.status == "refused" and "no Alembic setup" in result.message


def test_custom_mako_falls_back_to_the_default_template(tmp_path: Path):
    app = copy_app("app_fastapi_sqlalchemy", tmp_path)
    mako = app / "alembic/script.py.mako"
    mako.write_text(mako.read_text().replace("${imports if imports else \"\"}", "% if imports:\n${imports}\n% endif"))
    change_sqlalchemy_models(app)
    result = plan_alembic_migration(app, index_of(app), "x", revision_id="3d4e5f607182")
    assert result.status == "created"
    assert any("default template" in note for note in result.notes)
    assert "revision: str = '3d4e5f607182'" in result.content


def test_template_placeholders_and_slugs():
    values = {
        "message": "m",
        "up_revision": "r",
        "down_revision": None,
        "create_date": "d",
        "imports": "",
        "upgrades": ["op.a()", "op.b()"],
        "downgrades": [],
    }
    rendered = render_template("def upgrade():\n    ${upgrades if upgrades else \"pass\"}\n", values)
    assert rendered == (
        "def upgrade():\n    # ### commands generated by stackguard - please review! ###\n"
        "    op.a()\n    op.b()\n    # ### end stackguard commands ###\n"
    )
    assert render_template("x = ${unknown_thing}\n", values) is None
    assert render_template("Revises: ${down_revision | comma,n}\n", values) == "Revises: \n"
    assert slugify("Add Book.isbn & shelves!") == "add_book_isbn_shelves"
    assert slugify("") == "migration"


def test_scratch_database_plans(tmp_path: Path):
    sqlalchemy_app = copy_app("app_fastapi_sqlalchemy", tmp_path)
    [setup] = find_alembic_setups(sqlalchemy_app)
    assert setup.render_as_batch
    plan = scratch_database_plan(setup)
    assert (plan.via, plan.variable) == ("env", "DATABASE_URL")
    sqlmodel_app = copy_app("app_fastapi_sqlmodel", tmp_path)
    [setup] = find_alembic_setups(sqlmodel_app)
    assert setup.ini_url == "sqlite:///./heroes.db"
    assert scratch_database_plan(setup).variable == "DATABASE_URL"
    env = sqlalchemy_app / "alembic/env.py"
    env.write_text(env.read_text().replace('"sqlite:///./app.db"', '"postgresql://db/library"'))
    assert scratch_database_plan(find_alembic_setups(sqlalchemy_app)[0]) is None
