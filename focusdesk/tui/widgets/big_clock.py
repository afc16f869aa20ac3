"""Clock digits as large as the widget allows, for a screen read from the back of a room.

Textual's ``Digits`` is three rows tall whatever the space. This draws "12:34" or "1:02:03" from a 3×5
pixel font scaled to the widget's size: a pixel is ``2 × scale`` cells wide and ``scale`` rows tall (about
square on a terminal's tall cells), painted as background colour — not with block glyphs, whose widths
differ between fonts and would skew the digits in exported screenshots. It repaints only when the text
or the size changes.
"""

from __future__ import annotations

from functools import lru_cache
from itertools import groupby

from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip
from textual.widget import Widget

# 3×5 glyphs, one string per pixel row ("#" on).
_GLYPHS: dict[str, tuple[str, ...]] = {
    "0": ("###", "# #", "# #", "# #", "###"),
    "1": (" # ", "## ", " # ", " # ", "###"),
    "2": ("###", "  #", "###", "#  ", "###"),
    "3": ("###", "  #", "###", "  #", "###"),
    "4": ("# #", "# #", "###", "  #", "  #"),
    "5": ("###", "#  ", "###", "  #", "###"),
    "6": ("###", "#  ", "###", "# #", "###"),
    "7": ("###", "  #", "  #", "  #", "  #"),
    "8": ("###", "# #", "###", "# #", "###"),
    "9": ("###", "# #", "###", "  #", "###"),
    ":": (" ", "#", " ", "#", " "),
    "-": ("   ", "   ", "###", "   ", "   "),
    " ": ("   ",) * 5,
}
GLYPH_ROWS = 5


def pixel_rows(value: str) -> list[str]:
    """The text as 5 rows of pixels, one pixel column of space between characters."""
    glyphs = [_GLYPHS.get(ch, _GLYPHS[" "]) for ch in value]
    return [" ".join(glyph[row] for glyph in glyphs) for row in range(GLYPH_ROWS)]


def pixel_width(value: str) -> int:
    return len(pixel_rows(value)[0]) if value else 0


def fit_scale(value: str, width: int, height: int) -> int:
    """The largest scale whose drawing fits ``width`` × ``height`` cells (0: not even scale 1 fits)."""
    columns = pixel_width(value)
    if not columns:
        return 0
    return max(0, min(width // (2 * columns), height // GLYPH_ROWS))


@lru_cache(maxsize=64)
def draw(value: str, scale: int) -> tuple[str, ...]:
    """The text drawn at ``scale``: "#" where a pixel is on, one pixel = ``2 × scale`` cells × ``scale`` rows."""
    return tuple("".join(ch * 2 * scale for ch in row) for row in pixel_rows(value) for _ in range(scale))


class BigClock(Widget):
    """The drawing is centred in the widget and drawn line by line (Line API: nothing is re-wrapped)."""

    DEFAULT_CSS = """
    BigClock { height: 1fr; width: 1fr; }
    """

    def __init__(self, value: str = "", *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._value = value

    @property
    def value(self) -> str:
        return self._value

    def update(self, value: str) -> None:
        if value != self._value:
            self._value = value
            self.refresh()

    def render_line(self, y: int) -> Strip:
        width, height = self.content_size
        style = self.rich_style
        scale = fit_scale(self._value, width, height)
        if not scale:  # too small to draw: the plain text still says the time
            text = self._value if y == height // 2 else ""
            left = max(0, (width - len(text)) // 2)
            return Strip([Segment((" " * left + text)[:width].ljust(width), style)], width)
        lines = draw(self._value, scale)
        row = y - max(0, (height - len(lines)) // 2)
        if not 0 <= row < len(lines):
            return Strip.blank(width, style)
        line = lines[row]
        left = max(0, (width - len(line)) // 2)
        on = Style(bgcolor=style.color) if style.color else Style(reverse=True)
        segments = [Segment(" " * left, style)]
        for lit, run in groupby(line[: max(0, width - left)]):
            segments.append(Segment(" " * len(list(run)), style + on if lit == "#" else style))
        rest = width - left - len(line)
        if rest > 0:
            segments.append(Segment(" " * rest, style))
        return Strip(segments, width)
