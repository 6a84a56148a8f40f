"""Damage claims end to end: the real Rasa server and action server, photos over the REST channel.

A customer files a whole claim with two photos over HTTP; the test then opens the
ticket store and the evidence folder the servers used and checks the ticket, its
evidence files and their SHA-256 hashes. The unhappy paths run the same way.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterator
from decimal import Decimal

import httpx
import pytest
import yaml
from PIL import Image

from bot.tickets import TicketStore, TicketType
from tests.support.console import CONSOLE, create_agent, login
from tests.support.e2e_servers import ROOT, Servers, running_servers
from tests.support.images import GPS_MARK, jpeg_with_gps, png_with_metadata

pytestmark = pytest.mark.e2e

DELIVERED_INSURED = "SF1873662042955"  # freight 21, declared = insured = 680
DELIVERED_LAPTOP = "SF1184858096369"  # insured 6899
LAPTOP_DIGITS = "5861"  # receiver 131****5861
LATE_IN_TRANSIT = "SF1648547086646"
UNKNOWN = "SF1000000000000"
TICKET = re.compile(r"TK-\d{8}-\d{4,}")


@pytest.fixture(scope="module")
def servers(tmp_path_factory) -> Iterator[Servers]:
    with running_servers(tmp_path_factory.mktemp("e2e-claims")) as running:
        yield running


@pytest.fixture()
def tickets(servers: Servers) -> Iterator[TicketStore]:
    store = TicketStore(f"sqlite:///{servers.workdir / 'tickets.db'}")
    yield store
    store.close()


def photo(data: bytes, name: str = "IMG.jpg") -> dict:
    return {"attachments": [{"kind": "image", "data": base64.b64encode(data).decode(), "filename": name}]}


def texts(replies: list[dict]) -> str:
    return "\n".join(r.get("text", "") for r in replies)


def slots(servers: Servers, sender: str) -> dict:
    return servers.tracker(sender)["slots"]


def answer(servers: Servers, sender: str, text: str, expect: str, metadata: dict | None = None) -> str:
    said = texts(servers.send(sender, text, metadata))
    assert expect in said, said
    return said


def test_full_claim_with_two_photos_opens_a_ticket_with_its_evidence(servers: Servers, tickets: TicketStore) -> None:
    who = "claim-happy"
    replies = servers.send(who, f"快递 {DELIVERED_INSURED} 到了，箱子压坏了，里面杯子也碎了")
    said = texts(replies)
    assert "非常抱歉" in said and f"为 {DELIVERED_INSURED} 登记" in said and "收件人手机号的后四位" in said
    assert "哪部分破损" not in said  # the proof comes before any question about the claim
    replies = servers.send(who, "尾号8712")
    assert "哪部分破损" in texts(replies)
    assert [b["payload"] for b in replies[-1]["buttons"]] == ["外包装", "内件物品", "都有破损"]
    answer(servers, who, "都有破损", "描述")
    answer(servers, who, "纸箱一角压塌，里面两个杯子碎了", "外包装（含面单）的照片")
    outer = jpeg_with_gps(size=(64, 48))
    answer(servers, who, "", "收到 1 张照片", photo(outer))
    # a wrong file: clear message, the form keeps what it had and asks again
    said = answer(servers, who, "", "看起来不是照片", photo(b"%PDF-1.7 invoice", "invoice.jpg"))
    assert "内件物品的照片" in said
    assert len(slots(servers, who)["claim_photos_outer"]) == 1
    answer(servers, who, "这是里面的", "收到 1 张照片", photo(png_with_metadata(), "cups.png"))
    answer(servers, who, "大概三成", "物品价值")
    answer(servers, who, "六百八十块", "保留")
    said = answer(servers, who, "是的", "请核对")
    for part in (DELIVERED_INSURED, "外包装和内件物品", "两个杯子碎了", "2 张", "约 30% 损坏", "680.00 元"):
        assert part in said
    answer(servers, who, "是", "204.00")  # 30 % of 680, under 500 with photos: fast track
    said = answer(servers, who, "接受", "已为您登记并批准理赔工单")
    ticket_id = TICKET.search(said).group(0)

    ticket = tickets.get(ticket_id, conversation_id=who)
    assert ticket is not None and ticket.type is TicketType.DAMAGE_CLAIM and ticket.waybill == DELIVERED_INSURED
    assert ticket.channel == "rest" and ticket.level == 3
    assert (ticket.decision.kind, ticket.decision.amount) == ("fast_track", Decimal("204.00"))
    assert "两个杯子碎了" in ticket.summary and "accepted" in ticket.summary
    kinds = sorted(item.kind for item in ticket.evidence)
    assert kinds == ["contents", "outer_packaging"]
    for item in ticket.evidence:
        assert item.path.startswith(str(servers.workdir / "evidence"))
        data = open(item.path, "rb").read()
        assert hashlib.sha256(data).hexdigest() == item.sha256 and len(data) == item.size
        assert GPS_MARK.encode() not in data
        if item.kind == "outer_packaging":
            assert item.content_type == "image/jpeg"
            with Image.open(item.path) as image:
                assert not image.getexif() and image.size == (64, 48)
    assert tickets.get(ticket_id, conversation_id="someone-else") is None

    state = slots(servers, who)
    assert state["ticket_id"] == ticket_id and state["claim_waybill"] is None and state["claim_photos_outer"] is None
    said = texts(servers.send(who, "我的理赔处理到哪一步了"))
    assert ticket_id in said and "破损理赔" in said


def test_wrong_phone_digits_pause_the_claim_and_open_nothing(servers: Servers, tickets: TicketStore) -> None:
    who = "claim-stranger"
    said = texts(servers.send(who, f"{DELIVERED_INSURED} 收到时箱子破了，我要理赔"))
    assert "收件人手机号的后四位" in said
    said = answer(servers, who, "1234", "还可以再试 2 次")
    said = answer(servers, who, "尾号0000", "还可以再试 1 次")
    said = answer(servers, who, "5555", "转人工")
    assert "哪部分破损" not in said
    assert slots(servers, who)["claim_owner"] is None and slots(servers, who)["requested_slot"] is None
    assert tickets.for_conversation(who) == []


def test_late_parcel_compensation_after_the_phone_digits(servers: Servers, tickets: TicketStore) -> None:
    who = "late-owner"
    said = texts(servers.send(who, f"帮我查下 {LATE_IN_TRANSIT}"))
    assert "已超时" in said and "后四位" in said and "补偿运费券" not in said
    said = texts(servers.send(who, "尾号2846"))
    assert "已核实" in said and "补偿运费券" in said
    ticket = tickets.get(TICKET.search(said).group(0), conversation_id=who)
    assert ticket.type is TicketType.DELAY and ticket.waybill == LATE_IN_TRANSIT
    # a stranger with the same number: public status, no amount, no second ticket
    said = texts(servers.send("late-stranger", f"帮我查下 {LATE_IN_TRANSIT}"))
    assert "已超时" in said and "补偿运费券" not in said and not re.search(r"\d+\.\d{2} 元", said)
    assert not TICKET.search(said)
    assert [t.id for t in tickets.for_waybill(LATE_IN_TRANSIT)] == [ticket.id]


def test_parcel_not_yet_delivered_gets_an_explanation_and_no_ticket(servers: Servers, tickets: TicketStore) -> None:
    who = "claim-not-delivered"
    said = texts(servers.send(who, f"{LATE_IN_TRANSIT} 这个包裹破损了要理赔"))
    assert "还没有签收" in said and "拒收" in said
    assert tickets.for_conversation(who) == [] or all(
        t.type is not TicketType.DAMAGE_CLAIM for t in tickets.for_conversation(who)
    )
    assert slots(servers, who)["claim_waybill"] is None


def test_unknown_waybill_is_asked_again_then_given_up(servers: Servers) -> None:
    who = "claim-unknown"
    said = texts(servers.send(who, "my parcel arrived broken"))
    assert "damage claim" in said.lower() or "damaged" in said
    assert "tracking number" in said
    for _ in range(2):
        said = texts(servers.send(who, UNKNOWN))
        assert UNKNOWN in said and "tracking number" in said
    said = texts(servers.send(who, UNKNOWN))
    assert "paused the claim" in said
    assert slots(servers, who)["requested_slot"] is None


def test_stop_mid_claim_and_resume_asks_only_what_is_missing(servers: Servers) -> None:
    who = "claim-pause"
    servers.send(who, f"{DELIVERED_INSURED} 外箱破了")
    answer(servers, who, "8712", "哪部分破损")
    answer(servers, who, "外包装", "描述")
    answer(servers, who, "算了", "暂停")
    state = slots(servers, who)
    assert state["claim_waybill"] == DELIVERED_INSURED and state["claim_part"] == "outer"
    # another question in between is answered normally
    said = texts(servers.send(who, f"帮我查下 {LATE_IN_TRANSIT}"))
    assert LATE_IN_TRANSIT in said and "运输中" in said
    said = answer(servers, who, "继续理赔", "我们继续为 SF1873662042955 登记理赔")
    assert "描述" in said and "哪部分破损" not in said and "运单号" not in said


def test_rejected_offer_goes_to_a_specialist(servers: Servers, tickets: TicketStore) -> None:
    who = "claim-reject"
    servers.send(who, f"运单 {DELIVERED_LAPTOP} 收到时电脑屏幕碎了")
    answer(servers, who, LAPTOP_DIGITS, "哪部分破损")
    answer(servers, who, "里面的东西", "描述")
    answer(servers, who, "屏幕裂了", "外包装")
    answer(servers, who, "", "内件", photo(jpeg_with_gps()))
    answer(servers, who, "", "损坏", photo(png_with_metadata()))
    answer(servers, who, "维修要1500元", "价值")
    answer(servers, who, "6899", "保留")
    answer(servers, who, "没有", "请核对")
    answer(servers, who, "对", "1500.00")
    said = answer(servers, who, "不接受", "理赔专员")
    ticket = tickets.get(TICKET.search(said).group(0), conversation_id=who)
    assert ticket.decision.kind == "human_review" and ticket.decision.reason_code == "damage_offer_rejected"
    assert ticket.level == 2 and ticket.summary.startswith("NEEDS HUMAN REVIEW")

    # the refused offer hands the chat to a person, who sees the claim photos in the console
    tracker = servers.tracker(who)
    assert tracker["paused"] is True and tracker["slots"]["handoff"]["reason"] == "offer_rejected"
    create_agent(servers, "claims.agent", "理赔专员")
    client, csrf = login(servers, "claims.agent")
    assert client.get(f"{CONSOLE}/api/chat/{who}").status_code == 403  # an agent sees the chats they hold
    taken = client.post(f"{CONSOLE}/api/chat/{who}/claim", json={}, headers={"X-CSRF-Token": csrf})
    assert taken.status_code == 200, taken.text
    chat = client.get(f"{CONSOLE}/api/chat/{who}").json()
    claim = next(t for t in chat["tickets"] if t["id"] == ticket.id)
    assert sorted(e["kind"] for e in claim["evidence"]) == ["contents", "outer_packaging"]
    for item in ticket.evidence:
        image = client.get(f"{CONSOLE}/api/chat/{who}/evidence/{item.sha256}")
        assert image.status_code == 200 and hashlib.sha256(image.content).hexdigest() == item.sha256
        assert image.headers["content-type"] == item.content_type
        other = client.get(f"{CONSOLE}/api/chat/claim-not-delivered/evidence/{item.sha256}")
        assert other.status_code in (403, 404)  # another chat (not held by this agent, no such photo there)
        assert httpx.get(f"{servers.base}{CONSOLE}/api/chat/{who}/evidence/{item.sha256}").status_code == 401


def test_over_the_cap_goes_to_a_human_and_the_cap_comes_from_the_policy_file(
    servers: Servers, tickets: TicketStore
) -> None:
    policy = yaml.safe_load((ROOT / "policy" / "policy.yml").read_text(encoding="utf-8"))
    policy["cap_yuan"] = 1000
    edited = servers.workdir / "policy-cap-1000.yml"
    edited.write_text(yaml.safe_dump(policy, allow_unicode=True), encoding="utf-8")
    servers.start_actions(POLICY_FILE=str(edited))
    try:
        who = "claim-cap"
        servers.send(who, f"{DELIVERED_LAPTOP} 破损理赔")
        answer(servers, who, LAPTOP_DIGITS, "哪部分破损")
        answer(servers, who, "都有破损", "描述")
        answer(servers, who, "箱子和电脑都摔坏了", "外包装")
        answer(servers, who, "", "内件", photo(jpeg_with_gps()))
        answer(servers, who, "", "损坏", photo(png_with_metadata()))
        answer(servers, who, "一半", "价值")
        answer(servers, who, "¥6,899", "保留")
        answer(servers, who, "有", "请核对")
        said = answer(servers, who, "确认", "超出自动理赔上限")  # 50 % of 6899 > 1000: no offer asked
        ticket = tickets.get(TICKET.search(said).group(0), conversation_id=who)
        assert (ticket.decision.kind, ticket.decision.reason_code, ticket.level) == (
            "human_review",
            "damage_above_cap",
            2,
        )
    finally:
        servers.start_actions()


def test_photo_outside_a_claim_and_bad_attachment_payloads(servers: Servers) -> None:
    who = "claim-photo-only"
    said = texts(servers.send(who, "", photo(png_with_metadata())))
    assert "理赔" in said
    said = texts(servers.send(who, "", {"attachments": "nope"}))
    assert "附件格式有误" in said
    said = texts(servers.send(who, "", {"attachments": [{"kind": "image", "data": "@@not base64@@"}]}))
    assert "传输中出了问题" in said
