"""Generate a migration from the editor.

* Command ``stackguard.generateMigration`` with one argument object
  ``{folder: <folder URI>, message?, mode?, location?}``. ``mode`` is
  ``auto`` (default: Django's ``makemigrations`` for a Django project, the
  static Alembic generator otherwise) or ``autogenerate`` (``alembic
  revision --autogenerate`` against a scratch SQLite database, offered when
  env.py's database is SQLite). ``location`` picks one Alembic setup (its
  versions folder) when a folder has several.
* Code action ``source.generateMigration`` on SG601 diagnostics, carrying
  that command. ``RulesFeature`` owns ``textDocument/codeAction``; it asks
  every feature with an ``extra_code_actions(uri, params, document)`` hook
  for more actions, and this is that hook.

A static Alembic revision is created with ``workspace/applyEdit`` (a
``CreateFile`` plus the content) when the client supports resource
operations; otherwise the server writes the file itself and says so with
``window/showMessage``. Files written by the tools (Django, autogenerate)
are already on disk. New files are then opened with ``window/showDocument``
where the client supports it, and open model files are re-checked so their
SG601 diagnostics go away.

Translation only: finding and writing the migration is in
``stackguard.migrations``.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from pathlib import Path
from typing import Any

from lsprotocol import types

from ...analysis.index import WorkspaceIndex
from ...analysis.project import python_files
from ...migrations.diff import project_diff
from ...migrations.generate import (
    GenerationResult,
    choose_setup,
    find_manage_py,
    plan_alembic_migration,
    run_alembic_autogenerate,
    run_makemigrations,
    scratch_database_plan,
    write_new_file,
)
from ..server import CommandError, Feature, StackguardServer
from ..workspace_state import path_to_uri, uri_to_path

log = logging.getLogger(__name__)

GENERATE_COMMAND = "stackguard.generateMigration"
GENERATE_KIND = "source.generateMigration"
SOURCE = "stackguard"
# How long a "can alembic autogenerate here?" answer is reused by code actions.
_PLAN_TTL_S = 30.0
_MAX_TIMEOUT_S = 300.0


def _finding_data(diagnostic: types.Diagnostic) -> dict[str, Any]:
    data = diagnostic.data
    if isinstance(data, dict) and isinstance(data.get("finding"), dict):
        inner = data["finding"].get("data")
        if isinstance(inner, dict):
            return inner
    return {}


def _message_for(datas: list[dict[str, Any]]) -> str:
    parts: list[str] = []
    priority = {"missing_table": 0, "missing_column": 1, "extra_column": 2}
    for data in sorted(datas, key=lambda d: priority.get(str(d.get("kind")), 3)):
        table, column, kind = data.get("table"), data.get("column"), data.get("kind")
        if kind == "missing_table":
            text = f"create {table}"
        elif kind == "missing_column":
            text = f"add {table}.{column}"
        elif kind == "extra_column":
            text = f"drop {table}.{column}"
        else:
            text = f"update {table}"
        if text not in parts:
            parts.append(text)
    return ", ".join(parts[:3]) + (" and more" if len(parts) > 3 else "") if parts else "update schema"


class _Progress:
    """``$/progress`` for one generation (cancellable), or nothing for
    clients without ``window.workDoneProgress``."""

    def __init__(self, server: StackguardServer) -> None:
        self._server = server
        self.cancel = asyncio.Event()
        self.token: str | None = None

    async def begin(self, title: str, message: str) -> None:
        if not self._server.client_support.work_done_progress:
            return
        token = str(uuid.uuid4())
        try:
            await self._server.work_done_progress.create_async(token)
        except Exception as exc:  # noqa: BLE001  # the client refused: run without progress
            log.info("window/workDoneProgress/create failed: %s", exc)
            return
        self.token = token
        self._server.work_done_progress.begin(token, types.WorkDoneProgressBegin(title=title, message=message, cancellable=True))
        future = self._server.work_done_progress.tokens.get(token)
        if future is not None:
            loop = asyncio.get_running_loop()

            def on_done(done: Any) -> None:
                if done.cancelled():
                    loop.call_soon_threadsafe(self.cancel.set)

            future.add_done_callback(on_done)

    def end(self, message: str) -> None:
        if self.token is not None:
            self._server.work_done_progress.end(self.token, types.WorkDoneProgressEnd(message=message))
            self._server.work_done_progress.tokens.pop(self.token, None)
            self.token = None


class MigrationsFeature(Feature):
    name = "migrations"

    def __init__(self, server: StackguardServer) -> None:
        super().__init__(server)
        self._plans: dict[str, tuple[float, bool]] = {}
        self._running: set[str] = set()
        server.register_command(GENERATE_COMMAND, self.generate_command)

    # -- code actions (called by RulesFeature) --------------------------------
    def extra_code_actions(self, uri: str, params: types.CodeActionParams, document: Any = None) -> list[types.CodeAction]:
        only = params.context.only
        if only is not None and not any(GENERATE_KIND == o or GENERATE_KIND.startswith(f"{o}.") for o in only):
            return []
        diagnostics = [
            d for d in params.context.diagnostics if d.source == SOURCE and d.code == "SG601"
        ]
        if not diagnostics:
            return []
        datas = [_finding_data(d) for d in diagnostics]
        root = next((str(d["root"]) for d in datas if d.get("root")), None)
        if root is None:
            folder = self.server.state.folder_for(uri)
            if folder is None:
                return []
            root = str(folder.path)
        tool = next((str(d["tool"]) for d in datas if d.get("tool")), "alembic")
        location = next((str(d["location"]) for d in datas if d.get("location")), None)
        message = _message_for(datas)
        argument: dict[str, Any] = {"folder": path_to_uri(root), "message": message}
        if tool == "alembic" and location:
            argument["location"] = location
        title = "Generate a migration" if tool == "alembic" else "Generate a migration (makemigrations)"
        actions = [
            types.CodeAction(
                title=title,
                kind=GENERATE_KIND,
                diagnostics=diagnostics,
                command=types.Command(title=title, command=GENERATE_COMMAND, arguments=[argument]),
            )
        ]
        if tool == "alembic" and self._can_autogenerate(Path(root), location):
            auto = {**argument, "mode": "autogenerate"}
            title = "Generate a migration (alembic autogenerate, scratch SQLite database)"
            actions.append(
                types.CodeAction(
                    title=title,
                    kind=GENERATE_KIND,
                    diagnostics=diagnostics,
                    command=types.Command(title=title, command=GENERATE_COMMAND, arguments=[auto]),
                )
            )
        return actions

    def _can_autogenerate(self, root: Path, location: str | None) -> bool:
        key = f"{root}\0{location or ''}"
        cached = self._plans.get(key)
        now = time.monotonic()
        if cached is not None and now - cached[0] < _PLAN_TTL_S:
            return cached[1]
        setup, _ = choose_setup(root, location)
        answer = setup is not None and scratch_database_plan(setup) is not None
        self._plans[key] = (now, answer)
        return answer

    # -- the command -------------------------------------------------------------
    async def generate_command(self, argument: dict[str, Any]) -> dict[str, Any]:
        folder_uri = argument.get("folder")
        if not isinstance(folder_uri, str):
            raise CommandError("expected {folder: <workspace folder URI>, message?}")
        root = uri_to_path(folder_uri)
        folder = self.server.state.folder_for(folder_uri)
        if root is None or folder is None or not root.is_dir():
            raise CommandError(f"{folder_uri} is not a folder of this workspace")
        message = argument.get("message")
        if message is not None and not isinstance(message, str):
            raise CommandError("message must be a string")
        mode = argument.get("mode", "auto")
        if mode not in ("auto", "autogenerate"):
            raise CommandError("mode must be 'auto' or 'autogenerate'")
        location = argument.get("location")
        location = location if isinstance(location, str) else None
        key = str(root)
        if key in self._running:
            raise CommandError(f"a migration is already being generated for {root}")
        self._running.add(key)
        try:
            result = await self._generate(root, folder.resolved.settings, message, mode, location)
            return await self._deliver(root, result)
        finally:
            self._running.discard(key)

    async def _generate(self, root: Path, settings: Any, message: str | None, mode: str, location: str | None) -> GenerationResult:
        timeout = float(min(max(settings.verify.timeout_seconds, 1), _MAX_TIMEOUT_S))
        interpreter = list(settings.interpreter)
        if mode == "autogenerate":
            progress = _Progress(self.server)
            await progress.begin("stackguard: alembic autogenerate", "running alembic against a scratch SQLite database")
            try:
                result = await run_alembic_autogenerate(
                    root, message, location=location, interpreter=interpreter, timeout=timeout, cancel=progress.cancel
                )
            finally:
                progress.end("done")
            return result
        setup, why = await asyncio.to_thread(choose_setup, root, location)
        manage = await asyncio.to_thread(find_manage_py, root) if setup is None else None
        if setup is None and manage is not None:
            index = await asyncio.to_thread(self._index, root, settings)
            apps = sorted({c.location for c in project_diff(index).changes if c.tool == "django"})
            progress = _Progress(self.server)
            await progress.begin("stackguard: makemigrations", " ".join(apps) or "all apps")
            try:
                return await run_makemigrations(
                    root, apps, message, interpreter=interpreter, timeout=timeout, cancel=progress.cancel
                )
            finally:
                progress.end("done")
        if setup is None:
            if why and why.startswith("several"):
                return GenerationResult("refused", why, "alembic")
            return GenerationResult("refused", f"no Alembic or Django migrations under {root}", "")
        index = await asyncio.to_thread(self._index, root, settings)
        return await asyncio.to_thread(plan_alembic_migration, root, index, message, location=location)

    @staticmethod
    def _index(root: Path, settings: Any) -> WorkspaceIndex:
        # From disk: the migration describes the saved models, as the tools do.
        return WorkspaceIndex.build(root, python_files(root, settings.exclude), settings_layers=dict(settings.layers))

    async def _deliver(self, root: Path, result: GenerationResult) -> dict[str, Any]:
        reply = result.to_dict()
        if result.status in ("refused", "failed"):
            self._tell(f"stackguard: {result.message}", types.MessageType.Warning)
            return reply
        if result.status == "no_changes":
            self._tell(f"stackguard: {result.message}", types.MessageType.Info)
            return reply
        created: list[Path] = list(result.paths)
        on_disk = True
        if result.content is not None and result.path is not None and not result.written:
            how, why = await self._create_file(root, result.path, result.content)
            reply["createdWith"] = how
            if how == "failed":
                reply["status"] = "failed"
                reply["message"] = f"the editor did not create {result.path.name}: {why}"
                self._tell(f"stackguard: {reply['message']}", types.MessageType.Warning)
                return reply
            created = [result.path]
            # Created through the editor: its didOpen brings the file to the rules.
            on_disk = how == "disk"
        else:
            reply["createdWith"] = result.tool
        for note in result.notes:
            self.server.log(f"generate migration: {note}", types.MessageType.Warning)
        if result.notes:
            self._tell(f"stackguard: {result.message}. Review it: " + "; ".join(result.notes), types.MessageType.Warning)
        await self._show(created)
        if on_disk:
            await self._recheck(created)
        return reply

    async def _create_file(self, root: Path, path: Path, content: str) -> tuple[str, str | None]:
        support = self.server.client_support
        uri = path_to_uri(path)
        if support.document_changes and support.resource_create:
            edit = types.WorkspaceEdit(
                document_changes=[
                    types.CreateFile(uri=uri, options=types.CreateFileOptions(overwrite=False, ignore_if_exists=False)),
                    types.TextDocumentEdit(
                        text_document=types.OptionalVersionedTextDocumentIdentifier(uri=uri, version=None),
                        edits=[types.TextEdit(range=types.Range(types.Position(0, 0), types.Position(0, 0)), new_text=content)],
                    ),
                ]
            )
            result = await self.server.workspace_apply_edit_async(
                types.ApplyWorkspaceEditParams(edit=edit, label="stackguard: generate migration")
            )
            if result.applied:
                return "workspaceEdit", None
            return "failed", result.failure_reason or "the edit was not applied"
        try:
            await asyncio.to_thread(write_new_file, path, content)
        except OSError as exc:
            return "failed", str(exc)
        try:
            shown = path.relative_to(root).as_posix()
        except ValueError:
            shown = str(path)
        self._tell(
            f"stackguard: wrote {shown} to disk (this editor cannot create files through the language server).",
            types.MessageType.Info,
        )
        return "disk", None

    def _tell(self, message: str, level: types.MessageType) -> None:
        self.server.log(message, level)
        try:
            self.server.window_show_message(types.ShowMessageParams(type=level, message=message))
        except Exception as exc:  # noqa: BLE001  # no client attached (unit use) or the pipe is gone
            log.debug("window/showMessage failed: %s", exc)

    async def _show(self, paths: list[Path]) -> None:
        if not self.server.client_support.show_document:
            return
        for path in paths[:3]:
            try:
                await self.server.window_show_document_async(types.ShowDocumentParams(uri=path_to_uri(path), take_focus=True))
            except Exception as exc:  # noqa: BLE001  # a client that advertises but fails: the file exists anyway
                log.info("window/showDocument failed for %s: %s", path, exc)

    async def _recheck(self, paths: list[Path]) -> None:
        """Tell the rule engine about files that exist on disk now, so SG601
        on open model files reflects the new migration."""
        from .rules_feature import RulesFeature

        rules = self.server.get_feature(RulesFeature)
        if rules is None:
            return
        for path in paths:
            if not path.is_file():
                continue  # created through the editor: its didOpen brings it in
            uri = path_to_uri(path)
            analyzer = rules.analyzer_for(uri)  # type: ignore[attr-defined]
            if analyzer is None:
                continue
            try:
                analysis = await asyncio.to_thread(analyzer.analyze_file, str(path))
            except Exception as exc:  # noqa: BLE001  # the migration exists; stale diagnostics are not worth failing for
                log.info("re-checking after %s failed: %s", path, exc)
                continue
            for relative in analysis.affected:
                target = path_to_uri(analyzer.root / relative)
                if target in self.server.workspace.text_documents:
                    rules.schedule(target, delay=0)  # type: ignore[attr-defined]
