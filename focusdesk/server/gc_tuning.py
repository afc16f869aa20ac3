"""Keep the garbage collector's full passes short in a server process.

Measured on the fan-out benchmark (1,000 live desks): CPython's full (generation 2) collections paused the
event loop and the writer for 100–160 ms, several times a minute — every object alive was traversed,
most of them the modules, routes, SQL statements and Alembic machinery loaded at start and never freed.
After start-up those are moved out of the collector's view (``gc.freeze``), so a full pass only walks what
the running server made. Only for a process that is a server (``focusdesk serve``): a test process
starting many servers must not freeze its own garbage.
"""

from __future__ import annotations

import gc

# Young collections run after this many new container objects (CPython's default is 700). A request makes
# a few thousand short-lived objects; collecting that often promotes ones still in use, and promoted
# objects are what make the next full pass due.
YOUNG_THRESHOLD = 20_000


def freeze_startup_objects() -> int:
    """Collect once, then exempt everything alive now from later collections; returns how many."""
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, older, oldest)
    return gc.get_freeze_count()
