"""Issue 11, findings 3 and 7: the agent console's trust boundaries, over real HTTP.

The console blueprint runs on a real Sanic server with Rasa's in-memory tracker store
(standing in for the Rasa server), the real agents and tickets databases (SQLite) and
the real evidence store. Each test states the attack and what must happen instead:

* an agent reads only the chats they hold (another agent's chat, a waiting chat and a
  conversation never handed over are refused with 403, photos too); a supervisor
  reads and does everything;
* the live feed carries to an agent only their own chats (a sentinel event proves
  absence), and follows holder changes;
* every transcript view, photo view and phone reveal is in the audit;
* a stranger cannot lock an agent out, guessing is limited per address (429 +
  Retry-After), and the owner gets in after the delay;
* cookies are ``Secure`` over TLS, believed from a proxy only when it is trusted;
* phone numbers are masked in summaries and in what the console shows.
"""

from __future__ import annotations

import io
import json
import re
import secrets
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
import pytest
from PIL import Image
from rasa.core.agent import Agent as RasaAgent
from rasa.core.lock_store import InMemoryLockStore
from rasa.core.tracker_store import InMemoryTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from sanic import Sanic

from bot.agents.store import AgentStore
from bot.claims.evidence import EvidenceStore
from bot.claims.images import check_image
from bot.common import ratelimit
from bot.common.ratelimit import MemoryRateLimiter, Rate
from bot.handoff.queue import InMemoryHandoffQueue, QueueEntry
from bot.handoff.rules import Trigger
from bot.handoff.summary import HandoffContext, agent_summary
from bot.policy.limits import Limits, limits, set_limits
from bot.tickets import Deadlines, EvidenceItem, TicketStore, TicketType
from connectors.console import live
from connectors.console import routes as console_routes
from connectors.console.actions import Services
from connectors.console.channel import AgentConsoleInput
from connectors.console.events import ConsoleEventBroker
from tests.support.sanic_server import BlueprintServer

PASSWORD = "correct horse battery"
CONSOLE = "/webhooks/console"
PHONE, MASKED = "13812345678", "138****5678"
NOW = datetime.now(timezone.utc)


class ConsoleServer(BlueprintServer):
    """The console blueprint with ``app.ctx.agent`` set, as the Rasa server has it."""

    def __init__(self, agent: RasaAgent) -> None:
        super().__init__(AgentConsoleInput())
        self.agent = agent

    async def _start(self) -> None:
        app = Sanic(f"console_test_{secrets.token_hex(4)}", configure_logging=False)
        app.ctx.agent = self.agent
        app.blueprint(self.channel.blueprint(self._on_message), url_prefix=f"/webhooks/{self.channel.name()}")
        self._server = await app.create_server(sock=self._sock, return_asyncio_server=True, access_log=False)
        await self._server.startup()
        await self._server.before_start()
        await self._server.after_start()


class Clock:
    """A monotonic clock for the rate limiter that moves only when told."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(out, format="PNG")
    return out.getvalue()


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Agents, trackers, tickets and a photo, and the console serving them."""
    tmp = tmp_path_factory.mktemp("console-security")
    agents = AgentStore(f"sqlite:///{tmp / 'agents.db'}")
    agents.create_agent("agent.a", "A", PASSWORD)
    agents.create_agent("agent.b", "B", PASSWORD)
    agents.create_agent("boss", "Boss", PASSWORD, role="supervisor")
    tickets = TicketStore(f"sqlite:///{tmp / 'tickets.db'}")
    stored = EvidenceStore(tmp / "evidence").save(check_image(png()))
    deadlines = Deadlines(NOW + timedelta(minutes=30), NOW + timedelta(hours=24))
    photos: dict[str, str] = {}
    for cid in ("chat-a", "bot-only"):
        ticket = tickets.open(type=TicketType.DAMAGE_CLAIM, level=2, conversation_id=cid, channel="rest",
                              summary=f"call {PHONE}", deadlines=deadlines)  # fmt: skip
        item = EvidenceItem(stored.sha256, "contents", str(stored.path), stored.size, stored.content_type)
        tickets.add_evidence(ticket.id, item, "bot")
        photos[cid] = stored.sha256
    rasa = RasaAgent(domain=Domain.empty(), tracker_store=InMemoryTrackerStore(Domain.empty()),
                     lock_store=InMemoryLockStore())  # fmt: skip
    old = (Services.agents, Services.tickets)
    Services.agents, Services.tickets = agents, tickets
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("EVIDENCE_DIR", str(tmp / "evidence"))
        mp.delenv("TRUSTED_PROXIES", raising=False)
        # a hub of this module's own: the feeds it opens die with its server's loop
        mp.setattr(live, "_hub", live.Hub(*live._settings()))
        with ConsoleServer(rasa) as server:
            for cid in ("chat-a", "chat-b", "chat-waiting", "bot-only"):
                events = [UserUttered(f"{cid}: 我的手机 {PHONE}", {"name": "greet"}), BotUttered(f"好的 {cid}")]
                server.call(rasa.tracker_store.save(DialogueStateTracker.from_events(cid, events)))
            yield {"server": server, "agents": agents, "photos": photos, "rasa": rasa}
    Services.agents, Services.tickets = old
    agents.close()
    tickets.close()


def entry(cid: str, agent: str | None) -> QueueEntry:
    return QueueEntry(conversation_id=cid, channel="rest", ticket_id="-", level=2, enqueued_at=NOW, anger=0.5,
                      reason="request_human", summary=f"Customer said:\n  > 我的手机 {PHONE}",
                      agent=agent, claimed_at=NOW if agent else None)  # fmt: skip


@pytest.fixture(autouse=True)
def fresh_state(monkeypatch: pytest.MonkeyPatch) -> Iterator[Clock]:
    """A queue where A holds chat-a, B holds chat-b, chat-waiting waits; a fresh rate limiter."""
    queue = InMemoryHandoffQueue()
    for cid, holder in (("chat-a", "agent.a"), ("chat-b", "agent.b"), ("chat-waiting", None)):
        queue.enqueue(entry(cid, None))
        if holder:
            queue.claim(cid, holder)
    monkeypatch.setattr(live, "_queue", queue)
    clock = Clock()
    ratelimit.set_limiter(MemoryRateLimiter(clock=clock))
    yield clock
    ratelimit.set_limiter(None)
    set_limits(None)


class Console:
    """A logged-in browser: session cookie plus the page's CSRF token."""

    def __init__(self, server: ConsoleServer, username: str) -> None:
        self.http = httpx.Client(base_url=server.base, timeout=10, follow_redirects=False)
        done = login(self.http, username, PASSWORD)
        assert done.status_code == 302, done.text
        page = self.http.get(f"{CONSOLE}/queue")
        self.csrf = re.search(r'name="csrf" content="([^"]+)"', page.text).group(1)

    def get(self, path: str) -> httpx.Response:
        return self.http.get(CONSOLE + path)

    def post(self, path: str, body: dict | None = None, csrf: bool = True) -> httpx.Response:
        headers = {"X-CSRF-Token": self.csrf} if csrf else {}
        return self.http.post(CONSOLE + path, json=body or {}, headers=headers)


def login(http: httpx.Client, username: str, password: str, headers: dict[str, str] | None = None) -> httpx.Response:
    page = http.get(f"{CONSOLE}/login", headers=headers)
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    return http.post(f"{CONSOLE}/login", data={"username": username, "password": password, "csrf": csrf},
                     headers=headers)  # fmt: skip


# --- finding 3: any agent read any conversation ---------------------------------------------------


def test_an_agent_cannot_read_another_agents_chat_nor_its_photos(world: dict) -> None:
    server, photo = world["server"], world["photos"]["chat-a"]
    a, b, boss = Console(server, "agent.a"), Console(server, "agent.b"), Console(server, "boss")
    refused = b.get("/api/chat/chat-a")
    assert refused.status_code == 403 and "another agent" in refused.json()["error"]
    assert b.get(f"/api/chat/chat-a/evidence/{photo}").status_code == 403
    mine = a.get("/api/chat/chat-a")
    assert mine.status_code == 200 and any("chat-a" in m["text"] for m in mine.json()["transcript"])
    assert a.get(f"/api/chat/chat-a/evidence/{photo}").content == png()
    assert boss.get("/api/chat/chat-a").status_code == 200
    assert boss.get(f"/api/chat/chat-a/evidence/{photo}").status_code == 200


def test_a_conversation_never_handed_over_is_for_supervisors_only(world: dict) -> None:
    server, photo = world["server"], world["photos"]["bot-only"]
    a, boss = Console(server, "agent.a"), Console(server, "boss")
    refused = a.get("/api/chat/bot-only")
    assert refused.status_code == 403 and "only supervisors" in refused.json()["error"]
    assert a.get(f"/api/chat/bot-only/evidence/{photo}").status_code == 403
    assert a.post("/api/chat/bot-only/reveal").status_code == 403
    seen = boss.get("/api/chat/bot-only")
    assert seen.status_code == 200 and [t["type"] for t in seen.json()["tickets"]] == ["damage_claim"]
    assert boss.get(f"/api/chat/bot-only/evidence/{photo}").content == png()
    assert boss.get("/api/chat/nobody-at-all").status_code == 404


def test_a_waiting_chat_shows_its_summary_in_the_queue_and_its_transcript_only_once_taken(world: dict) -> None:
    a = Console(world["server"], "agent.a")
    queue = a.get("/api/queue").json()
    (waiting,) = queue["waiting"]
    assert waiting["conversation_id"] == "chat-waiting" and MASKED in waiting["summary"]
    assert PHONE not in json.dumps(queue) and "others" not in queue  # nor other agents' chats
    refused = a.get("/api/chat/chat-waiting")
    assert refused.status_code == 403 and "take the chat first" in refused.json()["error"]
    assert a.post("/api/chat/chat-waiting/claim").status_code == 200
    assert a.get("/api/chat/chat-waiting").status_code == 200


def test_only_the_holder_acts_and_a_supervisor_may_do_everything(world: dict) -> None:
    server = world["server"]
    a, b, boss = Console(server, "agent.a"), Console(server, "agent.b"), Console(server, "boss")
    for verb, body in (("reply", {"text": "hi"}), ("transfer", {"to": "agent.b"}), ("handback", {}),
                       ("close", {"resolution": "x"})):  # fmt: skip
        refused = b.post(f"/api/chat/chat-a/{verb}", body)
        assert refused.status_code == 403 and "holding the chat" in refused.json()["error"], verb
    assert a.post("/api/chat/bot-only/reply", {"text": "hi"}).status_code == 403
    assert {e["conversation_id"] for e in boss.get("/api/queue").json()["others"]} == {"chat-a", "chat-b"}
    moved = boss.post("/api/chat/chat-a/transfer", {"to": "agent.b"})  # the supervisor moves A's chat
    assert moved.status_code == 200 and moved.json()["agent"] == "agent.b"
    assert b.get("/api/chat/chat-a").status_code == 200  # transferred to B: B may read it now…
    assert a.get("/api/chat/chat-a").status_code == 403  # …and A no longer
    assigned = boss.post("/api/chat/chat-waiting/transfer", {"to": "agent.a"})  # and assigns a waiting chat
    assert assigned.status_code == 200 and a.get("/api/chat/chat-waiting").status_code == 200


# --- the live feed ------------------------------------------------------------------------------


class Feed:
    """An open ``/api/events`` stream read in a thread; events land in :attr:`events`."""

    def __init__(self, console: Console) -> None:
        self.events: list[dict] = []
        self._cond = threading.Condition()
        self._connected = threading.Event()
        self.ended = threading.Event()
        self._stream = console.http.stream("GET", CONSOLE + "/api/events")
        self._response = self._stream.__enter__()
        assert self._response.status_code == 200
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()
        assert self._connected.wait(10), "the feed did not say it was connected"

    def _read(self) -> None:
        try:
            for line in self._response.iter_lines():
                if line.startswith(": connected"):
                    self._connected.set()
                elif line.startswith("data: "):
                    with self._cond:
                        self.events.append(json.loads(line[6:]))
                        self._cond.notify_all()
        except httpx.HTTPError:
            pass
        self.ended.set()

    def until(self, predicate: Any, timeout: float = 10) -> list[dict]:
        """Every event up to and including the first that matches ``predicate``."""
        with self._cond:
            found = self._cond.wait_for(lambda: any(predicate(e) for e in self.events), timeout)
            assert found, f"the expected event did not arrive; got {self.events}"
            index = next(i for i, e in enumerate(self.events) if predicate(e))
            taken, self.events = self.events[: index + 1], self.events[index + 1 :]
            return taken

    def close(self) -> None:
        self._stream.__exit__(None, None, None)


def broker_says(server: ConsoleServer, cid: str, text: str) -> None:
    """A customer message as Rasa's event broker reports it, on the server's loop."""

    async def publish() -> None:
        ConsoleEventBroker().publish({"sender_id": cid, "event": "user", "text": text, "timestamp": NOW.timestamp()})

    server.call(publish())


def test_the_live_feed_carries_only_the_viewers_own_chats(world: dict) -> None:
    server = world["server"]
    b_feed, boss_feed = Feed(Console(server, "agent.b")), Feed(Console(server, "boss"))
    boss = Console(server, "boss")
    try:
        broker_says(server, "chat-a", "A's customer writes")
        broker_says(server, "bot-only", "a bot-only customer writes")
        broker_says(server, "chat-waiting", "a waiting customer writes")
        sentinel = f"sentinel {secrets.token_hex(4)} {PHONE}"
        broker_says(server, "chat-b", sentinel)
        seen = b_feed.until(lambda e: sentinel.replace(PHONE, MASKED) == e.get("text"))
        assert [e["conversation_id"] for e in seen] == ["chat-b"], seen
        assert PHONE not in json.dumps(seen)
        everything = boss_feed.until(lambda e: e.get("text") == sentinel.replace(PHONE, MASKED))
        assert [e["conversation_id"] for e in everything] == ["chat-a", "bot-only", "chat-waiting", "chat-b"]

        # holders change: the supervisor gives A's chat to B, and B's feed follows
        assert boss.post("/api/chat/chat-a/transfer", {"to": "agent.b"}).status_code == 200
        broker_says(server, "chat-a", "now B's customer")
        seen = b_feed.until(lambda e: e.get("text") == "now B's customer")
        assert [(e["type"], e["conversation_id"]) for e in seen] == [("queue", "chat-a"), ("message", "chat-a")]
        assert seen[0].get("agent") == "agent.b"
    finally:
        b_feed.close()
        boss_feed.close()


def test_an_agent_who_hands_a_chat_on_stops_receiving_it(world: dict) -> None:
    server = world["server"]
    a = Console(server, "agent.a")
    a_feed = Feed(a)
    try:
        assert a.post("/api/chat/chat-a/transfer", {"to": "agent.b"}).status_code == 200
        assert a.post("/api/chat/chat-waiting/claim").status_code == 200
        broker_says(server, "chat-a", "for B only")
        broker_says(server, "chat-waiting", "sentinel for A")
        seen = a_feed.until(lambda e: e.get("text") == "sentinel for A")
        assert all(e.get("text") != "for B only" for e in seen), seen
        queue_events = [e for e in seen if e["type"] == "queue"]
        assert {"type": "queue", "conversation_id": "chat-a", "change": "transferred"} in queue_events
        assert all("agent.b" not in json.dumps(e) for e in seen)  # another agent's name is left out
    finally:
        a_feed.close()


def test_the_live_feed_ends_when_the_session_does(world: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(console_routes, "KEEPALIVE_SECONDS", 0.2)  # the session is re-checked this often
    b = Console(world["server"], "agent.b")
    feed = Feed(b)
    try:
        assert b.post("/logout").status_code == 200
        assert feed.ended.wait(10), "the feed kept streaming after logout"
    finally:
        feed.close()


# --- audit and phone masking ----------------------------------------------------------------------


def test_transcript_photo_and_reveal_are_audited_and_phones_masked_until_revealed(world: dict) -> None:
    server, photo, agents = world["server"], world["photos"]["chat-a"], world["agents"]
    a, boss = Console(server, "agent.a"), Console(server, "boss")
    before = len(agents.access_log(conversation_id="chat-a", limit=5000))
    view = a.get("/api/chat/chat-a").json()
    text = json.dumps(view, ensure_ascii=False)
    assert PHONE not in text and MASKED in text  # transcript and ticket summary
    assert a.get(f"/api/chat/chat-a/evidence/{photo}").status_code == 200
    assert a.post("/api/chat/chat-a/reveal", csrf=False).status_code == 403  # a reveal needs the CSRF token
    revealed = a.post("/api/chat/chat-a/reveal")
    assert revealed.status_code == 200 and PHONE in json.dumps(revealed.json(), ensure_ascii=False)
    rows = agents.access_log(conversation_id="chat-a", limit=5000)
    assert [(r.username, r.kind) for r in rows[: len(rows) - before]] == [
        ("agent.a", "reveal"), ("agent.a", "photo"), ("agent.a", "transcript")]  # fmt: skip
    assert rows[1].detail == photo
    assert a.get("/api/audit").status_code == 403 and a.get("/audit").status_code == 403
    audit = boss.get("/api/audit?conversation=chat-a&agent=agent.a").json()["rows"]
    assert [r["kind"] for r in audit[:3]] == ["reveal", "photo", "transcript"]
    assert boss.get("/audit").status_code == 200


def test_handoff_summaries_mask_phone_numbers() -> None:
    context = HandoffContext(trigger=Trigger("request_human", 3), anger=0.1, intents=["request_human"],
                             customer_texts=[f"打我电话 {PHONE[:3]} {PHONE[3:7]} {PHONE[7:]}", "+86-13912345678"],
                             slots={"phone": PHONE}, waybill="SF1873662042955")  # fmt: skip
    summary = agent_summary(context)
    assert PHONE not in summary.replace(" ", "") and "13912345678" not in summary
    assert summary.count("****") == 3 and "SF1873662042955" in summary


# --- finding 7: logins --------------------------------------------------------------------------


def test_a_stranger_cannot_lock_an_agent_out_and_the_owner_gets_in_after_the_delay(
    world: dict, monkeypatch: pytest.MonkeyPatch, fresh_state: Clock
) -> None:
    monkeypatch.setenv("TRUSTED_PROXIES", "127.0.0.1")
    http = httpx.Client(base_url=world["server"].base, timeout=10, follow_redirects=False)
    stranger, owner = {"X-Forwarded-For": "203.0.113.9"}, {"X-Forwarded-For": "198.51.100.7"}
    per_try = limits().rate("login_per_account_address")
    for _ in range(per_try.count):
        assert login(http, "agent.a", "a wrong guess!", stranger).status_code == 200
    refused = login(http, "agent.a", PASSWORD, stranger)  # the stranger is slowed down, even with the password
    assert refused.status_code == 429 and 0 < int(refused.headers["Retry-After"]) <= per_try.seconds
    assert login(http, "agent.a", PASSWORD, owner).status_code == 302  # the owner is not locked out

    for _ in range(per_try.count):  # the owner's own typos slow down only the owner…
        assert login(http, "agent.a", "a typo here", owner).status_code == 200
    assert login(http, "agent.a", PASSWORD, owner).status_code == 429
    fresh_state.now += per_try.seconds  # …until the window ends: then the right password works
    assert login(http, "agent.a", PASSWORD, owner).status_code == 302


def test_guessing_across_usernames_is_limited_per_address(
    world: dict, monkeypatch: pytest.MonkeyPatch, fresh_state: Clock
) -> None:
    monkeypatch.setenv("TRUSTED_PROXIES", "127.0.0.1")
    http = httpx.Client(base_url=world["server"].base, timeout=10, follow_redirects=False)
    guesser = {"X-Forwarded-For": "203.0.113.50"}
    rate = limits().rate("login_per_address")
    for n in range(rate.count):
        assert login(http, f"user{n:03d}", "a wrong guess!", guesser).status_code == 200
    refused = login(http, "agent.b", PASSWORD, guesser)
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
    assert "Too many login attempts" in refused.text
    assert login(http, "agent.b", PASSWORD, {"X-Forwarded-For": "198.51.100.8"}).status_code == 302
    # without a trusted proxy, X-Forwarded-For is the client's own claim: it cannot buy fresh addresses
    monkeypatch.delenv("TRUSTED_PROXIES")
    fresh_state.now += rate.seconds
    for n in range(rate.count):
        login(http, f"user{n:03d}", "a wrong guess!", {"X-Forwarded-For": f"192.0.2.{n}"})
    assert login(http, "agent.b", PASSWORD, {"X-Forwarded-For": "192.0.2.200"}).status_code == 429


def test_console_requests_are_rate_limited_per_address(world: dict, fresh_state: Clock) -> None:
    current = limits()
    set_limits(Limits(numbers=current.numbers, rates={**current.rates, "console_per_address": Rate(3, 60)}))
    http = httpx.Client(base_url=world["server"].base, timeout=10, follow_redirects=False)
    assert [http.get(f"{CONSOLE}/api/queue").status_code for _ in range(3)] == [401] * 3
    refused = http.get(f"{CONSOLE}/api/queue")
    assert refused.status_code == 429 and 1 <= int(refused.headers["Retry-After"]) <= 60


# --- Secure cookies -------------------------------------------------------------------------------


def cookie_flags(response: httpx.Response, name: str) -> str:
    (header,) = [h for h in response.headers.get_list("set-cookie") if h.startswith(name + "=")]
    return header.lower()


@pytest.mark.parametrize(
    ("trusted", "headers", "secure"),
    [
        (None, {}, False),
        (None, {"X-Forwarded-Proto": "https"}, False),  # anyone can send the header: not believed
        ("10.0.0.0/8", {"X-Forwarded-Proto": "https"}, False),  # the peer is not that proxy
        ("127.0.0.1", {"X-Forwarded-Proto": "https"}, True),
        ("127.0.0.1, ::1", {"X-Forwarded-Proto": "http"}, False),
    ],
)
def test_cookies_are_secure_over_tls_believed_only_from_a_trusted_proxy(
    world: dict, monkeypatch: pytest.MonkeyPatch, trusted: str | None, headers: dict, secure: bool
) -> None:
    if trusted:
        monkeypatch.setenv("TRUSTED_PROXIES", trusted)
    http = httpx.Client(base_url=world["server"].base, timeout=10, follow_redirects=False)
    page = http.get(f"{CONSOLE}/login", headers=headers)
    assert ("; secure" in cookie_flags(page, "lcs_login_csrf")) is secure
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    # over plain HTTP the client keeps a Secure cookie to itself: send it as the browser would over TLS
    done = httpx.post(f"{world['server'].base}{CONSOLE}/login", timeout=10,
                      data={"username": "agent.b", "password": PASSWORD, "csrf": csrf},
                      headers={**headers, "Cookie": f"lcs_login_csrf={csrf}"})  # fmt: skip
    assert done.status_code == 302
    flags = cookie_flags(done, "lcs_console")
    assert ("; secure" in flags) is secure and "httponly" in flags and "samesite=strict" in flags
