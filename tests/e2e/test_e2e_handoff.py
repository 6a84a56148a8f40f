"""Human handoff end to end: real Rasa server, action server and agent console over HTTP.

An angry customer on the REST channel is handed over (ticket, queue, paused bot);
an agent created with the CLI logs in, claims the chat, replies (the customer
receives it and the tracker records it as an agent message), hands it back, and
the bot answers again. Security: no session → 401 / redirect, bad CSRF → 403,
a second agent cannot take, read or act on a claimed chat (a supervisor can, and
the audit shows who looked), phones are masked in the queue, customer HTML stays text.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bot.tickets import TicketStatus, TicketStore, TicketType
from tests.support.console import CONSOLE, PASSWORD, create_agent, login
from tests.support.e2e_servers import ROOT, Servers, running_servers

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def servers(tmp_path_factory) -> Iterator[Servers]:
    with running_servers(tmp_path_factory.mktemp("e2e-handoff")) as running:
        for name, display in (("agent.li", "李客服"), ("agent.wang", "王客服")):
            create_agent(running, name, display)
        create_agent(running, "lead.zhang", "张主管", "--role", "supervisor")
        yield running


def poll(servers: Servers, sender: str) -> list[dict]:
    return httpx.get(f"{servers.base}/webhooks/rest/poll", params={"sender": sender}, timeout=30).json()


def test_angry_customer_is_handed_over_served_by_an_agent_and_handed_back(servers: Servers) -> None:
    who = "handoff-angry"
    said = servers.say(who, "你们什么破快递！！！三天了还不到，我要去12315投诉你们！")
    notice = "\n".join(said)
    ticket_id = re.search(r"TK-\d{8}-\d{4,}", notice).group(0)
    assert "人工" in notice and ticket_id in notice
    tracker = servers.tracker(who)
    assert tracker["paused"] is True and tracker["slots"]["handoff"]["reason"] == "anger"
    # while paused the bot says nothing, the message is still recorded for the agent
    status, replies = servers_post(servers, who, "人呢？？")
    assert status == 200 and replies == []

    client, csrf = login(servers, "agent.li")
    queue = client.get(f"{CONSOLE}/api/queue").json()
    entry = next(e for e in queue["waiting"] if e["conversation_id"] == who)
    assert entry["level"] in (1, 2) and entry["anger"] >= 0.6 and entry["ticket_id"] == ticket_id
    assert "Customer said" in entry["summary"]

    assert client.post(f"{CONSOLE}/api/chat/{who}/claim", json={}).status_code == 403  # no CSRF header
    claimed = client.post(f"{CONSOLE}/api/chat/{who}/claim", json={}, headers={"X-CSRF-Token": csrf})
    assert claimed.status_code == 200
    other, other_csrf = login(servers, "agent.wang")
    second = other.post(f"{CONSOLE}/api/chat/{who}/claim", json={}, headers={"X-CSRF-Token": other_csrf})
    assert second.status_code == 409
    assert other.post(f"{CONSOLE}/api/chat/{who}/reply", json={"text": "x"},
                      headers={"X-CSRF-Token": other_csrf}).status_code == 403  # fmt: skip
    assert other.get(f"{CONSOLE}/api/chat/{who}").status_code == 403  # nor read it

    chat = client.get(f"{CONSOLE}/api/chat/{who}").json()
    assert [m["author"] for m in chat["transcript"]][:1] == ["customer"]
    assert any(m["text"] == "人呢？？" for m in chat["transcript"])
    assert chat["paused"] is True and chat["handoff"]["ticket_id"] == ticket_id

    reply = "您好，我是李客服，非常抱歉让您久等，我马上帮您加急处理。"
    assert client.post(f"{CONSOLE}/api/chat/{who}/reply", json={"text": reply},
                       headers={"X-CSRF-Token": csrf}).status_code == 200  # fmt: skip
    got = poll(servers, who)
    assert [m["text"] for m in got] == [reply]
    events = servers.tracker(who)["events"]
    agent_says = [e for e in events if e["event"] == "bot" and (e.get("metadata") or {}).get("agent") == "agent.li"]
    assert agent_says and agent_says[-1]["text"] == reply

    store = TicketStore(f"sqlite:///{servers.workdir / 'tickets.db'}")
    try:
        ticket = store.get(ticket_id)
        assert ticket.type is TicketType.HANDOFF and ticket.status is TicketStatus.IN_PROGRESS
    finally:
        store.close()

    assert client.post(f"{CONSOLE}/api/chat/{who}/handback", json={},
                       headers={"X-CSRF-Token": csrf}).status_code == 200  # fmt: skip
    back = poll(servers, who)
    assert back and "交回" in back[0]["text"]
    assert servers.tracker(who)["paused"] is False
    said = servers.say(who, "帮我查下 SF1873662042955")
    assert "SF1873662042955" in said[0] and "签收" in said[0]
    queue = client.get(f"{CONSOLE}/api/queue").json()
    assert all(e["conversation_id"] != who for e in queue["waiting"] + queue["mine"])


def servers_post(servers: Servers, sender: str, text: str) -> tuple[int, list]:
    response = httpx.post(f"{servers.base}/webhooks/rest/webhook", json={"sender": sender, "message": text}, timeout=60)
    return response.status_code, response.json()


def test_explicit_request_and_close_with_resolution(servers: Servers) -> None:
    who = "handoff-polite"
    notice = "\n".join(servers.say(who, "请帮我转人工客服，谢谢"))
    ticket_id = re.search(r"TK-\d{8}-\d{4,}", notice).group(0)
    client, csrf = login(servers, "agent.wang")
    assert client.post(f"{CONSOLE}/api/chat/{who}/claim", json={}, headers={"X-CSRF-Token": csrf}).status_code == 200
    # transfer to a colleague and back: only the holder may act
    li, li_csrf = login(servers, "agent.li")
    moved = client.post(f"{CONSOLE}/api/chat/{who}/transfer", json={"to": "agent.li"}, headers={"X-CSRF-Token": csrf})
    assert moved.status_code == 200 and moved.json()["agent"] == "agent.li"
    assert client.post(f"{CONSOLE}/api/chat/{who}/reply", json={"text": "hi"},
                       headers={"X-CSRF-Token": csrf}).status_code == 403  # fmt: skip
    assert li.post(f"{CONSOLE}/api/chat/{who}/transfer", json={"to": "nobody.here"},
                   headers={"X-CSRF-Token": li_csrf}).status_code == 404  # fmt: skip
    back = li.post(f"{CONSOLE}/api/chat/{who}/transfer", json={"to": "agent.wang"}, headers={"X-CSRF-Token": li_csrf})
    assert back.status_code == 200
    assert client.post(f"{CONSOLE}/api/chat/{who}/close", json={}, headers={"X-CSRF-Token": csrf}).status_code == 400
    done = client.post(f"{CONSOLE}/api/chat/{who}/close", json={"resolution": "已告知取件码"},
                       headers={"X-CSRF-Token": csrf})  # fmt: skip
    assert done.status_code == 200
    store = TicketStore(f"sqlite:///{servers.workdir / 'tickets.db'}")
    try:
        ticket = store.get(ticket_id)
        assert ticket.status is TicketStatus.RESOLVED and ticket.level == 3
        assert any(h.note == "已告知取件码" for h in store.history(ticket_id))
    finally:
        store.close()
    assert servers.tracker(who)["paused"] is False


def test_console_refuses_requests_without_a_session(servers: Servers) -> None:
    anonymous = httpx.Client(base_url=servers.base, timeout=30, follow_redirects=False)
    assert anonymous.get(f"{CONSOLE}/api/queue").status_code == 401
    assert anonymous.get(f"{CONSOLE}/api/chat/x").status_code == 401
    assert anonymous.post(f"{CONSOLE}/api/chat/x/claim", json={}).status_code == 401
    assert anonymous.get(f"{CONSOLE}/api/events").status_code == 401
    page = anonymous.get(f"{CONSOLE}/queue")
    assert page.status_code == 302 and page.headers["location"].endswith("/login")
    # a forged login without the form's CSRF cookie is refused
    assert anonymous.post(f"{CONSOLE}/login", data={"username": "agent.li", "password": PASSWORD,
                                                    "csrf": "x"}).status_code == 403  # fmt: skip
    wrong = httpx.Client(base_url=servers.base, timeout=30)
    page = wrong.get(f"{CONSOLE}/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    refused = wrong.post(f"{CONSOLE}/login", data={"username": "agent.li", "password": "wrong password!", "csrf": csrf})
    assert refused.status_code == 200 and "Wrong username or password" in refused.text
    assert wrong.get(f"{CONSOLE}/api/queue").status_code == 401


def test_customer_html_is_data_not_markup(servers: Servers) -> None:
    who = "handoff-xss"
    servers.say(who, "转人工")
    payload = "<script>alert('x')</script><img src=x onerror=alert(1)>"
    servers_post(servers, who, payload)
    client, csrf = login(servers, "agent.li")
    assert client.post(f"{CONSOLE}/api/chat/{who}/claim", json={}, headers={"X-CSRF-Token": csrf}).status_code == 200
    chat = client.get(f"{CONSOLE}/api/chat/{who}").json()
    assert any(payload in m["text"] for m in chat["transcript"])  # kept as text for the agent
    page = client.get(f"{CONSOLE}/chat/{who}")
    assert "<script>alert" not in page.text and "script-src 'self'" in page.headers["content-security-policy"]
    hostile = client.get(f"{CONSOLE}/chat/" + "%3Cscript%3Ealert(1)%3C%2Fscript%3E")
    assert "<script>alert(1)" not in hostile.text


def test_roles_masked_phones_and_the_access_audit(servers: Servers) -> None:
    who = "handoff-phone"
    servers.say(who, "转人工")
    servers_post(servers, who, "我的电话是 13812345678，快递一直没到")
    wang, wang_csrf = login(servers, "agent.wang")
    entry = next(e for e in wang.get(f"{CONSOLE}/api/queue").json()["waiting"] if e["conversation_id"] == who)
    assert "13812345678" not in entry["summary"]  # the queue shows a summary, phones masked
    assert wang.get(f"{CONSOLE}/api/chat/{who}").status_code == 403  # not taken: summary only
    li, li_csrf = login(servers, "agent.li")
    assert li.post(f"{CONSOLE}/api/chat/{who}/claim", json={}, headers={"X-CSRF-Token": li_csrf}).status_code == 200
    shown = li.get(f"{CONSOLE}/api/chat/{who}").json()
    texts = " ".join(m["text"] for m in shown["transcript"])
    assert "138****5678" in texts and "13812345678" not in texts
    revealed = li.post(f"{CONSOLE}/api/chat/{who}/reveal", json={}, headers={"X-CSRF-Token": li_csrf}).json()
    assert any("13812345678" in m["text"] for m in revealed["transcript"])
    refused = wang.get(f"{CONSOLE}/api/chat/{who}")
    assert refused.status_code == 403 and "another agent" in refused.json()["error"]
    assert wang.get(f"{CONSOLE}/api/audit").status_code == 403
    boss, boss_csrf = login(servers, "lead.zhang")
    assert boss.get(f"{CONSOLE}/api/chat/{who}").status_code == 200
    rows = boss.get(f"{CONSOLE}/api/audit", params={"conversation": who}).json()["rows"]
    assert [(r["agent"], r["kind"]) for r in rows] == [
        ("lead.zhang", "transcript"), ("agent.li", "reveal"), ("agent.li", "transcript")]  # fmt: skip
    done = boss.post(f"{CONSOLE}/api/chat/{who}/handback", json={}, headers={"X-CSRF-Token": boss_csrf})
    assert done.status_code == 200 and servers.tracker(who)["paused"] is False  # a supervisor may act on any chat


CHROMIUM = Path("/usr/bin/chromium")


def test_agent_in_a_real_browser_logs_in_claims_replies_and_sees_customer_html_as_text(servers: Servers) -> None:
    if not CHROMIUM.exists():
        pytest.fail(
            "headless Chromium is needed for the console browser test: run `make system`"
            " (it runs `apt-get install chromium fonts-noto-cjk`)"
        )
    from playwright.sync_api import sync_playwright

    who = "handoff-browser"
    servers.say(who, "转人工")
    servers_post(servers, who, "<script>window.__pwned = 1; alert('x')</script>我的包裹丢了")
    dialogs: list[str] = []
    shots = ROOT / "results" / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                     args=["--no-sandbox", "--disable-background-networking"])  # fmt: skip
        try:
            page = browser.new_page()
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            page.goto(f"{servers.base}{CONSOLE}/queue")
            assert page.url.endswith("/login")
            page.fill("input[name=username]", "agent.li")
            page.fill("input[name=password]", PASSWORD)
            page.click("#login")
            page.wait_for_url("**/queue")
            row = page.locator("#waiting tr", has_text=who)
            row.wait_for(timeout=15_000)
            row.locator("button.claim").click()
            page.wait_for_url(f"**/chat/{who}")
            page.locator("#transcript .msg.customer", has_text="我的包裹丢了").wait_for(timeout=15_000)
            page.fill("#reply", "您好，我来帮您查丢件。")
            page.click("#send")
            page.locator("#transcript .msg.agent", has_text="我来帮您查丢件").wait_for(timeout=15_000)
            page.screenshot(path=str(shots / "console-chat.png"), full_page=True)
            shown = page.locator("#transcript .msg.customer", has_text="我的包裹丢了").inner_text()
            assert "<script>" in shown  # shown as text…
            assert page.evaluate("window.__pwned") is None  # …never run
        finally:
            browser.close()
    assert dialogs == []
    assert (shots / "console-chat.png").stat().st_size > 1000
    assert [m["text"] for m in poll(servers, who)] == ["您好，我来帮您查丢件。"]
