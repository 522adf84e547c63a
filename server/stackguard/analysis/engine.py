"""The guardrail engine: one ``ast`` tree per document version, one pass over
it that dispatches each node to every enabled rule interested in its type.

The walk is iterative (an explicit stack), so a 2,000-term ``+`` chain or a
deeply nested expression that would overflow a recursive ``NodeVisitor`` is
fine. While walking it links each node to its parent (``node.sg_parent``),
which rules use for "which function/loop/handler am I in".
"""

from __future__ import annotations

import ast
import fnmatch
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..config import Settings
from ..rules import Finding, Rule, RuleContext, select_rules
from .source import ParseProblem, SourceFile
from .suppress import Suppressions

if TYPE_CHECKING:
    from ..stack.model import StackProfile
    from .index import WorkspaceIndex

log = logging.getLogger(__name__)


@dataclass
class CheckResult:
    findings: list[Finding] = field(default_factory=list)
    parse_problem: ParseProblem | None = None
    # Rules that raised: reported once, never fatal.
    rule_errors: list[str] = field(default_factory=list)


def module_name(relative: str) -> str:
    """``app/routers/items.py`` → ``app.routers.items``; packages drop ``__init__``."""
    path = relative[:-3] if relative.endswith(".py") else relative
    parts = [p for p in path.split("/") if p]
    if parts and parts[-1] == "__init__":
        parts.pop()
    if parts and parts[0] in ("src",):
        parts = parts[1:]
    return ".".join(parts)


def is_excluded(relative: str, patterns: Iterable[str]) -> bool:
    """``exclude`` globs: ``tests/**``, ``*/migrations/*``, or a bare folder name."""
    for pattern in patterns:
        pattern = pattern.rstrip("/")
        if fnmatch.fnmatchcase(relative, pattern) or fnmatch.fnmatchcase(relative, pattern + "/*"):
            return True
        if "/" not in pattern and "*" not in pattern and pattern in relative.split("/")[:-1]:
            return True
        if pattern.endswith("/**") and (relative + "/").startswith(pattern[:-2]):
            return True
    return False


class Engine:
    """Runs the enabled rules over documents. Cheap to build; build a new one
    when settings change."""

    def __init__(self, settings: Settings, rules: Sequence[type[Rule]] | None = None) -> None:
        self.settings = settings
        self.rules = list(rules) if rules is not None else select_rules(settings.select, settings.ignore)

    def check(
        self,
        source: SourceFile,
        layer: str,
        *,
        profile: StackProfile | None = None,
        index: WorkspaceIndex | None = None,
        module: str | None = None,
    ) -> CheckResult:
        if source.tree is None:
            return CheckResult(parse_problem=source.parse_problem)
        ctx = RuleContext(
            source,
            layer,
            self.settings,
            profile=profile,
            index=index,
            module=module if module is not None else module_name(source.relative),
        )
        result = CheckResult()
        active: list[Rule] = []
        for rule_cls in self.rules:
            try:
                if rule_cls.applies_to(layer, ctx.frameworks):
                    active.append(rule_cls(ctx))
            except Exception as exc:  # a broken rule never takes the others down
                result.rule_errors.append(f"{rule_cls.code}: {exc!r}")
        if not active:
            return result
        failed: set[str] = set()

        def fail(rule: Rule, exc: Exception) -> None:
            failed.add(rule.code)
            log.error("rule %s failed on %s", rule.code, source.relative, exc_info=exc)
            result.rule_errors.append(f"{rule.code}: {exc!r} in {source.relative}")

        def call(rule: Rule, method: str) -> None:
            if rule.code not in failed:
                try:
                    getattr(rule, method)()
                except Exception as exc:
                    fail(rule, exc)

        for rule in active:
            call(rule, "begin")
        # type -> bound visit methods of the rules that want it. A rule that
        # raises is dropped from every list, so it is never called again.
        dispatch: dict[type[ast.AST], list[Callable[[ast.AST], None]]] = {}
        owner: dict[Callable[[ast.AST], None], Rule] = {}
        for rule in active:
            if rule.code in failed:
                continue
            visit = rule.visit
            owner[visit] = rule
            for node_type in rule.node_types:
                for concrete in _concrete_types(node_type):
                    dispatch.setdefault(concrete, []).append(visit)

        def visit_failed(visit: Callable[[ast.AST], None], exc: Exception) -> None:
            fail(owner[visit], exc)
            # New lists, not in-place removal: the walk may be iterating one.
            for node_type, visits in list(dispatch.items()):
                if visit in visits:
                    dispatch[node_type] = [v for v in visits if v is not visit]

        linked: list[ast.AST] = []
        try:
            self._walk(ctx.tree, dispatch, visit_failed, linked)
            for rule in active:
                call(rule, "end")
        finally:
            # Parent links make every tree one big reference cycle that only
            # the cyclic GC can free, in pauses of 100+ ms on a 2,000-line
            # file (the p95 of an editor keystroke). Unlinked, the tree is
            # freed by reference counting as soon as it is dropped.
            for node in linked:
                del node.sg_parent  # type: ignore[attr-defined]
        suppressions = Suppressions.parse(source.text)
        result.findings = sorted(
            (
                f
                for f in ctx.findings
                if f.code not in failed and not suppressions.is_suppressed(f.code, f.line)
            ),
            key=lambda f: (f.line, f.column, f.code),
        )
        return result

    @staticmethod
    def _walk(
        tree: ast.Module,
        dispatch: dict[type[ast.AST], list[Callable[[ast.AST], None]]],
        visit_failed: Callable[[Callable[[ast.AST], None], Exception], None],
        linked: list[ast.AST],
    ) -> None:
        # Hand-inlined child iteration and direct calls of bound visit
        # methods: this loop runs for every node on every keystroke. (A try
        # block costs nothing on 3.11 until something raises.)
        fields_of = _CHILD_FIELDS
        AST = ast.AST
        stack: list[ast.AST] = [tree]
        pop, push, link = stack.pop, stack.append, linked.append
        while stack:
            node = pop()
            node_type = type(node)
            visits = dispatch.get(node_type)
            if visits:
                for visit in visits:
                    try:
                        visit(node)
                    except Exception as exc:
                        visit_failed(visit, exc)
            fields = fields_of.get(node_type)
            if fields is None:
                fields = _child_fields(node_type)
            children: list[ast.AST] = []
            for name in fields:
                value = getattr(node, name, None)
                if value is None:
                    continue
                if isinstance(value, list):
                    for item in value:
                        if isinstance(item, AST):
                            item.sg_parent = node  # type: ignore[attr-defined]
                            link(item)
                            children.append(item)
                elif isinstance(value, AST):
                    value.sg_parent = node  # type: ignore[attr-defined]
                    link(value)
                    children.append(value)
            # Reversed so the stack pops children in source order.
            for child in reversed(children):
                push(child)


# Fields that hold operator/context singletons (ast.Load(), ast.Add()…):
# shared across the whole tree, so never walked or parent-linked.
_SINGLETON_FIELDS = frozenset({"ctx", "op", "ops"})
_CHILD_FIELDS: dict[type, tuple[str, ...]] = {}


def _child_fields(node_type: type) -> tuple[str, ...]:
    fields = tuple(name for name in getattr(node_type, "_fields", ()) if name not in _SINGLETON_FIELDS)
    _CHILD_FIELDS[node_type] = fields
    return fields


def _concrete_types(node_type: type[ast.AST]) -> list[type[ast.AST]]:
    """``ast.expr`` → every concrete expression class, so rules can ask for
    abstract bases while dispatch stays a dict lookup on ``type(node)``."""
    subclasses = node_type.__subclasses__()
    if not subclasses:
        return [node_type]
    found = [node_type]
    for sub in subclasses:
        found.extend(_concrete_types(sub))
    return found
