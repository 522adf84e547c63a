"""A relationship is read per row in a loop over query results that did not eager-load it (N+1 queries).

## What it does
Flags a relationship attribute (`user.items`, `post.author`,
`post.comment_set`) read on the loop variable of a `for` loop, `async for`
or comprehension that iterates the results of a query which does not
eager-load that relationship. The query is recognised in SQLAlchemy
(`session.scalars(select(User))`, `session.execute(select(User)).scalars()`,
`session.query(User)`), SQLModel (`session.exec(select(Hero))`),
Flask-SQLAlchemy (`User.query`) and Django (`User.objects.filter(...)`),
written inline or assigned to a variable earlier in the function.

Relationships come from the workspace index of models (SQLAlchemy
`relationship()`, SQLModel `Relationship()`, Django `ForeignKey`,
`OneToOneField`, `ManyToManyField` and their reverse accessors such as
`comment_set` or a `related_name`). It stays quiet when the query has
`.options(selectinload/joinedload/subqueryload/immediateload/contains_eager/raiseload(User.items))`,
Django `select_related("author")`/`prefetch_related("comments")` (or
`Prefetch(...)`), when the model declares the relationship with an eager
or non-loading strategy (`lazy="selectin"`, `"joined"`, `"subquery"`,
`"immediate"`, `"raise"`, `"noload"`, `"dynamic"`, `"write_only"`), when
the attribute is a column, when options are passed indirectly (a variable,
`*options`), and when the loop iterates a plain list.

The finding is a warning; in async code (an awaited SQLAlchemy query, or
`async for`) it is an error, because there a lazy load does not just cost a
query: it raises (`MissingGreenlet`, Django's `SynchronousOnlyOperation`).

## Why is this bad?
The query loads N rows with one statement; then each access to the lazy
relationship issues one more statement per row: 1 + N round trips where
one or two would do. It is invisible with ten rows in development and
dominates response time with a thousand in production.

## Example
```python
def export_users(session: Session) -> list[dict]:
    users = session.scalars(select(User)).all()
    return [{"email": u.email, "items": [i.name for i in u.items]} for u in users]
```

## Use instead
```python
def export_users(session: Session) -> list[dict]:
    users = session.scalars(select(User).options(selectinload(User.items))).all()
    return [{"email": u.email, "items": [i.name for i in u.items]} for u in users]
```
Django: `Post.objects.select_related("author").prefetch_related("comments")`.

## Fix
Adds the eager-loading option to the query: `.options(selectinload(User.items))`
for to-many and `.options(joinedload(Post.author))` for to-one relationships
in SQLAlchemy and SQLModel, `.prefetch_related("comments")` /
`.select_related("author")` in Django.

## References
- SQLAlchemy: [Relationship Loading Techniques](https://docs.sqlalchemy.org/en/20/orm/queryguide/relationships.html)
- SQLAlchemy: [Preventing Implicit IO when Using AsyncSession](https://docs.sqlalchemy.org/en/20/orm/extensions/asyncio.html#preventing-implicit-io-when-using-asyncsession)
- Django: [`select_related`](https://docs.djangoproject.com/en/stable/ref/models/querysets/#select-related) and [`prefetch_related`](https://docs.djangoproject.com/en/stable/ref/models/querysets/#prefetch-related)
"""

from __future__ import annotations

import ast
from dataclasses import replace

from ..analysis.semantics import FunctionNode, enclosing_function
from ._orm import MODEL_ITERABLES, Query, QueryReader
from ._sql import scopes, source_text, walk_scope
from .base import Rule

# Relationship ``lazy=`` values that load with a plain per-row SELECT.
LAZY_SELECT = frozenset({"select", "True", "true"})


class NPlusOne(Rule):
    code = "SG202"
    name = "n-plus-one"
    default_severity = "warning"
    layers = frozenset({"router", "service", "repository"})
    node_types = (ast.For, ast.AsyncFor, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)
    scope = "statement"
    fix_title = "Eager-load the relationship on the query"
    fix_safe = True

    def begin(self) -> None:
        index = self.ctx.index
        self._enabled = index is not None and bool(self.ctx.model_names)
        self._readers: dict[int, QueryReader] = {}
        self._reported: set[int] = set()

    def _reader(self, func: FunctionNode | None) -> QueryReader:
        key = id(func) if func is not None else 0
        reader = self._readers.get(key)
        if reader is None:
            scope = scopes(self.ctx).function(func)
            reader = self._readers[key] = QueryReader(self.ctx.imports, scope, self._is_model)
        return reader

    def _is_model(self, name: str) -> bool:
        return name in self.ctx.model_names

    def visit(self, node: ast.AST) -> None:
        if not self._enabled:
            return
        if isinstance(node, (ast.For, ast.AsyncFor)):
            self._check(node, node.target, node.iter, node.body, isinstance(node, ast.AsyncFor))
            return
        assert isinstance(node, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp))
        generators = node.generators
        results: list[ast.AST] = [node.key, node.value] if isinstance(node, ast.DictComp) else [node.elt]
        for position, generator in enumerate(generators):
            body: list[ast.AST] = [*generator.ifs, *results]
            for later in generators[position + 1 :]:
                body.extend((later.iter, *later.ifs))
            self._check(node, generator.target, generator.iter, body, bool(generator.is_async))

    def _check(self, loop: ast.AST, target: ast.expr, iterable: ast.expr, body: list, is_async: bool) -> None:
        if not isinstance(iterable, (ast.Name, ast.Call, ast.Await, ast.Subscript)):
            return
        if isinstance(iterable, ast.Call) and isinstance(iterable.func, ast.Name) and iterable.func.id == "enumerate":
            if not (iterable.args and isinstance(target, ast.Tuple) and len(target.elts) == 2):
                return
            iterable, target = iterable.args[0], target.elts[1]
        if not isinstance(target, ast.Name):
            return
        func = enclosing_function(loop)
        query = self._reader(func).read(iterable)
        if query is None or query.shape not in MODEL_ITERABLES or query.columns or not query.model:
            return
        variable = target.id
        seen: set[str] = set()
        for read in _attribute_reads(body, variable):
            if read.attr in seen or id(read) in self._reported:
                continue
            seen.add(read.attr)
            self._check_read(read, query, is_async or query.awaited)

    def _check_read(self, read: ast.Attribute, query: Query, is_async: bool) -> None:
        index = self.ctx.index
        assert index is not None
        relationship = index.relationship(query.model, read.attr)
        if relationship is None:
            return  # a column, a property, a method
        if relationship.lazy is not None and relationship.lazy not in LAZY_SELECT:
            return  # selectin/joined/subquery/raise/noload/dynamic/write_only: no per-row SELECT here
        loaded = query.loaded
        if query.opaque_options or "*" in loaded or read.attr in loaded:
            return
        to_many = relationship.uselist is not False
        if "*fk" in loaded and not to_many and not relationship.reverse:
            return  # Django select_related() with no arguments follows forward foreign keys
        django = query.orm == "django"
        if django:
            loader = "prefetch_related" if to_many else "select_related"
        else:
            loader = "selectinload" if to_many else "joinedload"
        self._reported.add(id(read))
        receiver = source_text(self.ctx.source, read)
        span = self.ctx.span_of(query.node)
        consequence = "N+1 queries"
        if is_async:
            consequence = "in async code the lazy load raises " + ("SynchronousOnlyOperation" if django else "MissingGreenlet")
        self.report(
            read,
            f"`{receiver}` lazy-loads `{query.model}.{read.attr}` once per row of the query on line {span.line} ({consequence})",
            data={
                "model": query.model,
                "relationship": read.attr,
                "loader": loader,
                "query_line": span.line,
                "query_col": span.column,
                "query_end_line": span.end_line,
                "query_end_col": span.end_column,
                "orm": query.orm,
                "to_many": to_many,
            },
            fix_title=f"Eager-load `{query.model}.{read.attr}` with {loader} on the query",
        )
        if is_async and self.code not in self.ctx.settings.severity:
            self.ctx.findings[-1] = replace(self.ctx.findings[-1], severity="error")


def _attribute_reads(body: list, variable: str):
    """``variable.attr`` loads in the loop body, in source order, not inside
    nested functions or classes (they run elsewhere)."""
    found: list[ast.Attribute] = []
    statements = [n for n in body if isinstance(n, ast.stmt)]
    expressions = [n for n in body if not isinstance(n, ast.stmt)]
    for node in (*walk_scope(statements), *(n for e in expressions for n in walk_scope([e]))):  # type: ignore[list-item]
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.ctx, ast.Load)
            and isinstance(node.value, ast.Name)
            and node.value.id == variable
        ):
            found.append(node)
    found.sort(key=lambda n: (n.lineno, n.col_offset))
    return found
