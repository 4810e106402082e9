"""TTL deletions in the log and in DynamoDB Streams: an ItemChanged carries who made the change
(``principal``/``principal_type``, in the ItemChanged v1 schema since its first version), and a
stream record of a TTL deletion shows it as ``userIdentity``.  Records written without it (every
other write, and every record written before TTL existed) decode and render as before."""

from __future__ import annotations

import io
import struct

import fastavro
import orjson

from dynamoray.actors import records
from dynamoray.core.commands import REMOVE, ItemChange
from dynamoray.events import streams
from dynamoray.events.codec import EventCodec
from dynamoray.events.log import Record
from dynamoray.schemas.events import ItemChanged, load_schema

TABLE = "0f0e0d0c-0b0a-0908-0706-050403020100"
KEY = {"p": {"S": "a"}}
OLD = {"p": {"S": "a"}, "exp": {"N": "1700000000"}}


def v1_bytes(**fields) -> bytes:
    """An ItemChanged as a v1 writer lays it out, built by hand (schema id 1, plain)."""
    record = {"table_id": TABLE, "shard": 0, "event_name": "REMOVE", "keys": orjson.dumps(KEY),
              "old_image": orjson.dumps(OLD), "new_image": None, "region": "us-east-1",
              "transaction_id": None, "principal": None, "principal_type": None, "request_id": None, **fields}
    out = io.BytesIO()
    fastavro.schemaless_writer(out, fastavro.parse_schema(load_schema("ItemChanged", 1)), record)
    return struct.pack(">BI", 0, 1) + out.getvalue()


def render(value: bytes, codec: EventCodec | None = None) -> dict:
    event = (codec or EventCodec()).decode(value)
    return streams.stream_record(event, 0, Record(7, 1_700_000_000_000, value), "NEW_AND_OLD_IMAGES",
                                 "us-east-1", "topic")


def test_a_v1_record_without_a_principal_decodes_and_has_no_user_identity():
    value = v1_bytes()
    event = EventCodec().decode(value)
    assert isinstance(event, ItemChanged) and event.principal is None and event.principal_type is None
    assert records.decode_change(value) == ItemChange(REMOVE, KEY, OLD, None)
    shown = render(value)
    assert "userIdentity" not in shown and shown["eventName"] == "REMOVE"
    assert shown["dynamodb"]["OldImage"] == OLD


def test_a_ttl_deletion_shows_the_service_principal():
    value = v1_bytes(principal="dynamodb.amazonaws.com", principal_type="Service")
    assert render(value)["userIdentity"] == {"PrincipalId": "dynamodb.amazonaws.com", "Type": "Service"}


def test_the_change_encoder_writes_the_principal_and_decoding_gives_it_back():
    change = ItemChange(REMOVE, KEY, OLD, None, "dynamodb.amazonaws.com", "Service")
    value = records.change_encoder(TABLE)(change)
    assert records.decode_change(value) == change
    assert render(value)["userIdentity"] == {"PrincipalId": "dynamodb.amazonaws.com", "Type": "Service"}
    plain = records.change_encoder(TABLE)(ItemChange(REMOVE, KEY, OLD, None))
    assert "userIdentity" not in render(plain)


def test_the_slow_path_decodes_the_same_event():
    """fastavro (schema evolution, encrypted bodies) and the compiled fast reader agree."""
    value = v1_bytes(principal="dynamodb.amazonaws.com", principal_type="Service")
    codec = EventCodec()
    slow = codec._read_with_fastavro(codec.registry.by_id(1), value[5:])
    assert slow == codec.decode(value)
