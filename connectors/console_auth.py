"""Who is calling the agent console: client address, TLS, cookies and the login limits.

The client's address and TLS come from :mod:`connectors.proxy` (``TRUSTED_PROXIES``).

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

from dataclasses import dataclass

from sanic.request import Request
from sanic.response import HTTPResponse

from bot.limits import limits
from bot.ratelimit import limiter
from connectors.proxy import client_address, is_tls

COOKIE_PATH = "/webhooks/console"
LOGIN_RATES = ("login_per_address", "login_per_account_address", "login_per_account")


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
