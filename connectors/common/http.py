"""Reading what an HTTP caller sent, the same way in every channel.

* :func:`same_secret`: constant-time comparison of a presented secret or signature;
* :func:`bearer`: the token of an ``Authorization: Bearer`` header;
* :func:`parse_json` and :class:`PayloadError`: a JSON body, or a reason fit for a 400;
* :func:`read_capped`: a streamed body, given up on as soon as it is over a cap.
"""

from __future__ import annotations

import hmac
import json
from typing import Any

from sanic.request import Request


def same_secret(expected: str, given: str) -> bool:
    """Whether ``given`` equals ``expected``, compared in constant time.

    Strings that cannot be UTF-8 (lone surrogates from a hostile client) are compared too,
    never raised on.
    """
    return hmac.compare_digest(expected.encode("utf-8", "surrogatepass"), given.encode("utf-8", "surrogatepass"))


def bearer(header: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, else ``None``."""
    if not header:
        return None
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    return value.strip() or None


class PayloadError(ValueError):
    """The request body is not a valid message (the text is fit to send back to the caller)."""


def parse_json(body: bytes | None) -> Any:
    """Decode a JSON body.

    Raises:
        PayloadError: Not UTF-8 JSON, or nested too deeply to decode.
    """
    try:
        return json.loads(body or b"null")
    except (ValueError, RecursionError):  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise PayloadError("body must be JSON") from None


async def read_capped(request: Request, limit: int) -> bytes | None:
    """The streamed request body, or ``None`` as soon as it exceeds ``limit`` bytes.

    The route must be declared with ``stream=True``.
    """
    stream = request.stream
    assert stream is not None, "the route is declared with stream=True"
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = await stream.read()
        if chunk is None:
            return b"".join(chunks)
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
