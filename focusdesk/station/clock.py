"""The desk's clock offset to the server, measured from round trips (DESIGN.md, "Clocks").

Each sample is one round trip: the desk notes its clock when asking (``t0``) and answering (``t1``), the
server stamps its own clock in between. If the server stamped at the midpoint, ``offset = server -
(t0 + t1) / 2``; the true error is at most half the round trip, so the sample with the **lowest RTT**
is the most trustworthy. Desk clocks drift and get stepped by NTP, so samples age out: the best of a
recent window is used, not the best ever.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ClockSample:
    offset_s: float  # add to the desk's clock to get the server's
    rtt_s: float
    taken_at: float  # desk monotonic time the sample was taken

    @property
    def error_s(self) -> float:
        """The most this sample's offset can be wrong by."""
        return self.rtt_s / 2


class Clock:
    """Keeps recent samples and answers "what time is it on the server"."""

    def __init__(self, *, window_s: float = 15 * 60, max_samples: int = 64, wall=time.time, mono=time.monotonic):
        self.window_s = window_s
        self._samples: deque[ClockSample] = deque(maxlen=max_samples)
        self._wall = wall
        self._mono = mono
        self._best: ClockSample | None = None
        self._fallback_offset_s = 0.0

    def add(self, t0: float, server_time: float, t1: float) -> ClockSample | None:
        """Record a round trip started at desk wall time ``t0`` and answered at ``t1``."""
        rtt = t1 - t0
        if rtt < 0 or rtt > 60:  # the desk's clock was stepped mid-trip: the sample means nothing
            return None
        sample = ClockSample(offset_s=server_time - (t0 + t1) / 2, rtt_s=rtt, taken_at=self._mono())
        self._samples.append(sample)
        self._best = None
        return sample

    @property
    def wall(self):
        """The desk's own clock (what round trips must be timed with)."""
        return self._wall

    def seed(self, offset_s: float) -> None:
        """An offset remembered from an earlier run: used until the first fresh sample arrives."""
        self._fallback_offset_s = offset_s

    @property
    def best(self) -> ClockSample | None:
        """The lowest-RTT sample of the recent window (or the newest, if all have aged out)."""
        if self._best is not None and self._mono() - self._best.taken_at <= self.window_s:
            return self._best
        if not self._samples:
            return None
        horizon = self._mono() - self.window_s
        recent = [s for s in self._samples if s.taken_at >= horizon] or [self._samples[-1]]
        self._best = min(recent, key=lambda s: s.rtt_s)
        return self._best

    @property
    def offset_s(self) -> float:
        best = self.best
        return best.offset_s if best is not None else self._fallback_offset_s

    @property
    def error_s(self) -> float | None:
        """Half the best sample's RTT, or None when nothing has been measured yet."""
        best = self.best
        return best.error_s if best is not None else None

    def now(self) -> float:
        """The server's time now, as well as this desk knows it (epoch seconds)."""
        return self._wall() + self.offset_s
