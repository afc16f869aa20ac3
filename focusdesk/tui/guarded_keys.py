"""Keys a role may lack: the key and its "refuse" twin, so a desk without the permission is told who may
instead of the key doing nothing (the screen's ``check_action`` hides the real one; the twin catches it)."""

from __future__ import annotations

from textual.binding import Binding


def guarded(
    keys: str, action: str, description: str, *, id: str, tooltip: str = "", show: bool = True
) -> list[Binding]:
    return [
        Binding(keys, action, description, show=show, id=id, tooltip=tooltip),
        Binding(keys, f"refuse('{action}')", "Not allowed", show=False, id=f"{id}_refused", tooltip="Says who may"),
    ]
