"""SG303 quick fix: decode calls verify the signature with the algorithm (and
key) the module signs with. Findings come from the real SG303 rule."""

from __future__ import annotations

import pytest
from fixhelp import Project, applied
from stackguard.fixes.jwt_verify import jwt_verify_fix

REL = "app/core/security.py"
HEAD = """\
import jwt

from app.core.config import settings

ALGORITHM = "HS256"


def create_access_token(subject: str) -> str:
    return jwt.encode({"sub": subject}, settings.SECRET_KEY, algorithm=ALGORITHM)


"""


def fixed(tmp_path, source: str) -> str:
    project = Project(tmp_path, {REL: source}, ["SG303"])
    finding = project.only(REL, "SG303")
    fix = jwt_verify_fix(finding, project.files[REL])
    assert fix is not None
    assert fix.code == "SG303" and fix.safe is False and fix.title == "Verify the signature with a pinned algorithm"
    new = applied(fix, finding.path, project.files[REL])
    assert [f for f in project.findings(REL, new) if f.code == "SG303"] == [], new
    return new.splitlines()[-1].strip()


@pytest.mark.parametrize(
    ("call", "after"),
    [
        (
            'jwt.decode(token, options={"verify_signature": False})',
            "return jwt.decode(token, settings.SECRET_KEY, algorithms=[ALGORITHM])",
        ),
        (
            'jwt.decode(token, settings.SECRET_KEY, options={"verify_signature": False, "verify_aud": False})',
            'return jwt.decode(token, settings.SECRET_KEY, options={"verify_aud": False}, algorithms=[ALGORITHM])',
        ),
        (
            "jwt.decode(token, settings.SECRET_KEY, verify=False)",
            "return jwt.decode(token, settings.SECRET_KEY, algorithms=[ALGORITHM])",
        ),
        (
            "jwt.decode(token, settings.SECRET_KEY)",
            "return jwt.decode(token, settings.SECRET_KEY, algorithms=[ALGORITHM])",
        ),
        (
            'jwt.decode(token, settings.SECRET_KEY, algorithms=["HS256", "none"], audience="shop")',
            'return jwt.decode(token, settings.SECRET_KEY, algorithms=[ALGORITHM], audience="shop")',
        ),
        (
            'jwt.decode(token, settings.SECRET_KEY, algorithms=[jwt.get_unverified_header(token)["alg"]])',
            "return jwt.decode(token, settings.SECRET_KEY, algorithms=[ALGORITHM])",
        ),
    ],
)
def test_decode_is_rewritten(tmp_path, call, after):
    assert fixed(tmp_path, HEAD + f"def read(token: str) -> dict:\n    return {call}\n") == after


def test_aliased_pyjwt_and_an_algorithm_from_the_encode_call(tmp_path):
    source = (
        "import jwt as pyjwt\n\nSECRET = load_secret()\n\n\n"
        "def issue(sub):\n    return pyjwt.encode({'sub': sub}, SECRET, algorithm=\"HS512\")\n\n\n"
        "def read(token):\n    return pyjwt.decode(token, options={'verify_signature': False})\n"
    )
    assert fixed(tmp_path, source) == 'return pyjwt.decode(token, SECRET, algorithms=["HS512"])'


def test_aliased_python_jose_with_settings_algorithm(tmp_path):
    source = (
        "from jose import jwt as jose_jwt\n\nfrom app.core.config import settings\n\n\n"
        "def read(token):\n    return jose_jwt.decode(token, settings.PUBLIC_KEY)\n\n\n"
        "def algorithm():\n    return settings.JWT_ALGORITHM\n"
    )
    project = Project(tmp_path, {REL: source}, ["SG303"])
    finding = project.only(REL, "SG303")
    fix = jwt_verify_fix(finding, project.files[REL])
    assert fix is not None
    new = applied(fix, finding.path, project.files[REL])
    assert "return jose_jwt.decode(token, settings.PUBLIC_KEY, algorithms=[settings.JWT_ALGORITHM])" in new


def test_shared_options_object_and_unknown_algorithm_have_no_fix(tmp_path):
    shared = HEAD + 'OPTIONS = {"verify_signature": False}\n\n\ndef read(token):\n    return jwt.decode(token, settings.SECRET_KEY, algorithms=[ALGORITHM], options=OPTIONS)\n'
    project = Project(tmp_path, {REL: shared}, ["SG303"])
    finding = project.only(REL, "SG303")
    assert finding.fix_title is None
    assert jwt_verify_fix(finding, project.files[REL]) is None

    unknown = "import jwt\n\n\ndef read(token, key):\n    return jwt.decode(token, key)\n"
    project = Project(tmp_path, {REL: unknown}, ["SG303"])
    finding = project.only(REL, "SG303")
    assert finding.fix_title is None and finding.data["algorithm_expr"] is None
    assert jwt_verify_fix(finding, project.files[REL]) is None


def test_stale_text_and_encode_none_have_no_fix(tmp_path):
    source = HEAD + "def read(token):\n    return jwt.decode(token, settings.SECRET_KEY)\n"
    project = Project(tmp_path, {REL: source}, ["SG303"])
    finding = project.only(REL, "SG303")
    assert jwt_verify_fix(finding, HEAD + "def read(token):\n    return None\n") is None

    unsigned = HEAD + 'def issue(payload):\n    return jwt.encode(payload, None, algorithm="none")\n'
    project = Project(tmp_path, {REL: unsigned}, ["SG303"])
    finding = project.only(REL, "SG303")
    assert finding.fix_title is None
    assert jwt_verify_fix(finding, project.files[REL]) is None
