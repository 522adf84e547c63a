"""One operation commits more than once, or commits inside a loop.

## What it does
Flags a function of a router, service or repository that calls `commit()`
on the same session or connection twice on one path through its body, and a
`commit()` inside a `for`, `async for` or `while` loop.

Commits on exclusive paths stay quiet: the two branches of an `if`/`else`,
a `try` body and its `except` handler (retrying or recording a failure after
a rollback), different `match` cases, and a commit followed by `return` or
`raise` before the next one. So do commits in different functions, and
transactions managed by `with session.begin():`.

A loop that commits every N rows behind an explicit guard
(`if i % batch_size == 0:` or `if len(batch) >= BATCH_SIZE:`) is a
deliberate batch job: it is reported with severity `info` only, as a
reminder that a failure leaves the earlier batches committed. A
`while True:` worker loop that commits once per message is one unit of work
per iteration and stays quiet.

## Why is this bad?
A business operation should succeed or fail as a whole. Each extra commit
splits it into independent transactions: when a later step fails, the
earlier ones stay committed and the data is left half-updated (an order
without its lines, a debit without its credit). Committing per row in a loop
also turns one transaction into N round trips and N fsyncs on the database.

## Example
```python
def place_order(session: Session, cart: Cart) -> Order:
    order = Order(user_id=cart.user_id)
    session.add(order)
    session.commit()
    for line in cart.lines:
        session.add(OrderLine(order_id=order.id, sku=line.sku))
        session.commit()
    return order
```

## Use instead
```python
def place_order(session: Session, cart: Cart) -> Order:
    with session.begin():
        order = Order(user_id=cart.user_id)
        session.add(order)
        session.flush()  # assigns order.id inside the transaction
        session.add_all(OrderLine(order_id=order.id, sku=line.sku) for line in cart.lines)
    return order
```

## References
- SQLAlchemy: [Managing Transactions](https://docs.sqlalchemy.org/en/20/orm/session_transaction.html)
- SQLAlchemy: [When do I construct a Session, when do I commit it?](https://docs.sqlalchemy.org/en/20/orm/session_basics.html#session-faq-whentocreate)
- Django: [Controlling transactions explicitly](https://docs.djangoproject.com/en/stable/topics/db/transactions/#controlling-transactions-explicitly)
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, replace

from ..analysis.semantics import FunctionNode, db_call_kind
from ._sql import source_text
from .base import Rule

_LOOPS = (ast.For, ast.AsyncFor, ast.While)
_LOOP_TEXT = re.compile(r"\b(?:for|while)\b")
_TERMINATORS = (ast.Return, ast.Raise)


@dataclass(frozen=True)
class _Step:
    """Where a statement sits: the compound statement holding it, which of
    its blocks (``body``, ``orelse``, ``handler:2``, ``case:0``…), and its
    index in that block."""

    owner: ast.stmt | None  # None for the function body
    block: str
    index: int


@dataclass
class _Commit:
    call: ast.Call
    receiver: str
    path: tuple[_Step, ...]
    blocks: tuple[list[ast.stmt], ...]  # the statement list of each step
    loop: ast.stmt | None  # the innermost enclosing loop, when any
    batch_guard: bool


class MultipleCommits(Rule):
    code = "SG203"
    name = "multiple-commits"
    default_severity = "warning"
    layers = frozenset({"router", "service", "repository"})
    node_types = (ast.FunctionDef, ast.AsyncFunctionDef)
    scope = "statement"

    def visit(self, node: ast.AST) -> None:
        assert isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        if not self._worth_checking(node):
            return  # the common case, decided on a scan of the source text
        commits = self._commits(node)
        if not commits:
            return
        straight: list[_Commit] = []
        for commit in commits:
            if commit.loop is not None:
                if not _leaves_loop(commit):
                    self._report_loop(node, commit)
            else:
                straight.append(commit)
        reported: set[int] = set()
        for later_index, later in enumerate(straight):
            for earlier in straight[:later_index]:
                if earlier.receiver != later.receiver or id(later.call) in reported:
                    continue
                if _exclusive(earlier, later):
                    continue
                reported.add(id(later.call))
                self.report(
                    later.call,
                    f"`{later.receiver}.commit()` commits again in `{node.name}()` "
                    f"(first commit on line {earlier.call.lineno}): one operation is split into separate transactions",
                    data={"session": later.receiver, "kind": "multiple", "first_line": earlier.call.lineno, "function": node.name},
                )

    def begin(self) -> None:
        self._any_commit = "commit" in self.ctx.source.text
        if not self._any_commit:
            self.node_types = ()  # type: ignore[misc]  # visit() would return at once for every function

    def _worth_checking(self, func: FunctionNode) -> bool:
        """At least two commits, or one and a loop, in the function's text."""
        if not self._any_commit:
            return False
        lines = self.ctx.source.lines[func.lineno - 1 : func.end_lineno or func.lineno]
        commits = sum(line.count("commit") for line in lines)
        if commits == 0:
            return False
        return commits > 1 or any(_LOOP_TEXT.search(line) for line in lines)

    def _commit_calls(self, stmt: ast.stmt) -> list[ast.Call]:
        """``x.commit()`` calls in the statement's own expressions; the
        expression walk only runs when the statement's text mentions one."""
        header = _header_span(stmt)
        if header is None:
            return []
        lines = self.ctx.source.lines[header[0] - 1 : header[1]]
        if not any("commit" in line for line in lines):
            return []
        return [
            call
            for call in _statement_calls(stmt)
            if isinstance(call.func, ast.Attribute) and call.func.attr == "commit" and not call.args
        ]

    def _report_loop(self, func: FunctionNode, commit: _Commit) -> None:
        assert commit.loop is not None
        loop_kind = {ast.For: "for", ast.AsyncFor: "async for", ast.While: "while"}[type(commit.loop)]
        if commit.batch_guard:
            message = (
                f"`{commit.receiver}.commit()` commits every batch inside the `{loop_kind}` loop of `{func.name}()`: "
                "a failure leaves the earlier batches committed"
            )
        else:
            message = (
                f"`{commit.receiver}.commit()` inside the `{loop_kind}` loop of `{func.name}()` commits once per iteration: "
                "commit once after the loop"
            )
        self.report(
            commit.call,
            message,
            data={"session": commit.receiver, "kind": "batch" if commit.batch_guard else "loop", "loop_line": commit.loop.lineno, "function": func.name},
        )
        if commit.batch_guard and self.code not in self.ctx.settings.severity:
            self.ctx.findings[-1] = replace(self.ctx.findings[-1], severity="info")

    def _commits(self, func: FunctionNode) -> list[_Commit]:
        """Every ``<session>.commit()`` in the function body with its path,
        without descending into nested functions or classes."""
        sessions = self.ctx.sessions_in(func)
        found: list[_Commit] = []
        # (statements, path so far, blocks so far, innermost loop, batch guard)
        stack: list[tuple[list[ast.stmt], tuple[_Step, ...], tuple[list[ast.stmt], ...], ast.stmt | None, bool, ast.stmt | None, str]] = [
            (func.body, (), (), None, False, None, "body")
        ]
        while stack:
            block, path, blocks, loop, guard, owner, label = stack.pop()
            for index, stmt in enumerate(block):
                here = (*path, _Step(owner, label, index))
                here_blocks = (*blocks, block)
                for call in self._commit_calls(stmt):
                    if db_call_kind(call, sessions, self.ctx.imports) == "commit":
                        receiver = source_text(self.ctx.source, call.func.value) or "session"  # type: ignore[attr-defined]
                        found.append(_Commit(call, receiver, here, here_blocks, loop, guard))
                if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                    continue
                for name, children, child_loop, child_guard in _child_blocks(stmt, loop, guard):
                    stack.append((children, here, here_blocks, child_loop, child_guard, stmt, name))
        found.sort(key=lambda c: (c.call.lineno, c.call.col_offset))
        return found


def _child_blocks(stmt: ast.stmt, loop: ast.stmt | None, guard: bool):
    """(label, statements, innermost loop, batch guard) of each block of a
    compound statement."""
    starts_loop = isinstance(stmt, _LOOPS) and not _is_forever(stmt)
    for name in ("body", "orelse", "finalbody"):
        children = getattr(stmt, name, None)
        if not (isinstance(children, list) and children and isinstance(children[0], ast.stmt)):
            continue
        if name == "body" and starts_loop:
            yield name, children, stmt, False
        elif name == "body" and isinstance(stmt, ast.If) and loop is not None and _is_batch_guard(stmt.test):
            yield name, children, loop, True
        else:  # a loop's else block runs once, after the loop
            yield name, children, loop, guard
    for position, handler in enumerate(getattr(stmt, "handlers", ()) or ()):
        yield f"handler:{position}", handler.body, loop, guard
    for position, case in enumerate(getattr(stmt, "cases", ()) or ()):
        yield f"case:{position}", case.body, loop, guard


def _header_span(stmt: ast.stmt) -> tuple[int, int] | None:
    """Lines of the statement's own expressions (a compound statement's
    header, a simple statement whole); None when it has none to search."""
    if isinstance(stmt, (ast.Expr, ast.Return, ast.Assign, ast.AnnAssign, ast.AugAssign)):
        return stmt.lineno, stmt.end_lineno or stmt.lineno
    if isinstance(stmt, (ast.If, ast.While)):
        header: ast.AST = stmt.test
    elif isinstance(stmt, (ast.For, ast.AsyncFor)):
        header = stmt.iter
    elif isinstance(stmt, (ast.With, ast.AsyncWith)) and stmt.items:
        header = stmt.items[-1].context_expr
    else:
        return None
    return stmt.lineno, getattr(header, "end_lineno", None) or stmt.lineno


def _statement_calls(stmt: ast.stmt) -> list[ast.Call]:
    """Calls in the statement's own expressions (not in nested blocks)."""
    roots: list[ast.AST] = []
    if isinstance(stmt, (ast.Expr, ast.Return, ast.Assign, ast.AnnAssign, ast.AugAssign)):
        if stmt.value is not None:
            roots.append(stmt.value)
    elif isinstance(stmt, (ast.If, ast.While)):
        roots.append(stmt.test)
    elif isinstance(stmt, (ast.For, ast.AsyncFor)):
        roots.append(stmt.iter)
    elif isinstance(stmt, (ast.With, ast.AsyncWith)):
        roots.extend(item.context_expr for item in stmt.items)
    calls: list[ast.Call] = []
    while roots:
        node = roots.pop()
        if isinstance(node, ast.Call):
            calls.append(node)
        if isinstance(node, ast.Lambda):
            continue
        roots.extend(ast.iter_child_nodes(node))
    return calls


def _leaves_loop(commit: _Commit) -> bool:
    """A ``break``/``return``/``raise`` follows the commit inside its loop
    (a retry loop): the loop commits at most once."""
    for level in range(len(commit.path) - 1, -1, -1):
        step = commit.path[level]
        block = commit.blocks[level]
        if any(isinstance(stmt, (ast.Break, *_TERMINATORS)) for stmt in block[step.index + 1 :]):
            return True
        if step.owner is commit.loop:
            break
    return False


def _is_forever(loop: ast.stmt) -> bool:
    """``while True:`` — a worker loop: each iteration is its own unit of work."""
    return isinstance(loop, ast.While) and isinstance(loop.test, ast.Constant) and bool(loop.test.value)


def _is_batch_guard(test: ast.expr) -> bool:
    """``i % batch_size == 0`` / ``len(batch) >= BATCH_SIZE``."""
    for node in ast.walk(test):
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod):
            return True
        if isinstance(node, ast.Compare) and isinstance(node.left, ast.Call):
            func = node.left.func
            if isinstance(func, ast.Name) and func.id == "len" and all(isinstance(op, (ast.GtE, ast.Gt, ast.Eq)) for op in node.ops):
                return True
    return False


def _exclusive(earlier: _Commit, later: _Commit) -> bool:
    """Whether no single run of the function reaches ``earlier`` and then
    ``later``: they sit in exclusive blocks of the same statement, or a
    ``return``/``raise`` after ``earlier`` ends the run before ``later``."""
    depth = 0
    while depth < len(earlier.path) and depth < len(later.path) and earlier.path[depth] == later.path[depth]:
        depth += 1
    if depth >= len(earlier.path) or depth >= len(later.path):
        return False  # one commit is in the other's statement header
    first, second = earlier.path[depth], later.path[depth]
    same_block = first.block == second.block
    if not same_block and first.owner is not None and _blocks_exclusive(first.owner, first.block, second.block):
        return True
    for level in range(depth, len(earlier.path)):
        step = earlier.path[level]
        block = earlier.blocks[level]
        limit = second.index if level == depth and same_block else len(block)
        if any(isinstance(stmt, _TERMINATORS) for stmt in block[step.index + 1 : limit]):
            return True
    return False


def _blocks_exclusive(owner: ast.stmt, first: str, second: str) -> bool:
    pair = {first, second}
    if isinstance(owner, ast.If):
        return pair == {"body", "orelse"}
    if isinstance(owner, (ast.Try, getattr(ast, "TryStar", ast.Try))):
        if "finalbody" in pair:
            return False
        handlers = {b for b in pair if b.startswith("handler:")}
        if len(handlers) == 2:
            return True  # two different except clauses
        if handlers and "body" in pair:
            return True  # the try body failed, the handler recovers
        return bool(handlers) and "orelse" in pair  # else runs only when no handler did
    if isinstance(owner, ast.Match):
        return all(b.startswith("case:") for b in pair)
    return False
