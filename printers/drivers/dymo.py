"""DYMO LetraTag LT-200B over BLE: a 30-dot tape printer that takes the whole label, then reports once.

Facts: PRINTERS.md §3. The job is one payload::

    ESC s 9A 02 00 00                      (job start; constant)
    ESC D 01 02  W:u32le  H:u32le=32  image (W columns x 4 bytes)
    ESC E  ESC A  ESC Q                     (end of label, feed, end of job)

announced by a header write ``FF F0 12 34`` + payload length (u32 LE) + checksum (sum of those 8 bytes & 0xFF),
then sent in chunks of at most 500 payload bytes, each prefixed with an index byte that skips 27 (0x1B, ESC —
presumably so a chunk never starts like a command), the last one followed by ``12 34``. Every write is
acknowledged. The printer answers once, ``1B 52 ss``, after the tape has run.

Image layout (our reading of §3, which is self-consistent): one column per bitmap row (rows follow the feed),
four bytes per column. Column position p (0..31) lives in byte ``3 - p // 8`` under mask ``0x80 >> (p % 8)``:
byte 3 holds p 0-7 MSB first, byte 2 p 8-15, byte 1 p 16-23, byte 0 p 24-31 — every position exactly once,
i.e. p is bit ``31 - p`` of the column read as a little-endian u32. Bitmap dot x (0..29 across the tape, the
"y" of §3) goes to p = x + 1: p 0 (the top dot) and p 31 are never inked, leaving the 30 printable dots. So a
column is the bitmap row read as a big-endian u32, shifted right by one, written little-endian.

The bitmap arrives already at 400 dpi along the feed (the model's ``feed_dpi``; §3's "stretch 2x" is the
renderer's job), so the driver never stretches.
"""

from __future__ import annotations

import struct
from dataclasses import replace

from printers.drivers.base import (
    Driver,
    PrinterStatus,
    PrintSettings,
    Progress,
    ProgressCallback,
    Write,
    no_progress,
)
from printers.drivers.escpos import ReplyBuffer
from printers.errors import LayoutError, PrinterFault, PrinterState, ProtocolError
from printers.link import Link, Pacing
from printers.models import MM_PER_INCH, ModelSpec
from printers.raster import Bitmap

DOTS = 30  # printable dots across the tape
COLUMN_BITS = 32
JOB_START = b"\x1b\x73\x9a\x02\x00\x00"  # ESC s 9A 02 00 00
IMAGE_COMMAND = b"\x1b\x44\x01\x02"  # ESC D 01 02, then W, H and the image
JOB_END = b"\x1b\x45\x1b\x41\x1b\x51"  # ESC E, ESC A, ESC Q
HEADER_MAGIC = b"\xff\xf0\x12\x34"
CHUNK_PAYLOAD = 500  # payload bytes per chunk; with index and trailer the write is 501-503 B (an ATT long write)
CHUNK_TRAILER = b"\x12\x34"
SKIPPED_INDEX = 27
CHUNK_INDICES = tuple(i for i in range(256) if i != SKIPPED_INDEX)  # one byte each; 255 chunks at most
RESULT_PREFIX = b"\x1b\x52"
TAPE_SPEED_MM_S = 7.0
# Acknowledged-write spacing. Each write waits for its ATT response anyway (about two connection intervals:
# 2 x 15 ms at the short intervals phones negotiate); this is the floor the benchmark measures against, and
# it keeps us from queueing writes faster than the printer acknowledges them. Assumed, not measured.
ACK_INTERVAL_S = 0.030


# --- the image ------------------------------------------------------------------------------------------------


def encode_column(row: bytes) -> bytes:
    """One bitmap row (30 dots, 4 bytes MSB-first) as the printer's 4-byte column (see the module docstring)."""
    return (int.from_bytes(row, "big") >> 1).to_bytes(4, "little")


def build_payload(bitmap: Bitmap) -> bytes:
    columns = b"".join(encode_column(row) for row in bitmap.rows)
    return JOB_START + IMAGE_COMMAND + struct.pack("<II", bitmap.height, COLUMN_BITS) + columns + JOB_END


# --- framing --------------------------------------------------------------------------------------------------


def header(payload_length: int) -> bytes:
    """``FF F0 12 34`` + length (u32 LE) + the byte sum of those eight bytes."""
    head = HEADER_MAGIC + struct.pack("<I", payload_length)
    return head + bytes([sum(head) & 0xFF])


def split_chunks(payload: bytes) -> list[bytes]:
    """The payload as indexed chunks: index byte + up to 500 bytes, ``12 34`` after the last."""
    pieces = [payload[i : i + CHUNK_PAYLOAD] for i in range(0, len(payload), CHUNK_PAYLOAD)]
    if len(pieces) > len(CHUNK_INDICES):
        raise LayoutError(
            f"The label is too long for the LetraTag ({len(payload)} bytes; at most "
            f"{len(CHUNK_INDICES) * CHUNK_PAYLOAD}).",
            "Shorten the text on the name tape.",
        )
    chunks = [bytes([CHUNK_INDICES[i]]) + piece for i, piece in enumerate(pieces)]
    chunks[-1] += CHUNK_TRAILER
    return chunks


# --- the result -----------------------------------------------------------------------------------------------

RESULT_OK = (0, 1)
RESULT_LOW_BATTERY = 3
RESULT_FAULTS: dict[int, tuple[PrinterState, str]] = {
    2: (PrinterState.ERROR, "the printer reported a failed print (status 2)"),
    5: (PrinterState.ERROR, "the printer reported a failed print (status 5)"),
    4: (PrinterState.ERROR, "the job was cancelled on the printer"),
    6: (PrinterState.BATTERY_EMPTY, ""),
    7: (PrinterState.NO_CASSETTE, ""),
}


def take_result(buf: bytearray) -> int | None:
    """Consume one ``1B 52 ss`` notification and return ss; other bytes are not a result and are skipped."""
    while len(buf) >= 2 and bytes(buf[:2]) != RESULT_PREFIX:
        del buf[0]
    if len(buf) < 3:
        return None
    code = buf[2]
    del buf[:3]
    return code


def result_state(code: int) -> PrinterState:
    """READY or LOW_BATTERY when the label printed; raises ``PrinterFault`` when it did not."""
    if code in RESULT_OK:
        return PrinterState.READY
    if code == RESULT_LOW_BATTERY:
        return PrinterState.LOW_BATTERY
    if code in RESULT_FAULTS:
        state, detail = RESULT_FAULTS[code]
        raise PrinterFault(state, detail)
    raise ProtocolError(
        f"The LetraTag answered with an unknown result code {code}.", "Retry; if it happens again, restart it."
    )


class DymoDriver(Driver):
    family = "dymo"
    pacing = Pacing(interval_s=ACK_INTERVAL_S, chunk=CHUNK_PAYLOAD, response=True)

    def __init__(self, model: ModelSpec, *, result_grace_s: float = 5.0) -> None:
        if model.family != self.family:
            raise ValueError(f"{model.name} is not a DYMO LetraTag")
        super().__init__(model)
        # On top of the tape run time: cutting/feeding the leader and the notification's round trip (assumed).
        self.result_grace_s = result_grace_s

    def encode(self, bitmap: Bitmap, settings: PrintSettings, max_write: int) -> list[Write]:
        """Header, then the indexed chunks, all acknowledged; repeated per copy.

        ``max_write`` is not used: acknowledged writes go as ATT long writes up to 512 bytes whatever the
        link's write-without-response size (§3: the 501-503-byte chunks "become long writes").
        """
        self.check_fits(bitmap, settings.media or self.model.default_media())
        payload = build_payload(bitmap)
        one = [Write(header(len(payload)), response=True)]
        one += [Write(chunk, response=True) for chunk in split_chunks(payload)]
        return one * max(1, settings.copies)

    def label_length_mm(self, bitmap: Bitmap) -> float:
        return bitmap.height / self.model.along_dpi * MM_PER_INCH

    def result_timeout_s(self, bitmap: Bitmap) -> float:
        """How long to wait for the result: the tape runs at 7 mm/s, plus a fixed grace."""
        return self.result_grace_s + self.label_length_mm(bitmap) / TAPE_SPEED_MM_S

    async def print(
        self, link: Link, bitmap: Bitmap, settings: PrintSettings, progress: ProgressCallback = no_progress
    ) -> None:
        copies = max(1, settings.copies)
        writes = self.encode(bitmap, replace(settings, copies=1), link.max_write)
        timeout = self.result_timeout_s(bitmap)
        pacer = link.pacer(self.pacing.interval_s)
        total = len(writes) * copies
        low_battery = False
        for copy in range(copies):
            link.discard_pending()  # a late result from an earlier, timed-out job is not this job's
            for n, w in enumerate(writes, start=1):
                await pacer.wait()
                await link.write(w.data, response=True)
                progress(Progress("sending", copy * len(writes) + n, total))
            progress(Progress("printing", copy * len(writes) + len(writes), total, "Printing the tape"))
            # toolicious/labler #19: only one result arrives, so the first one is final.
            code = await ReplyBuffer(link).read_frame(take_result, timeout)
            low_battery |= result_state(code) is PrinterState.LOW_BATTERY
        message = "The printer's battery is low." if low_battery else ""
        progress(Progress("done", total, total, message))

    async def status(self, link: Link) -> PrinterStatus:
        # No status query is known for the LetraTag; it speaks only to answer a print (and a lid-open print
        # still answers "ok", §3), so there is nothing honest to report beyond "unknown".
        return PrinterStatus(PrinterState.UNKNOWN, detail="the LetraTag reports only after a print")


__all__ = [
    "ACK_INTERVAL_S",
    "CHUNK_INDICES",
    "DymoDriver",
    "build_payload",
    "encode_column",
    "header",
    "result_state",
    "split_chunks",
    "take_result",
]
