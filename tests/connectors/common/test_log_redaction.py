"""connectors.common.log_redaction: the one filter that keeps secrets out of every channel's logs."""

from __future__ import annotations

import logging
import sys

import pytest

from connectors.common.log_redaction import REDACTED, REDACTOR, SecretRedactor, protect_secrets

SECRET = "tok-0123456789abcdef"


def record(msg: str, *args: object, name: str = "app", exc: bool = False) -> logging.LogRecord:
    exc_info = None
    if exc:
        try:
            raise RuntimeError(f"failed with {SECRET}")
        except RuntimeError:
            exc_info = sys.exc_info()
    return logging.LogRecord(name, logging.INFO, __file__, 1, msg, args, exc_info)


def test_registered_secrets_are_replaced_longest_first_and_short_strings_ignored() -> None:
    redactor = SecretRedactor()
    redactor.add(SECRET)
    redactor.add(SECRET[:12])  # a prefix of the longer one: the longer one is matched first
    redactor.add("short")  # under 8 characters: would blank out ordinary words
    assert redactor.redact(f"GET /bot{SECRET}/getMe short") == f"GET /bot{REDACTED}/getMe short"
    assert redactor.redact(f"part {SECRET[:12]}") == f"part {REDACTED}"


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            "HTTP Request: GET https://api.weixin.qq.com/cgi-bin/token?grant_type=client_credential&appid=wx1&secret=s3cr3t",
            f"HTTP Request: GET https://api.weixin.qq.com/cgi-bin/token?grant_type=client_credential&appid=wx1&secret={REDACTED}",
        ),
        (
            'POST /cgi-bin/message/custom/send?access_token=ACCESS.TOKEN-1 "HTTP/1.1 200 OK"',
            f'POST /cgi-bin/message/custom/send?access_token={REDACTED} "HTTP/1.1 200 OK"',
        ),
        ("no secrets here: token and secret as words", "no secrets here: token and secret as words"),
    ],
)
def test_secret_url_parameters_are_replaced_without_registering_them(line: str, expected: str) -> None:
    assert SecretRedactor().redact(line) == expected


def test_filter_redacts_message_arguments_and_traceback_and_keeps_the_record() -> None:
    redactor = SecretRedactor()
    redactor.add(SECRET)
    item = record("calling %s with %s", "getMe", SECRET, exc=True)
    assert redactor.filter(item) is True
    assert item.getMessage() == f"calling getMe with {REDACTED}" and item.args is None
    assert item.exc_text is not None and SECRET not in item.exc_text and REDACTED in item.exc_text
    clean = record("nothing %s", "secret-free")
    assert redactor.filter(clean) is True and clean.args == ("secret-free",)  # left lazy when nothing matched
    broken = record("%d", "not a number")
    assert redactor.filter(broken) is True  # a broken format string is the handler's to report


def test_http_library_records_are_frozen_when_created() -> None:
    redactor = SecretRedactor()
    redactor.add(SECRET)
    result = {"file_path": "photos/1.jpg"}
    item = record("result %s", result, name="telegram.ext.ExtBot")
    redactor.filter(item)
    result["url"] = f"https://api.telegram.org/file/bot{SECRET}/photos/1.jpg"  # PTB mutates the dict later
    assert SECRET not in item.getMessage()


def test_protect_secrets_covers_every_logger_from_record_creation(caplog: pytest.LogCaptureFixture) -> None:
    secret = "protected-0123456789-xyz"
    protect_secrets(secret)
    protect_secrets(secret)  # idempotent: one record factory
    caplog.set_level(logging.INFO)
    logging.getLogger("some.library").info("token is %s", secret)
    logging.getLogger("httpx").info("HTTP Request: GET https://x/?access_token=abc123def")
    assert secret not in caplog.text and "abc123def" not in caplog.text
    assert caplog.text.count(REDACTED) == 2
    assert REDACTOR.redact(secret) == REDACTED
