"""Rasa NLU component: a message that is exactly a quick-reply phrase gets that reply's intent.

The bot offers choices (e.g. for a late parcel: keep waiting, priority dispatch,
pickup, redirect) as buttons whose payload is plain text, so every channel sends
back the same words. Those few fixed phrases are matched exactly here and given
their intent with full confidence; any other text keeps what DIET predicted, so
the classifier's accuracy on ordinary messages is untouched.
"""

from __future__ import annotations

from typing import List

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, INTENT_RANKING_KEY, PREDICTED_CONFIDENCE_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot import delay_options
from components.stateless import StatelessComponent


def quick_reply_intent(text: str) -> str | None:
    """The intent of a message that is exactly one of the quick-reply phrases, else ``None``."""
    return delay_options.INTENT if delay_options.parse_option(text) else None


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class QuickReplyIntentClassifier(StatelessComponent):
    """Overrides the intent of exact quick-reply phrases (place it after DIET, before the fallback)."""

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Leaves training data alone: the phrases are fixed."""
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        """Sets the quick-reply intent, with confidence 1, on exact phrases.

        Args:
            messages: Messages being parsed (after DIET).

        Returns:
            The same messages.
        """
        for message in messages:
            intent = quick_reply_intent(message.get(TEXT) or "")
            if intent is None:
                continue
            chosen = {INTENT_NAME_KEY: intent, PREDICTED_CONFIDENCE_KEY: 1.0}
            ranking = [r for r in message.get(INTENT_RANKING_KEY) or [] if r.get(INTENT_NAME_KEY) != intent]
            message.set(INTENT, chosen, add_to_output=True)
            message.set(INTENT_RANKING_KEY, [chosen, *ranking], add_to_output=True)
        return messages
