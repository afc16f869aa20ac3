"""Signing a desk in: email + password → a desk-bound token, kept safe (keyring or a private file)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from focusdesk.station.api import ServerApi
from focusdesk.station.credentials import TokenStore


@dataclass(frozen=True, slots=True)
class SignedIn:
    token: str
    user: dict[str, Any]
    station_id: str
    station_name: str
    last_cmd_seq: int  # the server's watermark for this desk: new commands are numbered above it
    stored_in: str  # "keyring", or the path of the private file
    warning: str | None  # said to the person when the token could not go to a keyring


async def sign_in(
    server_url: str,
    email: str,
    password: str,
    *,
    station_id: str,
    station_name: str,
    store: TokenStore,
    transport: httpx.AsyncBaseTransport | None = None,
) -> SignedIn:
    """Raises :class:`~focusdesk.station.api.ApiError` subclasses with the server's words on failure."""
    api = ServerApi(server_url, transport=transport)
    try:
        out = await api.login(email, password, station_id, station_name)
    finally:
        await api.aclose()
    where = store.save(server_url, station_id, out["token"])
    station = out.get("station") or {}
    return SignedIn(
        token=out["token"],
        user=out["user"],
        station_id=station_id,
        station_name=station.get("name", station_name),
        last_cmd_seq=int(station.get("last_cmd_seq", 0)),
        stored_in=where,
        warning=None if where == "keyring" else store.warning,
    )
