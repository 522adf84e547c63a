"""A backing service's URL or host is a literal in code instead of configuration from the environment.

## What it does
Flags a database, cache, broker, SMTP, MongoDB, Kafka or search server
address written as a literal where the client is built:
`create_engine("postgresql://db.internal/app")`,
`redis.Redis(host="10.0.0.5")`, `Celery(broker="amqp://rabbit//")`,
`smtplib.SMTP("smtp.example.com")`, `MongoClient("mongodb://…")`,
`asyncpg.create_pool(dsn="…")`, also through a module-level constant
(`DATABASE_URL = "postgresql://…"` then `create_engine(DATABASE_URL)`).
It also flags the same literals in configuration written in code:
Flask's `app.config["SQLALCHEMY_DATABASE_URI"] = "postgresql://…"`
(and `config.update(...)`), Celery's `app.conf.broker_url = "redis://…"`,
and, in a settings module that reads nothing from the environment, Django's
`DATABASES` host / `CACHES` location and `*_URL` / `*_URI` / `*_DSN`
settings holding a service URL.

Stays quiet on: SQLite (`sqlite://`, `sqlite:///:memory:`, `sqlite3.connect`)
and in-memory transports (`memory://`, `rpc://`, `cache+memory://`);
values read from the environment or a settings object; DSNs assembled from
values (f-strings, `.format`, `URL.create(host=settings.db_host)`), since
the parts come from configuration; `os.environ.get("DATABASE_URL",
"postgresql://localhost/app")`, whose literal is only a local fallback;
field defaults of a pydantic `BaseSettings` class
(`database_url: str = "postgresql://localhost/app"`) — every field of a
settings class is overridden by the environment variable of the same name,
so the default is a development convenience, not a hardcoded address;
settings modules that read the environment (their literals are defaults);
test, development and local settings (`settings/test.py`, `local.py`,
`dev_settings.py`, a `TestingConfig` class); tests and migrations; a
literal port next to a host that comes from configuration (the standard
port); code under `if __name__ == "__main__":`.

A URL's password is masked in the message (`postgresql://app:***@db/app`);
SG301 reports the credential itself.

## Why is this bad?
The same build runs in development, CI, staging and production against
different databases, caches and brokers. An address written into the code
ties the build to one of them: deploying elsewhere needs a code change, a
container reaches `localhost` inside itself instead of the database, and a
test run may talk to a shared server. Backing services are attached
resources chosen by configuration (the twelve-factor app's config and
backing-services factors).

## Example
```python
import redis
from sqlalchemy import create_engine

engine = create_engine("postgresql+psycopg://app@db.internal:5432/app")
cache = redis.Redis(host="10.0.0.5", port=6379)
```

## Use instead
```python
import redis
from pydantic_settings import BaseSettings
from sqlalchemy import create_engine


class Settings(BaseSettings):
    database_url: str
    redis_url: str = "redis://localhost:6379/0"


settings = Settings()
engine = create_engine(settings.database_url)
cache = redis.Redis.from_url(settings.redis_url)
```

## References
- The Twelve-Factor App: [III. Config](https://12factor.net/config), [IV. Backing services](https://12factor.net/backing-services)
- Pydantic: [Settings management](https://docs.pydantic.dev/latest/concepts/pydantic_settings/)
- FastAPI: [Settings and environment variables](https://fastapi.tiangolo.com/advanced/settings/)
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator

from ..analysis.semantics import callee_name, dotted_name, iter_statements
from ..config import LAYER_NAMES
from .base import Rule

# qualified constructor -> (positions that hold the address, keywords that do, service)
_Slots = tuple[tuple[int, ...], frozenset[str], str]


def _slots(positions: tuple[int, ...], keywords: str, service: str) -> _Slots:
    return positions, frozenset(keywords.split()), service


CONSTRUCTORS: dict[str, _Slots] = {
    # databases
    "sqlalchemy.create_engine": _slots((0,), "url", "database"),
    "sqlalchemy.engine.create_engine": _slots((0,), "url", "database"),
    "sqlalchemy.ext.asyncio.create_async_engine": _slots((0,), "url", "database"),
    "sqlmodel.create_engine": _slots((0,), "url", "database"),
    "sqlalchemy.engine.make_url": _slots((0,), "name_or_url", "database"),
    "sqlalchemy.make_url": _slots((0,), "name_or_url", "database"),
    "sqlalchemy.URL.create": _slots((), "host", "database"),
    "sqlalchemy.engine.URL.create": _slots((), "host", "database"),
    "databases.Database": _slots((0,), "url", "database"),
    "asyncpg.create_pool": _slots((0,), "dsn host", "database"),
    "asyncpg.connect": _slots((0,), "dsn host", "database"),
    "psycopg.connect": _slots((0,), "conninfo host", "database"),
    "psycopg.Connection.connect": _slots((0,), "conninfo host", "database"),
    "psycopg.AsyncConnection.connect": _slots((0,), "conninfo host", "database"),
    "psycopg_pool.ConnectionPool": _slots((0,), "conninfo", "database"),
    "psycopg_pool.AsyncConnectionPool": _slots((0,), "conninfo", "database"),
    "psycopg2.connect": _slots((0,), "dsn host", "database"),
    "psycopg2.pool.SimpleConnectionPool": _slots((2,), "dsn host", "database"),
    "psycopg2.pool.ThreadedConnectionPool": _slots((2,), "dsn host", "database"),
    "pymysql.connect": _slots((0,), "host", "database"),
    "MySQLdb.connect": _slots((0,), "host", "database"),
    "mysql.connector.connect": _slots((), "host", "database"),
    "aiomysql.connect": _slots((), "host", "database"),
    "aiomysql.create_pool": _slots((), "host", "database"),
    "aiopg.connect": _slots((0,), "dsn host", "database"),
    "aiopg.create_pool": _slots((0,), "dsn host", "database"),
    "peewee.PostgresqlDatabase": _slots((), "host", "database"),
    "peewee.MySQLDatabase": _slots((), "host", "database"),
    "playhouse.pool.PooledPostgresqlDatabase": _slots((), "host", "database"),
    "playhouse.db_url.connect": _slots((0,), "url", "database"),
    "tortoise.Tortoise.init": _slots((), "db_url", "database"),
    "tortoise.contrib.fastapi.register_tortoise": _slots((), "db_url", "database"),
    # caches
    "redis.Redis": _slots((0,), "host", "Redis"),
    "redis.StrictRedis": _slots((0,), "host", "Redis"),
    "redis.client.Redis": _slots((0,), "host", "Redis"),
    "redis.asyncio.Redis": _slots((0,), "host", "Redis"),
    "redis.ConnectionPool": _slots((), "host", "Redis"),
    "redis.asyncio.ConnectionPool": _slots((), "host", "Redis"),
    "redis.from_url": _slots((0,), "url", "Redis"),
    "redis.Redis.from_url": _slots((0,), "url", "Redis"),
    "redis.StrictRedis.from_url": _slots((0,), "url", "Redis"),
    "redis.asyncio.from_url": _slots((0,), "url", "Redis"),
    "redis.asyncio.Redis.from_url": _slots((0,), "url", "Redis"),
    "redis.ConnectionPool.from_url": _slots((0,), "url", "Redis"),
    "redis.asyncio.ConnectionPool.from_url": _slots((0,), "url", "Redis"),
    "aioredis.from_url": _slots((0,), "url", "Redis"),
    "aioredis.Redis": _slots((0,), "host", "Redis"),
    "aioredis.create_redis_pool": _slots((0,), "address", "Redis"),
    "pymemcache.Client": _slots((0,), "server", "Memcached"),
    "pymemcache.client.base.Client": _slots((0,), "server", "Memcached"),
    # brokers
    "celery.Celery": _slots((), "broker backend", "broker"),
    "kombu.Connection": _slots((0,), "hostname", "broker"),
    "pika.ConnectionParameters": _slots((0,), "host", "RabbitMQ"),
    "pika.URLParameters": _slots((0,), "url", "RabbitMQ"),
    "aio_pika.connect": _slots((0,), "url host", "RabbitMQ"),
    "aio_pika.connect_robust": _slots((0,), "url host", "RabbitMQ"),
    "kafka.KafkaProducer": _slots((), "bootstrap_servers", "Kafka"),
    "kafka.KafkaConsumer": _slots((), "bootstrap_servers", "Kafka"),
    "aiokafka.AIOKafkaProducer": _slots((), "bootstrap_servers", "Kafka"),
    "aiokafka.AIOKafkaConsumer": _slots((), "bootstrap_servers", "Kafka"),
    "nats.connect": _slots((0,), "servers", "NATS"),
    # mail
    "smtplib.SMTP": _slots((0,), "host", "SMTP"),
    "smtplib.SMTP_SSL": _slots((0,), "host", "SMTP"),
    "smtplib.LMTP": _slots((0,), "host", "SMTP"),
    "aiosmtplib.SMTP": _slots((), "hostname", "SMTP"),
    "aiosmtplib.send": _slots((), "hostname", "SMTP"),
    # document stores and search
    "pymongo.MongoClient": _slots((0,), "host", "MongoDB"),
    "pymongo.mongo_client.MongoClient": _slots((0,), "host", "MongoDB"),
    "motor.motor_asyncio.AsyncIOMotorClient": _slots((0,), "host", "MongoDB"),
    "mongoengine.connect": _slots((), "host", "MongoDB"),
    "elasticsearch.Elasticsearch": _slots((0,), "hosts", "Elasticsearch"),
    "elasticsearch.AsyncElasticsearch": _slots((0,), "hosts", "Elasticsearch"),
    "opensearchpy.OpenSearch": _slots((0,), "hosts", "OpenSearch"),
}
# Last name of every constructor: the cheap test before resolving imports.
_LAST_NAMES = frozenset(q.rsplit(".", 1)[-1] for q in CONSTRUCTORS)

# Slots that take a whole URL/DSN (a bare word there is not an address).
_URL_SLOTS = frozenset({"url", "dsn", "conninfo", "db_url", "broker", "backend", "name_or_url"})
# URL scheme words of things that are not a networked backing service.
_LOCAL_SCHEMES = frozenset({"sqlite", "sqlite3", "memory", "rpc", "file", "filesystem", "dummy", "locmem", "mock", "fake", "null", "duckdb"})
# Schemes of networked backing services (a `*_URL` setting holding one is an address).
_SERVICE_SCHEMES = frozenset(
    {
        "postgresql", "postgres", "pgsql", "psycopg", "psycopg2", "asyncpg", "mysql", "mariadb", "mssql", "oracle", "cockroachdb",
        "redis", "rediss", "valkey", "amqp", "amqps", "pyamqp", "librabbitmq", "kafka", "nats", "mongodb", "memcached", "memcache",
        "pymemcache", "smtp", "smtps", "elasticsearch", "sqs", "db", "cache", "pymysql", "aiomysql", "aiopg", "redis+sentinel", "sentinel",
    }
)
_HOST_IN_CONNINFO = re.compile(r"(?:^|\s)host\s*=\s*'?([^\s']+)")
_URL = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*)://(.*)$", re.DOTALL)
_SECRET_PARAMS = re.compile(r"([?&;](?:password|passwd|pass|pwd|secret|token|api_key|apikey|access_key|key)=)[^&;#]*", re.IGNORECASE)
_CREDENTIALS = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*://)([^:@/]*):([^@/]*)@")

# Configuration keys (Flask `app.config[...]`, Celery `app.conf.x`) whose
# value is a backing-service address.
_CONFIG_KEYS = frozenset(
    {
        "sqlalchemy_database_uri", "database_url", "database_uri", "db_url", "redis_url", "cache_redis_url", "celery_broker_url",
        "broker_url", "celery_result_backend", "result_backend", "mongo_uri", "mongodb_uri", "mongodb_url", "mongo_url",
        "amqp_url", "rabbitmq_url", "ratelimit_storage_url", "ratelimit_storage_uri", "session_redis", "elasticsearch_url",
    }
)
_CONFIG_OBJECTS = frozenset({"config", "conf"})
_CONFIG_METHODS = frozenset({"update", "from_mapping"})
_CANDIDATE_NAMES = _LAST_NAMES | _CONFIG_METHODS
# Setting names that hold an address when the value is a service URL.
_SETTING_NAME = re.compile(r"(?:^|_)(?:URL|URI|DSN)$|^BROKER_URL$|_BACKEND$")
# Modules and classes holding development / test settings.
_DEV_WORDS = frozenset({"test", "tests", "testing", "dev", "develop", "development", "local", "ci", "example", "sample"})
_DEV_CLASS = re.compile(r"(Test|Dev|Local|Development|Testing|Example)")
# Signs that a module reads configuration from the environment.
_ENV_READERS = frozenset({"pydantic_settings", "environ", "decouple", "dotenv", "dynaconf", "environs", "envparse", "starlette.config", "django_environ"})


class HardcodedConfig(Rule):
    code = "SG401"
    name = "hardcoded-config"
    default_severity = "warning"
    layers = frozenset(LAYER_NAMES) - {"test", "migration"}
    node_types = (ast.Call,)
    scope = "statement"

    def begin(self) -> None:
        self.quiet = _is_dev_module(self.ctx.source.relative) or (self.ctx.layer == "config" and self._reads_env())
        self.constants: dict[str, ast.Constant] = {}
        self.main_guard: tuple[int, int] | None = None
        if self.quiet:
            return
        for stmt in self.ctx.tree.body:
            if isinstance(stmt, ast.If) and _is_main_guard(stmt.test):
                self.main_guard = (stmt.lineno, stmt.end_lineno or stmt.lineno)
        self._collect_constants()
        # Statement walk only where it can find something: settings modules,
        # and modules that touch a `.config` / `.conf` object.
        if self.ctx.layer == "config" or ".conf" in self.ctx.source.text:
            self._check_config_statements()

    # -- construction calls -------------------------------------------------

    def visit(self, node: ast.AST) -> None:
        if self.quiet:
            return
        assert isinstance(node, ast.Call)
        func = node.func
        last = callee_name(func)
        if last not in _CANDIDATE_NAMES:
            return  # one set test rejects most calls
        if last in _CONFIG_METHODS:
            self._check_config_update(node, func)
            return
        qualified = self.ctx.imports.resolve(func)
        slots = CONSTRUCTORS.get(qualified or "")
        if slots is None or self._under_main_guard(node):
            return
        positions, keywords, service = slots
        candidates: list[tuple[ast.expr, str]] = [(node.args[i], _POSITION_SLOT) for i in positions if i < len(node.args) and not isinstance(node.args[i], ast.Starred)]
        candidates += [(kw.value, kw.arg) for kw in node.keywords if kw.arg in keywords]
        shown = self.ctx.source.segment(func) or last
        for expr, slot in candidates:
            found = self._address(expr, slot)
            if found is None:
                continue
            kind, value, constant = found
            what = "URL" if kind == "url" else "host"
            via = f" through `{constant}`" if constant else ""
            self.report(
                expr,
                f"`{shown}()` gets a hardcoded {service} {what} `{value}`{via}; read it from the environment or the settings object",
                data={"callee": qualified, "service": service, "kind": kind, "value": value, "constant": constant, "slot": slot},
            )
            return  # one finding per construction: the fix is the same for its other literals

    def _address(self, expr: ast.expr, slot: str) -> tuple[str, str, str | None] | None:
        """(kind, masked value, constant name) when ``expr`` is a literal address."""
        constant: str | None = None
        if isinstance(expr, ast.Name) and expr.id in self.constants:
            constant = expr.id
            expr = self.constants[expr.id]
        if isinstance(expr, (ast.Tuple, ast.List)):
            # pymemcache `("cache", 11211)`, Kafka/Elasticsearch host lists
            firsts = [e for e in expr.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)]
            if not firsts:
                return None
            expr = firsts[0]
        if not (isinstance(expr, ast.Constant) and isinstance(expr.value, str)):
            return None
        found = classify_address(expr.value, url_only=slot in _URL_SLOTS)
        if found is None:
            return None
        return found[0], found[1], constant

    def _under_main_guard(self, node: ast.AST) -> bool:
        guard = self.main_guard
        return guard is not None and guard[0] <= getattr(node, "lineno", 0) <= guard[1]

    # -- configuration written in code ----------------------------------------

    def _check_config_update(self, node: ast.Call, func: ast.expr) -> None:
        """``app.config.update(SQLALCHEMY_DATABASE_URI="…")`` and
        ``celery.conf.update(broker_url="…")``."""
        if not isinstance(func, ast.Attribute) or not _is_config_object(func.value) or self._under_main_guard(node):
            return
        for kw in node.keywords:
            if kw.arg and kw.arg.lower() in _CONFIG_KEYS:
                self._report_setting(kw.value, kw.arg)
        for arg in node.args:
            if isinstance(arg, ast.Dict):
                for key, value in zip(arg.keys, arg.values):
                    if isinstance(key, ast.Constant) and isinstance(key.value, str) and key.value.lower() in _CONFIG_KEYS:
                        self._report_setting(value, key.value)

    def _check_config_statements(self) -> None:
        """Assignments: ``app.config["KEY"] = "…"``, ``app.conf.broker_url =
        "…"`` anywhere (a ``create_app`` factory included); in a settings
        module that reads nothing from the environment also ``DATABASES``,
        ``CACHES`` and ``*_URL``-style settings at module or class level."""
        settings_module = self.ctx.layer == "config"
        for stmt, owner in _statements(self.ctx.tree.body):
            if not isinstance(stmt, (ast.Assign, ast.AnnAssign)) or stmt.value is None:
                continue
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
            for target in targets:
                key = _config_target_key(target)
                if key is not None:
                    self._report_setting(stmt.value, key)
                elif settings_module and isinstance(target, ast.Name) and owner != "<function>":
                    if owner is not None and (owner == "<settings>" or _DEV_CLASS.search(owner)):
                        continue
                    self._check_setting(target.id, stmt.value)

    def _check_setting(self, name: str, value: ast.expr) -> None:
        if name == "DATABASES" and isinstance(value, ast.Dict):
            for alias in value.values:
                hosts = _dict_get(alias, "HOST")
                if hosts is not None and isinstance(hosts, ast.Constant) and isinstance(hosts.value, str):
                    engine = _dict_get(alias, "ENGINE")
                    if isinstance(engine, ast.Constant) and "sqlite" in str(engine.value):
                        continue
                    found = classify_address(hosts.value, url_only=False)
                    if found is not None:
                        self._report_literal(hosts, "DATABASES HOST", "database", found)
            return
        if name == "CACHES" and isinstance(value, ast.Dict):
            for alias in value.values:
                location = _dict_get(alias, "LOCATION")
                if isinstance(location, ast.Constant) and isinstance(location.value, str):
                    found = classify_address(location.value, url_only=True)
                    if found is not None:
                        self._report_literal(location, "CACHES LOCATION", "cache", found)
            return
        if name.isupper() and _SETTING_NAME.search(name):
            self._report_setting(value, name)

    def _report_setting(self, value: ast.expr, key: str) -> None:
        if not (isinstance(value, ast.Constant) and isinstance(value.value, str)):
            return
        found = classify_address(value.value, url_only=True)
        if found is None or not _is_service_url(value.value):
            return
        self._report_literal(value, key, _service_of_url(value.value), found)

    def _report_literal(self, value: ast.expr, key: str, service: str, found: tuple[str, str]) -> None:
        kind, shown = found
        what = "URL" if kind == "url" else "host"
        self.report(
            value,
            f"`{key}` is a hardcoded {service} {what} `{shown}`; read it from the environment",
            data={"setting": key, "service": service, "kind": kind, "value": shown, "constant": None, "slot": "setting"},
        )

    # -- module facts -----------------------------------------------------------

    def _collect_constants(self) -> None:
        """Module-level names bound once, to a string literal, and never rebound."""
        counts: dict[str, int] = {}
        values: dict[str, ast.Constant] = {}
        for stmt in self.ctx.tree.body:
            if isinstance(stmt, ast.Assign):
                targets, value = stmt.targets, stmt.value
            elif isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
                targets, value = [stmt.target], stmt.value
            else:
                continue
            for target in targets:
                if isinstance(target, ast.Name):
                    counts[target.id] = counts.get(target.id, 0) + 1
                    if isinstance(value, ast.Constant) and isinstance(value.value, str):
                        values[target.id] = value
        rebound: set[str] = set()
        if "global" in self.ctx.source.text:
            rebound = {name for stmt in iter_statements(self.ctx.tree.body) if isinstance(stmt, ast.Global) for name in stmt.names}
        self.constants = {name: value for name, value in values.items() if counts.get(name) == 1 and name not in rebound}

    def _reads_env(self) -> bool:
        text = self.ctx.source.text
        names = self.ctx.imports.names.values()
        if any(q == reader or q.startswith(reader + ".") for q in names for reader in _ENV_READERS):
            return True
        if any(q in ("os.environ", "os.getenv", "os.environ.get") for q in names):
            return True
        return "os" in self.ctx.imports.names and ("environ" in text or "getenv" in text)


_POSITION_SLOT = "address"


def classify_address(value: str, *, url_only: bool) -> tuple[str, str] | None:
    """("url" | "host", the value with any password masked) when ``value`` is
    the address of a networked service; None for SQLite and in-memory
    transports, empty strings, placeholders and templates. ``url_only``: the
    slot takes a whole URL/DSN, so a bare word is not an address (a
    libpq ``host=…`` conninfo still is)."""
    text = value.strip()
    if not text or _is_placeholder(text):
        return None
    match = _URL.match(text)
    if match is not None:
        scheme, rest = match.group(1).lower(), match.group(2)
        if set(re.split(r"[+.]", scheme)) & _LOCAL_SCHEMES:
            return None
        if not rest.strip("/"):
            return None  # "redis://": the client's built-in default, nothing written down
        return "url", mask(text)
    if "=" in text:  # a libpq conninfo: "host=db.internal dbname=app"
        conninfo = _HOST_IN_CONNINFO.search(text)
        if conninfo is not None and not conninfo.group(1).startswith("/"):
            return "host", conninfo.group(1)[:60]
        return None
    if url_only or text.startswith("/") or " " in text:
        return None  # a unix socket path or prose, not a host
    return "host", text[:60]


def mask(url: str, limit: int = 60) -> str:
    """The URL with its password (in the user info or a ``password=``-style
    query parameter) replaced by ``***``, shortened to ``limit``."""
    masked = _CREDENTIALS.sub(lambda m: f"{m.group(1)}{m.group(2)}:***@", url, count=1)
    masked = _SECRET_PARAMS.sub(lambda m: f"{m.group(1)}***", masked)
    return masked if len(masked) <= limit else masked[: limit - 1] + "…"


def _is_placeholder(text: str) -> bool:
    if text.startswith(("${", "<", "%(", "{{")) or text.endswith(">"):
        return True
    # "postgresql://{user}:{password}@{host}/db" is a template filled later.
    return bool(re.search(r"\{[A-Za-z_][A-Za-z0-9_]*\}|\{\}|%s|%\([a-z_]+\)s", text))


def _is_service_url(text: str) -> bool:
    match = _URL.match(text.strip())
    if match is None:
        return False
    scheme = match.group(1).lower()
    return scheme in _SERVICE_SCHEMES or any(part in _SERVICE_SCHEMES for part in re.split(r"[+]", scheme))


_SERVICE_BY_SCHEME = {
    "redis": "Redis", "rediss": "Redis", "valkey": "Redis", "sentinel": "Redis", "amqp": "broker", "amqps": "broker",
    "pyamqp": "broker", "librabbitmq": "broker", "sqs": "broker", "kafka": "Kafka", "nats": "NATS", "mongodb": "MongoDB",
    "memcached": "Memcached", "memcache": "Memcached", "pymemcache": "Memcached", "smtp": "SMTP", "smtps": "SMTP",
    "elasticsearch": "Elasticsearch",
}


def _service_of_url(text: str) -> str:
    match = _URL.match(text.strip())
    scheme = match.group(1).lower() if match else ""
    for part in re.split(r"[+]", scheme):
        if part in _SERVICE_BY_SCHEME:
            return _SERVICE_BY_SCHEME[part]
    return "database"


def _is_dev_module(relative: str) -> bool:
    """``settings/test.py``, ``local_settings.py``, ``config/dev.py``…"""
    parts = relative.split("/")
    stem = parts[-1].rsplit(".", 1)[0].lower()
    words = set(stem.split("_"))
    if words & _DEV_WORDS and (stem in _DEV_WORDS or words & {"settings", "config", "conf", "configs"}):
        return True
    return any(part.lower() in ("examples", "example", "scripts", "docs") for part in parts[:-1])


def _is_config_object(expr: ast.expr) -> bool:
    """``app.config``, ``current_app.config``, ``celery_app.conf``."""
    return isinstance(expr, ast.Attribute) and expr.attr in _CONFIG_OBJECTS


def _config_target_key(target: ast.expr) -> str | None:
    """The key of ``app.config["KEY"] = …`` / ``app.conf.key = …`` when it is
    a backing-service setting."""
    if isinstance(target, ast.Subscript) and _is_config_object(target.value):
        key = target.slice
        if isinstance(key, ast.Constant) and isinstance(key.value, str) and key.value.lower() in _CONFIG_KEYS:
            return key.value
    if isinstance(target, ast.Attribute) and _is_config_object(target.value) and target.attr.lower() in _CONFIG_KEYS:
        return f"{dotted_name(target.value) or 'conf'}.{target.attr}"
    return None


def _dict_get(expr: ast.expr, key: str) -> ast.expr | None:
    if not isinstance(expr, ast.Dict):
        return None
    for k, v in zip(expr.keys, expr.values):
        if isinstance(k, ast.Constant) and k.value == key:
            return v
    return None


def _statements(body: list[ast.stmt]) -> Iterator[tuple[ast.stmt, str | None]]:
    """Every statement with where it sits: None (module level), a class
    name, ``"<settings>"`` (a pydantic ``BaseSettings`` class: its field
    defaults are overridden by the environment) or ``"<function>"``. Code
    under ``if __name__ == "__main__":`` is left out."""
    stack: list[tuple[ast.stmt, str | None]] = [(stmt, None) for stmt in reversed(body)]
    while stack:
        stmt, owner = stack.pop()
        if isinstance(stmt, ast.If) and _is_main_guard(stmt.test):
            continue
        yield stmt, owner
        children: list[tuple[ast.stmt, str | None]]
        if isinstance(stmt, ast.ClassDef):
            inner: str | None = owner if owner == "<function>" else ("<settings>" if _is_settings_class(stmt) else stmt.name)
            children = [(child, inner) for child in stmt.body]
        elif isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
            children = [(child, "<function>") for child in stmt.body]
        else:
            blocks = [getattr(stmt, name, None) or [] for name in ("body", "orelse", "finalbody")]
            blocks += [handler.body for handler in getattr(stmt, "handlers", None) or ()]
            blocks += [case.body for case in getattr(stmt, "cases", None) or ()]
            children = [(child, owner) for block in blocks for child in block if isinstance(child, ast.stmt)]
        stack.extend(reversed(children))


def _is_settings_class(cls: ast.ClassDef) -> bool:
    return any((dotted_name(base) or "").rsplit(".", 1)[-1] in ("BaseSettings", "Settings") for base in cls.bases)


def _is_main_guard(test: ast.expr) -> bool:
    return (
        isinstance(test, ast.Compare)
        and isinstance(test.left, ast.Name)
        and test.left.id == "__name__"
        and len(test.comparators) == 1
        and isinstance(test.comparators[0], ast.Constant)
        and test.comparators[0].value == "__main__"
    )
