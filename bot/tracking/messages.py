"""Plain-language answers about a shipment, in Chinese and English.

Static replies live in the Rasa domain (``domain/*.yml``); this module writes the
replies that depend on shipment data. Every function takes ``lang`` (``"zh"`` or
``"en"``); the texts are the ``tracking.*`` keys of the catalogue (``bot/texts/<lang>/tracking.yml``).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Callable

from bot.common.clock import format_duration, format_time
from bot.common.i18n import in_language, text
from bot.tracking.models import HoldReason, Shipment, Status
from bot.tracking.waybill import CARRIERS

LATE_GRACE = timedelta(minutes=30)
"""A shipment counts as late once it is this much past its promised time."""

NEXT_STATUSES = frozenset(
    {Status.PICKED_UP, Status.IN_TRANSIT, Status.AT_SORTING_CENTRE, Status.OUT_FOR_DELIVERY, Status.DELIVERY_FAILED,
     Status.RETURNED}
)  # fmt: skip
"""Statuses with a "what happens next" line (``tracking.next.<status>``)."""

HOLD_NEXT_REASONS = frozenset({HoldReason.ADDRESS_PROBLEM, HoldReason.CUSTOMS_INSPECTION})
"""Hold reasons with a line on what the customer can do (``tracking.hold_next.<reason>``)."""


def status_text(status: Status, lang: str) -> str:
    """The status in a few words (``tracking.status.<status>``)."""
    return text(f"tracking.status.{status.value}", lang)


def carrier_name(code: str, lang: str) -> str:
    """The carrier's name for a code such as ``SF``, falling back to the code."""
    names = CARRIERS.get(code)
    return in_language(names, lang) if names else code


def lateness(shipment: Shipment, now: datetime) -> timedelta | None:
    """How late a shipment is against its promise, or ``None`` if it is not late.

    A delivered shipment is late when it was delivered after the promise; an
    undelivered one when the promise has passed.

    Args:
        shipment: The shipment.
        now: The current time (aware).

    Returns:
        The delay, or ``None`` when on time or when no promise is known.
    """
    if shipment.promised_at is None:
        return None
    reference = shipment.delivered_at if shipment.status is Status.DELIVERED else now
    if reference is None:
        return None
    delay = reference - shipment.promised_at
    return delay if delay > LATE_GRACE else None


def describe_shipment(shipment: Shipment, lang: str, now: datetime, *, owner: bool = True) -> str:
    """Explain a shipment's status in plain language.

    Covers the latest scan (where and when), what happens next, the ETA and
    whether it is late against the promise; held and exception statuses with
    their reason; for delivered shipments who signed and when, and what to do
    if the customer has not received it.

    Args:
        shipment: The shipment to explain.
        lang: ``"zh"`` or ``"en"``.
        now: The current time (aware), to judge lateness.
        owner: Whether the reader proved the parcel is theirs (``bot.identity.proof``) or is an
            agent. Without it a delivered parcel shows where and when, not who signed
            (the latest scan's text names the signer, so it is left out too).

    Returns:
        A multi-line message.
    """
    en = lang == "en"
    carrier = carrier_name(shipment.carrier, lang)
    status = status_text(shipment.status, lang)
    lines = [f"{carrier} {shipment.waybill}" + text("tracking.status_line", lang, status=status)]
    route = _route(shipment, lang)
    if route:
        lines.append(route)
    latest = shipment.latest
    private = not owner and shipment.status is Status.DELIVERED
    if latest is not None and private:
        when = format_time(latest.time, lang)
        if latest.location:
            lines.append(text("tracking.scan.delivered_placed", lang, when=when, location=latest.location))
        else:
            lines.append(text("tracking.scan.delivered", lang, when=when))
    elif latest is not None:
        when = format_time(latest.time, lang)
        values = {"when": when, "location": latest.location, "description": latest.description}
        if en or not (latest.description.startswith("【") or not latest.location):
            lines.append(text("tracking.scan.placed", lang, **values))
        else:  # Chinese scans often name the place in the description itself
            lines.append(text("tracking.scan.unplaced", lang, **values))
    detail = _detail_delivered_public if private else _STATUS_DETAIL.get(shipment.status, _detail_moving)
    lines.extend(detail(shipment, lang, now))
    return "\n".join(lines)


def _route(shipment: Shipment, lang: str) -> str:
    if not (shipment.origin and shipment.destination):
        return ""
    return text("tracking.route", lang, origin=shipment.origin, destination=shipment.destination)


def _late_line(shipment: Shipment, lang: str, now: datetime) -> str | None:
    delay = lateness(shipment, now)
    if shipment.promised_at is None:
        return None
    promised = format_time(shipment.promised_at, lang)
    if delay is None:
        if shipment.status is Status.DELIVERED:
            return text("tracking.promise.kept", lang)
        return text("tracking.promise.on_schedule", lang, promised=promised)
    return text("tracking.promise.late", lang, promised=promised, late=format_duration(delay, lang))


def _eta_line(shipment: Shipment, lang: str) -> str | None:
    if shipment.eta is None:
        return None
    return text("tracking.eta", lang, eta=format_time(shipment.eta, lang))


def _next_line(status: Status, lang: str) -> list[str]:
    return [text(f"tracking.next.{status.value}", lang)] if status in NEXT_STATUSES else []


def _detail_moving(shipment: Shipment, lang: str, now: datetime) -> list[str]:
    lines = _next_line(shipment.status, lang)
    for line in (_eta_line(shipment, lang), _late_line(shipment, lang, now)):
        if line:
            lines.append(line)
    if shipment.note and shipment.status is Status.DELIVERY_FAILED:
        lines.insert(0, text("tracking.reason", lang, note=shipment.note))
    return lines


def _detail_delivered(shipment: Shipment, lang: str, now: datetime) -> list[str]:
    when = format_time(shipment.delivered_at, lang) if shipment.delivered_at else ""
    signer = shipment.signed_by or text("tracking.signed.recipient", lang)
    if when:
        lines = [text("tracking.signed.at", lang, signer=signer, when=when)]
    else:
        lines = [text("tracking.signed.by", lang, signer=signer)]
    late = _late_line(shipment, lang, now)
    if late:
        lines.append(late)
    lines.append(text("tracking.not_received_hint", lang))
    return lines


def _detail_delivered_public(shipment: Shipment, lang: str, now: datetime) -> list[str]:
    """A delivered parcel for someone who has not proved it is theirs: when, not who signed."""
    when = format_time(shipment.delivered_at, lang) if shipment.delivered_at else ""
    lines = [text("tracking.delivered.at", lang, when=when) if when else text("tracking.delivered.plain", lang)]
    late = _late_line(shipment, lang, now)
    return [*lines, *([late] if late else []), text("tracking.not_received_hint", lang)]


def _detail_held(shipment: Shipment, lang: str, now: datetime) -> list[str]:
    reason = shipment.hold_reason
    if reason is None:
        lines = [text("tracking.held.plain", lang)]
    else:
        lines = [text("tracking.held.why", lang, reason=text(f"tracking.hold.{reason.value}", lang))]
        if reason in HOLD_NEXT_REASONS:
            lines.append(text(f"tracking.hold_next.{reason.value}", lang))
    for line in (_eta_line(shipment, lang), _late_line(shipment, lang, now)):
        if line:
            lines.append(line)
    return lines


def _detail_exception(shipment: Shipment, lang: str, now: datetime) -> list[str]:
    lines = []
    if shipment.note:
        lines.append(text("tracking.exception.details", lang, note=shipment.note))
    lines.append(text("tracking.exception.claim", lang))
    return lines


def _detail_returned(shipment: Shipment, lang: str, now: datetime) -> list[str]:
    lines = _detail_moving(shipment, lang, now)[:1]
    if shipment.note:
        lines.insert(0, text("tracking.reason", lang, note=shipment.note))
    return lines


_STATUS_DETAIL: dict[Status, Callable[[Shipment, str, datetime], list[str]]] = {
    Status.DELIVERED: _detail_delivered,
    Status.HELD: _detail_held,
    Status.LOST: _detail_exception,
    Status.DAMAGED: _detail_exception,
    Status.RETURNED: _detail_returned,
}


def not_found(raw: str, lang: str, suggestion: str | None = None) -> str:
    """Reply for a number the provider does not know.

    Args:
        raw: The number as the customer typed it.
        lang: ``"zh"`` or ``"en"``.
        suggestion: One of the customer's own numbers that looks like a typo
            fix, if any.

    Returns:
        The message with next steps.
    """
    head = text("tracking.not_found.head", lang, raw=raw)
    if suggestion:
        return head + text("tracking.not_found.suggest", lang, suggestion=suggestion)
    return head + text("tracking.not_found.check", lang)


def provider_down(lang: str) -> str:
    """Apology when tracking data cannot be fetched, with a next step."""
    return text("tracking.provider_down", lang)


def several_numbers(count: int, lang: str, limit: int | None = None) -> str:
    """Heading before one answer per number the customer sent.

    Args:
        count: How many numbers the message held.
        lang: ``"zh"`` or ``"en"``.
        limit: When set and smaller than ``count``, only the first ``limit`` are answered.
    """
    if limit is not None and count > limit:
        return text("tracking.several.numbers_limited", lang, count=count, limit=limit)
    return text("tracking.several.numbers", lang, count=count)


def several_found(count: int, lang: str) -> str:
    """Heading before one answer per shipment found for the customer."""
    return text("tracking.several.found", lang, count=count)
