"""A server-wide budget of decoded pixels: requests wait for room instead of decoding all at once."""
from __future__ import annotations

import threading
import time

from ..runtime import release_memory


class PixelBudget:
    """At most `capacity` pixels decoded at a time across all requests; one photo larger than the whole
    budget still runs (alone). Freed memory is handed back to the system at most once per `trim_every` s."""

    def __init__(self, capacity: int, trim_every: float = 1.0) -> None:
        self.capacity, self.used = capacity, 0
        self._cond = threading.Condition()
        self._trim_every, self._trimmed = trim_every, 0.0

    def acquire(self, pixels: int) -> int:
        take = min(pixels, self.capacity)
        with self._cond:
            self._cond.wait_for(lambda: self.used + take <= self.capacity)
            self.used += take
        return take

    def release(self, taken: int) -> None:
        with self._cond:
            self.used -= taken
            idle = self.used == 0
            self._cond.notify_all()
        now = time.monotonic()
        if idle and now - self._trimmed >= self._trim_every:
            self._trimmed = now
            release_memory()
