"""The server's Prometheus metrics (``GET /metrics``, routers/metrics.py).

Two kinds:

- *counted as it happens*: requests by route and status with their latency (the request observer,
  observer.py) and desk commands by type and outcome (routers/commands.py, once the outcome is
  committed);
- *read at scrape time* from what the server already keeps: live connections and lagging closes (the
  hub), the change-log head of every scope (``scope_head``), desks online/offline (presence), the
  fan-out link. Nothing on the hot path pays for these.

The counting is plain dictionaries of integers, turned into metric families only when scraped: every
count happens on the server's event loop thread, so the client library's per-sample locks and layers
(measured: a third of the observer's cost per request) buy nothing here. Each app has its own
:class:`CollectorRegistry`, never the process-wide default one: tests run many servers in one process,
and each must report only its own.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.utils import floatToGoString
from sqlalchemy import Connection, select

from focusdesk import __version__
from focusdesk.server.schema import scope_head

__all__ = ["CONTENT_TYPE_LATEST", "UNMATCHED", "ServerMetrics"]

UNMATCHED = "<unmatched>"  # the route label of a request no route matched (never the raw path)
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# Finer than the client library's defaults at the low end: most answers here take a few milliseconds.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_BUCKET_LABELS = [*(floatToGoString(b) for b in LATENCY_BUCKETS), "+Inf"]


class _Latency:
    """One histogram series: a count per bucket (not cumulative until scraped) and the sum."""

    __slots__ = ("counts", "total")

    def __init__(self) -> None:
        self.counts = [0] * (len(LATENCY_BUCKETS) + 1)
        self.total = 0.0

    def cumulative(self) -> list[tuple[str, int]]:
        running, out = 0, []
        for label, count in zip(_BUCKET_LABELS, self.counts, strict=True):
            running += count
            out.append((label, running))
        return out


class ServerMetrics:
    """One server's counters, and the scrape that adds what is read from the server's state."""

    def __init__(self, command_types: Iterable[str] = ()) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(self)
        # (method, route, status) -> requests; (method, route) -> latency; (type, status) -> commands.
        # Bounded: routes are templates, methods and statuses few, command types known.
        self._requests: dict[tuple[str, str, int], int] = {}
        self._latency: dict[tuple[str, str], _Latency] = {}
        self._commands: dict[tuple[str, str], int] = {}
        # Command types come from the desks: anything not known is counted as "unknown", so a bad
        # client cannot create series at will.
        self._command_types = frozenset(command_types)

    # -- counted as it happens (on the event loop) -----------------------------------------------

    def observe_request(self, method: str, route: str, status: int, seconds: float | None) -> None:
        if method not in _METHODS:
            method = "other"  # the method is the client's to choose: no new series for each made-up one
        key = (method, route, status)
        requests = self._requests
        requests[key] = requests.get(key, 0) + 1
        if seconds is not None:
            series = self._latency.get((method, route))
            if series is None:
                series = self._latency[(method, route)] = _Latency()
            series.counts[bisect_left(LATENCY_BUCKETS, seconds)] += 1
            series.total += seconds

    def count_commands(self, answered: Iterable[tuple[str, str]]) -> None:
        """``answered``: (command type, applied|rejected) for each command answered for the first time."""
        commands = self._commands
        for kind, status in answered:
            key = (kind if kind in self._command_types else "unknown", status)
            commands[key] = commands.get(key, 0) + 1

    def collect(self) -> Iterator[Metric]:
        """The counts above as metric families (the registry calls this when scraped)."""
        requests = CounterMetricFamily(
            "focusdesk_http_requests",
            "HTTP requests answered, by method, route template and status (the live WebSocket: GET 101)",
            labels=("method", "route", "status"),
        )
        for (method, route, status), count in list(self._requests.items()):
            requests.add_metric((method, route, str(status)), count)
        latency = HistogramMetricFamily(
            "focusdesk_http_request_duration_seconds",
            "Time from a request's arrival to the end of its answer, by method and route template",
            labels=("method", "route"),
        )
        for labels, series in list(self._latency.items()):
            latency.add_metric(labels, series.cumulative(), series.total)
        commands = CounterMetricFamily(
            "focusdesk_commands",
            "Desk commands answered for the first time (replays are not counted), by type and outcome",
            labels=("type", "status"),
        )
        for labels, count in list(self._commands.items()):
            commands.add_metric(labels, count)
        return iter((requests, latency, commands))

    # -- the scrape ------------------------------------------------------------------------------

    async def render(self, state: Any) -> bytes:
        """The exposition text: the counters above plus what ``state`` holds right now."""
        heads = await state.db.read(_read_heads)
        presence = getattr(state, "presence", None)
        desks = await presence.counts() if presence is not None else None
        return generate_latest(_Scrape(self.registry, _state_families(state, heads, desks)))


class _Scrape:
    """What :func:`generate_latest` collects from: the registry's metrics, then the scrape-time ones."""

    def __init__(self, registry: CollectorRegistry, extra: list[Metric]):
        self.registry = registry
        self.extra = extra

    def collect(self) -> Iterator[Metric]:
        yield from self.registry.collect()
        yield from self.extra


def _read_heads(conn: Connection) -> dict[str, int]:
    return {scope: head for scope, head in conn.execute(select(scope_head.c.scope, scope_head.c.head_seq))}


def _state_families(state: Any, heads: dict[str, int], desks: dict[str, int] | None) -> list[Metric]:
    info = GaugeMetricFamily(
        "focusdesk_info", "This server process: version and instance id", labels=("version", "instance")
    )
    info.add_metric((__version__, state.instance_id), 1)
    hub = state.hub
    connections = GaugeMetricFamily("focusdesk_live_connections", "Desks connected to /api/v1/live right now")
    connections.add_metric((), len(hub.connections))
    lagging = CounterMetricFamily(
        "focusdesk_live_lagging_closes", "Live connections closed because the desk could not keep up"
    )
    lagging.add_metric((), hub.lagging_closes)
    head = GaugeMetricFamily(
        "focusdesk_changelog_head", "The change log's last seq, per scope (an event)", labels=("scope",)
    )
    for scope, seq in sorted(heads.items()):
        head.add_metric((scope,), seq)
    families: list[Metric] = [info, connections, lagging, head]
    if desks is not None:
        by_state = GaugeMetricFamily("focusdesk_desks", "Desks by presence state", labels=("state",))
        for name, count in sorted(desks.items()):
            by_state.add_metric((name,), count)
        families.append(by_state)
    if state.fanout is not None:
        fanout = GaugeMetricFamily(
            "focusdesk_fanout_connected", "1 while the link to the other instances (Redis) is up, else 0"
        )
        fanout.add_metric((), 1 if state.fanout.connected else 0)
        families.append(fanout)
    return families
