"""Secret detection shared by SG301 (Python) and ``config_scan`` (YAML, TOML,
JSON, INI, ``.env``, JS/TS): which names hold secrets, which literal values
are secrets rather than placeholders, field names or hashes, well-known token
formats, credentials in URLs, and how a secret is described without being
shown.

Nothing here ever returns or formats a secret's text: callers get a kind, a
label and offsets into the value, and describe the value with ``describe``
(``'********', a 40-character literal``).

Decisions (documented in SG301's docstring too):

* A value that is only a generic field word (``"password"``, ``"secret"``,
  ``"token"``…) is a key name or a form field, not a credential: quiet.
  Inside a URL (``postgresql://app:pass@db/app``) the same word is a real,
  if weak, password and is reported.
* ``test``, ``example``, ``dummy``, ``changeme``/``changethis``, ``xxx``,
  ``<…>``, ``${VAR}``, ``{{ var }}``, ``your-api-key-here`` and the like are
  placeholders: quiet. ``dev``, ``dev-secret``, ``x`` are weak real values
  and are reported.
* Argon2/bcrypt/PBKDF2/scrypt/crypt hash strings are hashes, not secrets
  (timing-attack dummies): quiet.
* In test code only well-known token formats that look real (no fake
  markers, enough distinct characters) are reported; PEM keys and URLs in
  tests are test fixtures.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

MASK = "********"

# ---------------------------------------------------------------------------
# Names

_WORD = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")

# Words that make a name secret-bearing on their own.
_PASSWORD_WORDS = frozenset({"password", "passwd", "pwd", "passphrase", "passcode"})
_SECRET_WORDS = frozenset({"secret", "secretkey", "secrets"})
_TOKEN_WORDS = frozenset({"token", "accesstoken", "authtoken", "apitoken", "bearertoken", "refreshtoken"})
_CREDENTIAL_WORDS = frozenset({"credential", "credentials", "creds"})
_KEY_COMPOUNDS = frozenset({"apikey", "privatekey", "accesskey", "signingkey", "encryptionkey", "masterkey", "authkey"})
# ``<qualifier>_key`` names that hold a key; a bare ``key`` (cache_key,
# sort_key, primary_key, session_key) does not.
_KEY_QUALIFIERS = frozenset(
    {
        "api", "access", "private", "signing", "sign", "encryption", "encrypt", "master", "auth", "hmac",
        "fernet", "secret", "app", "license", "licence", "client", "webhook", "jwt", "crypto", "aes", "rsa",
        "ssh", "gpg", "pgp", "stripe", "openai", "anthropic", "sendgrid", "mailgun", "twilio", "google", "maps",
        "aws", "azure", "gcp", "firebase", "github", "slack", "pusher", "algolia", "mapbox", "service", "django",
    }
)
# ``<qualifier>_key`` names of keys that sign or encrypt.
_SIGNING_QUALIFIERS = frozenset({"signing", "sign", "encryption", "encrypt", "master", "hmac", "fernet", "jwt", "crypto", "aes", "secret", "django"})
# The last word of a name that holds something *about* a secret.
_NON_SECRET_LAST = frozenset(
    {
        "name", "names", "field", "fields", "param", "params", "parameter", "header", "headers", "prefix", "suffix",
        "length", "len", "min", "max", "ttl", "expire", "expires", "expiry", "expiration", "lifetime", "age",
        "timeout", "minutes", "seconds", "hours", "days", "secs", "algorithm", "algorithms", "alg", "type", "types",
        "path", "paths", "file", "files", "filename", "dir", "directory", "url", "urls", "uri", "endpoint", "route",
        "env", "var", "variable", "pattern", "regex", "re", "label", "message", "msg", "hint", "help", "text",
        "title", "placeholder", "policy", "validator", "validators", "rounds", "scheme", "schemes", "location",
        "format", "class", "classes", "mode", "version", "count", "enabled", "required", "chars", "charset", "id",
        "ids", "hash", "hashed", "hasher", "hashers", "digest", "view", "form", "template", "subject", "link",
        "cookie", "question", "rule", "rules", "strength", "score", "attempts", "reset",
        "confirmation", "widget", "schema", "model", "serializer", "error", "errors", "exception", "size", "bytes",
        "bits", "lock", "locked", "kind", "store", "backend", "provider", "manager", "source", "ref", "arn",
        "query", "column", "table", "flag", "used", "set", "changed", "at", "date", "time",
    }
)
# Words anywhere in a name that make it not a secret.
_NON_SECRET_ANY = frozenset(
    {
        "public", "publishable", "pub", "page", "next", "pagination", "cursor", "eos", "bos", "pad", "unk", "sep",
        "mask", "cls", "stop", "special", "tokenizer", "session", "cache", "sort", "primary", "foreign",
        "idempotency", "hash", "hashed", "hasher", "hashers", "salt", "dummy", "fake", "mock", "example", "sample",
        "placeholder", "forgot", "min", "max",
    }
)


def name_words(name: str) -> list[str]:
    """``SECRET_KEY`` → [secret, key]; ``clientSecret`` → [client, secret]."""
    return [w.lower() for w in _WORD.findall(name)]


@lru_cache(maxsize=4096)
def secret_kind(name: str | None) -> str | None:
    """``password``, ``secret``, ``token``, ``api_key``, ``private_key`` or
    ``credentials`` when a variable, key, keyword or env var called ``name``
    holds a secret; None otherwise (``TOKEN_URL``, ``password_min_length``,
    ``public_key``, ``cache_key``, ``eos_token``…)."""
    if not name:
        return None
    words = name_words(name)
    if not words:
        return None
    if words[-1] in _NON_SECRET_LAST:
        return None
    if any(word in _NON_SECRET_ANY for word in words):
        return None
    if any(word in _PASSWORD_WORDS for word in words) or (words[-1] in ("pass", "pw") and len(words) > 1):
        return "password"
    if any(word in ("privatekey",) for word in words) or _qualified_key(words, {"private"}):
        return "private_key"
    if any(word in _SECRET_WORDS for word in words):
        return "secret"
    if any(word in ("signingkey", "encryptionkey", "masterkey") for word in words) or _qualified_key(words, _SIGNING_QUALIFIERS):
        return "signing_key"
    if any(word in _KEY_COMPOUNDS for word in words) or _qualified_key(words, _KEY_QUALIFIERS):
        return "api_key"
    if any(word in _TOKEN_WORDS for word in words):
        return "token"
    if any(word in _CREDENTIAL_WORDS for word in words):
        return "credentials"
    if words == ["authorization"]:
        return "authorization"
    return None


def _qualified_key(words: list[str], qualifiers: set[str] | frozenset[str]) -> bool:
    for index, word in enumerate(words):
        if word in ("key", "keys") and index > 0 and words[index - 1] in qualifiers:
            return True
    return False


KIND_LABELS = {
    "password": "password",
    "secret": "secret",
    "token": "token",
    "api_key": "API key",
    "signing_key": "signing key",
    "private_key": "private key",
    "credentials": "credentials",
    "authorization": "authorization header",
    "url_credentials": "password in a URL",
    "aws_access_key": "AWS access key",
    "slack_token": "Slack token",
    "slack_webhook": "Slack webhook URL",
    "github_token": "GitHub token",
    "stripe_key": "Stripe live key",
    "anthropic_key": "Anthropic API key",
    "openai_key": "OpenAI API key",
    "google_api_key": "Google API key",
    "sendgrid_key": "SendGrid API key",
    "pem_private_key": "PEM private key",
}

# Kinds found by format (the value is a real credential of a known service).
TOKEN_FORMAT_KINDS = frozenset(
    {"aws_access_key", "slack_token", "slack_webhook", "github_token", "stripe_key", "anthropic_key", "openai_key", "google_api_key", "sendgrid_key", "pem_private_key"}
)


def kind_label(kind: str) -> str:
    return KIND_LABELS.get(kind, kind.replace("_", " "))


_GENERIC_WORDS = frozenset(
    {"password", "passwd", "pwd", "pass", "secret", "token", "key", "api", "apikey", "auth", "access", "private", "credentials", "creds", "authorization"}
)


def is_generic_name(name: str) -> bool:
    """``password``, ``api_key``, ``token``: a name that says what a value is
    but not what it is for (``REDIS_PASSWORD`` says both)."""
    words = name_words(name)
    return bool(words) and len(words) <= 2 and set(words) <= _GENERIC_WORDS


def env_name_for(name: str) -> str:
    """The environment variable a named value should come from:
    ``secretKey`` → ``SECRET_KEY``, ``db.password`` → ``DB_PASSWORD``."""
    words = name_words(name)
    return "_".join(word.upper() for word in words) if words else "SECRET"


# ---------------------------------------------------------------------------
# Values

# Generic field/key words: a value equal to one of these names a field.
_FIELD_WORDS = frozenset(
    {
        "password", "passwd", "pwd", "pass", "passphrase", "secret", "secrets", "token", "tokens", "access_token",
        "refresh_token", "id_token", "auth_token", "api_key", "apikey", "api-key", "x-api-key", "client_secret",
        "secret_key", "private_key", "authorization", "credentials", "new_password", "old_password",
        "current_password", "confirm_password", "password1", "password2", "password_confirmation", "jwt",
        "bearer", "basic", "key", "value",
    }
)
# Mode and state words that settings take: not credentials.
_ENUM_WORDS = frozenset(
    {
        "required", "optional", "hidden", "readonly", "write_only", "true", "false", "yes", "no", "on", "off",
        "enabled", "disabled", "none", "null", "nil", "undefined", "plain", "plaintext", "text", "hash", "hashed",
        "sha256", "sha512", "sha1", "md5", "hs256", "hs384", "hs512", "rs256", "rs384", "rs512", "es256", "es384",
        "es512", "eddsa", "argon2", "argon2id", "bcrypt", "pbkdf2", "scrypt", "auto", "env", "file", "vault",
        "header", "cookie", "query", "body", "form", "json", "raw", "string", "str", "int", "utf-8", "utf8",
        "ascii", "base64", "hex", "secure", "insecure", "strict", "lax",
    }
)
_PLACEHOLDER_WORDS = frozenset(
    {
        "changeme", "change-me", "change_me", "changethis", "change-this", "change_this", "changeit", "replaceme",
        "replace-me", "replace_me", "todo", "tbd", "fixme", "placeholder", "dummy", "example", "sample", "test",
        "testing", "fake", "mock", "redacted", "secret-here", "notset", "not-set", "unset", "default", "foo",
        "bar", "baz", "foobar", "n/a", "na", "none", "null", "nil", "undefined", "empty", "blank",
    }
)
_PLACEHOLDER_MARKERS = (
    "changeme", "change-me", "change_me", "changethis", "change-this", "change_this", "replace-me",
    "replace_me", "replaceme", "example", "placeholder", "dummy", "redacted", "not-a-real", "not_a_real",
    "notarealsecret", "insert-", "insert_", "put-your", "put_your", "fill-me", "fill_me", "fillme",
)
_TEMPLATE = re.compile(
    r"""^(?:
        \$\{\{?.*\}?\}$            # ${VAR}, ${{ secrets.X }}
      | \$\{.*$                    # ${VAR:-default…
      | \$[A-Za-z_][A-Za-z0-9_]*$  # $VAR
      | \$\(.*\)$                  # $(command)
      | \{\{.*\}\}$                # {{ var }}, {{ .Values.x }}
      | \{%.*%\}$                  # {% … %}
      | \{[A-Za-z_][\w.]*\}$        # {password}
      | %\([A-Za-z_]\w*\)s$        # %(password)s
      | %[A-Za-z_]\w*%$            # %VAR%
      | <[^<>]*>$                  # <your-key>
      | \[[^\[\]]*\]$              # [secret]
      | ENC\[.*\]$                 # sops
      | !\w+.*$                    # YAML tags: !vault, !ENV, !secret
      | (?:vault|op|sm|awssm|gcpsm|azkv|ssm|secretsmanager|arn):.*$
    )""",
    re.VERBOSE | re.DOTALL,
)
_REPEAT = re.compile(r"^(.)\1*$")
_X_RUN = re.compile(r"x{3,}|\*{3,}|\.{3,}|#{3,}|_{4,}", re.IGNORECASE)
_YOUR = re.compile(r"(?:^|[^a-z])your[-_ ]?[a-z]|[-_ ]here$|^here[-_]", re.IGNORECASE)
_ENV_NAME = re.compile(r"^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+$")
_DOTTED = re.compile(r"^[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+$")
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://")
_FILE_SUFFIX = re.compile(r"\.(?:pem|key|crt|cer|der|p12|pfx|jks|json|txt|yaml|yml|toml|ini|cfg|env|pub|gpg|asc)$", re.IGNORECASE)
_HASH_PREFIXES = (
    "$argon2", "$2a$", "$2b$", "$2x$", "$2y$", "$pbkdf2", "pbkdf2_", "pbkdf2:", "$scrypt", "scrypt:", "$5$", "$6$",
    "$1$", "$y$", "$7$", "bcrypt$", "argon2$", "bcrypt_sha256$", "{ssha}", "{ssha512}",
)


def is_hash_constant(value: str) -> bool:
    """An Argon2/bcrypt/PBKDF2/scrypt/crypt hash string, e.g. the dummy hash
    verified against when a user does not exist (timing-attack defence)."""
    lowered = value.strip().lower()
    return lowered.startswith(_HASH_PREFIXES)


def is_placeholder(value: str) -> bool:
    """Empty, a template reference (``${VAR}``, ``{{ var }}``), or a value
    that says it is to be replaced (``changethis``, ``<your-key>``, ``xxx``,
    ``your-api-key-here``, ``dummy``, ``example``, ``test``)."""
    stripped = value.strip().strip("'\"").strip()
    if not stripped:
        return True
    lowered = stripped.lower()
    if lowered in _PLACEHOLDER_WORDS:
        return True
    if _TEMPLATE.match(stripped):
        return True
    if len(stripped) > 1 and _REPEAT.match(stripped):
        return True  # "xxxxxxxx", "00000000", "********"
    if _X_RUN.search(stripped):
        return True
    if _YOUR.search(stripped):
        return True
    return any(marker in lowered for marker in _PLACEHOLDER_MARKERS)


def is_field_word(value: str) -> bool:
    lowered = value.strip().lower()
    return lowered in _FIELD_WORDS or lowered.replace("-", "_") in _FIELD_WORDS


def looks_like_secret_value(value: str, kind: str) -> bool:
    """Whether a literal assigned to a secret-bearing name is a real value:
    not empty, a placeholder, a field name, a mode word, a hash, a path, a
    dotted import path, an env var's name, prose or a plain URL."""
    stripped = value.strip()
    if not stripped or is_placeholder(stripped) or is_hash_constant(stripped):
        return False
    if kind == "authorization":
        scheme, _, credential = stripped.partition(" ")
        if scheme.lower() not in ("bearer", "basic", "token", "apikey", "api-key", "digest") or not credential.strip():
            return False
        return len(credential.strip()) >= 8 and not is_placeholder(credential)
    if any(ch.isspace() for ch in stripped):
        return False  # prose: "Enter your password", "Reset your password"
    lowered = stripped.lower()
    if is_field_word(stripped) or lowered in _ENUM_WORDS:
        return False
    if _URL.match(stripped):
        return False  # a URL without credentials; URLs with them are found separately
    if stripped.startswith(("/", "./", "../", "~/", "\\\\")) or re.match(r"^[A-Za-z]:[\\/]", stripped):
        return False
    if _FILE_SUFFIX.search(stripped) and not stripped.startswith("-----"):
        return False  # "certs/jwt-private.pem"
    if _DOTTED.match(stripped) and not stripped.startswith("eyJ"):
        return False  # "django.contrib.auth.hashers.Argon2PasswordHasher"
    if _ENV_NAME.match(stripped):
        return False  # "JWT_SECRET": the name of a variable, not its value
    # A short number is a count or a port unless it is a password.
    return kind == "password" or not (stripped.isdigit() and len(stripped) < 6)


def describe(value: str) -> str:
    """How a message refers to a secret value: the mask and the length only."""
    length = len(value)
    return f"'{MASK}', a {length}-character literal"


# ---------------------------------------------------------------------------
# Well-known formats


@dataclass(frozen=True)
class TokenMatch:
    kind: str
    start: int  # offsets into the scanned text
    end: int

    @property
    def label(self) -> str:
        return kind_label(self.kind)


_TOKEN_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("aws_access_key", re.compile(r"(?<![A-Z0-9])(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}(?![A-Z0-9])")),
    ("slack_token", re.compile(r"(?<![\w-])xox[baprs]-[0-9A-Za-z][0-9A-Za-z-]{9,}")),
    ("slack_webhook", re.compile(r"https://hooks\.slack\.com/services/T[0-9A-Za-z]+/B[0-9A-Za-z]+/[0-9A-Za-z]{16,}")),
    ("github_token", re.compile(r"(?<![\w])(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})")),
    ("stripe_key", re.compile(r"(?<![\w])(?:sk|rk)_live_[0-9A-Za-z]{16,}")),
    ("anthropic_key", re.compile(r"(?<![\w-])sk-ant-[A-Za-z0-9_-]{20,}")),
    ("openai_key", re.compile(r"(?<![\w-])sk-(?:proj-|svcacct-|admin-)[A-Za-z0-9_-]{20,}|(?<![\w-])sk-[A-Za-z0-9]{48}(?![\w-])")),
    ("google_api_key", re.compile(r"(?<![\w-])AIza[0-9A-Za-z_-]{35}(?![\w-])")),
    ("sendgrid_key", re.compile(r"(?<![\w-])SG\.[\w-]{22}\.[\w-]{43}(?![\w-])")),
)
# The header alone appears in parsers (`startswith("-----BEGIN PRIVATE KEY")`):
# a key needs its base64 body too.
_PEM_HEADER = re.compile(r"-----BEGIN (?:RSA |EC |DSA |OPENSSH |ENCRYPTED |PGP |ED25519 )?PRIVATE KEY(?: BLOCK)?-----")
_PEM_ESCAPES = re.compile(r"\\[nrt]|\s")
_PEM_BODY_MIN = 64
_TOKEN_HINT = re.compile(r"AKIA|ASIA|ABIA|ACCA|xox|hooks\.slack|gh[pousr]_|github_pat_|_live_|sk-|AIza|SG\.|PRIVATE KEY")
_FAKE_MARKERS = ("example", "fake", "dummy", "test", "sample", "xxxx", "0000", "1234", "abcd", "placeholder", "redacted", "mock", "invalid")


def find_token(text: str) -> TokenMatch | None:
    """The first well-known credential format in ``text`` that is not a
    placeholder or an obvious fake (``AKIAIOSFODNN7EXAMPLE``,
    ``sk_live_xxxx…``, ``ghp_aaaa…``)."""
    if len(text) < 20 or not _TOKEN_HINT.search(text):
        return None
    found: TokenMatch | None = None
    for kind, pattern in _TOKEN_PATTERNS:
        for match in pattern.finditer(text):
            if is_placeholder(match.group()) or looks_fake(match.group()):
                continue
            if found is None or match.start() < found.start:
                found = TokenMatch(kind, match.start(), match.end())
            break
    pem = find_pem(text)
    if pem is not None and (found is None or pem.start < found.start):
        found = pem
    return found


def find_pem(text: str) -> TokenMatch | None:
    """A PEM private key block with its body (real or ``\\n``-escaped newlines)."""
    for header in _PEM_HEADER.finditer(text):
        rest = text[header.end() : header.end() + 8000]
        end_marker = rest.find("-----END")
        body = rest if end_marker < 0 else rest[:end_marker]
        lines = [line for line in re.split(r"\\n|\n", body) if ":" not in line]  # drop Proc-Type/DEK-Info
        compact = _PEM_ESCAPES.sub("", "".join(lines))
        run = re.match(r"[A-Za-z0-9+/=]*", compact)
        if run is not None and len(run.group()) >= _PEM_BODY_MIN:
            end = header.end() + (end_marker if end_marker >= 0 else len(body))
            return TokenMatch("pem_private_key", header.start(), end)
    return None


def looks_fake(token: str) -> bool:
    """A token-shaped string that says it is not real (fixtures, docs):
    fake markers, or too few distinct characters after the prefix."""
    lowered = token.lower()
    if any(marker in lowered for marker in _FAKE_MARKERS):
        return True
    body = re.sub(r"^(?:[a-z]+[_-])+", "", token, flags=re.IGNORECASE)
    if len(set(body)) < 10:
        return True
    return bool(re.search(r"(.)\1{5,}", token))


# ---------------------------------------------------------------------------
# Credentials in URLs

_URL_CREDENTIALS = re.compile(r"(?<![\w+.-])([A-Za-z][A-Za-z0-9+.\-]*)://([^\s:/@?#'\"]*):([^\s@/?#'\"]*)@")


@dataclass(frozen=True)
class UrlCredentials:
    scheme: str
    start: int  # offsets of the password in the scanned text
    end: int


def find_url_credentials(text: str) -> UrlCredentials | None:
    """A ``scheme://user:password@`` whose password is a literal, not a
    template (``${DB_PASSWORD}``, ``{password}``, ``%(password)s``) or a mask."""
    if "://" not in text or "@" not in text:
        return None
    for match in _URL_CREDENTIALS.finditer(text):
        password = match.group(3)
        if not password or _url_placeholder(password):
            continue
        return UrlCredentials(match.group(1).lower(), match.start(3), match.end(3))
    return None


def _url_placeholder(password: str) -> bool:
    if _TEMPLATE.match(password) or "${" in password or "{{" in password or "%(" in password:
        return True
    if password.startswith(("{", "$")):
        return True  # a str.format field or an env reference
    lowered = password.lower()
    if lowered in _PLACEHOLDER_WORDS and lowered not in ("test", "default"):
        return True
    if len(password) > 1 and _REPEAT.match(password):
        return True
    return bool(_X_RUN.search(password)) or bool(_YOUR.search(password)) or any(m in lowered for m in _PLACEHOLDER_MARKERS)
