"""The agent console's routes: pages, the JSON API and the live event stream, as plain handlers.

:data:`ROUTES` lists every route once; :meth:`connectors.console.channel.AgentConsoleInput.blueprint`
registers them. Each handler but the login page and the static files is wrapped in
:func:`connectors.console.auth.requires_session`, which hands it the caller's
:class:`bot.agents.models.AgentSession`; what that session may see and do is decided by
:mod:`connectors.console.access`, and what it does to a chat by :mod:`connectors.console.actions`.
"""

from __future__ import annotations

import asyncio
import hmac
import html
import json
import secrets
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sanic import response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.agents.models import AgentSession
from bot.claims.evidence import store_from_env as evidence_from_env
from bot.common.ratelimit import retry_after
from bot.handoff.queue import QueueEntry
from bot.policy.limits import limits
from bot.proactive import watches
from connectors.console import actions as console_actions
from connectors.console import live
from connectors.console.access import FeedFilter, masked_chat, may_act, may_view, notice_view
from connectors.console.actions import Services, chat_view, entry_view
from connectors.console.auth import (
    COOKIE,
    LOGIN_CSRF_COOKIE,
    Handler,
    check_login,
    client_address,
    login_succeeded,
    requires_session,
    set_cookie,
)

STATIC = Path(__file__).resolve().parent / "static"
CSP = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'"
KEEPALIVE_SECONDS = 15.0
"""The live feed sends a keep-alive comment, and re-checks the session, at least this often."""
QUEUE_PAGE = "/webhooks/console/queue"
NOTICE_ROWS = 200
"""Most undeliverable notices one ``GET /api/notices`` lists."""


def page(name: str, status: int = 200, headers: dict[str, str] | None = None, **values: str) -> HTTPResponse:
    """The console page ``name`` with ``{{key}}`` placeholders filled (HTML-escaped), CSP and no framing."""
    text = (STATIC / name).read_text(encoding="utf-8")
    for key, value in values.items():
        text = text.replace("{{" + key + "}}", html.escape(value, quote=True))
    return response.html(
        text, status=status, headers={"Content-Security-Policy": CSP, "X-Frame-Options": "DENY", **(headers or {})}
    )


def too_many(wait: float, reason: str) -> HTTPResponse:
    """429 with ``Retry-After`` and the reason."""
    return response.json({"error": reason, "retry_after": int(retry_after(wait))}, status=429,
                         headers={"Retry-After": retry_after(wait)})  # fmt: skip


def _denied(reason: str) -> HTTPResponse:
    return response.json({"error": reason}, status=403)


async def _record(session: AgentSession, cid: str, kind: str, detail: str | None = None) -> None:
    store = Services.agent_store()
    await asyncio.to_thread(store.record_access, session.username, session.role, cid, kind, detail)


async def _viewable(session: AgentSession, cid: str) -> tuple[QueueEntry | None, HTTPResponse | None]:
    """The queue entry of a chat ``session`` may see, or the refusal."""
    entry = await asyncio.to_thread(live.queue().get, cid)
    decision = may_view(session, entry)
    return entry, (None if decision.allowed else _denied(decision.reason))


def _login_form(request: Request, error: str = "", status: int = 200,
                headers: dict[str, str] | None = None) -> HTTPResponse:  # fmt: skip
    token = secrets.token_urlsafe(24)
    form = page("login.html", status, headers, csrf=token, error=error)
    set_cookie(form, request, LOGIN_CSRF_COOKIE, token)
    return form


async def root(request: Request) -> HTTPResponse:
    """The console's entry: the queue page."""
    return response.redirect(QUEUE_PAGE)


async def static(request: Request, name: str) -> HTTPResponse:
    """The console's script and style sheet (nothing else)."""
    if name not in ("console.js", "console.css"):
        return response.text("not found", status=404)
    kind = "application/javascript" if name.endswith(".js") else "text/css"
    return response.text((STATIC / name).read_text(encoding="utf-8"), content_type=kind)


async def login_page(request: Request) -> HTTPResponse:
    """The login form, with a fresh double-submit CSRF cookie."""
    return _login_form(request)


async def login(request: Request) -> HTTPResponse:
    """Check the login limits, the form's CSRF token and the password; start a session."""
    form = request.form or {}
    username, password = form.get("username") or "", form.get("password") or ""
    address = client_address(request)
    refused = await check_login(address, username)
    if refused is not None:
        wait = retry_after(refused.wait)
        message = f"{refused.reason} Try again in {wait} seconds."
        return _login_form(request, message, 429, {"Retry-After": wait})
    sent, cookie = form.get("csrf") or "", request.cookies.get(LOGIN_CSRF_COOKIE) or ""
    if not sent or not cookie or not hmac.compare_digest(sent.encode(), cookie.encode()):
        return response.text("The login form expired. Reload the page and try again.", status=403)
    agent = await asyncio.to_thread(Services.agent_store().authenticate, username, password)
    if agent is None:
        return _login_form(request, "Wrong username or password.")
    await login_succeeded(address, username)
    new = await asyncio.to_thread(Services.agent_store().start_session, agent.username)
    done = response.redirect(QUEUE_PAGE)
    set_cookie(done, request, COOKIE, new.token)
    return done


@requires_session(api=True, csrf=True)
async def logout(request: Request, session: AgentSession) -> HTTPResponse:
    """End the session and clear its cookie."""
    await asyncio.to_thread(Services.agent_store().end_session, request.cookies.get(COOKIE) or "")
    done = response.json({"ok": True})
    set_cookie(done, request, COOKIE, "", max_age=0)
    return done


@requires_session(api=False)
async def queue_page(request: Request, session: AgentSession) -> HTTPResponse:
    """The handoff queue page."""
    return page("queue.html", csrf=session.csrf_token, agent=session.display_name, role=session.role)


@requires_session(api=False)
async def chat_page(request: Request, session: AgentSession, cid: str) -> HTTPResponse:
    """One chat's page (its data comes from the API, which checks access)."""
    return page("chat.html", csrf=session.csrf_token, agent=session.display_name, conversation=cid,
                role=session.role)  # fmt: skip


@requires_session(api=False, role="supervisor", refused="Only supervisors may read the access audit.")
async def audit_page(request: Request, session: AgentSession) -> HTTPResponse:
    """The access audit page (supervisors only)."""
    return page("audit.html", csrf=session.csrf_token, agent=session.display_name, role=session.role)


@requires_session(api=True)
async def api_queue(request: Request, session: AgentSession) -> HTTPResponse:
    """Waiting chats, the caller's chats and, for a supervisor, the chats other agents hold."""
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


@requires_session(api=True)
async def api_chat(request: Request, session: AgentSession, cid: str) -> HTTPResponse:
    """A chat's transcript, summary, tracking card and tickets, phones masked; recorded."""
    entry, refusal = await _viewable(session, cid)
    if refusal is not None:
        return refusal
    view = await chat_view(request.app.ctx.agent, cid, entry)
    if view is None:
        return response.json({"error": "no such conversation"}, status=404)
    await _record(session, cid, "transcript")
    return response.json(masked_chat(view))


@requires_session(api=True)
async def api_evidence(request: Request, session: AgentSession, cid: str, sha: str) -> HTTPResponse:
    """One claim photo of the chat's tickets; recorded."""
    _entry, refusal = await _viewable(session, cid)
    if refusal is not None:
        return refusal
    tickets = await asyncio.to_thread(Services.ticket_store().for_conversation, cid)
    item = next((e for t in tickets for e in t.evidence if e.sha256 == sha), None)
    path = evidence_from_env().path_for(sha) if item is not None else None
    if item is None or path is None:
        return response.text("not found", status=404)
    await _record(session, cid, "photo", sha)
    return await response.file(str(path), mime_type=item.content_type,
                               headers={"Content-Security-Policy": "default-src 'none'",
                                        "Cache-Control": "private, no-store"})  # fmt: skip


@requires_session(api=True, csrf=True)
async def api_act(request: Request, session: AgentSession, cid: str, verb: str) -> HTTPResponse:
    """Reveal phones, take, reply, transfer, hand back or close a chat (:mod:`connectors.console.actions`)."""
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
        await _record(session, cid, "reveal")
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


@requires_session(api=True, role="supervisor", refused="only supervisors may read the access audit")
async def api_audit(request: Request, session: AgentSession) -> HTTPResponse:
    """The access audit, newest first, filtered by conversation and agent (supervisors only)."""
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


@requires_session(api=True, role="supervisor", refused="only supervisors may read undeliverable notices")
async def api_notices(request: Request, session: AgentSession) -> HTTPResponse:
    """Proactive notices no channel could deliver, newest first, without their text (supervisors only).

    Query: ``status=undeliverable`` (the default, and the only status listed) and ``limit``
    (1 to :data:`NOTICE_ROWS`).
    """
    if (request.args.get("status") or "undeliverable") != "undeliverable":
        return response.json({"error": "status must be undeliverable"}, status=400)
    try:
        wanted = int(request.args.get("limit") or NOTICE_ROWS)
    except ValueError:
        return response.json({"error": "limit must be a number"}, status=400)
    try:
        rows = await asyncio.to_thread(watches.store().undeliverable, max(1, min(wanted, NOTICE_ROWS)))
    except Exception as exc:  # the store is down: say so, never a 500
        return response.json({"error": f"notices unavailable ({type(exc).__name__})"}, status=503)
    return response.json({"rows": [notice_view(n) for n in rows]})


@requires_session(api=True)
async def api_events(request: Request, session: AgentSession) -> HTTPResponse | None:
    """The live feed (server-sent events) this session may see; it ends when the session does."""
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


ROUTES: tuple[tuple[str, tuple[str, ...], Handler], ...] = (
    ("/", ("GET",), root),
    ("/static/<name:str>", ("GET",), static),
    ("/login", ("GET",), login_page),
    ("/login", ("POST",), login),
    ("/logout", ("POST",), logout),
    ("/queue", ("GET",), queue_page),
    ("/chat/<cid:str>", ("GET",), chat_page),
    ("/audit", ("GET",), audit_page),
    ("/api/queue", ("GET",), api_queue),
    ("/api/chat/<cid:str>", ("GET",), api_chat),
    ("/api/chat/<cid:str>/evidence/<sha:str>", ("GET",), api_evidence),
    ("/api/chat/<cid:str>/<verb:str>", ("POST",), api_act),
    ("/api/audit", ("GET",), api_audit),
    ("/api/notices", ("GET",), api_notices),
    ("/api/events", ("GET",), api_events),
)
"""Every console route once: (path under ``/webhooks/console``, methods, handler)."""
