"""``analysis.semantics`` helpers shared by the rules."""

from __future__ import annotations

import ast

import pytest

from stackguard.analysis.semantics import ImportMap


@pytest.mark.parametrize(
    "text",
    [
        "import os\nfrom .db import Session as S\n",
        "import os\ndef f():\n    from sqlalchemy import text\n    return text\n",
        "import os\nclass C:\n    if True:\n        import json as j\n",
        '"""Docs that say import."""\nimport os\n',
        "import os\ntry:\n    import ujson as json\nexcept ImportError:\n    import json\n",
    ],
)
def test_import_map_with_text_finds_what_the_full_walk_finds(text: str) -> None:
    # The text lets a module with only top-level imports skip the walk into
    # blocks; nested imports must still be found.
    tree = ast.parse(text)
    walked = ImportMap.from_tree(tree, "app.services.orders")
    assert ImportMap.from_tree(tree, "app.services.orders", text) == walked
    assert walked.names  # each case imports something
