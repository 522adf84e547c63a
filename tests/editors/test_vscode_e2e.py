"""The extension in a real VS Code: code-server (VS Code 1.139) driven by
headless Chromium through playwright-core (tests/editors/vscode_e2e_driver.cjs).

One test, three code-server sessions:
- trusted, on a copy of tests/workspaces/example_shop: the SG201 diagnostic
  shows in the Problems panel, its quick fix rewrites the file, "Show
  Detected Stack" names FastAPI, "Verify…" runs the picked step, "Debug
  Info" opens the server's report;
- untrusted (Restricted Mode), on tests/editors/fixtures/untrusted_shop with
  a stack.yaml whose lint step writes a marker file and verify.onSave on:
  diagnostics still show, "Verify…" refuses, a save runs nothing;
- stackguard.path pointing nowhere: the "not found" notification with its
  fix-it actions, one of which opens the setting.
Screenshots and the code-server / extension logs land in the artifacts
folder, named in the failure message.
"""

from __future__ import annotations

import ast
import json
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from editor_tools import (
    FIXTURES,
    MARKER_ENV,
    WORKSPACES,
    VsixBuild,
    chromium,
    code_server,
    describe,
    free_port,
    new_marker,
    node24_bin,
    node_env,
    playwright_core,
    process_group,
    processes_with_marker,
    run,
    stackguard_python,
    wait_for_no_marked_processes,
)

pytestmark = pytest.mark.e2e

DRIVER = Path(__file__).resolve().parent / "vscode_e2e_driver.cjs"
SG201_FILE = "app/repositories/product_repository.py"
SG201_LINE = "statement = text(f\"SELECT id FROM products WHERE name ILIKE '%{term}%' LIMIT {limit}\")"
FIX_TITLE = "Bind the interpolated values as query parameters"
VERIFY_MARKER = "verify-ran.txt"
DRIVER_TIMEOUT_S = 600

QUIET_SETTINGS = {
    "workbench.startupEditor": "none",
    "chat.disableAIFeatures": True,
    "workbench.tips.enabled": False,
    "extensions.autoUpdate": False,
    "extensions.autoCheckUpdates": False,
    "update.mode": "none",
    "telemetry.telemetryLevel": "off",
    "workbench.enableExperiments": False,
}


def _user_settings(scenario: str) -> dict:
    settings = dict(QUIET_SETTINGS)
    settings["security.workspace.trust.enabled"] = scenario == "untrusted"
    settings["security.workspace.trust.startupPrompt"] = "never"
    # The interpreter path of the extension: it checks `import stackguard`
    # and starts `python -m stackguard serve`.
    settings["stackguard.interpreter"] = [stackguard_python()]
    if scenario == "missing":
        # An explicit path wins over the interpreter; pointing nowhere, it
        # must produce the fix-it notification, not a silent fallback.
        settings["stackguard.path"] = "/nonexistent/bin/stackguard"
    return settings


def _wait_for_http(url: str, process: subprocess.Popen, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(
                f"code-server exited with {process.returncode} before answering"
            )
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except urllib.error.HTTPError:
            return  # 302 to the login or folder page: it is up
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"code-server did not answer on {url} within {timeout}s")


def _run_session(
    *,
    scenario: str,
    workspace: Path,
    open_file: str,
    code: str,
    extensions_dir: Path,
    root: Path,
    artifacts: Path,
    marker: str,
    extra_env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    trusted = scenario != "untrusted"
    user_data = root / f"user-data-{scenario}"
    settings = json.dumps(_user_settings(scenario), indent=2)
    # code-server is a remote setup: machine-scoped settings such as
    # stackguard.path belong in the remote's Machine settings, which VS Code
    # reads for the extension host; User settings alone apply them only
    # some of the time.
    for scope in ("User", "Machine"):
        (user_data / scope).mkdir(parents=True)
        (user_data / scope / "settings.json").write_text(settings)
    port = free_port()
    args = [
        str(code_server()),
        "--auth",
        "none",
        "--bind-addr",
        f"127.0.0.1:{port}",
        "--disable-telemetry",
        "--disable-update-check",
        "--extensions-dir",
        str(extensions_dir),
        "--user-data-dir",
        str(user_data),
        "--config",
        str(root / f"code-server-{scenario}.yaml"),
    ]
    if trusted:
        args.append("--disable-workspace-trust")
    args.append(str(workspace))
    env = node_env({MARKER_ENV: marker, **(extra_env or {})})
    log_path = artifacts / f"code-server-{scenario}.log"
    with process_group(args, env, log_path) as process:
        _wait_for_http(f"http://127.0.0.1:{port}/", process)
        driver_env = node_env(
            {
                "E2E_URL": f"http://127.0.0.1:{port}",
                "E2E_WORKSPACE": str(workspace),
                "E2E_SCENARIO": scenario,
                "E2E_FILE": open_file,
                "E2E_CODE": code,
                "E2E_FIX_TITLE": FIX_TITLE,
                "E2E_FRAMEWORK": "fastapi",
                "E2E_VERIFY_STEP": "syntax",
                "E2E_ARTIFACTS": str(artifacts / scenario),
                "E2E_CHROMIUM": chromium(),
                "E2E_PLAYWRIGHT_CORE": str(playwright_core()),
            }
        )
        result = run(
            [str(node24_bin() / "node"), str(DRIVER)],
            env=driver_env,
            timeout=DRIVER_TIMEOUT_S,
        )
    logs = user_data / "logs"
    if logs.is_dir():
        shutil.copytree(logs, artifacts / f"vscode-logs-{scenario}", dirs_exist_ok=True)
    return result


def _text_call_arguments(source: str, function: str) -> list[ast.expr]:
    """First arguments of the ``text(...)`` calls inside ``function``."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef) and node.name == function:
            return [
                call.args[0]
                for call in ast.walk(node)
                if isinstance(call, ast.Call)
                and isinstance(call.func, ast.Name)
                and call.func.id == "text"
                and call.args
            ]
    return []


def _untrusted_workspace(destination: Path) -> Path:
    workspace = destination / "untrusted_shop"
    shutil.copytree(FIXTURES / "untrusted_shop", workspace)
    stack = workspace / "stack"
    stack.mkdir()
    # An absolute interpreter, so the step would certainly run if anything
    # started it; stackguard's own section turns verify.onSave on.
    write_marker = f"open('{VERIFY_MARKER}', 'w').write('ran')"
    (stack / "stack.yaml").write_text(
        "language: python\n"
        "framework: fastapi\n"
        "orm: sqlalchemy\n"
        "verify:\n"
        "  lint:\n"
        "    cmd: >-\n"
        f'      {stackguard_python()} -c "{write_marker}"\n'
        "stackguard:\n"
        "  verify:\n"
        "    onSave: true\n"
    )
    return workspace


def test_extension_in_code_server(
    vsix_build: VsixBuild, tmp_path: Path, artifacts_dir: Path
) -> None:
    artifacts = artifacts_dir / "vscode-e2e"
    artifacts.mkdir(parents=True, exist_ok=True)
    extensions_dir = tmp_path / "extensions"
    install = run(
        [
            str(code_server()),
            "--install-extension",
            str(vsix_build.vsix),
            "--extensions-dir",
            str(extensions_dir),
            "--user-data-dir",
            str(tmp_path / "user-data-install"),
            "--config",
            str(tmp_path / "code-server-install.yaml"),
        ],
        env=node_env(),
        timeout=300,
    )
    assert install.returncode == 0, describe(install)
    assert list(extensions_dir.glob("stackguard.stackguard-*")), (
        f"extension not installed: {describe(install)}"
    )

    marker = new_marker()
    shop = tmp_path / "example_shop"
    shutil.copytree(WORKSPACES / "example_shop", shop)
    original = (shop / SG201_FILE).read_text()
    assert SG201_LINE in original, "the example_shop fixture changed; update SG201_LINE"

    trusted = _run_session(
        scenario="trusted",
        workspace=shop,
        open_file=SG201_FILE,
        code="SG201",
        extensions_dir=extensions_dir,
        root=tmp_path,
        artifacts=artifacts,
        marker=marker,
    )
    assert trusted.returncode == 0, (
        f"trusted session failed; artifacts in {artifacts}\n{describe(trusted)}"
    )
    fixed = (shop / SG201_FILE).read_text()
    assert SG201_LINE not in fixed, (
        f"the quick fix did not change the SQL line; artifacts in {artifacts}"
    )
    sql_arguments = _text_call_arguments(fixed, "search")
    assert sql_arguments and all(
        isinstance(a, ast.Constant) and ":term" in a.value for a in sql_arguments
    ), fixed

    untrusted_workspace = _untrusted_workspace(tmp_path)
    untrusted = _run_session(
        scenario="untrusted",
        workspace=untrusted_workspace,
        open_file="app/repositories/item_repository.py",
        code="SG201",
        extensions_dir=extensions_dir,
        root=tmp_path,
        artifacts=artifacts,
        marker=marker,
    )
    assert untrusted.returncode == 0, (
        f"untrusted session failed; artifacts in {artifacts}\n{describe(untrusted)}"
    )
    assert not (untrusted_workspace / VERIFY_MARKER).exists(), (
        "a verify step ran in an untrusted workspace"
    )

    missing = _run_session(
        scenario="missing",
        workspace=untrusted_workspace,
        open_file="app/repositories/item_repository.py",
        code="SG201",
        extensions_dir=extensions_dir,
        root=tmp_path,
        artifacts=artifacts,
        marker=marker,
    )
    assert missing.returncode == 0, (
        f"missing-server session failed; artifacts in {artifacts}\n{describe(missing)}"
    )

    leftovers = wait_for_no_marked_processes(marker)
    assert not leftovers, (
        f"processes left running after code-server stopped: {leftovers}"
    )
    assert not processes_with_marker(marker)
