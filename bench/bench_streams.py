"""Write-to-stream-record latency through the HTTP API (DynamoDB Streams).

Starts ``dynamoray serve --engine local`` (plain ``dynamoray serve`` if the flag does not exist) on
a free loopback port with a temporary data directory, creates a table with a NEW_AND_OLD_IMAGES
stream, and then:

- a writer thread puts ``--writes`` items one at a time, ``--gap`` ms apart, noting when each
  PutItem was sent and when it was acknowledged;
- a reader thread follows the shard from LATEST with GetRecords as fast as it can, noting when it
  first sees each item's record.

It reports, per write, p50/p99 of: send -> record read (what a consumer waits for), ack -> record read
(the stream's lag behind the acknowledged write; negative when the record is read before the
client has parsed the PutItem response), and the PutItem round trip. Both clients are boto3 in
this one process, as a consumer would use them.

    .venv/bin/python bench/bench_streams.py [--writes 500] [--gap 2] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import threading
import time
from pathlib import Path

import boto3
from botocore.config import Config

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _gw_targets import dynamoray_engines, start_dynamoray  # noqa: E402

ACCESS_KEY, SECRET_KEY, REGION = "AKIDSTREAMBENCH", "stream-bench-secret", "us-east-1"
TABLE = "bench_streams"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def client(endpoint: str, service: str):
    return boto3.client(service, endpoint_url=endpoint, region_name=REGION, aws_access_key_id=ACCESS_KEY,
                        aws_secret_access_key=SECRET_KEY, config=Config(retries={"max_attempts": 1}))


def follow(streams, arn: str, shard: str, expected: int, seen: dict[str, float], stop: threading.Event) -> int:
    """Poll the shard from LATEST until ``expected`` records were seen; returns the GetRecords count."""
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="LATEST")["ShardIterator"]
    polls = 0
    while len(seen) < expected and not stop.is_set():
        page = streams.get_records(ShardIterator=iterator)
        now = time.perf_counter()
        polls += 1
        for record in page["Records"]:
            seen.setdefault(record["dynamodb"]["Keys"]["k"]["S"], now)
        iterator = page["NextShardIterator"]
    return polls


def run(endpoint: str, writes: int, gap_ms: float) -> dict:
    ddb, streams = client(endpoint, "dynamodb"), client(endpoint, "dynamodbstreams")
    arn = ddb.create_table(
        TableName=TABLE, BillingMode="PAY_PER_REQUEST", KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )["TableDescription"]["LatestStreamArn"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    seen: dict[str, float] = {}
    stop = threading.Event()
    polls: list[int] = []
    reader = threading.Thread(target=lambda: polls.append(follow(streams, arn, shard, writes, seen, stop)))
    reader.start()
    time.sleep(0.5)  # the reader holds its LATEST iterator before the first write
    sent, acked = {}, {}
    for i in range(writes):
        key = f"item-{i:06d}"
        sent[key] = time.perf_counter()
        ddb.put_item(TableName=TABLE, Item={"k": {"S": key}, "n": {"N": str(i)}, "pad": {"S": "x" * 200}})
        acked[key] = time.perf_counter()
        time.sleep(gap_ms / 1000)
    reader.join(timeout=30)
    stop.set()
    missing = [k for k in sent if k not in seen]
    if missing:
        raise RuntimeError(f"{len(missing)} writes never showed up in the stream, e.g. {missing[:3]}")
    e2e = [(seen[k] - sent[k]) * 1000 for k in sent]
    lag = [(seen[k] - acked[k]) * 1000 for k in sent]
    put = [(acked[k] - sent[k]) * 1000 for k in sent]
    return {
        "writes": writes, "gap_ms": gap_ms, "get_records_calls": polls[0] if polls else 0,
        **{f"{name}_{q}_ms": round(percentile(values, p), 2)
           for name, values in (("send_to_record", e2e), ("ack_to_record", lag), ("put", put))
           for q, p in (("p50", 0.50), ("p99", 0.99))},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--writes", type=int, default=500)
    parser.add_argument("--gap", type=float, default=2.0, help="ms between writes")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    engines = dynamoray_engines()
    engine = "local" if engines and "local" in engines else None
    with tempfile.TemporaryDirectory(prefix="bench-streams-") as workdir:
        target = start_dynamoray(Path(workdir), ACCESS_KEY, SECRET_KEY, engine)
        try:
            figures = run(f"http://127.0.0.1:{target.port}", args.writes, args.gap)
        finally:
            target.stop()
    figures["server"] = f"dynamoray serve --engine {engine}" if engine else "dynamoray serve"
    figures["python"] = platform.python_version()
    print(json.dumps(figures, indent=2))
    print("\n| measure | p50 | p99 |\n|---|---|---|")
    labels = (("send_to_record", "PutItem sent -> record read"),
              ("ack_to_record", "PutItem acknowledged -> record read"), ("put", "PutItem round trip"))
    for name, label in labels:
        print(f"| {label} | {figures[name + '_p50_ms']} ms | {figures[name + '_p99_ms']} ms |")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
