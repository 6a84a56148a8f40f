"""What the bot may offer for a damaged or late parcel, as the policy allows.

The functions are pure: the same policy and facts always give the same offer, and an
offer never exceeds what the policy allows (insured value, freight multiple, policy cap).
A case the bot may not settle alone becomes a ``human_review`` offer with amount 0: the
bot promises nothing.

All money is :class:`~decimal.Decimal` in yuan, rounded to 0.01 with ROUND_HALF_UP.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

from bot.policy.model import Policy

OfferKind = Literal["reship", "compensate", "fast_track", "human_review", "coupon", "refund"]

CENT = Decimal("0.01")
_DAY = timedelta(days=1)


def money(value: Decimal | int | str) -> Decimal:
    """Round an amount to 0.01 yuan, half up.

    Args:
        value: Amount in yuan.

    Returns:
        The amount quantized to cents.
    """
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Offer:
    """What the bot may offer the customer.

    Attributes:
        kind: ``reship`` (free re-shipment), ``compensate`` (cash after the normal
            claim check), ``fast_track`` (cash approved at once), ``human_review``
            (an agent decides; the bot promises nothing), ``coupon`` (freight coupon)
            or ``refund`` (cash freight refund).
        amount: Yuan, rounded to 0.01; 0 for ``reship`` and ``human_review``.
        reason_code: Machine-readable reason, for responses and ticket notes.
        ticket_level: Level of the ticket to open for this case.
    """

    kind: OfferKind
    amount: Decimal
    reason_code: str
    ticket_level: int


def _non_negative(name: str, value: Decimal | None) -> None:
    if value is not None and value < 0:
        raise ValueError(f"{name} must not be negative")


def _above_cap(policy: Policy, reason: str) -> Offer:
    return Offer("human_review", money(0), reason, policy.above_cap_ticket_level)


def damage_offer(
    policy: Policy,
    *,
    damaged_share: Decimal | None,
    repair_estimate: Decimal | None,
    declared_value: Decimal | None,
    insured_value: Decimal | None,
    freight: Decimal,
    has_photos: bool,
) -> Offer:
    """Decide the offer for a damaged shipment.

    The loss is the repair estimate when there is one, otherwise the damaged share of
    the goods' value (declared value, or the insured value when nothing was declared).
    Insured parcels are paid the loss up to the insured value; uninsured parcels up to
    ``uninsured_freight_multiple`` times the freight, and never more than the declared
    value. A payable amount above the policy cap goes to a human.

    Args:
        policy: The service policy.
        damaged_share: Damaged fraction of the goods (0.05 = 5 %), or None if unknown.
        repair_estimate: Cost of repair in yuan, or None.
        declared_value: Value the sender declared, or None.
        insured_value: Insured value; None or 0 means not insured.
        freight: Freight paid, in yuan.
        has_photos: Whether the customer has sent photos of the damage.

    Returns:
        The offer.

    Raises:
        ValueError: A share outside 0..1 or a negative amount.
    """
    if damaged_share is not None and not Decimal(0) <= damaged_share <= 1:
        raise ValueError("damaged_share must be between 0 and 1")
    for name, value in (
        ("repair_estimate", repair_estimate),
        ("declared_value", declared_value),
        ("insured_value", insured_value),
        ("freight", freight),
    ):
        _non_negative(name, value)
    rules = policy.damage

    if damaged_share is not None and damaged_share <= rules.reship_max_share:
        return Offer("reship", money(0), "damage_minor_reship", rules.ticket_level_reship)

    value_basis = declared_value if declared_value is not None else insured_value
    if repair_estimate is not None:
        loss = repair_estimate
    elif damaged_share is not None and value_basis is not None:
        loss = damaged_share * value_basis
    else:
        return Offer("human_review", money(0), "damage_extent_unknown", rules.ticket_level_unknown_extent)

    if insured_value is not None and insured_value > 0:
        limit, reason = insured_value, "damage_insured"
    else:
        limit, reason = rules.uninsured_freight_multiple * freight, "damage_uninsured"
    if declared_value is not None:
        limit = min(limit, declared_value)
    payable = money(min(loss, limit))

    if payable > policy.cap:
        return _above_cap(policy, "damage_above_cap")
    if payable < rules.fast_track_below and (has_photos or not rules.fast_track_requires_photos):
        return Offer("fast_track", payable, "damage_fast_track", rules.ticket_level_fast_track)
    return Offer("compensate", payable, reason, rules.ticket_level_compensate)


def delay_offer(
    policy: Policy,
    *,
    late_by: timedelta,
    freight: Decimal,
    sla_customer: bool = False,
) -> Offer | None:
    """Decide the offer for a late shipment.

    Up to ``coupon_max_days`` late: a freight coupon. Later: a cash refund of
    ``refund_percent_per_day`` of the freight per started day late, capped. SLA contract
    customers late by more than ``sla_after_hours`` get ``sla_percent_of_freight`` in
    cash instead of a coupon, or the standard refund when that is larger.

    Args:
        policy: The service policy.
        late_by: How late the shipment is (see :func:`held_lateness` for held parcels).
        freight: Freight paid, in yuan.
        sla_customer: Whether the customer has an SLA contract.

    Returns:
        The offer, or None when the shipment is not late.

    Raises:
        ValueError: A negative freight.
    """
    _non_negative("freight", freight)
    if late_by <= timedelta(0):
        return None
    rules = policy.delay

    if late_by <= rules.coupon_max_late:
        offer = Offer(
            "coupon",
            money(max(freight * rules.coupon_share_of_freight, rules.coupon_min)),
            "delay_coupon",
            rules.ticket_level,
        )
    else:
        days_late = math.ceil(late_by / _DAY)
        share = min(rules.refund_share_per_day * days_late, rules.refund_max_share)
        offer = Offer("refund", money(freight * share), "delay_refund", rules.ticket_level)

    if sla_customer and late_by > rules.sla_after:
        sla_amount = money(freight * rules.sla_share_of_freight)
        if offer.kind != "refund" or sla_amount > offer.amount:
            offer = Offer("compensate", sla_amount, "delay_sla", rules.ticket_level)

    if offer.amount > policy.cap:
        return _above_cap(policy, "delay_above_cap")
    return offer


def held_lateness(policy: Policy, held_for: timedelta) -> timedelta:
    """How much of a hold (no new tracking event) counts as lateness.

    Args:
        policy: The service policy.
        held_for: Time since the parcel's last tracking event.

    Returns:
        The part beyond ``held_threshold_hours``, or zero.
    """
    return max(held_for - policy.delay.held_threshold, timedelta(0))
