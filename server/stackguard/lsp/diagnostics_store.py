"""Diagnostics kept per (source, uri), so rule findings, verification output
and agent validation results never overwrite each other; a document's
diagnostics are the union of its sources.

Delivery follows the client: push (``textDocument/publishDiagnostics`` with
the document version) for clients without pull support; for pull clients the
union is served by ``textDocument/diagnostic`` with result ids, and
``workspace/diagnostic/refresh`` is sent only when the client advertises
``refreshSupport``.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING

from lsprotocol import types

if TYPE_CHECKING:
    from .server import StackguardServer

logger = logging.getLogger(__name__)

SOURCES = ("stackguard", "stackguard-stack", "stackguard-verify", "stackguard-agent")


class DiagnosticsStore:
    def __init__(self, server: StackguardServer) -> None:
        self._server = server
        self._items: dict[tuple[str, str], tuple[list[types.Diagnostic], int | None]] = {}
        # A per-process prefix: a client that kept a result id from an
        # earlier server process must not get "unchanged" for it.
        self._session = uuid.uuid4().hex[:8]
        self._generation = 0
        self._result_ids: dict[str, str] = {}
        self._refresh_pending = False
        self._changed = asyncio.Event()

    # -- storing ---------------------------------------------------------
    def set(
        self, source: str, uri: str, diagnostics: Sequence[types.Diagnostic], version: int | None = None
    ) -> None:
        self._check_source(source)
        self._items[(source, uri)] = (list(diagnostics), version)
        self._bump(uri)

    def clear(self, source: str, uri: str) -> None:
        self._check_source(source)
        if self._items.pop((source, uri), None) is not None:
            self._bump(uri)

    def clear_uri(self, uri: str) -> None:
        """Every source's diagnostics for a document (deleted file)."""
        removed = [key for key in self._items if key[1] == uri]
        for key in removed:
            del self._items[key]
        if removed:
            self._bump(uri)

    def get(self, uri: str) -> list[types.Diagnostic]:
        union: list[types.Diagnostic] = []
        for source in SOURCES:
            entry = self._items.get((source, uri))
            if entry is not None:
                union.extend(entry[0])
        return union

    def get_source(self, source: str, uri: str) -> list[types.Diagnostic]:
        entry = self._items.get((source, uri))
        return list(entry[0]) if entry else []

    def uris(self, source: str | None = None) -> set[str]:
        return {uri for (src, uri) in self._items if source is None or src == source}

    def result_id(self, uri: str) -> str:
        return self._result_ids.get(uri, f"{self._session}:0")

    def _check_source(self, source: str) -> None:
        if source not in SOURCES:
            raise ValueError(f"unknown diagnostics source {source!r}; expected one of {SOURCES}")

    def _bump(self, uri: str) -> None:
        self._generation += 1
        self._result_ids[uri] = f"{self._session}:{self._generation}"
        self._changed.set()

    async def wait_for_change(self, timeout: float) -> None:
        """Until any document's diagnostics change, or ``timeout`` seconds."""
        self._changed.clear()
        try:
            await asyncio.wait_for(self._changed.wait(), timeout)
        except asyncio.TimeoutError:
            pass

    def workspace_report(self, previous: dict[str, str], open_uris: set[str]) -> types.WorkspaceDiagnosticReport:
        """Every stored document that is not open (open ones are pulled per
        document), unchanged where the client's result id still matches."""
        items: list[types.WorkspaceDocumentDiagnosticReport] = []
        for uri in sorted(self.uris() - open_uris):
            result_id = self.result_id(uri)
            if previous.get(uri) == result_id:
                items.append(types.WorkspaceUnchangedDocumentDiagnosticReport(uri=uri, result_id=result_id, version=None))
            else:
                items.append(
                    types.WorkspaceFullDocumentDiagnosticReport(uri=uri, items=self.get(uri), result_id=result_id, version=None)
                )
        return types.WorkspaceDiagnosticReport(items=items)

    # -- delivering ------------------------------------------------------
    def _version(self, uri: str) -> int | None:
        versions = [
            version for (_, item_uri), (_, version) in self._items.items() if item_uri == uri and version is not None
        ]
        if versions:
            return max(versions)
        document = self._server.workspace.text_documents.get(uri)
        return document.version if document is not None else None

    def publish(self, uri: str) -> None:
        """Deliver the document's current union the way the client takes it."""
        support = self._server.client_support
        if not support.pull_diagnostics:
            self._server.text_document_publish_diagnostics(
                types.PublishDiagnosticsParams(uri=uri, diagnostics=self.get(uri), version=self._version(uri))
            )
            return
        if support.diagnostic_refresh:
            self._schedule_refresh()

    def _schedule_refresh(self) -> None:
        # Several publishes in one tick (a re-detection touching many files)
        # become a single refresh request.
        if self._refresh_pending:
            return
        self._refresh_pending = True
        self._server.run_task(self._refresh(), name="diagnostic-refresh")

    async def _refresh(self) -> None:
        await asyncio.sleep(0)
        self._refresh_pending = False
        try:
            await self._server.workspace_diagnostic_refresh_async(None)
        except Exception as exc:  # the client may reject it; pulls still work
            logger.warning("workspace/diagnostic/refresh failed: %s", exc)

    def report(self, uri: str, previous_result_id: str | None) -> types.DocumentDiagnosticReport:
        """The pull answer for one document."""
        result_id = self.result_id(uri)
        if previous_result_id is not None and previous_result_id == result_id:
            return types.UnchangedDocumentDiagnosticReport(result_id=result_id)
        return types.FullDocumentDiagnosticReport(items=self.get(uri), result_id=result_id)
