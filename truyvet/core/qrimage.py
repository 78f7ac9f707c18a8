"""QR codes in an uploaded image (PNG, JPEG or WebP), read with zxing-cpp.

For pages that accept a photo or a camera frame of a code. The image's
header is checked before any pixel is decoded, so a decompression bomb is
refused cheaply.
"""

from __future__ import annotations

import io

IMAGE_FORMATS = frozenset({"PNG", "JPEG", "WEBP"})
MAX_PIXELS = 4096 * 4096


class QrImageError(ValueError):
    """An upload that is not a readable image of a reasonable size."""


def qr_texts_in_image(data: bytes, *, max_bytes: int = 8 * 1024 * 1024) -> list[str]:
    """The texts of the QR codes found in ``data`` (empty when none)."""
    import zxingcpp
    from PIL import Image, UnidentifiedImageError

    if not data:
        raise QrImageError("empty image")
    if len(data) > max_bytes:
        raise QrImageError(f"image over {max_bytes // 1024} KB")
    try:
        with Image.open(io.BytesIO(data)) as probe:
            if probe.format not in IMAGE_FORMATS:
                raise QrImageError("not a PNG, JPEG or WebP image")
            width, height = probe.size
            if width * height > MAX_PIXELS:
                raise QrImageError("too many pixels")
            image = probe.convert("L")
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        if isinstance(exc, QrImageError):
            raise
        raise QrImageError("unreadable image") from None
    found = zxingcpp.read_barcodes(
        image, formats=zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)
    )
    return [code.text for code in found if code.valid and code.text]
