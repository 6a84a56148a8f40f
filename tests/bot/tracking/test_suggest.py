"""Suggesting one of the customer's own numbers for a mistyped one."""

from __future__ import annotations

import pytest

from bot.tracking.suggest import carrier_prefix, suggest_own_number

OWN = [
    "SF1234567890123",
    "JDVA12345678901",
    "YT7123456789012",
    "78353670650988",
    "318413921254562",
    "9812345678901",
    "EA123456785CN",
]


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        # one wrong digit
        ("SF1234567890124", "SF1234567890123"),
        ("JDVA12345678902", "JDVA12345678901"),
        ("78353670650989", "78353670650988"),
        ("318413921254563", "318413921254562"),
        ("9812345678911", "9812345678901"),
        ("EA123456786CN", "EA123456785CN"),
        # one digit missing or extra
        ("SF123456789012", "SF1234567890123"),
        ("SF12345678901234", "SF1234567890123"),
        ("7835367065098", "78353670650988"),
        # two neighbouring digits swapped (distance 2)
        ("SF1234567809123", "SF1234567890123"),
        # how people type it
        ("sf 1234 5678 9012 4", "SF1234567890123"),
        ("yt7123-456-789-013", "YT7123456789012"),
        # exact match
        ("SF1234567890123", "SF1234567890123"),
        # too different
        ("SF1234567800000", None),
        ("SF9999999999999", None),
        ("SF9876543210123", None),
        # same digits, other carrier prefix
        ("JT1234567890123", None),
        ("88353670650988", None),
        ("418413921254562", None),
        # too short to judge, or nothing typed
        ("SF123", None),
        ("", None),
    ],
)
def test_suggestions(typed, expected):
    assert suggest_own_number(typed, OWN) == expected


def test_only_the_numbers_passed_in_are_considered():
    assert suggest_own_number("SF1234567890124", []) is None
    assert suggest_own_number("SF1234567890124", ["JDVA12345678901"]) is None


def test_ambiguous_typo_is_not_guessed():
    own = ["SF1234567890120", "SF1234567890122"]
    assert suggest_own_number("SF1234567890121", own) is None


def test_the_closest_number_wins():
    own = ["SF1234567890100", "SF1234567890123"]
    assert suggest_own_number("SF1234567890124", own) == "SF1234567890123"


def test_returns_the_number_as_passed_in():
    assert suggest_own_number("SF1234567890124", ["sf 1234567890123"]) == "sf 1234567890123"


@pytest.mark.parametrize(
    ("number", "prefix"),
    [("SF1234567890123", "SF"), ("DPK361234567890", "DPK"), ("78353670650988", "7"), ("EA123456785CN", "EA"), ("", "")],
)
def test_carrier_prefix(number, prefix):
    assert carrier_prefix(number) == prefix
