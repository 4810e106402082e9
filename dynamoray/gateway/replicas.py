"""Gateway replicas: ``dynamoray serve --gateways N`` runs N gateway processes on one port.

The HTTP layer (SigV4, JSON, validation, the gateway follower's reads) is CPU-bound Python, one
core per process; N processes serve N cores.  How it is arranged:

- **The first process** (replica 0, the one ``dynamoray serve`` started) starts Ray and the
  cluster's actors as usual, then starts N-1 **replica processes** (``python -m
  dynamoray.gateway.replicas``, their settings pickled on stdin) and supervises them.
- **A replica** joins that Ray as a driver (``cluster.attach_ray``), finds the actors by name
  (``Cluster.attach``) and builds a gateway of its own: its own routing cache, channels to the
  hosts and gateway follower.  All of them listen on the same address with ``SO_REUSEPORT``: the
  kernel spreads the connections over the processes (a keep-alive connection stays on one).
- **Once per server, in the first process only:** the TTL sweeper, log retention, the hooks'
  workers, auto scaling, storage samples and the accelerator (``--dax-port``).  The admin calls
  that drive hooks answer ``the hook service is not open`` on a replica; send them to the first
  process (see docs/architecture.md, "Gateway replicas").  Global tables (``--regions-file``): the
  first process runs the replicators (Ray actors) and drives replica changes, resyncing every
  ``REPLICATION_WATCH`` seconds; every process answers the replication endpoint and the
  ReplicaUpdates it receives (``gateway/replication.py``, passive).
- **Per process:** authentication, the IAM store (it follows its topic, so a change made through
  one process reaches the others within ``IAM_FOLLOW`` seconds), throttling buckets (each process
  admits up to the table's full rate: see the docs), metrics (``/metrics`` shows the process that
  answered), audit and usage buffers (each process flushes its own to the shared topics).
- **Stopping:** SIGINT/SIGTERM to the first process stops every replica (SIGTERM, then SIGKILL
  after ``STOP_TIMEOUT``).  Replicas run in their own session, so a terminal's Ctrl-C reaches only
  the first process, which then stops them; a replica whose first process died (even by SIGKILL)
  gets SIGTERM from the kernel (``PR_SET_PDEATHSIG``).  A replica that dies is started again after
  ``RESTART_DELAY`` seconds; the others serve meanwhile.

Every response of a server with replicas carries ``x-dynamoray-gateway: <index>/<pid>``.
"""

from __future__ import annotations

import asyncio
import ctypes
import dataclasses
import os
import pickle
import signal
import subprocess
import sys
from dataclasses import dataclass
from typing import Any

from .. import logs

log = logs.get("replicas")

IAM_FOLLOW = 0.5  # seconds between two catch-ups of a replica's IAM store
RESTART_DELAY = 1.0  # seconds before a dead replica is started again
STOP_TIMEOUT = 10.0  # seconds a replica has to stop before it is killed
WATCH_INTERVAL = 0.5
LOCAL_ENGINE = ("--gateways needs --engine ray: the local engine keeps every table in the one server "
                "process, so there is nothing for a second gateway process to attach to")


@dataclass(frozen=True)
class ReplicaRole:
    """What a replica process is: its index (1..N-1), the Ray it joins and the replica count."""

    index: int
    ray_address: str
    gateways: int


@dataclass(frozen=True)
class ReplicaSpec:
    """Everything a replica process needs, pickled on its stdin: ``serve.run``'s arguments."""

    role: ReplicaRole
    settings: dict


REPLICATION_WATCH = 1.0  # seconds between two resyncs of the global tables by the first process


def check(gateways: int, engine: str, regions_file: str | None = None) -> None:
    if gateways < 1:
        raise ValueError("--gateways must be at least 1")
    if gateways > 1 and engine != "ray":
        raise ValueError(LOCAL_ENGINE)


def replica_settings(settings: dict) -> dict:
    """``serve.run``'s arguments for a replica: no once-per-server service (TTL, retention, global
    tables, the accelerator), and telemetry without auto scaling or storage samples."""
    from .telemetry import TelemetryOptions

    telemetry = dataclasses.replace(settings.get("telemetry") or TelemetryOptions(), auto_scaling=False,
                                    storage_interval=float("inf"))
    return {**settings, "telemetry": telemetry, "ttl_interval": None, "retention_interval": None,
            "dax_port": None, "dax_settings": None}


def configure(gateway: Any, gateways: int, role: ReplicaRole | None) -> None:
    """Fit a built gateway to its place among the replicas (nothing to do with one gateway)."""
    if gateways <= 1:
        return
    store = getattr(gateway.authorizer, "store", None)
    if store is not None:
        store.follow_interval = IAM_FOLLOW
    if role is not None:  # a replica: the hooks' workers run in the first process only
        gateway.services = [service for service in gateway.services if service is not gateway.hooks]
    replication = getattr(gateway, "replication", None)
    if replication is not None:  # global tables: the first process replicates, every one answers
        if role is None:
            replication.watch_interval = REPLICATION_WATCH
        else:
            replication.active = False


def configure_listener(http: Any, gateways: int, role: ReplicaRole | None) -> None:
    if gateways > 1:
        http.reuse_port = True
        http.server_id = f"{role.index if role is not None else 0}/{os.getpid()}"


class Supervisor:
    """The first process's side: starts replicas 1..N-1, starts a dead one again, stops them all."""

    def __init__(self, gateways: int, ray_address: str, settings: dict) -> None:
        self.gateways = gateways
        self.ray_address = ray_address
        self.settings = replica_settings(settings)
        self.processes: dict[int, subprocess.Popen] = {}
        self.restarts = 0
        self._stopping = False
        self._watch: asyncio.Task | None = None

    def start(self) -> None:
        for index in range(1, self.gateways):
            self._spawn(index)
        self._watch = asyncio.get_running_loop().create_task(self._watching(), name="replicas-watch")

    def _spawn(self, index: int) -> None:
        spec = ReplicaSpec(ReplicaRole(index, self.ray_address, self.gateways), self.settings)
        # on the event loop's thread: the kernel's parent-death signal follows the spawning thread
        process = subprocess.Popen([sys.executable, "-m", "dynamoray.gateway.replicas"], stdin=subprocess.PIPE,
                                   start_new_session=True, env={**os.environ, "DYNAMORAY_PARENT": str(os.getpid())})
        process.stdin.write(pickle.dumps(spec))
        process.stdin.close()
        self.processes[index] = process
        log.info("replica_started", replica=index, pid=process.pid)

    def pids(self) -> dict[int, int]:
        return {index: process.pid for index, process in self.processes.items()}

    async def _watching(self) -> None:
        while not self._stopping:
            await asyncio.sleep(WATCH_INTERVAL)
            for index, process in list(self.processes.items()):
                code = process.poll()
                if code is None or self._stopping:
                    continue
                log.warning("replica_exited", replica=index, pid=process.pid, code=code, restart_in=RESTART_DELAY)
                await asyncio.sleep(RESTART_DELAY)
                if not self._stopping:
                    self.restarts += 1
                    self._spawn(index)

    async def stop(self) -> None:
        self._stopping = True
        if self._watch is not None:
            self._watch.cancel()
            await asyncio.gather(self._watch, return_exceptions=True)
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for index, process in self.processes.items():
            try:
                await asyncio.to_thread(process.wait, STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                log.warning("replica_killed", replica=index, pid=process.pid)
                process.kill()
                await asyncio.to_thread(process.wait)
        self.processes.clear()


def _die_with_parent() -> None:
    """SIGTERM this process when the first process dies (Linux; elsewhere the replica notices the
    lost Ray instead)."""
    parent = int(os.environ.get("DYNAMORAY_PARENT", "0"))
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    if parent and os.getppid() != parent:  # it died before the line above
        sys.exit(1)


def main() -> int:
    spec: ReplicaSpec = pickle.load(sys.stdin.buffer)
    _die_with_parent()
    os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    os.environ.setdefault("RAY_worker_niceness", "0")
    from .serve import run

    return run(**spec.settings, gateways=spec.role.gateways, replica=spec.role)


if __name__ == "__main__":  # pragma: no cover - a replica process (Supervisor._spawn)
    sys.exit(main())
