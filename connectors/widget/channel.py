"""The web chat widget channel, served by the Rasa server under ``/webhooks/widget/``.

A shop page embeds the widget with one script tag::

    <script src="https://bot.example/webhooks/widget/static/widget.js" data-server="https://bot.example"
            data-lang="zh"></script>

Routes:

* ``POST /session``: a new conversation (at most ``widget_sessions_per_address`` per client
  address and window); answers ``{"token": ...}``. The token is
  ``<conversation id>.<HMAC-SHA256 of the id>`` keyed with ``WIDGET_SECRET`` (or a
  secret generated once into ``var/widget_secret``, mode 0600). The browser keeps it in
  localStorage and sends ``Authorization: Bearer <token>``; the conversation id is only
  ever taken from a token whose signature checks out (constant-time), so a client can
  neither choose nor guess another customer's conversation (401 otherwise).
* ``POST /message``: ``{"text": ..., "attachments": [{"kind": "image", "data": <base64>}]}``,
  handled exactly like the REST channel (:mod:`connectors.rest.channel`): text cleaned, photos
  checked and stored at the edge while a damage claim is being filed, photo-only messages
  become ``/send_photo``; answers ``{"messages": [...]}`` with the bot's replies and any
  agent messages waiting. At most ``widget_per_token`` messages per conversation.
* ``GET /history``: the conversation's customer, bot and agent messages (Rasa tracker).
* ``GET /events``: server-sent events with agent messages pushed live (the client reads
  them with ``fetch`` so the token stays in a header, never in a URL).
* ``GET /demo``, ``GET /static/widget.js|widget.css``: the demo page (strict CSP) and assets.

Limits (``policy/limits.yml``): bodies over ``body_bytes.widget_message`` (``/message``) or
``body_bytes.widget_small`` (every other route) are refused with 413 before they are read;
every route counts against ``widget_per_address``, history loads and event-stream
connections against ``widget_reads_per_token``; over a rate, 429 with ``Retry-After``.

CORS: only origins in ``WIDGET_ALLOWED_ORIGINS`` (comma-separated) get CORS headers and
preflight answers; by default none, i.e. same origin only. Requests from any other
foreign origin are refused (403).

The pieces: session tokens in :mod:`connectors.widget.tokens`, the CORS rules in
:mod:`connectors.widget.cors`, the widget's message shapes, history and live pushes in
:mod:`connectors.widget.messages`; the turn itself is :func:`connectors.common.turn.collected_turn`,
as for the REST channel.
"""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
from typing import Any, Awaitable, Callable

from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.claims.evidence import EvidenceStore, store_from_env
from connectors.common import senders
from connectors.common.http import PayloadError, bearer, parse_json
from connectors.common.inbound import customer_text
from connectors.common.metadata import MetadataError
from connectors.common.proxy import client_address
from connectors.common.replies import EMPTY_REPLY
from connectors.common.server_limits import LimitedBlueprint, body_limit, rate_limited, too_large
from connectors.common.turn import collected_turn
from connectors.console import live
from connectors.widget.cors import allowed_origins, cors_headers, origin_decision
from connectors.widget.messages import Subscribers, history_of, parse_message, to_widget
from connectors.widget.tokens import load_secret, new_conversation_id, sign, verify

logger = logging.getLogger(__name__)

STATIC = Path(__file__).resolve().parent / "static"
KEEP_ALIVE_SECONDS = 15.0
OUTBOX_CHECK_SECONDS = 5.0
"""How often an open event stream also collects the outbox (messages left by another replica)."""
CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)
STATIC_FILES = {"widget.js": "application/javascript; charset=utf-8", "widget.css": "text/css; charset=utf-8"}
WIDGET_PATH = "/webhooks/widget/"
SANIC_CORS_EVALUATED = "_sanic_cors_e"
"""The request-context flag by which sanic-cors (installed by ``rasa run``) skips a response."""


_subscribers = Subscribers()


# --- channel ------------------------------------------------------------------------------------------


class WebWidgetInput(InputChannel):
    """The embeddable web chat widget as a Rasa input channel."""

    def __init__(self) -> None:
        """Reads the secret and allowed origins from the environment and registers the push sender."""
        self.secret = load_secret()
        self.origins = allowed_origins()
        self._evidence: EvidenceStore | None = None
        senders.register(self.name(), _subscribers.push)

    @classmethod
    def name(cls) -> str:
        """URL segment and channel name: ``/webhooks/widget/``."""
        return "widget"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> WebWidgetInput:
        """Built from ``credentials.yml`` (no keys: settings come from the environment)."""
        return cls()

    def evidence(self) -> EvidenceStore:
        """The evidence store photos go to (``EVIDENCE_DIR``), built on first use."""
        if self._evidence is None:
            self._evidence = store_from_env()
        return self._evidence

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        """Session, message, history, event-stream, demo and static routes."""
        bp = LimitedBlueprint(f"web_widget_{id(self)}", __name__)

        def finish(request: Request, reply: HTTPResponse) -> HTTPResponse:
            headers = cors_headers(request.headers.get("origin"), self.origins)
            if headers:
                reply.headers.update(headers)
            return reply

        def error(request: Request, status: int, reason: str) -> HTTPResponse:
            return finish(request, response.json({"error": reason}, status=status))

        def preflight(request: Request) -> HTTPResponse:
            headers = cors_headers(request.headers.get("origin"), self.origins, preflight=True)
            if headers is None:
                return response.text("origin not allowed", status=403)
            return response.empty(status=204, headers=headers)

        async def limited(request: Request, checks: list[tuple[str, str]], body: str) -> HTTPResponse | None:
            """The 413 or 429 to send (with this route's CORS headers), else ``None``."""
            refusal = too_large(request, body) or await rate_limited(
                [("widget_per_address", client_address(request)), *checks]
            )
            return finish(request, refusal) if refusal is not None else None

        async def check(
            request: Request, rate: str, body: str = "widget_small"
        ) -> tuple[str | None, HTTPResponse | None]:
            """The caller's conversation, or the refusal to send (origin, size, token, rates)."""
            if origin_decision(request.headers.get("origin"), request.host, self.origins) == "refuse":
                return None, response.json({"error": "origin not allowed"}, status=403)
            cid = verify(self.secret, bearer(request.headers.get("authorization")))
            if cid is None:
                return None, await limited(request, [], body) or error(request, 401, "missing or invalid session token")
            return cid, await limited(request, [(rate, cid)], body)

        async def widget_cors(request: Request) -> HTTPResponse | None:
            """Runs before Rasa's sanic-cors: the widget answers its own preflights and owns its CORS headers."""
            if not request.path.startswith(WIDGET_PATH):
                return None
            setattr(request.ctx, SANIC_CORS_EVALUATED, "1")  # sanic-cors leaves these responses alone
            return preflight(request) if request.method == "OPTIONS" else None

        @bp.listener("before_server_start")
        async def install_cors(app: Any, _loop: Any) -> None:
            if widget_cors not in app.request_middleware:
                app.request_middleware.appendleft(widget_cors)

        @bp.route("/session", methods=["POST", "OPTIONS"])
        @body_limit("widget_small")
        async def session(request: Request) -> HTTPResponse:
            if request.method == "OPTIONS":
                return preflight(request)
            if origin_decision(request.headers.get("origin"), request.host, self.origins) == "refuse":
                return response.json({"error": "origin not allowed"}, status=403)
            refusal = await limited(request, [("widget_sessions_per_address", client_address(request))],
                                    "widget_small")  # fmt: skip
            if refusal is not None:
                return refusal
            cid = new_conversation_id()
            return finish(request, response.json({"token": sign(self.secret, cid)}))

        @bp.route("/message", methods=["POST", "OPTIONS"])
        @body_limit("widget_message")
        async def message(request: Request) -> HTTPResponse:
            if request.method == "OPTIONS":
                return preflight(request)
            cid, refusal = await check(request, "widget_per_token", "widget_message")
            if refusal is not None or cid is None:
                return refusal or error(request, 401, "missing or invalid session token")
            try:
                raw_text, metadata = parse_message(parse_json(request.body))
            except PayloadError as exc:
                return error(request, 400, str(exc))
            return finish(request, response.json({"messages": await self._handle(
                request, on_new_message, cid, raw_text, metadata)}))  # fmt: skip

        @bp.route("/history", methods=["GET", "OPTIONS"])
        @body_limit("widget_small")
        async def history(request: Request) -> HTTPResponse:
            if request.method == "OPTIONS":
                return preflight(request)
            cid, refusal = await check(request, "widget_reads_per_token")
            if refusal is not None or cid is None:
                return refusal or error(request, 401, "missing or invalid session token")
            # whatever waits in the outbox is in the tracker too: the reloaded page shows it from there
            live.outbox().take(cid)
            tracker = await request.app.ctx.agent.tracker_store.retrieve(cid)
            shown = history_of(tracker.events) if tracker is not None else []
            return finish(request, response.json({"messages": shown}))

        @bp.route("/events", methods=["GET", "OPTIONS"])
        @body_limit("widget_small")
        async def events(request: Request) -> HTTPResponse | None:
            if request.method == "OPTIONS":
                return preflight(request)
            cid, refusal = await check(request, "widget_reads_per_token")
            if refusal is not None or cid is None:
                return refusal or error(request, 401, "missing or invalid session token")
            headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
            headers.update(cors_headers(request.headers.get("origin"), self.origins) or {})
            stream = await request.respond(content_type="text/event-stream", headers=headers)
            queue = _subscribers.subscribe(cid)
            try:
                await stream.send(": connected\n\n")
                waited = 0.0
                while True:
                    pending = [to_widget(m) for m in live.outbox().take(cid)]
                    for item in pending:
                        await stream.send(f"data: {json.dumps(item, ensure_ascii=False)}\n\n")
                    try:
                        item = await asyncio.wait_for(queue.get(), timeout=OUTBOX_CHECK_SECONDS)
                        await stream.send(f"data: {json.dumps(item, ensure_ascii=False)}\n\n")
                        waited = 0.0
                    except asyncio.TimeoutError:
                        waited += OUTBOX_CHECK_SECONDS
                        if waited >= KEEP_ALIVE_SECONDS:
                            await stream.send(": keep-alive\n\n")
                            waited = 0.0
            finally:
                _subscribers.unsubscribe(cid, queue)
            return None

        @bp.route("/demo", methods=["GET"])
        @body_limit("widget_small")
        async def demo(request: Request) -> HTTPResponse:
            refusal = await limited(request, [], "widget_small")
            if refusal is not None:
                return refusal
            html = (STATIC / "demo.html").read_text(encoding="utf-8")
            return response.html(html, headers={"Content-Security-Policy": CSP, "X-Frame-Options": "DENY",
                                                "Referrer-Policy": "no-referrer"})  # fmt: skip

        @bp.route("/static/<name:str>", methods=["GET"])
        @body_limit("widget_small")
        async def static(request: Request, name: str) -> HTTPResponse:
            refusal = await limited(request, [], "widget_small")
            if refusal is not None:
                return refusal
            kind = STATIC_FILES.get(name)
            if kind is None:
                return response.text("not found", status=404)
            reply = response.text((STATIC / name).read_text(encoding="utf-8"), content_type=kind,
                                  headers={"Cache-Control": "public, max-age=300",
                                           "X-Content-Type-Options": "nosniff"})  # fmt: skip
            return reply

        return bp

    async def _handle(
        self,
        request: Request,
        on_new_message: Callable[[UserMessage], Awaitable[Any]],
        cid: str,
        raw_text: str,
        metadata: dict[str, Any] | None,
    ) -> list[dict[str, Any]]:
        """One customer message through Rasa, exactly as :mod:`connectors.rest.channel` does it."""
        try:
            text, metadata = await customer_text(raw_text, metadata, self.evidence(), "widget", app=request.app,
                                                 sender_id=cid, address=client_address(request))  # fmt: skip
        except MetadataError:  # parse_message builds the metadata itself: only ever an object
            text, metadata = "", None
        if not text:
            return [to_widget({"text": EMPTY_REPLY})]
        replies = await collected_turn(on_new_message, text, cid, self.name(), app=request.app, metadata=metadata)
        return [to_widget(m) for m in replies]
