"""Telegram channel support: configuration, shared state (buttons, rate limits), helpers.

Split out of :mod:`connectors.telegram.channel`, which holds the channel itself.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import re
import secrets
import time
import urllib.parse
import warnings
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, AsyncIterator, Callable, Mapping, Sequence

from telegram import (
    Bot,
    PhotoSize,
)
from telegram.error import RetryAfter
from telegram.ext import Application, ApplicationBuilder

from bot.claims.evidence import MAX_IMAGE_BYTES, EvidenceError
from bot.common.kv import KeyValueStore, StoreUnavailable
from bot.common.text import prepare_customer_text
from bot.settings import Settings, expand_references
from connectors.common.senders import TELEGRAM_PREFIX

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
    def from_mapping(cls, values: Mapping[str, Any] | None, env: Mapping[str, str] | None = None) -> TelegramConfig:
        """Read the settings from a ``credentials.yml`` block, falling back to :data:`ENV_VARS`.

        Args:
            values: The channel's credentials (may be ``None`` or empty).
            env: Environment (default: the process's) whose :class:`bot.settings.Settings` give
                the :data:`ENV_VARS` fallbacks of missing keys; ``$VAR`` / ``${VAR}`` in the
                values are expanded from the process environment.

        Returns:
            The checked settings.

        Raises:
            ValueError: No token, a bad secret, an unexpanded ``${VAR}`` or a bad URL.
        """
        values = values or {}
        configured = Settings.from_env(env)
        fallbacks: dict[str, str | None] = {
            "token": configured.telegram_token,
            "secret_token": configured.telegram_secret_token,
            "webhook_url": configured.telegram_webhook_url,
            "base_url": configured.telegram_base_url,
            "redis_url": configured.telegram_redis_url,
            "redis_prefix": configured.telegram_redis_prefix,
        }

        def get(key: str) -> str | None:
            raw = values.get(key)
            if raw is None:
                raw = fallbacks[key]
            if raw is None:
                return None
            text = expand_references(str(raw)).strip()
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


class ButtonCodec:
    """Rasa button payloads to ``callback_data`` and back, unforgeable and within 64 bytes.

    Short payloads travel inline as ``p<tag><payload>``, where the tag is an 8-byte HMAC of
    the chat id and payload; longer ones are stored under a random key (``k<key>``) bound
    to the chat. Anything else (forged, expired, another chat's) decodes to ``None``.
    """

    def __init__(self, secret: str, store: KeyValueStore, ttl: float = BUTTON_TTL_SECONDS) -> None:
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
        try:
            await self._store.add(f"button:{key}", json.dumps({"chat": chat_id, "payload": payload}), self._ttl)
        except StoreUnavailable as exc:  # the button is still shown; tapping it says it expired
            logger.warning("telegram: could not keep a button payload: %s", exc)
        return f"{_KEYED}{key}"

    async def decode(self, chat_id: int, data: str) -> str | None:
        """The payload behind ``data`` tapped in ``chat_id``, or ``None``."""
        if data.startswith(_INLINE) and len(data) > 1 + _TAG_CHARS:
            tag, payload = data[1 : 1 + _TAG_CHARS], data[1 + _TAG_CHARS :]
            return payload if hmac.compare_digest(tag, self._tag(chat_id, payload)) else None
        if data.startswith(_KEYED) and re.fullmatch(r"[A-Za-z0-9_-]{16}", data[1:]):
            try:
                stored = await self._store.get(f"button:{data[1:]}")
            except StoreUnavailable as exc:  # answered like an expired button
                logger.warning("telegram: could not read a button payload: %s", exc)
                return None
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
    ``/greet``; everything else goes through :func:`bot.common.text.prepare_customer_text`, which
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
    """The chat of a ``tg-<chat id>`` conversation; None for any other conversation id."""
    if not isinstance(recipient_id, str) or not recipient_id.startswith(TELEGRAM_PREFIX):
        return None
    digits = recipient_id[len(TELEGRAM_PREFIX) :]
    if not re.fullmatch(r"-?[0-9]{1,20}", digits):
        return None
    return int(digits)
