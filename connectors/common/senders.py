"""One way to reach a customer on the channel they used: agent replies and proactive messages.

Each channel registers a sender (an async function that delivers a list of
Rasa-style messages ``{"text": ..., "buttons": [...]}`` to one conversation).
Channels that can only answer when the customer asks (REST) leave messages in the
outbox (:mod:`connectors.console.live`), which the customer's next request or a poll
collects. WeChat and Telegram register push senders when they are configured.

Proactive notices (:mod:`connectors.proactive.runner`) go through :func:`deliver_proactive`:
a channel may register a stricter sender for them (``register(..., proactive=True)``) that
raises :class:`Undeliverable` with a short reason (``wechat:45015``) instead of only logging
a refusal, so that the notice is recorded as undeliverable and shown to agents. Without one,
the channel's ordinary sender is used.

Conversation ids are namespaced per channel, so one channel can never address
another channel's customers: a Telegram chat ``123`` is the conversation
``tg-123``, a WeChat openid ``oX9…`` is ``wx-oX9…`` and a widget session is
``w-…`` (:data:`CHANNEL_PREFIXES`). Every way back from a conversation to the
channel's own recipient goes through :func:`native_id`; :func:`deliver` refuses
to hand a push channel a conversation that is not its own.

:func:`throttle` is the per-sender rate limit of channels whose protocol wants a
200 from the webhook (Telegram, WeChat): over the limit the customer gets one
polite reply per window and the rest of the window's messages are dropped.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Sequence

from bot.common.ratelimit import Rate, limiter
from bot.policy.limits import limits
from connectors.common.log_redaction import sender_tag
from connectors.common.replies import TOO_FAST_REPLY
from connectors.console import live

logger = logging.getLogger(__name__)

Sender = Callable[[str, Sequence[dict[str, Any]]], Awaitable[None]]
_senders: dict[str, Sender] = {}
_proactive_senders: dict[str, Sender] = {}


class Undeliverable(Exception):
    """A channel could not deliver a message to the customer.

    Attributes:
        reason: Short, without personal data, e.g. ``wechat:45015`` (stored with the notice).
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


TELEGRAM_PREFIX = "tg-"
WECHAT_PREFIX = "wx-"
WIDGET_PREFIX = "w-"
CHANNEL_PREFIXES = {"telegram": TELEGRAM_PREFIX, "wechat": WECHAT_PREFIX, "widget": WIDGET_PREFIX}
"""The conversation-id prefix each channel owns (the REST channel must refuse all of them)."""
RESERVED_PREFIXES = tuple(CHANNEL_PREFIXES.values())
"""Sender-id prefixes no channel other than their owner may use."""

SENDER_PATTERN = re.compile(r"^[A-Za-z0-9_.:@\-]{1,128}$")
"""Conversation ids every channel accepts (what web sessions, Telegram and WeChat ids look like)."""


def conversation_id(channel: str, native: str | int) -> str:
    """The Rasa conversation id of a channel's own recipient (``tg-123``, ``wx-oX9…``).

    Args:
        channel: ``telegram``, ``wechat`` or ``widget``.
        native: The channel's id (Telegram chat id, WeChat openid, widget session).

    Raises:
        KeyError: ``channel`` does not own a prefix.
    """
    return f"{CHANNEL_PREFIXES[channel]}{native}"


def native_id(channel: str, conversation: str) -> str | None:
    """The channel's own recipient behind a conversation id, or None if the conversation is not the channel's.

    Args:
        channel: ``telegram``, ``wechat`` or ``widget``.
        conversation: A Rasa conversation id.
    """
    prefix = CHANNEL_PREFIXES.get(channel)
    if prefix is None or not isinstance(conversation, str) or not conversation.startswith(prefix):
        return None
    return conversation[len(prefix) :] or None


def register(channel: str, sender: Sender, *, proactive: bool = False) -> None:
    """Make ``sender`` the way to reach customers of ``channel`` (``proactive``: for notices only)."""
    (_proactive_senders if proactive else _senders)[channel] = sender


async def _to_outbox(conversation_id: str, messages: Sequence[dict[str, Any]]) -> None:
    for message in messages:
        live.outbox().put(conversation_id, dict(message))


async def deliver(channel: str, conversation_id: str, messages: Sequence[dict[str, Any]]) -> None:
    """Send messages to a customer on their channel; pull-only or unknown channels use the outbox.

    Args:
        channel: The channel the customer last wrote on (``rest``, ``wechat``, ``telegram``…).
        conversation_id: The Rasa sender id (``tg-…`` for Telegram, ``wx-…`` for WeChat).
        messages: Messages in Rasa's output shape.
    """
    sender = _senders.get(channel)
    if sender is None:
        if channel not in ("rest", "console"):
            logger.warning("no sender for channel %s: message kept in the outbox", channel)
        await _to_outbox(conversation_id, messages)
        return
    if channel in CHANNEL_PREFIXES and native_id(channel, conversation_id) is None:
        logger.error("refused to send to a conversation that is not a %s conversation", channel)
        return
    await sender(conversation_id, messages)


async def deliver_proactive(channel: str, conversation_id: str, messages: Sequence[dict[str, Any]]) -> None:
    """Send a proactive notice: like :func:`deliver`, through the channel's notice sender when it has one.

    Raises:
        Undeliverable: The channel refused the notice (or the conversation is not the channel's).
    """
    sender = _proactive_senders.get(channel)
    if sender is None:
        await deliver(channel, conversation_id, messages)
        return
    if channel in CHANNEL_PREFIXES and native_id(channel, conversation_id) is None:
        raise Undeliverable(f"{channel}:foreign-conversation")
    await sender(conversation_id, messages)


@dataclass(frozen=True)
class Verdict:
    """What to do with one customer message under a per-sender rate.

    Attributes:
        allowed: Handle the message.
        notice: When not allowed and this is the window's first refusal: the polite reply to
            send (once); None otherwise.
        wait: Seconds until the sender may write again (0 when allowed).
    """

    allowed: bool
    notice: str | None = None
    wait: float = 0.0


async def throttle(rate_name: str, conversation: str, reply: str = TOO_FAST_REPLY) -> Verdict:
    """Count one event of ``conversation`` against the rate ``rate_name`` of ``policy/limits.yml``.

    Over the rate, the first refused event of the window gets ``reply`` (formatted with the
    whole seconds left) and later ones get nothing; each refusal is logged with the rate's
    name and a hash of the conversation id only.

    Args:
        rate_name: A key of the ``rates`` section, e.g. ``telegram_per_sender``.
        conversation: The conversation id (hashed inside the limiter).
        reply: The polite reply, with a ``{seconds}`` field.

    Returns:
        The verdict.
    """
    wait = await limiter().hit(rate_name, conversation, limits().rate(rate_name))
    if not wait:
        return Verdict(True)
    seconds = max(1, int(wait + 0.999))
    # one notice per refusal window: a second limiter entry that lives until the window ends
    first = not await limiter().hit(f"{rate_name}:notice", conversation, Rate(1, float(seconds)))
    tag = sender_tag(conversation)
    if first:
        logger.warning("%s exceeded: one notice sent, messages dropped for %d s (sender %s)", rate_name, seconds, tag)
        return Verdict(False, reply.format(seconds=seconds), wait)
    logger.info("%s exceeded: message dropped (sender %s)", rate_name, tag)
    return Verdict(False, None, wait)
