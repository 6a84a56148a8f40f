"""Command line for agents and operators: list, show, change status, export.

Usage::

    python -m bot.tickets.cli [--db URL] list [--status S] [--type T] [--limit N]
    python -m bot.tickets.cli [--db URL] show TICKET_ID
    python -m bot.tickets.cli [--db URL] status TICKET_ID NEW_STATUS [--note TEXT] [--actor NAME]
    python -m bot.tickets.cli [--db URL] export-csv [FILE]
    python -m bot.tickets.cli [--db URL] overdue
    python -m bot.tickets.cli [--db URL] escalate

``overdue`` lists unresolved tickets past a deadline, oldest missed deadline first;
``escalate`` runs one pass of :mod:`bot.tickets.escalation` now, prints one line per
action and posts the alerts to ``ESCALATION_WEBHOOK_URL`` when set. It records progress
updates but does not send them (the running assistant does): it prints them instead.

``--db`` defaults to ``TICKETS_DB_URL`` (see :func:`bot.tickets.store_from_env`).
Exit codes: 0 ok, 1 database or other error, 2 bad usage, 3 unknown ticket,
4 transition not allowed (or ticket closed).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import datetime, timezone
from typing import Sequence, TextIO

from bot.settings import settings
from bot.tickets.escalation import escalate_once, overdue, post_alerts
from bot.tickets.models import InvalidTransition, Ticket, TicketClosed, TicketNotFound, TicketStatus, TicketType
from bot.tickets.store import TicketStore, store_from_env

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_NOT_FOUND = 3
EXIT_INVALID = 4


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of the ticket CLI."""
    parser = argparse.ArgumentParser(prog="python -m bot.tickets.cli", description="Inspect and update tickets.")
    parser.add_argument("--db", metavar="URL", help="SQLAlchemy database URL (default: $TICKETS_DB_URL or var/)")
    sub = parser.add_subparsers(dest="command", required=True)

    p_list = sub.add_parser("list", help="list tickets, newest first")
    p_list.add_argument("--status", choices=[s.value for s in TicketStatus])
    p_list.add_argument("--type", choices=[t.value for t in TicketType])
    p_list.add_argument("--limit", type=int, default=100)

    p_show = sub.add_parser("show", help="show one ticket with evidence and history")
    p_show.add_argument("ticket_id")

    p_status = sub.add_parser("status", help="change a ticket's status")
    p_status.add_argument("ticket_id")
    p_status.add_argument("new_status", choices=[s.value for s in TicketStatus])
    p_status.add_argument("--note", default="")
    p_status.add_argument("--actor", default=f"cli:{settings().user}")

    p_export = sub.add_parser("export-csv", help="export every ticket as CSV")
    p_export.add_argument("file", nargs="?", help="output file (default: standard output)")

    sub.add_parser("overdue", help="list unresolved tickets past a deadline, oldest first")
    sub.add_parser("escalate", help="run one escalation pass now and print what it did")
    sub.add_parser("forget-proofs", help="delete expired proofs of parcel ownership (run daily, e.g. from cron)")
    return parser


def _line(t: Ticket) -> str:
    return (
        f"{t.id}  {t.status.value:<16} L{t.level}  {t.type.value:<12} {t.channel:<9} "
        f"{t.conversation_id}  {t.waybill or '-'}  {t.summary[:60]}"
    )


def _show(store: TicketStore, ticket_id: str, out: TextIO) -> int:
    ticket = store.get(ticket_id)
    if ticket is None:
        raise TicketNotFound(ticket_id)
    fields = {
        "id": ticket.id,
        "status": ticket.status.value,
        "type": ticket.type.value,
        "level": ticket.level,
        "conversation": f"{ticket.conversation_id} ({ticket.channel})",
        "waybill": ticket.waybill or "-",
        "summary": ticket.summary,
        "respond by": ticket.respond_by.isoformat(),
        "resolve by": ticket.resolve_by.isoformat(),
        "escalate by": ticket.escalate_by.isoformat() if ticket.escalate_by else "-",
        "update after": ticket.update_after.isoformat() if ticket.update_after else "-",
        "decision": (
            f"{ticket.decision.kind} {ticket.decision.amount} ({ticket.decision.reason_code})"
            if ticket.decision
            else "-"
        ),
        "created": ticket.created_at.isoformat(),
        "updated": ticket.updated_at.isoformat(),
    }
    for key, value in fields.items():
        print(f"{key + ':':<14}{value}", file=out)
    print(f"evidence ({len(ticket.evidence)}):", file=out)
    for item in ticket.evidence:
        print(f"  {item.kind:<18} {item.content_type:<12} {item.size:>9} B  {item.sha256[:16]}  {item.path}", file=out)
    print("history:", file=out)
    for h in store.history(ticket_id):
        change = f"{h.from_status.value if h.from_status else '-'} -> {h.to_status.value if h.to_status else '-'}"
        note = f"  {h.note}" if h.note else ""
        print(f"  {h.at.isoformat()}  {h.actor:<16} {h.action.value:<15} {change}{note}", file=out)
    return EXIT_OK


def _escalate(store: TicketStore, out: TextIO) -> int:
    report = escalate_once(store, datetime.now(timezone.utc))
    for line in report.lines():
        print(line, file=out)
    for update in report.progress:
        print(f"  to {update.conversation_id} ({update.channel}): {update.text}", file=out)
    url = settings().escalation_webhook_url
    if url and report.alerts:
        posted = asyncio.run(post_alerts(url, report.alerts))
        print(f"webhook: {len(report.alerts)} alerts {'posted' if posted else 'NOT posted (see log)'}", file=out)
    return EXIT_OK


def run(args: argparse.Namespace, out: TextIO) -> int:
    """Execute one parsed command against the store; errors propagate."""
    store = TicketStore(args.db) if args.db else store_from_env()
    try:
        if args.command == "list":
            for ticket in store.list(status=args.status, type=args.type, limit=args.limit):
                print(_line(ticket), file=out)
            return EXIT_OK
        if args.command == "show":
            return _show(store, args.ticket_id, out)
        if args.command == "status":
            ticket = store.transition(args.ticket_id, args.new_status, actor=args.actor, note=args.note)
            print(f"{ticket.id} is now {ticket.status.value}", file=out)
            return EXIT_OK
        if args.command == "export-csv":
            if args.file:
                with open(args.file, "w", encoding="utf-8", newline="") as fh:
                    count = store.export_csv(fh)
                print(f"exported {count} tickets to {args.file}", file=sys.stderr)
            else:
                store.export_csv(out)
            return EXIT_OK
        if args.command == "overdue":
            for missed in overdue(store, datetime.now(timezone.utc)):
                since = f"since {missed.ticket.overdue_at.isoformat()}" if missed.ticket.overdue_at else "not marked"
                print(f"{_line(missed.ticket)}  past {missed.deadline} {missed.due_at.isoformat()} ({since})", file=out)
            return EXIT_OK
        if args.command == "escalate":
            return _escalate(store, out)
        if args.command == "forget-proofs":
            print(f"deleted {store.forget_expired_proofs()} expired proofs", file=out)
            return EXIT_OK
        raise AssertionError(f"unhandled command {args.command!r}")
    finally:
        store.close()


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and return its exit code."""
    args = build_parser().parse_args(argv)
    try:
        return run(args, sys.stdout)
    except TicketNotFound as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_NOT_FOUND
    except (InvalidTransition, TicketClosed) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_INVALID
    except Exception as exc:  # noqa: BLE001 - the CLI turns any failure into a message and exit code
        print(f"error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
