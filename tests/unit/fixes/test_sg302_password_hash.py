"""SG302 quick fix: a fast digest of a password becomes the project's
password hasher. Findings come from the real rule over a project written to
tmp_path (the fix may read the hasher module)."""

from __future__ import annotations

import textwrap
from pathlib import Path

from fixhelp import Project, applied
from stackguard.fixes.password_hash import password_hash_fix

SECURITY = """\
from passlib.context import CryptContext

pwd_context = CryptContext(schemes=["argon2"], deprecated="auto")


def get_password_hash(password: str) -> str:
    return pwd_context.hash(password)
"""

SERVICE = "app/services/users.py"


def make(tmp_path: Path, files: dict[str, str]) -> Project:
    for relative, text in files.items():
        target = tmp_path / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(textwrap.dedent(text), encoding="utf-8")
    return Project(tmp_path, files, ["SG302"])


def fixed(tmp_path: Path, files: dict[str, str], relative: str = SERVICE) -> tuple[str, str]:
    project = make(tmp_path, files)
    finding = project.only(relative, "SG302")
    fix = password_hash_fix(finding, project.files[relative], project_root=str(tmp_path))
    assert fix is not None
    assert fix.code == "SG302" and fix.safe is False and fix.in_file_only
    new = applied(fix, finding.path, project.files[relative])
    assert [f for f in project.findings(relative, new) if f.code == "SG302"] == [], new
    return new, fix.title


def test_digest_becomes_the_project_helper_with_its_import(tmp_path):
    new, title = fixed(
        tmp_path,
        {
            "app/core/security.py": SECURITY,
            SERVICE: """\
            import hashlib

            from app.models import User


            def create_user(session, user_in):
                user = User(email=user_in.email, hashed_password=hashlib.sha256(user_in.password.encode()).hexdigest())
                session.add(user)
                return user
            """,
        },
    )
    assert "from app.core.security import get_password_hash\n" in new
    assert "hashed_password=get_password_hash(user_in.password))" in new
    assert title == "Hash with the project's password hasher (`get_password_hash(…)`)"


def test_aliased_helper_import_and_aliased_hashlib(tmp_path):
    new, _ = fixed(
        tmp_path,
        {
            "app/core/security.py": SECURITY,
            SERVICE: """\
            import hashlib as hl

            from app.core.security import get_password_hash as hash_pw


            def legacy(password: str, salt: str) -> str:
                return hl.md5((salt + password).encode("utf-8")).hexdigest()
            """,
        },
    )
    assert new.endswith("    return hash_pw(password)\n")
    assert new.count("import") == 2  # nothing added


def test_module_level_hasher_instance_when_there_is_no_helper(tmp_path):
    new, title = fixed(
        tmp_path,
        {
            "app/core/security.py": "from pwdlib import PasswordHash\n\npassword_hash = PasswordHash.recommended()\n",
            SERVICE: """\
            from hashlib import sha512


            def store(user, password: str) -> None:
                user.password_digest = sha512(password.encode()).hexdigest()
            """,
        },
    )
    assert "from app.core.security import password_hash\n" in new
    assert "user.password_digest = password_hash.hash(password)" in new
    assert title == "Hash with the project's password hasher (`password_hash.hash(…)`)"


def test_bcrypt_imported_in_the_module_itself(tmp_path):
    new, _ = fixed(
        tmp_path,
        {
            "app/auth/passwords.py": """\
            import hashlib

            import bcrypt as bc


            def hash_password(raw: str) -> str:
                return hashlib.sha256(raw.encode()).hexdigest()
            """,
        },
        relative="app/auth/passwords.py",
    )
    assert new.endswith("    return bc.hashpw(raw.encode(), bc.gensalt()).decode()\n")


def test_helper_is_not_called_from_itself(tmp_path):
    # The sha256 sits inside the project's own `get_password_hash`: the helper
    # cannot call itself, so the passlib instance of the module is used.
    new, _ = fixed(
        tmp_path,
        {
            "app/core/security.py": """\
            import hashlib

            from passlib.context import CryptContext

            pwd_context = CryptContext(schemes=["argon2"])


            def get_password_hash(password: str) -> str:
                return hashlib.sha256(password.encode()).hexdigest()
            """,
        },
        relative="app/core/security.py",
    )
    assert new.endswith("    return pwd_context.hash(password)\n")


def test_no_hasher_in_the_project_means_no_fix(tmp_path):
    project = make(tmp_path, {SERVICE: "import hashlib\n\n\ndef h(password):\n    return hashlib.sha1(password.encode()).hexdigest()\n"})
    finding = project.only(SERVICE, "SG302")
    assert finding.fix_title is None and not finding.fixable
    assert password_hash_fix(finding, project.files[SERVICE], project_root=str(tmp_path)) is None


def test_plaintext_comparison_and_stale_text_have_no_fix(tmp_path):
    files = {
        "app/core/security.py": SECURITY,
        SERVICE: "def check(user, password):\n    return user.password == password\n",
    }
    project = make(tmp_path, files)
    compare = project.only(SERVICE, "SG302")
    assert password_hash_fix(compare, project.files[SERVICE], project_root=str(tmp_path)) is None
    files[SERVICE] = "import hashlib\n\n\ndef h(password):\n    return hashlib.sha1(password.encode()).hexdigest()\n"
    project = make(tmp_path, files)
    digest = project.only(SERVICE, "SG302")
    assert password_hash_fix(digest, "import hashlib\n\n\ndef h(password):\n    return None\n", project_root=str(tmp_path)) is None
