"""The agent console, served by the Rasa server under ``/webhooks/console/``.

Agents log in (accounts from ``python -m bot.agents.cli``), see the handoff queue,
take a chat, read its transcript with the bot's summary, the parcel's tracking card,
the claim photos and the tickets, reply on the customer's own channel, transfer the
chat, hand it back to the bot, or close the ticket with a resolution. Supervisors
see every conversation and the access audit.

Security: sessions are HttpOnly ``SameSite=Strict`` cookies holding a random token
(the database keeps only its hash), ``Secure`` over TLS (see
:mod:`connectors.console.auth` for proxies); every state-changing call needs the
session's CSRF token in ``X-CSRF-Token`` (the login form uses a double-submit
cookie); every route but the login page refuses requests without a session (401 for
the API, a redirect for pages); what a session may see and do is decided by
:mod:`connectors.console.access` (403 with the reason otherwise) and every
transcript, photo and phone-number view is recorded. Logins and console requests are
rate-limited per address (429 with ``Retry-After``). Pages carry a strict
Content-Security-Policy and render customer text only through ``textContent``.

The routes are plain handlers in :mod:`connectors.console.routes` (one table,
:data:`~connectors.console.routes.ROUTES`), each behind the one authentication decorator
:func:`connectors.console.auth.requires_session`; this module only builds the blueprint.
"""

from __future__ import annotations

from typing import Any, Awaitable, Callable

from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Blueprint
from sanic.request import Request
from sanic.response import HTTPResponse

from connectors.console import expiry as handoff_expiry
from connectors.console.actions import Services
from connectors.console.auth import COOKIE, LOGIN_CSRF_COOKIE, check_console_request
from connectors.console.routes import CSP, ROUTES, STATIC, too_many

__all__ = ["CSP", "COOKIE", "LOGIN_CSRF_COOKIE", "STATIC", "AgentConsoleInput", "Services"]

_Services = Services  # the name tests and older code used


async def per_address(request: Request) -> HTTPResponse | None:
    """Blueprint middleware: 429 with ``Retry-After`` once the caller's address exceeds the console rate."""
    refused = await check_console_request(request)
    return too_many(refused.wait, refused.reason) if refused else None


class AgentConsoleInput(InputChannel):
    """The agent console as a Rasa input channel (it only ever adds agent messages)."""

    @classmethod
    def name(cls) -> str:
        """URL segment: ``/webhooks/console/``."""
        return "console"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        """Pages, the JSON API and the live event stream (:data:`connectors.console.routes.ROUTES`)."""
        bp = Blueprint(f"agent_console_{id(self)}", __name__)
        handoff_expiry.install(bp)  # stale waiting handoffs go back to the bot, whose customer is told
        bp.middleware("request")(per_address)
        for path, methods, handler in ROUTES:
            bp.add_route(handler, path, methods=list(methods))
        return bp
