"""The Printers screen (F2), for technicians: find printers nearby, make one this desk's printer, test it,
see the badge it will print, and look after the print queue.

It sends intents to ``desk.printing`` (set_printer, enqueue_test, retry, discard, refresh_status) and scans
with ``printers.transports.ble.scan``; the queue itself is printed by the app's desk worker, so leaving this
screen stops nothing but a scan.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.widgets import Footer, Static

from focusdesk.station.printing import PrintUpdate
from focusdesk.tui.commands import ScreenCommands
from focusdesk.tui.dialogs.confirm import ConfirmDialog
from focusdesk.tui.dialogs.pair_printer import PairPrinterDialog
from focusdesk.tui.widgets.badge_preview import BadgePreview
from focusdesk.tui.widgets.print_queue import PrintQueueList
from focusdesk.tui.widgets.printer_list import PrinterList
from focusdesk.tui.widgets.status_bar import StatusBar
from printers.errors import BluetoothUnavailable, PrinterError, PrinterState, describe_state
from printers.session import PrinterTarget
from printers.transports.ble import FoundPrinter, scan

SCAN_TIMEOUT_S = 5.0
WIDE_ENOUGH_FOR_PREVIEW = 100  # columns; narrower screens hide the preview until asked (v)
NETWORK_HINT = "Network printers (Brother QL, ESC/POS 80 mm) need no Bluetooth: press n to add one by host:port."

# (command palette name, help, action): every binding of the screen, for the palette.
COMMANDS: list[tuple[str, str, str]] = [
    ("Printers: scan", "Listen for Bluetooth label printers nearby (s)", "scan"),
    ("Printers: pair highlighted printer", "Make the highlighted printer this desk's printer (Enter)", "pair"),
    ("Printers: add network printer", "Pair a Brother QL or ESC/POS printer by host:port (n)", "add_network"),
    ("Printers: test print", "Print a test label on this desk's printer (t)", "test_print"),
    ("Printers: check printer status", "Ask the printer for its state and battery (c)", "check_status"),
    ("Printers: retry job", "Print the highlighted failed job again (r)", "retry"),
    ("Printers: retry all failed", "Queue every failed job again (R)", "retry_all"),
    ("Printers: discard job", "Drop the highlighted queued or failed job, after asking (d)", "discard"),
    ("Printers: show or hide badge preview", "Toggle the badge preview panel (v)", "toggle_preview"),
]


class PrintersCommands(ScreenCommands):
    """The screen's actions in the command palette (only those that apply right now)."""

    def commands(self) -> list[tuple[str, str, Callable[[], Any]]]:
        screen = self.screen
        if not isinstance(screen, PrintersScreen):
            return []
        return [
            (name, help_text, partial(screen.run_action, action))
            for name, help_text, action in COMMANDS
            if screen.check_action(action, ())
        ]


def status_text(target: PrinterTarget | None, status: Any, checking: bool) -> Text:
    """The desk's printer in two lines: which one, then its state, battery and detail."""
    if target is None:
        return Text.assemble(
            ("No printer for this desk yet. ", "bold yellow"),
            "Highlight a scanned printer and press Enter, or press n for a network printer.",
        )
    text = Text.assemble(("This desk: ", "bold"), (target.model.name, "bold"), f" · {target.address}")
    text.append(f" · labels {target.media.id}")
    text.append("\n")
    if status is None:
        text.append("◌ checking…" if checking else "◌ state not checked yet (c to check)", style="yellow")
        return text
    good = status.state in (PrinterState.READY, PrinterState.PRINTING)
    style = "bold green" if good else "bold yellow" if status.state == PrinterState.LOW_BATTERY else "bold red"
    text.append(f"{'●' if good else '▲'} {status.state.value.replace('_', ' ')}", style=style)
    if status.battery_percent is not None:
        text.append(f" · battery {status.battery_percent}%")
    if status.media:
        text.append(f" · loaded {status.media}")
    if not good:
        text.append(f" · {describe_state(status.state)}", style="red")
    if status.detail:
        text.append(f" ({status.detail})", style="dim")
    if checking:
        text.append("  (checking…)", style="dim")
    return text


class PrintersScreen(Screen[None]):
    DEFAULT_CSS = """
    PrintersScreen { layout: vertical; }
    PrintersScreen #desk-printer { height: auto; max-height: 3; padding: 0 1; background: $boost; }
    PrintersScreen #printers-top { height: 2fr; min-height: 7; }
    PrintersScreen #printers-left { width: 1fr; min-width: 58; }
    PrintersScreen #scan-status { height: auto; max-height: 4; padding: 0 1; }
    PrintersScreen #scan-status.-problem { color: $warning; max-height: 8; }
    PrintersScreen #printer-list, PrintersScreen #print-queue {
        border: round $primary 50%; border-title-color: $text; height: 1fr;
    }
    PrintersScreen #printer-list:focus, PrintersScreen #print-queue:focus { border: round $primary; }
    PrintersScreen #print-queue { height: 1fr; min-height: 5; }
    """
    BINDINGS = [
        Binding("s", "scan", "Scan", id="printers.scan", tooltip="Listen for Bluetooth label printers nearby"),
        Binding("n", "add_network", "Network", id="printers.network",
                tooltip="Pair a network printer (Brother QL, ESC/POS) by host:port"),
        Binding("t", "test_print", "Test", id="printers.test", tooltip="Print a test label on this desk's printer"),
        Binding("c", "check_status", "Check", id="printers.status", show=False,
                tooltip="Ask the printer for its state and battery"),
        Binding("r", "retry", "Retry", id="printers.retry", tooltip="Print the highlighted failed job again"),
        Binding("R", "retry_all", "Retry all", id="printers.retry_all", show=False, tooltip="Queue every failed job again"),
        Binding("d", "discard", "Discard", id="printers.discard", tooltip="Drop the highlighted job (asks first)"),
        Binding("v", "toggle_preview", "Preview", id="printers.preview", tooltip="Show or hide the badge preview"),
    ]  # fmt: skip
    COMMANDS = {PrintersCommands}

    def __init__(self) -> None:
        super().__init__()
        self.scanning = False
        self.bluetooth_problem: str | None = None
        self.checking = False
        self._preview_override: bool | None = None

    def compose(self) -> ComposeResult:
        yield Static(id="desk-printer")
        with Horizontal(id="printers-top"):
            with Vertical(id="printers-left"):
                yield Static(id="scan-status")
                yield PrinterList(id="printer-list")
            yield BadgePreview(id="badge-preview")
        yield PrintQueueList(id="print-queue")
        yield StatusBar()
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#printer-list").border_title = "Nearby printers"
        self.query_one("#print-queue").border_title = "Print queue"
        self.app.print_changed.subscribe(self, self._print_changed)  # type: ignore[attr-defined]
        self._show_printer()
        self.query_one(PrinterList).focus()
        self.action_scan()

    @property
    def printing(self) -> Any:
        return self.app.desk.printing  # type: ignore[attr-defined]

    # -- the desk's printer ---------------------------------------------------------------------------

    def _print_changed(self, update: PrintUpdate) -> None:
        if update.printer:
            self._show_printer()

    def _show_printer(self) -> None:
        target = self.printing.printer()
        self.query_one("#desk-printer", Static).update(status_text(target, self.printing.printer_status, self.checking))
        self.query_one(PrinterList).set_paired(target.address if target else None)
        self.query_one(BadgePreview).show_target(target)
        self.refresh_bindings()

    def action_check_status(self) -> None:
        self.check_status()

    @work(exclusive=True, group="printer-status", exit_on_error=False)
    async def check_status(self) -> None:
        self.checking = True
        self._show_printer()
        try:
            await self.printing.refresh_status()
        except PrinterError as exc:
            self.notify(str(exc), title="Printer status", severity="error")
        finally:
            self.checking = False
            self._show_printer()

    # -- scanning -------------------------------------------------------------------------------------

    def action_scan(self) -> None:
        self.scan_printers()

    @work(exclusive=True, group="printer-scan", exit_on_error=False)
    async def scan_printers(self) -> None:
        printers = self.query_one(PrinterList)
        printers.clear_found()
        self.scanning, self.bluetooth_problem = True, None
        self._show_scan()

        def found(printer: FoundPrinter) -> None:
            printers.add_found(printer)
            self._show_scan()

        try:
            result = await scan(timeout=SCAN_TIMEOUT_S, backend=self.app.context.ble_backend, on_found=found)  # type: ignore[attr-defined]
        except BluetoothUnavailable as exc:
            self.bluetooth_problem = str(exc)
        except PrinterError as exc:
            self.bluetooth_problem = f"The scan failed: {exc}"
        else:
            printers.set_found(result)
        finally:
            self.scanning = False
            self._show_scan()

    def _show_scan(self) -> None:
        line = self.query_one("#scan-status", Static)
        count = len(self.query_one(PrinterList).found)
        line.set_class(self.bluetooth_problem is not None, "-problem")
        if self.bluetooth_problem is not None:
            line.update(Text(f"{self.bluetooth_problem}\n{NETWORK_HINT}"))
        elif self.scanning:
            line.update(Text(f"◌ Scanning for label printers… {count} found", style="bold"))
        elif count:
            line.update(f"{count} found · ✓ this desk · Enter pairs · s scans again")
        else:
            line.update("No label printers heard. Switch the printer on, bring it closer and press s.\n" + NETWORK_HINT)

    # -- pairing --------------------------------------------------------------------------------------

    def action_pair(self) -> None:
        found = self.query_one(PrinterList).highlighted_printer
        if found is None:
            self.notify("Scan (s) and highlight a printer first, or add a network printer (n).", severity="warning")
            return
        self._open_pair(found)

    @on(PrinterList.PairRequested)
    def _pair_requested(self, event: PrinterList.PairRequested) -> None:
        self._open_pair(event.found)

    def action_add_network(self) -> None:
        self._open_pair(None)

    def _open_pair(self, found: FoundPrinter | None) -> None:
        self.app.push_screen(PairPrinterDialog(found, self.printing.printer()), self._paired)

    def _paired(self, target: PrinterTarget | None) -> None:
        if target is None:
            return
        try:
            self.printing.set_printer(target)
        except PrinterError as exc:
            self.notify(str(exc), title="Not paired", severity="error")
            return
        self.notify(f"{target.model.name} ({target.media.id} labels) is now this desk's printer.", title="Paired")
        self.check_status()

    # -- printing -------------------------------------------------------------------------------------

    def action_test_print(self) -> None:
        target = self.printing.printer()
        if target is None:
            self.notify("Pair a printer first (Enter on a scanned printer, or n).", severity="warning")
            return
        job_id = self.printing.enqueue_test()
        self.query_one(PrintQueueList).repaint_jobs()
        self.query_one(PrintQueueList).highlight_job(job_id)
        self.notify(f"Test label queued for {target.model.name}.")

    def action_retry(self) -> None:
        job = self.query_one(PrintQueueList).highlighted_job
        if job is None or job.state != "failed":
            self.notify("Highlight a failed job in the print queue to retry it.", severity="warning")
            return
        try:
            self.printing.retry(job.id)
        except ValueError as exc:  # it changed state meanwhile
            self.notify(str(exc), severity="warning")

    def action_retry_all(self) -> None:
        count = self.printing.retry_failed()
        self.notify(f"{count} failed job{'s' * (count != 1)} queued again." if count else "No failed jobs to retry.")

    def action_discard(self) -> None:
        job = self.query_one(PrintQueueList).highlighted_job
        if job is None or job.state not in ("queued", "failed"):
            self.notify("Highlight a queued or failed job in the print queue to discard it.", severity="warning")
            return
        question = f"Discard the {job.kind} job for {job.label}?"
        detail = "It will not print. A badge can be reprinted later from the desk screen."
        dialog = ConfirmDialog(question, detail=detail, yes="Discard", no="Keep", default=False, title="Discard")

        def answered(yes: bool | None) -> None:
            if not yes:
                return
            try:
                self.printing.discard(job.id)
            except ValueError as exc:
                self.notify(str(exc), severity="warning")

        self.app.push_screen(dialog, answered)

    @on(PrintQueueList.Repainted)
    @on(PrintQueueList.OptionHighlighted, "#print-queue")
    def _queue_changed(self) -> None:
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Dim what does not apply: printer actions without a printer, job actions without a fitting job."""
        try:
            return self._applies(action)
        except NoMatches:  # before the widgets are composed
            return True

    def _applies(self, action: str) -> bool | None:
        if action in ("test_print", "check_status"):
            return True if self.printing.printer() is not None else None
        if action in ("retry", "discard"):
            job = self.query_one(PrintQueueList).highlighted_job
            allowed = ("failed",) if action == "retry" else ("queued", "failed")
            return True if job is not None and job.state in allowed else None
        if action == "retry_all":
            return True if self.printing.failed_count() else None
        if action == "pair":
            return True if self.query_one(PrinterList).highlighted_printer is not None else None
        return True

    # -- layout ---------------------------------------------------------------------------------------

    def action_toggle_preview(self) -> None:
        self._preview_override = not self.query_one(BadgePreview).display
        self._layout_preview()

    def on_resize(self) -> None:
        self._layout_preview()

    def _layout_preview(self) -> None:
        """Wide screens show the preview beside the scan list; narrow ones only on request (v), and then
        instead of the list and the queue — squeezed beside them it would be too coarse to tell anything."""
        wide = self.size.width >= WIDE_ENOUGH_FOR_PREVIEW
        show = wide if self._preview_override is None else self._preview_override
        self.query_one(BadgePreview).display = show
        alone = show and not wide
        self.query_one("#printers-left").display = not alone
        self.query_one(PrintQueueList).display = not alone
