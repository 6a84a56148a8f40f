"""Attachments at the channel edge: raw photos in, small references out.

A channel receives a customer's photo (base64 in REST metadata; later a WeChat or
Telegram media download) and calls :func:`ingest`. Each photo is checked by
content, re-encoded without metadata and kept in the evidence store; the message
metadata that goes on to Rasa then carries only a reference per photo::

    {"attachments": [{"kind": "image", "sha256": "…", "size": 48213,
                      "content_type": "image/jpeg", "width": 1200, "height": 900},
                     {"kind": "image", "error": "not_an_image"}]}

so trackers (and every action-server call) stay small, and the claim form never
sees raw bytes. Whatever a client put in ``attachments`` is replaced: a client
cannot point a claim at someone else's evidence by sending a hash. Actions read
the references back with :func:`references`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Mapping

from bot.claims.evidence import ERROR_CODES, EvidenceError, EvidenceStore, check_image, decode_attachments

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_CONTENT_TYPES = frozenset({"image/jpeg", "image/png", "image/webp"})


@dataclass(frozen=True)
class PhotoRef:
    """A stored photo (``error`` is ``None``) or a refused attachment (``error`` set).

    Attributes:
        sha256: Evidence id in the store ("" when refused).
        size: Stored size in bytes.
        content_type: MIME type of the stored file.
        error: Refusal code (see :data:`bot.claims.evidence.ERROR_CODES`), or ``None``.
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
        refuse: An error code (one of :data:`bot.claims.evidence.ERROR_CODES`, e.g. ``"outside_claim"``
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
