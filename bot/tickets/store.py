"""The ticket store: opening tickets and changing them (status, evidence, decision, notes).

``TicketStore`` is synchronous and thread-safe: every call takes its own pooled
connection and transaction. Async callers wrap calls in ``asyncio.to_thread``.
Nothing touches the database until the first call; the schema is created (or
migrated) then, or explicitly with :meth:`TicketStore.create_schema`.

The store is assembled from one module per idea: the connection and schema
(:mod:`bot.tickets.database`, :mod:`bot.tickets.schema`), the reads
(:mod:`bot.tickets.queries`), proofs of parcel ownership (:mod:`bot.tickets.proofs`),
CSV export (:mod:`bot.tickets.export`) and, here, the writes.

Ticket ids look like ``TK-20261123-0042``: the day (in ``id_timezone``,
Beijing time by default) and a per-day sequence allocated from the
``ticket_counters`` table in the same transaction as the insert, so ids stay
unique and gap-free across threads, processes and replicas.

Environment (``store_from_env``):

* ``TICKETS_DB_URL``: SQLAlchemy URL, e.g. ``postgresql+psycopg2://user@host/db``;
  default ``sqlite:///<project>/var/tickets.db``.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, Callable, Mapping, TextIO

from sqlalchemy import insert, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Row

from bot.common.redaction import mask_phones
from bot.settings import Settings
from bot.tickets.export import write_csv
from bot.tickets.models import (
    LEVELS,
    Action,
    Decision,
    EvidenceItem,
    NewTicket,
    Ticket,
    TicketClosed,
    TicketNotFound,
    TicketStatus,
    TicketType,
    check_transition,
    ensure_utc,
    required_text,
)
from bot.tickets.proofs import ProofRecords
from bot.tickets.queries import TicketQueries
from bot.tickets.schema import CENT, ticket_counters, ticket_evidence, ticket_history, tickets

ESCALATION_ACTOR = "system:escalation"
"""The history actor of what :mod:`bot.tickets.escalation` records."""
_STEP_COLUMNS = {Action.OVERDUE: "overdue_at", Action.ESCALATED: "escalated_at"}
_STEP_COLUMNS[Action.PROGRESS_UPDATE] = "progress_updated_at"

if TYPE_CHECKING:  # typing_extensions is only needed by the type checker on Python 3.10
    from typing_extensions import Unpack


def ticket_columns(fields: Mapping[str, Any]) -> tuple[dict[str, Any], str, str]:
    """Check the fields of a new ticket (:class:`NewTicket`): its column values, the actor and the note.

    Raises:
        TypeError: A field :class:`NewTicket` does not have, or a required one missing.
        ValueError: Unknown type, bad level, empty fields or naive deadlines.
    """
    unknown = sorted(set(fields) - set(NewTicket.__annotations__))
    missing = sorted(NewTicket.__required_keys__ - set(fields))
    if unknown or missing:
        raise TypeError(f"a new ticket has no field {unknown[0]!r}" if unknown else f"a new ticket needs {missing}")
    level = fields["level"]
    if level not in LEVELS:
        raise ValueError(f"level must be one of {LEVELS}, got {level!r}")
    deadlines = fields["deadlines"]
    values = {
        "type": TicketType(fields["type"]).value,
        "level": level,
        "status": TicketStatus.OPEN.value,
        "conversation_id": required_text(fields["conversation_id"], "conversation_id", 255),
        "channel": required_text(fields["channel"], "channel", 64),
        "waybill": (fields.get("waybill") or "").strip() or None,
        # agents and exports never see a full number
        "summary": mask_phones(required_text(fields["summary"], "summary", 10_000)),
        "respond_by": ensure_utc(deadlines.respond_by, "respond_by"),
        "resolve_by": ensure_utc(deadlines.resolve_by, "resolve_by"),
        "escalate_by": None if deadlines.escalate_by is None else ensure_utc(deadlines.escalate_by, "escalate_by"),
        "update_after": (
            None if deadlines.update_after is None else ensure_utc(deadlines.update_after, "update_after")
        ),
    }
    return values, required_text(fields.get("actor", "bot"), "actor", 128), fields.get("note", "")


class TicketStore(TicketQueries, ProofRecords):
    """Tickets, their evidence, decisions and append-only history in a SQL database.

    Args:
        url: SQLAlchemy URL; ``sqlite:///path`` (parent directory created) or
            ``postgresql+psycopg2://...``.
        id_timezone: Timezone whose calendar day goes into ticket ids.
        clock: Returns "now" (aware); injectable for tests.
        auto_schema: Create/migrate the schema on first use.
    """

    def open(self, **fields: Unpack[NewTicket]) -> Ticket:
        """Open a new ticket and record its creation in the history.

        Args:
            **fields: The ticket's :class:`~bot.tickets.models.NewTicket` fields.

        Returns:
            The stored ticket, status ``open``.

        Raises:
            ValueError: Unknown type, bad level, empty fields or naive deadlines.
        """
        columns = ticket_columns(fields)
        self._ensure_schema()
        with self._engine.begin() as conn:
            ticket_id = self._insert(conn, columns)
            return self._load(conn, ticket_id)

    def open_once_per_parcel(
        self, *, decision: Decision | None = None, **fields: Unpack[NewTicket]
    ) -> tuple[Ticket, bool]:
        """Open a ticket for a parcel unless one of this type already exists for it, from anyone.

        The check and the insert share one transaction (SQLite: the write lock taken at
        BEGIN; PostgreSQL: an advisory lock on the parcel), so two conversations asking at
        the same moment still get one ticket: one compensation per parcel, whoever asks.

        Args:
            decision: The policy decision recorded with a new ticket.
            **fields: The ticket's :class:`~bot.tickets.models.NewTicket` fields; ``waybill`` is required.

        Returns:
            The ticket, and ``True`` when it was opened now (``False``: it existed).
        """
        waybill = required_text(fields.get("waybill") or "", "waybill", 64)
        columns = ticket_columns({**fields, "waybill": waybill})
        values, actor, _ = columns
        self._ensure_schema()
        with self._engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:a, hashtext(:w))"), {"a": 7_420, "w": waybill})
            existing = conn.execute(
                select(tickets.c.id)
                .where(tickets.c.waybill == waybill, tickets.c.type == values["type"])
                .order_by(tickets.c.created_at.desc(), tickets.c.id.desc())
                .limit(1)
            ).scalar_one_or_none()
            if existing is not None:
                return self._load(conn, existing), False
            ticket_id = self._insert(conn, columns)
            if decision is not None:
                self._decide(conn, ticket_id, decision, actor, "")
            return self._load(conn, ticket_id), True

    def transition(self, ticket_id: str, new_status: TicketStatus | str, actor: str, note: str = "") -> Ticket:
        """Move a ticket to ``new_status`` if the state machine allows it.

        Raises:
            TicketNotFound: Unknown id.
            InvalidTransition: The change is not allowed (nothing is written).
            ValueError: ``new_status`` is not a status at all.
        """
        target = TicketStatus(new_status)
        actor = required_text(actor, "actor", 128)
        self._ensure_schema()
        with self._engine.begin() as conn:
            row = self._lock_row(conn, ticket_id)
            current = TicketStatus(row.status)
            check_transition(ticket_id, current, target)
            now = self._now()
            conn.execute(update(tickets).where(tickets.c.id == ticket_id).values(status=target.value, updated_at=now))
            self._log(conn, ticket_id, now, actor, Action.STATUS_CHANGED, current, target, note)
            return self._load(conn, ticket_id)

    def add_evidence(self, ticket_id: str, item: EvidenceItem, actor: str, note: str = "") -> Ticket:
        """Attach a piece of evidence; the same content (sha256) twice is a no-op.

        Raises:
            TicketNotFound: Unknown id.
            TicketClosed: The ticket is closed.
        """
        actor = required_text(actor, "actor", 128)
        self._ensure_schema()
        with self._engine.begin() as conn:
            row = self._lock_writable_row(conn, ticket_id)
            known = conn.execute(
                select(ticket_evidence.c.id).where(
                    ticket_evidence.c.ticket_id == ticket_id, ticket_evidence.c.sha256 == item.sha256
                )
            ).first()
            if known is None:
                now = self._now()
                conn.execute(
                    insert(ticket_evidence).values(
                        ticket_id=ticket_id,
                        sha256=item.sha256,
                        kind=item.kind,
                        path=item.path,
                        size=item.size,
                        content_type=item.content_type,
                        added_at=now,
                    )
                )
                conn.execute(update(tickets).where(tickets.c.id == ticket_id).values(updated_at=now))
                status = TicketStatus(row.status)
                detail = f"{item.kind} {item.sha256[:12]} {item.size} B" + (f": {note}" if note else "")
                self._log(conn, ticket_id, now, actor, Action.EVIDENCE_ADDED, status, status, detail)
            return self._load(conn, ticket_id)

    def set_decision(self, ticket_id: str, decision: Decision, actor: str, note: str = "") -> Ticket:
        """Record (or replace) the policy decision of a ticket.

        Raises:
            TicketNotFound: Unknown id.
            TicketClosed: The ticket is closed.
        """
        actor = required_text(actor, "actor", 128)
        self._ensure_schema()
        with self._engine.begin() as conn:
            self._decide(conn, ticket_id, decision, actor, note)
            return self._load(conn, ticket_id)

    def add_note(self, ticket_id: str, note: str, actor: str) -> Ticket:
        """Append a note to the ticket's history (e.g. the customer's choice); the status stays.

        Raises:
            TicketNotFound: Unknown id.
            TicketClosed: The ticket is closed.
            ValueError: An empty note.
        """
        note = mask_phones(required_text(note, "note", 10_000))
        actor = required_text(actor, "actor", 128)
        self._ensure_schema()
        with self._engine.begin() as conn:
            row = self._lock_writable_row(conn, ticket_id)
            now = self._now()
            conn.execute(update(tickets).where(tickets.c.id == ticket_id).values(updated_at=now))
            status = TicketStatus(row.status)
            self._log(conn, ticket_id, now, actor, Action.NOTE_ADDED, status, status, note)
            return self._load(conn, ticket_id)

    def record_escalation_step(
        self,
        ticket_id: str,
        *,
        action: Action,
        at: datetime,
        note: str,
        still_due: Callable[[Ticket], bool],
        level: int | None = None,
    ) -> Ticket | None:
        """Record one step of :mod:`bot.tickets.escalation` once: its column, the level, a history line.

        ``action`` (``OVERDUE``, ``ESCALATED`` or ``PROGRESS_UPDATE``) names the column set to ``at``
        (``overdue_at``, ``escalated_at``, ``progress_updated_at``); ``at`` is also the history time.
        The row is locked and ``still_due`` asked again on it inside the transaction, so passes
        running at once (two replicas) record a step once. ``updated_at`` stays: not an agent's change.

        Returns:
            The ticket after the step, or ``None`` when it was no longer due (nothing written).

        Raises:
            TicketNotFound: Unknown id.
            KeyError: ``action`` is not an escalation step.
        """
        column = _STEP_COLUMNS[action]
        at = ensure_utc(at, "at")
        self._ensure_schema()
        with self._engine.begin() as conn:
            row = self._lock_row(conn, ticket_id)
            if not still_due(self._load(conn, ticket_id)):
                return None
            values: dict[str, Any] = {column: at}
            if level is not None and level != row.level:
                values["level"] = level
            conn.execute(update(tickets).where(tickets.c.id == ticket_id).values(**values))
            status = TicketStatus(row.status)
            self._log(conn, ticket_id, at, ESCALATION_ACTOR, action, status, status, note)
            return self._load(conn, ticket_id)

    def export_csv(
        self,
        fileobj: TextIO,
        *,
        status: TicketStatus | str | None = None,
        type: TicketType | str | None = None,
    ) -> int:
        """Write tickets (oldest first) as CSV with a header row; return the number of tickets.

        Cells a spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@``...) get a leading ``'``.
        """
        return write_csv(reversed(self.list(status=status, type=type, limit=None)), fileobj)

    # -- internals ----------------------------------------------------------------------------

    def _insert(self, conn: Connection, columns: tuple[dict[str, Any], str, str]) -> str:
        """Insert a ticket inside the caller's transaction (from :func:`ticket_columns`); returns its id."""
        values, actor, note = columns
        now = self._now()
        ticket_id = self._allocate_id(conn, now)
        conn.execute(insert(tickets).values(id=ticket_id, created_at=now, updated_at=now, **values))
        self._log(conn, ticket_id, now, actor, Action.CREATED, None, TicketStatus.OPEN, note)
        return ticket_id

    def _decide(self, conn: Connection, ticket_id: str, decision: Decision, actor: str, note: str) -> None:
        """Write a decision inside the caller's transaction."""
        row = self._lock_writable_row(conn, ticket_id)
        now = self._now()
        conn.execute(
            update(tickets)
            .where(tickets.c.id == ticket_id)
            .values(
                decision_kind=decision.kind,
                decision_amount=decision.amount,
                decision_reason_code=decision.reason_code,
                updated_at=now,
            )
        )
        status = TicketStatus(row.status)
        detail = f"{decision.kind} {decision.amount.quantize(CENT)} {decision.reason_code}"
        detail += f": {note}" if note else ""
        self._log(conn, ticket_id, now, actor, Action.DECISION_SET, status, status, detail)

    def _allocate_id(self, conn: Connection, now: datetime) -> str:
        day = now.astimezone(self._id_tz).strftime("%Y%m%d")
        dialect_insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
        conn.execute(dialect_insert(ticket_counters).values(day=day, last=0).on_conflict_do_nothing())
        # The UPDATE row-locks the day's counter until commit, so concurrent opens queue here.
        conn.execute(
            update(ticket_counters).where(ticket_counters.c.day == day).values(last=ticket_counters.c.last + 1)
        )
        seq = conn.execute(select(ticket_counters.c.last).where(ticket_counters.c.day == day)).scalar_one()
        return f"TK-{day}-{seq:04d}"

    def _lock_writable_row(self, conn: Connection, ticket_id: str) -> Row:
        """Lock a ticket's row for a change that a closed ticket refuses.

        Raises:
            TicketNotFound: Unknown id.
            TicketClosed: The ticket is closed.
        """
        row = self._lock_row(conn, ticket_id)
        if row.status == TicketStatus.CLOSED.value:
            raise TicketClosed(ticket_id)
        return row

    @staticmethod
    def _lock_row(conn: Connection, ticket_id: str) -> Row:
        row = conn.execute(select(tickets).where(tickets.c.id == ticket_id).with_for_update()).first()
        if row is None:
            raise TicketNotFound(ticket_id)
        return row

    @staticmethod
    def _log(
        conn: Connection,
        ticket_id: str,
        at: datetime,
        actor: str,
        action: Action,
        from_status: TicketStatus | None,
        to_status: TicketStatus | None,
        note: str,
    ) -> None:
        conn.execute(
            insert(ticket_history).values(
                ticket_id=ticket_id,
                at=at,
                actor=actor,
                action=action.value,
                from_status=None if from_status is None else from_status.value,
                to_status=None if to_status is None else to_status.value,
                note=note or "",
            )
        )


def store_from_env(env: Mapping[str, str] | None = None) -> TicketStore:
    """Build the ticket store the environment asks for; no database work happens here.

    Args:
        env: Environment variables (default: the process's), read by
            :meth:`bot.settings.Settings.from_env`: ``TICKETS_DB_URL``.

    Returns:
        A :class:`TicketStore`; the default is SQLite at ``<project>/var/tickets.db``.
    """
    return TicketStore(Settings.from_env(env).tickets_db_url)
