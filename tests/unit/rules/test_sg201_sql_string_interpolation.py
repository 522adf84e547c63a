"""SG201 sql-string-interpolation: which values count as constant, variables
built over several statements, the quick-fix data and its safety, and the
driver's placeholder style."""

from __future__ import annotations

import ast
import textwrap

import pytest
from stackguard.analysis.engine import Engine
from stackguard.analysis.source import parse_source
from stackguard.config import Settings
from stackguard.rules._sql import Scope, interpolation, looks_like_sql


def lint(code: str, *, path: str = "app/repositories/repo.py", layer: str = "repository", severity: dict | None = None):
    source = parse_source(f"/p/{path}", path, textwrap.dedent(code))
    assert source.tree is not None
    settings = Settings(select=["SG201"], severity=severity or {})
    result = Engine(settings).check(source, layer)
    assert not result.rule_errors
    return result.findings


def scope_of(code: str) -> tuple[Scope, ast.FunctionDef]:
    tree = ast.parse(textwrap.dedent(code))
    func = next(n for n in tree.body if isinstance(n, ast.FunctionDef))
    imported = {alias.asname or alias.name for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom)) for alias in n.names}
    return Scope.of_function(func, Scope.of_module(tree, imported)), func


@pytest.mark.parametrize(
    ("expression", "constant"),
    [
        ('", ".join(["%s"] * len(ids))', True),
        ('",".join("?" for _ in ids)', True),
        ("ORDER_BY[sort]", True),
        ('ORDER_BY.get(sort, "id")', True),
        ("ORDER_BY.get(sort, sort)", False),
        ("TABLE", True),
        ("User.__tablename__", True),
        ("self.table_name", True),
        ("int(raw)", True),
        ("limit", True),  # annotated int
        ("raw", False),
        ("str(limit)", True),  # the text of an int
        ("str(raw)", False),
        ("request.GET.get('q')", False),
        ("request.GET['q']", False),
        ("clauses", True),  # appended only with constants
        ("dirty", False),  # appended a parameter
        ("imported_fragment", True),
    ],
)
def test_constancy(expression, constant):
    scope, _ = scope_of(
        f"""
        from app.sql import imported_fragment
        TABLE = "users"
        ORDER_BY = {{"new": "created_at DESC", "old": "created_at"}}

        def f(self, request, ids, sort, raw, limit: int):
            clauses = ["1 = 1"]
            clauses.append("a = %s")
            dirty = []
            dirty.append(raw)
            value = {expression}
        """
    )
    expr = ast.parse(expression, mode="eval").body
    assert scope.is_constant(expr) is constant


def test_interpolation_styles_and_values():
    scope, _ = scope_of("def f(a, b):\n    pass\n")
    cases = {
        'f"SELECT {a} FROM t"': ("fstring", ["a"]),
        '"SELECT %s FROM t WHERE b = %s" % (a, b)': ("percent", ["a", "b"]),
        '"SELECT %(x)s" % {"x": a}': ("percent", ["a"]),
        '"SELECT {} FROM t".format(a)': ("format", ["a"]),
        '"SELECT * FROM t WHERE a = " + a + " AND 1 = 1"': ("concat", ["a"]),
        '"SELECT * FROM t WHERE " + f"a = {a}"': ("fstring", ["a"]),
    }
    for text, (style, values) in cases.items():
        found = interpolation(ast.parse(text, mode="eval").body, scope)
        assert found is not None, text
        assert found.style == style, text
        assert [ast.unparse(v) for v in found.values] == values, text


def test_constant_only_fragments_are_not_interpolation():
    scope, _ = scope_of('TABLE = "users"\ndef f(a):\n    pass\n')
    for text in ('f"SELECT * FROM {TABLE} WHERE id = :id"', '"SELECT * FROM " + TABLE', '"SELECT 1"', "a"):
        assert interpolation(ast.parse(text, mode="eval").body, scope) is None, text


def test_sql_text_detection():
    assert looks_like_sql("select id from users where")
    assert looks_like_sql("  UPDATE users SET name = ")
    assert looks_like_sql(" AND total >= ") is False
    assert not looks_like_sql("backup --name ")
    assert not looks_like_sql("Hello , your orders are ready")


def test_inline_fstring_data_and_safe_fix():
    (finding,) = lint(
        """
        import psycopg

        def find(cur, user_id: str):
            cur.execute(f"SELECT * FROM users WHERE id = {user_id}")
        """
    )
    assert finding.severity == "error"
    assert finding.fixable is True
    assert finding.fix_title == "Bind the interpolated values as query parameters"
    assert dict(finding.data) == {
        "api": "dbapi",
        "style": "fstring",
        "placeholder": "%s",
        "variable": None,
        "sql_line": 5,
        "call_line": 5,
        "values": ["user_id"],
    }
    # The finding spans the f-string argument.
    assert (finding.line, finding.column, finding.end_column) == (5, 16, 59)


def test_variable_built_over_several_statements_is_reported_unsafe():
    (finding,) = lint(
        """
        import sqlite3

        def search(conn, name, city):
            sql = "SELECT * FROM users WHERE 1 = 1"
            if name:
                sql += " AND name = '" + name + "'"
            if city:
                sql += f" AND city = '{city}'"
            return conn.execute(sql).fetchall()
        """
    )
    assert finding.fixable is False
    assert finding.fix_title == "Bind the interpolated values as query parameters"
    assert finding.line == 10
    assert finding.data["variable"] == "sql"
    assert finding.data["style"] == "concat"
    assert finding.data["sql_line"] == 7
    assert finding.data["call_line"] == 10
    assert finding.data["values"] == ["name", "city"]
    assert finding.data["placeholder"] == "?"
    assert "`sql` is SQL built with string concatenation (line 7)" in finding.message


def test_template_in_a_variable_formatted_inline_is_not_auto_fixed():
    (finding,) = lint(
        """
        QUERY = "SELECT * FROM users WHERE id = %s"

        def find(cur, user_id):
            cur.execute(QUERY % user_id)
        """
    )
    assert finding.data["style"] == "percent"
    assert finding.data["variable"] is None
    assert finding.fixable is False


@pytest.mark.parametrize(
    ("imports", "call", "api", "placeholder"),
    [
        ("import sqlite3", 'conn.execute(f"SELECT * FROM t WHERE a = {x}")', "dbapi", "?"),
        ("import aiosqlite", 'await conn.execute(f"SELECT * FROM t WHERE a = {x}")', "dbapi", "?"),
        ("import pymysql", 'cur.execute(f"SELECT * FROM t WHERE a = {x}")', "dbapi", "%s"),
        ("import asyncpg", 'await conn.fetchrow(f"SELECT * FROM t WHERE a = {x}")', "asyncpg", "$n"),
        ("import asyncpg", 'await conn.execute(f"DELETE FROM t WHERE a = {x}")', "asyncpg", "$n"),
        ("from sqlalchemy import text", 'session.execute(text(f"SELECT * FROM t WHERE a = {x}"))', "sqlalchemy", ":name"),
        ("from django.db import connection", 'connection.cursor().execute(f"SELECT * FROM t WHERE a = {x}")', "django_cursor", "%s"),
        ("from django.db.models.expressions import RawSQL", 'RawSQL(f"SELECT a FROM t WHERE b = {x}", [])', "django_raw", "%s"),
        ("import psycopg", 'cur.execute("SELECT * FROM t WHERE a = %(a)s" % {"a": x})', "dbapi", "%(name)s"),
    ],
)
def test_api_and_placeholder(imports, call, api, placeholder):
    findings = lint(f"{imports}\n\nasync def f(session, conn, cur, x):\n    {call}\n")
    assert len(findings) == 1
    assert findings[0].data["api"] == api
    assert findings[0].data["placeholder"] == placeholder


@pytest.mark.parametrize(
    "code",
    [
        # DB-API placeholders with the values passed separately.
        'cur.execute("SELECT * FROM t WHERE a = %s AND b = %s", (x, y))',
        # Placeholders generated for an IN list.
        """cur.execute(f"SELECT * FROM t WHERE id IN ({', '.join(['%s'] * len(ids))})", ids)""",
        # The SQL text is a parameter: nothing is built here.
        "cur.execute(sql_from_caller, params)",
        # text() bound separately, even with a constant fragment.
        'session.execute(text(f"SELECT * FROM {TABLE} WHERE id = :id"), {"id": x})',
        # Unknown receiver, text is not SQL.
        'runner.execute(f"deploy {x}")',
        # A statement object, not a string.
        "session.execute(select(User).where(User.id == x))",
    ],
)
def test_quiet(code):
    assert lint(
        f"""
        from sqlalchemy import select, text
        TABLE = "users"

        def f(session, cur, runner, x, y, ids, sql_from_caller, params):
            {code}
        """
    ) == []


def test_unknown_receiver_needs_sql_looking_text():
    findings = lint('def f(client, x):\n    client.execute(f"SELECT * FROM t WHERE a = {x}")\n')
    assert len(findings) == 1


def test_tests_are_out_of_scope_but_migrations_are_in():
    code = 'def upgrade(op, value):\n    op.execute(f"UPDATE t SET a = {value}")\n'
    assert lint(code, path="tests/test_x.py", layer="test") == []
    assert len(lint(code, path="migrations/versions/001.py", layer="migration")) == 1


def test_migration_loop_over_constant_tables_is_quiet():
    assert lint(
        """
        TABLES = ("users", "orders")

        def upgrade(op):
            for table in TABLES:
                op.execute(f"UPDATE {table} SET updated_at = now()")
        """,
        path="migrations/versions/002.py",
        layer="migration",
    ) == []


def test_one_finding_when_text_wraps_the_interpolation():
    findings = lint(
        """
        from sqlalchemy import text

        def f(session, x):
            query = f"SELECT * FROM t WHERE a = {x}"
            return session.execute(text(query)).all()
        """
    )
    assert len(findings) == 1
    assert findings[0].data["variable"] == "query"


def test_severity_override_is_respected():
    (finding,) = lint('def f(cur, x):\n    cur.execute(f"SELECT {x}")\n', severity={"SG201": "warning"})
    assert finding.severity == "warning"


@pytest.mark.parametrize(
    ("call", "identifier"),
    [
        ('cur.execute(f"SELECT * FROM {x} WHERE id = %s", (1,))', True),
        ('cur.execute(f"SELECT * FROM t ORDER BY {x} DESC")', True),
        ('cur.execute(f"SELECT * FROM {x}.users")', True),
        ('cur.execute("SELECT * FROM t WHERE " + x)', True),
        ('cur.execute("SELECT * FROM %s" % x)', True),
        ('cur.execute(f"SELECT * FROM t WHERE id = {x}")', False),
        ('cur.execute(f"SELECT * FROM t WHERE name = \'{x}\'")', False),
        ('cur.execute(f"SELECT * FROM t LIMIT {x}")', False),
        ('cur.execute("SELECT * FROM t WHERE a IN ({})".format(x))', False),
    ],
)
def test_identifier_slots_get_no_fix(call, identifier):
    (finding,) = lint(f"def f(cur, x):\n    {call}\n")
    assert (finding.fix_title is None) is identifier
    assert ("a parameter cannot replace" in finding.message) is identifier


@pytest.mark.parametrize(
    "guard",
    [
        "if table not in TABLES:\n        raise ValueError(table)",
        "assert table in {'users', 'orders'}",
        "validate_table_name(table)",
    ],
)
def test_allow_list_guards_make_a_name_constant(guard):
    code = f"""
TABLES = ("users", "orders")

def f(cur, table):
    {guard}
    cur.execute(f"SELECT * FROM {{table}}")
"""
    assert lint(code) == []


def test_guard_against_a_variable_container_does_not_count():
    code = """
def f(cur, table, allowed):
    if table not in allowed:
        raise ValueError(table)
    cur.execute(f"SELECT * FROM {table}")
"""
    assert len(lint(code)) == 1
