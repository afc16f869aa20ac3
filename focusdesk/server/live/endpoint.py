"""``/api/v1/live``: the WebSocket a desk keeps open to follow its scopes (DESIGN.md, "Live push").

A raw ASGI endpoint rather than a Starlette ``WebSocket``: the writer tasks call uvicorn's ``send``
directly, which is the whole per-frame cost of a fan-out to a thousand desks.

Conversation::

    station → hello{token, station_id, proto}      server → welcome{server_time, heartbeat_s, last_cmd_seq}
    station → sub{scope, epoch, since}             server → sub_ok{mode: delta|snapshot, …}, then change{…}
    station → unsub{scope}                         server → unsub_ok{scope}
                                                   server → heartbeat{server_time, heads} every heartbeat_s
    anything malformed                             server → error{code, message} (the connection stays)
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from functools import partial
from typing import Any

from focusdesk.domain import live
from focusdesk.domain.errors import DomainError
from focusdesk.domain.roles import ATTENDEE_READ
from focusdesk.server.deps import check_token_cached, token_problem
from focusdesk.server.live.connection import LiveConnection
from focusdesk.server.presence import PresenceReportRefused
from focusdesk.server.state import ServerState
from focusdesk.server.store.accounts import check_token, station_info
from focusdesk.server.store.changelog import parse_event_scope

log = logging.getLogger(__name__)

_STATION_ID = re.compile(r"^[A-Za-z0-9_\-]{1,64}$")
MAX_BAD_FRAMES = 20  # error frames answered before the connection is closed as broken


def _frame(**fields: Any) -> str:
    return json.dumps(fields, separators=(",", ":"))


def _error(code: str, message: str, **extra: Any) -> str:
    return _frame(type="error", code=code, message=message, **extra)


class _Refused(Exception):
    def __init__(self, code: int, reason: str):
        super().__init__(reason)
        self.code = code
        self.reason = reason


class LiveRoute:
    """Outermost ASGI middleware: WebSocket connections to ``/api/v1/live`` go straight to the endpoint.

    Every middleware a connection passes through wraps ``send`` and keeps a coroutine frame alive for
    the connection's lifetime; the live endpoint needs none of them (it speaks its own errors), and
    skipping them is ~10 % of a fan-out's CPU and a few KB per connected desk.
    """

    def __init__(self, app, endpoint: LiveEndpoint):
        self.app = app
        self.endpoint = endpoint

    async def __call__(self, scope: dict, receive, send) -> None:
        if scope["type"] == "websocket" and scope["path"] == live.PATH:
            await self.endpoint(scope, receive, send)
        else:
            await self.app(scope, receive, send)


class LiveEndpoint:
    """The ASGI app serving ``/api/v1/live``."""

    async def __call__(self, scope: dict, receive, send) -> None:
        if scope["type"] != "websocket":
            return
        state: ServerState = scope["app"].state.focusdesk
        first = await receive()
        if first["type"] != "websocket.connect":
            return
        await send({"type": "websocket.accept"})
        client = scope.get("client")
        ip = client[0] if client else "unknown"
        try:
            conn = await self._handshake(state, receive, send, ip)
        except _Refused as refused:
            await send({"type": "websocket.close", "code": refused.code, "reason": refused.reason})
            return
        if conn is None:
            return
        try:
            await self._serve(state, conn, receive)
        finally:
            state.hub.detach(conn)
            await conn.finish()

    # -- hello / welcome -------------------------------------------------------------------------

    async def _handshake(self, state: ServerState, receive, send, ip: str) -> LiveConnection | None:
        settings = state.settings
        try:
            message = await asyncio.wait_for(receive(), settings.live_hello_timeout_s)
        except TimeoutError:
            raise _Refused(live.CLOSE_HELLO_TIMEOUT, f"no hello within {settings.live_hello_timeout_s:g} s") from None
        if message["type"] == "websocket.disconnect":
            return None
        hello = _parse(message)
        if not isinstance(hello, dict) or hello.get("type") != "hello":
            raise _Refused(live.CLOSE_BAD_FRAME, "the first frame must be hello{token, station_id, proto}")
        if hello.get("proto") != live.PROTO:
            raise _Refused(
                live.CLOSE_BAD_FRAME, f"unsupported protocol {hello.get('proto')!r}; this server speaks {live.PROTO}"
            )
        token = hello.get("token")
        if not isinstance(token, str) or not token or len(token) > 256:
            raise _Refused(live.CLOSE_UNAUTHORIZED, "hello needs the sign-in token; sign in first")
        check = await check_token_cached(state, token)
        if check.principal is None:
            raise _Refused(live.CLOSE_UNAUTHORIZED, token_problem(check)[1])
        principal = check.principal
        station_id = hello.get("station_id") or principal.station_id
        if not isinstance(station_id, str) or not _STATION_ID.match(station_id):
            raise _Refused(live.CLOSE_BAD_FRAME, "station_id must be 1-64 letters, digits, '-' or '_'")
        if principal.station_id and station_id != principal.station_id:
            raise _Refused(live.CLOSE_FORBIDDEN, "this token was issued to another station")
        conn = LiveConnection(
            send,
            principal=principal,
            token=token,
            station_id=station_id,
            ip=ip,
            max_queue=settings.live_queue_frames,
        )
        refusal = state.hub.admit(conn, per_token=settings.live_per_token, per_ip=settings.live_per_ip)
        if refusal is not None:
            raise _Refused(live.CLOSE_TOO_MANY, refusal)
        last_cmd_seq = 0
        if principal.station_id:
            info = await state.db.read(partial(station_info, station_id=principal.station_id))
            last_cmd_seq = info["last_cmd_seq"] if info else 0
        conn.start()
        conn.enqueue(
            _frame(
                type="welcome",
                proto=live.PROTO,
                server_time=time.time(),
                heartbeat_s=state.hub.heartbeat_s,
                presence_s=state.presence.presence_s,
                last_cmd_seq=last_cmd_seq,
                station_id=station_id,
                # Who signed in, so the desk shows only what this person may do (the server still checks).
                account={
                    "id": principal.user_id,
                    "email": principal.email,
                    "grants": [{"role": g.role, "event_id": g.event_id} for g in principal.grants],
                },
            )
        )
        return conn

    # -- the conversation ------------------------------------------------------------------------

    async def _serve(self, state: ServerState, conn: LiveConnection, receive) -> None:
        bad = 0
        while True:
            message = await receive()
            if message["type"] == "websocket.disconnect":
                return
            if conn.closed.is_set():
                return
            problem = await self._handle(state, conn, message)
            if problem is None:
                continue
            bad += 1
            if bad > MAX_BAD_FRAMES:
                conn.close(live.CLOSE_BAD_FRAME, f"more than {MAX_BAD_FRAMES} malformed frames")
                return
            conn.enqueue(problem)

    async def _handle(self, state: ServerState, conn: LiveConnection, message: dict) -> str | None:
        """Act on one frame; returns an error frame to send, or None."""
        frame = _parse(message)
        if frame is _TOO_BIG:
            return _error("frame_too_large", f"frames are at most {live.MAX_CLIENT_FRAME_BYTES} bytes")
        if not isinstance(frame, dict) or not isinstance(frame.get("type"), str):
            return _error("bad_frame", "frames are JSON objects with a string 'type'")
        kind = frame["type"]
        if kind == "sub":
            return await self._sub(state, conn, frame)
        if kind == "unsub":
            scope = frame.get("scope")
            if not isinstance(scope, str):
                return _error("bad_frame", "unsub needs a scope")
            state.hub.unsubscribe(conn, scope)
            conn.enqueue(_frame(type="unsub_ok", scope=scope))
            return None
        if kind == "ping":
            # Answered by the writer like any frame; the desk times the round trip for its clock.
            ping_id = frame.get("id")
            if ping_id is not None and (type(ping_id) is not int or not 0 <= ping_id <= 2**53):
                return _error("bad_frame", "ping id must be a non-negative integer")
            conn.enqueue(_frame(type="pong", id=ping_id, server_time=time.time()))
            return None
        if kind == "presence":
            return await self._presence(state, conn, frame)
        if kind == "hello":
            return _error("bad_frame", "hello was already received on this connection")
        return _error("unknown_type", f"unknown frame type {kind[:40]!r}; expected sub, unsub, ping or presence")

    async def _presence(self, state: ServerState, conn: LiveConnection, frame: dict) -> str | None:
        """The desk's report about itself (domain/presence.py); answered only when refused."""
        try:
            await state.presence.report(conn.principal, conn.station_id, frame, conn.last_presence_at)
        except PresenceReportRefused as exc:
            return _error(exc.code, exc.message, about="presence")
        conn.last_presence_at = state.presence.clock()
        return None

    async def _sub(self, state: ServerState, conn: LiveConnection, frame: dict) -> str | None:
        scope, epoch, since = frame.get("scope"), frame.get("epoch"), frame.get("since")
        if not isinstance(scope, str) or len(scope) > 64:
            return _error("bad_frame", "sub needs a scope (event:<id>)")
        if epoch is not None and (not isinstance(epoch, str) or len(epoch) > 32):
            return _error("bad_frame", "epoch must be the string the server gave, or null", scope=scope)
        if since is not None and (type(since) is not int or not 0 <= since <= 2**53):
            return _error("bad_frame", "since must be a non-negative integer, or null", scope=scope)
        event_id = parse_event_scope(scope)
        if event_id is None:
            return _error("not_found", f"no scope '{scope[:64]}' (scopes look like event:<id>)", scope=scope)
        if not conn.principal.can(ATTENDEE_READ, event_id):
            return _error("forbidden", f"your account has no role at event {event_id}", scope=scope)
        try:
            await state.hub.subscribe(conn, scope, epoch, since)
        except DomainError as exc:
            return _error(exc.code, exc.message, scope=scope)
        except Exception:
            log.exception("live: subscribing %s to %s failed", conn.station_id, scope)
            return _error("internal", "the server could not read this scope; try again", scope=scope)
        return None


_TOO_BIG = object()


def _parse(message: dict) -> Any:
    text = message.get("text")
    if text is None:
        return None  # binary frames are not part of the protocol
    if len(text) > live.MAX_CLIENT_FRAME_BYTES:
        return _TOO_BIG
    try:
        return json.loads(text)
    except ValueError:
        return None


async def revalidate_tokens(state: ServerState, tokens: set[str]) -> dict[str, str | None]:
    """For the heartbeat: which of ``tokens`` stopped being valid, and why (a close reason).

    Tokens the cache no longer vouches for are re-read together in one transaction.
    """
    checks = {t: state.tokens.get(t) for t in tokens}
    stale = [t for t, check in checks.items() if check is None]
    if stale:
        now = time.time()
        fresh = await state.db.read(lambda c: {t: check_token(c, t, now) for t in stale})
        for token, check in fresh.items():
            state.tokens.put(token, check)
            checks[token] = check
    return {t: None if c.principal is not None else token_problem(c)[1] for t, c in checks.items()}
