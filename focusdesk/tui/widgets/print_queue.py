"""The desk's print jobs, newest first: what each is, its state (with progress while it prints, with the
printer's reason when it failed) and how many attempts it took.

Progress arrives many times a second while a badge is sent; the list repaints at most ``REPAINT_S`` apart.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual.message import Message
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from focusdesk.station.printing import PrintUpdate, QueuedPrint
from printers.drivers.base import Progress

REPAINT_S = 0.1  # at most 10 repaints a second
LIMIT = 100
LABEL_CELLS = 22

_STATE = {
    "queued": ("◌", "queued", "yellow"),
    "printing": ("◐", "printing", "bold cyan"),
    "printed": ("✓", "printed", "green"),
    "failed": ("✗", "failed", "bold red"),
}
_KIND = {"badge": "badge", "reprint": "reprint", "test": "test"}


def job_prompt(job: QueuedPrint, progress: Progress | None = None) -> Text:
    """One job as a row: icon, time, label, kind, state, attempts; a failed job's reason on a second line."""
    icon, word, style = _STATE.get(job.state, ("?", job.state, "yellow"))
    text = Text()  # the first line fits 80 columns; a long reason wraps rather than hiding its hint
    text.append(f"{icon} ", style=style)
    text.append(time.strftime("%H:%M ", time.localtime(job.created_at)), style="dim")
    label = Text(job.label, style="bold")
    label.truncate(LABEL_CELLS, overflow="ellipsis", pad=True)  # by cells: 김민준 is six columns wide
    text.append_text(label)
    text.append(" ")
    text.append(f"{_KIND.get(job.kind, job.kind):<8}", style="dim")
    if job.state == "printing" and progress is not None:
        percent = f" {progress.fraction:.0%}" if progress.total else ""
        word = f"{progress.stage}{percent}"
    text.append(f"{word:<14}", style=style)
    tries = f"{job.attempts} attempt" + ("" if job.attempts == 1 else "s")
    text.append(tries if job.attempts else "", style="dim")
    if job.state == "failed" and job.error:
        text.append(f"\n  {job.error}", style="red")
    return text


class PrintQueueList(OptionList):
    """Jobs from ``app.desk.printing``; repaints (coalesced) on ``app.print_changed``."""

    @dataclass
    class Repainted(Message):
        """The rows changed: what the highlighted job allows may have changed too."""

        queue_list: PrintQueueList

        @property
        def control(self) -> PrintQueueList:
            return self.queue_list

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._jobs: dict[str, QueuedPrint] = {}
        self._pending = False

    def on_mount(self) -> None:
        self.app.print_changed.subscribe(self, self._changed)  # type: ignore[attr-defined]
        self.repaint_jobs()

    @property
    def jobs(self) -> list[QueuedPrint]:
        return list(self._jobs.values())

    @property
    def highlighted_job(self) -> QueuedPrint | None:
        option = self.highlighted_option
        return self._jobs.get(option.id) if option is not None and option.id else None

    def highlight_job(self, job_id: int) -> None:
        if str(job_id) in self._jobs:
            self.highlighted = self.get_option_index(str(job_id))

    def _changed(self, _: PrintUpdate) -> None:
        if not self._pending:
            self._pending = True
            self.set_timer(REPAINT_S, self.repaint_jobs)

    def repaint_jobs(self) -> None:
        self._pending = False
        queue: Any = self.app.desk.printing  # type: ignore[attr-defined]
        jobs = queue.jobs(LIMIT)
        current = self.highlighted_option.id if self.highlighted_option is not None else None
        before, self._jobs = self._jobs, {str(job.id): job for job in jobs}
        prompts = {key: job_prompt(job, queue.progress.get(job.id)) for key, job in self._jobs.items()}
        if list(before) == list(self._jobs):
            # Same jobs (a progress tick, a state change): repaint rows in place, keeping scroll and cursor.
            for key, prompt in prompts.items():
                self.replace_option_prompt(key, prompt)
        else:
            self.set_options(Option(prompt, id=key) for key, prompt in prompts.items())
            if jobs:
                self.highlighted = self.get_option_index(current) if current in self._jobs else 0
        failed = sum(1 for job in jobs if job.state == "failed")
        waiting = sum(1 for job in jobs if job.state in ("queued", "printing"))
        parts = [f"{waiting} to print" if waiting else "", f"{failed} failed" if failed else ""]
        self.border_subtitle = " · ".join(p for p in parts if p) or ("empty" if not jobs else "all printed")
        self.post_message(self.Repainted(self))
