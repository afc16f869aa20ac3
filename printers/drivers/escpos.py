"""Generic ESC/POS raster printing, and the ``GS v 0`` helpers the Phomemo driver shares.

Facts: PRINTERS.md §2 (the raster command) and §5 (ESC/POS). A job is ``ESC @`` (reset), the bitmap as
``GS v 0`` blocks of at most 255 rows, then ``ESC d n`` to feed it past the tear bar. These printers have no
flow control, so the bytes go in 128-byte writes 20 ms apart (catprinter PR #60, phomemo-tools #3: faster
than that and the printer silently drops the tail of the label).

Status uses the real-time query ``DLE EOT n`` from the generic ESC/POS command reference. It is *unverified*
on the cheap BLE and network units this driver targets: many clones never answer it, so silence means
"unknown", never an error.
"""

from __future__ import annotations

import asyncio
import struct
from abc import abstractmethod
from collections.abc import Callable, Sequence
from typing import TypeVar

from printers.drivers.base import (
    Driver,
    PrinterStatus,
    PrintSettings,
    Progress,
    ProgressCallback,
    Write,
    no_progress,
)
from printers.errors import PrinterFault, PrinterState, ReplyTimeout
from printers.link import Link, Pacer, Pacing
from printers.models import ModelSpec
from printers.raster import Bitmap

T = TypeVar("T")

ESC_INIT = b"\x1b\x40"  # ESC @: reset to defaults, drop anything half-received
GS_V0 = b"\x1d\x76\x30\x00"  # GS v 0, mode 0 (normal size)
MAX_BLOCK_ROWS = 255  # more per block overflows some units' line buffer (crabdancing/phomemo-d30 PR #10)
DLE_EOT = b"\x10\x04"
FEED_LINES = 4  # ESC d n after the label: enough to bring the last row past a typical tear bar (unverified)


# --- raster encoding, shared with the Phomemo driver ---------------------------------------------------------


def raster_block_header(width_bytes: int, rows: int) -> bytes:
    """``1D 76 30 00 xL xH yL yH``: x = bytes per row, y = rows, both little-endian."""
    return GS_V0 + struct.pack("<HH", width_bytes, rows)


def raster_blocks(bitmap: Bitmap, max_rows: int = MAX_BLOCK_ROWS) -> bytes:
    """The whole bitmap as consecutive ``GS v 0`` blocks. The printer prints the blocks back to back, so a
    long label split at 255 rows comes out as one label. Bitmap rows are already MSB-first, 1 = black, which
    is exactly the raster layout, so rows go out unchanged."""
    out = bytearray()
    for start in range(0, bitmap.height, max_rows):
        rows = bitmap.rows[start : start + max_rows]
        out += raster_block_header(bitmap.stride, len(rows))
        out += b"".join(rows)
    return bytes(out)


def chunk_writes(data: bytes, size: int, *, response: bool = False) -> list[Write]:
    """A byte stream cut into writes of at most ``size`` bytes (the stream has no framing to respect)."""
    if size <= 0:
        raise ValueError(f"write size must be positive, got {size}")
    return [Write(data[i : i + size], response) for i in range(0, len(data), size)]


def write_size(pacing: Pacing, max_write: int) -> int:
    """The family's chunk, or less when the link cannot take that much in one write."""
    return min(pacing.chunk, max_write) if pacing.chunk else max_write


async def send_paced(
    link: Link,
    writes: Sequence[Write],
    pacer: Pacer,
    progress: ProgressCallback = no_progress,
    stage: str = "sending",
) -> None:
    """Every write on the pacer's schedule, reporting progress as it goes."""
    total = len(writes)
    for done, w in enumerate(writes, start=1):
        await pacer.wait()
        await link.write(w.data, response=w.response)
        progress(Progress(stage, done, total))


class ReplyBuffer:
    """What the printer sent back, as one byte stream.

    A BLE notification can carry one reply or several, and TCP delivers whatever segments it likes, so
    replies are parsed from an accumulated buffer rather than assuming one reply per ``read``.
    """

    def __init__(self, link: Link) -> None:
        self._link = link
        self._data = bytearray()

    async def read_frame(self, take: Callable[[bytearray], T | None], timeout: float) -> T:
        """Run ``take`` over the buffer until it returns a frame; ``take`` removes what it consumed and returns
        None while it needs more bytes. Raises ``ReplyTimeout`` when no whole frame arrives in time."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            frame = take(self._data)
            if frame is not None:
                return frame
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise ReplyTimeout(f"{self._link.description} did not answer within {timeout:g} s.")
            self._data += await self._link.read(remaining)

    async def read_exact(self, n: int, timeout: float) -> bytes:
        def take(buf: bytearray) -> bytes | None:
            if len(buf) < n:
                return None
            out = bytes(buf[:n])
            del buf[:n]
            return out

        return await self.read_frame(take, timeout)


def check_can_print(status: PrinterStatus) -> None:
    """Refuse to send a job the printer told us it cannot print. UNKNOWN (no answer) is not a refusal."""
    if status.state is not PrinterState.UNKNOWN and not status.can_print:
        raise PrinterFault(status.state, status.detail)


# --- ESC/POS real-time status (DLE EOT n) --------------------------------------------------------------------

# Every DLE EOT reply byte has bits 1 and 4 set and bits 0 and 7 clear; anything else is not a status byte.
_FIXED_MASK, _FIXED_BITS = 0x93, 0x12


def interpret_realtime_status(replies: dict[int, int]) -> PrinterStatus:
    """The four DLE EOT answers (n = 1 printer, 2 offline cause, 3 error cause, 4 paper sensor) as a state.

    Bits per the generic ESC/POS reference (unverified on these units): n=1 bit 3 offline; n=2 bit 2 cover
    open, bit 5 stopped at paper end, bit 6 error; n=3 bit 3 cutter error, bit 5 unrecoverable, bit 6
    auto-recoverable (usually head temperature); n=4 bits 2/3 paper near end, bits 5/6 paper end.
    """
    raw = bytes(replies.get(n, 0) for n in (1, 2, 3, 4))
    bad = [n for n, b in replies.items() if b & _FIXED_MASK != _FIXED_BITS]
    if bad:
        return PrinterStatus(
            PrinterState.UNKNOWN, detail=f"unexpected answer to status query {bad[0]}: {raw.hex(' ')}", raw=raw
        )
    printer, offline, error, paper = (replies.get(n, _FIXED_BITS) for n in (1, 2, 3, 4))
    if offline & 0x04:
        return PrinterStatus(PrinterState.COVER_OPEN, raw=raw)
    if paper & 0x60 or offline & 0x20:
        return PrinterStatus(PrinterState.NO_PAPER, raw=raw)
    if error & 0x08:
        return PrinterStatus(PrinterState.CUTTER_JAM, raw=raw)
    if error & 0x40:
        return PrinterStatus(PrinterState.OVERHEAT, detail="recoverable error, usually head temperature", raw=raw)
    if error & 0x20 or offline & 0x40:
        return PrinterStatus(PrinterState.ERROR, raw=raw)
    if printer & 0x08:
        return PrinterStatus(PrinterState.ERROR, detail="the printer says it is offline", raw=raw)
    detail = "paper nearly out" if paper & 0x0C else ""
    return PrinterStatus(PrinterState.READY, detail=detail, raw=raw)


class RasterStreamDriver(Driver):
    """Printers that take a one-way ``GS v 0`` stream (ESC/POS, Phomemo): check status, send the job paced,
    done once the last byte is out — these families confirm nothing. Subclasses frame one copy
    (``job_bytes``) and ask for status their own way (``_status``)."""

    pacing = Pacing(interval_s=0.020, chunk=128)
    checking_message = "Checking the printer"

    @abstractmethod
    def job_bytes(self, bitmap: Bitmap, settings: PrintSettings) -> bytes:
        """One copy's byte stream."""

    @abstractmethod
    async def _status(self, link: Link, pacer: Pacer) -> PrinterStatus: ...

    def encode(self, bitmap: Bitmap, settings: PrintSettings, max_write: int) -> list[Write]:
        # Each copy is a whole job: the framing around the raster is per label.
        stream = self.job_bytes(bitmap, settings) * max(1, settings.copies)
        return chunk_writes(stream, write_size(self.pacing, max_write))

    async def print(
        self, link: Link, bitmap: Bitmap, settings: PrintSettings, progress: ProgressCallback = no_progress
    ) -> None:
        writes = self.encode(bitmap, settings, link.max_write)
        pacer = link.pacer(self.pacing.interval_s)
        progress(Progress("connecting", message=self.checking_message))
        check_can_print(await self._status(link, pacer))
        await send_paced(link, writes, pacer, progress)
        progress(Progress("done", len(writes), len(writes)))

    async def status(self, link: Link) -> PrinterStatus:
        return await self._status(link, link.pacer(self.pacing.interval_s))


class EscPosDriver(RasterStreamDriver):
    """Generic ESC/POS printers: BLE 58 mm units (service 18f0) and 80 mm network printers (TCP 9100)."""

    family = "escpos"

    def __init__(self, model: ModelSpec, *, reply_timeout_s: float = 1.0) -> None:
        if model.family != self.family:
            raise ValueError(f"{model.name} is not an ESC/POS printer")
        super().__init__(model)
        self.reply_timeout_s = reply_timeout_s
        if model.transport == "tcp":
            # A network printer has TCP's flow control: pacing it like a BLE link would only slow it down.
            self.pacing = Pacing(interval_s=0.0, chunk=None)

    def job_bytes(self, bitmap: Bitmap, settings: PrintSettings) -> bytes:
        """One copy: a reset, the raster and a feed to the tear bar."""
        self.check_fits(bitmap, settings.media or self.model.default_media())
        return ESC_INIT + raster_blocks(bitmap) + b"\x1b\x64" + bytes([FEED_LINES])

    async def _status(self, link: Link, pacer: Pacer) -> PrinterStatus:
        link.discard_pending()
        replies = ReplyBuffer(link)
        answers: dict[int, int] = {}
        for n in (1, 2, 3, 4):
            await pacer.wait()
            await link.write(DLE_EOT + bytes([n]))
            try:
                answers[n] = (await replies.read_exact(1, self.reply_timeout_s))[0]
            except ReplyTimeout:
                # Many clones ignore DLE EOT; not knowing is not a reason to refuse a print.
                return PrinterStatus(
                    PrinterState.UNKNOWN,
                    detail=f"no answer to the ESC/POS status query {n}",
                    raw=bytes(answers.values()),
                )
        return interpret_realtime_status(answers)


__all__ = [
    "DLE_EOT",
    "ESC_INIT",
    "GS_V0",
    "MAX_BLOCK_ROWS",
    "EscPosDriver",
    "ReplyBuffer",
    "check_can_print",
    "chunk_writes",
    "interpret_realtime_status",
    "raster_block_header",
    "raster_blocks",
    "send_paced",
    "write_size",
]
