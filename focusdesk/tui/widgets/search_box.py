"""The desk's search box: Textual's Input, minus a whole-screen re-layout on every keystroke."""

from __future__ import annotations

from textual.geometry import Size
from textual.reactive import Reactive
from textual.widgets import Input


class SearchBox(Input):
    """Input sets its ``virtual_size`` on every change of its value, and ``virtual_size`` asks for a layout
    refresh of the whole screen (Widget declares it ``layout=True``), a few milliseconds a keystroke at the
    desk. This box has a fixed size (one line, the screen's width), so a repaint is all a change needs; the
    virtual size still drives its horizontal scrolling."""

    virtual_size = Reactive(Size(0, 0), layout=False)
