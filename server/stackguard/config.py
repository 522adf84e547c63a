"""Settings: a typed, fully defaulted model and the precedence that fills it.

Precedence, lowest first (DESIGN.md "Configuration"):

1. built-in defaults (the attrs defaults below),
2. the project: ``[tool.stackguard]`` in the nearest pyproject.toml and the
   ``stackguard:`` keys of ``stack/stack.yaml``,
3. the editor: ``initializationOptions`` then ``workspace/configuration``
   (section ``stackguard``).

Every source is a plain ``dict`` in the editor's camelCase spelling (snake_case
is accepted too). Sources are deep-merged first, then structured leaf by leaf:
an invalid value is dropped with a message naming the key and the source, and
the valid values around it are kept. Nothing here raises on user input.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping
from functools import cache
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

import attrs

Severity = Literal["error", "warning", "info", "hint"]
SEVERITIES: tuple[str, ...] = get_args(Severity)


@attrs.frozen
class DiagnosticsSettings:
    debounce_ms: int = 150
    # Files larger than this are skipped with a notice, not analysed.
    max_file_bytes: int = 2_000_000
    # Also report on files that are not open (push: published after the cold
    # index; pull: workspace/diagnostic). Off by default, like Pyright's
    # "openFilesOnly": closing a file then clears its diagnostics.
    workspace: bool = False


@attrs.frozen
class SecretsSettings:
    # Test files hold fake tokens and throwaway passwords; by default SG301
    # reports only well-known token formats there (a real-looking cloud or
    # Stripe key in a test is still a leak). True: test files are scanned
    # like any other code.
    report_in_tests: bool = False


@attrs.frozen
class AgentSettings:
    enabled: bool = True
    model: str = "claude-sonnet-4-5"
    base_url: str | None = None
    api_key_env: str = "ANTHROPIC_API_KEY"
    max_turns: int = 12
    max_tokens: int = 200_000


@attrs.frozen
class VerifySettings:
    on_save: bool = False
    timeout_seconds: int = 600
    steps: list[str] = attrs.Factory(list)


@attrs.frozen
class Settings:
    select: list[str] = attrs.Factory(list)
    ignore: list[str] = attrs.Factory(list)
    severity: dict[str, Severity] = attrs.Factory(dict)
    exclude: list[str] = attrs.Factory(list)
    layers: dict[str, list[str]] = attrs.Factory(dict)
    diagnostics: DiagnosticsSettings = attrs.Factory(DiagnosticsSettings)
    secrets: SecretsSettings = attrs.Factory(SecretsSettings)
    agent: AgentSettings = attrs.Factory(AgentSettings)
    verify: VerifySettings = attrs.Factory(VerifySettings)
    # Set by editor integrations from the editor's own trust model; workspace
    # defined commands never run on their own in an untrusted workspace.
    trusted: bool = False
    # The interpreter the editor selected, used to run the project's tools.
    interpreter: list[str] = attrs.Factory(list)
    log_level: Literal["error", "warning", "info", "debug"] = "info"


LAYER_NAMES = (
    "router",
    "service",
    "repository",
    "model",
    "migration",
    "schema",
    "config",
    "test",
    "other",
)


@attrs.frozen
class SettingsProblem:
    source: str
    key: str
    message: str

    def __str__(self) -> str:
        return f"{self.source}: {self.key}: {self.message}"


@attrs.frozen
class ResolvedSettings:
    settings: Settings
    problems: tuple[SettingsProblem, ...]
    # dotted camelCase key -> name of the source that set it ("default" when unset)
    sources: Mapping[str, str]


@cache
def _converter() -> Any:
    # cattrs is imported on first use: with default settings (most projects)
    # `stackguard check` never structures a value and saves ~35 ms of start-up.
    import cattrs

    return cattrs.Converter(forbid_extra_keys=True)


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


def _deep_merge(base: dict[str, Any], top: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in top.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _deep_merge(dict(merged[key]), value)
        else:
            merged[key] = value
    return merged


def _check_value(field: attrs.Attribute, value: Any) -> Any:
    """Structure one leaf value to the field's type, or raise ValueError."""
    typ = field.type
    # attrs stores postponed annotations as strings; resolve them once.
    if isinstance(typ, str):
        raise TypeError(f"unresolved annotation for {field.name}")
    origin = get_origin(typ)
    if typ is bool and not isinstance(value, bool):
        raise ValueError(f"expected true or false, got {value!r}")
    if typ is int and (isinstance(value, bool) or not isinstance(value, int)):
        raise ValueError(f"expected a whole number, got {value!r}")
    if typ is int and value < 0:
        raise ValueError(f"expected a number >= 0, got {value!r}")
    if origin is list and not isinstance(value, list):
        raise ValueError(f"expected a list, got {value!r}")
    if origin is dict and not isinstance(value, Mapping):
        raise ValueError(f"expected an object, got {value!r}")
    if origin is Literal and value not in get_args(typ):
        raise ValueError(f"expected one of {', '.join(map(str, get_args(typ)))}, got {value!r}")
    if (mistyped := _first_non_string(value, typ)) is not None:
        where = "" if mistyped is value else f" in {value!r}"
        raise ValueError(f"expected text, got {mistyped!r}{where}")
    try:
        structured = _converter().structure(value, typ)
    except Exception as exc:  # cattrs raises several error types
        raise ValueError(_describe_cattrs_error(exc, value)) from None
    if field.name == "layers":
        unknown = sorted(set(structured) - set(LAYER_NAMES))
        if unknown:
            raise ValueError(f"unknown layer(s) {unknown}; known: {', '.join(LAYER_NAMES)}")
    return structured


def _first_non_string(value: Any, typ: Any) -> Any | None:
    """cattrs turns 3 into "3" for ``str`` fields; a number where a rule code,
    glob or model name belongs is a mistake to report, not to coerce."""
    args = get_args(typ)
    if typ is str:
        return None if isinstance(value, str) else value
    if type(None) in args and value is None:
        return None
    if str in args and len(args) == 2 and type(None) in args:
        return None if isinstance(value, str) else value
    origin = get_origin(typ)
    if origin is list and isinstance(value, list):
        return next((bad for item in value if (bad := _first_non_string(item, args[0])) is not None), None)
    if origin is dict and isinstance(value, Mapping):
        return next((bad for item in value.values() if (bad := _first_non_string(item, args[1])) is not None), None)
    return None


def _describe_cattrs_error(exc: Exception, value: Any) -> str:
    import cattrs

    if isinstance(exc, cattrs.BaseValidationError):
        inner = "; ".join(str(e) for e in exc.exceptions)
        return f"invalid value {value!r} ({inner})"
    return f"invalid value {value!r} ({exc})"


def _structure_partial(
    cls: type, raw: Mapping[str, Any], origin_of: dict[str, str], prefix: str, problems: list[SettingsProblem]
) -> Any:
    attrs.resolve_types(cls)
    kwargs: dict[str, Any] = {}
    fields = {f.name: f for f in attrs.fields(cls)}
    for key, value in raw.items():
        name = _snake(key) if isinstance(key, str) else key
        dotted = f"{prefix}{_camel(name) if isinstance(name, str) else name}"
        field = fields.get(name)
        if field is None:
            problems.append(SettingsProblem(origin_of.get(dotted, "settings"), dotted, "unknown setting, ignored"))
            continue
        if attrs.has(field.type):
            if not isinstance(value, Mapping):
                problems.append(
                    SettingsProblem(origin_of.get(dotted, "settings"), dotted, f"expected an object, got {value!r}")
                )
                _forget_origin(origin_of, dotted)
                continue
            kwargs[name] = _structure_partial(field.type, value, origin_of, dotted + ".", problems)
            continue
        if name == "severity" and isinstance(value, Mapping):
            # Keep the valid per-code severities; drop and report the rest.
            kept = {}
            for code, level in value.items():
                if isinstance(code, str) and level in SEVERITIES:
                    kept[code] = level
                else:
                    problems.append(
                        SettingsProblem(
                            origin_of.get(dotted, "settings"),
                            f"{dotted}.{code}",
                            f"expected one of {', '.join(SEVERITIES)}, got {level!r}; using the rule's default",
                        )
                    )
            value = kept
        try:
            kwargs[name] = _check_value(field, value)
        except (ValueError, TypeError) as exc:
            problems.append(SettingsProblem(origin_of.get(dotted, "settings"), dotted, f"{exc}; using the default"))
            _forget_origin(origin_of, dotted)
    return cls(**kwargs)


def _forget_origin(origin_of: dict[str, str], dotted: str) -> None:
    """A rejected value falls back to the default, so ``sources`` must not
    name the layer that supplied it (debugInfo shows these)."""
    for key in [k for k in origin_of if k == dotted or k.startswith(dotted + ".")]:
        del origin_of[key]


def _normalise_keys(raw: Mapping[str, Any], nested_of: type | None = Settings) -> dict[str, Any]:
    """camelCase every key that names a settings field, recursively."""
    out: dict[str, Any] = {}
    fields = {f.name: f for f in attrs.fields(nested_of)} if nested_of else {}
    for key, value in raw.items():
        if not isinstance(key, str):
            out[key] = value
            continue
        field = fields.get(_snake(key))
        camel = _camel(_snake(key)) if field else key
        if field is not None and attrs.has(field.type) and isinstance(value, Mapping):
            out[camel] = _normalise_keys(value, field.type)
        else:
            out[camel] = value
    return out


def _leaf_keys(raw: Mapping[str, Any], prefix: str = "") -> Iterable[str]:
    for key, value in raw.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, Mapping) and key not in ("severity", "layers"):
            yield dotted
            yield from _leaf_keys(value, dotted + ".")
        else:
            yield dotted


def resolve_settings(sources: Iterable[tuple[str, Mapping[str, Any] | None]]) -> ResolvedSettings:
    """Merge ``(source name, raw dict)`` pairs, lowest precedence first.

    A source that is not a mapping at all is reported and skipped.
    """
    attrs.resolve_types(Settings)
    merged: dict[str, Any] = {}
    origin_of: dict[str, str] = {}
    problems: list[SettingsProblem] = []
    for name, raw in sources:
        if raw is None:
            continue
        if not isinstance(raw, Mapping):
            problems.append(SettingsProblem(name, "", f"expected an object, got {type(raw).__name__}; ignored"))
            continue
        normalised = _normalise_keys(raw)
        for key in _leaf_keys(normalised):
            origin_of[key] = name
        merged = _deep_merge(merged, normalised)
    settings = _structure_partial(Settings, merged, origin_of, "", problems)
    sources_by_key = {key: origin_of.get(key, "default") for key in _all_setting_keys()}
    return ResolvedSettings(settings, tuple(problems), sources_by_key)


def _all_setting_keys(cls: type = Settings, prefix: str = "") -> list[str]:
    keys = []
    for field in attrs.fields(cls):
        dotted = prefix + _camel(field.name)
        if attrs.has(field.type):
            keys.extend(_all_setting_keys(field.type, dotted + "."))
        else:
            keys.append(dotted)
    return keys


def settings_to_dict(settings: Settings) -> dict[str, Any]:
    """The camelCase JSON form, as an editor would write it."""

    def camelise(value: Any) -> Any:
        if isinstance(value, dict):
            return {(_camel(k) if isinstance(k, str) and "_" in k else k): camelise(v) for k, v in value.items()}
        if isinstance(value, list):
            return [camelise(v) for v in value]
        return value

    raw = _converter().unstructure(settings)
    # severity / layers keys are rule codes and layer names: keep them verbatim.
    out = camelise({k: v for k, v in raw.items() if k not in ("severity", "layers")})
    out["severity"] = dict(raw["severity"])
    out["layers"] = dict(raw["layers"])
    return out


def find_pyproject(start: Path, stop_at: Path | None = None) -> Path | None:
    """The nearest pyproject.toml at or above ``start`` (not above ``stop_at``)."""
    current = start if start.is_dir() else start.parent
    stop = stop_at.resolve() if stop_at else None
    for folder in [current, *current.parents]:
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            return candidate
        if stop is not None and folder.resolve() == stop:
            break
    return None


def read_pyproject_settings(path: Path) -> tuple[dict[str, Any] | None, SettingsProblem | None]:
    """``[tool.stackguard]`` of one pyproject.toml; a broken file is a problem, not an error."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        return None, SettingsProblem(str(path), "", f"cannot read: {exc}")
    except tomllib.TOMLDecodeError as exc:
        return None, SettingsProblem(str(path), "", f"invalid TOML: {exc}")
    section = data.get("tool", {}).get("stackguard")
    if section is None:
        return None, None
    if not isinstance(section, dict):
        return None, SettingsProblem(str(path), "tool.stackguard", "expected a table")
    return section, None
