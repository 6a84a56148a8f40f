"""International tracking-number formats with check digits (UPS, FedEx, DHL, USPS, UPU S10).

The layouts and check-digit rules follow the public ``tracking_number_data`` courier
specifications. Their Ruby-style regexes allow whitespace between any two characters;
the patterns here work on normalised numbers (upper case, spaces and dashes removed),
so they are written without it. Each pattern is matched against the *whole* number, and
the check digit is computed from the same regex groups the specification names
(``SerialNumber`` and ``CheckDigit``), so ambiguous layouts are parsed the same way.

``bot.tracking.waybill`` is the public entry point; this module only holds the specifications.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from typing import Callable, Sequence

DIGITS = string.digits
"""Characters a digit position accepts."""

LETTERS = string.ascii_uppercase
"""Characters a letter position accepts (numbers are upper-cased first)."""

Validator = Callable[[re.Match[str]], bool]
"""Extra check run on a successful regex match (check digit, country code...)."""


@dataclass(frozen=True)
class NumberFormat:
    """One layout of one carrier's waybill numbers.

    Attributes:
        name: Short identifier of the layout, e.g. ``"fedex_12"``.
        carrier: Carrier code, a key of ``bot.tracking.waybill.CARRIERS``.
        pattern: Regex the whole normalised number must match.
        min_len: Shortest number the pattern accepts.
        max_len: Longest number the pattern accepts.
        first: Characters a matching number can start with (a quick pre-filter).
        fixes: Where a letter O/I/L typed for 0/1 may be corrected: ``(lead, tail)``
            pairs giving how many characters at each end are kept as typed; every
            character in between must be a digit. Empty when no position is a digit.
        validate: Check on the regex match (check digit, country code), or ``None``
            when the specification validates the layout only.
        loose: True when the layout is so broad (any 14 digits, a two-letter prefix
            plus anything) that it must not swallow neighbouring words.
    """

    name: str
    carrier: str
    pattern: re.Pattern[str]
    min_len: int
    max_len: int
    first: str
    fixes: tuple[tuple[int, int], ...] = ((0, 0),)
    validate: Validator | None = None
    loose: bool = False

    def accepts(self, number: str) -> bool:
        """Tell whether a normalised number has this layout (and valid check digits).

        Args:
            number: Upper-case number without spaces; no O/I correction is applied.

        Returns:
            True if the number matches the layout and passes its validation.
        """
        if not self.min_len <= len(number) <= self.max_len or number[0] not in self.first:
            return False
        match = self.pattern.fullmatch(number)
        return match is not None and (self.validate is None or self.validate(match))


# --- check-digit algorithms (CHECKSUM_ALGORITHMS.md) -------------------------------


def mod10(
    sequence: str,
    check_digit: str,
    *,
    evens_multiplier: int | None = None,
    odds_multiplier: int | None = None,
    reverse: bool = False,
) -> bool:
    """Weighted modulo-10 check used by UPS, FedEx Ground and USPS.

    Letters count as ``(ord(c) - 3) % 10``. Positions are counted from 0 (from the
    end when ``reverse``); odd positions are multiplied by ``odds_multiplier`` and
    even ones by ``evens_multiplier``.

    Args:
        sequence: Characters covered by the check digit.
        check_digit: The digit printed after them.
        evens_multiplier: Weight of even positions (1 when ``None``).
        odds_multiplier: Weight of odd positions (1 when ``None``).
        reverse: Count positions from the last character.

    Returns:
        True if ``check_digit`` is the expected one.
    """
    chars = sequence[::-1] if reverse else sequence
    total = 0
    for index, char in enumerate(chars):
        value = int(char) if char in DIGITS else (ord(char) - 3) % 10
        if odds_multiplier is not None and index % 2 == 1:
            value *= odds_multiplier
        elif evens_multiplier is not None and index % 2 == 0:
            value *= evens_multiplier
        total += value
    check = total % 10
    if check:
        check = 10 - check
    return str(check) == check_digit


def mod7(sequence: str, check_digit: str) -> bool:
    """Plain modulo-7 check of DHL Express air waybills.

    Args:
        sequence: Digits covered by the check digit.
        check_digit: The digit printed after them.

    Returns:
        True if ``int(sequence) % 7`` equals the check digit.
    """
    return str(int(sequence) % 7) == check_digit


S10_WEIGHTS = (8, 6, 4, 2, 3, 5, 9, 7)
"""UPU S10 weights of the eight serial digits."""


def s10_check(sequence: str, check_digit: str) -> bool:
    """UPU S10 modulo-11 check (weights 8, 6, 4, 2, 3, 5, 9, 7).

    Args:
        sequence: The eight serial digits.
        check_digit: The ninth digit.

    Returns:
        True if the check digit is right (remainder 1 gives 0, remainder 0 gives 5).
    """
    total = sum(int(char) * weight for char, weight in zip(sequence, S10_WEIGHTS, strict=False))
    remainder = total % 11
    check = 0 if remainder == 1 else 5 if remainder == 0 else 11 - remainder
    return str(check) == check_digit


def sum_product_mod(sequence: str, check_digit: str, weights: Sequence[int], modulo1: int, modulo2: int) -> bool:
    """Weighted sum reduced by two moduli, as FedEx Express uses (mod 11 then mod 10).

    Args:
        sequence: Digits covered by the check digit.
        check_digit: The digit printed after them.
        weights: Weight of each position from the left (extra digits are ignored).
        modulo1: First modulus.
        modulo2: Second modulus.

    Returns:
        True if ``sum(d * w) % modulo1 % modulo2`` equals the check digit.
    """
    total = sum(int(char) * weight for char, weight in zip(sequence, weights, strict=False))
    return str(total % modulo1 % modulo2) == check_digit


# --- validators built from the specification parameters ----------------------------


def _mod10_rule(evens: int, odds: int, *, reverse: bool = False, prepend_91: bool = False) -> Validator:
    """Build the validator of a mod-10 layout (``prepend_91``: USPS Legacy serial rule)."""

    def validate(match: re.Match[str]) -> bool:
        serial = match["serial"]
        if prepend_91 and not serial.startswith("91"):
            serial = "91" + serial
        return mod10(
            serial,
            match["check"],
            evens_multiplier=evens,
            odds_multiplier=odds,
            reverse=reverse,
        )

    return validate


def _weighted_rule(weights: Sequence[int]) -> Validator:
    """Build the validator of a FedEx Express sum-product layout (mod 11, then mod 10)."""

    def validate(match: re.Match[str]) -> bool:
        return sum_product_mod(match["serial"], match["check"], weights, 11, 10)

    return validate


def _mod7_rule(match: re.Match[str]) -> bool:
    """Check a DHL Express match (mod 7)."""
    return mod7(match["serial"], match["check"])


def _s10_rule(match: re.Match[str]) -> bool:
    """Check a UPU S10 match: check digit and a real issuing country."""
    return s10_check(match["serial"], match["check"]) and match["country"] in S10_COUNTRIES


_FEDEX_12_WEIGHTS = (3, 1, 7, 3, 1, 7, 3, 1, 7, 3, 1)
_FEDEX_13_WEIGHTS = (1, 7, 3, 1, 7, 3, 1, 7, 3, 1, 7, 3, 1)

ISO_3166_ALPHA2 = frozenset(
    """
    AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ
    BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ
    CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ
    DE DJ DK DM DO DZ
    EC EE EG EH ER ES ET
    FI FJ FK FM FO FR
    GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY
    HK HM HN HR HT HU
    ID IE IL IM IN IO IQ IR IS IT
    JE JM JO JP
    KE KG KH KI KM KN KP KR KW KY KZ
    LA LB LC LI LK LR LS LT LU LV LY
    MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ
    NA NC NE NF NG NI NL NO NP NR NU NZ
    OM
    PA PE PF PG PH PK PL PM PN PR PS PT PW PY
    QA
    RE RO RS RU RW
    SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ
    TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ
    UA UG UM US UY UZ
    VA VC VE VG VI VN VU
    WF WS
    YE YT
    ZA ZM ZW
    """.split()
)
"""Every officially assigned ISO 3166-1 alpha-2 country code (249 codes)."""

S10_COUNTRIES = ISO_3166_ALPHA2 | {"UK"}
"""Country codes accepted at the end of an S10 number (the UPU also issues UK for GB)."""


def make_format(
    name: str,
    carrier: str,
    pattern: str,
    lengths: tuple[int, int],
    first: str,
    *,
    fixes: tuple[tuple[int, int], ...] = ((0, 0),),
    validate: Validator | None = None,
    loose: bool = False,
) -> NumberFormat:
    """Build a :class:`NumberFormat` from a regex source (shorthand for format tables).

    Args:
        name: Short identifier of the layout.
        carrier: Carrier code.
        pattern: Regex source, matched against the whole normalised number.
        lengths: Shortest and longest length the pattern accepts.
        first: Characters a matching number can start with.
        fixes: See :attr:`NumberFormat.fixes`; by default every character is a digit.
        validate: Check on the regex match, or ``None`` for a layout-only format.
        loose: See :attr:`NumberFormat.loose`.

    Returns:
        The format.
    """
    return NumberFormat(name, carrier, re.compile(pattern), lengths[0], lengths[1], first, fixes, validate, loose)


_USPS_N = (
    # optional routing code: 420 + ZIP (22 or 26 digits follow), + ZIP+4 (22 digits follow)
    r"(?:420[0-9]{5}(?=[0-9]{22}(?![0-9])|[0-9]{26}(?![0-9]))(?:[0-9]{4}(?=[0-9]{22}(?![0-9])))?)?"
    # serial: 94 + service code + mailer id (9 digits starting with 9, else 6) + package id
    r"(?P<serial>94[0-9]{3}"
    r"(?=9[0-9]{8}(?:[0-9]{15}|[0-9]{11}|[0-9]{7})[0-9](?![0-9])"
    r"|[0-8][0-9]{5}(?:[0-9]{14}|[0-9]{10})[0-9](?![0-9]))"
    r"(?:9[0-9]{8}|[0-8][0-9]{5})"
    r"(?:[0-9]{15}|[0-9]{14}|[0-9]{11}|[0-9]{10}|[0-9]{7}))"
    r"(?P<check>[0-9])"
)
"""USPS IMpb constructs N01-N10."""

_USPS_C = (
    # optional routing code: 420 + ZIP, + ZIP+4 (22 digits follow)
    r"(?:420[0-9]{5}(?:[0-9]{4}(?=[0-9]{22}(?![0-9])))?)?"
    # serial: 92/93/95 + service code + mailer id (9 digits starting with 9, else 6) + package id
    r"(?P<serial>(?:92(?=[0-9]{3}9)|93(?=[0-9]{3}[0-8])|95)[0-9]{3}"
    r"(?=9[0-9]{8}(?:[0-9]{11}|[0-9]{7})[0-9](?![0-9])"
    r"|[0-8][0-9]{5}(?:[0-9]{14}|[0-9]{10})[0-9](?![0-9]))"
    r"(?:9[0-9]{8}|[0-8][0-9]{5})"
    r"(?:[0-9]{14}|[0-9]{11}|[0-9]{10}|[0-9]{7}))"
    r"(?P<check>[0-9])"
)
"""USPS IMpb constructs C01-C10 and retail."""

_DHL_ECOMMERCE_PREFIXES = "GM|LX|RX|UV|CN|SG|TH|IN|HK|MY"

# fmt: off
INTL_FORMATS: tuple[NumberFormat, ...] = (
    # UPS: "1Z" + 15 letters/digits + check digit; waybill: service letter + 9 digits + check digit.
    make_format(
        "ups", "UPS", r"1Z(?P<serial>[A-Z0-9]{15})(?P<check>[0-9])", (18, 18), "1",
        fixes=((17, 0),), validate=_mod10_rule(1, 2),
    ),
    make_format(
        "ups_waybill", "UPS", r"[AHJKTV](?P<serial>[0-9]{9})(?P<check>[0-9])", (11, 11), "AHJKTV",
        fixes=((1, 0),), validate=_mod10_rule(1, 2),
    ),
    # UPU S10: service letters + 8 digits + check digit + issuing country.
    make_format(
        "s10", "S10", r"[A-Z]{2}(?P<serial>[0-9]{8})(?P<check>[0-9])(?P<country>[A-Z]{2})", (13, 13),
        LETTERS, fixes=((2, 2),), validate=_s10_rule,
    ),
    # FedEx
    make_format(
        "fedex_12", "FEDEX", r"(?P<serial>[0-9]{11})(?P<check>[0-9])", (12, 12), DIGITS,
        validate=_weighted_rule(_FEDEX_12_WEIGHTS),
    ),
    make_format(
        "fedex_34", "FEDEX", r"[0-8][0-9]{14}[0-9]{5}(?P<serial>[0-9]{13})(?P<check>[0-9])", (34, 34),
        "012345678", validate=_weighted_rule(_FEDEX_13_WEIGHTS),
    ),
    make_format(
        "fedex_astra_32", "FEDEX", r"3[0-9]{15}(?P<serial>[0-9]{11})(?P<check>[0-9])[0-9]{4}", (32, 32),
        "3", validate=_weighted_rule(_FEDEX_12_WEIGHTS),
    ),
    make_format(
        "fedex_ground", "FEDEX", r"(?P<serial>[0-9]{14})(?P<check>[0-9])", (15, 15), DIGITS,
        validate=_mod10_rule(1, 3),
    ),
    make_format(
        "fedex_ground_sscc_18", "FEDEX", r"[0-9]{2}(?P<serial>[0-9]{15})(?P<check>[0-9])", (18, 18),
        DIGITS, validate=_mod10_rule(3, 1),
    ),
    make_format(
        "fedex_ground_96", "FEDEX", r"96[0-9]{5}(?P<serial>[0-9]{14})(?P<check>[0-9])", (22, 22), "9",
        validate=_mod10_rule(1, 3),
    ),
    make_format(
        "fedex_ground_gsn", "FEDEX", r"96[0-9]{18}(?P<serial>[0-9]{13})(?P<check>[0-9])", (34, 34), "9",
        validate=_weighted_rule(_FEDEX_13_WEIGHTS),
    ),
    # USPS
    make_format(
        "usps_20", "USPS", r"(?P<serial>[0-9]{19})(?P<check>[0-9])", (20, 20), DIGITS,
        validate=_mod10_rule(3, 1),
    ),
    make_format(
        "usps_impb_n", "USPS", _USPS_N, (22, 38), "49",
        validate=_mod10_rule(3, 1, reverse=True),
    ),
    make_format(
        "usps_legacy", "USPS",
        r"(?:420[0-9]{5}(?:[0-9]{4})?)?(?P<serial>(?:91)?[0-9]{19})(?P<check>[0-9])", (20, 34), DIGITS,
        validate=_mod10_rule(3, 1, prepend_91=True),
    ),
    make_format(
        "usps_impb_c", "USPS", _USPS_C, (22, 34), "49",
        validate=_mod10_rule(3, 1),
    ),
    # DHL: the Piece ID and both eCommerce layouts have no check digit.
    make_format(
        "dhl_express", "DHL", r"(?P<serial>[0-9]{9,10})(?P<check>[0-9])", (10, 11), DIGITS,
        validate=_mod7_rule,
    ),
    make_format(
        "dhl_express_piece_id", "DHL", r"J[A-Z]{2,3}[0-9]{9,10}", (12, 14), "J",
        fixes=((3, 0), (4, 0)),
    ),
    make_format(
        "dhl_ecommerce", "DHL", rf"(?:{_DHL_ECOMMERCE_PREFIXES})[0-9][0-9A-Z]{{9,38}}", (12, 41),
        "GLRUCSTIHM", fixes=(), loose=True,
    ),
    make_format(
        "dhl_ecommerce_14", "DHL", r"[0-9]{14}", (14, 14), DIGITS,
        loose=True,
    ),
)
"""International layouts, in the order their carriers are offered as candidates."""
# fmt: on
