"""Python detection: dependencies from every kind of Python manifest, tool
configuration, and a few code signals the manifests cannot give.

Manifests read (each dependency keeps its file and line): pyproject.toml
(PEP 621, Poetry, PDM, uv, PEP 735 dependency groups), requirements files at
the root and in a ``requirements/`` folder with their ``-r``/``-c``
includes, Pipfile, setup.cfg and setup.py. Code is scanned only for what a
dependency list cannot tell: whether aiohttp serves HTTP or only calls it,
whether SQLAlchemy is used async, stdlib ``sqlite3``, unittest-style tests.

Known traps handled here: a framework listed only in
``requirements/base.txt``; Flask-Migrate with no migrations folder yet;
aiohttp as a client library; ``from unittest import mock`` in pytest suites.
"""

from __future__ import annotations

import configparser
import posixpath
import re
import tomllib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from .files import ProjectFiles, line_of
from .model import Evidence, Fact, StackProfile, VerifyStep

# --- what dependencies mean ---------------------------------------------------

# Normalised (PEP 503) distribution name -> fact name. aiohttp is absent on
# purpose: it is a framework only when the code serves with aiohttp.web.
FRAMEWORK_DEPS = {
    "fastapi": "fastapi",
    "starlette": "starlette",
    "flask": "flask",
    "django": "django",
    "djangorestframework": "django-rest-framework",
    "litestar": "litestar",
}
ORM_DEPS = {
    "sqlalchemy": "sqlalchemy",
    "sqlmodel": "sqlmodel",
    "flask-sqlalchemy": "flask-sqlalchemy",
    "django": "django",
    "tortoise-orm": "tortoise",
    "peewee": "peewee",
}
DRIVER_DEPS = {
    "psycopg": "psycopg",
    "psycopg-binary": "psycopg",
    "psycopg2": "psycopg",
    "psycopg2-binary": "psycopg",
    "asyncpg": "asyncpg",
    "aiopg": "aiopg",
    "pymysql": "pymysql",
}
# ORMs built on SQLAlchemy: SQLAlchemy's rules (sessions, loading) apply too.
SQLALCHEMY_BASED = ("sqlmodel", "flask-sqlalchemy")
VALIDATION_DEPS = {
    "pydantic": "pydantic",
    "pydantic-settings": "pydantic",
    "marshmallow": "marshmallow",
    "flask-marshmallow": "marshmallow",
    "marshmallow-sqlalchemy": "marshmallow",
}
# Frameworks whose request validation is pydantic even when pydantic is not
# listed (it arrives as their dependency).
PYDANTIC_FRAMEWORKS = ("fastapi", "sqlmodel")
AUTH_DEPS = {
    "pyjwt": "pyjwt",
    "python-jose": "python-jose",
    "passlib": "passlib",
    "pwdlib": "pwdlib",
    "bcrypt": "bcrypt",
    "argon2-cffi": "argon2-cffi",
    "authlib": "authlib",
    "djangorestframework-simplejwt": "djangorestframework-simplejwt",
    "flask-jwt-extended": "flask-jwt-extended",
}
LINTER_DEPS = {"ruff": "ruff", "flake8": "flake8", "pylint": "pylint"}
TYPECHECKER_DEPS = {"mypy": "mypy", "pyright": "pyright"}
DATABASE_DEPS = {
    "psycopg": "postgresql",
    "psycopg-binary": "postgresql",
    "psycopg2": "postgresql",
    "psycopg2-binary": "postgresql",
    "asyncpg": "postgresql",
    "aiopg": "postgresql",
    "pymysql": "mysql",
    "mysqlclient": "mysql",
    "aiomysql": "mysql",
    "asyncmy": "mysql",
    "aiosqlite": "sqlite",
    "pymongo": "mongodb",
    "motor": "mongodb",
    "beanie": "mongodb",
    "mongoengine": "mongodb",
    "redis": "redis",
    "aioredis": "redis",
}
QUEUE_DEPS = {
    "celery": "celery",
    "rq": "rq",
    "dramatiq": "dramatiq",
    "arq": "arq",
    "kombu": "kombu",
    "pika": "rabbitmq",
    "aio-pika": "rabbitmq",
    "kafka-python": "kafka",
    "aiokafka": "kafka",
    "confluent-kafka": "kafka",
}
# Drivers that make SQLAlchemy async (it is used through them).
ASYNC_SQLALCHEMY_DRIVERS = ("asyncpg", "aiosqlite")

# --- code signals ---------------------------------------------------------------

# aiohttp serves HTTP when a module imports aiohttp.web and builds an app
# with it. The import is required: tornado also has `web.Application`.
AIOHTTP_WEB_IMPORT = re.compile(
    r"^\s*(?:from\s+aiohttp\s+import\s+(?:.*,\s*)?web\b|from\s+aiohttp\.web\s+import\b|import\s+aiohttp\.web\b)",
    re.MULTILINE,
)
AIOHTTP_APP = re.compile(r"\b(?:web\.)?(?:Application|RouteTableDef|run_app)\s*\(")
ASYNC_SQLALCHEMY = re.compile(r"\b(?:create_async_engine|AsyncSession|async_sessionmaker)\b")
SQLITE3_IMPORT = re.compile(r"^\s*(?:import\s+(?:[\w.]+\s*,\s*)*sqlite3\b|from\s+sqlite3\s+import\b)", re.MULTILINE)
# `from unittest import mock` is how pytest suites mock; it is not unittest.
UNITTEST_USE = re.compile(
    r"^\s*import\s+unittest\s*$|^\s*from\s+unittest\s+import\s+(?!mock\b)|\bunittest\.(?:TestCase|main)\b",
    re.MULTILINE,
)
DJANGO_TESTCASE = re.compile(r"^\s*from\s+django\.test\s+import\b.*\bTestCase\b", re.MULTILINE)
DRF_SERIALIZERS = re.compile(
    r"^\s*from\s+rest_framework\s+import\s+(?:.*,\s*)?serializers\b|\bserializers\.\w*Serializer\b", re.MULTILINE
)
DJANGO_MANAGE = re.compile(r"DJANGO_SETTINGS_MODULE|django\.core\.management")
FLASK_MIGRATE_DIRECTORY = re.compile(r"""\bMigrate\(.*\bdirectory\s*=\s*["']([^"']+)["']""")

CODE_MAX_FILES = 2000
CODE_MAX_BYTES = 512_000

# --- manifests ------------------------------------------------------------------

PYPROJECT = "pyproject.toml"
REQUIREMENTS_NAME = re.compile(r"requirements(?:[-_.][\w.-]*)?\.(?:txt|in)")
# A pyproject.toml with only these tables is tool configuration (black, ruff…)
# and does not by itself make a root a Python project.
PACKAGE_TABLES = ("project", "build-system", "dependency-groups")
PACKAGE_TOOL_TABLES = ("poetry", "pdm", "uv", "hatch", "flit", "setuptools")
OTHER_ECOSYSTEM_MANIFESTS = ("package.json", "go.mod", "Cargo.toml", "pom.xml", "build.gradle", "build.gradle.kts")

REQUIREMENT = re.compile(r"\s*([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*(?:\[([^\]]*)\])?")
EGG_FRAGMENT = re.compile(r"[#&]egg=([A-Za-z0-9][A-Za-z0-9._-]*)")
TOML_ERROR_POSITION = re.compile(r"\(at line (\d+), column (\d+)\)")
MAX_INCLUDE_DEPTH = 10


def normalise(name: str) -> str:
    """PEP 503: ``Flask_SQLAlchemy`` and ``flask.sqlalchemy`` are ``flask-sqlalchemy``."""
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass(frozen=True)
class Dependency:
    name: str  # normalised
    evidence: Evidence
    extras: frozenset[str] = frozenset()
    # None for runtime dependencies, else the group/extra/file kind
    # ("dev", "test", "constraint"…). Constraints pin versions without
    # installing anything, so they never make a fact.
    group: str | None = None


@dataclass
class Dependencies:
    items: list[Dependency] = field(default_factory=list)

    def add(self, dependency: Dependency) -> None:
        self.items.append(dependency)

    def installed(self) -> Iterator[Dependency]:
        return (d for d in self.items if d.group != "constraint")

    def has(self, name: str) -> bool:
        return any(d.name == name for d in self.installed())

    def evidence(self, *names: str) -> tuple[Evidence, ...]:
        wanted = set(names)
        return tuple(sorted({d.evidence for d in self.installed() if d.name in wanted}))

    def extras(self, name: str) -> set[str]:
        found: set[str] = set()
        for dependency in self.installed():
            if dependency.name == name:
                found |= dependency.extras
        return found


@dataclass
class CodeSignals:
    """First line of each code signal (by path order); None when absent."""

    aiohttp_app: Evidence | None = None  # Application()/RouteTableDef()/run_app()
    aiohttp_import: Evidence | None = None  # the aiohttp.web import
    async_sqlalchemy: Evidence | None = None
    sqlite3: Evidence | None = None
    unittest: Evidence | None = None
    django_tests: Evidence | None = None
    drf_serializers: Evidence | None = None
    flask_migrate_directory: tuple[Evidence, str] | None = None


@dataclass
class PythonManifests:
    """What was read, for facts that depend on which files exist."""

    pyproject: dict[str, Any] | None = None
    pyproject_text: str | None = None
    pyproject_counts: bool = False  # declares a package, not only tool config
    requirements: list[str] = field(default_factory=list)
    pipfile: bool = False
    setup_cfg: configparser.ConfigParser | None = None
    setup_cfg_text: str | None = None
    setup_cfg_declares_package: bool = False
    setup_py: bool = False
    manage_py: str | None = None  # relative path
    manage_text: str | None = None


def detect(files: ProjectFiles, profile: StackProfile) -> None:
    deps = Dependencies()
    manifests = PythonManifests()
    _read_pyproject(files, deps, manifests)
    _read_requirements(files, deps, manifests)
    _read_pipfile(files, deps, manifests)
    _read_setup_cfg(files, deps, manifests)
    _read_setup_py(files, deps, manifests)
    _find_manage_py(files, manifests)

    language = _language_evidence(files, manifests)
    if language is None:
        return
    for manifest in _manifest_paths(manifests):
        if manifest not in profile.manifests:
            profile.manifests.append(manifest)
    if profile.language is None:
        profile.language = Fact("python", (language,))

    code = _scan_code(files)
    _frameworks(profile, deps, manifests, code)
    _orms(profile, deps, code)
    _migrations(files, profile, deps, manifests, code)
    _simple_facts(profile, deps, VALIDATION_DEPS, "validation")
    for framework in PYDANTIC_FRAMEWORKS:
        if deps.has(framework) and not profile.has("pydantic"):
            profile.add("validation", Fact("pydantic", deps.evidence(framework), {"implied_by": framework}))
    if profile.has("django-rest-framework"):
        evidence = deps.evidence("djangorestframework") + ((code.drf_serializers,) if code.drf_serializers else ())
        profile.add("validation", Fact("drf-serializers", tuple(sorted(set(evidence)))))
    _simple_facts(profile, deps, AUTH_DEPS, "auth")
    _test_runners(files, profile, deps, manifests, code)
    _linters_and_typecheckers(files, profile, deps, manifests)
    _package_managers(files, profile, manifests)
    _simple_facts(profile, deps, DATABASE_DEPS, "databases", with_package=True)
    if code.sqlite3 is not None:
        profile.add("databases", Fact("sqlite", (code.sqlite3,), {"package": "sqlite3"}))
    _simple_facts(profile, deps, QUEUE_DEPS, "queues", with_package=True)


# --- reading manifests ---------------------------------------------------------


def _read_pyproject(files: ProjectFiles, deps: Dependencies, manifests: PythonManifests) -> None:
    if not files.exists(PYPROJECT):
        return
    text = files.read_text(PYPROJECT)
    manifests.pyproject_text = text
    if text is None:
        return
    data = _load_toml(files, PYPROJECT, text)
    if data is None:
        # A broken pyproject.toml is still a Python project's manifest.
        manifests.pyproject_counts = True
        return
    manifests.pyproject = data
    tool = _table(data.get("tool"))
    manifests.pyproject_counts = any(key in data for key in PACKAGE_TABLES) or any(
        key in tool for key in PACKAGE_TOOL_TABLES
    )
    locate = _TomlLines(text)

    project = _table(data.get("project"))
    for requirement in _string_list(project.get("dependencies")):
        _add_requirement(deps, PYPROJECT, requirement, locate.requirement("project", requirement), None)
    for extra, requirements in _table(project.get("optional-dependencies")).items():
        for requirement in _string_list(requirements):
            evidence = locate.requirement("project.optional-dependencies", requirement)
            _add_requirement(deps, PYPROJECT, requirement, evidence, str(extra))

    for group, requirements in _table(data.get("dependency-groups")).items():
        for requirement in _string_list(requirements):
            _add_requirement(deps, PYPROJECT, requirement, locate.requirement("dependency-groups", requirement), str(group))

    poetry = _table(tool.get("poetry"))
    _add_poetry_table(deps, locate, "tool.poetry.dependencies", _table(poetry.get("dependencies")), None)
    _add_poetry_table(deps, locate, "tool.poetry.dev-dependencies", _table(poetry.get("dev-dependencies")), "dev")
    for group, group_table in _table(poetry.get("group")).items():
        section = f"tool.poetry.group.{group}.dependencies"
        _add_poetry_table(deps, locate, section, _table(_table(group_table).get("dependencies")), str(group))

    pdm = _table(tool.get("pdm"))
    for group, requirements in _table(pdm.get("dev-dependencies")).items():
        for requirement in _string_list(requirements):
            evidence = locate.requirement("tool.pdm.dev-dependencies", requirement)
            _add_requirement(deps, PYPROJECT, requirement, evidence, str(group))

    uv = _table(tool.get("uv"))
    for requirement in _string_list(uv.get("dev-dependencies")):
        _add_requirement(deps, PYPROJECT, requirement, locate.requirement("tool.uv", requirement), "dev")


def _add_poetry_table(
    deps: Dependencies, locate: _TomlLines, section: str, table: dict[str, Any], group: str | None
) -> None:
    for raw_name, spec in table.items():
        name = normalise(str(raw_name))
        if name == "python":
            continue
        extras: set[str] = set()
        for item in spec if isinstance(spec, list) else [spec]:
            if isinstance(item, dict):
                extras |= {normalise(e) for e in _string_list(item.get("extras"))}
        evidence = locate.key(section, str(raw_name))
        deps.add(Dependency(name, Evidence(PYPROJECT, evidence.line, evidence.text), frozenset(extras), group))


def _load_toml(files: ProjectFiles, relative: str, text: str) -> dict[str, Any] | None:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        position = TOML_ERROR_POSITION.search(message)
        if position:
            line, column = int(position.group(1)), int(position.group(2))
        else:  # "(at end of document)"
            line, column = max(1, len(text.splitlines())), 1
        reason = TOML_ERROR_POSITION.sub("", message).replace("(at end of document)", "").strip()
        files.problem(relative, f"invalid TOML: {reason}", line=line, column=column)
        return None
    except RecursionError:
        files.problem(relative, "invalid TOML: nested too deeply to read", line=1, column=1)
        return None


class _TomlLines:
    """Line evidence for TOML values (tomllib gives no positions): search the
    text for the value, starting at the line of the table that holds it."""

    def __init__(self, text: str) -> None:
        self.text = text

    def section_start(self, section: str) -> int:
        found = line_of(self.text, r"^\s*\[\s*" + _dotted_key_pattern(section) + r"\s*\]")
        if found is not None:
            return found.line
        # Dotted keys inside a parent table: `[project]` … `optional-dependencies = {`
        *parents, last = section.split(".")
        if parents:
            parent = self.section_start(".".join(parents))
            found = line_of(self.text, r"^\s*" + _key_pattern(last) + r"\s*=", start_line=parent)
            if found is not None:
                return found.line
        return 1

    def requirement(self, section: str, requirement: str) -> Evidence:
        start = self.section_start(section)
        quoted = re.compile(r"""["']""" + re.escape(requirement.strip()) + r"""["']""")
        name = REQUIREMENT.match(requirement)
        patterns: list[re.Pattern[str]] = [quoted]
        if name:
            patterns.append(_name_pattern(name.group(1)))
        for pattern in patterns:
            found = line_of(self.text, pattern, start_line=start) or line_of(self.text, pattern)
            if found is not None:
                return Evidence(PYPROJECT, found.line, found.text)
        return Evidence(PYPROJECT)

    def key(self, section: str, key: str) -> Evidence:
        start = self.section_start(section)
        pattern = re.compile(r"^\s*" + _key_pattern(key) + r"\s*=")
        found = line_of(self.text, pattern, start_line=start) or line_of(self.text, _name_pattern(key), start_line=start)
        if found is None:
            return Evidence(PYPROJECT)
        return Evidence(PYPROJECT, found.line, found.text)


def _dotted_key_pattern(section: str) -> str:
    return r"\s*\.\s*".join(_key_pattern(part) for part in section.split("."))


def _key_pattern(key: str) -> str:
    escaped = re.escape(key)
    return rf"""(?:{escaped}|"{escaped}"|'{escaped}')"""


def _name_pattern(name: str) -> re.Pattern[str]:
    """A distribution name as written anywhere: any case, any of - _ . between
    parts, not part of a longer name (``sqlalchemy`` ≠ ``flask-sqlalchemy``)."""
    parts = [re.escape(part) for part in normalise(name).split("-")]
    return re.compile(r"(?<![\w.-])" + r"[-_.]+".join(parts) + r"(?![\w-])(?!\.\w)", re.IGNORECASE)


def _read_requirements(files: ProjectFiles, deps: Dependencies, manifests: PythonManifests) -> None:
    # requirements.txt first: it is the file that names the project's dependencies.
    top_level = sorted(
        (p for p in files.relative if "/" not in p and REQUIREMENTS_NAME.fullmatch(p)),
        key=lambda p: (p != "requirements.txt", p),
    )
    folder = [
        p
        for p in files.glob("requirements/**")
        if p.endswith((".txt", ".in"))
    ]
    seen: set[str] = set()
    for relative in top_level + folder:
        _read_requirements_file(files, deps, relative, _requirements_group(relative), seen, 0)
    manifests.requirements = [p for p in top_level + folder if p in seen] + sorted(
        p for p in seen if p not in top_level and p not in folder
    )


def _requirements_group(relative: str) -> str | None:
    stem = relative.rsplit("/", 1)[-1].rsplit(".", 1)[0].lower()
    stem = stem.removeprefix("requirements").strip("-_.")
    if stem in ("", "base", "common", "main", "prod", "production", "runtime"):
        return None
    return stem


def _read_requirements_file(
    files: ProjectFiles, deps: Dependencies, relative: str, group: str | None, seen: set[str], depth: int
) -> None:
    if relative in seen or depth > MAX_INCLUDE_DEPTH:
        return
    seen.add(relative)
    text = files.read_text(relative)
    if text is None:
        return
    for number, logical, line in _logical_lines(text):
        content = re.sub(r"(?:^|\s)#.*$", "", logical).strip()
        if not content:
            continue
        include = re.match(r"(-r|--requirement|-c|--constraint)(?:\s*=\s*|\s+|(?=\S))(\S+)", content)
        if include:
            option, target = include.groups()
            nested_group = "constraint" if option in ("-c", "--constraint") else group
            _follow_include(files, deps, relative, number, target, nested_group, seen, depth)
            continue
        editable = re.match(r"(?:-e|--editable)(?:\s*=\s*|\s+)(\S+)", content)
        if editable:
            egg = EGG_FRAGMENT.search(editable.group(1))
            if egg:
                deps.add(Dependency(normalise(egg.group(1)), Evidence(relative, number, line.strip()[:200]), group=group))
            continue
        if content.startswith("-"):
            continue  # --index-url, --hash, --no-binary…
        if "://" in content.split(" @ ")[0]:
            egg = EGG_FRAGMENT.search(content)
            if egg:
                deps.add(Dependency(normalise(egg.group(1)), Evidence(relative, number, line.strip()[:200]), group=group))
            continue
        _add_requirement(deps, relative, content, Evidence(relative, number, line.strip()[:200]), group)


def _follow_include(
    files: ProjectFiles,
    deps: Dependencies,
    relative: str,
    number: int,
    target: str,
    group: str | None,
    seen: set[str],
    depth: int,
) -> None:
    if "://" in target:
        return
    included = posixpath.normpath(posixpath.join(posixpath.dirname(relative), target))
    if included.startswith("../") or included == ".." or posixpath.isabs(target):
        files.problem(relative, f"include {target!r} is outside the project root; not followed", number, severity="info")
        return
    if not files.exists(included):
        files.problem(relative, f"included file {target!r} not found", number, severity="warning")
        return
    _read_requirements_file(files, deps, included, group, seen, depth + 1)


def _logical_lines(text: str) -> Iterator[tuple[int, str, str]]:
    """(number, logical line, first physical line): backslash continuations
    joined, numbered and quoted by their first line."""
    pending = ""
    start = 0
    first = ""
    for number, line in enumerate(text.splitlines(), start=1):
        if not pending:
            start, first = number, line
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        yield start, pending + line, first
        pending = ""
    if pending:
        yield start, pending, first


def _add_requirement(deps: Dependencies, relative: str, requirement: str, evidence: Evidence, group: str | None) -> None:
    match = REQUIREMENT.match(requirement)
    if not match:
        return
    extras = frozenset(normalise(e.strip()) for e in (match.group(2) or "").split(",") if e.strip())
    deps.add(Dependency(normalise(match.group(1)), Evidence(relative, evidence.line, evidence.text), extras, group))


def _read_pipfile(files: ProjectFiles, deps: Dependencies, manifests: PythonManifests) -> None:
    if not files.exists("Pipfile"):
        return
    manifests.pipfile = True
    text = files.read_text("Pipfile")
    if text is None:
        return
    data = _load_toml(files, "Pipfile", text)
    if data is None:
        return
    locate = _TomlLines(text)
    for section, group in (("packages", None), ("dev-packages", "dev")):
        for raw_name, spec in _table(data.get(section)).items():
            extras = set()
            if isinstance(spec, dict):
                extras = {normalise(e) for e in _string_list(spec.get("extras"))}
            found = locate.key(section, str(raw_name))
            deps.add(Dependency(normalise(str(raw_name)), Evidence("Pipfile", found.line, found.text), frozenset(extras), group))


def _read_setup_cfg(files: ProjectFiles, deps: Dependencies, manifests: PythonManifests) -> None:
    if not files.exists("setup.cfg"):
        return
    text = files.read_text("setup.cfg")
    if text is None:
        return
    parser = _parse_ini(files, "setup.cfg", text)
    if parser is None:
        return
    manifests.setup_cfg = parser
    manifests.setup_cfg_text = text
    manifests.setup_cfg_declares_package = parser.has_section("metadata") or parser.has_section("options")
    sources: list[tuple[str, str, str | None]] = []
    if parser.has_option("options", "install_requires"):
        sources.append(("options", parser.get("options", "install_requires"), None))
    if parser.has_section("options.extras_require"):
        for extra, value in parser.items("options.extras_require"):
            sources.append(("options.extras_require", value, extra))
    for section, value, group in sources:
        start = line_of(text, r"^\s*\[" + re.escape(section) + r"\]")
        for requirement in value.splitlines():
            requirement = requirement.split("#", 1)[0].strip()
            match = REQUIREMENT.match(requirement) if requirement else None
            if not match:
                continue
            pattern = _name_pattern(match.group(1))
            found = line_of(text, pattern, start_line=start.line if start else 1) or line_of(text, pattern)
            evidence = Evidence("setup.cfg", found.line, found.text) if found else Evidence("setup.cfg")
            _add_requirement(deps, "setup.cfg", requirement, evidence, group)


def _parse_ini(files: ProjectFiles, relative: str, text: str) -> configparser.ConfigParser | None:
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    try:
        parser.read_string(text, source=relative)
    except configparser.MissingSectionHeaderError as exc:
        files.problem(relative, "invalid INI: a setting before any [section] header", line=exc.lineno, column=1)
        return None
    except configparser.ParsingError as exc:
        line = exc.errors[0][0] if exc.errors else 0
        files.problem(relative, "invalid INI: a line is neither a [section], a key = value nor a continuation", line=line)
        return None
    except configparser.Error as exc:
        files.problem(relative, f"invalid INI: {exc.message}")
        return None
    return parser


def _read_setup_py(files: ProjectFiles, deps: Dependencies, manifests: PythonManifests) -> None:
    if not files.exists("setup.py"):
        return
    manifests.setup_py = True
    text = files.read_text("setup.py")
    if text is None:
        return
    # Running setup.py is out of the question; the literal list is what people write.
    block = re.search(r"install_requires\s*=\s*\[(.*?)\]", text, re.DOTALL)
    if not block:
        return
    for string in re.finditer(r"""["']([^"'\n]+)["']""", block.group(1)):
        offset = block.start(1) + string.start()
        number = text.count("\n", 0, offset) + 1
        line_text = text.splitlines()[number - 1].strip()[:200]
        _add_requirement(deps, "setup.py", string.group(1), Evidence("setup.py", number, line_text), None)


def _find_manage_py(files: ProjectFiles, manifests: PythonManifests) -> None:
    """manage.py at the root, else the shallowest one (``src/manage.py``)."""
    candidates = sorted(files.named("manage.py"), key=lambda p: (p.count("/"), p))
    candidates = [p for p in candidates if p.count("/") <= 2]
    if not candidates:
        return
    manifests.manage_py = candidates[0]
    manifests.manage_text = files.read_text(candidates[0])


def _language_evidence(files: ProjectFiles, manifests: PythonManifests) -> Evidence | None:
    """The main Python manifest, or None when the root has none. A pyproject
    holding only tool settings next to another ecosystem's manifest (black
    config in a Node repo) does not make the root a Python project."""
    if files.exists(PYPROJECT) and manifests.pyproject_text is not None:
        other = any(files.exists(name) for name in OTHER_ECOSYSTEM_MANIFESTS)
        if manifests.pyproject_counts or not other:
            return Evidence(PYPROJECT)
    if manifests.setup_py:
        return Evidence("setup.py")
    if manifests.setup_cfg_declares_package:
        return Evidence("setup.cfg")
    if manifests.pipfile:
        return Evidence("Pipfile")
    if manifests.requirements:
        return Evidence(manifests.requirements[0])
    if manifests.manage_py:
        return Evidence(manifests.manage_py)
    return None


def _manifest_paths(manifests: PythonManifests) -> list[str]:
    paths = []
    if manifests.pyproject_text is not None:
        paths.append(PYPROJECT)
    if manifests.setup_py:
        paths.append("setup.py")
    if manifests.setup_cfg is not None:
        paths.append("setup.cfg")
    if manifests.pipfile:
        paths.append("Pipfile")
    paths.extend(manifests.requirements)
    if manifests.manage_py:
        paths.append(manifests.manage_py)
    return paths


# --- code ----------------------------------------------------------------------


def _is_test_path(relative: str) -> bool:
    parts = relative.split("/")
    name = parts[-1]
    return (
        "tests" in parts[:-1]
        or "test" in parts[:-1]
        or name.startswith("test_")
        or name.endswith("_test.py")
        or name == "conftest.py"
        or name == "tests.py"
    )


def _iter_code(files: ProjectFiles) -> Iterator[tuple[str, str]]:
    """Python sources, bounded. Not through ``read_text``: source files are not
    manifests, so a huge generated module is skipped quietly rather than
    reported, and texts are not kept in the manifest cache."""
    for index, relative in enumerate(files.glob("**/*.py")):
        if index >= CODE_MAX_FILES:
            return
        path = files.root / relative
        try:
            if path.stat().st_size > CODE_MAX_BYTES:
                continue
            data = path.read_bytes()
        except OSError:
            continue
        if b"\x00" in data[:8192]:
            continue
        yield relative, data.decode("utf-8", errors="replace")


def _scan_code(files: ProjectFiles) -> CodeSignals:
    signals = CodeSignals()

    def first(pattern: re.Pattern[str], relative: str, text: str) -> Evidence | None:
        match = pattern.search(text)
        if match is None:
            return None
        number = text.count("\n", 0, match.start()) + 1
        return Evidence(relative, number, text.splitlines()[number - 1].strip()[:200])

    # Every regex is guarded by a substring its match must contain: `in` is
    # an order of magnitude cheaper than a MULTILINE search, and most files
    # contain none of these words.
    for relative, text in _iter_code(files):
        is_test = _is_test_path(relative)
        if not is_test:
            # A fake aiohttp server in the tests of an HTTP client is not an app.
            if signals.aiohttp_app is None and "aiohttp" in text and AIOHTTP_WEB_IMPORT.search(text):
                signals.aiohttp_app = first(AIOHTTP_APP, relative, text)
                signals.aiohttp_import = signals.aiohttp_import or first(AIOHTTP_WEB_IMPORT, relative, text)
            if signals.drf_serializers is None and "serializers" in text:
                signals.drf_serializers = first(DRF_SERIALIZERS, relative, text)
            if signals.flask_migrate_directory is None and "Migrate(" in text:
                found = first(FLASK_MIGRATE_DIRECTORY, relative, text)
                if found is not None:
                    directory = FLASK_MIGRATE_DIRECTORY.search(found.text)
                    if directory:
                        signals.flask_migrate_directory = (found, directory.group(1))
            if signals.async_sqlalchemy is None and "sync" in text:
                signals.async_sqlalchemy = first(ASYNC_SQLALCHEMY, relative, text)
            # A test helper opening sqlite3 says nothing about the app's database.
            if signals.sqlite3 is None and "sqlite3" in text:
                signals.sqlite3 = first(SQLITE3_IMPORT, relative, text)
        else:
            if signals.unittest is None and "unittest" in text:
                signals.unittest = first(UNITTEST_USE, relative, text)
            if signals.django_tests is None and "TestCase" in text:
                signals.django_tests = first(DJANGO_TESTCASE, relative, text)
    return signals


# --- facts -----------------------------------------------------------------------


def _simple_facts(
    profile: StackProfile, deps: Dependencies, table: dict[str, str], category: str, with_package: bool = False
) -> None:
    by_fact: dict[str, list[str]] = {}
    for dependency in deps.installed():
        fact_name = table.get(dependency.name)
        if fact_name is not None and dependency.name not in by_fact.setdefault(fact_name, []):
            by_fact[fact_name].append(dependency.name)
    for fact_name, packages in by_fact.items():
        detail: dict[str, Any] = {}
        if with_package:
            detail["package"] = packages[0] if len(packages) == 1 else packages
        profile.add(category, Fact(fact_name, deps.evidence(*packages), detail))


def _frameworks(profile: StackProfile, deps: Dependencies, manifests: PythonManifests, code: CodeSignals) -> None:
    for package, name in FRAMEWORK_DEPS.items():
        evidence = deps.evidence(package)
        if package == "django":
            evidence += _django_manage_evidence(manifests)
        if evidence:
            profile.add("frameworks", Fact(name, tuple(sorted(set(evidence)))))
    served = code.aiohttp_app or code.aiohttp_import
    if served is not None:
        profile.add("frameworks", Fact("aiohttp", tuple(sorted({served, *deps.evidence("aiohttp")}))))


def _django_manage_evidence(manifests: PythonManifests) -> tuple[Evidence, ...]:
    """manage.py names Django itself: a project whose requirements live above
    it (or nowhere) is still a Django project."""
    if manifests.manage_py is None or manifests.manage_text is None:
        return ()
    found = line_of(manifests.manage_text, DJANGO_MANAGE)
    if found is None:
        return ()
    return (Evidence(manifests.manage_py, found.line, found.text),)


def _orms(profile: StackProfile, deps: Dependencies, code: CodeSignals) -> None:
    for package, name in ORM_DEPS.items():
        if package == "django":
            django = next((f for f in profile.frameworks if f.name == "django"), None)
            if django is not None:
                profile.add("orms", Fact("django", django.evidence))
            continue
        evidence = deps.evidence(package)
        if not evidence:
            continue
        if name == "sqlalchemy":
            profile.add("orms", _sqlalchemy_fact(deps, code, evidence, None))
        else:
            profile.add("orms", Fact(name, evidence))
    if not deps.has("sqlalchemy"):
        for based in SQLALCHEMY_BASED:
            if deps.has(based):
                profile.add("orms", _sqlalchemy_fact(deps, code, deps.evidence(based), based))
                break
    by_driver: dict[str, list[str]] = {}
    for dependency in deps.installed():
        driver = DRIVER_DEPS.get(dependency.name)
        if driver is not None:
            by_driver.setdefault(driver, []).append(dependency.name)
    for driver, packages in by_driver.items():
        profile.add("orms", Fact(driver, deps.evidence(*packages), {"kind": "driver"}))
    if code.sqlite3 is not None:
        profile.add("orms", Fact("sqlite3", (code.sqlite3,), {"kind": "driver"}))


def _sqlalchemy_fact(
    deps: Dependencies, code: CodeSignals, evidence: tuple[Evidence, ...], implied_by: str | None
) -> Fact:
    reasons: list[Evidence] = []
    if "asyncio" in deps.extras("sqlalchemy"):
        reasons.extend(deps.evidence("sqlalchemy"))
    for driver in ASYNC_SQLALCHEMY_DRIVERS:
        reasons.extend(deps.evidence(driver))
    if code.async_sqlalchemy is not None:
        reasons.append(code.async_sqlalchemy)
    detail: dict[str, Any] = {"async": bool(reasons)}
    if implied_by:
        detail["implied_by"] = implied_by
    # The evidence stays the declaration; what made it async is detail.
    if reasons:
        detail["async_evidence"] = [str(r) for r in sorted(set(reasons))]
    return Fact("sqlalchemy", evidence, detail)


def _migrations(
    files: ProjectFiles, profile: StackProfile, deps: Dependencies, manifests: PythonManifests, code: CodeSignals
) -> None:
    locations: list[str] = []
    location_evidence: list[Evidence] = []
    ini_without_location: list[str] = []
    for ini in sorted(files.named("alembic.ini")):
        found = _alembic_locations(files, ini)
        if found is None:
            continue
        if not found:
            ini_without_location.append(ini)
        for location, evidence in found:
            if location not in locations:
                locations.append(location)
            location_evidence.append(evidence)
    pyproject_location = _pyproject_alembic_location(manifests)
    if pyproject_location is not None:
        location, evidence = pyproject_location
        if location not in locations:
            locations.append(location)
        location_evidence.append(evidence)
    alembic_evidence = tuple(sorted(set(location_evidence) | set(deps.evidence("alembic"))))
    if alembic_evidence:
        profile.add("migrations", Fact("alembic", alembic_evidence, {"locations": locations}))

    if deps.has("flask-migrate"):
        location: str | None = None
        evidence = list(deps.evidence("flask-migrate"))
        if code.flask_migrate_directory is not None:
            directory_evidence, directory = code.flask_migrate_directory
            evidence.append(directory_evidence)
            if files.dir_exists(directory):
                location = directory
        elif files.dir_exists("migrations"):
            location = "migrations"
        elif ini_without_location:
            # `flask db init` writes an alembic.ini without script_location.
            location = posixpath.dirname(ini_without_location[0]) or "."
        # No folder yet (`flask db init` not run) is normal: report the tool
        # with no location rather than nothing.
        profile.add("migrations", Fact("flask-migrate", tuple(sorted(set(evidence))), {"location": location}))

    django = next((f for f in profile.frameworks if f.name == "django"), None)
    if django is not None:
        initial = sorted(p for p in files.glob("**/migrations/0001_*.py"))
        django_locations = sorted({posixpath.dirname(p) for p in initial})
        profile.add(
            "migrations",
            Fact("django", tuple(Evidence(p) for p in initial) or django.evidence, {"locations": django_locations}),
        )


def _alembic_locations(files: ProjectFiles, ini: str) -> list[tuple[str, Evidence]] | None:
    """script_location of every section (multi-database setups have several),
    relative to the root. None when the file cannot be read."""
    text = files.read_text(ini)
    if text is None:
        return None
    ini_dir = posixpath.dirname(ini)
    found: list[tuple[str, Evidence]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        match = re.match(r"\s*script_location\s*[=:]\s*(.*?)\s*$", line)
        if not match or not match.group(1):
            continue
        found.append((_resolve_location(ini_dir, match.group(1)), Evidence(ini, number, line.strip()[:200])))
    return found


def _resolve_location(base_dir: str, value: str) -> str:
    if "%(here)s" in value:
        # %(here)s is the ini file's folder: the result is root-relative already.
        return posixpath.normpath(value.replace("%(here)s", base_dir or "."))
    if re.match(r"^[\w.]+:", value) and not re.match(r"^[A-Za-z]:[\\/]", value):
        return value  # package resource ("myapp:migrations"); not a path
    if posixpath.isabs(value):
        return value
    return posixpath.normpath(posixpath.join(base_dir, value))


def _pyproject_alembic_location(manifests: PythonManifests) -> tuple[str, Evidence] | None:
    """alembic >= 1.16 reads its settings from [tool.alembic] as well."""
    if manifests.pyproject is None or manifests.pyproject_text is None:
        return None
    alembic = _table(_table(manifests.pyproject.get("tool")).get("alembic"))
    value = alembic.get("script_location")
    if not isinstance(value, str):
        return None
    found = line_of(manifests.pyproject_text, r"^\s*script_location\s*=")
    evidence = Evidence(PYPROJECT, found.line, found.text) if found else Evidence(PYPROJECT)
    return _resolve_location("", value), evidence


def _test_runners(
    files: ProjectFiles, profile: StackProfile, deps: Dependencies, manifests: PythonManifests, code: CodeSignals
) -> None:
    pytest_evidence = list(deps.evidence("pytest"))
    if not pytest_evidence:
        plugins = sorted({d.name for d in deps.installed() if d.name.startswith("pytest-")})
        pytest_evidence.extend(deps.evidence(*plugins))
    pytest_evidence.extend(_tool_table_evidence(manifests, "pytest"))
    if files.exists("pytest.ini"):
        pytest_evidence.append(Evidence("pytest.ini"))
    pytest_evidence.extend(_ini_section_evidence(files, ("setup.cfg",), "tool:pytest"))
    pytest_evidence.extend(_ini_section_evidence(files, ("tox.ini",), "pytest"))
    conftests = sorted(files.named("conftest.py"), key=lambda p: (p.count("/"), p))
    if conftests:
        pytest_evidence.append(Evidence(conftests[0]))
    if pytest_evidence:
        profile.add("test_runners", Fact("pytest", tuple(sorted(set(pytest_evidence)))))

    django = any(f.name == "django" for f in profile.frameworks)
    # Django's own runner (`manage.py test`) is unittest-based; it is the
    # project's runner unless pytest is set up.
    django_runner = django and not pytest_evidence
    evidence = [code.unittest] if code.unittest is not None else []
    if django_runner:
        if manifests.manage_py:
            evidence.append(Evidence(manifests.manage_py))
        if code.django_tests is not None:
            evidence.append(code.django_tests)
    if evidence:
        detail = {"via": "manage.py test"} if django_runner else {}
        profile.add("test_runners", Fact("unittest", tuple(sorted(set(evidence))), detail))


def _tool_table_evidence(manifests: PythonManifests, tool: str) -> list[Evidence]:
    if manifests.pyproject is None or manifests.pyproject_text is None:
        return []
    if tool not in _table(manifests.pyproject.get("tool")):
        return []
    found = line_of(manifests.pyproject_text, r"^\s*\[\s*tool\s*\.\s*" + re.escape(tool) + r"\b")
    return [Evidence(PYPROJECT, found.line, found.text) if found else Evidence(PYPROJECT)]


def _ini_section_evidence(files: ProjectFiles, names: Iterable[str], section: str) -> list[Evidence]:
    found = []
    for name in names:
        if not files.exists(name):
            continue
        text = files.read_text(name)
        if text is None:
            continue
        line = line_of(text, r"^\s*\[" + re.escape(section) + r"\]\s*$")
        if line is not None:
            found.append(Evidence(name, line.line, line.text))
    return found


def _config_files(files: ProjectFiles, *names: str) -> list[Evidence]:
    return [Evidence(name) for name in names if files.exists(name)]


def _linters_and_typecheckers(
    files: ProjectFiles, profile: StackProfile, deps: Dependencies, manifests: PythonManifests
) -> None:
    evidence_by_tool = {
        "ruff": _tool_table_evidence(manifests, "ruff") + _config_files(files, "ruff.toml", ".ruff.toml"),
        "flake8": _config_files(files, ".flake8")
        + _ini_section_evidence(files, ("setup.cfg", "tox.ini"), "flake8"),
        "pylint": _tool_table_evidence(manifests, "pylint") + _config_files(files, ".pylintrc", "pylintrc"),
        "mypy": _tool_table_evidence(manifests, "mypy")
        + _config_files(files, "mypy.ini", ".mypy.ini")
        + _ini_section_evidence(files, ("setup.cfg",), "mypy"),
        "pyright": _tool_table_evidence(manifests, "pyright") + _config_files(files, "pyrightconfig.json"),
    }
    for tool, evidence in evidence_by_tool.items():
        evidence.extend(deps.evidence(tool))
        if not evidence:
            continue
        category = "linters" if tool in LINTER_DEPS else "typecheckers"
        profile.add(category, Fact(tool, tuple(sorted(set(evidence)))))


def _package_managers(files: ProjectFiles, profile: StackProfile, manifests: PythonManifests) -> None:
    candidates = {
        "uv": _config_files(files, "uv.lock") + _tool_table_evidence(manifests, "uv"),
        "poetry": _config_files(files, "poetry.lock") + _tool_table_evidence(manifests, "poetry"),
        "pdm": _config_files(files, "pdm.lock") + _tool_table_evidence(manifests, "pdm"),
        "pipenv": _config_files(files, "Pipfile", "Pipfile.lock"),
        "pip": [Evidence(p) for p in manifests.requirements[:1]],
    }
    for name, evidence in candidates.items():
        if evidence:
            profile.add("package_managers", Fact(name, tuple(sorted(set(evidence)))))


# --- verify ----------------------------------------------------------------------

# Folders compileall must not descend into (a project's virtualenv would be
# byte-compiled otherwise).
COMPILEALL_EXCLUDE = r"[\\/](\.venv|venv|\.tox|\.nox|node_modules|build|dist)[\\/]"


def infer_verify(files: ProjectFiles, profile: StackProfile) -> None:
    """Verify steps for a Python root, from the facts detect() found. Added
    only when the profile's language is python."""
    if profile.language is None or profile.language.name != "python":
        return

    def fact(category: str, name: str) -> Fact | None:
        return next((f for f in getattr(profile, category) if f.name == name), None)

    def add(name: str, cmd: str, evidence: Iterable[Evidence], binary: str) -> None:
        if any(step.name == name for step in profile.verify):
            return
        profile.verify.append(VerifyStep.from_cmd(name, cmd, *evidence, skip_if_missing=binary))

    # Single quotes: the regex's backslashes reach compileall as written.
    add("syntax", f"python -m compileall -q -x '{COMPILEALL_EXCLUDE}' .", profile.language.evidence, "python")

    for tool, cmd in (("ruff", "ruff check ."), ("flake8", "flake8")):
        found = fact("linters", tool)
        if found is not None:
            add("lint", cmd, found.evidence, tool)
            break
    for tool, cmd in (("mypy", "mypy ."), ("pyright", "pyright")):
        found = fact("typecheckers", tool)
        if found is not None:
            add("typecheck", cmd, found.evidence, tool)
            break

    pytest = fact("test_runners", "pytest")
    unittest = fact("test_runners", "unittest")
    manage = _manage_py_path(files)
    if pytest is not None:
        add("tests", "pytest -q", pytest.evidence, "pytest")
    elif unittest is not None and unittest.detail.get("via") == "manage.py test" and manage:
        add("tests", f"python {manage} test", unittest.evidence, "python")
    elif unittest is not None:
        add("tests", "python -m unittest", unittest.evidence, "python")

    alembic = fact("migrations", "alembic")
    django = fact("migrations", "django")
    flask_migrate = fact("migrations", "flask-migrate")
    if alembic is not None and alembic.detail.get("locations"):
        inis = sorted({e.path for e in alembic.evidence if e.path.endswith("alembic.ini")})
        cmd = "alembic check" if not inis or inis[0] == "alembic.ini" else f"alembic -c {inis[0]} check"
        add("migrations", cmd, alembic.evidence, "alembic")
    elif django is not None and manage:
        add("migrations", f"python {manage} makemigrations --check --dry-run", django.evidence, "python")
    elif flask_migrate is not None and flask_migrate.detail.get("location"):
        add("migrations", "flask db check", flask_migrate.evidence, "flask")


def _manage_py_path(files: ProjectFiles) -> str | None:
    candidates = sorted((p for p in files.named("manage.py") if p.count("/") <= 2), key=lambda p: (p.count("/"), p))
    return candidates[0] if candidates else None


# --- helpers -------------------------------------------------------------------------


def _table(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _string_list(value: Any) -> list[str]:
    if not isinstance(value, list):
        return []
    return [item for item in value if isinstance(item, str)]
