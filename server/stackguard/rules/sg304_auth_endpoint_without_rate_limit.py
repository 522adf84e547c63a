"""A login, token, registration, password-reset or one-time-code endpoint has no rate limit.

## What it does
Flags route handlers of authentication endpoints — recognised by their path
(`/login`, `/auth/token`, `/signup`, `/password/reset`, `/verify-otp`…) or
their name (`login_for_access_token`, `register_user`, `LoginView.post`…) —
that accept submissions (POST, PUT, PATCH, or a Django view that reads
`request.POST`) and have no rate limiting:

- no limiter decorator on the handler or its view class (`@limiter.limit(…)`
  of slowapi and Flask-Limiter, `@ratelimit(…)` of django-ratelimit,
  `@throttle_classes`, `method_decorator(ratelimit…)`);
- no limiter dependency (`dependencies=[Depends(RateLimiter(times=5, seconds=60))]`,
  a parameter `Depends(rate_limiter)`);
- no DRF `throttle_classes`/`throttle_scope` on the view;
- no call in the body that limits or locks out (`limiter.hit(…)`,
  `check_login_attempts(…)`, `verify_captcha(…)`);
- and no project-wide limiter: default limits or a limiter middleware
  (slowapi `default_limits` / `SlowAPIMiddleware`, Flask-Limiter
  `default_limits`, DRF `DEFAULT_THROTTLE_CLASSES`, a `RateLimitMiddleware`).

A project whose limiter the index cannot inspect (a limiter module outside
the open workspace) is given the benefit of the doubt. Without a workspace
index the rule stays quiet.

## Why is this bad?
Authentication endpoints answer the one question an attacker wants to ask
millions of times: is this password right? Without a limit, credential
stuffing and password spraying run at network speed, a six-digit one-time
code falls to a million requests, registration is open to bots, and reset
endpoints become a way to flood users' inboxes.

## Example
```python
@router.post("/login/access-token")
def login_access_token(session: SessionDep, form: Annotated[OAuth2PasswordRequestForm, Depends()]) -> Token:
    user = crud.authenticate(session=session, email=form.username, password=form.password)
    ...
```

## Use instead
```python
from slowapi import Limiter
from slowapi.util import get_remote_address

limiter = Limiter(key_func=get_remote_address)


@router.post("/login/access-token")
@limiter.limit("5/minute")
def login_access_token(request: Request, session: SessionDep, form: Annotated[OAuth2PasswordRequestForm, Depends()]) -> Token:
    ...
```

## References
- OWASP: [Authentication Cheat Sheet — Protect against automated attacks](https://cheatsheetseries.owasp.org/cheatsheets/Authentication_Cheat_Sheet.html#protect-against-automated-attacks)
- [slowapi](https://slowapi.readthedocs.io/), [Flask-Limiter](https://flask-limiter.readthedocs.io/), [django-ratelimit](https://django-ratelimit.readthedocs.io/), [DRF throttling](https://www.django-rest-framework.org/api-guide/throttling/)
"""

from __future__ import annotations

import ast
import re
from functools import lru_cache
from itertools import pairwise
from pathlib import Path
from typing import Any

from ..analysis.semantics import (
    FunctionNode,
    RouteHandler,
    dotted_name,
    walk_function_body,
)
from ._layering import function_name_span, handler_for_function, handler_framework
from .base import Rule

LIMIT_HINT = re.compile(r"limit|throttl|ratelimit", re.IGNORECASE)
BODY_GUARD_HINT = re.compile(r"limit|throttl|lockout|lock_out|captcha|attempt|brute", re.IGNORECASE)
# Project-wide limits in a limiter module's text.
GLOBAL_LIMIT = re.compile(
    r"default_limits|application_limits|SlowAPIMiddleware|SlowAPIASGIMiddleware|DEFAULT_THROTTLE_CLASSES|"
    r"RateLimitMiddleware|RatelimitMiddleware|RateLimitConfig|add_middleware\([^)]*(?:Limit|Throttl)",
)
SUBMIT_METHODS = frozenset({"POST", "PUT", "PATCH", "ANY"})

_KINDS: tuple[tuple[str, frozenset[str], tuple[tuple[str, str], ...]], ...] = (
    ("login", frozenset({"login", "signin", "logon", "authenticate", "authentication"}), (("sign", "in"), ("log", "in"))),
    ("otp", frozenset({"otp", "2fa", "mfa", "totp", "passcode", "magic"}), (("one", "time"), ("two", "factor"), ("verify", "code"))),
    ("password_reset", frozenset({"password", "passwd", "forgot"}), (("reset", "password"),)),
    ("register", frozenset({"register", "signup", "registration"}), (("sign", "up"),)),
    ("token", frozenset({"token", "tokens", "jwt"}), (("access", "token"),)),
)
# Words that make an auth-looking path or name about something else
# (`/devices/register`, `/push-token`, `/logout`).
_EXCLUDED_WORDS = frozenset(
    {"logout", "signout", "logoff", "revoke", "introspect", "push", "device", "devices", "webhook", "webhooks", "callback", "callbacks", "notification", "notifications", "fcm", "apns", "test"}
)
# A handler *name* only counts when every word of it belongs here
# (`login_for_access_token`, `TokenObtainPairView`), so `register_push_token`
# or `create_api_token_for_ci` do not.
_NAME_VOCABULARY = frozenset(
    {
        "login", "signin", "logon", "authenticate", "authentication", "otp", "2fa", "mfa", "totp", "passcode", "magic",
        "link", "password", "passwd", "forgot", "register", "signup", "registration", "token", "tokens", "jwt", "sign",
        "in", "up", "log", "one", "time", "two", "factor", "user", "users", "account", "accounts", "for", "access",
        "refresh", "obtain", "issue", "get", "create", "new", "view", "api", "post", "put", "patch", "handle", "auth",
        "oauth", "oauth2", "pair", "request", "send", "verify", "confirm", "code", "submit", "form", "endpoint",
        "with", "by", "email", "phone", "sms", "reset", "change", "update", "set", "recover", "recovery", "step",
        "customer", "member", "my", "self", "do", "process", "json", "v1", "v2", "views", "route", "handler", "resource",
        "action", "local", "basic", "credentials", "session", "sessions",
    }
)
_EXCLUDED_BIGRAMS = (("log", "out"), ("sign", "out"))
KIND_LABELS = {
    "login": ("Login endpoint", "passwords can be guessed at full speed"),
    "token": ("Token endpoint", "credentials and refresh tokens can be tried at full speed"),
    "register": ("Registration endpoint", "bots can create accounts at full speed"),
    "password_reset": ("Password reset endpoint", "reset mails can be flooded and reset tokens guessed"),
    "otp": ("One-time code endpoint", "a six-digit code falls to a million tries"),
}
SUGGESTIONS = {
    "fastapi": 'slowapi `@limiter.limit("5/minute")` or fastapi-limiter `Depends(RateLimiter(times=5, seconds=60))`',
    "starlette": 'slowapi `@limiter.limit("5/minute")`',
    "litestar": "Litestar's `RateLimitConfig`",
    "flask": 'Flask-Limiter `@limiter.limit("5 per minute")`',
    "quart": 'a limiter such as `quart-rate-limiter`',
    "django": 'django-ratelimit `@ratelimit(key="ip", rate="5/m")`',
    "drf": "`throttle_classes` (e.g. `ScopedRateThrottle` with a scope for this endpoint)",
    "aiohttp": "a limiter middleware (e.g. aiohttp-ratelimiter)",
}

# Limiter modules read to tell global limits from per-route ones: (path, mtime, size) -> global?
_GLOBAL_CACHE: dict[tuple[str, int, int], bool] = {}


def _words(text: str) -> list[str]:
    return [w.lower() for w in re.findall(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+[a-z]+|\d+", text)]


# Handler names and paths repeat across a project's modules: judged once each.
@lru_cache(maxsize=4096)
def auth_kind(text: str | None, *, name: bool = False) -> str | None:
    """The kind of authentication endpoint a path (or, with ``name``, a
    handler or view name) stands for."""
    if not text:
        return None
    words = _words(re.sub(r"[{<][^}>]*[}>]", " ", text))
    if not words:
        return None
    if name and not set(words) <= _NAME_VOCABULARY:
        return None
    bigrams = set(pairwise(words))
    if set(words) & _EXCLUDED_WORDS or bigrams & set(_EXCLUDED_BIGRAMS):
        return None
    for kind, singles, pairs in _KINDS:
        if set(words) & singles or bigrams & set(pairs):
            return kind
    return None


class AuthEndpointWithoutRateLimit(Rule):
    code = "SG304"
    name = "auth-endpoint-without-rate-limit"
    default_severity = "warning"
    layers = frozenset({"router"})
    node_types = (ast.FunctionDef, ast.AsyncFunctionDef)
    scope = "statement"

    def visit(self, node: ast.AST) -> None:
        assert isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        if self.ctx.index is None:
            return
        handler = handler_for_function(self.ctx, node)
        if handler is None:
            return
        owner = getattr(node, "sg_parent", None)
        owner_name = owner.name if isinstance(owner, ast.ClassDef) else None
        # The cheap evidence first: the decorator's path and the names.
        by_name = auth_kind(node.name, name=True) or auth_kind(owner_name, name=True)
        if by_name is None and auth_kind(handler.path) is None and not self._routes_by_line():
            return
        method, path = self._route(node, handler)
        kind = auth_kind(path) or by_name
        if kind is None or not self._accepts_submissions(node, handler, method):
            return
        if self._limited_here(node, owner):
            return
        limiter = self._project_limiter()
        if limiter == "global" or limiter == "unknown":
            return
        framework = handler_framework(handler, self.ctx.imports)
        label, risk = KIND_LABELS[kind]
        where = f"`{method} {path}`" if path else f"`{owner_name + '.' if owner_name else ''}{node.name}()`"
        suggestion = SUGGESTIONS.get(framework, "a rate limiter")
        extra = ""
        if limiter is not None:
            extra = f" (the project's limiter in `{limiter}` is applied per route, not to this one)"
        self.report(
            function_name_span(self.ctx, node),
            f"{label} {where} has no rate limiting{extra}: {risk}; limit it with {suggestion}",
            data={
                "kind": kind,
                "handler": node.name,
                "view": owner_name,
                "method": method,
                "path": path,
                "framework": framework,
                "limiter_module": limiter,
            },
        )

    # -- the route ---------------------------------------------------------------

    def _route(self, node: FunctionNode, handler: RouteHandler) -> tuple[str, str | None]:
        """(method, full path) from the index, which applies router prefixes
        across modules; the decorator's own path otherwise."""
        method = handler.methods[0] if handler.methods else "ANY"
        matches = self._routes_by_line().get(node.lineno) or self._routes_by_line().get(node.name) or []
        if matches:
            best = next((r for r in matches if r.method.upper() in SUBMIT_METHODS), matches[0])
            return best.method, best.path
        submit = next((m for m in handler.methods if m.upper() in SUBMIT_METHODS), None)
        return submit or method, handler.path

    def _routes_by_line(self) -> dict[int | str, list[Any]]:
        """This module's routes by handler line (or name, for handlers
        defined elsewhere), computed once per check."""
        table = getattr(self, "_route_table", None)
        if table is None:
            table = {}
            index = self.ctx.index
            if index is not None:
                for route in index.routes_in(self.ctx.source.relative):
                    table.setdefault(route.handler_line or route.handler, []).append(route)
            self._route_table = table
        return table

    def _accepts_submissions(self, node: FunctionNode, handler: RouteHandler, method: str) -> bool:
        methods = {m.upper() for m in (*handler.methods, method)}
        if methods & SUBMIT_METHODS or methods & {"CREATE", "DISPATCH_REQUEST"}:
            return True
        if handler.framework in ("django", "drf") or method == "ANY":
            # A Django function view: a GET by default unless it handles a form.
            decorators = " ".join(self.ctx.source.segment(d) for d in node.decorator_list)
            if "require_POST" in decorators or "POST" in decorators:
                return True
            for sub in walk_function_body(node):
                if isinstance(sub, ast.Attribute) and sub.attr == "POST":
                    return True
                if isinstance(sub, ast.Constant) and sub.value == "POST":
                    return True
        return False

    # -- limits ---------------------------------------------------------------------

    def _limited_here(self, node: FunctionNode, owner: ast.AST | None) -> bool:
        source = self.ctx.source
        for decorator in node.decorator_list:
            if LIMIT_HINT.search(source.segment(decorator)):
                return True
        args = node.args
        for expr in (*args.defaults, *args.kw_defaults, *(a.annotation for a in (*args.args, *args.kwonlyargs))):
            if isinstance(expr, (ast.Call, ast.Subscript)) and LIMIT_HINT.search(source.segment(expr)):
                return True
        for sub in walk_function_body(node):
            if isinstance(sub, ast.Call):
                name = dotted_name(sub.func) or ""
                if BODY_GUARD_HINT.search(name):
                    return True
        if isinstance(owner, ast.ClassDef):
            for decorator in owner.decorator_list:
                if LIMIT_HINT.search(source.segment(decorator)):
                    return True
            for stmt in owner.body:
                if isinstance(stmt, (ast.Assign, ast.AnnAssign)):
                    targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
                    names = {t.id for t in targets if isinstance(t, ast.Name)}
                    if names & {"throttle_classes", "throttle_scope", "ratelimit", "rate_limit", "limits"}:
                        value = stmt.value
                        empty = isinstance(value, (ast.List, ast.Tuple)) and not value.elts
                        if not empty and not (isinstance(value, ast.Constant) and value.value in (None, "")):
                            return True
        return False

    def _project_limiter(self) -> str | None:
        """``global`` when a limiter applies to every route; the relative
        path of a per-route limiter module; ``unknown`` when a limiter exists
        in a module that cannot be read; None when the project has none."""
        cached = getattr(self, "_limiter", False)
        if cached is not False:
            return cached  # type: ignore[return-value]
        result: str | None = None
        index = self.ctx.index
        if index is not None and index.has_rate_limiter:
            relatives = sorted(rel for rel, summary in index.summaries.items() if summary.has_limiter)
            per_route: str | None = None
            for relative in relatives:
                if relative == self.ctx.source.relative:
                    is_global: bool | None = bool(GLOBAL_LIMIT.search(self.ctx.source.text))
                else:
                    is_global = _global_in_file(getattr(index, "root", None), relative)
                if is_global is None:
                    result = "unknown"
                    break
                if is_global:
                    result = "global"
                    break
                per_route = per_route or relative
            else:
                result = per_route
        self._limiter = result
        return result


def _global_in_file(root: Any, relative: str) -> bool | None:
    """Whether a limiter module sets project-wide limits; None when it
    cannot be read (no root, gone, too large)."""
    if not root:
        return None
    path = Path(root) / relative
    try:
        stat = path.stat()
        key = (str(path), stat.st_mtime_ns, stat.st_size)
        if key in _GLOBAL_CACHE:
            return _GLOBAL_CACHE[key]
        if stat.st_size > 2_000_000:
            return None
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    found = bool(GLOBAL_LIMIT.search(text))
    if len(_GLOBAL_CACHE) > 256:
        _GLOBAL_CACHE.clear()
    _GLOBAL_CACHE[key] = found
    return found
