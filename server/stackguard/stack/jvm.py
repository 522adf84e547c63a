"""Java / Kotlin detection from ``pom.xml`` and ``build.gradle(.kts)``.

A pom.xml that declares a DOCTYPE or entities is never handed to an XML
parser (entity expansion is how a 1 KB file becomes gigabytes); its
artifactIds are read by pattern instead.
"""

from __future__ import annotations

import posixpath
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass

from .files import ProjectFiles, line_of
from .model import Evidence, Fact, StackProfile, VerifyStep

POM = "pom.xml"
GRADLE_FILES = ("build.gradle.kts", "build.gradle")
GRADLE_SETTINGS = ("settings.gradle.kts", "settings.gradle")
VERSION_CATALOG = "gradle/libs.versions.toml"

# artifactId → (category, fact name, detail)
ARTIFACTS: dict[str, list[tuple[str, str, dict]]] = {
    "spring-boot-starter-web": [("frameworks", "spring-boot", {"web": "mvc"})],
    "spring-boot-starter-webflux": [("frameworks", "spring-boot", {"web": "webflux"})],
    "spring-boot-maven-plugin": [("frameworks", "spring-boot", {})],
    "spring-boot-starter-data-jpa": [("orms", "hibernate", {"jpa": True})],
    "hibernate-core": [("orms", "hibernate", {"jpa": True})],
    "flyway-core": [("migrations", "flyway", {})],
    "liquibase-core": [("migrations", "liquibase", {})],
    "postgresql": [("databases", "postgresql", {})],
    "r2dbc-postgresql": [("databases", "postgresql", {"r2dbc": True})],
    "mysql-connector-java": [("databases", "mysql", {})],
    "mysql-connector-j": [("databases", "mysql", {})],
    "mariadb-java-client": [("databases", "mysql", {"driver": "mariadb"})],
    "h2": [("databases", "h2", {})],
    "spring-boot-starter-data-redis": [("databases", "redis", {})],
    "jedis": [("databases", "redis", {})],
    "lettuce-core": [("databases", "redis", {})],
    "spring-boot-starter-data-mongodb": [("databases", "mongodb", {})],
    "mongodb-driver-sync": [("databases", "mongodb", {})],
    "spring-boot-starter-amqp": [("queues", "rabbitmq", {})],
    "amqp-client": [("queues", "rabbitmq", {})],
    "spring-kafka": [("queues", "kafka", {})],
    "kafka-clients": [("queues", "kafka", {})],
    "spring-boot-starter-validation": [("validation", "hibernate-validator", {})],
    "hibernate-validator": [("validation", "hibernate-validator", {})],
    "spring-boot-starter-security": [("auth", "spring-security", {})],
    "jjwt-api": [("auth", "jjwt", {})],
    "jjwt": [("auth", "jjwt", {})],
    "java-jwt": [("auth", "java-jwt", {})],
    "junit-jupiter": [("test_runners", "junit", {})],
    "junit-jupiter-api": [("test_runners", "junit", {})],
    "junit-jupiter-engine": [("test_runners", "junit", {})],
    "junit": [("test_runners", "junit", {})],
    "spring-boot-starter-test": [("test_runners", "junit", {})],
}
# Gradle plugin ids → facts (Maven plugins are artifacts above).
GRADLE_PLUGINS = {
    "org.springframework.boot": ("frameworks", "spring-boot"),
    "org.flywaydb.flyway": ("migrations", "flyway"),
    "org.liquibase.gradle": ("migrations", "liquibase"),
}
# ArtifactIds generic enough that another group could publish them: they
# count only with their known group (when the group is known at all).
ARTIFACT_GROUPS = {
    "hibernate-core": ("org.hibernate", "org.hibernate.orm"),
    "postgresql": ("org.postgresql",),
    "h2": ("com.h2database",),
    "junit": ("junit",),
    "jjwt": ("io.jsonwebtoken",),
}

FLYWAY_DEFAULT = "src/main/resources/db/migration"
LIQUIBASE_DEFAULT = "src/main/resources/db/changelog"

GRADLE_COORDINATE = re.compile(r"""["'](?P<group>[A-Za-z0-9_.\-]+):(?P<artifact>[A-Za-z0-9_.\-]+)(?::[^"'\s]*)?["']""")
CATALOG_GROUP_NAME = re.compile(
    r"""\bgroup\s*=\s*["'](?P<group>[A-Za-z0-9_.\-]+)["']\s*,\s*name\s*=\s*["'](?P<artifact>[A-Za-z0-9_.\-]+)["']"""
)
POM_ARTIFACT = re.compile(r"<artifactId>\s*(?P<artifact>[A-Za-z0-9_.\-]+)\s*</artifactId>")
KOTLIN_PLUGIN = re.compile(
    r"""\bkotlin\s*\(\s*["'](?:jvm|plugin\.spring|plugin\.jpa)["']\s*\)|\bid\s*\(?\s*["']org\.jetbrains\.kotlin\.jvm["']"""
)
GRADLE_INCLUDE = re.compile(r"""^\s*include\s*\(?(?P<args>[^)\n]*)""", re.MULTILINE)
FLYWAY_LOCATIONS = re.compile(r"""flyway\.locations\s*[=:]\s*(?:classpath:)?(?P<location>[\w/.\-]+)""")
LIQUIBASE_CHANGELOG = re.compile(
    r"""(?:liquibase\.change-log\s*[=:]|change-log\s*:)\s*["']?(?:classpath:)?(?P<path>[\w/.\-]+)"""
)


@dataclass(frozen=True)
class Artifact:
    group: str
    artifact: str
    evidence: Evidence


def detect(files: ProjectFiles, profile: StackProfile) -> None:
    gradle_files = [name for name in GRADLE_FILES if files.exists(name)]
    has_pom = files.exists(POM)
    if not has_pom and not gradle_files:
        return

    artifacts: list[Artifact] = []
    plugins: list[tuple[str, Evidence]] = []
    kotlin: list[Evidence] = []
    junit_platform: list[Evidence] = []

    if has_pom:
        for pom in [POM, *_maven_modules(files)]:
            _note_manifest(profile, pom)
            found, uses_kotlin = _read_pom(files, pom)
            artifacts += found
            kotlin += uses_kotlin
    for build in [*gradle_files, *_gradle_subprojects(files, profile)]:
        _note_manifest(profile, build)
        text = files.read_text(build)
        if text is None:
            continue
        artifacts += _gradle_artifacts(build, text)
        plugins += _gradle_plugins(build, text)
        plugin_line = line_of(text, KOTLIN_PLUGIN)
        if plugin_line is not None:
            kotlin.append(Evidence(build, plugin_line.line, plugin_line.text))
        platform_line = line_of(text, r"\buseJUnitPlatform\s*\(")
        if platform_line is not None:
            junit_platform.append(Evidence(build, platform_line.line, platform_line.text))
    if gradle_files and files.exists(VERSION_CATALOG):
        text = files.read_text(VERSION_CATALOG)
        if text is not None:
            _note_manifest(profile, VERSION_CATALOG)
            artifacts += _gradle_artifacts(VERSION_CATALOG, text)
    if files.dir_exists("src/main/kotlin"):
        kotlin.append(Evidence("src/main/kotlin/"))

    if profile.language is None:
        if kotlin:
            profile.language = Fact("kotlin", tuple(sorted(set(kotlin))))
        else:
            profile.language = Fact("java", tuple(Evidence(name) for name in ([POM] if has_pom else []) + gradle_files))

    for item in artifacts:
        groups = ARTIFACT_GROUPS.get(item.artifact)
        if groups is not None and item.group and item.group not in groups:
            continue
        for category, name, detail in ARTIFACTS.get(item.artifact, []):
            profile.add(
                category,
                Fact(name, (item.evidence,), {**detail, "artifact": f"{item.group}:{item.artifact}".lstrip(":")}),
            )
    for plugin, evidence in plugins:
        category, name = GRADLE_PLUGINS[plugin]
        profile.add(category, Fact(name, (evidence,), {"plugin": plugin}))
    for evidence in junit_platform:
        profile.add("test_runners", Fact("junit", (evidence,), {"platform": True}))

    _migration_locations(files, profile)

    if has_pom:
        profile.add("package_managers", Fact("maven", (Evidence(POM),), {"wrapper": files.exists("mvnw")}))
    if gradle_files:
        profile.add(
            "package_managers", Fact("gradle", (Evidence(gradle_files[0]),), {"wrapper": files.exists("gradlew")})
        )

    if profile.language is not None and profile.language.name in ("java", "kotlin"):
        _add_verify_steps(files, profile, has_pom, gradle_files)


def _note_manifest(profile: StackProfile, path: str) -> None:
    if path not in profile.manifests:
        profile.manifests.append(path)


def _read_pom(files: ProjectFiles, path: str) -> tuple[list[Artifact], list[Evidence]]:
    text = files.read_text(path)
    if text is None:
        return [], []
    kotlin = []
    found = line_of(text, r"<artifactId>\s*kotlin-maven-plugin\s*</artifactId>")
    if found is not None:
        kotlin.append(Evidence(path, found.line, found.text))
    lowered = text.lower()
    if "<!doctype" in lowered or "<!entity" in lowered:
        marker = line_of(text, re.compile(r"<!(?:DOCTYPE|ENTITY)", re.IGNORECASE))
        files.problem(
            path,
            "DOCTYPE/ENTITY declarations are not expanded; dependencies were read by pattern only",
            line=marker.line if marker else 0,
            severity="warning",
        )
        return _pom_artifacts_by_pattern(path, text), kotlin
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        line, column = getattr(exc, "position", (0, 0))
        # expat's message repeats the position with a 0-based column.
        message = re.sub(r": line \d+, column \d+$", "", str(exc))
        files.problem(path, f"invalid XML: {message}", line=line, column=column + 1 if line else 0)
        return _pom_artifacts_by_pattern(path, text), kotlin
    return _pom_artifacts(path, text, root), kotlin


def _local(tag: object) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _child_text(element: ET.Element, name: str) -> str:
    for child in element:
        if _local(child.tag) == name:
            return (child.text or "").strip()
    return ""


def _pom_artifacts(path: str, text: str, root: ET.Element) -> list[Artifact]:
    """Dependencies and plugins the build uses; ``dependencyManagement`` and
    ``pluginManagement`` only pin versions, so they are not usage."""
    found: list[Artifact] = []

    def walk(element: ET.Element) -> None:
        for child in element:
            tag = _local(child.tag)
            if tag in ("dependencyManagement", "pluginManagement"):
                continue
            if tag in ("dependency", "plugin"):
                artifact = _child_text(child, "artifactId")
                if artifact:
                    found.append(Artifact(_child_text(child, "groupId"), artifact, _pom_line(path, text, artifact)))
                continue
            walk(child)

    walk(root)
    return found


def _pom_line(path: str, text: str, artifact: str) -> Evidence:
    found = line_of(text, rf"<artifactId>\s*{re.escape(artifact)}\s*</artifactId>")
    return Evidence(path, found.line, found.text) if found else Evidence(path)


def _pom_artifacts_by_pattern(path: str, text: str) -> list[Artifact]:
    found = []
    for number, line in enumerate(text.splitlines(), start=1):
        for match in POM_ARTIFACT.finditer(line):
            found.append(Artifact("", match.group("artifact"), Evidence(path, number, line.strip()[:200])))
    return found


def _maven_modules(files: ProjectFiles) -> list[str]:
    text = files.read_text(POM)
    if text is None:
        return []
    modules = []
    for match in re.finditer(r"<module>\s*([^<\s]+)\s*</module>", text):
        module = posixpath.normpath(match.group(1)).strip("/")
        if module.startswith("..") or module == ".":
            continue
        path = f"{module}/{POM}"
        if files.exists(path) and path not in modules:
            modules.append(path)
    return modules


def _gradle_subprojects(files: ProjectFiles, profile: StackProfile) -> list[str]:
    builds = []
    for settings in GRADLE_SETTINGS:
        if not files.exists(settings):
            continue
        text = files.read_text(settings)
        if text is None:
            continue
        _note_manifest(profile, settings)
        for include in GRADLE_INCLUDE.finditer(text):
            for name in re.findall(r"""["']:?([A-Za-z0-9_.\-:]+)["']""", include.group("args")):
                folder = name.replace(":", "/").strip("/")
                for build in GRADLE_FILES:
                    path = f"{folder}/{build}"
                    if files.exists(path) and path not in builds:
                        builds.append(path)
    return builds


def _gradle_artifacts(path: str, text: str) -> list[Artifact]:
    found = []
    for number, line in enumerate(text.splitlines(), start=1):
        if line.lstrip().startswith("//"):
            continue
        for pattern in (GRADLE_COORDINATE, CATALOG_GROUP_NAME):
            for match in pattern.finditer(line):
                found.append(
                    Artifact(match.group("group"), match.group("artifact"), Evidence(path, number, line.strip()[:200]))
                )
    return found


def _gradle_plugins(path: str, text: str) -> list[tuple[str, Evidence]]:
    found = []
    for plugin in GRADLE_PLUGINS:
        evidence = line_of(text, rf"""\bid\s*\(?\s*["']{re.escape(plugin)}["']""")
        if evidence is not None:
            found.append((plugin, Evidence(path, evidence.line, evidence.text)))
    return found


def _application_config(files: ProjectFiles) -> list[tuple[str, str]]:
    configs = []
    for path in files.glob("src/main/resources/application*"):
        if path.endswith((".properties", ".yml", ".yaml")):
            text = files.read_text(path)
            if text is not None:
                configs.append((path, text))
    return configs


def _migration_locations(files: ProjectFiles, profile: StackProfile) -> None:
    names = profile.names("migrations")
    configs = _application_config(files) if ("flyway" in names or "liquibase" in names) else []
    if "flyway" in names:
        location = FLYWAY_DEFAULT
        evidence: list[Evidence] = []
        for path, text in configs:
            found = FLYWAY_LOCATIONS.search(text)
            if found is not None:
                location = "src/main/resources/" + found.group("location").strip("/")
                line = text.count("\n", 0, found.start()) + 1
                evidence.append(Evidence(path, line, text.splitlines()[line - 1].strip()))
                break
        if files.dir_exists(location):
            evidence.append(Evidence(location + "/"))
        profile.add("migrations", Fact("flyway", tuple(evidence), {"location": location}))
    if "liquibase" in names:
        detail: dict[str, str] = {"location": LIQUIBASE_DEFAULT}
        evidence = []
        for path, text in configs:
            found = LIQUIBASE_CHANGELOG.search(text)
            if found is not None:
                changelog = "src/main/resources/" + found.group("path").strip("/")
                detail = {"location": posixpath.dirname(changelog), "changelog": changelog}
                line = text.count("\n", 0, found.start()) + 1
                evidence.append(Evidence(path, line, text.splitlines()[line - 1].strip()))
                break
        if files.dir_exists(detail["location"]):
            evidence.append(Evidence(detail["location"] + "/"))
        profile.add("migrations", Fact("liquibase", tuple(evidence), detail))


def _add_verify_steps(files: ProjectFiles, profile: StackProfile, has_pom: bool, gradle_files: list[str]) -> None:
    # A wrapper needs only a JDK; the skip check wants a bare program name.
    use_gradle = bool(gradle_files) and (not has_pom or files.exists("gradlew"))
    if use_gradle:
        evidence = Evidence(gradle_files[0])
        if files.exists("gradlew"):
            step = VerifyStep.from_cmd("tests", "./gradlew test", evidence, Evidence("gradlew"), skip_if_missing="java")
        else:
            step = VerifyStep.from_cmd("tests", "gradle test", evidence, skip_if_missing="gradle")
    else:
        evidence = Evidence(POM)
        if files.exists("mvnw"):
            step = VerifyStep.from_cmd("tests", "./mvnw -q verify", evidence, Evidence("mvnw"), skip_if_missing="java")
        else:
            step = VerifyStep.from_cmd("tests", "mvn -q verify", evidence, skip_if_missing="mvn")
    if not any(existing.name == step.name and existing.cmd == step.cmd for existing in profile.verify):
        profile.verify.append(step)
