"""``dynamoray serve``: the embedded default, with the durable embedded log under the data directory.

``--engine ray`` (the default) starts a private Ray bound to 127.0.0.1 and runs the catalog and the
table partitions in Ray actors (``actors/cluster.py``); ``--engine local`` keeps everything in this
process (``LocalEngine``).  Both read and write the same log layout, so a data directory can be
served by either.  SIGINT/SIGTERM stop the server cleanly; a restart on the same data directory
brings every table and item back.

With ``--kafka-bootstrap`` the log is on a Kafka cluster instead (``events/kafka.py``): the local
engine holds one ``KafkaLog``, and on the Ray engine every actor builds its own client from the
same configuration.  The data directory then only holds the root credentials (and the keyring); a
restart against the same cluster brings every table and item back.

Everything the server stores is encrypted at rest unless ``--no-encryption`` (``security.py``,
``actors/keys.py``); ``--tls-cert``/``--tls-key`` serve HTTPS, ``--endpoint-id`` names the listener
for ``aws:SourceVpce`` conditions.
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
from .security import EncryptionSetupError, SecurityOptions, TlsError, prepare_encryption
from .server import ServerConfig
from .telemetry import TelemetryOptions

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


async def _local_engine(stack: AsyncExitStack, data_dir: Path, kafka: Any = None, shards: int = 4,
                        keys: Any = None, backup_store: Any = None) -> Any:
    from ..actors.local import LocalEngine

    if kafka is not None:
        from ..events.kafka import KafkaLog

        log_ = KafkaLog(kafka)
    else:
        from ..events.embedded import EmbeddedLog

        log_ = EmbeddedLog(data_dir / "log")
    from ..actors.snapshots import SnapshotPolicy, SnapshotStore

    cipher = None
    if keys is not None:  # encryption at rest: records and snapshots sealed (actors/keys.py)
        from ..events.encryption import EncryptedLog

        log_, cipher = EncryptedLog(log_, keys), keys.file_cipher()
    store = SnapshotStore(data_dir / "snapshots", cipher)
    if backup_store is not None:  # snapshots and backups in an S3-compatible bucket
        from ..actors.object_store import S3SnapshotStore

        store = S3SnapshotStore(backup_store, cipher)
    engine = LocalEngine(log_, snapshots=store,
                         snapshot_policy=SnapshotPolicy.from_env(), shards=shards)
    stack.push_async_callback(engine.close)
    return engine


async def _ray_engine(stack: AsyncExitStack, data_dir: Path, hosts: int, max_open: int, kafka: Any = None,
                      replicas: int = 2, gateway_follower: bool = True, shards: int = 4,
                      encryption: Any = None, backup_store: Any = None, replica: Any = None,
                      ray_address: str | None = None, wait_for_zones: int = 0) -> Any:
    from ..actors.cluster import Cluster, ClusterConfig, attach_ray, init_local_ray  # first: Ray's loopback env

    import ray

    if replica is not None:  # a gateway replica (replicas.py): the first process's Ray and actors
        attach_ray(replica.ray_address)
    elif ray_address:  # a Ray cluster started with ``ray start`` (docs/deploy.md)
        attach_ray(ray_address)
        if wait_for_zones:  # hosts are placed by zone once: wait for every zone's workers
            from ..actors.cluster import wait_for_zones as wait_zones

            await asyncio.to_thread(wait_zones, wait_for_zones)
    else:
        init_local_ray()
    stack.callback(ray.shutdown)
    log_dir = "" if kafka is not None else str(data_dir / "log")
    from ..actors.snapshots import SnapshotPolicy

    cluster = Cluster(ClusterConfig(log_dir=log_dir, hosts=hosts, max_open=max_open, kafka=kafka,
                                    snapshot_dir=str(data_dir / "snapshots"),
                                    snapshot_policy=SnapshotPolicy.from_env(),
                                    replicas=replicas, gateway_follower=gateway_follower, shards=shards,
                                    encryption=encryption, object_store=backup_store))
    if replica is not None:
        engine = cluster.attach()
        stack.push_async_callback(engine.close)
        return engine
    stack.callback(cluster.shutdown)
    engine = cluster.start()
    stack.push_async_callback(engine.close)
    return engine


async def serve(host: str, port: int, data_dir: Path, region: str, *, engine: str = "ray",
                hosts: int = 2, max_open: int = 256, kafka: Any = None, replicas: int = 2,
                gateway_follower: bool = True, ttl_interval: float | None = 5.0, shards: int = 4,
                security: SecurityOptions | None = None, telemetry: TelemetryOptions | None = None,
                backup_store: Any = None, retention_interval: float | None = None,
                regions_file: str | None = None, dax_port: int | None = None, dax_settings: Any = None,
                gateways: int = 1, replica: Any = None, ray_address: str | None = None,
                wait_for_zones: int = 0, test_knobs: bool = False, split: Any = None) -> None:
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}")
    from . import replicas as gateway_replicas  # --gateways N: N processes on one port (replicas.py)

    gateway_replicas.check(gateways, engine, regions_file if replica is None else None)
    security = security or SecurityOptions()
    ssl_context = security.ssl_context()  # a bad certificate fails before anything starts
    if kafka is not None:
        await asyncio.to_thread(_check_kafka, kafka)
    if backup_store is not None:  # fail fast when the bucket cannot be reached
        from ..actors.object_store import S3Objects

        await asyncio.to_thread(S3Objects(backup_store).check)
    regions = None
    if regions_file is not None:  # global tables: the other regions (gateway/regions.py)
        from .regions import RegionMap

        regions = RegionMap.load(regions_file, region)
    data_dir.mkdir(parents=True, exist_ok=True)
    creds = load_root_credentials(data_dir)
    if creds.generated:
        print(
            "dynamoray: new root credentials (saved in the data directory; shown once):\n"
            f"  aws_access_key_id = {creds.access_key}\n  aws_secret_access_key = {creds.secret_key}",
            file=sys.stderr, flush=True,
        )
    async with AsyncExitStack() as stack:
        encryption, keys = await prepare_encryption(stack, security.encryption, data_dir, kafka, region)
        if engine == "ray":
            backend = await _ray_engine(stack, data_dir, hosts, max_open, kafka, replicas, gateway_follower, shards,
                                        encryption, backup_store, replica, ray_address, wait_for_zones)
        else:
            backend = await _local_engine(stack, data_dir, kafka, shards, keys, backup_store)
        await backend.open()
        gateway = build_gateway(backend, creds.access_key, creds.secret_key, ServerConfig(region=region),
                                ttl_interval=ttl_interval, keys=keys,  # the TTL sweeper runs with the gateway
                                telemetry=telemetry or TelemetryOptions(),  # throttling, metrics, audit, usage
                                regions=regions, replication_dir=str(data_dir / "replication"),  # global tables
                                test_knobs=test_knobs)  # the admin API's test knobs (knobs.py)
        gateway_replicas.configure(gateway, gateways, replica)
        if retention_interval:  # log retention by recovery period (actors/retention.py)
            from ..actors.retention import LogRetention

            gateway.services.append(LogRetention(backend, interval=retention_interval))
        if split is not None and engine == "ray" and replica is None:  # the automatic splitter (actors/splitter.py)
            from ..actors.splitter import Splitter

            gateway.services.append(Splitter(backend, split[0], interval=split[1]))
        dax = None
        if dax_port is not None:  # the accelerator (gateway/accelerator.py): its own port, its feed a service
            from .accelerator import attach

            dax = attach(gateway, dax_settings)
        await gateway.startup()
        stack.push_async_callback(gateway.cleanup)
        # the gateway's own HTTP/1.1 server (gateway/http.py), over TLS with --tls-cert/--tls-key
        http = gateway.http_server(ssl_context, security.endpoint_id or None)
        gateway_replicas.configure_listener(http, gateways, replica)
        bound = await http.start(host, port)
        stack.push_async_callback(http.close)
        if gateways > 1 and replica is None:  # the first process starts the others, on the port it bound
            from ..actors.cluster import ray_address

            supervisor = gateway_replicas.Supervisor(gateways, ray_address(), dict(
                host=host, port=bound[1], data_dir=str(data_dir), region=region, engine=engine, hosts=hosts,
                max_open=max_open, kafka=kafka, replicas=replicas, gateway_follower=gateway_follower, shards=shards,
                security=security, telemetry=telemetry, backup_store=backup_store,
                regions_file=regions_file))  # global tables: every process answers the replication endpoint
            supervisor.start()
            stack.push_async_callback(supervisor.stop)
        if dax is not None:
            dax_http = dax.http_server(ssl_context, security.endpoint_id or None)
            await dax_http.start(host, dax_port)
            stack.push_async_callback(dax_http.close)
            log.info("accelerator_serving", endpoint=f"{'https' if ssl_context is not None else 'http'}://{host}:{dax_port}")
        scheme = "https" if ssl_context is not None else "http"
        log.info("serving", endpoint=f"{scheme}://{host}:{port}", data_dir=str(data_dir), region=region,
                 engine=engine, log="kafka" if kafka is not None else "embedded",
                 encryption=encryption.describe() if encryption is not None else "off",
                 backup_store=backup_store.url() if backup_store is not None else str(data_dir))
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        log.info("stopping")


def run(host: str, port: int, data_dir: str, region: str, *, engine: str = "ray", hosts: int = 2,
        max_open: int = 256, kafka: Any = None, replicas: int = 2, gateway_follower: bool = True,
        ttl_interval: float | None = 5.0, shards: int = 4, security: SecurityOptions | None = None,
        telemetry: TelemetryOptions | None = None, backup_store: Any = None,
        retention_interval: float | None = None, regions_file: str | None = None, dax_port: int | None = None,
        dax_settings: Any = None, gateways: int = 1, replica: Any = None, ray_address: str | None = None,
        wait_for_zones: int = 0, test_knobs: bool = False, split: Any = None) -> int:
    logs.configure()
    try:
        import uvloop

        uvloop.install()
    except ImportError:  # pragma: no cover - uvloop is a dependency; plain asyncio also works
        pass
    from ..actors.object_store import ObjectStoreError
    from ..events.log import LogUnavailableError
    from .regions import RegionsFileError

    try:
        asyncio.run(serve(host, port, Path(data_dir), region, engine=engine, hosts=hosts, max_open=max_open,
                          kafka=kafka, replicas=replicas, gateway_follower=gateway_follower,
                          ttl_interval=ttl_interval, shards=shards, security=security, telemetry=telemetry,
                          backup_store=backup_store, retention_interval=retention_interval,
                          regions_file=regions_file, dax_port=dax_port, dax_settings=dax_settings,
                          gateways=gateways, replica=replica, ray_address=ray_address,
                          wait_for_zones=wait_for_zones, test_knobs=test_knobs, split=split))
    except (EncryptionSetupError, TlsError, ObjectStoreError, RegionsFileError) as error:
        print(f"dynamoray: {error}", file=sys.stderr, flush=True)
        return 1
    except LogUnavailableError as error:
        where = kafka.properties["bootstrap.servers"] if kafka is not None else data_dir
        print(f"dynamoray: the event log at {where} is unavailable: {error}", file=sys.stderr, flush=True)
        return 1
    return 0
