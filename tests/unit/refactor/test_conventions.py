"""Where generated services and repositories go, and in which style, read
from the project's existing layout."""

from __future__ import annotations

from pathlib import Path

import pytest
from refhelp import view, write_project
from stackguard.refactor.conventions import (
    detect_conventions,
    repository_target,
    resource_of,
    service_alias,
    service_target,
)

ROUTER = "from fastapi import APIRouter\n\nrouter = APIRouter()\n\n\n@router.get('/x')\ndef x() -> int:\n    return 1\n"


def target(tmp_path: Path, files: dict[str, str], router: str, resource: str):
    root = write_project(tmp_path, files)
    project = view(root)
    conventions = detect_conventions(project)
    return service_target(project, conventions, router, resource), conventions


@pytest.mark.parametrize(
    ("files", "router", "expected", "init_files"),
    [
        (  # no services yet: next to the routers folder, as a package like its sibling
            {"app/__init__.py": "", "app/routers/__init__.py": "", "app/routers/items.py": ROUTER},
            "app/routers/items.py",
            "app/services/items.py",
            ("app/services/__init__.py",),
        ),
        (  # a services folder exists (elsewhere in the tree): the new module joins it
            {"src/shop/api/items.py": ROUTER, "src/shop/services/orders.py": "def place() -> None: ...\n"},
            "src/shop/api/items.py",
            "src/shop/services/items.py",
            (),
        ),
        (  # items/service.py per resource package
            {"orders/router.py": ROUTER, "orders/service.py": "def place() -> None: ...\n", "items/router.py": ROUTER},
            "items/router.py",
            "items/service.py",
            (),
        ),
        (  # order_service.py files
            {"app/views.py": ROUTER, "app/order_service.py": "def place() -> None: ...\n"},
            "app/views.py",
            "app/item_service.py",
            (),
        ),
        (  # a single-module app
            {"main.py": ROUTER},
            "main.py",
            "services.py",
            (),
        ),
        (  # an existing module for the resource is extended
            {"app/routers/items.py": ROUTER, "app/domain/services/items.py": "def list_items() -> list: ...\n"},
            "app/routers/items.py",
            "app/domain/services/items.py",
            (),
        ),
    ],
    ids=["default-sibling", "services-folder", "resource-package", "suffix-files", "single-module", "existing-module"],
)
def test_service_location(tmp_path: Path, files: dict[str, str], router: str, expected: str, init_files: tuple[str, ...]) -> None:
    found, _ = target(tmp_path, files, router, "items")
    assert found.relative == expected
    assert found.init_files == init_files
    assert found.exists == (expected in files)


def test_django_app_services_module(tmp_path: Path) -> None:
    files = {
        "shop/__init__.py": "",
        "shop/apps.py": "",
        "shop/models.py": "from django.db import models\n\n\nclass Order(models.Model):\n    paid = models.BooleanField()\n",
        "shop/views.py": "from rest_framework.decorators import api_view\n\n\n@api_view(['GET'])\ndef orders(request):\n    return None\n",
    }
    found, conventions = target(tmp_path, files, "shop/views.py", "orders")
    assert conventions.django and found.relative == "shop/services.py" and found.style == "function"
    (tmp_path / "shop/services").mkdir()
    (tmp_path / "shop/services/__init__.py").write_text("")
    project = view(tmp_path)
    assert service_target(project, detect_conventions(project), "shop/views.py", "orders").relative == "shop/services/orders.py"
    model = project.index.model("Order")
    assert model is not None
    assert repository_target(project, detect_conventions(project), model).relative == "shop/repositories.py"


def test_class_style_and_import_alias_follow_the_project(tmp_path: Path) -> None:
    files = {
        "app/__init__.py": "",
        "app/services/__init__.py": "",
        "app/services/orders.py": "class OrderService:\n    def __init__(self, session) -> None:\n        self.session = session\n",
        "app/routers/__init__.py": "",
        "app/routers/orders.py": "from app.services import orders as order_service\n" + ROUTER,
        "app/routers/items.py": ROUTER,
    }
    found, conventions = target(tmp_path, files, "app/routers/items.py", "items")
    assert conventions.service_style == "class"
    assert found.style == "class" and found.class_name == "ItemService"
    assert conventions.service_alias == "{singular}_service"
    assert service_alias(conventions, found) == "item_service"


def test_repository_location_defaults_next_to_the_models(tmp_path: Path) -> None:
    files = {
        "app/__init__.py": "",
        "app/models.py": "from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column\n\n\nclass Base(DeclarativeBase):\n    pass\n\n\n"
        "class Category(Base):\n    __tablename__ = 'categories'\n    id: Mapped[int] = mapped_column(primary_key=True)\n",
    }
    root = write_project(tmp_path, files)
    project = view(root)
    model = project.index.model("Category")
    assert model is not None
    found = repository_target(project, detect_conventions(project), model)
    assert (found.relative, found.style, found.class_name, found.init_files) == (
        "app/repositories/categories.py",
        "class",
        "CategoryRepository",
        ("app/repositories/__init__.py",),
    )


@pytest.mark.parametrize(
    ("router", "models", "resource"),
    [
        ("app/routers/users.py", [], "users"),
        ("app/api/item_routes.py", [], "items"),
        ("app/views.py", ["BlogPost"], "blog_posts"),
        ("app/api/endpoints.py", [], "app"),
        ("blog/views/posts.py", ["Comment"], "posts"),
    ],
)
def test_resource_names(router: str, models: list[str], resource: str) -> None:
    assert resource_of(router, models) == resource
