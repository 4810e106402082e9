"""IAM of the change feed (gateway/change_feed.py): ``dynamodb:GetChanges`` on the table's ARN.
A user without it is refused with DynamoDB's AccessDeniedException; allowed on one table's ARN,
the feed (and the SDK's accelerator that reads it) works on that table only."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pytest

from dynamoray.gateway.admin_client import AdminClient
from dynamoray.gateway.runner import BackgroundServer
from dynamoray.gateway.sdk import AcceleratorConfig, AccessDeniedException, Client

from .conftest import ACCESS_KEY, REGION, SECRET_KEY, unique

ACCOUNT = "000000000000"


def arn(table: str) -> str:
    return f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{table}"


def user_client(server: BackgroundServer, policy: dict[str, Any] | None, **kwargs: Any) -> tuple[str, Client]:
    admin = AdminClient(server.endpoint, ACCESS_KEY, SECRET_KEY, REGION)
    name = unique("feeduser")
    admin.call("CreateUser", UserName=name)
    if policy is not None:
        admin.call("PutUserPolicy", UserName=name, PolicyName="p", PolicyDocument=json.dumps(policy))
    key = admin.call("CreateAccessKey", UserName=name)["AccessKey"]
    return name, Client(server.endpoint, access_key=key["AccessKeyId"], secret_key=key["SecretAccessKey"],
                        region=REGION, **kwargs)


def allow(actions: list[str], resource: str) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": actions, "Resource": resource}]}


def feed(client: Client, table: str) -> dict[str, Any]:
    return client.call("GetChanges", "dynamoraychanges", TableName=table)


def refused_message(user: str, table: str) -> str:
    return (f"User: arn:aws:iam::{ACCOUNT}:user/{user} is not authorized to perform: dynamodb:GetChanges "
            f"on resource: {arn(table)} because no identity-based policy allows the dynamodb:GetChanges action")


@pytest.fixture(scope="module")
def tables(client: Client) -> tuple[str, str]:
    mine, other = unique("feed_mine"), unique("feed_other")
    for name in (mine, other):
        client.create_table(name, hash_key=("p", "S"))
    return mine, other


def test_without_get_changes_the_feed_is_refused(sdk_server, tables):
    mine, _ = tables
    user, reader = user_client(sdk_server, allow(["dynamodb:GetItem", "dynamodb:PutItem"], "*"))
    with reader:
        with pytest.raises(AccessDeniedException) as refused:
            feed(reader, mine)
        assert refused.value.code == "AccessDeniedException" and refused.value.status == 400
        assert refused.value.message == refused_message(user, mine)
        assert reader.table(mine).get({"p": "x"}) is None  # what it is allowed still works


def test_a_user_without_any_policy_is_refused(sdk_server, tables):
    mine, _ = tables
    user, nobody = user_client(sdk_server, None)
    with nobody, pytest.raises(AccessDeniedException) as refused:
        feed(nobody, mine)
    assert refused.value.message == refused_message(user, mine)


def test_get_changes_allowed_on_one_table_arn(sdk_server, client, tables):
    mine, other = tables
    user, reader = user_client(sdk_server, allow(["dynamodb:GetChanges"], arn(mine)))
    with reader:
        start = feed(reader, mine)
        assert start["Reset"] is True and start["Positions"]
        client.table(mine).put({"p": "seen", "v": 1})
        answer = reader.call("GetChanges", "dynamoraychanges", TableName=mine, TableId=start["TableId"],
                             Positions=start["Positions"])
        assert "Reset" not in answer
        with pytest.raises(AccessDeniedException) as refused:
            feed(reader, other)
        assert refused.value.message == refused_message(user, other)


def test_the_sdk_accelerator_works_with_get_changes_allowed(sdk_server, client, tables):
    """Another client's write reaches the cache through the feed: a hit returns the new value (a
    refused feed would drop the entries, and every read would be a miss)."""
    mine, _ = tables
    policy = allow(["dynamodb:GetItem", "dynamodb:GetChanges"], arn(mine))
    _, cached = user_client(sdk_server, policy, accelerator=AcceleratorConfig(poll_interval=0.01, settle=0.05))
    client.table(mine).put({"p": "acc", "v": 1})
    with cached:
        assert read_until_hit(cached, mine, lambda item: item == {"p": "acc", "v": 1})
        client.table(mine).put({"p": "acc", "v": 2})
        assert read_until_hit(cached, mine, lambda item: item == {"p": "acc", "v": 2})


def read_until_hit(cached: Client, table: str, wanted: Callable[[Any], bool]) -> bool:
    accelerator = cached._accelerator
    assert accelerator is not None
    deadline = time.monotonic() + 20.0
    while time.monotonic() < deadline:
        before = accelerator.cache.items.stats.hits
        found = cached.table(table).get({"p": "acc"})
        if accelerator.cache.items.stats.hits > before and wanted(found):
            return True
        time.sleep(0.01)
    return False


def test_get_star_and_dynamodb_star_allow_the_feed(sdk_server, tables):
    mine, _ = tables
    for action in ("dynamodb:Get*", "dynamodb:*"):
        _, reader = user_client(sdk_server, allow([action], arn(mine)))
        with reader:
            assert feed(reader, mine)["Reset"] is True
