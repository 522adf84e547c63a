from __future__ import annotations

import ast
import textwrap

import pytest
from stackguard.analysis.layers import classify_layer, override_layer, path_layer


def tree(source: str) -> ast.Module:
    return ast.parse(textwrap.dedent(source))


@pytest.mark.parametrize(
    ("relative", "expected"),
    [
        # routers
        ("app/routers/items.py", "router"),
        ("app/api/routes/items.py", "router"),
        ("app/api/v1/endpoints/users.py", "router"),
        ("app/api/v1/users.py", "router"),
        ("blog/views.py", "router"),
        ("blog/views/detail.py", "router"),
        ("blog/apis.py", "router"),
        ("blog/urls.py", "router"),
        ("config/urls.py", "router"),  # the file name beats the config folder
        ("app/controllers/orders.py", "router"),
        ("app/user_routes.py", "router"),
        ("app/handlers.py", "router"),
        # services
        ("app/services/orders.py", "service"),
        ("app/service.py", "service"),
        ("app/orders/services.py", "service"),
        ("app/use_cases/checkout.py", "service"),
        ("app/usecases/checkout.py", "service"),
        ("app/order_service.py", "service"),
        # repositories
        ("app/repositories/orders.py", "repository"),
        ("app/repository.py", "repository"),
        ("app/repos/users.py", "repository"),
        ("app/crud.py", "repository"),
        ("app/crud/crud_user.py", "repository"),
        ("app/dao/users.py", "repository"),
        ("blog/selectors.py", "repository"),
        ("app/queries.py", "repository"),
        ("app/user_repository.py", "repository"),
        # models
        ("app/models.py", "model"),
        ("app/models/__init__.py", "model"),
        ("app/models/user.py", "model"),
        ("app/entities/user.py", "model"),
        ("app/db/tables.py", "model"),
        # schemas
        ("app/schemas/user.py", "schema"),
        ("app/api/schemas/user.py", "schema"),  # innermost folder wins
        ("app/schemas.py", "schema"),
        ("blog/serializers.py", "schema"),
        ("app/dto/user.py", "schema"),
        # config
        ("app/settings.py", "config"),
        ("app/core/config.py", "config"),
        ("project/settings/production.py", "config"),
        ("app/config.py", "config"),
        # tests beat everything else on the path
        ("tests/test_items.py", "test"),
        ("app/tests/api/routes/test_items.py", "test"),
        ("tests/conftest.py", "test"),
        ("app/routers/items_test.py", "test"),
        ("app/services/test_orders.py", "test"),
        ("conftest.py", "test"),
        ("blog/tests.py", "test"),
        # migrations
        ("blog/migrations/0001_initial.py", "migration"),
        ("migrations/versions/abc123_add_users.py", "migration"),
        ("alembic/versions/abc123_add_users.py", "migration"),
        ("app/alembic/env.py", "migration"),
        # other
        ("app/main.py", "other"),
        ("app/utils.py", "other"),
        ("app/api/deps.py", "other"),  # dependency providers: the composition root
        ("app/dependencies.py", "other"),
        ("app/core/db.py", "other"),
        ("manage.py", "other"),
        ("api/main.py", "other"),  # a top-level package named api is not a router folder
        ("src/api/database.py", "other"),
        ("api/versions/v1.py", "other"),  # versions/ without Alembic's env.py
        ("app/external_api.py", "other"),
    ],
)
def test_path_conventions(relative: str, expected: str) -> None:
    assert classify_layer(relative, None) == expected


def test_versions_folder_next_to_alembic_env_is_migration() -> None:
    assert classify_layer("db/versions/abc.py", None) == "other"
    assert classify_layer("db/versions/abc.py", None, alembic_dirs={"db"}) == "migration"
    assert classify_layer("versions/abc.py", None, alembic_dirs={""}) == "migration"


def test_alembic_revision_recognised_by_content() -> None:
    revision = tree(
        """
        revision = "abc123"
        down_revision = None
        def upgrade():
            pass
        def downgrade():
            pass
        """
    )
    assert classify_layer("db/versions/abc123.py", revision) == "migration"
    assert classify_layer("app/api/versions/v1.py", tree("revision = 1\n")) == "router"


# --------------------------------------------------------------------------
# content


@pytest.mark.parametrize(
    ("relative", "source"),
    [
        (
            "app/utils.py",
            """
            from fastapi import APIRouter
            router = APIRouter()
            @router.get("/ping")
            def ping(): ...
            """,
        ),
        (
            "app/helpers.py",
            """
            from flask import Blueprint
            bp = Blueprint("x", __name__)
            @bp.route("/x", methods=["POST"])
            def x(): ...
            """,
        ),
        (
            "blog/misc.py",
            """
            from rest_framework.views import APIView
            class Ping(APIView):
                def get(self, request): ...
            """,
        ),
        (
            "blog/pages.py",
            """
            from django.views.generic import ListView
            class PostList(ListView):
                pass
            """,
        ),
        (
            "blog/functions.py",
            """
            from rest_framework.decorators import api_view
            @api_view(["GET"])
            def hello(request): ...
            """,
        ),
        (
            "app/web.py",
            """
            from aiohttp import web
            routes = web.RouteTableDef()
            @routes.get("/")
            async def index(request): ...
            """,
        ),
        (
            "app/things.py",
            """
            from aiohttp import web
            class Things(web.View):
                async def get(self): ...
            """,
        ),
        (
            "app/setup.py",
            """
            from aiohttp import web
            async def health(request): ...
            def setup(app):
                app.router.add_get("/health", health)
            """,
        ),
        (
            "app/misc.py",
            """
            from litestar import get
            @get("/")
            async def index() -> str: ...
            """,
        ),
        (
            "app/models.py",  # routes in a models.py still make it a router
            """
            from fastapi import FastAPI
            app = FastAPI()
            @app.post("/x")
            def x(): ...
            """,
        ),
    ],
)
def test_modules_declaring_route_handlers_are_routers(relative: str, source: str) -> None:
    assert classify_layer(relative, tree(source)) == "router"


@pytest.mark.parametrize(
    ("relative", "source", "expected"),
    [
        ("app/utils.py", '@cache.get("user:1")\ndef f(): ...\n', "other"),
        ("app/tasks.py", "@celery.task\ndef job(): ...\n", "other"),
        # Registering handlers defined elsewhere is wiring, not handling.
        ("app/main.py", "from aiohttp import web\nfrom . import views\napp = web.Application()\napp.router.add_get('/', views.index)\n", "other"),
        ("app/main.py", "from fastapi import FastAPI\nfrom .api import router\napp = FastAPI()\napp.include_router(router)\n", "other"),
        # Test code declaring routes is still test code.
        ("tests/test_api.py", "from fastapi import FastAPI\napp = FastAPI()\n@app.get('/')\ndef f(): ...\n", "test"),
    ],
)
def test_content_that_is_not_a_router(relative: str, source: str, expected: str) -> None:
    assert classify_layer(relative, tree(source)) == expected


def test_has_routes_argument_skips_the_scan() -> None:
    assert classify_layer("app/models.py", tree("x = 1\n"), has_routes=True) == "router"
    routes = tree("from fastapi import FastAPI\napp = FastAPI()\n@app.get('/')\ndef f(): ...\n")
    assert classify_layer("app/models.py", routes, has_routes=False) == "model"


INFRA_POOL = """
import asyncpg
from app.config import settings

pool = None

async def init_pool(app):
    global pool
    pool = await asyncpg.create_pool(settings.DATABASE_URL)

async def close_pool(app):
    await pool.close()

async def fetch_one(query, *args):
    async with pool.acquire() as conn:
        return await conn.fetchrow(query, *args)
"""


@pytest.mark.parametrize(
    ("relative", "source", "expected"),
    [
        ("app/services/db.py", INFRA_POOL, "other"),
        (
            "app/services/cache.py",
            "import redis\nr = redis.Redis(host='cache')\ndef get_cached(key):\n    return r.get(key)\n",
            "other",
        ),
        (
            "app/services/http.py",
            "import aiohttp\nasync def make_client():\n    return aiohttp.ClientSession()\n",
            "other",
        ),
        (
            "app/services/database.py",
            ("from sqlalchemy import create_engine\nfrom sqlalchemy.orm import sessionmaker\n"
            "engine = create_engine('sqlite://')\nSessionLocal = sessionmaker(bind=engine)\n"),
            "other",
        ),
        (
            "app/services/db.py",
            "from sqlalchemy import create_engine\nfrom app.models.base import Base\n"
            "engine = create_engine('sqlite://')\ndef init_db():\n    Base.metadata.create_all(engine)\n",
            "other",
        ),
        # A service that builds its own engine but does domain work stays a
        # service (SG106 should tell it to receive the engine instead).
        (
            "app/services/users.py",
            ("from sqlalchemy import create_engine\nfrom app.models import User\n"
            "engine = create_engine('sqlite://')\ndef create_user(name):\n    return User(name=name)\n"),
            "service",
        ),
        (
            "app/services/orders.py",
            ("import asyncpg\nfrom ..repositories import orders\nasync def place(dsn):\n"
            "    conn = await asyncpg.connect(dsn)\n    return await orders.insert(conn)\n"),
            "service",
        ),
        (
            "app/services/db.py",
            "import asyncpg\nclass DatabaseService:\n    async def start(self):\n        self.pool = await asyncpg.create_pool('x')\n",
            "service",
        ),
        # No infrastructure at all: a plain service.
        ("app/services/pricing.py", "def total(items):\n    return sum(i.price for i in items)\n", "service"),
    ],
)
def test_infrastructure_only_services_are_other(relative: str, source: str, expected: str) -> None:
    assert classify_layer(relative, tree(source)) == expected


# --------------------------------------------------------------------------
# overrides


def test_overrides_win_over_everything() -> None:
    overrides = {"service": ["app/logic/**"], "router": ["tests/e2e/*.py"], "model": ["app/domain/"]}
    assert classify_layer("app/logic/pricing.py", None, overrides) == "service"
    assert classify_layer("app/logic/deep/er/x.py", None, overrides) == "service"
    assert classify_layer("tests/e2e/app.py", None, overrides) == "router"
    assert classify_layer("tests/e2e/sub/app.py", None, overrides) == "test"  # * stays in one segment
    assert classify_layer("app/domain/user.py", None, overrides) == "model"
    routes = tree("from fastapi import FastAPI\napp = FastAPI()\n@app.get('/')\ndef f(): ...\n")
    assert classify_layer("app/logic/http.py", routes, overrides) == "service"


def test_most_specific_override_wins() -> None:
    overrides = {"router": ["app/api/**"], "other": ["app/api/deps.py"], "schema": ["**/schemas.py"]}
    assert override_layer("app/api/deps.py", overrides) == "other"
    assert override_layer("app/api/items.py", overrides) == "router"
    # "**/schemas.py" has more literal characters than "app/api/**".
    assert override_layer("app/api/schemas.py", overrides) == "schema"
    assert override_layer("schemas.py", overrides) == "schema"
    assert override_layer("lib/x.py", overrides) is None


def test_malformed_overrides_are_ignored() -> None:
    overrides = {"nonsense": ["**"], "router": [None, "", "app/**"], "service": "svc/**"}
    assert classify_layer("lib/x.py", None, overrides) == "other"  # type: ignore[arg-type]
    assert classify_layer("app/x.py", None, overrides) == "router"  # type: ignore[arg-type]
    assert classify_layer("svc/x.py", None, overrides) == "service"  # type: ignore[arg-type]


def test_path_layer_says_nothing_for_plain_files() -> None:
    assert path_layer("app/main.py") is None
    assert path_layer("app/services/x.py") == "service"
