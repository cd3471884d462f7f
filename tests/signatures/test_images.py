"""Images are re-encoded PNG or JPEG within the width limit; SVG, WebP and anything
unreadable is refused."""
import io

import pytest
from PIL import Image

from signatures import images, limits
from tests.signatures.conftest import png


def test_a_wide_png_is_shrunk_and_re_encoded():
    out = images.reencode(png(1600, 800) + b"trailing bytes hidden after the image")
    assert (out.content_type, out.width, out.height) == ("image/png", limits.IMAGE_STORED_WIDTH_MAX_PX, 200)
    assert b"trailing bytes" not in out.content
    assert Image.open(io.BytesIO(out.content)).format == "PNG"


def test_a_jpeg_stays_a_jpeg_without_its_metadata():
    source = io.BytesIO()
    image = Image.new("RGB", (100, 50), (200, 10, 10))
    exif = Image.Exif()
    exif[0x013B] = "Secret Photographer"  # Artist
    image.save(source, "JPEG", exif=exif)
    out = images.reencode(source.getvalue())
    assert out.content_type == "image/jpeg" and (out.width, out.height) == (100, 50)
    assert b"Secret Photographer" not in out.content


@pytest.mark.parametrize("data,code", [
    (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>', "svg"),
    (b"<svg><script>alert(1)</script></svg>", "svg"),
    (png(10, 10, "RGB", "WEBP"), "unsupported_format"),
    (png(10, 10, "RGB", "GIF"), "unsupported_format"),
    (b"not an image at all", "unreadable"),
    (png(10, 10)[:40], "unreadable"),
])
def test_refused_images(data, code):
    with pytest.raises(images.ImageRefused) as caught:
        images.reencode(data)
    assert caught.value.code == code


def test_an_upload_over_the_limit_is_refused_before_decoding():
    with pytest.raises(images.ImageRefused) as caught:
        images.reencode(b"\x89PNG" + b"0" * limits.IMAGE_UPLOAD_BYTES)
    assert caught.value.code == "too_large"


def test_a_decompression_bomb_is_refused(monkeypatch):
    monkeypatch.setattr(limits, "IMAGE_PIXELS_MAX", 100)
    with pytest.raises(images.ImageRefused) as caught:
        images.reencode(png(20, 20))
    assert caught.value.code == "too_many_pixels"
