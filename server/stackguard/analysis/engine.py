"""The guardrail engine: one ``ast`` tree per document version, one pass over
it that dispatches each node to every enabled rule interested in its type.

The walk is iterative (an explicit stack), so a 2,000-term ``+`` chain or a
deeply nested expression that would overflow a recursive ``NodeVisitor`` is
fine. While walking it links each node to its parent (``node.sg_parent``),
which rules use for "which function/loop/handler am I in".

For an open document the editor passes a ``CarryOver``: the statement-scoped
rules then walk only the top-level statements that were re-parsed, and the
others keep their findings from the previous version
(``analysis/incremental.py`` says when that is exact).
"""

from __future__ import annotations

import ast
import fnmatch
import logging
from bisect import bisect_right
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING

from ..config import Settings
from ..rules import Finding, Rule, RuleContext, select_rules
from .incremental import Splice, carry_finding, mentioned_lines, statement_spans
from .nodes import CHILD_FIELDS, LEAF_TYPES, child_fields
from .source import ParseProblem, SourceFile
from .suppress import Suppressions

if TYPE_CHECKING:
    from ..stack.model import StackProfile
    from .index import WorkspaceIndex
    from .semantics import ImportMap

log = logging.getLogger(__name__)


@dataclass
class CheckResult:
    findings: list[Finding] = field(default_factory=list)
    parse_problem: ParseProblem | None = None
    # Rules that raised: reported once, never fatal.
    rule_errors: list[str] = field(default_factory=list)
    # Per top-level statement, what the statement-scoped rules found in it
    # (before suppressions): what the next version may carry over. None
    # when it cannot (a rule failed, or reported outside every statement).
    statement_findings: StatementFindings | None = None


@dataclass
class CarryOver:
    """What an incremental check reuses from the previous version: the
    splice that built this version's tree and, per old top-level statement,
    the statement-scoped rules' findings. Only valid while the context the
    rules read (``ProjectAnalyzer``'s context key) is unchanged."""

    splice: Splice
    previous: StatementFindings


@dataclass
class StatementFindings:
    """Per top-level statement: the statement-scoped rules' findings in it
    (before suppressions) and the lowest and highest line they mention."""

    findings: list[list[Finding]]
    mentions: list[tuple[int, int]]

    @classmethod
    def of(cls, findings: list[list[Finding]], known: Mapping[int, tuple[int, int]]) -> StatementFindings:
        """``known``: the mentions of carried statements, already moved."""
        mentions = []
        for position, group in enumerate(findings):
            span = known.get(position)
            if span is None:
                lines = [line for finding in group for line in mentioned_lines(finding)]
                span = (min(lines), max(lines)) if lines else _NO_MENTION
            mentions.append(span)
        return cls(findings, mentions)


_NO_MENTION = (1 << 30, -1)


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
        imports: ImportMap | None = None,
        carry: CarryOver | None = None,
        keep_parent_links: bool = False,
    ) -> CheckResult:
        """Run the enabled rules over ``source``. With ``carry``, statements
        the splice carried over keep their statement-scoped findings and only
        the re-parsed ones are walked by those rules. ``keep_parent_links``
        leaves the tree's ``sg_parent`` links in place (a cycle per node) for
        a caller whose process ends before the tree would be freed."""
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
        if imports is not None:
            ctx.__dict__["imports"] = imports  # computed by the caller already
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

        # Dispatch is built after begin(): a rule that finds nothing to visit
        # in this module sets ``self.node_types = ()`` there (SG303 without a
        # JWT import), and a module-scoped one then costs carried statements
        # no walk at all.
        for rule in active:
            call(rule, "begin")
        # type -> bound visit methods of the rules that want it. A rule that
        # raises is dropped from every list, so it is never called again.
        dispatch: dict[type[ast.AST], list[Callable[[ast.AST], None]]] = {}
        # The same for module-scoped rules only: what carried statements need.
        module_dispatch: dict[type[ast.AST], list[Callable[[ast.AST], None]]] = {}
        owner: dict[Callable[[ast.AST], None], Rule] = {}
        for rule in active:
            if rule.code in failed:
                continue
            visit = rule.visit
            owner[visit] = rule
            for node_type in rule.node_types:
                for concrete in _concrete_types(node_type):
                    dispatch.setdefault(concrete, []).append(visit)
                    if rule.scope != "statement":
                        module_dispatch.setdefault(concrete, []).append(visit)

        def visit_failed(visit: Callable[[ast.AST], None], exc: Exception) -> None:
            fail(owner[visit], exc)
            # New lists, not in-place removal: the walk may be iterating one.
            for table in (dispatch, module_dispatch):
                for node_type, visits in list(table.items()):
                    if visit in visits:
                        table[node_type] = [v for v in visits if v is not visit]

        tree = ctx.tree
        starts, ends = statement_spans(tree)
        carried = self._carried(carry, tree, starts, ends) if carry is not None else {}
        linked: list[ast.AST] = []
        try:
            if not carried:
                self._walk([tree], None, dispatch, visit_failed, linked)
            else:
                # The module node, then each statement with the rules it needs.
                for visit in dispatch.get(ast.Module, ()):
                    try:
                        visit(tree)
                    except Exception as exc:
                        visit_failed(visit, exc)
                for position, stmt in enumerate(tree.body):
                    if position not in carried:
                        self._walk([stmt], tree, dispatch, visit_failed, linked)
                    elif module_dispatch:
                        self._walk([stmt], tree, module_dispatch, visit_failed, linked)
            for rule in active:
                call(rule, "end")
        finally:
            # Parent links make every tree one big reference cycle that only
            # the cyclic GC can free, in pauses of 100+ ms on a 2,000-line
            # file (the p95 of an editor keystroke). Unlinked, the tree is
            # freed by reference counting as soon as it is dropped.
            if not keep_parent_links:
                for node in linked:
                    del node.sg_parent  # type: ignore[attr-defined]
        statement_codes = {rule.code for rule in active if rule.scope == "statement"}
        found = [f for f in ctx.findings if f.code not in failed]
        per_statement: list[list[Finding]] | None = [[] for _ in tree.body]
        kept: list[Finding] = []
        for finding in found:
            if finding.code not in statement_codes:
                kept.append(finding)
                continue
            position = bisect_right(starts, finding.line) - 1
            inside = position >= 0 and finding.line <= ends[position]
            if inside and position in carried:
                continue  # the carried copy stands for it
            kept.append(finding)
            if inside and per_statement is not None:
                per_statement[position].append(finding)
            else:
                per_statement = None  # outside every statement: cannot be carried
        for position, (findings, _) in carried.items():
            kept.extend(findings)
            if per_statement is not None:
                per_statement[position] = findings
        if per_statement is not None and not failed and not result.rule_errors:
            known = {position: mentions for position, (_, mentions) in carried.items()}
            result.statement_findings = StatementFindings.of(per_statement, known)
        suppressions = Suppressions.parse(source.text)
        result.findings = sorted(
            (
                f
                for f in kept
                if not suppressions.is_suppressed(f.code, f.line)
            ),
            key=lambda f: (f.line, f.column, f.code),
        )
        return result

    @staticmethod
    def _carried(
        carry: CarryOver, tree: ast.Module, starts: list[int], ends: list[int]
    ) -> dict[int, tuple[list[Finding], tuple[int, int]]]:
        """New statement position -> its carried findings and the lines they
        mention, for the carried
        statements whose findings all still read true (none mentions a
        re-parsed line)."""
        carried: dict[int, tuple[list[Finding], tuple[int, int]]] = {}
        previous = carry.previous
        splice = carry.splice
        first, last = splice.region
        for position, (old_position, offset) in splice.carried.items():
            if old_position >= len(previous.findings):
                continue
            low, high = previous.mentions[old_position]
            if low <= last and high >= first:
                continue  # names a re-parsed line: check the statement again
            findings = previous.findings[old_position]
            if findings and low > last and splice.delta:
                moved = [carry_finding(finding, splice) for finding in findings]
                if any(finding is None for finding in moved):
                    continue
                findings = moved  # type: ignore[assignment]
                low, high = low + splice.delta, high + splice.delta
            carried[position] = (findings, (low, high))
        return carried

    @staticmethod
    def _walk(
        roots: list[ast.AST],
        parent: ast.AST | None,
        dispatch: dict[type[ast.AST], list[Callable[[ast.AST], None]]],
        visit_failed: Callable[[Callable[[ast.AST], None], Exception], None],
        linked: list[ast.AST],
    ) -> None:
        # Hand-inlined child iteration and direct calls of bound visit
        # methods: this loop runs for every node on every keystroke. (A try
        # block costs nothing on 3.11 until something raises.) The fields
        # ``child_fields`` gives hold a node, None or a list of nodes (with
        # None in Dict.keys), so values need no isinstance tests.
        fields_of = CHILD_FIELDS
        List = list
        # Leaves no rule visits (a Name, most Constants) are linked to their
        # parent but never pushed: about a third of all nodes.
        quiet = LEAF_TYPES.difference(dispatch)
        stack: list[ast.AST] = list(reversed(roots))
        pop, extend, link = stack.pop, stack.extend, linked.append
        if parent is not None:
            for root in roots:
                root.sg_parent = parent  # type: ignore[attr-defined]
                link(root)
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
                fields = child_fields(node_type)
            children: list[ast.AST] = []
            add = children.append
            for name in fields:
                value = getattr(node, name, None)
                if value is None:
                    continue
                if type(value) is List:
                    for item in value:
                        if item is not None:
                            item.sg_parent = node  # type: ignore[attr-defined]
                            link(item)
                            if type(item) not in quiet:
                                add(item)
                else:
                    value.sg_parent = node  # type: ignore[attr-defined]
                    link(value)
                    if type(value) not in quiet:
                        add(value)
            if children:
                # Reversed so the stack pops children in source order.
                children.reverse()
                extend(children)


@cache
def _concrete_types(node_type: type[ast.AST]) -> tuple[type[ast.AST], ...]:
    """``ast.expr`` → every concrete expression class, so rules can ask for
    abstract bases while dispatch stays a dict lookup on ``type(node)``.
    (Cached: asked for every rule of every file checked.)"""
    found = [node_type]
    for sub in node_type.__subclasses__():
        found.extend(_concrete_types(sub))
    return tuple(found)
