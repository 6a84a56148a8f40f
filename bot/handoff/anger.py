"""Scoring how angry a customer's message is, for the human handoff.

Long because: one idea, the lexicon's scorer; scoring a message and the conversation
rules built on it share the signal tables and the negation logic.

A message is normalised (NFKC, traditional to simplified Chinese, lower case), then
searched for *signals*, each with a weight from :class:`AngerConfig`:

* **core signals** — ``insult``, ``profanity``, ``threat_complaint``, ``threat_public``,
  ``threat_leave``, ``legal_threat``, ``anger_word``, ``anger_emoji``, ``accusation``,
  ``frustration`` and the weak ``complaint_enquiry`` (a question *about* complaining,
  e.g. 投诉电话是多少). Per signal the weight counts once, plus ``same_signal_bonus`` for
  each further distinct hit (at most two). They combine like independent pieces of
  evidence: ``core = 1 - Π(1 - w)``. One stretch of text is one signal (太过分 is not
  also 过分), and a list of exclusions keeps 垃圾桶, 律师事务所, ``Oak Court`` and
  sending papers to a court out.
* **intensity** — ``intensity_punctuation`` (``!!!``, ``???``, ``?!``), ``repeated_chars``
  (啊啊啊啊, ``sooo``), ``all_caps`` (capitalised English words of three letters or more,
  acronyms excepted). They add up to ``intensity_cap`` and are multiplied by ``synergy``
  when a core signal is present, so ``!!!`` alone is excitement but ``到底！！！`` is anger.

``score = 1 - (1 - core) * (1 - intensity)``. Politeness (请问, 麻烦, please) halves
frustration and intensity; gratitude (谢谢, thanks) halves intensity when there is no core
signal, so ``THANK YOU SO MUCH!!!`` stays calm.

A signal word right after a negation (不生气, 没有生气, 我不是要投诉, ``not angry``,
``I don't want to complain``) does not count and adds the reason ``negated``. Profanity
and accusations are never negated (别敷衍我 is still angry), 不投诉不行 undoes the
negation and A-not-A questions (是不是, 有没有) do not negate.

A complaint word counts as ``threat_complaint`` unless the message asks about
complaining (电话, 怎么, ``how``, ``?``) without a threat (投诉你们, 再不…, ``I will``) and
without an intent (我要, 想投诉) that is not hypothetical (我要投诉的话……): asking for the
complaint hotline is not anger by itself.

``legal`` is set by an un-negated legal threat (律师, 起诉, 法院, ``sue``, ``lawyer``,
``court``), which hands the conversation to a human on its own.

This lexicon is precise but misses anger without angry words (sarcasm, rhetorical
questions, ultimatums, blame). The trained model in :mod:`bot.handoff.anger_model` reads these
signals as features next to character n-grams; its per-message score, on this module's
scale, replaces :func:`score` in :func:`conversation_score` when the NLU parse data has it.
"""

from __future__ import annotations

import functools
import math
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any, Final

from zhconv import convert
from zhconv.zhconv import getdict

from bot.handoff import anger_lexicon as lex

_NEGATABLE: Final = frozenset(
    {"insult", "threat_complaint", "threat_public", "threat_leave", "legal_threat", "anger_word", "frustration"}
)
REASON_ORDER: Final = (
    "legal_threat",
    "threat_complaint",
    "threat_public",
    "threat_leave",
    "insult",
    "profanity",
    "anger_word",
    "anger_emoji",
    "accusation",
    "frustration",
    "complaint_enquiry",
    "intensity_punctuation",
    "repeated_chars",
    "all_caps",
    "model",
    "negated",
    "rising",
    "repeated_complaint",
    "repeated_message",
)
"""Every reason code, in the order :attr:`AngerResult.reasons` lists them."""


@dataclass(frozen=True)
class AngerConfig:
    """Weights and thresholds of the scorer; plain numbers, so a policy file can set them.

    Signal weights are in [0, 1]; see the module docstring for how they combine.

    Attributes:
        threshold: Score at or above which a message counts as angry.
        insult: Insults (垃圾, 骗子, ``idiot``).
        profanity: Swearing, masked forms included (卧槽, 妈的, ``f**k``).
        threat_complaint: A threat or intent to complain (我要投诉, 12315, ``consumer protection``).
        threat_public: A threat to go public (曝光, 差评, ``bad review``).
        threat_leave: A threat to stop using the company (再也不用, ``never again``).
        legal_threat: A legal threat (起诉, 律师, ``sue``).
        anger_word: Words of anger (生气, 受够了, ``furious``, ``unacceptable``).
        anger_emoji: Angry emoji (😡, 🤬).
        accusation: Accusing the company of bad faith or neglect (敷衍, 踢皮球, ``ripped off``).
        frustration: Impatience and exasperation (到底, 又, ``again``, ``how many times``).
        complaint_enquiry: A question about how to complain, not a threat.
        same_signal_bonus: Added per further distinct hit of the same signal (two at most).
        intensity_punctuation: ``!!!``, ``???`` or mixed ``?!``; half for ``!!`` or ``??``.
        repeated_chars: A character typed four times (Chinese) or three times (Latin) in a row.
        all_caps: Per all-caps English word of three letters or more.
        all_caps_max: Ceiling of the all-caps weight.
        intensity_cap: Ceiling of all intensity signals together.
        synergy: Multiplier of intensity when a core signal is present.
        polite_damping: Factor on frustration and intensity in a polite message.
        positive_damping: Factor on intensity in a grateful message without core signals.
        max_chars: Longer messages are scored on their first and last ``max_chars // 2``
            characters (a threat usually opens or closes a long message).
        rising_window: How many recent messages :func:`conversation_score` looks at.
        rising_min_delta: Least rise from the first to the last message of the window.
        rising_boost: Added when the window's scores rise.
        repeat_floor: Score from which a message counts as a complaint in the window.
        repeat_boost: Added per further complaint message in the window.
        repeat_text_boost: Added per repetition of the same message in the window.
    """

    threshold: float = 0.5
    insult: float = 0.6
    profanity: float = 0.5
    threat_complaint: float = 0.55
    threat_public: float = 0.55
    threat_leave: float = 0.5
    legal_threat: float = 0.65
    anger_word: float = 0.55
    anger_emoji: float = 0.5
    accusation: float = 0.45
    frustration: float = 0.35
    complaint_enquiry: float = 0.15
    same_signal_bonus: float = 0.15
    intensity_punctuation: float = 0.2
    repeated_chars: float = 0.2
    all_caps: float = 0.15
    all_caps_max: float = 0.35
    intensity_cap: float = 0.55
    synergy: float = 1.5
    polite_damping: float = 0.5
    positive_damping: float = 0.5
    max_chars: int = 1000
    rising_window: int = 3
    rising_min_delta: float = 0.15
    rising_boost: float = 0.15
    repeat_floor: float = 0.25
    repeat_boost: float = 0.1
    repeat_text_boost: float = 0.2

    def __post_init__(self) -> None:
        """Reject values that would make scores meaningless."""
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ValueError(f"anger.{f.name} must be a number, got {value!r}")
            if value < 0:
                raise ValueError(f"anger.{f.name} must not be negative, got {value!r}")
        if not 0 < self.threshold <= 1:
            raise ValueError(f"anger.threshold must be in (0, 1], got {self.threshold!r}")
        if int(self.rising_window) != self.rising_window or self.rising_window < 1:
            raise ValueError(f"anger.rising_window must be a whole number >= 1, got {self.rising_window!r}")
        if int(self.max_chars) != self.max_chars or self.max_chars < 2:
            raise ValueError(f"anger.max_chars must be a whole number >= 2, got {self.max_chars!r}")

    @classmethod
    def from_mapping(cls, data: Mapping[str, object]) -> AngerConfig:
        """Build a config from a mapping such as a section of the policy file.

        Args:
            data: Field names to numbers; missing fields keep their defaults.

        Returns:
            The config.

        Raises:
            ValueError: On an unknown key or a value out of range.
        """
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown anger settings: {', '.join(unknown)}")
        values: dict[str, Any] = dict(data)  # any type here: __post_init__ checks every value
        return cls(**values)


DEFAULT: Final = AngerConfig()
"""The built-in configuration."""


@dataclass(frozen=True)
class AngerResult:
    """How angry a message (or a conversation) is.

    Attributes:
        score: Anger in [0, 1].
        angry: Whether ``score`` reaches the config's threshold.
        reasons: Reason codes of the signals found, in :data:`REASON_ORDER`.
        legal: Whether there is an un-negated legal threat (a handoff by itself).
    """

    score: float
    angry: bool
    reasons: tuple[str, ...] = ()
    legal: bool = False


_SIGNALS: Final[tuple[tuple[str, lex.Matcher], ...]] = (
    ("legal_threat", lex.Matcher(lex.LEGAL_ZH, lex.LEGAL_EN)),
    ("threat_complaint", lex.Matcher(lex.THREAT_COMPLAINT_ZH, lex.THREAT_COMPLAINT_EN)),
    ("threat_public", lex.Matcher(lex.THREAT_PUBLIC_ZH, lex.THREAT_PUBLIC_EN)),
    ("threat_leave", lex.Matcher(lex.THREAT_LEAVE_ZH, lex.THREAT_LEAVE_EN)),
    ("insult", lex.Matcher(lex.INSULT_ZH, lex.INSULT_EN)),
    ("profanity", lex.Matcher(lex.PROFANITY_ZH, lex.PROFANITY_EN)),
    ("anger_word", lex.Matcher(lex.ANGER_WORD_ZH, lex.ANGER_WORD_EN)),
    ("anger_emoji", lex.Matcher(lex.ANGER_EMOJI)),
    ("accusation", lex.Matcher(lex.ACCUSATION_ZH, lex.ACCUSATION_EN)),
    ("frustration", lex.Matcher(lex.FRUSTRATION_ZH, lex.FRUSTRATION_EN)),
)
_SB: Final = re.compile(lex.SB_PATTERN)
_SB_CAPS: Final = re.compile(r"(?<![A-Za-z])SB(?![A-Za-z])")
_EXCLUDED: Final = (lex.Matcher.literals(lex.EXCLUSIONS), lex.Matcher(lex.EXCLUSION_PATTERNS))
_SCAM_WORDS: Final = lex.Matcher(lex.SCAM_WORDS_ZH, lex.SCAM_WORDS_EN)
_SCAM_CONTEXT: Final = lex.Matcher.literals(lex.SCAM_REPORT_CONTEXT)
_QUESTION: Final = lex.Matcher.literals(lex.COMPLAINT_QUESTION)
_COMPLAINT_THREAT: Final = lex.Matcher.literals(lex.COMPLAINT_THREAT)
_COMPLAINT_INTENT: Final = lex.Matcher.literals(lex.COMPLAINT_INTENT)
_HYPOTHETICAL: Final = lex.Matcher.literals(lex.HYPOTHETICAL)
_POLITE: Final = lex.Matcher.literals(lex.POLITE)
_POSITIVE: Final = lex.Matcher.literals(lex.POSITIVE)
_UNDO_NEGATION: Final = lex.Matcher.literals(lex.NEGATION_EXCEPTIONS_AFTER)

_CJK: Final = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_CLAUSE_END: Final = re.compile(r"[.,;:!?\n，。；：！？、]")
_EN_WORD: Final = re.compile(r"[a-z']+")
_PUNCT_RUN: Final = re.compile(r"[!?]{2,}")
_REPEAT_CJK: Final = re.compile(r"([\u4e00-\u9fff])\1{3,}")
_REPEAT_LATIN: Final = re.compile(r"([a-z])\1{2,}")
_CAPS_WORD: Final = re.compile(r"(?<![A-Za-z0-9])[A-Z]{3,}(?![A-Za-z0-9])")
_NON_WORD: Final = re.compile(r"[\W_]+")
_QUOTES: Final = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"'})


@functools.cache
def _traditional() -> re.Pattern[str]:
    """Characters that ``zhconv`` changes into simplified Chinese, built on first use.

    ``convert`` costs about 0.8 µs per character, as much as all the scoring of a short
    message, and most messages are already simplified: they skip it.
    """
    table = getdict("zh-cn")
    chars = sorted(key for key, value in table.items() if len(key) == 1 and value != key)
    return re.compile("[" + "".join(re.escape(c) for c in chars) + "]")


def normalise(text: str, max_chars: int = DEFAULT.max_chars) -> str:
    """Normalise text the way the scorer reads it, keeping the case.

    Args:
        text: Customer text.
        max_chars: Longest text kept; a longer one keeps its first and last halves.

    Returns:
        NFKC text with curly quotes made straight and traditional Chinese made
        simplified (``zhconv``, only run when the text has a traditional character).
    """
    if len(text) > max_chars:
        half = max_chars // 2
        text = text[:half] + "\n" + text[-half:]
    text = unicodedata.normalize("NFKC", text).translate(_QUOTES)
    if _CJK.search(text) and _traditional().search(text):
        text = convert(text, "zh-cn")
    return text


def _negated(text: str, start: int, end: int) -> bool:
    """Whether the signal at ``text[start:end]`` follows a negation in the same clause."""
    if _UNDO_NEGATION.search(text[end : end + 6]):
        return False
    clause = _CLAUSE_END.split(text[max(0, start - 40) : start])[-1].rstrip()
    if lex.NEGATION_ZH.search(clause) and not lex.A_NOT_A.search(clause):
        return True
    for word in reversed(_EN_WORD.findall(clause)[-4:]):
        if word in lex.CONNECTORS_EN:
            return False
        if word in lex.NEGATORS_EN:
            return True
    return False


def _is_enquiry(text: str) -> bool:
    """Whether a message with a complaint word asks about complaining rather than threatening to."""
    if not _QUESTION.search(text) or _COMPLAINT_THREAT.search(text):
        return False
    return not _COMPLAINT_INTENT.search(text) or bool(_HYPOTHETICAL.search(text))


def _find_signals(text: str, original: str) -> tuple[dict[str, set[str]], bool]:
    """Signal name to the distinct texts that matched, and whether any match was negated.

    Signals are searched in :data:`_SIGNALS` order and each match is masked before the
    next signal looks, so one stretch of text is one signal (太过分 is not also 过分,
    ``never again`` does not negate ``again``).
    """
    found: dict[str, set[str]] = {}
    negated = False
    rest = text
    for name, matcher in _SIGNALS:
        matched = False
        for match in matcher.finditer(rest):
            matched = True
            if name in _NEGATABLE and _negated(rest, match.start(), match.end()):
                negated = True
                continue
            found.setdefault(name, set()).add(match.group())
        if matched:
            rest = matcher.mask(rest)
    if _SB_CAPS.search(original) or (_CJK.search(text) and _SB.search(text)):
        found.setdefault("insult", set()).add("sb")
    complaint = found.pop("threat_complaint", None)
    if complaint:
        found["complaint_enquiry" if _is_enquiry(text) else "threat_complaint"] = complaint
    return found, negated


def _intensity(text: str, original: str, config: AngerConfig) -> dict[str, float]:
    """Weights of the intensity signals present."""
    out: dict[str, float] = {}
    strong = mild = 0
    for run in _PUNCT_RUN.findall(text):
        if len(run) >= 3 or len(set(run)) > 1:
            strong += 1
        else:
            mild += 1
    if strong:
        out["intensity_punctuation"] = config.intensity_punctuation * (1.5 if strong > 1 else 1.0)
    elif mild:
        out["intensity_punctuation"] = config.intensity_punctuation / 2
    repeated = any(m.group(1) not in lex.LAUGH_CHARS for m in _REPEAT_CJK.finditer(text)) or any(
        m.group(1) not in lex.LAUGH_CHARS for m in _REPEAT_LATIN.finditer(text)
    )
    if repeated:
        out["repeated_chars"] = config.repeated_chars
    caps = sum(1 for w in _CAPS_WORD.findall(original) if w not in lex.CAPS_ALLOWED)
    if caps:
        out["all_caps"] = min(config.all_caps * caps, config.all_caps_max)
    return out


def _result(value: float, reasons: Iterable[str], legal: bool, config: AngerConfig) -> AngerResult:
    value = round(min(1.0, max(0.0, value)), 4)
    present = set(reasons)
    ordered = tuple(r for r in REASON_ORDER if r in present)
    return AngerResult(score=value, angry=value >= config.threshold, reasons=ordered, legal=legal)


def score(text: str, config: AngerConfig = DEFAULT) -> AngerResult:
    """Score one customer message.

    Args:
        text: The message as typed (any Unicode; ``None``-like empties score 0).
        config: Weights and threshold.

    Returns:
        The score in [0, 1], whether it is angry, the reason codes and the legal flag.
    """
    if not text or not isinstance(text, str):
        return _result(0.0, (), False, config)
    original = normalise(text, int(config.max_chars))
    lowered = original.lower()
    masked = lowered
    for excluded in _EXCLUDED:
        masked = excluded.mask(masked)
    if _SCAM_CONTEXT.search(masked):
        masked = _SCAM_WORDS.mask(masked)
    found, negated = _find_signals(masked, original)
    polite = bool(_POLITE.search(lowered))

    keep = 1.0
    for name, hits in found.items():
        weight = float(getattr(config, name))
        if name == "frustration" and polite:
            weight *= config.polite_damping
        weight = min(1.0, weight + config.same_signal_bonus * min(2, len(hits) - 1))
        keep *= 1.0 - weight
    core = 1.0 - keep

    intensity = _intensity(lowered, original, config)
    amp = sum(intensity.values())
    if polite:
        amp *= config.polite_damping
    if not found and _POSITIVE.search(lowered):
        amp *= config.positive_damping
    amp = min(amp, config.intensity_cap)
    if found:
        amp = min(1.0, amp * config.synergy)
    value = 1.0 - (1.0 - core) * (1.0 - amp)

    reasons = [*found, *intensity]
    if negated:
        reasons.append("negated")
    return _result(value, reasons, "legal_threat" in found, config)


def _same_message(a: str, b: str) -> bool:
    """Whether two messages are the same text, ignoring case, spaces and punctuation."""
    a_key, b_key = _NON_WORD.sub("", a.lower()), _NON_WORD.sub("", b.lower())
    return bool(a_key) and a_key == b_key


def _model_or_lexicon(model: object, lexicon: AngerResult) -> float:
    """The model's score when it is a finite number (clipped to [0, 1]), else the lexicon's."""
    if isinstance(model, bool) or not isinstance(model, (int, float)) or not math.isfinite(model):
        return lexicon.score
    return min(1.0, max(0.0, float(model)))


def conversation_score(
    texts: Sequence[str], config: AngerConfig = DEFAULT, scores: Sequence[float | None] | None = None
) -> AngerResult:
    """Score rising frustration over the customer's recent messages (oldest first).

    A message's score is the trained model's (``scores``, from the NLU parse data, see
    :mod:`bot.handoff.anger_model`) when there is one, else the lexicon's :func:`score`. The rule,
    over the last ``rising_window`` messages:

    1. Start from the latest message's score.
    2. ``rising``: add ``rising_boost`` when the scores never fall from one message to
       the next and the last is at least ``rising_min_delta`` above the first.
    3. ``repeated_complaint``: when the latest message is a complaint (scores at least
       ``repeat_floor``), add ``repeat_boost`` for each further complaint in the window
       (the customer keeps complaining).
    4. ``repeated_message``: add ``repeat_text_boost`` for each earlier message that is the
       same text as the latest (ignoring case, spaces and punctuation), so asking
       "我的快递呢" three times counts even without angry words.

    The result is capped at 1; ``legal`` is set when any message in the window makes a
    legal threat (always the lexicon's call). Reasons are the latest message's lexicon
    reasons, ``model`` when the model alone found the latest message angry, and the rules
    that fired.

    Args:
        texts: The customer's messages, oldest first (non-strings count as empty).
        config: Weights and threshold.
        scores: The model's score of each of ``texts`` (same order and length, on this
            module's scale), ``None`` for a message without one; ``None`` for no model.

    Returns:
        The conversation's anger.

    Raises:
        ValueError: ``scores`` and ``texts`` differ in length.
    """
    texts = list(texts)
    model = list(scores) if scores is not None else [None] * len(texts)
    if len(model) != len(texts):
        raise ValueError(f"{len(model)} scores for {len(texts)} messages")
    size = int(config.rising_window)
    window = [t if isinstance(t, str) else "" for t in texts[-size:]]
    if not window:
        return _result(0.0, (), False, config)
    results = [score(t, config) for t in window]
    values = [_model_or_lexicon(m, r) for m, r in zip(model[-size:], results, strict=True)]
    latest = results[-1]
    value = values[-1]
    reasons = list(latest.reasons)
    if value >= config.threshold and not latest.angry:
        reasons.append("model")
    if len(values) >= 2 and all(b >= a for a, b in zip(values, values[1:], strict=False)):
        if values[-1] - values[0] >= config.rising_min_delta:
            value += config.rising_boost
            reasons.append("rising")
    complaints = sum(1 for v in values if v >= config.repeat_floor)
    if values[-1] >= config.repeat_floor and complaints >= 2:
        value += config.repeat_boost * (complaints - 1)
        reasons.append("repeated_complaint")
    repeats = sum(1 for t in window[:-1] if _same_message(t, window[-1]))
    if repeats:
        value += config.repeat_text_boost * repeats
        reasons.append("repeated_message")
    return _result(value, reasons, any(r.legal for r in results), config)
