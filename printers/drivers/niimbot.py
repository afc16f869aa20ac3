"""Niimbot label printers (B1, B21, D11, D110) over BLE: framing, row encoding and the print conversation.

Facts are from ../shared/PRINTERS.md §1 (gathered from niimbluelib, niimprint and friends); none were checked
on a real printer. Where this module had to choose between conventions the sources disagree on, the choice
and the reason are written next to the code, marked *unverified*.

The wire format: every message is one frame ``55 55 cmd len data chk AA AA`` (chk = XOR of cmd, len and the
data). Commands get a reply frame with a known code; image rows get none, so nothing but pacing keeps the
printer's small receive buffer from overflowing (niimprint #3 and #43: "printed only partially"). NiimBlue's
answer, followed here: one frame per write, never split, 10 ms apart.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
from collections import deque
from dataclasses import dataclass

from printers.drivers.base import Driver, PrinterStatus, PrintSettings, Progress, ProgressCallback, Write, no_progress
from printers.errors import PrinterError, PrinterFault, PrinterState, ProtocolError, ReplyTimeout
from printers.link import Link, Pacing
from printers.models import ModelSpec
from printers.raster import Bitmap

# --- framing ----------------------------------------------------------------------------------------------

HEAD = b"\x55\x55"
TAIL = b"\xaa\xaa"
CONNECT_PREFIX = b"\x03"
MAX_DATA = 255  # the length field is one byte
FRAME_OVERHEAD = 7  # head 2 + cmd + len + chk + tail 2


class Cmd(enum.IntEnum):
    """Commands from the app to the printer."""

    PRINT_START = 0x01
    PAGE_START = 0x03
    SET_PAGE_SIZE = 0x13
    QUANTITY = 0x15
    PRINT_CLEAR = 0x20
    DENSITY = 0x21
    LABEL_TYPE = 0x23
    INFO = 0x40
    ROW_INDEXED = 0x83
    ROW_BLANK = 0x84
    ROW_BITMAP = 0x85
    CHECK_LINE = 0x86
    PRINT_STATUS = 0xA3
    CONNECT = 0xC1
    HEARTBEAT = 0xDC
    PAGE_END = 0xE3
    PRINT_END = 0xF3


class Reply(enum.IntEnum):
    """Frames from the printer to the app."""

    NOT_SUPPORTED = 0x00
    PRINT_START = 0x02
    PAGE_START = 0x04
    SET_PAGE_SIZE = 0x14
    QUANTITY = 0x16
    PRINT_CLEAR = 0x30
    DENSITY = 0x31
    LABEL_TYPE = 0x33
    PRINT_STATUS = 0xB3
    CONNECT = 0xC2
    HEARTBEAT_ADVANCED2 = 0xD9
    ERROR = 0xDB
    HEARTBEAT_ADVANCED1 = 0xDD
    HEARTBEAT_BASIC = 0xDE
    HEARTBEAT_INFO = 0xDF
    PAGE_END = 0xE4
    PRINT_END = 0xF4


# Which reply answers which command (PRINTERS.md §1 "Replies"). Row commands and CheckLine are one-way.
REPLIES: dict[int, tuple[int, ...]] = {
    Cmd.PRINT_START: (Reply.PRINT_START,),
    Cmd.PAGE_START: (Reply.PAGE_START,),
    Cmd.SET_PAGE_SIZE: (Reply.SET_PAGE_SIZE,),
    Cmd.QUANTITY: (Reply.QUANTITY,),
    Cmd.PRINT_CLEAR: (Reply.PRINT_CLEAR,),
    Cmd.DENSITY: (Reply.DENSITY,),
    Cmd.LABEL_TYPE: (Reply.LABEL_TYPE,),
    Cmd.PRINT_STATUS: (Reply.PRINT_STATUS,),
    Cmd.CONNECT: (Reply.CONNECT,),
    Cmd.PAGE_END: (Reply.PAGE_END,),
    Cmd.PRINT_END: (Reply.PRINT_END,),
    Cmd.HEARTBEAT: (
        Reply.HEARTBEAT_ADVANCED1,
        Reply.HEARTBEAT_BASIC,
        Reply.HEARTBEAT_INFO,
        Reply.HEARTBEAT_ADVANCED2,
    ),
}

# ``DB`` error codes (and the error byte of a 10-byte print-status reply) as the states a desk shows.
ERROR_STATES: dict[int, PrinterState] = {
    0x01: PrinterState.COVER_OPEN,
    0x02: PrinterState.NO_PAPER,
    0x03: PrinterState.BATTERY_EMPTY,  # a battery error stops the print, so it is "too low", not "low"
    0x06: PrinterState.DATA_ERROR,
    0x07: PrinterState.OVERHEAT,
    0x09: PrinterState.BUSY,
}

# Media.kind -> SetLabelType value (1 gaps, 2 black mark, 3 continuous; 5 transparent is not in our media).
LABEL_TYPES = {"gaps": 1, "black_mark": 2, "continuous": 3}


def checksum(cmd: int, data: bytes) -> int:
    value = cmd ^ len(data)
    for b in data:
        value ^= b
    return value


def build_frame(cmd: int, data: bytes = b"\x01") -> bytes:
    """One frame. The default payload ``01`` is what the sources send to commands that take no argument."""
    if len(data) > MAX_DATA:
        raise ValueError(f"a Niimbot frame carries at most {MAX_DATA} data bytes, got {len(data)}")
    return HEAD + bytes([cmd, len(data)]) + data + bytes([checksum(cmd, data)]) + TAIL


def connect_frame() -> bytes:
    """The Connect command, which alone is sent with a ``03`` byte in front of its frame."""
    return CONNECT_PREFIX + build_frame(Cmd.CONNECT, b"\x01")


def u16(value: int) -> bytes:
    return value.to_bytes(2, "big")


@dataclass(frozen=True, slots=True)
class Frame:
    cmd: int
    data: bytes

    def encode(self) -> bytes:
        return build_frame(self.cmd, self.data)


class FrameParser:
    """Reassembles frames from notifications: one notification may hold part of a frame, several frames, or
    a frame with bytes in front of it (Connect's ``03``). A frame whose tail or checksum is wrong is dropped
    by skipping one byte and searching for the next header, so one damaged frame costs only itself."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self.bad_frames = 0  # header found but tail or checksum wrong
        self.skipped_bytes = 0  # bytes outside any frame (prefixes, noise)

    @property
    def pending(self) -> int:
        """Bytes held while waiting for the rest of a frame."""
        return len(self._buf)

    def feed(self, chunk: bytes) -> list[Frame]:
        self._buf += chunk
        frames: list[Frame] = []
        while True:
            start = self._buf.find(HEAD)
            if start < 0:
                # Keep a trailing 55: it may be the first half of the next header.
                keep = 1 if self._buf.endswith(HEAD[:1]) else 0
                self.skipped_bytes += len(self._buf) - keep
                del self._buf[: len(self._buf) - keep]
                return frames
            if start:
                self.skipped_bytes += start
                del self._buf[:start]
            if len(self._buf) < 4:
                return frames
            size = self._buf[3] + FRAME_OVERHEAD
            if len(self._buf) < size:
                return frames
            cmd, data = self._buf[2], bytes(self._buf[4 : size - 3])
            if self._buf[size - 2 : size] == TAIL and self._buf[size - 3] == checksum(cmd, data):
                frames.append(Frame(cmd, data))
                del self._buf[:size]
            else:
                self.bad_frames += 1
                self.skipped_bytes += 1
                del self._buf[:1]


def parse_frames(data: bytes) -> list[Frame]:
    """Every whole frame in ``data`` (a convenience for tests and one-shot decoding)."""
    return FrameParser().feed(data)


# --- image rows -------------------------------------------------------------------------------------------

MAX_REPEAT = 255  # the repeat field is one byte
MAX_INDEXED_DOTS = 6  # 83 frames carry at most six dots (niimbluelib: the printer powers off beyond that)
CHECK_EVERY = 200  # B21: a CheckLine after every 200 rows


def row_counts(row: bytes, head_dots: int, mode: str) -> bytes:
    """The three "black dots" bytes of a row frame.

    *Unverified*, and the sources disagree. niimbluelib's default ("split") counts the black dots in each
    third of the print head (head/24 bytes per third: 16 bytes = 128 dots on a 384-dot head, 4 bytes = 32 dots
    on a 96-dot head); it falls back to ``[0, lo, hi]`` (the total, little-endian behind a zero) for rows
    wider than the head, and its B21 task always sends that "total" form. niimprint sends zeros, and one
    report says a B1 then prints nothing. We send "split" to B1/D11/D110 and "total" to the B21, as
    niimbluelib does. The printer probably uses the counts to budget heating current per head segment.
    """
    total = sum(b.bit_count() for b in row)
    chunk = head_dots // 24
    if mode == "split" and chunk and len(row) <= 3 * chunk:
        parts = [sum(b.bit_count() for b in row[i * chunk : (i + 1) * chunk]) for i in range(3)]
        return bytes(min(p, 255) for p in parts)
    total = min(total, 0xFFFF)
    return bytes([0, total & 0xFF, total >> 8])


def dot_indices(row: bytes) -> list[int]:
    return [i * 8 + bit for i, b in enumerate(row) if b for bit in range(8) if b & (0x80 >> bit)]


def row_frame(y: int, repeat: int, row: bytes, head_dots: int, counts: str) -> bytes:
    """The frame for ``repeat`` identical rows starting at row ``y``: ``84`` when blank, ``83`` (dot indices)
    for one to six black dots, ``85`` (the packed row) otherwise."""
    if not any(row):
        return build_frame(Cmd.ROW_BLANK, u16(y) + bytes([repeat]))
    header = u16(y) + row_counts(row, head_dots, counts) + bytes([repeat])
    dots = dot_indices(row)
    if len(dots) <= MAX_INDEXED_DOTS:
        return build_frame(Cmd.ROW_INDEXED, header + b"".join(u16(x) for x in dots))
    return build_frame(Cmd.ROW_BITMAP, header + row)


def check_line_frame(y: int) -> bytes:
    return build_frame(Cmd.CHECK_LINE, u16(y) + b"\x01")


@dataclass(frozen=True, slots=True)
class RowFrame:
    data: bytes
    rows: int  # bitmap rows this frame carries (0 for a CheckLine), for the progress bar


def encode_rows(bitmap: Bitmap, head_dots: int, *, counts: str = "split", check_lines: bool = False) -> list[RowFrame]:
    """The image as row frames. Identical consecutive rows become one frame with a repeat count (at most 255).
    With ``check_lines`` (B21) a CheckLine naming the last row of each 200 follows that row, and no run
    crosses it — where niimbluelib puts it (after rows 199, 399, …)."""
    out: list[RowFrame] = []
    y = 0
    while y < bitmap.height:
        row = bitmap.rows[y]
        end = y + 1
        while (
            end < bitmap.height
            and end - y < MAX_REPEAT
            and bitmap.rows[end] == row
            and not (check_lines and end % CHECK_EVERY == 0)
        ):
            end += 1
        out.append(RowFrame(row_frame(y, end - y, row, head_dots, counts), end - y))
        if check_lines and end % CHECK_EVERY == 0:
            out.append(RowFrame(check_line_frame(end - 1), 0))
        y = end
    return out


def page_size_data(variant: str, rows: int, cols: int, copies: int = 1) -> bytes:
    """SetPageSize's payload: rows (along the feed) and cols (across the head), plus copies on the B1.

    The B1 needs the 6-byte form; given the 4-byte one it prints blank labels (niimprint #17)."""
    if variant == "b1":
        return u16(rows) + u16(cols) + u16(copies)
    return u16(rows) + u16(cols)


# --- errors -----------------------------------------------------------------------------------------------


class LinkTooSmall(PrinterError):
    """The link's largest write cannot hold one frame. Niimbot frames must never be split across writes."""

    code = "mtu_too_small"


class CommandNotSupported(ProtocolError):
    """The printer answered ``00``: it does not know the command (usually a different protocol variant)."""

    code = "not_supported"


def fault_for(code: int, during: str) -> PrinterFault:
    state = ERROR_STATES.get(code, PrinterState.ERROR)
    detail = f"error code 0x{code:02X} during {during}"
    return PrinterFault(state, detail)


# --- status -----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PrintProgress:
    """A ``B3`` reply: pages finished so far, the current page's print and feed percentages, and an error
    code (only 10-byte replies carry one, at offset 6)."""

    page: int
    print_percent: int
    feed_percent: int
    error: int = 0

    @classmethod
    def parse(cls, data: bytes) -> PrintProgress:
        if len(data) < 4:
            raise ProtocolError(f"The printer sent a {len(data)}-byte print status; at least 4 were expected.")
        error = data[6] if len(data) == 10 else 0
        return cls(int.from_bytes(data[0:2], "big"), data[2], data[3], error)


def parse_heartbeat(frame: Frame) -> PrinterStatus:
    """The printer's state from a heartbeat reply.

    *Unverified*: the layouts are niimbluelib's, which tells the variants apart by length (PRINTERS.md has
    only the reply codes). ``DD`` with 10 bytes (D11/D110): lid at [8], battery at [9]; 13 bytes (B1/B21):
    lid [9], battery [10], paper [11]; 19 bytes: lid [15], battery [16], paper [17]; 20 bytes: paper [18].
    ``D9``: battery [2], lid [4], paper [5]. Lid and paper bytes are 0 when closed / loaded. A battery value
    of 0–4 is a level in quarters (×25 %), larger values are percent. niimbluelib lists some models whose lid
    byte is inverted; that list is by model id, which we do not read, so such a model would report its
    cover the wrong way round. The 10-byte form carries no paper state: a D110 out of labels only says so
    when a print fails (``DB 02``).
    """
    data = frame.data
    lid = battery = paper = None
    n = len(data)
    if frame.cmd == Reply.HEARTBEAT_ADVANCED1:
        if n == 10:
            lid, battery = data[8], data[9]
        elif n == 13:
            lid, battery, paper = data[9], data[10], data[11]
        elif n == 19:
            lid, battery, paper = data[15], data[16], data[17]
        elif n == 20:
            paper = data[18]
    elif frame.cmd == Reply.HEARTBEAT_ADVANCED2 and n >= 6:
        battery, lid, paper = data[2], data[4], data[5]
    percent = None if battery is None else (battery * 25 if battery <= 4 else min(battery, 100))
    unknown = [name for name, value in (("cover", lid), ("labels", paper), ("battery", battery)) if value is None]
    detail = f"not reported: {', '.join(unknown)}" if unknown else ""
    if lid is None and paper is None and battery is None:
        state = PrinterState.UNKNOWN
        detail = f"heartbeat reply 0x{frame.cmd:02X} with {n} bytes has no known layout"
    elif lid:
        state = PrinterState.COVER_OPEN
    elif paper:
        state = PrinterState.NO_PAPER
    elif percent == 0:
        state = PrinterState.BATTERY_EMPTY
    elif percent is not None and percent <= 25:
        state = PrinterState.LOW_BATTERY
    else:
        state = PrinterState.READY
    return PrinterStatus(state, battery_percent=percent, detail=detail, raw=frame.encode())


# --- the job ----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Step:
    """One write of a job. ``cmd`` is set for commands that get a reply (the driver waits for it)."""

    data: bytes
    cmd: int | None = None
    name: str = ""
    rows: int = 0


@dataclass(frozen=True, slots=True)
class Plan:
    steps: tuple[Step, ...]  # everything up to the last PageEnd
    end: Step  # PrintEnd, sent once the pages are printed
    total_rows: int  # rows sent, all pages together (the "sending" progress)
    total_pages: int  # labels the printer will count in its print status
    wait_by_print_end: bool  # B21: repeat PrintEnd until it answers 1, instead of polling A3

    @property
    def writes(self) -> list[bytes]:
        return [s.data for s in self.steps] + [self.end.data]


def command(cmd: Cmd, data: bytes = b"\x01", name: str = "") -> Step:
    return Step(build_frame(cmd, data), cmd, name or cmd.name.replace("_", " ").title().replace(" ", ""))


class _Conversation:
    """One exchange with the printer: paced writes, and replies matched to the command that asked."""

    def __init__(self, link: Link, who: str, interval_s: float, reply_timeout_s: float) -> None:
        self.link = link
        self.who = who
        self.reply_timeout_s = reply_timeout_s
        self.pacer = link.pacer(interval_s)
        self.parser = FrameParser()
        self.inbox: deque[Frame] = deque()

    async def send(self, data: bytes) -> None:
        await self.pacer.wait()
        await self.link.write(data, response=False)

    async def request(self, step: Step) -> Frame:
        await self.send(step.data)
        assert step.cmd is not None
        return await self.expect(step.cmd, step.name)

    async def expect(self, cmd: int, what: str) -> Frame:
        wanted = REPLIES[cmd]
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.reply_timeout_s
        while True:
            while self.inbox:
                frame = self.inbox.popleft()
                if frame.cmd in wanted:
                    return frame
                if frame.cmd == Reply.ERROR:
                    raise fault_for(frame.data[0] if frame.data else 0, what)
                if frame.cmd == Reply.NOT_SUPPORTED:
                    raise CommandNotSupported(
                        f"The {self.who} does not support the {what} command.",
                        "Check the printer model chosen for this desk; its firmware may speak another variant.",
                    )
                # Anything else is a late answer to an earlier request or an unsolicited notice: skip it.
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise self._timeout(what)
            try:
                chunk = await self.link.read(remaining)
            except ReplyTimeout:
                raise self._timeout(what) from None
            self.inbox.extend(self.parser.feed(chunk))

    def _timeout(self, what: str) -> ReplyTimeout:
        return ReplyTimeout(
            f"The {self.who} did not answer the {what} command within {self.reply_timeout_s:g} s.",
            "Check it is switched on, close to the desk and not busy with another phone or computer, then retry.",
        )


class NiimbotDriver(Driver):
    """B1 / B21 / D11 / D110, chosen by ``model.variant`` ("b1", "b21", "d110").

    The timing knobs exist for tests; the defaults are the sources' (reply 1 s, page 10 s, poll 300 ms).
    """

    family = "niimbot"
    pacing = Pacing(interval_s=0.010, chunk=None)

    def __init__(
        self,
        model: ModelSpec,
        *,
        reply_timeout_s: float = 1.0,
        page_timeout_s: float = 10.0,
        poll_interval_s: float = 0.3,
    ) -> None:
        super().__init__(model)
        if model.variant not in ("b1", "b21", "d110"):
            raise ValueError(f"{model.name}: unknown Niimbot protocol variant {model.variant!r}")
        self.reply_timeout_s = reply_timeout_s
        self.page_timeout_s = page_timeout_s
        self.poll_interval_s = poll_interval_s

    # --- encoding ----------------------------------------------------------------------------------------

    def plan(self, bitmap: Bitmap, settings: PrintSettings) -> Plan:
        """The job as steps, in PRINTERS.md §1's order for the model's variant.

        Every variant starts with SetDensity and SetLabelType: PRINTERS.md lists them for the B1 only, but
        niimbluelib's D110 and B21 tasks (and niimprint) send them too, and without them the density setting
        would be ignored. Copies: the B1 puts them in PrintStart's total and SetPageSize; the D110 in a
        Quantity command; the B21 has neither, so its page is sent once per copy (niimbluelib's B21 task).
        """
        media = settings.media or self.model.default_media()
        self.check_fits(bitmap, media)
        copies = settings.copies
        if not 1 <= copies <= 0xFFFF:
            raise ValueError(f"copies must be between 1 and 65535, got {copies}")
        if bitmap.height > 0xFFFF:
            raise ValueError(f"a Niimbot page has at most 65535 rows, got {bitmap.height}")
        variant = self.model.variant
        density = self.model.clamp_density(settings.density)
        steps = [
            command(Cmd.DENSITY, bytes([density])),
            command(Cmd.LABEL_TYPE, bytes([LABEL_TYPES.get(media.kind, 1)])),
        ]
        row_steps = [Step(r.data, None, "row", r.rows) for r in self.row_frames(bitmap)]
        size = page_size_data(variant, bitmap.height, bitmap.width, copies)
        page_start = command(Cmd.PAGE_START)
        page_size = command(Cmd.SET_PAGE_SIZE, size)
        page_end = command(Cmd.PAGE_END)
        if variant == "b1":
            # PrintStart, 7 bytes: total pages u16, 00 x4, page colour 0.
            steps.append(command(Cmd.PRINT_START, u16(copies) + bytes(4) + b"\x00"))
            steps += [page_start, page_size, *row_steps, page_end]
            pages = 1
        elif variant == "d110":
            steps += [command(Cmd.PRINT_START), command(Cmd.PRINT_CLEAR), page_start, page_size]
            steps += [command(Cmd.QUANTITY, u16(copies)), *row_steps, page_end]
            pages = 1
        else:  # b21
            steps.append(command(Cmd.PRINT_START))
            for _ in range(copies):
                steps += [page_start, page_size, *row_steps, page_end]
            pages = copies
        return Plan(
            steps=tuple(steps),
            end=command(Cmd.PRINT_END),
            total_rows=bitmap.height * pages,
            total_pages=copies,
            wait_by_print_end=variant == "b21",
        )

    def row_frames(self, bitmap: Bitmap) -> list[RowFrame]:
        """The image's row frames as this model takes them: "total" counts and CheckLines on the B21
        (niimbluelib's B21 task), per-head-third counts elsewhere."""
        b21 = self.model.variant == "b21"
        return encode_rows(bitmap, self.model.head_dots, counts="total" if b21 else "split", check_lines=b21)

    def encode(self, bitmap: Bitmap, settings: PrintSettings, max_write: int) -> list[Write]:
        """Every frame ``print`` sends, in order, one per write. Not included: the print-status polls (as many
        as the printer takes) and, on the B21, the PrintEnd repeats after the first."""
        plan = self.plan(bitmap, settings)
        self._check_fits_link(plan, max_write)
        return [Write(data) for data in plan.writes]

    def _check_fits_link(self, plan: Plan, max_write: int) -> None:
        largest = max(len(w) for w in plan.writes)
        if max_write < largest:
            raise LinkTooSmall(
                f"The Bluetooth link negotiated a too-small MTU: it takes writes of at most {max_write} bytes, "
                f"but the {self.model.name} needs {largest}-byte frames, which must not be split.",
                "Disconnect and reconnect the printer (the MTU exchange may not have finished); if it keeps "
                "happening, use a Bluetooth adapter that supports larger packets (BLE 4.2 or newer).",
            )

    # --- printing ----------------------------------------------------------------------------------------

    async def print(
        self, link: Link, bitmap: Bitmap, settings: PrintSettings, progress: ProgressCallback = no_progress
    ) -> None:
        plan = self.plan(bitmap, settings)
        self._check_fits_link(plan, link.max_write)
        link.discard_pending()
        talk = _Conversation(link, self.model.name, self.pacing.interval_s, self.reply_timeout_s)
        started = False
        rows_sent = 0
        progress(Progress("sending", 0, plan.total_rows))
        try:
            for step in plan.steps:
                if step.cmd is None:
                    await talk.send(step.data)
                    if step.rows:
                        rows_sent += step.rows
                        progress(Progress("sending", rows_sent, plan.total_rows))
                    continue
                reply = await talk.request(step)
                if step.cmd == Cmd.PRINT_START:
                    if reply.data[:1] == b"\x00":
                        raise ProtocolError(
                            f"The {self.model.name} refused to start the job.",
                            "Wait for it to finish any other job, then retry.",
                        )
                    started = True
            progress(Progress("printing", 0, plan.total_pages))
            if plan.wait_by_print_end:
                await self._wait_by_print_end(talk, plan, progress)
            else:
                await self._wait_by_status(talk, plan, progress)
                await talk.request(plan.end)
        except (PrinterFault, ReplyTimeout, ProtocolError):
            if started:
                await self._abandon(talk, plan)
            raise
        progress(Progress("done", plan.total_pages, plan.total_pages))

    async def _wait_by_status(self, talk: _Conversation, plan: Plan, progress: ProgressCallback) -> None:
        """Poll ``A3`` every ``poll_interval_s`` until the printer has printed every page. The page timeout
        restarts whenever a page completes: a long run of copies is fine, a stuck page is not."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.page_timeout_s
        last_page = 0
        poll = command(Cmd.PRINT_STATUS, name="PrintStatus")
        while True:
            status = PrintProgress.parse((await talk.request(poll)).data)
            if status.error:
                raise fault_for(status.error, "printing")
            progress(Progress("printing", min(status.page, plan.total_pages), plan.total_pages))
            if status.page >= plan.total_pages:
                return
            if status.page > last_page:
                last_page = status.page
                deadline = loop.time() + self.page_timeout_s
            if loop.time() >= deadline:
                raise self._stuck(status.page, plan.total_pages)
            await asyncio.sleep(self.poll_interval_s)

    async def _wait_by_print_end(self, talk: _Conversation, plan: Plan, progress: ProgressCallback) -> None:
        """B21: send PrintEnd until it answers 1 (0 = still printing)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.page_timeout_s * plan.total_pages
        while True:
            reply = await talk.request(plan.end)
            if reply.data[:1] == b"\x01":
                return
            if loop.time() >= deadline:
                raise self._stuck(0, plan.total_pages)
            await asyncio.sleep(self.poll_interval_s)

    def _stuck(self, done: int, total: int) -> ReplyTimeout:
        return ReplyTimeout(
            f"The {self.model.name} did not finish printing ({done} of {total} labels after "
            f"{self.page_timeout_s:g} s without progress).",
            "Check the labels are not jammed and the cover is closed, then retry.",
        )

    async def _abandon(self, talk: _Conversation, plan: Plan) -> None:
        """Best effort after a failure mid-job: PrintEnd, so the printer is not left waiting for pages that
        will never come. Its reply is not awaited; the next job discards it."""
        with contextlib.suppress(PrinterError):
            await talk.send(plan.end.data)

    # --- status ------------------------------------------------------------------------------------------

    async def status(self, link: Link) -> PrinterStatus:
        """A heartbeat (``DC 01``) and its reply, read as in ``parse_heartbeat``. A ``DB`` answer is reported
        as the state it names; a printer that does not know the heartbeat reports UNKNOWN."""
        link.discard_pending()
        talk = _Conversation(link, self.model.name, self.pacing.interval_s, self.reply_timeout_s)
        try:
            reply = await talk.request(command(Cmd.HEARTBEAT, name="Heartbeat"))
        except PrinterFault as fault:
            return PrinterStatus(fault.state, detail=fault.message)
        except CommandNotSupported:
            return PrinterStatus(PrinterState.UNKNOWN, detail="the printer does not answer heartbeats")
        return parse_heartbeat(reply)


__all__ = [
    "Cmd",
    "CommandNotSupported",
    "Frame",
    "FrameParser",
    "LinkTooSmall",
    "NiimbotDriver",
    "PrintProgress",
    "Reply",
    "build_frame",
    "checksum",
    "connect_frame",
    "encode_rows",
    "page_size_data",
    "parse_frames",
    "parse_heartbeat",
    "row_counts",
]
