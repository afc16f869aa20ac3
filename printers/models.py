"""The model table: what each supported printer is, as data, so drivers and the renderer stay generic.

Facts come from ../shared/PRINTERS.md; none were checked on real hardware. Media sizes are the label the
model is commonly sold with; ``dots_across``/``dots_along`` are the raster the printer receives.
"""

from __future__ import annotations

from dataclasses import dataclass

from printers.errors import UnknownModel

MM_PER_INCH = 25.4


def mm_to_dots(mm: float, dpi: int) -> int:
    return round(mm * dpi / MM_PER_INCH)


@dataclass(frozen=True, slots=True)
class Media:
    """A label (or tape) as loaded. ``width_mm`` runs across the print head, ``length_mm`` along the feed
    (None: continuous, the badge decides its length). ``rotate`` is how far, clockwise, the upright design
    is turned to meet the head — 90 when the label is narrower across the head than it is long."""

    id: str
    width_mm: float
    length_mm: float | None
    kind: str  # "gaps" (die-cut with gaps), "continuous", "black_mark"
    rotate: int = 0
    dots_across: int | None = None  # printable dots across the head; None: min(head, width)
    dots_along: int | None = None  # fixed label length in dots (Brother die-cut tables); None: from length_mm
    # Brother QL: unprinted dots between the printable window and the head's far end, in reading order (the
    # "right offset" of brother_ql's label table: 12 for 62 mm, 6 for 29 mm). None: the window is centred.
    right_margin_dots: int | None = None

    @property
    def die_cut(self) -> bool:
        return self.length_mm is not None and self.kind != "continuous"


@dataclass(frozen=True, slots=True)
class ModelSpec:
    id: str
    family: str  # "niimbot", "phomemo", "dymo", "escpos", "brother_ql"
    variant: str  # protocol variant within the family (e.g. "b1", "d110", "b21", "m02", "m110", "d30")
    name: str
    dpi: int
    head_dots: int  # dots across the head the protocol addresses
    density: tuple[int, int, int]  # (lowest, highest, default)
    media: tuple[Media, ...]  # the first is the default
    transport: str  # "ble" or "tcp"
    ble_names: tuple[str, ...] = ()  # advertised name prefixes
    service_uuids: tuple[str, ...] = ()
    feed_dpi: int | None = None  # resolution along the feed when it differs (DYMO stretches 2x)
    min_qr_module_dots: int = 4
    qr: bool = True  # False: the printable height cannot hold a scannable QR code at all
    notes: str = ""
    tcp_port: int = 9100

    @property
    def along_dpi(self) -> int:
        return self.feed_dpi or self.dpi

    def printable_across(self, media: Media) -> int:
        if media.dots_across is not None:
            return media.dots_across
        return min(self.head_dots, mm_to_dots(media.width_mm, self.dpi))

    def default_media(self) -> Media:
        return self.media[0]

    def find_media(self, media_id: str | None) -> Media:
        if media_id is None:
            return self.default_media()
        for m in self.media:
            if m.id == media_id:
                return m
        known = ", ".join(m.id for m in self.media)
        raise UnknownModel(f"{self.name} has no label size {media_id!r}.", f"Known sizes: {known}.")

    def clamp_density(self, density: int | None) -> int:
        low, high, default = self.density
        if density is None:
            return default
        return max(low, min(high, density))


NIIMBOT_SERVICE = "e7810a71-73ae-499d-8c15-faa9aef0c3f2"
NIIMBOT_CHAR = "bef8d6c9-9c21-4c9e-b632-bd58c1009f9f"
PHOMEMO_SERVICE = "0000ff00-0000-1000-8000-00805f9b34fb"
PHOMEMO_WRITE = "0000ff02-0000-1000-8000-00805f9b34fb"
PHOMEMO_NOTIFY = "0000ff03-0000-1000-8000-00805f9b34fb"
DYMO_SERVICE = "be3dd650-2b3d-42f1-99c1-f0f749dd0678"
DYMO_WRITE = "be3dd651-2b3d-42f1-99c1-f0f749dd0678"
DYMO_NOTIFY = "be3dd652-2b3d-42f1-99c1-f0f749dd0678"
# Generic BLE ESC/POS printers ("Printer001" and many no-name 58 mm units): service 18f0, write 2af1,
# notify 2af0. Cat printers (ae30) speak their own framing and are not covered.
ESCPOS_SERVICE = "000018f0-0000-1000-8000-00805f9b34fb"
ESCPOS_WRITE = "00002af1-0000-1000-8000-00805f9b34fb"
ESCPOS_NOTIFY = "00002af0-0000-1000-8000-00805f9b34fb"

_NIIMBOT_WIDE = (
    Media("50x30", 50, 30, "gaps"),
    Media("40x30", 40, 30, "gaps"),
    Media("50x50", 50, 50, "gaps"),
)
# 96-dot heads print 12 mm; on 14-15 mm labels the unprinted edge adds to the QR code's quiet zone.
_NIIMBOT_NARROW = (
    Media("15x50", 15, 50, "gaps", rotate=90),
    Media("14x40", 14, 40, "gaps", rotate=90),
    Media("12x40", 12, 40, "gaps", rotate=90),
)
_BROTHER_QL8 = (
    Media("62x100", 62, 100, "gaps", dots_across=696, dots_along=1109, right_margin_dots=12),
    Media("62", 62, None, "continuous", dots_across=696, right_margin_dots=12),
    Media("29x90", 29, 90, "gaps", rotate=90, dots_across=306, dots_along=991, right_margin_dots=6),
    Media("62x29", 62, 29, "gaps", dots_across=696, dots_along=271, right_margin_dots=12),
)

MODELS: dict[str, ModelSpec] = {
    m.id: m
    for m in (
        ModelSpec(
            "niimbot-b1", "niimbot", "b1", "Niimbot B1", 203, 384, (1, 5, 3), _NIIMBOT_WIDE, "ble",
            ("B1",), (NIIMBOT_SERVICE,),
        ),
        ModelSpec(
            "niimbot-b21", "niimbot", "b21", "Niimbot B21", 203, 384, (1, 5, 3), _NIIMBOT_WIDE, "ble",
            ("B21",), (NIIMBOT_SERVICE,),
        ),
        ModelSpec(
            "niimbot-d11", "niimbot", "d110", "Niimbot D11", 203, 96, (1, 3, 2), _NIIMBOT_NARROW, "ble",
            ("D11",), (NIIMBOT_SERVICE,), min_qr_module_dots=3,
        ),
        ModelSpec(
            "niimbot-d110", "niimbot", "d110", "Niimbot D110", 203, 96, (1, 3, 2), _NIIMBOT_NARROW, "ble",
            ("D110",), (NIIMBOT_SERVICE,), min_qr_module_dots=3,
        ),
        ModelSpec(
            "phomemo-m02", "phomemo", "m02", "Phomemo M02", 203, 384, (1, 5, 3),
            (Media("53", 53, None, "continuous", dots_across=384),), "ble",
            ("M02",), (PHOMEMO_SERVICE,),
        ),
        ModelSpec(
            "phomemo-m110", "phomemo", "m110", "Phomemo M110", 203, 384, (1, 15, 10),
            (Media("50x30", 50, 30, "gaps"), Media("40x30", 40, 30, "gaps")), "ble",
            ("M110", "M120"), (PHOMEMO_SERVICE,),
        ),
        ModelSpec(
            "phomemo-d30", "phomemo", "d30", "Phomemo D30", 203, 96, (1, 1, 1),
            (Media("14x40", 14, 40, "gaps", rotate=90), Media("15x30", 15, 30, "gaps", rotate=90)), "ble",
            ("D30",), (PHOMEMO_SERVICE,), min_qr_module_dots=3,
        ),
        ModelSpec(
            "dymo-lt200b", "dymo", "lt200b", "DYMO LetraTag LT-200B", 200, 30, (1, 1, 1),
            (Media("12", 12, None, "continuous", rotate=90, dots_across=30),), "ble",
            ("Letratag",), (DYMO_SERVICE,), feed_dpi=400, qr=False,
            notes="30 printable dots across the tape: a name tape, too narrow for a scannable QR code.",
        ),
        ModelSpec(
            "escpos-58", "escpos", "generic", "ESC/POS 58 mm (BLE)", 203, 384, (1, 1, 1),
            (Media("58", 58, None, "continuous", dots_across=384),), "ble",
            ("Printer", "MPT", "PT-"), (ESCPOS_SERVICE,),
        ),
        ModelSpec(
            "escpos-80", "escpos", "generic", "ESC/POS 80 mm (network)", 203, 576, (1, 1, 1),
            (Media("80", 80, None, "continuous", dots_across=576),), "tcp",
        ),
        ModelSpec(
            "brother-ql820nwb", "brother_ql", "ql8", "Brother QL-820NWB", 300, 720, (1, 1, 1), _BROTHER_QL8,
            "tcp", notes="Bluetooth Classic only (no BLE): networked over TCP 9100.",
        ),
        ModelSpec(
            "brother-ql810w", "brother_ql", "ql8", "Brother QL-810W", 300, 720, (1, 1, 1), _BROTHER_QL8, "tcp",
        ),
    )
}  # fmt: skip


def get_model(model_id: str) -> ModelSpec:
    try:
        return MODELS[model_id]
    except KeyError:
        known = ", ".join(sorted(MODELS))
        raise UnknownModel(f"Unknown printer model {model_id!r}.", f"Known models: {known}.") from None


def models_for_advert(name: str | None, service_uuids: list[str] | tuple[str, ...]) -> list[ModelSpec]:
    """The BLE models an advertisement could be: by name prefix first, then by service UUID."""
    name = name or ""
    lowered = {u.lower() for u in service_uuids}
    ble = [m for m in MODELS.values() if m.transport == "ble"]
    prefixes = [(len(p), m) for m in ble for p in m.ble_names if name.startswith(p)]
    if prefixes:
        # The longest matching prefix wins: "B21" over "B1"-style clashes, "D110" over "D11".
        longest = max(n for n, _ in prefixes)
        return list(dict.fromkeys(m for n, m in prefixes if n == longest))
    return [m for m in ble if lowered & set(m.service_uuids)]


__all__ = ["MODELS", "Media", "ModelSpec", "get_model", "mm_to_dots", "models_for_advert"]
