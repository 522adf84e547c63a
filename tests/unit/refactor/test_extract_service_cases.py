"""Extract to service on small projects written for one behaviour each:
aliased imports, async handlers, a service class with its session, the
router catching domain errors when no app object is found, DRF with its own
exception handler, and every refusal."""

from __future__ import annotations

import ast
import textwrap
from pathlib import Path

import pytest
from refhelp import (
    apply_fix,
    expect_fix,
    expect_refusal,
    line_of_def,
    view,
    write_project,
)
from stackguard.refactor import extract_to_service

DB = """\
from typing import Annotated

from fastapi import Depends
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column


class Base(DeclarativeBase):
    pass


def get_session():
    raise NotImplementedError


SessionDep = Annotated[Session, Depends(get_session)]
"""
MODELS = """\
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base


class Item(Base):
    __tablename__ = "items"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(unique=True)
    price: Mapped[int] = mapped_column(default=0)
"""
MAIN = """\
from fastapi import FastAPI

from app.routers import items

app = FastAPI()
app.include_router(items.router)
"""


def project(tmp_path: Path, router: str, **extra: str) -> Path:
    files = {
        "app/__init__.py": "",
        "app/db.py": DB,
        "app/models.py": MODELS,
        "app/main.py": MAIN,
        "app/routers/__init__.py": "",
        "app/routers/items.py": textwrap.dedent(router),
    }
    files.update({k.replace("__", "/") + ".py": textwrap.dedent(v) for k, v in extra.items()})
    return write_project(tmp_path, files)


def extract(root: Path, handler: str, relative: str = "app/routers/items.py"):
    return extract_to_service(view(root), relative, line_of_def(root, relative, handler))


def read(root: Path, relative: str) -> str:
    return (root / relative).read_text(encoding="utf-8")


def test_aliased_imports_are_copied_with_their_aliases(tmp_path: Path) -> None:
    root = project(
        tmp_path,
        """\
        import sqlalchemy as sa
        from fastapi import APIRouter
        from fastapi import HTTPException as HTTPError
        from app.db import SessionDep
        from app.models import Item as ItemModel

        router = APIRouter()


        @router.get("/items/{name}")
        def item_by_name(name: str, session: SessionDep) -> ItemModel:
            item = session.scalar(sa.select(ItemModel).where(ItemModel.name == name))
            if item is None:
                raise HTTPError(404, "No such item")
            return item
        """,
    )
    apply_fix(expect_fix(extract(root, "item_by_name")))
    service = read(root, "app/services/items.py")
    assert "import sqlalchemy as sa\n" in service
    assert "from app.models import Item as ItemModel\n" in service
    assert "def item_by_name(session: Session, name: str) -> ItemModel:" in service
    assert 'raise NotFoundError("No such item")' in service
    assert "HTTPError" not in service
    router = read(root, "app/routers/items.py")
    assert "return items_service.item_by_name(session, name)" in router
    # Names the handler no longer uses are gone; the aliased model stays (return annotation).
    assert "import sqlalchemy as sa" not in router and "HTTPError" not in router
    assert "from app.models import Item as ItemModel" in router


def test_async_handler_gets_an_async_service_it_awaits(tmp_path: Path) -> None:
    root = project(
        tmp_path,
        """\
        from fastapi import APIRouter, HTTPException
        from sqlalchemy import select
        from sqlalchemy.ext.asyncio import AsyncSession
        from app.models import Item

        router = APIRouter()


        @router.post("/items/{item_id}/discount")
        async def discount(item_id: int, percent: int, session: AsyncSession) -> Item:
            item = await session.get(Item, item_id)
            if item is None:
                raise HTTPException(status_code=404, detail="Item not found")
            item.price = item.price - item.price * percent // 100
            await session.commit()
            return item
        """,
    )
    apply_fix(expect_fix(extract(root, "discount")))
    service = read(root, "app/services/items.py")
    assert "async def discount(session: AsyncSession, item_id: int, percent: int) -> Item:" in service
    assert "from sqlalchemy.ext.asyncio import AsyncSession" in service
    assert "await session.commit()" in service
    assert "return await items_service.discount(session, item_id, percent)" in read(root, "app/routers/items.py")


def test_service_class_with_its_session_is_extended(tmp_path: Path) -> None:
    root = project(
        tmp_path,
        """\
        from fastapi import APIRouter
        from app.db import SessionDep
        from app.models import Item

        router = APIRouter()


        @router.post("/items")
        def create_item(name: str, session: SessionDep) -> Item:
            item = Item(name=name.strip())
            session.add(item)
            session.commit()
            return item
        """,
        app__services__items="""\
        from sqlalchemy.orm import Session

        from app.models import Item


        class ItemService:
            def __init__(self, db: Session) -> None:
                self._db = db

            def get(self, item_id: int) -> Item | None:
                return self._db.get(Item, item_id)
        """,
    )
    fix = expect_fix(extract(root, "create_item"))
    apply_fix(fix)
    service = read(root, "app/services/items.py")
    tree = ast.parse(service)
    owner = next(n for n in tree.body if isinstance(n, ast.ClassDef))
    assert [f.name for f in owner.body if isinstance(f, ast.FunctionDef)] == ["__init__", "get", "create_item"]
    assert "def create_item(self, name: str) -> Item:" in service
    assert "self._db.add(item)" in service and "self._db.commit()" in service
    router = read(root, "app/routers/items.py")
    assert "from app.services.items import ItemService" in router
    assert "return ItemService(session).create_item(name)" in router


def test_without_an_app_object_the_router_maps_domain_errors_itself(tmp_path: Path) -> None:
    root = project(
        tmp_path,
        """\
        from fastapi import APIRouter, HTTPException, status
        from app.db import SessionDep
        from app.models import Item

        router = APIRouter()


        @router.delete("/items/{item_id}")
        def delete_item(item_id: int, session: SessionDep) -> None:
            item = session.get(Item, item_id)
            if item is None:
                raise HTTPException(status_code=status.HTTP_404_NOT_FOUND, detail="Item not found")
            session.delete(item)
            session.commit()
        """,
    )
    (root / "app/main.py").unlink()
    apply_fix(expect_fix(extract(root, "delete_item")))
    router = read(root, "app/routers/items.py")
    assert "    try:\n        items_service.delete_item(session, item_id)\n    except DomainError as error:\n" in router
    assert "raise HTTPException(status_code=error.status_code, detail=error.detail) from error" in router
    assert "from app.errors import DomainError" in router


def test_drf_with_its_own_exception_handler_catches_in_the_view(tmp_path: Path) -> None:
    files = {
        "manage.py": "",
        "config/__init__.py": "",
        "config/settings.py": 'INSTALLED_APPS = ["rest_framework", "shop"]\nREST_FRAMEWORK = {"EXCEPTION_HANDLER": "config.handlers.custom"}\n',
        "shop/__init__.py": "",
        "shop/apps.py": "",
        "shop/models.py": "from django.db import models\n\n\nclass Order(models.Model):\n    paid = models.BooleanField(default=False)\n",
        "shop/views.py": textwrap.dedent(
            """\
            from rest_framework.decorators import api_view
            from rest_framework.exceptions import NotFound
            from rest_framework.request import Request
            from rest_framework.response import Response

            from shop.models import Order


            @api_view(["POST"])
            def pay(request: Request, pk: int) -> Response:
                order = Order.objects.filter(pk=pk).first()
                if order is None:
                    raise NotFound("Order not found")
                order.paid = True
                order.save()
                return Response({"paid": order.paid})
            """
        ),
    }
    root = write_project(tmp_path, files)
    fix = expect_fix(extract_to_service(view(root), "shop/views.py", line_of_def(root, "shop/views.py", "pay")))
    apply_fix(fix)
    views = read(root, "shop/views.py")
    assert "order = services.pay(pk=pk)" in views
    assert 'return Response({"detail": error.detail}, status=error.status_code)' in views
    assert "def pay(*, pk: int) -> Order:" in read(root, "shop/services.py")
    assert read(root, "config/settings.py").count("EXCEPTION_HANDLER") == 1


def test_get_object_or_404_becomes_a_query_and_a_domain_error(tmp_path: Path) -> None:
    files = {
        "config/__init__.py": "",
        "config/settings.py": 'INSTALLED_APPS = ["rest_framework", "shop"]\n',
        "shop/__init__.py": "",
        "shop/apps.py": "",
        "shop/models.py": "from django.db import models\n\n\nclass Order(models.Model):\n    paid = models.BooleanField(default=False)\n",
        "shop/views.py": textwrap.dedent(
            """\
            from django.shortcuts import get_object_or_404
            from rest_framework.decorators import api_view
            from rest_framework.response import Response

            from shop.models import Order


            @api_view(["POST"])
            def pay(request, pk: int) -> Response:
                order = get_object_or_404(Order, pk=pk)
                order.paid = True
                order.save()
                return Response({"paid": order.paid})
            """
        ),
    }
    root = write_project(tmp_path, files)
    apply_fix(expect_fix(extract_to_service(view(root), "shop/views.py", line_of_def(root, "shop/views.py", "pay"))))
    service = read(root, "shop/services.py")
    assert "order = Order.objects.filter(pk=pk).first()\n    if order is None:\n        raise NotFoundError(\"No Order matches the given query.\")" in service
    assert "get_object_or_404" not in service and "get_object_or_404" not in read(root, "shop/views.py")
    settings = read(root, "config/settings.py")
    assert 'REST_FRAMEWORK = {"EXCEPTION_HANDLER": "config.exception_handlers.domain_exception_handler"}' in settings
    assert "def domain_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:" in read(
        root, "config/exception_handlers.py"
    )


REFUSED = {
    "generator": (
        """\
        @router.get("/items/export")
        def export(session: SessionDep):
            for item in session.scalars(select(Item)):
                yield item.name
        """,
        "export",
        "is a generator",
    ),
    "background-tasks": (
        """\
        @router.post("/items")
        def create(name: str, session: SessionDep, tasks: BackgroundTasks) -> Item:
            item = Item(name=name)
            session.add(item)
            tasks.add_task(print, name)
            session.commit()
            return item
        """,
        "create",
        "background tasks (`tasks`)",
    ),
    "request-in-logic": (
        """\
        @router.put("/items/{item_id}")
        async def rename(item_id: int, request: Request, session: SessionDep) -> Item:
            item = session.get(Item, item_id)
            item.name = request.headers["x-name"]
            session.commit()
            return item
        """,
        "rename",
        "the request (`request`)",
    ),
    "early-return": (
        """\
        @router.get("/items/{name}")
        def find(name: str, session: SessionDep) -> Item | None:
            item = session.scalar(select(Item).where(Item.name == name))
            if item.price == 0:
                return None
            item.price += 1
            return item
        """,
        "find",
        "returns early at line",
    ),
    "global": (
        """\
        COUNT = 0

        @router.get("/items/count")
        def count(session: SessionDep) -> int:
            global COUNT
            COUNT = len(list(session.scalars(select(Item))))
            return COUNT
        """,
        "count",
        "declares `global` names",
    ),
    "router-class": (
        """\
        class Payload:
            name: str

        @router.post("/items")
        def create(session: SessionDep) -> Item:
            item = Item(name=Payload.name)
            session.add(item)
            return item
        """,
        "create",
        "the class `Payload` defined in this router module",
    ),
    "response-building": (
        """\
        @router.get("/items/{name}")
        def find(name: str, session: SessionDep) -> JSONResponse:
            item = session.scalar(select(Item).where(Item.name == name))
            body = JSONResponse({"name": item.name})
            item.price += 1
            session.commit()
            return body
        """,
        "find",
        "uses `JSONResponse` from the web framework",
    ),
}


@pytest.mark.parametrize("case", list(REFUSED))
def test_refusals(tmp_path: Path, case: str) -> None:
    body, handler, reason = REFUSED[case]
    header = """\
    from fastapi import APIRouter, BackgroundTasks, Request
    from fastapi.responses import JSONResponse
    from sqlalchemy import select
    from app.db import SessionDep
    from app.models import Item

    router = APIRouter()


    """
    root = project(tmp_path, textwrap.dedent(header) + textwrap.dedent(body))
    assert reason in expect_refusal(extract(root, handler))


def test_not_a_handler_and_unparsable_files_refuse(tmp_path: Path) -> None:
    root = project(tmp_path, "from fastapi import APIRouter\n\nrouter = APIRouter()\n\n\ndef helper(x: int) -> int:\n    return x + 1\n")
    assert expect_refusal(extract(root, "helper")) == "there is no route handler here"
    (root / "app/routers/broken.py").write_text("def broken(:\n", encoding="utf-8")
    assert expect_refusal(extract_to_service(view(root), "app/routers/broken.py", 1)) == "the file does not parse"
    assert "cannot read" in expect_refusal(extract_to_service(view(root), "app/routers/missing.py", 1))
