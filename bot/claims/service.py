"""Filing a damage claim: the use case behind the claim form, in plain Python.

The form in ``actions/claims.py`` hands the customer's answers here and says what comes
back (what a reply means is read by :mod:`bot.claims.replies`). This module checks the
parcel (found, claimable, no claim open yet, proven to be the customer's), composes the
questions, works out the policy's offer for the answers collected, and files the claim:
a ticket opened through
:func:`bot.tickets.service.open_for` with a summary for agents (phones masked), the photos
attached as evidence and the decision recorded.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

from bot import services
from bot.claims import answers, wording
from bot.claims.attachments import PhotoRef
from bot.claims.draft import ClaimDraft, ParcelFacts, ineligible_reason
from bot.claims.evidence import EvidenceStore, store_from_env
from bot.claims.offer import claim_offer, handoff_trigger, needs_answer, rejected
from bot.claims.replies import MAX_ATTEMPTS, asked_last_time, failed_once_more
from bot.common import i18n
from bot.common.redaction import mask_phones
from bot.identity import ownership
from bot.identity import proof as identity
from bot.policy.offers import Offer
from bot.tickets import Decision, EvidenceItem, Ticket, TicketType
from bot.tickets.service import Requester, open_for
from bot.tracking import ProviderError, Shipment, messages
from bot.tracking.service import lookup
from bot.tracking.waybill import find_waybills

logger = logging.getLogger(__name__)

PHOTO_KINDS = {"claim_photos_outer": "outer_packaging", "claim_photos_contents": "contents"}
"""The evidence kind of each photo question."""


# -------------------------------------------------------------------- photos
def photo_target(requested: str | None, has_outer: bool) -> str:
    """The photo question photos sent now go to: the one asked, else the first side still missing."""
    if requested in PHOTO_KINDS:
        return requested
    return "claim_photos_contents" if has_outer else "claim_photos_outer"


def refusals(refs: Iterable[PhotoRef], lang: str) -> list[str]:
    """Why refused attachments were refused, once per reason."""
    problems = {ref.error: ref.problem() for ref in refs if ref.error}
    return [problem.message(lang) for problem in problems.values() if problem is not None]


def with_photos(kept: Sequence[Mapping[str, Any]] | None, refs: Iterable[PhotoRef]) -> list[dict[str, Any]]:
    """The photo slot with the stored photos of ``refs`` added (each photo once)."""
    photos = [dict(item) for item in kept or []]
    known = {item["sha256"] for item in photos}
    photos += [ref.to_slot() for ref in refs if ref.error is None and ref.sha256 not in known]
    return photos


def photos_of(slots: Mapping[str, Any]) -> dict[str, list[PhotoRef]]:
    """The photos kept in the form's slots, by evidence kind."""
    return {
        kind: [PhotoRef(photo["sha256"], int(photo["size"]), photo["content_type"]) for photo in slots.get(slot) or []]
        for slot, kind in PHOTO_KINDS.items()
    }


# --------------------------------------------------------------------- offer
def offer_for(draft: ClaimDraft) -> Offer:
    """The policy's offer for the claim collected so far."""
    return claim_offer(services.policy(), draft)


def asks_offer(draft: ClaimDraft | None) -> bool:
    """Whether the customer is asked to accept an offer (``False``: an agent decides, or no parcel yet)."""
    return draft is not None and needs_answer(offer_for(draft))


def decide(draft: ClaimDraft, accepted: bool | None) -> tuple[Offer, bool | None]:
    """The claim's final offer and the customer's answer to it (``None``: not asked).

    A refused offer becomes a human review.
    """
    policy = services.policy()
    offer = claim_offer(policy, draft)
    answer = accepted if needs_answer(offer) else None
    if answer is False:
        offer = rejected(offer, policy)
    return offer, answer


def handoff_for(offer: Offer) -> dict[str, Any] | None:
    """The ``handoff_trigger`` when a person must decide the claim now (above the cap, offer refused)."""
    return handoff_trigger(offer, services.policy())


# -------------------------------------------------------------------- parcel
class ParcelVerdict(Enum):
    """What the check of the parcel named for a claim found."""

    NO_NUMBER = "no_number"
    PROVIDER_DOWN = "provider_down"
    NOT_FOUND = "not_found"
    INELIGIBLE = "ineligible"
    EXISTING = "existing"
    ACCEPTED = "accepted"


@dataclass(frozen=True)
class ParcelCheck:
    """The outcome of :func:`check_parcel`.

    Attributes:
        verdict: What was found (with :attr:`ParcelVerdict.NO_NUMBER` the domain's own
            "invalid number" reply comes first).
        messages: What to tell the customer.
        shipment: The shipment, when accepted.
        proven: Whether the conversation already proved the parcel is the customer's.
        paused: Whether the claim pauses (ineligible, already claimed, provider down, third miss).
        attempts: The failed-answer count afterwards (``None``: unchanged).
    """

    verdict: ParcelVerdict
    messages: tuple[str, ...] = ()
    shipment: Shipment | None = None
    proven: bool = False
    paused: bool = False
    attempts: int | None = 0


def _missed(verdict: ParcelVerdict, said: tuple[str, ...], attempts: int | None, lang: str) -> ParcelCheck:
    """No parcel found for the number: ask again, or pause after the third miss."""
    count, last = failed_once_more(attempts)
    if last:
        gave_up = i18n.text("claims.form.gave_up_waybill", lang)
        return ParcelCheck(verdict, (*said, gave_up), paused=True, attempts=0)
    return ParcelCheck(verdict, said, attempts=count)


async def check_parcel(conversation_id: str, number: str, attempts: int | None, lang: str) -> ParcelCheck:
    """Look the parcel up: it must exist, be claimable, and have no claim open in this conversation."""
    found = find_waybills(number)
    if not found:
        return _missed(ParcelVerdict.NO_NUMBER, (), attempts, lang)
    try:
        shipment = await lookup(found[0])
    except ProviderError as exc:
        logger.warning("claim lookup failed: %s", type(exc).__name__)
        return ParcelCheck(ParcelVerdict.PROVIDER_DOWN, (messages.provider_down(lang),), paused=True, attempts=None)
    if shipment is None:
        return _missed(ParcelVerdict.NOT_FOUND, (messages.not_found(found[0].raw, lang),), attempts, lang)
    reason = ineligible_reason(shipment.status)
    if reason is not None:
        text = wording.ineligible_text(reason, shipment.waybill, lang)
        return ParcelCheck(ParcelVerdict.INELIGIBLE, (text,), paused=True)
    existing = await asyncio.to_thread(
        services.tickets().find_unresolved, conversation_id, TicketType.DAMAGE_CLAIM, shipment.waybill
    )
    if existing is not None:
        text = i18n.text("claims.form.existing", lang, waybill=shipment.waybill, ticket=existing.id)
        return ParcelCheck(ParcelVerdict.EXISTING, (text,), paused=True)
    proven = await ownership.proven(conversation_id, shipment)
    text = i18n.text("claims.form.accepted_waybill", lang, waybill=shipment.waybill)
    return ParcelCheck(ParcelVerdict.ACCEPTED, (text,), shipment, proven)


class OwnerVerdict(Enum):
    """What the receiver phone's last four digits proved."""

    UNKNOWN_PARCEL = "unknown_parcel"
    """No parcel to check against: the question stays open, nothing is said."""
    PROVEN = "proven"
    WRONG = "wrong"
    """Wrong digits; the question is asked again."""
    PAUSED = "paused"
    """The claim pauses (locked parcel, provider down, uncheckable, or too many wrong answers)."""


@dataclass(frozen=True)
class OwnerCheck:
    """The outcome of :func:`check_owner`.

    Attributes:
        verdict: What the digits proved.
        message: Why the claim pauses (only with :attr:`OwnerVerdict.PAUSED`).
        attempts: The failed-answer count afterwards (``None``: unchanged).
    """

    verdict: OwnerVerdict
    message: str = ""
    attempts: int | None = 0


async def check_owner(
    conversation_id: str, parcel: ParcelFacts | None, digits: str, attempts: int | None, lang: str
) -> OwnerCheck:
    """Check the receiver phone's last four digits; three wrong answers (or a locked parcel) pause the claim."""
    found = find_waybills(parcel.waybill) if parcel is not None else []
    if parcel is None or not found:
        return OwnerCheck(OwnerVerdict.UNKNOWN_PARCEL, attempts=None)
    if await ownership.locked(parcel.waybill):
        return OwnerCheck(OwnerVerdict.PAUSED, identity.locked_text(lang))
    try:
        shipment = await lookup(found[0])
    except ProviderError as exc:
        logger.warning("claim proof lookup failed: %s", type(exc).__name__)
        return OwnerCheck(OwnerVerdict.PAUSED, messages.provider_down(lang), attempts=None)
    matched = None if shipment is None else await ownership.match(shipment, digits)
    if shipment is None or matched is None:
        return OwnerCheck(OwnerVerdict.PAUSED, identity.uncheckable_text(lang))
    if matched:
        await ownership.remember(conversation_id, shipment, "phone_last4")
        return OwnerCheck(OwnerVerdict.PROVEN)
    count, last = failed_once_more(attempts)
    if await ownership.count_failure(parcel.waybill):
        return OwnerCheck(OwnerVerdict.PAUSED, identity.locked_text(lang))
    if last:
        return OwnerCheck(OwnerVerdict.PAUSED, identity.gave_up_text(lang))
    return OwnerCheck(OwnerVerdict.WRONG, attempts=count)


# ---------------------------------------------------------------------- file
def agent_summary(draft: ClaimDraft, offer: Offer, accepted: bool | None) -> str:
    """What the agent reads first: the answers, the offer and the customer's answer (phones masked)."""
    share, repair = answers.split_extent(draft.extent)
    answer = {True: "accepted", False: "rejected", None: "not asked"}[accepted]
    summary = (
        f"damage claim: {draft.part}; described: {mask_phones(draft.description or '')}; "
        f"share={share} repair={repair} value={draft.value} packaging_kept={draft.packaging_kept}; "
        f"offer {offer.kind} {offer.amount} ({offer.reason_code}), customer {answer}"
    )
    if offer.kind == "human_review":
        summary = "NEEDS HUMAN REVIEW - " + summary
    return summary


def file_claim(
    requester: Requester,
    draft: ClaimDraft,
    offer: Offer,
    *,
    accepted: bool | None,
    photos: Mapping[str, Sequence[PhotoRef]],
    evidence: EvidenceStore | None = None,
) -> Ticket:
    """Open the claim ticket with its evidence and decision (blocking: call through ``asyncio.to_thread``).

    Args:
        requester: The customer's conversation and channel.
        draft: The confirmed answers.
        offer: The final offer (see :func:`decide`).
        accepted: The customer's answer to the offer (``None``: not asked).
        photos: Stored photos by evidence kind (see :func:`photos_of`).
        evidence: The evidence store (default: the one ``EVIDENCE_DIR`` names).

    Returns:
        The ticket, its evidence attached and the decision recorded. A photo missing
        from the store is logged and left out.
    """
    store = services.tickets()
    evidence = evidence or store_from_env()
    ticket = open_for(
        requester,
        type=TicketType.DAMAGE_CLAIM,
        level=offer.ticket_level,
        summary=agent_summary(draft, offer, accepted),
        waybill=draft.parcel.waybill,
    )
    for kind, refs in photos.items():
        for ref in refs:
            path = evidence.path_for(ref.sha256)
            if path is None:
                logger.error("claim %s: evidence %s missing from the store", ticket.id, ref.sha256[:12])
                continue
            item = EvidenceItem(ref.sha256, kind, str(path), ref.size, ref.content_type)
            ticket = store.add_evidence(ticket.id, item, actor="bot")
    return store.set_decision(ticket.id, Decision(offer.kind, offer.amount, offer.reason_code), actor="bot")


# ------------------------------------------------------------------ questions
@dataclass(frozen=True)
class Message:
    """A text to send, with quick replies (plain-text payloads)."""

    text: str = ""
    buttons: tuple[dict[str, str], ...] = ()


DOMAIN_QUESTION = Message()
"""Ask with the domain's own words for the question (the first time it is asked)."""


def _reask(draft: ClaimDraft | None, slot: str, attempts: int, lang: str, offer: Offer | None = None) -> Message:
    """A question asked again: what was understood, what is missing, how to answer (a person offered last)."""
    question = slot.removeprefix("claim_")
    text = wording.reask_text(draft, question, lang, last=asked_last_time(attempts), offer=offer)
    return Message(text, tuple(wording.reask_buttons(question, lang)))


def question(slots: Mapping[str, Any], slot: str, lang: str) -> Message | None:
    """How to ask ``slot`` now: :data:`DOMAIN_QUESTION`, a composed message, or ``None`` (say nothing).

    After a reply that answered nothing (``claim_attempts`` > 0) the question is asked again
    saying what was understood; the owner check says how many tries are left. The summary and
    the offer are composed from the answers (nothing is said before the parcel is known, nor
    about an offer the customer is not asked to accept).
    """
    attempts = int(slots.get("claim_attempts") or 0)
    draft = ClaimDraft.from_slots(slots)
    if slot == "claim_owner":
        parcel = ParcelFacts.from_slot(slots.get("claim_parcel"))
        if attempts and parcel is not None:
            return Message(identity.wrong_text(parcel.waybill, MAX_ATTEMPTS - attempts, lang))
        return DOMAIN_QUESTION
    if slot == "claim_confirmed":
        if draft is None:
            return None
        if attempts:
            return _reask(draft, slot, attempts, lang)
        return Message(wording.summary_text(draft, lang), tuple(wording.yes_no_buttons(lang)))
    if slot == "claim_offer_accepted":
        if draft is None or not asks_offer(draft):
            return None
        offer = offer_for(draft)
        if attempts:
            return _reask(draft, slot, attempts, lang, offer)
        return Message(wording.offer_text(offer, lang), tuple(wording.yes_no_buttons(lang)))
    if attempts and draft is not None:
        return _reask(draft, slot, attempts, lang)
    return DOMAIN_QUESTION
