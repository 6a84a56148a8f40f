"""The anger model's quality bars: P/R/F1 of "angry" on the held-out split and on SMP2020-EWECT dev.

Evaluates the anger model inside the newest Rasa model in ``models/`` (what ``rasa run``
loads; ``make model`` first), read straight from the archive without loading Rasa. With
``--train`` it instead trains the model from ``data/anger/train.tsv`` the way
``rasa train`` does.

Bars: F1 >= 0.85 on ``tests/anger/test.tsv`` (the project's own held-out split, never
trained on) and F1 >= 0.60 on ``../shared/data/smp2020-ewect/dev.tsv`` (label 1 = angry
against every other label), read in place and only when present (with ``CI=true`` a missing
file fails). Evaluation only: neither file is ever used to train or tune the model.

Usage: python scripts/check_anger.py [--model models/x.tar.gz | --train] [--held-out-only]
Exit status: 0 all bars met, 1 a bar missed, 2 no usable model or data.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import unicodedata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bot.handoff import anger_model  # noqa: E402
from bot.handoff.anger_model import AngerModel, Figures  # noqa: E402

HELD_OUT = ROOT / "tests" / "anger" / "test.tsv"
SKIP_REPORT = ROOT / "results" / "anger-skips.json"
SMP2020_DEV = ROOT.parent / "shared" / "data" / "smp2020-ewect" / "dev.tsv"
SMP2020_FLOOR = 0.60
"""The bar on SMP2020-EWECT dev (general Weibo posts, evaluation only, never tuned on)."""
BARS = {"held-out (tests/anger/test.tsv)": (HELD_OUT, 0.85), "smp2020-ewect dev": (SMP2020_DEV, SMP2020_FLOOR)}


def key(text: str) -> str:
    """A message without case, spaces or punctuation, to spot the same message in two files."""
    return re.sub(r"[\W_]+", "", unicodedata.normalize("NFKC", text).lower())


def evaluate(model: AngerModel, rows: list[tuple[bool, str]]) -> Figures:
    """Precision, recall and F1 of the model's "angry" on ``rows``."""
    return Figures.of([gold for gold, _ in rows], [model.assess(text).angry for _, text in rows])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--model", type=Path, help="a Rasa model archive (default: the newest in models/)")
    group.add_argument("--train", action="store_true", help="train from data/anger/train.tsv instead")
    parser.add_argument("--held-out-only", action="store_true", help="skip SMP2020 (while developing: no peeking)")
    args = parser.parse_args(argv)

    if args.train:
        model, source = anger_model.train_file(), f"trained now from {anger_model.TRAINING_DATA.relative_to(ROOT)}"
    else:
        archive = args.model or anger_model.newest_archive(ROOT / "models")
        if archive is None or not archive.is_file():
            print("check_anger: no Rasa model in models/ (run `make model`), or pass --train", file=sys.stderr)
            return 2
        found = anger_model.from_archive(archive)
        if found is None:
            print(f"check_anger: {archive} has no anger model (retrain with `make model`)", file=sys.stderr)
            return 2
        model, source = found, str(archive.relative_to(ROOT) if archive.is_relative_to(ROOT) else archive)
    print(f"anger model: {source}; threshold {model.threshold}, info {dict(model.info)}")
    current = anger_model.hashlib.sha256(anger_model.TRAINING_DATA.read_bytes()).hexdigest()
    if model.info.get("data_sha256") not in (None, current):
        print("  note: data/anger/train.tsv changed since this model was trained (run `make model`)")

    training = {key(text) for _, text in anger_model.load_rows(anger_model.TRAINING_DATA)}
    failed = False
    skipped: dict[str, int] = {}
    for name, (path, bar) in BARS.items():
        if args.held_out_only and path != HELD_OUT:
            continue
        if not path.is_file():
            ci = os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}
            reason = f"anger model on {name}: skipped, {os.path.relpath(path, ROOT)} not found"
            print(reason + (" (CI=true needs it)" if ci else ""))
            skipped[reason] = 1
            failed |= ci
            continue
        rows = anger_model.load_labelled(path)
        leaked = sum(1 for _, text in rows if key(text) in training)
        if path == HELD_OUT and leaked:
            print(f"{name}: {leaked} messages also in the training data; the split must stay held out")
            failed = True
        figures = evaluate(model, rows)
        verdict = "ok" if figures.f1 >= bar else "BELOW THE BAR"
        angry = sum(1 for gold, _ in rows if gold)
        print(f"{name}: {len(rows)} messages ({angry} angry): precision {figures.precision:.3f} "
              f"recall {figures.recall:.3f} F1 {figures.f1:.3f} (bar {bar:.2f}) {verdict}")  # fmt: skip
        failed |= figures.f1 < bar
    SKIP_REPORT.parent.mkdir(parents=True, exist_ok=True)
    SKIP_REPORT.write_text(json.dumps(skipped, ensure_ascii=False), encoding="utf-8")  # listed by make test
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
