"""Issue 11 at the customer edge, on a real Sanic server without Rasa (REST and widget channels).

One test (or more) per finding, each failing on the code before the fix:

1. limits before work: bodies over the server or route cap are refused (413) before they are read;
2. metadata: only its documented shape reaches Rasa, deep nesting neither raises nor drops the message;
4. rates: 429 with ``Retry-After`` per sender, per address, per widget token and for widget sessions,
   shared by replicas through Redis;
5. channels own their conversations: REST cannot write to nor poll ``w-``/``tg-``/``wx-`` ids; outside
   the loopback demo it needs a ``REST_API_KEYS`` credential, whose conversations are its own;
6. photos are decoded and stored only inside a damage claim, and at a bounded rate;
7. the Rasa HTTP API token is accepted in a header.

The end-to-end twins (real Rasa: the stall seen by a concurrent customer, the tracker) are in
``tests/e2e/test_security_edge_e2e.py``.
"""

from __future__ import annotations

import base64
import io
import json
import secrets
import socket
import time
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Iterator

import httpx
import pytest
from PIL import Image
from rasa.core.channels.channel import UserMessage
from rasa.core.tracker_store import InMemoryTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActiveLoop
from rasa.shared.core.trackers import DialogueStateTracker
from sanic import Sanic, response

from bot.common.ratelimit import Rate, RedisRateLimiter, set_limiter
from bot.common.text import MAX_MESSAGE_CHARS
from bot.policy.limits import Limits, limits, set_limits
from connectors.common.inbound import CLAIM_FORM
from connectors.common.metadata import MALFORMED, MetadataError, clean_metadata
from connectors.common.server_limits import install
from connectors.console import live
from connectors.rest.channel import ApiKey, CustomerRestInput, load_api_keys, match_key
from connectors.widget.channel import WebWidgetInput
from tests.support import ROOT
from tests.support.redis_server import REDIS_URL
from tests.support.sanic_server import BlueprintServer

KEY_A = "a" * 32
KEY_B = "b" * 32


def _png(colour: str = "red") -> str:
    out = io.BytesIO()
    Image.new("RGB", (8, 6), colour).save(out, format="PNG")
    return base64.b64encode(out.getvalue()).decode()


class EdgeServer(BlueprintServer):
    """A channel on a real Sanic server; ``agent`` (a tracker store holder) stands in for Rasa's agent."""

    def __init__(self, channel: Any, agent: Any = None) -> None:
        super().__init__(channel, self._answer, agent)

    async def _answer(self, message: UserMessage) -> None:
        self.received.append(message)
        await message.output_channel.send_text_message(message.sender_id, "收到")


@pytest.fixture
def rest(evidence_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[EdgeServer]:
    monkeypatch.delenv("REST_API_KEYS", raising=False)
    with EdgeServer(CustomerRestInput()) as server:
        yield server


@pytest.fixture
def widget(evidence_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[EdgeServer]:
    monkeypatch.setenv("WIDGET_SECRET", "s" * 32)
    monkeypatch.delenv("WIDGET_ALLOWED_ORIGINS", raising=False)
    with EdgeServer(WebWidgetInput()) as server:
        yield server


def with_rates(**rates: Rate) -> None:
    """The shipped limits with some rates replaced (this test only: conftest restores them)."""
    shipped = Limits.load()
    set_limits(replace(shipped, rates={**shipped.rates, **rates}))


def raw_exchange(base: str, head: bytes, body: bytes = b"", timeout: float = 5.0) -> tuple[int, bytes]:
    """Send a hand-written request (possibly an incomplete body) and read the answer's status and body."""
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=timeout) as sock:
        sock.sendall(head + body)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
        headers, _, rest = data.partition(b"\r\n\r\n")
        length = next((int(line.split(b":", 1)[1]) for line in headers.split(b"\r\n")
                       if line.lower().startswith(b"content-length:")), 0)  # fmt: skip
        while len(rest) < length:
            chunk = sock.recv(65536)
            if not chunk:
                break
            rest += chunk
    return int(headers.split(b" ", 2)[1]), rest


def post_head(path: str, length: int, extra: str = "") -> bytes:
    return (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Content-Length: {length}\r\n{extra}\r\n").encode()  # fmt: skip


# --- 1. limits before work ------------------------------------------------------------------------------


def test_the_server_cap_comes_from_the_limits_file(rest: EdgeServer) -> None:
    assert rest.app.config.REQUEST_MAX_SIZE == limits().number("body_bytes.server") < 100_000_000


def test_a_30_mb_body_is_refused_before_it_is_read(rest: EdgeServer) -> None:
    # only the headers and 10 bytes are sent: the answer comes at once, so nothing waited for the 30 MB
    started = time.monotonic()
    status, body = raw_exchange(rest.base, post_head("/webhooks/rest/webhook", 30 * 1024 * 1024), b'{"sender":')
    assert status == 413 and "too large" in json.loads(body)["error"]
    assert time.monotonic() - started < 2.0
    assert rest.received == []


@pytest.mark.parametrize(
    ("channel", "path", "cap"),
    [
        ("rest", "/webhooks/rest/webhook", "rest_webhook"),
        ("widget", "/webhooks/widget/message", "widget_message"),
        ("widget", "/webhooks/widget/session", "widget_small"),
    ],
)
def test_each_route_has_its_own_cap_checked_before_the_body_is_read(
    request: pytest.FixtureRequest, channel: str, path: str, cap: str
) -> None:
    server: EdgeServer = request.getfixturevalue(channel)
    size = int(limits().number(f"body_bytes.{cap}"))
    assert size < limits().number("body_bytes.server") or cap.endswith("_webhook") or cap.endswith("_message")
    status, body = raw_exchange(server.base, post_head(path, size + 1), b"{}")
    assert status == 413, body
    assert str(size) in json.loads(body)["error"]
    assert server.received == []


def test_a_chunked_body_growing_past_the_cap_is_cut_off(widget: EdgeServer) -> None:
    head = b"POST /webhooks/widget/session HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n"
    chunk = b"x" * 3000
    body = (b"%x\r\n" % len(chunk) + chunk + b"\r\n") * 3 + b"0\r\n\r\n"
    status, _ = raw_exchange(widget.base, head, body)
    assert status == 413


def test_a_body_within_the_cap_still_works(rest: EdgeServer) -> None:
    reply = rest.http.post(f"{rest.url}/webhook", json={"sender": "cap-ok", "message": "你好" * 50_000})
    assert reply.status_code == 200 and reply.json() == [{"recipient_id": "cap-ok", "text": "收到"}]
    assert len(rest.received[0].text) == MAX_MESSAGE_CHARS


# --- 2. metadata ----------------------------------------------------------------------------------------


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def test_unknown_metadata_is_dropped_and_never_reaches_rasa(rest: EdgeServer) -> None:
    reply = rest.http.post(
        f"{rest.url}/webhook",
        json={"sender": "meta-1", "message": "你好", "metadata": {"junk": "x" * 1_000_000, "user": {"name": "x"}}},
    )
    assert reply.status_code == 200
    assert rest.received[-1].metadata is None


def test_600_levels_of_nesting_neither_raise_nor_drop_the_message(rest: EdgeServer) -> None:
    raw = '{"sender": "meta-2", "message": "你好", "metadata": {"deep": ' + nested(600) + "}}"
    reply = rest.http.post(f"{rest.url}/webhook", content=raw)
    assert reply.status_code == 200 and reply.json()[0]["text"] == "收到"
    assert rest.received[-1].text == "你好" and rest.received[-1].metadata is None


def test_nesting_too_deep_to_decode_is_a_400_not_a_crash(rest: EdgeServer) -> None:
    raw = '{"sender": "meta-3", "message": "hi", "metadata": {"deep": ' + nested(100_000) + "}}"
    reply = rest.http.post(f"{rest.url}/webhook", content=raw)
    assert reply.status_code == 400 and reply.json() == {"error": "body must be JSON"}
    assert rest.received == []


def test_attachments_keep_only_their_documented_shape(widget: EdgeServer) -> None:
    token = widget.http.post(f"{widget.base}/webhooks/widget/session").json()["token"]
    items = [{"kind": "image", "data": _png(), "filename": "a.png", "exif": {"gps": [1, 2]}},
             {"kind": {"deep": json.loads(nested(300))}, "data": "AAAA"}, ["not", "an", "object"]]  # fmt: skip
    reply = widget.http.post(f"{widget.base}/webhooks/widget/message", json={"text": "", "attachments": items},
                             headers={"Authorization": f"Bearer {token}"})  # fmt: skip
    assert reply.status_code == 200
    assert widget.received[-1].metadata == {"attachments": [
        {"kind": "image", "error": "outside_claim"}, {"kind": "unknown", "error": "malformed"},
        {"kind": "unknown", "error": "malformed"}]}  # fmt: skip


@pytest.mark.parametrize(
    ("metadata", "expected"),
    [
        (None, None),
        ({}, None),
        ({"x": 1, "y": [[[]]]}, None),
        ({"attachments": None}, None),
        ({"attachments": "nope"}, {"attachments": MALFORMED}),
        ({"attachments": {"kind": "image"}}, {"attachments": MALFORMED}),
        (
            {"attachments": [{"kind": "image", "data": "QUJD", "x": [1]}]},
            {"attachments": [{"kind": "image", "data": "QUJD"}]},
        ),
        ({"attachments": [{"kind": "image", "data": b"raw"}]}, {"attachments": [{"kind": "image", "data": b"raw"}]}),
        ({"attachments": [{"data": {"a": 1}}]}, {"attachments": [{"data": 0}]}),
        ({"attachments": [{"kind": "k" * 31, "data": "QUJD"}]}, {"attachments": [{"kind": 0, "data": "QUJD"}]}),
        (
            {"attachments": [{"kind": "image", "data": "QUJD", "filename": "f" * 300, "content_type": 5}]},
            {"attachments": [{"kind": "image", "data": "QUJD"}]},
        ),
        ({"attachments": [1, "x", None]}, {"attachments": [None, None, None]}),
        (
            {"attachments": [{"kind": "image", "data": "QUJD"}] * 25},
            {"attachments": [{"kind": "image", "data": "QUJD"}] * 10 + [{"kind": "image"}]},
        ),
    ],
)
def test_metadata_schema(metadata: Any, expected: Any) -> None:
    assert clean_metadata(metadata, "test") == expected


def test_metadata_that_is_not_an_object_is_refused() -> None:
    with pytest.raises(MetadataError):
        clean_metadata(["attachments"], "test")


def test_the_schema_walk_does_not_recurse() -> None:
    deep: Any = []
    for _ in range(50_000):  # deeper than any recursion limit
        deep = [deep]
    assert clean_metadata({"attachments": [deep], "other": deep}, "test") == {"attachments": [None]}


# --- 5. channels own their conversations ------------------------------------------------------------------


@pytest.mark.parametrize("sender", ["w-AbCdEfGhIjKlMnOpQrStUvWx", "tg-123456", "wx-oX9kE5tYq2Lw8Rz3Nc6Vb1Mh4Ja0"])
def test_rest_cannot_write_to_or_poll_other_channels_customers(rest: EdgeServer, sender: str) -> None:
    live.outbox().put(sender, {"text": "agent reply meant for the widget customer"})
    try:
        said = rest.http.post(f"{rest.url}/webhook", json={"sender": sender, "message": "hi"})
        assert said.status_code == 400 and "other channels" in said.json()["error"]
        polled = rest.http.get(f"{rest.url}/poll", params={"sender": sender})
        assert polled.status_code == 400
        assert rest.received == []
    finally:
        assert live.outbox().take(sender) == [{"text": "agent reply meant for the widget customer"}]


def test_without_keys_only_this_host_may_use_rest(rest: EdgeServer) -> None:
    assert rest.http.post(f"{rest.url}/webhook", json={"sender": "local", "message": "hi"}).status_code == 200
    for header in ("X-Forwarded-For", "X-Real-IP", "Forwarded"):
        proxied = rest.http.post(f"{rest.url}/webhook", json={"sender": "far", "message": "hi"},
                                 headers={header: "203.0.113.7"})  # fmt: skip
        assert proxied.status_code == 401 and "REST_API_KEYS" in proxied.json()["error"]
        assert rest.http.get(f"{rest.url}/poll", params={"sender": "far"}, headers={header: "x"}).status_code == 401
    assert [m.sender_id for m in rest.received] == ["local"]


@pytest.fixture
def keyed_rest(evidence_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[EdgeServer]:
    monkeypatch.setenv("REST_API_KEYS", f"shop_a:{KEY_A}, shop_b:{KEY_B}")
    with EdgeServer(CustomerRestInput()) as server:
        yield server


def test_with_keys_every_request_needs_a_credential(keyed_rest: EdgeServer) -> None:
    url = f"{keyed_rest.url}/webhook"
    body = {"sender": "alice", "message": "你好"}
    assert keyed_rest.http.post(url, json=body).status_code == 401
    wrong = keyed_rest.http.post(url, json=body, headers={"Authorization": "Bearer " + "c" * 32})
    assert wrong.status_code == 401 and "REST_API_KEYS" in wrong.json()["error"]
    assert keyed_rest.http.get(f"{keyed_rest.url}/poll", params={"sender": "alice"}).status_code == 401
    ok = keyed_rest.http.post(url, json=body, headers={"Authorization": f"Bearer {KEY_A}"})
    assert ok.status_code == 200 and ok.json() == [{"recipient_id": "alice", "text": "收到"}]
    assert [m.sender_id for m in keyed_rest.received] == ["shop_a:alice"]


def test_a_credential_polls_only_its_own_conversations(keyed_rest: EdgeServer) -> None:
    live.outbox().put("shop_b:alice", {"text": "for shop b's alice"})
    live.outbox().put("alice", {"text": "for a demo alice"})
    try:
        as_a = keyed_rest.http.get(f"{keyed_rest.url}/poll", params={"sender": "alice"},
                                   headers={"Authorization": f"Bearer {KEY_A}"})  # fmt: skip
        assert as_a.status_code == 200 and as_a.json() == []
        as_b = keyed_rest.http.get(f"{keyed_rest.url}/poll", params={"sender": "alice"},
                                   headers={"Authorization": f"Bearer {KEY_B}"})  # fmt: skip
        assert as_b.json() == [{"text": "for shop b's alice", "recipient_id": "alice"}]
    finally:
        live.outbox().take("alice")
        live.outbox().take("shop_b:alice")


@pytest.mark.parametrize(
    "value",
    ["shop:short", "shop", f"sh-op:{KEY_A}", f":{KEY_A}", f"a:{KEY_A},a:{KEY_B}", f"{'n' * 33}:{KEY_A}"],
)
def test_malformed_keys_stop_the_channel_without_showing_the_secret(value: str) -> None:
    with pytest.raises(ValueError) as caught:
        load_api_keys({"REST_API_KEYS": value})
    assert KEY_A not in str(caught.value) and KEY_B not in str(caught.value) and "short" not in str(caught.value)


def test_keys_are_matched_whole_and_never_shown() -> None:
    keys = load_api_keys({"REST_API_KEYS": f"shop_a:{KEY_A},shop_b:{KEY_B}"})
    assert [k.name for k in keys] == ["shop_a", "shop_b"]
    assert match_key(keys, KEY_B) == "shop_b"
    assert match_key(keys, KEY_A[:-1]) is None and match_key(keys, KEY_A + "a") is None and match_key(keys, "") is None
    assert KEY_A not in repr(keys) and KEY_A not in repr(ApiKey("x", KEY_A))
    assert load_api_keys({}) == ()


# --- 4. rates --------------------------------------------------------------------------------------------


def assert_429(reply: httpx.Response) -> None:
    assert reply.status_code == 429, reply.text
    assert int(reply.headers["Retry-After"]) >= 1
    assert reply.json()["retry_after"] == int(reply.headers["Retry-After"])


def test_rest_messages_per_sender_are_limited(rest: EdgeServer) -> None:
    with_rates(rest_per_sender=Rate(3, 60))
    for _ in range(3):
        assert rest.http.post(f"{rest.url}/webhook", json={"sender": "chatty", "message": "hi"}).status_code == 200
    assert_429(rest.http.post(f"{rest.url}/webhook", json={"sender": "chatty", "message": "hi"}))
    assert rest.http.post(f"{rest.url}/webhook", json={"sender": "calm", "message": "hi"}).status_code == 200
    assert [m.sender_id for m in rest.received] == ["chatty"] * 3 + ["calm"]


def test_rest_requests_per_address_are_limited_refused_ones_included(rest: EdgeServer) -> None:
    with_rates(rest_per_address=Rate(4, 60))
    for n in range(2):
        assert rest.http.post(f"{rest.url}/webhook", json={"sender": f"s{n}", "message": "hi"}).status_code == 200
    assert rest.http.get(f"{rest.url}/poll", params={"sender": "s0"}).status_code == 200
    far = rest.http.post(f"{rest.url}/webhook", json={"sender": "x", "message": "hi"}, headers={"X-Real-IP": "1"})
    assert far.status_code == 401  # counted too
    assert_429(rest.http.post(f"{rest.url}/webhook", json={"sender": "s9", "message": "hi"}))
    assert_429(rest.http.get(f"{rest.url}/poll", params={"sender": "s0"}))


def test_widget_sessions_per_address_are_limited(widget: EdgeServer) -> None:
    # the probe got 859 sessions a second from one client
    allowed = int(limits().rate("widget_sessions_per_address").count)
    for _ in range(allowed):
        assert widget.http.post(f"{widget.base}/webhooks/widget/session").status_code == 200
    assert_429(widget.http.post(f"{widget.base}/webhooks/widget/session"))


def test_widget_messages_per_conversation_are_limited(widget: EdgeServer) -> None:
    with_rates(widget_per_token=Rate(2, 60))
    tokens = [widget.http.post(f"{widget.base}/webhooks/widget/session").json()["token"] for _ in range(2)]
    url = f"{widget.base}/webhooks/widget/message"
    first, second = ({"Authorization": f"Bearer {t}"} for t in tokens)
    for _ in range(2):
        assert widget.http.post(url, json={"text": "hi"}, headers=first).status_code == 200
    assert_429(widget.http.post(url, json={"text": "hi"}, headers=first))
    assert widget.http.post(url, json={"text": "hi"}, headers=second).status_code == 200
    assert len(widget.received) == 3


def test_rates_are_shared_by_replicas_through_redis(evidence_dir: Path, monkeypatch: pytest.MonkeyPatch,
                                                    redis_prefix: str) -> None:  # fmt: skip
    monkeypatch.delenv("REST_API_KEYS", raising=False)
    with_rates(rest_per_sender=Rate(2, 60))
    set_limiter(RedisRateLimiter(REDIS_URL, f"{redis_prefix}:"))
    with EdgeServer(CustomerRestInput()) as one, EdgeServer(CustomerRestInput()) as two:
        assert one.http.post(f"{one.url}/webhook", json={"sender": "roams", "message": "hi"}).status_code == 200
        assert two.http.post(f"{two.url}/webhook", json={"sender": "roams", "message": "hi"}).status_code == 200
        assert_429(one.http.post(f"{one.url}/webhook", json={"sender": "roams", "message": "hi"}))
        assert_429(two.http.post(f"{two.url}/webhook", json={"sender": "roams", "message": "hi"}))


# --- 6. photos ---------------------------------------------------------------------------------------------


def agent_with(tracker: DialogueStateTracker | None) -> SimpleNamespace:
    """Rasa's in-memory tracker store holding one conversation, where the channel looks (``app.ctx.agent``)."""
    store = InMemoryTrackerStore(Domain.empty())
    if tracker is not None:
        store.store[tracker.sender_id] = store.serialise_tracker(tracker)
    return SimpleNamespace(tracker_store=store)


def send_photos(server: EdgeServer, sender: str, count: int = 1) -> list[dict[str, Any]]:
    photos = [{"kind": "image", "data": _png(colour)} for colour in ("red", "green", "blue", "white")[:count]]
    reply = server.http.post(f"{server.url}/webhook", json={"sender": sender, "message": "", "metadata": {
        "attachments": photos}})  # fmt: skip
    assert reply.status_code == 200
    return server.received[-1].metadata["attachments"]


def stored_files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()] if folder.exists() else []


@pytest.mark.parametrize("active_loop", [None, "waybill_form"])
def test_photos_outside_a_claim_are_not_stored(evidence_dir: Path, monkeypatch: pytest.MonkeyPatch,
                                               active_loop: str | None) -> None:  # fmt: skip
    monkeypatch.delenv("REST_API_KEYS", raising=False)
    events = [ActiveLoop(active_loop)] if active_loop else []
    with EdgeServer(CustomerRestInput(), agent_with(DialogueStateTracker.from_events("p1", events))) as server:
        refs = send_photos(server, "p1")
        assert refs == [{"kind": "image", "error": "outside_claim"}]
        assert server.received[-1].text == "/send_photo"
        refs = send_photos(server, "never-seen")
        assert refs == [{"kind": "image", "error": "outside_claim"}]
    assert stored_files(evidence_dir) == []


def test_photos_inside_a_claim_are_stored_at_a_bounded_rate(
    evidence_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("REST_API_KEYS", raising=False)
    with_rates(image_per_sender=Rate(3, 600))
    claim = DialogueStateTracker.from_events("p2", [ActiveLoop(CLAIM_FORM)])
    with EdgeServer(CustomerRestInput(), agent_with(claim)) as server:
        refs = send_photos(server, "p2", 2)
        assert [r.get("error") for r in refs] == [None, None] and len(stored_files(evidence_dir)) == 2
        refs = send_photos(server, "p2", 2)  # 4 > 3 photos in the window: none decoded
        assert refs == [{"kind": "image", "error": "slow_down"}] * 2
    assert len(stored_files(evidence_dir)) == 2


def test_the_claim_form_name_is_the_actions_one() -> None:
    from actions.claims import FORM

    assert CLAIM_FORM == FORM


# --- 7. the API token in a header -----------------------------------------------------------------------------


class ApiServer(EdgeServer):
    """The REST channel plus one route guarded by Rasa's own ``requires_auth`` (as the HTTP API is)."""

    TOKEN = "api-" + "t" * 28

    def build_app(self) -> Sanic:
        from rasa.server import ErrorResponse, requires_auth

        app = Sanic(f"api_test_{secrets.token_hex(4)}", configure_logging=False)

        @app.exception(ErrorResponse)
        async def refused(request: Any, exception: ErrorResponse) -> Any:  # as rasa.server.create_app does
            return response.json(exception.error_info, status=exception.status)

        app.blueprint(self.channel.blueprint(self._on_message), url_prefix="/webhooks/rest")

        @app.get("/status")
        @requires_auth(app, self.TOKEN)
        async def status(request: Any) -> Any:
            return response.json({"ok": True, "args": sorted(request.args)})

        return app


def test_the_api_token_is_accepted_in_a_header(evidence_dir: Path) -> None:
    with ApiServer(CustomerRestInput()) as server:
        url = f"{server.base}/status"
        assert server.http.get(url).status_code == 401
        assert server.http.get(url, params={"token": server.TOKEN}).status_code == 200
        for scheme in ("Token", "Bearer", "token"):
            assert server.http.get(url, headers={"Authorization": f"{scheme} {server.TOKEN}"}).status_code == 200
        assert server.http.get(url, headers={"Authorization": "Token wrong"}).status_code == 401
        assert server.http.get(url, headers={"Authorization": f"Basic {server.TOKEN}"}).status_code == 401
        # a wrong ?token= is not overridden by the header
        mixed = server.http.get(url, params={"token": "wrong"}, headers={"Authorization": f"Token {server.TOKEN}"})
        assert mixed.status_code == 401


def test_install_is_idempotent() -> None:
    app = Sanic(f"install_{secrets.token_hex(4)}", configure_logging=False)
    install(app)
    install(app)
    assert app.config.REQUEST_MAX_SIZE == limits().number("body_bytes.server")
    assert len(app.request_middleware) == 1


def test_run_script_never_prints_the_token_and_keeps_var_owner_only() -> None:
    # static: starting run.sh needs the ports of a developer's own assistant (5005, 5055)
    script = (ROOT / "scripts" / "run.sh").read_text(encoding="utf-8")
    banner = script[script.index("cat <<MSG") : script.index("\nMSG\n")]
    assert "RASA_TOKEN" not in banner.replace("$TOKEN_SHELL", "")
    assert "umask 077" in script.split("RASA_TOKEN")[0]  # before anything is written
    assert "chmod 600 var/rasa_token" in script
