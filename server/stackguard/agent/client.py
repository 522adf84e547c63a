"""The one door to the Anthropic Messages API: the only module that imports
``anthropic``.

* The key comes from the environment variable named by ``agent.apiKeyEnv``
  and goes to the SDK and nowhere else: it is never logged (a log record
  factory scrubs it from every record, tracebacks included), never part of an
  error message, never returned. ``repr(client)`` does not show it.
* ``base_url``: ``agent.baseUrl``, else ``ANTHROPIC_BASE_URL``, else the SDK's
  default.
* Retries are ours, not the SDK's (``max_retries=0``): a bounded loop with
  exponential backoff and jitter on 408/409/429/5xx/529 and connection errors
  that honours ``retry-after-ms``/``retry-after`` and ``x-should-retry``. The
  waits are ``asyncio.sleep`` calls, so cancelling the caller stops a retry as
  promptly as it aborts an HTTP request in flight, and tests can inject the
  sleep to see exactly how long the client waited.
* Errors become ``AgentApiError`` with a message meant for the user: what the
  API said (type and message from its error body), what to do about it, and
  never the key.

Replies are plain dicts and dataclasses (``ModelReply``, ``TokenUsage``) so
the rest of the agent never touches SDK types. The SDK itself is imported
when the first client is built: it takes seconds to import, and a server
without a key, or a user who never runs an agent action, should not pay that
at startup.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import os
import random
import re
import threading
import time
import traceback
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit

if TYPE_CHECKING:
    import anthropic

log = logging.getLogger(__name__)

# Output tokens one reply may use. propose_edits carries whole files, so this
# is generous; the loop lowers it when the action's token budget runs short.
DEFAULT_MAX_OUTPUT_TOKENS = 16_384
# A long non-streaming reply takes minutes; connecting should not.
CONNECT_TIMEOUT_S = 10.0
READ_TIMEOUT_S = 600.0
WRITE_TIMEOUT_S = 60.0
# One first try plus three retries.
DEFAULT_MAX_ATTEMPTS = 4
BACKOFF_BASE_S = 1.0
BACKOFF_MAX_S = 20.0
# A server that asks for a longer pause than this is not worth waiting for
# from an editor: give up and say so.
MAX_RETRY_WAIT_S = 60.0
RETRYABLE_STATUSES = frozenset({408, 409, 429})
_API_MESSAGE_CHARS = 300

SleepFn = Callable[[float], Awaitable[None]]
RetryFn = Callable[[int, float, str], None]


# -- results ----------------------------------------------------------------------------


@dataclass(frozen=True)
class TokenUsage:
    input_tokens: int = 0
    output_tokens: int = 0
    cache_creation_input_tokens: int = 0
    cache_read_input_tokens: int = 0

    def __add__(self, other: TokenUsage) -> TokenUsage:
        return TokenUsage(
            self.input_tokens + other.input_tokens,
            self.output_tokens + other.output_tokens,
            self.cache_creation_input_tokens + other.cache_creation_input_tokens,
            self.cache_read_input_tokens + other.cache_read_input_tokens,
        )

    @property
    def total(self) -> int:
        """Every token the API processed: input (the API counts cached input
        apart from ``input_tokens``), cache writes and reads, and output."""
        return self.input_tokens + self.cache_creation_input_tokens + self.cache_read_input_tokens + self.output_tokens

    def to_dict(self) -> dict[str, int]:
        return {
            "inputTokens": self.input_tokens,
            "outputTokens": self.output_tokens,
            "cacheCreationInputTokens": self.cache_creation_input_tokens,
            "cacheReadInputTokens": self.cache_read_input_tokens,
            "totalTokens": self.total,
        }


@dataclass(frozen=True)
class ModelReply:
    """One assistant turn. ``content`` holds the API's content blocks as
    plain dicts, ready to be sent back as the assistant message."""

    content: list[dict[str, Any]]
    stop_reason: str | None
    usage: TokenUsage
    model: str = ""
    request_id: str | None = None

    @property
    def tool_uses(self) -> list[dict[str, Any]]:
        return [block for block in self.content if block.get("type") == "tool_use"]

    @property
    def text(self) -> str:
        return "\n".join(str(block.get("text", "")) for block in self.content if block.get("type") == "text").strip()


class AgentApiError(Exception):
    """A failed API call, with a message fit to show the user.

    ``kind``: ``missing-key``, ``auth``, ``permission``, ``bad-request``,
    ``not-found``, ``too-large``, ``rate-limited``, ``server``,
    ``connection`` or ``client``."""

    def __init__(self, message: str, *, kind: str, status: int | None = None, attempts: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.kind = kind
        self.status = status
        self.attempts = attempts


class ModelClient(Protocol):
    """What the tool loop needs from a client (tests may pass their own)."""

    model: str

    async def create(
        self,
        *,
        system: Sequence[Mapping[str, Any]],
        messages: Sequence[Mapping[str, Any]],
        tools: Sequence[Mapping[str, Any]],
        max_tokens: int,
    ) -> ModelReply: ...


_preload_started = False


def preload_sdk() -> None:
    """Import the SDK in a background thread (once), so the first agent
    action does not wait seconds for it; harmless when already imported."""
    global _preload_started
    if _preload_started:
        return
    _preload_started = True

    def load() -> None:
        try:
            import anthropic  # noqa: F401
        except Exception as exc:  # noqa: BLE001  # reported when an action actually needs it
            log.debug("preloading the anthropic SDK failed: %s", exc)

    threading.Thread(target=load, name="stackguard-anthropic-import", daemon=True).start()


# -- the key ----------------------------------------------------------------------------

_KEY_SHAPE = re.compile(r"sk-ant-[A-Za-z0-9_\-]{6,}")
_secrets: set[str] = set()
_secrets_lock = threading.Lock()
_factory_installed = False


def read_api_key(env_name: str, environ: Mapping[str, str] | None = None) -> str | None:
    """The key in ``env_name``, stripped; None when unset or blank."""
    value = (environ if environ is not None else os.environ).get(env_name or "")
    if value is None:
        return None
    value = value.strip()
    return value or None


def missing_key_reason(env_name: str) -> str:
    return f"Set {env_name or 'ANTHROPIC_API_KEY'} to enable agent actions"


def redact(text: str, secrets: Sequence[str] = ()) -> str:
    """``text`` without any registered key (or anything shaped like one)."""
    with _secrets_lock:
        known = [*secrets, *_secrets]
    for secret in sorted({s for s in known if s}, key=len, reverse=True):
        text = text.replace(secret, "[redacted]")
    return _KEY_SHAPE.sub("[redacted]", text)


def _register_secret(secret: str) -> None:
    """Keep ``secret`` out of every log record of this process, whichever
    library logs it (the SDK and httpx log requests at debug level)."""
    global _factory_installed
    with _secrets_lock:
        _secrets.add(secret)
        if _factory_installed:
            return
        _factory_installed = True
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        try:
            _scrub_record(record)
        except Exception:  # noqa: BLE001, S110  # a record that cannot be formatted is logging's problem, not ours
            pass
        return record

    logging.setLogRecordFactory(factory)


def _scrub_record(record: logging.LogRecord) -> None:
    with _secrets_lock:
        secrets = [s for s in _secrets if s]
    if not secrets:
        return
    message = record.getMessage()
    if any(secret in message for secret in secrets):
        record.msg = redact(message)
        record.args = None
    if record.exc_info and record.exc_info[0] is not None:
        formatted = "".join(traceback.format_exception(*record.exc_info))
        if any(secret in formatted for secret in secrets):
            record.exc_text = redact(formatted).rstrip("\n")
            record.exc_info = None
    if isinstance(record.stack_info, str) and any(secret in record.stack_info for secret in secrets):
        record.stack_info = redact(record.stack_info)


def _valid_header_value(key: str) -> bool:
    return key.isascii() and key.isprintable() and not any(ch.isspace() for ch in key)


def public_url(url: str) -> str:
    """``scheme://host:port/path`` without credentials or query, for messages."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "the configured base URL"
    if not parts.scheme or not parts.hostname:
        return "the configured base URL"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname}{port}{parts.path.rstrip('/')}"


# -- the client -------------------------------------------------------------------------


class AnthropicClient:
    """``AsyncAnthropic`` with our retry loop and error messages."""

    def __init__(
        self,
        api_key: str,
        *,
        model: str,
        base_url: str | None = None,
        key_env: str = "ANTHROPIC_API_KEY",
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        backoff_base: float = BACKOFF_BASE_S,
        max_retry_wait: float = MAX_RETRY_WAIT_S,
        read_timeout: float = READ_TIMEOUT_S,
        sleep: SleepFn | None = None,
        on_retry: RetryFn | None = None,
    ) -> None:
        if not api_key:
            raise AgentApiError(missing_key_reason(key_env), kind="missing-key")
        if not _valid_header_value(api_key):
            # httpx would put the header value in its exception text.
            raise AgentApiError(
                f"The value of {key_env} is not a valid API key (it contains spaces, control or non-ASCII characters).",
                kind="missing-key",
            )
        import anthropic

        _register_secret(api_key)
        self.model = model
        self.key_env = key_env
        self.base_url = base_url or os.environ.get("ANTHROPIC_BASE_URL") or "https://api.anthropic.com"
        self.max_attempts = max(1, max_attempts)
        self.backoff_base = max(0.0, backoff_base)
        self.max_retry_wait = max_retry_wait
        self.sleep: SleepFn = sleep or asyncio.sleep
        self.on_retry = on_retry
        self._sdk = anthropic.AsyncAnthropic(
            api_key=api_key,
            base_url=self.base_url,
            max_retries=0,
            timeout=anthropic.Timeout(read_timeout, connect=CONNECT_TIMEOUT_S, write=WRITE_TIMEOUT_S, pool=CONNECT_TIMEOUT_S),
        )

    @classmethod
    def from_settings(
        cls, agent: Any, environ: Mapping[str, str] | None = None, **options: Any
    ) -> AnthropicClient:
        """From ``Settings.agent``; raises ``AgentApiError(kind="missing-key")``
        when the variable it names is unset."""
        key = read_api_key(agent.api_key_env, environ)
        if key is None:
            raise AgentApiError(missing_key_reason(agent.api_key_env), kind="missing-key")
        base_url = agent.base_url or (environ if environ is not None else os.environ).get("ANTHROPIC_BASE_URL")
        return cls(key, model=agent.model, base_url=base_url or None, key_env=agent.api_key_env, **options)

    def __repr__(self) -> str:
        return f"AnthropicClient(model={self.model!r}, base_url={public_url(self.base_url)!r})"

    async def aclose(self) -> None:
        await self._sdk.close()

    async def __aenter__(self) -> AnthropicClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def create(
        self,
        *,
        system: Sequence[Mapping[str, Any]],
        messages: Sequence[Mapping[str, Any]],
        tools: Sequence[Mapping[str, Any]],
        max_tokens: int = DEFAULT_MAX_OUTPUT_TOKENS,
    ) -> ModelReply:
        """One Messages API call, retried on transient failures. Cancelling
        the calling task closes the HTTP connection (the SDK's httpx request
        is awaited here) or ends a backoff sleep."""
        import anthropic

        attempt = 0
        while True:
            attempt += 1
            try:
                message = await self._sdk.messages.create(
                    model=self.model,
                    max_tokens=max_tokens,
                    system=list(system),  # type: ignore[arg-type]
                    messages=list(messages),  # type: ignore[arg-type]
                    tools=list(tools),  # type: ignore[arg-type]
                )
                return _reply(message)
            except anthropic.APIStatusError as exc:
                failure = self._status_failure(exc, attempt)
            except anthropic.APIConnectionError as exc:
                failure = self._connection_failure(exc, attempt)
            except anthropic.AnthropicError as exc:
                raise AgentApiError(
                    redact(f"The Anthropic client failed: {type(exc).__name__}: {exc}"), kind="client", attempts=attempt
                ) from None
            error, wait = failure
            if wait is None:
                raise error from None
            reason = error.message
            if self.on_retry is not None:
                self.on_retry(attempt, wait, reason)
            log.info("Anthropic API call failed (%s); retry %d in %.1fs", error.kind, attempt, wait)
            await self.sleep(wait)

    # -- failures -----------------------------------------------------------------------
    def _backoff(self, attempt: int) -> float:
        delay = min(self.backoff_base * (2 ** (attempt - 1)), BACKOFF_MAX_S)
        return delay * random.uniform(0.75, 1.0)

    def _status_failure(self, exc: anthropic.APIStatusError, attempt: int) -> tuple[AgentApiError, float | None]:
        status = exc.status_code
        error_type, api_message = _error_body(exc.body)
        said = f"{status} {error_type}" + (f": {api_message}" if api_message else "")
        headers = getattr(exc.response, "headers", {}) or {}
        should_retry = str(headers.get("x-should-retry", "")).lower()
        retryable = status in RETRYABLE_STATUSES or status >= 500
        if should_retry == "true":
            retryable = True
        elif should_retry == "false":
            retryable = False
        if status == 401:
            return self._error(
                f"The Anthropic API rejected the API key in {self.key_env} ({said}). Set a valid key.", "auth", status, attempt
            ), None
        if status == 403:
            return self._error(
                f"The API key in {self.key_env} is not allowed to make this request ({said}).", "permission", status, attempt
            ), None
        if status == 404:
            return self._error(
                f"The Anthropic API answered 404 ({said}); check agent.model ({self.model!r}) and agent.baseUrl.",
                "not-found",
                status,
                attempt,
            ), None
        if status == 413:
            return self._error(f"The request was too large for the Anthropic API ({said}).", "too-large", status, attempt), None
        if not retryable:
            kind = "bad-request" if 400 <= status < 500 else "server"
            return self._error(f"The Anthropic API refused the request ({said}).", kind, status, attempt), None
        kind = "rate-limited" if status == 429 else "server"
        if attempt >= self.max_attempts:
            if status == 429:
                text = f"The Anthropic API kept rate-limiting the request ({said}); gave up after {attempt} attempts. Try again later."
            elif status == 529:
                text = f"The Anthropic API stayed overloaded ({said}); gave up after {attempt} attempts. Try again later."
            else:
                text = f"The Anthropic API kept failing ({said}); gave up after {attempt} attempts. Try again later."
            return self._error(text, kind, status, attempt), None
        asked = _retry_after(headers)
        if asked is not None and asked > self.max_retry_wait:
            return self._error(
                f"The Anthropic API asked to wait {asked:.0f}s before retrying ({said}), longer than stackguard waits "
                f"({self.max_retry_wait:.0f}s). Try again later.",
                kind,
                status,
                attempt,
            ), None
        wait = asked if asked is not None else self._backoff(attempt)
        return self._error(f"{said}", kind, status, attempt), wait

    def _connection_failure(self, exc: anthropic.APIConnectionError, attempt: int) -> tuple[AgentApiError, float | None]:
        import anthropic

        what = "timed out" if isinstance(exc, anthropic.APITimeoutError) else "connection failed"
        cause = exc.__cause__ or exc.__context__
        detail = f"{what}: {type(cause).__name__}" if cause is not None else what
        if attempt >= self.max_attempts:
            return self._error(
                f"Could not reach the Anthropic API at {public_url(self.base_url)} ({detail}); gave up after {attempt} attempts.",
                "connection",
                None,
                attempt,
            ), None
        return self._error(detail, "connection", None, attempt), self._backoff(attempt)

    def _error(self, text: str, kind: str, status: int | None, attempt: int) -> AgentApiError:
        return AgentApiError(redact(text), kind=kind, status=status, attempts=attempt)


def _error_body(body: object) -> tuple[str, str]:
    """(error type, message) from ``{"type": "error", "error": {...}}``."""
    error = body.get("error") if isinstance(body, Mapping) else None
    if isinstance(error, Mapping):
        kind = str(error.get("type") or "error")
        message = " ".join(str(error.get("message") or "").split())
    else:
        kind, message = "error", ""
    if len(message) > _API_MESSAGE_CHARS:
        message = message[: _API_MESSAGE_CHARS - 1] + "…"
    return kind, message


def _retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds the server asked to wait: ``retry-after-ms``, else
    ``retry-after`` as seconds or an HTTP date."""
    raw_ms = headers.get("retry-after-ms")
    if raw_ms is not None:
        try:
            return max(float(raw_ms) / 1000.0, 0.0)
        except ValueError:
            pass
    raw = headers.get("retry-after")
    if raw is None:
        return None
    try:
        return max(float(raw), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(when.timestamp() - time.time(), 0.0)


def _reply(message: Any) -> ModelReply:
    content: list[dict[str, Any]] = []
    for block in message.content or []:
        kind = getattr(block, "type", None)
        if kind == "text":
            content.append({"type": "text", "text": block.text})
        elif kind == "tool_use":
            content.append({"type": "tool_use", "id": block.id, "name": block.name, "input": block.input})
        else:
            # Other blocks (thinking…) must go back to the API unchanged.
            content.append(block.model_dump(mode="json", exclude_none=True))
    usage = message.usage
    return ModelReply(
        content=content,
        stop_reason=message.stop_reason,
        usage=TokenUsage(
            input_tokens=int(getattr(usage, "input_tokens", 0) or 0),
            output_tokens=int(getattr(usage, "output_tokens", 0) or 0),
            cache_creation_input_tokens=int(getattr(usage, "cache_creation_input_tokens", 0) or 0),
            cache_read_input_tokens=int(getattr(usage, "cache_read_input_tokens", 0) or 0),
        ),
        model=str(getattr(message, "model", "") or ""),
        request_id=getattr(message, "_request_id", None),
    )
