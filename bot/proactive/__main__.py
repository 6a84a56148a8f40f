"""Command line: ``python -m bot.proactive scan`` (one scan now) or ``pending`` (the outbox).

``scan`` looks every watched parcel up with the configured provider (``TRACKING_PROVIDER``)
and prints one line per notice queued: id, conversation, channel, waybill, kind and when
it is due. ``pending`` lists the notices not delivered yet (waiting, or undeliverable).
No phone numbers or message texts are printed.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from typing import TextIO

from bot import services
from bot.common.clock import CHINA_TZ
from bot.proactive import watches
from bot.proactive.models import QueuedNotice
from bot.proactive.scan import scan_once
from bot.proactive.store import ProactiveStore


def line(notice: QueuedNotice) -> str:
    """One notice as a tab-separated line (no message text, no phone numbers)."""
    due = notice.due_at.astimezone(CHINA_TZ).strftime("%Y-%m-%d %H:%M")
    return "\t".join(
        [str(notice.id), notice.conversation_id, notice.channel, notice.waybill, notice.kind, notice.status, due]
    )


async def _scan(store: ProactiveStore, out: TextIO) -> int:
    provider = services.provider()
    try:
        notices = await scan_once(store, provider, services.policy(), services.now())
    finally:
        close = getattr(provider, "aclose", None)
        if close is not None:
            await close()
    for notice in notices:
        print(line(notice), file=out)
    return 0


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    """Run the command; returns the exit status."""
    out = out or sys.stdout
    parser = argparse.ArgumentParser(prog="python -m bot.proactive", description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("scan", "pending"))
    parser.add_argument("--limit", type=int, default=100, help="pending: at most this many of each status")
    args = parser.parse_args(argv)
    store = watches.store()  # on the ticket database (TICKETS_DB_URL)
    if args.command == "scan":
        return asyncio.run(_scan(store, out))
    for notice in [*store.pending(args.limit), *store.undeliverable(args.limit)]:
        print(line(notice), file=out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
