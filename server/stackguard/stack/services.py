"""Backing services (databases, caches, brokers) from the root's compose files.

The YAML is composed into nodes, never constructed: nodes carry line marks
for evidence, and aliases stay shared references, so an alias bomb costs
nothing because only ``services.<name>.image`` is ever visited.
"""

from __future__ import annotations

import re

import yaml

from .files import ProjectFiles
from .model import Evidence, Fact, StackProfile

COMPOSE_FILE = re.compile(r"^(?:docker-)?compose(?:\.[\w.-]+)?\.ya?ml$")

# Last segment of an image's repository → (category, fact name).
IMAGES = {
    "postgres": ("databases", "postgresql"),
    "postgresql": ("databases", "postgresql"),
    "postgis": ("databases", "postgresql"),
    "timescaledb": ("databases", "postgresql"),
    "timescaledb-ha": ("databases", "postgresql"),
    "mysql": ("databases", "mysql"),
    "mysql-server": ("databases", "mysql"),
    "mariadb": ("databases", "mysql"),
    "mongo": ("databases", "mongodb"),
    "mongodb": ("databases", "mongodb"),
    "mongodb-community-server": ("databases", "mongodb"),
    "redis": ("databases", "redis"),
    "redis-stack": ("databases", "redis"),
    "redis-stack-server": ("databases", "redis"),
    "valkey": ("databases", "redis"),
    "keydb": ("databases", "redis"),
    "memcached": ("databases", "memcached"),
    "elasticsearch": ("databases", "elasticsearch"),
    "rabbitmq": ("queues", "rabbitmq"),
    "kafka": ("queues", "kafka"),
    "cp-kafka": ("queues", "kafka"),
    "nats": ("queues", "nats"),
}
# ``${VAR:-default}`` / ``${VAR-default}``: the default is what runs when unset.
INTERPOLATION = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*:?-(?P<default>[^}]*)\}")
IMAGE_LINE = re.compile(r"""^\s*image\s*:\s*["']?(?P<image>[^"'\s#]+)""")
MAX_MERGE_DEPTH = 5


def compose_files(files: ProjectFiles) -> list[str]:
    """Compose files at the root (not in subfolders, which belong to other
    roots or are examples), the base files before the overrides."""
    found = [path for path in files.relative if "/" not in path and COMPOSE_FILE.match(path)]
    return sorted(found, key=lambda path: (path.count(".") > 1, path))


def detect(files: ProjectFiles, profile: StackProfile) -> None:
    for path in compose_files(files):
        text = files.read_text(path)
        if path not in profile.manifests:
            profile.manifests.append(path)
        if text is None:
            continue
        for service, image, evidence in _images(files, path, text):
            found = classify_image(image)
            if found is None:
                continue
            category, name = found
            detail = {"image": image, "service": service} if service else {"image": image}
            profile.add(category, Fact(name, (evidence,), detail))


def classify_image(image: str) -> tuple[str, str] | None:
    """(category, name) for an image reference such as
    ``docker.io/library/postgres:16-alpine`` or ``bitnami/kafka@sha256:…``."""
    reference = image.strip().split("@", 1)[0]
    parts = [part for part in reference.split("/") if part]
    if not parts:
        return None
    if len(parts) > 1 and ("." in parts[0] or ":" in parts[0] or parts[0] == "localhost"):
        parts = parts[1:]  # registry host
    repository = parts[-1].split(":", 1)[0].lower()
    return IMAGES.get(repository)


def _images(files: ProjectFiles, path: str, text: str) -> list[tuple[str, str, Evidence]]:
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 0
        column = mark.column + 1 if mark is not None else 0
        files.problem(
            path, f"invalid YAML: {exc.problem or exc}; images were read line by line", line=line, column=column
        )
        return _images_by_line(path, text)
    except (yaml.YAMLError, RecursionError) as exc:
        files.problem(path, f"invalid YAML: {exc}; images were read line by line")
        return _images_by_line(path, text)
    if root is None:
        return []
    services = _value(root, "services")
    if not isinstance(services, yaml.MappingNode):
        if services is not None:
            files.problem(path, '"services" should be a mapping of service names', severity="warning")
        return []
    lines = text.splitlines()
    found = []
    for key, service in services.value:
        if not isinstance(key, yaml.ScalarNode):
            continue
        image = _value(service, "image")
        if not isinstance(image, yaml.ScalarNode) or not isinstance(image.value, str):
            continue
        reference = _interpolate(image.value)
        if reference is None:
            continue
        line = image.start_mark.line + 1
        line_text = lines[line - 1].strip()[:200] if line <= len(lines) else ""
        found.append((str(key.value), reference, Evidence(path, line, line_text)))
    return found


def _value(mapping: yaml.Node, key: str, depth: int = 0) -> yaml.Node | None:
    """The value under ``key``, following ``<<`` merge keys a few levels."""
    if not isinstance(mapping, yaml.MappingNode) or depth > MAX_MERGE_DEPTH:
        return None
    merged: list[yaml.Node] = []
    for key_node, value_node in mapping.value:
        if not isinstance(key_node, yaml.ScalarNode):
            continue
        if key_node.value == key and key_node.tag != "tag:yaml.org,2002:merge":
            return value_node
        if key_node.tag == "tag:yaml.org,2002:merge" or key_node.value == "<<":
            merged.extend(value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node])
    for source in merged:
        found = _value(source, key, depth + 1)
        if found is not None:
            return found
    return None


def _interpolate(image: str) -> str | None:
    """The image compose would run with no variables set; None when that
    cannot be known (``${IMAGE}`` without a default)."""
    resolved = INTERPOLATION.sub(lambda match: match.group("default"), image)
    if "$" in resolved or not resolved.strip():
        return None
    return resolved.strip()


def _images_by_line(path: str, text: str) -> list[tuple[str, str, Evidence]]:
    found = []
    for number, line in enumerate(text.splitlines(), start=1):
        match = IMAGE_LINE.match(line)
        if match is None:
            continue
        reference = _interpolate(match.group("image"))
        if reference is not None:
            found.append(("", reference, Evidence(path, number, line.strip()[:200])))
    return found
