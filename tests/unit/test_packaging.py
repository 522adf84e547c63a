"""The wheel must contain every subpackage and the data files read at run
time: pyproject.toml lists packages explicitly (skills/ maps into the
package from outside server/), so a new subpackage missing from the list
would work in a source checkout and break in an installed wheel."""

from __future__ import annotations

import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "server" / "stackguard"


def declared_packages() -> set[str]:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return set(data["tool"]["setuptools"]["packages"])


def test_every_subpackage_is_declared():
    found = {"stackguard"}
    for init in PACKAGE.rglob("__init__.py"):
        relative = init.parent.relative_to(PACKAGE.parent)
        if "__pycache__" not in relative.parts:
            found.add(".".join(relative.parts))
    missing = found - declared_packages()
    assert not missing, f"add to [tool.setuptools] packages in pyproject.toml: {sorted(missing)}"


def test_wheel_ships_schema_and_skills(tmp_path):
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    wheel = next(tmp_path.glob("stackguard-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "stackguard/schemas/stack.schema.json" in names
    assert "stackguard/_skills/backend/SKILL.md" in names
    assert "stackguard/lsp/features/rules_feature.py" in names
    # Read back at run time from an installed wheel, not the source tree.
    target = tmp_path / "site"
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(target)
    script = (
        "import sys; sys.path.insert(0, sys.argv[1]);"
        "import stackguard.resources as r;"
        "assert r.__file__.startswith(sys.argv[1]), r.__file__;"
        "print(r.stack_schema()['title']);"
        "print(r.skills_root().joinpath('backend', 'SKILL.md').read_text()[:40])"
    )
    result = subprocess.run([sys.executable, "-c", script, str(target)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip()
