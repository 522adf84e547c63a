"""What a migration history builds, read statically.

**Alembic.** A revision file is recognised by its module-level ``revision``
and ``down_revision`` (plain or annotated assignments). Its ``upgrade()`` is
read into ``AlembicOp`` values: ``op.create_table`` / ``drop_table`` /
``add_column`` / ``drop_column`` / ``alter_column`` / ``create_index`` /
``drop_index`` / ``create_foreign_key`` / ``create_unique_constraint`` /
``drop_constraint`` / ``rename_table`` / ``execute``, also inside ``with
op.batch_alter_table(...) as batch_op:`` blocks. ``AlembicHistory`` links
revisions by ``down_revision`` (a tuple is a merge point; two revisions with
the same parent are a branch), finds heads, and replays every revision in
dependency order into a ``HistorySchema``. What cannot be read is not
guessed: raw DDL through ``op.execute`` marks the tables it names as
*opaque*, and ``op`` calls the reader does not understand (inside loops,
helper functions…) mark the whole history opaque, so rules stay quiet.

**Django.** A migration module holds ``class Migration(migrations.Migration)``
with ``dependencies`` and ``operations``; ``CreateModel`` / ``DeleteModel`` /
``RenameModel`` / ``AlterModelTable`` / ``AddField`` / ``RemoveField`` /
``AlterField`` / ``RenameField`` (and ``SeparateDatabaseAndState``'s state
operations) are replayed per app, across apps in dependency order, into a
``DjangoState``.

``migration_facts(relative, tree)`` is what the workspace index keeps per
module (``ModuleSummary.migration``); ``load_alembic_history`` reads a
``versions/`` folder from disk for the generator.
"""

from __future__ import annotations

import ast
import heapq
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from .schema import (
    ColumnDef,
    ForeignKeyDef,
    IndexDef,
    SqlType,
    TableState,
    UniqueDef,
    bool_value,
    dotted_name,
    literal_text,
    string_list,
    string_value,
    type_from_expr,
)

# Alembic operations that change the schema (SG602: such an upgrade needs a downgrade).
SCHEMA_OP_KINDS = frozenset(
    {
        "create_table",
        "drop_table",
        "add_column",
        "drop_column",
        "alter_column",
        "create_index",
        "drop_index",
        "create_foreign_key",
        "create_unique_constraint",
        "create_primary_key",
        "create_check_constraint",
        "drop_constraint",
        "rename_table",
        "unknown",
    }
)
# ``op.*`` calls that neither change the schema we track nor hide DDL.
_NOOP_CALLS = frozenset(
    {
        "bulk_insert",
        "get_bind",
        "get_context",
        "f",
        "inline_literal",
        "create_table_comment",
        "drop_table_comment",
        "create_check_constraint",
        "invoke",
        "implementation_for",
        "run_async",
    }
)
DDL_PATTERN = re.compile(
    r"\b(?:create|alter|drop)\s+(?:or\s+replace\s+)?(?:(?:virtual|temporary|temp|unlogged|materialized)\s+)?"
    r"(?:table|view|index|unique\s+index)\s+(?:if\s+(?:not\s+)?exists\s+)?"
    r"(?:[\"`\[]?\w+[\"`\]]?\.)?[\"`\[]?(\w+)[\"`\]]?"
    r"|\bon\s+[\"`\[]?(\w+)[\"`\]]?\s*\(",
    re.IGNORECASE,
)
_NOT_TYPES = frozenset({"ForeignKey", "Sequence", "Identity", "Computed", "FetchedValue", "CheckConstraint", "DefaultClause"})


# --------------------------------------------------------------------------
# Alembic
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class AlembicOp:
    """One schema operation of an ``upgrade()``. ``kind`` is the ``op``
    method name (``unknown`` for an ``op`` call the reader cannot follow)."""

    kind: str
    table: str | None = None
    column: ColumnDef | None = None  # add_column
    columns: tuple[ColumnDef, ...] = ()  # create_table
    name: str | None = None  # the column (drop/alter), index or constraint
    index: IndexDef | None = None
    foreign_keys: tuple[ForeignKeyDef, ...] = ()
    uniques: tuple[UniqueDef, ...] = ()
    primary_key: tuple[str, ...] = ()
    new_type: SqlType | None = None
    new_nullable: bool | None = None
    new_name: str | None = None
    server_default: str | None = None
    sets_server_default: bool = False
    constraint_type: str | None = None
    sql: str | None = None
    line: int = field(default=0, compare=False)


@dataclass(frozen=True)
class AlembicRevision:
    revision: str
    down_revisions: tuple[str, ...]
    upgrade_ops: tuple[AlembicOp, ...]
    # "ops" | "empty" (only pass/docstring/...) | "missing"
    downgrade: str
    downgrade_ops: tuple[AlembicOp, ...] = ()
    branch_labels: tuple[str, ...] = ()
    depends_on: tuple[str, ...] = ()
    message: str = ""
    relative: str = field(default="", compare=False)
    line: int = field(default=0, compare=False)
    downgrade_line: int = field(default=0, compare=False)
    upgrade_line: int = field(default=0, compare=False)

    @property
    def changes_schema(self) -> bool:
        return any(op.kind in SCHEMA_OP_KINDS or (op.kind == "execute" and op.sql and DDL_PATTERN.search(op.sql)) for op in self.upgrade_ops)


def _assignment(stmt: ast.stmt) -> tuple[str, ast.expr, int] | None:
    if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
        return stmt.targets[0].id, stmt.value, stmt.lineno
    if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name) and stmt.value is not None:
        return stmt.target.id, stmt.value, stmt.lineno
    return None


def _revision_ids(expr: ast.expr | None) -> tuple[str, ...] | None:
    """``None`` → (), ``'abc'`` → ('abc',), ``('a', 'b')`` → ('a', 'b');
    None when it is not a literal."""
    if expr is None or (isinstance(expr, ast.Constant) and expr.value is None):
        return ()
    return string_list(expr)


def _is_empty_body(body: list[ast.stmt]) -> bool:
    for stmt in body:
        if isinstance(stmt, ast.Pass):
            continue
        if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
            continue  # a docstring or ``...``
        return False
    return True


def looks_like_alembic_revision(tree: ast.Module) -> bool:
    names = set()
    for stmt in tree.body:
        found = _assignment(stmt)
        if found is not None:
            names.add(found[0])
    return "revision" in names and "down_revision" in names


def parse_alembic_revision(tree: ast.Module, relative: str = "") -> AlembicRevision | None:
    values: dict[str, tuple[ast.expr, int]] = {}
    functions: dict[str, ast.FunctionDef | ast.AsyncFunctionDef] = {}
    for stmt in tree.body:
        found = _assignment(stmt)
        if found is not None and found[0] in ("revision", "down_revision", "branch_labels", "depends_on"):
            values[found[0]] = (found[1], found[2])
        elif isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)) and stmt.name in ("upgrade", "downgrade"):
            functions[stmt.name] = stmt
    if "revision" not in values or "down_revision" not in values:
        return None
    revision = string_value(values["revision"][0])
    down = _revision_ids(values["down_revision"][0])
    if revision is None or down is None:
        return None
    op_names = _op_names(tree)
    upgrade = functions.get("upgrade")
    downgrade = functions.get("downgrade")
    helpers = _helpers(tree, op_names)
    upgrade_ops = tuple(_read_ops(upgrade.body, op_names, helpers=helpers)) if upgrade is not None else ()
    if downgrade is None:
        downgrade_kind = "missing"
        downgrade_ops: tuple[AlembicOp, ...] = ()
    elif _is_empty_body(downgrade.body):
        downgrade_kind, downgrade_ops = "empty", ()
    else:
        downgrade_kind, downgrade_ops = "ops", tuple(_read_ops(downgrade.body, op_names, helpers=helpers))
    docstring = ast.get_docstring(tree) or ""
    return AlembicRevision(
        revision=revision,
        down_revisions=down,
        upgrade_ops=upgrade_ops,
        downgrade=downgrade_kind,
        downgrade_ops=downgrade_ops,
        branch_labels=_revision_ids(values.get("branch_labels", (None, 0))[0]) or (),
        depends_on=_revision_ids(values.get("depends_on", (None, 0))[0]) or (),
        message=docstring.strip().splitlines()[0] if docstring.strip() else "",
        relative=relative,
        line=values["revision"][1],
        downgrade_line=downgrade.lineno if downgrade is not None else 0,
        upgrade_line=upgrade.lineno if upgrade is not None else 0,
    )


def _op_names(tree: ast.Module) -> frozenset[str]:
    """Local names of ``alembic.op`` (``from alembic import op`` → ``op``)."""
    names = {"op"}
    for stmt in tree.body:
        if isinstance(stmt, ast.ImportFrom) and stmt.module == "alembic":
            for alias in stmt.names:
                if alias.name == "op":
                    names.add(alias.asname or "op")
    return frozenset(names)


def _helpers(tree: ast.Module, op_names: frozenset[str]) -> frozenset[str]:
    """Module-level functions (besides upgrade/downgrade) that call ``op``:
    an upgrade calling one does schema work the reader does not follow."""
    return frozenset(
        stmt.name
        for stmt in tree.body
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef))
        and stmt.name not in ("upgrade", "downgrade")
        and _calls_on(stmt, op_names)
    )


def _calls_on(node: ast.AST, receivers: frozenset[str], helpers: frozenset[str] = frozenset()) -> bool:
    for child in ast.walk(node):
        if helpers and isinstance(child, ast.Call) and isinstance(child.func, ast.Name) and child.func.id in helpers:
            return True
        if not (isinstance(child, ast.Call) and isinstance(child.func, ast.Attribute)):
            continue
        receiver = child.func.value
        if isinstance(receiver, ast.Name) and receiver.id in receivers and child.func.attr not in _NOOP_CALLS and child.func.attr != "execute":
            return True
    return False


def _read_ops(
    body: list[ast.stmt],
    op_names: frozenset[str],
    batch: tuple[str, str] | None = None,
    *,
    helpers: frozenset[str] = frozenset(),
) -> Iterator[AlembicOp]:
    """``batch``: (receiver name, table) inside ``with op.batch_alter_table``."""
    receivers = op_names | {batch[0]} if batch is not None else op_names
    for stmt in body:
        if isinstance(stmt, ast.Pass) or (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant)):
            continue
        call: ast.expr | None = None
        if isinstance(stmt, ast.Expr) or isinstance(stmt, (ast.Assign, ast.AnnAssign)) and stmt.value is not None:
            call = stmt.value
        elif isinstance(stmt, (ast.With, ast.AsyncWith)) and batch is None:
            opened = _batch_of(stmt, op_names)
            if opened is not None:
                yield from _read_ops(stmt.body, op_names, opened, helpers=helpers)
                continue
        if isinstance(call, ast.Await):
            call = call.value
        if isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) and isinstance(call.func.value, ast.Name) and call.func.value.id in receivers:
            # ``op.execute(...)`` inside a batch block is a plain op call.
            on_batch = batch is not None and call.func.value.id == batch[0]
            yield _read_op(call, batch if on_batch else None)
            continue
        if _calls_on(stmt, receivers | op_names, helpers):
            # ``op`` calls in a loop, a helper, a conditional: not followed.
            yield AlembicOp("unknown", batch[1] if batch else None, line=stmt.lineno)


def _batch_of(stmt: ast.With | ast.AsyncWith, op_names: frozenset[str]) -> tuple[str, str] | None:
    if len(stmt.items) != 1:
        return None
    item = stmt.items[0]
    call = item.context_expr
    if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) and call.func.attr == "batch_alter_table"):
        return None
    if not (isinstance(call.func.value, ast.Name) and call.func.value.id in op_names):
        return None
    table = string_value(_arg(call, 0, "table_name"))
    if table is None or not isinstance(item.optional_vars, ast.Name):
        return None
    return item.optional_vars.id, table


def _arg(call: ast.Call, index: int, *keywords: str) -> ast.expr | None:
    for keyword in call.keywords:
        if keyword.arg in keywords:
            return keyword.value
    positional = [a for a in call.args if not isinstance(a, ast.Starred)]
    return positional[index] if len(positional) > index else None


def _kw(call: ast.Call, name: str) -> ast.expr | None:
    return next((k.value for k in call.keywords if k.arg == name), None)


def _last(expr: ast.AST | None) -> str:
    name = dotted_name(expr) or ""
    return name.rsplit(".", 1)[-1]


def read_column(call: ast.AST | None) -> ColumnDef | None:
    """``sa.Column('email', sa.String(length=255), nullable=False, ...)``."""
    if not isinstance(call, ast.Call) or _last(call.func) != "Column":
        return None
    name: str | None = None
    column_type: SqlType | None = None
    foreign_key: str | None = None
    for index, arg in enumerate(call.args):
        text = string_value(arg)
        if text is not None and index == 0:
            name = text
            continue
        if isinstance(arg, ast.Call) and _last(arg.func) == "ForeignKey":
            foreign_key = string_value(_arg(arg, 0, "column")) or literal_text(_arg(arg, 0, "column"))
            continue
        head = _last(arg.func) if isinstance(arg, ast.Call) else _last(arg)
        if head in _NOT_TYPES:
            continue
        if column_type is None:
            column_type = type_from_expr(arg)
    name = string_value(_kw(call, "name")) or name
    if name is None:
        return None
    type_kw = _kw(call, "type_")
    if type_kw is not None:
        column_type = type_from_expr(type_kw)
    primary_key = bool_value(_kw(call, "primary_key")) is True
    nullable = bool_value(_kw(call, "nullable"))
    if nullable is None:
        nullable = not primary_key
    default = _kw(call, "server_default")
    return ColumnDef(
        name,
        column_type,
        nullable,
        primary_key=primary_key,
        server_default=None if default is None or (isinstance(default, ast.Constant) and default.value is None) else literal_text(default),
        foreign_key=foreign_key,
        unique=bool_value(_kw(call, "unique")) is True,
        index=bool_value(_kw(call, "index")) is True,
    )


def _read_op(call: ast.Call, batch: tuple[str, str] | None) -> AlembicOp:
    assert isinstance(call.func, ast.Attribute)
    method = call.func.attr
    line = call.lineno
    shift = 0 if batch is not None else 1  # batch ops have no table argument
    table = batch[1] if batch is not None else None

    def table_arg(index: int, *names: str) -> str | None:
        return table if batch is not None else string_value(_arg(call, index, *names))

    if method == "create_table":
        name = string_value(_arg(call, 0, "table_name"))
        columns: list[ColumnDef] = []
        fks: list[ForeignKeyDef] = []
        uniques: list[UniqueDef] = []
        primary: tuple[str, ...] = ()
        if name is not None and any(not isinstance(arg, ast.Call) for arg in call.args[1:]):
            # ``op.create_table("t", *columns)``: the columns are not written here.
            return AlembicOp("unknown", name, line=line)
        for arg in call.args[1:]:
            column = read_column(arg)
            if column is not None:
                columns.append(column)
                continue
            if not isinstance(arg, ast.Call):
                continue
            kind = _last(arg.func)
            constraint_name = string_value(_kw(arg, "name"))
            if kind == "PrimaryKeyConstraint":
                primary = tuple(s for s in (string_value(a) for a in arg.args) if s is not None)
            elif kind == "UniqueConstraint":
                unique_columns = tuple(s for s in (string_value(a) for a in arg.args) if s is not None)
                uniques.append(UniqueDef(constraint_name, unique_columns))
            elif kind == "ForeignKeyConstraint":
                own_columns = string_list(_arg(arg, 0, "columns")) or ()
                targets = string_list(_arg(arg, 1, "refcolumns")) or ()
                if targets and "." in targets[0]:
                    ref_table = targets[0].rsplit(".", 1)[0]
                    fks.append(ForeignKeyDef(constraint_name, own_columns, ref_table, tuple(r.rsplit(".", 1)[1] for r in targets)))
        if not primary:
            primary = tuple(c.name for c in columns if c.primary_key)
        if name is None:
            return AlembicOp("unknown", None, line=line)
        return AlembicOp("create_table", name, columns=tuple(columns), foreign_keys=tuple(fks), uniques=tuple(uniques), primary_key=primary, line=line)
    if method == "drop_table":
        return AlembicOp("drop_table", string_value(_arg(call, 0, "table_name")), line=line)
    if method == "rename_table":
        return AlembicOp("rename_table", string_value(_arg(call, 0, "old_table_name")), new_name=string_value(_arg(call, 1, "new_table_name")), line=line)
    if method == "add_column":
        column = read_column(_arg(call, shift, "column"))
        target = table_arg(0, "table_name")
        if column is None or target is None:
            return AlembicOp("unknown", target, line=line)
        return AlembicOp("add_column", target, column=column, line=line)
    if method == "drop_column":
        return AlembicOp("drop_column", table_arg(0, "table_name"), name=string_value(_arg(call, shift, "column_name")), line=line)
    if method == "alter_column":
        default = _kw(call, "server_default")
        sets_default = default is not None and not (isinstance(default, ast.Constant) and default.value is False)
        return AlembicOp(
            "alter_column",
            table_arg(0, "table_name"),
            name=string_value(_arg(call, shift, "column_name")),
            new_type=type_from_expr(_kw(call, "type_")) if _kw(call, "type_") is not None else None,
            new_nullable=bool_value(_kw(call, "nullable")),
            new_name=string_value(_kw(call, "new_column_name")),
            server_default=None if default is None or (isinstance(default, ast.Constant) and default.value is None) else literal_text(default),
            sets_server_default=sets_default,
            line=line,
        )
    if method == "create_index":
        name = string_value(_arg(call, 0, "index_name"))
        target = table_arg(1, "table_name")
        cols = string_list(_arg(call, 1 + shift, "columns"))
        unique = bool_value(_kw(call, "unique")) is True
        if target is None or cols is None:
            return AlembicOp("unknown", target, line=line)
        return AlembicOp("create_index", target, name=name, index=IndexDef(name, cols, unique), line=line)
    if method == "drop_index":
        target = table if batch is not None else string_value(_arg(call, 1, "table_name"))
        return AlembicOp("drop_index", target, name=string_value(_arg(call, 0, "index_name")), line=line)
    if method == "create_foreign_key":
        name = string_value(_arg(call, 0, "constraint_name"))
        if batch is not None:
            source, referent = table, string_value(_arg(call, 1, "referent_table"))
            local, remote = string_list(_arg(call, 2, "local_cols")), string_list(_arg(call, 3, "remote_cols"))
        else:
            source, referent = string_value(_arg(call, 1, "source_table")), string_value(_arg(call, 2, "referent_table"))
            local, remote = string_list(_arg(call, 3, "local_cols")), string_list(_arg(call, 4, "remote_cols"))
        if source is None or referent is None or local is None or remote is None:
            return AlembicOp("unknown", source, line=line)
        return AlembicOp("create_foreign_key", source, name=name, foreign_keys=(ForeignKeyDef(name, local, referent, remote),), line=line)
    if method == "create_unique_constraint":
        name = string_value(_arg(call, 0, "constraint_name"))
        target = table_arg(1, "table_name")
        cols = string_list(_arg(call, 1 + shift, "columns"))
        if target is None or cols is None:
            return AlembicOp("unknown", target, line=line)
        return AlembicOp("create_unique_constraint", target, name=name, uniques=(UniqueDef(name, cols),), line=line)
    if method == "create_primary_key":
        target = table_arg(1, "table_name")
        cols = string_list(_arg(call, 1 + shift, "columns"))
        return AlembicOp("create_primary_key", target, primary_key=cols or (), line=line)
    if method == "drop_constraint":
        target = table_arg(1, "table_name")
        return AlembicOp(
            "drop_constraint", target, name=string_value(_arg(call, 0, "constraint_name")), constraint_type=string_value(_kw(call, "type_")), line=line
        )
    if method == "execute":
        statement = _arg(call, 0, "sqltext")
        if isinstance(statement, ast.Call) and _last(statement.func) == "text":
            statement = _arg(statement, 0, "text")
        sql = string_value(statement)
        if sql is None and isinstance(statement, ast.JoinedStr):
            sql = "".join(v.value for v in statement.values if isinstance(v, ast.Constant) and isinstance(v.value, str))
        return AlembicOp("execute", table, sql=sql, line=line)
    if method in _NOOP_CALLS:
        return AlembicOp("noop", table, name=method, line=line)
    return AlembicOp("unknown", table, name=method, line=line)


@dataclass
class HistorySchema:
    """The tables a history builds. ``opaque_tables`` were touched by DDL the
    reader cannot follow (raw SQL); ``opaque`` means the history as a whole
    could not be followed, and nothing about it should be trusted."""

    tables: dict[str, TableState] = field(default_factory=dict)
    opaque_tables: set[str] = field(default_factory=set)
    opaque: bool = False
    problems: list[str] = field(default_factory=list)

    def table(self, name: str) -> TableState | None:
        return self.tables.get(name)


def _apply(schema: HistorySchema, op: AlembicOp, revision: str) -> None:
    tables = schema.tables
    kind = op.kind
    if kind == "unknown":
        if op.table:
            schema.opaque_tables.add(op.table)
        else:
            schema.opaque = True
            schema.problems.append(f"revision {revision}: an op call stackguard cannot follow (line {op.line})")
        return
    if kind in ("noop",):
        return
    if kind == "execute":
        if op.sql is None:
            return  # data migration through SQLAlchemy constructs
        for match in DDL_PATTERN.finditer(op.sql):
            schema.opaque_tables.add((match.group(1) or match.group(2)).lower())
        return
    if op.table is None and kind != "drop_index":
        schema.opaque = True
        return
    if kind == "create_table":
        created = TableState(op.table or "", created_by=revision)
        for new_column in op.columns:
            created.columns[new_column.name] = new_column
            if new_column.index:
                created.indexes.append(IndexDef(f"ix_{created.name}_{new_column.name}", (new_column.name,), new_column.unique))
        created.foreign_keys = list(op.foreign_keys)
        created.uniques = list(op.uniques)
        created.primary_key = op.primary_key
        tables[created.name] = created
        return
    if kind == "drop_table":
        tables.pop(op.table or "", None)
        schema.opaque_tables.discard(op.table or "")
        return
    if kind == "rename_table":
        moved = tables.pop(op.table or "", None)
        if moved is not None and op.new_name:
            moved.name = op.new_name
            tables[op.new_name] = moved
        elif op.new_name:
            schema.opaque_tables.add(op.new_name)
        return
    if kind == "drop_index":
        for holder in [tables[op.table]] if op.table in tables else list(tables.values()):
            holder.indexes = [i for i in holder.indexes if i.name != op.name]
        return
    state = tables.get(op.table or "")
    if state is None:
        # A table this history never created (raw SQL, another metadata).
        schema.opaque_tables.add(op.table or "")
        return
    if kind == "add_column" and op.column is not None:
        state.columns[op.column.name] = op.column
        if op.column.index:
            state.indexes.append(IndexDef(f"ix_{state.name}_{op.column.name}", (op.column.name,), op.column.unique))
    elif kind == "drop_column" and op.name:
        state.columns.pop(op.name, None)
        state.indexes = [i for i in state.indexes if op.name not in i.columns]
        state.uniques = [u for u in state.uniques if op.name not in u.columns]
        state.foreign_keys = [f for f in state.foreign_keys if op.name not in f.columns]
    elif kind == "alter_column" and op.name:
        column = state.columns.get(op.name)
        if column is None:
            schema.opaque_tables.add(state.name)
            return
        if op.new_type is not None:
            column = replace(column, type=op.new_type)
        if op.new_nullable is not None:
            column = replace(column, nullable=op.new_nullable)
        if op.sets_server_default:
            column = replace(column, server_default=op.server_default)
        if op.new_name:
            del state.columns[op.name]
            column = replace(column, name=op.new_name)
            renamed = op.new_name

            def rename(columns: tuple[str, ...]) -> tuple[str, ...]:
                return tuple(renamed if c == op.name else c for c in columns)

            state.indexes = [replace(i, columns=rename(i.columns)) for i in state.indexes]
            state.uniques = [replace(u, columns=rename(u.columns)) for u in state.uniques]
            state.foreign_keys = [replace(f, columns=rename(f.columns)) for f in state.foreign_keys]
            if op.name in state.primary_key:
                state.primary_key = rename(state.primary_key)
        state.columns[column.name] = column
    elif kind == "create_index" and op.index is not None:
        state.indexes.append(op.index)
    elif kind == "create_foreign_key":
        state.foreign_keys.extend(op.foreign_keys)
    elif kind == "create_unique_constraint":
        state.uniques.extend(op.uniques)
    elif kind == "create_primary_key":
        state.primary_key = op.primary_key
    elif kind == "drop_constraint" and op.name:
        state.foreign_keys = [f for f in state.foreign_keys if f.name != op.name]
        state.uniques = [u for u in state.uniques if u.name != op.name]
        state.indexes = [i for i in state.indexes if i.name != op.name]


@dataclass
class AlembicHistory:
    """The revisions of one Alembic setup, linked by ``down_revision``."""

    revisions: dict[str, AlembicRevision] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    # The folder holding the revision files (relative to the project root, or absolute).
    folder: str = ""

    @classmethod
    def from_revisions(cls, revisions: Iterable[AlembicRevision], folder: str = "") -> AlembicHistory:
        history = cls(folder=folder)
        for revision in sorted(revisions, key=lambda r: r.relative):
            if revision.revision in history.revisions:
                other = history.revisions[revision.revision].relative
                history.problems.append(f"revision id {revision.revision} appears in both {other} and {revision.relative}")
                continue
            history.revisions[revision.revision] = revision
        for revision in history.revisions.values():
            for parent in revision.down_revisions:
                if parent not in history.revisions:
                    history.problems.append(
                        f"{revision.relative or revision.revision}: down_revision {parent!r} is not a known revision"
                    )
        return history

    def heads(self) -> list[str]:
        """Revisions no other revision builds on (``alembic heads``)."""
        parents = {p for r in self.revisions.values() for p in (*r.down_revisions, *r.depends_on)}
        return sorted(rid for rid in self.revisions if rid not in parents)

    def bases(self) -> list[str]:
        return sorted(rid for rid, r in self.revisions.items() if not any(p in self.revisions for p in r.down_revisions))

    def order(self) -> list[AlembicRevision]:
        """Every revision after the ones it revises (Kahn's algorithm; ties
        by file name so the result is stable). Revisions on a cycle are
        left out and reported."""
        children: dict[str, list[str]] = {rid: [] for rid in self.revisions}
        waiting: dict[str, int] = {}
        for rid, revision in self.revisions.items():
            parents = [p for p in (*revision.down_revisions, *revision.depends_on) if p in self.revisions]
            waiting[rid] = len(set(parents))
            for parent in set(parents):
                children[parent].append(rid)
        ready = [(self.revisions[rid].relative, rid) for rid, count in waiting.items() if count == 0]
        heapq.heapify(ready)
        ordered: list[AlembicRevision] = []
        while ready:
            _, rid = heapq.heappop(ready)
            ordered.append(self.revisions[rid])
            for child in children[rid]:
                waiting[child] -= 1
                if waiting[child] == 0:
                    heapq.heappush(ready, (self.revisions[child].relative, child))
        if len(ordered) != len(self.revisions):
            stuck = sorted(set(self.revisions) - {r.revision for r in ordered})
            self.problems.append(f"revisions on a down_revision cycle: {', '.join(stuck)}")
        return ordered

    def schema(self) -> HistorySchema:
        """The schema ``alembic upgrade heads`` builds from an empty database."""
        schema = HistorySchema()
        ordered = self.order()
        if len(ordered) != len(self.revisions):
            schema.opaque = True
        for revision in ordered:
            for op in revision.upgrade_ops:
                _apply(schema, op, revision.revision)
        schema.problems.extend(self.problems)
        return schema


def load_alembic_history(versions: Path, relative_to: Path | None = None) -> AlembicHistory:
    """Read every revision file under a ``versions/`` folder."""
    revisions = []
    problems = []
    if versions.is_dir():
        for path in sorted(versions.rglob("*.py")):
            if "__pycache__" in path.parts:
                continue
            try:
                tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            except (OSError, UnicodeDecodeError, SyntaxError, ValueError, RecursionError) as exc:
                problems.append(f"{path.name}: cannot read: {exc}")
                continue
            relative = path.relative_to(relative_to).as_posix() if relative_to is not None else path.name
            revision = parse_alembic_revision(tree, relative)
            if revision is not None:
                revisions.append(revision)
    folder = versions.relative_to(relative_to).as_posix() if relative_to is not None else str(versions)
    history = AlembicHistory.from_revisions(revisions, folder)
    history.problems[:0] = problems
    return history


# --------------------------------------------------------------------------
# Django
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class DjangoField:
    cls: str  # CharField, ForeignKey…
    null: bool = False
    unique: bool = False
    primary_key: bool = False
    db_index: bool = False
    max_length: str | None = None
    to: str | None = None
    db_column: str | None = None


@dataclass(frozen=True)
class DjangoOp:
    kind: str  # CreateModel, AddField, RunPython…, "unknown"
    model: str | None = None  # lower-cased model name
    name: str | None = None  # field name
    field_spec: DjangoField | None = None
    fields: tuple[tuple[str, DjangoField], ...] = ()
    new_name: str | None = None
    db_table: str | None = None
    unmanaged: bool = False
    proxy: bool = False
    abstract: bool = False
    # RunPython / RunSQL: whether a reverse was given.
    reversible: bool | None = None
    state_ops: tuple[DjangoOp, ...] = ()
    line: int = field(default=0, compare=False)
    end_line: int = field(default=0, compare=False)
    col: int = field(default=0, compare=False)
    end_col: int = field(default=0, compare=False)


@dataclass(frozen=True)
class DjangoMigration:
    app_label: str
    name: str
    dependencies: tuple[tuple[str, str], ...]
    operations: tuple[DjangoOp, ...]
    replaces: tuple[tuple[str, str], ...] = ()
    initial: bool = False
    relative: str = field(default="", compare=False)

    @property
    def key(self) -> tuple[str, str]:
        return self.app_label, self.name


def _migration_class(tree: ast.Module) -> ast.ClassDef | None:
    for stmt in tree.body:
        if isinstance(stmt, ast.ClassDef) and stmt.name == "Migration" and any(_last(base) == "Migration" for base in stmt.bases):
            return stmt
    return None


def django_app_label(relative: str) -> str:
    """``catalog/migrations/0001_initial.py`` → ``catalog``."""
    parts = relative.split("/")
    if len(parts) >= 3 and parts[-2] == "migrations":
        return parts[-3]
    return ""


def parse_django_migration(tree: ast.Module, relative: str = "") -> DjangoMigration | None:
    node = _migration_class(tree)
    if node is None:
        return None
    values: dict[str, ast.expr] = {}
    for stmt in node.body:
        found = _assignment(stmt)
        if found is not None:
            values[found[0]] = found[1]
    app = django_app_label(relative)
    name = relative.rsplit("/", 1)[-1].removesuffix(".py") if relative else ""
    operations = values.get("operations")
    ops: list[DjangoOp] = []
    if isinstance(operations, (ast.List, ast.Tuple)):
        ops = [_django_op(element) for element in operations.elts]
    elif operations is not None:
        ops = [DjangoOp("unknown", line=operations.lineno)]
    return DjangoMigration(
        app_label=app,
        name=name,
        dependencies=_django_pairs(values.get("dependencies")),
        operations=tuple(ops),
        replaces=_django_pairs(values.get("replaces")),
        initial=bool_value(values.get("initial")) is True,
        relative=relative,
    )


def _django_pairs(expr: ast.expr | None) -> tuple[tuple[str, str], ...]:
    pairs: list[tuple[str, str]] = []
    if isinstance(expr, (ast.List, ast.Tuple)):
        for element in expr.elts:
            if isinstance(element, (ast.Tuple, ast.List)) and len(element.elts) == 2:
                app, name = string_value(element.elts[0]), string_value(element.elts[1])
                if app is not None and name is not None:
                    pairs.append((app, name))
    return tuple(pairs)


def _django_field(expr: ast.expr | None) -> DjangoField | None:
    if not isinstance(expr, ast.Call):
        return None
    cls = _last(expr.func)
    if not cls:
        return None
    to = _kw(expr, "to")
    if to is None and cls in ("ForeignKey", "OneToOneField", "ManyToManyField") and expr.args:
        to = expr.args[0]
    return DjangoField(
        cls=cls,
        null=bool_value(_kw(expr, "null")) is True,
        unique=bool_value(_kw(expr, "unique")) is True,
        primary_key=bool_value(_kw(expr, "primary_key")) is True,
        db_index=bool_value(_kw(expr, "db_index")) is True,
        max_length=literal_text(_kw(expr, "max_length")),
        to=(string_value(to) or dotted_name(to)) if to is not None else None,
        db_column=string_value(_kw(expr, "db_column")),
    )


def _options(expr: ast.expr | None) -> dict[str, ast.expr]:
    found: dict[str, ast.expr] = {}
    if isinstance(expr, ast.Dict):
        for key, value in zip(expr.keys, expr.values):
            name = string_value(key)
            if name is not None:
                found[name] = value
    return found


def _is_none(expr: ast.expr | None) -> bool:
    return expr is None or (isinstance(expr, ast.Constant) and expr.value is None)


def _django_op(expr: ast.expr) -> DjangoOp:
    position: dict[str, Any] = {
        "line": getattr(expr, "lineno", 0),
        "end_line": getattr(expr, "end_lineno", 0) or getattr(expr, "lineno", 0),
        "col": getattr(expr, "col_offset", 0),
        "end_col": getattr(expr, "end_col_offset", 0) or 0,
    }
    if not isinstance(expr, ast.Call):
        return DjangoOp("unknown", **position)
    kind = _last(expr.func)

    def text(index: int, name: str) -> str | None:
        return string_value(_arg(expr, index, name))

    if kind == "CreateModel":
        fields: list[tuple[str, DjangoField]] = []
        raw = _arg(expr, 1, "fields")
        if isinstance(raw, (ast.List, ast.Tuple)):
            for element in raw.elts:
                if isinstance(element, ast.Tuple) and len(element.elts) == 2:
                    name, parsed = string_value(element.elts[0]), _django_field(element.elts[1])
                    if name is not None and parsed is not None:
                        fields.append((name, parsed))
        options = _options(_arg(expr, 2, "options"))
        return DjangoOp(
            "CreateModel",
            (text(0, "name") or "").lower() or None,
            fields=tuple(fields),
            db_table=string_value(options.get("db_table")),
            unmanaged=bool_value(options.get("managed")) is False,
            proxy=bool_value(options.get("proxy")) is True,
            abstract=bool_value(options.get("abstract")) is True,
            **position,
        )
    if kind == "DeleteModel":
        return DjangoOp("DeleteModel", (text(0, "name") or "").lower() or None, **position)
    if kind == "RenameModel":
        return DjangoOp("RenameModel", (text(0, "old_name") or "").lower() or None, new_name=(text(1, "new_name") or "").lower() or None, **position)
    if kind == "AlterModelTable":
        return DjangoOp("AlterModelTable", (text(0, "name") or "").lower() or None, db_table=text(1, "table"), **position)
    if kind in ("AddField", "AlterField"):
        return DjangoOp(kind, (text(0, "model_name") or "").lower() or None, name=text(1, "name"), field_spec=_django_field(_arg(expr, 2, "field")), **position)
    if kind == "RemoveField":
        return DjangoOp(kind, (text(0, "model_name") or "").lower() or None, name=text(1, "name"), **position)
    if kind == "RenameField":
        return DjangoOp(kind, (text(0, "model_name") or "").lower() or None, name=text(1, "old_name"), new_name=text(2, "new_name"), **position)
    if kind == "RunPython":
        return DjangoOp(kind, reversible=not _is_none(_arg(expr, 1, "reverse_code")), **position)
    if kind == "RunSQL":
        state = _arg(expr, 2, "state_operations")
        state_ops = tuple(_django_op(e) for e in state.elts) if isinstance(state, (ast.List, ast.Tuple)) else ()
        return DjangoOp(kind, reversible=not _is_none(_arg(expr, 1, "reverse_sql")), state_ops=state_ops, **position)
    if kind == "SeparateDatabaseAndState":
        state = _arg(expr, 1, "state_operations")
        state_ops = tuple(_django_op(e) for e in state.elts) if isinstance(state, (ast.List, ast.Tuple)) else ()
        return DjangoOp(kind, state_ops=state_ops, **position)
    if kind in (
        "AlterModelOptions",
        "AlterUniqueTogether",
        "AlterIndexTogether",
        "AddIndex",
        "RemoveIndex",
        "RenameIndex",
        "AddConstraint",
        "RemoveConstraint",
        "AlterOrderWithRespectTo",
        "AlterModelManagers",
        "AlterModelTableComment",
    ):
        return DjangoOp("noop", name=kind, **position)
    return DjangoOp("unknown", name=kind, **position)


@dataclass
class DjangoModelState:
    app_label: str
    name: str  # lower-cased
    fields: dict[str, DjangoField] = field(default_factory=dict)
    db_table: str | None = None
    unmanaged: bool = False
    proxy: bool = False
    created_by: str = ""


@dataclass
class DjangoState:
    models: dict[tuple[str, str], DjangoModelState] = field(default_factory=dict)
    # Apps whose history could not be followed (custom operations).
    opaque_apps: set[str] = field(default_factory=set)
    apps: set[str] = field(default_factory=set)
    problems: list[str] = field(default_factory=list)


def django_order(migrations: Iterable[DjangoMigration]) -> tuple[list[DjangoMigration], list[str]]:
    """Migrations after their dependencies (squashed migrations replace the
    ones they squash only when those are gone)."""
    by_key = {m.key: m for m in migrations}
    for migration in list(by_key.values()):
        if migration.replaces and all(r in by_key for r in migration.replaces):
            del by_key[migration.key]  # the originals are still here and build the same state
        elif migration.replaces:
            for replaced in migration.replaces:
                by_key.pop(replaced, None)
    first: dict[str, tuple[str, str]] = {}
    last: dict[str, tuple[str, str]] = {}
    for key in sorted(by_key):
        first.setdefault(key[0], key)
        last[key[0]] = key
    parents: dict[tuple[str, str], set[tuple[str, str]]] = {}
    for key, migration in by_key.items():
        found = set()
        for app, name in migration.dependencies:
            if name == "__first__":
                target = first.get(app)
            elif name == "__latest__":
                target = last.get(app)
            else:
                target = (app, name)
            if target is not None and target in by_key and target != key:
                found.add(target)
        parents[key] = found
    children: dict[tuple[str, str], list[tuple[str, str]]] = {key: [] for key in by_key}
    for key, found in parents.items():
        for parent in found:
            children[parent].append(key)
    waiting = {key: len(found) for key, found in parents.items()}
    ready = [key for key, count in waiting.items() if count == 0]
    heapq.heapify(ready)
    ordered: list[DjangoMigration] = []
    while ready:
        key = heapq.heappop(ready)
        ordered.append(by_key[key])
        for child in children[key]:
            waiting[child] -= 1
            if waiting[child] == 0:
                heapq.heappush(ready, child)
    problems = []
    if len(ordered) != len(by_key):
        stuck = sorted(f"{a}.{n}" for a, n in set(by_key) - {m.key for m in ordered})
        problems.append(f"migrations on a dependency cycle: {', '.join(stuck)}")
    return ordered, problems


def django_state(migrations: Iterable[DjangoMigration]) -> DjangoState:
    ordered, problems = django_order(migrations)
    state = DjangoState(problems=problems)
    for migration in ordered:
        state.apps.add(migration.app_label)
        for op in migration.operations:
            _apply_django(state, migration, op)
    return state


def _apply_django(state: DjangoState, migration: DjangoMigration, op: DjangoOp) -> None:
    app = migration.app_label
    models = state.models
    if op.kind == "unknown":
        state.opaque_apps.add(app)
        return
    if op.kind in ("SeparateDatabaseAndState", "RunSQL"):
        for inner in op.state_ops:
            _apply_django(state, migration, inner)
        return
    if op.model is None:
        return
    key = (app, op.model)
    if op.kind == "CreateModel":
        models[key] = DjangoModelState(
            app, op.model, dict(op.fields), op.db_table, op.unmanaged, op.proxy, f"{app}.{migration.name}"
        )
        return
    if op.kind == "DeleteModel":
        models.pop(key, None)
        return
    model = models.get(key)
    if model is None:
        state.opaque_apps.add(app)
        return
    if op.kind == "RenameModel" and op.new_name:
        del models[key]
        model.name = op.new_name
        models[(app, op.new_name)] = model
    elif op.kind == "AlterModelTable":
        model.db_table = op.db_table
    elif op.kind in ("AddField", "AlterField") and op.name and op.field_spec is not None:
        model.fields[op.name] = op.field_spec
    elif op.kind == "RemoveField" and op.name:
        model.fields.pop(op.name, None)
    elif op.kind == "RenameField" and op.name and op.new_name and op.name in model.fields:
        model.fields = {op.new_name if k == op.name else k: v for k, v in model.fields.items()}


# --------------------------------------------------------------------------
# What the workspace index keeps per module
# --------------------------------------------------------------------------


def migration_facts(relative: str, tree: ast.Module) -> AlembicRevision | DjangoMigration | None:
    """The migration a module holds, if it is one. Cheap for every other
    module: one look at the top-level statements."""
    has_migration_class = False
    assigned: set[str] = set()
    for stmt in tree.body:
        if isinstance(stmt, ast.ClassDef) and stmt.name == "Migration":
            has_migration_class = True
        else:
            found = _assignment(stmt)
            if found is not None:
                assigned.add(found[0])
    if has_migration_class and "/migrations/" in f"/{relative}":
        return parse_django_migration(tree, relative)
    if "revision" in assigned and "down_revision" in assigned:
        return parse_alembic_revision(tree, relative)
    return None
