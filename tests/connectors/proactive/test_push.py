"""The push endpoint on a real Sanic server: verified first, refused clearly, applied once.

``POST /webhooks/proactive/kuaidi100`` of :class:`connectors.proactive.channel.ProactiveInput`
(its loop off: the notices stay queued for the assertions) over real HTTP; real SQLite
stores, the shipped limits and policy.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import pytest

from bot.common.clock import CHINA_TZ
from bot.common.ratelimit import Rate
from bot.policy.limits import Limits, limits, set_limits
from bot.proactive import watches
from bot.proactive.push import parse_push, push_sign
from bot.proactive.store import ProactiveStore
from connectors.proactive.channel import ProactiveInput
from tests.support.proactive import outbox_services
from tests.support.sanic_server import BlueprintServer

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=CHINA_TZ)
WAYBILL = "YT7366118571491"
SALT = "s4lt-from-the-subscription"
OK = {"result": True, "returnCode": "200", "message": "成功"}
TRANSIT = {"time": "2026-11-23 09:00:00", "context": "快件已从杭州转运中心发出", "areaName": "杭州"}
HELD = {"time": "2026-11-23 11:30:00", "context": "因天气原因，快件暂时滞留在上海转运中心", "areaName": "上海"}


def param(state: str, scans: list[dict[str, str]], nu: str = WAYBILL) -> str:
    last = {"message": "ok", "state": state, "status": "200", "ischeck": "0", "com": "yuantong", "nu": nu,
            "data": scans}  # fmt: skip
    return json.dumps({"status": "polling", "message": "", "lastResult": last}, ensure_ascii=False)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[ProactiveStore]:
    with outbox_services(f"sqlite:///{tmp_path / 'tickets.db'}", NOW) as proactive:
        yield proactive


@pytest.fixture
def server(store: ProactiveStore) -> Iterator[BlueprintServer]:
    with BlueprintServer(ProactiveInput(run_loop=False, push_salt=SALT)) as running:
        running.call(
            watches.watch_parcel("en-customer", "rest", WAYBILL, "en", parse_push(param("0", [TRANSIT])).shipment)
        )
        yield running


def post(server: BlueprintServer, body: str, sign: str) -> tuple[int, dict[str, object]]:
    answer = server.http.post(f"{server.url}/kuaidi100", data={"param": body, "sign": sign})
    return answer.status_code, answer.json()


def test_a_bad_signature_is_refused_and_nothing_is_processed(server: BlueprintServer, store: ProactiveStore) -> None:
    before = store.active_watches(NOW)
    body = param("2", [HELD, TRANSIT])
    for sign in (push_sign(body, "wrong-salt"), "", push_sign(body + " ", SALT)):
        status, answer = post(server, body, sign)
        assert status == 403 and answer["result"] is False and answer["returnCode"] == "500"
    assert server.http.post(f"{server.url}/kuaidi100", data={"param": body}).status_code == 403  # unsigned
    # a bad signature is refused before the param is even read as JSON
    status, _ = post(server, "{not json", push_sign("{not json", "wrong-salt"))
    assert status == 403
    assert store.pending() == [] and store.active_watches(NOW) == before


def test_a_signed_push_queues_the_notice_once(server: BlueprintServer, store: ProactiveStore) -> None:
    body = param("2", [HELD, TRANSIT])
    assert post(server, body, push_sign(body, SALT)) == (200, OK)
    [notice] = store.pending()
    assert (notice.conversation_id, notice.kind, notice.waybill) == ("en-customer", "held", WAYBILL)
    assert "on hold" in notice.text
    assert post(server, body, push_sign(body, SALT).lower()) == (200, OK)  # Kuaidi100 retried: nothing twice
    assert len(store.pending()) == 1
    other = param("2", [HELD, TRANSIT], nu="SF1234567890123")  # nobody watches it
    assert post(server, other, push_sign(other, SALT)) == (200, OK)
    assert len(store.pending()) == 1


@pytest.mark.parametrize(
    "form",
    [
        {"sign": "ABC"},  # no param
        "just some text",  # no fields at all
    ],
)
def test_a_body_that_is_not_a_push_form_is_400(server: BlueprintServer, form: dict[str, str] | str) -> None:
    if isinstance(form, str):
        answer = server.http.post(f"{server.url}/kuaidi100", content=form,
                                  headers={"content-type": "application/x-www-form-urlencoded"})  # fmt: skip
    else:
        answer = server.http.post(f"{server.url}/kuaidi100", data=form)
    assert answer.status_code == 400 and answer.json()["result"] is False


def test_json_instead_of_a_form_and_a_signed_malformed_param_are_400(
    server: BlueprintServer, store: ProactiveStore
) -> None:
    body = param("2", [HELD, TRANSIT])
    answer = server.http.post(f"{server.url}/kuaidi100", json={"param": body, "sign": push_sign(body, SALT)})
    assert answer.status_code == 400
    for bad in ("{not json", json.dumps({"status": "polling", "lastResult": {"nu": WAYBILL}})):
        status, result = post(server, bad, push_sign(bad, SALT))
        assert status == 400 and result["returnCode"] == "400"
    assert store.pending() == []


def test_an_oversize_body_is_refused_before_it_is_read(server: BlueprintServer, store: ProactiveStore) -> None:
    cap = int(limits().number("body_bytes.kuaidi100_push"))
    head = (
        "POST /webhooks/proactive/kuaidi100 HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {cap + 1}\r\n\r\n"
    ).encode()
    host, port = server.base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(head + b"param=")  # the rest of the body is never sent
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    assert data.split(b" ", 2)[1] == b"413"
    assert store.pending() == []


def test_over_the_rate_429(server: BlueprintServer, store: ProactiveStore) -> None:
    shipped = Limits.load()
    set_limits(replace(shipped, rates={**shipped.rates, "kuaidi100_push_per_address": Rate(2, 60.0)}))
    body = param("2", [HELD, TRANSIT])
    assert post(server, body, "bad")[0] == 403
    assert post(server, body, "bad")[0] == 403
    answer = server.http.post(f"{server.url}/kuaidi100", data={"param": body, "sign": push_sign(body, SALT)})
    assert answer.status_code == 429 and int(answer.headers["retry-after"]) > 0
    assert store.pending() == []


def test_without_a_salt_the_endpoint_is_off(store: ProactiveStore) -> None:
    with BlueprintServer(ProactiveInput(run_loop=False, push_salt="")) as off:
        body = param("2", [HELD, TRANSIT])
        status, answer = post(off, body, push_sign(body, ""))
        assert status == 503 and answer["result"] is False
    assert store.pending() == []
