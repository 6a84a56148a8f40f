"""Evidence upload: attachment decoding, content checks, metadata stripping, storage."""

from __future__ import annotations

import base64
import hashlib
import io
import random
import struct
import zlib
from pathlib import Path

import pytest
from PIL import ExifTags, Image

from bot.claims.attachments import decode_attachments
from bot.claims.evidence import EvidenceStore, store_from_env
from bot.claims.images import CheckedImage, check_image
from bot.claims.refusals import ERROR_CODES, EvidenceError
from tests.support.images import GPS_MARK, encode_image, jpeg_with_gps, png_with_metadata, webp_with_metadata


def _noisy(size: tuple[int, int], mode: str = "RGB") -> Image.Image:
    rnd = random.Random(7)
    bands = len(mode)
    return Image.frombytes(mode, size, bytes(rnd.randrange(256) for _ in range(size[0] * size[1] * bands)))


def png_with_header(width: int, height: int) -> bytes:
    """A tiny PNG whose IHDR claims ``width`` × ``height`` (a decompression bomb's header)."""

    def chunk(tag: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + tag + body + struct.pack(">I", zlib.crc32(tag + body) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b"")
    )


def _reopen(checked: CheckedImage) -> Image.Image:
    image = Image.open(io.BytesIO(checked.data))
    image.load()
    return image


# --- accepted images -------------------------------------------------------


def test_sources_really_carry_metadata() -> None:
    """Guard: the fixtures must contain what the stripping tests claim to remove."""
    with Image.open(io.BytesIO(jpeg_with_gps())) as image:
        assert image.getexif().get_ifd(ExifTags.IFD.GPSInfo)
        assert "xmp" in image.info
    with Image.open(io.BytesIO(png_with_metadata())) as image:
        assert image.info.get("Comment") == GPS_MARK
        assert image.getexif()
    with Image.open(io.BytesIO(webp_with_metadata())) as image:
        assert "exif" in image.info


@pytest.mark.parametrize(
    ("data", "fmt", "content_type", "extension"),
    [
        (jpeg_with_gps(), "JPEG", "image/jpeg", ".jpg"),
        (png_with_metadata(), "PNG", "image/png", ".png"),
        (webp_with_metadata(), "WEBP", "image/webp", ".webp"),
    ],
    ids=["jpeg", "png", "webp"],
)
def test_accepted_and_stripped(data: bytes, fmt: str, content_type: str, extension: str) -> None:
    checked = check_image(data)
    assert (checked.format, checked.content_type, checked.extension) == (fmt, content_type, extension)
    assert checked.data != data  # re-encoded, never passed through
    image = _reopen(checked)
    assert image.format == fmt
    assert image.size == (checked.width, checked.height)
    assert not image.getexif()
    assert not image.getexif().get_ifd(ExifTags.IFD.GPSInfo)
    for key in ("exif", "xmp", "XML:com.adobe.xmp", "icc_profile", "Comment"):
        assert key not in image.info
    assert GPS_MARK.encode() not in checked.data
    assert b"Exif\x00\x00" not in checked.data
    assert b"PhoneCo" not in checked.data


def test_png_keeps_transparency() -> None:
    image = _reopen(check_image(png_with_metadata()))
    assert image.mode == "RGBA"
    assert image.getpixel((0, 0)) == (10, 200, 10, 128)


@pytest.mark.parametrize(
    ("orientation", "size", "top_left_red"),
    [
        (1, (40, 20), True),  # as stored
        (6, (20, 40), True),  # rotate 90° clockwise: the red left half becomes the top
        (8, (20, 40), False),  # rotate 90° counter-clockwise: red goes to the bottom
        (3, (40, 20), False),  # 180°: red moves right
    ],
)
def test_exif_orientation_applied(orientation: int, size: tuple[int, int], top_left_red: bool) -> None:
    checked = check_image(jpeg_with_gps(orientation))
    assert (checked.width, checked.height) == size
    red, _green, blue = _reopen(checked).convert("RGB").getpixel((1, 1))
    assert (red > blue) is top_left_red


def test_jpeg_reencoded_at_quality_90_and_fits_in_rgb() -> None:
    cmyk = encode_image(_noisy((32, 32), "CMYK"), "JPEG")
    checked = check_image(cmyk)
    assert _reopen(checked).mode == "RGB"
    assert checked.format == "JPEG"


def test_claimed_name_and_mime_are_irrelevant() -> None:
    """A PNG named .jpg and sent as image/jpeg is judged a PNG and stays one."""
    payload = base64.b64encode(png_with_metadata()).decode()
    [raw] = decode_attachments(
        {"attachments": [{"kind": "image", "data": payload, "filename": "x.jpg", "content_type": "image/jpeg"}]}
    )
    assert raw.ok and raw.data is not None
    assert check_image(raw.data).format == "PNG"


# --- refused ---------------------------------------------------------------


def _truncated_jpeg() -> bytes:
    data = encode_image(_noisy((64, 64)), "JPEG", quality=95)
    return data[: len(data) * 6 // 10]


def _truncated_png() -> bytes:
    data = encode_image(_noisy((64, 64)), "PNG")
    return data[: len(data) // 2]


def _corrupt_png_crc() -> bytes:
    data = bytearray(encode_image(_noisy((16, 16)), "PNG"))
    data[40] ^= 0xFF  # inside IDAT
    return bytes(data)


@pytest.mark.parametrize(
    ("data", "code", "kwargs"),
    [
        (b"", "empty", {}),
        (b"Dear courier, my parcel arrived broken.\n", "not_an_image", {}),  # text file renamed .jpg
        (b"<!DOCTYPE html><html><script>alert(1)</script></html>", "not_an_image", {}),  # sent as image/png
        (b"%PDF-1.7\n", "not_an_image", {}),
        (encode_image(Image.new("RGB", (8, 8)), "GIF"), "unsupported_type", {}),
        (encode_image(Image.new("RGB", (8, 8)), "BMP"), "unsupported_type", {}),
        (encode_image(Image.new("RGB", (8, 8)), "TIFF"), "unsupported_type", {}),
        (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic", "unsupported_type", {}),
        (b"\xff\xd8\xff", "corrupt", {}),
        (_truncated_jpeg(), "corrupt", {}),
        (_truncated_png(), "corrupt", {}),
        (_corrupt_png_crc(), "corrupt", {}),
        (b"RIFF\x10\x00\x00\x00WEBPVP8 garbage!", "corrupt", {}),
        (jpeg_with_gps(), "too_large", {"max_bytes": 100}),
        (encode_image(Image.new("RGB", (200, 200)), "PNG"), "too_many_pixels", {"max_pixels": 10_000}),
        (png_with_header(8_000, 8_000), "too_many_pixels", {}),  # 64 MP: over our 40 MP limit
        (png_with_header(100_000, 100_000), "too_many_pixels", {}),  # 10 GP: Pillow's own bomb guard
    ],
    ids=[
        "empty",
        "text-renamed-jpg",
        "html-as-png",
        "pdf",
        "gif",
        "bmp",
        "tiff",
        "heic",
        "jpeg-magic-only",
        "truncated-jpeg",
        "truncated-png",
        "png-bad-crc",
        "webp-garbage",
        "oversized-bytes",
        "small-max-pixels",
        "bomb-64mp",
        "bomb-10gp",
    ],
)
def test_refused(data: bytes, code: str, kwargs: dict[str, int]) -> None:
    with pytest.raises(EvidenceError) as excinfo:
        check_image(data, **kwargs)
    error = excinfo.value
    assert error.code == code
    assert error.message_zh and error.message_en
    assert error.message("en") == error.message_en
    assert error.message("zh-CN") == error.message_zh


def test_every_code_has_polite_messages_in_both_languages() -> None:
    for code in ERROR_CODES:
        error = EvidenceError.from_code(code)
        assert any("\u4e00" <= ch <= "\u9fff" for ch in error.message_zh)
        assert error.message_en.isascii() and error.message_en.endswith((".", "?"))


# --- decode_attachments ----------------------------------------------------

GOOD = base64.b64encode(b"\x89PNG\r\n\x1a\nrest").decode()


@pytest.mark.parametrize(
    "metadata",
    [None, "attachments", 42, [], ["attachments"], {}, {"attachments": None}, {"other": 1}],
)
def test_no_attachments(metadata: object) -> None:
    assert decode_attachments(metadata) == []


@pytest.mark.parametrize(
    ("item", "code"),
    [
        ("not a dict", "malformed"),
        (None, "malformed"),
        (["image", GOOD], "malformed"),
        ({"kind": 5, "data": GOOD}, "malformed"),
        ({"kind": "video", "data": GOOD}, "unsupported_kind"),
        ({"kind": "image"}, "empty"),
        ({"kind": "image", "data": ""}, "empty"),
        ({"kind": "image", "data": "   "}, "empty"),
        ({"kind": "image", "data": 12345}, "malformed"),
        ({"kind": "image", "data": {"nested": True}}, "malformed"),
        ({"kind": "image", "data": "not base64 at all!"}, "bad_encoding"),
        ({"kind": "image", "data": "QUJDR"}, "bad_encoding"),  # bad padding
        ({"kind": "image", "data": "A" * 2000}, "too_large"),
    ],
)
def test_invalid_items_flagged(item: object, code: str) -> None:
    [raw] = decode_attachments({"attachments": [item]}, max_encoded_chars=1000)
    assert not raw.ok
    assert raw.data is None
    assert raw.error == code
    problem = raw.problem()
    assert problem is not None and problem.code == code


@pytest.mark.parametrize(
    "data",
    [
        GOOD,
        f"data:image/png;base64,{GOOD}",
        "\n".join([GOOD[:8], GOOD[8:]]),
        base64.b64decode(GOOD),
    ],
    ids=["plain", "data-url", "line-breaks", "raw-bytes"],
)
def test_valid_item_decoded(data: object) -> None:
    [raw] = decode_attachments(
        {"attachments": [{"kind": "image", "data": data, "filename": "../../etc/pass\x00wd", "content_type": "x"}]}
    )
    assert raw.ok and raw.error is None and raw.problem() is None
    assert raw.data == b"\x89PNG\r\n\x1a\nrest"
    assert raw.filename == "passwd"
    assert raw.claimed_content_type == "x"


def test_kind_defaults_to_image() -> None:
    [raw] = decode_attachments({"attachments": [{"data": GOOD}]})
    assert raw.ok and raw.kind == "image"


def test_attachments_not_a_list() -> None:
    assert [raw.error for raw in decode_attachments({"attachments": {"kind": "image", "data": GOOD}})] == ["malformed"]
    assert [raw.error for raw in decode_attachments({"attachments": "abc"})] == ["malformed"]


def test_count_limit_and_mixed_list() -> None:
    items: list[object] = [{"kind": "image", "data": GOOD}, "junk", {"kind": "image", "data": "%%%"}]
    items += [{"kind": "image", "data": GOOD}] * 20
    result = decode_attachments({"attachments": items}, max_count=5)
    assert [r.index for r in result] == [0, 1, 2, 3, 4, 5]
    assert [r.error for r in result] == [None, "malformed", "bad_encoding", None, None, "too_many"]


# --- store -----------------------------------------------------------------


def test_store_names_by_sha256_and_is_idempotent(tmp_path: Path) -> None:
    store = EvidenceStore(tmp_path / "evidence")
    checked = check_image(jpeg_with_gps())
    first = store.save(checked)
    digest = hashlib.sha256(checked.data).hexdigest()
    assert first.sha256 == digest
    assert first.path == tmp_path / "evidence" / digest[:2] / f"{digest}.jpg"
    assert first.path.read_bytes() == checked.data
    assert (first.size, first.content_type) == (len(checked.data), "image/jpeg")
    assert (first.width, first.height) == (checked.width, checked.height)
    mtime = first.path.stat().st_mtime_ns

    second = store.save(check_image(jpeg_with_gps()))
    assert second == first
    assert first.path.stat().st_mtime_ns == mtime
    files = [p for p in (tmp_path / "evidence").rglob("*") if p.is_file()]
    assert files == [first.path]  # no leftover temp files

    assert store.path_for(digest) == first.path
    with store.open(digest) as fh:
        assert fh.read() == checked.data


def test_store_ignores_client_filename(tmp_path: Path) -> None:
    root = tmp_path / "root"
    payload = base64.b64encode(png_with_metadata()).decode()
    [raw] = decode_attachments(
        {"attachments": [{"kind": "image", "data": payload, "filename": "../../../../tmp/evil.png"}]}
    )
    assert raw.data is not None
    stored = EvidenceStore(root).save(check_image(raw.data))
    assert stored.path.resolve().is_relative_to(root.resolve())
    assert "evil" not in str(stored.path)
    assert stored.path.name == f"{stored.sha256}.png"
    assert not (tmp_path / "tmp").exists()
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == [stored.path]


@pytest.mark.parametrize(
    "evidence_id",
    ["../../etc/passwd", "", "ABCDEF" + "0" * 58, "0" * 63, "0" * 64 + "/x", "g" * 64],
)
def test_store_rejects_bad_ids(tmp_path: Path, evidence_id: str) -> None:
    store = EvidenceStore(tmp_path)
    with pytest.raises(ValueError):
        store.path_for(evidence_id)
    with pytest.raises(ValueError):
        store.open(evidence_id)


def test_store_missing_id(tmp_path: Path) -> None:
    store = EvidenceStore(tmp_path)
    assert store.path_for("a" * 64) is None
    with pytest.raises(FileNotFoundError):
        store.open("a" * 64)


def test_store_from_env(tmp_path: Path) -> None:
    assert store_from_env({"EVIDENCE_DIR": str(tmp_path)}).root == tmp_path
    default = store_from_env({})
    assert default.root.parts[-2:] == ("var", "evidence") and default.root.is_absolute()
    assert not (tmp_path / "var").exists()  # nothing created until save
