"""SG103 layer-import-violation: resolving project imports to layers (index,
path guess, relative imports, settings overrides) and the web-framework
allow/deny decisions for services."""

from __future__ import annotations

import textwrap

import pytest

from stackguard.analysis.engine import Engine, module_name
from stackguard.analysis.index import WorkspaceIndex
from stackguard.analysis.layers import classify_layer
from stackguard.analysis.source import parse_source
from stackguard.config import Settings
from stackguard.rules.sg103_layer_import_violation import web_framework_name


HANDLER = """

from fastapi import APIRouter

router = APIRouter()


@router.get("/items")
def list_items():
    return []
"""


def check(files: dict[str, str], target: str, *, with_index: bool = True, layers: dict | None = None):
    settings = Settings(select=["SG103"], layers=layers or {})
    sources = {rel: parse_source(f"/p/{rel}", rel, textwrap.dedent(text)) for rel, text in files.items()}
    index = None
    if with_index:
        index = WorkspaceIndex(settings_layers=settings.layers)
        for rel, source in sources.items():
            index.update_tree(rel, source.tree)
    source = sources[target]
    layer = classify_layer(target, source.tree, settings.layers or None)
    result = Engine(settings).check(source, layer, index=index, module=module_name(target))
    assert not result.rule_errors
    return result.findings


@pytest.mark.parametrize(
    ("qualified", "flagged"),
    [
        ("fastapi.HTTPException", True),
        ("fastapi.Request", True),
        ("fastapi.status", True),
        ("fastapi.responses.JSONResponse", True),
        ("starlette.requests.Request", True),
        ("fastapi.Depends", False),
        ("fastapi.BackgroundTasks", False),
        ("fastapi.concurrency.run_in_threadpool", False),
        ("fastapi.encoders.jsonable_encoder", False),
        ("starlette.config.Config", False),
        ("fastapi", False),
        ("flask.request", True),
        ("flask.abort", True),
        ("flask.current_app", False),
        ("flask.g", False),
        ("flask.render_template", False),
        ("werkzeug.exceptions.NotFound", True),
        ("werkzeug.security.generate_password_hash", False),
        ("django.http.Http404", True),
        ("django.shortcuts.get_object_or_404", True),
        ("django.db.transaction", False),
        ("django.urls.reverse", False),
        ("rest_framework.exceptions.ValidationError", True),
        ("rest_framework.serializers.ValidationError", True),
        ("rest_framework.serializers", False),
        ("rest_framework.status", True),
        ("aiohttp.web", True),
        ("aiohttp.ClientSession", False),
        ("litestar.exceptions.NotFoundException", True),
        ("litestar.di.Provide", False),
        ("pydantic.ValidationError", False),
    ],
)
def test_web_framework_names(qualified, flagged):
    assert web_framework_name(qualified) is flagged


def test_relative_import_from_a_package_init():
    files = {
        "app/routers/__init__.py": "from ..repositories.items import ItemRepository\n" + HANDLER,
        "app/repositories/items.py": "class ItemRepository: ...\n",
    }
    (finding,) = check(files, "app/routers/__init__.py")
    assert finding.message == "Router module imports repository `app.repositories.items`; call it through a service"
    assert finding.data == {
        "module": "app.repositories.items",
        "names": ["ItemRepository"],
        "source_layer": "router",
        "target_layer": "repository",
    }


def test_path_guess_without_an_index_stays_inside_the_project():
    text = """\
    from app.repositories.items import ItemRepository
    from repositories.cache import Cache
    from sqlalchemy.orm import Session
    """
    findings = check({"app/routers/items.py": textwrap.dedent(text) + HANDLER}, "app/routers/items.py", with_index=False)
    # `repositories.cache` is not under this module's package: without an
    # index nothing says it is the project's.
    assert [f.line for f in findings] == [1]


def test_index_layer_wins_over_the_path():
    files = {
        "app/routers/items.py": "from app.services.pool import make_pool\n",
        # services/ by path, but it only builds a pool: infrastructure ("other").
        "app/services/pool.py": "import asyncpg\n\n\nasync def make_pool(dsn):\n    return await asyncpg.create_pool(dsn)\n",
        "app/repositories/items.py": "from app.services.pool import make_pool\n",
    }
    assert check(files, "app/repositories/items.py") == []
    # Without the index the path alone says service.
    (guessed,) = check(files, "app/repositories/items.py", with_index=False)
    assert guessed.data["target_layer"] == "service"


def test_settings_layer_overrides_apply_to_imported_modules():
    files = {
        "app/routers/items.py": "from app.storage.items import load_items\n" + HANDLER,
        "app/storage/items.py": "def load_items(): ...\n",
    }
    assert check(files, "app/routers/items.py") == []
    (finding,) = check(files, "app/routers/items.py", layers={"repository": ["app/storage/**"]})
    assert finding.data["target_layer"] == "repository"
    assert check(files, "app/routers/items.py", with_index=False, layers={"repository": ["app/storage/**"]})


def test_one_finding_per_module_spanning_its_names():
    text = "from fastapi import Depends, HTTPException, Request\n"
    (finding,) = check({"app/services/items.py": text}, "app/services/items.py")
    assert (finding.line, finding.column, finding.end_column) == (1, 29, 51)
    assert finding.data["names"] == ["HTTPException", "Request"]
    assert "keep HTTP concerns in the router" in finding.message


def test_type_checking_imports_are_quiet():
    text = """\
    from typing import TYPE_CHECKING
    import typing

    if TYPE_CHECKING:
        from app.services.items import ItemService
    if typing.TYPE_CHECKING:
        from fastapi import Request
    """
    assert check({"app/repositories/items.py": text}, "app/repositories/items.py") == []


def test_router_may_import_the_web_framework_and_models():
    text = """\
    from fastapi import APIRouter, HTTPException, Request
    from app.models import Item
    from app.services.items import ItemService
    """
    assert check({"app/routers/items.py": textwrap.dedent(text) + HANDLER}, "app/routers/items.py") == []


def test_router_folder_module_without_handlers_is_composition_root():
    files = {
        # realworld-style dependency provider under api/: no route handlers.
        "app/api/dependencies/database.py": """\
            from app.db.repositories.articles import ArticlesRepository


            def get_repository(session):
                return ArticlesRepository(session)
            """,
        "app/api/routes/articles.py": """\
            from fastapi import APIRouter
            from app.db.repositories.articles import ArticlesRepository

            router = APIRouter()


            @router.get("/articles")
            async def list_articles():
                return []
            """,
    }
    assert check(files, "app/api/dependencies/database.py") == []
    assert [f.line for f in check(files, "app/api/routes/articles.py")] == [2]
