"""A JWT is decoded without verifying its signature, or with algorithms the token chooses.

## What it does
Flags, outside tests, JSON Web Token calls of PyJWT, python-jose and authlib that:

- decode with verification disabled: `options={"verify_signature": False}`,
  `verify=False` (PyJWT 1.x);
- decode without pinning `algorithms` (PyJWT, python-jose), or with the
  algorithm read from the token's own header
  (`algorithms=[jwt.get_unverified_header(token)["alg"]]`);
- accept or produce the `none` algorithm: `algorithms=["HS256", "none"]`,
  `jwt.encode(payload, key, algorithm="none")`, authlib
  `JsonWebToken(["none"])` or `jwt.encode({"alg": "none"}, …)`.

`jwt.get_unverified_header()` used to pick a key, other disabled claim
checks (`verify_aud`, `verify_exp`), and algorithm lists held in variables
stay quiet; so does authlib's `jwt.decode()`, which always verifies the
signature.

## Why is this bad?
A token whose signature is not checked is just base64 JSON the client
wrote: anyone can set `"sub": "admin"` and be admin. Letting the token pick
its algorithm is the same hole by another door: `alg: none` needs no
signature at all, and a public RSA key handed to an HMAC verifier becomes
the shared secret (algorithm confusion). The server must decide the
algorithm, and always verify.

## Example
```python
def current_user(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def current_user_jose(token: str) -> dict:
    return jose_jwt.decode(token, settings.SECRET_KEY)
```

## Use instead
```python
ALGORITHM = "HS256"


def current_user(token: str) -> dict:
    return jwt.decode(token, settings.SECRET_KEY, algorithms=[ALGORITHM])
```

## Fix
Removes the switch that disables verification (the `verify_signature` entry,
or the `options` argument when it was the only entry; `verify=False`), pins
`algorithms=[…]` to the algorithm the module already uses to encode tokens or
names in a constant (`ALGORITHM`, `JWT_ALGORITHM`, `settings.ALGORITHM`),
and passes the key the module's `encode()` call uses when the decode has
none. No fix when the algorithm or the key cannot be found.

## References
- OWASP: [JSON Web Token Cheat Sheet](https://cheatsheetseries.owasp.org/cheatsheets/JSON_Web_Token_for_Java_Cheat_Sheet.html)
- PyJWT: [`jwt.decode`](https://pyjwt.readthedocs.io/en/stable/api.html#jwt.decode)
- RFC 8725: [JSON Web Token Best Current Practices](https://www.rfc-editor.org/rfc/rfc8725)
"""

from __future__ import annotations

import ast
from typing import Any

from ..analysis.semantics import callee_name, dotted_name, enclosing_function, iter_statements
from .base import Rule

PYJWT_DECODE = frozenset({"jwt.decode", "jwt.api_jwt.decode", "jwt.PyJWT.decode", "jwt.decode_complete", "jwt.api_jws.decode"})
JOSE_DECODE = frozenset({"jose.jwt.decode", "jose.jws.verify"})
PYJWT_ENCODE = frozenset({"jwt.encode", "jwt.api_jwt.encode"})
JOSE_ENCODE = frozenset({"jose.jwt.encode", "jose.jws.sign"})
AUTHLIB_JWT = frozenset({"authlib.jose.jwt", "authlib.jose.JsonWebToken", "joserfc.jwt"})
ALGORITHM_NAMES = ("ALGORITHM", "JWT_ALGORITHM", "ALGO", "JWT_ALGO", "TOKEN_ALGORITHM", "ALGORITHMS", "JWT_ALGORITHMS")
UNVERIFIED_HEADER = ("get_unverified_header", "get_unverified_headers")
# Packages every name above lives in ("jose" covers "joserfc").
_JWT_PACKAGES = ("jwt", "jose", "authlib")


class JwtUnverified(Rule):
    code = "SG303"
    name = "jwt-unverified"
    default_severity = "error"
    layers = frozenset({"router", "service", "repository", "model", "schema", "config", "other"})
    node_types = (ast.Call,)
    fix_title = "Verify the signature with a pinned algorithm"
    fix_safe = False

    def begin(self) -> None:
        self._module_facts: dict[str, Any] | None = None
        # Every call the rule judges resolves through an import of one of
        # these packages: without one, no call needs looking at.
        self._jwt_imported = any(q.startswith(_JWT_PACKAGES) for q in self.ctx.imports.names.values())
        if not self._jwt_imported:
            self.node_types = ()  # type: ignore[assignment,misc]  # the engine then dispatches nothing here

    def visit(self, node: ast.AST) -> None:
        if not self._jwt_imported:
            return
        assert isinstance(node, ast.Call)
        func = node.func
        last = callee_name(func)
        if last not in ("decode", "decode_complete", "verify", "encode", "sign", "JsonWebToken"):
            return
        qualified = self.ctx.imports.resolve(func) or ""
        if qualified in PYJWT_DECODE or qualified in JOSE_DECODE:
            self._check_decode(node, "python-jose" if qualified.startswith("jose") else "pyjwt")
        elif qualified in PYJWT_ENCODE or qualified in JOSE_ENCODE:
            self._check_encode(node, _keyword(node, "algorithm") or (node.args[2] if len(node.args) > 2 else None))
        elif qualified.startswith(tuple(AUTHLIB_JWT)):
            self._check_authlib(node, qualified)

    # -- decode -----------------------------------------------------------------

    def _check_decode(self, call: ast.Call, library: str) -> None:
        options = _keyword(call, "options")
        verify = _keyword(call, "verify")
        algorithms = _keyword(call, "algorithms")
        if algorithms is None and library == "python-jose" and len(call.args) > 2:
            algorithms = call.args[2]
        if algorithms is None and library == "pyjwt" and len(call.args) > 2:
            algorithms = call.args[2]
        options_dict = self._resolve_dict(options)
        if options_dict is not None and _dict_flag(options_dict, "verify_signature") is False:
            self._report(call, library, "verification_disabled", "decodes without verifying the signature (`verify_signature: False`)", options_inline=isinstance(options, ast.Dict))
            return
        if isinstance(verify, ast.Constant) and verify.value is False:
            self._report(call, library, "verification_disabled", "decodes without verifying the signature (`verify=False`)")
            return
        if algorithms is None:
            self._report(call, library, "algorithms_missing", "decodes without pinning `algorithms`: the token's header picks the algorithm")
            return
        if _mentions_call(algorithms, UNVERIFIED_HEADER) or self._bound_to_unverified_header(call, algorithms):
            self._report(call, library, "algorithms_from_token", "takes `algorithms` from the token's own unverified header")
            return
        values = self._resolve_strings(algorithms)
        if values is not None and any(v.lower() == "none" for v in values):
            self._report(call, library, "alg_none", "accepts the \"none\" algorithm: unsigned tokens pass")

    def _check_encode(self, call: ast.Call, algorithm: ast.expr | None) -> None:
        if algorithm is None:
            return
        value = self._resolve_strings(algorithm)
        if value is not None and len(value) == 1 and value[0].lower() == "none":
            self._report(call, "pyjwt", "encode_none", "issues tokens with `alg: none`, without a signature")

    def _check_authlib(self, call: ast.Call, qualified: str) -> None:
        last = qualified.rsplit(".", 1)[-1]
        if last == "JsonWebToken" and call.args:
            values = self._resolve_strings(call.args[0])
            if values is not None and any(v.lower() == "none" for v in values):
                self._report(call, "authlib", "alg_none", "accepts the \"none\" algorithm: unsigned tokens pass")
        elif last == "encode" and call.args:
            header = self._resolve_dict(call.args[0])
            if header is not None:
                alg = _dict_value(header, "alg")
                if isinstance(alg, ast.Constant) and isinstance(alg.value, str) and alg.value.lower() == "none":
                    self._report(call, "authlib", "encode_none", "issues tokens with `alg: none`, without a signature")

    def _bound_to_unverified_header(self, call: ast.Call, algorithms: ast.expr) -> bool:
        """``header = jwt.get_unverified_header(token)`` … ``algorithms=[header["alg"]]``."""
        names = {n.id for n in ast.walk(algorithms) if isinstance(n, ast.Name)}
        if not names:
            return False
        function = enclosing_function(call)
        if function is None:
            return False
        for stmt in iter_statements(function.body):
            if (
                isinstance(stmt, ast.Assign)
                and any(isinstance(t, ast.Name) and t.id in names for t in stmt.targets)
                and _mentions_call(stmt.value, UNVERIFIED_HEADER)
            ):
                return True
        return False

    # -- reporting ------------------------------------------------------------------

    def _report(self, call: ast.Call, library: str, problem: str, detail: str, *, options_inline: bool = True) -> None:
        callee = self.ctx.source.segment(call.func) or "jwt.decode"
        facts = self._facts()
        algorithm = facts.get("algorithm")
        key = facts.get("key")
        has_key = _has_key(call)
        fixable = (
            library in ("pyjwt", "python-jose")
            and problem != "encode_none"
            and options_inline
            and algorithm is not None
            and (has_key or key is not None)
        )
        advice = {
            "alg_none": "allow only the algorithm the tokens are signed with",
            "encode_none": "sign tokens with the project's algorithm and key",
        }.get(problem, "verify the signature with a pinned algorithm")
        self.report(
            call,
            f"`{callee}()` {detail}; {advice}",
            data={
                "library": library,
                "problem": problem,
                "algorithm_expr": algorithm,
                "key_expr": key if not has_key else None,
            },
            fixable=fixable,
        )

    # -- what the module knows ---------------------------------------------------------

    def _facts(self) -> dict[str, Any]:
        """The algorithm and key the module uses for tokens, as code text:
        a constant's name (``ALGORITHM``), a settings attribute
        (``settings.JWT_ALGORITHM``) or a literal algorithm name from an
        ``encode()`` call. A key is only ever a name or attribute, never a
        literal (that would be a secret, and SG301's business)."""
        if self._module_facts is not None:
            return self._module_facts
        algorithm: str | None = None
        key: str | None = None
        for stmt in self.ctx.tree.body:
            if isinstance(stmt, (ast.Assign, ast.AnnAssign)):
                targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
                for target in targets:
                    if isinstance(target, ast.Name) and target.id in ALGORITHM_NAMES and algorithm is None:
                        value = stmt.value
                        if isinstance(value, ast.Constant) and isinstance(value.value, str) and value.value.lower() != "none":
                            algorithm = target.id
        if algorithm is None or key is None:
            for node in ast.walk(self.ctx.tree):
                if not isinstance(node, ast.Call):
                    continue
                qualified = self.ctx.imports.resolve(node.func) or ""
                if qualified in PYJWT_ENCODE or qualified in JOSE_ENCODE:
                    alg = _keyword(node, "algorithm") or (node.args[2] if len(node.args) > 2 else None)
                    if algorithm is None and alg is not None and _safe_algorithm(alg):
                        algorithm = self.ctx.source.segment(alg) or None
                    secret = _keyword(node, "key") or (node.args[1] if len(node.args) > 1 else None)
                    if key is None and isinstance(secret, (ast.Name, ast.Attribute)):
                        key = self.ctx.source.segment(secret) or None
                elif qualified in PYJWT_DECODE or qualified in JOSE_DECODE:
                    algs = _keyword(node, "algorithms")
                    if algorithm is None and isinstance(algs, (ast.List, ast.Tuple)) and len(algs.elts) == 1 and _safe_algorithm(algs.elts[0]):
                        algorithm = self.ctx.source.segment(algs.elts[0]) or None
                    secret = _keyword(node, "key") or (node.args[1] if len(node.args) > 1 else None)
                    if key is None and isinstance(secret, (ast.Name, ast.Attribute)):
                        key = self.ctx.source.segment(secret) or None
        if algorithm is None:
            algorithm = self._settings_algorithm()
        self._module_facts = {"algorithm": algorithm, "key": key}
        return self._module_facts

    def _settings_algorithm(self) -> str | None:
        """``settings.ALGORITHM``-style attributes read anywhere in the module."""
        for node in ast.walk(self.ctx.tree):
            if isinstance(node, ast.Attribute) and node.attr.upper() in ALGORITHM_NAMES[:6] and isinstance(node.value, (ast.Name, ast.Attribute)):
                text = self.ctx.source.segment(node)
                if text:
                    return text
        return None

    def _resolve_dict(self, expr: ast.expr | None) -> ast.Dict | ast.Call | None:
        """A dict literal, ``dict(...)``, or a module/function-level name bound to one."""
        if expr is None:
            return None
        if isinstance(expr, ast.Dict) or (isinstance(expr, ast.Call) and dotted_name(expr.func) == "dict"):
            return expr
        if isinstance(expr, ast.Name):
            value = self._binding(expr)
            if isinstance(value, ast.Dict) or (isinstance(value, ast.Call) and dotted_name(value.func) == "dict"):
                return value
        return None

    def _resolve_strings(self, expr: ast.expr) -> list[str] | None:
        if isinstance(expr, ast.Name):
            bound = self._binding(expr)
            if bound is None:
                return None
            expr = bound
        if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
            return [expr.value]
        if isinstance(expr, (ast.List, ast.Tuple, ast.Set)):
            values = [e.value for e in expr.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)]
            return values if len(values) == len(expr.elts) else None
        return None

    def _binding(self, name: ast.Name) -> ast.expr | None:
        """The value of the last plain assignment to ``name`` at module level."""
        found: ast.expr | None = None
        for stmt in self.ctx.tree.body:
            if isinstance(stmt, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name.id for t in stmt.targets) or isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name) and stmt.target.id == name.id and stmt.value is not None:
                found = stmt.value
        return found


def _keyword(call: ast.Call, name: str) -> ast.expr | None:
    for keyword in call.keywords:
        if keyword.arg == name:
            return keyword.value
    return None


def _dict_value(node: ast.Dict | ast.Call, key: str) -> ast.expr | None:
    if isinstance(node, ast.Dict):
        for k, v in zip(node.keys, node.values):
            if isinstance(k, ast.Constant) and k.value == key:
                return v
        return None
    return _keyword(node, key)


def _dict_flag(node: ast.Dict | ast.Call, key: str) -> bool | None:
    value = _dict_value(node, key)
    if isinstance(value, ast.Constant) and isinstance(value.value, bool):
        return value.value
    return None


def _mentions_call(expr: ast.AST, names: tuple[str, ...]) -> bool:
    for node in ast.walk(expr):
        if isinstance(node, ast.Call):
            last = (dotted_name(node.func) or "").rsplit(".", 1)[-1]
            if last in names:
                return True
    return False


def _safe_algorithm(expr: ast.expr) -> bool:
    """A usable pinned algorithm: a name/attribute, or a literal other than none."""
    if isinstance(expr, ast.Constant):
        return isinstance(expr.value, str) and expr.value.lower() != "none" and bool(expr.value)
    return isinstance(expr, (ast.Name, ast.Attribute))


def _has_key(call: ast.Call) -> bool:
    if _keyword(call, "key") is not None:
        return True
    if len(call.args) > 1:
        key = call.args[1]
        return not (isinstance(key, ast.Constant) and key.value in (None, ""))
    return False
