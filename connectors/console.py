"""The agent console, served by the Rasa server under ``/webhooks/console/``.

Agents log in (accounts from ``python -m bot.agents_cli``), see the handoff queue,
take a chat, read its transcript with the bot's summary, the parcel's tracking card,
the claim photos and the tickets, reply on the customer's own channel, transfer the
chat, hand it back to the bot, or close the ticket with a resolution. Supervisors
see every conversation and the access audit.

Security: sessions are HttpOnly ``SameSite=Strict`` cookies holding a random token
(the database keeps only its hash), ``Secure`` over TLS (see
:mod:`connectors.console_auth` for proxies); every state-changing call needs the
session's CSRF token in ``X-CSRF-Token`` (the login form uses a double-submit
cookie); every route but the login page refuses requests without a session (401 for
the API, a redirect for pages); what a session may see and do is decided by
:mod:`connectors.console_access` (403 with the reason otherwise) and every
transcript, photo and phone-number view is recorded. Logins and console requests are
rate-limited per address (429 with ``Retry-After``). Pages carry a strict
Content-Security-Policy and render customer text only through ``textContent``.
"""

from __future__ import annotations

import asyncio
import hmac
import html
import json
import logging
import secrets
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Awaitable, Callable

from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.agents import AgentSession
from bot.evidence import store_from_env as evidence_from_env
from bot.limits import limits
from bot.ratelimit import retry_after
from connectors import console_actions, handoff_expiry, live
from connectors.console_access import FeedFilter, masked_chat, may_act, may_view
from connectors.console_actions import Services, chat_view, entry_view
from connectors.console_auth import (
    check_console_request,
    check_login,
    client_address,
    login_succeeded,
    set_cookie,
)

logger = logging.getLogger(__name__)

COOKIE = "lcs_console"
LOGIN_CSRF_COOKIE = "lcs_login_csrf"
STATIC = Path(__file__).resolve().parent / "console_static"
CSP = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'"
KEEPALIVE_SECONDS = 15.0
"""The live feed sends a keep-alive comment, and re-checks the session, at least this often."""
_Services = Services  # the name tests and older code used


def _page(name: str, status: int = 200, headers: dict[str, str] | None = None, **values: str) -> HTTPResponse:
    page = (STATIC / name).read_text(encoding="utf-8")
    for key, value in values.items():
        page = page.replace("{{" + key + "}}", html.escape(value, quote=True))
    return response.html(
        page, status=status, headers={"Content-Security-Policy": CSP, "X-Frame-Options": "DENY", **(headers or {})}
    )


def _too_many(wait: float, reason: str) -> HTTPResponse:
    return response.json({"error": reason, "retry_after": int(retry_after(wait))}, status=429,
                         headers={"Retry-After": retry_after(wait)})  # fmt: skip


def _denied(reason: str) -> HTTPResponse:
    return response.json({"error": reason}, status=403)


class AgentConsoleInput(InputChannel):
    """The agent console as a Rasa input channel (it only ever adds agent messages)."""

    @classmethod
    def name(cls) -> str:
        """URL segment: ``/webhooks/console/``."""
        return "console"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        """Pages, the JSON API and the live event stream."""
        bp = Blueprint(f"agent_console_{id(self)}", __name__)
        handoff_expiry.install(bp)  # stale waiting handoffs go back to the bot, whose customer is told

        @bp.middleware("request")
        async def per_address(request: Request) -> HTTPResponse | None:
            refused = await check_console_request(request)
            return _too_many(refused.wait, refused.reason) if refused else None

        def session_of(request: Request) -> AgentSession | None:
            token = request.cookies.get(COOKIE)
            return Services.agent_store().session(token) if token else None

        async def current(request: Request) -> AgentSession | None:
            return await asyncio.to_thread(session_of, request)

        def csrf_ok(request: Request, session: AgentSession) -> bool:
            sent = request.headers.get("X-CSRF-Token") or ""
            return bool(sent) and hmac.compare_digest(sent.encode(), session.csrf_token.encode())

        def forbidden() -> HTTPResponse:
            return response.json({"error": "missing or wrong CSRF token"}, status=403)

        def unauthorised() -> HTTPResponse:
            return response.json({"error": "log in first"}, status=401)

        async def record(session: AgentSession, cid: str, kind: str, detail: str | None = None) -> None:
            store = Services.agent_store()
            await asyncio.to_thread(store.record_access, session.username, session.role, cid, kind, detail)

        @bp.route("/", methods=["GET"])
        async def root(request: Request) -> HTTPResponse:
            return response.redirect("/webhooks/console/queue")

        @bp.route("/static/<name:str>", methods=["GET"])
        async def static(request: Request, name: str) -> HTTPResponse:
            if name not in ("console.js", "console.css"):
                return response.text("not found", status=404)
            kind = "application/javascript" if name.endswith(".js") else "text/css"
            return response.text((STATIC / name).read_text(encoding="utf-8"), content_type=kind)

        def login_form(request: Request, error: str = "", status: int = 200,
                       headers: dict[str, str] | None = None) -> HTTPResponse:  # fmt: skip
            token = secrets.token_urlsafe(24)
            page = _page("login.html", status, headers, csrf=token, error=error)
            set_cookie(page, request, LOGIN_CSRF_COOKIE, token)
            return page

        @bp.route("/login", methods=["GET"])
        async def login_page(request: Request) -> HTTPResponse:
            return login_form(request)

        @bp.route("/login", methods=["POST"])
        async def login(request: Request) -> HTTPResponse:
            form = request.form or {}
            username, password = form.get("username") or "", form.get("password") or ""
            address = client_address(request)
            refused = await check_login(address, username)
            if refused is not None:
                wait = retry_after(refused.wait)
                message = f"{refused.reason} Try again in {wait} seconds."
                return login_form(request, message, 429, {"Retry-After": wait})
            sent, cookie = form.get("csrf") or "", request.cookies.get(LOGIN_CSRF_COOKIE) or ""
            if not sent or not cookie or not hmac.compare_digest(sent.encode(), cookie.encode()):
                return response.text("The login form expired. Reload the page and try again.", status=403)
            agent = await asyncio.to_thread(Services.agent_store().authenticate, username, password)
            if agent is None:
                return login_form(request, "Wrong username or password.")
            await login_succeeded(address, username)
            new = await asyncio.to_thread(Services.agent_store().start_session, agent.username)
            page = response.redirect("/webhooks/console/queue")
            set_cookie(page, request, COOKIE, new.token)
            return page

        @bp.route("/logout", methods=["POST"])
        async def logout(request: Request) -> HTTPResponse:
            session = await current(request)
            if session is None:
                return unauthorised()
            if not csrf_ok(request, session):
                return forbidden()
            await asyncio.to_thread(Services.agent_store().end_session, request.cookies.get(COOKIE) or "")
            page = response.json({"ok": True})
            set_cookie(page, request, COOKIE, "", max_age=0)
            return page

        @bp.route("/queue", methods=["GET"])
        async def queue_page(request: Request) -> HTTPResponse:
            session = await current(request)
            if session is None:
                return response.redirect("/webhooks/console/login")
            return _page("queue.html", csrf=session.csrf_token, agent=session.display_name, role=session.role)

        @bp.route("/chat/<cid:str>", methods=["GET"])
        async def chat_page(request: Request, cid: str) -> HTTPResponse:
            session = await current(request)
            if session is None:
                return response.redirect("/webhooks/console/login")
            return _page("chat.html", csrf=session.csrf_token, agent=session.display_name, conversation=cid,
                         role=session.role)  # fmt: skip

        @bp.route("/audit", methods=["GET"])
        async def audit_page(request: Request) -> HTTPResponse:
            session = await current(request)
            if session is None:
                return response.redirect("/webhooks/console/login")
            if not session.supervisor:
                return response.text("Only supervisors may read the access audit.", status=403)
            return _page("audit.html", csrf=session.csrf_token, agent=session.display_name, role=session.role)

        @bp.route("/api/queue", methods=["GET"])
        async def api_queue(request: Request) -> HTTPResponse:
            session = await current(request)
            if session is None:
                return unauthorised()
            now = datetime.now(timezone.utc)
            waiting = await asyncio.to_thread(live.queue().waiting)
            mine = await asyncio.to_thread(live.queue().claimed, session.username)
            body: dict[str, Any] = {"me": session.username, "role": session.role,
                                    "waiting": [entry_view(e, now) for e in waiting],
                                    "mine": [entry_view(e, now) for e in mine]}  # fmt: skip
            if session.supervisor:
                held = await asyncio.to_thread(live.queue().claimed)
                body["others"] = [entry_view(e, now) for e in held if e.agent != session.username]
            return response.json(body)

        async def viewable(request: Request, cid: str) -> tuple[AgentSession | None, Any, HTTPResponse | None]:
            """The session and queue entry of a chat the caller may see, or the refusal."""
            session = await current(request)
            if session is None:
                return None, None, unauthorised()
            entry = await asyncio.to_thread(live.queue().get, cid)
            decision = may_view(session, entry)
            return session, entry, (None if decision.allowed else _denied(decision.reason))

        @bp.route("/api/chat/<cid:str>", methods=["GET"])
        async def api_chat(request: Request, cid: str) -> HTTPResponse:
            session, entry, refusal = await viewable(request, cid)
            if refusal is not None or session is None:
                return refusal or unauthorised()
            view = await chat_view(request.app.ctx.agent, cid, entry)
            if view is None:
                return response.json({"error": "no such conversation"}, status=404)
            await record(session, cid, "transcript")
            return response.json(masked_chat(view))

        @bp.route("/api/chat/<cid:str>/evidence/<sha:str>", methods=["GET"])
        async def api_evidence(request: Request, cid: str, sha: str) -> HTTPResponse:
            session, _entry, refusal = await viewable(request, cid)
            if refusal is not None or session is None:
                return refusal or unauthorised()
            tickets = await asyncio.to_thread(Services.ticket_store().for_conversation, cid)
            item = next((e for t in tickets for e in t.evidence if e.sha256 == sha), None)
            path = evidence_from_env().path_for(sha) if item is not None else None
            if item is None or path is None:
                return response.text("not found", status=404)
            await record(session, cid, "photo", sha)
            return await response.file(str(path), mime_type=item.content_type,
                                       headers={"Content-Security-Policy": "default-src 'none'",
                                                "Cache-Control": "private, no-store"})  # fmt: skip

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
            entry = await asyncio.to_thread(live.queue().get, cid)
            if verb == "reveal":  # a view, not an action: whoever may see the chat, recorded
                decision = may_view(session, entry)
                if not decision.allowed:
                    return _denied(decision.reason)
                view = await chat_view(request.app.ctx.agent, cid, entry)
                if view is None:
                    return response.json({"error": "no such conversation"}, status=404)
                await record(session, cid, "reveal")
                return response.json({**view, "revealed": True})
            if verb == "claim":
                status, payload = await console_actions.claim(request.app.ctx.agent, session, cid, body, entry)
                return response.json(payload, status=status)
            handler = console_actions.ACTS.get(verb)
            if handler is None:
                return response.json({"error": f"unknown action {verb!r}"}, status=404)
            decision = may_act(session, entry)
            if not decision.allowed:
                return _denied(decision.reason)
            status, payload = await handler(request.app.ctx.agent, session, cid, body, entry)
            return response.json(payload, status=status)

        @bp.route("/api/audit", methods=["GET"])
        async def api_audit(request: Request) -> HTTPResponse:
            session = await current(request)
            if session is None:
                return unauthorised()
            if not session.supervisor:
                return _denied("only supervisors may read the access audit")
            args = request.args
            try:
                wanted = int(args.get("limit") or limits().number("console.audit_rows"))
            except ValueError:
                return response.json({"error": "limit must be a number"}, status=400)
            rows = await asyncio.to_thread(
                Services.agent_store().access_log, conversation_id=args.get("conversation") or None,
                username=args.get("agent") or None, limit=min(wanted, int(limits().number("console.audit_rows"))),
            )  # fmt: skip
            return response.json({"rows": [{"at": r.at.isoformat(), "agent": r.username, "role": r.role,
                                            "conversation_id": r.conversation_id, "kind": r.kind,
                                            "detail": r.detail} for r in rows]})  # fmt: skip

        @bp.route("/api/events", methods=["GET"])
        async def api_events(request: Request) -> HTTPResponse | None:
            session = await current(request)
            if session is None:
                return unauthorised()
            token = request.cookies.get(COOKIE) or ""
            feed = FeedFilter(session, live.queue())
            subscription = live.hub().subscribe()
            try:
                await feed.start()
                headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
                stream = await request.respond(content_type="text/event-stream", headers=headers)
                await stream.send(": connected\n\n")
                checked = time.monotonic()
                while True:
                    try:
                        event = await asyncio.wait_for(subscription.get(), timeout=KEEPALIVE_SECONDS)
                    except asyncio.TimeoutError:
                        event = None
                    if time.monotonic() - checked >= KEEPALIVE_SECONDS:
                        checked = time.monotonic()
                        still = await asyncio.to_thread(Services.agent_store().session, token, touch=False)
                        if still is None or still.role != session.role:
                            break  # logged out, expired, deactivated or role changed: the page reconnects
                    if event is None:
                        await stream.send(": keep-alive\n\n")
                        continue
                    shown = await feed.allow(event)
                    if shown is not None:
                        await stream.send(f"data: {json.dumps(shown, ensure_ascii=False)}\n\n")
            finally:
                live.hub().unsubscribe(subscription)
            await stream.eof()
            return None

        return bp
