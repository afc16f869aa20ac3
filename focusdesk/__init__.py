"""FocusDesk: on-site operations for events and venues."""

__version__ = "0.1.0"
