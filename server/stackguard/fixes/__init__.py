"""Deterministic quick fixes: what a fix is (``Fix`` → ``FileEdit`` →
``TextEdit``), the codemods behind each rule's fix, the "ignore for this
line" action, and ``fix_all`` for ``--fix`` / ``source.fixAll.stackguard``.

Fixes are computed with libcst only when an action is requested, never on
the keystroke path, from the text and the finding's ``data``. Nothing here
raises on bad input: a fix that cannot be computed safely is None, and the
reason is logged.
"""

from __future__ import annotations

import importlib
import logging

from ..rules.base import Finding
from .edits import FileEdit, Fix, TextEdit, apply_text_edits, text_edits
from .fix_all import fix_all
from .ignore import ignore_fix

__all__ = [
    "FIXABLE_CODES",
    "FileEdit",
    "Fix",
    "TextEdit",
    "apply_text_edits",
    "fix_all",
    "fix_for",
    "ignore_fix",
    "text_edits",
]

log = logging.getLogger(__name__)

# code -> "module:function" in this package; imported on first use so the
# keystroke path never loads libcst. Each function takes
# (finding, source_text, *, project_root=None, errors_module=None) -> Fix | None.
FIXERS: dict[str, str] = {
    "SG104": "domain_exception:domain_exception_fix",
    "SG201": "sql_params:sql_params_fix",
    "SG202": "eager_load:eager_load_fix",
    "SG301": "secrets_env:secrets_env_fix",
    "SG302": "password_hash:password_hash_fix",
    "SG303": "jwt_verify:jwt_verify_fix",
    "SG501": "annotations:annotations_fix",
    "SG502": "blocking_call:blocking_call_fix",
}
FIXABLE_CODES = frozenset(FIXERS)


def fix_for(
    finding: Finding,
    source_text: str,
    *,
    project_root: str | None = None,
    errors_module: str | None = None,
) -> Fix | None:
    """The rule's quick fix for ``finding`` in ``source_text`` (the current
    text of ``finding.path``), or None when the rule has none or it does not
    apply here. ``project_root`` and ``errors_module`` (relative path from the
    workspace index) place files a fix creates or edits (the errors module of
    SG104, ``.env.example`` of SG301)."""
    target = FIXERS.get(finding.code)
    if target is None:
        return None
    module_name, _, function_name = target.partition(":")
    try:
        module = importlib.import_module(f"{__name__}.{module_name}")
        function = getattr(module, function_name)
        return function(finding, source_text, project_root=project_root, errors_module=errors_module)
    except Exception:  # a bug in one fix must not take the code action request down
        log.exception("fix for %s at %s:%d failed", finding.code, finding.relative or finding.path, finding.line)
    return None
