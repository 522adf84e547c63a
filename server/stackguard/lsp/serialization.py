"""A faster way to put diagnostics on the wire.

pygls turns every outgoing message into JSON through cattrs. For a
``publishDiagnostics`` with a hundred diagnostics, each carrying its
finding in ``data``, that generic walk cost more than re-analysing the
edited statement. Diagnostics are the one message sent on every
keystroke, so they get a hand-written hook that builds the same JSON
(field names, order and omitted ``None`` fields as lsprotocol's converter)
and falls back to the generic one for anything it does not know.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cattrs import Converter
from lsprotocol import types
from pygls.protocol import default_converter

_SCALARS = (str, int, float, bool)


def _plain(value: Any, generic: Callable[[Any], Any]) -> Any:
    """``value`` as JSON-ready data: our own ``data`` payloads are plain
    dicts, lists and scalars already; anything else goes through cattrs."""
    kind = type(value)
    if value is None or kind in _SCALARS:
        return value
    if kind is dict:
        if all(type(key) is str for key in value):
            return {key: _plain(item, generic) for key, item in value.items()}
        return generic(value)
    if kind is list or kind is tuple:
        return [_plain(item, generic) for item in value]
    return generic(value)


def _position(position: types.Position) -> dict[str, int]:
    return {"line": position.line, "character": position.character}


def diagnostic_hook(converter: Converter) -> Callable[[types.Diagnostic], dict[str, Any]]:
    generic_diagnostic = converter.get_unstructure_hook(types.Diagnostic)
    generic = converter.unstructure

    def unstructure(diagnostic: types.Diagnostic) -> dict[str, Any]:
        if diagnostic.tags or diagnostic.related_information:
            return generic_diagnostic(diagnostic)
        out: dict[str, Any] = {
            "range": {"start": _position(diagnostic.range.start), "end": _position(diagnostic.range.end)},
            "message": diagnostic.message,
        }
        if diagnostic.severity is not None:
            out["severity"] = diagnostic.severity.value
        if diagnostic.code is not None:
            out["code"] = diagnostic.code
        if diagnostic.code_description is not None:
            out["codeDescription"] = {"href": diagnostic.code_description.href}
        if diagnostic.source is not None:
            out["source"] = diagnostic.source
        if diagnostic.data is not None:
            out["data"] = _plain(diagnostic.data, generic)
        return out

    return unstructure


def stackguard_converter() -> Converter:
    """pygls's converter with the diagnostic hook (a ``converter_factory``)."""
    converter = default_converter()
    converter.register_unstructure_hook(types.Diagnostic, diagnostic_hook(converter))
    return converter
