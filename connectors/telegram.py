"""The Telegram channel, on python-telegram-bot (not Rasa's built-in aiogram channel).

Inbound: Telegram calls ``POST /webhooks/telegram/webhook``. The handler checks the
``X-Telegram-Bot-Api-Secret-Token`` header in constant time before reading the body
(403), reads at most :data:`MAX_BODY_BYTES` (413), refuses anything that is not a JSON
update (400), drops an ``update_id`` it has already seen, and answers 200 at once: the
update is handled in a background task (one at a time per chat, in arrival order), so
Telegram never waits for NLU and never re-sends a slow update.

* Text goes through :func:`bot.text.prepare_customer_text` (a customer's leading ``/``
  is neutralised); ``/start`` and ``/help`` are the two commands a customer may send and
  become ``/greet``.
* Photos: the largest size whose ``file_size`` is within
  :data:`bot.evidence.MAX_IMAGE_BYTES` is downloaded (``getFile`` + the file URL) and
  goes through :func:`bot.attachments.ingest`, exactly like a REST photo; Rasa sees
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

Outbound: :class:`TelegramOutput` sends text (split at Telegram's 4096-unit limit),
inline keyboards and photos by URL, through a small limiter (about one message per
second per chat with a burst of three, 30 per second overall). ``RetryAfter`` is
honoured once (sleep, then retry); other ``TelegramError`` s are logged. The channel
registers the same output as the agent console's sender (:mod:`connectors.senders`).

Configuration (``credentials.yml``, key ``connectors.telegram.TelegramInput``): ``token``,
``secret_token`` (webhook secret, 16-256 of ``A-Z a-z 0-9 _ -``), ``webhook_url``
(public URL of the endpoint above, used by ``set-webhook``), ``base_url`` (Bot API
server root, default ``https://api.telegram.org``; a local Bot API server or a test
fake), ``redis_url`` and ``redis_prefix`` (shared de-duplication and button map for
several Rasa replicas). A value may be written ``${VAR}``: it is expanded with
``os.path.expandvars`` here (Rasa's YAML loader expands it too, and refuses to start if
the variable is unset), and a value still holding ``${…}`` is an error. A key that is
absent falls back to the environment (:data:`ENV_VARS`), so the block may stay empty;
without a token the channel is off and its webhook answers 503.

The bot token and the webhook secret never reach the logs: python-telegram-bot and
httpx log request URLs (which hold the token) and ``InvalidToken`` quotes it, so every
log record of the process goes through :class:`SecretRedactor` when it is created.

Command line (same environment variables)::

    python -m connectors.telegram set-webhook [--url URL]   # setWebhook with the secret
    python -m connectors.telegram delete-webhook
    python -m connectors.telegram poll [--rasa-url http://127.0.0.1:5005]

``poll`` is for development without a public URL: it deletes the webhook, long-polls
``getUpdates`` and posts every update to the running Rasa server's webhook with the
secret header, so the code path is the one used in production.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import hmac
import json
import logging
import os
import re
import secrets
import sys
import threading
import time
import urllib.parse
import warnings
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, AsyncIterator, Awaitable, Callable, Iterable, Mapping, Protocol, Sequence

import httpx
from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from telegram import (
    Bot,
    CallbackQuery,
    Chat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    PhotoSize,
    Update,
)
from telegram.error import RetryAfter, TelegramError
from telegram.ext import Application, ApplicationBuilder

from bot.attachments import ingest
from bot.evidence import MAX_IMAGE_BYTES, EvidenceError, store_from_env
from bot.text import prepare_customer_text
from connectors import senders
from connectors.rest import EMPTY_REPLY, FAILURE_REPLY, PHOTO_INTENT, SENDER_PATTERN, sender_tag

logger = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.telegram.org"
WEBHOOK_PATH = "/webhooks/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
ALLOWED_UPDATES = ("message", "callback_query")
"""The update types the webhook (and polling) asks Telegram for."""
MAX_BODY_BYTES = 256 * 1024
"""Largest webhook body read; Telegram updates are a few kilobytes."""
DEDUP_TTL_SECONDS = 24 * 3600
"""How long an ``update_id`` is remembered (Telegram keeps undelivered updates 24 h)."""
BUTTON_TTL_SECONDS = 24 * 3600
"""How long a long button payload stays redeemable."""
CALLBACK_DATA_MAX_BYTES = 64
MAX_TEXT_UNITS = 4096
"""Telegram's message length limit, in UTF-16 code units."""
MAX_RETRY_AFTER_SECONDS = 60.0
"""A flood wait longer than this drops the message (logged) instead of blocking the chat."""
COMMAND_INTENTS = {"start": "/greet", "help": "/greet"}
"""Telegram commands a customer may send, and the Rasa intent each becomes."""
ENV_VARS = {
    "token": "TELEGRAM_TOKEN",
    "secret_token": "TELEGRAM_SECRET_TOKEN",
    "webhook_url": "TELEGRAM_WEBHOOK_URL",
    "base_url": "TELEGRAM_BASE_URL",
    "redis_url": "TELEGRAM_REDIS_URL",
    "redis_prefix": "TELEGRAM_REDIS_PREFIX",
}
"""Environment variable read for each configuration key missing from ``credentials.yml``."""

UNSUPPORTED_REPLY = (
    "抱歉，这里只能接收文字和照片。请用文字描述您的问题，或直接发送照片。\n"
    "Sorry, I can only read text and photos here. Please type your question or send a photo."
)
BUTTON_EXPIRED = "这个按钮已失效，请直接输入您的回答。 / This button has expired: please type your answer."
BUTTONS_PROMPT = "请选择： / Please choose:"

_SECRET_TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,256}$")
_UNEXPANDED = re.compile(r"\$\{[^}]*\}")
_COMMAND = re.compile(r"^/([A-Za-z0-9_]{1,32})(?:@[A-Za-z0-9_]{1,64})?(?:\s|$)")
_INLINE, _KEYED = "p", "k"
_TAG_CHARS = 11  # base64url of an 8-byte HMAC tag
REDACTED = "<redacted>"
_FROZEN_LOGGERS = ("telegram", "httpx", "httpcore", __name__)


# --------------------------------------------------------------------------- logging


class SecretRedactor(logging.Filter):
    """A logging filter that replaces registered secrets with ``<redacted>``; it drops nothing.

    :func:`protect_secrets` applies it to every record when the record is created (a log
    record factory), so it covers every logger (``httpx``, ``telegram.*``, ours) and every
    handler, including ones added later. Records of those libraries' loggers are formatted
    there and then (their arguments may change after the call). It may also be attached
    to handlers directly.
    """

    def __init__(self) -> None:
        super().__init__()
        self._secrets: tuple[str, ...] = ()

    def add(self, secret: str) -> None:
        """Start redacting ``secret`` (strings shorter than 8 characters are ignored)."""
        if len(secret) >= 8 and secret not in self._secrets:
            self._secrets = tuple(sorted({*self._secrets, secret}, key=len, reverse=True))

    def redact(self, text: str) -> str:
        """Return ``text`` with every registered secret replaced."""
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        """Redact the record's message, traceback and stack in place; always keep it."""
        if not self._secrets:
            return True
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: leave it to the handler to report
            return True
        redacted = self.redact(message)
        if redacted != message or record.name.startswith(_FROZEN_LOGGERS):
            # frozen: python-telegram-bot logs a result dict, then adds the file URL (with the
            # token) to that same dict; formatting it later would show the token
            record.msg, record.args = redacted, None
        if record.exc_info and not record.exc_text:
            text = logging.Formatter().formatException(record.exc_info)
            if self.redact(text) != text:
                record.exc_text = self.redact(text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


REDACTOR = SecretRedactor()
_factory_lock = threading.Lock()
_factory_installed = False


def protect_secrets(*values: str) -> None:
    """Keep ``values`` out of every log record of this process from now on.

    Args:
        values: Secrets (the bot token, its secret part, the webhook secret).
    """
    global _factory_installed
    for value in values:
        REDACTOR.add(value)
    with _factory_lock:
        if _factory_installed:
            return
        previous = logging.getLogRecordFactory()

        def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = previous(*args, **kwargs)
            REDACTOR.filter(record)
            return record

        logging.setLogRecordFactory(factory)
        _factory_installed = True


# --------------------------------------------------------------------------- configuration


@dataclass(frozen=True)
class TelegramConfig:
    """Settings of the Telegram channel (secrets are left out of ``repr``).

    Attributes:
        token: Bot token from @BotFather.
        secret_token: Webhook secret Telegram sends in ``X-Telegram-Bot-Api-Secret-Token``.
        webhook_url: Public HTTPS URL of ``/webhooks/telegram/webhook`` (for ``set-webhook``).
        base_url: Bot API server root (``https://api.telegram.org``).
        redis_url: Redis for de-duplication and long button payloads, shared by replicas.
        redis_prefix: Key prefix in Redis.
    """

    token: str = field(repr=False)
    secret_token: str = field(repr=False)
    webhook_url: str | None = None
    base_url: str = DEFAULT_BASE_URL
    redis_url: str | None = field(default=None, repr=False)
    redis_prefix: str = "lcs"

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any] | None, env: Mapping[str, str] = os.environ) -> TelegramConfig:
        """Read the settings from a ``credentials.yml`` block, falling back to :data:`ENV_VARS`.

        Args:
            values: The channel's credentials (may be ``None`` or empty).
            env: Environment used for ``${VAR}`` fallbacks of missing keys.

        Returns:
            The checked settings.

        Raises:
            ValueError: No token, a bad secret, an unexpanded ``${VAR}`` or a bad URL.
        """
        values = values or {}

        def get(key: str) -> str | None:
            raw = values.get(key)
            if raw is None:
                raw = env.get(ENV_VARS[key])
            if raw is None:
                return None
            text = os.path.expandvars(str(raw)).strip()
            leftover = _UNEXPANDED.search(text)
            if leftover:
                raise ValueError(f"telegram: '{key}' refers to {leftover.group(0)}, which is not set")
            return text or None

        token, secret = get("token"), get("secret_token")
        if not token:
            raise ValueError(f"telegram: no bot token (credentials 'token' or {ENV_VARS['token']})")
        if not secret or not _SECRET_TOKEN.match(secret):
            raise ValueError(
                f"telegram: 'secret_token' ({ENV_VARS['secret_token']}) must be 16-256 characters of "
                "A-Z a-z 0-9 _ - (e.g. `openssl rand -hex 32`)"
            )
        base_url = (get("base_url") or DEFAULT_BASE_URL).rstrip("/")
        if base_url.endswith("/bot"):
            base_url = base_url[: -len("/bot")]
        if not re.match(r"^https?://[^/\s]+", base_url):
            raise ValueError("telegram: 'base_url' must be an http(s) URL such as https://api.telegram.org")
        prefix = get("redis_prefix") or "lcs"
        if not re.match(r"^[A-Za-z0-9_.-]{1,64}$", prefix):
            raise ValueError("telegram: 'redis_prefix' must be 1-64 characters of letters, digits or _.-")
        return cls(token, secret, get("webhook_url"), base_url, get("redis_url"), prefix)

    @property
    def bot_id(self) -> str:
        """The numeric part of the token (not secret): names this bot's keys in Redis."""
        head = self.token.split(":", 1)[0]
        return head if head.isdigit() else hashlib.sha256(self.token.encode()).hexdigest()[:12]

    def secrets(self) -> tuple[str, ...]:
        """Strings that must never be logged."""
        tail = self.token.split(":", 1)[-1]
        return (self.token, urllib.parse.quote(self.token, safe=""), tail, self.secret_token)

    def build_bot(self) -> Bot:
        """A bare :class:`telegram.Bot` on :attr:`base_url` (for the command line)."""
        return Bot(self.token, base_url=f"{self.base_url}/bot", base_file_url=f"{self.base_url}/file/bot")

    def build_application(self) -> Application:
        """The python-telegram-bot application: no updater (updates come from our webhook)."""
        return (
            ApplicationBuilder()
            .token(self.token)
            .base_url(f"{self.base_url}/bot")
            .base_file_url(f"{self.base_url}/file/bot")
            .updater(None)
            .pool_timeout(5.0)
            .build()
        )


# --------------------------------------------------------------------------- shared state


class KeyValueStore(Protocol):
    """Expiring keys: the in-process store, or Redis when several replicas share the work."""

    async def add(self, key: str, value: str, ttl: int) -> bool:
        """Set ``key`` unless it exists; ``True`` when it was set (or the store failed)."""

    async def get(self, key: str) -> str | None:
        """The value of ``key``, or ``None`` (missing, expired, or the store failed)."""

    async def close(self) -> None:
        """Release connections."""


class MemoryStore:
    """:class:`KeyValueStore` in this process, bounded to ``max_items`` keys."""

    def __init__(self, max_items: int = 50_000, clock: Callable[[], float] = time.monotonic) -> None:
        """An empty store."""
        self._items: dict[str, tuple[float, str]] = {}
        self._max_items = max_items
        self._clock = clock

    async def add(self, key: str, value: str, ttl: int) -> bool:
        """Set ``key`` unless it exists and has not expired."""
        now = self._clock()
        current = self._items.get(key)
        if current is not None and current[0] > now:
            return False
        self._items.pop(key, None)
        self._items[key] = (now + ttl, value)
        if len(self._items) > self._max_items:
            self._prune(now)
        return True

    async def get(self, key: str) -> str | None:
        """The value of ``key`` if it has not expired."""
        current = self._items.get(key)
        if current is None or current[0] <= self._clock():
            return None
        return current[1]

    async def close(self) -> None:
        """Nothing to release."""

    def _prune(self, now: float) -> None:
        for key in [k for k, (expires, _) in self._items.items() if expires <= now]:
            del self._items[key]
        excess = len(self._items) - int(self._max_items * 0.9)
        for key in list(self._items)[: max(excess, 0)]:  # oldest first
            del self._items[key]


class RedisStore:
    """:class:`KeyValueStore` in Redis (``SET NX EX``); errors are logged and fail open."""

    def __init__(self, url: str, prefix: str) -> None:
        """A store under ``<prefix>:``; it connects on first use."""
        self._url = url
        self.prefix = prefix
        self._client: Any = None

    def _redis(self) -> Any:
        if self._client is None:
            import redis.asyncio

            self._client = redis.asyncio.Redis.from_url(
                self._url, socket_connect_timeout=2, socket_timeout=2, decode_responses=True
            )
        return self._client

    async def add(self, key: str, value: str, ttl: int) -> bool:
        """``SET key value NX EX ttl``; if Redis fails, ``True`` (handle rather than lose)."""
        try:
            return bool(await self._redis().set(f"{self.prefix}:{key}", value, nx=True, ex=ttl))
        except Exception as exc:  # redis.RedisError, OSError: keep serving customers
            logger.warning("telegram: Redis unavailable (%s), going on without it", type(exc).__name__)
            return True

    async def get(self, key: str) -> str | None:
        """``GET key``; ``None`` if Redis fails."""
        try:
            return await self._redis().get(f"{self.prefix}:{key}")
        except Exception as exc:
            logger.warning("telegram: Redis unavailable (%s)", type(exc).__name__)
            return None

    async def close(self) -> None:
        """Close the connection pool."""
        if self._client is not None:
            await self._client.close()
            self._client = None


class ButtonCodec:
    """Rasa button payloads to ``callback_data`` and back, unforgeable and within 64 bytes.

    Short payloads travel inline as ``p<tag><payload>``, where the tag is an 8-byte HMAC of
    the chat id and payload; longer ones are stored under a random key (``k<key>``) bound
    to the chat. Anything else (forged, expired, another chat's) decodes to ``None``.
    """

    def __init__(self, secret: str, store: KeyValueStore, ttl: int = BUTTON_TTL_SECONDS) -> None:
        """A codec whose tags are keyed by ``secret`` (the webhook secret)."""
        self._key = hmac.new(secret.encode(), b"telegram-button-payload", hashlib.sha256).digest()
        self._store = store
        self._ttl = ttl

    def _tag(self, chat_id: int, payload: str) -> str:
        digest = hmac.new(self._key, f"{chat_id}\n{payload}".encode(), hashlib.sha256).digest()[:8]
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

    async def encode(self, chat_id: int, payload: str) -> str:
        """The ``callback_data`` for a button with ``payload`` sent to ``chat_id``."""
        inline = f"{_INLINE}{self._tag(chat_id, payload)}{payload}"
        if len(inline.encode("utf-8")) <= CALLBACK_DATA_MAX_BYTES:
            return inline
        key = secrets.token_urlsafe(12)
        await self._store.add(f"button:{key}", json.dumps({"chat": chat_id, "payload": payload}), self._ttl)
        return f"{_KEYED}{key}"

    async def decode(self, chat_id: int, data: str) -> str | None:
        """The payload behind ``data`` tapped in ``chat_id``, or ``None``."""
        if data.startswith(_INLINE) and len(data) > 1 + _TAG_CHARS:
            tag, payload = data[1 : 1 + _TAG_CHARS], data[1 + _TAG_CHARS :]
            return payload if hmac.compare_digest(tag, self._tag(chat_id, payload)) else None
        if data.startswith(_KEYED) and re.fullmatch(r"[A-Za-z0-9_-]{16}", data[1:]):
            stored = await self._store.get(f"button:{data[1:]}")
            try:
                item = json.loads(stored) if stored else None
            except ValueError:
                return None
            if isinstance(item, dict) and item.get("chat") == chat_id and isinstance(item.get("payload"), str):
                return item["payload"]
        return None


class RateLimiter:
    """Outbound pacing: a token bucket per chat and one for the bot (GCRA, asyncio)."""

    def __init__(
        self,
        per_chat: float = 1.0,
        chat_burst: int = 3,
        overall: float = 30.0,
        overall_burst: int = 30,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Allow ``per_chat`` messages/s per chat (bursts of ``chat_burst``) and ``overall``/s in all."""
        self._chat_interval, self._chat_slack = 1.0 / per_chat, (chat_burst - 1) / per_chat
        self._interval, self._slack = 1.0 / overall, (overall_burst - 1) / overall
        self._chats: dict[int, float] = {}
        self._overall = 0.0
        self._clock = clock

    async def wait(self, chat_id: int) -> None:
        """Sleep until one more message to ``chat_id`` is within both limits (and count it)."""
        now = self._clock()
        start = max(self._chats.get(chat_id, 0.0), now)
        self._chats[chat_id] = start + self._chat_interval
        delay = start - self._chat_slack - now
        if len(self._chats) > 10_000:
            self._chats = {chat: tat for chat, tat in self._chats.items() if tat > now}
        if delay > 0:
            await asyncio.sleep(delay)
        now = self._clock()
        start = max(self._overall, now)
        self._overall = start + self._interval
        delay = start - self._slack - now
        if delay > 0:
            await asyncio.sleep(delay)


class _ChatLocks:
    """One asyncio lock per chat, dropped when nobody holds or waits for it."""

    def __init__(self) -> None:
        self._locks: dict[int, tuple[asyncio.Lock, int]] = {}

    @asynccontextmanager
    async def hold(self, chat_id: int) -> AsyncIterator[None]:
        lock, users = self._locks.get(chat_id) or (asyncio.Lock(), 0)
        self._locks[chat_id] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[chat_id]
            if users <= 1:
                del self._locks[chat_id]
            else:
                self._locks[chat_id] = (lock, users - 1)


# --------------------------------------------------------------------------- helpers


def telegram_text(raw: str | None) -> str:
    """The text handed to Rasa for a customer's Telegram message.

    ``/start`` and ``/help`` (with an optional ``@botname`` and deep-link argument) become
    ``/greet``; everything else goes through :func:`bot.text.prepare_customer_text`, which
    neutralises any other leading ``/``.

    Args:
        raw: The message text.

    Returns:
        The text for Rasa; empty when nothing is left.
    """
    match = _COMMAND.match((raw or "").strip())
    if match and match.group(1).lower() in COMMAND_INTENTS:
        return COMMAND_INTENTS[match.group(1).lower()]
    return prepare_customer_text(raw)


def split_text(text: str, limit: int = MAX_TEXT_UNITS) -> list[str]:
    """Cut ``text`` into messages of at most ``limit`` UTF-16 code units (Telegram's measure).

    Args:
        text: Text to send.
        limit: Units per message.

    Returns:
        The non-blank parts, in order.
    """
    parts: list[str] = []
    current: list[str] = []
    units = 0
    for ch in text:
        width = 2 if ord(ch) > 0xFFFF else 1
        if units + width > limit:
            parts.append("".join(current))
            current, units = [], 0
        current.append(ch)
        units += width
    parts.append("".join(current))
    return [part for part in parts if part.strip()]


def pick_photo(sizes: Sequence[PhotoSize], max_bytes: int = MAX_IMAGE_BYTES) -> PhotoSize | None:
    """The largest size of a photo known to be within ``max_bytes``.

    Args:
        sizes: ``Message.photo``.
        max_bytes: Largest acceptable file.

    Returns:
        The size to download; one of unknown size if none is known to fit; ``None`` if all
        are known to be too large.
    """
    fitting = [p for p in sizes if p.file_size is not None and p.file_size <= max_bytes]
    if fitting:
        return max(fitting, key=lambda p: (p.file_size or 0, p.width * p.height))
    unknown = [p for p in sizes if p.file_size is None]
    return max(unknown, key=lambda p: p.width * p.height) if unknown else None


def retry_seconds(exc: RetryAfter) -> float:
    """Seconds Telegram asked us to wait (``retry_after`` is an int or a timedelta in PTB 22)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PTB's int→timedelta deprecation notice
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def _bilingual(error: EvidenceError) -> str:
    return f"{error.message_zh}\n{error.message_en}"


def _chat_id(recipient_id: str) -> int | None:
    try:
        return int(recipient_id)
    except (TypeError, ValueError):
        return None


# --------------------------------------------------------------------------- output


class TelegramOutput(OutputChannel):
    """Sends Rasa's messages to one Telegram chat through the channel's bot and limiter."""

    def __init__(self, channel: TelegramInput) -> None:
        """An output on ``channel``; :attr:`sent` counts delivered messages."""
        self._channel = channel
        self.sent = 0

    @classmethod
    def name(cls) -> str:
        """The channel's name."""
        return "telegram"

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        """Send text (several messages if it is longer than Telegram allows)."""
        for part in split_text(text):
            await self._deliver(recipient_id, "sendMessage", lambda bot, chat, p=part: bot.send_message(chat, p))

    async def send_text_with_buttons(
        self, recipient_id: str, text: str, buttons: list[dict[str, Any]], **kwargs: Any
    ) -> None:
        """Send text with Rasa buttons as an inline keyboard under its last part."""
        chat = _chat_id(recipient_id)
        markup = await self._channel.keyboard(chat, buttons) if chat is not None else None
        parts = split_text(text or "") or [BUTTONS_PROMPT]
        for index, part in enumerate(parts):
            reply_markup = markup if index == len(parts) - 1 else None
            await self._deliver(
                recipient_id,
                "sendMessage",
                lambda bot, chat, p=part, m=reply_markup: bot.send_message(chat, p, reply_markup=m),
            )

    async def send_image_url(self, recipient_id: str, image: str, **kwargs: Any) -> None:
        """Send a photo by URL (Telegram fetches it)."""
        await self._deliver(recipient_id, "sendPhoto", lambda bot, chat: bot.send_photo(chat, image))

    async def send_custom_json(self, recipient_id: str, json_message: dict[str, Any], **kwargs: Any) -> None:
        """Custom payloads have no Telegram form: not sent (Rasa's default would show raw JSON)."""
        logger.info("telegram: a custom payload was not sent (chat %s)", sender_tag(recipient_id))

    async def _deliver(self, recipient_id: str, what: str, call: Callable[[Bot, int], Awaitable[Any]]) -> None:
        chat = _chat_id(recipient_id)
        if chat is None:
            logger.warning("telegram: %s skipped, recipient is not a chat id", what)
            return
        tag = sender_tag(recipient_id)
        try:
            bot = await self._channel.bot()
            await self._channel.limiter.wait(chat)
            try:
                await call(bot, chat)
            except RetryAfter as exc:
                delay = retry_seconds(exc)
                if delay > MAX_RETRY_AFTER_SECONDS:
                    logger.error("telegram: %s dropped, flood wait of %.0f s (chat %s)", what, delay, tag)
                    return
                logger.warning("telegram: %s rate-limited, retrying in %.1f s", what, delay)
                await asyncio.sleep(delay)
                await call(bot, chat)
        except TelegramError as exc:
            logger.warning("telegram: %s failed: %s: %s (chat %s)", what, type(exc).__name__, exc, tag)
            return
        self.sent += 1


# --------------------------------------------------------------------------- input


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
        self._tasks: set[asyncio.Task[None]] = set()
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
        if not values.get("token") and not os.environ.get(ENV_VARS["token"]):
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
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=10)
        if self._ready and self.application is not None:
            await self.application.shutdown()
            self._ready = False
        await self._store.close()

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

    async def _receive(self, request: Request, on_new_message: OnNewMessage) -> HTTPResponse:
        if self.config is None:
            return response.json({"error": "telegram channel not configured"}, status=503)
        given = request.headers.get(SECRET_HEADER, "").encode("utf-8", "surrogateescape")
        if not hmac.compare_digest(given, self.config.secret_token.encode()):
            logger.warning("telegram: refused a webhook call without the right secret token")
            return response.json({"error": "forbidden"}, status=403)
        length = request.headers.get("content-length")
        if length is not None and not length.isdigit():
            return response.json({"error": "bad Content-Length"}, status=400)
        if length is not None and int(length) > MAX_BODY_BYTES:
            return response.json({"error": "body too large"}, status=413)
        body = await _read_capped(request, MAX_BODY_BYTES)
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
        if not await self._store.add(f"update:{update_id}", "1", DEDUP_TTL_SECONDS):
            logger.info("telegram: update delivered again, ignored")
            return response.json({"ok": True})
        task = asyncio.get_running_loop().create_task(self._process(update, on_new_message))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return response.json({"ok": True})

    async def _process(self, update: Update, on_new_message: OnNewMessage) -> None:
        try:
            if update.callback_query is not None:
                await self._on_callback(update.callback_query, on_new_message)
            elif update.message is not None:
                await self._on_message(update.message, on_new_message)
            else:
                logger.debug("telegram: ignored an update of another type")
        except Exception as exc:  # a background task: nobody else would log it
            logger.error("telegram: handling an update failed: %s", type(exc).__name__)

    async def _on_message(self, message: Message, on_new_message: OnNewMessage) -> None:
        if message.chat.type != Chat.PRIVATE:
            logger.info("telegram: ignored a message from a %s chat", message.chat.type)
            return
        sender_id = str(message.chat.id)
        if not SENDER_PATTERN.match(sender_id):
            return
        async with self._chat_locks.hold(message.chat.id):
            output = TelegramOutput(self)
            text, metadata = await self._read(message, output, sender_id)
            if text is None:
                return
            if not text:
                await output.send_text_message(sender_id, EMPTY_REPLY)
                return
            user_message = UserMessage(text, output, sender_id, input_channel=self.name(), metadata=metadata)
            await self._hand_over(user_message, output, on_new_message)

    async def _read(
        self, message: Message, output: TelegramOutput, sender_id: str
    ) -> tuple[str | None, dict[str, Any] | None]:
        """``(text, metadata)`` for Rasa, or ``(None, None)`` when the channel has answered itself."""
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
        if file_id is None:
            await output.send_text_message(sender_id, _bilingual(EvidenceError.from_code("too_large")))
            return None, None
        data = await self._download(file_id)
        if isinstance(data, EvidenceError):
            await output.send_text_message(sender_id, _bilingual(data))
            return None, None
        metadata: dict[str, Any] = {"attachments": [{"kind": "image", "data": data}]}
        try:
            metadata = await asyncio.to_thread(ingest, metadata, store_from_env())
        except OSError as exc:  # evidence store not writable: say so, as the REST channel does
            logger.error("telegram: could not store attachments: %s", type(exc).__name__)
            metadata = {"attachments": [{"kind": "image", "error": "bad_encoding"}]}
        return prepare_customer_text(message.caption) or PHOTO_INTENT, metadata

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
        sender_id = str(chat_id)
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


async def _read_capped(request: Request, limit: int) -> bytes | None:
    """The streamed request body, or ``None`` as soon as it exceeds ``limit`` bytes."""
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = await request.stream.read()
        if chunk is None:
            return b"".join(chunks)
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)


# --------------------------------------------------------------------------- command line


async def set_webhook(config: TelegramConfig, url: str | None = None) -> int:
    """Register the webhook: ``setWebhook`` with the secret and the update types we handle.

    Args:
        config: Channel settings.
        url: Public URL of ``/webhooks/telegram/webhook`` (default: ``config.webhook_url``).

    Returns:
        A process exit code.
    """
    url = url or config.webhook_url
    if not url:
        print(f"no webhook URL: pass --url or set {ENV_VARS['webhook_url']}", file=sys.stderr)
        return 2
    async with config.build_bot() as bot:
        await bot.set_webhook(
            url=url,
            secret_token=config.secret_token,
            allowed_updates=list(ALLOWED_UPDATES),
            drop_pending_updates=False,
        )
    print(f"webhook set to {url} (updates: {', '.join(ALLOWED_UPDATES)})")
    return 0


async def delete_webhook(config: TelegramConfig) -> int:
    """Remove the webhook (pending updates are kept). Returns a process exit code."""
    async with config.build_bot() as bot:
        await bot.delete_webhook(drop_pending_updates=False)
    print("webhook deleted")
    return 0


async def poll(config: TelegramConfig, rasa_url: str, *, max_batches: int | None = None) -> int:
    """Development mode: long-poll ``getUpdates`` and post each update to Rasa's webhook.

    The webhook is deleted first (Telegram serves one or the other). An update is only
    confirmed (the offset moves past it) once the Rasa server has accepted it.

    Args:
        config: Channel settings (the secret is sent in the webhook header).
        rasa_url: The Rasa server, e.g. ``http://127.0.0.1:5005``.
        max_batches: Stop after this many ``getUpdates`` calls (tests); ``None`` runs until killed.

    Returns:
        A process exit code.
    """
    target = rasa_url.rstrip("/") + WEBHOOK_PATH
    headers = {SECRET_HEADER: config.secret_token, "Content-Type": "application/json"}
    offset: int | None = None
    batches = 0
    async with config.build_bot() as bot, httpx.AsyncClient(timeout=30) as client:
        await bot.delete_webhook(drop_pending_updates=False)
        logger.info("telegram: polling, forwarding to %s", target)
        while max_batches is None or batches < max_batches:
            batches += 1
            try:
                updates = await bot.get_updates(offset=offset, timeout=25, allowed_updates=list(ALLOWED_UPDATES))
            except RetryAfter as exc:
                await asyncio.sleep(retry_seconds(exc))
                continue
            except TelegramError as exc:
                logger.warning("telegram: getUpdates failed: %s", type(exc).__name__)
                await asyncio.sleep(2)
                continue
            for update in updates:
                while True:
                    try:
                        reply = await client.post(target, content=update.to_json(), headers=headers)
                    except httpx.HTTPError as exc:
                        logger.warning("telegram: Rasa not reachable (%s), retrying", type(exc).__name__)
                        await asyncio.sleep(2)
                        continue
                    if reply.status_code == 403:
                        print(f"Rasa refused the secret: is {ENV_VARS['secret_token']} the same?", file=sys.stderr)
                        return 1
                    if reply.status_code < 500:
                        break
                    logger.warning("telegram: Rasa answered %s, retrying", reply.status_code)
                    await asyncio.sleep(2)
                offset = update.update_id + 1
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m connectors.telegram set-webhook | delete-webhook | poll``."""
    parser = argparse.ArgumentParser(prog="python -m connectors.telegram", description=(__doc__ or "").split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    hook = commands.add_parser("set-webhook", help="register the webhook with its secret token")
    hook.add_argument("--url", help=f"public webhook URL (default: {ENV_VARS['webhook_url']})")
    commands.add_parser("delete-webhook", help="remove the webhook")
    polling = commands.add_parser("poll", help="development: long-poll and forward updates to a local Rasa")
    polling.add_argument("--rasa-url", default=os.environ.get("RASA_URL", "http://127.0.0.1:5005"))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        config = TelegramConfig.from_mapping(None)
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return 2
    protect_secrets(*config.secrets())
    try:
        if args.command == "set-webhook":
            return asyncio.run(set_webhook(config, args.url))
        if args.command == "delete-webhook":
            return asyncio.run(delete_webhook(config))
        return asyncio.run(poll(config, args.rasa_url))
    except TelegramError as exc:
        print(f"Telegram refused: {type(exc).__name__}: {REDACTOR.redact(str(exc))}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main())
