"""Checking an uploaded image by content, and re-encoding it without metadata.

:func:`check_image` decides by *content* alone: the claimed file name and MIME type are
ignored. It accepts JPEG, PNG and WebP (magic bytes), refuses oversized files and
decompression bombs before decoding, decodes the whole image (truncated or corrupt →
refused), applies the EXIF orientation and re-encodes it in the same format with every
bit of metadata dropped (EXIF, GPS, XMP, ICC, text chunks).

Blocking (CPU); async callers should go through ``asyncio.to_thread``.
"""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

from bot.claims.limits import MAX_IMAGE_BYTES, MAX_IMAGE_PIXELS
from bot.claims.refusals import EvidenceError

JPEG_QUALITY = 90

FORMATS: dict[str, tuple[str, str]] = {
    # Pillow format name → (MIME type, file extension)
    "JPEG": ("image/jpeg", ".jpg"),
    "PNG": ("image/png", ".png"),
    "WEBP": ("image/webp", ".webp"),
}
"""The formats accepted: Pillow's name → (MIME type, file extension)."""
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
# Errors Pillow and its plugins raise on malformed input.
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, struct.error, IndexError, KeyError, TypeError)


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
    content_type, extension = FORMATS[fmt]
    return CheckedImage(out.getvalue(), fmt, content_type, extension, clean.width, clean.height)
