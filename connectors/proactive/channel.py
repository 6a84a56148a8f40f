"""The proactive channel: starts the proactive loop inside the Rasa server.

Listed in ``credentials.yml`` as ``connectors.proactive.channel.ProactiveInput``. It takes no
customer messages: its blueprint runs :class:`connectors.proactive.runner.ProactiveRunner`
from server start to stop, answers ``GET /webhooks/proactive/`` with the outbox's state
(counts only, no personal data) for health checks, and receives the tracking provider's
pushes at ``POST /webhooks/proactive/kuaidi100`` (:mod:`connectors.proactive.push`; off,
503, without ``KUAIDI100_PUSH_SALT``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.proactive import watches
from bot.settings import settings
from connectors.common.server_limits import LimitedBlueprint, body_limit
from connectors.proactive.push import add_push_route
from connectors.proactive.runner import ProactiveRunner

logger = logging.getLogger(__name__)

TASK = "proactive_runner"
"""Name of the loop's task on ``app.ctx``."""


class ProactiveInput(InputChannel):
    """Runs the proactive loop and receives the tracking provider's pushes; nothing from customers."""

    def __init__(self, run_loop: bool = True, push_salt: str | None = None) -> None:
        """A channel (``credentials.yml`` gives no options: the defaults).

        Args:
            run_loop: Run the proactive loop while the server runs (tests of the push turn it off).
            push_salt: The push's signing salt; ``None``: ``KUAIDI100_PUSH_SALT``.
        """
        self.run_loop = run_loop
        self.push_salt = push_salt

    @classmethod
    def name(cls) -> str:
        """The channel name (URL prefix ``/webhooks/proactive``)."""
        return "proactive"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        """The health route, the push route and the loop's start and stop listeners."""
        hook = LimitedBlueprint(f"proactive_{id(self)}", __name__)

        @hook.route("/", methods=["GET"])
        @body_limit("rest_small")
        async def health(_: Request) -> HTTPResponse:
            pending = await asyncio.to_thread(watches.store().pending_count)
            return response.json({"status": "ok", "pending_notices": pending})

        add_push_route(hook, settings().kuaidi100_push_salt if self.push_salt is None else self.push_salt)

        @hook.listener("after_server_start")
        async def start(app: Any, _: Any) -> None:
            if self.run_loop:
                setattr(app.ctx, TASK, asyncio.get_running_loop().create_task(ProactiveRunner().run()))

        @hook.listener("before_server_stop")
        async def stop(app: Any, _: Any) -> None:
            task = getattr(app.ctx, TASK, None)
            if task is not None:
                task.cancel()
                try:
                    await task
                except asyncio.CancelledError:
                    pass

        return hook
