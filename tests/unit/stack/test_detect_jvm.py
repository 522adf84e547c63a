"""Java / Kotlin detection (stack/jvm.py), called directly."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from detector_helpers import fact, run_detector, steps, where, write
from stackguard.stack import detect_root, jvm
from stackguard.stack.files import ProjectFiles
from stackguard.stack.model import Evidence, Fact, StackProfile

WORKSPACES = Path(__file__).resolve().parents[2] / "workspaces"


def run(root: Path, profile: StackProfile | None = None) -> tuple[StackProfile, ProjectFiles]:
    return run_detector(jvm.detect, root, profile)


def pom(dependencies: str, extra: str = "") -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<project xmlns="http://maven.apache.org/POM/4.0.0">\n'
        "  <modelVersion>4.0.0</modelVersion>\n"
        f"  <dependencies>\n{dependencies}  </dependencies>\n"
        f"{extra}"
        "</project>\n"
    )


def dependency(group: str, artifact: str) -> str:
    return f"    <dependency><groupId>{group}</groupId><artifactId>{artifact}</artifactId></dependency>\n"


def test_spring_boot_jpa_flyway_with_maven() -> None:
    profile, files = run(WORKSPACES / "java_spring_jpa_flyway")

    assert files.problems == []
    assert profile.language == Fact("java", (Evidence("pom.xml"),))
    spring = fact(profile, "frameworks", "spring-boot")
    assert profile.names("frameworks") == ["spring-boot"]
    assert spring.detail["web"] == "mvc"
    # The web starter and the spring-boot-maven-plugin.
    assert where(spring) == {"pom.xml:34", "pom.xml:64"}
    hibernate = fact(profile, "orms", "hibernate")
    assert profile.names("orms") == ["hibernate"]
    assert hibernate.detail["jpa"] is True
    assert hibernate.evidence == (Evidence("pom.xml", 38, "<artifactId>spring-boot-starter-data-jpa</artifactId>"),)
    flyway = fact(profile, "migrations", "flyway")
    assert flyway.detail["location"] == "src/main/resources/db/migration"
    assert where(flyway) == {"pom.xml:46", "src/main/resources/db/migration/"}
    assert profile.names("databases") == ["postgresql"]
    assert where(fact(profile, "databases", "postgresql")) == {"pom.xml:50"}
    assert profile.names("validation") == ["hibernate-validator"]
    assert profile.names("test_runners") == ["junit"]
    assert where(fact(profile, "test_runners", "junit")) == {"pom.xml:55"}
    # spring-kafka is only in dependencyManagement.
    assert profile.queues == []
    assert fact(profile, "package_managers", "maven").detail == {"wrapper": False}
    assert steps(profile) == [("tests", ("mvn", "-q", "verify"), "mvn")]
    assert profile.manifests == ["pom.xml"]


def test_kotlin_spring_webflux_liquibase_with_gradle_kts() -> None:
    profile, files = run(WORKSPACES / "kotlin_spring_liquibase")

    assert files.problems == []
    assert profile.language is not None and profile.language.name == "kotlin"
    assert where(profile.language) == {"build.gradle.kts:6", "src/main/kotlin/"}
    spring = fact(profile, "frameworks", "spring-boot")
    assert spring.detail["web"] == "webflux"
    assert spring.detail["plugin"] == "org.springframework.boot"
    assert where(spring) == {"build.gradle.kts:4", "build.gradle.kts:18"}
    assert profile.orms == []  # r2dbc, no JPA
    liquibase = fact(profile, "migrations", "liquibase")
    assert liquibase.detail["location"] == "src/main/resources/db/changelog"
    assert liquibase.detail["changelog"] == "src/main/resources/db/changelog/db.changelog-master.yaml"
    assert where(liquibase) == {
        "build.gradle.kts:20",
        "src/main/resources/application.yml:5",
        "src/main/resources/db/changelog/",
    }
    assert profile.names("databases") == ["postgresql"]
    assert where(fact(profile, "databases", "postgresql")) == {"build.gradle.kts:22", "build.gradle.kts:23"}
    junit = fact(profile, "test_runners", "junit")
    assert where(junit) == {"build.gradle.kts:24", "build.gradle.kts:28"}
    assert fact(profile, "package_managers", "gradle").detail == {"wrapper": True}
    # The wrapper needs only a JDK.
    assert steps(profile) == [("tests", ("./gradlew", "test"), "java")]
    assert profile.manifests == ["settings.gradle.kts", "build.gradle.kts"]


def test_pom_with_an_entity_bomb_is_not_expanded(tmp_path: Path) -> None:
    entities = "".join(f'  <!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">\n' for i in range(1, 10))
    bomb = (
        '<?xml version="1.0"?>\n'
        '<!DOCTYPE project [\n  <!ENTITY lol0 "lol">\n'
        f"{entities}"
        "]>\n"
        "<project>\n"
        "  <description>&lol9;</description>\n"
        "  <dependencies>\n"
        "    <dependency><groupId>org.springframework.boot</groupId>\n"
        "      <artifactId>spring-boot-starter-web</artifactId></dependency>\n"
        "  </dependencies>\n"
        "</project>\n"
    )
    write(tmp_path, {"pom.xml": bomb})
    started = time.perf_counter()
    profile, files = run(tmp_path)
    elapsed = time.perf_counter() - started

    assert elapsed < 1.0
    assert [(p.message, p.line, p.severity) for p in files.problems] == [
        ("DOCTYPE/ENTITY declarations are not expanded; dependencies were read by pattern only", 2, "warning")
    ]
    assert profile.language is not None and profile.language.name == "java"
    assert fact(profile, "frameworks", "spring-boot").evidence == (
        Evidence("pom.xml", 18, "<artifactId>spring-boot-starter-web</artifactId></dependency>"),
    )


def test_malformed_pom_is_a_problem_with_a_position_and_artifacts_are_still_read(tmp_path: Path) -> None:
    text = pom(dependency("org.flywaydb", "flyway-core") + "    <dependency>\n") + ""
    write(tmp_path, {"pom.xml": text})
    profile, files = run(tmp_path)
    assert len(files.problems) == 1
    problem = files.problems[0]
    # The unclosed <dependency> is found at the closing </dependencies>.
    assert (problem.message, problem.line, problem.column) == ("invalid XML: mismatched tag", 7, 5)
    assert profile.names("migrations") == ["flyway"]
    assert fact(profile, "migrations", "flyway").detail["location"] == "src/main/resources/db/migration"


def test_maven_modules_wrapper_and_group_checks(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "pom.xml": pom(
                dependency("com.example", "postgresql"), "  <modules>\n    <module>service</module>\n  </modules>\n"
            ),
            "mvnw": "#!/bin/sh\n",
            "service/pom.xml": pom(
                dependency("org.hibernate.orm", "hibernate-core")
                + dependency("com.h2database", "h2")
                + dependency("org.springframework.boot", "spring-boot-starter-amqp")
                + dependency("org.liquibase", "liquibase-core")
            ),
        },
    )
    profile, files = run(tmp_path)
    assert files.problems == []
    assert profile.manifests == ["pom.xml", "service/pom.xml"]
    # com.example:postgresql is not the PostgreSQL driver.
    assert profile.names("databases") == ["h2"]
    assert where(fact(profile, "databases", "h2")) == {"service/pom.xml:6"}
    assert fact(profile, "orms", "hibernate").detail == {"jpa": True, "artifact": "org.hibernate.orm:hibernate-core"}
    assert profile.names("queues") == ["rabbitmq"]
    assert fact(profile, "migrations", "liquibase").detail == {
        "artifact": "org.liquibase:liquibase-core",
        "location": "src/main/resources/db/changelog",
    }
    assert profile.language is not None and profile.language.name == "java"
    assert steps(profile) == [("tests", ("./mvnw", "-q", "verify"), "java")]


def test_groovy_gradle_with_version_catalog_and_subprojects(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "settings.gradle": "rootProject.name = 'shop'\ninclude 'app', ':infra:db'\n",
            "build.gradle": "plugins {\n  id 'java'\n}\n",
            "app/build.gradle": (
                "plugins {\n"
                "  id 'org.springframework.boot' version '3.2.2'\n"
                "}\n"
                "dependencies {\n"
                "  implementation libs.spring.web\n"
                "  // implementation 'org.springframework.kafka:spring-kafka'\n"
                "  testImplementation 'org.junit.jupiter:junit-jupiter:5.10.1'\n"
                "}\n"
            ),
            "infra/db/build.gradle": "dependencies {\n  implementation 'org.flywaydb:flyway-core:10.6.0'\n}\n",
            "gradle/libs.versions.toml": (
                "[libraries]\n"
                'spring-web = { module = "org.springframework.boot:spring-boot-starter-web" }\n'
                'pg = { group = "org.postgresql", name = "postgresql", version = "42.7.1" }\n'
            ),
            "src/main/resources/application.properties": "spring.flyway.locations=classpath:db/migrations/pg\n",
        },
    )
    profile, files = run(tmp_path)
    assert files.problems == []
    assert profile.language == Fact("java", (Evidence("build.gradle"),))
    assert profile.manifests == [
        "settings.gradle",
        "build.gradle",
        "app/build.gradle",
        "infra/db/build.gradle",
        "gradle/libs.versions.toml",
    ]
    assert where(fact(profile, "frameworks", "spring-boot")) == {"app/build.gradle:2", "gradle/libs.versions.toml:2"}
    assert where(fact(profile, "databases", "postgresql")) == {"gradle/libs.versions.toml:3"}
    assert where(fact(profile, "test_runners", "junit")) == {"app/build.gradle:7"}
    assert profile.queues == []  # commented out
    flyway = fact(profile, "migrations", "flyway")
    assert flyway.detail["location"] == "src/main/resources/db/migrations/pg"
    assert where(flyway) == {"infra/db/build.gradle:2", "src/main/resources/application.properties:1"}
    assert steps(profile) == [("tests", ("gradle", "test"), "gradle")]


def test_an_existing_language_is_kept_and_no_jvm_steps_are_added(tmp_path: Path) -> None:
    write(tmp_path, {"pom.xml": pom(dependency("junit", "junit"))})
    python = Fact("python", (Evidence("pyproject.toml", 1),))
    profile, _ = run(tmp_path, StackProfile(root=str(tmp_path), language=python))
    assert profile.language == python
    assert profile.names("test_runners") == ["junit"]
    assert profile.verify == []


def test_no_build_file_means_nothing(tmp_path: Path) -> None:
    write(tmp_path, {"src/main/java/App.java": "class App {}\n"})
    profile, files = run(tmp_path)
    assert profile.language is None and profile.manifests == [] and files.problems == []


# --- through the orchestrator ----------------------------------------------


@pytest.mark.parametrize(
    ("fixture", "expected"),
    [
        (
            "java_spring_jpa_flyway",
            ("java", ["spring-boot"], ["hibernate"], ["flyway"], ["postgresql"], ["mvn -q verify"]),
        ),
        ("kotlin_spring_liquibase", ("kotlin", ["spring-boot"], [], ["liquibase"], ["postgresql"], ["./gradlew test"])),
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
        [step.cmd for step in profile.verify],
    ) == expected
