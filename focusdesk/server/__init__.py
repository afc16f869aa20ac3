"""The FocusDesk backend: FastAPI app, store, change log, auth. Never imports station/ or tui/."""
