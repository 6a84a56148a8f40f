"""Who is on the other end of a request: the client's address and whether it came over TLS.

Behind a reverse proxy the socket peer is the proxy, and anyone can send
``X-Forwarded-For`` / ``X-Forwarded-Proto``. Those headers are believed only when the
direct peer is listed in ``TRUSTED_PROXIES`` (comma-separated addresses or networks,
e.g. ``127.0.0.1,10.0.0.0/8``); otherwise the peer address and the connection's own
scheme count. Sanic's own proxy settings (``FORWARDED_SECRET``, ``PROXIES_COUNT``,
``REAL_IP_HEADER``) are honoured too, since they change ``request.scheme`` and
``request.remote_addr``. Every rate limit keyed by address (customer channels, console
logins) and the console's ``Secure`` cookies read the address and scheme from here.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Mapping

from sanic.request import Request

from bot.settings import Settings

TRUSTED_PROXY_ENV = "TRUSTED_PROXIES"

_Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@functools.lru_cache(maxsize=8)
def parse_trusted(value: str) -> tuple[_Network, ...]:
    """The networks of a ``TRUSTED_PROXIES`` value.

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


def is_trusted(address: str, env: Mapping[str, str] | Settings) -> bool:
    """Whether ``address`` is one of the trusted proxies (``env``: a mapping or read settings)."""
    configured = env if isinstance(env, Settings) else Settings.from_env(env)
    networks = parse_trusted(configured.trusted_proxies)
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
    configured = Settings.from_env(env)
    peer = request.ip or ""
    if is_trusted(peer, configured):
        chain = _header_values(request, "X-Forwarded-For")
        for hop in reversed(chain):
            if not is_trusted(hop, configured):
                return hop
        return chain[0] if chain else peer
    return request.remote_addr or peer


def is_tls(request: Request, env: Mapping[str, str] | None = None) -> bool:
    """Whether the browser reached us over TLS: directly, or through a trusted proxy that says so."""
    if request.scheme in ("https", "wss"):
        return True
    if not is_trusted(request.ip or "", Settings.from_env(env)):
        return False
    proto = _header_values(request, "X-Forwarded-Proto")
    return bool(proto) and proto[-1].lower() == "https"  # the nearest proxy's word counts
