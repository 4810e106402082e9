import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dynamoray.events.codec import CodecError, EventCodec, LoggedEvent, SchemaRegistry
from dynamoray.events.log import Record
from dynamoray.schemas import events as ev
from dynamoray.schemas.events import ItemChanged, load_schema

ITEM = {"pk": {"S": "USER#1"}, "n": {"N": "-1.5E+3"}, "b": {"B": "AAEC"}, "ok": {"BOOL": False},
        "nul": {"NULL": True}, "ss": {"SS": ["a", "b"]}, "m": {"M": {"l": {"L": [{"N": "1"}, {"BS": ["AA=="]}]}}}}

EXAMPLES = [
    ItemChanged("tbl", 2, "INSERT", {"pk": ITEM["pk"]}, None, ITEM, "us-east-1"),
    ItemChanged("tbl", 0, "REMOVE", {"pk": ITEM["pk"]}, ITEM, None, "eu-west-1", "tx-1",
                "dynamodb.amazonaws.com", "Service", "req-9"),
    ev.TableCreated("tbl", "Users", {"KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}]}, "us-east-1"),
    ev.TableUpdated("tbl", "Users", {"BillingModeSummary": {"BillingMode": "PAY_PER_REQUEST"}}),
    ev.TableDeleted("tbl", "Users"),
    ev.SnapshotTaken("tbl", 1, 1234, 1_700_000_000_000, "file:///data/snap-1", [[1_700_000_000_000, 1200]]),
    ev.TransactionDecided("tx-1", "COMMIT", [["tbl", 0], ["tbl", 3]], "token"),
    ev.LeaderEpochStarted("tbl", 1, 7, "actor-abc"),
]


@pytest.mark.parametrize("event", EXAMPLES, ids=lambda e: type(e).__name__)
def test_every_event_type_round_trips(event):
    codec = EventCodec()
    assert codec.decode(codec.encode(event)) == event


def test_header_is_the_confluent_wire_format():
    data = EventCodec().encode(EXAMPLES[0])
    assert data[0] == 0 and struct.unpack(">I", data[1:5]) == (36,)  # ItemChanged v3 (transaction positions)
    assert EventCodec().encode(EXAMPLES[4])[1:5] == struct.pack(">I", 4)


def test_decode_record_carries_offset_and_timestamp():
    codec = EventCodec()
    logged = codec.decode_record(Record(41, 1_700_000_000_123, codec.encode(EXAMPLES[0])))
    assert logged == LoggedEvent(41, 1_700_000_000_123, EXAMPLES[0])


def test_rejects_bad_input():
    codec = EventCodec()
    with pytest.raises(CodecError, match="too short"):
        codec.decode(b"\x00\x00")
    with pytest.raises(CodecError, match="unknown schema id 999"):
        codec.decode(b"\x00" + struct.pack(">I", 999) + b"x")
    with pytest.raises(CodecError, match="unknown event format 7"):
        codec.decode(b"\x07" + struct.pack(">I", 1) + b"x")
    with pytest.raises(CodecError, match="not an event type"):
        codec.encode(object())


class XorCipher:
    """A toy cipher for the hook: XOR with a key, plus the associated data as a tag."""

    def __init__(self, key: int) -> None:
        self.key = key

    def encrypt(self, plaintext: bytes, associated_data: bytes) -> bytes:
        return associated_data + bytes(b ^ self.key for b in plaintext)

    def decrypt(self, ciphertext: bytes, associated_data: bytes) -> bytes:
        if ciphertext[: len(associated_data)] != associated_data:
            raise ValueError("authentication failed")
        return bytes(b ^ self.key for b in ciphertext[len(associated_data) :])


def test_encryption_hook():
    codec = EventCodec(cipher=XorCipher(0x5A))
    data = codec.encode(EXAMPLES[1])
    assert data[0] == 1 and b"USER#1" not in data
    assert codec.decode(data) == EXAMPLES[1]
    with pytest.raises(CodecError, match="no cipher"):
        EventCodec().decode(data)
    moved = data[:1] + struct.pack(">I", 2) + data[5:]  # the header is authenticated
    with pytest.raises(ValueError, match="authentication"):
        codec.decode(moved)
    # a plain event stays readable by a codec that encrypts
    assert codec.decode(EventCodec().encode(EXAMPLES[0])) == EXAMPLES[0]


# --- schema evolution ----------------------------------------------------------------------------

from dataclasses import dataclass  # noqa: E402


@dataclass(frozen=True, slots=True)
class ItemChangedV2:
    table_id: str
    shard: int
    event_name: str
    keys: dict
    old_image: dict | None = None
    new_image: dict | None = None
    region: str = ""
    transaction_id: str | None = None
    principal: str | None = None
    principal_type: str | None = None
    request_id: str | None = None
    size_bytes: int = -1
    ttl_expired: bool = False


def _v2_schema():
    schema = load_schema("ItemChanged", 1)
    schema["fields"] = schema["fields"] + [
        {"name": "size_bytes", "type": "long", "default": -1},
        {"name": "ttl_expired", "type": "boolean", "default": False},
    ]
    return schema


def test_a_newer_reader_reads_events_written_with_an_older_schema():
    old = EventCodec(SchemaRegistry([(1, "ItemChanged", 1, load_schema("ItemChanged", 1))],
                                    {"ItemChanged": ItemChanged}))  # a writer that knows v1 only
    assert EventCodec().decode(old.encode(EXAMPLES[1])) == EXAMPLES[1]  # the shipped reader too
    new_registry = SchemaRegistry(
        [(1, "ItemChanged", 1, load_schema("ItemChanged", 1)), (100, "ItemChanged", 2, _v2_schema())],
        {"ItemChanged": ItemChangedV2},
    )
    new = EventCodec(new_registry)
    decoded = new.decode(old.encode(EXAMPLES[1]))
    assert isinstance(decoded, ItemChangedV2)
    assert decoded.keys == EXAMPLES[1].keys and decoded.old_image == ITEM and decoded.request_id == "req-9"
    assert (decoded.size_bytes, decoded.ttl_expired) == (-1, False)
    # and the newer writer uses its newest schema
    written = new.encode(ItemChangedV2("t", 0, "INSERT", {}, None, {}, size_bytes=10))
    assert struct.unpack(">I", written[1:5]) == (100,)
    assert new.decode(written).size_bytes == 10


def test_registry_rejects_duplicate_ids():
    schema = load_schema("TableDeleted", 1)
    with pytest.raises(ValueError, match="duplicate schema id"):
        SchemaRegistry([(1, "TableDeleted", 1, schema), (1, "TableDeleted", 2, schema)], {})


# --- property: any item survives the trip --------------------------------------------------------

_scalars = st.one_of(
    st.builds(lambda s: {"S": s}, st.text()),
    st.builds(lambda n: {"N": str(n)}, st.integers()),
    st.builds(lambda b: {"BOOL": b}, st.booleans()),
    st.just({"NULL": True}),
    st.builds(lambda ss: {"SS": sorted(ss)}, st.sets(st.text(), min_size=1, max_size=4)),
)
_values = st.recursive(
    _scalars,
    lambda inner: st.one_of(
        st.builds(lambda items: {"L": items}, st.lists(inner, max_size=4)),
        st.builds(lambda m: {"M": m}, st.dictionaries(st.text(min_size=1), inner, max_size=4)),
    ),
    max_leaves=12,
)
_items = st.dictionaries(st.text(min_size=1, max_size=10), _values, max_size=6)


@settings(max_examples=150, deadline=None)
@given(old=st.none() | _items, new=st.none() | _items, shard=st.integers(0, 2**31 - 1), tx=st.none() | st.text())
def test_item_changed_round_trips_any_images(old, new, shard, tx):
    event = ItemChanged("t", shard, "MODIFY", {"pk": {"S": "k"}}, old, new, "r", tx)
    codec = EventCodec(cipher=XorCipher(7))
    assert codec.decode(codec.encode(event)) == event


# --- the fast path: compiled readers give what fastavro gives --------------------------------------

import io  # noqa: E402
from unittest import mock  # noqa: E402

import fastavro  # noqa: E402
import orjson  # noqa: E402

_json = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.text()
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=10,
)


def _values_of(avro_type, json):
    """A strategy for one field's model value, from its (parsed) Avro type."""
    if isinstance(avro_type, list):
        return st.none() | _values_of(next(t for t in avro_type if t != "null"), json)
    if isinstance(avro_type, dict):
        return st.sampled_from(avro_type["symbols"])
    if json:  # None is "absent", which only a union allows
        return _json.filter(lambda v: v is not None)
    return {
        "string": st.text(),
        "int": st.integers(-(2**31), 2**31 - 1),
        "long": st.integers(-(2**63), 2**63 - 1),
        "boolean": st.booleans(),
        "bytes": st.binary(),  # plain bytes (not JSON): a hook's function, a wrapped data key
    }[avro_type]


def _with_fastavro(codec, data):
    """The reference: the event as fastavro reads it, written and read with the newest schema."""
    schema = codec.registry.by_id(struct.unpack(">I", data[1:5])[0])
    record = fastavro.schemaless_reader(io.BytesIO(data[5:]), schema.parsed, None)
    for f in schema.json_fields:
        if record[f] is not None:
            record[f] = orjson.loads(record[f])
    return codec.registry.types[schema.name](**record)


def _typed(event):
    """Field values with their types (so True and 1 differ)."""
    return type(event), [(type(getattr(event, f)), getattr(event, f)) for f in event.__dataclass_fields__]


def _no_fastavro():
    return mock.patch.object(fastavro, "schemaless_reader", side_effect=AssertionError("fastavro used"))


@pytest.mark.parametrize("name", sorted(ev.EVENT_TYPES))
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_the_fast_reader_reads_every_event_as_fastavro_does(name, data):
    codec = EventCodec()
    schema = codec.registry.newest(name)
    assert schema.id in codec.registry.fast_readers
    values = {f["name"]: data.draw(_values_of(f["type"], f["name"] in schema.json_fields), label=f["name"])
              for f in schema.parsed["fields"]}
    event = ev.EVENT_TYPES[name](**values)
    encoded = codec.encode(event)
    encrypted = EventCodec(cipher=XorCipher(3))
    with _no_fastavro():  # the fast path is taken, plain and encrypted
        fast, fast_decrypted = codec.decode(encoded), encrypted.decode(encrypted.encode(event))
    assert _typed(fast) == _typed(fast_decrypted) == _typed(_with_fastavro(codec, encoded))
    assert fast == event


def test_bytes_the_fast_reader_does_not_expect_go_to_fastavro():
    codec = EventCodec()
    data = codec.encode(EXAMPLES[1])
    # trailing bytes: fastavro ignores them, and so does the codec
    assert codec.decode(data + b"\x00\x07") == EXAMPLES[1]
    # truncated: fastavro's error
    for cut in (data[:-1], data[:40]):
        with pytest.raises(EOFError):
            codec.decode(cut)
    # a boolean byte other than 0 or 1: fastavro reads any non-zero byte as true
    registry = SchemaRegistry([(100, "ItemChanged", 2, _v2_schema())], {"ItemChanged": ItemChangedV2})
    v2 = EventCodec(registry)
    written = v2.encode(ItemChangedV2("t", 0, "INSERT", {}, None, {}, ttl_expired=True))
    assert written[-1] == 1
    assert v2.decode(written[:-1] + b"\x05").ttl_expired is True
    # bad UTF-8 in a string
    bad = data.replace(b"eu-west-1", b"eu-west-\xff")
    with pytest.raises(UnicodeDecodeError):
        codec.decode(bad)


def test_only_newest_flat_schemas_get_a_fast_reader():
    schemas = [
        (1, "ItemChanged", 1, load_schema("ItemChanged", 1)),
        (100, "ItemChanged", 2, _v2_schema()),
        (200, "Other", 1, {"type": "record", "name": "Other", "fields": [{"name": "x", "type": "double"}]}),
        (300, "Stamped", 1, {"type": "record", "name": "Stamped", "fields": [
            {"name": "at", "type": {"type": "long", "logicalType": "timestamp-millis"}}]}),
    ]
    registry = SchemaRegistry(schemas, {"ItemChanged": ItemChangedV2, "Other": Other, "Stamped": Stamped})
    assert set(registry.fast_readers) == {100}
    codec = EventCodec(registry)
    assert codec.decode(codec.encode(Other(1.5))) == Other(1.5)
    assert codec.decode(codec.encode(Stamped(1_700_000_000_000))).at.year == 2023  # fastavro's datetime


@dataclass(frozen=True, slots=True)
class Other:
    x: float


@dataclass(frozen=True, slots=True)
class Stamped:
    at: object


@dataclass(frozen=True)
class Checked:
    table_id: str
    table_name: str

    def __post_init__(self):
        if not self.table_id:
            raise ValueError("empty table id")


def test_a_model_with_more_than_slots_is_built_through_its_init():
    registry = SchemaRegistry([(4, "TableDeleted", 1, load_schema("TableDeleted", 1))], {"TableDeleted": Checked})
    codec = EventCodec(registry)
    assert 4 in registry.fast_readers
    with _no_fastavro():
        assert codec.decode(codec.encode(Checked("t", "Users"))) == Checked("t", "Users")
    written = EventCodec().encode(ev.TableDeleted("", "Users"))
    with pytest.raises(ValueError, match="empty table id"):  # __post_init__ ran
        codec.decode(written)


@dataclass(frozen=True, slots=True)
class Flipped:
    a: str | None
    b: int | None
    c: bool
    d: str


FLIPPED = {"type": "record", "name": "Flipped", "fields": [
    {"name": "a", "type": ["string", "null"]}, {"name": "b", "type": ["long", "null"]},
    {"name": "c", "type": "boolean"}, {"name": "d", "type": {"type": "enum", "name": "D", "symbols": ["X", "Y", "Z"]}},
]}


@settings(max_examples=100, deadline=None)
@given(a=st.none() | st.text(), b=st.none() | st.integers(-(2**63), 2**63 - 1), c=st.booleans(),
       d=st.sampled_from("XYZ"))
def test_the_fast_reader_handles_null_second_unions_and_booleans(a, b, c, d):
    codec = EventCodec(SchemaRegistry([(50, "Flipped", 1, FLIPPED)], {"Flipped": Flipped}))
    data = codec.encode(Flipped(a, b, c, d))
    with _no_fastavro():
        fast = codec.decode(data)
    assert _typed(fast) == _typed(_with_fastavro(codec, data)) == _typed(Flipped(a, b, c, d))
