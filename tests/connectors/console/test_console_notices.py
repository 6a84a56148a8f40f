"""The console's list of undeliverable proactive notices: supervisors only, over real HTTP.

The console blueprint runs on a real Sanic server (:class:`tests.support.sanic_server.BlueprintServer`)
with the real agents database (SQLite) and the real proactive store on SQLite and PostgreSQL;
a notice is made undeliverable by the real drain of the proactive runner through the WeChat
channel against the fake WeChat API (45015 outside the window, no template configured).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest
from rasa.core.agent import Agent as RasaAgent
from rasa.core.lock_store import InMemoryLockStore
from rasa.core.tracker_store import InMemoryTrackerStore
from rasa.shared.core.domain import Domain

from bot.agents.store import AgentStore
from bot.common import ratelimit
from bot.common.clock import CHINA_TZ
from bot.common.ratelimit import MemoryRateLimiter
from bot.proactive import watches
from bot.proactive.models import NewNotice
from bot.proactive.store import ProactiveStore
from connectors.common import senders
from connectors.console.actions import Services
from connectors.console.channel import AgentConsoleInput
from connectors.proactive.runner import drain
from connectors.wechat.channel import WeChatInput
from tests.fakes.wechat import FakeWeChat
from tests.support.sanic_server import BlueprintServer
from tests.support.stores import BACKENDS, backend_url
from tests.support.wechat import APP_ID, APP_SECRET, OPENID, TOKEN

PASSWORD = "correct horse battery"
CONSOLE = "/webhooks/console"
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=CHINA_TZ)
WAYBILL = "YT7366118571491"
TEXT = "【包裹动态提醒】您关注的包裹 YT7366118571491 暂时滞留：\n致电 13812345678"

pytestmark = pytest.mark.usefixtures("sanic_test_mode")  # in tests/connectors/conftest.py


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, sanic_test_mode: None) -> Iterator[BlueprintServer]:
    """The console with one agent and one supervisor."""
    agents = AgentStore(f"sqlite:///{tmp_path_factory.mktemp('console-notices') / 'agents.db'}")
    agents.create_agent("agent.a", "A", PASSWORD)
    agents.create_agent("boss", "Boss", PASSWORD, role="supervisor")
    rasa = RasaAgent(domain=Domain.empty(), tracker_store=InMemoryTrackerStore(Domain.empty()),
                     lock_store=InMemoryLockStore())  # fmt: skip
    old = Services.agents
    Services.agents = agents
    try:
        with BlueprintServer(AgentConsoleInput(), agent=rasa) as served:
            yield served
    finally:
        Services.agents = old
        agents.close()


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeWeChat]:
    server = FakeWeChat(APP_ID, APP_SECRET).start()
    yield server
    server.stop()


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ProactiveStore]:
    """The proactive store the console reads (``watches.store()``), on each backend."""
    s = ProactiveStore(backend_url(request, tmp_path / "tickets.db"))
    watches.configure(s)
    ratelimit.set_limiter(MemoryRateLimiter())
    yield s
    ratelimit.set_limiter(None)
    watches.configure(None)
    s.close()


def login(server: BlueprintServer, username: str) -> httpx.Client:
    http = httpx.Client(base_url=server.base, timeout=10, follow_redirects=False)
    page = http.get(f"{CONSOLE}/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf is not None
    done = http.post(f"{CONSOLE}/login", data={"username": username, "password": PASSWORD, "csrf": csrf.group(1)})
    assert done.status_code == 302, done.text
    return http


async def undeliverable_notice(store: ProactiveStore, fake: FakeWeChat, monkeypatch: pytest.MonkeyPatch) -> int:
    """A WeChat notice to a customer outside the 48-hour window, no template: drained and refused."""
    monkeypatch.setattr(senders, "_senders", dict(senders._senders))
    monkeypatch.setattr(senders, "_proactive_senders", dict(senders._proactive_senders))
    wechat = WeChatInput(APP_ID, APP_SECRET, TOKEN, api_base_url=fake.url)
    fake.reset()
    fake.close_window(OPENID)
    added = store.add(NewNotice(conversation_id=f"wx-{OPENID}", channel="wechat", waybill=WAYBILL, kind="held",
                                change_key="held:weather", language="zh", text=TEXT, created_at=NOW,
                                due_at=NOW))  # fmt: skip
    assert added is not None
    assert await drain(store, NOW + timedelta(seconds=5)) == (0, 1)
    await wechat.api.aclose()
    return added.id


async def test_a_supervisor_sees_the_undeliverable_notice_and_an_agent_does_not(
    server: BlueprintServer, store: ProactiveStore, fake: FakeWeChat, monkeypatch: pytest.MonkeyPatch
) -> None:
    notice_id = await undeliverable_notice(store, fake, monkeypatch)
    boss = login(server, "boss")
    got = boss.get(f"{CONSOLE}/api/notices", params={"status": "undeliverable"})
    assert got.status_code == 200, got.text
    [row] = got.json()["rows"]
    shown = dict(row)
    assert datetime.fromisoformat(shown.pop("at")) == NOW + timedelta(seconds=5)  # when it was given up
    assert datetime.fromisoformat(shown.pop("due_at")) == NOW
    assert shown == {"id": notice_id, "conversation_id": f"wx-{OPENID}", "channel": "wechat", "waybill": WAYBILL,
                     "kind": "held", "status": "undeliverable", "reason": "wechat:45015"}  # fmt: skip
    assert "13812345678" not in got.text and "滞留" not in got.text  # never the notice's text
    assert boss.get(f"{CONSOLE}/api/notices").json()["rows"] == [row]  # undeliverable is the default

    agent = login(server, "agent.a")
    refused = agent.get(f"{CONSOLE}/api/notices", params={"status": "undeliverable"})
    assert refused.status_code == 403
    assert refused.json() == {"error": "only supervisors may read undeliverable notices"}

    stranger = httpx.get(f"{server.base}{CONSOLE}/api/notices", params={"status": "undeliverable"}, timeout=10)
    assert stranger.status_code == 401


async def test_bad_queries_get_400_and_the_limit_is_honoured(server: BlueprintServer, store: ProactiveStore) -> None:
    for n in range(3):
        new = NewNotice(conversation_id=f"c-{n}", channel="rest", waybill=WAYBILL, kind="held", change_key=f"k{n}",
                        language="zh", text="t", created_at=NOW, due_at=NOW)  # fmt: skip
        added = store.add(new)
        assert added is not None and store.mark_undeliverable(added.id, "ConnectionError", NOW + timedelta(minutes=n))
    boss = login(server, "boss")
    newest = boss.get(f"{CONSOLE}/api/notices", params={"limit": "2"}).json()["rows"]
    assert [r["conversation_id"] for r in newest] == ["c-2", "c-1"]
    assert boss.get(f"{CONSOLE}/api/notices", params={"status": "sent"}).status_code == 400
    assert boss.get(f"{CONSOLE}/api/notices", params={"limit": "many"}).status_code == 400
