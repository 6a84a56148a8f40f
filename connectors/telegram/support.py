"""What the Telegram channel needs around a message: limits, outbound pacing, reading what a customer sent.

The channel itself is :mod:`connectors.telegram.channel`; its settings are in
:mod:`connectors.telegram.config`, its buttons in :mod:`connectors.telegram.buttons`.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
import warnings
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import AsyncIterator, Callable, Sequence

from telegram import PhotoSize
from telegram.error import RetryAfter

from bot.claims.limits import MAX_IMAGE_BYTES
from bot.claims.refusals import EvidenceError
from bot.common import i18n
from bot.common.text import prepare_customer_text
from connectors.common.replies import bilingual
from connectors.common.senders import native_id

logger = logging.getLogger(__name__)


MAX_BODY_BYTES = 256 * 1024
"""Largest webhook body read; Telegram updates are a few kilobytes."""
DEDUP_TTL_SECONDS = 24 * 3600
"""How long an ``update_id`` is remembered (Telegram keeps undelivered updates 24 h)."""
MAX_TEXT_UNITS = 4096
"""Telegram's message length limit, in UTF-16 code units."""
MAX_RETRY_AFTER_SECONDS = 60.0
"""A flood wait longer than this drops the message (logged) instead of blocking the chat."""
COMMAND_INTENTS = {"start": "/greet", "help": "/greet"}
"""Telegram commands a customer may send, and the Rasa intent each becomes."""
UNSUPPORTED_REPLY = bilingual(i18n.pair("channels.telegram.unsupported"))
"""The answer to a message that is neither text nor a photo."""

_COMMAND = re.compile(r"^/([A-Za-z0-9_]{1,32})(?:@[A-Za-z0-9_]{1,64})?(?:\s|$)")


# --------------------------------------------------------------------------- pacing


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
    return bilingual((error.message_zh, error.message_en))


def _chat_id(recipient_id: str) -> int | None:
    """The chat of a ``tg-<chat id>`` conversation; None for any other conversation id."""
    digits = native_id("telegram", recipient_id)
    if digits is None or not re.fullmatch(r"-?[0-9]{1,20}", digits):
        return None
    return int(digits)
