"""Benchmark: the hot-path cost of issue 10 (metrics, throttling, audit, usage) per request.

A gateway over an in-memory ``LocalEngine`` (no fsync, so the figures isolate the gateway's own
work) is called in process through ``Gateway.respond``, the whole DynamoDB pipeline (SigV4,
JSON, validation, IAM, the handler) minus the socket.  Requests are signed before the timed loop.
For GetItem and PutItem on an on-demand table it measures, per configuration, the median latency
of a call and the process CPU per call, in rounds that alternate the configurations:

- ``off``: no telemetry at all (``build_gateway(..., telemetry=None)``);
- ``metrics``: the CloudWatch counters and the ConsumedCapacity every request now computes;
- ``+ throttling``: admission and charging of the token buckets;
- ``+ audit, usage``: what ``dynamoray serve`` runs by default (control-plane audit, usage meter);
- ``+ data-plane audit``: the table's data-plane calls recorded too (a CloudTrail record each).

Run: .venv/bin/python bench/bench_capacity.py [--calls 3000] [--rounds 5] [--record]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _gw_sigv4 import Signer  # noqa: E402

from dynamoray.actors.local import LocalEngine  # noqa: E402
from dynamoray.gateway.runner import build_gateway  # noqa: E402
from dynamoray.gateway.server import ServerConfig  # noqa: E402
from dynamoray.gateway.telemetry import TelemetryOptions  # noqa: E402

ACCESS, SECRET, REGION = "AKIDBENCHCAPACITY0", "bench-capacity-secret", "us-east-1"
TABLE = "bench_capacity"
HOST, PORT = "127.0.0.1", 8000
QUIET = dict(audit=False, usage=False, auto_scaling=False)
CONFIGS = {
    "off": None,
    "metrics": TelemetryOptions(throttling=False, **QUIET),
    "+ throttling": TelemetryOptions(audit=False, usage=False, auto_scaling=False),
    "+ audit, usage": TelemetryOptions(),
    "+ data-plane audit": TelemetryOptions(),
}
OPERATIONS = ("GetItem", "PutItem")


def _body(operation: str, n: int) -> dict:
    key = {"pk": {"S": f"user#{n % 500:04d}"}}
    if operation == "GetItem":
        return {"TableName": TABLE, "Key": key}
    return {"TableName": TABLE, "Item": {**key, "v": {"N": str(n)}, "data": {"S": "x" * 900}}}


def _lower(headers: dict) -> dict:
    """``Gateway.respond`` takes header names in lower case, as the HTTP server hands them over."""
    return {name.lower(): value for name, value in headers.items()}


class Target:
    """One gateway (one configuration), started, with its table loaded."""

    def __init__(self, label: str, options: TelemetryOptions | None) -> None:
        self.label = label
        self.engine = LocalEngine(shards=4)
        self.gateway = build_gateway(self.engine, ACCESS, SECRET, ServerConfig(region=REGION), ttl_interval=None,
                                     telemetry=options)
        self.signer = Signer(HOST, PORT, ACCESS, SECRET, REGION)

    async def call(self, operation: str, body: dict, headers: dict | None = None) -> None:
        raw = json.dumps(body).encode()
        headers = headers or _lower(self.signer.headers(operation, raw))
        status, answer, _ = await self.gateway.respond("POST", "/", "", headers, raw, HOST)
        if status != 200:
            raise SystemExit(f"{self.label}: {operation} answered {status}: {answer[:300]!r}")

    async def start(self) -> None:
        await self.engine.open()
        await self.gateway.startup()
        await self.call("CreateTable", {"TableName": TABLE, "BillingMode": "PAY_PER_REQUEST",
                                        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
                                        "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}]})
        for n in range(500):
            await self.call("PutItem", _body("PutItem", n))
        if self.label == "+ data-plane audit":
            await self.gateway.telemetry.auditor.set_data_plane(TABLE, True)

    async def stop(self) -> None:
        await self.gateway.cleanup()
        await self.engine.close()


def _signed(target: Target, operation: str, calls: int) -> list[tuple[dict, bytes]]:
    out = []
    for n in range(calls):
        raw = json.dumps(_body(operation, n)).encode()
        out.append((_lower(target.signer.headers(operation, raw)), raw))
    return out


async def _measure(target: Target, operation: str, requests: list[tuple[dict, bytes]]) -> tuple[list[float], float]:
    latencies = []
    respond = target.gateway.respond
    cpu = time.process_time()
    for headers, raw in requests:
        start = time.perf_counter()
        status, answer, _ = await respond("POST", "/", "", headers, raw, HOST)
        latencies.append(time.perf_counter() - start)
        if status != 200:
            raise SystemExit(f"{target.label}: {operation} answered {status}: {answer[:300]!r}")
    return latencies, (time.process_time() - cpu) / len(requests)


async def bench(calls: int, rounds: int) -> list[dict]:
    targets = [Target(label, options) for label, options in CONFIGS.items()]
    for target in targets:
        await target.start()
    pooled: dict[tuple[str, str], list[float]] = {}
    cpus: dict[tuple[str, str], list[float]] = {}
    try:
        for round_ in range(rounds):
            order = targets[round_ % len(targets):] + targets[:round_ % len(targets)]
            for operation in OPERATIONS:
                for target in order:
                    signed = _signed(target, operation, calls)
                    await _measure(target, operation, signed[: max(1, calls // 10)])  # warm up
                    latencies, cpu = await _measure(target, operation, signed)
                    pooled.setdefault((target.label, operation), []).extend(latencies)
                    cpus.setdefault((target.label, operation), []).append(cpu)
    finally:
        for target in targets:
            await target.stop()
    rows = []
    for operation in OPERATIONS:
        base = statistics.median(cpus[("off", operation)])
        for label in CONFIGS:
            cpu = statistics.median(cpus[(label, operation)])
            rows.append({"operation": operation, "config": label,
                         "p50_us": statistics.median(pooled[(label, operation)]) * 1e6,
                         "cpu_us": cpu * 1e6, "extra_cpu_us": (cpu - base) * 1e6})
    return rows


def table(rows: list[dict]) -> str:
    lines = ["| operation | configuration | p50 µs | CPU µs/call | extra CPU µs/call vs off |", "|---|---|---|---|---|"]
    for row in rows:
        lines.append(f"| {row['operation']} | {row['config']} | {row['p50_us']:.0f} | {row['cpu_us']:.0f} | "
                     f"{row['extra_cpu_us']:+.0f} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=3000, help="calls per operation, configuration and round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--record", action="store_true", help="append the table to docs/benchmarks.md")
    args = parser.parse_args()
    try:
        import uvloop

        uvloop.install()
    except ImportError:  # pragma: no cover
        pass
    rows = asyncio.run(bench(args.calls, args.rounds))
    text = table(rows)
    print(text)
    if args.record:
        load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
        stamp = time.strftime("%a %d %b %Y, %H:%M UTC", time.gmtime())
        section = (f"\n### Run of {stamp}\n\n- **Command:** `.venv/bin/python bench/bench_capacity.py --calls {args.calls} "
                   f"--rounds {args.rounds} --record`\n- **Load average at start:** {load}\n\n{text}\n")
        path = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"
        path.write_text(path.read_text() + section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
