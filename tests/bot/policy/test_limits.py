"""The limits file: every value checked at load, every name asked for must exist."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.common.ratelimit import Rate
from bot.policy.limits import DEFAULT_FILE, Limits, LimitsError


def test_the_shipped_file_loads_and_caps_the_server_body() -> None:
    limits = Limits.load(DEFAULT_FILE)
    assert 0 < limits.number("body_bytes.server") <= 32 * 1024 * 1024
    for name, rate in limits.rates.items():
        assert isinstance(rate, Rate) and rate.count >= 1, name


def test_unknown_names_raise_with_the_name() -> None:
    limits = Limits.from_mapping({"rates": {"a": {"count": 2, "seconds": 1}}})
    assert limits.rate("a") == Rate(2, 1.0)
    with pytest.raises(KeyError, match="rest_per_nothing"):
        limits.rate("rest_per_nothing")
    with pytest.raises(KeyError, match="handoff.nothing"):
        limits.number("handoff.nothing")


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"bodybytes": {"server": 1}}, "unknown section"),
        ({"body_bytes": {"server": 0}}, "body_bytes.server"),
        ({"body_bytes": {"server": "16M"}}, "body_bytes.server"),
        ({"handoff": {"max_waiting": True}}, "handoff.max_waiting"),
        ({"rates": {"x": {"count": 1}}}, "rates.x"),
        ({"rates": {"x": {"count": 1.5, "seconds": 3}}}, "whole number"),
        ({"rates": {"x": {"count": 3, "seconds": -1}}}, "rates.x.seconds"),
        ([1, 2], "mapping"),
    ],
)
def test_bad_values_stop_the_load(doc: object, message: str, tmp_path: Path) -> None:
    file = tmp_path / "limits.yml"
    file.write_text(yaml.safe_dump(doc), encoding="utf-8")
    with pytest.raises(LimitsError, match=message):
        Limits.load(file)


def test_missing_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(LimitsError, match="cannot read"):
        Limits.load(tmp_path / "none.yml")
