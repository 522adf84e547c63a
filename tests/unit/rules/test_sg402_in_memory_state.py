"""SG402 in-memory-state: which writes count as request-time state and
which functions run at import or startup; lru_cache keys."""

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
    result = Engine(Settings(select=["SG402"])).check(source, layer, index=index)
    assert not result.rule_errors
    return result.findings


def lines(code: str, **kwargs) -> list[int]:
    return [f.line for f in lint(code, **kwargs)]


@pytest.mark.parametrize(
    "write",
    [
        "STATE[key] = 1",
        "STATE[key][0] = 1",
        "STATE[key] += 1",
        "del STATE[key]",
        "STATE.update({key: 1})",
        "STATE.setdefault(key, []).append(1)",
        "STATE.pop(key)",
        "STATE.clear()",
        "STATE[key].append(1)",
    ],
)
def test_writes(write):
    code = f"STATE = {{}}\n\n\ndef handle(key):\n    {write}\n"
    assert lines(code) == [5]


@pytest.mark.parametrize(
    "value",
    ["[]", "set()", "dict()", "list()", "collections.deque(maxlen=10)", "collections.OrderedDict()", "collections.Counter()", "defaultdict(list)", "{k: 0 for k in 'ab'}"],
)
def test_container_kinds(value):
    code = f"import collections\nfrom collections import defaultdict\nSTATE = {value}\n\n\ndef handle(key):\n    STATE.clear()\n"
    assert lines(code) == [7]


@pytest.mark.parametrize(
    "value",
    ["()", "frozenset()", "'text'", "MappingProxyType({})", "load()"],
)
def test_immutable_or_unknown_values_are_not_containers(value):
    assert lint(f"STATE = {value}\n\n\ndef handle(key):\n    STATE.clear()\n") == []


def test_one_finding_per_container_and_function():
    code = """
    A = {}
    B = []


    def handle(key):
        A[key] = 1
        A[key + 1] = 2
        B.append(key)
    """
    assert lines(code) == [7, 9]


def test_shadowing_and_global_rebinding():
    code = """
    STATE = {}
    SEEN = set()


    def local_copy(key):
        STATE = {}
        STATE[key] = 1


    def as_parameter(STATE):
        STATE["x"] = 1


    def rebinds(key):
        global SEEN
        SEEN = SEEN | {key}


    def rebinds_locally(key):
        SEEN = {key}
        return SEEN
    """
    assert lines(code) == [17]


def test_registration_and_lifecycle_functions_are_quiet():
    code = """
    import atexit

    HANDLERS = {}
    MODELS = {}
    BUFFER = []


    def handler(kind):
        def decorate(func):
            HANDLERS[kind] = func
            return func
        return decorate


    def plugin(func):
        HANDLERS[func.__name__] = func
        return func


    def load_defaults():
        HANDLERS["default"] = object()


    load_defaults()


    @app.on_event("startup")
    async def warm():
        MODELS["m"] = object()


    async def init_db(app):
        MODELS["db"] = app


    app.on_startup.append(init_db)


    def flush():
        BUFFER.clear()


    atexit.register(flush)


    def setup_cache():
        MODELS.clear()
    """
    assert lint(code) == []


def test_nested_function_inside_a_handler_is_request_code():
    code = """
    CALLS = []


    def handle(key):
        def record():
            CALLS.append(key)
        record()
    """
    assert lines(code) == [7]


def test_only_router_and_service_layers():
    code = "STATE = {}\n\n\ndef handle(key):\n    STATE[key] = 1\n"
    assert lines(code, path="app/routers/x.py", layer="router") == [5]
    assert lint(code, path="app/repositories/x.py", layer="repository") == []
    assert lint(code, path="app/core/cache.py", layer="other") == []


def test_messages_name_the_container_and_handler():
    code = """
    from fastapi import APIRouter

    router = APIRouter()
    _cache = {}


    @router.get("/x/{key}")
    def read(key: str) -> str:
        _cache[key] = key
        return key
    """
    (finding,) = lint(code, path="app/routers/x.py", layer="router")
    assert "`_cache`" in finding.message and "request handler `read()`" in finding.message
    assert "per-process cache" in finding.message
    assert finding.data == {"container": "_cache", "kind": "dict", "function": "read", "handler": True}


@pytest.mark.parametrize(
    ("signature", "flagged"),
    [
        ("()", False),
        ("(name: str)", False),
        ("(self)", False),
        ("(user_id: int)", True),
        ("(request)", True),
        ("(current_user)", True),
        ("(tenant_id: str, name: str)", True),
        ("(db)", True),
        ("(x: Request)", True),
        ("(x: 'Session')", True),
        ("(x: Customer)", True),  # a model the index knows
        ("(x: Optional[User])", True),
    ],
)
def test_lru_cache_keys(signature, flagged):
    models = parse_source("/p/app/models.py", "app/models.py", "from sqlalchemy.orm import DeclarativeBase\nclass Base(DeclarativeBase):\n    pass\nclass Customer(Base):\n    __tablename__ = 'customers'\n")
    index = WorkspaceIndex()
    index.update_tree("app/models.py", models.tree)
    code = f"from functools import lru_cache\n\n\n@lru_cache(maxsize=None)\ndef compute{signature}:\n    return 1\n"
    assert bool(lint(code, index=index)) is flagged


def test_cachetools_and_module_alias():
    code = """
    import functools
    import cachetools.func


    @functools.cache
    def a(user_id):
        return 1


    @cachetools.func.ttl_cache(ttl=60)
    def b(session_id):
        return 1
    """
    assert lines(code) == [6, 11]


def test_storing_and_returning_request_data_is_not_a_registration():
    code = """
    _users = {}


    def remember(user):
        _users[user.id] = user
        return user
    """
    assert lines(code) == [6]


def test_decorators_and_defaults_run_at_import():
    code = """
    ROUTES = []
    SEEN = {}


    def route(path):
        return lambda f: f


    @route(ROUTES.append("/x"))
    def handle(key, marker=SEEN.setdefault("k", 1)):
        return key
    """
    assert lint(code) == []
