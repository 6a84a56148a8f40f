"""The words of a proactive notice, per kind and language, showing only what the watcher may see.

A status notice is a headline (``proactive.head.<kind>``) and the parcel's status as the
tracking answer words it (:func:`bot.tracking.messages.describe_shipment`) with the
watcher's rights: ``owner=False`` (not proved the parcel is theirs,
:func:`bot.identity.ownership.proven`) gives the public status only, e.g. a delivered
parcel's time and place but not who signed; ``owner=True`` adds the delivery details.

A ``late`` notice is the public line only (promised time, new ETA or how late). The
policy's compensation offer and delay ticket for a proven owner are left to the delivery
step, which will add them exactly as the tracking answer does (:mod:`bot.delay.service`).

Every notice ends with how to turn updates off (``proactive.footer``).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.common.clock import format_duration, format_time
from bot.common.i18n import language, text
from bot.tracking.messages import carrier_name, describe_shipment
from bot.tracking.models import Shipment

_HEADS = {
    "held": "proactive.head.held",
    "exception": "proactive.head.exception",
    "delivery_failed": "proactive.head.delivery_failed",
    "out_for_delivery": "proactive.head.out_for_delivery",
    "delivered": "proactive.head.delivered",
}


def notice_text(kind: str, shipment: Shipment, lang: str, now: datetime, *, owner: bool) -> str:
    """The message for one change.

    Args:
        kind: One of :data:`bot.policy.model.PROACTIVE_KINDS`.
        shipment: The parcel as it is now.
        lang: ``zh`` or ``en`` (anything else: Chinese).
        now: The current time (aware).
        owner: Whether the watcher proved the parcel is theirs.

    Returns:
        The text, several lines.

    Raises:
        ValueError: Unknown kind.
    """
    lang = language(lang)
    if kind == "late":
        body = late_text(shipment, lang, now)
    elif kind in _HEADS:
        head = text(_HEADS[kind], lang, waybill=shipment.waybill)
        body = "\n".join([head, describe_shipment(shipment, lang, now, owner=owner)])
    else:
        raise ValueError(f"unknown notice kind {kind!r}")
    return "\n".join([body, text("proactive.footer", lang)])


def late_text(shipment: Shipment, lang: str, now: datetime) -> str:
    """The public lateness line: expected late (ETA past the promise) or already late."""
    carrier = carrier_name(shipment.carrier, lang)
    promised_at = shipment.promised_at or now
    promised = format_time(promised_at, lang)
    if shipment.eta is not None and shipment.eta > now:
        eta = format_time(shipment.eta, lang)
        return text("proactive.late.ahead", lang, waybill=shipment.waybill, carrier=carrier, promised=promised, eta=eta)
    late = format_duration(max(now - promised_at, timedelta(0)), lang)
    return text("proactive.late.overdue", lang, waybill=shipment.waybill, carrier=carrier, promised=promised, late=late)
