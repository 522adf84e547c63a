"""SG502 quick fix: ``await asyncio.to_thread(...)`` for a blocking call,
``await asyncio.sleep(...)`` for ``time.sleep``.

Findings come from the real Engine; after the fix the code parses and the
rule no longer reports the call."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest
from fixhelp import applied
from stackguard.analysis.engine import Engine, module_name
from stackguard.analysis.index import WorkspaceIndex
from stackguard.analysis.layers import classify_layer
from stackguard.analysis.source import parse_source
from stackguard.config import Settings
from stackguard.fixes import apply_text_edits
from stackguard.fixes.blocking_call import blocking_call_fix

SERVICE = "app/services/rates.py"


def fixed(project, source: str, *, which: int = 0, relative: str = SERVICE) -> tuple[str, object]:
    proj = project({relative: source}, ["SG502"])
    findings = proj.findings(relative)
    finding = findings[which]
    fix = blocking_call_fix(finding, proj.files[relative], project_root=proj.root)
    assert fix is not None, "expected a fix"
    assert not fix.safe and fix.code == "SG502"
    new = applied(fix, proj.path(relative), proj.files[relative])
    after = proj.findings(relative, new)
    # Exactly this finding is gone (the rule no longer fires on the call).
    assert sorted(f.message for f in after) == sorted(f.message for f in findings if f is not finding), new
    return new, fix


def test_to_thread_with_import_added(project):
    new, fix = fixed(
        project,
        """\
        import requests


        async def fetch_rates(url: str) -> dict:
            response = requests.get(url, timeout=5)
            return response.json()
        """,
    )
    assert new == textwrap.dedent(
        """\
        import requests
        import asyncio


        async def fetch_rates(url: str) -> dict:
            response = await asyncio.to_thread(requests.get, url, timeout=5)
            return response.json()
        """
    )
    assert fix.title == "Run `requests.get()` in a worker thread with `await asyncio.to_thread(...)`"


def test_sleep_becomes_asyncio_sleep_and_the_unused_import_goes(project):
    new, fix = fixed(
        project,
        """\
        import asyncio
        import time


        async def poll() -> None:
            time.sleep(0.5)
            await asyncio.sleep(0)
        """,
    )
    assert new == textwrap.dedent(
        """\
        import asyncio


        async def poll() -> None:
            await asyncio.sleep(0.5)
            await asyncio.sleep(0)
        """
    )
    assert fix.title == "Replace `time.sleep()` with `await asyncio.sleep(...)`"


def test_time_import_stays_when_still_used(project):
    new, _ = fixed(
        project,
        """\
        import time


        async def poll() -> float:
            time.sleep(1)
            return time.monotonic()
        """,
    )
    assert new.startswith("import time\nimport asyncio\n")
    assert "    await asyncio.sleep(1)\n" in new


def test_from_time_import_sleep(project):
    new, _ = fixed(
        project,
        """\
        from time import sleep


        async def poll() -> None:
            sleep(2)
        """,
    )
    assert new == "import asyncio\n\n\nasync def poll() -> None:\n    await asyncio.sleep(2)\n"


@pytest.mark.parametrize(
    ("imports", "expected"),
    [
        ("import asyncio as aio", "await aio.to_thread(subprocess.run, ['make'], check=True)"),
        ("from asyncio import to_thread", "await to_thread(subprocess.run, ['make'], check=True)"),
        ("from asyncio import to_thread as in_thread", "await in_thread(subprocess.run, ['make'], check=True)"),
    ],
)
def test_aliased_asyncio(project, imports, expected):
    source = f"import subprocess\n{imports}\n\n\nasync def build() -> None:\n    subprocess.run(['make'], check=True)\n"
    new, _ = fixed(project, source)
    assert f"    {expected}\n" in new
    assert new.count("import") == 2  # nothing added


def test_aliased_asyncio_sleep(project):
    new, _ = fixed(project, "import time\nfrom asyncio import sleep as async_sleep\n\n\nasync def poll() -> None:\n    time.sleep(1)\n")
    assert new == "from asyncio import sleep as async_sleep\n\n\nasync def poll() -> None:\n    await async_sleep(1)\n"


def test_parentheses_when_the_result_is_used_further(project):
    new, _ = fixed(
        project,
        """\
        import requests


        async def rates(url: str) -> dict:
            return requests.get(
                url,
                timeout=5,
            ).json()["rates"]
        """,
    )
    assert new.endswith(
        textwrap.dedent(
            """\
            async def rates(url: str) -> dict:
                return (await asyncio.to_thread(
                    requests.get,
                    url,
                    timeout=5,
                )).json()["rates"]
            """
        )
    )


def test_method_of_a_sync_session(project):
    new, _ = fixed(
        project,
        """\
        from sqlalchemy import text
        from sqlalchemy.orm import Session


        async def purge(db: Session) -> None:
            db.execute(text("DELETE FROM rates"))
        """,
    )
    assert '    await asyncio.to_thread(db.execute, text("DELETE FROM rates"))\n' in new


def test_no_fix_in_a_generator_expression(project):
    proj = project({SERVICE: "import requests\n\n\nasync def sizes(urls):\n    return sum(len(requests.get(u).content) for u in urls)\n"}, ["SG502"])
    (finding,) = proj.findings(SERVICE)
    assert blocking_call_fix(finding, proj.files[SERVICE]) is None


def test_no_fix_when_asyncio_names_something_else(project):
    proj = project({SERVICE: "import time\nasyncio = None\n\n\nasync def poll():\n    time.sleep(1)\n"}, ["SG502"])
    (finding,) = proj.findings(SERVICE)
    assert blocking_call_fix(finding, proj.files[SERVICE]) is None


def test_no_op_on_stale_findings(project):
    source = "import time\n\n\nasync def poll():\n    time.sleep(1)\n"
    proj = project({SERVICE: source}, ["SG502"])
    (finding,) = proj.findings(SERVICE)
    assert blocking_call_fix(finding, "import asyncio\n\n\nasync def poll():\n    await asyncio.sleep(1)\n") is None
    assert blocking_call_fix(finding, "import time\n\n\ndef poll():\n    time.sleep(1)\n") is None  # no longer async
    assert blocking_call_fix(finding, "") is None
    assert blocking_call_fix(finding, "async def poll(:\n") is None


FIXTURES = Path(__file__).parents[2] / "rules" / "fixtures" / "SG502"


def _load() -> dict[str, str]:
    files = {}
    for path in sorted(FIXTURES.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        match = re.search(r"^#\s*fixture-path:\s*(.+)$", text, re.MULTILINE)
        files[match.group(1).strip() if match else path.name] = text
    return files


def _lint(files: dict[str, str], relative: str, text: str):
    index = WorkspaceIndex()
    for other, body in files.items():
        index.update_tree(other, parse_source(other, other, text if other == relative else body).tree)
    source = parse_source(f"/p/{relative}", relative, text)
    assert source.tree is not None
    return Engine(Settings(select=["SG502"])).check(source, classify_layer(relative, source.tree), index=index, module=module_name(relative)).findings


def test_every_fixture_finding_gets_a_fix_that_removes_exactly_it():
    files = _load()
    total = 0
    for relative, text in files.items():
        findings = _lint(files, relative, text)
        for finding in findings:
            total += 1
            fix = blocking_call_fix(finding, text)
            assert fix is not None, f"{relative}:{finding.line}"
            new = apply_text_edits(text, fix.edits_for(finding.path))
            after = _lint(files, relative, new)
            assert sorted(f.message for f in after) == sorted(f.message for f in findings if f is not finding), new
    assert total >= 12
