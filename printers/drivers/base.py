"""What every driver offers: encode a bitmap to the family's byte stream, run a print over a ``Link``, and
read the printer's status. Drivers are stateless apart from their model; one instance per model is fine."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field

from printers.errors import PrinterState
from printers.link import Link, Pacing
from printers.models import Media, ModelSpec
from printers.raster import Bitmap


@dataclass(frozen=True, slots=True)
class PrintSettings:
    density: int | None = None  # None: the model's default; clamped to the model's range
    copies: int = 1
    media: Media | None = None  # None: the model's default label


@dataclass(frozen=True, slots=True)
class Progress:
    """A step of a job, for a progress bar: ``stage`` in connecting / sending / printing / done."""

    stage: str
    done: int = 0
    total: int = 0
    message: str = ""

    @property
    def fraction(self) -> float:
        return self.done / self.total if self.total else 0.0


ProgressCallback = Callable[[Progress], None]


def no_progress(_: Progress) -> None:
    return None


@dataclass(frozen=True, slots=True)
class PrinterStatus:
    state: PrinterState
    battery_percent: int | None = None
    media: str | None = None  # what the printer says is loaded, when it says
    detail: str = ""
    raw: bytes = field(default=b"", repr=False)

    @property
    def can_print(self) -> bool:
        return self.state in (PrinterState.READY, PrinterState.LOW_BATTERY)


@dataclass(frozen=True, slots=True)
class Write:
    """One write on the link, as the driver sends it."""

    data: bytes
    response: bool = False


class Driver(ABC):
    family: str = ""
    pacing: Pacing

    def __init__(self, model: ModelSpec) -> None:
        self.model = model

    @abstractmethod
    def encode(self, bitmap: Bitmap, settings: PrintSettings, max_write: int) -> list[Write]:
        """The whole job as the writes the driver will send, in order, chunked for ``max_write``.

        Pure: no I/O. The conversational parts (waiting for replies, status polls) are not in it; ``print``
        sends exactly these writes, interleaved with those waits.
        """

    @abstractmethod
    async def print(
        self, link: Link, bitmap: Bitmap, settings: PrintSettings, progress: ProgressCallback = no_progress
    ) -> None:
        """Send one job and return once the printer confirms it (or once sent, where the family has no
        confirmation). Raises ``PrinterFault`` for a condition the printer reports, ``ReplyTimeout`` /
        ``LinkLost`` for silence or a dropped link, ``ProtocolError`` for an answer that makes no sense."""

    @abstractmethod
    async def status(self, link: Link) -> PrinterStatus:
        """Ask the printer how it is; ``PrinterState.UNKNOWN`` where the family cannot say."""

    def pacing_floor_s(self, writes: list[Write]) -> float:
        """The least time the family's pacing allows for sending ``writes``: the benchmark's yardstick."""
        return max(0, len(writes) - 1) * self.pacing.interval_s

    def check_fits(self, bitmap: Bitmap, media: Media) -> None:
        expected = self.model.printable_across(media)
        if bitmap.width != expected:
            raise ValueError(
                f"{self.model.name} on {media.id} labels prints {expected} dots across; the bitmap is {bitmap.width}"
            )
