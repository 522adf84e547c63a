"""Node.js / TypeScript detection (stack/node.py), called directly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from detector_helpers import fact, run_detector, steps, where, write
from stackguard.stack import detect_root, node
from stackguard.stack.files import ProjectFiles
from stackguard.stack.model import Evidence, Fact, StackProfile

WORKSPACES = Path(__file__).resolve().parents[2] / "workspaces"


def run(root: Path, profile: StackProfile | None = None) -> tuple[StackProfile, ProjectFiles]:
    return run_detector(node.detect, root, profile)


def package_json(**fields: object) -> str:
    return json.dumps({"name": "app", **fields}, indent=2)


# --- fixture workspaces ----------------------------------------------------


def test_express_prisma_with_schema_at_a_configured_path() -> None:
    profile, files = run(WORKSPACES / "node_express_prisma")

    assert files.problems == []
    assert profile.language is not None and profile.language.name == "typescript"
    assert where(profile.language) == {"tsconfig.json", "package.json:30"}
    assert profile.names("frameworks") == ["express"]
    assert where(fact(profile, "frameworks", "express")) == {"package.json:19"}

    assert profile.names("orms") == ["prisma"]
    prisma = fact(profile, "orms", "prisma")
    assert prisma.detail == {"schema": "src/db/schema.prisma"}
    # @prisma/client, the "schema" key of the prisma config, and the prisma CLI.
    assert where(prisma) == {"package.json:17", "package.json:14", "package.json:28"}
    assert Evidence("package.json", 14, '"schema": "src/db/schema.prisma"') in prisma.evidence

    assert profile.names("databases") == ["postgresql"]
    postgres = fact(profile, "databases", "postgresql")
    assert postgres.evidence == (Evidence("src/db/schema.prisma", 6, 'provider = "postgresql"'),)
    assert profile.names("migrations") == ["prisma-migrate"]
    assert fact(profile, "migrations", "prisma-migrate").detail == {"location": "src/db/migrations"}

    assert profile.names("validation") == ["zod"]
    assert where(fact(profile, "validation", "zod")) == {"package.json:21"}
    assert sorted(profile.names("auth")) == ["bcrypt", "jsonwebtoken"]
    assert profile.names("test_runners") == ["jest"]
    # The test script and the devDependency.
    assert where(fact(profile, "test_runners", "jest")) == {"package.json:10", "package.json:27"}
    assert profile.names("linters") == ["eslint"]
    assert where(fact(profile, "linters", "eslint")) == {"eslint.config.mjs", "package.json:26"}
    assert profile.names("typecheckers") == ["tsc"]
    assert profile.names("package_managers") == ["npm"]
    assert where(fact(profile, "package_managers", "npm")) == {"package-lock.json"}
    assert profile.queues == []
    assert steps(profile) == [
        ("typecheck", ("npx", "tsc", "--noEmit"), "npx"),
        ("lint", ("npx", "eslint", "."), "npx"),
        ("tests", ("npm", "test"), "npm"),
    ]
    assert [str(e) for e in profile.verify[2].evidence] == ["package.json:10"]
    assert profile.manifests == ["package.json", "src/db/schema.prisma"]


def test_nestjs_ignores_the_committed_dist_folder() -> None:
    root = WORKSPACES / "node_nestjs_dist"
    # The trap must really be there (a repository-wide dist/ ignore rule would drop it).
    assert (root / "dist" / "package.json").is_file()
    assert (root / "dist" / "migrations" / "1700000000000-CreateUsers.js").is_file()
    profile, files = run(root)

    assert files.problems == []
    assert not any(path.startswith("dist/") for path in files.relative)
    assert profile.language is not None and profile.language.name == "typescript"
    # dist/package.json names express, koa, mongoose, mysql2, sequelize, mocha.
    assert profile.names("frameworks") == ["nestjs"]
    nest = fact(profile, "frameworks", "nestjs")
    assert nest.detail == {"package": "@nestjs/core", "platform": "express"}
    assert where(nest) == {"package.json:16"}
    assert profile.names("orms") == ["typeorm"]
    assert where(fact(profile, "orms", "typeorm")) == {"package.json:18", "package.json:24"}
    assert profile.names("databases") == ["postgresql"]
    assert where(fact(profile, "databases", "postgresql")) == {"package.json:21"}
    assert profile.names("migrations") == ["typeorm"]
    migrations = fact(profile, "migrations", "typeorm")
    assert migrations.detail == {"location": "src/migrations"}
    assert where(migrations) == {"package.json:24", "src/migrations/"}
    assert profile.names("validation") == ["class-validator"]
    assert profile.names("test_runners") == ["jest"]
    assert profile.names("linters") == ["eslint"]
    assert where(fact(profile, "linters", "eslint")) == {".eslintrc.js", "package.json:30"}
    assert profile.names("package_managers") == ["pnpm"]
    pnpm = fact(profile, "package_managers", "pnpm")
    assert pnpm.detail == {"version": "8.15.4", "lockfile": "pnpm-lock.yaml"}
    assert where(pnpm) == {"package.json:5", "pnpm-lock.yaml"}
    for misleading in ("express", "koa", "mongoose", "mongodb", "mysql", "sequelize", "mocha"):
        assert not profile.has(misleading), misleading
    assert ("tests", ("pnpm", "test"), "pnpm") in steps(profile)
    assert profile.manifests == ["package.json"]


def test_fastify_drizzle_with_vitest_and_yarn() -> None:
    profile, files = run(WORKSPACES / "node_fastify_drizzle")

    assert files.problems == []
    assert profile.language is not None and profile.language.name == "typescript"
    assert profile.names("frameworks") == ["fastify"]
    assert where(fact(profile, "frameworks", "fastify")) == {"package.json:12"}
    assert profile.names("orms") == ["drizzle"]
    assert where(fact(profile, "orms", "drizzle")) == {"package.json:11"}
    drizzle_kit = fact(profile, "migrations", "drizzle-kit")
    assert drizzle_kit.detail == {"location": "drizzle/migrations"}
    assert where(drizzle_kit) == {"package.json:17", "drizzle.config.ts:5"}
    postgres = fact(profile, "databases", "postgresql")
    assert postgres.detail == {"package": "postgres"}
    assert where(postgres) == {"package.json:13"}
    assert profile.names("validation") == ["zod"]
    assert profile.names("test_runners") == ["vitest"]
    assert where(fact(profile, "test_runners", "vitest")) == {"package.json:7", "package.json:20"}
    assert profile.names("linters") == []
    assert profile.names("package_managers") == ["yarn"]
    assert steps(profile) == [
        ("typecheck", ("npx", "tsc", "--noEmit"), "npx"),
        ("tests", ("yarn", "test"), "yarn"),
    ]


def test_koa_mongoose_is_javascript_with_mocha() -> None:
    profile, files = run(WORKSPACES / "node_koa_mongoose")

    assert files.problems == []
    assert profile.language == Fact("javascript", (Evidence("package.json"),))
    assert profile.names("frameworks") == ["koa"]
    assert where(fact(profile, "frameworks", "koa")) == {"package.json:13"}
    assert profile.names("orms") == ["mongoose"]
    mongodb = fact(profile, "databases", "mongodb")
    assert mongodb.detail == {"package": "mongoose"}
    assert where(mongodb) == {"package.json:15"}
    assert profile.names("validation") == ["joi"]
    bcrypt = fact(profile, "auth", "bcrypt")
    assert bcrypt.detail == {"package": "bcryptjs"}
    assert where(bcrypt) == {"package.json:11"}
    assert profile.names("test_runners") == ["mocha"]
    assert where(fact(profile, "test_runners", "mocha")) == {"package.json:7", "package.json:19"}
    assert profile.typecheckers == []
    assert profile.migrations == []
    # No typescript: no tsc step; no eslint: no lint step.
    assert steps(profile) == [("tests", ("npm", "test"), "npm")]


def test_hono_on_bun_reads_nothing_from_the_binary_lockfile() -> None:
    profile, files = run(WORKSPACES / "node_hono_bun")

    assert files.problems == []  # bun.lockb was never read
    assert profile.language is not None and profile.language.name == "typescript"
    assert profile.names("frameworks") == ["hono"]
    assert where(fact(profile, "frameworks", "hono")) == {"package.json:12"}
    assert profile.names("validation") == ["zod"]
    assert profile.names("auth") == ["jose"]
    assert profile.names("queues") == ["bullmq"]
    assert where(fact(profile, "queues", "bullmq")) == {"package.json:11"}
    redis = fact(profile, "databases", "redis")
    assert redis.detail == {"package": "ioredis"}
    assert profile.names("test_runners") == ["bun-test"]
    assert profile.names("package_managers") == ["bun"]
    assert fact(profile, "package_managers", "bun").evidence == (Evidence("bun.lockb"),)
    # ``bun test`` would run bun's runner, not the project's test script.
    assert steps(profile) == [
        ("typecheck", ("npx", "tsc", "--noEmit"), "npx"),
        ("tests", ("bun", "run", "test"), "bun"),
    ]


# --- edge cases ------------------------------------------------------------


def test_invalid_package_json_is_a_problem_and_the_rest_is_still_detected(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "package.json": '{\n  "name": "app",\n  "dependencies": {\n    "express": "^4"\n    "zod": "^3"\n  }\n}\n',
            "tsconfig.json": "{}",
            "pnpm-lock.yaml": "lockfileVersion: '6.0'\n",
            ".eslintrc.json": "{}",
        },
    )
    profile, files = run(tmp_path)

    assert len(files.problems) == 1
    problem = files.problems[0]
    assert problem.path == str(tmp_path / "package.json")
    assert problem.message.startswith("invalid JSON: Expecting ',' delimiter")
    assert (problem.line, problem.column) == (5, 5)
    assert profile.language is not None and profile.language.name == "typescript"
    assert profile.names("package_managers") == ["pnpm"]
    assert profile.names("linters") == ["eslint"]
    assert profile.frameworks == []
    # Nothing known about the test script or typescript: only lint runs.
    assert steps(profile) == [("lint", ("npx", "eslint", "."), "npx")]


def test_package_json_that_is_not_an_object(tmp_path: Path) -> None:
    write(tmp_path, {"package.json": '["express"]'})
    profile, files = run(tmp_path)
    assert [p.message for p in files.problems] == ["expected a JSON object at the top level, found an array"]
    assert profile.language is not None and profile.language.name == "javascript"
    assert profile.frameworks == []


def test_dependencies_that_are_not_an_object_are_skipped_with_a_warning(tmp_path: Path) -> None:
    write(tmp_path, {"package.json": package_json(dependencies=["express"], devDependencies={"jest": "^29"})})
    profile, files = run(tmp_path)
    assert [(p.message, p.severity) for p in files.problems] == [
        ('"dependencies" should be an object of package names to versions', "warning")
    ]
    assert profile.frameworks == []
    assert profile.names("test_runners") == ["jest"]


def test_binary_package_json_is_a_problem(tmp_path: Path) -> None:
    write(tmp_path, {"package.json": b"\x00\x01\x02binary", "yarn.lock": "# yarn\n"})
    profile, files = run(tmp_path)
    assert [p.message for p in files.problems] == ["binary file, not a text manifest; skipped"]
    assert profile.names("package_managers") == ["yarn"]


def test_no_package_json_means_no_node_facts(tmp_path: Path) -> None:
    write(tmp_path, {"tsconfig.json": "{}", "src/index.ts": "export {}\n"})
    profile, files = run(tmp_path)
    assert profile.language is None
    assert profile.manifests == []
    assert files.problems == []


def test_an_existing_language_is_kept_and_no_node_verify_steps_are_added(tmp_path: Path) -> None:
    write(
        tmp_path,
        {"package.json": package_json(scripts={"test": "jest"}, devDependencies={"typescript": "^5", "jest": "^29"})},
    )
    python = Fact("python", (Evidence("pyproject.toml", 1),))
    profile, _ = run(tmp_path, StackProfile(root=str(tmp_path), language=python))
    assert profile.language == python
    assert profile.names("test_runners") == ["jest"]
    assert profile.names("typecheckers") == ["tsc"]
    assert profile.verify == []


def test_prisma_at_the_default_path_and_generator_provider_is_not_a_database(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "package.json": package_json(dependencies={"@prisma/client": "^5"}),
            "prisma/schema.prisma": (
                'generator client {\n  provider = "prisma-client-js"\n}\n\n'
                'datasource db {\n  url      = env("DATABASE_URL")\n  provider = "mysql"\n}\n'
            ),
            "prisma/migrations/20240101_init/migration.sql": "CREATE TABLE a (id int);\n",
        },
    )
    profile, files = run(tmp_path)
    assert files.problems == []
    assert fact(profile, "orms", "prisma").detail == {"schema": "prisma/schema.prisma"}
    assert fact(profile, "databases", "mysql").evidence == (Evidence("prisma/schema.prisma", 7, 'provider = "mysql"'),)
    assert profile.names("databases") == ["mysql"]
    assert fact(profile, "migrations", "prisma-migrate").detail == {"location": "prisma/migrations"}


def test_a_configured_prisma_schema_that_does_not_exist_is_a_warning(tmp_path: Path) -> None:
    write(
        tmp_path,
        {"package.json": package_json(devDependencies={"prisma": "^5"}, prisma={"schema": "./db/schema.prisma"})},
    )
    profile, files = run(tmp_path)
    assert [(p.message, p.line, p.severity) for p in files.problems] == [
        ('prisma schema "db/schema.prisma" (from "prisma.schema") not found', 7, "warning")
    ]
    assert fact(profile, "orms", "prisma").detail == {"schema": "db/schema.prisma"}
    assert profile.databases == []
    assert profile.migrations == []


def test_prisma_schema_folder(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "package.json": package_json(dependencies={"@prisma/client": "^5"}, prisma={"schema": "prisma/schema"}),
            "prisma/schema/base.prisma": 'datasource db {\n  provider = "sqlite"\n  url = "file:dev.db"\n}\n',
            "prisma/schema/user.prisma": "model User {\n  id Int @id\n}\n",
        },
    )
    profile, files = run(tmp_path)
    assert files.problems == []
    assert fact(profile, "databases", "sqlite").evidence == (
        Evidence("prisma/schema/base.prisma", 2, 'provider = "sqlite"'),
    )


def test_database_and_queue_clients(tmp_path: Path) -> None:
    deps = {
        "@neondatabase/serverless": "^0.9",
        "mysql2": "^3",
        "better-sqlite3": "^9",
        "mongodb": "^6",
        "redis": "^4",
        "amqplib": "^0.10",
        "kafkajs": "^2",
        "bull": "^4",
        "knex": "^3",
        "sequelize": "^6",
    }
    write(tmp_path, {"package.json": package_json(dependencies=deps)})
    profile, _ = run(tmp_path)
    assert sorted(profile.names("databases")) == ["mongodb", "mysql", "postgresql", "redis", "sqlite"]
    assert fact(profile, "databases", "postgresql").detail == {"package": "@neondatabase/serverless"}
    assert sorted(profile.names("queues")) == ["bullmq", "kafka", "rabbitmq"]
    assert fact(profile, "queues", "bullmq").detail == {"package": "bull"}
    assert sorted(profile.names("orms")) == ["knex", "sequelize"]
    assert profile.migrations == []  # no migrations folder


def test_knex_migrations_folder_and_knexfile(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "package.json": package_json(dependencies={"knex": "^3", "pg": "^8"}),
            "knexfile.js": "module.exports = {};\n",
            "db/migrations/20240101_users.js": "exports.up = () => {};\n",
        },
    )
    profile, _ = run(tmp_path)
    knex = fact(profile, "migrations", "knex")
    assert knex.detail == {"location": "db/migrations"}
    assert {"db/migrations/", "knexfile.js"} <= where(knex)


def test_package_manager_field_wins_over_lock_files_for_the_test_command(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "package.json": package_json(packageManager="yarn@4.1.0+sha256.abc", scripts={"test": "node --test"}),
            "package-lock.json": "{}",
        },
    )
    profile, _ = run(tmp_path)
    assert profile.names("package_managers") == ["yarn", "npm"]
    assert fact(profile, "package_managers", "yarn").detail == {"version": "4.1.0"}
    assert profile.names("test_runners") == ["node-test"]
    assert steps(profile) == [("tests", ("yarn", "test"), "yarn")]


def test_npm_init_placeholder_test_script_is_not_a_test_step(tmp_path: Path) -> None:
    placeholder = 'echo "Error: no test specified" && exit 1'
    write(tmp_path, {"package.json": package_json(scripts={"test": placeholder})})
    profile, _ = run(tmp_path)
    assert profile.verify == []
    assert profile.test_runners == []


def test_biome_lints_when_eslint_is_absent(tmp_path: Path) -> None:
    write(tmp_path, {"package.json": package_json(devDependencies={"@biomejs/biome": "^1.5"}), "biome.json": "{}"})
    profile, _ = run(tmp_path)
    assert where(fact(profile, "linters", "biome")) == {"biome.json", "package.json:4"}
    assert steps(profile) == [("lint", ("npx", "@biomejs/biome", "check", "."), "npx")]


def test_dependency_evidence_points_at_the_declaration_not_an_earlier_mention(tmp_path: Path) -> None:
    text = (
        "{\n"
        '  "name": "app",\n'
        '  "scripts": { "start": "express-cli \\"express\\"" },\n'
        '  "keywords": ["express"],\n'
        '  "dependencies": {\n'
        '    "express": "^4"\n'
        "  }\n"
        "}\n"
    )
    write(tmp_path, {"package.json": text})
    profile, _ = run(tmp_path)
    assert fact(profile, "frameworks", "express").evidence == (Evidence("package.json", 6, '"express": "^4"'),)


# --- through the orchestrator ----------------------------------------------


@pytest.mark.parametrize(
    ("fixture", "expected"),
    [
        (
            "node_express_prisma",
            (
                "typescript",
                ["express"],
                ["prisma"],
                ["prisma-migrate"],
                ["postgresql"],
                [],
                ["npx tsc --noEmit", "npx eslint .", "npm test"],
            ),
        ),
        (
            "node_nestjs_dist",
            (
                "typescript",
                ["nestjs"],
                ["typeorm"],
                ["typeorm"],
                ["postgresql"],
                [],
                ["npx tsc --noEmit", "npx eslint .", "pnpm test"],
            ),
        ),
        (
            "node_fastify_drizzle",
            (
                "typescript",
                ["fastify"],
                ["drizzle"],
                ["drizzle-kit"],
                ["postgresql"],
                [],
                ["npx tsc --noEmit", "yarn test"],
            ),
        ),
        ("node_koa_mongoose", ("javascript", ["koa"], ["mongoose"], [], ["mongodb"], [], ["npm test"])),
        (
            "node_hono_bun",
            ("typescript", ["hono"], [], [], ["redis"], ["bullmq"], ["npx tsc --noEmit", "bun run test"]),
        ),
    ],
)
def test_fixture_through_detect_root(fixture: str, expected: tuple) -> None:
    profile = detect_root(WORKSPACES / fixture)
    assert profile.problems == []
    assert (
        profile.language.name if profile.language else None,
        profile.names("frameworks"),
        profile.names("orms"),
        profile.names("migrations"),
        profile.names("databases"),
        profile.names("queues"),
        [step.cmd for step in profile.verify],
    ) == expected
    assert not any(path.startswith("dist/") for path in profile.manifests)
