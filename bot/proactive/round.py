"""One proactive round: watched parcels scanned, ticket promises kept, everything queued.

:func:`run_round` is what the running assistant does on its schedule (and what
``python -m bot.proactive scan`` does once): end expired watches, scan the watched parcels
(:func:`bot.proactive.scan.scan_once`), run the ticket escalation pass
(:func:`bot.tickets.escalation.escalate_once`) and put each ticket's progress message in
the same outbox as the parcel notices, so quiet hours and delivery treat both alike.
Nothing is sent here: the HTTP edge drains the outbox (:mod:`connectors.proactive.runner`).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime

from bot.policy.model import Policy
from bot.proactive.models import NewNotice, QueuedNotice
from bot.proactive.quiet import quiet_until
from bot.proactive.scan import scan_once
from bot.proactive.store import ProactiveStore
from bot.tickets import TicketStore
from bot.tickets.escalation import EscalationReport, ProgressUpdate, escalate_once
from bot.tracking.models import TrackingProvider

logger = logging.getLogger(__name__)

PROGRESS_KIND = "ticket_progress"
"""The notice kind of a ticket's progress message."""


@dataclass(frozen=True)
class Round:
    """What one round queued and did."""

    notices: tuple[QueuedNotice, ...]
    escalation: EscalationReport
    progress: tuple[QueuedNotice, ...]
    expired_watches: int


def _language_of(store: ProactiveStore, conversation_id: str) -> str | None:
    """The language of the conversation's latest watch, if it watches anything."""
    watched = store.watches_of(conversation_id)
    return watched[-1].language if watched else None


def progress_notice(update: ProgressUpdate, waybill: str | None, now: datetime, policy: Policy) -> NewNotice:
    """The outbox entry for a ticket's progress message (held by quiet hours like any notice)."""
    return NewNotice(
        conversation_id=update.conversation_id,
        channel=update.channel,
        waybill=waybill or update.ticket_id,
        kind=PROGRESS_KIND,
        change_key=f"progress:{update.ticket_id}:{now.strftime('%Y%m%dT%H%M%S')}",
        language=update.language,
        text=update.text,
        created_at=now,
        due_at=quiet_until(now, policy),
    )


def _escalate(store: ProactiveStore, tickets: TicketStore, now: datetime) -> EscalationReport:
    return escalate_once(tickets, now, language_of=lambda conversation: _language_of(store, conversation))


async def run_round(
    store: ProactiveStore, provider: TrackingProvider, policy: Policy, tickets: TicketStore, now: datetime
) -> Round:
    """Run one round at ``now`` (see the module docstring); a failing part is logged, not raised.

    Args:
        store: The proactive store (watches and the outbox).
        provider: The tracking provider.
        policy: The service policy (``proactive`` and ``tickets`` sections).
        tickets: The ticket store.
        now: The moment of the round (aware).
    """
    expired = await asyncio.to_thread(store.end_expired, now)
    try:
        notices = tuple(await scan_once(store, provider, policy, now))
    except Exception as exc:  # a broken scan must not stop the ticket promises
        logger.error("proactive scan failed: %s", type(exc).__name__)
        notices = ()
    try:
        report = await asyncio.to_thread(_escalate, store, tickets, now)
    except Exception as exc:
        logger.error("ticket escalation failed: %s", type(exc).__name__)
        report = EscalationReport()
    progress = []
    for update in report.progress:
        ticket = await asyncio.to_thread(tickets.get, update.ticket_id)
        waybill = ticket.waybill if ticket is not None else None
        queued = await asyncio.to_thread(store.add, progress_notice(update, waybill, now, policy))
        if queued is not None:
            progress.append(queued)
    return Round(notices, report, tuple(progress), expired)
