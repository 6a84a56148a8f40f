"""Ticket store: tickets with SLA deadlines, evidence, decisions and an append-only history.

Typical use from an action (blocking calls go through ``asyncio.to_thread``)::

    store = store_from_env()          # reads TICKETS_DB_URL; no I/O yet
    ticket = await asyncio.to_thread(store.open, type="delay", level=3, ...)
"""

from __future__ import annotations

from bot.tickets.models import (
    TRANSITIONS,
    Action,
    Deadlines,
    DeadlinesLike,
    Decision,
    EvidenceItem,
    HistoryEntry,
    InvalidTransition,
    NewTicket,
    Ticket,
    TicketClosed,
    TicketError,
    TicketNotFound,
    TicketStatus,
    TicketType,
)
from bot.tickets.store import TicketStore, store_from_env

__all__ = [
    "TRANSITIONS",
    "Action",
    "Deadlines",
    "DeadlinesLike",
    "Decision",
    "EvidenceItem",
    "HistoryEntry",
    "InvalidTransition",
    "NewTicket",
    "Ticket",
    "TicketClosed",
    "TicketError",
    "TicketNotFound",
    "TicketStatus",
    "TicketStore",
    "TicketType",
    "store_from_env",
]
