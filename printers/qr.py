"""QR codes as exact module grids, drawn at a whole number of dots per module.

A QR code on a badge is scanned at the desk from a thermal print: every module must be the same whole number
of dots, edges crisp, nothing resampled or dithered (PRINTERS.md §9). So the symbol is computed as a boolean
matrix and painted block by block straight into the canvas.
"""

from __future__ import annotations

import functools

import qrcode
from PIL import Image
from qrcode.constants import ERROR_CORRECT_M

QUIET_ZONE_MODULES = 4

Matrix = tuple[tuple[bool, ...], ...]


@functools.lru_cache(maxsize=256)
def qr_matrix(data: str) -> Matrix:
    """The modules of ``data`` (True = dark) at error correction M in the smallest version that holds it,
    without the quiet zone. Cached: a reprint of the same badge does not recompute the mask selection."""
    code = qrcode.QRCode(version=None, error_correction=ERROR_CORRECT_M, border=0)
    code.add_data(data)
    code.make(fit=True)
    return tuple(tuple(bool(m) for m in row) for row in code.get_matrix())


def qr_image(matrix: Matrix, module_x: int, module_y: int | None = None) -> Image.Image:
    """The symbol as an "L" image, 0 = dark, 255 = light: each module a solid ``module_x`` × ``module_y``
    block (``module_y`` defaults to ``module_x``). Built from bytes, never scaled, so it stays exact."""
    module_y = module_x if module_y is None else module_y
    if module_x < 1 or module_y < 1:
        raise ValueError("a QR module needs at least one dot")
    dark, light = b"\x00" * module_x, b"\xff" * module_x
    rows = []
    for row in matrix:
        line = b"".join(dark if m else light for m in row)
        rows.append(line * module_y)
    size = len(matrix)
    return Image.frombytes("L", (size * module_x, size * module_y), b"".join(rows))


def draw_qr(canvas: Image.Image, matrix: Matrix, x: int, y: int, module_x: int, module_y: int | None = None) -> None:
    """Paint the symbol with its top-left module at (x, y). The canvas must be "L" or "1" (exact black and
    white either way); the quiet zone is the caller's to keep clear."""
    if canvas.mode not in ("L", "1"):
        raise ValueError(f"draw QR codes on an 'L' or '1' canvas, not {canvas.mode!r}")
    image = qr_image(matrix, module_x, module_y)
    canvas.paste(image if canvas.mode == "L" else image.convert("1", dither=Image.Dither.NONE), (x, y))


__all__ = ["QUIET_ZONE_MODULES", "Matrix", "draw_qr", "qr_image", "qr_matrix"]
