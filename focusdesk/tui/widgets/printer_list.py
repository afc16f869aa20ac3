"""The printers a Bluetooth scan heard: signal bars, dBm, name, address and the model(s) it could be."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual import on
from textual.binding import Binding
from textual.message import Message
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from printers.models import get_model
from printers.transports.ble import FoundPrinter

BARS = "▂▄▆█"


def signal_bars(bars: int) -> Text:
    """Four bar glyphs, the first ``bars`` lit (0–4)."""
    lit = max(0, min(len(BARS), bars))
    colour = "green" if lit >= 3 else "yellow" if lit == 2 else "red"
    return Text.assemble((BARS[:lit], f"bold {colour}"), (BARS[lit:], "dim"))


def printer_row(found: FoundPrinter, *, paired: bool = False) -> Text:
    """``✓ ▂▄▆█  -57 dBm  B1-0001      Niimbot B1  F0:C5:…`` (✓: this desk's printer)."""
    models = " / ".join(get_model(m).name for m in found.models)
    text = Text(no_wrap=True, overflow="ellipsis")
    text.append("✓ " if paired else "  ", style="bold green")
    text.append_text(signal_bars(found.bars))
    text.append(f" {found.rssi:>3} dBm ")
    text.append(f"{found.name or '(no name)':<10}", style="bold")
    text.append(f" {models:<12}")
    text.append(f" {found.address}", style="dim")
    return text


class PrinterList(OptionList):
    """Rows appear as printers are heard; Enter (or a click) asks to pair the highlighted one."""

    DEFAULT_CSS = """
    PrinterList { text-wrap: nowrap; text-overflow: ellipsis; }
    """

    BINDINGS = [
        Binding(
            "enter", "select", "Pair", id="printers.pair",
            tooltip="Make the highlighted printer this desk's printer (choose model and label size)",
        ),
    ]  # fmt: skip

    @dataclass
    class PairRequested(Message):
        """The technician chose a scanned printer."""

        printer_list: PrinterList
        found: FoundPrinter

        @property
        def control(self) -> PrinterList:
            return self.printer_list

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._found: dict[str, FoundPrinter] = {}
        self._paired: str | None = None

    @property
    def found(self) -> list[FoundPrinter]:
        return list(self._found.values())

    @property
    def highlighted_printer(self) -> FoundPrinter | None:
        option = self.highlighted_option
        return self._found.get(option.id) if option is not None and option.id else None

    def clear_found(self) -> None:
        self._found.clear()
        self.clear_options()

    def add_found(self, found: FoundPrinter) -> None:
        """A printer heard for the first time (an update of one already listed replaces its row)."""
        if found.address in self._found:
            self._found[found.address] = found
            self.replace_option_prompt(found.address, self._row(found))
            return
        self._found[found.address] = found
        self.add_option(Option(self._row(found), id=found.address))
        if self.highlighted is None:
            self.highlighted = 0

    def set_found(self, printers: list[FoundPrinter]) -> None:
        """The final scan result (strongest first), keeping the highlighted printer highlighted."""
        current = self.highlighted_printer
        self._found = {p.address: p for p in printers}
        self.set_options(Option(self._row(p), id=p.address) for p in printers)
        if printers:
            self.highlighted = (
                self.get_option_index(current.address) if current and current.address in self._found else 0
            )

    def set_paired(self, address: str | None) -> None:
        """Mark the desk's printer in the list."""
        if address == self._paired:
            return
        self._paired = address
        for found in self._found.values():
            self.replace_option_prompt(found.address, self._row(found))

    def _row(self, found: FoundPrinter) -> Text:
        return printer_row(found, paired=found.address == self._paired)

    @on(OptionList.OptionSelected)
    def _selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        found = self._found.get(event.option_id or "")
        if found is not None:
            self.post_message(self.PairRequested(self, found))
