"""Models versus migration histories."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from migration_apps import (
    change_django_models,
    change_sqlalchemy_models,
    change_sqlmodel_models,
    copy_app,
    edit,
    index_of,
)
from stackguard.analysis.index import WorkspaceIndex
from stackguard.analysis.summary import summarize
from stackguard.migrations.diff import project_diff
from stackguard.migrations.schema import SqlType, type_from_annotation, type_from_text


def kinds(root: Path) -> set[tuple[str, str, str | None]]:
    return {(c.kind, c.table, c.column) for c in project_diff(index_of(root)).changes}


@pytest.mark.parametrize("app", ["app_fastapi_sqlalchemy", "app_fastapi_sqlmodel", "app_flask_sqlalchemy", "app_django_drf"])
def test_fixture_apps_are_in_sync(app: str, tmp_path: Path):
    assert kinds(copy_app(app, tmp_path)) == set()


def test_sqlalchemy_model_changes(tmp_path: Path):
    app = copy_app("app_fastapi_sqlalchemy", tmp_path)
    change_sqlalchemy_models(app)
    assert kinds(app) == {
        ("type_changed", "users", "full_name"),
        ("missing_column", "users", "nickname"),
        ("missing_column", "books", "isbn"),
        ("missing_column", "books", "shelf_id"),
        ("missing_table", "shelves", None),
    }
    change = next(c for c in project_diff(index_of(app)).changes if c.kind == "type_changed")
    assert change.wanted.type == SqlType("String", (("length", "150"),))
    assert change.current.type == SqlType("String", (("length", "100"),))
    assert change.data("/p") == {"table": "users", "column": "full_name", "kind": "type_changed", "tool": "alembic", "location": "alembic/versions", "root": "/p"}


def test_removed_column_index_and_nullability(tmp_path: Path):
    app = copy_app("app_fastapi_sqlalchemy", tmp_path)
    models = app / "app/models.py"
    edit(models, "    summary: Mapped[str | None] = mapped_column(Text)\n", "")
    edit(models, 'title: Mapped[str] = mapped_column(String(200), index=True)', 'title: Mapped[str | None] = mapped_column(String(200))')
    assert kinds(app) == {
        ("extra_column", "books", "summary"),
        ("nullable_changed", "books", "title"),
        ("extra_index", "books", "title"),
    }


def test_columns_from_a_base_defined_elsewhere_are_not_called_extra(tmp_path: Path):
    app = copy_app("app_fastapi_sqlalchemy", tmp_path)
    (app / "app/mixins.py").write_text(
        "from sqlalchemy import Text\nfrom sqlalchemy.orm import Mapped, mapped_column\n\n\n"
        "class SummaryMixin:\n    summary: Mapped[str | None] = mapped_column(Text)\n",
        encoding="utf-8",
    )
    models = app / "app/models.py"
    edit(models, "    summary: Mapped[str | None] = mapped_column(Text)\n", "")
    edit(models, "class Book(Base):", "class Book(SummaryMixin, Base):")
    edit(models, "from app.db import Base\n", "from app.db import Base\nfrom app.mixins import SummaryMixin\n")
    assert kinds(app) == set()


def test_sqlmodel_and_django_changes(tmp_path: Path):
    sqlmodel_app = copy_app("app_fastapi_sqlmodel", tmp_path)
    change_sqlmodel_models(sqlmodel_app)
    assert kinds(sqlmodel_app) == {("missing_table", "mission", None), ("missing_column", "hero", "power")}
    django_app = copy_app("app_django_drf", tmp_path)
    change_django_models(django_app)
    assert kinds(django_app) == {("missing_column", "catalog_book", "pages"), ("missing_table", "catalog_review", None)}
    edit(django_app / "catalog/models.py", "title = models.CharField(max_length=200)", "title = models.TextField(null=True)")
    assert ("type_changed", "catalog_book", "title") in kinds(django_app)


def test_django_app_without_migrations_is_not_compared(tmp_path: Path):
    app = copy_app("app_django_drf", tmp_path)
    (app / "reviews").mkdir()
    (app / "reviews/__init__.py").write_text("")
    (app / "reviews/models.py").write_text("from django.db import models\n\n\nclass Note(models.Model):\n    text = models.TextField()\n")
    assert kinds(app) == set()
    (app / "reviews/migrations").mkdir()
    (app / "reviews/migrations/__init__.py").write_text("")
    assert kinds(app) == {("missing_table", "reviews_note", None)}


def test_types_compare_by_family_and_length():
    assert type_from_text("VARCHAR(length=255)").same_as(type_from_text("String(255)"))
    assert type_from_annotation("str | None", sqlmodel=True).same_as(SqlType("String", (("length", "80"),)))
    assert type_from_text("String(100)").same_as(type_from_text("String(150)")) is False
    assert type_from_text("Integer").same_as(type_from_text("BigInteger")) is False
    assert type_from_text("Enum(Status)").same_as(type_from_text("String(10)")) is None
    assert type_from_annotation("Optional[datetime.datetime]") == SqlType("DateTime")
    assert type_from_annotation("list[int]") is None
    assert type_from_text("MyCustomType()") is None


def test_result_is_cached_until_a_model_or_migration_summary_changes(tmp_path: Path):
    app = copy_app("app_fastapi_sqlalchemy", tmp_path)
    index = index_of(app)
    first = project_diff(index)
    assert project_diff(index) is first
    # A router edit does not invalidate it.
    router = "app/routers/users.py"
    index.update(summarize(router, ast.parse((app / router).read_text()), "router"))
    assert project_diff(index) is first
    # A model edit does.
    models = "app/models.py"
    text = (app / models).read_text().replace("String(100)", "String(120)")
    index.update(summarize(models, ast.parse(text), "model"))
    assert {c.kind for c in project_diff(index).changes} == {"type_changed"}


def test_a_new_migration_marks_model_files_affected(tmp_path: Path):
    app = copy_app("app_fastapi_sqlalchemy", tmp_path)
    index: WorkspaceIndex = index_of(app)
    revision = 'revision = "zz"\ndown_revision = "8c41e07a5d22"\n\ndef upgrade():\n    pass\n'
    affected = index.update(summarize("alembic/versions/zz.py", ast.parse(revision), "migration"))
    assert "app/models.py" in affected
    # Re-analysing it unchanged (a keystroke in a comment) does not.
    assert index.update(summarize("alembic/versions/zz.py", ast.parse("# note\n" + revision), "migration")) == set()
    assert "app/models.py" in index.remove("alembic/versions/zz.py")
