"""The server's log lines: JSON (one object a line, for a log shipper) or text (for a person), and the
request id that ties every line of one request together.

The request id lives in a :class:`~contextvars.ContextVar` set by the request observer
(``server/observer.py``): any ``log.info(...)`` made while a request is handled carries it without being
passed around. Uvicorn's own loggers are routed through the same handler (:func:`logging_config` is given
to uvicorn as its ``log_config``), so a worker process's start-up lines look like the rest.
"""

from __future__ import annotations

import itertools
import json
import logging
import logging.config
import os
import queue
import re
import threading
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

FORMATS = ("text", "json")
LEVELS = ("critical", "error", "warning", "info", "debug")

# The id of the request being handled in this context (None outside a request).
REQUEST_ID: ContextVar[str | None] = ContextVar("focusdesk_request_id", default=None)
# Where the observer also leaves the id in the ASGI scope: the server-error handler runs outside the
# observer, after the context variable has been reset (errors.py reads it from here).
SCOPE_KEY = "focusdesk.request_id"

# A client's X-Request-ID is kept only if it cannot smuggle anything into a log line or a header.
_SANE_ID = re.compile(rb"[A-Za-z0-9._-]{1,64}")

# Attributes every LogRecord has; whatever else a record carries came from ``extra=`` and is logged as a
# field of its own. uvicorn's ``color_message`` is its message again with ANSI colours: not a field.
_RECORD_ATTRS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message",
    "asctime",
    "color_message",
    "taskName",
}


def sane_request_id(raw: bytes) -> str | None:
    """``raw`` (an X-Request-ID header value) if it is a safe id, else None."""
    return raw.decode("ascii") if _SANE_ID.fullmatch(raw) else None


# A fresh id is this process's random prefix and a counter: unique across instances and restarts (for
# finding a request in merged logs, not a secret), and no system call per request.
_ID_PREFIX = os.urandom(5).hex()
_id_counter = itertools.count(1)


def new_request_id() -> str:
    return f"{_ID_PREFIX}{next(_id_counter):06x}"


def current_request_id() -> str | None:
    return REQUEST_ID.get()


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ``ts`` (ISO 8601, UTC), ``level``, ``logger``, ``msg``, ``request_id``
    inside a request, the record's ``extra`` fields, and ``exc`` (the formatted traceback) if any."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None) or REQUEST_ID.get()
        if request_id:
            line["request_id"] = request_id
        for key, value in record.__dict__.items():
            if key not in _RECORD_ATTRS and key not in line and key != "request_id":
                line[key] = value
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        elif record.exc_text:
            line["exc"] = record.exc_text
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return json.dumps(line, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """``2025-11-24 09:14:03,120 INFO focusdesk.x: message [request_id=…]`` for a person at a console."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def formatMessage(self, record: logging.LogRecord) -> str:
        text = super().formatMessage(record)
        request_id = getattr(record, "request_id", None) or REQUEST_ID.get()
        return f"{text} [request_id={request_id}]" if request_id else text


class BackgroundStreamHandler(logging.StreamHandler):
    """A stream handler that formats and writes on a thread of its own; the logging thread only queues.

    Why: writing a line is a system call, and CPython lets go of the GIL around it; on a busy server the
    database writer thread takes the GIL then, and the event loop waits for it back. Measured with JSON
    access lines on the check-in benchmark, that wait cost more than the line itself. What only the
    logging thread knows (the message's arguments, the request id of its context) is fixed when queued.
    """

    def __init__(self, stream: Any = None) -> None:
        super().__init__(stream)
        self._queue: queue.SimpleQueue[logging.LogRecord | None] = queue.SimpleQueue()
        self._writer = threading.Thread(target=self._write_all, name="log-writer", daemon=True)
        self._writer.start()

    def emit(self, record: logging.LogRecord) -> None:
        if not self._writer.is_alive():  # shutting down (see write_in_foreground): write it now
            super().emit(record)
            return
        try:
            record.msg, record.args = record.getMessage(), None
        except Exception:
            self.handleError(record)
            return
        if "request_id" not in record.__dict__ and (request_id := REQUEST_ID.get()):
            record.request_id = request_id
        self._queue.put(record)

    def write_in_foreground(self) -> None:
        """Write what is queued and from now on write each line as it comes. The server calls this as it
        shuts down: uvicorn ends a signalled process by raising the signal again, which kills it before
        any exit handler could write the queue's last lines ("Application shutdown complete")."""
        if self._writer.is_alive():
            self._queue.put(None)
            self._writer.join(timeout=10)

    def _write_all(self) -> None:
        while (record := self._queue.get()) is not None:
            try:
                self.stream.write(self.format(record) + self.terminator)
                self.stream.flush()
            except Exception:
                self.handleError(record)

    def flush(self) -> None:
        """Lines are flushed as the writer thread writes them."""

    def close(self) -> None:
        """Write what is queued, then stop (logging calls this at exit and when reconfigured)."""
        if self._writer.is_alive():
            self._queue.put(None)
            self._writer.join(timeout=10)
        super().close()


def logging_config(fmt: str = "text", level: str = "info") -> dict[str, Any]:
    """A :func:`logging.config.dictConfig` dict: everything (uvicorn's loggers too) to standard error in
    ``fmt``. The per-request access line (logger ``focusdesk.access``) is written in JSON mode only:
    a console stays quiet, a log shipper gets every request."""
    if fmt not in FORMATS:
        raise ValueError(f"log format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    if level.lower() not in LEVELS:
        raise ValueError(f"log level must be one of {', '.join(LEVELS)}, not {level!r}")
    level = level.upper()
    formatter = JsonFormatter if fmt == "json" else TextFormatter
    passthrough = {"handlers": [], "propagate": True}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"focusdesk": {"()": f"{formatter.__module__}.{formatter.__qualname__}"}},
        "handlers": {
            "stderr": {
                "class": f"{__name__}.{BackgroundStreamHandler.__qualname__}",
                "formatter": "focusdesk",
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"handlers": ["stderr"], "level": level},
        "loggers": {
            "uvicorn": {**passthrough, "level": level},
            "uvicorn.error": passthrough,
            "uvicorn.access": passthrough,
            "focusdesk.access": {**passthrough, "level": "NOTSET" if fmt == "json" else "WARNING"},
            # Alembic tells at INFO which database dialect it found and which plugins it set up, on every
            # start: not worth a line each.
            "alembic": {"level": "WARNING" if level == "INFO" else level},
        },
    }


def write_logs_in_foreground() -> None:
    """See :meth:`BackgroundStreamHandler.write_in_foreground` (every such handler of the root logger)."""
    for handler in logging.getLogger().handlers:
        if isinstance(handler, BackgroundStreamHandler):
            handler.write_in_foreground()


def configure_logging(fmt: str = "text", level: str = "info") -> None:
    """Send this process's logs to standard error as ``fmt`` (json|text) from ``level`` up."""
    logging.config.dictConfig(logging_config(fmt, level))
