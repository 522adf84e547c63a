"""Verification through the real server over stdio (VS Code and Neovim
capability sets): ``stackguard.verify`` progress, streamed output, results as
diagnostics, cancellation and timeouts that leave no process behind, missing
tools, hostile stack.yaml commands, ``stackguard.runFileTests`` and its code
lens, and ``verify.onSave`` trust.

The server runs the fixture projects' tools through the interpreter passed
in ``initializationOptions`` (the one running these tests, which has ruff,
mypy and pytest from the test extras).

Run with ``-W error::pytest_lsp.LspSpecificationWarning``.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcException, JsonRpcInvalidParams

from lsp_session import Session, copy_workspace, uri, wait_until

pytestmark = pytest.mark.e2e

VERIFY = "stackguard.verify"
RUN_FILE_TESTS = "stackguard.runFileTests"
OUTPUT = "stackguard/verifyOutput"
SOURCE = "stackguard-verify"
INTERPRETER = {"interpreter": [sys.executable]}


# -- helpers -------------------------------------------------------------------------


def record_output(lsp: Session) -> list[dict[str, Any]]:
    """Every stackguard/verifyOutput notification, in order."""
    lines: list[dict[str, Any]] = []

    @lsp.client.feature(OUTPUT)
    def on_output(params: Any) -> None:
        lines.append(dict(params))

    return lines


def write_stack_yaml(folder: Path, verify: str) -> None:
    (folder / "stack").mkdir(exist_ok=True)
    (folder / "stack" / "stack.yaml").write_text("language: python\nverify:\n" + verify)


def alive(pid: int) -> bool:
    """Running (a zombie waiting for its parent to reap it is not)."""
    stat = Path(f"/proc/{pid}/stat")
    if Path("/proc").is_dir():
        try:
            text = stat.read_text()
        except OSError:
            return False
        return text[text.rfind(")") + 2 :].split()[0] not in ("Z", "X")
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def process_tree(pids_file: Path) -> list[int]:
    await wait_until(lambda: pids_file.is_file(), f"{pids_file.name} written by the step")
    pids = [int(pid) for pid in pids_file.read_text().split()]
    assert len(pids) == 2 and all(alive(pid) for pid in pids), "the step's process tree is running"
    return pids


def verify_diagnostics(diagnostics: list[types.Diagnostic]) -> list[types.Diagnostic]:
    return [d for d in diagnostics if d.source == SOURCE]


def by_name(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {step["name"]: step for step in result["steps"]}


def progress_tokens(lsp: Session) -> list[Any]:
    return list(lsp.client.progress_reports)


# -- stackguard.verify -----------------------------------------------------------------


async def test_verify_reports_progress_streams_output_and_publishes_diagnostics(lsp: Session, tmp_path: Path):
    folder = copy_workspace("verify_py_fail", tmp_path)
    output = record_output(lsp)
    await lsp.initialize([folder], INTERPRETER)
    await lsp.wait_for_stack(folder)

    result = await lsp.command(VERIFY, {"folder": uri(folder)})

    steps = by_name(result)
    assert list(steps) == ["lint", "typecheck", "tests"]
    assert {step["status"] for step in steps.values()} == {"failed"}
    ops, test_file = folder / "calc" / "ops.py", folder / "tests" / "test_ops.py"
    [unused] = steps["lint"]["findings"]
    assert (unused["path"], unused["line"], unused["column"], unused["code"]) == (str(ops), 1, 8, "F401")
    assert unused["uri"] == uri(ops)
    [wrong_return] = steps["typecheck"]["findings"]
    assert (wrong_return["path"], wrong_return["line"], wrong_return["code"]) == (str(ops), 9, "return-value")
    [failing_test] = steps["tests"]["findings"]
    assert (failing_test["path"], failing_test["line"]) == (str(test_file), 9)
    assert "test_add_negative_numbers" in failing_test["message"]
    assert "negative numbers add up" in failing_test["message"]
    # pytest's summary contains the pass_signal "passed", but it exited 1.
    assert steps["tests"]["exit_code"] == 1
    assert "1 passed" in steps["tests"]["output_tail"]

    # One progress: begin (cancellable), one report per step, end.
    [token] = progress_tokens(lsp)
    reports = lsp.client.progress_reports[token]
    assert isinstance(reports[0], types.WorkDoneProgressBegin) and reports[0].cancellable is True
    assert [type(r) for r in reports[1:]] == [types.WorkDoneProgressReport] * 3 + [types.WorkDoneProgressEnd]
    assert [r.message for r in reports[1:4]] == ["lint (1/3)", "typecheck (2/3)", "tests (3/3)"]

    # Output streamed line by line, tagged with folder and step, also as log messages.
    test_lines = [o["line"] for o in output if o["step"] == "tests"]
    assert any("1 failed, 1 passed" in line for line in test_lines)
    assert {o["folder"] for o in output} == {uri(folder)}
    assert any(m.message.startswith("[typecheck] ") and "return-value" in m.message for m in lsp.client.log_messages)
    summary = lsp.client.messages[-1]
    assert summary.type == types.MessageType.Error
    assert summary.message.startswith("stackguard verify: lint failed")

    # Diagnostics with source stackguard-verify, at the failing test's line.
    [test_diagnostic] = verify_diagnostics(
        await lsp.wait_for_diagnostics(test_file, lambda d: bool(verify_diagnostics(d)), "the failing test")
    )
    assert test_diagnostic.range.start.line == 8
    assert test_diagnostic.severity == types.DiagnosticSeverity.Error
    assert "negative numbers add up" in test_diagnostic.message
    ops_diagnostics = verify_diagnostics(
        await lsp.wait_for_diagnostics(ops, lambda d: len(verify_diagnostics(d)) == 2, "ruff and mypy findings")
    )
    assert sorted((d.range.start.line, d.range.start.character, d.code) for d in ops_diagnostics) == [
        (0, 7, "F401"),
        (8, 11, "return-value"),
    ]

    # Fixed on disk: every step passes and its diagnostics are cleared.
    ops.write_text(ops.read_text().replace("import os\n\n\n", "").replace("return value", "return str(value)"))
    test_file.write_text(test_file.read_text().replace("== -4", "== -3"))
    again = by_name(await lsp.command(VERIFY, {"folder": uri(folder)}))
    assert {name: step["status"] for name, step in again.items()} == {
        "lint": "passed",
        "typecheck": "passed",
        "tests": "passed",
    }
    await lsp.wait_for_diagnostics(test_file, lambda d: not verify_diagnostics(d), "test diagnostics cleared")
    await lsp.wait_for_diagnostics(ops, lambda d: not verify_diagnostics(d), "ops diagnostics cleared")
    assert lsp.client.messages[-1].type == types.MessageType.Info


async def test_only_the_selected_steps_run_and_unknown_steps_are_rejected(lsp: Session, tmp_path: Path):
    folder = copy_workspace("verify_py_pass", tmp_path)
    await lsp.initialize([folder], INTERPRETER)
    await lsp.wait_for_stack(folder)

    result = await lsp.command(VERIFY, {"folder": uri(folder), "steps": ["lint", "syntax"]})
    assert [(s["name"], s["status"]) for s in result["steps"]] == [("lint", "passed"), ("syntax", "passed")]
    assert result["steps"][0]["command"] == "ruff check ."

    with pytest.raises(JsonRpcInvalidParams, match="no verify step named deploy"):
        await lsp.command(VERIFY, {"folder": uri(folder), "steps": ["deploy"]})
    with pytest.raises(JsonRpcInvalidParams, match="'steps' must be a list"):
        await lsp.command(VERIFY, {"steps": "lint"})


async def test_no_progress_for_a_client_without_work_done_progress(lsp: Session, tmp_path: Path):
    folder = copy_workspace("verify_py_pass", tmp_path)
    lsp.capabilities.window.work_done_progress = False
    await lsp.initialize([folder], INTERPRETER)
    await lsp.wait_for_stack(folder)

    result = await lsp.command(VERIFY, {"steps": ["lint"]})

    assert [s["status"] for s in result["steps"]] == ["passed"]
    assert progress_tokens(lsp) == []
    assert lsp.client.messages[-1].message == "stackguard verify: lint passed"


# -- cancellation and timeouts ---------------------------------------------------------


async def test_progress_cancel_stops_the_whole_process_tree(lsp: Session, tmp_path: Path):
    folder = copy_workspace("verify_controls", tmp_path)
    write_stack_yaml(folder, '  tests: { cmd: "python spawn_tree.py pids.txt" }\n  lint: { cmd: "python -c pass" }\n')
    await lsp.initialize([folder], INTERPRETER)
    await lsp.wait_for_stack(folder)

    running = asyncio.ensure_future(lsp.command(VERIFY, {"steps": ["tests", "lint"]}))
    pids = await process_tree(folder / "pids.txt")
    [token] = await wait_until(lambda: progress_tokens(lsp), "a progress token")
    lsp.client.window_work_done_progress_cancel(types.WorkDoneProgressCancelParams(token=token))
    result = await asyncio.wait_for(running, 30)

    steps = by_name(result)
    assert steps["tests"]["status"] == "cancelled"
    assert steps["lint"]["status"] == "cancelled" and steps["lint"]["message"].startswith("not started")
    assert [pid for pid in pids if alive(pid)] == []
    assert isinstance(lsp.client.progress_reports[token][-1], types.WorkDoneProgressEnd)
    assert lsp.client.messages[-1].type == types.MessageType.Warning


async def test_cancel_request_stops_the_whole_process_tree(lsp: Session, tmp_path: Path):
    folder = copy_workspace("verify_controls", tmp_path)
    write_stack_yaml(folder, '  tests: { cmd: "python spawn_tree.py pids.txt" }\n')
    await lsp.initialize([folder], INTERPRETER)
    await lsp.wait_for_stack(folder)

    request_id = "verify-to-cancel"
    running = asyncio.ensure_future(
        lsp.client.protocol.send_request_async(
            types.WORKSPACE_EXECUTE_COMMAND,
            types.ExecuteCommandParams(command=VERIFY, arguments=[{"folder": uri(folder)}]),
            msg_id=request_id,
        )
    )
    pids = await process_tree(folder / "pids.txt")
    lsp.client.protocol.notify(types.CANCEL_REQUEST, types.CancelParams(id=request_id))
    with pytest.raises(JsonRpcException, match="cancel"):
        await asyncio.wait_for(running, 30)
    await wait_until(lambda: not any(alive(pid) for pid in pids), "the step's processes to be stopped", timeout=15)
    # The server finished the run: the progress ended and it says so.
    await wait_until(
        lambda: any("tests cancelled" in m.message for m in lsp.client.log_messages), "the cancelled summary"
    )


async def test_timeout_stops_the_whole_process_tree(lsp: Session, tmp_path: Path):
    folder = copy_workspace("verify_controls", tmp_path)
    write_stack_yaml(folder, '  tests: { cmd: "python spawn_tree.py pids.txt", timeout: 2 }\n')
    await lsp.initialize([folder], INTERPRETER)
    await lsp.wait_for_stack(folder)

    [step] = (await lsp.command(VERIFY, {}))["steps"]

    assert step["status"] == "timeout"
    assert "2s timeout" in step["message"]
    assert 2 <= step["duration_s"] < 15
    assert "process tree started" in step["output_tail"]
    pids = [int(pid) for pid in (folder / "pids.txt").read_text().split()]
    assert [pid for pid in pids if alive(pid)] == []
    assert lsp.client.messages[-1].type == types.MessageType.Error


# -- missing tools, exit codes, hostile commands -------------------------------------------


async def test_missing_tools_are_skipped_only_when_asked(lsp: Session, tmp_path: Path):
    folder = copy_workspace("verify_controls", tmp_path)
    write_stack_yaml(
        folder,
        '  lint: { cmd: "stackguard-absent-tool --check", skip_if_missing: stackguard-absent-tool }\n'
        '  typecheck: { cmd: "stackguard-absent-tool --check" }\n',
    )
    await lsp.initialize([folder], INTERPRETER)
    await lsp.wait_for_stack(folder)

    steps = by_name(await lsp.command(VERIFY, {}))

    assert steps["lint"]["status"] == "skipped"
    assert steps["lint"]["message"].startswith("skipped: stackguard-absent-tool is not installed")
    assert steps["typecheck"]["status"] == "error"
    assert steps["typecheck"]["message"].startswith("stackguard-absent-tool not found")
    assert "skip_if_missing" in steps["typecheck"]["message"]
    assert steps["typecheck"]["exit_code"] is None
    assert lsp.client.messages[-1].type == types.MessageType.Error


async def test_output_saying_passed_does_not_pass_a_failing_step(lsp: Session, tmp_path: Path):
    folder = copy_workspace("verify_controls", tmp_path)
    write_stack_yaml(
        folder,
        "  tests: { cmd: \"python -c \\\"print('12 passed, 0 failed'); raise SystemExit(1)\\\"\" }\n"
        "  lint: { cmd: \"python -c \\\"print('all checks passed')\\\"\", pass_signal: \"ALL GOOD\" }\n"
        "  typecheck: { cmd: \"python -c \\\"print('ALL GOOD')\\\"\", pass_signal: \"ALL GOOD\" }\n",
    )
    await lsp.initialize([folder], INTERPRETER)
    await lsp.wait_for_stack(folder)

    steps = by_name(await lsp.command(VERIFY, {}))

    assert (steps["tests"]["status"], steps["tests"]["exit_code"]) == ("failed", 1)
    assert steps["tests"]["output_tail"] == "12 passed, 0 failed"
    assert (steps["lint"]["status"], steps["lint"]["exit_code"]) == ("failed", 0)
    assert "pass_signal 'ALL GOOD' is not in the output" in steps["lint"]["message"]
    assert steps["typecheck"]["status"] == "passed"


async def test_hostile_stack_yaml_commands_reach_no_shell(lsp: Session, tmp_path: Path):
    folder = copy_workspace("verify_hostile", tmp_path)
    # The project's own environment provides `rm`, so the hostile
    # "rm -rf / ; echo pwned" step runs this recorder (resolution checks the
    # project's virtualenv first), never the real rm.
    venv_bin = folder / ".venv" / "bin"
    venv_bin.mkdir(parents=True)
    (folder / ".venv" / "pyvenv.cfg").write_text("home = /usr/bin\n")
    fake_rm = venv_bin / "rm"
    fake_rm.write_text(f"#!{sys.executable}\nimport sys\nprint('fake rm got', sys.argv[1:])\n")
    fake_rm.chmod(0o755)
    from stackguard.verify import project_environment

    resolved = await project_environment(folder, [sys.executable]).resolve(["rm", "-rf", "/"])
    assert resolved.argv == [str(fake_rm), "-rf", "/"], "refusing to run a hostile step with the real rm"
    output = record_output(lsp)
    await lsp.initialize([folder], INTERPRETER)
    await lsp.wait_for_stack(folder)

    steps = by_name(await lsp.command(VERIFY, {}))

    assert {name: step["status"] for name, step in steps.items()} == {
        "syntax": "passed",
        "lint": "passed",
        "typecheck": "passed",
        "tests": "passed",
    }
    assert steps["syntax"]["output_tail"] == "['-c', ';', 'touch', 'HOSTILE_SEMICOLON']"
    assert steps["lint"]["output_tail"] == str(
        ["-c", "$(touch", "HOSTILE_SUBSTITUTION)", "`touch", "HOSTILE_BACKTICK`", "&&", "touch", "HOSTILE_AND"]
        + [">", "HOSTILE_REDIRECT", "|", "tee", "HOSTILE_PIPE"]
    )
    assert steps["typecheck"]["output_tail"] == "['-c', '$HOME', '~', '*.py']"
    assert steps["tests"]["output_tail"] == "fake rm got ['-rf', '/', ';', 'echo', 'pwned']"
    assert steps["tests"]["argv"] == [str(fake_rm), "-rf", "/", ";", "echo", "pwned"]
    assert sorted(p.name for p in folder.iterdir() if p.name.startswith("HOSTILE")) == []
    assert "pwned" not in [o["line"] for o in output]


# -- tests of one file -------------------------------------------------------------------


async def test_run_file_tests_command_and_code_lens(lsp: Session, tmp_path: Path):
    folder = copy_workspace("verify_py_fail", tmp_path)
    await lsp.initialize([folder], INTERPRETER)
    await lsp.wait_for_stack(folder)
    test_file, ops = folder / "tests" / "test_ops.py", folder / "calc" / "ops.py"
    lsp.open(test_file, "python")
    lsp.open(ops, "python")

    lenses = await lsp.client.text_document_code_lens_async(
        types.CodeLensParams(text_document=types.TextDocumentIdentifier(uri=uri(test_file)))
    )
    [lens] = lenses
    assert lens.command.command == RUN_FILE_TESTS
    assert list(lens.command.arguments) == [{"uri": uri(test_file)}]
    assert not await lsp.client.text_document_code_lens_async(
        types.CodeLensParams(text_document=types.TextDocumentIdentifier(uri=uri(ops)))
    )

    [step] = (await lsp.command(RUN_FILE_TESTS, *lens.command.arguments))["steps"]

    assert (step["name"], step["status"]) == ("tests", "failed")
    assert step["command"] == "pytest -q tests/test_ops.py"
    [finding] = step["findings"]
    assert (finding["uri"], finding["line"]) == (uri(test_file), 9)
    [diagnostic] = verify_diagnostics(
        await lsp.wait_for_diagnostics(test_file, lambda d: bool(verify_diagnostics(d)), "the failing test")
    )
    assert diagnostic.range.start.line == 8

    test_file.write_text(test_file.read_text().replace("== -4", "== -3"))
    [step] = (await lsp.command(RUN_FILE_TESTS, {"uri": uri(test_file)}))["steps"]
    assert step["status"] == "passed"
    await lsp.wait_for_diagnostics(test_file, lambda d: not verify_diagnostics(d), "cleared once the file passes")

    with pytest.raises(JsonRpcInvalidParams, match="no test runner known"):
        await lsp.command(RUN_FILE_TESTS, {"uri": uri(folder / "pyproject.toml")})


# -- verify.onSave -------------------------------------------------------------------------


def save(lsp: Session, path: Path) -> None:
    lsp.client.text_document_did_save(
        types.DidSaveTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri(path)))
    )


async def test_on_save_runs_the_selected_steps_in_a_trusted_workspace(lsp: Session, tmp_path: Path):
    folder = copy_workspace("verify_py_fail", tmp_path)
    output = record_output(lsp)
    await lsp.initialize([folder], {**INTERPRETER, "trusted": True, "verify": {"onSave": True}})
    await lsp.wait_for_stack(folder)
    ops = folder / "calc" / "ops.py"
    lsp.open(ops, "python")

    save(lsp, ops)

    # lint and typecheck by default; not the tests.
    diagnostics = verify_diagnostics(
        await lsp.wait_for_diagnostics(ops, lambda d: len(verify_diagnostics(d)) == 2, "on-save findings")
    )
    assert sorted(d.code for d in diagnostics) == ["F401", "return-value"]
    await wait_until(lambda: any("typecheck failed" in m.message for m in lsp.client.log_messages), "the run's end")
    assert {o["step"] for o in output} <= {"lint", "typecheck"}


async def test_on_save_never_runs_workspace_commands_the_editor_did_not_trust(lsp: Session, tmp_path: Path):
    folder = copy_workspace("verify_controls", tmp_path)
    # The project itself asks for onSave and claims to be trusted: not enough.
    write_stack_yaml(folder, '  lint: { cmd: "python -c \\"open(\'RAN\', \'w\')\\"" }\n')
    with (folder / "stack" / "stack.yaml").open("a") as handle:
        handle.write("stackguard:\n  trusted: true\n  verify:\n    onSave: true\n")
    # Nor is a workspace/configuration answer (clients may fill it from
    # project-local files); only the editor's initializationOptions grant trust.
    lsp.client.set_configuration({"trusted": True, "verify": {"onSave": True}}, section="stackguard")
    output = record_output(lsp)
    await lsp.initialize([folder], INTERPRETER)
    await lsp.wait_for_stack(folder)
    script = folder / "spawn_tree.py"
    lsp.open(script, "python")

    save(lsp, script)

    await wait_until(
        lambda: any("not marked the workspace as trusted" in m.message for m in lsp.client.log_messages),
        "the untrusted-workspace notice",
    )
    assert output == []
    assert not (folder / "RAN").exists()
    # Asked for explicitly, the same command runs.
    [step] = (await lsp.command(VERIFY, {}))["steps"]
    assert step["status"] == "passed" and (folder / "RAN").exists()


async def test_an_untrusted_workspace_runs_no_commands_even_on_request(lsp: Session, tmp_path: Path):
    folder = copy_workspace("verify_controls", tmp_path)
    write_stack_yaml(folder, '  lint: { cmd: "python -c \\"open(\'RAN\', \'w\')\\"" }\n')
    # What an editor in restricted mode sends.
    await lsp.initialize([folder], {**INTERPRETER, "trusted": False, "verify": {"onSave": True}})
    await lsp.wait_for_stack(folder)
    script = folder / "spawn_tree.py"
    lsp.open(script, "python")

    with pytest.raises(JsonRpcInvalidParams, match="marked this workspace as untrusted"):
        await lsp.command(VERIFY, {})
    with pytest.raises(JsonRpcInvalidParams, match="marked this workspace as untrusted"):
        await lsp.command(RUN_FILE_TESTS, {"uri": uri(script)})
    save(lsp, script)
    await wait_until(
        lambda: any("not marked the workspace as trusted" in m.message for m in lsp.client.log_messages),
        "the untrusted-workspace notice",
    )
    assert not (folder / "RAN").exists()
