"""SG401 hardcoded-config: what counts as a backing-service address, where
a literal stays quiet (SQLite, placeholders, env fallbacks, settings
defaults, dev/test settings), and that a URL's password never reaches the
message."""

from __future__ import annotations

import textwrap

import pytest
from stackguard.analysis.engine import Engine
from stackguard.analysis.source import parse_source
from stackguard.config import Settings
from stackguard.rules.sg401_hardcoded_config import classify_address, mask


def lint(code: str, *, path: str = "app/db.py", layer: str = "other"):
    source = parse_source(f"/p/{path}", path, textwrap.dedent(code))
    assert source.tree is not None
    result = Engine(Settings(select=["SG401"])).check(source, layer)
    assert not result.rule_errors
    return result.findings


def lines(code: str, **kwargs) -> list[int]:
    return [f.line for f in lint(code, **kwargs)]


@pytest.mark.parametrize(
    ("value", "url_only", "expected"),
    [
        ("postgresql://localhost/app", True, ("url", "postgresql://localhost/app")),
        ("postgresql+asyncpg://app:hunter2@db:5432/app", True, ("url", "postgresql+asyncpg://app:***@db:5432/app")),
        ("redis://:p4ss@cache:6379/0", True, ("url", "redis://:***@cache:6379/0")),
        ("mongodb://db/app?authSource=admin&password=hunter2&ssl=true", True, ("url", "mongodb://db/app?authSource=admin&password=***&ssl=true")),
        ("host=db.internal dbname=app user=app", True, ("host", "db.internal")),
        ("dbname=app user=app", True, None),  # libpq conninfo without a host: the local socket
        ("host=/var/run/postgresql dbname=app", True, None),
        ("sqlite:///:memory:", True, None),
        ("sqlite+aiosqlite:///./app.db", True, None),
        ("memory://", True, None),
        ("cache+memory://", True, None),
        ("db+sqlite:///results.db", True, None),
        ("redis://", True, None),
        ("${DATABASE_URL}", True, None),
        ("<your-database-url>", True, None),
        ("postgresql://{user}:{password}@{host}/app", True, None),
        ("", False, None),
        ("10.0.0.5", False, ("host", "10.0.0.5")),
        ("localhost", False, ("host", "localhost")),
        ("localhost", True, None),  # a URL slot: a bare word is not a URL
        ("/tmp/redis.sock", False, None),
    ],
)
def test_classify_address(value, url_only, expected):
    assert classify_address(value, url_only=url_only) == expected


def test_mask_shortens_long_urls():
    shown = mask("postgresql://app:secret@" + "x" * 100 + "/db")
    assert "secret" not in shown and len(shown) == 60 and shown.endswith("…")


def test_password_never_in_message_or_data():
    findings = lint(
        """
        from sqlalchemy import create_engine
        DSN = "postgresql://admin:Sup3rS3cret!@db.prod/app"
        engine = create_engine(DSN)
        other = create_engine("mysql://root:Sup3rS3cret!@mysql/app")
        """
    )
    assert len(findings) == 2
    for finding in findings:
        assert "Sup3rS3cret" not in finding.message
        assert "Sup3rS3cret" not in repr(finding.data)
        assert ":***@" in finding.message


@pytest.mark.parametrize(
    "code",
    [
        "import psycopg\nconn = psycopg.connect('host=db.internal dbname=app')\n",
        "import psycopg2\nconn = psycopg2.connect(host='db.internal', dbname='app')\n",
        "from kafka import KafkaProducer\np = KafkaProducer(bootstrap_servers=['kafka-1:9092', 'kafka-2:9092'])\n",
        "from pymemcache.client.base import Client\nc = Client(('memcached.internal', 11211))\n",
        "import pika\nparams = pika.ConnectionParameters('rabbit.internal')\n",
        "from elasticsearch import Elasticsearch\nes = Elasticsearch('http://search.internal:9200')\n",
        "import aiosmtplib\nsmtp = aiosmtplib.SMTP(hostname='smtp.internal', port=25)\n",
        "from sqlalchemy import URL\nurl = URL.create('postgresql', host='db.internal', database='app')\n",
        "from redis import asyncio as aioredis\nr = aioredis.from_url('redis://cache/0')\n",
        "from flask import Flask\napp = Flask(__name__)\napp.config.update({'SQLALCHEMY_DATABASE_URI': 'postgresql://db/app'})\n",
        "celery_app.conf.broker_url = 'amqp://rabbit//'\n",
    ],
)
def test_addresses_in_other_clients_and_config(code):
    assert len(lint(code)) == 1, code


@pytest.mark.parametrize(
    "code",
    [
        # a constant rebound later is not a constant
        "from sqlalchemy import create_engine\nURL = 'postgresql://db/app'\nURL = get_url()\nengine = create_engine(URL)\n",
        # rebound through `global`
        "from sqlalchemy import create_engine\nURL = 'postgresql://db/app'\ndef load():\n    global URL\n    URL = read()\nengine = create_engine(URL)\n",
        # a local function with the same name as a constructor
        "def create_engine(url):\n    return url\nengine = create_engine('postgresql://db/app')\n",
        # the port alone, with the host from settings
        "import redis\nr = redis.Redis(host=settings.redis_host, port=6380)\n",
        # sqlite3 file databases are not a backing service
        "import sqlite3\nconn = sqlite3.connect('app.db')\n",
        # a non-address key in config
        "app.config['SQLALCHEMY_ECHO'] = True\napp.config['SECRET_KEY'] = 'x'\n",
        # env fallback
        "import os\nimport redis\nr = redis.from_url(os.getenv('REDIS_URL', 'redis://localhost:6379/0'))\n",
    ],
)
def test_quiet(code):
    assert lint(code) == []


def test_settings_module_that_reads_env_is_quiet_and_one_that_does_not_is_checked():
    reads_env = """
    import os
    DEBUG = os.environ.get("DEBUG") == "1"
    DATABASE_URL = "postgresql://db.internal/app"
    """
    hardcoded = """
    DATABASE_URL = "postgresql://db.internal/app"
    REDIS_URL = "redis://cache.internal:6379/0"
    API_URL = "https://api.example.com"
    """
    assert lint(reads_env, path="app/config.py", layer="config") == []
    assert lines(hardcoded, path="app/config.py", layer="config") == [2, 3]  # API_URL is not a backing service


def test_flask_config_classes_skip_dev_and_test_variants():
    code = """
    class Config:
        SQLALCHEMY_DATABASE_URI = "postgresql://db.prod/app"


    class DevelopmentConfig(Config):
        SQLALCHEMY_DATABASE_URI = "postgresql://localhost/dev"


    class TestingConfig(Config):
        SQLALCHEMY_DATABASE_URI = "postgresql://localhost/test"
    """
    assert lines(code, path="app/config.py", layer="config") == [3]


@pytest.mark.parametrize("path", ["mysite/settings/local.py", "mysite/settings/dev.py", "app/test_settings.py", "config/settings_ci.py", "scripts/seed.py"])
def test_dev_and_test_settings_modules_are_quiet(path):
    code = "from sqlalchemy import create_engine\nengine = create_engine('postgresql://localhost/app')\n"
    assert lint(code, path=path, layer="config") == []


def test_settings_in_a_function_are_not_settings_module_values():
    code = """
    def defaults():
        DATABASE_URL = "postgresql://db/app"
        return DATABASE_URL
    """
    assert lint(code, path="app/config.py", layer="config") == []


def test_create_app_factory_config_is_flagged():
    code = """
    from flask import Flask


    def create_app():
        app = Flask(__name__)
        app.config["CELERY_BROKER_URL"] = "redis://redis:6379/0"
        return app
    """
    findings = lint(code, path="app/__init__.py")
    assert [f.line for f in findings] == [7]
    assert "Redis URL" in findings[0].message
