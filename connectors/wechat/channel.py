"""The WeChat Official Account channel (公众号): callbacks in, customer-service messages out.

WeChat calls ``/webhooks/wechat/webhook``:

* ``GET`` with ``signature``, ``timestamp``, ``nonce`` and ``echostr`` when the URL is
  registered: ``echostr`` is echoed if the signature (SHA-1 of the sorted token, timestamp
  and nonce, compared in constant time) matches and the timestamp is within ±300 s.
* ``POST`` for every message and event. In order: the signature and timestamp (403),
  the body size (64 KB, 413), XML with a DOCTYPE or ENTITY declaration (400), malformed
  XML (400); in safe mode (``encoding_aes_key`` set) the ``msg_signature`` over the
  ``Encrypt`` element (403) and decryption with ``wechatpy.crypto.WeChatCrypto``. Then
  the message is de-duplicated (WeChat retries an unanswered message 3 times: ``MsgId``,
  or sender + ``CreateTime`` for events, remembered 300 s), ``success`` is answered at
  once, and the message is handled in a background task, one at a time per customer.

Conversations are ``wx-<openid>`` (:func:`connectors.common.senders.conversation_id`), so no
other channel can address a WeChat customer; the output channel and the console's sender
map a conversation back to its openid and send nothing for any other id. Each customer
is rate-limited (``rates.wechat_per_sender`` in ``policy/limits.yml``, shared through Redis
when configured): WeChat wants ``success``, so over the limit the customer gets one
polite reply per window and further messages of the window are dropped before any work
(logged with a hash of the sender only). Photo downloads and decodes have their own,
tighter rate (``rates.wechat_photos_per_sender``).

What reaches Rasa (sender id = ``wx-`` + the customer's openid):

* text: cleaned by ``bot.common.text.prepare_customer_text``; a bare number answering numbered
  options becomes that button's payload;
* image: the ``/send_photo`` intent. Only while the conversation's damage claim form runs
  (:func:`connectors.common.inbound.claim_open`, read from the tracker of the Rasa server the
  channel runs in) is the photo downloaded through the media API, checked and stored by
  :func:`connectors.common.inbound.store_photos` (the same attachment references as the REST
  channel); outside a claim nothing is downloaded nor stored, the reference is
  ``{"kind": "image", "error": "outside_claim"}`` and the dialogue explains how to start a claim;
* voice: the ``Recognition`` text when WeChat's speech recognition is on; otherwise
  the customer is asked to type;
* ``subscribe`` event: ``/greet``; menu ``CLICK`` events: the text configured for the
  ``EventKey`` under ``menu`` (trusted configuration, so it may be an intent command);
* anything else: a polite "text and photos only" answer, without a trip through Rasa.

Replies go out through the customer-service message API (:mod:`connectors.wechat.api`),
one message per turn: WeChat allows only a few customer-service messages per customer
message. Buttons become numbered lines. The same path serves agent replies from the
console (``connectors.common.senders.register("wechat", …)``).

Logs carry no message text, openid (only a short hash), token or secret.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import re
import time
import unicodedata
from typing import Any, Awaitable, Callable, Coroutine, Mapping, Sequence
from xml.parsers.expat import ExpatError

import xmltodict
from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from sanic import Blueprint, Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidAppIdException

from bot.claims.evidence import MAX_IMAGE_BYTES, EvidenceStore, store_from_env
from bot.common.kv import KeyValueStore, StoreUnavailable, first_delivery, open_store
from bot.common.text import prepare_customer_text
from connectors.common import senders
from connectors.common.inbound import PHOTO_INTENT, claim_open, is_paused, store_photos
from connectors.common.senders import TOO_MANY_PHOTOS_REPLY, conversation_id, native_id, throttle
from connectors.rest.channel import EMPTY_REPLY, FAILURE_REPLY, SENDER_PATTERN, sender_tag
from connectors.wechat.api import (
    DEFAULT_API_BASE_URL,
    MediaTooLarge,
    WeChatApi,
    WeChatError,
)
from connectors.wechat.config import OFF_MESSAGE, WeChatOff, WeChatSettings

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 * 1024
"""Largest callback body accepted (real messages are a few hundred bytes)."""
TIMESTAMP_WINDOW_SECONDS = 300
DEDUP_TTL_SECONDS = 300
"""How long a delivered message id is remembered (WeChat retries within about 15 s)."""
BUTTON_TTL_SECONDS = 1800
"""How long numbered options can be answered by their number."""
PREVIOUS_TURN_WAIT_SECONDS = 30.0
"""How long a customer's message waits for their previous one before it is handled anyway."""
SHUTDOWN_GRACE_SECONDS = 5.0
"""How long a stopping server lets messages in progress finish their replies."""
GREET_INTENT = "/greet"

VOICE_REPLY = (
    "抱歉，我暂时听不了语音，请用文字告诉我您的运单号或问题。\n"
    "Sorry, I cannot listen to voice messages yet. Please type your tracking number or question."
)
UNSUPPORTED_REPLY = (
    "抱歉，我目前只能处理文字和照片消息，请用文字描述您的问题或发送运单号。\n"
    "Sorry, I can only read text and photos for now. Please type your question or tracking number."
)
MENU_REPLY = (
    "请直接输入您的问题或运单号，我马上为您查询。\nPlease type your question or tracking number and I will look it up."
)

_DTD = re.compile(r"<!\s*(?:DOCTYPE|ENTITY)", re.IGNORECASE)
_MESSAGE_ID = re.compile(r"^[0-9A-Za-z_\-]{1,64}$")
_AES_KEY = re.compile(r"^[A-Za-z0-9+/]{43}$")
_OPTION_NUMBER = re.compile(r"^\d{1,2}$")


class XmlRefused(ValueError):
    """The body is not acceptable XML (a DTD, malformed, not UTF-8)."""


def parse_xml(body: bytes | str) -> dict[str, Any]:
    """Parse a callback body; DTDs are refused before the parser ever runs.

    Args:
        body: The raw body (UTF-8) or decrypted text.

    Returns:
        The children of the root element.

    Raises:
        XmlRefused: With a reason fit for the log.
    """
    if isinstance(body, bytes):
        try:
            body = body.decode("utf-8")
        except UnicodeDecodeError:
            raise XmlRefused("not UTF-8") from None
    body = body.lstrip("\ufeff")
    if _DTD.search(body):
        raise XmlRefused("DOCTYPE or ENTITY declaration")
    try:
        document = xmltodict.parse(body, disable_entities=True)
    except (ExpatError, ValueError):
        raise XmlRefused("malformed XML") from None
    root = next(iter(document.values()), None) if isinstance(document, dict) and len(document) == 1 else None
    if not isinstance(root, dict):
        raise XmlRefused("no message element")
    return root


def wechat_signature(*parts: str) -> str:
    """SHA-1 hex of the sorted, concatenated parts (WeChat's ``signature`` and ``msg_signature``)."""
    return hashlib.sha1("".join(sorted(parts)).encode("utf-8")).hexdigest()


def signature_matches(expected: str, given: str) -> bool:
    """Constant-time comparison of a computed signature with the one received."""
    return hmac.compare_digest(expected.encode("utf-8"), given.encode("utf-8"))


def _field(message: Mapping[str, Any], name: str) -> str:
    value = message.get(name)
    return value.strip() if isinstance(value, str) else ""


class ButtonMemory:
    """The payloads of the numbered options last shown to each customer, answerable by number.

    Args:
        store: Shared store (Redis) or in-process store.
        prefix: Key prefix (includes the app id).
        ttl_seconds: How long options stay answerable.
    """

    def __init__(self, store: KeyValueStore, prefix: str, ttl_seconds: float = BUTTON_TTL_SECONDS) -> None:
        self._store = store
        self._prefix = prefix
        self._ttl = ttl_seconds

    async def remember(self, openid: str, payloads: Sequence[str]) -> None:
        """Keep the options just sent (replacing older ones)."""
        try:
            await self._store.set(f"{self._prefix}:{openid}", "\x1f".join(payloads), self._ttl)
        except StoreUnavailable as exc:  # options then only work by their text
            logger.warning("wechat: could not keep buttons (%s)", exc)

    async def take(self, openid: str) -> list[str]:
        """The options shown last, removed: they answer the customer's next message only."""
        try:
            value = await self._store.pop(f"{self._prefix}:{openid}")
        except StoreUnavailable as exc:
            logger.warning("wechat: could not read buttons (%s)", exc)
            return []
        return value.split("\x1f") if value else []


def _numbered(title: str, number: int) -> str:
    if re.match(rf"^{number}(?!\d)[\s.、:：)）]", title):
        return title
    return f"{number}. {title}"


def compose(parts: Sequence[tuple[str, Sequence[Mapping[str, Any]]]]) -> tuple[str, list[str]]:
    """Render a turn's messages as one text, buttons as numbered lines counted across the turn.

    Args:
        parts: ``(text, buttons)`` per Rasa message; buttons have ``title`` and ``payload``.

    Returns:
        The text and the payload of each number (``payloads[0]`` answers "1").
    """
    blocks: list[str] = []
    payloads: list[str] = []
    for text, buttons in parts:
        lines = [text.strip()] if isinstance(text, str) and text.strip() else []
        for button in buttons or []:
            if not isinstance(button, Mapping):
                continue
            title = str(button.get("title") or "").strip()
            payload = button.get("payload")
            payload = payload if isinstance(payload, str) and payload.strip() else title
            if not title and not payload:
                continue
            payloads.append(payload)
            lines.append(_numbered(title or payload, len(payloads)))
        if lines:
            blocks.append("\n".join(lines))
    return "\n\n".join(blocks), payloads


async def push(
    api: WeChatApi, memory: ButtonMemory, openid: str, parts: Sequence[tuple[str, Sequence[Mapping[str, Any]]]]
) -> bool:
    """Send messages to a customer as one customer-service text; remember its options.

    Args:
        api: The API client.
        memory: Where the options' payloads go.
        openid: The customer.
        parts: ``(text, buttons)`` per message.

    Returns:
        Whether WeChat accepted it (nothing to send counts as success).
    """
    text, payloads = compose(parts)
    if not text:
        return True
    if payloads:
        await memory.remember(openid, payloads)
    return await api.send_text(openid, text)


class WeChatOutput(OutputChannel):
    """Rasa output channel for WeChat customer-service messages.

    Args:
        api: The API client.
        memory: Where numbered options are remembered.
        collect: Keep messages until :meth:`flush` (one WeChat message per turn) instead
            of sending each at once.
    """

    def __init__(self, api: WeChatApi, memory: ButtonMemory, *, collect: bool = False) -> None:
        self._api = api
        self._memory = memory
        self._collect = collect
        self._pending: dict[str, list[tuple[str, Sequence[Mapping[str, Any]]]]] = {}

    @classmethod
    def name(cls) -> str:
        """The channel's name."""
        return "wechat"

    async def _emit(self, recipient_id: str, text: str, buttons: Sequence[Mapping[str, Any]] = ()) -> None:
        if self._collect:
            self._pending.setdefault(recipient_id, []).append((text, list(buttons)))
            return
        openid = _openid(recipient_id)
        if openid is not None:
            await push(self._api, self._memory, openid, [(text, list(buttons))])

    def has_pending(self, recipient_id: str) -> bool:
        """Whether collected messages wait for :meth:`flush`."""
        return bool(self._pending.get(recipient_id))

    async def flush(self, recipient_id: str) -> bool:
        """Send what was collected for a customer as one message.

        Returns:
            Whether WeChat accepted it.
        """
        parts = self._pending.pop(recipient_id, [])
        if not parts:
            return True
        openid = _openid(recipient_id)
        return await push(self._api, self._memory, openid, parts) if openid is not None else False

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        """Send a text."""
        await self._emit(recipient_id, text)

    async def send_text_with_buttons(
        self, recipient_id: str, text: str, buttons: list[dict[str, Any]], **kwargs: Any
    ) -> None:
        """Send a text with its buttons as numbered options (answerable by number or text)."""
        await self._emit(recipient_id, text, buttons)

    async def send_image_url(self, recipient_id: str, image: str, **kwargs: Any) -> None:
        """Send an image's URL as text (images would need an upload to WeChat first)."""
        await self._emit(recipient_id, image)

    async def send_attachment(self, recipient_id: str, attachment: str, **kwargs: Any) -> None:
        """Send an attachment's description or URL as text."""
        await self._emit(recipient_id, str(attachment))

    async def send_custom_json(self, recipient_id: str, json_message: dict[str, Any], **kwargs: Any) -> None:
        """Send the ``text`` of a custom payload, if any; other custom payloads are dropped."""
        text = json_message.get("text") if isinstance(json_message, dict) else None
        if isinstance(text, str) and text.strip():
            await self._emit(recipient_id, text)
        else:
            logger.debug("wechat: dropped a custom payload without text")


def _openid(conversation: str) -> str | None:
    """The openid of a ``wx-`` conversation; None (logged) for any other conversation id."""
    openid = native_id(WeChatOutput.name(), conversation)
    if openid is None:
        logger.error("wechat: refused to send to a conversation that is not a WeChat conversation")
    return openid


def _parts_of(messages: Sequence[Mapping[str, Any]]) -> list[tuple[str, Sequence[Mapping[str, Any]]]]:
    parts: list[tuple[str, Sequence[Mapping[str, Any]]]] = []
    for message in messages:
        text = message.get("text")
        buttons = message.get("buttons") or message.get("quick_replies") or []
        parts.append((text if isinstance(text, str) else "", buttons if isinstance(buttons, list) else []))
        for extra in ("image", "attachment"):
            if isinstance(message.get(extra), str):
                parts.append((message[extra], []))
    return parts


class WeChatInput(InputChannel):
    """Rasa input channel for a WeChat Official Account (plaintext or safe mode).

    Args:
        app_id: AppID (开发者ID).
        app_secret: AppSecret (开发者密码).
        token: The callback Token set in the admin console (服务器配置).
        encoding_aes_key: EncodingAESKey (43 characters): safe mode (安全模式) when set.
        api_base_url: API root (a fake server in tests).
        redis_url: Redis for de-duplication, the access token and buttons shared by every
            replica; ``None`` keeps them in this process.
        redis_prefix: Prefix of the Redis keys.
        menu: Custom-menu ``CLICK`` keys mapped to the text sent to Rasa.
        max_media_bytes: Largest photo downloaded.
        clock: Current Unix time (for the timestamp window).
    """

    def __init__(
        self,
        app_id: str,
        app_secret: str,
        token: str,
        encoding_aes_key: str | None = None,
        *,
        api_base_url: str = DEFAULT_API_BASE_URL,
        redis_url: str | None = None,
        redis_prefix: str = "wechat",
        menu: Mapping[str, str] | None = None,
        max_media_bytes: int = MAX_IMAGE_BYTES,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not (app_id and app_secret and token):
            raise ValueError("wechat: app_id, app_secret and token are required")
        if encoding_aes_key is not None and not _AES_KEY.match(encoding_aes_key):
            raise ValueError("wechat: encoding_aes_key must be the 43 characters shown in the admin console")
        self.app_id = app_id
        self._token = token
        self._crypto = WeChatCrypto(token, encoding_aes_key, app_id) if encoding_aes_key else None
        self.store = open_store(redis_url, redis_prefix)
        self.api = WeChatApi(app_id, app_secret, self.store, base_url=api_base_url, max_media_bytes=max_media_bytes)
        self.buttons = ButtonMemory(self.store, f"buttons:{app_id}")
        self._seen_prefix = f"seen:{app_id}"
        self.menu = {str(key): str(text) for key, text in (menu or {}).items()}
        self._clock = clock
        self._evidence: EvidenceStore | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._tails: dict[str, asyncio.Task[None]] = {}
        senders.register(self.name(), self.deliver)

    def __repr__(self) -> str:
        return f"WeChatInput(app_id={self.app_id!r}, safe_mode={self._crypto is not None})"

    @classmethod
    def name(cls) -> str:
        """The channel's name, which is also its URL segment."""
        return "wechat"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        """Build the channel from its ``credentials.yml`` block and the environment.

        Settings missing from the block come from :data:`connectors.wechat.config.ENV_VARS`
        (``WECHAT_TOKEN``, ``WECHAT_APP_ID``, ``WECHAT_APP_SECRET``, ...); quoted ``"${VAR}"``
        values are expanded here. Rasa itself expands *unquoted* ``${VAR}`` values and stops
        when one is unset, so the shipped file quotes them.

        Args:
            credentials: ``app_id``, ``app_secret``, ``token``, optional ``encoding_aes_key``,
                ``api_base_url``, ``redis_url``, ``redis_prefix`` and ``menu``.

        Returns:
            The channel, or :class:`connectors.wechat.config.WeChatOff` (webhook answers 503)
            when none of the required settings is given.

        Raises:
            ValueError: Some required settings are missing, or one is malformed.
        """
        settings = WeChatSettings.read(credentials)
        if settings is None:
            logger.warning(OFF_MESSAGE)
            return WeChatOff()
        return cls(
            settings.app_id,
            settings.app_secret,
            settings.token,
            settings.encoding_aes_key,
            api_base_url=settings.api_base_url,
            redis_url=settings.redis_url,
            redis_prefix=settings.redis_prefix,
            menu=settings.menu,
        )

    def get_output_channel(self) -> OutputChannel:
        """An output channel that sends at once (Rasa's ``trigger_intent`` and ``execute`` APIs)."""
        return WeChatOutput(self.api, self.buttons)

    def evidence(self) -> EvidenceStore:
        """The evidence store photos go to (``EVIDENCE_DIR``), built on first use."""
        if self._evidence is None:
            self._evidence = store_from_env()
        return self._evidence

    async def deliver(self, conversation: str, messages: Sequence[dict[str, Any]]) -> None:
        """Agent-console sender: push Rasa-shaped messages to a ``wx-`` conversation (one WeChat message)."""
        openid = _openid(conversation)
        if openid is not None:
            await push(self.api, self.buttons, openid, _parts_of(messages))

    # verification -----------------------------------------------------------------------------

    def _verified(self, args: Mapping[str, Any]) -> tuple[str, str] | None:
        """``(timestamp, nonce)`` when ``signature`` is right and the timestamp fresh, else ``None``."""
        signature, timestamp, nonce = (args.get(k) or "" for k in ("signature", "timestamp", "nonce"))
        if not (signature and nonce and timestamp.isdigit() and len(timestamp) <= 12):
            return None
        if abs(self._clock() - int(timestamp)) > TIMESTAMP_WINDOW_SECONDS:
            return None
        if not signature_matches(wechat_signature(self._token, timestamp, nonce), signature):
            return None
        return timestamp, nonce

    def _decrypt(
        self, outer: Mapping[str, Any], args: Mapping[str, Any], timestamp: str, nonce: str
    ) -> HTTPResponse | dict[str, Any]:
        """The decrypted message, or the response refusing the request."""
        assert self._crypto is not None
        encrypt = outer.get("Encrypt")
        msg_signature = args.get("msg_signature") or ""
        if args.get("encrypt_type") != "aes" or not isinstance(encrypt, str) or not encrypt or not msg_signature:
            logger.warning("wechat: refused a message that is not encrypted (safe mode is on)")
            return response.text("forbidden", status=403)
        if not signature_matches(wechat_signature(self._token, timestamp, nonce, encrypt), msg_signature):
            logger.warning("wechat: refused a message with a bad msg_signature")
            return response.text("forbidden", status=403)
        try:
            plain = self._crypto.decrypt_message({"Encrypt": encrypt}, msg_signature, timestamp, nonce)
        except InvalidAppIdException:
            logger.warning("wechat: refused a message encrypted for another app")
            return response.text("forbidden", status=403)
        except Exception as exc:  # bad base64, padding, lengths
            logger.warning("wechat: could not decrypt a message (%s)", type(exc).__name__)
            return response.text("bad request", status=400)
        try:
            return parse_xml(plain)
        except XmlRefused as exc:
            logger.warning("wechat: refused a decrypted message: %s", exc)
            return response.text("bad request", status=400)

    # routes --------------------------------------------------------------------------------

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        """Routes: ``GET /`` health, ``GET /webhook`` URL verification, ``POST /webhook`` messages."""
        hook = Blueprint(f"wechat_{id(self)}", __name__)

        @hook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @hook.listener("before_server_stop")
        async def finish(*_: Any) -> None:
            if self._tasks:
                await asyncio.wait(set(self._tasks), timeout=SHUTDOWN_GRACE_SECONDS)

        @hook.listener("after_server_stop")
        async def close(*_: Any) -> None:
            await self.api.aclose()

        @hook.route("/webhook", methods=["GET"])
        async def verify(request: Request) -> HTTPResponse:
            echostr = request.args.get("echostr") or ""
            # echostr is not covered by the signature: echo only what WeChat sends (a random number)
            if not _MESSAGE_ID.match(echostr) or self._verified(request.args) is None:
                logger.warning("wechat: refused a URL verification with a bad or stale signature")
                return response.text("forbidden", status=403)
            return response.text(echostr)

        @hook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            verified = self._verified(request.args)
            if verified is None:
                logger.warning("wechat: refused a callback with a missing, bad or stale signature")
                return response.text("forbidden", status=403)
            body = request.body or b""
            if len(body) > MAX_BODY_BYTES:
                logger.warning("wechat: refused a callback of %d bytes", len(body))
                return response.text("payload too large", status=413)
            try:
                message = parse_xml(body)
            except XmlRefused as exc:
                logger.warning("wechat: refused a callback: %s", exc)
                return response.text("bad request", status=400)
            if self._crypto is not None:
                decrypted = self._decrypt(message, request.args, *verified)
                if isinstance(decrypted, HTTPResponse):
                    return decrypted
                message = decrypted
            elif "Encrypt" in message and "MsgType" not in message:
                logger.error("wechat: got an encrypted message but no encoding_aes_key is configured")
                return response.text("bad request", status=400)
            openid, msg_type = _field(message, "FromUserName"), _field(message, "MsgType")
            sender = conversation_id(self.name(), openid)
            key = self._dedup_key(message, sender)
            if not openid or not SENDER_PATTERN.match(sender) or not msg_type or key is None:
                logger.warning("wechat: refused a callback without sender, type or id")
                return response.text("bad request", status=400)
            if not await self._first_delivery(key):
                return response.text("success")
            verdict = await throttle("wechat_per_sender", sender)
            if verdict.allowed:
                self._spawn(openid, self._handle(message, on_new_message, request.app))
            elif verdict.notice is not None:  # once per window, after the replies still on their way
                self._spawn(openid, self._notify(openid, verdict.notice))
            return response.text("success")

        return hook

    # de-duplication and tasks ----------------------------------------------------------------

    @staticmethod
    def _dedup_key(message: Mapping[str, Any], sender: str) -> str | None:
        msg_id = _field(message, "MsgId") or _field(message, "MsgID")
        if msg_id:
            return f"msg:{msg_id}" if _MESSAGE_ID.match(msg_id) else None
        created, event = _field(message, "CreateTime"), _field(message, "Event")
        if not created.isdigit() or len(created) > 12:
            return None
        return f"event:{sender}:{created}:{event[:32]}"

    async def _first_delivery(self, key: str) -> bool:
        """Whether this is the first delivery of a message (a store failure lets it through)."""
        return await first_delivery(self.store, f"{self._seen_prefix}:{key}", DEDUP_TTL_SECONDS, self.name())

    def _spawn(self, openid: str, work: Coroutine[Any, Any, None]) -> None:
        """Run ``work`` in the background after the customer's previous message is done."""
        previous = self._tails.get(openid)

        async def in_order() -> None:
            if previous is not None and not previous.done():
                await asyncio.wait({previous}, timeout=PREVIOUS_TURN_WAIT_SECONDS)
            await work

        task = asyncio.get_running_loop().create_task(in_order())
        self._tasks.add(task)
        self._tails[openid] = task

        def finished(done: asyncio.Task[None]) -> None:
            self._tasks.discard(done)
            if self._tails.get(openid) is done:
                del self._tails[openid]
            if not done.cancelled() and done.exception() is not None:
                logger.error(
                    "wechat: processing failed with %s (customer %s)",
                    type(done.exception()).__name__,
                    sender_tag(conversation_id(self.name(), openid)),
                )

        task.add_done_callback(finished)

    async def _notify(self, openid: str, text: str) -> None:
        """Send the rate-limit notice (a customer-service message)."""
        await self.api.send_text(openid, text)

    # handling ------------------------------------------------------------------------------

    async def _handle(
        self, message: Mapping[str, Any], on_new_message: Callable[[UserMessage], Awaitable[Any]], app: Sanic
    ) -> None:
        """One message: interpret it, run the Rasa turn, send the replies as one message."""
        openid = _field(message, "FromUserName")
        sender = conversation_id(self.name(), openid)
        text, metadata = await self._interpret(openid, message, app)
        if text is None:
            return
        if not text:
            await self.api.send_text(openid, EMPTY_REPLY)
            return
        output = WeChatOutput(self.api, self.buttons, collect=True)
        failed = False
        try:
            await on_new_message(UserMessage(text, output, sender, input_channel=self.name(), metadata=metadata))
        except Exception as exc:  # the customer must still get an answer
            failed = True
            logger.error("wechat: handling failed with %s (customer %s)", type(exc).__name__, sender_tag(sender))
        if not output.has_pending(sender) and (failed or not await is_paused(app, sender, "wechat")):
            await output.send_text_message(sender, FAILURE_REPLY)
        await output.flush(sender)

    async def _interpret(
        self, openid: str, message: Mapping[str, Any], app: Sanic
    ) -> tuple[str | None, dict[str, Any] | None]:
        """The text (and metadata) for Rasa; ``None`` when answered here or ignored.

        A photo is downloaded only inside a claim (the Rasa server's tracker in ``app.ctx.agent``).
        """
        msg_type = _field(message, "MsgType").lower()
        if msg_type == "event":
            return await self._event(openid, message), None
        options = await self.buttons.take(openid)
        if msg_type == "text":
            return _choose(prepare_customer_text(_field(message, "Content")), options), None
        if msg_type == "image":
            sender = conversation_id(self.name(), openid)
            if not await claim_open(app, sender, self.name()):  # not downloaded, not stored: Rasa explains
                logger.info("wechat: a photo outside any claim was not downloaded (customer %s)", sender_tag(sender))
                return PHOTO_INTENT, {"attachments": [{"kind": "image", "error": "outside_claim"}]}
            verdict = await throttle("wechat_photos_per_sender", sender, TOO_MANY_PHOTOS_REPLY)
            if not verdict.allowed:  # image work is bounded per customer: no download, no decode
                if verdict.notice is not None:
                    await self.api.send_text(openid, verdict.notice)
                return None, None
            return PHOTO_INTENT, await self._photo(openid, _field(message, "MediaId"), app)
        if msg_type == "voice":
            recognition = prepare_customer_text(_field(message, "Recognition"))
            if recognition:
                return _choose(recognition, options), None
            await self.api.send_text(openid, VOICE_REPLY)
            return None, None
        await self.api.send_text(openid, UNSUPPORTED_REPLY)
        return None, None

    async def _event(self, openid: str, message: Mapping[str, Any]) -> str | None:
        event = _field(message, "Event").lower()
        if event == "subscribe":
            return GREET_INTENT
        if event == "click":
            text = self.menu.get(_field(message, "EventKey"))
            if text:
                return text
            logger.warning("wechat: menu key without a configured text")
            await self.api.send_text(openid, MENU_REPLY)
        return None

    async def _photo(self, openid: str, media_id: str, app: Sanic) -> dict[str, Any]:
        """Download a photo and store it as evidence; the metadata holds its reference or an error."""
        sender = conversation_id(self.name(), openid)
        error = "bad_encoding"
        if media_id:
            try:
                data = await self.api.download_media(media_id)
            except MediaTooLarge:
                error = "too_large"
            except WeChatError as exc:
                logger.error("wechat: photo download failed for customer %s: %s", sender_tag(sender), exc)
            else:
                photos = {"attachments": [{"kind": "image", "data": data}]}
                return await store_photos(photos, self.evidence(), self.name(), app=app, sender_id=sender)
        return {"attachments": [{"kind": "image", "error": error}]}


def _choose(text: str, options: Sequence[str]) -> str:
    """Turn a bare option number ("2", "２") into that option's payload."""
    if options:
        number = unicodedata.normalize("NFKC", text).strip()
        if _OPTION_NUMBER.match(number) and 1 <= int(number) <= len(options):
            return options[int(number) - 1]
    return text
