"""Attachments in message metadata: raw photos in at the channel edge, small references out.

Every channel puts customer photos into the message metadata in one shape::

    {"attachments": [{"kind": "image", "data": "<base64>",
                      "filename": "IMG_0001.jpg", "content_type": "image/jpeg"}]}

:func:`decode_attachments` turns that (or any garbage in its place) into
:class:`RawAttachment` items without ever raising. A channel then calls :func:`ingest`:
each photo is checked by content (:func:`bot.claims.images.check_image`), re-encoded
without metadata and kept in the evidence store; the message metadata that goes on to
Rasa then carries only a reference per photo::

    {"attachments": [{"kind": "image", "sha256": "…", "size": 48213,
                      "content_type": "image/jpeg", "width": 1200, "height": 900},
                     {"kind": "image", "error": "not_an_image"}]}

so trackers (and every action-server call) stay small, and the claim form never
sees raw bytes. Whatever a client put in ``attachments`` is replaced: a client
cannot point a claim at someone else's evidence by sending a hash. Actions read
the references back with :func:`references`.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.claims.evidence import EvidenceStore
from bot.claims.images import check_image
from bot.claims.limits import MAX_ATTACHMENTS, MAX_ENCODED_CHARS
from bot.claims.refusals import ERROR_CODES, EvidenceError

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_CONTENT_TYPES = frozenset({"image/jpeg", "image/png", "image/webp"})
_DATA_URL = re.compile(r"^data:[^,]{0,100};base64,", re.IGNORECASE)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class RawAttachment:
    """One attachment from message metadata, decoded but not yet checked.

    Attributes:
        index: Position in the metadata list.
        kind: Claimed kind (``"image"``), or ``""`` when unreadable.
        data: Decoded bytes, or ``None`` when the item is invalid.
        filename: Client-side name, cleaned, for display only (never for paths).
        claimed_content_type: MIME type the sender claimed; informational only.
        error: Reason code (see :data:`ERROR_CODES`) when invalid, else ``None``.
    """

    index: int
    kind: str
    data: bytes | None
    filename: str | None = None
    claimed_content_type: str | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        """Whether the item decoded and can go on to :func:`check_image`."""
        return self.error is None and self.data is not None

    def problem(self) -> EvidenceError | None:
        """Return the :class:`EvidenceError` for an invalid item, else ``None``."""
        return EvidenceError.from_code(self.error) if self.error else None


def _clean_filename(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    name = _CONTROL.sub("", value).replace("\\", "/").rsplit("/", 1)[-1].strip()
    return name[:255] or None


def _decode_one(index: int, item: object, max_encoded_chars: int) -> RawAttachment:
    if not isinstance(item, Mapping):
        return RawAttachment(index, "", None, error="malformed")
    kind = item.get("kind", "image")
    filename = _clean_filename(item.get("filename"))
    claimed = item.get("content_type")
    claimed = claimed[:100] if isinstance(claimed, str) else None

    def invalid(code: str, kind_: str = "") -> RawAttachment:
        return RawAttachment(index, kind_, None, filename, claimed, error=code)

    if not isinstance(kind, str):
        return invalid("malformed")
    if kind != "image":
        return invalid("unsupported_kind", kind[:30])
    data = item.get("data")
    if isinstance(data, (bytes, bytearray, memoryview)):
        raw = bytes(data)
        if len(raw) > max_encoded_chars:
            return invalid("too_large", kind)
    elif isinstance(data, str):
        if len(data) > max_encoded_chars:
            return invalid("too_large", kind)
        text = _DATA_URL.sub("", data.strip(), count=1)
        text = "".join(text.split())  # MIME-style line breaks
        try:
            raw = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            return invalid("bad_encoding", kind)
    elif data is None:
        return invalid("empty", kind)
    else:
        return invalid("malformed", kind)
    if not raw:
        return invalid("empty", kind)
    return RawAttachment(index, kind, raw, filename, claimed)


def decode_attachments(
    metadata: object,
    *,
    max_count: int = MAX_ATTACHMENTS,
    max_encoded_chars: int = MAX_ENCODED_CHARS,
) -> list[RawAttachment]:
    """Read ``metadata["attachments"]`` into :class:`RawAttachment` items; never raises.

    A missing or non-dict ``metadata`` (or no ``attachments`` key) yields ``[]``.
    An ``attachments`` value that is not a list yields one ``malformed`` item.
    Items are flagged (``error`` set) rather than dropped: not a dict →
    ``malformed``; kind other than ``"image"`` → ``unsupported_kind``; missing or
    empty data → ``empty``; bad base64 → ``bad_encoding``; too long →
    ``too_large``. Items past ``max_count`` are not decoded; a single
    ``too_many`` item stands for all of them.

    Args:
        metadata: The message metadata as received from the channel.
        max_count: Most attachments decoded from one message.
        max_encoded_chars: Longest base64 string (or raw byte string) accepted.

    Returns:
        One item per attachment, in order, plus a trailing ``too_many`` item if any were cut.
    """
    if not isinstance(metadata, Mapping):
        return []
    items = metadata.get("attachments")
    if items is None:
        return []
    if not isinstance(items, (list, tuple)):
        return [RawAttachment(0, "", None, error="malformed")]
    result = [_decode_one(i, item, max_encoded_chars) for i, item in enumerate(items[:max_count])]
    if len(items) > max_count:
        result.append(RawAttachment(max_count, "", None, error="too_many"))
    return result


@dataclass(frozen=True)
class PhotoRef:
    """A stored photo (``error`` is ``None``) or a refused attachment (``error`` set).

    Attributes:
        sha256: Evidence id in the store ("" when refused).
        size: Stored size in bytes.
        content_type: MIME type of the stored file.
        error: Refusal code (see :data:`bot.claims.refusals.ERROR_CODES`), or ``None``.
    """

    sha256: str = ""
    size: int = 0
    content_type: str = ""
    error: str | None = None

    def problem(self) -> EvidenceError | None:
        """The customer-facing error of a refused attachment."""
        return EvidenceError.from_code(self.error) if self.error else None

    def to_slot(self) -> dict[str, Any]:
        """The JSON form kept in claim slots (stored photos only)."""
        return {"sha256": self.sha256, "size": self.size, "content_type": self.content_type}


def ingest(metadata: Any, store: EvidenceStore, *, refuse: str | None = None) -> Any:
    """Check and store the photos in ``metadata["attachments"]``; return the metadata to pass on.

    Blocking (image decoding and disk): call it through ``asyncio.to_thread``.
    Metadata without an ``attachments`` key is returned unchanged.

    Args:
        metadata: Message metadata as the client sent it (anything).
        store: Where accepted photos go.
        refuse: An error code (one of :data:`bot.claims.refusals.ERROR_CODES`, e.g. ``"outside_claim"``
            or ``"slow_down"``) given to every attachment that decoded: nothing is checked
            or stored then, so the image work is skipped altogether.

    Returns:
        A copy of ``metadata`` whose ``attachments`` hold references and error codes only.

    Raises:
        ValueError: ``refuse`` is not a known error code.
    """
    if refuse is not None and refuse not in ERROR_CODES:
        raise ValueError(f"unknown error code {refuse!r}")
    if not isinstance(metadata, Mapping) or "attachments" not in metadata:
        return metadata
    refs: list[dict[str, Any]] = []
    for raw in decode_attachments(metadata):
        if not raw.ok or raw.data is None:
            refs.append({"kind": raw.kind or "unknown", "error": raw.error or "malformed"})
            continue
        if refuse is not None:
            refs.append({"kind": "image", "error": refuse})
            continue
        try:
            stored = store.save(check_image(raw.data))
        except EvidenceError as exc:
            refs.append({"kind": "image", "error": exc.code})
            continue
        refs.append(
            {
                "kind": "image",
                "sha256": stored.sha256,
                "size": stored.size,
                "content_type": stored.content_type,
                "width": stored.width,
                "height": stored.height,
            }
        )
    return {**metadata, "attachments": refs}


def references(metadata: Any) -> list[PhotoRef]:
    """Read the references :func:`ingest` wrote; malformed items become ``malformed`` errors.

    Args:
        metadata: The metadata of a user message as the action server sees it.

    Returns:
        One :class:`PhotoRef` per attachment, in order.
    """
    if not isinstance(metadata, Mapping):
        return []
    items = metadata.get("attachments")
    if not isinstance(items, list):
        return [] if items is None else [PhotoRef(error="malformed")]
    refs: list[PhotoRef] = []
    for item in items:
        if not isinstance(item, Mapping):
            refs.append(PhotoRef(error="malformed"))
            continue
        error = item.get("error")
        if error is not None:
            refs.append(PhotoRef(error=error if error in ERROR_CODES else "malformed"))
            continue
        sha256, size, content_type = item.get("sha256"), item.get("size"), item.get("content_type")
        if (
            isinstance(sha256, str)
            and _SHA256.match(sha256)
            and isinstance(size, int)
            and size > 0
            and content_type in _CONTENT_TYPES
        ):
            refs.append(PhotoRef(sha256, size, content_type))
        else:
            refs.append(PhotoRef(error="malformed"))
    return refs
