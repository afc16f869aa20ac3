"""The FocusDesk desk TUI (Textual). Thin: screens render the station's state and send intents."""

import os

# Textual repaints a changed screen on a timer of 1/TEXTUAL_FPS (60 by default): up to 17 ms between a
# keystroke's result and its frame. At a desk every keystroke updates the result list, so a 120 Hz tick
# halves that wait; frames are still only drawn when something changed. Set TEXTUAL_FPS to override.
# This must run before Textual is imported (it reads the variable once, at import).
os.environ.setdefault("TEXTUAL_FPS", "120")
