"""Waiting handoffs that no agent took in time: out of the queue, back to the bot, customer told.

A conversation handed to humans is paused (``ConversationPaused``) and waits in the
handoff queue (:mod:`bot.handoff.queue`). If nobody claims it within
``handoff.waiting_expiry_minutes`` (``policy/limits.yml``), :func:`sweep` takes it out of
the queue, resumes the conversation (``ConversationResumed``, the bot's notice and
``action_listen`` appended to the tracker, as the console's hand-back does) and tells the
customer on their own channel (:func:`connectors.common.senders.deliver`) that no agent could
take the chat in time, that their ticket stays open, and that the assistant is back.
The ticket itself is left open for agents to follow up.

:func:`resume_refused` does the same for a handoff that a full queue refused
(:class:`bot.handoff.queue.QueueFull` in the event broker), with an "all agents are busy"
notice, so no conversation stays paused without a place in the queue; the broker calls
:func:`schedule_refused` (synchronous) when ``enqueue`` raises ``QueueFull``.

:func:`install` adds the periodic sweep to the Rasa server (an ``after_server_start``
listener on a blueprint, every ``handoff.sweep_interval_seconds``). Several replicas may
all sweep: the queue hands each expired entry to one of them only.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timezone
from typing import Any, Callable

from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.events import ActionExecuted, BotUttered, ConversationResumed
from sanic import Blueprint

from bot.handoff.notices import expired_notice, refused_notice
from bot.handoff.queue import HandoffQueue, QueueEntry
from bot.policy.limits import limits
from connectors.common.senders import deliver
from connectors.console import live

logger = logging.getLogger(__name__)

SWEEPER = "handoff_sweeper"
"""Name of the sweeping task on ``app.ctx``."""


async def resume_refused(agent: Any, entry: QueueEntry) -> bool:
    """Resume a paused conversation the full queue refused (:class:`bot.handoff.queue.QueueFull`).

    For the event broker: the action checks the queue before it pauses, but it cannot see an
    in-memory queue of the Rasa server, and two handoffs may race for the last place. The
    conversation must not stay paused without a queue entry, so it is resumed and the customer
    told that every agent is busy and that their ticket will be followed up.

    Args:
        agent: The Rasa agent.
        entry: The entry the queue refused.

    Returns:
        False if the conversation was not paused (nothing done).
    """
    return await _resume(agent, entry, refused_notice)


async def _resume(agent: Any, entry: QueueEntry, notice: Callable[[str, str | None], str] = expired_notice) -> bool:
    """Resume one paused conversation and tell the customer; False if it was no longer paused."""
    cid = entry.conversation_id
    async with agent.lock_store.lock(cid):
        tracker = await agent.tracker_store.retrieve(cid)
        if tracker is not None and not tracker.is_paused():
            return False  # resumed some other way already: nothing to tell anyone
        language = tracker.get_slot("language") if tracker is not None else None
        text = notice(entry.ticket_id, language if language in ("zh", "en") else None)
        if tracker is not None:
            for event in (
                ConversationResumed(),
                BotUttered(text, metadata={"handoff_resumed_by": "bot"}),
                ActionExecuted(ACTION_LISTEN_NAME),
            ):
                tracker.update(event)
            await agent.tracker_store.save(tracker)
    await deliver(entry.channel, cid, [{"recipient_id": cid, "text": text}])
    return True


async def sweep(agent: Any, queue: HandoffQueue, now: datetime) -> int:
    """Take every expired waiting entry out of ``queue``, resume its conversation, tell its customer.

    Args:
        agent: The Rasa agent (its ``tracker_store`` and ``lock_store`` are used).
        queue: The handoff queue.
        now: The time to measure waits against (aware).

    Returns:
        How many conversations were resumed (expired entries whose conversation had already
        been resumed are only removed from the queue).
    """
    expired = await asyncio.to_thread(queue.expire, now)
    resumed = 0
    for entry in expired:
        live.hub().publish({"type": "queue", "conversation_id": entry.conversation_id, "change": "expired"})
        try:
            if await _resume(agent, entry):
                resumed += 1
        except Exception as exc:  # one broken conversation must not keep the others waiting
            logger.error("handoff expiry: could not resume a conversation: %s", type(exc).__name__)
    if expired:
        logger.info("handoff expiry: %d waiting entries expired, %d conversations resumed", len(expired), resumed)
    return resumed


_app: Any = None
"""The server :func:`install` runs in (for :func:`schedule_refused`)."""
_pending: set[asyncio.Task[bool]] = set()


def schedule_refused(entry: QueueEntry) -> bool:
    """From the event broker (sync, in the server's loop): run :func:`resume_refused` soon.

    The task waits for the conversation's lock, so it runs after the turn that paused it.

    Returns:
        False when nothing could be scheduled (not installed, no agent, no running loop).
    """
    agent = getattr(getattr(_app, "ctx", None), "agent", None)
    if agent is None:
        return False
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return False
    task = loop.create_task(resume_refused(agent, entry))
    _pending.add(task)
    task.add_done_callback(_pending.discard)
    return True


async def run_sweeps(app: Any, interval: float) -> None:
    """Sweep every ``interval`` seconds for as long as the server runs (cancel to stop)."""
    while True:
        await asyncio.sleep(interval)
        agent = getattr(app.ctx, "agent", None)
        if agent is None or getattr(agent, "tracker_store", None) is None:
            continue  # no model loaded yet
        try:
            await sweep(agent, live.queue(), datetime.now(timezone.utc))
        except Exception as exc:  # e.g. Redis down: try again next time
            logger.error("handoff expiry: sweep failed: %s", type(exc).__name__)


def install(blueprint: Blueprint) -> None:
    """Run :func:`run_sweeps` in the server that serves ``blueprint`` (once per app).

    The interval is ``handoff.sweep_interval_seconds`` of ``policy/limits.yml``.
    """

    @blueprint.listener("after_server_start")
    async def start_sweeping(app: Any, *_: Any) -> None:
        global _app
        _app = app
        if getattr(app.ctx, SWEEPER, None) is None:
            interval = float(limits().number("handoff.sweep_interval_seconds"))
            setattr(app.ctx, SWEEPER, asyncio.get_running_loop().create_task(run_sweeps(app, interval)))

    @blueprint.listener("before_server_stop")
    async def stop_sweeping(app: Any, *_: Any) -> None:
        task = getattr(app.ctx, SWEEPER, None)
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            setattr(app.ctx, SWEEPER, None)
