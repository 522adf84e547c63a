"""The schema vocabulary shared by histories, diffs and generated migrations:
SQL types, columns, indexes, constraints and tables, as plain frozen
dataclasses (they travel inside ``ModuleSummary`` objects, so they must
pickle and compare by value).

Source positions are kept out of equality (``compare=False``): moving a
migration's text down a line does not change the schema it builds.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

# SQLAlchemy type names (generic and SQL-standard spellings) → a family that
# ignores spelling: ``String``, ``VARCHAR`` and SQLModel's ``AutoString`` all
# store strings, and a migration written with one matches a model using another.
TYPE_FAMILIES: dict[str, str] = {
    "String": "string",
    "VARCHAR": "string",
    "NVARCHAR": "string",
    "Unicode": "string",
    "AutoString": "string",
    "CHAR": "char",
    "NCHAR": "char",
    "Text": "text",
    "TEXT": "text",
    "UnicodeText": "text",
    "CLOB": "text",
    "Integer": "integer",
    "INTEGER": "integer",
    "INT": "integer",
    "BigInteger": "biginteger",
    "BIGINT": "biginteger",
    "SmallInteger": "smallinteger",
    "SMALLINT": "smallinteger",
    "Boolean": "boolean",
    "BOOLEAN": "boolean",
    "DateTime": "datetime",
    "DATETIME": "datetime",
    "TIMESTAMP": "datetime",
    "Date": "date",
    "DATE": "date",
    "Time": "time",
    "TIME": "time",
    "Interval": "interval",
    "Float": "float",
    "FLOAT": "float",
    "REAL": "float",
    "Double": "float",
    "DOUBLE": "float",
    "DOUBLE_PRECISION": "float",
    "Numeric": "numeric",
    "NUMERIC": "numeric",
    "DECIMAL": "numeric",
    "JSON": "json",
    "JSONB": "json",
    "Uuid": "uuid",
    "UUID": "uuid",
    "GUID": "uuid",
    "LargeBinary": "binary",
    "BLOB": "binary",
    "BYTEA": "binary",
    "VARBINARY": "binary",
    "Enum": "enum",
    "ARRAY": "array",
}

# Positional parameters of the types whose arguments matter, in order; the
# way alembic renders them is by keyword (``sa.String(length=255)``).
POSITIONAL_PARAMETERS: dict[str, tuple[str, ...]] = {
    "String": ("length", "collation"),
    "VARCHAR": ("length", "collation"),
    "NVARCHAR": ("length", "collation"),
    "Unicode": ("length",),
    "AutoString": ("length",),
    "CHAR": ("length", "collation"),
    "NCHAR": ("length",),
    "Text": ("length", "collation"),
    "TEXT": ("length", "collation"),
    "UnicodeText": ("length",),
    "Numeric": ("precision", "scale", "decimal_return_scale", "asdecimal"),
    "NUMERIC": ("precision", "scale"),
    "DECIMAL": ("precision", "scale"),
    "Float": ("precision",),
    "FLOAT": ("precision",),
    "DateTime": ("timezone",),
    "DATETIME": ("timezone",),
    "TIMESTAMP": ("timezone",),
    "Time": ("timezone",),
    "LargeBinary": ("length",),
    "BLOB": ("length",),
}

# Python annotations of ``Mapped[...]`` / SQLModel fields → the SQLAlchemy
# type the ORM picks by default.
ANNOTATION_TYPES: dict[str, str] = {
    "int": "Integer",
    "str": "String",
    "bool": "Boolean",
    "float": "Float",
    "datetime": "DateTime",
    "datetime.datetime": "DateTime",
    "date": "Date",
    "datetime.date": "Date",
    "time": "Time",
    "datetime.time": "Time",
    "timedelta": "Interval",
    "datetime.timedelta": "Interval",
    "Decimal": "Numeric",
    "decimal.Decimal": "Numeric",
    "UUID": "Uuid",
    "uuid.UUID": "Uuid",
    "bytes": "LargeBinary",
}

SQLMODEL_TYPES_MODULE = "sqlmodel.sql.sqltypes"


@dataclass(frozen=True)
class SqlType:
    """A column type as written: ``sa.String(length=255)`` is
    ``SqlType("String", (("length", "255"),))``. ``params`` are keyword
    pairs of source text (positional arguments are given their parameter
    names); ``module`` is how to render it: ``sa``, ``sqlmodel.sql.sqltypes``,
    a dialect module (``postgresql``) or ``""`` for a bare name."""

    name: str
    params: tuple[tuple[str, str], ...] = ()
    module: str = "sa"
    # Positional arguments without a known name (``Enum("a", "b")``).
    args: tuple[str, ...] = ()

    @property
    def family(self) -> str:
        return TYPE_FAMILIES.get(self.name, self.name.lower())

    def param(self, name: str) -> str | None:
        return next((value for key, value in self.params if key == name), None)

    @property
    def length(self) -> int | None:
        value = self.param("length")
        try:
            return int(value) if value is not None else None
        except ValueError:
            return None

    def render(self) -> str:
        prefix = f"{self.module}." if self.module else ""
        parts = [*self.args, *(f"{key}={value}" for key, value in self.params)]
        return f"{prefix}{self.name}({', '.join(parts)})"

    def describe(self) -> str:
        """For messages: ``String(length=255)``."""
        parts = [*self.args, *(f"{key}={value}" for key, value in self.params)]
        return f"{self.name}({', '.join(parts)})"

    def same_as(self, other: SqlType) -> bool | None:
        """Whether two types store the same thing: same family, and equal
        lengths/precision where both say. None when either is too vague to
        tell (an ``Enum``, an unknown custom type)."""
        if self.family in ("enum", "array") or other.family in ("enum", "array"):
            return None
        if self.family not in _KNOWN_FAMILIES or other.family not in _KNOWN_FAMILIES:
            return None if self.name != other.name else True
        if self.family != other.family:
            return False
        for name in ("length", "precision", "scale"):
            mine, theirs = self.param(name), other.param(name)
            if mine is not None and theirs is not None and mine != theirs:
                return False
        return True


_KNOWN_FAMILIES = frozenset(TYPE_FAMILIES.values())


@dataclass(frozen=True)
class ColumnDef:
    name: str
    type: SqlType | None
    nullable: bool | None
    primary_key: bool = False
    server_default: str | None = None  # source text, as written
    foreign_key: str | None = None  # "table.column"
    unique: bool = False
    index: bool = False


@dataclass(frozen=True)
class IndexDef:
    name: str | None
    columns: tuple[str, ...]
    unique: bool = False


@dataclass(frozen=True)
class ForeignKeyDef:
    name: str | None
    columns: tuple[str, ...]
    ref_table: str
    ref_columns: tuple[str, ...]


@dataclass(frozen=True)
class UniqueDef:
    name: str | None
    columns: tuple[str, ...]


@dataclass
class TableState:
    """A table as a migration history leaves it."""

    name: str
    columns: dict[str, ColumnDef] = field(default_factory=dict)
    indexes: list[IndexDef] = field(default_factory=list)
    uniques: list[UniqueDef] = field(default_factory=list)
    foreign_keys: list[ForeignKeyDef] = field(default_factory=list)
    primary_key: tuple[str, ...] = ()
    # The revision (or Django migration) that created it, for messages.
    created_by: str | None = None

    def has_index_on(self, columns: tuple[str, ...]) -> IndexDef | None:
        return next((index for index in self.indexes if index.columns == columns), None)

    def is_unique_on(self, columns: tuple[str, ...]) -> bool:
        """Unique on exactly these columns: a unique constraint or index, or
        for one column its own ``unique=True`` or being the primary key."""
        if len(columns) == 1:
            column_def = self.columns.get(columns[0])
            if column_def is not None and (column_def.unique or column_def.primary_key and self.primary_key == columns):
                return True
        if any(u.columns == columns for u in self.uniques):
            return True
        return any(i.unique and i.columns == columns for i in self.indexes)

    def is_unique(self, column: str) -> bool:
        return self.is_unique_on((column,))

    def foreign_key_of(self, column: str) -> ForeignKeyDef | str | None:
        column_def = self.columns.get(column)
        if column_def is not None and column_def.foreign_key:
            return column_def.foreign_key
        return next((fk for fk in self.foreign_keys if fk.columns == (column,)), None)


# --------------------------------------------------------------------------
# Reading types and literals from source
# --------------------------------------------------------------------------


def literal_text(expr: ast.AST | None) -> str | None:
    if expr is None:
        return None
    try:
        return ast.unparse(expr)
    except (ValueError, RecursionError):
        return None


def string_value(expr: ast.AST | None) -> str | None:
    """A string literal, also through ``op.f("name")`` / ``batch_op.f(...)``
    (alembic's "this name is final" marker)."""
    if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
        return expr.value
    if isinstance(expr, ast.Call) and isinstance(expr.func, ast.Attribute) and expr.func.attr == "f" and expr.args:
        return string_value(expr.args[0])
    return None


def bool_value(expr: ast.AST | None) -> bool | None:
    if isinstance(expr, ast.Constant) and isinstance(expr.value, bool):
        return expr.value
    return None


def string_list(expr: ast.AST | None) -> tuple[str, ...] | None:
    """``['a', 'b']`` / ``('a',)`` / ``'a'`` → ('a', 'b'); None when not literal."""
    single = string_value(expr)
    if single is not None:
        return (single,)
    if isinstance(expr, (ast.List, ast.Tuple)):
        values = [string_value(e) for e in expr.elts]
        if all(v is not None for v in values):
            return tuple(v for v in values if v is not None)
    return None


def dotted_name(expr: ast.AST | None) -> str | None:
    parts: list[str] = []
    while isinstance(expr, ast.Attribute):
        parts.append(expr.attr)
        expr = expr.value
    if isinstance(expr, ast.Name):
        parts.append(expr.id)
        return ".".join(reversed(parts))
    return None


def _module_for(prefix: str) -> str:
    """How a migration spelled a type's module, normalised for rendering."""
    if prefix in ("sa", "sqlalchemy", "sqlalchemy.types", "sqlalchemy.sql.sqltypes", "db", ""):
        return "sa" if prefix else ""
    if prefix.endswith("sqltypes") and "sqlmodel" in prefix:
        return SQLMODEL_TYPES_MODULE
    if prefix.startswith("sqlalchemy.dialects."):
        return prefix.rsplit(".", 1)[-1]
    return prefix


def type_from_expr(expr: ast.AST | None) -> SqlType | None:
    """``sa.String(length=255)`` / ``sa.Integer()`` / ``sa.TEXT`` /
    ``sqlmodel.sql.sqltypes.AutoString(length=80)`` / ``String(255)``."""
    call_args: list[ast.expr] = []
    keywords: list[ast.keyword] = []
    target = expr
    if isinstance(expr, ast.Call):
        target = expr.func
        call_args = list(expr.args)
        keywords = list(expr.keywords)
    name = dotted_name(target)
    if not name:
        return None
    prefix, _, last = name.rpartition(".")
    if not last or not (last[0].isupper() or last in TYPE_FAMILIES):
        return None
    known = POSITIONAL_PARAMETERS.get(last, ())
    params: list[tuple[str, str]] = []
    args: list[str] = []
    for index, arg in enumerate(call_args):
        text = literal_text(arg) or "?"
        if index < len(known) and last != "Enum":
            params.append((known[index], text))
        else:
            args.append(text)
    for keyword in keywords:
        if keyword.arg is None:
            continue
        params.append((keyword.arg, literal_text(keyword.value) or "?"))
    return SqlType(last, tuple(params), _module_for(prefix), tuple(args))


def type_from_text(text: str | None) -> SqlType | None:
    """A type written in a model, as the workspace index keeps it
    (``String(255)``, ``DateTime(timezone=True)``, ``Text``)."""
    if not text:
        return None
    try:
        expr = ast.parse(text.strip(), mode="eval").body
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    found = type_from_expr(expr)
    if found is None:
        return None
    if found.name not in TYPE_FAMILIES:
        return None
    return SqlType(found.name, found.params, "sa" if found.module in ("", "sa") else found.module, found.args)


def type_from_annotation(text: str | None, *, sqlmodel: bool = False) -> SqlType | None:
    """The type SQLAlchemy (or SQLModel) derives from a Python annotation
    (``int``, ``str | None``, ``Optional[datetime]``); None when the
    annotation is not one the ORMs map by default."""
    if not text:
        return None
    try:
        expr = ast.parse(text.strip(), mode="eval").body
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    expr = _strip_optional(expr)
    name = dotted_name(expr)
    if name is None:
        return None
    mapped = ANNOTATION_TYPES.get(name) or ANNOTATION_TYPES.get(name.rsplit(".", 1)[-1])
    if mapped is None:
        return None
    if sqlmodel:
        if mapped == "String":
            return SqlType("AutoString", (), SQLMODEL_TYPES_MODULE)
        if mapped == "Uuid":
            return SqlType("Uuid")
    return SqlType(mapped)


def _strip_optional(expr: ast.expr) -> ast.expr:
    if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.BitOr):
        for side in (expr.left, expr.right):
            if not (isinstance(side, ast.Constant) and side.value is None):
                return _strip_optional(side)
    if isinstance(expr, ast.Subscript) and (dotted_name(expr.value) or "").rsplit(".", 1)[-1] == "Optional":
        return _strip_optional(expr.slice)
    if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
        try:
            return _strip_optional(ast.parse(expr.value, mode="eval").body)
        except (SyntaxError, ValueError):
            return expr
    return expr
