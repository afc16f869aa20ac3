"""A virtual Niimbot (B1, B21, D11, D110): reassembles frames across writes, checks them the way PRINTERS.md §1
describes the protocol, answers like the device, and decodes each page back into the bitmap it would print.

It is written from the protocol facts, not from the driver: its own frame reassembly, checksum and row
decoding, so a mistake shared by both sides cannot cancel out. What a real unit would do with a malformed
job is mostly unknown; this one prints what it can (missing rows stay blank, as in niimprint #3) and records
every departure from the protocol in ``protocol_errors`` so tests can insist on none. The one documented
misbehaviour is reproduced: a B1 given the 4-byte SetPageSize prints a blank label (niimprint #17).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from printers.models import NIIMBOT_CHAR, NIIMBOT_SERVICE, Media, ModelSpec
from printers.raster import Bitmap, row_bytes
from printers.virtual.base import LinkLimits, VirtualPrinter

# Command -> reply code (PRINTERS.md §1). Rows (83/84/85) and CheckLine (86) get no reply.
_REPLY_CODE = {
    0x01: 0x02,  # PrintStart
    0x03: 0x04,  # PageStart
    0x13: 0x14,  # SetPageSize
    0x15: 0x16,  # Quantity
    0x20: 0x30,  # PrintClear
    0x21: 0x31,  # SetDensity
    0x23: 0x33,  # SetLabelType
    0xA3: 0xB3,  # PrintStatus
    0xC1: 0xC2,  # Connect
    0xE3: 0xE4,  # PageEnd
    0xF3: 0xF4,  # PrintEnd
}
_ROWS = (0x83, 0x84, 0x85)
_CHECK_LINE = 0x86
_HEARTBEAT, _HEARTBEAT_REPLY = 0xDC, 0xDD
_ERROR, _NOT_SUPPORTED = 0xDB, 0x00

# Faults.<name> -> the DB code the printer answers PrintStart with. wrong_media is absent on purpose: a
# Niimbot reads the label's RFID tag but does not refuse a job for it.
FAULT_CODES = {"cover_open": 0x01, "paper_out": 0x02, "battery_empty": 0x03}

# SetPageSize payload length each variant expects (PRINTERS.md §1 print sequences).
_PAGE_SIZE_LEN = {"b1": 6, "b21": 4, "d110": 4}
_PRINT_START_LEN = {"b1": 7, "b21": 1, "d110": 1}


def _xor(cmd: int, data: bytes) -> int:
    value = cmd ^ len(data)
    for b in data:
        value ^= b
    return value


def frame(cmd: int, data: bytes) -> bytes:
    return b"\x55\x55" + bytes([cmd, len(data)]) + data + bytes([_xor(cmd, data)]) + b"\xaa\xaa"


@dataclass
class _Page:
    """A page between PageStart and PageEnd."""

    rows: int = 0
    cols: int = 0
    copies: int = 1
    sized: bool = False
    blank: bool = False  # the B1-given-a-4-byte-size misprint
    data: dict[int, bytes] = field(default_factory=dict)
    next_row: int = 0
    check_lines: list[int] = field(default_factory=list)


class VirtualNiimbot(VirtualPrinter):
    service_uuid = NIIMBOT_SERVICE
    write_uuid = NIIMBOT_CHAR
    notify_uuid = NIIMBOT_CHAR

    def __init__(
        self,
        model: ModelSpec,
        *,
        address: str,
        name: str | None = None,
        rssi: int = -55,
        media: Media | None = None,
        limits: LinkLimits | None = None,
        clock: Callable[[], float] = time.monotonic,
        print_time_s: float = 0.08,
    ) -> None:
        super().__init__(
            model,
            address=address,
            name=name,
            rssi=rssi,
            media=media,
            limits=limits or LinkLimits(max_write=182, min_interval_s=0.010, buffer_writes=4),
            clock=clock,
        )
        self.variant = model.variant
        self.print_time_s = print_time_s  # how long one label takes to come out
        self.protocol_errors: list[str] = []
        self.commands: list[int] = []  # every command code received (rows included), in order
        self.raw_writes: list[bytes] = []  # every write that reached the protocol, as received
        self.density: int | None = None
        self.label_type: int | None = None
        self._buf = bytearray()
        self._reset_job()

    # --- wiring ---------------------------------------------------------------------------------------------

    def attach(self, notify: Callable[[bytes], None], disconnect: Callable[[], None]) -> None:
        # A new connection: a half-received frame or job from the old one is gone (the app starts over).
        super().attach(notify, disconnect)
        self._buf.clear()
        self._reset_job()

    def _reset_job(self) -> None:
        self._job = False
        self._total_pages = 0
        self._page: _Page | None = None
        self._pages_done_at: list[float] = []  # when each queued label finishes printing

    def error(self, message: str) -> None:
        self.protocol_errors.append(message)

    # --- bytes in -------------------------------------------------------------------------------------------

    def handle(self, data: bytes) -> None:
        self.raw_writes.append(data)
        self._buf += data
        while True:
            start = self._buf.find(b"\x55\x55")
            if start < 0:
                keep = 1 if self._buf[-1:] == b"\x55" else 0
                self._junk(bytes(self._buf[: len(self._buf) - keep]))
                del self._buf[: len(self._buf) - keep]
                return
            if start:
                self._junk(bytes(self._buf[:start]))
                del self._buf[:start]
            if len(self._buf) < 4:
                return
            end = 4 + self._buf[3] + 3
            if len(self._buf) < end:
                return
            cmd, payload = self._buf[2], bytes(self._buf[4 : end - 3])
            if self._buf[end - 2 : end] != b"\xaa\xaa" or self._buf[end - 3] != _xor(cmd, payload):
                self.error(f"frame 0x{cmd:02X} with a bad checksum or tail was dropped")
                del self._buf[:1]
                continue
            del self._buf[:end]
            self.commands.append(cmd)
            self._on_frame(cmd, payload)

    def _junk(self, data: bytes) -> None:
        # Connect's 03 prefix is the only byte allowed outside a frame.
        if data and data != b"\x03":
            self.error(f"{len(data)} bytes outside any frame")

    def _answer(self, cmd: int, data: bytes = b"\x01") -> None:
        self.reply(frame(_REPLY_CODE[cmd], data))

    def _on_frame(self, cmd: int, data: bytes) -> None:
        if cmd in _ROWS:
            self._on_row(cmd, data)
        elif cmd == _CHECK_LINE:
            self._on_check_line(data)
        elif cmd == 0xC1:
            self._answer(cmd)
        elif cmd == _HEARTBEAT:
            self.reply(frame(_HEARTBEAT_REPLY, self._heartbeat()))
        elif cmd == 0x21:
            low, high, _ = self.model.density
            if len(data) != 1 or not low <= data[0] <= high:
                self.error(f"density {data.hex()} outside {low}..{high}")
            self.density = data[0] if data else None
            self._answer(cmd)
        elif cmd == 0x23:
            self.label_type = data[0] if data else None
            self._answer(cmd)
        elif cmd == 0x01:
            self._on_print_start(data)
        elif cmd == 0x20:
            if not self._job:
                self.error("PrintClear outside a job")
            self._answer(cmd)
        elif cmd == 0x03:
            if not self._job:
                self.error("PageStart before PrintStart")
            if self._page is not None:
                self.error("PageStart inside a page (the previous page never ended)")
            self._page = _Page()
            self._answer(cmd)
        elif cmd == 0x13:
            self._on_page_size(data)
        elif cmd == 0x15:
            if self._page is None or len(data) != 2:
                self.error(f"Quantity {data.hex()} outside a page or malformed")
            else:
                self._page.copies = int.from_bytes(data, "big")
            self._answer(cmd)
        elif cmd == 0xE3:
            self._on_page_end()
        elif cmd == 0xA3:
            self.reply(frame(0xB3, self._print_status()))
        elif cmd == 0xF3:
            self._on_print_end()
        else:
            self.reply(frame(_NOT_SUPPORTED, bytes([cmd])))

    # --- the job --------------------------------------------------------------------------------------------

    def _on_print_start(self, data: bytes) -> None:
        fault = self.blocking_fault()
        if fault is not None and fault in FAULT_CODES:
            self.reply(frame(_ERROR, bytes([FAULT_CODES[fault]])))
            return
        expected = _PRINT_START_LEN[self.variant]
        if len(data) != expected:
            self.error(f"PrintStart with {len(data)} bytes; the {self.model.name} takes {expected}")
        if self._job:
            self.error("PrintStart inside a job (the previous job never ended)")
        self._reset_job()
        self._job = True
        self._total_pages = int.from_bytes(data[:2], "big") if len(data) >= 2 else 0
        self._answer(0x01)

    def _on_page_size(self, data: bytes) -> None:
        page = self._page
        if page is None:
            self.error("SetPageSize outside a page")
            self._answer(0x13)
            return
        expected = _PAGE_SIZE_LEN[self.variant]
        if len(data) not in (2, 4, 6, 13):
            self.error(f"SetPageSize with {len(data)} bytes")
        elif len(data) != expected:
            self.error(f"SetPageSize with {len(data)} bytes; the {self.model.name} takes {expected}")
            if self.variant == "b1" and len(data) == 4:
                page.blank = True  # niimprint #17: the B1 prints a blank label
        page.rows = int.from_bytes(data[0:2], "big") if len(data) >= 2 else 0
        page.cols = int.from_bytes(data[2:4], "big") if len(data) >= 4 else self.model.head_dots
        if len(data) >= 6:
            page.copies = int.from_bytes(data[4:6], "big")
        if not 0 < page.cols <= self.model.head_dots:
            self.error(f"page {page.cols} dots wide on a {self.model.head_dots}-dot head")
        page.sized = True
        self._answer(0x13)

    def _on_row(self, cmd: int, data: bytes) -> None:
        page = self._page
        if page is None or not page.sized:
            self.error(f"row frame 0x{cmd:02X} outside a sized page")
            return
        need = 3 if cmd == 0x84 else 6
        if len(data) < need:
            self.error(f"row frame 0x{cmd:02X} too short ({len(data)} bytes)")
            return
        y = int.from_bytes(data[0:2], "big")
        repeat = data[2] if cmd == 0x84 else data[5]
        stride = row_bytes(page.cols)
        if cmd == 0x84:
            if len(data) != 3:
                self.error(f"blank-row frame with {len(data)} bytes")
            row = bytes(stride)
        elif cmd == 0x85:
            row = data[6:]
            if len(row) != stride:
                self.error(f"row {y}: {len(row)} bitmap bytes for a {page.cols}-dot page")
                row = (row + bytes(stride))[:stride]
            self._check_counts(y, data[2:5], row)
        else:
            indices = data[6:]
            if len(indices) % 2 or not 0 < len(indices) // 2 <= 6:
                self.error(f"row {y}: {len(indices)} index bytes (1 to 6 u16 indices expected)")
            out = bytearray(stride)
            for i in range(0, len(indices) - 1, 2):
                x = int.from_bytes(indices[i : i + 2], "big")
                if x >= page.cols:
                    self.error(f"row {y}: dot {x} beyond the page's {page.cols} dots")
                    continue
                out[x >> 3] |= 0x80 >> (x & 7)
            row = bytes(out)
            self._check_counts(y, data[2:5], row)
        if page.cols % 8 and row[-1] & (0xFF >> (page.cols % 8)):
            self.error(f"row {y}: ink beyond the page's {page.cols} dots")
            row = row[:-1] + bytes([row[-1] & (0xFF << (8 - page.cols % 8)) & 0xFF])
        if repeat == 0:
            self.error(f"row {y}: repeat 0")
        if y != page.next_row:
            what = "missing" if y > page.next_row else "sent twice"
            self.error(f"rows {min(y, page.next_row)}..{max(y, page.next_row) - 1} {what}")
        if y + repeat > page.rows:
            self.error(f"rows {y}..{y + repeat - 1} beyond the page's {page.rows} rows")
        for r in range(y, min(y + repeat, page.rows)):
            page.data[r] = row
        page.next_row = max(page.next_row, y + repeat)

    def _check_counts(self, y: int, counts: bytes, row: bytes) -> None:
        """Accept either convention the sources use: black dots per third of the head (head/24 bytes each),
        or ``[0, lo, hi]`` with the total. Anything else (zeros included) is recorded."""
        chunk = self.model.head_dots // 24
        split = bytes(min(255, sum(b.bit_count() for b in row[i * chunk : (i + 1) * chunk])) for i in range(3))
        total = sum(b.bit_count() for b in row)
        if counts not in (split, bytes([0, total & 0xFF, (total >> 8) & 0xFF])):
            self.error(f"row {y}: black-dot counts {counts.hex()} match neither convention ({total} dots)")

    def _on_check_line(self, data: bytes) -> None:
        page = self._page
        if page is None or len(data) != 3:
            self.error(f"CheckLine {data.hex()} outside a page or malformed")
            return
        line = int.from_bytes(data[0:2], "big")
        if line >= page.next_row:
            self.error(f"CheckLine for row {line} before that row arrived")
        page.check_lines.append(line)

    def _on_page_end(self) -> None:
        page, self._page = self._page, None
        if page is None or not page.sized or page.rows == 0:
            self.error("PageEnd without a sized page")
            self._answer(0xE3)
            return
        missing = [r for r in range(page.rows) if r not in page.data]
        if missing and not page.blank:
            self.error(f"{len(missing)} of {page.rows} rows never arrived (first: {missing[0]})")
        if page.blank:
            bitmap = Bitmap.blank(page.cols, page.rows)
        else:
            stride = row_bytes(page.cols)
            bitmap = Bitmap(page.cols, page.rows, tuple(page.data.get(r, bytes(stride)) for r in range(page.rows)))
        # The page comes out once per copy; each label takes print_time_s after the one before it.
        start = max([self._clock(), *self._pages_done_at[-1:]])
        for i in range(max(1, page.copies)):
            self.printed.append(bitmap)
            self._pages_done_at.append(start + (i + 1) * self.print_time_s)
        self._answer(0xE3)

    def _pages_done(self) -> int:
        now = self._clock()
        return sum(1 for t in self._pages_done_at if t <= now)

    def _print_status(self) -> bytes:
        """``B3``: pages done u16, print %, feed %; with a fault, the 10-byte form with the error at [6]."""
        done = self._pages_done()
        percent = 100
        if done < len(self._pages_done_at) and self.print_time_s > 0:
            remaining = self._pages_done_at[done] - self._clock()
            percent = max(0, min(100, round(100 * (1 - remaining / self.print_time_s))))
        head = done.to_bytes(2, "big") + bytes([percent, percent])
        fault = self.blocking_fault()
        if fault is not None and fault in FAULT_CODES:
            return head + bytes([0, 0, FAULT_CODES[fault], 0, 0, 0])
        return head

    def _on_print_end(self) -> None:
        if self.variant == "b21" and self._pages_done() < len(self._pages_done_at):
            self._answer(0xF3, b"\x00")  # still printing; the app asks again
            return
        if self._job and self.variant == "b1" and self._total_pages != len(self._pages_done_at):
            self.error(f"PrintStart announced {self._total_pages} labels, {len(self._pages_done_at)} were printed")
        if self._page is not None:
            self.error("PrintEnd inside a page")
        self._reset_job()
        self._answer(0xF3)

    # --- status ---------------------------------------------------------------------------------------------

    def _heartbeat(self) -> bytes:
        """``DD`` as niimbluelib reads it: 13 bytes on B1/B21 (lid [9], battery [10], paper [11], RFID [12]),
        10 on D11/D110 (lid [8], battery [9]). Battery as a level 0–4; 0 = closed / loaded."""
        f = self.faults
        if f.battery_empty:
            level = 0
        elif f.low_battery:
            level = 1
        else:
            level = max(2, min(4, round(self.battery_percent / 25)))
        lid = 1 if f.cover_open else 0
        if self.variant == "d110":
            return bytes(8) + bytes([lid, level])
        return bytes(9) + bytes([lid, level, 1 if f.paper_out else 0, 1])


__all__ = ["FAULT_CODES", "VirtualNiimbot"]
