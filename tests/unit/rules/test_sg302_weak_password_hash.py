"""SG302 weak-password-hash: which digests are about passwords, which
comparisons are plaintext, and what the rule tells the fix."""

from __future__ import annotations

import textwrap

import pytest
from stackguard.analysis.engine import Engine
from stackguard.analysis.index import WorkspaceIndex
from stackguard.analysis.source import parse_source
from stackguard.config import Settings

PATH = "app/services/users.py"


def lint(code: str, *, path: str = PATH, layer: str = "service", index: WorkspaceIndex | None = None):
    source = parse_source(f"/p/{path}", path, textwrap.dedent(code))
    assert source.tree is not None
    result = Engine(Settings(select=["SG302"])).check(source, layer, index=index)
    assert not result.rule_errors, result.rule_errors
    return result.findings


HEAD = "import hashlib\nimport hmac\nimport secrets\nfrom hashlib import sha256 as digest256\n\n\n"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("def f(password):\n    return hashlib.sha256(password.encode()).hexdigest()\n", "data"),
        ("def f(form):\n    return hashlib.md5(form.password.data.encode()).hexdigest()\n", "data"),
        ("def f(request):\n    return hashlib.sha1(request.form['password'].encode()).digest()\n", "data"),
        ("def f(salt, pwd):\n    return digest256(f'{salt}{pwd}'.encode()).hexdigest()\n", "data"),
        ("def f(user, data):\n    user.password_hash = hashlib.sha512(data.encode()).hexdigest()\n", "target"),
        ("def f(data):\n    return {'hashed_password': hashlib.sha256(data).hexdigest()}\n", "target"),
        ("def encrypt_password(raw):\n    return hashlib.blake2b(raw.encode()).hexdigest()\n", "function"),
        ("def f(passphrase):\n    return hashlib.new('sha3-256', passphrase.encode()).hexdigest()\n", "data"),
    ],
)
def test_password_digests(body, reason):
    (finding,) = lint(HEAD + body)
    assert finding.data["kind"] == "hash" and finding.data["reason"] == reason
    assert finding.message.startswith("Password hashed with ")


@pytest.mark.parametrize(
    "body",
    [
        "def f(content):\n    return hashlib.sha256(content).hexdigest()\n",
        "def f(email):\n    return hashlib.md5(email.encode(), usedforsecurity=False).hexdigest()\n",
        "def f(password, salt):\n    return hashlib.pbkdf2_hmac('sha256', password.encode(), salt, 600_000)\n",
        "def f(password, salt):\n    return hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1)\n",
        "def f(password_hash):\n    return hashlib.sha256(password_hash.encode()).hexdigest()\n",
        "def f(password):\n    return hashlib.new(algorithm_name(), password.encode()).hexdigest()\n",
    ],
)
def test_quiet_digests(body):
    assert lint(HEAD + body) == []


@pytest.mark.parametrize(
    "body",
    [
        "def f(user, password):\n    return user.password == password\n",
        "def f(account, form):\n    return form.password.data != account.password\n",
        "def f(row, pwd):\n    return secrets.compare_digest(row['password'], pwd)\n",
        "def f(User, password):\n    return User.query.filter(User.password == password).first()\n",
    ],
)
def test_plaintext_comparisons(body):
    (finding,) = lint(HEAD + body)
    assert finding.data["kind"] == "compare" and finding.fix_title is None


@pytest.mark.parametrize(
    "body",
    [
        "def f(password, confirm_password):\n    return password == confirm_password\n",
        "def f(form):\n    return form.cleaned_data['password1'] != form.cleaned_data['password2']\n",
        "def f(self):\n    return self.password == self.password_repeat\n",
        "def f(user, password):\n    return user.hashed_password == hash_it(password)\n",
        "def f(data, password):\n    return data.password == password\n",
    ],
)
def test_quiet_comparisons(body):
    assert lint(HEAD + body) == []


def test_lookups_by_password():
    findings = lint(
        HEAD
        + "def f(session, User, email, password):\n"
        "    a = session.query(User).filter_by(email=email, password=password).first()\n"
        "    b = User.objects.filter(username=email, password__exact=password).exists()\n"
        "    c = User.objects.get(username=email, password='literal')\n"
        "    return a, b, c\n"
    )
    assert [(f.line, f.data["kind"]) for f in findings] == [(8, "query"), (9, "query")]


def test_tests_and_migrations_are_out_of_scope():
    code = HEAD + "def f(password):\n    return hashlib.sha256(password.encode()).hexdigest()\n"
    assert lint(code, path="tests/test_users.py", layer="test") == []
    assert lint(code, path="migrations/0002_rehash.py", layer="migration") == []


def test_hasher_of_the_project_is_found_through_the_index():
    security = "from pwdlib import PasswordHash\n\npassword_hash = PasswordHash.recommended()\n\n\ndef hash_password(p):\n    return password_hash.hash(p)\n"
    service = HEAD + "def f(password):\n    return hashlib.sha256(password.encode()).hexdigest()\n"
    index = WorkspaceIndex()
    for relative, text in (("app/core/security.py", security), (PATH, service)):
        index.update_tree(relative, parse_source(relative, relative, text).tree)
    (finding,) = lint(service, index=index)
    assert finding.data["hasher"] == {"relative": "app/core/security.py", "module": "app.core.security", "library": "pwdlib", "functions": ["hash_password"]}
    assert finding.data["password_expr"] == "password"
    assert finding.fix_title == "Hash with the project's password hasher" and not finding.fixable
    (alone,) = lint(service)
    assert alone.data["hasher"] is None and alone.fix_title is None
