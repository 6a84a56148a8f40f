"""Looking parcels up and answering about them: the use case behind "where is my parcel".

A lookup has a deadline (the customer must hear something within 3 s). The answer about
a shipment depends on who asks (:mod:`bot.identity.ownership`): anyone who knows the number
gets the public status; a customer who proved the parcel is theirs also gets who signed,
a missing-parcel ticket (:mod:`bot.missing.service`) or the delay compensation and its
choices (:mod:`bot.delay.service`); anyone else is asked for the phone's last four digits
where the case needs them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot import services
from bot.delay import options as delay_options
from bot.delay import service as delay
from bot.identity import ownership
from bot.identity import proof as identity
from bot.identity.proof import OwnerCheck
from bot.missing import service as missing
from bot.proactive import watches
from bot.tickets.service import Requester
from bot.tracking.messages import describe_shipment
from bot.tracking.models import ProviderError, Shipment, Status
from bot.tracking.waybill import WaybillMatch

LOOKUP_DEADLINE = 2.5
"""Seconds a lookup may take before the customer gets an apology (must stay under 3 s)."""

MAX_ATTEMPTS = 3
"""Invalid numbers in a row before a form stops asking."""

GAVE_UP = "-"
"""Value of the ``waybill`` slot when the customer could not give a number."""

OWN_NUMBERS_KEPT = 20
"""How many of the customer's own recent numbers are kept (for typo suggestions)."""

MAX_NUMBERS_PER_MESSAGE = 10
"""Numbers answered from one message; a pasted list of 200 must not flood the provider."""


def remember(own: Sequence[str], numbers: Sequence[str]) -> list[str]:
    """Add numbers to the customer's own recent list, newest last, without repeats."""
    kept = [n for n in own if n not in numbers]
    return (kept + list(numbers))[-OWN_NUMBERS_KEPT:]


async def lookup(match: WaybillMatch) -> Shipment | None:
    """Look one number up within the deadline.

    Raises:
        ProviderError: The provider failed or was too slow.
    """
    try:
        return await asyncio.wait_for(services.provider().get(match.number, match.carriers), LOOKUP_DEADLINE)
    except asyncio.TimeoutError as exc:
        raise ProviderError("tracking provider timed out") from exc


async def find_by_phone(phone: str, name: str) -> list[Shipment]:
    """The shipments whose receiver phone and name both match, within the deadline.

    Raises:
        ProviderError: The provider failed or was too slow.
    """
    try:
        return list(await asyncio.wait_for(services.provider().find_by_phone(phone, name), LOOKUP_DEADLINE))
    except asyncio.TimeoutError as exc:
        raise ProviderError("tracking provider timed out") from exc


def safe_reason(error: BaseException) -> str:
    """A log-safe reason: provider errors carry no personal data by contract."""
    if isinstance(error, ProviderError):
        return str(error)
    return type(error).__name__


@dataclass(frozen=True)
class Answer:
    """The answer about one shipment.

    Attributes:
        text: The message (status, then any ticket, offer or request for proof).
        waybill: The shipment's number.
        ticket_id: The ticket opened or found, if any.
        options: Delay choices offered as quick replies (only with a ticket).
        check: The proof to ask for, if any.
    """

    text: str
    waybill: str
    ticket_id: str | None = None
    options: tuple[str, ...] = field(default=())
    check: OwnerCheck | None = None

    @property
    def choice(self) -> dict[str, Any] | None:
        """The ``delay_choice`` slot value when choices were offered."""
        return delay.Compensation([], self.ticket_id, self.options).choice_slot(self.waybill)

    def quick_replies(self, lang: str) -> list[dict[str, str]]:
        """The delay choices as quick replies (none when no choice is offered)."""
        return delay_options.buttons(self.options, lang) if self.choice else []


async def answer(
    requester: Requester, shipment: Shipment, lang: str, now: datetime, *, reported_missing: bool
) -> Answer:
    """Explain a shipment's status, and open the ticket the case needs.

    A customer who proved the parcel is theirs also gets who signed, and: a "not
    received" report on a lost or delivered parcel opens a missing-parcel ticket;
    otherwise a late parcel gets the policy's delay compensation (once per parcel,
    whoever asks) and, where they exist, choices (keep waiting, priority, pickup,
    redirect). Anyone else is asked for the last four digits of the receiver's phone
    where the case needs them, and hears no amount.

    Args:
        requester: The conversation and its channel.
        shipment: The shipment looked up.
        lang: ``"zh"`` or ``"en"``.
        now: The current time.
        reported_missing: Whether the customer reports the parcel missing.
    """
    extra: list[str] = []
    ticket_id: str | None = None
    options: tuple[str, ...] = ()
    check: OwnerCheck | None = None
    owner = await ownership.proven(requester.conversation_id, shipment)
    if reported_missing and shipment.status in missing.MISSING_STATUSES:
        if owner:
            extra, ticket_id = await missing.report_missing(requester, shipment, lang)
        else:
            check = OwnerCheck(shipment.waybill, "missing")
    elif delay.late_offer(shipment, now) is not None:
        if owner:
            found = await delay.compensate(requester, shipment, lang, now)
            extra, ticket_id, options = found.lines, found.ticket_id, found.options
        else:
            check = OwnerCheck(shipment.waybill, "delay")
    if check is None and not owner and shipment.status is Status.DELIVERED:
        check = OwnerCheck(shipment.waybill, "details")
    if check is not None:
        extra.append(identity.ask_text(check.purpose, lang))
    text = "\n".join([describe_shipment(shipment, lang, now, owner=owner), *extra])
    # watch the parcel for this customer from what they were just shown (never raises)
    await watches.watch_parcel(requester.conversation_id, requester.channel, shipment.waybill, lang, shipment)
    return Answer(text, shipment.waybill, ticket_id, options if ticket_id else (), check)
