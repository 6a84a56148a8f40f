"""WeChat and Telegram end to end: the trained model in the real Rasa server, fake upstream APIs.

The same customer question arrives as a signed WeChat callback and as a Telegram
webhook update; the bot's answer comes back through each platform's send API (the
fake servers record it). Then a Telegram customer asks for a human, and the agent's
reply from the console reaches Telegram through the same sender interface. Photos are
taken only inside a damage claim: outside one, neither channel calls its platform's
download endpoint and the dialogue explains how to start a claim; a Telegram customer who
files a claim has the photo the form asks for downloaded and stored.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.fakes.telegram import FakeTelegram, small_jpeg
from tests.fakes.wechat import FakeWeChat
from tests.support.console import CONSOLE, create_agent, login
from tests.support.e2e_servers import Servers, require_model
from tests.support.telegram import SECRET as TG_SECRET
from tests.support.telegram import TOKEN as TG_TOKEN
from tests.support.telegram import message_update, photo_size
from tests.support.wechat import APP_ID, APP_SECRET, OPENID, signed, text_xml, xml
from tests.support.wechat import TOKEN as WX_TOKEN

pytestmark = pytest.mark.e2e

DELIVERED = "SF1873662042955"  # also insured: a damage claim can be filed for it
RECEIVER_DIGITS = "8712"  # the last four digits of its receiver's phone
SENTINEL_WAYBILL = "SF1229568959649"  # another parcel (out for delivery): its answer names it


@pytest.fixture(scope="module")
def stack(tmp_path_factory) -> Iterator[tuple[Servers, FakeWeChat, FakeTelegram]]:
    require_model()
    wechat = FakeWeChat(APP_ID, APP_SECRET).start()
    telegram = FakeTelegram([TG_TOKEN])
    telegram.__enter__()
    running = Servers(tmp_path_factory.mktemp("e2e-channels"))
    try:
        running.start_actions()
        # the shipped credentials.yml, nothing edited: both channels are switched on by the environment
        running.start_rasa(TELEGRAM_TOKEN=TG_TOKEN, TELEGRAM_SECRET_TOKEN=TG_SECRET, TELEGRAM_BASE_URL=telegram.url,
                           WECHAT_TOKEN=WX_TOKEN, WECHAT_APP_ID=APP_ID, WECHAT_APP_SECRET=APP_SECRET,
                           WECHAT_API_BASE_URL=wechat.url)  # fmt: skip
        yield running, wechat, telegram
    finally:
        running.stop()
        telegram.__exit__(None, None, None)
        wechat.stop()


def wait_until(predicate: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    pytest.fail(f"timed out waiting for {what}")


def telegram_texts(fake: FakeTelegram, chat: int) -> list[str]:
    return [c.params.get("text", "") for c in fake.calls_to("sendMessage") if c.params.get("chat_id") == str(chat)]


def post_wechat(servers: Servers, body: str, query: dict[str, str]) -> httpx.Response:
    return httpx.post(f"{servers.base}/webhooks/wechat/webhook", params=query, content=body.encode(),
                      headers={"Content-Type": "text/xml"}, timeout=30)  # fmt: skip


def send_wechat_sentinel_and_wait(servers: Servers, wechat: FakeWeChat) -> str:
    """Ask about another parcel from the same customer (signed) and wait for the answer; return it.

    The channel handles one customer's messages one at a time in arrival order and queues a
    message's work before it answers ``success``: once this answer has gone out, every turn that
    earlier callbacks of this customer started has sent its reply.
    """
    done = post_wechat(servers, text_xml(f"帮我查下 {SENTINEL_WAYBILL}"), signed())
    assert done.status_code == 200 and done.text == "success"
    wait_until(
        lambda: any(SENTINEL_WAYBILL in t for t in wechat.texts(OPENID)),
        f"the answer to the sentinel question about {SENTINEL_WAYBILL}: earlier callbacks are not handled yet",
    )
    (answer,) = [t for t in wechat.texts(OPENID) if SENTINEL_WAYBILL in t]
    return answer


def send_telegram_sentinel_and_wait(servers: Servers, telegram: FakeTelegram, chat: int) -> str:
    """Ask about another parcel from the same Telegram chat (right secret) and wait for the answer; return it.

    The channel handles one chat's updates one at a time in arrival order (each update's task
    takes the chat's lock first) and starts that task before it answers 200: once this answer
    has gone out, every turn that earlier updates of this chat started has sent all its replies.
    """
    update = message_update(chat, text=f"where is {SENTINEL_WAYBILL}")
    headers = {"X-Telegram-Bot-Api-Secret-Token": TG_SECRET, "Content-Type": "application/json"}
    done = httpx.post(f"{servers.base}/webhooks/telegram/webhook", content=json.dumps(update), headers=headers,
                      timeout=30)  # fmt: skip
    assert done.status_code == 200, "the Telegram sentinel was refused"
    wait_until(
        lambda: any(SENTINEL_WAYBILL in t for t in telegram_texts(telegram, chat)),
        f"the answer to the sentinel question about {SENTINEL_WAYBILL}: earlier updates are not handled yet",
    )
    (answer,) = [t for t in telegram_texts(telegram, chat) if SENTINEL_WAYBILL in t]
    return answer


def test_wechat_url_verification_is_answered_with_the_shipped_credentials(stack) -> None:
    servers, _, _ = stack
    url = f"{servers.base}/webhooks/wechat/webhook"
    good = httpx.get(url, params={**signed(), "echostr": "7182818284590452353"}, timeout=30)
    assert (good.status_code, good.text) == (200, "7182818284590452353")
    forged = httpx.get(url, params={**signed(), "signature": "0" * 40, "echostr": "1"}, timeout=30)
    assert forged.status_code == 403


def test_wechat_customer_gets_the_tracking_answer_through_the_customer_service_api(stack) -> None:
    servers, wechat, _ = stack
    body = text_xml(f"帮我查下 {DELIVERED}")
    for _ in range(2):  # WeChat retries after 5 s: the second delivery must not make a second turn
        done = post_wechat(servers, body, signed())
        assert done.status_code == 200 and done.text == "success"
    wait_until(lambda: any(DELIVERED in t and "签收" in t for t in wechat.texts(OPENID)), "the WeChat reply")
    # a forged callback with a new message id: were it let in, it would be another turn about the same parcel
    forged = post_wechat(servers, text_xml(f"帮我查下 {DELIVERED}"), {**signed(), "signature": "0" * 40})
    assert forged.status_code == 403
    sentinel = send_wechat_sentinel_and_wait(servers, wechat)
    replies = wechat.texts(OPENID)
    assert len([t for t in replies if DELIVERED in t]) == 1, replies
    assert replies[-1] == sentinel and DELIVERED not in sentinel, replies


def test_telegram_customer_gets_the_answer_and_an_agent_reply_through_the_same_sender(stack) -> None:
    servers, _, telegram = stack
    chat = 424242
    headers = {"X-Telegram-Bot-Api-Secret-Token": TG_SECRET, "Content-Type": "application/json"}
    update = message_update(chat, text=f"where is {DELIVERED}")
    done = httpx.post(f"{servers.base}/webhooks/telegram/webhook", content=json.dumps(update), headers=headers,
                      timeout=30)  # fmt: skip
    assert done.status_code == 200
    wait_until(lambda: any(DELIVERED in t and "delivered" in t for t in telegram_texts(telegram, chat)),
               "the Telegram reply")  # fmt: skip
    # fresh updates (new update_id) about the same parcel: were one let in, it would be another turn about it
    for refused_headers in ({"Content-Type": "application/json"},
                            {**headers, "X-Telegram-Bot-Api-Secret-Token": TG_SECRET[:-1] + "x"}):  # fmt: skip
        refused = message_update(chat, text=f"where is {DELIVERED}")
        assert httpx.post(f"{servers.base}/webhooks/telegram/webhook", content=json.dumps(refused),
                          headers=refused_headers, timeout=30).status_code == 403  # fmt: skip
    sentinel = send_telegram_sentinel_and_wait(servers, telegram, chat)
    replies = telegram_texts(telegram, chat)
    assert len([t for t in replies if DELIVERED in t]) == 1, replies
    assert replies.index(sentinel) > max(i for i, t in enumerate(replies) if DELIVERED in t), replies

    human = message_update(chat, text="I want to talk to a real person")
    httpx.post(f"{servers.base}/webhooks/telegram/webhook", content=json.dumps(human), headers=headers, timeout=30)
    wait_until(lambda: any("TK-" in t for t in telegram_texts(telegram, chat)), "the handoff notice")
    create_agent(servers, "tg.agent", "Telegram客服")
    client, csrf = login(servers, "tg.agent")

    def queued() -> bool:
        waiting = client.get(f"{CONSOLE}/api/queue").json()["waiting"]
        return any(e["conversation_id"] == f"tg-{chat}" and e["channel"] == "telegram" for e in waiting)

    wait_until(queued, "the queue entry")
    conversation = f"tg-{chat}"  # Telegram's own namespace: no other channel can address this customer
    assert client.post(f"{CONSOLE}/api/chat/{conversation}/claim", json={},
                       headers={"X-CSRF-Token": csrf}).status_code == 200  # fmt: skip
    reply = "Hello, this is Anna from customer service. How can I help?"
    assert client.post(f"{CONSOLE}/api/chat/{conversation}/reply", json={"text": reply},
                       headers={"X-CSRF-Token": csrf}).status_code == 200  # fmt: skip
    wait_until(lambda: reply in telegram_texts(telegram, chat), "the agent's reply on Telegram")


# --------------------------------------------------------------------------- photos only inside a claim

OUTSIDE_CLAIM_ZH = "照片只在登记理赔时收取"
OUTSIDE_CLAIM_EN = "photos are only taken during a damage claim"


def evidence_files(servers: Servers) -> list[Path]:
    folder = servers.workdir / "evidence"
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def telegram_turn(servers: Servers, telegram: FakeTelegram, chat: int, expect: str, **content: object) -> str:
    """Post one update from ``chat`` (right secret) and wait for a reply containing ``expect``; return the replies."""
    before = len(telegram_texts(telegram, chat))
    headers = {"X-Telegram-Bot-Api-Secret-Token": TG_SECRET, "Content-Type": "application/json"}
    done = httpx.post(f"{servers.base}/webhooks/telegram/webhook", content=json.dumps(message_update(chat, **content)),
                      headers=headers, timeout=30)  # fmt: skip
    assert done.status_code == 200
    wait_until(lambda: any(expect in t for t in telegram_texts(telegram, chat)[before:]), f"a reply with {expect!r}")
    return "\n".join(telegram_texts(telegram, chat)[before:])


def test_telegram_keeps_a_photo_only_inside_the_claim_form(stack) -> None:
    servers, _, telegram = stack
    chat = 424243
    outside, box = small_jpeg(), small_jpeg(80, 60)
    telegram.add_file("e2e-outside", outside)
    telegram.add_file("e2e-box", box)
    said = telegram_turn(servers, telegram, chat, "理赔", photo=[photo_size("e2e-outside", 64, 48, len(outside))])
    assert OUTSIDE_CLAIM_ZH in said or OUTSIDE_CLAIM_EN in said, said
    assert not [c for c in telegram.calls_to("getFile") if c.params["file_id"] == "e2e-outside"]
    assert "photos/e2e-outside.jpg" not in telegram.downloads and evidence_files(servers) == []

    telegram_turn(servers, telegram, chat, "后四位", text=f"快递 {DELIVERED} 到了，箱子压坏了")
    telegram_turn(servers, telegram, chat, "哪部分破损", text=f"尾号{RECEIVER_DIGITS}")
    telegram_turn(servers, telegram, chat, "描述", text="外包装")
    telegram_turn(servers, telegram, chat, "照片", text="纸箱一角压塌了")
    telegram_turn(servers, telegram, chat, "收到 1 张照片", photo=[photo_size("e2e-box", 80, 60, len(box))])
    assert [c.params["file_id"] for c in telegram.calls_to("getFile") if c.params["file_id"].startswith("e2e-")] == [
        "e2e-box"]  # fmt: skip
    assert [p for p in telegram.downloads if "e2e-" in p] == ["photos/e2e-box.jpg"]
    assert len(evidence_files(servers)) == 1


def test_wechat_does_not_download_a_photo_sent_outside_a_claim(stack) -> None:
    servers, wechat, _ = stack
    customer = "oE2e" + secrets.token_hex(12)
    media_calls = wechat.media_calls
    photo = xml(customer, MsgType="image", PicUrl="http://mmbiz.qpic.cn/x", MediaId="MEDIA_JPEG",
                MsgId=secrets.randbelow(10**16))  # fmt: skip
    done = post_wechat(servers, photo, signed())
    assert done.status_code == 200 and done.text == "success"
    wait_until(lambda: any("理赔" in t or "damage claim" in t for t in wechat.texts(customer)), "the WeChat reply")
    (said,) = wechat.texts(customer)
    assert OUTSIDE_CLAIM_ZH in said or OUTSIDE_CLAIM_EN in said, said
    assert wechat.media_calls == media_calls  # the media endpoint was never called for it
