"""The scaling bench's moving parts: one configuration's server, the simulated Ray cluster of the
``nodes`` mode, and the load, spread over several client processes.

A configuration's server is ``dynamoray serve`` on a free 127.0.0.1 port (``--hosts``, ``--shards``,
``--gateways``; ``--ray-address`` of a simulated cluster in the ``nodes`` mode), started and stopped
by its PID.  The load is the gateway bench's: keep-alive SigV4-signed clients cycling pre-built
request bodies (``_gw_load.run_phase``), here in ``procs`` processes at once so the load generator
is not the bottleneck on a bigger machine; the processes start together at a wall-clock instant.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path

from _gw_load import Limits, Phase, PhaseResult, percentile, run_phase
from _gw_procs import free_port, tree_cpu_seconds
from _gw_sigv4 import Signer
from _gw_targets import HOST, Target, _launch, _started, _wait_for_replicas

ACCESS_KEY, SECRET_KEY, REGION = "AKIDBENCHSCALING0000", "bench-scaling-secret", "us-east-1"
RAY_ENV = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "RAY_USAGE_STATS_ENABLED": "0"}


@dataclass(frozen=True)
class Config:
    """One point of the sweep: ``nodes`` 0 runs the server's own private Ray (or no Ray at all with
    the local engine); ``nodes`` N > 0 a simulated cluster of N worker nodes, one zone each."""

    engine: str = "ray"
    hosts: int = 1
    shards: int = 1
    tables: int = 1
    gateways: int = 1
    nodes: int = 0

    @property
    def label(self) -> str:
        if self.engine == "local":
            return f"local s{self.shards} t{self.tables}"
        where = f"n{self.nodes} " if self.nodes else ""
        return f"{where}h{self.hosts} s{self.shards} t{self.tables} g{self.gateways}"


def signer(port: int) -> Signer:
    return Signer(HOST, port, ACCESS_KEY, SECRET_KEY, REGION)


def start_server(workdir: Path, config: Config, ray_address: str | None = None, extra: tuple[str, ...] = ()) -> Target:
    name = "scale-" + config.label.replace(" ", "-")
    port = free_port(HOST)
    argv = [sys.executable, "-m", "dynamoray.cli", "serve", "--host", HOST, "--port", str(port),
            "--data-dir", str(workdir / f"{name}-data"), "--engine", config.engine, "--shards", str(config.shards)]
    if config.engine == "ray":
        argv += ["--hosts", str(config.hosts)]
        if config.gateways > 1:
            argv += ["--gateways", str(config.gateways)]
        if ray_address:
            argv += ["--ray-address", ray_address, "--wait-for-zones", str(config.nodes)]
    argv += list(extra)
    env = dict(os.environ, DYNAMORAY_ROOT_CREDENTIALS=f"{ACCESS_KEY}:{SECRET_KEY}", **RAY_ENV)
    proc = _launch(name, argv, workdir, env)
    target = _started(name, port, proc, "/health", 300, real=True, stop_signal=signal.SIGINT)
    if config.gateways > 1 and config.engine == "ray":
        _wait_for_replicas(target, config.gateways)
    return target


class SimulatedCluster:
    """``ray.cluster_utils.Cluster`` on loopback: a head without a zone and ``nodes`` worker nodes,
    node i labelled zone ``zone-n<i>``, so dynamoray places host i on node i (``options.zone_placement``)."""

    def __init__(self, nodes: int) -> None:
        os.environ.update(RAY_ENV)
        from ray.cluster_utils import Cluster

        from dynamoray.actors.options import ZONE_LABEL

        self.cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
        for i in range(nodes):
            self.cluster.add_node(num_cpus=0, labels={ZONE_LABEL: f"zone-n{i:02d}"})
        self.cluster.wait_for_nodes()

    @property
    def address(self) -> str:
        return self.cluster.address

    def pids(self) -> list[int]:
        """The Ray processes of every node (their workers, the actors, are their children)."""
        nodes = [self.cluster.head_node, *self.cluster.worker_nodes]
        return [info.process.pid for node in nodes for infos in node.all_processes.values() for info in infos
                if info.process is not None]

    def shutdown(self) -> None:
        self.cluster.shutdown()


# --- the load ---------------------------------------------------------------------------------------


@dataclass
class LoadResult:
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    first_error: str | None = None
    elapsed: float = 0.0  # the longest client process's wall time
    client_cpu: float = 0.0
    server_cpu: float = 0.0  # seconds of CPU of the server's process trees while the load ran

    @property
    def calls(self) -> int:
        return len(self.latencies)

    def figures(self) -> dict:
        ordered = sorted(self.latencies)
        busy = self.server_cpu / self.elapsed if self.elapsed else float("nan")
        ops = self.calls / self.elapsed if self.elapsed else float("nan")
        return {"calls": self.calls, "errors": self.errors, "ops_per_s": ops,
                "p50_ms": percentile(ordered, 0.5) * 1e3, "p99_ms": percentile(ordered, 0.99) * 1e3,
                "server_cores": busy, "server_us_per_call": self.server_cpu / self.calls * 1e6 if self.calls else float("nan"),
                "ops_per_server_core": ops / busy if busy else float("nan"), "first_error": self.first_error}


def _ready() -> int:
    import uvloop  # noqa: F401 - imported once per worker before the timed phases

    return os.getpid()


def _drive(port: int, phase: Phase, pools: dict, limits: Limits, seed: int, start_at: float) -> PhaseResult:
    import uvloop

    time.sleep(max(0.0, start_at - time.time()))
    return uvloop.run(run_phase(port, os.getpid(), signer(port), phase, pools, limits, "raw", seed))


class LoadGenerator:
    """``procs`` client processes, started once (spawned: the bench may hold Ray's threads)."""

    def __init__(self, procs: int) -> None:
        self.procs = procs
        self.pool = ProcessPoolExecutor(max_workers=procs, mp_context=get_context("spawn"))
        [future.result() for future in [self.pool.submit(_ready) for _ in range(procs)]]

    def run(self, port: int, mix: tuple, clients: int, pools: dict, duration: float, max_requests: int,
            server_pids: list[int], seed: int = 0) -> LoadResult:
        """``clients`` connections split over the processes, for ``duration`` seconds."""
        shares = [clients // self.procs + (1 if i < clients % self.procs else 0) for i in range(self.procs)]
        shares = [n for n in shares if n > 0]
        limits = Limits(duration, max(1, max_requests // len(shares)))
        start_at = time.time() + 0.5
        before = sum(tree_cpu_seconds(pid) for pid in server_pids)
        futures = [self.pool.submit(_drive, port, Phase("scaling", mix, n), pools, limits, seed + i, start_at)
                   for i, n in enumerate(shares)]
        parts = [future.result() for future in futures]
        out = LoadResult(server_cpu=sum(tree_cpu_seconds(pid) for pid in server_pids) - before)
        for part in parts:
            out.latencies += part.latencies
            out.errors += part.errors
            out.first_error = out.first_error or part.first_error
            out.elapsed = max(out.elapsed, part.elapsed)
            out.client_cpu += part.client_cpu
        out.server_cpu = max(0.0, out.server_cpu)
        return out

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)
