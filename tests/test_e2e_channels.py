"""WeChat and Telegram end to end: the trained model in the real Rasa server, fake upstream APIs.

The same customer question arrives as a signed WeChat callback and as a Telegram
webhook update; the bot's answer comes back through each platform's send API (the
fake servers record it). Then a Telegram customer asks for a human, and the agent's
reply from the console reaches Telegram through the same sender interface.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator

import httpx
import pytest

from tests.e2e_servers import ROOT, Servers
from tests.fake_telegram import FakeTelegram
from tests.fake_wechat import FakeWeChat
from tests.test_e2e_handoff import CONSOLE, create_agent, login
from tests.test_telegram_channel import SECRET as TG_SECRET
from tests.test_telegram_channel import TOKEN as TG_TOKEN
from tests.test_telegram_channel import message_update
from tests.test_wechat_channel import APP_ID, APP_SECRET, OPENID, signed, text_xml
from tests.test_wechat_channel import TOKEN as WX_TOKEN

pytestmark = pytest.mark.e2e

DELIVERED = "SF1873662042955"
SENTINEL_WAYBILL = "SF1229568959649"  # another parcel (out for delivery): its answer names it


@pytest.fixture(scope="module")
def stack(tmp_path_factory) -> Iterator[tuple[Servers, FakeWeChat, FakeTelegram]]:
    if not any((ROOT / "models").glob("*.tar.gz")):
        pytest.fail("no trained model in models/: run `make model` (make test does it first)")
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
    wait_until(lambda: any(SENTINEL_WAYBILL in t for t in wechat.texts(OPENID)),
               f"the answer to the sentinel question about {SENTINEL_WAYBILL}: earlier callbacks are not handled yet")
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
    wait_until(lambda: any(SENTINEL_WAYBILL in t for t in telegram_texts(telegram, chat)),
               f"the answer to the sentinel question about {SENTINEL_WAYBILL}: earlier updates are not handled yet")
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
