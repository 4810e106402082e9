"""Benchmark: the cost of IAM authorization per request.

Two measurements:

1. **In process**: µs per ``Authorizer`` call (the hook ``Gateway.handle`` runs before every
   handler) for typical policies, over an engine stub that answers the key schema at once.
2. **Over HTTP**: GetItem round trips on a local-engine gateway, signed by the root credentials
   (no policy is evaluated) and by IAM users under each policy: the latency with and without.

Run: .venv/bin/python bench/bench_authz.py [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _gw_sigv4 import Signer  # noqa: E402

from dynamoray.actors.local import LocalEngine  # noqa: E402
from dynamoray.core import principals  # noqa: E402
from dynamoray.core.keys import KeySchema  # noqa: E402
from dynamoray.events.memory import MemoryLog  # noqa: E402
from dynamoray.gateway.auth import Authenticator, Principal  # noqa: E402
from dynamoray.gateway.authorize import Authorizer  # noqa: E402
from dynamoray.gateway.context import RequestContext  # noqa: E402
from dynamoray.gateway.iam_store import IamStore  # noqa: E402
from dynamoray.gateway.runner import BackgroundServer, build_gateway  # noqa: E402
from dynamoray.gateway.server import ServerConfig  # noqa: E402

ACCOUNT, REGION = "000000000000", "us-east-1"
TABLE = "Orders"
TABLE_ARN = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{TABLE}"
V = "2012-10-17"

POLICIES = {
    "allow table": {"Version": V, "Statement": {"Effect": "Allow", "Action": "dynamodb:*", "Resource": TABLE_ARN}},
    "leading keys": {"Version": V, "Statement": {
        "Effect": "Allow", "Action": ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query"],
        "Resource": "arn:aws:dynamodb:*:*:table/Orders",
        "Condition": {"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": ["${aws:username}"]}}}},
    "attributes + select": {"Version": V, "Statement": {
        "Effect": "Allow", "Action": ["dynamodb:GetItem", "dynamodb:Query"], "Resource": TABLE_ARN,
        "Condition": {"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": ["${aws:username}"],
                                                     "dynamodb:Attributes": ["user", "total", "status"]},
                      "StringEqualsIfExists": {"dynamodb:Select": "SPECIFIC_ATTRIBUTES"}}}},
    "20 statements + deny": {"Version": V, "Statement": [
        *({"Effect": "Allow", "Action": "dynamodb:Get*", "Resource": f"arn:aws:dynamodb:*:*:table/T{i}"}
          for i in range(18)),
        {"Effect": "Deny", "Action": "dynamodb:DeleteTable", "Resource": "*",
         "Condition": {"NotIpAddress": {"aws:SourceIp": ["10.0.0.0/8", "127.0.0.0/8"]}}},
        {"Effect": "Allow", "Action": "dynamodb:*", "Resource": "arn:aws:dynamodb:*:*:table/Ord*"}]},
}
GET_BODY = {"TableName": TABLE, "Key": {"user": {"S": "alice"}}, "ProjectionExpression": "#t, #s",
            "ExpressionAttributeNames": {"#t": "total", "#s": "status"}}


class _Engine:
    async def key_schema(self, table: str) -> KeySchema:
        return KeySchema("user", "S")

    async def stream_log(self) -> MemoryLog:
        return MemoryLog()


ROOT = Principal("AKROOT", f"arn:aws:iam::{ACCOUNT}:root", ACCOUNT)
ALICE = Principal("AKIAALICE", f"arn:aws:iam::{ACCOUNT}:user/alice", ACCOUNT)


async def _authorizer() -> Authorizer:
    """An authorizer over an in-memory IAM store holding user alice (key AKIAALICE)."""
    store = IamStore(Authenticator(), ACCOUNT, _Engine().stream_log)
    await store.open()
    await store.execute(lambda s: principals.create_principal(s, "user", "alice", "AIDAALICE", ALICE.arn, 0))
    await store.execute(lambda s: principals.create_access_key(s, "user", "alice", ALICE.access_key, "s", 0))
    return Authorizer(store)


async def _time_in_process(runs: int) -> list[tuple[str, float]]:
    authorizer, engine, out = await _authorizer(), _Engine(), []
    rows = [("root (no evaluation)", ROOT, None), *((label, ALICE, doc) for label, doc in POLICIES.items())]
    for label, principal, document in rows:
        if document is not None:  # this policy alone is in force for this row
            text = json.dumps(document)
            await authorizer.store.execute(lambda s: principals.put_inline_policy(s, "user", "alice", "p", text))  # noqa: B023  (called before the loop moves on)
        ctx = RequestContext(engine, principal, REGION, ACCOUNT, "r")
        await authorizer(ctx, "dynamodb", "GetItem", GET_BODY, "127.0.0.1")  # allowed, and warm
        best = float("inf")
        for _ in range(5):
            start = time.perf_counter()
            for _ in range(runs):
                await authorizer(ctx, "dynamodb", "GetItem", GET_BODY, "127.0.0.1")
            best = min(best, (time.perf_counter() - start) / runs)
        out.append((label, best * 1e6))
    return out


def _post(connection: http.client.HTTPConnection, signer: Signer, operation: str, body: dict) -> int:
    raw = json.dumps(body).encode()
    connection.request("POST", "/", body=raw, headers=signer.headers(operation, raw))
    response = connection.getresponse()
    response.read()
    return response.status


def _round_trips(connection, signer: Signer, requests: int) -> tuple[float, float]:
    samples = []
    for i in range(requests + 50):  # the first 50 warm up
        start = time.perf_counter()
        status = _post(connection, signer, "GetItem", GET_BODY)
        if status != 200:
            raise SystemExit(f"GetItem answered {status}")
        if i >= 50:
            samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1e6, statistics.quantiles(samples, n=100)[98] * 1e6


def _time_http(requests: int) -> list[tuple[str, float, float]]:
    from dynamoray.gateway.admin_client import AdminClient

    engine = LocalEngine()
    asyncio.run(engine.open())
    server = BackgroundServer(build_gateway(engine, "AKROOT", "rootsecret", ServerConfig(region=REGION))).start()
    connection = http.client.HTTPConnection(server.host, server.port, timeout=30)
    try:
        root = Signer(server.host, server.port, "AKROOT", "rootsecret", REGION)
        _post(connection, root, "CreateTable", {
            "TableName": TABLE, "KeySchema": [{"AttributeName": "user", "KeyType": "HASH"}],
            "AttributeDefinitions": [{"AttributeName": "user", "AttributeType": "S"}],
            "BillingMode": "PAY_PER_REQUEST"})
        _post(connection, root, "PutItem", {"TableName": TABLE, "Item": {
            "user": {"S": "alice"}, "total": {"N": "3"}, "status": {"S": "ok"}}})
        admin = AdminClient(server.endpoint, "AKROOT", "rootsecret")
        admin.call("CreateUser", UserName="alice")
        key = admin.call("CreateAccessKey", UserName="alice")["AccessKey"]
        alice = Signer(server.host, server.port, key["AccessKeyId"], key["SecretAccessKey"], REGION)
        out = [("root (no evaluation)", *_round_trips(connection, root, requests))]
        for label, document in POLICIES.items():
            admin.call("PutUserPolicy", UserName="alice", PolicyName="p", PolicyDocument=json.dumps(document))
            out.append((label, *_round_trips(connection, alice, requests)))
        return out
    finally:
        connection.close()
        server.stop()
        asyncio.run(engine.close())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few iterations (a smoke run)")
    args = parser.parse_args(argv)
    runs, requests = (200, 100) if args.quick else (5000, 2000)
    print("In process: µs per authorization of a GetItem (best of 5)")
    for label, micros in asyncio.run(_time_in_process(runs)):
        print(f"  {label:24s} {micros:8.2f}")
    print("Over HTTP (local engine, keep-alive, one client): GetItem round trip, µs")
    for label, p50, p99 in _time_http(requests):
        print(f"  {label:24s} p50 {p50:8.1f}   p99 {p99:8.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
