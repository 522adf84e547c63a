"""What a quick fix is (``Fix`` → ``FileEdit`` → ``TextEdit``) and how a
codemod's output becomes edits.

A codemod returns the whole new module text; the client wants small edits so
its cursor, selection and undo history survive. ``text_edits`` diffs old and
new text by lines (``difflib.SequenceMatcher``) and trims each changed block
to the characters that actually differ.

Positions follow ``Finding``: 1-based lines, 0-based columns counted in code
points. Line breaks are the LSP ones (``\\n``, ``\\r\\n``, ``\\r``); a position
never falls between the ``\\r`` and ``\\n`` of one line break.
"""

from __future__ import annotations

import ast
import bisect
import difflib
import logging
import re
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import libcst as cst
from libcst.codemod import (
    Codemod,
    CodemodContext,
    SkipFile,
    TransformFailure,
    TransformSkip,
    TransformSuccess,
    transform_module,
)
from libcst.metadata import (
    CodeRange,
    MetadataWrapper,
    ParentNodeProvider,
    PositionProvider,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TextEdit:
    """Replace the text between two positions (end exclusive) with ``new_text``."""

    line: int  # 1-based
    column: int  # 0-based, code points
    end_line: int
    end_column: int
    new_text: str


@dataclass(frozen=True)
class FileEdit:
    """Edits to one file (``path`` is absolute). With ``create=True`` the file
    is new and ``new_text`` is its whole content (``edits`` stays empty)."""

    path: str
    edits: tuple[TextEdit, ...] = ()
    create: bool = False
    new_text: str | None = None


@dataclass(frozen=True)
class Fix:
    title: str
    code: str  # the rule code the fix is for
    edits: tuple[FileEdit, ...]
    # Safe fixes keep behaviour and touch only the finding's file: ``--fix``
    # and ``source.fixAll.stackguard`` apply them without review.
    safe: bool
    kind: str = "quickfix"

    def edits_for(self, path: str) -> tuple[TextEdit, ...]:
        """The edits to ``path`` (empty when the fix does not touch it)."""
        return tuple(edit for file_edit in self.edits if file_edit.path == path for edit in file_edit.edits)

    @property
    def in_file_only(self) -> bool:
        """True when the fix edits exactly one existing file and creates none."""
        return len(self.edits) == 1 and not self.edits[0].create


_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")


def split_lines(text: str) -> list[str]:
    """Lines with their line breaks kept; ``"".join(result) == text``."""
    return _LINE.findall(text)


def line_starts(text: str) -> list[int]:
    """Offsets where each line starts; one more entry when the text ends with a line break."""
    starts = [0]
    for match in re.finditer(r"\r\n|\r|\n", text):
        starts.append(match.end())
    return starts


def offset_of(text: str, starts: list[int], line: int, column: int) -> int:
    """Offset of a 1-based line / 0-based column; positions past a line's end
    or past the last line clamp, as LSP clients do."""
    if line < 1:
        return 0
    if line > len(starts):
        return len(text)
    start = starts[line - 1]
    end = starts[line] if line < len(starts) else len(text)
    content_end = end
    while content_end > start and text[content_end - 1] in "\r\n":
        content_end -= 1
    return min(start + max(column, 0), content_end)


def position_of(text: str, starts: list[int], offset: int) -> tuple[int, int]:
    index = bisect.bisect_right(starts, offset) - 1
    return index + 1, offset - starts[index]


def text_edits(old: str, new: str) -> tuple[TextEdit, ...]:
    """Minimal edits turning ``old`` into ``new``: changed line blocks from a
    line diff, each trimmed to the characters that differ."""
    if old == new:
        return ()
    old_lines, new_lines = split_lines(old), split_lines(new)
    old_offsets = _cumulative(old_lines)
    new_offsets = _cumulative(new_lines)
    starts = line_starts(old)
    # Codemods change a few places in a long file: diff only the lines
    # between the common head and tail. autojunk keeps SequenceMatcher fast
    # on lines repeated everywhere (blank ones); a coarser block it may give
    # is narrowed by the trimming below.
    head = 0
    limit = min(len(old_lines), len(new_lines))
    while head < limit and old_lines[head] == new_lines[head]:
        head += 1
    tail = 0
    while tail < limit - head and old_lines[-1 - tail] == new_lines[-1 - tail]:
        tail += 1
    matcher = difflib.SequenceMatcher(
        None, old_lines[head : len(old_lines) - tail], new_lines[head : len(new_lines) - tail], autojunk=True
    )
    edits: list[TextEdit] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        i1, i2, j1, j2 = i1 + head, i2 + head, j1 + head, j2 + head
        start, end = old_offsets[i1], old_offsets[i2]
        replacement = new[new_offsets[j1] : new_offsets[j2]]
        start, end, replacement = _trim(old, start, end, replacement)
        if start == end and not replacement:
            continue
        line, column = position_of(old, starts, start)
        end_line, end_column = position_of(old, starts, end)
        edits.append(TextEdit(line, column, end_line, end_column, replacement))
    return tuple(edits)


def _cumulative(lines: list[str]) -> list[int]:
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line))
    return offsets


def _trim(text: str, start: int, end: int, replacement: str) -> tuple[int, int, str]:
    """Drop the common prefix and suffix of ``text[start:end]`` and
    ``replacement``, never splitting a ``\\r\\n`` pair."""
    segment = text[start:end]
    prefix = 0
    limit = min(len(segment), len(replacement))
    while prefix < limit and segment[prefix] == replacement[prefix]:
        prefix += 1
    while prefix and _splits_crlf(text, start + prefix):
        prefix -= 1
    suffix = 0
    limit = min(len(segment), len(replacement)) - prefix
    while suffix < limit and segment[-1 - suffix] == replacement[-1 - suffix]:
        suffix += 1
    while suffix and _splits_crlf(text, end - suffix):
        suffix -= 1
    return start + prefix, end - suffix, replacement[prefix : len(replacement) - suffix]


def _splits_crlf(text: str, offset: int) -> bool:
    return 0 < offset < len(text) and text[offset - 1] == "\r" and text[offset] == "\n"


def apply_text_edits(text: str, edits: Iterable[TextEdit]) -> str:
    """Apply edits whose positions all refer to ``text`` (as LSP edits do).
    Raises ValueError when two edits overlap."""
    starts = line_starts(text)
    spans = []
    for order, edit in enumerate(edits):
        start = offset_of(text, starts, edit.line, edit.column)
        end = offset_of(text, starts, edit.end_line, edit.end_column)
        if end < start:
            raise ValueError(f"edit ends before it starts: {edit}")
        spans.append((start, end, order, edit.new_text))
    spans.sort()
    pieces: list[str] = []
    cursor = 0
    for start, end, _order, new_text in spans:
        if start < cursor:
            raise ValueError("overlapping edits")
        pieces.append(text[cursor:start])
        pieces.append(new_text)
        cursor = end
    pieces.append(text[cursor:])
    return "".join(pieces)


def run_codemod(codemod: Codemod, source_text: str, what: str) -> str | None:
    """Run a libcst codemod (``transform_module`` never raises); the new text,
    or None when it failed, skipped or changed nothing. ``what`` names the fix
    in the log line that says why there is no fix."""
    result = transform_module(codemod, source_text)
    if isinstance(result, TransformSuccess):
        if result.code == source_text:
            log.debug("%s: codemod changed nothing", what)
            return None
        return result.code
    if isinstance(result, TransformSkip):
        log.info("%s: no fix: %s", what, result.skip_description)
    elif isinstance(result, TransformFailure) and isinstance(result.error, cst.ParserSyntaxError):
        log.info("%s: no fix: the document does not parse (%s)", what, str(result.error).splitlines()[0])
    elif isinstance(result, TransformFailure):
        log.warning("%s: codemod failed: %r\n%s", what, result.error, result.traceback_str)
    else:
        log.info("%s: codemod interrupted", what)
    return None


def new_context(path: str | None = None) -> CodemodContext:
    return CodemodContext(filename=path)


def in_file_fix(title: str, code: str, path: str, old: str, new: str | None, *, safe: bool) -> Fix | None:
    """A fix editing only ``path``; None when nothing changes."""
    if new is None or new == old:
        return None
    edits = text_edits(old, new)
    if not edits:
        return None
    return Fix(title=title, code=code, edits=(FileEdit(path=path, edits=edits),), safe=safe)


def parses(text: str) -> bool:
    """Whether Python can parse ``text`` (fixed code must stay valid)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return True


# --- codemods that look at one statement ------------------------------------
#
# Resolving libcst metadata over a whole module costs far more than parsing it
# (a deep copy, then a pass per provider). A fix only needs the positions
# around its target, so codemods resolve them for the one top-level statement
# that holds the target and splice the rewritten statement back.


Statement = cst.SimpleStatementLine | cst.BaseCompoundStatement


class Located:
    """One top-level statement with positions (in the module's lines) and
    parent links for the nodes inside it."""

    def __init__(self, index: int, statement: Statement, offset: int, module: cst.Module) -> None:
        self.index = index
        self.statement = statement
        self.offset = offset  # lines of the module before the statement's code
        wrapper = MetadataWrapper(
            cst.Module(body=[statement], default_indent=module.default_indent, default_newline=module.default_newline),
            unsafe_skip_copy=True,  # a freshly parsed tree: every node is distinct
        )
        self.positions: Mapping[cst.CSTNode, CodeRange] = wrapper.resolve(PositionProvider)
        self.parents: Mapping[cst.CSTNode, cst.CSTNode] = wrapper.resolve(ParentNodeProvider)

    def start(self, node: cst.CSTNode) -> tuple[int, int]:
        where = self.positions[node].start
        return where.line + self.offset, where.column

    def end(self, node: cst.CSTNode) -> tuple[int, int]:
        where = self.positions[node].end
        return where.line + self.offset, where.column

    def nodes_starting_on(self, line: int) -> list[cst.CSTNode]:
        local = line - self.offset
        return [node for node, where in self.positions.items() if where.start.line == local]

    def replace(self, tree: cst.Module, old: cst.CSTNode, new: cst.CSTNode) -> cst.Module:
        """``tree`` with ``old`` (a node of this statement) replaced by ``new``."""
        statement = new if old is self.statement else self.statement.deep_replace(old, new)
        return replace_statement(tree, self.index, statement)  # type: ignore[arg-type]


def replace_statement(tree: cst.Module, index: int, statement: Statement | None) -> cst.Module:
    body = list(tree.body)
    if statement is None:
        removed = body.pop(index)
        if index < len(body) and removed.leading_lines:  # keep comments above a removed line
            body[index] = body[index].with_changes(leading_lines=[*removed.leading_lines, *body[index].leading_lines])
    else:
        body[index] = statement
    return tree.with_changes(body=body)


def locate(tree: cst.Module, line: int, python_tree: ast.Module | None = None) -> Located | None:
    """The top-level statement whose code (with the comments and blank lines
    above it) spans ``line``. ``python_tree`` (the ``ast`` parse of the same
    text) gives the statements' lines without generating the module's code."""
    if python_tree is not None:
        found = _locate_with_ast(tree, line, python_tree)
        if found is not None:
            return found
    newline = tree.default_newline
    current = 1 + len(tree.header)
    for index, statement in enumerate(tree.body):
        count = tree.code_for_node(statement).count(newline)
        if current <= line < current + max(count, 1):
            return Located(index, statement, current - 1, tree)
        current += count
    return None


def _locate_with_ast(tree: cst.Module, line: int, python_tree: ast.Module) -> Located | None:
    statements = python_tree.body
    consumed = 0
    for index, statement in enumerate(tree.body):
        # A line of `a = 1; b = 2` is one libcst statement and two ast ones.
        count = len(statement.body) if isinstance(statement, cst.SimpleStatementLine) else 1
        group = statements[consumed : consumed + count]
        consumed += count
        if len(group) != count:
            return None
        first = group[0]
        decorators = getattr(first, "decorator_list", None) or []
        start = min([first.lineno, *(d.lineno for d in decorators)])
        end = getattr(group[-1], "end_lineno", None)
        if end is None:
            return None
        if start <= line <= end:
            above = len(statement.leading_lines)
            if isinstance(statement, (cst.FunctionDef, cst.ClassDef)) and statement.decorators:
                above += len(statement.decorators[0].leading_lines)
            return Located(index, statement, start - 1 - above, tree)
        if start > line:
            return None  # a comment or blank line between statements
    return None


class StatementCodemod(Codemod):
    """A codemod that resolves metadata itself, for one statement (see
    ``locate``), instead of over the whole module."""

    def __init__(self, context: CodemodContext, source_text: str) -> None:
        super().__init__(context)
        self.source_text = source_text
        self._python_tree: ast.Module | None = None
        self._parsed = False

    @property
    def python_tree(self) -> ast.Module | None:
        """The ``ast`` parse of the source (None when Python cannot parse it)."""
        if not self._parsed:
            self._parsed = True
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    self._python_tree = ast.parse(self.source_text)
            except (SyntaxError, ValueError, RecursionError, MemoryError):
                self._python_tree = None
        return self._python_tree

    def transform_module(self, tree: cst.Module) -> cst.Module:
        return self.transform_module_impl(tree)

    def locate(self, tree: cst.Module, line: int) -> Located:
        located = locate(tree, line, self.python_tree)
        if located is None:
            raise SkipFile(f"line {line} is outside the module's statements")
        return located


# --- imports ------------------------------------------------------------------


def _dotted(node: cst.BaseExpression | None) -> str | None:
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        base = _dotted(node.value)
        return f"{base}.{node.attr.value}" if base else None
    return None


def _absolute_module(statement: cst.ImportFrom, current_module: str) -> str | None:
    """The module an ``ImportFrom`` reads, relative imports resolved against
    ``current_module`` (``app.services.items``)."""
    module = _dotted(statement.module) if statement.module is not None else ""
    if module is None:
        return None
    level = len(statement.relative)
    if not level:
        return module
    package = current_module.split(".")[:-1]
    if level > 1:
        if level - 1 > len(package):
            return None
        package = package[: len(package) - (level - 1)]
    return ".".join([*package, module] if module else package) or None


def _top_level_imports(tree: cst.Module):
    """(body index, import statement) for every module-level import."""
    for index, statement in enumerate(tree.body):
        if isinstance(statement, cst.SimpleStatementLine):
            for small in statement.body:
                if isinstance(small, (cst.Import, cst.ImportFrom)):
                    yield index, small


def imported_name(tree: cst.Module, module: str, name: str, current_module: str = "") -> str | None:
    """The local name under which a module-level ``from module import name``
    (with any alias, relative or not) binds ``name``; None when it does not."""
    for _index, small in _top_level_imports(tree):
        if not isinstance(small, cst.ImportFrom) or isinstance(small.names, cst.ImportStar):
            continue
        if _absolute_module(small, current_module) != module:
            continue
        for alias in small.names:
            if _dotted(alias.name) == name:
                if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                    return alias.asname.name.value
                return name
    return None


def add_from_import(tree: cst.Module, module: str, name: str, current_module: str = "") -> cst.Module:
    """Add ``from module import name``: appended to an existing module-level
    import from ``module`` (keeping its layout), else a new statement after
    the module's leading imports."""
    for index, small in _top_level_imports(tree):
        if (
            isinstance(small, cst.ImportFrom)
            and not isinstance(small.names, cst.ImportStar)
            and _absolute_module(small, current_module) == module
        ):
            names = list(small.names)
            last = names[-1]
            multiline = small.lpar is not None and "\n" in tree.code_for_node(small)
            if multiline and isinstance(last.comma, cst.Comma):
                # One name per line with a trailing comma: add ours likewise.
                previous = names[-2].comma if len(names) > 1 else None
                separator = previous if isinstance(previous, cst.Comma) else last.comma
                names[-1] = last.with_changes(comma=separator)
                names.append(cst.ImportAlias(name=cst.Name(name), comma=last.comma))
            else:
                names[-1] = last.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
                trailing = last.comma if isinstance(last.comma, cst.Comma) else cst.MaybeSentinel.DEFAULT
                names.append(cst.ImportAlias(name=cst.Name(name), comma=trailing))
            statement = tree.body[index]
            updated = statement.deep_replace(small, small.with_changes(names=names))
            return replace_statement(tree, index, updated)  # type: ignore[arg-type]
    return insert_import(tree, cst.parse_statement(f"from {module} import {name}\n"))  # type: ignore[arg-type]


def insert_import(tree: cst.Module, statement: cst.SimpleStatementLine) -> cst.Module:
    """Insert an import statement after the module's docstring and leading imports."""
    body = list(tree.body)
    position = 0
    for index, existing in enumerate(body):
        if not isinstance(existing, cst.SimpleStatementLine):
            break
        smalls = existing.body
        is_docstring = index == 0 and len(smalls) == 1 and isinstance(smalls[0], cst.Expr) and isinstance(
            smalls[0].value, (cst.SimpleString, cst.ConcatenatedString)
        )
        if is_docstring or all(isinstance(s, (cst.Import, cst.ImportFrom)) for s in smalls):
            position = index + 1
            continue
        break
    if position == 0 and body:
        # Comments heading the file stay on top of it; code keeps its distance.
        statement = statement.with_changes(leading_lines=body[0].leading_lines)
        blank = 2 if isinstance(body[0], (cst.FunctionDef, cst.ClassDef)) else 1
        body[0] = body[0].with_changes(leading_lines=[cst.EmptyLine()] * blank)
    body.insert(position, statement)
    return tree.with_changes(body=body)


def remove_unused_imports(tree: cst.Module, names: Iterable[str], still_used: Callable[[str], bool]) -> cst.Module:
    """Drop module-level imports binding one of ``names`` when
    ``still_used(name)`` says nothing refers to it any more."""
    unused = {name for name in names if not still_used(name)}
    if not unused:
        return tree
    for index, small in reversed(list(_top_level_imports(tree))):
        if isinstance(small.names, cst.ImportStar):
            continue
        kept = [alias for alias in small.names if _bound_name(alias) not in unused]
        if len(kept) == len(small.names):
            continue
        statement = tree.body[index]
        assert isinstance(statement, cst.SimpleStatementLine)
        if kept:
            last_original = small.names[-1]
            kept[-1] = kept[-1].with_changes(comma=last_original.comma if small_has_parens(small) else cst.MaybeSentinel.DEFAULT)
            new_statement = statement.deep_replace(small, small.with_changes(names=kept))
        else:
            rest = [s for s in statement.body if s is not small]
            new_statement = statement.with_changes(body=rest) if rest else None
        tree = replace_statement(tree, index, new_statement)  # type: ignore[arg-type]
    return tree


def small_has_parens(small: cst.Import | cst.ImportFrom) -> bool:
    return isinstance(small, cst.ImportFrom) and small.lpar is not None


def _bound_name(alias: cst.ImportAlias) -> str | None:
    if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
        return alias.asname.name.value
    dotted = _dotted(alias.name)
    return dotted.split(".", 1)[0] if dotted else None


def module_bindings(tree: cst.Module) -> set[str]:
    """Names bound at module level by imports, classes, functions and plain assignments."""
    names: set[str] = set()
    for statement in tree.body:
        if isinstance(statement, (cst.ClassDef, cst.FunctionDef)):
            names.add(statement.name.value)
        elif isinstance(statement, cst.SimpleStatementLine):
            for small in statement.body:
                if isinstance(small, (cst.Import, cst.ImportFrom)) and not isinstance(small.names, cst.ImportStar):
                    names.update(n for n in (_bound_name(alias) for alias in small.names) if n)
                elif isinstance(small, cst.Assign):
                    names.update(t.target.value for t in small.targets if isinstance(t.target, cst.Name))
                elif isinstance(small, cst.AnnAssign) and isinstance(small.target, cst.Name):
                    names.add(small.target.value)
    return names
