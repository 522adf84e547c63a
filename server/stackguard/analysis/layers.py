"""Layer classification: which of router, service, repository, model,
migration, schema, config, test or other a file belongs to.

Precedence, first match wins (each step says why it sits where it does):

1. **Explicit overrides** (``layers`` in settings or stack.yaml, globs
   relative to the project root; ``**`` spans folders, ``*`` stays inside
   one segment). The user knows their layout better than any convention.
   When globs of several layers match, the most specific glob (the most
   literal characters) wins, so ``app/api/**`` → router can be refined by
   ``app/api/deps.py`` → other. Patterns must be strings; a folder pattern
   ending in ``/`` means everything under it.
2. **Tests**: ``tests/`` or ``test/`` folders, ``test_*.py``, ``*_test.py``,
   ``conftest.py``. Test code builds sessions and calls handlers directly on
   purpose; no layering rule should apply, whatever else the path says.
3. **Migrations**: a ``migrations/`` or ``alembic/`` folder anywhere; a
   ``versions/`` folder next to an ``env.py`` (the caller passes the folders
   that hold one as ``alembic_dirs``); or, by content, any module with the
   module-level ``revision`` / ``down_revision`` assignments and an
   ``upgrade`` function Alembic writes. A bare ``versions/`` folder is not
   enough: ``api/versions/v1.py`` is an API version, not a migration.
4. **Content: route handlers.** A module declaring request handlers (route
   decorators, Django/DRF/aiohttp/Flask view classes, handlers registered
   next to their definition) is a router whatever its name, so a
   ``utils.py`` full of ``@app.get`` gets router rules.
5. **Path conventions**, the file name first, then its folders from the
   innermost out (the nearest name describes the file best:
   ``app/api/schemas/user.py`` is a schema, ``app/services/repositories/x.py``
   a repository). ``urls.py`` is a router: it is where Django declares the
   HTTP surface; ``handlers.py``/``handlers/`` are routers (aiohttp's
   convention for request handlers). ``deps.py``/``dependencies.py`` are other: FastAPI
   dependency providers are the composition root that builds sessions and
   repositories, and classifying them as routers would flag their (correct)
   imports of repositories. A folder named ``api``/``apis`` only counts below
   the top-level package: a project whose package *is* ``api/`` would
   otherwise make every module a router.
6. **Content correction for services**: a module that the path calls a
   service but that only wraps infrastructure (builds an engine, pool,
   Redis/HTTP client…) and uses no domain code (imports no project
   service/repository/model module, declares no ``*Service`` class) is
   ``other`` — the aiohttp-style ``services/db.py`` that creates the asyncpg
   pool. A service that builds its own engine *and* does business work stays
   a service, so SG106 can tell it to receive the engine instead.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Collection, Iterator, Mapping, Sequence

from ..globs import glob_to_regex
from .summary import ImportRecord, _Summarizer, infrastructure_kind, route_handler_names

LAYERS = ("router", "service", "repository", "model", "migration", "schema", "config", "test", "other")

# Exact file names (without .py) per layer.
_FILE_LAYERS: dict[str, str] = {
    # router
    "views": "router",
    "viewsets": "router",
    "apis": "router",
    "api": "router",
    "routes": "router",
    "router": "router",
    "routers": "router",
    "endpoints": "router",
    "controllers": "router",
    "controller": "router",
    "handlers": "router",
    "urls": "router",
    # service
    "service": "service",
    "services": "service",
    "use_cases": "service",
    "usecases": "service",
    # repository
    "repository": "repository",
    "repositories": "repository",
    "repo": "repository",
    "repos": "repository",
    "crud": "repository",
    "dao": "repository",
    "daos": "repository",
    "selectors": "repository",
    "queries": "repository",
    # model
    "models": "model",
    "entities": "model",
    "tables": "model",
    # schema
    "schemas": "schema",
    "schema": "schema",
    "serializers": "schema",
    "dto": "schema",
    "dtos": "schema",
    # config
    "settings": "config",
    "config": "config",
    "configs": "config",
    "conf": "config",
    # composition root / dependency providers (see the module docstring)
    "deps": "other",
    "dependencies": "other",
}
# File name suffixes: ``user_service.py``, ``item_repository.py``…
_SUFFIX_LAYERS: tuple[tuple[str, str], ...] = (
    ("_service", "service"),
    ("_services", "service"),
    ("_use_case", "service"),
    ("_usecase", "service"),
    ("_repository", "repository"),
    ("_repositories", "repository"),
    ("_repo", "repository"),
    ("_dao", "repository"),
    ("_crud", "repository"),
    ("_router", "router"),
    ("_routes", "router"),
    ("_views", "router"),
    ("_view", "router"),
    ("_endpoints", "router"),
    ("_controller", "router"),
    ("_model", "model"),
    ("_models", "model"),
    ("_entity", "model"),
    ("_schema", "schema"),
    ("_schemas", "schema"),
    ("_serializer", "schema"),
    ("_serializers", "schema"),
    ("_dto", "schema"),
    ("_settings", "config"),
    ("_config", "config"),
)
# Folder names per layer.
_DIR_LAYERS: dict[str, str] = {
    "routers": "router",
    "routes": "router",
    "endpoints": "router",
    "views": "router",
    "viewsets": "router",
    "controllers": "router",
    "handlers": "router",
    "api": "router",
    "apis": "router",
    "services": "service",
    "service": "service",
    "use_cases": "service",
    "usecases": "service",
    "interactors": "service",
    "repositories": "repository",
    "repository": "repository",
    "repos": "repository",
    "crud": "repository",
    "dao": "repository",
    "daos": "repository",
    "data_access": "repository",
    "models": "model",
    "entities": "model",
    "schemas": "schema",
    "serializers": "schema",
    "dto": "schema",
    "dtos": "schema",
    "settings": "config",
    "config": "config",
    "configs": "config",
}
# Folder names that are often the project's own top-level package.
_TOP_LEVEL_AMBIGUOUS = frozenset({"api", "apis"})
_SOURCE_ROOTS = frozenset({"src", "lib"})
# Infrastructure kinds that make a "service" module a resource wrapper.
_INFRA_KINDS = frozenset(
    {"engine", "sessionmaker", "scoped_session", "pool", "connection", "database", "redis", "mongo_client", "http_client", "client", "flask_sqlalchemy"}
)
_DOMAIN_LAYERS = frozenset({"service", "repository", "model"})
_SERVICE_CLASS = re.compile(r"(Service|UseCase|Interactor)$")
_DECLARATIVE_BASE_NAMES = frozenset({"Base", "metadata", "Model", "mapper_registry", "registry", "db"})
# Top-level packages whose clients ``infrastructure_kind`` recognises.
_INFRA_LIBRARIES = frozenset(
    {
        "sqlalchemy", "sqlmodel", "flask_sqlalchemy", "asyncpg", "aiopg", "aiomysql", "psycopg", "psycopg2",
        "psycopg_pool", "pymysql", "MySQLdb", "sqlite3", "aiosqlite", "databases", "redis", "aioredis",
        "pymongo", "motor", "aiohttp", "httpx", "aio_pika", "boto3", "elasticsearch",
    }
)


def _specificity(pattern: str) -> int:
    return sum(1 for ch in pattern if ch not in "*?")


def override_layer(relative: str, overrides: Mapping[str, Sequence[str]] | None) -> str | None:
    """The layer an explicit glob assigns, the most specific glob winning."""
    if not overrides:
        return None
    best: tuple[int, str] | None = None
    for layer, globs in overrides.items():
        if layer not in LAYERS:
            continue
        if isinstance(globs, str):
            globs = [globs]
        for pattern in globs:
            if not isinstance(pattern, str) or not pattern.strip():
                continue
            pattern = pattern.strip()
            # A folder pattern (``app/api/``) means everything under it.
            if pattern.endswith("/"):
                pattern += "**"
            if glob_to_regex(pattern).fullmatch(relative):
                score = _specificity(pattern)
                if best is None or score > best[0]:
                    best = (score, layer)
    return best[1] if best else None


def is_test_path(relative: str) -> bool:
    parts = relative.split("/")
    name = parts[-1]
    stem = name.rsplit(".", 1)[0]
    if name == "conftest.py" or stem.startswith("test_") or stem.endswith("_test") or stem == "tests":
        return True
    return any(part in ("tests", "test", "testing") for part in parts[:-1])


def is_migration_path(relative: str, alembic_dirs: Collection[str] = ()) -> bool:
    parts = relative.split("/")
    folders = parts[:-1]
    if any(part in ("migrations", "alembic") for part in folders):
        return True
    if "versions" in folders and alembic_dirs:
        index = len(folders) - 1 - folders[::-1].index("versions")
        parent = "/".join(folders[:index])
        return parent in alembic_dirs
    return False


def is_alembic_revision(tree: ast.Module | None) -> bool:
    """Alembic's revision file shape: ``revision = "…"``, ``down_revision``
    and a module-level ``def upgrade()``."""
    if tree is None:
        return False
    names: set[str] = set()
    for stmt in tree.body:
        if isinstance(stmt, ast.Assign):
            names.update(t.id for t in stmt.targets if isinstance(t, ast.Name))
        elif isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
            names.add(stmt.target.id)
        elif isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)) and stmt.name == "upgrade":
            names.add("def upgrade")
    return {"revision", "down_revision", "def upgrade"} <= names


def path_layer(relative: str) -> str | None:
    """Layer from naming conventions alone (step 5), None when the path
    says nothing."""
    parts = relative.split("/")
    name = parts[-1]
    stem = name.rsplit(".", 1)[0] if "." in name else name
    if stem in _FILE_LAYERS:
        return _FILE_LAYERS[stem]
    for suffix, layer in _SUFFIX_LAYERS:
        if stem.endswith(suffix) and len(stem) > len(suffix):
            return layer
    folders = parts[:-1]
    first_package = 1 if folders and folders[0] in _SOURCE_ROOTS else 0
    for index in range(len(folders) - 1, -1, -1):
        folder = folders[index]
        folder_layer = _DIR_LAYERS.get(folder)
        if folder_layer is None:
            continue
        if folder in _TOP_LEVEL_AMBIGUOUS and index <= first_package:
            continue
        return folder_layer
    # core/config.py and similar are caught by the file name; a
    # ``settings/`` package's modules by the folder.
    return None


def module_layer(module: str) -> str | None:
    """Path-convention layer of a dotted module name (``app.services.x``)."""
    return path_layer(module.replace(".", "/") + ".py")


def is_infrastructure_only(
    tree: ast.Module, relative: str = "", imports: Sequence[ImportRecord] | None = None
) -> bool:
    """A module that builds backing-service clients and contains no domain
    work (step 6): no import of a project service/repository/model module, no
    ``*Service``-style class, and at least one infrastructure constructor
    call anywhere in it. ``imports`` are the module's import records when the
    caller has its summary. Cheap tests first: the expression walk only runs
    for a module that imports an infrastructure library at all."""
    summarizer = _Summarizer(relative or "module.py", tree, "other")
    if imports is None:
        for stmt in _statements(tree):
            if isinstance(stmt, (ast.Import, ast.ImportFrom)):
                summarizer._import(stmt, False)
        imports = summarizer.summary.imports
    else:
        for record in imports:
            if record.is_from:
                if "*" in record.names:
                    continue
                for original, local in zip(record.names, record.bound):
                    summarizer.names[local] = f"{record.module}.{original}" if record.module else original
            else:
                root = record.module.split(".", 1)[0]
                for local in record.bound:
                    summarizer.names[local] = root if local == root else record.module
    own_root = summarizer.module.split(".", 1)[0]
    if any(_imports_domain(r.module, r.names, r.level, own_root) for r in imports):
        return False
    if any(isinstance(s, ast.ClassDef) and _SERVICE_CLASS.search(s.name) for s in tree.body):
        return False
    if not any(r.module.split(".", 1)[0] in _INFRA_LIBRARIES for r in imports):
        return False
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and infrastructure_kind(summarizer.qualify(node.func)) in _INFRA_KINDS:
            return True
    return False


def _statements(tree: ast.Module) -> Iterator[ast.stmt]:
    """Every statement, nested ones included; never expressions."""
    stack = list(reversed(tree.body))
    while stack:
        stmt = stack.pop()
        yield stmt
        for name in ("body", "orelse", "finalbody"):
            block = getattr(stmt, name, None)
            if isinstance(block, list):
                stack.extend(reversed([s for s in block if isinstance(s, ast.stmt)]))
        for handler in getattr(stmt, "handlers", None) or ():
            stack.extend(reversed(handler.body))


def _imports_domain(module: str, names: tuple[str, ...], level: int, own_root: str) -> bool:
    """Whether an import pulls in project domain code: a relative import or
    one from this project's top-level package whose path says service,
    repository or model (``from app.models import User``,
    ``from . import repositories``)."""
    if not module:
        return False
    project = level > 0 or (own_root != "" and module.split(".", 1)[0] == own_root)
    if not project:
        return False
    if names and all(name in _DECLARATIVE_BASE_NAMES for name in names):
        return False  # ``Base.metadata.create_all(engine)`` is wiring, not domain work
    if module_layer(module) in _DOMAIN_LAYERS:
        return True
    return any(module_layer(f"{module}.{name}") in _DOMAIN_LAYERS for name in names if name != "*")


def classify_layer(
    relative: str,
    tree: ast.Module | None,
    overrides: Mapping[str, Sequence[str]] | None = None,
    has_routes: bool | None = None,
    *,
    alembic_dirs: Collection[str] = (),
    imports: Sequence[ImportRecord] | None = None,
) -> str:
    """The layer of ``relative`` (a path relative to the project root, forward
    slashes). ``tree`` is its parse (None when unparsable: path rules only).
    ``has_routes`` lets a caller that already summarised the module skip the
    route scan; None means scan ``tree``. ``alembic_dirs`` are folders holding
    an Alembic ``env.py`` whose ``versions/`` are migrations. ``imports``:
    the module's import records when already summarised (saves a walk)."""
    relative = relative.replace("\\", "/").lstrip("/")
    explicit = override_layer(relative, overrides)
    if explicit is not None:
        return explicit
    if is_test_path(relative):
        return "test"
    if is_migration_path(relative, alembic_dirs) or is_alembic_revision(tree):
        return "migration"
    if has_routes is None and tree is not None:
        try:
            has_routes = bool(route_handler_names(relative, tree))
        except RecursionError:
            has_routes = False
    if has_routes:
        return "router"
    layer = path_layer(relative)
    if layer is None:
        return "other"
    if layer == "service" and tree is not None:
        try:
            if is_infrastructure_only(tree, relative, imports):
                return "other"
        except RecursionError:
            pass
    return layer
