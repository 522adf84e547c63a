"""The Node fixture project end to end: installed with ``npm ci`` from its
lock file (typescript only), verified with the steps detection infers
(``npx tsc --noEmit``, ``npm test`` running node:test), then broken on
purpose. npm must be reachable: a failed install fails the test."""

from __future__ import annotations

from pathlib import Path

import pytest
from npm_projects import install_fixture
from stackguard.cli import main
from stackguard.stack import detect_root
from stackguard.verify import run_verify, select_steps


@pytest.fixture(scope="module")
def node_project(tmp_path_factory) -> Path:
    return install_fixture(tmp_path_factory.mktemp("node"), "verify_node", "ci")


async def test_node_project_passes_then_fails_with_findings(node_project: Path):
    profile = detect_root(node_project)
    steps, _ = select_steps([profile])
    assert [(p.step.name, p.step.cmd) for p in steps] == [("typecheck", "npx tsc --noEmit"), ("tests", "npm test")]

    passing = await run_verify(steps, folder=node_project)
    assert [(s.name, s.status) for s in passing.steps] == [("typecheck", "passed"), ("tests", "passed")]
    # npx resolved to the project's own tsc: nothing is downloaded.
    assert passing.steps[0].argv == [str(node_project / "node_modules" / ".bin" / "tsc"), "--pretty", "false", "--noEmit"]

    source = node_project / "src" / "sum.js"
    test_file = node_project / "test" / "sum.test.js"
    original_source, original_test = source.read_text(), test_file.read_text()
    try:
        source.write_text(original_source.replace("sum(40, 2)", 'sum(40, "2")'))
        test_file.write_text(original_test.replace("sum(2, 3), 5", "sum(2, 3), 6"))
        failing = await run_verify(steps, folder=node_project)
    finally:
        source.write_text(original_source)
        test_file.write_text(original_test)

    typecheck, tests = failing.steps
    assert (typecheck.status, tests.status) == ("failed", "failed")
    [type_error] = typecheck.findings
    assert (type_error.path, type_error.line, type_error.column, type_error.code, type_error.tool) == (
        str(source),
        13,
        24,
        "TS2345",
        "tsc",
    )
    [test_failure] = tests.findings
    assert (test_failure.path, test_failure.line, test_failure.tool) == (str(test_file), 8, "node:test")
    assert test_failure.message.startswith("adds two numbers failed: Expected values to be strictly equal:")


def test_cli_on_the_node_project(node_project: Path, capsys):
    assert main(["verify", str(node_project)]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "2 passed"
