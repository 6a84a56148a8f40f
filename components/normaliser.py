"""Rasa NLU component that gives featurizers a normalised view of each token.

Customers write traditional characters, full-width letters and digits, mixed case,
and paste waybill numbers of every shape. The featurizers read each token's
``lemma``; this component sets it to the simplified, NFKC-normalised, lower-case
form, and replaces every token inside a ``waybill`` entity with one placeholder,
so the intent depends on the words around a number and not on its digits. The
message text and entity offsets are left untouched.
"""

from __future__ import annotations

import unicodedata
from typing import List

import zhconv
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.constants import TOKENS_NAMES
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from components.stateless import StatelessComponent

WAYBILL_TOKEN = "__waybill__"


def normalise_token(text: str) -> str:
    """Simplified Chinese, NFKC (full-width to ASCII) and lower case."""
    return zhconv.convert(unicodedata.normalize("NFKC", text), "zh-cn").lower()


@DefaultV1Recipe.register(
    [DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER], is_trainable=False
)
class TokenNormaliser(StatelessComponent):
    """Sets normalised lemmas on tokens; must come after the tokenizer and the waybill extractor."""

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Normalises the tokens of every training example."""
        self.process(training_data.training_examples)
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        """Normalises the text tokens of each message.

        Args:
            messages: Tokenized messages, with waybill entities already found.

        Returns:
            The same messages.
        """
        for message in messages:
            tokens = message.get(TOKENS_NAMES[TEXT])
            if not tokens:
                continue
            spans = [
                (e["start"], e["end"])
                for e in message.get(ENTITIES) or []
                if e.get("entity") == "waybill"
            ]
            for token in tokens:
                inside = any(token.start < end and token.end > start for start, end in spans)
                token.lemma = WAYBILL_TOKEN if inside else normalise_token(token.text)
        return messages
