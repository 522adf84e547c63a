"""Python stack detection on realistic fixture workspaces: every field of
the profile, with the file and line each fact was read from."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import evidence_texts, summary, workspace_path

from stackguard.stack import detect_root, detect_workspace, python
from stackguard.stack.detect import MANIFEST_GLOBS, is_manifest
from stackguard.stack.files import ProjectFiles
from stackguard.stack.model import StackProfile

SYNTAX = f"python -m compileall -q -x '{python.COMPILEALL_EXCLUDE}' ."
NO_FACTS = {
    "frameworks": [],
    "orms": [],
    "migrations": [],
    "validation": [],
    "auth": [],
    "test_runners": [],
    "linters": [],
    "typecheckers": [],
    "package_managers": [],
    "databases": [],
    "queues": [],
}


def expected(**fields):
    base = {
        "relative_root": ".",
        "source": "detected",
        **NO_FACTS,
        "layers": [],
        "verify": [],
        "stack_file": None,
        "stack_settings": {},
        "raw_sql": {},
        "problems": [],
    }
    base.update(fields)
    return base


def only(name: str) -> StackProfile:
    profiles = detect_workspace(workspace_path(name))
    assert [p.relative_root for p in profiles] == ["."]
    assert profiles[0].root == str(workspace_path(name))
    return profiles[0]


# --- full profiles ---------------------------------------------------------------


def test_fastapi_sqlalchemy_alembic():
    profile = only("fastapi_sqlalchemy_alembic")
    assert summary(profile) == expected(
        language=("python", ["pyproject.toml"], {}),
        frameworks=[("fastapi", ["pyproject.toml:7"], {})],
        orms=[
            (
                "sqlalchemy",
                ["pyproject.toml:9"],
                {"async": True, "async_evidence": ["app/db.py:3", "pyproject.toml:9", "pyproject.toml:10"]},
            ),
            ("asyncpg", ["pyproject.toml:10"], {"kind": "driver"}),
        ],
        migrations=[("alembic", ["alembic.ini:2", "pyproject.toml:11"], {"locations": ["alembic"]})],
        validation=[("pydantic", ["pyproject.toml:12"], {})],
        auth=[("pyjwt", ["pyproject.toml:13"], {}), ("pwdlib", ["pyproject.toml:14"], {})],
        test_runners=[("pytest", ["pyproject.toml:20", "pyproject.toml:40", "tests/conftest.py"], {})],
        linters=[("ruff", ["pyproject.toml:23", "pyproject.toml:30"], {})],
        typecheckers=[("mypy", ["pyproject.toml:24", "pyproject.toml:36"], {})],
        package_managers=[("uv", ["pyproject.toml:27", "uv.lock"], {})],
        databases=[
            ("postgresql", ["pyproject.toml:10"], {"package": "asyncpg"}),
            ("redis", ["pyproject.toml:15"], {"package": "redis"}),
        ],
        layers=[
            ("model", "app/models/**", ["app/models"]),
            ("repository", "app/repositories/**", ["app/repositories"]),
            ("router", "app/routers/**", ["app/routers"]),
            ("schema", "app/schemas/**", ["app/schemas"]),
            ("service", "app/services/**", ["app/services"]),
            ("migration", "alembic/**", ["alembic"]),
            ("test", "tests/**", ["tests"]),
        ],
        verify=[
            ("syntax", SYNTAX, "python", None, None, ["pyproject.toml"]),
            ("lint", "ruff check .", "ruff", None, None, ["pyproject.toml:23", "pyproject.toml:30"]),
            ("typecheck", "mypy .", "mypy", None, None, ["pyproject.toml:24", "pyproject.toml:36"]),
            ("tests", "pytest -q", "pytest", None, None, ["pyproject.toml:20", "pyproject.toml:40", "tests/conftest.py"]),
            ("migrations", "alembic check", "alembic", None, None, ["alembic.ini:2", "pyproject.toml:11"]),
        ],
        manifests=["alembic.ini", "pyproject.toml", "uv.lock"],
    )
    orm = profile.orms[0]
    assert evidence_texts(orm) == {"pyproject.toml:9": '"SQLAlchemy[asyncio]>=2.0",'}
    assert evidence_texts(profile.migrations[0])["alembic.ini:2"] == "script_location = alembic"
    assert evidence_texts(profile.test_runners[0])["pyproject.toml:40"] == "[tool.pytest.ini_options]"
    assert profile.summary() == "python · fastapi · sqlalchemy · asyncpg · alembic"


def test_flask_sqlalchemy_with_include_and_flask_migrate_without_folder():
    profile = only("flask_sqlalchemy")
    assert summary(profile) == expected(
        language=("python", ["requirements.txt"], {}),
        frameworks=[("flask", ["deps/app.txt:1"], {})],
        orms=[
            ("flask-sqlalchemy", ["deps/app.txt:2"], {}),
            ("sqlalchemy", ["deps/app.txt:2"], {"async": False, "implied_by": "flask-sqlalchemy"}),
            ("psycopg", ["deps/app.txt:5"], {"kind": "driver"}),
        ],
        # No migrations/ folder yet: still reported, with no location.
        migrations=[("flask-migrate", ["deps/app.txt:3"], {"location": None})],
        validation=[("marshmallow", ["deps/app.txt:4"], {})],
        auth=[("bcrypt", ["deps/app.txt:6"], {})],
        test_runners=[("pytest", ["requirements.txt:5"], {})],
        linters=[("flake8", ["requirements.txt:6", "setup.cfg:1"], {})],
        package_managers=[("pip", ["requirements.txt"], {})],
        # celery is only in the constraints file: pinned, not installed.
        databases=[("postgresql", ["deps/app.txt:5"], {"package": "psycopg2-binary"})],
        layers=[
            ("model", "app/models.py", ["app/models.py"]),
            ("router", "app/routes/**", ["app/routes"]),
            ("service", "app/services/**", ["app/services"]),
            ("test", "tests/**", ["tests"]),
        ],
        verify=[
            ("syntax", SYNTAX, "python", None, None, ["requirements.txt"]),
            ("lint", "flake8", "flake8", None, None, ["requirements.txt:6", "setup.cfg:1"]),
            ("tests", "pytest -q", "pytest", None, None, ["requirements.txt:5"]),
        ],
        manifests=["deps/app.txt", "deps/constraints.txt", "requirements.txt", "setup.cfg"],
    )
    texts = {**evidence_texts(profile.auth[0]), **evidence_texts(profile.orms[2])}
    # A continued line is quoted by its first physical line; markers stay in the text.
    assert texts == {
        "deps/app.txt:6": "bcrypt==4.1.3 \\",
        "deps/app.txt:5": 'psycopg2-binary==2.9.9 ; platform_python_implementation == "CPython"',
    }


def test_django_with_only_requirements_folder():
    profile = only("django_requirements_base")
    django_evidence = ["manage.py:8", "requirements/base.txt:1"]
    assert summary(profile) == expected(
        language=("python", ["requirements/base.txt"], {}),
        frameworks=[
            ("django", django_evidence, {}),
            ("django-rest-framework", ["requirements/base.txt:2"], {}),
        ],
        orms=[("django", django_evidence, {}), ("psycopg", ["requirements/base.txt:4"], {"kind": "driver"})],
        migrations=[("django", ["blog/migrations/0001_initial.py"], {"locations": ["blog/migrations"]})],
        validation=[("drf-serializers", ["blog/serializers.py:1", "requirements/base.txt:2"], {})],
        auth=[
            ("djangorestframework-simplejwt", ["requirements/base.txt:3"], {}),
            ("argon2-cffi", ["requirements/base.txt:5"], {}),
        ],
        test_runners=[("unittest", ["blog/tests.py:1", "manage.py"], {"via": "manage.py test"})],
        linters=[("ruff", ["requirements/dev.txt:2"], {})],
        package_managers=[("pip", ["requirements/base.txt"], {})],
        databases=[("postgresql", ["requirements/base.txt:4"], {"package": "psycopg"})],
        queues=[("celery", ["requirements/base.txt:6"], {"package": "celery"})],
        layers=[
            ("model", "blog/models.py", ["blog/models.py"]),
            ("schema", "blog/serializers.py", ["blog/serializers.py"]),
            ("test", "blog/tests.py", ["blog/tests.py"]),
            ("router", "blog/views.py", ["blog/views.py"]),
            ("migration", "blog/migrations/**", ["blog/migrations"]),
        ],
        verify=[
            ("syntax", SYNTAX, "python", None, None, ["requirements/base.txt"]),
            ("lint", "ruff check .", "ruff", None, None, ["requirements/dev.txt:2"]),
            ("tests", "python manage.py test", "python", None, None, ["blog/tests.py:1", "manage.py"]),
            (
                "migrations",
                "python manage.py makemigrations --check --dry-run",
                "python",
                None,
                None,
                ["blog/migrations/0001_initial.py"],
            ),
        ],
        manifests=["manage.py", "requirements/base.txt", "requirements/dev.txt"],
    )
    assert evidence_texts(profile.frameworks[0])["manage.py:8"] == (
        'os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")'
    )


def test_aiohttp_app_with_infrastructure_in_services():
    profile = only("aiohttp_services")
    assert summary(profile) == expected(
        language=("python", ["pyproject.toml"], {}),
        frameworks=[("aiohttp", ["app/main.py:14", "pyproject.toml:6"], {})],
        orms=[("asyncpg", ["pyproject.toml:7"], {"kind": "driver"})],
        validation=[("pydantic", ["pyproject.toml:8"], {})],
        test_runners=[("pytest", ["pyproject.toml:13"], {})],
        databases=[("postgresql", ["pyproject.toml:7"], {"package": "asyncpg"})],
        layers=[
            # The pool wrapper is infrastructure, listed before the folder's
            # service pattern so it is not held to service-layer rules.
            ("other", "app/services/db.py", ["app/services/db.py:11"]),
            ("repository", "app/repositories/**", ["app/repositories"]),
            ("router", "app/routes/**", ["app/routes"]),
            ("service", "app/services/**", ["app/services"]),
            ("test", "tests/**", ["tests"]),
        ],
        verify=[
            ("syntax", SYNTAX, "python", None, None, ["pyproject.toml"]),
            ("tests", "pytest -q", "pytest", None, None, ["pyproject.toml:13"]),
        ],
        manifests=["pyproject.toml"],
    )
    assert evidence_texts(profile.frameworks[0])["app/main.py:14"] == "app = web.Application()"
    assert profile.layers[0].evidence[0].text == "self.pool = await asyncpg.create_pool(self.dsn, min_size=1, max_size=10)"


def test_litestar_tortoise():
    assert summary(only("litestar_tortoise")) == expected(
        language=("python", ["pyproject.toml"], {}),
        frameworks=[("litestar", ["pyproject.toml:10"], {})],
        orms=[("tortoise", ["pyproject.toml:11"], {})],
        auth=[("argon2-cffi", ["pyproject.toml:13"], {})],
        test_runners=[("pytest", ["pyproject.toml:17"], {})],
        typecheckers=[("pyright", ["pyproject.toml:17", "pyproject.toml:19"], {})],
        layers=[
            ("router", "app/controllers/**", ["app/controllers"]),
            ("model", "app/models/**", ["app/models"]),
            ("test", "tests/**", ["tests"]),
        ],
        verify=[
            ("syntax", SYNTAX, "python", None, None, ["pyproject.toml"]),
            ("typecheck", "pyright", "pyright", None, None, ["pyproject.toml:17", "pyproject.toml:19"]),
            ("tests", "pytest -q", "pytest", None, None, ["pyproject.toml:17"]),
        ],
        manifests=["pyproject.toml"],
    )


def test_peewee_with_raw_sqlite3_and_unittest():
    profile = only("peewee_sqlite3")
    assert summary(profile) == expected(
        language=("python", ["requirements.txt"], {}),
        frameworks=[("flask", ["requirements.txt:1"], {})],
        orms=[("peewee", ["requirements.txt:2"], {}), ("sqlite3", ["reports.py:3"], {"kind": "driver"})],
        auth=[("passlib", ["requirements.txt:3"], {})],
        test_runners=[("unittest", ["tests/test_app.py:1"], {})],
        package_managers=[("pip", ["requirements.txt"], {})],
        databases=[("sqlite", ["reports.py:3"], {"package": "sqlite3"})],
        layers=[("model", "models.py", ["models.py"]), ("test", "tests/**", ["tests"])],
        verify=[
            ("syntax", SYNTAX, "python", None, None, ["requirements.txt"]),
            ("tests", "python -m unittest", "python", None, None, ["tests/test_app.py:1"]),
        ],
        manifests=["requirements.txt"],
    )
    assert evidence_texts(profile.orms[1]) == {"reports.py:3": "import sqlite3"}


def test_poetry_sqlmodel():
    assert summary(only("poetry_sqlmodel")) == expected(
        language=("python", ["pyproject.toml"], {}),
        frameworks=[("fastapi", ["pyproject.toml:10"], {})],
        orms=[
            ("sqlmodel", ["pyproject.toml:11"], {}),
            (
                "sqlalchemy",
                ["pyproject.toml:11"],
                {"async": True, "implied_by": "sqlmodel", "async_evidence": ["app/crud.py:2", "pyproject.toml:12"]},
            ),
        ],
        validation=[("pydantic", ["pyproject.toml:10"], {"implied_by": "fastapi"})],
        auth=[("python-jose", ["pyproject.toml:13"], {}), ("passlib", ["pyproject.toml:14"], {})],
        test_runners=[("pytest", ["pyproject.toml:17"], {})],
        linters=[("pylint", ["pyproject.toml:18"], {})],
        package_managers=[("poetry", ["poetry.lock", "pyproject.toml:1"], {})],
        databases=[("sqlite", ["pyproject.toml:12"], {"package": "aiosqlite"})],
        layers=[
            ("repository", "app/crud.py", ["app/crud.py"]),
            ("model", "app/models.py", ["app/models.py"]),
            ("router", "app/api/**", ["app/api"]),
            ("test", "tests/**", ["tests"]),
        ],
        # pylint takes module names, not ".", so it gets no default lint step.
        verify=[
            ("syntax", SYNTAX, "python", None, None, ["pyproject.toml"]),
            ("tests", "pytest -q", "pytest", None, None, ["pyproject.toml:17"]),
        ],
        manifests=["poetry.lock", "pyproject.toml"],
    )


def test_pipenv_starlette():
    assert summary(only("pipenv_starlette")) == expected(
        language=("python", ["Pipfile"], {}),
        frameworks=[("starlette", ["Pipfile:7"], {})],
        orms=[("sqlalchemy", ["Pipfile:9"], {"async": True, "async_evidence": ["Pipfile:9"]})],
        validation=[("marshmallow", ["Pipfile:10"], {})],
        auth=[("authlib", ["Pipfile:11"], {})],
        test_runners=[("pytest", ["Pipfile:15"], {})],
        typecheckers=[("mypy", ["Pipfile:16"], {})],
        package_managers=[("pipenv", ["Pipfile", "Pipfile.lock"], {})],
        queues=[("rq", ["Pipfile:12"], {"package": "rq"})],
        verify=[
            ("syntax", SYNTAX, "python", None, None, ["Pipfile"]),
            ("typecheck", "mypy .", "mypy", None, None, ["Pipfile:16"]),
            ("tests", "pytest -q", "pytest", None, None, ["Pipfile:15"]),
        ],
        manifests=["Pipfile", "Pipfile.lock"],
    )


def test_monorepo_backend_is_its_own_root():
    profiles = detect_workspace(workspace_path("monorepo"))
    assert [p.relative_root for p in profiles] == ["backend", "frontend"]
    backend, frontend = profiles
    assert backend.root == str(workspace_path("monorepo") / "backend")
    assert summary(backend) == expected(
        relative_root="backend",
        language=("python", ["pyproject.toml"], {}),
        frameworks=[("fastapi", ["pyproject.toml:6"], {})],
        orms=[
            ("sqlalchemy", ["pyproject.toml:7"], {"async": False}),
            ("psycopg", ["pyproject.toml:8"], {"kind": "driver"}),
        ],
        # %(here)s is the folder of alembic.ini, i.e. the backend root.
        migrations=[("alembic", ["alembic.ini:2", "pyproject.toml:9"], {"locations": ["migrations"]})],
        validation=[("pydantic", ["pyproject.toml:6"], {"implied_by": "fastapi"})],
        test_runners=[("pytest", ["pyproject.toml:13"], {})],
        linters=[("ruff", ["pyproject.toml:14"], {})],
        package_managers=[("pdm", ["pdm.lock", "pyproject.toml:12"], {})],
        databases=[("postgresql", ["pyproject.toml:8"], {"package": "psycopg"})],
        layers=[
            ("router", "app/api/**", ["app/api"]),
            ("repository", "app/repositories/**", ["app/repositories"]),
            ("migration", "migrations/**", ["migrations"]),
        ],
        verify=[
            ("syntax", SYNTAX, "python", None, None, ["pyproject.toml"]),
            ("lint", "ruff check .", "ruff", None, None, ["pyproject.toml:14"]),
            ("tests", "pytest -q", "pytest", None, None, ["pyproject.toml:13"]),
            ("migrations", "alembic check", "alembic", None, None, ["alembic.ini:2", "pyproject.toml:9"]),
        ],
        manifests=["alembic.ini", "pdm.lock", "pyproject.toml"],
    )
    # The frontend is the node detector's; here only: not Python, nothing
    # of the backend leaks into it, and no Python verify steps.
    assert frontend.relative_root == "frontend"
    assert frontend.language is not None and frontend.language.name != "python"
    assert not any(e.path.endswith(".py") for f in frontend.frameworks + frontend.orms for e in f.evidence)
    assert not any(step.cmd.startswith(("python", "pytest", "alembic")) for step in frontend.verify)


def test_bad_input_keeps_detecting_around_broken_files():
    profiles = detect_workspace(workspace_path("bad_input"))
    assert [p.relative_root for p in profiles] == [".", "vendor/blob"]
    main, blob = profiles
    assert summary(main) == expected(
        # A pyproject.toml that does not parse is still a Python manifest.
        language=("python", ["pyproject.toml"], {}),
        frameworks=[("flask", ["requirements.txt:1"], {})],
        migrations=[("flask-migrate", ["requirements.txt:2"], {"location": None})],
        package_managers=[("pip", ["requirements.txt"], {})],
        verify=[("syntax", SYNTAX, "python", None, None, ["pyproject.toml"])],
        manifests=["pyproject.toml", "requirements-dev.txt", "requirements.txt"],
        problems=[
            ("pyproject.toml", 6, 21, "error", "invalid TOML: Illegal character '\\n'"),
            ("requirements-dev.txt", 0, 0, "error", "not valid UTF-8 (byte 17); skipped"),
        ],
    )
    assert summary(blob) == expected(
        relative_root="vendor/blob",
        language=None,
        manifests=["pyproject.toml"],
        problems=[("pyproject.toml", 0, 0, "error", "binary file, not a text manifest; skipped")],
    )


# --- traps and details, on small trees written by the test --------------------------


def write(root: Path, files: dict[str, str | bytes]) -> Path:
    for relative, content in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return root


def names(profile: StackProfile, category: str) -> list[str]:
    return profile.names(category)


def test_aiohttp_as_http_client_is_not_a_framework(tmp_path):
    write(
        tmp_path,
        {
            "requirements.txt": "aiohttp==3.9.5\nfastapi==0.111.0\n",
            "app/clients.py": "import aiohttp\n\nasync def fetch(url):\n    async with aiohttp.ClientSession() as s:\n        return await s.get(url)\n",
            # A fake server in the client's tests does not make the project an aiohttp app.
            "tests/test_clients.py": "from aiohttp import web\n\napp = web.Application()\n",
        },
    )
    assert names(detect_root(tmp_path), "frameworks") == ["fastapi"]


def test_tornado_web_application_is_not_aiohttp(tmp_path):
    write(
        tmp_path,
        {
            "requirements.txt": "tornado==6.4\naiohttp==3.9.5\n",
            "server.py": "from tornado import web\n\napp = web.Application([])\n",
        },
    )
    assert names(detect_root(tmp_path), "frameworks") == []


def test_aiohttp_framework_from_import_when_app_is_built_elsewhere(tmp_path):
    write(
        tmp_path,
        {
            "pyproject.toml": '[project]\nname = "x"\ndependencies = ["aiohttp"]\n',
            "handlers.py": "from aiohttp.web import Request, Response\n\nasync def ok(request: Request) -> Response:\n    return Response()\n",
        },
    )
    profile = detect_root(tmp_path)
    assert [(f.name, [str(e) for e in f.evidence]) for f in profile.frameworks] == [
        ("aiohttp", ["handlers.py:1", "pyproject.toml:3"])
    ]


def test_unittest_mock_in_pytest_suite_is_not_unittest(tmp_path):
    write(
        tmp_path,
        {
            "requirements.txt": "pytest\n",
            "tests/test_a.py": "from unittest import mock\nimport unittest.mock\n\ndef test_a():\n    assert mock\n",
        },
    )
    assert names(detect_root(tmp_path), "test_runners") == ["pytest"]


def test_requirements_includes_are_cycle_safe_and_relative(tmp_path):
    write(
        tmp_path,
        {
            "requirements.txt": "-r requirements/base.txt\n--requirement=requirements/extra.txt\n",
            "requirements/base.txt": "-r ../requirements.txt\n-rextra.txt\nfastapi\n",
            "requirements/extra.txt": "-r base.txt\nredis[hiredis]>=5 ; python_version >= '3.11'\n",
        },
    )
    profile = detect_root(tmp_path)
    assert names(profile, "frameworks") == ["fastapi"]
    assert [(f.name, [str(e) for e in f.evidence]) for f in profile.databases] == [
        ("redis", ["requirements/extra.txt:2"])
    ]
    assert profile.problems == []


def test_requirements_include_outside_root_or_missing_is_reported(tmp_path):
    root = tmp_path / "svc"
    write(tmp_path, {"shared.txt": "django\n"})
    write(root, {"requirements.txt": "flask\n-r ../shared.txt\n-c missing-constraints.txt\n"})
    profile = detect_root(root)
    assert names(profile, "frameworks") == ["flask"]
    assert [(Path(p.path).name, p.line, p.severity, p.message) for p in profile.problems] == [
        ("requirements.txt", 2, "info", "include '../shared.txt' is outside the project root; not followed"),
        ("requirements.txt", 3, "warning", "included file 'missing-constraints.txt' not found"),
    ]


def test_requirement_line_forms(tmp_path):
    write(
        tmp_path,
        {
            "requirements.txt": (
                "--index-url https://pypi.example/simple\n"
                "-e .\n"
                "-e git+https://github.com/acme/auth.git#egg=Authlib\n"
                "https://files.example/flask_sqlalchemy-3.1.tar.gz#egg=Flask_SQLAlchemy\n"
                "Django_REST_framework @ https://example.com/drf.zip\n"
                "   # indented comment\n"
                "sqlalchemy[asyncio,mypy]>=2;python_version>'3.8' --hash=sha256:00\n"
                "psycopg2>=2.9\n"
            ),
        },
    )
    profile = detect_root(tmp_path)
    assert names(profile, "auth") == ["authlib"]
    assert names(profile, "orms") == ["sqlalchemy", "flask-sqlalchemy", "psycopg"]
    assert profile.orms[0].detail["async"] is True
    # `Django_REST_framework` normalises to django-rest-framework, not djangorestframework.
    assert names(profile, "frameworks") == []


def test_pyproject_dependency_tables(tmp_path):
    write(
        tmp_path,
        {
            "pyproject.toml": (
                "[project]\n"
                'name = "svc"\n'
                'dependencies = ["Flask>=3"]\n'
                "[project.optional-dependencies]\n"
                'auth = ["passlib[bcrypt]"]\n'
                "[dependency-groups]\n"
                'test = ["pytest"]\n'
                'dev = [{include-group = "test"}, "ruff"]\n'
                "[tool.uv]\n"
                'dev-dependencies = ["mypy"]\n'
                "[tool.pdm.dev-dependencies]\n"
                'lint = ["flake8"]\n'
            )
        },
    )
    profile = detect_root(tmp_path)
    rows = {
        category: [(f.name, [str(e) for e in f.evidence]) for f in getattr(profile, category)]
        for category in ("frameworks", "auth", "test_runners", "linters", "typecheckers", "package_managers")
    }
    assert rows == {
        "frameworks": [("flask", ["pyproject.toml:3"])],
        "auth": [("passlib", ["pyproject.toml:5"])],
        "test_runners": [("pytest", ["pyproject.toml:7"])],
        "linters": [("ruff", ["pyproject.toml:8"]), ("flake8", ["pyproject.toml:12"])],
        "typecheckers": [("mypy", ["pyproject.toml:10"])],
        "package_managers": [("uv", ["pyproject.toml:9"]), ("pdm", ["pyproject.toml:11"])],
    }


def test_dependency_line_is_not_confused_with_longer_names(tmp_path):
    write(
        tmp_path,
        {
            "pyproject.toml": (
                "[project]\n"
                'name = "svc"\n'
                "dependencies = [\n"
                '  "flask-sqlalchemy>=3",\n'
                '  "sqlalchemy-utils",\n'
                '  "SQLAlchemy >= 2",\n'
                "]\n"
            )
        },
    )
    profile = detect_root(tmp_path)
    assert [(f.name, [str(e) for e in f.evidence]) for f in profile.orms] == [
        ("sqlalchemy", ["pyproject.toml:6"]),
        ("flask-sqlalchemy", ["pyproject.toml:4"]),
    ]


def test_setup_py_and_setup_cfg_install_requires(tmp_path):
    write(
        tmp_path,
        {
            "setup.py": 'from setuptools import setup\n\nsetup(\n    name="x",\n    install_requires=[\n        "falcon",\n        "peewee>=3",\n    ],\n)\n',
            "setup.cfg": "[metadata]\nname = x\n\n[options]\ninstall_requires =\n    flask\n    marshmallow\n\n[options.extras_require]\ntest =\n    pytest\n\n[mypy]\nstrict = True\n",
        },
    )
    profile = detect_root(tmp_path)
    assert profile.language is not None and [str(e) for e in profile.language.evidence] == ["setup.py"]
    assert [(f.name, [str(e) for e in f.evidence]) for f in profile.frameworks] == [("flask", ["setup.cfg:6"])]
    assert [(f.name, [str(e) for e in f.evidence]) for f in profile.orms] == [("peewee", ["setup.py:7"])]
    assert [(f.name, [str(e) for e in f.evidence]) for f in profile.test_runners] == [("pytest", ["setup.cfg:11"])]
    assert [(f.name, [str(e) for e in f.evidence]) for f in profile.typecheckers] == [("mypy", ["setup.cfg:13"])]


def test_setup_cfg_with_only_tool_sections_is_not_a_manifest(tmp_path):
    write(tmp_path, {"setup.cfg": "[flake8]\nmax-line-length = 100\n"})
    profile = detect_root(tmp_path)
    assert profile.language is None
    assert profile.linters == []  # Python facts need a Python project


def test_invalid_setup_cfg_is_a_problem(tmp_path):
    write(tmp_path, {"requirements.txt": "flask\n", "setup.cfg": "install_requires = flask\n[options]\n"})
    profile = detect_root(tmp_path)
    assert names(profile, "frameworks") == ["flask"]
    assert [(Path(p.path).name, p.line, p.message) for p in profile.problems] == [
        ("setup.cfg", 1, "invalid INI: a setting before any [section] header")
    ]


def test_tool_config_pyproject_next_to_package_json_is_not_python(tmp_path):
    write(
        tmp_path,
        {
            "package.json": '{"name": "web", "dependencies": {"express": "^4"}}\n',
            "pyproject.toml": "[tool.black]\nline-length = 100\n",
        },
    )
    profile = detect_root(tmp_path)
    assert profile.language is not None and profile.language.name != "python"
    assert not any(step.cmd.startswith("python") for step in profile.verify)


def test_manage_py_alone_names_django(tmp_path):
    root = write(
        tmp_path,
        {
            "manage.py": 'import os\nos.environ.setdefault("DJANGO_SETTINGS_MODULE", "site.settings")\n',
            "shop/migrations/0001_initial.py": "",
            "billing/migrations/0001_first.py": "",
        },
    )
    profile = detect_root(root)
    assert [str(e) for e in profile.language.evidence] == ["manage.py"]
    assert names(profile, "frameworks") == ["django"]
    assert profile.migrations[0].detail == {"locations": ["billing/migrations", "shop/migrations"]}
    assert [(s.name, s.cmd) for s in profile.verify if s.name in ("tests", "migrations")] == [
        ("tests", "python manage.py test"),
        ("migrations", "python manage.py makemigrations --check --dry-run"),
    ]


def test_alembic_every_section_and_nested_ini(tmp_path):
    write(
        tmp_path,
        {
            "pyproject.toml": '[project]\nname = "x"\ndependencies = ["sqlalchemy"]\n',
            "db/alembic.ini": (
                "[primary]\nscript_location = migrations/primary\n\n"
                "[analytics]\nscript_location = %(here)s/migrations/analytics\n\n"
                "[loggers]\nkeys = root\n"
            ),
            "db/migrations/primary/env.py": "",
            "db/migrations/analytics/env.py": "",
        },
    )
    profile = detect_root(tmp_path)
    alembic = profile.migrations[0]
    assert (alembic.name, [str(e) for e in alembic.evidence], alembic.detail) == (
        "alembic",
        ["db/alembic.ini:2", "db/alembic.ini:5"],
        {"locations": ["db/migrations/primary", "db/migrations/analytics"]},
    )
    assert [(s.name, s.cmd) for s in profile.verify if s.name == "migrations"] == [
        ("migrations", "alembic -c db/alembic.ini check")
    ]
    assert [(p.layer, p.glob) for p in profile.layers] == [("migration", "db/migrations/**")]


def test_flask_migrate_with_folder_gets_location_and_verify_step(tmp_path):
    write(
        tmp_path,
        {
            "requirements.txt": "flask\nflask-migrate\n",
            "migrations/alembic.ini": "[alembic]\n# template used to generate migration files\n",
            "migrations/env.py": "",
        },
    )
    profile = detect_root(tmp_path)
    assert [(f.name, f.detail) for f in profile.migrations] == [("flask-migrate", {"location": "migrations"})]
    assert [(s.name, s.cmd, s.skip_if_missing) for s in profile.verify if s.name == "migrations"] == [
        ("migrations", "flask db check", "flask")
    ]


def test_pytest_config_files_and_plugins(tmp_path):
    write(
        tmp_path,
        {
            "requirements.txt": "pytest-django\n",
            "tox.ini": "[tox]\nenvlist = py311\n\n[pytest]\naddopts = -q\n",
            "pytest.ini": "[pytest]\n",
            "app/conftest.py": "",
        },
    )
    profile = detect_root(tmp_path)
    assert [(f.name, [str(e) for e in f.evidence]) for f in profile.test_runners] == [
        ("pytest", ["app/conftest.py", "pytest.ini", "requirements.txt:1", "tox.ini:4"])
    ]


def test_compileall_exclusion_skips_virtualenvs():
    step_argv = python.VerifyStep.from_cmd("syntax", SYNTAX).argv
    pattern = re.compile(step_argv[step_argv.index("-x") + 1])
    assert pattern.search("/srv/app/.venv/lib/python3.11/site-packages/x.py")
    assert pattern.search("C:\\srv\\app\\venv\\Lib\\x.py")
    assert not pattern.search("/srv/app/app/services/venvs_report.py")


def test_huge_requirements_file_is_skipped_with_a_problem(tmp_path):
    write(tmp_path, {"pyproject.toml": '[project]\nname = "x"\ndependencies = ["flask"]\n'})
    (tmp_path / "requirements.txt").write_text("django\n" + "# padding\n" * 250_000)
    profile = detect_root(tmp_path)
    assert names(profile, "frameworks") == ["flask"]
    assert [(Path(p.path).name, p.message.split(",")[0]) for p in profile.problems] == [
        ("requirements.txt", "file is 2500007 bytes")
    ]


def test_directory_named_like_a_manifest(tmp_path):
    write(tmp_path, {"requirements.txt/readme.md": "not a file\n", "Pipfile/x": "", "setup.py": "from setuptools import setup\n"})
    profile = detect_root(tmp_path)
    assert [str(e) for e in profile.language.evidence] == ["setup.py"]
    assert profile.package_managers == []
    assert profile.problems == []


def test_symlink_loop_does_not_hang_detection(tmp_path):
    write(tmp_path, {"requirements.txt": "flask\n", "app/main.py": "from flask import Flask\n"})
    (tmp_path / "app" / "loop").symlink_to(tmp_path, target_is_directory=True)
    (tmp_path / "self").symlink_to(tmp_path / "self")  # a link to itself
    (tmp_path / "dangling.py").symlink_to(tmp_path / "nowhere.py")
    profiles = detect_workspace(tmp_path)
    assert [p.relative_root for p in profiles] == ["."]
    assert profiles[0].names("frameworks") == ["flask"]


def test_a_failing_detector_becomes_a_problem(tmp_path, monkeypatch):
    write(tmp_path, {"requirements.txt": "flask\n"})

    def broken(files: ProjectFiles, profile: StackProfile) -> None:
        raise RuntimeError("boom")

    from stackguard.stack import detect as detect_module

    ecosystems = tuple((name, broken if name == "go" else fn) for name, fn in detect_module.ECOSYSTEMS)
    monkeypatch.setattr(detect_module, "ECOSYSTEMS", ecosystems)
    [profile] = detect_workspace(tmp_path)
    assert profile.names("frameworks") == ["flask"]
    assert [(p.path, p.message) for p in profile.problems] == [
        (str(tmp_path), "go detection failed: RuntimeError: boom")
    ]


def test_a_failing_root_does_not_stop_the_others(tmp_path, monkeypatch):
    write(tmp_path, {"a/requirements.txt": "flask\n", "b/requirements.txt": "django\n"})
    from stackguard.stack import detect as detect_module

    real_scan = ProjectFiles.scan

    def scan(root, prune=None, max_files=50_000):
        if Path(root).name == "a":
            raise OSError("disk on fire")
        return real_scan(root, prune=prune, max_files=max_files)

    monkeypatch.setattr(detect_module.ProjectFiles, "scan", staticmethod(scan))
    profiles = detect_workspace(tmp_path)
    assert [(p.relative_root, p.names("frameworks"), [pr.message for pr in p.problems]) for p in profiles] == [
        ("a", [], ["cannot list the project's files: OSError: disk on fire"]),
        ("b", ["django"], []),
    ]


def test_detect_root_alone_leaves_nested_roots_out(tmp_path):
    write(
        tmp_path,
        {
            "requirements.txt": "flask\n",
            "worker/requirements.txt": "celery\n",
            "worker/tasks.py": "import sqlite3\n",
        },
    )
    profile = detect_root(tmp_path)
    assert profile.relative_root == "."
    assert profile.queues == [] and profile.databases == []
    nested = detect_root(tmp_path / "worker", tmp_path)
    assert nested.relative_root == "worker"
    assert nested.names("queues") == ["celery"]


def test_empty_folder_gets_an_empty_profile(tmp_path):
    [profile] = detect_workspace(tmp_path)
    assert summary(profile) == expected(language=None, manifests=[])


# --- manifests ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "pyproject.toml",
        "backend/pyproject.toml",
        "/home/ana/build/shop/requirements.txt",  # `build` above the workspace is fine
        "requirements-dev.txt",
        "requirements/base.txt",
        "requirements.in",
        "Pipfile",
        "Pipfile.lock",
        "setup.cfg",
        "setup.py",
        "src/manage.py",
        "db/alembic.ini",
        "uv.lock",
        "poetry.lock",
        "pdm.lock",
        "package.json",
        "tsconfig.json",
        "prisma/schema.prisma",
        "go.mod",
        "Cargo.toml",
        "pom.xml",
        "build.gradle",
        "build.gradle.kts",
        "docker-compose.yml",
        "docker-compose.override.yaml",
        "compose.yaml",
        "stack/stack.yaml",
        ".agents/skills/oma-backend/stack/stack.yaml",
    ],
)
def test_is_manifest(path):
    assert is_manifest(path)
    assert is_manifest(Path("/ws") / path)


@pytest.mark.parametrize(
    "path",
    [
        "app/main.py",
        "README.md",
        "stack.yaml",
        "config/stack.yaml",
        "node_modules/express/package.json",
        "/ws/.venv/lib/python3.11/site-packages/x/pyproject.toml",
        "requirements/README.md",
        "docs/requirements.md",
    ],
)
def test_is_not_manifest(path):
    assert not is_manifest(path)


def test_is_manifest_with_root_skips_build_output_below_it():
    assert not is_manifest("/ws/dist/package.json", root="/ws")
    assert not is_manifest("/ws/build/lib/setup.py", root="/ws")
    assert is_manifest("/ws/backend/package.json", root="/ws")
    assert is_manifest("/home/build/ws/package.json", root="/home/build/ws")


def test_every_manifest_a_detector_reads_is_watched():
    """The files the fixtures' profiles list as manifests (except requirement
    includes with free names) must re-trigger detection when they change."""
    roots = ["fastapi_sqlalchemy_alembic", "django_requirements_base", "poetry_sqlmodel", "pipenv_starlette", "monorepo"]
    for name in roots:
        for profile in detect_workspace(workspace_path(name)):
            for manifest in profile.manifests:
                assert is_manifest(manifest), (name, manifest)
    assert len(MANIFEST_GLOBS) == len(set(MANIFEST_GLOBS))


def test_bad_input_with_symlink_loops_added_at_runtime(copy_workspace):
    root = copy_workspace("bad_input")
    (root / "vendor" / "blob" / "back").symlink_to(root, target_is_directory=True)
    (root / "loop").symlink_to(root / "loop")
    profiles = detect_workspace(root)
    assert [(p.relative_root, p.names("frameworks"), len(p.problems)) for p in profiles] == [
        (".", ["flask"], 2),
        ("vendor/blob", [], 1),
    ]


def test_flask_migrate_location_appears_once_the_folder_exists(copy_workspace):
    root = copy_workspace("flask_sqlalchemy")
    (root / "migrations" / "versions").mkdir(parents=True)
    (root / "migrations" / "env.py").write_text("from alembic import context\n")
    profile = detect_root(root)
    assert [(f.name, f.detail) for f in profile.migrations] == [("flask-migrate", {"location": "migrations"})]
    assert ("migration", "migrations/**") in [(p.layer, p.glob) for p in profile.layers]
    assert profile.verify[-1].cmd == "flask db check"


def test_code_signals_in_tests_do_not_describe_the_app(tmp_path):
    write(
        tmp_path,
        {
            "requirements.txt": "sqlalchemy\npytest\n",
            "app/db.py": "from sqlalchemy import create_engine\n",
            "tests/helpers.py": "import sqlite3\nfrom sqlalchemy.ext.asyncio import AsyncSession\n",
        },
    )
    profile = detect_root(tmp_path)
    assert [(f.name, f.detail) for f in profile.orms] == [("sqlalchemy", {"async": False})]
    assert profile.databases == []
