"""Extract to service on the four fixture apps (FastAPI + SQLAlchemy 2,
FastAPI + SQLModel, Flask + Flask-SQLAlchemy, Django REST framework).

Every extractable handler, one at a time on a fresh copy: the edits match
the reviewed snapshot, the app's own test suite still passes (so the API
answers exactly as before, error statuses and bodies included), the
extracted handler is no longer flagged by SG101/SG102, nothing new is
flagged by SG101–SG104, and running the action again neither duplicates
the service function nor its imports.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from refhelp import (
    apply_fix,
    assert_app_tests_pass,
    assert_app_tests_pass_in_each,
    changed_relatives,
    check_snapshot,
    copy_app,
    describe,
    expect_fix,
    expect_refusal,
    layering_findings,
    line_of_def,
    view,
)
from stackguard.refactor import extract_to_service

CASES = {
    "app_fastapi_sqlalchemy": [
        ("app/routers/users.py", "list_users"),
        ("app/routers/users.py", "read_user"),
        ("app/routers/users.py", "create_user"),
        ("app/routers/users.py", "deactivate_user"),
        ("app/routers/books.py", "read_book"),
    ],
    "app_fastapi_sqlmodel": [
        ("app/routers/heroes.py", "create_hero"),
        ("app/routers/heroes.py", "read_heroes"),
        ("app/routers/heroes.py", "update_hero"),
        ("app/routers/heroes.py", "delete_hero"),
        ("app/routers/teams.py", "create_team"),
    ],
    "app_flask_sqlalchemy": [
        ("blog/views/posts.py", "list_posts"),
        ("blog/views/posts.py", "get_post"),
        ("blog/views/posts.py", "create_post"),
        ("blog/views/posts.py", "publish_post"),
        ("blog/views/comments.py", "list_comments"),
    ],
    "app_django_drf": [
        ("catalog/views.py", "author_stats"),
        ("catalog/views.py", "retire_book"),
    ],
}


def _function(root: Path, relative: str, name: str) -> ast.FunctionDef:
    tree = ast.parse((root / relative).read_text(encoding="utf-8"))
    found = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == name]
    assert len(found) == 1, f"{name} defined {len(found)} times in {relative}"
    return found[0]


@pytest.mark.parametrize("app", list(CASES))
def test_extract_each_handler(tmp_path: Path, app: str) -> None:
    """Each handler on a fresh copy of the app (the suites of all copies run
    side by side at the end)."""
    copies = {}
    for router, handler in CASES[app]:
        root = copy_app(app, tmp_path / handler)
        _extract_and_check(root, app, router, handler)
        copies[handler] = root
    assert_app_tests_pass_in_each(copies)


def _extract_and_check(root: Path, app: str, router: str, handler: str) -> None:
    findings_before = layering_findings(root)
    project = view(root)
    fix = expect_fix(extract_to_service(project, router, line_of_def(root, router, handler)))
    assert fix.kind == "refactor.extract.service" and not fix.safe
    before = apply_fix(fix)
    check_snapshot(f"extract__{app}__{handler}", describe(fix, root, before))

    # The handler is thin now: one service call between validation and response mapping.
    thin = _function(root, router, handler)
    calls = [n for n in ast.walk(thin) if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr == handler]
    assert len(calls) == 1, ast.unparse(thin)
    after = layering_findings(root)
    assert not {f for f in after if f[0] == router and f[1] in ("SG101", "SG102") and f[2] == handler}, handler
    new = {f for f in after - findings_before if f[1] in ("SG101", "SG102", "SG103", "SG104")}
    assert not new, (handler, new)

    # Idempotent: the handler has nothing left to move, and the service
    # function, its imports and the error classes exist once.
    again = expect_refusal(extract_to_service(view(root), router, line_of_def(root, router, handler)))
    assert "nothing to move" in again, (handler, again)
    for relative in changed_relatives(fix, root):
        tree = ast.parse((root / relative).read_text(encoding="utf-8"))
        names = [n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))]
        assert len(names) == len(set(names)), (handler, relative, names)
        imported = [(s.module, a.name) for s in tree.body if isinstance(s, ast.ImportFrom) for a in s.names]
        assert len(imported) == len(set(imported)), (handler, relative, imported)


@pytest.mark.parametrize(
    ("app", "router", "handlers"),
    [
        ("app_fastapi_sqlalchemy", "app/routers/users.py", ["create_user", "read_user", "list_users", "deactivate_user"]),
        ("app_fastapi_sqlmodel", "app/routers/heroes.py", ["create_hero", "read_heroes", "read_hero", "update_hero", "delete_hero"]),
        ("app_flask_sqlalchemy", "blog/views/posts.py", ["get_post", "list_posts", "create_post", "publish_post"]),
        ("app_django_drf", "catalog/views.py", ["retire_book", "author_stats"]),
    ],
    ids=["fastapi_sqlalchemy", "fastapi_sqlmodel", "flask_sqlalchemy", "django_drf"],
)
def test_extract_every_handler_of_a_router(tmp_path: Path, app: str, router: str, handlers: list[str]) -> None:
    """One after another: the second extraction extends the service module
    the first created, the error mapping is registered once, and the router
    ends with no data access at all."""
    root = copy_app(app, tmp_path)
    for handler in handlers:
        apply_fix(expect_fix(extract_to_service(view(root), router, line_of_def(root, router, handler))))
    assert_app_tests_pass(root)
    remaining = {f for f in layering_findings(root) if f[0] == router and f[1] in ("SG101", "SG102")}
    assert not remaining, remaining
    assert not {f for f in layering_findings(root) if f[1] == "SG104"}
    texts = "\n".join(p.read_text(encoding="utf-8") for p in root.rglob("*.py"))
    registrations = texts.count("exception_handler(DomainError)") + texts.count("register_error_handler(DomainError") + texts.count(
        "domain_exception_handler\"\n"
    )
    assert registrations <= 1
    assert texts.count("class DomainError(") == 1


def test_extraction_follows_an_existing_service_module(tmp_path: Path) -> None:
    """books.py already has a service module (``app/services/books.py``,
    imported as ``book_service``): the new function joins it and the router
    reuses its import."""
    root = copy_app("app_fastapi_sqlalchemy", tmp_path)
    fix = expect_fix(extract_to_service(view(root), "app/routers/books.py", line_of_def(root, "app/routers/books.py", "read_book")))
    apply_fix(fix)
    assert "app/services/books.py" in changed_relatives(fix, root)
    service = (root / "app/services/books.py").read_text(encoding="utf-8")
    assert "def read_book(session: Session, user_id: int, book_id: int) -> Book:" in service
    router = (root / "app/routers/books.py").read_text(encoding="utf-8")
    assert "return book_service.read_book(session, user_id, book_id)" in router
    assert router.count("from app.services import books as book_service") == 1


def test_running_again_after_the_router_is_restored_reuses_the_service_function(tmp_path: Path) -> None:
    """Undo only the router change and extract again: the service function
    (identical) is reused, not written twice."""
    root = copy_app("app_fastapi_sqlalchemy", tmp_path)
    router = "app/routers/users.py"
    original = (root / router).read_text(encoding="utf-8")
    apply_fix(expect_fix(extract_to_service(view(root), router, line_of_def(root, router, "create_user"))))
    service_once = (root / "app/services/users.py").read_text(encoding="utf-8")
    (root / router).write_text(original, encoding="utf-8")
    fix = expect_fix(extract_to_service(view(root), router, line_of_def(root, router, "create_user")))
    assert changed_relatives(fix, root) == [router]
    apply_fix(fix)
    assert (root / "app/services/users.py").read_text(encoding="utf-8") == service_once
    assert_app_tests_pass(root)


def test_a_service_function_of_the_same_name_with_other_code_is_not_overwritten(tmp_path: Path) -> None:
    root = copy_app("app_fastapi_sqlalchemy", tmp_path)
    router = "app/routers/users.py"
    (root / "app/services/users.py").write_text(
        "from sqlalchemy.orm import Session\n\n\ndef create_user(session: Session, payload: object) -> None:\n    raise NotImplementedError\n",
        encoding="utf-8",
    )
    reason = expect_refusal(extract_to_service(view(root), router, line_of_def(root, router, "create_user")))
    assert "already defines `create_user` with different code" in reason


@pytest.mark.parametrize(
    ("app", "router", "handler", "reason"),
    [
        ("app_fastapi_sqlalchemy", "app/routers/books.py", "list_books", "nothing to move"),
        ("app_fastapi_sqlalchemy", "app/routers/books.py", "add_book", "returns early"),
        ("app_fastapi_sqlalchemy", "app/main.py", "health", "nothing to move"),
        ("app_flask_sqlalchemy", "blog/views/comments.py", "add_comment", "uses the request (`request`) at line"),
    ],
    ids=["already-thin", "return-inside-try", "nothing-to-move", "request-after-data-access"],
)
def test_refusals_on_the_apps(tmp_path: Path, app: str, router: str, handler: str, reason: str) -> None:
    root = copy_app(app, tmp_path)
    refused = expect_refusal(extract_to_service(view(root), router, line_of_def(root, router, handler)))
    assert reason in refused
