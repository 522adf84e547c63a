"""Go detection (stack/go.py), called directly."""

from __future__ import annotations

from pathlib import Path

import pytest
from detector_helpers import fact, run_detector, steps, where, write
from stackguard.stack import detect_root, go
from stackguard.stack.files import ProjectFiles
from stackguard.stack.model import Evidence, Fact, StackProfile

WORKSPACES = Path(__file__).resolve().parents[2] / "workspaces"


def run(root: Path, profile: StackProfile | None = None) -> tuple[StackProfile, ProjectFiles]:
    return run_detector(go.detect, root, profile)


GO_STEPS = [("lint", ("go", "vet", "./..."), "go"), ("tests", ("go", "test", "./..."), "go")]


def test_gin_gorm_goose() -> None:
    profile, files = run(WORKSPACES / "go_gin_gorm")

    assert files.problems == []
    assert profile.language == Fact(
        "go",
        (Evidence("go.mod", 1, "module github.com/acme/inventory"),),
        {"module": "github.com/acme/inventory", "go": "1.22"},
    )
    assert profile.names("frameworks") == ["gin"]
    assert fact(profile, "frameworks", "gin").evidence == (Evidence("go.mod", 6, "github.com/gin-gonic/gin v1.9.1"),)
    assert profile.names("orms") == ["gorm"]
    assert where(fact(profile, "orms", "gorm")) == {"go.mod:10"}
    goose = fact(profile, "migrations", "goose")
    assert goose.detail == {"module": "github.com/pressly/goose/v3", "location": "migrations"}
    assert where(goose) == {"go.mod:7"}
    # jackc/pgx and mattn/go-sqlite3 are indirect: no sqlite.
    assert sorted(profile.names("databases")) == ["postgresql", "redis"]
    assert where(fact(profile, "databases", "postgresql")) == {"go.mod:9"}
    assert where(fact(profile, "databases", "redis")) == {"go.mod:8"}
    assert profile.names("test_runners") == ["go test"]
    assert profile.names("linters") == ["golangci-lint"]
    assert fact(profile, "linters", "golangci-lint").evidence == (Evidence(".golangci.yml"),)
    assert profile.queues == []
    assert steps(profile) == GO_STEPS
    assert profile.manifests == ["go.mod"]


def test_chi_sqlx_with_single_line_requires_and_golang_migrate() -> None:
    profile, files = run(WORKSPACES / "go_chi_sqlx")

    assert files.problems == []
    assert profile.names("frameworks") == ["chi"]
    assert fact(profile, "frameworks", "chi").evidence == (
        Evidence("go.mod", 5, "require github.com/go-chi/chi/v5 v5.0.12"),
    )
    assert profile.names("orms") == ["sqlx"]
    assert where(fact(profile, "orms", "sqlx")) == {"go.mod:6"}
    migrate = fact(profile, "migrations", "golang-migrate")
    assert migrate.detail == {"module": "github.com/golang-migrate/migrate/v4", "location": "db/migrations"}
    assert where(migrate) == {"go.mod:9"}
    assert profile.names("databases") == ["postgresql"]
    assert where(fact(profile, "databases", "postgresql")) == {"go.mod:10"}
    # main.go calls http.ListenAndServe, but chi is the framework.
    assert "net/http" not in profile.names("frameworks")
    assert profile.linters == []
    assert steps(profile) == GO_STEPS


def test_standard_library_server() -> None:
    profile, files = run(WORKSPACES / "go_nethttp")

    assert files.problems == []
    assert profile.names("frameworks") == ["net/http"]
    net_http = fact(profile, "frameworks", "net/http")
    assert net_http.detail == {"stdlib": True}
    assert net_http.evidence == (Evidence("main.go", 16, "mux := http.NewServeMux()"),)
    assert profile.orms == [] and profile.databases == []
    assert steps(profile) == GO_STEPS


def test_net_http_client_only_is_not_a_framework(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "go.mod": "module example.com/cli\n\ngo 1.22\n",
            "main.go": (
                'package main\n\nimport "net/http"\n\n'
                "func main() {\n"
                '\t// http.ListenAndServe(":80", nil)\n'
                '\t_, _ = http.Get("https://example.com")\n'
                "}\n"
            ),
            # Tests and vendored modules are not the project's server.
            "server_test.go": 'package main\n\nimport "net/http"\n\nfunc TestX() { http.HandleFunc("/", nil) }\n',
            "vendor/github.com/x/y/y.go": (
                'package y\n\nimport "net/http"\n\nfunc init() { http.ListenAndServe(":1", nil) }\n'
            ),
        },
    )
    profile, _ = run(tmp_path)
    assert profile.frameworks == []


def test_aliased_net_http_import(tmp_path: Path) -> None:
    source = 'package main\n\nimport (\n\tstdhttp "net/http"\n)\n\nfunc main() {\n\tstdhttp.HandleFunc("/", nil)\n}\n'
    write(tmp_path, {"go.mod": "module example.com/a\n", "cmd/server/main.go": source})
    profile, _ = run(tmp_path)
    assert fact(profile, "frameworks", "net/http").evidence == (
        Evidence("cmd/server/main.go", 8, 'stdhttp.HandleFunc("/", nil)'),
    )


def test_binary_go_mod_is_a_problem_and_the_rest_is_still_detected(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "go.mod": b"\x7fELF\x02\x01\x01\x00\x00\x00\x00",
            ".golangci.yaml": "linters: {}\n",
            "main.go": 'package main\n\nimport "net/http"\n\nfunc main() { http.ListenAndServe(":8080", nil) }\n',
        },
    )
    profile, files = run(tmp_path)

    assert len(files.problems) == 1
    assert files.problems[0].path == str(tmp_path / "go.mod")
    assert files.problems[0].message == "binary file, not a text manifest; skipped"
    assert profile.language == Fact("go", (Evidence("go.mod"),))
    assert profile.names("frameworks") == ["net/http"]
    assert profile.names("linters") == ["golangci-lint"]
    assert steps(profile) == GO_STEPS


def test_parse_go_mod_blocks_comments_and_quotes() -> None:
    text = (
        "// a comment\n"
        'module "example.com/quoted"\n'
        "\n"
        "go 1.21\n"
        "toolchain go1.21.5\n"
        "\n"
        "require (\n"
        "\t// github.com/gin-gonic/gin v1.9.1\n"
        '\t"github.com/labstack/echo/v4" v4.11.4\n'
        "\tgithub.com/gofiber/fiber/v2 v2.52.0 // indirect\n"
        "\tbroken-line\n"
        ")\n"
        "\n"
        "replace (\n"
        "\tgithub.com/gin-gonic/gin => ../gin\n"
        ")\n"
        "exclude github.com/lib/pq v1.0.0\n"
    )
    module, go_version, requirements = go.parse_go_mod(text)
    assert module == Evidence("go.mod", 2, 'module "example.com/quoted"')
    assert go_version == Evidence("go.mod", 4, "go 1.21")
    assert [(r.module, r.version, r.line, r.indirect) for r in requirements] == [
        ("github.com/labstack/echo/v4", "v4.11.4", 9, False),
        ("github.com/gofiber/fiber/v2", "v2.52.0", 10, True),
    ]


def test_module_prefixes_match_major_versions_only(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "go.mod": (
                "module example.com/a\n\n"
                "require (\n"
                "\tgithub.com/gin-gonic/gin-contrib v0.1.0\n"
                "\tgithub.com/labstack/echo/v4 v4.11.4\n"
                "\tgithub.com/go-redis/redis/v8 v8.11.5\n"
                "\tgo.mongodb.org/mongo-driver v1.14.0\n"
                "\tgithub.com/go-sql-driver/mysql v1.7.1\n"
                "\tentgo.io/ent v0.13.0\n"
                "\tgithub.com/segmentio/kafka-go v0.4.47\n"
                ")\n"
            )
        },
    )
    profile, _ = run(tmp_path)
    assert profile.names("frameworks") == ["echo"]
    assert profile.names("orms") == ["ent"]
    assert sorted(profile.names("databases")) == ["mongodb", "mysql", "redis"]
    assert profile.names("queues") == ["kafka"]
    assert where(fact(profile, "frameworks", "echo")) == {"go.mod:5"}


def test_an_existing_language_is_kept_and_no_go_steps_are_added(tmp_path: Path) -> None:
    write(tmp_path, {"go.mod": "module example.com/tool\n\nrequire github.com/gin-gonic/gin v1.9.1\n"})
    python = Fact("python", (Evidence("pyproject.toml", 1),))
    profile, _ = run(tmp_path, StackProfile(root=str(tmp_path), language=python))
    assert profile.language == python
    assert profile.names("frameworks") == ["gin"]
    assert profile.verify == []


def test_no_go_mod_means_nothing(tmp_path: Path) -> None:
    write(
        tmp_path, {"main.go": 'package main\n\nimport "net/http"\n\nfunc main() { http.ListenAndServe(":1", nil) }\n'}
    )
    profile, _ = run(tmp_path)
    assert profile.language is None and profile.frameworks == [] and profile.verify == []


# --- through the orchestrator ----------------------------------------------


@pytest.mark.parametrize(
    ("fixture", "expected"),
    [
        ("go_gin_gorm", (["gin"], ["gorm"], ["goose"], ["postgresql", "redis"], ["golangci-lint"])),
        ("go_chi_sqlx", (["chi"], ["sqlx"], ["golang-migrate"], ["postgresql"], [])),
        ("go_nethttp", (["net/http"], [], [], [], [])),
    ],
)
def test_fixture_through_detect_root(fixture: str, expected: tuple) -> None:
    profile = detect_root(WORKSPACES / fixture)
    assert profile.problems == []
    assert profile.language is not None and profile.language.name == "go"
    assert (
        profile.names("frameworks"),
        profile.names("orms"),
        profile.names("migrations"),
        sorted(profile.names("databases")),
        profile.names("linters"),
    ) == expected
    assert [step.cmd for step in profile.verify] == ["go vet ./...", "go test ./..."]
