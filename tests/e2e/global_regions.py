"""Regions side by side on 127.0.0.1 for the global-table tests and bench: each one a gateway on
its own port over a ``LocalEngine`` on its own durable embedded log (its own data directory),
all sharing one regions map.  A region can be stopped and started again on the same port and
directory."""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path

import boto3
from botocore.config import Config

from dynamoray.actors.local import LocalEngine
from dynamoray.actors.snapshots import SnapshotPolicy, SnapshotStore
from dynamoray.events.embedded import EmbeddedLog
from dynamoray.gateway.regions import RegionMap
from dynamoray.gateway.runner import BackgroundServer, build_gateway, free_port
from dynamoray.gateway.server import ServerConfig

ACCESS_KEY, SECRET_KEY = "AKIDGLOBALTEST", "global-secret-key"


class Region:
    def __init__(self, name: str, directory: Path, regions: dict, shards: int = 2, snapshots: bool = False,
                 engine: str = "local", kafka: str | None = None) -> None:
        self.name = name
        self.kafka = kafka  # this region's Kafka bootstrap: its log on that broker, mirrored replication
        self.engine_kind = engine  # "local" (LocalEngine) or "ray" (a RayEngine on the session's Ray)
        self.cluster = None
        self.snapshots = snapshots  # snapshot every shard after each change (a restart rebuilds from them)
        self.directory = directory
        self.port = int(regions[name]["endpoint"].rsplit(":", 1)[1])
        self._regions = regions
        self._shards = shards
        self.server: BackgroundServer | None = None
        self.engine: LocalEngine | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "Region":
        stored = {"snapshots": SnapshotStore(self.directory / "snapshots"),
                  "snapshot_policy": SnapshotPolicy(every_events=1)} if self.snapshots else {}
        if self.engine_kind == "ray":
            from dynamoray.actors.cluster import Cluster, ClusterConfig

            prefix = f"{self.name}-{uuid.uuid4().hex[:8]}"
            self.cluster = Cluster(ClusterConfig(log_dir=str(self.directory / "log"), prefix=prefix, shards=self._shards))
            self.engine = self.cluster.start()
        elif self.kafka is not None:
            self.engine = LocalEngine(kafka_log(self.kafka), shards=self._shards)
        else:
            self.engine = LocalEngine(EmbeddedLog(self.directory / "log"), shards=self._shards, **stored)
        asyncio.run(self.engine.open())
        gateway = build_gateway(self.engine, ACCESS_KEY, SECRET_KEY, ServerConfig(region=self.name), ttl_interval=None,
                                regions=RegionMap.from_mapping(self._regions, self.name),
                                replication_dir=str(self.directory / "replication"))
        gateway.replication.kafka_logs = kafka_log  # Tansu's settings (tests/kafka_broker.py)
        self.server = BackgroundServer(gateway, port=self.port).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            asyncio.run(self.engine.close())
            if self.cluster is not None:
                self.cluster.shutdown()
            self.server = self.engine = self.cluster = None

    @property
    def service(self):
        return self.server.gateway.replication

    def client(self, service: str = "dynamodb"):
        return boto3.client(service, endpoint_url=self.endpoint, region_name=self.name, aws_access_key_id=ACCESS_KEY,
                            aws_secret_access_key=SECRET_KEY, config=Config(retries={"max_attempts": 2}))


def kafka_log(bootstrap: str):
    from dynamoray.events.kafka import KafkaLog
    from tests.kafka_broker import log_config

    return KafkaLog(log_config(bootstrap))


def regions_map(names: list[str]) -> dict:
    return {name: {"endpoint": f"http://127.0.0.1:{free_port()}", "access_key_id": ACCESS_KEY,
                   "secret_access_key": SECRET_KEY} for name in names}


def start_regions(names: list[str], root: Path, shards: int = 2, snapshots: bool = False) -> dict[str, Region]:
    mapping = regions_map(names)
    return {name: Region(name, root / name, mapping, shards, snapshots).start() for name in names}


def wait_for(check, timeout: float = 20.0, interval: float = 0.05):
    """Poll ``check()`` until it returns something truthy; its last value (AssertionError on timeout)."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting; last value {value!r}")
        time.sleep(interval)


def replica_active(client, table: str, region: str) -> bool:
    for entry in client.describe_table(TableName=table)["Table"].get("Replicas", ()):
        if entry["RegionName"] == region:
            return entry["ReplicaStatus"] == "ACTIVE"
    return False


def items(client, table: str) -> dict:
    """Every item of the table by its key ``p`` (a consistent scan)."""
    out, start = {}, None
    while True:
        page = client.scan(TableName=table, ConsistentRead=True, **({"ExclusiveStartKey": start} if start else {}))
        for item in page["Items"]:
            out[item["p"]["S"]] = item
        start = page.get("LastEvaluatedKey")
        if not start:
            return out


def snapshotted(region: Region, table: str, timeout: float = 20.0) -> None:
    """Wait until every shard of ``table`` in ``region`` has a snapshot holding its last change."""
    group = region.engine._groups[table]
    store, table_id = region.engine.snapshot_store, group.table_id
    last = [state.applied_offset for state in group.states]
    wait_for(lambda: all(offset < 0 or (store.offsets(table_id, shard) or [-1])[0] >= offset
                         for shard, offset in enumerate(last)), timeout)
