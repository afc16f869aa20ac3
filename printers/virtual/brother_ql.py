"""A virtual Brother QL-8xx: parses the raster command stream (PRINTERS.md §4), answers status requests, and
decodes each printed page back into the bitmap the driver meant.

It is written from the protocol facts, not from the driver: its own PackBits decoder, its own un-mirroring
and its own status builder, so a mistake shared by both sides cannot cancel out silently. The TCP server
(``printers.virtual.tcp``) or a ``LoopbackLink`` carries bytes to it in any chunking; commands split across
writes are held until complete.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable

from printers.models import Media, ModelSpec
from printers.raster import Bitmap, row_bytes
from printers.virtual.base import LinkLimits, VirtualPrinter

# Model byte [4] of the status reply. 0x41 for the QL-820NWB is in PRINTERS.md. 0x39 for the QL-810W is a
# GUESS (it is what brother_ql's reader table lists, never checked on a real unit).
MODEL_CODES = {"brother-ql820nwb": 0x41, "brother-ql810w": 0x39}

CONTINUOUS, DIE_CUT, NO_MEDIA = 0x0A, 0x0B, 0x00
STATUS_REPLY, STATUS_DONE, STATUS_ERROR, STATUS_PHASE = 0x00, 0x01, 0x02, 0x06
PHASE_WAITING, PHASE_PRINTING = 0x00, 0x01

# Fixed-length commands: prefix -> bytes of parameters that follow.
_FIXED = {
    b"\x1b\x40": 0,  # initialise
    b"\x1b\x69\x53": 0,  # status request
    b"\x1b\x69\x61": 1,  # command mode (01 = raster)
    b"\x1b\x69\x21": 1,  # automatic status notification on/off
    b"\x1b\x69\x7a": 10,  # media / quality
    b"\x1b\x69\x4d": 1,  # various mode (bit 6 auto cut)
    b"\x1b\x69\x41": 1,  # cut every n labels
    b"\x1b\x69\x4b": 1,  # expanded mode
    b"\x1b\x69\x64": 2,  # margin, u16 LE
    b"\x4d": 1,  # compression
}
_NAMES = {
    b"\x1b\x40": "init",
    b"\x1b\x69\x53": "status_request",
    b"\x1b\x69\x61": "raster_mode",
    b"\x1b\x69\x21": "auto_status",
    b"\x1b\x69\x7a": "media",
    b"\x1b\x69\x4d": "various",
    b"\x1b\x69\x41": "cut_every",
    b"\x1b\x69\x4b": "expanded",
    b"\x1b\x69\x64": "margins",
    b"\x4d": "compression",
}


def build_status(
    *,
    model_code: int,
    error1: int = 0,
    error2: int = 0,
    media_width_mm: int = 0,
    media_type: int = NO_MEDIA,
    media_length_mm: int = 0,
    status_type: int = STATUS_REPLY,
    phase: int = PHASE_WAITING,
) -> bytes:
    """The 32-byte status reply. Bytes [3] (series code '4') and [5]/[6] ('0') are fixed values taken
    from published dumps, unverified; nothing we parse depends on them."""
    out = bytearray(32)
    out[0:3] = b"\x80\x20\x42"
    out[3] = 0x34
    out[4] = model_code
    out[5] = 0x30
    out[6] = 0x30
    out[8] = error1
    out[9] = error2
    out[10] = media_width_mm
    out[11] = media_type
    out[17] = media_length_mm
    out[18] = status_type
    out[19] = phase
    return bytes(out)


def unpack_bits(data: bytes) -> bytes:
    """TIFF PackBits decoding; ``ValueError`` when a block runs past the end (a truncated line)."""
    out = bytearray()
    i = 0
    while i < len(data):
        header = data[i]
        i += 1
        if header < 0x80:
            count = header + 1
            if i + count > len(data):
                raise ValueError("literal block runs past the end of the line")
            out += data[i : i + count]
            i += count
        elif header > 0x80:
            if i >= len(data):
                raise ValueError("run block has no byte to repeat")
            out += bytes([data[i]]) * (257 - header)
            i += 1
        # 0x80: no-op by the spec
    return bytes(out)


def media_code(media: Media) -> tuple[int, int, int]:
    """(width mm, type, length mm) of a loaded roll, as the status reply reports it."""
    if media.length_mm is not None and media.kind != "continuous":
        return round(media.width_mm), DIE_CUT, round(media.length_mm)
    return round(media.width_mm), CONTINUOUS, 0


class VirtualBrotherQL(VirtualPrinter):
    """``media`` is the loaded roll. ``protocol_errors`` collects anything a real unit would choke on
    (unknown commands, bad lines, a row count that disagrees with the media command)."""

    def __init__(
        self,
        model: ModelSpec,
        *,
        address: str,
        name: str | None = None,
        rssi: int = -55,
        media: Media | None = None,
        limits: LinkLimits | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        # A networked printer: the socket carries any write size and does its own flow control.
        limits = limits or LinkLimits(max_write=1 << 20, min_interval_s=0.0)
        super().__init__(
            model, address=address, name=name, rssi=rssi, media=media, limits=limits, clock=clock or time.monotonic
        )
        self.model_code = MODEL_CODES.get(model.id, 0x41)
        self.head_dots = model.head_dots
        self.line_bytes = self.head_dots // 8
        self.protocol_errors: list[str] = []
        self.commands: Counter[str] = Counter()
        self._stream = bytearray()
        self._reset_job()

    # --- state --------------------------------------------------------------------------------------------------

    def _reset_job(self) -> None:
        self.raster_mode = False
        self.compressed = False
        self.job_media: tuple[int, int, int] | None = None
        self.job_rows: int | None = None
        self.auto_cut = False
        self.cut_at_end = False
        self.margin_dots: int | None = None
        self._lines: list[bytes] = []

    def _errors(self) -> tuple[int, int]:
        f = self.faults
        error1 = 0x01 if f.paper_out else 0
        error2 = (0x10 if f.cover_open else 0) | (0x01 if f.wrong_media else 0)
        return error1, error2

    def status_bytes(self, status_type: int = STATUS_REPLY, phase: int = PHASE_WAITING, error2: int = 0) -> bytes:
        error1, base_error2 = self._errors()
        width, kind, length = (0, NO_MEDIA, 0) if self.faults.paper_out else media_code(self.media)
        return build_status(
            model_code=self.model_code,
            error1=error1,
            error2=base_error2 | error2,
            media_width_mm=width,
            media_type=kind,
            media_length_mm=length,
            status_type=status_type,
            phase=phase,
        )

    # --- the stream ---------------------------------------------------------------------------------------------

    def handle(self, data: bytes) -> None:
        self._stream += data
        while self._stream:
            used = self._command(self._stream)
            if used == 0:
                return  # incomplete: wait for the rest of the command
            del self._stream[:used]

    def _command(self, buf: bytearray) -> int:
        """Act on the command at the front of ``buf``; bytes consumed, 0 when it is not all here yet."""
        first = buf[0]
        if first == 0x00:  # invalidate: a run of zeros that flushes a half-received command
            n = len(buf) - len(bytes(buf).lstrip(b"\x00"))
            self.commands["invalidate"] += n
            return n
        if first == 0x67:  # raster line: 67 00 n + n bytes
            if len(buf) < 3 or len(buf) < 3 + buf[2]:
                return 0
            self._raster_line(bytes(buf[3 : 3 + buf[2]]), buf[1])
            return 3 + buf[2]
        if first == 0x5A:  # blank line (TIFF mode)
            self.commands["blank_line"] += 1
            self._lines.append(bytes(self.line_bytes))
            return 1
        if first in (0x0C, 0x1A):
            self.commands["print_last" if first == 0x1A else "print_page"] += 1
            self._print_page(last=first == 0x1A)
            return 1
        if first == 0x1B and len(buf) < 3:
            return 0
        for prefix, size in _FIXED.items():
            if buf.startswith(prefix):
                if len(buf) < len(prefix) + size:
                    return 0
                self._fixed(_NAMES[prefix], bytes(buf[len(prefix) : len(prefix) + size]))
                return len(prefix) + size
        self.protocol_errors.append(f"unknown command byte 0x{first:02X}")
        return 1

    def _fixed(self, name: str, params: bytes) -> None:
        self.commands[name] += 1
        if name == "init":
            self._reset_job()
        elif name == "status_request":
            self.reply(self.status_bytes())
        elif name == "raster_mode":
            self.raster_mode = params[0] == 0x01
        elif name == "media":
            _flags, kind, width, length = params[0], params[1], params[2], params[3]
            self.job_media = (width, kind, length if kind == DIE_CUT else 0)
            self.job_rows = int.from_bytes(params[4:8], "little")
            self._lines = []
        elif name == "various":
            self.auto_cut = bool(params[0] & 0x40)
        elif name == "expanded":
            self.cut_at_end = bool(params[0] & 0x08)
        elif name == "margins":
            self.margin_dots = int.from_bytes(params, "little")
        elif name == "compression":
            self.compressed = params[0] == 0x02

    def _raster_line(self, payload: bytes, color: int) -> None:
        self.commands["raster_line"] += 1
        if color != 0x00:
            self.protocol_errors.append(f"raster line with colour byte 0x{color:02X}")
        if self.compressed:
            try:
                line = unpack_bits(payload)
            except ValueError as err:
                self.protocol_errors.append(f"line {len(self._lines)}: {err}")
                line = b""
        else:
            line = payload
        if len(line) != self.line_bytes:
            self.protocol_errors.append(f"line {len(self._lines)} has {len(line)} bytes, expected {self.line_bytes}")
            line = (line + bytes(self.line_bytes))[: self.line_bytes]
        self._lines.append(line)

    # --- printing -----------------------------------------------------------------------------------------------

    def _job_media(self) -> Media | None:
        for m in self.model.media:
            if media_code(m) == self.job_media:
                return m
        return None

    def _print_page(self, last: bool) -> None:
        lines, self._lines = self._lines, []
        if not self.raster_mode:
            self.protocol_errors.append("print command before raster mode was set")
        if self.job_rows is not None and self.job_rows != len(lines):
            self.protocol_errors.append(f"media command announced {self.job_rows} rows, got {len(lines)}")
        error1, error2 = self._errors()
        if self.job_media != media_code(self.media):
            error2 |= 0x01  # "Replace media error": the job was set up for another roll
        if error1 or error2:
            self.reply(self.status_bytes(STATUS_ERROR, PHASE_WAITING, error2))
            return
        media = self._job_media()
        if media is None or not lines:
            self.protocol_errors.append("nothing to print" if not lines else f"unknown job media {self.job_media}")
            return
        self.reply(self.status_bytes(STATUS_PHASE, PHASE_PRINTING))
        self.printed.append(self._decode(lines, media))
        self.reply(self.status_bytes(STATUS_DONE, PHASE_WAITING))

    def _decode(self, lines: list[bytes], media: Media) -> Bitmap:
        """Undo the mirroring and cut the printable window out of each 720-dot line: it ends the media's right
        margin short of the line's end (centred when the media names none)."""
        width = self.model.printable_across(media)
        margin = media.right_margin_dots
        left = (self.head_dots - width) // 2 if margin is None else self.head_dots - width - margin
        stride = row_bytes(width)
        rows = []
        for line in lines:
            # Mirror: the line's last bit is the head's first dot.
            dots = int(f"{int.from_bytes(line, 'big'):0{self.head_dots}b}"[::-1], 2)
            window = (dots >> (self.head_dots - left - width)) & ((1 << width) - 1)
            rows.append((window << (stride * 8 - width)).to_bytes(stride, "big"))
        return Bitmap.from_rows(width, rows)


__all__ = ["MODEL_CODES", "VirtualBrotherQL", "build_status", "media_code", "unpack_bits"]
