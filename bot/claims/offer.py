"""The claim's offer: what the policy gives for the collected answers, and what a refusal means.

Plain Python, no Rasa. The declared value is what the customer says the goods are worth,
capped at the value declared when the parcel was sent when the carrier's record has one;
the insured value and the freight come only from the record.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from bot.claims.answers import split_extent
from bot.claims.draft import ClaimDraft
from bot.policy.model import Policy
from bot.policy.offers import Offer, damage_offer, money

HANDOFF_REASONS = {"damage_above_cap": "above_cap", "damage_offer_rejected": "offer_rejected"}
"""Claim outcomes that go to a human now (the policy's handoff rules), not only by ticket."""


def claim_offer(policy: Policy, draft: ClaimDraft) -> Offer:
    """The policy's offer for a claim.

    The declared value is what the customer says the goods are worth, capped at
    the declared value on the carrier's record when there is one; the insured
    value and freight come only from the record. With neither insurance nor a
    known freight, nothing can be computed and an agent decides.

    Args:
        policy: The service policy.
        draft: The collected answers.

    Returns:
        The offer (never more than :func:`bot.policy.offers.damage_offer` allows).
    """
    parcel = draft.parcel
    share, repair = split_extent(draft.extent)
    insured = parcel.insured_value if parcel.insured_value and parcel.insured_value > 0 else None
    if insured is None and parcel.freight is None:
        return Offer("human_review", money(0), "damage_freight_unknown", policy.damage.ticket_level_unknown_extent)
    declared = draft.value
    if declared is not None and parcel.declared_value and parcel.declared_value > 0:
        declared = min(declared, parcel.declared_value)
    return damage_offer(
        policy,
        damaged_share=share,
        repair_estimate=repair,
        declared_value=declared,
        insured_value=insured,
        freight=parcel.freight or Decimal(0),
        has_photos=draft.has_photos,
    )


def needs_answer(offer: Offer) -> bool:
    """Whether the customer is asked to accept the offer (an agent decides the rest)."""
    return offer.kind != "human_review"


def rejected(offer: Offer, policy: Policy) -> Offer:
    """The case after the customer turned ``offer`` down: a human reviews it."""
    return Offer("human_review", money(0), "damage_offer_rejected", policy.above_cap_ticket_level)


def handoff_trigger(offer: Offer, policy: Policy) -> dict[str, Any] | None:
    """The ``handoff_trigger`` slot value when a person must decide the claim now, else ``None``."""
    reason = HANDOFF_REASONS.get(offer.reason_code)
    if reason is None:
        return None
    return {"reason": reason, "level": policy.handoff.levels[reason], "detail": offer.reason_code}
