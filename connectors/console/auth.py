"""Who is calling the agent console: client address, TLS, cookies and the login limits.

The client's address and TLS come from :mod:`connectors.common.proxy` (``TRUSTED_PROXIES``).

Logins are limited, never locked (``policy/limits.yml``, section ``rates``):

* ``login_per_address``: attempts from one client address, whatever the username;
* ``login_per_account_address``: attempts for one username from one address, so the
  owner's own typos slow down only the owner, and a stranger's guesses never stop
  the owner logging in from their own machine;
* ``login_per_account``: attempts for one username from every address, a ceiling on
  guessing spread over many addresses.

Each is a fixed window: a refused attempt gets 429 with ``Retry-After``; once the
window ends the right password works again. Refused attempts do not extend it.

Every console route but the login page and the static files is wrapped in
:func:`requires_session`, the one place that looks up the caller's session, refuses
callers without one, checks the CSRF token of state-changing calls and the role.
"""

from __future__ import annotations

import asyncio
import functools
import hmac
from dataclasses import dataclass
from typing import Any, Callable, Coroutine

from sanic import response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.agents.models import AgentSession
from bot.common.ratelimit import limiter
from bot.policy.limits import limits
from connectors.common.proxy import client_address, is_tls
from connectors.console.actions import Services

COOKIE_PATH = "/webhooks/console"
COOKIE = "lcs_console"
"""The session cookie (a random token; the database keeps only its hash)."""
LOGIN_CSRF_COOKIE = "lcs_login_csrf"
"""The login form's double-submit CSRF cookie."""
LOGIN_PAGE = COOKIE_PATH + "/login"
LOGIN_RATES = ("login_per_address", "login_per_account_address", "login_per_account")

Handler = Callable[..., Coroutine[Any, Any, HTTPResponse | None]]
"""A Sanic route handler: ``async (request, **path_parameters) -> response``."""
SessionHandler = Callable[..., Coroutine[Any, Any, HTTPResponse | None]]
"""A console handler: ``async (request, session, **path_parameters) -> response``."""


def set_cookie(page: HTTPResponse, request: Request, name: str, value: str, *, max_age: int | None = None) -> None:
    """An HttpOnly, SameSite=Strict console cookie; ``Secure`` whenever the request came over TLS."""
    page.cookies[name] = value
    cookie = page.cookies[name]
    cookie["httponly"] = True
    cookie["samesite"] = "Strict"
    cookie["path"] = COOKIE_PATH
    if is_tls(request):
        cookie["secure"] = True
    if max_age is not None:
        cookie["max-age"] = max_age


@dataclass(frozen=True)
class Refusal:
    """A refused request: seconds until the next attempt may succeed, and why (safe to show)."""

    wait: float
    reason: str


_REASONS = {
    "login_per_address": "Too many login attempts from this address.",
    "login_per_account_address": "Too many attempts for this account.",
    "login_per_account": "Too many attempts for this account.",
}


def _login_keys(address: str, username: str) -> dict[str, str]:
    name = (username or "").strip().lower()[:64]
    return {"login_per_address": address, "login_per_account_address": f"{name}|{address}", "login_per_account": name}


async def check_login(address: str, username: str) -> Refusal | None:
    """Count one login attempt; a :class:`Refusal` if any login rate is exceeded (nothing else is counted then)."""
    for name, key in _login_keys(address, username).items():
        wait = await limiter().hit(name, key, limits().rate(name))
        if wait:
            return Refusal(wait, _REASONS[name])
    return None


async def login_succeeded(address: str, username: str) -> None:
    """The owner got in: forget their own mistakes from this address (the other windows keep counting)."""
    await limiter().reset("login_per_account_address", _login_keys(address, username)["login_per_account_address"])


async def check_console_request(request: Request) -> Refusal | None:
    """Count one console request of the caller's address (``rates.console_per_address``)."""
    name = "console_per_address"
    wait = await limiter().hit(name, client_address(request), limits().rate(name))
    return Refusal(wait, "Too many requests from this address.") if wait else None


def _session_of(request: Request) -> AgentSession | None:
    token = request.cookies.get(COOKIE)
    return Services.agent_store().session(token) if token else None


async def current_session(request: Request) -> AgentSession | None:
    """The caller's live session from the session cookie (its expiry is extended), or ``None``."""
    return await asyncio.to_thread(_session_of, request)


def csrf_ok(request: Request, session: AgentSession) -> bool:
    """Whether the request carries ``session``'s CSRF token in ``X-CSRF-Token``."""
    sent = request.headers.get("X-CSRF-Token") or ""
    return bool(sent) and hmac.compare_digest(sent.encode(), session.csrf_token.encode())


def requires_session(
    *, api: bool, csrf: bool = False, role: str | None = None, refused: str = ""
) -> Callable[[SessionHandler], Handler]:
    """Protect a console route: the wrapped handler runs only for a logged-in caller and receives the session.

    Checks, in this order:

    1. a live session from the :data:`COOKIE`, else 401 ``{"error": "log in first"}`` for the
       API (``api=True``) or a redirect to the login page for pages;
    2. with ``csrf=True`` (state-changing calls), the session's CSRF token in ``X-CSRF-Token``,
       else 403 ``{"error": "missing or wrong CSRF token"}``;
    3. with ``role`` set, the session's role, else 403 with ``refused`` (``{"error": refused}``
       for the API, ``refused`` as plain text for pages).

    Args:
        api: Whether the route is part of the JSON API (401) or a page (redirect to log in).
        csrf: Whether the route changes state and so needs the CSRF header.
        role: The only role allowed (``"supervisor"``), or ``None`` for every role.
        refused: The reason shown to a caller of another role.

    Returns:
        A decorator turning ``async (request, session, **params)`` into a Sanic handler
        ``async (request, **params)``.
    """

    def decorate(handler: SessionHandler) -> Handler:
        @functools.wraps(handler)
        async def guarded(request: Request, **params: str) -> HTTPResponse | None:
            session = await current_session(request)
            if session is None:
                if api:
                    return response.json({"error": "log in first"}, status=401)
                return response.redirect(LOGIN_PAGE)
            if csrf and not csrf_ok(request, session):
                return response.json({"error": "missing or wrong CSRF token"}, status=403)
            if role is not None and session.role != role:
                return response.json({"error": refused}, status=403) if api else response.text(refused, status=403)
            return await handler(request, session, **params)

        return guarded

    return decorate
