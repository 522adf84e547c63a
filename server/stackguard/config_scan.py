"""SG301 over the configuration files git tracks: ``*.yaml``, ``*.yml``,
``*.toml``, ``*.json``, ``*.ini``, ``*.cfg`` and ``.env*`` files, plus the
``process.env.X || "…"`` / ``?? "…"`` fallbacks of JS/TS sources.

Only tracked files are scanned (``tracked_config_files`` asks git): an
untracked ``.env`` is where secrets belong. Findings have the shape the
Python rule gives (code SG301, layer ``config``, the range of the value) and
never carry the value: the message shows a mask and the length, ``data`` the
key name, kind and range.

Parsing is line-based and forgiving (a config file mid-edit, or in a dialect
this does not know, yields fewer findings, never an error): ``KEY=value``
for ``.env``, ``key = value`` / ``key: value`` for INI, ``key = "value"`` for
TOML (inline tables too), ``key: value`` and ``- KEY=value`` for YAML,
``"key": "value"`` for JSON. Then every line is searched for well-known
token formats and credentialed URLs, and the whole text for PEM private
keys, so block scalars, arrays and comments are covered too.

``# stackguard: ignore[SG301]`` works in files with ``#`` comments.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .analysis.engine import is_excluded
from .analysis.layers import is_test_path
from .analysis.suppress import Suppressions
from .config import Settings
from .rules import Finding, _secrets, select_rules
from .stack.files import SKIP_DIRS

log = logging.getLogger(__name__)

CODE = "SG301"
NAME = "hardcoded-secret"
LAYER = "config"
CONFIG_SUFFIXES = (".yaml", ".yml", ".toml", ".json", ".ini", ".cfg")
# JS/TS sources are scanned for env fallbacks and token formats only.
SCRIPT_SUFFIXES = (".js", ".mjs", ".cjs", ".ts", ".mts", ".cts", ".jsx", ".tsx")
# Generated or vendored files that hold no configuration of the project.
SKIPPED_NAMES = frozenset({"package-lock.json", "npm-shrinkwrap.json", "composer.lock", "Pipfile.lock", "poetry.lock", "yarn.lock", "pnpm-lock.yaml", "bun.lock"})
EXAMPLE_ENV_FILES = frozenset({".env.example", ".env.sample", ".env.template", ".env.dist", ".env.defaults"})
MAX_BYTES = 1_000_000
GIT_TIMEOUT_SECONDS = 15


# ---------------------------------------------------------------------------
# Which files


def config_format(relative: str) -> str | None:
    """``env``, ``yaml``, ``toml``, ``json``, ``ini``, ``script`` or None."""
    name = relative.replace("\\", "/").rsplit("/", 1)[-1]
    lowered = name.lower()
    if name in SKIPPED_NAMES or lowered.endswith((".min.js", ".d.ts", ".map")):
        return None
    if lowered.startswith(".env"):
        return "env"
    if lowered.endswith((".yaml", ".yml")):
        return "yaml"
    if lowered.endswith(".toml"):
        return "toml"
    if lowered.endswith(".json"):
        return "json"
    if lowered.endswith((".ini", ".cfg")):
        return "ini"
    if lowered.endswith(SCRIPT_SUFFIXES):
        return "script"
    return None


def is_config_file(relative: str) -> bool:
    relative = relative.replace("\\", "/")
    parts = relative.split("/")
    if any(part in SKIP_DIRS or part.endswith(".egg-info") for part in parts[:-1]):
        return False
    return config_format(relative) is not None


def tracked_config_files(root: Path) -> list[str]:
    """Config files (relative to ``root``, forward slashes) that git tracks
    and that exist in the working tree. [] when git is missing, ``root`` is
    not in a repository, or git fails or hangs."""
    git = shutil.which("git")
    if git is None:
        return []
    env = {**os.environ, "GIT_OPTIONAL_LOCKS": "0", "GIT_TERMINAL_PROMPT": "0"}
    try:
        proc = subprocess.run(
            [git, "ls-files", "-z", "--cached", "--", "."],
            cwd=str(root),
            capture_output=True,
            timeout=GIT_TIMEOUT_SECONDS,
            check=False,
            env=env,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.SubprocessError, ValueError) as exc:
        log.info("git ls-files in %s failed: %s", root, exc)
        return []
    if proc.returncode != 0:
        log.debug("git ls-files in %s: exit %d", root, proc.returncode)
        return []
    found: list[str] = []
    for raw in proc.stdout.split(b"\0"):
        if not raw:
            continue
        relative = raw.decode("utf-8", "surrogateescape")
        if is_config_file(relative) and (Path(root) / relative).is_file():
            found.append(relative)
    return sorted(set(found))


def read_config_text(path: Path, max_bytes: int = MAX_BYTES) -> str | None:
    """A config file's text, or None when it is too large, binary or unreadable."""
    try:
        if path.stat().st_size > max_bytes:
            return None
        data = path.read_bytes()
    except OSError:
        return None
    if b"\x00" in data[:8192]:
        return None
    text = data.decode("utf-8", errors="replace")
    return text.removeprefix("\ufeff")


def scan_tracked_config(root: Path, settings: Settings) -> list[Finding]:
    """``scan_config_text`` over every tracked config file of ``root``."""
    findings: list[Finding] = []
    root = Path(root)
    for relative in tracked_config_files(root):
        text = read_config_text(root / relative, min(settings.diagnostics.max_file_bytes, MAX_BYTES))
        if text is not None:
            findings.extend(scan_config_text(relative, text, path=str(root / relative), settings=settings))
    return findings


# ---------------------------------------------------------------------------
# Scanning


@dataclass(frozen=True)
class _Value:
    name: str | None
    text: str  # the value as the application sees it (quotes and escapes removed)
    line: int  # 1-based
    column: int  # 0-based, code points, of the value as written
    end_column: int
    context: str = "config"  # config | env_fallback


def scan_config_text(relative: str, text: str, *, path: str, settings: Settings) -> list[Finding]:
    """SG301 findings for one config file's text (see the module docstring)."""
    relative = relative.replace("\\", "/")
    fmt = config_format(relative)
    if fmt is None or not text:
        return []
    if CODE not in {rule.code for rule in select_rules(settings.select, settings.ignore)}:
        return []
    if is_excluded(relative, settings.exclude):
        return []
    try:
        return _Scanner(relative, text, path, fmt, settings).run()
    except (RecursionError, MemoryError, ValueError) as exc:  # never let a file break the caller
        log.warning("SG301 scan of %s failed: %r", relative, exc)
        return []


class _Scanner:
    def __init__(self, relative: str, text: str, path: str, fmt: str, settings: Settings) -> None:
        self.relative = relative
        self.text = text
        self.path = path
        self.fmt = fmt
        self.settings = settings
        self.lines = text.splitlines()
        self.in_tests = is_test_path(relative)
        self.findings: list[Finding] = []
        self.reported_lines: set[int] = set()
        self.file_name = relative.rsplit("/", 1)[-1]

    def run(self) -> list[Finding]:
        if self.fmt == "script":
            values = self._script_fallbacks()
        elif self.fmt == "json":
            values = self._json_pairs()
        else:
            values = []
            for number, line in enumerate(self.lines, start=1):
                values.extend(self._line_pairs(number, line))
        for value in values:
            self._judge(value)
        self._scan_formats()
        suppressions = Suppressions.parse(self.text) if self.fmt != "json" else Suppressions()
        kept = [f for f in self.findings if not suppressions.is_suppressed(CODE, f.line)]
        return sorted(kept, key=lambda f: (f.line, f.column))

    # -- key/value pairs ---------------------------------------------------

    _ENV_LINE = re.compile(r"^(\s*(?:export\s+)?)([A-Za-z_][A-Za-z0-9_.\-]*)(\s*=\s*)(.*)$")
    _INI_LINE = re.compile(r"^(\s*)([^=:#;\[\s][^=:]*?)(\s*[=:]\s*)(.*)$")
    _YAML_LINE = re.compile(r"""^(\s*(?:-\s+)?)("[^"]*"|'[^']*'|[^\s#'"{\[\-:][^:#]*?|-[^\s:#][^:#]*?)(\s*:\s+)(.*)$""")
    _YAML_ENV_ITEM = re.compile(r"^(\s*-\s+)([A-Za-z_][A-Za-z0-9_]*)(=)(.*)$")
    _TOML_PAIR = re.compile(r"""(^\s*|[{,]\s*)([A-Za-z0-9_\-.]+|"[^"]*"|'[^']*')(\s*=\s*)("(?:[^"\\]|\\.)*"|'[^']*')""")

    def _line_pairs(self, number: int, line: str) -> list[_Value]:
        stripped = line.strip()
        if not stripped or stripped.startswith(("#", ";", "//")):
            return []
        if self.fmt == "toml":
            out = []
            for pair in self._TOML_PAIR.finditer(line):
                raw = pair.group(4)
                start = pair.start(4)
                out.append(_Value(_unquote_key(pair.group(2)), _toml_string(raw), number, start, start + len(raw)))
            return out
        match: re.Match[str] | None
        if self.fmt == "env":
            match = self._ENV_LINE.match(line)
        elif self.fmt == "ini":
            if stripped.startswith("["):
                return []
            match = self._INI_LINE.match(line)
        else:  # yaml
            match = self._YAML_ENV_ITEM.match(line) or self._YAML_LINE.match(line)
        if match is None:
            return []
        key = _unquote_key(match.group(2).strip())
        raw_start = match.start(4)
        raw = match.group(4)
        value, offset, length = _scalar(raw, comment_chars="#;" if self.fmt == "ini" else "#")
        if value is None:
            return []
        if self.fmt == "yaml" and value.startswith(("|", ">")) and len(value) <= 3:
            return []  # a block scalar: its lines are scanned for formats below
        start = raw_start + offset
        return [_Value(key, value, number, start, start + length)]

    _JSON_PAIR = re.compile(r'"((?:[^"\\\n]|\\.)*)"\s*:\s*("(?:[^"\\\n]|\\.)*")')

    def _json_pairs(self) -> list[_Value]:
        out: list[_Value] = []
        starts = _line_starts(self.text)
        for match in self._JSON_PAIR.finditer(self.text):
            try:
                key = json.loads(f'"{match.group(1)}"')
                value = json.loads(match.group(2))
            except (ValueError, RecursionError):
                continue
            line, column = _position(starts, match.start(2))
            out.append(_Value(key, value, line, column, column + len(match.group(2))))
        return out

    _JS_FALLBACK = re.compile(
        r"""process\.env(?:\.([A-Za-z_$][\w$]*)|\[\s*(['"])([^'"]+)\2\s*\])\s*(\|\||\?\?)\s*(['"`])((?:\\.|(?!\5)[^\\\n])*)\5"""
    )

    def _script_fallbacks(self) -> list[_Value]:
        if "process.env" not in self.text:
            return []
        out: list[_Value] = []
        starts = _line_starts(self.text)
        for match in self._JS_FALLBACK.finditer(self.text):
            name = match.group(1) or match.group(3)
            if match.group(5) == "`" and "${" in match.group(6):
                continue
            line, column = _position(starts, match.start(5))
            end = column + len(match.group(6)) + 2
            out.append(_Value(name, match.group(6), line, column, end, context=f"env_fallback{match.group(4)}"))
        return out

    # -- judging -------------------------------------------------------------

    def _judge(self, value: _Value) -> None:
        text = value.text
        if not text or _secrets.is_hash_constant(text):
            return
        token = _secrets.find_token(text)
        if token is not None and (not self.in_tests or token.kind != "pem_private_key"):
            self._report(value, token.kind)
            return
        if self.in_tests:
            return
        url = _secrets.find_url_credentials(text)
        if url is not None:
            self._report(value, "url_credentials", scheme=url.scheme)
            return
        kind = _secrets.secret_kind(value.name)
        if kind is None or not _secrets.looks_like_secret_value(text, kind):
            return
        self._report(value, kind)

    def _scan_formats(self) -> None:
        """Token formats and credentialed URLs on lines no pair covered
        (lists, block scalars, comments), and PEM keys across lines."""
        starts = _line_starts(self.text)
        if not self.in_tests:
            pem = _secrets.find_pem(self.text)
            while pem is not None:
                first, column = _position(starts, pem.start)
                end_line, end_column = _position(starts, pem.end)
                if first not in self.reported_lines:
                    self._report_span(None, "pem_private_key", first, column, end_line, end_column, pem.end - pem.start)
                rest = _secrets.find_pem(self.text[pem.end :])
                pem = None if rest is None else _secrets.TokenMatch(rest.kind, rest.start + pem.end, rest.end + pem.end)
        for number, line in enumerate(self.lines, start=1):
            if number in self.reported_lines or len(line) < 12:
                continue
            token = _secrets.find_token(line)
            if token is not None and token.kind != "pem_private_key":
                self._report_span(None, token.kind, number, token.start, number, token.end, token.end - token.start)
                continue
            if self.in_tests or self.fmt == "script":
                continue
            url = _secrets.find_url_credentials(line)
            if url is not None:
                self._report_span(None, "url_credentials", number, url.start, number, url.end, url.end - url.start, scheme=url.scheme)

    # -- findings --------------------------------------------------------------

    def _report(self, value: _Value, kind: str, **extra: Any) -> None:
        self._report_span(value.name, kind, value.line, value.column, value.line, value.end_column, len(value.text), context=value.context, **extra)

    def _report_span(
        self,
        name: str | None,
        kind: str,
        line: int,
        column: int,
        end_line: int,
        end_column: int,
        length: int,
        *,
        context: str = "config",
        scheme: str | None = None,
    ) -> None:
        if line in self.reported_lines:
            return
        self.reported_lines.add(line)
        label = _secrets.kind_label(kind)
        described = f"'{_secrets.MASK}', a {length}-character value"
        rotate = kind in _secrets.TOKEN_FORMAT_KINDS
        if context.startswith("env_fallback"):
            operator = context[len("env_fallback") :] or "||"
            context = "env_fallback"
            message = (
                f"`process.env.{name} {operator} …` falls back to a hardcoded {label} ({described}); "
                "fail when the variable is missing instead"
            )
        elif kind == "url_credentials":
            where = f"`{name}` is a" if name else "A"
            message = f"{where} `{scheme}://` URL with a hardcoded password (`{scheme}://…:{_secrets.MASK}@…`) in a file git tracks; {self._advice(rotate=True)}"
        else:
            where = f" in `{name}`" if name else ""
            message = f"Hardcoded {label}{where} ({described}) in a file git tracks; {self._advice(rotate=rotate)}"
        severity = self.settings.severity.get(CODE, "error")
        self.findings.append(
            Finding(
                code=CODE,
                name=NAME,
                message=message,
                severity=severity,
                path=self.path,
                relative=self.relative,
                line=line,
                column=column,
                end_line=end_line,
                end_column=end_column,
                layer=LAYER,
                fix_title=None,
                fixable=False,
                data={
                    "name": name,
                    "env_name": _secrets.env_name_for(name) if name else None,
                    "kind": kind,
                    "context": context,
                    "format": self.fmt,
                    "value_range": [line, column, end_line, end_column],
                    "length": length,
                },
            )
        )

    def _advice(self, *, rotate: bool) -> str:
        if self.fmt == "env":
            if self.file_name in EXAMPLE_ENV_FILES:
                return "example files are committed: leave the value empty or a placeholder"
            return f"stop tracking `{self.file_name}` (`git rm --cached`) and rotate the secret"
        if self.fmt == "script":
            return "rotate it and read it from the environment"
        prefix = "rotate it and " if rotate else ""
        return f"{prefix}reference an environment variable or a secret store instead"


# ---------------------------------------------------------------------------
# Small parsing helpers


def _line_starts(text: str) -> list[int]:
    starts = [0]
    for match in re.finditer(r"\r\n|\r|\n", text):
        starts.append(match.end())
    return starts


def _position(starts: list[int], offset: int) -> tuple[int, int]:
    import bisect

    index = bisect.bisect_right(starts, offset) - 1
    return index + 1, offset - starts[index]


def _unquote_key(key: str) -> str:
    key = key.strip()
    if len(key) >= 2 and key[0] == key[-1] and key[0] in "'\"":
        return key[1:-1]
    return key


def _scalar(raw: str, *, comment_chars: str) -> tuple[str | None, int, int]:
    """(value, offset of the value in ``raw``, length as written) for a
    quoted or plain scalar; a plain one ends at a `` #`` comment."""
    stripped = raw.rstrip()
    if not stripped:
        return None, 0, 0
    quote = stripped[0]
    if quote in "'\"":
        end = stripped.find(quote, 1)
        while quote == '"' and end > 0 and stripped[end - 1] == "\\":
            end = stripped.find(quote, end + 1)
        if end < 0:
            return stripped[1:], 0, len(stripped)
        inner = stripped[1:end]
        if quote == '"':
            inner = inner.replace('\\"', '"').replace("\\\\", "\\")
        return inner, 0, end + 1
    cut = len(stripped)
    for char in comment_chars:
        index = stripped.find(f" {char}")
        if index >= 0:
            cut = min(cut, index)
    value = stripped[:cut].rstrip()
    return value, 0, len(value)


def _toml_string(raw: str) -> str:
    if raw.startswith('"'):
        try:
            return json.loads(raw)
        except ValueError:
            return raw[1:-1]
    return raw[1:-1]
