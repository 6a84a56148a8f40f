"""The schema of customer message metadata: known keys only, bounded sizes, no nesting.

Whatever a customer channel puts into a ``UserMessage``'s metadata ends up in the Rasa
tracker (stored, reloaded on every turn and sent to the action server with each call),
so a client must not be able to choose it. :func:`clean_metadata` keeps only the
documented shape::

    {"attachments": [{"kind": "image", "data": "<base64 str or bytes>",
                      "filename": "IMG_0001.jpg", "content_type": "image/jpeg"}, ...]}

* any other top-level key is dropped (one log line per message, without the names:
  they are client text);
* ``attachments`` must be a list; anything else becomes the scalar ``"malformed"`` (which
  :func:`bot.claims.attachments.decode_attachments` reports as ``malformed``: the customer is told
  politely, nothing of the value is kept);
* at most :data:`bot.claims.limits.MAX_ATTACHMENTS` items are kept; one short placeholder
  stands for the rest, so the customer still hears ``too_many``;
* an item keeps only ``kind``, ``data``, ``filename`` and ``content_type``; a ``kind`` or
  ``data`` that is not a string (``data`` may also be bytes), or a ``kind`` over 30
  characters, is replaced by ``0``, which makes the item ``malformed``; a ``filename``
  (255) or ``content_type`` (100) of the wrong type or length is dropped.
  The length of ``data`` is bounded by the route's body limit and checked again by
  :func:`bot.claims.attachments.decode_attachments` (``too_large``); it never reaches the tracker,
  because :func:`bot.claims.attachments.ingest` replaces every item by a reference.

The result is at most three levels deep (object, list, object of scalars) whatever was
sent, and the walk itself never recurses, so 600 (or 100,000) levels of nesting cannot
raise ``RecursionError``. Telegram and WeChat build their own metadata; they can call
:func:`clean_metadata` too.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from bot.claims.limits import MAX_ATTACHMENTS

logger = logging.getLogger(__name__)

KNOWN_KEYS = frozenset({"attachments"})
"""Top-level metadata keys a customer channel may pass on."""
ITEM_KEYS = ("kind", "data", "filename", "content_type")
"""Keys kept in one attachment."""
_TEXT_BOUNDS = {"kind": 30, "filename": 255, "content_type": 100}
MALFORMED = "malformed"
"""What a non-list ``attachments`` value becomes (decoded as one ``malformed`` item)."""
_INVALID = 0
"""What an item value of the wrong type or size becomes (decoded as ``malformed``)."""


class MetadataError(ValueError):
    """The metadata as a whole is unusable (not an object): refuse the message with 400."""


def _clean_item(item: Any) -> tuple[Any, int]:
    """One attachment in the documented shape; returns ``(item, number of values dropped)``."""
    if not isinstance(item, Mapping):
        return None, 1
    cleaned: dict[str, Any] = {}
    dropped = sum(1 for key in item if key not in ITEM_KEYS)
    for key in ITEM_KEYS:
        value = item.get(key)
        if value is None:
            continue
        if key == "data":
            ok = isinstance(value, (str, bytes, bytearray, memoryview))  # length: bot.claims.evidence checks it
        else:
            ok = isinstance(value, str) and len(value) <= _TEXT_BOUNDS[key]
        if ok:
            cleaned[key] = value
        elif key in ("kind", "data"):
            cleaned[key] = _INVALID  # the item is reported as malformed
        dropped += not ok
    return cleaned, dropped


def clean_metadata(metadata: Any, channel: str) -> dict[str, Any] | None:
    """Customer metadata reduced to the documented shape (see the module docstring).

    Args:
        metadata: What the channel received or built (anything JSON can hold, or bytes data).
        channel: Channel name, for the log line.

    Returns:
        ``None`` when nothing is left, else ``{"attachments": [...]}``.

    Raises:
        MetadataError: ``metadata`` is neither ``None`` nor an object.
    """
    if metadata is None:
        return None
    if not isinstance(metadata, Mapping):
        raise MetadataError("'metadata' must be a JSON object")
    max_items = MAX_ATTACHMENTS
    dropped = sum(1 for key in metadata if key not in KNOWN_KEYS)
    result: dict[str, Any] = {}
    if "attachments" in metadata:
        items = metadata["attachments"]
        if items is None:
            pass
        elif not isinstance(items, list):
            result["attachments"], dropped = MALFORMED, dropped + 1
        else:
            kept: list[Any] = []
            for item in items[:max_items]:
                cleaned, lost = _clean_item(item)
                kept.append(cleaned)
                dropped += lost
            if len(items) > max_items:
                kept.append({"kind": "image"})  # stands for the rest: reported as too_many, never decoded
                dropped += len(items) - max_items
            result["attachments"] = kept
    if dropped:
        logger.info("%s: dropped %d metadata value(s) outside the schema", channel, dropped)
    return result or None
