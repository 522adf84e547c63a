"""The VS Code extension builds the way CI documents it, with tsc and eslint
clean, into a .vsix that holds what VS Code loads and nothing else."""

from __future__ import annotations

import json
import re
import zipfile

import pytest
from editor_tools import VsixBuild

pytestmark = pytest.mark.e2e


def test_build_steps_are_clean(vsix_build: VsixBuild) -> None:
    compile_output = vsix_build.steps["npm run compile"]
    assert "error TS" not in compile_output, compile_output
    lint_output = vsix_build.steps["npm run lint"]
    # eslint prints nothing when clean; any finding is "N problem(s)".
    assert not re.search(r"\d+ problems?", lint_output), lint_output
    assert (vsix_build.folder / "out" / "extension.js").is_file()


def test_vsix_contains_the_runtime_and_no_sources(vsix_build: VsixBuild) -> None:
    assert vsix_build.vsix.is_file(), f"vsce wrote no {vsix_build.vsix.name}"
    with zipfile.ZipFile(vsix_build.vsix) as archive:
        names = set(archive.namelist())
        manifest = json.loads(archive.read("extension/package.json"))
    for required in (
        "extension/package.json",
        "extension/out/extension.js",
        "extension/out/client.js",
        "extension/LICENSE.txt",
        "extension/readme.md",
        "extension/node_modules/vscode-languageclient/package.json",
        "extension/node_modules/@vscode/python-extension/package.json",
    ):
        assert required in names, f"{required} missing from the vsix"
    assert not [name for name in names if name.startswith("extension/src/")], (
        "TypeScript sources were packaged"
    )
    for dev_only in ("typescript", "eslint", "@vscode/vsce", "@types/vscode"):
        assert not [
            n for n in names if n.startswith(f"extension/node_modules/{dev_only}/")
        ], f"{dev_only} was packaged"
    assert manifest["main"] == "./out/extension.js"
    assert manifest["engines"]["vscode"].startswith("^1.")
