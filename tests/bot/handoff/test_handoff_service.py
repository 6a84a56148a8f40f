"""The handoff service (bot/handoff/service.py): deciding, recording the ticket, the full queue, the notices."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot import services
from bot.common.clock import CHINA_TZ
from bot.handoff import service
from bot.handoff.conversation import Conversation, recent
from bot.handoff.notices import busy_notice, expired_notice, refused_notice
from bot.handoff.queue import InMemoryHandoffQueue, QueueEntry
from bot.handoff.rules import Trigger
from bot.policy.model import Policy
from bot.tickets import TicketStore, TicketType
from bot.tickets.service import Requester, open_for

OPEN = datetime(2026, 11, 23, 10, 0, tzinfo=CHINA_TZ)  # a Monday, in business hours
NIGHT = datetime(2026, 11, 23, 23, 30, tzinfo=CHINA_TZ)


@pytest.fixture()
def store(tmp_path: Path) -> Iterator[TicketStore]:
    tickets = TicketStore(f"sqlite:///{tmp_path / 'tickets.db'}")
    services.configure(ticket_store=tickets, service_policy=Policy.load(), clock=lambda: OPEN)
    service.set_handoff_queue(InMemoryHandoffQueue())
    yield tickets
    service.set_handoff_queue(None)
    tickets.close()
    services.reset()


def user(text: str, intent: str = "track_waybill", **parse: Any) -> dict[str, Any]:
    return {"event": "user", "text": text, "parse_data": {"intent": {"name": intent}, "text": text, **parse}}


def conversation(*events: dict[str, Any], cid: str = "c-1", **slots: Any) -> Conversation:
    latest = next((e["parse_data"] for e in reversed(events) if e["event"] == "user"), {})
    return Conversation(cid, "telegram", list(events), latest, slots)


def test_a_calm_message_stays_with_the_bot(store: TicketStore) -> None:
    assert service.assess(conversation(user("请问我的快递到哪了"))) is None


def test_a_legal_threat_goes_to_a_human(store: TicketStore) -> None:
    trigger = service.assess(conversation(user("再不处理我就找律师起诉你们", "complain")))
    assert trigger == Trigger("legal_threat", 1)


def test_claim_outcomes_are_left_to_the_claim(store: TicketStore) -> None:
    ticket = open_for(Requester("c-1"), type=TicketType.DAMAGE_CLAIM, level=2, summary="claim", waybill="SF1")
    assert service.signals_of(conversation(user("好的", "affirm")))[1] == [ticket]
    assert service.assess(conversation(user("好的", "affirm"))) is None


def test_the_model_score_in_the_parse_data_is_read(store: TicketStore) -> None:
    angry = conversation(user("这都第几天了", "track_waybill", anger={"score": 0.95}))
    assert recent(angry).scores == [0.95]
    trigger = service.assess(angry)
    assert trigger is not None and trigger.reason == "anger" and trigger.level == 1


def test_hand_over_opens_one_ticket_per_conversation(store: TicketStore) -> None:
    due = {"reason": "anger", "level": 1, "detail": "score 0.92"}
    convo = conversation(user("气死我了，快递呢"), handoff_due=True, handoff_trigger=due, waybill="SF1648547086646")
    first = service.hand_over(convo, "zh")
    assert not first.busy and first.has_ticket and first.trigger == Trigger("anger", 1, "score 0.92")
    ticket = store.get(first.ticket_id)
    assert ticket is not None and ticket.type is TicketType.HANDOFF and ticket.level == 1
    assert ticket.channel == "telegram" and ticket.waybill == "SF1648547086646"
    assert ticket.summary == first.summary and first.summary.startswith("Handoff: anger (score 0.92), level 1")
    assert first.notice == (
        "正在为您转接人工客服，我们的对话记录会一并转给同事，您不用重复说明。"
        f"预计等待约 {Policy.load().handoff.wait_per_chat.seconds // 60} 分钟，工单号 {first.ticket_id}。"
    )
    assert first.as_slot()["ticket_id"] == first.ticket_id and first.as_slot()["at"] == OPEN.isoformat()
    again = service.hand_over(convo, "en")
    assert again.ticket_id == first.ticket_id  # noted on the open ticket, not a second one
    assert [t.id for t in store.for_conversation("c-1")] == [first.ticket_id]
    assert any(h.note.startswith("handed over again: anger") for h in store.history(first.ticket_id))
    assert again.notice.startswith("I'm passing you to a colleague now")


def test_without_a_due_trigger_an_explicit_request_is_recorded(store: TicketStore) -> None:
    handoff = service.hand_over(conversation(user("转人工", "request_human")), "zh")
    assert handoff.trigger.reason == "explicit_request"
    assert store.get(handoff.ticket_id) is not None


def test_out_of_hours_the_customer_hears_when_agents_are_back(store: TicketStore) -> None:
    services.configure(clock=lambda: NIGHT)
    handoff = service.hand_over(conversation(user("转人工", "request_human")), "en")
    assert handoff.notice.startswith("Our agents are offline right now.")
    assert handoff.ticket_id in handoff.notice


def test_a_full_queue_keeps_the_conversation_with_the_bot(store: TicketStore) -> None:
    queue = InMemoryHandoffQueue(max_waiting=1)
    queue.enqueue(QueueEntry("other", "rest", "TK-1", 3, OPEN, 0.0, "explicit_request", "s"))
    service.set_handoff_queue(queue)
    handoff = service.hand_over(conversation(user("转人工", "request_human")), "zh")
    assert handoff.busy and handoff.notice == busy_notice(handoff.ticket_id, "zh")
    assert handoff.ticket_id in handoff.notice
    notes = [h.note for h in store.history(handoff.ticket_id)]
    assert service.BUSY_NOTE in notes
    # the conversation already waiting is not refused its own place
    assert service.queue_full("other") is False and service.queue_full("c-1") is True


def test_a_broken_ticket_store_still_hands_over(store: TicketStore, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_: Any, **__: Any) -> Any:
        raise RuntimeError("database down")

    monkeypatch.setattr(store, "for_conversation", broken)
    monkeypatch.setattr(store, "open", broken)
    handoff = service.hand_over(conversation(user("转人工", "request_human")), "en")
    assert handoff.ticket_id == service.NO_TICKET and not handoff.has_ticket
    assert "Your ticket is -." in handoff.notice


def test_an_unreachable_queue_counts_as_not_full(store: TicketStore) -> None:
    class Down(InMemoryHandoffQueue):
        def is_full(self) -> bool:
            raise ConnectionError("redis down")

    service.set_handoff_queue(Down())
    assert service.queue_full("c-1") is False


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_busy_and_expiry_notices_name_the_ticket_or_say_it_is_noted(lang: str) -> None:
    for notice in (busy_notice, expired_notice, refused_notice):
        assert "TK-20261123-0007" in notice("TK-20261123-0007", lang)
        assert "-" not in notice("-", lang).replace("I'm", "")
    both = expired_notice("TK-20261123-0007", None).split("\n")
    assert both == [expired_notice("TK-20261123-0007", "zh"), expired_notice("TK-20261123-0007", "en")]
    assert refused_notice("-", None) == f"{refused_notice('-', 'zh')}\n{refused_notice('-', 'en')}"


def test_expected_wait_in_the_notice_is_whole_minutes_or_a_duration() -> None:
    from bot.handoff.notices import customer_notice

    assert "约 1 分钟" in customer_notice("TK-1", timedelta(seconds=20), OPEN, OPEN, "zh")
    assert "about 8 minutes" in customer_notice("TK-1", timedelta(minutes=8), OPEN, OPEN, "en")
    assert "minutes" not in customer_notice("TK-1", timedelta(hours=2), OPEN, OPEN, "en").split("about")[1][:5]


def test_due_slots_set_the_flag_and_clear_stale_ones(store: TicketStore) -> None:
    legal = conversation(user("我要找律师起诉你们", "complain"), handoff_offer_due=True)
    assert service.due_slots(legal) == {
        "handoff_offer_due": False,
        "handoff_due": True,
        "handoff_trigger": {"reason": "legal_threat", "level": 1, "detail": ""},
    }
    assert service.due_slots(legal, paused=True) == {}
    assert service.due_slots(conversation(user("/send_photo", "send_photo"), handoff_due=True)) == {}
    calm = conversation(user("请问运费怎么算", "faq"), handoff_due=True)
    assert service.due_slots(calm) == {"handoff_due": False}
    explicit = conversation(user("转人工", "request_human"))
    assert service.due_slots(explicit) == {}  # routed by its intent


def test_a_loop_offers_a_person_first(store: TicketStore) -> None:
    lost = conversation(user("asdf", "nlu_fallback"), user("qwer", "nlu_fallback"))
    changes = service.due_slots(lost)
    assert changes["handoff_offer_due"] is True and changes["handoff_trigger"]["offer"] is True
    assert "handoff_due" not in changes
