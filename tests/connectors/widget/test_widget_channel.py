"""The web widget channel without Rasa: session tokens, the secret file, CORS decisions, payloads, history."""

from __future__ import annotations

import asyncio
import os
import stat
from pathlib import Path

import pytest
from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered

from connectors.common.http import bearer
from connectors.console import live
from connectors.widget.cors import allowed_origins, cors_headers, origin_decision
from connectors.widget.messages import PayloadError, Subscribers, history_of, parse_message, to_widget
from connectors.widget.tokens import CONVERSATION_PATTERN, load_secret, new_conversation_id, sign, verify

SECRET = b"k" * 32
OTHER_SECRET = b"z" * 32


def test_a_signed_token_gives_back_its_conversation() -> None:
    cid = new_conversation_id()
    assert CONVERSATION_PATTERN.match(cid)
    assert verify(SECRET, sign(SECRET, cid)) == cid
    assert new_conversation_id() != cid


def test_ids_are_random_and_unguessable() -> None:
    ids = {new_conversation_id() for _ in range(200)}
    assert len(ids) == 200 and all(len(i) >= 34 for i in ids)


@pytest.mark.parametrize(
    "forge",
    [
        lambda t, cid: None,
        lambda t, cid: "",
        lambda t, cid: cid,  # no signature
        lambda t, cid: cid + ".",
        lambda t, cid: t[:-1] + ("A" if t[-1] != "A" else "B"),  # tampered signature
        lambda t, cid: "w-" + "a" * 32 + "." + t.rpartition(".")[2],  # another id with this signature
        lambda t, cid: sign(OTHER_SECRET, cid),  # signed with another key
        lambda t, cid: "../" + t,
        lambda t, cid: t + "x" * 300,
        lambda t, cid: t.replace("w-", "w-é", 1),
        lambda t, cid: "customer-42." + t.rpartition(".")[2],  # an id of another channel
    ],
)
def test_forged_or_tampered_tokens_are_refused(forge) -> None:
    cid = new_conversation_id()
    token = sign(SECRET, cid)
    assert verify(SECRET, forge(token, cid)) is None


def test_only_our_ids_can_be_signed() -> None:
    with pytest.raises(ValueError):
        sign(SECRET, "telegram-123")


@pytest.mark.parametrize(
    ("header", "token"),
    [
        ("Bearer abc.def", "abc.def"),
        ("bearer  abc ", "abc"),
        ("Basic abc", None),
        ("Bearer", None),
        (None, None),
        ("", None),
    ],
)
def test_bearer_header(header: str | None, token: str | None) -> None:
    assert bearer(header) == token


def test_secret_from_the_environment(tmp_path: Path) -> None:
    assert load_secret({"WIDGET_SECRET": "s" * 20}, tmp_path / "secret") == b"s" * 20
    assert not (tmp_path / "secret").exists()
    with pytest.raises(ValueError):
        load_secret({"WIDGET_SECRET": "short"}, tmp_path / "secret")


def test_generated_secret_is_private_and_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "var" / "widget_secret"
    first = load_secret({}, path)
    assert len(first) >= 32
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert load_secret({}, path) == first  # a restart keeps issued tokens valid
    cid = new_conversation_id()
    assert verify(load_secret({}, path), sign(first, cid)) == cid


def test_allowed_origins_are_normalised_and_never_a_wildcard() -> None:
    env = {"WIDGET_ALLOWED_ORIGINS": " https://Shop.example/ ,https://m.shop.example,*,"}
    assert allowed_origins(env) == frozenset({"https://shop.example", "https://m.shop.example"})
    assert allowed_origins({}) == frozenset()


ALLOWED = frozenset({"https://shop.example"})


@pytest.mark.parametrize(
    ("origin", "host", "decision"),
    [
        (None, "bot.example", "same"),
        ("https://shop.example", "bot.example", "cors"),
        ("https://bot.example", "bot.example", "same"),
        ("http://bot.example", "bot.example", "same"),  # TLS may end at a proxy
        ("https://evil.example", "bot.example", "refuse"),
        ("https://shop.example.evil.example", "bot.example", "refuse"),
        ("null", "bot.example", "refuse"),
    ],
)
def test_origin_decisions(origin: str | None, host: str, decision: str) -> None:
    assert origin_decision(origin, host, ALLOWED) == decision


def test_cors_headers_only_for_listed_origins() -> None:
    assert cors_headers("https://shop.example", ALLOWED) == {
        "Access-Control-Allow-Origin": "https://shop.example",
        "Vary": "Origin",
    }
    preflight = cors_headers("https://shop.example", ALLOWED, preflight=True)
    assert preflight is not None and "Authorization" in preflight["Access-Control-Allow-Headers"]
    assert "Access-Control-Allow-Credentials" not in preflight  # the token is a header, never a cookie
    assert cors_headers("https://evil.example", ALLOWED) is None
    assert cors_headers(None, ALLOWED) is None
    assert cors_headers("https://shop.example", frozenset()) is None  # default: same origin only


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"text": "你好"}, ("你好", None)),
        ({"text": None}, ("", None)),
        ({"text": "", "attachments": []}, ("", None)),
        (
            {"attachments": [{"kind": "image", "data": "AAAA"}]},
            ("", {"attachments": [{"kind": "image", "data": "AAAA"}]}),
        ),
    ],
)
def test_valid_messages(body: dict, expected: tuple) -> None:
    assert parse_message(body) == expected


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ([], "JSON object"),
        ("hi", "JSON object"),
        ({"text": 3}, "'text'"),
        ({"text": "x" * 5000}, "at most"),
        ({"attachments": "AAAA"}, "'attachments'"),
    ],
)
def test_invalid_messages_say_why(body: object, reason: str) -> None:
    with pytest.raises(PayloadError, match=reason):
        parse_message(body)


def test_messages_in_widget_shape() -> None:
    bot = to_widget(
        {
            "recipient_id": "x",
            "text": "哪部分？",
            "buttons": [{"title": "外包装", "payload": "外包装"}, {"title": "bad"}],
        }
    )
    assert bot == {
        "from": "bot",
        "text": "哪部分？",
        "buttons": [{"title": "外包装", "payload": "外包装"}],
        "agent": None,
    }
    assert to_widget({"text": "您好", "agent": "李客服"})["from"] == "agent"


def test_history_has_customer_bot_and_agent_messages() -> None:
    events = [
        ActionExecuted("action_listen"),
        UserUttered("包裹破了"),
        BotUttered("哪部分？", data={"buttons": [{"title": "外包装", "payload": "外包装"}]}),
        UserUttered("/send_photo", metadata={"attachments": [{"kind": "image", "sha256": "a" * 64}]}),
        BotUttered("您好，我是李客服", metadata={"agent": "agent.li", "agent_name": "李客服"}),
    ]
    assert history_of(events) == [
        {"from": "customer", "text": "包裹破了", "photos": 0},
        {"from": "bot", "text": "哪部分？", "buttons": [{"title": "外包装", "payload": "外包装"}], "agent": None},
        {"from": "customer", "text": "", "photos": 1},
        {"from": "agent", "text": "您好，我是李客服", "buttons": [], "agent": "李客服"},
    ]


async def test_pushed_messages_reach_open_streams_once_else_wait_in_the_outbox() -> None:
    subscribers = Subscribers()
    cid, other = new_conversation_id(), new_conversation_id()
    await subscribers.push(cid, [{"text": "nobody listening", "agent": "李客服"}])
    assert [m["text"] for m in live.outbox().take(cid)] == ["nobody listening"]

    queue = subscribers.subscribe(cid)
    await subscribers.push(cid, [{"text": "live", "agent": "李客服"}])
    assert (await asyncio.wait_for(queue.get(), 1))["text"] == "live"
    assert live.outbox().take(cid) == []  # delivered once, not kept for later as well
    await subscribers.push(other, [{"text": "for someone else"}])
    assert queue.empty()
    assert [m["text"] for m in live.outbox().take(other)] == ["for someone else"]

    await subscribers.push(cid, [{"text": "not sent before the page went away"}])
    subscribers.unsubscribe(cid, queue)
    assert [m["text"] for m in live.outbox().take(cid)] == ["not sent before the page went away"]
