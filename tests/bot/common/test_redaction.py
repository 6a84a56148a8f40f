"""Phone masking for summaries and tickets."""

from __future__ import annotations

import pytest

from bot.common.redaction import mask_phones


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("电话13812345678，尽快联系", "电话138****5678，尽快联系"),
        ("call 138 1234 5678 please", "call 138****5678 please"),
        ("138-1234-5678", "138****5678"),
        ("+86 13812345678", "138****5678"),
        ("008613812345678", "138****5678"),
        ("１３８１２３４５６７８", "138****5678"),
        ("两个 13812345678 和 15900001111", "两个 138****5678 和 159****1111"),
    ],
)
def test_mobiles_are_masked(text: str, masked: str) -> None:
    assert mask_phones(text) == masked


@pytest.mark.parametrize(
    "text",
    [
        "SF1381234567890",  # waybill
        "hotline 400-811-1111",  # hotline
        "座机 010-62345678",  # landline
        "金额 12345678901234 分",  # too long to be a mobile
        "12812345678",  # 12x is not a mobile prefix
        "",
    ],
)
def test_other_numbers_are_left_alone(text: str) -> None:
    assert mask_phones(text) == text
