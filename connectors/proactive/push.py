"""The tracking provider's push endpoint: ``POST /webhooks/proactive/kuaidi100``.

Kuaidi100's subscription callback (订阅推送): give this URL as ``callbackurl`` and the value
of ``KUAIDI100_PUSH_SALT`` as ``salt`` when subscribing a parcel. Each push is a form with
``param`` (JSON) and ``sign`` (upper-case MD5 of ``param + salt``); see
:mod:`bot.proactive.push` for the shape and what is done with it. In order:

1. a body over ``body_bytes.kuaidi100_push`` is refused with 413 before it is read;
2. without ``KUAIDI100_PUSH_SALT`` the endpoint is off: 503;
3. more than ``kuaidi100_push_per_address`` pushes from one address: 429;
4. a body that is not a form with ``param``: 400;
5. a wrong or missing signature: 403 ``{"result": false, "returnCode": "500", ...}``, nothing parsed;
6. a ``param`` not in the documented shape: 400;
7. more than ``kuaidi100_push_per_parcel`` signed pushes about one parcel: 429;
8. every active watch of the parcel goes through the scan's decision, notices are queued
   (the proactive loop sends them) and the answer is Kuaidi100's success
   ``{"result": true, "returnCode": "200", "message": "成功"}``. A store failure answers
   503 with ``result: false``, so Kuaidi100 pushes again later.

Logs name no parcel and no customer.
"""

from __future__ import annotations

import logging
from typing import Any, Final

from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot import services
from bot.proactive import watches
from bot.proactive.push import PushError, apply_push, parse_push, verify
from connectors.common.proxy import client_address
from connectors.common.server_limits import body_limit, rate_limited, too_large

logger = logging.getLogger(__name__)

PATH: Final = "/kuaidi100"
"""The route under the proactive channel's prefix (``/webhooks/proactive``)."""
LIMIT: Final = "kuaidi100_push"
"""The ``body_bytes`` key of the route's size cap."""
MAX_FIELD: Final = 200_000
"""Longest ``param`` accepted (characters); the byte cap normally stops longer ones first."""

OK: Final = {"result": True, "returnCode": "200", "message": "成功"}


def _refusal(status: int, code: str, message: str) -> HTTPResponse:
    return response.json({"result": False, "returnCode": code, "message": message}, status=status)


def _form_fields(request: Request) -> tuple[str, str] | None:
    """``(param, sign)`` from a form-encoded body, or ``None`` when it is not one."""
    if "application/x-www-form-urlencoded" not in (request.headers.get("content-type") or "").lower():
        return None
    try:
        form: Any = request.form
    except Exception:  # an undecodable body is the caller's mistake, never a 500
        return None
    param, sign = form.get("param"), form.get("sign") or ""  # no sign: an unsigned push, refused as such
    if not isinstance(param, str) or not isinstance(sign, str) or not param or len(param) > MAX_FIELD:
        return None
    return param, sign


def add_push_route(hook: Blueprint, salt: str) -> None:
    """Add ``POST /kuaidi100`` to the proactive channel's blueprint.

    Args:
        hook: The channel's blueprint (a ``LimitedBlueprint``, so the size cap holds before reading).
        salt: ``KUAIDI100_PUSH_SALT``; empty: the route answers 503.
    """

    @hook.route(PATH, methods=["POST"])
    @body_limit(LIMIT)
    async def kuaidi100_push(request: Request) -> HTTPResponse:
        oversize = too_large(request, LIMIT)
        if oversize is not None:
            return oversize
        if not salt:
            return _refusal(503, "503", "push endpoint not configured")
        limited = await rate_limited([("kuaidi100_push_per_address", client_address(request))])
        if limited is not None:
            return limited
        fields = _form_fields(request)
        if fields is None:
            return _refusal(400, "400", "expected a form with param and sign")
        param, sign = fields
        if not verify(param, sign, salt):
            logger.warning("kuaidi100 push refused: bad signature")
            return _refusal(403, "500", "签名错误 (bad signature)")
        try:
            push = parse_push(param)
        except PushError as exc:
            logger.warning("kuaidi100 push refused: %s", exc)
            return _refusal(400, "400", "param is not a Kuaidi100 push")
        limited = await rate_limited([("kuaidi100_push_per_parcel", push.waybill)])
        if limited is not None:
            return limited
        try:
            await apply_push(watches.store(), push, services.policy(), services.now())
        except Exception as exc:  # the store is down: Kuaidi100 retries a push answered with result false
            logger.error("kuaidi100 push not applied: %s", type(exc).__name__)
            return _refusal(503, "500", "暂时无法处理，请稍后重试")
        return response.json(OK)
