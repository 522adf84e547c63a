"""The hand-written diagnostic hook must put exactly what lsprotocol's
converter puts on the wire, for every shape a diagnostic takes."""

from __future__ import annotations

import json

import pytest
from lsprotocol import types
from pygls.protocol import default_converter

from stackguard.lsp.serialization import stackguard_converter

RANGE = types.Range(types.Position(3, 4), types.Position(5, 0))


class Opaque:
    """Not JSON: the hook must hand it to cattrs like the default does."""

    def __init__(self) -> None:
        self.value = 1


DIAGNOSTICS = [
    types.Diagnostic(range=RANGE, message="bare"),
    types.Diagnostic(
        range=RANGE,
        message="full",
        severity=types.DiagnosticSeverity.Warning,
        code="SG201",
        code_description=types.CodeDescription(href="https://example.invalid/SG201"),
        source="stackguard",
        data={"version": 7, "finding": {"code": "SG201", "data": {"call_lines": [1, 2], "nested": {"ok": True, "x": None}}}},
    ),
    types.Diagnostic(range=RANGE, message="numeric code", code=12, severity=types.DiagnosticSeverity.Hint),
    types.Diagnostic(range=RANGE, message="tuple data", data={"pair": (1, "a"), "float": 0.5}),
    types.Diagnostic(range=RANGE, message="tagged", tags=[types.DiagnosticTag.Unnecessary]),
    types.Diagnostic(
        range=RANGE,
        message="related",
        related_information=[
            types.DiagnosticRelatedInformation(location=types.Location(uri="file:///a.py", range=RANGE), message="here")
        ],
    ),
    types.Diagnostic(range=RANGE, message="list data", data=[1, {"a": 2}]),
]


@pytest.mark.parametrize("diagnostic", DIAGNOSTICS, ids=lambda d: d.message)
def test_hook_writes_what_the_default_converter_writes(diagnostic: types.Diagnostic) -> None:
    params = types.PublishDiagnosticsParams(uri="file:///a.py", diagnostics=[diagnostic], version=3)
    fast = json.dumps(stackguard_converter().unstructure(params))
    reference = json.dumps(default_converter().unstructure(params))
    assert fast == reference


def test_data_that_is_not_json_goes_through_cattrs() -> None:
    diagnostic = types.Diagnostic(range=RANGE, message="odd", data={"when": Opaque(), 3: "int key"})
    assert stackguard_converter().unstructure(diagnostic) == default_converter().unstructure(diagnostic)
