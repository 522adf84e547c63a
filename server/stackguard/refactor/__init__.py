"""Deterministic refactors behind the ``refactor.*`` code actions: extract a
route handler's logic to a service, move a query to a repository method,
add a repository's standard methods. Each returns a ``Fix`` (``fixes.edits``)
or a ``RefactorRefusal`` with the reason; none raises on user input.
"""

from __future__ import annotations

from .base import ProjectView, RefactorRefusal, RefactorResult
from .extract_service import check_extraction, extract_to_service

__all__ = ["ProjectView", "RefactorRefusal", "RefactorResult", "check_extraction", "extract_to_service"]
