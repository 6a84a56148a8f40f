"""Rasa NLU component: a message that is plainly a quick-reply choice gets that choice's intent.

The bot offers choices (e.g. for a late parcel: keep waiting, priority dispatch,
pickup, redirect) as buttons whose payload is plain text, so every channel sends
back the same words. Those fixed phrases get their intent with full confidence.
Customers also answer in their own words ("帮我加急", "送到驿站我自己取", "我再等等",
"rush it"): a short statement that :func:`bot.delay.options.is_choice` reads as one
option gets the intent too, unless DIET is sure it is a request that must not be
taken for a choice (a human, a ticket, a parcel to track, a damaged or missing
parcel); when DIET is sure it is an FAQ, only a wording of the customer's own
decision counts ("送到驿站我自己取" yes, "网点地址" no). Without an offer pending,
the action answers a pickup or redirect wish with the change-of-address FAQ.
Any other text keeps what DIET predicted. The reading itself lives in bot/; the
action (``action_record_delay_choice``) reads the choice again with the offer in hand.
"""

from __future__ import annotations

from typing import List

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, INTENT_RANKING_KEY, PREDICTED_CONFIDENCE_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.delay import options as delay_options
from components.stateless import StatelessComponent

KEPT_INTENTS = frozenset({"request_human", "check_ticket", "report_damage", "report_missing", "track_waybill"})
"""Intents a free-text choice does not override when DIET is sure of them."""
SURE = 0.8
"""DIET confidence from which :data:`KEPT_INTENTS` are kept."""


def quick_reply_intent(text: str, predicted: str | None = None, confidence: float = 0.0) -> str | None:
    """The choice intent for a message that is plainly a choice, else ``None``.

    Args:
        text: The message.
        predicted: DIET's intent for it.
        confidence: DIET's confidence.

    Returns:
        :data:`bot.delay.options.INTENT` for an exact quick-reply phrase, or for
        free text naming one option (unless DIET is sure of a kept intent).
    """
    if delay_options.parse_option(text):
        return delay_options.INTENT
    sure = confidence >= SURE
    if predicted in KEPT_INTENTS and sure:
        return None
    decided = sure and (predicted or "").split("/")[0] == "faq"  # "网点地址" stays an FAQ; "我自己去网点取" is a choice
    return delay_options.INTENT if delay_options.is_choice(text, decided=decided) else None


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class QuickReplyIntentClassifier(StatelessComponent):
    """Gives quick-reply choices their intent (place it after DIET, before the fallback)."""

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Leaves training data alone: the phrases are fixed."""
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        """Sets the choice intent, with confidence 1, on choices.

        Args:
            messages: Messages being parsed (after DIET).

        Returns:
            The same messages.
        """
        for message in messages:
            predicted = message.get(INTENT) or {}
            intent = quick_reply_intent(
                message.get(TEXT) or "",
                predicted.get(INTENT_NAME_KEY),
                float(predicted.get(PREDICTED_CONFIDENCE_KEY) or 0.0),
            )
            if intent is None:
                continue
            chosen = {INTENT_NAME_KEY: intent, PREDICTED_CONFIDENCE_KEY: 1.0}
            # The choice is certain: the other intents keep their order but not DIET's confidence,
            # or the FallbackClassifier would call a near tie (e.g. out_of_scope 0.99) ambiguous.
            ranking = [
                {**r, PREDICTED_CONFIDENCE_KEY: 0.0}
                for r in message.get(INTENT_RANKING_KEY) or []
                if r.get(INTENT_NAME_KEY) != intent
            ]
            message.set(INTENT, chosen, add_to_output=True)
            message.set(INTENT_RANKING_KEY, [chosen, *ranking], add_to_output=True)
        return messages
