"""Buttons on WeChat, which has none: numbered lines, answerable by their number.

:func:`compose` renders a turn's messages as one text with the buttons as numbered lines
(counted across the turn); :class:`ButtonMemory` keeps the payload of each number for the
customer's next message (shared through Redis by every replica), and :func:`choose` turns a
bare number ("2", "２") back into its payload.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from typing import Any, Mapping, Sequence

from bot.common.kv import KeyValueStore, StoreUnavailable

logger = logging.getLogger(__name__)

BUTTON_TTL_SECONDS = 1800
"""How long numbered options can be answered by their number."""

_OPTION_NUMBER = re.compile(r"^\d{1,2}$")

Part = tuple[str, Sequence[Mapping[str, Any]]]
"""One Rasa message as ``(text, buttons)``; buttons have ``title`` and ``payload``."""


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


def compose(parts: Sequence[Part]) -> tuple[str, list[str]]:
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


def choose(text: str, options: Sequence[str]) -> str:
    """Turn a bare option number ("2", "２") into that option's payload; other text is kept."""
    if options:
        number = unicodedata.normalize("NFKC", text).strip()
        if _OPTION_NUMBER.match(number) and 1 <= int(number) <= len(options):
            return options[int(number) - 1]
    return text
