"""Bulk-load a table, aggregate it, and deploy a hook that keeps the aggregate: a Ray job, or a script.

Run it plainly against a server (threads do the parallel work):

    python examples/bulk_load_job.py --endpoint http://127.0.0.1:8000 --items 10000 --workers 8

or submit it to a Ray cluster that runs the job server (``ray[default]``; ``--ray`` makes the
loaders and the scan segments Ray tasks):

    ray job submit --address http://HEAD:8265 --working-dir examples \\
        --runtime-env-json '{"env_vars": {"AWS_ACCESS_KEY_ID": "...", "AWS_SECRET_ACCESS_KEY": "..."}}' \\
        -- python bulk_load_job.py --ray --endpoint http://DYNAMORAY:8000 --deploy-hook

Steps:
1. create the table ``orders`` (``customer`` + ``order``) if it is missing;
2. load ``--items`` orders with BatchWriteItem, split over ``--workers`` loaders;
3. aggregate: a parallel Scan (``TotalSegments=--workers``), per-customer order count and sum;
4. with ``--deploy-hook``: deploy a stored-procedure hook that maintains the same aggregate in
   table ``orders_totals`` from the change log (exactly once), wait until it matches step 3, and
   print both.  Deploying from a job is how hooks ship with a Ray job: the job calls
   ``dynamoray.hooks.deploy``, and the server runs the hook in its own Ray actors.

Credentials: ``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY`` (the root ones for ``--deploy-hook``:
deploying is an admin operation).  Prints one JSON document.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import boto3

REGION = os.environ.get("AWS_DEFAULT_REGION", "us-east-1")


def table_resource(endpoint: str, name: str):
    return boto3.resource("dynamodb", endpoint_url=endpoint, region_name=REGION).Table(name)


def ensure_table(endpoint: str, name: str, hash_key: str, range_key: str | None = None) -> None:
    client = boto3.client("dynamodb", endpoint_url=endpoint, region_name=REGION)
    if name in client.list_tables()["TableNames"]:
        return
    schema = [{"AttributeName": hash_key, "KeyType": "HASH"}]
    definitions = [{"AttributeName": hash_key, "AttributeType": "S"}]
    if range_key:
        schema.append({"AttributeName": range_key, "KeyType": "RANGE"})
        definitions.append({"AttributeName": range_key, "AttributeType": "N"})
    client.create_table(TableName=name, KeySchema=schema, AttributeDefinitions=definitions,
                        BillingMode="PAY_PER_REQUEST")
    client.get_waiter("table_exists").wait(TableName=name)


def order_of(i: int, customers: int) -> dict:
    return {"customer": f"c{i % customers:04d}", "order": i, "amount": Decimal(i % 97 + 1)}


def load(endpoint: str, table: str, start: int, stop: int, customers: int) -> int:
    """Put orders ``start`` to ``stop - 1`` (BatchWriteItem, 25 at a time, unprocessed ones retried)."""
    with table_resource(endpoint, table).batch_writer() as batch:
        for i in range(start, stop):
            batch.put_item(Item=order_of(i, customers))
    return stop - start


def scan_segment(endpoint: str, table: str, segment: int, total: int) -> dict[str, list[int]]:
    """Per customer: [order count, amount sum] of one Scan segment."""
    resource, out, kwargs = table_resource(endpoint, table), {}, {"Segment": segment, "TotalSegments": total}
    while True:
        page = resource.scan(**kwargs)
        for item in page["Items"]:
            entry = out.setdefault(item["customer"], [0, 0])
            entry[0] += 1
            entry[1] += int(item["amount"])
        if "LastEvaluatedKey" not in page:
            return out
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def run_parallel(use_ray: bool, function, calls: list[tuple]) -> list:
    """``function(*args)`` for each args: Ray tasks with ``--ray``, else a thread pool."""
    if use_ray:
        import ray

        ray.init(ignore_reinit_error=True)  # in a job: the cluster; plainly: a local Ray
        remote = ray.remote(function)
        return ray.get([remote.remote(*args) for args in calls])
    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(lambda args: function(*args), calls))


def aggregate(parts: list[dict[str, list[int]]]) -> dict[str, list[int]]:
    count, total = Counter(), Counter()
    for part in parts:
        for customer, (n, amount) in part.items():
            count[customer] += n
            total[customer] += amount
    return {customer: [count[customer], total[customer]] for customer in sorted(count)}


def totals_hook(totals_table: str):
    from dynamoray.hooks import hook

    @hook(batch_size=100, maximum_retry_attempts=5, bisect_batch_on_error=True)
    def keep_totals(records, ctx):
        for record in records:
            body = record["dynamodb"]
            for image, sign in ((body.get("OldImage"), -1), (body.get("NewImage"), 1)):
                if image:
                    ctx.update_item(
                        TableName=totals_table, Key={"customer": image["customer"]},
                        UpdateExpression="ADD order_count :n, amount_sum :a",
                        ExpressionAttributeValues={":n": {"N": str(sign)},
                                                   ":a": {"N": str(sign * int(image["amount"]["N"]))}})

    return keep_totals


def hook_totals(endpoint: str, table: str) -> dict[str, list[int]]:
    items = table_resource(endpoint, table).scan(ConsistentRead=True)["Items"]
    return {i["customer"]: [int(i["order_count"]), int(i["amount_sum"])] for i in items if int(i["order_count"])}


def deploy_and_wait(args: argparse.Namespace, expected: dict, timeout: float = 120.0) -> dict:
    from dynamoray.hooks import deploy

    totals = f"{args.table}_totals"
    ensure_table(args.endpoint, totals, "customer")
    deploy(totals_hook(totals), endpoint=args.endpoint, table=args.table, name=f"{args.table}_totals")
    deadline = time.monotonic() + timeout
    while (found := hook_totals(args.endpoint, totals)) != expected and time.monotonic() < deadline:
        time.sleep(0.5)
    return found


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoint", default=os.environ.get("DYNAMORAY_ENDPOINT", "http://127.0.0.1:8000"))
    parser.add_argument("--table", default="orders")
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--customers", type=int, default=50)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--ray", action="store_true", help="run the loaders and scan segments as Ray tasks")
    parser.add_argument("--deploy-hook", action="store_true", help="deploy a hook that keeps the totals")
    args = parser.parse_args(argv)

    ensure_table(args.endpoint, args.table, "customer", "order")
    started = time.monotonic()
    bounds = [(args.items * w // args.workers, args.items * (w + 1) // args.workers) for w in range(args.workers)]
    loaded = sum(run_parallel(args.ray, load, [(args.endpoint, args.table, a, b, args.customers) for a, b in bounds]))
    load_seconds = time.monotonic() - started
    parts = run_parallel(args.ray, scan_segment, [(args.endpoint, args.table, s, args.workers)
                                                  for s in range(args.workers)])
    totals = aggregate(parts)
    report = {"table": args.table, "loaded": loaded, "load_seconds": round(load_seconds, 2),
              "items_per_second": round(loaded / load_seconds) if load_seconds else None,
              "scanned": sum(n for n, _ in totals.values()), "customers": len(totals),
              "amount_sum": sum(a for _, a in totals.values())}
    if args.deploy_hook:
        report["hook_matches_scan"] = deploy_and_wait(args, totals) == totals
    print(json.dumps(report))
    return report


if __name__ == "__main__":
    main()
