"""What every route shares: the recogniser, how to enrol, the limits, and the decoding slots and pixel budget."""
from __future__ import annotations

import contextlib
import threading
from dataclasses import dataclass
from typing import Callable, Iterator, Optional

from fastapi import UploadFile

from .budget import PixelBudget
from .guard import decode_upload, header_pixels, read_upload, refused_early, upload_name
from .protocol import RecognizerLike


@dataclass
class ServiceContext:
    """The app's shared state, made once by create_app.

    :param rec: the loaded recogniser
    :param enroll: (name, images) -> an enrolment report, or None when the model cannot enrol
    :param slots: photos decoded and named at the same time
    :param budget: pixels decoded at the same time across the server
    """

    rec: RecognizerLike
    enroll: Optional[Callable]
    token: Optional[str]
    max_upload_bytes: int
    max_pixels: int
    slots: threading.BoundedSemaphore
    budget: PixelBudget

    @contextlib.contextmanager
    def decoding(self, *blobs: bytes) -> Iterator[None]:
        """Hold a decoding slot and the photos' pixels in the server's budget while the body runs."""
        with self.slots:
            taken = self.budget.acquire(sum(header_pixels(data) for data in blobs))
            try:
                yield
            finally:
                self.budget.release(taken)

    @contextlib.contextmanager
    def uploaded_photo(self, file: UploadFile) -> Iterator[tuple]:
        """(the decoded photo, its name) of one upload, held in a decoding slot and the pixel budget while the body
        runs; an upload whose header already shows it will be refused gets its 413/415 at once, without a slot."""
        name = upload_name(file)
        data = read_upload(file, self.max_upload_bytes)
        if refused_early(data, self.max_pixels):
            decode_upload(data, name, self.max_pixels)  # raises the 413/415 with its message
        with self.decoding(data):
            img = decode_upload(data, name, self.max_pixels)
            del data
            yield img, name

    def decode_all(self, files: list[UploadFile]) -> tuple[list, list[str]]:
        """Decode uploads one at a time (the pixels of one photo at a time are held while it is read).

        :return: the images and the uploads' names ("photo N" for an upload without one)
        """
        labels = [upload_name(f, f"photo {i + 1}") for i, f in enumerate(files)]
        blobs = [read_upload(f, self.max_upload_bytes) for f in files]
        for data, label in zip(blobs, labels):
            if refused_early(data, self.max_pixels):
                decode_upload(data, label, self.max_pixels)  # raises its 413/415 before any slot is taken
        images = []
        while blobs:  # one photo decoded at a time, its bytes dropped once decoded
            data = blobs.pop(0)
            with self.decoding(data):
                images.append(decode_upload(data, labels[len(images)], self.max_pixels))
        return images, labels
