"""Proactive notices on WeChat: inside the 48-hour window, outside it (45015), with and without a template.

Real HTTP to the fake WeChat API (``tests/fakes/wechat.py``), the real proactive store on
SQLite and PostgreSQL, and the real drain of the proactive runner through the channels'
registry (:func:`connectors.common.senders.deliver_proactive`): nothing is mocked.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Callable

import pytest

from bot.common.clock import CHINA_TZ
from bot.proactive.models import NewNotice
from bot.proactive.store import ProactiveStore
from connectors.common import senders
from connectors.proactive.runner import drain
from connectors.wechat.channel import WeChatInput
from connectors.wechat.config import WeChatSettings
from connectors.wechat.notices import NoticeTemplate, template_data
from tests.fakes.wechat import TEMPLATE_ID, FakeWeChat
from tests.support.e2e_servers import free_port
from tests.support.stores import BACKENDS, backend_url
from tests.support.wechat import APP_ID, APP_SECRET, OPENID, TOKEN

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=CHINA_TZ)
WAYBILL = "YT7366118571491"
HEAD, STATUS, STOP = (
    "【包裹动态提醒】您关注的包裹 YT7366118571491 暂时滞留：",
    "因天气原因暂缓派送。",
    "如不需要此类提醒，回复“不用通知我”即可。",
)
TEXT = "\n".join([HEAD, STATUS, STOP])
PAGE = "https://track.example.com/p"


@pytest.fixture(scope="module")
def fake_server() -> Iterator[FakeWeChat]:
    server = FakeWeChat(APP_ID, APP_SECRET).start()
    yield server
    server.stop()


@pytest.fixture
def fake(fake_server: FakeWeChat) -> FakeWeChat:
    fake_server.reset()
    return fake_server


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ProactiveStore]:
    s = ProactiveStore(backend_url(request, tmp_path / "tickets.db"))
    yield s
    s.close()


@pytest.fixture
def channel(fake: FakeWeChat, monkeypatch: pytest.MonkeyPatch) -> Callable[..., WeChatInput]:
    """Build the channel (it registers its senders; the registry is restored afterwards)."""
    monkeypatch.setattr(senders, "_senders", dict(senders._senders))
    monkeypatch.setattr(senders, "_proactive_senders", dict(senders._proactive_senders))

    def make(template: NoticeTemplate | None = None) -> WeChatInput:
        return WeChatInput(APP_ID, APP_SECRET, TOKEN, api_base_url=fake.url, template=template)

    return make


def queue(store: ProactiveStore, openid: str = OPENID, key: str = "held:weather") -> int:
    added = store.add(NewNotice(conversation_id=f"wx-{openid}", channel="wechat", waybill=WAYBILL, kind="held",
                                change_key=key, language="zh", text=TEXT, created_at=NOW, due_at=NOW))  # fmt: skip
    assert added is not None
    return added.id


async def test_inside_the_window_a_notice_is_a_customer_service_message(
    store: ProactiveStore, fake: FakeWeChat, channel: Callable[..., WeChatInput]
) -> None:
    wechat = channel(NoticeTemplate(TEMPLATE_ID, PAGE))
    queue(store)
    assert await drain(store, NOW) == (1, 0)
    assert fake.texts(OPENID) == [TEXT]
    assert fake.templates == []
    assert [n.status for n in store.notices_of(f"wx-{OPENID}")] == ["sent"]
    assert await drain(store, NOW + timedelta(minutes=1)) == (0, 0)  # never twice
    await wechat.api.aclose()


async def test_outside_the_window_with_a_template_it_goes_as_a_template_message(
    store: ProactiveStore, fake: FakeWeChat, channel: Callable[..., WeChatInput]
) -> None:
    wechat = channel(NoticeTemplate(TEMPLATE_ID, PAGE))
    fake.close_window(OPENID)
    queue(store)
    assert await drain(store, NOW) == (1, 0)
    assert fake.send_attempts == [(OPENID, 45015)]
    assert fake.texts() == []
    [sent] = fake.templates
    assert sent == {
        "touser": OPENID,
        "template_id": TEMPLATE_ID,
        "url": PAGE,
        "data": {
            "first": {"value": HEAD},
            "keyword1": {"value": STATUS},
            "remark": {"value": STOP},
        },
    }
    [notice] = store.notices_of(f"wx-{OPENID}")
    assert (notice.status, notice.detail) == ("sent", None)
    await wechat.api.aclose()


async def test_outside_the_window_without_a_template_it_is_undeliverable_with_the_reason(
    store: ProactiveStore, fake: FakeWeChat, channel: Callable[..., WeChatInput], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    wechat = channel()
    fake.close_window(OPENID)
    notice_id = queue(store)
    assert await drain(store, NOW) == (0, 1)
    assert fake.templates == [] and fake.template_attempts == []
    [bad] = store.undeliverable()
    assert (bad.id, bad.status, bad.detail, bad.sent_at) == (notice_id, "undeliverable", "wechat:45015", NOW)
    assert await drain(store, NOW + timedelta(minutes=1)) == (0, 0)  # not retried
    assert len(fake.send_attempts) == 1
    assert OPENID not in caplog.text and "暂时滞留" not in caplog.text  # no openid, no notice text
    await wechat.api.aclose()


async def test_a_refused_template_makes_the_notice_undeliverable_with_both_codes(
    store: ProactiveStore, fake: FakeWeChat, channel: Callable[..., WeChatInput]
) -> None:
    wechat = channel(NoticeTemplate(TEMPLATE_ID))
    fake.close_window(OPENID)
    fake.fail_next_templates(43004)  # the customer no longer follows the account
    queue(store)
    assert await drain(store, NOW) == (0, 1)
    [bad] = store.undeliverable()
    assert bad.detail == "wechat:45015+template:43004"
    assert fake.template_attempts == [(OPENID, 43004)]
    await wechat.api.aclose()


async def test_an_unknown_template_is_refused_by_wechat(
    store: ProactiveStore, fake: FakeWeChat, channel: Callable[..., WeChatInput]
) -> None:
    wechat = channel(NoticeTemplate("no-such-template"))
    fake.close_window(OPENID)
    queue(store)
    assert await drain(store, NOW) == (0, 1)
    assert store.undeliverable()[0].detail == "wechat:45015+template:40037"
    await wechat.api.aclose()


@pytest.mark.parametrize(("code", "template_tried"), [(45047, True), (45009, False), (40003, False)])
async def test_other_api_errors(
    store: ProactiveStore, fake: FakeWeChat, channel: Callable[..., WeChatInput], code: int, template_tried: bool
) -> None:
    """45047 (replies used up) falls back like 45015; the daily API quota and other errors do not."""
    wechat = channel(NoticeTemplate(TEMPLATE_ID))
    fake.fail_next_sends(code)
    queue(store)
    assert await drain(store, NOW) == ((1, 0) if template_tried else (0, 1))
    assert len(fake.templates) == int(template_tried)
    if not template_tried:
        assert store.undeliverable()[0].detail == f"wechat:{code}"
    await wechat.api.aclose()


async def test_an_unreachable_api_is_undeliverable(store: ProactiveStore, channel: Callable[..., WeChatInput]) -> None:
    wechat = WeChatInput(APP_ID, APP_SECRET, TOKEN, api_base_url=f"http://127.0.0.1:{free_port()}")
    queue(store)
    assert await drain(store, NOW) == (0, 1)
    assert store.undeliverable()[0].detail == "wechat:error"
    await wechat.api.aclose()


async def test_bot_replies_still_only_log_a_closed_window(
    fake: FakeWeChat, channel: Callable[..., WeChatInput]
) -> None:
    wechat = channel(NoticeTemplate(TEMPLATE_ID))
    fake.close_window(OPENID)
    await senders.deliver("wechat", f"wx-{OPENID}", [{"text": "agent reply"}])  # no exception
    assert fake.send_attempts == [(OPENID, 45015)] and fake.templates == []
    await wechat.api.aclose()


async def test_a_notice_for_a_conversation_of_another_channel_is_refused(
    fake: FakeWeChat, channel: Callable[..., WeChatInput]
) -> None:
    wechat = channel()
    with pytest.raises(senders.Undeliverable) as refused:
        await senders.deliver_proactive("wechat", "tg-42", [{"text": "x"}])
    assert refused.value.reason == "wechat:foreign-conversation"
    assert fake.send_attempts == []
    await wechat.api.aclose()


@pytest.mark.parametrize(
    ("text", "fields"),
    [
        ("head\nstatus\nmore\nstop", {"first": "head", "keyword1": "status\nmore", "remark": "stop"}),
        ("late line\nstop", {"first": "late line", "keyword1": "late line", "remark": "stop"}),
        ("only", {"first": "only", "keyword1": "only", "remark": ""}),
    ],
)
def test_template_fields_of_a_notice(text: str, fields: dict[str, str]) -> None:
    assert template_data(text) == fields


def test_template_settings_come_from_the_environment() -> None:
    env = {"WECHAT_TOKEN": "t", "WECHAT_APP_ID": "id", "WECHAT_APP_SECRET": "s"}
    read = WeChatSettings.read({}, {**env, "WECHAT_TEMPLATE_ID": " tpl ", "WECHAT_TEMPLATE_URL": PAGE})
    assert read is not None and (read.template_id, read.template_url) == ("tpl", PAGE)
    plain = WeChatSettings.read({}, env)
    assert plain is not None and plain.template_id is plain.template_url is None
    with pytest.raises(ValueError, match="WECHAT_TEMPLATE_URL"):
        WeChatSettings.read({}, {**env, "WECHAT_TEMPLATE_ID": "tpl", "WECHAT_TEMPLATE_URL": "javascript:x"})
