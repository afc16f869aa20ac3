"""A badge drawn in the terminal from the raster the printer would get: two dots per character cell.

It is a *preview*, not what prints: the real raster is downscaled by a whole factor to fit the panel (a cell
is ink when at least ``INK_SHARE`` of its dots are) — a terminal cell is far coarser than a print head dot,
so small text turns to blots while layout, QR placement and margins stay true.
"""

from __future__ import annotations

import math

from PIL import Image
from rich.text import Text
from textual.widgets import Static

from printers.badge import BadgeContent, render_badge, render_test_label
from printers.errors import PrinterError
from printers.models import Media, ModelSpec
from printers.raster import Bitmap
from printers.session import PrinterTarget

SAMPLE = BadgeContent(name="Anna Smith", second_line="ACME", ribbon="Speaker", qr="FOCUSDESK-PREVIEW-0001")
INK_SHARE = 0.4  # a cell is ink when at least this share of its dots are: OR smears text, majority loses strokes

# (top dot, bottom dot) → character; the foreground is ink, the background is the label.
_HALF_BLOCKS = {(False, False): " ", (True, False): "▀", (False, True): "▄", (True, True): "█"}


def halfblock_factor(width: int, height: int, max_cols: int, max_rows: int) -> int:
    """The smallest whole downscale factor that fits ``width``×``height`` dots in ``max_cols``×``max_rows`` cells."""
    return max(1, math.ceil(width / max_cols), math.ceil(height / (2 * max_rows)))


def bitmap_to_halfblocks(bitmap: Bitmap, max_cols: int, max_rows: int) -> list[str]:
    """The bitmap as lines of ▀ ▄ █ and spaces (two dot rows per line), downscaled by the smallest whole
    factor that fits ``max_cols`` × ``max_rows`` cells. Empty when there is no room at all."""
    if max_cols < 1 or max_rows < 1:
        return []
    factor = halfblock_factor(bitmap.width, bitmap.height, max_cols, max_rows)
    gray = bitmap.to_image().convert("L")  # ink 0, paper 255
    if factor > 1:
        # Pad with paper to whole blocks so an edge block is judged on factor² dots like every other one.
        cols, lines = math.ceil(bitmap.width / factor), math.ceil(bitmap.height / factor)
        padded = Image.new("L", (cols * factor, lines * factor), 255)
        padded.paste(gray, (0, 0))
        gray = padded.reduce(factor)
    width, height = gray.size
    data = gray.tobytes()
    limit = 255 * (1 - INK_SHARE)

    def ink(x: int, y: int) -> bool:
        return y < height and data[y * width + x] <= limit

    return ["".join(_HALF_BLOCKS[ink(x, y), ink(x, y + 1)] for x in range(width)) for y in range(0, height, 2)]


def reading_orientation(bitmap: Bitmap, model: ModelSpec, media: Media) -> Bitmap:
    """The printer's raster turned back to how a person reads the label (labels that run sideways through
    the head are rendered turned 90° clockwise), with a finer feed (DYMO's 400 dpi) squeezed to square dots."""
    image = bitmap.to_image()
    if media.rotate == 90:
        image = image.transpose(Image.Transpose.ROTATE_90)
    if model.along_dpi != model.dpi and model.along_dpi % model.dpi == 0:
        ratio = model.along_dpi // model.dpi
        squeeze = (ratio, 1) if media.rotate == 90 else (1, ratio)  # the feed runs across the reading view
        gray = image.convert("L").reduce(squeeze)
        image = gray.point(lambda v: 255 if v > 127 else 0).convert("1", dither=Image.Dither.NONE)
    return Bitmap.from_image(image)


class BadgePreview(Static):
    """The paired printer's badge (or test label) as half-block characters, refitted on resize."""

    DEFAULT_CSS = """
    BadgePreview {
        width: 1fr; height: 1fr; content-align: center middle; text-wrap: nowrap;
        border: round $primary 50%; border-title-color: $text; border-subtitle-color: $text-muted;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id)
        self._bitmap: Bitmap | None = None
        self._caption = ""
        self._message = "No printer paired yet: pair one to see its badge here."
        self._key: tuple[PrinterTarget | None, bool] | None = None
        self.border_title = "Badge preview"

    def show_target(self, target: PrinterTarget | None, *, test_label: bool = False) -> None:
        """Render the sample badge (or the test label) for ``target``; no-op when nothing changed."""
        key = (target, test_label)
        if key == self._key:
            return
        self._key = key
        self._bitmap = None
        if target is None:
            self._message = "No printer paired yet: pair one to see its badge here."
        else:
            try:
                model, media = target.model, target.media
                raster = render_test_label(model, media) if test_label else render_badge(SAMPLE, model, media)
                self._bitmap = reading_orientation(raster, model, media)
                what = "Test label" if test_label else "Badge preview"
                self._caption = f"{what} · {model.name} {media.id} · {raster.width}×{raster.height} dots"
            except PrinterError as exc:
                self._message = f"This printer cannot print the sample badge: {exc}"
        self._paint()

    def on_resize(self) -> None:
        self._paint()

    def _paint(self) -> None:
        if self._bitmap is None:
            self.border_title, self.border_subtitle = "Badge preview", ""
            self.update(Text(self._message, style="italic", justify="center"))
            return
        cols, rows = (max(1, n) for n in self.content_region.size)
        factor = halfblock_factor(self._bitmap.width, self._bitmap.height, cols, rows)
        text = Text(justify="center", no_wrap=True, overflow="crop")
        for i, line in enumerate(bitmap_to_halfblocks(self._bitmap, cols, rows)):
            text.append("\n" if i else "")
            text.append(line, style="#000000 on #ffffff")  # the label is white paper in any theme
        self.update(text)
        self.border_title = self._caption
        self.border_subtitle = f"{'1:1' if factor == 1 else f'1:{factor}'} · a preview, not what prints"
