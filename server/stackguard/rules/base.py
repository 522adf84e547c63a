"""The rule contract: ``Finding`` (what a rule reports), ``Rule`` (one class per
rule, one rule per file), ``RuleContext`` (what a rule may look at) and
``RuleDoc`` (the rule's documentation, parsed from its module docstring, which
feeds hover, ``stackguard rules CODE`` and the README's rule table).

A rule module ``sgNNN_<name>.py`` holds a docstring with the sections
``## What it does``, ``## Why is this bad?``, ``## Example``, ``## Use instead``
and optionally ``## Fix`` and ``## References``, and one ``Rule`` subclass.
"""

from __future__ import annotations

import ast
import re
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache, cached_property
from typing import TYPE_CHECKING, Any, ClassVar

from ..analysis.semantics import (
    FunctionNode,
    ImportMap,
    RouteHandler,
    enclosing_function,
    find_route_handlers,
    session_names,
)
from ..analysis.source import SourceFile
from ..config import Settings, Severity

if TYPE_CHECKING:
    from ..analysis.index import WorkspaceIndex
    from ..stack.model import StackProfile

DOCS_URL = "https://github.com/stackguard/stackguard/blob/main/docs/rules.md#{code}"


@dataclass(frozen=True)
class Span:
    """1-based lines, 0-based character columns (code points)."""

    line: int
    column: int
    end_line: int
    end_column: int


@dataclass(frozen=True)
class Finding:
    code: str
    name: str
    message: str
    severity: Severity
    path: str  # absolute
    relative: str  # relative to the project root
    line: int  # 1-based
    column: int  # 0-based, code points
    end_line: int
    end_column: int
    layer: str
    fix_title: str | None = None
    fixable: bool = False  # a safe fix is available (``--fix``, fixAll)
    data: Mapping[str, Any] = field(default_factory=dict)

    @property
    def span(self) -> Span:
        return Span(self.line, self.column, self.end_line, self.end_column)

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "name": self.name,
            "message": self.message,
            "severity": self.severity,
            "path": self.path,
            "relative": self.relative,
            "line": self.line,
            "column": self.column,
            "end_line": self.end_line,
            "end_column": self.end_column,
            "layer": self.layer,
            "fix_title": self.fix_title,
            "fixable": self.fixable,
            "data": dict(self.data),
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> Finding:
        return cls(**{**raw, "data": dict(raw.get("data") or {})})


class RuleContext:
    """Everything a rule may look at for one module. Derived facts are
    computed lazily, once, and shared by every rule."""

    def __init__(
        self,
        source: SourceFile,
        layer: str,
        settings: Settings,
        profile: StackProfile | None = None,
        index: WorkspaceIndex | None = None,
        module: str = "",
    ) -> None:
        assert source.tree is not None
        self.source = source
        self.tree: ast.Module = source.tree
        self.layer = layer
        self.settings = settings
        self.profile = profile
        self.index = index
        self.module = module
        self.findings: list[Finding] = []
        self._sessions: dict[int, set[str]] = {}

    @cached_property
    def imports(self) -> ImportMap:
        return ImportMap.from_tree(self.tree, self.module, self.source.text)

    @cached_property
    def route_handlers(self) -> list[RouteHandler]:
        return find_route_handlers(self.tree, self.imports, self.source.relative)

    @cached_property
    def route_handler_nodes(self) -> dict[int, RouteHandler]:
        return {id(handler.node): handler for handler in self.route_handlers}

    def route_handler_for(self, node: ast.AST) -> RouteHandler | None:
        """The route handler whose body contains ``node`` (or is ``node``)."""
        func = node if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) else enclosing_function(node)
        while func is not None:
            handler = self.route_handler_nodes.get(id(func))
            if handler is not None:
                return handler
            func = enclosing_function(func)
        return None

    def sessions_in(self, func: FunctionNode | None) -> set[str]:
        if func is None:
            return set()
        key = id(func)
        if key not in self._sessions:
            self._sessions[key] = session_names(func, self.imports)
        return self._sessions[key]

    @cached_property
    def frameworks(self) -> set[str]:
        names: set[str] = set()
        if self.profile is not None:
            names.update(self.profile.names("frameworks"))
            names.update(self.profile.names("orms"))
        roots = {q.split(".", 1)[0] for q in self.imports.names.values()}
        names.update(roots & {"fastapi", "flask", "django", "aiohttp", "litestar", "starlette", "sqlalchemy", "sqlmodel", "rest_framework", "peewee", "tortoise"})
        return names

    @cached_property
    def model_names(self) -> set[str]:
        return set(self.index.model_names()) if self.index is not None else set()

    def parent(self, node: ast.AST) -> ast.AST | None:
        return getattr(node, "sg_parent", None)

    def ancestors(self, node: ast.AST) -> Iterator[ast.AST]:
        current = getattr(node, "sg_parent", None)
        while current is not None:
            yield current
            current = getattr(current, "sg_parent", None)

    def span_of(self, node: ast.AST) -> Span:
        line = getattr(node, "lineno", 1)
        end_line = getattr(node, "end_lineno", None) or line
        column = self.source.char_column(line, getattr(node, "col_offset", 0))
        end_column = self.source.char_column(end_line, getattr(node, "end_col_offset", None) or 0)
        return Span(line, column, end_line, end_column)


class Rule:
    """Base class of every rule. Subclasses set the class attributes and
    implement ``visit`` (called for each node of a type in ``node_types``,
    in source order, during the engine's single pass), ``begin`` and/or
    ``end`` (module-level checks)."""

    code: ClassVar[str]
    name: ClassVar[str]
    default_severity: ClassVar[Severity] = "warning"
    # Layers the rule applies to; None = every layer.
    layers: ClassVar[frozenset[str] | None] = None
    # Frameworks/ORMs (stack fact names or imported top-level packages) the
    # rule applies to; None = any stack.
    frameworks: ClassVar[frozenset[str] | None] = None
    node_types: ClassVar[tuple[type[ast.AST], ...]] = ()
    # "statement": what the rule reports inside a top-level statement depends
    # only on that statement and module-wide context (layer, imports, the
    # module without its function bodies, its summary, the index), so the
    # editor may carry those findings over while other statements change
    # (analysis/incremental.py). "module": the rule looks across function
    # bodies and runs over the whole module on every version. A rule that
    # names a line in a message writes it as "line 12" or "lines 3, 7", and
    # line-valued ``data`` keys are ``line`` or end in ``_line``, so carried
    # findings can be moved with their statement.
    scope: ClassVar[str] = "module"
    # What the quick fix does, when the rule has one ("Bind the values as parameters").
    fix_title: ClassVar[str | None] = None
    # Whether the fix is safe to apply without review (``--fix``, fixAll).
    fix_safe: ClassVar[bool] = False

    def __init__(self, ctx: RuleContext) -> None:
        self.ctx = ctx

    def begin(self) -> None:
        """Called once before the pass."""

    def visit(self, node: ast.AST) -> None:
        """Called for each node of the declared types."""

    def end(self) -> None:
        """Called once after the pass."""

    def report(
        self,
        where: ast.AST | Span,
        message: str,
        *,
        data: Mapping[str, Any] | None = None,
        fixable: bool | None = None,
        fix_title: str | None = None,
        safe: bool | None = None,
        severity: Severity | None = None,
    ) -> None:
        """``fixable=False`` withdraws the rule's fix for this finding;
        ``safe=False`` keeps it but not for ``--fix``/fixAll; ``severity``
        overrides the rule's default (a user's configured severity wins)."""
        span = where if isinstance(where, Span) else self.ctx.span_of(where)
        title = fix_title if fix_title is not None else self.fix_title
        has_fix = title is not None if fixable is None else fixable
        is_safe = self.fix_safe if safe is None else safe
        severity = self.ctx.settings.severity.get(self.code, severity or self.default_severity)
        self.ctx.findings.append(
            Finding(
                code=self.code,
                name=self.name,
                message=message,
                severity=severity,
                path=self.ctx.source.path,
                relative=self.ctx.source.relative,
                line=span.line,
                column=span.column,
                end_line=span.end_line,
                end_column=span.end_column,
                layer=self.ctx.layer,
                fix_title=title if has_fix else None,
                fixable=bool(has_fix and is_safe),
                data=dict(data or {}),
            )
        )

    @classmethod
    def applies_to(cls, layer: str, frameworks: set[str]) -> bool:
        if cls.layers is not None and layer not in cls.layers:
            return False
        if cls.frameworks is not None and frameworks and not (cls.frameworks & frameworks):
            return False
        return True

    @classmethod
    def doc(cls) -> RuleDoc:
        return RuleDoc.of(cls)


_SECTION = re.compile(r"^## (.+?)\s*$", re.MULTILINE)


@dataclass(frozen=True)
class RuleDoc:
    code: str
    name: str
    summary: str
    sections: Mapping[str, str]
    markdown: str
    url: str

    @classmethod
    @cache
    def of(cls, rule: type[Rule]) -> RuleDoc:
        module = sys.modules.get(rule.__module__)
        text = (module.__doc__ if module else None) or rule.__doc__ or ""
        text = _dedent(text).strip()
        sections: dict[str, str] = {}
        matches = list(_SECTION.finditer(text))
        for index, match in enumerate(matches):
            end = matches[index + 1].start() if index + 1 < len(matches) else len(text)
            sections[match.group(1)] = text[match.end() : end].strip()
        what = sections.get("What it does", "")
        summary = what.split("\n\n", 1)[0].replace("\n", " ").strip()
        markdown = f"# {rule.code} {rule.name}\n\n{text}\n"
        return cls(rule.code, rule.name, summary, sections, markdown, DOCS_URL.format(code=rule.code.lower()))


def _dedent(text: str) -> str:
    import textwrap

    first, _, rest = text.partition("\n")
    return first.strip() + "\n" + textwrap.dedent(rest)
