"""Issue 11, findings 4 and 5 on the Telegram/WeChat side, and the handoff queue's caps and expiry.

* Channels own their conversations: Telegram is ``tg-<chat id>``, WeChat ``wx-<openid>``;
  an id without the prefix (what the REST channel or a forged console call would use)
  reaches nobody.
* Telegram and WeChat answer 200 whatever happens, so a flood is met with one polite reply
  per window, then silence; photo downloads have their own, tighter bound.
* Finding 6: photos are downloaded and stored only while the conversation's damage claim
  form runs, read from the Rasa server's tracker store (a real ``Agent`` with Rasa's
  in-memory store); when that cannot be read (no agent, tracker store down) nothing is kept.
* The handoff queue has a cap on waiting conversations and an expiry, in memory and in the
  real Redis; expired conversations are resumed and their customers told
  (``connectors/console/expiry.py``); with a full queue the bot keeps serving.

Telegram and WeChat are the fake servers of ``tests/fakes/telegram.py`` and
``tests/fakes/wechat.py`` over real HTTP; the channels run on a real Sanic server; Rasa is
replaced at the process boundary by a recorder (or, for the sweep, a real ``Agent`` with
Rasa's in-memory tracker and lock stores). Redis tests use the real Redis on
127.0.0.1:6379 with their own prefix and FAIL when it is down.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import secrets
import socket
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from rasa.core.agent import Agent
from rasa.core.channels.channel import InputChannel, UserMessage
from rasa.core.lock_store import InMemoryLockStore
from rasa.core.tracker_store import InMemoryTrackerStore, RedisTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ConversationPaused, ConversationResumed, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sanic import Blueprint

from actions.claims import FORM
from actions.handoff import ActionHandoff
from bot import services
from bot.common.ratelimit import MemoryRateLimiter, set_limiter
from bot.handoff.queue import (
    HandoffQueue,
    InMemoryHandoffQueue,
    QueueEntry,
    QueueFull,
    RedisHandoffQueue,
    queue_from_env,
)
from bot.handoff.service import set_handoff_queue
from bot.policy.limits import Limits, limits, set_limits
from bot.policy.model import Policy
from bot.tickets import TicketStore, TicketType
from connectors.common import senders
from connectors.common.replies import TOO_FAST_REPLY, TOO_MANY_PHOTOS_REPLY
from connectors.console import live
from connectors.console.expiry import install, resume_refused, schedule_refused, sweep
from connectors.telegram.channel import TelegramInput
from connectors.telegram.config import SECRET_HEADER
from connectors.wechat.channel import WeChatInput
from tests.fakes.telegram import FakeTelegram, small_jpeg
from tests.fakes.wechat import FakeWeChat
from tests.support import ROOT
from tests.support.claims import claim_agent, claim_tracker, serve_agent
from tests.support.redis_server import REDIS_URL, connect_redis
from tests.support.sanic_server import BlueprintServer

TG_TOKEN = "424242424:AAE-security_Token-0123456789abcdef"
TG_SECRET = "security-secret-" + "0a1b2c3d4e5f6a7b"
WX_APP_ID = "wx1a2b3c4d5e6f7a8b"
WX_APP_SECRET = "5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b"
WX_TOKEN = "secTok3nForTests"
OUTSIDE_CLAIM = {"attachments": [{"kind": "image", "error": "outside_claim"}]}
T0 = datetime(2026, 11, 23, 2, 0, tzinfo=timezone.utc)

_ids = itertools.count(1)
_chats = itertools.count(880_001)


# --------------------------------------------------------------------------- harness


class Seconds:
    """A settable monotonic clock for the rate limiter."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def limiter_clock() -> Iterator[Seconds]:
    """A fresh in-process limiter on a clock the test moves; small rates for the channels."""
    clock = Seconds()
    set_limiter(MemoryRateLimiter(clock=clock))
    base = limits()
    rates = {name: {"count": r.count, "seconds": r.seconds} for name, r in base.rates.items()}
    rates.update(telegram_per_sender={"count": 3, "seconds": 60}, wechat_per_sender={"count": 3, "seconds": 60},
                 telegram_photos_per_sender={"count": 1, "seconds": 600},
                 wechat_photos_per_sender={"count": 1, "seconds": 600})  # fmt: skip
    sections: dict[str, Any] = {"rates": rates}
    for name, value in base.numbers.items():
        section, key = name.split(".", 1)
        sections.setdefault(section, {})[key] = value
    set_limits(Limits.from_mapping(sections, "test limits"))
    yield clock
    set_limits(None)
    set_limiter(None)


def wait_until(predicate: Callable[[], bool], what: str, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


class Recorder:
    """``on_new_message`` standing in for Rasa: records each message and answers it."""

    def __init__(self) -> None:
        self.messages: list[UserMessage] = []
        self._lock = threading.Lock()

    async def __call__(self, message: UserMessage) -> None:
        with self._lock:
            self.messages.append(message)
        await message.output_channel.send_text_message(message.sender_id, f"收到：{message.text}")

    def seen(self) -> list[tuple[str, str]]:
        with self._lock:
            return [(m.sender_id, m.text) for m in self.messages]


@pytest.fixture(scope="module")
def telegram() -> Iterator[FakeTelegram]:
    with FakeTelegram([TG_TOKEN]) as server:
        yield server


@pytest.fixture
def tg(telegram: FakeTelegram) -> Iterator[tuple[BlueprintServer, Recorder]]:
    channel = TelegramInput.from_credentials({"token": TG_TOKEN, "secret_token": TG_SECRET, "base_url": telegram.url})
    recorder = Recorder()
    with BlueprintServer(channel, recorder) as server:
        telegram.reset()
        yield server, recorder


def tg_update(chat: int, **content: Any) -> dict[str, Any]:
    message = {"message_id": next(_ids), "date": int(time.time()),
               "chat": {"id": chat, "type": "private", "first_name": "顾客"},
               "from": {"id": chat, "is_bot": False, "first_name": "顾客"}}  # fmt: skip
    return {"update_id": next(_ids), "message": {**message, **content}}


def tg_post(server: BlueprintServer, update: dict[str, Any]) -> httpx.Response:
    return server.http.post(f"{server.url}/webhook", json=update, headers={SECRET_HEADER: TG_SECRET})


def tg_texts(fake: FakeTelegram, chat: int) -> list[str]:
    return [c.params["text"] for c in fake.calls_to("sendMessage") if c.params["chat_id"] == str(chat)]


def tg_settle(server: BlueprintServer, recorder: Recorder, chat: int) -> str:
    """Send a sentinel message from ``chat`` and wait until it and everything before it is handled."""
    text = f"sentinel {secrets.token_hex(3)}"
    assert tg_post(server, tg_update(chat, text=text)).status_code == 200
    wait_until(lambda: (f"tg-{chat}", text) in recorder.seen(), "the sentinel to reach Rasa")
    wait_until(lambda: not server.channel.background, "the channel's background tasks")
    return text


@pytest.fixture(scope="module")
def wechat() -> Iterator[FakeWeChat]:
    server = FakeWeChat(WX_APP_ID, WX_APP_SECRET).start()
    yield server
    server.stop()


@pytest.fixture
def wx(wechat: FakeWeChat) -> Iterator[tuple[BlueprintServer, Recorder]]:
    channel = WeChatInput(WX_APP_ID, WX_APP_SECRET, WX_TOKEN, api_base_url=wechat.url)
    recorder = Recorder()
    with BlueprintServer(channel, recorder) as server:
        wechat.reset()
        yield server, recorder


def openid() -> str:
    return "oSec" + secrets.token_hex(12)


def wx_post(server: BlueprintServer, sender: str, **fields: Any) -> httpx.Response:
    timestamp, nonce = str(int(time.time())), str(secrets.randbelow(10**9))
    signature = hashlib.sha1("".join(sorted([WX_TOKEN, timestamp, nonce])).encode()).hexdigest()
    items = {"ToUserName": "gh_sec", "FromUserName": sender, "CreateTime": int(time.time()),
             "MsgId": secrets.randbelow(10**16), **fields}  # fmt: skip
    body = "".join(f"<{k}>{v}</{k}>" if isinstance(v, int) else f"<{k}><![CDATA[{v}]]></{k}>" for k, v in items.items())
    query = {"signature": signature, "timestamp": timestamp, "nonce": nonce}
    return server.http.post(f"{server.url}/webhook", params=query, content=f"<xml>{body}</xml>".encode())


def wx_settle(server: BlueprintServer, recorder: Recorder, fake: FakeWeChat, sender: str) -> str:
    """Send a sentinel from ``sender`` and wait for its answer: what came before it is done (in order)."""
    text = f"sentinel {secrets.token_hex(3)}"
    assert wx_post(server, sender, MsgType="text", Content=text).text == "success"
    fake.wait_for(lambda: f"收到：{text}" in fake.texts(sender))
    return text


# --------------------------------------------------------------------------- channels own their conversations


def test_a_telegram_chat_is_the_conversation_tg_chat_so_a_rest_id_cannot_collide(tg, telegram) -> None:
    server, recorder = tg
    chat = next(_chats)
    assert tg_post(server, tg_update(chat, text="我的快递到哪了")).status_code == 200
    wait_until(lambda: len(recorder.seen()) == 1, "the message")
    assert recorder.seen() == [(f"tg-{chat}", "我的快递到哪了")]
    assert recorder.messages[0].sender_id != str(chat)  # what a REST caller naming the chat id would address
    wait_until(lambda: tg_texts(telegram, chat) == ["收到：我的快递到哪了"], "the answer in that chat")


def test_a_wechat_customer_is_the_conversation_wx_openid(wx, wechat) -> None:
    server, recorder = wx
    customer = openid()
    assert wx_post(server, customer, MsgType="text", Content="查快递").text == "success"
    wechat.wait_for(lambda: wechat.texts(customer) == ["收到：查快递"])
    assert recorder.seen() == [(f"wx-{customer}", "查快递")]


def test_an_agent_reply_to_tg_123_reaches_telegram_chat_123_and_a_bare_id_reaches_nobody(tg, telegram) -> None:
    server, _ = tg
    chat = next(_chats)
    reply = [{"recipient_id": f"tg-{chat}", "text": "您好，我是客服小王。"}]
    server.call(senders.deliver("telegram", f"tg-{chat}", reply))
    assert tg_texts(telegram, chat) == ["您好，我是客服小王。"]
    # the same chat named without the prefix (a REST sender id, a forged console call) gets nothing
    server.call(senders.deliver("telegram", str(chat), [{"text": "不该送达"}]))
    server.call(server.channel.get_output_channel().send_text_message(str(chat), "也不该送达"))
    server.call(server.channel.get_output_channel().send_text_message(f"wx-{chat}", "更不该送达"))
    server.call(senders.deliver("telegram", f"tg-{chat}", [{"text": "sentinel"}]))
    assert tg_texts(telegram, chat) == ["您好，我是客服小王。", "sentinel"]
    assert {c.params["chat_id"] for c in telegram.calls_to("sendMessage")} == {str(chat)}


def test_an_agent_reply_to_wx_openid_reaches_that_customer_and_a_bare_openid_reaches_nobody(wx, wechat) -> None:
    server, _ = wx
    customer = openid()
    server.call(senders.deliver("wechat", f"wx-{customer}", [{"text": "您好，我是客服小王。"}]))
    server.call(senders.deliver("wechat", customer, [{"text": "不该送达"}]))
    server.call(server.channel.get_output_channel().send_text_message(customer, "也不该送达"))
    server.call(server.channel.get_output_channel().send_text_message(f"tg-{customer}", "更不该送达"))
    server.call(senders.deliver("wechat", f"wx-{customer}", [{"text": "sentinel"}]))
    assert wechat.texts() == ["您好，我是客服小王。", "sentinel"]
    assert {m["touser"] for m in wechat.sent} == {customer}


# --------------------------------------------------------------------------- rate limits: one reply, then silence


def test_telegram_over_the_rate_gets_one_polite_reply_then_silence(tg, telegram, limiter_clock: Seconds) -> None:
    server, recorder = tg
    chat, other = next(_chats), next(_chats)
    for n in range(6):  # 3 allowed per 60 s
        assert tg_post(server, tg_update(chat, text=f"第{n}条")).status_code == 200  # Telegram needs its 200
    assert tg_post(server, tg_update(other, text="别人的消息")).status_code == 200  # another chat: its own window
    wait_until(lambda: len(tg_texts(telegram, chat)) == 4, "three answers and one notice")
    limiter_clock.now += 61  # the window is over: the chat may write again
    sentinel = tg_settle(server, recorder, chat)
    assert [text for sender, text in recorder.seen() if sender == f"tg-{chat}"] == ["第0条", "第1条", "第2条", sentinel]
    notice = TOO_FAST_REPLY.format(seconds=60)
    assert tg_texts(telegram, chat) == ["收到：第0条", "收到：第1条", "收到：第2条", notice, f"收到：{sentinel}"]
    assert "too fast" in notice and "太快" in notice
    assert (f"tg-{other}", "别人的消息") in recorder.seen()


def test_wechat_over_the_rate_gets_one_polite_reply_then_silence(wx, wechat, limiter_clock: Seconds) -> None:
    server, recorder = wx
    customer, other = openid(), openid()
    for n in range(6):
        assert wx_post(server, customer, MsgType="text", Content=f"第{n}条").text == "success"  # WeChat needs it
    assert wx_post(server, other, MsgType="text", Content="别人的消息").text == "success"
    wechat.wait_for(lambda: len(wechat.texts(customer)) == 4)
    limiter_clock.now += 61
    sentinel = wx_settle(server, recorder, wechat, customer)
    assert [text for sender, text in recorder.seen() if sender == f"wx-{customer}"] == [
        "第0条", "第1条", "第2条", sentinel]  # fmt: skip
    assert wechat.texts(customer) == ["收到：第0条", "收到：第1条", "收到：第2条",
                                      TOO_FAST_REPLY.format(seconds=60), f"收到：{sentinel}"]  # fmt: skip
    wechat.wait_for(lambda: wechat.texts(other) == ["收到：别人的消息"])


def evidence_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def tg_photo(server: BlueprintServer, chat: int, file_id: str, size: int) -> None:
    photo = {"file_id": file_id, "file_unique_id": f"u-{file_id}", "width": 64, "height": 48, "file_size": size}
    assert tg_post(server, tg_update(chat, photo=[photo])).status_code == 200


def test_telegram_photo_work_is_bounded_per_chat_and_done_only_inside_a_claim(
    tg, telegram, domain, limiter_clock: Seconds, tmp_path, monkeypatch
) -> None:
    monkeypatch.setenv("EVIDENCE_DIR", str(tmp_path / "evidence"))
    server, recorder = tg
    agent = claim_agent(domain)
    serve_agent(server, agent)
    chat = next(_chats)
    jpeg = small_jpeg()
    for name in ("sec-out1", "sec-out2", "sec-p1", "sec-p2"):
        telegram.add_file(name, jpeg)
    for name in ("sec-out1", "sec-out2"):  # no claim: not downloaded, and the photo allowance is left alone
        tg_photo(server, chat, name, len(jpeg))
    first = tg_settle(server, recorder, chat)
    assert telegram.calls_to("getFile") == [] and telegram.downloads == []
    limiter_clock.now += 61  # a new message window (the photo window of 600 s goes on)
    server.call(agent.tracker_store.save(claim_tracker(domain, f"tg-{chat}", FORM)))
    for name in ("sec-p1", "sec-p2"):  # 1 photo per 600 s
        tg_photo(server, chat, name, len(jpeg))
    sentinel = tg_settle(server, recorder, chat)
    assert [c.params["file_id"] for c in telegram.calls_to("getFile")] == ["sec-p1"]  # no second download
    assert telegram.downloads == ["photos/sec-p1.jpg"]
    assert [text for _, text in recorder.seen()] == ["/send_photo", "/send_photo", first, "/send_photo", sentinel]
    assert [m.metadata for m in recorder.messages[:2]] == [OUTSIDE_CLAIM] * 2
    (ref,) = recorder.messages[3].metadata["attachments"]
    assert evidence_files(tmp_path / "evidence") == [tmp_path / "evidence" / ref["sha256"][:2] / f"{ref['sha256']}.jpg"]
    assert TOO_MANY_PHOTOS_REPLY.format(seconds=600) in tg_texts(telegram, chat)


def test_wechat_photo_work_is_bounded_per_customer_and_done_only_inside_a_claim(
    wx, wechat, domain, limiter_clock: Seconds, tmp_path, monkeypatch
) -> None:
    monkeypatch.setenv("EVIDENCE_DIR", str(tmp_path / "evidence"))
    server, recorder = wx
    agent = claim_agent(domain)
    serve_agent(server, agent)
    customer = openid()

    def photo() -> None:
        reply = wx_post(server, customer, MsgType="image", MediaId="MEDIA_JPEG", PicUrl="http://x/p.jpg")
        assert reply.text == "success"

    for _ in range(2):  # no claim: not downloaded, and the photo allowance is left alone
        photo()
    first = wx_settle(server, recorder, wechat, customer)
    assert wechat.media_calls == 0
    limiter_clock.now += 61
    server.call(agent.tracker_store.save(claim_tracker(domain, f"wx-{customer}", FORM)))
    for _ in range(2):  # 1 photo per 600 s
        photo()
    sentinel = wx_settle(server, recorder, wechat, customer)
    assert wechat.media_calls == 1
    assert [text for _, text in recorder.seen()] == ["/send_photo", "/send_photo", first, "/send_photo", sentinel]
    assert [m.metadata for m in recorder.messages[:2]] == [OUTSIDE_CLAIM] * 2
    (ref,) = recorder.messages[3].metadata["attachments"]
    assert evidence_files(tmp_path / "evidence") == [tmp_path / "evidence" / ref["sha256"][:2] / f"{ref['sha256']}.jpg"]
    assert TOO_MANY_PHOTOS_REPLY.format(seconds=600) in wechat.texts(customer)


def dead_tracker_store_agent(domain: Domain) -> Agent:
    """A Rasa agent whose tracker store is Redis on a port nobody listens on (the store is down)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    store = RedisTrackerStore(domain, host="127.0.0.1", port=port)
    return Agent(domain=domain, tracker_store=store, lock_store=InMemoryLockStore())


def test_with_no_readable_tracker_telegram_and_wechat_keep_no_photo(
    tg, telegram, wx, wechat, domain, tmp_path, monkeypatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("EVIDENCE_DIR", str(tmp_path / "evidence"))
    caplog.set_level(logging.ERROR)
    (tg_server, tg_recorder), (wx_server, wx_recorder) = tg, wx
    chat, customer = next(_chats), openid()
    telegram.add_file("sec-nostore", small_jpeg())
    for agent in (None, dead_tracker_store_agent(domain)):  # no agent in the app, then a tracker store that is down
        if agent is not None:
            serve_agent(tg_server, agent)
            serve_agent(wx_server, agent)
        tg_photo(tg_server, chat, "sec-nostore", len(small_jpeg()))
        assert wx_post(wx_server, customer, MsgType="image", MediaId="MEDIA_JPEG").text == "success"
        tg_settle(tg_server, tg_recorder, chat)
        wx_settle(wx_server, wx_recorder, wechat, customer)
    assert telegram.calls_to("getFile") == [] and telegram.downloads == [] and wechat.media_calls == 0
    assert evidence_files(tmp_path / "evidence") == []
    for recorder in (tg_recorder, wx_recorder):
        photos = [m for m in recorder.messages if m.text == "/send_photo"]
        assert [m.metadata for m in photos] == [OUTSIDE_CLAIM] * 2
    assert any("Redis" in r.getMessage() or "ConnectionError" in r.getMessage() for r in caplog.records)


# --------------------------------------------------------------------------- the handoff queue: cap and expiry


class Clock:
    """An aware clock the test moves."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture(params=["memory", "redis"])
def make_queue(request: pytest.FixtureRequest) -> Iterator[Callable[..., HandoffQueue]]:
    """Builds queues on one shared state (one Redis prefix), each with its own client, as replicas would."""
    clients: list[redis.Redis] = []
    shared: dict[str, InMemoryHandoffQueue] = {}
    prefix = request.getfixturevalue("redis_prefix") if request.param == "redis" else ""

    def make(**options: Any) -> HandoffQueue:
        if request.param == "memory":
            return shared.setdefault("queue", InMemoryHandoffQueue(**options))
        clients.append(connect_redis())
        return RedisHandoffQueue(clients[-1], prefix, **options)

    yield make
    for client in clients:
        client.close()


def entry(cid: str, minutes: float = 0, level: int = 3, channel: str = "telegram") -> QueueEntry:
    return QueueEntry(conversation_id=cid, channel=channel, ticket_id="TK-20261123-0042", level=level,
                      enqueued_at=T0 + timedelta(minutes=minutes), anger=0.1, reason="explicit_request",
                      summary="客户要求人工")  # fmt: skip


def test_the_queue_caps_waiting_conversations(make_queue) -> None:
    queue = make_queue(clock=Clock(), max_waiting=2)
    queue.enqueue(entry("tg-1"))
    queue.enqueue(entry("tg-2", 1))
    assert queue.is_full()
    with pytest.raises(QueueFull):
        queue.enqueue(entry("tg-3", 2))
    assert queue.get("tg-3") is None and [e.conversation_id for e in queue.waiting()] == ["tg-1", "tg-2"]
    assert queue.enqueue(entry("tg-1", 5, level=1)).level == 1  # a queued conversation is still updated
    assert queue.claim("tg-1", "alice") is not None and not queue.is_full()  # claimed ones do not count
    queue.enqueue(entry("tg-3", 2))
    with pytest.raises(QueueFull):
        queue.enqueue(entry("tg-4", 3))
    assert queue.requeue("tg-1", "alice") is not None  # an agent putting a chat back is never refused
    assert len(queue.waiting()) == 3


def test_waiting_entries_expire_claimed_ones_never(make_queue) -> None:
    clock = Clock()
    queue = make_queue(clock=clock, waiting_expiry=timedelta(minutes=30))
    for cid, minutes in (("tg-old", 0), ("tg-new", 20), ("tg-held", 0), ("tg-back", 0)):
        queue.enqueue(entry(cid, minutes))
    queue.claim("tg-held", "alice")
    queue.claim("tg-back", "bob")
    clock.now = T0 + timedelta(minutes=25)
    queue.requeue("tg-back", "bob")  # waiting again from 25 min: expiry counts from here

    assert queue.expire(T0 + timedelta(minutes=29, seconds=59)) == []
    (gone,) = queue.expire(T0 + timedelta(minutes=30))
    assert (gone.conversation_id, gone.channel, gone.ticket_id) == ("tg-old", "telegram", "TK-20261123-0042")
    assert queue.get("tg-old") is None and queue.expire(T0 + timedelta(minutes=30)) == []
    assert [e.conversation_id for e in queue.expire(T0 + timedelta(minutes=54))] == ["tg-new"]
    assert [e.conversation_id for e in queue.expire(T0 + timedelta(minutes=55))] == ["tg-back"]
    assert queue.waiting() == [] and [e.conversation_id for e in queue.claimed()] == ["tg-held"]
    assert queue.expire(T0 + timedelta(days=3)) == []  # an agent holds it: never expired


def test_each_expired_entry_goes_to_one_sweeper_only(make_queue) -> None:
    first = make_queue(clock=Clock(), waiting_expiry=timedelta(minutes=1))
    second = make_queue(clock=Clock(), waiting_expiry=timedelta(minutes=1))
    for n in range(40):
        first.enqueue(entry(f"tg-{n}"))
    found: list[list[QueueEntry]] = [[], []]

    def run(index: int, queue: HandoffQueue) -> None:
        found[index] = queue.expire(T0 + timedelta(minutes=5))

    threads = [threading.Thread(target=run, args=(i, q)) for i, q in enumerate((first, second))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    ids = [e.conversation_id for e in found[0] + found[1]]
    assert sorted(ids) == sorted(f"tg-{n}" for n in range(40)) and len(set(ids)) == 40


def test_redis_entries_written_before_the_expiry_existed_still_expire(redis_client, redis_prefix) -> None:
    queue = RedisHandoffQueue(redis_client, redis_prefix, waiting_expiry=timedelta(minutes=30))
    queue.enqueue(entry("tg-legacy"))
    redis_client.hdel(f"{redis_prefix}:handoff:entry:tg-legacy", "since_ms")  # as the older version stored it
    redis_client.zadd(f"{redis_prefix}:handoff:waiting", {"tg-ghost": 1})  # a member without an entry
    assert [e.conversation_id for e in queue.expire(T0 + timedelta(minutes=31))] == ["tg-legacy"]
    assert redis_client.zcard(f"{redis_prefix}:handoff:waiting") == 0


def test_queue_from_env_takes_the_cap_and_expiry_from_the_limits_file(monkeypatch, redis_prefix) -> None:
    base = limits()
    sections: dict[str, Any] = {"rates": {n: {"count": r.count, "seconds": r.seconds} for n, r in base.rates.items()}}
    for name, value in base.numbers.items():
        section, key = name.split(".", 1)
        sections.setdefault(section, {})[key] = value
    sections["handoff"].update(max_waiting=7, waiting_expiry_minutes=45)
    set_limits(Limits.from_mapping(sections, "test limits"))
    try:
        memory = queue_from_env({})
        shared = queue_from_env({"HANDOFF_REDIS_URL": REDIS_URL, "HANDOFF_REDIS_PREFIX": redis_prefix})
    finally:
        set_limits(None)
    for queue in (memory, shared):
        assert (queue.max_waiting, queue.waiting_expiry) == (7, timedelta(minutes=45))
    assert base.number("handoff.max_waiting") >= 1 and base.number("handoff.waiting_expiry_minutes") >= 1


# --------------------------------------------------------------------------- the sweep: resumed and told


@pytest.fixture(scope="module")
def domain() -> Domain:
    return Domain.load(str(ROOT / "domain"))


def paused_tracker(cid: str, domain: Domain, language: str = "zh") -> DialogueStateTracker:
    tracker = DialogueStateTracker(cid, domain.slots)
    for event in (UserUttered("转人工", {"name": "request_human"}), SlotSet("language", language),
                  ConversationPaused()):  # fmt: skip
        tracker.update(event)
    return tracker


def test_the_sweep_resumes_an_expired_conversation_and_tells_the_customer(tg, telegram, domain) -> None:
    server, _ = tg
    chat, fresh_chat, gone_chat = next(_chats), next(_chats), next(_chats)
    agent = Agent(domain=domain, tracker_store=InMemoryTrackerStore(domain), lock_store=InMemoryLockStore())
    queue = InMemoryHandoffQueue(waiting_expiry=timedelta(minutes=30))
    for cid, minutes, language in ((f"tg-{chat}", 0, "en"), (f"tg-{fresh_chat}", 20, "zh"),
                                   (f"tg-{gone_chat}", 0, "zh")):  # fmt: skip
        server.call(agent.tracker_store.save(paused_tracker(cid, domain, language)))
        queue.enqueue(entry(cid, minutes))
    resumed_elsewhere = server.call(agent.tracker_store.retrieve(f"tg-{gone_chat}"))
    resumed_elsewhere.update(ConversationResumed())  # an agent handed it back already
    server.call(agent.tracker_store.save(resumed_elsewhere))

    assert server.call(sweep(agent, queue, T0 + timedelta(minutes=31))) == 1
    tracker = server.call(agent.tracker_store.retrieve(f"tg-{chat}"))
    assert not tracker.is_paused()
    assert [e.type_name for e in tracker.events][-3:] == ["resume", "bot", "action"]
    (told,) = tg_texts(telegram, chat)
    assert "no agent could take your chat in time" in told and "TK-20261123-0042" in told
    assert "assistant is back" in told
    assert tg_texts(telegram, gone_chat) == []  # already resumed: only taken out of the queue
    assert [e.conversation_id for e in queue.waiting()] == [f"tg-{fresh_chat}"]
    assert server.call(agent.tracker_store.retrieve(f"tg-{fresh_chat}")).is_paused()
    assert tg_texts(telegram, fresh_chat) == []
    assert server.call(sweep(agent, queue, T0 + timedelta(minutes=31))) == 0


def test_a_handoff_the_full_queue_refused_is_resumed_with_a_busy_notice(tg, telegram, domain) -> None:
    server, _ = tg
    chat = next(_chats)
    agent = Agent(domain=domain, tracker_store=InMemoryTrackerStore(domain), lock_store=InMemoryLockStore())
    server.call(agent.tracker_store.save(paused_tracker(f"tg-{chat}", domain, "zh")))
    assert server.call(resume_refused(agent, entry(f"tg-{chat}")))
    assert not server.call(agent.tracker_store.retrieve(f"tg-{chat}")).is_paused()
    (told,) = tg_texts(telegram, chat)
    assert "所有人工客服都在忙" in told and "TK-20261123-0042" in told
    assert not server.call(resume_refused(agent, entry(f"tg-{chat}")))  # not paused any more: nothing sent
    assert len(tg_texts(telegram, chat)) == 1


class SweepHost(InputChannel):
    """A blueprint with the sweep installed, and the agent the Rasa server would have."""

    def __init__(self, agent: Agent) -> None:
        self.agent = agent

    @classmethod
    def name(cls) -> str:
        return "sweephost"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        hook = Blueprint(f"sweephost_{secrets.token_hex(4)}", __name__)

        @hook.listener("after_server_start")
        async def load_agent(app: Any, *_: Any) -> None:
            app.ctx.agent = self.agent

        install(hook)
        return hook


def test_the_installed_sweeper_runs_periodically_in_the_server(tg, telegram, domain, monkeypatch) -> None:
    base = limits()
    sections: dict[str, Any] = {"rates": {n: {"count": r.count, "seconds": r.seconds} for n, r in base.rates.items()}}
    for name, value in base.numbers.items():
        section, key = name.split(".", 1)
        sections.setdefault(section, {})[key] = value
    sections["handoff"].update(sweep_interval_seconds=0.05, waiting_expiry_minutes=1)
    set_limits(Limits.from_mapping(sections, "test limits"))
    queue = InMemoryHandoffQueue(waiting_expiry=timedelta(minutes=1))
    monkeypatch.setattr(live, "_queue", queue)
    chat = next(_chats)
    agent = Agent(domain=domain, tracker_store=InMemoryTrackerStore(domain), lock_store=InMemoryLockStore())
    tg_server, _ = tg
    tg_server.call(agent.tracker_store.save(paused_tracker(f"tg-{chat}", domain, "zh")))
    queue.enqueue(replace(entry(f"tg-{chat}"), enqueued_at=datetime.now(timezone.utc) - timedelta(minutes=2)))
    refused_chat = next(_chats)
    tg_server.call(agent.tracker_store.save(paused_tracker(f"tg-{refused_chat}", domain, "en")))
    try:
        with BlueprintServer(SweepHost(agent)) as host:
            wait_until(lambda: queue.waiting() == [], "the server's sweeper to take the expired entry")
            wait_until(lambda: len(tg_texts(telegram, chat)) == 1, "the customer to be told")

            async def broker_refuses() -> bool:  # what the event broker does on QueueFull, in the server's loop
                return schedule_refused(entry(f"tg-{refused_chat}"))

            assert host.call(broker_refuses())
            wait_until(lambda: len(tg_texts(telegram, refused_chat)) == 1, "the refused customer to be told")
    finally:
        set_limits(None)
    assert "没有客服能及时接入" in tg_texts(telegram, chat)[0]
    assert "all our agents are busy" in tg_texts(telegram, refused_chat)[0]
    assert not tg_server.call(agent.tracker_store.retrieve(f"tg-{refused_chat}")).is_paused()


# --------------------------------------------------------------------------- a full queue: the bot keeps serving


@pytest.fixture
def ticket_services(tmp_path) -> Iterator[TicketStore]:
    store = TicketStore(f"sqlite:///{tmp_path / 'tickets.db'}")
    services.configure(ticket_store=store, service_policy=Policy.load(), clock=lambda: T0)
    yield store
    store.close()
    services.reset()
    set_handoff_queue(None)


def handoff_tracker(sender: str, language: str = "en") -> Tracker:
    latest = {"text": "I want a human", "intent": {"name": "request_human", "confidence": 0.99}, "entities": []}
    events = [{"event": "user", "text": "I want a human", "parse_data": {"intent": {"name": "request_human"}}}]
    slots = {"language": language, "handoff_due": None, "handoff_trigger": None}
    return Tracker(sender, slots, latest, events, False, None, {}, "action_listen")


async def test_with_a_full_queue_the_bot_keeps_serving_and_the_ticket_stays(ticket_services) -> None:
    queue = InMemoryHandoffQueue(max_waiting=1)
    set_handoff_queue(queue)
    queue.enqueue(entry("tg-someone-else"))
    dispatcher = CollectingDispatcher()
    events = await ActionHandoff().run(dispatcher, handoff_tracker("tg-77"), {})
    assert all(e.get("event") != "pause" for e in events)
    assert not [e for e in events if e.get("event") == "slot" and e.get("name") == "handoff"]
    (ticket,) = ticket_services.for_conversation("tg-77")
    assert ticket.type is TicketType.HANDOFF
    (message,) = dispatcher.messages
    assert "all our agents are busy" in message["text"] and ticket.id in message["text"]
    assert "follow up" in message["text"]

    queue.release("tg-someone-else")  # room again: the next handoff pauses as before
    events = await ActionHandoff().run(CollectingDispatcher(), handoff_tracker("tg-77"), {})
    assert events[-1]["event"] == "pause"
