"""A secret (password, key, token, private key, credentialed URL) is written in the code.

## What it does
Flags string literals that hold a secret:

- assigned to a secret-bearing name (`SECRET_KEY = "…"`, `app.config["SECRET_KEY"] = "…"`,
  `self.api_key = "…"`), a settings-class field default, a keyword argument
  (`Redis(password="…")`), a dict entry (`DATABASES = {"default": {"PASSWORD": "…"}}`),
  a parameter default, or Basic-auth credentials (`auth=("user", "…")`);
- used as the fallback of an environment read (`os.environ.get("SECRET_KEY", "dev-secret")`,
  `os.getenv("JWT_SECRET", "x")`, django-environ `env("X", default="…")`,
  `decouple.config("X", default="…")`);
- a URL with a password in it (`postgresql://app:pass@db/app`);
- a well-known credential format anywhere in a string: AWS access keys, Slack,
  GitHub, Stripe live, Anthropic, OpenAI, Google and SendGrid keys, PEM private keys.

The same patterns are checked in the configuration files git tracks
(`*.yaml`, `*.yml`, `*.toml`, `*.json`, `*.ini`, `*.cfg`, `.env*`, and
`process.env.X || "…"` fallbacks in JS/TS).

The message never shows the value: only a mask, its length and where it is.

Stays quiet on empty strings and placeholders (`changethis`, `change-me`,
`<your-key>`, `xxx`, `${VAR}`, `{{ var }}`, `your-api-key-here`, `dummy`,
`example`, `test`), on a value that only names a field (`"password"`,
`"secret"`, `"token"`: a form field or dict key; inside a URL the same word is
a real password and is reported), on settings declared without a value,
values read from the environment or a secret manager, Argon2/bcrypt/PBKDF2
hash strings (dummy hashes against timing attacks), `Enum` members, schema
examples, type annotations, a lone word or snake_case code in a dict or a
keyword argument (`{"password": "too_short"}`, a translation table), and test code — where only well-known token
formats that look real are reported (there is no setting for this yet).

## Why is this bad?
A secret in the source is in every clone, fork, backup, CI log and container
image of the repository, and in its history forever: rotating it is the only
fix once it is pushed. The same value is then shared by every environment,
so a leaked development key opens production. A fallback default is worse
than none: a deployment that forgets the variable starts anyway, signing
sessions and tokens with a key anyone can read.

## Example
```python
SECRET_KEY = "django-insecure-9r@x1k…"
JWT_SECRET = os.getenv("JWT_SECRET", "dev-secret")
engine = create_engine("postgresql://app:s3cr3t@db/app")
```

## Use instead
```python
class Settings(BaseSettings):
    secret_key: SecretStr          # required: read from the environment / .env
    jwt_secret: SecretStr
    database_url: PostgresDsn


settings = Settings()
```

## Fix
Replaces the literal with `os.environ["NAME"]` (with `import os`, or the
module's existing alias of `os`), or with the project's settings object when
it has a pydantic-settings class (adding the field when it is missing); a
settings field loses its default; an env read loses its fallback. When the
project has a `.env.example`, `NAME=` (no value) is added to it. The secret
itself must still be rotated: it stays in the history.

## References
- OWASP: [Secrets Management Cheat Sheet](https://cheatsheetseries.owasp.org/cheatsheets/Secrets_Management_Cheat_Sheet.html)
- The Twelve-Factor App: [III. Config](https://12factor.net/config)
- pydantic-settings: [Settings management](https://docs.pydantic.dev/latest/concepts/pydantic_settings/)
- CWE-798: [Use of Hard-coded Credentials](https://cwe.mitre.org/data/definitions/798.html)
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..analysis.semantics import callee_name, dotted_name
from . import _secrets
from .base import Rule, Span

ENV_READERS = frozenset({"os.environ.get", "os.getenv", "os.environ.setdefault", "os.environb.get", "os.getenvb"})
SECRET_WRAPPERS = frozenset({"SecretStr", "SecretBytes", "Secret", "Field"})
BASIC_AUTH = frozenset({"HTTPBasicAuth", "HTTPDigestAuth", "BasicAuth", "HTTPProxyAuth"})
MAIL_RECEIVER_HINTS = ("smtp", "imap", "ftp", "mail", "server", "pop")
ENUM_BASES = frozenset({"Enum", "StrEnum", "IntEnum", "Flag", "IntFlag", "TextChoices", "IntegerChoices", "Choices"})
SETTINGS_BASES = frozenset({"pydantic_settings.BaseSettings", "pydantic.BaseSettings", "pydantic.v1.BaseSettings", "pydantic_settings.main.BaseSettings"})
# Keys under which schemas document example payloads.
EXAMPLE_KEYS = frozenset({"example", "examples", "json_schema_extra", "schema_extra", "openapi_examples", "openapi_extra"})
SETTINGS_MODULES = frozenset({"pydantic_settings", "pydantic", "pydantic.v1"})
# Callee roots an env read can have without being imported (see _is_env_read).
_ENV_ROOTS = frozenset({"env", "config"})


class HardcodedSecret(Rule):
    code = "SG301"
    name = "hardcoded-secret"
    default_severity = "error"
    node_types = (ast.Assign, ast.AnnAssign, ast.Call, ast.Dict, ast.arguments, ast.Constant)
    scope = "statement"
    fix_title = "Read the secret from the environment"
    fix_safe = False

    def begin(self) -> None:
        # Constants already judged in a named context (an assignment, a keyword…).
        self._seen: set[int] = set()
        # secrets.reportInTests: scan test files like any other code.
        self._in_tests = self.ctx.layer == "test" and not self.ctx.settings.secrets.report_in_tests
        self._settings: dict[str, Any] | None | bool = False
        self._env_example: bool | None = None
        self._import_roots: set[str] | None = None
        self._import_names = self.ctx.imports.names
        # Callee roots an env read can start from: names bound to `os…` or
        # `decouple…` (every ENV_READERS entry and decouple.config resolve
        # through one) and the unimported `env`/`config` (see _is_env_read).
        self._env_roots = _ENV_ROOTS | {
            local for local, qualified in self._import_names.items() if qualified.startswith(("os", "decouple"))
        }

    # -- dispatch ------------------------------------------------------------

    def visit(self, node: ast.AST) -> None:
        # Constants are the most frequent node here and nearly all are short
        # strings or numbers: rejected before any further call.
        if type(node) is ast.Constant:
            value = node.value  # type: ignore[attr-defined]
            if (len(value) < 12) if type(value) is str else type(value) is not bytes:
                return  # what _visit_constant rejects first
        # One dict lookup instead of an isinstance chain.
        _HANDLERS[type(node)](self, node)

    # -- contexts ------------------------------------------------------------

    def _visit_assign(self, node: ast.Assign) -> None:
        if self._in_enum(node):
            return
        value = node.value
        if not isinstance(value, (ast.Constant, ast.Call, ast.Tuple)):
            return  # no literal in it (see _literal)
        for target in node.targets:
            if isinstance(target, ast.Tuple) and isinstance(value, ast.Tuple) and len(target.elts) == len(value.elts):
                for sub_target, sub_value in zip(target.elts, value.elts):
                    literal = self._unjudged_literal(sub_value)
                    if literal is not None:
                        self._check_literal(_target_name(sub_target), literal, "assignment", extra=_env_hint(sub_target))
            else:
                # Most assignments are not of a string literal: test that
                # before anything else.
                literal = self._unjudged_literal(value)
                if literal is None:
                    continue
                # os.environ["X"] = "…" sets the variable: replacing the value with a read is no fix
                sets_env = isinstance(target, ast.Subscript) and self.ctx.imports.resolve(target.value) == "os.environ"
                self._check_literal(_target_name(target), literal, "assignment", fixable=not sets_env, extra=_env_hint(target))

    def _visit_ann_assign(self, node: ast.AnnAssign) -> None:
        if node.value is None:
            return
        literal = self._unjudged_literal(node.value)
        if literal is None or self._in_enum(node):
            return
        owner = getattr(node, "sg_parent", None)
        context = "settings_field" if isinstance(owner, ast.ClassDef) and self._is_settings_class(owner) else "assignment"
        self._check_literal(_target_name(node.target), literal, context, extra=_env_hint(node.target))

    def _visit_dict(self, node: ast.Dict) -> None:
        examples: bool | None = None
        for key, value in zip(node.keys, node.values):
            if not (isinstance(key, ast.Constant) and isinstance(key.value, str)):
                continue
            if key.value in EXAMPLE_KEYS:
                self._skip_subtree(value)
                continue
            literal = self._unjudged_literal(value)
            if literal is None:
                continue
            if _secrets.secret_kind(key.value) is not None:
                if examples is None:
                    # the dict has its parent links; its values not yet
                    examples = self._inside_examples(node)
                if examples:
                    continue
            self._check_literal(key.value, literal, "dict", extra=self._dict_env_hint(node, key.value))

    def _visit_arguments(self, node: ast.arguments) -> None:
        if not node.defaults and not node.kwonlyargs:
            return  # nothing has a default: the common case
        positional = [*node.posonlyargs, *node.args]
        pairs = list(zip(positional[len(positional) - len(node.defaults) :], node.defaults))
        pairs += [(arg, default) for arg, default in zip(node.kwonlyargs, node.kw_defaults) if default is not None]
        for arg, default in pairs:
            self._check(arg.arg, default, "param_default")

    def _visit_call(self, node: ast.Call) -> None:
        # The callee's root and last names first, without building its dotted
        # name: most calls are neither env reads nor credential calls.
        func = node.func
        root_expr = func
        while isinstance(root_expr, ast.Attribute):
            root_expr = root_expr.value
        if isinstance(root_expr, ast.Name):
            root = root_expr.id
            last = func.attr if isinstance(func, ast.Attribute) else root
            named = root in self._env_roots or last in BASIC_AUTH or last == "login"
            if named and self._visit_named_call(node):
                return  # an env read: its keywords were judged as part of it
        if node.keywords:
            self._visit_keywords(node)

    def _visit_named_call(self, node: ast.Call) -> bool:
        """Env reads and credential calls; True when ``node`` is an env read
        (its keywords are then judged as part of it)."""
        dotted = dotted_name(node.func) or ""
        qualified = self._resolve_dotted(dotted)
        if self._is_env_read(node, qualified, dotted):
            self._check_env_read(node, qualified or dotted)
            return True
        last = dotted.rsplit(".", 1)[-1]
        if last in BASIC_AUTH and len(node.args) >= 2:
            self._check("password", node.args[1], "positional", fixable=False, extra={"display": f"{dotted}(…)"})
        elif last == "login" and len(node.args) == 2 and isinstance(node.func, ast.Attribute):
            receiver = dotted_name(node.func.value) or ""
            if any(hint in receiver.lower() for hint in MAIL_RECEIVER_HINTS) or qualified.startswith(("smtplib", "imaplib", "ftplib", "poplib")):
                self._check("password", node.args[1], "positional", fixable=False, extra={"display": f"{receiver}.login(…)"})
        return False

    def _visit_keywords(self, node: ast.Call) -> None:
        for keyword in node.keywords:
            if keyword.arg is None:
                continue
            if keyword.arg == "auth" and isinstance(keyword.value, ast.Tuple) and len(keyword.value.elts) == 2:
                self._check("password", keyword.value.elts[1], "positional", fixable=False, extra={"display": "auth=(…)"})
                continue
            if keyword.arg in EXAMPLE_KEYS:
                self._skip_subtree(keyword.value)
                continue
            value = keyword.value
            if not isinstance(value, (ast.Constant, ast.Call)):
                continue  # no literal (see _literal)
            # The env-name hint resolves the callee: only for string literals.
            literal = self._unjudged_literal(value)
            if literal is not None:
                self._check_literal(keyword.arg, literal, "keyword", extra=self._call_env_hint(node, keyword.arg))

    def _resolve_dotted(self, dotted: str) -> str:
        """``ImportMap.resolve`` for an already computed dotted name ("" when
        the root is not imported), so a call's callee is walked once."""
        if not dotted:
            return ""
        root, _, rest = dotted.partition(".")
        qualified = self._import_names.get(root)
        if qualified is None:
            return ""
        return f"{qualified}.{rest}" if rest else qualified

    def _visit_constant(self, node: ast.Constant) -> None:
        # Value tests first: most constants are short strings or numbers.
        value = node.value
        if isinstance(value, str):
            if len(value) < 12:
                return
        elif isinstance(value, bytes):
            if len(value) < 20 or b"-----BEGIN" not in value and b"://" not in value:
                return
            value = value.decode("latin-1")
        else:
            return
        if id(node) in self._seen:
            return
        if isinstance(getattr(node, "sg_parent", None), ast.Expr):
            # A bare string statement is a docstring: documentation shows
            # example URLs and tokens, and nothing reads it as configuration.
            return
        self._check_text(None, node, value, "literal", fixable=False)

    # -- env reads -----------------------------------------------------------

    def _is_env_read(self, node: ast.Call, qualified: str, dotted: str) -> bool:
        if qualified in ENV_READERS:
            return True
        if not node.args:
            return False
        if qualified == "decouple.config":
            return True
        root = dotted.split(".", 1)[0]
        if root != "env" and dotted != "config":
            return False  # cheap name test first: most calls are neither
        roots = self._import_roots
        if roots is None:
            roots = self._import_roots = {q.split(".", 1)[0] for q in self.ctx.imports.names.values()}
        if root == "env" and "environ" in roots:  # django-environ: env = environ.Env()
            return True
        return root == "config" and "starlette" in roots and dotted == "config"

    def _check_env_read(self, node: ast.Call, callee: str) -> None:
        name_node = node.args[0] if node.args else None
        env_name = name_node.value if isinstance(name_node, ast.Constant) and isinstance(name_node.value, str) else None
        default: ast.expr | None = None
        for keyword in node.keywords:
            if keyword.arg == "default":
                default = keyword.value
        if default is None and len(node.args) >= 2 and callee.startswith(("os.", "decouple.")):
            default = node.args[1]
        if default is None:
            return
        display = dotted_name(node.func) or callee
        # os.environ.setdefault() sets the variable: there is no read to fix.
        fixable = not callee.endswith("setdefault")
        self._check(env_name, default, "env_default", fixable=fixable, extra={"env_call": display, "env_name": env_name})

    # -- judging a value -------------------------------------------------------

    def _check(
        self,
        name: str | None,
        value: ast.expr | None,
        context: str,
        *,
        fixable: bool = True,
        extra: dict[str, Any] | None = None,
    ) -> None:
        if value is None:
            return
        literal = self._unjudged_literal(value)
        if literal is not None:
            self._check_literal(name, literal, context, fixable=fixable, extra=extra)

    def _unjudged_literal(self, value: ast.expr) -> tuple[ast.Constant, str] | None:
        """The string literal ``value`` is (see ``_literal``), unless it was
        already judged in another context."""
        literal = _literal(value)
        if literal is None or id(literal[0]) in self._seen:
            return None
        return literal

    def _check_literal(
        self,
        name: str | None,
        literal: tuple[ast.Constant, str],
        context: str,
        *,
        fixable: bool = True,
        extra: dict[str, Any] | None = None,
    ) -> None:
        node, text = literal
        self._check_text(name, node, text, context, fixable=fixable and isinstance(node.value, str), extra=extra)

    def _check_text(
        self,
        name: str | None,
        node: ast.Constant,
        text: str,
        context: str,
        *,
        fixable: bool,
        extra: dict[str, Any] | None = None,
    ) -> None:
        self._seen.add(id(node))
        if _secrets.is_hash_constant(text):
            return
        token = _secrets.find_token(text)
        if token is not None and (not self._in_tests or token.kind != "pem_private_key"):
            self._report(node, name, text, token.kind, context, fixable=fixable, extra=extra)
            return
        if self._in_tests:
            return
        url = _secrets.find_url_credentials(text)
        if url is not None:
            self._report(node, name, text, "url_credentials", context, fixable=fixable, extra={**(extra or {}), "scheme": url.scheme})
            return
        kind = _secrets.secret_kind(name)
        if kind is None or context == "literal":
            return
        if not _secrets.looks_like_secret_value(text, kind):
            return
        if context in ("dict", "keyword") and _PLAIN_WORDS.fullmatch(text):
            # {"password": "too_short"}, {"password": "Passwort"}: error codes
            # and translations, not credentials
            return
        self._report(node, name, text, kind, context, fixable=fixable, extra=extra)

    # -- reporting ---------------------------------------------------------------

    def _report(
        self,
        node: ast.Constant,
        name: str | None,
        text: str,
        kind: str,
        context: str,
        *,
        fixable: bool,
        extra: dict[str, Any] | None,
    ) -> None:
        span = self.ctx.span_of(node)
        label = _secrets.kind_label(kind)
        env_name = (extra or {}).get("env_name") or (_secrets.env_name_for(name) if name else None)
        described = _secrets.describe(text)
        if context == "env_default":
            call = (extra or {}).get("env_call", "os.getenv")
            shown = f'{call}("{env_name}")' if env_name else f"{call}()"
            message = f"`{shown}` falls back to a hardcoded {label} ({described}); fail when the variable is missing instead"
        elif kind == "url_credentials":
            scheme = (extra or {}).get("scheme", "")
            where = f"`{name}` is a" if name else "A"
            message = (
                f"{where} `{scheme}://` URL with a hardcoded password (`{scheme}://…:{_secrets.MASK}@…`); "
                "read the URL or its password from the environment"
            )
        elif context == "settings_field":
            message = (
                f"Settings field `{name}` defaults to a hardcoded {label} ({described}); "
                "declare it without a value so it is read from the environment"
            )
        elif name and context != "positional":
            message = f"Hardcoded {label} in `{name}` ({described}); read it from the environment"
        elif (extra or {}).get("display"):
            message = f"Hardcoded {label} in `{extra['display']}` ({described}); read it from the environment"  # type: ignore[index]
        else:
            message = f"Hardcoded {label} in a string literal ({described}); read it from the environment"
        if kind in _secrets.TOKEN_FORMAT_KINDS:
            message = message.replace("; read it from the environment", "; rotate it and read it from the environment")
        can_fix = (
            fixable
            and env_name is not None
            and kind != "authorization"  # the variable would have to hold "Bearer …"
            and context in ("assignment", "settings_field", "env_default", "keyword", "dict")
        )
        data: dict[str, Any] = {
            "name": name,
            "env_name": env_name,
            "kind": kind,
            "context": context,
            "value_range": [span.line, span.column, span.end_line, span.end_column],
            "length": len(text),
            "settings": self._project_settings() or None,
            "has_env_example": self._has_env_example(),
        }
        if context == "env_default":
            data["env_call"] = (extra or {}).get("env_call")
        self.report(Span(span.line, span.column, span.end_line, span.end_column), message, data=data, fixable=can_fix)

    # -- project facts -----------------------------------------------------------

    def _project_settings(self) -> dict[str, Any] | None:
        """The module holding the project's pydantic-settings class, from the
        index: what the fix can point the value at."""
        if self._settings is not False:
            return self._settings  # type: ignore[return-value]
        found: dict[str, Any] | None = None
        index = self.ctx.index
        if index is not None:
            for relative in sorted(index.summaries):
                summary = index.summaries[relative]
                if summary.layer == "test":
                    continue
                if not any(record.module in SETTINGS_MODULES and "BaseSettings" in record.names for record in summary.imports):
                    continue
                classes = sorted(n for n in summary.symbols if n.endswith("Settings") and n != "BaseSettings")
                if classes:
                    found = {"relative": relative, "module": summary.module, "classes": classes}
                    break
        self._settings = found
        return found

    def _has_env_example(self) -> bool:
        if self._env_example is None:
            root = getattr(self.ctx.index, "root", None)
            try:
                self._env_example = root is not None and (Path(root) / ".env.example").is_file()
            except OSError:
                self._env_example = False
        return self._env_example

    # -- environment variable names ----------------------------------------------

    def _call_env_hint(self, call: ast.Call, keyword: str) -> dict[str, Any] | None:
        """``redis.Redis(password=…)`` → ``REDIS_PASSWORD``: a generic keyword
        is prefixed with the library or class it configures."""
        if not _secrets.is_generic_name(keyword):
            return None
        qualified = self.ctx.imports.resolve(call.func)
        if qualified and not qualified.startswith(self.ctx.module.split(".", 1)[0] + "."):
            prefix = qualified.split(".", 1)[0]
        else:
            last = (dotted_name(call.func) or "").rsplit(".", 1)[-1]
            prefix = "_".join(w for w in _secrets.name_words(last) if w not in _CALLEE_NOISE)
        if not prefix or prefix in ("dict", "update"):
            return None
        return {"env_name": _secrets.env_name_for(f"{prefix}_{keyword}")}

    def _dict_env_hint(self, node: ast.Dict, key: str) -> dict[str, Any] | None:
        """``DATABASES = {"default": {"PASSWORD": …}}`` → ``DATABASE_PASSWORD``;
        ``CLAUDE = {"api_key": …}`` → ``CLAUDE_API_KEY``."""
        if not _secrets.is_generic_name(key):
            return None
        current: ast.AST | None = node
        for _ in range(8):
            current = getattr(current, "sg_parent", None)
            if current is None or isinstance(current, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Module)):
                return None
            if isinstance(current, ast.keyword) and current.arg and current.arg != "default":
                owner = current.arg
                break
            if isinstance(current, (ast.Assign, ast.AnnAssign)):
                target = current.targets[0] if isinstance(current, ast.Assign) else current.target
                owner = _target_name(target) or ""
                break
        else:
            return None
        words = [w for w in _secrets.name_words(owner) if w not in _OWNER_NOISE]
        if not words:
            return None
        if words[-1].endswith("s") and len(words[-1]) > 3 and not words[-1].endswith("ss"):
            words[-1] = words[-1][:-1]  # DATABASES → DATABASE
        return {"env_name": _secrets.env_name_for("_".join([*words, key]))}

    # -- class and container context -----------------------------------------

    def _in_enum(self, node: ast.stmt) -> bool:
        owner = getattr(node, "sg_parent", None)
        if not isinstance(owner, ast.ClassDef):
            return False
        for base in owner.bases:
            last = (dotted_name(base) or "").rsplit(".", 1)[-1]
            if last in ENUM_BASES:
                return True
        return False

    def _is_settings_class(self, cls: ast.ClassDef) -> bool:
        for base in cls.bases:
            resolved = self.ctx.imports.resolve(base) or ""
            if resolved in SETTINGS_BASES:
                return True
            last = (dotted_name(base) or "").rsplit(".", 1)[-1]
            if last.endswith("Settings"):
                return True
        return False

    def _inside_examples(self, node: ast.AST) -> bool:
        """Whether a dict sits under an ``example``/``json_schema_extra`` key
        or keyword: documentation of a payload, not configuration."""
        child: ast.AST = node
        current = getattr(node, "sg_parent", None)
        depth = 0
        while current is not None and depth < 12:
            if isinstance(current, ast.keyword) and current.arg in EXAMPLE_KEYS:
                return True
            if isinstance(current, ast.Dict):
                for key, value in zip(current.keys, current.values):
                    if value is child and isinstance(key, ast.Constant) and key.value in EXAMPLE_KEYS:
                        return True
            if isinstance(current, ast.stmt):
                if isinstance(current, (ast.Assign, ast.AnnAssign)):
                    target = current.targets[0] if isinstance(current, ast.Assign) else current.target
                    return (_target_name(target) or "").lower() in EXAMPLE_KEYS
                return False
            child, current = current, getattr(current, "sg_parent", None)
            depth += 1
        return False

    def _skip_subtree(self, node: ast.AST) -> None:
        """Mark the named-context literals of an examples subtree as judged."""
        for sub in ast.walk(node):
            if isinstance(sub, ast.Dict):
                for key, value in zip(sub.keys, sub.values):
                    literal = _literal(value) if value is not None else None
                    # token formats are still checked by the constant visit
                    if literal is not None and isinstance(key, ast.Constant) and _secrets.find_token(literal[1]) is None:
                        self._seen.add(id(literal[0]))


_HANDLERS: dict[type[ast.AST], Callable[[HardcodedSecret, Any], None]] = {
    ast.Constant: HardcodedSecret._visit_constant,
    ast.Call: HardcodedSecret._visit_call,
    ast.Assign: HardcodedSecret._visit_assign,
    ast.AnnAssign: HardcodedSecret._visit_ann_assign,
    ast.Dict: HardcodedSecret._visit_dict,
    ast.arguments: HardcodedSecret._visit_arguments,
}

# A lone word or snake_case code: in a dict or a keyword argument that is an
# error code or a label ({"password": "too_short"}), not a credential.
_PLAIN_WORDS = re.compile(r"[^\W\d_]+(?:[_\-.][^\W\d_]+)*")
# Words dropped from a callee or owner when it prefixes an environment variable name.
_CALLEE_NOISE = frozenset({"client", "service", "session", "connection", "pool", "create", "connect", "api", "async", "sync", "new", "init", "config", "settings"})
_OWNER_NOISE = frozenset({"config", "settings", "conf", "options", "params", "kwargs", "headers", "default", "defaults", "data", "payload", "body"})
# Objects whose attribute *is* the setting: `app.secret_key`, `self.password`.
_PLAIN_OWNERS = frozenset({"self", "cls", "app", "application", "config", "settings", "current_app", "conf", "flask_app"})


def _env_hint(target: ast.AST) -> dict[str, Any] | None:
    """``stripe.api_key = …`` → ``STRIPE_API_KEY``; ``app.secret_key`` stays ``SECRET_KEY``."""
    if (
        isinstance(target, ast.Attribute)
        and isinstance(target.value, ast.Name)
        and target.value.id not in _PLAIN_OWNERS
        and _secrets.is_generic_name(target.attr)
    ):
        return {"env_name": _secrets.env_name_for(f"{target.value.id}_{target.attr}")}
    return None


def _target_name(target: ast.AST) -> str | None:
    """The name a value is stored under: ``X``, ``obj.attr``, ``d["KEY"]``."""
    if isinstance(target, ast.Name):
        return target.id
    if isinstance(target, ast.Attribute):
        return target.attr
    if isinstance(target, ast.Subscript):
        key = target.slice
        if isinstance(key, ast.Constant) and isinstance(key.value, str):
            return key.value
    return None


def _literal(value: ast.expr) -> tuple[ast.Constant, str] | None:
    """The string (or bytes) literal a value is, unwrapping
    ``SecretStr("…")``, ``Field("…")``/``Field(default="…")`` and ``"…".encode()``."""
    if isinstance(value, ast.Constant):
        if isinstance(value.value, str):
            return value, value.value
        if isinstance(value.value, bytes):
            return value, value.value.decode("latin-1")
        return None
    if isinstance(value, ast.Call):
        func = value.func
        last = callee_name(func)
        # A wrapper's name must end a plain dotted name (not `make().Field`).
        if last in SECRET_WRAPPERS and dotted_name(func) is not None:
            inner = value.args[0] if value.args else next((k.value for k in value.keywords if k.arg == "default"), None)
            return _literal(inner) if inner is not None else None
        if isinstance(func, ast.Attribute) and last == "encode" and isinstance(func.value, ast.Constant):
            return _literal(func.value)
    return None
