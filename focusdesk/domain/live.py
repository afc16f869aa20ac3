"""The live channel's wire contract, shared by the server and the station (DESIGN.md, "Live push").

Frames are JSON objects with a ``type``. Station → server: ``hello``, ``sub``, ``unsub``, ``ping``.
Server → station: ``welcome``, ``sub_ok``, ``change``, ``heartbeat``, ``pong``, ``error``. ``ping{id}`` is
answered ``pong{id, server_time}`` at once: the round trip is a clock sample for the desk. The close codes below are in
the application range (4000–4999) and mirror HTTP statuses where one fits, so a log line reads itself.
"""

from __future__ import annotations

PROTO = 1
PATH = "/api/v1/live"

# Close codes. A station reconnects after every one of them except the "sign in again" ones.
CLOSE_BAD_FRAME = 4400  # the first frame was not a valid hello, or the protocol version is unknown
CLOSE_UNAUTHORIZED = 4401  # token unknown, expired, revoked, or the account is disabled
CLOSE_FORBIDDEN = 4403  # the token belongs to another station
CLOSE_HELLO_TIMEOUT = 4408  # no hello in time
CLOSE_TOO_MANY = 4429  # connection limit per token or per address reached
CLOSE_LAGGING = 4503  # the station did not read fast enough; resume from your cursors
CLOSE_REPLACED = 4409  # the same station connected again; this older connection is closed
CLOSE_SHUTDOWN = 1001  # the server is going away (restart); reconnect

# Codes after which reconnecting with the same token cannot help.
FATAL_CLOSE_CODES = frozenset({CLOSE_UNAUTHORIZED, CLOSE_FORBIDDEN, CLOSE_BAD_FRAME})

MAX_CLIENT_FRAME_BYTES = 16 * 1024  # hello/sub frames are tiny; anything larger is refused
