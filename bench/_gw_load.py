"""The load generator: timed phases of concurrent keep-alive clients, and their statistics.

A phase runs ``clients`` coroutines on one event loop, each with its own connection.  Every client
loop is bounded twice: the phase stops at ``max_requests`` calls or after ``duration`` seconds,
whichever comes first, and the whole phase is abandoned ``grace`` seconds past its duration.  With
the raw client, the next request is signed while the current one is in flight, so signing overlaps
the server's work (each request still gets its own date and signature, milliseconds before it leaves).
Latency is from writing the request to reading the whole response.  Server CPU is the utime + stime
of the server's process tree over the phase (10 ms ticks, from /proc); client CPU is this process's own
(``time.process_time``).
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from dataclasses import dataclass, field
from typing import Callable

from _gw_http import connection
from _gw_procs import machine_busy_seconds, tree_cpu_seconds
from _gw_sigv4 import Signer

Picker = Callable[[], tuple[str, bytes]]


@dataclass(frozen=True)
class Phase:
    name: str
    mix: tuple[tuple[str, float], ...]  # (operation, share of calls)
    clients: int


@dataclass(frozen=True)
class Limits:
    duration: float = 2.0
    max_requests: int = 50_000
    grace: float = 30.0


@dataclass
class PhaseResult:
    latencies: list[float] = field(default_factory=list)  # seconds, one per completed call
    errors: int = 0
    elapsed: float = 0.0
    server_cpu: float = 0.0
    client_cpu: float = 0.0
    other_cpu: float = 0.0  # what every other process on the machine used meanwhile (noise)
    first_error: str | None = None
    by_operation: dict[str, list[float]] = field(default_factory=dict)  # the latencies of a mix's operations

    @property
    def calls(self) -> int:
        return len(self.latencies)


class _Budget:
    """At most ``max_requests`` calls, none started after ``duration`` (but at least one call)."""

    def __init__(self, limits: Limits) -> None:
        self.max = self.left = max(1, limits.max_requests)
        self.deadline = time.perf_counter() + limits.duration

    def take(self) -> bool:
        if self.left <= 0 or (time.perf_counter() >= self.deadline and self.left < self.max):
            return False
        self.left -= 1
        return True


def picker(phase: Phase, pools: dict[str, list[bytes]], rng: random.Random) -> Picker:
    """Cycles through the body pools from a random start; draws the operation by the phase's mix."""
    cursors = {op: rng.randrange(len(pools[op])) for op, _ in phase.mix}
    ops = [op for op, _ in phase.mix]
    weights = [share for _, share in phase.mix]

    def pick() -> tuple[str, bytes]:
        op = ops[0] if len(ops) == 1 else rng.choices(ops, weights)[0]
        pool = pools[op]
        cursors[op] = (cursors[op] + 1) % len(pool)
        return op, pool[cursors[op]]

    return pick


async def _client(conn, signer: Signer, pick: Picker, budget: _Budget, result: PhaseResult) -> None:
    op, body = pick()
    headers = signer.headers(op, body)
    while budget.take():
        started = time.perf_counter()
        sent = op
        pending = conn.start(headers, body)
        if conn.sends_on_start:  # sign the next request while this one is in flight
            op, body = pick()
            headers = signer.headers(op, body)
        status, answer = await pending
        latency = time.perf_counter() - started
        result.latencies.append(latency)
        result.by_operation.setdefault(sent, []).append(latency)
        if status != 200:
            result.errors += 1
            result.first_error = result.first_error or f"{sent} {status} {answer[:300].decode(errors='replace')}"
        if not conn.sends_on_start:
            op, body = pick()
            headers = signer.headers(op, body)


async def run_phase(port: int, server_pid: int, signer: Signer, phase: Phase, pools: dict[str, list[bytes]],
                    limits: Limits, client_kind: str = "raw", seed: int = 0) -> PhaseResult:
    conns = [connection(client_kind, "127.0.0.1", port) for _ in range(phase.clients)]
    await asyncio.gather(*(c.open() for c in conns))
    rng = random.Random(seed)
    result = PhaseResult()
    try:
        busy0, cpu0, own0 = machine_busy_seconds(), tree_cpu_seconds(server_pid), time.process_time()
        budget = _Budget(limits)
        started = time.perf_counter()
        try:
            async with asyncio.timeout(limits.duration + limits.grace), asyncio.TaskGroup() as group:
                for conn in conns:
                    pick = picker(phase, pools, random.Random(rng.random()))
                    group.create_task(_client(conn, signer, pick, budget, result))
        except Exception as exc:  # a timeout, a hung or broken server: reported, bench goes on
            result.errors += 1
            result.first_error = result.first_error or f"phase aborted: {type(exc).__name__} {exc!r:.300}"
        result.elapsed = time.perf_counter() - started
        own1 = time.process_time()
        result.server_cpu = tree_cpu_seconds(server_pid) - cpu0
        result.client_cpu = own1 - own0
        result.other_cpu = max(0.0, machine_busy_seconds() - busy0 - result.server_cpu - result.client_cpu)
    finally:
        await asyncio.gather(*(c.close() for c in conns), return_exceptions=True)
    return result


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile of an ascending list (q in 0..1)."""
    if not sorted_values:
        return math.nan
    return sorted_values[max(0, math.ceil(q * len(sorted_values)) - 1)]


@dataclass(frozen=True)
class Summary:
    calls: int
    errors: int
    p50_ms: float
    p99_ms: float
    ops_per_s: float
    server_us_per_call: float
    client_us_per_call: float
    others_pct: float  # CPU of every other process during the phases, in % of one core
    first_error: str | None
    operations: dict[str, tuple[float, float]] = field(default_factory=dict)  # op -> (p50 ms, p99 ms)


def summarize(results: list[PhaseResult]) -> Summary:
    """Pools the rounds: latencies together, throughput and CPU as totals over totals."""
    latencies = sorted(v for r in results for v in r.latencies)
    calls = len(latencies)
    elapsed = sum(r.elapsed for r in results)
    per_call = (lambda seconds: seconds / calls * 1e6) if calls else (lambda seconds: math.nan)
    return Summary(
        calls=calls,
        errors=sum(r.errors for r in results),
        p50_ms=percentile(latencies, 0.50) * 1e3,
        p99_ms=percentile(latencies, 0.99) * 1e3,
        ops_per_s=calls / elapsed if elapsed else math.nan,
        server_us_per_call=per_call(sum(r.server_cpu for r in results)),
        client_us_per_call=per_call(sum(r.client_cpu for r in results)),
        others_pct=sum(r.other_cpu for r in results) / elapsed * 100 if elapsed else math.nan,
        first_error=next((r.first_error for r in results if r.first_error), None),
        operations=_by_operation(results),
    )


def _by_operation(results: list[PhaseResult]) -> dict[str, tuple[float, float]]:
    """Each operation's p50 and p99 in ms, pooled over the rounds (what a mix hides)."""
    pooled: dict[str, list[float]] = {}
    for r in results:
        for op, values in r.by_operation.items():
            pooled.setdefault(op, []).extend(values)
    return {op: (percentile(sorted(v), 0.50) * 1e3, percentile(sorted(v), 0.99) * 1e3) for op, v in pooled.items()}
