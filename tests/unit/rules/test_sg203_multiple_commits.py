"""SG203 multiple-commits: which pairs of commits can run in one call
(branches, handlers, early exits), loops, retry loops and batch guards."""

from __future__ import annotations

import textwrap

import pytest
from stackguard.analysis.engine import Engine
from stackguard.analysis.source import parse_source
from stackguard.config import Settings


def lint(body: str, *, layer: str = "service", severity: dict | None = None):
    code = "from sqlalchemy.orm import Session\n\n\ndef op(session: Session, other: Session, items, flag, kind):\n" + textwrap.indent(textwrap.dedent(body), "    ")
    source = parse_source("/p/app/services/x.py", "app/services/x.py", code)
    assert source.tree is not None, source.parse_problem
    result = Engine(Settings(select=["SG203"], severity=severity or {})).check(source, layer)
    assert not result.rule_errors
    return [(f.line - 4, f.data["kind"]) for f in result.findings], result.findings


@pytest.mark.parametrize(
    "body",
    [
        # if / elif / else chain
        """
        if flag:
            session.commit()
        elif kind:
            session.commit()
        else:
            session.commit()
        """,
        # handlers of one try: different except clauses
        """
        try:
            session.commit()
        except ValueError:
            session.commit()
        except KeyError:
            session.commit()
        """,
        # try/except/else: else runs only when no handler did
        """
        try:
            session.flush()
        except ValueError:
            session.commit()
        else:
            session.commit()
        """,
        # match cases
        """
        match kind:
            case "a":
                session.commit()
            case _:
                session.commit()
        """,
        # raise after the first commit
        """
        if flag:
            session.commit()
            raise ValueError(kind)
        session.commit()
        """,
        # a loop's else block runs once
        """
        for item in items:
            session.add(item)
        else:
            session.commit()
        """,
        # different sessions
        """
        session.commit()
        other.commit()
        """,
    ],
)
def test_exclusive_or_separate_commits_are_quiet(body):
    assert lint(body)[0] == []


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("session.commit()\nsession.commit()\n", [(2, "multiple")]),
        # the second commit after an if that did not return
        ("if flag:\n    session.commit()\nsession.commit()\n", [(3, "multiple")]),
        # try body then else: both run on success
        ("try:\n    session.commit()\nexcept ValueError:\n    pass\nelse:\n    session.commit()\n", [(6, "multiple")]),
        # finally always runs
        ("try:\n    session.commit()\nfinally:\n    session.commit()\n", [(4, "multiple")]),
        # three commits: every later one is reported once
        ("session.commit()\nsession.commit()\nsession.commit()\n", [(2, "multiple"), (3, "multiple")]),
        # a return inside a nested if is not an unconditional exit
        ("session.commit()\nif flag:\n    return\nsession.commit()\n", [(4, "multiple")]),
    ],
)
def test_commits_on_one_path(body, expected):
    assert lint(body)[0] == expected


def test_loop_kinds_and_awaited_commit():
    assert lint("for item in items:\n    session.commit()\n")[0] == [(2, "loop")]
    assert lint("while items:\n    items.pop()\n    session.commit()\n")[0] == [(3, "loop")]
    code = "from sqlalchemy.ext.asyncio import AsyncSession\n\n\nasync def op(session: AsyncSession, items):\n    async for item in items:\n        await session.commit()\n"
    source = parse_source("/p/app/services/x.py", "app/services/x.py", code)
    (finding,) = Engine(Settings(select=["SG203"])).check(source, "service").findings
    assert finding.data["kind"] == "loop"
    assert "`async for` loop of `op()`" in finding.message


def test_loop_commit_is_not_also_paired_with_the_final_commit():
    found, findings = lint("for item in items:\n    session.add(item)\n    session.commit()\nsession.commit()\n")
    assert found == [(3, "loop")]
    assert findings[0].data["loop_line"] == 5


def test_retry_loops_are_quiet():
    assert lint(
        """
        for attempt in range(3):
            try:
                session.commit()
                break
            except TimeoutError:
                session.rollback()
        """
    )[0] == []
    assert lint(
        """
        while flag:
            session.commit()
            return
        """
    )[0] == []


def test_batch_guards_are_info():
    found, findings = lint(
        """
        batch = []
        for item in items:
            batch.append(item)
            if len(batch) >= 100:
                session.commit()
                batch.clear()
        """
    )
    assert found == [(6, "batch")]
    assert findings[0].severity == "info"
    _, configured = lint("for i, item in enumerate(items):\n    if i % 50 == 0:\n        session.commit()\n", severity={"SG203": "warning"})
    assert configured[0].severity == "warning"


def test_commit_in_else_of_a_batch_guard_is_a_plain_loop_commit():
    assert lint("for i, item in enumerate(items):\n    if i % 50 == 0:\n        pass\n    else:\n        session.commit()\n")[0] == [(5, "loop")]


def test_forever_worker_loop_is_quiet_but_nested_for_is_not():
    assert lint("while True:\n    session.commit()\n")[0] == []
    assert lint("while True:\n    for item in items:\n        session.commit()\n")[0] == [(3, "loop")]


def test_commit_methods_of_other_objects_and_other_layers():
    assert lint("flag.commit()\nflag.commit()\n")[0] == []
    assert lint("session.commit()\nsession.commit()\n", layer="other")[0] == []
    assert lint("session.commit()\nsession.commit()\n", layer="test")[0] == []
