"""The tool loop end to end against the fake API with the real SDK: repair
turns, giving up, the path fence seen from the model's side, turn and token
budgets, usage accounting and the cached system prompt."""

from __future__ import annotations

import json
from pathlib import Path

from agent_support import TEST_KEY, make_analyzer
from fake_anthropic import FakeAnthropic, error, propose, reply, text, tool_use
from stackguard.agent.actions import ActionRequest, ActionRunner
from stackguard.agent.client import AnthropicClient
from stackguard.config import AgentSettings

REPOSITORY = "app/repositories/users.py"
SQL_OLD = """text(f"SELECT id FROM users WHERE email = '{email}'"))"""
SQL_NEW = """text("SELECT id FROM users WHERE email = :email"), {"email": email})"""
BROKEN = SQL_NEW[:-1]


class Sleeps:
    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def runner_for(shop: Path, fake: FakeAnthropic, *, action: str = "fixFinding", settings: AgentSettings | None = None, progress=None, **request):
    analyzer = make_analyzer(shop)
    relative = request.pop("relative", REPOSITORY)
    source = (shop / relative).read_text()
    finding = None
    if action == "fixFinding":
        finding = next(f for f in analyzer.analyze(str(shop / relative), source).findings if f.code == "SG201")
    client = AnthropicClient(TEST_KEY, model="claude-test", base_url=fake.base_url, sleep=Sleeps())
    return ActionRunner(
        ActionRequest(action, shop, relative, source, finding=finding, **request),
        analyzer=analyzer,
        settings=settings or AgentSettings(),
        client=client,
        progress=progress,
    )


async def run(runner: ActionRunner):
    try:
        return await runner.run()
    finally:
        await runner.client.aclose()


def last_user_blocks(body: dict) -> list[dict]:
    content = body["messages"][-1]["content"]
    assert body["messages"][-1]["role"] == "user" and isinstance(content, list)
    return content


async def test_invalid_python_is_sent_back_and_the_repair_is_accepted(shop: Path, fake: FakeAnthropic):
    original = (shop / REPOSITORY).read_text()
    fake.add(
        reply(text("Reading the repository."), tool_use("read_file", {"path": REPOSITORY})),
        propose([{"path": REPOSITORY, "old_text": SQL_OLD, "new_text": BROKEN}], "Bind the email"),
        propose([{"path": REPOSITORY, "old_text": SQL_OLD, "new_text": SQL_NEW}], "Bind the email as a parameter"),
    )
    steps: list[str] = []
    runner = runner_for(shop, fake, progress=lambda message, percentage: steps.append(message))
    result = await run(runner)
    assert result.status == "proposed", result.reason
    assert result.repairs == 1 and result.turns == 3
    [change] = result.proposal.changes
    assert SQL_NEW in change.after and change.relative == REPOSITORY
    assert (shop / REPOSITORY).read_text() == original, "the loop must never write files"
    _, second, third = fake.message_requests
    read_result = last_user_blocks(second)[0]
    assert read_result["type"] == "tool_result" and "class UserRepository" in read_result["content"]
    [repair] = last_user_blocks(third)
    assert repair["is_error"] is True
    assert "app/repositories/users.py:17:" in repair["content"] and "'(' was never closed" in repair["content"]
    assert steps[:3] == ["Reading the project's skills and conventions", "Asking claude-test (turn 1/12)", f"Reading {REPOSITORY}"]
    assert "Validating the proposed edits" in steps and "Edits failed validation; asking for a repair (1/2)" in steps
    assert fake.problems == []


async def test_a_model_that_never_repairs_gives_up_and_nothing_is_proposed(shop: Path, fake: FakeAnthropic):
    fake.add(*[propose([{"path": REPOSITORY, "old_text": SQL_OLD, "new_text": BROKEN}], "Bind the email") for _ in range(3)])
    fake.add(propose([{"path": REPOSITORY, "old_text": SQL_OLD, "new_text": SQL_NEW}], "never reached"))
    original = (shop / REPOSITORY).read_text()
    result = await run(runner_for(shop, fake))
    assert result.status == "gave_up" and result.proposal is None
    assert result.reason.startswith("The proposed edits still failed validation after 2 repair turns: app/repositories/users.py:17:")
    assert "'(' was never closed" in result.reason
    assert len(fake.message_requests) == 3 and result.repairs == 2
    assert (shop / REPOSITORY).read_text() == original


async def test_target_finding_must_be_gone(shop: Path, fake: FakeAnthropic):
    fake.add(
        propose([{"path": REPOSITORY, "old_text": "    def add(", "new_text": "    def add_user("}], "Rename"),
        propose([{"path": REPOSITORY, "old_text": SQL_OLD, "new_text": SQL_NEW}], "Bind the email"),
    )
    result = await run(runner_for(shop, fake))
    assert result.status == "proposed" and result.repairs == 1
    [repair] = last_user_blocks(fake.message_requests[1])
    assert "SG201 is still reported" in repair["content"]


async def test_escapes_are_refused_and_nothing_outside_reaches_the_api(shop: Path, fake: FakeAnthropic, tmp_path: Path):
    secret = tmp_path / "outside.txt"
    secret.write_text("OUTSIDE-SECRET-CONTENT")
    (shop / "app" / "leak.py").symlink_to(secret)
    fake.add(
        reply(
            tool_use("read_file", {"path": "../outside.txt"}),
            tool_use("read_file", {"path": str(secret)}),
            tool_use("read_file", {"path": "app/leak.py"}),
            tool_use("search", {"pattern": "OUTSIDE-SECRET", "glob": "**/*"}),
            tool_use("run_shell", {"command": "cat ../outside.txt"}),
            tool_use("read_file", "not an object"),
        ),
        propose([{"path": "../outside.txt", "new_text": "pwned"}], "write outside"),
        propose([{"path": "app/leak.py", "new_text": "pwned"}], "write through the symlink"),
        propose([{"path": REPOSITORY, "old_text": SQL_OLD, "new_text": SQL_NEW}], "Bind the email"),
    )
    result = await run(runner_for(shop, fake, settings=AgentSettings(max_turns=6)))
    # Two refused proposals were the two repair turns; the third is fine.
    assert result.status == "proposed" and result.repairs == 2
    assert [c.relative for c in result.proposal.changes] == [REPOSITORY]
    results = last_user_blocks(fake.message_requests[1])
    assert [r.get("is_error", False) for r in results] == [True, True, True, False, True, True]
    assert "'..' is not allowed" in results[0]["content"]
    assert "outside the project" in results[1]["content"]
    assert "resolves outside the project" in results[2]["content"]
    assert results[3]["content"] == "no matches for 'OUTSIDE-SECRET'"
    assert "unknown tool 'run_shell'" in results[4]["content"]
    assert "input must be a JSON object" in results[5]["content"]
    assert "'..' is not allowed" in last_user_blocks(fake.message_requests[2])[0]["content"]
    assert "resolves outside the project" in last_user_blocks(fake.message_requests[3])[0]["content"]
    assert secret.read_text() == "OUTSIDE-SECRET-CONTENT"
    for request in fake.requests:
        assert b"OUTSIDE-SECRET-CONTENT" not in request.raw


async def test_turn_limit(shop: Path, fake: FakeAnthropic):
    fake.add(*[reply(tool_use("list_files", {"glob": "**/*.py"})) for _ in range(3)])
    result = await run(runner_for(shop, fake, settings=AgentSettings(max_turns=3)))
    assert result.status == "gave_up"
    assert result.reason == "The agent reached the turn limit (agent.maxTurns = 3) without a valid change."
    assert len(fake.message_requests) == 3


async def test_token_budget(shop: Path, fake: FakeAnthropic):
    usage = {"input_tokens": 3000, "output_tokens": 500, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 1000}
    fake.add(*[reply(tool_use("list_files", {"glob": "*"}), usage=usage) for _ in range(5)])
    result = await run(runner_for(shop, fake, settings=AgentSettings(max_tokens=10_000)))
    assert result.status == "gave_up"
    assert result.reason == "The agent used its token budget (agent.maxTokens = 10000; used 9000) without a valid change."
    # A call may only spend what is left of the budget, and none starts
    # with less than room for a useful reply (1000 left here).
    assert [r["max_tokens"] for r in fake.message_requests] == [10_000, 5_500]


async def test_a_model_that_declines_explains_why(shop: Path, fake: FakeAnthropic):
    fake.add(reply(text("The query is already parameterized; there is nothing to change.")))
    result = await run(runner_for(shop, fake))
    assert result.status == "gave_up"
    assert result.reason == "The model stopped without proposing a change: The query is already parameterized; there is nothing to change."


async def test_truncated_replies_ask_for_smaller_edits(shop: Path, fake: FakeAnthropic):
    fake.add(
        reply(tool_use("propose_edits", {"edits": [{"path": REPOSITORY}]}), stop_reason="max_tokens"),
        propose([{"path": REPOSITORY, "old_text": SQL_OLD, "new_text": SQL_NEW}], "Bind the email"),
    )
    result = await run(runner_for(shop, fake))
    assert result.status == "proposed"
    [repair] = last_user_blocks(fake.message_requests[1])
    assert repair["is_error"] and "cut off at the output limit" in repair["content"]


async def test_api_failures_end_the_action_with_the_clients_message(shop: Path, fake: FakeAnthropic):
    fake.add(reply(tool_use("list_files", {"glob": "app/*"})), error(401, "authentication_error", "invalid x-api-key"))
    result = await run(runner_for(shop, fake))
    assert result.status == "error"
    assert "rejected the API key" in result.reason and TEST_KEY not in result.reason
    assert result.turns == 2 and result.usage.total > 0


async def test_only_the_latest_turn_carries_the_rolling_cache_breakpoint(shop: Path, fake: FakeAnthropic):
    fake.add(
        reply(tool_use("read_file", {"path": REPOSITORY})),
        reply(tool_use("get_findings", {"path": REPOSITORY})),
        propose([{"path": REPOSITORY, "old_text": SQL_OLD, "new_text": SQL_NEW}], "Bind the email"),
    )
    await run(runner_for(shop, fake))
    for body in fake.message_requests:
        marked = [
            (index, position)
            for index, message in enumerate(body["messages"])
            if isinstance(message["content"], list)
            for position, block in enumerate(message["content"])
            if "cache_control" in block
        ]
        last = len(body["messages"]) - 1
        assert marked == [(last, len(body["messages"][last]["content"]) - 1)]


async def test_usage_sums_every_turn_including_cache_reads_and_writes(shop: Path, fake: FakeAnthropic):
    fake.add(
        reply(tool_use("read_file", {"path": REPOSITORY})),
        propose([{"path": REPOSITORY, "old_text": SQL_OLD, "new_text": SQL_NEW}], "Bind the email"),
    )
    result = await run(runner_for(shop, fake))
    usage = result.usage
    assert usage.cache_creation_input_tokens > 0, "the first call writes the cached system prompt"
    assert usage.cache_read_input_tokens == usage.cache_creation_input_tokens, "the second call reads it back"
    assert usage.output_tokens == 100 and usage.input_tokens > 0
    assert result.to_dict()["usage"] == {
        "inputTokens": usage.input_tokens,
        "outputTokens": 100,
        "cacheCreationInputTokens": usage.cache_creation_input_tokens,
        "cacheReadInputTokens": usage.cache_read_input_tokens,
        "totalTokens": usage.total,
    }


async def test_system_prompt_is_the_skill_and_the_project_and_is_cached(shop: Path, fake: FakeAnthropic):
    (shop / "app" / "services" / "orders.py").write_text(
        "from sqlalchemy.orm import Session\n\n\ndef order_count(session: Session) -> int:\n    return 0\n"
    )
    (shop / "stack").mkdir()
    (shop / "stack" / "tech-stack.md").write_text("# Tech stack\nWe use SQLAlchemy 2 with sync sessions.\n")
    fake.add(propose([{"path": REPOSITORY, "old_text": SQL_OLD, "new_text": SQL_NEW}], "Bind the email"))
    await run(runner_for(shop, fake))
    [body] = fake.message_requests
    skill, project = body["system"]
    assert skill["cache_control"] == {"type": "ephemeral"} and project["cache_control"] == {"type": "ephemeral"}
    assert '<skill file="backend/SKILL.md" source="stackguard">' in skill["text"]
    assert '<skill file="backend/resources/orm-reference.md"' in skill["text"]
    assert '<skill file="actions/fix-finding.md" source="stackguard">' in project["text"]
    assert "python · fastapi · sqlalchemy" in project["text"]
    assert '<stack-notes file="stack/tech-stack.md">' in project["text"] and "sync sessions" in project["text"]
    assert '<example kind="service" file="app/services/orders.py">' in project["text"]
    [task_block] = body["messages"][0]["content"]
    # The conversation so far is a cache breakpoint too (three of four).
    assert task_block["cache_control"] == {"type": "ephemeral"}
    task = task_block["text"]
    assert task.startswith("# Task: Fix with agent\nFile: app/repositories/users.py (layer: repository)")
    assert "Target finding (it must be gone when you finish): SG201 sql-string-interpolation at app/repositories/users.py:17" in task
    assert "## Use instead" in task
    assert [tool["name"] for tool in body["tools"]] == ["read_file", "list_files", "search", "find_symbol", "get_findings", "propose_edits"]
    assert json.dumps(body).count(TEST_KEY) == 0
