"""SG106 repository-owns-connection: injected resources stay quiet, built
ones are reported, and module-level sessions are left to SG204."""

from __future__ import annotations

import textwrap

from stackguard.analysis.engine import Engine, module_name
from stackguard.analysis.source import parse_source
from stackguard.config import Settings


def check(text: str, relative: str = "app/repositories/items.py", layer: str = "repository"):
    source = parse_source(f"/p/{relative}", relative, textwrap.dedent(text))
    result = Engine(Settings(select=["SG106"])).check(source, layer, module=module_name(relative))
    assert not result.rule_errors
    return result.findings


def test_session_on_an_injected_engine_is_a_unit_of_work():
    text = """\
    from sqlalchemy.orm import Session


    class ItemService:
        def __init__(self, engine):
            self.engine = engine

        def run(self, engine=None):
            with Session(self.engine) as a:
                pass
            with Session(bind=engine) as b:
                pass
    """
    assert check(text, "app/services/items.py", "service") == []


def test_unbound_or_global_sessions_are_reported():
    text = """\
    from sqlalchemy.orm import Session

    from app.db import engine


    def run():
        with Session() as a:
            pass
        with Session(engine) as b:
            pass
    """
    findings = check(text)
    assert [(f.line, f.data["kind"]) for f in findings] == [(7, "session"), (9, "session")]
    assert findings[0].data["function"] == "run"
    assert findings[0].data["scope"] == "function"


def test_module_level_sessions_are_left_to_sg204():
    text = """\
    import sqlite3

    from sqlalchemy.orm import sessionmaker

    from app.db import SessionLocal, engine

    session = SessionLocal()
    conn = sqlite3.connect("app.db")
    Factory = sessionmaker(bind=engine)
    """
    findings = check(text)
    assert [(f.line, f.data["kind"], f.data["scope"]) for f in findings] == [(9, "factory", "module")]
    assert "at module level" in findings[0].message


def test_local_factory_built_at_module_level_is_a_session_source():
    text = """\
    from sqlalchemy.orm import sessionmaker

    from app.db import engine

    Factory = sessionmaker(bind=engine)


    class Repo:
        def get(self, key):
            with Factory() as session:
                return session.get(Item, key)
    """
    findings = check(text)
    assert [(f.line, f.data["kind"]) for f in findings] == [(5, "factory"), (10, "session")]


def test_class_body_resources_are_reported():
    text = """\
    import redis


    class CacheRepository:
        client = redis.Redis(host="cache")
    """
    (finding,) = check(text)
    assert finding.data == {"kind": "client", "call": "redis.Redis", "scope": "class", "function": None}
    assert "in a class body" in finding.message


def test_other_layers_are_not_checked():
    text = """\
    from sqlalchemy import create_engine

    engine = create_engine("postgresql://localhost/app")
    """
    assert check(text, "app/db.py", "other") == []
    assert check(text, "app/routers/x.py", "router") == []
    assert len(check(text, "app/services/x.py", "service")) == 1


def test_project_names_that_merely_look_like_factories():
    text = """\
    from sqlalchemy.orm import Session
    from app.models import UserSession


    def start(user):
        return UserSession(user=user)  # a model, not a session factory
    """
    assert check(text) == []
