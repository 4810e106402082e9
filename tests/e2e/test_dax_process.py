"""``dynamoray dax --upstream URL`` (gateway/dax_process.py) in front of ``dynamoray serve``, through boto3.

Both run as subprocesses on 127.0.0.1 (the server on the in-process engine) and are stopped by
PID.  A change's arrival is awaited by polling with a deadline; nothing asserts a duration.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
import uuid

import pytest
import requests
from botocore.exceptions import ClientError

from dynamoray.gateway.admin_client import AdminClient
from dynamoray.gateway.runner import free_port

from .conftest import ACCESS_KEY, REGION, SECRET_KEY, make_client
from .serving import BIN, start_serve, wait_healthy

DEADLINE = 20.0


def start_dax(upstream: str, port: int, *flags: str, credentials: str = f"{ACCESS_KEY}:{SECRET_KEY}") -> subprocess.Popen:
    proc = subprocess.Popen(
        [str(BIN), "dax", "--upstream", upstream, "--port", str(port), "--credentials", credentials,
         "--settle", "0.05", "--poll-interval", "0.01", *flags],
        env=dict(os.environ), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    return wait_healthy(proc, port, "dax")


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(10)


class Pair:
    def __init__(self, tmp_path) -> None:
        self.port, self.dax_port = free_port(), free_port()
        self.server = start_serve(tmp_path / "data", self.port)
        self.url = f"http://127.0.0.1:{self.port}"
        try:
            self.dax_proc = start_dax(self.url, self.dax_port)
        except BaseException:
            stop(self.server)
            raise
        self.dax_url = f"http://127.0.0.1:{self.dax_port}"
        self.main, self.dax = make_client(self.url), make_client(self.dax_url)

    def metric(self, name: str, cache: str = "item") -> float:
        text = requests.get(f"{self.dax_url}/metrics", timeout=5).text
        found = re.search(rf'^dynamoray_dax_{name}{{cache="{cache}"}} (\S+)$', text, re.M)
        assert found, text
        return float(found.group(1))

    def close(self) -> None:
        stop(self.dax_proc)
        stop(self.server)


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    p = Pair(tmp_path_factory.mktemp("dax-process"))
    yield p
    p.close()


@pytest.fixture(scope="module")
def table(pair):
    name = f"daxp_{uuid.uuid4().hex[:8]}"
    pair.main.create_table(
        TableName=name, BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "p", "KeyType": "HASH"}, {"AttributeName": "c", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": "p", "AttributeType": "S"}, {"AttributeName": "c", "AttributeType": "N"}])
    return name


def key(p: str, c: int = 1) -> dict:
    return {"p": {"S": p}, "c": {"N": str(c)}}


def until(check, what: str):
    deadline = time.monotonic() + DEADLINE
    while True:
        found = check()
        if found:
            return found
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def test_get_hits_return_what_the_table_holds(pair, table):
    item = {**key("hit"), "v": {"S": "one"}, "n": {"N": "1.5"}, "tags": {"SS": ["a", "b"]}}
    pair.main.put_item(TableName=table, Item=item)
    expected = pair.main.get_item(TableName=table, Key=key("hit"))["Item"]

    def hit():
        before = pair.metric("hits_total")
        got = pair.dax.get_item(TableName=table, Key=key("hit"))
        assert got["Item"] == expected
        return pair.metric("hits_total") > before

    until(hit, "an item cache hit")
    got = pair.dax.get_item(TableName=table, Key=key("hit"), ReturnConsumedCapacity="TOTAL")
    assert got["Item"] == expected
    assert got["ConsumedCapacity"] == {"TableName": table, "CapacityUnits": 0.0}  # a hit costs nothing (DAX)
    absent = key("never")  # negative caching: a missing item is a hit too
    pair.dax.get_item(TableName=table, Key=absent)
    until(lambda: _hit_after(pair, lambda: pair.dax.get_item(TableName=table, Key=absent)), "a cached absence")
    assert "Item" not in pair.dax.get_item(TableName=table, Key=absent)


def _hit_after(pair, call) -> bool:
    before = pair.metric("hits_total")
    call()
    return pair.metric("hits_total") > before


def test_batch_get_and_query_hits(pair, table):
    for c in (1, 2):
        pair.main.put_item(TableName=table, Item={**key("batch", c), "v": {"N": str(c)}})
    keys = [key("batch", 1), key("batch", 2), key("batch", 3)]
    direct = pair.main.batch_get_item(RequestItems={table: {"Keys": keys}})["Responses"][table]

    def batch_hit():
        got = pair.dax.batch_get_item(RequestItems={table: {"Keys": keys}})
        assert sorted(got["Responses"][table], key=str) == sorted(direct, key=str)
        assert not got["UnprocessedKeys"]
        return _hit_after(pair, lambda: pair.dax.batch_get_item(RequestItems={table: {"Keys": keys}}))

    until(batch_hit, "a BatchGetItem answered by the item cache")
    query = dict(TableName=table, KeyConditionExpression="p = :p", ExpressionAttributeValues={":p": {"S": "batch"}})
    expected = pair.main.query(**query)["Items"]

    def query_hit():
        before = pair.metric("hits_total", "query")
        assert pair.dax.query(**query)["Items"] == expected
        return pair.metric("hits_total", "query") > before

    until(query_hit, "a query cache hit")
    consistent = pair.dax.query(**query, ConsistentRead=True)  # passes through
    assert consistent["Items"] == expected


def test_a_write_through_another_client_reaches_the_cache(pair, table):
    pair.main.put_item(TableName=table, Item={**key("other"), "v": {"S": "old"}})
    until(lambda: _hit_after(pair, lambda: pair.dax.get_item(TableName=table, Key=key("other"))), "the old item cached")
    pair.main.put_item(TableName=table, Item={**key("other"), "v": {"S": "new"}})  # bypasses the accelerator
    until(lambda: pair.dax.get_item(TableName=table, Key=key("other"))["Item"]["v"] == {"S": "new"}, "the new image")
    pair.main.delete_item(TableName=table, Key=key("other"))
    until(lambda: "Item" not in pair.dax.get_item(TableName=table, Key=key("other")), "the deletion")


def test_write_through_reads_your_writes(pair, table):
    until(lambda: _hit_after(pair, lambda: pair.dax.get_item(TableName=table, Key=key("mine"))), "the absence cached")
    for n in range(3):  # each read right after the write, no waiting
        pair.dax.put_item(TableName=table, Item={**key("mine"), "n": {"N": f"{n}.0"}})
        assert pair.dax.get_item(TableName=table, Key=key("mine"))["Item"]["n"] == {"N": str(n)}
    pair.dax.update_item(TableName=table, Key=key("mine"), UpdateExpression="SET n = n + :one",
                         ExpressionAttributeValues={":one": {"N": "1"}})
    assert pair.dax.get_item(TableName=table, Key=key("mine"))["Item"]["n"] == {"N": "3"}
    new = pair.dax.update_item(TableName=table, Key=key("mine"), UpdateExpression="SET w = :w",
                               ExpressionAttributeValues={":w": {"S": "x"}}, ReturnValues="ALL_NEW")["Attributes"]
    assert pair.dax.get_item(TableName=table, Key=key("mine"))["Item"] == new
    pair.dax.delete_item(TableName=table, Key=key("mine"))
    assert "Item" not in pair.dax.get_item(TableName=table, Key=key("mine"))
    assert "Item" not in pair.main.get_item(TableName=table, Key=key("mine"), ConsistentRead=True)


def _error(call) -> tuple[int, str, str]:
    with pytest.raises(ClientError) as info:
        call()
    response = info.value.response
    return response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Code"], response["Error"]["Message"]


def test_upstream_errors_pass_through_unchanged(pair, table):
    calls = [
        lambda c: c.get_item(TableName="no_such_table_dax", Key=key("x")),
        lambda c: c.get_item(TableName=table, Key={"p": {"S": "x"}}),  # the range key is missing
        lambda c: c.get_item(TableName=table, Key=key("x"), ProjectionExpression="#unused"),
        lambda c: c.put_item(TableName=table, Item={**key("cond"), "v": {"S": "1"}},
                             ConditionExpression="attribute_exists(v)"),
        lambda c: c.query(TableName=table, KeyConditionExpression="c = :c",
                          ExpressionAttributeValues={":c": {"N": "1"}}),
    ]
    for call in calls:
        direct, through = _error(lambda: call(pair.main)), _error(lambda: call(pair.dax))  # noqa: B023  (called before the loop moves on)
        assert through == direct
    assert _error(lambda: calls[0](pair.dax))[:2] == (400, "ResourceNotFoundException")
    assert _error(lambda: calls[3](pair.dax))[:2] == (400, "ConditionalCheckFailedException")


def test_iam_refusal_of_a_principal_passes_through(pair, table):
    admin = AdminClient(pair.url, ACCESS_KEY, SECRET_KEY, REGION)
    user = f"daxu{uuid.uuid4().hex[:6]}"
    admin.call("CreateUser", UserName=user)
    policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "dynamodb:PutItem",
                                                      "Resource": "*"}]}
    admin.call("PutUserPolicy", UserName=user, PolicyName="p", PolicyDocument=json.dumps(policy))
    secret = admin.call("CreateAccessKey", UserName=user)["AccessKey"]
    direct = make_client(pair.url, access=secret["AccessKeyId"], secret=secret["SecretAccessKey"])
    through = make_client(pair.dax_url, access=secret["AccessKeyId"], secret=secret["SecretAccessKey"])
    pair.main.put_item(TableName=table, Item={**key("secret"), "v": {"S": "root only"}})
    until(lambda: _hit_after(pair, lambda: pair.dax.get_item(TableName=table, Key=key("secret"))), "a cached item")
    status, code, message = _error(lambda: through.get_item(TableName=table, Key=key("secret")))  # cached, still refused
    assert (status, code) == (400, "AccessDeniedException")
    assert message.startswith(f"User: arn:aws:iam::000000000000:user/{user} is not authorized to perform: "
                              "dynamodb:GetItem")
    assert (status, code, message) == _error(lambda: direct.get_item(TableName=table, Key=key("secret")))
    through.put_item(TableName=table, Item={**key("by-user"), "v": {"S": "allowed"}})  # what it may do, it does
    assert pair.main.get_item(TableName=table, Key=key("by-user"))["Item"]["v"] == {"S": "allowed"}
    wrong = make_client(pair.dax_url, access=ACCESS_KEY, secret="not-the-secret")
    status, code, _ = _error(lambda: wrong.get_item(TableName=table, Key=key("secret")))
    assert (status, code) == (400, "InvalidSignatureException")


def test_hits_are_served_only_to_what_the_upstream_allowed(pair, table):
    """The accelerator runs with a user's credentials: that user gets hits on the table IAM lets it
    read, and a refusal on another table even when the cache holds the item (filled by root)."""
    admin = AdminClient(pair.url, ACCESS_KEY, SECRET_KEY, REGION)
    other = f"daxo_{uuid.uuid4().hex[:8]}"
    pair.main.create_table(TableName=other, BillingMode="PAY_PER_REQUEST",
                           KeySchema=[{"AttributeName": "p", "KeyType": "HASH"}, {"AttributeName": "c", "KeyType": "RANGE"}],
                           AttributeDefinitions=[{"AttributeName": "p", "AttributeType": "S"},
                                                 {"AttributeName": "c", "AttributeType": "N"}])
    user = f"daxr{uuid.uuid4().hex[:6]}"
    admin.call("CreateUser", UserName=user)
    arn = f"arn:aws:dynamodb:{REGION}:000000000000:table/"
    policy = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": arn + table},
        {"Effect": "Allow", "Action": ["dynamodb:GetChanges", "dynamodb:DescribeTable"], "Resource": "*"}]}
    admin.call("PutUserPolicy", UserName=user, PolicyName="p", PolicyDocument=json.dumps(policy))
    secret = admin.call("CreateAccessKey", UserName=user)["AccessKey"]
    port = free_port()
    proc = start_dax(pair.url, port, credentials=f"{secret['AccessKeyId']}:{secret['SecretAccessKey']}")
    try:
        url = f"http://127.0.0.1:{port}"
        as_user = make_client(url, access=secret["AccessKeyId"], secret=secret["SecretAccessKey"])
        as_root = make_client(url)  # not the accelerator's principal: always forwarded, still fills the cache
        for name in (table, other):
            pair.main.put_item(TableName=name, Item={**key("auth"), "v": {"S": name}})

        def entries() -> float:
            text = requests.get(f"{url}/metrics", timeout=5).text
            return float(re.search(r'^dynamoray_dax_entries{cache="item"} (\S+)$', text, re.M).group(1))

        until(lambda: as_root.get_item(TableName=other, Key=key("auth")) and entries() >= 1, "root's read cached")
        status, code, _ = _error(lambda: as_user.get_item(TableName=other, Key=key("auth")))
        assert (status, code) == (400, "AccessDeniedException")

        def user_hit() -> bool:
            text = requests.get(f"{url}/metrics", timeout=5).text
            before = float(re.search(r'^dynamoray_dax_hits_total{cache="item"} (\S+)$', text, re.M).group(1))
            assert as_user.get_item(TableName=table, Key=key("auth"))["Item"]["v"] == {"S": table}
            text = requests.get(f"{url}/metrics", timeout=5).text
            return float(re.search(r'^dynamoray_dax_hits_total{cache="item"} (\S+)$', text, re.M).group(1)) > before

        until(user_hit, "the user's allowed read served from the cache")
        status, code, _ = _error(lambda: as_user.get_item(TableName=other, Key=key("auth")))
        assert (status, code) == (400, "AccessDeniedException")
    finally:
        stop(proc)


def test_upstream_down_gives_a_dynamodb_shaped_error(tmp_path):
    pair = Pair(tmp_path)
    try:
        name = f"daxdown_{uuid.uuid4().hex[:6]}"
        pair.dax.create_table(TableName=name, BillingMode="PAY_PER_REQUEST",  # forwarded, too
                              KeySchema=[{"AttributeName": "p", "KeyType": "HASH"}],
                              AttributeDefinitions=[{"AttributeName": "p", "AttributeType": "S"}])
        pair.dax.put_item(TableName=name, Item={"p": {"S": "a"}})
        stop(pair.server)
        for call in (lambda: pair.dax.get_item(TableName=name, Key={"p": {"S": "b"}}),
                     lambda: pair.dax.put_item(TableName=name, Item={"p": {"S": "c"}}),
                     lambda: pair.dax.list_tables()):
            status, code, message = _error(call)
            assert (status, code) == (503, "ServiceUnavailable")
            assert message.startswith("The accelerator could not reach its upstream")
        assert pair.dax_proc.poll() is None  # still serving
    finally:
        pair.close()
