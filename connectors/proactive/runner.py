"""The proactive loop in the Rasa server: rounds on the policy's schedule, the outbox drained.

Every :data:`DRAIN_SECONDS` the loop sends the notices that are due (quiet hours over,
cap respected) through the customer's own channel
(:func:`connectors.common.senders.deliver_proactive`: the REST poll outbox, the widget,
Telegram, WeChat) and marks each one sent, or undeliverable when the channel refuses it,
with the channel's short reason (``wechat:45015``) when it gives one (shown to agents by
``python -m bot.proactive pending`` and the console's ``GET /webhooks/console/api/notices``).
Every ``proactive.scan_interval_minutes`` it runs one round
(:func:`bot.proactive.round.run_round`: scan, ticket escalation, progress messages) and
alerts supervisors: a ``ticket_alert`` event on the console's live feed and, when
``ESCALATION_WEBHOOK_URL`` is set, a POST to it.

One replica at a time: the round and the drain run under a lock in the key-value store of
``HANDOFF_REDIS_URL`` / ``REDIS_URL`` (several replicas share it), or in process without
Redis. The outbox's unique change keys make a second scanner harmless anyway (no notice is
queued twice); the lock saves the work and keeps one sender per notice.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Awaitable, Callable
from datetime import datetime

from bot import services
from bot.common.kv import KeyValueStore, MemoryStore, RedisStore, StoreUnavailable
from bot.proactive import watches
from bot.proactive.round import Round, run_round
from bot.proactive.store import ProactiveStore
from bot.settings import settings
from bot.tickets.escalation import post_alerts
from connectors.common.senders import Undeliverable, deliver_proactive
from connectors.console import live

logger = logging.getLogger(__name__)

DRAIN_SECONDS = 5.0
"""How often due notices are sent."""

LOCK_KEY = "proactive:lock"
LOCK_SECONDS = 300.0
"""The lock outlives a stuck holder by at most this long."""

Send = Callable[[str, str, list[dict[str, str]]], Awaitable[None]]


def lock_store() -> KeyValueStore:
    """Where the lock lives: the handoff Redis when configured (shared by replicas), else this process."""
    config = settings()
    if config.handoff_redis_url:
        return RedisStore(config.handoff_redis_url, f"{config.handoff_redis_prefix}:")
    return MemoryStore()


async def drain(
    store: ProactiveStore, now: datetime, send: Send = deliver_proactive, limit: int = 100
) -> tuple[int, int]:
    """Send every due notice once; returns (sent, undeliverable).

    A notice the channel refuses (an exception from its sender) is marked undeliverable with
    the reason of an :class:`~connectors.common.senders.Undeliverable`, else the error's type
    only; it is never retried automatically, and never sent twice.
    """
    sent = failed = 0
    for notice in await asyncio.to_thread(store.due, now, limit):
        try:
            await send(notice.channel, notice.conversation_id, [{"text": notice.text}])
        except Exception as exc:
            reason = exc.reason if isinstance(exc, Undeliverable) and exc.reason else type(exc).__name__
            logger.warning("notice %s undeliverable on %s: %s", notice.id, notice.channel, reason)
            await asyncio.to_thread(store.mark_undeliverable, notice.id, reason, now)
            failed += 1
            continue
        await asyncio.to_thread(store.mark_sent, notice.id, now)
        sent += 1
    return sent, failed


async def alert(done: Round) -> None:
    """Tell supervisors about overdue and escalated tickets: the live feed and the optional webhook."""
    alerts = done.escalation.alerts
    for item in alerts:
        live.hub().publish({"type": "ticket_alert", **item.as_json()})
    url = settings().escalation_webhook_url
    if url and alerts:
        await post_alerts(url, alerts)


class ProactiveRunner:
    """The loop: rounds every ``proactive.scan_interval``, the outbox every :data:`DRAIN_SECONDS`."""

    def __init__(
        self,
        locks: KeyValueStore | None = None,
        clock: Callable[[], datetime] = services.now,
        send: Send = deliver_proactive,
    ) -> None:
        """A runner (defaults: :func:`lock_store`, the services clock, the channels' ``deliver_proactive``)."""
        self._locks = locks or lock_store()
        self._clock = clock
        self._send = send
        self._last_round: datetime | None = None

    async def _locked(self, work: Callable[[], Awaitable[None]]) -> bool:
        token = secrets.token_hex(8)
        try:
            if not await self._locks.add(LOCK_KEY, token, LOCK_SECONDS):
                return False
        except StoreUnavailable:
            logger.warning("proactive lock unavailable: this round is skipped")
            return False
        try:
            await work()
        finally:
            try:
                await self._locks.delete(LOCK_KEY, only_if=token)
            except StoreUnavailable:
                logger.warning("proactive lock not released: it expires by itself")
        return True

    async def tick(self) -> None:
        """One step: a round when one is due, then the outbox."""
        now = self._clock()
        interval = services.policy().proactive.scan_interval
        store = watches.store()

        async def work() -> None:
            if self._last_round is None or now - self._last_round >= interval:
                self._last_round = now
                done = await run_round(store, services.provider(), services.policy(), services.tickets(), now)
                if done.notices or done.progress or done.escalation.alerts:
                    logger.info("proactive round: %d notices, %d progress messages, %d alerts",
                                len(done.notices), len(done.progress), len(done.escalation.alerts))  # fmt: skip
                await alert(done)
            await drain(store, now, self._send)

        await self._locked(work)

    async def run(self) -> None:
        """Tick until cancelled; one failing tick is logged and the loop goes on."""
        while True:
            try:
                await self.tick()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                logger.error("proactive tick failed: %s", type(exc).__name__)
            await asyncio.sleep(DRAIN_SECONDS)
