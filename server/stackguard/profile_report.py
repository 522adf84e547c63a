"""How a detected stack is shown: the camelCase JSON that editors receive
(``stackguard/stack`` notification, ``stackguard.showStack``, ``stackguard
stack --format json``), the text ``stackguard stack`` prints, and the words
hover uses for categories. Shared by the CLI and the language server so both
say the same thing; plain data in, plain data out.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any

from stackguard.stack.model import Fact, Problem, StackProfile

# Category attribute -> how one item of it is named in prose (hover, text).
CATEGORY_LABELS: Mapping[str, str] = {
    "language": "language",
    "frameworks": "framework",
    "orms": "ORM",
    "migrations": "migration tool",
    "validation": "validation library",
    "auth": "auth library",
    "test_runners": "test runner",
    "linters": "linter",
    "typecheckers": "type checker",
    "package_managers": "package manager",
    "databases": "database",
    "queues": "queue",
}


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def to_json(value: Any) -> Any:
    """JSON-ready form of a detection dataclass: field names camelCased,
    mapping keys kept verbatim (they are data: fact details, settings keys)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {camel(f.name): to_json(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(key): to_json(item) for key, item in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_json(item) for item in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def profile_to_json(profile: StackProfile) -> dict[str, Any]:
    return to_json(profile)


def root_entry(profile: StackProfile, root_id: str) -> dict[str, Any]:
    """One element of ``roots``; ``root_id`` is a URI for editors, a path for the CLI."""
    return {
        "root": root_id,
        "relativeRoot": profile.relative_root,
        "summary": profile.summary(),
        "profile": profile_to_json(profile),
    }


def describe_fact(fact: Fact) -> str:
    """``alembic (location=migrations)``."""
    if not fact.detail:
        return fact.name
    detail = ", ".join(f"{key}={value}" for key, value in fact.detail.items())
    return f"{fact.name} ({detail})"


def _evidence_list(fact: Fact) -> str:
    return ", ".join(str(evidence) for evidence in fact.evidence) or "-"


def render_text(profiles: Iterable[StackProfile]) -> str:
    """What ``stackguard stack`` prints: per root, its relative root and
    source, then each non-empty category with facts and evidence."""
    blocks = []
    for profile in profiles:
        lines = [f"{profile.relative_root}  [{profile.source}]  {profile.summary()}"]
        if profile.stack_file:
            lines.append(f"  stack file: {profile.stack_file}")
        if profile.language is not None:
            lines.append(f"  language: {describe_fact(profile.language)}  ({_evidence_list(profile.language)})")
        for category in StackProfile.FACT_LISTS:
            facts: list[Fact] = getattr(profile, category)
            if not facts:
                continue
            lines.append(f"  {category.replace('_', ' ')}:")
            for fact in facts:
                lines.append(f"    {describe_fact(fact)}  ({_evidence_list(fact)})")
        if profile.layers:
            lines.append("  layers:")
            for pattern in profile.layers:
                lines.append(f"    {pattern.layer}: {pattern.glob}")
        if profile.verify:
            lines.append("  verify:")
            for step in profile.verify:
                lines.append(f"    {step.name}: {step.cmd}")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + ("\n" if blocks else "")


def unique_problems(profiles: Iterable[StackProfile]) -> list[Problem]:
    """Problems of every root, each once (a shared file can be read by
    several roots), in a stable order."""
    seen: dict[tuple[str, int, int, str], Problem] = {}
    for profile in profiles:
        for problem in profile.problems:
            seen.setdefault((problem.path, problem.line, problem.column, problem.message), problem)
    return [seen[key] for key in sorted(seen)]
