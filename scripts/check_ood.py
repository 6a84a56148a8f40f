"""The out-of-domain bar: off-topic and vague messages must not get a logistics answer.

Runs the trained model's NLU (the newest archive in ``models/``, loaded in-process with
``rasa.core.agent.Agent``, the full pipeline including the FallbackClassifier) on the
held-out split ``tests/ood/*.txt`` (one message a line, ``#`` comments; ``zh.txt``,
``en.txt``: the file names the language) and prints, per language, the share of messages that

* go to a **core intent** (:data:`CORE_INTENTS`: a request the bot acts on), bar <= 3 %;
* get **any in-domain answer** (every intent except :data:`NEUTRAL_INTENTS`: the FAQ,
  affirm/deny, no_waybill, a delay choice … all count), bar <= 10 %.

``out_of_scope`` and ``nlu_fallback`` are the right answers; ``greet``, ``goodbye``,
``thank`` and ``bot_challenge`` are harmless (they say nothing about parcels), so they
count as neither. ``affirm`` and ``deny`` count as in-domain: inside a form or after an
offer they are taken as an answer.

Calibration (never on the held-out splits): ``--carve DIR`` writes a deterministic
80/20 split of ``data/nlu`` (every intent, both languages) to ``DIR/train`` and
``DIR/validation.yml``; train on ``DIR/train`` with ``rasa train nlu --nlu DIR/train
--out DIR/model``, then ``--sweep DIR/validation.yml --model DIR/model`` prints, for
each fallback threshold, how many validation messages of each kind are lost to the
fallback and how many out-of-domain validation messages still get an in-domain answer.

Usage:
    python scripts/check_ood.py [--model models/x.tar.gz] [--show N] [FILES...]
    python scripts/check_ood.py --carve /tmp/calib
    python scripts/check_ood.py --sweep /tmp/calib/validation.yml --model /tmp/calib/model
Exit status: 0 bars met, 1 a bar missed, 2 no model or no data.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import logging
import os
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from check_nlu import language, read_examples  # noqa: E402  (scripts/ is on the path: run as a script)

HELD_OUT = ROOT / "tests" / "ood"
CORE_INTENTS = frozenset(
    {"track_waybill", "complain_delay", "report_damage", "report_missing", "check_ticket", "request_human"}
)
NEUTRAL_INTENTS = frozenset({"out_of_scope", "nlu_fallback", "greet", "goodbye", "thank", "bot_challenge"})
CORE_BAR = 0.03
IN_DOMAIN_BAR = 0.10


def read_lines(path: Path) -> list[str]:
    """Messages of a held-out file: one a line, blank lines and ``#`` comments skipped."""
    lines = (line.strip() for line in path.read_text(encoding="utf-8").splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def intent_of(parse: dict[str, Any]) -> str:
    """The intent the pipeline gave a message (``nlu_fallback`` included)."""
    return str((parse.get("intent") or {}).get("name") or "nlu_fallback")


def ranked(parse: dict[str, Any]) -> list[tuple[str, float]]:
    """The classifier's ranking without the fallback's own entry, best first."""
    ranking = parse.get("intent_ranking") or []
    return [(str(r.get("name")), float(r.get("confidence") or 0.0)) for r in ranking if r.get("name") != "nlu_fallback"]


def falls_back(parse: dict[str, Any], threshold: float, ambiguity: float) -> bool:
    """Whether a FallbackClassifier with these settings would answer ``nlu_fallback``."""
    ranking = ranked(parse)
    if not ranking:
        return True
    top = ranking[0][1]
    second = ranking[1][1] if len(ranking) > 1 else 0.0
    return top < threshold or top - second < ambiguity


@dataclass
class Shares:
    """How one language's out-of-domain messages were answered."""

    total: int = 0
    core: int = 0
    in_domain: int = 0
    intents: Counter[str] = field(default_factory=Counter)
    misses: list[tuple[str, str, float]] = field(default_factory=list)

    def add(self, text: str, intent: str, confidence: float) -> None:
        """Counts one message."""
        self.total += 1
        self.intents[intent] += 1
        if intent in CORE_INTENTS:
            self.core += 1
        if intent not in NEUTRAL_INTENTS:
            self.in_domain += 1
            self.misses.append((intent, text, confidence))

    @property
    def core_share(self) -> float:
        """Share of messages that went to a core intent."""
        return self.core / self.total if self.total else 0.0

    @property
    def in_domain_share(self) -> float:
        """Share of messages that got any in-domain answer."""
        return self.in_domain / self.total if self.total else 0.0


def latest_model(path: Path) -> Path | None:
    """``path`` itself if it is an archive, else the newest ``*.tar.gz`` in it."""
    if path.is_file():
        return path
    archives = sorted(path.glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)
    return archives[-1] if archives else None


async def parse_all(model: Path, texts: Sequence[str]) -> list[dict[str, Any]]:
    """The NLU result of every text, from the model loaded once in this process."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    logging.getLogger("rasa").setLevel(logging.ERROR)
    from rasa.core.agent import Agent

    agent = Agent.load(str(model))
    return [await agent.parse_message(text) for text in texts]


def report(results: dict[str, Shares], show: int) -> bool:
    """Prints the shares per language; True when every bar is met."""
    ok = True
    for lang, shares in sorted(results.items()):
        passed = shares.core_share <= CORE_BAR and shares.in_domain_share <= IN_DOMAIN_BAR
        ok = ok and passed
        print(
            f"{lang}: {shares.total} messages, core intent {shares.core_share:.1%} (bar {CORE_BAR:.0%}), "
            f"any in-domain answer {shares.in_domain_share:.1%} (bar {IN_DOMAIN_BAR:.0%})"
            f"{'' if passed else '  FAILED'}"
        )
        print("    " + ", ".join(f"{name} {count}" for name, count in shares.intents.most_common()))
        for intent, text, confidence in sorted(shares.misses, key=lambda m: -m[2])[:show]:
            print(f"    {intent:<16} {confidence:.2f}  {text}")
    print("OOD bar: passed" if ok else "OOD bar: FAILED")
    return ok


def check(model: Path, files: Sequence[Path], show: int, in_domain: Path | None = None) -> int:
    """Runs the bar on the held-out files; with ``in_domain``, also tells how often in-domain messages fall back."""
    labelled = [(path.stem if path.stem in ("zh", "en") else language(text), text)
                for path in files for text in read_lines(path)]  # fmt: skip
    texts = [text for _, text in labelled]
    if not texts:
        print(f"error: no messages in {', '.join(map(str, files)) or HELD_OUT}")
        return 2
    inside = read_examples(sorted(in_domain.glob("*.yml"))) if in_domain else []
    inside = [(intent, text) for intent, text in inside if intent != "out_of_scope"]
    parses = asyncio.run(parse_all(model, texts + [text for _, text in inside]))
    parses, inside_parses = parses[: len(texts)], parses[len(texts) :]
    results: dict[str, Shares] = {}
    for (lang, text), parse in zip(labelled, parses, strict=True):
        confidence = float((parse.get("intent") or {}).get("confidence") or 0.0)
        results.setdefault(lang, Shares()).add(text, intent_of(parse), confidence)
    print(f"model {model.name}")
    if inside:  # information, not a bar: the cost of the fallback for customers who do want a parcel answer
        for lang in ("zh", "en"):
            rows = [intent_of(p) for (_, t), p in zip(inside, inside_parses, strict=True) if language(t) == lang]
            lost = sum(intent in ("nlu_fallback", "out_of_scope") for intent in rows)
            print(f"{lang}: in-domain held-out messages ({in_domain.name}/) answered as unclear or off-topic: "
                  f"{lost}/{len(rows)} ({lost / max(len(rows), 1):.1%})")  # fmt: skip
    return 0 if report(results, show) else 1


def carve(out: Path, share: float = 0.2) -> int:
    """Writes a deterministic train/validation split of ``data/nlu`` for calibration."""
    import yaml

    train: dict[str, list[str]] = {}
    validation: dict[str, list[str]] = {}
    for path in sorted((ROOT / "data" / "nlu").glob("*.yml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for block in data.get("nlu") or []:
            if "intent" not in block:
                continue
            for line in str(block.get("examples") or "").splitlines():
                line = line.strip()
                if not line.startswith("- "):
                    continue
                example = line[2:].strip()  # annotated: waybill entities stay in training
                digest = int(hashlib.sha256(f"{block['intent']}|{example}".encode()).hexdigest()[:8], 16)
                side = validation if digest / 0xFFFFFFFF < share else train
                side.setdefault(block["intent"], []).append(example)
    (out / "train").mkdir(parents=True, exist_ok=True)

    def dump(groups: dict[str, list[str]], path: Path) -> None:
        blocks = [{"intent": name, "examples": "".join(f"- {t}\n" for t in texts)} for name, texts in groups.items()]
        path.write_text(yaml.safe_dump({"version": "3.1", "nlu": blocks}, allow_unicode=True), encoding="utf-8")

    dump(train, out / "train" / "nlu.yml")
    dump(validation, out / "validation.yml")
    for path in sorted((ROOT / "data" / "nlu").glob("*.yml")):  # regexes and lookups stay in training
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        extra = [block for block in data.get("nlu") or [] if "intent" not in block]
        if extra:
            (out / "train" / f"extra_{path.name}").write_text(
                yaml.safe_dump({"version": "3.1", "nlu": extra}, allow_unicode=True), encoding="utf-8"
            )
    print(f"train {sum(map(len, train.values()))}, validation {sum(map(len, validation.values()))} -> {out}")
    return 0


def sweep(model: Path, validation: Path) -> int:
    """Prints what each fallback threshold costs in-domain and saves out of domain."""
    rows = read_examples([validation])
    parses = asyncio.run(parse_all(model, [text for _, text in rows]))
    print(f"model {model.name}, validation {validation} ({len(rows)} messages)")
    print("cost = wrong + lost / 2 + in-domain answer + core (shares): a fallback is half as bad as a wrong answer,")
    print("and an off-topic message sent into a core flow (a form, a ticket) counts twice")
    print("threshold ambiguity | in-domain: lost to fallback, wrong | out-of-domain: in-domain answer, core | cost")
    for threshold in (0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7):
        for ambiguity in (0.0, 0.05, 0.1):
            lost = wrong = ood = ood_in = ood_core = inside = 0
            for (intent, _), parse in zip(rows, parses, strict=True):
                base = intent.split("/")[0]
                fell = falls_back(parse, threshold, ambiguity)
                predicted = "nlu_fallback" if fell else (ranked(parse) or [("nlu_fallback", 0.0)])[0][0]
                if base == "out_of_scope":
                    ood += 1
                    ood_in += predicted not in NEUTRAL_INTENTS
                    ood_core += predicted in CORE_INTENTS
                else:
                    inside += 1
                    lost += fell
                    wrong += not fell and predicted != base
            shares = (lost / inside, wrong / inside, ood_in / max(ood, 1), ood_core / max(ood, 1))
            cost = shares[1] + shares[0] / 2 + shares[2] + shares[3]
            lost_, wrong_, answered, core = (f"{share:6.1%}" for share in shares)
            print(f"{threshold:9.2f} {ambiguity:9.2f} | {lost_} {wrong_} | {answered} {core} | {cost:.3f}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="*", type=Path, help="held-out files (default: tests/ood/*.txt)")
    parser.add_argument("--model", type=Path, default=ROOT / "models", help="archive or folder (newest archive)")
    parser.add_argument("--show", type=int, default=15, help="misses to print per language")
    parser.add_argument("--in-domain", type=Path, default=ROOT / "tests" / "nlu",
                        help="in-domain held-out split: how many of its messages fall back (no bar)")  # fmt: skip
    parser.add_argument("--carve", type=Path, help="write a calibration split of data/nlu to this folder")
    parser.add_argument("--sweep", type=Path, help="validation YAML from --carve: print a threshold table")
    args = parser.parse_args(argv)
    if args.carve:
        return carve(args.carve)
    model = latest_model(args.model)
    if model is None:
        print(f"error: no model in {args.model}: run `make model` first")
        return 2
    if args.sweep:
        return sweep(model, args.sweep)
    files = args.files or sorted(HELD_OUT.glob("*.txt"))
    return check(model, files, args.show, args.in_domain if args.in_domain and args.in_domain.is_dir() else None)


if __name__ == "__main__":
    sys.exit(main())
