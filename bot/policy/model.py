"""The company's service policy: ticket deadlines, damage and delay offers.

Every number lives in ``policy/policy.yml``; :meth:`Policy.load` reads and checks it,
naming the offending key in a :class:`ValueError`. The functions below are pure: the
same policy and facts always give the same offer, and an offer never exceeds what the
policy allows (insured value, freight multiple, policy cap). A case the bot may not
settle alone becomes a ``human_review`` offer with amount 0: the bot promises nothing.

All money is :class:`~decimal.Decimal` in yuan, rounded to 0.01 with ROUND_HALF_UP.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from bot.settings import PROJECT_ROOT

DEFAULT_POLICY_PATH = PROJECT_ROOT / "policy" / "policy.yml"
"""Where the repository keeps the policy file."""

OfferKind = Literal["reship", "compensate", "fast_track", "human_review", "coupon", "refund"]

CENT = Decimal("0.01")
_HUNDRED = Decimal(100)
_DAY = timedelta(days=1)
_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def money(value: Decimal | int | str) -> Decimal:
    """Round an amount to 0.01 yuan, half up.

    Args:
        value: Amount in yuan.

    Returns:
        The amount quantized to cents.
    """
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class TicketLevel:
    """Deadlines of one ticket level."""

    level: int
    name: str
    respond_within: timedelta
    resolve_within: timedelta
    escalate_within: timedelta | None
    update_if_open_after: timedelta | None


@dataclass(frozen=True)
class DamagePolicy:
    """Rules for damaged shipments (shares are fractions, 0.05 = 5 %)."""

    reship_max_share: Decimal
    uninsured_freight_multiple: Decimal
    fast_track_below: Decimal
    fast_track_requires_photos: bool
    ticket_level_reship: int
    ticket_level_compensate: int
    ticket_level_fast_track: int
    ticket_level_unknown_extent: int


@dataclass(frozen=True)
class DelayPolicy:
    """Rules for late shipments (percentages as fractions, 0.2 = 20 %)."""

    held_threshold: timedelta
    coupon_max_late: timedelta
    coupon_share_of_freight: Decimal
    coupon_min: Decimal
    refund_share_per_day: Decimal
    refund_max_share: Decimal
    sla_after: timedelta
    sla_share_of_freight: Decimal
    ticket_level: int


@dataclass(frozen=True)
class BusinessHours:
    """When human agents are available: ``opens <= local time < closes`` on ``days``."""

    timezone: ZoneInfo
    opens: time
    closes: time
    days: frozenset[int]
    """ISO weekdays, 1 = Monday ... 7 = Sunday."""


HANDOFF_REASONS = (
    "legal_threat", "incident", "anger", "above_cap", "offer_rejected", "fallbacks", "stuck", "explicit_request",
)  # fmt: skip
"""Why a conversation goes to a human; the order breaks ties between equally urgent reasons."""


@dataclass(frozen=True)
class HandoffPolicy:
    """When the bot hands a conversation to a human, and at which ticket level.

    Attributes:
        anger_threshold: Anger score (0..1) at or above which a customer is handed over.
        anger_level_1_threshold: Anger score at or above which the ticket is level 1.
        fallbacks_in_a_row: Unclear or off-topic messages in a row after which a person is offered.
        same_question_times: The same question, the same request rephrased, or a form question
            asked this many times without progress: the conversation is ``stuck`` and a person offered.
        levels: Ticket level per reason in :data:`HANDOFF_REASONS` (``anger`` below the level-1 threshold).
        wait_per_chat: Expected handling time per waiting chat, for the wait the customer is told.
    """

    anger_threshold: float
    anger_level_1_threshold: float
    fallbacks_in_a_row: int
    same_question_times: int
    levels: Mapping[str, int]
    wait_per_chat: timedelta


@dataclass(frozen=True)
class Policy:
    """The whole service policy, as read from ``policy.yml``."""

    currency: str
    cap: Decimal
    above_cap_ticket_level: int
    tickets: Mapping[int, TicketLevel]
    damage: DamagePolicy
    delay: DelayPolicy
    business_hours: BusinessHours
    missing_ticket_level: int
    handoff: HandoffPolicy

    @classmethod
    def load(cls, path: str | Path = DEFAULT_POLICY_PATH) -> Policy:
        """Read and validate a policy file.

        Args:
            path: The YAML file.

        Returns:
            The policy.

        Raises:
            OSError: The file cannot be read.
            ValueError: The file is not valid YAML or a key is missing or invalid;
                the message names the key.
        """
        text = Path(path).read_text(encoding="utf-8")
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise ValueError(f"{path}: not valid YAML: {exc}") from exc
        return cls.from_mapping(data)

    @classmethod
    def from_mapping(cls, data: Any) -> Policy:
        """Build a policy from already-parsed YAML data.

        Args:
            data: The mapping of the policy file's top level.

        Returns:
            The policy.

        Raises:
            ValueError: A key is missing or invalid; the message names the key.
        """
        top = _Section(data, "")
        tickets_raw = _Section(top.get("tickets"), "tickets")
        levels: dict[int, TicketLevel] = {}
        for key in tickets_raw.keys():
            if isinstance(key, bool) or not isinstance(key, int) or key < 1:
                raise ValueError(f"tickets.{key}: ticket levels must be whole numbers >= 1")
            sec = _Section(tickets_raw.get(key), f"tickets.{key}")
            levels[key] = TicketLevel(
                level=key,
                name=sec.text("name"),
                respond_within=timedelta(minutes=float(sec.number("respond_within_minutes", positive=True))),
                resolve_within=timedelta(minutes=float(sec.number("resolve_within_minutes", positive=True))),
                escalate_within=sec.minutes_or_none("escalate_within_minutes"),
                update_if_open_after=sec.minutes_or_none("update_if_open_after_minutes"),
            )
            sec.done()
        if not levels:
            raise ValueError("tickets: at least one ticket level is required")
        level_ok = frozenset(levels)

        dmg = _Section(top.get("damage"), "damage")
        damage = DamagePolicy(
            reship_max_share=dmg.percent("reship_max_percent"),
            uninsured_freight_multiple=dmg.number("uninsured_freight_multiple"),
            fast_track_below=dmg.number("fast_track_below_yuan"),
            fast_track_requires_photos=dmg.flag("fast_track_requires_photos"),
            ticket_level_reship=dmg.level("ticket_level_reship", level_ok),
            ticket_level_compensate=dmg.level("ticket_level_compensate", level_ok),
            ticket_level_fast_track=dmg.level("ticket_level_fast_track", level_ok),
            ticket_level_unknown_extent=dmg.level("ticket_level_unknown_extent", level_ok),
        )
        dmg.done()

        dly = _Section(top.get("delay"), "delay")
        delay = DelayPolicy(
            held_threshold=timedelta(hours=float(dly.number("held_threshold_hours"))),
            coupon_max_late=timedelta(days=float(dly.number("coupon_max_days"))),
            coupon_share_of_freight=dly.percent("coupon_percent_of_freight"),
            coupon_min=dly.number("coupon_min_yuan"),
            refund_share_per_day=dly.percent("refund_percent_per_day"),
            refund_max_share=dly.percent("refund_max_percent"),
            sla_after=timedelta(hours=float(dly.number("sla_after_hours"))),
            sla_share_of_freight=dly.percent("sla_percent_of_freight"),
            ticket_level=dly.level("ticket_level", level_ok),
        )
        dly.done()

        missing = _Section(top.get("missing"), "missing")
        missing_level = missing.level("ticket_level", level_ok)
        missing.done()

        bh = _Section(top.get("business_hours"), "business_hours")
        zone_name = bh.text("timezone")
        try:
            zone = ZoneInfo(zone_name)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"business_hours.timezone: unknown time zone {zone_name!r}") from exc
        opens, closes = bh.clock("opens"), bh.clock("closes")
        if closes <= opens:
            raise ValueError("business_hours.closes: must be later than business_hours.opens")
        days_raw = bh.get("days")
        if not isinstance(days_raw, list) or not days_raw or any(d not in _WEEKDAYS for d in days_raw):
            raise ValueError(f"business_hours.days: must be a non-empty list of {', '.join(_WEEKDAYS)}")
        hours = BusinessHours(
            timezone=zone,
            opens=opens,
            closes=closes,
            days=frozenset(_WEEKDAYS.index(d) + 1 for d in days_raw),
        )
        bh.done()

        hand = _Section(top.get("handoff"), "handoff")
        anger_threshold = float(hand.share("anger_threshold"))
        anger_level_1 = float(hand.share("anger_level_1_threshold"))
        if anger_level_1 < anger_threshold:
            raise ValueError("handoff.anger_level_1_threshold: must not be below handoff.anger_threshold")
        handoff_levels = _Section(hand.get("levels"), "handoff.levels")
        handoff = HandoffPolicy(
            anger_threshold=anger_threshold,
            anger_level_1_threshold=anger_level_1,
            fallbacks_in_a_row=hand.whole("fallbacks_in_a_row"),
            same_question_times=hand.whole("same_question_times"),
            levels={reason: handoff_levels.level(reason, level_ok) for reason in HANDOFF_REASONS},
            wait_per_chat=timedelta(minutes=float(hand.number("expected_minutes_per_waiting_chat", positive=True))),
        )
        handoff_levels.done()
        hand.done()

        policy = cls(
            currency=top.text("currency"),
            cap=top.number("cap_yuan", positive=True),
            above_cap_ticket_level=top.level("above_cap_ticket_level", level_ok),
            tickets=levels,
            damage=damage,
            delay=delay,
            business_hours=hours,
            missing_ticket_level=missing_level,
            handoff=handoff,
        )
        top.done()
        return policy


class _Section:
    """One mapping of the policy file, read key by key with errors naming the key."""

    def __init__(self, data: Any, prefix: str) -> None:
        if not isinstance(data, Mapping):
            raise ValueError(f"{prefix or 'policy file'}: must be a mapping of keys to values")
        self._data = data
        self._prefix = prefix
        self._used: set[Any] = set()

    def name(self, key: Any) -> str:
        return f"{self._prefix}.{key}" if self._prefix else str(key)

    def keys(self) -> list[Any]:
        return list(self._data)

    def get(self, key: Any) -> Any:
        if key not in self._data:
            raise ValueError(f"{self.name(key)}: missing")
        self._used.add(key)
        return self._data[key]

    def done(self) -> None:
        unknown = [k for k in self._data if k not in self._used]
        if unknown:
            raise ValueError(f"{self.name(unknown[0])}: unknown key")

    def text(self, key: str) -> str:
        value = self.get(key)
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"{self.name(key)}: must be a non-empty text")
        return value

    def flag(self, key: str) -> bool:
        value = self.get(key)
        if not isinstance(value, bool):
            raise ValueError(f"{self.name(key)}: must be true or false")
        return value

    def number(self, key: str, *, positive: bool = False) -> Decimal:
        value = self.get(key)
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise ValueError(f"{self.name(key)}: must be a number")
        try:
            result = Decimal(str(value))
        except InvalidOperation as exc:
            raise ValueError(f"{self.name(key)}: must be a number, got {value!r}") from exc
        if not result.is_finite() or result < 0 or (positive and result == 0):
            raise ValueError(f"{self.name(key)}: must be a {'positive' if positive else 'non-negative'} number")
        return result

    def percent(self, key: str) -> Decimal:
        value = self.number(key)
        if value > _HUNDRED:
            raise ValueError(f"{self.name(key)}: a percent must be between 0 and 100")
        return value / _HUNDRED

    def share(self, key: str) -> Decimal:
        value = self.number(key)
        if value > 1:
            raise ValueError(f"{self.name(key)}: must be between 0 and 1, got {value}")
        return value

    def whole(self, key: str) -> int:
        value = self.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{self.name(key)}: must be a whole number >= 1, got {value!r}")
        return value

    def minutes_or_none(self, key: str) -> timedelta | None:
        if self.get(key) is None:
            return None
        return timedelta(minutes=float(self.number(key, positive=True)))

    def level(self, key: str, levels: frozenset[int]) -> int:
        value = self.get(key)
        if isinstance(value, bool) or value not in levels:
            raise ValueError(f"{self.name(key)}: must be one of the ticket levels {sorted(levels)}")
        return int(value)

    def clock(self, key: str) -> time:
        value = self.get(key)
        if not isinstance(value, str):
            raise ValueError(f'{self.name(key)}: must be a quoted "HH:MM" time')
        try:
            return time.fromisoformat(value)
        except ValueError as exc:
            raise ValueError(f'{self.name(key)}: must be a quoted "HH:MM" time, got {value!r}') from exc


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


@dataclass(frozen=True)
class Deadlines:
    """When a ticket must be answered, resolved, escalated and updated."""

    respond_by: datetime
    resolve_by: datetime
    escalate_by: datetime | None
    update_after: datetime | None


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


def ticket_deadlines(policy: Policy, level: int, opened_at: datetime) -> Deadlines:
    """Compute a ticket's deadlines.

    Args:
        policy: The service policy.
        level: Ticket level (1 = major incident ... 3 = general enquiry).
        opened_at: When the ticket was opened.

    Returns:
        The deadlines; ``escalate_by`` / ``update_after`` are None when the level has none.

    Raises:
        ValueError: An unknown level.
    """
    try:
        rules = policy.tickets[level]
    except KeyError:
        raise ValueError(f"unknown ticket level {level!r}; known: {sorted(policy.tickets)}") from None
    return Deadlines(
        respond_by=opened_at + rules.respond_within,
        resolve_by=opened_at + rules.resolve_within,
        escalate_by=None if rules.escalate_within is None else opened_at + rules.escalate_within,
        update_after=None if rules.update_if_open_after is None else opened_at + rules.update_if_open_after,
    )


def in_business_hours(policy: Policy, moment: datetime) -> bool:
    """Tell whether human agents are available at a moment.

    Args:
        policy: The service policy.
        moment: A time-zone-aware moment.

    Returns:
        True when the local time is within opening hours on a service day.

    Raises:
        ValueError: A naive datetime (its zone would be a guess).
    """
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("moment must be time-zone aware")
    hours = policy.business_hours
    local = moment.astimezone(hours.timezone)
    return local.isoweekday() in hours.days and hours.opens <= local.time().replace(tzinfo=None) < hours.closes
