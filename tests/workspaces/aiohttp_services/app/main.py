import os

from aiohttp import web

from app.routes.orders import routes
from app.services.db import Database


async def on_startup(app: web.Application) -> None:
    await app["db"].connect()


def create_app() -> web.Application:
    app = web.Application()
    app["db"] = Database(os.environ["DATABASE_URL"])
    app.on_startup.append(on_startup)
    app.add_routes(routes)
    return app


if __name__ == "__main__":
    web.run_app(create_app())
