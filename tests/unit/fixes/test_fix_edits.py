"""text_edits / apply_text_edits: minimal edits that round-trip exactly."""

from __future__ import annotations

import random

import pytest
from stackguard.fixes import FileEdit, Fix, TextEdit, apply_text_edits, text_edits
from stackguard.fixes.edits import split_lines

PIECES = ["a", "bc", " ", "\n", "\r\n", "\r", "é", "𝄞", "x = 1\n", "def f():\n", "    return 2\r\n", "#", ""]


def random_text(rng: random.Random) -> str:
    return "".join(rng.choice(PIECES) for _ in range(rng.randint(0, 25)))


def mutate(rng: random.Random, text: str) -> str:
    chars = list(text)
    for _ in range(rng.randint(1, 4)):
        action = rng.random()
        position = rng.randint(0, len(chars))
        if action < 0.4:
            chars[position:position] = list(rng.choice(PIECES))
        elif action < 0.8 and chars:
            del chars[position : position + rng.randint(1, 3)]
        elif chars:
            chars[min(position, len(chars) - 1)] = rng.choice("xyz\n")
    return "".join(chars)


def test_round_trip_on_random_inputs():
    rng = random.Random(20240611)
    for _ in range(3000):
        old = random_text(rng)
        new = mutate(rng, old) if rng.random() < 0.7 else random_text(rng)
        edits = text_edits(old, new)
        assert apply_text_edits(old, edits) == new, (old, new, edits)
        lines = [line.rstrip("\r\n") for line in split_lines(old)] or [""]
        for edit in edits:
            # Every position is a real place in the old text: never past a
            # line's end, never between the \r and \n of one line break.
            for line, column in ((edit.line, edit.column), (edit.end_line, edit.end_column)):
                if line <= len(lines):
                    assert column <= len(lines[line - 1]), (old, edit)
                else:
                    assert (line, column) == (len(lines) + 1, 0), (old, edit)


def test_identical_texts_need_no_edit():
    assert text_edits("a\nb\n", "a\nb\n") == ()


def test_edits_are_trimmed_to_the_changed_characters():
    old = "def f():\n    return session.execute(text(f'SELECT {x}'))\n\nprint(1)\n"
    new = "def f():\n    return session.execute(text('SELECT :x'), {'x': x})\n\nprint(1)\n"
    (edit,) = text_edits(old, new)
    assert (edit.line, edit.end_line) == (2, 2)
    assert apply_text_edits(old, (edit,)) == new
    assert len(edit.new_text) < len(new.splitlines()[1])


def test_separate_changes_give_separate_edits():
    old = "import os\n\nx = 1\ny = 2\nz = 3\n"
    new = "import os\nimport re\n\nx = 1\ny = 2\nz = 4\n"
    edits = text_edits(old, new)
    assert len(edits) == 2
    assert edits[0] == TextEdit(2, 0, 2, 0, "import re\n")
    assert edits[1].line == 5


def test_columns_count_code_points():
    old = "name = 'é𝄞'; value = 1\n"
    new = "name = 'é𝄞'; value = 2\n"
    (edit,) = text_edits(old, new)
    assert (edit.line, edit.column, edit.end_column, edit.new_text) == (1, 21, 22, "2")


def test_crlf_is_never_split():
    old = "a\r\nb\r\n"
    new = "a\nb\r\n"
    edits = text_edits(old, new)
    assert apply_text_edits(old, edits) == new
    assert edits == (TextEdit(1, 1, 2, 0, "\n"),)


def test_apply_edits_refer_to_the_original_text_in_any_order():
    text = "one\ntwo\nthree\n"
    edits = [TextEdit(3, 0, 3, 5, "THREE"), TextEdit(1, 0, 1, 3, "ONE")]
    assert apply_text_edits(text, edits) == "ONE\ntwo\nTHREE\n"


def test_apply_clamps_positions_past_the_end_like_lsp_clients():
    assert apply_text_edits("ab\ncd", [TextEdit(2, 99, 2, 99, "!")]) == "ab\ncd!"
    assert apply_text_edits("ab\n", [TextEdit(9, 0, 9, 0, "x")]) == "ab\nx"


def test_overlapping_edits_are_refused():
    with pytest.raises(ValueError):
        apply_text_edits("abcdef", [TextEdit(1, 0, 1, 4, "x"), TextEdit(1, 2, 1, 5, "y")])


def test_fix_helpers():
    fix = Fix("t", "SG201", (FileEdit("/a.py", (TextEdit(1, 0, 1, 0, "x"),)),), safe=True)
    assert fix.in_file_only and fix.edits_for("/a.py") == (TextEdit(1, 0, 1, 0, "x"),)
    assert fix.edits_for("/b.py") == ()
    creating = Fix("t", "SG104", (FileEdit("/a.py"), FileEdit("/e.py", create=True, new_text="")), safe=False)
    assert not creating.in_file_only


def test_distant_changes_in_a_long_file_with_many_repeated_lines():
    old = "".join(f"def f{i}(x):\n\n    return x + {i}\n\n" for i in range(3000))
    new = old.replace("def f10(", "def g10(").replace("return x + 1500\n", "return x + 1501\n")
    edits = text_edits(old, new)
    assert edits == (TextEdit(41, 4, 41, 5, "g"), TextEdit(6003, 18, 6003, 19, "1"))
    assert apply_text_edits(old, edits) == new


def test_locating_a_statement_by_ast_lines_agrees_with_generated_code():
    import ast

    import libcst as cst
    from stackguard.fixes.edits import _locate_with_ast, locate

    text = (
        "#!/usr/bin/env python\n# header\n'''doc'''\nimport os; import re\n\n\n# above\n@decorator\n# between\n@other(\n    1,\n)\n"
        "class A:\n    x = 1\n\n    # inside\n    def f(self):\n        return 2\n\n\nif os:\n    y = 3\nelse:\n    y = 4\n# trailing comment\n"
    )
    tree, python_tree = cst.parse_module(text), ast.parse(text)
    checked = 0
    for line in range(1, text.count("\n") + 1):
        by_ast = _locate_with_ast(tree, line, python_tree)
        by_code = locate(tree, line)
        if by_ast is None:
            continue  # comments between statements: locate() falls back to generated code
        checked += 1
        assert by_code is not None
        assert (by_ast.index, by_ast.offset) == (by_code.index, by_code.offset), line
    assert checked == 17  # every line of code: 3-4, 8-18, 21-24
