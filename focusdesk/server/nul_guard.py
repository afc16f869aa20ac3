"""Refuse text containing the NUL character (U+0000) at the edge, with the field that holds it.

Why here and not per field: PostgreSQL cannot store NUL in text at all (SQLite can), so without this a
name, an email, a search or any command argument holding one failed deep inside a transaction on
PostgreSQL only — a 500 on one database and a stored value on the other. No person types NUL; it only
arrives from broken clients, bad copies and fuzzers, so one rule for every request is the honest fix.

The check is a byte search, cheap enough for the check-in hot path: JSON can only carry NUL as the
escape ``\\u0000`` (a raw NUL byte is not valid JSON and is already refused as malformed), and a query
string only as ``%00``. Only when the search hits is the body decoded, to name the field.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from focusdesk.server.errors import error_body

REASON = "must not contain the NUL character (\\u0000)"


class NulGuardMiddleware:
    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        query = scope.get("query_string", b"")
        if b"%00" in query or b"\x00" in query:
            await _refuse(
                send, [f"query.{name}" for name, value in parse_qsl(query.decode("latin-1")) if "\x00" in value]
            )
            return
        if not _is_json(scope):
            await self.app(scope, receive, send)
            return
        messages: list[Message] = []
        body = bytearray()
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            body += message.get("body", b"")
            if not message.get("more_body", False):
                break
        if b"\\u0000" in body:
            fields = _nul_fields(bytes(body))
            if fields:
                await _refuse(send, fields)
                return

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)


def _is_json(scope: Scope) -> bool:
    for name, value in scope.get("headers", ()):
        if name == b"content-type":
            return b"json" in value
    return False


def _nul_fields(body: bytes) -> list[str]:
    """Where the decoded body holds NUL (``\\\\u0000`` — an escaped backslash — is harmless text)."""
    try:
        decoded = json.loads(body)
    except ValueError:
        return []  # malformed: the route's own parser says so
    return list(_paths(decoded, "body"))


def _paths(value: Any, where: str) -> Iterator[str]:
    if isinstance(value, str):
        if "\x00" in value:
            yield where
    elif isinstance(value, dict):
        for key, item in value.items():
            if "\x00" in key:
                yield f"{where} (a key)"
            yield from _paths(item, f"{where}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _paths(item, f"{where}.{index}")


async def _refuse(send: Send, fields: list[str]) -> None:
    errors = [{"field": field, "reason": REASON} for field in fields or ["query"]]
    summary = "; ".join(f"{e['field']}: {e['reason']}" for e in errors[:3])
    body = json.dumps(error_body("invalid_input", f"Invalid input — {summary}", errors)).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 422,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})
