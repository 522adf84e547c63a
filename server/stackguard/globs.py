"""The one glob dialect stackguard uses for project-relative paths (layer
overrides, ``exclude``-style patterns, detection, the agent's list_files):
``**`` spans folders (``**/`` also matches none), ``*`` and ``?`` stay
inside one path segment, ``[...]`` is a character class as in fnmatch."""

from __future__ import annotations

import fnmatch
import re
from functools import lru_cache


@lru_cache(maxsize=1024)
def glob_to_regex(pattern: str) -> re.Pattern[str]:
    """A compiled regex for ``pattern``; use ``fullmatch`` on posix paths."""
    pattern = pattern.strip().removeprefix("./")
    out: list[str] = []
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if pattern.startswith("**/", index):
            out.append("(?:.*/)?")
            index += 3
            continue
        if pattern.startswith("**", index):
            out.append(".*")
            index += 2
            continue
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "[" and (end := pattern.find("]", index + 1)) != -1:
            out.append(fnmatch.translate(pattern[index : end + 1])[4:-3])
            index = end
        else:
            out.append(re.escape(char))
        index += 1
    return re.compile("".join(out))
