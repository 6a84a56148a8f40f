"""Serve one channel's blueprint on a real Sanic server in a thread (real HTTP, no Rasa).

:class:`BlueprintServer` is the one way the tests (and ``bench/``) boot a Sanic server in
process: subclasses change what is served by overriding :meth:`BlueprintServer.build_app`.
"""

from __future__ import annotations

import asyncio
import secrets
import socket
import threading
from typing import Any, Awaitable, Callable

import httpx
from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Sanic


class BlueprintServer:
    """``channel.blueprint`` under ``/webhooks/<name>`` on 127.0.0.1 (own thread, own loop).

    Messages go to ``on_new_message`` (standing in for Rasa), by default into :attr:`received`.
    ``agent`` (a Rasa ``Agent``, or anything with a tracker store) goes where Rasa's server keeps
    it: ``app.ctx.agent``. Use it as a context manager, or :meth:`start` and :meth:`stop`.
    """

    def __init__(
        self,
        channel: InputChannel,
        on_new_message: Callable[[UserMessage], Awaitable[Any]] | None = None,
        agent: Any = None,
    ) -> None:
        self.channel = channel
        self.agent = agent
        self.received: list[UserMessage] = []
        self._on_message = on_new_message or self._on_new_message
        self.loop = asyncio.new_event_loop()
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self.base = f"http://127.0.0.1:{self._sock.getsockname()[1]}"
        self.url = f"{self.base}/webhooks/{channel.name()}"
        self._thread = threading.Thread(target=self.loop.run_forever, name=f"{channel.name()}-server", daemon=True)
        self._server: Any = None
        self.app: Sanic | None = None
        self.http = httpx.Client(timeout=10)

    async def _on_new_message(self, message: UserMessage) -> None:
        self.received.append(message)

    def build_app(self) -> Sanic:
        """The app to serve: the channel's blueprint, and ``app.ctx.agent`` when an agent is given."""
        app = Sanic(f"bp_test_{secrets.token_hex(4)}", configure_logging=False)
        app.blueprint(self.channel.blueprint(self._on_message), url_prefix=f"/webhooks/{self.channel.name()}")
        if self.agent is not None:
            app.ctx.agent = self.agent  # where Rasa's server keeps it
        return app

    async def _start(self) -> None:
        self.app = self.build_app()
        self._server = await self.app.create_server(sock=self._sock, return_asyncio_server=True, access_log=False)
        await self._server.startup()  # create_server already listens: the handlers are finalised here
        await self._server.before_start()
        await self._server.after_start()

    async def _stop(self) -> None:
        await self._server.before_stop()  # the channel's listeners finish its tasks and close its clients
        self._server.close()
        for connection in list(self._server.connections):
            connection.close_if_idle()
        await self._server.wait_closed()
        await self._server.after_stop()

    def start(self) -> BlueprintServer:
        """Boot the server in its thread; returns the server."""
        # several Sanic apps in one process need test mode (touch-up would rewrite its own output)
        self._test_mode, Sanic.test_mode = Sanic.test_mode, True
        self._thread.start()
        self.call(self._start())
        return self

    def stop(self) -> None:
        """Stop the server (listeners run) and its thread."""
        self.http.close()
        self.call(self._stop(), 15)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        if not self._thread.is_alive():
            self.loop.close()
        Sanic.test_mode = self._test_mode

    def __enter__(self) -> BlueprintServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def call(self, coroutine: Awaitable[Any], timeout: float = 10) -> Any:
        """Run a coroutine on the server's loop (where the channel lives) and wait for it."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)
