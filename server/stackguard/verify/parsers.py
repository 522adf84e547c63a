"""Reading tools' results as findings, and asking tools for readable results.

``plan_report(argv, report_dir)`` recognises the tool a command runs
(through ``uv run``, ``poetry run``, ``python -m``, ``npx`` and friends) and,
unless the command already chose an output format, adds the flags that make
its results machine-readable:

- ruff check: ``--output-format json --output-file <tmp>``
- mypy: ``--show-column-numbers --no-error-summary --no-pretty``
- pytest: ``--junitxml=<tmp> -o junit_family=xunit1``
- tsc: ``--pretty false``
- eslint: ``-f json -o <tmp>``
- go test: ``-json`` (go vet output is read as it is)
- jest: ``--json --outputFile <tmp> --testLocationInResults``
- vitest: ``--reporter=default --reporter=json --outputFile.json=<tmp>``
- ``npm test`` / ``npm run <script>`` (pnpm, yarn, bun): when the script
  is one plain ``jest`` or ``vitest`` command, the same flags after it;
  otherwise the output is read for jest's and vitest's failure blocks and
  for TAP (node:test)

The parsers are plain functions from text to ``Finding`` lists; they never
raise on malformed input (a tool crashed half-way, an unexpected version):
what cannot be read is skipped. Paths in findings are absolute.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

from .model import Finding, FindingSeverity

logger = logging.getLogger(__name__)

# -- recognising the tool ------------------------------------------------------------

_ENV_RUNNERS = {"uv", "poetry", "pipenv", "pdm", "hatch", "rye"}
# ``uv run`` options that take a value (the value is not the command).
_RUNNER_VALUE_OPTIONS = {
    "--with",
    "--with-requirements",
    "--python",
    "-p",
    "--extra",
    "--group",
    "--package",
    "--env-file",
    "--directory",
    "--project",
    "--index",
    "-e",
    "--env",
}
_NODE_RUNNERS = {"npx", "bunx", "pnpx"}
_PYTHON = re.compile(r"^python(\d+(\.\d+)?)?$")


def _word(arg: str) -> str:
    name = os.path.basename(arg).lower()
    for suffix in (".exe", ".cmd", ".bat"):
        name = name.removesuffix(suffix)
    return name


def command_tool(argv: Sequence[str]) -> tuple[str | None, int]:
    """(tool name, index of the tool's word in argv) for the program a
    command finally runs; (None, -1) when argv is empty."""
    index = 0
    while index < len(argv):
        word = _word(argv[index])
        following = argv[index + 1] if index + 1 < len(argv) else ""
        if word in _ENV_RUNNERS and following == "run":
            index = _skip_options(argv, index + 2)
            continue
        if word == "uvx" or word in _NODE_RUNNERS:
            index = _skip_options(argv, index + 1)
            continue
        if word in ("pnpm", "yarn", "bun", "npm") and following in ("exec", "dlx", "x"):
            index = _skip_options(argv, index + 2)
            continue
        if _PYTHON.match(word) and following == "-m" and index + 2 < len(argv):
            return _word(argv[index + 2]), index + 2
        if word == "py.test":
            return "pytest", index
        return word, index
    return None, -1


def _skip_options(argv: Sequence[str], index: int) -> int:
    while index < len(argv) and argv[index].startswith("-"):
        if argv[index] == "--":
            return index + 1
        takes_value = argv[index] in _RUNNER_VALUE_OPTIONS
        index += 2 if takes_value else 1
    return index


def _has_option(argv: Sequence[str], *names: str) -> bool:
    return any(arg == name or arg.startswith(name + "=") for arg in argv for name in names)


def _option_value(argv: Sequence[str], *names: str) -> str | None:
    for index, arg in enumerate(argv):
        for name in names:
            if arg == name and index + 1 < len(argv):
                return argv[index + 1]
            if arg.startswith(name + "="):
                return arg[len(name) + 1 :]
    return None


def _insert(argv: Sequence[str], position: int, extra: Sequence[str]) -> list[str]:
    return [*argv[:position], *extra, *argv[position:]]


# -- the plan --------------------------------------------------------------------------


@dataclass
class ReadInput:
    root: Path
    lines: list[str]
    report_path: Path | None
    # False when the output kept in memory is not the whole output.
    complete_output: bool = True


Reader = Callable[[ReadInput], list[Finding]]


@dataclass
class CommandPlan:
    """``argv`` to start, the ``tool`` recognised (None: unknown) and how to
    read its findings afterwards."""

    argv: list[str]
    tool: str | None = None
    report_path: Path | None = None
    readers: list[Reader] = field(default_factory=list)

    def read(self, root: Path, lines: list[str], complete_output: bool = True) -> list[Finding]:
        found: list[Finding] = []
        source = ReadInput(root, lines, self.report_path, complete_output)
        for reader in self.readers:
            try:
                found.extend(reader(source))
            except Exception:  # a reader bug must not turn a result into a crash
                logger.exception("reading %s results failed", self.tool or "the command's")
        return _dedupe(found)


def plan_report(argv: Sequence[str], report_dir: Path, step_name: str = "", root: Path | None = None) -> CommandPlan:
    """How to run ``argv`` so its results can be read; ``report_dir`` is a
    private temporary folder for report files; ``root``, the folder the
    command runs in (for a package's ``test`` script)."""
    argv = list(argv)
    tool, index = command_tool(argv)
    after = index + 1
    if tool in _PACKAGE_MANAGERS and root is not None:
        script_plan = _plan_test_script(argv, tool, after, root, report_dir)
        if script_plan is not None:
            return script_plan
    if tool in ("jest", "vitest"):
        return _plan_js_tests(argv, tool, after, report_dir)
    if tool == "ruff" and after < len(argv) and argv[after] == "check":
        return _plan_ruff(argv, after + 1, report_dir)
    if tool == "mypy":
        extra = [
            flag
            for flag, opposite in (
                ("--show-column-numbers", None),
                ("--no-error-summary", "--error-summary"),
                ("--no-pretty", "--pretty"),
            )
            if not _has_option(argv, flag) and (opposite is None or not _has_option(argv, opposite))
        ]
        return CommandPlan(_insert(argv, after, extra), "mypy", None, [lambda s: parse_mypy(s.lines, s.root)])
    if tool == "pytest":
        return _plan_pytest(argv, after, report_dir)
    if tool == "tsc":
        if _has_option(argv, "--pretty") or _has_option(argv, "-b", "--build"):
            planned = argv
        else:
            planned = _insert(argv, after, ["--pretty", "false"])
        return CommandPlan(planned, "tsc", None, [lambda s: parse_tsc(s.lines, s.root)])
    if tool == "eslint":
        return _plan_eslint(argv, after, report_dir)
    if tool == "go" and after < len(argv) and argv[after] == "vet":
        return CommandPlan(argv, "go vet", None, [lambda s: parse_go_vet(s.lines, s.root)])
    if tool == "go" and after < len(argv) and argv[after] == "test":
        planned = argv if _has_option(argv, "-json") else _insert(argv, after + 1, ["-json"])
        return CommandPlan(planned, "go test", None, [lambda s: parse_go_test_json(s.lines, s.root)])
    # Unknown command (npm test, a script): jest, vitest and node:test (TAP)
    # still say in their output where a test failed.
    return CommandPlan(argv, tool, None, [lambda s: parse_tap(s.lines, s.root), lambda s: parse_js_test_text(s.lines, s.root)])


_PACKAGE_MANAGERS = {"npm", "pnpm", "yarn", "bun"}
# A script that is one command: no shell operators, no redirection.
_SHELL_OPERATORS = re.compile(r"&&|\|\||[;|<>`$()]|&\s*$")


def _plan_test_script(argv: list[str], manager: str, after: int, root: Path, report_dir: Path) -> CommandPlan | None:
    """``npm test`` / ``npm run <script>`` (pnpm, yarn, ``bun run``) whose
    script is one plain jest or vitest command: the report flags go after
    the script's own arguments. None for anything else."""
    rest = argv[after:]
    explicit = rest[:1] in (["run"], ["run-script"])
    if explicit:
        rest = rest[1:]
    if len(rest) != 1:
        return None  # no script, or arguments of the user's own
    name = "test" if rest[0] == "t" and not explicit else rest[0]
    if manager in ("npm", "bun") and not explicit and name != "test":
        return None  # `npm ci`, `bun install`: the manager's own commands
    manifest = _load_json(_read(root / "package.json"))
    scripts = manifest.get("scripts") if isinstance(manifest, dict) else None
    script = scripts.get(name) if isinstance(scripts, dict) else None
    if not isinstance(script, str) or _SHELL_OPERATORS.search(script):
        return None
    words = script.split()
    runner = words[0] if words else ""
    if runner not in ("jest", "vitest") or any(word.startswith(("--json", "--reporter", "--outputFile")) for word in words):
        return None
    flags, report = _js_report_flags(runner, report_dir)
    # npm hands what follows `--` to the script; the others pass it as is.
    planned = [*argv, "--", *flags] if manager == "npm" else [*argv, *flags]
    return CommandPlan(planned, runner, report, [lambda s: parse_jest_json(_read(s.report_path), s.root, runner)])


def _js_report_flags(runner: str, report_dir: Path) -> tuple[list[str], Path]:
    report = report_dir / f"{runner}.json"
    if runner == "jest":
        # Human output stays on stderr; the JSON goes to the file.
        return ["--json", f"--outputFile={report}", "--testLocationInResults"], report
    # Two reporters: the usual one for the Output panel, JSON for us.
    return ["--reporter=default", "--reporter=json", f"--outputFile.json={report}"], report


def _plan_js_tests(argv: list[str], runner: str, after: int, report_dir: Path) -> CommandPlan:
    if _has_option(argv, "--json", "--reporter", "--outputFile") or any(a.startswith("--outputFile.") for a in argv):
        # The command chose its own report: read what it prints.
        return CommandPlan(argv, runner, None, [lambda s: parse_js_test_text(s.lines, s.root)])
    flags, report = _js_report_flags(runner, report_dir)
    # vitest takes options after its subcommand (`vitest run --…`) as well.
    return CommandPlan([*argv, *flags], runner, report, [lambda s: parse_jest_json(_read(s.report_path), s.root, runner)])


def _plan_ruff(argv: list[str], position: int, report_dir: Path) -> CommandPlan:
    chosen = _option_value(argv, "--output-format", "--format")
    output_file = _option_value(argv, "--output-file", "-o")
    if chosen is None:
        report = report_dir / "ruff.json"
        planned = _insert(argv, position, ["--output-format", "json", "--output-file", str(report)])
        return CommandPlan(planned, "ruff", report, [lambda s: parse_ruff_json(_read(s.report_path), s.root)])
    if chosen == "json":
        if output_file is not None:
            return CommandPlan(argv, "ruff", None, [lambda s: parse_ruff_json(_read(s.root / output_file), s.root)])
        return CommandPlan(argv, "ruff", None, [lambda s: parse_ruff_json("\n".join(s.lines), s.root)])
    return CommandPlan(argv, "ruff", None, [lambda s: parse_ruff_text(s.lines, s.root)])


def _plan_pytest(argv: list[str], position: int, report_dir: Path) -> CommandPlan:
    given = _option_value(argv, "--junitxml", "--junit-xml", "--junit_xml")
    if given is not None:
        return CommandPlan(argv, "pytest", None, [lambda s: parse_junit_xml(_read(s.root / given), s.root)])
    report = report_dir / "pytest-junit.xml"
    # xunit1 adds file/line attributes to each test case.
    planned = _insert(argv, position, [f"--junitxml={report}", "-o", "junit_family=xunit1"])
    return CommandPlan(planned, "pytest", report, [lambda s: parse_junit_xml(_read(s.report_path), s.root)])


def _plan_eslint(argv: list[str], position: int, report_dir: Path) -> CommandPlan:
    chosen = _option_value(argv, "-f", "--format")
    output_file = _option_value(argv, "-o", "--output-file")
    if chosen is None:
        report = report_dir / "eslint.json"
        planned = _insert(argv, position, ["-f", "json", "-o", str(report)])
        return CommandPlan(planned, "eslint", report, [lambda s: parse_eslint_json(_read(s.report_path), s.root)])
    if chosen == "json":
        if output_file is not None:
            return CommandPlan(argv, "eslint", None, [lambda s: parse_eslint_json(_read(s.root / output_file), s.root)])
        return CommandPlan(argv, "eslint", None, [lambda s: parse_eslint_json("\n".join(s.lines), s.root)])
    return CommandPlan(argv, "eslint", None, [])


def _read(path: Path | None) -> str:
    if path is None:
        return ""
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


# -- helpers -----------------------------------------------------------------------------


def _absolute(path: str, root: Path) -> str:
    if not path:
        return ""
    candidate = Path(path)
    if not candidate.is_absolute():
        candidate = root / candidate
    return os.path.normpath(str(candidate))


def _int(value: Any, default: int = 0) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return default
    return max(number, 0)


def _dedupe(findings: Iterable[Finding]) -> list[Finding]:
    seen: set[Finding] = set()
    unique = []
    for finding in findings:
        if finding not in seen:
            seen.add(finding)
            unique.append(finding)
    return unique


def _load_json(text: str) -> Any:
    text = text.strip()
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        # Tools that print a banner before the JSON (npm scripts, warnings).
        start = min((i for i in (text.find("["), text.find("{")) if i >= 0), default=-1)
        if start <= 0:
            return None
        try:
            return json.loads(text[start:])
        except ValueError:
            return None


# -- ruff ---------------------------------------------------------------------------------


def parse_ruff_json(text: str, root: Path) -> list[Finding]:
    """``ruff check --output-format json``: a list of violations."""
    data = _load_json(text)
    if not isinstance(data, list):
        return []
    findings = []
    for item in data:
        if not isinstance(item, dict):
            continue
        location: dict[str, Any] = item["location"] if isinstance(item.get("location"), dict) else {}
        end: dict[str, Any] = item["end_location"] if isinstance(item.get("end_location"), dict) else {}
        code = item.get("code") if isinstance(item.get("code"), str) else None
        findings.append(
            Finding(
                path=_absolute(str(item.get("filename") or ""), root),
                line=_int(location.get("row")),
                column=_int(location.get("column")),
                end_line=_int(end.get("row")),
                end_column=_int(end.get("column")),
                # A violation without a code is a syntax error.
                severity="warning" if code else "error",
                message=str(item.get("message") or ""),
                code=code,
                tool="ruff",
                url=item.get("url") if isinstance(item.get("url"), str) else None,
            )
        )
    return findings


_RUFF_CONCISE = re.compile(r"^(?P<path>[^\s:][^:]*):(?P<line>\d+):(?P<col>\d+): (?P<code>[A-Z]+[0-9]+)?\s*(?:\[\*\]\s*)?(?P<msg>.*)$")
_RUFF_FULL_HEAD = re.compile(r"^(?P<code>[A-Z]+[0-9]+) (?:\[\*\] )?(?P<msg>.+)$")
_RUFF_FULL_ARROW = re.compile(r"^\s*-->\s*(?P<path>.+?):(?P<line>\d+):(?P<col>\d+)\s*$")


def parse_ruff_text(lines: Sequence[str], root: Path) -> list[Finding]:
    """ruff's text formats: ``concise`` (one line each) and ``full`` (a
    ``CODE message`` head then a `` --> path:line:col`` line)."""
    findings = []
    pending: re.Match[str] | None = None
    for line in lines:
        if (arrow := _RUFF_FULL_ARROW.match(line)) and pending is not None:
            findings.append(
                Finding(
                    _absolute(arrow["path"], root),
                    int(arrow["line"]),
                    pending["msg"],
                    "ruff",
                    column=int(arrow["col"]),
                    severity="warning",
                    code=pending["code"],
                )
            )
            pending = None
            continue
        if match := _RUFF_CONCISE.match(line):
            findings.append(
                Finding(
                    _absolute(match["path"], root),
                    int(match["line"]),
                    match["msg"].strip(),
                    "ruff",
                    column=int(match["col"]),
                    severity="warning" if match["code"] else "error",
                    code=match["code"],
                )
            )
            continue
        pending = _RUFF_FULL_HEAD.match(line)
    return findings


# -- mypy ---------------------------------------------------------------------------------

_MYPY = re.compile(
    r"^(?P<path>[^\s:][^:]*?):(?:(?P<line>\d+):)?(?:(?P<col>\d+):)?(?:(?P<end_line>\d+):(?P<end_col>\d+):)?"
    r" (?P<kind>error|warning|note): (?P<msg>.*?)(?:  \[(?P<code>[a-z0-9-]+)\])?$"
)


def parse_mypy(lines: Sequence[str], root: Path) -> list[Finding]:
    """``file:line:col: error: message  [code]`` (line and column optional,
    ``--show-error-end`` spans accepted). Notes become info findings."""
    findings = []
    for line in lines:
        match = _MYPY.match(line)
        if match is None:
            continue
        kind = match["kind"]
        severity: FindingSeverity = "error" if kind == "error" else ("warning" if kind == "warning" else "info")
        findings.append(
            Finding(
                _absolute(match["path"], root),
                _int(match["line"]),
                match["msg"],
                "mypy",
                column=_int(match["col"]),
                end_line=_int(match["end_line"]),
                end_column=_int(match["end_col"]),
                severity=severity,
                code=match["code"],
            )
        )
    return findings


# -- pytest (junit xml) ---------------------------------------------------------------------

# "tests/test_x.py:12: AssertionError" / "tests/test_x.py:12: in test_y" (long and
# short tracebacks) and '  File "/abs/tests/test_x.py", line 12, in test_y' (native).
_TRACE_ENTRY = re.compile(r"^(?P<path>[^\s:<>][^:<>]*?\.py):(?P<line>\d+):(?: |$)")
_TRACE_NATIVE = re.compile(r'^\s*File "(?P<path>[^"]+\.py)", line (?P<line>\d+)')
MESSAGE_LINES = 6
MESSAGE_CHARS = 1_000
_GENERIC_MESSAGES = {"", "collection failure", "failed on setup with", "failed on teardown with"}


def parse_junit_xml(text: str, root: Path) -> list[Finding]:
    """Failures and errors of a junit xml report (pytest's, or any tool's
    that writes one). Each finding is placed on the failing line of the
    test's own file, found in the traceback; the message is the assertion."""
    if not text.strip():
        return []
    try:
        tree = ElementTree.fromstring(text)
    except ElementTree.ParseError:
        return []
    findings = []
    for case in tree.iter("testcase"):
        for outcome in list(case):
            if outcome.tag not in ("failure", "error"):
                continue
            finding = _junit_finding(case, outcome, root)
            if finding is not None:
                findings.append(finding)
    return findings


def _junit_finding(case: ElementTree.Element, outcome: ElementTree.Element, root: Path) -> Finding | None:
    name = case.get("name", "")
    classname = case.get("classname", "")
    details = outcome.text or ""
    test_file = _junit_test_file(case, root)
    entries = _trace_entries(details, root)
    in_test_file = [entry for entry in entries if test_file is not None and entry[0] == test_file]
    line = 0
    if in_test_file:
        # The outermost frame in the test's file is the test's own line;
        # deeper frames (helpers, the code under test) are named in the text.
        path, line = in_test_file[0]
    elif test_file is not None:
        path, line = test_file, _def_line(test_file, name, case.get("line"))
    elif entries:
        path, line = entries[-1]
    else:
        return None
    message = _junit_message(outcome, details)
    raised = entries[-1] if entries else None
    where = ""
    if raised is not None and raised != (path, line) and raised[0].startswith(str(root)):
        where = f" (raised at {os.path.relpath(raised[0], root)}:{raised[1]})"
    label = "error" if outcome.tag == "error" else "failed"
    test_name = f"{classname}::{name}" if classname else name
    return Finding(
        path,
        line,
        f"{test_name} {label}{where}: {message}",
        "pytest",
        severity="error",
        code=outcome.get("type") or None,
    )


def _junit_test_file(case: ElementTree.Element, root: Path) -> str | None:
    if case.get("file"):
        return _absolute(case.get("file", ""), root)
    # "tests.test_api.TestUsers" -> tests/test_api.py (longest prefix that exists);
    # a collection error names the module in ``name`` with an empty classname.
    dotted = case.get("classname") or case.get("name") or ""
    parts = dotted.split(".")
    for end in range(len(parts), 0, -1):
        candidate = root.joinpath(*parts[:end]).with_suffix(".py")
        if candidate.is_file():
            return os.path.normpath(str(candidate))
    return None


def _trace_entries(details: str, root: Path) -> list[tuple[str, int]]:
    entries = []
    for raw in details.splitlines():
        match = _TRACE_ENTRY.match(raw) or _TRACE_NATIVE.match(raw)
        if match is not None:
            entries.append((_absolute(match["path"], root), int(match["line"])))
    return entries


def _def_line(path: str, name: str, zero_based_line: str | None) -> int:
    if zero_based_line and zero_based_line.isdigit():
        return int(zero_based_line) + 1
    function = name.split("[", 1)[0]
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            for number, text in enumerate(handle, start=1):
                if re.match(rf"\s*(async\s+)?def {re.escape(function)}\b", text):
                    return number
    except OSError:
        pass
    return 0


def _junit_message(outcome: ElementTree.Element, details: str) -> str:
    message = (outcome.get("message") or "").strip()
    if message.lower() in _GENERIC_MESSAGES or message.lower().startswith(("failed on setup", "failed on teardown")):
        explained = [line[1:].strip() for line in details.splitlines() if line.startswith("E ")]
        if explained:
            message = "\n".join(explained)
    # Keep the assertion's own lines (pytest's "assert 3 == 4 / + where 3 =
    # add(1, 2)" explanation reads badly as one line), a few of them.
    parts = [part.rstrip() for part in message.splitlines() if part.strip()]
    return "\n".join(parts[:MESSAGE_LINES])[:MESSAGE_CHARS] or "failed"


# -- tsc ------------------------------------------------------------------------------------

_TSC = re.compile(r"^(?P<path>[^\s(][^(]*)\((?P<line>\d+),(?P<col>\d+)\): (?P<kind>error|warning|message) (?P<code>TS\d+): (?P<msg>.*)$")
_TSC_GLOBAL = re.compile(r"^(?P<kind>error|warning) (?P<code>TS\d+): (?P<msg>.*)$")


def parse_tsc(lines: Sequence[str], root: Path) -> list[Finding]:
    """``src/a.ts(3,7): error TS2322: message``; indented lines that follow
    continue the message; ``error TS5023: ...`` has no file."""
    findings: list[Finding] = []
    for line in lines:
        if match := _TSC.match(line):
            findings.append(
                Finding(
                    _absolute(match["path"].strip(), root),
                    int(match["line"]),
                    match["msg"],
                    "tsc",
                    column=int(match["col"]),
                    severity="error" if match["kind"] == "error" else "warning",
                    code=match["code"],
                )
            )
        elif match := _TSC_GLOBAL.match(line):
            findings.append(Finding("", 0, match["msg"], "tsc", severity="error", code=match["code"]))
        elif line.startswith("  ") and line.strip() and findings:
            last = findings[-1]
            findings[-1] = Finding(
                last.path,
                last.line,
                f"{last.message} {line.strip()}",
                last.tool,
                column=last.column,
                severity=last.severity,
                code=last.code,
            )
    return findings


# -- eslint ---------------------------------------------------------------------------------


def parse_eslint_json(text: str, root: Path) -> list[Finding]:
    """``eslint -f json``: files with their messages (severity 2 = error)."""
    data = _load_json(text)
    if not isinstance(data, list):
        return []
    findings = []
    for result in data:
        if not isinstance(result, dict):
            continue
        path = _absolute(str(result.get("filePath") or ""), root)
        for message in result.get("messages") or []:
            if not isinstance(message, dict):
                continue
            rule = message.get("ruleId") if isinstance(message.get("ruleId"), str) else None
            fatal = bool(message.get("fatal"))
            findings.append(
                Finding(
                    path,
                    _int(message.get("line")),
                    str(message.get("message") or ""),
                    "eslint",
                    column=_int(message.get("column")),
                    end_line=_int(message.get("endLine")),
                    end_column=_int(message.get("endColumn")),
                    severity="error" if fatal or message.get("severity") == 2 else "warning",
                    code=rule,
                )
            )
    return findings


# -- go ----------------------------------------------------------------------------------------

_GO_POSITION = re.compile(r"^(?:vet: )?(?P<path>[^\s:][^:]*\.go):(?P<line>\d+):(?:(?P<col>\d+):)? (?P<msg>.+)$")
_GO_TEST_LINE = re.compile(r"^\s+(?P<path>[\w./-]+_test\.go):(?P<line>\d+): (?P<msg>.*)$")


def parse_go_vet(lines: Sequence[str], root: Path) -> list[Finding]:
    """``./main.go:9:2: message`` (paths relative to the module root)."""
    findings = []
    for line in lines:
        if match := _GO_POSITION.match(line):
            findings.append(
                Finding(
                    _absolute(match["path"], root),
                    int(match["line"]),
                    match["msg"].strip(),
                    "go vet",
                    column=_int(match["col"]),
                    severity="error",
                )
            )
    return findings


def parse_go_test_json(lines: Sequence[str], root: Path) -> list[Finding]:
    """``go test -json`` events: a failing test's ``file_test.go:12: msg``
    output lines become findings (the file resolved through the package's
    directory); build errors in ``file.go:line:col: msg`` form too."""
    outputs: dict[tuple[str, str], list[str]] = {}
    failed: list[tuple[str, str]] = []
    build_lines: list[str] = []
    for line in lines:
        if not line.startswith("{"):
            build_lines.append(line)
            continue
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if not isinstance(event, dict):
            continue
        package = str(event.get("Package") or event.get("ImportPath") or "")
        test = str(event.get("Test") or "")
        action = event.get("Action")
        if action in ("output", "build-output"):
            text = str(event.get("Output") or "").rstrip("\n")
            if test:
                outputs.setdefault((package, test), []).append(text)
            else:
                build_lines.append(text)
        elif action == "fail" and test:
            failed.append((package, test))
    module_path, module_dir = _go_module(root)
    findings = []
    for package, test in failed:
        package_dir = _go_package_dir(package, module_path, module_dir)
        current: Finding | None = None
        for text in outputs.get((package, test), []):
            match = _GO_TEST_LINE.match(text)
            if match is not None:
                if current is not None:
                    findings.append(current)
                path = _go_file(match["path"], package_dir, root)
                current = Finding(path, int(match["line"]), f"{test}: {match['msg'].strip()}", "go test")
            elif current is not None and text.startswith("        ") and text.strip():
                current = Finding(current.path, current.line, f"{current.message} {text.strip()}", current.tool)
        if current is not None:
            findings.append(current)
    for finding in parse_go_vet(build_lines, root):
        findings.append(Finding(finding.path, finding.line, finding.message, "go test", column=finding.column))
    return findings


def _go_module(root: Path) -> tuple[str | None, Path]:
    try:
        text = (root / "go.mod").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None, root
    match = re.search(r"^module\s+(\S+)", text, re.MULTILINE)
    return (match.group(1).strip('"') if match else None), root


def _go_package_dir(package: str, module_path: str | None, module_dir: Path) -> Path | None:
    if module_path is None:
        return None
    if package == module_path:
        return module_dir
    if package.startswith(module_path + "/"):
        return module_dir / package[len(module_path) + 1 :]
    return None


def _go_file(name: str, package_dir: Path | None, root: Path) -> str:
    if package_dir is not None and (package_dir / name).is_file():
        return os.path.normpath(str(package_dir / name))
    matches = sorted(root.rglob(Path(name).name)) if "/" not in name else []
    if len(matches) == 1:
        return os.path.normpath(str(matches[0]))
    return _absolute(name, package_dir or root)


# -- TAP (node:test and other TAP producers) --------------------------------------------------

_TAP_NOT_OK = re.compile(r"^(?P<indent>\s*)not ok \d+ - (?P<name>.*?)(?:\s+#.*)?$")
_TAP_LOCATION = re.compile(r"^\s*location: '(?P<path>.+?):(?P<line>\d+):(?P<col>\d+)'")
_STACK_FRAME = re.compile(r"\(?(?P<path>(?:/|[A-Za-z]:\\)[^():]+):(?P<line>\d+):(?P<col>\d+)\)?\s*$")


def parse_tap(lines: Sequence[str], root: Path) -> list[Finding]:
    """``not ok`` entries of TAP output with node:test's YAML details: placed
    on the first stack frame inside the project (the failing assertion),
    else on the test's ``location``; message from ``error:``. Suites that
    fail only because a subtest failed are not repeated."""
    findings = []
    index = 0
    root_text = str(root)
    while index < len(lines):
        match = _TAP_NOT_OK.match(lines[index])
        index += 1
        if match is None:
            continue
        block: list[str] = []
        while index < len(lines) and not lines[index].strip().startswith(("ok ", "not ok ", "# Subtest")):
            block.append(lines[index])
            if lines[index].strip() == "...":
                index += 1
                break
            index += 1
        failure_type = next((line.split(":", 1)[1].strip(" '") for line in block if line.strip().startswith("failureType:")), "")
        if failure_type == "subtestsFailed":
            continue
        location = next((m for line in block if (m := _TAP_LOCATION.match(line))), None)
        frame = None
        in_stack = False
        for line in block:
            if line.strip().startswith("stack:"):
                in_stack = True
                continue
            if in_stack:
                found = _STACK_FRAME.search(line.strip())
                if found and found["path"].startswith(root_text) and "node_modules" not in found["path"]:
                    frame = found
                    break
        where = frame or location
        if where is None:
            continue
        findings.append(
            Finding(
                _absolute(where["path"], root),
                int(where["line"]),
                f"{match['name']} failed: {_tap_error(block)}",
                "node:test",
                column=int(where["col"]),
                severity="error",
            )
        )
    return findings


def _tap_error(block: Sequence[str]) -> str:
    for position, line in enumerate(block):
        stripped = line.strip()
        if not stripped.startswith("error:"):
            continue
        value = stripped[len("error:") :].strip()
        if value in ("|-", "|", ">-", ">"):
            indent = len(line) - len(line.lstrip())
            parts = []
            for following in block[position + 1 :]:
                if following.strip() and len(following) - len(following.lstrip()) <= indent:
                    break
                if following.strip():
                    parts.append(following.strip())
            return " ".join(parts)[:500] or "failed"
        return value.strip("'\"")[:500] or "failed"
    return "failed"


# -- jest / vitest -------------------------------------------------------------------------

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
# A stack frame: "at fn (/abs/or/rel/path.js:9:23)" or "at /path.js:9:23".
_JS_FRAME = re.compile(r"\bat (?:.*?\()?(?:file://)?(?P<path>[^\s()]+?):(?P<line>\d+):(?P<col>\d+)\)?\s*$")


def _js_frame(text: str, root: Path, test_file: str | None = None) -> tuple[str, int, int] | None:
    """The first stack frame in the project's own code (not node_modules),
    preferring the test file itself."""
    first = None
    for line in text.splitlines():
        match = _JS_FRAME.search(_ANSI.sub("", line).strip())
        if match is None or "node_modules" in match["path"] or match["path"].startswith("node:"):
            continue
        path = _absolute(match["path"], root)
        if not path.startswith(str(root)):
            continue
        frame = (path, int(match["line"]), int(match["col"]))
        if test_file is None or path == test_file:
            return frame
        first = first or frame
    return first


def _first_line(message: str) -> str:
    """The error's first line (not jest's "● name" header), with jest's
    ``Expected:``/``Received:`` lines when it has them (its first line
    only names the matcher)."""
    lines = [line.strip() for line in _ANSI.sub("", message).splitlines()]
    first = next((line for line in lines if line and not line.startswith("● ")), "failed")
    values = [line for line in lines if line.startswith(("Expected:", "Received:"))][:2]
    if values and not first.startswith(("AssertionError", "Error: expected")):
        first = f"{first} ({'; '.join(values)})"
    return first[:500]


def parse_jest_json(text: str, root: Path, tool: str = "jest") -> list[Finding]:
    """jest's ``--json`` report, which vitest's json reporter also writes:
    each failed test on its failing assertion (the first stack frame in the
    test file), else on the test's ``location``; a test file that failed to
    load on its error's frame, else on its first line."""
    data = _load_json(text)
    if not isinstance(data, dict):
        return []
    findings = []
    for suite in data.get("testResults") or []:
        if not isinstance(suite, dict):
            continue
        test_file = _absolute(str(suite.get("name") or ""), root)
        failed = False
        for test in suite.get("assertionResults") or []:
            if not isinstance(test, dict) or test.get("status") != "failed":
                continue
            failed = True
            messages = "\n".join(str(m) for m in test.get("failureMessages") or [])
            frame = _js_frame(messages, root, test_file)
            location = test.get("location") if isinstance(test.get("location"), dict) else {}
            path, line, column = frame or (test_file, _int(location.get("line"), 1), _int(location.get("column")))
            name = str(test.get("fullName") or test.get("title") or "a test")
            findings.append(Finding(path, line, f"{name} failed: {_first_line(messages)}", tool, column=column, severity="error"))
        message = str(suite.get("message") or suite.get("failureMessage") or "")
        if not failed and suite.get("status") == "failed" and message.strip():
            frame = _js_frame(message, root, test_file)
            path, line, column = frame or (test_file, 1, 0)
            findings.append(Finding(path, line, f"test file failed to run: {_first_line(message)}", tool, column=column, severity="error"))
    return findings


_JEST_HEADER = re.compile(r"^\s*● (?P<name>.+?)\s*$")
_JEST_END = re.compile(r"^\s*(?:Test Suites:|Tests:|(?:FAIL|PASS) \S)")
# jest names the file on a line of its own ("FAIL src/a.test.js"); vitest
# names the test ("FAIL  src/a.test.js > suite > test") or, for a file that
# failed to load, repeats the file in brackets.
_JEST_FILE = re.compile(r"^FAIL (?P<path>\S+)\s*$")
_VITEST_HEADER = re.compile(r"^\s*FAIL\s+(?P<path>\S+?)(?: > (?P<name>.+?)| \[ .* \])\s*$")
_VITEST_LOCATION = re.compile(r"^\s*❯ (?P<path>[^\s:]+):(?P<line>\d+):(?P<col>\d+)")
_VITEST_END = re.compile(r"^\s*(?:⎯|Test Files\b)")


def parse_js_test_text(lines: Sequence[str], root: Path) -> list[Finding]:
    """jest's and vitest's default output, for commands whose report cannot
    be asked for (a package script that does more than run the tests):
    jest's ``● suite › test`` blocks and vitest's ``FAIL file > test``
    blocks, each placed on the frame it shows."""
    plain = [_ANSI.sub("", line) for line in lines]
    findings = []
    jest_file: str | None = None
    index = 0
    while index < len(plain):
        line = plain[index]
        index += 1
        file_line = _JEST_FILE.match(line)
        if file_line is not None:
            jest_file = _absolute(file_line["path"], root)
            continue
        jest = _JEST_HEADER.match(line)
        vitest = _VITEST_HEADER.match(line) if jest is None else None
        if jest is None and vitest is None:
            continue
        end = _JEST_END if jest is not None else _VITEST_END
        block: list[str] = []
        while index < len(plain) and not end.match(plain[index]) and not _JEST_HEADER.match(plain[index]) and not _VITEST_HEADER.match(plain[index]):
            block.append(plain[index])
            index += 1
        if jest is not None:
            name, tool = jest["name"].replace(" › ", " "), "jest"
            if name == "Test suite failed to run":
                name = ""
            where = _js_frame("\n".join(block), root, jest_file) or ((jest_file, 1, 0) if jest_file else None)
            if where is None:
                continue
        else:
            assert vitest is not None
            test_file = _absolute(vitest["path"], root)
            name, tool = (vitest["name"] or "").replace(" > ", " "), "vitest"
            found = next((m for b in block if (m := _VITEST_LOCATION.match(b))), None)
            where = (_absolute(found["path"], root), int(found["line"]), int(found["col"])) if found else (test_file, 1, 0)
        message = _first_line("\n".join(b for b in block if not _VITEST_LOCATION.match(b)))
        label = f"{name} failed" if name else "test file failed to run"
        findings.append(Finding(where[0], where[1], f"{label}: {message}", tool, column=where[2], severity="error"))
    return findings
