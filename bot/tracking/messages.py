"""Plain-language answers about a shipment, in Chinese and English.

Static replies live in the Rasa domain (``domain/*.yml``); this module writes the
replies that depend on shipment data. Every function takes ``lang`` (``"zh"`` or
``"en"``) and has both texts side by side, so no reply exists in one language only.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Callable, TypeVar

from bot.common.clock import format_duration, format_time
from bot.common.i18n import in_language
from bot.tracking.models import HoldReason, Shipment, Status
from bot.tracking.waybill import CARRIERS

_T = TypeVar("_T")

LATE_GRACE = timedelta(minutes=30)
"""A shipment counts as late once it is this much past its promised time."""

_STATUS = {
    Status.PICKED_UP: ("已揽收", "picked up"),
    Status.IN_TRANSIT: ("运输中", "in transit"),
    Status.AT_SORTING_CENTRE: ("在分拣中心", "at a sorting centre"),
    Status.OUT_FOR_DELIVERY: ("派送中", "out for delivery"),
    Status.DELIVERED: ("已签收", "delivered"),
    Status.HELD: ("暂时滞留", "on hold"),
    Status.DELIVERY_FAILED: ("派送未成功", "delivery attempt failed"),
    Status.RETURNED: ("已退回", "returned to sender"),
    Status.LOST: ("已确认丢失", "confirmed lost"),
    Status.DAMAGED: ("运输中破损", "damaged in transit"),
}

_NEXT = {
    Status.PICKED_UP: (
        "快递员已取件，包裹将送往始发分拣中心。",
        "The courier has collected it; it goes to the origin sorting centre next.",
    ),
    Status.IN_TRANSIT: (
        "包裹正在干线运输中，到达下一站后会更新扫描记录。",
        "It is on the line-haul route; the next scan comes when it reaches the next hub.",
    ),
    Status.AT_SORTING_CENTRE: (
        "包裹正在分拣，分拣完成后发往目的地网点。",
        "It is being sorted and will then leave for the destination outlet.",
    ),
    Status.OUT_FOR_DELIVERY: (
        "快递员正在派送，请保持电话畅通。",
        "A courier is bringing it to you now; please keep your phone reachable.",
    ),
    Status.DELIVERY_FAILED: (
        "网点会安排再次派送；您也可以回复“改地址”或到网点自取。",
        "The outlet will try again; you can also ask to change the address or collect it at the outlet.",
    ),
    Status.RETURNED: (
        "包裹正在退回寄件人，如需重新寄送请联系寄件人。",
        "It is going back to the sender; please contact the sender to have it sent again.",
    ),
}

_HOLD = {
    HoldReason.WEATHER: (
        "因恶劣天气，当地暂停部分运输，天气好转后会第一时间恢复发运",
        "bad weather has stopped some transport in the area; it moves again as soon as conditions allow",
    ),
    HoldReason.HOLIDAY_PEAK: (
        "节假日高峰件量激增，网点正在加班处理积压包裹",
        "the holiday peak has flooded the network; the outlet is working extra shifts on the backlog",
    ),
    HoldReason.ADDRESS_PROBLEM: (
        "收件地址不完整或有误，需要核实地址后才能派送",
        "the delivery address is incomplete or wrong and must be confirmed before delivery",
    ),
    HoldReason.CUSTOMS_INSPECTION: (
        "包裹正在海关查验，查验放行后继续运输",
        "it is being inspected by customs and continues once released",
    ),
    HoldReason.CAPACITY: (
        "当地网点运力紧张，正在调配车辆和人员",
        "the local outlet is short of capacity and is bringing in extra vehicles and staff",
    ),
}

_HOLD_NEXT = {
    HoldReason.ADDRESS_PROBLEM: (
        "请回复正确的详细地址，或联系收件人确认。",
        "Please reply with the full correct address, or ask the receiver to confirm it.",
    ),
    HoldReason.CUSTOMS_INSPECTION: (
        "海关查验通常需要 1–3 个工作日，如需补充材料我们会联系您。",
        "Inspection usually takes 1–3 working days; we will contact you if documents are needed.",
    ),
}


def carrier_name(code: str, lang: str) -> str:
    """The carrier's name for a code such as ``SF``, falling back to the code."""
    names = CARRIERS.get(code)
    return in_language(names, lang) if names else code


def lateness(shipment: Shipment, now: datetime) -> timedelta | None:
    """How late a shipment is against its promise, or ``None`` if it is not late.

    A delivered shipment is late when it was delivered after the promise; an
    undelivered one when the promise has passed.

    Args:
        shipment: The shipment.
        now: The current time (aware).

    Returns:
        The delay, or ``None`` when on time or when no promise is known.
    """
    if shipment.promised_at is None:
        return None
    reference = shipment.delivered_at if shipment.status is Status.DELIVERED else now
    if reference is None:
        return None
    delay = reference - shipment.promised_at
    return delay if delay > LATE_GRACE else None


def describe_shipment(shipment: Shipment, lang: str, now: datetime, *, owner: bool = True) -> str:
    """Explain a shipment's status in plain language.

    Covers the latest scan (where and when), what happens next, the ETA and
    whether it is late against the promise; held and exception statuses with
    their reason; for delivered shipments who signed and when, and what to do
    if the customer has not received it.

    Args:
        shipment: The shipment to explain.
        lang: ``"zh"`` or ``"en"``.
        now: The current time (aware), to judge lateness.
        owner: Whether the reader proved the parcel is theirs (``bot.identity.proof``) or is an
            agent. Without it a delivered parcel shows where and when, not who signed
            (the latest scan's text names the signer, so it is left out too).

    Returns:
        A multi-line message.
    """
    en = lang == "en"
    status = in_language(_STATUS[shipment.status], lang)
    carrier = carrier_name(shipment.carrier, lang)
    head = f"{carrier} {shipment.waybill}: {status}." if en else f"{carrier} {shipment.waybill}：{status}。"
    lines = [head]
    route = _route(shipment, lang)
    if route:
        lines.append(route)
    latest = shipment.latest
    private = not owner and shipment.status is Status.DELIVERED
    if latest is not None and private:
        when = format_time(latest.time, lang)
        place = f", {latest.location}" if latest.location else ""
        lines.append(
            f"Latest scan: {when}{place} — delivered."
            if en
            else f"最新动态：{when}" + (f"【{latest.location}】" if latest.location else "") + "已签收。"
        )
    elif latest is not None:
        when = format_time(latest.time, lang)
        if en:
            lines.append(f"Latest scan: {when}, {latest.location} — {latest.description}")
        elif latest.description.startswith("【") or not latest.location:
            lines.append(f"最新动态：{when} {latest.description}")
        else:
            lines.append(f"最新动态：{when}【{latest.location}】{latest.description}")
    detail = _detail_delivered_public if private else _STATUS_DETAIL.get(shipment.status, _detail_moving)
    lines.extend(detail(shipment, lang, now))
    return "\n".join(lines)


def _route(shipment: Shipment, lang: str) -> str:
    if not (shipment.origin and shipment.destination):
        return ""
    if lang == "en":
        return f"Route: {shipment.origin} → {shipment.destination}."
    return f"线路：{shipment.origin} → {shipment.destination}。"


def _late_line(shipment: Shipment, lang: str, now: datetime) -> str | None:
    delay = lateness(shipment, now)
    if shipment.promised_at is None:
        return None
    promised = format_time(shipment.promised_at, lang)
    if delay is None:
        if shipment.status is Status.DELIVERED:
            return "Delivered on time." if lang == "en" else "按承诺时效送达。"
        return f"Promised by {promised}: on schedule." if lang == "en" else f"承诺送达时间 {promised}，目前在时效内。"
    late = format_duration(delay, lang)
    if lang == "en":
        return f"Promised by {promised}: it is {late} late. We are sorry for the delay."
    return f"承诺送达时间 {promised}，已超时 {late}，非常抱歉耽误您了。"


def _eta_line(shipment: Shipment, lang: str) -> str | None:
    if shipment.eta is None:
        return None
    eta = format_time(shipment.eta, lang)
    return f"Expected delivery: {eta}." if lang == "en" else f"预计送达：{eta}。"


def _detail_moving(shipment: Shipment, lang: str, now: datetime) -> list[str]:
    lines = [in_language(_NEXT[shipment.status], lang)] if shipment.status in _NEXT else []
    for line in (_eta_line(shipment, lang), _late_line(shipment, lang, now)):
        if line:
            lines.append(line)
    if shipment.note and shipment.status is Status.DELIVERY_FAILED:
        lines.insert(0, f"Reason: {shipment.note}." if lang == "en" else f"原因：{shipment.note}。")
    return lines


def _detail_delivered(shipment: Shipment, lang: str, now: datetime) -> list[str]:
    when = format_time(shipment.delivered_at, lang) if shipment.delivered_at else ""
    signer = shipment.signed_by or ("recipient" if lang == "en" else "收件人")
    if lang == "en":
        lines = [f"Signed for by {signer} at {when}." if when else f"Signed for by {signer}."]
    else:
        lines = [f"签收人：{signer}，签收时间：{when}。" if when else f"签收人：{signer}。"]
    late = _late_line(shipment, lang, now)
    if late:
        lines.append(late)
    lines.append(_not_received_hint(lang))
    return lines


def _not_received_hint(lang: str) -> str:
    return (
        "Not received it? Check with family, the front desk or the parcel locker first; "
        'if it is still missing, tell me "I didn\'t receive it" and we will investigate with the courier.'
        if lang == "en"
        else "如果您没有收到：请先问问家人、前台/门卫或查看快递柜、驿站；"
        "仍然找不到请回复“签收了但没收到”，我们会联系派件员核实处理。"
    )


def _detail_delivered_public(shipment: Shipment, lang: str, now: datetime) -> list[str]:
    """A delivered parcel for someone who has not proved it is theirs: when, not who signed."""
    when = format_time(shipment.delivered_at, lang) if shipment.delivered_at else ""
    if lang == "en":
        lines = [f"Delivered at {when}." if when else "Delivered."]
    else:
        lines = [f"签收时间：{when}。" if when else "已签收。"]
    late = _late_line(shipment, lang, now)
    return [*lines, *([late] if late else []), _not_received_hint(lang)]


def _detail_held(shipment: Shipment, lang: str, now: datetime) -> list[str]:
    reason = shipment.hold_reason
    if reason is None:
        lines = ["It is held at the outlet." if lang == "en" else "包裹暂时滞留在网点。"]
    else:
        text = in_language(_HOLD[reason], lang)
        lines = [f"Why: {text}." if lang == "en" else f"原因：{text}。"]
        if reason in _HOLD_NEXT:
            lines.append(in_language(_HOLD_NEXT[reason], lang))
    for line in (_eta_line(shipment, lang), _late_line(shipment, lang, now)):
        if line:
            lines.append(line)
    return lines


def _detail_exception(shipment: Shipment, lang: str, now: datetime) -> list[str]:
    lines = []
    if shipment.note:
        lines.append(f"Details: {shipment.note}." if lang == "en" else f"情况说明：{shipment.note}。")
    if lang == "en":
        lines.append(
            "We are very sorry. You are entitled to compensation under our claim policy; "
            'say "human agent" and a colleague will register the claim with you.'
        )
    else:
        lines.append("非常抱歉给您带来损失。您可以按理赔政策申请赔偿，回复“转人工”由客服为您登记理赔。")
    return lines


def _detail_returned(shipment: Shipment, lang: str, now: datetime) -> list[str]:
    lines = _detail_moving(shipment, lang, now)[:1]
    if shipment.note:
        lines.insert(0, f"Reason: {shipment.note}." if lang == "en" else f"原因：{shipment.note}。")
    return lines


_STATUS_DETAIL: dict[Status, Callable[[Shipment, str, datetime], list[str]]] = {
    Status.DELIVERED: _detail_delivered,
    Status.HELD: _detail_held,
    Status.LOST: _detail_exception,
    Status.DAMAGED: _detail_exception,
    Status.RETURNED: _detail_returned,
}


def not_found(raw: str, lang: str, suggestion: str | None = None) -> str:
    """Reply for a number the provider does not know.

    Args:
        raw: The number as the customer typed it.
        lang: ``"zh"`` or ``"en"``.
        suggestion: One of the customer's own numbers that looks like a typo
            fix, if any.

    Returns:
        The message with next steps.
    """
    if lang == "en":
        text = f"I can't find {raw} in our system."
        if suggestion:
            return text + f" Did you mean {suggestion}? Reply with that number to check it."
        return text + (
            " Please check the number on your receipt or order page (new parcels can take a few "
            'hours to appear). You can also say "no tracking number" to search by phone number.'
        )
    text = f"没有查到单号 {raw} 的记录。"
    if suggestion:
        return text + f"您是不是要查 {suggestion}？回复这个单号即可查询。"
    return text + (
        "请核对面单或订单页上的单号（刚寄出的包裹可能要几个小时后才有记录），也可以回复“没有单号”用手机号查询。"
    )


def provider_down(lang: str) -> str:
    """Apology when tracking data cannot be fetched, with a next step."""
    if lang == "en":
        return (
            "Sorry, our tracking system is not answering right now. Please try again in a few "
            'minutes, or say "human agent" and a colleague will check it for you.'
        )
    return "抱歉，物流查询系统暂时无法响应。请几分钟后再试，或回复“转人工”由客服为您查询。"


def several_numbers(count: int, lang: str, limit: int | None = None) -> str:
    """Heading before one answer per number the customer sent.

    Args:
        count: How many numbers the message held.
        lang: ``"zh"`` or ``"en"``.
        limit: When set and smaller than ``count``, only the first ``limit`` are answered.
    """
    if limit is not None and count > limit:
        if lang == "en":
            return f"You sent {count} tracking numbers; here are the first {limit}, one by one:"
        return f"您发了 {count} 个单号，先为您逐个查询前 {limit} 个："
    if lang == "en":
        return f"You sent {count} tracking numbers; here they are one by one:"
    return f"您发了 {count} 个单号，逐个为您查询："


def several_found(count: int, lang: str) -> str:
    """Heading before one answer per shipment found for the customer."""
    if lang == "en":
        return f"I found {count} shipments:"
    return f"为您查到 {count} 个包裹："
