"""SG302 quick fix: hash the password with the project's password hasher.

Only offered when the project already has one (the rule puts what the index
found in ``finding.data["hasher"]``: the module importing passlib, pwdlib,
argon2-cffi or bcrypt, and its hash helpers). The digest expression
(``hashlib.sha256(password.encode()).hexdigest()``) becomes, in order of
preference:

1. the project's helper: ``get_password_hash(password)`` / ``hash_password(…)``,
   imported from its module (an existing import, aliased or not, is reused);
2. a module-level hasher instance of that module: ``pwd_context.hash(…)``
   (passlib ``CryptContext``), ``password_hash.hash(…)`` (pwdlib
   ``PasswordHash``), ``ph.hash(…)`` (argon2-cffi ``PasswordHasher``);
3. the library imported in this very module: ``bcrypt.hashpw(p.encode(),
   bcrypt.gensalt()).decode()``, ``PasswordHasher().hash(p)``.

Never a fix for plaintext comparisons or look-ups (the storage has to change
first), nor when the digest is fed incrementally (``h.update(password)``).
Not safe to apply in bulk: the stored hashes change format.
"""

from __future__ import annotations

import ast
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import libcst as cst

from ..analysis.engine import module_name
from ..analysis.semantics import callee_name
from ..analysis.source import parse_source
from ..rules.base import Finding
from .edits import (
    Fix,
    add_from_import,
    imported_name,
    in_file_fix,
    line_starts,
    offset_of,
    parses,
)

log = logging.getLogger(__name__)

_PREFERRED_HELPERS = ("get_password_hash", "hash_password", "password_hash", "make_password", "hash")
_INSTANCE_FACTORIES = frozenset({"CryptContext", "PasswordHash", "PasswordHasher", "recommended"})


def password_hash_fix(finding: Finding, source_text: str, *, project_root: str | None = None, **_: Any) -> Fix | None:
    data: Mapping[str, Any] = finding.data or {}
    what = f"SG302 at {finding.relative or finding.path}:{finding.line}"
    hasher = data.get("hasher")
    password_expr = data.get("password_expr")
    call_range = data.get("call_range")
    if data.get("kind") != "hash" or not isinstance(hasher, Mapping) or not isinstance(password_expr, str) or not password_expr:
        log.info("%s: no project hasher or no password operand", what)
        return None
    source = parse_source(finding.path, finding.relative, source_text)
    if source.tree is None or not (isinstance(call_range, (list, tuple)) and len(call_range) == 4):
        return None
    chain = _expression_at(source, tuple(call_range))
    if chain is None or not isinstance(chain, ast.Call) or password_expr not in source.segment(chain):
        log.info("%s: the digest expression is no longer at %s", what, call_range)
        return None
    try:
        ast.parse(password_expr, mode="eval")
    except SyntaxError:
        return None
    current_module = module_name(finding.relative)
    plan = _plan(hasher, source.tree, data.get("function"), finding, current_module, project_root)
    if plan is None:
        log.info("%s: no usable hasher in %s", what, hasher.get("relative"))
        return None
    template, module, name = plan
    starts = line_starts(source_text)
    start = offset_of(source_text, starts, call_range[0], call_range[1])
    end = offset_of(source_text, starts, call_range[2], call_range[3])
    try:
        local = name
        if module is not None and name is not None:
            local = imported_name(cst.parse_module(source_text), module, name, current_module)
        replacement = template.format(local=local or name, password=password_expr)
        new_text = source_text[:start] + replacement + source_text[end:]
        if module is not None and name is not None and local is None:
            new_text = add_from_import(cst.parse_module(new_text), module, name, current_module).code
    except cst.ParserSyntaxError:
        return None
    if not parses(new_text):
        return None
    shown = template.format(local=local or name, password="…")
    return in_file_fix(f"Hash with the project's password hasher (`{shown}`)", "SG302", finding.path, source_text, new_text, safe=False)


def _expression_at(source, wanted: tuple[int, ...]) -> ast.expr | None:
    assert source.tree is not None
    for node in ast.walk(source.tree):
        if isinstance(node, ast.Call) and node.lineno == wanted[0]:
            span = (
                node.lineno,
                source.char_column(node.lineno, node.col_offset),
                node.end_lineno,
                source.char_column(node.end_lineno or node.lineno, node.end_col_offset or 0),
            )
            if span == wanted:
                return node
    return None


def _plan(
    hasher: Mapping[str, Any],
    tree: ast.Module,
    function: Any,
    finding: Finding,
    current_module: str,
    project_root: str | None,
) -> tuple[str, str | None, str | None] | None:
    """(replacement template, module to import from or None, name to import)."""
    relative = hasher.get("relative")
    module = hasher.get("module")
    same_file = relative == finding.relative
    helpers = [h for h in hasher.get("functions") or () if isinstance(h, str) and h != function]
    helpers.sort(key=lambda h: _PREFERRED_HELPERS.index(h) if h in _PREFERRED_HELPERS else len(_PREFERRED_HELPERS))
    if helpers and isinstance(module, str) and module:
        helper = helpers[0]
        return ("{local}({password})", None, helper) if same_file else ("{local}({password})", module, helper)
    hasher_tree = tree if same_file else _read_tree(project_root, relative)
    if hasher_tree is not None and isinstance(module, str) and module:
        instance = _hasher_instance(hasher_tree)
        if instance is not None:
            return ("{local}.hash({password})", None, instance) if same_file else ("{local}.hash({password})", module, instance)
    return _direct_library(tree)


def _read_tree(project_root: str | None, relative: Any) -> ast.Module | None:
    if not project_root or not isinstance(relative, str):
        return None
    root = Path(project_root).resolve()
    path = (root / relative).resolve()
    try:
        if not path.is_relative_to(root) or not path.is_file() or path.stat().st_size > 1_000_000:
            return None
        return ast.parse(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def _hasher_instance(tree: ast.Module) -> str | None:
    """``pwd_context = CryptContext(...)``, ``password_hash = PasswordHash.recommended()``,
    ``ph = PasswordHasher()`` at module level."""
    for stmt in tree.body:
        if not (isinstance(stmt, (ast.Assign, ast.AnnAssign)) and isinstance(stmt.value, ast.Call)):
            continue
        target = stmt.targets[0] if isinstance(stmt, ast.Assign) else stmt.target
        func = stmt.value.func
        last = callee_name(func) or ""
        if isinstance(target, ast.Name) and last in _INSTANCE_FACTORIES:
            return target.id
    return None


def _direct_library(tree: ast.Module) -> tuple[str, str | None, str | None] | None:
    """The hasher library imported by this module itself."""
    for stmt in tree.body:
        if isinstance(stmt, ast.Import):
            for alias in stmt.names:
                if alias.name == "bcrypt":
                    local = alias.asname or "bcrypt"
                    return f"{local}.hashpw({{password}}.encode(), {local}.gensalt()).decode()", None, None
        elif isinstance(stmt, ast.ImportFrom) and stmt.module == "argon2" and not stmt.level:
            for alias in stmt.names:
                if alias.name == "PasswordHasher":
                    return f"{alias.asname or alias.name}().hash({{password}})", None, None
    return None
