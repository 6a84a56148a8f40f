"""Benchmark the anger model and the lexicon alone against a naive keyword baseline, in one run.

Classifiers: the trained anger model (``bot.handoff.anger_model``, the one inside the newest Rasa
model in ``models/``, or trained now from ``data/anger/train.tsv`` when there is none; its
time includes the lexicon it reads), the lexicon alone (``bot.handoff.anger``) and the baseline.
Data sets: the project's own labelled logistics messages (``bench/data/anger_logistics.tsv``,
never trained on by the model) and, when present, the SMP2020-EWECT Weibo dev split
(``../shared/data/smp2020-ewect/dev.tsv``, read in place, evaluation only; label 1 = angry
against every other label). Figures: precision, recall and F1 for "angry", and mean / p99
microseconds per message.

The baseline calls a message angry when it contains any of 投诉, 生气, 垃圾, ``angry``
or ``!!!`` (full-width ``！！！`` too).

Usage: python bench/anger_bench.py
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bot.handoff import anger_model  # noqa: E402
from bot.handoff.anger import score  # noqa: E402

LOGISTICS = ROOT / "bench" / "data" / "anger_logistics.tsv"
SMP2020_DEV = ROOT / ".." / "shared" / "data" / "smp2020-ewect" / "dev.tsv"
BASELINE_WORDS = ("投诉", "生气", "垃圾", "angry", "!!!", "！！！")
REPEATS = 5


def baseline(text: str) -> bool:
    """The naive reference: any baseline keyword present."""
    lowered = text.lower()
    return any(word in lowered for word in BASELINE_WORDS)


def ours(text: str) -> bool:
    """Our scorer with its default config."""
    return score(text).angry


def load_model() -> tuple[anger_model.AngerModel, str]:
    """The anger model of the newest Rasa model in ``models/``, else one trained now; and where it came from."""
    archive = anger_model.newest_archive(ROOT / "models")
    found = anger_model.from_archive(archive) if archive else None
    if found is not None:
        return found, f"models/{archive.name}"
    return anger_model.train_file(), "trained now from data/anger/train.tsv (no Rasa model with one in models/)"


@dataclass(frozen=True)
class Figures:
    """One classifier's figures on one data set."""

    precision: float
    recall: float
    f1: float
    mean_us: float
    p99_us: float


def measure(rows: Sequence[tuple[bool, str]], classify: Callable[[str], bool]) -> Figures:
    """Classify every row; quality from the first call, time per message the best of ``REPEATS`` calls.

    The best of several calls (as ``timeit`` advises) is the message's own cost without
    the noise of other processes on the machine; mean and p99 are then taken over messages.
    """
    timings: list[float] = []
    predictions: list[bool] = []
    for _, text in rows:
        best = float("inf")
        for attempt in range(REPEATS):
            start = time.perf_counter()
            predicted = classify(text)
            best = min(best, time.perf_counter() - start)
            if attempt == 0:
                predictions.append(predicted)
        timings.append(best)
    tp = sum(1 for (gold, _), p in zip(rows, predictions, strict=True) if gold and p)
    fp = sum(1 for (gold, _), p in zip(rows, predictions, strict=True) if not gold and p)
    fn = sum(1 for (gold, _), p in zip(rows, predictions, strict=True) if gold and not p)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    timings.sort()
    p99 = timings[min(len(timings) - 1, int(0.99 * len(timings)))]
    return Figures(precision, recall, f1, 1e6 * sum(timings) / len(timings), 1e6 * p99)


def _row(data: str, n: int, angry: int, who: str, f: Figures) -> str:
    return (
        f"| {data} | {n} ({angry} angry) | {who} | {f.precision:.3f} | {f.recall:.3f} | {f.f1:.3f} "
        f"| {f.mean_us:.1f} | {f.p99_us:.1f} |"
    )


def run() -> str:
    """Measure both classifiers on every available data set.

    Returns:
        A Markdown table (plus a line for each data set that was skipped).
    """
    score("預熱 warm-up")  # loads zhconv's dictionary outside the timings
    model, source = load_model()
    model.assess("預熱 warm-up")

    def model_angry(text: str) -> bool:
        return model.assess(text).angry

    lines = [
        "| data | messages | classifier | precision | recall | F1 | mean µs/msg | p99 µs/msg |",
        "|---|---|---|---|---|---|---|---|",
    ]
    notes = [f"anger model: {source}, threshold {model.threshold}."]
    datasets = [("logistics (own)", LOGISTICS), ("smp2020-ewect dev", SMP2020_DEV)]
    for name, path in datasets:
        if not path.is_file():
            notes.append(f"{name}: skipped, {path.resolve()} not found.")
            continue
        rows = anger_model.load_labelled(path)
        angry = sum(1 for gold, _ in rows if gold)
        for who, classify in (("anger model", model_angry), ("lexicon alone", ours), ("keyword baseline", baseline)):
            lines.append(_row(name, len(rows), angry, who, measure(rows, classify)))
    return "\n".join([*lines, "", *notes])


if __name__ == "__main__":
    print(run())
