"""Limits at the server level, installed by the customer channels into the Sanic app Rasa builds.

Rasa builds the Sanic app and registers each input channel's blueprint on it; the REST
channel is always configured, so its blueprint (a :class:`LimitedBlueprint`, as is the
widget's) installs, once per app, when it is registered:

* ``REQUEST_MAX_SIZE`` = ``body_bytes.server`` from ``policy/limits.yml``: Sanic refuses a
  larger body with 413 from its protocol, on the declared ``Content-Length`` (or as soon as
  a chunked body grows past it), before reading it: nothing of a 30 MB request is read,
  parsed or cleaned.
* per-route limits: a handler marked with :func:`body_limit` gets its own, smaller cap,
  set on the request's stream right after routing (signal ``http.routing.after``), so it
  too is enforced by the protocol before the body is read. Handlers check the body length
  again (:func:`too_large`) in case the app was built without this module.
* a JSON 413 answer with a short reason instead of Sanic's HTML page.
* the Rasa HTTP API token in a header: Rasa's ``requires_auth`` reads ``?token=`` only;
  a request outside ``/webhooks/`` with ``Authorization: Token <token>`` (or ``Bearer``)
  and no ``token`` parameter gets the header's value as that parameter, so the token need
  never appear in a URL (browser history, proxy and access logs). Rasa still does the
  comparison; nothing here logs or keeps the value.

Also the helpers every customer route uses: :func:`is_loopback_client`
and :func:`rate_limited` (429 with ``Retry-After``).
"""

from __future__ import annotations

import ipaddress
import logging
from typing import Any, Callable, TypeVar

from sanic import Blueprint, Sanic, response
from sanic.exceptions import PayloadTooLarge
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.common.ratelimit import limiter, retry_after
from bot.policy.limits import limits

logger = logging.getLogger(__name__)

BODY_LIMIT_ATTR = "__lcs_body_limit__"
"""Attribute :func:`body_limit` puts on a handler: the ``body_bytes`` key of its cap."""
INSTALLED = "lcs_server_limits"
"""Flag on ``app.ctx`` once :func:`install` has run."""
FORWARDING_HEADERS = ("forwarded", "x-forwarded-for", "x-real-ip")
"""Headers a reverse proxy adds: a request carrying one did not come from this host."""
API_TOKEN_SCHEMES = ("token", "bearer")

Handler = TypeVar("Handler", bound=Callable[..., Any])


def body_limit(name: str) -> Callable[[Handler], Handler]:
    """Mark a route handler with its body cap, a key of section ``body_bytes`` (e.g. ``"rest_webhook"``).

    Args:
        name: The key under ``body_bytes`` in ``policy/limits.yml``.
    """

    def mark(handler: Handler) -> Handler:
        setattr(handler, BODY_LIMIT_ATTR, name)
        return handler

    return mark


def route_limit(name: str) -> int:
    """The byte cap of ``body_bytes.<name>`` (never above ``body_bytes.server``)."""
    numbers = limits()
    return int(min(numbers.number(f"body_bytes.{name}"), numbers.number("body_bytes.server")))


def too_large(request: Request, name: str) -> HTTPResponse | None:
    """The 413 answer when the request's body (declared or read) is over ``body_bytes.<name>``, else ``None``."""
    cap = route_limit(name)
    declared = request.headers.get("content-length") or "0"
    if (declared.isdigit() and int(declared) > cap) or len(request.body or b"") > cap:
        return response.json({"error": f"request body too large (at most {cap} bytes)"}, status=413)
    return None


def is_loopback_client(request: Request) -> bool:
    """Whether the request came straight from this host: loopback peer and no proxy headers."""
    if any(request.headers.get(name) for name in FORWARDING_HEADERS):
        return False
    try:
        return ipaddress.ip_address((request.ip or "").split("%", 1)[0]).is_loopback
    except ValueError:
        return False


async def rate_limited(checks: list[tuple[str, str]], cost: int = 1) -> HTTPResponse | None:
    """Count one event against each ``(rate name, key)``; the 429 answer for the first exceeded, else ``None``.

    Every rate in ``checks`` is counted (the later ones too), so a client that is refused on
    one limit cannot go on filling another's budget unseen. Keys are hashed by the limiter.

    Args:
        checks: ``(name in section rates, key)`` pairs, e.g. ``[("rest_per_sender", cid)]``.
        cost: Events to count.

    Returns:
        ``429`` with ``Retry-After`` and ``{"error": ..., "retry_after": seconds}``, or ``None``.
    """
    numbers = limits()
    waits = []
    for name, key in checks:
        waits.append((name, await limiter().hit(name, key, numbers.rate(name), cost)))
    over = [(name, wait) for name, wait in waits if wait > 0]
    if not over:
        return None
    name, wait = max(over, key=lambda item: item[1])
    after = retry_after(wait)
    logger.info("rate limit %s exceeded; retry after %s s", name, after)
    return response.json(
        {"error": "too many requests, please slow down", "retry_after": int(after)},
        status=429,
        headers={"Retry-After": after},
    )


async def _route_body_limit(request: Request, route: Any = None, kwargs: Any = None, handler: Any = None,
                            **_: Any) -> None:  # fmt: skip
    """Signal ``http.routing.after``: lower the stream's size cap to the route's own before the body is read."""
    name = getattr(handler, BODY_LIMIT_ATTR, None)
    stream = getattr(request, "stream", None)
    if name is None or stream is None or not getattr(stream, "request_body", None):
        return
    cap = route_limit(name)
    stream.request_max_size = min(stream.request_max_size, cap)


async def _api_token_from_header(request: Request) -> None:
    """Request middleware: ``Authorization: Token <t>`` becomes ``?token=<t>`` for Rasa's HTTP API."""
    if request.path.startswith("/webhooks/"):
        return
    header = request.headers.get("authorization") or ""
    scheme, _, value = header.strip().partition(" ")
    value = value.strip()
    if scheme.lower() not in API_TOKEN_SCHEMES or not value or len(value) > 4096:
        return
    args = request.args  # parsed once and cached by Sanic; requires_auth reads this same mapping
    if "token" not in args:
        args["token"] = [value]


async def _payload_too_large(request: Request, exception: Exception) -> HTTPResponse:
    stream = getattr(request, "stream", None)
    cap = getattr(stream, "request_max_size", None) or limits().number("body_bytes.server")
    logger.info("refused a request body over %s bytes (%s %s)", int(cap), request.method, request.path)
    return response.json({"error": f"request body too large (at most {int(cap)} bytes)"}, status=413)


def install(app: Sanic) -> None:
    """Install the server-level limits into ``app`` (idempotent; before the server starts)."""
    if getattr(app.ctx, INSTALLED, False):
        return
    setattr(app.ctx, INSTALLED, True)
    app.config.REQUEST_MAX_SIZE = int(limits().number("body_bytes.server"))
    app.signal("http.routing.after")(_route_body_limit)
    app.register_middleware(_api_token_from_header, "request")
    app.error_handler.add(PayloadTooLarge, _payload_too_large)


class LimitedBlueprint(Blueprint):
    """A blueprint that installs :func:`install` into every app it is registered on."""

    def register(self, app: Sanic, options: dict[str, Any]) -> None:
        """Install the server-level limits, then register the routes as usual."""
        install(app)
        super().register(app, options)
