"""Incremental re-analysis of an open document, one keystroke at a time.

Parsing a 2,000-line module costs ~30 ms and running every rule over it
more, so an editor that redid both on every keystroke could not answer
within the 50 ms a user perceives as instant. Two facts make most of that
work redundant:

1. **A top-level statement is a clean cut for the tokenizer.** It starts at
   column 0 with no open bracket, string or indented block. When only the
   lines between two such cuts changed, parsing those lines alone and
   keeping the ``ast`` nodes of the unchanged statements (their line numbers
   moved by the lines added or removed) gives the same tree as parsing the
   whole text; ``splice_tree`` does that, and returns ``None`` (parse it
   all) whenever the changed lines do not parse on their own.
2. **Most rules judge one statement at a time.** A rule whose class says
   ``scope = "statement"`` promises that what it reports inside a top-level
   statement depends only on that statement and on module-wide context: the
   layer, the imports, the module's "skeleton" (everything but function
   bodies), its summary and the workspace index. While that context is
   unchanged (``context_key``), the findings of every statement the edit did
   not touch are carried over, their lines moved like their nodes, and the
   statement rules only walk the statements that changed. Rules that look
   across function bodies say ``scope = "module"`` and run on every version.

``tests/unit/test_incremental.py`` checks both facts against the slow path
(parse everything, run every rule) on random edits of every rule's fixture.
"""

from __future__ import annotations

import ast
import re
from bisect import bisect_right
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields, is_dataclass, replace
from typing import TYPE_CHECKING, Any

from .nodes import child_fields

if TYPE_CHECKING:  # the rules import this package: no import cycle at run time
    from ..rules import Finding

# str.splitlines() also breaks at form feeds, vertical tabs and Unicode line
# separators; the tokenizer does not, so lines would disagree with ``ast``
# line numbers. Such (rare) texts are always parsed whole.
_ODD_LINE_BREAKS = re.compile("[\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")


def split_lines(text: str) -> list[str] | None:
    """The text's lines with their line breaks, numbered as ``ast`` numbers
    them; None when the text has line breaks the tokenizer does not know."""
    if _ODD_LINE_BREAKS.search(text):
        return None
    return text.splitlines(keepends=True)


def statement_start(stmt: ast.stmt) -> int:
    """First line of a top-level statement, its decorators included."""
    decorators = getattr(stmt, "decorator_list", None)
    if decorators:
        return min(stmt.lineno, min(d.lineno for d in decorators))
    return stmt.lineno


def statement_spans(tree: ast.Module) -> tuple[list[int], list[int]]:
    """(first lines, last lines) of the module's top-level statements."""
    starts = [statement_start(stmt) for stmt in tree.body]
    ends = [stmt.end_lineno or stmt.lineno for stmt in tree.body]
    return starts, ends


# ---------------------------------------------------------------------------
# Moving line numbers


# Node type -> (has a position, fields that may hold child nodes).
_SHAPES: dict[type, tuple[bool, tuple[str, ...]]] = {}


def shift_lines(roots: list[ast.stmt], offset: int) -> None:
    """Add ``offset`` to the line numbers of every node under ``roots``.
    (Enter in the middle of a file moves half its nodes: one dict lookup per
    node, no function calls.)"""
    if not offset:
        return
    AST = ast.AST
    shapes = _SHAPES
    stack: list[ast.AST] = list(roots)
    pop, push = stack.pop, stack.append
    while stack:
        node = pop()
        kind = type(node)
        shape = shapes.get(kind)
        if shape is None:
            shape = shapes[kind] = ("lineno" in getattr(kind, "_attributes", ()), child_fields(kind))
        positioned, fields = shape
        if positioned:
            node.lineno += offset  # type: ignore[attr-defined]
            end = node.end_lineno  # type: ignore[attr-defined]
            if end is not None:
                node.end_lineno = end + offset  # type: ignore[attr-defined]
        for name in fields:
            value = getattr(node, name, None)
            if value is None:
                continue
            if type(value) is list:
                for item in value:
                    if isinstance(item, AST):
                        push(item)
            elif isinstance(value, AST):
                push(value)


# ---------------------------------------------------------------------------
# Re-parsing only what changed


@dataclass
class Splice:
    """The new version's tree, built from the old one."""

    tree: ast.Module
    # New top-level statement index -> (old index, line offset) for every
    # statement carried over unchanged; the others were parsed anew.
    carried: dict[int, tuple[int, int]]
    # Old lines [first, last] that were re-parsed (last < first: none).
    region: tuple[int, int]
    delta: int  # lines added (negative: removed)

    def old_to_new(self, line: int) -> int | None:
        """Where an old line is now; None when it was inside the re-parsed
        region (its content may have changed)."""
        first, last = self.region
        if line < first:
            return line
        if line > last:
            return line + self.delta
        return None


def splice_tree(old_tree: ast.Module, old_lines: list[str], new_lines: list[str]) -> Splice | None:
    """The tree of ``new_lines``, re-parsing only the top-level statements
    around the changed lines. ``old_tree`` must be the tree of ``old_lines``
    and is consumed (its unchanged statements move into the new tree). None
    when the changed region does not parse on its own: parse the whole text,
    which also reports the syntax error where it is."""
    n_old, n_new = len(old_lines), len(new_lines)
    limit = min(n_old, n_new)
    same = 0
    while same < limit and old_lines[same] == new_lines[same]:
        same += 1
    tail = 0
    while tail < limit - same and old_lines[n_old - 1 - tail] == new_lines[n_new - 1 - tail]:
        tail += 1
    delta = n_new - n_old
    body = old_tree.body
    if same == n_old == n_new:
        return Splice(old_tree, {i: (i, 0) for i in range(len(body))}, (1, 0), 0)
    starts = [statement_start(stmt) for stmt in body]
    # Old lines (same, changed_end] were replaced. The re-parsed region starts
    # at the last statement starting in the unchanged head: lines typed after
    # it, indented, may continue its block. It ends before the first
    # statement that starts in the unchanged tail.
    changed_end = n_old - tail
    first_kept = bisect_right(starts, same) - 1
    region_first = starts[first_kept] if first_kept >= 0 else 1
    head = body[: max(first_kept, 0)]
    resume = bisect_right(starts, changed_end)
    region_last = starts[resume] - 1 if resume < len(body) else n_old
    rest = body[resume:]
    region_text = "".join(new_lines[region_first - 1 : region_last + delta])
    try:
        region = ast.parse(region_text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    shift_lines(region.body, region_first - 1)
    shift_lines(rest, delta)
    new_body = [*head, *region.body, *rest]
    carried = {i: (i, 0) for i in range(len(head))}
    offset = len(head) + len(region.body)
    for position in range(len(rest)):
        carried[offset + position] = (resume + position, delta)
    tree = ast.Module(body=new_body, type_ignores=[])
    return Splice(tree, carried, (region_first, region_last), delta)


# ---------------------------------------------------------------------------
# Carrying findings over


# Rules write a line they mention in a message as "line 12" or "lines 3, 7".
_LINE_MENTION = re.compile(r"\b(lines? )(\d+(?:, \d+)*)")


def _line_key(key: str) -> bool:
    """``line``, ``first_line``: one line number."""
    return key == "line" or key.endswith("_line")


def _lines_key(key: str) -> bool:
    """``call_lines``: a list of line numbers."""
    return key.endswith("_lines")


def _range_key(key: str) -> bool:
    """``value_range``: [line, column, end line, end column]."""
    return key == "range" or key.endswith("_range")


def _is_line(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _map_data(value: Any, move: Callable[[int], int]) -> Any:
    """``data`` with every line number (by the key conventions above) passed
    through ``move``; other values as they are."""
    if isinstance(value, Mapping):
        mapped = {}
        for key, item in value.items():
            if isinstance(key, str) and _line_key(key) and _is_line(item):
                item = move(item)
            elif isinstance(key, str) and _lines_key(key) and isinstance(item, (list, tuple)):
                item = type(item)(move(v) if _is_line(v) else v for v in item)
            elif isinstance(key, str) and _range_key(key) and isinstance(item, (list, tuple)) and len(item) == 4:
                item = type(item)(move(v) if i in (0, 2) and _is_line(v) else v for i, v in enumerate(item))
            else:
                item = _map_data(item, move)
            mapped[key] = item
        return mapped
    if isinstance(value, (list, tuple)):
        return type(value)(_map_data(item, move) for item in value)
    return value


def mentioned_lines(finding: Finding) -> list[int]:
    """Every line a finding refers to: its range, line-valued ``data``
    entries and lines named in its message."""
    found = [finding.line, finding.end_line]

    def collect(line: int) -> int:
        found.append(line)
        return line

    _map_data(finding.data, collect)
    for match in _LINE_MENTION.finditer(finding.message):
        found.extend(int(number) for number in match.group(2).split(", "))
    return found


def carry_finding(finding: Finding, splice: Splice) -> Finding | None:
    """The finding as it reads in the new version; None when it refers to a
    re-parsed line (the statement must be checked again)."""
    lines = mentioned_lines(finding)
    moved = {line: splice.old_to_new(line) for line in lines}
    if any(new is None for new in moved.values()):
        return None
    if all(new == old for old, new in moved.items()):
        return finding

    def move(line: int) -> int:
        new = moved.get(line)
        return new if new is not None else line

    message = _LINE_MENTION.sub(
        lambda m: m.group(1) + ", ".join(str(move(int(n))) for n in m.group(2).split(", ")), finding.message
    )
    return replace(
        finding,
        line=move(finding.line),
        end_line=move(finding.end_line),
        message=message,
        data=_map_data(finding.data, move),
    )


# ---------------------------------------------------------------------------
# When carried findings are still right


def skeleton(tree: ast.Module, lines: list[str]) -> str:
    """The module without its functions' signatures and bodies: imports,
    module-level statements, class bodies, decorators, and each function's
    kind and name. Line-free, so inserting a line inside a function leaves
    it unchanged.

    A function's parameters and body are the function's own business: the
    rules read them when they judge that function (which was re-parsed, so
    is checked again). What other statements' findings depend on is here,
    or in the summary, the imports and the route handlers that
    ``ProjectAnalyzer`` puts next to it in the context."""
    parts: list[str] = []

    def text(first: int, last: int) -> None:
        parts.append("".join(lines[first - 1 : last]))

    def function_header(func: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        if func.decorator_list:
            text(statement_start(func), func.lineno - 1)
        parts.append(f"{type(func).__name__} {func.name}\n")

    for stmt in tree.body:
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
            function_header(stmt)
        elif isinstance(stmt, ast.ClassDef):
            body_first = stmt.body[0].lineno if stmt.body else stmt.lineno
            text(statement_start(stmt), max(body_first - 1, stmt.lineno))
            for item in stmt.body:
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    function_header(item)
                else:
                    text(statement_start(item), item.end_lineno or item.lineno)
        else:
            text(statement_start(stmt), stmt.end_lineno or stmt.lineno)
        parts.append("\x00")
    return "".join(parts)


_POSITION_FIELDS = frozenset({"line", "col", "end_line", "end_col", "handler_line", "limiter_line"})


def line_free(value: Any) -> Any:
    """A comparable copy of a summary (dataclasses, dicts, lists) without
    its positions: equal before and after a line is inserted above."""
    if is_dataclass(value) and not isinstance(value, type):
        return (
            type(value).__name__,
            tuple(
                (f.name, line_free(getattr(value, f.name)))
                for f in fields(value)
                if f.name not in _POSITION_FIELDS and not f.name.endswith(("_line", "lineno"))
            ),
        )
    if isinstance(value, Mapping):
        if value and all(isinstance(v, int) and not isinstance(v, bool) for v in value.values()):
            # name -> line tables (``symbols``): the names matter, not where.
            return ("names", tuple(sorted(map(str, value))))
        return tuple((str(k), line_free(v)) for k, v in value.items())
    if isinstance(value, (list, tuple, set, frozenset)):
        items = [line_free(v) for v in value]
        return tuple(sorted(items, key=repr)) if isinstance(value, (set, frozenset)) else tuple(items)
    return value


_GLOBAL_STATEMENT = re.compile(r"^[ \t]*(?:global|nonlocal)[ \t]+[^\n]*", re.MULTILINE)


def global_declarations(text: str) -> tuple[str, ...]:
    """``global x`` lines anywhere: a function body that rebinds a module
    name changes what rules think of that name elsewhere (SG401)."""
    if "global" not in text and "nonlocal" not in text:
        return ()
    return tuple(sorted(match.strip() for match in _GLOBAL_STATEMENT.findall(text)))
