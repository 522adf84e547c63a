"""SG204 shared-session: instances versus factories and pools, where an
instance can hide (class bodies, globals, default arguments, guarded
blocks) and which files are out of scope."""

from __future__ import annotations

import textwrap

import pytest
from stackguard.analysis.engine import Engine
from stackguard.analysis.source import parse_source
from stackguard.config import Settings


def lint(code: str, *, path: str = "app/db.py", layer: str = "other"):
    source = parse_source(f"/p/{path}", path, textwrap.dedent(code))
    assert source.tree is not None
    result = Engine(Settings(select=["SG204"])).check(source, layer)
    assert not result.rule_errors
    return [(f.line, f.data["name"], f.data["kind"]) for f in result.findings]


@pytest.mark.parametrize(
    "code",
    [
        "from sqlalchemy import create_engine\nengine = create_engine(URL)\n",
        "from sqlalchemy.orm import sessionmaker\nSession = sessionmaker()\n",
        "from sqlalchemy.ext.asyncio import async_sessionmaker\nmaker = async_sessionmaker(engine)\n",
        "from sqlalchemy.orm import scoped_session, sessionmaker\ndb_session = scoped_session(sessionmaker())\n",
        "from flask_sqlalchemy import SQLAlchemy\ndb = SQLAlchemy()\nsession = db.session\n",
        "import asyncpg\npool = None\n\nasync def init():\n    global pool\n    pool = await asyncpg.create_pool(DSN)\n",
        "from psycopg_pool import ConnectionPool\npool = ConnectionPool(DSN)\n",
        "import redis\ncache = redis.Redis(host='cache')\n",
        "from sqlalchemy.orm import Session\nsession: Session\n",
        "from app.db import SessionLocal\nwith SessionLocal() as session:\n    session.execute(STMT)\n",
        "from app.db import SessionLocal\n\ndef handler():\n    session = SessionLocal()\n    return session\n",
    ],
)
def test_factories_pools_and_local_sessions_are_quiet(code):
    assert lint(code) == []


def test_calling_a_module_level_factory_or_registry():
    assert lint(
        """
        from sqlalchemy.orm import scoped_session, sessionmaker

        Factory = sessionmaker()
        Registry = scoped_session(Factory)
        one = Factory()
        two = Registry()
        """
    ) == [(6, "one", "session"), (7, "two", "session")]


def test_imported_factory_names_and_sqlalchemy_session_class():
    assert lint(
        """
        from sqlalchemy.orm import Session
        from app.database import SessionLocal, engine

        a = SessionLocal()
        b = Session(engine)
        c = engine.connect()
        """
    ) == [(5, "a", "session"), (6, "b", "session"), (7, "c", "connection")]


def test_connections_and_cursors():
    assert lint(
        """
        import sqlite3
        from django.db import connection

        conn = sqlite3.connect("app.db", check_same_thread=False)
        cur = conn.cursor()
        dj = connection.cursor()
        """
    ) == [(5, "conn", "connection"), (6, "cur", "cursor"), (7, "dj", "cursor")]


def test_guarded_blocks_run_at_import_but_main_guard_does_not():
    assert lint(
        """
        import sqlite3

        try:
            conn = sqlite3.connect("app.db")
        except sqlite3.Error:
            conn = None

        if __name__ == "__main__":
            script = sqlite3.connect("app.db")
        """
    ) == [(5, "conn", "connection")]


def test_class_attribute_global_and_default_argument():
    findings = lint(
        """
        from app.db import SessionLocal

        class Repo:
            session = SessionLocal()

        _cached = None

        def cached():
            global _cached
            _cached = SessionLocal()
            return _cached

        def run(db=SessionLocal()):
            return db
        """
    )
    assert findings == [(5, "session", "session"), (11, "_cached", "session"), (14, None, "session")]


def test_messages_name_the_place():
    source = parse_source("/p/app/repo.py", "app/repo.py", "from app.db import SessionLocal\n\nclass Repo:\n    session = SessionLocal()\n")
    (finding,) = Engine(Settings(select=["SG204"])).check(source, "repository").findings
    assert finding.message.startswith("`session` is a session (`SessionLocal()`) stored as a class attribute of `Repo`")


@pytest.mark.parametrize(("path", "layer"), [("tests/conftest.py", "test"), ("migrations/env.py", "migration")])
def test_tests_and_migrations_are_out_of_scope(path, layer):
    assert lint("import sqlite3\nconn = sqlite3.connect(':memory:')\n", path=path, layer=layer) == []


def test_session_classes_of_other_libraries_are_not_db_sessions():
    assert lint("from boto3.session import Session\nimport requests\n\ns3 = Session()\nhttp = requests.Session()\n") == []


def test_imported_factory_is_resolved_through_the_index():
    from stackguard.analysis.index import WorkspaceIndex

    index = WorkspaceIndex()
    db = "from sqlalchemy.orm import sessionmaker\nfrom sqlalchemy import create_engine\nengine = create_engine('sqlite://')\nSession = sessionmaker(engine)\nSessionLocal = None\n"
    index.update_tree("app/db.py", parse_source("/p/app/db.py", "app/db.py", db).tree)
    code = "from app.db import Session, SessionLocal, engine\n\na = Session()\nb = SessionLocal()\n"
    source = parse_source("/p/app/state.py", "app/state.py", code)
    findings = Engine(Settings(select=["SG204"])).check(source, "other", index=index, module="app.state").findings
    # `Session` is a sessionmaker there; `SessionLocal` is not a factory in that module.
    assert [(f.line, f.data["name"]) for f in findings] == [(3, "a")]
