"""A tracking provider's push: Kuaidi100's subscription callback (订阅推送), checked and applied.

Kuaidi100 POSTs a form with ``param`` (a JSON string) and ``sign``, the upper-case hex MD5
of ``param + salt`` (the ``salt`` given when the parcel was subscribed,
``KUAIDI100_PUSH_SALT``). ``param`` is::

    {"status": "polling" | "shutdown" | "abort" | "updateall", "message": "...",
     "lastResult": {"message": "ok", "state": "0".."14", "status": "200", "ischeck": "0|1",
                    "com": "shunfeng", "nu": "<waybill>", "data": [{"context", "time", ...}]}}

``lastResult`` has the shape of a real-time query's reply, so it is read by the same parser
(:func:`bot.tracking.kuaidi100.parse_query_reply`). The HTTP edge
(:mod:`connectors.proactive.push`) checks the signature with :func:`verify` *before*
anything is parsed, then :func:`parse_push`, then :func:`apply_push` runs every active watch
of that parcel through the scan's own decision (:func:`bot.proactive.scan.handle_watch`):
the same change detection, wording, quiet hours and outbox, so a pushed change and a
scanned one are told alike, and once (the outbox's change keys).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from bot.identity import ownership
from bot.policy.model import Policy
from bot.proactive.models import QueuedNotice
from bot.proactive.scan import OwnerCheck, handle_watch
from bot.proactive.store import ProactiveStore
from bot.tracking.kuaidi100 import parse_query_reply
from bot.tracking.models import ProviderError, Shipment
from bot.tracking.waybill import normalise

logger = logging.getLogger(__name__)

PUSH_STATUSES: Final = ("polling", "shutdown", "abort", "updateall")
"""Kuaidi100's monitoring states: still watched, finished (delivered or 30 days), gave up, re-sent."""
MAX_WAYBILL: Final = 64
"""Longest waybill accepted (the store's column)."""


class PushError(ValueError):
    """The push is not in the documented shape (the message names no parcel)."""


@dataclass(frozen=True)
class Push:
    """One decoded push.

    Attributes:
        status: Kuaidi100's monitoring state (one of :data:`PUSH_STATUSES`).
        waybill: The parcel's normalised number.
        shipment: The parcel as reported, or ``None`` when the push carries no result
            (e.g. ``abort`` of a number Kuaidi100 never found).
    """

    status: str
    waybill: str
    shipment: Shipment | None


def push_sign(param: str, salt: str) -> str:
    """The ``sign`` of a push: upper-case hex MD5 of ``param + salt``."""
    return hashlib.md5((param + salt).encode("utf-8")).hexdigest().upper()


def verify(param: str, sign: str, salt: str) -> bool:
    """Whether ``sign`` is the push's signature under ``salt`` (constant-time; an empty salt never verifies)."""
    if not salt:
        return False
    return hmac.compare_digest(push_sign(param, salt).encode("ascii"), sign.strip().upper().encode("utf-8"))


def parse_push(param: str) -> Push:
    """Decode a push's ``param`` (call only once :func:`verify` accepted it).

    Raises:
        PushError: Not JSON, an unknown ``status``, no ``lastResult`` object, no usable
            number, or a ``lastResult`` the query parser refuses on a ``polling`` push.
    """
    try:
        data = json.loads(param)
    except ValueError:
        raise PushError("push param is not JSON") from None
    if not isinstance(data, Mapping):
        raise PushError("push param is not a JSON object")
    status = data.get("status")
    if status not in PUSH_STATUSES:
        raise PushError("push has no known status")
    last = data.get("lastResult")
    if not isinstance(last, Mapping):
        raise PushError("push has no lastResult object")
    number = last.get("nu")
    waybill = normalise(number) if isinstance(number, str) else ""
    if not waybill or len(waybill) > MAX_WAYBILL:
        raise PushError("push has no usable waybill number")
    try:
        shipment = parse_query_reply(last, waybill, "")
    except ProviderError as exc:
        if status == "polling" or "data" in last:
            raise PushError(f"push lastResult unusable: {exc}") from None
        shipment = None  # shutdown/abort with nothing to show: nothing to tell
    return Push(status=str(status), waybill=waybill, shipment=shipment)


async def apply_push(
    store: ProactiveStore,
    push: Push,
    policy: Policy,
    now: datetime,
    *,
    owner: OwnerCheck = ownership.proven,
) -> list[QueuedNotice]:
    """Queue the notices a push calls for, for every active watch of its parcel.

    A parcel nobody watches, or a push without a result, queues nothing. A change already
    queued (the same push again, or a scan that saw it first) is not queued twice.

    Args:
        store: The proactive store.
        push: The decoded push.
        policy: The policy (kinds, grace, quiet hours, cap).
        now: The current time (aware).
        owner: The ownership check (injectable for tests).

    Returns:
        The notices queued.
    """
    if push.shipment is None:
        return []
    queued: list[QueuedNotice] = []
    for watch in await asyncio.to_thread(store.active_watches, now, None, 0, push.waybill):
        queued.extend(await handle_watch(store, policy, now, owner, watch, push.shipment))
    if queued:
        logger.info("provider push (%s): %d notices queued", push.status, len(queued))
    return queued
