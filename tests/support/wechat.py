"""WeChat's side of the Official Account callback, and the channel served for real.

WeChat signs each callback (and, in safe mode, encrypts it with ``wechatpy.crypto.WeChatCrypto``);
:func:`signed`, :func:`xml` and :func:`encrypted` build them exactly as WeChat does.
:class:`ChannelServer` (a :class:`tests.support.sanic_server.BlueprintServer`) serves the channel's
blueprint on a real Sanic server on a free port in its own thread, with ``on_new_message``
standing in for Rasa at the process boundary.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from typing import Any

import httpx
from rasa.core.agent import Agent
from rasa.core.channels.channel import UserMessage
from wechatpy.crypto import WeChatCrypto

from connectors.wechat.callback import parse_xml
from connectors.wechat.channel import WeChatInput
from tests.support.claims import claim_tracker
from tests.support.sanic_server import BlueprintServer

APP_ID = "wx5f3a9c1e2b7d4a60"
APP_SECRET = "9b1e4c7a2f6d8e0b3a5c7e9f1d2b4c6e"
TOKEN = "cbTok3nForTests"
AES_KEY = base64.b64encode(bytes(range(32))).decode().rstrip("=")
ACCOUNT = "gh_7a1b2c3d4e5f"
OPENID = "oX9kE5tYq2Lw8Rz3Nc6Vb1Mh4Ja0"
BUTTONS = [
    {"title": "继续等待", "payload": "继续等待"},
    {"title": "优先派送", "payload": '/choose_delay_option{"delay_option": "priority"}'},
    {"title": "3 改到网点自取", "payload": "网点自取"},
]


# --- WeChat's side of the callback -----------------------------------------------------------


def sign(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def signed(timestamp: int | None = None, token: str = TOKEN, **extra: str) -> dict[str, str]:
    """The query WeChat adds to a callback URL."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    nonce = str(secrets.randbelow(10**9))
    return {"signature": sign(token, ts, nonce), "timestamp": ts, "nonce": nonce, **extra}


def xml(openid: str = OPENID, created: int | None = None, **fields: Any) -> str:
    """A callback body shaped like WeChat's (strings in CDATA, numbers bare)."""
    items = {"ToUserName": ACCOUNT, "FromUserName": openid, "CreateTime": created or int(time.time()), **fields}
    inner = "".join(
        f"<{k}>{v}</{k}>" if isinstance(v, int) else f"<{k}><![CDATA[{v}]]></{k}>" for k, v in items.items()
    )
    return f"<xml>{inner}</xml>"


def text_xml(content: str, msg_id: int | None = None, openid: str = OPENID) -> str:
    return xml(openid, MsgType="text", Content=content, MsgId=msg_id or secrets.randbelow(10**16))


def encrypted(plain: str, **extra: str) -> tuple[dict[str, str], str]:
    """Query and body of a safe-mode callback, built with wechatpy like WeChat builds them."""
    query = signed(**extra)
    crypto = WeChatCrypto(TOKEN, AES_KEY, APP_ID)
    out = parse_xml(crypto.encrypt_message(plain, query["nonce"], query["timestamp"]))
    query.update(encrypt_type="aes", msg_signature=out["MsgSignature"], openid=OPENID)
    body = f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName><Encrypt><![CDATA[{out['Encrypt']}]]></Encrypt></xml>"
    return query, body


# --- the channel, served for real ---------------------------------------------------------------


class ChannelServer(BlueprintServer):
    """The channel's blueprint on a real Sanic server in a thread; ``on_new_message`` stands in for Rasa.

    :attr:`url` is the webhook's URL; the server is started with :meth:`start` (or as a context manager).
    """

    def __init__(self, channel: WeChatInput, agent: Agent | None = None) -> None:
        super().__init__(channel, self.on_new_message, agent)
        self.url = f"{self.url}/webhook"

    async def on_new_message(self, message: UserMessage) -> None:
        self.received.append(message)
        out = message.output_channel
        if message.text == "boom":
            raise RuntimeError("the dialogue engine failed")
        if message.text == "buttons please":
            await out.send_text_with_buttons(message.sender_id, "您的包裹晚了，您希望：", [dict(b) for b in BUTTONS])
        elif message.text != "silence":
            await out.send_text_message(message.sender_id, f"收到：{message.text}")

    def start(self) -> ChannelServer:
        """Boot the server; returns it."""
        super().start()
        return self

    def post(self, body: str | bytes, query: dict[str, str] | None = None) -> httpx.Response:
        return self.http.post(self.url, params=signed() if query is None else query, content=body)

    def get(self, query: dict[str, str]) -> httpx.Response:
        return self.http.get(self.url, params=query)

    def set_loops(self, openid: str, *loops: str | None) -> None:
        """Give ``openid``'s conversation these active loops in turn (``FORM``: inside a damage claim)."""
        assert self.agent is not None
        tracker = claim_tracker(self.agent.domain, f"wx-{openid}", *loops)
        self.call(self.agent.tracker_store.save(tracker))

    def wait_received(self, count: int, timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and len(self.received) < count:
            time.sleep(0.02)
        assert len(self.received) >= count, f"{len(self.received)} messages reached Rasa, expected {count}"
