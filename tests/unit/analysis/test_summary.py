from __future__ import annotations

import ast
import pickle
import textwrap

import pytest
from stackguard.analysis.summary import ModuleSummary, module_name, summarize


def summary_of(relative: str, source: str, layer: str = "other") -> ModuleSummary:
    return summarize(relative, ast.parse(textwrap.dedent(source)), layer)


def routes_of(summary: ModuleSummary) -> set[tuple[str, str, str]]:
    return {(r.method, r.path, r.handler) for r in summary.routes}


# --------------------------------------------------------------------------
# module names and imports


@pytest.mark.parametrize(
    ("relative", "expected"),
    [
        ("app/routers/items.py", "app.routers.items"),
        ("app/__init__.py", "app"),
        ("src/pkg/mod.py", "pkg.mod"),
        ("main.py", "main"),
    ],
)
def test_module_name(relative: str, expected: str) -> None:
    assert module_name(relative) == expected


def test_imports_resolve_relative_against_the_package() -> None:
    summary = summary_of(
        "app/api/routes/items.py",
        """
        import os.path as osp, json
        from . import deps
        from ..core.config import settings
        from ...models import Item as ItemModel
        from .... import too_far
        from typing import TYPE_CHECKING
        if TYPE_CHECKING:
            from app.services.items import ItemService
        from app.schemas import *
        """,
    )
    by_module = {r.module: r for r in summary.imports}
    assert by_module["os.path"].bound == ("osp",) and not by_module["os.path"].is_from
    assert by_module["json"].names == ()
    assert by_module["app.api.routes"].names == ("deps",) and by_module["app.api.routes"].level == 1
    assert "app.api.core.config" in by_module
    assert by_module["app.models"].names == ("Item",) and by_module["app.models"].bound == ("ItemModel",)
    assert "....too_far" not in by_module and any(m.startswith("....") for m in by_module)
    assert by_module["app.services.items"].type_checking is True
    assert by_module["app.api.core.config"].type_checking is False
    assert by_module["app.schemas"].names == ("*",) and by_module["app.schemas"].bound == ()
    record = by_module["app.api.core.config"]
    assert (record.line, record.col, record.end_line) == (4, 0, 4)
    assert record.end_col == len("from ..core.config import settings")


def test_relative_import_in_package_init_uses_the_package_itself() -> None:
    summary = summary_of("app/api/__init__.py", "from .routes import router\nfrom .. import models\n")
    assert [r.module for r in summary.imports] == ["app.api.routes", "app"]


def test_imports_inside_functions_are_recorded() -> None:
    summary = summary_of("app/main.py", "def create_app():\n    from .views import bp\n    return bp\n")
    assert [r.module for r in summary.imports] == ["app.views"]


# --------------------------------------------------------------------------
# SQLAlchemy


SQLALCHEMY_2 = """
from typing import Optional
from sqlalchemy import ForeignKey, String, Table, Column, Integer
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

class Base(DeclarativeBase):
    pass

tags = Table("item_tags", Base.metadata, Column("item_id", ForeignKey("items.id")))

class TimestampMixin:
    created_at: Mapped[str] = mapped_column(String(30), default="now")

class User(TimestampMixin, Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(120), unique=True, index=True)
    nickname: Mapped[Optional[str]]
    bio: Mapped[str | None] = mapped_column(nullable=False)
    items: Mapped[list["Item"]] = relationship(back_populates="owner", lazy="selectin")
    profile: Mapped["Profile"] = relationship(back_populates="user")

class Item(Base):
    __tablename__ = "items"
    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    owner: Mapped[Optional["User"]] = relationship(back_populates="items")
    tags = relationship("Tag", secondary=tags)

class AbstractThing(Base):
    __abstract__ = True
    id: Mapped[int] = mapped_column(primary_key=True)
"""


def test_sqlalchemy_declarative_mapped_columns_and_relationships() -> None:
    summary = summary_of("app/models.py", SQLALCHEMY_2)
    models = {m.name: m for m in summary.models}
    assert set(models) == {"User", "Item"}  # Base, the mixin and the abstract class are not tables
    user = models["User"]
    assert user.orm == "sqlalchemy" and user.table == "users" and user.module == "app.models"
    assert (user.line, user.end_line) == (14, 21)
    columns = user.columns
    assert next(iter(columns)) == "created_at"  # inherited from the mixin, before its own columns
    assert columns["id"].primary_key and columns["id"].nullable is False and columns["id"].type == "int"
    assert columns["email"].type == "String(120)" and columns["email"].unique and columns["email"].index
    assert columns["email"].nullable is False
    assert columns["nickname"].nullable is True and columns["nickname"].type == "Optional[str]"
    assert columns["bio"].nullable is False  # explicit nullable wins over the annotation
    assert columns["created_at"].default == "'now'"
    items = user.relationships["items"]
    assert (items.target, items.uselist, items.lazy, items.back_populates) == ("Item", True, "selectin", "owner")
    assert user.relationships["profile"].uselist is False
    item = models["Item"]
    assert item.columns["owner_id"].foreign_key == "users.id"
    assert item.relationships["owner"].target == "User" and item.relationships["owner"].uselist is False
    assert item.relationships["tags"].secondary == "tags" and item.relationships["tags"].uselist is True


def test_sqlalchemy_legacy_declarative_base_and_columns() -> None:
    summary = summary_of(
        "app/db/models.py",
        """
        import sqlalchemy as sa
        from sqlalchemy.ext.declarative import declarative_base
        from sqlalchemy.orm import relationship, backref

        Base = declarative_base()

        class Author(Base):
            __tablename__ = "authors"
            id = sa.Column(sa.Integer, primary_key=True)
            name = sa.Column("full_name", sa.String(200), nullable=False, server_default="anon")
            nick = sa.Column(sa.String)

        class Book(Base):
            __tablename__ = "books"
            id = sa.Column(sa.Integer, sa.Sequence("book_id_seq"), primary_key=True)
            author_id = sa.Column(sa.Integer, sa.ForeignKey("authors.id", ondelete="CASCADE"))
            author = relationship("Author", backref=backref("books", lazy="dynamic"))
            editor = relationship("Author", uselist=False, lazy=True)
        """,
    )
    models = {m.name: m for m in summary.models}
    author = models["Author"]
    assert author.columns["id"].type == "Integer" and author.columns["id"].nullable is False
    assert author.columns["name"].column_name == "full_name" and author.columns["name"].type == "String(200)"
    assert author.columns["name"].nullable is False and author.columns["name"].server_default == "'anon'"
    assert author.columns["nick"].nullable is True  # Column's default
    book = models["Book"]
    assert book.columns["id"].type == "Integer"  # the Sequence is not the type
    assert book.columns["author_id"].foreign_key == "authors.id"
    author_rel = book.relationships["author"]
    assert author_rel.uselist is None  # decided by foreign keys: the index infers it
    assert (author_rel.backref, author_rel.backref_lazy) == ("books", "dynamic")
    assert book.relationships["editor"].uselist is False and book.relationships["editor"].lazy == "select"


def test_sqlalchemy_model_on_imported_base() -> None:
    summary = summary_of(
        "app/models/user.py",
        """
        from sqlalchemy import Column, Integer
        from app.db.base_class import Base

        class User(Base):
            id = Column(Integer, primary_key=True)

        class Named(Base):
            __tablename__ = "named"
        """,
    )
    assert {m.name: m.table for m in summary.models} == {"User": None, "Named": "named"}


def test_pydantic_models_and_plain_classes_are_not_orm_models() -> None:
    summary = summary_of(
        "app/schemas.py",
        """
        from pydantic import BaseModel, Field
        class ItemIn(BaseModel):
            name: str = Field(max_length=10)
        class Plain:
            x: int = 1
        """,
    )
    assert summary.models == []


# --------------------------------------------------------------------------
# SQLModel


def test_sqlmodel_tables_fields_relationships_and_inherited_bases() -> None:
    summary = summary_of(
        "app/models.py",
        """
        import uuid
        from typing import Optional
        from sqlmodel import Field, Relationship, SQLModel

        class HeroTeamLink(SQLModel, table=True):
            team_id: int | None = Field(default=None, foreign_key="team.id", primary_key=True)
            hero_id: int | None = Field(default=None, foreign_key="hero.id", primary_key=True)

        class TeamBase(SQLModel):
            name: str = Field(index=True)
            headquarters: str

        class Team(TeamBase, table=True):
            id: int | None = Field(default=None, primary_key=True)
            heroes: list["Hero"] = Relationship(back_populates="team", sa_relationship_kwargs={"lazy": "selectin"})

        class TeamCreate(TeamBase):
            pass

        class Hero(SQLModel, table=True):
            __tablename__ = "heroes"
            id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
            name: str
            age: int | None = None
            secret: Optional[str] = Field(default=None, nullable=False)
            team_id: int | None = Field(default=None, foreign_key="team.id")
            team: Team | None = Relationship(back_populates="heroes")
            teams: list[Team] = Relationship(link_model=HeroTeamLink)
        """,
    )
    models = {m.name: m for m in summary.models}
    assert set(models) == {"HeroTeamLink", "Team", "Hero"}  # TeamBase/TeamCreate are schemas
    team = models["Team"]
    assert team.orm == "sqlmodel" and team.table == "team"
    assert list(team.columns) == ["name", "headquarters", "id"]
    assert team.columns["name"].index and team.columns["name"].nullable is False
    assert team.columns["id"].primary_key and team.columns["id"].nullable is False
    heroes = team.relationships["heroes"]
    assert (heroes.target, heroes.uselist, heroes.lazy, heroes.kind) == ("Hero", True, "selectin", "Relationship")
    hero = models["Hero"]
    assert hero.table == "heroes"
    assert hero.columns["id"].default == "uuid.uuid4()" and hero.columns["id"].type == "uuid.UUID"
    assert hero.columns["name"].nullable is False and hero.columns["name"].type == "str"
    assert hero.columns["age"].nullable is True and hero.columns["age"].type == "int | None"
    assert hero.columns["age"].default == "None"
    assert hero.columns["secret"].nullable is False
    assert hero.columns["team_id"].foreign_key == "team.id"
    assert hero.relationships["team"].uselist is False and hero.relationships["team"].target == "Team"
    assert hero.relationships["teams"].secondary == "HeroTeamLink" and hero.relationships["teams"].uselist is True


# --------------------------------------------------------------------------
# Flask-SQLAlchemy


def test_flask_sqlalchemy_models() -> None:
    summary = summary_of(
        "app/models.py",
        """
        from flask_sqlalchemy import SQLAlchemy
        db = SQLAlchemy()

        class UserAccount(db.Model):
            id = db.Column(db.Integer, primary_key=True)
            username = db.Column(db.String(80), unique=True, nullable=False)
            posts = db.relationship("Post", backref="author", lazy=True)

        class Post(db.Model):
            __tablename__ = "posts"
            id = db.Column(db.Integer, primary_key=True)
            user_id = db.Column(db.Integer, db.ForeignKey("user_account.id"), nullable=False)
        """,
    )
    models = {m.name: m for m in summary.models}
    user = models["UserAccount"]
    assert user.orm == "flask-sqlalchemy" and user.table == "user_account"  # Flask-SQLAlchemy's default name
    assert user.columns["username"].type == "String(80)" and user.columns["username"].nullable is False
    posts = user.relationships["posts"]
    assert (posts.target, posts.backref, posts.lazy) == ("Post", "author", "select")
    assert models["Post"].table == "posts" and models["Post"].columns["user_id"].foreign_key == "user_account.id"
    assert summary.sessions["db"].kind == "flask_sqlalchemy"


def test_flask_sqlalchemy_with_imported_db() -> None:
    summary = summary_of(
        "app/models/user.py",
        """
        from app.extensions import db
        class User(db.Model):
            id = db.Column(db.Integer, primary_key=True)
        """,
    )
    assert [(m.name, m.orm, m.table) for m in summary.models] == [("User", "flask-sqlalchemy", "user")]


# --------------------------------------------------------------------------
# Django


DJANGO_MODELS = """
from django.conf import settings
from django.db import models

class TimeStamped(models.Model):
    created = models.DateTimeField(auto_now_add=True)
    class Meta:
        abstract = True

class Tag(models.Model):
    name = models.CharField(max_length=50, unique=True)

class Post(TimeStamped):
    title = models.CharField(max_length=200, db_index=True)
    body = models.TextField(null=True, blank=True)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    tags = models.ManyToManyField(Tag, related_name="posts")

class Comment(models.Model):
    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="comments")
    reply_to = models.ForeignKey("self", null=True, on_delete=models.SET_NULL)
    text = models.TextField(default="")

class Profile(models.Model):
    code = models.CharField(primary_key=True, max_length=10)
    account = models.OneToOneField("accounts.Account", on_delete=models.CASCADE)
    class Meta:
        db_table = "profiles"
"""


def test_django_models_fields_relations_and_tables() -> None:
    summary = summary_of("blog/models.py", DJANGO_MODELS)
    models = {m.name: m for m in summary.models}
    assert set(models) == {"Tag", "Post", "Comment", "Profile"}  # the abstract base is not a table
    post = models["Post"]
    assert post.orm == "django" and post.app_label == "blog" and post.table == "blog_post"
    assert list(post.columns)[:2] == ["id", "created"]  # implicit pk, then the abstract base's field
    assert post.columns["id"].implicit and post.columns["id"].primary_key
    assert post.columns["title"].type == "CharField" and post.columns["title"].index
    assert post.columns["title"].nullable is False and post.columns["body"].nullable is True
    author = post.columns["author"]
    assert (author.type, author.column_name, author.foreign_key) == ("ForeignKey", "author_id", "auth_user.id")
    assert post.relationships["author"].target == "User" and post.relationships["author"].uselist is False
    tags = post.relationships["tags"]
    assert (tags.target, tags.uselist, tags.related_name, tags.secondary) == ("Tag", True, "posts", "blog_post_tags")
    assert "tags" not in post.columns
    comment = models["Comment"]
    assert comment.columns["post"].foreign_key == "blog_post.id"
    assert comment.relationships["post"].related_name == "comments"
    assert comment.relationships["reply_to"].target == "Comment" and comment.columns["reply_to"].nullable is True
    assert comment.columns["text"].default == "''"
    profile = models["Profile"]
    assert profile.table == "profiles" and "id" not in profile.columns
    assert profile.columns["account"].foreign_key == "accounts_account.id" and profile.columns["account"].unique
    assert profile.relationships["account"].kind == "OneToOneField"


def test_django_app_label_from_models_package() -> None:
    summary = summary_of(
        "shop/models/order.py",
        "from django.db import models\nclass Order(models.Model):\n    total = models.DecimalField()\n",
    )
    assert summary.models[0].table == "shop_order"


# --------------------------------------------------------------------------
# routes


def test_fastapi_routes_with_router_prefix_and_local_include() -> None:
    summary = summary_of(
        "app/main.py",
        """
        from fastapi import FastAPI, APIRouter
        app = FastAPI()
        router = APIRouter(prefix="/items", tags=["items"])
        other = APIRouter()

        @router.get("/{item_id}")
        async def read_item(item_id: int): ...

        @router.api_route("/bulk", methods=["PUT", "PATCH"])
        def bulk(): ...

        @app.websocket("/ws")
        async def ws(): ...

        @other.post("")
        def create(): ...

        def listing(): ...
        other.add_api_route("/all", listing, methods=["GET"])

        app.include_router(router, prefix="/api")
        """,
    )
    assert routes_of(summary) == {
        ("GET", "/api/items/{item_id}", "read_item"),
        ("PUT", "/api/items/bulk", "bulk"),
        ("PATCH", "/api/items/bulk", "bulk"),
        ("WEBSOCKET", "/ws", "ws"),
        ("POST", "/", "create"),
        ("GET", "/all", "listing"),
    }
    assert {r.owner for r in summary.routes if r.handler == "read_item"} == {"app"}
    assert summary.router_prefixes == {"app": "", "router": "/items", "other": ""}
    assert set(summary.handlers) == {"read_item", "bulk", "ws", "create", "listing"}
    assert all(r.framework == "fastapi" for r in summary.routes)
    assert next(r for r in summary.routes if r.handler == "read_item").handler_line == 8


def test_decorators_that_are_not_routes() -> None:
    summary = summary_of(
        "app/utils.py",
        """
        from functools import lru_cache
        @cache.get("user:1")
        def cached(): ...
        @celery.task
        def job(): ...
        @lru_cache
        def f(): ...
        @something.get()
        def g(): ...
        """,
    )
    assert summary.routes == [] and summary.handlers == []


def test_flask_blueprints_rules_and_registration() -> None:
    summary = summary_of(
        "app/__init__.py",
        """
        from flask import Flask, Blueprint
        bp = Blueprint("auth", __name__, url_prefix="/auth")

        @bp.route("/login", methods=["GET", "POST"])
        def login(): ...

        @bp.get("/me")
        def me(): ...

        def create_app():
            app = Flask(__name__)

            @app.route("/")
            def index(): ...

            app.add_url_rule("/health", view_func=health)
            app.register_blueprint(bp, url_prefix="/v1/auth")
            return app

        def health(): ...
        """,
    )
    assert routes_of(summary) == {
        ("GET", "/v1/auth/login", "login"),
        ("POST", "/v1/auth/login", "login"),
        ("GET", "/v1/auth/me", "me"),  # register_blueprint's url_prefix replaces the blueprint's own
        ("GET", "/", "index"),
        ("GET", "/health", "health"),
    }
    assert all(r.framework == "flask" for r in summary.routes)
    assert {i.kind for i in summary.includes} == {"register_blueprint"}


def test_django_urls_views_and_includes() -> None:
    summary = summary_of(
        "blog/urls.py",
        """
        from django.urls import include, path, re_path
        from rest_framework.routers import DefaultRouter
        from . import views
        from .api import PostViewSet

        router = DefaultRouter()
        router.register(r"posts", PostViewSet, basename="post")

        urlpatterns = [
            path("", views.index, name="index"),
            path("<int:pk>/", views.PostDetail.as_view(), name="detail"),
            re_path(r"^archive/(?P<year>[0-9]{4})/$", views.archive),
            path("api/", include(router.urls)),
            path("accounts/", include("accounts.urls")),
            path("nested/", include([path("x/", views.x)])),
        ]
        urlpatterns += [path("about/", views.about)]
        """,
    )
    assert routes_of(summary) == {
        ("ANY", "/", "blog.views.index"),
        ("ANY", "/<int:pk>/", "blog.views.PostDetail"),
        ("ANY", "/archive/(?P<year>[0-9]{4})/", "blog.views.archive"),
        ("ANY", "/api/posts/", "blog.api.PostViewSet"),
        ("ANY", "/api/posts/{pk}/", "blog.api.PostViewSet"),
        ("ANY", "/nested/x/", "blog.views.x"),
        ("ANY", "/about/", "blog.views.about"),
    }
    module_include = next(i for i in summary.includes if i.child_is_module)
    assert (module_include.parent, module_include.child, module_include.prefix) == ("urlpatterns", "accounts.urls", "accounts/")
    drf = [r for r in summary.routes if r.framework == "drf"]
    assert drf and all(r.owner == "urlpatterns" for r in drf)
    assert summary.handlers == []  # views live in views.py


def test_drf_views_and_api_view_are_handlers() -> None:
    summary = summary_of(
        "blog/api.py",
        """
        from rest_framework import viewsets
        from rest_framework.views import APIView
        from rest_framework.decorators import api_view

        class PostViewSet(viewsets.ModelViewSet):
            throttle_classes = []

        class Ping(APIView):
            def get(self, request): ...

        @api_view(["GET"])
        def hello(request): ...
        """,
    )
    assert set(summary.handlers) == {"PostViewSet", "Ping", "hello"}
    assert summary.has_limiter  # throttle_classes on a view


def test_aiohttp_routes_every_style() -> None:
    summary = summary_of(
        "app/web.py",
        """
        from aiohttp import web
        routes = web.RouteTableDef()

        @routes.get("/users/{id}")
        async def get_user(request): ...

        @routes.route("POST", "/users")
        async def create_user(request): ...

        @routes.view("/things")
        class Things(web.View):
            async def get(self): ...

        async def health(request): ...
        async def search(request): ...

        def setup(app: web.Application) -> None:
            app.router.add_get("/health", health)
            app.router.add_route("*", "/any", search)
            app.add_routes([web.post("/search", search), web.view("/v", Things)])
            app.add_routes(routes)
        """,
    )
    assert routes_of(summary) == {
        ("GET", "/users/{id}", "get_user"),
        ("POST", "/users", "create_user"),
        ("ANY", "/things", "Things"),
        ("GET", "/health", "health"),
        ("ANY", "/any", "search"),
        ("POST", "/search", "search"),
        ("ANY", "/v", "Things"),
    }
    assert {r.framework for r in summary.routes} == {"aiohttp"}
    assert set(summary.handlers) == {"get_user", "create_user", "Things", "health", "search"}
    assert {r.owner for r in summary.routes if r.handler == "get_user"} == {"app"}  # add_routes(routes) applied


def test_litestar_handlers_controllers_and_router_path() -> None:
    summary = summary_of(
        "app/api.py",
        """
        from litestar import Controller, Litestar, Router, get, post

        @get("/health")
        async def health() -> str: ...

        @get()
        async def root() -> str: ...

        class UserController(Controller):
            path = "/users"

            @get("/{user_id:int}")
            async def get_user(self, user_id: int) -> dict: ...

            @post()
            async def create(self) -> dict: ...

        api = Router(path="/api", route_handlers=[UserController, health])
        app = Litestar(route_handlers=[api, root])
        """,
    )
    assert routes_of(summary) == {
        ("GET", "/api/health", "health"),
        ("GET", "/", "root"),
        ("GET", "/api/users/{user_id:int}", "UserController.get_user"),
        ("POST", "/api/users", "UserController.create"),
    }
    assert {r.framework for r in summary.routes} == {"litestar"}


def test_starlette_route_tables_and_mounts() -> None:
    summary = summary_of(
        "app/main.py",
        """
        from starlette.applications import Starlette
        from starlette.routing import Mount, Route, WebSocketRoute

        async def homepage(request): ...
        async def user(request): ...
        async def ws(websocket): ...

        api_routes = [Route("/users/{id}", user, methods=["GET", "DELETE"])]
        routes = [
            Route("/", endpoint=homepage),
            WebSocketRoute("/ws", ws),
            Mount("/api", routes=api_routes),
        ]
        app = Starlette(routes=routes)
        """,
    )
    assert routes_of(summary) == {
        ("GET", "/", "homepage"),
        ("WEBSOCKET", "/ws", "ws"),
        ("GET", "/api/users/{id}", "user"),
        ("DELETE", "/api/users/{id}", "user"),
    }
    assert {r.owner for r in summary.routes} == {"app"}


# --------------------------------------------------------------------------
# sessions, limiter, exceptions, symbols


def test_module_level_session_bindings() -> None:
    summary = summary_of(
        "app/db.py",
        """
        import sqlite3
        import redis
        from sqlalchemy import create_engine
        from sqlalchemy.orm import sessionmaker, Session
        from sqlalchemy.ext.asyncio import create_async_engine, async_sessionmaker
        from app.core.db import SessionLocal as ImportedFactory

        engine = create_engine("sqlite://")
        async_engine = create_async_engine("sqlite+aiosqlite://")
        SessionLocal = sessionmaker(bind=engine)
        AsyncSessionLocal = async_sessionmaker(async_engine)
        session = SessionLocal()
        other_session = Session(engine)
        imported_session = ImportedFactory()
        connection = engine.connect()
        raw = sqlite3.connect("x.db")
        cache = redis.Redis(host="localhost")
        settings = dict(a=1)

        def get_db():
            local = SessionLocal()
            return local
        """,
    )
    kinds = {name: binding.kind for name, binding in summary.sessions.items()}
    assert kinds == {
        "engine": "engine",
        "async_engine": "engine",
        "SessionLocal": "sessionmaker",
        "AsyncSessionLocal": "sessionmaker",
        "session": "session",
        "other_session": "session",
        "imported_session": "session",
        "connection": "connection",
        "raw": "connection",
        "cache": "redis",
    }
    assert summary.sessions["engine"].factory == "sqlalchemy.create_engine" and summary.sessions["engine"].line == 9


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("from slowapi import Limiter\nlimiter = Limiter(key_func=None)\n", True),
        ("from flask_limiter import Limiter\n", True),
        ("from fastapi_limiter.depends import RateLimiter\n", True),
        ("from django_ratelimit.decorators import ratelimit\n", True),
        ("from rest_framework import throttling\n", True),
        ("REST_FRAMEWORK = {'DEFAULT_THROTTLE_CLASSES': ['x'], 'PAGE_SIZE': 10}\n", True),
        ("from fastapi import FastAPI\nimport aiolimiter\n", False),
        ("REST_FRAMEWORK = {'PAGE_SIZE': 10}\n", False),
    ],
)
def test_rate_limiter_detection(source: str, expected: bool) -> None:
    summary = summary_of("app/settings.py", source)
    assert summary.has_limiter is expected
    if expected:
        assert summary.limiter_line == 1


def test_exception_classes_and_symbols() -> None:
    summary = summary_of(
        "app/core/errors.py",
        """
        class AppError(Exception):
            pass
        class NotFound(AppError):
            pass
        class Conflict(ValueError):
            pass
        class Helper:
            pass
        def handler(): ...
        """,
    )
    assert summary.exception_classes == ["AppError", "NotFound", "Conflict"]
    assert summary.defines_exceptions
    assert summary.symbols == {"AppError": 2, "NotFound": 4, "Conflict": 6, "Helper": 8, "handler": 10}


def test_summary_pickles() -> None:
    summary = summary_of("app/models.py", SQLALCHEMY_2)
    assert pickle.loads(pickle.dumps(summary)) == summary


def test_pathological_but_valid_code_is_summarised() -> None:
    chain = " + ".join(["1"] * 900)
    source = (
        "from sqlalchemy import Column, Integer\nfrom app.db import Base\n"
        f"class Thing(Base):\n    __tablename__ = 'things'\n    n = Column(Integer, default={chain})\n"
        + "x = 1\n" * 3000
    )
    source += f"from fastapi import APIRouter\nrouter = APIRouter()\n@router.get('/' + {chain})\ndef f(): ...\n"
    summary = summary_of("app/models.py", source)
    assert summary.models[0].columns["n"].type == "Integer"
    assert [r.handler for r in summary.routes] == ["f"]


# --------------------------------------------------------------------------
# active-record ORMs the rules need model names from


def test_peewee_models() -> None:
    summary = summary_of(
        "models.py",
        """
        from peewee import CharField, ForeignKeyField, Model, SqliteDatabase, TextField
        database = SqliteDatabase("notes.db")

        class BaseModel(Model):
            class Meta:
                database = database

        class User(BaseModel):
            name = CharField(unique=True)

        class Note(BaseModel):
            text = TextField(null=True)
            author = ForeignKeyField(User, backref="notes")
            class Meta:
                table_name = "notes"
        """,
    )
    models = {m.name: m for m in summary.models}
    assert set(models) == {"User", "Note"}  # BaseModel only carries Meta.database
    user, note = models["User"], models["Note"]
    assert (user.orm, user.table) == ("peewee", "user")
    assert user.columns["id"].implicit and user.columns["name"].unique
    assert note.table == "notes" and note.columns["text"].nullable is True
    assert note.columns["author"].foreign_key == "user.id" and note.columns["author"].column_name == "author_id"
    author = note.relationships["author"]
    assert (author.target, author.uselist, author.related_name) == ("User", False, "notes")


def test_tortoise_models() -> None:
    summary = summary_of(
        "app/models/events.py",
        """
        from tortoise import fields
        from tortoise.models import Model

        class Team(Model):
            name = fields.CharField(max_length=20)

        class Event(Model):
            id = fields.IntField(primary_key=True)
            team = fields.ForeignKeyField("models.Team", related_name="events")
            participants = fields.ManyToManyField("models.Team")
            class Meta:
                table = "event_table"
        """,
    )
    models = {m.name: m for m in summary.models}
    assert models["Team"].orm == "tortoise" and models["Team"].columns["id"].implicit
    event = models["Event"]
    assert event.table == "event_table" and not event.columns["id"].implicit
    assert event.relationships["team"].target == "Team" and event.relationships["team"].uselist is False
    assert event.relationships["participants"].uselist is True and "participants" not in event.columns


def test_prefixes_given_by_constant_or_expression() -> None:
    summary = summary_of(
        "app/main.py",
        """
        from fastapi import APIRouter, FastAPI
        from app.core.config import settings
        PREFIX = "/items"
        app = FastAPI()
        router = APIRouter(prefix=PREFIX)
        @router.get("/{id}")
        def read(id: int): ...
        app.include_router(router, prefix=settings.API_V1_STR)
        """,
    )
    assert [r.path for r in summary.routes] == ["/{settings.API_V1_STR}/items/{id}"]
