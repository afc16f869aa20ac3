"""The outermost ASGI layer: every request is timed, counted by route template and status, given a
request id, and (in JSON log mode) written as one access line.

A pure ASGI middleware, not Starlette's ``BaseHTTPMiddleware``: that one runs the rest of the app in a
task of its own and streams the answer through a queue, which costs the check-in hot path far more than
the counting itself (benchmarks/checkins.py).

It sits outside ``LiveRoute`` and ``CommandsFastPath``, so the desks' live WebSockets and the commands
the fast path answers without reaching the router are counted too. ``__call__`` is a plain function
returning the next layer's coroutine for anything but HTTP, so a live connection holds no frame of this
layer for its lifetime and its frames pass through nothing here.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable

from fastapi import APIRouter
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from focusdesk.server.logs import REQUEST_ID, SCOPE_KEY, new_request_id, sane_request_id
from focusdesk.server.metrics import UNMATCHED, ServerMetrics

access_log = logging.getLogger("focusdesk.access")

# The status of a request that ended without an answer (the client went away first): nginx's convention.
CLIENT_CLOSED = 499


def route_templates(prefix: str, routers: Iterable[APIRouter]) -> dict[int, str]:
    """The full path template of every route of ``routers`` (included under ``prefix``), by route identity.

    Recent FastAPI versions put the router's own route object in the request scope, whose path lacks
    the prefix; older ones a copy made at inclusion, whose path has it (and is not in this table).
    """
    return {id(route): prefix + route.path for router in routers for route in router.routes}


class RequestObserver:
    def __init__(
        self,
        app: ASGIApp,
        metrics: ServerMetrics,
        templates: dict[int, str] | None = None,
        direct_routes: Iterable[str] = (),
        websocket_routes: Iterable[str] = (),
    ):
        self.app = app
        self.metrics = metrics
        self.templates = templates or {}
        # Paths answered by a layer below this one without the router (CommandsFastPath): their route
        # template is the path itself.
        self.direct_routes = frozenset(direct_routes)
        # WebSocket paths that are accepted (101) whatever follows; any other WebSocket is refused (403).
        self.websocket_routes = frozenset(websocket_routes)

    def __call__(self, scope: Scope, receive: Receive, send: Send):
        kind = scope["type"]
        if kind == "http":
            return self._http(scope, receive, send)
        if kind == "websocket":
            # Counted as it opens: its duration is the desk's whole day, not a latency.
            path = scope["path"]
            if path in self.websocket_routes:
                self.metrics.observe_request("GET", path, 101, None)
            else:
                self.metrics.observe_request("GET", UNMATCHED, 403, None)
        return self.app(scope, receive, send)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        request_id = None
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                request_id = sane_request_id(value)
                break
        if request_id is None:
            request_id = new_request_id()
        scope[SCOPE_KEY] = request_id
        observed = _ObservedSend(send, request_id)
        token = REQUEST_ID.set(request_id)
        status = 0
        try:
            await self.app(scope, receive, observed)
        except Exception:
            # The server-error layer outside answers 500 (with this request id, errors.py).
            status = observed.status or 500
            raise
        finally:
            elapsed = time.perf_counter() - started
            status = status or observed.status or CLIENT_CLOSED
            matched = scope.get("route")
            if matched is not None:
                route = self.templates.get(id(matched)) or matched.path
            else:
                route = scope["path"] if scope["path"] in self.direct_routes else UNMATCHED
            self.metrics.observe_request(scope["method"], route, status, elapsed)
            if access_log.isEnabledFor(logging.INFO):
                _log_access(scope, route, status, elapsed)
            REQUEST_ID.reset(token)


class _ObservedSend:
    """``send`` that notes the status and adds the X-Request-ID header (one object per request: cheaper
    than a closure and its cells)."""

    __slots__ = ("header", "send", "status")

    def __init__(self, send: Send, request_id: str):
        self.send = send
        self.header = (b"x-request-id", request_id.encode("ascii"))
        self.status = 0

    def __call__(self, message: Message):
        if message["type"] == "http.response.start":
            self.status = message["status"]
            message["headers"] = [*message.get("headers", ()), self.header]
        return self.send(message)


def _log_access(scope: Scope, route: str, status: int, elapsed: float) -> None:
    client = scope.get("client")
    method, path = scope["method"], scope["path"]
    extra = {
        "method": method,
        "route": route,
        "path": path,
        "status": status,
        "duration_ms": round(elapsed * 1000, 3),
        "client": f"{client[0]}:{client[1]}" if client else None,
    }
    # The record is made directly, not through access_log.info(): that walks the stack to find the
    # caller's file and line, a third of the line's cost, and the caller is always this function.
    access_log.handle(
        access_log.makeRecord(
            access_log.name, logging.INFO, __file__, 0, "%s %s %d", (method, path, status), None, extra=extra
        )
    )
