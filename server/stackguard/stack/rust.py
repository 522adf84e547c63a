"""Rust detection from ``Cargo.toml`` (the root's and its workspace members'
when they are part of this root)."""

from __future__ import annotations

import posixpath
import re
import tomllib
from dataclasses import dataclass, field
from typing import Any

from .files import ProjectFiles, line_of
from .model import Evidence, Fact, StackProfile, VerifyStep

MANIFEST = "Cargo.toml"

FRAMEWORKS = {"axum": "axum", "actix-web": "actix-web", "rocket": "rocket", "warp": "warp"}
ORMS = {"sqlx": "sqlx", "diesel": "diesel", "sea-orm": "sea-orm"}
DATABASES = {
    "tokio-postgres": "postgresql",
    "postgres": "postgresql",
    "deadpool-postgres": "postgresql",
    "mysql": "mysql",
    "mysql_async": "mysql",
    "rusqlite": "sqlite",
    "mongodb": "mongodb",
    "redis": "redis",
    "deadpool-redis": "redis",
}
QUEUES = {"lapin": "rabbitmq", "rdkafka": "kafka", "async-nats": "nats"}
# Cargo features of an ORM crate that name the database it talks to.
ORM_DATABASE_FEATURES = {
    "sqlx": {"postgres": "postgresql", "mysql": "mysql", "sqlite": "sqlite"},
    "diesel": {"postgres": "postgresql", "mysql": "mysql", "sqlite": "sqlite"},
    "sea-orm": {"sqlx-postgres": "postgresql", "sqlx-mysql": "mysql", "sqlx-sqlite": "sqlite"},
}
CLIPPY_CONFIGS = ("clippy.toml", ".clippy.toml")

HEADER = re.compile(r"^\s*\[(?P<array>\[)?\s*(?P<name>[^\[\]]+?)\s*\]\]?\s*(?:#.*)?$")
KEY = re.compile(r"""^\s*(?P<quote>["']?)(?P<key>[A-Za-z0-9_.\-]+)(?P=quote)\s*=""")
INLINE_PACKAGE = re.compile(r"""\bpackage\s*=\s*["'](?P<package>[^"']+)["']""")
INLINE_FEATURES = re.compile(r"""\bfeatures\s*=\s*\[(?P<features>[^\]]*)\]""")
TOML_POSITION = re.compile(r"\s*\(at line (?P<line>\d+), column (?P<column>\d+)\)")
SQLX_MIGRATE_MACRO = re.compile(
    r"""\bsqlx::migrate!\s*\(\s*"(?P<path>[^"]+)"\s*\)|\bmigrate!\s*\(\s*"(?P<short>[^"]+)"\s*\)"""
)


@dataclass
class Crate:
    """One dependency as declared; the same crate may be declared in several
    sections or manifests, so detection merges by ``name``."""

    name: str  # the crate's real name (``package =`` wins over the key)
    features: set[str] = field(default_factory=set)
    evidence: list[Evidence] = field(default_factory=list)


def _is_dependency_table(header: str) -> bool:
    parts = [part.strip().strip("\"'") for part in _split_header(header)]
    if not parts:
        return False
    if parts[-1] in ("dependencies", "dev-dependencies", "build-dependencies"):
        return len(parts) == 1 or parts[0] in ("workspace", "target")
    return False


def _split_header(header: str) -> list[str]:
    """Split a TOML table name on dots outside quotes (``target.'cfg(unix)'.dependencies``)."""
    parts: list[str] = []
    current = ""
    quote = ""
    for char in header:
        if quote:
            current += char
            if char == quote:
                quote = ""
        elif char in "\"'":
            quote = char
            current += char
        elif char == ".":
            parts.append(current.strip())
            current = ""
        else:
            current += char
    parts.append(current.strip())
    return parts


def scan_dependency_lines(path: str, text: str) -> list[tuple[str, Evidence, str]]:
    """(manifest key, evidence, declaration text) for every dependency line,
    by reading table headers and keys line by line. Works on invalid TOML,
    which is how a half-typed Cargo.toml still yields its other crates."""
    found: list[tuple[str, Evidence, str]] = []
    table = ""
    table_crate = ""  # set inside ``[dependencies.sqlx]``-style tables
    for number, line in enumerate(text.splitlines(), start=1):
        header = HEADER.match(line)
        if header is not None:
            table = "" if header.group("array") else header.group("name")
            parts = [part.strip("\"'") for part in _split_header(table)]
            table_crate = ""
            # ``[dependencies.sqlx]``: the table itself declares one crate.
            if len(parts) >= 2 and _is_dependency_table(".".join(_split_header(table)[:-1])):
                table_crate = parts[-1]
                found.append((table_crate, Evidence(path, number, line.strip()[:200]), ""))
            continue
        key = KEY.match(line)
        if key is None:
            continue
        if table_crate:
            # The table's own keys: its features and rename are declaration text.
            if key.group("key") in ("features", "package"):
                found.append((table_crate, Evidence(path, number, line.strip()[:200]), line))
        elif table and _is_dependency_table(table):
            found.append((key.group("key"), Evidence(path, number, line.strip()[:200]), line))
    return found


def _crates_from_lines(path: str, text: str) -> list[tuple[str, set[str], list[Evidence]]]:
    declarations: dict[str, tuple[list[str], list[Evidence]]] = {}
    for key, evidence, declaration in scan_dependency_lines(path, text):
        texts, evidence_list = declarations.setdefault(key, ([], []))
        texts.append(declaration)
        evidence_list.append(evidence)
    crates = []
    for key, (texts, evidence_list) in declarations.items():
        declaration = "\n".join(texts)
        package = INLINE_PACKAGE.search(declaration)
        names: set[str] = set()
        for features in INLINE_FEATURES.finditer(declaration):
            names |= set(re.findall(r"""["']([^"']+)["']""", features.group("features")))
        crates.append((package.group("package") if package else key, names, evidence_list))
    return crates


def _dependency_tables(data: dict[str, Any]) -> list[dict[str, Any]]:
    tables = []
    for section in ("dependencies", "dev-dependencies", "build-dependencies"):
        if isinstance(data.get(section), dict):
            tables.append(data[section])
    workspace = data.get("workspace")
    if isinstance(workspace, dict) and isinstance(workspace.get("dependencies"), dict):
        tables.append(workspace["dependencies"])
    target = data.get("target")
    if isinstance(target, dict):
        for platform in target.values():
            if isinstance(platform, dict):
                for section in ("dependencies", "dev-dependencies", "build-dependencies"):
                    if isinstance(platform.get(section), dict):
                        tables.append(platform[section])
    return tables


def _crates_from_toml(path: str, text: str, data: dict[str, Any]) -> list[tuple[str, set[str], list[Evidence]]]:
    lines: dict[str, list[Evidence]] = {}
    for key, evidence, _ in scan_dependency_lines(path, text):
        lines.setdefault(key, []).append(evidence)
    crates = []
    for table in _dependency_tables(data):
        for key, spec in table.items():
            name = key
            features: set[str] = set()
            if isinstance(spec, dict):
                if isinstance(spec.get("package"), str):
                    name = spec["package"]
                if isinstance(spec.get("features"), list):
                    features = {f for f in spec["features"] if isinstance(f, str)}
            crates.append((name, features, lines.get(key, [Evidence(path)])))
    return crates


def _read_manifest(files: ProjectFiles, path: str) -> tuple[str | None, dict[str, Any] | None]:
    text = files.read_text(path)
    if text is None:
        return None, None
    try:
        return text, tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        _toml_problem(files, path, exc)
        return text, None


def _toml_problem(files: ProjectFiles, path: str, exc: tomllib.TOMLDecodeError) -> None:
    """tomllib puts the position in the message; the Problem carries it instead."""
    message = str(exc)
    position = TOML_POSITION.search(message)
    line = int(position.group("line")) if position else 0
    column = int(position.group("column")) if position else 0
    files.problem(path, f"invalid TOML: {TOML_POSITION.sub('', message)}", line=line, column=column)


def _workspace_members(files: ProjectFiles, data: dict[str, Any] | None) -> list[str]:
    """Members' manifests that belong to this root (a member discovered as a
    separate project root is pruned from ``files`` and not listed)."""
    workspace = data.get("workspace") if data else None
    members = workspace.get("members") if isinstance(workspace, dict) else None
    if not isinstance(members, list):
        return []
    found: list[str] = []
    for member in members:
        if not isinstance(member, str) or ".." in member.split("/"):
            continue
        for manifest in files.glob(posixpath.normpath(member).strip("/") + "/" + MANIFEST):
            if manifest != MANIFEST and manifest not in found:
                found.append(manifest)
    return found


def detect(files: ProjectFiles, profile: StackProfile) -> None:
    if not files.exists(MANIFEST):
        return
    text, data = _read_manifest(files, MANIFEST)
    manifests = [MANIFEST, *_workspace_members(files, data)]
    crates: dict[str, Crate] = {}
    for manifest in manifests:
        if manifest != MANIFEST:
            text_m, data_m = _read_manifest(files, manifest)
        else:
            text_m, data_m = text, data
        if manifest not in profile.manifests:
            profile.manifests.append(manifest)
        if text_m is None:
            continue
        declared = (
            _crates_from_toml(manifest, text_m, data_m) if data_m is not None else _crates_from_lines(manifest, text_m)
        )
        for name, features, evidence_list in declared:
            crate = crates.setdefault(name, Crate(name))
            crate.features |= features
            for evidence in evidence_list:
                if evidence not in crate.evidence:
                    crate.evidence.append(evidence)

    if profile.language is None:
        profile.language = Fact("rust", (_package_evidence(text),), _package_detail(data))

    def facts(table: dict[str, str], category: str) -> None:
        for crate_name, name in table.items():
            crate = crates.get(crate_name)
            if crate is not None:
                detail = {"crate": crate_name} if crate_name != name else {}
                profile.add(category, Fact(name, tuple(sorted(crate.evidence)), detail))

    facts(FRAMEWORKS, "frameworks")
    for crate_name, name in ORMS.items():
        orm = crates.get(crate_name)
        if orm is None:
            continue
        profile.add("orms", Fact(name, tuple(sorted(orm.evidence)), {"features": sorted(orm.features)}))
        for feature, database in ORM_DATABASE_FEATURES[crate_name].items():
            if feature in orm.features:
                feature_lines = [e for e in orm.evidence if feature in e.text] or orm.evidence
                profile.add("databases", Fact(database, tuple(sorted(feature_lines)), {"source": crate_name}))
    facts(DATABASES, "databases")
    facts(QUEUES, "queues")
    _detect_migrations(files, profile, crates)

    profile.add("test_runners", Fact("cargo test", (_package_evidence(text),)))
    clippy = _clippy_evidence(files, text)
    profile.add("linters", Fact("clippy", (clippy or Evidence(MANIFEST),), {"configured": clippy is not None}))

    if profile.language is not None and profile.language.name == "rust":
        evidence = _package_evidence(text)
        _add_step(profile, VerifyStep.from_cmd("typecheck", "cargo check", evidence, skip_if_missing="cargo"))
        if clippy is not None:
            _add_step(profile, VerifyStep.from_cmd("lint", "cargo clippy", clippy, skip_if_missing="cargo-clippy"))
        _add_step(profile, VerifyStep.from_cmd("tests", "cargo test", evidence, skip_if_missing="cargo"))


def _package_evidence(text: str | None) -> Evidence:
    found = line_of(text, r"^\s*\[(?:package|workspace)\]") if text is not None else None
    return Evidence(MANIFEST, found.line, found.text) if found else Evidence(MANIFEST)


def _package_detail(data: dict[str, Any] | None) -> dict[str, Any]:
    package = data.get("package") if data else None
    if not isinstance(package, dict):
        return {}
    detail = {}
    for key in ("name", "edition"):
        if isinstance(package.get(key), str):
            detail[key] = package[key]
    return detail


def _clippy_evidence(files: ProjectFiles, text: str | None) -> Evidence | None:
    for config in CLIPPY_CONFIGS:
        if files.exists(config):
            return Evidence(config)
    if text is not None:
        found = line_of(text, r"^\s*\[(?:workspace\.)?lints\.clippy\]")
        if found is not None:
            return Evidence(MANIFEST, found.line, found.text)
    return None


def _detect_migrations(files: ProjectFiles, profile: StackProfile, crates: dict[str, Crate]) -> None:
    if "sqlx" in crates:
        location, evidence = _sqlx_migrations(files)
        if location is not None:
            profile.add(
                "migrations",
                Fact("sqlx-migrate", tuple(sorted({*evidence, *crates["sqlx"].evidence})), {"location": location}),
            )
    if "diesel" in crates:
        location, evidence = _diesel_migrations(files)
        if location is not None:
            profile.add(
                "migrations",
                Fact("diesel", tuple(sorted({*evidence, *crates["diesel"].evidence})), {"location": location}),
            )
    if "sea-orm-migration" in crates:
        location = "migration" if files.dir_exists("migration") else ""
        detail = {"location": location} if location else {}
        profile.add("migrations", Fact("sea-orm-migration", tuple(crates["sea-orm-migration"].evidence), detail))


def _sqlx_migrations(files: ProjectFiles) -> tuple[str | None, list[Evidence]]:
    """sqlx embeds ``migrate!("dir")`` (default ``migrations``) or runs
    ``sqlx migrate run`` on ./migrations."""
    for path, text in files.iter_text("src/**/*.rs", max_files=500):
        found = SQLX_MIGRATE_MACRO.search(text)
        if found is not None:
            location = posixpath.normpath(found.group("path") or found.group("short")).lstrip("/")
            line = text.count("\n", 0, found.start()) + 1
            return location, [Evidence(path, line, text.splitlines()[line - 1].strip()[:200])]
    if files.dir_exists("migrations"):
        return "migrations", [Evidence("migrations/")]
    return None, []


def _diesel_migrations(files: ProjectFiles) -> tuple[str | None, list[Evidence]]:
    if files.exists("diesel.toml"):
        text = files.read_text("diesel.toml")
        location = "migrations"
        evidence = Evidence("diesel.toml")
        if text is not None:
            try:
                config = tomllib.loads(text)
            except tomllib.TOMLDecodeError as exc:
                _toml_problem(files, "diesel.toml", exc)
                config = {}
            directory = config.get("migrations_directory")
            if isinstance(directory, dict) and isinstance(directory.get("dir"), str):
                location = posixpath.normpath(directory["dir"]).lstrip("/")
                found = line_of(text, r"^\s*dir\s*=")
                if found is not None:
                    evidence = Evidence("diesel.toml", found.line, found.text)
        return location, [evidence]
    if files.dir_exists("migrations"):
        return "migrations", [Evidence("migrations/")]
    return None, []


def _add_step(profile: StackProfile, step: VerifyStep) -> None:
    if any(existing.name == step.name and existing.cmd == step.cmd for existing in profile.verify):
        return
    profile.verify.append(step)
