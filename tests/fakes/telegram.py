"""A fake Telegram Bot API over real HTTP: aiohttp on 127.0.0.1, in its own thread and loop.

It answers like ``api.telegram.org`` for the methods the channel uses (same URL layout,
``/bot<token>/<method>`` and ``/file/bot<token>/<path>``, same JSON envelopes, form-encoded
parameters as python-telegram-bot sends them) and records every call.
"""

from __future__ import annotations

import asyncio
import io
import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Iterable

from aiohttp import web
from PIL import Image


def small_jpeg(width: int = 64, height: int = 48) -> bytes:
    """A real JPEG made with Pillow."""
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 120, 40)).save(out, format="JPEG", quality=85)
    return out.getvalue()


@dataclass
class Call:
    """One request the fake received."""

    method: str
    params: dict[str, str]
    at: float = field(default_factory=time.monotonic)

    def json(self, name: str) -> Any:
        """A parameter python-telegram-bot sent JSON-encoded (``reply_markup``, ``allowed_updates``…)."""
        return json.loads(self.params[name])


@dataclass
class _File:
    path: str
    data: bytes
    size: int


class FakeTelegram:
    """The fake Bot API; use it as a context manager, ``url`` is the server root."""

    def __init__(self, tokens: Iterable[str]) -> None:
        self.tokens = set(tokens)
        self.port = 0
        self.calls: list[Call] = []
        self.downloads: list[str] = []
        self._files: dict[str, _File] = {}
        self._failures: dict[str, list[int]] = {}
        self._updates: list[dict[str, Any]] = []
        self._ids = itertools.count(1000)
        self._lock = threading.Lock()
        self._ready = threading.Event()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._runner: web.AppRunner | None = None

    # --- test controls

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def add_file(self, file_id: str, data: bytes, size: int | None = None) -> None:
        """Serve ``data`` for ``file_id`` (``getFile`` reports ``size``, default the real size)."""
        with self._lock:
            self._files[file_id] = _File(f"photos/{file_id}.jpg", data, len(data) if size is None else size)

    def fail_next(self, method: str, retry_after: int) -> None:
        """Answer the next call of ``method`` with 429 Too Many Requests."""
        with self._lock:
            self._failures.setdefault(method, []).append(retry_after)

    def queue_update(self, update: dict[str, Any]) -> None:
        """Give ``update`` to the next ``getUpdates``."""
        with self._lock:
            self._updates.append(update)

    def calls_to(self, method: str) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.method == method]

    def reset(self) -> None:
        with self._lock:
            self.calls.clear()
            self.downloads.clear()

    # --- the API

    def _result(self, result: Any) -> web.Response:
        return web.json_response({"ok": True, "result": result})

    def _error(self, code: int, description: str, **parameters: Any) -> web.Response:
        body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
        if parameters:
            body["parameters"] = parameters
        return web.json_response(body, status=code)

    def _message(self, chat_id: str, **extra: Any) -> dict[str, Any]:
        return {
            "message_id": next(self._ids),
            "date": int(time.time()),
            "chat": {"id": int(chat_id), "type": "private", "first_name": "Customer"},
            "from": {"id": 777000, "is_bot": True, "first_name": "Test Bot", "username": "test_bot"},
            **extra,
        }

    async def _api(self, request: web.Request) -> web.Response:
        token, method = request.match_info["token"], request.match_info["method"]
        if token not in self.tokens:
            return self._error(401, "Unauthorized")
        if request.content_type == "application/json":
            params = {k: v if isinstance(v, str) else json.dumps(v) for k, v in (await request.json()).items()}
        else:
            params = {k: str(v) for k, v in (await request.post()).items()}
        with self._lock:
            self.calls.append(Call(method, params))
            waits = self._failures.get(method)
            retry_after = waits.pop(0) if waits else None
        if retry_after is not None:
            return self._error(429, f"Too Many Requests: retry after {retry_after}", retry_after=retry_after)
        if method == "getMe":
            return self._result(
                {"id": int(token.split(":")[0]), "is_bot": True, "first_name": "Test Bot", "username": "test_bot"}
            )
        if method == "sendMessage":
            return self._result(self._message(params["chat_id"], text=params.get("text", "")))
        if method == "sendPhoto":
            photo = [{"file_id": "sent", "file_unique_id": "sent", "width": 64, "height": 48}]
            return self._result(self._message(params["chat_id"], photo=photo))
        if method in ("answerCallbackQuery", "setWebhook", "deleteWebhook"):
            return self._result(True)
        if method == "getFile":
            with self._lock:
                item = self._files.get(params.get("file_id", ""))
            if item is None:
                return self._error(400, "Bad Request: invalid file_id")
            file_id = params["file_id"]
            return self._result(
                {"file_id": file_id, "file_unique_id": f"u-{file_id}", "file_size": item.size, "file_path": item.path}
            )
        if method == "getUpdates":
            offset = int(params.get("offset") or 0)
            with self._lock:
                updates = [u for u in self._updates if u["update_id"] >= offset]
                self._updates = updates
            if not updates:
                await asyncio.sleep(0.05)
            return self._result(updates)
        return self._error(404, "Not Found")

    async def _file(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] not in self.tokens:
            return self._error(401, "Unauthorized")
        path = request.match_info["path"]
        with self._lock:
            self.downloads.append(path)
            item = next((f for f in self._files.values() if f.path == path), None)
        if item is None:
            return self._error(404, "Not Found")
        return web.Response(body=item.data, content_type="image/jpeg")

    # --- lifecycle

    def _serve(self) -> None:
        async def start() -> None:
            app = web.Application()
            app.router.add_route("*", "/bot{token}/{method}", self._api)
            app.router.add_get("/file/bot{token}/{path:.+}", self._file)
            self._runner = web.AppRunner(app, access_log=None)
            await self._runner.setup()
            site = web.TCPSite(self._runner, "127.0.0.1", 0)
            await site.start()
            self.port = site._server.sockets[0].getsockname()[1]
            self._ready.set()

        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(start())
        self._loop.run_forever()

    def __enter__(self) -> FakeTelegram:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("fake Telegram did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        async def stop() -> None:
            if self._runner is not None:
                await self._runner.cleanup()

        asyncio.run_coroutine_threadsafe(stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
