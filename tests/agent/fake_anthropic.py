"""A fake Anthropic Messages API on 127.0.0.1 for the agent tests.

It speaks the real wire format (``POST /v1/messages``; message objects with
``text``/``tool_use`` content blocks, ``stop_reason`` and ``usage`` including
``cache_creation_input_tokens``/``cache_read_input_tokens``; error bodies
``{"type": "error", "error": {"type", "message"}}`` with status codes and
``retry-after`` headers), so the real ``anthropic`` SDK talks to it through
``base_url``. Responses come from a script of steps, one per request, and
every request is recorded (headers and JSON body) for assertions.

The server also checks what the real API would reject: a missing or wrong
key (``x-api-key`` or ``Authorization: Bearer``; 401), a missing ``anthropic-version``, and a conversation whose
``tool_use`` blocks are not answered by ``tool_result`` blocks in the next
user message (400), so protocol mistakes fail the tests the way they would
fail in production.

``hang()`` holds a request open until the client goes away (recorded in
``disconnects``) or ``release()`` is called: the cancellation tests use it
to prove the HTTP request was aborted.
"""

from __future__ import annotations

import json
import select
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

HANG_LIMIT_S = 30.0


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: Any
    raw: bytes


@dataclass
class Step:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    hang: bool = False
    dynamic: Callable[[Recorded], Step] | None = None


# -- building steps -----------------------------------------------------------------------


def text(value: str) -> dict[str, Any]:
    return {"type": "text", "text": value}


def tool_use(name: str, arguments: Any, id: str | None = None) -> dict[str, Any]:
    return {"type": "tool_use", "id": id or "", "name": name, "input": arguments}


def reply(*blocks: dict[str, Any], stop_reason: str | None = None, usage: dict[str, int] | None = None) -> Step:
    """An assistant message. ``stop_reason`` defaults to ``tool_use`` when a
    block calls a tool, else ``end_turn``."""
    content = [dict(block) for block in blocks]
    if stop_reason is None:
        stop_reason = "tool_use" if any(b["type"] == "tool_use" for b in content) else "end_turn"
    return Step(200, {"content": content, "stop_reason": stop_reason, "usage": usage})


def propose(edits: list[dict[str, Any]], summary: str, *, note: str = "Here is the change.") -> Step:
    return reply(text(note), tool_use("propose_edits", {"edits": edits, "summary": summary}))


def error(status: int, kind: str, message: str, headers: dict[str, str] | None = None) -> Step:
    return Step(status, {"type": "error", "error": {"type": kind, "message": message}}, dict(headers or {}))


def hang() -> Step:
    return Step(hang=True)


def dynamic(function: Callable[[Recorded], Step]) -> Step:
    return Step(dynamic=function)


# -- the server -----------------------------------------------------------------------------


class FakeAnthropic:
    def __init__(self, steps: list[Step] | None = None, *, api_key: str | None = None) -> None:
        self.steps: list[Step] = list(steps or [])
        self.api_key = api_key
        self.requests: list[Recorded] = []
        self.disconnects: list[int] = []
        self.problems: list[str] = []
        self._lock = threading.Lock()
        self._release = threading.Event()
        self._hanging = threading.Event()
        self._ids = 0
        self._cached_prefixes: set[str] = set()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------
    def __enter__(self) -> FakeAnthropic:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        fake = self

        class Handler(_Handler):
            server_fake = fake

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-anthropic", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._release.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    @property
    def base_url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def add(self, *steps: Step) -> None:
        with self._lock:
            self.steps.extend(steps)

    def release(self) -> None:
        self._release.set()

    def wait_until_hanging(self, timeout: float = 30.0) -> bool:
        return self._hanging.wait(timeout)

    # -- bodies ---------------------------------------------------------------------------
    @property
    def message_requests(self) -> list[dict[str, Any]]:
        return [r.body for r in self.requests if r.path.endswith("/v1/messages") and isinstance(r.body, dict)]

    def _next_id(self, prefix: str) -> str:
        with self._lock:
            self._ids += 1
            return f"{prefix}_fake{self._ids:04d}"

    @staticmethod
    def presented_key(request: Recorded) -> str | None:
        """The key a request carries: ``x-api-key``, or ``Authorization:
        Bearer`` (which SDK 2.x sends for an api_key)."""
        if "x-api-key" in request.headers:
            return request.headers["x-api-key"]
        authorization = request.headers.get("authorization", "")
        return authorization[len("Bearer ") :] if authorization.startswith("Bearer ") else None

    def _check_request(self, request: Recorded) -> Step | None:
        """What the real API would refuse."""
        if self.api_key is not None and self.presented_key(request) != self.api_key:
            return error(401, "authentication_error", "invalid x-api-key")
        if "anthropic-version" not in request.headers:
            return error(400, "invalid_request_error", "anthropic-version header is required")
        body = request.body
        if not isinstance(body, dict) or not isinstance(body.get("messages"), list) or "max_tokens" not in body:
            return error(400, "invalid_request_error", "model, max_tokens and messages are required")
        messages = body["messages"]
        for index, message in enumerate(messages):
            if message.get("role") != "assistant" or not isinstance(message.get("content"), list):
                continue
            wanted = {b.get("id") for b in message["content"] if b.get("type") == "tool_use"}
            if not wanted:
                continue
            following = messages[index + 1] if index + 1 < len(messages) else None
            content = following.get("content") if following else None
            got = {b.get("tool_use_id") for b in content if isinstance(b, dict) and b.get("type") == "tool_result"} if isinstance(content, list) else set()
            if not wanted <= got:
                missing = sorted(str(i) for i in wanted - got)
                return error(
                    400,
                    "invalid_request_error",
                    f"messages.{index + 1}: tool_use ids were found without tool_result blocks immediately after: {', '.join(missing)}",
                )
        return None

    def _usage(self, body: dict[str, Any], given: dict[str, int] | None) -> dict[str, int]:
        if given is not None:
            return {"cache_creation_input_tokens": 0, "cache_read_input_tokens": 0, **given}
        system = body.get("system")
        cached = ""
        if isinstance(system, list):
            cached = "".join(b.get("text", "") for b in system if isinstance(b, dict) and b.get("cache_control"))
        uncached_chars = len(json.dumps(body.get("messages", []))) + len(json.dumps(body.get("tools", [])))
        with self._lock:
            hit = cached in self._cached_prefixes
            if cached:
                self._cached_prefixes.add(cached)
        cache_tokens = len(cached) // 4
        return {
            "input_tokens": max(1, uncached_chars // 4),
            "output_tokens": 50,
            "cache_creation_input_tokens": 0 if hit or not cached else cache_tokens,
            "cache_read_input_tokens": cache_tokens if hit else 0,
        }

    def _answer(self, request: Recorded) -> Step:
        refused = self._check_request(request)
        if refused is not None:
            with self._lock:
                self.problems.append(refused.body["error"]["message"])
            return refused
        with self._lock:
            step = self.steps.pop(0) if self.steps else None
        if step is None:
            with self._lock:
                self.problems.append("script exhausted")
            return error(500, "api_error", "fake server: the script has no more steps")
        while step.dynamic is not None:
            step = step.dynamic(request)
        if step.status == 200 and not step.hang:
            body = dict(step.body)
            content = []
            for block in body["content"]:
                block = dict(block)
                if block["type"] == "tool_use" and not block.get("id"):
                    block["id"] = self._next_id("toolu")
                content.append(block)
            message = {
                "id": self._next_id("msg"),
                "type": "message",
                "role": "assistant",
                "model": request.body.get("model", "claude-fake"),
                "content": content,
                "stop_reason": body["stop_reason"],
                "stop_sequence": None,
                "usage": self._usage(request.body, body.get("usage")),
            }
            return Step(200, message, dict(step.headers))
        return step


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_fake: FakeAnthropic

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        request = Recorded(
            "POST", self.path, {k.lower(): v for k, v in self.headers.items()}, body, raw
        )
        fake = self.server_fake
        with fake._lock:
            fake.requests.append(request)
            number = len(fake.requests) - 1
        if not self.path.rstrip("/").endswith("/v1/messages"):
            self._send(error(404, "not_found_error", f"no route {self.path}"))
            return
        step = fake._answer(request)
        if step.hang:
            self._hang(number)
            return
        self._send(step)

    def _send(self, step: Step) -> None:
        data = json.dumps(step.body).encode()
        self.send_response(step.status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.send_header("request-id", f"req_fake{int(time.time() * 1000) % 100000}")
        for key, value in step.headers.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()

    def _hang(self, number: int) -> None:
        fake = self.server_fake
        fake._hanging.set()
        connection: socket.socket = self.connection
        deadline = time.monotonic() + HANG_LIMIT_S
        while time.monotonic() < deadline and not fake._release.is_set():
            readable, _, _ = select.select([connection], [], [], 0.05)
            if readable:
                try:
                    data = connection.recv(1, socket.MSG_PEEK)
                except OSError:
                    data = b""
                if data == b"":
                    with fake._lock:
                        fake.disconnects.append(number)
                    self.close_connection = True
                    return
        self.close_connection = True
        self._send(error(500, "api_error", "fake server: released a hanging request"))
