"""Which program a step's command word really runs: the project's own
environment first, the user's PATH last.

For a bare program name (``pytest``, ``tsc``, ``python``) the first of these
that has it wins:

1. the project's virtualenv (``.venv/bin``, ``venv/bin``);
2. the interpreter the editor passed (``settings.interpreter``): ``python``
   becomes that interpreter, and ``pytest`` / ``mypy`` / ``ruff`` become
   ``<interpreter> -m <module>`` when the module is importable there; then
   the scripts folder of that interpreter's virtualenv;
3. ``node_modules/.bin`` of the root (and of its parents inside the
   workspace folder, for hoisted monorepos);
4. ``uv run`` / ``poetry run`` for Python tools, only when the project has
   the lock file and uv / poetry is installed;
5. ``PATH``.

The same folders are put first on the child's ``PATH`` (with
``VIRTUAL_ENV`` for a virtualenv), so tools a command starts resolve the
same way. ``npx tool`` runs ``node_modules/.bin/tool`` when the project has
it and otherwise gets ``--no-install``, so a verify step never downloads a
package.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

_WINDOWS = sys.platform == "win32"
_SCRIPTS = "Scripts" if _WINDOWS else "bin"
VENV_DIRS = (".venv", "venv")
# Programs that are Python modules of the same name, run as ``python -m``
# through the editor's interpreter.
INTERPRETER_MODULES = {"pytest": "pytest", "py.test": "pytest", "mypy": "mypy", "ruff": "ruff"}
PYTHON_NAMES = ("python", "python3")
# Command words worth routing through ``uv run`` / ``poetry run``.
PYTHON_TOOLS = frozenset(
    {
        "python",
        "python3",
        "pytest",
        "py.test",
        "mypy",
        "ruff",
        "flake8",
        "pyright",
        "pylint",
        "alembic",
        "django-admin",
        "flask",
        "coverage",
        "black",
        "isort",
    }
)
# (lock file, runner, argv prefix)
LOCK_RUNNERS = (("uv.lock", "uv", ("uv", "run", "--frozen")), ("poetry.lock", "poetry", ("poetry", "run")))
# Command words that already choose an environment themselves.
WRAPPERS = frozenset({"uv", "uvx", "poetry", "pipenv", "pdm", "hatch", "npx", "pnpm", "yarn", "bunx", "bun", "npm"})
MODULE_CHECK_TIMEOUT_S = 15.0


@dataclass(frozen=True)
class Resolution:
    """How a command will be started. ``argv`` is None when its program
    cannot be found; ``via`` names where it was found (for messages)."""

    argv: list[str] | None
    via: str
    program: str

    @property
    def found(self) -> bool:
        return self.argv is not None


@dataclass
class ProjectEnvironment:
    root: Path
    interpreter: list[str] = field(default_factory=list)
    venv: Path | None = None
    interpreter_scripts: Path | None = None
    node_bins: list[Path] = field(default_factory=list)
    base_env: dict[str, str] = field(default_factory=dict)
    _module_cache: dict[str, bool] = field(default_factory=dict)

    # -- the child's environment ---------------------------------------------
    @property
    def path_dirs(self) -> list[Path]:
        dirs: list[Path] = []
        if self.venv is not None:
            dirs.append(self.venv / _SCRIPTS)
        if self.interpreter_scripts is not None:
            dirs.append(self.interpreter_scripts)
        dirs.extend(self.node_bins)
        return dirs

    @property
    def search_path(self) -> str:
        inherited = self.base_env.get("PATH", os.defpath)
        return os.pathsep.join([*(str(d) for d in self.path_dirs), inherited])

    def env(self) -> dict[str, str]:
        env = dict(self.base_env)
        env["PATH"] = self.search_path
        if self.venv is not None:
            env["VIRTUAL_ENV"] = str(self.venv)
        # Plain, unbuffered output: lines arrive as they are written and
        # parse without colour codes.
        env["PYTHONUNBUFFERED"] = "1"
        env["NO_COLOR"] = "1"
        env.pop("FORCE_COLOR", None)
        env.pop("PYTHONHOME", None)
        return env

    # -- finding programs ------------------------------------------------------
    def describe(self) -> str:
        """Where programs are looked up, for "not found" messages."""
        places = [str(_relative(d, self.root)) for d in self.path_dirs]
        if self.interpreter:
            places.insert(0, f"interpreter {' '.join(self.interpreter)}")
        places.append("PATH")
        return ", ".join(places)

    def _in_dir(self, directory: Path, name: str) -> str | None:
        found = shutil.which(name, path=str(directory))
        return found

    def which_inherited(self, name: str) -> str | None:
        return shutil.which(name, path=self.base_env.get("PATH", os.defpath))

    async def resolve_program(self, name: str) -> Resolution:
        """Where the command word ``name`` comes from; see the module doc."""
        if os.sep in name or (os.altsep and os.altsep in name):
            path = Path(name) if Path(name).is_absolute() else self.root / name
            if path.is_file() and os.access(path, os.X_OK):
                return Resolution([str(path)], "path", name)
            return Resolution(None, "path", name)
        if self.venv is not None and (found := self._in_dir(self.venv / _SCRIPTS, name)):
            return Resolution([found], "virtualenv", name)
        if self.interpreter:
            if name in PYTHON_NAMES:
                return Resolution(list(self.interpreter), "interpreter", name)
            module = INTERPRETER_MODULES.get(name)
            if module is not None and await self.interpreter_has_module(module):
                return Resolution([*self.interpreter, "-m", module], "interpreter", name)
            if self.interpreter_scripts is not None and (found := self._in_dir(self.interpreter_scripts, name)):
                return Resolution([found], "interpreter", name)
        for directory in self.node_bins:
            if found := self._in_dir(directory, name):
                return Resolution([found], "node_modules", name)
        if name in PYTHON_TOOLS:
            for lock_file, runner, prefix in LOCK_RUNNERS:
                if (self.root / lock_file).is_file() and self.which_inherited(runner):
                    return Resolution([*prefix, name], runner, name)
        if found := self.which_inherited(name):
            return Resolution([found], "PATH", name)
        if name == "python" and (found := self.which_inherited("python3")):
            return Resolution([found], "PATH", name)
        return Resolution(None, "", name)

    async def resolve(self, argv: Sequence[str]) -> Resolution:
        """The argv to start for a step's argv; ``argv`` None when its program
        is missing."""
        if not argv:
            return Resolution(None, "", "")
        head, *rest = argv
        if head == "npx":
            rewritten = self._npx(rest)
            if rewritten is not None:
                return rewritten
        program = await self.resolve_program(head)
        if program.argv is None:
            return program
        return Resolution([*program.argv, *rest], program.via, head)

    def _npx(self, rest: list[str]) -> Resolution | None:
        """``npx [flags] tool args``: the project's own tool, never a download."""
        index = 0
        while index < len(rest) and rest[index].startswith("-"):
            index += 1
        if index >= len(rest):
            return None
        tool = rest[index]
        for directory in self.node_bins:
            if found := self._in_dir(directory, tool):
                return Resolution([found, *rest[index + 1 :]], "node_modules", tool)
        npx = self.which_inherited("npx")
        if npx is None:
            return Resolution(None, "", "npx")
        flags = rest[:index]
        if not any(flag in ("--no-install", "--no", "-y", "--yes") for flag in flags):
            flags = ["--no-install", *flags]
        return Resolution([npx, *flags, *rest[index:]], "PATH", "npx")

    async def interpreter_has_module(self, module: str) -> bool:
        """Whether ``<interpreter> -m module`` would work. A script of the
        same name next to the interpreter answers it without starting one."""
        if module in self._module_cache:
            return self._module_cache[module]
        answer = False
        if self.interpreter_scripts is not None and self._in_dir(self.interpreter_scripts, module):
            answer = True
        else:
            answer = await _probe_module(self.interpreter, module, self.env())
        self._module_cache[module] = answer
        return answer


async def _probe_module(interpreter: Sequence[str], module: str, env: Mapping[str, str]) -> bool:
    code = "import importlib.util, sys; sys.exit(0 if importlib.util.find_spec(sys.argv[1]) else 1)"
    try:
        process = await asyncio.create_subprocess_exec(
            *interpreter,
            "-c",
            code,
            module,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=dict(env),
        )
    except (OSError, ValueError):
        return False
    try:
        return await asyncio.wait_for(process.wait(), MODULE_CHECK_TIMEOUT_S) == 0
    except asyncio.TimeoutError:
        process.kill()
        await process.wait()
        return False


def _relative(path: Path, root: Path) -> Path:
    try:
        return path.relative_to(root)
    except ValueError:
        return path


def find_venv(root: Path) -> Path | None:
    for name in VENV_DIRS:
        candidate = root / name
        if (candidate / "pyvenv.cfg").is_file() or (candidate / _SCRIPTS / ("python.exe" if _WINDOWS else "python")).exists():
            return candidate
    return None


def _interpreter_scripts(interpreter: Sequence[str]) -> Path | None:
    """The scripts folder of the interpreter's virtualenv or conda env (the
    folder activation would put on PATH); None for a system interpreter."""
    if len(interpreter) != 1:
        return None
    executable = Path(interpreter[0])
    if not executable.is_absolute():
        return None
    scripts = executable.parent
    for env_root in (scripts.parent, scripts):
        if (env_root / "pyvenv.cfg").is_file() or (env_root / "conda-meta").is_dir():
            return scripts
    return None


def _node_bins(root: Path, stop_at: Path | None) -> list[Path]:
    bins = []
    stop = stop_at.resolve() if stop_at is not None else root.resolve()
    for folder in [root, *root.parents]:
        candidate = folder / "node_modules" / ".bin"
        if candidate.is_dir():
            bins.append(candidate)
        try:
            if folder.resolve() == stop:
                break
        except OSError:
            break
    return bins


def project_environment(
    root: str | Path,
    interpreter: Sequence[str] = (),
    *,
    folder: str | Path | None = None,
    base_env: Mapping[str, str] | None = None,
) -> ProjectEnvironment:
    """The environment of one project root. ``folder`` is the workspace
    folder (node_modules/.bin are looked up from ``root`` up to it)."""
    root_path = Path(root)
    interpreter = [str(part) for part in interpreter if str(part)]
    return ProjectEnvironment(
        root=root_path,
        interpreter=interpreter,
        venv=find_venv(root_path),
        interpreter_scripts=_interpreter_scripts(interpreter),
        node_bins=_node_bins(root_path, Path(folder) if folder is not None else None),
        base_env=dict(base_env if base_env is not None else os.environ),
    )
