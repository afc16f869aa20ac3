"""Virtual ESC/POS printers: a stream parser for ``GS v 0`` raster jobs, and the generic ESC/POS device.

The parser never assumes write boundaries. Over BLE a command can straddle two writes; behind the TCP server
(``printers.virtual.tcp``) bytes arrive in whatever segments the socket delivers. So everything received is
appended to one buffer and whole commands are taken from its front; raster rows are taken as soon as a whole
row is there, the way a thermal printer prints lines as they arrive.

That is also how a real unit fails when bytes are lost (phomemo-tools #3): the raster block keeps counting
bytes, swallows whatever comes next as pixels, and the label comes out short or garbled. When the stream goes
quiet mid-job (``idle_print_s``) or the link drops, the device prints what it has and forgets the rest.
"""

from __future__ import annotations

import asyncio
from typing import Any, ClassVar

from printers.drivers.escpos import DLE_EOT, ESC_INIT, MAX_BLOCK_ROWS
from printers.models import ESCPOS_NOTIFY, ESCPOS_SERVICE, ESCPOS_WRITE, ModelSpec
from printers.raster import Bitmap
from printers.virtual.base import LinkLimits, VirtualPrinter

GS_V = b"\x1d\x76"
ESC_FEED_LINES = b"\x1b\x64"
ESC_FEED_DOTS = b"\x1b\x4a"


def default_limits(model: ModelSpec) -> LinkLimits:
    """BLE: MTU 185 (182-byte writes), a four-write buffer draining one write per 20 ms. TCP: the socket
    has flow control, so nothing is lost and any segment size arrives."""
    if model.transport == "tcp":
        return LinkLimits(max_write=1 << 16, min_interval_s=0.0, buffer_writes=1 << 10)
    return LinkLimits(max_write=182, min_interval_s=0.020, buffer_writes=4)


class RasterStreamPrinter(VirtualPrinter):
    """A printer that takes a byte stream of fixed-length commands and ``GS v 0`` raster blocks.

    Subclasses list their commands in ``COMMANDS`` (two-byte prefix → whole command length), act on them in
    ``on_command`` (calling ``end_page`` for the command that ends a label) and say in ``check_job`` what a
    well-formed job looks like. ``protocol_errors`` collects every deviation; a driver test expects it empty.
    """

    COMMANDS: ClassVar[dict[bytes, int]] = {}
    idle_print_s: float = 0.5  # silence mid-job after which the printer prints what it has

    def __init__(self, model: ModelSpec, *, limits: LinkLimits | None = None, **kwargs: Any) -> None:
        super().__init__(model, limits=limits or default_limits(model), **kwargs)
        self.protocol_errors: list[str] = []
        self.truncated_pages = 0  # pages printed from a job that never finished
        self.refused_pages = 0  # whole labels received while a fault stopped printing
        self._idle: asyncio.TimerHandle | None = None
        self._last_was_garbage = False
        self._reset_stream()

    # --- wiring ------------------------------------------------------------------------------------------------

    def attach(self, notify: Any, disconnect: Any) -> None:
        self._reset_stream()
        super().attach(notify, disconnect)

    def detach(self) -> None:
        # Rows already through the head stay printed; the rest of the job never arrives.
        self.flush_partial()
        super().detach()

    # --- the stream ----------------------------------------------------------------------------------------------

    def _reset_stream(self) -> None:
        self._buf = bytearray()
        self._raster_left = 0  # rows still expected in the current GS v 0 block
        self._raster_width = 0
        self._page_rows: list[bytes] = []
        self._page_width: int | None = None
        self.job: list[bytes] = []  # commands (raster blocks as their 8-byte header) since the last page
        if self._idle is not None:
            self._idle.cancel()
            self._idle = None

    def handle(self, data: bytes) -> None:
        self._buf += data
        self._parse()
        self._arm_idle()

    def _parse(self) -> None:
        buf = self._buf
        while buf:
            if self._raster_left:
                width = self._raster_width
                rows = min(self._raster_left, len(buf) // width)
                if rows == 0:
                    return
                self._page_rows.extend(bytes(buf[i * width : (i + 1) * width]) for i in range(rows))
                del buf[: rows * width]
                self._raster_left -= rows
                continue
            length = self._command_length()
            if length is None:
                return  # wait for the rest of the command
            if length == 0:
                if not self._last_was_garbage:
                    self.protocol_errors.append(f"unknown command byte 0x{buf[0]:02x} ({bytes(buf[:8]).hex(' ')})")
                self._last_was_garbage = True
                del buf[0]
                continue
            self._last_was_garbage = False
            command = bytes(buf[:length])
            del buf[:length]
            self.job.append(command)
            if command.startswith(GS_V):
                self._raster_header(command)
            else:
                self.on_command(command)

    def _command_length(self) -> int | None:
        """The whole length of the command at the front of the buffer; None: incomplete; 0: unknown."""
        buf = self._buf
        if len(buf) < 2:
            return None if any(p[0] == buf[0] for p in self.COMMANDS) else 0
        length = self.COMMANDS.get(bytes(buf[:2]))
        if length is None:
            return 0
        return length if len(buf) >= length else None

    def _raster_header(self, command: bytes) -> None:
        mode, width = command[2:4], int.from_bytes(command[4:6], "little")
        rows = int.from_bytes(command[6:8], "little")
        if mode != b"\x30\x00":
            self.protocol_errors.append(f"raster command with mode {mode.hex(' ')}, expected 30 00")
        if width == 0 or rows == 0:
            self.protocol_errors.append(f"empty raster block ({width} bytes x {rows} rows)")
            return
        if rows > MAX_BLOCK_ROWS:
            # §2: more per block overflows the line buffer of some units (crabdancing/phomemo-d30 PR #10).
            self.protocol_errors.append(f"raster block of {rows} rows; at most {MAX_BLOCK_ROWS} are safe")
        if self._page_width is not None and width != self._page_width:
            self.protocol_errors.append(f"raster width changed mid-label: {self._page_width} -> {width} bytes")
        self._page_width = width
        self._raster_width = width
        self._raster_left = rows

    def _arm_idle(self) -> None:
        if self._idle is not None:
            self._idle.cancel()
            self._idle = None
        if not (self._buf or self._raster_left or self._page_rows):
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # fed synchronously (a unit test): call flush_partial() to time out
        self._idle = loop.call_later(self.idle_print_s, self.flush_partial)

    # --- pages ---------------------------------------------------------------------------------------------------

    def end_page(self) -> None:
        """The label's last command arrived: check the job and print it."""
        if self._page_rows:
            self.protocol_errors.extend(self.check_job(self.job))
            expected = (self.model.printable_across(self.media) + 7) // 8
            if self._page_width != expected:
                self.protocol_errors.append(
                    f"raster rows of {self._page_width} bytes; {self.media.id} labels take {expected}"
                )
            self._emit_page()
        self.job = []
        self._page_rows = []
        self._page_width = None
        self._raster_left = 0

    def flush_partial(self) -> None:
        """The receive timeout: print the rows that arrived, drop the half-received rest."""
        if self._page_rows:
            self.truncated_pages += 1
            self._emit_page()
        self._reset_stream()

    def _emit_page(self) -> None:
        width = self._page_width or 1
        if self.blocking_fault() is not None:
            self.refused_pages += 1
        else:
            self.printed.append(Bitmap(width * 8, len(self._page_rows), tuple(self._page_rows)))
        self._page_rows = []

    # --- the family ---------------------------------------------------------------------------------------------

    def on_command(self, command: bytes) -> None:
        """Act on one whole non-raster command."""

    def check_job(self, job: list[bytes]) -> list[str]:
        """What is wrong with the job that produced a label (its commands in order); empty when well-formed."""
        return []


class VirtualEscPos(RasterStreamPrinter):
    """A generic ESC/POS printer (58 mm BLE or 80 mm network). Answers DLE EOT 1-4 from ``faults``."""

    service_uuid = ESCPOS_SERVICE
    write_uuid = ESCPOS_WRITE
    notify_uuid = ESCPOS_NOTIFY
    COMMANDS: ClassVar[dict[bytes, int]] = {
        ESC_INIT: 2,
        ESC_FEED_LINES: 3,
        ESC_FEED_DOTS: 3,
        GS_V: 8,
        DLE_EOT: 3,
    }

    def on_command(self, command: bytes) -> None:
        prefix = command[:2]
        if prefix == DLE_EOT:
            n = command[2]
            if 1 <= n <= 4:
                self.reply(bytes([self.realtime_status(n)]))
            else:
                self.protocol_errors.append(f"DLE EOT with n={n}")
        elif prefix in (ESC_FEED_LINES, ESC_FEED_DOTS):
            self.end_page()

    def realtime_status(self, n: int) -> int:
        """The DLE EOT n answer (bits per the generic ESC/POS reference; fixed bits 1 and 4 set)."""
        f = self.faults
        value = 0x12
        if n == 1 and (f.cover_open or f.paper_out):
            value |= 0x08  # offline
        elif n == 2:
            value |= (0x04 if f.cover_open else 0) | (0x20 if f.paper_out else 0)
        elif n == 4 and f.paper_out:
            value |= 0x60
        return value

    def check_job(self, job: list[bytes]) -> list[str]:
        printing = [c for c in job if not c.startswith(DLE_EOT)]
        if not printing or printing[0] != ESC_INIT:
            return ["ESC/POS job did not start with ESC @"]
        return []


__all__ = ["RasterStreamPrinter", "VirtualEscPos", "default_limits"]
