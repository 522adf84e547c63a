"""Backing services from compose files (stack/services.py), called directly."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from detector_helpers import fact, run_detector, write
from stackguard.stack import detect_root, services
from stackguard.stack.files import ProjectFiles
from stackguard.stack.model import Evidence, Fact, StackProfile

WORKSPACES = Path(__file__).resolve().parents[2] / "workspaces"


def run(root: Path) -> tuple[StackProfile, ProjectFiles]:
    return run_detector(services.detect, root)


def test_compose_file_of_the_go_fixture() -> None:
    profile, files = run(WORKSPACES / "go_gin_gorm")

    assert files.problems == []
    assert profile.manifests == ["docker-compose.yml"]
    assert profile.names("databases") == ["postgresql", "redis"]
    assert profile.databases[0] == Fact(
        "postgresql",
        (Evidence("docker-compose.yml", 11, "image: postgres:16-alpine"),),
        {"image": "postgres:16-alpine", "service": "db"},
    )
    assert profile.databases[1] == Fact(
        "redis", (Evidence("docker-compose.yml", 16, 'image: "redis:7"'),), {"image": "redis:7", "service": "cache"}
    )
    assert profile.queues == []


@pytest.mark.parametrize(
    ("image", "expected"),
    [
        ("postgres", ("databases", "postgresql")),
        ("docker.io/library/postgres:16-alpine", ("databases", "postgresql")),
        ("postgis/postgis:16-3.4", ("databases", "postgresql")),
        ("bitnami/postgresql:16", ("databases", "postgresql")),
        ("mysql:8.3", ("databases", "mysql")),
        ("mariadb:11", ("databases", "mysql")),
        ("mongo:7", ("databases", "mongodb")),
        ("redis/redis-stack-server:latest", ("databases", "redis")),
        ("valkey/valkey:7.2", ("databases", "redis")),
        ("eqalpha/keydb", ("databases", "redis")),
        ("memcached:1.6-alpine", ("databases", "memcached")),
        ("docker.elastic.co/elasticsearch/elasticsearch:8.12.0", ("databases", "elasticsearch")),
        ("rabbitmq:3-management", ("queues", "rabbitmq")),
        ("confluentinc/cp-kafka:7.6.0", ("queues", "kafka")),
        ("bitnami/kafka@sha256:0123abcd", ("queues", "kafka")),
        ("localhost:5000/nats:2.10", ("queues", "nats")),
        ("nginx:1.25", None),
        ("confluentinc/cp-zookeeper:7.6.0", None),
        ("ghcr.io/acme/postgres-backup:1", None),
        ("", None),
    ],
)
def test_classify_image(image: str, expected: tuple[str, str] | None) -> None:
    assert services.classify_image(image) == expected


def test_all_root_compose_files_interpolation_and_merge_keys(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "compose.yaml": (
                "x-broker: &broker\n"
                "  image: rabbitmq:3-management\n"
                "  restart: always\n"
                "services:\n"
                "  queue:\n"
                "    <<: *broker\n"
                "  db:\n"
                '    image: "${DB_IMAGE:-mysql:8.3}"\n'
                "  unknown:\n"
                "    image: ${SOME_IMAGE}\n"
                "  built:\n"
                "    build: .\n"
            ),
            "docker-compose.kafka.yml": "services:\n  kafka:\n    image: bitnami/kafka:3.6\n",
            "examples/docker-compose.yml": "services:\n  mongo:\n    image: mongo:7\n",
        },
    )
    profile, files = run(tmp_path)

    assert files.problems == []
    assert profile.manifests == ["compose.yaml", "docker-compose.kafka.yml"]
    assert profile.databases == [
        Fact(
            "mysql",
            (Evidence("compose.yaml", 8, 'image: "${DB_IMAGE:-mysql:8.3}"'),),
            {"image": "mysql:8.3", "service": "db"},
        )
    ]
    # The merged image is evidenced where the anchor defines it.
    assert fact(profile, "queues", "rabbitmq") == Fact(
        "rabbitmq",
        (Evidence("compose.yaml", 2, "image: rabbitmq:3-management"),),
        {"image": "rabbitmq:3-management", "service": "queue"},
    )
    assert fact(profile, "queues", "kafka").evidence == (
        Evidence("docker-compose.kafka.yml", 3, "image: bitnami/kafka:3.6"),
    )
    assert profile.names("queues") == ["rabbitmq", "kafka"]


def test_invalid_compose_yaml_is_a_problem_and_images_are_read_line_by_line(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "docker-compose.yml": (
                "services:\n  db:\n    image: postgres:16\n  cache:\n    image: redis:7\n   ports: [6379]\n"
            ),
            "docker-compose.override.yml": "services:\n  broker:\n    image: nats:2\n",
        },
    )
    profile, files = run(tmp_path)

    assert len(files.problems) == 1
    problem = files.problems[0]
    assert problem.path == str(tmp_path / "docker-compose.yml")
    assert problem.message.startswith("invalid YAML: ")
    assert problem.message.endswith("; images were read line by line")
    assert (problem.line, problem.column) == (6, 4)
    assert profile.databases == [
        Fact("postgresql", (Evidence("docker-compose.yml", 3, "image: postgres:16"),), {"image": "postgres:16"}),
        Fact("redis", (Evidence("docker-compose.yml", 5, "image: redis:7"),), {"image": "redis:7"}),
    ]
    assert profile.names("queues") == ["nats"]


def test_services_that_is_not_a_mapping_is_a_warning(tmp_path: Path) -> None:
    write(tmp_path, {"compose.yml": "services:\n  - image: postgres\n"})
    profile, files = run(tmp_path)
    assert [(p.message, p.severity) for p in files.problems] == [
        ('"services" should be a mapping of service names', "warning")
    ]
    assert profile.databases == []


@pytest.mark.parametrize("text", ["", "# only a comment\n", "just a string\n", "version: '3.8'\n"])
def test_compose_files_without_services(tmp_path: Path, text: str) -> None:
    write(tmp_path, {"docker-compose.yaml": text})
    profile, files = run(tmp_path)
    assert files.problems == []
    assert profile.databases == [] and profile.queues == []


def test_alias_bomb_is_not_expanded(tmp_path: Path) -> None:
    lines = ['a0: &a0 ["x", "x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    for level in range(1, 12):
        lines.append(f"a{level}: &a{level} [" + ", ".join([f"*a{level - 1}"] * 10) + "]")
    lines += ["services:", "  db:", "    image: postgres", "    labels: *a11"]
    write(tmp_path, {"compose.yml": "\n".join(lines) + "\n"})
    started = time.perf_counter()
    profile, files = run(tmp_path)
    assert time.perf_counter() - started < 1.0
    assert files.problems == []
    assert profile.names("databases") == ["postgresql"]


def test_compose_services_through_detect_root() -> None:
    profile = detect_root(WORKSPACES / "go_gin_gorm")
    assert profile.problems == []
    postgres = fact(profile, "databases", "postgresql")
    # The go.mod driver and the compose image both count as evidence.
    assert {str(e) for e in postgres.evidence} == {"go.mod:9", "docker-compose.yml:11"}
    assert "docker-compose.yml" in profile.manifests
