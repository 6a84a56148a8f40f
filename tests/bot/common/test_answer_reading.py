"""The building blocks of bot.common.answers: phrase tables and clauses."""

from __future__ import annotations

import re

from bot.common import answers
from bot.common.answers.reading import UNSURE, alternation, clauses, en_words, split_clauses, zh_words


def test_alternation_tries_longest_first_and_never_matches_when_empty() -> None:
    assert alternation(["不", "不错", "不"]) == "不错|不"
    assert re.search(alternation([]), "anything") is None


def test_zh_words_and_en_words() -> None:
    assert zh_words("留着 保存", "还在") == ("留着", "保存", "还在")
    (kept,) = en_words(["kept"])
    assert re.search(kept, "i kept it") and not re.search(kept, "unkempt kepts")


def test_clauses_leave_out_questions_back() -> None:
    norm = answers.normalise("好的，能加急吗？但是要加钱吗?")
    assert split_clauses(norm) == [("好的", False), ("能加急吗", True), ("要加钱吗", True)]
    assert clauses(norm, polar=True) == ["好的"]
    assert clauses(norm, polar=False) == ["好的", "能加急吗"]  # a polite request, unless it asks about cost


def test_unsure_words() -> None:
    assert UNSURE.search("我不知道") and UNSURE.search("dunno") and not UNSURE.search("知道了")


def test_the_package_exports_every_reader() -> None:
    assert set(answers.__all__) >= {"read_yes_no", "read_part", "read_delay_option", "read_amount", "read_extent"}
    assert all(hasattr(answers, name) for name in answers.__all__)
