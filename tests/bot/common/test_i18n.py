"""The text catalogues: both languages hold the same keys and placeholders, and every key
the code names exists."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.common import i18n
from tests.support import ROOT

CODE_DIRS = ("bot", "actions", "connectors", "components")
KEY_CALL = re.compile(r"""\b(?:i18n\.)?(?:text|pair)\(\s*["']([a-z_]+(?:\.[a-z0-9_]+)+)["']""")


def _catalogues() -> dict[str, dict[str, str]]:
    return {lang: i18n.load_catalogue(i18n.TEXTS_DIR / lang) for lang in i18n.LANGUAGES}


def test_both_languages_have_every_key() -> None:
    cats = _catalogues()
    zh, en = set(cats["zh"]), set(cats["en"])
    assert zh, "the Chinese catalogue is empty"
    assert zh - en == set(), "keys without English"
    assert en - zh == set(), "keys without Chinese"


def test_both_languages_use_the_same_placeholders() -> None:
    cats = _catalogues()
    wrong = {
        key: (i18n.placeholders(cats["zh"][key]), i18n.placeholders(cats["en"][key]))
        for key in cats["zh"]
        if key in cats["en"] and i18n.placeholders(cats["zh"][key]) != i18n.placeholders(cats["en"][key])
    }
    assert wrong == {}


def test_no_text_is_empty_and_chinese_is_chinese() -> None:
    cats = _catalogues()
    empty = [f"{lang}:{key}" for lang, cat in cats.items() for key, value in cat.items() if not value.strip()]
    assert empty == []
    han = re.compile(r"[\u4e00-\u9fff]")
    english_in_zh = [key for key, value in cats["zh"].items() if len(value) > 12 and not han.search(value)]
    assert english_in_zh == [], "a Chinese text with no Chinese in it"
    chinese_in_en = [key for key, value in cats["en"].items() if han.search(value)]
    assert chinese_in_en == [], "an English text with Chinese characters"


def test_every_key_named_in_the_code_exists() -> None:
    known = set(_catalogues()["zh"])
    named: dict[str, str] = {}
    for folder in CODE_DIRS:
        for path in (ROOT / folder).rglob("*.py"):
            for key in KEY_CALL.findall(path.read_text(encoding="utf-8")):
                named.setdefault(key, str(path.relative_to(ROOT)))
    missing = {key: where for key, where in named.items() if key not in known}
    assert missing == {}


def test_lookup_fills_placeholders_and_defaults_to_chinese(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for lang, body in {"zh": "greet:\n  hello: '你好，{name}'\n", "en": "greet:\n  hello: 'Hello, {name}'\n"}.items():
        (tmp_path / lang).mkdir()
        (tmp_path / lang / "demo.yml").write_text(body, encoding="utf-8")
    monkeypatch.setattr(i18n, "TEXTS_DIR", tmp_path)
    i18n.catalogue.cache_clear()
    try:
        assert i18n.text("demo.greet.hello", "en", name="Li") == "Hello, Li"
        assert i18n.text("demo.greet.hello", "zh", name="李") == "你好，李"
        assert i18n.text("demo.greet.hello", None, name="李") == "你好，李"
        assert i18n.text("demo.greet.hello", "fr", name="李") == "你好，李"
        assert i18n.pair("demo.greet.hello", name="A") == ("你好，A", "Hello, A")
        with pytest.raises(KeyError):
            i18n.text("demo.greet.bye", "zh")
    finally:
        i18n.catalogue.cache_clear()


def test_a_catalogue_holding_something_other_than_text_is_refused(tmp_path: Path) -> None:
    (tmp_path / "bad.yml").write_text("offer:\n  amount: 5\n", encoding="utf-8")
    with pytest.raises(i18n.CatalogueError, match="bad.offer.amount"):
        i18n.load_catalogue(tmp_path)
