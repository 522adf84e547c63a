"""Repository code commits or rolls back the transaction itself.

## What it does
Flags `commit()` and `rollback()` calls on a session or connection inside
repository / data-access code (`repositories/`, `crud.py`, `dao/`, …).

## Why is this bad?
A repository is one step of a business operation. When it commits, the
service can no longer group several repository calls into one unit of work:
a failure halfway leaves the first writes committed and the data
inconsistent. Transaction boundaries belong to the service (or a unit-of-work
dependency around the request), which knows where the operation begins and
ends.

## Example
```python
class UserRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, user: User) -> User:
        self.session.add(user)
        self.session.commit()
        return user
```

## Use instead
```python
class UserRepository:
    def add(self, user: User) -> User:
        self.session.add(user)
        self.session.flush()  # assigns the id; the service commits
        return user


def register_user(session: Session, data: UserCreate) -> User:
    with session.begin():
        return UserRepository(session).add(User(**data.model_dump()))
```

## References
- SQLAlchemy: [When do I construct a Session, when do I commit it?](https://docs.sqlalchemy.org/en/20/orm/session_basics.html#session-faq-whentocreate)
- Django: [Database transactions](https://docs.djangoproject.com/en/stable/topics/db/transactions/)
"""

from __future__ import annotations

import ast

from ..analysis.semantics import db_call_kind, enclosing_function
from .base import Rule


class CommitInRepository(Rule):
    code = "SG105"
    name = "commit-in-repository"
    default_severity = "warning"
    layers = frozenset({"repository"})
    node_types = (ast.Call,)
    scope = "statement"

    def begin(self) -> None:
        # Only `.commit()`/`.rollback()` calls count; an ASCII text holds
        # its attribute names verbatim, so without either word the module
        # opts out of the Call dispatch.
        text = self.ctx.source.text
        self._skip = text.isascii() and "commit" not in text and "rollback" not in text
        if self._skip:
            self.node_types = ()  # type: ignore[misc]

    def visit(self, node: ast.AST) -> None:
        if self._skip:
            return
        assert isinstance(node, ast.Call)
        func = node.func
        if not isinstance(func, ast.Attribute) or func.attr not in ("commit", "rollback"):
            return
        sessions = self.ctx.sessions_in(enclosing_function(node))
        kind = db_call_kind(node, sessions, self.ctx.imports)
        if kind not in ("commit", "rollback"):
            return
        receiver = self.ctx.source.segment(func.value) or "session"
        self.report(
            node,
            f"Repository calls `{receiver}.{func.attr}()`; transaction boundaries belong to the service",
            data={"receiver": receiver, "method": func.attr},
        )
