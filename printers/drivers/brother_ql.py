"""Brother QL raster driver (QL-820NWB, QL-810W) over a byte stream, normally TCP 9100.

The command language is in ../shared/PRINTERS.md §4. One job is: a preamble that clears the printer's
command buffer and asks for its status, then per page the raster settings and PackBits-compressed raster
lines, each page ended by a print command. The preamble is sent on its own so the 32-byte status reply can
be checked (errors, loaded labels) before any label data goes out; brother_ql's own network backend never
reads it back, so a printer that stays silent is printed to blind, as brother_ql does.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field

from printers.drivers.base import Driver, PrinterStatus, PrintSettings, Progress, ProgressCallback, Write, no_progress
from printers.errors import PrinterFault, PrinterState, ReplyTimeout
from printers.link import Link, Pacing
from printers.models import Media, ModelSpec
from printers.raster import Bitmap

HEAD_DOTS_QL8 = 720  # dots the QL-8xx addresses per raster line: 90 bytes
INVALIDATE_QL8 = 400  # zero bytes that flush a half-received command on the QL-8xx (200 on older models)

INVALIDATE = bytes(INVALIDATE_QL8)
INIT = b"\x1b\x40"
STATUS_REQUEST = b"\x1b\x69\x53"
RASTER_MODE = b"\x1b\x69\x61\x01"
MEDIA_QUALITY = b"\x1b\x69\x7a"
AUTO_CUT = b"\x1b\x69\x4d\x40"  # "various mode": bit 6 = auto cut
CUT_EVERY_1 = b"\x1b\x69\x41\x01"
EXPANDED_CUT_AT_END = b"\x1b\x69\x4b\x08"  # bit 3: cut at end (no 600 dpi, no red)
MARGINS = b"\x1b\x69\x64"
COMPRESSION_PACKBITS = b"\x4d\x02"
RASTER_LINE = b"\x67\x00"
PRINT_PAGE = b"\x0c"  # between pages/copies: print, then expect more
PRINT_LAST = b"\x1a"  # after the last page: print and feed/cut

MEDIA_CONTINUOUS = 0x0A
MEDIA_DIE_CUT = 0x0B
MEDIA_NONE = 0x00
# media/quality flags: 0x80 printer recovery, 0x02 media type, 0x04 width, 0x08 length valid, 0x40 quality first.
MEDIA_FLAGS = 0x80 | 0x02 | 0x04 | 0x08 | 0x40
MARGIN_ENDLESS_DOTS = 35  # feed before/after on continuous tape; die-cut labels have their gap

STATUS_HEADER = b"\x80\x20\x42"
STATUS_SIZE = 32
STATUS_REPLY = 0x00
STATUS_DONE = 0x01
STATUS_ERROR = 0x02
STATUS_NOTIFICATION = 0x05
STATUS_PHASE_CHANGE = 0x06

STATUS_WAIT_S = 2.0  # how long a printer that answers status takes at most; silence means "blind" TCP
DONE_WAIT_BASE_S = 10.0
FEED_MM_PER_S = 20.0  # deliberately slow guess of the feed speed, only to size the "printed" wait

ERROR1_BITS = {
    0: "no media",
    1: "end of media",
    2: "cutter jam",
    5: "printer turned off",
    7: "fan error",
}
ERROR2_BITS = {
    0: "replace media",
    1: "expansion buffer full",
    2: "communication error",
    4: "cover open",
    6: "media cannot be fed",
    7: "system error",
}
STATUS_TYPE_NAMES = {
    STATUS_REPLY: "reply to status request",
    STATUS_DONE: "printing completed",
    STATUS_ERROR: "error occurred",
    STATUS_NOTIFICATION: "notification",
    STATUS_PHASE_CHANGE: "phase change",
}
MODEL_CODES = {0x41: "QL-820NWB", 0x39: "QL-810W"}  # 0x39 is a guess (see printers/virtual/brother_ql.py)


# --- PackBits ---------------------------------------------------------------------------------------------------


def packbits_encode(data: bytes) -> bytes:
    """TIFF PackBits: runs of 2..128 equal bytes as (257 - n, byte), everything else as literal blocks
    (n - 1, n bytes), n <= 128. Header 0x80 (a no-op in the spec) is never emitted: some decoders, brother_ql's
    reader among them, read it as a 129-byte run."""
    out = bytearray()
    literal = bytearray()

    def flush() -> None:
        if literal:
            out.append(len(literal) - 1)
            out.extend(literal)
            literal.clear()

    i, n = 0, len(data)
    while i < n:
        j = i + 1
        while j < n and j - i < 128 and data[j] == data[i]:
            j += 1
        run = j - i
        # A pair inside a literal is cheaper left in it (2 bytes either way, but no extra header after).
        if run >= 3 or (run == 2 and not literal):
            flush()
            out.append(257 - run)
            out.append(data[i])
        else:
            for b in data[i:j]:
                literal.append(b)
                if len(literal) == 128:
                    flush()
        i = j
    flush()
    return bytes(out)


# --- raster lines -----------------------------------------------------------------------------------------------

_BIT_REVERSED = bytes(int(f"{b:08b}"[::-1], 2) for b in range(256))


def left_offset(width: int, head_dots: int = HEAD_DOTS_QL8, right_margin: int | None = None) -> int:
    """Dots between the head's first dot and the printable window, in reading order (before mirroring).

    With the media's right margin (brother_ql's label table: 12 dots for 62 mm, 6 for 29 mm — narrow rolls
    sit against one side of the holder) the window ends that far from the line's end; without one it is
    centred. Unverified on hardware either way.
    """
    if right_margin is None:
        return (head_dots - width) // 2
    return head_dots - width - right_margin


def head_line(row: bytes, width: int, head_dots: int = HEAD_DOTS_QL8, left: int | None = None) -> bytes:
    """One bitmap row placed in the head's line and mirrored left-right: the QL prints a raster line's first
    bit at the far end of the head (PRINTERS.md §4, "Mirror the image left-right")."""
    stride = (width + 7) // 8
    dots = int.from_bytes(row, "big") >> (stride * 8 - width)
    if left is None:
        left = left_offset(width, head_dots)
    line = dots << (head_dots - left - width)
    return line.to_bytes(head_dots // 8, "big")[::-1].translate(_BIT_REVERSED)


# --- status -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BrotherStatus:
    """Every field of the 32-byte status reply, for the Printers screen."""

    model_code: int
    error1: int
    error2: int
    media_width_mm: int
    media_type: int
    media_length_mm: int
    status_type: int
    phase: int
    raw: bytes = field(default=b"", repr=False)

    @property
    def model_name(self) -> str:
        return MODEL_CODES.get(self.model_code, f"unknown model 0x{self.model_code:02X}")

    @property
    def errors(self) -> tuple[str, ...]:
        return tuple(name for bit, name in ERROR1_BITS.items() if self.error1 & (1 << bit)) + tuple(
            name for bit, name in ERROR2_BITS.items() if self.error2 & (1 << bit)
        )

    @property
    def status_type_name(self) -> str:
        return STATUS_TYPE_NAMES.get(self.status_type, f"status type 0x{self.status_type:02X}")

    @property
    def printing(self) -> bool:
        return self.phase == 1

    @property
    def media(self) -> str:
        """What is loaded, named like the model table's media ids: "62 mm endless", "62x100", "no media"."""
        if self.media_type == MEDIA_NONE or self.media_width_mm == 0:
            return "no media"
        if self.media_type == MEDIA_CONTINUOUS:
            return f"{self.media_width_mm} mm endless"
        if self.media_type == MEDIA_DIE_CUT:
            return f"{self.media_width_mm}x{self.media_length_mm}"
        return f"{self.media_width_mm} mm, media type 0x{self.media_type:02X}"

    @property
    def state(self) -> PrinterState:
        e1, e2 = self.error1, self.error2
        # Cover first: an open cover is what the person must fix before anything else, loading a roll included.
        if e2 & 0x10:
            return PrinterState.COVER_OPEN
        if e1 & 0x03:
            return PrinterState.NO_PAPER
        if e1 & 0x04:
            return PrinterState.CUTTER_JAM
        if e2 & 0x01:
            return PrinterState.WRONG_MEDIA
        if e1 or e2 or self.status_type == STATUS_ERROR:
            return PrinterState.ERROR
        if self.media_type == MEDIA_NONE:
            return PrinterState.NO_PAPER
        if self.printing:
            return PrinterState.PRINTING
        return PrinterState.READY

    def matches(self, media: Media) -> bool:
        return (self.media_width_mm, self.media_type, self.media_length_mm) == media_codes(media)

    def to_printer_status(self) -> PrinterStatus:
        detail = ", ".join(self.errors) or self.status_type_name
        return PrinterStatus(self.state, media=self.media, detail=f"{self.model_name}: {detail}", raw=self.raw)


def parse_status(data: bytes) -> BrotherStatus:
    """The 32-byte status reply; ``ValueError`` when it is not one."""
    data = bytes(data)
    if len(data) != STATUS_SIZE or not data.startswith(STATUS_HEADER):
        raise ValueError(f"not a Brother QL status reply: {data[:8].hex(' ')}… ({len(data)} bytes)")
    return BrotherStatus(
        model_code=data[4],
        error1=data[8],
        error2=data[9],
        media_width_mm=data[10],
        media_type=data[11],
        media_length_mm=data[17],
        status_type=data[18],
        phase=data[19],
        raw=data,
    )


class StatusStream:
    """Reassembles status replies from a byte stream that may split or join them (TCP gives any chunking)."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self.ready: deque[BrotherStatus] = deque()  # parsed, not yet consumed

    def feed(self, data: bytes) -> list[BrotherStatus]:
        """Add bytes; returns the statuses they completed (also queued on ``ready``)."""
        self._buffer.extend(data)
        found: list[BrotherStatus] = []
        while True:
            start = self._buffer.find(STATUS_HEADER[:1])
            if start < 0:
                self._buffer.clear()
                break
            del self._buffer[:start]  # bytes before a header are noise; skip to the next possible header
            if len(self._buffer) < STATUS_SIZE:
                if not STATUS_HEADER.startswith(bytes(self._buffer[:3])):
                    del self._buffer[:1]
                    continue
                break
            if not self._buffer.startswith(STATUS_HEADER):
                del self._buffer[:1]
                continue
            found.append(parse_status(bytes(self._buffer[:STATUS_SIZE])))
            del self._buffer[:STATUS_SIZE]
        self.ready.extend(found)
        return found


def media_codes(media: Media) -> tuple[int, int, int]:
    """(width mm, media type, length mm) as both the media command and the status reply spell them."""
    if media.die_cut:
        assert media.length_mm is not None
        return round(media.width_mm), MEDIA_DIE_CUT, round(media.length_mm)
    return round(media.width_mm), MEDIA_CONTINUOUS, 0


def describe_media(media: Media) -> str:
    width, kind, length = media_codes(media)
    return f"{width}x{length}" if kind == MEDIA_DIE_CUT else f"{width} mm endless"


# --- the driver -------------------------------------------------------------------------------------------------


class BrotherQLDriver(Driver):
    family = "brother_ql"
    # TCP: the socket does the flow control, so big writes and no spacing.
    pacing = Pacing(interval_s=0.0, chunk=16384)

    def __init__(self, model: ModelSpec) -> None:
        super().__init__(model)
        self.head_dots = model.head_dots
        # Instance attributes so a test (or a slow site) can shorten or stretch the waits.
        self.status_wait_s = STATUS_WAIT_S
        self.done_wait_base_s = DONE_WAIT_BASE_S

    # --- encoding -----------------------------------------------------------------------------------------------

    def preamble(self) -> bytes:
        """Flush, reset, ask for status: sent alone so the reply can be checked before the label data."""
        return INVALIDATE + INIT + STATUS_REQUEST

    def page(self, bitmap: Bitmap, media: Media, first: bool, last: bool) -> bytes:
        width_mm, media_type, length_mm = media_codes(media)
        out = bytearray(RASTER_MODE)
        out += MEDIA_QUALITY + bytes([MEDIA_FLAGS, media_type, width_mm, length_mm])
        out += bitmap.height.to_bytes(4, "little") + bytes([0 if first else 1, 0])
        out += AUTO_CUT + CUT_EVERY_1 + EXPANDED_CUT_AT_END
        out += MARGINS + (0 if media.die_cut else MARGIN_ENDLESS_DOTS).to_bytes(2, "little")
        out += COMPRESSION_PACKBITS
        left = left_offset(bitmap.width, self.head_dots, media.right_margin_dots)
        for row in bitmap.rows:
            packed = packbits_encode(head_line(row, bitmap.width, self.head_dots, left))
            out += RASTER_LINE + bytes([len(packed)]) + packed
        out += PRINT_LAST if last else PRINT_PAGE
        return bytes(out)

    def body(self, bitmap: Bitmap, settings: PrintSettings) -> bytes:
        media = self._media(bitmap, settings)
        copies = max(1, settings.copies)
        return b"".join(self.page(bitmap, media, i == 0, i == copies - 1) for i in range(copies))

    def encode(self, bitmap: Bitmap, settings: PrintSettings, max_write: int) -> list[Write]:
        chunk = self._chunk(max_write)
        return _chunked(self.preamble(), chunk) + _chunked(self.body(bitmap, settings), chunk)

    def _chunk(self, max_write: int) -> int:
        return max(1, min(max_write, self.pacing.chunk or max_write))

    def _media(self, bitmap: Bitmap, settings: PrintSettings) -> Media:
        media = settings.media or self.model.default_media()
        self.check_fits(bitmap, media)
        if media.dots_along is not None and bitmap.height > media.dots_along:
            raise ValueError(
                f"{self.model.name} on {media.id} labels prints {media.dots_along} dots along; "
                f"the bitmap is {bitmap.height}"
            )
        return media

    # --- conversation -------------------------------------------------------------------------------------------

    async def print(
        self, link: Link, bitmap: Bitmap, settings: PrintSettings, progress: ProgressCallback = no_progress
    ) -> None:
        media = self._media(bitmap, settings)
        copies = max(1, settings.copies)
        chunk = self._chunk(link.max_write)
        link.discard_pending()
        stream = StatusStream()

        progress(Progress("connecting", message="Asking the printer for its status…"))
        await self._send(link, _chunked(self.preamble(), chunk))
        status = await self._wait_status(link, stream, self.status_wait_s, {STATUS_REPLY, STATUS_ERROR})
        if status is None:
            progress(
                Progress(
                    "connecting",
                    message="The printer did not answer the status request (usual for Brother QL over the "
                    "network); printing without checking its labels.",
                )
            )
        else:
            self._check_ready(status, media)

        writes = _chunked(self.body(bitmap, settings), chunk)
        await self._send(link, writes, progress)

        progress(Progress("printing", message="Waiting for the printer to finish…"))
        length_mm = bitmap.height * 25.4 / self.model.along_dpi
        deadline = time.monotonic() + self.done_wait_base_s + copies * length_mm / FEED_MM_PER_S
        done = 0
        while done < copies:
            reply = await self._wait_status(link, stream, deadline - time.monotonic(), {STATUS_DONE, STATUS_ERROR})
            if reply is None:
                progress(Progress("done", message="Sent; the printer did not confirm the print."))
                return
            if reply.status_type == STATUS_ERROR or reply.errors:
                raise PrinterFault(_fault_state(reply), ", ".join(reply.errors) or reply.status_type_name)
            done += 1
        progress(Progress("done", done=copies, total=copies, message="Printed."))

    async def status(self, link: Link) -> PrinterStatus:
        link.discard_pending()
        await self._send(link, _chunked(self.preamble(), self._chunk(link.max_write)))
        reply = await self._wait_status(link, StatusStream(), self.status_wait_s, {STATUS_REPLY, STATUS_ERROR})
        if reply is None:
            return PrinterStatus(
                PrinterState.UNKNOWN,
                detail="The printer did not answer the status request (network printing is blind).",
            )
        return reply.to_printer_status()

    def _check_ready(self, status: BrotherStatus, media: Media) -> None:
        if status.errors or status.status_type == STATUS_ERROR or status.media_type == MEDIA_NONE:
            raise PrinterFault(_fault_state(status), ", ".join(status.errors) or status.media)
        if not status.matches(media):
            # The printer itself would stop with "Replace media error" once the data is in; say it first.
            raise PrinterFault(PrinterState.WRONG_MEDIA, f"loaded: {status.media}, this job: {describe_media(media)}")

    async def _send(self, link: Link, writes: list[Write], progress: ProgressCallback | None = None) -> None:
        pacer = link.pacer(self.pacing.interval_s)
        total = len(writes)
        for i, write in enumerate(writes):
            await pacer.wait()
            await link.write(write.data, response=write.response)
            if progress is not None:
                progress(Progress("sending", done=i + 1, total=total))

    async def _wait_status(
        self, link: Link, stream: StatusStream, timeout: float, wanted: set[int]
    ) -> BrotherStatus | None:
        """The next status of a ``wanted`` type within ``timeout``, or None on silence. Others (phase changes,
        a late answer from an earlier job) are skipped. ``LinkLost`` propagates."""
        deadline = time.monotonic() + timeout
        while True:
            while stream.ready:
                status = stream.ready.popleft()
                if status.status_type in wanted:
                    return status
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            try:
                stream.feed(await link.read(left))
            except ReplyTimeout:
                return None


def _fault_state(status: BrotherStatus) -> PrinterState:
    state = status.state
    return state if state not in (PrinterState.READY, PrinterState.PRINTING) else PrinterState.ERROR


def _chunked(data: bytes, size: int) -> list[Write]:
    return [Write(data[i : i + size]) for i in range(0, len(data), size)]


__all__ = [
    "BrotherQLDriver",
    "BrotherStatus",
    "StatusStream",
    "head_line",
    "left_offset",
    "media_codes",
    "packbits_encode",
    "parse_status",
]
