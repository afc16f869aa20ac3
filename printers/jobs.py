"""Print jobs: render → encode → send → confirm, with progress, one clear outcome, and retry.

A job never raises for a printer problem: it ends ``printed`` or ``failed`` with the reason in words a desk
can show ("The printer is out of labels. Load a new roll…") and a stable code the station stores. ``retry``
sends the same raster again — the badge is rendered once, so a retry prints exactly what failed.
"""

from __future__ import annotations

import asyncio
import enum
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from printers.badge import BadgeContent, BadgeTemplate, render_badge
from printers.drivers.base import Progress, ProgressCallback, no_progress
from printers.errors import PrinterError, ReplyTimeout
from printers.raster import Bitmap
from printers.session import PrinterSession

# A badge is seconds of work; a job still running after this is stuck, whatever the driver thinks.
JOB_TIMEOUT_S = 120.0


class JobState(enum.StrEnum):
    QUEUED = "queued"
    RENDERING = "rendering"
    CONNECTING = "connecting"
    SENDING = "sending"
    PRINTING = "printing"
    PRINTED = "printed"
    FAILED = "failed"


_STAGE_STATES = {
    "connecting": JobState.CONNECTING,
    "sending": JobState.SENDING,
    "printing": JobState.PRINTING,
    "done": JobState.PRINTING,
}


@dataclass(frozen=True, slots=True)
class JobOutcome:
    ok: bool
    code: str  # "printed", or the PrinterError code ("no_paper", "disconnected", "timeout"…)
    message: str
    attempt: int
    seconds: float

    @property
    def state(self) -> JobState:
        return JobState.PRINTED if self.ok else JobState.FAILED


@dataclass
class PrintJob:
    """One label for one printer session. ``content`` is a badge to render or a ready raster."""

    content: BadgeContent | Bitmap
    copies: int = 1
    template: BadgeTemplate | None = None
    label: str = ""  # what the queue shows, e.g. the attendee's name
    state: JobState = JobState.QUEUED
    attempts: int = 0
    outcome: JobOutcome | None = None
    progress: Progress | None = None
    _bitmap: Bitmap | None = field(default=None, repr=False)

    @property
    def rendered(self) -> Bitmap | None:
        """The raster this job sends, once rendered (None before its first run)."""
        return self._bitmap

    def bitmap_for(self, session: PrinterSession) -> Bitmap:
        """The raster for this session's printer, rendered once (a retry prints exactly what failed)."""
        if self._bitmap is None:
            if isinstance(self.content, Bitmap):
                self._bitmap = self.content
            else:
                target = session.target
                self._bitmap = render_badge(self.content, target.model, target.media, self.template)
        return self._bitmap

    async def run(
        self,
        session: PrinterSession,
        on_progress: ProgressCallback = no_progress,
        on_state: Callable[[PrintJob], None] | None = None,
    ) -> JobOutcome:
        self.attempts += 1
        started = time.monotonic()

        def set_state(state: JobState) -> None:
            if state != self.state:
                self.state = state
                if on_state is not None:
                    on_state(self)

        def report(progress: Progress) -> None:
            self.progress = progress
            set_state(_STAGE_STATES.get(progress.stage, self.state))
            on_progress(progress)

        try:
            set_state(JobState.RENDERING)
            bitmap = self.bitmap_for(session)
            async with asyncio.timeout(JOB_TIMEOUT_S):
                await session.print(bitmap, self.copies, report)
        except TimeoutError:
            err = ReplyTimeout(f"The print did not finish within {JOB_TIMEOUT_S:g} s.", "Check the printer and retry.")
            self.outcome = JobOutcome(False, err.code, str(err), self.attempts, time.monotonic() - started)
        except PrinterError as err:
            self.outcome = JobOutcome(False, err.code, str(err), self.attempts, time.monotonic() - started)
        else:
            done = f"Printed on {session.target.describe()}."
            self.outcome = JobOutcome(True, "printed", done, self.attempts, time.monotonic() - started)
        set_state(self.outcome.state)
        return self.outcome

    async def retry(
        self,
        session: PrinterSession,
        on_progress: ProgressCallback = no_progress,
        on_state: Callable[[PrintJob], None] | None = None,
    ) -> JobOutcome:
        """Run a failed job again (a second print of a printed badge is a reprint: make a new job)."""
        if self.state is not JobState.FAILED:
            raise ValueError(f"only a failed job can be retried; this one is {self.state.value}")
        return await self.run(session, on_progress, on_state)
