"""SG301 quick fix: read the secret from the environment instead of the code.

By the finding's ``context``:

- ``settings_field`` (a pydantic-settings field with a literal default):
  the default goes, so the field is required and read from the environment
  (``SECRET_KEY: str = "…"`` → ``SECRET_KEY: str``);
- ``env_default`` (``os.environ.get("X", "…")``, ``os.getenv("X", "…")``):
  → ``os.environ["X"]``, which fails fast when the variable is missing;
  django-environ ``env("X", default="…")`` and decouple
  ``config("X", default="…")`` lose their default;
- ``assignment``, ``keyword``, ``dict``: the literal becomes
  ``os.environ["NAME"]`` (with ``import os`` added, or the module's own
  alias of ``os``, or a ``from os import environ`` it already has). When the
  project has a pydantic-settings class with a module-level instance
  (``settings = Settings()``), the literal becomes ``settings.FIELD`` instead,
  imported from its module (an existing import, aliased or not, is reused),
  and the field is added to the class when it is missing.

When the project root has a ``.env.example``, ``NAME=`` — never the value —
is appended to it unless the name is already there.

The fix is never applied in bulk (``safe=False``): after it the application
needs the variable set, and the secret must be rotated anyway.
"""

from __future__ import annotations

import ast
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import libcst as cst

from ..analysis.engine import module_name
from ..analysis.source import SourceFile, parse_source
from ..rules.base import Finding
from .edits import (
    FileEdit,
    Fix,
    TextEdit,
    add_from_import,
    imported_name,
    insert_import,
    line_starts,
    offset_of,
    parses,
    position_of,
    text_edits,
)

log = logging.getLogger(__name__)

ENV_EXAMPLE = ".env.example"
_SETTINGS_BASES = ("BaseSettings",)
_OS_ENV_READS = frozenset({"os.environ.get", "os.getenv"})


def secrets_env_fix(finding: Finding, source_text: str, *, project_root: str | None = None, **_: Any) -> Fix | None:
    data: Mapping[str, Any] = finding.data or {}
    what = f"SG301 at {finding.relative or finding.path}:{finding.line}"
    context = data.get("context")
    env_name = data.get("env_name")
    value_range = data.get("value_range")
    if context not in ("settings_field", "env_default", "assignment", "keyword", "dict") or not env_name or not _valid_range(value_range):
        log.info("%s: no fix for context %r", what, context)
        return None
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", env_name):
        log.info("%s: %r is not a usable variable name", what, env_name)
        return None
    source = parse_source(finding.path, finding.relative, source_text)
    if source.tree is None:
        log.info("%s: the document does not parse", what)
        return None
    assert isinstance(value_range, (list, tuple))
    located = _locate(source, list(value_range))
    if located is None:
        log.info("%s: the literal is no longer at %s", what, value_range)
        return None
    constant, parents = located
    root = Path(project_root) if project_root else None
    extra_edits: list[FileEdit] = []
    if context == "settings_field":
        new_text, title = _drop_field_default(source, constant, parents, env_name)
    elif context == "env_default":
        new_text, title = _drop_env_default(source, constant, parents, env_name)
    else:
        new_text, title, extra_edits, env_var = _replace_literal(source, constant, finding, data, root)
        env_name = env_var or env_name
    if new_text is None or new_text == source_text or not parses(new_text):
        log.info("%s: no applicable rewrite", what)
        return None
    edits = [FileEdit(path=finding.path, edits=text_edits(source_text, new_text)), *extra_edits]
    example = _env_example_edit(root, env_name) if root is not None else None
    if example is not None:
        edits.append(example)
        title += f" and add it to {ENV_EXAMPLE}"
    return Fix(title=title, code="SG301", edits=tuple(edits), safe=False)


# ---------------------------------------------------------------------------
# Locating the literal


def _valid_range(value: Any) -> bool:
    """A ``[line, column, end_line, end_column]`` list of ints."""
    return isinstance(value, (list, tuple)) and len(value) == 4 and all(isinstance(v, int) for v in value)


def _span(source: SourceFile, node: ast.AST) -> tuple[int, int, int, int]:
    line = node.lineno  # type: ignore[attr-defined]
    end_line = node.end_lineno or line  # type: ignore[attr-defined]
    return (
        line,
        source.char_column(line, node.col_offset),  # type: ignore[attr-defined]
        end_line,
        source.char_column(end_line, node.end_col_offset or 0),  # type: ignore[attr-defined]
    )


def _locate(source: SourceFile, value_range: list[int]) -> tuple[ast.Constant, list[ast.AST]] | None:
    """The string literal at ``value_range`` and its ancestors, nearest first."""
    assert source.tree is not None
    wanted = tuple(value_range)
    stack: list[tuple[ast.AST, tuple[ast.AST, ...]]] = [(source.tree, ())]
    while stack:
        node, ancestors = stack.pop()
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and _span(source, node) == wanted:
            return node, list(reversed(ancestors))
        line = getattr(node, "lineno", None)
        end_line = getattr(node, "end_lineno", None)
        if line is not None and end_line is not None and not (line <= wanted[0] and wanted[2] <= end_line):
            continue
        for child in ast.iter_child_nodes(node):
            stack.append((child, (*ancestors, node)))
    return None


def _offsets(text: str, span: tuple[int, int, int, int]) -> tuple[int, int]:
    starts = line_starts(text)
    return offset_of(text, starts, span[0], span[1]), offset_of(text, starts, span[2], span[3])


def _splice(text: str, start: int, end: int, replacement: str) -> str:
    return text[:start] + replacement + text[end:]


# ---------------------------------------------------------------------------
# The three rewrites


def _drop_field_default(source: SourceFile, constant: ast.Constant, parents: list[ast.AST], name: str) -> tuple[str | None, str]:
    title = f"Declare `{name}` without a default so it is read from the environment"
    owner = next((p for p in parents if isinstance(p, ast.stmt)), None)
    if not isinstance(owner, ast.AnnAssign) or owner.value is None:
        return None, title
    value = owner.value
    if value is not constant and not (isinstance(value, ast.Call) and constant in (*value.args, *(k.value for k in value.keywords))):
        return None, title
    if isinstance(value, ast.Call) and (len(value.args) + len(value.keywords)) > 1:
        return None, title  # Field(default=..., description=...): the other arguments would be lost
    annotation_end = _span(source, owner.annotation)
    value_end = _span(source, value)
    start, _ = _offsets(source.text, (annotation_end[2], annotation_end[3], annotation_end[2], annotation_end[3]))
    _, end = _offsets(source.text, value_end)
    return _splice(source.text, start, end, ""), title


def _drop_env_default(source: SourceFile, constant: ast.Constant, parents: list[ast.AST], name: str) -> tuple[str | None, str]:
    title = f"Require `{name}` from the environment (no hardcoded fallback)"
    call = parents[0] if parents and isinstance(parents[0], ast.Call) else None
    if call is None and len(parents) > 1 and isinstance(parents[0], ast.keyword) and isinstance(parents[1], ast.Call):
        call = parents[1]
    if call is None or not call.args:
        return None, title
    assert source.tree is not None
    aliases = _os_aliases(source.tree)
    func_text = source.segment(call.func)
    qualified = _qualify(call.func, aliases)
    start, end = _offsets(source.text, _span(source, call))
    if qualified in _OS_ENV_READS:
        key_text = source.segment(call.args[0])
        if not key_text:
            return None, title
        environ = _environ_expression(aliases)
        if environ is None:
            new_call = f'os.environ[{key_text}]'
            text = _splice(source.text, start, end, new_call)
            return _with_import_os(text), title
        return _splice(source.text, start, end, f"{environ}[{key_text}]"), title
    if qualified == "os.environ.setdefault":
        return None, title  # a statement that sets the variable: nothing to read
    # env("X", default="…"), env.str("X", default="…"), config("X", default="…")
    kept: list[str] = []
    for index, arg in enumerate(call.args):
        if index == 1 and not any(k.arg == "default" for k in call.keywords) and arg is constant:
            continue
        kept.append(source.segment(arg))
    for keyword in call.keywords:
        if keyword.arg == "default":
            continue
        kept.append(source.segment(keyword))
    if not func_text or any(not part for part in kept):
        return None, title
    return _splice(source.text, start, end, f"{func_text}({', '.join(kept)})"), title


def _replace_literal(
    source: SourceFile, constant: ast.Constant, finding: Finding, data: Mapping[str, Any], root: Path | None
) -> tuple[str | None, str, list[FileEdit], str | None]:
    """The new text, the title, edits to other files, and the environment
    variable the value now comes from when it is not ``env_name``."""
    env_name = str(data["env_name"])
    start, end = _offsets(source.text, _span(source, constant))
    # A settings module or a test reads the environment itself.
    uses_settings = finding.layer not in ("config", "test")
    settings = _settings_target(data.get("settings"), root, finding, env_name) if uses_settings else None
    if settings is not None:
        current_module = module_name(finding.relative)
        try:
            local = imported_name(cst.parse_module(source.text), settings.module, settings.instance, current_module)
            text = _splice(source.text, start, end, f"{local or settings.instance}.{settings.field}")
            if local is None:
                text = add_from_import(cst.parse_module(text), settings.module, settings.instance, current_module).code
        except cst.ParserSyntaxError:
            return None, "", [], None
        title = f"Read `{settings.field}` from the project settings ({settings.instance}.{settings.field})"
        return text, title, [settings.field_edit] if settings.field_edit is not None else [], settings.env_var
    assert source.tree is not None
    aliases = _os_aliases(source.tree)
    environ = _environ_expression(aliases)
    title = f'Read `{env_name}` from the environment (os.environ["{env_name}"])'
    if environ is None:
        return _with_import_os(_splice(source.text, start, end, f'os.environ["{env_name}"]')), title, [], None
    return _splice(source.text, start, end, f'{environ}["{env_name}"]'), title, [], None


# ---------------------------------------------------------------------------
# os imports


@dataclass(frozen=True)
class _OsAliases:
    module: str | None  # local name of the ``os`` module
    environ: str | None  # local name of ``os.environ``
    names: dict[str, str]  # local name -> qualified


def _os_aliases(tree: ast.Module) -> _OsAliases:
    module = None
    environ = None
    names: dict[str, str] = {}
    for stmt in tree.body:
        if isinstance(stmt, ast.Import):
            for alias in stmt.names:
                if alias.name == "os":
                    module = alias.asname or "os"
                    names[module] = "os"
        elif isinstance(stmt, ast.ImportFrom) and stmt.module == "os" and not stmt.level:
            for alias in stmt.names:
                local = alias.asname or alias.name
                names[local] = f"os.{alias.name}"
                if alias.name == "environ":
                    environ = local
    return _OsAliases(module, environ, names)


def _qualify(expr: ast.expr, aliases: _OsAliases) -> str | None:
    parts: list[str] = []
    while isinstance(expr, ast.Attribute):
        parts.append(expr.attr)
        expr = expr.value
    if not isinstance(expr, ast.Name):
        return None
    root = aliases.names.get(expr.id)
    if root is None:
        return None
    return ".".join([root, *reversed(parts)])


def _environ_expression(aliases: _OsAliases) -> str | None:
    if aliases.module is not None:
        return f"{aliases.module}.environ"
    if aliases.environ is not None:
        return aliases.environ
    return None


def _with_import_os(text: str) -> str:
    try:
        tree = cst.parse_module(text)
    except cst.ParserSyntaxError:
        return text
    statement = cst.parse_statement("import os\n")
    assert isinstance(statement, cst.SimpleStatementLine)
    tree = insert_import(tree, statement)
    body = list(tree.body)
    index = next((i for i, s in enumerate(body) if s is statement), None)
    if index is not None and index + 1 < len(body):
        following = body[index + 1]
        is_import = isinstance(following, cst.SimpleStatementLine) and all(isinstance(s, (cst.Import, cst.ImportFrom)) for s in following.body)
        if not is_import and not following.leading_lines:
            # PEP 8: a blank line between the imports and the code
            body[index + 1] = following.with_changes(leading_lines=[cst.EmptyLine()])
            tree = tree.with_changes(body=body)
    return tree.code


# ---------------------------------------------------------------------------
# The project's settings object


@dataclass(frozen=True)
class _SettingsTarget:
    module: str
    instance: str
    field: str
    field_edit: FileEdit | None
    env_var: str  # what pydantic-settings reads: env_prefix + field


def _settings_target(info: Any, root: Path | None, finding: Finding, env_name: str) -> _SettingsTarget | None:
    """Where the value should come from when the project has a
    pydantic-settings class with a module-level instance."""
    if root is None or not isinstance(info, Mapping):
        return None
    relative = info.get("relative")
    module = info.get("module")
    classes = info.get("classes") or []
    if not isinstance(relative, str) or not isinstance(module, str) or not module or relative == finding.relative:
        return None
    path = (root / relative).resolve()
    try:
        if not path.is_relative_to(root.resolve()) or not path.is_file() or path.stat().st_size > 1_000_000:
            return None
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    settings_classes = {
        stmt.name: stmt
        for stmt in tree.body
        if isinstance(stmt, ast.ClassDef) and stmt.name in classes and any(_base_name(b).endswith(_SETTINGS_BASES) for b in stmt.bases)
    }
    for stmt in tree.body:
        if not (isinstance(stmt, (ast.Assign, ast.AnnAssign)) and isinstance(stmt.value, ast.Call)):
            continue
        target = stmt.targets[0] if isinstance(stmt, ast.Assign) else stmt.target
        constructed = _base_name(stmt.value.func)
        if isinstance(target, ast.Name) and constructed in settings_classes:
            cls = settings_classes[constructed]
            fields = [s.target.id for s in cls.body if isinstance(s, ast.AnnAssign) and isinstance(s.target, ast.Name)]
            prefix = _env_prefix(cls)
            for field in fields:
                if field.lower() == env_name.lower():
                    return _SettingsTarget(module, target.id, field, None, f"{prefix}{field}".upper())
            field = env_name if not fields or any(f.isupper() for f in fields) else env_name.lower()
            edit = _field_edit(str(path), text, cls, field)
            if edit is None:
                return None
            return _SettingsTarget(module, target.id, field, edit, f"{prefix}{field}".upper())
    return None


def _env_prefix(cls: ast.ClassDef) -> str:
    """``model_config = SettingsConfigDict(env_prefix="APP_")`` or a v1
    ``class Config: env_prefix = "APP_"``."""
    for stmt in cls.body:
        if isinstance(stmt, (ast.Assign, ast.AnnAssign)) and isinstance(stmt.value, (ast.Call, ast.Dict)):
            target = stmt.targets[0] if isinstance(stmt, ast.Assign) else stmt.target
            if not (isinstance(target, ast.Name) and target.id == "model_config"):
                continue
            pairs = (
                [(k.arg, k.value) for k in stmt.value.keywords]
                if isinstance(stmt.value, ast.Call)
                else [(k.value if isinstance(k, ast.Constant) else None, v) for k, v in zip(stmt.value.keys, stmt.value.values)]
            )
            for key, value in pairs:
                if key == "env_prefix" and isinstance(value, ast.Constant) and isinstance(value.value, str):
                    return value.value
        if isinstance(stmt, ast.ClassDef) and stmt.name == "Config":
            for inner in stmt.body:
                if (
                    isinstance(inner, ast.Assign)
                    and any(isinstance(t, ast.Name) and t.id == "env_prefix" for t in inner.targets)
                    and isinstance(inner.value, ast.Constant)
                    and isinstance(inner.value.value, str)
                ):
                    return inner.value.value
    return ""


def _base_name(expr: ast.expr) -> str:
    if isinstance(expr, ast.Name):
        return expr.id
    if isinstance(expr, ast.Attribute):
        return expr.attr
    return ""


def _field_edit(path: str, text: str, cls: ast.ClassDef, field: str) -> FileEdit | None:
    """Add ``field: str`` as the last statement of the settings class."""
    last = cls.body[-1]
    first = cls.body[0]
    lines = text.splitlines(keepends=True)
    if first.lineno > len(lines) or (last.end_lineno or last.lineno) > len(lines):
        return None
    indent = re.match(r"[ \t]*", lines[first.lineno - 1]).group()  # type: ignore[union-attr]
    if not indent:
        return None  # a one-line class: no block to extend
    end_line = last.end_lineno or last.lineno
    newline = "\r\n" if lines[end_line - 1].endswith("\r\n") else "\n"
    if lines[end_line - 1].endswith(("\n", "\r")):
        edit = TextEdit(end_line + 1, 0, end_line + 1, 0, f"{indent}{field}: str{newline}")
    else:
        column = len(lines[end_line - 1])
        edit = TextEdit(end_line, column, end_line, column, f"{newline}{indent}{field}: str")
    return FileEdit(path=path, edits=(edit,))


# ---------------------------------------------------------------------------
# .env.example


def _env_example_edit(root: Path, env_name: str) -> FileEdit | None:
    path = root / ENV_EXAMPLE
    try:
        if not path.is_file() or path.stat().st_size > 1_000_000:
            return None
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    if re.search(rf"^\s*(?:export\s+)?{re.escape(env_name)}\s*=", text, re.MULTILINE):
        return None
    starts = line_starts(text)
    line, column = position_of(text, starts, len(text))
    newline = "\r\n" if "\r\n" in text else "\n"
    prefix = newline if text and not text.endswith(("\n", "\r")) else ""
    return FileEdit(path=str(path), edits=(TextEdit(line, column, line, column, f"{prefix}{env_name}={newline}"),))
