"""The project's own conventions, read from the workspace index, so generated
code looks like the code around it:

* where services and repositories live: a folder of modules
  (``app/services/items.py``), a module per resource package
  (``items/service.py``), ``item_service.py`` files, one ``services.py``
  per Django app (the HackSoft styleguide), or one module for everything;
* module functions or ``<Resource>Service`` / ``<Model>Repository`` classes;
* how routers import services (``from app.services import books as
  book_service``).

When the project has no services (or repositories) yet, the new module goes
next to the layer folders it does have: ``app/routers/users.py`` →
``app/services/users.py``; ``blog/views.py`` → ``blog/services.py``.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from ..analysis.index import WorkspaceIndex
from ..analysis.summary import ModelInfo
from .base import ProjectView, camel, module_of, plural, singular, snake

SERVICE_FOLDERS = ("services", "service", "use_cases", "usecases")
REPOSITORY_FOLDERS = ("repositories", "repository", "repos", "crud", "dao")
# Folders that hold routers: the services folder goes next to them.
ROUTER_FOLDERS = frozenset({"routers", "routes", "api", "apis", "endpoints", "views", "viewsets", "handlers", "controllers"})
# Router module names that say nothing about the resource.
GENERIC_ROUTER_STEMS = frozenset(
    {"views", "viewsets", "routes", "router", "routers", "api", "apis", "endpoints", "handlers", "controllers", "main", "app", "urls", "__init__", "server", "application"}
)
_SERVICE_CLASS = re.compile(r"^[A-Z]\w*Service$")
_REPOSITORY_CLASS = re.compile(r"^[A-Z]\w*(Repository|Repo|DAO|Dao)$")


@dataclass(frozen=True)
class ModuleTarget:
    """Where generated code goes: an existing module (extended) or a new one."""

    relative: str
    module: str
    exists: bool
    style: str  # "function" | "class"
    class_name: str | None = None
    # Package ``__init__.py`` files to create with a new module.
    init_files: tuple[str, ...] = ()


@dataclass(frozen=True)
class Conventions:
    django: bool
    service_files: tuple[str, ...]
    service_style: str  # "function" | "class"
    repository_files: tuple[str, ...]
    repository_style: str
    # How routers name an imported service module: "{singular}_service",
    # "{plural}_service", "{module}" or "" (unknown: we pick "{plural}_service").
    service_alias: str


def detect_conventions(project: ProjectView) -> Conventions:
    index = project.index
    services = tuple(rel for rel in index.files_in_layer("service") if not rel.endswith("__init__.py"))
    repositories = tuple(rel for rel in index.files_in_layer("repository") if not rel.endswith("__init__.py"))
    django = any(model.orm == "django" for model in index.models.values()) or any(
        route.framework in ("django", "drf") for route in index.routes
    )
    return Conventions(
        django=django,
        service_files=services,
        service_style=_style(index, services, _SERVICE_CLASS),
        repository_files=repositories,
        repository_style=_style(index, repositories, _REPOSITORY_CLASS) if repositories else "class",
        service_alias=_service_alias(index),
    )


def _style(index: WorkspaceIndex, files: tuple[str, ...], pattern: re.Pattern[str]) -> str:
    with_class = sum(1 for rel in files if any(pattern.match(name) for name in index.summaries[rel].symbols))
    return "class" if files and with_class * 2 >= len(files) else "function"


def _service_alias(index: WorkspaceIndex) -> str:
    """The alias routers give imported service modules, as a pattern."""
    for relative in index.files_in_layer("router"):
        for record in index.summaries[relative].imports:
            if not record.is_from:
                continue
            for name, bound in zip(record.names, record.bound):
                target = index.resolve_module(f"{record.module}.{name}")
                if target is None or index.layer_of(target) != "service":
                    continue
                stem = target.rsplit("/", 1)[-1][:-3]
                if bound == f"{singular(stem)}_service":
                    return "{singular}_service"
                if bound == f"{stem}_service":
                    return "{plural}_service"
                if bound == stem:
                    return "{module}"
    return ""


def class_names_in(index: WorkspaceIndex, relative: str, pattern: re.Pattern[str]) -> list[str]:
    summary = index.summaries.get(relative)
    return [name for name in (summary.symbols if summary else {}) if pattern.match(name)]


def django_app_of(project: ProjectView, relative: str) -> str | None:
    """The Django app folder holding ``relative`` (the nearest folder with a
    ``models.py``/``apps.py``)."""
    parts = relative.split("/")[:-1]
    while parts:
        folder = "/".join(parts)
        if any(f"{folder}/{name}" in project.index.summaries for name in ("models.py", "apps.py", "models/__init__.py")):
            return folder
        parts.pop()
    return None


def resource_of(router_relative: str, model_names: list[str]) -> str:
    """The resource a router module serves, as a plural snake name: its
    module name (``routers/users.py`` → ``users``), else the first model its
    code uses, else its folder."""
    parts = router_relative[:-3].split("/") if router_relative.endswith(".py") else router_relative.split("/")
    stem = parts[-1]
    if stem not in GENERIC_ROUTER_STEMS:
        for suffix in ("_router", "_routes", "_views", "_view", "_api", "_endpoints", "_controller", "_handlers"):
            if stem.endswith(suffix) and len(stem) > len(suffix):
                stem = stem[: -len(suffix)]
                break
        return stem if stem.endswith("s") else plural(stem)
    if model_names:
        return plural(snake(model_names[0]))
    folders = [p for p in parts[:-1] if p not in ROUTER_FOLDERS]
    return folders[-1] if folders else "app"


def service_target(project: ProjectView, conventions: Conventions, router_relative: str, resource: str) -> ModuleTarget:
    index = project.index
    class_name = f"{camel(singular(resource))}Service"
    app = django_app_of(project, router_relative) if conventions.django else None
    if app is not None:
        package = f"{app}/services"
        if project.is_dir(package):
            return _target(project, f"{package}/{resource}.py", conventions.service_style, class_name, _SERVICE_CLASS)
        return _target(project, f"{app}/services.py" if app else "services.py", conventions.service_style, class_name, _SERVICE_CLASS)
    existing = _nearest(router_relative, [rel for rel in index.service_modules_for(resource) if not rel.endswith("__init__.py")])
    if existing is not None:
        return _target(project, existing, conventions.service_style, class_name, _SERVICE_CLASS)
    relative = _layout_path(project, conventions.service_files, router_relative, resource, SERVICE_FOLDERS, "service")
    return _target(project, relative, conventions.service_style, class_name, _SERVICE_CLASS)


def repository_target(project: ProjectView, conventions: Conventions, model: ModelInfo) -> ModuleTarget:
    index = project.index
    class_name = f"{model.name}Repository"
    resource = plural(snake(model.name))
    for relative in index.repository_modules_for(model.name):
        if relative.endswith("__init__.py"):
            continue
        names = class_names_in(index, relative, _REPOSITORY_CLASS)
        if class_name in names or not names:
            return _target(project, relative, conventions.repository_style, class_name, _REPOSITORY_CLASS)
    if conventions.django:
        app = django_app_of(project, model.relative) or model.relative.rsplit("/", 1)[0]
        package = f"{app}/repositories"
        if project.is_dir(package):
            return _target(project, f"{package}/{resource}.py", conventions.repository_style, class_name, _REPOSITORY_CLASS)
        return _target(project, f"{app}/repositories.py", conventions.repository_style, class_name, _REPOSITORY_CLASS)
    relative = _layout_path(project, conventions.repository_files, model.relative, resource, REPOSITORY_FOLDERS, "repository")
    return _target(project, relative, conventions.repository_style, class_name, _REPOSITORY_CLASS)


def _target(project: ProjectView, relative: str, style: str, class_name: str, pattern: re.Pattern[str]) -> ModuleTarget:
    if project.exists(relative):
        classes = class_names_in(project.index, relative, pattern)
        summary = project.index.summaries.get(relative)
        if class_name in classes or (classes and style == "class"):
            style = "class"
        elif summary is not None and summary.symbols:
            # A module of functions stays one.
            style = "function"
        return ModuleTarget(relative, module_of(relative), True, style, class_name if style == "class" else None)
    return ModuleTarget(relative, module_of(relative), False, style, class_name if style == "class" else None, _init_files(project, relative))


def _init_files(project: ProjectView, relative: str) -> tuple[str, ...]:
    """``__init__.py`` files for the folders a new module creates, when the
    folder above them is a regular package (has its own ``__init__.py``)."""
    parts = relative.split("/")[:-1]
    needed: list[str] = []
    for depth in range(1, len(parts) + 1):
        folder = "/".join(parts[:depth])
        if project.is_dir(folder):
            continue
        parent = "/".join(parts[: depth - 1])
        parent_is_package = bool(parent) and (project.exists(f"{parent}/__init__.py") or f"{parent}/__init__.py" in needed)
        if parent_is_package:
            needed.append(f"{folder}/__init__.py")
    return tuple(needed)


def _nearest(relative: str, candidates: list[str]) -> str | None:
    if not candidates:
        return None
    return max(candidates, key=lambda rel: (len(os.path.commonprefix([rel, relative])), -rel.count("/")))


def _layout_path(
    project: ProjectView, layer_files: tuple[str, ...], anchor: str, resource: str, folders: tuple[str, ...], kind: str
) -> str:
    """Where a new module for ``resource`` goes, following the layout the
    layer's existing files use; ``anchor`` is the file that asks (a router or
    a models module)."""
    in_folder = [rel for rel in layer_files if len(rel.split("/")) > 1 and rel.split("/")[-2] in folders]
    if in_folder:
        nearest = _nearest(anchor, in_folder)
        assert nearest is not None
        return f"{nearest.rsplit('/', 1)[0]}/{resource}.py"
    named_kind = [rel for rel in layer_files if rel.rsplit("/", 1)[-1] == f"{kind}.py"]
    if named_kind:
        # items/service.py: one module per resource package, next to the anchor.
        folder = anchor.rsplit("/", 1)[0] if "/" in anchor else ""
        return f"{folder}/{kind}.py" if folder else f"{kind}.py"
    suffixed = [rel for rel in layer_files if rel.rsplit("/", 1)[-1].endswith(f"_{kind}.py")]
    if suffixed:
        nearest = _nearest(anchor, suffixed)
        assert nearest is not None
        folder = nearest.rsplit("/", 1)[0] if "/" in nearest else ""
        name = f"{singular(resource)}_{kind}.py"
        return f"{folder}/{name}" if folder else name
    single = [rel for rel in layer_files if rel.rsplit("/", 1)[-1] == f"{folders[0]}.py"]
    if single:
        return _nearest(anchor, single) or single[0]
    parts = anchor.split("/")[:-1]
    if parts and parts[-1] in ROUTER_FOLDERS | {"models"}:
        parts = parts[:-1]
    folder = "/".join(parts)
    if not folder:
        # A single-module app (main.py at the root): one module for the layer.
        return f"{folders[0]}.py"
    return f"{folder}/{folders[0]}/{resource}.py"


def service_alias(conventions: Conventions, target: ModuleTarget) -> str:
    """The name a router binds the service module to."""
    stem = target.relative.rsplit("/", 1)[-1][:-3]
    if stem in ("services", "service", "__init__"):
        return "services" if stem != "service" else "service"
    pattern = conventions.service_alias or "{plural}_service"
    return pattern.format(singular=singular(stem), plural=stem, module=stem)
