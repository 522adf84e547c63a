"""Shared by the migration tests: private copies of the fixture apps, the
model changes the tests make to them, and running real tools (alembic,
Django, the app's own pytest) in those copies."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from stackguard.analysis.index import WorkspaceIndex
from stackguard.analysis.project import python_files

WORKSPACES = Path(__file__).resolve().parents[2] / "workspaces"
TOOL_TIMEOUT_S = 180


def copy_app(name: str, destination: Path) -> Path:
    target = destination / name
    shutil.copytree(WORKSPACES / name, target, ignore=shutil.ignore_patterns("__pycache__", ".pytest_cache", "*.db", "*.sqlite3"))
    return target


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def index_of(root: Path) -> WorkspaceIndex:
    return WorkspaceIndex.build(root, python_files(root), processes=1)


def change_sqlalchemy_models(app: Path) -> None:
    """A new table with a foreign key target, new columns (indexed, unique,
    referencing the new table) and a longer string column."""
    models = app / "app/models.py"
    edit(models, "mapped_column(String(100))", "mapped_column(String(150))")
    edit(
        models,
        "    is_active: Mapped[bool] = mapped_column(default=True)\n",
        "    is_active: Mapped[bool] = mapped_column(default=True)\n"
        "    nickname: Mapped[str | None] = mapped_column(String(40), index=True)\n",
    )
    edit(
        models,
        "    pages: Mapped[int] = mapped_column(default=0)\n",
        "    pages: Mapped[int] = mapped_column(default=0)\n"
        "    isbn: Mapped[str | None] = mapped_column(String(13), unique=True)\n"
        '    shelf_id: Mapped[int | None] = mapped_column(ForeignKey("shelves.id"))\n',
    )
    text = models.read_text(encoding="utf-8")
    models.write_text(
        text
        + '''

class Shelf(Base):
    __tablename__ = "shelves"

    id: Mapped[int] = mapped_column(primary_key=True)
    label: Mapped[str] = mapped_column(String(50), unique=True, index=True)
    floor: Mapped[int | None]
''',
        encoding="utf-8",
    )


def add_sqlalchemy_column(app: Path) -> None:
    """One plain nullable column: what alembic autogenerate renders cleanly."""
    edit(
        app / "app/models.py",
        "    pages: Mapped[int] = mapped_column(default=0)\n",
        "    pages: Mapped[int] = mapped_column(default=0)\n    language: Mapped[str | None] = mapped_column(String(8))\n",
    )


def change_sqlmodel_models(app: Path) -> None:
    models = app / "app/models.py"
    edit(
        models,
        "    age: int | None = Field(default=None, index=True)\n",
        "    age: int | None = Field(default=None, index=True)\n    power: str | None = Field(default=None, max_length=40)\n",
    )
    edit(
        models,
        "class TeamCreate(TeamBase):",
        '''class Mission(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    codename: str = Field(max_length=60, unique=True)
    hero_id: int = Field(foreign_key="hero.id", index=True)


class TeamCreate(TeamBase):''',
    )


def change_django_models(app: Path) -> None:
    models = app / "catalog/models.py"
    edit(
        models,
        "    in_print = models.BooleanField(default=True)\n",
        "    in_print = models.BooleanField(default=True)\n    pages = models.PositiveIntegerField(null=True, blank=True)\n",
    )
    text = models.read_text(encoding="utf-8")
    models.write_text(
        text
        + '''

class Review(models.Model):
    book = models.ForeignKey(Book, on_delete=models.CASCADE, related_name="reviews")
    rating = models.PositiveSmallIntegerField()
''',
        encoding="utf-8",
    )


def run(argv: list[str], cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    merged = dict(os.environ)
    merged.pop("DATABASE_URL", None)  # the apps default to their own SQLite files
    merged.update(env or {})
    return subprocess.run(argv, cwd=cwd, env=merged, capture_output=True, text=True, timeout=TOOL_TIMEOUT_S, check=False)


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, f"{result.args} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
    return result.stdout + result.stderr


def alembic(app: Path, database: Path, *args: str) -> str:
    """``python -m alembic ARGS`` in the app against a SQLite file."""
    return ok(run([sys.executable, "-m", "alembic", *args], app, {"DATABASE_URL": f"sqlite:///{database}"}))


def app_tests(app: Path) -> str:
    # stackguard's own pytest plugins (pytest-lsp imports all of lsprotocol)
    # are installed in this interpreter; the apps use none of them.
    return ok(run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:pytest_lsp", "-p", "no:asyncio"], app))


def manage(app: Path, *args: str) -> str:
    return ok(run([sys.executable, "manage.py", *args], app))
