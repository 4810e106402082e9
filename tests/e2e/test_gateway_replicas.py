"""``dynamoray serve --gateways 2`` as a user runs it: two gateway processes on one port.

Every response names the process that answered (``x-dynamoray-gateway: <index>/<pid>``), so a test
pins a client to one replica by opening connections until one lands there (a keep-alive connection
stays on the process that accepted it)."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import boto3
import pytest
import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from dynamoray.gateway.admin import ADMIN_PREFIX
from dynamoray.gateway.runner import free_port

from .conftest import ACCESS_KEY, REGION, SECRET_KEY

BIN = Path(sys.executable).parent / "dynamoray"
HEADER = "x-dynamoray-gateway"
START_TIMEOUT = 120


def _replica_of(response_headers) -> tuple[int, int]:
    index, _, pid = response_headers[HEADER].partition("/")
    return int(index), int(pid)


def _seen(endpoint: str) -> tuple[int, int]:
    """The replica that accepted a fresh connection."""
    return _replica_of(requests.get(f"{endpoint}/health", timeout=5).headers)


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    env = dict(os.environ, DYNAMORAY_ROOT_CREDENTIALS=f"{ACCESS_KEY}:{SECRET_KEY}")
    proc = subprocess.Popen(
        [str(BIN), "serve", "--gateways", "2", "--port", str(port), "--ttl-interval", "0",
         "--data-dir", str(tmp_path_factory.mktemp("replicas") / "data")],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    replicas: dict[int, int] = {}
    deadline = time.monotonic() + START_TIMEOUT
    while len(replicas) < 2 and time.monotonic() < deadline:  # both processes listening
        if proc.poll() is not None:
            raise AssertionError(f"server exited: {proc.stderr.read().decode()[-3000:]}")
        try:
            index, pid = _seen(endpoint)
            replicas[index] = pid
        except requests.ConnectionError:
            time.sleep(0.1)
    if len(replicas) < 2:
        os.killpg(proc.pid, signal.SIGKILL)
        raise AssertionError(f"only replicas {replicas} answered")
    state = {"endpoint": endpoint, "proc": proc, "pids": set(replicas.values())}
    yield state
    proc.send_signal(signal.SIGTERM)
    try:
        assert proc.wait(60) == 0
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    for pid in state["pids"]:  # every replica stopped with the first process
        deadline = time.monotonic() + 30
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _alive(pid), f"replica {pid} outlived the server"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie (exited, not yet reaped by its parent) is not serving either
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z"
    except (FileNotFoundError, IndexError):
        return False


def _headers_of(client_call) -> dict:
    try:
        return client_call()["ResponseMetadata"]["HTTPHeaders"]
    except ClientError as error:
        return error.response["ResponseMetadata"]["HTTPHeaders"]


def pinned(served, index: int, access: str = ACCESS_KEY, secret: str = SECRET_KEY):
    """A boto3 client whose one keep-alive connection is on replica ``index``."""
    for _ in range(100):
        client = boto3.client("dynamodb", endpoint_url=served["endpoint"], region_name=REGION,
                              aws_access_key_id=access, aws_secret_access_key=secret,
                              config=Config(retries={"max_attempts": 1}, max_pool_connections=1))
        headers = _headers_of(client.list_tables)
        found, pid = _replica_of(headers)
        served["pids"].add(pid)
        if found == index:
            return client
        client.close()
    raise AssertionError(f"no connection landed on replica {index}")


def _on(response, index: int) -> None:
    assert _replica_of(response["ResponseMetadata"]["HTTPHeaders"])[0] == index


def test_requests_spread_over_both_replicas(served):
    seen = {_seen(served["endpoint"])[0] for _ in range(40)}
    assert seen == {0, 1}


def test_a_write_through_one_replica_is_read_through_the_other(served):
    first, second = pinned(served, 0), pinned(served, 1)
    first.create_table(TableName="replicated", BillingMode="PAY_PER_REQUEST",
                       KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                       AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}])
    for i in range(20):
        _on(first.put_item(TableName="replicated", Item={"id": {"S": f"k{i}"}, "n": {"N": str(i)}}), 0)
        got = second.get_item(TableName="replicated", Key={"id": {"S": f"k{i}"}}, ConsistentRead=True)
        _on(got, 1)
        assert got["Item"]["n"] == {"N": str(i)}
    updated = second.update_item(TableName="replicated", Key={"id": {"S": "k3"}}, UpdateExpression="SET n = n + :d",
                                 ExpressionAttributeValues={":d": {"N": "100"}}, ReturnValues="UPDATED_NEW")
    assert updated["Attributes"]["n"] == {"N": "103"}
    got = first.get_item(TableName="replicated", Key={"id": {"S": "k3"}}, ConsistentRead=True)
    assert got["Item"]["n"] == {"N": "103"}
    with pytest.raises(ClientError) as info:  # a condition decided on the leader, whichever replica asks
        first.put_item(TableName="replicated", Item={"id": {"S": "k3"}}, ConditionExpression="attribute_not_exists(id)")
    assert info.value.response["Error"]["Code"] == "ConditionalCheckFailedException"
    # the second replica's own follower catches up too (eventually consistent reads)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        items = second.scan(TableName="replicated")["Items"]
        if len(items) == 20 and {"N": "103"} in [item["n"] for item in items]:
            break
        time.sleep(0.05)
    assert len(items) == 20 and sum(int(item["n"]["N"]) for item in items) == sum(range(20)) + 100


def _admin_on(served, index: int):
    """Admin API calls on one keep-alive connection to replica ``index``."""
    session = requests.Session()
    credentials = Credentials(ACCESS_KEY, SECRET_KEY)

    def call(operation: str, **params):
        body = json.dumps(params).encode()
        request = AWSRequest(method="POST", url=served["endpoint"] + "/", data=body, headers={
            "Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": f"{ADMIN_PREFIX}.{operation}"})
        SigV4Auth(credentials, "dynamodb", REGION).add_auth(request)
        response = session.post(served["endpoint"] + "/", data=body, headers=dict(request.headers), timeout=30)
        assert _replica_of(response.headers)[0] == index
        assert response.status_code == 200, response.text
        return response.json()

    for _ in range(100):
        session.close()
        if _replica_of(session.get(served["endpoint"] + "/health", timeout=5).headers)[0] == index:
            return call
    raise AssertionError(f"no connection landed on replica {index}")


@pytest.mark.parametrize("made_on, used_on", [(0, 1), (1, 0)])
def test_an_iam_user_made_through_one_replica_authenticates_on_the_other(served, made_on, used_on):
    admin = _admin_on(served, made_on)
    name = f"ada{made_on}"
    admin("CreateUser", UserName=name)
    admin("PutUserPolicy", UserName=name, PolicyName="list", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "dynamodb:ListTables", "Resource": "*"}}))
    key = admin("CreateAccessKey", UserName=name)["AccessKey"]
    user = pinned(served, used_on, key["AccessKeyId"], key["SecretAccessKey"])
    deadline = time.monotonic() + 30  # the other replica follows the IAM topic (every 0.5 s)
    while True:
        try:
            response = user.list_tables()
            break
        except ClientError as error:
            assert error.response["Error"]["Code"] in ("UnrecognizedClientException", "AccessDeniedException")
            assert time.monotonic() < deadline, "the user never reached the other replica"
            time.sleep(0.1)
    _on(response, used_on)
    with pytest.raises(ClientError) as info:  # and only with its policy
        user.describe_table(TableName="replicated")
    assert info.value.response["Error"]["Code"] == "AccessDeniedException"


def test_a_killed_replica_leaves_the_other_serving_and_is_started_again(served):
    victim = pinned(served, 1)
    killed = _replica_of(victim.list_tables()["ResponseMetadata"]["HTTPHeaders"])[1]
    os.kill(killed, signal.SIGKILL)
    client = boto3.client("dynamodb", endpoint_url=served["endpoint"], region_name=REGION,
                          aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY)
    for i in range(20):  # new connections keep being served, by whichever replica is alive
        client.put_item(TableName="replicated", Item={"id": {"S": f"after{i}"}})
        assert client.get_item(TableName="replicated", Key={"id": {"S": f"after{i}"}}, ConsistentRead=True)["Item"]
    deadline = time.monotonic() + START_TIMEOUT
    restarted = None
    while restarted is None and time.monotonic() < deadline:  # the first process starts replica 1 again
        try:
            index, pid = _seen(served["endpoint"])
        except requests.ConnectionError:
            continue
        if index == 1 and pid != killed:
            restarted = pid
    assert restarted is not None, "replica 1 was not started again"
    served["pids"].add(restarted)
    again = pinned(served, 1)
    assert again.get_item(TableName="replicated", Key={"id": {"S": "after19"}}, ConsistentRead=True)["Item"]
