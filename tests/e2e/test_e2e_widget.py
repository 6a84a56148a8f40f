"""The web chat widget end to end: real Rasa and action servers, HTTP and a real browser.

HTTP: session tokens (none, forged, another customer's), CORS for the listed shop origin
only, the body-size cap, a non-photo upload answered politely, an agent reply pushed over
the event stream. Browser (headless Chromium): the demo page, a whole damage claim with
two photo uploads, then a reload that restores the chat from the server.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from PIL import Image

from tests.support.console import CONSOLE, create_agent, login
from tests.support.e2e_servers import ROOT, Servers, running_servers

pytestmark = pytest.mark.e2e

WIDGET = "/webhooks/widget"
SHOP = "https://shop.example"
CHROMIUM = Path("/usr/bin/chromium")
RECEIVER_LAST_FOUR = "8712"
"""SF1873662042955's receiver phone ends in 8712 (fixtures/shipments.yml): the proof a claim asks for."""


@pytest.fixture(scope="module")
def servers(tmp_path_factory) -> Iterator[Servers]:
    workdir = tmp_path_factory.mktemp("e2e-widget")
    credentials = workdir / "credentials.yml"
    # the console under its old short path (before connectors/console/ became a package): still resolves
    credentials.write_text("connectors.rest.channel.CustomerRestInput:\nconnectors.console.AgentConsoleInput:\n"
                           "connectors.widget.channel.WebWidgetInput:\n")  # fmt: skip
    with running_servers(workdir, credentials=credentials, WIDGET_SECRET="e2e-widget-secret-" + "x" * 16,
                         WIDGET_ALLOWED_ORIGINS=SHOP) as running:  # fmt: skip
        yield running


@pytest.fixture(scope="module")
def client(servers: Servers) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=servers.base, timeout=60) as http:
        yield http


def session(client: httpx.Client) -> dict[str, str]:
    reply = client.post(f"{WIDGET}/session")
    assert reply.status_code == 200, reply.text
    return {"Authorization": f"Bearer {reply.json()['token']}"}


def say(client: httpx.Client, auth: dict[str, str], text: str, attachments: list | None = None) -> list[dict]:
    reply = client.post(f"{WIDGET}/message", json={"text": text, "attachments": attachments or []}, headers=auth)
    assert reply.status_code == 200, reply.text
    return reply.json()["messages"]


def test_no_or_forged_token_is_refused(client: httpx.Client) -> None:
    assert client.post(f"{WIDGET}/message", json={"text": "hi"}).status_code == 401
    assert client.get(f"{WIDGET}/history").status_code == 401
    assert client.get(f"{WIDGET}/events").status_code == 401
    token = session(client)["Authorization"].removeprefix("Bearer ")
    cid, _, signature = token.rpartition(".")
    for forged in (cid, f"{cid}.{signature[:-2]}xx", f"w-{'A' * 32}.{signature}", "customer-1.abc"):
        reply = client.post(f"{WIDGET}/message", json={"text": "hi"}, headers={"Authorization": f"Bearer {forged}"})
        assert reply.status_code == 401, forged
    assert client.post(f"{WIDGET}/message", json={"text": "hi"},
                       headers={"Authorization": f"Basic {token}"}).status_code == 401  # fmt: skip


def test_a_token_reads_only_its_own_conversation(client: httpx.Client) -> None:
    alice, bob = session(client), session(client)
    said = say(client, alice, "帮我查下 SF1873662042955")
    assert said and "SF1873662042955" in said[0]["text"]
    mine = client.get(f"{WIDGET}/history", headers=alice).json()["messages"]
    assert [m["from"] for m in mine][:2] == ["customer", "bot"] and mine[0]["text"] == "帮我查下 SF1873662042955"
    assert client.get(f"{WIDGET}/history", headers=bob).json()["messages"] == []
    # bob's signature on alice's id does not work: ids come from verified tokens only
    alice_id = alice["Authorization"].removeprefix("Bearer ").rpartition(".")[0]
    bob_sig = bob["Authorization"].rpartition(".")[2]
    assert client.get(f"{WIDGET}/history", headers={"Authorization": f"Bearer {alice_id}.{bob_sig}"}).status_code == 401
    # the body cannot pick a conversation either
    client.post(f"{WIDGET}/message", json={"text": "hello", "sender": alice_id}, headers=bob)
    assert len(client.get(f"{WIDGET}/history", headers=alice).json()["messages"]) == len(mine)


def test_cors_only_for_the_listed_origin(client: httpx.Client) -> None:
    ask = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization,content-type"}
    ok = client.options(f"{WIDGET}/message", headers={"Origin": SHOP, **ask})
    assert ok.status_code == 204 and ok.headers["access-control-allow-origin"] == SHOP
    assert "authorization" in ok.headers["access-control-allow-headers"].lower()
    evil = client.options(f"{WIDGET}/message", headers={"Origin": "https://evil.example", **ask})
    assert evil.status_code == 403 and "access-control-allow-origin" not in evil.headers

    issued = client.post(f"{WIDGET}/session", headers={"Origin": SHOP})
    assert issued.status_code == 200 and issued.headers["access-control-allow-origin"] == SHOP
    refused = client.post(f"{WIDGET}/session", headers={"Origin": "https://evil.example"})
    assert refused.status_code == 403 and "access-control-allow-origin" not in refused.headers
    same = client.post(f"{WIDGET}/session")
    assert same.status_code == 200 and "access-control-allow-origin" not in same.headers


def test_oversized_and_malformed_bodies(client: httpx.Client) -> None:
    auth = session(client)
    big = b'{"text": "", "attachments": [{"kind": "image", "data": "' + b"A" * (16 * 1024 * 1024) + b'"}]}'
    assert client.post(f"{WIDGET}/message", content=big, headers=auth).status_code == 413
    bad = client.post(f"{WIDGET}/message", content=b"{not json", headers=auth)
    assert bad.status_code == 400 and "JSON" in bad.json()["error"]
    odd = client.post(f"{WIDGET}/message", json={"text": 42}, headers=auth)
    assert odd.status_code == 400 and "'text'" in odd.json()["error"]


def test_a_file_that_is_not_a_photo_gets_the_polite_evidence_message(client: httpx.Client) -> None:
    auth = session(client)
    said = say(client, auth, "SF1873662042955 到了，箱子压坏了")
    assert "后四位" in said[-1]["text"]  # a claim needs proof that the parcel is the customer's
    said = say(client, auth, RECEIVER_LAST_FOUR)
    assert [b["payload"] for b in said[-1]["buttons"]] == ["外包装", "内件物品", "都有破损"]
    say(client, auth, "都有破损")
    say(client, auth, "纸箱一角压塌，两个杯子碎了")
    pdf = base64.b64encode(b"%PDF-1.7 not a photo").decode()
    said = say(client, auth, "", [{"kind": "image", "data": pdf}])
    assert "看起来不是照片" in "\n".join(m["text"] for m in said)


def test_agent_reply_is_pushed_over_the_event_stream(servers: Servers, client: httpx.Client) -> None:
    auth = session(client)
    cid = auth["Authorization"].removeprefix("Bearer ").rpartition(".")[0]
    say(client, auth, "请帮我转人工客服，谢谢")
    received: list[dict] = []
    connected = threading.Event()

    def listen() -> None:
        with httpx.stream("GET", f"{servers.base}{WIDGET}/events", headers=auth, timeout=30) as stream:
            for line in stream.iter_lines():
                if line.startswith(": connected"):
                    connected.set()
                if line.startswith("data: "):
                    received.append(json.loads(line[6:]))
                    return

    listener = threading.Thread(target=listen, daemon=True)
    listener.start()
    assert connected.wait(15)
    create_agent(servers, "agent.zhao", "赵客服")
    agent, csrf = login(servers, "agent.zhao")
    assert agent.post(f"{CONSOLE}/api/chat/{cid}/claim", json={}, headers={"X-CSRF-Token": csrf}).status_code == 200
    assert agent.post(f"{CONSOLE}/api/chat/{cid}/reply", json={"text": "您好，我是赵客服"},
                      headers={"X-CSRF-Token": csrf}).status_code == 200  # fmt: skip
    listener.join(15)
    assert received == [{"from": "agent", "text": "您好，我是赵客服", "buttons": [], "agent": "赵客服"}]
    assert client.post(f"{WIDGET}/message", json={"text": "好的"}, headers=auth).json()["messages"] == []  # not twice
    shown = client.get(f"{WIDGET}/history", headers=auth).json()["messages"]
    assert {"from": "agent", "text": "您好，我是赵客服", "buttons": [], "agent": "赵客服"} in shown


def test_claim_in_a_real_browser_and_history_after_reload(servers: Servers, tmp_path: Path) -> None:
    if not CHROMIUM.exists():
        pytest.fail(
            "headless Chromium is needed for the widget browser test: run `make system`"
            " (it runs `apt-get install chromium fonts-noto-cjk`)"
        )
    from playwright.sync_api import sync_playwright

    outer, inner = tmp_path / "outer.jpg", tmp_path / "inner.png"
    Image.new("RGB", (64, 48), (180, 120, 60)).save(outer, "JPEG")
    Image.new("RGB", (40, 40), (30, 90, 200)).save(inner, "PNG")
    shots = ROOT / "results" / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    dialogs: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                     args=["--no-sandbox", "--disable-background-networking"])  # fmt: skip
        try:
            page = browser.new_page(viewport={"width": 900, "height": 800})
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            csp_errors: list[str] = []
            page.on("console", lambda m: csp_errors.append(m.text) if "Content Security Policy" in m.text else None)
            page.goto(f"{servers.base}{WIDGET}/demo")
            page.click("#lcs-bubble")
            page.locator("#lcs-panel").wait_for(state="visible")

            def bot_count() -> int:
                return page.locator("#lcs-log .lcs-bot").count()

            def answered(before: int) -> str:
                page.wait_for_function(
                    "n => document.querySelectorAll('#lcs-log .lcs-bot').length > n"
                    " && document.getElementById('lcs-typing').hidden",
                    arg=before,
                    timeout=30_000,
                )
                return "\n".join(page.locator("#lcs-log .lcs-bot").all_inner_texts()[before:])

            def type_and_send(text: str) -> str:
                before = bot_count()
                page.fill("#lcs-input", text)
                page.click("#lcs-send")
                return answered(before)

            said = type_and_send("SF1873662042955 到了，箱子压坏了")
            assert "后四位" in said
            assert "哪部分" in type_and_send(RECEIVER_LAST_FOUR)
            before = bot_count()
            page.locator("#lcs-log .lcs-buttons button", has_text="都有破损").last.click()
            assert "描述" in answered(before)
            assert "外包装" in type_and_send("纸箱一角压塌，两个杯子碎了")
            before = bot_count()
            page.set_input_files("#lcs-file", str(outer))
            assert "收到 1 张照片" in answered(before)
            before = bot_count()
            page.set_input_files("#lcs-file", str(inner))
            assert "收到 1 张照片" in answered(before)
            assert "价值" in type_and_send("三成")
            assert "保留" in type_and_send("680元")
            assert "请核对" in type_and_send("是")
            assert "204.00" in type_and_send("是")
            last = type_and_send("接受")
            assert "理赔工单" in last and "204.00" in last, last
            assert "理赔工单" in page.locator("#lcs-log .lcs-bot").last.inner_text()
            page.screenshot(path=str(shots / "widget-claim.png"), full_page=True)

            page.reload()
            if page.locator("#lcs-panel").is_hidden():
                page.click("#lcs-bubble")
            page.locator("#lcs-log .lcs-bot", has_text="理赔工单").wait_for(timeout=15_000)
            restored = page.locator("#lcs-log .lcs-customer").all_inner_texts()
            assert "SF1873662042955 到了，箱子压坏了" in restored and "三成" in restored
            assert csp_errors == []
        finally:
            browser.close()
    assert dialogs == []
    assert (shots / "widget-claim.png").stat().st_size > 1000
