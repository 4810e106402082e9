"""Benchmark: the cost of encryption at rest.

Three measurements, each with and without encryption:

1. **Per record**: µs to encode an ``ItemChanged`` and seal it (the write path), and to open and
   decode it (replay, followers, streams), for a small and a 1 KB item; the bytes added per record.
2. **Replay**: records per second folded by a partition rebuild from the log (100k small items).
3. **Over HTTP**: PutItem and GetItem round trips on a local-engine gateway over the durable
   embedded log (keep-alive, one client).

Run: .venv/bin/python bench/bench_encryption.py [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _gw_sigv4 import Signer  # noqa: E402

from dynamoray.actors import records  # noqa: E402
from dynamoray.actors.keys import EncryptionConfig, KeyManager  # noqa: E402
from dynamoray.actors.local import LocalEngine  # noqa: E402
from dynamoray.actors.snapshots import rebuild  # noqa: E402
from dynamoray.core.commands import ItemChange  # noqa: E402
from dynamoray.core.keys import KeySchema  # noqa: E402
from dynamoray.events.embedded import EmbeddedLog  # noqa: E402
from dynamoray.events.encryption import EncryptedLog  # noqa: E402
from dynamoray.events.keyring import LocalKeyring  # noqa: E402
from dynamoray.events.log import Record  # noqa: E402
from dynamoray.events.memory import MemoryLog  # noqa: E402
from dynamoray.gateway.runner import BackgroundServer, build_gateway  # noqa: E402
from dynamoray.gateway.server import ServerConfig  # noqa: E402

REGION, TOPIC = "us-east-1", "dynamoray.table.bench"
ITEMS = {
    "small item (~60 B)": {"pk": {"S": "user#000123"}, "n": {"N": "42"}, "s": {"S": "ok"}},
    "1 KB item": {"pk": {"S": "user#000123"}, "blob": {"S": "x" * 1000}, "n": {"N": "42"}},
}


def _keys(directory: Path, log) -> KeyManager:
    keyring = LocalKeyring.create(directory / f"keyring-{time.monotonic_ns()}.json")
    return KeyManager(EncryptionConfig(keyring=str(keyring.path)), keyring, log)


def _best(function, runs: int) -> float:
    """µs per call, best of 5 rounds."""
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(runs):
            function()
        best = min(best, (time.perf_counter() - start) / runs)
    return best * 1e6


def per_record(directory: Path, runs: int) -> list[tuple[str, float, float, float, float, int]]:
    """(item, encode plain, encode+seal, open+decode, decode plain, bytes added) per item shape."""
    inner = MemoryLog()
    log = EncryptedLog(inner, _keys(directory, inner))
    encode = records.change_encoder("bench")
    out = []
    for label, item in ITEMS.items():
        change = ItemChange("INSERT", {"pk": item["pk"]}, None, item)
        plain = encode(change)
        sealed = log.seal(TOPIC, 0, [plain])[0]
        record = [Record(0, 0, sealed)]
        out.append((
            label,
            _best(lambda: encode(change), runs),  # noqa: B023  (called before the loop moves on)
            _best(lambda: log.seal(TOPIC, 0, [encode(change)]), runs),  # noqa: B023  (called before the loop moves on)
            _best(lambda: records.decode_change(log.open(TOPIC, 0, record)[0].value), runs),  # noqa: B023  (called before the loop moves on)
            _best(lambda: records.decode_change(plain), runs),  # noqa: B023  (called before the loop moves on)
            len(sealed) - len(plain),
        ))
    return out


def replay(directory: Path, count: int) -> list[tuple[str, float]]:
    """Records per second folded by a rebuild of one partition, plain and encrypted (best of 3,
    taken in turns so that load from elsewhere hits both alike)."""
    encode = records.change_encoder("bench")
    values = [encode(ItemChange("INSERT", {"pk": {"S": f"k{i}"}}, None, {"pk": {"S": f"k{i}"}, "n": {"N": str(i)}}))
              for i in range(count)]
    logs = {}
    for label in ("plain", "encrypted"):
        inner = MemoryLog()
        log = logs[label] = inner if label == "plain" else EncryptedLog(inner, _keys(directory, inner))
        log.create_topic(TOPIC, 1)
        with log.open_writer(TOPIC, 0) as writer:
            for start in range(0, count, 5000):
                writer.append(values[start:start + 5000])
    best = {label: 0.0 for label in logs}
    for _ in range(3):
        for label, log in logs.items():
            started = time.perf_counter()
            rebuilt = rebuild(log, TOPIC, "bench", KeySchema("pk", "S"))
            best[label] = max(best[label], count / (time.perf_counter() - started))
            assert rebuilt.state.item_count == count
    return list(best.items())


def _post(connection, signer: Signer, operation: str, body: dict) -> None:
    raw = json.dumps(body).encode()
    connection.request("POST", "/", body=raw, headers=signer.headers(operation, raw))
    response = connection.getresponse()
    response.read()
    if response.status != 200:
        raise SystemExit(f"{operation} answered {response.status}")


def _timed(connection, signer, operation: str, bodies) -> list[float]:
    samples = []
    for body in bodies:
        start = time.perf_counter()
        _post(connection, signer, operation, body)
        samples.append(time.perf_counter() - start)
    return samples


def _summary(samples: list[float]) -> tuple[float, float]:
    return statistics.median(samples) * 1e6, statistics.quantiles(samples, n=100)[98] * 1e6


def over_http(directory: Path, requests: int, block: int = 50) -> list[tuple[str, str, float, float]]:
    """PutItem then GetItem round trips on two servers, plain and encrypted, in alternating blocks
    of ``block`` requests (so that load from elsewhere hits both alike)."""
    servers, samples = {}, {}
    try:
        for label in ("plain", "encrypted"):
            plain = EmbeddedLog(directory / f"log-{label}")
            keys = _keys(directory, plain) if label == "encrypted" else None
            engine = LocalEngine(EncryptedLog(plain, keys) if keys else plain)
            asyncio.run(engine.open())
            server = BackgroundServer(build_gateway(engine, "AKROOT", "secret", ServerConfig(region=REGION),
                                                    ttl_interval=None, keys=keys)).start()
            connection = http.client.HTTPConnection(server.host, server.port, timeout=30)
            signer = Signer(server.host, server.port, "AKROOT", "secret", REGION)
            servers[label] = (engine, server, connection, signer)
            _post(connection, signer, "CreateTable", {
                "TableName": "bench", "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
                "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}], "BillingMode": "PAY_PER_REQUEST"})
            _timed(connection, signer, "PutItem", [{"TableName": "bench", "Item": {"pk": {"S": "warm"}}}] * 20)
        for operation in ("PutItem", "GetItem"):
            for start in range(0, requests, block):
                for label, (_, _, connection, signer) in servers.items():
                    keys = range(start, min(start + block, requests))
                    bodies = ([{"TableName": "bench", "Item": {"pk": {"S": f"k{i}"}, "v": {"S": "v" * 100}}} for i in keys]
                              if operation == "PutItem"
                              else [{"TableName": "bench", "Key": {"pk": {"S": f"k{i}"}}} for i in keys])
                    samples.setdefault((label, operation), []).extend(_timed(connection, signer, operation, bodies))
    finally:
        for engine, server, connection, _ in servers.values():
            connection.close()
            server.stop()
            asyncio.run(engine.close())
    return [(label, operation, *_summary(found)) for (label, operation), found in sorted(
        samples.items(), key=lambda kv: (kv[0][0] != "plain", kv[0][1] != "PutItem"))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few iterations (a smoke run)")
    args = parser.parse_args(argv)
    runs, count, requests = (200, 5000, 60) if args.quick else (20000, 100_000, 2000)
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        print("Per record, µs (best of 5): encode | encode+seal || decode | open+decode  (bytes added)")
        for label, encode, seal, opened, decode, added in per_record(directory, runs):
            print(f"  {label:20s} {encode:6.2f} | {seal:6.2f} || {decode:6.2f} | {opened:6.2f}   (+{added} B)")
        print(f"Replay of {count} records (rebuild of one partition), records/s")
        for label, rate in replay(directory, count):
            print(f"  {label:10s} {rate:12,.0f}")
        print("Over HTTP (local engine, durable embedded log, keep-alive, one client), µs")
        for label, operation, p50, p99 in over_http(directory, requests):
            print(f"  {label:10s} {operation:8s} p50 {p50:8.1f}   p99 {p99:8.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
