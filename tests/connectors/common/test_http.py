"""connectors.common.http: what every channel reads from a caller, read the same way."""

from __future__ import annotations

import pytest

from connectors.common.http import PayloadError, bearer, parse_json, same_secret


def test_same_secret_compares_whole_strings_and_never_raises() -> None:
    assert same_secret("s3cret-value", "s3cret-value")
    assert not same_secret("s3cret-value", "s3cret-valu")
    assert not same_secret("s3cret-value", "")
    assert not same_secret("s3cret-value", "\udc80bad")  # a lone surrogate from a hostile client
    assert same_secret("秘密", "秘密")


@pytest.mark.parametrize(
    ("header", "token"),
    [("Bearer abc", "abc"), ("bearer  abc ", "abc"), ("Token abc", None), ("Bearer ", None), (None, None)],
)
def test_bearer(header: str | None, token: str | None) -> None:
    assert bearer(header) == token


def test_parse_json_refuses_what_is_not_json() -> None:
    assert parse_json(b'{"a": 1}') == {"a": 1}
    assert parse_json(None) is None
    for body in (b"{", b"\xff\xfe", b"[" * 100_000):
        with pytest.raises(PayloadError):
            parse_json(body)
