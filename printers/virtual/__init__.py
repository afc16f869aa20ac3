"""Virtual printers: the device side of every supported family, for tests, benchmarks and the demo."""

from __future__ import annotations

from importlib import import_module

from printers.models import ModelSpec
from printers.virtual.base import Faults, LinkLimits, VirtualFleet, VirtualPrinter

_DEVICES = {
    "niimbot": ("printers.virtual.niimbot", "VirtualNiimbot"),
    "phomemo": ("printers.virtual.phomemo", "VirtualPhomemo"),
    "escpos": ("printers.virtual.escpos", "VirtualEscPos"),
    "dymo": ("printers.virtual.dymo", "VirtualDymo"),
    "brother_ql": ("printers.virtual.brother_ql", "VirtualBrotherQL"),
}


def virtual_printer(model: ModelSpec, address: str, **kwargs: object) -> VirtualPrinter:
    """A virtual unit of ``model`` at ``address`` (a BLE address, or any label for TCP devices)."""
    module, name = _DEVICES[model.family]
    cls: type[VirtualPrinter] = getattr(import_module(module), name)
    return cls(model, address=address, **kwargs)  # type: ignore[arg-type]


__all__ = ["Faults", "LinkLimits", "VirtualFleet", "VirtualPrinter", "virtual_printer"]
