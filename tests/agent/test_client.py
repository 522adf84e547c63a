"""The Anthropic client against the fake Messages API, with the real SDK:
replies, retries honouring retry-after, give-up messages, cancellation, and
the key staying out of logs and messages."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest
from agent_support import CLOSED_LOCAL_URL, KEY_ENV, TEST_KEY
from fake_anthropic import FakeAnthropic, error, hang, reply, text, tool_use
from stackguard.agent.client import (
    AgentApiError,
    AnthropicClient,
    TokenUsage,
    read_api_key,
    redact,
)
from stackguard.config import AgentSettings

SYSTEM = [{"type": "text", "text": "You are a test. " * 200, "cache_control": {"type": "ephemeral"}}]
MESSAGES = [{"role": "user", "content": "hello"}]


class Sleeps:
    """An injected sleep: records the waits instead of waiting."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def client_for(fake: FakeAnthropic, **options) -> AnthropicClient:
    return AnthropicClient(TEST_KEY, model="claude-test", base_url=fake.base_url, key_env=KEY_ENV, **options)


async def create(client: AnthropicClient):
    return await client.create(system=SYSTEM, messages=MESSAGES, tools=[], max_tokens=256)


async def test_reply_blocks_usage_and_request_shape(fake: FakeAnthropic):
    fake.add(
        reply(
            text("Let me look."),
            tool_use("read_file", {"path": "app/models.py"}),
            usage={"input_tokens": 120, "output_tokens": 30, "cache_creation_input_tokens": 900, "cache_read_input_tokens": 0},
        )
    )
    async with client_for(fake) as client:
        result = await create(client)
    assert result.stop_reason == "tool_use"
    assert result.text == "Let me look."
    [call] = result.tool_uses
    assert call["name"] == "read_file" and call["input"] == {"path": "app/models.py"} and call["id"].startswith("toolu_")
    assert result.usage == TokenUsage(120, 30, 900, 0)
    assert result.usage.total == 1050
    [request] = fake.requests
    assert request.path == "/v1/messages"
    assert request.body["model"] == "claude-test" and request.body["max_tokens"] == 256
    assert request.body["system"][0]["cache_control"] == {"type": "ephemeral"}
    assert fake.presented_key(request) == TEST_KEY
    # Our retry loop is the only one: the SDK does not retry behind our back.
    assert request.headers["x-stainless-retry-count"] == "0"


async def test_rate_limit_then_success_honours_retry_after(fake: FakeAnthropic):
    fake.add(
        error(429, "rate_limit_error", "Number of request tokens has exceeded your per-minute rate limit", {"retry-after": "3"}),
        error(429, "rate_limit_error", "slow down", {"retry-after-ms": "250"}),
        reply(text("ok")),
    )
    sleeps = Sleeps()
    retries: list[tuple[int, float, str]] = []
    async with client_for(fake, sleep=sleeps, on_retry=lambda *args: retries.append(args)) as client:
        result = await create(client)
    assert result.text == "ok"
    assert sleeps.waits == [3.0, 0.25]
    assert [attempt for attempt, _, _ in retries] == [1, 2]
    assert "429 rate_limit_error" in retries[0][2]
    assert len(fake.requests) == 3


async def test_rate_limit_waits_for_real_when_not_injected(fake: FakeAnthropic):
    fake.add(error(429, "rate_limit_error", "slow down", {"retry-after-ms": "300"}), reply(text("ok")))
    async with client_for(fake) as client:
        started = time.monotonic()
        await create(client)
        elapsed = time.monotonic() - started
    assert elapsed >= 0.3


async def test_server_errors_until_give_up_with_a_clear_message(fake: FakeAnthropic):
    fake.add(*[error(500, "api_error", "Internal server error") for _ in range(4)])
    sleeps = Sleeps()
    async with client_for(fake, sleep=sleeps, max_attempts=4, backoff_base=1.0) as client:
        with pytest.raises(AgentApiError) as caught:
            await create(client)
    assert caught.value.kind == "server" and caught.value.status == 500 and caught.value.attempts == 4
    assert caught.value.message == (
        "The Anthropic API kept failing (500 api_error: Internal server error); gave up after 4 attempts. Try again later."
    )
    assert len(fake.requests) == 4
    # Exponential backoff with jitter: 1, 2, 4 seconds scaled by 0.75-1.0.
    assert len(sleeps.waits) == 3
    for wait, base in zip(sleeps.waits, [1, 2, 4]):
        assert 0.75 * base <= wait <= base


async def test_overloaded_then_success_and_overloaded_give_up(fake: FakeAnthropic):
    fake.add(error(529, "overloaded_error", "Overloaded"), reply(text("fine")))
    async with client_for(fake, sleep=Sleeps()) as client:
        assert (await create(client)).text == "fine"
    fake.add(*[error(529, "overloaded_error", "Overloaded") for _ in range(2)])
    async with client_for(fake, sleep=Sleeps(), max_attempts=2) as client:
        with pytest.raises(AgentApiError, match=r"stayed overloaded \(529 overloaded_error: Overloaded\); gave up after 2"):
            await create(client)


@pytest.mark.parametrize(
    ("status", "kind", "api_message", "expected"),
    [
        (401, "authentication_error", "invalid x-api-key", f"rejected the API key in {KEY_ENV} (401 authentication_error: invalid x-api-key). Set a valid key."),
        (403, "permission_error", "Your API key does not have permission", f"The API key in {KEY_ENV} is not allowed to make this request (403 permission_error"),
        (400, "invalid_request_error", "prompt is too long: 250000 tokens > 200000 maximum", "refused the request (400 invalid_request_error: prompt is too long"),
        (404, "not_found_error", "model: claude-test", "check agent.model ('claude-test') and agent.baseUrl"),
    ],
)
async def test_client_errors_are_not_retried_and_say_what_to_do(fake: FakeAnthropic, status, kind, api_message, expected):
    fake.add(error(status, kind, api_message))
    sleeps = Sleeps()
    async with client_for(fake, sleep=sleeps) as client:
        with pytest.raises(AgentApiError) as caught:
            await create(client)
    assert expected in caught.value.message
    assert caught.value.status == status and caught.value.attempts == 1
    assert sleeps.waits == [] and len(fake.requests) == 1
    assert TEST_KEY not in caught.value.message


async def test_should_retry_header_and_overlong_retry_after(fake: FakeAnthropic):
    fake.add(error(503, "api_error", "maintenance", {"x-should-retry": "false"}))
    async with client_for(fake, sleep=Sleeps()) as client:
        with pytest.raises(AgentApiError, match="refused the request"):
            await create(client)
    assert len(fake.requests) == 1
    fake.add(error(429, "rate_limit_error", "quota", {"retry-after": "3600"}))
    sleeps = Sleeps()
    async with client_for(fake, sleep=sleeps) as client:
        with pytest.raises(AgentApiError, match=r"asked to wait 3600s before retrying .* longer than stackguard waits \(60s\)"):
            await create(client)
    assert sleeps.waits == []


async def test_connection_errors_are_retried_then_reported():
    sleeps = Sleeps()
    client = AnthropicClient(TEST_KEY, model="claude-test", base_url=CLOSED_LOCAL_URL, sleep=sleeps, max_attempts=3)
    async with client:
        with pytest.raises(AgentApiError) as caught:
            await create(client)
    assert caught.value.kind == "connection" and caught.value.attempts == 3
    assert caught.value.message.startswith("Could not reach the Anthropic API at http://127.0.0.1:9 (connection failed")
    assert len(sleeps.waits) == 2


async def test_cancelling_aborts_the_request_in_flight(fake: FakeAnthropic):
    fake.add(hang())
    async with client_for(fake) as client:
        task = asyncio.ensure_future(create(client))
        assert await asyncio.to_thread(fake.wait_until_hanging, 10)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        deadline = time.monotonic() + 10
        while not fake.disconnects and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
    assert fake.disconnects == [0], "the HTTP connection was not closed by the cancellation"


async def test_cancelling_during_a_backoff_stops_retrying(fake: FakeAnthropic):
    fake.add(error(429, "rate_limit_error", "slow down", {"retry-after": "30"}), reply(text("never")))
    async with client_for(fake) as client:
        task = asyncio.ensure_future(create(client))
        deadline = time.monotonic() + 10
        while not fake.requests and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert len(fake.requests) == 1


def test_missing_and_malformed_keys():
    with pytest.raises(AgentApiError, match=f"Set {KEY_ENV} to enable agent actions") as caught:
        AnthropicClient.from_settings(AgentSettings(api_key_env=KEY_ENV), environ={})
    assert caught.value.kind == "missing-key"
    assert read_api_key(KEY_ENV, {KEY_ENV: "   "}) is None
    assert read_api_key(KEY_ENV, {KEY_ENV: f" {TEST_KEY}\n"}) == TEST_KEY
    with pytest.raises(AgentApiError, match="not a valid API key") as bad:
        AnthropicClient("sk-ant-with space", model="m", base_url=CLOSED_LOCAL_URL)
    assert "with space" not in bad.value.message


def test_base_url_from_settings_then_environment():
    settings = AgentSettings(api_key_env=KEY_ENV, base_url=None)
    client = AnthropicClient.from_settings(settings, environ={KEY_ENV: TEST_KEY, "ANTHROPIC_BASE_URL": "http://127.0.0.1:8123"})
    assert client.base_url == "http://127.0.0.1:8123"
    explicit = AgentSettings(api_key_env=KEY_ENV, base_url="http://127.0.0.1:8456")
    assert AnthropicClient.from_settings(explicit, environ={KEY_ENV: TEST_KEY}).base_url == "http://127.0.0.1:8456"
    assert TEST_KEY not in repr(client)


async def test_the_key_never_reaches_a_log_record(fake: FakeAnthropic, caplog: pytest.LogCaptureFixture):
    caplog.set_level(logging.DEBUG)
    fake.add(error(500, "api_error", "boom"), reply(text("ok")))
    async with client_for(fake, sleep=Sleeps()) as client:
        await create(client)
        # A library that logs the key itself is scrubbed too.
        logging.getLogger("httpx").debug("headers: %s", {"authorization": f"Bearer {TEST_KEY}"})
        try:
            raise RuntimeError(f"header value {TEST_KEY!r} rejected")
        except RuntimeError:
            logging.getLogger("anthropic").exception("failed")
    logged = "\n".join(record.getMessage() + (record.exc_text or "") for record in caplog.records)
    assert "Request options" in logged, "the SDK's debug logging did not run; the test proves nothing"
    assert "headers:" in logged and "[redacted]" in logged
    assert TEST_KEY not in logged
    assert TEST_KEY not in caplog.text


def test_redact_scrubs_registered_keys_and_key_shapes():
    assert redact(f"key={TEST_KEY}") == "key=[redacted]"
    assert redact("sk-ant-api03-abcdefghijklmnop in text") == "[redacted] in text"
