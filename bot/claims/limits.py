"""The limits on photo evidence: file size, pixels, attachments per message.

Channels use them to refuse a download before it starts; :mod:`bot.claims.images` and
:mod:`bot.claims.attachments` enforce them on what arrives.
"""

from __future__ import annotations

MAX_IMAGE_BYTES = 10 * 1024 * 1024
"""Largest accepted image file (decoded bytes)."""
MAX_IMAGE_PIXELS = 40_000_000
"""Largest accepted width × height, read from the header before decoding."""
MAX_ATTACHMENTS = 10
"""Attachments read from one message; any beyond are reported as ``too_many``."""
MAX_ENCODED_CHARS = (MAX_IMAGE_BYTES + 2) // 3 * 4 + 1024
"""Longest base64 string decoded (enough for :data:`MAX_IMAGE_BYTES` plus slack)."""
