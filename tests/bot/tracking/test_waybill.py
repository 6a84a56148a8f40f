"""Waybill-number recognition: formats, normalisation, spans in free text, robustness.

Every number below was made up for these tests; the check digits of the
international ones were computed by hand-written code from the published rules.
"""

from __future__ import annotations

import dataclasses
import random
import time

import pytest

from bot.tracking.waybill import CARRIERS, WaybillMatch, carriers_for, find_waybills, is_waybill, normalise
from bot.tracking.waybill_intl import ISO_3166_ALPHA2, mod7, mod10, s10_check, sum_product_mod

# --- carrier table ---------------------------------------------------------------------


def test_carrier_codes():
    assert set(CARRIERS) == {
        "SF",
        "JD",
        "YTO",
        "ZTO",
        "STO",
        "YUNDA",
        "EMS",
        "JT",
        "DEPPON",
        "CAINIAO",
        "YUNEXPRESS",
        "S10",
        "UPS",
        "FEDEX",
        "DHL",
        "USPS",
    }


@pytest.mark.parametrize("code", sorted(CARRIERS))
def test_carrier_names_in_both_languages(code):
    chinese, english = CARRIERS[code]
    assert any(ord(char) > 0x2E80 for char in chinese), chinese
    assert english.isascii() and english.strip() == english and english


# --- every layout, exact candidates -----------------------------------------------------

VALID = [
    # Chinese carriers (no check digits)
    ("SF123456789012", ("SF",)),
    ("SF1234567890123", ("SF",)),
    ("JDVA12345678901", ("JD",)),
    ("JDX075324381761", ("JD",)),
    ("YT1234567890123", ("YTO",)),
    ("YT1234567890123456", ("YUNEXPRESS",)),
    ("JT1234567890123", ("JT",)),
    ("DPK123456789012", ("DEPPON",)),
    ("PA12345678901", ("EMS",)),
    ("9123456789012", ("EMS",)),
    ("1123456789012", ("EMS",)),
    ("8123456789012", ("EMS",)),
    ("5123456789012", ("YUNDA",)),
    ("312345678901234", ("YUNDA",)),
    ("621123456789012", ("CAINIAO",)),
    ("7712345678901234", ("STO",)),
    ("77123456789012345", ("STO",)),
    # UPS: 1Z and waybill layouts (mod 10, odd positions x2, letters as (ord - 3) % 10)
    ("1ZA1B2C30123456787", ("UPS",)),
    ("1ZH7K2M945TQ3E1W86", ("UPS",)),
    ("T6204817354", ("UPS",)),
    ("A9876543215", ("UPS",)),
    # UPU S10 (mod 11, weights 8 6 4 2 3 5 9 7, real country code)
    ("EA202411083CN", ("S10",)),
    ("RR111111115DE", ("S10",)),
    ("CP555123453UK", ("S10",)),
    # FedEx
    ("392876451020", ("FEDEX",)),  # Express 12
    ("604128735906", ("FEDEX",)),  # Express 12
    ("1234567890123459410573518290461821", ("FEDEX",)),  # Express 34
    ("31234567890123456473829105680042", ("FEDEX",)),  # ASTRA 32
    ("204819375620416", ("FEDEX",)),  # Ground 15
    ("000123456789012343", ("FEDEX",)),  # Ground SSCC-18
    ("9622001712345671234568", ("FEDEX",)),  # Ground 96 (22)
    ("9622001561234567890081245670932144", ("FEDEX",)),  # Ground GSN (34)
    # DHL
    ("2847501930", ("DHL",)),  # Express 10, mod 7
    ("58201649376", ("DHL",)),  # Express 11, mod 7
    ("JJD0012345678", ("DHL",)),  # Express piece ID
    ("JVGL0123456789", ("DHL",)),  # Express piece ID
    ("GM2024110812345678", ("DHL",)),  # eCommerce prefix
    ("HK9A8B7C6D5E4F", ("DHL",)),  # eCommerce prefix, letters after the first digit
    # USPS
    ("20192837461728394567", ("USPS",)),  # USPS 20
    ("9400111998765432109872", ("USPS",)),  # IMpb N, 6-digit mailer id
    ("94055118987654321098765432", ("USPS",)),  # IMpb N, 26 digits
    ("420100019400111998765432109872", ("USPS",)),  # IMpb N with 420 + ZIP routing code
    ("9101234567890123456781", ("USPS",)),  # Legacy with 91
    ("03123456789012345674", ("USPS",)),  # Legacy without 91: checked as 91 + serial
    ("9261290098765432101238", ("USPS",)),  # IMpb C, 92 + 9-digit mailer id
    ("9505512345678901234568", ("USPS",)),  # IMpb C, 95 + 6-digit mailer id
]


@pytest.mark.parametrize(("number", "expected"), VALID)
def test_carriers_for_valid_numbers(number, expected):
    assert carriers_for(number) == expected


@pytest.mark.parametrize(("number", "expected"), VALID)
def test_valid_number_alone_is_found_and_is_a_waybill(number, expected):
    assert find_waybills(number) == [WaybillMatch(number, 0, len(number), number, expected)]
    assert is_waybill(number)


OVERLAPS = [
    ("431234567890123", ("STO", "YUNDA")),  # 15 digits starting 43
    ("43123456789012", ("STO", "DHL")),  # 14 digits: also DHL eCommerce 14
    ("77123456789012", ("STO", "DHL")),
    ("73123456789012", ("ZTO", "DHL")),
    ("78123456789012", ("ZTO", "DHL")),
    ("312345678901207", ("YUNDA", "FEDEX")),  # Yunda layout with a valid FedEx Ground check digit
    ("LX123456785CN", ("S10", "DHL")),  # S10 that also fits the DHL eCommerce prefix layout
]


@pytest.mark.parametrize(("number", "expected"), OVERLAPS)
def test_overlapping_layouts_return_every_candidate_chinese_first(number, expected):
    assert carriers_for(number) == expected
    assert find_waybills(f"单号{number}")[0].carriers == expected


INVALID = [
    "",
    "SF12345678901",  # SF with 11 digits
    "SF12345678901234",  # SF with 14 digits
    "YT12345678901234",  # YT with 14 digits
    "JD12345678901",  # JD needs 2 letters/digits + 11 digits
    "2123456789012",  # 13 digits starting with 2
    "123456789",  # too short
    "1ZA1B2C30123456788",  # UPS, wrong check digit
    "T6204817355",  # UPS waybill, wrong check digit
    "B6204817354",  # UPS waybill, unknown service letter
    "EA202411084CN",  # S10, wrong check digit
    "EA202411083XX",  # S10, no such country
    "EA202411083QQ",  # S10, no such country
    "392876451021",  # FedEx 12, wrong check digit
    "204819375620417",  # FedEx Ground, wrong check digit
    "2847501931",  # DHL Express, wrong check digit
    "XJD0012345678",  # piece ID must start with J
    "GMA024110812345678",  # DHL eCommerce needs a digit after the prefix
    "20192837461728394568",  # USPS 20, wrong check digit
    "9400111998765432109873",  # IMpb N, wrong check digit
    "9261290098765432101239",  # IMpb C, wrong check digit
    "13812345678",  # mobile phone number
    "4008111111",  # 400 service hotline (else a DHL Express number with a valid check digit)
    "8613812345678",  # mobile phone number with country code (else a 13-digit EMS layout)
    "008613812345678",  # mobile phone number with 0086
    "sf1234567890123",  # not normalised: carriers_for is a pure check
    "SF 1234567890123",  # not normalised
    "SF12345678901O3",  # O typed for 0 is only corrected by find_waybills
    "ＳＦ１２３４５６７８９０１２３",  # full-width: not normalised
]


@pytest.mark.parametrize("number", INVALID)
def test_carriers_for_rejects(number):
    assert carriers_for(number) == ()


def test_every_iso_country_is_accepted_by_s10():
    assert len(ISO_3166_ALPHA2) == 249
    for country in sorted(ISO_3166_ALPHA2 | {"UK"}):
        assert carriers_for(f"RR111111115{country}") == ("S10",), country


# --- check-digit algorithms ------------------------------------------------------------


def test_mod10_counts_letters_and_weights_positions():
    # 1Z serial "A1B2C3" + "01" + "2345678": A->2, B->3, C->4; odd positions doubled.
    assert mod10("A1B2C3012345678", "7", evens_multiplier=1, odds_multiplier=2)
    assert not mod10("A1B2C3012345678", "8", evens_multiplier=1, odds_multiplier=2)
    # reverse=True weighs from the right: last digit x3
    assert mod10("12", "3", evens_multiplier=3, odds_multiplier=1, reverse=True)  # 2*3 + 1 = 7 -> 3
    assert mod10("12", "5", evens_multiplier=3, odds_multiplier=1)  # 1*3 + 2 = 5 -> 5
    assert mod10("55", "0", evens_multiplier=1, odds_multiplier=1)  # total 10 -> 0


def test_mod7_s10_and_sum_product():
    assert mod7("284750193", "0") and not mod7("284750193", "1")
    assert s10_check("12345678", "5")  # UPU's own example RB 12345678 5 GB
    assert s10_check("11111111", "5")  # sum 44: remainder 0 gives 5
    assert s10_check("00000010", "0") is False and s10_check("00000010", "2")  # 9 -> 11 - 9
    assert sum_product_mod("39287645102", "0", (3, 1, 7) * 3 + (3, 1), 11, 10)


# --- normalisation ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("SF1234567890123", "SF1234567890123"),
        ("sf1234567890123", "SF1234567890123"),
        ("ＳＦ１２３４５６７８９０１２３", "SF1234567890123"),
        ("ｓｆ１２３４", "SF1234"),
        ("SF 1234 5678 9012 3", "SF1234567890123"),
        ("SF-1234-5678-9012-3", "SF1234567890123"),
        ("SF_1234_5678", "SF12345678"),
        ("SF－1234　5678", "SF12345678"),  # full-width dash and ideographic space
        ("  sf\t1234\u20135678  ", "SF12345678"),  # tab and en dash
        ("SF12345678901O3", "SF12345678901O3"),  # O is not corrected here
        ("7312l4", "7312L4"),
        ("", ""),
    ],
)
def test_normalise(raw, expected):
    assert normalise(raw) == expected
    assert normalise(normalise(raw)) == normalise(raw)


# --- finding numbers in messages -------------------------------------------------------

SINGLE = [
    # (message, raw, number, carriers)
    ("单号 SF 1234 5678 9012 3 谢谢 2 件", "SF 1234 5678 9012 3", "SF1234567890123", ("SF",)),
    ("帮我查下SF1234567890123好吗", "SF1234567890123", "SF1234567890123", ("SF",)),
    ("单号sf1234567890123", "sf1234567890123", "SF1234567890123", ("SF",)),
    ("ＳＦ１２３４５６７８９０１２３查一下", "ＳＦ１２３４５６７８９０１２３", "SF1234567890123", ("SF",)),
    ("SF-1234-5678-9012-3到哪了", "SF-1234-5678-9012-3", "SF1234567890123", ("SF",)),
    ("SF 1234-5678-9012 3", "SF 1234-5678-9012 3", "SF1234567890123", ("SF",)),
    ("单号：SF－1234－5678－9012－3。", "SF－1234－5678－9012－3", "SF1234567890123", ("SF",)),
    ("查询 7312　3456　7890　12 谢谢", "7312　3456　7890　12", "73123456789012", ("ZTO", "DHL")),
    ("where is yt1234567890123 now", "yt1234567890123", "YT1234567890123", ("YTO",)),
    ("track JT 1234567890123 pls", "JT 1234567890123", "JT1234567890123", ("JT",)),
    ("德邦DPK123456789012", "DPK123456789012", "DPK123456789012", ("DEPPON",)),
    ("tracking: 1Z A1B 2C3 01 2345 678 7", "1Z A1B 2C3 01 2345 678 7", "1ZA1B2C30123456787", ("UPS",)),
    ("ups单号1za1b2c30123456787", "1za1b2c30123456787", "1ZA1B2C30123456787", ("UPS",)),
    ("UPS: T 620 481 735 4", "T 620 481 735 4", "T6204817354", ("UPS",)),
    ("国际件 EA 202 411 083 CN 到了吗", "EA 202 411 083 CN", "EA202411083CN", ("S10",)),
    ("FedEx 3928 7645 1020 thanks", "3928 7645 1020", "392876451020", ("FEDEX",)),
    ("USPS 9400 1119 9876 5432 1098 72", "9400 1119 9876 5432 1098 72", "9400111998765432109872", ("USPS",)),
    ("DHL: 2847501930", "2847501930", "2847501930", ("DHL",)),
    ("(DHL) GM 2024 1108 1234 5678", "GM 2024 1108 1234 5678", "GM2024110812345678", ("DHL",)),
]


@pytest.mark.parametrize(("text", "raw", "number", "carriers"), SINGLE)
def test_find_one_number_in_a_message(text, raw, number, carriers):
    start = text.index(raw)
    assert find_waybills(text) == [WaybillMatch(raw, start, start + len(raw), number, carriers)]


MISTYPED = [
    # (typed, corrected number, carriers): O for 0, I or l for 1 where a digit must be
    ("SF12345678901O3", "SF1234567890103", ("SF",)),
    ("sf l234567890123", "SF1234567890123", ("SF",)),
    ("73I2345678901 2", "73123456789012", ("ZTO", "DHL")),
    ("JDVC783150814O6", "JDVC78315081406", ("JD",)),
    ("YT12345678901O3", "YT1234567890103", ("YTO",)),
    ("l123456789012", "1123456789012", ("EMS",)),
    ("PA1234567890l", "PA12345678901", ("EMS",)),
    ("EA2O2411O83CN", "EA202411083CN", ("S10",)),
    ("1ZA1B2C3011000005I", "1ZA1B2C30110000051", ("UPS",)),
    ("ＳＦ１２３４５６７８９０１Ｏ３", "SF1234567890103", ("SF",)),
]


@pytest.mark.parametrize(("typed", "number", "carriers"), MISTYPED)
def test_letters_typed_for_digits_are_corrected(typed, number, carriers):
    text = f"帮我查{typed}，谢谢"
    assert find_waybills(text) == [WaybillMatch(typed, 3, 3 + len(typed), number, carriers)]
    assert carriers_for(number) == carriers
    assert is_waybill(typed)


@pytest.mark.parametrize(
    ("typed", "number"),
    [
        ("JDOI12345678901", "JDOI12345678901"),  # JD's two free characters stay letters
        ("OI202411083CN", "OI202411083CN"),  # S10 service letters stay letters
        ("LO202411083IL", "LO202411083IL"),  # ... and so does the country code
    ],
)
def test_letters_where_the_layout_allows_letters_are_kept(typed, number):
    (match,) = find_waybills(typed)
    assert match.number == number


@pytest.mark.parametrize(
    "text",
    [
        "SFOOOOOOOOOOOOO",  # too many letters to be a typo
        "IOIOIOIOIOIOI",
        "hello world lol",
        "OIL OIL OIL OIL",
    ],
)
def test_words_are_not_corrected_into_numbers(text):
    assert find_waybills(text) == []


def test_several_numbers_in_one_message_with_exact_spans():
    text = "帮我查SF1234567890123和73123456789012，还有 YT 1234 5678 9012 3、EA202411083CN 谢谢"
    found = find_waybills(text)
    assert [(m.raw, m.number, m.carriers) for m in found] == [
        ("SF1234567890123", "SF1234567890123", ("SF",)),
        ("73123456789012", "73123456789012", ("ZTO", "DHL")),
        ("YT 1234 5678 9012 3", "YT1234567890123", ("YTO",)),
        ("EA202411083CN", "EA202411083CN", ("S10",)),
    ]
    assert [m.start for m in found] == [3, 19, 37, 57]
    for match in found:
        assert text[match.start : match.end] == match.raw


def test_numbers_separated_only_by_a_space_are_two_numbers():
    text = "SF1234567890123 JT1234567890123 9123456789012"
    assert [(m.raw, m.start, m.end) for m in find_waybills(text)] == [
        ("SF1234567890123", 0, 15),
        ("JT1234567890123", 16, 31),
        ("9123456789012", 32, 45),
    ]


def test_same_number_twice_is_reported_once():
    text = "SF1234567890123 发错了，是 sf 1234 5678 9012 3 和 SF-1234-5678-9012-4"
    found = find_waybills(text)
    assert [(m.raw, m.number) for m in found] == [
        ("SF1234567890123", "SF1234567890123"),
        ("SF-1234-5678-9012-4", "SF1234567890124"),
    ]


def test_longest_group_wins_and_stray_groups_stay_out():
    # 13 digits would be EMS, but the customer typed 14: the whole group is one ZTO number.
    assert [m.raw for m in find_waybills("7312 3456 7890 12")] == ["7312 3456 7890 12"]
    # a trailing quantity that makes no valid number is left out
    assert [m.raw for m in find_waybills("SF1234567890123 2")] == ["SF1234567890123"]


def test_no_number_is_taken_from_inside_a_longer_digit_run():
    run = "12345678901234567891"  # 20 digits, no valid layout; contains 13-digit "EMS" substrings
    assert carriers_for(run) == ()
    assert find_waybills(run) == []
    assert find_waybills(f"订单{run}") == []
    assert find_waybills("单号SF1234567890123456") == []  # no SF number inside a too-long SF run


def test_letters_glued_to_a_number_are_not_swallowed_or_split_off():
    assert find_waybills("check一下SF1234567890123吧")[0].raw == "SF1234567890123"
    assert find_waybills("订单号ABC1234567890123") == []  # an order id, not EMS 1234567890123


def test_words_next_to_a_number_do_not_join_it():
    assert [m.raw for m in find_waybills("my 1234567890123 thanks")] == ["1234567890123"]
    assert [m.raw for m in find_waybills("is it in SF1234567890123 ?")] == ["SF1234567890123"]
    assert [m.raw for m in find_waybills("GM2024110812345678 thanks")] == ["GM2024110812345678"]
    assert find_waybills("in 3 days please check") == []
    assert find_waybills("my 2 kids are here at 1234") == []


def test_line_breaks_and_wide_gaps_end_a_number():
    assert [m.raw for m in find_waybills("SF\n1234567890123")] == ["1234567890123"]
    assert [m.raw for m in find_waybills("SF    1234567890123")] == ["1234567890123"]
    assert [m.raw for m in find_waybills("SF 1234567890123")] == ["SF 1234567890123"]


@pytest.mark.parametrize(
    "text",
    [
        "13812345678",
        "电话13812345678",
        "我的手机 138 1234 5678",
        "138-1234-5678",
        "+86 138 1234 5678",
        "0086-13812345678",
        "my 13812345678",
        "13812345678 2件",
        "电话 138 1234 5678 3点前送到",
        "2 13812345678",
    ],
)
def test_mobile_numbers_are_never_waybills(text):
    assert find_waybills(text) == []
    assert not is_waybill(text)


OTHER_NUMBERS = [
    # (message, the waybill numbers a person sees in it)
    ("客服电话400-811-1111一直打不通", []),  # service hotlines, however typed
    ("call 400 811 1111", []),
    ("热线4008111111", []),
    ("800-820-8820", []),
    # landlines typed with their area code (else 11 or 12 digits: DHL Express, FedEx by chance)
    ("座机021-62345678", []),
    ("tel 0755 8600 1234", []),
    ("010-6234-5678", []),
    ("收件电话 0571-88123456 单号 78353670650988", ["78353670650988"]),
    # digits joined by dashes belong together: no number is cut out of an order number
    ("amazon order 112-1234567-1234567", []),  # 1234567-1234567 is 14 digits (DHL eCommerce)
    ("112-7654321-7654321", []),
    ("拼多多订单 241123-056789012345678", []),
    ("2026-11-23-78892822123917", []),  # a date glued to a number with a dash stays one thing
    ("JDVB01046394058-1-1-", ["JDVB01046394058"]),  # ... except a parcel counter of one or two digits
    ("3-78353670650988", ["78353670650988"]),
    # the assistant's own ticket numbers
    ("工单TK-20261124-0310进度", []),  # 20261124-0310 has a valid FedEx check digit
    ("tk-20261124-0310 78353670650988", ["78353670650988"]),
    # a Chinese carrier's number typed whole is not glued to stray digits around it
    ("77999759850677 2件", ["77999759850677"]),  # 15 digits: a valid FedEx Ground number
    ("43123456789012 2件", ["43123456789012"]),  # 15 digits from 43: STO or Yunda
    ("2 9804176705477", ["9804176705477"]),  # 14 digits: DHL eCommerce
    ("2026-11-23 78892822123917", ["78892822123917"]),
    ("postcode 518000 78353670650988", ["78353670650988"]),
    ("7366 7827 7117 53", ["7366 7827 7117 53"]),  # typed in groups: still one number
    # digits typed straight before a Chinese date or counter word belong to it
    ("SF127327544379211月18日发货", ["SF1273275443792"]),
    ("SF12345678901232件", ["SF1234567890123"]),
    ("YT87534967407402026年寄的", ["YT8753496740740"]),  # not YunExpress YT + 16 digits
    ("JDVB0104639405811月", ["JDVB01046394058"]),
    ("SF1648547086646号那单", ["SF1648547086646"]),  # nothing to leave off
    ("EA030383286CN11月", ["EA030383286CN"]),
]


@pytest.mark.parametrize(("text", "expected"), OTHER_NUMBERS)
def test_other_numbers_next_to_waybills(text, expected):
    found = find_waybills(text)
    assert [m.raw for m in found] == expected
    for match in found:
        assert text[match.start : match.end] == match.raw


def test_phone_and_waybill_in_one_message():
    text = "收件人电话13812345678，单号SF1234567890123"
    assert [m.raw for m in find_waybills(text)] == ["SF1234567890123"]


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "\x00\x01\x1f\x7f",
        "😀🚚📦" * 200,
        "<script>alert(1)</script>",
        "1234 5678",
        "2024-01-15 12:30",
        "订单号20240115",
        "\ud800\udfff",  # lone surrogates
        "SF" * 500,
        "1" * 10000,
        "你好，快递到哪了？",
    ],
)
def test_junk_finds_nothing_and_never_raises(text):
    assert find_waybills(text) == []
    assert is_waybill(text) is False
    assert isinstance(normalise(text), str)


def test_non_string_input_is_tolerated():
    assert find_waybills(None) == []  # type: ignore[arg-type]
    assert is_waybill(12345678901234) is False  # type: ignore[arg-type]
    assert carriers_for(None) == ()  # type: ignore[arg-type]
    assert normalise(None) == ""  # type: ignore[arg-type]


def test_html_around_a_number():
    text = '<a href="/track?no=SF1234567890123">SF1234567890123</a>'
    (match,) = find_waybills(text)
    assert (match.raw, match.start) == ("SF1234567890123", 19)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("SF1234567890123", True),
        ("  sf 1234 5678 9012 3 \n", True),
        ("ＳＦ１２３４５６７８９０１２３", True),
        ("SF12345678901O3", True),
        ("RR111111115DE", True),
        ("SF1234567890123 谢谢", False),
        ("查SF1234567890123", False),
        ("SF1234567890123。", False),
        ("SF1234567890123 JT1234567890123", False),
        ("SF1234567890123 SF1234567890123", False),
        ("13812345678", False),
        ("123456789", False),
        ("", False),
    ],
)
def test_is_waybill(text, expected):
    assert is_waybill(text) is expected


def test_match_is_immutable():
    (match,) = find_waybills("SF1234567890123")
    with pytest.raises(dataclasses.FrozenInstanceError):
        match.number = "X"  # type: ignore[misc]


# --- speed (a sanity check, not a benchmark) --------------------------------------------


def _random_text(seed: int, alphabet: str, size: int = 10_000) -> str:
    rng = random.Random(seed)
    return "".join(rng.choice(alphabet) for _ in range(size))


@pytest.mark.parametrize(
    "text",
    [
        _random_text(1, "abcdefXYZOIl0123456789  -_，。你好单号😀🚚<>&\n"),
        _random_text(2, "0123456789 "),
        _random_text(3, "0123456789OIl "),
        " ".join(_random_text(4, "0123456789", 5_000)),
        "GM 1 " * 2_000,
        "O " * 5_000,
    ],
    ids=["mixed", "digits-and-spaces", "digits-and-typos", "spaced-digits", "prefix-words", "letters"],
)
def test_long_message_is_fast(text):
    assert len(text) >= 9_999
    started = time.perf_counter()
    found = find_waybills(text)
    assert time.perf_counter() - started < 1.0
    for match in found:
        assert text[match.start : match.end] == match.raw
        assert match.carriers
