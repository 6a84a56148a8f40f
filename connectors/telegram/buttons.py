"""Telegram buttons: Rasa payloads in ``callback_data``, unforgeable, and the texts around them.

``callback_data`` (64 bytes at most) carries the Rasa payload with a truncated HMAC bound
to the chat, so a modified client cannot forge ``/restart`` or any other intent through a
callback query; longer payloads are kept in a short-lived map (in process, or Redis) under
a random key.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import re
import secrets

from bot.common import i18n
from bot.common.kv import KeyValueStore, StoreUnavailable
from connectors.common.replies import bilingual

logger = logging.getLogger(__name__)

BUTTON_TTL_SECONDS = 24 * 3600
"""How long a long button payload stays redeemable."""
CALLBACK_DATA_MAX_BYTES = 64
BUTTON_EXPIRED = bilingual(i18n.pair("channels.telegram.button_expired"), " / ")
"""The answer to a tap on a button that is forged, expired or another chat's."""
BUTTONS_PROMPT = bilingual(i18n.pair("channels.telegram.buttons_prompt"), " / ")
"""The text above buttons sent without one (Telegram needs a text)."""

_INLINE, _KEYED = "p", "k"
_TAG_CHARS = 11  # base64url of an 8-byte HMAC tag


class ButtonCodec:
    """Rasa button payloads to ``callback_data`` and back, unforgeable and within 64 bytes.

    Short payloads travel inline as ``p<tag><payload>``, where the tag is an 8-byte HMAC of
    the chat id and payload; longer ones are stored under a random key (``k<key>``) bound
    to the chat. Anything else (forged, expired, another chat's) decodes to ``None``.
    """

    def __init__(self, secret: str, store: KeyValueStore, ttl: float = BUTTON_TTL_SECONDS) -> None:
        """A codec whose tags are keyed by ``secret`` (the webhook secret)."""
        self._key = hmac.new(secret.encode(), b"telegram-button-payload", hashlib.sha256).digest()
        self._store = store
        self._ttl = ttl

    def _tag(self, chat_id: int, payload: str) -> str:
        digest = hmac.new(self._key, f"{chat_id}\n{payload}".encode(), hashlib.sha256).digest()[:8]
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

    async def encode(self, chat_id: int, payload: str) -> str:
        """The ``callback_data`` for a button with ``payload`` sent to ``chat_id``."""
        inline = f"{_INLINE}{self._tag(chat_id, payload)}{payload}"
        if len(inline.encode("utf-8")) <= CALLBACK_DATA_MAX_BYTES:
            return inline
        key = secrets.token_urlsafe(12)
        try:
            await self._store.add(f"button:{key}", json.dumps({"chat": chat_id, "payload": payload}), self._ttl)
        except StoreUnavailable as exc:  # the button is still shown; tapping it says it expired
            logger.warning("telegram: could not keep a button payload: %s", exc)
        return f"{_KEYED}{key}"

    async def decode(self, chat_id: int, data: str) -> str | None:
        """The payload behind ``data`` tapped in ``chat_id``, or ``None``."""
        if data.startswith(_INLINE) and len(data) > 1 + _TAG_CHARS:
            tag, payload = data[1 : 1 + _TAG_CHARS], data[1 + _TAG_CHARS :]
            return payload if hmac.compare_digest(tag, self._tag(chat_id, payload)) else None
        if data.startswith(_KEYED) and re.fullmatch(r"[A-Za-z0-9_-]{16}", data[1:]):
            try:
                stored = await self._store.get(f"button:{data[1:]}")
            except StoreUnavailable as exc:  # answered like an expired button
                logger.warning("telegram: could not read a button payload: %s", exc)
                return None
            try:
                item = json.loads(stored) if stored else None
            except ValueError:
                return None
            if isinstance(item, dict) and item.get("chat") == chat_id and isinstance(item.get("payload"), str):
                return item["payload"]
        return None
