"""The backend in a background thread of the current process: `focusdesk demo` runs the server and the
desk TUI in one command. The thread has its own event loop, so the TUI's loop never waits on the server's."""

from __future__ import annotations

import threading
import time

import uvicorn

from focusdesk.server.app import create_app
from focusdesk.server.serving import uvicorn_config
from focusdesk.server.settings import Settings


class EmbeddedServer:
    def __init__(self, settings: Settings, host: str = "127.0.0.1", port: int = 8765) -> None:
        self.settings = settings
        self.host = host
        self.port = port
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout_s: float = 30.0) -> EmbeddedServer:
        # No access log and warnings only: the TUI owns the terminal.
        config = uvicorn_config(create_app(self.settings), self.host, self.port, log_level="warning")
        self._server = uvicorn.Server(config)
        # uvicorn installs signal handlers only in the main thread; Ctrl-C belongs to the TUI here.
        self._thread = threading.Thread(target=self._server.run, name="focusdesk-server", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout_s
        while not self._server.started:
            if not self._thread.is_alive():
                raise RuntimeError(f"the embedded server could not start on {self.host}:{self.port}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"the embedded server did not start within {timeout_s:g} s")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=15)
        self._server = None
