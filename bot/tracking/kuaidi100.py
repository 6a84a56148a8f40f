"""Tracking provider backed by Kuaidi100's real-time query API (实时快递查询).

Request: ``POST {base_url}/poll/query.do`` with form fields ``customer``,
``param`` (JSON ``{"com", "num", "resultv2"}``) and ``sign`` = upper-case MD5
of ``param + key + customer``.

Replies:

* success: ``{"message": "ok", "nu": ..., "ischeck": "1", "com": "shunfeng",
  "status": "200", "state": "3", "data": [{"time": "2026-11-20 14:30:00",
  "ftime": ..., "context": ..., "location": ...}, ...]}`` with ``data`` newest
  first (times are China time);
* failure: ``{"result": false, "returnCode": "500", "message": "查询无结果..."}``.
  ``returnCode`` 500 means the number is unknown (→ ``None``); every other code
  (400 bad request, 408 phone check failed, 501/502 server trouble, 503 bad
  signature, 601 key expired or account in arrears) is a :class:`ProviderError`.

``state`` → :class:`Status` (``resultv2=4`` asks for the detailed codes, whose
leading digits name the basic state they refine):

=====================  ====================================================
state                  status
=====================  ====================================================
0 在途, 1001-1003,     ``IN_TRANSIT``; ``AT_SORTING_CENTRE`` when the latest
7 转投, 12 已清关       scan says it reached a 转运/分拨/分拣/集散/中转 centre
1 揽收, 101-103        ``PICKED_UP`` (101 已下单 / 102 待揽收 noted as such)
5 派件, 501 投柜/驿站   ``OUT_FOR_DELIVERY``
3 签收, 301-304        ``DELIVERED`` (signer taken from 301/303/304 or the
                       scan text)
2 疑难, 201-208, 210+  ``HELD``; reason guessed from the scan text (天气,
                       地址, 海关, 爆仓/运力, 节假日/大促); 203 拒收, 204 派件
                       异常, 205 驿站超时未取, 206 无法联系 → ``DELIVERY_FAILED``;
                       207 超区 → ``HELD`` (address problem); 209 破损 →
                       ``DAMAGED``
4 退签, 401, 6 退回     ``RETURNED``
8 清关, 10 待清关,      ``HELD`` with ``CUSTOMS_INSPECTION`` (13 noted as
11 清关中, 13 清关异常  清关异常)
14 拒签                ``DELIVERY_FAILED`` (refused by the receiver)
=====================  ====================================================

A latest scan that says 遗失/丢失 makes it ``LOST``; 破损 on a 疑难 state makes it ``DAMAGED``.

The API cannot search by phone, so :meth:`Kuaidi100Provider.find_by_phone`
always returns ``[]``. SF (``shunfeng``) usually requires the sender's or
receiver's phone in ``param``; the protocol has none to give, so such queries
may come back as failures.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import re
from datetime import datetime
from typing import Any, Mapping, Sequence

import aiohttp

from bot.common.clock import CHINA_TZ
from bot.tracking.models import HoldReason, ProviderError, ScanEvent, Shipment, Status

logger = logging.getLogger(__name__)

#: Our carrier codes → Kuaidi100 ``com`` codes.
KUAIDI100_COM: dict[str, str] = {
    "SF": "shunfeng",
    "JD": "jd",
    "YTO": "yuantong",
    "ZTO": "zhongtong",
    "STO": "shentong",
    "YUNDA": "yunda",
    "EMS": "ems",
    "JT": "jtexpress",
    "DEPPON": "debangkuaidi",
    "CAINIAO": "cainiao",
    "S10": "ems",
    "UPS": "ups",
    "FEDEX": "fedex",
    "DHL": "dhl",
    "USPS": "usps",
    "YUNEXPRESS": "yuntu",
}
PHONE_CHECKED = frozenset({"shunfeng"})
"""Kuaidi100 ``com`` codes whose carrier checks the query's ``phone`` (408 when it is wrong)."""
_CARRIER_OF_COM = {com: code for code, com in reversed(list(KUAIDI100_COM.items()))}

_RETURN_CODES = {
    "400": "bad request or account problem",
    "408": "phone check failed",
    "501": "server error",
    "502": "server busy",
    "503": "signature check failed",
    "601": "key expired or account in arrears",
}

_SORTING = re.compile(r"(到达|到件|已收入|进行分拣|正在分拣).{0,20}(转运|分拨|分拣|集散|中转|处理中心)")
_HOLD_HINTS: tuple[tuple[re.Pattern[str], HoldReason], ...] = (
    (re.compile(r"天气|台风|暴雨|暴雪|大雪|大雾|冰冻|洪水"), HoldReason.WEATHER),
    (re.compile(r"海关|清关|查验"), HoldReason.CUSTOMS_INSPECTION),
    (re.compile(r"地址|超区|门牌"), HoldReason.ADDRESS_PROBLEM),
    (re.compile(r"爆仓|运力|积压"), HoldReason.CAPACITY),
    (re.compile(r"节假日|春节|国庆|双十一|双11|大促|高峰"), HoldReason.HOLIDAY_PEAK),
)
_SIGNER = re.compile(r"签收人\s*[:：是为]?\s*[【\[(（]?([^\s，,。.；;】\])）]{1,12})")
_SIGNER_BY_STATE = {"301": "本人", "303": "代签", "304": "快递柜或驿站"}
_FAILED_NOTES = {
    "14": "收件人拒签",
    "203": "收件人拒收",
    "204": "派件异常",
    "205": "快递柜或驿站超时未取",
    "206": "无法联系收件人",
}


def kuaidi100_sign(param: str, key: str, customer: str) -> str:
    """Compute the ``sign`` form field: upper-case MD5 of ``param + key + customer``."""
    return hashlib.md5((param + key + customer).encode("utf-8")).hexdigest().upper()


def _parse_time(value: object) -> datetime:
    if not isinstance(value, str):
        raise ProviderError("Kuaidi100 reply has a scan without a time")
    try:
        parsed = datetime.strptime(value.strip(), "%Y-%m-%d %H:%M:%S")
    except ValueError:
        raise ProviderError("Kuaidi100 reply has a scan time in an unknown format") from None
    return parsed.replace(tzinfo=CHINA_TZ)


def _events(data: object) -> tuple[ScanEvent, ...]:
    if not isinstance(data, list):
        raise ProviderError("Kuaidi100 reply has no scan list")
    events = []
    for item in data:
        if not isinstance(item, Mapping) or not isinstance(item.get("context"), str):
            raise ProviderError("Kuaidi100 reply has a malformed scan")
        location = item.get("location") or item.get("areaName") or ""
        events.append(
            ScanEvent(
                time=_parse_time(item.get("time") or item.get("ftime")),
                location=location if isinstance(location, str) else "",
                description=item["context"].strip(),
            )
        )
    events.sort(key=lambda event: event.time)  # the API sends newest first
    return tuple(events)


def _status(state: str, latest: str) -> tuple[Status, HoldReason | None, str | None]:
    """Map a Kuaidi100 state (and the latest scan text) onto our status.

    Returns:
        The status, the hold reason (``HELD`` only) and a note, if any.
    """
    problem = state == "2" or (len(state) == 3 and state.startswith("2"))
    if re.search(r"遗失|丢失", latest):
        return Status.LOST, None, "快递公司报告快件遗失"
    if state == "209" or (problem and "破损" in latest):
        return Status.DAMAGED, None, "快递公司报告快件破损"
    if state in _FAILED_NOTES:
        return Status.DELIVERY_FAILED, None, _FAILED_NOTES[state]
    if state in {"8", "10", "11", "13"}:
        note = "清关异常" if state == "13" else None
        return Status.HELD, HoldReason.CUSTOMS_INSPECTION, note
    if state == "207":
        return Status.HELD, HoldReason.ADDRESS_PROBLEM, "超出派送范围"
    if problem:
        hint = next((r for p, r in _HOLD_HINTS if p.search(latest)), None)
        return Status.HELD, hint, "快递公司标记为疑难件"
    if state in {"4", "401"}:
        return Status.RETURNED, None, "已退回寄件人并签收"
    if state == "6":
        return Status.RETURNED, None, "正在退回寄件人"
    if state == "3" or (len(state) == 3 and state.startswith("3")):
        return Status.DELIVERED, None, None
    if state == "5":
        return Status.OUT_FOR_DELIVERY, None, None
    if state == "501":
        return Status.OUT_FOR_DELIVERY, None, "已放入快递柜或驿站，待取件"
    if state in {"1", "101", "102", "103"}:
        note = {"101": "已下单，待揽收", "102": "待快递员揽收"}.get(state)
        return Status.PICKED_UP, None, note
    if state not in {"0", "7", "12", "1001", "1002", "1003"}:
        logger.warning("Kuaidi100: unknown state %r, treated as in transit", state)
    if _SORTING.search(latest):
        return Status.AT_SORTING_CENTRE, None, None
    return Status.IN_TRANSIT, None, "已转投其他快递公司" if state == "7" else None


def parse_query_reply(payload: object, waybill: str, carrier: str) -> Shipment | None:
    """Turn a decoded ``/poll/query.do`` reply into a shipment.

    Args:
        payload: The decoded JSON body.
        waybill: The normalised number that was asked for.
        carrier: Our carrier code that was asked for.

    Returns:
        The shipment, or ``None`` when Kuaidi100 has no result for the number.

    Raises:
        ProviderError: The reply is a failure other than "no result", or does
            not have the documented shape. The message holds no waybill.
    """
    if not isinstance(payload, Mapping):
        raise ProviderError("Kuaidi100 reply is not a JSON object")
    if payload.get("result") is False or "returnCode" in payload:
        code = str(payload.get("returnCode", ""))
        if code == "500" or "查询无结果" in str(payload.get("message", "")):
            return None
        reason = _RETURN_CODES.get(code, "unexpected failure")
        raise ProviderError(f"Kuaidi100 refused the query (returnCode {code or '?'}: {reason})")
    if str(payload.get("status")) != "200" or "data" not in payload:
        raise ProviderError("Kuaidi100 reply has an unexpected shape")
    state = str(payload.get("state", "")).strip()
    if not state.isdigit():
        raise ProviderError("Kuaidi100 reply has no valid state")
    events = _events(payload["data"])
    latest = events[-1].description if events else ""
    status, hold_reason, note = _status(state, latest)
    signed_by = None
    delivered_at = None
    if status is Status.DELIVERED:
        delivered_at = events[-1].time if events else None
        match = _SIGNER.search(latest)
        signed_by = _SIGNER_BY_STATE.get(state) or (match.group(1) if match else None)
    route = payload.get("routeInfo")
    origin = destination = ""
    if isinstance(route, Mapping):
        origin = _route_name(route.get("from"))
        destination = _route_name(route.get("to"))
    com = str(payload.get("com") or "")
    return Shipment(
        waybill=waybill,
        carrier=carrier if KUAIDI100_COM.get(carrier) == com else _CARRIER_OF_COM.get(com, carrier),
        status=status,
        events=events,
        origin=origin,
        destination=destination,
        delivered_at=delivered_at,
        signed_by=signed_by,
        hold_reason=hold_reason,
        note=note,
        extra={"kuaidi100_state": state, "kuaidi100_com": com},
    )


def _route_name(node: object) -> str:
    if isinstance(node, Mapping) and isinstance(node.get("name"), str):
        return node["name"]
    return ""


class Kuaidi100Provider:
    """Tracking provider calling Kuaidi100's real-time query API.

    Args:
        customer: The account's ``customer`` id.
        key: The account's secret key (used only to sign, never sent).
        base_url: API root, e.g. ``https://poll.kuaidi100.com``.
        timeout: Total seconds allowed for one HTTP call.
    """

    def __init__(
        self,
        customer: str,
        key: str,
        base_url: str = "https://poll.kuaidi100.com",
        timeout: float = 2.5,
    ) -> None:
        self.customer = customer
        self._key = key
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._session: aiohttp.ClientSession | None = None

    def __repr__(self) -> str:
        return f"Kuaidi100Provider(customer={self.customer!r}, base_url={self.base_url!r})"

    async def get(self, waybill: str, carriers: Sequence[str] = ()) -> Shipment | None:
        """Query the number with each candidate carrier in turn; first hit wins.

        Args:
            waybill: Normalised waybill number.
            carriers: Candidate carrier codes; empty means "guess from the number"
                (``bot.tracking.waybill.carriers_for``). Codes without a Kuaidi100
                ``com`` are skipped.

        Returns:
            The shipment, or ``None`` when no candidate carrier knows it.

        Raises:
            ProviderError: The API failed (stops at the first failure).
        """
        if not carriers:
            from bot.tracking.waybill import carriers_for  # lazy: only needed for guessing

            carriers = carriers_for(waybill)
        for carrier in carriers:
            com = KUAIDI100_COM.get(carrier.upper())
            if com is None:
                continue
            payload = await self._query(com, waybill)
            shipment = parse_query_reply(payload, waybill, carrier.upper())
            if shipment is not None:
                return shipment
        return None

    async def find_by_phone(self, phone: str, receiver_name: str) -> list[Shipment]:
        """Return ``[]`` always: the real-time query API cannot search by phone."""
        return []

    async def check_receiver_digits(self, waybill: str, carrier: str, digits: str) -> bool | None:
        """Whether ``digits`` are the last four of the parcel's phone, as the carrier checks them.

        The query's ``phone`` field is checked by the carriers in :data:`PHONE_CHECKED` (SF:
        the receiver's or sender's phone, last four digits); a wrong one is refused with
        ``returnCode`` 408. Other carriers ignore the field, so nothing can be proven here.

        Returns:
            ``True``/``False``; ``None`` when the carrier does not check phones.

        Raises:
            ProviderError: The API failed otherwise.
        """
        com = KUAIDI100_COM.get(carrier.upper())
        if com not in PHONE_CHECKED or not (len(digits) == 4 and digits.isdigit()):
            return None
        payload = await self._query(com, waybill, phone=digits)
        if isinstance(payload, Mapping) and str(payload.get("returnCode", "")) == "408":
            return False
        return parse_query_reply(payload, waybill, carrier.upper()) is not None

    async def aclose(self) -> None:
        """Close the HTTP session (a later query opens a new one)."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout))
        return self._session

    async def _query(self, com: str, num: str, phone: str = "") -> Any:
        fields = {"com": com, "num": num, "resultv2": "4", **({"phone": phone} if phone else {})}
        param = json.dumps(fields, ensure_ascii=False)
        sign = kuaidi100_sign(param, self._key, self.customer)
        form = {"customer": self.customer, "param": param, "sign": sign}
        try:
            async with self._client().post(f"{self.base_url}/poll/query.do", data=form) as response:
                if response.status >= 400:
                    raise ProviderError(f"Kuaidi100 answered HTTP {response.status}")
                body = await response.text()
        except (asyncio.TimeoutError, TimeoutError):
            raise ProviderError(f"Kuaidi100 did not answer within {self.timeout:g} s") from None
        except aiohttp.ClientError as exc:
            raise ProviderError(f"cannot reach Kuaidi100 ({exc.__class__.__name__})") from None
        try:
            return json.loads(body)
        except ValueError:
            raise ProviderError("Kuaidi100 reply is not JSON") from None
