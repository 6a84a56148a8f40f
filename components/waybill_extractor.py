"""Rasa NLU component that finds waybill numbers with the domain parser.

DIET is good at intents but guesses at entity boundaries; waybill numbers have
exact formats and check digits, so ``bot.tracking.waybill`` finds them and this component
only wraps it for the NLU pipeline. Entity ``waybill`` holds the number exactly
as the customer typed it.
"""

from __future__ import annotations

from typing import List

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.tracking.waybill import find_waybills
from components.stateless import StatelessComponent

ENTITY = "waybill"


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR], is_trainable=False)
class WaybillEntityExtractor(StatelessComponent, EntityExtractorMixin):
    """Adds a ``waybill`` entity for every waybill number in a message."""

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Leaves training data alone: the parser needs no training."""
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        """Adds the waybill entities found in each message's text.

        Args:
            messages: Messages being parsed.

        Returns:
            The same messages with ``waybill`` entities appended.
        """
        for message in messages:
            text = message.get(TEXT)
            if not text:
                continue
            found = [
                {
                    "entity": ENTITY,
                    "start": match.start,
                    "end": match.end,
                    "value": match.raw,
                    "confidence": 1.0,
                    "extractor": self.__class__.__name__,
                }
                for match in find_waybills(text)
            ]
            if found:
                others = [e for e in message.get(ENTITIES, []) if e.get("entity") != ENTITY]
                message.set(ENTITIES, others + found, add_to_output=True)
        return messages
