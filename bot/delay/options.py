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
from bot.common.i18n import in_language
from bot.policy.model import Policy, held_lateness
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

_TITLES = {
    KEEP_WAITING: ("继续等待", "Keep waiting"),
    PRIORITY: ("优先派送", "Priority dispatch"),
    PICKUP: ("改为网点自取", "Collect at an outlet"),
    REDIRECT: ("改派地址", "Redirect to another address"),
}
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


_PHRASES = {_key(phrase): option for option in OPTIONS for phrase in (*_SYNONYMS[option], *_TITLES[option])}
_PHRASES.update(
    {
        _key(f"{number} {in_language(_TITLES[o], lang)}"): o
        for number, o in enumerate(OPTIONS, 1)
        for lang in ("zh", "en")
    }
)


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
    limit = format_duration(policy.delay.held_threshold, lang)
    if lang == "en":
        return (
            f"Even though the promised time has not passed, the parcel has had no scan for {quiet}, longer "
            f"than our {limit} standard. I'm sorry: we treat it as delayed."
        )
    return (
        f"虽然还在承诺时效内，但包裹已有 {quiet} 没有新的物流记录，超过了我们 {limit} 的标准，"
        "非常抱歉，我们按延误为您处理。"
    )


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


def title(option: str, lang: str) -> str:
    """The option's button label."""
    return in_language(_TITLES[option], lang)


def buttons(options: Sequence[str], lang: str) -> list[dict[str, str]]:
    """Quick replies for the options; the payload is the label itself (plain text)."""
    return [{"title": f"{n} {title(o, lang)}", "payload": title(o, lang)} for n, o in enumerate(options, 1)]


def prompt(options: Sequence[str], lang: str) -> str:
    """The question that introduces the options."""
    listed = (" / " if lang == "en" else "、").join(title(o, lang) for o in options)
    if lang == "en":
        return f"What would you like us to do? You can choose: {listed}."
    return f"您希望我们怎么处理？可以选择：{listed}。"


_CONFIRM = {
    KEEP_WAITING: ("好的，我们会继续跟进这个包裹 {waybill}，有新进展会第一时间通知您（工单 {ticket}）。",
                   "OK. We'll keep following parcel {waybill} and tell you as soon as it moves (ticket {ticket})."),
    PRIORITY: ("已为包裹 {waybill} 申请优先派送，网点会在 {by} 前安排加急处理（工单 {ticket}）。",
               "I've asked for priority dispatch of {waybill}; the outlet will expedite it by {by} (ticket {ticket})."),
    PICKUP: ("已为包裹 {waybill} 登记改为网点自取，网点会在 {by} 前把取件地址和取件码发给您（工单 {ticket}）。",
             "I've registered {waybill} for collection at an outlet; you'll get the address and pickup code by "
             "{by} (ticket {ticket})."),
    REDIRECT: ("已为包裹 {waybill} 登记改派，客服会在 {by} 前联系您确认新地址（工单 {ticket}）。",
               "I've registered a redirect for {waybill}; an agent will contact you by {by} to confirm the new "
               "address (ticket {ticket})."),
}  # fmt: skip


def confirmation(option: str, waybill: str, ticket_id: str, by: datetime, lang: str) -> str:
    """What happens after the choice, and by when."""
    return in_language(_CONFIRM[option], lang).format(waybill=waybill, ticket=ticket_id, by=format_time(by, lang))


def ask_again(options: Sequence[str], waybill: str, ticket_id: str, lang: str, *, last: bool = False) -> str:
    """The choice asked again: what is known (parcel, ticket), what is missing, how to answer."""
    listed = (" / " if lang == "en" else "、").join(f"{n} {title(o, lang)}" for n, o in enumerate(options, 1))
    if lang == "en":
        text = (
            f"Sorry, I couldn't tell which option you meant. So far: parcel {waybill} is late and ticket "
            f"{ticket_id} is open. Still needed: what you'd like us to do — {listed} (the number is enough)."
        )
        return text + (' You can also say "human agent".' if last else "")
    text = (
        f"抱歉，没能看出您选的是哪一项。我记下了：包裹 {waybill} 延误，工单 {ticket_id} 已登记。"
        f"还需要确认：您希望怎么处理？可以选择 {listed}（回复序号也可以）。"
    )
    return text + ("也可以回复“转人工”。" if last else "")


def gave_up(waybill: str, ticket_id: str, lang: str) -> str:
    """After three unreadable replies: the ticket stays open as it is, and a person is offered."""
    if lang == "en":
        return (
            f"Sorry, I still couldn't tell which option you meant. We'll keep following parcel {waybill} "
            f'under ticket {ticket_id}; say "human agent" if you\'d like a person to arrange something else.'
        )
    return (
        f"抱歉，还是没能看出您选的是哪一项。我们会继续跟进包裹 {waybill}（工单 {ticket_id}），"
        "如需其他处理方式，请回复“转人工”。"
    )


def not_offered(options: Sequence[str], lang: str) -> str:
    """The customer picked something that is not available for this parcel."""
    if not options:
        if lang == "en":
            return "There is nothing to choose for this parcel right now; we'll keep you posted."
        return "这个包裹目前没有其他处理方式可选，我们会持续跟进并通知您。"
    listed = (" / " if lang == "en" else "、").join(title(o, lang) for o in options)
    if lang == "en":
        return f"That option isn't available for this parcel. You can choose: {listed}."
    return f"这个包裹暂时不能这样处理，可以选择：{listed}。"
