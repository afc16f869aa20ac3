"""One driver per printer family, picked from the model table."""

from __future__ import annotations

from importlib import import_module

from printers.drivers.base import Driver, PrinterStatus, PrintSettings, Progress, ProgressCallback, Write
from printers.models import ModelSpec

# family -> (module, class). Imported on first use so `focusdesk printers models` stays instant.
_DRIVERS = {
    "niimbot": ("printers.drivers.niimbot", "NiimbotDriver"),
    "phomemo": ("printers.drivers.phomemo", "PhomemoDriver"),
    "escpos": ("printers.drivers.escpos", "EscPosDriver"),
    "dymo": ("printers.drivers.dymo", "DymoDriver"),
    "brother_ql": ("printers.drivers.brother_ql", "BrotherQLDriver"),
}


def driver_for(model: ModelSpec) -> Driver:
    module, name = _DRIVERS[model.family]
    cls: type[Driver] = getattr(import_module(module), name)
    return cls(model)


__all__ = ["Driver", "PrintSettings", "PrinterStatus", "Progress", "ProgressCallback", "Write", "driver_for"]
