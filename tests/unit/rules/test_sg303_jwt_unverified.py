"""SG303 jwt-unverified: the decode and encode shapes of PyJWT, python-jose
and authlib, and what the rule hands the fix (never a literal key)."""

from __future__ import annotations

import textwrap

import pytest
from stackguard.analysis.engine import Engine
from stackguard.analysis.source import parse_source
from stackguard.config import Settings

PATH = "app/core/security.py"


def lint(code: str, *, path: str = PATH, layer: str = "other"):
    source = parse_source(f"/p/{path}", path, textwrap.dedent(code))
    assert source.tree is not None
    result = Engine(Settings(select=["SG303"])).check(source, layer)
    assert not result.rule_errors, result.rule_errors
    return result.findings


@pytest.mark.parametrize(
    ("code", "problem"),
    [
        ("import jwt\njwt.decode(t, options={'verify_signature': False})\n", "verification_disabled"),
        ("import jwt\njwt.decode(t, k, options=dict(verify_signature=False))\n", "verification_disabled"),
        ("import jwt as pyjwt\npyjwt.decode(t, k, verify=False)\n", "verification_disabled"),
        ("from jwt import decode\ndecode(t, k)\n", "algorithms_missing"),
        ("import jwt\njwt.decode(t, k, algorithms=jwt.get_unverified_header(t)['alg'])\n", "algorithms_from_token"),
        ("import jwt\nALGS = ['HS256', 'None']\njwt.decode(t, k, algorithms=ALGS)\n", "alg_none"),
        ("import jwt\njwt.decode_complete(t, k)\n", "algorithms_missing"),
        ("from jose import jwt\njwt.decode(t, k, options={'verify_signature': False}, algorithms=['HS256'])\n", "verification_disabled"),
        ("from jose import jwt\njwt.decode(t, k)\n", "algorithms_missing"),
        ("import jwt\njwt.encode(p, None, algorithm='none')\n", "encode_none"),
        ("from authlib.jose import JsonWebToken\nJsonWebToken(['none'])\n", "alg_none"),
    ],
)
def test_reported(code, problem):
    (finding,) = lint(code)
    assert finding.data["problem"] == problem


@pytest.mark.parametrize(
    "code",
    [
        "import jwt\njwt.decode(t, k, algorithms=['RS256'])\n",
        "import jwt\njwt.decode(t, k, algorithms=ALLOWED)\n",
        "import jwt\njwt.decode(t, k, algorithms=['HS256'], options={'verify_exp': False, 'verify_aud': False})\n",
        "import jwt\njwt.get_unverified_header(t)\n",
        "import jwt\njwt.encode(p, k, algorithm='HS256')\n",
        "from authlib.jose import jwt\njwt.decode(t, k)\n",
        "import base64\nbase64.b64decode(t)\n",
        "import json\njson.decode(t)\n",
        "token.decode('utf-8')\n",
    ],
)
def test_quiet(code):
    assert lint(code) == []


def test_tests_are_out_of_scope():
    assert lint("import jwt\njwt.decode(t, options={'verify_signature': False})\n", path="tests/test_jwt.py", layer="test") == []


def test_fix_data_names_the_algorithm_and_key_never_a_literal_key():
    code = """\
    import jwt

    JWT_ALGORITHM = "HS384"


    def issue(sub):
        return jwt.encode({"sub": sub}, SIGNING_KEY, algorithm=JWT_ALGORITHM)


    def read(token):
        return jwt.decode(token, options={"verify_signature": False})
    """
    (finding,) = lint(code)
    assert finding.data["algorithm_expr"] == "JWT_ALGORITHM"
    assert finding.data["key_expr"] == "SIGNING_KEY"
    assert finding.fix_title == "Verify the signature with a pinned algorithm"

    literal_key = code.replace("SIGNING_KEY", '"k3y-f0r-s1gning"')
    (finding,) = lint(literal_key)
    assert finding.data["key_expr"] is None and finding.fix_title is None
    assert "k3y-f0r-s1gning" not in repr(finding.to_dict())
