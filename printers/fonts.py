"""Finding a font that can draw a badge's text — Latin, accented, Korean, Japanese or Chinese names.

Order of preference: the font the desk was configured with; the machine's own fonts (bold sans faces first:
DejaVu Sans Bold, Noto Sans, Liberation Sans, Arial, NanumGothic, Noto Sans CJK, Malgun Gothic…); the
optional PyPI package ``noto_cjk_sans_otc`` (one .ttc that covers Latin, accents, Hangul, kana and Han);
then the rest of the machine's upright fonts; then Pillow's bundled default (ASCII only). The package sits
before "any other system font" because an arbitrary font that happens to have the glyphs (a display or
symbol face) makes a worse badge than Noto.

Glyph coverage is checked without a font-parsing dependency: a character is covered when its rendered mask
differs from the font's ``.notdef`` rendering (taken from an unassigned code point). Every result is cached
— the directory scan once per process, the face list per file, coverage per (file, face, character), the
chosen face per set of characters, Pillow font objects per size — so after the first badge a lookup costs
dictionary hits only (the render + encode budget is 30 ms per badge).
"""

from __future__ import annotations

import functools
import importlib.util
import os
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from PIL import ImageFont

from printers.errors import FontNotFound

FONT_EXTENSIONS = (".ttf", ".otf", ".ttc", ".otc")
# Private-use plane 16 code point no text font maps: what it renders is the font's .notdef ("tofu") glyph.
_NOTDEF_PROBE = "\U0010fffd"
_PROBE_SIZE = 40
_MAX_FACES = 64  # faces looked at inside one collection file

NOTO_PIP_HINT = "pip install noto-cjk-sans-otc"
NOTO_DISTRO_HINT = "fonts-noto-cjk"

# Basenames (lower case) in order of preference: bold sans faces first, Korean-capable faces next, regular
# weights last (they get emboldened with a stroke when drawn).
PREFERRED_FONTS = (
    "dejavusans-bold.ttf",
    "notosans-bold.ttf",
    "liberationsans-bold.ttf",
    "arialbd.ttf",
    "arial bold.ttf",
    "segoeuib.ttf",
    "helveticaneue.ttc",
    "helvetica.ttc",
    "nanumgothicbold.ttf",
    "nanumbarungothicbold.ttf",
    "notosanscjk-bold.ttc",
    "notosanscjkkr-bold.otf",
    "notosanskr-bold.otf",
    "notosanskr-bold.ttf",
    "malgunbd.ttf",
    "applesdgothicneo.ttc",
    "notosanscjk-regular.ttc",
    "notosanscjkkr-regular.otf",
    "notosanskr-regular.otf",
    "notosanskr-regular.ttf",
    "nanumgothic.ttf",
    "nanumbarungothic.ttf",
    "malgun.ttf",
    "hiraginosans-w6.ttc",
    "yugothb.ttc",
    "msyhbd.ttc",
    "dejavusans.ttf",
    "notosans-regular.ttf",
    "liberationsans-regular.ttf",
    "arial.ttf",
    "segoeui.ttf",
)
_UNSUITABLE = ("italic", "oblique", "mono", "emoji", "symbol", "math", "wingding", "webding", "dingbat", "icon")


def _has(text: str, ranges: Iterable[tuple[int, int]]) -> bool:
    return any(lo <= ord(ch) <= hi for ch in text for lo, hi in ranges)


_HANGUL = ((0x1100, 0x11FF), (0x3130, 0x318F), (0xA960, 0xA97F), (0xAC00, 0xD7AF), (0xD7B0, 0xD7FF))
_KANA = ((0x3040, 0x30FF), (0x31F0, 0x31FF), (0xFF66, 0xFF9F))
_HAN = ((0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF), (0x20000, 0x3134F))


def has_hangul(text: str) -> bool:
    return _has(text, _HANGUL)


def has_cjk(text: str) -> bool:
    return _has(text, (*_HANGUL, *_KANA, *_HAN))


def _always_covered(ch: str) -> bool:
    # Spaces render as nothing in every font, and format characters (ZWJ, bidi marks) have no ink.
    return ch.isspace() or unicodedata.category(ch) in ("Cc", "Cf", "Zs", "Zl", "Zp")


@dataclass(frozen=True, slots=True)
class FontFace:
    """One face of one font file, ready to draw at any pixel size. ``path`` None is Pillow's bundled font."""

    path: str | None
    index: int = 0
    name: str = ""
    bold: bool = False

    def at(self, size: int) -> ImageFont.FreeTypeFont:
        """The Pillow font at ``size`` pixels (em), cached: creating one costs about a millisecond."""
        return _font_at(self.path, self.index, max(1, int(size)))

    def stroke_for(self, size: int) -> int:
        """Stroke width that makes a regular weight read as bold at ``size`` px; 0 for bold faces, and below
        about 20 px, where a stroke would clog the counters of small letters and Hangul."""
        return 0 if self.bold else int(size * 0.035 + 0.3)

    def missing(self, text: str) -> list[str]:
        """The characters of ``text`` this face cannot draw, in order of first appearance."""
        seen: dict[str, None] = {}
        for ch in unicodedata.normalize("NFC", text):
            if ch not in seen and not self.covers_char(ch):
                seen[ch] = None
        return list(seen)

    def covers(self, text: str) -> bool:
        return all(self.covers_char(ch) for ch in set(unicodedata.normalize("NFC", text)))

    def covers_char(self, ch: str) -> bool:
        if _always_covered(ch):
            return True
        cache = _coverage.setdefault((self.path, self.index), {})
        hit = cache.get(ch)
        if hit is None:
            font = self.at(_PROBE_SIZE)
            hit = cache[ch] = _mask_signature(font, ch) != _notdef_signature(self.path, self.index)
        return hit

    def describe(self) -> str:
        where = "Pillow's built-in font" if self.path is None else Path(self.path).name
        return f"{self.name} ({where})" if self.name else where


_coverage: dict[tuple[str | None, int], dict[str, bool]] = {}


@functools.lru_cache(maxsize=512)
def _font_at(path: str | None, index: int, size: int) -> ImageFont.FreeTypeFont:
    if path is None:
        font = ImageFont.load_default(size)
        if not isinstance(font, ImageFont.FreeTypeFont):  # Pillow built without FreeType: no sizes, no Unicode
            raise FontNotFound("Pillow was built without FreeType, so it cannot draw scalable text.")
        return font
    return ImageFont.truetype(path, size, index=index)


def _mask_signature(font: ImageFont.FreeTypeFont, ch: str) -> tuple[tuple[int, int], bytes]:
    mask = font.getmask(ch)
    return mask.size, bytes(mask)


@functools.lru_cache(maxsize=256)
def _notdef_signature(path: str | None, index: int) -> tuple[tuple[int, int], bytes]:
    return _mask_signature(_font_at(path, index, _PROBE_SIZE), _NOTDEF_PROBE)


def _is_bold(style: str) -> bool:
    s = style.lower()
    return any(w in s for w in ("bold", "black", "heavy"))


@functools.lru_cache(maxsize=4096)
def _faces(path: str) -> tuple[tuple[int, str, str], ...]:
    """(index, family, style) of every face in a font file; () when the file cannot be opened."""
    faces: list[tuple[int, str, str]] = []
    count = _MAX_FACES if path.lower().endswith((".ttc", ".otc")) else 1
    for index in range(count):
        try:
            family, style = ImageFont.truetype(path, _PROBE_SIZE, index=index).getname()
        except OSError:
            break  # past the last face, or not a usable font (e.g. a bitmap-only emoji font)
        faces.append((index, family or "", style or ""))
    return tuple(faces)


def _pick_face(path: str, text: str) -> FontFace | None:
    """The best face of ``path`` for ``text``: the Korean face of a CJK collection for Hangul, the Japanese
    one for kana (the same characters are drawn differently per region), bold over regular, never Mono."""
    faces = _faces(path)
    if not faces:
        return None
    hangul, kana = has_hangul(text), _has(text, _KANA)

    def score(face: tuple[int, str, str]) -> tuple[int, int]:
        index, family, style = face
        tokens = family.replace("-", " ").split()
        points = 0
        if "Mono" in tokens or "mono" in family.lower():
            points -= 8
        if hangul and {"KR", "Korean"} & set(tokens):
            points += 4
        if kana and {"JP", "Japanese"} & set(tokens):
            points += 4
        if _is_bold(style):
            points += 2
        return points, -index

    index, family, style = max(faces, key=score)
    name = f"{family} {style}".strip()
    return FontFace(path, index, name, _is_bold(style))


def font_dirs() -> list[Path]:
    """Where operating systems keep fonts (existing or not)."""
    home = Path.home()
    dirs = [
        Path("/usr/share/fonts"),
        Path("/usr/local/share/fonts"),
        home / ".local/share/fonts",
        home / ".fonts",
        Path("/Library/Fonts"),
        Path("/System/Library/Fonts"),
        home / "Library/Fonts",
    ]
    windir = os.environ.get("WINDIR") or os.environ.get("SYSTEMROOT")
    if windir:
        dirs.append(Path(windir) / "Fonts")
    local = os.environ.get("LOCALAPPDATA")
    if local:
        dirs.append(Path(local) / "Microsoft/Windows/Fonts")
    return dirs


@functools.lru_cache(maxsize=1)
def system_font_files() -> tuple[str, ...]:
    """Every font file on the machine, preferred faces first, then other upright sans faces. Scanned once
    per process: fonts installed while the desk runs are picked up at its next start."""
    found: dict[str, str] = {}
    for root in font_dirs():
        if not root.is_dir():
            continue
        for dirpath, _dirs, files in os.walk(root):
            for file in sorted(files):
                if file.lower().endswith(FONT_EXTENSIONS):
                    found.setdefault(file.lower(), os.path.join(dirpath, file))
    preferred = [found.pop(name) for name in PREFERRED_FONTS if name in found]
    rest = [p for name, p in found.items() if not any(w in name for w in _UNSUITABLE)]

    def rank(path: str) -> tuple[int, str]:
        name = Path(path).name.lower()
        sans = "sans" in name or "gothic" in name
        serif = "serif" in name and "sans" not in name
        return (0 if sans and "bold" in name else 1 if sans else 3 if serif else 2), name

    return (*preferred, *sorted(rest, key=rank))


@functools.lru_cache(maxsize=1)
def noto_cjk_path() -> str | None:
    """The .ttc shipped by the optional PyPI package ``noto-cjk-sans-otc``, found without importing it."""
    try:
        spec = importlib.util.find_spec("noto_cjk_sans_otc")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        for candidate in sorted(Path(location).glob("*.tt[cf]")) + sorted(Path(location).glob("*.ot[cf]")):
            return str(candidate)
    return None


PILLOW_DEFAULT = FontFace(None, 0, "Aileron Regular", False)


def _fallback_paths() -> Iterator[str]:
    files = system_font_files()
    preferred = set(PREFERRED_FONTS)
    yield from (p for p in files if Path(p).name.lower() in preferred)
    noto = noto_cjk_path()
    if noto:
        yield noto
    yield from (p for p in files if Path(p).name.lower() not in preferred)


def _install_hint(missing: list[str]) -> str:
    if has_cjk("".join(missing)):
        return (
            f"Install a font with Korean, Japanese and Chinese characters: `{NOTO_PIP_HINT}` in the desk's "
            f"Python environment, or the system package {NOTO_DISTRO_HINT}."
        )
    return f"Install a font that covers them (the system package fonts-noto covers most scripts, `{NOTO_PIP_HINT}` covers Latin and CJK)."


def _explicit_face(font: str | os.PathLike[str] | FontFace, text: str) -> FontFace:
    if isinstance(font, FontFace):
        return font
    path = os.fspath(font)
    if not os.path.isfile(path):
        raise FontNotFound(f"The badge font {path} does not exist.", "Fix the font path in the desk's settings.")
    face = _pick_face(path, text)
    if face is None:
        raise FontNotFound(f"The badge font {path} is not a font Pillow can read.", "Choose a .ttf, .otf or .ttc file.")
    return face


@functools.lru_cache(maxsize=4096)
def _find_cached(chars: str, explicit: FontFace | None, fallback: bool) -> FontFace:
    if explicit is not None and explicit.covers(chars):
        return explicit
    if not fallback:
        assert explicit is not None  # find_font() makes Pillow's font the explicit one when fallback is off
        missing = explicit.missing(chars)
    else:
        # Name only what *no* candidate can draw: "Zoë 🧿" is missing 🧿, not the ë Pillow's font lacks.
        uncovered = set(explicit.missing(chars)) if explicit is not None else set(chars)
        for path in _fallback_paths():
            face = _pick_face(path, chars)
            if face is None:
                continue
            lacking = face.missing(chars)
            if not lacking:
                return face
            uncovered.intersection_update(lacking)
        lacking = PILLOW_DEFAULT.missing(chars)
        if not lacking:
            return PILLOW_DEFAULT
        uncovered.intersection_update(lacking)
        missing = [c for c in chars if c in uncovered]
    shown = ", ".join(f"{c} (U+{ord(c):04X})" for c in missing[:8]) + (" …" if len(missing) > 8 else "")
    if not fallback and explicit is not None:
        raise FontNotFound(
            f"The badge font {explicit.describe()} cannot draw {shown}.",
            "Choose a font that has these characters, or let the desk fall back to other fonts. "
            + _install_hint(missing),
        )
    raise FontNotFound(f"No font on this machine can draw {shown}.", _install_hint(missing))


def find_font(text: str, font: str | os.PathLike[str] | FontFace | None = None, *, fallback: bool = True) -> FontFace:
    """A face that can draw every character of ``text``.

    ``font``: a font file (or a ``FontFace``, e.g. ``PILLOW_DEFAULT``) to use when it has the glyphs.
    ``fallback``: when False only ``font`` is tried, so a missing glyph raises instead of switching fonts.
    Raises ``FontNotFound`` naming the characters no font has and what to install.
    """
    text = unicodedata.normalize("NFC", text)
    chars = "".join(sorted(set(text)))
    explicit = _explicit_face(font, text) if font is not None else None
    if explicit is None and not fallback:
        explicit = PILLOW_DEFAULT
    return _find_cached(chars, explicit, fallback)


__all__ = [
    "PILLOW_DEFAULT",
    "FontFace",
    "find_font",
    "font_dirs",
    "has_cjk",
    "has_hangul",
    "noto_cjk_path",
    "system_font_files",
]
