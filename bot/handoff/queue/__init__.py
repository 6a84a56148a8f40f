"""The waiting queue for human handoff: conversations wait for an agent, agents claim them.

Waiting conversations are ordered by ticket level (1 = most urgent first), then by the time
they were first enqueued (oldest first), then by conversation id; times count to the
millisecond, so both implementations order alike. A conversation is either *waiting* or
*claimed* by exactly one agent; claiming is atomic, so two agents never get the same chat.

The entry and the contract are in :mod:`bot.handoff.queue.model`; the two implementations:

* :class:`InMemoryHandoffQueue` (``memory.py``): the embedded default, one process, guarded by a lock.
* :class:`RedisHandoffQueue` (``redis_queue.py``): shared by every replica. Each change is one Lua script, so it
  is atomic across threads, processes and hosts. Keys under ``{prefix}:handoff:``:
  ``waiting`` (sorted set of conversation ids, score ``level * 1e13 + enqueued_at`` in epoch
  ms), ``claimed`` (hash conversation id → agent) and ``entry:{conversation_id}`` (hash of
  the entry's fields, datetimes as ISO strings). Scripts build entry keys from the prefix,
  so this needs a single Redis server, not a cluster.

Caps and expiry (both implementations, same contract, numbers from ``policy/limits.yml``
section ``handoff`` through :func:`queue_from_env`):

* One entry per conversation: enqueueing a queued conversation updates it (an upsert).
* ``max_waiting``: at most this many *waiting* entries; enqueueing a new conversation into
  a full queue raises :class:`QueueFull` (updates of queued conversations and requeues by
  an agent always succeed). :meth:`HandoffQueue.is_full` lets the bot check first.
* ``waiting_expiry``: :meth:`HandoffQueue.expire` removes the entries that have been waiting
  that long (since they were enqueued, or since an agent last put them back) and returns
  them, each exactly once even with several replicas sweeping; claimed entries never expire.
  ``connectors/console/expiry.py`` resumes those conversations and tells the customers.
  In Redis the start of the current wait is the entry field ``since_ms``.

Every call is blocking; async callers go through ``asyncio.to_thread``.

Environment (:func:`queue_from_env`):

* ``HANDOFF_REDIS_URL``: e.g. ``redis://127.0.0.1:6379/0``; unset or empty → in memory.
* ``HANDOFF_REDIS_PREFIX``: key prefix, letters, digits, ``-`` and ``_`` (default ``lcs``).
* ``LIMITS_FILE`` (through :func:`bot.policy.limits.limits`): ``handoff.max_waiting`` and
  ``handoff.waiting_expiry_minutes``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Mapping

import redis

from bot.handoff.queue.memory import InMemoryHandoffQueue
from bot.handoff.queue.model import LEVELS, HandoffQueue, QueueEntry, QueueFull
from bot.handoff.queue.redis_queue import DEFAULT_PREFIX, RedisHandoffQueue
from bot.policy.limits import limits
from bot.settings import Settings

__all__ = [
    "DEFAULT_PREFIX", "LEVELS", "HandoffQueue", "InMemoryHandoffQueue", "QueueEntry", "QueueFull",
    "RedisHandoffQueue", "queue_from_env",
]  # fmt: skip


def queue_from_env(env: Mapping[str, str] | None = None) -> HandoffQueue:
    """Build the handoff queue the environment asks for; nothing connects yet.

    The cap and the expiry are ``handoff.max_waiting`` and ``handoff.waiting_expiry_minutes``
    of the limits file (:func:`bot.policy.limits.limits`).

    Args:
        env: Environment variables (default: the process's), read by
            :meth:`bot.settings.Settings.from_env`: ``HANDOFF_REDIS_URL`` (else ``REDIS_URL``)
            and ``HANDOFF_REDIS_PREFIX``.

    Returns:
        A :class:`RedisHandoffQueue` if ``HANDOFF_REDIS_URL`` or ``REDIS_URL`` is set, else an
        :class:`InMemoryHandoffQueue`.

    Raises:
        ValueError: On a malformed URL or prefix, or a cap that is not a whole number.
        KeyError: The limits file lacks one of the two numbers.
    """
    configured = limits()
    cap = configured.number("handoff.max_waiting")
    if not isinstance(cap, int):
        raise ValueError(f"handoff.max_waiting must be a whole number, got {cap!r}")
    expiry = timedelta(minutes=configured.number("handoff.waiting_expiry_minutes"))
    configured_env = Settings.from_env(env)
    url = configured_env.handoff_redis_url
    if not url:
        return InMemoryHandoffQueue(max_waiting=cap, waiting_expiry=expiry)
    prefix = configured_env.handoff_redis_prefix
    client = redis.Redis.from_url(url, socket_connect_timeout=5, socket_timeout=5, health_check_interval=30)
    return RedisHandoffQueue(client, prefix, max_waiting=cap, waiting_expiry=expiry)
