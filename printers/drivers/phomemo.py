"""Phomemo label printers (M02, M110/M120, D30) over BLE: ESC/POS ``GS v 0`` raster with per-model framing.

Facts: PRINTERS.md §2. What each variant sends around the raster:

- M02: ``10 FF FE 01``, ``ESC @``, ``ESC 7 n1 n2 n3`` (heat), raster, ``ESC J n`` (feed).
- M110/M120: ``1B 4E 0D`` speed, ``1B 4E 04`` density, ``1F 11`` media type, raster,
  footer ``1F F0 05 00 1F F0 03 00``.
- D30: ``ESC @``, raster 12 bytes wide, ``1B 64 00``.

Status: the queries ``1F 11 08`` (battery), ``1F 11 11`` (paper), ``1F 11 12`` (cover) are known; the shape of
their replies is NOT (§2 only says they arrive on ``ff03``). This driver assumes ``1A <query> <value>`` —
*unverified*, chosen to be plausible — and parses it in exactly one place, :func:`take_status_reply`, so the
real format drops in there. Because the format is a guess, a printer that does not answer (or answers
something else) is "unknown" and still gets the job; only a definite "no paper" / "cover open" / "battery
empty" stops a print.

No completion notification is known for these printers either, so a print ends when its last byte is sent.
There is no flow control: 128-byte writes 20 ms apart (phomemo-tools #3: faster truncates the label).
"""

from __future__ import annotations

import asyncio

from printers.drivers.base import (
    PrinterStatus,
    PrintSettings,
)
from printers.drivers.escpos import (
    ESC_INIT,
    RasterStreamDriver,
    ReplyBuffer,
    raster_blocks,
)
from printers.errors import PrinterState, ReplyTimeout
from printers.link import Link, Pacer
from printers.models import Media, ModelSpec
from printers.raster import Bitmap

VARIANTS = ("m02", "m110", "d30")

# --- M02 -----------------------------------------------------------------------------------------------------
M02_PREFIX = b"\x10\xff\xfe\x01"
ESC_HEAT = b"\x1b\x37"  # ESC 7 n1 n2 n3: max heating dots (n1+1)*8, heating time n2*10 µs, interval n3*10 µs
M02_FEED_DOTS = 80  # ESC J n after the label: 10 mm at 203 dpi, past the tear bar (unverified)

# --- M110 family ---------------------------------------------------------------------------------------------
M110_SPEED = b"\x1b\x4e\x0d"
M110_DENSITY = b"\x1b\x4e\x04"
M110_DEFAULT_SPEED = 3  # 1-5; the middle, as no source names the app's choice (unverified)
MEDIA_SET = b"\x1f\x11"
MEDIA_CODES = {"gaps": 0x0A, "continuous": 0x0B, "black_mark": 0x26}
M110_FOOTER = b"\x1f\xf0\x05\x00\x1f\xf0\x03\x00"

# --- D30 -----------------------------------------------------------------------------------------------------
D30_FOOTER = b"\x1b\x64\x00"

# --- status queries (all variants) ---------------------------------------------------------------------------
QUERY = b"\x1f\x11"
QUERY_BATTERY, QUERY_PAPER, QUERY_COVER = 0x08, 0x11, 0x12
STATUS_QUERIES = (QUERY_BATTERY, QUERY_PAPER, QUERY_COVER)
# Unverified reply format (see the module docstring): 1A <query> <value>.
REPLY_MARK = 0x1A
PAPER_LOADED, PAPER_OUT = 0x01, 0x00
COVER_CLOSED, COVER_OPEN = 0x00, 0x01
BATTERY_EMPTY_BELOW = 10  # percent; under it the printer will not print (unverified threshold)
BATTERY_LOW_BELOW = 20  # percent; prints, but the technician is told


def status_reply(query: int, value: int) -> bytes:
    """The notification a printer sends for one status query (the assumed, unverified format)."""
    return bytes([REPLY_MARK, query, value])


def take_status_reply(buf: bytearray) -> tuple[int, int] | None:
    """The one parser for status replies: consume ``1A <query> <value>`` from ``buf`` and return (query,
    value); None while the reply is incomplete. Bytes before a ``1A`` are not a reply and are skipped."""
    while buf and buf[0] != REPLY_MARK:
        del buf[0]
    if len(buf) < 3:
        return None
    query, value = buf[1], buf[2]
    del buf[:3]
    return query, value


def interpret_status(answers: dict[int, int]) -> PrinterStatus:
    """The answers to the three queries as one state; a missing answer leaves that part unknown."""
    raw = b"".join(status_reply(q, v) for q, v in answers.items())
    battery = answers.get(QUERY_BATTERY)
    if not answers:
        return PrinterStatus(PrinterState.UNKNOWN, detail="no answer to the status queries", raw=raw)
    if answers.get(QUERY_COVER) == COVER_OPEN:
        state = PrinterState.COVER_OPEN
    elif answers.get(QUERY_PAPER) == PAPER_OUT:
        state = PrinterState.NO_PAPER
    elif battery is not None and battery < BATTERY_EMPTY_BELOW:
        state = PrinterState.BATTERY_EMPTY
    elif QUERY_PAPER not in answers or QUERY_COVER not in answers:
        state = PrinterState.UNKNOWN
    elif battery is not None and battery < BATTERY_LOW_BELOW:
        state = PrinterState.LOW_BATTERY
    else:
        state = PrinterState.READY
    missing = [name for q, name in ((QUERY_PAPER, "paper"), (QUERY_COVER, "cover")) if q not in answers]
    detail = f"no answer about: {', '.join(missing)}" if missing else ""
    return PrinterStatus(state, battery_percent=battery, detail=detail, raw=raw)


def heat_command(density: int) -> bytes:
    """``ESC 7 n1 n2 n3`` from the M02's density 1-5: longer heating for darker print. The mapping (heating
    time 0.6-1.4 ms, 64 dots at a time, 20 µs interval) is the ESC/POS default scaled around density 3 and is
    *unverified* on the M02."""
    return ESC_HEAT + bytes([7, 40 + 20 * density, 2])


class PhomemoDriver(RasterStreamDriver):
    family = "phomemo"
    checking_message = "Checking paper and cover"

    def __init__(self, model: ModelSpec, *, reply_timeout_s: float = 1.5) -> None:
        if model.family != self.family or model.variant not in VARIANTS:
            raise ValueError(f"{model.name} is not a Phomemo model this driver knows ({', '.join(VARIANTS)})")
        super().__init__(model)
        self.reply_timeout_s = reply_timeout_s

    def job_bytes(self, bitmap: Bitmap, settings: PrintSettings) -> bytes:
        """One copy's byte stream, framed for this model's variant (see the module docstring)."""
        media = settings.media or self.model.default_media()
        self.check_fits(bitmap, media)
        density = self.model.clamp_density(settings.density)
        raster = raster_blocks(bitmap)
        variant = self.model.variant
        if variant == "m02":
            return M02_PREFIX + ESC_INIT + heat_command(density) + raster + b"\x1b\x4a" + bytes([M02_FEED_DOTS])
        if variant == "m110":
            header = M110_SPEED + bytes([M110_DEFAULT_SPEED]) + M110_DENSITY + bytes([density]) + media_command(media)
            return header + raster + M110_FOOTER
        return ESC_INIT + raster + D30_FOOTER

    async def _status(self, link: Link, pacer: Pacer) -> PrinterStatus:
        link.discard_pending()
        for query in STATUS_QUERIES:
            await pacer.wait()
            await link.write(QUERY + bytes([query]))
        replies = ReplyBuffer(link)
        answers: dict[int, int] = {}
        # One timeout for the three replies together, not one each.
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.reply_timeout_s
        try:
            while len(answers) < len(STATUS_QUERIES):
                remaining = max(0.0, deadline - loop.time())
                query, value = await replies.read_frame(take_status_reply, remaining)
                if query in STATUS_QUERIES:
                    answers[query] = value
        except ReplyTimeout:
            pass  # whatever did not answer stays unknown; see the module docstring
        return interpret_status(answers)


def media_command(media: Media) -> bytes:
    """``1F 11 xx``: the M110's label type (gaps, continuous, black marks)."""
    return MEDIA_SET + bytes([MEDIA_CODES.get(media.kind, MEDIA_CODES["gaps"])])


__all__ = [
    "QUERY_BATTERY",
    "QUERY_COVER",
    "QUERY_PAPER",
    "STATUS_QUERIES",
    "PhomemoDriver",
    "heat_command",
    "interpret_status",
    "media_command",
    "status_reply",
    "take_status_reply",
]
