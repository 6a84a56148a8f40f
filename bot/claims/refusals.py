"""Why a photo was refused, as a code and a polite sentence in either language.

The sentences live in the catalogue (``claims.photo_error.<code>`` in
``bot/texts/<lang>/claims.yml``); every code in :data:`ERROR_CODES` has one.
"""

from __future__ import annotations

from bot.claims.limits import MAX_ATTACHMENTS
from bot.common import i18n

ERROR_CODES = frozenset(
    {
        "empty",
        "not_an_image",
        "unsupported_type",
        "too_large",
        "too_many_pixels",
        "corrupt",
        "bad_encoding",
        "unsupported_kind",
        "too_many",
        "malformed",
        "outside_claim",
        "slow_down",
    }
)
"""Every code an :class:`EvidenceError` or a refused attachment can carry."""


class EvidenceError(Exception):
    """An attachment was refused; carries a code and polite messages in both languages.

    Attributes:
        code: Machine-readable reason (one of :data:`ERROR_CODES`).
        message_zh: Customer-facing sentence in Chinese.
        message_en: Customer-facing sentence in English.
    """

    def __init__(self, code: str, message_zh: str, message_en: str) -> None:
        super().__init__(f"{code}: {message_en}")
        self.code = code
        self.message_zh = message_zh
        self.message_en = message_en

    @classmethod
    def from_code(cls, code: str) -> EvidenceError:
        """Build the error for ``code`` with its standard messages.

        Args:
            code: One of :data:`ERROR_CODES`.

        Returns:
            The error, ready to raise or to show.

        Raises:
            KeyError: Unknown code.
        """
        if code not in ERROR_CODES:
            raise KeyError(code)
        zh, en = i18n.pair(f"claims.photo_error.{code}", most=MAX_ATTACHMENTS)
        return cls(code, zh, en)

    def message(self, lang: str = "zh") -> str:
        """Return the customer-facing message in ``lang`` (``"en"`` or Chinese otherwise)."""
        return self.message_en if lang.lower().startswith("en") else self.message_zh
