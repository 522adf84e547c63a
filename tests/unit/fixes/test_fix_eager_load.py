"""SG202 quick fix: eager-load the relationship on the query.

Findings come from the real SG202 rule with the models in the workspace
index; after the fix the code parses and the rule no longer reports it."""

from __future__ import annotations

import textwrap
from dataclasses import replace

from fixhelp import DJANGO_MODELS, MODELS, applied
from stackguard.fixes import fix_for
from stackguard.rules.base import Finding

SERVICE = "app/services/posts.py"


def fixed(project, source: str, *, models: dict[str, str] | None = None, relative: str = SERVICE, title: str | None = None) -> str:
    proj = project({**(models or {"app/models.py": MODELS}), relative: source}, ["SG202"])
    finding = proj.only(relative, "SG202")
    fix = fix_for(finding, proj.files[relative])
    assert fix is not None, "expected a fix"
    assert fix.safe is True and fix.code == "SG202"
    if title is not None:
        assert fix.title == title
    new = applied(fix, finding.path, proj.files[relative])
    assert [f for f in proj.findings(relative, new) if f.code == "SG202"] == [], new
    return new


def test_select_gets_selectinload_for_a_to_many_and_the_import(project):
    new = fixed(
        project,
        """\
        from sqlalchemy import select
        from sqlalchemy.orm import Session

        from app.models import Post


        def comment_counts(session: Session) -> dict[int, int]:
            posts = session.scalars(select(Post).where(Post.title != "")).all()
            return {post.id: len(post.comments) for post in posts}
        """,
        title="Eager-load `Post.comments` with selectinload on the query",
    )
    assert new.splitlines()[1] == "from sqlalchemy.orm import Session, selectinload"
    assert 'posts = session.scalars(select(Post).options(selectinload(Post.comments)).where(Post.title != "")).all()' in new


def test_to_one_gets_joinedload_and_a_new_import_statement(project):
    new = fixed(
        project,
        """\
        from sqlalchemy import select

        from app.models import Post


        def titles(session) -> list[str]:
            return [f"{p.title} by {p.author.email}" for p in session.scalars(select(Post))]
        """,
    )
    assert "from sqlalchemy.orm import joinedload" in new
    assert "session.scalars(select(Post).options(joinedload(Post.author)))" in new


def test_existing_options_call_gets_one_more_loader(project):
    new = fixed(
        project,
        """\
        from sqlalchemy import select
        from sqlalchemy.orm import joinedload, selectinload

        from app.models import Post


        def export(session):
            stmt = (
                select(Post)
                .options(joinedload(Post.author))
                .order_by(Post.id)
            )
            return [[c.id for c in post.comments] for post in session.scalars(stmt)]
        """,
    )
    assert ".options(joinedload(Post.author), selectinload(Post.comments))" in new
    # No import added: selectinload is imported already.
    assert new.count("selectinload") == 2 and "from sqlalchemy.orm import joinedload, selectinload\n" in new


def test_aliased_loader_import_is_used(project):
    new = fixed(
        project,
        """\
        from sqlalchemy import select
        from sqlalchemy.orm import selectinload as sil

        from app import models


        def export(session):
            posts = session.scalars(select(models.Post)).all()
            return [len(p.comments) for p in posts]
        """,
    )
    assert "select(models.Post).options(sil(models.Post.comments))" in new
    assert "import selectinload\n" not in new and new.count("selectinload") == 1


def test_aliased_orm_module_is_used(project):
    new = fixed(
        project,
        """\
        from sqlalchemy import orm as sa_orm

        from app.models import Post


        def legacy(session):
            for post in session.query(Post).filter(Post.title != "").all():
                print(post.author.email)
        """,
    )
    assert 'session.query(Post).options(sa_orm.joinedload(Post.author)).filter(Post.title != "").all()' in new
    assert "from sqlalchemy.orm import" not in new


def test_statement_built_in_steps_gets_the_option_where_the_finding_points(project):
    new = fixed(
        project,
        """\
        from sqlalchemy import select
        from sqlalchemy.orm import Session, selectinload

        from app.models import Post


        def numbered(session: Session) -> list[str]:
            stmt = select(Post).where(Post.title != "")
            stmt = stmt.order_by(Post.id)
            return [f"{n}: {len(post.comments)}" for n, post in enumerate(session.scalars(stmt))]
        """,
    )
    assert "stmt = stmt.order_by(Post.id).options(selectinload(Post.comments))" in new


def test_django_to_many_gets_prefetch_related_before_the_slice(project):
    new = fixed(
        project,
        """\
        from blog.models import Post


        def latest() -> list[int]:
            posts = Post.objects.filter(title__icontains="x").order_by("-id")[:20]
            return [post.comment_set.count() for post in posts]
        """,
        models={"blog/models.py": DJANGO_MODELS},
        relative="blog/selectors.py",
        title="Eager-load `Post.comment_set` with prefetch_related on the query",
    )
    assert 'Post.objects.filter(title__icontains="x").order_by("-id").prefetch_related("comment_set")[:20]' in new


def test_django_existing_prefetch_related_gets_the_lookup(project):
    new = fixed(
        project,
        """\
        from blog.models import Post


        def tag_labels() -> list[list[str]]:
            posts = Post.objects.prefetch_related("tags").all()
            return [[str(post.author.name)] for post in posts]
        """,
        models={"blog/models.py": DJANGO_MODELS},
        relative="blog/selectors.py",
    )
    assert 'Post.objects.prefetch_related("tags").all().select_related("author")' in new


def test_django_merges_into_existing_loader_of_the_same_kind(project):
    new = fixed(
        project,
        """\
        from blog.models import Post


        def tag_counts() -> list[int]:
            posts = Post.objects.prefetch_related("tags").filter(title__startswith="A")
            return [post.comment_set.count() for post in posts]
        """,
        models={"blog/models.py": DJANGO_MODELS},
        relative="blog/selectors.py",
    )
    assert 'Post.objects.prefetch_related("tags", "comment_set").filter(title__startswith="A")' in new


def finding(data: dict) -> Finding:
    return Finding(
        code="SG202", name="n-plus-one", message="m", severity="warning", path="/p/a.py", relative="a.py",
        line=9, column=0, end_line=9, end_column=1, layer="service", fix_title="t", fixable=True, data=data,
    )


SQLA_SOURCE = textwrap.dedent(
    """\
    from sqlalchemy import select
    from sqlalchemy.orm import selectinload


    def export(session):
        posts = session.scalars(select(Post).options(selectinload(Post.comments))).all()
        return [len(p.comments) for p in posts]
    """
)


def test_no_fix_when_the_loader_is_already_there():
    data = {"model": "Post", "relationship": "comments", "loader": "selectinload", "query_line": 6, "query_col": 28, "orm": "sqlalchemy", "to_many": True}
    assert fix_for(finding(data), SQLA_SOURCE) is None


def test_no_fix_when_no_query_is_at_the_position():
    data = {"model": "Post", "relationship": "author", "loader": "joinedload", "query_line": 2, "query_col": 0, "orm": "sqlalchemy", "to_many": False}
    assert fix_for(finding(data), SQLA_SOURCE) is None


def test_no_fix_for_a_model_not_in_the_query():
    data = {"model": "Comment", "relationship": "post", "loader": "joinedload", "query_line": 6, "query_col": 28, "orm": "sqlalchemy", "to_many": False}
    assert fix_for(finding(data), SQLA_SOURCE) is None


def test_no_fix_without_the_data_the_fix_needs():
    assert fix_for(finding({}), SQLA_SOURCE) is None
    assert fix_for(finding({"model": "Post", "relationship": "not an identifier", "query_line": 6}), SQLA_SOURCE) is None
    assert fix_for(finding({"model": "Post", "relationship": "comments", "query_line": 6}), "def broken(:\n") is None


def test_flask_sqlalchemy_model_query():
    source = textwrap.dedent(
        """\
        def export():
            return [len(user.posts) for user in User.query.filter_by(active=True).all()]
        """
    )
    data = {"model": "User", "relationship": "posts", "loader": "selectinload", "query_line": 2, "query_col": 40, "orm": "flask-sqlalchemy", "to_many": True}
    fix = fix_for(replace(finding(data), fix_title=None), source)
    assert fix is not None
    assert fix.title == "Load User.posts with selectinload()"  # without a title from the rule
    new = applied(fix, "/p/a.py", source)
    assert "User.query.options(selectinload(User.posts)).filter_by(active=True).all()" in new
    assert new.startswith("from sqlalchemy.orm import selectinload\n")
