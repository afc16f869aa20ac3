"""Handing work to the server's event loop from wherever a commit is announced."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any


def call_on_loop(loop: asyncio.AbstractEventLoop | None, fn: Callable[..., Any], *args: Any) -> None:
    """Run ``fn(*args)`` on ``loop``: at once when called on it, else scheduled thread-safely (SQLite's
    writer thread announces commits). Nothing happens once the loop is gone (shutting down)."""
    if loop is None or loop.is_closed():
        return
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    if running is loop:
        fn(*args)
    else:
        loop.call_soon_threadsafe(fn, *args)


async def cancel_and_wait(task: asyncio.Task | None) -> None:
    """Stop a background task of the server's and wait until it has (None: nothing to stop)."""
    if task is None:
        return
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
