"""Pair a printer with this desk: which model it is (when its advert fits several, or for a network printer)
and which labels are loaded. Returns the ``PrinterTarget`` to store, or None when cancelled."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select, Static

from printers.models import MODELS, Media, ModelSpec, get_model
from printers.session import PrinterTarget, split_host_port
from printers.transports.ble import FoundPrinter


def network_models() -> list[ModelSpec]:
    """TCP models, Brother QL first (the usual network label printer at a desk)."""
    return sorted((m for m in MODELS.values() if m.transport == "tcp"), key=lambda m: m.family != "brother_ql")


def media_label(media: Media) -> str:
    size = f"{media.width_mm:g} × {media.length_mm:g} mm" if media.length_mm else f"{media.width_mm:g} mm roll"
    kind = {"gaps": "die-cut", "continuous": "continuous", "black_mark": "black mark"}.get(media.kind, media.kind)
    return f"{media.id}  ({size}, {kind})"


def check_address(address: str, model: ModelSpec) -> str | None:
    """Why ``address`` is not a usable host[:port], or None."""
    if not address.strip():
        return "Type the printer's host name or IP address, e.g. 192.168.1.40 or 192.168.1.40:9100."
    host, port = split_host_port(address.strip(), model.tcp_port)
    if not host or " " in host:
        return f"{address!r} is not a host name or IP address."
    if not 0 < port < 65536:
        return f"Port {port} is out of range (1–65535); label printers listen on {model.tcp_port}."
    return None


class PairPrinterDialog(ModalScreen[PrinterTarget | None]):
    """``found``: a scanned Bluetooth printer; None: a network (TCP) printer typed in by host:port."""

    DEFAULT_CSS = """
    PairPrinterDialog { align: center middle; }
    PairPrinterDialog > Vertical {
        width: 72; max-width: 100%; height: auto; max-height: 100%;
        border: thick $primary; background: $surface; padding: 0 1;
    }
    PairPrinterDialog Label { margin-top: 1; }
    PairPrinterDialog #pair-model-label { margin-top: 0; }
    PairPrinterDialog .hint { color: $text-muted; }
    PairPrinterDialog #pair-error { color: $error; height: auto; }
    PairPrinterDialog Horizontal { height: auto; align-horizontal: right; }
    PairPrinterDialog Button { margin-left: 2; }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="pair.cancel", tooltip="Close without pairing")]

    def __init__(self, found: FoundPrinter | None, current: PrinterTarget | None = None) -> None:
        super().__init__()
        self.found = found
        self.current = current
        self.model_ids = list(found.models) if found is not None else [m.id for m in network_models()]

    def compose(self) -> ComposeResult:
        first = self.current.model_id if self.current and self.current.model_id in self.model_ids else self.model_ids[0]
        with Vertical() as box:
            if self.found is not None:
                box.border_title = f"Pair {self.found.name or self.found.address}"
                yield Static(f"Bluetooth {self.found.address} · {self.found.rssi} dBm", classes="hint")
            else:
                box.border_title = "Add a network printer"
                yield Static(
                    "Label printers on the network (Brother QL, ESC/POS) listen on TCP port 9100.", classes="hint"
                )
            several = self.found is not None and len(self.model_ids) > 1
            yield Label("Model (its advert fits several: which is it?)" if several else "Model", id="pair-model-label")
            yield Select(
                [(get_model(m).name, m) for m in self.model_ids], value=first, allow_blank=False, id="pair-model"
            )
            if self.found is None:
                yield Label("Address (host or host:port)")
                address = self.current.address if self.current and self.current.model_id in self.model_ids else ""
                yield Input(address, placeholder="192.168.1.40:9100", id="pair-address")
            yield Label("Labels loaded")
            yield Select(self._media_options(first), value=self._media_for(first), allow_blank=False, id="pair-media")
            yield Static("", id="pair-error")
            with Horizontal():
                yield Button("Cancel", id="pair-cancel")
                yield Button("Pair", variant="primary", id="pair-ok")

    def on_mount(self) -> None:
        self.query_one("#pair-address" if self.found is None else "#pair-ok").focus()

    def _media_options(self, model_id: str) -> list[tuple[str, str]]:
        return [(media_label(m), m.id) for m in get_model(model_id).media]

    def _media_for(self, model_id: str) -> str:
        current = self.current
        model = get_model(model_id)
        if current is not None and current.model_id == model_id and current.media_id:
            return current.media_id
        return model.default_media().id

    @on(Select.Changed, "#pair-model")
    def _model_changed(self, event: Select.Changed) -> None:
        model_id = str(event.value)
        media = self.query_one("#pair-media", Select)
        media.set_options(self._media_options(model_id))
        media.value = self._media_for(model_id)

    @on(Input.Submitted, "#pair-address")
    @on(Button.Pressed, "#pair-ok")
    def _pair(self) -> None:
        model_id = str(self.query_one("#pair-model", Select).value)
        media_id = str(self.query_one("#pair-media", Select).value)
        if self.found is not None:
            address = self.found.address
        else:
            address = self.query_one("#pair-address", Input).value.strip()
            problem = check_address(address, get_model(model_id))
            if problem:
                self.query_one("#pair-error", Static).update(problem)
                self.query_one("#pair-address", Input).focus()
                return
        self.dismiss(PrinterTarget(model_id, address, media_id))

    @on(Button.Pressed, "#pair-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
