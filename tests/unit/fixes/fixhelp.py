"""Helpers for the quick-fix tests: a small in-memory project whose findings
come from the real Engine (rules, workspace index, layers), so the tests check
the fixes against what the rules actually report.

(A module with its own name rather than conftest.py: several conftest
modules exist under tests/ and ``from conftest import`` could pick another.)"""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import libcst as cst
from stackguard.analysis.engine import Engine, module_name
from stackguard.analysis.index import WorkspaceIndex
from stackguard.analysis.layers import classify_layer
from stackguard.analysis.source import parse_source
from stackguard.config import Settings
from stackguard.fixes import Fix, apply_text_edits
from stackguard.rules.base import Finding


class Project:
    """Files (relative path → text) under ``root``; ``findings`` lints one of
    them with its current or a given text, the other files feeding the index."""

    def __init__(self, root: Path | str, files: dict[str, str], codes: list[str]) -> None:
        self.root = str(root)
        self.files = {relative: textwrap.dedent(text) for relative, text in files.items()}
        self.codes = codes

    def path(self, relative: str) -> str:
        return f"{self.root}/{relative}"

    def findings(self, relative: str, text: str | None = None) -> list[Finding]:
        text = self.files[relative] if text is None else text
        index = WorkspaceIndex()
        for other, body in self.files.items():
            tree = parse_source(self.path(other), other, text if other == relative else body).tree
            assert tree is not None, f"{other} must parse"
            index.update_tree(other, tree)
        source = parse_source(self.path(relative), relative, text)
        assert source.tree is not None, f"{relative} must parse:\n{text}"
        layer = classify_layer(relative, source.tree)
        result = Engine(Settings(select=self.codes)).check(source, layer, index=index, module=module_name(relative))
        assert not result.rule_errors, result.rule_errors
        return result.findings

    def checker(self, relative: str) -> Callable[[str], list[Finding]]:
        return lambda text: self.findings(relative, text)

    def only(self, relative: str, code: str) -> Finding:
        found = [f for f in self.findings(relative) if f.code == code]
        assert len(found) == 1, found
        return found[0]


def applied(fix: Fix, path: str, text: str) -> str:
    """``text`` after the fix's edits to ``path``."""
    edits = [file_edit for file_edit in fix.edits if file_edit.path == path]
    assert len(edits) == 1 and not edits[0].create
    new = apply_text_edits(text, edits[0].edits)
    cst.parse_module(new)  # the fixed code must parse
    return new


# SQLAlchemy models of a small blog (User → posts, Post → author, comments).
MODELS = """\
from sqlalchemy import ForeignKey
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str]
    posts: Mapped[list["Post"]] = relationship(back_populates="author")


class Post(Base):
    __tablename__ = "posts"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str]
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    author: Mapped[User] = relationship(back_populates="posts")
    comments: Mapped[list["Comment"]] = relationship(back_populates="post")


class Comment(Base):
    __tablename__ = "comments"

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id"))
    post: Mapped[Post] = relationship(back_populates="comments")
"""

DJANGO_MODELS = """\
from django.db import models


class Author(models.Model):
    name = models.CharField(max_length=100)


class Post(models.Model):
    title = models.CharField(max_length=200)
    author = models.ForeignKey(Author, on_delete=models.CASCADE)
    tags = models.ManyToManyField("Tag", related_name="posts")


class Comment(models.Model):
    post = models.ForeignKey(Post, on_delete=models.CASCADE)
    body = models.TextField()


class Tag(models.Model):
    label = models.CharField(max_length=50)
"""
