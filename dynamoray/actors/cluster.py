"""The Ray side of ``dynamoray serve``: a local Ray on loopback, and one dynamoray cluster's actors.

A cluster is a catalog actor plus a fixed pool of partition hosts (``ClusterConfig.hosts``, 2 by
default on a 2-core machine), all named ``<prefix>-catalog`` / ``<prefix>-host-<i>`` in the
``dynamoray`` namespace.  Tables never create actors: CreateTable is one catalog call, and a
table's partition opens on its host on first use (see ``host.py``).  Each actor opens the embedded
log on the data directory itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import ray

from .. import logs
from . import options
from .client import DEFAULT_CALL_TIMEOUT, RayEngine, RemoteActor, spawn
from .host import DEFAULT_MAX_OPEN, EmbeddedLogAt, LogPerTopic

log = logs.get("cluster")

START_TIMEOUT = 120.0  # seconds for every actor to answer after creation (worker start-up, replay)


def init_local_ray(num_cpus: int = 2) -> None:
    """Start a private Ray for this process, bound to 127.0.0.1 (see ``actors/__init__.py``)."""
    if ray.is_initialized():
        return
    ray.init(address="local", include_dashboard=False, num_cpus=num_cpus, log_to_driver=False,
             namespace=options.NAMESPACE)


@dataclass(frozen=True)
class ClusterConfig:
    log_dir: str  # the embedded log's directory (made absolute: actors do not share our cwd)
    hosts: int = 2
    max_open: int = DEFAULT_MAX_OPEN  # open partitions per host before the LRU hibernates some
    prefix: str = "dynamoray"  # actor names; distinct clusters in one Ray need distinct prefixes
    detached: bool = False
    call_timeout: float = DEFAULT_CALL_TIMEOUT
    synchronous: str = "FULL"

    def __post_init__(self) -> None:
        if self.hosts < 1:
            raise ValueError("a cluster needs at least one partition host")
        object.__setattr__(self, "log_dir", str(Path(self.log_dir).resolve()))


class Cluster:
    """Creates (or finds, by name) a cluster's actors and hands out a :class:`RayEngine` on them."""

    def __init__(self, config: ClusterConfig) -> None:
        self.config = config
        self.catalog: RemoteActor | None = None
        self.hosts: list[RemoteActor] = []

    def start(self) -> RayEngine:
        config, prefix = self.config, self.config.prefix
        factory = EmbeddedLogAt(config.log_dir, config.synchronous)
        name = f"{prefix}-catalog"
        handle = spawn(options.catalog(name, detached=config.detached), factory)
        self.catalog = RemoteActor(handle, name, config.call_timeout)
        for i in range(config.hosts):
            name = f"{prefix}-host-{i}"
            actor_class = options.partition_host(name, detached=config.detached)
            handle = spawn(actor_class, LogPerTopic(factory), max_open=config.max_open)
            self.hosts.append(RemoteActor(handle, name, config.call_timeout))
        for actor in self.actors():
            actor.call_sync("pid", timeout=START_TIMEOUT)
        log.info("cluster_started", prefix=prefix, hosts=config.hosts, log_dir=config.log_dir)
        return RayEngine(self.catalog, self.hosts, stream_log=factory())

    def actors(self) -> list[RemoteActor]:
        return ([self.catalog] if self.catalog is not None else []) + self.hosts

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
        self.catalog, self.hosts = None, []
