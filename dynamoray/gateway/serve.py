"""``dynamoray serve``: the embedded default, with the durable embedded log under the data directory.

``--engine ray`` (the default) starts a private Ray bound to 127.0.0.1 and runs the catalog and the
table partitions in Ray actors (``actors/cluster.py``); ``--engine local`` keeps everything in this
process (``LocalEngine``).  Both read and write the same log layout, so a data directory can be
served by either.  SIGINT/SIGTERM stop the server cleanly; a restart on the same data directory
brings every table and item back.

With ``--kafka-bootstrap`` the log is on a Kafka cluster instead (``events/kafka.py``): the local
engine holds one ``KafkaLog``, and on the Ray engine every actor builds its own client from the
same configuration.  The data directory then only holds the root credentials; a restart against the
same cluster brings every table and item back.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from contextlib import AsyncExitStack
from pathlib import Path
from collections.abc import Iterable
from typing import Any

from .. import logs
from .credentials import load_root_credentials
from .runner import build_gateway
from .server import ServerConfig

log = logs.get("serve")

ENGINES = ("ray", "local")


def kafka_config(bootstrap: str, properties: Iterable[tuple[str, str]] = (), timeout: float = 30.0) -> Any:
    """The :class:`KafkaLogConfig` of ``--kafka-bootstrap`` plus ``--kafka-config KEY=VALUE`` pairs
    (librdkafka properties given to every client: security, SASL, client.id...)."""
    from ..events.kafka_records import KafkaLogConfig

    pairs = dict(properties)
    if "bootstrap.servers" in pairs:
        raise ValueError("give the brokers with --kafka-bootstrap, not --kafka-config bootstrap.servers")
    return KafkaLogConfig(properties={"bootstrap.servers": bootstrap, **pairs}, timeout=timeout)


def _check_kafka(config: Any) -> None:
    """Fail fast, with a clear message, when the Kafka cluster cannot be reached."""
    from ..events.kafka import KafkaLog
    from ..events.log import UnknownTopicError

    with KafkaLog(config) as probe:
        try:
            probe.partition_count("dynamoray.catalog")
        except UnknownTopicError:  # a fresh cluster: the engine creates the topic
            pass


async def _local_engine(stack: AsyncExitStack, data_dir: Path, kafka: Any = None) -> Any:
    from ..actors.local import LocalEngine

    if kafka is not None:
        from ..events.kafka import KafkaLog

        log_ = KafkaLog(kafka)
    else:
        from ..events.embedded import EmbeddedLog

        log_ = EmbeddedLog(data_dir / "log")
    from ..actors.snapshots import SnapshotPolicy, SnapshotStore

    engine = LocalEngine(log_, snapshots=SnapshotStore(data_dir / "snapshots"),
                         snapshot_policy=SnapshotPolicy.from_env())
    stack.push_async_callback(engine.close)
    return engine


async def _ray_engine(stack: AsyncExitStack, data_dir: Path, hosts: int, max_open: int, kafka: Any = None,
                      replicas: int = 2, gateway_follower: bool = True) -> Any:
    from ..actors.cluster import Cluster, ClusterConfig, init_local_ray  # first: sets Ray's loopback env

    import ray

    init_local_ray()
    stack.callback(ray.shutdown)
    log_dir = "" if kafka is not None else str(data_dir / "log")
    from ..actors.snapshots import SnapshotPolicy

    cluster = Cluster(ClusterConfig(log_dir=log_dir, hosts=hosts, max_open=max_open, kafka=kafka,
                                    snapshot_dir=str(data_dir / "snapshots"),
                                    snapshot_policy=SnapshotPolicy.from_env(),
                                    replicas=replicas, gateway_follower=gateway_follower))
    stack.callback(cluster.shutdown)
    engine = cluster.start()
    stack.push_async_callback(engine.close)
    return engine


async def serve(host: str, port: int, data_dir: Path, region: str, *, engine: str = "ray",
                hosts: int = 2, max_open: int = 256, kafka: Any = None, replicas: int = 2,
                gateway_follower: bool = True) -> None:
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}")
    if kafka is not None:
        await asyncio.to_thread(_check_kafka, kafka)
    data_dir.mkdir(parents=True, exist_ok=True)
    creds = load_root_credentials(data_dir)
    if creds.generated:
        print(
            "dynamoray: new root credentials (saved in the data directory; shown once):\n"
            f"  aws_access_key_id = {creds.access_key}\n  aws_secret_access_key = {creds.secret_key}",
            file=sys.stderr, flush=True,
        )
    async with AsyncExitStack() as stack:
        if engine == "ray":
            backend = await _ray_engine(stack, data_dir, hosts, max_open, kafka, replicas, gateway_follower)
        else:
            backend = await _local_engine(stack, data_dir, kafka)
        await backend.open()
        gateway = build_gateway(backend, creds.access_key, creds.secret_key, ServerConfig(region=region))
        await gateway.startup()
        stack.push_async_callback(gateway.cleanup)
        http = gateway.http_server()  # the gateway's own HTTP/1.1 server (gateway/http.py)
        await http.start(host, port)
        stack.push_async_callback(http.close)
        log.info("serving", endpoint=f"http://{host}:{port}", data_dir=str(data_dir), region=region,
                 engine=engine, log="kafka" if kafka is not None else "embedded")
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        log.info("stopping")


def run(host: str, port: int, data_dir: str, region: str, *, engine: str = "ray", hosts: int = 2,
        max_open: int = 256, kafka: Any = None, replicas: int = 2, gateway_follower: bool = True) -> int:
    logs.configure()
    try:
        import uvloop

        uvloop.install()
    except ImportError:  # pragma: no cover - uvloop is a dependency; plain asyncio also works
        pass
    from ..events.log import LogUnavailableError

    try:
        asyncio.run(serve(host, port, Path(data_dir), region, engine=engine, hosts=hosts, max_open=max_open,
                          kafka=kafka, replicas=replicas, gateway_follower=gateway_follower))
    except LogUnavailableError as error:
        where = kafka.properties["bootstrap.servers"] if kafka is not None else data_dir
        print(f"dynamoray: the event log at {where} is unavailable: {error}", file=sys.stderr, flush=True)
        return 1
    return 0
