"""The trained anger model: character n-grams and the lexicon's signals, logistic regression.

Long because: features, training and the exported scorer are one idea that changes
together (:func:`fingerprint` hashes them as one to decide when ``rasa train`` refits).

Features of a message:

* **character n-grams** (2 to 4) of the text as :func:`prepare` reads it: NFKC, simplified
  Chinese, lower case, waybill and phone numbers replaced by ``#``, one space at each end
  (so an n-gram can mark the start or the end of a message). Single characters count
  only when they are symbols (``！``, ``？``, emoji): a lone letter or function character
  (还, 都, 这) says more about how long and chatty a text is than about anger, and leans
  on the domain of the training data. TF-IDF weighted with sublinear term frequency,
  over the n-grams seen in at least ``min_df`` training messages.
* **the lexicon** (:mod:`bot.handoff.anger`): its score, whether it calls the message angry, and one
  0/1 feature per reason code. The lexicon finds insults, threats and negation; the
  n-grams add what it misses (sarcasm, rhetorical questions, ultimatums, blame).

:func:`train` fits a logistic regression with balanced class weights (scikit-learn) and
chooses its regularisation ``C`` and the decision threshold by stratified
cross-validation on the training rows only. The fitted model is exported as plain numbers
(each n-gram's idf and weight, the lexicon weights, the intercept), so scoring needs no
scikit-learn and costs one dictionary look-up per n-gram; it is saved as JSON, never
pickled, so loading a model runs no code.

A message's :class:`Assessment` maps the model's probability onto the lexicon's scale:
the chosen threshold becomes :data:`bot.handoff.anger.DEFAULT`'s ``threshold`` (0.5), so the
handoff rules read the model's score and the lexicon's score the same way.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import tarfile
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from bot.handoff import anger
from bot.settings import PROJECT_ROOT

FORMAT: Final = 1
"""Version of the saved model's layout; :meth:`AngerModel.from_dict` refuses any other."""
TRAINING_DATA: Final = PROJECT_ROOT / "data" / "anger" / "train.tsv"
"""The project's own labelled messages, the only data the model is trained on."""
FEATURE_CODE: Final = tuple(
    Path(__file__).with_name(name) for name in ("anger.py", "anger_lexicon.py", "anger_model.py")
)
"""Source files whose changes change the features or the training, hence the fingerprint."""
LEXICON_REASONS: Final = tuple(
    r for r in anger.REASON_ORDER if r not in {"model", "rising", "repeated_complaint", "repeated_message"}
)
"""Per-message reason codes of the lexicon, one feature each."""
MODEL_REASON: Final = "model"
"""Reason code added when the model finds anger the lexicon did not."""
MODEL_FILE: Final = "anger_model.json"
"""Name of the saved model, also inside a Rasa model archive."""

_LONG_NUMBER: Final = re.compile(r"[a-z]*\d[\d\- ]{5,}\d[a-z]*")
_WORD_CHAR: Final = re.compile(r"[\w\s]")
_SPACES: Final = re.compile(r"\s+")


@dataclass(frozen=True)
class TrainingSettings:
    """How :func:`train` fits the model.

    Attributes:
        max_n: Longest character n-gram.
        min_df: Least number of training messages an n-gram must occur in.
        c_values: Inverse regularisation strengths tried by cross-validation.
        folds: Cross-validation folds.
        seed: Seed of the fold split and of the solver.
        max_iter: Solver iterations.
    """

    max_n: int = 4
    min_df: int = 2
    c_values: tuple[float, ...] = (3.0, 10.0, 30.0)
    folds: int = 5
    seed: int = 42
    max_iter: int = 2000


@dataclass(frozen=True)
class Assessment:
    """The model's reading of one message.

    Attributes:
        score: Anger in [0, 1] on the lexicon's scale (angry from ``threshold``).
        angry: Whether ``score`` reaches the threshold.
        legal: The lexicon's legal-threat flag.
        reasons: The lexicon's reason codes, plus ``model`` when only the model found anger.
        probability: The logistic regression's probability of anger.
        lexicon: The lexicon's own score.
    """

    score: float
    angry: bool
    legal: bool
    reasons: tuple[str, ...]
    probability: float
    lexicon: float

    def as_parse_data(self) -> dict[str, Any]:
        """What the NLU component puts in the parse data under ``anger``."""
        return {
            "score": self.score,
            "angry": self.angry,
            "legal": self.legal,
            "reasons": list(self.reasons),
            "lexicon": self.lexicon,
        }


@dataclass(frozen=True)
class AngerModel:
    """A fitted model, as plain numbers.

    Attributes:
        ngrams: n-gram to ``(idf, weight)``.
        lexicon_weights: Weights of :func:`lexicon_features`, in order.
        intercept: The logistic regression's intercept.
        threshold: Probability from which a message is angry.
        max_n: Longest character n-gram.
        info: How it was trained (sizes, ``C``, cross-validated figures, data hash).
    """

    ngrams: Mapping[str, tuple[float, float]]
    lexicon_weights: tuple[float, ...]
    intercept: float
    threshold: float
    max_n: int = 4
    info: Mapping[str, Any] = field(default_factory=dict)

    def probability(self, text: str, lexicon: anger.AngerResult | None = None) -> float:
        """Probability that ``text`` is angry.

        Args:
            text: The customer's message.
            lexicon: The lexicon's result for ``text``, when already computed.
        """
        lexicon = lexicon if lexicon is not None else anger.score(text)
        counts = Counter(ngrams(prepare(text), self.max_n))
        dot = norm = 0.0
        for gram, count in counts.items():
            known = self.ngrams.get(gram)
            if known is None:
                continue
            value = (1.0 + math.log(count)) * known[0]
            dot += value * known[1]
            norm += value * value
        z = self.intercept + (dot / math.sqrt(norm) if norm else 0.0)
        z += sum(w * x for w, x in zip(self.lexicon_weights, lexicon_features(lexicon), strict=True))
        return _sigmoid(z)

    def scale(self, probability: float) -> float:
        """A probability on the lexicon's scale: the threshold becomes ``anger.DEFAULT.threshold``."""
        cut, target = self.threshold, anger.DEFAULT.threshold
        if probability < cut:
            value = target * probability / cut
        else:
            value = target + (1.0 - target) * (probability - cut) / (1.0 - cut)
        return round(min(1.0, max(0.0, value)), 4)

    def assess(self, text: str) -> Assessment:
        """Score one message: the model's score on the lexicon's scale, with the lexicon's flags."""
        if not isinstance(text, str):
            text = ""
        lexicon = anger.score(text)
        probability = self.probability(text, lexicon)
        value = self.scale(probability)
        angry = value >= anger.DEFAULT.threshold
        reasons = lexicon.reasons + ((MODEL_REASON,) if angry and not lexicon.angry else ())
        return Assessment(value, angry, lexicon.legal, reasons, round(probability, 4), lexicon.score)

    def to_dict(self) -> dict[str, Any]:
        """The model as JSON-ready data."""
        grams = sorted(self.ngrams)
        return {
            "format": FORMAT,
            "max_n": self.max_n,
            "threshold": self.threshold,
            "intercept": self.intercept,
            "lexicon_features": list(LEXICON_FEATURE_NAMES),
            "lexicon_weights": list(self.lexicon_weights),
            "ngrams": grams,
            "idf": [self.ngrams[g][0] for g in grams],
            "weights": [self.ngrams[g][1] for g in grams],
            "info": dict(self.info),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AngerModel:
        """Rebuild a model from :meth:`to_dict`'s data.

        Raises:
            ValueError: Another format, or features this code does not compute.
        """
        if data.get("format") != FORMAT:
            raise ValueError(f"anger model format {data.get('format')!r}, expected {FORMAT}")
        if list(data["lexicon_features"]) != list(LEXICON_FEATURE_NAMES):
            raise ValueError("anger model was trained on other lexicon features; retrain it")
        grams, idf, weights = data["ngrams"], data["idf"], data["weights"]
        if not len(grams) == len(idf) == len(weights):
            raise ValueError("anger model: n-gram lists differ in length")
        return cls(
            ngrams={g: (float(i), float(w)) for g, i, w in zip(grams, idf, weights, strict=True)},
            lexicon_weights=tuple(float(w) for w in data["lexicon_weights"]),
            intercept=float(data["intercept"]),
            threshold=float(data["threshold"]),
            max_n=int(data["max_n"]),
            info=dict(data.get("info") or {}),
        )

    def save(self, path: Path) -> None:
        """Write the model as JSON."""
        path.write_text(json.dumps(self.to_dict(), ensure_ascii=False, separators=(",", ":")), encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> AngerModel:
        """Read a model written by :meth:`save`."""
        return cls.from_dict(json.loads(path.read_text(encoding="utf-8")))


# --- features ------------------------------------------------------------------------------------

LEXICON_FEATURE_NAMES: Final = ("lexicon_score", "lexicon_angry", *(f"reason:{r}" for r in LEXICON_REASONS))


def prepare(text: str) -> str:
    """The text the n-grams are taken from (see the module docstring)."""
    if not isinstance(text, str) or not text:
        return "  "
    lowered = anger.normalise(text).lower()
    lowered = _LONG_NUMBER.sub("#", lowered)
    return " " + _SPACES.sub(" ", lowered).strip() + " "


def ngrams(prepared: str, max_n: int = 4) -> list[str]:
    """The character n-grams of ``prepared`` (repeats included): 2 to ``max_n`` long, and single symbols."""
    out = [char for char in prepared if not _WORD_CHAR.match(char)]
    length = len(prepared)
    for n in range(2, max_n + 1):
        out.extend(prepared[i : i + n] for i in range(length - n + 1))
    return out


def lexicon_features(result: anger.AngerResult) -> tuple[float, ...]:
    """The lexicon's score, its verdict and one 0/1 per reason code, in :data:`LEXICON_FEATURE_NAMES` order."""
    present = set(result.reasons)
    return (result.score, float(result.angry), *(float(r in present) for r in LEXICON_REASONS))


def _sigmoid(z: float) -> float:
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


# --- data ----------------------------------------------------------------------------------------


def load_labelled(path: Path, angry_label: str = "1") -> list[tuple[bool, str]]:
    """An evaluation file (``label<TAB>text`` after a header line, any labels): True where the label is ``angry_label``.

    Unlike :func:`load_rows` it accepts other label sets (SMP2020-EWECT's 0-5) and skips lines without text.
    """
    rows = []
    with path.open(encoding="utf-8") as handle:
        next(handle, None)
        for line in handle:
            label, _, text = line.rstrip("\n").partition("\t")
            if text:
                rows.append((label.strip() == angry_label, text))
    return rows


def load_rows(path: Path) -> list[tuple[int, str]]:
    """Read a ``label<TAB>text`` file with a header line; label 1 is angry, 0 is not.

    Raises:
        ValueError: A line without a tab, a label other than 0 or 1, or an empty text.
    """
    rows: list[tuple[int, str]] = []
    with path.open(encoding="utf-8") as handle:
        header = next(handle, "").rstrip("\n").split("\t")
        if header[:1] != ["label"]:
            raise ValueError(f"{path}: the first line must be the header 'label<TAB>text'")
        for number, line in enumerate(handle, start=2):
            line = line.rstrip("\n")
            if not line.strip():
                continue
            label, tab, text = line.partition("\t")
            if not tab or label.strip() not in {"0", "1"} or not text.strip():
                raise ValueError(f"{path}:{number}: expected '0|1<TAB>text', got {line[:60]!r}")
            rows.append((int(label), text))
    return rows


def fingerprint(path: Path = TRAINING_DATA) -> str:
    """A hash of the training file and of the code that turns it into a model.

    Rasa adds it to the component's fingerprint, so ``rasa train`` retrains the model
    when the data or the features change, and reuses its cache otherwise.
    """
    digest = hashlib.sha256(f"format {FORMAT}\n".encode())
    for source in (path, *FEATURE_CODE):
        content = source.read_bytes() if source.is_file() else b"<missing>"
        digest.update(f"{len(content)}\n".encode() + content)
    return digest.hexdigest()


# --- training ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Figures:
    """Precision, recall and F1 of "angry"."""

    precision: float
    recall: float
    f1: float

    @classmethod
    def of(cls, gold: Sequence[bool], predicted: Sequence[bool]) -> Figures:
        """Figures of ``predicted`` against ``gold``."""
        tp = sum(1 for g, p in zip(gold, predicted, strict=True) if g and p)
        fp = sum(1 for g, p in zip(gold, predicted, strict=True) if p and not g)
        fn = sum(1 for g, p in zip(gold, predicted, strict=True) if g and not p)
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        return cls(precision, recall, f1)


def _best_threshold(gold: Sequence[bool], probabilities: Sequence[float]) -> tuple[float, Figures]:
    """The threshold (0.20 to 0.80 in steps of 0.01) with the best F1; the middle one of a tie."""
    scored = []
    for step in range(20, 81):
        cut = step / 100
        scored.append((Figures.of(gold, [p >= cut for p in probabilities]), cut))
    best = max(f.f1 for f, _ in scored)
    ties = [cut for f, cut in scored if f.f1 >= best - 1e-9]
    cut = ties[len(ties) // 2]
    return cut, next(f for f, c in scored if c == cut)


def _fit(texts: Sequence[str], lexicon: Any, labels: Sequence[int], c: float, settings: TrainingSettings) -> Any:
    """A fitted (vectoriser, classifier) pair; ``lexicon`` is a dense matrix of lexicon features."""
    import numpy as np
    from scipy.sparse import csr_matrix, hstack
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    def analyzer(prepared: str) -> list[str]:
        return ngrams(prepared, settings.max_n)

    vectoriser = TfidfVectorizer(analyzer=analyzer, min_df=settings.min_df, sublinear_tf=True, dtype=np.float64)
    grams = vectoriser.fit_transform(texts)
    classifier = LogisticRegression(
        C=c, class_weight="balanced", max_iter=settings.max_iter, random_state=settings.seed, solver="liblinear"
    )
    classifier.fit(hstack([grams, csr_matrix(lexicon)]).tocsr(), labels)
    return vectoriser, classifier


def _predict(fitted: Any, texts: Sequence[str], lexicon: Any) -> list[float]:
    from scipy.sparse import csr_matrix, hstack

    vectoriser, classifier = fitted
    features = hstack([vectoriser.transform(texts), csr_matrix(lexicon)]).tocsr()
    return [float(p) for p in classifier.predict_proba(features)[:, 1]]


def train(rows: Iterable[tuple[int, str]], settings: TrainingSettings = TrainingSettings()) -> AngerModel:
    """Fit the model on labelled messages.

    ``C`` and the threshold are chosen by stratified ``settings.folds``-fold
    cross-validation on ``rows`` (out-of-fold probabilities, best F1); the model is then
    fitted on all of ``rows``.

    Args:
        rows: ``(label, text)`` pairs, label 1 angry and 0 not; both labels needed.
        settings: Features, candidates and seeds.

    Returns:
        The fitted model; ``info`` records the sizes, ``C``, threshold and
        cross-validated precision / recall / F1.

    Raises:
        ValueError: Fewer than two messages of either label.
    """
    import numpy as np
    from sklearn.model_selection import StratifiedKFold

    data = [(int(label), text) for label, text in rows]
    labels = [label for label, _ in data]
    if min(labels.count(0), labels.count(1)) < 2:
        raise ValueError("the anger model needs at least two angry and two calm messages")
    texts = [prepare(text) for _, text in data]
    lexicon = np.array([lexicon_features(anger.score(text)) for _, text in data], dtype=float)
    gold = [label == 1 for label in labels]

    folds = min(settings.folds, labels.count(0), labels.count(1))
    chosen: tuple[float, float, float, Figures] | None = None  # (f1, c, threshold, figures)
    if folds >= 2:
        split = StratifiedKFold(n_splits=folds, shuffle=True, random_state=settings.seed)
        parts = list(split.split(texts, labels))
        for c in settings.c_values:
            out_of_fold = np.zeros(len(data))
            for fit_idx, held_idx in parts:
                fitted = _fit([texts[i] for i in fit_idx], lexicon[fit_idx], [labels[i] for i in fit_idx], c, settings)
                out_of_fold[held_idx] = _predict(fitted, [texts[i] for i in held_idx], lexicon[held_idx])
            cut, figures = _best_threshold(gold, out_of_fold.tolist())
            if chosen is None or figures.f1 > chosen[0] + 1e-9:
                chosen = (figures.f1, c, cut, figures)
    if chosen is None:  # too few rows to cross-validate: the middle candidate, threshold 0.5
        chosen = (0.0, settings.c_values[len(settings.c_values) // 2], 0.5, Figures(0.0, 0.0, 0.0))
    _, c, cut, figures = chosen

    info = {
        "messages": len(data),
        "angry": labels.count(1),
        "C": c,
        "cv_folds": folds,
        "cv_precision": round(figures.precision, 4),
        "cv_recall": round(figures.recall, 4),
        "cv_f1": round(figures.f1, 4),
    }
    return _export(_fit(texts, lexicon, labels, c, settings), cut, settings, info)


def _export(fitted: Any, threshold: float, settings: TrainingSettings, info: Mapping[str, Any]) -> AngerModel:
    """A fitted (vectoriser, classifier) pair as plain numbers."""
    vectoriser, classifier = fitted
    weights = classifier.coef_[0]
    idf, size = vectoriser.idf_, len(vectoriser.vocabulary_)
    return AngerModel(
        ngrams={gram: (float(idf[col]), float(weights[col])) for gram, col in vectoriser.vocabulary_.items()},
        lexicon_weights=tuple(float(w) for w in weights[size:]),
        intercept=float(classifier.intercept_[0]),
        threshold=threshold,
        max_n=settings.max_n,
        info={**info, "ngrams": size},
    )


def train_file(path: Path = TRAINING_DATA, settings: TrainingSettings = TrainingSettings()) -> AngerModel:
    """:func:`train` on a ``label<TAB>text`` file; ``info`` also records the file's SHA-256."""
    model = train(load_rows(path), settings)
    info = {**model.info, "data_sha256": hashlib.sha256(path.read_bytes()).hexdigest()}
    return AngerModel(model.ngrams, model.lexicon_weights, model.intercept, model.threshold, model.max_n, info)


def from_archive(path: Path) -> AngerModel | None:
    """The anger model stored in a Rasa model archive (``models/*.tar.gz``), ``None`` if it has none.

    Reads the one JSON member; nothing else is unpacked and no code runs.
    """
    with tarfile.open(path, "r:gz") as archive:
        for member in archive:
            if member.isfile() and Path(member.name).name == MODEL_FILE:
                handle = archive.extractfile(member)
                if handle is not None:
                    return AngerModel.from_dict(json.loads(handle.read().decode("utf-8")))
    return None


def newest_archive(models: Path) -> Path | None:
    """The newest ``*.tar.gz`` in ``models`` (the one ``rasa run`` loads), if any."""
    archives = sorted(models.glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)
    return archives[-1] if archives else None
