"""The WeChat Official Account channel over real HTTP on both sides.

WeChat's servers are played by the test: callbacks are signed (and, in safe mode,
encrypted with ``wechatpy.crypto.WeChatCrypto``) exactly as WeChat does, and posted to
the channel's blueprint served by a real Sanic server on a free port in its own thread.
The WeChat API the channel calls back is ``tests/fakes/wechat.py`` (aiohttp, real HTTP).
Rasa is replaced at the process boundary only: ``on_new_message`` records the
``UserMessage`` and answers through ``message.output_channel`` as Rasa would. Photos are
taken only inside a damage claim, which the channel reads from the Rasa server's
``app.ctx.agent``: here a real Rasa ``Agent`` with the project's domain and Rasa's in-memory
tracker store, holding the trackers a test sets up.

The Redis tests use the real Redis on 127.0.0.1:6379 with their own key prefix
(``lcs-test-<hex>``), deleted afterwards; they FAIL (never skip) if Redis is down.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Callable

import pytest
from rasa.core.agent import Agent
from rasa.core.channels.channel import UserMessage
from rasa.shared.core.domain import Domain
from wechatpy.crypto import WeChatCrypto

from actions.claims import FORM
from bot.common.kv import MemoryStore, RedisStore
from connectors.common import senders
from connectors.common.replies import EMPTY_REPLY, FAILURE_REPLY
from connectors.wechat.api import WeChatApi
from connectors.wechat.buttons import compose
from connectors.wechat.callback import XmlRefused, parse_xml
from connectors.wechat.channel import MENU_REPLY, UNSUPPORTED_REPLY, VOICE_REPLY, WeChatInput
from tests.fakes.wechat import FakeWeChat, sample_jpeg
from tests.support.claims import claim_agent
from tests.support.e2e_servers import free_port
from tests.support.redis_server import REDIS_URL, connect_redis
from tests.support.wechat import (
    AES_KEY,
    APP_ID,
    APP_SECRET,
    OPENID,
    TOKEN,
    ChannelServer,
    encrypted,
    sign,
    signed,
    text_xml,
    xml,
)

OTHER = "oX9kE5tYq2Lw8Rz3Nc6Vb1Mh4Jb7"

pytestmark = pytest.mark.usefixtures("sanic_test_mode")  # the fixtures are in tests/connectors/conftest.py


@pytest.fixture
def agent(domain: Domain) -> Agent:
    """A real Rasa agent with an empty in-memory tracker store, shared by the test's servers."""
    return claim_agent(domain)


@pytest.fixture(scope="module")
def fake_server() -> Iterator[FakeWeChat]:
    server = FakeWeChat(APP_ID, APP_SECRET).start()
    yield server
    server.stop()


@pytest.fixture
def fake(fake_server: FakeWeChat) -> FakeWeChat:
    fake_server.reset()
    return fake_server


@pytest.fixture
def serve(fake: FakeWeChat, evidence_dir: Path, agent: Agent) -> Iterator[Callable[..., ChannelServer]]:
    running: list[ChannelServer] = []

    def start(**kwargs: Any) -> ChannelServer:
        kwargs.setdefault("api_base_url", fake.url)
        server = ChannelServer(WeChatInput(APP_ID, APP_SECRET, TOKEN, **kwargs), agent).start()
        running.append(server)
        return server

    yield start
    for server in running:
        server.stop()


@pytest.fixture
def channel(serve: Callable[..., ChannelServer]) -> ChannelServer:
    return serve()


def send_sentinel_and_wait(channel: ChannelServer, fake: FakeWeChat, openid: str = OPENID, timeout: float = 5.0) -> str:
    """Prove that whatever was sent before has been handled, so its absence can be asserted.

    Sends one genuine message (signed, and encrypted in safe mode) from ``openid`` and waits
    until its answer reaches the fake API. The channel queues a message's work before it
    answers ``success`` and handles one customer's messages one at a time in arrival order
    (``WeChatInput._spawn`` chains them), so by then everything earlier requests started for
    this customer is done. Then it waits until the channel has no background task left at
    all, which also covers work that would have been filed under another sender.

    Returns:
        The sentinel's text, as Rasa sees it (its answer is ``"收到：" + text``).
    """
    text = f"sentinel {secrets.token_hex(4)}"
    if channel.channel._crypto is not None:
        query, body = encrypted(text_xml(text, openid=openid))
        reply = channel.post(body, query)
    else:
        reply = channel.post(text_xml(text, openid=openid))
    assert (reply.status_code, reply.text) == (200, "success"), f"the sentinel was refused ({reply.status_code})"
    deadline = time.monotonic() + timeout
    while f"收到：{text}" not in fake.texts(openid):
        if time.monotonic() > deadline:
            raise AssertionError(
                f"the sentinel from {openid[-4:]} was not answered within {timeout} s: what was sent before it"
                f" has not been handled (yet); sent so far: {fake.texts()}"
            )
        time.sleep(0.02)
    while channel.channel.background:
        if time.monotonic() > deadline:
            raise AssertionError(f"the channel still has {len(channel.channel.background)} task(s) after {timeout} s")
        time.sleep(0.02)
    return text


# --- URL verification ---------------------------------------------------------------------------


def test_get_verification_echoes_echostr(channel: ChannelServer) -> None:
    reply = channel.get({**signed(), "echostr": "5837397520194628810"})
    assert reply.status_code == 200
    assert reply.text == "5837397520194628810"


def _without(key: str, **extra: str) -> dict[str, str]:
    return {k: v for k, v in signed().items() if k != key} | extra


@pytest.mark.parametrize(
    "make_query",
    [
        pytest.param(lambda: {**signed(token="wrongToken"), "echostr": "1"}, id="forged"),
        pytest.param(lambda: {**signed(timestamp=int(time.time()) - 301), "echostr": "1"}, id="stale"),
        pytest.param(lambda: {**signed(timestamp=int(time.time()) + 400), "echostr": "1"}, id="future"),
        pytest.param(lambda: _without("nonce", echostr="1"), id="no-nonce"),
        pytest.param(lambda: signed(), id="no-echostr"),
        pytest.param(lambda: {**signed(), "signature": "", "echostr": "1"}, id="empty-signature"),
        pytest.param(lambda: {**signed(), "echostr": "<script>1</script>"}, id="echostr-not-a-number"),
    ],
)
def test_get_verification_refused(channel: ChannelServer, make_query: Callable[[], dict[str, str]]) -> None:
    reply = channel.get(make_query())
    assert reply.status_code == 403
    assert "1" not in reply.text


# --- text messages ------------------------------------------------------------------------------


def test_text_message_plaintext_mode(channel: ChannelServer, fake: FakeWeChat) -> None:
    reply = channel.post(text_xml("SF1648547086646 到哪了"), signed(openid=OPENID))
    assert (reply.status_code, reply.text) == (200, "success")
    fake.wait_for(lambda: len(fake.sent) == 1)
    [message] = channel.received
    assert (message.text, message.input_channel) == ("SF1648547086646 到哪了", "wechat")
    assert message.sender_id == f"wx-{OPENID}"  # the channel's own namespace: no other channel can write here
    assert fake.sent == [{"touser": OPENID, "msgtype": "text", "text": {"content": "收到：SF1648547086646 到哪了"}}]


def test_text_is_cleaned_like_rest(channel: ChannelServer, fake: FakeWeChat) -> None:
    channel.post(text_xml("  /restart\u202e  now\u200b "))
    fake.wait_for(lambda: len(fake.sent) == 1)
    assert channel.received[0].text == "／restart now"


def test_empty_text_gets_polite_reply_without_rasa(channel: ChannelServer, fake: FakeWeChat) -> None:
    channel.post(text_xml("\u200b \u202e\u3000"))
    fake.wait_for(lambda: len(fake.sent) == 1)
    assert fake.texts() == [EMPTY_REPLY]
    assert channel.received == []


def test_failure_inside_rasa_still_answers(channel: ChannelServer, fake: FakeWeChat) -> None:
    channel.post(text_xml("boom"))
    fake.wait_for(lambda: len(fake.sent) == 1)
    assert fake.texts() == [FAILURE_REPLY]


def test_text_message_safe_mode(serve: Callable[..., ChannelServer], fake: FakeWeChat) -> None:
    channel = serve(encoding_aes_key=AES_KEY)
    query, body = encrypted(text_xml("我的快递呢"))
    reply = channel.post(body, query)
    assert (reply.status_code, reply.text) == (200, "success")
    fake.wait_for(lambda: len(fake.sent) == 1)
    assert [(m.text, m.sender_id) for m in channel.received] == [("我的快递呢", f"wx-{OPENID}")]
    assert fake.texts(OPENID) == ["收到：我的快递呢"]


def test_safe_mode_refuses_forged_or_plain_messages(serve: Callable[..., ChannelServer], fake: FakeWeChat) -> None:
    channel = serve(encoding_aes_key=AES_KEY)
    query, body = encrypted(text_xml("forged"))
    forged = channel.post(body, {**query, "msg_signature": sign(TOKEN, "0", "x", "y")})
    tampered = channel.post(body.replace("<Encrypt><![CDATA[", "<Encrypt><![CDATA[AAAA"), query)
    plain = channel.post(text_xml("plain while safe mode is on"))
    no_msg_signature = channel.post(body, {k: v for k, v in query.items() if k != "msg_signature"})
    other_app = WeChatCrypto(TOKEN, AES_KEY, "wx0000000000000000")
    q2 = signed()
    out = parse_xml(other_app.encrypt_message(text_xml("for another app"), q2["nonce"], q2["timestamp"]))
    wrong_app = channel.post(
        f"<xml><Encrypt><![CDATA[{out['Encrypt']}]]></Encrypt></xml>",
        {**q2, "encrypt_type": "aes", "msg_signature": out["MsgSignature"]},
    )
    assert [r.status_code for r in (forged, tampered, plain, no_msg_signature, wrong_app)] == [403] * 5
    sentinel = send_sentinel_and_wait(channel, fake)
    assert [m.text for m in channel.received] == [sentinel]
    assert fake.texts() == [f"收到：{sentinel}"] and fake.send_attempts == [(OPENID, 0)]
    assert fake.token_calls == 1 and fake.media_calls == 0  # the sentinel's token: none for the refused ones


@pytest.mark.parametrize(
    "make_query",
    [
        pytest.param(lambda: signed(token="wrongToken"), id="forged"),
        pytest.param(lambda: signed(timestamp=int(time.time()) - 301), id="stale"),
        pytest.param(lambda: _without("signature"), id="no-signature"),
        pytest.param(lambda: _without("timestamp"), id="no-timestamp"),
        pytest.param(lambda: _without("nonce"), id="no-nonce"),
        pytest.param(lambda: {**signed(), "timestamp": "soon"}, id="bad-timestamp"),
    ],
)
def test_forged_stale_or_incomplete_post_is_refused(
    channel: ChannelServer, fake: FakeWeChat, make_query: Callable[[], dict[str, str]]
) -> None:
    reply = channel.post(text_xml("give me everything"), make_query())
    assert reply.status_code == 403
    sentinel = send_sentinel_and_wait(channel, fake)
    assert [m.text for m in channel.received] == [sentinel]
    assert fake.texts() == [f"收到：{sentinel}"] and fake.send_attempts == [(OPENID, 0)]
    assert fake.token_calls == 1  # the sentinel's token: none for the refused callback


@pytest.mark.parametrize(
    ("body", "status"),
    [
        pytest.param("<xml>" + "<Content>x</Content>" * 4000 + "</xml>", 413, id="oversized"),
        pytest.param(
            '<!DOCTYPE xml [<!ENTITY x SYSTEM "file:///etc/passwd">]><xml><Content>&x;</Content></xml>',
            400,
            id="doctype",
        ),
        pytest.param('<xml><!ENTITY a "b"></xml>', 400, id="entity"),
        pytest.param("<xml><ToUserName>gh</ToUserName><Content>", 400, id="malformed"),
        pytest.param("not xml at all", 400, id="not-xml"),
        pytest.param(b"<xml>\xff\xfe</xml>", 400, id="not-utf8"),
        pytest.param(
            "<xml><MsgType>text</MsgType><Content>no sender</Content><MsgId>1</MsgId></xml>", 400, id="no-sender"
        ),
        pytest.param(
            f"<xml><FromUserName>{OPENID}</FromUserName><MsgType>text</MsgType><Content>x</Content></xml>",
            400,
            id="no-id",
        ),
    ],
)
def test_bad_bodies_are_refused(channel: ChannelServer, fake: FakeWeChat, body: str | bytes, status: int) -> None:
    reply = channel.post(body)
    assert reply.status_code == status
    sentinel = send_sentinel_and_wait(channel, fake)
    assert [m.text for m in channel.received] == [sentinel]
    assert fake.texts() == [f"收到：{sentinel}"] and fake.send_attempts == [(OPENID, 0)]


# --- de-duplication -----------------------------------------------------------------------------


def test_four_deliveries_make_one_turn(channel: ChannelServer, fake: FakeWeChat) -> None:
    body = text_xml("重复的消息", msg_id=6_400_000_000_000_000_001)
    replies = [channel.post(body) for _ in range(4)]
    assert [(r.status_code, r.text) for r in replies] == [(200, "success")] * 4
    sentinel = send_sentinel_and_wait(channel, fake)
    assert [m.text for m in channel.received] == ["重复的消息", sentinel]
    assert fake.texts() == ["收到：重复的消息", f"收到：{sentinel}"]


def test_deliveries_deduplicated_across_replicas_in_redis(
    serve: Callable[..., ChannelServer], fake: FakeWeChat, redis_prefix: str
) -> None:
    first = serve(redis_url=REDIS_URL, redis_prefix=redis_prefix)
    second = serve(redis_url=REDIS_URL, redis_prefix=redis_prefix)
    body = text_xml("两个副本", msg_id=6_400_000_000_000_000_002)
    for server in (first, second, first, second):
        assert server.post(body).text == "success"
    # a duplicate let through would be handled by the replica it reached: one sentinel on each
    sentinels = [send_sentinel_and_wait(server, fake) for server in (first, second)]
    assert sorted(m.text for m in first.received + second.received) == sorted(["两个副本", *sentinels])
    assert [m.text for m in second.received] == [sentinels[1]]  # the first delivery went to the first replica
    assert fake.texts() == ["收到：两个副本", *(f"收到：{s}" for s in sentinels)]
    assert fake.token_calls == 1  # the other replica reused the token in Redis
    client = connect_redis()
    try:
        assert client.exists(f"{redis_prefix}:seen:{APP_ID}:msg:6400000000000000002")
        ttl = client.ttl(f"{redis_prefix}:token:{APP_ID}")
        assert 7200 - 300 - 5 <= ttl <= 7200 - 300
    finally:
        client.close()
    second.post(text_xml("第二条"))
    fake.wait_for(lambda: len(fake.sent) == 4)
    assert fake.token_calls == 1


def test_events_deduplicated_by_sender_and_time(channel: ChannelServer, fake: FakeWeChat) -> None:
    body = xml(created=1_764_000_000, MsgType="event", Event="subscribe", EventKey="")
    for _ in range(3):
        channel.post(body)
    channel.post(xml(OTHER, created=1_764_000_000, MsgType="event", Event="subscribe", EventKey=""))
    sentinels = {openid: send_sentinel_and_wait(channel, fake, openid) for openid in (OPENID, OTHER)}
    for openid in (OPENID, OTHER):
        assert [m.text for m in channel.received if m.sender_id == f"wx-{openid}"] == ["/greet", sentinels[openid]]
        assert fake.texts(openid) == ["收到：/greet", f"收到：{sentinels[openid]}"]
    assert len(channel.received) == 4


def test_messages_of_one_customer_are_handled_in_order(channel: ChannelServer, fake: FakeWeChat) -> None:
    for n in range(5):
        channel.post(text_xml(f"第{n}条"))
    fake.wait_for(lambda: len(fake.sent) == 5)
    assert [m.text for m in channel.received] == [f"第{n}条" for n in range(5)]


# --- photos, voice, events, other types -------------------------------------------------------


def test_image_is_downloaded_and_stored_as_evidence(
    channel: ChannelServer, fake: FakeWeChat, evidence_dir: Path
) -> None:
    channel.set_loops(OPENID, FORM)
    channel.post(xml(MsgType="image", PicUrl="http://mmbiz.qpic.cn/x", MediaId="MEDIA_JPEG", MsgId=7001))
    fake.wait_for(lambda: len(fake.sent) == 1)
    [message] = channel.received
    assert message.text == "/send_photo"
    [ref] = message.metadata["attachments"]
    assert ref["kind"] == "image" and ref["content_type"] == "image/jpeg"
    assert (ref["width"], ref["height"]) == (64, 48)
    assert re.fullmatch(r"[0-9a-f]{64}", ref["sha256"])
    stored = evidence_dir / ref["sha256"][:2] / f"{ref['sha256']}.jpg"
    assert stored.is_file()
    assert hashlib.sha256(stored.read_bytes()).hexdigest() == ref["sha256"]
    assert "data" not in ref and "PicUrl" not in str(message.metadata)


def test_image_errors_become_attachment_errors(serve: Callable[..., ChannelServer], fake: FakeWeChat) -> None:
    fake.media["MEDIA_BIG"] = sample_jpeg(400, 300) + b"\0" * 5000
    fake.media["MEDIA_TEXT"] = b"GIF89a not really an image"
    channel = serve(max_media_bytes=4000)
    channel.set_loops(OPENID, FORM)
    channel.post(xml(MsgType="image", MediaId="MEDIA_UNKNOWN", MsgId=7002))
    channel.post(xml(MsgType="image", MediaId="MEDIA_BIG", MsgId=7003))
    channel.post(xml(MsgType="image", MediaId="MEDIA_TEXT", MsgId=7004))
    fake.wait_for(lambda: len(fake.sent) == 3)
    assert [m.text for m in channel.received] == ["/send_photo"] * 3
    errors = [m.metadata["attachments"][0]["error"] for m in channel.received]
    assert errors[:2] == ["bad_encoding", "too_large"]
    assert errors[2] in ("not_an_image", "unsupported_type")


OUTSIDE_CLAIM = {"attachments": [{"kind": "image", "error": "outside_claim"}]}


def evidence_files(evidence_dir: Path) -> list[Path]:
    return sorted(p for p in evidence_dir.rglob("*") if p.is_file()) if evidence_dir.exists() else []


@pytest.mark.parametrize("loops", [None, (), (FORM, None)], ids=["new-customer", "no-claim", "claim-ended"])
def test_an_image_outside_a_claim_is_never_downloaded_nor_stored(
    channel: ChannelServer, fake: FakeWeChat, evidence_dir: Path, loops: tuple[str | None, ...] | None
) -> None:
    if loops is not None:
        channel.set_loops(OPENID, *loops)
    channel.post(xml(MsgType="image", PicUrl="http://mmbiz.qpic.cn/x", MediaId="MEDIA_JPEG", MsgId=7101))
    sentinel = send_sentinel_and_wait(channel, fake)
    assert fake.media_calls == 0  # the media endpoint was never called
    assert evidence_files(evidence_dir) == []
    assert [m.text for m in channel.received] == ["/send_photo", sentinel]
    assert channel.received[0].metadata == OUTSIDE_CLAIM
    assert fake.texts() == ["收到：/send_photo", f"收到：{sentinel}"]  # the dialogue answers; the channel adds nothing


def test_images_are_taken_only_while_the_claim_form_runs(
    channel: ChannelServer, fake: FakeWeChat, evidence_dir: Path
) -> None:
    def image_then_sentinel(msg_id: int) -> UserMessage:
        channel.post(xml(MsgType="image", MediaId="MEDIA_JPEG", MsgId=msg_id))
        send_sentinel_and_wait(channel, fake)
        return channel.received[-2]

    before = image_then_sentinel(7111)
    channel.set_loops(OPENID, FORM)
    during = image_then_sentinel(7112)
    channel.set_loops(OPENID, FORM, None)
    after = image_then_sentinel(7113)

    assert fake.media_calls == 1
    assert before.text == during.text == after.text == "/send_photo"
    assert before.metadata == after.metadata == OUTSIDE_CLAIM
    [ref] = during.metadata["attachments"]
    assert "error" not in ref
    assert evidence_files(evidence_dir) == [evidence_dir / ref["sha256"][:2] / f"{ref['sha256']}.jpg"]


def test_voice_uses_recognition_or_asks_for_text(channel: ChannelServer, fake: FakeWeChat) -> None:
    channel.post(xml(MsgType="voice", MediaId="VOICE1", Format="amr", Recognition="我的快递到哪了", MsgId=7101))
    fake.wait_for(lambda: len(fake.sent) == 1)
    channel.post(xml(MsgType="voice", MediaId="VOICE2", Format="amr", MsgId=7102))
    fake.wait_for(lambda: len(fake.sent) == 2)
    assert [m.text for m in channel.received] == ["我的快递到哪了"]
    assert fake.texts()[1] == VOICE_REPLY


def test_events_and_other_types(serve: Callable[..., ChannelServer], fake: FakeWeChat) -> None:
    channel = serve(menu={"TRACK": "查快递", "HUMAN": "转人工"})
    now = int(time.time())
    channel.post(xml(created=now, MsgType="event", Event="subscribe", EventKey="qrscene_123"))
    channel.post(xml(created=now + 1, MsgType="event", Event="CLICK", EventKey="HUMAN"))
    fake.wait_for(lambda: len(fake.sent) == 2)
    channel.post(xml(created=now + 2, MsgType="event", Event="CLICK", EventKey="NOT_CONFIGURED"))
    fake.wait_for(lambda: len(fake.sent) == 3)
    channel.post(xml(created=now + 3, MsgType="event", Event="unsubscribe", EventKey=""))
    channel.post(xml(created=now + 4, MsgType="event", Event="VIEW", EventKey="https://example.com"))
    channel.post(xml(MsgType="location", Location_X="23.1", Location_Y="113.3", Scale=20, Label="广州", MsgId=7201))
    sentinel = send_sentinel_and_wait(channel, fake)
    assert [m.text for m in channel.received] == ["/greet", "转人工", sentinel]
    assert fake.texts() == ["收到：/greet", "收到：转人工", MENU_REPLY, UNSUPPORTED_REPLY, f"收到：{sentinel}"]


# --- replies: buttons, token, errors ------------------------------------------------------------


def test_buttons_become_numbered_options_answerable_by_number(channel: ChannelServer, fake: FakeWeChat) -> None:
    channel.post(text_xml("buttons please"))
    fake.wait_for(lambda: len(fake.sent) == 1)
    assert fake.texts()[0] == "您的包裹晚了，您希望：\n1. 继续等待\n2. 优先派送\n3 改到网点自取"
    channel.post(text_xml("２"))  # full-width, as Chinese keyboards type it
    fake.wait_for(lambda: len(fake.sent) == 2)
    assert channel.received[1].text == '/choose_delay_option{"delay_option": "priority"}'
    channel.post(text_xml("2"))  # the options answered only the message right after them
    fake.wait_for(lambda: len(fake.sent) == 3)
    assert channel.received[2].text == "2"


def test_buttons_by_number_in_redis(serve: Callable[..., ChannelServer], fake: FakeWeChat, redis_prefix: str) -> None:
    first = serve(redis_url=REDIS_URL, redis_prefix=redis_prefix)
    second = serve(redis_url=REDIS_URL, redis_prefix=redis_prefix)
    first.post(text_xml("buttons please"))
    fake.wait_for(lambda: len(fake.sent) == 1)
    second.post(text_xml("3"))
    fake.wait_for(lambda: len(fake.sent) == 2)
    assert second.received[0].text == "网点自取"


def test_compose_numbers_buttons_across_a_turn() -> None:
    text, payloads = compose(
        [
            ("第一条", []),
            ("选一个：", [{"title": "是", "payload": "/affirm"}]),
            ("再选：", [{"title": "否", "payload": "/deny"}, {"title": "1 外包装"}]),
        ]
    )
    assert text == "第一条\n\n选一个：\n1. 是\n\n再选：\n2. 否\n3. 1 外包装"
    assert payloads == ["/affirm", "/deny", "1 外包装"]


def test_token_is_cached_and_refreshed_once_on_40001(channel: ChannelServer, fake: FakeWeChat) -> None:
    for n in range(3):
        channel.post(text_xml(f"消息{n}"))
    fake.wait_for(lambda: len(fake.sent) == 3)
    assert fake.token_calls == 1
    fake.fail_next_sends(40001)
    channel.post(text_xml("令牌过期"))
    fake.wait_for(lambda: len(fake.sent) == 4)
    assert fake.token_calls == 2
    assert fake.texts()[-1] == "收到：令牌过期"
    assert [code for _, code in fake.send_attempts] == [0, 0, 0, 40001, 0]


def test_token_refused_twice_gives_up(
    channel: ChannelServer, fake: FakeWeChat, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    fake.fail_next_sends(40001, 40001)
    channel.post(text_xml("一直失败"))
    sentinel = send_sentinel_and_wait(channel, fake)
    assert fake.send_attempts == [(OPENID, 40001), (OPENID, 40001), (OPENID, 0)]  # no third try for the first
    assert fake.token_calls == 2 and fake.texts() == [f"收到：{sentinel}"]  # the sentinel used the second token
    assert "errcode 40001" in caplog.text


@pytest.mark.parametrize("errcode", [45015, 45047, 45009])
def test_window_and_quota_errors_are_logged_not_fatal(
    channel: ChannelServer, fake: FakeWeChat, caplog: pytest.LogCaptureFixture, errcode: int
) -> None:
    caplog.set_level(logging.INFO)
    fake.fail_next_sends(errcode)
    channel.post(text_xml("超过48小时"))
    fake.wait_for(lambda: len(fake.send_attempts) == 1)
    channel.post(text_xml("之后的消息"))
    fake.wait_for(lambda: len(fake.sent) == 1)
    assert fake.texts() == ["收到：之后的消息"]
    assert len(fake.send_attempts) == 2  # no retry of the refused message
    assert str(errcode) in caplog.text


def test_unreachable_api_is_logged(
    serve: Callable[..., ChannelServer], fake: FakeWeChat, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    channel = serve(api_base_url=f"http://127.0.0.1:{free_port()}")
    channel.post(text_xml("无法送达"))
    channel.wait_received(1)
    deadline = time.monotonic() + 5
    while "network error" not in caplog.text and time.monotonic() < deadline:
        time.sleep(0.02)
    assert "ConnectError" in caplog.text


def test_agent_console_replies_go_through_the_api(channel: ChannelServer, fake: FakeWeChat) -> None:
    messages = [{"recipient_id": f"wx-{OPENID}", "text": "您好，我是客服李娜，马上为您处理。", "agent": "李娜"}]
    channel.call(senders.deliver("wechat", f"wx-{OPENID}", messages))
    assert fake.texts(OPENID) == ["您好，我是客服李娜，马上为您处理。"]


def test_output_channel_for_rasa_apis_sends_at_once(channel: ChannelServer, fake: FakeWeChat) -> None:
    out = channel.channel.get_output_channel()
    channel.call(out.send_text_message(f"wx-{OPENID}", "您的工单有新进展"))
    channel.call(out.send_image_url(f"wx-{OPENID}", "https://example.com/p.jpg"))
    assert fake.texts() == ["您的工单有新进展", "https://example.com/p.jpg"]


def test_secrets_and_text_never_logged(
    serve: Callable[..., ChannelServer], fake: FakeWeChat, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    channel = serve(encoding_aes_key=AES_KEY)
    channel.set_loops(OPENID, FORM)  # the photo below is downloaded (and its failure logged)
    fake.fail_next_sends(40001)
    query, body = encrypted(text_xml("我的手机13912342846 地址北京朝阳"))
    channel.post(body, query)
    channel.post(text_xml("forged"), signed(token="nope"))
    fake.wait_for(lambda: len(fake.sent) == 1)
    channel.post(*reversed(encrypted(xml(MsgType="image", MediaId="MEDIA_UNKNOWN", MsgId=7301))))
    sentinel = send_sentinel_and_wait(channel, fake)  # everything above has been handled (and logged)
    assert len(fake.sent) == 3 and fake.media_calls == 1
    # the test's own httpx client plays WeChat (its URL carries the openid), and Rasa's tracker store logs
    # conversation ids at DEBUG on every turn whatever the channel does: only the channel's records count
    ours = [r for r in caplog.records if "/webhooks/wechat/" not in r.getMessage() and not r.name.startswith("rasa.")]
    logged = "\n".join(f"{r.getMessage()} {r.args}" for r in ours)
    assert "fetched a new access token" in logged and "access_token=<redacted>" in logged  # logging did happen
    for secret in [APP_SECRET, TOKEN, AES_KEY, OPENID, "13912342846", "北京朝阳", sentinel, *fake.issued]:
        assert secret not in logged, f"{secret[:6]}… leaked into the logs"


# --- configuration ------------------------------------------------------------------------------


def test_from_credentials_expands_environment_variables(monkeypatch: pytest.MonkeyPatch, fake: FakeWeChat) -> None:
    monkeypatch.setenv("TEST_WECHAT_APP_ID", APP_ID)
    monkeypatch.setenv("TEST_WECHAT_SECRET", APP_SECRET)
    monkeypatch.setenv("TEST_WECHAT_TOKEN", TOKEN)
    monkeypatch.delenv("TEST_WECHAT_AES", raising=False)
    channel = WeChatInput.from_credentials(
        {
            "app_id": "${TEST_WECHAT_APP_ID}",
            "app_secret": "${TEST_WECHAT_SECRET}",
            "token": "${TEST_WECHAT_TOKEN}",
            "encoding_aes_key": "${TEST_WECHAT_AES}",
            "api_base_url": fake.url,
            "menu": {"TRACK": "查快递"},
        }
    )
    assert channel.app_id == APP_ID and channel._crypto is None and channel.menu == {"TRACK": "查快递"}
    assert APP_SECRET not in repr(channel) and APP_SECRET not in repr(channel.api)
    monkeypatch.setenv("TEST_WECHAT_AES", AES_KEY)
    safe = WeChatInput.from_credentials(
        {"app_id": APP_ID, "app_secret": APP_SECRET, "token": TOKEN, "encoding_aes_key": "${TEST_WECHAT_AES}"}
    )
    assert safe._crypto is not None
    with pytest.raises(ValueError, match="app_secret"):
        WeChatInput.from_credentials({"app_id": APP_ID, "app_secret": "${TEST_WECHAT_UNSET}", "token": TOKEN})
    with pytest.raises(ValueError, match="encoding_aes_key"):
        WeChatInput.from_credentials(
            {"app_id": APP_ID, "app_secret": APP_SECRET, "token": TOKEN, "encoding_aes_key": "short"}
        )


@pytest.mark.parametrize("backend", ["memory", "redis"])
async def test_one_token_refresh_at_a_time(fake: FakeWeChat, backend: str, request: pytest.FixtureRequest) -> None:
    fake.token_delay = 0.2
    if backend == "redis":
        prefix = request.getfixturevalue("redis_prefix")
        stores = [RedisStore(REDIS_URL, prefix) for _ in range(4)]  # four replicas
    else:
        shared = MemoryStore()
        stores = [shared] * 4
    apis = [WeChatApi(APP_ID, APP_SECRET, store, base_url=fake.url) for store in stores]
    try:
        tokens = await asyncio.gather(*(api.access_token() for api in apis for _ in range(3)))
        assert fake.token_calls == 1 and set(tokens) == {fake.issued[-1]}
        renewed = await asyncio.gather(*(api.access_token(rejected=tokens[0]) for api in apis))
        assert fake.token_calls == 2 and set(renewed) == {fake.issued[-1]} != {tokens[0]}
    finally:
        for api in apis:
            await api.aclose()


def test_parse_xml_refuses_dtds_before_parsing() -> None:
    with pytest.raises(XmlRefused, match="DOCTYPE"):
        parse_xml('<?xml version="1.0"?>\n<!doctype lolz [<!ENTITY lol "lol">]><xml>&lol;</xml>')
    assert parse_xml("\ufeff<xml><A><![CDATA[<b>]]></A><N>1</N></xml>") == {"A": "<b>", "N": "1"}
