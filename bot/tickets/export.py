"""Tickets as CSV for spreadsheets, safe against formula injection."""

from __future__ import annotations

import csv
from datetime import datetime
from typing import Iterable, TextIO

from bot.tickets.models import Ticket

CSV_COLUMNS = (
    "id", "type", "level", "status", "conversation_id", "channel", "waybill", "summary",
    "respond_by", "resolve_by", "escalate_by", "update_after",
    "decision_kind", "decision_amount", "decision_reason_code", "evidence_count", "created_at", "updated_at",
)  # fmt: skip
"""The header row, in column order."""

_CSV_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: object) -> object:
    """One CSV cell: ``""`` for none, ISO 8601 for datetimes, a leading ``'`` before a would-be formula."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, str) and value.startswith(_CSV_FORMULA_PREFIXES):
        return "'" + value
    return value


def write_csv(tickets: Iterable[Ticket], fileobj: TextIO) -> int:
    """Write tickets in the given order as CSV with a header row; return the number of tickets.

    Cells a spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@``...) get a leading ``'``.
    """
    writer = csv.writer(fileobj)
    writer.writerow(CSV_COLUMNS)
    count = 0
    for t in tickets:
        d = t.decision
        writer.writerow(
            csv_cell(v)
            for v in (
                t.id, t.type.value, t.level, t.status.value, t.conversation_id, t.channel, t.waybill,
                t.summary, t.respond_by, t.resolve_by, t.escalate_by, t.update_after,
                d and d.kind, d and d.amount, d and d.reason_code, len(t.evidence), t.created_at, t.updated_at,
            )
        )  # fmt: skip
        count += 1
    return count
