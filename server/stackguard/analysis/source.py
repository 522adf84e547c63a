"""One parsed Python document: text, lines, ``ast`` tree or the reason there is none.

Parsing never raises on user input. What the running interpreter cannot parse
(a syntax error mid-typing, grammar newer than this Python, a tree deep enough
to exhaust the parser, null bytes) becomes a ``ParseProblem`` and ``tree`` is
``None``.
"""

from __future__ import annotations

import ast
import io
import tokenize
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class ParseProblem:
    message: str
    line: int = 1  # 1-based
    column: int = 0  # 0-based, code points
    kind: str = "syntax"  # syntax | unsupported | too-large | binary | encoding | unreadable


@dataclass
class SourceFile:
    path: str  # absolute
    relative: str  # relative to the project root, forward slashes
    text: str
    tree: ast.Module | None
    parse_problem: ParseProblem | None = None
    _lines: list[str] | None = field(default=None, repr=False)

    @property
    def lines(self) -> list[str]:
        if self._lines is None:
            self._lines = self.text.splitlines()
        return self._lines

    def line_text(self, line: int) -> str:
        """Text of a 1-based line, '' when out of range."""
        lines = self.lines
        return lines[line - 1] if 0 < line <= len(lines) else ""

    def char_column(self, line: int, byte_column: int) -> int:
        """``ast`` columns are UTF-8 byte offsets; editors want characters."""
        text = self.line_text(line)
        if text.isascii():
            return byte_column
        return len(text.encode("utf-8")[:byte_column].decode("utf-8", errors="ignore"))

    def segment(self, node: ast.AST) -> str:
        """The node's exact source text ('' when it has no position).

        Unlike ``ast.get_source_segment``, which re-splits the whole file on
        every call, this slices the cached lines: rules call it per finding."""
        line = getattr(node, "lineno", None)
        end_line = getattr(node, "end_lineno", None)
        column = getattr(node, "col_offset", None)
        end_column = getattr(node, "end_col_offset", None)
        if line is None or end_line is None or column is None or end_column is None:
            return ""
        lines = self.lines
        if not (0 < line <= end_line <= len(lines)):
            return ""
        if line == end_line:
            return lines[line - 1].encode("utf-8")[column:end_column].decode("utf-8", errors="replace")
        first = lines[line - 1].encode("utf-8")[column:].decode("utf-8", errors="replace")
        last = lines[end_line - 1].encode("utf-8")[:end_column].decode("utf-8", errors="replace")
        return "\n".join([first, *lines[line : end_line - 1], last])


def _syntax_problem(exc: SyntaxError) -> ParseProblem:
    message = exc.msg or "invalid syntax"
    line = exc.lineno or 1
    column = max((exc.offset or 1) - 1, 0)
    return ParseProblem(f"cannot parse: {message}", line, column, "syntax")


def parse_source(path: str, relative: str, text: str) -> SourceFile:
    try:
        tree = ast.parse(text, filename=path, type_comments=False)
    except SyntaxError as exc:
        return SourceFile(path, relative, text, None, _syntax_problem(exc))
    except (RecursionError, MemoryError):
        return SourceFile(
            path,
            relative,
            text,
            None,
            ParseProblem("the Python parser ran out of depth on this file; skipped", 1, 0, "unsupported"),
        )
    except ValueError as exc:  # "source code string cannot contain null bytes" on 3.11
        return SourceFile(path, relative, text, None, ParseProblem(f"cannot parse: {exc}", 1, 0, "binary"))
    return SourceFile(path, relative, text, tree)


def decode_source(data: bytes) -> tuple[str | None, ParseProblem | None]:
    """Decode Python source bytes the way the interpreter would: a BOM or a
    PEP 263 coding cookie decides, else UTF-8. Binary content is refused."""
    if b"\x00" in data[:65536]:
        return None, ParseProblem("binary content (NUL bytes) in a .py file; skipped", 1, 0, "binary")
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as exc:
        return None, ParseProblem(f"unknown source encoding: {exc}", 1, 0, "encoding")
    try:
        text = data.decode(encoding)
    except (UnicodeDecodeError, LookupError) as exc:
        detail = f"byte {exc.start}" if isinstance(exc, UnicodeDecodeError) else str(exc)
        line = data[: exc.start].count(b"\n") + 1 if isinstance(exc, UnicodeDecodeError) else 1
        return None, ParseProblem(
            f"not valid {encoding} ({detail}); declare the encoding with a coding comment or save as UTF-8",
            line,
            0,
            "encoding",
        )
    if text.startswith("\ufeff"):
        text = text[1:]
    return text, None


def load_source(path: Path, relative: str, max_bytes: int) -> SourceFile:
    """Read and parse a file from disk; every failure is a ParseProblem."""
    try:
        size = path.stat().st_size
        if size > max_bytes:
            return SourceFile(
                str(path),
                relative,
                "",
                None,
                ParseProblem(f"file is {size} bytes, over the {max_bytes}-byte limit; skipped", 1, 0, "too-large"),
            )
        data = path.read_bytes()
    except OSError as exc:
        return SourceFile(str(path), relative, "", None, ParseProblem(f"cannot read: {exc.strerror}", 1, 0, "unreadable"))
    text, problem = decode_source(data)
    if text is None:
        return SourceFile(str(path), relative, "", None, problem)
    return parse_source(str(path), relative, text)
