"""SG304 auth-endpoint-without-rate-limit: which endpoints are
authentication endpoints, and how project-wide limiters found by the index
(and read from disk) decide between quiet and a finding."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from stackguard.analysis.engine import Engine, module_name
from stackguard.analysis.index import WorkspaceIndex
from stackguard.analysis.layers import classify_layer
from stackguard.analysis.source import parse_source
from stackguard.config import Settings
from stackguard.rules.sg304_auth_endpoint_without_rate_limit import auth_kind

ROUTER = "app/api/routes/auth.py"
LOGIN = """\
from fastapi import APIRouter

router = APIRouter()


@router.post("/login")
def login(form: LoginForm):
    return auth.login(form)
"""


def lint(files: dict[str, str], relative: str = ROUTER, *, root: Path | None = None, index: bool = True):
    files = {rel: textwrap.dedent(text) for rel, text in files.items()}
    if root is not None:
        for rel, text in files.items():
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_text(text, encoding="utf-8")
    workspace = WorkspaceIndex(root=root) if index else None
    if workspace is not None:
        for rel, text in files.items():
            workspace.update_tree(rel, parse_source(rel, rel, text).tree)
    source = parse_source(f"/p/{relative}", relative, files[relative])
    layer = classify_layer(relative, source.tree)
    result = Engine(Settings(select=["SG304"])).check(source, layer, index=workspace, module=module_name(relative))
    assert not result.rule_errors, result.rule_errors
    return result.findings


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("/api/v1/login/access-token", "login"),
        ("/auth/sign-in", "login"),
        ("/oauth/token", "token"),
        ("/users/signup", "register"),
        ("/password-recovery/{email}", "password_reset"),
        ("/reset-password/", "password_reset"),
        ("/2fa/verify", "otp"),
        ("/auth/magic-link", "otp"),
        ("/auth/logout", None),
        ("/login/test-token", None),
        ("/devices/register", None),
        ("/me/push-token", None),
        ("/items/{item_id}", None),
    ],
)
def test_auth_kind_of_paths(text, kind):
    assert auth_kind(text) == kind


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("login_for_access_token", "login"),
        ("LoginView", "login"),
        ("TokenObtainPairView", "token"),
        ("register_user", "register"),
        ("PasswordResetConfirmView", "password_reset"),
        ("verify_otp_code", "otp"),
        ("register_push_token", None),
        ("create_api_token_for_ci", None),
        ("logout", None),
    ],
)
def test_auth_kind_of_names(name, kind):
    assert auth_kind(name, name=True) == kind


def test_unlimited_login_is_reported_with_its_full_path():
    (finding,) = lint({ROUTER: LOGIN.replace("APIRouter()", 'APIRouter(prefix="/auth")')})
    assert finding.message.startswith("Login endpoint `POST /auth/login` has no rate limiting: passwords can be guessed at full speed")
    assert finding.data["kind"] == "login" and finding.data["limiter_module"] is None
    assert (finding.line, finding.column, finding.end_column) == (7, 4, 9)  # the function name


def test_without_an_index_the_rule_stays_quiet():
    assert lint({ROUTER: LOGIN}, index=False) == []


def test_global_limiter_elsewhere_keeps_it_quiet(tmp_path: Path):
    main = """\
    from fastapi import FastAPI
    from slowapi import Limiter
    from slowapi.middleware import SlowAPIMiddleware
    from slowapi.util import get_remote_address

    limiter = Limiter(key_func=get_remote_address, default_limits=["100/minute"])
    app = FastAPI()
    app.state.limiter = limiter
    app.add_middleware(SlowAPIMiddleware)
    """
    assert lint({ROUTER: LOGIN, "app/main.py": main}, root=tmp_path) == []


def test_per_route_limiter_elsewhere_reports_the_undecorated_route(tmp_path: Path):
    limiter = "from slowapi import Limiter\nfrom slowapi.util import get_remote_address\n\nlimiter = Limiter(key_func=get_remote_address)\n"
    (finding,) = lint({ROUTER: LOGIN, "app/core/limiter.py": limiter}, root=tmp_path)
    assert "(the project's limiter in `app/core/limiter.py` is applied per route, not to this one)" in finding.message
    assert finding.data["limiter_module"] == "app/core/limiter.py"


def test_unreadable_limiter_module_gives_the_benefit_of_the_doubt():
    limiter = "from slowapi import Limiter\n\nlimiter = Limiter(key_func=lambda r: r.client.host)\n"
    assert lint({ROUTER: LOGIN, "app/core/limiter.py": limiter}) == []  # no root: cannot be read


def test_per_route_limiter_in_the_same_module():
    code = """\
    from fastapi import APIRouter, Request
    from slowapi import Limiter
    from slowapi.util import get_remote_address

    router = APIRouter()
    limiter = Limiter(key_func=get_remote_address)


    @router.post("/login")
    @limiter.limit("5/minute")
    def login(request: Request, form: LoginForm):
        return auth.login(form)


    @router.post("/register")
    def register(request: Request, form: RegisterForm):
        return auth.register(form)
    """
    (finding,) = lint({ROUTER: code})
    assert finding.data["kind"] == "register" and finding.data["limiter_module"] == ROUTER


def test_drf_throttles_and_django_ratelimit_are_limits():
    views = """\
    from django.contrib.auth import authenticate
    from django_ratelimit.decorators import ratelimit
    from rest_framework.throttling import AnonRateThrottle
    from rest_framework.views import APIView


    class LoginView(APIView):
        throttle_classes = [AnonRateThrottle]

        def post(self, request):
            return authenticate(request, **request.data)


    @ratelimit(key="ip", rate="5/m")
    def login_page(request):
        if request.method == "POST":
            return authenticate(request, username=request.POST["u"], password=request.POST["p"])


    class TokenView(APIView):
        throttle_classes = []

        def post(self, request):
            return issue(request)
    """
    findings = lint({"accounts/views.py": views}, "accounts/views.py")
    assert [(f.data["view"], f.data["kind"]) for f in findings] == [("TokenView", "token")]


def test_project_wide_drf_throttles_in_settings(tmp_path: Path):
    settings = 'REST_FRAMEWORK = {"DEFAULT_THROTTLE_CLASSES": ["rest_framework.throttling.AnonRateThrottle"]}\n'
    views = "from rest_framework.views import APIView\n\n\nclass LoginView(APIView):\n    def post(self, request):\n        return login(request)\n"
    assert lint({"accounts/views.py": views, "shop/settings.py": settings}, "accounts/views.py", root=tmp_path) == []
