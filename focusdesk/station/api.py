"""The desk's HTTP client for the FocusDesk API (httpx), with failures sorted into what to do next.

Every call either returns the decoded answer or raises one of:

- :class:`Transient` — the network, a timeout, 5xx or 429: try again later (``retry_after`` when the
  server said how long to wait);
- :class:`SignedOutError` — 401: the token is no longer good; the person must sign in again;
- :class:`Refused` — any other 4xx: asking again the same way cannot help.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

API = "/api/v1"


class ApiError(Exception):
    def __init__(self, message: str, *, status: int | None = None, body: Any = None):
        super().__init__(message)
        self.message = message
        self.status = status
        self.body = body


class Transient(ApiError):
    def __init__(self, message: str, *, status: int | None = None, retry_after: float | None = None):
        super().__init__(message, status=status)
        self.retry_after = retry_after


class SignedOutError(ApiError):
    pass


class Refused(ApiError):
    pass


@dataclass(frozen=True, slots=True)
class CommandsReply:
    last_cmd_seq: int
    results: list[dict[str, Any]]
    resend_from: int | None = None


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """``Retry-After`` as seconds: either a number of seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError):
        return None
    return max(0.0, when - (time.time() if now is None else now))


def _message(response: httpx.Response) -> tuple[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}: {response.text[:200]}", None
    if isinstance(body, dict) and body.get("message"):
        return str(body["message"]), body
    return f"HTTP {response.status_code}", body


class ServerApi:
    """One server, one signed-in desk. ``transport`` lets tests put a flaky network in between."""

    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        *,
        timeout_s: float = 15.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ):
        self.base_url = base_url.rstrip("/")
        self.token = token
        self._http = httpx.AsyncClient(base_url=self.base_url, timeout=timeout_s, transport=transport)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _request(self, method: str, path: str, **kw) -> httpx.Response:
        headers = kw.pop("headers", {})
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        try:
            response = await self._http.request(method, API + path, headers=headers, **kw)
        except httpx.TimeoutException as exc:
            raise Transient(f"the server did not answer in time ({type(exc).__name__})") from exc
        except httpx.TransportError as exc:
            raise Transient(f"cannot reach the server at {self.base_url} ({type(exc).__name__}: {exc})") from exc
        status = response.status_code
        if status < 400 or status == 409:
            return response
        message, body = _message(response)
        if status == 429 or status >= 500:
            raise Transient(
                message, status=status, retry_after=retry_after_seconds(response.headers.get("Retry-After"))
            )
        if status == 401:
            raise SignedOutError(message, status=status, body=body)
        raise Refused(message, status=status, body=body)

    # -- calls -----------------------------------------------------------------------------------

    async def login(self, email: str, password: str, station_id: str, station_name: str) -> dict[str, Any]:
        response = await self._request(
            "POST",
            "/auth/login",
            json={"email": email, "password": password, "station_id": station_id, "station_name": station_name},
        )
        out = response.json()
        self.token = out["token"]
        return out

    async def post_commands(self, commands: list[dict[str, Any]], *, lost_before: int | None = None) -> CommandsReply:
        """Send a batch. ``lost_before``: the server lost this desk's commands below the batch and the desk
        no longer holds them either (see server/store/lost_commands.py)."""
        body: dict[str, Any] = {"commands": commands}
        if lost_before is not None:
            body["lost_before"] = lost_before
        response = await self._request("POST", "/commands", json=body)
        body = response.json()
        if response.status_code == 409:
            if not isinstance(body, dict) or "resend_from" not in body:
                raise Refused(_message(response)[0], status=409, body=body)
            return CommandsReply(body["last_cmd_seq"], body.get("results") or [], body["resend_from"])
        return CommandsReply(body["last_cmd_seq"], body["results"])

    async def sync(self, scope: str, epoch: str | None, since: int | None, limit: int = 2000) -> dict[str, Any]:
        params: dict[str, Any] = {"scope": scope, "limit": limit}
        if epoch is not None and since is not None:
            params.update(epoch=epoch, since=since)
        return (await self._request("GET", "/sync", params=params)).json()

    async def time_sample(self, wall=time.time) -> tuple[float, float, float]:
        """One clock round trip: (desk time sent, server time, desk time answered), timed on ``wall``."""
        t0 = wall()
        body = (await self._request("GET", "/time")).json()
        return t0, float(body["server_time"]), wall()

    async def me(self) -> dict[str, Any]:
        return (await self._request("GET", "/auth/me")).json()

    async def events(self) -> list[dict[str, Any]]:
        """The events this account may work at (the event picker)."""
        return (await self._request("GET", "/events")).json()

    async def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        """Any other API call, answered as decoded JSON (errors sorted as for every call)."""
        response = await self._request(method, path, json=body)
        if response.status_code == 409:
            message, payload = _message(response)
            raise Refused(message, status=409, body=payload)
        return response.json()
