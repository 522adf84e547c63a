"""SG303 quick fix: verify the JWT signature with the project's algorithm.

The decode call is rewritten (PyJWT and python-jose):

- ``options={"verify_signature": False}`` loses that entry (and the
  ``options`` argument when nothing else is left); ``verify=False`` goes;
- ``algorithms=[…]`` is pinned to the algorithm the module signs with
  (``finding.data["algorithm_expr"]``: ``ALGORITHM``, ``settings.JWT_ALGORITHM``
  or a literal such as ``"HS256"``), replacing a list that accepts ``none``
  or one read from the token's own header;
- a decode without a key gets the key the module's ``encode()`` uses
  (``finding.data["key_expr"]``: always a name or attribute, never a literal).

No fix (None) when the algorithm is unknown, the options live in a shared
variable, or the call has ``**kwargs``. Not applied in bulk: tokens that
only passed because nothing was checked will now be rejected.
"""

from __future__ import annotations

import ast
import logging
from collections.abc import Mapping
from typing import Any

from ..analysis.source import parse_source
from ..rules.base import Finding
from .edits import Fix, in_file_fix, line_starts, offset_of, parses

log = logging.getLogger(__name__)

TITLE = "Verify the signature with a pinned algorithm"


def jwt_verify_fix(finding: Finding, source_text: str, *, project_root: str | None = None, **_: Any) -> Fix | None:
    data: Mapping[str, Any] = finding.data or {}
    what = f"SG303 at {finding.relative or finding.path}:{finding.line}"
    problem = data.get("problem")
    algorithm = data.get("algorithm_expr")
    key_expr = data.get("key_expr")
    if problem not in ("verification_disabled", "algorithms_missing", "algorithms_from_token", "alg_none") or not isinstance(algorithm, str):
        log.info("%s: no fix for %r without a known algorithm", what, problem)
        return None
    if not _expression(algorithm) or (key_expr is not None and not _expression(key_expr)):
        return None
    source = parse_source(finding.path, finding.relative, source_text)
    if source.tree is None:
        return None
    call = _call_at(source, finding)
    if call is None or any(k.arg is None for k in call.keywords) or any(isinstance(a, ast.Starred) for a in call.args):
        log.info("%s: the decode call is no longer there, or passes **kwargs", what)
        return None
    segment = source.segment
    positional = [segment(a) for a in call.args]
    keywords: list[tuple[str, str]] = []
    has_algorithms = len(call.args) > 2
    pinned = f"[{algorithm}]"
    for keyword in call.keywords:
        assert keyword.arg is not None
        value = segment(keyword.value)
        if keyword.arg == "verify" and isinstance(keyword.value, ast.Constant) and keyword.value.value is False:
            continue
        if keyword.arg == "options":
            if not isinstance(keyword.value, ast.Dict):
                return None  # a shared options object: editing it would change other calls
            if any(k is None for k in keyword.value.keys):
                return None  # {**base, ...}
            kept = [
                f"{segment(k)}: {segment(v)}"
                for k, v in zip(keyword.value.keys, keyword.value.values)
                if k is not None and not (isinstance(k, ast.Constant) and k.value == "verify_signature")
            ]
            if kept:
                keywords.append(("options", "{" + ", ".join(kept) + "}"))
            continue
        if keyword.arg == "algorithms":
            has_algorithms = True
            if problem in ("algorithms_from_token", "alg_none"):
                value = pinned
        keywords.append((keyword.arg, value))
    if len(call.args) > 2 and problem in ("algorithms_from_token", "alg_none"):
        positional[2] = pinned
    if not has_algorithms:
        keywords.append(("algorithms", pinned))
    has_key = len(call.args) > 1 or any(name == "key" for name, _ in keywords)
    if not has_key:
        if key_expr is None:
            log.info("%s: the decode has no key and the module signs with none we can name", what)
            return None
        positional.insert(1, key_expr)
    if not all(positional) or not all(v for _, v in keywords):
        return None
    func = segment(call.func)
    rebuilt = f"{func}({', '.join([*positional, *(f'{name}={value}' for name, value in keywords)])})"
    starts = line_starts(source_text)
    start = offset_of(source_text, starts, finding.line, finding.column)
    end = offset_of(source_text, starts, finding.end_line, finding.end_column)
    new_text = source_text[:start] + rebuilt + source_text[end:]
    if not parses(new_text):
        return None
    return in_file_fix(TITLE, "SG303", finding.path, source_text, new_text, safe=False)


def _expression(text: str) -> bool:
    try:
        node = ast.parse(text, mode="eval").body
    except SyntaxError:
        return False
    return isinstance(node, (ast.Name, ast.Attribute, ast.Constant))


def _call_at(source, finding: Finding) -> ast.Call | None:
    assert source.tree is not None
    for node in ast.walk(source.tree):
        if (
            isinstance(node, ast.Call)
            and node.lineno == finding.line
            and source.char_column(node.lineno, node.col_offset) == finding.column
            and node.end_lineno == finding.end_line
            and source.char_column(node.end_lineno, node.end_col_offset or 0) == finding.end_column
        ):
            return node
    return None
