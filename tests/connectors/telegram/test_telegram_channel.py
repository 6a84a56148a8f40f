"""The Telegram channel over real HTTP on both sides.

Telegram is ``tests/fakes/telegram.py`` (aiohttp on a free port). The channel's blueprint
runs on a real Sanic server in its own thread and loop; ``on_new_message`` is a recorder
standing in for Rasa at the process boundary: it keeps each ``UserMessage`` and answers
through ``message.output_channel``. Photos are taken only inside a damage claim, which the
channel reads from the Rasa server's ``app.ctx.agent``: here a real Rasa ``Agent`` with the
project's domain and Rasa's in-memory tracker store, holding the trackers a test sets up
(:func:`tests.support.claims.claim_tracker`). The Redis tests use the real Redis on 127.0.0.1:6379
with their own key prefix and FAIL (never skip) when it is down.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
import logging
import secrets
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from rasa.core.agent import Agent
from rasa.core.channels.channel import UserMessage
from rasa.shared.core.domain import Domain

from actions.claims import FORM
from bot.claims.limits import MAX_IMAGE_BYTES
from bot.claims.refusals import EvidenceError
from connectors.common import senders
from connectors.common.inbound import PHOTO_INTENT
from connectors.telegram.buttons import BUTTON_EXPIRED
from connectors.telegram.channel import TelegramInput
from connectors.telegram.cli import main, poll
from connectors.telegram.config import SECRET_HEADER, TelegramConfig
from connectors.telegram.support import MAX_BODY_BYTES, UNSUPPORTED_REPLY, RateLimiter
from tests.fakes.telegram import FakeTelegram, small_jpeg
from tests.support.claims import claim_agent, claim_tracker, serve_agent
from tests.support.redis_server import REDIS_URL
from tests.support.sanic_server import BlueprintServer
from tests.support.telegram import SECRET, TOKEN, callback_update, message_update, photo_size

BAD_TOKEN = "987654321:AAF-revoked_Token-9876543210zyxwv"
JPEG = small_jpeg()

_chat_ids = itertools.count(5001)

pytestmark = pytest.mark.usefixtures("sanic_test_mode")  # the fixtures are in tests/connectors/conftest.py


# --------------------------------------------------------------------------- harness


class Recorder:
    """``on_new_message`` for the channel: records, then answers through the output channel."""

    def __init__(self) -> None:
        self.messages: list[UserMessage] = []
        self.respond: Callable[[UserMessage], Awaitable[None]] | None = None
        self._lock = threading.Lock()

    async def __call__(self, message: UserMessage) -> None:
        with self._lock:
            self.messages.append(message)
        if self.respond is not None:
            await self.respond(message)
        else:
            await message.output_channel.send_text_message(message.sender_id, "收到 / got it")

    def texts(self) -> list[str]:
        with self._lock:
            return [m.text for m in self.messages]

    def wait(self, count: int, timeout: float = 5.0) -> list[UserMessage]:
        wait_until(lambda: len(self.messages) >= count, timeout, f"{count} message(s) for Rasa")
        with self._lock:
            return list(self.messages)


def wait_until(predicate: Callable[[], bool], timeout: float = 5.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


class ChannelServer(BlueprintServer):
    """The Telegram channel alone on a real Sanic server; ``recorder`` stands in for Rasa."""

    def __init__(self, channel: TelegramInput, recorder: Recorder) -> None:
        super().__init__(channel, recorder)
        self.recorder = recorder
        self.client = httpx.Client(base_url=self.base, timeout=10)

    def __enter__(self) -> ChannelServer:
        super().__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.client.close()
        super().__exit__(*exc)

    def post(self, update: Any = None, *, secret: str | None = SECRET, raw: Any = None) -> httpx.Response:
        headers = {"Content-Type": "application/json"}
        if secret is not None:
            headers[SECRET_HEADER] = secret
        content = raw if raw is not None else json.dumps(update).encode()
        return self.client.post("/webhooks/telegram/webhook", content=content, headers=headers)

    def run(self, coro: Awaitable[Any]) -> Any:
        """Run a coroutine in the server's loop (where the channel's bot lives)."""
        return self.call(coro)


def make_channel(fake: FakeTelegram, token: str = TOKEN, **extra: str) -> TelegramInput:
    channel = TelegramInput.from_credentials({"token": token, "secret_token": SECRET, "base_url": fake.url, **extra})
    assert isinstance(channel, TelegramInput)
    return channel


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeTelegram]:
    with FakeTelegram([TOKEN]) as server:
        yield server


@pytest.fixture(scope="module")
def served(fake: FakeTelegram) -> Iterator[ChannelServer]:
    with ChannelServer(make_channel(fake), Recorder()) as server:
        yield server


@pytest.fixture
def agent(served: ChannelServer, domain: Domain) -> Agent:
    """A fresh Rasa agent (empty tracker store) in the served app for each test."""
    agent = claim_agent(domain)
    serve_agent(served, agent)
    return agent


@pytest.fixture
def server(served: ChannelServer, fake: FakeTelegram, agent: Agent) -> ChannelServer:
    fake.reset()
    with served.recorder._lock:
        served.recorder.messages.clear()
    served.recorder.respond = None
    return served


@pytest.fixture
def in_claim(server: ChannelServer, agent: Agent, domain: Domain, chat: int) -> int:
    """The test's chat, inside the damage claim form (photos are taken); returns the chat id."""
    server.run(agent.tracker_store.save(claim_tracker(domain, f"tg-{chat}", FORM)))
    return chat


@pytest.fixture
def chat() -> int:
    return next(_chat_ids)


def sent_texts(fake: FakeTelegram, chat: int) -> list[str]:
    return [c.params["text"] for c in fake.calls_to("sendMessage") if c.params["chat_id"] == str(chat)]


def send_sentinel_and_wait(
    server: ChannelServer,
    chat: int,
    update: dict[str, Any] | None = None,
    text: str | None = None,
    timeout: float = 5.0,
) -> str:
    """Prove that whatever was sent before has been handled, so its absence can be asserted.

    Posts one genuine update for ``chat`` (by default a text message; or ``update``, which Rasa
    sees as ``text``) with the right secret, waits until it reaches Rasa, then until the channel
    has no background task left. The channel starts an update's task before it answers 200 and
    handles one chat's messages one at a time in arrival order (each task takes the chat's FIFO
    lock first thing), so an earlier message of this chat was handled before the sentinel reached
    Rasa; and since every task stays in ``TelegramInput.background`` until it is done, an empty set
    means that nothing anything posted before may still do is pending (button taps answer before
    they take the lock, other chats have their own lock: the second wait covers those). By then
    the sentinel's own answer has been sent too.

    Returns:
        The sentinel's text as Rasa saw it.
    """
    if update is None:
        text = f"sentinel {secrets.token_hex(4)}"
        update = message_update(chat, text=text)
    assert text is not None, "say what Rasa should see for this sentinel update"
    assert server.post(update).status_code == 200, "the sentinel was refused"
    wait_until(
        lambda: any(m.sender_id == f"tg-{chat}" and m.text == text for m in list(server.recorder.messages)),
        timeout,
        f"the sentinel {text!r} to reach Rasa (what was posted before it is not handled yet)",
    )
    wait_until(lambda: not server.channel.background, timeout, "the channel to finish its background tasks")
    return text


# --------------------------------------------------------------------------- the webhook's gate


@pytest.mark.parametrize("secret", [None, "", "wrong-secret-0123456789", SECRET + "x", SECRET[:-1]])
def test_missing_or_wrong_secret_is_403_and_nothing_happens(
    server: ChannelServer, fake: FakeTelegram, chat: int, secret: str | None
) -> None:
    reply = server.post(message_update(chat, text="你好"), secret=secret)
    assert reply.status_code == 403
    sentinel = send_sentinel_and_wait(server, chat)
    assert server.recorder.texts() == [sentinel]
    assert [c.params["chat_id"] for c in fake.calls_to("sendMessage")] == [str(chat)]  # the sentinel's answer


@pytest.mark.parametrize("raw", [b"{not json", b"\xff\xfe", b"[1, 2]", b'{"message": {}}', b'{"update_id": "7"}'])
def test_malformed_body_is_400(server: ChannelServer, fake: FakeTelegram, chat: int, raw: bytes) -> None:
    assert server.post(raw=raw).status_code == 400
    sentinel = send_sentinel_and_wait(server, chat)
    assert server.recorder.texts() == [sentinel]
    assert [c.params["chat_id"] for c in fake.calls_to("sendMessage")] == [str(chat)]  # the sentinel's answer


def test_oversized_body_is_413_by_length_and_when_streamed(
    server: ChannelServer, fake: FakeTelegram, chat: int
) -> None:
    def big() -> bytes:  # a genuine update of this chat, padded: were it let in, Rasa would see its text
        update = message_update(chat, text="我的快递到哪了", pad="x" * MAX_BODY_BYTES)
        body = json.dumps(update).encode()
        assert len(body) > MAX_BODY_BYTES
        return body

    assert server.post(raw=big()).status_code == 413

    def chunks(body: bytes) -> Iterator[bytes]:  # chunked transfer: no Content-Length to go by
        for i in range(0, len(body), 65536):
            yield body[i : i + 65536]

    assert server.post(raw=chunks(big())).status_code == 413
    assert server.post(raw=big(), secret="wrong-secret-0123456789").status_code == 403  # the secret comes first
    sentinel = send_sentinel_and_wait(server, chat)
    assert server.recorder.texts() == [sentinel]
    assert [c.params["chat_id"] for c in fake.calls_to("sendMessage")] == [str(chat)]  # the sentinel's answer


def test_the_same_update_twice_reaches_rasa_once(server: ChannelServer, fake: FakeTelegram, chat: int) -> None:
    update = message_update(chat, text="SF1648547086646 到哪了")
    assert server.post(update).status_code == 200
    assert server.post(update).status_code == 200
    sentinel = send_sentinel_and_wait(server, chat)
    assert server.recorder.texts() == ["SF1648547086646 到哪了", sentinel]
    assert sent_texts(fake, chat) == ["收到 / got it"] * 2  # the update's answer and the sentinel's
    assert len(fake.calls_to("sendMessage")) == 2


# --------------------------------------------------------------------------- text


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("帮我查下 SF1648547086646", "帮我查下 SF1648547086646"),
        ("  where\u200b is   my parcel \x07", "where is my parcel"),
        ("/start", "/greet"),
        ("/start@test_bot ref-42", "/greet"),
        ("/help", "/greet"),
        ("/restart", "／restart"),
        ("/send_photo", "／send_photo"),
        ('/affirm{"x": 1}', '／affirm{"x": 1}'),
    ],
)
def test_text_is_cleaned_and_only_start_and_help_are_commands(
    server: ChannelServer, fake: FakeTelegram, chat: int, typed: str, expected: str
) -> None:
    assert server.post(message_update(chat, text=typed)).status_code == 200
    (message,) = server.recorder.wait(1)
    assert message.text == expected
    assert message.sender_id == f"tg-{chat}"
    assert message.input_channel == "telegram"
    wait_until(lambda: sent_texts(fake, chat) == ["收到 / got it"], what="the answer")


def test_group_chats_are_not_served(server: ChannelServer, fake: FakeTelegram, chat: int) -> None:
    assert server.post(message_update(-chat, chat_type="group", text="我的快递")).status_code == 200
    sentinel = send_sentinel_and_wait(server, chat)  # a private chat: the group's messages go nowhere
    assert server.recorder.texts() == [sentinel]
    assert [c.params["chat_id"] for c in fake.calls_to("sendMessage")] == [str(chat)]  # the sentinel's answer


def test_stickers_and_other_files_get_a_polite_reply(server: ChannelServer, fake: FakeTelegram, chat: int) -> None:
    sticker = {
        "file_id": "st",
        "file_unique_id": "st",
        "type": "regular",
        "width": 512,
        "height": 512,
        "is_animated": False,
        "is_video": False,
    }
    pdf = {
        "file_id": "doc-pdf",
        "file_unique_id": "d",
        "file_name": "invoice.pdf",
        "mime_type": "application/pdf",
        "file_size": 2000,
    }
    server.post(message_update(chat, sticker=sticker))
    server.post(message_update(chat, document=pdf))
    wait_until(lambda: len(sent_texts(fake, chat)) == 2, what="two replies")
    assert sent_texts(fake, chat) == [UNSUPPORTED_REPLY, UNSUPPORTED_REPLY]
    assert fake.calls_to("getFile") == [] and server.recorder.messages == []


# --------------------------------------------------------------------------- photos


def test_photo_largest_allowed_size_is_stored_and_rasa_sees_a_reference(
    server: ChannelServer, fake: FakeTelegram, in_claim: int, evidence_dir: Path
) -> None:
    chat = in_claim
    fake.add_file("p-small", small_jpeg(16, 12))
    fake.add_file("p-medium", JPEG)
    fake.add_file("p-huge", JPEG, size=MAX_IMAGE_BYTES + 1)
    sizes = [
        photo_size("p-small", 16, 12, 500),
        photo_size("p-medium", 64, 48, len(JPEG)),
        photo_size("p-huge", 6000, 4500, MAX_IMAGE_BYTES + 1),
    ]
    assert server.post(message_update(chat, photo=sizes)).status_code == 200
    (message,) = server.recorder.wait(1)

    assert [c.params["file_id"] for c in fake.calls_to("getFile")] == ["p-medium"]
    assert fake.downloads == ["photos/p-medium.jpg"]
    assert message.text == PHOTO_INTENT
    (ref,) = message.metadata["attachments"]
    assert set(ref) == {"kind", "sha256", "size", "content_type", "width", "height"}
    assert (ref["kind"], ref["content_type"], ref["width"], ref["height"]) == ("image", "image/jpeg", 64, 48)
    stored = evidence_dir / ref["sha256"][:2] / f"{ref['sha256']}.jpg"
    assert hashlib.sha256(stored.read_bytes()).hexdigest() == ref["sha256"]
    assert stored.stat().st_size == ref["size"]


def test_photo_caption_is_the_text_and_image_documents_count_as_photos(
    server: ChannelServer, fake: FakeTelegram, in_claim: int, evidence_dir: Path
) -> None:
    chat = in_claim
    fake.add_file("doc-jpg", JPEG)
    document = {
        "file_id": "doc-jpg",
        "file_unique_id": "dj",
        "file_name": "box.jpg",
        "mime_type": "image/jpeg",
        "file_size": len(JPEG),
    }
    server.post(message_update(chat, document=document, caption="/restart 外箱压坏了"))
    (message,) = server.recorder.wait(1)
    assert message.text == "／restart 外箱压坏了"
    assert message.metadata["attachments"][0]["sha256"]
    assert fake.downloads == ["photos/doc-jpg.jpg"]


def test_a_file_that_is_not_an_image_goes_to_rasa_as_an_error_code(
    server: ChannelServer, fake: FakeTelegram, in_claim: int, evidence_dir: Path
) -> None:
    chat = in_claim
    fake.add_file("fake-jpg", b"MZ\x90\x00 this is an executable")
    server.post(message_update(chat, photo=[photo_size("fake-jpg", 64, 48, 25)]))
    (message,) = server.recorder.wait(1)
    assert message.text == PHOTO_INTENT
    assert message.metadata == {"attachments": [{"kind": "image", "error": "not_an_image"}]}
    assert not evidence_dir.exists() or not any(evidence_dir.rglob("*.jpg"))


def test_oversize_photo_is_refused_before_any_download(
    server: ChannelServer, fake: FakeTelegram, in_claim: int, evidence_dir: Path
) -> None:
    chat = in_claim
    fake.add_file("big-1", JPEG, size=MAX_IMAGE_BYTES + 1)
    fake.add_file("big-2", JPEG, size=MAX_IMAGE_BYTES * 2)
    sizes = [photo_size("big-1", 3000, 2000, MAX_IMAGE_BYTES + 1), photo_size("big-2", 6000, 4000, MAX_IMAGE_BYTES * 2)]
    server.post(message_update(chat, photo=sizes))
    wait_until(lambda: len(sent_texts(fake, chat)) == 1, what="the refusal")
    error = EvidenceError.from_code("too_large")
    assert sent_texts(fake, chat) == [f"{error.message_zh}\n{error.message_en}"]
    assert fake.calls_to("getFile") == [] and fake.downloads == []
    assert server.recorder.messages == []


OUTSIDE_CLAIM = {"attachments": [{"kind": "image", "error": "outside_claim"}]}


def evidence_files(evidence_dir: Path) -> list[Path]:
    return sorted(p for p in evidence_dir.rglob("*") if p.is_file()) if evidence_dir.exists() else []


@pytest.mark.parametrize("loops", [None, (), (FORM, None)], ids=["new-chat", "no-claim", "claim-ended"])
def test_a_photo_outside_a_claim_is_never_downloaded_nor_stored(
    server: ChannelServer,
    fake: FakeTelegram,
    agent: Agent,
    domain: Domain,
    chat: int,
    evidence_dir: Path,
    loops: tuple[str | None, ...] | None,
) -> None:
    if loops is not None:
        server.run(agent.tracker_store.save(claim_tracker(domain, f"tg-{chat}", *loops)))
    fake.add_file("outside-photo", JPEG)
    fake.add_file("outside-doc", JPEG)
    fake.add_file("outside-big", JPEG, size=MAX_IMAGE_BYTES + 1)
    document = {"file_id": "outside-doc", "file_unique_id": "od", "file_name": "box.jpg", "mime_type": "image/jpeg",
                "file_size": len(JPEG)}  # fmt: skip
    server.post(message_update(chat, photo=[photo_size("outside-photo", 64, 48, len(JPEG))]))
    server.post(message_update(chat, document=document, caption="外箱压坏了"))
    server.post(message_update(chat, photo=[photo_size("outside-big", 6000, 4500, MAX_IMAGE_BYTES + 1)]))
    sentinel = send_sentinel_and_wait(server, chat)

    assert fake.calls_to("getFile") == [] and fake.downloads == []  # the file endpoints were never called
    assert evidence_files(evidence_dir) == []
    assert server.recorder.texts() == [PHOTO_INTENT, "外箱压坏了", PHOTO_INTENT, sentinel]
    assert [m.metadata for m in server.recorder.messages[:3]] == [OUTSIDE_CLAIM] * 3
    assert sent_texts(fake, chat)[:3] == ["收到 / got it"] * 3  # the dialogue answers; the channel adds nothing


def test_photos_are_taken_only_while_the_claim_form_runs(
    server: ChannelServer, fake: FakeTelegram, agent: Agent, domain: Domain, chat: int, evidence_dir: Path
) -> None:
    sender = f"tg-{chat}"
    for file_id in ("before", "during", "after"):
        fake.add_file(file_id, JPEG)

    def photo_then_sentinel(file_id: str) -> UserMessage:
        server.post(message_update(chat, photo=[photo_size(file_id, 64, 48, len(JPEG))]))
        send_sentinel_and_wait(server, chat)
        return server.recorder.messages[-2]

    before = photo_then_sentinel("before")
    server.run(agent.tracker_store.save(claim_tracker(domain, sender, FORM)))
    during = photo_then_sentinel("during")
    server.run(agent.tracker_store.save(claim_tracker(domain, sender, FORM, None)))
    after = photo_then_sentinel("after")

    assert [c.params["file_id"] for c in fake.calls_to("getFile")] == ["during"]
    assert fake.downloads == ["photos/during.jpg"]
    assert before.text == during.text == after.text == PHOTO_INTENT
    assert before.metadata == after.metadata == OUTSIDE_CLAIM
    (ref,) = during.metadata["attachments"]
    assert "error" not in ref
    assert evidence_files(evidence_dir) == [evidence_dir / ref["sha256"][:2] / f"{ref['sha256']}.jpg"]


# --------------------------------------------------------------------------- buttons


LONG_PAYLOAD = '/choose_delay_option{"choice": "refund", "note": "' + "退款" * 20 + '"}'


def test_buttons_are_an_inline_keyboard_and_a_tap_comes_back_as_the_payload(
    server: ChannelServer, fake: FakeTelegram, chat: int
) -> None:
    async def offer(message: UserMessage) -> None:
        buttons = [{"title": "是", "payload": "/affirm"}, {"title": "退款", "payload": LONG_PAYLOAD}]
        await message.output_channel.send_text_with_buttons(message.sender_id, "您想怎么处理？", buttons)

    server.recorder.respond = offer
    server.post(message_update(chat, text="包裹晚了三天"))
    wait_until(lambda: len(fake.calls_to("sendMessage")) == 1, what="the keyboard")
    sent = fake.calls_to("sendMessage")[0]
    assert sent.params["text"] == "您想怎么处理？"
    rows = sent.json("reply_markup")["inline_keyboard"]
    assert [[b["text"] for b in row] for row in rows] == [["是"], ["退款"]]
    data = [row[0]["callback_data"] for row in rows]
    assert all(len(d.encode()) <= 64 for d in data)
    assert len(LONG_PAYLOAD.encode()) > 64

    server.recorder.respond = None
    for item in data:
        assert server.post(callback_update(chat, item)).status_code == 200
    messages = server.recorder.wait(3)
    assert [m.text for m in messages[1:]] == ["/affirm", LONG_PAYLOAD]
    assert all(m.sender_id == f"tg-{chat}" for m in messages)
    answers = fake.calls_to("answerCallbackQuery")
    assert len(answers) == 2 and all("text" not in a.params for a in answers)


def test_forged_or_foreign_callback_data_is_refused(server: ChannelServer, fake: FakeTelegram, chat: int) -> None:
    async def offer(message: UserMessage) -> None:
        await message.output_channel.send_text_with_buttons(
            message.sender_id, "确认吗？", [{"title": "是", "payload": "/affirm"}]
        )

    server.recorder.respond = offer
    server.post(message_update(chat, text="确认"))
    wait_until(lambda: len(fake.calls_to("sendMessage")) == 1, what="the keyboard")
    genuine = fake.calls_to("sendMessage")[0].json("reply_markup")["inline_keyboard"][0][0]["callback_data"]
    server.recorder.respond = None

    other_chat = next(_chat_ids)
    forged = [
        (chat, "/restart"),
        (chat, genuine.replace("affirm", "restart")),
        (other_chat, genuine),
        (chat, "k" + "A" * 16),
    ]
    for target, data in forged:
        server.post(callback_update(target, data))
    wait_until(lambda: len(fake.calls_to("answerCallbackQuery")) == len(forged), what="the callback answers")
    send_sentinel_and_wait(server, chat, callback_update(chat, genuine), "/affirm")  # the genuine tap still works
    cid = f"tg-{chat}"
    assert [(m.sender_id, m.text) for m in server.recorder.messages] == [(cid, "确认"), (cid, "/affirm")]
    answers = [a.params.get("text") for a in fake.calls_to("answerCallbackQuery")]
    assert answers == [BUTTON_EXPIRED] * len(forged) + [None]


# --------------------------------------------------------------------------- outbound


def test_retry_after_is_honoured_once(server: ChannelServer, fake: FakeTelegram, chat: int) -> None:
    fake.fail_next("sendMessage", retry_after=1)
    server.post(message_update(chat, text="在吗"))
    wait_until(lambda: len(fake.calls_to("sendMessage")) == 2, timeout=6, what="the retried sendMessage")
    first, second = fake.calls_to("sendMessage")
    assert first.params == second.params
    assert second.at - first.at >= 0.95
    sentinel = send_sentinel_and_wait(server, chat)
    assert server.recorder.texts() == ["在吗", sentinel]
    assert len(fake.calls_to("sendMessage")) == 3  # no third attempt: the third call is the sentinel's answer


def test_agent_console_messages_go_out_through_the_registered_sender(fake: FakeTelegram, chat: int) -> None:
    with ChannelServer(make_channel(fake), Recorder()) as console_side:
        fake.reset()
        messages = [
            {"recipient_id": f"tg-{chat}", "text": "您好，我是客服李娜，正在为您处理。", "agent": "李娜"},
            {
                "recipient_id": f"tg-{chat}",
                "text": "还需要别的帮助吗？",
                "buttons": [{"title": "没有了", "payload": "/deny"}],
            },
            {"recipient_id": f"tg-{chat}", "image": "https://example.com/route.png"},
        ]
        console_side.run(senders.deliver("telegram", f"tg-{chat}", messages))
        sent = fake.calls_to("sendMessage")
        assert [c.params["text"] for c in sent] == [messages[0]["text"], messages[1]["text"]]
        assert {c.params["chat_id"] for c in sent} == {str(chat)}
        assert sent[1].json("reply_markup")["inline_keyboard"][0][0]["text"] == "没有了"
        (photo,) = fake.calls_to("sendPhoto")
        assert photo.params["photo"] == "https://example.com/route.png"


async def test_rate_limiter_paces_one_chat_but_not_different_chats() -> None:
    limiter = RateLimiter(per_chat=20.0, chat_burst=1, overall=1000.0, overall_burst=1000)
    start = time.monotonic()
    for chat in range(4):
        await limiter.wait(chat)
    assert time.monotonic() - start < 0.05
    start = time.monotonic()
    for _ in range(4):
        await limiter.wait(99)
    assert time.monotonic() - start >= 0.14  # 3 gaps of 50 ms


# --------------------------------------------------------------------------- secrets stay out of logs


def test_the_token_never_appears_in_logs(
    server: ChannelServer, fake: FakeTelegram, in_claim: int, evidence_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    chat = in_claim
    caplog.set_level(logging.DEBUG)
    fake.add_file("log-photo", JPEG)
    server.post(message_update(chat, text="你好"))
    server.post(message_update(chat, photo=[photo_size("log-photo", 64, 48, len(JPEG))]))
    server.recorder.wait(2)
    wait_until(lambda: len(sent_texts(fake, chat)) == 2, what="two answers")
    with ChannelServer(make_channel(fake, token=BAD_TOKEN), Recorder()) as revoked:
        assert revoked.post(message_update(chat, text="你好")).status_code == 503

    logged = caplog.text + "".join(r.getMessage() + (r.exc_text or "") for r in caplog.records)
    for secret in (TOKEN, TOKEN.split(":")[1], BAD_TOKEN, BAD_TOKEN.split(":")[1], SECRET):
        assert secret not in logged
    # the filter really worked: httpx logged the API URLs, and PTB quoted the revoked token
    assert "/bot<redacted>/sendMessage" in logged and "/file/bot<redacted>/photos/log-photo.jpg" in logged
    assert "The token `<redacted>` was rejected" in logged


# --------------------------------------------------------------------------- Redis: several replicas


def test_replicas_share_dedup_and_button_payloads_in_redis(
    fake: FakeTelegram, chat: int, redis_client: redis.Redis, redis_prefix: str
) -> None:
    options = {"redis_url": REDIS_URL, "redis_prefix": redis_prefix}
    with (
        ChannelServer(make_channel(fake, **options), Recorder()) as one,
        ChannelServer(make_channel(fake, **options), Recorder()) as two,
    ):
        fake.reset()
        update = message_update(chat, text="我要退款")
        assert one.post(update).status_code == 200
        one.recorder.wait(1)
        assert two.post(update).status_code == 200
        sentinel = send_sentinel_and_wait(two, chat)  # the replica the duplicate reached
        assert one.recorder.texts() == ["我要退款"] and two.recorder.texts() == [sentinel]

        async def offer(message: UserMessage) -> None:
            await message.output_channel.send_text_with_buttons(
                message.sender_id, "请选择", [{"title": "退款", "payload": LONG_PAYLOAD}]
            )

        one.recorder.respond = offer
        one.post(message_update(chat, text="延误补偿"))
        wait_until(lambda: any("reply_markup" in c.params for c in fake.calls_to("sendMessage")), what="keyboard")
        sent = [c for c in fake.calls_to("sendMessage") if "reply_markup" in c.params][0]
        data = sent.json("reply_markup")["inline_keyboard"][0][0]["callback_data"]
        assert data.startswith("k")  # too long to travel inline: kept in Redis
        two.post(callback_update(chat, data))
        tapped = two.recorder.wait(2)[-1]
        assert tapped.text == LONG_PAYLOAD and two.recorder.texts() == [sentinel, LONG_PAYLOAD]

    keys = {k.decode() for k in redis_client.scan_iter(match=f"{redis_prefix}:*")}
    assert f"{redis_prefix}:telegram:123456789:update:{update['update_id']}" in keys
    assert f"{redis_prefix}:telegram:123456789:button:{data[1:]}" in keys
    assert 0 < redis_client.ttl(f"{redis_prefix}:telegram:123456789:button:{data[1:]}") <= 24 * 3600


# --------------------------------------------------------------------------- configuration and command line


def test_configuration_expands_variables_and_refuses_bad_values(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TG_TEST_TOKEN", TOKEN)
    monkeypatch.setenv("TG_TEST_SECRET", SECRET)
    config = TelegramConfig.from_mapping({"token": "${TG_TEST_TOKEN}", "secret_token": "$TG_TEST_SECRET"}, env={})
    assert (config.token, config.secret_token, config.base_url) == (TOKEN, SECRET, "https://api.telegram.org")
    assert TOKEN not in repr(config) and SECRET not in repr(config)
    with pytest.raises(ValueError, match="TG_TEST_UNSET"):
        TelegramConfig.from_mapping({"token": "${TG_TEST_UNSET}", "secret_token": SECRET}, env={})
    with pytest.raises(ValueError, match="secret_token"):
        TelegramConfig.from_mapping({"token": TOKEN, "secret_token": "short"}, env={})
    with pytest.raises(ValueError, match="secret_token"):
        TelegramConfig.from_mapping({"token": TOKEN}, env={})
    from_env = TelegramConfig.from_mapping(
        None, env={"TELEGRAM_TOKEN": TOKEN, "TELEGRAM_SECRET_TOKEN": SECRET, "TELEGRAM_BASE_URL": "http://x:1/bot"}
    )
    assert from_env.base_url == "http://x:1"
    monkeypatch.delenv("TELEGRAM_TOKEN", raising=False)
    off = TelegramInput.from_credentials({})
    assert isinstance(off, TelegramInput) and off.config is None


def test_set_webhook_command(fake: FakeTelegram, monkeypatch: pytest.MonkeyPatch) -> None:
    fake.reset()
    monkeypatch.setenv("TELEGRAM_TOKEN", TOKEN)
    monkeypatch.setenv("TELEGRAM_SECRET_TOKEN", SECRET)
    monkeypatch.setenv("TELEGRAM_BASE_URL", fake.url)
    monkeypatch.setenv("TELEGRAM_WEBHOOK_URL", "https://bot.example.com/webhooks/telegram/webhook")
    assert main(["set-webhook"]) == 0
    (call,) = fake.calls_to("setWebhook")
    assert call.params["url"] == "https://bot.example.com/webhooks/telegram/webhook"
    assert call.params["secret_token"] == SECRET
    assert call.json("allowed_updates") == ["message", "callback_query"]
    assert call.json("drop_pending_updates") is False


def test_poll_mode_forwards_updates_through_the_webhook(server: ChannelServer, fake: FakeTelegram, chat: int) -> None:
    fake.queue_update(message_update(chat, text="/start"))
    config = TelegramConfig.from_mapping({"token": TOKEN, "secret_token": SECRET, "base_url": fake.url}, env={})
    assert asyncio.run(poll(config, server.base, max_batches=1)) == 0
    (message,) = server.recorder.wait(1)
    assert message.text == "/greet" and message.sender_id == f"tg-{chat}"
    assert fake.calls_to("deleteWebhook")[0].json("drop_pending_updates") is False
    assert fake.calls_to("getUpdates")[0].json("allowed_updates") == ["message", "callback_query"]
