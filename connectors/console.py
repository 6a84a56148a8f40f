"""The agent console, served by the Rasa server under ``/webhooks/console/``.

Agents log in (accounts from ``python -m bot.agents_cli``), see the handoff queue,
take a chat, read its transcript with the bot's summary, the parcel's tracking card,
the claim photos and the tickets, reply on the customer's own channel, transfer the
chat, hand it back to the bot, or close the ticket with a resolution.

Security: sessions are HttpOnly ``SameSite=Strict`` cookies holding a random token
(the database keeps only its hash); every state-changing call needs the session's
CSRF token in ``X-CSRF-Token`` (the login form uses a double-submit cookie); every
route but the login page refuses requests without a session (401 for the API, a
redirect for pages). Pages carry a strict Content-Security-Policy and render
customer text only through ``textContent``, so ``<script>`` from a customer stays text.
"""

from __future__ import annotations

import asyncio
import hmac
import html
import json
import logging
import secrets
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Awaitable, Callable

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.events import ActionExecuted, BotUttered, ConversationResumed
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.agents import AgentSession, AgentStore
from bot.agents import store_from_env as agents_from_env
from bot.evidence import store_from_env as evidence_from_env
from bot.handoff_queue import QueueEntry
from bot.messages import describe_shipment, now_in_china
from bot.tickets import InvalidTransition, TicketStatus, TicketStore, TicketType
from bot.tickets import store_from_env as tickets_from_env
from bot.tracking import provider_from_env
from connectors import live
from connectors.senders import deliver

logger = logging.getLogger(__name__)

COOKIE = "lcs_console"
LOGIN_CSRF_COOKIE = "lcs_login_csrf"
MAX_REPLY = 2000
STATIC = Path(__file__).resolve().parent / "console_static"
CSP = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'"
TRANSCRIPT_EVENTS = 200


class _Services:
    """Stores the console uses, built on first use (after Rasa has loaded)."""

    agents: AgentStore | None = None
    tickets: TicketStore | None = None

    @classmethod
    def agent_store(cls) -> AgentStore:
        if cls.agents is None:
            cls.agents = agents_from_env()
        return cls.agents

    @classmethod
    def ticket_store(cls) -> TicketStore:
        if cls.tickets is None:
            cls.tickets = tickets_from_env()
        return cls.tickets


def _page(name: str, **values: str) -> HTTPResponse:
    page = (STATIC / name).read_text(encoding="utf-8")
    for key, value in values.items():
        page = page.replace("{{" + key + "}}", html.escape(value, quote=True))
    return response.html(page, headers={"Content-Security-Policy": CSP, "X-Frame-Options": "DENY"})


def _set_cookie(page: HTTPResponse, name: str, value: str, *, secure: bool, max_age: int | None = None) -> None:
    """An HttpOnly, SameSite=Strict cookie scoped to the console (Sanic 21 cookie API)."""
    page.cookies[name] = value
    cookie = page.cookies[name]
    cookie["httponly"] = True
    cookie["samesite"] = "Strict"
    cookie["path"] = "/webhooks/console"
    if secure:
        cookie["secure"] = True
    if max_age is not None:
        cookie["max-age"] = max_age


def _entry(entry: QueueEntry, now: datetime) -> dict[str, Any]:
    return {
        "conversation_id": entry.conversation_id, "channel": entry.channel, "ticket_id": entry.ticket_id,
        "level": entry.level, "anger": entry.anger, "reason": entry.reason, "summary": entry.summary,
        "agent": entry.agent, "waiting_seconds": int((now - entry.enqueued_at).total_seconds()),
        "enqueued_at": entry.enqueued_at.isoformat(),
    }  # fmt: skip


def _ticket(ticket: Any) -> dict[str, Any]:
    return {
        "id": ticket.id, "type": ticket.type.value, "level": ticket.level, "status": ticket.status.value,
        "waybill": ticket.waybill, "summary": ticket.summary, "respond_by": ticket.respond_by.isoformat(),
        "resolve_by": ticket.resolve_by.isoformat(),
        "decision": None if ticket.decision is None else {
            "kind": ticket.decision.kind, "amount": str(ticket.decision.amount), "reason": ticket.decision.reason_code},
        "evidence": [{"sha256": e.sha256, "kind": e.kind, "content_type": e.content_type} for e in ticket.evidence],
    }  # fmt: skip


class AgentConsoleInput(InputChannel):
    """The agent console as a Rasa input channel (it only ever adds agent messages)."""

    @classmethod
    def name(cls) -> str:
        """URL segment: ``/webhooks/console/``."""
        return "console"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        """Pages, the JSON API and the live event stream."""
        bp = Blueprint(f"agent_console_{id(self)}", __name__)

        def session_of(request: Request) -> AgentSession | None:
            token = request.cookies.get(COOKIE)
            return _Services.agent_store().session(token) if token else None

        async def current(request: Request) -> AgentSession | None:
            return await asyncio.to_thread(session_of, request)

        def csrf_ok(request: Request, session: AgentSession) -> bool:
            sent = request.headers.get("X-CSRF-Token") or ""
            return bool(sent) and hmac.compare_digest(sent.encode(), session.csrf_token.encode())

        def forbidden() -> HTTPResponse:
            return response.json({"error": "missing or wrong CSRF token"}, status=403)

        def unauthorised() -> HTTPResponse:
            return response.json({"error": "log in first"}, status=401)

        @bp.route("/", methods=["GET"])
        async def root(request: Request) -> HTTPResponse:
            return response.redirect("/webhooks/console/queue")

        @bp.route("/static/<name:str>", methods=["GET"])
        async def static(request: Request, name: str) -> HTTPResponse:
            if name not in ("console.js", "console.css"):
                return response.text("not found", status=404)
            kind = "application/javascript" if name.endswith(".js") else "text/css"
            return response.text((STATIC / name).read_text(encoding="utf-8"), content_type=kind)

        @bp.route("/login", methods=["GET"])
        async def login_page(request: Request, error: str = "") -> HTTPResponse:
            token = secrets.token_urlsafe(24)
            page = _page("login.html", csrf=token, error=error)
            _set_cookie(page, LOGIN_CSRF_COOKIE, token, secure=request.scheme == "https")
            return page

        @bp.route("/login", methods=["POST"])
        async def login(request: Request) -> HTTPResponse:
            form = request.form or {}
            sent, cookie = form.get("csrf") or "", request.cookies.get(LOGIN_CSRF_COOKIE) or ""
            if not sent or not cookie or not hmac.compare_digest(sent.encode(), cookie.encode()):
                return response.text("The login form expired. Reload the page and try again.", status=403)
            username, password = form.get("username") or "", form.get("password") or ""
            agent = await asyncio.to_thread(_Services.agent_store().authenticate, username, password)
            if agent is None:
                return await login_page(request, error="Wrong username or password (or too many attempts).")
            new = await asyncio.to_thread(_Services.agent_store().start_session, agent.username)
            page = response.redirect("/webhooks/console/queue")
            _set_cookie(page, COOKIE, new.token, secure=request.scheme == "https")
            return page

        @bp.route("/logout", methods=["POST"])
        async def logout(request: Request) -> HTTPResponse:
            session = await current(request)
            if session is None:
                return unauthorised()
            if not csrf_ok(request, session):
                return forbidden()
            await asyncio.to_thread(_Services.agent_store().end_session, request.cookies.get(COOKIE) or "")
            page = response.json({"ok": True})
            _set_cookie(page, COOKIE, "", secure=request.scheme == "https", max_age=0)
            return page

        @bp.route("/queue", methods=["GET"])
        async def queue_page(request: Request) -> HTTPResponse:
            session = await current(request)
            if session is None:
                return response.redirect("/webhooks/console/login")
            return _page("queue.html", csrf=session.csrf_token, agent=session.display_name)

        @bp.route("/chat/<cid:str>", methods=["GET"])
        async def chat_page(request: Request, cid: str) -> HTTPResponse:
            session = await current(request)
            if session is None:
                return response.redirect("/webhooks/console/login")
            return _page("chat.html", csrf=session.csrf_token, agent=session.display_name, conversation=cid)

        @bp.route("/api/queue", methods=["GET"])
        async def api_queue(request: Request) -> HTTPResponse:
            session = await current(request)
            if session is None:
                return unauthorised()
            now = datetime.now(timezone.utc)
            waiting = await asyncio.to_thread(live.queue().waiting)
            mine = await asyncio.to_thread(live.queue().claimed, session.username)
            return response.json({"me": session.username, "waiting": [_entry(e, now) for e in waiting],
                                  "mine": [_entry(e, now) for e in mine]})

        @bp.route("/api/chat/<cid:str>", methods=["GET"])
        async def api_chat(request: Request, cid: str) -> HTTPResponse:
            session = await current(request)
            if session is None:
                return unauthorised()
            agent = request.app.ctx.agent
            tracker = await agent.tracker_store.retrieve(cid)
            if tracker is None:
                return response.json({"error": "no such conversation"}, status=404)
            transcript = []
            for event in list(tracker.events)[-TRANSCRIPT_EVENTS:]:
                if isinstance(event, BotUttered) or event.type_name == "user":
                    metadata = getattr(event, "metadata", None) or {}
                    author = "customer" if event.type_name == "user" else ("agent" if metadata.get("agent") else "bot")
                    transcript.append({"author": author, "agent": metadata.get("agent"), "text": event.text or "",
                                       "at": datetime.fromtimestamp(event.timestamp, tz=timezone.utc).isoformat()})
            tickets = await asyncio.to_thread(_Services.ticket_store().for_conversation, cid)
            entry = await asyncio.to_thread(live.queue().get, cid)
            handoff = tracker.get_slot("handoff") if "handoff" in tracker.slots else None
            waybill = tracker.get_slot("claim_waybill") or tracker.get_slot("waybill")
            return response.json({
                "conversation_id": cid, "paused": tracker.is_paused(), "queue": entry and _entry(entry, datetime.now(
                    timezone.utc)), "handoff": handoff, "transcript": transcript,
                "tickets": [_ticket(t) for t in tickets], "tracking": await _tracking_card(waybill),
            })  # fmt: skip

        @bp.route("/api/chat/<cid:str>/evidence/<sha:str>", methods=["GET"])
        async def api_evidence(request: Request, cid: str, sha: str) -> HTTPResponse:
            session = await current(request)
            if session is None:
                return unauthorised()
            tickets = await asyncio.to_thread(_Services.ticket_store().for_conversation, cid)
            item = next((e for t in tickets for e in t.evidence if e.sha256 == sha), None)
            path = evidence_from_env().path_for(sha) if item is not None else None
            if item is None or path is None:
                return response.text("not found", status=404)
            return await response.file(str(path), mime_type=item.content_type,
                                       headers={"Content-Security-Policy": "default-src 'none'"})

        @bp.route("/api/chat/<cid:str>/<verb:str>", methods=["POST"])
        async def api_act(request: Request, cid: str, verb: str) -> HTTPResponse:
            session = await current(request)
            if session is None:
                return unauthorised()
            if not csrf_ok(request, session):
                return forbidden()
            body = request.json if request.body else {}
            if not isinstance(body, dict):
                return response.json({"error": "body must be a JSON object"}, status=400)
            actions = {"claim": _claim, "reply": _reply, "transfer": _transfer, "handback": _handback,
                       "close": _close}  # fmt: skip
            handler = actions.get(verb)
            if handler is None:
                return response.json({"error": f"unknown action {verb!r}"}, status=404)
            status, payload = await handler(request.app.ctx.agent, session, cid, body)
            return response.json(payload, status=status)

        @bp.route("/api/events", methods=["GET"])
        async def api_events(request: Request) -> HTTPResponse | None:
            session = await current(request)
            if session is None:
                return unauthorised()
            stream = await request.respond(content_type="text/event-stream",
                                           headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
            subscription = live.hub().subscribe()
            try:
                await stream.send(": connected\n\n")
                while True:
                    try:
                        event = await asyncio.wait_for(subscription.get(), timeout=15)
                        await stream.send(f"data: {json.dumps(event, ensure_ascii=False)}\n\n")
                    except asyncio.TimeoutError:
                        await stream.send(": keep-alive\n\n")
            finally:
                live.hub().unsubscribe(subscription)
            return None

        return bp


async def _tracking_card(waybill: Any) -> str | None:
    if not isinstance(waybill, str) or not waybill or waybill == "-":
        return None
    try:
        shipment = await asyncio.wait_for(provider_from_env().get(waybill, ()), 3)
    except Exception as exc:  # the card is a convenience: the chat still opens
        logger.warning("console: tracking card unavailable: %s", type(exc).__name__)
        return None
    return describe_shipment(shipment, "zh", now_in_china()) if shipment else None


async def _holder(cid: str, session: AgentSession) -> QueueEntry | None:
    entry = await asyncio.to_thread(live.queue().get, cid)
    return entry if entry is not None and entry.agent == session.username else None


async def _claim(agent: Any, session: AgentSession, cid: str, body: dict) -> tuple[int, dict]:
    entry = await asyncio.to_thread(live.queue().claim, cid, session.username)
    if entry is None:
        return 409, {"error": "this chat is not waiting: another agent may have taken it"}
    if entry.ticket_id.startswith("TK-"):
        try:
            await asyncio.to_thread(_Services.ticket_store().transition, entry.ticket_id, TicketStatus.IN_PROGRESS,
                                    f"agent:{session.username}", "taken over in the console")
        except (InvalidTransition, LookupError):
            pass  # already in progress (taken over before): nothing to change
    live.hub().publish({"type": "queue", "conversation_id": cid, "change": "claimed", "agent": session.username})
    return 200, {"ok": True, "agent": session.username}


async def _append(agent: Any, cid: str, *events: Any) -> Any:
    async with agent.lock_store.lock(cid):
        tracker = await agent.processor.get_tracker(cid)
        for event in events:
            tracker.update(event)
        await agent.tracker_store.save(tracker)
        return tracker


async def _reply(agent: Any, session: AgentSession, cid: str, body: dict) -> tuple[int, dict]:
    entry = await _holder(cid, session)
    if entry is None:
        return 409, {"error": "take the chat before replying"}
    text = body.get("text")
    if not isinstance(text, str) or not text.strip() or len(text) > MAX_REPLY:
        return 400, {"error": f"text must be 1-{MAX_REPLY} characters"}
    text = text.strip()
    await _append(agent, cid, BotUttered(text, metadata={"agent": session.username,
                                                         "agent_name": session.display_name}))
    await deliver(entry.channel, cid, [{"recipient_id": cid, "text": text, "agent": session.display_name}])
    return 200, {"ok": True}


async def _transfer(agent: Any, session: AgentSession, cid: str, body: dict) -> tuple[int, dict]:
    to = body.get("to")
    if not isinstance(to, str) or not to.strip():
        return 400, {"error": "say who to transfer to"}
    agents = await asyncio.to_thread(_Services.agent_store().list_agents)
    if not any(a.username == to.strip().lower() and a.active for a in agents):
        return 404, {"error": "no such active agent"}
    try:
        entry = await asyncio.to_thread(live.queue().transfer, cid, session.username, to.strip().lower())
    except ValueError as exc:
        return 400, {"error": str(exc)}
    if entry is None:
        return 409, {"error": "only the agent holding the chat can transfer it"}
    live.hub().publish({"type": "queue", "conversation_id": cid, "change": "transferred", "agent": entry.agent})
    return 200, {"ok": True, "agent": entry.agent}


async def _handback(agent: Any, session: AgentSession, cid: str, body: dict) -> tuple[int, dict]:
    entry = await _holder(cid, session)
    if entry is None:
        return 409, {"error": "only the agent holding the chat can hand it back"}
    await _append(agent, cid, ConversationResumed())
    await asyncio.to_thread(live.queue().release, cid)
    collector = CollectingOutputChannel()
    async with agent.lock_store.lock(cid):
        await agent.execute_action(cid, "utter_welcome_back", collector, None, 1.0)
    # the bot now waits for the customer, exactly as after any reply of its own
    await _append(agent, cid, ActionExecuted(ACTION_LISTEN_NAME))
    await deliver(entry.channel, cid, collector.messages)
    live.hub().publish({"type": "queue", "conversation_id": cid, "change": "handed_back"})
    return 200, {"ok": True}


async def _close(agent: Any, session: AgentSession, cid: str, body: dict) -> tuple[int, dict]:
    entry = await _holder(cid, session)
    if entry is None:
        return 409, {"error": "only the agent holding the chat can close it"}
    resolution = body.get("resolution")
    if not isinstance(resolution, str) or not resolution.strip():
        return 400, {"error": "write the resolution"}
    store = _Services.ticket_store()
    ticket = await asyncio.to_thread(store.get, entry.ticket_id) if entry.ticket_id.startswith("TK-") else None
    if ticket is not None and ticket.type is TicketType.HANDOFF:
        actor = f"agent:{session.username}"
        if ticket.status is TicketStatus.OPEN:
            await asyncio.to_thread(store.transition, ticket.id, TicketStatus.IN_PROGRESS, actor)
        await asyncio.to_thread(store.transition, ticket.id, TicketStatus.RESOLVED, actor, resolution.strip()[:2000])
    return await _handback(agent, session, cid, body)
