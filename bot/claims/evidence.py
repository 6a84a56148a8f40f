"""Photo evidence: decode channel attachments, check images by content, store them.

Every channel puts customer photos into the message metadata in one shape::

    {"attachments": [{"kind": "image", "data": "<base64>",
                      "filename": "IMG_0001.jpg", "content_type": "image/jpeg"}]}

:func:`decode_attachments` turns that (or any garbage in its place) into
:class:`RawAttachment` items without ever raising. :func:`check_image` then
decides by *content* alone: the claimed file name and MIME type are ignored.
It accepts JPEG, PNG and WebP (magic bytes), refuses oversized files and
decompression bombs before decoding, decodes the whole image (truncated or
corrupt → refused), applies the EXIF orientation and re-encodes it in the same
format with every bit of metadata dropped (EXIF, GPS, XMP, ICC, text chunks).
:class:`EvidenceStore` keeps the re-encoded bytes on disk under their SHA-256.

Everything here is blocking (CPU and disk); async callers should go through
``asyncio.to_thread``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import os
import re
import struct
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Mapping

from PIL import Image, ImageOps, UnidentifiedImageError

from bot.settings import Settings

"""Relative ``EVIDENCE_DIR`` values are resolved against the project root."""

DEFAULT_EVIDENCE_DIR = "var/evidence"
MAX_IMAGE_BYTES = 10 * 1024 * 1024
"""Largest accepted image file (decoded bytes)."""
MAX_IMAGE_PIXELS = 40_000_000
"""Largest accepted width × height, read from the header before decoding."""
MAX_ATTACHMENTS = 10
"""Attachments read from one message; any beyond are reported as ``too_many``."""
MAX_ENCODED_CHARS = (MAX_IMAGE_BYTES + 2) // 3 * 4 + 1024
"""Longest base64 string decoded (enough for :data:`MAX_IMAGE_BYTES` plus slack)."""
JPEG_QUALITY = 90

_MESSAGES: dict[str, tuple[str, str]] = {
    "empty": (
        "我们没有收到照片内容，请重新发送一次。",
        "We did not receive any photo content. Could you please send it again?",
    ),
    "not_an_image": (
        "这个文件看起来不是照片，请发送 JPG、PNG 或 WebP 格式的图片。",
        "This file does not look like a photo. Please send a JPG, PNG or WebP image.",
    ),
    "unsupported_type": (
        "暂不支持这种图片格式，请转换为 JPG、PNG 或 WebP 后再发送，谢谢。",
        "Sorry, we cannot accept this image format. Please send it as JPG, PNG or WebP.",
    ),
    "too_large": (
        "照片文件太大了，请压缩后或换一张较小的照片再发送。",
        "This photo file is too large. Please compress it or send a smaller one.",
    ),
    "too_many_pixels": (
        "照片分辨率太高，请缩小尺寸后再发送。",
        "This photo's resolution is too high. Please resize it and send it again.",
    ),
    "corrupt": (
        "这张照片好像已损坏或没有传完整，请重新拍摄或重新发送。",
        "This photo seems damaged or incomplete. Please take it again or resend it.",
    ),
    "bad_encoding": (
        "照片在传输中出了问题，请重新发送一次。",
        "Something went wrong while sending the photo. Please send it again.",
    ),
    "unsupported_kind": (
        "目前只能接收照片，请以图片形式发送。",
        "We can only receive photos at the moment. Please send it as an image.",
    ),
    "too_many": (
        f"一次最多发送 {MAX_ATTACHMENTS} 张照片，多出的请分开再发。",
        f"Please send at most {MAX_ATTACHMENTS} photos at a time; send the rest separately.",
    ),
    "malformed": (
        "附件格式有误，请重新发送照片。",
        "The attachment could not be read. Please send the photo again.",
    ),
    "outside_claim": (
        "这张照片我们没有保存：照片只在登记理赔时收取。如果包裹有破损需要理赔，请回复“我要理赔”，"
        "我会引导您登记，并在需要时请您发送照片。",
        "We have not kept this photo: photos are only taken during a damage claim. If your parcel is "
        'damaged, say "file a damage claim" and I will ask for the photos when they are needed.',
    ),
    "slow_down": (
        "照片发送得太频繁了，这次的照片没有收下，请过几分钟再发送。",
        "You have sent many photos in a short time, so these were not taken. Please send them again in a few minutes.",
    ),
}
ERROR_CODES = frozenset(_MESSAGES)
"""Every code an :class:`EvidenceError` or :attr:`RawAttachment.error` can carry."""

_FORMATS: dict[str, tuple[str, str]] = {
    # Pillow format name → (MIME type, file extension)
    "JPEG": ("image/jpeg", ".jpg"),
    "PNG": ("image/png", ".png"),
    "WEBP": ("image/webp", ".webp"),
}
# Recognised but refused: recognisable images we do not take.
_UNSUPPORTED_MAGIC: tuple[bytes, ...] = (
    b"GIF87a",
    b"GIF89a",
    b"BM",
    b"II*\x00",
    b"MM\x00*",
    b"\x00\x00\x01\x00",  # ICO
    b"8BPS",  # Photoshop
    b"\xff\x0a",  # JPEG XL codestream
    b"\x00\x00\x00\x0cJXL ",
)
_HEIF_BRANDS = (b"heic", b"heix", b"hevc", b"heim", b"heis", b"mif1", b"msf1", b"avif", b"avis")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_DATA_URL = re.compile(r"^data:[^,]{0,100};base64,", re.IGNORECASE)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# Errors Pillow and its plugins raise on malformed input.
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, struct.error, IndexError, KeyError, TypeError)


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
        zh, en = _MESSAGES[code]
        return cls(code, zh, en)

    def message(self, lang: str = "zh") -> str:
        """Return the customer-facing message in ``lang`` (``"en"`` or Chinese otherwise)."""
        return self.message_en if lang.lower().startswith("en") else self.message_zh


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


@dataclass(frozen=True)
class CheckedImage:
    """An image that passed :func:`check_image`, re-encoded without metadata.

    Attributes:
        data: Re-encoded bytes (what gets stored).
        format: ``"JPEG"``, ``"PNG"`` or ``"WEBP"``.
        content_type: MIME type of ``data``.
        extension: File extension including the dot (``".jpg"``).
        width: Width in pixels after orientation.
        height: Height in pixels after orientation.
    """

    data: bytes
    format: str
    content_type: str
    extension: str
    width: int
    height: int


@dataclass(frozen=True)
class StoredEvidence:
    """Where :meth:`EvidenceStore.save` put an image.

    Attributes:
        sha256: Hex SHA-256 of the stored bytes; the evidence id.
        path: File path under the store root.
        size: Size in bytes.
        content_type: MIME type.
        width: Width in pixels.
        height: Height in pixels.
    """

    sha256: str
    path: Path
    size: int
    content_type: str
    width: int
    height: int


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


def sniff_format(data: bytes) -> str:
    """Name the image format of ``data`` from its magic bytes.

    Args:
        data: File content.

    Returns:
        ``"JPEG"``, ``"PNG"`` or ``"WEBP"``.

    Raises:
        EvidenceError: ``empty``, ``unsupported_type`` (a known image format we do
            not take, e.g. GIF, BMP, TIFF, HEIC) or ``not_an_image``.
    """
    if not data:
        raise EvidenceError.from_code("empty")
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    if data.startswith(_UNSUPPORTED_MAGIC) or (data[4:8] == b"ftyp" and data[8:12] in _HEIF_BRANDS):
        raise EvidenceError.from_code("unsupported_type")
    raise EvidenceError.from_code("not_an_image")


def _output_mode(image: Image.Image, fmt: str) -> str:
    alpha = image.mode in ("RGBA", "LA", "PA") or image.has_transparency_data
    if fmt == "JPEG":
        return "L" if image.mode == "L" else "RGB"
    if fmt == "PNG" and image.mode in ("L", "LA", "RGB", "RGBA"):
        return image.mode
    return "RGBA" if alpha else "RGB"


def check_image(
    data: bytes,
    *,
    max_bytes: int = MAX_IMAGE_BYTES,
    max_pixels: int = MAX_IMAGE_PIXELS,
) -> CheckedImage:
    """Check an uploaded image by content and re-encode it without metadata.

    Steps: size limit; magic bytes (JPEG, PNG, WebP only); header dimensions
    against ``max_pixels`` before any pixel is decoded; structural verify and a
    full decode (truncated or corrupt → refused); EXIF orientation applied;
    re-encode in the same format (JPEG at quality 90) with no EXIF, GPS, XMP,
    ICC profile or text chunks. Animated images keep their first frame.

    Args:
        data: The file content; the claimed name and MIME type play no part.
        max_bytes: Largest accepted file size.
        max_pixels: Largest accepted width × height.

    Returns:
        The re-encoded image.

    Raises:
        EvidenceError: ``empty``, ``too_large``, ``not_an_image``,
            ``unsupported_type``, ``too_many_pixels`` or ``corrupt``.
    """
    if not data:
        raise EvidenceError.from_code("empty")
    if len(data) > max_bytes:
        raise EvidenceError.from_code("too_large")
    fmt = sniff_format(data)
    try:
        with Image.open(io.BytesIO(data), formats=[fmt]) as probe:
            width, height = probe.size
            if width <= 0 or height <= 0:
                raise EvidenceError.from_code("corrupt")
            if width * height > max_pixels:
                raise EvidenceError.from_code("too_many_pixels")
            probe.verify()
        with Image.open(io.BytesIO(data), formats=[fmt]) as image:
            image.load()
            try:
                upright = ImageOps.exif_transpose(image)
            except _DECODE_ERRORS:
                upright = image  # unreadable EXIF: keep the pixels as they are
            clean = upright.convert(_output_mode(upright, fmt))
    except Image.DecompressionBombError as exc:
        raise EvidenceError.from_code("too_many_pixels") from exc
    except (UnidentifiedImageError, *_DECODE_ERRORS) as exc:
        raise EvidenceError.from_code("corrupt") from exc
    clean.info = {}  # drop exif, xmp, icc_profile, text chunks, comments…
    out = io.BytesIO()
    if fmt == "JPEG":
        clean.save(out, format="JPEG", quality=JPEG_QUALITY)
    elif fmt == "PNG":
        clean.save(out, format="PNG")
    else:
        clean.save(out, format="WEBP", quality=JPEG_QUALITY, method=4)
    content_type, extension = _FORMATS[fmt]
    return CheckedImage(out.getvalue(), fmt, content_type, extension, clean.width, clean.height)


class EvidenceStore:
    """Content-addressed image store on local disk: ``root/ab/abcdef….jpg``.

    File names come only from the SHA-256 of the stored bytes, never from the
    client. Writes are atomic (temporary file in the target directory, then
    rename) and idempotent: saving the same image twice keeps one file.
    """

    def __init__(self, root: Path | str = DEFAULT_EVIDENCE_DIR) -> None:
        """Create a store rooted at ``root``; nothing is touched on disk until :meth:`save`."""
        self.root = Path(root)

    def _candidate(self, sha256: str, extension: str) -> Path:
        if not _SHA256.fullmatch(sha256):
            raise ValueError("evidence id must be 64 lowercase hex characters")
        return self.root / sha256[:2] / f"{sha256}{extension}"

    def save(self, checked: CheckedImage) -> StoredEvidence:
        """Store a checked image under its SHA-256.

        Args:
            checked: The result of :func:`check_image`.

        Returns:
            Where and what was stored.
        """
        sha256 = hashlib.sha256(checked.data).hexdigest()
        path = self._candidate(sha256, checked.extension)
        if not (path.is_file() and path.stat().st_size == len(checked.data)):
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=checked.extension)
            try:
                with os.fdopen(fd, "wb") as tmp:
                    tmp.write(checked.data)
                    tmp.flush()
                    os.fsync(tmp.fileno())
                os.chmod(tmp_name, 0o640)
                os.replace(tmp_name, path)
            except BaseException:
                Path(tmp_name).unlink(missing_ok=True)
                raise
        return StoredEvidence(sha256, path, len(checked.data), checked.content_type, checked.width, checked.height)

    def path_for(self, sha256: str) -> Path | None:
        """Return the stored file for an evidence id, or ``None`` if absent.

        Raises:
            ValueError: ``sha256`` is not 64 lowercase hex characters.
        """
        for _content_type, extension in _FORMATS.values():
            path = self._candidate(sha256, extension)
            if path.is_file():
                return path
        return None

    def open(self, sha256: str) -> BinaryIO:
        """Open a stored image for reading (binary); the caller closes it.

        Raises:
            ValueError: ``sha256`` is not 64 lowercase hex characters.
            FileNotFoundError: No such evidence.
        """
        path = self.path_for(sha256)
        if path is None:
            raise FileNotFoundError(f"no evidence {sha256}")
        return path.open("rb")


def store_from_env(env: Mapping[str, str] | None = None) -> EvidenceStore:
    """Build the evidence store from ``EVIDENCE_DIR`` (default ``var/evidence``).

    A relative path is taken from the project root. Nothing is created here.

    Args:
        env: Environment variables (default: the process's), read by
            :meth:`bot.settings.Settings.from_env`.

    Returns:
        The store.
    """
    configured = Settings.from_env(env)
    return EvidenceStore(configured.project_path(configured.evidence_dir))
