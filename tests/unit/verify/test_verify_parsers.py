"""Tools' results as findings, and the flags that make them readable. The
samples are real output of ruff 0.17, mypy 2.4, pytest 8 (junit xunit1),
tsc 5.6, node 20's test runner, and the documented eslint / go formats."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from stackguard.verify.model import Finding
from stackguard.verify.parsers import (
    command_tool,
    parse_eslint_json,
    parse_go_test_json,
    parse_go_vet,
    parse_jest_json,
    parse_js_test_text,
    parse_junit_xml,
    parse_mypy,
    parse_ruff_json,
    parse_ruff_text,
    parse_tap,
    parse_tsc,
    plan_report,
)

ROOT = Path("/work/project")

# -- recognising tools and planning reports ------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "tool", "index"),
    [
        (["ruff", "check", "."], "ruff", 0),
        (["/p/.venv/bin/ruff", "check"], "ruff", 0),
        (["uv", "run", "--frozen", "pytest", "-q"], "pytest", 3),
        (["uv", "run", "--with", "pytest-cov", "pytest"], "pytest", 4),
        (["poetry", "run", "mypy", "."], "mypy", 2),
        (["/usr/bin/python3.12", "-m", "pytest"], "pytest", 2),
        (["npx", "--no-install", "tsc", "--noEmit"], "tsc", 2),
        (["pnpm", "exec", "eslint", "."], "eslint", 2),
        (["py.test", "-x"], "pytest", 0),
        (["go", "test", "./..."], "go", 0),
        ([], None, -1),
    ],
)
def test_command_tool_sees_through_wrappers(argv, tool, index):
    assert command_tool(argv) == (tool, index)


def test_plans_add_report_flags(tmp_path: Path):
    ruff = plan_report(["ruff", "check", "."], tmp_path)
    assert ruff.argv == ["ruff", "check", "--output-format", "json", "--output-file", str(tmp_path / "ruff.json"), "."]
    assert ruff.report_path == tmp_path / "ruff.json"

    mypy = plan_report(["uv", "run", "mypy", "src"], tmp_path)
    assert mypy.argv == ["uv", "run", "mypy", "--show-column-numbers", "--no-error-summary", "--no-pretty", "src"]

    pytest_plan = plan_report(["/venv/bin/python", "-m", "pytest", "-q"], tmp_path)
    report = tmp_path / "pytest-junit.xml"
    assert pytest_plan.argv == ["/venv/bin/python", "-m", "pytest", f"--junitxml={report}", "-o", "junit_family=xunit1", "-q"]

    assert plan_report(["tsc", "--noEmit"], tmp_path).argv == ["tsc", "--pretty", "false", "--noEmit"]
    assert plan_report(["eslint", "src"], tmp_path).argv == ["eslint", "-f", "json", "-o", str(tmp_path / "eslint.json"), "src"]
    assert plan_report(["go", "test", "./..."], tmp_path).argv == ["go", "test", "-json", "./..."]
    assert plan_report(["go", "vet", "./..."], tmp_path).argv == ["go", "vet", "./..."]
    assert plan_report(["npm", "test"], tmp_path).argv == ["npm", "test"]


def test_plans_respect_the_commands_own_choices(tmp_path: Path):
    assert plan_report(["ruff", "check", "--output-format", "concise"], tmp_path).argv == [
        "ruff",
        "check",
        "--output-format",
        "concise",
    ]
    assert plan_report(["mypy", "--pretty", "."], tmp_path).argv == [
        "mypy",
        "--show-column-numbers",
        "--no-error-summary",
        "--pretty",
        ".",
    ]
    assert plan_report(["pytest", "--junitxml=out.xml"], tmp_path).argv == ["pytest", "--junitxml=out.xml"]
    assert plan_report(["tsc", "-b"], tmp_path).argv == ["tsc", "-b"]
    assert plan_report(["eslint", "-f", "stylish", "."], tmp_path).argv == ["eslint", "-f", "stylish", "."]
    assert plan_report(["go", "test", "-json", "./..."], tmp_path).argv == ["go", "test", "-json", "./..."]
    # ruff format is not a linter run: nothing added.
    assert plan_report(["ruff", "format", "--check"], tmp_path).argv == ["ruff", "format", "--check"]


def test_user_chosen_report_files_are_read(tmp_path: Path):
    (tmp_path / "out.xml").write_text(JUNIT)
    plan = plan_report(["pytest", "--junitxml=out.xml"], tmp_path)
    [first, *_] = plan.read(tmp_path, [])
    assert first.tool == "pytest"
    stdout_json = plan_report(["ruff", "check", "--output-format", "json", "."], tmp_path)
    assert [f.code for f in stdout_json.read(tmp_path, RUFF_JSON.splitlines())] == ["F401", None]


# -- ruff -------------------------------------------------------------------------------------

RUFF_JSON = json.dumps(
    [
        {
            "cell": None,
            "code": "F401",
            "end_location": {"column": 10, "row": 1},
            "filename": "/work/project/app.py",
            "fix": {"applicability": "safe", "edits": [], "message": "Remove unused import: `os`"},
            "location": {"column": 8, "row": 1},
            "message": "`os` imported but unused",
            "name": "unused-import",
            "noqa_row": 1,
            "severity": "error",
            "url": "https://docs.astral.sh/ruff/rules/unused-import",
        },
        {
            "code": None,
            "filename": "pkg/broken.py",
            "location": {"column": 5, "row": 3},
            "end_location": {"column": 6, "row": 3},
            "message": "SyntaxError: Expected an expression",
        },
    ],
    indent=2,
)


def test_ruff_json():
    unused, syntax = parse_ruff_json(RUFF_JSON, ROOT)
    assert unused == Finding(
        "/work/project/app.py",
        1,
        "`os` imported but unused",
        "ruff",
        column=8,
        end_line=1,
        end_column=10,
        severity="warning",
        code="F401",
        url="https://docs.astral.sh/ruff/rules/unused-import",
    )
    assert (syntax.path, syntax.line, syntax.severity, syntax.code) == ("/work/project/pkg/broken.py", 3, "error", None)


def test_ruff_text_formats():
    concise = ["app.py:1:8: F401 [*] `os` imported but unused", "Found 1 error."]
    [finding] = parse_ruff_text(concise, ROOT)
    assert (finding.path, finding.line, finding.column, finding.code) == ("/work/project/app.py", 1, 8, "F401")
    assert finding.message == "`os` imported but unused"
    full = ["F401 [*] `os` imported but unused", " --> app.py:1:8", "  |", "1 | import os"]
    [finding] = parse_ruff_text(full, ROOT)
    assert (finding.line, finding.column, finding.code, finding.message) == (1, 8, "F401", "`os` imported but unused")


# -- mypy ---------------------------------------------------------------------------------------


def test_mypy_lines():
    lines = [
        'app.py:9:12: error: Incompatible return value type (got "str", expected "int")  [return-value]',
        'm.py:3:17: note: Revealed type is "list[int]"',
        "pkg/a.py:4: error: Name \"x\" is not defined  [name-defined]",
        "pkg/b.py:2:5:2:9: error: Missing return statement  [empty-body]",
        "pkg: error: Duplicate module named \"pkg\"",
        "Success: no issues found in 3 source files",
    ]
    first, note, no_column, span, whole_file = parse_mypy(lines, ROOT)
    assert (first.path, first.line, first.column, first.code, first.severity) == (
        "/work/project/app.py",
        9,
        12,
        "return-value",
        "error",
    )
    assert first.message == 'Incompatible return value type (got "str", expected "int")'
    assert (note.severity, note.code) == ("info", None)
    assert (no_column.line, no_column.column) == (4, 0)
    assert (span.line, span.column, span.end_line, span.end_column) == (2, 5, 2, 9)
    assert (whole_file.path, whole_file.line) == ("/work/project/pkg", 0)


# -- pytest junit xml ------------------------------------------------------------------------------

JUNIT = """<?xml version="1.0" encoding="utf-8"?><testsuites name="pytest tests"><testsuite name="pytest" errors="0" failures="2" skipped="0" tests="3" time="0.252"><testcase classname="tests.test_app" name="test_add" file="tests/test_app.py" line="7" time="0.004"><failure message="assert 3 == 4&#10; +  where 3 = add(1, 2)">def test_add():
&gt;       assert add(1, 2) == 4
E       assert 3 == 4
E        +  where 3 = add(1, 2)

tests/test_app.py:9: AssertionError</failure></testcase><testcase classname="tests.test_app" name="test_helper" file="tests/test_app.py" line="11" time="0.001"><failure message="AssertionError: helper says no&#10;assert 3 == 4">def test_helper():
&gt;       helper(add(1, 2))

tests/test_app.py:13: 
_ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ 

x = 3

    def helper(x):
&gt;       assert x == 4, "helper says no"
E       AssertionError: helper says no
E       assert 3 == 4

tests/test_app.py:5: AssertionError</failure></testcase><testcase classname="tests.test_app" name="test_ok" file="tests/test_app.py" line="15" time="0.001" /></testsuite></testsuites>"""

COLLECTION_ERROR = """<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest" errors="1"><testcase classname="" name="tests.test_broken" file="tests/test_broken.py" time="0.000"><error message="collection failure">ImportError while importing test module '/work/project/tests/test_broken.py'.
Traceback:
/usr/lib/python3.11/importlib/__init__.py:126: in import_module
    return _bootstrap._gcd_import(name[level:], package, level)
tests/test_broken.py:1: in &lt;module&gt;
    import nonexistent_mod
E   ModuleNotFoundError: No module named 'nonexistent_mod'</error></testcase></testsuite></testsuites>"""


def test_junit_failures_are_placed_on_the_tests_failing_line():
    add, helper = parse_junit_xml(JUNIT, ROOT)
    assert (add.path, add.line, add.tool, add.severity) == ("/work/project/tests/test_app.py", 9, "pytest", "error")
    assert add.message == "tests.test_app::test_add failed: assert 3 == 4\n +  where 3 = add(1, 2)"
    # The failure is raised in a helper: the finding stays on the test's own
    # line and names where it was raised.
    assert helper.line == 13
    assert helper.message == (
        "tests.test_app::test_helper failed (raised at tests/test_app.py:5): AssertionError: helper says no\n"
        "assert 3 == 4"
    )


def test_junit_collection_error_explains_itself():
    [error] = parse_junit_xml(COLLECTION_ERROR, ROOT)
    assert (error.path, error.line) == ("/work/project/tests/test_broken.py", 1)
    assert error.message == "tests.test_broken error: ModuleNotFoundError: No module named 'nonexistent_mod'"


def test_junit_without_file_attributes_finds_the_file_from_the_class_name(tmp_path: Path):
    test_file = tmp_path / "tests" / "test_api.py"
    test_file.parent.mkdir()
    test_file.write_text("class TestUsers:\n    def test_create(self):\n        assert False\n")
    xml = (
        '<testsuite><testcase classname="tests.test_api.TestUsers" name="test_create">'
        '<failure message="assert False">no traceback here</failure></testcase></testsuite>'
    )
    [finding] = parse_junit_xml(xml, tmp_path)
    assert (finding.path, finding.line) == (str(test_file), 2)
    native = (
        '<testsuite><testcase classname="tests.test_api.TestUsers" name="test_create">'
        f'<failure message="boom">Traceback (most recent call last):\n  File "{test_file}", line 3, in test_create\n'
        "AssertionError</failure></testcase></testsuite>"
    )
    [finding] = parse_junit_xml(native, tmp_path)
    assert finding.line == 3


# -- tsc, eslint ----------------------------------------------------------------------------------


def test_tsc_lines():
    lines = [
        "src/sum.js(13,24): error TS2345: Argument of type 'string' is not assignable to parameter of type 'number'.",
        "src/app.ts(12,5): error TS2345: Argument of type '{ a: string; }' is not assignable to parameter of type 'Opts'.",
        "  Object literal may only specify known properties, and 'a' does not exist in type 'Opts'.",
        "error TS5023: Unknown compiler option 'foo'.",
    ]
    first, second, global_error = parse_tsc(lines, ROOT)
    assert (first.path, first.line, first.column, first.code) == ("/work/project/src/sum.js", 13, 24, "TS2345")
    assert second.message.endswith("and 'a' does not exist in type 'Opts'.")
    assert (global_error.path, global_error.code) == ("", "TS5023")


def test_eslint_json():
    report = json.dumps(
        [
            {
                "filePath": "/work/project/src/a.js",
                "messages": [
                    {
                        "ruleId": "no-unused-vars",
                        "severity": 2,
                        "message": "'x' is assigned a value but never used.",
                        "line": 3,
                        "column": 7,
                        "endLine": 3,
                        "endColumn": 8,
                    },
                    {"ruleId": "eqeqeq", "severity": 1, "message": "Expected '===' and instead saw '=='.", "line": 5, "column": 9},
                ],
            },
            {"filePath": "src/b.js", "messages": [{"ruleId": None, "fatal": True, "severity": 2, "message": "Parsing error: Unexpected token", "line": 1, "column": 5}]},
        ]
    )
    unused, eqeqeq, fatal = parse_eslint_json(report, ROOT)
    assert (unused.line, unused.column, unused.end_column, unused.severity, unused.code) == (3, 7, 8, "error", "no-unused-vars")
    assert eqeqeq.severity == "warning"
    assert (fatal.path, fatal.severity, fatal.code) == ("/work/project/src/b.js", "error", None)


# -- go -------------------------------------------------------------------------------------------


def test_go_vet_lines():
    lines = [
        "# example.com/shop",
        "./main.go:9:2: fmt.Printf format %d has arg s of wrong type string",
        "vet: orders/total.go:4:1: unreachable code",
    ]
    printf, unreachable = parse_go_vet(lines, ROOT)
    assert (printf.path, printf.line, printf.column, printf.tool) == ("/work/project/main.go", 9, 2, "go vet")
    assert unreachable.path == "/work/project/orders/total.go"


def test_go_test_json_places_failures_in_the_package_directory(tmp_path: Path):
    (tmp_path / "go.mod").write_text("module example.com/shop\n\ngo 1.22\n")
    (tmp_path / "orders").mkdir()
    (tmp_path / "orders" / "total_test.go").write_text("package orders\n")
    package = "example.com/shop/orders"

    def event(action: str, output: str | None = None, test: str | None = "TestTotal") -> str:
        data = {"Action": action, "Package": package}
        if test:
            data["Test"] = test
        if output is not None:
            data["Output"] = output
        return json.dumps(data)

    lines = [
        event("run"),
        event("output", "=== RUN   TestTotal\n"),
        event("output", "    total_test.go:12: total = 3, want\n"),
        event("output", "        4\n"),
        event("output", "--- FAIL: TestTotal (0.00s)\n"),
        event("fail"),
        event("run", test="TestOk"),
        event("pass", test="TestOk"),
        event("output", "FAIL\n", test=None),
        json.dumps({"ImportPath": package, "Action": "build-output", "Output": "orders/total.go:5:2: undefined: x\n"}),
        "not json at all",
    ]
    failure, build = parse_go_test_json(lines, tmp_path)
    assert (failure.path, failure.line) == (str(tmp_path / "orders" / "total_test.go"), 12)
    assert failure.message == "TestTotal: total = 3, want 4"
    assert (build.path, build.line, build.column, build.tool) == (str(tmp_path / "orders" / "total.go"), 5, 2, "go test")


# -- TAP (node:test) ---------------------------------------------------------------------------------

NODE_TAP = """TAP version 13
# Subtest: adds two numbers
not ok 1 - adds two numbers
  ---
  duration_ms: 10.650059
  location: '/work/project/test/sum.test.js:7:1'
  failureType: 'testCodeFailure'
  error: |-
    Expected values to be strictly equal:

    5 !== 6

  code: 'ERR_ASSERTION'
  stack: |-
    TestContext.<anonymous> (/work/project/test/sum.test.js:8:10)
    Test.runInAsyncScope (node:async_hooks:206:9)
  ...
# Subtest: passes
ok 2 - passes
1..2
# tests 2""".splitlines()


def test_node_test_tap_failures_are_placed_on_the_failing_assertion():
    [finding] = parse_tap(NODE_TAP, ROOT)
    assert (finding.path, finding.line, finding.column, finding.tool) == ("/work/project/test/sum.test.js", 8, 10, "node:test")
    assert finding.message == "adds two numbers failed: Expected values to be strictly equal: 5 !== 6"


# -- bad input never raises ------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "not json", "{}", "[1, 2]", '[{"location": "x"}]', "<xml", "\x00\x01"])
def test_malformed_reports_give_no_findings(text: str):
    assert parse_ruff_json(text, ROOT) == [] or all(isinstance(f, Finding) for f in parse_ruff_json(text, ROOT))
    assert parse_eslint_json(text, ROOT) == [] or all(isinstance(f, Finding) for f in parse_eslint_json(text, ROOT))
    assert parse_junit_xml(text, ROOT) == []
    assert parse_go_test_json(text.splitlines(), ROOT) == []
    assert parse_mypy(text.splitlines(), ROOT) == []
    assert parse_tsc(text.splitlines(), ROOT) == []
    assert parse_tap(text.splitlines(), ROOT) == []


def test_a_reader_that_breaks_does_not_break_the_step(tmp_path: Path):
    plan = plan_report(["pytest"], tmp_path)
    plan.report_path = tmp_path / "missing.xml"
    assert plan.read(tmp_path, ["whatever"]) == []


# -- jest / vitest -------------------------------------------------------------------------


def _package(root: Path, scripts: dict[str, str]) -> Path:
    (root / "package.json").write_text(json.dumps({"name": "p", "scripts": scripts}))
    return root


@pytest.mark.parametrize(
    ("argv", "tool", "tail"),
    [
        (["npm", "test"], "vitest", ["--", "--reporter=default", "--reporter=json"]),
        (["npm", "t"], "vitest", ["--", "--reporter=default", "--reporter=json"]),
        (["npm", "run", "unit"], "jest", ["--", "--json"]),
        (["pnpm", "unit"], "jest", ["--json"]),  # pnpm and yarn pass arguments on without `--`
        (["yarn", "run", "test"], "vitest", ["--reporter=default", "--reporter=json"]),
        (["bun", "run", "unit"], "jest", ["--json"]),
    ],
)
def test_package_scripts_that_run_one_runner_get_its_report(tmp_path: Path, argv, tool, tail):
    root = _package(tmp_path, {"test": "vitest run --coverage", "unit": "jest --ci"})
    plan = plan_report(argv, tmp_path / "reports", root=root)
    assert plan.tool == tool
    assert plan.argv[: len(argv)] == argv
    assert plan.argv[len(argv) : len(argv) + len(tail)] == tail
    assert plan.report_path == tmp_path / "reports" / f"{tool}.json"


@pytest.mark.parametrize(
    ("argv", "scripts"),
    [
        (["npm", "test"], {"test": "vitest run && eslint ."}),  # appended flags would reach eslint
        (["npm", "test"], {"test": "cross-env CI=1 jest"}),  # not the runner itself
        (["npm", "test"], {"test": "jest --json"}),  # chose its own report
        (["npm", "test", "--", "-t", "adds"], {"test": "jest"}),  # the user's own arguments
        (["npm", "run", "lint"], {"lint": "eslint ."}),
        (["npm", "unit"], {"unit": "jest"}),  # `npm unit` is not a script run
        (["npm", "test"], {}),
    ],
)
def test_other_scripts_are_read_from_their_output(tmp_path: Path, argv, scripts):
    root = _package(tmp_path, scripts)
    plan = plan_report(argv, tmp_path / "reports", root=root)
    assert plan.argv == argv and plan.report_path is None
    assert len(plan.readers) == 2  # TAP and jest/vitest text


def test_direct_runner_commands(tmp_path: Path):
    jest = plan_report(["npx", "jest", "src"], tmp_path)
    assert jest.argv == ["npx", "jest", "src", "--json", f"--outputFile={tmp_path / 'jest.json'}", "--testLocationInResults"]
    vitest = plan_report(["vitest", "run"], tmp_path)
    assert vitest.argv == ["vitest", "run", "--reporter=default", "--reporter=json", f"--outputFile.json={tmp_path / 'vitest.json'}"]
    chosen = plan_report(["vitest", "run", "--reporter=verbose"], tmp_path)
    assert chosen.argv == ["vitest", "run", "--reporter=verbose"] and chosen.report_path is None


JEST_REPORT = {
    "testResults": [
        {
            "name": "/p/src/a.test.js",
            "status": "failed",
            "message": "",
            "assertionResults": [
                {"status": "passed", "fullName": "a works", "failureMessages": []},
                {
                    "status": "failed",
                    "fullName": "a breaks",
                    "location": {"line": 3, "column": 1},
                    "failureMessages": ["Error: expect(received).toBe(expected)\n\nExpected: 2\nReceived: 3\n    at Object.toBe (/p/src/a.test.js:4:15)\n    at run (/p/node_modules/jest-circus/x.js:1:1)"],
                },
                {"status": "failed", "fullName": "a times out", "location": {"line": 8, "column": 3}, "failureMessages": ["thrown: Exceeded timeout"]},
            ],
        },
        {"name": "/p/src/b.test.js", "status": "failed", "message": "  ● Test suite failed to run\n\n    SyntaxError: Unexpected token (2:5)", "assertionResults": []},
        "not a suite",
    ]
}


def test_jest_json_report():
    found = parse_jest_json(json.dumps(JEST_REPORT), Path("/p"))
    assert [(f.path, f.line, f.column, f.message) for f in found] == [
        ("/p/src/a.test.js", 4, 15, "a breaks failed: Error: expect(received).toBe(expected) (Expected: 2; Received: 3)"),
        ("/p/src/a.test.js", 8, 3, "a times out failed: thrown: Exceeded timeout"),  # no frame: the test's location
        ("/p/src/b.test.js", 1, 0, "test file failed to run: SyntaxError: Unexpected token (2:5)"),
    ]
    assert parse_jest_json("{not json", Path("/p")) == []
    assert parse_jest_json("", Path("/p")) == []


def test_js_test_text_ignores_other_output():
    lines = ["> p@1.0.0 test", "> node build.js", "FAIL is a word here too", "● not indented right?", "all good"]
    assert parse_js_test_text(lines, Path("/p")) == []
