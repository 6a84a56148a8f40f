from __future__ import annotations

from decimal import Decimal

import pytest

from bot.common.money import parse_amount, parse_share


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("两千块", "2000"),
        ("两千五", "2500"),
        ("一万二", "12000"),
        ("2,000元", "2000"),
        ("2，000元", "2000"),
        ("¥2000", "2000"),
        ("￥1999.5", "1999.50"),
        ("2k", "2000"),
        ("2K", "2000"),
        ("5w", "50000"),
        ("1.5万", "15000"),
        ("2千5", "2500"),
        ("三百八十元", "380"),
        ("一千零五", "1005"),
        ("一百零五块", "105"),
        ("两万五千", "25000"),
        ("十五", "15"),
        ("三块五", "3.50"),
        ("RMB 300", "300"),
        ("RMB300", "300"),
        ("rmb300", "300"),
        ("300 yuan", "300"),
        ("300yuan", "300"),
        ("３００元", "300"),
        ("１９９９．５", "1999.50"),
        ("价值 1,234.56 元", "1234.56"),
        ("东西大概两千块钱吧", "2000"),
        ("花了2000多", "2000"),
        ("0元", "0"),
        # approximate words give the amount named; a spoken range its lower end
        ("两千出头", "2000"),
        ("一千五左右", "1500"),
        ("大概三百来块", "300"),
        ("about 1,200 yuan", "1200"),
        ("not more than 500", "500"),
        ("around 2k", "2000"),
        ("2000ish", "2000"),
        ("2000 or so", "2000"),
        ("一两千", "1000"),
        ("五六百", "500"),
        ("两三百块", "200"),
        ("一千二三", "1200"),
        ("两千三四百", "2300"),
        ("万把块", "10000"),
        ("千把块钱", "1000"),
        ("百来块", "100"),
        # English number words with a scale or a money word
        ("two thousand", "2000"),
        ("two thousand five hundred", "2500"),
        ("fifteen hundred", "1500"),
        ("twenty-five hundred", "2500"),
        ("a thousand", "1000"),
        ("a grand", "1000"),
        ("one hundred and fifty yuan", "150"),
        ("twenty yuan", "20"),
        ("2 grand", "2000"),
        ("3 thousand", "3000"),
        ("1.5 thousand", "1500"),
        # a count or a time before the amount is skipped
        ("about 2 weeks ago, 500 yuan", "500"),
        ("3 pieces, 300 bucks", "300"),
    ],
)
def test_parse_amount(text: str, expected: str) -> None:
    assert parse_amount(text) == Decimal(expected)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "hello",
        "five",
        "帮我查一下",
        "一下",
        "万一坏了怎么办",
        "十分生气",
        "坏了3个",
        "等了5天了",
        "坏了10%",
        "SF1234567890123",
        "13812345678",
        "重2kg",
        "two weeks",
        "a couple hundred",
        "a few thousand",
        "hundred",
        "2 pm",
        "几百块",
    ],
)
def test_parse_amount_none(text: str) -> None:
    assert parse_amount(text) is None


def test_parse_amount_takes_first_amount_and_rounds_to_cents() -> None:
    assert parse_amount("先付了300元，后来又补了200") == Decimal("300")
    assert parse_amount("¥10.005") == Decimal("10.01")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("5%", "0.05"),
        ("５％", "0.05"),
        ("大概坏了 5 %", "0.05"),
        ("10 percent", "0.1"),
        ("百分之十", "0.1"),
        ("百分之五十", "0.5"),
        ("三分之一", "0.3333"),
        ("一半", "0.5"),
        ("坏了一大半", "0.5"),
        ("三成", "0.3"),
        ("3成", "0.3"),
        ("两成半", "0.25"),
        ("全部坏了", "1"),
        ("0.2", "0.2"),
        ("20", "0.2"),
        ("1", "1"),
        ("0", "0"),
        ("七八成", "0.7"),
        ("两三成", "0.2"),
        ("百分之二三十", "0.2"),
        ("about 30", "0.3"),
        ("30 or so", "0.3"),
        ("around 40%", "0.4"),
        ("about half", "0.5"),
        ("a third", "0.3333"),
        ("two thirds", "0.6667"),
        ("three quarters", "0.75"),
        ("total loss", "1"),
    ],
)
def test_parse_share(text: str, expected: str) -> None:
    assert parse_share(text) == Decimal(expected)


@pytest.mark.parametrize("text", ["", "abc", "坏了", "150", "150%", "七九成", "SF123456789012"])
def test_parse_share_none(text: str) -> None:
    assert parse_share(text) is None
