"""``GET /metrics``: the gateway's metrics in Prometheus' text format (``prometheus-client``).

Everything is collected when scraped, so nothing is counted on the request path but plain
increments on a :class:`Recorder` (no lock, no label lookup: each (table, operation) has one
``_Cell`` of counters, made once).  The gateway's event loop is the only writer and the only
reader, so a scrape sees whole requests.

**CloudWatch's DynamoDB metrics**, named ``dynamodb_<CloudWatch name>`` with CloudWatch's
dimensions as labels (``TableName``, ``Operation``, ``GlobalSecondaryIndexName``; "" where a
dimension does not apply):

- ``dynamodb_ConsumedReadCapacityUnits_total`` / ``dynamodb_ConsumedWriteCapacityUnits_total``
  ``{TableName, GlobalSecondaryIndexName, Operation}``: capacity units consumed (the table's own,
  local indexes included, with GlobalSecondaryIndexName "", and each GSI's).
- ``dynamodb_ProvisionedReadCapacityUnits`` / ``dynamodb_ProvisionedWriteCapacityUnits``
  ``{TableName, GlobalSecondaryIndexName}``: provisioned rates of the tables this gateway served.
- ``dynamodb_ReadThrottleEvents_total`` / ``dynamodb_WriteThrottleEvents_total``
  ``{TableName, GlobalSecondaryIndexName, Operation}``: throttled keys (a batch counts each);
  ``dynamodb_ThrottledRequests_total{TableName, Operation}``: requests with a throttled key.
- ``dynamodb_SuccessfulRequestLatency{TableName, Operation}``: a histogram in milliseconds, as
  CloudWatch reports it, of the requests that succeeded (measured inside the gateway).
- ``dynamodb_SystemErrors_total`` (HTTP 500s), ``dynamodb_UserErrors_total`` (other 400s, except
  the three below), ``dynamodb_ConditionalCheckFailedRequests_total``,
  ``dynamodb_TransactionConflict_total``, each ``{TableName, Operation}``; an error raised before
  the request named a table (authentication, validation) counts with TableName "".
- ``dynamodb_ReturnedItemCount{TableName, Operation}``: a summary (count and sum) of the items
  Query, Scan and ExecuteStatement returned.
- ``dynamodb_ReplicationLatency{TableName, Replica}`` (milliseconds) and
  ``dynamodb_AgeOfOldestUnreplicatedRecord{TableName, Replica}`` (seconds): the lag of the
  followers of each table's log, and for global tables the replication latency to each other
  region (``Replica``: the region), whose own families are in ``_GlobalTables``.

**dynamoray's own** (as before): ``dynamoray_replica_lag_records{table, replica}``,
``dynamoray_replica_lag_seconds{table, replica}``, ``dynamoray_reads_total{replica,
consistency}``, ``dynamoray_open_followers{replica}``, and ``dynamoray_audit_dropped_total``.
Engines without replicas (``--engine local``) expose the replica families with no samples.
"""

from __future__ import annotations

import bisect
from collections import deque
from typing import Any, Iterable

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily,
                                    SummaryMetricFamily)
from prometheus_client.exposition import CONTENT_TYPE_LATEST

CONTENT_TYPE = CONTENT_TYPE_LATEST
LATENCY_BUCKETS_MS = (0.5, 1.0, 2.5, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 2500.0, 5000.0)
HISTORY = 300  # dashboard samples kept (one a second: five minutes)


class _Cell:
    """Counters of one (table, operation)."""

    __slots__ = ("read", "write", "throttled", "read_events", "write_events", "system", "user", "conditional",
                 "conflict", "items", "item_requests", "latency_count", "latency_sum", "latency_buckets")

    def __init__(self) -> None:
        self.read = self.write = 0.0
        self.throttled = self.read_events = self.write_events = 0
        self.system = self.user = self.conditional = self.conflict = 0
        self.items = self.item_requests = self.latency_count = 0
        self.latency_sum = 0.0
        self.latency_buckets = [0] * (len(LATENCY_BUCKETS_MS) + 1)


class _IndexCell:
    __slots__ = ("read", "write", "read_events", "write_events")

    def __init__(self) -> None:
        self.read = self.write = 0.0
        self.read_events = self.write_events = 0


class Recorder:
    """The counters behind the CloudWatch families, and a short history for the dashboard."""

    def __init__(self) -> None:
        self.cells: dict[tuple[str, str], _Cell] = {}
        self.indexes: dict[tuple[str, str, str], _IndexCell] = {}
        self.history: deque = deque(maxlen=HISTORY)  # (time, {table: totals tuple})
        self.audit_dropped = 0

    def cell(self, table: str, operation: str) -> _Cell:
        cell = self.cells.get((table, operation))
        if cell is None:
            cell = self.cells[(table, operation)] = _Cell()
        return cell

    def index_cell(self, table: str, index: str, operation: str) -> _IndexCell:
        cell = self.indexes.get((table, index, operation))
        if cell is None:
            cell = self.indexes[(table, index, operation)] = _IndexCell()
        return cell

    def forget(self, table: str) -> None:
        """Drop a deleted table's counters (its series end, and memory stays bounded)."""
        for key in [k for k in self.cells if k[0] == table]:
            del self.cells[key]
        for key in [k for k in self.indexes if k[0] == table]:
            del self.indexes[key]

    def latency(self, cell: _Cell, milliseconds: float) -> None:
        cell.latency_count += 1
        cell.latency_sum += milliseconds
        cell.latency_buckets[bisect.bisect_left(LATENCY_BUCKETS_MS, milliseconds)] += 1

    # --- the dashboard's history ------------------------------------------------------------------

    def totals(self) -> dict[str, tuple]:
        """Per table: (read units, write units, successful requests, latency sum ms, throttled
        requests, errors, provisioned read, provisioned write) so far (the last two filled in by
        :meth:`sample`)."""
        out: dict[str, list] = {}
        for (table, _), cell in self.cells.items():
            if not table:
                continue
            entry = out.setdefault(table, [0.0, 0.0, 0, 0.0, 0, 0])
            entry[0] += cell.read
            entry[1] += cell.write
            entry[2] += cell.latency_count
            entry[3] += cell.latency_sum
            entry[4] += cell.throttled
            entry[5] += cell.system + cell.user + cell.conditional + cell.conflict
        for (table, _, _), cell in self.indexes.items():
            entry = out.setdefault(table, [0.0, 0.0, 0, 0.0, 0, 0])
            entry[0] += cell.read
            entry[1] += cell.write
        return {table: tuple(values) for table, values in out.items()}

    def sample(self, now: float, provisioned: dict[str, tuple[float, float]] | None = None) -> None:
        """Keep the totals at ``now`` (wall-clock seconds), with each table's provisioned rates."""
        provisioned = provisioned or {}
        snapshot = {table: values + provisioned.get(table, (0.0, 0.0)) for table, values in self.totals().items()}
        self.history.append((now, snapshot))

    def series(self) -> dict:
        """The dashboard's data: per sample interval and table, the rates between two samples."""
        points = []
        samples = list(self.history)
        for (t0, before), (t1, after) in zip(samples, samples[1:]):
            span = max(t1 - t0, 1e-6)
            tables = {}
            for table, now in after.items():
                was = before.get(table, (0.0, 0.0, 0, 0.0, 0, 0, 0.0, 0.0))
                requests = now[2] - was[2]
                tables[table] = {
                    "ConsumedReadCapacityUnits": (now[0] - was[0]) / span,
                    "ConsumedWriteCapacityUnits": (now[1] - was[1]) / span,
                    "SuccessfulRequests": requests / span,
                    "SuccessfulRequestLatency": (now[3] - was[3]) / requests if requests else 0.0,
                    "ThrottledRequests": (now[4] - was[4]) / span,
                    "Errors": (now[5] - was[5]) / span,
                    "ProvisionedReadCapacityUnits": now[6],
                    "ProvisionedWriteCapacityUnits": now[7],
                }
            points.append({"time": t1, "tables": tables})
        return {"points": points, "interval": (samples[-1][0] - samples[-2][0]) if len(samples) > 1 else None}


# --- the Prometheus text -------------------------------------------------------------------------


def _counter(name: str, doc: str, labels: list[str]) -> CounterMetricFamily:
    return CounterMetricFamily(name, doc, labels=labels)


class _CloudWatch:
    def __init__(self, recorder: Recorder, limits: Iterable[Any], lags: Iterable[Any]) -> None:
        self._recorder, self._limits, self._lags = recorder, list(limits), list(lags)

    def collect(self) -> Iterable[Any]:
        r = self._recorder
        families = {
            "read": _counter("dynamodb_ConsumedReadCapacityUnits", "Read capacity units consumed",
                             ["TableName", "GlobalSecondaryIndexName", "Operation"]),
            "write": _counter("dynamodb_ConsumedWriteCapacityUnits", "Write capacity units consumed",
                              ["TableName", "GlobalSecondaryIndexName", "Operation"]),
            "read_events": _counter("dynamodb_ReadThrottleEvents", "Throttled reads (per key)",
                                    ["TableName", "GlobalSecondaryIndexName", "Operation"]),
            "write_events": _counter("dynamodb_WriteThrottleEvents", "Throttled writes (per key)",
                                     ["TableName", "GlobalSecondaryIndexName", "Operation"]),
        }
        plain = {
            "throttled": _counter("dynamodb_ThrottledRequests", "Requests with a throttled key", ["TableName", "Operation"]),
            "system": _counter("dynamodb_SystemErrors", "Requests answered with HTTP 500", ["TableName", "Operation"]),
            "user": _counter("dynamodb_UserErrors", "Requests answered with a client error", ["TableName", "Operation"]),
            "conditional": _counter("dynamodb_ConditionalCheckFailedRequests", "Writes whose condition failed",
                                    ["TableName", "Operation"]),
            "conflict": _counter("dynamodb_TransactionConflict", "Requests refused by a transaction conflict",
                                 ["TableName", "Operation"]),
        }
        latency = HistogramMetricFamily("dynamodb_SuccessfulRequestLatency",
                                        "Latency of successful requests, in milliseconds", labels=["TableName", "Operation"])
        items = SummaryMetricFamily("dynamodb_ReturnedItemCount", "Items returned by Query, Scan and ExecuteStatement",
                                    labels=["TableName", "Operation"])
        for (table, operation), cell in sorted(r.cells.items()):
            for name in ("read", "write", "read_events", "write_events"):
                families[name].add_metric([table, "", operation], getattr(cell, name))
            for name, family in plain.items():
                family.add_metric([table, operation], getattr(cell, name))
            if cell.latency_count:
                buckets, running = [], 0
                for bound, count in zip(LATENCY_BUCKETS_MS + (float("inf"),), cell.latency_buckets):
                    running += count
                    buckets.append((str(bound) if bound != float("inf") else "+Inf", running))
                latency.add_metric([table, operation], buckets, cell.latency_sum)
            if cell.item_requests:
                items.add_metric([table, operation], cell.item_requests, cell.items)
        for (table, index, operation), cell in sorted(r.indexes.items()):
            for name in ("read", "write", "read_events", "write_events"):
                families[name].add_metric([table, index, operation], getattr(cell, name))
        yield from families.values()
        yield from plain.values()
        yield latency
        yield items
        yield from self._provisioned()
        yield from self._replication()
        dropped = CounterMetricFamily("dynamoray_audit_dropped", "Audit records dropped (the audit log was unavailable)")
        dropped.add_metric([], r.audit_dropped)
        yield dropped

    def _provisioned(self) -> Iterable[Any]:
        from ..core.throttle import READ, provisioned_rates

        read = GaugeMetricFamily("dynamodb_ProvisionedReadCapacityUnits", "Provisioned read capacity units",
                                 labels=["TableName", "GlobalSecondaryIndexName"])
        write = GaugeMetricFamily("dynamodb_ProvisionedWriteCapacityUnits", "Provisioned write capacity units",
                                  labels=["TableName", "GlobalSecondaryIndexName"])
        for limits in sorted(self._limits, key=lambda lim: lim.name):
            for index, kind, rate in provisioned_rates(limits):
                (read if kind == READ else write).add_metric([limits.name, index or ""], rate)
        return read, write

    def _replication(self) -> Iterable[Any]:
        latency = GaugeMetricFamily("dynamodb_ReplicationLatency",
                                    "Lag of a table's follower replica behind its log, in milliseconds",
                                    labels=["TableName", "Replica"])
        age = GaugeMetricFamily("dynamodb_AgeOfOldestUnreplicatedRecord",
                                "Age of the oldest log record a follower has not applied, in seconds",
                                labels=["TableName", "Replica"])
        for lag in self._lags:
            latency.add_metric([lag.table, lag.replica], lag.seconds * 1000)
            age.add_metric([lag.table, lag.replica], lag.seconds)
        return latency, age


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


class _GlobalTables:
    """Global tables (``gateway/replication.py``): per (table, source region, receiving region),
    ``dynamoray_replication_pending_records``, ``dynamoray_replication_latency_ms`` (origin commit
    to acknowledged by the receiving region, the last batch's mean) and
    ``dynamoray_replication_sent_total``."""

    def __init__(self, stats: list) -> None:
        self._stats = stats

    def collect(self) -> Iterable[Any]:
        labels = ["TableName", "SourceRegion", "ReceivingRegion"]
        pending = GaugeMetricFamily("dynamoray_replication_pending_records",
                                    "Log records of the table not yet acknowledged by the receiving region", labels=labels)
        latency = GaugeMetricFamily("dynamoray_replication_latency_ms",
                                    "Replication latency of the last batch (origin commit to applied), ms", labels=labels)
        sent = CounterMetricFamily("dynamoray_replication_sent", "Changes applied by the receiving region", labels=labels)
        for s in sorted(self._stats, key=lambda s: (s.table, s.target)):
            pending.add_metric([s.table, s.source, s.target], s.pending)
            latency.add_metric([s.table, s.source, s.target], s.latency_ms)
            sent.add_metric([s.table, s.source, s.target], s.sent)
        return pending, latency, sent


class _ReplicaLag:
    """A global-table replica as CloudWatch's ReplicationLatency reports it (Replica: the region)."""

    __slots__ = ("table", "replica", "seconds", "records")

    def __init__(self, stats: Any) -> None:
        self.table, self.replica = stats.table, stats.target
        self.seconds, self.records = stats.latency_ms / 1000, stats.pending


class _Partitions:
    """``dynamoray_table_partitions{table}``: the ranges of shards a table is cut into (shards step
    2: each range on one partition host; 1 until it is split)."""

    def __init__(self, counts: dict[str, int]) -> None:
        self._counts = counts

    def collect(self) -> Iterable[Any]:
        family = GaugeMetricFamily("dynamoray_table_partitions", "Ranges of shards the table is cut into, "
                                   "each on one partition host", labels=["table"])
        for table, count in sorted(self._counts.items()):
            family.add_metric([table], count)
        yield family


async def render(engine: Any, telemetry: Any = None, replication: Any = None, accelerator: Any = None) -> bytes:
    """The Prometheus text exposition of ``engine``'s metrics (``replica_metrics()``, if it has it)
    and, with ``telemetry`` (``gateway/telemetry.py``), the CloudWatch families; with
    ``replication`` (global tables), its replicators' latency and pending records; with
    ``accelerator`` (``gateway/accelerator.py``), its caches' ``dynamoray_dax_*`` families."""
    snapshot = await engine.replica_metrics() if hasattr(engine, "replica_metrics") else None
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Collector(snapshot))
    if hasattr(engine, "partition_counts"):  # the Ray engine's partition maps (actors/routing.py)
        registry.register(_Partitions(engine.partition_counts()))
    stats = replication.metrics() if replication is not None else []
    if stats:
        registry.register(_GlobalTables(stats))
    if accelerator is not None:
        registry.register(accelerator.collector())
    if telemetry is not None:
        lags = list(snapshot.lags) if snapshot is not None else []
        lags.extend(_ReplicaLag(s) for s in stats)  # ReplicationLatency{TableName, Replica=the region}
        registry.register(_CloudWatch(telemetry.recorder, telemetry.limits(), lags))
    return generate_latest(registry)
