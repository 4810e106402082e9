"""Table settings written once for both clients: UpdateTable, tags, Time to Live, limits, endpoints.

The requests are built by pure functions (:func:`update_table_request`, ...) and the calls that
take more than one request are flows (``flows.py``): UpdateTable and the wait for the table and
its global secondary indexes to settle, ListTagsOfResource over every page, and a table named
where an ARN is needed (resolved by one DescribeTable).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .errors import WaiterTimeoutError
from .flows import Call, Flow, Now, Sleep
from .waiters import Wait, table_settled

Payload = dict[str, Any]


@dataclass(frozen=True)
class GlobalIndex:
    """A global secondary index to create with ``update_table(create_index=...)``.

    ``hash_key``/``range_key`` are ``(name, type)`` pairs as in ``create_table``; ``projection``
    is ``"ALL"``, ``"KEYS_ONLY"`` or the non-key attribute names to include; the capacities are
    for a PROVISIONED table (both, or neither)."""

    name: str
    hash_key: tuple[str, str]
    range_key: tuple[str, str] | None = None
    projection: str | tuple[str, ...] = "ALL"
    read_capacity: int | None = None
    write_capacity: int | None = None

    def create_action(self) -> Payload:
        schema = [{"AttributeName": self.hash_key[0], "KeyType": "HASH"}]
        if self.range_key is not None:
            schema.append({"AttributeName": self.range_key[0], "KeyType": "RANGE"})
        if isinstance(self.projection, str):
            projection: Payload = {"ProjectionType": self.projection}
        else:
            projection = {"ProjectionType": "INCLUDE", "NonKeyAttributes": list(self.projection)}
        action: Payload = {"IndexName": self.name, "KeySchema": schema, "Projection": projection}
        throughput = _throughput(self.read_capacity, self.write_capacity)
        if throughput is not None:
            action["ProvisionedThroughput"] = throughput
        return action

    def definitions(self) -> list[Payload]:
        keys = [self.hash_key] + ([self.range_key] if self.range_key is not None else [])
        return [{"AttributeName": name, "AttributeType": kind} for name, kind in keys]


def _throughput(read: int | None, write: int | None) -> Payload | None:
    if read is None and write is None:
        return None
    if read is None or write is None:
        raise ValueError("give both read_capacity and write_capacity, or neither")
    return {"ReadCapacityUnits": read, "WriteCapacityUnits": write}


def _stream(stream: str | bool) -> Payload:
    if stream is False:
        return {"StreamEnabled": False}
    if stream is True:
        raise ValueError("stream= takes a StreamViewType (e.g. 'NEW_AND_OLD_IMAGES') or False")
    return {"StreamEnabled": True, "StreamViewType": stream}


def _sse(enabled: bool, kms_key: str | None) -> Payload:
    spec: Payload = {"Enabled": enabled}
    if enabled and kms_key is not None:
        spec.update(SSEType="KMS", KMSMasterKeyId=kms_key)
    return spec


def _index_updates(create_index: GlobalIndex | None, index_capacity: Mapping[str, tuple[int, int]] | None,
                   delete_index: str | None) -> list[Payload]:
    updates: list[Payload] = []
    if create_index is not None:
        updates.append({"Create": create_index.create_action()})
    for index, (read, write) in (index_capacity or {}).items():
        updates.append({"Update": {"IndexName": index, "ProvisionedThroughput": _throughput(read, write)}})
    if delete_index is not None:
        updates.append({"Delete": {"IndexName": delete_index}})
    return updates


def update_table_request(name: str, *, billing_mode: str | None = None, read_capacity: int | None = None,
                         write_capacity: int | None = None, stream: str | bool | None = None,
                         create_index: GlobalIndex | None = None,
                         index_capacity: Mapping[str, tuple[int, int]] | None = None,
                         delete_index: str | None = None, deletion_protection: bool | None = None,
                         sse: bool | None = None, kms_key: str | None = None, table_class: str | None = None,
                         replica_updates: Sequence[Mapping[str, Any]] | None = None,
                         extra: Mapping[str, Any] | None = None) -> Payload:
    """The UpdateTable request of ``Client.update_table`` (see there); ``extra`` is added as is."""
    payload: Payload = {"TableName": name}
    if billing_mode is not None:
        payload["BillingMode"] = billing_mode
    throughput = _throughput(read_capacity, write_capacity)
    if throughput is not None:
        payload["ProvisionedThroughput"] = throughput
    if stream is not None:
        payload["StreamSpecification"] = _stream(stream)
    updates = _index_updates(create_index, index_capacity, delete_index)
    if updates:
        payload["GlobalSecondaryIndexUpdates"] = updates
    if create_index is not None:
        payload["AttributeDefinitions"] = create_index.definitions()
    if deletion_protection is not None:
        payload["DeletionProtectionEnabled"] = deletion_protection
    if sse is not None or kms_key is not None:
        payload["SSESpecification"] = _sse(True if sse is None else sse, kms_key)
    if table_class is not None:
        payload["TableClass"] = table_class
    if replica_updates is not None:
        payload["ReplicaUpdates"] = [dict(update) for update in replica_updates]
    payload.update(extra or {})
    return payload


def update_table(payload: Payload, wait: Wait | None) -> Flow[dict[str, Any]]:
    """UpdateTable, then (with ``wait``) DescribeTable until the table and each of its global
    secondary indexes are ACTIVE (a deleted index gone); returns the table's description."""
    described = yield Call("UpdateTable", payload)
    if wait is None:
        return dict(described["TableDescription"])
    return (yield from wait_for_settled(payload["TableName"], wait))


def wait_for_settled(name: str, wait: Wait) -> Flow[dict[str, Any]]:
    deadline = (yield Now()) + wait.timeout
    while True:
        table = (yield Call("DescribeTable", {"TableName": name}))["Table"]
        if table_settled(table):
            return dict(table)
        if (yield Now()) >= deadline:
            raise WaiterTimeoutError(f"Table {name} was still being updated after {wait.timeout} s")
        yield Sleep(wait.interval)


# --- tags ------------------------------------------------------------------------------------------


def resource_arn(resource: str) -> Flow[str]:
    """An ARN as it is, or a table name as its table's ARN (one DescribeTable)."""
    if resource.startswith("arn:"):
        return resource
    table = (yield Call("DescribeTable", {"TableName": resource}))["Table"]
    return str(table["TableArn"])


def tag_resource(resource: str, tags: Mapping[str, str]) -> Flow[None]:
    arn = yield from resource_arn(resource)
    yield Call("TagResource", {"ResourceArn": arn, "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]})


def untag_resource(resource: str, keys: Iterable[str]) -> Flow[None]:
    arn = yield from resource_arn(resource)
    yield Call("UntagResource", {"ResourceArn": arn, "TagKeys": list(keys)})


def list_tags(resource: str) -> Flow[dict[str, str]]:
    """ListTagsOfResource over every page (``NextToken``), as a dict."""
    arn = yield from resource_arn(resource)
    tags: dict[str, str] = {}
    token: str | None = None
    while True:
        payload: Payload = {"ResourceArn": arn}
        if token is not None:
            payload["NextToken"] = token
        response = yield Call("ListTagsOfResource", payload)
        tags.update({tag["Key"]: tag["Value"] for tag in response.get("Tags", [])})
        token = response.get("NextToken")
        if not token:
            return tags


# --- Time to Live, limits, endpoints ---------------------------------------------------------------


def ttl_request(table: str, attribute: str, enabled: bool) -> Payload:
    return {"TableName": table, "TimeToLiveSpecification": {"Enabled": enabled, "AttributeName": attribute}}

