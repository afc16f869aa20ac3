"""Badge rendering: an attendee's name, company, ticket ribbon and check-in QR code as the 1-bit raster a
label printer takes.

The design is laid out upright on the label (width × length, swapped when the label runs sideways through
the printer), rasterised at the printer's own resolution — directly at the final dot size, never scaled
afterwards — then turned to meet the head with a lossless transpose. (A printer whose feed is finer than its
head, the DYMO's 400 × 200 dpi, is drawn at the finer resolution and its grey canvas averaged 2:1 across the
head before the threshold; QR modules are aligned so they stay exact.) Text is drawn anti-aliased on a grey
canvas and thresholded at 50 % (never dithered: dithering frays small text and ruins QR codes, PRINTERS.md
§9); QR modules are painted as exact blocks of whole dots with a 4-module quiet zone.

Two layouts:
- a *badge* (labels at least ``BadgeTemplate.one_line_below_mm`` tall): name (shrunk to fit, wrapped to two
  or three lines, then ellipsized — never clipped), company line, ribbon band (white on black), optional logo; the QR
  code to the right of the text on landscape labels, below it on portrait ones;
- a *name tape* (narrower labels, e.g. DYMO LetraTag's 30 dots): one line, the ribbon as a black tag at its
  start, then "name · company" — just the name when both would not fit the longest tape at near full
  height. The logo is left out: it would not be recognisable 4 mm high.
"""

from __future__ import annotations

import functools
import itertools
import os
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from PIL import Image, ImageDraw, ImageFont

from printers.errors import LayoutError, RenderError
from printers.fonts import FontFace, find_font, has_cjk
from printers.models import MM_PER_INCH, Media, ModelSpec, mm_to_dots
from printers.qr import QUIET_ZONE_MODULES, Matrix, draw_qr, qr_matrix
from printers.raster import Bitmap

Rect = tuple[int, int, int, int]  # x, y, width, height
ELLIPSIS = "…"
_TRIM = " -‐,·"  # left off before an ellipsis: "Ångström…", not "Ångström-…"
TEST_QR_TEXT = "FOCUSDESK TEST"


@dataclass(frozen=True)
class BadgeContent:
    """What goes on one badge. ``qr`` is the attendee's check-in secret (not a database id); ``logo`` a PIL
    image or an image file, thresholded like the text."""

    name: str
    second_line: str | None = None  # company / organisation
    ribbon: str | None = None  # ticket type or role: "Speaker", "Staff", "VIP"
    qr: str | None = None
    logo: Image.Image | str | os.PathLike[str] | None = None


@dataclass(frozen=True, slots=True)
class BadgeTemplate:
    """Badge proportions in millimetres (converted with the printer's dpi, so one template serves 96-dot
    tapes and 62 mm Brother labels). Sizes are caps: every element shrinks to what the label allows."""

    margin_mm: float = 2.0  # from the label's edge (the unprinted edge of narrow-head labels counts)…
    min_inset_mm: float = 0.5  # …but ink keeps this much from the edge of the printable area
    gap_mm: float = 1.0
    name_max_mm: float = 12.0  # em size of the name
    name_min_mm: float = 2.5  # below this the name wraps (two lines, then three), then ends in "…"
    second_line_mm: float = 4.5  # height of the company line
    second_line_min_mm: float = 2.0
    second_line_max_ratio: float = 0.8  # the company line stays smaller than the name
    wrap_gain: float = 1.2  # wrap a name that fits on one line when two lines make it this much bigger
    name_max_lines: int = 3  # a name too long for one line at name_min_mm wraps to up to this many
    ribbon_mm: float = 7.0  # height of the black ribbon band
    ribbon_max_share: float = 0.2  # …at most this share of the text column
    ribbon_text_share: float = 0.62  # ribbon text em size, as a share of the band's height
    logo_mm: float = 8.0
    qr_placement: Literal["auto", "right", "below"] = "auto"  # auto: right on landscape, below on portrait
    qr_max_mm: float = 26.0  # largest QR symbol edge: bigger scans no better at a desk
    qr_max_share: float = 0.42  # QR + quiet zones: at most this share of the label's width (right) / height (below)
    min_text_mm: float = 10.0  # narrowest text column worth printing next to a QR code
    one_line_below_mm: float = 7.0  # labels less tall than this get the one-line name-tape layout
    continuous_length_mm: tuple[float, float] = (40.0, 60.0)  # badge length range on continuous rolls
    tape_length_mm: tuple[float, float] = (30.0, 80.0)  # name-tape length range


DEFAULT_TEMPLATE = BadgeTemplate()


@dataclass(frozen=True)
class RenderedBadge:
    """A rendered badge and how it was laid out (for previews, logs and tests)."""

    bitmap: Bitmap
    gray: Image.Image = field(repr=False)  # the upright design before thresholding, at final dot size
    font: FontFace
    name_lines: tuple[str, ...]
    name_size: int  # name em size, in dots along the design's vertical axis
    qr_rect: Rect | None  # QR symbol (no quiet zone) in bitmap coordinates
    qr_module: tuple[int, int] | None  # dots per module (across the head, along the feed)
    layout: str  # "badge" or "tape"


# --- geometry -------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Geometry:
    """The upright design canvas. Work happens on an isotropic canvas at the finer of the two resolutions
    (DYMO stretches 2x along the feed) and is reduced by (fx, fy) at the end — a no-op everywhere else."""

    width: int  # work px
    height: int
    ppm: float  # work px per mm
    fx: int
    fy: int
    extra: tuple[int, int, int, int]  # white label beyond the canvas (left, top, right, bottom), work px
    rotate: int

    def mm(self, mm: float) -> int:
        return round(mm * self.ppm)


def _resolutions(model: ModelSpec, media: Media) -> tuple[int, int]:
    """(dpi across the upright design's x axis, dpi along its y axis)."""
    if media.rotate == 0:
        return model.dpi, model.along_dpi
    if media.rotate == 90:
        return model.along_dpi, model.dpi
    raise RenderError(f"Label {media.id} asks for a {media.rotate}° turn; only 0 and 90 are supported.")


def _geometry(model: ModelSpec, media: Media, along_dots: int) -> _Geometry:
    across = model.printable_across(media)
    dpi_x, dpi_y = _resolutions(model, media)
    hi = max(dpi_x, dpi_y)
    if hi % dpi_x or hi % dpi_y:
        raise RenderError(f"{model.name}: resolutions {dpi_x}×{dpi_y} dpi are not whole multiples of each other.")
    fx, fy = hi // dpi_x, hi // dpi_y
    # The head prints the middle of a label wider than its printable area: the edge beyond is white label.
    edge = max(0, int((media.width_mm * model.dpi / MM_PER_INCH - across) / 2))
    if media.rotate == 0:
        w, h, extra = across, along_dots, (edge * fx, 0, edge * fx, 0)
    else:
        w, h, extra = along_dots, across, (0, edge * fy, 0, edge * fy)
    return _Geometry(w * fx, h * fy, hi / MM_PER_INCH, fx, fy, extra, media.rotate)


def _die_cut_along(model: ModelSpec, media: Media) -> int | None:
    if media.dots_along is not None:
        return media.dots_along
    if media.length_mm is not None:
        return mm_to_dots(media.length_mm, model.along_dpi)
    return None


# --- text -----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Text:
    face: FontFace
    size: int

    @property
    def font(self) -> ImageFont.FreeTypeFont:
        return self.face.at(self.size)

    @property
    def stroke(self) -> int:
        return self.face.stroke_for(self.size)

    def bbox(self, text: str) -> tuple[int, int, int, int]:
        """Ink box relative to the left end of the baseline, widened vertically to a reference "Hg" so lines
        of one size share a height whatever letters they hold (a name without descenders is not bigger)."""
        left, top, right, bottom = _ink_box(self.face, self.size, text)
        _, rtop, _, rbottom = _ink_box(self.face, self.size, "Hg")
        return left, min(top, rtop), right, max(bottom, rbottom)

    def width(self, text: str) -> int:
        left, _, right, _ = self.bbox(text)
        return right - left

    def line_pitch(self) -> int:
        return round(self.size * 1.08) + self.stroke

    def draw(self, draw: ImageDraw.ImageDraw, box: Rect, lines: tuple[str, ...], fill: int) -> None:
        """Lines centred in ``box`` (both ways), ink box by ink box."""
        x, y, w, h = box
        block_top, block_h = self._block(lines)
        baseline = y + (h - block_h) // 2 - block_top
        for line in lines:
            left, _, right, _ = self.bbox(line)
            lx = x + (w - (right - left)) // 2 - left
            draw.text((lx, baseline), line, font=self.font, fill=fill, anchor="ls",
                      stroke_width=self.stroke, stroke_fill=fill)  # fmt: skip
            baseline += self.line_pitch()

    def _block(self, lines: tuple[str, ...]) -> tuple[int, int]:
        """(top of the block's ink relative to the first baseline, height of the whole block)."""
        pitch = self.line_pitch()
        boxes = [self.bbox(line) for line in lines]
        top = min(b[1] + i * pitch for i, b in enumerate(boxes))
        bottom = max(b[3] + i * pitch for i, b in enumerate(boxes))
        return top, bottom - top

    def block_size(self, lines: tuple[str, ...]) -> tuple[int, int]:
        return max(self.width(line) for line in lines), self._block(lines)[1]


@functools.lru_cache(maxsize=8192)
def _ink_box(face: FontFace, size: int, text: str) -> tuple[int, int, int, int]:
    """Cached: fitting measures the same lines at the same sizes many times, and shaping Hangul is slow."""
    font = face.at(size)
    left, top, right, bottom = font.getbbox(text, anchor="ls", stroke_width=face.stroke_for(size))
    return int(left), int(top), int(right), int(bottom)


def _largest_fit(face: FontFace, lines: tuple[str, ...], w: int, h: int, lo: int, hi: int) -> int | None:
    """Largest size in [lo, hi] at which ``lines`` fit a w × h box; None when even ``lo`` does not.
    Starts from a linear estimate (text scales with size) and walks a few px, so fonts are built sparingly."""
    if hi < lo:
        return None

    def fits(size: int) -> bool:
        bw, bh = _Text(face, size).block_size(lines)
        return bw <= w and bh <= h

    bw, bh = _Text(face, hi).block_size(lines)
    if bw <= w and bh <= h:
        return hi
    size = max(lo, min(hi - 1, int(hi * min(w / max(bw, 1), h / max(bh, 1)))))
    if not fits(size):
        while size > lo and not fits(size):
            size -= 1
        return size if fits(size) else None
    while size + 1 <= hi and fits(size + 1):
        size += 1
    return size


def _ellipsize(text: _Text, line: str, w: int) -> str:
    """The longest start of ``line`` that fits ``w`` with an ellipsis after it."""
    mark = ELLIPSIS if text.face.covers(ELLIPSIS) else "..."
    if text.width(line) <= w:
        return line
    lo, hi = 0, len(line)  # invariant: line[:lo] + mark fits (or lo == 0)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if text.width(line[:mid].rstrip(_TRIM) + mark) <= w:
            lo = mid
        else:
            hi = mid - 1
    return line[:lo].rstrip(_TRIM) + mark


def _word_pieces(name: str) -> list[tuple[str, str]]:
    """The name cut where a line may break: (piece, joiner to the next piece) — at spaces (the space is
    dropped at a break) and after hyphens (kept at the end of the line)."""
    pieces: list[tuple[str, str]] = []
    start = 0
    for i, ch in enumerate(name):
        if ch == " ":
            pieces.append((name[start:i], " "))
            start = i + 1
        elif ch in "-‐" and 0 < i < len(name) - 1 and name[i + 1] != " ":
            pieces.append((name[start : i + 1], ""))
            start = i + 1
    pieces.append((name[start:], ""))
    return [(p, j) for p, j in pieces if p]


def _line_breaks(name: str, lines: int, anywhere_cjk: bool) -> list[tuple[str, ...]]:
    """Every way to set ``name`` on ``lines`` lines, breaking at spaces and after hyphens; CJK text without
    spaces (which does not separate words) may also break between any two characters when
    ``anywhere_cjk``."""
    pieces = _word_pieces(name)
    if len(pieces) == 1 and anywhere_cjk and any(unicodedata.east_asian_width(c) == "W" for c in name):
        pieces = [(c, "") for c in name]
    pieces = pieces[:12]  # bounds the combinations; a name with more words than this is ellipsized anyway
    layouts = []
    for cuts in itertools.combinations(range(1, len(pieces)), lines - 1):
        bounds = (0, *cuts, len(pieces))
        layouts.append(tuple("".join(p + j for p, j in pieces[a:b]).rstrip() for a, b in itertools.pairwise(bounds)))
    return layouts


def _fit_single(face: FontFace, line: str, w: int, h: int, lo: int, hi: int) -> tuple[tuple[str, ...], int]:
    """One line: the largest size that fits, else ``lo`` (or what the height allows) with an ellipsis."""
    size = _largest_fit(face, (line,), w, h, lo, hi)
    if size is not None:
        return (line,), size
    size = _largest_fit(face, ("Hg",), 10**9, h, 1, lo) or 1
    text = _Text(face, size)
    return (_ellipsize(text, line, w),), size


def _fit_name(
    face: FontFace, name: str, w: int, h: int, lo: int, hi: int, wrap_gain: float = 1.2, max_lines: int = 3
) -> tuple[tuple[str, ...], int]:
    """Shrink to fit; below ``lo``, wrap to two balanced lines, then (compound names such as
    "Maximiliana / Østergaard- / Lindqvist") three; still too long at ``lo``, ellipsize. Never clipped.
    A name that fits one line still wraps to two when that makes it ``wrap_gain`` times bigger: "Zoë
    Ångström-" / "Müller" reads better than one small line."""
    single = _largest_fit(face, (name,), w, h, lo, hi)
    if single == hi:
        return (name,), hi
    probe = _Text(face, lo)

    def cost(layout: tuple[str, ...]) -> float:
        widest = max(probe.width(line) for line in layout)
        # "박서연 / Park Seo-yeon": breaking where the script changes reads better than a balanced break.
        script_break = all(has_cjk(a[-1]) != has_cjk(b[0]) for a, b in itertools.pairwise(layout))
        return widest * (0.75 if script_break else 1.0)

    best: tuple[str, ...] | None = None
    for count in range(2, max_lines + 1):
        if single is not None and count > 2:
            break  # more lines only when one line cannot be printed at all
        # Wrapping just for size breaks at words only: "김 / 민준" would split a name that fits one line.
        layouts = _line_breaks(name, count, anywhere_cjk=single is None)
        if not layouts:
            break
        layout = min(layouts, key=cost)
        best = best or layout
        size = _largest_fit(face, layout, w, h, lo, hi)
        if size is not None and (single is None or size >= wrap_gain * single):
            return layout, size
    if single is not None:
        return (name,), single
    if best is not None and probe.block_size(best)[1] <= h:
        return tuple(_ellipsize(probe, line, w) for line in best), lo
    return _fit_single(face, name, w, h, lo, hi)


# --- QR placement ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _QrPlan:
    matrix: Matrix
    k: int  # dots per module on the coarse axis of the head
    module: int  # work px per module
    quiet: int  # work px
    x: int
    y: int

    @property
    def side(self) -> int:
        return len(self.matrix) * self.module


# --- composition ----------------------------------------------------------------------------------------


def _clean(text: str | None) -> str:
    return " ".join(unicodedata.normalize("NFC", text or "").split())


def _load_logo(logo: Image.Image | str | os.PathLike[str]) -> Image.Image:
    try:
        image = logo if isinstance(logo, Image.Image) else Image.open(Path(logo))
        image.load()
    except (OSError, ValueError) as exc:
        raise RenderError(f"The badge logo could not be read ({exc}).", "Use a PNG or JPEG file.") from exc
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        white.alpha_composite(rgba)
        image = white
    return image.convert("L")


def _paste_logo(canvas: Image.Image, logo: Image.Image, box: Rect) -> None:
    x, y, w, h = box
    scale = min(w / logo.width, h / logo.height)
    size = (max(1, int(logo.width * scale)), max(1, int(logo.height * scale)))
    # A logo is a picture, so scaling it (before the threshold) is fine — unlike a QR code.
    fitted = logo.resize(size, Image.Resampling.LANCZOS)
    canvas.paste(fitted, (x + (w - size[0]) // 2, y + (h - size[1]) // 2))


def _threshold(gray: Image.Image) -> Image.Image:
    return gray.point(lambda v: 255 if v >= 128 else 0).convert("1", dither=Image.Dither.NONE)


class _Composer:
    def __init__(self, content: BadgeContent, model: ModelSpec, media: Media, template: BadgeTemplate,
                 face: FontFace, frame: bool) -> None:  # fmt: skip
        self.content = content
        self.model = model
        self.media = media
        self.t = template
        self.face = face
        self.frame = frame  # a test print: a one-dot frame on the printable edge, margins measured from it
        self.name = _clean(content.name)
        self.second = _clean(content.second_line)
        self.ribbon = _clean(content.ribbon)
        self.qr_data = content.qr if (content.qr and model.qr) else None
        across_mm = model.printable_across(media) * MM_PER_INCH / model.dpi
        height_mm = across_mm if media.rotate == 90 else (media.length_mm or _landscape_length_mm(template, across_mm))
        self.tape = height_mm < template.one_line_below_mm
        along = _die_cut_along(model, media)
        # Continuous media: measure on the longest allowed canvas, then cut it to what the content needs.
        self.g = _geometry(model, media, along or mm_to_dots(template.tape_length_mm[1], model.along_dpi))
        if along is None:
            self.g = _geometry(model, media, self._continuous_length(across_mm))
        self.qr: _QrPlan | None = None
        self.name_lines: tuple[str, ...] = (self.name,)
        self.name_size = 0

    def _edges(self) -> tuple[int, int, tuple[int, int, int, int], int]:
        """(margin from the label's edge, least inset from the printable edge, white label beyond each
        canvas side, frame allowance), in work px. A test print's frame marks the printable edge, so there
        margins are measured from the frame instead of the label's edge."""
        g = self.g
        margin, floor = g.mm(self.t.margin_mm), g.mm(self.t.min_inset_mm)
        if self.frame:
            return floor, floor, (0, 0, 0, 0), 2 * max(g.fx, g.fy)
        return margin, floor, g.extra, 0

    def _margins(self) -> tuple[int, int, int, int]:
        """Text insets per canvas side (left, top, right, bottom): the margin less the white label edge
        beyond the canvas, but never closer than ``min_inset_mm`` to the printable edge."""
        margin, floor, (el, et, er, eb), frame = self._edges()
        left, right = max(margin - el, floor) + frame, max(margin - er, floor) + frame
        if self.tape:  # a 4 mm tape has no room for margins across it: one dot keeps ink off its edges
            return left, self.g.fy + frame, right, self.g.fy + frame
        return left, max(margin - et, floor) + frame, right, max(margin - eb, floor) + frame

    def _continuous_length(self, across_mm: float) -> int:
        """Along-feed dots for continuous media: a name tape as long as its line (within tape_length_mm), a
        badge in landscape proportions (within continuous_length_mm), longer if its QR code needs it."""
        model, media, t = self.model, self.media, self.t
        if self.tape:
            lo_mm, hi_mm = t.tape_length_mm
            needed_mm = self._tape_natural_width() / self.g.ppm
            return mm_to_dots(min(hi_mm, max(lo_mm, needed_mm)), model.along_dpi)
        length_mm = _landscape_length_mm(t, across_mm, media.rotate)
        if self.qr_data and media.rotate == 0:
            n = len(qr_matrix(self.qr_data))
            module_mm = model.min_qr_module_dots * MM_PER_INCH / model.dpi
            length_mm = max(length_mm, (n + 2 * QUIET_ZONE_MODULES) * module_mm + 0.5)
        return mm_to_dots(length_mm, model.along_dpi)

    # --- QR ---
    def _qr_too_big(self, n: int, need_mm: float, have_mm: float, placement: str) -> LayoutError:
        """The error for a code that cannot fit at the minimum module size, naming the label sizes of this
        printer it would fit on (if any)."""
        model, media, k = self.model, self.media, self.model.min_qr_module_dots

        def room_mm(m: Media) -> float:  # the label's extent in the direction the code is short of
            across = (placement == "right") == (m.rotate == 90)
            return m.width_mm if across else (m.length_mm or float("inf"))

        bigger = [
            m.id for m in model.media if m != media and room_mm(m) >= need_mm and model.printable_across(m) >= n * k
        ]
        if bigger:
            hint = f"Use bigger labels ({', '.join(bigger)} fit it), or shorter QR contents."
        else:
            hint = (
                f"No label size of the {model.name} is big enough: use shorter QR contents, or bigger labels on "
                "a printer with a wider print head."
            )
        return LayoutError(
            f"The QR code for this badge ({n}×{n} modules) needs {need_mm:.1f} mm with its quiet zone at "
            f"{k} dots per module, but the {media.id} label on the {model.name} has {have_mm:.1f} mm.",
            hint,
        )

    def _plan_qr(self, placement: str, reserve_bottom: int) -> _QrPlan | None:
        if not self.qr_data:
            return None
        g, t, model = self.g, self.t, self.model
        matrix = qr_matrix(self.qr_data)
        n = len(matrix)
        unit = max(g.fx, g.fy)  # work px per dot on the coarser axis: modules stay square on paper
        margin, floor, (el, et, er, eb), frame = self._edges()

        def dists(k: int) -> tuple[int, int, int, int, int, int]:
            """(module, quiet zone, then the symbol's distance from each canvas side), in work px."""
            module = k * unit
            quiet = QUIET_ZONE_MODULES * module

            # The symbol keeps max(quiet zone, margin) from the label's edge, and stays on the canvas.
            def side(e: int) -> int:
                return max(floor, max(quiet, margin) - e) + frame

            return module, quiet, side(el), side(et), side(er), side(eb)

        def symbol_fits(k: int) -> bool:
            """The symbol and its quiet zone fit the label across its constrained direction."""
            module, _quiet, dl, dt, dr, db = dists(k)
            if placement == "right":
                return n * module + dt + db <= g.height
            return n * module + dl + dr <= g.width

        def leaves_room(k: int) -> bool:
            """…and leave room for the name beside (or above) it."""
            module, quiet, _dl, _dt, dr, db = dists(k)
            if placement == "right":
                return n * module + dr + quiet + g.mm(t.min_text_mm) + self._margins()[0] <= g.width
            bottom = reserve_bottom + quiet if reserve_bottom else db
            return n * module + quiet + bottom + 2 * g.mm(t.name_min_mm) <= g.height

        def preferred(k: int) -> bool:
            module, quiet, _dl, _dt, dr, _db = dists(k)
            side = n * module
            if side > g.mm(t.qr_max_mm):
                return False
            if placement == "right":
                return side + quiet + dr <= t.qr_max_share * g.width
            return side + 2 * quiet <= t.qr_max_share * g.height

        k = model.min_qr_module_dots
        if not symbol_fits(k):
            module, _quiet, dl, dt, dr, db = dists(k)
            if placement == "right":
                need, have = n * module + dt + db + et + eb, g.height + et + eb
            else:
                need, have = n * module + dl + dr + el + er, g.width + el + er
            raise self._qr_too_big(n, need / g.ppm, have / g.ppm, placement)
        if not leaves_room(k):
            raise LayoutError(
                f"The QR code for this badge ({n}×{n} modules) leaves no room for the name on the "
                f"{self.media.id} label of the {model.name}.",
                "Use bigger labels, or shorter QR contents.",
            )
        while symbol_fits(k + 1) and leaves_room(k + 1) and preferred(k + 1):
            k += 1
        module, quiet, dl, dt, dr, db = dists(k)
        side = n * module
        if placement == "right":
            x = g.width - dr - side
            y = min(max((g.height - side) // 2, dt), g.height - db - side)
        else:
            bottom = g.height - (reserve_bottom + quiet if reserve_bottom else db)
            y = bottom - side
            x = min(max((g.width - side) // 2, dl), g.width - dr - side)
        # Whole final dots only (a no-op unless the two axes differ): every module stays k exact dots.
        x, y = x - x % g.fx, y - y % g.fy
        return _QrPlan(matrix, k, module, quiet, x, y)

    # --- layouts ---
    def compose(self) -> tuple[Image.Image, str]:
        g = self.g
        canvas = Image.new("L", (g.width, g.height), 255)
        draw = ImageDraw.Draw(canvas)
        if self.tape:
            self._compose_tape(draw)
        else:
            self._compose_badge(canvas, draw)
        if self.qr is not None:
            draw_qr(canvas, self.qr.matrix, self.qr.x, self.qr.y, self.qr.module)
        if self.frame:
            w, h = g.width, g.height
            for box in ((0, 0, w, g.fy), (0, h - g.fy, w, g.fy), (0, 0, g.fx, h), (w - g.fx, 0, g.fx, h)):
                draw.rectangle((box[0], box[1], box[0] + box[2] - 1, box[1] + box[3] - 1), fill=0)
        return canvas, "tape" if self.tape else "badge"

    def _compose_badge(self, canvas: Image.Image, draw: ImageDraw.ImageDraw) -> None:
        g, t = self.g, self.t
        ml, mt, mr, mb = self._margins()
        gap = g.mm(t.gap_mm)
        placement = t.qr_placement
        if placement == "auto":
            placement = "below" if g.height > 1.15 * g.width else "right"
        inner_w, inner_h = g.width - ml - mr, g.height - mt - mb
        ribbon_h = min(g.mm(t.ribbon_mm), int(t.ribbon_max_share * inner_h)) if self.ribbon else 0
        col = (ml, mt, inner_w, inner_h)
        ribbon_box: Rect | None = None
        if placement == "below":
            if self.ribbon:
                ribbon_box = (ml, g.height - mb - ribbon_h, inner_w, ribbon_h)
            self.qr = self._plan_qr("below", mb + ribbon_h if self.ribbon else 0)
            if self.qr is not None:
                col = (ml, mt, inner_w, self.qr.y - self.qr.quiet - mt)
            elif ribbon_box is not None:
                col = (ml, mt, inner_w, ribbon_box[1] - gap - mt)
        else:
            self.qr = self._plan_qr("right", 0)
            if self.qr is not None:
                col = (ml, mt, self.qr.x - self.qr.quiet - ml, inner_h)
            if self.ribbon:
                ribbon_h = min(g.mm(t.ribbon_mm), int(t.ribbon_max_share * col[3]))
                ribbon_box = (col[0], col[1] + col[3] - ribbon_h, col[2], ribbon_h)
                col = (col[0], col[1], col[2], col[3] - ribbon_h - gap)
        if ribbon_box is not None:
            self._draw_ribbon(draw, ribbon_box)
        x, y, w, h = col
        if self.content.logo is not None:
            logo_h = min(g.mm(t.logo_mm), int(0.3 * h))
            _paste_logo(canvas, _load_logo(self.content.logo), (x, y, w, logo_h))
            y, h = y + logo_h + gap, h - logo_h - gap
        second: tuple[tuple[str, ...], int] | None = None
        second_box = min(g.mm(t.second_line_mm), int(0.25 * h)) if self.second else 0
        name_h = h - (second_box + gap if self.second else 0)
        self.name_lines, self.name_size = _fit_name(
            self.face, self.name, w, name_h, g.mm(t.name_min_mm), g.mm(t.name_max_mm), t.wrap_gain, t.name_max_lines
        )
        second_h = 0
        if self.second:
            lo = g.mm(t.second_line_min_mm)
            hi = max(lo, min(second_box, int(t.second_line_max_ratio * self.name_size)))
            second = _fit_single(self.face, self.second, w, second_box, lo, hi)
            second_h = _Text(self.face, second[1]).block_size(second[0])[1]
        name_text = _Text(self.face, self.name_size)
        block_h = name_text.block_size(self.name_lines)[1]
        group_h = block_h + (gap + second_h if second else 0)
        top = y + (h - group_h) // 2
        name_text.draw(draw, (x, top, w, block_h), self.name_lines, 0)
        if second is not None:
            _Text(self.face, second[1]).draw(draw, (x, top + block_h + gap, w, second_h), second[0], 0)

    def _draw_ribbon(self, draw: ImageDraw.ImageDraw, box: Rect) -> None:
        x, y, w, h = box
        draw.rectangle((x, y, x + w - 1, y + h - 1), fill=0)
        pad = max(1, h // 8)
        hi = max(1, round(self.t.ribbon_text_share * h))
        lines, size = _fit_single(self.face, self.ribbon, w - 2 * pad, h - 2 * pad, max(1, h // 3), hi)
        _Text(self.face, size).draw(draw, (x + pad, y + pad, w - 2 * pad, h - 2 * pad), lines, 255)

    def _tape_line(self) -> str:
        if not self.second:
            return self.name
        dot = " · " if self.face.covers("·") else " - "
        return f"{self.name}{dot}{self.second}"

    def _tape_metrics(self) -> tuple[int, int, int]:
        """(text height, text size filling it, ribbon tag width with the gap after it), in work px."""
        _ml, top, _mr, bottom = self._margins()
        h = self.g.height - top - bottom
        tag_w = 0
        if self.ribbon:
            tag_w = self._tag_text(h).width(self.ribbon) + 2 * self._tag_pad(h) + self.g.mm(self.t.gap_mm)
        return h, _size_for_height(self.face, h), tag_w

    def _tag_pad(self, h: int) -> int:
        return max(self.g.fx, h // 4)

    def _tag_text(self, h: int) -> _Text:
        return _Text(self.face, _size_for_height(self.face, h - 2 * self.g.fy))

    def _tape_natural_width(self) -> int:
        """The tape length the line needs at full height (measured on the longest tape's canvas), choosing
        between "name · company" and the name alone as ``_compose_tape`` will."""
        left, _top, right, _bottom = self._margins()
        h, size, tag_w = self._tape_metrics()
        qr_w = 0
        if self.qr_data:
            module = self.model.min_qr_module_dots * max(self.g.fx, self.g.fy)
            qr_w = (len(qr_matrix(self.qr_data)) + QUIET_ZONE_MODULES) * module
        fixed = left + tag_w + qr_w + right
        line = self._tape_line()
        if _Text(self.face, max(1, int(size * 0.85))).width(line) > self.g.width - fixed:
            line = self.name
        # Accents above capitals (Å) can make a line shorter than the reference height allows.
        size = _largest_fit(self.face, (line,), 10**9, h, 1, size) or size
        return fixed + _Text(self.face, size).width(line)

    def _compose_tape(self, draw: ImageDraw.ImageDraw) -> None:
        g = self.g
        left, top, right_margin, _bottom = self._margins()
        h, size, tag_w = self._tape_metrics()
        x, right = left, g.width - right_margin
        self.qr = self._plan_qr("right", 0)
        if self.qr is not None:
            right = self.qr.x - self.qr.quiet
        if self.ribbon:
            pad, tag = self._tag_pad(h), self._tag_text(h)
            tag_w = min(tag_w - g.mm(self.t.gap_mm), (right - x) // 3)
            draw.rectangle((x, top, x + tag_w - 1, top + h - 1), fill=0)
            box = (x + pad, top + g.fy, tag_w - 2 * pad, h - 2 * g.fy)
            lines, tag_size = _fit_single(self.face, self.ribbon, box[2], box[3], 1, tag.size)
            _Text(self.face, tag_size).draw(draw, box, lines, 255)
            x += tag_w + g.mm(self.t.gap_mm)
        line = self._tape_line()
        # The company rides along only while the line stays near full height: on a 4 mm tape the name
        # matters more, so a long "name · company" prints the name alone rather than both small.
        fitted = _fit_single(self.face, line, right - x, h, max(1, int(size * 0.85)), size)
        if fitted[0] != (line,):
            fitted = _fit_single(self.face, self.name, right - x, h, max(1, int(size * 0.6)), size)
        self.name_lines, self.name_size = fitted
        _Text(self.face, self.name_size).draw(draw, (x, top, right - x, h), self.name_lines, 0)


def _size_for_height(face: FontFace, h: int) -> int:
    """The largest size whose line (reference "Hg") fits ``h`` px."""
    return _largest_fit(face, ("Hg",), 10**9, h, 1, 4 * h) or 1


def _landscape_length_mm(template: BadgeTemplate, across_mm: float, rotate: int = 0) -> float:
    """Badge length on a continuous roll: landscape proportions (the roll's width is the badge's width, or
    its height when the design runs along the roll) within the template's range."""
    lo, hi = template.continuous_length_mm
    return min(hi, max(lo, (0.62 if rotate == 0 else 1.7) * across_mm))


def _to_bitmap_rect(rect: Rect, g: _Geometry) -> Rect:
    x, y, w, h = rect[0] // g.fx, rect[1] // g.fy, rect[2] // g.fx, rect[3] // g.fy
    if g.rotate == 90:
        design_h = g.height // g.fy
        return design_h - y - h, x, h, w
    return x, y, w, h


def compose_badge(
    content: BadgeContent,
    model: ModelSpec,
    media: Media | None = None,
    template: BadgeTemplate | None = None,
    font: str | os.PathLike[str] | FontFace | None = None,
    *,
    font_fallback: bool = True,
    frame: bool = False,
) -> RenderedBadge:
    """``render_badge`` with its layout decisions (font, name size and lines, QR position) kept."""
    media = media or model.default_media()
    template = template or DEFAULT_TEMPLATE
    if not _clean(content.name):
        raise LayoutError("A badge needs a name.", "Fill in the attendee's name before printing.")
    text = " ".join(_clean(s) for s in (content.name, content.second_line, content.ribbon))
    face = find_font(text, font, fallback=font_fallback)
    composer = _Composer(content, model, media, template, face, frame)
    work, layout = composer.compose()
    g = composer.g
    gray = work.reduce((g.fx, g.fy)) if (g.fx, g.fy) != (1, 1) else work
    printed = _threshold(gray)
    if g.rotate == 90:
        printed = printed.transpose(Image.Transpose.ROTATE_270)  # 90° clockwise, lossless
    bitmap = Bitmap.from_image(printed)
    qr_rect = qr_module = None
    if composer.qr is not None:
        plan = composer.qr
        qr_rect = _to_bitmap_rect((plan.x, plan.y, plan.side, plan.side), g)
        mx, my = plan.module // g.fx, plan.module // g.fy  # dots per module along the design's x and y
        qr_module = (my, mx) if g.rotate == 90 else (mx, my)
    # Name size in final dots along the design's vertical axis.
    name_size = composer.name_size // g.fy
    return RenderedBadge(bitmap, gray, face, composer.name_lines, name_size, qr_rect, qr_module, layout)


def render_badge(
    content: BadgeContent,
    model: ModelSpec,
    media: Media | None = None,
    template: BadgeTemplate | None = None,
    font: str | os.PathLike[str] | FontFace | None = None,
    *,
    font_fallback: bool = True,
) -> Bitmap:
    """The badge as the bitmap ``model`` prints on ``media`` (default: the model's first label size).

    The bitmap is exactly ``model.printable_across(media)`` dots wide; its rows follow the feed. Die-cut
    labels give it the label's length (``media.dots_along`` or the length at the feed resolution);
    continuous rolls get a length that fits the content. Models whose head cannot hold a scannable QR code
    (``model.qr`` False, e.g. the DYMO LetraTag's 30 dots) print the badge without one: ``content.qr`` is
    ignored there, so a desk with such a printer still prints name tapes.

    ``font``: a font file or ``FontFace`` tried first; ``font_fallback=False`` uses only it (or Pillow's
    built-in font). Raises ``FontNotFound`` when no font has the name's characters and ``LayoutError`` when
    the QR code cannot fit at ``model.min_qr_module_dots`` per module with its quiet zone.
    """
    return compose_badge(content, model, media, template, font, font_fallback=font_fallback).bitmap


def render_test_label(model: ModelSpec, media: Media | None = None) -> Bitmap:
    """A technician's test print: model name, resolution, label size, a one-dot frame around the printable
    area (shows whether the head covers the label) and a QR code reading "FOCUSDESK TEST" (shows that codes
    print scannably) — without the QR code on models that cannot print one."""
    media = media or model.default_media()
    across = model.printable_across(media)
    dpi = f"{model.dpi} dpi" if model.along_dpi == model.dpi else f"{model.dpi}×{model.along_dpi} dpi"
    content = BadgeContent(
        name=model.name, second_line=f"{dpi} · {across} dots", ribbon=f"TEST {media.id}", qr=TEST_QR_TEXT
    )
    return compose_badge(content, model, media, frame=True).bitmap


__all__ = [
    "DEFAULT_TEMPLATE",
    "TEST_QR_TEXT",
    "BadgeContent",
    "BadgeTemplate",
    "RenderedBadge",
    "compose_badge",
    "render_badge",
    "render_test_label",
]
