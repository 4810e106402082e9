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
    assert data[0] == 0 and struct.unpack(">I", data[1:5]) == (1,)
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
    old = EventCodec()
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
        st.builds(lambda l: {"L": l}, st.lists(inner, max_size=4)),
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
