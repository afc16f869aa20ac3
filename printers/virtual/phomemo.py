"""A virtual Phomemo (M02, M110/M120, D30): checks each variant's framing, decodes the raster, answers the
``1F 11`` status queries.

The reply format is the driver's assumption (``1A <query> <value>``, *unverified*); it is built with the
driver's own ``status_reply`` so the guess lives in one place. A job's raster blocks (255 rows each at most)
make up one label, printed when the variant's closing command arrives.
"""

from __future__ import annotations

from typing import ClassVar

from printers.drivers.escpos import ESC_INIT
from printers.drivers.phomemo import (
    M02_PREFIX,
    MEDIA_CODES,
    QUERY,
    QUERY_BATTERY,
    QUERY_COVER,
    QUERY_PAPER,
    STATUS_QUERIES,
    status_reply,
)
from printers.models import PHOMEMO_NOTIFY, PHOMEMO_SERVICE, PHOMEMO_WRITE
from printers.virtual.escpos import ESC_FEED_DOTS, ESC_FEED_LINES, GS_V, RasterStreamPrinter

ESC_HEAT = b"\x1b\x37"
ESC_N = b"\x1b\x4e"  # 1B 4E 0D n speed, 1B 4E 04 n density (M110)
FOOTER = b"\x1f\xf0"  # 1F F0 05 00 (ends the label), 1F F0 03 00 (M110)

# What each variant's job must start with, as command keys (see _key), and the command that ends a label.
HEADERS: dict[str, tuple[str, ...]] = {
    "m02": ("prefix", "init", "heat"),
    "m110": ("speed", "density", "media"),
    "d30": ("init",),
}
ENDS: dict[str, str] = {"m02": "feed_dots", "m110": "footer_end", "d30": "feed_lines"}
LOW_BATTERY_PERCENT, EMPTY_BATTERY_PERCENT = 15, 5


def _key(command: bytes) -> str:
    """A name for a command, for comparing a job against its variant's expected shape."""
    if command.startswith(GS_V):
        return "raster"
    if command == M02_PREFIX:
        return "prefix"
    if command == ESC_INIT:
        return "init"
    if command.startswith(ESC_HEAT):
        return "heat"
    if command.startswith(ESC_N):
        return {0x0D: "speed", 0x04: "density"}.get(command[2], "esc_n?")
    if command.startswith(QUERY):
        return "query" if command[2] in STATUS_QUERIES else "media"
    if command.startswith(ESC_FEED_DOTS):
        return "feed_dots"
    if command.startswith(ESC_FEED_LINES):
        return "feed_lines"
    if command.startswith(FOOTER):
        return {0x05: "footer_end", 0x03: "footer_close"}.get(command[2], "footer?")
    return command.hex(" ")


class VirtualPhomemo(RasterStreamPrinter):
    service_uuid = PHOMEMO_SERVICE
    write_uuid = PHOMEMO_WRITE
    notify_uuid = PHOMEMO_NOTIFY
    COMMANDS: ClassVar[dict[bytes, int]] = {
        M02_PREFIX[:2]: 4,
        ESC_INIT: 2,
        ESC_HEAT: 5,
        ESC_FEED_DOTS: 3,
        ESC_FEED_LINES: 3,
        ESC_N: 4,
        QUERY: 3,
        FOOTER: 4,
        GS_V: 8,
    }

    @property
    def variant(self) -> str:
        return self.model.variant

    def on_command(self, command: bytes) -> None:
        key = _key(command)
        if key == "query":
            self.reply(status_reply(command[2], self.query_value(command[2])))
        elif key == "media":
            if command[2] not in MEDIA_CODES.values():
                self.protocol_errors.append(f"unknown media type {command[2]:#04x}")
        elif key == "prefix" and command != M02_PREFIX:
            self.protocol_errors.append(f"bad M02 prefix {command.hex(' ')}")
        elif key == "speed" and not 1 <= command[3] <= 5:
            self.protocol_errors.append(f"M110 speed {command[3]} outside 1-5")
        elif key == "density" and not 1 <= command[3] <= 15:
            self.protocol_errors.append(f"M110 density {command[3]} outside 1-15")
        elif key in ("feed_dots", "feed_lines", "footer_end"):
            if key != ENDS[self.variant]:
                self.protocol_errors.append(f"{self.variant} label ended with {key}, expected {ENDS[self.variant]}")
            self.end_page()
        elif key.endswith("?") or " " in key:
            self.protocol_errors.append(f"unknown command {command.hex(' ')}")

    def query_value(self, query: int) -> int:
        f = self.faults
        if query == QUERY_PAPER:
            return 0x00 if f.paper_out else 0x01
        if query == QUERY_COVER:
            return 0x01 if f.cover_open else 0x00
        assert query == QUERY_BATTERY
        if f.battery_empty:
            return EMPTY_BATTERY_PERCENT
        if f.low_battery:
            return LOW_BATTERY_PERCENT
        return self.battery_percent

    def check_job(self, job: list[bytes]) -> list[str]:
        # Status queries may come before a job, and the M110's closing 1F F0 03 00 trails the previous one.
        keys = [k for k in map(_key, job) if k not in ("query", "footer_close")]
        header = HEADERS[self.variant]
        errors = []
        if tuple(keys[: len(header)]) != header:
            errors.append(f"{self.variant} job starts {keys[: len(header)]}, expected {list(header)}")
        body = keys[len(header) : -1]
        if not body or any(k != "raster" for k in body):
            errors.append(f"{self.variant} job body is {body}, expected only raster blocks")
        return errors


__all__ = ["VirtualPhomemo"]
