"""Kuaidi100Provider against a local fake of the real-time query API.

The fake runs on 127.0.0.1 (aiohttp.web), checks ``sign`` like the real API and
answers with payloads shaped like Kuaidi100's.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import socket
import time
from dataclasses import dataclass, field
from datetime import datetime

import pytest
from aiohttp import web

from bot.common.clock import CHINA_TZ
from bot.tracking import HoldReason, ProviderError, Status
from bot.tracking.kuaidi100 import KUAIDI100_COM, Kuaidi100Provider, kuaidi100_sign, parse_query_reply

CUSTOMER = "ABCDEF0123456789ABCDEF0123456789"
KEY = "fakeKey123"
NUM = "SF1234567890123"
PHONE = re.compile(r"1[3-9]\d{9}")
NO_RESULT = {"result": False, "returnCode": "500", "message": "查询无结果，请隔段时间再查"}


def scan(time_: str, context: str, location: str = "", status: str = "在途") -> dict:
    return {
        "time": time_,
        "ftime": time_,
        "context": context,
        "location": location,
        "areaCode": None,
        "areaName": location or None,
        "status": status,
    }


def reply(num: str, com: str, state: str, data: list[dict], ischeck: str = "0") -> dict:
    """A success payload; ``data`` newest first, as the API sends it."""
    return {
        "message": "ok",
        "nu": num,
        "ischeck": ischeck,
        "condition": "F00",
        "com": com,
        "status": "200",
        "state": state,
        "data": data,
    }


SF_DELIVERED = reply(
    NUM,
    "shunfeng",
    "3",
    [
        scan("2026-11-20 14:30:00", "【上海市】快件已签收，签收人：前台，如有疑问请拨打95338", "上海市", "签收"),
        scan("2026-11-20 09:12:00", "【上海市】快件交给王**，正在派送途中", "上海市", "派件"),
        scan("2026-11-19 22:05:00", "【上海市】快件到达【上海浦东集散中心】", "上海市"),
        scan("2026-11-19 08:40:00", "【深圳市】顺丰速运 已收取快件", "深圳市", "揽收"),
    ],
    ischeck="1",
)


@dataclass
class FakeKuaidi100:
    """State of the fake API: known shipments and the requests it saw."""

    url: str = ""
    shipments: dict[tuple[str, str], dict] = field(default_factory=dict)
    requests: list[dict] = field(default_factory=list)
    release: asyncio.Event = field(default_factory=asyncio.Event)
    phones: dict[tuple[str, str], str] = field(default_factory=dict)
    """Last four digits the carrier checks against a query's ``phone`` (SF), by (com, num)."""


@pytest.fixture
async def fake():
    state = FakeKuaidi100()

    async def query(request: web.Request) -> web.Response:
        form = await request.post()
        param, sign, customer = form.get("param", ""), form.get("sign", ""), form.get("customer", "")
        state.requests.append({"customer": customer, "param": json.loads(param) if param else None})
        expected = hashlib.md5(f"{param}{KEY}{customer}".encode()).hexdigest().upper()
        if customer != CUSTOMER or sign != expected:
            return web.json_response({"result": False, "returnCode": "400", "message": "签名验证失败"})
        body = json.loads(param)
        expected_phone = state.phones.get((body["com"], body["num"]))
        if "phone" in body and expected_phone and body["phone"] != expected_phone:
            return web.json_response({"result": False, "returnCode": "408", "message": "验证码错误"})
        payload = state.shipments.get((body["com"], body["num"]), NO_RESULT)
        return web.json_response(payload)

    async def http_500(request: web.Request) -> web.Response:
        return web.Response(status=500, text="<html>Internal Server Error</html>", content_type="text/html")

    async def slow(request: web.Request) -> web.Response:
        try:
            await asyncio.wait_for(state.release.wait(), 10)
        except asyncio.TimeoutError:
            pass
        return web.json_response(SF_DELIVERED)

    async def malformed(request: web.Request) -> web.Response:
        return web.Response(text='{"message":"ok","status":"200","data":[', content_type="application/json")

    async def html(request: web.Request) -> web.Response:
        return web.Response(text="<html>维护中</html>", content_type="text/html")

    async def wrong_shape(request: web.Request) -> web.Response:
        return web.json_response({"status": "200", "message": "ok", "state": "0", "data": "nothing"})

    async def a_list(request: web.Request) -> web.Response:
        return web.json_response([NUM, "13812345678"])

    async def no_state(request: web.Request) -> web.Response:
        payload = dict(SF_DELIVERED)
        del payload["state"]
        return web.json_response(payload)

    async def bad_time(request: web.Request) -> web.Response:
        payload = reply(NUM, "shunfeng", "0", [scan("yesterday", f"快件 {NUM} 已发出")])
        return web.json_response(payload)

    async def account_error(request: web.Request) -> web.Response:
        return web.json_response({"result": False, "returnCode": "601", "message": f"POLL:KEY已过期 {NUM}"})

    app = web.Application()
    app.router.add_post("/poll/query.do", query)
    for name, handler in [
        ("http500", http_500),
        ("slow", slow),
        ("malformed", malformed),
        ("html", html),
        ("wrongshape", wrong_shape),
        ("list", a_list),
        ("nostate", no_state),
        ("badtime", bad_time),
        ("account", account_error),
    ]:
        app.router.add_post(f"/{name}/poll/query.do", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    state.url = f"http://127.0.0.1:{port}"
    yield state
    state.release.set()
    await runner.cleanup()


@pytest.fixture
async def client(fake):
    provider = Kuaidi100Provider(CUSTOMER, KEY, base_url=fake.url, timeout=2.0)
    yield provider
    await provider.aclose()


def assert_clean(error: ProviderError) -> None:
    message = str(error)
    assert NUM not in message and NUM[2:] not in message
    assert not PHONE.search(message)
    assert KEY not in message


# ---------------------------------------------------------------- success


async def test_delivered_shipment(fake, client):
    fake.shipments[("shunfeng", NUM)] = SF_DELIVERED
    shipment = await client.get(NUM, ["SF"])
    assert shipment is not None
    assert shipment.waybill == NUM and shipment.carrier == "SF"
    assert shipment.status is Status.DELIVERED
    assert shipment.signed_by == "前台"
    assert shipment.delivered_at == datetime(2026, 11, 20, 14, 30, tzinfo=CHINA_TZ)
    times = [event.time for event in shipment.events]
    assert times == sorted(times)
    assert shipment.events[0].description.endswith("已收取快件")
    assert shipment.events[0].location == "深圳市"
    assert shipment.latest.time.utcoffset().total_seconds() == 8 * 3600
    assert shipment.extra["kuaidi100_state"] == "3"


async def test_request_is_signed_and_shaped_like_the_real_api(fake, client):
    fake.shipments[("shunfeng", NUM)] = SF_DELIVERED
    await client.get(NUM, ["SF"])
    (request,) = fake.requests
    assert request["customer"] == CUSTOMER
    assert request["param"]["com"] == "shunfeng" and request["param"]["num"] == NUM
    assert "resultv2" in request["param"]


def test_sign_is_upper_case_md5():
    param = '{"com":"yuantong","num":"YT1234567890123"}'
    expected = hashlib.md5((param + "key" + "cust").encode()).hexdigest().upper()
    assert kuaidi100_sign(param, "key", "cust") == expected


@pytest.mark.parametrize(
    ("state", "context", "status", "reason"),
    [
        ("0", "【杭州转运中心】已发出 下一站【上海浦东转运中心】", Status.IN_TRANSIT, None),
        ("1002", "【杭州转运中心】已发出 下一站【上海浦东转运中心】", Status.IN_TRANSIT, None),
        ("0", "【上海市】快件已经到达【上海浦东转运中心】", Status.AT_SORTING_CENTRE, None),
        ("1", "【深圳市】顺丰速运 已收取快件", Status.PICKED_UP, None),
        ("103", "【深圳市】顺丰速运 已收取快件", Status.PICKED_UP, None),
        ("5", "【上海市】快件交给王**，正在派送途中", Status.OUT_FOR_DELIVERY, None),
        ("501", "快件已放入【丰巢智能柜】", Status.OUT_FOR_DELIVERY, None),
        ("3", "快件已签收，签收人：门卫", Status.DELIVERED, None),
        ("301", "已签收", Status.DELIVERED, None),
        ("2", "受台风天气影响，快件滞留【厦门集美转运中心】", Status.HELD, HoldReason.WEATHER),
        ("2", "收件地址不详，快件暂存网点", Status.HELD, HoldReason.ADDRESS_PROBLEM),
        ("2", "【广州白云转运中心】爆仓，快件积压", Status.HELD, HoldReason.CAPACITY),
        ("208", "快件滞留", Status.HELD, None),
        ("207", "超区件", Status.HELD, HoldReason.ADDRESS_PROBLEM),
        ("8", "进口邮件海关查验中", Status.HELD, HoldReason.CUSTOMS_INSPECTION),
        ("11", "清关中", Status.HELD, HoldReason.CUSTOMS_INSPECTION),
        ("13", "清关异常", Status.HELD, HoldReason.CUSTOMS_INSPECTION),
        ("12", "已清关，交国内段运输", Status.IN_TRANSIT, None),
        ("14", "收件人拒签", Status.DELIVERY_FAILED, None),
        ("206", "派送不成功：电话无人接听", Status.DELIVERY_FAILED, None),
        ("4", "退回件已由寄件人签收", Status.RETURNED, None),
        ("6", "收件人拒收，快件退回寄件人", Status.RETURNED, None),
        ("209", "快件外包装破损", Status.DAMAGED, None),
        ("2", "快件在【义乌转运中心】中转时遗失", Status.LOST, None),
        ("7", "快件已转投其他快递公司", Status.IN_TRANSIT, None),
        ("99", "未知状态", Status.IN_TRANSIT, None),
    ],
)
async def test_states_map_onto_statuses(fake, client, state, context, status, reason):
    fake.shipments[("zhongtong", "73123456789012")] = reply(
        "73123456789012",
        "zhongtong",
        state,
        [scan("2026-11-20 10:00:00", context, "上海市"), scan("2026-11-19 10:00:00", "【义乌市】已揽收", "义乌市")],
    )
    shipment = await client.get("73123456789012", ["ZTO"])
    assert shipment is not None
    assert shipment.status is status
    assert shipment.hold_reason is reason
    if status in {Status.DELIVERY_FAILED, Status.RETURNED, Status.LOST, Status.DAMAGED}:
        assert shipment.note


async def test_signer_from_detailed_state(fake, client):
    fake.shipments[("zhongtong", "73123456789012")] = reply(
        "73123456789012", "zhongtong", "304", [scan("2026-11-20 10:00:00", "已签收")]
    )
    shipment = await client.get("73123456789012", ["ZTO"])
    assert shipment.signed_by == "快递柜或驿站"


async def test_route_info_gives_origin_and_destination(fake, client):
    payload = dict(
        SF_DELIVERED, routeInfo={"from": {"number": "CN440300", "name": "广东,深圳市"}, "to": {"name": "上海"}}
    )
    fake.shipments[("shunfeng", NUM)] = payload
    shipment = await client.get(NUM, ["SF"])
    assert shipment.origin == "广东,深圳市" and shipment.destination == "上海"


async def test_empty_scan_list_is_a_shipment_without_events(fake, client):
    fake.shipments[("shunfeng", NUM)] = reply(NUM, "shunfeng", "0", [])
    shipment = await client.get(NUM, ["SF"])
    assert shipment is not None and shipment.events == () and shipment.latest is None


# ------------------------------------------------------- carriers and misses


async def test_candidate_carriers_are_tried_in_order(fake, client):
    number = "77123456789012"
    fake.shipments[("zhongtong", number)] = reply(number, "zhongtong", "0", [scan("2026-11-20 10:00:00", "运输中")])
    shipment = await client.get(number, ["STO", "ZTO", "YUNDA"])
    assert shipment is not None and shipment.carrier == "ZTO"
    assert [r["param"]["com"] for r in fake.requests] == ["shentong", "zhongtong"]


async def test_no_carriers_means_guess_from_the_number(fake, client):
    fake.shipments[("shunfeng", NUM)] = SF_DELIVERED
    shipment = await client.get(NUM)
    assert shipment is not None and shipment.carrier == "SF"


async def test_unknown_number_is_none(fake, client):
    assert await client.get(NUM, ["SF", "JD"]) is None
    assert [r["param"]["com"] for r in fake.requests] == ["shunfeng", "jd"]


async def test_carrier_without_kuaidi100_code_is_skipped(fake, client):
    assert await client.get(NUM, ["NOPE"]) is None
    assert fake.requests == []


def test_every_carrier_has_a_com_code():
    from bot.tracking.waybill import CARRIERS

    assert set(CARRIERS) <= set(KUAIDI100_COM)


async def test_find_by_phone_is_not_supported(fake, client):
    assert await client.find_by_phone("13912342846", "王芳") == []
    assert fake.requests == []


async def test_receiver_digits_are_checked_by_the_carrier(fake, client):
    fake.shipments[("shunfeng", NUM)] = SF_DELIVERED
    fake.phones[("shunfeng", NUM)] = "5678"
    assert await client.check_receiver_digits(NUM, "SF", "5678") is True
    assert fake.requests[-1]["param"]["phone"] == "5678"
    assert await client.check_receiver_digits(NUM, "SF", "1234") is False
    asked = len(fake.requests)
    assert await client.check_receiver_digits(NUM, "YTO", "5678") is None  # the field is not checked there
    assert await client.check_receiver_digits(NUM, "SF", "56789") is None
    assert len(fake.requests) == asked


async def test_session_can_be_closed_and_reopened(fake, client):
    fake.shipments[("shunfeng", NUM)] = SF_DELIVERED
    assert await client.get(NUM, ["SF"]) is not None
    await client.aclose()
    await client.aclose()
    assert await client.get(NUM, ["SF"]) is not None


# ------------------------------------------------------------------ failures


async def test_bad_sign_is_a_provider_error(fake):
    provider = Kuaidi100Provider(CUSTOMER, "wrong-key", base_url=fake.url)
    try:
        with pytest.raises(ProviderError, match="returnCode 400") as excinfo:
            await provider.get(NUM, ["SF"])
    finally:
        await provider.aclose()
    assert_clean(excinfo.value)
    assert len(fake.requests) == 1


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("http500", "HTTP 500"),
        ("malformed", "not JSON"),
        ("html", "not JSON"),
        ("wrongshape", "scan list"),
        ("list", "not a JSON object"),
        ("nostate", "state"),
        ("badtime", "time"),
        ("account", "returnCode 601"),
    ],
)
async def test_broken_replies_are_provider_errors(fake, path, expected):
    provider = Kuaidi100Provider(CUSTOMER, KEY, base_url=f"{fake.url}/{path}", timeout=2.0)
    try:
        with pytest.raises(ProviderError, match=expected) as excinfo:
            await provider.get(NUM, ["SF", "JD"])
    finally:
        await provider.aclose()
    assert_clean(excinfo.value)


async def test_slow_api_times_out(fake):
    timeout = 0.5
    provider = Kuaidi100Provider(CUSTOMER, KEY, base_url=f"{fake.url}/slow", timeout=timeout)
    started = time.monotonic()
    try:
        with pytest.raises(ProviderError, match="did not answer") as excinfo:
            await provider.get(NUM, ["SF", "JD"])
    finally:
        await provider.aclose()
    assert time.monotonic() - started < timeout + 1
    assert_clean(excinfo.value)


async def test_connection_refused(fake):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    provider = Kuaidi100Provider(CUSTOMER, KEY, base_url=f"http://127.0.0.1:{port}", timeout=2.0)
    try:
        with pytest.raises(ProviderError, match="cannot reach") as excinfo:
            await provider.get(NUM, ["SF"])
    finally:
        await provider.aclose()
    assert_clean(excinfo.value)


@pytest.mark.parametrize(
    "payload",
    [
        None,
        "ok",
        {"status": "200", "message": "ok"},
        {"status": "400", "message": "error", "data": []},
        {"status": "200", "message": "ok", "state": "0", "data": [{"time": "2026-11-20 10:00:00"}]},
        {"status": "200", "message": "ok", "state": "0", "data": ["text"]},
        {"status": "200", "message": "ok", "state": "abc", "data": []},
    ],
)
def test_parse_rejects_wrong_shapes(payload):
    with pytest.raises(ProviderError) as excinfo:
        parse_query_reply(payload, NUM, "SF")
    assert_clean(excinfo.value)


def test_parse_no_result_by_message():
    assert parse_query_reply({"result": False, "returnCode": "500", "message": "查询无结果"}, NUM, "SF") is None
    assert parse_query_reply({"result": False, "message": "查询无结果，请隔段时间再查"}, NUM, "SF") is None
