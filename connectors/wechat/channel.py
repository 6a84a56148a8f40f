"""The WeChat Official Account channel (公众号): callbacks in, customer-service messages out.

WeChat calls ``/webhooks/wechat/webhook``:

* ``GET`` with ``signature``, ``timestamp``, ``nonce`` and ``echostr`` when the URL is
  registered: ``echostr`` is echoed if the signature (SHA-1 of the sorted token, timestamp
  and nonce, compared in constant time) matches and the timestamp is within ±300 s.
* ``POST`` for every message and event. In order: the signature and timestamp (403),
  the body size (64 KB, 413), XML with a DOCTYPE or ENTITY declaration (400), malformed
  XML (400); in safe mode (``encoding_aes_key`` set) the ``msg_signature`` over the
  ``Encrypt`` element (403) and decryption (:mod:`connectors.wechat.callback`). Then
  the message is de-duplicated (WeChat retries an unanswered message 3 times: ``MsgId``,
  or sender + ``CreateTime`` for events, remembered 300 s), ``success`` is answered at
  once, and the message is handled in a background task, one at a time per customer
  (:class:`connectors.common.background.BackgroundTasks`).

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
one message per turn (:mod:`connectors.wechat.output`): WeChat allows only a few
customer-service messages per customer message. Buttons become numbered lines
(:mod:`connectors.wechat.buttons`). The same path serves agent replies from the console
(``connectors.common.senders.register("wechat", …)``). Proactive notices have a sender of their
own (:mod:`connectors.wechat.notices`: template fallback outside the 48-hour window, refusals
raised). The replies the channel composes itself are in the ``channels`` text catalogue.

Logs carry no message text, openid (only a short hash), token or secret.
"""

from __future__ import annotations

import logging
import re
import time
from typing import Any, Awaitable, Callable, Mapping, Sequence

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from sanic import Blueprint, Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse
from wechatpy.crypto import WeChatCrypto

from bot.claims.evidence import EvidenceStore, store_from_env
from bot.claims.limits import MAX_IMAGE_BYTES
from bot.common import i18n
from bot.common.kv import first_delivery, open_store
from bot.common.text import prepare_customer_text
from connectors.common import senders
from connectors.common.background import BackgroundTasks
from connectors.common.inbound import PHOTO_INTENT, claim_open, is_paused, store_photos
from connectors.common.log_redaction import sender_tag
from connectors.common.replies import EMPTY_REPLY, FAILURE_REPLY, TOO_MANY_PHOTOS_REPLY, bilingual
from connectors.common.senders import SENDER_PATTERN, conversation_id, throttle
from connectors.wechat.api import DEFAULT_API_BASE_URL, MediaTooLarge, WeChatApi, WeChatError
from connectors.wechat.buttons import ButtonMemory, choose
from connectors.wechat.callback import (
    MAX_BODY_BYTES,
    MESSAGE_ID,
    XmlRefused,
    decrypt,
    dedup_key,
    field,
    parse_xml,
    verified_query,
)
from connectors.wechat.config import OFF_MESSAGE, WeChatOff, WeChatSettings
from connectors.wechat.notices import NoticeSender, NoticeTemplate
from connectors.wechat.output import WeChatOutput, openid_of, parts_of, push

logger = logging.getLogger(__name__)

DEDUP_TTL_SECONDS = 300
"""How long a delivered message id is remembered (WeChat retries within about 15 s)."""
PREVIOUS_TURN_WAIT_SECONDS = 30.0
"""How long a customer's message waits for their previous one before it is handled anyway."""
SHUTDOWN_GRACE_SECONDS = 5.0
"""How long a stopping server lets messages in progress finish their replies."""
GREET_INTENT = "/greet"

VOICE_REPLY = bilingual(i18n.pair("channels.wechat.voice"))
"""The answer to a voice message WeChat did not transcribe."""
UNSUPPORTED_REPLY = bilingual(i18n.pair("channels.wechat.unsupported"))
"""The answer to a message type the channel cannot read (video, location, link…)."""
MENU_REPLY = bilingual(i18n.pair("channels.wechat.menu"))
"""The answer to a menu key without a configured text."""

_AES_KEY = re.compile(r"^[A-Za-z0-9+/]{43}$")


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
        template: The template message proactive notices fall back to outside the window.
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
        template: NoticeTemplate | None = None,
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
        self.background = BackgroundTasks(self.name(), PREVIOUS_TURN_WAIT_SECONDS)
        senders.register(self.name(), self.deliver)
        self.notices = NoticeSender(self.api, self.buttons, template)
        senders.register(self.name(), self.notices, proactive=True)

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
                ``api_base_url``, ``redis_url``, ``redis_prefix``, ``menu``, ``template_id``, ``template_url``.

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
            template=NoticeTemplate(settings.template_id, settings.template_url) if settings.template_id else None,
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
        openid = openid_of(conversation)
        if openid is not None:
            await push(self.api, self.buttons, openid, parts_of(messages))

    # verification -----------------------------------------------------------------------------

    def _verified(self, args: Mapping[str, Any]) -> tuple[str, str] | None:
        """``(timestamp, nonce)`` when ``signature`` is right and the timestamp fresh, else ``None``."""
        return verified_query(args, self._token, self._clock())

    # routes --------------------------------------------------------------------------------

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        """Routes: ``GET /`` health, ``GET /webhook`` URL verification, ``POST /webhook`` messages."""
        hook = Blueprint(f"wechat_{id(self)}", __name__)

        @hook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @hook.listener("before_server_stop")
        async def finish(*_: Any) -> None:
            await self.background.drain(SHUTDOWN_GRACE_SECONDS)

        @hook.listener("after_server_stop")
        async def close(*_: Any) -> None:
            await self.api.aclose()

        @hook.route("/webhook", methods=["GET"])
        async def verify(request: Request) -> HTTPResponse:
            echostr = request.args.get("echostr") or ""
            # echostr is not covered by the signature: echo only what WeChat sends (a random number)
            if not MESSAGE_ID.match(echostr) or self._verified(request.args) is None:
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
                decrypted = decrypt(self._crypto, self._token, message, request.args, *verified)
                if isinstance(decrypted, HTTPResponse):
                    return decrypted
                message = decrypted
            elif "Encrypt" in message and "MsgType" not in message:
                logger.error("wechat: got an encrypted message but no encoding_aes_key is configured")
                return response.text("bad request", status=400)
            openid, msg_type = field(message, "FromUserName"), field(message, "MsgType")
            sender = conversation_id(self.name(), openid)
            key = dedup_key(message, sender)
            if not openid or not SENDER_PATTERN.match(sender) or not msg_type or key is None:
                logger.warning("wechat: refused a callback without sender, type or id")
                return response.text("bad request", status=400)
            if not await self._first_delivery(key):
                return response.text("success")
            verdict = await throttle("wechat_per_sender", sender)
            if verdict.allowed:
                self.background.spawn(self._handle(message, on_new_message, request.app), sender)
            elif verdict.notice is not None:  # once per window, after the replies still on their way
                self.background.spawn(self._notify(openid, verdict.notice), sender)
            return response.text("success")

        return hook

    # de-duplication ----------------------------------------------------------------------------

    async def _first_delivery(self, key: str) -> bool:
        """Whether this is the first delivery of a message (a store failure lets it through)."""
        return await first_delivery(self.store, f"{self._seen_prefix}:{key}", DEDUP_TTL_SECONDS, self.name())

    async def _notify(self, openid: str, text: str) -> None:
        """Send the rate-limit notice (a customer-service message)."""
        await self.api.send_text(openid, text)

    # handling ------------------------------------------------------------------------------

    async def _handle(
        self, message: Mapping[str, Any], on_new_message: Callable[[UserMessage], Awaitable[Any]], app: Sanic
    ) -> None:
        """One message: interpret it, run the Rasa turn, send the replies as one message."""
        openid = field(message, "FromUserName")
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
        msg_type = field(message, "MsgType").lower()
        if msg_type == "event":
            return await self._event(openid, message), None
        options = await self.buttons.take(openid)
        if msg_type == "text":
            return choose(prepare_customer_text(field(message, "Content")), options), None
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
            return PHOTO_INTENT, await self._photo(openid, field(message, "MediaId"), app)
        if msg_type == "voice":
            recognition = prepare_customer_text(field(message, "Recognition"))
            if recognition:
                return choose(recognition, options), None
            await self.api.send_text(openid, VOICE_REPLY)
            return None, None
        await self.api.send_text(openid, UNSUPPORTED_REPLY)
        return None, None

    async def _event(self, openid: str, message: Mapping[str, Any]) -> str | None:
        event = field(message, "Event").lower()
        if event == "subscribe":
            return GREET_INTENT
        if event == "click":
            text = self.menu.get(field(message, "EventKey"))
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
