"""Images of signatures (logo, photo), re-encoded before they are stored (pure: Pillow,
no Django). Only PNG and JPEG are accepted and written: what every mail client shows.
SVG (which can carry script) and WebP (which older clients do not show) are refused;
re-encoding drops metadata and anything hidden after the image data."""
from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError

from . import limits

CONTENT_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg"}


class ImageRefused(ValueError):
    """`code`: too_large, svg, unsupported_format, unreadable, too_many_pixels."""

    def __init__(self, code: str, detail: str = ""):
        super().__init__(code)
        self.code, self.detail = code, detail


@dataclass(frozen=True)
class EncodedImage:
    content: bytes
    content_type: str
    width: int
    height: int


def _looks_like_svg(data: bytes) -> bool:
    head = data[:2048].lstrip().lower()
    return head.startswith(b"<") or b"<svg" in head


def reencode(data: bytes, *, max_width: int = limits.IMAGE_STORED_WIDTH_MAX_PX) -> EncodedImage:
    if len(data) > limits.IMAGE_UPLOAD_BYTES:
        raise ImageRefused("too_large")
    if _looks_like_svg(data):
        raise ImageRefused("svg")
    try:
        image = Image.open(io.BytesIO(data))
        kind = image.format
        if kind not in CONTENT_TYPES:
            raise ImageRefused("unsupported_format", kind or "")
        width, height = image.size
        if width * height > limits.IMAGE_PIXELS_MAX:
            raise ImageRefused("too_many_pixels")
        image.load()
    except ImageRefused:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError,
            SyntaxError):
        raise ImageRefused("unreadable") from None
    if kind == "JPEG":
        image = image.convert("RGB")
    elif image.mode not in ("RGB", "RGBA", "L", "LA"):
        image = image.convert("RGBA")
    if image.width > max_width:
        new_height = max(1, round(image.height * max_width / image.width))
        image = image.resize((max_width, new_height), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    if kind == "JPEG":
        image.save(out, "JPEG", quality=85, optimize=True, progressive=True)
    else:
        image.save(out, "PNG", optimize=True)
    return EncodedImage(out.getvalue(), CONTENT_TYPES[kind], image.width, image.height)
