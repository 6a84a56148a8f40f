"""Who is calling the agent console: client address, TLS, cookies and the login limits.

Behind a reverse proxy the socket peer is the proxy, and anyone can send
``X-Forwarded-For`` / ``X-Forwarded-Proto``. Those headers are believed only when the
direct peer is listed in ``CONSOLE_TRUSTED_PROXY`` (comma-separated addresses or
networks, e.g. ``127.0.0.1,10.0.0.0/8``); otherwise the peer address and the
connection's own scheme count. Sanic's own proxy settings (``FORWARDED_SECRET``,
``PROXIES_COUNT``, ``REAL_IP_HEADER``) are honoured too, since they change
``request.scheme`` and ``request.remote_addr``.

Logins are limited, never locked (``policy/limits.yml``, section ``rates``):

* ``login_per_address``: attempts from one client address, whatever the username;
* ``login_per_account_address``: attempts for one username from one address, so the
  owner's own typos slow down only the owner, and a stranger's guesses never stop
  the owner logging in from their own machine;
* ``login_per_account``: attempts for one username from every address, a ceiling on
  guessing spread over many addresses.

Each is a fixed window: a refused attempt gets 429 with ``Retry-After``; once the
window ends the right password works again. Refused attempts do not extend it.
"""

from __future__ import annotations

import functools
import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass

from sanic.request import Request
from sanic.response import HTTPResponse

from bot.limits import limits
from bot.ratelimit import limiter

TRUSTED_PROXY_ENV = "CONSOLE_TRUSTED_PROXY"
COOKIE_PATH = "/webhooks/console"
LOGIN_RATES = ("login_per_address", "login_per_account_address", "login_per_account")

_Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@functools.lru_cache(maxsize=8)
def parse_trusted(value: str) -> tuple[_Network, ...]:
    """The networks of a ``CONSOLE_TRUSTED_PROXY`` value.

    Raises:
        ValueError: An entry that is not an address or a network.
    """
    networks = []
    for part in value.split(","):
        part = part.strip()
        if part:
            try:
                networks.append(ipaddress.ip_network(part, strict=False))
            except ValueError:
                raise ValueError(f"{TRUSTED_PROXY_ENV}: {part!r} is not an address or network") from None
    return tuple(networks)


def _is_trusted(address: str, env: Mapping[str, str]) -> bool:
    networks = parse_trusted((env.get(TRUSTED_PROXY_ENV) or "").strip())
    if not networks:
        return False
    try:
        ip = ipaddress.ip_address(address.strip().strip("[]"))
    except ValueError:
        return False
    return any(ip in network for network in networks)


def _header_values(request: Request, name: str) -> list[str]:
    return [part.strip() for value in request.headers.getall(name, []) for part in value.split(",") if part.strip()]


def client_address(request: Request, env: Mapping[str, str] | None = None) -> str:
    """The caller's address: from ``X-Forwarded-For`` only when the peer is a trusted proxy.

    The rightmost forwarded address that is not itself a trusted proxy is the client (entries
    further left were written by the client and prove nothing).
    """
    env = os.environ if env is None else env
    peer = request.ip or ""
    if _is_trusted(peer, env):
        chain = _header_values(request, "X-Forwarded-For")
        for hop in reversed(chain):
            if not _is_trusted(hop, env):
                return hop
        return chain[0] if chain else peer
    return request.remote_addr or peer


def is_tls(request: Request, env: Mapping[str, str] | None = None) -> bool:
    """Whether the browser reached us over TLS: directly, or through a trusted proxy that says so."""
    if request.scheme in ("https", "wss"):
        return True
    env = os.environ if env is None else env
    if not _is_trusted(request.ip or "", env):
        return False
    proto = _header_values(request, "X-Forwarded-Proto")
    return bool(proto) and proto[-1].lower() == "https"  # the nearest proxy's word counts


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
