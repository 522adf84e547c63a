"""Node.js / TypeScript detection from ``package.json`` and its neighbours.

Reads only the root's own files: ``ProjectFiles`` never lists
``node_modules/`` or ``dist/``, so a committed build folder with its own
``package.json`` cannot leak dependencies into the profile.
"""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Callable
from typing import Any

from .files import ProjectFiles, line_of
from .model import Evidence, Fact, StackProfile, VerifyStep

MANIFEST = "package.json"
JSON_TYPE_NAMES = {list: "an array", str: "a string", int: "a number", float: "a number", bool: "a boolean"}
JSON_TYPE_NAMES[type(None)] = "null"
# Package name → the line that declares it.
DependencyEvidence = Callable[[str], Evidence]
DEPENDENCY_SECTIONS = ("dependencies", "devDependencies", "peerDependencies")

FRAMEWORKS = {"express": "express", "fastify": "fastify", "@nestjs/core": "nestjs", "koa": "koa", "hono": "hono"}
ORMS = {
    "prisma": "prisma",
    "@prisma/client": "prisma",
    "typeorm": "typeorm",
    "@nestjs/typeorm": "typeorm",
    "drizzle-orm": "drizzle",
    "sequelize": "sequelize",
    "mongoose": "mongoose",
    "knex": "knex",
}
VALIDATION = {"zod": "zod", "joi": "joi", "@hapi/joi": "joi", "class-validator": "class-validator", "yup": "yup"}
AUTH = {
    "jsonwebtoken": "jsonwebtoken",
    "@nestjs/jwt": "jsonwebtoken",
    "passport": "passport",
    "@nestjs/passport": "passport",
    "bcrypt": "bcrypt",
    "bcryptjs": "bcrypt",
    "argon2": "argon2",
    "jose": "jose",
}
TEST_RUNNERS = {"jest": "jest", "vitest": "vitest", "mocha": "mocha"}
LINTERS = {"eslint": "eslint", "@biomejs/biome": "biome"}
DATABASES = {
    "pg": "postgresql",
    "postgres": "postgresql",
    "mysql": "mysql",
    "mysql2": "mysql",
    "sqlite3": "sqlite",
    "better-sqlite3": "sqlite",
    "mongodb": "mongodb",
    "mongoose": "mongodb",
    "redis": "redis",
    "ioredis": "redis",
}
# Scoped packages whose whole scope is one database's client.
DATABASE_SCOPES = {"@neondatabase/": "postgresql"}
QUEUES = {"bullmq": "bullmq", "bull": "bullmq", "amqplib": "rabbitmq", "kafkajs": "kafka"}

LOCK_FILES = (
    ("pnpm-lock.yaml", "pnpm"),
    ("yarn.lock", "yarn"),
    ("bun.lockb", "bun"),
    ("bun.lock", "bun"),
    ("package-lock.json", "npm"),
)
ESLINT_CONFIGS = (
    "eslint.config.js",
    "eslint.config.mjs",
    "eslint.config.cjs",
    "eslint.config.ts",
    "eslint.config.mts",
    ".eslintrc",
    ".eslintrc.js",
    ".eslintrc.cjs",
    ".eslintrc.json",
    ".eslintrc.yml",
    ".eslintrc.yaml",
)
BIOME_CONFIGS = ("biome.json", "biome.jsonc")
RUNNER_CONFIGS = {
    "jest": ("jest.config.js", "jest.config.ts", "jest.config.mjs", "jest.config.cjs", "jest.config.json"),
    "vitest": ("vitest.config.ts", "vitest.config.js", "vitest.config.mts", "vitest.config.mjs"),
    "mocha": (".mocharc.js", ".mocharc.cjs", ".mocharc.json", ".mocharc.yml", ".mocharc.yaml"),
}
# What ``npm init`` writes: a test script that only fails.
NPM_PLACEHOLDER_TEST = "no test specified"

PRISMA_PROVIDERS = {
    "postgresql": "postgresql",
    "postgres": "postgresql",
    "mysql": "mysql",
    "sqlite": "sqlite",
    "sqlserver": "sqlserver",
    "mongodb": "mongodb",
    "cockroachdb": "cockroachdb",
}
DATASOURCE_BLOCK = re.compile(r"^\s*datasource\s+\w+\s*\{(?P<body>.*?)^\s*\}", re.MULTILINE | re.DOTALL)
PROVIDER = re.compile(r'^\s*provider\s*=\s*"(?P<provider>[^"]+)"', re.MULTILINE)
DRIZZLE_OUT = re.compile(r"""\bout\s*:\s*["'](?P<out>[^"']+)["']""")


def detect(files: ProjectFiles, profile: StackProfile) -> None:
    if not files.exists(MANIFEST):
        return
    if MANIFEST not in profile.manifests:
        profile.manifests.append(MANIFEST)
    text = files.read_text(MANIFEST)
    manifest = _parse_manifest(files, text)
    deps = _dependencies(files, manifest)
    lines = _ManifestLines(text)

    def dep_evidence(name: str) -> Evidence:
        return lines.dependency(name, deps.get(name, ""))

    language = _detect_language(files, deps, dep_evidence)
    if profile.language is None:
        profile.language = language

    for table, category in (
        (FRAMEWORKS, "frameworks"),
        (VALIDATION, "validation"),
        (AUTH, "auth"),
        (TEST_RUNNERS, "test_runners"),
        (LINTERS, "linters"),
        (DATABASES, "databases"),
        (QUEUES, "queues"),
    ):
        for package, name in table.items():
            if package in deps:
                detail = {"package": package} if package != name else {}
                profile.add(category, Fact(name, (dep_evidence(package),), detail))
    for package in deps:
        for scope, name in DATABASE_SCOPES.items():
            if package.startswith(scope):
                profile.add("databases", Fact(name, (dep_evidence(package),), {"package": package}))

    _detect_nest_platform(profile, deps)
    _detect_orms(files, profile, manifest, deps, dep_evidence, lines)
    _detect_migrations(files, profile, deps, dep_evidence)
    if "typescript" in deps:
        profile.add("typecheckers", Fact("tsc", (dep_evidence("typescript"),)))
    _detect_config_files(files, profile)
    test_script = _detect_test_script(profile, manifest, lines)
    package_manager = _detect_package_managers(files, profile, manifest, lines)

    if profile.language is not None and profile.language.name in ("typescript", "javascript"):
        _add_verify_steps(profile, deps, package_manager, test_script, dep_evidence)


def _parse_manifest(files: ProjectFiles, text: str | None) -> dict[str, Any]:
    if text is None:
        return {}
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        files.problem(MANIFEST, f"invalid JSON: {exc.msg}", line=exc.lineno, column=exc.colno)
        return {}
    except RecursionError:
        files.problem(MANIFEST, "JSON nested too deeply to read")
        return {}
    if not isinstance(data, dict):
        found = JSON_TYPE_NAMES.get(type(data), type(data).__name__)
        files.problem(MANIFEST, f"expected a JSON object at the top level, found {found}", line=1, column=1)
        return {}
    return data


def _dependencies(files: ProjectFiles, manifest: dict[str, Any]) -> dict[str, str]:
    """Package name → the section it was declared in (first section wins)."""
    deps: dict[str, str] = {}
    for section in DEPENDENCY_SECTIONS:
        value = manifest.get(section)
        if value is None:
            continue
        if not isinstance(value, dict):
            files.problem(MANIFEST, f'"{section}" should be an object of package names to versions', severity="warning")
            continue
        for name in value:
            if isinstance(name, str):
                deps.setdefault(name, section)
    return deps


class _ManifestLines:
    """Line evidence in package.json text: a key searched after the line of
    the object that holds it, so ``"prisma"`` the dependency is not confused
    with ``"prisma"`` the config key or a script mentioning it."""

    def __init__(self, text: str | None) -> None:
        self.text = text

    def key(self, name: str, parent: str = "") -> Evidence:
        if self.text is None:
            return Evidence(MANIFEST)
        start = 1
        if parent:
            found_parent = line_of(self.text, _key_pattern(parent))
            if found_parent is not None:
                start = found_parent.line
        found = line_of(self.text, _key_pattern(name), start_line=start) or line_of(self.text, _key_pattern(name))
        if found is None:
            found = line_of(self.text, re.escape(f'"{name}"'))
        if found is None:
            return Evidence(MANIFEST)
        return Evidence(MANIFEST, found.line, found.text)

    def dependency(self, name: str, section: str) -> Evidence:
        return self.key(name, section)


def _key_pattern(name: str) -> str:
    return re.escape(f'"{name}"') + r"\s*:"


def _detect_language(files: ProjectFiles, deps: dict[str, str], dep_evidence: DependencyEvidence) -> Fact:
    evidence: list[Evidence] = []
    if files.exists("tsconfig.json"):
        evidence.append(Evidence("tsconfig.json"))
    if "typescript" in deps:
        evidence.append(dep_evidence("typescript"))
    if evidence:
        return Fact("typescript", tuple(sorted(evidence)))
    return Fact("javascript", (Evidence(MANIFEST),))


def _detect_nest_platform(profile: StackProfile, deps: dict[str, str]) -> None:
    """NestJS runs on express or fastify; that is a detail of nestjs, not a
    second framework the project wrote handlers for."""
    for platform in ("express", "fastify"):
        if f"@nestjs/platform-{platform}" in deps and "nestjs" in profile.names("frameworks"):
            profile.add("frameworks", Fact("nestjs", (), {"platform": platform}))
            return


def _detect_orms(
    files: ProjectFiles,
    profile: StackProfile,
    manifest: dict[str, Any],
    deps: dict[str, str],
    dep_evidence: DependencyEvidence,
    lines: _ManifestLines,
) -> None:
    for package, name in ORMS.items():
        if package in deps and name != "prisma":
            profile.add("orms", Fact(name, (dep_evidence(package),)))
    prisma_packages = [package for package in ("prisma", "@prisma/client") if package in deps]
    if prisma_packages:
        _detect_prisma(files, profile, manifest, [dep_evidence(p) for p in prisma_packages], lines)


def _detect_prisma(
    files: ProjectFiles,
    profile: StackProfile,
    manifest: dict[str, Any],
    evidence: list[Evidence],
    lines: _ManifestLines,
) -> None:
    schema = "prisma/schema.prisma"
    config = manifest.get("prisma")
    raw = config.get("schema") if isinstance(config, dict) else None
    config_line: Evidence | None = None
    if isinstance(raw, str) and raw.strip():
        raw = raw.strip()
        schema = posixpath.normpath(raw.replace("\\", "/")).lstrip("/") if not raw.startswith("/") else raw
        config_line = lines.key("schema", "prisma")
        evidence.append(config_line)
    schema_files = _prisma_schema_files(files, schema)
    if config_line is not None and not schema_files:
        files.problem(
            MANIFEST,
            f'prisma schema "{schema}" (from "prisma.schema") not found',
            line=config_line.line,
            severity="warning",
        )
    profile.add("orms", Fact("prisma", tuple(sorted(set(evidence))), {"schema": schema}))

    for schema_file in schema_files:
        text = files.read_text(schema_file)
        if text is None:
            continue
        if schema_file not in profile.manifests:
            profile.manifests.append(schema_file)
        block = DATASOURCE_BLOCK.search(text)
        if block is None:
            continue
        provider = PROVIDER.search(block.group("body"))
        if provider is None:
            continue
        name = PRISMA_PROVIDERS.get(provider.group("provider").lower())
        if name is None:
            continue
        offset = block.start("body") + provider.start("provider")
        line = text.count("\n", 0, offset) + 1
        line_text = text.splitlines()[line - 1].strip()
        profile.add("databases", Fact(name, (Evidence(schema_file, line, line_text),), {"source": "prisma"}))
        break

    schema_dir = schema if files.dir_exists(schema) else posixpath.dirname(schema)
    for migrations in dict.fromkeys(
        [posixpath.join(schema_dir, "migrations") if schema_dir else "migrations", "prisma/migrations"]
    ):
        if files.dir_exists(migrations):
            profile.add("migrations", Fact("prisma-migrate", (Evidence(migrations + "/"),), {"location": migrations}))
            break


def _prisma_schema_files(files: ProjectFiles, schema: str) -> list[str]:
    """A schema path may be one file or (prismaSchemaFolder) a folder of them."""
    if files.exists(schema):
        return [schema]
    if files.dir_exists(schema):
        return files.glob(schema.rstrip("/") + "/**/*.prisma")
    return []


def _migration_folders(files: ProjectFiles) -> list[str]:
    """Folders named ``migrations`` holding JS/TS files, outside prisma's."""
    folders: dict[str, None] = {}
    for path in files.glob("**/migrations/*"):
        if not path.endswith((".ts", ".js", ".mjs", ".cjs")):
            continue
        folder = posixpath.dirname(path)
        if folder.startswith("prisma/"):
            continue
        folders[folder] = None
    return list(folders)


def _detect_migrations(
    files: ProjectFiles, profile: StackProfile, deps: dict[str, str], dep_evidence: DependencyEvidence
) -> None:
    folders = _migration_folders(files)
    # The first tool the project declares owns a generic migrations/ folder;
    # two of them in one root is rare enough not to guess further.
    tools = [
        ("typeorm", ("typeorm",)),
        ("knex", ("knex",)),
        ("sequelize", ("sequelize-cli", "sequelize")),
    ]
    for name, packages in tools:
        declared = [p for p in packages if p in deps]
        if not declared:
            continue
        knexfile = [f for f in ("knexfile.js", "knexfile.ts") if files.exists(f)] if name == "knex" else []
        sequelizerc = [".sequelizerc"] if name == "sequelize" and files.exists(".sequelizerc") else []
        if folders:
            location = folders[0]
            found = {
                dep_evidence(declared[0]),
                Evidence(location + "/"),
                *(Evidence(f) for f in knexfile + sequelizerc),
            }
            profile.add("migrations", Fact(name, tuple(sorted(found)), {"location": location}))
            break

    if "drizzle-kit" in deps:
        location = "drizzle"
        evidence: list[Evidence] = [dep_evidence("drizzle-kit")]
        for config in ("drizzle.config.ts", "drizzle.config.js", "drizzle.config.mjs", "drizzle.config.json"):
            text = files.read_text(config) if files.exists(config) else None
            if text is None:
                continue
            out = DRIZZLE_OUT.search(text)
            if out is not None:
                location = posixpath.normpath(out.group("out")).lstrip("/")
                line = text.count("\n", 0, out.start()) + 1
                evidence.append(Evidence(config, line, text.splitlines()[line - 1].strip()))
            else:
                evidence.append(Evidence(config))
            break
        profile.add("migrations", Fact("drizzle-kit", tuple(sorted(evidence)), {"location": location}))


def _detect_config_files(files: ProjectFiles, profile: StackProfile) -> None:
    for config in ESLINT_CONFIGS:
        if files.exists(config):
            profile.add("linters", Fact("eslint", (Evidence(config),)))
    for config in BIOME_CONFIGS:
        if files.exists(config):
            profile.add("linters", Fact("biome", (Evidence(config),)))
    for runner, configs in RUNNER_CONFIGS.items():
        for config in configs:
            if files.exists(config):
                profile.add("test_runners", Fact(runner, (Evidence(config),)))


def _detect_test_script(profile: StackProfile, manifest: dict[str, Any], lines: _ManifestLines) -> Evidence | None:
    """The ``"test"`` script, when it is a real one; it also names the runner."""
    scripts = manifest.get("scripts")
    if not isinstance(scripts, dict):
        return None
    script = scripts.get("test")
    if not isinstance(script, str) or not script.strip() or NPM_PLACEHOLDER_TEST in script:
        return None
    evidence = lines.key("test", "scripts")
    for runner in TEST_RUNNERS.values():
        if re.search(rf"(?<![\w@/]){runner}\b", script):
            profile.add("test_runners", Fact(runner, (evidence,)))
    if re.search(r"\bnode\s+(?:[^|&;]*\s)?--test\b", script):
        profile.add("test_runners", Fact("node-test", (evidence,)))
    if re.search(r"\bbun\s+test\b", script):
        profile.add("test_runners", Fact("bun-test", (evidence,)))
    return evidence


def _detect_package_managers(
    files: ProjectFiles, profile: StackProfile, manifest: dict[str, Any], lines: _ManifestLines
) -> str:
    """Record every package manager seen; return the one to run scripts with
    (the ``packageManager`` field first, then lock files, then npm)."""
    chosen: str | None = None
    field = manifest.get("packageManager")
    if isinstance(field, str) and field.strip():
        name, _, version = field.strip().partition("@")
        name = name.strip().lower()
        if name in ("npm", "pnpm", "yarn", "bun"):
            detail = {"version": version.split("+", 1)[0]} if version else {}
            profile.add("package_managers", Fact(name, (lines.key("packageManager"),), detail))
            chosen = name
    for lock_file, name in LOCK_FILES:
        if files.exists(lock_file):
            profile.add("package_managers", Fact(name, (Evidence(lock_file),), {"lockfile": lock_file}))
            chosen = chosen or name
    return chosen or "npm"


def _add_verify_steps(
    profile: StackProfile,
    deps: dict[str, str],
    package_manager: str,
    test_script: Evidence | None,
    dep_evidence: DependencyEvidence,
) -> None:
    if "typescript" in deps:
        _add_step(
            profile,
            VerifyStep.from_cmd("typecheck", "npx tsc --noEmit", dep_evidence("typescript"), skip_if_missing="npx"),
        )
    linters = {fact.name: fact for fact in profile.linters}
    if "eslint" in linters:
        _add_step(
            profile, VerifyStep.from_cmd("lint", "npx eslint .", *linters["eslint"].evidence, skip_if_missing="npx")
        )
    elif "biome" in linters:
        _add_step(
            profile,
            VerifyStep.from_cmd(
                "lint", "npx @biomejs/biome check .", *linters["biome"].evidence, skip_if_missing="npx"
            ),
        )
    if test_script is not None:
        # ``bun test`` is bun's own runner, not the project's test script.
        cmd = {"npm": "npm test", "pnpm": "pnpm test", "yarn": "yarn test", "bun": "bun run test"}[package_manager]
        _add_step(profile, VerifyStep.from_cmd("tests", cmd, test_script, skip_if_missing=package_manager))


def _add_step(profile: StackProfile, step: VerifyStep) -> None:
    if any(existing.name == step.name and existing.cmd == step.cmd for existing in profile.verify):
        return
    profile.verify.append(step)
