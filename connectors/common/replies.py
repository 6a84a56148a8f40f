"""The replies the customer channels compose themselves, from the ``channels`` text catalogue.

A channel answers some messages without Rasa (an empty message, a failure, a rate-limit
notice, a message type it cannot read). It does not know the customer's language at that
point, so it sends the Chinese and the English text together: :func:`bilingual` joins the
two texts of a key (``bot/texts/<lang>/channels.yml``), Chinese first.

The texts are read once, when this module is imported; the names below are what the
channels (and their tests) use.
"""

from __future__ import annotations

from bot.common import i18n


def bilingual(pair: tuple[str, str], separator: str = "\n") -> str:
    """The Chinese and the English text of a catalogue pair as one message.

    Args:
        pair: ``i18n.pair(key)``: the ``(Chinese, English)`` texts (still templates when no
            values were given, so ``{seconds}`` can be filled later).
        separator: Between the two: a new line, or ``" / "`` for one-line texts.
    """
    return separator.join(pair)


EMPTY_REPLY = bilingual(i18n.pair("channels.reply.empty"))
"""The answer to a message with nothing in it (no trip through NLU)."""
FAILURE_REPLY = bilingual(i18n.pair("channels.reply.failure"))
"""The apology when handling a message failed and nothing else was sent."""
TOO_FAST_REPLY = bilingual(i18n.pair("channels.reply.too_fast"))
"""The one reply per window a customer over the message rate gets (template with ``{seconds}``)."""
TOO_MANY_PHOTOS_REPLY = bilingual(i18n.pair("channels.reply.too_many_photos"))
"""The one reply per window a customer over the photo rate gets (template with ``{seconds}``)."""
