"""Stack detection in the editor: detect each workspace folder off the event
loop, tell the client (``stackguard/stack``), turn unreadable configuration
into diagnostics, re-detect when manifests change, explain manifest lines on
hover, and the ``stackguard.showStack`` / ``stackguard.debugInfo`` commands.
"""

from __future__ import annotations

import asyncio
import logging
import os
import platform
import sys
from collections import defaultdict
from importlib import metadata
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.workspace.position_codec import PositionCodec, ServerTextPosition, ServerTextRange

from stackguard import __version__
from stackguard.config import settings_to_dict
from stackguard.profile_report import CATEGORY_LABELS, describe_fact, root_entry, unique_problems
from stackguard.stack import MANIFEST_GLOBS, Problem, StackProfile, detect_workspace, is_manifest

from ..server import Feature, StackguardServer
from ..workspace_state import FolderState, path_to_uri, uri_to_path

logger = logging.getLogger(__name__)

STACK_NOTIFICATION = "stackguard/stack"
SHOW_STACK_COMMAND = "stackguard.showStack"
DEBUG_INFO_COMMAND = "stackguard.debugInfo"
DIAGNOSTIC_SOURCE = "stackguard"
DIAGNOSTIC_CODE = "stack-config"
WATCHER_REGISTRATION_ID = "stackguard-manifest-watchers"
# Editors write a manifest in bursts (format-on-save, lock file after
# manifest); one detection for the burst.
REDETECT_DEBOUNCE_S = 0.2
WAIT_FOR_DETECTION_S = 30.0

_SEVERITIES = {
    "error": types.DiagnosticSeverity.Error,
    "warning": types.DiagnosticSeverity.Warning,
    "info": types.DiagnosticSeverity.Information,
}


def detect_folder(path: Path) -> list[StackProfile]:
    """``detect_workspace`` that cannot take the server down: a detector bug
    leaves the folder with no profiles and a log line."""
    try:
        return list(detect_workspace(path))
    except Exception:
        logger.exception("stack detection failed for %s", path)
        return []


def stack_payload(folder: FolderState) -> dict[str, Any]:
    """Params of ``stackguard/stack`` (and the result of showStack)."""
    return {
        "folder": folder.uri,
        "roots": [root_entry(profile, path_to_uri(profile.root)) for profile in folder.profiles],
    }


def _lines_of(server: StackguardServer, uri: str) -> list[str]:
    try:
        return list(server.workspace.get_text_document(uri).lines)
    except Exception:  # unreadable, binary, vanished: positions stay unconverted
        return []


def problem_range(problem: Problem, lines: list[str], codec: PositionCodec) -> types.Range:
    """Problem positions are 1-based code points (0 = unknown); LSP wants
    0-based positions in the negotiated encoding. Without a column the rest
    of the line is marked; without a line, the first line."""

    def text(index: int) -> str:
        return lines[index].rstrip("\r\n") if 0 <= index < len(lines) else ""

    if problem.line <= 0:
        start, end = (0, 0), (0, len(text(0)))
    else:
        start_line = problem.line - 1
        start = (start_line, max(problem.column - 1, 0))
        if problem.end_line > 0:
            end_line = problem.end_line - 1
            end = (end_line, problem.end_column - 1 if problem.end_column > 0 else len(text(end_line)))
        else:
            end = (start_line, len(text(start_line)))
        if end <= start:  # a point: one character wide, so editors can show it
            end = (start[0], start[1] + 1)
    if not lines:
        return types.Range(types.Position(*start), types.Position(*end))
    last = len(lines) - 1

    def server_position(line: int, character: int) -> ServerTextPosition:
        line = min(line, last)
        return ServerTextPosition(line, min(character, len(text(line))))

    return codec.range_to_client_units(
        lines, ServerTextRange(server_position(*start), server_position(*end))
    )


def problem_diagnostic(problem: Problem, lines: list[str], codec: PositionCodec) -> types.Diagnostic:
    return types.Diagnostic(
        range=problem_range(problem, lines, codec),
        message=problem.message,
        severity=_SEVERITIES.get(problem.severity, types.DiagnosticSeverity.Error),
        source=DIAGNOSTIC_SOURCE,
        code=DIAGNOSTIC_CODE,
    )


def evidence_hover(folder: FolderState, path: Path, line: int) -> str | None:
    """Markdown naming what each root detected from 1-based ``line`` of ``path``."""
    items: list[str] = []
    shown_path = path.name
    for profile in folder.profiles:
        try:
            relative = Path(os.path.relpath(path, profile.root)).as_posix()
        except ValueError:  # another drive on Windows
            continue
        for category, fact, evidence in profile.evidence_at(relative):
            if evidence.line != line:
                continue
            label = CATEGORY_LABELS.get(category, category)
            where = "" if profile.relative_root in (".", "") else f" in `{profile.relative_root}`"
            item = f"- {label}: **{describe_fact(fact)}**{where}"
            if item not in items:
                items.append(item)
            shown_path = relative
    if not items:
        return None
    return f"**stackguard** detected from `{shown_path}` line {line}:\n\n" + "\n".join(items)


# Detection problems are stored apart from rule findings (which may land on
# the same file), though both show as source "stackguard" in the editor.
STORE_KEY = "stackguard-stack"


class StackFeature(Feature):
    name = "stack"

    def __init__(self, server: StackguardServer) -> None:
        super().__init__(server)
        # Latest requested detection per folder; older runs discard their result.
        self._generation: dict[str, int] = defaultdict(int)
        self._pending: dict[str, asyncio.Task[None]] = {}
        self._problem_uris: dict[str, set[str]] = {}
        self._watching = False
        server.register_command(SHOW_STACK_COMMAND, self.show_stack)
        server.register_command(DEBUG_INFO_COMMAND, self.debug_info)

    # -- hooks -------------------------------------------------------------------
    async def initialized(self) -> None:
        if self.server.client_support.watched_files_dynamic_registration:
            await self._register_watchers()
        for folder in self.server.state:
            self.schedule(folder, delay=0)

    def folders_changed(self, added: list[FolderState], removed: list[FolderState]) -> None:
        for folder in removed:
            self._generation[folder.uri] += 1
            self._clear_problems(folder.uri)
        for folder in added:
            self.schedule(folder, delay=0)

    def document_save(self, uri: str) -> None:
        if self._watching:
            return  # the file watcher reports it
        self._redetect_for([uri])

    def watched_files_changed(self, changes: list[types.FileEvent]) -> None:
        self._redetect_for([change.uri for change in changes])

    def hover(self, uri: str, position: types.Position) -> str | None:
        folder = self.server.state.folder_for(uri)
        path = uri_to_path(uri)
        if folder is None or path is None or not folder.profiles:
            return None
        return evidence_hover(folder, path, position.line + 1)

    # -- detection -----------------------------------------------------------
    def _redetect_for(self, uris: list[str]) -> None:
        folders: dict[str, FolderState] = {}
        for uri in uris:
            path = uri_to_path(uri)
            folder = self.server.state.folder_for(uri)
            if path is not None and folder is not None and is_manifest(path, folder.path):
                folders[folder.uri] = folder
        for folder in folders.values():
            self.schedule(folder, delay=REDETECT_DEBOUNCE_S)

    def schedule(self, folder: FolderState, delay: float) -> asyncio.Task[None]:
        self._generation[folder.uri] += 1
        task = self.server.run_task(
            self._detect(folder, self._generation[folder.uri], delay), name=f"detect {folder.uri}"
        )
        self._pending[folder.uri] = task
        return task

    def _is_current(self, folder: FolderState, generation: int) -> bool:
        return self._generation[folder.uri] == generation and self.server.state.get(folder.uri) is folder

    async def _detect(self, folder: FolderState, generation: int, delay: float) -> None:
        if delay:
            await asyncio.sleep(delay)
        if not self._is_current(folder, generation):
            return
        profiles = await asyncio.to_thread(detect_folder, folder.path)
        if not self._is_current(folder, generation):
            return  # a newer detection was requested meanwhile; it will report
        folder.profiles = profiles
        folder.detections += 1
        self.server.protocol.notify(STACK_NOTIFICATION, stack_payload(folder))
        self._publish_problems(folder)
        await self.server.call_features("stack_changed", folder)
        before = folder.resolved.settings
        self.server.state.resolve(folder)  # stack.yaml may carry settings
        self.server.report_settings_problems(folder)
        if folder.resolved.settings != before:
            await self.server.call_features("configuration_changed")

    async def wait_for_detection(self, folder: FolderState) -> None:
        task = self._pending.get(folder.uri)
        if task is not None and not task.done():
            try:
                await asyncio.wait_for(asyncio.shield(task), WAIT_FOR_DETECTION_S)
            except (asyncio.TimeoutError, Exception):
                pass

    # -- diagnostics ---------------------------------------------------------
    def _publish_problems(self, folder: FolderState) -> None:
        by_uri: dict[str, list[types.Diagnostic]] = defaultdict(list)
        for problem in unique_problems(folder.profiles):
            uri = path_to_uri(problem.path)
            by_uri[uri].append(problem_diagnostic(problem, _lines_of(self.server, uri), self.server.workspace.position_codec))
        previous = self._problem_uris.get(folder.uri, set())
        store = self.server.diagnostics
        for uri in previous - by_uri.keys():
            store.clear(STORE_KEY, uri)
            store.publish(uri)
        for uri, diagnostics in by_uri.items():
            store.set(STORE_KEY, uri, diagnostics)
            store.publish(uri)
        self._problem_uris[folder.uri] = set(by_uri)

    def _clear_problems(self, folder_uri: str) -> None:
        for uri in self._problem_uris.pop(folder_uri, set()):
            self.server.diagnostics.clear(STORE_KEY, uri)
            self.server.diagnostics.publish(uri)

    async def _register_watchers(self) -> None:
        if not MANIFEST_GLOBS:
            return
        registration = types.Registration(
            id=WATCHER_REGISTRATION_ID,
            method=types.WORKSPACE_DID_CHANGE_WATCHED_FILES,
            register_options=types.DidChangeWatchedFilesRegistrationOptions(
                watchers=[types.FileSystemWatcher(glob_pattern=glob) for glob in MANIFEST_GLOBS]
            ),
        )
        try:
            await self.server.client_register_capability_async(types.RegistrationParams(registrations=[registration]))
            self._watching = True
        except Exception as exc:
            self.server.log(f"could not register manifest file watchers ({exc}); re-detecting on save instead")

    # -- commands --------------------------------------------------------------

    async def show_stack(self, argument: dict[str, Any]) -> dict[str, Any]:
        folders = self.server.folders_argument(argument.get("folder"))
        for folder in folders:
            await self.wait_for_detection(folder)
        lines = []
        for folder in folders:
            for profile in folder.profiles:
                where = folder.name if profile.relative_root in (".", "") else f"{folder.name}/{profile.relative_root}"
                lines.append(f"{where}: {profile.summary()}")
        if lines:
            self.server.window_show_message(
                types.ShowMessageParams(type=types.MessageType.Info, message="stackguard: " + "; ".join(lines))
            )
        payloads = [stack_payload(folder) for folder in folders]
        if "folder" in argument and argument["folder"] is not None:
            return payloads[0]
        return {"folders": payloads}

    def debug_info(self, argument: dict[str, Any]) -> dict[str, Any]:
        info = collect_debug_info(self.server)
        self.server.log(format_debug_info(info))
        return info


def _package_version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def collect_debug_info(server: StackguardServer) -> dict[str, Any]:
    client = server.client_info
    folders = []
    for folder in server.state:
        resolved = folder.resolved
        folders.append(
            {
                "uri": folder.uri,
                "path": str(folder.path),
                "detections": folder.detections,
                "roots": [
                    {
                        "root": path_to_uri(profile.root),
                        "relativeRoot": profile.relative_root,
                        "source": profile.source,
                        "stackFile": profile.stack_file,
                        "summary": profile.summary(),
                    }
                    for profile in folder.profiles
                ],
                "settings": settings_to_dict(resolved.settings),
                "settingsSources": dict(resolved.sources),
                "settingsProblems": [str(problem) for problem in resolved.problems],
            }
        )
    return {
        "stackguardVersion": __version__,
        "python": {"executable": sys.executable, "version": platform.python_version()},
        "pygls": _package_version("pygls"),
        "lsprotocol": _package_version("lsprotocol"),
        "client": {"name": client.name if client else None, "version": client.version if client else None},
        "positionEncoding": server.client_support.position_encoding,
        "clientSupport": server.client_support.to_dict(),
        "folders": folders,
    }


def format_debug_info(info: dict[str, Any]) -> str:
    client = info["client"]
    lines = [
        f"stackguard {info['stackguardVersion']}",
        f"python {info['python']['version']} ({info['python']['executable']})",
        f"pygls {info['pygls']}, lsprotocol {info['lsprotocol']}",
        f"client: {client['name'] or 'unknown'} {client['version'] or ''}".rstrip(),
        f"position encoding: {info['positionEncoding']}",
        "client support: "
        + ", ".join(f"{key}={value}" for key, value in info["clientSupport"].items() if key != "position_encoding"),
    ]
    for folder in info["folders"]:
        lines.append(f"folder {folder['uri']} ({folder['detections']} detection(s))")
        for root in folder["roots"]:
            lines.append(f"  root {root['relativeRoot']} [{root['source']}]: {root['summary']}")
        explicit = {key: source for key, source in folder["settingsSources"].items() if source != "default"}
        lines.append(
            "  settings from: "
            + (", ".join(f"{key}={source}" for key, source in sorted(explicit.items())) or "defaults only")
        )
        for problem in folder["settingsProblems"]:
            lines.append(f"  settings problem: {problem}")
    return "\n".join(lines)
