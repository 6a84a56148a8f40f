"""Serve one channel's blueprint on a real Sanic server in a thread (real HTTP, no Rasa)."""

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
    """

    def __init__(
        self, channel: InputChannel, on_new_message: Callable[[UserMessage], Awaitable[Any]] | None = None
    ) -> None:
        self.channel = channel
        self.received: list[UserMessage] = []
        self._on_message = on_new_message or self._on_new_message
        self.loop = asyncio.new_event_loop()
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self.base = f"http://127.0.0.1:{self._sock.getsockname()[1]}"
        self.url = f"{self.base}/webhooks/{channel.name()}"
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._server: Any = None
        self.http = httpx.Client(timeout=10)

    async def _on_new_message(self, message: UserMessage) -> None:
        self.received.append(message)

    async def _start(self) -> None:
        app = Sanic(f"bp_test_{secrets.token_hex(4)}", configure_logging=False)
        app.blueprint(self.channel.blueprint(self._on_message), url_prefix=f"/webhooks/{self.channel.name()}")
        self._server = await app.create_server(sock=self._sock, return_asyncio_server=True, access_log=False)
        await self._server.startup()
        await self._server.before_start()
        await self._server.after_start()

    async def _stop(self) -> None:
        await self._server.before_stop()
        self._server.close()
        await self._server.wait_closed()
        await self._server.after_stop()

    def __enter__(self) -> BlueprintServer:
        # several Sanic apps in one process need test mode (touch-up would rewrite its own output)
        self._test_mode, Sanic.test_mode = Sanic.test_mode, True
        self._thread.start()
        self.call(self._start())
        return self

    def __exit__(self, *exc: object) -> None:
        self.http.close()
        self.call(self._stop(), 15)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        Sanic.test_mode = self._test_mode

    def call(self, coroutine: Awaitable[Any], timeout: float = 10) -> Any:
        """Run a coroutine on the server's loop (where the channel lives) and wait for it."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)
