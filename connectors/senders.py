"""One way to reach a customer on the channel they used: agent replies and proactive messages.

Each channel registers a sender (an async function that delivers a list of
Rasa-style messages ``{"text": ..., "buttons": [...]}`` to one conversation).
Channels that can only answer when the customer asks (REST) leave messages in the
outbox (:mod:`connectors.live`), which the customer's next request or a poll
collects. WeChat and Telegram register push senders when they are configured.
"""

from __future__ import annotations

import logging
from typing import Any, Awaitable, Callable, Sequence

from connectors import live

logger = logging.getLogger(__name__)

Sender = Callable[[str, Sequence[dict[str, Any]]], Awaitable[None]]
_senders: dict[str, Sender] = {}


def register(channel: str, sender: Sender) -> None:
    """Make ``sender`` the way to reach customers of ``channel``."""
    _senders[channel] = sender


async def _to_outbox(conversation_id: str, messages: Sequence[dict[str, Any]]) -> None:
    for message in messages:
        live.outbox().put(conversation_id, dict(message))


async def deliver(channel: str, conversation_id: str, messages: Sequence[dict[str, Any]]) -> None:
    """Send messages to a customer on their channel; pull-only or unknown channels use the outbox.

    Args:
        channel: The channel the customer last wrote on (``rest``, ``wechat``, ``telegram``…).
        conversation_id: The Rasa sender id.
        messages: Messages in Rasa's output shape.
    """
    sender = _senders.get(channel)
    if sender is None:
        if channel not in ("rest", "console"):
            logger.warning("no sender for channel %s: message kept in the outbox", channel)
        await _to_outbox(conversation_id, messages)
        return
    await sender(conversation_id, messages)
