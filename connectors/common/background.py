"""Work a channel does after it has answered the webhook: background tasks, in order per customer.

WeChat and Telegram want their webhook answered at once, so the channels handle each
message in a background task. :class:`BackgroundTasks` keeps those tasks (so a stopping
server can let them finish), runs the tasks of one customer one after the other, in
arrival order, and logs a task that failed with a hash of the customer only.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Coroutine

from connectors.common.log_redaction import sender_tag

logger = logging.getLogger(__name__)


class BackgroundTasks:
    """The background tasks of one channel.

    Args:
        channel: The channel's name (log prefix).
        wait_previous: How long a customer's task waits for their previous one before it
            runs anyway (seconds; ``None``: as long as it takes).
    """

    def __init__(self, channel: str, wait_previous: float | None = None) -> None:
        self._channel = channel
        self._wait_previous = wait_previous
        self._tasks: set[asyncio.Task[None]] = set()
        self._tails: dict[str, asyncio.Task[None]] = {}

    def __len__(self) -> int:
        return len(self._tasks)

    def spawn(self, work: Coroutine[Any, Any, None], customer: str | None = None) -> None:
        """Run ``work`` in the background; after ``customer``'s previous work, when a customer is given.

        Args:
            work: The coroutine.
            customer: The conversation id the work belongs to (``None``: no ordering).
        """
        previous = self._tails.get(customer) if customer is not None else None

        async def in_order() -> None:
            if previous is not None and not previous.done():
                await asyncio.wait({previous}, timeout=self._wait_previous)
            await work

        task = asyncio.get_running_loop().create_task(in_order())
        self._tasks.add(task)
        if customer is not None:
            self._tails[customer] = task

        def finished(done: asyncio.Task[None]) -> None:
            self._tasks.discard(done)
            if customer is not None and self._tails.get(customer) is done:
                del self._tails[customer]
            if not done.cancelled() and done.exception() is not None:
                logger.error(
                    "%s: processing failed with %s (customer %s)",
                    self._channel,
                    type(done.exception()).__name__,
                    sender_tag(customer) if customer is not None else "-",
                )

        task.add_done_callback(finished)

    async def drain(self, timeout: float) -> None:
        """Let the running tasks finish, ``timeout`` seconds at most (a stopping server)."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=timeout)
