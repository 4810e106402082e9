"""Stream records: one logged ``ItemChanged`` event shaped as a GetRecords record (see
``events/streams.py``).  Hooks shape their input the same way (``actors/hook_runner.py``)."""

from __future__ import annotations

import hashlib
from typing import Any

from ..core.values import item_size, values_equal
from ..schemas.events import ItemChanged
from .log import Record
from .stream_ids import sequence_number


def event_id(topic: str, partition: int, offset: int) -> str:
    return hashlib.sha256(f"{topic}/{partition}/{offset}".encode()).hexdigest()[:32]


def stream_record(
    event: ItemChanged, partition: int, record: Record, view_type: str, region: str, topic: str
) -> dict[str, Any] | None:
    """The GetRecords record of one logged item change (None for a MODIFY that changed nothing)."""
    old, new = event.old_image, event.new_image
    if event.event_name == "MODIFY" and old is not None and new is not None and values_equal({"M": old}, {"M": new}):
        return None
    body: dict[str, Any] = {
        "ApproximateCreationDateTime": record.timestamp // 1000,
        "Keys": event.keys,
        "SequenceNumber": sequence_number(partition, record.offset),
    }
    size = item_size(event.keys)
    if view_type in ("NEW_IMAGE", "NEW_AND_OLD_IMAGES") and new is not None:
        body["NewImage"] = new
        size += item_size(new)
    if view_type in ("OLD_IMAGE", "NEW_AND_OLD_IMAGES") and old is not None:
        body["OldImage"] = old
        size += item_size(old)
    body["SizeBytes"] = max(size, 1)
    body["StreamViewType"] = view_type
    out: dict[str, Any] = {
        "eventID": event_id(topic, partition, record.offset), "eventName": event.event_name,
        "eventVersion": "1.1", "eventSource": "aws:dynamodb", "awsRegion": event.region or region,
        "dynamodb": body,
    }
    if event.principal_type == "Service":  # a TTL delete
        out["userIdentity"] = {"PrincipalId": event.principal or "dynamodb.amazonaws.com", "Type": "Service"}
    if event.transaction_id is not None:  # a dynamoray extension: the transaction as a unit
        out[TRANSACTION_MEMBER] = transaction_member(event)
    return out


TRANSACTION_MEMBER = "dynamorayTransaction"  # SDKs that follow the model drop it (docs/extensions.md)


def transaction_member(event: ItemChanged) -> dict[str, Any]:
    """``{"Id", "Index", "Count"}``: the transaction of a change, and its write's position in it
    ("Index of Count", from 1); a change logged before positions were kept has the Id only."""
    member: dict[str, Any] = {"Id": event.transaction_id}
    if event.transaction_index is not None:
        member["Index"], member["Count"] = event.transaction_index, event.transaction_count
    return member
