"""The 1-bit raster every driver consumes and every virtual printer decodes back.

Orientation is the printer's, not the reader's: a row is one line across the print head (``width`` dots,
first dot = the head's first dot), rows follow the feed direction. Rows are packed MSB-first, 1 = black,
padding bits zero — the layout most label printers take almost as-is, so drivers stay small.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from PIL import Image, ImageChops


def row_bytes(width: int) -> int:
    return (width + 7) // 8


@dataclass(frozen=True, slots=True)
class Bitmap:
    width: int
    height: int
    rows: tuple[bytes, ...]

    def __post_init__(self) -> None:
        if self.width <= 0 or self.height <= 0:
            raise ValueError(f"a bitmap needs a positive size, got {self.width}x{self.height}")
        if len(self.rows) != self.height:
            raise ValueError(f"expected {self.height} rows, got {len(self.rows)}")
        stride = row_bytes(self.width)
        pad_mask = (0xFF >> (self.width % 8)) if self.width % 8 else 0
        for i, row in enumerate(self.rows):
            if len(row) != stride:
                raise ValueError(f"row {i} has {len(row)} bytes, expected {stride}")
            if pad_mask and row[-1] & pad_mask:
                raise ValueError(f"row {i} has ink in its padding bits")

    @property
    def stride(self) -> int:
        return row_bytes(self.width)

    @classmethod
    def from_rows(cls, width: int, rows: Iterable[bytes]) -> Bitmap:
        materialised = tuple(bytes(r) for r in rows)
        return cls(width, len(materialised), materialised)

    @classmethod
    def blank(cls, width: int, height: int) -> Bitmap:
        row = bytes(row_bytes(width))
        return cls(width, height, (row,) * height)

    @classmethod
    def from_image(cls, image: Image.Image) -> Bitmap:
        """A mode-"1" image (Pillow: 0 = black) as a bitmap (1 = black). Any other mode is refused: converting
        here would dither or threshold behind the renderer's back."""
        if image.mode != "1":
            raise ValueError(f"expected a 1-bit image (mode '1'), got mode {image.mode!r}")
        width, height = image.size
        data = ImageChops.invert(image).tobytes()
        stride = row_bytes(width)
        rows = tuple(data[i * stride : (i + 1) * stride] for i in range(height))
        if width % 8:
            keep = (0xFF << (8 - width % 8)) & 0xFF
            rows = tuple(r[:-1] + bytes([r[-1] & keep]) for r in rows)
        return cls(width, height, rows)

    def to_image(self) -> Image.Image:
        """The bitmap as a mode-"1" image with Pillow's convention (0 = black), for PNG export and QR decoding."""
        inked = Image.frombytes("1", (self.width, self.height), b"".join(self.rows))
        return ImageChops.invert(inked)

    def pixel(self, x: int, y: int) -> bool:
        return bool(self.rows[y][x >> 3] & (0x80 >> (x & 7)))

    def black_count(self, y: int) -> int:
        return sum(bin(b).count("1") for b in self.rows[y])

    def difference(self, other: Bitmap) -> str | None:
        """None when bit-identical; otherwise a sentence locating the first difference (for test failures)."""
        if (self.width, self.height) != (other.width, other.height):
            return f"size differs: {self.width}x{self.height} vs {other.width}x{other.height}"
        for y, (a, b) in enumerate(zip(self.rows, other.rows, strict=True)):
            if a != b:
                x = next(i * 8 + (7 - (a[i] ^ b[i]).bit_length() + 1) for i in range(len(a)) if a[i] != b[i])
                diff_rows = sum(1 for p, q in zip(self.rows, other.rows, strict=True) if p != q)
                return f"first difference at row {y}, dot {x}; {diff_rows} of {self.height} rows differ"
        return None


def pack_bits(dots: Sequence[bool]) -> bytes:
    """Dots (True = black) packed MSB-first; the tests' and decoders' way back to rows."""
    out = bytearray(row_bytes(len(dots)))
    for x, dot in enumerate(dots):
        if dot:
            out[x >> 3] |= 0x80 >> (x & 7)
    return bytes(out)
