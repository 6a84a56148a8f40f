"""Replies to a Telegram chat: text (split at Telegram's limit), inline keyboards, photos by URL.

Every message goes through the channel's pacing (:class:`connectors.telegram.support.RateLimiter`:
about one message per second per chat with a burst of three, 30 per second overall).
``RetryAfter`` is honoured once (sleep, then retry); other ``TelegramError`` s are logged.
Only ``tg-`` conversations are sent to.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any, Awaitable, Callable

from rasa.core.channels.channel import OutputChannel
from telegram import Bot
from telegram.error import RetryAfter, TelegramError

from bot.common.text_split import split_text, utf16_units
from connectors.common.log_redaction import sender_tag
from connectors.telegram.buttons import BUTTONS_PROMPT
from connectors.telegram.support import MAX_RETRY_AFTER_SECONDS, MAX_TEXT_UNITS, _chat_id, retry_seconds

if TYPE_CHECKING:
    from connectors.telegram.channel import TelegramInput

logger = logging.getLogger(__name__)


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
        for part in split_text(text, MAX_TEXT_UNITS, utf16_units):
            await self._deliver(recipient_id, "sendMessage", _send_message(part))

    async def send_text_with_buttons(
        self, recipient_id: str, text: str, buttons: list[dict[str, Any]], **kwargs: Any
    ) -> None:
        """Send text with Rasa buttons as an inline keyboard under its last part."""
        chat = _chat_id(recipient_id)
        markup = await self._channel.keyboard(chat, buttons) if chat is not None else None
        parts = split_text(text or "", MAX_TEXT_UNITS, utf16_units) or [BUTTONS_PROMPT]
        for index, part in enumerate(parts):
            reply_markup = markup if index == len(parts) - 1 else None
            await self._deliver(recipient_id, "sendMessage", _send_message(part, reply_markup=reply_markup))

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


def _send_message(text: str, **kwargs: Any) -> Callable[[Bot, int], Awaitable[Any]]:
    """A delivery call for :meth:`TelegramOutput._deliver`: ``sendMessage`` of ``text`` with ``kwargs``."""
    return lambda bot, chat: bot.send_message(chat, text, **kwargs)
