"""How uvicorn is configured to serve FocusDesk (shared by `focusdesk serve`, the demo and the tests)."""

from __future__ import annotations

from typing import Any

import uvicorn

from focusdesk.domain.live import MAX_CLIENT_FRAME_BYTES


def uvicorn_config(app: Any, host: str, port: int, **overrides: Any) -> uvicorn.Config:
    return uvicorn.Config(app, **uvicorn_options(host, port, **overrides))


def uvicorn_options(host: str, port: int, **overrides: Any) -> dict[str, Any]:
    options: dict[str, Any] = {
        "host": host,
        "port": port,
        "log_level": "info",
        "access_log": False,
        "loop": "uvloop",
        "http": "httptools",
        # The sans-I/O websockets protocol: its send is a plain buffer write, the cheapest per frame.
        "ws": "websockets-sansio",
        # Change frames are small and sent to many desks: compressing each per connection costs CPU
        # and memory (a zlib context per socket) for little gain.
        "ws_per_message_deflate": False,
        # Stations send only tiny control frames; a larger one is refused by the protocol layer.
        "ws_max_size": MAX_CLIENT_FRAME_BYTES,
        "ws_ping_interval": 20.0,
        "ws_ping_timeout": 20.0,
        "lifespan": "on",
    }
    options.update(overrides)
    return options
