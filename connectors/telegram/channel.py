"""The Telegram channel, on python-telegram-bot (not Rasa's built-in aiogram channel).

Inbound: Telegram calls ``POST /webhooks/telegram/webhook``. The handler checks the
``X-Telegram-Bot-Api-Secret-Token`` header in constant time before reading the body
(403), reads at most :data:`MAX_BODY_BYTES` (413), refuses anything that is not a JSON
update (400), drops an ``update_id`` it has already seen, and answers 200 at once: the
update is handled in a background task (one at a time per chat, in arrival order), so
Telegram never waits for NLU and never re-sends a slow update.

* Text goes through :func:`bot.common.text.prepare_customer_text` (a customer's leading ``/``
  is neutralised); ``/start`` and ``/help`` are the two commands a customer may send and
  become ``/greet``.
* Photos are taken only while the conversation's damage claim form runs
  (:func:`connectors.common.inbound.claim_open`, read from the tracker of the Rasa server the
  channel runs in). Outside a claim nothing is downloaded nor stored: Rasa gets the photo
  intent with the reference ``{"kind": "image", "error": "outside_claim"}`` and the dialogue
  explains how to start a claim. Inside a claim the largest size whose ``file_size`` is within
  :data:`bot.claims.limits.MAX_IMAGE_BYTES` is downloaded (``getFile`` + the file URL) and
  goes through :func:`connectors.common.inbound.store_photos`, exactly like a REST photo; Rasa sees
  references only, and a photo without caption is the ``/send_photo`` intent. If every
  size is too large, or the download fails, the channel answers the customer itself
  (transport problems) and Rasa never hears of it; content problems (not an image,
  corrupt…) travel to Rasa as error references, as on REST. A document whose MIME type
  is ``image/*`` is handled the same way; anything else gets a polite "text and photos
  only" reply.
* Only private chats are served (a group would show one customer's parcels to others).
* Buttons are inline keyboards. ``callback_data`` (64 bytes at most) carries the Rasa
  payload with a truncated HMAC bound to the chat, so a modified client cannot forge
  ``/restart`` or any other intent through a callback query; longer payloads are kept
  in a short-lived map (in process, or Redis) under a random key. A tap is answered
  (``answerCallbackQuery``) and its payload handed to Rasa as the user's text.

Conversations are ``tg-<chat id>`` (:func:`connectors.common.senders.conversation_id`), so no
other channel can address a Telegram customer, and the output sends only to ``tg-``
conversations. Each chat is rate-limited (``rates.telegram_per_sender`` in
``policy/limits.yml``, shared through Redis when configured): Telegram wants a 200, so
over the limit the customer gets one polite reply per window and further updates of the
window are dropped before any work is done (logged with a hash of the chat only). Photo
downloads and decodes have their own, tighter rate (``rates.telegram_photos_per_sender``).

Outbound: :class:`connectors.telegram.output.TelegramOutput` (text split at Telegram's limit,
inline keyboards, photos by URL, paced per chat and overall). The channel registers it as
the agent console's sender (:mod:`connectors.common.senders`).

Configuration: :mod:`connectors.telegram.config` (``credentials.yml`` key
``connectors.telegram.channel.TelegramInput``, each missing key read from the environment);
without a token the channel is off and its webhook answers 503. The command line
(``python -m connectors.telegram set-webhook|delete-webhook|poll``) is :mod:`connectors.telegram.cli`.

The bot token and the webhook secret never reach the logs: python-telegram-bot and
httpx log request URLs (which hold the token) and ``InvalidToken`` quotes it, so every
log record of the process goes through :class:`connectors.common.log_redaction.SecretRedactor` when it is
created.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any, Awaitable, Callable, Iterable, Mapping, Sequence

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from sanic import Blueprint, Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse
from telegram import Bot, CallbackQuery, Chat, InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.error import TelegramError
from telegram.ext import Application

from bot.claims.evidence import store_from_env
from bot.claims.limits import MAX_IMAGE_BYTES
from bot.claims.refusals import EvidenceError
from bot.common.kv import KeyValueStore, MemoryStore, RedisStore, first_delivery
from bot.common.text import prepare_customer_text
from bot.settings import Settings
from connectors.common import senders
from connectors.common.background import BackgroundTasks
from connectors.common.http import read_capped, same_secret
from connectors.common.inbound import PHOTO_INTENT, claim_open, store_photos
from connectors.common.log_redaction import protect_secrets, sender_tag
from connectors.common.replies import EMPTY_REPLY, FAILURE_REPLY, TOO_MANY_PHOTOS_REPLY
from connectors.common.senders import SENDER_PATTERN, conversation_id, throttle
from connectors.telegram.buttons import BUTTON_EXPIRED, ButtonCodec
from connectors.telegram.config import ENV_VARS, SECRET_HEADER, TelegramConfig
from connectors.telegram.output import TelegramOutput
from connectors.telegram.support import (
    DEDUP_TTL_SECONDS,
    MAX_BODY_BYTES,
    UNSUPPORTED_REPLY,
    RateLimiter,
    _bilingual,
    _ChatLocks,
    pick_photo,
    telegram_text,
)

logger = logging.getLogger(__name__)


OnNewMessage = Callable[[UserMessage], Awaitable[Any]]


class TelegramInput(InputChannel):
    """Telegram webhook input channel (python-telegram-bot), with its output and console sender."""

    def __init__(self, config: TelegramConfig | None) -> None:
        """A channel for ``config``; ``None`` makes a channel that is off (webhook answers 503)."""
        self.config = config
        self.limiter = RateLimiter()
        self.application: Application | None = None
        self._store: KeyValueStore = MemoryStore()
        self._buttons: ButtonCodec | None = None
        self._ready = False
        self._init_lock: asyncio.Lock | None = None
        self._chat_locks = _ChatLocks()
        self.background = BackgroundTasks(self.name())
        if config is None:
            return
        protect_secrets(*config.secrets())
        if config.redis_url:
            self._store = RedisStore(config.redis_url, f"{config.redis_prefix}:telegram:{config.bot_id}")
        self._buttons = ButtonCodec(config.secret_token, self._store)
        self.application = config.build_application()

    @classmethod
    def name(cls) -> str:
        """The channel's name, which is also its URL segment."""
        return "telegram"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        """Build the channel from its ``credentials.yml`` block (see the module docstring).

        Args:
            credentials: ``token``, ``secret_token``, ``webhook_url``, ``base_url``,
                ``redis_url``, ``redis_prefix``; missing keys come from :data:`ENV_VARS`.

        Returns:
            The channel; without any token it is off and says so in the log.

        Raises:
            ValueError: A token is given but the rest of the settings are wrong.
        """
        values = credentials or {}
        if not values.get("token") and not Settings.from_env().telegram_token:
            logger.warning("telegram: no token configured (%s): the channel is off", ENV_VARS["token"])
            return cls(None)
        return cls(TelegramConfig.from_mapping(values))

    def get_output_channel(self) -> OutputChannel | None:
        """The output Rasa uses for messages it starts itself (``trigger_intent``)."""
        return TelegramOutput(self) if self.config is not None else None

    async def bot(self) -> Bot:
        """The initialised bot (``getMe`` on first use, inside the running event loop).

        Raises:
            RuntimeError: The channel is off.
            TelegramError: The Bot API refused the token or could not be reached.
        """
        if self.application is None:
            raise RuntimeError("telegram channel is not configured")
        if not self._ready:
            if self._init_lock is None:
                self._init_lock = asyncio.Lock()
            async with self._init_lock:
                if not self._ready:
                    await self.application.initialize()
                    self._ready = True
        return self.application.bot

    async def keyboard(self, chat_id: int, buttons: Iterable[Mapping[str, Any]]) -> InlineKeyboardMarkup | None:
        """An inline keyboard (one button per row) for Rasa buttons sent to ``chat_id``."""
        rows: list[list[InlineKeyboardButton]] = []
        for button in buttons:
            title = str(button.get("title") or "").strip()
            payload, url = button.get("payload"), button.get("url")
            if not title:
                continue
            if isinstance(payload, str) and payload and self._buttons is not None:
                rows.append([InlineKeyboardButton(title, callback_data=await self._buttons.encode(chat_id, payload))])
            elif isinstance(url, str) and url.startswith("https://"):
                rows.append([InlineKeyboardButton(title, url=url)])
        return InlineKeyboardMarkup(rows) if rows else None

    async def push(self, conversation_id: str, messages: Sequence[dict[str, Any]]) -> None:
        """Agent-console sender: deliver Rasa-shaped messages to a Telegram chat."""
        output = TelegramOutput(self)
        for message in messages:
            body = {k: v for k, v in message.items() if k != "recipient_id"}
            await output.send_response(conversation_id, body)

    async def close(self) -> None:
        """Let running updates finish (10 s at most), then close the bot and Redis."""
        await self.background.drain(10)
        if self._ready and self.application is not None:
            await self.application.shutdown()
            self._ready = False
        await self._store.aclose()

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        """Routes: ``GET /`` health check and ``POST /webhook`` for Telegram updates."""
        hook = Blueprint(f"telegram_{id(self)}", __name__)
        if self.config is not None:
            senders.register(self.name(), self.push)

        @hook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok" if self.config is not None else "off"})

        @hook.post("/webhook", stream=True)
        async def receive(request: Request) -> HTTPResponse:
            return await self._receive(request, on_new_message)

        @hook.listener("after_server_stop")
        async def stop(*_: Any) -> None:
            await self.close()

        return hook

    async def _first_delivery(self, update_id: int) -> bool:
        """Whether this is the first delivery of an update (a store failure lets it through)."""
        return await first_delivery(self._store, f"update:{update_id}", DEDUP_TTL_SECONDS, self.name())

    async def _receive(self, request: Request, on_new_message: OnNewMessage) -> HTTPResponse:
        if self.config is None:
            return response.json({"error": "telegram channel not configured"}, status=503)
        if not same_secret(self.config.secret_token, request.headers.get(SECRET_HEADER, "")):
            logger.warning("telegram: refused a webhook call without the right secret token")
            return response.json({"error": "forbidden"}, status=403)
        length = request.headers.get("content-length")
        if length is not None and not length.isdigit():
            return response.json({"error": "bad Content-Length"}, status=400)
        if length is not None and int(length) > MAX_BODY_BYTES:
            return response.json({"error": "body too large"}, status=413)
        body = await read_capped(request, MAX_BODY_BYTES)
        if body is None:
            return response.json({"error": "body too large"}, status=413)
        try:
            data = json.loads(body)
        except ValueError:  # includes UnicodeDecodeError
            return response.json({"error": "body must be JSON"}, status=400)
        update_id = data.get("update_id") if isinstance(data, dict) else None
        if not isinstance(update_id, int) or isinstance(update_id, bool):
            return response.json({"error": "not a Telegram update"}, status=400)
        try:
            bot = await self.bot()
        except Exception as exc:  # Telegram will deliver the update again later
            logger.error("telegram: Bot API unavailable: %s: %s", type(exc).__name__, exc)
            return response.json({"error": "Bot API unavailable"}, status=503)
        try:
            update = Update.de_json(data, bot)
        except Exception as exc:
            logger.info("telegram: rejected a malformed update (%s)", type(exc).__name__)
            return response.json({"error": "malformed update"}, status=400)
        if not await self._first_delivery(update_id):
            logger.info("telegram: update delivered again, ignored")
            return response.json({"ok": True})
        chat = _private_chat_of(update)
        if chat is not None:
            verdict = await throttle("telegram_per_sender", conversation_id(self.name(), chat))
            if not verdict.allowed:
                if verdict.notice is not None:
                    self.background.spawn(self._notify(chat, verdict.notice))
                return response.json({"ok": True})
        self.background.spawn(self._process(update, on_new_message, request.app))
        return response.json({"ok": True})

    async def _notify(self, chat: int, text: str) -> None:
        """Send the rate-limit notice after whatever the chat is still being answered."""
        async with self._chat_locks.hold(chat):
            await TelegramOutput(self).send_text_message(conversation_id(self.name(), chat), text)

    async def _process(self, update: Update, on_new_message: OnNewMessage, app: Sanic) -> None:
        try:
            if update.callback_query is not None:
                await self._on_callback(update.callback_query, on_new_message)
            elif update.message is not None:
                await self._on_message(update.message, on_new_message, app)
            else:
                logger.debug("telegram: ignored an update of another type")
        except Exception as exc:  # a background task: nobody else would log it
            logger.error("telegram: handling an update failed: %s", type(exc).__name__)

    async def _on_message(self, message: Message, on_new_message: OnNewMessage, app: Sanic) -> None:
        if message.chat.type != Chat.PRIVATE:
            logger.info("telegram: ignored a message from a %s chat", message.chat.type)
            return
        sender_id = conversation_id(self.name(), message.chat.id)
        if not SENDER_PATTERN.match(sender_id):
            return
        async with self._chat_locks.hold(message.chat.id):
            output = TelegramOutput(self)
            text, metadata = await self._read(message, output, sender_id, app)
            if text is None:
                return
            if not text:
                await output.send_text_message(sender_id, EMPTY_REPLY)
                return
            user_message = UserMessage(text, output, sender_id, input_channel=self.name(), metadata=metadata)
            await self._hand_over(user_message, output, on_new_message)

    async def _read(
        self, message: Message, output: TelegramOutput, sender_id: str, app: Sanic
    ) -> tuple[str | None, dict[str, Any] | None]:
        """``(text, metadata)`` for Rasa, or ``(None, None)`` when the channel has answered itself.

        A photo is downloaded only inside a claim (the Rasa server's tracker in ``app.ctx.agent``).
        """
        if message.text is not None:
            return telegram_text(message.text), None
        document = message.document
        if message.photo:
            chosen = pick_photo(message.photo)
            file_id = chosen.file_id if chosen is not None else None
        elif document is not None and (document.mime_type or "").lower().startswith("image/"):
            fits = document.file_size is None or document.file_size <= MAX_IMAGE_BYTES
            file_id = document.file_id if fits else None
        else:
            await output.send_text_message(sender_id, UNSUPPORTED_REPLY)
            return None, None
        caption = prepare_customer_text(message.caption)
        if not await claim_open(app, sender_id, self.name()):  # not downloaded, not stored: Rasa explains
            logger.info("telegram: a photo outside any claim was not downloaded (chat %s)", sender_tag(sender_id))
            return caption or PHOTO_INTENT, {"attachments": [{"kind": "image", "error": "outside_claim"}]}
        if file_id is None:
            await output.send_text_message(sender_id, _bilingual(EvidenceError.from_code("too_large")))
            return None, None
        verdict = await throttle("telegram_photos_per_sender", sender_id, TOO_MANY_PHOTOS_REPLY)
        if not verdict.allowed:  # image work is bounded per customer: no download, no decode
            if verdict.notice is not None:
                await output.send_text_message(sender_id, verdict.notice)
            return None, None
        data = await self._download(file_id)
        if isinstance(data, EvidenceError):
            await output.send_text_message(sender_id, _bilingual(data))
            return None, None
        photos = {"attachments": [{"kind": "image", "data": data}]}
        metadata = await store_photos(photos, store_from_env(), self.name(), app=app, sender_id=sender_id)
        return caption or PHOTO_INTENT, metadata

    async def _download(self, file_id: str) -> bytes | EvidenceError:
        try:
            bot = await self.bot()
            tg_file = await bot.get_file(file_id)
            if tg_file.file_size is not None and tg_file.file_size > MAX_IMAGE_BYTES:
                return EvidenceError.from_code("too_large")
            return bytes(await tg_file.download_as_bytearray())
        except (TelegramError, RuntimeError) as exc:
            logger.warning("telegram: photo download failed: %s", type(exc).__name__)
            return EvidenceError.from_code("bad_encoding")

    async def _on_callback(self, query: CallbackQuery, on_new_message: OnNewMessage) -> None:
        chat_id = query.message.chat.id if query.message is not None else query.from_user.id
        private = query.message is None or query.message.chat.type == Chat.PRIVATE
        payload = await self._buttons.decode(chat_id, query.data or "") if private and self._buttons else None
        bot = await self.bot()
        try:
            await bot.answer_callback_query(query.id, text=None if payload is not None else BUTTON_EXPIRED)
        except TelegramError as exc:
            logger.warning("telegram: answerCallbackQuery failed: %s", type(exc).__name__)
        if payload is None:
            logger.info("telegram: ignored a button tap with unknown or expired data")
            return
        sender_id = conversation_id(self.name(), chat_id)
        async with self._chat_locks.hold(chat_id):
            output = TelegramOutput(self)
            user_message = UserMessage(payload, output, sender_id, input_channel=self.name())
            await self._hand_over(user_message, output, on_new_message)

    async def _hand_over(self, message: UserMessage, output: TelegramOutput, on_new_message: OnNewMessage) -> None:
        try:
            await on_new_message(message)
        except asyncio.CancelledError:
            logger.error("telegram: handling was cancelled (sender %s)", sender_tag(message.sender_id))
            raise
        except Exception as exc:  # the customer must still hear from us
            logger.error("telegram: handling failed: %s (sender %s)", type(exc).__name__, sender_tag(message.sender_id))
            if output.sent == 0:
                await output.send_text_message(message.sender_id, FAILURE_REPLY)


def _private_chat_of(update: Update) -> int | None:
    """The private chat an update comes from (what the per-sender rate counts), else None."""
    chat = update.effective_chat
    if chat is not None:
        return chat.id if chat.type == Chat.PRIVATE else None
    query = update.callback_query
    return query.from_user.id if query is not None and query.from_user is not None else None
