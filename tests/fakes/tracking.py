"""A fake tracking aggregator (Kuaidi100's URL) that never answers in time: real HTTP on 127.0.0.1, own thread."""

from __future__ import annotations

import asyncio
import threading

from aiohttp import web


class SlowUpstream:
    """A tracking aggregator (Kuaidi100's URL) that never answers in time.

    Use as a context manager; ``url`` is its base URL.
    """

    def __init__(self) -> None:
        self.port = 0
        self._ready = threading.Event()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        async def handler(request: web.Request) -> web.Response:
            await asyncio.sleep(20)
            return web.json_response({})

        async def start() -> None:
            app = web.Application()
            app.router.add_post("/poll/query.do", handler)
            runner = web.AppRunner(app)
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            self.port = site._server.sockets[0].getsockname()[1]
            self._ready.set()

        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(start())
        self._loop.run_forever()

    @property
    def url(self) -> str:
        """Base URL of the fake."""
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> SlowUpstream:
        self._thread.start()
        self._ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
