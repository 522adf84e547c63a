"""The "Ignore <CODE> for this line" action: where the directive goes, merging
with an existing one, and that the engine then suppresses the finding."""

from __future__ import annotations

import pytest
from stackguard.fixes import apply_text_edits, ignore_fix
from stackguard.rules.base import Finding

REPO = "app/repositories/users.py"


def finding(line: int, code: str = "SG201") -> Finding:
    return Finding(
        code=code, name="n", message="m", severity="warning", path="/p/a.py", relative="a.py",
        line=line, column=4, end_line=line, end_column=9, layer="repository",
    )


def ignored(text: str, line: int, code: str = "SG201") -> str:
    fix = ignore_fix(finding(line, code), text)
    assert fix.title == f"Ignore {code} for this line"
    assert fix.safe is False and fix.code == code
    (file_edit,) = fix.edits
    assert file_edit.path == "/p/a.py" and not file_edit.create
    return apply_text_edits(text, file_edit.edits)


@pytest.mark.parametrize(
    ("before", "line", "after"),
    [
        pytest.param("x = 1\nrun(x)\n", 2, "x = 1\nrun(x)  # stackguard: ignore[SG201]\n", id="append"),
        pytest.param("run(x)   \n", 1, "run(x)  # stackguard: ignore[SG201]\n", id="trailing-spaces"),
        pytest.param("run(x)", 1, "run(x)  # stackguard: ignore[SG201]", id="no-final-newline"),
        pytest.param("a\r\nrun(x)\r\n", 2, "a\r\nrun(x)  # stackguard: ignore[SG201]\r\n", id="crlf"),
        pytest.param(
            "run(x)  # noqa: E501\n", 1, "run(x)  # noqa: E501  # stackguard: ignore[SG201]\n", id="after-another-comment"
        ),
        pytest.param(
            "run(x)  # stackguard: ignore[SG101]\n", 1, "run(x)  # stackguard: ignore[SG101, SG201]\n", id="merge"
        ),
        pytest.param(
            "run(x)  #stackguard:ignore[sg101,SG105]\n", 1, "run(x)  #stackguard:ignore[SG101, SG105, SG201]\n", id="merge-odd-spacing"
        ),
        pytest.param("run(x)  # stackguard: ignore[SG201]\n", 1, "run(x)  # stackguard: ignore[SG201]\n", id="already-there"),
        pytest.param("run(x)  # stackguard: ignore\n", 1, "run(x)  # stackguard: ignore\n", id="bare-ignore-covers-all"),
        pytest.param(
            "# stackguard: ignore-file[SG101]\nrun(x)\n",
            2,
            "# stackguard: ignore-file[SG101]\nrun(x)  # stackguard: ignore[SG201]\n",
            id="file-directive-elsewhere",
        ),
    ],
)
def test_directive_on_the_line(before, line, after):
    assert ignored(before, line) == after


def test_line_ending_inside_a_multiline_string_gets_the_directive_above():
    before = 'def f(cur, x):\n    cur.execute(f"""\n        SELECT {x}\n    """)\n'
    after = 'def f(cur, x):\n    # stackguard: ignore[SG201]\n    cur.execute(f"""\n        SELECT {x}\n    """)\n'
    assert ignored(before, 2) == after


def test_directive_above_is_merged_not_duplicated():
    before = 'def f(cur, x):\n    # stackguard: ignore[SG101]\n    cur.execute(f"""\n        SELECT {x}\n    """)\n'
    after = 'def f(cur, x):\n    # stackguard: ignore[SG101, SG201]\n    cur.execute(f"""\n        SELECT {x}\n    """)\n'
    assert ignored(before, 3) == after
    assert ignored(after, 3) == after


def test_backslash_continuation_gets_the_directive_above():
    before = "total = a + \\\n    run(x)\n"
    assert ignored(before, 1) == "# stackguard: ignore[SG201]\ntotal = a + \\\n    run(x)\n"


def test_code_that_does_not_tokenize_still_gets_a_directive():
    assert ignored("def f(:\n    run(x)\n", 2) == "def f(:\n    run(x)  # stackguard: ignore[SG201]\n"


def test_line_outside_the_document_gives_no_edit():
    assert ignored("run(x)\n", 7) == "run(x)\n"


@pytest.mark.parametrize(
    "source",
    [
        pytest.param(
            "import psycopg2\n\n\ndef find(cur, name):\n    cur.execute(f\"SELECT * FROM users WHERE name = '{name}'\")\n",
            id="one-line",
        ),
        pytest.param(
            "import psycopg2\n\n\ndef find(cur, name):\n    cur.execute(\n        f\"\"\"\n        SELECT * FROM users WHERE name = '{name}'\n        \"\"\"\n    )\n",
            id="multi-line-string",
        ),
        pytest.param(
            "import psycopg2\n\n\ndef find(cur, name):\n    cur.execute(f\"SELECT * FROM users WHERE name = '{name}'\")  # stackguard: ignore[SG105]\n",
            id="merged",
        ),
    ],
)
def test_engine_honours_the_inserted_directive(project, source):
    proj = project({REPO: source}, ["SG201"])
    (found,) = proj.findings(REPO)
    fix = ignore_fix(found, source)
    new = apply_text_edits(source, fix.edits[0].edits)
    assert new != source
    assert proj.findings(REPO, new) == []
    compile(new, REPO, "exec")
