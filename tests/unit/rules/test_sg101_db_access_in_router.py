"""SG101 db-access-in-router: one finding per handler with every DB call in
``data``, handler patterns semantics.py does not know yet, and DB handles
kept on the application object."""

from __future__ import annotations

import ast
import textwrap

import pytest

from stackguard.analysis.engine import Engine, module_name
from stackguard.analysis.index import WorkspaceIndex
from stackguard.analysis.layers import classify_layer
from stackguard.analysis.semantics import ImportMap
from stackguard.analysis.source import parse_source
from stackguard.config import Settings
from stackguard.rules._layering import app_db_handle, extra_route_handlers


def check(files: dict[str, str], target: str, *, with_index: bool = True, code: str = "SG101"):
    sources = {rel: parse_source(f"/p/{rel}", rel, textwrap.dedent(text)) for rel, text in files.items()}
    index = None
    if with_index:
        index = WorkspaceIndex()
        for rel, source in sources.items():
            index.update_tree(rel, source.tree)
    source = sources[target]
    result = Engine(Settings(select=[code])).check(
        source, classify_layer(target, source.tree), index=index, module=module_name(target)
    )
    assert not result.rule_errors
    return result.findings


FASTAPI = """\
from fastapi import APIRouter, Depends
from sqlalchemy.orm import Session

from app.db import get_db
from app.models import Item

router = APIRouter()


@router.post("/items")
def create_item(name: str, db: Session = Depends(get_db)):
    item = Item(name=name)
    db.add(item)
    db.flush()
    db.commit()
    return {"id": item.id}
"""


def test_one_finding_per_handler_listing_every_call():
    findings = check({"app/routers/items.py": FASTAPI}, "app/routers/items.py")
    assert len(findings) == 1
    finding = findings[0]
    assert finding.line == 13
    assert finding.message.startswith("Route handler `create_item` calls `db.add()` directly")
    assert finding.data["handler"] == "create_item"
    assert finding.data["line"] == 11
    assert finding.data["call_lines"] == [13, 14, 15]
    assert finding.data["framework"] == "fastapi"
    assert finding.data["kind"] == "write"


def test_works_without_an_index():
    findings = check({"app/routers/items.py": FASTAPI}, "app/routers/items.py", with_index=False)
    assert [f.line for f in findings] == [13]


def test_same_code_outside_the_router_layer_is_quiet():
    helper = FASTAPI.replace("@router.post(\"/items\")\n", "")
    findings = check({"app/services/items.py": helper}, "app/services/items.py")
    assert findings == []


def test_nested_function_calls_are_not_the_handlers():
    text = """\
    from fastapi import APIRouter, BackgroundTasks
    from app.db import SessionLocal

    router = APIRouter()


    @router.post("/jobs")
    def start(tasks: BackgroundTasks):
        def work():
            with SessionLocal() as session:
                session.execute("DELETE FROM jobs")
        tasks.add_task(work)
        return {"ok": True}
    """
    assert check({"app/routers/jobs.py": text}, "app/routers/jobs.py") == []


def test_model_query_needs_a_model():
    text = """\
    from flask import Blueprint, request
    from app.search import Index

    bp = Blueprint("search", __name__)


    @bp.get("/search")
    def search():
        return {"hits": Index.query.filter(request.args["q"]).all()}
    """
    # `Index` is not an ORM model and Flask-SQLAlchemy is not in play.
    assert check({"app/search/routes.py": text}, "app/search/routes.py") == []


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ('request.app["db"]', True),
        ('request.app["pg_pool"]', True),
        ("request.config_dict[DB_KEY]", True),
        ("self.request.app[dbEngine]", True),
        ("request.app.state.pool", True),
        ("request.app.state.database", True),
        ('request.app["http_session"]', False),
        ('request.app["settings"]', False),
        ("request.app.state.templates", False),
        ('cache["db"]', False),
        ("request.state.user", False),
    ],
)
def test_app_db_handle(expr, expected):
    assert app_db_handle(ast.parse(expr, mode="eval").body) is expected


def test_extra_route_handlers():
    tree = ast.parse(
        textwrap.dedent(
            """\
            from django.views.generic import DetailView
            from flask_restful import Resource
            from starlette.endpoints import HTTPEndpoint
            from starlette.routing import Route


            class UserResource(Resource):
                def get(self, user_id): ...
                def _helper(self): ...


            class Ping(HTTPEndpoint):
                async def get(self, request): ...


            class ItemDetail(DetailView):
                def get(self, request, *args, **kwargs): ...
                def get_context_data(self, **kwargs): ...


            async def homepage(request): ...
            async def not_routed(request): ...

            routes = [Route("/", homepage), Route("/ping", endpoint=Ping)]
            """
        )
    )
    found = extra_route_handlers(tree, ImportMap.from_tree(tree, "app.web"))
    assert sorted((h.owner or "", h.node.name, h.framework) for h in found) == [
        ("", "homepage", "starlette"),
        ("ItemDetail", "get", "django"),
        ("Ping", "get", "starlette"),
        ("UserResource", "get", "flask"),
    ]


def test_web_sessions_read_like_dicts_are_not_the_database():
    text = """\
    from aiohttp import web
    from aiohttp_session import get_session

    routes = web.RouteTableDef()


    @routes.get("/me")
    async def me(request):
        session = await get_session(request)
        return web.json_response({"user": session.get("user_id")})
    """
    assert check({"app/handlers.py": text}, "app/handlers.py") == []
