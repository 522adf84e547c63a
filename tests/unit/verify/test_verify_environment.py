"""Where a step's programs come from: the project's environment before PATH."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from stackguard.verify.environment import project_environment


def executable(path: Path, text: str = "#!/bin/sh\nexit 0\n") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(0o755)
    return path


def fake_venv(root: Path, *tools: str) -> Path:
    venv = root / ".venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "pyvenv.cfg").write_text("home = /usr/bin\n")
    for tool in tools:
        executable(venv / "bin" / tool)
    return venv


def env_with_path(*dirs: Path) -> dict[str, str]:
    return {"PATH": os.pathsep.join(str(d) for d in dirs), "HOME": "/nonexistent"}


async def test_project_virtualenv_comes_first(tmp_path: Path):
    root = tmp_path / "project"
    venv = fake_venv(root, "ruff", "python")
    elsewhere = tmp_path / "usr-bin"
    executable(elsewhere / "ruff")
    environment = project_environment(root, [sys.executable], base_env=env_with_path(elsewhere))

    ruff = await environment.resolve(["ruff", "check", "."])
    assert ruff.argv == [str(venv / "bin" / "ruff"), "check", "."]
    assert ruff.via == "virtualenv"
    python = await environment.resolve(["python", "-m", "compileall"])
    assert python.argv == [str(venv / "bin" / "python"), "-m", "compileall"]

    env = environment.env()
    search = env["PATH"].split(os.pathsep)
    assert search[0] == str(venv / "bin") and search[-1] == str(elsewhere)
    assert env["VIRTUAL_ENV"] == str(venv)
    assert env["NO_COLOR"] == "1"


async def test_editor_interpreter_runs_python_tools_as_modules(tmp_path: Path):
    environment = project_environment(tmp_path, [sys.executable], base_env=env_with_path(tmp_path / "empty"))

    assert (await environment.resolve(["python", "-V"])).argv == [sys.executable, "-V"]
    pytest_run = await environment.resolve(["pytest", "-q"])
    assert pytest_run.argv == [sys.executable, "-m", "pytest", "-q"]
    assert pytest_run.via == "interpreter"
    assert (await environment.resolve(["mypy", "."])).argv == [sys.executable, "-m", "mypy", "."]


async def test_interpreter_without_the_module_is_not_used_for_it(tmp_path: Path):
    # A throwaway "interpreter" that has no modules at all.
    interpreter = executable(tmp_path / "bin" / "python", "#!/bin/sh\nexit 1\n")
    path_dir = tmp_path / "path"
    executable(path_dir / "mypy")
    environment = project_environment(tmp_path / "root", [str(interpreter)], base_env=env_with_path(path_dir))
    assert (await environment.resolve(["mypy", "."])).argv == [str(path_dir / "mypy"), "."]


async def test_node_modules_bin_and_npx_never_downloads(tmp_path: Path):
    root = tmp_path / "web"
    tsc = executable(root / "node_modules" / ".bin" / "tsc")
    path_dir = tmp_path / "path"
    npx = executable(path_dir / "npx")
    environment = project_environment(root, base_env=env_with_path(path_dir))

    assert (await environment.resolve(["tsc", "--noEmit"])).argv == [str(tsc), "--noEmit"]
    # npx tool -> the project's own tool when it has it...
    assert (await environment.resolve(["npx", "tsc", "--noEmit"])).argv == [str(tsc), "--noEmit"]
    # ...and otherwise npx without installing anything.
    assert (await environment.resolve(["npx", "eslint", "."])).argv == [str(npx), "--no-install", "eslint", "."]
    assert str(root / "node_modules" / ".bin") in environment.env()["PATH"].split(os.pathsep)


async def test_hoisted_node_modules_inside_the_folder_are_found(tmp_path: Path):
    folder = tmp_path / "monorepo"
    vitest = executable(folder / "node_modules" / ".bin" / "vitest")
    executable(tmp_path / "node_modules" / ".bin" / "jest")  # outside the folder: not used
    environment = project_environment(folder / "packages" / "api", folder=folder, base_env=env_with_path())
    assert (await environment.resolve(["vitest", "run"])).argv == [str(vitest), "run"]
    assert (await environment.resolve(["jest"])).argv is None


async def test_uv_and_poetry_only_with_their_lock_file_and_installed(tmp_path: Path):
    path_dir = tmp_path / "path"
    executable(path_dir / "uv")
    root = tmp_path / "project"
    root.mkdir()
    environment = project_environment(root, base_env=env_with_path(path_dir))
    # No lock file: not routed through uv (and pytest is not on PATH).
    assert (await environment.resolve(["pytest"])).argv is None

    (root / "uv.lock").write_text("")
    environment = project_environment(root, base_env=env_with_path(path_dir))
    assert (await environment.resolve(["pytest", "-q"])).argv == ["uv", "run", "--frozen", "pytest", "-q"]
    # Not a Python tool: not wrapped.
    assert (await environment.resolve(["go", "vet"])).argv is None

    poetry_root = tmp_path / "poetry-project"
    poetry_root.mkdir()
    (poetry_root / "poetry.lock").write_text("")
    environment = project_environment(poetry_root, base_env=env_with_path(path_dir))
    assert (await environment.resolve(["pytest"])).argv is None  # poetry is not installed
    executable(path_dir / "poetry")
    assert (await environment.resolve(["mypy", "."])).argv == ["poetry", "run", "mypy", "."]


async def test_path_fallback_and_missing_programs(tmp_path: Path):
    path_dir = tmp_path / "path"
    go = executable(path_dir / "go")
    environment = project_environment(tmp_path / "root", base_env=env_with_path(path_dir))
    assert (await environment.resolve(["go", "test", "./..."])).argv == [str(go), "test", "./..."]
    missing = await environment.resolve(["cargo", "test"])
    assert missing.argv is None and missing.program == "cargo"
    assert environment.describe() == "PATH"


async def test_relative_program_paths_are_relative_to_the_root(tmp_path: Path):
    script = executable(tmp_path / "scripts" / "check.sh")
    environment = project_environment(tmp_path, base_env=env_with_path())
    assert (await environment.resolve(["./scripts/check.sh", "--fast"])).argv == [str(script), "--fast"]
    assert (await environment.resolve(["./scripts/absent.sh"])).argv is None
