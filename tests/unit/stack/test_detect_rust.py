"""Rust detection (stack/rust.py), called directly."""

from __future__ import annotations

from pathlib import Path

import pytest
from detector_helpers import fact, run_detector, steps, where, write
from stackguard.stack import detect_root, rust
from stackguard.stack.files import ProjectFiles
from stackguard.stack.model import Evidence, Fact, StackProfile

WORKSPACES = Path(__file__).resolve().parents[2] / "workspaces"


def run(root: Path, profile: StackProfile | None = None) -> tuple[StackProfile, ProjectFiles]:
    return run_detector(rust.detect, root, profile)


def test_axum_sqlx_postgres() -> None:
    profile, files = run(WORKSPACES / "rust_axum_sqlx")

    assert files.problems == []
    assert profile.language == Fact(
        "rust", (Evidence("Cargo.toml", 1, "[package]"),), {"name": "bookings", "edition": "2021"}
    )
    assert profile.names("frameworks") == ["axum"]
    assert fact(profile, "frameworks", "axum").evidence == (Evidence("Cargo.toml", 7, 'axum = "0.7"'),)
    sqlx = fact(profile, "orms", "sqlx")
    assert profile.names("orms") == ["sqlx"]
    assert sqlx.detail == {"features": ["macros", "postgres", "runtime-tokio", "tls-rustls", "uuid"]}
    assert where(sqlx) == {"Cargo.toml:10"}
    assert sorted(profile.names("databases")) == ["postgresql", "redis"]
    postgres = fact(profile, "databases", "postgresql")
    assert postgres.detail == {"source": "sqlx"}
    assert where(postgres) == {"Cargo.toml:10"}
    assert where(fact(profile, "databases", "redis")) == {"Cargo.toml:8"}
    migrate = fact(profile, "migrations", "sqlx-migrate")
    assert migrate.detail == {"location": "migrations"}
    # The migrate! macro call and the sqlx declaration.
    assert where(migrate) == {"src/main.rs:10", "Cargo.toml:10"}
    assert profile.names("test_runners") == ["cargo test"]
    clippy = fact(profile, "linters", "clippy")
    assert clippy.detail == {"configured": True}
    assert clippy.evidence == (Evidence("Cargo.toml", 16, "[lints.clippy]"),)
    assert steps(profile) == [
        ("typecheck", ("cargo", "check"), "cargo"),
        ("lint", ("cargo", "clippy"), "cargo-clippy"),
        ("tests", ("cargo", "test"), "cargo"),
    ]
    assert profile.manifests == ["Cargo.toml"]


def test_actix_diesel_with_table_form_dependency_and_diesel_toml() -> None:
    profile, files = run(WORKSPACES / "rust_actix_diesel")

    assert files.problems == []
    assert profile.names("frameworks") == ["actix-web"]
    assert where(fact(profile, "frameworks", "actix-web")) == {"Cargo.toml:7"}
    diesel = fact(profile, "orms", "diesel")
    assert diesel.detail == {"features": ["chrono", "postgres", "r2d2"]}
    # The [dependencies.diesel] header and its features line.
    assert where(diesel) == {"Cargo.toml:11", "Cargo.toml:13"}
    assert fact(profile, "databases", "postgresql").evidence == (
        Evidence("Cargo.toml", 13, 'features = ["postgres", "r2d2", "chrono"]'),
    )
    migrations = fact(profile, "migrations", "diesel")
    assert migrations.detail == {"location": "db/migrations"}
    assert Evidence("diesel.toml", 8, 'dir = "db/migrations"') in migrations.evidence
    assert fact(profile, "linters", "clippy").detail == {"configured": False}
    # clippy is not configured, so it is not a verify step.
    assert steps(profile) == [("typecheck", ("cargo", "check"), "cargo"), ("tests", ("cargo", "test"), "cargo")]


def test_invalid_cargo_toml_is_a_problem_and_other_crates_are_still_read(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "Cargo.toml": (
                "[package]\n"
                'name = "half-typed"\n'
                "\n"
                "[dependencies]\n"
                'axum = "0.7"\n'
                'tokio = { version = "1", features = ["full"\n'
                'sqlx = { version = "0.7", features = ["sqlite", "runtime-tokio"] }\n'
            ),
            "migrations/0001_init.sql": "CREATE TABLE t (id INTEGER);\n",
        },
    )
    profile, files = run(tmp_path)

    assert len(files.problems) == 1
    problem = files.problems[0]
    assert problem.path == str(tmp_path / "Cargo.toml")
    assert problem.message.startswith("invalid TOML: ")
    assert "(at line" not in problem.message
    assert problem.line == 7
    assert profile.language is not None and profile.language.name == "rust"
    assert profile.names("frameworks") == ["axum"]
    assert profile.names("orms") == ["sqlx"]
    assert fact(profile, "databases", "sqlite").evidence == (
        Evidence("Cargo.toml", 7, 'sqlx = { version = "0.7", features = ["sqlite", "runtime-tokio"] }'),
    )
    assert fact(profile, "migrations", "sqlx-migrate").detail == {"location": "migrations"}


def test_workspace_members_renames_and_target_tables(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "Cargo.toml": (
                "[workspace]\n"
                'members = ["crates/*"]\n'
                "\n"
                "[workspace.dependencies]\n"
                'sea-orm = { version = "0.12", features = ["sqlx-mysql"] }\n'
            ),
            "crates/api/Cargo.toml": (
                "[package]\n"
                'name = "api"\n'
                "\n"
                "[dependencies]\n"
                'web = { package = "actix-web", version = "4" }\n'
                "sea-orm = { workspace = true }\n"
                "\n"
                "[target.'cfg(unix)'.dependencies]\n"
                'lapin = "2"\n'
            ),
            "crates/migration/Cargo.toml": (
                '[package]\nname = "migration"\n\n[dependencies]\nsea-orm-migration = "0.12"\n'
            ),
        },
    )
    profile, files = run(tmp_path)

    assert files.problems == []
    assert profile.manifests == ["Cargo.toml", "crates/api/Cargo.toml", "crates/migration/Cargo.toml"]
    assert profile.language == Fact("rust", (Evidence("Cargo.toml", 1, "[workspace]"),))
    assert fact(profile, "frameworks", "actix-web").evidence == (
        Evidence("crates/api/Cargo.toml", 5, 'web = { package = "actix-web", version = "4" }'),
    )
    assert where(fact(profile, "orms", "sea-orm")) == {"Cargo.toml:5", "crates/api/Cargo.toml:6"}
    assert fact(profile, "databases", "mysql").detail == {"source": "sea-orm"}
    assert where(fact(profile, "queues", "rabbitmq")) == {"crates/api/Cargo.toml:9"}
    assert where(fact(profile, "migrations", "sea-orm-migration")) == {"crates/migration/Cargo.toml:5"}


def test_dependency_scan_ignores_non_dependency_tables() -> None:
    text = (
        "[package]\n"
        'name = "x"\n'
        "[features]\n"
        'redis = ["dep:redis"]\n'
        "[package.metadata.dependencies]\n"
        'axum = "not a dependency"\n'
        "[[bin]]\n"
        'name = "tool"\n'
        "[build-dependencies]\n"
        'cc = "1"\n'
    )
    assert [(key, evidence.line) for key, evidence, _ in rust.scan_dependency_lines("Cargo.toml", text)] == [("cc", 10)]


def test_an_existing_language_is_kept_and_no_cargo_steps_are_added(tmp_path: Path) -> None:
    write(tmp_path, {"Cargo.toml": '[package]\nname = "ext"\n\n[dependencies]\npyo3 = "0.20"\n'})
    python = Fact("python", (Evidence("pyproject.toml", 1),))
    profile, _ = run(tmp_path, StackProfile(root=str(tmp_path), language=python))
    assert profile.language == python
    assert profile.verify == []


# --- through the orchestrator ----------------------------------------------


@pytest.mark.parametrize(
    ("fixture", "expected"),
    [
        (
            "rust_axum_sqlx",
            (
                ["axum"],
                ["sqlx"],
                ["sqlx-migrate"],
                ["postgresql", "redis"],
                ["cargo check", "cargo clippy", "cargo test"],
            ),
        ),
        ("rust_actix_diesel", (["actix-web"], ["diesel"], ["diesel"], ["postgresql"], ["cargo check", "cargo test"])),
    ],
)
def test_fixture_through_detect_root(fixture: str, expected: tuple) -> None:
    profile = detect_root(WORKSPACES / fixture)
    assert profile.problems == []
    assert profile.language is not None and profile.language.name == "rust"
    assert (
        profile.names("frameworks"),
        profile.names("orms"),
        profile.names("migrations"),
        profile.names("databases"),
        [step.cmd for step in profile.verify],
    ) == expected


def test_invalid_diesel_toml_is_a_problem_with_its_line(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "Cargo.toml": '[dependencies]\ndiesel = { version = "2", features = ["sqlite"] }\n',
            "diesel.toml": '[print_schema]\nfile = "src/schema.rs"\n\n[migrations_directory\ndir = "m"\n',
        },
    )
    profile, files = run(tmp_path)
    assert [(p.path, p.line) for p in files.problems] == [(str(tmp_path / "diesel.toml"), 4)]
    assert files.problems[0].message.startswith("invalid TOML: ")
    # The default folder is assumed when diesel.toml cannot say otherwise.
    assert fact(profile, "migrations", "diesel").detail == {"location": "migrations"}
    assert profile.names("databases") == ["sqlite"]
