"""Import against the layer direction router → service → repository → model.

## What it does
Flags imports that make a lower layer depend on a higher one, or skip the
service layer:

- a **router** importing a **repository** module (routers go through services;
  importing models for response typing and schemas is fine; Django
  `selectors.py` modules are read services in the HackSoft style and may be
  called from APIs; a router-layer module that declares no route handler —
  `api/dependencies/database.py`, exception handlers — is composition root
  and may wire repositories);
- a **repository** importing a **service** or a **router**;
- a **service** importing a **router**;
- a **model** importing a **service**, **router** or **repository**;
- a **service**, **repository** or **model** importing the HTTP side of a web
  framework: `HTTPException`, `Request`, `Response`, `status`, responses and
  routing objects from FastAPI/Starlette/Litestar, `request`/`abort`/`jsonify`
  from Flask, `werkzeug.exceptions`, `django.http`, `django.shortcuts`,
  `django.views`, DRF's `response`/`status`/`exceptions`/`views`…,
  `aiohttp.web`.

Allowed on purpose: dependency-injection markers that make a service
injectable (`fastapi.Depends`, `Annotated` from typing, Litestar's
`Provide`), `BackgroundTasks`, `run_in_threadpool`, `jsonable_encoder`,
Starlette's `Config`/`Secret` settings helpers, Flask's `current_app` and `g`,
`url_for` and `render_template` (e-mail bodies), `werkzeug.security`, DRF
serializers, the aiohttp *client*, and a bare `import fastapi`/`import flask`
(the imported module alone does not say what is used). Imports under
`if TYPE_CHECKING:` are not runtime dependencies and stay quiet.

A project import (absolute or relative) is placed in a layer by the workspace
index when it knows the module, else by the path conventions applied to the
module's dotted name.

## Why is this bad?
Dependencies that point upwards, or that skip a layer, tie the layers
together: a repository that imports a service cannot be reused without it, a
router that talks to repositories duplicates the service's rules, and a
service that raises `HTTPException` or reads the `Request` can only run
inside a web request — not from a worker, a CLI or a plain unit test.

## Example
```python
# app/routers/items.py
from app.repositories.items import ItemRepository

# app/services/items.py
from fastapi import HTTPException, status
```

## Use instead
```python
# app/routers/items.py
from app.services.items import ItemService

# app/services/items.py
from app.errors import ItemNotFound
```

## References
- Cosmic Python: [Dependency inversion and layers](https://www.cosmicpython.com/book/chapter_02_repository.html)
- HackSoft Django Styleguide: [Services](https://github.com/HackSoftware/Django-Styleguide#services)
"""

from __future__ import annotations

import ast

from ._layering import declares_handlers, import_base, in_type_checking_block, module_layer
from .base import Rule, Span

# (importing layer, imported layer) → what to say about it.
FORBIDDEN = {
    ("router", "repository"): "call it through a service",
    ("repository", "service"): "repositories must not depend on services",
    ("repository", "router"): "repositories must not depend on the HTTP layer",
    ("service", "router"): "services must not depend on the HTTP layer",
    ("model", "service"): "models must not depend on the layers above them",
    ("model", "router"): "models must not depend on the layers above them",
    ("model", "repository"): "models must not depend on the layers above them",
}
LAYER_TITLES = {"router": "Router", "service": "Service", "repository": "Repository", "model": "Model"}
# Importing layers that some import can violate, worked out once, not per import.
_LAYERS_WITH_RULES = frozenset(source for source, target in FORBIDDEN if target in LAYER_TITLES)

# Web frameworks whose whole API is HTTP-side except these DI/utility names.
WEB_ROOTS_ALLOWLISTED = ("fastapi", "starlette", "litestar", "starlite")
WEB_ALLOWED = frozenset(
    {
        "fastapi.Depends",
        "fastapi.params.Depends",
        "fastapi.BackgroundTasks",
        "fastapi.background.BackgroundTasks",
        "starlette.background.BackgroundTasks",
        "starlette.datastructures.Secret",
        "starlette.datastructures.CommaSeparatedStrings",
        "litestar.di.Provide",
        "litestar.params.Dependency",
        "starlite.Provide",
    }
)
WEB_ALLOWED_MODULES = (
    "fastapi.concurrency",
    "starlette.concurrency",
    "fastapi.encoders",
    "starlette.config",
    "fastapi.testclient",
    "starlette.testclient",
    "litestar.di",
    "litestar.testing",
)
# Frameworks where only these modules/names are the HTTP side.
WEB_DENIED = frozenset(
    {
        "flask.request",
        "flask.abort",
        "flask.jsonify",
        "flask.make_response",
        "flask.redirect",
        "flask.session",
        "flask.Response",
        "flask.Request",
        "flask.Blueprint",
        "flask.Flask",
        "flask.send_file",
        "flask.send_from_directory",
        "flask.stream_with_context",
        "quart.request",
        "quart.abort",
        "quart.jsonify",
        "quart.make_response",
        "quart.Response",
        "rest_framework.serializers.ValidationError",
    }
)
WEB_DENIED_MODULES = (
    "flask.views",
    "flask.wrappers",
    "werkzeug.exceptions",
    "werkzeug.wrappers",
    "django.http",
    "django.shortcuts",
    "django.views",
    "rest_framework.response",
    "rest_framework.status",
    "rest_framework.exceptions",
    "rest_framework.views",
    "rest_framework.viewsets",
    "rest_framework.generics",
    "rest_framework.mixins",
    "rest_framework.decorators",
    "rest_framework.request",
    "rest_framework.routers",
    "rest_framework.permissions",
    "rest_framework.authentication",
    "rest_framework.throttling",
    "aiohttp.web",
    "aiohttp.web_exceptions",
    "aiohttp.web_request",
    "aiohttp.web_response",
    "aiohttp.web_urldispatcher",
)
# A bare `import fastapi` does not say what the module uses.
BARE_ROOTS = frozenset({"fastapi", "starlette", "litestar", "starlite", "flask", "quart", "django", "rest_framework", "aiohttp", "werkzeug"})
EXCEPTION_HINTS = ("Exception", "Error", "Http404", "abort", "_or_404", "exceptions", "NotFound", "Forbidden", "Unauthorized", "BadRequest", "Conflict")


WEB_ROOTS = frozenset({*WEB_ROOTS_ALLOWLISTED, "flask", "quart", "werkzeug", "django", "rest_framework", "aiohttp"})
_ALLOWED_MODULES = frozenset(WEB_ALLOWED_MODULES)
_DENIED_MODULES = frozenset(WEB_DENIED_MODULES)


def _prefixes(qualified: str) -> list[str]:
    parts = qualified.split(".")
    return [".".join(parts[:end]) for end in range(1, len(parts) + 1)]


def web_framework_name(qualified: str) -> bool:
    """Whether ``qualified`` (module or module.name) is the HTTP side of a web framework."""
    root = qualified.split(".", 1)[0]
    if root not in WEB_ROOTS or qualified in BARE_ROOTS:
        return False
    prefixes = _prefixes(qualified)
    if root in WEB_ROOTS_ALLOWLISTED:
        return qualified not in WEB_ALLOWED and not any(p in _ALLOWED_MODULES for p in prefixes)
    return qualified in WEB_DENIED or any(p in _DENIED_MODULES for p in prefixes)


class LayerImportViolation(Rule):
    code = "SG103"
    name = "layer-import-violation"
    default_severity = "warning"
    # Tests, migrations, schemas, config and scripts may import anything.
    layers = frozenset({"router", "service", "repository", "model"})
    node_types = (ast.Import, ast.ImportFrom)
    scope = "statement"
    fix_title = None

    def visit(self, node: ast.AST) -> None:
        assert isinstance(node, (ast.Import, ast.ImportFrom))
        if in_type_checking_block(self.ctx, node):
            return
        # (module, name or None) per alias that is not a web framework import.
        targets: list[tuple[str, str | None, ast.alias]] = []
        framework: dict[str, list[ast.alias]] = {}
        if isinstance(node, ast.Import):
            for alias in node.names:
                if web_framework_name(alias.name):
                    framework.setdefault(alias.name, []).append(alias)
                else:
                    targets.append((alias.name, None, alias))
        else:
            base = import_base(self.ctx, node)
            if not base:
                return
            for alias in node.names:
                qualified = base if alias.name == "*" else f"{base}.{alias.name}"
                if web_framework_name(qualified) or (alias.name == "*" and web_framework_name(base)):
                    framework.setdefault(base, []).append(alias)
                else:
                    targets.append((base, alias.name, alias))
        layer = self.ctx.layer
        if layer != "router":
            for module, aliases in framework.items():
                self._report_framework(node, layer, module, aliases)
        if layer not in _LAYERS_WITH_RULES:
            return
        if layer == "router" and not declares_handlers(self.ctx):
            # A module under api/ that handles no request (dependency
            # providers, error handlers, the router that includes the others)
            # is the composition root: it may wire repositories.
            return
        self._report_layers(layer, targets)

    def _report_layers(self, layer: str, targets: list[tuple[str, str | None, ast.alias]]) -> None:
        # One finding per imported module, spanning its aliases.
        reported: dict[str, list[ast.alias]] = {}
        layers: dict[str, str] = {}
        for base, name, alias in targets:
            found = module_layer(self.ctx, base, name)
            if found is None:
                continue
            module, target_layer = found
            if (layer, target_layer) not in FORBIDDEN or module == self.ctx.module:
                continue
            if layer == "router" and module.rsplit(".", 1)[-1] == "selectors":
                continue  # HackSoft-style selectors are read services that APIs call
            reported.setdefault(module, []).append(alias)
            layers[module] = target_layer
        for module, aliases in reported.items():
            target_layer = layers[module]
            advice = FORBIDDEN[(layer, target_layer)]
            self.report(
                self._span(aliases),
                f"{LAYER_TITLES[layer]} module imports {target_layer} `{module}`; {advice}",
                data={
                    "module": module,
                    "names": [a.name for a in aliases],
                    "source_layer": layer,
                    "target_layer": target_layer,
                },
            )

    def _report_framework(self, node: ast.Import | ast.ImportFrom, layer: str, module: str, aliases: list[ast.alias]) -> None:
        names = [a.name for a in aliases]
        if isinstance(node, ast.Import):
            what = f"`{module}`"
        else:
            what = f"{', '.join(f'`{n}`' for n in names)} from `{module}`"
        what += ", the HTTP side of the web framework"
        if all(any(hint in n for hint in EXCEPTION_HINTS) for n in (names if isinstance(node, ast.ImportFrom) else [module])):
            advice = "raise a domain exception and let the router map it to HTTP"
        else:
            advice = "keep HTTP concerns in the router and pass plain data in and out"
        self.report(
            self._span(aliases),
            f"{LAYER_TITLES[layer]} module imports {what}; {advice}",
            data={"module": module, "names": names, "source_layer": layer, "target_layer": "web-framework"},
        )

    def _span(self, aliases: list[ast.alias]) -> Span:
        first = self.ctx.span_of(aliases[0])
        last = self.ctx.span_of(aliases[-1])
        return Span(first.line, first.column, last.end_line, last.end_column)
