"""A WeChat callback as WeChat sends it: the signature, the XML, safe-mode decryption, the message id.

* :func:`verified_query`: ``signature`` (SHA-1 of the sorted token, timestamp and nonce,
  compared in constant time) and a timestamp within ±300 s;
* :func:`parse_xml`: a body with a DOCTYPE or ENTITY declaration is refused before the
  parser runs; malformed XML or a body that is not UTF-8 is refused too;
* :func:`decrypt`: in safe mode (``encoding_aes_key`` set) the ``msg_signature`` over the
  ``Encrypt`` element, then decryption with ``wechatpy.crypto.WeChatCrypto``;
* :func:`dedup_key`: what identifies a delivery (WeChat retries an unanswered message 3
  times): ``MsgId``, or sender + ``CreateTime`` for events.
"""

from __future__ import annotations

import hashlib
import logging
import re
from typing import Any, Mapping
from xml.parsers.expat import ExpatError

import xmltodict
from sanic import response
from sanic.response import HTTPResponse
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidAppIdException

from connectors.common.http import same_secret

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 * 1024
"""Largest callback body accepted (real messages are a few hundred bytes)."""
TIMESTAMP_WINDOW_SECONDS = 300
MESSAGE_ID = re.compile(r"^[0-9A-Za-z_\-]{1,64}$")
"""What a ``MsgId`` (and the ``echostr`` of a URL verification) looks like."""

_DTD = re.compile(r"<!\s*(?:DOCTYPE|ENTITY)", re.IGNORECASE)


class XmlRefused(ValueError):
    """The body is not acceptable XML (a DTD, malformed, not UTF-8)."""


def parse_xml(body: bytes | str) -> dict[str, Any]:
    """Parse a callback body; DTDs are refused before the parser ever runs.

    Args:
        body: The raw body (UTF-8) or decrypted text.

    Returns:
        The children of the root element.

    Raises:
        XmlRefused: With a reason fit for the log.
    """
    if isinstance(body, bytes):
        try:
            body = body.decode("utf-8")
        except UnicodeDecodeError:
            raise XmlRefused("not UTF-8") from None
    body = body.lstrip("\ufeff")
    if _DTD.search(body):
        raise XmlRefused("DOCTYPE or ENTITY declaration")
    try:
        document = xmltodict.parse(body, disable_entities=True)
    except (ExpatError, ValueError):
        raise XmlRefused("malformed XML") from None
    root = next(iter(document.values()), None) if isinstance(document, dict) and len(document) == 1 else None
    if not isinstance(root, dict):
        raise XmlRefused("no message element")
    return root


def wechat_signature(*parts: str) -> str:
    """SHA-1 hex of the sorted, concatenated parts (WeChat's ``signature`` and ``msg_signature``)."""
    return hashlib.sha1("".join(sorted(parts)).encode("utf-8")).hexdigest()


def signature_matches(expected: str, given: str) -> bool:
    """Constant-time comparison of a computed signature with the one received."""
    return same_secret(expected, given)


def field(message: Mapping[str, Any], name: str) -> str:
    """A text element of a message, stripped; ``""`` when missing or not text."""
    value = message.get(name)
    return value.strip() if isinstance(value, str) else ""


def verified_query(args: Mapping[str, Any], token: str, now: float) -> tuple[str, str] | None:
    """``(timestamp, nonce)`` when ``signature`` is right and the timestamp fresh, else ``None``.

    Args:
        args: The callback's query parameters.
        token: The callback Token (服务器配置).
        now: The current Unix time.
    """
    signature, timestamp, nonce = (args.get(k) or "" for k in ("signature", "timestamp", "nonce"))
    if not (signature and nonce and timestamp.isdigit() and len(timestamp) <= 12):
        return None
    if abs(now - int(timestamp)) > TIMESTAMP_WINDOW_SECONDS:
        return None
    if not signature_matches(wechat_signature(token, timestamp, nonce), signature):
        return None
    return timestamp, nonce


def decrypt(
    crypto: WeChatCrypto, token: str, outer: Mapping[str, Any], args: Mapping[str, Any], timestamp: str, nonce: str
) -> HTTPResponse | dict[str, Any]:
    """The decrypted message of a safe-mode callback, or the response refusing the request.

    Args:
        crypto: The app's ``WeChatCrypto``.
        token: The callback Token.
        outer: The parsed outer XML (holding ``Encrypt``).
        args: The query parameters (``encrypt_type``, ``msg_signature``).
        timestamp: The verified timestamp.
        nonce: The verified nonce.
    """
    encrypt = outer.get("Encrypt")
    msg_signature = args.get("msg_signature") or ""
    if args.get("encrypt_type") != "aes" or not isinstance(encrypt, str) or not encrypt or not msg_signature:
        logger.warning("wechat: refused a message that is not encrypted (safe mode is on)")
        return response.text("forbidden", status=403)
    if not signature_matches(wechat_signature(token, timestamp, nonce, encrypt), msg_signature):
        logger.warning("wechat: refused a message with a bad msg_signature")
        return response.text("forbidden", status=403)
    try:
        plain = crypto.decrypt_message({"Encrypt": encrypt}, msg_signature, timestamp, nonce)
    except InvalidAppIdException:
        logger.warning("wechat: refused a message encrypted for another app")
        return response.text("forbidden", status=403)
    except Exception as exc:  # bad base64, padding, lengths
        logger.warning("wechat: could not decrypt a message (%s)", type(exc).__name__)
        return response.text("bad request", status=400)
    try:
        return parse_xml(plain)
    except XmlRefused as exc:
        logger.warning("wechat: refused a decrypted message: %s", exc)
        return response.text("bad request", status=400)


def dedup_key(message: Mapping[str, Any], sender: str) -> str | None:
    """What identifies one delivery of a message (``None``: the message has no usable id)."""
    msg_id = field(message, "MsgId") or field(message, "MsgID")
    if msg_id:
        return f"msg:{msg_id}" if MESSAGE_ID.match(msg_id) else None
    created, event = field(message, "CreateTime"), field(message, "Event")
    if not created.isdigit() or len(created) > 12:
        return None
    return f"event:{sender}:{created}:{event[:32]}"
