"""New migrations that bring the history in line with the models.

* **Alembic, static** (``plan_alembic_migration``): a revision file written
  from the model/history diff alone, so it works with no database. Its
  ``down_revision`` is the single current head (several heads are refused
  with the ``alembic merge heads`` advice); ``upgrade()`` and ``downgrade()``
  are rendered the way ``alembic revision --autogenerate`` renders them
  (``sa.String(length=255)``, ``op.f('ix_users_email')``, batch blocks when
  the project's env.py uses ``render_as_batch`` or its database is SQLite),
  through the project's own ``script.py.mako`` when it only uses the
  standard placeholders. The result is text; the caller decides how the
  file is created (a workspace edit, or a write to disk).
* **Alembic, autogenerate** (``run_alembic_autogenerate``): when env.py's
  database is SQLite, ``alembic upgrade head`` then ``alembic revision
  --autogenerate`` run in the project's interpreter against a scratch SQLite
  database (the URL redirected through env.py's environment variable or a
  temporary copy of alembic.ini), so the user's database is never touched.
* **Django** (``run_makemigrations``): ``python manage.py makemigrations
  <app>`` in the project's interpreter; it needs no database.

Commands run as argv (never a shell) with a timeout, through
``verify.runner.run_command``, which stops the whole process group on
timeout or cancellation.
"""

from __future__ import annotations

import ast
import configparser
import datetime as _dt
import os
import re
import sys
import tempfile
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..stack.files import is_skipped_dir
from .diff import (
    ALEMBIC_ORMS,
    Change,
    alembic_model_table,
    diff_alembic_table,
    history_for,
    orm_models,
)
from .history import AlembicHistory, load_alembic_history, parse_alembic_revision
from .schema import (
    SQLMODEL_TYPES_MODULE,
    ColumnDef,
    ForeignKeyDef,
    IndexDef,
    SqlType,
    TableState,
    UniqueDef,
)

if TYPE_CHECKING:
    from ..analysis.index import WorkspaceIndex

DEFAULT_TIMEOUT_S = 120.0
_MAX_DEPTH = 4
_TRUNCATE_SLUG = 40

DEFAULT_TEMPLATE = '''"""${message}

Revision ID: ${up_revision}
Revises: ${down_revision | comma,n}
Create Date: ${create_date}

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
${imports if imports else ""}

# revision identifiers, used by Alembic.
revision: str = ${repr(up_revision)}
down_revision: Union[str, Sequence[str], None] = ${repr(down_revision)}
branch_labels: Union[str, Sequence[str], None] = ${repr(branch_labels)}
depends_on: Union[str, Sequence[str], None] = ${repr(depends_on)}


def upgrade() -> None:
    """Upgrade schema."""
    ${upgrades if upgrades else "pass"}


def downgrade() -> None:
    """Downgrade schema."""
    ${downgrades if downgrades else "pass"}
'''


@dataclass
class GenerationResult:
    """What a generation did or would do. ``status``: created (``content``
    holds the new file for the caller to create, or ``written`` says the
    tool already wrote it) | no_changes | refused | failed."""

    status: str
    message: str
    tool: str = ""
    path: Path | None = None
    content: str | None = None
    revision: str | None = None
    down_revision: str | None = None
    operations: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    written: bool = False
    output: str = ""
    paths: list[Path] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "message": self.message,
            "tool": self.tool,
            "path": str(self.path) if self.path is not None else None,
            "paths": [str(p) for p in self.paths],
            "revision": self.revision,
            "operations": list(self.operations),
            "notes": list(self.notes),
        }


# --------------------------------------------------------------------------
# Finding the Alembic setup
# --------------------------------------------------------------------------


@dataclass
class AlembicSetup:
    root: Path  # the folder alembic runs from (alembic.ini's folder)
    script_dir: Path
    versions: Path
    ini: Path | None = None
    file_template: str = "%(rev)s_%(slug)s"
    truncate_slug_length: int = _TRUNCATE_SLUG
    ini_url: str | None = None

    @property
    def env_py(self) -> Path:
        return self.script_dir / "env.py"

    def env_text(self) -> str:
        try:
            return self.env_py.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return ""

    @property
    def render_as_batch(self) -> bool:
        return bool(re.search(r"render_as_batch\s*=\s*True", self.env_text()))


def _walk(root: Path, depth: int = _MAX_DEPTH):
    for dirpath, dirnames, filenames in os.walk(root):
        current = Path(dirpath)
        level = len(current.relative_to(root).parts)
        dirnames[:] = sorted(d for d in dirnames if not is_skipped_dir(d) and not d.startswith(".") and level < depth)
        yield current, filenames


def _read_ini(path: Path) -> AlembicSetup | None:
    parser = configparser.ConfigParser(defaults={"here": str(path.parent)})
    try:
        parser.read(path, encoding="utf-8")
        section = parser["alembic"]
        location = section.get("script_location")
    except (configparser.Error, KeyError, OSError, UnicodeDecodeError):
        return None
    if not location or (":" in location and "/" not in location and "\\" not in location):
        return None  # a package resource (``myapp:migrations``)
    script_dir = Path(location)
    if not script_dir.is_absolute():
        script_dir = path.parent / script_dir
    try:
        versions_text = section.get("version_locations")
        template = section.get("file_template", "%(rev)s_%(slug)s")
        truncate = int(section.get("truncate_slug_length", str(_TRUNCATE_SLUG)))
        url = section.get("sqlalchemy.url")
    except (configparser.Error, ValueError):
        versions_text, template, truncate, url = None, "%(rev)s_%(slug)s", _TRUNCATE_SLUG, None
    versions = script_dir / "versions"
    if versions_text:
        first = re.split(r"[\s,;:]+" if os.sep == "/" else r"[\s,;]+", versions_text.strip())[0]
        candidate = Path(first)
        versions = candidate if candidate.is_absolute() else path.parent / candidate
    if not (script_dir / "env.py").is_file():
        return None
    return AlembicSetup(path.parent, script_dir, versions, path, template, truncate, url)


def find_alembic_setups(root: Path) -> list[AlembicSetup]:
    """Alembic setups under ``root``: every ``alembic.ini`` (its
    ``script_location``), and folders with ``env.py`` next to ``versions/``
    that no ini names."""
    setups: list[AlembicSetup] = []
    env_dirs: list[Path] = []
    for folder, files in _walk(root):
        if "alembic.ini" in files:
            setup = _read_ini(folder / "alembic.ini")
            if setup is not None:
                setups.append(setup)
        if "env.py" in files and (folder / "versions").is_dir():
            env_dirs.append(folder)
    known = {s.script_dir.resolve() for s in setups}
    for folder in env_dirs:
        if folder.resolve() not in known:
            setups.append(AlembicSetup(folder.parent, folder, folder / "versions"))
    return setups


def choose_setup(root: Path, location: str | None = None) -> tuple[AlembicSetup | None, str | None]:
    """The one setup to use, or (None, why not)."""
    setups = find_alembic_setups(root)
    if location:
        matching = [s for s in setups if _relative(s.versions, root) == location or _relative(s.script_dir, root) == location]
        if matching:
            return matching[0], None
    if len(setups) == 1:
        return setups[0], None
    if not setups:
        return None, f"no Alembic setup (alembic.ini, or env.py next to versions/) under {root}"
    names = ", ".join(_relative(s.versions, root) for s in setups)
    return None, f"several Alembic setups under {root} ({names}); pass the folder of the one to use"


def _relative(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(path)


# --------------------------------------------------------------------------
# Rendering operations
# --------------------------------------------------------------------------


def render_type(column_type: SqlType | None) -> str | None:
    if column_type is None:
        return None
    if column_type.family == "enum" and not all(a[:1] in ("'", '"') for a in column_type.args):
        return None  # an enum built from a Python class: its values are not visible here
    if column_type.module == "":
        return None
    return column_type.render()


def render_server_default(text: str | None) -> str | None:
    if text is None:
        return None
    stripped = text.strip()
    if stripped.startswith(("func.", "sa.func.", "sqlalchemy.func.")):
        return "sa.func." + stripped.split("func.", 1)[1]
    if stripped.startswith(("text(", "sa.text(", "sqlalchemy.text(")):
        return "sa.text(" + stripped.split("text(", 1)[1]
    if stripped[:1] in ("'", '"'):
        return stripped
    if re.fullmatch(r"-?\d+(\.\d+)?|True|False", stripped):
        value = {"True": "1", "False": "0"}.get(stripped, stripped)
        return f"sa.text({value!r})"
    if stripped in ("true()", "false()", "sa.true()", "sa.false()", "expression.true()", "expression.false()"):
        return "sa." + stripped.rsplit(".", 1)[-1]
    return None


def render_column(column: ColumnDef, *, with_foreign_key: bool = False) -> str | None:
    rendered_type = render_type(column.type)
    if rendered_type is None:
        return None
    parts = [repr(column.name), rendered_type]
    if with_foreign_key and column.foreign_key:
        parts.append(f"sa.ForeignKey({column.foreign_key!r})")
    default = render_server_default(column.server_default)
    if default is not None:
        parts.append(f"server_default={default}")
    nullable = False if column.primary_key else (True if column.nullable is None else column.nullable)
    parts.append(f"nullable={nullable}")
    return f"sa.Column({', '.join(parts)})"


@dataclass
class _Ops:
    """Upgrade and downgrade lines for one table (``batch``: rendered in a
    ``batch_alter_table`` block), plus top-level ops (create/drop table)."""

    table: str
    before: list[str] = field(default_factory=list)  # op.create_table / drop_table, at top level
    ops: list[tuple[str, str]] = field(default_factory=list)  # (up, down) inside the table's block
    after: list[str] = field(default_factory=list)
    down_before: list[str] = field(default_factory=list)
    down_after: list[str] = field(default_factory=list)


class _Renderer:
    def __init__(self, batch: bool) -> None:
        self.batch = batch
        self.notes: list[str] = []
        self.operations: list[str] = []
        self.uses_sqlmodel = False

    def _t(self, column_type: SqlType | None) -> str | None:
        text = render_type(column_type)
        if text is not None and text.startswith(SQLMODEL_TYPES_MODULE):
            self.uses_sqlmodel = True
        return text

    def column(self, column: ColumnDef, *, with_foreign_key: bool = False) -> str | None:
        text = render_column(column, with_foreign_key=with_foreign_key)
        if text is not None and SQLMODEL_TYPES_MODULE in text:
            self.uses_sqlmodel = True
        if column.server_default is not None and render_server_default(column.server_default) is None:
            self.notes.append(f"server_default={column.server_default} of column {column.name} is not rendered; add it by hand")
        return text

    # -- per-table statements; ``t`` is the receiver and table argument prefix
    def _call(self, method: str, table: str, *args: str) -> str:
        if self.batch:
            return f"batch_op.{method}({', '.join(args)})"
        return f"op.{method}({', '.join((repr(table), *args))})"

    def _f(self, name: str) -> str:
        return f"batch_op.f({name!r})" if self.batch else f"op.f({name!r})"

    def create_index(self, table: str, index: IndexDef) -> str:
        name = self._f(index.name or f"ix_{table}_{'_'.join(index.columns)}")
        cols = "[" + ", ".join(repr(c) for c in index.columns) + "]"
        if self.batch:
            return f"batch_op.create_index({name}, {cols}, unique={index.unique})"
        return f"op.create_index({name}, {table!r}, {cols}, unique={index.unique})"

    def drop_index(self, table: str, index: IndexDef) -> str:
        name = self._f(index.name or f"ix_{table}_{'_'.join(index.columns)}")
        if self.batch:
            return f"batch_op.drop_index({name})"
        return f"op.drop_index({name}, table_name={table!r})"

    def create_unique(self, table: str, unique: UniqueDef) -> str:
        name = self._f(unique.name or f"uq_{table}_{'_'.join(unique.columns)}")
        cols = "[" + ", ".join(repr(c) for c in unique.columns) + "]"
        if self.batch:
            return f"batch_op.create_unique_constraint({name}, {cols})"
        return f"op.create_unique_constraint({name}, {table!r}, {cols})"

    def create_foreign_key(self, table: str, fk: ForeignKeyDef) -> str:
        name = self._f(fk.name or f"fk_{table}_{'_'.join(fk.columns)}_{fk.ref_table}")
        local = "[" + ", ".join(repr(c) for c in fk.columns) + "]"
        remote = "[" + ", ".join(repr(c) for c in fk.ref_columns) + "]"
        if self.batch:
            return f"batch_op.create_foreign_key({name}, {fk.ref_table!r}, {local}, {remote})"
        return f"op.create_foreign_key({name}, {table!r}, {fk.ref_table!r}, {local}, {remote})"

    def drop_constraint(self, table: str, name: str, kind: str) -> str:
        if self.batch:
            return f"batch_op.drop_constraint({self._f(name)}, type_={kind!r})"
        return f"op.drop_constraint({self._f(name)}, {table!r}, type_={kind!r})"

    def create_table(self, state: TableState) -> tuple[list[str], list[str]] | None:
        lines = [f"op.create_table({state.name!r},"]
        for column in state.columns.values():
            text = self.column(column)
            if text is None:
                self.notes.append(f"table {state.name} not generated: the SQL type of column {column.name} is not one stackguard can write")
                return None
            lines.append(f"{text},")
        for fk in state.foreign_keys:
            local = "[" + ", ".join(repr(c) for c in fk.columns) + "]"
            remote = "[" + ", ".join(repr(f"{fk.ref_table}.{c}") for c in fk.ref_columns) + "]"
            lines.append(f"sa.ForeignKeyConstraint({local}, {remote}, ),")
        if state.primary_key:
            lines.append(f"sa.PrimaryKeyConstraint({', '.join(repr(c) for c in state.primary_key)}),")
        for unique in state.uniques:
            # A named one (__table_args__) keeps its name, as autogenerate writes it.
            name = f", name=op.f({unique.name!r})" if unique.name else ""
            lines.append(f"sa.UniqueConstraint({', '.join(repr(c) for c in unique.columns)}{name}),")
        lines[-1] = lines[-1].rstrip(",")
        lines.append(")")
        return lines, [f"op.drop_table({state.name!r})"]


def _table_order(tables: dict[str, TableState]) -> list[str]:
    """New tables after the new tables they reference."""
    ordered: list[str] = []
    visiting: set[str] = set()

    def visit(name: str) -> None:
        if name in ordered or name in visiting:
            return
        visiting.add(name)
        for fk in tables[name].foreign_keys:
            if fk.ref_table in tables and fk.ref_table != name:
                visit(fk.ref_table)
        visiting.discard(name)
        ordered.append(name)

    for name in sorted(tables):
        visit(name)
    return ordered


def render_changes(changes: list[Change], batch: bool) -> tuple[list[str], list[str], list[str], list[str], bool]:
    """(upgrade lines, downgrade lines, operation summaries, notes, uses sqlmodel types)."""
    renderer = _Renderer(batch)
    groups: dict[str, _Ops] = {}

    def group(table: str) -> _Ops:
        return groups.setdefault(table, _Ops(table))

    new_tables = {c.table: c.table_state for c in changes if c.kind == "missing_table" and c.table_state is not None}
    for change in changes:
        if change.kind == "missing_table" and not change.complete:
            renderer.notes.append(
                f"table {change.table} not generated: `{change.model}` inherits columns from a class stackguard cannot see; "
                "generate it with alembic autogenerate"
            )
            new_tables.pop(change.table, None)
    for name in _table_order({k: v for k, v in new_tables.items() if v is not None}):
        state = new_tables[name]
        assert state is not None
        rendered = renderer.create_table(state)
        if rendered is None:
            continue
        ops = group(name)
        ops.before.extend(rendered[0])
        ops.down_after.extend(rendered[1])
        renderer.operations.append(f"create table {name}")
        for index in state.indexes:
            ops.ops.append((renderer.create_index(name, index), renderer.drop_index(name, index)))
            renderer.operations.append(f"create index {index.name} on {name}")

    # Column changes, one alter_column per column.
    alters: dict[tuple[str, str], dict[str, Change]] = {}
    for change in changes:
        table, column = change.table, change.column or ""
        ops = group(table)
        if change.kind == "missing_column" and change.wanted is not None:
            wanted = replace(change.wanted, index=False, unique=False, foreign_key=None)
            text = renderer.column(wanted)
            if text is None:
                renderer.notes.append(f"column {table}.{column} not generated: its SQL type is not one stackguard can write")
                continue
            ops.ops.append((renderer._call("add_column", table, text), renderer._call("drop_column", table, repr(column))))
            renderer.operations.append(f"add column {table}.{column}")
            if change.wanted.index:
                index = IndexDef(f"ix_{table}_{column}", (column,), change.wanted.unique)
                ops.ops.append((renderer.create_index(table, index), renderer.drop_index(table, index)))
            elif change.wanted.unique:
                unique = UniqueDef(f"uq_{table}_{column}", (column,))
                ops.ops.append((renderer.create_unique(table, unique), renderer.drop_constraint(table, unique.name or "", "unique")))
            if change.wanted.foreign_key:
                ref_table, _, ref_column = change.wanted.foreign_key.rpartition(".")
                fk = ForeignKeyDef(f"fk_{table}_{column}_{ref_table}", (column,), ref_table, (ref_column,))
                ops.ops.append((renderer.create_foreign_key(table, fk), renderer.drop_constraint(table, fk.name or "", "foreignkey")))
        elif change.kind in ("type_changed", "nullable_changed", "server_default_missing"):
            alters.setdefault((table, column), {})[change.kind] = change
        elif change.kind == "missing_index" and change.index is not None:
            ops.ops.append((renderer.create_index(table, change.index), renderer.drop_index(table, change.index)))
            renderer.operations.append(f"create index {change.index.name} on {table}")
        elif change.kind == "extra_index" and change.index is not None:
            ops.ops.append((renderer.drop_index(table, change.index), renderer.create_index(table, change.index)))
            renderer.operations.append(f"drop index {change.index.name} on {table}")
        elif change.kind == "missing_unique" and change.unique is not None:
            name = change.unique.name or f"uq_{table}_{column}"
            ops.ops.append((renderer.create_unique(table, change.unique), renderer.drop_constraint(table, name, "unique")))
            if column:
                renderer.operations.append(f"make {table}.{column} unique")
            else:  # a unique constraint of __table_args__
                renderer.operations.append(f"create unique constraint {name} on {table}")
        elif change.kind == "missing_foreign_key" and change.foreign_key is not None:
            name = change.foreign_key.name or f"fk_{table}_{column}"
            ops.ops.append((renderer.create_foreign_key(table, change.foreign_key), renderer.drop_constraint(table, name, "foreignkey")))
            renderer.operations.append(f"add foreign key {table}.{column} → {change.foreign_key.ref_table}")
        elif change.kind == "extra_column" and change.current is not None:
            restore = renderer.column(change.current, with_foreign_key=True)
            if restore is None:
                renderer.notes.append(f"column {table}.{column} not dropped: its SQL type could not be written for the downgrade")
                continue
            ops.ops.append((renderer._call("drop_column", table, repr(column)), renderer._call("add_column", table, restore)))
            renderer.operations.append(f"drop column {table}.{column}")
    for (table, column), kinds in alters.items():
        any_change = next(iter(kinds.values()))
        current_column = any_change.current
        wanted_column = any_change.wanted
        if current_column is None or wanted_column is None:
            continue
        up_args = [repr(column)]
        down_args = [repr(column)]
        existing_type = renderer._t(current_column.type)
        if "type_changed" in kinds:
            new_type = renderer._t(wanted_column.type)
            if existing_type is None or new_type is None:
                renderer.notes.append(f"type of {table}.{column} not changed: the SQL type is not one stackguard can write")
                kinds.pop("type_changed")
                if not kinds:
                    continue
            else:
                up_args += [f"existing_type={existing_type}", f"type_={new_type}"]
                down_args += [f"existing_type={new_type}", f"type_={existing_type}"]
                renderer.operations.append(f"change type of {table}.{column} to {wanted_column.type.describe() if wanted_column.type else '?'}")
        if "type_changed" not in kinds and existing_type is not None:
            up_args.append(f"existing_type={existing_type}")
            down_args.append(f"existing_type={existing_type}")
        if "nullable_changed" in kinds:
            up_args.append(f"nullable={bool(wanted_column.nullable)}")
            down_args.append(f"nullable={bool(current_column.nullable)}")
            renderer.operations.append(f"make {table}.{column} {'nullable' if wanted_column.nullable else 'NOT NULL'}")
        elif current_column.nullable is not None:
            up_args.append(f"existing_nullable={current_column.nullable}")
            down_args.append(f"existing_nullable={current_column.nullable}")
        if "server_default_missing" in kinds:
            default = render_server_default(wanted_column.server_default)
            if default is not None:
                up_args.append(f"server_default={default}")
                down_args.append("server_default=None")
                renderer.operations.append(f"set server default of {table}.{column}")
        if len(up_args) > 1:
            group(table).ops.append((renderer._call("alter_column", table, *up_args), renderer._call("alter_column", table, *down_args)))

    upgrade: list[str] = []
    downgrade: list[str] = []
    ordered = [name for name in _table_order({k: v for k, v in new_tables.items() if v is not None}) if name in groups]
    ordered += sorted(name for name in groups if name not in ordered)
    for name in ordered:
        ops = groups[name]
        upgrade.extend(ops.before)
        if ops.ops:
            if batch:
                upgrade.append(f"with op.batch_alter_table({name!r}, schema=None) as batch_op:")
                upgrade.extend("    " + up for up, _ in ops.ops)
            else:
                upgrade.extend(up for up, _ in ops.ops)
            upgrade.append("")
    for name in reversed(ordered):
        ops = groups[name]
        if ops.ops:
            if batch:
                downgrade.append(f"with op.batch_alter_table({name!r}, schema=None) as batch_op:")
                downgrade.extend("    " + down for _, down in reversed(ops.ops))
            else:
                downgrade.extend(down for _, down in reversed(ops.ops))
            downgrade.append("")
        downgrade.extend(ops.down_after)
    while upgrade and upgrade[-1] == "":
        upgrade.pop()
    while downgrade and downgrade[-1] == "":
        downgrade.pop()
    return upgrade, downgrade, renderer.operations, renderer.notes, renderer.uses_sqlmodel


# --------------------------------------------------------------------------
# The revision file
# --------------------------------------------------------------------------

_PLACEHOLDER = re.compile(r"\$\{([^}]*)\}")


def slugify(message: str, length: int = _TRUNCATE_SLUG) -> str:
    """Alembic's slug: words of the message, lower-cased, joined by ``_``."""
    slug = "_".join(re.sub(r"\W", " ", message).lower().split())
    if len(slug) > length:
        slug = slug[:length].rsplit("_", 1)[0] or slug[:length]
    return slug or "migration"


def _block(lines: list[str], indent: str, empty: str) -> str:
    if not lines:
        return empty
    body = ["# ### commands generated by stackguard - please review! ###", *lines, "# ### end stackguard commands ###"]
    return ("\n").join((indent + line if i and line else line) for i, line in enumerate(body))


def render_template(template: str, values: dict[str, Any]) -> str | None:
    """Fill a ``script.py.mako`` that only uses alembic's standard
    placeholders; None for anything else (Mako control lines, custom
    expressions), so the caller can fall back to the default template."""
    if re.search(r"^\s*%(?!%)|<%", template, re.MULTILINE):
        return None
    out: list[str] = []
    for line in template.splitlines(keepends=True):
        indent = line[: len(line) - len(line.lstrip())]
        failed = False

        def substitute(match: re.Match[str], indent: str = indent) -> str:
            nonlocal failed
            expression = " ".join(match.group(1).split())
            table = {
                "message": values["message"],
                "up_revision": values["up_revision"],
                "down_revision | comma,n": values["down_revision"] or "",
                "create_date": values["create_date"],
                "repr(up_revision)": repr(values["up_revision"]),
                "repr(down_revision)": repr(values["down_revision"]),
                "repr(branch_labels)": repr(None),
                "repr(depends_on)": repr(None),
                'imports if imports else ""': values["imports"],
                "imports if imports else ''": values["imports"],
                'upgrades if upgrades else "pass"': _block(values["upgrades"], indent, "pass"),
                "upgrades if upgrades else 'pass'": _block(values["upgrades"], indent, "pass"),
                'downgrades if downgrades else "pass"': _block(values["downgrades"], indent, "pass"),
                "downgrades if downgrades else 'pass'": _block(values["downgrades"], indent, "pass"),
            }
            if expression not in table:
                failed = True
                return ""
            return str(table[expression])

        rendered = _PLACEHOLDER.sub(substitute, line)
        if failed:
            return None
        out.append(rendered.replace("%%", "%"))
    return "".join(out)


def _file_name(setup: AlembicSetup, revision: str, message: str, now: _dt.datetime) -> str:
    tokens = {
        "rev": revision,
        "slug": slugify(message, setup.truncate_slug_length),
        "epoch": int(now.timestamp()),
        "year": now.year,
        "month": now.month,
        "day": now.day,
        "hour": now.hour,
        "minute": now.minute,
        "second": now.second,
    }
    try:
        name = setup.file_template % tokens
    except (KeyError, ValueError, TypeError):
        name = f"{revision}_{tokens['slug']}"
    return f"{name}.py"


def _sqlmodel_lengths(root: Path, relative: str, class_name: str) -> dict[str, str]:
    """``Field(max_length=80)`` per field of a SQLModel class (and its
    in-module bases), read from the source: the index does not keep it."""
    try:
        tree = ast.parse((root / relative).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, SyntaxError, ValueError):
        return {}
    classes = {node.name: node for node in tree.body if isinstance(node, ast.ClassDef)}
    lengths: dict[str, str] = {}

    def collect(name: str, seen: set[str]) -> None:
        node = classes.get(name)
        if node is None or name in seen:
            return
        seen.add(name)
        for base in node.bases:
            if isinstance(base, ast.Name):
                collect(base.id, seen)
        for stmt in node.body:
            if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name) and isinstance(stmt.value, ast.Call):
                for keyword in stmt.value.keywords:
                    if keyword.arg == "max_length" and isinstance(keyword.value, ast.Constant):
                        lengths[stmt.target.id] = repr(keyword.value.value)

    collect(class_name, set())
    return lengths


def _with_sqlmodel_lengths(change: Change, root: Path) -> Change:
    """SQLModel ``str`` fields with ``max_length`` are ``AutoString(length=N)``."""
    if change.kind not in ("missing_table", "missing_column") or change.model_relative is None:
        return change
    lengths = _sqlmodel_lengths(root, change.model_relative, change.model)
    if not lengths:
        return change

    def fix(column: ColumnDef) -> ColumnDef:
        if column.type is not None and column.type.name == "AutoString" and column.type.length is None and column.name in lengths:
            return replace(column, type=replace(column.type, params=(("length", lengths[column.name]),)))
        return column

    if change.kind == "missing_column" and change.wanted is not None:
        return replace(change, wanted=fix(change.wanted))
    if change.table_state is not None:
        state = TableState(
            change.table_state.name,
            {name: fix(column) for name, column in change.table_state.columns.items()},
            list(change.table_state.indexes),
            list(change.table_state.uniques),
            list(change.table_state.foreign_keys),
            change.table_state.primary_key,
        )
        return replace(change, table_state=state)
    return change


def alembic_changes(root: Path, index: WorkspaceIndex, setup: AlembicSetup, history: AlembicHistory) -> list[Change]:
    """The model/history changes for the models this setup covers."""
    schema = history.schema()
    entry = (history, schema)
    location = _relative(setup.versions, root)
    history.folder = location
    changes: list[Change] = []
    for model in orm_models(index, ALEMBIC_ORMS):
        if history_for(model.relative, [entry]) is None:
            continue
        table = alembic_model_table(model, index)
        if table is None:
            continue
        for change in diff_alembic_table(table, schema, location):
            changes.append(_with_sqlmodel_lengths(change, root) if model.orm == "sqlmodel" else change)
    return changes


def _database_is_sqlite(setup: AlembicSetup) -> bool:
    return scratch_database_plan(setup) is not None


def plan_alembic_migration(
    root: Path,
    index: WorkspaceIndex,
    message: str | None = None,
    *,
    location: str | None = None,
    revision_id: str | None = None,
    now: _dt.datetime | None = None,
) -> GenerationResult:
    """The revision file that brings the history in line with the models
    (not written: ``content`` and ``path`` say what to create)."""
    root = Path(root)
    setup, why = choose_setup(root, location)
    if setup is None:
        return GenerationResult("refused", why or "no Alembic setup", "alembic")
    history = load_alembic_history(setup.versions, root)
    heads = history.heads()
    if len(heads) > 1:
        return GenerationResult(
            "refused",
            f"The Alembic history has {len(heads)} heads ({', '.join(heads)}): a new revision would need to pick one. "
            "Merge them first (`alembic merge heads -m \"merge heads\"`), then generate again.",
            "alembic",
        )
    if history.problems:
        return GenerationResult("refused", "The Alembic history cannot be followed: " + "; ".join(history.problems), "alembic")
    schema = history.schema()
    if schema.opaque:
        return GenerationResult(
            "refused",
            "The Alembic history has operations stackguard cannot follow (" + "; ".join(schema.problems[:3]) + "); "
            "use alembic autogenerate instead.",
            "alembic",
        )
    changes = alembic_changes(root, index, setup, history)
    if not changes:
        return GenerationResult("no_changes", "No changes: the models and the Alembic history agree.", "alembic")
    message = (message or "").strip() or default_message(changes)
    batch = setup.render_as_batch or _database_is_sqlite(setup)
    upgrade, downgrade, operations, notes, uses_sqlmodel = render_changes(changes, batch)
    if not upgrade:
        return GenerationResult("refused", "Nothing stackguard can write by itself: " + "; ".join(notes), "alembic", notes=notes)
    revision = revision_id or uuid.uuid4().hex[-12:]
    down = heads[0] if heads else None
    now = now or _dt.datetime.now()
    template_text = None
    template_path = setup.script_dir / "script.py.mako"
    if template_path.is_file():
        try:
            template_text = template_path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            template_text = None
    imports = ""
    if uses_sqlmodel and not (template_text and re.search(r"^import sqlmodel\b|^from sqlmodel\b", template_text, re.MULTILINE)):
        imports = "import sqlmodel"
    values = {
        "message": message,
        "up_revision": revision,
        "down_revision": down,
        "create_date": str(now),
        "imports": imports,
        "upgrades": upgrade,
        "downgrades": downgrade,
    }
    content = render_template(template_text, values) if template_text else None
    if content is None:
        if template_text:
            notes.append("script.py.mako uses more than alembic's standard placeholders; the default template was used")
        content = render_template(DEFAULT_TEMPLATE, values) or ""
    try:
        ast.parse(content)
    except SyntaxError as exc:
        return GenerationResult("failed", f"the generated revision does not parse ({exc}); please report this", "alembic", content=content)
    path = setup.versions / _file_name(setup, revision, message, now)
    return GenerationResult(
        "created",
        f"Generated revision {revision} ({len(operations)} operation{'s' if len(operations) != 1 else ''}) in {_relative(path, root)}",
        "alembic",
        path=path,
        content=content,
        revision=revision,
        down_revision=down,
        operations=operations,
        notes=notes,
    )


def default_message(changes: list[Change]) -> str:
    parts: list[str] = []
    priority = {"missing_table": 0, "missing_column": 1, "extra_column": 2}
    for change in sorted(changes, key=lambda c: priority.get(c.kind, 3)):
        if change.kind == "missing_table":
            text = f"create {change.table}"
        elif change.kind == "missing_column":
            text = f"add {change.table}.{change.column}"
        elif change.kind == "extra_column":
            text = f"drop {change.table}.{change.column}"
        else:
            text = f"update {change.table}"
        if text not in parts:
            parts.append(text)
    message = ", ".join(parts[:3]) + (" and more" if len(parts) > 3 else "")
    return message or "update schema"


def write_new_file(path: Path, content: str) -> None:
    """Create ``path`` with ``content``; never overwrites (FileExistsError)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "x", encoding="utf-8", newline="\n") as handle:
        handle.write(content)


def check_written_revision(content: str) -> bool:
    try:
        tree = ast.parse(content)
    except SyntaxError:
        return False
    return parse_alembic_revision(tree) is not None


# --------------------------------------------------------------------------
# Running the project's tools
# --------------------------------------------------------------------------


def project_interpreter(root: Path, configured: Sequence[str] = ()) -> list[str]:
    """The Python that runs the project's tools: the editor's interpreter
    setting, else the project's ``.venv``/``venv``, else this one."""
    configured = [str(part) for part in configured if str(part)]
    if configured:
        return configured
    for name in (".venv", "venv"):
        for candidate in (root / name / "bin" / "python", root / name / "Scripts" / "python.exe"):
            if candidate.exists():
                return [str(candidate)]
    return [sys.executable]


async def _run(argv: list[str], cwd: Path, env: dict[str, str] | None, timeout: float, cancel: Any = None):
    from ..verify.runner import run_command

    return await run_command(argv, cwd=cwd, env=env, timeout=timeout, cancel=cancel)


def _failure(tool: str, what: str, outcome: Any) -> GenerationResult:
    if outcome.error:
        reason = outcome.error
    elif outcome.timed_out:
        reason = "timed out"
    elif outcome.cancelled:
        reason = "cancelled"
    else:
        reason = f"exit code {outcome.exit_code}"
    tail = "\n".join(outcome.lines[-15:])
    return GenerationResult("failed", f"{what} failed ({reason})" + (f":\n{tail}" if tail else ""), tool, output=outcome.output)


def find_manage_py(root: Path) -> Path | None:
    for folder, files in _walk(root, 3):
        if "manage.py" in files:
            return folder / "manage.py"
    return None


def _migration_files(base: Path) -> set[Path]:
    return {p for p in base.rglob("migrations/*.py") if "__pycache__" not in p.parts and not any(is_skipped_dir(part) for part in p.relative_to(base).parts[:-1])}


def django_migration_name(message: str | None) -> str | None:
    if not message:
        return None
    name = re.sub(r"[^0-9a-zA-Z]+", "_", message).strip("_").lower()[:50].strip("_")
    if not name:
        return None
    return name if not name[0].isdigit() else f"m_{name}"


async def run_makemigrations(
    root: Path,
    apps: Sequence[str] = (),
    message: str | None = None,
    *,
    interpreter: Sequence[str] = (),
    timeout: float = DEFAULT_TIMEOUT_S,
    cancel: Any = None,
) -> GenerationResult:
    """``python manage.py makemigrations [apps] [--name ...]``: Django writes
    the files; the result lists them."""
    root = Path(root)
    manage = find_manage_py(root)
    if manage is None:
        return GenerationResult("refused", f"no manage.py under {root}", "django")
    before = _migration_files(manage.parent)
    argv = [*project_interpreter(root, interpreter), str(manage), "makemigrations", *apps, "--noinput"]
    name = django_migration_name(message)
    if name and apps:
        argv += ["--name", name]
    env = dict(os.environ)
    env["PYTHONUNBUFFERED"] = "1"
    outcome = await _run(argv, manage.parent, env, timeout, cancel)
    if outcome.exit_code != 0:
        return _failure("django", "makemigrations", outcome)
    created = sorted(_migration_files(manage.parent) - before)
    if not created:
        return GenerationResult("no_changes", "No changes: Django detected no model changes.", "django", output=outcome.output)
    return GenerationResult(
        "created",
        "makemigrations created " + ", ".join(_relative(p, root) for p in created),
        "django",
        path=created[0],
        paths=created,
        operations=[line.strip()[2:] for line in outcome.lines if line.strip().startswith(("+ ", "- ", "~ "))],
        written=True,
        output=outcome.output,
    )


# -- alembic autogenerate against a scratch database ---------------------------

_URL_VARIABLE = re.compile(r"(DATABASE|DB|SQLALCHEMY|POSTGRES|MYSQL)\w*(URL|URI|DSN)|^(DATABASE|DB)$", re.IGNORECASE)


@dataclass(frozen=True)
class ScratchPlan:
    """How to point env.py at a scratch SQLite database: through an
    environment variable it reads (``via="env"``), or through a temporary
    copy of alembic.ini (``via="ini"``)."""

    via: str
    variable: str | None = None


def _env_lookups(tree: ast.AST) -> list[tuple[str, str | None, ast.Call | ast.Subscript]]:
    """``os.environ.get("X", default)`` / ``os.getenv("X", default)`` /
    ``os.environ["X"]`` → (name, default literal or None, node)."""
    found: list[tuple[str, str | None, ast.Call | ast.Subscript]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            target = node.func
            owner = ast.unparse(target.value) if isinstance(target.value, (ast.Name, ast.Attribute)) else ""
            reads_env = (target.attr == "get" and owner.endswith("environ")) or (target.attr == "getenv" and owner in ("os", ""))
            if reads_env and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
                default = node.args[1] if len(node.args) > 1 else None
                value = default.value if isinstance(default, ast.Constant) and isinstance(default.value, str) else None
                found.append((node.args[0].value, value, node))
        elif isinstance(node, ast.Subscript) and isinstance(node.value, ast.Attribute) and node.value.attr == "environ":
            key = node.slice
            if isinstance(key, ast.Constant) and isinstance(key.value, str):
                found.append((key.value, None, node))
    return found


def scratch_database_plan(setup: AlembicSetup) -> ScratchPlan | None:
    """None unless env.py's database is SQLite and its URL can be redirected."""
    text = setup.env_text()
    if not text:
        return None
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return None
    sets_url = "set_main_option" in text or "create_engine" in text or "create_async_engine" in text
    for name, default, _node in _env_lookups(tree):
        if not _URL_VARIABLE.search(name) or not sets_url:
            continue
        url = default or setup.ini_url or ""
        if url.startswith("sqlite"):
            return ScratchPlan("env", name)
        return None
    if setup.ini is not None and (setup.ini_url or "").startswith("sqlite") and "set_main_option" not in text and "engine_from_config" in text:
        return ScratchPlan("ini")
    return None


def _scratch_ini(setup: AlembicSetup, url: str, folder: Path) -> Path:
    assert setup.ini is not None
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(setup.ini, encoding="utf-8")
    section = parser["alembic"]
    section["script_location"] = str(setup.script_dir)
    section["sqlalchemy.url"] = url
    if "version_locations" in section:
        section["version_locations"] = str(setup.versions)
    path = folder / "alembic.ini"
    with open(path, "w", encoding="utf-8") as handle:
        parser.write(handle)
    return path


_GENERATING = re.compile(r"Generating (.+?\.py) \.\.\.")


async def run_alembic_autogenerate(
    root: Path,
    message: str | None = None,
    *,
    location: str | None = None,
    interpreter: Sequence[str] = (),
    timeout: float = DEFAULT_TIMEOUT_S,
    cancel: Any = None,
) -> GenerationResult:
    """``alembic upgrade head`` + ``alembic revision --autogenerate`` against
    a scratch SQLite database; an autogenerated revision with nothing in it
    is removed again ("no changes")."""
    root = Path(root)
    setup, why = choose_setup(root, location)
    if setup is None:
        return GenerationResult("refused", why or "no Alembic setup", "alembic")
    plan = scratch_database_plan(setup)
    if plan is None:
        return GenerationResult(
            "refused", "alembic autogenerate needs a database: env.py's database is not a SQLite one stackguard can stand in for", "alembic"
        )
    heads = load_alembic_history(setup.versions, root).heads()
    if len(heads) > 1:
        return GenerationResult(
            "refused", f"The Alembic history has {len(heads)} heads ({', '.join(heads)}): merge them first (`alembic merge heads`).", "alembic"
        )
    python = project_interpreter(root, interpreter)
    message = (message or "").strip() or "autogenerated"
    env = dict(os.environ)
    env["PYTHONUNBUFFERED"] = "1"
    with tempfile.TemporaryDirectory(prefix="stackguard-alembic-") as scratch:
        url = f"sqlite:///{Path(scratch) / 'scratch.db'}"
        config: list[str] = []
        if plan.via == "env" and plan.variable:
            env[plan.variable] = url
            if setup.ini is not None:
                config = ["-c", str(setup.ini)]
        else:
            config = ["-c", str(_scratch_ini(setup, url, Path(scratch)))]
        cwd = setup.root
        upgrade = await _run([*python, "-m", "alembic", *config, "upgrade", "head"], cwd, env, timeout, cancel)
        if upgrade.exit_code != 0:
            return _failure("alembic", "alembic upgrade head (scratch database)", upgrade)
        revision = await _run([*python, "-m", "alembic", *config, "revision", "--autogenerate", "-m", message], cwd, env, timeout, cancel)
        if revision.exit_code != 0:
            return _failure("alembic", "alembic revision --autogenerate", revision)
    match = next((m for m in map(_GENERATING.search, revision.lines) if m), None)
    if match is None:
        return GenerationResult("failed", "alembic did not say which file it generated:\n" + revision.output[-2000:], "alembic", output=revision.output)
    path = Path(match.group(1))
    if not path.is_absolute():
        path = setup.root / path
    try:
        parsed = parse_alembic_revision(ast.parse(path.read_text(encoding="utf-8")), _relative(path, root))
    except (OSError, SyntaxError, UnicodeDecodeError) as exc:
        return GenerationResult("failed", f"cannot read the generated revision {path}: {exc}", "alembic", output=revision.output)
    if parsed is not None and not parsed.upgrade_ops:
        path.unlink(missing_ok=True)
        return GenerationResult("no_changes", "No changes: alembic autogenerate found nothing to migrate.", "alembic", output=revision.output)
    return GenerationResult(
        "created",
        f"alembic autogenerate wrote {_relative(path, root)}",
        "alembic",
        path=path,
        paths=[path],
        revision=parsed.revision if parsed else None,
        down_revision=(parsed.down_revisions[0] if parsed and parsed.down_revisions else None),
        operations=[m.group(0) for line in revision.lines for m in [re.search(r"Detected .*", line)] if m],
        written=True,
        output=revision.output,
    )
