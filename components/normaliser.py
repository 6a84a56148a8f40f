"""Rasa NLU component that gives featurizers a normalised view of each token.

Customers write traditional characters, full-width letters and digits, mixed case,
and paste waybill numbers of every shape. The featurizers read each token's
``lemma``; this component sets it to the simplified, NFKC-normalised, lower-case
form, and replaces the tokens of each ``waybill`` entity with ONE placeholder token,
so the intent depends on the words around a number and not on its digits, nor on
how many pieces the tokenizer cut it into ("SF 1648 5470 8664 6" or a full-width
number gives several Jieba tokens, still one ``__waybill__``). The tokens covering
one entity are merged into one token spanning them, so the token list stays ordered
and non-overlapping with offsets into the unchanged message text; the featurizers
after this component (regex, lexical, count vectors) all read that token list. The
message text and entity offsets are left untouched.
"""

from __future__ import annotations

import unicodedata
from typing import List, Tuple

import zhconv
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.constants import TOKENS_NAMES
from rasa.nlu.tokenizers.tokenizer import Token
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from components.stateless import StatelessComponent

WAYBILL_TOKEN = "__waybill__"


def normalise_token(text: str) -> str:
    """Simplified Chinese, NFKC (full-width to ASCII) and lower case."""
    return zhconv.convert(unicodedata.normalize("NFKC", text), "zh-cn").lower()


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER], is_trainable=False)
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
            spans = [(e["start"], e["end"]) for e in message.get(ENTITIES) or [] if e.get("entity") == "waybill"]
            message.set(TOKENS_NAMES[TEXT], _merge_waybills(message.get(TEXT), tokens, spans))
        return messages


def _merge_waybills(text: str, tokens: List[Token], spans: List[Tuple[int, int]]) -> List[Token]:
    """Normalised tokens, with one placeholder token per waybill span.

    The tokens overlapping a span become a single token from the first one's start to
    the last one's end (its text is that part of the message), lemma ``__waybill__``.
    """
    result: List[Token] = []
    merged_span: Tuple[int, int] | None = None
    for token in tokens:
        span = next((s for s in spans if token.start < s[1] and token.end > s[0]), None)
        if span is None:
            token.lemma = normalise_token(token.text)
            result.append(token)
            merged_span = None
            continue
        if span == merged_span and result:
            head = result[-1]
            head.end = max(head.end, token.end)
            head.text = text[head.start : head.end] if text else head.text + token.text
            continue
        token.lemma = WAYBILL_TOKEN
        result.append(token)
        merged_span = span
    return result
