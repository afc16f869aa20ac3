"""A lean route for the one request desks send all day: `POST /api/v1/commands`.

Measured on the check-in benchmark, FastAPI's per-request machinery (route matching over every route,
dependency solving, exception and exit-stack wrappers) cost more CPU than applying the check-in itself.
This middleware answers the *ordinary* case — a cached desk token, a declared-length JSON body that
validates — by calling the very same :func:`apply_commands` the route uses, with the same pydantic
model. Everything else (no or unknown token, bad JSON, oversized or chunked bodies, not a desk) is
handed to the normal FastAPI route untouched, with any body already read replayed, so every error
answer, the OpenAPI schema and the docs stay exactly those of the route.
"""

from __future__ import annotations

from pydantic import ValidationError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from focusdesk.server.api_models import CommandsIn
from focusdesk.server.deps import bearer_token
from focusdesk.server.routers.commands import apply_commands


class CommandsFastPath:
    def __init__(self, app: ASGIApp, path: str, max_body: int):
        self.app = app
        self.path = path
        self.max_body = max_body
        self.served = 0  # requests answered here rather than by the route (for tests and metrics)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] != self.path:
            await self.app(scope, receive, send)
            return
        auth = length = None
        json_body = False
        for name, value in scope["headers"]:
            if name == b"authorization":
                auth = value
            elif name == b"content-length":
                length = value
            elif name == b"content-type":
                json_body = value.split(b";", 1)[0].strip().lower() == b"application/json"
        state = getattr(scope["app"].state, "focusdesk", None)
        principal = self._desk(state, auth)
        if principal is None or not json_body or length is None or not length.isdigit() or int(length) > self.max_body:
            await self.app(scope, receive, send)
            return
        raw, first_messages = await self._read_body(receive)
        if b"\\u0000" in raw:  # possibly a NUL in the text: the long way, through NulGuardMiddleware
            await self.app(scope, _replaying(first_messages, receive), send)
            return
        try:
            body = CommandsIn.model_validate_json(raw)
        except ValidationError:
            await self.app(scope, _replaying(first_messages, receive), send)
            return
        response = await apply_commands(state, principal, body)
        self.served += 1
        await response(scope, receive, send)

    @staticmethod
    def _desk(state, auth: bytes | None):
        """The desk principal behind a cached, valid desk token; None sends the request the long way."""
        token = bearer_token(auth.decode("latin-1")) if state is not None and auth is not None else None
        if token is None:
            return None
        check = state.tokens.get(token)
        if check is None or check.principal is None or not check.principal.station_id:
            return None
        return check.principal

    @staticmethod
    async def _read_body(receive: Receive) -> tuple[bytes, list[Message]]:
        messages: list[Message] = []
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request" or not message.get("more_body", False):
                break
        return b"".join(m.get("body", b"") for m in messages if m["type"] == "http.request"), messages


def _replaying(messages: list[Message], receive: Receive) -> Receive:
    pending = list(messages)

    async def replay() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replay
