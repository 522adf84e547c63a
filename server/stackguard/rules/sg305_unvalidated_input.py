"""A route handler uses the raw request body or query string as data instead of a validated schema.

## What it does
Flags route handlers that read the request's raw input —
`await request.json()`, `await request.form()`, `await request.body()`,
`request.get_json()`, `request.json`, `request.form`, `request.values`,
`request.data`, `request.POST`, `request.body` (Django), `await request.post()`
(aiohttp) — and use it as data: index into it, pass it on (`User(**data)`,
`Model.objects.create(**request.POST)`, `service.create(data)`), return it.
Raw query strings count too when passed on whole (`dict(request.args)`,
`filter(**request.GET.dict())`) or read field by field beyond two
parameters.

Stays quiet when the value goes straight into validation: a Pydantic model
(`Item(**data)`, `ItemIn.model_validate(data)`, a `TypeAdapter`), a
marshmallow `schema.load(...)`, a DRF serializer (`Serializer(data=request.data)`),
a Django form (`LoginForm(request.POST)`), cattrs `structure`; on a raw body
read to check a webhook signature (`stripe.Webhook.construct_event(payload, …)`,
`hmac.compare_digest`); and on one or two documented query parameters
(`request.args.get("page", type=int)`, `request.query_params.get("q")`).

## Why is this bad?
A raw body is whatever the client sent: missing fields, extra fields, wrong
types, a string where a number belongs, a 10 MB array. Code that indexes into
it fails with a 500 on the first malformed request, and code that passes it
on (`User(**data)`) lets the client set fields it should not (`is_admin`,
`owner_id`: mass assignment). A declared schema validates types and bounds
in one place, rejects the rest with a 422 and a clear message, and documents
the endpoint (OpenAPI).

## Example
```python
@router.post("/items")
async def create_item(request: Request, session: SessionDep):
    data = await request.json()
    item = Item(name=data["name"], price=data["price"], owner_id=data["owner_id"])
    ...
```

## Use instead
```python
class ItemCreate(BaseModel):
    name: str = Field(min_length=1, max_length=255)
    price: Decimal = Field(gt=0)


@router.post("/items")
async def create_item(item_in: ItemCreate, session: SessionDep, user: CurrentUser):
    return items_service.create(session, item_in, owner=user)
```

## References
- OWASP: [Input Validation Cheat Sheet](https://cheatsheetseries.owasp.org/cheatsheets/Input_Validation_Cheat_Sheet.html)
- OWASP: [Mass Assignment Cheat Sheet](https://cheatsheetseries.owasp.org/cheatsheets/Mass_Assignment_Cheat_Sheet.html)
- FastAPI: [Request Body](https://fastapi.tiangolo.com/tutorial/body/); DRF: [Serializers](https://www.django-rest-framework.org/api-guide/serializers/)
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field

from ..analysis.semantics import (
    FunctionNode,
    RouteHandler,
    callee_name,
    dotted_name,
    enclosing_function,
    walk_function_body,
)
from ._layering import handler_display_name, handler_for_function, handler_framework
from .base import Rule

# Raw reads: method calls and attributes of the request object.
BODY_CALLS = frozenset({"json", "form", "body", "get_json", "post", "text", "read", "get_data", "multipart"})
BODY_ATTRS = frozenset({"json", "form", "values", "data", "POST", "body"})
QUERY_ATTRS = frozenset({"args", "GET", "query_params", "query"})
REQUEST_TYPES = frozenset({"Request", "HttpRequest", "WSGIRequest", "ASGIRequest", "BaseRequest", "HTTPConnection"})
REQUEST_PARAMS = frozenset({"request", "req"})
FLASK_REQUESTS = frozenset({"flask.request", "quart.request", "werkzeug.local.request"})

VALIDATOR_METHODS = frozenset(
    {
        "model_validate", "model_validate_json", "model_validate_strings", "parse_obj", "parse_raw", "parse_obj_as",
        "validate", "validate_python", "validate_json", "load", "is_valid", "structure", "from_dict", "deserialize",
        "validate_data", "validate_payload", "validate_request", "parse", "parse_body",
    }
)
SCHEMA_SUFFIXES = (
    "Schema", "Serializer", "Form", "In", "Input", "Create", "Update", "Patch", "Request", "Payload", "Body", "Params",
    "DTO", "Dto", "Command", "Model", "Args", "Query", "Filter", "Data", "Adapter",
)
SCHEMA_MODULE_HINT = re.compile(r"(?:^|\.)(?:schemas?|serializers?|forms|dtos?|validators?|pydantic|payloads?|requests?|inputs?)(?:\.|$)")
SIGNATURE_HINT = re.compile(r"signature|webhook|construct_event|compare_digest|hmac|verify|signed", re.IGNORECASE)
NEUTRAL_CALLS = frozenset({"len", "bool", "isinstance", "type", "repr", "print", "id", "hash"})
LOG_RECEIVERS = frozenset({"log", "logger", "logging", "_log", "_logger", "structlog"})
SUGGESTIONS = {
    "fastapi": "a Pydantic model parameter",
    "starlette": "a Pydantic model validated on entry",
    "litestar": "a typed `data` parameter (dataclass or Pydantic model)",
    "flask": "a schema validated on entry (Pydantic, marshmallow, flask-smorest)",
    "django": "a Django Form",
    "drf": "a Serializer",
    "aiohttp": "a Pydantic model validated on entry",
}
_READ_ATTRS = BODY_CALLS | BODY_ATTRS | QUERY_ATTRS
# More single query parameters than this, read one by one, are parsing by hand.
MAX_SINGLE_QUERY_PARAMS = 2


@dataclass
class _Read:
    node: ast.expr  # the read expression (call or attribute)
    source: str  # body | query
    text: str
    uses: list[str] = field(default_factory=list)  # validated | neutral | data | single:<key>


class UnvalidatedInput(Rule):
    code = "SG305"
    name = "unvalidated-input"
    default_severity = "warning"
    layers = frozenset({"router"})
    # Reads are collected during the pass (cheap: an attribute name and a
    # plain receiver); judged in end(), when every node has its parent link.
    node_types = (ast.Attribute,)
    scope = "statement"

    def begin(self) -> None:
        self._candidates: list[ast.Attribute] = []

    def visit(self, node: ast.AST) -> None:
        assert isinstance(node, ast.Attribute)
        if node.attr in _READ_ATTRS and isinstance(node.value, (ast.Name, ast.Attribute)):
            self._candidates.append(node)

    def end(self) -> None:
        by_function: dict[int, tuple[FunctionNode, list[ast.Attribute]]] = {}
        for attribute in self._candidates:
            func = enclosing_function(attribute)
            if func is not None:
                by_function.setdefault(id(func), (func, []))[1].append(attribute)
        for func, attributes in by_function.values():
            handler = handler_for_function(self.ctx, func)
            if handler is None:
                continue
            requests = self._request_names(func)
            reads = [r for a in attributes if (r := self._raw_read(a, _parent(a), requests)) is not None]
            if not reads:
                continue
            webhook = "webhook" in func.name.lower() or "hook" in (handler.path or "").lower()
            self._judge(func, handler, reads, webhook)

    # -- finding raw reads -----------------------------------------------------

    def _request_names(self, func: FunctionNode) -> set[str]:
        names: set[str] = set()
        args = [*func.args.posonlyargs, *func.args.args, *func.args.kwonlyargs]
        for arg in args:
            annotation = dotted_name(arg.annotation) if arg.annotation is not None else None
            if arg.arg in REQUEST_PARAMS or (annotation and annotation.rsplit(".", 1)[-1] in REQUEST_TYPES):
                names.add(arg.arg)
        return names

    def _is_request(self, expr: ast.expr, requests: set[str]) -> bool:
        if isinstance(expr, ast.Name):
            return expr.id in requests or self.ctx.imports.names.get(expr.id) in FLASK_REQUESTS
        # self.request in class-based views
        return isinstance(expr, ast.Attribute) and expr.attr == "request" and isinstance(expr.value, ast.Name) and expr.value.id == "self"

    def _raw_read(self, node: ast.Attribute, parent: ast.AST | None, requests: set[str]) -> _Read | None:
        if isinstance(parent, ast.Call) and parent.func is node:
            if node.attr in BODY_CALLS and self._is_request(node.value, requests):
                if node.attr == "post" and parent.args:
                    return None  # not aiohttp's request.post()
                return _Read(parent, "body", self.ctx.source.segment(parent))
            return None
        if not self._is_request(node.value, requests):
            # request.rel_url.query (aiohttp)
            if node.attr == "query" and isinstance(node.value, ast.Attribute) and node.value.attr == "rel_url" and self._is_request(node.value.value, requests):
                return _Read(node, "query", self.ctx.source.segment(node))
            return None
        if node.attr in BODY_ATTRS:
            return _Read(node, "body", self.ctx.source.segment(node))
        if node.attr in QUERY_ATTRS:
            return _Read(node, "query", self.ctx.source.segment(node))
        return None

    # -- judging uses ------------------------------------------------------------

    def _judge(
        self,
        func: FunctionNode,
        handler: RouteHandler,
        reads: list[_Read],
        webhook: bool,
    ) -> None:
        names: dict[str, list[ast.Name]] | None = None
        for read in reads:
            use_site: ast.AST = read.node
            parent = _parent(use_site)
            # `await request.json()`, `request.get_json(silent=True) or {}`
            while isinstance(parent, ast.Await) or (isinstance(parent, ast.BoolOp) and isinstance(parent.op, ast.Or)):
                use_site, parent = parent, _parent(parent)
            variable = _assigned_name(parent, use_site)
            if variable is not None:
                if names is None:  # the function's reads of each name, gathered once
                    names = {}
                    for child in walk_function_body(func):
                        if isinstance(child, ast.Name) and isinstance(child.ctx, ast.Load):
                            names.setdefault(child.id, []).append(child)
                for name in names.get(variable, []):
                    read.uses.append(self._use(name, webhook))
            else:
                read.uses.append(self._use(use_site, webhook))
        # A body field read by hand (`request.form["email"]`) is unvalidated too.
        body = [r for r in reads if r.source == "body" and any(u == "data" or u.startswith("single:") for u in r.uses)]
        query_data = [r for r in reads if r.source == "query" and "data" in r.uses]
        single_keys: dict[str, _Read] = {}
        for read in reads:
            if read.source != "query":
                continue
            for use in read.uses:
                if use.startswith("single:"):
                    single_keys.setdefault(use[7:], read)
        for source, flagged in (("body", body), ("query", query_data)):
            if flagged:
                self._report(func, handler, flagged[0], source, len(flagged))
        if not query_data and len(single_keys) > MAX_SINGLE_QUERY_PARAMS:
            first = min(single_keys.values(), key=lambda r: (r.node.lineno, r.node.col_offset))
            self._report(func, handler, first, "query_fields", len(single_keys))

    def _use(self, node: ast.AST, webhook: bool) -> str:
        """How one use of the raw value treats it: ``validated``, ``neutral``,
        ``data``, or ``single:<key>`` for one field read with a literal key."""
        parent = _parent(node)
        if isinstance(parent, ast.Await):
            node, parent = parent, _parent(parent)
        if isinstance(parent, ast.Attribute) and parent.attr in ("get", "getlist", "get_one", "getone") and parent.value is node:
            call = _parent(parent)
            if isinstance(call, ast.Call) and call.func is parent and call.args:
                key = call.args[0]
                if isinstance(key, ast.Constant) and isinstance(key.value, str):
                    return f"single:{key.value}" if not self._inside_validation(call) else "validated"
            return "data"
        if isinstance(parent, ast.Attribute) and parent.attr in ("dict", "to_dict", "copy", "items", "keys", "values", "lists"):
            call = _parent(parent)
            if isinstance(call, ast.Call):
                return self._use(call, webhook)
        if isinstance(parent, ast.Subscript) and parent.value is node:
            key = parent.slice
            if isinstance(key, ast.Constant) and isinstance(key.value, str):
                return f"single:{key.value}" if not self._inside_validation(parent) else "validated"
            return "data"
        if isinstance(parent, ast.keyword):
            call = _parent(parent)
            if isinstance(call, ast.Call):
                return self._call_use(call, webhook, keyword=parent.arg)
            return "data"
        if isinstance(parent, ast.Starred):
            call = _parent(parent)
            return self._call_use(call, webhook) if isinstance(call, ast.Call) else "data"
        if isinstance(parent, ast.Call) and parent.func is not node:
            return self._call_use(parent, webhook)
        if isinstance(parent, (ast.Compare, ast.BoolOp, ast.UnaryOp, ast.If, ast.IfExp, ast.Assert, ast.While)):
            return "neutral"
        return "data"

    def _inside_validation(self, node: ast.AST) -> bool:
        """``Schema(email=request.form["email"], …)``: the field goes straight into a schema."""
        parent = _parent(node)
        if isinstance(parent, ast.keyword):
            parent = _parent(parent)
        return isinstance(parent, ast.Call) and self._call_use(parent, False) == "validated"

    def _call_use(self, call: ast.Call, webhook: bool, keyword: str | None = None) -> str:
        func = call.func
        callee = dotted_name(func) or ""
        last = callee_name(func) or ""
        if last in VALIDATOR_METHODS:
            return "validated"
        if SIGNATURE_HINT.search(callee) or webhook:
            return "validated"
        if last in NEUTRAL_CALLS or callee.split(".", 1)[0] in LOG_RECEIVERS:
            return "neutral"
        if last[:1].isupper() and self._is_schema_class(call.func, last):
            return "validated"
        if keyword == "data" and last.endswith(("Serializer", "Form", "Schema")):
            return "validated"
        return "data"

    def _is_schema_class(self, func: ast.expr, last: str) -> bool:
        if last in self.ctx.model_names:
            return False  # an ORM model: mass assignment, not validation
        if last.endswith(SCHEMA_SUFFIXES) and last not in ("Request", "HttpRequest"):
            return True
        qualified = self.ctx.imports.resolve(func) or ""
        return bool(SCHEMA_MODULE_HINT.search(qualified.rsplit(".", 1)[0])) if qualified else False

    # -- reporting -------------------------------------------------------------------

    def _report(self, func: FunctionNode, handler: RouteHandler, read: _Read, source: str, count: int) -> None:
        framework = handler_framework(handler, self.ctx.imports)
        name, _owner = handler_display_name(func)
        suggestion = SUGGESTIONS.get(framework, "a validated schema")
        text = read.text or "request"
        if source == "query_fields":
            message = (
                f"`{name}` reads {count} query parameters one by one from `{text}`: "
                f"declare them as {suggestion} so they are typed and documented"
            )
        else:
            what = "request body" if source == "body" else "query string"
            times = f", {count} reads" if count > 1 else ""
            message = f"`{name}` uses the raw {what} (`{text}`{times}) as data without validation: declare {suggestion}"
        self.report(
            read.node,
            message,
            data={"handler": func.name, "source": source, "expression": text, "framework": framework, "count": count},
        )


def _assigned_name(parent: ast.AST | None, value: ast.AST) -> str | None:
    if isinstance(parent, ast.Assign) and parent.value is value and len(parent.targets) == 1 and isinstance(parent.targets[0], ast.Name):
        return parent.targets[0].id
    if isinstance(parent, ast.AnnAssign) and parent.value is value and isinstance(parent.target, ast.Name):
        return parent.target.id
    if isinstance(parent, ast.NamedExpr) and parent.value is value:
        return parent.target.id
    return None


def _parent(node: ast.AST) -> ast.AST | None:
    return getattr(node, "sg_parent", None)
