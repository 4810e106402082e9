"""The compiled Avro writer (events/avro_writer.py) gives fastavro's bytes, or hands over to it."""

import io
from dataclasses import dataclass
from unittest import mock

import fastavro
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dynamoray.events import avro_writer
from dynamoray.events.codec import EventCodec, SchemaRegistry
from dynamoray.schemas import events as ev

from .test_codec import EXAMPLES, FLIPPED, Flipped, _values_of


def _fastavro_body(schema, event) -> bytes:
    """The reference: the event's body as fastavro writes it."""
    record = {f: getattr(event, f) for f in event.__dataclass_fields__}
    for f in schema.json_fields:
        if record[f] is not None:
            record[f] = orjson.dumps(record[f])
    out = io.BytesIO()
    fastavro.schemaless_writer(out, schema.parsed, record)
    return out.getvalue()


def _no_fastavro():
    return mock.patch.object(fastavro, "schemaless_writer", side_effect=AssertionError("fastavro used"))


def test_every_newest_schema_gets_a_fast_writer():
    registry = SchemaRegistry.default()
    assert {registry.newest(name).id for name in ev.EVENT_TYPES} == set(registry.fast_writers)


@pytest.mark.parametrize("name", sorted(ev.EVENT_TYPES))
@settings(max_examples=15, deadline=None)
@given(data=st.data())
def test_the_fast_writer_writes_every_event_as_fastavro_does(name, data):
    codec = EventCodec()
    schema = codec.registry.newest(name)
    values = {f["name"]: data.draw(_values_of(f["type"], f["name"] in schema.json_fields), label=f["name"])
              for f in schema.parsed["fields"]}
    event = ev.EVENT_TYPES[name](**values)
    with _no_fastavro():
        encoded = codec.encode(event)
    assert encoded[5:] == _fastavro_body(schema, event)
    assert codec.decode(encoded) == event


@pytest.mark.parametrize("event", EXAMPLES, ids=lambda e: type(e).__name__)
def test_the_examples_are_written_without_fastavro(event):
    codec = EventCodec()
    with _no_fastavro():
        assert codec.decode(codec.encode(event)) == event


@settings(max_examples=100, deadline=None)
@given(a=st.none() | st.text(), b=st.none() | st.integers(-(2**63), 2**63 - 1), c=st.booleans(),
       d=st.sampled_from("XYZ"))
def test_null_second_unions_booleans_and_enums(a, b, c, d):
    codec = EventCodec(SchemaRegistry([(50, "Flipped", 1, FLIPPED)], {"Flipped": Flipped}))
    event = Flipped(a, b, c, d)
    with _no_fastavro():
        encoded = codec.encode(event)
    assert encoded[5:] == _fastavro_body(codec.registry.by_id(50), event)


@dataclass(frozen=True, slots=True)
class Loose:
    a: object
    b: object
    c: object
    d: object


@pytest.mark.parametrize("values", [
    (None, True, True, "X"),  # a bool where a long goes
    (None, 2**63, True, "X"),  # a long out of range
    (b"x", 1, True, "X"),  # bytes where a string goes
    (None, 1, True, "W"),  # not a symbol
    (None, 1, 1, "X"),  # an int where a boolean goes
])
def test_values_it_does_not_take_go_to_fastavro(values):
    registry = SchemaRegistry([(50, "Flipped", 1, FLIPPED)], {"Flipped": Loose})
    with pytest.raises(avro_writer.Unwritable) if values[3] != "W" else pytest.raises(KeyError):
        registry.fast_writers[50](Loose(*values))
    codec = EventCodec(registry)
    try:
        expected = _fastavro_body(registry.by_id(50), Loose(*values))
    except Exception as error:  # noqa: BLE001 - then the codec raises fastavro's error
        with pytest.raises(type(error)):
            codec.encode(Loose(*values))
    else:
        assert codec.encode(Loose(*values))[5:] == expected


def test_a_missing_json_field_goes_to_fastavro():
    codec = EventCodec()
    event = ev.ItemChanged("t", 0, "INSERT", None, None, {"pk": {"S": "a"}})  # keys is not a union
    with pytest.raises(avro_writer.Unwritable):
        codec.registry.fast_writers[codec.registry.newest("ItemChanged").id](event)
    with pytest.raises(Exception):  # noqa: B017 - fastavro's own error, whatever it is
        codec.encode(event)


@given(st.integers(-(2**63), 2**63 - 1))
def test_zigzag_matches_fastavro(n):
    out = io.BytesIO()
    fastavro.schemaless_writer(out, "long", n)
    assert avro_writer.zigzag(n) == out.getvalue()


@given(st.binary(max_size=70_000))
def test_length_prefixes_match_fastavro(data):
    out = io.BytesIO()
    fastavro.schemaless_writer(out, "bytes", data)
    assert avro_writer.length(len(data)) + data == out.getvalue()


def test_schemas_it_does_not_handle_get_no_writer():
    assert avro_writer.compile_flat_writer({"type": "record", "name": "X", "fields": [
        {"name": "x", "type": "double"}]}, ()) is None
    assert avro_writer.compile_flat_writer({"type": "record", "name": "X", "fields": [
        {"name": "x", "type": ["null", "string", "long"]}]}, ()) is None
    assert avro_writer.compile_flat_writer({"type": "record", "name": "X", "fields": [
        {"name": "class", "type": "string"}]}, ()) is None
