"""SG202 n-plus-one: relationships from the workspace index (incl. reverse
accessors), loading options on the query or the model, async severity, and
the query position the eager-load fix edits."""

from __future__ import annotations

import textwrap

import pytest
from stackguard.analysis.engine import Engine, module_name
from stackguard.analysis.index import WorkspaceIndex
from stackguard.analysis.source import parse_source
from stackguard.config import Settings

MODELS = """\
from sqlalchemy import ForeignKey
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    items: Mapped[list["Item"]] = relationship(back_populates="owner")
    logins: Mapped[list["Login"]] = relationship(lazy="dynamic")
    roles: Mapped[list["Role"]] = relationship(lazy="select")


class Item(Base):
    __tablename__ = "items"
    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    owner: Mapped[User] = relationship(back_populates="items")


class Login(Base):
    __tablename__ = "logins"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))


class Role(Base):
    __tablename__ = "roles"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))


class Order(Base):
    __tablename__ = "orders"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    user = relationship("User", backref="orders")
"""

DJANGO_MODELS = """\
from django.db import models


class Author(models.Model):
    name = models.CharField(max_length=100)


class Post(models.Model):
    author = models.ForeignKey(Author, on_delete=models.CASCADE)


class Comment(models.Model):
    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="comments")
"""

HEADER = """\
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from app.models import Item, Order, User
"""


def lint(code: str, *, models: dict[str, str] | None = None, with_index: bool = True, severity: dict | None = None, path: str = "app/services/users.py"):
    files = {"app/models.py": MODELS, "blog/models.py": DJANGO_MODELS} if models is None else models
    index = None
    if with_index:
        index = WorkspaceIndex()
        for relative, text in files.items():
            tree = parse_source(f"/p/{relative}", relative, text).tree
            assert tree is not None
            index.update_tree(relative, tree)
    source = parse_source(f"/p/{path}", path, textwrap.dedent(code))
    assert source.tree is not None
    result = Engine(Settings(select=["SG202"], severity=severity or {})).check(source, "service", index=index, module=module_name(path))
    assert not result.rule_errors
    return source, result.findings


def test_without_an_index_the_rule_stays_quiet():
    _, findings = lint(HEADER + "def f(s: Session):\n    return [u.items for u in s.scalars(select(User))]\n", with_index=False)
    assert findings == []


def test_data_points_at_the_statement_the_fix_extends():
    source, (finding,) = lint(
        HEADER
        + """
def f(s: Session):
    users = s.scalars(
        select(User).where(User.id > 1)
    ).all()
    return [len(u.items) for u in users]
"""
    )
    data = finding.data
    assert data["model"] == "User" and data["relationship"] == "items"
    assert data["loader"] == "selectinload" and data["to_many"] is True
    assert data["orm"] == "sqlalchemy"
    assert finding.fix_title == "Eager-load `User.items` with selectinload on the query"
    assert finding.fixable is True
    line = source.line_text(data["query_line"])
    assert line[data["query_col"] : data["query_end_col"]] == "select(User).where(User.id > 1)"
    assert data["query_end_line"] == data["query_line"]
    assert source.line_text(finding.line)[finding.column : finding.end_column] == "u.items"


def test_to_one_relationship_gets_joinedload():
    _, (finding,) = lint(HEADER + "def f(s: Session):\n    for item in s.scalars(select(Item)):\n        print(item.owner.id)\n")
    assert finding.data["loader"] == "joinedload"
    assert finding.data["to_many"] is False


def test_backref_reverse_accessor_from_another_model():
    _, (finding,) = lint(HEADER + "def f(s: Session):\n    return [len(u.orders) for u in s.query(User).all()]\n")
    assert finding.data["relationship"] == "orders"
    assert finding.data["to_many"] is True


def test_model_loading_strategy_decides():
    _, findings = lint(
        HEADER
        + """
def f(s: Session):
    users = s.scalars(select(User)).all()
    return [(u.logins, u.roles) for u in users]
"""
    )
    assert [f.data["relationship"] for f in findings] == ["roles"]  # dynamic stays quiet, lazy="select" does not


def test_async_session_is_an_error_unless_configured():
    code = (
        HEADER
        + """
async def f(s):
    result = await s.execute(select(User))
    return [u.items for u in result.scalars()]
"""
    )
    _, (finding,) = lint(code)
    assert finding.severity == "error"
    assert "MissingGreenlet" in finding.message
    _, (configured,) = lint(code, severity={"SG202": "info"})
    assert configured.severity == "info"


def test_sync_session_in_async_def_is_a_warning():
    _, (finding,) = lint(HEADER + "async def f(s: Session):\n    return [u.items for u in s.scalars(select(User))]\n")
    assert finding.severity == "warning"


def test_later_generators_and_nested_loops_count_as_the_body():
    _, findings = lint(
        HEADER
        + """
def f(s: Session):
    names = [i.id for u in s.scalars(select(User)) for i in u.items]
    for u in s.scalars(select(User)):
        for item in u.items:
            print(item.id)
    return names
"""
    )
    assert [(f.line, f.data["relationship"]) for f in findings] == [(7, "items"), (9, "items")]


def test_reads_in_a_nested_function_do_not_count():
    _, findings = lint(
        HEADER
        + """
def f(s: Session):
    callbacks = []
    for u in s.scalars(select(User)):
        def later():
            return u.items
        callbacks.append(later)
    return callbacks
"""
    )
    assert findings == []


@pytest.mark.parametrize(
    "query",
    [
        "select(User).options(selectinload(User.items))",
        "select(User).options(selectinload(User.items).selectinload(Item.owner))",
        'select(User).options(selectinload("*"))',
        "select(User).options(*OPTIONS)",
        "select(User).options(Load(User).selectinload(User.items))",
        "select(User).options(raiseload(User.items))",
    ],
)
def test_eager_options_keep_it_quiet(query):
    _, findings = lint(HEADER + f"OPTIONS = []\n\ndef f(s: Session):\n    return [u.items for u in s.scalars({query})]\n")
    assert findings == []


@pytest.mark.parametrize(
    "query",
    [
        "select(User).options(selectinload(User.roles))",  # another relationship
        "select(User).options(lazyload(User.items))",  # explicitly lazy
        "select(User).options(defaultload(User.items).selectinload(Item.owner))",  # only the next hop
    ],
)
def test_options_for_something_else_still_report(query):
    _, findings = lint(HEADER + f"def f(s: Session):\n    return [u.items for u in s.scalars({query})]\n")
    assert len(findings) == 1


def test_django_prefetch_to_attr_and_select_related_without_arguments():
    code = """\
from django.db.models import Prefetch

from blog.models import Post


def a():
    return [p.recent for p in Post.objects.prefetch_related(Prefetch("comments", to_attr="recent"))]


def b():
    return [(p.author.name, p.comments.count()) for p in Post.objects.select_related()]
"""
    _, findings = lint(code, path="blog/selectors.py")
    # select_related() follows forward foreign keys only: the reverse accessor is still lazy.
    assert [(f.line, f.data["relationship"], f.data["loader"]) for f in findings] == [(11, "comments", "prefetch_related")]


def test_flask_sqlalchemy_model_query():
    _, (finding,) = lint(HEADER + "def f():\n    return [u.items for u in User.query.filter_by(active=True).all()]\n")
    assert finding.data["orm"] == "flask-sqlalchemy"


def test_row_results_and_column_selects_are_not_models():
    _, findings = lint(
        HEADER
        + """
def f(s: Session):
    a = [row.items for row in s.execute(select(User))]
    b = [row.items for row in s.execute(select(User.id, Item.id))]
    c = [row.items for row in s.query(User, Item).all()]
    return a, b, c
"""
    )
    assert findings == []
