"""The policy's parts on their own: the loader functions behind Policy.load, money rounding."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from bot.policy.loader import load_policy, policy_from_mapping
from bot.policy.model import DEFAULT_POLICY_PATH, Policy
from bot.policy.offers import money


def test_load_policy_is_policy_load() -> None:
    assert load_policy() == Policy.load() == load_policy(DEFAULT_POLICY_PATH)


def test_policy_from_mapping_names_the_section_it_refuses() -> None:
    data = yaml.safe_load(DEFAULT_POLICY_PATH.read_text(encoding="utf-8"))
    assert policy_from_mapping(data) == Policy.from_mapping(data)
    del data["delay"]["coupon_min_yuan"]
    with pytest.raises(ValueError, match=r"^delay\.coupon_min_yuan: missing$"):
        policy_from_mapping(data)


def test_load_policy_refuses_bad_yaml(tmp_path: Path) -> None:
    path = tmp_path / "policy.yml"
    path.write_text("tickets: [", encoding="utf-8")
    with pytest.raises(ValueError, match="not valid YAML"):
        load_policy(path)


@pytest.mark.parametrize(("value", "expected"), [(0, "0.00"), ("1.005", "1.01"), (Decimal("2.344"), "2.34")])
def test_money_rounds_half_up_to_cents(value: Decimal | int | str, expected: str) -> None:
    assert money(value) == Decimal(expected) and str(money(value)) == expected
