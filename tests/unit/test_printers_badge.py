"""Badge rendering: what comes out of the label printer at the desk.

Each badge is checked the way a person at the desk would find a fault: the QR code must scan (decoded by
zxing-cpp, an independent reader), every module must be a crisp block of whole dots (a dithered or resampled
code scans badly off a thermal head), the name must be there in full or visibly shortened, and the raster
must be exactly what the printer expects (width = printable dots, length = the label's).
"""

from __future__ import annotations

import statistics
import time

import pytest
import zxingcpp
from PIL import Image, ImageChops, ImageFont, ImageOps

from printers import fonts
from printers.badge import (
    DEFAULT_TEMPLATE,
    TEST_QR_TEXT,
    BadgeContent,
    RenderedBadge,
    compose_badge,
    render_badge,
    render_test_label,
)
from printers.errors import FontNotFound, LayoutError
from printers.models import MM_PER_INCH, MODELS, Media, ModelSpec, mm_to_dots
from printers.qr import QUIET_ZONE_MODULES, qr_image, qr_matrix
from printers.raster import Bitmap

SECRET = "Xq3v_9LmP0aZr7KtB2wYhA"  # 22 characters, like secrets.token_urlsafe(16)
NAMES = {
    "short": "Ana Li",
    "long": "Maximiliana Wolfeschlegelsteinhausenbergerdorff",
    "accented": "Zoë Ångström-Müller",
    "korean": "박서연 Park Seo-yeon",
}


def label_edge(model: ModelSpec, media: Media) -> int:
    """Dots of white label beyond each side of the printable area, across the head."""
    return max(0, int((media.width_mm * model.dpi / MM_PER_INCH - model.printable_across(media)) / 2))


def decode(bitmap: Bitmap, margin: int = 24) -> list[str]:
    """What a scanner reads off the printed label (white around it, as on the label and its backing)."""
    image = ImageOps.expand(bitmap.to_image().convert("L"), margin, 255)
    return [result.text for result in zxingcpp.read_barcodes(image)]


def expected_height(model: ModelSpec, media: Media) -> int | None:
    if media.dots_along is not None:
        return media.dots_along
    if media.length_mm is not None:
        return mm_to_dots(media.length_mm, model.along_dpi)
    return None


def assert_exact_qr(rendered: RenderedBadge, model: ModelSpec, media: Media, data: str) -> None:
    """The symbol in the bitmap is the QR matrix painted module by module (k×k solid blocks, nothing
    resampled or dithered), at ≥ the model's minimum module size, with a white 4-module quiet zone — part of
    which may be the label's unprinted edge across the head, never the feed direction."""
    assert rendered.qr_rect is not None and rendered.qr_module is not None
    x, y, w, h = rendered.qr_rect
    mx, my = rendered.qr_module
    assert min(mx, my) >= model.min_qr_module_dots
    expected = qr_image(qr_matrix(data), mx if media.rotate == 0 else my, my if media.rotate == 0 else mx)
    if media.rotate == 90:
        expected = expected.transpose(Image.Transpose.ROTATE_270)
    printed = rendered.bitmap.to_image().convert("L")
    assert expected.size == (w, h)
    assert ImageChops.difference(printed.crop((x, y, x + w, y + h)), expected).getbbox() is None, "QR modules differ"

    # Quiet zone: white inside the bitmap; what falls outside it must be label edge (across the head only).
    qx, qy = QUIET_ZONE_MODULES * mx, QUIET_ZONE_MODULES * my
    zone = (
        max(0, x - qx),
        max(0, y - qy),
        min(rendered.bitmap.width, x + w + qx),
        min(rendered.bitmap.height, y + h + qy),
    )
    around = printed.crop(zone)
    around.paste(255, (x - zone[0], y - zone[1], x - zone[0] + w, y - zone[1] + h))
    assert around.getextrema() == (255, 255), "ink inside the QR quiet zone"
    edge = label_edge(model, media)
    assert x - qx >= -edge and x + w + qx <= rendered.bitmap.width + edge, "quiet zone runs off the label"
    assert y - qy >= 0 and y + h + qy <= rendered.bitmap.height, "quiet zone runs past the label's end"


@pytest.mark.parametrize("kind", sorted(NAMES))
@pytest.mark.parametrize("model_id", sorted(MODELS))
def test_every_model_prints_a_scannable_badge_of_the_right_size(model_id, kind):
    model = MODELS[model_id]
    media = model.default_media()
    content = BadgeContent(NAMES[kind], "Acme Robotics GmbH", "Speaker", SECRET)

    rendered = compose_badge(content, model, media)

    bitmap = rendered.bitmap
    assert bitmap.width == model.printable_across(media)
    height = expected_height(model, media)
    if height is not None:
        assert bitmap.height == height
    else:
        lo, hi = DEFAULT_TEMPLATE.tape_length_mm if rendered.layout == "tape" else (40, 200)
        assert mm_to_dots(lo, model.along_dpi) <= bitmap.height <= mm_to_dots(hi, model.along_dpi)
    assert any(bitmap.black_count(y) for y in range(bitmap.height)), "blank label"
    if model.qr:
        assert_exact_qr(rendered, model, media, SECRET)
        assert decode(bitmap) == [SECRET]
    else:
        # A 30-dot tape cannot hold a scannable code: the badge prints without one, rather than a bad one.
        assert rendered.qr_rect is None
        assert decode(bitmap) == []


def test_text_is_thresholded_never_dithered():
    """Anti-aliased grey edges become black or white at 50 %, never a dither pattern of stray dots."""
    model = MODELS["niimbot-b1"]
    rendered = compose_badge(BadgeContent("Zoë Ångström-Müller", "Acme", "VIP", SECRET), model)
    greys = sum(rendered.gray.histogram()[1:255])
    assert greys > 0, "the design has anti-aliased edges, so a dither would show"
    thresholded = rendered.gray.point(lambda v: 255 if v >= 128 else 0).convert("1", dither=Image.Dither.NONE)
    assert Bitmap.from_image(thresholded).difference(rendered.bitmap) is None


def test_narrow_head_badge_is_turned_clockwise_and_still_scans():
    """D11/D110/D30: 96 dots across a 15 mm label, the design runs along the label."""
    model = MODELS["niimbot-d11"]
    media = model.default_media()
    rendered = compose_badge(BadgeContent("Ana Li", "Acme Robotics GmbH", "Staff", SECRET), model, media)
    assert (rendered.bitmap.width, rendered.bitmap.height) == (96, mm_to_dots(50, 203))
    # Upright design turned 90° clockwise: its right-hand side (the QR code) ends up last along the feed.
    upright = rendered.gray.point(lambda v: 255 if v >= 128 else 0).convert("1", dither=Image.Dither.NONE)
    assert Bitmap.from_image(upright.transpose(Image.Transpose.ROTATE_270)).difference(rendered.bitmap) is None
    assert rendered.qr_rect is not None and rendered.qr_rect[1] > rendered.bitmap.height // 2
    assert rendered.qr_module == (3, 3)
    assert decode(rendered.bitmap) == [SECRET]


def test_quiet_zone_borrows_the_unprinted_label_edge_on_96_dot_heads():
    """Without the white label beyond the 12 mm head, a 25-module code at 3 dots could not fit 96 dots."""
    model = MODELS["niimbot-d11"]
    media = model.find_media("15x50")
    rendered = compose_badge(BadgeContent("Ana Li", qr=SECRET), model, media)
    x, _y, w, _h = rendered.qr_rect or (0, 0, 0, 0)
    quiet = QUIET_ZONE_MODULES * 3
    assert x < quiet and rendered.bitmap.width - (x + w) < quiet, "the code uses the label edge as quiet zone"
    assert_exact_qr(rendered, model, media, SECRET)


def dark_box(bitmap: Bitmap) -> tuple[int, int, int, int] | None:
    return ImageChops.invert(bitmap.to_image().convert("L")).getbbox()


def test_long_name_shrinks_and_stays_inside_the_margins():
    model = MODELS["niimbot-b1"]
    short = compose_badge(BadgeContent(NAMES["short"]), model)
    long = compose_badge(BadgeContent(NAMES["long"]), model)
    assert long.name_size < short.name_size
    # Never clipped: every line is the name's text, or visibly shortened with an ellipsis at its end.
    shown = " ".join(line.rstrip("…") for line in long.name_lines)
    assert all(part in NAMES["long"] for part in shown.split())
    assert "…" in "".join(long.name_lines) or shown == NAMES["long"]
    margin = mm_to_dots(DEFAULT_TEMPLATE.margin_mm, model.dpi)
    for rendered in (short, long):
        box = dark_box(rendered.bitmap)
        assert box is not None
        left, top, right, bottom = box
        assert left >= margin and top >= margin
        assert right <= rendered.bitmap.width - margin and bottom <= rendered.bitmap.height - margin


def test_name_that_fits_on_two_lines_is_printed_in_full():
    """A double-barrelled name wraps at the hyphen rather than being cut or printed tiny."""
    model = MODELS["brother-ql820nwb"]
    rendered = compose_badge(BadgeContent(NAMES["accented"], "Acme", qr=SECRET), model)
    assert "".join(rendered.name_lines).replace(" ", "") == NAMES["accented"].replace(" ", "")
    assert rendered.name_size >= mm_to_dots(DEFAULT_TEMPLATE.name_min_mm, model.dpi)


def test_korean_name_is_drawn_with_the_korean_face():
    face = fonts.find_font("김민준")
    assert face.covers("김민준 Acme")
    if face.path and face.path.lower().endswith((".ttc", ".otc")):
        assert "KR" in face.name or "Korean" in face.name
    rendered = compose_badge(BadgeContent("김민준", qr=SECRET), MODELS["niimbot-b1"])
    assert rendered.name_lines == ("김민준",)
    assert decode(rendered.bitmap) == [SECRET]


def test_missing_glyphs_raise_font_not_found_naming_them():
    with pytest.raises(FontNotFound) as caught:
        render_badge(BadgeContent("김민준"), MODELS["niimbot-b1"], font=fonts.PILLOW_DEFAULT, font_fallback=False)
    message = str(caught.value)
    assert "김" in message and "U+AE40" in message
    assert "noto-cjk-sans-otc" in caught.value.hint and "fonts-noto-cjk" in caught.value.hint


def test_explicit_font_file_that_does_not_exist_is_reported(tmp_path):
    with pytest.raises(FontNotFound, match="does not exist"):
        render_badge(BadgeContent("Ana Li"), MODELS["niimbot-b1"], font=tmp_path / "missing.ttf")


def test_glyph_coverage_check():
    latin = fonts.PILLOW_DEFAULT
    assert latin.covers("Ana Li")
    assert latin.missing("Ana 김") == ["김"]
    assert latin.covers(" \t")  # whitespace has no ink in any font


def test_qr_that_cannot_fit_raises_layout_error_saying_what_to_do():
    model = MODELS["niimbot-d11"]
    with pytest.raises(LayoutError) as caught:
        render_badge(BadgeContent("Ana Li", qr="x" * 120), model, model.find_media("12x40"))
    assert "QR code" in caught.value.message
    assert "bigger labels" in caught.value.hint.lower()


def test_empty_name_is_refused():
    with pytest.raises(LayoutError):
        render_badge(BadgeContent("   "), MODELS["niimbot-b1"])


def test_name_tape_grows_with_the_text():
    """DYMO tapes are cut to the text: a short name wastes no tape, a long one gets more."""
    model = MODELS["dymo-lt200b"]
    short = compose_badge(BadgeContent("Ana Li"), model)
    longer = compose_badge(BadgeContent("Ana Li", "Acme Robotics GmbH", "Staff"), model)
    assert short.layout == "tape" and short.bitmap.width == 30
    assert short.bitmap.height < longer.bitmap.height
    assert short.bitmap.height >= mm_to_dots(DEFAULT_TEMPLATE.tape_length_mm[0], model.along_dpi)


def test_logo_is_thresholded_like_the_text():
    gradient = Image.linear_gradient("L").resize((120, 60)).convert("RGBA")
    gradient.putalpha(200)
    model = MODELS["brother-ql820nwb"]
    rendered = compose_badge(BadgeContent("Ana Li", "Acme", "Staff", SECRET, logo=gradient), model)
    thresholded = rendered.gray.point(lambda v: 255 if v >= 128 else 0).convert("1", dither=Image.Dither.NONE)
    assert Bitmap.from_image(thresholded).difference(rendered.bitmap) is None
    assert decode(rendered.bitmap) == [SECRET]


@pytest.mark.parametrize("model_id", sorted(MODELS))
def test_test_label_shows_the_printable_frame_and_a_scannable_code(model_id):
    model = MODELS[model_id]
    bitmap = render_test_label(model)
    assert bitmap.width == model.printable_across(model.default_media())
    # The one-dot frame: first and last rows fully black, first and last dot of every row black.
    assert bitmap.black_count(0) == bitmap.width and bitmap.black_count(bitmap.height - 1) == bitmap.width
    assert all(bitmap.pixel(0, y) and bitmap.pixel(bitmap.width - 1, y) for y in range(bitmap.height))
    assert decode(bitmap) == ([TEST_QR_TEXT] if model.qr else [])


def test_font_files_are_not_searched_again_for_each_badge(monkeypatch):
    """The desk prints a badge per check-in: after the first, only the chosen font is used (at most opened
    at a size it has not drawn yet), the machine's other fonts are not opened again."""
    model = MODELS["niimbot-b1"]
    first = compose_badge(BadgeContent("박서연 Park Seo-yeon", "Acme", "Staff", SECRET), model)
    opened: list[str] = []
    real = ImageFont.truetype
    monkeypatch.setattr(ImageFont, "truetype", lambda font, *a, **k: opened.append(str(font)) or real(font, *a, **k))
    second = compose_badge(BadgeContent("김민준", "Hanbit Media", "VIP", SECRET), model)
    assert second.font == first.font
    assert set(opened) <= {first.font.path}
    before = len(opened)
    compose_badge(BadgeContent("김민준", "Hanbit Media", "VIP", SECRET), model)
    assert len(opened) == before, "a reprint opened font files again"


@pytest.mark.parametrize(("model_id", "media_id"), [("niimbot-b1", "50x30"), ("brother-ql820nwb", "62x100")])
def test_render_fits_the_per_badge_budget(model_id, media_id):
    """The render + encode budget is 30 ms per badge; rendering alone takes a few ms here. The bound is loose
    so a busy machine does not fail it, but a per-badge font scan or a slow path would."""
    model = MODELS[model_id]
    media = model.find_media(media_id)
    content = BadgeContent("Zoë Ångström-Müller", "Acme Robotics GmbH", "Speaker", SECRET)
    render_badge(content, model, media)
    timings = []
    for _ in range(7):
        start = time.perf_counter()
        render_badge(content, model, media)
        timings.append(time.perf_counter() - start)
    assert statistics.median(timings) < 0.1
