"""stack.yaml: a project's declared stack, which overrides detection.

Read from ``stack/stack.yaml`` (or the backend skill's own
``.agents/skills/oma-backend/stack/stack.yaml``) of a project root and
validated against ``schemas/stack.schema.json``. A file that does not parse
or does not validate becomes Problems positioned on the offending line and
overrides nothing; only a valid file changes the profile.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

import yaml

from ..resources import stack_schema
from .files import ProjectFiles
from .model import Evidence, Fact, Problem, StackProfile, VerifyStep

if TYPE_CHECKING:
    import jsonschema

COMMAND_STEPS = ("syntax", "lint", "typecheck", "tests", "migrations")
# stack.yaml key -> profile category it replaces.
FACT_KEYS = (
    ("framework", "frameworks"),
    ("orm", "orms"),
    ("validation", "validation"),
    ("migration", "migrations"),
    ("test", "test_runners"),
)
# A hand-written stack.yaml has a few dozen nodes; a file past this is an
# alias bomb or not a stack.yaml, and validating it could take forever.
MAX_NODES = 5_000
MAX_PROBLEMS = 20

_JSON_TYPE_NAMES = {
    dict: "an object",
    list: "a list",
    str: "a string",
    bool: "true/false",
    int: "a number",
    float: "a number",
    type(None): "nothing (null)",
}


@dataclass
class StackYaml:
    """A valid stack.yaml: its data and the composed node tree (for lines)."""

    path: str  # relative to the root
    data: dict[str, Any]
    node: yaml.MappingNode

    def evidence(self, *keys: str) -> Evidence:
        """The line of the key at this path (``"verify", "tests"``)."""
        node: yaml.Node = self.node
        key_node: yaml.Node | None = None
        for key in keys:
            entry = _mapping_entry(node, key)
            if entry is None:
                break
            key_node, node = entry
        if key_node is None:
            return Evidence(self.path, 1, "")
        line = key_node.start_mark.line + 1
        return Evidence(self.path, line, _line_text(key_node, line))


def load_stack_yaml(files: ProjectFiles, relative: str) -> tuple[StackYaml | None, list[Problem]]:
    """Parse and validate one stack.yaml. Returns ``(None, problems)`` for a
    file that is unreadable, malformed or invalid; never raises."""
    absolute = str(files.root / relative)
    text = files.read_text(relative)
    if text is None:
        return None, []  # read_text recorded why
    try:
        node, data = _parse(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        reason = exc.problem or exc.context or "not valid YAML"
        if exc.problem and exc.context and exc.context_mark is not None and exc.context_mark is not mark:
            reason += f" ({exc.context} that starts on line {exc.context_mark.line + 1})"
        return None, [Problem(absolute, f"invalid YAML: {reason}", line=line, column=column)]
    except yaml.YAMLError as exc:
        return None, [Problem(absolute, f"invalid YAML: {exc}", line=1, column=1)]
    except RecursionError:
        return None, [Problem(absolute, "invalid YAML: nested too deeply to read", line=1, column=1)]
    if node is None:
        return None, [Problem(absolute, "empty stack.yaml: expected keys such as language, framework, orm, verify", 1, 1)]
    if _count_nodes(node, MAX_NODES) > MAX_NODES:
        message = f"stack.yaml has more than {MAX_NODES} values (aliases included); not a stack description, ignored"
        return None, [Problem(absolute, message, line=1, column=1)]
    problems = [_schema_problem(absolute, node, error) for error in _schema_errors(data)]
    if problems:
        problems.sort(key=lambda p: (p.line, p.column, p.message))
        return None, problems[:MAX_PROBLEMS]
    assert isinstance(node, yaml.MappingNode)  # the schema requires an object
    return StackYaml(relative, data, node), []


def apply_stack_yaml(profile: StackProfile, stack: StackYaml) -> None:
    """Override the detected profile with what the file declares."""
    data = stack.data
    profile.stack_file = stack.path
    overridden = False
    if isinstance(data.get("language"), str):
        profile.language = _declared(stack, "language", [profile.language] if profile.language else [])
        overridden = True
    for key, category in FACT_KEYS:
        if isinstance(data.get(key), str):
            setattr(profile, category, [_declared(stack, key, getattr(profile, category))])
            overridden = True

    settings = data.get("stackguard")
    if isinstance(settings, dict):
        profile.stack_settings.update(settings)
    verify = data.get("verify") if isinstance(data.get("verify"), dict) else {}
    if isinstance(verify.get("raw_sql"), dict):
        # Not a command: the patterns feed the SQL rules, not the runner.
        profile.raw_sql = dict(verify["raw_sql"])
    default_timeout = data.get("timeout")
    steps = [
        VerifyStep.from_cmd(
            name,
            check["cmd"],
            stack.evidence("verify", name),
            pass_signal=check.get("pass_signal"),
            skip_if_missing=check.get("skip_if_missing"),
            timeout=check.get("timeout", default_timeout),
        )
        for name, check in verify.items()
        if name in COMMAND_STEPS and isinstance(check, dict)
    ]
    # A verify block with only raw_sql (or none at all, as `oma install`
    # writes) leaves the detected commands in place.
    if steps:
        profile.verify = steps
        overridden = True
    if overridden:
        profile.source = "stack.yaml"


def _declared(stack: StackYaml, key: str, detected: Sequence[Fact]) -> Fact:
    """The declared fact, keeping what detection knew about the same tool
    (SQLAlchemy's async flag, migration locations) and its evidence after
    the stack.yaml line."""
    name = str(stack.data[key]).strip().lower()
    evidence = stack.evidence(key)
    same = next((fact for fact in detected if fact.name == name), None)
    if same is None:
        return Fact(name, (evidence,), {})
    return Fact(name, (evidence, *(e for e in same.evidence if e != evidence)), dict(same.detail))


# --- parsing and validation -------------------------------------------------------


def _parse(text: str) -> tuple[yaml.Node | None, Any]:
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    finally:
        loader.dispose()
    return node, data


def _count_nodes(node: yaml.Node, budget: int) -> int:
    """Nodes visited with aliases expanded, stopping once past ``budget``."""
    count = 0
    stack = [node]
    while stack and count <= budget:
        current = stack.pop()
        count += 1
        if isinstance(current, yaml.MappingNode):
            for key, value in current.value:
                stack.extend((key, value))
        elif isinstance(current, yaml.SequenceNode):
            stack.extend(current.value)
    return count


@cache
def _validator() -> jsonschema.protocols.Validator:
    # Imported here: ~50 ms that every `stackguard check` of a project
    # without a stack.yaml would pay at start-up.
    import jsonschema

    schema = stack_schema()
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    return cls(schema)


def _schema_errors(data: Any) -> list[jsonschema.ValidationError]:
    return list(_validator().iter_errors(data))


def _schema_problem(path: str, root: yaml.Node, error: jsonschema.ValidationError) -> Problem:
    keys = list(error.absolute_path)
    where = ".".join(str(k) for k in keys) or "stack.yaml"
    target, value_node = _locate(root, keys)
    validator = error.validator
    instance = error.instance
    if validator == "required":
        missing = [name for name in error.validator_value if not isinstance(instance, dict) or name not in instance]
        message = f"{where}: missing required key {', '.join(repr(m) for m in missing)}"
    elif validator == "additionalProperties":
        allowed = list(error.schema.get("properties", {}))
        unexpected = [key for key in instance if key not in allowed] if isinstance(instance, dict) else []
        entry = _mapping_entry(value_node, unexpected[0]) if unexpected else None
        if entry is not None:
            target = entry[0]
        listed = ", ".join(repr(k) for k in unexpected)
        message = f"{where}: unknown key {listed} (allowed: {', '.join(allowed)})"
    elif validator == "type":
        expected = error.validator_value
        expected_names = [expected] if isinstance(expected, str) else list(expected)
        wanted = " or ".join(_schema_type_name(t) for t in expected_names)
        message = f"{where}: expected {wanted}, got {_describe(instance)}"
    elif validator == "minItems":
        message = f"{where}: needs at least {error.validator_value} item(s)"
    elif validator == "minLength":
        message = f"{where}: must not be empty"
    elif validator == "minimum":
        message = f"{where}: must be at least {error.validator_value} (seconds), got {instance!r}"
    elif validator == "enum":
        message = f"{where}: expected one of {', '.join(map(str, error.validator_value))}, got {instance!r}"
    elif validator == "pattern" and keys and keys[-1] == "skip_if_missing":
        message = f"{where}: {instance!r} is not a plain program name (letters, digits, '.', '_', '-')"
    else:
        message = f"{where}: {error.message}"
    start, end = target.start_mark, _key_end(target)
    return Problem(
        path,
        message,
        line=start.line + 1,
        column=start.column + 1,
        end_line=end.line + 1,
        end_column=end.column + 1,
    )


def _locate(root: yaml.Node, keys: Sequence[Any]) -> tuple[yaml.Node, yaml.Node]:
    """(node to point at, value node) for the value at ``keys``. The node to
    point at is the key of a mapping entry (``timeout:``), the item of a
    list, or the document for the root."""
    node = root
    target = root
    for key in keys:
        if isinstance(node, yaml.MappingNode):
            entry = _mapping_entry(node, key)
            if entry is None:
                break
            target, node = entry
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            node = node.value[key]
            target = node
        else:
            break
    return target, node


def _mapping_entry(node: yaml.Node, key: Any) -> tuple[yaml.Node, yaml.Node] | None:
    if not isinstance(node, yaml.MappingNode):
        return None
    for key_node, value_node in node.value:
        if isinstance(key_node, yaml.ScalarNode) and key_node.value == str(key):
            return key_node, value_node
    return None


def _key_end(node: yaml.Node) -> yaml.Mark:
    # A mapping or list spans many lines; underline only its first line.
    if isinstance(node, (yaml.MappingNode, yaml.SequenceNode)):
        return node.start_mark
    return node.end_mark


def _line_text(node: yaml.Node, line: int) -> str:
    buffer = node.start_mark.buffer
    if not buffer:
        return ""
    lines = buffer.rstrip("\0").splitlines()
    return lines[line - 1].strip()[:200] if 0 < line <= len(lines) else ""


def _schema_type_name(name: str) -> str:
    return {
        "object": "an object (key: value lines)",
        "array": "a list",
        "string": "a string",
        "integer": "a whole number",
        "number": "a number",
        "boolean": "true/false",
    }.get(name, name)


def _describe(value: Any) -> str:
    kind = _JSON_TYPE_NAMES.get(type(value), type(value).__name__)
    if isinstance(value, (dict, list)) or value is None:
        return kind
    return f"{kind} {value!r}"
