"""SG104 http-error-outside-router: which raises are HTTP errors and what the
quick fix receives in ``data``."""

from __future__ import annotations

import textwrap

import pytest

from stackguard.analysis.engine import Engine, module_name
from stackguard.analysis.index import WorkspaceIndex
from stackguard.analysis.source import parse_source
from stackguard.config import Settings
from stackguard.rules.sg104_http_error_outside_router import is_http_exception


def check(text: str, *, relative: str = "app/services/items.py", layer: str = "service", extra: dict[str, str] | None = None):
    source = parse_source(f"/p/{relative}", relative, textwrap.dedent(text))
    index = None
    if extra is not None:
        index = WorkspaceIndex()
        for rel, body in {**extra, relative: text}.items():
            index.update_tree(rel, parse_source(f"/p/{rel}", rel, textwrap.dedent(body)).tree)
    result = Engine(Settings(select=["SG104"])).check(source, layer, index=index, module=module_name(relative))
    assert not result.rule_errors
    return result.findings


@pytest.mark.parametrize(
    ("raise_line", "status", "detail"),
    [
        ('raise HTTPException(status_code=404, detail="gone")', 404, "gone"),
        ('raise HTTPException(404, "gone")', 404, "gone"),
        ("raise HTTPException(status.HTTP_409_CONFLICT)", 409, None),
        ("raise HTTPException(status_code=HTTPStatus.FORBIDDEN)", 403, None),
        ("raise HTTPException(status_code=code, detail=f'{x}')", None, None),
        ("raise HTTPException", None, None),
    ],
)
def test_status_and_detail(raise_line, status, detail):
    text = f"""\
    from http import HTTPStatus
    from fastapi import HTTPException, status


    def get(x, code):
        {raise_line}
    """
    (finding,) = check(text)
    assert finding.data["exception"] == "fastapi.HTTPException"
    assert finding.data["status_code"] == status
    assert finding.data["detail"] == detail
    assert finding.data["form"] == "raise"
    assert finding.fix_title == "Raise a domain exception from the errors module"
    assert finding.fixable is False  # the fix needs review


def test_errors_module_comes_from_the_index():
    text = """\
    from fastapi import HTTPException


    def get(x):
        raise HTTPException(404)
    """
    (without,) = check(text)
    assert without.data["errors_module"] is None
    (found,) = check(text, extra={"app/errors.py": "class AppError(Exception):\n    pass\n"})
    assert found.data["errors_module"] == "app/errors.py"


def test_shortcuts_are_reported_without_a_fix():
    text = """\
    from django.shortcuts import get_object_or_404


    def product(pk):
        return get_object_or_404(Product, pk=pk)
    """
    (finding,) = check(text, relative="shop/services.py")
    assert finding.data["form"] == "shortcut"
    assert finding.fix_title is None


@pytest.mark.parametrize(
    ("qualified", "expected"),
    [
        ("fastapi.HTTPException", True),
        ("starlette.exceptions.HTTPException", True),
        ("werkzeug.exceptions.NotFound", True),
        ("werkzeug.exceptions.abort", False),
        ("rest_framework.exceptions.PermissionDenied", True),
        ("rest_framework.exceptions.ErrorDetail", False),
        ("rest_framework.serializers.ValidationError", True),
        ("django.http.Http404", True),
        ("django.core.exceptions.ValidationError", False),
        ("django.core.exceptions.PermissionDenied", False),
        ("pydantic.ValidationError", False),
        ("aiohttp.web.HTTPForbidden", True),
        ("aiohttp.web.Application", False),
        ("litestar.exceptions.NotFoundException", True),
        ("litestar.exceptions.ImproperlyConfiguredException", False),
        ("requests.HTTPError", False),
        (None, False),
    ],
)
def test_is_http_exception(qualified, expected):
    assert is_http_exception(qualified) is expected


def test_error_status_codes_from_class_names():
    text = """\
    from aiohttp import web
    from rest_framework import exceptions
    from werkzeug.exceptions import TooManyRequests


    def a():
        raise web.HTTPUnprocessableEntity(text="bad")

    def b():
        raise exceptions.Throttled()

    def c():
        raise TooManyRequests()
    """
    assert [f.data["status_code"] for f in check(text)] == [422, 429, 429]
    assert check(text)[0].data["detail"] == "bad"


def test_success_responses_and_local_classes_are_quiet():
    text = """\
    from fastapi.responses import JSONResponse


    class HTTPException(Exception):
        pass


    def ok():
        return JSONResponse({"ok": True}, status_code=201)

    def local():
        raise HTTPException("project-defined, not the framework's")

    def unknown(code):
        return JSONResponse({}, status_code=code)
    """
    assert check(text) == []


def test_router_layer_is_not_checked():
    text = """\
    from fastapi import HTTPException


    def get():
        raise HTTPException(404)
    """
    assert check(text, relative="app/routers/items.py", layer="router") == []
