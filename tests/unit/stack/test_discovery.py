"""Which folders of a workspace are project roots."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import workspace_path

from stackguard.stack import discovery
from stackguard.stack.discovery import find_project_roots


def write(root: Path, *relatives: str, content: str = "") -> Path:
    for relative in relatives:
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")
    return root


def relative_roots(folder: Path) -> list[str]:
    return [root.relative_to(folder).as_posix() or "." for root in find_project_roots(folder)]


@pytest.mark.parametrize(
    "name",
    [
        "fastapi_sqlalchemy_alembic",
        "flask_sqlalchemy",
        "django_requirements_base",
        "aiohttp_services",
        "litestar_tortoise",
        "peewee_sqlite3",
        "poetry_sqlmodel",
        "pipenv_starlette",
        "stack_yaml_override",
        "stack_yaml_malformed",
        "stack_yaml_invalid",
    ],
)
def test_single_root_fixtures(name):
    assert relative_roots(workspace_path(name)) == ["."]


def test_monorepo_without_top_manifest_reports_only_nested_roots():
    assert relative_roots(workspace_path("monorepo")) == ["backend", "frontend"]


def test_bad_input_binary_manifest_still_marks_a_root():
    # Discovery does not read pyproject.toml; detection reports it unreadable.
    assert relative_roots(workspace_path("bad_input")) == [".", "vendor/blob"]


@pytest.mark.parametrize(
    "manifest",
    [
        "pyproject.toml",
        "setup.py",
        "requirements.txt",
        "requirements-dev.txt",
        "requirements_test.txt",
        "requirements.in",
        "requirements-prod.in",
        "Pipfile",
        "manage.py",
        "package.json",
        "go.mod",
        "Cargo.toml",
        "pom.xml",
        "build.gradle",
        "build.gradle.kts",
        "stack/stack.yaml",
        ".agents/skills/oma-backend/stack/stack.yaml",
        "requirements/base.txt",
        "requirements/prod.in",
    ],
)
def test_each_root_manifest_marks_its_folder(tmp_path, manifest):
    write(tmp_path, f"svc/{manifest}")
    assert relative_roots(tmp_path) == ["svc"]


def test_requirements_folder_belongs_to_its_parent(tmp_path):
    write(tmp_path, "requirements/base.txt", "requirements/dev.txt", "manage.py", "blog/models.py")
    assert relative_roots(tmp_path) == ["."]


def test_requirements_folder_holding_requirements_txt_is_not_a_root_itself(tmp_path):
    write(tmp_path, "requirements/requirements.txt")
    assert relative_roots(tmp_path) == ["."]


def test_setup_cfg_counts_only_when_it_declares_a_package(tmp_path):
    (tmp_path / "tools").mkdir()
    (tmp_path / "tools" / "setup.cfg").write_text("[flake8]\nmax-line-length = 100\n")
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "setup.cfg").write_text("[metadata]\nname = lib\n")
    (tmp_path / "opt").mkdir()
    (tmp_path / "opt" / "setup.cfg").write_text("[options]\npackages = find:\n")
    assert relative_roots(tmp_path) == ["lib", "opt"]


def test_nested_service_roots_are_separate(tmp_path):
    write(tmp_path, "pyproject.toml", "services/billing/requirements.txt", "services/web/package.json", "app/main.py")
    assert relative_roots(tmp_path) == [".", "services/billing", "services/web"]


def test_roots_nested_in_roots(tmp_path):
    write(tmp_path, "package.json", "packages/api/package.json", "packages/api/worker/go.mod")
    assert relative_roots(tmp_path) == [".", "packages/api", "packages/api/worker"]


def test_docs_requirements_is_not_a_project(tmp_path):
    write(tmp_path, "pyproject.toml", "docs/requirements.txt", "doc/requirements.txt")
    assert relative_roots(tmp_path) == ["."]
    # …unless the docs folder is a project by a real manifest.
    write(tmp_path, "docs/package.json")
    assert relative_roots(tmp_path) == [".", "docs"]


def test_build_output_and_dependencies_are_never_roots(tmp_path):
    write(
        tmp_path,
        "package.json",
        "dist/package.json",  # committed NestJS build
        "build/lib/setup.py",
        "node_modules/express/package.json",
        ".venv/lib/python3.11/site-packages/x/pyproject.toml",
        "target/classes/pom.xml",
        "pkg.egg-info/requires.txt",
        ".git/hooks/package.json",
        ".cache/thing/pyproject.toml",
    )
    assert relative_roots(tmp_path) == ["."]


def test_empty_folder_is_its_own_root(tmp_path):
    write(tmp_path, "notes/readme.md")
    assert find_project_roots(tmp_path) == [tmp_path]


def test_directory_named_like_a_manifest_is_not_a_manifest(tmp_path):
    write(tmp_path, "svc/pyproject.toml/README.md", "svc/package.json/index.js")
    assert find_project_roots(tmp_path) == [tmp_path]
    assert relative_roots(tmp_path) == ["."]


def test_symlink_loops_and_symlinked_folders_are_not_followed(tmp_path):
    write(tmp_path, "pyproject.toml", "real/package.json")
    (tmp_path / "loop").symlink_to(tmp_path, target_is_directory=True)
    (tmp_path / "real" / "up").symlink_to(tmp_path / "real", target_is_directory=True)
    (tmp_path / "alias").symlink_to(tmp_path / "real", target_is_directory=True)
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")  # a <-> b cycle
    assert relative_roots(tmp_path) == [".", "real"]


def test_symlinked_manifest_file_counts(tmp_path):
    write(tmp_path, "shared/requirements.txt")
    (tmp_path / "svc").mkdir()
    (tmp_path / "svc" / "requirements.txt").symlink_to(tmp_path / "shared" / "requirements.txt")
    assert relative_roots(tmp_path) == ["shared", "svc"]


def test_depth_is_bounded(tmp_path):
    deep = "/".join(f"d{i}" for i in range(discovery.MAX_DEPTH + 1))
    shallow = "/".join(f"d{i}" for i in range(discovery.MAX_DEPTH))
    write(tmp_path, f"{deep}/package.json", f"{shallow}/go.mod")
    assert relative_roots(tmp_path) == [shallow]


def test_root_count_is_bounded(tmp_path, monkeypatch):
    monkeypatch.setattr(discovery, "MAX_ROOTS", 3)
    write(tmp_path, *(f"svc{i}/go.mod" for i in range(10)))
    assert len(find_project_roots(tmp_path)) == 3


def test_visited_folder_count_is_bounded(tmp_path, monkeypatch):
    monkeypatch.setattr(discovery, "MAX_DIRS_VISITED", 5)
    write(tmp_path, *(f"f{i}/x/go.mod" for i in range(10)))
    assert len(find_project_roots(tmp_path)) < 10


def test_missing_folder_is_reported_as_itself(tmp_path):
    missing = tmp_path / "gone"
    assert find_project_roots(missing) == [missing]
