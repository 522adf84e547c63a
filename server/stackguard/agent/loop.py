"""The tool loop: ask the model, run the tools it calls, validate what it
proposes, and stop.

One action is a conversation of at most ``max_turns`` model calls within a
token budget. Each turn the model may call the read-only tools (answered in
the next user message as ``tool_result`` blocks) or ``propose_edits``. A
proposal that does not parse as a change or fails validation goes back to
the model as an ``is_error`` tool result; after ``max_repairs`` such repair
turns the loop gives up and says why. Nothing here writes files: the outcome
carries the validated changes and the caller decides what to do with them.

Cancelling the task running ``AgentLoop.run`` cancels the HTTP request in
flight (the client awaits it) and the loop re-raises ``CancelledError``;
``usage`` and ``turns`` stay readable on the loop object.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from .client import DEFAULT_MAX_OUTPUT_TOKENS, ModelClient, TokenUsage
from .proposal import (
    Proposal,
    ProposalError,
    ProposalValidator,
    Validation,
    parse_proposal,
)
from .tools import PROPOSE_EDITS, TOOL_SPECS, ToolBox

log = logging.getLogger(__name__)

DEFAULT_MAX_REPAIRS = 2
# Below this many tokens left there is no room for a useful reply.
MIN_REPLY_TOKENS = 1_024

Status = Literal["proposed", "gave_up"]
ProgressFn = Callable[[str, "int | None"], None]


@dataclass
class AgentOutcome:
    status: Status
    reason: str | None = None
    proposal: Proposal | None = None
    validation: Validation | None = None
    usage: TokenUsage = field(default_factory=TokenUsage)
    turns: int = 0
    repairs: int = 0
    # The model's last words when it stopped without proposing.
    final_text: str = ""


class AgentLoop:
    def __init__(
        self,
        client: ModelClient,
        toolbox: ToolBox,
        validator: ProposalValidator,
        *,
        system: Sequence[Mapping[str, Any]],
        max_turns: int,
        token_budget: int,
        max_repairs: int = DEFAULT_MAX_REPAIRS,
        max_output_tokens: int = DEFAULT_MAX_OUTPUT_TOKENS,
        progress: ProgressFn | None = None,
        tools: Sequence[Mapping[str, Any]] = TOOL_SPECS,
    ) -> None:
        self.client = client
        self.toolbox = toolbox
        self.validator = validator
        self.system = list(system)
        self.max_turns = max(1, max_turns)
        self.token_budget = max(0, token_budget)
        self.max_repairs = max(0, max_repairs)
        self.max_output_tokens = max_output_tokens
        self.progress = progress or (lambda message, percentage: None)
        self.tools = list(tools)
        self.usage = TokenUsage()
        self.turns = 0
        self.repairs = 0
        self.messages: list[dict[str, Any]] = []

    def _outcome(self, status: Status, reason: str | None = None, **extra: Any) -> AgentOutcome:
        return AgentOutcome(status, reason, usage=self.usage, turns=self.turns, repairs=self.repairs, **extra)

    def _percentage(self) -> int:
        return min(95, int(self.turns * 100 / self.max_turns))

    async def run(self, instruction: str) -> AgentOutcome:
        self.messages = [{"role": "user", "content": instruction}]
        last_problems: list[str] = []
        while True:
            if self.turns >= self.max_turns:
                detail = f" The last proposal failed with: {'; '.join(last_problems)}" if last_problems else ""
                return self._outcome(
                    "gave_up",
                    f"The agent reached the turn limit (agent.maxTurns = {self.max_turns}) without a valid change.{detail}",
                )
            remaining = self.token_budget - self.usage.total
            if remaining < MIN_REPLY_TOKENS:
                return self._outcome(
                    "gave_up",
                    f"The agent used its token budget (agent.maxTokens = {self.token_budget}; used {self.usage.total}) "
                    "without a valid change.",
                )
            self.turns += 1
            self.progress(f"Asking {self.client.model} (turn {self.turns}/{self.max_turns})", self._percentage())
            reply = await self.client.create(
                system=self.system,
                messages=_with_rolling_cache(self.messages),
                tools=self.tools,
                max_tokens=min(self.max_output_tokens, remaining),
            )
            self.usage = self.usage + reply.usage
            self.messages.append({"role": "assistant", "content": reply.content})
            tool_uses = reply.tool_uses
            if not tool_uses:
                if reply.stop_reason == "max_tokens":
                    self.messages.append(
                        {"role": "user", "content": "Your reply was cut off at the output limit. Continue, and propose smaller edits (old_text/new_text pairs)."}
                    )
                    continue
                text = reply.text
                return self._outcome(
                    "gave_up",
                    "The model stopped without proposing a change"
                    + (f": {_clip(text, 400)}" if text else "."),
                    final_text=text,
                )
            results: list[dict[str, Any]] = []
            proposals = [block for block in tool_uses if block.get("name") == PROPOSE_EDITS]
            truncated = reply.stop_reason == "max_tokens"
            for block in tool_uses:
                if block.get("name") == PROPOSE_EDITS:
                    continue
                if truncated:
                    results.append(_tool_result(block, "Your reply was cut off at the output limit; call the tool again.", True))
                    continue
                self.progress(_describe_call(block), self._percentage())
                result = await asyncio.to_thread(self.toolbox.call, str(block.get("name")), block.get("input"))
                results.append(_tool_result(block, result.content, result.is_error))
            if not proposals:
                self.messages.append({"role": "user", "content": results})
                continue
            for extra in proposals[1:]:
                results.append(_tool_result(extra, "Only one propose_edits call per turn is considered; this one was ignored.", True))
            block = proposals[0]
            if truncated:
                problems = ["Your reply was cut off at the output limit, so the edits are incomplete. Propose smaller edits (old_text/new_text pairs instead of whole files)."]
                validation = None
            else:
                self.progress("Validating the proposed edits", self._percentage())
                problems, proposal, validation = await asyncio.to_thread(self._check, block.get("input"))
                if not problems and proposal is not None:
                    return self._outcome("proposed", None, proposal=proposal, validation=validation)
            last_problems = problems
            if self.repairs >= self.max_repairs:
                return self._outcome(
                    "gave_up",
                    f"The proposed edits still failed validation after {self.repairs} repair "
                    f"turn{'s' if self.repairs != 1 else ''}: " + "; ".join(problems),
                    validation=validation,
                )
            self.repairs += 1
            self.progress(f"Edits failed validation; asking for a repair ({self.repairs}/{self.max_repairs})", self._percentage())
            message = (
                "The proposed edits were not applied; stackguard found these problems:\n- "
                + "\n- ".join(problems)
                + "\nFix them and call propose_edits again with the complete change (edits apply to the files as they "
                "are now, not to your previous proposal)."
            )
            results.append(_tool_result(block, message, True))
            self.messages.append({"role": "user", "content": results})

    def _check(self, arguments: object) -> tuple[list[str], Proposal | None, Validation | None]:
        try:
            proposal = parse_proposal(arguments, self.toolbox)
        except ProposalError as exc:
            return exc.problems, None, None
        validation = self.validator.validate(proposal)
        return validation.problems, proposal, validation


def _with_rolling_cache(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The conversation with a cache breakpoint on its last block, so each
    turn reads the previous turns from the prompt cache instead of paying
    for them again (with the two system blocks: three of the four allowed
    breakpoints). Only the copy sent is marked; the history stays clean so
    earlier breakpoints do not pile up."""
    if not messages:
        return messages
    last = messages[-1]
    content = last.get("content")
    if isinstance(content, str):
        blocks: list[dict[str, Any]] = [{"type": "text", "text": content}]
    elif isinstance(content, list) and content:
        blocks = [dict(block) for block in content]
    else:
        return messages
    blocks[-1] = {**blocks[-1], "cache_control": {"type": "ephemeral"}}
    return [*messages[:-1], {**last, "content": blocks}]


def _tool_result(block: Mapping[str, Any], content: str, is_error: bool = False) -> dict[str, Any]:
    result: dict[str, Any] = {"type": "tool_result", "tool_use_id": str(block.get("id", "")), "content": content}
    if is_error:
        result["is_error"] = True
    return result


def _describe_call(block: Mapping[str, Any]) -> str:
    name = block.get("name")
    raw = block.get("input")
    arguments: Mapping[str, Any] = raw if isinstance(raw, dict) else {}
    if name == "read_file":
        return f"Reading {_clip(str(arguments.get('path', '?')), 80)}"
    if name == "list_files":
        return f"Listing {_clip(str(arguments.get('glob', '?')), 80)}"
    if name == "search":
        return f"Searching for {_clip(str(arguments.get('pattern', '?')), 60)!r}"
    if name == "find_symbol":
        return f"Looking up {_clip(str(arguments.get('name', '?')), 60)}"
    if name == "get_findings":
        return f"Checking findings in {_clip(str(arguments.get('path', '?')), 80)}"
    return f"Calling {_clip(json.dumps(name), 40)}"


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
