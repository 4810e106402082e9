"""The Ray side of ``dynamoray serve``: a local Ray on loopback, and one dynamoray cluster's actors.

A cluster is a catalog actor plus a fixed pool of partition hosts (``ClusterConfig.hosts``, 2 by
default on a 2-core machine), all named ``<prefix>-catalog`` / ``<prefix>-host-<i>`` in the
``dynamoray`` namespace.  Tables never create actors: CreateTable is one catalog call, and a
table's partition opens on its host on first use (see ``host.py``).  Each actor opens the embedded
log on the data directory itself, or, with ``ClusterConfig.kafka``, builds its own Kafka client from
the configuration (one per process: every partition of a host shares it, see ``SharedLogOf``).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import ray

from .. import logs
from ..core.shards import DEFAULT_SHARDS, check_count
from . import options
from .follower import DEFAULT_MAX_STALENESS, KAFKA_MAX_STALENESS, FollowerSet
from .replicas import host_followers
from .client import DEFAULT_CALL_TIMEOUT, LazyActor, RayEngine, RemoteActor, spawn
from ..events.log import EventLog
from .host import DEFAULT_MAX_OPEN, EmbeddedLogAt, LogPerTopic, TopicLogs

log = logs.get("cluster")

START_TIMEOUT = 120.0  # seconds for every actor to answer after creation (worker start-up, replay)


def init_local_ray(num_cpus: int = 2) -> None:
    """Start a private Ray for this process, bound to 127.0.0.1 (see ``actors/__init__.py``)."""
    if ray.is_initialized():
        return
    ray.init(address="local", include_dashboard=False, num_cpus=num_cpus, log_to_driver=False,
             namespace=options.NAMESPACE)


def ray_address() -> str:
    """The address of this process's Ray (its GCS, ``host:port``), for processes that attach to it."""
    return ray.get_runtime_context().gcs_address


def wait_for_zones(count: int, timeout: float = 600.0, poll: float = 1.0) -> list[str]:
    """Wait until the Ray cluster's live nodes carry ``count`` zones (node label
    ``options.ZONE_LABEL``), then the zones: hosts are placed by zone once, when the cluster
    starts, so a gateway started with the head node (``ray up``, docker compose) waits for the
    workers of every zone to join first."""
    deadline = time.monotonic() + timeout
    while True:
        zones = options.cluster_zones()
        if len(zones) >= count:
            return zones
        if time.monotonic() >= deadline:
            raise SystemExit(f"dynamoray: the Ray cluster advertises zones {zones} after {timeout:.0f} s, "
                             f"not the {count} --wait-for-zones asks for")
        log.info("waiting_for_zones", zones=zones, wanted=count)
        time.sleep(poll)


def attach_ray(address: str) -> None:
    """Join the Ray another process started (:func:`ray_address`) as a driver in the ``dynamoray``
    namespace, where the cluster's named actors are (a gateway replica: ``gateway/replicas.py``)."""
    if ray.is_initialized():
        return
    ray.init(address=address, log_to_driver=False, namespace=options.NAMESPACE)


@dataclass(frozen=True)
class KafkaLogAt:
    """A picklable factory of :class:`~dynamoray.events.kafka.KafkaLog`: each process (catalog,
    every host, the gateway's stream reader) builds its own client from the same configuration.
    Building one makes no network call; its producer connects on the first write."""

    config: Any  # a dynamoray.events.kafka_records.KafkaLogConfig

    def __call__(self) -> EventLog:
        from ..events.kafka import KafkaLog

        return KafkaLog(self.config)


class SharedLogOf:
    """The :class:`~.host.TopicLogs` of a host on Kafka: every partition shares one log, built in
    the host's own process on first use and closed with the host.

    A Kafka client is meant to be shared (one idempotent producer costs ~0.5 s on its first
    produce), and hibernating a partition frees nothing worth a fresh client.  Picklable: only
    the factory travels to the actor."""

    def __init__(self, factory: Callable[[], EventLog]) -> None:
        self.factory = factory
        self._log: EventLog | None = None
        self._lock = threading.Lock()

    def __getstate__(self) -> dict:
        return {"factory": self.factory}

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["factory"])

    def acquire(self, topic: str) -> EventLog:
        with self._lock:
            if self._log is None:
                self._log = self.factory()
            return self._log

    def release(self, topic: str, log: EventLog) -> None:
        pass

    def close(self) -> None:
        with self._lock:
            log, self._log = self._log, None
        if log is not None:
            log.close()


@dataclass(frozen=True)
class ClusterConfig:
    log_dir: str = ""  # the embedded log's directory (made absolute: actors do not share our cwd)
    hosts: int = 2
    max_open: int = DEFAULT_MAX_OPEN  # open partitions per host before the LRU hibernates some
    prefix: str = "dynamoray"  # actor names; distinct clusters in one Ray need distinct prefixes
    detached: bool = False
    call_timeout: float = DEFAULT_CALL_TIMEOUT
    synchronous: str = "FULL"
    kafka: Any = None  # a KafkaLogConfig: the log is on Kafka, and log_dir is not used
    # partition snapshots: "" puts them next to the embedded log (``<log_dir>/../snapshots``);
    # on Kafka without one, partitions rebuild from the whole log
    snapshot_dir: str = ""
    snapshot_policy: Any = None  # a snapshots.SnapshotPolicy (None: the defaults)
    # replicas of each partition (``replicas.py``): the leader, a follower in the gateway
    # (``gateway_follower``), then followers in the next hosts; ``max_staleness``: seconds a
    # follower's state may age before a read makes it catch up from the log (None: 5 ms on the
    # embedded log, whose reads are local; 100 ms on Kafka, where each catch-up is a broker round trip)
    replicas: int = 2
    gateway_follower: bool = True
    max_staleness: float | None = None
    # shards (log partitions) of each new table: its key space is hashed into them (``core/shards.py``);
    # a table keeps the count it was created with
    shards: int = DEFAULT_SHARDS
    # encryption at rest (``keys.EncryptionConfig``): every record and snapshot is sealed; None: plaintext
    encryption: Any = None
    # snapshots and backup files in an S3-compatible bucket (``object_store.S3Location``) instead of
    # ``snapshot_dir``
    object_store: Any = None

    def __post_init__(self) -> None:
        check_count(self.shards)
        if self.hosts < 1:
            raise ValueError("a cluster needs at least one partition host")
        if self.replicas < 1:
            raise ValueError("a partition needs at least one replica (its leader)")
        if self.kafka is None and not self.log_dir:
            raise ValueError("a cluster needs a log: log_dir (embedded) or kafka")
        if self.log_dir:
            object.__setattr__(self, "log_dir", str(Path(self.log_dir).resolve()))
        if not self.snapshot_dir and self.log_dir:
            object.__setattr__(self, "snapshot_dir", str(Path(self.log_dir).parent / "snapshots"))
        if self.snapshot_dir:
            object.__setattr__(self, "snapshot_dir", str(Path(self.snapshot_dir).resolve()))

    def snapshot_store(self) -> Any:
        from .snapshots import SnapshotStore

        if self.object_store is not None:
            from .object_store import S3SnapshotStore

            return S3SnapshotStore(self.object_store, self._keys().file_cipher() if self.encryption is not None else None)
        if not self.snapshot_dir:
            return None
        return SnapshotStore(self.snapshot_dir, self._keys().file_cipher() if self.encryption is not None else None)

    def log_factory(self) -> Callable[[], EventLog]:
        """A picklable factory of this cluster's log, called in each process that needs one."""
        if self.encryption is not None:  # the same log, sealed (``keys.py``)
            from .keys import EncryptedLogAt

            return EncryptedLogAt(self.encryption.bound(self._plain_log_factory()))
        return self._plain_log_factory()

    def _plain_log_factory(self) -> Callable[[], EventLog]:
        if self.kafka is not None:
            return KafkaLogAt(self.kafka)
        return EmbeddedLogAt(self.log_dir, self.synchronous)

    def _keys(self) -> Any:
        from .keys import keys_for

        return keys_for(self.encryption.bound(self._plain_log_factory()))

    def topic_logs(self, factory: Callable[[], EventLog]) -> TopicLogs:
        """How a host hands out log handles: one per open partition on the embedded log (so a
        hibernated partition holds no file or thread), one shared client on Kafka."""
        return SharedLogOf(factory) if self.kafka is not None else LogPerTopic(factory)

    def follower_staleness(self) -> float:
        if self.max_staleness is not None:
            return self.max_staleness
        return KAFKA_MAX_STALENESS if self.kafka is not None else DEFAULT_MAX_STALENESS

    def describe_log(self) -> str:
        if self.kafka is not None:
            return f"kafka:{self.kafka.properties.get('bootstrap.servers', '?')}"
        return self.log_dir


class Cluster:
    """Creates (or finds, by name) a cluster's actors and hands out a :class:`RayEngine` on them."""

    def __init__(self, config: ClusterConfig) -> None:
        self.config = config
        self.catalog: RemoteActor | None = None
        self.hosts: list[RemoteActor] = []
        self.coordinator: RemoteActor | None = None  # transactions (coordinator.py)

    def start(self) -> RayEngine:
        config, prefix = self.config, self.config.prefix
        factory = config.log_factory()
        name = f"{prefix}-catalog"
        handle = spawn(options.catalog(name, detached=config.detached), factory)
        self.catalog = RemoteActor(handle, name, config.call_timeout)
        zones = options.cluster_zones()
        for i in range(config.hosts):
            name = f"{prefix}-host-{i}"
            actor_class = options.partition_host(name, detached=config.detached, zone=options.zone_of(i, zones))
            handle = spawn(actor_class, config.topic_logs(factory), max_open=config.max_open,
                           snapshots=config.snapshot_store(), snapshot_policy=config.snapshot_policy,
                           coordinator=LazyActor(f"{prefix}-coordinator", config.call_timeout),
                           catalog=LazyActor(f"{prefix}-catalog", config.call_timeout))  # partition maps (moves.py)
            self.hosts.append(RemoteActor(handle, name, config.call_timeout))
        self.coordinator = self._start_coordinator(factory)
        for actor in self.actors():
            actor.call_sync("pid", timeout=START_TIMEOUT)
        log.info("cluster_started", prefix=prefix, hosts=config.hosts, log=config.describe_log(),
                 replicas=config.replicas, shards=config.shards, zones=zones)
        return self._engine(factory)

    def attach(self) -> RayEngine:
        """Find the actors another process started (by name, in this process's Ray: see
        :func:`attach_ray`) and hand out an engine of this process on them, with its own routing
        cache, channels and gateway followers: what a gateway replica runs (``gateway/replicas.py``).
        The actors stay owned by the process that started them; :meth:`shutdown` is not for this one."""
        config, prefix = self.config, self.config.prefix
        timeout = config.call_timeout

        def find(name: str) -> RemoteActor:
            return RemoteActor(ray.get_actor(name, namespace=options.NAMESPACE), name, timeout)

        self.catalog = find(f"{prefix}-catalog")
        self.hosts = [find(f"{prefix}-host-{i}") for i in range(config.hosts)]
        self.coordinator = find(f"{prefix}-coordinator")
        for actor in self.actors():
            actor.call_sync("pid", timeout=START_TIMEOUT)
        log.info("cluster_attached", prefix=prefix, hosts=config.hosts, log=config.describe_log())
        return self._engine(config.log_factory())

    def _engine(self, factory: Callable[[], EventLog]) -> RayEngine:
        config = self.config
        engine = RayEngine(self.catalog, self.hosts, stream_log=factory(), coordinator=self.coordinator,
                           followers=self._gateway_followers(factory),
                           host_followers=host_followers(config.replicas, config.hosts, config.gateway_follower),
                           shards=config.shards)
        engine.snapshot_store = config.snapshot_store()  # read by backups (``backups.service_for``)
        engine.cluster_config = config  # hooks run their members as actors of this cluster (``hooks.py``)
        return engine

    def _gateway_followers(self, factory: Callable[[], EventLog]) -> FollowerSet | None:
        """The gateway's followers (``follower.py``), if this cluster's replicas include one."""
        config = self.config
        if config.replicas < 2 or not config.gateway_follower:
            return None
        return FollowerSet(config.topic_logs(factory), name="gateway", max_open=config.max_open,
                           max_staleness=config.follower_staleness(), snapshots=config.snapshot_store(),
                           owns_logs=True)

    def _start_coordinator(self, factory: Callable[[], EventLog]) -> RemoteActor:
        from .ray_transactions import HostsByName

        config, name = self.config, f"{self.config.prefix}-coordinator"
        hosts = HostsByName(tuple(actor.name for actor in self.hosts), config.call_timeout,
                            catalog=f"{self.config.prefix}-catalog")
        handle = spawn(options.coordinator(name, detached=config.detached), factory, hosts)
        return RemoteActor(handle, name, config.call_timeout)

    def actors(self) -> list[RemoteActor]:
        coordinator = [self.coordinator] if self.coordinator is not None else []
        return ([self.catalog] if self.catalog is not None else []) + self.hosts + coordinator

    def pids(self) -> dict[str, int]:
        return {actor.name: actor.call_sync("pid") for actor in self.actors()}

    def shutdown(self) -> None:
        """Close every actor (flushes nothing that is not already durable) and remove it."""
        for actor in self.actors():
            try:
                actor.call_sync("close", timeout=10)
            except Exception as error:  # noqa: BLE001 - a dead actor has nothing to close
                log.warning("actor_close_failed", actor=actor.name, error=repr(error))
            ray.kill(actor.handle, no_restart=True)
        self.catalog, self.hosts, self.coordinator = None, [], None
