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
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import os
import re
import secrets
from asyncio import CancelledError
from pathlib import Path
from typing import Any, Awaitable, Callable, Iterable, Mapping, Sequence
from urllib.parse import urlsplit

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.claims.evidence import EvidenceStore, store_from_env
from bot.settings import Settings
from connectors.common import senders
from connectors.common.inbound import PHOTO_INTENT, customer_text, is_paused
from connectors.common.metadata import MetadataError
from connectors.common.proxy import client_address
from connectors.common.server_limits import LimitedBlueprint, body_limit, rate_limited, too_large
from connectors.console import live
from connectors.rest.channel import EMPTY_REPLY, FAILURE_REPLY, bearer, parse_json, sender_tag
from connectors.rest.channel import PayloadError as RestPayloadError

logger = logging.getLogger(__name__)

STATIC = Path(__file__).resolve().parent / "static"
MAX_TEXT_CHARS = 4000
MIN_SECRET_CHARS = 16
DEFAULT_SECRET_FILE = "var/widget_secret"
CONVERSATION_PATTERN = re.compile(r"^w-[A-Za-z0-9_-]{22,64}$")
HISTORY_EVENTS = 300
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
CORS_ALLOW_HEADERS = "Authorization, Content-Type"
CORS_ALLOW_METHODS = "GET, POST, OPTIONS"


# --- tokens -------------------------------------------------------------------------------------------


def _signature(secret: bytes, conversation_id: str) -> str:
    mac = hmac.new(secret, b"widget-session:" + conversation_id.encode("ascii"), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode("ascii")


def new_conversation_id() -> str:
    """A fresh random conversation id (``w-`` + 192 random bits, url-safe)."""
    return "w-" + secrets.token_urlsafe(24)


def sign(secret: bytes, conversation_id: str) -> str:
    """The session token for a conversation.

    Args:
        secret: The server's widget secret.
        conversation_id: An id made by :func:`new_conversation_id`.

    Returns:
        ``"<conversation id>.<base64url HMAC-SHA256>"``.

    Raises:
        ValueError: If the id does not look like one of ours.
    """
    if not CONVERSATION_PATTERN.match(conversation_id):
        raise ValueError("not a widget conversation id")
    return f"{conversation_id}.{_signature(secret, conversation_id)}"


def verify(secret: bytes, token: str | None) -> str | None:
    """The conversation id a token was issued for, or ``None`` if it is malformed or forged.

    Args:
        secret: The server's widget secret.
        token: The token as the client sent it.

    Returns:
        The conversation id, only when the signature matches (compared in constant time).
    """
    if not token or len(token) > 200 or not token.isascii():
        return None
    conversation_id, dot, signature = token.rpartition(".")
    if not dot or not CONVERSATION_PATTERN.match(conversation_id):
        return None
    expected = _signature(secret, conversation_id)
    return conversation_id if hmac.compare_digest(expected.encode(), signature.encode()) else None


def load_secret(env: Mapping[str, str] | None = None, path: str | Path | None = None) -> bytes:
    """The widget secret: ``WIDGET_SECRET``, else the file (created once with mode 0600).

    Args:
        env: Environment to read (default: the process's), through :class:`bot.settings.Settings`.
        path: Secret file (default ``WIDGET_SECRET_FILE`` or ``var/widget_secret``).

    Returns:
        The secret bytes.

    Raises:
        ValueError: If ``WIDGET_SECRET`` is set but shorter than 16 characters.
    """
    read = Settings.from_env(env)
    configured = read.widget_secret
    if configured:
        if len(configured) < MIN_SECRET_CHARS:
            raise ValueError(f"WIDGET_SECRET must be at least {MIN_SECRET_CHARS} characters")
        return configured.encode("utf-8")
    file = Path(path or read.widget_secret_file or DEFAULT_SECRET_FILE)
    file.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        stored = file.read_text(encoding="ascii").strip()
        if len(stored) >= MIN_SECRET_CHARS:
            return stored.encode("ascii")
        raise ValueError(f"{file} holds no usable widget secret: delete it to make a new one") from None
    value = secrets.token_urlsafe(48)
    with os.fdopen(fd, "w", encoding="ascii") as out:
        out.write(value + "\n")
    logger.info("widget: generated a new secret in %s", file)
    return value.encode("ascii")


# --- CORS ---------------------------------------------------------------------------------------------


def allowed_origins(env: Mapping[str, str] | None = None) -> frozenset[str]:
    """Origins from ``WIDGET_ALLOWED_ORIGINS`` (comma-separated, normalised, no trailing ``/``)."""
    raw = Settings.from_env(env).widget_allowed_origins.split(",")
    return frozenset(o.strip().rstrip("/").lower() for o in raw if o.strip() and o.strip() != "*")


def same_origin(origin: str, host: str) -> bool:
    """Whether an ``Origin`` header names the host the request came to (scheme ignored: TLS may end at a proxy)."""
    parts = urlsplit(origin)
    return bool(parts.netloc) and parts.netloc.lower() == (host or "").lower()


def cors_headers(origin: str | None, allowed: Iterable[str], *, preflight: bool = False) -> dict[str, str] | None:
    """CORS headers for a request, or ``None`` when the origin is not on the list.

    Args:
        origin: The request's ``Origin`` header.
        allowed: Allowed origins (see :func:`allowed_origins`).
        preflight: Add the preflight answers (methods, headers, max age).

    Returns:
        The headers to add, or ``None`` (no CORS headers at all).
    """
    if not origin or origin.strip().rstrip("/").lower() not in set(allowed):
        return None
    headers = {"Access-Control-Allow-Origin": origin.strip().rstrip("/"), "Vary": "Origin"}
    if preflight:
        headers.update(
            {
                "Access-Control-Allow-Methods": CORS_ALLOW_METHODS,
                "Access-Control-Allow-Headers": CORS_ALLOW_HEADERS,
                "Access-Control-Max-Age": "600",
            }
        )
    return headers


def origin_decision(origin: str | None, host: str, allowed: Iterable[str]) -> str:
    """How to treat a request by its origin: ``"same"``, ``"cors"`` or ``"refuse"``.

    No ``Origin`` header (curl, same-origin GET) and the server's own origin are ``"same"``;
    a listed origin is ``"cors"``; any other origin is refused.
    """
    if not origin:
        return "same"
    if cors_headers(origin, allowed) is not None:
        return "cors"
    return "same" if same_origin(origin, host) else "refuse"


# --- messages -----------------------------------------------------------------------------------------


def to_widget(message: Mapping[str, Any]) -> dict[str, Any]:
    """A Rasa output message (or an outbox item) in the widget's shape.

    Returns:
        ``{"from": "bot"|"agent", "text": str, "buttons": [{"title", "payload"}], "agent": name|None}``.
    """
    buttons = []
    for button in message.get("buttons") or []:
        if isinstance(button, Mapping) and isinstance(button.get("payload"), str):
            buttons.append({"title": str(button.get("title") or button["payload"]), "payload": button["payload"]})
    agent = message.get("agent")
    return {"from": "agent" if agent else "bot", "text": str(message.get("text") or ""), "buttons": buttons,
            "agent": str(agent) if agent else None}  # fmt: skip


def history_of(events: Sequence[Any]) -> list[dict[str, Any]]:
    """Customer, bot and agent messages of a tracker's events, oldest first.

    Args:
        events: Rasa events (``UserUttered``/``BotUttered`` are kept, the rest skipped).

    Returns:
        Widget messages; customer photos show as ``{"from": "customer", "photos": n}``.
    """
    shown: list[dict[str, Any]] = []
    for event in list(events)[-HISTORY_EVENTS:]:
        kind = getattr(event, "type_name", "")
        metadata = getattr(event, "metadata", None) or {}
        if kind == "user":
            text = event.text or ""
            attachments = metadata.get("attachments") if isinstance(metadata, Mapping) else None
            photos = len(attachments) if isinstance(attachments, list) else 0
            shown.append({"from": "customer", "text": "" if text == PHOTO_INTENT else text, "photos": photos})
        elif kind == "bot":
            data = getattr(event, "data", None) or {}
            agent = metadata.get("agent_name") or metadata.get("agent") if isinstance(metadata, Mapping) else None
            shown.append(to_widget({"text": event.text, "buttons": data.get("buttons"), "agent": agent}))
    return shown


class Subscribers:
    """Open event streams per conversation (this process only); messages for nobody go to the outbox."""

    def __init__(self) -> None:
        self._queues: dict[str, set[asyncio.Queue[dict[str, Any]]]] = {}

    def subscribe(self, conversation_id: str) -> asyncio.Queue[dict[str, Any]]:
        """A queue receiving the conversation's pushed messages."""
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(live.SUBSCRIBER_BUFFER)
        self._queues.setdefault(conversation_id, set()).add(queue)
        return queue

    def unsubscribe(self, conversation_id: str, queue: asyncio.Queue[dict[str, Any]]) -> None:
        """Stop a stream; anything it had not sent yet goes back to the outbox."""
        queues = self._queues.get(conversation_id)
        if queues is not None:
            queues.discard(queue)
            if not queues:
                del self._queues[conversation_id]
        while not queue.empty():
            left = queue.get_nowait()
            if not self._queues.get(conversation_id):
                live.outbox().put(conversation_id, left)

    async def push(self, conversation_id: str, messages: Sequence[dict[str, Any]]) -> None:
        """The widget's sender (:func:`connectors.common.senders.register`): open streams, else the outbox."""
        queues = self._queues.get(conversation_id)
        for message in messages:
            if not queues:
                live.outbox().put(conversation_id, dict(message))
                continue
            for queue in queues:
                if queue.full():
                    queue.get_nowait()
                queue.put_nowait(to_widget(message))


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
            except (PayloadError, RestPayloadError) as exc:
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
        collector = CollectingOutputChannel()
        try:
            await on_new_message(UserMessage(text, collector, cid, input_channel=self.name(), metadata=metadata))
        except CancelledError:
            logger.error("widget: handling timed out (sender %s)", sender_tag(cid))
        except Exception as exc:  # the customer must still get an answer
            logger.error("widget: handling failed with %s (sender %s)", type(exc).__name__, sender_tag(cid))
        pending = live.outbox().take(cid)
        replies = pending + collector.messages
        if not replies and not await is_paused(request.app, cid, "widget"):
            replies = [{"text": FAILURE_REPLY}]
        return [to_widget(m) for m in replies]


class PayloadError(ValueError):
    """The widget message body is not valid."""


def parse_message(body: Any) -> tuple[str, dict[str, Any] | None]:
    """Check a ``/message`` body.

    Args:
        body: The decoded JSON body.

    Returns:
        ``(raw_text, metadata)``; ``metadata`` is ``{"attachments": [...]}`` or ``None``.

    Raises:
        PayloadError: With a reason fit to send back to the client.
    """
    if not isinstance(body, dict):
        raise PayloadError("body must be a JSON object")
    text = body.get("text", "")
    if text is None:
        text = ""
    if not isinstance(text, str):
        raise PayloadError("'text' must be a string")
    if len(text) > MAX_TEXT_CHARS:
        raise PayloadError(f"'text' must be at most {MAX_TEXT_CHARS} characters")
    attachments = body.get("attachments")
    if attachments is None or attachments == []:
        return text, None
    if not isinstance(attachments, list):
        raise PayloadError("'attachments' must be a list")
    # the items themselves are checked by content in bot.claims.attachments.ingest (polite answers, not 400s)
    return text, {"attachments": attachments}
