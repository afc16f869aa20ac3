"""Failed-login throttling: a sliding window of failures per key (email, client address)."""

from __future__ import annotations

import math
import threading
import time
from collections import deque


class FailureWindow:
    def __init__(self, limit: int, window_s: float, clock=time.monotonic):
        self.limit = limit
        self.window_s = window_s
        self._clock = clock
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _trim(self, key: str, now: float) -> deque[float]:
        q = self._failures.setdefault(key, deque())
        while q and q[0] <= now - self.window_s:
            q.popleft()
        return q

    def retry_after(self, key: str) -> int | None:
        """Whole seconds until another attempt is allowed, or None when allowed now."""
        with self._lock:
            now = self._clock()
            q = self._trim(key, now)
            if len(q) < self.limit:
                if not q:
                    self._failures.pop(key, None)
                return None
            return max(1, math.ceil(q[0] + self.window_s - now))

    def fail(self, key: str) -> None:
        with self._lock:
            self._trim(key, self._clock()).append(self._clock())

    def clear(self, key: str) -> None:
        with self._lock:
            self._failures.pop(key, None)
