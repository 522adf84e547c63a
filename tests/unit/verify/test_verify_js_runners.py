"""jest and vitest end to end: the fixture project installed from its lock
file, its tests run through the real runners (directly, and through ``npm
run`` scripts), broken on purpose, and the failures read as findings on the
failing assertion. npm must be reachable: a failed install fails the test.

``npm install --no-save`` rather than ``npm ci``: the lock file npm writes
omits the platform packages of rollup and esbuild that do not apply to the
machine that wrote it, and ``npm ci`` then refuses it as out of sync."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from npm_projects import install_fixture
from stackguard.stack import VerifyStep
from stackguard.verify import PlannedStep, project_environment, run_step


@pytest.fixture(scope="module")
def js_project(tmp_path_factory) -> Path:
    return install_fixture(tmp_path_factory.mktemp("js"), "verify_js_runners", "install", "--no-save")


async def run(root: Path, cmd: str):
    step = PlannedStep(root, ".", VerifyStep.from_cmd("tests", cmd))
    return await run_step(step, project_environment(root, [sys.executable]))


@pytest.fixture()
def broken(js_project: Path):
    """Both test files with a wrong expectation (jest's on line 9, vitest's
    on line 10, both at column 23)."""
    files = [js_project / "jest" / "sum.test.js", js_project / "vitest" / "sum.test.js"]
    originals = [path.read_text() for path in files]
    for path, text in zip(files, originals):
        path.write_text(text.replace("expect(sum(2, 2)).toBe(4)", "expect(sum(2, 2)).toBe(5)"))
    yield js_project
    for path, text in zip(files, originals):
        path.write_text(text)


LINES = {"jest": 9, "vitest": 10}


def assert_the_wrong_expectation(findings: list, root: Path, tool: str, *, from_report: bool) -> None:
    """One finding, on the broken assertion, saying what was expected.
    (jest's report keeps the error's class; its printed output does not.)"""
    [finding] = findings
    assert (finding.path, finding.line, finding.column, finding.tool) == (str(root / tool / "sum.test.js"), LINES[tool], 23, tool)
    assert finding.message == {
        "jest": f"sum adds two failed: {'Error: ' if from_report else ''}expect(received).toBe(expected) // Object.is equality (Expected: 5; Received: 4)",
        "vitest": "sum adds two failed: AssertionError: expected 4 to be 5 // Object.is equality",
    }[tool]


@pytest.mark.parametrize(
    ("cmd", "tool"),
    [
        ("npx jest", "jest"),
        ("npx vitest run", "vitest"),
        ("npm run test:jest", "jest"),  # the script is one jest command: flags after it
        ("npm test", "vitest"),
    ],
)
async def test_runners_pass_then_report_the_failing_assertion(js_project: Path, cmd: str, tool: str, request):
    passing = await run(js_project, cmd)
    assert passing.status == "passed", passing.output_tail
    assert passing.findings == []

    request.getfixturevalue("broken")
    failing = await run(js_project, cmd)
    assert failing.status == "failed"
    assert_the_wrong_expectation(failing.findings, js_project, tool, from_report=True)
    report = next(arg for arg in failing.argv if arg.startswith("--outputFile"))
    assert not Path(report.split("=", 1)[1]).exists()  # the report's temporary folder is gone


@pytest.mark.parametrize(("script", "tool"), [("test:both", "vitest"), ("test:all", "jest")])
async def test_a_script_of_several_commands_is_read_from_its_output(broken: Path, script: str, tool: str):
    # `vitest run && jest`: flags cannot be added to it; the default
    # reporters' output still says where the first runner failed (the
    # second never ran).
    result = await run(broken, f"npm run {script}")
    assert result.status == "failed"
    assert result.argv[-2:] == ["run", script]
    assert_the_wrong_expectation(result.findings, broken, tool, from_report=False)


async def test_a_test_file_that_cannot_load(js_project: Path):
    broken_file = js_project / "jest" / "broken.test.js"
    broken_file.write_text('const missing = require("./missing");\n\ntest("never runs", () => {});\n')
    try:
        result = await run(js_project, "npx jest")
    finally:
        broken_file.unlink()
    assert result.status == "failed"
    [finding] = result.findings
    assert (finding.path, finding.line, finding.tool) == (str(broken_file), 1, "jest")
    assert finding.message.startswith("test file failed to run: Cannot find module './missing'")
