"""The wire requests of the item and table operations, built from plain Python arguments (pure).

The sync and async clients share these: each builds its request here and only differs in how
it sends it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Literal

from .convert import item_to_wire
from .expressions import Attr, Condition, Placeholders, Update, projection
from .models import KeySchema

ReturnValues = Literal["NONE", "ALL_OLD", "UPDATED_OLD", "ALL_NEW", "UPDATED_NEW"]
OnConditionFailure = Literal["NONE", "ALL_OLD"]
Projection = Iterable[Attr | str]
Payload = dict[str, Any]


def _finish(payload: Payload, p: Placeholders) -> Payload:
    payload.update(p.params())
    return payload


def _write_options(payload: Payload, p: Placeholders, condition: Condition | None, return_values: str,
                   on_condition_failure: str) -> None:
    if condition is not None:
        payload["ConditionExpression"] = condition.render(p)
    if return_values != "NONE":
        payload["ReturnValues"] = return_values
    if on_condition_failure != "NONE":
        payload["ReturnValuesOnConditionCheckFailure"] = on_condition_failure


def get_item(table: str, key: Mapping[str, Any], consistent: bool, attributes: Projection | None) -> Payload:
    p = Placeholders()
    payload: Payload = {"TableName": table, "Key": item_to_wire(key)}
    if consistent:
        payload["ConsistentRead"] = True
    if attributes is not None:
        payload["ProjectionExpression"] = projection(attributes, p)
    return _finish(payload, p)


def put_item(table: str, item: Mapping[str, Any], condition: Condition | None, return_values: str,
             on_condition_failure: str) -> Payload:
    p = Placeholders()
    payload: Payload = {"TableName": table, "Item": item_to_wire(item)}
    _write_options(payload, p, condition, return_values, on_condition_failure)
    return _finish(payload, p)


def update_item(table: str, key: Mapping[str, Any], update: Update, condition: Condition | None,
                return_values: str, on_condition_failure: str) -> Payload:
    p = Placeholders()
    payload: Payload = {"TableName": table, "Key": item_to_wire(key), "UpdateExpression": update.render(p)}
    _write_options(payload, p, condition, return_values, on_condition_failure)
    return _finish(payload, p)


def delete_item(table: str, key: Mapping[str, Any], condition: Condition | None, return_values: str,
                on_condition_failure: str) -> Payload:
    p = Placeholders()
    payload: Payload = {"TableName": table, "Key": item_to_wire(key)}
    _write_options(payload, p, condition, return_values, on_condition_failure)
    return _finish(payload, p)


def read_options(payload: Payload, p: Placeholders, *, filter: Condition | None, attributes: Projection | None,
                 index: str | None, consistent: bool, start_key: Mapping[str, Any] | None,
                 select: str | None) -> Payload:
    """The options Query and Scan share."""
    if filter is not None:
        payload["FilterExpression"] = filter.render(p)
    if attributes is not None:
        payload["ProjectionExpression"] = projection(attributes, p)
    if index is not None:
        payload["IndexName"] = index
    if consistent:
        payload["ConsistentRead"] = True
    if start_key is not None:
        payload["ExclusiveStartKey"] = item_to_wire(start_key)
    if select is not None:
        payload["Select"] = select
    return _finish(payload, p)


def query(table: str, key_condition: Condition, *, reverse: bool = False, **options: Any) -> Payload:
    p = Placeholders()
    payload: Payload = {"TableName": table, "KeyConditionExpression": key_condition.render(p)}
    if reverse:
        payload["ScanIndexForward"] = False
    return read_options(payload, p, **options)


def scan(table: str, *, segment: int | None = None, total_segments: int | None = None, **options: Any) -> Payload:
    payload: Payload = {"TableName": table}
    if total_segments is not None:
        payload["Segment"] = segment or 0
        payload["TotalSegments"] = total_segments
    return read_options(payload, Placeholders(), **options)


def create_table(name: str, keys: KeySchema, *, billing_mode: str = "PAY_PER_REQUEST",
                 read_capacity: int | None = None, write_capacity: int | None = None,
                 stream: str | None = None, tags: Mapping[str, str] | None = None,
                 extra: Mapping[str, Any] | None = None) -> Payload:
    """CreateTable for a key schema whose attribute types are known; ``stream`` is a view type."""
    if keys.hash_type is None or (keys.range_key is not None and keys.range_type is None):
        raise ValueError("create_table needs the type (S, N or B) of every key attribute")
    schema = [{"AttributeName": keys.hash_key, "KeyType": "HASH"}]
    definitions = [{"AttributeName": keys.hash_key, "AttributeType": keys.hash_type}]
    if keys.range_key is not None:
        schema.append({"AttributeName": keys.range_key, "KeyType": "RANGE"})
        definitions.append({"AttributeName": keys.range_key, "AttributeType": str(keys.range_type)})
    payload: Payload = {"TableName": name, "KeySchema": schema, "AttributeDefinitions": definitions,
                        "BillingMode": billing_mode}
    if billing_mode == "PROVISIONED":
        payload["ProvisionedThroughput"] = {"ReadCapacityUnits": read_capacity or 5,
                                            "WriteCapacityUnits": write_capacity or 5}
    if stream is not None:
        payload["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": stream}
    if tags:
        payload["Tags"] = [{"Key": k, "Value": v} for k, v in tags.items()]
    payload.update(extra or {})
    return payload


def key_schema_of(hash_key: tuple[str, str] | None, range_key: tuple[str, str] | None,
                  model_keys: KeySchema | None) -> KeySchema:
    """The key schema of create_table: ``hash_key=("pk", "S")`` etc., or the model's declarations."""
    if hash_key is None:
        if model_keys is None:
            raise ValueError("create_table needs hash_key=(name, type) or a model that declares its keys")
        return model_keys
    range_name, range_type = range_key if range_key is not None else (None, None)
    return KeySchema(hash_key[0], range_name, hash_key[1], range_type)
