"""What the customer is told about a handoff: transfer, agents offline, all busy, wait expired.

Every text is a key of the ``handoff`` catalogue (``bot/texts/<lang>/handoff.yml``);
these functions only pick the keys and fill them in.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.common import i18n
from bot.common.clock import format_duration, format_time


def customer_notice(ticket_id: str, wait: timedelta, opening: datetime, now: datetime, lang: str) -> str:
    """What happens next, told to the customer when the conversation goes to a human.

    Args:
        ticket_id: The handoff ticket.
        wait: Expected wait within business hours (:func:`bot.handoff.rules.expected_wait`).
        opening: :func:`bot.handoff.rules.next_opening` for ``now``.
        now: The current time.
        lang: ``"zh"`` or ``"en"``.
    """
    if opening <= now:
        if wait >= timedelta(hours=1):
            span = format_duration(wait, lang)
        else:
            span = i18n.text("handoff.notice.minutes", lang, minutes=max(1, int(wait.total_seconds() // 60)))
        return i18n.text("handoff.notice.transfer", lang, span=span, ticket_id=ticket_id)
    return i18n.text("handoff.notice.offline", lang, ticket_id=ticket_id, when=format_time(opening, lang))


def busy_notice(ticket_id: str, lang: str) -> str:
    """The queue is full when the bot hands over: the bot keeps serving, the ticket is followed up.

    Args:
        ticket_id: The handoff ticket (``-`` when none could be recorded).
        lang: The conversation's language.
    """
    if ticket_id != "-":
        ticket = i18n.text("handoff.busy.kept_ticket", lang, ticket_id=ticket_id)
    else:
        ticket = i18n.text("handoff.busy.kept_no_ticket", lang)
    return i18n.text("handoff.busy.kept", lang, ticket=ticket)


def _both(notice: str, ticket_id: str, ticket_key: str, language: str | None) -> str:
    """``notice`` in ``language``, or Chinese then English when the language is unknown."""
    texts = []
    for lang in ("zh", "en") if language not in ("zh", "en") else (language,):
        if ticket_id.startswith("TK-"):
            ticket = i18n.text(ticket_key, lang, ticket_id=ticket_id)
        else:
            ticket = i18n.text("handoff.expired.no_ticket", lang)
        texts.append(i18n.text(notice, lang, ticket=ticket))
    return "\n".join(texts)


def expired_notice(ticket_id: str, language: str | None) -> str:
    """The message a customer gets when their wait for an agent expired.

    Args:
        ticket_id: The handoff ticket (``-`` when none could be recorded).
        language: ``zh``, ``en``, or None (unknown: both).
    """
    return _both("handoff.expired.resumed", ticket_id, "handoff.expired.ticket", language)


def refused_notice(ticket_id: str, language: str | None) -> str:
    """The message a customer gets when a full queue refused their handoff after the bot paused.

    Args:
        ticket_id: The handoff ticket (``-`` when none could be recorded).
        language: ``zh``, ``en``, or None (unknown: both).
    """
    return _both("handoff.busy.resumed", ticket_id, "handoff.busy.resumed_ticket", language)
