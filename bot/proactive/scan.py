"""One scan of the watched parcels: look each up, queue a notice per new change.

:func:`scan_once` is what ``python -m bot.proactive scan`` runs and what the server's own
schedule will run (the next step adds the schedule and the Redis lock that keeps one
scanner at a time across replicas). It is cheap: watches are read in pages, provider
calls run with bounded concurrency, and only parcels that changed are written back.
Decisions are made one watch at a time, so the daily cap is counted right.
:func:`handle_watch` is that one decision; a provider's push
(:func:`bot.proactive.push.apply_push`) goes through it too, so a pushed change and a
scanned one are worded, held by quiet hours and queued alike.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from functools import partial

from bot.identity import ownership
from bot.policy.model import Policy
from bot.proactive.models import NewNotice, QueuedNotice, Watch
from bot.proactive.quiet import schedule
from bot.proactive.store import ProactiveStore
from bot.proactive.triggers import Snapshot, changes, snapshot
from bot.proactive.wording import notice_text
from bot.tracking.models import ProviderError, Shipment, Status, TrackingProvider

logger = logging.getLogger(__name__)

CONCURRENCY = 20
"""Provider calls in flight at once during a scan."""

PAGE = 500
"""Watches read and looked up per round."""

LOOKUP_TIMEOUT = 10.0
"""Seconds one look-up may take during a scan (nobody is waiting for the answer)."""

OwnerCheck = Callable[[str, Shipment], Awaitable[bool]]
"""Whether a conversation proved a parcel is theirs (default :func:`bot.identity.ownership.proven`)."""


async def scan_once(
    store: ProactiveStore,
    provider: TrackingProvider,
    policy: Policy,
    now: datetime,
    *,
    owner: OwnerCheck = ownership.proven,
    concurrency: int = CONCURRENCY,
    page: int = PAGE,
) -> list[QueuedNotice]:
    """Scan every active watch once and queue the notices its changes call for.

    Expired watches are ended first; a delivered parcel's watch ends after its notice. A
    parcel the provider cannot look up now (:class:`ProviderError`, timeout) is skipped
    and tried again on the next scan; one it does not know is skipped too.

    Args:
        store: The proactive store.
        provider: The tracking provider.
        policy: The policy (kinds, grace, quiet hours, cap).
        now: The current time (aware).
        owner: The ownership check (injectable for tests).
        concurrency: Provider calls in flight at once.
        page: Watches per round.

    Returns:
        The notices queued by this scan.
    """
    await asyncio.to_thread(store.end_expired, now)
    gate = asyncio.Semaphore(concurrency)
    queued: list[QueuedNotice] = []
    after = 0
    while True:
        watches = await asyncio.to_thread(store.active_watches, now, page, after)
        if not watches:
            return queued
        after = watches[-1].id
        found = await asyncio.gather(*(_look_up(provider, watch.waybill, gate) for watch in watches))
        for watch, shipment in zip(watches, found, strict=True):
            if shipment is not None:
                queued.extend(await handle_watch(store, policy, now, owner, watch, shipment))


async def _look_up(provider: TrackingProvider, waybill: str, gate: asyncio.Semaphore) -> Shipment | None:
    async with gate:
        try:
            return await asyncio.wait_for(provider.get(waybill), LOOKUP_TIMEOUT)
        except asyncio.TimeoutError:
            logger.warning("watched parcel skipped: tracking provider timed out")
        except ProviderError as exc:  # messages carry no personal data by contract
            logger.warning("watched parcel skipped: %s", exc)
        return None


async def handle_watch(
    store: ProactiveStore, policy: Policy, now: datetime, owner: OwnerCheck, watch: Watch, shipment: Shipment
) -> list[QueuedNotice]:
    """Queue the notices for one watch's changes, keep what it now knows, end it once delivered.

    Args:
        store: The proactive store.
        policy: The policy (kinds, grace, quiet hours, cap).
        now: The current time (aware).
        owner: The ownership check.
        watch: The watch (its ``last_seen`` is what the customer already knows).
        shipment: The parcel as the provider reports it now.

    Returns:
        The notices queued (a change already in the outbox is not queued again).
    """
    queued: list[QueuedNotice] = []
    found = changes(Snapshot.from_json(watch.last_seen), shipment, now, policy)
    proven = await owner(watch.conversation_id, shipment) if found else False
    counted = partial(store.sent_today, watch.conversation_id)
    for change in found:
        due = await asyncio.to_thread(schedule, change.kind, now, policy, counted)
        if due is None:
            logger.info("notice dropped: daily cap reached (%s)", change.kind)
            continue
        notice = NewNotice(
            conversation_id=watch.conversation_id,
            channel=watch.channel,
            waybill=watch.waybill,
            kind=change.kind,
            change_key=change.change_key,
            language=watch.language,
            text=notice_text(change.kind, shipment, watch.language, now, owner=proven),
            created_at=now,
            due_at=due,
        )
        added = await asyncio.to_thread(store.add, notice)
        if added is not None:
            queued.append(added)
    seen = snapshot(shipment, now, policy).to_json()
    if seen != watch.last_seen:
        await asyncio.to_thread(store.record_seen, watch, seen)
    if shipment.status is Status.DELIVERED:
        await asyncio.to_thread(store.end_watch, watch, now)
    return queued
