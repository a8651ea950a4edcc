"""What the server needs of a recogniser: a small protocol, so the app can serve any implementation."""
from __future__ import annotations

from typing import Any, Protocol

from PIL import Image


class RecognizerLike(Protocol):
    classes: list[str]
    can_enroll: bool

    def info(self) -> dict: ...

    def predict_pil(self, img: Image.Image, name: str = "image") -> Any: ...
