"""The frame the desk's dialogs share: a box centred over the screen behind, which stays visible, dimmed.

A dialog subclasses ``FramedDialog[Result]``, gives its box (the one container it composes) the class
``dialog-box``, and sizes it by id in its own DEFAULT_CSS::

    MyDialog > #my-box { width: 70; max-width: 96%; max-height: 96%; }

anything else that differs (a warning border, more padding, ``overflow-y: auto`` for a long form) goes there
too: an id outranks the frame's class.
"""

from __future__ import annotations

from typing import TypeVar

from textual.screen import ModalScreen

ResultT = TypeVar("ResultT")


class FramedDialog(ModalScreen[ResultT]):
    # App CSS outranks any DEFAULT_CSS, and the app paints every Screen opaque: this keeps the screen behind
    # visible (dimmed). Every subclass inherits this CSS, and Textual loads it once per subclass, scoped to
    # the subclass's name unless unscoped: scoped, "FramedDialog.-dialog" would only match a FramedDialog
    # *inside* the dialog, i.e. nothing.
    SCOPED_CSS = False
    CSS = """
    FramedDialog.-dialog { background: $background 60%; }
    """
    DEFAULT_CSS = """
    FramedDialog { align: center middle; }
    FramedDialog > .dialog-box {
        height: auto;
        border: thick $accent 80%;
        background: $panel;
        padding: 0 1;
    }
    """

    def __init__(self, name: str | None = None, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=f"-dialog {classes}" if classes else "-dialog")
