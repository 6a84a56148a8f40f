"""Customer-facing text: one catalogue per language, looked up by key.

The catalogues are YAML files under ``bot/texts/<lang>/`` (``zh`` and ``en``), one file per
capability. A file's nested keys are flattened with dots and prefixed with the file's
name, so ``bot/texts/zh/claims.yml``::

    offer:
      fast_track: "您的理赔符合快速理赔条件：我们可以立即为您赔付 {amount} 元，无需等待审核。"

is the key ``claims.offer.fast_track``. Placeholders are ``str.format`` fields filled by
:func:`text`. Both languages must hold the same keys with the same placeholders; the test
``tests/bot/common/test_i18n.py`` checks that, and that every key the code names exists.

The rule for where a reply lives (also in the README): a fixed reply with no values from
the conversation is a Rasa response in ``domain/*.yml``; every text Python composes is a
key here.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

import yaml

from bot.settings import PROJECT_ROOT

_T = TypeVar("_T")

LANGUAGES = ("zh", "en")
"""The languages every key exists in; Chinese first (the default)."""

TEXTS_DIR = PROJECT_ROOT / "bot" / "texts"
"""Where the catalogues live: ``<lang>/<capability>.yml``."""


class CatalogueError(ValueError):
    """A catalogue file is unreadable or holds something other than text."""


def language(lang: str | None) -> str:
    """The catalogue language for a conversation's ``language`` slot: ``en`` or else ``zh``."""
    return "en" if lang == "en" else "zh"


def _flatten(prefix: str, node: Any, out: dict[str, str], source: Path) -> None:
    if isinstance(node, Mapping):
        for key, value in node.items():
            _flatten(f"{prefix}.{key}", value, out, source)
    elif isinstance(node, str):
        out[prefix] = node
    else:
        raise CatalogueError(f"{source}: {prefix} is {type(node).__name__}, not text")


def load_catalogue(folder: Path) -> dict[str, str]:
    """Every key of one language's folder, flattened (``<file stem>.<nested.keys>``)."""
    out: dict[str, str] = {}
    for path in sorted(folder.glob("*.yml")):
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise CatalogueError(f"cannot read {path}: {exc}") from exc
        _flatten(path.stem, data, out, path)
    return out


@cache
def catalogue(lang: str) -> Mapping[str, str]:
    """The catalogue of ``lang`` (``zh`` or ``en``), read once per process."""
    return load_catalogue(TEXTS_DIR / language(lang))


def placeholders(template: str) -> set[str]:
    """The ``str.format`` field names a template uses."""
    return {name.split(".")[0].split("[")[0] for _, name, _, _ in string.Formatter().parse(template) if name}


def text(key: str, lang: str | None, /, **values: Any) -> str:
    """The text of ``key`` in ``lang``, its placeholders filled from ``values``.

    Raises:
        KeyError: The key does not exist (a bug the catalogue test catches).
    """
    template = catalogue(language(lang))[key]
    return template.format(**values) if values else template


def pair(key: str, /, **values: Any) -> tuple[str, str]:
    """The ``(Chinese, English)`` texts of ``key`` (for places that keep both, e.g. buttons)."""
    return text(key, "zh", **values), text(key, "en", **values)


def in_language(pair: tuple[_T, _T], lang: str) -> _T:
    """Pick the text for ``lang`` from a ``(Chinese, English)`` pair."""
    return pair[1] if lang == "en" else pair[0]
