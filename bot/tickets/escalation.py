"""Ticket promises kept: overdue marking, escalation and progress updates, one pass at a time.

A pass (:func:`escalate_once`) looks at every unresolved ticket with a passed deadline and
records, each exactly once, what the policy's deadlines ask for:

* **Overdue.** An unresolved ticket past ``resolve_by``, or still ``open`` (nobody has taken
  it) past ``respond_by``, is marked overdue (``overdue_at``, history ``overdue: past
  respond_by``/``resolve_by``) once, the first time it is found; supervisors get an
  :class:`Alert`. Taking a ticket (``in_progress``) is its first response.
* **Escalation.** An unresolved ticket whose ``escalate_by`` passed (the policy's
  ``escalate_within_minutes``: levels 1 and 2 as shipped) is escalated once
  (``escalated_at``): its level is raised one step towards 1 (2 -> 1; a level-1 ticket stays
  1 and is marked escalated: it goes to management), with a history entry and an
  :class:`Alert`. The deadlines are not recomputed: the promise made stays the promise.
* **Progress update.** An ``open`` or ``in_progress`` ticket whose ``update_after`` passed (the
  policy's ``update_if_open_after_minutes``: level 3 as shipped) gets one
  :class:`ProgressUpdate` for the customer per interval, the interval being the ticket's own
  ``update_after - created_at``; none while it waits for the customer.

Resolved and closed tickets never get anything. Running a pass twice at the same ``now`` does
nothing the second time: each step is re-checked on the locked row before it is recorded
(:meth:`~bot.tickets.store.TicketStore.record_escalation_step`), so concurrent passes on two
replicas record it once too.

Language: tickets do not store the customer's language, so a pass takes ``language_of``
(conversation id -> ``"zh"``/``"en"``/``None``); unknown means Chinese, the default.

The pass only records and reports: sending :class:`ProgressUpdate` texts through the
customer's channel and showing alerts in the console is the caller's job; :func:`post_alerts`
posts the alerts to the optional supervisor webhook (``ESCALATION_WEBHOOK_URL``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Callable, Sequence
from urllib.parse import urlsplit

import aiohttp

from bot.common.i18n import language, text
from bot.tickets.messages import type_text
from bot.tickets.models import UNRESOLVED, Action, Ticket, TicketStatus, ensure_utc
from bot.tickets.store import TicketStore

log = logging.getLogger(__name__)

MIN_UPDATE_INTERVAL = timedelta(minutes=1)
"""Progress updates never come closer together than this, whatever the deadlines say."""

_UPDATABLE = frozenset({TicketStatus.OPEN, TicketStatus.IN_PROGRESS})


@dataclass(frozen=True)
class Missed:
    """An unresolved ticket past a deadline: which one (``respond_by``/``resolve_by``) and when it was."""

    ticket: Ticket
    deadline: str
    due_at: datetime


@dataclass(frozen=True)
class Due:
    """What a pass at some moment has to do.

    Attributes:
        overdue: Tickets newly past a deadline (not yet marked), by ticket id.
        escalate: Tickets whose ``escalate_by`` passed and that are not escalated yet.
        progress: Tickets owed a progress update to the customer.
    """

    overdue: tuple[Missed, ...] = ()
    escalate: tuple[Ticket, ...] = ()
    progress: tuple[Ticket, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.overdue or self.escalate or self.progress)


@dataclass(frozen=True)
class Alert:
    """A supervisor alert: no personal data, only the ticket, its level, why and the missed deadline.

    ``reason`` is ``overdue:respond_by``, ``overdue:resolve_by`` or ``escalated``.
    """

    ticket_id: str
    level: int
    reason: str
    due_at: datetime

    def as_json(self) -> dict[str, object]:
        """The alert as the webhook posts it."""
        return {
            "ticket_id": self.ticket_id,
            "level": self.level,
            "reason": self.reason,
            "due_at": self.due_at.isoformat(),
        }


@dataclass(frozen=True)
class Escalation:
    """A ticket escalated by a pass: its level before and after, and the ``escalate_by`` it passed."""

    ticket_id: str
    from_level: int
    to_level: int
    due_at: datetime


@dataclass(frozen=True)
class ProgressUpdate:
    """A message for the customer whose ticket is still open, to send through their channel."""

    ticket_id: str
    conversation_id: str
    channel: str
    language: str
    text: str


@dataclass(frozen=True)
class EscalationReport:
    """What one pass did (everything in it is already recorded in the tickets' history)."""

    overdue: tuple[Missed, ...] = ()
    escalated: tuple[Escalation, ...] = ()
    progress: tuple[ProgressUpdate, ...] = ()
    alerts: tuple[Alert, ...] = ()

    def lines(self) -> list[str]:
        """One line per action, for the CLI and logs (no customer text, no personal data)."""
        out = [
            f"overdue    {m.ticket.id}  L{m.ticket.level}  past {m.deadline} {m.due_at.isoformat()}"
            for m in self.overdue
        ]
        out += [
            f"escalated  {e.ticket_id}  L{e.from_level} -> L{e.to_level}  due {e.due_at.isoformat()}"
            for e in self.escalated
        ]
        out += [f"progress   {p.ticket_id}  {p.channel}  {p.language}" for p in self.progress]
        return out


def missed_deadline(ticket: Ticket, now: datetime) -> Missed | None:
    """The earliest deadline an unresolved ticket has missed at ``now``, if any.

    ``respond_by`` counts only while the ticket is ``open``; ``resolve_by`` while it is unresolved.
    """
    if ticket.status not in UNRESOLVED:
        return None
    candidates = [("resolve_by", ticket.resolve_by)]
    if ticket.status is TicketStatus.OPEN:
        candidates.insert(0, ("respond_by", ticket.respond_by))
    passed = [(due, name) for name, due in candidates if due <= now]
    if not passed:
        return None
    due, name = min(passed)
    return Missed(ticket=ticket, deadline=name, due_at=due)


def update_interval(ticket: Ticket) -> timedelta | None:
    """Time between progress updates: the ticket's ``update_after - created_at`` (``None``: no updates)."""
    if ticket.update_after is None:
        return None
    return max(ticket.update_after - ticket.created_at, MIN_UPDATE_INTERVAL)


def _newly_overdue(ticket: Ticket, now: datetime) -> Missed | None:
    return None if ticket.overdue_at is not None else missed_deadline(ticket, now)


def _to_escalate(ticket: Ticket, now: datetime) -> bool:
    return (
        ticket.status in UNRESOLVED
        and ticket.escalated_at is None
        and ticket.escalate_by is not None
        and ticket.escalate_by <= now
    )


def _owes_progress(ticket: Ticket, now: datetime) -> bool:
    interval = update_interval(ticket)
    if ticket.status not in _UPDATABLE or interval is None or ticket.update_after is None:
        return False
    if ticket.update_after > now:
        return False
    return ticket.progress_updated_at is None or ticket.progress_updated_at + interval <= now


def _still_overdue(ticket: Ticket, now: datetime) -> bool:
    return _newly_overdue(ticket, now) is not None


def _still_to_escalate(ticket: Ticket, now: datetime, level: int) -> bool:
    return _to_escalate(ticket, now) and ticket.level == level


def find_due(store: TicketStore, now: datetime) -> Due:
    """What a pass at ``now`` would do; reads only.

    Args:
        store: The ticket store.
        now: The moment (aware).
    """
    now = ensure_utc(now, "now")
    tickets = store.unresolved_past(now)
    return Due(
        overdue=tuple(m for m in (_newly_overdue(t, now) for t in tickets) if m is not None),
        escalate=tuple(t for t in tickets if _to_escalate(t, now)),
        progress=tuple(t for t in tickets if _owes_progress(t, now)),
    )


def overdue(store: TicketStore, now: datetime) -> list[Missed]:
    """Every unresolved ticket past a deadline at ``now``, marked or not, oldest missed deadline first."""
    now = ensure_utc(now, "now")
    found = [m for m in (missed_deadline(t, now) for t in store.unresolved_past(now)) if m is not None]
    return sorted(found, key=lambda m: (m.due_at, m.ticket.id))


def progress_text(ticket: Ticket, lang: str) -> str:
    """The progress message for a ticket's customer (``tickets.progress_update``)."""
    return text("tickets.progress_update", lang, ticket=ticket.id, type=type_text(ticket.type, lang))


def escalate_once(
    store: TicketStore,
    now: datetime,
    *,
    language_of: Callable[[str], str | None] | None = None,
) -> EscalationReport:
    """Run one pass at ``now``: mark overdue tickets, escalate, record progress updates.

    Blocking (database); call through ``asyncio.to_thread`` from async code.

    Args:
        store: The ticket store.
        now: The moment of the pass (aware); also the time recorded in the history.
        language_of: The customer's language by conversation id (``None``/unknown: Chinese).

    Returns:
        What was done, with the customer messages to send and the supervisor alerts.
    """
    now = ensure_utc(now, "now")
    due = find_due(store, now)
    overdue_done: list[Missed] = []
    escalated: list[Escalation] = []
    progress: list[ProgressUpdate] = []
    alerts: list[Alert] = []
    for missed in due.overdue:
        ticket = store.record_escalation_step(
            missed.ticket.id,
            action=Action.OVERDUE,
            at=now,
            note=f"overdue: past {missed.deadline} {missed.due_at.isoformat()}",
            still_due=partial(_still_overdue, now=now),
        )
        if ticket is not None:
            overdue_done.append(Missed(ticket, missed.deadline, missed.due_at))
            alerts.append(Alert(ticket.id, ticket.level, f"overdue:{missed.deadline}", missed.due_at))
    for candidate in due.escalate:
        to_level = max(1, candidate.level - 1)
        ticket = store.record_escalation_step(
            candidate.id,
            action=Action.ESCALATED,
            at=now,
            note=f"escalated: level {candidate.level} -> {to_level}, past escalate_by",
            still_due=partial(_still_to_escalate, now=now, level=candidate.level),
            level=to_level,
        )
        if ticket is not None and candidate.escalate_by is not None:
            escalated.append(Escalation(ticket.id, candidate.level, ticket.level, candidate.escalate_by))
            alerts.append(Alert(ticket.id, ticket.level, "escalated", candidate.escalate_by))
    for candidate in due.progress:
        ticket = store.record_escalation_step(
            candidate.id,
            action=Action.PROGRESS_UPDATE,
            at=now,
            note="progress update due to the customer (in the pass report)",
            still_due=partial(_owes_progress, now=now),
        )
        if ticket is not None:
            lang = language(language_of(ticket.conversation_id) if language_of else None)
            progress.append(
                ProgressUpdate(ticket.id, ticket.conversation_id, ticket.channel, lang, progress_text(ticket, lang))
            )
    return EscalationReport(tuple(overdue_done), tuple(escalated), tuple(progress), tuple(alerts))


async def post_alerts(url: str, alerts: Sequence[Alert], *, timeout: float = 5.0) -> bool:
    """Post supervisor alerts to a webhook as ``{"alerts": [...]}``; never raises.

    Args:
        url: The webhook (``ESCALATION_WEBHOOK_URL``).
        alerts: The alerts; none means nothing is posted.
        timeout: Seconds for the whole request.

    Returns:
        ``True`` when the webhook answered 2xx (or there was nothing to post). Failures are
        logged with the webhook's host and the error type only: no path, token or ticket text.
    """
    if not alerts:
        return True
    host = urlsplit(url).hostname or "?"
    payload = {"alerts": [a.as_json() for a in alerts]}
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout)) as session:
            async with session.post(url, json=payload) as response:
                if 200 <= response.status < 300:
                    return True
                log.warning("escalation webhook on %s answered %d for %d alerts", host, response.status, len(alerts))
    except Exception as exc:  # noqa: BLE001 - an alert channel must never break the pass
        log.warning("escalation webhook on %s failed: %s (%d alerts)", host, type(exc).__name__, len(alerts))
    return False
