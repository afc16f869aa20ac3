"""Which notices interrupt the person at the desk: high priority, addressed to them, not yet acknowledged.

Each rings once. The app remembers every notice id it has looked at; the first look (at start) marks all
notices as seen *except* the high-priority ones still waiting for this person, so a desk that starts (or
restarts) says those once more and stays quiet about the rest. A notice posted on this desk is marked seen
the moment it is queued (``sent_here``), so an organizer's own notice does not ring back at them when the
server accepts it — on loopback that can happen before the app has even looked at the pending one.
Medium and low notices never interrupt: they wait in the feed (F5) and the status bar counts them.
"""

from __future__ import annotations

from collections.abc import Iterable

from focusdesk.station.model import Notice


def interrupts(notice: Notice, now: float) -> bool:
    return notice.priority == "high" and not notice.pending and notice.needs_my_ack(now)


class NoticeAlerts:
    def __init__(self) -> None:
        self._seen: set[str] = set()

    def start(self, notices: Iterable[Notice], now: float) -> None:
        """Forget what was seen; everything but the high-priority notices still waiting counts as seen."""
        self._seen = {n.id for n in notices if not interrupts(n, now)}

    def sent_here(self, notice_id: str) -> None:
        """This desk's person wrote it: never announce it to them."""
        self._seen.add(notice_id)

    def new(self, notices: Iterable[Notice], now: float) -> list[Notice]:
        """The notices to announce now (each only once)."""
        out = []
        for notice in notices:
            if notice.id in self._seen:
                continue
            self._seen.add(notice.id)
            if interrupts(notice, now):
                out.append(notice)
        return out
