"""SQL is built by formatting values into the query string.

## What it does
Flags SQL strings built with an f-string, `%`, `str.format()` or `+`/`+=`
concatenation of variable values that reach an API which executes SQL:
SQLAlchemy `text()`, `session.execute()`, `conn.exec_driver_sql()`; DB-API
cursors and connections, sync and async (`cursor.execute()`,
`executemany()`, `await cur.execute()`); asyncpg (`conn.fetch()`,
`fetchrow()`, `fetchval()`, `execute()`); Django `Model.objects.raw()`,
`.extra(where=…, select=…)`, `RawSQL()` and `connection.cursor().execute()`.
The string may be built in a local variable first
(`query = f"SELECT … {user_id}"`, `query += " AND name = '" + name + "'"`).

Values that are fixed in code stay quiet: literals, module-level constants,
imported and ALL_CAPS names, identifier attributes such as
`Model.__tablename__` or `self.table_name`, numbers (`int(x)`, `len(ids)`,
parameters annotated `int`), allow-list lookups (`SORT_COLUMNS[key]`) and
placeholder lists (`", ".join(["%s"] * len(ids))`), and names checked
against a constant allow-list first (`if table not in TABLES: raise …`,
`assert table in TABLES`, `validate_table(table)`). So is `%` used the
DB-API way, with the values passed separately: `cur.execute("… %s", (x,))`.

## Why is this bad?
A value formatted into SQL is parsed as SQL. Any value that can come from a
user (a path parameter, a form field, a row written by someone else) can
close the string literal and append its own statements: SQL injection, the
classic way to read or destroy a whole database. Bound parameters are sent
separately from the SQL text and are never parsed as SQL; they also let the
database reuse the query plan.

## Example
```python
def find_user(session: Session, email: str) -> User | None:
    row = session.execute(text(f"SELECT * FROM users WHERE email = '{email}'"))
    return row.first()


def find_orders(cur, user_id: str) -> list[tuple]:
    query = "SELECT * FROM orders WHERE user_id = " + user_id
    cur.execute(query)
    return cur.fetchall()
```

## Use instead
```python
def find_user(session: Session, email: str) -> User | None:
    row = session.execute(text("SELECT * FROM users WHERE email = :email"), {"email": email})
    return row.first()


def find_orders(cur, user_id: str) -> list[tuple]:
    cur.execute("SELECT * FROM orders WHERE user_id = %s", (user_id,))
    return cur.fetchall()
```
Identifiers (table or column names) cannot be bound: pick them from a
constant allow-list (`ORDER_COLUMNS[sort]`), or compose them with the
driver's identifier API (`psycopg.sql.Identifier`).

## Fix
Replaces the interpolated values with the driver's placeholders (`:name` for
SQLAlchemy `text()`, `%s`/`%(name)s` for psycopg, PyMySQL and Django, `?` for
sqlite3, `$1` for asyncpg) and passes the values as parameters. The fix is
applied automatically only when the string is written inline in the call;
when it is assembled in a variable first the fix is offered for review. A
value in an identifier or clause position (`FROM {table}`,
`ORDER BY {column}`, `WHERE {conditions}`) gets no fix: a parameter cannot
stand for SQL text.

## References
- OWASP: [SQL Injection Prevention Cheat Sheet](https://cheatsheetseries.owasp.org/cheatsheets/SQL_Injection_Prevention_Cheat_Sheet.html)
- SQLAlchemy: [Using Textual SQL](https://docs.sqlalchemy.org/en/20/core/tutorial.html#using-textual-sql)
- Python: [sqlite3 placeholders](https://docs.python.org/3/library/sqlite3.html#sqlite3-placeholders)
- psycopg: [Passing parameters to SQL queries](https://www.psycopg.org/psycopg3/docs/basic/params.html)
- Django: [Performing raw SQL queries](https://docs.djangoproject.com/en/stable/topics/db/sql/)
"""

from __future__ import annotations

import ast
from dataclasses import replace

from ..analysis.semantics import (
    FunctionNode,
    dotted_name,
    enclosing_function,
    session_expression,
)
from ..config import LAYER_NAMES
from ._sql import (
    Interpolation,
    Scope,
    constant_text,
    identifier_slot,
    interpolation,
    is_str_literal,
    looks_like_sql,
    scopes,
    source_text,
)
from .base import Rule

TEXT_CONSTRUCTORS = frozenset(
    {
        "sqlalchemy.text",
        "sqlalchemy.sql.text",
        "sqlalchemy.sql.expression.text",
        "sqlalchemy.sql.elements.TextClause",
        "sqlmodel.text",
    }
)
RAW_SQL_CONSTRUCTORS = frozenset({"django.db.models.expressions.RawSQL", "django.db.models.RawSQL"})
EXECUTE_METHODS = frozenset({"execute", "executemany", "executescript", "exec_driver_sql"})
ASYNCPG_METHODS = frozenset({"fetch", "fetchrow", "fetchval"})
SQL_KEYWORDS = frozenset({"sql", "query", "statement", "raw_query", "operation", "sql_query"})
EXTRA_KEYWORDS = ("where", "select")

DBAPI_QMARK_DRIVERS = ("sqlite3", "aiosqlite")
DBAPI_FORMAT_DRIVERS = ("psycopg", "psycopg2", "pymysql", "MySQLdb", "aiomysql", "aiopg", "mysql", "asyncmy")
# Substrings of every method or function name the visit reacts to:
# EXECUTE_METHODS ("exec"), ASYNCPG_METHODS ("fetch"), raw, extra, text, RawSQL.
_VISITED_WORDS = ("exec", "fetch", "raw", "RawSQL", "extra", "text")
STYLE_WORDS = {"fstring": "an f-string", "percent": "`%` formatting", "format": "`str.format()`", "concat": "string concatenation"}


class SqlStringInterpolation(Rule):
    code = "SG201"
    name = "sql-string-interpolation"
    default_severity = "error"
    layers = frozenset(LAYER_NAMES) - {"test"}
    node_types = (ast.Call,)
    scope = "statement"
    fix_title = "Bind the interpolated values as query parameters"
    fix_safe = True

    def begin(self) -> None:
        self._reported: set[int] = set()
        self._drivers: set[str] | None = None
        # Every call the visit looks at names one of these words, and an
        # ASCII text holds its identifiers verbatim (a non-ASCII one may
        # spell them with characters that normalise to them), so most
        # modules (models, schemas, services) opt out of the Call dispatch.
        text = self.ctx.source.text
        self._skip = text.isascii() and not any(word in text for word in _VISITED_WORDS)
        if self._skip:
            self.node_types = ()  # type: ignore[misc]

    def _scope(self, func: FunctionNode | None) -> Scope:
        return scopes(self.ctx).function(func)

    # -- the visit ---------------------------------------------------------

    def visit(self, node: ast.AST) -> None:
        if self._skip:
            return
        assert isinstance(node, ast.Call)
        func = node.func
        if isinstance(func, ast.Attribute):
            method = func.attr
            if method in EXECUTE_METHODS or method in ASYNCPG_METHODS:
                self._check_execute(node, func)
            elif method == "raw":
                self._check_django_raw(node, func)
            elif method == "extra":
                self._check_django_extra(node)
            elif method == "text" or method == "RawSQL":
                self._check_constructor(node)
        elif isinstance(func, ast.Name) and func.id in ("text", "RawSQL"):
            self._check_constructor(node)

    def _sql_argument(self, call: ast.Call) -> ast.expr | None:
        if call.args:
            first = call.args[0]
            return None if isinstance(first, ast.Starred) else first
        for keyword in call.keywords:
            if keyword.arg in SQL_KEYWORDS:
                return keyword.value
        return None

    def _check_constructor(self, call: ast.Call) -> None:
        resolved = self.ctx.imports.resolve(call.func)
        dotted = dotted_name(call.func) or ""
        if resolved in TEXT_CONSTRUCTORS or dotted == "db.text" or dotted.endswith(".db.text"):
            api, callee = "sqlalchemy", "text()"
        elif resolved in RAW_SQL_CONSTRUCTORS:
            api, callee = "django_raw", "RawSQL()"
        else:
            return
        argument = self._sql_argument(call)
        if argument is not None:
            self._check_argument(call, argument, api, callee, need_sql_text=False)

    def _check_execute(self, call: ast.Call, func: ast.Attribute) -> None:
        argument = self._sql_argument(call)
        if argument is None or not _may_build_string(argument):
            return  # the common case: a literal query with bound parameters, or select(...)
        receiver = func.value
        known = self._is_db_receiver(receiver, call)
        api = self._execute_api(call, func, receiver)
        self._check_argument(call, argument, api, (receiver, f".{func.attr}()"), need_sql_text=not known)

    def _check_django_raw(self, call: ast.Call, func: ast.Attribute) -> None:
        argument = self._sql_argument(call)
        if argument is None or isinstance(argument, ast.Constant):
            return
        base = func.value
        while isinstance(base, ast.Call) and isinstance(base.func, ast.Attribute):
            base = base.func.value
        is_manager = isinstance(base, ast.Attribute) and base.attr == "objects"
        self._check_argument(call, argument, "django_raw", (func.value, ".raw()"), need_sql_text=not is_manager)

    def _check_django_extra(self, call: ast.Call) -> None:
        for keyword in call.keywords:
            if keyword.arg not in EXTRA_KEYWORDS:
                continue
            value = keyword.value
            fragments = value.elts if isinstance(value, (ast.List, ast.Tuple)) else [v for v in value.values if v is not None] if isinstance(value, ast.Dict) else [value]
            for fragment in fragments:
                if not isinstance(fragment, ast.Constant):
                    self._check_argument(call, fragment, "django_raw", f".extra({keyword.arg}=…)", need_sql_text=False)

    # -- receivers and APIs ------------------------------------------------

    def _is_db_receiver(self, receiver: ast.expr, call: ast.Call) -> bool:
        func = enclosing_function(call)
        if session_expression(receiver, self.ctx.sessions_in(func)):
            return True
        if isinstance(receiver, ast.Call) and isinstance(receiver.func, ast.Attribute) and receiver.func.attr == "cursor":
            return True  # connection.cursor().execute(...)
        resolved = self.ctx.imports.resolve(receiver) or ""
        return resolved.startswith(("django.db.connection", "sqlite3", "psycopg", "asyncpg"))

    def _module_drivers(self) -> set[str]:
        if self._drivers is None:
            roots = {qualified.split(".", 1)[0] for qualified in self.ctx.imports.names.values()}
            self._drivers = roots
        return self._drivers

    def _execute_api(self, call: ast.Call, func: ast.Attribute, receiver: ast.expr) -> str:
        roots = self._module_drivers()
        if func.attr in ASYNCPG_METHODS:
            return "asyncpg"
        if func.attr == "exec_driver_sql":
            return "sqlalchemy"
        receiver_text = (dotted_name(receiver) or "").rsplit(".", 1)[-1].lower()
        cursor_like = "cur" in receiver_text or (isinstance(receiver, ast.Call) and isinstance(receiver.func, ast.Attribute) and receiver.func.attr == "cursor")
        if "django" in roots and (cursor_like or not roots & {"sqlalchemy", "sqlmodel", "flask_sqlalchemy"}):
            return "django_cursor"
        if cursor_like:
            return "dbapi"
        if "asyncpg" in roots and isinstance(getattr(call, "sg_parent", None), ast.Await):
            return "asyncpg"
        if roots & {"sqlalchemy", "sqlmodel", "flask_sqlalchemy"}:
            return "sqlalchemy"
        return "dbapi"

    def _placeholder(self, api: str, method: str, found: Interpolation) -> str:
        if api == "asyncpg":
            return "$n"
        if api in ("django_raw", "django_cursor"):
            return "%s"
        if api == "sqlalchemy" and method != "exec_driver_sql":
            return ":name"
        roots = self._module_drivers()
        if roots & set(DBAPI_QMARK_DRIVERS) and not roots & set(DBAPI_FORMAT_DRIVERS):
            return "?"
        if not roots & set(DBAPI_FORMAT_DRIVERS) and self.ctx.profile is not None:
            databases = {name.lower() for name in self.ctx.profile.names("databases")}
            if any("sqlite" in name for name in databases):
                return "?"
        if found.style == "percent" and "%(" in found.text:
            return "%(name)s"
        return "%s"

    # -- the finding -------------------------------------------------------

    def _check_argument(
        self,
        call: ast.Call,
        argument: ast.expr,
        api: str,
        callee: str | tuple[ast.expr, str],
        *,
        need_sql_text: bool,
    ) -> None:
        """``callee`` names the API in the message: a string, or (receiver
        node, method suffix), rendered only when there is a finding."""
        if id(argument) in self._reported or not _may_build_string(argument):
            return
        scope = self._scope(enclosing_function(call))
        variable: str | None = None
        found: Interpolation | None
        if isinstance(argument, ast.Name):
            variable = argument.id
            found = self._variable_interpolation(argument.id, call.lineno, scope)
        else:
            found = interpolation(argument, scope)
        if found is None:
            return
        if need_sql_text and not looks_like_sql(found.text):
            return
        self._reported.add(id(argument))
        source = self.ctx.source
        if isinstance(callee, tuple):
            callee = (source_text(source, callee[0]) or "conn") + callee[1]
        values = [source_text(source, v) for v in found.values]
        shown = ", ".join(f"`{_short(v)}`" for v in values[:3]) + (" …" if len(values) > 3 else "")
        how = STYLE_WORDS[found.style]
        method = call.func.attr if isinstance(call.func, ast.Attribute) else ""
        verb = "is" if len(values) == 1 else "are"
        identifier = identifier_slot(found)
        if identifier:
            problem = (
                f"{shown} {verb} formatted into the query as SQL text (an identifier or a clause), "
                "which a parameter cannot replace: build it from constant fragments or an allow-list"
            )
        else:
            problem = f"{shown} {verb} formatted into the query instead of bound as a parameter"
        if variable is None:
            message = f"SQL built with {how} reaches `{callee}`: {problem}"
        else:
            message = f"`{variable}` is SQL built with {how} (line {found.node.lineno}) and reaches `{callee}`: {problem}"
        self.report(
            argument,
            message,
            data={
                "api": api,
                "style": found.style,
                "placeholder": self._placeholder(api, method, found),
                "variable": variable,
                "sql_line": found.node.lineno,
                "call_line": call.lineno,
                "values": values,
            },
            fixable=False if identifier else None,
        )
        if identifier:
            return
        inline_literal = variable is None and found.node is argument and _literal_template(argument)
        if not inline_literal:
            # Only the single inline expression is rewritten without review.
            self.ctx.findings[-1] = replace(self.ctx.findings[-1], fixable=False)

    def _variable_interpolation(self, name: str, line: int, scope: Scope) -> Interpolation | None:
        """The first binding of ``name`` (before ``line``) that formats a
        variable value into the string; None when every binding is constant
        text or the name is not built here (a parameter, a call result)."""
        bindings = scope.string_bindings(name, line)
        if not bindings:
            return None
        if not any(b.kind in ("value", "aug") and b.value is not None and _builds_string(b.value) for b in bindings):
            return None  # not a string assembled here: a parameter, a call result, text()
        texts: list[str] = []
        first: Interpolation | None = None
        values: list[ast.expr] = []
        for binding in bindings:
            if binding.value is None:
                continue
            assume = frozenset({name})
            if binding.kind == "value":
                found = interpolation(binding.value, scope, assume)
                texts.append(constant_text(binding.value))
            elif binding.kind == "aug" and isinstance(binding.op, ast.Add):
                texts.append(constant_text(binding.value))
                found = interpolation(binding.value, scope, assume)
                if found is None and not scope.is_constant(binding.value, assume):
                    found = Interpolation("concat", [binding.value], binding.value, constant_text(binding.value))
            elif binding.kind == "aug" and isinstance(binding.op, ast.Mod):
                items = binding.value.elts if isinstance(binding.value, ast.Tuple) else [binding.value]
                variable_items = [v for v in items if not scope.is_constant(v, assume)]
                found = Interpolation("percent", variable_items, binding.value, "") if variable_items else None
            else:
                continue
            if found is not None:
                values.extend(found.values)
                first = first or found
        if first is None:
            return None
        return Interpolation(first.style, values, first.node, " ".join(texts))


def _may_build_string(argument: ast.expr) -> bool:
    """The argument shapes ``_check_argument`` can find an interpolation in:
    a name (bound to a built string) or what ``interpolation`` reads (an
    f-string, ``%``, ``+``, ``.format()``). Anything else (a literal,
    ``select(...)``, ``text("...")``) is skipped before the scope is built."""
    kind = type(argument)
    if kind is ast.Name or kind is ast.JoinedStr:
        return True
    if kind is ast.BinOp:
        return isinstance(argument.op, (ast.Mod, ast.Add))  # type: ignore[attr-defined]
    if kind is ast.Call:
        func = argument.func  # type: ignore[attr-defined]
        return isinstance(func, ast.Attribute) and func.attr == "format"
    return False


def _builds_string(expr: ast.expr) -> bool:
    """A string literal, f-string, or ``+``/``%``/``.format()`` over one
    (iterative: a 2,000-term concatenation is a deep tree)."""
    stack = [expr]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Constant):
            if isinstance(node.value, str):
                return True
        elif isinstance(node, ast.JoinedStr):
            return True
        elif isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Mod)):
            stack.extend((node.right, node.left))
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format":
            if isinstance(node.func.value, ast.Name):
                return True
            stack.append(node.func.value)
    return False




def _literal_template(expr: ast.expr) -> bool:
    """An f-string, or a ``%``/``.format()`` whose template is a literal: the
    shapes the fix rewrites in place."""
    if isinstance(expr, ast.JoinedStr):
        return True
    if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.Mod):
        return is_str_literal(expr.left)
    if isinstance(expr, ast.Call) and isinstance(expr.func, ast.Attribute) and expr.func.attr == "format":
        return is_str_literal(expr.func.value)
    return False


def _short(text: str, limit: int = 40) -> str:
    """One line of at most ``limit`` characters, for messages."""
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"
