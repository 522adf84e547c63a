"""SG501 quick fix: add the annotations that are certain.

The rule decided what is certain when it reported (``data["fix"]``):
``-> None`` for a function that returns no value, the type of a literal
default (``limit=20`` → ``limit: int = 20``), and ``Session`` /
``AsyncSession`` for a parameter used as an ORM session, with the import to
add when the module does not have it. This codemod only writes them: it
finds the function by name on its ``def`` line, annotates the parameters and
the return that are still bare, and adds ``from <module> import <name>``
(joining an existing import from that module). Everything else stays as it
is; there is never an ``Any``.

No fix (None, reason logged) when the finding carries nothing certain, the
function is not at the recorded line any more, or everything it would add
is already there. Safe (``--fix``) unless the rule marked it otherwise: a
route handler or a function with runtime decorators whose parameters get
types (FastAPI-style frameworks validate by annotation).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import libcst as cst
from libcst.codemod import CodemodContext, SkipFile

from ..analysis.engine import module_name
from ..rules.base import Finding
from .edits import (
    Fix,
    Located,
    StatementCodemod,
    add_from_import,
    imported_name,
    in_file_fix,
    new_context,
    parses,
    run_codemod,
)

log = logging.getLogger(__name__)


def annotations_fix(finding: Finding, source_text: str, *, project_root: str | None = None, **_: Any) -> Fix | None:
    data: Mapping[str, Any] = finding.data or {}
    what = f"{finding.code} at {finding.relative or finding.path}:{finding.line}"
    raw_plan = data.get("fix")
    plan: Mapping[str, Any] = raw_plan if isinstance(raw_plan, Mapping) else {}
    returns = plan.get("return") if isinstance(plan.get("return"), str) else None
    params = {str(k): str(v) for k, v in (plan.get("params") or {}).items()} if isinstance(plan.get("params"), Mapping) else {}
    imports = [
        (str(item[0]), str(item[1]))
        for item in plan.get("imports") or ()
        if isinstance(item, Sequence) and not isinstance(item, str) and len(item) == 2
    ]
    function = str(data.get("function") or "")
    line = data.get("line")
    if not function or not isinstance(line, int) or not (returns or params):
        log.info("%s: no fix: no annotation is certain", what)
        return None
    codemod = AddAnnotations(
        new_context(finding.path),
        source_text,
        function=function,
        line=line,
        params=params,
        returns=returns,
        imports=imports,
        current_module=module_name(finding.relative) if finding.relative else "",
    )
    new = run_codemod(codemod, source_text, what)
    if new is None or not parses(new):
        return None
    added = [f"{name}: {kind}" for name, kind in params.items() if name in codemod.annotated]
    if codemod.returned:
        added.append(f"-> {returns}")
    title = "Add annotations " + ", ".join(f"`{piece}`" for piece in added)
    safe = finding.fixable and not data.get("unsafe")
    return in_file_fix(title, finding.code, finding.path, source_text, new, safe=bool(safe))


class AddAnnotations(StatementCodemod):
    DESCRIPTION = "Add certain type annotations to a function."

    def __init__(
        self,
        context: CodemodContext,
        source_text: str,
        *,
        function: str,
        line: int,
        params: Mapping[str, str],
        returns: str | None,
        imports: list[tuple[str, str]],
        current_module: str,
    ) -> None:
        super().__init__(context, source_text)
        self.function = function
        self.line = line
        self.params = params
        self.returns = returns
        self.imports = imports
        self.current_module = current_module
        self.annotated: set[str] = set()
        self.returned = False

    def transform_module_impl(self, tree: cst.Module) -> cst.Module:
        located = self.locate(tree, self.line)
        target = self._function(located)
        updated = target.with_changes(
            params=target.params.with_changes(
                posonly_params=self._annotate(target.params.posonly_params),
                params=self._annotate(target.params.params),
                kwonly_params=self._annotate(target.params.kwonly_params),
            )
        )
        if self.returns and target.returns is None:
            updated = updated.with_changes(returns=cst.Annotation(annotation=cst.parse_expression(self.returns)))
            self.returned = True
        if not self.annotated and not self.returned:
            raise SkipFile("every certain annotation is already there")
        tree = located.replace(tree, target, updated)
        used = {kind for name, kind in self.params.items() if name in self.annotated}
        for module, name in self.imports:
            if name in used and imported_name(tree, module, name, self.current_module) is None:
                tree = add_from_import(tree, module, name, self.current_module)
        return tree

    def _function(self, located: Located) -> cst.FunctionDef:
        for node in located.nodes_starting_on(self.line):
            if isinstance(node, cst.Name) and node.value == self.function:
                parent = located.parents.get(node)
                if isinstance(parent, cst.FunctionDef) and parent.name is node:
                    return parent
        raise SkipFile(f"no function {self.function!r} defined on line {self.line}")

    def _annotate(self, params: Sequence[cst.Param]) -> list[cst.Param]:
        out: list[cst.Param] = []
        for param in params:
            kind = self.params.get(param.name.value)
            if kind is None or param.annotation is not None:
                out.append(param)
                continue
            changes: dict[str, Any] = {"annotation": cst.Annotation(annotation=cst.parse_expression(kind))}
            if param.default is not None:
                # PEP 8: spaces around `=` once the parameter is annotated.
                changes["equal"] = cst.AssignEqual(
                    whitespace_before=cst.SimpleWhitespace(" "), whitespace_after=cst.SimpleWhitespace(" ")
                )
            out.append(param.with_changes(**changes))
            self.annotated.add(param.name.value)
        return out
