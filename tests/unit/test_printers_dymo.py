"""The DYMO LetraTag LT-200B driver against its virtual printer: the name tape that comes out is the one
rendered, the framing (header checksum, chunk indices without 27, trailer) is what the printer expects, and
every result code ends the job with a clear outcome."""

from __future__ import annotations

import asyncio
import random
import struct

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from printers.drivers.base import PrintSettings, Progress
from printers.drivers.dymo import (
    ACK_INTERVAL_S,
    DymoDriver,
    encode_column,
    header,
    result_state,
)
from printers.errors import LinkLost, PrinterFault, PrinterState, ProtocolError, ReplyTimeout
from printers.models import MODELS
from printers.raster import Bitmap, pack_bits
from printers.virtual.dymo import VirtualDymo
from printers.virtual.loopback import LoopbackLink

MODEL = MODELS["dymo-lt200b"]
ADDRESS = "AA:BB:CC:00:11:33"
KEEP = 0xFC  # 30 dots: the last byte's two padding bits stay clear


def tape(height: int, kind: str = "noise", seed: int = 0) -> Bitmap:
    rng = random.Random(seed)

    def row() -> bytes:
        if kind == "white":
            return bytes(4)
        if kind == "black":
            return b"\xff\xff\xff" + bytes([KEEP])
        raw = rng.randbytes(4)
        return raw[:3] + bytes([raw[3] & KEEP])

    return Bitmap(30, height, tuple(row() for _ in range(height)))


def device() -> VirtualDymo:
    return VirtualDymo(MODEL, address=ADDRESS)


def driver(grace: float = 5.0) -> DymoDriver:
    return DymoDriver(MODEL, result_grace_s=grace)


# --- the image and the framing -----------------------------------------------------------------------------------


def test_each_dot_lands_where_the_column_rule_puts_it():
    """Broken: the name prints shifted, mirrored or with stripes across the tape."""
    for y in range(30):
        column = encode_column(pack_bits([i == y for i in range(30)]))
        expected = bytearray(4)
        expected[3 - (y + 1) // 8] = 0x80 >> ((y + 1) % 8)  # §3, literally
        assert column == bytes(expected), f"dot {y}"
    # All 30 dots: positions 1..30 set, the skipped top dot (0) and the unused 31 clear.
    assert encode_column(b"\xff\xff\xff\xfc") == bytes.fromhex("fe ff ff 7f")


def test_header_carries_length_and_checksum():
    """Broken: the LetraTag discards every job (it checks the announced length and checksum)."""
    writes = driver().encode(tape(50), PrintSettings(), max_write=512)
    head = writes[0].data
    payload_length = sum(len(w.data) - 1 for w in writes[1:]) - 2  # minus index bytes and the 12 34 trailer
    assert head[:4] == bytes.fromhex("ff f0 12 34")
    assert struct.unpack("<I", head[4:8])[0] == payload_length
    assert head[8] == sum(head[:8]) & 0xFF and len(head) == 9
    # 0xFF + 0xF0 + 0x12 + 0x34 + 4 + 3 + 2 + 1 = 0x23F, kept to its low byte.
    assert header(0x01020304) == bytes.fromhex("ff f0 12 34 04 03 02 01 3f")


def test_a_long_tape_skips_chunk_index_27_and_ends_with_the_trailer():
    """Broken: a long name tape stops at chunk 27 or is rejected at its end."""
    bitmap = tape(3500, seed=3)  # 14 kB of image: 29 chunks
    writes = driver().encode(bitmap, PrintSettings(), max_write=182)
    chunks = [w.data for w in writes[1:]]
    assert len(chunks) > 28
    assert [c[0] for c in chunks] == [*range(27), *range(28, len(chunks) + 1)]
    assert all(len(c) == 501 for c in chunks[:-1]) and len(chunks[-1]) <= 503
    assert chunks[-1].endswith(b"\x12\x34")
    assert all(w.response for w in writes), "every LetraTag write is acknowledged"
    assert b"".join(c[1:] for c in chunks)[:-2].startswith(bytes.fromhex("1b 73 9a 02 00 00 1b 44 01 02"))
    assert driver().pacing_floor_s(writes) == pytest.approx((len(writes) - 1) * ACK_INTERVAL_S)


def test_the_virtual_printer_rejects_bad_framing():
    """Broken (this test failing): the virtual printer accepts anything, so the round trips prove nothing."""
    good = driver().encode(tape(200), PrintSettings(), 512)
    bad_checksum = device()
    bad_checksum.attach(lambda _: None, lambda: None)
    bad_checksum.receive(good[0].data[:8] + bytes([good[0].data[8] ^ 1]), True)
    assert any("checksum" in e for e in bad_checksum.protocol_errors)

    long_one = driver().encode(tape(3500), PrintSettings(), 512)
    wrong_index = device()
    replies: list[bytes] = []
    wrong_index.attach(replies.append, lambda: None)
    for n, w in enumerate(long_one):
        data = bytes([n - 1]) + w.data[1:] if n > 27 else w.data  # index 27 used, 28 skipped instead
        wrong_index.receive(data, True)
    assert any("index 27" in e for e in wrong_index.protocol_errors)
    assert wrong_index.printed == [] and replies == [b"\x1b\x52\x02"]


@settings(max_examples=25, deadline=None)
@given(kind=st.sampled_from(["noise", "white", "black"]), height=st.integers(1, 700), seed=st.integers(0, 2**32))
@example(kind="black", height=125, seed=0)  # payload of exactly 500 bytes + the header's 10 + 6
@example(kind="noise", height=1, seed=0)
def test_every_tape_comes_out_dot_for_dot(kind, height, seed):
    """Broken: names print garbled; the virtual printer decodes with §3's rule independently of the driver."""
    bitmap = tape(height, kind, seed)
    printer = device()
    replies: list[bytes] = []

    async def run() -> None:
        link = LoopbackLink(printer)
        for w in driver().encode(bitmap, PrintSettings(), link.max_write):
            await link.write(w.data, response=w.response)
        replies.append(await link.read(1.0))

    asyncio.run(run())
    assert printer.protocol_errors == []
    assert len(printer.printed) == 1 and printer.printed[0].difference(bitmap) is None
    assert replies == [b"\x1b\x52\x00"]


# --- printing ------------------------------------------------------------------------------------------------------


def test_a_long_tape_prints_through_the_paced_driver():
    """Broken: a 22 cm name tape never prints, or prints garbled, on the real conversation path."""
    bitmap = tape(3500, seed=9)
    printer = device()
    stages: list[Progress] = []

    async def run() -> None:
        await driver().print(LoopbackLink(printer), bitmap, PrintSettings(), stages.append)

    asyncio.run(run())
    assert printer.protocol_errors == []
    assert printer.printed[0].difference(bitmap) is None
    assert printer.chunk_indices[26:29] == [26, 28, 29]
    assert printer.overruns == 0 and printer.oversized_writes == 0
    assert [s.stage for s in stages][-2:] == ["printing", "done"]


def test_the_result_wait_scales_with_tape_length():
    """Broken: a 10 cm tape (about 14 s at 7 mm/s) would be reported as "no answer" while still printing."""
    hundred_mm = tape(round(100 / 25.4 * 400), "white")
    assert driver(grace=5.0).result_timeout_s(hundred_mm) == pytest.approx(5.0 + 100 / 7, abs=0.05)
    assert driver(grace=5.0).result_timeout_s(tape(10, "white")) < 5.1


@pytest.mark.parametrize(
    ("fault", "override", "state", "words"),
    [
        ("paper_out", None, PrinterState.NO_CASSETTE, "cassette"),
        ("battery_empty", None, PrinterState.BATTERY_EMPTY, "battery"),
        (None, 2, PrinterState.ERROR, "failed"),
        (None, 5, PrinterState.ERROR, "failed"),
        (None, 4, PrinterState.ERROR, "cancelled"),
    ],
)
def test_a_failed_result_is_a_clear_fault_and_a_retry_prints(fault, override, state, words):
    """Broken: the desk says "printed" when the LetraTag reported a failure, or cannot print afterwards."""
    bitmap = tape(40)
    printer = device()
    if fault:
        setattr(printer.faults, fault, True)
    printer.result_override = override

    async def run() -> PrinterFault:
        link = LoopbackLink(printer)
        with pytest.raises(PrinterFault) as caught:
            await driver().print(link, bitmap, PrintSettings())
        if fault:
            setattr(printer.faults, fault, False)
        printer.result_override = None
        await driver().print(link, bitmap, PrintSettings())
        return caught.value

    err = asyncio.run(run())
    assert err.state is state and words in str(err).lower() and err.hint
    assert len(printer.printed) == 1 and printer.printed[0].difference(bitmap) is None


def test_results_1_and_3_mean_printed_and_unknown_codes_are_protocol_errors():
    """Broken: a good print reported as failed, or a firmware surprise read as success."""
    assert result_state(0) is PrinterState.READY and result_state(1) is PrinterState.READY
    assert result_state(3) is PrinterState.LOW_BATTERY
    with pytest.raises(ProtocolError):
        result_state(9)


def test_low_battery_prints_and_tells_the_desk():
    """Broken: the technician is not warned until the LetraTag stops printing altogether."""
    bitmap = tape(20)
    printer = device()
    printer.faults.low_battery = True
    stages: list[Progress] = []

    async def run() -> None:
        await driver().print(LoopbackLink(printer), bitmap, PrintSettings(), stages.append)

    asyncio.run(run())
    assert printer.printed[0].difference(bitmap) is None
    assert stages[-1].stage == "done" and "battery" in stages[-1].message


@pytest.mark.parametrize("fault", ["silent", "slow_ack_s"])
def test_no_result_in_time_is_a_timeout_and_a_retry_prints(fault):
    """Broken: the desk waits forever on a hung LetraTag, or its late answer is taken for the retry's."""
    bitmap = tape(20)
    printer = device()
    if fault == "silent":
        printer.faults.silent = True
    else:
        printer.faults.slow_ack_s = 0.6

    async def run() -> None:
        link = LoopbackLink(printer)
        with pytest.raises(ReplyTimeout):
            await driver(grace=0.2).print(link, bitmap, PrintSettings())
        printer.faults.silent = False
        printer.faults.slow_ack_s = 0.0
        await driver(grace=0.2).print(link, bitmap, PrintSettings())

    asyncio.run(run())
    assert len(printer.printed) == 2, "the silent job printed too; only its answer went missing"
    assert printer.printed[-1].difference(bitmap) is None


def test_a_disconnect_mid_job_is_reported_and_a_retry_prints():
    """Broken: switching the LetraTag off mid-job hangs the desk, or the retry is rejected."""
    bitmap = tape(400)  # 4 chunks
    printer = device()
    printer.faults.disconnect_after_writes = 2

    async def run() -> None:
        with pytest.raises(LinkLost):
            await driver().print(LoopbackLink(printer), bitmap, PrintSettings())
        await driver().print(LoopbackLink(printer), bitmap, PrintSettings())

    asyncio.run(run())
    assert len(printer.printed) == 1 and printer.printed[0].difference(bitmap) is None
    assert printer.protocol_errors == []


def test_copies_print_one_tape_each():
    """Broken: "2 copies" prints one tape, or the second copy is read as the first's answer."""
    bitmap = tape(30)
    printer = device()

    async def run() -> None:
        await driver().print(LoopbackLink(printer), bitmap, PrintSettings(copies=2))

    asyncio.run(run())
    assert len(printer.printed) == 2 and printer.results == [0, 0]


def test_a_lid_open_print_reports_success_a_known_blind_spot():
    """§3: with the lid open the LetraTag still answers 0 and there is no status query, so the desk cannot
    tell. If this starts failing, the printer (or the virtual model of it) learned to report the lid."""
    printer = device()
    printer.faults.cover_open = True

    async def run() -> PrinterState:
        link = LoopbackLink(printer)
        await driver().print(link, tape(20), PrintSettings())
        return (await driver().status(link)).state

    assert asyncio.run(run()) is PrinterState.UNKNOWN
    assert printer.results == [0] and printer.printed == []
