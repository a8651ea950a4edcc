"""Reading photos safely: every odd format of the sample data, and broken input never crashes."""
from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from celebface.errors import ImageError
from celebface.io.images import load_image
from conftest import DATASETS, SPORTS5


def test_all_sports5_formats_load_as_rgb() -> None:
    odd = [p for p in SPORTS5.rglob("*") if p.suffix.lower() in (".webp", ".png", ".jfif")][:12]
    assert any(p.suffix.lower() == ".webp" for p in odd) and any(p.suffix.lower() == ".jfif" for p in odd)
    for p in odd:
        img = load_image(p)
        assert img.mode == "RGB" and min(img.size) > 50


def test_wrong_extension_is_read_by_content() -> None:
    # celeb5 has a PNG saved as .jpg
    fakes = [p for p in (DATASETS / "celeb5").rglob("*.jpg") if p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"]
    assert fakes, "expected the PNG-named-.jpg photo in celeb5"
    assert load_image(fakes[0]).mode == "RGB"


def test_alpha_cmyk_grayscale_and_exif_orientation() -> None:
    rgba = Image.new("RGBA", (40, 30), (255, 0, 0, 0))  # fully transparent -> white background
    assert load_image(rgba).getpixel((5, 5)) == (255, 255, 255)
    cmyk = io.BytesIO()
    Image.new("CMYK", (40, 30), (0, 255, 255, 0)).save(cmyk, "JPEG")
    r, g, b = load_image(cmyk.getvalue()).getpixel((5, 5))
    assert r > 200 and g < 60 and b < 60
    assert load_image(Image.new("L", (40, 30), 128)).mode == "RGB"
    rotated = io.BytesIO()
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    Image.new("RGB", (40, 30)).save(rotated, "JPEG", exif=exif)
    assert load_image(rotated.getvalue()).size == (30, 40)


def test_a_callers_image_is_copied_never_changed() -> None:
    """load_image makes one copy of a photo (to_rgb no longer copies twice): a caller's RGB image is never the one
    returned, so scaling notes and later drawing never reach it; a real photo's pixels come back the same."""
    photo = Image.open(next(p for p in sorted(SPORTS5.rglob("*.jpg")))).convert("RGB")
    before = np.asarray(photo).copy()
    img = load_image(photo)
    assert img is not photo and np.array_equal(np.asarray(img), before)
    img.paste((0, 0, 0), (0, 0, 10, 10))
    img.info["celebface_scale"] = 2.0
    assert np.array_equal(np.asarray(photo), before) and "celebface_scale" not in photo.info


def test_broken_inputs_raise_imageerror_only(tmp_path) -> None:
    good = next(SPORTS5.glob("Roger_Federer/*.jpg")).read_bytes()
    with pytest.raises(ImageError, match="truncated|unreadable"):
        load_image(good[: len(good) // 3])
    with pytest.raises(ImageError, match="not an image"):
        load_image(b"<html>not a photo</html>")
    with pytest.raises(ImageError, match="no such file"):
        load_image(tmp_path / "missing.jpg")
    bomb = io.BytesIO()
    Image.new("1", (12000, 12000)).save(bomb, "PNG")  # 144 Mpx in a few kB
    with pytest.raises(ImageError) as exc:
        load_image(bomb.getvalue())
    assert exc.value.kind == "too_large"
    arr = np.zeros((20, 20, 3), np.uint8)
    assert load_image(arr).size == (20, 20)
