"""``# stackguard: ignore[SG201]`` on a line (or the line above it) and
``# stackguard: ignore-file[SG201, SG202]`` anywhere in the file.

A bare ``ignore`` without codes suppresses every rule on that line; a bare
``ignore-file`` is deliberately *not* supported, since turning a whole file
off is what ``exclude`` is for.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_DIRECTIVE = re.compile(r"#\s*stackguard:\s*(ignore-file|ignore)(?:\[([A-Za-z0-9_,\s-]*)\])?")
ALL = "*"


@dataclass
class Suppressions:
    by_line: dict[int, set[str]] = field(default_factory=dict)  # 1-based line -> codes (or ALL)
    file_codes: set[str] = field(default_factory=set)
    # (line, code) of every directive, for hover on suppression codes.
    directives: list[tuple[int, int, int, str]] = field(default_factory=list)  # line, start col, end col, code

    @classmethod
    def parse(cls, text: str) -> Suppressions:
        found = cls()
        if "stackguard:" not in text:
            return found
        for number, line in enumerate(text.splitlines(), start=1):
            if "stackguard:" not in line:
                continue
            for match in _DIRECTIVE.finditer(line):
                kind, raw_codes = match.group(1), match.group(2)
                codes = {c.strip().upper() for c in (raw_codes or "").split(",") if c.strip()}
                if raw_codes is not None:
                    offset = match.start(2)
                    for code_match in re.finditer(r"[A-Za-z0-9_-]+", raw_codes):
                        found.directives.append(
                            (number, offset + code_match.start(), offset + code_match.end(), code_match.group().upper())
                        )
                if kind == "ignore-file":
                    found.file_codes.update(codes)
                    continue
                target = found.by_line.setdefault(number, set())
                target.update(codes or {ALL})
                # A directive alone on its line applies to the next line.
                if line.lstrip().startswith("#"):
                    found.by_line.setdefault(number + 1, set()).update(codes or {ALL})
        return found

    def is_suppressed(self, code: str, line: int, end_line: int | None = None) -> bool:
        if code in self.file_codes:
            return True
        for number in (line, end_line) if end_line and end_line != line else (line,):
            codes = self.by_line.get(number)
            if codes and (code in codes or ALL in codes):
                return True
        return False
