"""SG205 unbounded-list-query: how the returned value reaches the query,
what bounds it, and which handlers are list endpoints."""

from __future__ import annotations

import textwrap

import pytest
from stackguard.analysis.engine import Engine
from stackguard.analysis.source import parse_source
from stackguard.config import Settings

FASTAPI = """\
from fastapi import APIRouter, Depends
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Item

router = APIRouter(prefix="/api/items")
"""


def lint(code: str, *, path: str = "app/routers/items.py"):
    source = parse_source(f"/p/{path}", path, textwrap.dedent(code))
    assert source.tree is not None
    result = Engine(Settings(select=["SG205"])).check(source, "router")
    assert not result.rule_errors
    return result.findings


def handler(body: str, signature: str = "session: Session", verb: str = "get", path: str = "/") -> str:
    return FASTAPI + f'\n\n@router.{verb}("{path}")\ndef items({signature}):\n' + textwrap.indent(textwrap.dedent(body), "    ")


@pytest.mark.parametrize(
    "body",
    [
        "return session.scalars(select(Item)).all()",
        "rows = session.execute(select(Item)).scalars().all()\nreturn rows",
        "rows = session.scalars(select(Item))\nreturn [ItemOut.model_validate(r) for r in rows]",
        "return {'items': list(session.scalars(select(Item)))}",
        "return JSONResponse(content=[r.id for r in session.query(Item).all()])",
        "stmt = select(Item)\nstmt = stmt.order_by(Item.id)\nreturn ItemList(items=session.scalars(stmt).all())",
    ],
)
def test_reported_shapes(body):
    (finding,) = lint(handler(body))
    assert finding.data["model"] == "Item"
    assert finding.message == "List endpoint `GET /api/items` returns every matching `Item` row with no limit or pagination"


@pytest.mark.parametrize(
    ("body", "signature"),
    [
        ("return session.scalars(select(Item).limit(50)).all()", "session: Session"),
        ("return session.query(Item).offset(skip).limit(limit).all()", "session: Session, skip: int = 0, limit: int = 50"),
        ("return session.query(Item).slice(0, 10).all()", "session: Session"),
        ("return session.scalars(select(Item).where(Item.id > cursor)).all()", "session: Session, cursor: int = 0"),
        ("return paginate(session, select(Item))", "session: Session"),
        ("return session.scalars(select(Item)).first()", "session: Session"),
        ("return session.get(Item, 1)", "session: Session"),
        ("return len(session.scalars(select(Item)).all())", "session: Session"),
        ("rows = session.scalars(select(Item)).all()\nreturn service.summarize(rows)", "session: Session"),
        ("def inner():\n    return session.scalars(select(Item)).all()\nreturn {'ok': True}", "session: Session"),
    ],
)
def test_quiet_shapes(body, signature):
    assert lint(handler(body, signature)) == []


def test_only_get_handlers():
    assert lint(handler("return session.scalars(select(Item)).all()", verb="post")) == []
    assert len(lint(handler("return session.scalars(select(Item)).all()", verb="get", path="/all"))) == 1


def test_report_range_is_the_query_expression():
    code = handler("rows = session.scalars(select(Item)).all()\nreturn rows")
    (finding,) = lint(code)
    source = parse_source("/p/x.py", "x.py", code)
    assert source.line_text(finding.line)[finding.column : finding.end_column] == "session.scalars(select(Item)).all()"
    assert finding.data["path"] == "/api/items"
    assert finding.data["handler"] == "items"


def test_drf_list_override_with_and_without_paginate_queryset():
    base = """\
from rest_framework.response import Response
from rest_framework.viewsets import ViewSet

from shop.models import Product
from shop.serializers import ProductSerializer


class Products(ViewSet):
    def list(self, request):
{body}
"""
    unpaged = "        return Response(ProductSerializer(Product.objects.all(), many=True).data)"
    paged = (
        "        page = self.paginate_queryset(Product.objects.all())\n"
        "        return self.get_paginated_response(ProductSerializer(page, many=True).data)"
    )
    (finding,) = lint(base.format(body=unpaged), path="shop/views.py")
    assert "`Products.list()`" in finding.message
    assert lint(base.format(body=paged), path="shop/views.py") == []


def test_single_object_serializer_is_not_a_collection():
    code = """\
from rest_framework.decorators import api_view
from rest_framework.response import Response

from shop.models import Product
from shop.serializers import ProductSerializer


@api_view(["GET"])
def products(request):
    return Response(ProductSerializer(Product.objects.filter(active=True)).data)
"""
    assert lint(code, path="shop/views.py") == []


def test_flask_render_template_keyword():
    code = """\
from flask import Blueprint, render_template

from app.models import User

bp = Blueprint("users", __name__)


@bp.route("/users")
def users():
    return render_template("users.html", users=User.query.order_by(User.id).all())
"""
    (finding,) = lint(code, path="app/views/users.py")
    assert finding.data["orm"] == "flask-sqlalchemy"
    assert finding.data["path"] == "/users"
