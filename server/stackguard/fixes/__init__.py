"""Deterministic quick fixes: what a fix is (``Fix`` → ``FileEdit`` →
``TextEdit``), the codemods behind each rule's fix, the "ignore for this
line" action, and ``fix_all`` for ``--fix`` / ``source.fixAll.stackguard``.

Fixes are computed with libcst only when an action is requested, never on
the keystroke path, from the text and the finding's ``data``. Nothing here
raises on bad input: a fix that cannot be computed safely is None, and the
reason is logged.
"""

from __future__ import annotations

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

FIXABLE_CODES = frozenset({"SG104", "SG201", "SG202"})


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
    workspace index) place the errors module of the SG104 fix."""
    try:
        if finding.code == "SG201":
            from .sql_params import sql_params_fix

            return sql_params_fix(finding, source_text)
        if finding.code == "SG202":
            from .eager_load import eager_load_fix

            return eager_load_fix(finding, source_text)
        if finding.code == "SG104":
            from .domain_exception import domain_exception_fix

            return domain_exception_fix(finding, source_text, project_root=project_root, errors_module=errors_module)
    except Exception:  # a bug in one fix must not take the code action request down
        log.exception("fix for %s at %s:%d failed", finding.code, finding.relative or finding.path, finding.line)
    return None
