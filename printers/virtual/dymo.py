"""A virtual DYMO LetraTag LT-200B: validates the header, the chunk indices and the trailer, decodes the
column-major image back into the 30-dot bitmap, and answers ``1B 52 ss`` once per label.

It decodes with §3's rule spelled out dot by dot (byte ``3 - (y+1)//8``, mask ``0x80 >> ((y+1) % 8)``), not
with the driver's shift arithmetic, so a round trip checks one reading of the rule against the other.
Write boundaries matter here (each acknowledged write is one indexed chunk), unlike the ESC/POS stream.
"""

from __future__ import annotations

import asyncio
import struct
from typing import Any

from printers.models import DYMO_NOTIFY, DYMO_SERVICE, DYMO_WRITE, MM_PER_INCH, ModelSpec
from printers.raster import Bitmap, pack_bits
from printers.virtual.base import LinkLimits, VirtualPrinter

MAGIC = b"\xff\xf0\x12\x34"
TRAILER = b"\x12\x34"
JOB_START = b"\x1b\x73\x9a\x02\x00\x00"
IMAGE = b"\x1b\x44\x01\x02"
JOB_END = b"\x1b\x45\x1b\x41\x1b\x51"
CHUNK = 500
DOTS = 30
OK, FAILED, LOW_BATTERY, BATTERY_TOO_LOW, NO_CASSETTE = 0, 2, 3, 6, 7


def expected_index(chunk_number: int) -> int:
    """The index byte of the n-th chunk: 0, 1, … 26, 28, 29, … (27 is skipped)."""
    return chunk_number if chunk_number < 27 else chunk_number + 1


def decode_column(column: bytes) -> tuple[bytes, bool]:
    """A 4-byte column as a 30-dot bitmap row, and whether an unprintable position (p 0 or p 31) is inked."""
    dots = [bool(column[3 - (y + 1) // 8] & (0x80 >> ((y + 1) % 8))) for y in range(DOTS)]
    stray = bool(column[3] & 0x80) or bool(column[0] & 0x01)
    return pack_bits(dots), stray


class VirtualDymo(VirtualPrinter):
    service_uuid = DYMO_SERVICE
    write_uuid = DYMO_WRITE
    notify_uuid = DYMO_NOTIFY

    def __init__(self, model: ModelSpec, *, limits: LinkLimits | None = None, **kwargs: Any) -> None:
        # Acknowledged writes up to the ATT maximum of 512 bytes (long writes); the ack is the flow control.
        super().__init__(model, limits=limits or LinkLimits(max_write=512, min_interval_s=0.0), **kwargs)
        self.protocol_errors: list[str] = []
        self.chunk_indices: list[int] = []  # index bytes of the current / last job, as received
        self.results: list[int] = []  # every ss sent
        self.result_override: int | None = None  # answer this ss instead (to exercise 1, 2, 4, 5)
        self.print_speed_mm_s: float | None = None  # None: answer at once; 7.0 to take as long as a real one
        self._reset_job()

    def attach(self, notify: Any, disconnect: Any) -> None:
        self._reset_job()  # a half-sent job dies with its connection
        super().attach(notify, disconnect)

    def _reset_job(self) -> None:
        self._length: int | None = None
        self._payload = bytearray()
        self._chunks = 0
        self._job_errors: list[str] = []

    def _error(self, message: str) -> None:
        self._job_errors.append(message)
        self.protocol_errors.append(message)

    def handle(self, data: bytes) -> None:
        if data.startswith(MAGIC):
            self._header(data)
            return
        if self._length is None:
            self.protocol_errors.append(f"chunk without a header ({len(data)} bytes)")
            return
        index, body = data[0], data[1:]
        self.chunk_indices.append(index)
        if index != expected_index(self._chunks):
            self._error(f"chunk {self._chunks} has index {index}, expected {expected_index(self._chunks)}")
        self._chunks += 1
        remaining = self._length - len(self._payload)
        if len(body) > remaining:
            if len(body) != remaining + len(TRAILER) or not body.endswith(TRAILER):
                self._error(f"last chunk does not end with 12 34 after the payload ({body[-4:].hex(' ')})")
            self._payload += body[:remaining]
            self._finish()
        elif len(body) == remaining:
            self._error("the payload ended without the 12 34 trailer")
            self._payload += body
            self._finish()
        else:
            if len(body) != CHUNK:
                self._error(f"chunk {self._chunks - 1} carries {len(body)} bytes before the end, expected {CHUNK}")
            self._payload += body

    def _header(self, data: bytes) -> None:
        if self._length is not None:
            self.protocol_errors.append("new header before the previous job finished")
        self._reset_job()
        self.chunk_indices = []
        if len(data) != 9:
            self.protocol_errors.append(f"header of {len(data)} bytes, expected 9")
            return
        if data[8] != sum(data[:8]) & 0xFF:
            self.protocol_errors.append(f"header checksum {data[8]:#04x}, expected {sum(data[:8]) & 0xFF:#04x}")
            return
        self._length = struct.unpack("<I", data[4:8])[0]
        if not self._length:
            self.protocol_errors.append("header announces an empty payload")
            self._length = None

    def _finish(self) -> None:
        bitmap = self._decode(bytes(self._payload))
        code = self._result_code() if bitmap is not None and not self._job_errors else FAILED
        if self.result_override is not None:
            code = self.result_override
        # §3: a lid-open print still reports 0 — and nothing useful comes out.
        if bitmap is not None and code in (0, 1, LOW_BATTERY) and not self.faults.cover_open:
            self.printed.append(bitmap)
        self.results.append(code)
        delay = 0.0
        if self.print_speed_mm_s and bitmap is not None:
            delay = bitmap.height / self.model.along_dpi * MM_PER_INCH / self.print_speed_mm_s
        self._reset_job()
        self._send_result(code, delay)

    def _send_result(self, code: int, delay: float) -> None:
        message = b"\x1b\x52" + bytes([code])
        if delay <= 0:
            self.reply(message)
            return
        try:
            asyncio.get_running_loop().call_later(delay, self.reply, message)
        except RuntimeError:
            self.reply(message)

    def _result_code(self) -> int:
        f = self.faults
        if f.paper_out:
            return NO_CASSETTE  # the tape is the cassette
        if f.battery_empty:
            return BATTERY_TOO_LOW
        if f.wrong_media:
            return FAILED
        return LOW_BATTERY if f.low_battery else OK

    def _decode(self, payload: bytes) -> Bitmap | None:
        head = len(JOB_START) + len(IMAGE) + 8
        if not payload.startswith(JOB_START) or payload[len(JOB_START) : len(JOB_START) + len(IMAGE)] != IMAGE:
            self._error(f"payload does not start with ESC s … ESC D 01 02 ({payload[:10].hex(' ')})")
            return None
        width, height = struct.unpack("<II", payload[head - 8 : head])
        if height != 32:
            self._error(f"image height {height}, expected 32")
        image = payload[head : head + width * 4]
        if width == 0 or len(image) != width * 4:
            self._error(f"image announces {width} columns but carries {len(image)} bytes")
            return None
        if payload[head + width * 4 :] != JOB_END:
            self._error(f"payload ends {payload[head + width * 4 :].hex(' ')}, expected ESC E ESC A ESC Q")
        rows = []
        for c in range(width):
            row, stray = decode_column(image[c * 4 : c * 4 + 4])
            if stray:
                self._error(f"column {c} inks an unprintable dot")
            rows.append(row)
        return Bitmap(DOTS, width, tuple(rows))


__all__ = ["VirtualDymo", "decode_column", "expected_index"]
