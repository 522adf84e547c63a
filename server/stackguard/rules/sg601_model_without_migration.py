"""A model's table or column differs from what the migration history builds.

## What it does
Compares the tables, columns (type, nullability, server defaults), indexes,
unique constraints and foreign keys the ORM models declare with the schema
the project's migrations build, and reports the model class or column that
is out of sync. For Alembic projects the history is read from the `op.*`
calls of every revision under `versions/`, following `down_revision` chains
through branches and merges; for Django, from the operations of each app's
migrations in dependency order. Nothing is run and no database is needed.

Reported: a model whose table no migration creates, a column no migration
adds, a column whose type or nullability differs, a server default, an
`index=True`/`unique=True`/foreign key or an `Index`/`UniqueConstraint` of
`__table_args__` the migrations never created, a column the migrations
still create but the model no longer declares, and Django fields whose
class, `null`, `unique` or literal `max_length` differ.

## Why is this bad?
The code and the database disagree. The application runs against its test
database built with `create_all()`, then fails in staging or production
where the schema comes from the migrations: `no such column`, `NOT NULL
constraint failed`, a missing unique index that lets duplicates in. The
longer a model change waits for its migration, the more changes pile into
one hand-edited revision.

## Example
```python
class Book(Base):
    __tablename__ = "books"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    isbn: Mapped[str | None] = mapped_column(String(13), unique=True)  # no migration adds it
```

## Use instead
Generate the migration with the model change and commit both together:

```python
def upgrade() -> None:
    with op.batch_alter_table("books", schema=None) as batch_op:
        batch_op.add_column(sa.Column("isbn", sa.String(length=13), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_books_isbn"), ["isbn"])


def downgrade() -> None:
    with op.batch_alter_table("books", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_books_isbn"), type_="unique")
        batch_op.drop_column("isbn")
```

## Fix
"Generate a migration" (`source.generateMigration`, command
`stackguard.generateMigration`) writes the Alembic revision from the same
comparison, with `down_revision` set to the current head, or runs Django's
`makemigrations` for the app. Stays quiet where the comparison cannot be
trusted: tables created by raw SQL, histories with operations it cannot
follow, and removed columns of models that inherit columns from classes
defined elsewhere.

## References
- Alembic: [Auto generating migrations](https://alembic.sqlalchemy.org/en/latest/autogenerate.html)
- Django: [Migrations](https://docs.djangoproject.com/en/stable/topics/migrations/)
"""

from __future__ import annotations

import ast

from ..migrations.diff import project_diff
from .base import Rule, Span


class ModelWithoutMigration(Rule):
    code = "SG601"
    name = "model-without-migration"
    default_severity = "warning"
    node_types = (ast.ClassDef,)
    scope = "statement"
    fix_title = "Generate a migration"
    fix_safe = False

    def begin(self) -> None:
        self._models: dict[str, int] | None = None
        index = self.ctx.index
        if index is None or self.ctx.layer in ("test", "migration"):
            return
        summary = index.summaries.get(self.ctx.source.relative)
        if summary is None or not summary.models:
            return
        self._models = {model.name: model.line for model in summary.models}

    def visit(self, node: ast.AST) -> None:
        models = self._models
        if not models:
            return
        assert isinstance(node, ast.ClassDef)
        if models.get(node.name) != node.lineno or not isinstance(getattr(node, "sg_parent", None), ast.Module):
            return
        index = self.ctx.index
        assert index is not None
        changes = project_diff(index).for_model(self.ctx.source.relative, node.name)
        if not changes:
            return
        root = str(index.root) if index.root is not None else None
        statements = {stmt.lineno: stmt for stmt in node.body}
        for change in changes:
            if change.line == node.lineno:
                where: ast.AST | Span | None = None
            elif change.column is not None:
                where = statements.get(change.line)
            else:  # an Index/UniqueConstraint of __table_args__
                where = _call_at(node, change.line)
            self.report(where or self._class_name(node), change.message, data=change.data(root))

    def _class_name(self, node: ast.ClassDef) -> Span:
        text = self.ctx.source.line_text(node.lineno)
        start = text.find(node.name, self.ctx.source.char_column(node.lineno, node.col_offset))
        if start < 0:
            return self.ctx.span_of(node)
        return Span(node.lineno, start, node.lineno, start + len(node.name))


def _call_at(node: ast.ClassDef, line: int) -> ast.Call | None:
    """The outermost call starting on ``line`` in the class body."""
    for stmt in node.body:
        if stmt.lineno <= line <= (stmt.end_lineno or stmt.lineno):
            return next((sub for sub in ast.walk(stmt) if isinstance(sub, ast.Call) and sub.lineno == line), None)
    return None
