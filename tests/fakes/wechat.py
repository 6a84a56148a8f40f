"""A local fake of the WeChat Official Account API, over real HTTP (aiohttp in a background thread).

It answers like ``api.weixin.qq.com`` for the four calls the channel makes:

* ``GET /cgi-bin/token?grant_type=client_credential&appid=…&secret=…``: checks the app id
  and secret, counts the calls and issues a new token valid for 7200 s;
* ``POST /cgi-bin/message/custom/send?access_token=…``: checks the token and the JSON body
  and records the message; it can be told to answer the next calls with an error code
  (40001, 45015, 45047…), and answers 45015 to every customer whose 48-hour window it was
  told is closed (:meth:`FakeWeChat.close_window`);
* ``POST /cgi-bin/message/template/send?access_token=…``: checks the token, the template id
  (one of :attr:`FakeWeChat.template_ids`, else 40037) and the body (``touser``, ``data`` of
  ``{"value": …}`` fields, else 47001) and records it, answering ``msgid``; it can be told
  to refuse the next ones (43004 not a follower…);
* ``GET /cgi-bin/media/get?access_token=…&media_id=…``: serves the registered files (a real
  JPEG by default) or ``{"errcode": 40007, …}``.
"""

from __future__ import annotations

import asyncio
import io
import json
import secrets
import threading
import time
from collections import deque
from typing import Any, Callable

from aiohttp import web
from PIL import Image

from tests.support.e2e_servers import free_port

TEMPLATE_ID = "ngqIpbwh8bUfcSsECmogfXcV14J0tQlEpBO27izEYtY"
"""The template the fake account has (WeChat's own documentation example id)."""

ERRMSG = {
    40001: "invalid credential, access_token is invalid or not latest",
    40007: "invalid media_id",
    40013: "invalid appid",
    40125: "invalid appsecret",
    40037: "invalid template_id",
    43004: "require subscribe",
    44002: "empty post data",
    47001: "data format error",
    45015: "response out of time limit or subscription is canceled",
    45047: "out of response count limit",
}


def sample_jpeg(width: int = 64, height: int = 48) -> bytes:
    """A real small JPEG with some structure (not a flat colour)."""
    image = Image.new("RGB", (width, height), (200, 160, 90))
    for x in range(0, width, 8):
        for y in range(height):
            image.putpixel((x, y), (30, 60, 120))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return out.getvalue()


def _error(code: int) -> web.Response:
    return web.json_response({"errcode": code, "errmsg": f"{ERRMSG.get(code, 'error')} rid: {secrets.token_hex(4)}"})


class FakeWeChat:
    """The fake API and what it saw.

    Attributes:
        url: Base URL once started.
        token_calls: Number of ``/cgi-bin/token`` calls.
        issued: Every access token handed out.
        sent: Messages accepted by ``custom/send`` (JSON bodies).
        templates: Template messages accepted by ``template/send`` (JSON bodies).
        template_attempts: Every ``template/send`` call with the error code it got (0 = accepted).
        template_ids: The templates the account has.
        closed: Openids whose customer-service window is closed (every ``custom/send`` gets 45015).
        send_attempts: Every ``custom/send`` call with the error code it got (0 = accepted).
        media: Files served by ``media/get``, by media id.
    """

    def __init__(self, app_id: str, app_secret: str) -> None:
        self.app_id = app_id
        self.app_secret = app_secret
        self.url = ""
        self.media: dict[str, bytes] = {"MEDIA_JPEG": sample_jpeg()}
        self.template_ids = {TEMPLATE_ID}
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self.issued: list[str] = []
        self.reset()

    def reset(self) -> None:
        """Forget every call and queued error (tokens issued before stay valid)."""
        with self._lock:
            self.token_calls = 0
            self.sent: list[dict[str, Any]] = []
            self.send_attempts: list[tuple[str, int]] = []
            self.media_calls = 0
            self._send_errors: deque[int] = deque()
            self.token_delay = 0.0
            self.templates: list[dict[str, Any]] = []
            self.template_attempts: list[tuple[str, int]] = []
            self._template_errors: deque[int] = deque()
            self.closed: set[str] = set()

    def close_window(self, *openids: str) -> None:
        """These customers last wrote more than 48 hours ago: customer-service sends to them get 45015."""
        with self._lock:
            self.closed.update(openids)

    def fail_next_templates(self, *codes: int) -> None:
        """Answer the next ``template/send`` calls with these error codes, in order."""
        with self._lock:
            self._template_errors.extend(codes)

    def fail_next_sends(self, *codes: int) -> None:
        """Answer the next ``custom/send`` calls with these error codes, in order."""
        with self._lock:
            self._send_errors.extend(codes)

    def texts(self, touser: str | None = None) -> list[str]:
        """The contents of accepted text messages (to one customer, or all)."""
        with self._lock:
            return [m["text"]["content"] for m in self.sent if touser is None or m["touser"] == touser]

    def wait_for(self, condition: Callable[[], bool], timeout: float = 5.0) -> None:
        """Poll ``condition`` until true; fail after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition():
                return
            time.sleep(0.02)
        raise AssertionError(f"condition not met within {timeout} s; sent so far: {self.texts()}")

    # handlers ------------------------------------------------------------------------------

    def _valid_token(self, request: web.Request) -> bool:
        return request.query.get("access_token", "") in self.issued

    async def _token(self, request: web.Request) -> web.Response:
        query = request.query
        with self._lock:
            self.token_calls += 1
        if self.token_delay:
            await asyncio.sleep(self.token_delay)
        if query.get("grant_type") != "client_credential" or query.get("appid") != self.app_id:
            return _error(40013)
        if query.get("secret") != self.app_secret:
            return _error(40125)
        token = f"ACCESS_TOKEN_{len(self.issued) + 1}_{secrets.token_hex(16)}"
        with self._lock:
            self.issued.append(token)
        return web.json_response({"access_token": token, "expires_in": 7200})

    async def _send(self, request: web.Request) -> web.Response:
        if not self._valid_token(request):
            with self._lock:
                self.send_attempts.append(("", 40001))
            return _error(40001)
        raw = await request.read()
        try:
            body = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return _error(44002)
        if (
            not isinstance(body, dict)
            or body.get("msgtype") != "text"
            or not isinstance(body.get("touser"), str)
            or not isinstance(body.get("text", {}).get("content"), str)
        ):
            return web.json_response({"errcode": 40008, "errmsg": "invalid message type"})
        with self._lock:
            code = self._send_errors.popleft() if self._send_errors else 0
            if not code and body["touser"] in self.closed:
                code = 45015
            self.send_attempts.append((body["touser"], code))
            if not code:
                self.sent.append(body)
        if code:
            return _error(code)
        return web.json_response({"errcode": 0, "errmsg": "ok"})

    async def _template(self, request: web.Request) -> web.Response:
        if not self._valid_token(request):
            with self._lock:
                self.template_attempts.append(("", 40001))
            return _error(40001)
        try:
            body = json.loads((await request.read()).decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return _error(44002)
        data = body.get("data") if isinstance(body, dict) else None
        if (
            not isinstance(data, dict)
            or not isinstance(body.get("touser"), str)
            or not all(isinstance(v, dict) and isinstance(v.get("value"), str) for v in data.values())
            or not isinstance(body.get("url", ""), str)
        ):
            return _error(47001)
        with self._lock:
            code = self._template_errors.popleft() if self._template_errors else 0
            if not code and body.get("template_id") not in self.template_ids:
                code = 40037
            self.template_attempts.append((body["touser"], code))
            if not code:
                self.templates.append(body)
            msgid = len(self.templates)
        if code:
            return _error(code)
        return web.json_response({"errcode": 0, "errmsg": "ok", "msgid": 200228330 + msgid})

    async def _media(self, request: web.Request) -> web.Response:
        with self._lock:
            self.media_calls += 1
        if not self._valid_token(request):
            return _error(40001)
        data = self.media.get(request.query.get("media_id", ""))
        if data is None:
            return _error(40007)
        return web.Response(
            body=data,
            content_type="image/jpeg",
            headers={"Content-disposition": 'attachment; filename="MEDIA.jpg"', "Cache-Control": "no-cache"},
        )

    # lifecycle ------------------------------------------------------------------------------

    def start(self) -> FakeWeChat:
        """Serve on a free port of 127.0.0.1 in a background thread."""
        app = web.Application()
        app.router.add_get("/cgi-bin/token", self._token)
        app.router.add_post("/cgi-bin/message/custom/send", self._send)
        app.router.add_post("/cgi-bin/message/template/send", self._template)
        app.router.add_get("/cgi-bin/media/get", self._media)
        port = free_port()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="fake-wechat", daemon=True)
        self._thread.start()

        async def boot() -> None:
            self._runner = web.AppRunner(app, access_log=None)  # its access log would show the secret
            await self._runner.setup()
            await web.TCPSite(self._runner, "127.0.0.1", port).start()

        asyncio.run_coroutine_threadsafe(boot(), self._loop).result(10)
        self.url = f"http://127.0.0.1:{port}"
        return self

    def stop(self) -> None:
        """Stop serving and end the thread."""
        if self._loop is None:
            return
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(10)
        self._loop.close()
        self._loop = None
