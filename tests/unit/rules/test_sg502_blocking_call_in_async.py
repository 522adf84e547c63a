"""SG502 blocking-call-in-async: blocking calls and sync handles, what
runs inside the coroutine versus in a thread or a nested function, and
handles created in other modules (via the workspace index)."""

from __future__ import annotations

import textwrap

import pytest
from stackguard.analysis.engine import Engine
from stackguard.analysis.index import WorkspaceIndex
from stackguard.analysis.source import parse_source
from stackguard.config import Settings


def lint(code: str, *, path: str = "app/services/things.py", layer: str = "service", index: WorkspaceIndex | None = None):
    source = parse_source(f"/p/{path}", path, textwrap.dedent(code))
    assert source.tree is not None
    result = Engine(Settings(select=["SG502"])).check(source, layer, index=index)
    assert not result.rule_errors
    return result.findings


def lines(code: str, **kwargs) -> list[int]:
    return [f.line for f in lint(code, **kwargs)]


def in_async(imports: str, body: str) -> str:
    return f"{imports}\n\n\nasync def handler(url):\n    {body}\n"


@pytest.mark.parametrize(
    ("imports", "body", "category"),
    [
        ("import requests", "requests.post(url, json={})", "http"),
        ("import requests as rq", "rq.get(url)", "http"),
        ("from requests import get", "get(url)", "http"),
        ("import httpx", "httpx.get(url)", "http"),
        ("from urllib.request import urlopen", "urlopen(url)", "http"),
        ("import time", "time.sleep(2)", "sleep"),
        ("from time import sleep", "sleep(2)", "sleep"),
        ("import subprocess", "subprocess.check_output(['ls'])", "subprocess"),
        ("import os", "os.system('ls')", "subprocess"),
        ("import shutil", "shutil.rmtree(url)", "file"),
        ("import psycopg2", "psycopg2.connect(url)", "driver"),
        ("import smtplib", "smtplib.SMTP(url)", "smtp"),
    ],
)
def test_blocking_functions(imports, body, category):
    (finding,) = lint(in_async(imports, body))
    assert finding.data["category"] == category and finding.line == 5


@pytest.mark.parametrize(
    ("imports", "body"),
    [
        ("import requests", "with requests.Session() as s:\n        s.get(url)"),
        ("import httpx", "client = httpx.Client()\n    client.get(url)"),
        ("import httpx", "with httpx.Client() as c:\n        c.stream('GET', url)"),
        ("from sqlalchemy.orm import Session", "with Session(engine) as s:\n        s.execute(q)"),
        ("import redis", "r = redis.Redis.from_url(url)\n    r.set('k', 1)"),
    ],
)
def test_sync_handles_in_the_function(imports, body):
    findings = lint(in_async(imports, body))
    assert len(findings) == 1 and findings[0].line == 6


@pytest.mark.parametrize(
    ("imports", "body"),
    [
        ("import asyncio", "await asyncio.sleep(1)"),
        ("import httpx", "async with httpx.AsyncClient() as c:\n        await c.get(url)"),
        ("import redis.asyncio as redis", "r = redis.from_url(url)\n    await r.get('k')"),
        ("import asyncio\nimport requests", "await asyncio.to_thread(requests.get, url)"),
        ("import asyncio\nimport requests", "await asyncio.get_running_loop().run_in_executor(None, requests.get, url)"),
        ("import functools\nimport asyncio\nimport requests", "await asyncio.get_running_loop().run_in_executor(None, functools.partial(requests.get, url))"),
        ("import anyio\nimport time", "await anyio.to_thread.run_sync(time.sleep, 1)"),
        ("from asgiref.sync import sync_to_async\nimport requests", "await sync_to_async(requests.get)(url)"),
        ("import requests", "fetch = lambda: requests.get(url)"),
        ("import requests", "def fetch():\n        return requests.get(url)"),
        ("import requests", "class Fetcher:\n        def run(self):\n            return requests.get(url)"),
        ("from sqlalchemy.ext.asyncio import AsyncSession", "async with AsyncSession(engine) as s:\n        await s.execute(q)"),
        ("", "open(url).read()"),
        ("import requests", "s = requests.Session()\n    s = make_async()\n    await s.get(url)"),
        ("from sqlalchemy.orm import Session", "s = Session(engine)\n    s.add(item)"),  # add() does no I/O
    ],
)
def test_quiet(imports, body):
    assert lint(in_async(imports, body)) == []


def test_dbapi_connections_and_cursors():
    code = """
    import sqlite3


    async def handler(path):
        conn = sqlite3.connect(path)
        conn.cursor().execute("SELECT 1")
        sqlite3.connect(path).cursor().executemany("INSERT", [])
        cur = conn.cursor()
        cur.execute("SELECT 2")
        cur.fetchall()
        conn.commit()
    """
    assert lines(code) == [6, 7, 8, 8, 10, 12]


def test_sync_functions_and_excluded_layers():
    code = "import time\n\n\ndef handler():\n    time.sleep(1)\n"
    assert lint(code) == []
    async_code = "import time\n\n\nasync def handler():\n    time.sleep(1)\n"
    assert lint(async_code, path="tests/test_x.py", layer="test") == []
    assert lint(async_code, path="migrations/x.py", layer="migration") == []
    assert len(lint(async_code, path="app/main.py", layer="other")) == 1


def test_sync_session_parameters_and_aliases():
    code = """
    from typing import Annotated, Optional
    from fastapi import Depends
    from sqlalchemy.ext.asyncio import AsyncSession
    from sqlalchemy.orm import Session

    SessionDep = Annotated[Session, Depends(get_db)]
    AsyncDep = Annotated[AsyncSession, Depends(get_async_db)]


    async def a(db: Session) -> None:
        db.execute(q)


    async def b(db: SessionDep) -> None:
        db.commit()


    async def c(db: Optional[Session] = None) -> None:
        db.get(Item, 1)


    async def d(db: "Session | None") -> None:
        db.refresh(item)


    async def e(db: AsyncDep) -> None:
        await db.execute(q)
        db.add(item)


    async def f(db: AsyncSession) -> None:
        db.expunge(item)
    """
    assert lines(code) == [12, 16, 20, 24]


def test_module_level_handles_and_sessionmaker():
    code = """
    import redis
    from pymongo import MongoClient
    from sqlalchemy import create_engine
    from sqlalchemy.orm import sessionmaker

    engine = create_engine(URL)
    SessionLocal = sessionmaker(bind=engine)
    cache = redis.StrictRedis(host=HOST)
    mongo = MongoClient(URL)


    async def handler() -> None:
        with SessionLocal() as db:
            db.query(Item).all()
        with engine.begin() as conn:
            conn.execute(q)
        cache.incr("hits")
        mongo["app"]["items"].insert_one({})
        mongo.app.items.with_options(x=1)
        cache.pipeline()
    """
    assert lines(code) == [15, 17, 18, 19]


def test_handles_from_other_modules_through_the_index():
    index = WorkspaceIndex()
    for relative, text in {
        "app/cache.py": "import redis\nimport redis.asyncio as aredis\nsync_cache = redis.Redis.from_url(URL)\nasync_cache = aredis.from_url(URL)\n",
        "app/db.py": "from sqlalchemy import create_engine\nfrom sqlalchemy.orm import sessionmaker\nengine = create_engine(URL)\nSessionLocal = sessionmaker(bind=engine)\n",
    }.items():
        index.update_tree(relative, parse_source(f"/p/{relative}", relative, text).tree)
    code = """
    from app.cache import async_cache, sync_cache
    from app.db import SessionLocal


    async def handler() -> None:
        sync_cache.get("k")
        await async_cache.get("k")
        with SessionLocal() as db:
            db.scalars(q)
    """
    assert lines(code, index=index) == [7, 10]
    assert lines(code) == []  # without the index: nothing is known about them


def test_message_points_at_the_async_client_already_in_use():
    code = """
    import httpx
    import requests


    async def a() -> None:
        requests.get(URL)


    async def b() -> None:
        async with httpx.AsyncClient() as client:
            await client.get(URL)
    """
    (finding,) = lint(code)
    assert "use the `httpx.AsyncClient` this module already uses" in finding.message

    index = WorkspaceIndex()
    index.update_tree("app/http.py", parse_source("/p/app/http.py", "app/http.py", "from httpx import AsyncClient\nclient = AsyncClient()\n").tree)
    (elsewhere,) = lint("import requests\n\n\nasync def a() -> None:\n    requests.get(URL)\n", index=index)
    assert "use the `httpx.AsyncClient` the project already uses" in elsewhere.message


def test_fix_titles():
    (sleep,) = lint(in_async("import time", "time.sleep(1)"))
    assert sleep.fix_title == "Replace with `await asyncio.sleep(...)`" and not sleep.fixable
    (http,) = lint(in_async("import requests", "requests.get(url)"))
    assert http.fix_title == "Run it in a worker thread with `await asyncio.to_thread(...)`" and not http.fixable
    assert http.data == {"call": "requests.get()", "category": "http", "function": "handler", "sleep": False}


def test_decorators_defaults_and_annotations_are_not_inside_the_coroutine():
    code = """
    import redis
    import requests

    cache = redis.Redis(host=HOST)
    http = requests.Session()


    @cache.get("decorator-key")
    async def handler(token=http.get(URL), limit: int = cache.get("limit")) -> None:
        cache.get("k")
    """
    assert lines(code) == [11]


def test_annotated_sync_clients():
    code = """
    import sqlite3
    from typing import Optional

    import requests
    from pymongo.collection import Collection
    from redis import Redis
    from sqlalchemy import Connection


    async def handler(http: requests.Session, cache: "Redis", items: Collection, conn: Optional[sqlite3.Connection], sa: Connection) -> None:
        http.get(URL)
        cache.get("k")
        items.find_one({})
        conn.execute("SELECT 1")
        sa.execute(q)
    """
    assert lines(code) == [12, 13, 14, 15, 16]


def test_locals_and_parameters_shadow_module_handles():
    code = """
    import redis

    cache = redis.Redis(host=HOST)


    async def local_dict(key: str) -> None:
        cache = {}
        cache.get(key)


    async def parameter(cache, key: str) -> None:
        cache.get(key)


    async def ambiguous(key: str) -> None:
        client = redis.Redis(host=HOST)
        if key:
            client = make_async_client()
        await client.get(key)
        client.set(key, 1)


    async def module_one(key: str) -> None:
        cache.get(key)
    """
    assert lines(code) == [25]
