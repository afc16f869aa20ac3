"""What can go wrong with a printer, as a small exception hierarchy.

Every error carries a sentence for the person at the desk (``str(err)``) and, where there is one, what to do
about it (``err.hint``). ``code`` is a stable machine name the station stores with a failed print job.
"""

from __future__ import annotations

import enum


class PrinterState(enum.StrEnum):
    """The printer conditions a technician needs to tell apart (the Printers and Operations screens)."""

    READY = "ready"
    PRINTING = "printing"
    NO_PAPER = "no_paper"
    COVER_OPEN = "cover_open"
    LOW_BATTERY = "low_battery"
    BATTERY_EMPTY = "battery_empty"
    OVERHEAT = "overheat"
    BUSY = "busy"
    DATA_ERROR = "data_error"
    WRONG_MEDIA = "wrong_media"
    NO_CASSETTE = "no_cassette"
    CUTTER_JAM = "cutter_jam"
    DISCONNECTED = "disconnected"
    ERROR = "error"
    UNKNOWN = "unknown"


STATE_MESSAGES: dict[PrinterState, tuple[str, str]] = {
    PrinterState.READY: ("The printer is ready.", ""),
    PrinterState.PRINTING: ("The printer is printing.", ""),
    PrinterState.NO_PAPER: ("The printer is out of labels.", "Load a new roll, close the cover and retry."),
    PrinterState.COVER_OPEN: ("The printer's cover is open.", "Close the cover and retry."),
    PrinterState.LOW_BATTERY: ("The printer's battery is low.", "Plug the printer in soon."),
    PrinterState.BATTERY_EMPTY: ("The printer's battery is too low to print.", "Plug the printer in and retry."),
    PrinterState.OVERHEAT: ("The print head is too hot.", "Wait a minute for it to cool down, then retry."),
    PrinterState.BUSY: ("The printer is busy with another job.", "Wait for it to finish, then retry."),
    PrinterState.DATA_ERROR: (
        "The printer rejected the label data.",
        "Retry; if it happens again, restart the printer.",
    ),
    PrinterState.WRONG_MEDIA: (
        "The loaded labels do not match the job's label size.",
        "Load the label size set for this desk, or change the desk's label size.",
    ),
    PrinterState.NO_CASSETTE: ("No tape cassette is loaded.", "Insert a cassette and retry."),
    PrinterState.CUTTER_JAM: ("The cutter is jammed.", "Clear the cutter and retry."),
    PrinterState.DISCONNECTED: (
        "The printer is not connected (switched off or out of range).",
        "Switch it on, bring it closer to the desk and retry.",
    ),
    PrinterState.ERROR: ("The printer reported an error.", "Restart the printer and retry."),
    PrinterState.UNKNOWN: ("The printer's state is unknown.", ""),
}


def describe_state(state: PrinterState) -> str:
    message, hint = STATE_MESSAGES[state]
    return f"{message} {hint}".strip()


class PrinterError(Exception):
    """Base of every printer failure: a user-facing message, a hint, a stable code."""

    code = "printer_error"

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} {self.hint}".strip()


class BluetoothUnavailable(PrinterError):
    code = "bluetooth_unavailable"

    def __init__(self, detail: str = "") -> None:
        hint = "Use a networked printer, or run the desk on a machine with Bluetooth."
        if detail:
            hint = f"({detail}) {hint}"
        super().__init__("Bluetooth is not available on this machine.", hint)


class UnknownModel(PrinterError):
    code = "unknown_model"


class PrinterNotFound(PrinterError):
    code = "not_found"


class ConnectFailed(PrinterError):
    code = "connect_failed"


class LinkLost(PrinterError):
    """The connection dropped mid-conversation: switched off, out of range, or the radio gave up."""

    code = "disconnected"

    def __init__(self, message: str = "The printer disconnected during the job.", hint: str = "") -> None:
        super().__init__(message, hint or "Bring the printer closer, check it is on, and retry.")


class ReplyTimeout(PrinterError):
    code = "timeout"


class ProtocolError(PrinterError):
    """The printer answered something this driver does not understand."""

    code = "protocol_error"


class PrinterFault(PrinterError):
    """The printer itself reported a condition that stops printing (no paper, cover open…)."""

    def __init__(self, state: PrinterState, detail: str = "") -> None:
        message, hint = STATE_MESSAGES[state]
        if detail:
            message = f"{message} ({detail})"
        super().__init__(message, hint)
        self.state = state
        self.code = state.value


class RenderError(PrinterError):
    code = "render_error"


class FontNotFound(RenderError):
    code = "font_not_found"


class LayoutError(RenderError):
    """The badge cannot be laid out on this label (e.g. a QR code that would not scan at this size)."""

    code = "layout_error"
