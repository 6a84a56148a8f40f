"""Reading tickets: one, a conversation's, a parcel's, filtered lists, and a ticket's history.

:class:`TicketQueries` is the read half of :class:`bot.tickets.store.TicketStore`; rows
become :class:`~bot.tickets.models.Ticket` objects (with their evidence) here.
"""

from __future__ import annotations

import builtins
from datetime import datetime
from typing import Any, Iterable, Mapping

from sqlalchemy import or_, select
from sqlalchemy.engine import Connection, Row

from bot.tickets.database import TicketDatabase
from bot.tickets.models import (
    UNRESOLVED,
    Action,
    Decision,
    EvidenceItem,
    HistoryEntry,
    Ticket,
    TicketNotFound,
    TicketStatus,
    TicketType,
)
from bot.tickets.schema import ticket_evidence, ticket_history, tickets


class TicketQueries(TicketDatabase):
    """The read operations of the ticket store."""

    def get(self, ticket_id: str, *, conversation_id: str | None = None) -> Ticket | None:
        """Return a ticket, or ``None`` if unknown (or, with ``conversation_id``, not theirs)."""
        self._ensure_schema()
        with self._engine.connect() as conn:
            ticket = self._find(conn, ticket_id)
        if ticket is None or (conversation_id is not None and ticket.conversation_id != conversation_id):
            return None
        return ticket

    def for_conversation(self, conversation_id: str) -> builtins.list[Ticket]:
        """Return the tickets of one conversation (customer), newest first."""
        query = select(tickets).where(tickets.c.conversation_id == conversation_id)
        return self._query(query.order_by(tickets.c.created_at.desc(), tickets.c.id.desc()))

    def find_unresolved(self, conversation_id: str, type: TicketType | str, waybill: str | None) -> Ticket | None:
        """Return the conversation's newest ticket of this type and waybill that is not resolved or closed."""
        wanted = TicketType(type)
        for ticket in self.for_conversation(conversation_id):
            if (
                ticket.type is wanted
                and ticket.waybill == waybill
                and ticket.status not in (TicketStatus.RESOLVED, TicketStatus.CLOSED)
            ):
                return ticket
        return None

    def for_waybill(self, waybill: str, type: TicketType | str | None = None) -> builtins.list[Ticket]:
        """Every ticket about one parcel, whichever conversation opened it, newest first.

        Only for a customer who proved the parcel is theirs (``bot.identity.proof``) and for agents.
        """
        query = select(tickets).where(tickets.c.waybill == waybill)
        if type is not None:
            query = query.where(tickets.c.type == TicketType(type).value)
        return self._query(query.order_by(tickets.c.created_at.desc(), tickets.c.id.desc()))

    def history(self, ticket_id: str) -> builtins.list[HistoryEntry]:
        """Return a ticket's history, oldest first.

        Raises:
            TicketNotFound: Unknown id.
        """
        self._ensure_schema()
        with self._engine.connect() as conn:
            if conn.execute(select(tickets.c.id).where(tickets.c.id == ticket_id)).first() is None:
                raise TicketNotFound(ticket_id)
            rows = conn.execute(
                select(ticket_history).where(ticket_history.c.ticket_id == ticket_id).order_by(ticket_history.c.id)
            ).all()
        return [
            HistoryEntry(
                id=r.id,
                ticket_id=r.ticket_id,
                at=r.at,
                actor=r.actor,
                action=Action(r.action),
                from_status=None if r.from_status is None else TicketStatus(r.from_status),
                to_status=None if r.to_status is None else TicketStatus(r.to_status),
                note=r.note,
            )
            for r in rows
        ]

    def list(
        self,
        status: TicketStatus | str | None = None,
        type: TicketType | str | None = None,
        limit: int | None = 100,
    ) -> builtins.list[Ticket]:
        """Return tickets, newest first, optionally filtered by status and type.

        Args:
            status: Only this status.
            type: Only this type.
            limit: At most this many (``None``: all).
        """
        query = select(tickets)
        if status is not None:
            query = query.where(tickets.c.status == TicketStatus(status).value)
        if type is not None:
            query = query.where(tickets.c.type == TicketType(type).value)
        query = query.order_by(tickets.c.created_at.desc(), tickets.c.id.desc())
        if limit is not None:
            query = query.limit(limit)
        return self._query(query)

    def unresolved_past(self, now: datetime) -> builtins.list[Ticket]:
        """Unresolved tickets (open, in progress, waiting) with any deadline at or before ``now``, by id.

        What :mod:`bot.tickets.escalation` looks at: respond_by, resolve_by, escalate_by or update_after passed.
        """
        passed = or_(
            tickets.c.respond_by <= now,
            tickets.c.resolve_by <= now,
            tickets.c.escalate_by <= now,
            tickets.c.update_after <= now,
        )
        query = select(tickets).where(tickets.c.status.in_([s.value for s in UNRESOLVED]), passed)
        return self._query(query.order_by(tickets.c.id))

    def _load(self, conn: Connection, ticket_id: str) -> Ticket:
        ticket = self._find(conn, ticket_id)
        if ticket is None:
            raise TicketNotFound(ticket_id)
        return ticket

    def _find(self, conn: Connection, ticket_id: str) -> Ticket | None:
        row = conn.execute(select(tickets).where(tickets.c.id == ticket_id)).first()
        return None if row is None else _build([row], _evidence(conn, [ticket_id]))[0]

    def _query(self, query: Any) -> builtins.list[Ticket]:
        self._ensure_schema()
        with self._engine.connect() as conn:
            rows = conn.execute(query).all()
            evidence = _evidence(conn, [r.id for r in rows])
        return _build(rows, evidence)


def _evidence(conn: Connection, ticket_ids: Iterable[str]) -> dict[str, list[EvidenceItem]]:
    ids = list(ticket_ids)
    found: dict[str, list[EvidenceItem]] = {i: [] for i in ids}
    for start in range(0, len(ids), 500):
        rows = conn.execute(
            select(ticket_evidence)
            .where(ticket_evidence.c.ticket_id.in_(ids[start : start + 500]))
            .order_by(ticket_evidence.c.id)
        )
        for r in rows:
            found[r.ticket_id].append(
                EvidenceItem(sha256=r.sha256, kind=r.kind, path=r.path, size=r.size, content_type=r.content_type)
            )
    return found


def _build(rows: Iterable[Row], evidence: Mapping[str, list[EvidenceItem]]) -> list[Ticket]:
    result = []
    for r in rows:
        decision = None
        if r.decision_kind is not None:
            decision = Decision(kind=r.decision_kind, amount=r.decision_amount, reason_code=r.decision_reason_code)
        result.append(
            Ticket(
                id=r.id,
                type=TicketType(r.type),
                level=r.level,
                status=TicketStatus(r.status),
                conversation_id=r.conversation_id,
                channel=r.channel,
                waybill=r.waybill,
                summary=r.summary,
                respond_by=r.respond_by,
                resolve_by=r.resolve_by,
                escalate_by=r.escalate_by,
                update_after=r.update_after,
                decision=decision,
                created_at=r.created_at,
                updated_at=r.updated_at,
                evidence=tuple(evidence.get(r.id, ())),
                overdue_at=r.overdue_at,
                escalated_at=r.escalated_at,
                progress_updated_at=r.progress_updated_at,
            )
        )
    return result
