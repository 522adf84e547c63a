"""SG104 quick fix: raise a domain exception from the project's errors module.

Findings come from the real SG104 rule; the project lives in tmp_path so the
fix can read (and is tested creating or extending) the errors module."""

from __future__ import annotations

import importlib
import sys
import textwrap
from pathlib import Path

import pytest
from fixhelp import applied
from stackguard.fixes import Fix, apply_text_edits, fix_for
from stackguard.rules.base import Finding

SERVICE = "app/services/items.py"

FASTAPI_SERVICE = """\
from fastapi import HTTPException, status

from app.repositories.items import ItemRepository


def get_item(repo: ItemRepository, item_id: int):
    item = repo.get(item_id)
    if item is None:
        raise HTTPException(status_code=status.HTTP_404_NOT_FOUND, detail=f"Item {item_id} not found")
    return item
"""


def run(project, source: str, *, relative: str = SERVICE, errors_module: str | None = None, pass_root: bool = True):
    proj = project({relative: source}, ["SG104"])
    finding = proj.only(relative, "SG104")
    fix = fix_for(finding, proj.files[relative], project_root=proj.root if pass_root else None, errors_module=errors_module)
    return proj, finding, fix


def service_after(proj, finding: Finding, fix: Fix) -> str:
    new = applied(fix, finding.path, proj.files[finding.relative])
    assert [f for f in proj.findings(finding.relative, new) if f.code == "SG104"] == [], new
    return new


def errors_edit(fix: Fix, path: str):
    (edit,) = [e for e in fix.edits if e.path == path]
    return edit


def test_fastapi_404_creates_the_errors_module_and_raises_not_found(project, tmp_path: Path):
    proj, finding, fix = run(project, FASTAPI_SERVICE)
    assert fix is not None
    assert fix.safe is False  # it creates another file and needs an exception handler
    assert fix.title == "Raise a domain exception from the errors module"  # the diagnostic's fix title
    assert fix.code == "SG104"
    new = service_after(proj, finding, fix)
    assert new == textwrap.dedent(
        """\

        from app.repositories.items import ItemRepository
        from app.errors import NotFoundError


        def get_item(repo: ItemRepository, item_id: int):
            item = repo.get(item_id)
            if item is None:
                raise NotFoundError(f"Item {item_id} not found")
            return item
        """
    )
    created = errors_edit(fix, str(tmp_path / "app" / "errors.py"))
    assert created.create and created.new_text is not None and not created.edits
    # The created module works: write it out and use it.
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "__init__.py").write_text("")
    (tmp_path / "app" / "errors.py").write_text(created.new_text)
    sys.path.insert(0, str(tmp_path))
    try:
        sys.modules.pop("app", None)
        sys.modules.pop("app.errors", None)
        errors = importlib.import_module("app.errors")
        error = errors.NotFoundError("Item 3 not found")
        assert isinstance(error, errors.DomainError)
        assert (error.status_code, error.detail, str(error)) == (404, "Item 3 not found", "Item 3 not found")
        assert errors.NotFoundError().detail == "Not found"
        assert errors.DomainError("teapot", status_code=418).status_code == 418
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("app", None)
        sys.modules.pop("app.errors", None)


def test_project_root_defaults_to_the_finding_path(project, tmp_path: Path):
    _proj, _finding, fix = run(project, FASTAPI_SERVICE, pass_root=False)
    assert fix is not None
    assert errors_edit(fix, str(tmp_path / "app" / "errors.py")).create


def test_aliased_exception_import_is_removed_when_unused(project):
    proj, finding, fix = run(
        project,
        """\
        from fastapi import HTTPException as HE


        def check_owner(user, owner_id: int) -> None:
            if user.id != owner_id:
                raise HE(403, "Not yours")
        """,
    )
    assert fix is not None
    new = service_after(proj, finding, fix)
    assert "HE" not in new and "fastapi" not in new
    assert 'raise ForbiddenError("Not yours")' in new
    assert "from app.errors import ForbiddenError" in new


def test_exception_import_kept_while_still_used_and_cause_preserved(project):
    source = """\
    from fastapi import HTTPException


    def parse(raw: str) -> int:
        try:
            return int(raw)
        except ValueError as exc:
            raise HTTPException(status_code=422, detail="not a number") from exc


    def other():
        raise HTTPException(status_code=400, detail="bad")
    """
    proj = project({SERVICE: source}, ["SG104"])
    first = proj.findings(SERVICE)[0]
    fix = fix_for(first, proj.files[SERVICE], project_root=proj.root)
    assert fix is not None
    new = applied(fix, first.path, proj.files[SERVICE])
    assert 'raise InvalidInputError("not a number") from exc' in new
    assert "from fastapi import HTTPException" in new  # the second raise still uses it
    assert [f.line for f in proj.findings(SERVICE, new)] == [13]


def test_unmapped_status_raises_the_base_with_the_status(project):
    proj, finding, fix = run(
        project,
        """\
        from fastapi import HTTPException


        def brew() -> None:
            raise HTTPException(status_code=418, detail="I'm a teapot")
        """,
    )
    assert fix is not None
    new = service_after(proj, finding, fix)
    assert "raise DomainError(\"I'm a teapot\", status_code=418)" in new
    created = next(e for e in fix.edits if e.create)
    assert "class DomainError(Exception):" in (created.new_text or "")
    assert "NotFoundError" not in (created.new_text or "")


def test_flask_abort_becomes_a_raise(project):
    proj, finding, fix = run(
        project,
        """\
        from flask import abort

        from app.extensions import db


        def get_user(user_id):
            user = db.session.get(User, user_id)
            if user is None:
                abort(404, description="user not found")
            return user
        """,
        relative="accounts/repository.py",
    )
    assert fix is not None
    new = service_after(proj, finding, fix)
    assert 'raise NotFoundError("user not found")' in new
    assert "abort" not in new
    assert "from accounts.errors import NotFoundError" in new


def test_django_and_drf_exceptions(project, tmp_path: Path):
    source = """\
    from django.http import Http404
    from rest_framework import exceptions

    from shop.errors import OutOfStock
    from shop.models import Order


    def get_order(order_id):
        order = Order.objects.filter(id=order_id).first()
        if order is None:
            raise Http404("No such order")
        if order.locked:
            raise exceptions.PermissionDenied(detail="locked")
        return order
    """
    (tmp_path / "shop").mkdir()
    (tmp_path / "shop" / "errors.py").write_text(
        'class DomainError(Exception):\n    """Base."""\n\n\nclass OutOfStock(DomainError):\n    status_code = 409\n'
    )
    proj = project({"shop/services.py": source}, ["SG104"])
    first, second = proj.findings("shop/services.py")
    fix = fix_for(first, proj.files["shop/services.py"], project_root=proj.root)
    assert fix is not None
    new = applied(fix, first.path, proj.files["shop/services.py"])
    assert 'raise NotFoundError("No such order")' in new
    assert "from shop.errors import OutOfStock, NotFoundError" in new  # the module this file already uses
    errors_path = str(tmp_path / "shop" / "errors.py")
    appended = errors_edit(fix, errors_path)
    assert not appended.create
    errors_text = apply_text_edits((tmp_path / "shop" / "errors.py").read_text(), appended.edits)
    assert errors_text.count("class DomainError") == 1  # reused, not duplicated
    assert errors_text.endswith('class NotFoundError(DomainError):\n    status_code = 404\n    detail = "Not found"\n')
    compile(errors_text, "errors.py", "exec")
    fix2 = fix_for(second, proj.files["shop/services.py"], project_root=proj.root)
    assert fix2 is not None
    assert 'raise ForbiddenError("locked")' in applied(fix2, second.path, proj.files["shop/services.py"])


def test_existing_class_is_reused_by_name_or_status(project, tmp_path: Path):
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "errors.py").write_text(
        "class AppError(Exception):\n"
        "    status_code = 500\n\n\n"
        "class ItemNotFound(AppError):\n"
        "    status_code = 404\n\n\n"
        "class ConflictError(AppError):\n"
        "    status_code = 409\n"
    )
    proj, finding, fix = run(project, FASTAPI_SERVICE)
    assert fix is not None
    assert [e.path for e in fix.edits] == [finding.path]  # the errors module stays as it is
    new = service_after(proj, finding, fix)
    assert 'raise ItemNotFound(f"Item {item_id} not found")' in new
    assert "from app.errors import ItemNotFound" in new


def test_errors_module_from_the_index_is_used(project, tmp_path: Path):
    (tmp_path / "app" / "core").mkdir(parents=True)
    (tmp_path / "app" / "core" / "exceptions.py").write_text('"""Errors."""\n')
    proj, finding, fix = run(project, FASTAPI_SERVICE, errors_module="app/core/exceptions.py")
    assert fix is not None
    new = service_after(proj, finding, fix)
    assert "from app.core.exceptions import NotFoundError" in new
    edit = errors_edit(fix, str(tmp_path / "app" / "core" / "exceptions.py"))
    text = apply_text_edits('"""Errors."""\n', edit.edits)
    assert text.startswith('"""Errors."""\n\n\nclass DomainError(Exception):')
    # No `from __future__ import annotations` there: the annotations are strings.
    assert 'detail: "str | None" = None' in text
    compile(text, "exceptions.py", "exec")


def test_src_layout_puts_the_module_next_to_the_layer_package(project, tmp_path: Path):
    _proj, _finding, fix = run(project, FASTAPI_SERVICE, relative="src/app/services/billing/invoices.py")
    assert fix is not None
    assert errors_edit(fix, str(tmp_path / "src" / "app" / "errors.py")).create
    assert "from app.errors import NotFoundError" in apply_text_edits(FASTAPI_SERVICE, fix.edits[0].edits)


@pytest.mark.parametrize(
    ("raise_line", "why"),
    [
        ('raise HTTPException(status_code=401, detail="x", headers={"WWW-Authenticate": "Bearer"})', "headers"),
        ("raise HTTPException(*args)", "star-args"),
        ("raise HTTPException(status_code=code)", "unknown-status-is-fine"),
    ],
)
def test_arguments_a_domain_error_cannot_carry(project, raise_line, why):
    proj, finding, fix = run(
        project,
        f"""\
        from fastapi import HTTPException


        def check(code, args):
            {raise_line}
        """,
    )
    if why == "unknown-status-is-fine":
        assert fix is not None
        assert "raise DomainError(status_code=code)" in applied(fix, finding.path, proj.files[SERVICE])
    else:
        assert fix is None


def test_no_fix_for_returned_error_responses(project):
    _proj, _finding, fix = run(
        project,
        """\
        from fastapi.responses import JSONResponse


        def rename(name: str):
            if not name:
                return JSONResponse(status_code=409, content={"detail": "taken"})
            return name
        """,
    )
    assert fix is None


def test_no_fix_when_the_name_is_taken_or_the_class_is_incompatible(project, tmp_path: Path):
    taken = FASTAPI_SERVICE.replace("from app.repositories", "from app.lookup import NotFoundError\nfrom app.repositories")
    _proj, _finding, fix = run(project, taken)
    assert fix is None
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "errors.py").write_text(
        "class NotFoundError(Exception):\n    def __init__(self, kind: str, key: int) -> None:\n        super().__init__(kind, key)\n"
    )
    _proj, _finding, fix = run(project, FASTAPI_SERVICE)
    assert fix is None


def test_unreadable_errors_module_gives_no_fix(project, tmp_path: Path):
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "errors.py").write_bytes(b"\xff\xfe not utf-8")
    _proj, _finding, fix = run(project, FASTAPI_SERVICE)
    assert fix is None
