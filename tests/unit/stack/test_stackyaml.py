"""stack.yaml: schema, error positions, and how a valid file overrides detection."""

from __future__ import annotations

from pathlib import Path

import jsonschema
import pytest
from conftest import summary, workspace_path

from stackguard.resources import stack_schema
from stackguard.stack import detect_root, detect_workspace
from stackguard.stack.files import ProjectFiles
from stackguard.stack.stackyaml import load_stack_yaml


def write(root: Path, files: dict[str, str | bytes]) -> Path:
    for relative, content in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return root


def load(root: Path, text: str | bytes, relative: str = "stack/stack.yaml"):
    write(root, {relative: text})
    return load_stack_yaml(ProjectFiles.scan(root), relative)


def problems(found) -> list[tuple[int, int, str]]:
    return [(p.line, p.column, p.message) for p in found]


# --- the schema ------------------------------------------------------------------


def test_schema_is_valid_draft_2020_12_and_loaded_from_the_package():
    schema = stack_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)


SKILL_EXAMPLE = """\
language: node
framework: hono
orm: prisma
validation: zod
migration: prisma-migrate
test: vitest
source: detected
detected_from: [package.json]
verify:
  detect: package.json
  syntax: { cmd: "bunx tsc --noEmit", skip_if_missing: bunx }
  tests:  { cmd: "bun test", skip_if_missing: bun, pass_signal: "pass" }
  raw_sql:
    patterns: ["\\\\$queryRawUnsafe\\\\(", "sql\\\\.raw\\\\("]
    include_glob: "*.ts"
    exclude_dirs: [node_modules, dist]
"""


@pytest.mark.parametrize(
    "text",
    [
        SKILL_EXAMPLE,
        "language: python\nsource: preset\n",  # what `oma install` writes
        "# yaml-language-server: $schema=../stack.schema.json\nlanguage: rust\nframework: axum\norm: sqlx\n"
        "verify:\n  syntax: { cmd: cargo check --quiet, skip_if_missing: cargo }\n",
        "language: python\nsomething_new: [1, 2]\n",  # top level stays open for /stack-set additions
        "stackguard:\n  ignore: [SG201]\n",
    ],
)
def test_files_the_skill_writes_are_valid(tmp_path, text):
    stack, found = load(tmp_path, text)
    assert found == []
    assert stack is not None


# --- errors ------------------------------------------------------------------------


def test_malformed_fixture_is_a_positioned_problem_and_overrides_nothing():
    profile = detect_root(workspace_path("stack_yaml_malformed"))
    assert summary(profile)["problems"] == [
        (
            "stack/stack.yaml",
            5,
            9,
            "error",
            "invalid YAML: expected ',' or '}', but got ':' (while parsing a flow mapping that starts on line 4)",
        )
    ]
    assert profile.source == "detected"
    assert profile.stack_file is None
    assert profile.names("frameworks") == ["flask"]
    assert [s.cmd for s in profile.verify][1:] == ["pytest -q"]


def test_invalid_fixture_reports_each_violation_on_its_line_and_overrides_nothing():
    profile = detect_root(workspace_path("stack_yaml_invalid"))
    assert [(p.line, p.column, p.end_line, p.end_column, p.message) for p in profile.problems] == [
        (4, 3, 4, 8, "verify.tests: missing required key 'cmd'"),
        (5, 5, 5, 12, "verify.tests: unknown key 'command' (allowed: cmd, pass_signal, skip_if_missing, timeout)"),
        (6, 32, 6, 39, "verify.lint.timeout: expected a whole number, got a string '60s'"),
        (8, 5, 8, 13, "verify.raw_sql.patterns: needs at least 1 item(s)"),
    ]
    assert {p.path for p in profile.problems} == {str(workspace_path("stack_yaml_invalid") / "stack" / "stack.yaml")}
    # framework: django in the invalid file is not applied.
    assert profile.names("frameworks") == ["flask"]
    assert profile.source == "detected" and profile.stack_file is None and profile.stack_settings == {}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", [(1, 1, "empty stack.yaml: expected keys such as language, framework, orm, verify")]),
        ("# only a comment\n", [(1, 1, "empty stack.yaml: expected keys such as language, framework, orm, verify")]),
        ("- python\n- fastapi\n", [(1, 1, "stack.yaml: expected an object (key: value lines), got a list")]),
        ("python\n", [(1, 1, "stack.yaml: expected an object (key: value lines), got a string 'python'")]),
        ("language: 3\n", [(1, 1, "language: expected a string, got a number 3")]),
        ("language: python\nsource: guessed\n", [(2, 1, "source: expected one of variant, migrated, user, detected, preset, got 'guessed'")]),
        ("framework: ''\n", [(1, 1, "framework: must not be empty")]),
        ("timeout: 0\n", [(1, 1, "timeout: must be at least 1 (seconds), got 0")]),
        ("verify:\n  lintt: { cmd: ruff check . }\n", [(2, 3, "verify: unknown key 'lintt' (allowed: detect, syntax, tests, raw_sql, lint, typecheck, migrations)")]),
        ("verify:\n  tests: pytest -q\n", [(2, 3, "verify.tests: expected an object (key: value lines), got a string 'pytest -q'")]),
        (
            "verify:\n  tests: { cmd: pytest, skip_if_missing: 'rm -rf /' }\n",
            [(2, 25, "verify.tests.skip_if_missing: 'rm -rf /' is not a plain program name (letters, digits, '.', '_', '-')")],
        ),
        ("stackguard: [SG201]\n", [(1, 1, "stackguard: expected an object (key: value lines), got a list")]),
        ("detected_from: pyproject.toml\n", [(1, 1, "detected_from: expected a list, got a string 'pyproject.toml'")]),
        ("language: python\n  framework: fastapi\n", [(2, 12, "invalid YAML: mapping values are not allowed here")]),
        ("language: [python\n", [(2, 1, "invalid YAML: expected ',' or ']', but got '<stream end>' (while parsing a flow sequence that starts on line 1)")]),
        ("language: !!python/object:os.system echo\n", [(1, 11, "invalid YAML: could not determine a constructor for the tag 'tag:yaml.org,2002:python/object:os.system'")]),
        ("language: python\n---\nlanguage: node\n", [
                (
                    2,
                    1,
                    "invalid YAML: but found another document"
                    " (expected a single document in the stream that starts on line 1)",
                )
            ],),
        ("\tlanguage: python\n", [(1, 1, "invalid YAML: found character '\\t' that cannot start any token")]),
    ],
)
def test_invalid_files_become_problems(tmp_path, text, expected):
    stack, found = load(tmp_path, text)
    assert stack is None
    assert problems(found) == expected


def test_alias_bomb_is_refused_without_expanding_it(tmp_path):
    lines = ['a0: &a0 ["x", "x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    for level in range(1, 9):
        previous = f"*a{level - 1}"
        lines.append(f"a{level}: &a{level} [{', '.join([previous] * 10)}]")
    stack, found = load(tmp_path, "\n".join(lines) + "\n")
    assert stack is None
    assert problems(found) == [
        (1, 1, "stack.yaml has more than 5000 values (aliases included); not a stack description, ignored")
    ]


def test_unreadable_stack_yaml_is_a_problem_of_the_profile(tmp_path):
    write(tmp_path, {"requirements.txt": "flask\n", "stack/stack.yaml": b"language: python\n\x00\x01\x02"})
    profile = detect_root(tmp_path)
    assert profile.stack_file is None
    assert [(Path(p.path).relative_to(tmp_path).as_posix(), p.message) for p in profile.problems] == [
        ("stack/stack.yaml", "binary file, not a text manifest; skipped")
    ]
    write(tmp_path, {"stack/stack.yaml": b"language: caf\xe9\n"})
    profile = detect_root(tmp_path)
    assert [p.message for p in profile.problems] == ["not valid UTF-8 (byte 13); skipped"]


def test_stack_yaml_that_is_a_directory_is_ignored(tmp_path):
    write(tmp_path, {"requirements.txt": "flask\n", "stack/stack.yaml/README": "odd\n"})
    profile = detect_root(tmp_path)
    assert profile.stack_file is None and profile.problems == []


# --- overriding ------------------------------------------------------------------------


def test_valid_fixture_overrides_detection():
    profile = detect_root(workspace_path("stack_yaml_override"))
    assert summary(profile) == {
        "relative_root": ".",
        "source": "stack.yaml",
        # The declared value first, then what detection had for the same name.
        "language": ("python", ["stack/stack.yaml:2", "pyproject.toml"], {}),
        "frameworks": [("fastapi", ["stack/stack.yaml:3", "pyproject.toml:6"], {})],  # starlette dropped
        "orms": [("sqlalchemy", ["stack/stack.yaml:4", "pyproject.toml:8"], {"async": False})],
        "migrations": [("alembic", ["stack/stack.yaml:6"], {})],
        "validation": [("pydantic", ["stack/stack.yaml:5", "pyproject.toml:6"], {"implied_by": "fastapi"})],
        "auth": [],
        "test_runners": [("pytest", ["stack/stack.yaml:7", "pyproject.toml:12"], {})],
        "linters": [("ruff", ["pyproject.toml:12"], {})],
        "typecheckers": [],
        "package_managers": [],
        "databases": [],
        "queues": [],
        "layers": [],
        # stack.yaml's verify replaces the detected steps (ruff's lint step is gone).
        "verify": [
            ("syntax", "python -m compileall -q app", "python", None, 300, ["stack/stack.yaml:13"]),
            ("tests", "uv run pytest -q", "uv", "passed", 120, ["stack/stack.yaml:14"]),
        ],
        "manifests": ["pyproject.toml", "stack/stack.yaml"],
        "stack_file": "stack/stack.yaml",
        "stack_settings": {
            "ignore": ["SG205"],
            "verify": {"onSave": True},
        },
        # Patterns for the SQL rules, kept out of the settings resolver.
        "raw_sql": {
            "patterns": ['f"(SELECT|INSERT|UPDATE|DELETE) '],
            "include_glob": "*.py",
            "exclude_dirs": ["tests", ".venv"],
        },
        "problems": [],
    }
    assert profile.language.evidence[0].text == "language: python"
    assert profile.verify[0].argv == ("python", "-m", "compileall", "-q", "app")
    assert profile.verify[1].evidence[0].text == "tests:"


def test_agents_skill_location_is_read(tmp_path):
    write(
        tmp_path,
        {
            "requirements.txt": "flask\n",
            ".agents/skills/oma-backend/stack/stack.yaml": "language: python\nframework: Quart\n",
        },
    )
    profile = detect_root(tmp_path)
    assert profile.stack_file == ".agents/skills/oma-backend/stack/stack.yaml"
    assert [(f.name, [str(e) for e in f.evidence]) for f in profile.frameworks] == [
        ("quart", [".agents/skills/oma-backend/stack/stack.yaml:2"])
    ]


def test_project_stack_yaml_wins_over_the_skill_copy(tmp_path):
    write(
        tmp_path,
        {
            "stack/stack.yaml": "language: go\n",
            ".agents/skills/oma-backend/stack/stack.yaml": "language: rust\n",
        },
    )
    [profile] = detect_workspace(tmp_path)
    assert profile.stack_file == "stack/stack.yaml"
    assert profile.language is not None and profile.language.name == "go"


def test_settings_only_file_keeps_detection(tmp_path):
    write(tmp_path, {"requirements.txt": "flask\npytest\n", "stack/stack.yaml": "stackguard:\n  ignore: [SG201]\n"})
    profile = detect_root(tmp_path)
    assert profile.source == "detected"
    assert profile.stack_file == "stack/stack.yaml"
    assert profile.stack_settings == {"ignore": ["SG201"]}
    assert [s.name for s in profile.verify] == ["syntax", "tests"]


def test_verify_with_only_raw_sql_keeps_detected_commands(tmp_path):
    write(
        tmp_path,
        {
            "requirements.txt": "flask\npytest\n",
            "stack/stack.yaml": "language: python\nverify:\n  raw_sql:\n    patterns: ['execute\\(f\"']\n",
        },
    )
    profile = detect_root(tmp_path)
    assert [s.name for s in profile.verify] == ["syntax", "tests"]
    assert profile.raw_sql == {"patterns": ['execute\\(f"']} and profile.stack_settings == {}


def test_declared_language_replaces_a_different_detected_one(tmp_path):
    write(
        tmp_path,
        {
            "requirements.txt": "flask\n",
            "stack/stack.yaml": "language: Node\nframework: hono\norm: prisma\n"
            "verify:\n  typecheck: { cmd: npx tsc --noEmit, skip_if_missing: npx, timeout: 90 }\n",
        },
    )
    profile = detect_root(tmp_path)
    assert [(f.name, [str(e) for e in f.evidence]) for f in [profile.language, *profile.frameworks, *profile.orms]] == [
        ("node", ["stack/stack.yaml:1"]),
        ("hono", ["stack/stack.yaml:2"]),
        ("prisma", ["stack/stack.yaml:3"]),
    ]
    assert [(s.name, s.argv, s.skip_if_missing, s.timeout) for s in profile.verify] == [
        ("typecheck", ("npx", "tsc", "--noEmit"), "npx", 90)
    ]


def test_yaml_without_manifest_makes_a_root_and_a_profile(tmp_path):
    write(tmp_path, {"svc/stack/stack.yaml": "language: elixir\nframework: phoenix\n", "svc/lib/app.ex": ""})
    [profile] = detect_workspace(tmp_path)
    assert (profile.relative_root, profile.language.name, profile.names("frameworks"), profile.source) == (
        "svc",
        "elixir",
        ["phoenix"],
        "stack.yaml",
    )
