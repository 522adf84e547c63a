"""Passwords are hashed with a fast hash (MD5, SHA-1, SHA-2) or compared in plain text.

## What it does
Flags, outside tests and migrations:

- `hashlib` digests (`md5`, `sha1`, `sha224`…`sha512`, `sha3_*`, `blake2*`,
  `hashlib.new("md5", …)`, `h.update(password)`) applied to a password: the
  data mentions a password (`password.encode()`, `salt + pwd`), the result is
  stored under a password name (`user.password_hash = …`,
  `User(hashed_password=…)`), or the hash runs inside a password function
  (`def hash_password(raw): return sha256(raw.encode()).hexdigest()`);
- plaintext comparisons of a stored password with a submitted one
  (`user.password == form.password`, `compare_digest(row["password"], password)`);
- look-ups by plaintext password (`User.objects.get(username=u, password=p)`,
  `filter_by(password=p)`, `find_one({"password": p})`).

Checksums, cache keys, ETags and `usedforsecurity=False` digests stay quiet,
as do PBKDF2/scrypt (`hashlib.pbkdf2_hmac`, `hashlib.scrypt`), comparisons of
a password with its confirmation field, and hashes compared with a hasher's
result.

## Why is this bad?
MD5 and the SHA families are built to be fast: a single GPU tries billions
of candidates a second, so a leaked table of such hashes (salted or not) is
cracked for most real passwords within hours. Password hashes must be slow
and memory-hard — Argon2id, or bcrypt for legacy systems — with a per-hash
salt and tunable cost. A password stored in plain text (which is what a
plaintext comparison or a look-up by password implies) is worse still: one
database leak exposes every user, on every site where they reused it.

## Example
```python
def hash_password(password: str) -> str:
    return hashlib.sha256(password.encode()).hexdigest()


def authenticate(db, email: str, password: str):
    user = db.query(User).filter_by(email=email).first()
    if user and user.password == password:
        return user
```

## Use instead
```python
from pwdlib import PasswordHash

password_hash = PasswordHash.recommended()  # Argon2id


def hash_password(password: str) -> str:
    return password_hash.hash(password)


def authenticate(db, email: str, password: str):
    user = db.query(User).filter_by(email=email).first()
    if user and password_hash.verify(password, user.hashed_password):
        return user
```

## Fix
When the project already has a password hasher (passlib, pwdlib,
argon2-cffi or bcrypt, found by the workspace index), the digest is replaced
with it: the project's own `get_password_hash()`/`hash_password()` helper, a
module-level `CryptContext`/`PasswordHash`/`PasswordHasher` instance, or the
library called directly. Never applied in bulk: hashes already stored need
a migration (re-hash on next login). Otherwise there is no automatic fix.

## References
- OWASP: [Password Storage Cheat Sheet](https://cheatsheetseries.owasp.org/cheatsheets/Password_Storage_Cheat_Sheet.html)
- [argon2-cffi](https://argon2-cffi.readthedocs.io/), [pwdlib](https://frankie567.github.io/pwdlib/), [bcrypt](https://pypi.org/project/bcrypt/)
- CWE-916: [Use of Password Hash With Insufficient Computational Effort](https://cwe.mitre.org/data/definitions/916.html)
"""

from __future__ import annotations

import ast
import re
from typing import Any

from ..analysis.semantics import callee_name, dotted_name, enclosing_function, iter_statements
from .base import Rule

FAST_HASHES = frozenset(
    {
        "md5", "sha1", "sha224", "sha256", "sha384", "sha512", "sha3_224", "sha3_256", "sha3_384", "sha3_512",
        "blake2b", "blake2s", "sha512_224", "sha512_256",
    }
)
DIGEST_METHODS = frozenset({"hexdigest", "digest"})
PASSWORD_WORDS = frozenset({"password", "passwd", "pwd", "passphrase", "passcode"})
HASH_WORDS = frozenset({"hash", "hashed", "digest", "hasher", "hashes"})
# Names of the other side of a legitimate comparison.
CONFIRM_WORDS = frozenset({"confirm", "confirmation", "confirmed", "repeat", "repeated", "again", "retype", "verify", "verification", "new", "old", "current", "previous", "1", "2"})
# Objects that hold what a request submitted.
INPUT_NAMES = frozenset(
    {"form", "data", "payload", "body", "credentials", "creds", "request", "req", "login", "login_data", "schema", "args", "params", "cleaned_data", "validated_data", "initial_data", "json", "input", "values", "form_data", "user_in", "obj_in", "signin", "auth"}
)
LOOKUP_METHODS = frozenset({"filter_by", "get", "filter", "get_or_none", "find_one", "find", "get_or_404", "first_or_404", "exists"})
HASHER_LIBRARIES = ("passlib", "pwdlib", "argon2", "bcrypt")
# Every call name visit() acts on, besides names imported from hashlib.
_CALL_NAMES = FAST_HASHES | LOOKUP_METHODS | {"new", "update", "compare_digest"}
HASHER_FUNCTION = re.compile(r"^(?:get_)?(?:password_)?hash(?:_password)?$|^(?:get_)?hash_password$|^get_password_hash$|^make_password$|^hash_pw$")


def _words(name: str) -> list[str]:
    return [w.lower() for w in re.findall(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+", name)]


def _is_password_name(name: str | None) -> bool:
    if not name:
        return False
    words = _words(name)
    return any(w in PASSWORD_WORDS for w in words) or (bool(words) and words[-1] in ("pass", "pw"))


def _expr_name(expr: ast.AST) -> str | None:
    """The name an expression reads: ``password``, ``user.password`` →
    ``password``, ``form["password"]`` → ``password``, ``form.password.data``
    → ``password``."""
    if isinstance(expr, ast.Name):
        return expr.id
    if isinstance(expr, ast.Attribute):
        if expr.attr == "data" and isinstance(expr.value, ast.Attribute):  # WTForms field.data
            return expr.value.attr
        return expr.attr
    if isinstance(expr, ast.Subscript) and isinstance(expr.slice, ast.Constant) and isinstance(expr.slice.value, str):
        return expr.slice.value
    if isinstance(expr, ast.Call) and isinstance(expr.func, ast.Attribute) and expr.func.attr == "get" and expr.args:
        key = expr.args[0]
        if isinstance(key, ast.Constant) and isinstance(key.value, str):
            return key.value  # request.form.get("password")
    return None


def password_operand(expr: ast.AST | None, depth: int = 0) -> ast.expr | None:
    """The password a hashed value is made of: ``password.encode()`` →
    ``password``; ``(salt + password).encode("utf-8")`` → ``password``;
    ``f"{salt}{pwd}".encode()`` → ``pwd``. None when no operand is named like
    a password (or it is named like a hash: ``password_hash``)."""
    if depth > 6 or not isinstance(expr, ast.expr):
        return None
    name = _expr_name(expr)
    if name is not None:
        if _is_password_name(name) and not set(_words(name)) & HASH_WORDS:
            return expr
        if not isinstance(expr, ast.Call):
            return None
    if isinstance(expr, ast.Call):
        func = expr.func
        if isinstance(func, ast.Attribute) and func.attr in ("encode", "strip", "lower"):
            return password_operand(func.value, depth + 1)
        last = (dotted_name(func) or "").rsplit(".", 1)[-1]
        if last in ("bytes", "str", "bytearray") and expr.args:
            return password_operand(expr.args[0], depth + 1)
        return None
    if isinstance(expr, ast.BinOp):
        return password_operand(expr.left, depth + 1) or password_operand(expr.right, depth + 1)
    if isinstance(expr, ast.JoinedStr):
        for value in expr.values:
            if isinstance(value, ast.FormattedValue):
                found = password_operand(value.value, depth + 1)
                if found is not None:
                    return found
    return None


class WeakPasswordHash(Rule):
    code = "SG302"
    name = "weak-password-hash"
    default_severity = "error"
    layers = frozenset({"router", "service", "repository", "model", "schema", "config", "other"})
    node_types = (ast.Call, ast.Compare)
    scope = "statement"
    fix_title = "Hash with the project's password hasher"
    fix_safe = False

    def begin(self) -> None:
        self._hasher: dict[str, Any] | None | bool = False
        self._reported: set[int] = set()
        names = self.ctx.imports.names
        # Digests are only judged through an import of hashlib (see
        # _algorithm): without one, hash and update() calls need no look.
        self._has_hashlib = any(qualified.startswith("hashlib") for qualified in names.values())
        self._hashlib_names = frozenset(local for local, qualified in names.items() if qualified.startswith("hashlib."))

    def visit(self, node: ast.AST) -> None:
        if isinstance(node, ast.Compare):
            self._visit_compare(node)
            return
        assert isinstance(node, ast.Call)
        func = node.func
        name = callee_name(func)
        # One set test rejects most calls.
        if name not in _CALL_NAMES and name not in self._hashlib_names:
            return
        if name in FAST_HASHES or name == "new" or name in self._hashlib_names:
            if self._has_hashlib:
                self._visit_hash(node)
        elif name == "update":
            if self._has_hashlib:
                self._visit_update(node)
        elif name == "compare_digest" and len(node.args) == 2:
            self._check_plain_comparison(node, node.args[0], node.args[1], "compare_digest")
        elif name in LOOKUP_METHODS:
            self._visit_lookup(node, name)

    # -- digests ----------------------------------------------------------------

    def _algorithm(self, call: ast.Call) -> str | None:
        resolved = self.ctx.imports.resolve(call.func) or ""
        if not resolved.startswith("hashlib."):
            return None
        algorithm = resolved.rsplit(".", 1)[-1]
        if algorithm == "new":
            first = call.args[0] if call.args else next((k.value for k in call.keywords if k.arg == "name"), None)
            if not (isinstance(first, ast.Constant) and isinstance(first.value, str)):
                return None
            algorithm = first.value.lower().replace("-", "_")
        if algorithm not in FAST_HASHES:
            return None
        if any(k.arg == "usedforsecurity" and isinstance(k.value, ast.Constant) and k.value.value is False for k in call.keywords):
            return None
        return algorithm

    def _visit_hash(self, call: ast.Call) -> None:
        algorithm = self._algorithm(call)
        if algorithm is None:
            return
        resolved = self.ctx.imports.resolve(call.func) or ""
        data_args = call.args[1:] if resolved == "hashlib.new" else call.args
        data = data_args[0] if data_args else next((k.value for k in call.keywords if k.arg in ("data", "string")), None)
        operand = password_operand(data) if data is not None else None
        chain = self._digest_chain(call)
        why: str | None = None
        if operand is not None:
            why = "data"
        elif self._stored_as_password(chain):
            why = "target"
        elif self._in_password_function(call):
            why = "function"
        if why is None:
            return
        if operand is None and data is not None:
            operand = _plain_operand(data)  # hash_password(raw): `raw` is the password
        self._report_hash(call, chain, algorithm, operand, why)

    def _visit_update(self, call: ast.Call) -> None:
        """``h = hashlib.sha256(); h.update(password.encode())``."""
        func = call.func
        if not (isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and call.args):
            return
        operand = password_operand(call.args[0])
        if operand is None:
            return
        function = enclosing_function(call)
        body = function.body if function is not None else self.ctx.tree.body
        for stmt in iter_statements(body):
            if (
                isinstance(stmt, ast.Assign)
                and any(isinstance(t, ast.Name) and t.id == func.value.id for t in stmt.targets)
                and isinstance(stmt.value, ast.Call)
            ):
                algorithm = self._algorithm(stmt.value)
                if algorithm is not None:
                    self._report_hash(call, call, algorithm, operand, "data", fixable=False)
                    return

    def _digest_chain(self, call: ast.Call) -> ast.expr:
        """``hashlib.sha256(x).hexdigest()``: the whole expression that
        yields the digest (parents are linked up to the visited node)."""
        current: ast.expr = call
        parent = getattr(current, "sg_parent", None)
        while isinstance(parent, ast.Attribute) and parent.attr in DIGEST_METHODS:
            outer = getattr(parent, "sg_parent", None)
            if isinstance(outer, ast.Call) and outer.func is parent and not outer.args:
                current = outer
                parent = getattr(outer, "sg_parent", None)
            else:
                break
        return current

    def _stored_as_password(self, chain: ast.expr) -> bool:
        parent = getattr(chain, "sg_parent", None)
        if isinstance(parent, ast.keyword):
            return _is_password_name(parent.arg)
        if isinstance(parent, (ast.Assign, ast.AnnAssign)):
            targets = parent.targets if isinstance(parent, ast.Assign) else [parent.target]
            return any(_is_password_name(_expr_name(t)) for t in targets)
        if isinstance(parent, ast.Dict):
            for key, value in zip(parent.keys, parent.values):
                if value is chain and isinstance(key, ast.Constant) and isinstance(key.value, str):
                    return _is_password_name(key.value)
        return False

    def _in_password_function(self, call: ast.Call) -> bool:
        function = enclosing_function(call)
        if function is None:
            return False
        words = set(_words(function.name))
        return bool(words & PASSWORD_WORDS) and bool(words & {"hash", "encrypt", "encode", "verify", "check", "make", "set", "digest"})

    def _report_hash(self, call: ast.Call, chain: ast.expr, algorithm: str, operand: ast.expr | None, why: str, *, fixable: bool | None = None) -> None:
        if id(chain) in self._reported:
            return
        self._reported.add(id(chain))
        callee = self.ctx.source.segment(call.func) or algorithm
        if isinstance(chain, ast.Call) and chain is not call and isinstance(chain.func, ast.Attribute):
            callee += f"(…).{chain.func.attr}()"
        else:
            callee += "(…)"
        hasher = self._project_hasher()
        function = enclosing_function(call)
        span = self.ctx.span_of(chain)
        can_fix = fixable if fixable is not None else (hasher is not None and operand is not None)
        self.report(
            chain,
            f"Password hashed with {_algorithm_label(algorithm)} (`{callee}`): fast hashes are brute-forced "
            "offline; use Argon2id (argon2-cffi, pwdlib) or bcrypt",
            data={
                "kind": "hash",
                "algorithm": algorithm,
                "reason": why,
                "password_expr": self.ctx.source.segment(operand) if operand is not None else None,
                "call_range": [span.line, span.column, span.end_line, span.end_column],
                "function": function.name if function is not None else None,
                "hasher": hasher,
            },
            fixable=can_fix,
        )

    # -- plaintext --------------------------------------------------------------

    def _visit_compare(self, node: ast.Compare) -> None:
        if len(node.ops) != 1 or not isinstance(node.ops[0], (ast.Eq, ast.NotEq)):
            return
        self._check_plain_comparison(node, node.left, node.comparators[0], "==" if isinstance(node.ops[0], ast.Eq) else "!=")

    def _check_plain_comparison(self, node: ast.AST, left: ast.expr, right: ast.expr, how: str) -> None:
        left_name, right_name = _expr_name(left), _expr_name(right)
        if not (_is_password_name(left_name) and _is_password_name(right_name)):
            return
        words = set(_words(left_name or "")) | set(_words(right_name or ""))
        if words & HASH_WORDS or words & CONFIRM_WORDS:
            return
        if not (_is_stored(left) or _is_stored(right)):
            return
        shown = f"{self.ctx.source.segment(left)} {how} {self.ctx.source.segment(right)}" if how != "compare_digest" else f"compare_digest({self.ctx.source.segment(left)}, {self.ctx.source.segment(right)})"
        self.report(
            node,
            f"Plaintext password comparison (`{shown}`): store Argon2id/bcrypt hashes and check them with the hasher's verify()",
            data={"kind": "compare"},
            fixable=False,
        )

    def _visit_lookup(self, call: ast.Call, method: str) -> None:
        password: ast.AST | None = None
        for keyword in call.keywords:
            if keyword.arg and keyword.arg.split("__", 1)[0] in ("password", "passwd", "pwd") and not isinstance(keyword.value, ast.Constant):
                password = keyword
        if password is None and method in ("find_one", "find") and call.args and isinstance(call.args[0], ast.Dict):
            for key, value in zip(call.args[0].keys, call.args[0].values):
                if isinstance(key, ast.Constant) and key.value in ("password", "passwd", "pwd") and not isinstance(value, ast.Constant):
                    password = value
        if password is None:
            return
        receiver = self.ctx.source.segment(call.func) or method
        self.report(
            call,
            f"`{receiver}()` looks a user up by plaintext password: store Argon2id/bcrypt hashes, load the user by name and verify()",
            data={"kind": "query"},
            fixable=False,
        )

    # -- the project's hasher -------------------------------------------------------

    def _project_hasher(self) -> dict[str, Any] | None:
        """Where the project hashes passwords properly: this module when it
        imports a hasher library, else the first indexed module that does."""
        if self._hasher is not False:
            return self._hasher  # type: ignore[return-value]
        found: dict[str, Any] | None = None
        own = sorted({q.split(".", 1)[0] for q in self.ctx.imports.names.values()} & set(HASHER_LIBRARIES))
        if own:
            functions = sorted(
                s.name for s in self.ctx.tree.body if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef)) and HASHER_FUNCTION.match(s.name)
            )
            found = {"relative": self.ctx.source.relative, "module": self.ctx.module, "library": own[0], "functions": functions}
        elif self.ctx.index is not None:
            for relative in sorted(self.ctx.index.summaries):
                summary = self.ctx.index.summaries[relative]
                if summary.layer in ("test", "migration") or relative == self.ctx.source.relative:
                    continue
                libraries = sorted({r.module.split(".", 1)[0] for r in summary.imports} & set(HASHER_LIBRARIES))
                if libraries:
                    functions = sorted(n for n in summary.symbols if HASHER_FUNCTION.match(n))
                    found = {"relative": relative, "module": summary.module, "library": libraries[0], "functions": functions}
                    break
        self._hasher = found
        return found


def _algorithm_label(algorithm: str) -> str:
    """``sha256`` → ``SHA-256``, ``sha3_256`` → ``SHA3-256``, ``blake2b`` → ``BLAKE2b``."""
    if algorithm.startswith("sha3_"):
        return "SHA3-" + algorithm[5:]
    if algorithm.startswith("sha512_"):
        return "SHA-512/" + algorithm[7:]
    if algorithm.startswith("sha"):
        return "SHA-" + algorithm[3:]
    if algorithm.startswith("blake2"):
        return "BLAKE2" + algorithm[6:]
    return algorithm.upper()


def _plain_operand(data: ast.expr) -> ast.expr | None:
    """``raw.encode()`` / ``str(raw)`` / ``raw`` → ``raw`` (a plain name)."""
    for _ in range(4):
        if isinstance(data, ast.Call) and isinstance(data.func, ast.Attribute) and data.func.attr in ("encode", "strip"):
            data = data.func.value
        elif isinstance(data, ast.Call) and isinstance(data.func, ast.Name) and data.func.id in ("str", "bytes") and data.args:
            data = data.args[0]
        else:
            break
    return data if isinstance(data, ast.Name) else None


def _is_stored(expr: ast.expr) -> bool:
    """A password read from a loaded record (``user.password``,
    ``row["password"]``), not from what the request submitted."""
    if not isinstance(expr, (ast.Attribute, ast.Subscript)):
        return False
    base_name = (dotted_name(expr.value) or "").rsplit(".", 1)[-1].lower()
    if not base_name or base_name == "self":
        return False
    return base_name not in INPUT_NAMES and not base_name.endswith(("_in", "_data", "_form", "_request", "_payload", "_schema"))
