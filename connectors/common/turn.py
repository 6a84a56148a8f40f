"""One customer turn through Rasa for the channels that answer in the HTTP response (REST, widget).

:func:`collected_turn` hands the message to Rasa with a collecting output, then answers with
the agent messages waiting in the outbox followed by the bot's replies. A failure (or a
timeout) is logged with a hash of the sender only, and the customer still gets an answer:
the apology :data:`connectors.common.replies.FAILURE_REPLY` when nothing else came back,
unless an agent has the conversation (the bot stays silent then).
"""

from __future__ import annotations

import logging
from asyncio import CancelledError
from typing import Any, Awaitable, Callable

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage

from connectors.common.inbound import is_paused
from connectors.common.log_redaction import sender_tag
from connectors.common.replies import FAILURE_REPLY
from connectors.console import live

logger = logging.getLogger(__name__)

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]
"""What Rasa gives an input channel's blueprint: hands one message to the agent."""


async def collected_turn(
    on_new_message: OnNewMessage,
    text: str,
    conversation: str,
    channel: str,
    *,
    app: Any,
    metadata: dict[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """Run one message through Rasa and collect everything the customer should see.

    Args:
        on_new_message: Rasa's handler.
        text: The cleaned text (never empty: channels answer empty messages themselves).
        conversation: The Rasa conversation id.
        channel: The channel's name (input channel of the message, and the log prefix).
        app: The Sanic app Rasa runs in (for the paused check).
        metadata: The message metadata (photo references).

    Returns:
        The outbox's waiting messages, then the bot's replies (Rasa's output shape); the
        apology ``{"recipient_id": conversation, "text": FAILURE_REPLY}`` when both are empty
        and the conversation is not with an agent.
    """
    collector = CollectingOutputChannel()
    try:
        await on_new_message(UserMessage(text, collector, conversation, input_channel=channel, metadata=metadata))
    except CancelledError:
        logger.error("%s: handling timed out (sender %s)", channel, sender_tag(conversation))
    except Exception as exc:  # the customer must still get an answer
        logger.error("%s: handling failed with %s (sender %s)", channel, type(exc).__name__, sender_tag(conversation))
    replies = live.outbox().take(conversation) + collector.messages
    if not replies and not await is_paused(app, conversation, channel):
        replies = [{"recipient_id": conversation, "text": FAILURE_REPLY}]
    return replies
