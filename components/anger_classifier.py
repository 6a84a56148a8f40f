"""Rasa NLU component: the trained anger model, its score in the parse data.

``rasa train`` fits :mod:`bot.handoff.anger_model` on the project's own labelled messages
(``data/anger/train.tsv``, not Rasa NLU data) and stores it with the Rasa model; loading
the model loads it back. Every parsed message gets

    "anger": {"score": 0.87, "angry": true, "legal": false, "reasons": ["model"], "lexicon": 0.0}

in its parse data, which the action server reads from ``tracker.latest_message`` and
from the user events' ``parse_data`` (``actions/handoff.py``).

The training file is outside Rasa's training data, so :meth:`fingerprint_addon` hashes
it (and the code that turns it into features): Rasa's cache retrains the component when
either changes. Put the component after the featurizers and before the
``FallbackClassifier``; it reads only the message text and leaves intents alone.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Dict, List

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.handoff import anger, anger_model
from bot.handoff.anger_model import AngerModel

logger = logging.getLogger(__name__)

ANGER = "anger"
"""Key of the result in the parse data."""
MODEL_FILE = anger_model.MODEL_FILE


def training_file(config: Dict[str, Any]) -> Path:
    """The configured training file; a relative path is relative to the project root."""
    path = Path(str(config.get("training_file") or anger_model.TRAINING_DATA))
    return path if path.is_absolute() else anger_model.PROJECT_ROOT / path


def lexicon_only(text: str) -> Dict[str, Any]:
    """The parse data when no trained model is available: the lexicon's reading alone."""
    result = anger.score(text)
    return {"score": result.score, "angry": result.angry, "legal": result.legal,
            "reasons": list(result.reasons), "lexicon": result.score}  # fmt: skip


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=True)
class AngerClassifier(GraphComponent):
    """Scores each message's anger with the trained model (lexicon signals included)."""

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        """``training_file``: the labelled messages, ``label<TAB>text`` (relative to the project root)."""
        return {"training_file": "data/anger/train.tsv"}

    @classmethod
    def fingerprint_addon(cls, config: Dict[str, Any]) -> str | None:
        """A hash of the training file and the feature code, so a change retrains the model."""
        return anger_model.fingerprint(training_file({**cls.get_default_config(), **config}))

    def __init__(
        self,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        model: AngerModel | None = None,
    ) -> None:
        self._config = {**self.get_default_config(), **config}
        self._model_storage = model_storage
        self._resource = resource
        self.model = model

    @classmethod
    def create(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> AngerClassifier:
        """An untrained component (before ``train``)."""
        return cls(config, model_storage, resource)

    def train(self, training_data: TrainingData) -> Resource:
        """Fits the model on the training file (Rasa's NLU data is not used) and persists it.

        Args:
            training_data: Rasa's NLU training data; ignored.

        Returns:
            The resource holding the model.
        """
        path = training_file(self._config)
        self.model = anger_model.train_file(path)
        info = self.model.info
        logger.info("anger model: %s messages, cross-validated F1 %s, threshold %s",
                    info.get("messages"), info.get("cv_f1"), self.model.threshold)  # fmt: skip
        with self._model_storage.write_to(self._resource) as directory:
            self.model.save(directory / MODEL_FILE)
        return self._resource

    @classmethod
    def load(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> AngerClassifier:
        """Loads the persisted model; without one, messages are scored by the lexicon alone."""
        try:
            with model_storage.read_from(resource) as directory:
                model = AngerModel.load(directory / MODEL_FILE)
        except (ValueError, OSError, KeyError) as exc:
            logger.error("anger model not loaded (%s): scoring with the lexicon alone", exc)
            model = None
        return cls(config, model_storage, resource, model)

    def process(self, messages: List[Message]) -> List[Message]:
        """Adds ``anger`` to each message's parse data.

        Args:
            messages: Messages being parsed.

        Returns:
            The same messages.
        """
        for message in messages:
            text = message.get(TEXT) or ""
            value = self.model.assess(text).as_parse_data() if self.model else lexicon_only(text)
            message.set(ANGER, value, add_to_output=True)
        return messages
