"""Images that carry what evidence storage must strip: GPS in EXIF and XMP, PNG text chunks.

Every one holds :data:`GPS_MARK` somewhere in its metadata, so a test can prove it is gone.
"""

from __future__ import annotations

import io

from PIL import ExifTags, Image, PngImagePlugin

GPS_MARK = "31.2304N-GPS-SECRET"


def gps_exif(orientation: int = 1) -> Image.Exif:
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = orientation
    exif[ExifTags.Base.Make] = "PhoneCo"
    exif[ExifTags.Base.ImageDescription] = GPS_MARK
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (31.0, 13.0, 49.0)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (121.0, 28.0, 25.0)
    return exif


def encode_image(image: Image.Image, fmt: str, **params: object) -> bytes:
    out = io.BytesIO()
    image.save(out, format=fmt, **params)
    return out.getvalue()


def jpeg_with_gps(orientation: int = 1, size: tuple[int, int] = (40, 20)) -> bytes:
    # Left half red, right half blue: orientation is checkable from pixels.
    image = Image.new("RGB", size, (0, 0, 255))
    image.paste((255, 0, 0), (0, 0, size[0] // 2, size[1]))
    return encode_image(image, "JPEG", exif=gps_exif(orientation), quality=95, xmp=f"<x>{GPS_MARK}</x>".encode())


def png_with_metadata() -> bytes:
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", GPS_MARK)
    return encode_image(Image.new("RGBA", (30, 20), (10, 200, 10, 128)), "PNG", pnginfo=info, exif=gps_exif())


def webp_with_metadata() -> bytes:
    return encode_image(Image.new("RGB", (30, 20), (200, 10, 10)), "WEBP", exif=gps_exif(), quality=90)
