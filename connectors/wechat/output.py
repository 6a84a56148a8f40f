"""Replies to a WeChat customer: customer-service messages, one per turn.

WeChat allows only a few customer-service messages per customer message, so a turn's
messages go out as one text (:func:`connectors.wechat.buttons.compose`), buttons as numbered
lines. The output sends only to ``wx-`` conversations
(:func:`connectors.common.senders.native_id`): any other conversation id is refused and logged.
The same path serves agent replies from the console (:func:`push` of :func:`parts_of`).
"""

from __future__ import annotations

import logging
from typing import Any, Mapping, Sequence

from rasa.core.channels.channel import OutputChannel

from connectors.common.senders import native_id
from connectors.wechat.api import WeChatApi
from connectors.wechat.buttons import ButtonMemory, Part, compose

logger = logging.getLogger(__name__)

CHANNEL = "wechat"


async def push(api: WeChatApi, memory: ButtonMemory, openid: str, parts: Sequence[Part]) -> bool:
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


def openid_of(conversation: str) -> str | None:
    """The openid of a ``wx-`` conversation; None (logged) for any other conversation id."""
    openid = native_id(CHANNEL, conversation)
    if openid is None:
        logger.error("wechat: refused to send to a conversation that is not a WeChat conversation")
    return openid


def parts_of(messages: Sequence[Mapping[str, Any]]) -> list[Part]:
    """Rasa-shaped messages (agent replies) as ``(text, buttons)`` parts; images and attachments as text."""
    parts: list[Part] = []
    for message in messages:
        text = message.get("text")
        buttons = message.get("buttons") or message.get("quick_replies") or []
        parts.append((text if isinstance(text, str) else "", buttons if isinstance(buttons, list) else []))
        for extra in ("image", "attachment"):
            if isinstance(message.get(extra), str):
                parts.append((message[extra], []))
    return parts


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
        self._pending: dict[str, list[Part]] = {}

    @classmethod
    def name(cls) -> str:
        """The channel's name."""
        return CHANNEL

    async def _emit(self, recipient_id: str, text: str, buttons: Sequence[Mapping[str, Any]] = ()) -> None:
        if self._collect:
            self._pending.setdefault(recipient_id, []).append((text, list(buttons)))
            return
        openid = openid_of(recipient_id)
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
        openid = openid_of(recipient_id)
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
