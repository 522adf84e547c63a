"""The rule registry: every ``sgNNN_<name>.py`` module in this package holds
one ``Rule`` subclass. Discovered with pkgutil so a rule is added by adding
its file, with no second list to keep in sync."""

from __future__ import annotations

import importlib
import pkgutil
import re
from functools import cache

from .base import Finding, Rule, RuleContext, RuleDoc, Span

__all__ = ["Finding", "Rule", "RuleContext", "RuleDoc", "Span", "all_rules", "rule_by_code", "select_rules"]

_RULE_MODULE = re.compile(r"^sg\d{3}_[a-z0-9_]+$")


@cache
def all_rules() -> tuple[type[Rule], ...]:
    found: list[type[Rule]] = []
    for module_info in pkgutil.iter_modules(__path__):
        if not _RULE_MODULE.match(module_info.name):
            continue
        module = importlib.import_module(f"{__name__}.{module_info.name}")
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, Rule) and value is not Rule and value.__module__ == module.__name__:
                found.append(value)
    codes = [rule.code for rule in found]
    duplicates = {code for code in codes if codes.count(code) > 1}
    if duplicates:
        raise RuntimeError(f"duplicate rule codes: {sorted(duplicates)}")
    return tuple(sorted(found, key=lambda rule: rule.code))


@cache
def _rules_by_key() -> dict[str, type[Rule]]:
    table: dict[str, type[Rule]] = {}
    for rule in all_rules():
        table[rule.code] = rule
        table[rule.name] = rule
    return table


def rule_by_code(code: str) -> type[Rule] | None:
    """A rule by code (``SG201``, any case) or name (``sql-string-interpolation``)."""
    table = _rules_by_key()
    return table.get(code.upper()) or table.get(code.lower())


def select_rules(select: list[str] | tuple[str, ...] = (), ignore: list[str] | tuple[str, ...] = ()) -> list[type[Rule]]:
    """Rules enabled by ``select``/``ignore`` prefixes (``SG2`` selects SG2xx);
    an empty ``select`` means every rule. The longer matching prefix wins, as
    in ruff, so ``select=[SG2], ignore=[SG201]`` keeps SG202–SG205."""

    def best(code: str, prefixes: list[str] | tuple[str, ...]) -> int:
        return max((len(p) for p in prefixes if code.startswith(p.upper())), default=-1)

    enabled = []
    for rule in all_rules():
        selected = best(rule.code, select) if select else 0
        ignored = best(rule.code, ignore)
        if selected >= 0 and selected > ignored:
            enabled.append(rule)
    return enabled
