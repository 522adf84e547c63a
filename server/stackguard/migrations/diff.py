"""How the models differ from what the migration history builds.

The model side comes from the workspace index (``ModelInfo`` /
``ColumnInfo``); the history side from ``history``. A ``Change`` says what
is out of sync and carries what a generator needs to write the migration
that fixes it.

Precision first: a change is only reported when both sides are known. A
table the history touched with raw SQL, a history with ``op`` calls the
reader cannot follow, or a model whose columns may come from a base class
defined elsewhere (so its column list may be incomplete) are left alone for
the directions where that could be wrong.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from operator import is_
from typing import TYPE_CHECKING, Any

from .history import (
    AlembicHistory,
    AlembicRevision,
    DjangoMigration,
    DjangoModelState,
    DjangoState,
    HistorySchema,
    django_state,
)
from .schema import (
    ColumnDef,
    ForeignKeyDef,
    IndexDef,
    TableState,
    UniqueDef,
    type_from_annotation,
    type_from_text,
)

if TYPE_CHECKING:
    from ..analysis.index import WorkspaceIndex
    from ..analysis.summary import ModelInfo

ALEMBIC_ORMS = frozenset({"sqlalchemy", "sqlmodel", "flask-sqlalchemy"})
# Bases that add no columns: the ORMs' roots (and a project's declarative ``Base``).
_ROOT_BASE_NAMES = frozenset({"Base", "DeclarativeBase", "DeclarativeBaseNoMeta", "Model", "SQLModel", "AsyncAttrs", "MappedAsDataclass"})
_DJANGO_ROOTS = frozenset({"django.db.models.Model", "django.db.models.base.Model", "models.Model"})
_SKIPPED_LAYERS = frozenset({"test", "migration"})


@dataclass(frozen=True)
class Change:
    """One way the models and the migration history disagree.

    ``kind``: missing_table | missing_column | extra_column | type_changed |
    nullable_changed | server_default_missing | missing_index | extra_index |
    missing_unique | missing_foreign_key | unique_changed | max_length_changed.
    ``tool`` is ``alembic`` or ``django``; ``location`` the history's folder
    (Alembic, relative to the project root) or the app label (Django)."""

    kind: str
    tool: str
    location: str
    table: str
    model: str
    model_relative: str
    line: int  # where to report: the model class, or the column's line
    message: str
    column: str | None = None
    # For generators (Alembic): the model's column / table / index / key, and the history's.
    wanted: ColumnDef | None = None
    current: ColumnDef | None = None
    table_state: TableState | None = field(default=None, compare=False)
    index: IndexDef | None = None
    foreign_key: ForeignKeyDef | None = None
    unique: UniqueDef | None = None
    # Whether the model's columns are all visible (no base class from elsewhere).
    complete: bool = True

    def data(self, root: str | None = None) -> dict[str, object]:
        out: dict[str, object] = {"table": self.table, "kind": self.kind, "tool": self.tool, "location": self.location}
        if self.column is not None:
            out["column"] = self.column
        if root is not None:
            out["root"] = root
        return out


@dataclass
class ModelTable:
    """A model as the table it should be."""

    model: ModelInfo
    state: TableState
    column_lines: dict[str, int]
    complete: bool  # every column is visible in the class (or its in-module bases)


@dataclass
class ProjectDiff:
    changes: list[Change] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    alembic: list[tuple[AlembicHistory, HistorySchema]] = field(default_factory=list)
    django: DjangoState | None = None

    def for_model(self, relative: str, name: str) -> list[Change]:
        return [c for c in self.changes if c.model_relative == relative and c.model == name]


# --------------------------------------------------------------------------
# The model side
# --------------------------------------------------------------------------


def _plain_sqlalchemy_bases(model: ModelInfo) -> bool:
    for base in model.bases:
        if "." not in base:
            continue  # defined in the same module: its columns are merged in already
        if base.rsplit(".", 1)[-1] not in _ROOT_BASE_NAMES:
            return False
    return True


def _plain_django_bases(model: ModelInfo, index: WorkspaceIndex) -> bool:
    for base in model.bases:
        if base in _DJANGO_ROOTS:
            continue
        if "." not in base:
            # An in-module abstract base is merged in; a concrete parent adds a ``*_ptr`` link.
            if any(m.name == base and m.relative == model.relative for m in index.models_named(base)):
                return False
            continue
        return False
    return True


def _foreign_key(text: str | None, index: WorkspaceIndex) -> tuple[str, str] | None:
    """``"users.id"`` → (users, id); ``User.id`` (a class attribute) → the model's table."""
    if not text or "." not in text:
        return None
    table, _, column = text.strip("'\"").rpartition(".")
    if "." in table:
        table = table.rsplit(".", 1)[-1]
    target = index.model(table)
    if target is not None and target.table and target.name == table:
        table = target.table
    return table, column


def alembic_model_table(model: ModelInfo, index: WorkspaceIndex) -> ModelTable | None:
    if model.table is None:
        return None
    sqlmodel = model.orm == "sqlmodel"
    state = TableState(model.table)
    lines: dict[str, int] = {}
    for attr, info in model.columns.items():
        name = info.column_name or attr
        column_type = type_from_text(info.type) or type_from_annotation(info.type, sqlmodel=sqlmodel)
        fk = _foreign_key(info.foreign_key, index)
        column = ColumnDef(
            name,
            column_type,
            info.nullable,
            primary_key=info.primary_key,
            server_default=info.server_default,
            foreign_key=f"{fk[0]}.{fk[1]}" if fk else None,
            unique=info.unique and not info.primary_key,
            index=info.index,
        )
        state.columns[name] = column
        lines[name] = info.line
        if info.index:
            state.indexes.append(IndexDef(f"ix_{model.table}_{name}", (name,), info.unique))
        elif info.unique and not info.primary_key:
            state.uniques.append(UniqueDef(None, (name,)))
        if fk:
            state.foreign_keys.append(ForeignKeyDef(None, (name,), fk[0], (fk[1],)))
    for constraint in model.constraints:
        if constraint.kind == "index":
            state.indexes.append(IndexDef(constraint.name, constraint.columns, constraint.unique))
        else:
            state.uniques.append(UniqueDef(constraint.name, constraint.columns))
    state.primary_key = tuple(c.name for c in state.columns.values() if c.primary_key)
    complete = _plain_sqlalchemy_bases(model) and bool(state.primary_key)
    return ModelTable(model, state, lines, complete)


def orm_models(index: WorkspaceIndex, orms: frozenset[str]) -> list[ModelInfo]:
    found: list[ModelInfo] = []
    for relative in sorted(index.summaries):
        summary = index.summaries[relative]
        if summary.layer in _SKIPPED_LAYERS:
            continue
        found.extend(m for m in summary.models if m.orm in orms)
    return found


# --------------------------------------------------------------------------
# Alembic
# --------------------------------------------------------------------------


def alembic_histories(index: WorkspaceIndex) -> list[AlembicHistory]:
    """The project's Alembic histories: revisions grouped by the revision
    graph (a history's revisions are linked by ``down_revision``), each
    named after the folder holding its files."""
    revisions = [
        s.migration for s in index.summaries.values() if isinstance(s.migration, AlembicRevision) and s.layer != "test"
    ]
    if not revisions:
        return []
    parent: dict[str, str] = {r.revision: r.revision for r in revisions}

    def find(node: str) -> str:
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    for revision in revisions:
        for down in (*revision.down_revisions, *revision.depends_on):
            if down in parent:
                parent[find(down)] = find(revision.revision)
    groups: dict[str, list[AlembicRevision]] = {}
    for revision in revisions:
        groups.setdefault(find(revision.revision), []).append(revision)
    histories = []
    for members in groups.values():
        folders = sorted({r.relative.rsplit("/", 1)[0] if "/" in r.relative else "" for r in members})
        histories.append(AlembicHistory.from_revisions(members, folders[0]))
    return sorted(histories, key=lambda h: h.folder)


def _project_dir(folder: str) -> str:
    """``alembic/versions`` → ``""``; ``services/api/migrations/versions`` → ``services/api``."""
    parts = folder.split("/") if folder else []
    if parts and parts[-1] == "versions":
        parts = parts[:-1]
    if parts:
        parts = parts[:-1]
    return "/".join(parts)


def history_for(relative: str, histories: list[tuple[AlembicHistory, HistorySchema]]) -> tuple[AlembicHistory, HistorySchema] | None:
    """The history a model file belongs to: the one whose project folder is
    the longest prefix of the model's path."""
    best: tuple[int, tuple[AlembicHistory, HistorySchema]] | None = None
    for entry in histories:
        prefix = _project_dir(entry[0].folder)
        if prefix and not (relative == prefix or relative.startswith(prefix + "/")):
            continue
        score = len(prefix)
        if best is None or score > best[0]:
            best = (score, entry)
    return best[1] if best else None


def _describe_nullable(value: bool | None) -> str:
    return "nullable" if value else "NOT NULL"


def diff_alembic_table(table: ModelTable, schema: HistorySchema, location: str) -> list[Change]:
    model = table.model
    name = model.table or ""
    if schema.opaque or name in schema.opaque_tables:
        return []
    common: dict[str, Any] = {"tool": "alembic", "location": location, "table": name, "model": model.name, "model_relative": model.relative}
    current = schema.table(name)
    if current is None:
        return [
            Change(
                "missing_table",
                line=model.line,
                message=f"Model `{model.name}` maps to table `{name}`, which no migration in {location} creates",
                table_state=table.state,
                complete=table.complete,
                **common,
            )
        ]
    changes: list[Change] = []
    for column in table.state.columns.values():
        line = table.column_lines.get(column.name, model.line)
        where = f"`{name}.{column.name}`"
        have = current.columns.get(column.name)
        if have is None:
            changes.append(
                Change(
                    "missing_column",
                    line=line,
                    column=column.name,
                    message=f"Column {where} is declared on `{model.name}` but no migration in {location} adds it",
                    wanted=column,
                    **common,
                )
            )
            continue
        if column.type is not None and have.type is not None and column.type.same_as(have.type) is False:
            changes.append(
                Change(
                    "type_changed",
                    line=line,
                    column=column.name,
                    message=f"Column {where} is {column.type.describe()} on the model but {have.type.describe()} in the migrations",
                    wanted=column,
                    current=have,
                    **common,
                )
            )
        if column.nullable is not None and have.nullable is not None and column.nullable != have.nullable and not column.primary_key:
            changes.append(
                Change(
                    "nullable_changed",
                    line=line,
                    column=column.name,
                    message=f"Column {where} is {_describe_nullable(column.nullable)} on the model but {_describe_nullable(have.nullable)} in the migrations",
                    wanted=column,
                    current=have,
                    **common,
                )
            )
        if column.server_default is not None and have.server_default is None:
            changes.append(
                Change(
                    "server_default_missing",
                    line=line,
                    column=column.name,
                    message=f"Column {where} has server_default={column.server_default} on the model but no default in the migrations",
                    wanted=column,
                    current=have,
                    **common,
                )
            )
        # Declared by index=True or in __table_args__; the latter are
        # compared in _diff_table_constraints, with their own message.
        declared_index = table.state.has_index_on((column.name,))
        wanted_index = declared_index if column.index else None
        have_index = current.has_index_on((column.name,))
        if wanted_index is not None and have_index is None and not column.primary_key:
            changes.append(
                Change(
                    "missing_index",
                    line=line,
                    column=column.name,
                    message=f"Column {where} has index=True but no migration in {location} creates its index",
                    index=wanted_index,
                    **common,
                )
            )
        elif (
            declared_index is None
            and have_index is not None
            and have_index.name == f"ix_{name}_{column.name}"
            and not model.opaque_table_args  # it may declare the index
        ):
            changes.append(
                Change(
                    "extra_index",
                    line=line,
                    column=column.name,
                    message=f"The migrations create index `{have_index.name}` but column {where} no longer has index=True",
                    index=have_index,
                    **common,
                )
            )
        if column.unique and wanted_index is None and not current.is_unique(column.name):
            changes.append(
                Change(
                    "missing_unique",
                    line=line,
                    column=column.name,
                    message=f"Column {where} has unique=True but no migration in {location} makes it unique",
                    unique=UniqueDef(f"uq_{name}_{column.name}", (column.name,)),
                    **common,
                )
            )
        if column.foreign_key and current.foreign_key_of(column.name) is None:
            ref_table, _, ref_column = column.foreign_key.rpartition(".")
            changes.append(
                Change(
                    "missing_foreign_key",
                    line=line,
                    column=column.name,
                    message=f"Column {where} references `{column.foreign_key}` on the model but the migrations create no foreign key for it",
                    foreign_key=ForeignKeyDef(f"fk_{name}_{column.name}_{ref_table}", (column.name,), ref_table, (ref_column,)),
                    **common,
                )
            )
    changes.extend(_diff_table_constraints(table, current, location, common))
    if table.complete:
        for column in current.columns.values():
            if column.name not in table.state.columns:
                changes.append(
                    Change(
                        "extra_column",
                        line=model.line,
                        column=column.name,
                        message=f"The migrations give table `{name}` a column `{column.name}` that `{model.name}` no longer declares",
                        current=column,
                        **common,
                    )
                )
    return changes


def _diff_table_constraints(table: ModelTable, current: TableState, location: str, common: dict[str, Any]) -> list[Change]:
    """``__table_args__`` indexes and unique constraints the migrations never
    created."""
    changes: list[Change] = []
    model = table.model
    name = model.table or ""
    for constraint in model.constraints:
        columns = ", ".join(constraint.columns)
        if constraint.kind == "index":
            [first, *rest] = constraint.columns
            column = table.state.columns.get(first)
            if not rest and column is not None and column.index:
                continue  # the same index as the column's index=True: compared there
            if current.has_index_on(constraint.columns) is not None:
                continue
            index = IndexDef(constraint.name or f"ix_{name}_{'_'.join(constraint.columns)}", constraint.columns, constraint.unique)
            changes.append(
                Change(
                    "missing_index",
                    line=constraint.line,
                    message=f"`{model.name}` declares index `{index.name}` on `{name}` ({columns}) but no migration in {location} creates it",
                    index=index,
                    **common,
                )
            )
        elif not current.is_unique_on(constraint.columns):
            unique = UniqueDef(constraint.name or f"uq_{name}_{'_'.join(constraint.columns)}", constraint.columns)
            changes.append(
                Change(
                    "missing_unique",
                    line=constraint.line,
                    message=f"`{model.name}` declares a unique constraint on `{name}` ({columns}) but no migration in {location} creates it",
                    unique=unique,
                    **common,
                )
            )
    return changes


def diff_alembic(
    index: WorkspaceIndex, built: list[tuple[AlembicHistory, HistorySchema]] | None = None
) -> tuple[list[Change], list[tuple[AlembicHistory, HistorySchema]], list[str]]:
    """Changes between the Alembic-mapped models and the histories
    (``built``: histories with their replayed schemas, when already known)."""
    if built is None:
        built = [(history, history.schema()) for history in alembic_histories(index)]
    if not built:
        return [], [], []
    notes: list[str] = []
    changes: list[Change] = []
    for model in orm_models(index, ALEMBIC_ORMS):
        entry = history_for(model.relative, built)
        if entry is None:
            continue
        history, schema = entry
        table = alembic_model_table(model, index)
        if table is None:
            continue
        changes.extend(diff_alembic_table(table, schema, history.folder))
    for history, schema in built:
        if schema.opaque:
            notes.append(f"{history.folder}: " + "; ".join(schema.problems[:3] or ["history could not be followed"]))
    return changes, built, notes


# --------------------------------------------------------------------------
# Django
# --------------------------------------------------------------------------


def django_migrations(index: WorkspaceIndex) -> list[DjangoMigration]:
    return [s.migration for s in index.summaries.values() if isinstance(s.migration, DjangoMigration) and s.layer != "test"]


def _apps_with_migrations(index: WorkspaceIndex) -> set[str]:
    apps = set()
    for relative, summary in index.summaries.items():
        parts = relative.split("/")
        if len(parts) >= 3 and parts[-2] == "migrations" and (parts[-1] == "__init__.py" or isinstance(summary.migration, DjangoMigration)):
            apps.add(parts[-3])
    return apps


def _django_unique(field_cls: str, unique: bool, primary_key: bool) -> bool:
    return unique or primary_key or field_cls == "OneToOneField"


def diff_django(index: WorkspaceIndex, state: DjangoState | None = None) -> tuple[list[Change], DjangoState | None]:
    apps = _apps_with_migrations(index)
    if not apps:
        return [], None
    if state is None:
        state = django_state(django_migrations(index))
    changes: list[Change] = []
    for model in orm_models(index, frozenset({"django"})):
        app = model.app_label or ""
        if app not in apps or app in state.opaque_apps:
            continue
        common: dict[str, Any] = {"tool": "django", "location": app, "table": model.table or f"{app}_{model.name.lower()}", "model": model.name, "model_relative": model.relative}
        current = state.models.get((app, model.name.lower()))
        if current is None:
            changes.append(
                Change(
                    "missing_table",
                    line=model.line,
                    message=f"Model `{model.name}` has no migration: no migration of app `{app}` creates it",
                    **common,
                )
            )
            continue
        if current.proxy:
            continue
        changes.extend(_diff_django_fields(model, current, common))
        if _plain_django_bases(model, index):
            related = set(model.relationships)
            for name, spec in current.fields.items():
                if name not in model.columns and name not in related and spec.cls not in ("ManyToManyField",):
                    changes.append(
                        Change(
                            "extra_column",
                            line=model.line,
                            column=name,
                            message=f"The migrations of app `{app}` give `{model.name}` a field `{name}` that the model no longer declares",
                            **common,
                        )
                    )
    return changes, state


def _diff_django_fields(model: ModelInfo, current: DjangoModelState, common: dict[str, Any]) -> list[Change]:
    changes = []
    for name, info in model.columns.items():
        if info.implicit:
            continue  # the automatic ``id``: its type comes from settings
        spec = current.fields.get(name)
        where = f"`{model.name}.{name}`"
        if spec is None:
            changes.append(
                Change("missing_column", line=info.line, column=name, message=f"Field {where} has no migration: no migration of app `{common['location']}` adds it", **common)
            )
            continue
        if info.type and spec.cls != info.type:
            changes.append(
                Change("type_changed", line=info.line, column=name, message=f"Field {where} is a {info.type} on the model but a {spec.cls} in the migrations", **common)
            )
            continue
        if info.nullable is not None and bool(info.nullable) != spec.null:
            changes.append(
                Change(
                    "nullable_changed",
                    line=info.line,
                    column=name,
                    message=f"Field {where} has null={bool(info.nullable)} on the model but null={spec.null} in the migrations",
                    **common,
                )
            )
        wanted_length, have_length = info.max_length or "", spec.max_length or ""
        if wanted_length.isdigit() and have_length.isdigit() and int(wanted_length) != int(have_length):
            # Literal numbers only: makemigrations writes the number, and a
            # model naming a constant (max_length=NAME_LENGTH) cannot be told.
            changes.append(
                Change(
                    "max_length_changed",
                    line=info.line,
                    column=name,
                    message=f"Field {where} has max_length={info.max_length} on the model but max_length={spec.max_length} in the migrations",
                    **common,
                )
            )
        wanted_unique = _django_unique(info.type or "", info.unique, info.primary_key)
        have_unique = _django_unique(spec.cls, spec.unique, spec.primary_key)
        if wanted_unique != have_unique:
            changes.append(
                Change(
                    "unique_changed",
                    line=info.line,
                    column=name,
                    message=f"Field {where} has unique={wanted_unique} on the model but unique={have_unique} in the migrations",
                    **common,
                )
            )
    return changes


# --------------------------------------------------------------------------
# The whole project, cached per index state
# --------------------------------------------------------------------------

_CACHE: weakref.WeakKeyDictionary[WorkspaceIndex, tuple[list[object], ProjectDiff]] = weakref.WeakKeyDictionary()
_HISTORIES: weakref.WeakKeyDictionary[
    WorkspaceIndex, tuple[list[object], list[tuple[AlembicHistory, HistorySchema]], DjangoState | None]
] = weakref.WeakKeyDictionary()


# The index's keys and summary objects at the last call, and the diff then.
_SEEN: weakref.WeakKeyDictionary[WorkspaceIndex, tuple[list[str], list[object], ProjectDiff]] = weakref.WeakKeyDictionary()


def _same(old: Sequence[object], new: Sequence[object]) -> bool:
    return len(old) == len(new) and all(a is b for a, b in zip(old, new))


def _remember(cache: weakref.WeakKeyDictionary, index: WorkspaceIndex, value: tuple) -> None:  # type: ignore[type-arg]
    try:
        cache[index] = value
    except TypeError:  # an index type that cannot be weakly referenced
        pass


def _histories(index: WorkspaceIndex) -> tuple[list[tuple[AlembicHistory, HistorySchema]], DjangoState | None]:
    """The replayed histories, kept while no migration summary changes: a
    keystroke in a model file re-diffs against them without replaying."""
    migrations = [
        summary
        for relative, summary in index.summaries.items()
        if summary.migration is not None or relative.endswith("migrations/__init__.py")
    ]
    cached = _HISTORIES.get(index)
    if cached is not None and _same(cached[0], migrations):
        return cached[1], cached[2]
    built = [(history, history.schema()) for history in alembic_histories(index)]
    state = django_state(django_migrations(index)) if _apps_with_migrations(index) else None
    _remember(_HISTORIES, index, (migrations, built, state))
    return built, state


def project_diff(index: WorkspaceIndex) -> ProjectDiff:
    """Every model/history disagreement in the project. Recomputed only when
    a summary holding models or migrations was replaced (the index swaps
    summary objects on every update), so the rule can ask on every check."""
    # SG601 asks once per model class of every checked file: the common case,
    # no summary replaced since the last call, is answered by comparing the
    # summary objects by identity at C speed instead of rebuilding the list
    # of relevant summaries in Python (O(files) per call, O(files²) per check).
    summaries = index.summaries
    seen = _SEEN.get(index)
    if (
        seen is not None
        and len(seen[0]) == len(summaries)
        and all(map(is_, summaries.values(), seen[1]))
        and all(map(is_, summaries, seen[0]))
    ):
        return seen[2]
    relevant = [
        summary
        for relative, summary in index.summaries.items()
        if summary.models or summary.migration is not None or relative.endswith("migrations/__init__.py")
    ]
    cached = _CACHE.get(index)
    if cached is not None and _same(cached[0], relevant):
        result = cached[1]
    else:
        built, state = _histories(index)
        alembic_changes, built, notes = diff_alembic(index, built)
        django_changes, state = diff_django(index, state)
        result = ProjectDiff(alembic_changes + django_changes, notes, built, state)
        _remember(_CACHE, index, (relevant, result))
    # Holding the summaries keeps their identities from being reused.
    _remember(_SEEN, index, (list(summaries), list(summaries.values()), result))
    return result


def changes_for(changes: Iterable[Change], tool: str, location: str | None = None) -> list[Change]:
    return [c for c in changes if c.tool == tool and (location is None or c.location == location)]
