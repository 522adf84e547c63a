"""SG201 quick fix: bind interpolated values as query parameters.

The SQL expression (f-string, ``%`` or ``.format`` formatting, or a ``+``
chain) becomes a constant string with placeholders, and the values move into
the call's parameters, in the style of the API that runs it:

- SQLAlchemy ``text(f"… {user_id}")`` inside ``execute()`` →
  ``text("… :user_id")`` with ``{"user_id": user_id}`` as execute's second
  argument; a ``text()`` not passed straight to an execute call gets
  ``.bindparams(user_id=user_id)`` instead;
- DB-API cursors: ``cur.execute("… %s", (x,))``, ``?`` for sqlite3/aiosqlite,
  ``%(name)s`` with a dict for pyformat;
- asyncpg: ``conn.fetch("… $1", x)``;
- Django: ``Model.objects.raw("… %s", [x])``, ``cursor.execute`` likewise,
  ``RawSQL("… %s", [x])``.

An interpolation quoted in the SQL (``'{name}'``) loses its quotes; a quoted
literal with more text around it (``LIKE '%{term}%'``) becomes one parameter
built with an f-string (``f"%{term}%"``). Literal ``%`` signs are doubled for
``%s``-style drivers, which read ``%`` as a placeholder once parameters are
passed.

No automatic fix (None, with the reason logged) when the call already has
parameters, an interpolation has a format spec or conversion, the SQL was
built in a variable first, or an interpolation sits where a bound parameter
cannot go (a table or column name, an ``ORDER BY`` direction, a whole
``WHERE`` fragment, the list inside ``IN (...)``). A fix whose quoted values
may change type when bound (an int that was sent as ``'5'``) is offered but
not marked safe, so ``fixAll`` leaves it for review.
"""

from __future__ import annotations

import ast
import keyword
import logging
import re
import string
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import libcst as cst
from libcst.codemod import SkipFile

from ..analysis.semantics import ImportMap, dotted_name
from ..rules.base import Finding
from ..rules.sg201_sql_string_interpolation import (
    RAW_SQL_CONSTRUCTORS,
    TEXT_CONSTRUCTORS,
)
from .edits import (
    Fix,
    Located,
    StatementCodemod,
    in_file_fix,
    new_context,
    parses,
    run_codemod,
)

log = logging.getLogger(__name__)

TITLE = "Bind the interpolated values as query parameters"

_DEFAULT_PLACEHOLDER = {
    "sqlalchemy": ":name",
    "dbapi": "%s",
    "asyncpg": "$n",
    "django_raw": "%s",
    "django_cursor": "%s",
}
_PLACEHOLDERS = frozenset({":name", "%s", "%(name)s", "$n", "?"})
_EXECUTE_METHODS = frozenset({"execute", "exec", "scalars", "scalar", "scalar_one", "stream", "stream_scalars"})
_DIRECT_METHODS = frozenset({"execute", "exec_driver_sql", "fetch", "fetchrow", "fetchval", "raw"})
_SQL_KEYWORDS = frozenset({"sql", "query", "statement", "operation", "raw_query", "stmt"})
_PARAM_KEYWORDS = frozenset({"params", "parameters", "args", "parameter"})
# Attribute names too generic to name a parameter alone: `user.id` → `user_id`.
_GENERIC_ATTRS = frozenset({"id", "pk", "name", "email", "value", "key", "type", "code", "slug", "uuid", "status"})
# SQL words after which a bound value may follow.
_VALUE_KEYWORDS = frozenset({"LIKE", "ILIKE", "LIMIT", "OFFSET", "BETWEEN", "THEN", "ELSE", "FETCH", "FIRST"})
_TABLE_KEYWORDS = frozenset({"INTO", "TABLE", "JOIN", "FROM", "UPDATE", "INDEX", "ON", "USING"})
_NOT_FUNCTIONS = frozenset(
    {"IN", "INTO", "TABLE", "JOIN", "FROM", "ON", "EXISTS", "WHERE", "AND", "OR", "NOT", "USING", "INDEX", "UPDATE", "SELECT", "BY", "AS", "OVER", "WITH", "VALUES", "KEY", "CONFLICT"}
)


def sql_params_fix(finding: Finding, source_text: str, **_: object) -> Fix | None:
    data: Mapping[str, Any] = finding.data or {}
    what = f"{finding.code} at {finding.relative or finding.path}:{finding.line}"
    if data.get("variable"):
        log.info("%s: no fix: the SQL is built in variable %r before it runs", what, data.get("variable"))
        return None
    api = str(data.get("api") or "")
    placeholder = str(data.get("placeholder") or _DEFAULT_PLACEHOLDER.get(api, ""))
    if api not in _DEFAULT_PLACEHOLDER or placeholder not in _PLACEHOLDERS:
        log.info("%s: no fix: unknown api %r / placeholder %r", what, api, placeholder)
        return None
    sql_line = _int(data.get("sql_line")) or finding.line
    call_line = _int(data.get("call_line"))
    codemod = BindSqlParameters(
        new_context(finding.path),
        source_text=source_text,
        api=api,
        placeholder=placeholder,
        sql_line=sql_line,
        call_line=call_line,
        finding_column=finding.column if finding.line == sql_line else None,
    )
    new = run_codemod(codemod, source_text, what)
    if new is None or not parses(new):
        return None
    safe = finding.fixable and not codemod.risky
    return in_file_fix(finding.fix_title or TITLE, finding.code, finding.path, source_text, new, safe=safe)


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


# --- the SQL expression, decomposed -----------------------------------------


@dataclass
class _Piece:
    """One string literal of the source expression: its prefix (``r``,
    without ``f``) and quote, for rendering the rewritten text alike."""

    prefix: str
    quote: str


@dataclass
class _Text:
    text: str
    piece: int


@dataclass
class _Value:
    node: cst.BaseExpression
    piece: int


_Part = _Text | _Value


class _NoFix(Exception):
    """Raised inside the codemod with the reason there is no fix."""


@dataclass
class _Decomposed:
    pieces: list[_Piece]
    parts: list[_Part]
    # ConcatenatedString pieces keep their layout; anything else becomes one literal.
    literal_nodes: list[cst.BaseString] | None
    style: str


def _literal_pieces(node: cst.BaseExpression) -> list[cst.SimpleString | cst.FormattedString] | None:
    if isinstance(node, (cst.SimpleString, cst.FormattedString)):
        return [node]
    if isinstance(node, cst.ConcatenatedString):
        left = _literal_pieces(node.left)
        right = _literal_pieces(node.right)
        if left is None or right is None:
            return None
        return left + right
    return None


def _piece_style(node: cst.SimpleString | cst.FormattedString) -> _Piece:
    if isinstance(node, cst.FormattedString):
        raw_prefix = node.start[: len(node.start) - len(node.quote)]
    else:
        raw_prefix = node.value[: len(node.prefix)]
    return _Piece(prefix="".join(c for c in raw_prefix if c in "rR"), quote=node.quote)


def _string_parts(node: cst.SimpleString | cst.FormattedString, piece: int) -> list[_Part]:
    """Runtime text and interpolated expressions of one literal."""
    if isinstance(node, cst.SimpleString):
        if "b" in node.prefix:
            raise _NoFix("bytes SQL")
        value = node.evaluated_value
        if not isinstance(value, str):
            raise _NoFix("bytes SQL")
        return [_Text(value, piece)] if value else []
    # Constants come from Python's own parse (escapes, doubled braces), the
    # expressions from libcst; both list the parts in source order.
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            joined = ast.parse(cst.Module([]).code_for_node(node).strip(), mode="eval").body
    except (SyntaxError, ValueError) as exc:
        raise _NoFix(f"cannot read the f-string: {exc}") from exc
    if not isinstance(joined, ast.JoinedStr):
        raise _NoFix("not an f-string")
    values = list(joined.values)
    parts: list[_Part] = []
    for cst_part in node.parts:
        if not values:
            raise _NoFix("f-string parts do not line up")
        py_part = values.pop(0)
        if isinstance(cst_part, cst.FormattedStringText):
            if not (isinstance(py_part, ast.Constant) and isinstance(py_part.value, str)):
                raise _NoFix("f-string parts do not line up")
            parts.append(_Text(py_part.value, piece))
        else:
            assert isinstance(cst_part, cst.FormattedStringExpression)
            if cst_part.conversion or cst_part.format_spec or cst_part.equal:
                raise _NoFix("an interpolation has a conversion or format spec")
            if not isinstance(py_part, ast.FormattedValue):
                raise _NoFix("f-string parts do not line up")
            parts.append(_Value(cst_part.expression, piece))
    if values:
        raise _NoFix("f-string parts do not line up")
    return parts


def decompose(node: cst.BaseExpression) -> _Decomposed | None:
    """The SQL expression as text and values, or None when ``node`` is not
    a string built from values. Raises _NoFix when it is, but not in a way
    this fix can take apart."""
    literals = _literal_pieces(node)
    if literals is not None:
        if not any(isinstance(p, cst.FormattedString) for p in literals):
            return None
        parts = [part for index, lit in enumerate(literals) for part in _string_parts(lit, index)]
        return _Decomposed([_piece_style(p) for p in literals], parts, list(literals), "fstring")
    if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Modulo):
        literals = _literal_pieces(node.left)
        if literals is None or any(isinstance(p, cst.FormattedString) for p in literals):
            return None
        return _percent(literals, node.right)
    if (
        isinstance(node, cst.Call)
        and isinstance(node.func, cst.Attribute)
        and node.func.attr.value == "format"
        and (literals := _literal_pieces(node.func.value)) is not None
        and not any(isinstance(p, cst.FormattedString) for p in literals)
    ):
        return _format(literals, node)
    if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Add):
        return _concat(node)
    return None


_CONVERSION = re.compile(r"%(?:\((?P<name>[^)]*)\))?(?P<conv>[sdi%]?)")


def _percent(literals: list[cst.SimpleString | cst.FormattedString], right: cst.BaseExpression) -> _Decomposed:
    raw_parts: list[tuple[str, str | None, int]] = []  # (text, named key or "" for positional / None for text, piece)
    for index, lit in enumerate(literals):
        text = "".join(p.text for p in _string_parts(lit, index) if isinstance(p, _Text))
        cursor = 0
        for match in re.finditer("%", text):
            if match.start() < cursor:
                continue
            conversion = _CONVERSION.match(text, match.start())
            assert conversion is not None
            if conversion.group("conv") == "%" and conversion.group("name") is None:
                raw_parts.append((text[cursor : match.start()] + "%", None, index))
            elif conversion.group("conv") in ("s", "d", "i"):
                raw_parts.append((text[cursor : match.start()], None, index))
                raw_parts.append(("", conversion.group("name") or "", index))
            else:
                raise _NoFix("a % conversion other than %s/%d/%i, or with flags")
            cursor = conversion.end()
        raw_parts.append((text[cursor:], None, index))
    slots = [key for _text, key, _piece in raw_parts if key is not None]
    if not slots:
        raise _NoFix("no % conversions")
    named = {key for key in slots if key}
    values: list[cst.BaseExpression] = []
    if named:
        if len(named) != len(set(slots)) or "" in slots:
            raise _NoFix("mixed named and positional % conversions")
        if not isinstance(right, cst.Dict):
            raise _NoFix("named % conversions without a dict literal")
        by_key: dict[str, cst.BaseExpression] = {}
        for element in right.elements:
            if not isinstance(element, cst.DictElement) or not isinstance(element.key, cst.SimpleString):
                raise _NoFix("dict of % values is not literal")
            key = element.key.evaluated_value
            if not isinstance(key, str):
                raise _NoFix("dict of % values is not literal")
            by_key[key] = element.value
        try:
            values = [by_key[key] for key in slots]
        except KeyError as exc:
            raise _NoFix(f"no value for %({exc.args[0]})s") from exc
    elif isinstance(right, cst.Tuple):
        if any(not isinstance(e, cst.Element) for e in right.elements):
            raise _NoFix("starred % values")
        values = [e.value for e in right.elements]
    else:
        values = [right]
    if len(values) != len(slots):
        raise _NoFix("% conversions and values do not match")
    parts: list[_Part] = []
    queue = list(values)
    for text, slot, piece in raw_parts:
        if slot is None:
            if text:
                parts.append(_Text(text, piece))
        else:
            parts.append(_Value(queue.pop(0), piece))
    return _Decomposed([_piece_style(p) for p in literals], parts, list(literals), "percent")


def _format(literals: list[cst.SimpleString | cst.FormattedString], call: cst.Call) -> _Decomposed:
    positional: list[cst.BaseExpression] = []
    keywords: dict[str, cst.BaseExpression] = {}
    for arg in call.args:
        if arg.star:
            raise _NoFix("*args/**kwargs in .format()")
        if arg.keyword is not None:
            keywords[arg.keyword.value] = arg.value
        else:
            positional.append(arg.value)
    parts: list[_Part] = []
    auto = 0
    for index, lit in enumerate(literals):
        text = "".join(p.text for p in _string_parts(lit, index) if isinstance(p, _Text))
        try:
            fields = list(string.Formatter().parse(text))
        except ValueError as exc:
            raise _NoFix(f"malformed format string: {exc}") from exc
        for literal, field_name, spec, conversion in fields:
            if literal:
                parts.append(_Text(literal, index))
            if field_name is None:
                continue
            if spec or conversion:
                raise _NoFix("a format field has a spec or conversion")
            if field_name == "":
                position = auto
                auto += 1
                if position >= len(positional):
                    raise _NoFix("more {} fields than .format() arguments")
                parts.append(_Value(positional[position], index))
            elif field_name.isdigit():
                if int(field_name) >= len(positional):
                    raise _NoFix(f"no argument {field_name} in .format()")
                parts.append(_Value(positional[int(field_name)], index))
            elif field_name.isidentifier() and field_name in keywords:
                parts.append(_Value(keywords[field_name], index))
            else:
                raise _NoFix(f"format field {{{field_name}}} is not a plain argument")
    return _Decomposed([_piece_style(p) for p in literals], parts, list(literals), "format")


def _concat(node: cst.BinaryOperation) -> _Decomposed | None:
    operands: list[cst.BaseExpression] = []
    stack: list[cst.BaseExpression] = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, cst.BinaryOperation) and isinstance(current.operator, cst.Add):
            stack.append(current.right)
            stack.append(current.left)
        else:
            operands.append(current)
    literals = [op for op in operands if _literal_pieces(op) is not None]
    if not literals:
        return None
    styles = [_piece_style(p) for lit in literals for p in (_literal_pieces(lit) or [])]
    quote = next((s.quote for s in styles if len(s.quote) == 3), styles[0].quote)
    prefix = styles[0].prefix if all(s.prefix for s in styles) else ""
    parts: list[_Part] = []
    for operand in operands:
        pieces = _literal_pieces(operand)
        if pieces is None:
            parts.append(_Value(operand, 0))
        else:
            for lit in pieces:
                parts.extend(_with_piece(_string_parts(lit, 0), 0))
    return _Decomposed([_Piece(prefix, quote)], parts, None, "concat")


def _with_piece(parts: list[_Part], piece: int) -> list[_Part]:
    for part in parts:
        part.piece = piece
    return parts


# --- placeholders ---------------------------------------------------------


@dataclass
class _Binding:
    """One bound parameter: its value's source and, for named styles, its name."""

    source: str
    name: str = ""
    number: int = 0


@dataclass
class _Rewrite:
    texts: list[str]  # new runtime text per piece
    bindings: list[_Binding]  # in placeholder order (one per slot for %s/?)
    risky: bool = False


@dataclass
class _Namer:
    style: str
    taken: set[str] = field(default_factory=set)
    by_source: dict[str, _Binding] = field(default_factory=dict)
    ordered: list[_Binding] = field(default_factory=list)

    def bind(self, source: str, node: cst.BaseExpression | None) -> _Binding:
        if self.style in ("%s", "?"):
            binding = _Binding(source)
            self.ordered.append(binding)
            return binding
        existing = self.by_source.get(_normalise(source))
        if existing is not None:
            return existing
        binding = _Binding(source)
        if self.style == "$n":
            binding.number = len(self.by_source) + 1
        else:
            base = _name_for(node) if node is not None else None
            name = base or f"p{len(self.by_source) + 1}"
            candidate, suffix = name, 2
            while candidate in self.taken:
                candidate, suffix = f"{name}_{suffix}", suffix + 1
            binding.name = candidate
            self.taken.add(candidate)
        self.by_source[_normalise(source)] = binding
        self.ordered.append(binding)
        return binding

    def placeholder(self, binding: _Binding) -> str:
        if self.style == ":name":
            return f":{binding.name}"
        if self.style == "%(name)s":
            return f"%({binding.name})s"
        if self.style == "$n":
            return f"${binding.number}"
        return self.style


def _normalise(source: str) -> str:
    return re.sub(r"\s+", "", source)


def _name_for(node: cst.BaseExpression) -> str | None:
    node = _unwrap_str(node)
    name: str | None = None
    if isinstance(node, cst.Name):
        name = node.value
    elif isinstance(node, cst.Attribute):
        parts: list[str] = []
        current: cst.BaseExpression = node
        while isinstance(current, cst.Attribute):
            parts.append(current.attr.value)
            current = current.value
        if isinstance(current, cst.Name):
            parts.append(current.value)
        parts.reverse()
        parts = [p for p in parts if p not in ("self", "cls")]
        if parts:
            name = "_".join(parts[-2:]) if parts[-1] in _GENERIC_ATTRS and len(parts) > 1 else parts[-1]
    elif isinstance(node, cst.Subscript) and len(node.slice) == 1:
        index = node.slice[0].slice
        if isinstance(index, cst.Index) and isinstance(index.value, cst.SimpleString):
            key = index.value.evaluated_value
            if isinstance(key, str):
                name = key
    if not name:
        return None
    name = re.sub(r"\W", "_", name).strip("_")
    if not name or not name.isidentifier() or not name.isascii():
        return None
    if keyword.iskeyword(name):
        name += "_"
    return name


def _unwrap_str(node: cst.BaseExpression) -> cst.BaseExpression:
    """``str(x)`` → ``x``: the driver converts a bound value itself."""
    if (
        isinstance(node, cst.Call)
        and isinstance(node.func, cst.Name)
        and node.func.value == "str"
        and len(node.args) == 1
        and not node.args[0].star
        and node.args[0].keyword is None
    ):
        return node.args[0].value
    return node


def _code(node: cst.CSTNode) -> str:
    return cst.Module([]).code_for_node(node)


def _value_source(node: cst.BaseExpression) -> str:
    return _code(_unwrap_str(node)).strip()


def _rewrite(
    decomposed: _Decomposed, style: str, api: str, is_text: Callable[[cst.BaseExpression], bool] = lambda node: False
) -> _Rewrite:
    """Replace every slot by a placeholder (quoted slots lose their quotes).
    ``is_text(node)`` says whether a value is known to be a ``str``."""
    namer = _Namer(style)
    all_text = "".join(p.text for p in decomposed.parts if isinstance(p, _Text))
    if style == ":name":
        namer.taken.update(re.findall(r"(?<![:\w]):(\w+)", all_text))
    elif style == "%(name)s":
        namer.taken.update(re.findall(r"%\((\w+)\)s", all_text))
    elif style == "$n" and re.search(r"\$\d", all_text):
        raise _NoFix("the SQL already holds $n placeholders")
    pyformat = style in ("%s", "%(name)s")
    texts: list[list[str]] = [[] for _ in decomposed.pieces]
    sql_so_far: list[str] = []  # the rewritten SQL, for context checks
    risky = False
    placeholder_ends: list[int] = []

    # Literal state: inside '...' or "..." of the SQL itself.
    quote: str | None = None
    literal_start_piece = 0
    literal_raw: list[tuple[str, int]] = []  # text chunks of the literal, with their piece
    literal_content: list[_Part] = []  # runtime content (quote escapes undone)
    literal_context = ""

    def emit(text: str, piece: int) -> None:
        texts[piece].append(text.replace("%", "%%") if pyformat else text)
        sql_so_far.append(text)

    def emit_placeholder(node: cst.BaseExpression | None, source: str, piece: int) -> None:
        binding = namer.bind(source, node)
        placeholder = namer.placeholder(binding)
        texts[piece].append(placeholder)
        sql_so_far.append(placeholder)
        placeholder_ends.append(sum(len(chunk) for chunk in sql_so_far))

    def close_literal() -> None:
        nonlocal risky
        values = [p for p in literal_content if isinstance(p, _Value)]
        if not values:
            for raw, piece in literal_raw:
                emit(raw, piece)
            return
        if quote == "`":
            raise _NoFix("an interpolation inside a `quoted` identifier")
        if quote == '"' and not _value_context(literal_context):
            raise _NoFix('an interpolation inside a "quoted" identifier')
        if len(literal_content) == 1:
            node = values[0].node
            emit_placeholder(node, _value_source(node), literal_start_piece)
            # The value was sent as SQL text; bound as-is it keeps its own
            # type, which changes behaviour unless it is a str already.
            risky = risky or not is_text(_unwrap_str(node)) or _unwrap_str(node) is not node
            return
        source = _fstring_source(literal_content)
        inner = values[0].node if len(values) == 1 else None
        emit_placeholder(inner, source, literal_start_piece)

    for part in decomposed.parts:
        if isinstance(part, _Value):
            if quote is not None:
                literal_content.append(part)
                continue
            if not _value_context("".join(sql_so_far)):
                raise _NoFix("an interpolation is not in a value position (identifier, keyword or SQL fragment)")
            node = part.node
            if _is_join(node):
                raise _NoFix("an interpolation joins a list of values")
            emit_placeholder(node, _value_source(node), part.piece)
            continue
        text = part.text
        cursor = 0
        index = 0
        while index < len(text):
            char = text[index]
            if quote is None:
                if char in "'\"`":
                    emit(text[cursor:index], part.piece)
                    quote = char
                    literal_start_piece = part.piece
                    literal_context = "".join(sql_so_far)
                    literal_raw = [(char, part.piece)]
                    literal_content = []
                    cursor = index + 1
                index += 1
                continue
            if char != quote:
                index += 1
                continue
            _append_text(literal_content, text[cursor:index])
            if index + 1 < len(text) and text[index + 1] == quote:  # '' inside '...'
                _append_text(literal_content, quote)
                literal_raw.append((text[cursor : index + 2], part.piece))
                index += 2
                cursor = index
                continue
            literal_raw.append((text[cursor : index + 1], part.piece))
            close_literal()
            quote = None
            index += 1
            cursor = index
        if quote is None:
            emit(text[cursor:], part.piece)
        elif cursor < len(text):
            _append_text(literal_content, text[cursor:])
            literal_raw.append((text[cursor:], part.piece))
    if quote is not None:
        raise _NoFix("a quoted SQL literal is never closed")
    rewritten = "".join(sql_so_far)
    for end in placeholder_ends:
        follower = rewritten[end : end + 1]
        if follower and (follower.isalnum() or follower == "_"):
            raise _NoFix("a placeholder would run into the text after it")
        if follower == ":" and style == ":name":
            raise _NoFix("a :name placeholder before a :: cast is not read as a parameter")
    if api == "asyncpg" and any(_unwrapped(p) for p in decomposed.parts):
        risky = True  # asyncpg binds by type: `str(x)` and x are not interchangeable
    return _Rewrite(["".join(chunks) for chunks in texts], namer.ordered, risky)


def _append_text(content: list[_Part], text: str) -> None:
    if not text:
        return
    if content and isinstance(content[-1], _Text):
        content[-1] = _Text(content[-1].text + text, 0)
    else:
        content.append(_Text(text, 0))


def _unwrapped(part: _Part) -> bool:
    return isinstance(part, _Value) and _unwrap_str(part.node) is not part.node


def _is_join(node: cst.BaseExpression) -> bool:
    return isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and node.func.attr.value == "join"


def _fstring_source(content: list[_Part]) -> str:
    """``f"%{term}%"`` for a quoted SQL literal made of text and values."""
    sources = [_value_source(p.node) for p in content if isinstance(p, _Value)]
    if any("{" in s or "}" in s or "\\" in s or "\n" in s for s in sources):
        raise _NoFix("cannot write the quoted literal as an f-string")
    for quote in ('"', "'"):
        if any(quote in s for s in sources):
            continue
        body: list[str] = []
        for part in content:
            if isinstance(part, _Text):
                escaped = part.text.replace("{", "{{").replace("}", "}}")
                body.append(_escape_body(escaped, quote))
            else:
                source = _value_source(part.node)
                body.append("{" + (f"({source})" if ":" in source or "!" in source else source) + "}")
        return f"f{quote}{''.join(body)}{quote}"
    raise _NoFix("cannot write the quoted literal as an f-string")


_WORD = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\s*$")


def _value_context(sql: str, depth: int = 0) -> bool:
    """Whether a value may be bound right after ``sql`` (text before the slot)."""
    stripped = sql.rstrip()
    if not stripped or depth > 8:
        return False
    last = stripped[-1]
    if last in "=<>+-*/|":
        return True
    if last in "(,":
        open_paren = _innermost_open_paren(stripped)
        if open_paren is None:
            return False
        before = stripped[:open_paren].rstrip()
        word = _WORD.search(before)
        if word is not None:
            upper = word.group(1).upper()
            if upper == "VALUES":
                return True
            if upper in _NOT_FUNCTIONS:
                return False
            # An argument of a SQL function (lower(…), coalesce(…, …)), unless
            # the word is a table name: INSERT INTO t (…), JOIN t (…).
            preceding = _WORD.search(before[: word.start()].rstrip())
            return preceding is None or preceding.group(1).upper() not in _TABLE_KEYWORDS
        if before.endswith(",") and re.search(r"\bVALUES\b", before, re.IGNORECASE):
            return True  # the next row of a multi-row VALUES
        return _value_context(before, depth + 1)
    word = _WORD.search(stripped)
    if word is None:
        return False
    upper = word.group(1).upper()
    if upper in _VALUE_KEYWORDS:
        return True
    if upper == "AND":
        return re.search(r"\bBETWEEN\s+\S+\s+AND\s*$", stripped, re.IGNORECASE) is not None
    return False


def _innermost_open_paren(sql: str) -> int | None:
    depth = 0
    quote: str | None = None
    for index in range(len(sql) - 1, -1, -1):
        char = sql[index]
        if quote is not None:
            if char == quote:
                quote = None
            continue
        if char in "'\"":
            quote = char
        elif char == ")":
            depth += 1
        elif char == "(":
            if depth == 0:
                return index
            depth -= 1
    return None


# --- rendering string literals ---------------------------------------------


def _escape_body(text: str, quote: str) -> str:
    out: list[str] = []
    triple = len(quote) == 3
    quote_char = quote[0]
    for index, char in enumerate(text):
        if char == "\\":
            out.append("\\\\")
        elif char == quote_char:
            if not triple:
                out.append("\\" + char)
            else:
                run_end = index
                while run_end < len(text) and text[run_end] == quote_char:
                    run_end += 1
                run_start = index
                while run_start > 0 and text[run_start - 1] == quote_char:
                    run_start -= 1
                needs_escape = run_end - run_start >= 3 or run_end == len(text)
                out.append("\\" + char if needs_escape else char)
        elif char == "\n":
            out.append("\n" if triple else "\\n")
        elif char == "\r":
            out.append("\\r")
        elif char == "\t":
            out.append(char)
        elif ord(char) < 32 or ord(char) == 127:
            out.append(f"\\x{ord(char):02x}")
        else:
            out.append(char)
    return "".join(out)


def render_literal(text: str, piece: _Piece) -> str:
    """A Python string literal whose value is ``text``, written like the original piece."""
    candidates = []
    if piece.prefix:
        candidates.append(f"{piece.prefix}{piece.quote}{text}{piece.quote}")
    candidates.append(f"{piece.quote}{_escape_body(text, piece.quote)}{piece.quote}")
    for candidate in candidates:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                if ast.literal_eval(candidate) == text:
                    return candidate
        except (SyntaxError, ValueError):
            continue
    return repr(text)


# --- the codemod ------------------------------------------------------------


@dataclass
class _Sink:
    kind: str  # text_in_execute | text_bindparams | direct
    sql: cst.BaseExpression
    call: cst.Call  # the call that receives the parameters (execute / fetch / raw / text)
    arg_index: int  # index in call.args of the SQL (or of text(...))
    text_call: cst.Call | None = None
    raw_sql: bool = False  # Django RawSQL(sql, params)


class BindSqlParameters(StatementCodemod):
    """Rewrite the interpolated SQL at ``sql_line`` into placeholders and pass
    the values as parameters of the call that runs it."""

    DESCRIPTION = "Bind interpolated SQL values as query parameters."

    def __init__(
        self,
        context,
        *,
        source_text: str,
        api: str,
        placeholder: str,
        sql_line: int,
        call_line: int | None,
        finding_column: int | None,
    ) -> None:
        super().__init__(context, source_text)
        self.api = api
        self.placeholder = placeholder
        self.sql_line = sql_line
        self.call_line = call_line
        self.finding_column = finding_column
        self.risky = False
        self._imports: ImportMap | None = None
        self._located: Located | None = None

    def transform_module_impl(self, tree: cst.Module) -> cst.Module:
        located = self._located = self.locate(tree, self.sql_line)
        reasons: list[str] = []
        candidates: list[tuple[_Sink, _Decomposed]] = []
        for node in located.nodes_starting_on(self.sql_line):
            if not isinstance(node, (cst.FormattedString, cst.ConcatenatedString, cst.BinaryOperation, cst.Call)):
                continue
            try:
                decomposed = decompose(node)
            except _NoFix as exc:
                reasons.append(str(exc))
                continue
            if decomposed is None or not any(isinstance(p, _Value) for p in decomposed.parts):
                continue
            sink = self._sink(node, located)
            if sink is None:
                continue
            candidates.append((sink, decomposed))
        if not candidates:
            raise SkipFile(reasons[0] if reasons else f"no interpolated SQL passed to a query call at line {self.sql_line}")
        if self.finding_column is not None and len(candidates) > 1:
            column = self.finding_column
            candidates.sort(key=lambda c: abs(located.start(c[0].sql)[1] - column))
        sink, decomposed = candidates[0]
        try:
            return self._rewrite(tree, located, sink, decomposed)
        except _NoFix as exc:
            raise SkipFile(str(exc)) from exc

    # locating --------------------------------------------------------------

    def _sink(self, sql: cst.BaseExpression, located: Located) -> _Sink | None:
        parents = located.parents
        arg = parents.get(sql)
        if not isinstance(arg, cst.Arg):
            return None
        call = parents.get(arg)
        if not isinstance(call, cst.Call) or not _is_sql_arg(call, arg):
            return None
        index = list(call.args).index(arg)
        constructor = self._constructor(call)
        if constructor == "text":
            outer_arg = parents.get(call)
            outer = parents.get(outer_arg) if outer_arg is not None else None
            if (
                isinstance(outer_arg, cst.Arg)
                and isinstance(outer, cst.Call)
                and isinstance(outer.func, cst.Attribute)
                and outer.func.attr.value in _EXECUTE_METHODS
                and _is_sql_arg(outer, outer_arg)
            ):
                sink = _Sink("text_in_execute", sql, outer, list(outer.args).index(outer_arg), text_call=call)
            else:
                sink = _Sink("text_bindparams", sql, call, index, text_call=call)
        else:
            if constructor is None and not (isinstance(call.func, cst.Attribute) and call.func.attr.value in _DIRECT_METHODS):
                return None
            sink = _Sink("direct", sql, call, index, raw_sql=constructor == "RawSQL")
        if self.call_line is not None:
            lines = {located.start(sink.call)[0]}
            if sink.text_call is not None:
                lines.add(located.start(sink.text_call)[0])
            if self.call_line not in lines:
                return None
        return sink

    # rewriting -------------------------------------------------------------

    def _rewrite(self, tree: cst.Module, located: Located, sink: _Sink, decomposed: _Decomposed) -> cst.Module:
        style = ":name" if sink.kind != "direct" else self.placeholder
        if sink.kind == "direct" and style == ":name":
            raise _NoFix("named :placeholders need sqlalchemy.text(); the SQL is passed as a plain string")
        if sink.kind == "direct" and _callee_name(sink.call) in ("fetch", "fetchrow", "fetchval") and style != "$n":
            style = "$n"
        rewrite = _rewrite(decomposed, style, self.api, self._is_text)
        self.risky = rewrite.risky
        new_sql = _new_sql_node(decomposed, rewrite, sink.sql)
        if sink.kind == "text_bindparams":
            assert sink.text_call is not None
            new_text_call = _replace_arg_value(sink.text_call, sink.arg_index, new_sql)
            kwargs = [
                cst.Arg(
                    keyword=cst.Name(b.name),
                    value=cst.parse_expression(b.source),
                    equal=cst.AssignEqual(cst.SimpleWhitespace(""), cst.SimpleWhitespace("")),
                )
                for b in rewrite.bindings
            ]
            kwargs = [a.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))) for a in kwargs[:-1]] + kwargs[-1:]
            bound = cst.Call(func=cst.Attribute(value=new_text_call, attr=cst.Name("bindparams")), args=kwargs)
            return located.replace(tree, sink.text_call, bound)
        call = sink.call
        if sink.kind == "text_in_execute":
            assert sink.text_call is not None
            index = list(sink.text_call.args).index(next(a for a in sink.text_call.args if a.value is sink.sql))
            new_first = _replace_arg_value(sink.text_call, index, new_sql)
            call = _replace_arg_value(call, sink.arg_index, new_first)
        else:
            call = _replace_arg_value(call, sink.arg_index, new_sql)
        existing = _existing_params(sink.call, sink.arg_index)
        if existing == "present":
            raise _NoFix("the call already passes parameters")
        params = _params_args(rewrite.bindings, style, self.api, "RawSQL" if sink.raw_sql else _callee_name(sink.call))
        if isinstance(existing, int):  # an empty () / [] placeholder argument: fill it
            if len(params) != 1:
                raise _NoFix("the call already passes parameters")
            old = call.args[existing]
            call = call.with_changes(args=[*call.args[:existing], old.with_changes(value=params[0]), *call.args[existing + 1 :]])
        else:
            call = _insert_args(call, sink.arg_index, params)
        return located.replace(tree, sink.call, call)


    def _constructor(self, call: cst.Call) -> str | None:
        """``text`` for SQLAlchemy ``text()`` (any alias: ``sa.text``,
        ``text as sql_text``, Flask-SQLAlchemy ``db.text``), ``RawSQL`` for
        Django's, else None."""
        if self._imports is None:
            self._imports = ImportMap.from_tree(self.python_tree or ast.Module(body=[], type_ignores=[]))
        try:
            func = ast.parse(_code(call.func).strip(), mode="eval").body
        except (SyntaxError, ValueError):
            return None
        resolved = self._imports.resolve(func)
        dotted = dotted_name(func) or ""
        if resolved in TEXT_CONSTRUCTORS or dotted == "db.text" or dotted.endswith(".db.text"):
            return "text"
        if resolved in RAW_SQL_CONSTRUCTORS:
            return "RawSQL"
        if resolved is None and dotted in ("text", "RawSQL"):  # defined or star-imported here
            return dotted
        return None

    def _is_text(self, node: cst.BaseExpression) -> bool:
        """A string literal, or a parameter of the enclosing function annotated ``str``."""
        if isinstance(node, (cst.SimpleString, cst.FormattedString, cst.ConcatenatedString)):
            return True
        if not isinstance(node, cst.Name):
            return False
        assert self._located is not None
        parents = self._located.parents
        current: cst.CSTNode | None = parents.get(node)
        while current is not None and not isinstance(current, cst.FunctionDef):
            current = parents.get(current)
        if current is None:
            return False
        params = current.params
        for param in [*params.posonly_params, *params.params, *params.kwonly_params]:
            if param.name.value == node.value:
                annotation = param.annotation.annotation if param.annotation is not None else None
                return isinstance(annotation, cst.Name) and annotation.value == "str"
        return False


def _callee_name(call: cst.Call) -> str:
    func = call.func
    if isinstance(func, cst.Attribute):
        return func.attr.value
    if isinstance(func, cst.Name):
        return func.value
    return ""


def _is_sql_arg(call: cst.Call, arg: cst.Arg) -> bool:
    if arg.star:
        return False
    if arg.keyword is not None:
        return arg.keyword.value in _SQL_KEYWORDS
    positional = [a for a in call.args if a.keyword is None and not a.star]
    return bool(positional) and positional[0] is arg


def _existing_params(call: cst.Call, sql_index: int) -> str | int | None:
    """'present' when the call already passes parameters; the index of an
    empty ``()``/``[]`` parameters argument; None when there are none."""
    for index, arg in enumerate(call.args):
        if index == sql_index:
            continue
        if arg.star:
            return "present"  # *args / **kwargs may carry parameters
        is_params = (arg.keyword is None and index > sql_index) or (
            arg.keyword is not None and arg.keyword.value in _PARAM_KEYWORDS
        )
        if not is_params:
            continue
        value = arg.value
        if isinstance(value, (cst.Tuple, cst.List)) and not value.elements:
            return index
        if isinstance(value, cst.Name) and value.value == "None":
            return index
        return "present"
    return None


def _params_args(bindings: Sequence[_Binding], style: str, api: str, method: str) -> list[cst.BaseExpression]:
    if style == "$n":
        return [cst.parse_expression(b.source) for b in bindings]
    if style in (":name", "%(name)s"):
        entries = ", ".join(f'"{b.name}": {b.source}' for b in bindings)
        return [cst.parse_expression("{" + entries + "}")]
    sources = [b.source for b in bindings]
    if api in ("django_raw", "django_cursor") or method in ("raw", "RawSQL"):
        return [cst.parse_expression("[" + ", ".join(sources) + "]")]
    if len(sources) == 1:
        return [cst.parse_expression(f"({sources[0]},)")]
    return [cst.parse_expression("(" + ", ".join(sources) + ")")]


def _replace_arg_value(call: cst.Call, index: int, value: cst.BaseExpression) -> cst.Call:
    args = list(call.args)
    args[index] = args[index].with_changes(value=value)
    return call.with_changes(args=args)


def _insert_args(call: cst.Call, index: int, values: list[cst.BaseExpression]) -> cst.Call:
    """Insert ``values`` as positional arguments right after ``args[index]``,
    laid out like the call (one per line when the call is split over lines)."""
    args = list(call.args)
    anchor = args[index]
    is_last = index == len(args) - 1
    multiline = isinstance(call.whitespace_before_args, cst.ParenthesizedWhitespace)
    if not is_last and isinstance(anchor.comma, cst.Comma):
        separator = anchor.comma
    elif multiline:
        separator = cst.Comma(whitespace_after=call.whitespace_before_args)
    else:
        separator = cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
    new_args = [cst.Arg(value=value, comma=separator) for value in values]
    if is_last:
        # The last argument keeps what followed the anchor: its trailing comma
        # and the whitespace before the closing parenthesis.
        new_args[-1] = new_args[-1].with_changes(comma=anchor.comma, whitespace_after_arg=anchor.whitespace_after_arg)
        anchor = anchor.with_changes(whitespace_after_arg=cst.SimpleWhitespace(""))
    args[index] = anchor.with_changes(comma=separator)
    return call.with_changes(args=[*args[: index + 1], *new_args, *args[index + 1 :]])


def _new_sql_node(decomposed: _Decomposed, rewrite: _Rewrite, old: cst.BaseExpression) -> cst.BaseExpression:
    """The rewritten string literal, in place of the whole SQL expression."""
    root = old
    if decomposed.style in ("percent", "format"):
        root = old.left if isinstance(old, cst.BinaryOperation) else old.func.value  # type: ignore[attr-defined]
    parens = root if root.lpar else old
    if decomposed.literal_nodes is None or len(decomposed.literal_nodes) == 1:
        node = cst.parse_expression(render_literal("".join(rewrite.texts), decomposed.pieces[0]))
        return node.with_changes(lpar=parens.lpar, rpar=parens.rpar)
    # Implicit concatenation: keep each literal where it was, drop emptied ones.
    rendered = [cst.parse_expression(render_literal(text, piece)) for text, piece in zip(rewrite.texts, decomposed.pieces)]
    before = [None, *_concat_whitespace(root)]
    kept = [(node, ws) for node, ws, text in zip(rendered, before, rewrite.texts) if text] or [(rendered[0], None)]
    result: cst.BaseExpression = kept[-1][0]
    for index in range(len(kept) - 2, -1, -1):
        whitespace = kept[index + 1][1] or cst.SimpleWhitespace(" ")
        result = cst.ConcatenatedString(left=kept[index][0], right=result, whitespace_between=whitespace)  # type: ignore[arg-type]
    return result.with_changes(lpar=parens.lpar, rpar=parens.rpar)


def _concat_whitespace(node: cst.BaseExpression) -> list[cst.BaseParenthesizableWhitespace]:
    found: list[cst.BaseParenthesizableWhitespace] = []
    while isinstance(node, cst.ConcatenatedString):
        found.append(node.whitespace_between)
        node = node.right
    return found
