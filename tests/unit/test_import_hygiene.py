"""The layering of DESIGN.md, enforced: plain modules never import Textual, the server never the desk."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

RULES = {
    "focusdesk/domain": ("textual", "focusdesk.server", "focusdesk.station", "focusdesk.tui", "sqlalchemy", "fastapi"),
    "focusdesk/station": ("textual", "focusdesk.server", "focusdesk.tui"),
    "printers": ("textual", "focusdesk"),
    "focusdesk/server": ("textual", "focusdesk.station", "focusdesk.tui"),
    "focusdesk/tui": ("focusdesk.server",),
}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def forbidden(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


@pytest.mark.parametrize("package", sorted(RULES))
def test_package_keeps_to_its_layer(package):
    files = sorted((ROOT / package).rglob("*.py"))
    assert files, f"{package} has no modules"
    offenders = [
        f"{f.relative_to(ROOT)} imports {name}"
        for f in files
        for name in sorted(imported_modules(f))
        if forbidden(name, RULES[package])
    ]
    assert offenders == []
