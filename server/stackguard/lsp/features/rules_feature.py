"""Guardrail diagnostics, quick fixes and rule hover in the editor.

Translation only: analysis lives in ``analysis.project.ProjectAnalyzer`` and
fixes in ``fixes``. This module decides *when* to analyse (debounced per URI,
stale runs dropped), turns findings into diagnostics (each carrying the
finding in ``data`` so code actions never re-lint), and turns fixes into
workspace edits the client can take (resolve when it supports it, else a
command that applies the edit with ``workspace/applyEdit``).
"""

from __future__ import annotations

import asyncio
import gc
import inspect
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.workspace.position_codec import PositionCodec, ServerTextPosition, ServerTextRange

from ...analysis.project import DocumentAnalysis, ProjectAnalyzer, python_files
from ...analysis.suppress import Suppressions
from ...config_scan import is_config_file, scan_config_text, tracked_config_files
from ...fixes import FIXABLE_CODES, FileEdit, Fix, fix_all, fix_for, ignore_fix, text_edits
from ...rules import Finding, rule_by_code
from ..server import CommandError, Feature, StackguardServer
from ..workspace_state import FolderState, path_to_uri, uri_to_path

log = logging.getLogger(__name__)

SOURCE = "stackguard"
FIX_ALL_KIND = "source.fixAll.stackguard"
FIX_ALL_COMMAND = "stackguard.fixAll"
APPLY_FIX_COMMAND = "stackguard.applyFix"
# Every kind any feature offers: clients filter requests (and menus) by these.
CODE_ACTION_KINDS = [
    types.CodeActionKind.QuickFix,
    FIX_ALL_KIND,
    "source.generateMigration",
    "refactor.extract.service",
    "refactor.rewrite.repositoryMethod",
    # Agent variants: sub-kinds, so clients filtering by the parents see them.
    "refactor.extract.service.agent",
    "refactor.rewrite.repositoryMethod.agent",
    "source.generateMigration.agent",
]
SEVERITY = {
    "error": types.DiagnosticSeverity.Error,
    "warning": types.DiagnosticSeverity.Warning,
    "info": types.DiagnosticSeverity.Information,
    "hint": types.DiagnosticSeverity.Hint,
}


@dataclass
class _DocumentState:
    version: int | None
    findings: list[Finding]
    analyzer: ProjectAnalyzer


def _lines(text: str) -> list[str]:
    return text.splitlines(keepends=True) or [""]


def to_client_range(lines: list[str], line: int, column: int, end_line: int, end_column: int, codec: PositionCodec) -> types.Range:
    """1-based lines / 0-based code-point columns → the negotiated encoding."""
    last = max(len(lines) - 1, 0)

    def clamp(line0: int, character: int) -> tuple[int, int, bool]:
        line0 = min(max(line0, 0), last)
        text = lines[line0].rstrip("\r\n") if lines else ""
        return line0, min(max(character, 0), len(text)), text.isascii()

    start_line, start_char, start_ascii = clamp(line - 1, column)
    end_line0, end_char, end_ascii = clamp(end_line - 1, end_column)
    if start_ascii and end_ascii:
        # One code unit per character in every encoding: the codec's
        # per-character count costs more than the whole analysis of an edit
        # when a file has a hundred findings.
        return types.Range(types.Position(start_line, start_char), types.Position(end_line0, end_char))
    return codec.range_to_client_units(
        lines, ServerTextRange(ServerTextPosition(start_line, start_char), ServerTextPosition(end_line0, end_char))
    )


def from_client_position(lines: list[str], position: types.Position, codec: PositionCodec) -> tuple[int, int]:
    """Client position → (1-based line, 0-based code-point column)."""
    server = codec.position_from_client_units(lines, position)
    return server.line + 1, server.character


# What a diagnostic's ``data`` leaves out of the finding: the diagnostic and
# its URI already say it, and every byte is serialised on every keystroke.
_IMPLIED_KEYS = ("path", "relative", "name", "message")


def compact_finding(finding: Finding) -> dict[str, Any]:
    raw = finding.to_dict()
    for key in _IMPLIED_KEYS:
        raw.pop(key, None)
    return raw


def expand_finding(raw: dict[str, Any], uri: str, message: str, analyzer: ProjectAnalyzer | None) -> Finding:
    path = uri_to_path(uri)
    path_text = str(path) if path is not None else uri
    relative = (analyzer.relative(path_text) if analyzer is not None else None) or Path(path_text).name
    rule = rule_by_code(str(raw["code"]))
    implied = {"path": path_text, "relative": relative, "name": rule.name if rule else raw["code"], "message": message}
    return Finding.from_dict({**raw, **implied})


class RulesFeature(Feature):
    name = "rules"

    def __init__(self, server: StackguardServer) -> None:
        super().__init__(server)
        self.analyzers: dict[str, ProjectAnalyzer] = {}
        self.documents: dict[str, _DocumentState] = {}
        self._pending: dict[str, asyncio.Task[None]] = {}
        self._indexing: dict[str, asyncio.Task[None]] = {}
        self._workspace_uris: set[str] = set()
        # Config files git tracks, per project root (the secrets scan skips
        # untracked files: an untracked .env is where secrets belong).
        self._tracked: dict[str, set[str]] = {}
        server.register_command(FIX_ALL_COMMAND, self.fix_all_command)
        server.register_command(APPLY_FIX_COMMAND, self.apply_fix_command)
        self._register_handlers()

    # -- LSP handlers that belong to this feature -----------------------------
    def _register_handlers(self) -> None:
        feature = self

        @self.server.feature(
            types.TEXT_DOCUMENT_CODE_ACTION,
            types.CodeActionOptions(code_action_kinds=CODE_ACTION_KINDS, resolve_provider=True),
        )
        async def code_action(ls: StackguardServer, params: types.CodeActionParams) -> list[types.CodeAction] | None:
            return await feature.code_actions(params)

        @self.server.feature(types.CODE_ACTION_RESOLVE)
        async def code_action_resolve(ls: StackguardServer, action: types.CodeAction) -> types.CodeAction:
            return await feature.resolve(action)

        @self.server.feature(types.WORKSPACE_SYMBOL)
        async def workspace_symbol(
            ls: StackguardServer, params: types.WorkspaceSymbolParams
        ) -> list[types.SymbolInformation]:
            return await feature.route_symbols(params.query)

    # -- analyzers -------------------------------------------------------------
    def _analyzer_key(self, folder: FolderState, root: str) -> str:
        return f"{folder.uri}\0{root}"

    def analyzer_for(self, uri: str) -> ProjectAnalyzer | None:
        folder = self.server.state.folder_for(uri)
        path = uri_to_path(uri)
        if folder is None or path is None:
            return None
        profile = folder.profile_for_path(path)
        root = profile.root if profile is not None else str(folder.path)
        key = self._analyzer_key(folder, root)
        analyzer = self.analyzers.get(key)
        settings = folder.resolved.settings
        if analyzer is None or analyzer.settings != settings or analyzer.profile is not profile:
            analyzer = ProjectAnalyzer(root, profile, settings)
            self.analyzers[key] = analyzer
            self._start_index(key, analyzer)
        return analyzer

    def _start_index(self, key: str, analyzer: ProjectAnalyzer) -> None:
        async def build() -> None:
            try:
                await asyncio.to_thread(analyzer.build_index)
            except Exception as exc:
                self.server.log_exception(f"indexing {analyzer.root} failed", exc)
                return
            if self.analyzers.get(key) is not analyzer:
                return
            # The index lives as long as the analyzer: keep the cyclic GC
            # from walking it again on every collection.
            gc.freeze()
            # Cross-file rules (SG202, SG103) see the whole project now.
            for uri, state in list(self.documents.items()):
                if state.analyzer is analyzer:
                    self.schedule(uri, delay=0)
            if analyzer.settings.diagnostics.workspace:
                await self._publish_workspace(analyzer)

        previous = self._indexing.get(key)
        if previous is not None and not previous.done():
            previous.cancel()
        self._indexing[key] = self.server.run_task(build(), name=f"index {analyzer.root}")

    def _reset(self) -> None:
        """Settings or stacks changed: new analyzers, re-analyse open documents."""
        self.analyzers.clear()
        self._tracked.clear()
        for uri in list(self.server.workspace.text_documents):
            if self._is_analysed(uri):
                self.schedule(uri, delay=0)
        self._index_workspace_if_asked()

    # -- hooks -------------------------------------------------------------------
    def _is_analysed(self, uri: str) -> bool:
        """Python documents, and config files (YAML/TOML/JSON/INI/.env) for
        the secrets scan (which only reports on files git tracks)."""
        if uri.endswith(".py"):
            return True
        path = uri_to_path(uri)
        return path is not None and is_config_file(path.name)

    def document_open(self, uri: str) -> None:
        if self._is_analysed(uri):
            self.schedule(uri, delay=0)

    def document_change(self, uri: str) -> None:
        if self._is_analysed(uri):
            folder = self.server.state.folder_for(uri)
            delay = (folder.resolved.settings.diagnostics.debounce_ms if folder else 150) / 1000
            self.schedule(uri, delay=delay)

    def document_save(self, uri: str) -> None:
        # A saved config file may just have been added to git.
        if self._is_analysed(uri) and not uri.endswith(".py"):
            self._tracked.clear()
            self.schedule(uri, delay=0)

    def document_close(self, uri: str) -> None:
        task = self._pending.pop(uri, None)
        if task is not None:
            task.cancel()
        state = self.documents.pop(uri, None)
        path = uri_to_path(uri)
        if state is not None and path is not None:
            state.analyzer.close_document(str(path))
        if state is not None and state.analyzer.settings.diagnostics.workspace:
            self.server.run_task(self._publish_from_disk(state.analyzer, uri), name=f"disk {uri}")
            return
        self.server.diagnostics.clear(SOURCE, uri)
        self.server.diagnostics.publish(uri)

    def watched_files_changed(self, changes: list[types.FileEvent]) -> None:
        for change in changes:
            if change.type != types.FileChangeType.Deleted or not change.uri.endswith(".py"):
                continue
            path = uri_to_path(change.uri)
            self.documents.pop(change.uri, None)
            self.server.diagnostics.clear(SOURCE, change.uri)
            self.server.diagnostics.publish(change.uri)
            for analyzer in self.analyzers.values():
                if path is not None:
                    for relative in analyzer.forget(str(path)):
                        self._reschedule_relative(analyzer, relative)

    def stack_changed(self, folder: FolderState) -> None:
        self._reset()

    def configuration_changed(self) -> None:
        self._reset()

    def _index_workspace_if_asked(self) -> None:
        """With diagnostics.workspace on, index (and so report on) every root
        now, not only once a document opens."""
        if any(folder.resolved.settings.diagnostics.workspace for folder in self.server.state):
            self.server.run_task(self._ensure_indexed(), name="workspace diagnostics")

    def folders_changed(self, added: list[FolderState], removed: list[FolderState]) -> None:
        for folder in removed:
            for key in [k for k in self.analyzers if k.startswith(folder.uri + "\0")]:
                del self.analyzers[key]
            for uri in [u for u in self.documents if u.startswith(folder.uri.rstrip("/") + "/")]:
                self.documents.pop(uri, None)
                self.server.diagnostics.clear(SOURCE, uri)
                self.server.diagnostics.publish(uri)

    async def diagnostics_requested(self, uri: str) -> None:
        task = self._pending.get(uri)
        if task is not None and not task.done():
            try:
                await asyncio.shield(task)
            except (asyncio.CancelledError, Exception):
                pass

    async def workspace_diagnostics_requested(self) -> None:
        """With diagnostics.workspace on, the cold index publishes the files
        that are not open: make sure it ran."""
        await self._ensure_indexed()

    async def _ensure_indexed(self) -> None:
        """An analyzer for every project root, each with its cold index built."""
        for folder in self.server.state:
            for profile in folder.profiles or []:
                self.analyzer_for(path_to_uri(Path(profile.root) / "__init__.py"))
            if not folder.profiles:
                self.analyzer_for(path_to_uri(folder.path / "__init__.py"))
        pending = [task for task in self._indexing.values() if not task.done()]
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)

    async def shutdown(self) -> None:
        for task in [*self._pending.values(), *self._indexing.values()]:
            task.cancel()

    # -- analysis ------------------------------------------------------------
    def schedule(self, uri: str, delay: float) -> None:
        previous = self._pending.get(uri)
        if previous is not None and not previous.done():
            previous.cancel()
        self._pending[uri] = self.server.run_task(self._analyze(uri, delay), name=f"analyze {uri}")

    async def _analyze(self, uri: str, delay: float) -> None:
        if delay:
            await asyncio.sleep(delay)
        document = self.server.workspace.text_documents.get(uri)
        if document is None:
            return
        analyzer = self.analyzer_for(uri)
        path = uri_to_path(uri)
        if analyzer is None or path is None:
            return
        version, text = document.version, document.source
        if not uri.endswith(".py"):
            await self._analyze_config(uri, path, version, text, analyzer)
            return
        analysis = await asyncio.to_thread(analyzer.analyze, str(path), text)
        current = self.server.workspace.text_documents.get(uri)
        if current is None or current.version != version:
            return  # a newer edit is already scheduled; drop this stale run
        for error in analysis.rule_errors:
            self.server.log(f"rule error: {error}", types.MessageType.Error)
        self._publish(uri, version, text, analyzer, analysis)
        for relative in analysis.affected:
            self._reschedule_relative(analyzer, relative)

    async def _analyze_config(self, uri: str, path: Path, version: int | None, text: str, analyzer: ProjectAnalyzer) -> None:
        relative = analyzer.relative(path)
        if relative is None:
            return
        tracked = self._tracked.get(str(analyzer.root))
        if tracked is None:
            tracked = set(await asyncio.to_thread(tracked_config_files, analyzer.root))
            self._tracked[str(analyzer.root)] = tracked
        findings: list[Finding] = []
        if relative in tracked:
            findings = await asyncio.to_thread(
                scan_config_text, relative, text, path=str(path), settings=analyzer.settings
            )
        current = self.server.workspace.text_documents.get(uri)
        if current is None or current.version != version:
            return
        self._publish(uri, version, text, analyzer, DocumentAnalysis(relative, findings, layer="config"))

    def _reschedule_relative(self, analyzer: ProjectAnalyzer, relative: str) -> None:
        uri = path_to_uri(analyzer.root / relative)
        if uri in self.server.workspace.text_documents:
            self.schedule(uri, delay=0)
        elif uri in self._workspace_uris:
            self.server.run_task(self._publish_from_disk(analyzer, uri), name=f"disk {uri}")

    def _publish(self, uri: str, version: int | None, text: str, analyzer: ProjectAnalyzer, analysis: DocumentAnalysis) -> None:
        lines = _lines(text)
        codec = self.server.workspace.position_codec
        if analysis.findings is None:
            if analysis.excluded:
                self.documents.pop(uri, None)
                self.server.diagnostics.clear(SOURCE, uri)
                self.server.diagnostics.publish(uri)
                return
            previous = self.documents.get(uri)
            if previous is not None and previous.findings is not None and analysis.parse_problem and analysis.parse_problem.kind == "syntax":
                # Mid-typing syntax error: keep the last good results.
                return
            problem = analysis.parse_problem
            diagnostics = []
            if problem is not None:
                diagnostics.append(
                    types.Diagnostic(
                        range=to_client_range(lines, problem.line, problem.column, problem.line, problem.column + 1, codec),
                        message=f"stackguard did not analyse this file: {problem.message}",
                        severity=types.DiagnosticSeverity.Information,
                        source=SOURCE,
                        code="parse",
                    )
                )
            self.documents[uri] = _DocumentState(version, [], analyzer)
            self.server.diagnostics.set(SOURCE, uri, diagnostics, version)
            self.server.diagnostics.publish(uri)
            return
        self.documents[uri] = _DocumentState(version, analysis.findings, analyzer)
        diagnostics = [self.to_diagnostic(f, lines, codec, uri, version) for f in analysis.findings]
        self.server.diagnostics.set(SOURCE, uri, diagnostics, version)
        self.server.diagnostics.publish(uri)

    async def _publish_from_disk(self, analyzer: ProjectAnalyzer, uri: str) -> None:
        path = uri_to_path(uri)
        if path is None or uri in self.server.workspace.text_documents:
            return
        analysis = await asyncio.to_thread(analyzer.analyze_file, str(path))
        if uri in self.server.workspace.text_documents:
            return
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            text = ""
        findings = analysis.findings or []
        lines = _lines(text)
        codec = self.server.workspace.position_codec
        self._workspace_uris.add(uri)
        self.server.diagnostics.set(SOURCE, uri, [self.to_diagnostic(f, lines, codec, uri, None) for f in findings], None)
        self.server.diagnostics.publish(uri)

    async def _publish_workspace(self, analyzer: ProjectAnalyzer) -> None:
        for relative in await asyncio.to_thread(python_files, analyzer.root, analyzer.settings.exclude):
            uri = path_to_uri(analyzer.root / relative)
            if uri not in self.server.workspace.text_documents:
                await self._publish_from_disk(analyzer, uri)

    def to_diagnostic(self, finding: Finding, lines: list[str], codec: PositionCodec, uri: str, version: int | None) -> types.Diagnostic:
        rule = rule_by_code(finding.code)
        description = None
        if rule is not None and self.server.client_support.diagnostic_code_description:
            description = types.CodeDescription(href=rule.doc().url)
        return types.Diagnostic(
            range=to_client_range(lines, finding.line, finding.column, finding.end_line, finding.end_column, codec),
            message=finding.message,
            severity=SEVERITY.get(finding.severity, types.DiagnosticSeverity.Warning),
            code=finding.code,
            code_description=description,
            source=SOURCE,
            data={"version": version, "finding": compact_finding(finding)},
        )

    # -- code actions ------------------------------------------------------------
    def _finding_of(self, uri: str, diagnostic: types.Diagnostic, lines: list[str]) -> Finding | None:
        """The finding behind a diagnostic the client sent back: from its
        ``data``, else (clients that drop ``data``) matched by code and line."""
        data = diagnostic.data
        if isinstance(data, dict) and isinstance(data.get("finding"), dict):
            try:
                return expand_finding(data["finding"], uri, diagnostic.message, self.analyzer_for(uri))
            except (TypeError, KeyError, ValueError):
                pass
        state = self.documents.get(uri)
        if state is None:
            return None
        line = diagnostic.range.start.line + 1
        return next((f for f in state.findings if f.code == diagnostic.code and f.line == line), None)

    async def code_actions(self, params: types.CodeActionParams) -> list[types.CodeAction] | None:
        uri = params.text_document.uri
        document = self.server.workspace.text_documents.get(uri)
        if document is None or not self._is_analysed(uri):
            return None
        # JSON and JS/TS sources have no `#` comments to carry an ignore directive.
        can_ignore = uri.endswith((".py", ".yaml", ".yml", ".toml", ".ini", ".cfg")) or "/.env" in uri
        only = params.context.only
        wants = lambda kind: only is None or any(kind == o or kind.startswith(f"{o}.") for o in only)  # noqa: E731
        lines = _lines(document.source)
        actions: list[types.CodeAction] = []
        resolve_edit = self.server.client_support.code_action_resolve_edit
        if wants(types.CodeActionKind.QuickFix):
            for diagnostic in params.context.diagnostics:
                if diagnostic.source != SOURCE or not isinstance(diagnostic.code, str) or not diagnostic.code.startswith("SG"):
                    continue
                finding = self._finding_of(uri, diagnostic, lines)
                if finding is None:
                    continue
                if finding.fix_title and finding.code in FIXABLE_CODES:
                    payload = {"kind": "fix", "uri": uri, "version": document.version, "finding": finding.to_dict()}
                    action = types.CodeAction(
                        title=finding.fix_title,
                        kind=types.CodeActionKind.QuickFix,
                        diagnostics=[diagnostic],
                        is_preferred=finding.fixable,
                    )
                    if resolve_edit:
                        action.data = payload
                    else:
                        action.command = types.Command(title=finding.fix_title, command=APPLY_FIX_COMMAND, arguments=[payload])
                    actions.append(action)
                if not can_ignore:
                    continue
                # "Ignore" edits are one line: cheap enough to compute now.
                ignore = ignore_fix(finding, document.source)
                actions.append(
                    types.CodeAction(
                        title=ignore.title,
                        kind=types.CodeActionKind.QuickFix,
                        diagnostics=[diagnostic],
                        edit=self.workspace_edit(ignore, {uri: document.source}),
                    )
                )
        state = self.documents.get(uri)
        has_safe = state is not None and any(f.fixable for f in state.findings)
        if wants(FIX_ALL_KIND) and (has_safe or (only is not None and FIX_ALL_KIND in only)):
            payload = {"kind": "fixAll", "uri": uri, "version": document.version}
            action = types.CodeAction(title="stackguard: fix all safe problems", kind=FIX_ALL_KIND)
            if resolve_edit:
                action.data = payload
            elif only is not None and any(FIX_ALL_KIND.startswith(o) and o.startswith("source") for o in only):
                # Explicitly requested (fix-all on save): the client wants the edit now.
                action.edit = await self._fix_all_edit(uri)
            else:
                # Never run libcst while a client merely lists actions at the cursor.
                action.command = types.Command(title=action.title, command=FIX_ALL_COMMAND, arguments=[{"uri": uri}])
            actions.append(action)
        actions.extend(await self._feature_code_actions(uri, params, document.source))
        return actions

    async def _feature_code_actions(self, uri: str, params: types.CodeActionParams, text: str) -> list[types.CodeAction]:
        """Actions other features add (refactors, migrations, agent variants):
        each may implement ``extra_code_actions(uri, params, text)``; one that
        fails is logged and skipped, the others still answer."""
        extra: list[types.CodeAction] = []
        for feature in self.server.features:
            hook = getattr(feature, "extra_code_actions", None)
            if feature is self or hook is None:
                continue
            try:
                result = hook(uri, params, text)
                if inspect.isawaitable(result):
                    result = await result
                extra.extend(result or [])
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.server.log_exception(f"feature {feature.name!r} failed to list code actions", exc)
        return extra

    async def resolve(self, action: types.CodeAction) -> types.CodeAction:
        payload = action.data if isinstance(action.data, dict) else {}
        if payload.get("kind") == "fix":
            action.edit = await self._fix_edit(payload)
            return action
        if payload.get("kind") == "fixAll":
            action.edit = await self._fix_all_edit(str(payload.get("uri", "")))
            return action
        # Payload kinds other features own: the first that resolves it wins.
        for feature in self.server.features:
            hook = getattr(feature, "resolve_code_action", None) or getattr(feature, "resolve", None)
            if feature is self or hook is None:
                continue
            try:
                result = hook(action)
                if inspect.isawaitable(result):
                    result = await result
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.server.log_exception(f"feature {feature.name!r} failed to resolve a code action", exc)
                continue
            if result is not None:
                return result
        return action

    async def _current_finding(self, uri: str, finding: Finding, version: Any) -> Finding | None:
        """The finding as of the document's current version: when the text
        changed since the diagnostic, re-analyse and match by code and data."""
        document = self.server.workspace.text_documents.get(uri)
        if document is None or document.version == version:
            return finding
        await self.diagnostics_requested(uri)
        state = self.documents.get(uri)
        if state is None:
            return None
        same = [f for f in state.findings if f.code == finding.code]
        return next((f for f in same if f.data == finding.data), None) or next(
            (f for f in same if f.line == finding.line), None
        )

    async def _fix_edit(self, payload: dict[str, Any]) -> types.WorkspaceEdit | None:
        uri = str(payload.get("uri", ""))
        document = self.server.workspace.text_documents.get(uri)
        if document is None or not isinstance(payload.get("finding"), dict):
            return None
        finding = await self._current_finding(uri, Finding.from_dict(payload["finding"]), payload.get("version"))
        if finding is None:
            return None
        analyzer = self.analyzer_for(uri)
        errors_module = analyzer.index.errors_module() if analyzer is not None else None
        text = self.server.workspace.text_documents[uri].source
        fix = await asyncio.to_thread(
            fix_for,
            finding,
            text,
            project_root=str(analyzer.root) if analyzer else None,
            errors_module=errors_module,
        )
        if fix is None:
            return None
        return self.workspace_edit(fix, {uri: text})

    async def _fix_all_edit(self, uri: str) -> types.WorkspaceEdit | None:
        document = self.server.workspace.text_documents.get(uri)
        analyzer = self.analyzer_for(uri)
        path = uri_to_path(uri)
        if document is None or analyzer is None or path is None:
            return None
        original = document.source

        def run() -> str:
            def check(text: str) -> list[Finding]:
                from ...analysis.source import parse_source

                relative = analyzer.relative(path) or path.name
                source = parse_source(str(path), relative, text)
                if source.tree is None:
                    return []
                layer = analyzer.summary_of(relative, source.tree).layer
                return analyzer.engine.check(source, layer, profile=analyzer.profile, index=analyzer.index).findings

            new_text, _ = fix_all(original, check, project_root=str(analyzer.root))
            return new_text

        new_text = await asyncio.to_thread(run)
        if new_text == original:
            return types.WorkspaceEdit(changes={})
        edits = text_edits(original, new_text)
        return self.workspace_edit(Fix("fix all", "*", (FileEdit(str(path), edits),), True), {uri: original})

    def workspace_edit(self, fix: Fix, texts: dict[str, str]) -> types.WorkspaceEdit | None:
        """A Fix as the WorkspaceEdit this client can apply: documentChanges
        with versions (and CreateFile when it supports resource operations),
        else plain ``changes``. A fix that must create a file is not offered
        to a client that cannot create files."""
        support = self.server.client_support
        codec = self.server.workspace.position_codec
        document_changes: list[Any] = []
        changes: dict[str, list[types.TextEdit]] = {}
        for file_edit in fix.edits:
            uri = path_to_uri(file_edit.path)
            if file_edit.create:
                if not (support.document_changes and support.resource_create):
                    return None
                document_changes.append(types.CreateFile(uri=uri, options=types.CreateFileOptions(ignore_if_exists=True)))
                whole = types.TextEdit(range=types.Range(types.Position(0, 0), types.Position(0, 0)), new_text=file_edit.new_text or "")
                document_changes.append(
                    types.TextDocumentEdit(
                        text_document=types.OptionalVersionedTextDocumentIdentifier(uri=uri, version=None), edits=[whole]
                    )
                )
                continue
            text = texts.get(uri)
            if text is None:
                document = self.server.workspace.text_documents.get(uri)
                if document is not None:
                    text = document.source
                else:
                    try:
                        text = Path(file_edit.path).read_text(encoding="utf-8")
                    except (OSError, UnicodeDecodeError):
                        return None
            lines = _lines(text)
            if file_edit.new_text is not None and not file_edit.edits:
                edits_core = text_edits(text, file_edit.new_text)
            else:
                edits_core = file_edit.edits
            lsp_edits = [
                types.TextEdit(
                    range=to_client_range(lines, e.line, e.column, e.end_line, e.end_column, codec), new_text=e.new_text
                )
                for e in edits_core
            ]
            changes[uri] = lsp_edits
            open_document = self.server.workspace.text_documents.get(uri)
            document_changes.append(
                types.TextDocumentEdit(
                    text_document=types.OptionalVersionedTextDocumentIdentifier(
                        uri=uri, version=open_document.version if open_document else None
                    ),
                    edits=lsp_edits,
                )
            )
        if support.document_changes:
            return types.WorkspaceEdit(document_changes=document_changes)
        return types.WorkspaceEdit(changes=changes)

    # -- workspace symbols: routes ("GET /items/{item_id}") ---------------------
    async def route_symbols(self, query: str) -> list[types.SymbolInformation]:
        """Every route the indexes know, as ``METHOD /path``, filtered by a
        case-insensitive subsequence match on the query (as editors do)."""
        await self._ensure_indexed()
        wanted = query.lower().replace(" ", "")
        symbols: list[types.SymbolInformation] = []
        seen: set[tuple[str, str, int]] = set()
        for analyzer in list(self.analyzers.values()):
            for route in analyzer.index.routes:
                name = f"{route.method} {route.path}"
                if not _subsequence(wanted, name.lower().replace(" ", "")):
                    continue
                line = max((route.handler_line or route.line) - 1, 0)
                key = (name, route.relative, line)
                if key in seen:
                    continue
                seen.add(key)
                position = types.Position(line, 0)
                symbols.append(
                    types.SymbolInformation(
                        name=name,
                        kind=types.SymbolKind.Function,
                        location=types.Location(
                            uri=path_to_uri(analyzer.root / route.relative), range=types.Range(position, position)
                        ),
                        container_name=f"{route.framework} · {route.handler}",
                    )
                )
        return symbols

    # -- commands -------------------------------------------------------------
    async def _apply(self, edit: types.WorkspaceEdit | None, label: str) -> dict[str, Any]:
        if edit is None:
            return {"applied": False, "reason": "no fix applies to the current text"}
        result = await self.server.workspace_apply_edit_async(types.ApplyWorkspaceEditParams(edit=edit, label=label))
        return {"applied": bool(result.applied), "reason": result.failure_reason}

    async def apply_fix_command(self, argument: dict[str, Any]) -> dict[str, Any]:
        if not isinstance(argument.get("uri"), str) or not isinstance(argument.get("finding"), dict):
            raise CommandError("expected {uri, finding, version}")
        return await self._apply(await self._fix_edit({**argument, "kind": "fix"}), "stackguard: quick fix")

    async def fix_all_command(self, argument: dict[str, Any]) -> dict[str, Any]:
        uri = argument.get("uri")
        if not isinstance(uri, str):
            raise CommandError("expected {uri: <document uri>}")
        if uri not in self.server.workspace.text_documents:
            raise CommandError(f"{uri} is not open")
        return await self._apply(await self._fix_all_edit(uri), "stackguard: fix all")

    # -- hover -------------------------------------------------------------------
    def hover(self, uri: str, position: types.Position) -> str | None:
        document = self.server.workspace.text_documents.get(uri)
        if document is None or not uri.endswith(".py"):
            return None
        lines = _lines(document.source)
        line, column = from_client_position(lines, position, self.server.workspace.position_codec)
        # A suppression code in a comment: `# stackguard: ignore[SG201]`.
        text = lines[line - 1] if 0 < line <= len(lines) else ""
        if "stackguard:" in text:
            for directive_line, start, end, code in Suppressions.parse(text).directives:
                if start <= column <= end:
                    rule = rule_by_code(code)
                    return rule.doc().markdown if rule else f"Unknown stackguard rule `{code}`."
        state = self.documents.get(uri)
        if state is None:
            return None
        docs = []
        for finding in state.findings:
            starts = (finding.line, finding.column) <= (line, column)
            ends = (line, column) <= (finding.end_line, finding.end_column)
            if starts and ends:
                rule = rule_by_code(finding.code)
                if rule is not None and rule.doc().markdown not in docs:
                    docs.append(rule.doc().markdown)
        return "\n\n---\n\n".join(docs) or None


def _subsequence(needle: str, haystack: str) -> bool:
    characters = iter(haystack)
    return all(char in characters for char in needle)
