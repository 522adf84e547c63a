import os

from litestar import Litestar
from tortoise.contrib.starlette import register_tortoise  # noqa: F401 (kept for the docs example)

from app.controllers.books import BookController

app = Litestar(route_handlers=[BookController])
TORTOISE_ORM = {
    "connections": {"default": os.environ["DATABASE_URL"]},
    "apps": {"models": {"models": ["app.models.books"], "default_connection": "default"}},
}
