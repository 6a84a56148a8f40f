"""The claim use case (bot/claims/service.py) on the demo parcels and a real ticket store.

Filing runs against both ticket backends: SQLite in tmp_path and the PostgreSQL on
127.0.0.1:5432 (a database of this module's own, see ``tests/conftest.py``).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest

from bot import services
from bot.claims import replies, wording
from bot.claims import service as claims
from bot.claims.attachments import PhotoRef
from bot.claims.draft import INELIGIBLE_REASONS, ClaimDraft, ParcelFacts
from bot.claims.evidence import EvidenceStore
from bot.claims.images import check_image
from bot.claims.refusals import ERROR_CODES, EvidenceError
from bot.common import i18n
from bot.common.clock import CHINA_TZ
from bot.policy.deadlines import ticket_deadlines
from bot.policy.model import Policy
from bot.tickets import TicketStore, TicketType
from bot.tickets.service import Requester
from bot.tracking.demo import DemoProvider
from tests.support import ROOT
from tests.support.images import jpeg_with_gps
from tests.support.stores import BACKENDS, backend_url

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=CHINA_TZ)
DELIVERED = "SF1873662042955"  # freight 21, declared and insured 680
IN_TRANSIT = "SF1648547086646"
UNKNOWN = "SF9999999999999"
PARCEL = ParcelFacts(DELIVERED, "SF", "delivered", Decimal("21"), Decimal("680"), Decimal("680"))


@pytest.fixture(params=BACKENDS)
def tickets(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TicketStore]:
    """The demo parcels, the shipped policy, a fixed clock and a real ticket store of either backend."""
    store = TicketStore(backend_url(request, tmp_path / "tickets.db"))
    provider = DemoProvider(tmp_path / "demo.db", ROOT / "fixtures" / "shipments.yml", now=lambda: NOW)
    services.configure(tracking=provider, clock=lambda: NOW, ticket_store=store, service_policy=Policy.load())
    try:
        yield store
    finally:
        provider.close()
        store.close()
        services.reset()


def _draft(**answers: object) -> ClaimDraft:
    values: dict[str, object] = {
        "part": "both",
        "description": "箱子压坏了，快递员电话13912345678",
        "photos_outer": ("a" * 64,),
        "photos_contents": ("b" * 64,),
        "extent": "share:0.3000",
        "value": Decimal("680"),
        "packaging_kept": True,
    }
    values.update(answers)
    return ClaimDraft(PARCEL, **values)  # type: ignore[arg-type]


# --- filing -------------------------------------------------------------------------------


def test_file_claim_opens_the_ticket_with_evidence_and_decision(tickets: TicketStore, tmp_path: Path) -> None:
    evidence = EvidenceStore(tmp_path / "evidence")
    stored = evidence.save(check_image(jpeg_with_gps()))
    kept = PhotoRef(stored.sha256, stored.size, stored.content_type)
    lost = PhotoRef("c" * 64, 10, "image/png")  # not in the store: logged and left out
    draft = _draft()
    offer, accepted = claims.decide(draft, True)
    assert (offer.kind, f"{offer.amount:.2f}", accepted) == ("fast_track", "204.00", True)

    ticket = claims.file_claim(
        Requester("claimant", "telegram"),
        draft,
        offer,
        accepted=accepted,
        photos={"outer_packaging": [kept], "contents": [lost]},
        evidence=evidence,
    )

    again = tickets.get(ticket.id)
    assert again is not None
    assert again.type is TicketType.DAMAGE_CLAIM and again.level == offer.ticket_level
    assert (again.conversation_id, again.channel, again.waybill) == ("claimant", "telegram", DELIVERED)
    deadlines = ticket_deadlines(services.policy(), offer.ticket_level, NOW)
    assert again.respond_by == deadlines.respond_by and again.resolve_by == deadlines.resolve_by
    assert "13912345678" not in again.summary and "139****5678" in again.summary
    assert "offer fast_track 204.00 (damage_fast_track), customer accepted" in again.summary
    assert again.decision is not None
    assert (again.decision.kind, again.decision.amount) == ("fast_track", Decimal("204.00"))
    items = again.evidence
    assert [(item.sha256, item.kind) for item in items] == [(stored.sha256, "outer_packaging")]
    assert tickets.find_unresolved("claimant", TicketType.DAMAGE_CLAIM, DELIVERED) is not None


def test_a_refused_offer_is_filed_for_human_review(tickets: TicketStore, tmp_path: Path) -> None:
    offer, accepted = claims.decide(_draft(), False)
    assert offer.kind == "human_review" and offer.reason_code == "damage_offer_rejected" and accepted is False
    assert claims.handoff_for(offer) == {"reason": "offer_rejected", "level": 2, "detail": "damage_offer_rejected"}
    ticket = claims.file_claim(
        Requester("c2"), _draft(), offer, accepted=accepted, photos={}, evidence=EvidenceStore(tmp_path)
    )
    assert ticket.summary.startswith("NEEDS HUMAN REVIEW - damage claim: both;")
    assert "customer rejected" in ticket.summary and ticket.channel == "rest"
    assert ticket.decision is not None and ticket.decision.kind == "human_review"


def test_an_offer_nobody_is_asked_about_is_not_asked(tickets: TicketStore) -> None:
    offer, accepted = claims.decide(_draft(extent="unknown"), True)
    assert offer.kind == "human_review" and accepted is None
    assert "customer not asked" in claims.agent_summary(_draft(extent="unknown"), offer, accepted)
    assert claims.handoff_for(offer) is None
    assert not claims.asks_offer(_draft(extent="unknown")) and claims.asks_offer(_draft())
    assert not claims.asks_offer(None)


# --- the parcel -----------------------------------------------------------------------------


async def test_a_delivered_parcel_is_accepted(tickets: TicketStore) -> None:
    check = await claims.check_parcel("claimant", f"单号 {DELIVERED}", 2, "zh")
    assert check.verdict is claims.ParcelVerdict.ACCEPTED and check.shipment is not None
    assert check.messages == (f"好的，为 {DELIVERED} 登记破损理赔。",)
    assert (check.paused, check.attempts, check.proven) == (False, 0, False)


async def test_a_parcel_in_transit_cannot_be_claimed(tickets: TicketStore) -> None:
    check = await claims.check_parcel("claimant", IN_TRANSIT, 0, "en")
    assert check.verdict is claims.ParcelVerdict.INELIGIBLE and check.paused and check.shipment is None
    assert check.messages == (wording.ineligible_text("not_delivered", IN_TRANSIT, "en"),)


async def test_an_unknown_parcel_is_asked_again_then_the_claim_pauses(tickets: TicketStore) -> None:
    first = await claims.check_parcel("claimant", UNKNOWN, 0, "zh")
    assert first.verdict is claims.ParcelVerdict.NOT_FOUND and (first.paused, first.attempts) == (False, 1)
    assert len(first.messages) == 1
    last = await claims.check_parcel("claimant", UNKNOWN, 2, "zh")
    assert (last.paused, last.attempts) == (True, 0)
    assert last.messages[-1] == i18n.text("claims.form.gave_up_waybill", "zh")
    nothing = await claims.check_parcel("claimant", "蓝色的", 0, "zh")
    assert nothing.verdict is claims.ParcelVerdict.NO_NUMBER and nothing.messages == () and nothing.attempts == 1


async def test_a_parcel_with_an_open_claim_is_not_filed_twice(tickets: TicketStore, tmp_path: Path) -> None:
    offer, accepted = claims.decide(_draft(), True)
    ticket = claims.file_claim(
        Requester("claimant"), _draft(), offer, accepted=accepted, photos={}, evidence=EvidenceStore(tmp_path)
    )
    check = await claims.check_parcel("claimant", DELIVERED, 0, "en")
    assert check.verdict is claims.ParcelVerdict.EXISTING and check.paused and ticket.id in check.messages[0]


async def test_owner_digits(tickets: TicketStore) -> None:
    wrong = await claims.check_owner("claimant", PARCEL, "0000", 0, "zh")
    assert wrong.verdict is claims.OwnerVerdict.WRONG and wrong.attempts == 1
    right = await claims.check_owner("claimant", PARCEL, "8712", 1, "zh")
    assert right.verdict is claims.OwnerVerdict.PROVEN and right.attempts == 0
    assert (await claims.check_parcel("claimant", DELIVERED, 0, "zh")).proven
    unknown = await claims.check_owner("claimant", None, "8712", 1, "zh")
    assert unknown.verdict is claims.OwnerVerdict.UNKNOWN_PARCEL and unknown.attempts is None
    gave_up = await claims.check_owner("other", PARCEL, "0000", replies.MAX_ATTEMPTS - 1, "en")
    assert gave_up.verdict is claims.OwnerVerdict.PAUSED and gave_up.message and gave_up.attempts == 0


# --- questions, replies and photos ---------------------------------------------------------------


def test_questions_are_the_domains_first_then_composed(tickets: TicketStore) -> None:
    slots = {"claim_parcel": PARCEL.to_slot(), "claim_part": "outer", "claim_value": "2000.00"}
    assert claims.question(slots, "claim_part", "zh") is claims.DOMAIN_QUESTION
    assert claims.question(slots, "claim_owner", "zh") is claims.DOMAIN_QUESTION
    again = claims.question({**slots, "claim_attempts": 1}, "claim_packaging_kept", "zh")
    assert again is not None and again.text == wording.reask_text(ClaimDraft.from_slots(slots), "packaging_kept", "zh")
    assert [b["payload"] for b in again.buttons] == ["留着", "扔了"]
    last = claims.question({**slots, "claim_attempts": 2}, "claim_part", "en")
    assert last is not None and "human agent" in last.text
    owner = claims.question({**slots, "claim_attempts": 1}, "claim_owner", "zh")
    assert owner is not None and DELIVERED in owner.text
    summary = claims.question(slots, "claim_confirmed", "en")
    assert summary is not None and summary.text.startswith("Please check your claim:")
    assert [b["payload"] for b in summary.buttons] == ["yes", "no"]
    assert claims.question({}, "claim_confirmed", "zh") is None  # no parcel yet: nothing to show
    full = {**slots, "claim_extent": "share:0.3000", "claim_value": "680"}
    offer = claims.question(full, "claim_offer_accepted", "zh")
    assert offer is not None and "204.00" in offer.text
    assert claims.question({**full, "claim_extent": "unknown"}, "claim_offer_accepted", "zh") is None


@pytest.mark.parametrize(
    ("slot", "text", "intent", "confidence", "verdict"),
    [
        ("claim_part", "都有", "report_damage", 0.9, replies.Verdict.ANSWER),
        ("claim_part", "算了", "deny", 0.9, replies.Verdict.STOP),
        ("claim_part", "运费怎么算", "faq", 0.95, replies.Verdict.ELSEWHERE),
        ("claim_part", "蓝色的", "out_of_scope", 0.9, replies.Verdict.UNREADABLE),
        ("claim_part", "", "send_photo", 1.0, replies.Verdict.ELSEWHERE),
        ("claim_description", "我要找人工客服", "request_human", 0.97, replies.Verdict.ELSEWHERE),
    ],
)
def test_read_answer(slot: str, text: str, intent: str, confidence: float, verdict: replies.Verdict) -> None:
    from bot.claims import answers

    parse = answers.parse_part if slot == "claim_part" else answers.parse_description
    assert replies.read_answer(slot, replies.Reply(text, intent, confidence), parse).verdict is verdict


def test_counting_and_resuming() -> None:
    assert replies.failed_once_more(None) == (1, False)
    assert replies.failed_once_more(replies.MAX_ATTEMPTS - 1) == (replies.MAX_ATTEMPTS, True)
    assert replies.asked_last_time(replies.MAX_ATTEMPTS - 1) and not replies.asked_last_time(0)
    assert replies.resumes(DELIVERED, "继续理赔") and replies.resumes(DELIVERED, f"继续 {DELIVERED}")
    assert not replies.resumes(DELIVERED, f"继续 {IN_TRANSIT}") and not replies.resumes(None, "继续理赔")
    assert replies.read_without_photo(replies.Reply("算了")) is replies.Verdict.STOP


def test_photos_are_added_once_and_refusals_said_once() -> None:
    a, b = PhotoRef("a" * 64, 10, "image/png"), PhotoRef("b" * 64, 11, "image/jpeg")
    kept = [a.to_slot()]
    assert claims.with_photos(kept, [a, b, PhotoRef(error="too_large")]) == [a.to_slot(), b.to_slot()]
    said = claims.refusals([PhotoRef(error="too_large"), PhotoRef(error="too_large"), a], "en")
    assert said == [EvidenceError.from_code("too_large").message_en]
    assert claims.photos_of({"claim_photos_outer": kept}) == {"outer_packaging": [a], "contents": []}
    assert claims.photo_target("claim_photos_contents", False) == "claim_photos_contents"
    assert claims.photo_target("claim_part", True) == "claim_photos_contents"
    assert claims.photo_target(None, False) == "claim_photos_outer"


# --- every key the code builds exists --------------------------------------------------------


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_dynamic_key_exists(lang: str) -> None:
    catalogue = i18n.catalogue(lang)
    for code in ERROR_CODES:
        assert f"claims.photo_error.{code}" in catalogue
    for question in wording.QUESTIONS:
        assert f"claims.reask.question.{question}" in catalogue
    for question, options in wording.BUTTONS.items():
        assert question in wording.QUESTIONS
        for option in options:
            assert f"claims.reask.button.{question}.{option}_title" in catalogue
            assert f"claims.reask.button.{question}.{option}_payload" in catalogue
    for key in (*wording.REVIEW_REASONS.values(), "claims.review_reason.other"):
        assert key in catalogue
    for reason in INELIGIBLE_REASONS:
        assert wording.ineligible_text(reason, DELIVERED, lang)
