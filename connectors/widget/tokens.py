"""Widget session tokens: ``<conversation id>.<HMAC-SHA256 of the id>``, and the secret that signs them.

The key is ``WIDGET_SECRET``, or a secret generated once into ``var/widget_secret`` (mode
0600). The conversation id is only ever taken from a token whose signature checks out
(compared in constant time), so a client can neither choose nor guess another customer's
conversation.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import os
import re
import secrets
from pathlib import Path
from typing import Mapping

from bot.settings import Settings
from connectors.common.http import same_secret

logger = logging.getLogger(__name__)

MIN_SECRET_CHARS = 16
DEFAULT_SECRET_FILE = "var/widget_secret"
CONVERSATION_PATTERN = re.compile(r"^w-[A-Za-z0-9_-]{22,64}$")


def _signature(secret: bytes, conversation_id: str) -> str:
    mac = hmac.new(secret, b"widget-session:" + conversation_id.encode("ascii"), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode("ascii")


def new_conversation_id() -> str:
    """A fresh random conversation id (``w-`` + 192 random bits, url-safe)."""
    return "w-" + secrets.token_urlsafe(24)


def sign(secret: bytes, conversation_id: str) -> str:
    """The session token for a conversation.

    Args:
        secret: The server's widget secret.
        conversation_id: An id made by :func:`new_conversation_id`.

    Returns:
        ``"<conversation id>.<base64url HMAC-SHA256>"``.

    Raises:
        ValueError: If the id does not look like one of ours.
    """
    if not CONVERSATION_PATTERN.match(conversation_id):
        raise ValueError("not a widget conversation id")
    return f"{conversation_id}.{_signature(secret, conversation_id)}"


def verify(secret: bytes, token: str | None) -> str | None:
    """The conversation id a token was issued for, or ``None`` if it is malformed or forged.

    Args:
        secret: The server's widget secret.
        token: The token as the client sent it.

    Returns:
        The conversation id, only when the signature matches (compared in constant time).
    """
    if not token or len(token) > 200 or not token.isascii():
        return None
    conversation_id, dot, signature = token.rpartition(".")
    if not dot or not CONVERSATION_PATTERN.match(conversation_id):
        return None
    expected = _signature(secret, conversation_id)
    return conversation_id if same_secret(expected, signature) else None


def load_secret(env: Mapping[str, str] | None = None, path: str | Path | None = None) -> bytes:
    """The widget secret: ``WIDGET_SECRET``, else the file (created once with mode 0600).

    Args:
        env: Environment to read (default: the process's), through :class:`bot.settings.Settings`.
        path: Secret file (default ``WIDGET_SECRET_FILE`` or ``var/widget_secret``).

    Returns:
        The secret bytes.

    Raises:
        ValueError: If ``WIDGET_SECRET`` is set but shorter than 16 characters.
    """
    read = Settings.from_env(env)
    configured = read.widget_secret
    if configured:
        if len(configured) < MIN_SECRET_CHARS:
            raise ValueError(f"WIDGET_SECRET must be at least {MIN_SECRET_CHARS} characters")
        return configured.encode("utf-8")
    file = Path(path or read.widget_secret_file or DEFAULT_SECRET_FILE)
    file.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        stored = file.read_text(encoding="ascii").strip()
        if len(stored) >= MIN_SECRET_CHARS:
            return stored.encode("ascii")
        raise ValueError(f"{file} holds no usable widget secret: delete it to make a new one") from None
    value = secrets.token_urlsafe(48)
    with os.fdopen(fd, "w", encoding="ascii") as out:
        out.write(value + "\n")
    logger.info("widget: generated a new secret in %s", file)
    return value.encode("ascii")
