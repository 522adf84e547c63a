"""A migration that changes the schema cannot be rolled back.

## What it does
Flags an Alembic revision whose `upgrade()` changes the schema while its
`downgrade()` is missing or empty (`pass`, a docstring, `...`), and a Django
`RunPython` without `reverse_code` or `RunSQL` without `reverse_sql`.

Revisions that change nothing (merge points, empty revisions) and data-only
revisions (`op.execute("UPDATE ...")`) may keep an empty downgrade; a
downgrade that raises on purpose says the revision is irreversible and is
left alone.

## Why is this bad?
A deploy that goes wrong is undone with `alembic downgrade -1` or `manage.py
migrate app 0003`. A migration without a way back turns that into a manual
repair of the production schema under pressure: Alembic marks the revision
as downgraded while the tables stay as they were, and Django refuses to
unapply the migration at all (`IrreversibleError`), blocking every rollback
past it.

## Example
```python
def upgrade() -> None:
    op.add_column("books", sa.Column("isbn", sa.String(length=13), nullable=True))


def downgrade() -> None:
    pass
```

```python
operations = [
    migrations.RunPython(fill_slugs),
]
```

## Use instead
```python
def downgrade() -> None:
    op.drop_column("books", "isbn")
```

```python
operations = [
    # Nothing to undo: the column the slugs live in is dropped by the previous migration's reverse.
    migrations.RunPython(fill_slugs, reverse_code=migrations.RunPython.noop),
]
```

## References
- Alembic: [Downgrading](https://alembic.sqlalchemy.org/en/latest/tutorial.html#downgrading)
- Django: [RunPython](https://docs.djangoproject.com/en/stable/ref/migration-operations/#runpython) and [RunSQL](https://docs.djangoproject.com/en/stable/ref/migration-operations/#runsql)
"""

from __future__ import annotations

import ast

from ..migrations.history import (
    DDL_PATTERN,
    AlembicOp,
    looks_like_alembic_revision,
    parse_alembic_revision,
    parse_django_migration,
)
from .base import Rule, Span

_DESCRIBE = {
    "create_table": "create table {table}",
    "drop_table": "drop table {table}",
    "add_column": "add column {table}.{column}",
    "drop_column": "drop column {table}.{name}",
    "alter_column": "alter column {table}.{name}",
    "create_index": "create index {name}",
    "drop_index": "drop index {name}",
    "rename_table": "rename table {table}",
}


def _describe(op: AlembicOp) -> str:
    template = _DESCRIBE.get(op.kind, op.kind.replace("_", " ") + (" on {table}" if op.table else ""))
    return template.format(table=op.table, name=op.name, column=op.column.name if op.column else op.name)


class IrreversibleMigration(Rule):
    code = "SG602"
    name = "irreversible-migration"
    default_severity = "warning"
    layers = frozenset({"migration"})

    def begin(self) -> None:
        tree = self.ctx.tree
        if looks_like_alembic_revision(tree):
            self._alembic(tree)
            return
        if any(isinstance(stmt, ast.ClassDef) and stmt.name == "Migration" for stmt in tree.body):
            self._django(tree)

    def _function(self, name: str) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
        return next(
            (s for s in self.ctx.tree.body if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef)) and s.name == name),
            None,
        )

    def _name_span(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> Span:
        text = self.ctx.source.line_text(node.lineno)
        start = text.find(node.name, self.ctx.source.char_column(node.lineno, node.col_offset))
        if start < 0:
            return self.ctx.span_of(node)
        return Span(node.lineno, start, node.lineno, start + len(node.name))

    def _alembic(self, tree: ast.Module) -> None:
        revision = parse_alembic_revision(tree, self.ctx.source.relative)
        if revision is None or revision.downgrade == "ops" or not revision.changes_schema:
            return
        undone = []
        for op in revision.upgrade_ops:
            if op.kind == "execute" and op.sql and DDL_PATTERN.search(op.sql):
                match = DDL_PATTERN.search(op.sql)
                undone.append(f"the raw SQL on {(match.group(1) or match.group(2)) if match else 'its tables'}")
            elif op.kind not in ("noop", "execute"):
                undone.append(_describe(op))
        undone = undone[:3]
        what = ", ".join(undone) or "its schema changes"
        data = {"tool": "alembic", "revision": revision.revision, "downgrade": revision.downgrade}
        if revision.downgrade == "missing":
            upgrade = self._function("upgrade")
            where: ast.AST | Span = self._name_span(upgrade) if upgrade is not None else Span(revision.line, 0, revision.line, 0)
            self.report(where, f"Revision {revision.revision} has no downgrade(): `alembic downgrade` cannot undo {what}", data=data)
            return
        downgrade = self._function("downgrade")
        assert downgrade is not None
        self.report(
            self._name_span(downgrade),
            f"downgrade() of revision {revision.revision} is empty: `alembic downgrade` cannot undo {what}",
            data=data,
        )

    def _django(self, tree: ast.Module) -> None:
        migration = parse_django_migration(tree, self.ctx.source.relative)
        if migration is None:
            return
        for op in migration.operations:
            if op.kind not in ("RunPython", "RunSQL") or op.reversible is not False:
                continue
            span = Span(
                op.line,
                self.ctx.source.char_column(op.line, op.col),
                op.end_line,
                self.ctx.source.char_column(op.end_line, op.end_col),
            )
            if op.kind == "RunPython":
                message = (
                    "RunPython without reverse_code cannot be unapplied; pass reverse_code "
                    "(migrations.RunPython.noop when there is nothing to undo)"
                )
            else:
                message = (
                    "RunSQL without reverse_sql cannot be unapplied; pass reverse_sql "
                    "(migrations.RunSQL.noop when there is nothing to undo)"
                )
            self.report(span, message, data={"tool": "django", "operation": op.kind, "migration": f"{migration.app_label}.{migration.name}"})
