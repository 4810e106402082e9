"""``GET /metrics``: the gateway's metrics in Prometheus' text format (``prometheus-client``).

Everything is collected when scraped, from the engine, so nothing is counted on the request path
but plain integer increments:

- ``dynamoray_replica_lag_records{table, replica}``: records of the table's log a follower has not
  folded yet; ``replica`` is ``gateway`` (the follower in this process) or a host actor's name.
- ``dynamoray_replica_lag_seconds{table, replica}``: the age of the oldest of them (0 when caught
  up).  Followers catch up lazily, before a read, once their state is older than the engine's
  ``max_staleness``, or at once after a write acknowledged here (``actors/follower.py``): an idle
  follower's lag grows until its next read, which catches it up first.
- ``dynamoray_reads_total{replica, consistency}``: reads served by the leader, the gateway's
  follower or a host's follower.
- ``dynamoray_open_followers{replica}``: followers held in memory by the gateway.

Engines without replicas (``--engine local``) expose the same families with no samples.
"""

from __future__ import annotations

from typing import Any, Iterable

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST

CONTENT_TYPE = CONTENT_TYPE_LATEST


class _Collector:
    def __init__(self, snapshot: Any) -> None:
        self._snapshot = snapshot  # a replicas.ReplicaMetrics, or None

    def collect(self) -> Iterable[Any]:
        snap = self._snapshot
        records = GaugeMetricFamily("dynamoray_replica_lag_records",
                                    "Log records of the table a follower has not applied yet",
                                    labels=["table", "replica"])
        seconds = GaugeMetricFamily("dynamoray_replica_lag_seconds",
                                    "Age of the oldest log record a follower has not applied yet",
                                    labels=["table", "replica"])
        for lag in snap.lags if snap is not None else ():
            records.add_metric([lag.table, lag.replica], lag.records)
            seconds.add_metric([lag.table, lag.replica], lag.seconds)
        reads = CounterMetricFamily("dynamoray_reads", "Reads served, by replica and consistency",
                                    labels=["replica", "consistency"])
        for (replica, consistent), count in sorted(snap.reads.items() if snap is not None else ()):
            reads.add_metric([replica, "strong" if consistent else "eventual"], count)
        yield from (records, seconds, reads)
        if snap is not None and snap.open_followers is not None:
            followers = GaugeMetricFamily("dynamoray_open_followers", "Followers held in memory",
                                          labels=["replica"])
            followers.add_metric(["gateway"], snap.open_followers)
            yield followers


async def render(engine: Any) -> bytes:
    """The Prometheus text exposition of ``engine``'s metrics (``replica_metrics()``, if it has it)."""
    snapshot = await engine.replica_metrics() if hasattr(engine, "replica_metrics") else None
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Collector(snapshot))
    return generate_latest(registry)
