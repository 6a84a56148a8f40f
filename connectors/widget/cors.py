"""The widget's CORS rules: only origins in ``WIDGET_ALLOWED_ORIGINS`` get CORS headers.

By default no origin is listed, i.e. same origin only; requests from any other foreign
origin are refused (403).
"""

from __future__ import annotations

from typing import Iterable, Mapping
from urllib.parse import urlsplit

from bot.settings import Settings

CORS_ALLOW_HEADERS = "Authorization, Content-Type"
CORS_ALLOW_METHODS = "GET, POST, OPTIONS"


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
