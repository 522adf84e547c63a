"""Add repository method on the four fixture apps.

* Move query: the query at the cursor becomes a call of a new repository
  method; the edits match the reviewed snapshot, the app's tests pass, the
  repository never commits (no SG105), and running again does not add the
  method twice.
* Standard methods: every missing one added to a model's repository; then a
  test dropped into the copied app exercises the generated code against the
  app's own database fixtures, next to the app's suite.
"""

from __future__ import annotations

import ast
import textwrap
from pathlib import Path

import pytest
from refhelp import (
    apply_fix,
    assert_app_tests_pass_in_each,
    changed_relatives,
    check_snapshot,
    copy_app,
    describe,
    expect_fix,
    expect_refusal,
    findings,
    position,
    view,
)
from stackguard.refactor.repository_method import (
    add_standard_method,
    missing_standard_methods,
    move_query_to_repository,
)

MOVES = {
    "app_fastapi_sqlalchemy": [
        ("app/routers/users.py", "session.scalar(select(User).where(User.email == email))", "get_by_email"),
        ("app/routers/users.py", "session.scalars(statement)", "list_active"),
        ("app/services/books.py", "func.count()", "count_by_owner"),
    ],
    "app_fastapi_sqlmodel": [
        ("app/routers/heroes.py", "session.exec(select(Hero).order_by", "list"),
        ("app/routers/teams.py", "session.exec(select(Team)", "get_by_name"),
    ],
    "app_flask_sqlalchemy": [
        ("blog/views/posts.py", "db.session.scalar(db.select(Post).where(Post.slug == slug))", "get_by_slug"),
        ("blog/views/comments.py", "db.session.scalars", "list_by_post"),
    ],
    "app_django_drf": [
        ("catalog/views.py", "Book.objects.filter(author=author, in_print=True)", "count_in_print_by_author"),
        ("catalog/views.py", "Author.objects.filter(pk=pk)", "get_with_book_count"),
    ],
}


def _methods(root: Path, relative: str) -> list[str]:
    tree = ast.parse((root / relative).read_text(encoding="utf-8"))
    return [f.name for c in tree.body if isinstance(c, ast.ClassDef) for f in c.body if isinstance(f, ast.FunctionDef)]


@pytest.mark.parametrize("app", list(MOVES))
def test_move_query_to_repository(tmp_path: Path, app: str) -> None:
    copies = {}
    for relative, needle, method in MOVES[app]:
        root = copy_app(app, tmp_path / method)
        original = (root / relative).read_text(encoding="utf-8")
        fix = expect_fix(move_query_to_repository(view(root), relative, position(root, relative, needle)))
        assert fix.title.endswith(f".{method}`"), fix.title
        assert fix.kind == "refactor.rewrite.repositoryMethod"
        before = apply_fix(fix)
        check_snapshot(f"repository__{app}__{method}", describe(fix, root, before))
        repository = next(r for r in changed_relatives(fix, root) if "repositor" in r and not r.endswith("__init__.py"))
        assert method in _methods(root, repository)
        assert not [f for f in findings(root, changed_relatives(fix, root)) if f.code in ("SG105", "SG104", "SG106")]

        # The call site is a repository call now, not a query: nothing to move there.
        assert "no database query here" in expect_refusal(
            move_query_to_repository(view(root), relative, position(root, relative, f".{method}("))
        )
        # The original code again (say, a merge brought it back): the method is reused, not added twice.
        repository_text = (root / repository).read_text(encoding="utf-8")
        current = (root / relative).read_text(encoding="utf-8")
        (root / relative).write_text(original, encoding="utf-8")
        again = expect_fix(move_query_to_repository(view(root), relative, position(root, relative, needle)))
        assert changed_relatives(again, root) == [relative]
        (root / relative).write_text(current, encoding="utf-8")
        assert (root / repository).read_text(encoding="utf-8") == repository_text
        copies[method] = root
    assert_app_tests_pass_in_each(copies)


SMOKE = {
    "app_fastapi_sqlalchemy": (
        "User",
        "app/repositories/users.py",
        """\
        from app.repositories.users import UserRepository


        def test_generated_user_repository(session_factory) -> None:
            with session_factory() as session:
                repository = UserRepository(session)
                user = repository.create(email="ada@example.com", full_name="Ada")
                assert user.id is not None and user.is_active is True
                assert repository.get(user.id) is user
                assert repository.get_by_email("ada@example.com") is user
                assert [u.id for u in repository.list(limit=10)] == [user.id]
                assert repository.list(offset=1) == []
                repository.update(user, full_name="Ada L.")
                assert repository.get(user.id).full_name == "Ada L."
                repository.delete(user)
                assert repository.get(user.id) is None
        """,
    ),
    "app_fastapi_sqlmodel": (
        "Hero",
        "app/repositories/heroes.py",
        """\
        from app.repositories.heroes import HeroRepository


        def test_generated_hero_repository(session) -> None:
            repository = HeroRepository(session)
            hero = repository.create(name="Deadpond", secret_name="Dive Wilson")
            assert hero.id is not None and hero.age is None
            assert repository.get(hero.id) is hero
            assert [h.name for h in repository.list()] == ["Deadpond"]
            repository.update(hero, age=31)
            assert repository.get(hero.id).age == 31
            repository.delete(hero)
            assert repository.get(hero.id) is None
        """,
    ),
    "app_flask_sqlalchemy": (
        "Post",
        "blog/repositories/posts.py",
        """\
        from blog.repositories.posts import PostRepository


        def test_generated_post_repository(app) -> None:
            with app.app_context():
                repository = PostRepository()
                post = repository.create(slug="hello", title="Hello", body="First")
                assert post.id is not None and post.published is False
                assert repository.get(post.id) is post
                assert repository.get_by_slug("hello") is post
                assert [p.slug for p in repository.list()] == ["hello"]
                repository.update(post, published=True)
                assert repository.get(post.id).published is True
                repository.delete(post)
                assert repository.get(post.id) is None
        """,
    ),
    "app_django_drf": (
        "Book",
        "catalog/repositories.py",
        """\
        import pytest

        from catalog.models import Author
        from catalog.repositories import BookRepository


        @pytest.mark.django_db
        def test_generated_book_repository() -> None:
            author = Author.objects.create(name="Ursula", email="u@example.com")
            repository = BookRepository()
            book = repository.create(author=author, title="Lathe", isbn="0684125307")
            assert book.pk is not None and book.in_print is True
            assert repository.get(book.pk) == book
            assert repository.get_by_isbn("0684125307") == book
            assert [b.title for b in repository.list()] == ["Lathe"]
            repository.update(book, in_print=False)
            assert repository.get(book.pk).in_print is False
            repository.delete(book)
            assert repository.get(book.pk) is None
        """,
    ),
}


def test_standard_methods_on_every_app(tmp_path: Path) -> None:
    copies = {}
    for app, (model, repository, smoke) in SMOKE.items():
        root = copy_app(app, tmp_path)
        missing = missing_standard_methods(view(root), model)
        assert isinstance(missing, list)
        names = [m.name for m in missing]
        assert names[:2] == ["get", "list"] and names[-3:] == ["create", "update", "delete"]
        parts = []
        for method in names:
            fix = expect_fix(add_standard_method(view(root), model, method))
            assert fix.title == f"Add `{model}Repository.{method}`"
            parts.append(describe(fix, root, apply_fix(fix)))
        check_snapshot(f"standard__{app}__{model}", "\n".join(parts))
        assert [m for m in _methods(root, repository) if m != "__init__"] == names
        # All there now: nothing more to offer, and adding one again refuses.
        assert missing_standard_methods(view(root), model) == []
        assert "already exists" in expect_refusal(add_standard_method(view(root), model, "get"))
        assert not [f for f in findings(root, [repository]) if f.code in ("SG105", "SG104", "SG106", "SG103")]
        (root / "tests" / "test_generated_repository.py").write_text(textwrap.dedent(smoke), encoding="utf-8")
        copies[app] = root
    assert_app_tests_pass_in_each(copies)


def test_standard_method_refusals(tmp_path: Path) -> None:
    root = copy_app("app_fastapi_sqlalchemy", tmp_path)
    project = view(root)
    assert "not a unique column" in expect_refusal(add_standard_method(project, "User", "get_by_full_name"))
    assert "not a standard repository method" in expect_refusal(add_standard_method(project, "User", "frobnicate"))
    assert "not a model the index knows" in expect_refusal(add_standard_method(project, "Nope", "get"))
    unique = [m.name for m in missing_standard_methods(project, "User")]  # type: ignore[union-attr]
    assert "get_by_email" in unique and "get_by_full_name" not in unique
