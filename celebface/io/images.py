"""Reading photos safely: any format Pillow knows, EXIF orientation, alpha, odd modes, size limits."""
from __future__ import annotations

import io
import os
import warnings
from pathlib import Path
from typing import Optional, Union

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from ..config import MAX_PIXELS
from ..errors import ImageError
from .fileio import not_a_file

ImageSource = Union[str, os.PathLike, bytes, Image.Image, np.ndarray]


IMAGE_SUFFIXES = {".jpg", ".jpeg", ".jfif", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff", ".pjpeg", ".pjp"}


def is_image_name(path: Union[str, os.PathLike]) -> bool:
    """True for file names that look like photos (hidden files and other suffixes are skipped)."""
    p = Path(path)
    return not p.name.startswith(".") and p.suffix.lower() in IMAGE_SUFFIXES


def to_rgb(img: Image.Image) -> Image.Image:
    """Return an RGB copy: EXIF orientation applied, alpha composited on white, CMYK/grayscale/palette converted."""
    try:
        img, copied = ImageOps.exif_transpose(img), True  # a new image, a plain copy when nothing is turned
    except Exception:  # broken EXIF must not cost the photo
        copied = False
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        img = img.convert("RGBA")
        background = Image.new("RGBA", img.size, (255, 255, 255, 255))
        img = Image.alpha_composite(background, img)
    if img.mode == "I;16" or img.mode == "I":
        arr = np.asarray(img, dtype=np.float64)
        top = arr.max() or 1.0
        img = Image.fromarray((arr * (255.0 / top)).astype(np.uint8))
    return img if copied and img.mode == "RGB" else img.convert("RGB")  # never a second full-size copy


def scale_of(img: Image.Image) -> tuple[float, tuple[int, int]]:
    """How much larger the photo on disk is than this decoded copy, and its full size (1.0 and the image's own
    size for a photo decoded whole)."""
    return float(img.info.get("celebface_scale", 1.0)), tuple(img.info.get("celebface_size", img.size))


def _reduce(img: Image.Image, max_side: Optional[int]) -> Image.Image:
    """Shrink a decoded photo by a whole factor before any conversion copies it at full size."""
    if not max_side or max(img.size) <= max_side:
        return img
    factor = -(-max(img.size) // max_side)  # ceil: the result is at most max_side
    if img.mode in ("RGB", "RGBA", "L", "LA", "CMYK", "I", "F"):
        return img.reduce(factor)
    size = (max(1, img.width // factor), max(1, img.height // factor))
    return img.resize(size, Image.NEAREST)  # palette and 1-bit photos: keep their colours exact


def _working_copy(img: Image.Image, full: tuple[int, int], max_side: Optional[int]) -> Image.Image:
    """Shrink to `max_side` if larger, and note the scale back to the full-size photo in img.info."""
    if max_side and max(img.size) > max_side:
        f = max_side / max(img.size)
        img = img.resize((max(1, round(img.width * f)), max(1, round(img.height * f))), Image.BILINEAR)
    if (img.width >= img.height) != (full[0] >= full[1]):  # EXIF rotated it
        full = (full[1], full[0])
    if img.size != full:
        img.info["celebface_scale"] = max(full) / max(img.size)
        img.info["celebface_size"] = full
    return img


def load_image(source: ImageSource, max_pixels: int = MAX_PIXELS, max_side: Optional[int] = None) -> Image.Image:
    """Open a photo from a path, bytes, PIL image or HxWx3 uint8 array as an RGB PIL image.

    :param max_pixels: photos with more pixels are refused (ImageError kind "too_large")
    :param max_side: decode at most this long a side: JPEGs are decoded at a reduced scale (1/2 to 1/8, far
        less memory), other formats shrunk after decoding; `scale_of(img)` maps coordinates back
    Raises ImageError (never anything else) with a message a user can act on.
    """
    if isinstance(source, Image.Image):
        return to_rgb(source)
    if isinstance(source, np.ndarray):
        if source.ndim == 2:
            source = np.stack([source] * 3, axis=-1)
        if source.ndim != 3 or source.shape[2] not in (3, 4):
            raise ImageError(f"array of shape {source.shape} is not an image (need HxWx3 uint8)")
        return to_rgb(Image.fromarray(source.astype(np.uint8)))
    name = "uploaded photo" if isinstance(source, (bytes, bytearray)) else str(source)
    if isinstance(source, (str, os.PathLike)) and not_a_file(source):  # a FIFO would block open() for good
        raise ImageError(f"{name}: {not_a_file(source)}")
    stream = io.BytesIO(source) if isinstance(source, (bytes, bytearray)) else source
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(stream) as img:
                w, h = img.size
                if w * h > max_pixels:
                    raise ImageError(f"{name}: {w}x{h} pixels is more than the {max_pixels:,} allowed", "too_large")
                if max_side and max(w, h) > max_side:
                    f = max_side / max(w, h)
                    img.draft("RGB", (max(1, int(w * f) + 1), max(1, int(h * f) + 1)))
                img.load()
                return _working_copy(to_rgb(_reduce(img, max_side)), (w, h), max_side)
    except ImageError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageError(f"{name}: refused as a decompression bomb ({exc})", "too_large") from None
    except FileNotFoundError:
        raise ImageError(f"{name}: no such file") from None
    except UnidentifiedImageError:
        raise ImageError(f"{name}: not an image Pillow can read") from None
    except (OSError, ValueError, SyntaxError, EOFError) as exc:
        raise ImageError(f"{name}: unreadable or truncated image ({exc})") from None
    except Exception as exc:  # any decoder failure is the photo's fault, not ours
        raise ImageError(f"{name}: unreadable image ({type(exc).__name__}: {exc})") from None
