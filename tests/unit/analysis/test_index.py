from __future__ import annotations

import ast
import os
import textwrap
from pathlib import Path

import pytest
from stackguard.analysis.index import WorkspaceIndex, alembic_dirs_in, analyze_module
from stackguard.analysis.source import ParseProblem
from stackguard.analysis.summary import summarize


def write_tree(root: Path, files: dict[str, str | bytes]) -> list[str]:
    for relative, content in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(textwrap.dedent(content), encoding="utf-8")
    return sorted(files)


def build(root: Path, files: dict[str, str | bytes], **kwargs) -> WorkspaceIndex:
    return WorkspaceIndex.build(root, write_tree(root, files), **kwargs)


def route_set(index: WorkspaceIndex) -> set[tuple[str, str, str]]:
    return {(r.method, r.path, r.handler) for r in index.routes}


FASTAPI_PROJECT: dict[str, str | bytes] = {
    "app/__init__.py": "",
    "app/main.py": """
        from fastapi import FastAPI
        from slowapi import Limiter
        from app.api.main import api_router
        app = FastAPI()
        app.include_router(api_router, prefix="/api/v1")
    """,
    "app/api/__init__.py": "",
    "app/api/main.py": """
        from fastapi import APIRouter
        from app.api.routes import items, users
        api_router = APIRouter()
        api_router.include_router(items.router, prefix="/items", tags=["items"])
        api_router.include_router(users.router)
    """,
    "app/api/deps.py": """
        from app.core.db import SessionLocal
        def get_db():
            db = SessionLocal()
            yield db
    """,
    "app/api/errors.py": """
        def install_handlers(app): ...
    """,
    "app/api/routes/__init__.py": "",
    "app/api/routes/items.py": """
        from fastapi import APIRouter
        from app.models import Item
        from app.services.items import ItemService
        router = APIRouter()

        @router.get("/{item_id}")
        def read_item(item_id: int): ...

        @router.get("/")
        def list_items(): ...
    """,
    "app/api/routes/users.py": """
        from fastapi import APIRouter
        router = APIRouter(prefix="/users")

        @router.post("/")
        def create_user(): ...
    """,
    "app/models/__init__.py": """
        from .item import Item
        from .user import User
    """,
    "app/models/item.py": """
        from sqlalchemy import Column, ForeignKey, Integer, String
        from sqlalchemy.orm import relationship
        from app.db.base import Base

        class Item(Base):
            __tablename__ = "items"
            id = Column(Integer, primary_key=True)
            title = Column(String(100), nullable=False)
            owner_id = Column(Integer, ForeignKey("users.id"))
            owner = relationship("User", backref="items")
    """,
    "app/models/user.py": """
        from sqlalchemy import Column, Integer, String
        from app.db.base import Base

        class User(Base):
            __tablename__ = "users"
            id = Column(Integer, primary_key=True)
            email = Column(String(120), unique=True)
    """,
    "app/db/__init__.py": "",
    "app/db/base.py": """
        from sqlalchemy.orm import DeclarativeBase
        class Base(DeclarativeBase):
            pass
    """,
    "app/core/__init__.py": "",
    "app/core/db.py": """
        from sqlalchemy import create_engine
        from sqlalchemy.orm import sessionmaker
        engine = create_engine("sqlite://")
        SessionLocal = sessionmaker(bind=engine)
    """,
    "app/core/errors.py": """
        class AppError(Exception):
            pass
        class ItemNotFound(AppError):
            pass
    """,
    "app/core/logging.py": "import logging\n",
    "app/services/__init__.py": "",
    "app/services/items.py": """
        import logging
        from app.repositories.items import ItemRepository

        class ItemService:
            def __init__(self, repo: ItemRepository) -> None:
                self.repo = repo
    """,
    "app/repositories/__init__.py": "",
    "app/repositories/items.py": """
        from app.models.item import Item

        class ItemRepository:
            def get(self, session, item_id):
                return session.get(Item, item_id)
    """,
    "README.md": "not python",
}


@pytest.fixture
def fastapi_index(tmp_path: Path) -> WorkspaceIndex:
    return build(tmp_path, FASTAPI_PROJECT)


def test_build_indexes_python_files_only(fastapi_index: WorkspaceIndex) -> None:
    assert "README.md" not in fastapi_index.summaries
    assert len(fastapi_index.summaries) == len(FASTAPI_PROJECT) - 1
    assert fastapi_index.skipped == {}
    stats = fastapi_index.last_build
    assert stats is not None and stats.workers == 1 and stats.parsed == stats.files == len(FASTAPI_PROJECT) - 1


def test_layers_are_classified(fastapi_index: WorkspaceIndex) -> None:
    layer_of = fastapi_index.layer_of
    assert layer_of("app/api/routes/items.py") == "router"
    assert layer_of("app/services/items.py") == "service"
    assert layer_of("app/repositories/items.py") == "repository"
    assert layer_of("app/models/item.py") == "model"
    assert layer_of("app/api/deps.py") == "other"
    assert layer_of("app/core/db.py") == "other"
    assert layer_of("nope.py") is None
    assert fastapi_index.files_in_layer("service") == ["app/services/__init__.py", "app/services/items.py"]


def test_routes_get_prefixes_across_modules(fastapi_index: WorkspaceIndex) -> None:
    assert route_set(fastapi_index) == {
        ("GET", "/api/v1/items/{item_id}", "read_item"),
        ("GET", "/api/v1/items/", "list_items"),
        ("POST", "/api/v1/users/", "create_user"),
    }
    # the summary itself only knows its own module
    local = {r.path for r in fastapi_index.summaries["app/api/routes/items.py"].routes}
    assert local == {"/{item_id}", "/"}
    assert [r.handler for r in fastapi_index.routes_in("app/api/routes/users.py")] == ["create_user"]


def test_import_graph(fastapi_index: WorkspaceIndex) -> None:
    assert fastapi_index.imports_of("app.api.routes.items") == {"app.models", "app.services.items"}
    assert fastapi_index.imports_of("app.api.main") == {"app.api.routes", "app.api.routes.items", "app.api.routes.users"}
    assert fastapi_index.importers_of("app.models.item") == {"app.models", "app.repositories.items"}
    # `import logging` is the standard library, not app/core/logging.py
    assert "app.core.logging" not in fastapi_index.imports_of("app.services.items")
    assert fastapi_index.module_for("app/models/item.py").module == "app.models.item"
    assert fastapi_index.module_for("app.models.item").relative == "app/models/item.py"
    assert fastapi_index.modules["app.api.deps"] == "app/api/deps.py"


def test_dependents_include_importers_of_defined_models(fastapi_index: WorkspaceIndex) -> None:
    # routes/items.py imports Item through the app.models re-export.
    assert fastapi_index.dependents("app/models/item.py") == {
        "app/models/__init__.py",
        "app/repositories/items.py",
        "app/api/routes/items.py",
    }
    assert fastapi_index.dependents("app/services/items.py") == {"app/api/routes/items.py"}
    assert fastapi_index.dependents("app/main.py") == set()


def test_models_and_relationships(fastapi_index: WorkspaceIndex) -> None:
    assert set(fastapi_index.models) == {"Item", "User"}
    item = fastapi_index.model("Item")
    assert item is not None and item.relative == "app/models/item.py" and item.table == "items"
    assert fastapi_index.model("app.models.item.Item") is item
    assert fastapi_index.model("Nope") is None
    owner = fastapi_index.relationship("Item", "owner")
    assert owner is not None and owner.uselist is False  # Item holds the foreign key: many-to-one
    items = fastapi_index.relationship("User", "items")  # added by backref
    assert items is not None and items.reverse and items.uselist is True and items.target == "Item"
    assert fastapi_index.relationship("User", "nothing") is None
    assert set(fastapi_index.relationships_of("User")) == {"items"}
    assert fastapi_index.model_for_table("users").name == "User"


def test_project_facts(fastapi_index: WorkspaceIndex) -> None:
    assert fastapi_index.has_rate_limiter
    assert fastapi_index.rate_limiter_evidence() == ("app/main.py", 3)
    assert fastapi_index.errors_module() == "app/core/errors.py"  # defines exceptions; api/errors.py does not
    assert fastapi_index.service_modules_for("Item") == ["app/services/items.py"]
    assert fastapi_index.service_modules_for("items") == ["app/services/items.py"]
    assert fastapi_index.repository_modules_for("item") == ["app/repositories/items.py"]
    assert fastapi_index.service_modules_for("User") == []
    assert fastapi_index.find_symbol("ItemService") == [("app/services/items.py", 5)]


def test_no_limiter_no_errors_module(tmp_path: Path) -> None:
    index = build(tmp_path, {"app/main.py": "from fastapi import FastAPI\n", "tests/errors.py": "class E(Exception): ...\n"})
    assert not index.has_rate_limiter and index.rate_limiter_evidence() is None
    assert index.errors_module() is None  # a test helper is not the project's errors module


def test_errors_package_and_exceptions_module(tmp_path: Path) -> None:
    index = build(
        tmp_path,
        {
            "app/core/domain/exceptions.py": "class DomainError(Exception): ...\nclass Other(DomainError): ...\n",
            "app/errors/__init__.py": "class Boom(Exception): ...\n",
            "app/utils.py": "class E(Exception): ...\n",
        },
    )
    assert index.errors_module() == "app/errors/__init__.py"  # shallower wins among modules with classes


# --------------------------------------------------------------------------
# other frameworks across modules


def test_flask_blueprints_registered_in_an_app_factory(tmp_path: Path) -> None:
    index = build(
        tmp_path,
        {
            "app/__init__.py": """
                from flask import Flask
                def create_app():
                    app = Flask(__name__)
                    from .auth import bp as auth_bp
                    app.register_blueprint(auth_bp, url_prefix="/v2/auth")
                    from . import api
                    app.register_blueprint(api.bp)
                    return app
            """,
            "app/auth.py": """
                from flask import Blueprint
                bp = Blueprint("auth", __name__, url_prefix="/auth")
                @bp.route("/login", methods=["POST"])
                def login(): ...
            """,
            "app/api.py": """
                from flask import Blueprint
                bp = Blueprint("api", __name__, url_prefix="/api")
                @bp.get("/items")
                def items(): ...
            """,
        },
    )
    assert route_set(index) == {("POST", "/v2/auth/login", "login"), ("GET", "/api/items", "items")}


DJANGO_PROJECT: dict[str, str | bytes] = {
    "mysite/urls.py": """
        from django.urls import include, path
        urlpatterns = [
            path("blog/", include("blog.urls")),
            path("api/", include("api.urls")),
        ]
    """,
    "blog/urls.py": """
        from django.urls import path
        from . import views
        urlpatterns = [path("", views.index), path("<int:pk>/", views.detail)]
    """,
    "blog/views.py": """
        def index(request): ...
        def detail(request, pk): ...
    """,
    "blog/models.py": """
        from django.db import models

        class Tag(models.Model):
            name = models.CharField(max_length=20)

        class Post(models.Model):
            title = models.CharField(max_length=200)
            tags = models.ManyToManyField(Tag, related_name="posts")

        class Comment(models.Model):
            post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="comments")

        class Like(models.Model):
            post = models.ForeignKey("blog.Post", on_delete=models.CASCADE)
            hidden = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="+")

        class Stats(models.Model):
            post = models.OneToOneField(Post, on_delete=models.CASCADE)
    """,
    "api/urls.py": """
        from django.urls import include, path
        from rest_framework.routers import DefaultRouter
        from blog.api import PostViewSet
        router = DefaultRouter()
        router.register("posts", PostViewSet)
        urlpatterns = [path("", include(router.urls))]
    """,
    "blog/api.py": """
        from rest_framework import viewsets
        class PostViewSet(viewsets.ModelViewSet):
            pass
    """,
}


def test_django_urls_across_apps_and_drf_router(tmp_path: Path) -> None:
    index = build(tmp_path, DJANGO_PROJECT)
    assert route_set(index) == {
        ("ANY", "/blog/", "blog.views.index"),
        ("ANY", "/blog/<int:pk>/", "blog.views.detail"),
        ("ANY", "/api/posts/", "blog.api.PostViewSet"),
        ("ANY", "/api/posts/{pk}/", "blog.api.PostViewSet"),
    }
    assert index.layer_of("blog/api.py") == "router"  # a ViewSet module, whatever its name


def test_django_reverse_accessors(tmp_path: Path) -> None:
    index = build(tmp_path, DJANGO_PROJECT)
    comments = index.relationship("Post", "comments")
    assert comments is not None and comments.reverse and comments.uselist is True and comments.target == "Comment"
    assert comments.back_populates == "post"
    like_set = index.relationship("Post", "like_set")  # no related_name: <model>_set
    assert like_set is not None and like_set.uselist is True and like_set.target == "Like"
    stats = index.relationship("Post", "stats")  # one-to-one reverse: the model name
    assert stats is not None and stats.uselist is False
    posts = index.relationship("Tag", "posts")  # many-to-many reverse
    assert posts is not None and posts.uselist is True
    assert index.relationship("Post", "tags").uselist is True  # forward still found
    assert index.relationship("Post", "+") is None and index.relationship("Post", "hidden") is None
    assert set(index.relationships_of("Post")) == {"tags", "comments", "like_set", "stats"}


def test_peewee_and_tortoise_reverse_accessors(tmp_path: Path) -> None:
    index = build(
        tmp_path,
        {
            "notes/models.py": """
                from peewee import ForeignKeyField, Model, TextField
                class User(Model):
                    name = TextField()
                class Note(Model):
                    author = ForeignKeyField(User, backref="notes")
                class Like(Model):
                    user = ForeignKeyField(User)
            """,
            "events/models.py": """
                from tortoise import fields
                from tortoise.models import Model
                class Team(Model):
                    name = fields.CharField(max_length=20)
                class Event(Model):
                    team = fields.ForeignKeyField("models.Team", related_name="events")
                class Match(Model):
                    team = fields.ForeignKeyField("models.Team")
            """,
        },
    )
    assert {"User", "Note", "Team", "Event"} <= set(index.models)
    assert index.relationship("User", "notes").uselist is True
    assert index.relationship("User", "like_set").target == "Like"  # Peewee's default backref
    assert index.relationship("Team", "events").target == "Event"
    assert index.relationship("Team", "matchs").target == "Match"  # Tortoise's default related_name


def test_sqlalchemy_back_populates_without_the_other_side(tmp_path: Path) -> None:
    index = build(
        tmp_path,
        {
            "models.py": """
                from sqlalchemy import Column, ForeignKey, Integer
                from sqlalchemy.orm import relationship
                from db import Base
                class Parent(Base):
                    __tablename__ = "parents"
                    id = Column(Integer, primary_key=True)
                    children = relationship("Child", back_populates="parent")
                class Child(Base):
                    __tablename__ = "children"
                    id = Column(Integer, primary_key=True)
                    parent_id = Column(Integer, ForeignKey("parents.id"))
            """
        },
    )
    children = index.relationship("Parent", "children")
    assert children is not None and children.uselist is True  # inferred: Child holds the foreign key
    parent = index.relationship("Child", "parent")
    assert parent is not None and parent.reverse and parent.uselist is False


def test_aiohttp_routes_and_subapps_across_modules(tmp_path: Path) -> None:
    index = build(
        tmp_path,
        {
            "app/main.py": """
                from aiohttp import web
                from app import views
                from app.api import api_app
                def create_app():
                    app = web.Application()
                    app.add_routes(views.routes)
                    app.add_subapp("/api/", api_app)
                    return app
            """,
            "app/views.py": """
                from aiohttp import web
                routes = web.RouteTableDef()
                @routes.get("/")
                async def index(request): ...
            """,
            "app/api.py": """
                from aiohttp import web
                api_app = web.Application()
                async def status(request): ...
                api_app.router.add_get("/status", status)
            """,
        },
    )
    assert route_set(index) == {("GET", "/", "index"), ("GET", "/api/status", "status")}


def test_litestar_router_including_a_controller_from_another_module(tmp_path: Path) -> None:
    index = build(
        tmp_path,
        {
            "app/app.py": """
                from litestar import Litestar, Router
                from app.controllers import UserController
                api = Router(path="/api", route_handlers=[UserController])
                app = Litestar(route_handlers=[api])
            """,
            "app/controllers.py": """
                from litestar import Controller, get
                class UserController(Controller):
                    path = "/users"
                    @get("/{user_id:int}")
                    async def get_user(self, user_id: int) -> dict: ...
            """,
        },
    )
    assert route_set(index) == {("GET", "/api/users/{user_id:int}", "UserController.get_user")}


def test_router_mounted_twice_and_reexported(tmp_path: Path) -> None:
    index = build(
        tmp_path,
        {
            "app/main.py": """
                from fastapi import FastAPI
                from app.routes import items_router
                app = FastAPI()
                app.include_router(items_router, prefix="/v1")
                app.include_router(items_router, prefix="/v2")
            """,
            "app/routes/__init__.py": "from .items import router as items_router\n",
            "app/routes/items.py": """
                from fastapi import APIRouter
                router = APIRouter(prefix="/items")
                @router.get("")
                def list_items(): ...
            """,
        },
    )
    assert {r.path for r in index.routes} == {"/v1/items", "/v2/items"}


def test_modules_named_from_a_parent_folder_resolve_by_suffix(tmp_path: Path) -> None:
    index = build(
        tmp_path,
        {
            "backend/app/models.py": "from sqlalchemy.orm import DeclarativeBase\nclass Base(DeclarativeBase): pass\n",
            "backend/app/crud.py": "from app.models import Base\n",
        },
    )
    assert index.summaries["backend/app/models.py"].module == "backend.app.models"
    assert index.importers_of("backend.app.models") == {"backend.app.crud"}
    assert index.dependents("backend/app/models.py") == {"backend/app/crud.py"}


def test_layer_overrides_from_settings_and_alembic_dirs(tmp_path: Path) -> None:
    files = {
        "app/logic/pricing.py": "def total(): ...\n",
        "db/env.py": "from alembic import context\n",
        "db/versions/abc_init.py": "x = 1\n",
    }
    index = build(tmp_path, files, settings_layers={"service": ["app/logic/**"]})
    assert index.layer_of("app/logic/pricing.py") == "service"
    assert index.layer_of("db/versions/abc_init.py") == "migration"
    assert alembic_dirs_in(files) == {"db"}


def test_stack_profile_layer_patterns_are_accepted(tmp_path: Path) -> None:
    from stackguard.stack.model import LayerPattern

    index = build(tmp_path, {"app/logic/x.py": "x = 1\n"}, settings_layers=[LayerPattern("repository", "app/logic/*.py")])
    assert index.layer_of("app/logic/x.py") == "repository"


# --------------------------------------------------------------------------
# incremental updates


def summary_for(relative: str, source: str):
    return analyze_module(relative, ast.parse(textwrap.dedent(source)))


def test_update_replaces_a_summary_and_reports_dependents(fastapi_index: WorkspaceIndex) -> None:
    changed = summary_for(
        "app/api/routes/users.py",
        """
        from fastapi import APIRouter
        router = APIRouter(prefix="/people")
        @router.post("/")
        def create_user(): ...
        @router.delete("/{id}")
        def delete_user(id: int): ...
        """,
    )
    affected = fastapi_index.update(changed)
    assert affected == {"app/api/main.py"}
    paths = {(r.method, r.path) for r in fastapi_index.routes}
    assert ("POST", "/api/v1/people/") in paths and ("DELETE", "/api/v1/people/{id}") in paths
    assert ("POST", "/api/v1/users/") not in paths


def test_update_that_only_moves_bodies_affects_no_other_file(fastapi_index: WorkspaceIndex) -> None:
    source = FASTAPI_PROJECT["app/models/item.py"]
    assert isinstance(source, str)
    moved = summary_for("app/models/item.py", "\n\n# a comment pushing every line down\n" + textwrap.dedent(source))
    assert fastapi_index.update(moved) == set()
    assert fastapi_index.model("Item").line == 9  # the new positions are stored all the same


def test_rate_limiter_appearing_rechecks_every_router(tmp_path: Path) -> None:
    index = build(
        tmp_path,
        {
            "app/routers/auth.py": "from fastapi import APIRouter\nrouter = APIRouter()\n@router.post('/login')\ndef login(): ...\n",
            "app/main.py": "from fastapi import FastAPI\napp = FastAPI()\n",
        },
    )
    assert index.update(summary_for("app/main.py", "from fastapi import FastAPI\napp = FastAPI()\n")) == set()
    with_limiter = summary_for("app/main.py", "from fastapi import FastAPI\nfrom slowapi import Limiter\napp = FastAPI()\n")
    assert index.update(with_limiter) == {"app/routers/auth.py"}
    assert index.remove("app/main.py") == {"app/routers/auth.py"}


def test_update_of_a_models_file(fastapi_index: WorkspaceIndex) -> None:
    changed = summary_for(
        "app/models/item.py",
        """
        from sqlalchemy import Column, ForeignKey, Integer
        from sqlalchemy.orm import relationship
        from app.db.base import Base
        class Item(Base):
            __tablename__ = "items"
            id = Column(Integer, primary_key=True)
            owner_id = Column(Integer, ForeignKey("users.id"))
            owner = relationship("User", backref="owned_items", lazy="joined")
        class Tag(Base):
            __tablename__ = "tags"
            id = Column(Integer, primary_key=True)
        """,
    )
    affected = fastapi_index.update(changed)
    assert "app/api/routes/items.py" in affected and "app/repositories/items.py" in affected
    assert set(fastapi_index.models) == {"Item", "User", "Tag"}
    assert fastapi_index.relationship("User", "items") is None
    assert fastapi_index.relationship("User", "owned_items").uselist is True
    assert "title" not in fastapi_index.model("Item").columns


def test_update_with_changed_imports_updates_the_graph(fastapi_index: WorkspaceIndex) -> None:
    fastapi_index.update(summary_for("app/services/items.py", "from app.models.user import User\n"))
    assert fastapi_index.imports_of("app.services.items") == {"app.models.user"}
    assert "app.services.items" not in fastapi_index.importers_of("app.repositories.items")
    assert "app.services.items" in fastapi_index.importers_of("app.models.user")


def test_adding_a_new_file_links_existing_importers(tmp_path: Path) -> None:
    index = build(tmp_path, {"app/main.py": "from app.extra import thing\n"})
    assert index.imports_of("app.main") == set()
    affected = index.update(summary_for("app/extra.py", "thing = 1\n"))
    assert affected == {"app/main.py"}
    assert index.imports_of("app.main") == {"app.extra"}


def test_remove_forgets_a_file(fastapi_index: WorkspaceIndex) -> None:
    affected = fastapi_index.remove("app/api/routes/users.py")
    assert affected == {"app/api/main.py"}
    assert "app/api/routes/users.py" not in fastapi_index.summaries
    assert {r.handler for r in fastapi_index.routes} == {"read_item", "list_items"}
    assert fastapi_index.imports_of("app.api.main") == {"app.api.routes", "app.api.routes.items"}
    assert fastapi_index.remove("not/there.py") == set()


def test_remove_a_models_file(fastapi_index: WorkspaceIndex) -> None:
    affected = fastapi_index.remove("app/models/user.py")
    assert affected == {"app/models/__init__.py"}
    assert set(fastapi_index.models) == {"Item"}


def test_record_skipped_keeps_the_last_good_summary(fastapi_index: WorkspaceIndex) -> None:
    fastapi_index.record_skipped("app/models/item.py", ParseProblem("cannot parse: invalid syntax", 3, 0))
    assert "Item" in fastapi_index.models
    assert fastapi_index.skipped["app/models/item.py"].line == 3
    fastapi_index.update_tree("app/models/item.py", ast.parse("x = 1\n"))
    assert "app/models/item.py" not in fastapi_index.skipped and "Item" not in fastapi_index.models


def test_empty_index_answers_every_query() -> None:
    index = WorkspaceIndex()
    assert index.models == {} and index.routes == [] and index.model("X") is None
    assert index.relationship("X", "y") is None and index.dependents("a.py") == set()
    assert index.imports_of("a") == set() and index.importers_of("a") == set()
    assert index.errors_module() is None and not index.has_rate_limiter
    index.update(summarize("a.py", ast.parse("import b\n"), "other"))
    assert index.layer_of("a.py") == "other"


# --------------------------------------------------------------------------
# cold builds: process pool and unreadable files


def generated_tree(count: int) -> dict[str, str | bytes]:
    files: dict[str, str | bytes] = {"app/__init__.py": "", "app/main.py": "from fastapi import FastAPI\napp = FastAPI()\n"}
    for n in range(count):
        kind = n % 3
        if kind == 0:
            files[f"app/models/m{n}.py"] = (
                "from sqlalchemy import Column, Integer, ForeignKey\nfrom app.db import Base\n"
                f"class Model{n}(Base):\n    __tablename__ = 't{n}'\n    id = Column(Integer, primary_key=True)\n"
                f"    other_id = Column(Integer, ForeignKey('t{max(n - 3, 0)}.id'))\n"
            )
        elif kind == 1:
            files[f"app/routers/r{n}.py"] = (
                f"from fastapi import APIRouter\nfrom app.models.m{n - 1} import Model{n - 1}\n"
                f"router = APIRouter(prefix='/r{n}')\n@router.get('/{{id}}')\ndef get_{n}(id: int): ...\n"
            )
            files["app/main.py"] = (
                str(files["app/main.py"]) + f"from app.routers import r{n}\napp.include_router(r{n}.router, prefix='/v1')\n"
            )
        else:
            files[f"app/services/s{n}.py"] = f"from app.routers.r{n - 1} import router\n\ndef service_{n}():\n    return {n}\n"
    files["app/broken.py"] = "try:\n    pass\nexcept A, B:\n    pass\n"
    return files


def test_process_pool_build_matches_in_process_build(tmp_path: Path) -> None:
    relatives = write_tree(tmp_path, generated_tree(300))
    pooled = WorkspaceIndex.build(tmp_path, relatives, processes=2)
    serial = WorkspaceIndex.build(tmp_path, relatives, processes=1)
    assert pooled.last_build is not None and serial.last_build is not None
    assert pooled.last_build.workers == 2 and serial.last_build.workers == 1
    assert pooled.summaries == serial.summaries
    assert pooled.skipped == serial.skipped and set(pooled.skipped) == {"app/broken.py"}
    assert len(pooled.summaries) == 302
    assert pooled.routes == serial.routes and len(pooled.routes) == 100
    assert ("GET", "/v1/r1/{id}") in {(r.method, r.path) for r in pooled.routes}
    assert pooled.dependents("app/models/m0.py") == serial.dependents("app/models/m0.py") == {"app/routers/r1.py"}


def test_build_falls_back_in_process_when_no_pool_can_start(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import stackguard.analysis.index as index_module

    class NoPool:
        def __init__(self, *args, **kwargs) -> None:
            raise OSError("no semaphores here")

    monkeypatch.setattr(index_module, "ProcessPoolExecutor", NoPool)
    index = build(tmp_path, {f"m{n}.py": f"x = {n}\n" for n in range(5)}, processes=2, parallel_threshold=1)
    assert index.last_build.workers == 1 and len(index.summaries) == 5


def test_small_trees_stay_in_process(tmp_path: Path) -> None:
    index = build(tmp_path, {"a.py": "x = 1\n"}, processes=4)
    assert index.last_build.workers == 1


def test_unparsable_and_unreadable_files_are_skipped_and_reported(tmp_path: Path) -> None:
    files: dict[str, str | bytes] = {
        "good.py": "x = 1\n",
        "newer_grammar.py": "try:\n    pass\nexcept A, B:\n    pass\n",
        "nul.py": b"x = 1\x00\n",
        "parens.py": "(" * 300 + ")" * 300 + "\n",
        "deep.py": "x = " + "+".join(["1"] * 5000) + "\n",
        "latin1.py": b"s = '\xe9t\xe9'\n",
        "big.py": "x = 1\n" * 5000,
    }
    index = build(tmp_path, files, max_file_bytes=20_000)
    assert set(index.summaries) == {"good.py"}
    skipped = index.skipped
    assert set(skipped) == set(files) - {"good.py"}
    assert skipped["newer_grammar.py"].kind == "syntax" and skipped["newer_grammar.py"].line == 3
    assert skipped["nul.py"].kind == "binary"
    assert skipped["parens.py"].kind in ("syntax", "unsupported")
    assert skipped["deep.py"].kind == "unsupported"  # RecursionError from the parser
    assert skipped["latin1.py"].kind == "encoding"
    assert skipped["big.py"].kind == "too-large"
    assert index.last_build.skipped == 6


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="needs symlinks")
def test_symlink_out_of_the_project_is_skipped(tmp_path: Path) -> None:
    outside = tmp_path / "outside.py"
    outside.write_text("secret = 1\n")
    root = tmp_path / "project"
    root.mkdir()
    (root / "link.py").symlink_to(outside)
    (root / "ok.py").write_text("x = 1\n")
    index = WorkspaceIndex.build(root, ["link.py", "ok.py"])
    assert set(index.summaries) == {"ok.py"} and "outside" in index.skipped["link.py"].message


def test_uselist_inferred_from_a_class_attribute_foreign_key(tmp_path: Path) -> None:
    index = build(
        tmp_path,
        {
            "models.py": """
                from sqlalchemy import Column, ForeignKey, Integer
                from sqlalchemy.orm import relationship
                from db import Base
                class Author(Base):
                    __tablename__ = "authors"
                    id = Column(Integer, primary_key=True)
                    books = relationship("Book")
                class Book(Base):
                    __tablename__ = "books"
                    id = Column(Integer, primary_key=True)
                    author_id = Column(Integer, ForeignKey(Author.id))
                    author = relationship(Author)
            """
        },
    )
    assert index.relationship("Author", "books").uselist is True
    assert index.relationship("Book", "author").uselist is False
