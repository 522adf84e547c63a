"""The "Ignore SG201 for this line" action, offered for every rule.

It appends ``  # stackguard: ignore[SG201]`` to the finding's first line, or
adds the code to a ``# stackguard: ignore[...]`` directive already there.
When a trailing comment would not be a comment — the line ends inside a
multi-line string, or continues with a backslash — the directive goes on its
own line above, which the engine also honours (see ``analysis/suppress.py``).
"""

from __future__ import annotations

import io
import logging
import re
import tokenize

from ..analysis.suppress import Suppressions
from ..rules.base import Finding
from .edits import FileEdit, Fix, TextEdit, split_lines

log = logging.getLogger(__name__)

_IGNORE = re.compile(r"#\s*stackguard:\s*ignore(?!-file)(?:\[([A-Za-z0-9_,\s-]*)\])?")


def ignore_fix(finding: Finding, source_text: str) -> Fix:
    code = finding.code
    title = f"Ignore {code} for this line"
    edits = _ignore_edits(code, finding.line, source_text)
    return Fix(
        title=title,
        code=code,
        edits=(FileEdit(path=finding.path, edits=edits),),
        safe=False,  # silencing a finding is a decision, never applied in bulk
    )


def _ignore_edits(code: str, line: int, text: str) -> tuple[TextEdit, ...]:
    lines = split_lines(text)
    if not 1 <= line <= max(len(lines), 1):
        log.info("ignore %s: line %d is outside the document", code, line)
        return ()
    if not lines:
        return (TextEdit(1, 0, 1, 0, f"# stackguard: ignore[{code}]"),)
    content = lines[line - 1].rstrip("\r\n")
    directive = _merge(code, line, content)
    if directive is not None:
        return directive
    if not any(q in content for q in "'\"") and not content.rstrip().endswith("\\"):
        # No string starts or ends on this line, so its end is code: skip
        # tokenizing the document (this runs while actions are listed).
        stripped = content.rstrip()
        return (TextEdit(line, len(stripped), line, len(content), f"  # stackguard: ignore[{code}]"),)
    try:
        open_string_lines, continued_lines = _line_facts(text)
    except Exception:  # the tokenizer on odd input: fall back to a trailing comment
        log.exception("ignore %s: cannot tokenize the document", code)
        open_string_lines, continued_lines = set(), set()
    if line not in open_string_lines and line not in continued_lines:
        stripped = content.rstrip()
        return (TextEdit(line, len(stripped), line, len(content), f"  # stackguard: ignore[{code}]"),)
    # A comment appended here would be string content or break the
    # continuation: the directive goes on its own line above.
    if line > 1:
        above = lines[line - 2].rstrip("\r\n")
        if above.lstrip().startswith("#"):
            merged = _merge(code, line - 1, above)
            if merged is not None:
                return merged
    if line - 1 in open_string_lines or line - 1 in continued_lines:
        log.info("ignore %s: line %d starts inside a string or continuation; no safe place for the directive", code, line)
        return ()
    indent = content[: len(content) - len(content.lstrip())]
    newline = _newline_of(lines[line - 1]) or "\n"
    return (TextEdit(line, 0, line, 0, f"{indent}# stackguard: ignore[{code}]{newline}"),)


def _merge(code: str, line: int, content: str) -> tuple[TextEdit, ...] | None:
    """Edits that add ``code`` to an ``ignore`` directive on this line; ()
    when it is already covered; None when the line has no directive."""
    if "stackguard:" not in content:
        return None
    parsed = Suppressions.parse(content)
    if parsed.is_suppressed(code, 1):
        return ()
    match = _IGNORE.search(content)
    if match is None:
        return None
    if match.group(1) is None:  # a bare `ignore` already covers every code
        return ()
    codes = [c.strip().upper() for c in match.group(1).split(",") if c.strip()]
    codes.append(code)
    return (TextEdit(line, match.start(1), line, match.end(1), ", ".join(codes)),)


def _newline_of(line: str) -> str:
    if line.endswith("\r\n"):
        return "\r\n"
    if line.endswith(("\r", "\n")):
        return line[-1]
    return ""


def _line_facts(text: str) -> tuple[set[int], set[int]]:
    """Lines whose end lies inside a string token, and lines continued with a
    backslash. Tokenizing stops quietly at an error (code mid-edit)."""
    open_string: set[int] = set()
    continued: set[int] = set()
    fstring_start = getattr(tokenize, "FSTRING_START", None)
    fstring_end = getattr(tokenize, "FSTRING_END", None)
    tstring_start = getattr(tokenize, "TSTRING_START", None)
    tstring_end = getattr(tokenize, "TSTRING_END", None)
    starts: list[int] = []
    previous_end_row = 0
    previous_type = None
    try:
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            row = token.start[0]
            # A token that starts on a later line than the previous one ended,
            # with no NEWLINE/NL between them, means a backslash continuation.
            if (
                previous_type not in (None, tokenize.NEWLINE, tokenize.NL, tokenize.INDENT, tokenize.DEDENT)
                and row > previous_end_row
                and token.type not in (tokenize.DEDENT, tokenize.ENDMARKER)
            ):
                continued.update(range(previous_end_row, row))
            if token.type == tokenize.STRING:
                open_string.update(range(token.start[0], token.end[0]))
            elif token.type in (fstring_start, tstring_start) and token.type is not None:
                starts.append(row)
            elif token.type in (fstring_end, tstring_end) and token.type is not None and starts:
                open_string.update(range(starts.pop(), token.end[0]))
            if token.type not in (tokenize.COMMENT,):
                previous_type = token.type
                previous_end_row = token.end[0]
    except (tokenize.TokenError, SyntaxError, IndentationError) as exc:
        log.debug("ignore: tokenizing stopped: %s", exc)
        for row in starts:  # an f-string still open at the error
            open_string.update(range(row, text.count("\n") + 2))
    return open_string, continued
