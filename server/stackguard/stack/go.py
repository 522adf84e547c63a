"""Go detection from ``go.mod`` (and, for the standard library's net/http,
from the code itself)."""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass

from .files import ProjectFiles
from .model import Evidence, Fact, StackProfile, VerifyStep

MANIFEST = "go.mod"

# Module path prefixes: a module matches its prefix exactly or with a major
# version suffix (``github.com/labstack/echo/v4``).
FRAMEWORKS = {
    "github.com/gin-gonic/gin": "gin",
    "github.com/labstack/echo": "echo",
    "github.com/gofiber/fiber": "fiber",
    "github.com/go-chi/chi": "chi",
}
ORMS = {"gorm.io/gorm": "gorm", "github.com/jmoiron/sqlx": "sqlx", "entgo.io/ent": "ent"}
MIGRATIONS = {"github.com/pressly/goose": "goose", "github.com/golang-migrate/migrate": "golang-migrate"}
DATABASES = {
    "github.com/lib/pq": "postgresql",
    "github.com/jackc/pgx": "postgresql",
    "gorm.io/driver/postgres": "postgresql",
    "github.com/go-sql-driver/mysql": "mysql",
    "gorm.io/driver/mysql": "mysql",
    "github.com/mattn/go-sqlite3": "sqlite",
    "modernc.org/sqlite": "sqlite",
    "gorm.io/driver/sqlite": "sqlite",
    "github.com/go-redis/redis": "redis",
    "github.com/redis/go-redis": "redis",
    "go.mongodb.org/mongo-driver": "mongodb",
}
QUEUES = {
    "github.com/rabbitmq/amqp091-go": "rabbitmq",
    "github.com/streadway/amqp": "rabbitmq",
    "github.com/segmentio/kafka-go": "kafka",
    "github.com/IBM/sarama": "kafka",
    "github.com/Shopify/sarama": "kafka",
    "github.com/confluentinc/confluent-kafka-go": "kafka",
    "github.com/nats-io/nats.go": "nats",
}
GOLANGCI_CONFIGS = (".golangci.yml", ".golangci.yaml", ".golangci.toml", ".golangci.json")

MAJOR_SUFFIX = re.compile(r"^v\d+$")
NET_HTTP_IMPORT = re.compile(r'^\s*(?:import\s+)?(?:(?P<alias>[A-Za-z_]\w*|\.)\s+)?"net/http"\s*(?://.*)?$')
GOOSE_ANNOTATION = re.compile(r"^--\s*\+goose\s+Up\b", re.MULTILINE | re.IGNORECASE)


@dataclass(frozen=True)
class Requirement:
    module: str
    version: str
    line: int
    text: str
    indirect: bool


def parse_go_mod(text: str) -> tuple[Evidence | None, Evidence | None, list[Requirement]]:
    """(module line, go directive line, requirements) of a go.mod text.
    Lines that are not understood are skipped: a half-typed go.mod still
    yields the requirements around the typo."""
    module: Evidence | None = None
    go_version: Evidence | None = None
    requirements: list[Requirement] = []
    in_block: str | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        code, _, comment = raw.partition("//")
        line = code.strip()
        if not line:
            continue
        if in_block is not None:
            if line.startswith(")"):
                in_block = None
                continue
            if in_block == "require":
                requirement = _requirement(line, comment, number, raw)
                if requirement is not None:
                    requirements.append(requirement)
            continue
        keyword, _, rest = line.partition(" ")
        rest = rest.strip()
        if rest == "(" or (keyword.endswith("(") and not rest):
            in_block = keyword.rstrip("(").strip()
            continue
        if keyword == "module" and rest:
            module = Evidence(MANIFEST, number, raw.strip())
        elif keyword == "go" and rest:
            go_version = Evidence(MANIFEST, number, raw.strip())
        elif keyword == "require" and rest:
            requirement = _requirement(rest, comment, number, raw)
            if requirement is not None:
                requirements.append(requirement)
    return module, go_version, requirements


def _requirement(spec: str, comment: str, number: int, raw: str) -> Requirement | None:
    parts = spec.split()
    if len(parts) < 2:
        return None
    module = parts[0].strip('"`')
    return Requirement(module, parts[1], number, raw.strip(), "indirect" in comment)


def _matches(module: str, prefix: str) -> bool:
    if module == prefix:
        return True
    if not module.startswith(prefix + "/"):
        return False
    return bool(MAJOR_SUFFIX.match(module[len(prefix) + 1 :]))


def detect(files: ProjectFiles, profile: StackProfile) -> None:
    if not files.exists(MANIFEST):
        return
    if MANIFEST not in profile.manifests:
        profile.manifests.append(MANIFEST)
    text = files.read_text(MANIFEST)
    module, go_version, requirements = parse_go_mod(text) if text is not None else (None, None, [])
    manifest_evidence = module or Evidence(MANIFEST)

    if profile.language is None:
        detail: dict[str, str] = {}
        if module is not None:
            detail["module"] = module.text.split(None, 1)[1].strip().strip('"`')
        if go_version is not None:
            detail["go"] = go_version.text.split(None, 1)[1].strip()
        profile.language = Fact("go", (manifest_evidence,), detail)

    # Indirect requirements are other modules' needs, not this project's.
    direct = [r for r in requirements if not r.indirect]
    for table, category in (
        (FRAMEWORKS, "frameworks"),
        (ORMS, "orms"),
        (MIGRATIONS, "migrations"),
        (DATABASES, "databases"),
        (QUEUES, "queues"),
    ):
        for requirement in direct:
            for prefix, name in table.items():
                if _matches(requirement.module, prefix):
                    evidence = Evidence(MANIFEST, requirement.line, requirement.text)
                    detail = {"module": requirement.module}
                    if category == "migrations":
                        detail.update(_migration_location(files, name))
                    profile.add(category, Fact(name, (evidence,), detail))

    if not profile.frameworks:
        _detect_net_http(files, profile)

    profile.add("test_runners", Fact("go test", (manifest_evidence,)))
    for config in GOLANGCI_CONFIGS:
        if files.exists(config):
            profile.add("linters", Fact("golangci-lint", (Evidence(config),)))

    if profile.language is not None and profile.language.name == "go":
        _add_step(profile, VerifyStep.from_cmd("lint", "go vet ./...", manifest_evidence, skip_if_missing="go"))
        _add_step(profile, VerifyStep.from_cmd("tests", "go test ./...", manifest_evidence, skip_if_missing="go"))


def _source_files(files: ProjectFiles, pattern: str) -> list[str]:
    """Project files, not vendored or test-data copies of other modules."""
    return [path for path in files.glob(pattern) if not {"vendor", "testdata"} & set(path.split("/")[:-1])]


def _migration_location(files: ProjectFiles, tool: str) -> dict[str, str]:
    if tool == "goose":
        for path in _source_files(files, "**/*.sql")[:500]:
            text = files.read_text(path, max_bytes=256_000)
            if text is not None and GOOSE_ANNOTATION.search(text):
                return {"location": posixpath.dirname(path) or "."}
    else:
        for path in _source_files(files, "**/*.up.sql"):
            return {"location": posixpath.dirname(path) or "."}
    for folder in ("migrations", "db/migrations", "database/migrations", "sql/migrations"):
        if files.dir_exists(folder):
            return {"location": folder}
    return {}


def _detect_net_http(files: ProjectFiles, profile: StackProfile) -> None:
    """The standard library server counts only when code both imports
    net/http and serves with it: an HTTP client alone is not a web app."""
    for path in _source_files(files, "**/*.go")[:2000]:
        if path.endswith("_test.go"):
            continue
        text = files.read_text(path, max_bytes=512_000)
        if text is None or '"net/http"' not in text:
            continue
        alias = _net_http_alias(text)
        if alias is None:
            continue
        call = re.compile(rf"(?<![\w.]){re.escape(alias)}\.(?:HandleFunc|ListenAndServe(?:TLS)?|NewServeMux)\s*\(")
        for number, line in enumerate(text.splitlines(), start=1):
            if line.lstrip().startswith("//"):
                continue
            if call.search(line):
                profile.add(
                    "frameworks", Fact("net/http", (Evidence(path, number, line.strip()[:200]),), {"stdlib": True})
                )
                return


def _net_http_alias(text: str) -> str | None:
    """The name code uses for net/http in this file, None when it is only
    imported for side effects (``_``) or dot-imported."""
    for line in text.splitlines():
        found = NET_HTTP_IMPORT.match(line)
        if found is None:
            continue
        alias = found.group("alias")
        if alias in ("_", "."):
            return None
        return alias or "http"
    return None


def _add_step(profile: StackProfile, step: VerifyStep) -> None:
    if any(existing.name == step.name and existing.cmd == step.cmd for existing in profile.verify):
        return
    profile.verify.append(step)
