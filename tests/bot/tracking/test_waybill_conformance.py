"""Conformance with the public ``tracking_number_data`` courier specifications.

Every valid test number of the UPS, FedEx, DHL, USPS and S10 specifications must be
recognised for that courier, alone in a message and as one match; every invalid one
must not be offered for that courier. The specifications are read from the shared
data folder next to the project; without it this module is skipped (failed with CI=true).
"""

from __future__ import annotations

import json

import pytest

from bot.tracking.waybill import carriers_for, find_waybills, normalise
from bot.tracking.waybill_intl import S10_COUNTRIES
from tests.support.shared_data import SHARED_DATA, require

COURIERS = require(SHARED_DATA / "tracking_number_data" / "couriers", "carrier check-digit vectors", module=True)
CODES = {"ups": "UPS", "fedex": "FEDEX", "dhl": "DHL", "usps": "USPS", "s10": "S10"}


def _load(kind: str) -> list[pytest.param]:
    """One parameter per test number of the given kind ("valid" or "invalid")."""
    params = []
    for courier, code in CODES.items():
        spec = json.loads((COURIERS / f"{courier}.json").read_text(encoding="utf-8"))
        for layout in spec["tracking_numbers"]:
            layout_id = layout.get("id") or layout["name"]
            for number in layout["test_numbers"][kind]:
                params.append(pytest.param(code, number, id=f"{layout_id}:{number.strip()}"))
    return params


VALID = _load("valid")
INVALID = _load("invalid")


def test_every_courier_has_test_numbers():
    assert {param.values[0] for param in VALID} == set(CODES.values())
    assert {param.values[0] for param in INVALID} == set(CODES.values())


@pytest.mark.parametrize(("code", "number"), VALID)
def test_valid_number_is_recognised(code, number):
    assert code in carriers_for(normalise(number))
    found = find_waybills(number)
    assert len(found) == 1, found
    (match,) = found
    assert match.raw == number.strip()
    assert match.number == normalise(number)
    assert code in match.carriers


@pytest.mark.parametrize(("code", "number"), INVALID)
def test_invalid_number_is_not_offered_for_its_courier(code, number):
    assert code not in carriers_for(normalise(number))
    assert all(code not in match.carriers for match in find_waybills(number))


def test_s10_country_codes_of_the_specification_are_accepted():
    spec = json.loads((COURIERS / "s10.json").read_text(encoding="utf-8"))
    countries = {
        entry["matches"]
        for layout in spec["tracking_numbers"]
        for extra in layout.get("additional", [])
        if extra.get("regex_group_name") == "CountryCode"
        for entry in extra["lookup"]
    }
    assert countries, "no country list in s10.json"
    assert countries <= S10_COUNTRIES
