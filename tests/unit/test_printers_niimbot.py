"""Niimbot B1 / B21 / D11 / D110: framing, row encoding, the print conversation and the virtual printer.

The round trips prove a badge reaches the label dot for dot on every model; the virtual printer decodes with
its own code (not the driver's), so a mistake on one side shows up as a difference instead of cancelling out.
The fault, timeout and pacing tests are what a desk sees when a real printer misbehaves.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import time
from collections.abc import Iterable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from printers.drivers.base import PrintSettings, Progress
from printers.drivers.niimbot import (
    Cmd,
    CommandNotSupported,
    Frame,
    FrameParser,
    LinkTooSmall,
    NiimbotDriver,
    PrintProgress,
    Reply,
    build_frame,
    connect_frame,
    page_size_data,
    parse_frames,
    parse_heartbeat,
    row_counts,
)
from printers.errors import LinkLost, PrinterError, PrinterFault, PrinterState, ReplyTimeout
from printers.models import ModelSpec, get_model
from printers.raster import Bitmap, row_bytes
from printers.virtual.base import LinkLimits
from printers.virtual.loopback import LoopbackLink
from printers.virtual.niimbot import VirtualNiimbot, frame

MODEL_IDS = ["niimbot-b1", "niimbot-b21", "niimbot-d11", "niimbot-d110"]
B1, B21, D110 = get_model("niimbot-b1"), get_model("niimbot-b21"), get_model("niimbot-d110")
QUICK = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
ROW_CMDS = (Cmd.ROW_INDEXED, Cmd.ROW_BLANK, Cmd.ROW_BITMAP)


def width_of(model: ModelSpec) -> int:
    return model.printable_across(model.default_media())


def rows_bitmap(width: int, rows: list[bytes]) -> Bitmap:
    return Bitmap.from_rows(width, rows)


def dots_row(width: int, xs: Iterable[int]) -> bytes:
    out = bytearray(row_bytes(width))
    for x in xs:
        out[x >> 3] |= 0x80 >> (x & 7)
    return bytes(out)


def full_row(width: int) -> bytes:
    return dots_row(width, range(width))


def random_bitmap(width: int, height: int, seed: int, run: int = 1) -> Bitmap:
    """Noise rows, each repeated ``run`` times: run=1 is the worst case (no row merges)."""
    rng = random.Random(seed)
    rows: list[bytes] = []
    while len(rows) < height:
        row = dots_row(width, [x for x in range(width) if rng.random() < 0.4])
        rows += [row] * min(run, height - len(rows))
    return rows_bitmap(width, rows)


def make_device(model: ModelSpec, **kwargs: object) -> VirtualNiimbot:
    return VirtualNiimbot(model, address="AA:BB:CC:DD:EE:01", **kwargs)  # type: ignore[arg-type]


def feed_directly(model: ModelSpec, bitmap: Bitmap, job: PrintSettings) -> tuple[VirtualNiimbot, list[Frame]]:
    """encode() straight into a virtual printer with no rate limit: the pure encode → decode proof."""
    device = make_device(model, limits=LinkLimits(max_write=182))
    replies = bytearray()
    device.attach(replies.extend, lambda: None)
    for write in NiimbotDriver(model).encode(bitmap, job, device.limits.max_write):
        device.receive(write.data, write.response)
    return device, parse_frames(bytes(replies))


async def print_on(
    device: VirtualNiimbot, bitmap: Bitmap, job: PrintSettings | None = None, driver: NiimbotDriver | None = None
) -> list[Progress]:
    seen: list[Progress] = []
    link = LoopbackLink(device)
    await (driver or NiimbotDriver(device.model)).print(link, bitmap, job or PrintSettings(), seen.append)
    return seen


def collapse_polls(cmds: list[int]) -> list[int]:
    """The command sequence with each run of repeated PrintStatus / PrintEnd polls shown once."""
    out: list[int] = []
    for c in cmds:
        if not (out and c == out[-1] and c in (Cmd.PRINT_STATUS, Cmd.PRINT_END)):
            out.append(c)
    return out


# --- framing --------------------------------------------------------------------------------------------------


def test_worked_example_page_size_is_the_4_byte_form_for_120_rows_by_240_cols():
    # niimprint #17's bytes: if this broke, every D110/B21 label would come out the wrong size.
    assert build_frame(Cmd.SET_PAGE_SIZE, page_size_data("d110", 120, 240)) == bytes.fromhex(
        "55 55 13 04 00 78 00 F0 9F AA AA"
    )
    assert page_size_data("b21", 120, 240) == page_size_data("d110", 120, 240)
    # The B1 takes the 6-byte form with copies; the 4-byte one makes it print blank.
    assert page_size_data("b1", 120, 240, 3) == bytes.fromhex("0078 00F0 0003")


def test_connect_is_the_only_frame_with_the_03_prefix_and_still_parses():
    raw = connect_frame()
    assert raw[:1] == b"\x03" and raw[1:] == build_frame(Cmd.CONNECT, b"\x01")
    parser = FrameParser()
    assert parser.feed(raw) == [Frame(Cmd.CONNECT, b"\x01")]
    assert parser.bad_frames == 0


FRAMES = st.lists(
    st.tuples(st.integers(0, 255), st.binary(max_size=255)).map(lambda t: Frame(*t)), min_size=1, max_size=6
)


@QUICK
@given(frames=FRAMES, cuts=st.lists(st.integers(0, 2000), max_size=8), junk=st.binary(max_size=4))
def test_frames_survive_any_split_or_join_of_notifications(frames, cuts, junk):
    """A notification may carry part of a frame or several; the replies a driver waits for must still arrive."""
    stream = junk.replace(b"\x55", b"") + b"".join(f.encode() for f in frames)
    points = sorted({0, len(stream), *(c % (len(stream) + 1) for c in cuts)})
    parser = FrameParser()
    got: list[Frame] = []
    for a, b in itertools.pairwise(points):
        got += parser.feed(stream[a:b])
    assert got == frames
    assert parser.pending == 0 and parser.bad_frames == 0


def test_a_damaged_frame_is_dropped_and_the_next_one_still_parses():
    good = build_frame(Cmd.PRINT_STATUS)
    bad = bytearray(build_frame(Cmd.PAGE_END))
    bad[-3] ^= 0xFF  # checksum
    parser = FrameParser()
    assert parser.feed(bytes(bad) + good) == [Frame(Cmd.PRINT_STATUS, b"\x01")]
    assert parser.bad_frames == 1


def test_print_status_reply_reads_pages_and_the_error_byte_of_the_10_byte_form():
    assert PrintProgress.parse(bytes.fromhex("0002 64 64")) == PrintProgress(2, 100, 100, 0)
    assert PrintProgress.parse(bytes.fromhex("0001 32 10 0000 01 000000")).error == 0x01


# --- row encoding ---------------------------------------------------------------------------------------------


def row_frames(model: ModelSpec, bitmap: Bitmap) -> list[Frame]:
    return parse_frames(b"".join(r.data for r in NiimbotDriver(model).row_frames(bitmap)))


def test_blank_rows_become_84_runs_capped_at_255():
    frames = row_frames(B1, Bitmap.blank(384, 600))
    assert [(f.cmd, f.data[2]) for f in frames] == [(Cmd.ROW_BLANK, 255)] * 2 + [(Cmd.ROW_BLANK, 90)]
    assert [int.from_bytes(f.data[:2], "big") for f in frames] == [0, 255, 510]


def test_sparse_rows_use_83_with_dot_indices_and_seven_dots_fall_back_to_85():
    six = dots_row(384, [0, 1, 100, 200, 300, 383])
    seven = dots_row(384, [0, 1, 100, 200, 300, 382, 383])
    f6, f7 = row_frames(B1, rows_bitmap(384, [six, seven]))
    assert f6.cmd == Cmd.ROW_INDEXED and f6.data[6:] == bytes.fromhex("0000 0001 0064 00C8 012C 017F")
    assert f7.cmd == Cmd.ROW_BITMAP and len(f7.encode()) == 61  # PRINTERS.md: a B1 row frame is 61 bytes


def test_counts_are_per_head_third_on_b1_and_d110_and_the_total_on_b21():
    row = dots_row(384, [*range(10), *range(128, 148), *range(256, 286)])  # 10 / 20 / 30 dots per third
    assert row_counts(row, 384, "split") == bytes([10, 20, 30])
    assert row_counts(row, 384, "total") == bytes([0, 60, 0])
    assert row_counts(full_row(96), 96, "split") == bytes([32, 32, 32])
    assert row_frames(B21, rows_bitmap(384, [row]))[0].data[2:5] == bytes([0, 60, 0])
    assert row_frames(B1, rows_bitmap(384, [row]))[0].data[2:5] == bytes([10, 20, 30])


def test_b21_gets_a_check_line_after_every_200_rows_and_no_run_crosses_it():
    frames = row_frames(B21, rows_bitmap(384, [full_row(384)] * 450))
    assert [(f.cmd, int.from_bytes(f.data[:2], "big")) for f in frames] == [
        (Cmd.ROW_BITMAP, 0),
        (Cmd.CHECK_LINE, 199),
        (Cmd.ROW_BITMAP, 200),
        (Cmd.CHECK_LINE, 399),
        (Cmd.ROW_BITMAP, 400),
    ]
    assert [f.data[5] for f in frames if f.cmd == Cmd.ROW_BITMAP] == [200, 200, 50]
    assert not any(f.cmd == Cmd.CHECK_LINE for f in row_frames(B1, rows_bitmap(384, [full_row(384)] * 450)))


# --- encode → virtual printer → decode, every model ------------------------------------------------------------


@st.composite
def label_bitmaps(draw: st.DrawFn, width: int) -> Bitmap:
    """Blank, solid, sparse (the 6/7-dot boundary included) and noise rows, in runs so repeats get merged."""
    stride = row_bytes(width)
    pad = stride * 8 - width

    def noise(data: bytes) -> bytes:
        return data[:-1] + bytes([data[-1] & (0xFF << pad) & 0xFF]) if pad else data

    row = st.one_of(
        st.just(bytes(stride)),
        st.just(full_row(width)),
        st.sets(st.integers(0, width - 1), min_size=1, max_size=8).map(lambda xs: dots_row(width, xs)),
        st.binary(min_size=stride, max_size=stride).map(noise),
    )
    runs = draw(st.lists(st.tuples(row, st.integers(1, 5)), min_size=1, max_size=8))
    return rows_bitmap(width, [r for r, n in runs for _ in range(n)])


@pytest.mark.parametrize("model_id", MODEL_IDS)
def test_random_labels_decode_bit_identical_on_every_model(model_id):
    model = get_model(model_id)

    @QUICK
    @given(bitmap=label_bitmaps(width_of(model)), copies=st.integers(1, 3), density=st.integers(0, 9))
    def check(bitmap: Bitmap, copies: int, density: int) -> None:
        device, replies = feed_directly(model, bitmap, PrintSettings(density=density, copies=copies))
        assert device.protocol_errors == []
        assert [r.cmd for r in replies if r.cmd in (Reply.ERROR, Reply.NOT_SUPPORTED)] == []
        assert len(device.printed) == copies
        for page in device.printed:
            assert bitmap.difference(page) is None
        low, high, _ = model.density
        assert device.density == max(low, min(high, density))  # clamped to what the model takes

    check()


@pytest.mark.parametrize("model_id", MODEL_IDS)
@pytest.mark.parametrize("shape", ["all-white", "all-black", "single-dot", "sparse", "repeated"])
def test_edge_labels_decode_bit_identical(model_id, shape):
    model = get_model(model_id)
    w = width_of(model)
    rows = {
        "all-white": [bytes(row_bytes(w))] * 240,
        "all-black": [full_row(w)] * 240,
        "single-dot": [bytes(row_bytes(w))] * 120 + [dots_row(w, [w - 1])] + [bytes(row_bytes(w))] * 119,
        "sparse": [dots_row(w, random.Random(y).sample(range(w), y % 7)) for y in range(240)],
        "repeated": [full_row(w)] * 300 + [dots_row(w, range(0, w, 2))] * 300,
    }[shape]
    bitmap = rows_bitmap(w, rows)
    device, _ = feed_directly(model, bitmap, PrintSettings())
    assert device.protocol_errors == []
    assert len(device.printed) == 1 and bitmap.difference(device.printed[0]) is None


def test_b1_on_narrower_labels_sends_their_width():
    media = B1.find_media("40x30")
    bitmap = random_bitmap(320, 40, seed=3)
    device, _ = feed_directly(B1, bitmap, PrintSettings(media=media))
    assert device.protocol_errors == [] and bitmap.difference(device.printed[0]) is None


def test_virtual_b1_prints_blank_when_given_the_4_byte_page_size_like_the_real_one():
    # niimprint #17: the proof that the virtual printer would catch a driver sending the D110 form to a B1.
    device = make_device(B1, limits=LinkLimits(max_write=182))
    device.attach(lambda _: None, lambda: None)
    ink = full_row(384)
    for data in (
        build_frame(Cmd.PRINT_START, bytes.fromhex("0001 00000000 00")),
        build_frame(Cmd.PAGE_START),
        build_frame(Cmd.SET_PAGE_SIZE, page_size_data("d110", 2, 384)),
        build_frame(Cmd.ROW_BITMAP, bytes.fromhex("0000 808080 02") + ink),
        build_frame(Cmd.PAGE_END),
    ):
        device.receive(data)
    assert device.printed == [Bitmap.blank(384, 2)]
    assert any("SetPageSize with 4 bytes" in e for e in device.protocol_errors)


# --- the conversation over a link ------------------------------------------------------------------------------

EXPECTED_SEQUENCE = {
    # Density and label type first on every variant, then PRINTERS.md §1's sequence; ROWS = the row frames.
    "b1": ["21", "23", "01", "03", "13", "ROWS", "E3", "A3", "F3"],
    "d110": ["21", "23", "01", "20", "03", "13", "15", "ROWS", "E3", "A3", "F3"],
    "b21": ["21", "23", "01", "03", "13", "ROWS", "E3", "03", "13", "ROWS", "E3", "F3"],
}


@pytest.mark.parametrize("model_id", MODEL_IDS)
def test_print_sends_the_variant_sequence_and_the_label_comes_out_identical(model_id):
    model = get_model(model_id)
    bitmap = rows_bitmap(width_of(model), [full_row(width_of(model)), bytes(row_bytes(width_of(model)))] * 3)
    device = make_device(model)
    job = PrintSettings(copies=2)
    stages = asyncio.run(print_on(device, bitmap, job))

    assert [page.difference(bitmap) for page in device.printed] == [None, None]
    assert device.protocol_errors == [] and device.overruns == 0
    names = []
    for c in collapse_polls(device.commands):
        name = "ROWS" if c in ROW_CMDS else f"{c:02X}"
        if not (name == "ROWS" and names and names[-1] == "ROWS"):
            names.append(name)
    assert names == EXPECTED_SEQUENCE[model.variant]

    # encode() is exactly what went out (the benchmark counts these bytes), apart from the polls.
    encoded = [w.data for w in NiimbotDriver(model).encode(bitmap, job, device.limits.max_write)]
    sent = [w for w in device.raw_writes if w != build_frame(Cmd.PRINT_STATUS)]
    assert sent[: len(encoded)] == encoded
    assert all(w == build_frame(Cmd.PRINT_END) for w in sent[len(encoded) :])

    # The progress bar: sending rows up to the total, then printing, then done.
    kinds = [p.stage for p in stages]
    assert kinds[0] == "sending" and kinds[-1] == "done" and "printing" in kinds
    assert kinds.index("printing") > max(i for i, k in enumerate(kinds) if k == "sending")
    sending = [p.done for p in stages if p.stage == "sending"]
    assert sending == sorted(sending) and sending[-1] == stages[0].total


def test_full_b1_label_with_no_repeated_rows_is_paced_so_a_buffer_that_drops_fast_writes_loses_nothing():
    # 240 distinct rows: 240 row frames, the worst case of PRINTERS.md §8. A driver that outruns the printer
    # loses rows (niimprint #3 "image printed only partially"); this one must not.
    bitmap = random_bitmap(384, 240, seed=7)
    device = make_device(B1)
    device.faults.lose_fast_writes = True
    started = time.monotonic()
    asyncio.run(print_on(device, bitmap))
    elapsed = time.monotonic() - started
    assert device.overruns == 0 and device.lost_writes == 0 and device.oversized_writes == 0
    assert device.protocol_errors == [] and bitmap.difference(device.printed[0]) is None
    writes = NiimbotDriver(B1).encode(bitmap, PrintSettings(), 182)
    assert elapsed >= NiimbotDriver(B1).pacing_floor_s(writes) * 0.95


def test_full_b21_label_carries_its_check_line_and_prints_identical():
    bitmap = random_bitmap(384, 240, seed=11, run=3)
    device = make_device(B21)
    asyncio.run(print_on(device, bitmap))
    assert device.protocol_errors == [] and device.overruns == 0
    assert device.commands.count(Cmd.CHECK_LINE) == 1
    assert bitmap.difference(device.printed[0]) is None


def test_the_virtual_printer_loses_rows_written_back_to_back():
    """The pacing proof's other half: without the 10 ms spacing the virtual printer drops rows, as real ones do."""
    bitmap = random_bitmap(384, 40, seed=5)
    device = make_device(B1)
    device.faults.lose_fast_writes = True

    async def hasty() -> None:
        link = LoopbackLink(device)
        for write in NiimbotDriver(B1).encode(bitmap, PrintSettings(), link.max_write):
            if write.data[2] not in ROW_CMDS:
                await asyncio.sleep(0.05)  # commands get time to drain: only the row burst overflows
            await link.write(write.data)

    asyncio.run(hasty())
    assert device.lost_writes > 0 and device.overruns >= device.lost_writes
    assert len(device.printed) == 1 and bitmap.difference(device.printed[0]) is not None
    assert any("never arrived" in e for e in device.protocol_errors)


# --- faults, timeouts, a dropped link ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model_id", "fault", "state"),
    [
        ("niimbot-b1", "cover_open", PrinterState.COVER_OPEN),
        ("niimbot-b1", "paper_out", PrinterState.NO_PAPER),
        ("niimbot-b1", "battery_empty", PrinterState.BATTERY_EMPTY),
        ("niimbot-d110", "cover_open", PrinterState.COVER_OPEN),
        ("niimbot-b21", "paper_out", PrinterState.NO_PAPER),
    ],
)
def test_a_fault_stops_the_job_with_its_reason_and_the_same_job_prints_once_cleared(model_id, fault, state):
    model = get_model(model_id)
    bitmap = random_bitmap(width_of(model), 8, seed=1)
    device = make_device(model)
    setattr(device.faults, fault, True)

    async def scenario() -> None:
        link = LoopbackLink(device)
        driver = NiimbotDriver(model)
        with pytest.raises(PrinterFault) as caught:
            await driver.print(link, bitmap, PrintSettings())
        assert caught.value.state == state
        assert device.printed == []
        setattr(device.faults, fault, False)
        await driver.print(link, bitmap, PrintSettings())

    asyncio.run(scenario())
    assert len(device.printed) == 1 and bitmap.difference(device.printed[0]) is None


def test_cover_opened_while_printing_is_reported_from_the_print_status():
    device = make_device(B1, print_time_s=5.0)

    def open_cover(p: Progress) -> None:
        if p.stage == "printing":
            device.faults.cover_open = True

    async def scenario() -> None:
        link = LoopbackLink(device)
        await NiimbotDriver(B1, poll_interval_s=0.02).print(link, random_bitmap(384, 4, 2), PrintSettings(), open_cover)

    with pytest.raises(PrinterFault) as caught:
        asyncio.run(scenario())
    assert caught.value.state == PrinterState.COVER_OPEN
    assert device.commands[-1] == Cmd.PRINT_END  # the job was closed so the printer is not left waiting


def test_a_page_that_never_finishes_times_out():
    device = make_device(D110, print_time_s=60.0)
    driver = NiimbotDriver(D110, page_timeout_s=0.3, poll_interval_s=0.05)
    with pytest.raises(ReplyTimeout, match="did not finish printing"):
        asyncio.run(print_on(device, random_bitmap(96, 4, 3), driver=driver))


def test_a_silent_printer_is_a_reply_timeout_after_one_second():
    device = make_device(B1)
    device.faults.silent = True
    started = time.monotonic()
    with pytest.raises(ReplyTimeout, match="did not answer the Density command"):
        asyncio.run(print_on(device, random_bitmap(384, 4, 4)))
    assert 0.9 <= time.monotonic() - started < 3
    assert device.printed == []


def test_the_link_dropping_mid_job_is_link_lost_and_nothing_prints():
    device = make_device(B1)
    device.faults.disconnect_after_writes = 8
    with pytest.raises(LinkLost):
        asyncio.run(print_on(device, random_bitmap(384, 20, 5)))
    assert device.printed == []


def test_a_command_the_printer_does_not_know_is_a_protocol_error():
    class NoLabelType(VirtualNiimbot):
        def _on_frame(self, cmd: int, data: bytes) -> None:
            if cmd == Cmd.LABEL_TYPE:
                self.reply(frame(Reply.NOT_SUPPORTED, bytes([cmd])))
            else:
                super()._on_frame(cmd, data)

    device = NoLabelType(B1, address="AA:BB:CC:DD:EE:02")
    with pytest.raises(CommandNotSupported, match="LabelType"):
        asyncio.run(print_on(device, random_bitmap(384, 4, 6)))


def test_a_link_too_small_for_one_frame_is_refused_before_anything_is_sent():
    device = make_device(B1, limits=LinkLimits(max_write=40, min_interval_s=0.01))
    with pytest.raises(LinkTooSmall) as caught:
        asyncio.run(print_on(device, random_bitmap(384, 4, 7)))
    assert isinstance(caught.value, PrinterError) and "too-small MTU" in str(caught.value)
    assert "61-byte" in str(caught.value) and caught.value.hint
    assert device.writes == []
    with pytest.raises(LinkTooSmall):
        NiimbotDriver(B1).encode(random_bitmap(384, 4, 7), PrintSettings(), 40)
    # A D110's rows are 25 bytes: the same link is enough for it.
    narrow = make_device(D110, limits=LinkLimits(max_write=40, min_interval_s=0.01))
    bitmap = random_bitmap(96, 4, 8)
    asyncio.run(print_on(narrow, bitmap))
    assert bitmap.difference(narrow.printed[0]) is None


def test_a_bitmap_that_does_not_fit_the_label_is_refused():
    with pytest.raises(ValueError, match="96 dots across"):
        NiimbotDriver(D110).encode(random_bitmap(384, 4, 9), PrintSettings(), 182)


# --- status -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model_id", "fault", "state", "battery"),
    [
        ("niimbot-b1", None, PrinterState.READY, 75),
        ("niimbot-b1", "low_battery", PrinterState.LOW_BATTERY, 25),
        ("niimbot-b1", "battery_empty", PrinterState.BATTERY_EMPTY, 0),
        ("niimbot-b1", "cover_open", PrinterState.COVER_OPEN, 75),
        ("niimbot-b21", "paper_out", PrinterState.NO_PAPER, 75),
        ("niimbot-d110", "cover_open", PrinterState.COVER_OPEN, 75),
        ("niimbot-d11", None, PrinterState.READY, 75),
    ],
)
def test_status_shows_cover_paper_and_battery(model_id, fault, state, battery):
    model = get_model(model_id)
    device = make_device(model)
    if fault:
        setattr(device.faults, fault, True)
    status = asyncio.run(NiimbotDriver(model).status(LoopbackLink(device)))
    assert status.state == state
    assert status.battery_percent == battery


def test_d110_heartbeat_cannot_tell_paper_out_and_says_so():
    device = make_device(D110)
    device.faults.paper_out = True
    status = asyncio.run(NiimbotDriver(D110).status(LoopbackLink(device)))
    assert status.state == PrinterState.READY and "labels" in status.detail


def test_low_battery_is_reported_but_the_label_still_prints():
    device = make_device(B1)
    device.faults.low_battery = True
    bitmap = random_bitmap(384, 6, 10)
    asyncio.run(print_on(device, bitmap))
    assert bitmap.difference(device.printed[0]) is None


def test_heartbeat_layouts_by_length():
    lid_open_d110 = Frame(Reply.HEARTBEAT_ADVANCED1, bytes(8) + bytes([1, 4]))
    assert parse_heartbeat(lid_open_d110).state == PrinterState.COVER_OPEN
    percent = Frame(Reply.HEARTBEAT_ADVANCED1, bytes(9) + bytes([0, 90, 0, 1]))
    assert parse_heartbeat(percent).battery_percent == 90
    unknown = Frame(Reply.HEARTBEAT_BASIC, bytes(5))
    assert parse_heartbeat(unknown).state == PrinterState.UNKNOWN
