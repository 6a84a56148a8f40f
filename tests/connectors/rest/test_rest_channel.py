"""The REST channel: its payload rules, and the answers it composes itself, over real HTTP.

The security side (credentials, limits, photos) is in ``tests/connectors/common/test_security_edge.py``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rasa.core.channels.channel import UserMessage

from connectors.common.http import PayloadError
from connectors.common.replies import EMPTY_REPLY, FAILURE_REPLY
from connectors.console import live
from connectors.rest.channel import CustomerRestInput, as_reply, check_sender, conversation_id, parse_payload
from tests.support.sanic_server import BlueprintServer


class Rasa:
    """Stands in for Rasa: echoes, fails on ``boom``, stays silent on ``silence``."""

    def __init__(self) -> None:
        self.seen: list[UserMessage] = []

    async def __call__(self, message: UserMessage) -> None:
        self.seen.append(message)
        if message.text == "boom":
            raise RuntimeError("the dialogue engine failed")
        if message.text != "silence":
            await message.output_channel.send_text_message(message.sender_id, f"收到：{message.text}")


@pytest.fixture
def rest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[BlueprintServer, Rasa]]:
    monkeypatch.setenv("EVIDENCE_DIR", str(tmp_path / "evidence"))
    monkeypatch.delenv("REST_API_KEYS", raising=False)
    rasa = Rasa()
    with BlueprintServer(CustomerRestInput(keys=()), rasa) as server:
        yield server, rasa


def say(server: BlueprintServer, sender: str, text: str) -> Any:
    answer = server.http.post(f"{server.url}/webhook", json={"sender": sender, "message": text})
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_a_message_is_answered_with_the_bot_replies(rest: tuple[BlueprintServer, Rasa]) -> None:
    server, rasa = rest
    assert say(server, "shop-1", "你好") == [{"recipient_id": "shop-1", "text": "收到：你好"}]
    assert [(m.sender_id, m.input_channel) for m in rasa.seen] == [("shop-1", "rest")]


def test_an_empty_message_is_answered_without_rasa(rest: tuple[BlueprintServer, Rasa]) -> None:
    server, rasa = rest
    assert say(server, "shop-2", "  ") == [{"recipient_id": "shop-2", "text": EMPTY_REPLY}]
    assert rasa.seen == []


@pytest.mark.parametrize("text", ["boom", "silence"])
def test_a_failed_or_silent_turn_gets_the_apology(rest: tuple[BlueprintServer, Rasa], text: str) -> None:
    server, _ = rest
    assert say(server, "shop-3", text) == [{"recipient_id": "shop-3", "text": FAILURE_REPLY}]


def test_agent_messages_waiting_come_first(rest: tuple[BlueprintServer, Rasa]) -> None:
    server, _ = rest
    live.outbox().put("shop-4", {"recipient_id": "shop-4", "text": "客服：您好", "agent": "Li"})
    assert say(server, "shop-4", "在吗") == [
        {"recipient_id": "shop-4", "text": "客服：您好", "agent": "Li"},
        {"recipient_id": "shop-4", "text": "收到：在吗"},
    ]


@pytest.mark.parametrize("sender", ["tg-1", "wx-oX9", "w-abc", "", "a b", "x" * 129, True, None, 1.5])
def test_senders_of_other_channels_or_odd_shapes_are_refused(sender: Any) -> None:
    with pytest.raises(PayloadError):
        check_sender(sender)


def test_payload_rules() -> None:
    assert parse_payload({"sender": 42, "message": None}) == ("42", "", None)
    assert parse_payload({"sender": "s", "message": "hi", "metadata": {"a": 1}}) == ("s", "hi", {"a": 1})
    for body in ([], {"sender": "s", "message": 1}, {"sender": "s", "metadata": []}):
        with pytest.raises(PayloadError):
            parse_payload(body)


def test_conversations_are_namespaced_by_credential_and_replies_go_to_the_callers_sender() -> None:
    assert conversation_id(None, "s1") == "s1"
    assert conversation_id("shop", "s1") == "shop:s1"
    assert as_reply([{"recipient_id": "shop:s1", "text": "t"}], "s1") == [{"recipient_id": "s1", "text": "t"}]
