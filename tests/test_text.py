import pytest

from bot.text import MAX_MESSAGE_CHARS, detect_language, neutralise_command, prepare_customer_text


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("/restart", "／restart"),
        ("  /greet{\"x\":1}", "／greet{\"x\":1}"),
        ("查一下 /restart", "查一下 /restart"),
        ("SF1234567890123", "SF1234567890123"),
    ],
)
def test_neutralise_command(raw, expected):
    assert neutralise_command(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (None, ""),
        ("", ""),
        ("   \n\t ", ""),
        ("\x00\x07\u200b\u202e", ""),
        ("  你好  ", "你好"),
        ("a\x00b", "ab"),
        ("多   个\u3000空格", "多 个 空格"),
        ("/restart", "／restart"),
        ("\u200b/restart", "／restart"),
        ("👨‍👩‍👧 family", "👨‍👩‍👧 family"),
        ("<script>alert(1)</script>", "<script>alert(1)</script>"),
    ],
)
def test_prepare_customer_text(raw, expected):
    assert prepare_customer_text(raw) == expected


def test_long_text_is_cut():
    cleaned = prepare_customer_text("快" * 10_000)
    assert len(cleaned) == MAX_MESSAGE_CHARS


@pytest.mark.parametrize(
    ("text", "current", "expected"),
    [
        ("我的快递到哪了", None, "zh"),
        ("where is my parcel", None, "en"),
        ("where is SF1234567890123", "zh", "en"),
        ("帮我check一下物流", "en", "zh"),
        ("SF1234567890123", "en", "en"),
        ("SF1234567890123", "zh", "zh"),
        ("SF1234567890123", None, "zh"),
        ("sf16 4854 7086 646", "zh", "zh"),
        ("ＳＦ１６４８５４７０８６６４６", "zh", "zh"),
        ("👍👍", "en", "en"),
        ("1Z5R89390357567127 pls", None, "en"),
        ("", None, "zh"),
    ],
)
def test_detect_language(text, current, expected):
    assert detect_language(text, current) == expected
