"""The tools the model may call, and the fence around them.

Tools: ``read_file``, ``list_files``, ``search``, ``find_symbol``,
``get_findings`` and the terminal ``propose_edits`` (parsed and checked in
``proposal.py``; this module only declares it). There is no shell and no
write: edits reach the disk only through the editor, after validation and the
user's confirmation.

Every path the model names goes through ``PathGuard.resolve``: relative to
the project root, no ``..`` component, an absolute path only when it lies in
the root, and the resolved path (symlinks followed) must stay inside the root
too. Files that usually hold credentials (``.env``, private keys, ``.netrc``,
VCS internals) are refused, since whatever a tool returns is sent to the API.
Reads, listings and search results are capped; a tool never raises to the
loop: any problem is a ``ToolResult`` with ``is_error=True`` the model can
react to.
"""

from __future__ import annotations

import ast
import os
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from ..globs import glob_to_regex
from ..stack.files import is_skipped_dir

if TYPE_CHECKING:
    from ..analysis.index import WorkspaceIndex
    from ..rules import Finding

# Files bigger than this are not read at all (generated or data files).
MAX_FILE_BYTES = 2_000_000
# What one tool result may hold; the rest is cut with a note saying how to
# ask for it.
MAX_RESULT_CHARS = 40_000
MAX_LIST_ENTRIES = 400
MAX_SEARCH_MATCHES = 150
MAX_SEARCH_LINE_CHARS = 300
MAX_PATTERN_CHARS = 500
SEARCH_TIME_BUDGET_S = 5.0
MAX_SYMBOL_SNIPPET_LINES = 40

PROPOSE_EDITS = "propose_edits"

_VCS_DIRS = frozenset({".git", ".hg", ".svn"})
_SECRET_DIRS = frozenset({".ssh", ".aws", ".gnupg", ".docker"})
_SECRET_NAMES = frozenset({".netrc", ".pypirc", ".npmrc", ".pgpass", "id_rsa", "id_dsa", "id_ecdsa", "id_ed25519"})
_SECRET_SUFFIXES = (".pem", ".key", ".p12", ".pfx", ".keystore", ".jks")
_ENV_TEMPLATES = frozenset({".env.example", ".env.sample", ".env.template", ".env.dist"})


class ToolError(Exception):
    """A tool call the model got wrong; its message goes back as is_error."""


@dataclass(frozen=True)
class ToolResult:
    content: str
    is_error: bool = False


def is_secret_path(relative: str) -> bool:
    """Paths whose content must not be sent to the API."""
    parts = PurePosixPath(relative).parts
    if any(part in _VCS_DIRS or part in _SECRET_DIRS for part in parts):
        return True
    name = parts[-1] if parts else ""
    if name in _ENV_TEMPLATES:
        return False
    if name == ".env" or name.startswith(".env.") or name.endswith(".env"):
        return True
    if name in _SECRET_NAMES or name.startswith("id_rsa"):
        return True
    return name.endswith(_SECRET_SUFFIXES)


class PathGuard:
    """Maps paths the model names to files inside the project root."""

    def __init__(self, root: str | Path) -> None:
        self.logical_root = Path(os.path.abspath(root))
        self.root = self.logical_root.resolve()

    def resolve(self, raw: object) -> tuple[Path, str]:
        """(absolute path inside the root, posix path relative to it), or
        ToolError. The file need not exist (propose_edits creates files)."""
        if not isinstance(raw, str) or not raw.strip():
            raise ToolError("path must be a non-empty string, relative to the project root")
        text = raw.strip().replace("\\", "/")
        if "\x00" in text:
            raise ToolError("path contains a NUL character")
        pure = PurePosixPath(text)
        if ".." in pure.parts:
            raise ToolError(f"{raw!r}: '..' is not allowed; name files relative to the project root")
        if pure.is_absolute() or re.match(r"^[A-Za-z]:/", text):
            candidate = Path(text)
            relative = self._relative_of_absolute(candidate)
            if relative is None:
                raise ToolError(f"{raw!r} is outside the project; name files relative to the project root")
        else:
            relative = PurePosixPath(*[p for p in pure.parts if p not in ("", ".")]).as_posix()
            if relative in ("", "."):
                raise ToolError("path names the project root itself, not a file")
            candidate = self.logical_root / relative
        try:
            resolved = candidate.resolve(strict=False)
        except (OSError, RuntimeError) as exc:  # symlink loops
            raise ToolError(f"{raw!r}: cannot resolve ({type(exc).__name__})") from None
        if not resolved.is_relative_to(self.root):
            raise ToolError(f"{raw!r} resolves outside the project (through a symlink); refused")
        if is_secret_path(relative) or is_secret_path(resolved.relative_to(self.root).as_posix()):
            raise ToolError(f"{raw!r} may hold credentials; stackguard does not send it to the model")
        return self.logical_root / relative, relative

    def _relative_of_absolute(self, candidate: Path) -> str | None:
        normal = Path(os.path.normpath(candidate))
        for base in (self.logical_root, self.root):
            if normal.is_relative_to(base):
                relative = normal.relative_to(base).as_posix()
                return None if relative in ("", ".") else relative
        return None


def _anchored(pattern: str) -> re.Pattern[str]:
    # Callers use .match(); \Z makes that a full match.
    return re.compile(glob_to_regex(pattern).pattern + r"\Z")


def _format_lines(lines: list[str], first: int) -> str:
    width = len(str(first + len(lines) - 1))
    return "\n".join(f"{number:>{width}}\t{line}" for number, line in enumerate(lines, start=first))


def _cap(text: str, limit: int = MAX_RESULT_CHARS) -> str:
    if len(text) <= limit:
        return text
    return text[:limit] + f"\n… [cut at {limit} characters]"


TOOL_SPECS: list[dict[str, Any]] = [
    {
        "name": "read_file",
        "description": (
            "Read a text file of the project. Lines come numbered (the number and the tab before the text are not "
            "part of the file). Give start_line/end_line (1-based, inclusive) to read part of a long file. Paths are "
            "relative to the project root. Unsaved editor changes are included."
        ),
        "input_schema": {
            "type": "object",
            "properties": {
                "path": {"type": "string", "description": "File path relative to the project root"},
                "start_line": {"type": "integer", "minimum": 1},
                "end_line": {"type": "integer", "minimum": 1},
            },
            "required": ["path"],
        },
    },
    {
        "name": "list_files",
        "description": (
            "List project files matching a glob relative to the project root, e.g. 'app/**/*.py', '**/test_*.py', "
            "'app/services/*'. '**' spans folders. Virtualenvs, node_modules, build output and VCS folders are skipped."
        ),
        "input_schema": {
            "type": "object",
            "properties": {"glob": {"type": "string"}},
            "required": ["glob"],
        },
    },
    {
        "name": "search",
        "description": (
            "Search file contents with a Python regular expression; returns path:line: text for each match. "
            "Optionally restrict to files matching a glob (default: every text file)."
        ),
        "input_schema": {
            "type": "object",
            "properties": {"pattern": {"type": "string"}, "glob": {"type": "string"}},
            "required": ["pattern"],
        },
    },
    {
        "name": "find_symbol",
        "description": (
            "Find where a class or function (top-level or a method) is defined, from stackguard's index of the "
            "project: file, line and the start of its definition. For ORM models also the table and columns."
        ),
        "input_schema": {
            "type": "object",
            "properties": {"name": {"type": "string", "description": "Class or function name, e.g. 'User' or 'get_user'"}},
            "required": ["name"],
        },
    },
    {
        "name": "get_findings",
        "description": (
            "stackguard's guardrail findings (rule code, severity, line, message) for one Python file, as the "
            "editor shows them. Use it to check a file before and after you change it."
        ),
        "input_schema": {
            "type": "object",
            "properties": {"path": {"type": "string"}},
            "required": ["path"],
        },
    },
    {
        "name": PROPOSE_EDITS,
        "description": (
            "Finish by proposing the complete change. Each edit names a file and either replaces one exact, unique "
            "piece of its current text (old_text -> new_text) or, without old_text, gives the whole new content of "
            "the file (use that to create files). Several edits to one file apply in order. stackguard checks the "
            "result (Python parses, the targeted finding is gone, no new error-level findings) before the user sees "
            "it, and tells you what to fix if it does not pass. Call it once, alone, when the change is complete."
        ),
        "input_schema": {
            "type": "object",
            "properties": {
                "edits": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "properties": {
                            "path": {"type": "string"},
                            "old_text": {"type": "string", "description": "Exact text to replace; must occur once"},
                            "new_text": {"type": "string"},
                        },
                        "required": ["path", "new_text"],
                    },
                },
                "summary": {"type": "string", "description": "One or two sentences for the user: what changed and why"},
            },
            "required": ["edits", "summary"],
        },
    },
]

TOOL_NAMES = frozenset(spec["name"] for spec in TOOL_SPECS)

FindingsFn = Callable[[str, str], "list[Finding] | None"]


class ToolBox:
    """Runs the read-only tools against one project root.

    ``overlay`` maps relative paths to unsaved editor text, which wins over
    the disk. ``findings_for(relative, text)`` is stackguard's analysis of a
    file (None when the file cannot be analysed)."""

    def __init__(
        self,
        root: str | Path,
        *,
        index: WorkspaceIndex | None = None,
        findings_for: FindingsFn | None = None,
        overlay: Mapping[str, str] | None = None,
    ) -> None:
        self.guard = PathGuard(root)
        self.index = index
        self.findings_for = findings_for
        self.overlay = dict(overlay or {})
        self.files_read: set[str] = set()

    @property
    def root(self) -> Path:
        return self.guard.logical_root

    # -- shared helpers --------------------------------------------------------------
    def read_text(self, relative: str) -> str | None:
        """Current text of a file (editor overlay first), None when it does not
        exist. Raises ToolError for files that are not text or too big."""
        if relative in self.overlay:
            return self.overlay[relative]
        path = self.root / relative
        if not path.exists():
            return None
        if path.is_dir():
            raise ToolError(f"{relative} is a folder; use list_files")
        try:
            size = path.stat().st_size
            if size > MAX_FILE_BYTES:
                raise ToolError(f"{relative} is {size} bytes, over the {MAX_FILE_BYTES}-byte limit")
            data = path.read_bytes()
        except OSError as exc:
            raise ToolError(f"cannot read {relative}: {exc.strerror or type(exc).__name__}") from None
        if b"\x00" in data[:8192]:
            raise ToolError(f"{relative} is a binary file")
        return data.decode("utf-8", errors="replace")

    def call(self, name: str, arguments: object) -> ToolResult:
        """Run one tool; every failure is an ``is_error`` result."""
        handlers: dict[str, Callable[[dict[str, Any]], str]] = {
            "read_file": self._read_file,
            "list_files": self._list_files,
            "search": self._search,
            "find_symbol": self._find_symbol,
            "get_findings": self._get_findings,
        }
        handler = handlers.get(name)
        if handler is None:
            known = ", ".join(sorted(TOOL_NAMES))
            return ToolResult(f"unknown tool {name!r}; the tools are: {known}", True)
        if not isinstance(arguments, dict):
            return ToolResult(f"{name}: input must be a JSON object", True)
        try:
            return ToolResult(_cap(handler(arguments)))
        except ToolError as exc:
            return ToolResult(f"{name}: {exc}", True)
        except (RecursionError, MemoryError, re.error) as exc:
            return ToolResult(f"{name}: {type(exc).__name__}: {exc}", True)

    # -- tools -------------------------------------------------------------------------
    def _read_file(self, arguments: dict[str, Any]) -> str:
        _, relative = self.guard.resolve(arguments.get("path"))
        start = _optional_int(arguments, "start_line")
        end = _optional_int(arguments, "end_line")
        text = self.read_text(relative)
        if text is None:
            raise ToolError(f"{relative} does not exist")
        self.files_read.add(relative)
        lines = text.splitlines()
        total = len(lines)
        if total == 0:
            return f"{relative} (empty file)"
        first = max(start or 1, 1)
        last = min(end or total, total)
        if first > total:
            raise ToolError(f"{relative} has {total} lines; start_line {first} is past the end")
        if last < first:
            raise ToolError("end_line is before start_line")
        selected = lines[first - 1 : last]
        body = _format_lines(selected, first)
        if len(body) > MAX_RESULT_CHARS:
            kept: list[str] = []
            size = 0
            for line in selected:
                size += len(line) + 8
                if size > MAX_RESULT_CHARS:
                    break
                kept.append(line)
            last = first + len(kept) - 1
            body = _format_lines(kept, first) + f"\n… [cut; read on with start_line={last + 1}]"
        return f"{relative} (lines {first}-{last} of {total})\n{body}"

    def _walk(self, regex: re.Pattern[str]) -> tuple[list[str], int]:
        found: list[str] = []
        more = 0
        root = self.root
        for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
            current = Path(dirpath)
            dirnames[:] = sorted(
                d
                for d in dirnames
                if not is_skipped_dir(d) and d not in _VCS_DIRS and d not in _SECRET_DIRS and not (current / d).is_symlink()
            )
            for name in sorted(filenames):
                relative = (current / name).relative_to(root).as_posix()
                if is_secret_path(relative) or not regex.match(relative):
                    continue
                if (current / name).is_symlink():
                    try:
                        if not (current / name).resolve().is_relative_to(self.guard.root):
                            continue
                    except (OSError, RuntimeError):
                        continue
                if len(found) < MAX_LIST_ENTRIES:
                    found.append(relative)
                else:
                    more += 1
        # Files only the editor knows about yet (unsaved new buffers).
        for relative in self.overlay:
            if relative not in found and regex.match(relative) and not (root / relative).exists():
                found.append(relative)
        return sorted(found), more

    def _glob(self, arguments: dict[str, Any], key: str, default: str | None = None) -> re.Pattern[str]:
        pattern = arguments.get(key, default)
        if not isinstance(pattern, str) or not pattern.strip():
            raise ToolError(f"{key} must be a non-empty glob such as 'app/**/*.py'")
        pattern = pattern.strip().replace("\\", "/")
        pattern = pattern.removeprefix("./")
        if ".." in PurePosixPath(pattern).parts or pattern.startswith("/"):
            raise ToolError(f"{key} {pattern!r} must stay inside the project (no '..', no absolute paths)")
        return _anchored(pattern)

    def _list_files(self, arguments: dict[str, Any]) -> str:
        regex = self._glob(arguments, "glob")
        found, more = self._walk(regex)
        if not found:
            return f"no files match {arguments['glob']!r}"
        tail = f"\n… and {more} more; narrow the glob" if more else ""
        return "\n".join(found) + tail

    def _search(self, arguments: dict[str, Any]) -> str:
        pattern = arguments.get("pattern")
        if not isinstance(pattern, str) or not pattern:
            raise ToolError("pattern must be a non-empty regular expression")
        if len(pattern) > MAX_PATTERN_CHARS:
            raise ToolError(f"pattern is longer than {MAX_PATTERN_CHARS} characters")
        note = ""
        try:
            regex = re.compile(pattern)
        except re.error as exc:
            regex = re.compile(re.escape(pattern))
            note = f"(not a valid regular expression: {exc}; searched for the literal text)\n"
        files, _ = self._walk(self._glob(arguments, "glob", "**/*"))
        matches: list[str] = []
        started = time.monotonic()
        stopped = ""
        for relative in files:
            if time.monotonic() - started > SEARCH_TIME_BUDGET_S:
                stopped = f"\n… stopped after {SEARCH_TIME_BUDGET_S:.0f}s; narrow the glob"
                break
            try:
                text = self.read_text(relative)
            except ToolError:
                continue
            if text is None:
                continue
            for number, line in enumerate(text.splitlines(), start=1):
                if regex.search(line):
                    shown = line.strip()
                    if len(shown) > MAX_SEARCH_LINE_CHARS:
                        shown = shown[:MAX_SEARCH_LINE_CHARS] + "…"
                    matches.append(f"{relative}:{number}: {shown}")
                    if len(matches) >= MAX_SEARCH_MATCHES:
                        stopped = f"\n… stopped at {MAX_SEARCH_MATCHES} matches; narrow the pattern or glob"
                        break
            if len(matches) >= MAX_SEARCH_MATCHES:
                break
        if not matches:
            return f"{note}no matches for {pattern!r}"
        return note + "\n".join(matches) + stopped

    def _find_symbol(self, arguments: dict[str, Any]) -> str:
        name = arguments.get("name")
        if not isinstance(name, str) or not name.strip():
            raise ToolError("name must be a class or function name")
        name = name.strip()
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.]*", name):
            raise ToolError(f"{name!r} is not a Python identifier")
        short = name.rsplit(".", 1)[-1]
        hits: list[tuple[str, int]] = []
        if self.index is not None:
            hits.extend(self.index.find_symbol(short))
        if len(hits) < 5:
            # Methods are not in the index's top-level symbols.
            definition = re.compile(rf"^\s*(?:async\s+def|def|class)\s+{re.escape(short)}\b")
            files, _ = self._walk(_anchored("**/*.py"))
            for relative in files:
                try:
                    text = self.read_text(relative)
                except ToolError:
                    continue
                for number, line_text in enumerate((text or "").splitlines(), start=1):
                    if definition.match(line_text) and (relative, number) not in hits:
                        hits.append((relative, number))
                if len(hits) >= 20:
                    break
        if not hits:
            return f"no definition of {name!r} found"
        out: list[str] = []
        model = self.index.model(name) if self.index is not None else None
        if model is not None:
            columns = ", ".join(
                f"{c.name}{' pk' if c.primary_key else ''}{f' fk={c.foreign_key}' if c.foreign_key else ''}"
                for c in model.columns.values()
            )
            relations = ", ".join(f"{r.name}->{r.target}" for r in model.relationships.values())
            out.append(
                f"model {model.name} ({model.orm}) in {model.relative}:{model.line}, table {model.table!r}; "
                f"columns: {columns or '-'}; relationships: {relations or '-'}"
            )
        for position, (relative, line) in enumerate(sorted(set(hits))):
            out.append(f"{relative}:{line}")
            if position < 3:
                snippet = self._definition_snippet(relative, line)
                if snippet:
                    out.append(snippet)
        return "\n".join(out)

    def _definition_snippet(self, relative: str, line: int) -> str:
        try:
            text = self.read_text(relative)
        except ToolError:
            return ""
        lines = (text or "").splitlines()
        end = min(len(lines), line - 1 + MAX_SYMBOL_SNIPPET_LINES)
        try:
            tree = ast.parse(text or "")
            for node in ast.walk(tree):
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.lineno == line:
                    end = min(end, node.end_lineno or end)
                    break
        except (SyntaxError, ValueError, RecursionError):
            pass
        return _format_lines(lines[line - 1 : end], line)

    def _get_findings(self, arguments: dict[str, Any]) -> str:
        _, relative = self.guard.resolve(arguments.get("path"))
        if not relative.endswith(".py"):
            raise ToolError("stackguard analyses Python files (.py)")
        text = self.read_text(relative)
        if text is None:
            raise ToolError(f"{relative} does not exist")
        if self.findings_for is None:
            raise ToolError("stackguard's analysis is not available for this project")
        findings = self.findings_for(relative, text)
        if findings is None:
            return f"{relative} does not parse or is excluded from analysis"
        if not findings:
            return f"{relative}: no findings"
        return "\n".join(
            f"{relative}:{f.line}:{f.column + 1}: {f.severity} {f.code} {f.name}: {f.message}" for f in findings
        )


def _optional_int(arguments: dict[str, Any], key: str) -> int | None:
    value = arguments.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ToolError(f"{key} must be a whole number")
    if value < 1:
        raise ToolError(f"{key} must be 1 or more")
    return value
