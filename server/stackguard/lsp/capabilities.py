"""What the connected client can do, read once at ``initialize``.

Every client-dependent decision in the server asks ``ClientSupport`` instead of
walking ``ClientCapabilities`` itself, so "honour what each client advertises,
never more" (DESIGN.md, LSP surface) lives in one place and debugInfo can show
exactly which flags are in use.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from lsprotocol import types
from pygls.capabilities import ServerCapabilitiesBuilder, get_capability


@dataclasses.dataclass(frozen=True)
class ClientSupport:
    pull_diagnostics: bool = False
    pull_diagnostics_dynamic_registration: bool = False
    diagnostic_refresh: bool = False
    publish_diagnostics_version: bool = False
    diagnostic_code_description: bool = False
    code_action_resolve_edit: bool = False
    work_done_progress: bool = False
    document_changes: bool = False
    change_annotations: bool = False
    resource_create: bool = False
    resource_rename: bool = False
    resource_delete: bool = False
    watched_files_dynamic_registration: bool = False
    watched_files_relative_patterns: bool = False
    workspace_configuration: bool = False
    show_document: bool = False
    hover_markdown: bool = False
    position_encoding: str = types.PositionEncodingKind.Utf16.value

    @classmethod
    def from_capabilities(cls, capabilities: types.ClientCapabilities | None) -> ClientSupport:
        caps = capabilities or types.ClientCapabilities()

        def flag(path: str) -> bool:
            return bool(get_capability(caps, path, False))

        resolve = get_capability(caps, "text_document.code_action.resolve_support", None)
        resource_operations = set(
            get_capability(caps, "workspace.workspace_edit.resource_operations", None) or ()
        )
        hover_formats = get_capability(caps, "text_document.hover.content_format", None) or ()
        encoding = ServerCapabilitiesBuilder.choose_position_encoding(caps)
        return cls(
            pull_diagnostics=get_capability(caps, "text_document.diagnostic", None) is not None,
            pull_diagnostics_dynamic_registration=flag("text_document.diagnostic.dynamic_registration"),
            diagnostic_refresh=flag("workspace.diagnostics.refresh_support"),
            publish_diagnostics_version=flag("text_document.publish_diagnostics.version_support"),
            diagnostic_code_description=flag("text_document.publish_diagnostics.code_description_support"),
            code_action_resolve_edit=resolve is not None and "edit" in (resolve.properties or ()),
            work_done_progress=flag("window.work_done_progress"),
            document_changes=flag("workspace.workspace_edit.document_changes"),
            change_annotations=get_capability(caps, "workspace.workspace_edit.change_annotation_support", None)
            is not None,
            resource_create=types.ResourceOperationKind.Create in resource_operations,
            resource_rename=types.ResourceOperationKind.Rename in resource_operations,
            resource_delete=types.ResourceOperationKind.Delete in resource_operations,
            watched_files_dynamic_registration=flag("workspace.did_change_watched_files.dynamic_registration"),
            watched_files_relative_patterns=flag("workspace.did_change_watched_files.relative_pattern_support"),
            workspace_configuration=flag("workspace.configuration"),
            show_document=flag("window.show_document.support"),
            hover_markdown=types.MarkupKind.Markdown in hover_formats,
            position_encoding=str(getattr(encoding, "value", encoding)),
        )

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)
