"""What a customer can choose when a parcel is late, and how the choice is worded.

The options that exist depend on where the parcel is and why it is late: a parcel
in customs can only be waited for; one with an address problem can be redirected
or collected; one stuck in a busy hub can be dispatched with priority. The bot
offers the options as quick replies whose payload is the option's own phrase, so
every channel (buttons, WeChat numbered menus, typing) sends back the same text,
and :func:`parse_option` reads it exactly. Customers also type their own words
("帮我加急", "送到驿站我自己取", "我再等等", "rush it"): :func:`parse_choice` reads
those through :func:`bot.common.answers.read_delay_option`, and :func:`is_choice` tells
the NLU component which messages are plainly a choice whatever the context.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from datetime import datetime, timedelta

from bot.common import answers
from bot.common.clock import format_duration, format_time
from bot.common.i18n import LANGUAGES, text
from bot.policy.model import Policy
from bot.policy.offers import held_lateness
from bot.tracking import HoldReason, Shipment, Status
from bot.tracking.messages import lateness
from bot.tracking.waybill import find_waybills

KEEP_WAITING = "keep_waiting"
PRIORITY = "priority"
PICKUP = "pickup"
REDIRECT = "redirect"
OPTIONS = (KEEP_WAITING, PRIORITY, PICKUP, REDIRECT)

INTENT = "choose_delay_option"
"""Intent given to a message that is exactly one of the option phrases."""

_SYNONYMS = {
    KEEP_WAITING: ("继续等", "我再等等", "再等等", "等着吧", "wait", "keep waiting", "i'll wait", "i will wait"),
    PRIORITY: ("加急", "优先派送", "加急派送", "尽快派送", "priority", "priority dispatch", "expedite", "rush it"),
    PICKUP: ("自取", "网点自取", "我去自取", "去网点取", "改为网点自取", "pickup", "pick up", "collect at an outlet",
             "collect it myself", "self pickup"),
    REDIRECT: ("改派", "改地址", "改派地址", "换个地址", "redirect", "redirect to another address",
               "change address", "change the address"),
}  # fmt: skip
_PUNCTUATION = re.compile(r"[\s,.!?;:，。！？；：~～、\"'“”‘’()（）]+")


def _key(text: str) -> str:
    return _PUNCTUATION.sub(" ", unicodedata.normalize("NFKC", text or "").lower()).strip()


def title(option: str, lang: str) -> str:
    """The option's button label (``delay.option.<option>``)."""
    return text(f"delay.option.{option}", lang)


_PHRASES = {
    _key(phrase): option
    for option in OPTIONS
    for phrase in (*_SYNONYMS[option], title(option, "zh"), title(option, "en"))
}
_PHRASES.update({_key(f"{number} {title(o, lang)}"): o for number, o in enumerate(OPTIONS, 1) for lang in LANGUAGES})


def parse_option(text: str) -> str | None:
    """The option a message names, when the whole message is one of the option phrases.

    Args:
        text: What the customer sent (a button payload or typed text).

    Returns:
        One of :data:`OPTIONS`, or ``None`` for anything else.
    """
    return _PHRASES.get(_key(text))


def parse_choice(text: str, offered: Sequence[str] | None = None) -> str | None:
    """The option a reply names: an exact phrase, the customer's own words, or a number.

    Args:
        text: What the customer sent ("优先派送", "帮我加急", "送到驿站我自己取", "I'll wait").
        offered: The options offered, in the order shown (a bare number picks one).

    Returns:
        One of :data:`OPTIONS` (maybe one that was not offered), or ``None``.
    """
    return parse_option(text) or answers.read_delay_option(text, offered)


_MAX_CHOICE_CHARS = 40
"""Longer messages say more than a choice; NLU keeps them."""


def is_choice(text: str, decided: bool = False) -> bool:
    """Whether a message, seen without context, is plainly a delay choice.

    The exact phrases always are. Free text is when it names one option, is short,
    asks nothing ("能改地址吗？" is a question for the FAQ) and names no parcel (a
    number to look up is tracking); with ``decided``, it must also be worded as the
    customer's decision ("送到驿站我自己取", "换个地址吧", not "网点地址").

    Args:
        text: The message.
        decided: Require the wording of a decision.

    Returns:
        Whether the message can be taken as a choice.
    """
    if parse_option(text):
        return True
    if len(text or "") > _MAX_CHOICE_CHARS or find_waybills(text or "") or answers.asks(text):
        return False
    if decided and not answers.is_decision(text):
        return False
    return answers.read_delay_option(text) is not None


STALE_STATUSES = frozenset(
    {Status.PICKED_UP, Status.IN_TRANSIT, Status.AT_SORTING_CENTRE, Status.OUT_FOR_DELIVERY, Status.HELD,
     Status.DELIVERY_FAILED}
)  # fmt: skip
"""Statuses in which a parcel should keep moving: no scan for too long makes it late."""


def delay_of(shipment: Shipment, now: datetime, policy: Policy) -> tuple[timedelta | None, bool]:
    """How late a parcel is: past its promise, or held without a scan beyond the policy's threshold.

    Args:
        shipment: The shipment.
        now: The current time (aware).
        policy: The service policy (``delay.held_threshold_hours``).

    Returns:
        ``(delay, held_only)``: the larger of the two delays (``None`` when neither
        applies) and whether it comes from the hold alone (the promise has not passed).
    """
    promised = lateness(shipment, now)
    held: timedelta | None = None
    latest = shipment.latest
    if shipment.status in STALE_STATUSES and latest is not None:
        extra = held_lateness(policy, now - latest.time)
        held = extra if extra > timedelta(0) else None
    if held is not None and (promised is None or held > promised):
        return held, promised is None
    return promised, False


def stale_line(shipment: Shipment, now: datetime, policy: Policy, lang: str) -> str:
    """The apology for a parcel with no scan for longer than the policy allows."""
    latest = shipment.latest
    quiet = format_duration(now - latest.time, lang) if latest is not None else ""
    return text("delay.stale", lang, quiet=quiet, limit=format_duration(policy.delay.held_threshold, lang))


_MOVING_EARLY = frozenset({Status.PICKED_UP, Status.IN_TRANSIT, Status.AT_SORTING_CENTRE})


def options_for(shipment: Shipment) -> tuple[str, ...]:
    """The choices that exist for a late parcel, best first; none when waiting is the only way.

    Args:
        shipment: A late shipment that is not delivered.

    Returns:
        Options from :data:`OPTIONS`; empty when there is nothing to choose.
    """
    if shipment.status is Status.HELD:
        reason = shipment.hold_reason
        if reason is HoldReason.ADDRESS_PROBLEM:
            return (REDIRECT, PICKUP, KEEP_WAITING)
        if reason in (HoldReason.HOLIDAY_PEAK, HoldReason.CAPACITY):
            return (PRIORITY, PICKUP, KEEP_WAITING)
        return ()  # weather, customs: nobody can speed them up; we keep the customer posted
    if shipment.status in _MOVING_EARLY:
        return (PRIORITY, REDIRECT, KEEP_WAITING)
    if shipment.status is Status.OUT_FOR_DELIVERY:
        return (PICKUP, KEEP_WAITING)
    if shipment.status is Status.DELIVERY_FAILED:
        return (REDIRECT, PICKUP, KEEP_WAITING)
    return ()


def _listed(options: Sequence[str], lang: str, *, numbered: bool = False) -> str:
    titles = (f"{n} {title(o, lang)}" if numbered else title(o, lang) for n, o in enumerate(options, 1))
    return text("delay.list_separator", lang).join(titles)


def buttons(options: Sequence[str], lang: str) -> list[dict[str, str]]:
    """Quick replies for the options; the payload is the label itself (plain text)."""
    return [{"title": f"{n} {title(o, lang)}", "payload": title(o, lang)} for n, o in enumerate(options, 1)]


def prompt(options: Sequence[str], lang: str) -> str:
    """The question that introduces the options."""
    return text("delay.prompt", lang, options=_listed(options, lang))


def confirmation(option: str, waybill: str, ticket_id: str, by: datetime, lang: str) -> str:
    """What happens after the choice, and by when (``delay.confirm.<option>``)."""
    return text(f"delay.confirm.{option}", lang, waybill=waybill, ticket=ticket_id, by=format_time(by, lang))


def ask_again(options: Sequence[str], waybill: str, ticket_id: str, lang: str, *, last: bool = False) -> str:
    """The choice asked again: what is known (parcel, ticket), what is missing, how to answer."""
    asked = text(
        "delay.ask_again", lang, waybill=waybill, ticket=ticket_id, options=_listed(options, lang, numbered=True)
    )
    return asked + (text("delay.ask_again_last", lang) if last else "")


def gave_up(waybill: str, ticket_id: str, lang: str) -> str:
    """After three unreadable replies: the ticket stays open as it is, and a person is offered."""
    return text("delay.gave_up", lang, waybill=waybill, ticket=ticket_id)


def not_offered(options: Sequence[str], lang: str) -> str:
    """The customer picked something that is not available for this parcel."""
    if not options:
        return text("delay.not_offered.none", lang)
    return text("delay.not_offered.some", lang, options=_listed(options, lang))
