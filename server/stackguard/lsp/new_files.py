"""New files for editors that cannot create them through LSP.

A client without ``workspaceEdit.documentChanges``, or without the
``create`` resource operation (Neovim through 0.11, Emacs 29), can
apply text edits but not ``CreateFile``. Every command that adds a file
(the refactors, the agent) follows one policy there: the server writes the
new file itself, never over an existing one, sends the rest of the change
through ``workspace/applyEdit``, and removes what it wrote if the editor
rejects that. (Generated migrations are written on disk by design.)
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path

log = logging.getLogger(__name__)


def create_files(files: Sequence[tuple[str, str]]) -> tuple[list[str], str | None]:
    """Write each ``(path, text)``; all or none. Returns the paths written,
    or no paths and the reason nothing was (a file already exists, a
    folder cannot be made)."""
    created: list[str] = []
    for path, text in files:
        if os.path.lexists(path):
            remove_files(created)
            return [], f"{path} already exists"
        try:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            # "x": a file that appeared since the check is not overwritten.
            with open(path, "x", encoding="utf-8") as handle:
                handle.write(text)
        except OSError as exc:
            remove_files(created)
            return [], f"cannot create {path}: {exc.strerror or exc}"
        created.append(path)
    return created, None


def remove_files(paths: Sequence[str]) -> None:
    """Remove files this module wrote (newest first); a failure is logged."""
    for path in reversed(paths):
        try:
            os.remove(path)
        except OSError as exc:
            log.warning("could not remove %s: %s", path, exc.strerror)
