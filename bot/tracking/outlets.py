"""Service points (网点): load them from YAML and find them by place name.

Queries may be Chinese (``浦东``, ``上海浦东新区``), traditional Chinese
(``浦東``), English or pinyin (``pudong``, ``Shanghai Pudong``), and may hold
small typos (``朝杨区``, ``pudnog``). Matching is fuzzy over each outlet's
city, district and aliases in both languages: rapidfuzz ``process.extract``
with ``partial_ratio`` finds candidates, an edit-distance window score (OSA:
Levenshtein plus adjacent transpositions) ranks them, and an outlet matching
both city and district ranks first.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

import yaml
from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA

from bot.common.i18n import text

SCORE_CUTOFF = 65.0
"""Minimum similarity (0-100) for a Chinese place name to count as a match."""

LATIN_SCORE_CUTOFF = 75.0
"""Minimum similarity for an English / pinyin name (letters are cheaper to hit)."""

_RELATIVE_MARGIN = 20.0
"""Candidates scoring this much below the best one are dropped."""

# A small traditional → simplified table covering place names and the words
# people type around them; NFKC handles full-width letters and digits.
_TRADITIONAL = str.maketrans(
    "東區門陽廣華濱灣寶龍漢豐莊閔長橋連陳雙羅鄉開關黃臺麗蘇楊劉鎮縣園場廈澤瀋"
    "紅綠濟鄭貴陝雲遼寧賓嶺興義為點網營業務處號館環車機鐵體匯靜閘蓮鳳錦鹽滬慶"
    "灘沖島蕭餘盧鍾濰溫臨壽歷錫揚戶廳裡邊麼裏這個國際滙蘭韓歐頭鷺鐘竇葉蔣蕪會",
    "东区门阳广华滨湾宝龙汉丰庄闵长桥连陈双罗乡开关黄台丽苏杨刘镇县园场厦泽沈"
    "红绿济郑贵陕云辽宁宾岭兴义为点网营业务处号馆环车机铁体汇静闸莲凤锦盐沪庆"
    "滩冲岛萧余卢钟潍温临寿历锡扬户厅里边么里这个国际汇兰韩欧头鹭钟窦叶蒋芜会",
)
# Words that name no place, dropped from queries ("浦东附近的网点" → "浦东").
_CJK_NOISE = re.compile(
    r"附近|哪里|哪儿|在哪|有没有|有吗|的|网点|营业部|营业厅|门店|快递点|服务点|驿站|"
    r"地址|电话|请问|查询|一下|最近|我|想|找|去|吗|呢"
)
_EN_STOPWORDS = frozenset(
    "a an any are area at branch city closest district do find for have in is me my "
    "near nearby nearest new of office outlet outlets please point points service "
    "store stores the there to what where which you your".split()
)
_WORDS = re.compile(r"[\W_]+", re.UNICODE)
_APOSTROPHES = re.compile(r"['\u2019\u2018`]")
_PUNCT = re.compile(r"[\s\W_]+", re.UNICODE)
_DISTRICT_SUFFIX = re.compile(r"(新区|区|县|市)$")
_CITY_SUFFIX = re.compile(r"市$")


@dataclass(frozen=True)
class Outlet:
    """One service point.

    Attributes:
        id: Stable identifier, e.g. ``"sh-pd-01"``.
        name: Chinese name, e.g. ``"浦东陆家嘴营业部"``.
        city: City in Chinese, e.g. ``"上海"``.
        district: District in Chinese, e.g. ``"浦东新区"``.
        address: Street address in Chinese.
        hours: Opening hours, e.g. ``"08:30-20:00"``.
        phone: Public landline, e.g. ``"021-5888 1234"``.
        city_en: City in English / pinyin, e.g. ``"Shanghai"``.
        district_en: District in English / pinyin, e.g. ``"Pudong"``.
        aliases: Neighbourhood names that also find it (``陆家嘴``, ``Lujiazui``).
    """

    id: str
    name: str
    city: str
    district: str
    address: str
    hours: str
    phone: str
    city_en: str
    district_en: str
    aliases: tuple[str, ...] = ()

    def describe(self, lang: str = "zh") -> str:
        """Return one line with name, address, hours and phone.

        Args:
            lang: ``"en"`` for English, anything else for Chinese.

        Returns:
            E.g. ``"浦东陆家嘴营业部：上海浦东新区银城中路168号，营业时间 08:30-20:00，电话 021-58881236"``.
        """
        place = f"{self.district_en}, {self.city_en}" if lang == "en" else self.city
        values = {"name": self.name, "place": place, "address": self.address, "hours": self.hours, "phone": self.phone}
        return text("tracking.outlets.line", lang, **values)


def _fold(text: str) -> str:
    folded = unicodedata.normalize("NFKC", text).translate(_TRADITIONAL).lower()
    return _APOSTROPHES.sub("", folded)


def normalise_place(text: str) -> str:
    """Fold a place query for matching.

    NFKC, traditional → simplified for common place characters, lower case,
    punctuation and whitespace removed.

    Args:
        text: What the customer typed.

    Returns:
        The folded text (may be empty).
    """
    return _PUNCT.sub("", _fold(text))


def _clean_query(text: str) -> str:
    words = _WORDS.split(_CJK_NOISE.sub(" ", _fold(text)))
    return " ".join(w for w in words if w and w not in _EN_STOPWORDS)


def _similarity(key: str, text: str) -> float:
    """Score (0-100) how closely the query holds a place key, by OSA edit distance.

    A query longer than the key is searched for its best window of the key's
    length (``上海浦东`` contains ``浦东``); a shorter one is compared whole, so
    ``北京`` is a weak match for ``北京路``. Substitutions count once, which
    makes ``朝杨区`` close to ``朝阳区`` but not to ``杨浦区``.
    """
    width = len(key)
    if len(text) <= width:
        return 100.0 * OSA.normalized_similarity(key, text)
    return 100.0 * max(OSA.normalized_similarity(key, text[i : i + width]) for i in range(len(text) - width + 1))


def _variants(*names: str, suffix: re.Pattern[str]) -> set[str]:
    out: set[str] = set()
    for name in names:
        folded = normalise_place(name)
        if not folded:
            continue
        out.add(folded)
        short = suffix.sub("", folded)
        if len(short) >= 2:
            out.add(short)
    return out


class OutletDirectory:
    """Searchable list of service points.

    Args:
        outlets: The outlets, in display order.
    """

    def __init__(self, outlets: Sequence[Outlet]) -> None:
        self.outlets: tuple[Outlet, ...] = tuple(outlets)
        self._keys: list[str] = []
        self._owners: list[tuple[int, str]] = []  # (outlet index, "district"|"city")
        for index, outlet in enumerate(self.outlets):
            district = _variants(outlet.district, outlet.district_en, *outlet.aliases, suffix=_DISTRICT_SUFFIX)
            city = _variants(outlet.city, outlet.city_en, suffix=_CITY_SUFFIX)
            for kind, keys in (("district", district), ("city", city - district)):
                for key in sorted(keys):
                    self._keys.append(key)
                    self._owners.append((index, kind))

    @classmethod
    def from_yaml(cls, path: str | Path) -> OutletDirectory:
        """Load outlets from a YAML file with a top-level ``outlets:`` list.

        Args:
            path: The YAML file (see ``fixtures/outlets.yml``).

        Returns:
            The directory.

        Raises:
            ValueError: The file is unreadable or an outlet is malformed
                (the message names the index and the field).
        """
        path = Path(path)
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
            raise ValueError(f"{path}: cannot read outlets ({exc.__class__.__name__})") from None
        if not isinstance(data, Mapping) or not isinstance(data.get("outlets"), list):
            raise ValueError(f"{path}: expected a top-level 'outlets:' list")
        return cls([_outlet(raw, f"{path}: outlets[{i}]") for i, raw in enumerate(data["outlets"])])

    def find(self, query: str, limit: int = 3) -> list[Outlet]:
        """Outlets in the place named by ``query``, best first.

        An outlet scores its best district (or alias) match plus its best city
        match; outlets far below the best score are dropped, so a district
        named in the query beats the rest of its city.

        Args:
            query: A place name or a short sentence holding one.
            limit: At most this many outlets.

        Returns:
            Up to ``limit`` outlets; ``[]`` when no place name reaches
            :data:`SCORE_CUTOFF` (:data:`LATIN_SCORE_CUTOFF` for Latin names).
        """
        text = _clean_query(query).replace(" ", "")
        if limit <= 0 or len(text) < (3 if text.isascii() else 2):
            return []
        # partial_ratio (Indel) is a cheap, generous first pass; the edit
        # window score then ranks typos by substituted or swapped characters.
        hits = process.extract(text, self._keys, scorer=fuzz.partial_ratio, limit=None, score_cutoff=SCORE_CUTOFF)
        district: dict[int, float] = {}
        city: dict[int, float] = {}
        for key, _, position in hits:
            score = _similarity(key, text)
            if score < (LATIN_SCORE_CUTOFF if key.isascii() else SCORE_CUTOFF):
                continue
            score += 0.1 * min(len(key), 20)  # tie-break: longer keys are more specific
            index, kind = self._owners[position]
            table = district if kind == "district" else city
            table[index] = max(table.get(index, 0.0), score)
        # City and district scores add up: "上海浦东" ranks Pudong above Xuhui.
        scores = {i: district.get(i, 0.0) + city.get(i, 0.0) for i in {*district, *city}}
        if not scores:
            return []
        best = max(scores.values())
        kept = [i for i in scores if scores[i] >= best - _RELATIVE_MARGIN]
        ranked = sorted(kept, key=lambda i: (-scores[i], i))
        return [self.outlets[i] for i in ranked[:limit]]


def _outlet(raw: Any, where: str) -> Outlet:
    if not isinstance(raw, Mapping):
        raise ValueError(f"{where}: expected a mapping of fields")
    fields = ("id", "name", "city", "district", "address", "hours", "phone", "city_en", "district_en")
    values: dict[str, str] = {}
    for name in fields:
        value = raw.get(name)
        if not isinstance(value, (str, int)) or not str(value).strip():
            raise ValueError(f"{where}: field {name!r} is missing or empty")
        values[name] = str(value).strip()
    aliases = raw.get("aliases") or []
    if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
        raise ValueError(f"{where}: field 'aliases' must be a list of names")
    return Outlet(**values, aliases=tuple(aliases))
