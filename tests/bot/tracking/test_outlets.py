"""Outlet directory: loading and fuzzy place search."""

from __future__ import annotations

import pytest

from bot.tracking.outlets import Outlet, OutletDirectory, normalise_place
from tests.support import ROOT


@pytest.fixture(scope="module")
def directory() -> OutletDirectory:
    return OutletDirectory.from_yaml(ROOT / "fixtures" / "outlets.yml")


def test_directory_is_large_enough(directory):
    outlets = directory.outlets
    assert len(outlets) >= 30
    assert len({o.id for o in outlets}) == len(outlets)
    assert len({o.city for o in outlets}) >= 6
    assert len({(o.city, o.district) for o in outlets}) >= 15
    for outlet in outlets:
        assert outlet.city_en and outlet.district_en and outlet.phone and outlet.hours


@pytest.mark.parametrize(
    ("query", "city", "district"),
    [
        # Chinese
        ("浦东", "上海", "浦东新区"),
        ("浦东新区", "上海", "浦东新区"),
        ("上海浦东新区", "上海", "浦东新区"),
        ("上海市浦东新区有网点吗", "上海", "浦东新区"),
        ("浦东附近的网点在哪", "上海", "浦东新区"),
        ("北京朝阳区", "北京", "朝阳区"),
        ("广州天河区", "广州", "天河区"),
        ("深圳南山", "深圳", "南山区"),
        ("杭州西湖区", "杭州", "西湖区"),
        ("成都武侯区", "成都", "武侯区"),
        ("海淀", "北京", "海淀区"),
        ("陆家嘴", "上海", "浦东新区"),
        # Traditional characters
        ("浦東", "上海", "浦东新区"),
        ("浦東新區", "上海", "浦东新区"),
        ("朝陽區", "北京", "朝阳区"),
        ("廣州天河", "广州", "天河区"),
        ("南山區", "深圳", "南山区"),
        # English / pinyin, any case, full-width
        ("pudong", "上海", "浦东新区"),
        ("Shanghai Pudong", "上海", "浦东新区"),
        ("PUDONG", "上海", "浦东新区"),
        ("ｐｕｄｏｎｇ", "上海", "浦东新区"),
        ("Beijing Chaoyang", "北京", "朝阳区"),
        ("Is there an outlet in Nanshan?", "深圳", "南山区"),
        ("where is the nearest outlet in haidian", "北京", "海淀区"),
        ("Guangzhou Tianhe District", "广州", "天河区"),
        ("Chengdu Wuhou", "成都", "武侯区"),
        ("Jing'an", "上海", "静安区"),
        ("lujiazui", "上海", "浦东新区"),
        # Typos
        ("朝杨区", "北京", "朝阳区"),
        ("海定区", "北京", "海淀区"),
        ("pudnog", "上海", "浦东新区"),
        ("Shanghai Pudnog", "上海", "浦东新区"),
        ("chaoyan", "北京", "朝阳区"),
    ],
)
def test_district_queries(directory, query, city, district):
    found = directory.find(query)
    assert found, query
    assert all(o.city == city and o.district == district for o in found), [o.id for o in found]


@pytest.mark.parametrize(
    ("query", "city"),
    [
        ("上海", "上海"),
        ("上海市", "上海"),
        ("北京", "北京"),
        ("Beijing", "北京"),
        ("shenzhen", "深圳"),
        ("hangzou", "杭州"),
        ("Nanjing", "南京"),
        ("南京", "南京"),
        ("Xi'an", "西安"),
    ],
)
def test_city_queries(directory, query, city):
    found = directory.find(query)
    assert found
    assert all(o.city == city for o in found)


def test_typo_picks_the_closer_district(directory):
    # 朝杨区 shares two characters with both 朝阳区 and 杨浦区, but only one
    # substitution separates it from 朝阳区.
    assert directory.find("朝杨区")[0].district == "朝阳区"
    assert directory.find("杨浦")[0].district == "杨浦区"


def test_a_named_district_beats_the_rest_of_its_city(directory):
    found = directory.find("上海浦东", limit=10)
    assert found and {o.district for o in found} == {"浦东新区"}


def test_alias_names_a_single_outlet(directory):
    assert [o.id for o in directory.find("张江")] == ["sh-pd-02"]


@pytest.mark.parametrize(
    "query",
    ["火星", "纽约", "Paris", "New York", "hello", "xyz", "区", "the", "", "   ", "123456", "!!!", "我要寄快递"],
)
def test_no_match(directory, query):
    assert directory.find(query) == []


def test_limit(directory):
    assert len(directory.find("上海")) == 3
    assert len(directory.find("上海", limit=5)) == 5
    assert directory.find("上海", limit=0) == []


def test_describe(directory):
    outlet = directory.find("陆家嘴")[0]
    zh, en = outlet.describe("zh"), outlet.describe("en")
    assert outlet.name in zh and outlet.address in zh and outlet.phone in zh and outlet.hours in zh
    assert "Pudong" in en and "Shanghai" in en and outlet.phone in en


def test_normalise_place():
    assert normalise_place(" 浦東 新區 ") == "浦东新区"
    assert normalise_place("Ｐｕｄｏｎｇ") == "pudong"


def test_bad_outlet_file(tmp_path):
    path = tmp_path / "outlets.yml"
    path.write_text("outlets:\n  - id: x\n    name: 网点\n    city: 上海\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"outlets\[0\].*district"):
        OutletDirectory.from_yaml(path)
    path.write_text("nothing: here\n", encoding="utf-8")
    with pytest.raises(ValueError, match="outlets:"):
        OutletDirectory.from_yaml(path)
    with pytest.raises(ValueError, match="cannot read"):
        OutletDirectory.from_yaml(tmp_path / "missing.yml")


def test_directory_from_objects():
    outlet = Outlet("a", "测试点", "苏州", "姑苏区", "观前街1号", "09:00-18:00", "0512-1", "Suzhou", "Gusu")
    directory = OutletDirectory([outlet])
    assert directory.find("姑苏") == [outlet]
    assert directory.find("suzhou") == [outlet]
