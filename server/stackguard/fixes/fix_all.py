"""Apply every safe fix in one file: ``stackguard check --fix`` and the
``source.fixAll.stackguard`` code action.

One fix at a time, re-checking after each, because fixes can overlap (two
findings in one call) and a fix shifts every position after it. Only fixes
marked safe that edit nothing but this file are applied; ignore comments
never are.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from ..rules.base import Finding
from .edits import apply_text_edits

log = logging.getLogger(__name__)


def fix_all(
    source_text: str,
    check: Callable[[str], list[Finding]],
    *,
    max_rounds: int = 10,
    project_root: str | None = None,
) -> tuple[str, list[Finding]]:
    """Return the text with the safe fixes applied (at most ``max_rounds``)
    and the findings they fixed. ``check(text)`` lints a version of the file."""
    from . import fix_for

    text = source_text
    fixed: list[Finding] = []
    seen = {text}
    for _round in range(max_rounds):
        try:
            findings = check(text)
        except Exception:
            log.exception("fix_all: check failed; stopping")
            break
        applied = False
        for finding in findings:
            if not finding.fixable:
                continue
            fix = fix_for(finding, text, project_root=project_root)
            if fix is None or not fix.safe:
                continue
            if not fix.in_file_only or fix.edits[0].path != finding.path:
                log.info("fix_all: skipping %s at line %d: the fix edits other files", finding.code, finding.line)
                continue
            try:
                new_text = apply_text_edits(text, fix.edits[0].edits)
            except ValueError as exc:
                log.warning("fix_all: %s fix at line %d has bad edits: %s", finding.code, finding.line, exc)
                continue
            if new_text == text or new_text in seen:
                log.info("fix_all: %s fix at line %d changed nothing new; stopping", finding.code, finding.line)
                return text, fixed
            text = new_text
            seen.add(text)
            fixed.append(finding)
            applied = True
            break
        if not applied:
            break
    return text, fixed
