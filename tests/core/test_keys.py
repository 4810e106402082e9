"""Key schemas (CreateTable's checks), key extraction and validation, key bytes and hashing."""

import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from dynamoray.core import keys, values
from dynamoray.core.errors import DynamoError
from dynamoray.core.keys import KeySchema, extract_key, key_schema_from_wire, validate_key

INVALID = "One or more parameter values were invalid: "
HASH_ONLY = KeySchema("pk", "S")
COMPOSITE = KeySchema("pk", "S", "sk", "N")
BINARY = KeySchema("pk", "B", "sk", "B")


def H(name):
    return {"AttributeName": name, "KeyType": "HASH"}


def R(name):
    return {"AttributeName": name, "KeyType": "RANGE"}


def D(name, kind="S"):
    return {"AttributeName": name, "AttributeType": kind}


def message(call, *args):
    with pytest.raises(DynamoError) as caught:
        call(*args)
    assert caught.value.error_type == "ValidationException"
    return caught.value.message


# --- KeySchema --------------------------------------------------------------------------------


def test_key_schema_from_wire():
    assert key_schema_from_wire([H("pk")], [D("pk", "N")]) == KeySchema("pk", "N")
    assert key_schema_from_wire([H("pk"), R("sk")], [D("sk", "B"), D("pk")]) == KeySchema("pk", "S", "sk", "B")


def test_key_schema_names_and_wire_form():
    assert COMPOSITE.names == ("pk", "sk")
    assert HASH_ONLY.names == ("pk",)
    assert COMPOSITE.to_wire() == [H("pk"), R("sk")]
    with pytest.raises(AttributeError):
        COMPOSITE.hash_name = "x"


@pytest.mark.parametrize("schema, definitions, expected", [
    ([H("pk"), R("sk")], [D("pk")], "Invalid KeySchema: Some index key attribute have no definition"),
    ([H("pk"), R("pk")], [D("pk")], "Invalid KeySchema: Some index key attribute have no definition"),
    ([H("pk"), R("sk")], [D("pk"), D("typo")],
     INVALID + "Some index key attributes are not defined in AttributeDefinitions. "
     "Keys: [pk, sk], AttributeDefinitions: [pk, typo]"),
    ([H("x")], [D("y")],
     INVALID + "Some index key attributes are not defined in AttributeDefinitions. "
     "Keys: [x], AttributeDefinitions: [y]"),
    ([H("pk"), R("pk")], [D("pk"), D("other")],
     "Both the Hash Key and the Range Key element in the KeySchema have the same name"),
    ([R("pk")], [D("pk")], "Invalid KeySchema: The first KeySchemaElement is not a HASH key type"),
    ([H("a"), H("b")], [D("a"), D("b")], "Invalid KeySchema: The second KeySchemaElement is not a RANGE key type"),
    ([R("a"), H("b")], [D("a"), D("b")], "Invalid KeySchema: The first KeySchemaElement is not a HASH key type"),
])
def test_key_schema_errors(schema, definitions, expected):
    assert message(key_schema_from_wire, schema, definitions) == expected


def test_key_schema_shape_errors():
    assert message(key_schema_from_wire, [H("pk")], [D("pk", "SS")]) == (
        "1 validation error detected: Value 'SS' at 'attributeDefinitions.1.member.attributeType' "
        "failed to satisfy constraint: Member must satisfy enum value set: [B, N, S]"
    )
    assert message(key_schema_from_wire, [{"AttributeName": "pk", "KeyType": "INVALID"}], [D("pk")]) == (
        "1 validation error detected: Value 'INVALID' at 'keySchema.1.member.keyType' "
        "failed to satisfy constraint: Member must satisfy enum value set: [HASH, RANGE]"
    )
    assert message(key_schema_from_wire, [H("a"), R("b"), R("c")], [D("a"), D("b"), D("c")]) == (
        "1 validation error detected: Value '[KeySchemaElement(attributeName=a, keyType=HASH), "
        "KeySchemaElement(attributeName=b, keyType=RANGE), KeySchemaElement(attributeName=c, keyType=RANGE)]' "
        "at 'keySchema' failed to satisfy constraint: Member must have length less than or equal to 2"
    )
    assert message(key_schema_from_wire, [{"KeyType": "HASH"}], [{"AttributeName": "pk"}]) == (
        "2 validation errors detected: "
        "Value null at 'attributeDefinitions.1.member.attributeType' failed to satisfy constraint: "
        "Member must not be null; "
        "Value null at 'keySchema.1.member.attributeName' failed to satisfy constraint: Member must not be null"
    )


def test_key_names_are_limited_to_255_characters():
    ok = "a" * 255
    assert key_schema_from_wire([H(ok)], [D(ok)]).hash_name == ok
    long = "a" * 256
    text = message(key_schema_from_wire, [H(long)], [D("short")])
    assert text.startswith("1 validation error detected: Value '" + long + "' at 'keySchema.1.member.attributeName'")
    assert text.endswith("Member must have length less than or equal to 255")


@pytest.mark.parametrize("definitions, used, indexes, expected", [
    ([D("pk"), D("x")], ["pk"], False,
     INVALID + "Number of attributes in KeySchema does not exactly match number of attributes defined "
     "in AttributeDefinitions"),
    ([D("pk"), D("g"), D("unused")], ["pk", "g"], True,
     INVALID + "Some AttributeDefinitions are not used. AttributeDefinitions: [pk, g, unused], keys used: [pk, g]"),
    ([D("pk")], ["pk", "g"], True,
     INVALID + "Some index key attributes are not defined in AttributeDefinitions. Keys: [g], "
     "AttributeDefinitions: [pk]"),
])
def test_check_definitions_used(definitions, used, indexes, expected):
    assert message(keys.check_definitions_used, definitions, used, indexes) == expected


def test_check_definitions_used_accepts_exact_sets():
    keys.check_definitions_used([D("pk"), D("g")], ["pk", "g", "pk"], True)
    keys.check_definitions_used([D("pk")], ["pk"], False)


# --- extract_key (an item being written) -------------------------------------------------------


def test_extract_key_returns_the_key_attributes():
    item = {"pk": {"S": "a"}, "sk": {"N": "1"}, "other": {"S": "x"}}
    assert extract_key(COMPOSITE, item) == {"pk": {"S": "a"}, "sk": {"N": "1"}}
    assert extract_key(HASH_ONLY, item) == {"pk": {"S": "a"}}


@pytest.mark.parametrize("schema, item, expected", [
    (COMPOSITE, {"sk": {"N": "1"}}, INVALID + "Missing the key pk in the item"),
    (COMPOSITE, {"pk": {"S": "a"}}, INVALID + "Missing the key sk in the item"),
    (COMPOSITE, {"pk": {"N": "1"}, "sk": {"N": "1"}}, INVALID + "Type mismatch for key pk expected: S actual: N"),
    (COMPOSITE, {"pk": {"S": "a"}, "sk": {"SS": ["1"]}}, INVALID + "Type mismatch for key sk expected: N actual: SS"),
    (COMPOSITE, {"pk": {"S": ""}, "sk": {"N": "1"}},
     "One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain "
     "an empty string value. Key: pk"),
    (BINARY, {"pk": {"B": "AA=="}, "sk": {"B": ""}},
     "One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain "
     "an empty binary value. Key: sk"),
])
def test_extract_key_errors(schema, item, expected):
    assert message(extract_key, schema, item) == expected


def test_key_size_limits():
    assert extract_key(HASH_ONLY, {"pk": {"S": "a" * 2048}})
    assert message(extract_key, HASH_ONLY, {"pk": {"S": "a" * 2049}}) == (
        INVALID + "Size of hashkey has exceeded the maximum size limit of2048 bytes")
    assert message(extract_key, HASH_ONLY, {"pk": {"S": "é" * 1025}}) == (  # 2050 UTF-8 bytes
        INVALID + "Size of hashkey has exceeded the maximum size limit of2048 bytes")
    range_schema = KeySchema("pk", "S", "sk", "S")
    assert extract_key(range_schema, {"pk": {"S": "a"}, "sk": {"S": "b" * 1024}})
    assert message(extract_key, range_schema, {"pk": {"S": "a"}, "sk": {"S": "b" * 1025}}) == (
        INVALID + "Aggregated size of all range keys has exceeded the size limit of 1024 bytes")
    big_binary = {"pk": {"B": "AA=="}, "sk": {"B": "A" * 1368}}  # 1026 raw bytes
    assert message(extract_key, BINARY, big_binary) == (
        INVALID + "Aggregated size of all range keys has exceeded the size limit of 1024 bytes")


# --- validate_key (a Key parameter) -------------------------------------------------------------


def test_validate_key_normalizes():
    assert validate_key(COMPOSITE, {"pk": {"S": "a"}, "sk": {"N": "01.50"}}) == {
        "pk": {"S": "a"}, "sk": {"N": "1.5"}}


@pytest.mark.parametrize("key", [
    {"pk": {"S": "a"}},  # missing the range key
    {"pk": {"S": "a"}, "sk": {"N": "1"}, "x": {"S": "b"}},  # an extra attribute
    {"pk": {"S": "a"}, "other": {"N": "1"}},  # the right count, a wrong name
    {"pk": {"N": "1"}, "sk": {"N": "1"}},  # a wrong type
    {},
])
def test_validate_key_mismatch(key):
    assert message(validate_key, COMPOSITE, key) == "The provided key element does not match the schema"


def test_validate_key_empty_and_oversized_values():
    assert message(validate_key, HASH_ONLY, {"pk": {"S": ""}}) == (
        "One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain "
        "an empty string value. Key: pk")
    assert message(validate_key, HASH_ONLY, {"pk": {"S": "x" * 2049}}) == (
        INVALID + "Size of hashkey has exceeded the maximum size limit of2048 bytes")


def test_validate_key_checks_values():
    assert message(validate_key, COMPOSITE, {"pk": {"S": "a"}, "sk": {"N": "x"}}) == (
        "The parameter cannot be converted to a numeric value: x")


# --- sort-key bytes --------------------------------------------------------------------------


def test_number_sort_bytes_order_and_round_trip():
    texts = ["-9.9999999999999999999999999999999999999E+125", "-100", "-99", "-10", "-1.5", "-1",
             "-0.11", "-0.101", "-0.1", "-1E-130", "0", "1E-130", "0.1", "0.101", "0.11", "1", "1.5",
             "10", "99", "100", "9.9999999999999999999999999999999999999E+125"]
    encoded = [keys.sort_key_bytes({"N": values.normalize_number(t)}) for t in texts]
    assert encoded == sorted(encoded)
    assert len(set(encoded)) == len(encoded)
    for t, b in zip(texts, encoded):
        assert keys.sort_key_value("N", b) == {"N": values.normalize_number(t)}


def test_string_and_binary_sort_bytes_are_raw_bytes():
    assert keys.sort_key_bytes({"S": "aé"}) == "aé".encode()
    assert keys.sort_key_bytes({"B": "AP8="}) == b"\x00\xff"
    assert keys.sort_key_value("S", "aé".encode()) == {"S": "aé"}
    assert keys.sort_key_value("B", b"\x00\xff") == {"B": "AP8="}


def test_begins_with_prefix_is_a_byte_prefix():
    assert keys.sort_key_bytes({"S": "abcdef"}).startswith(keys.sort_key_bytes({"S": "abc"}))


def test_sort_key_bytes_refuses_non_key_types():
    with pytest.raises(ValueError):
        keys.sort_key_bytes({"SS": ["a"]})


# --- hashing ---------------------------------------------------------------------------------


def test_partition_hash_is_64_bit_and_type_aware():
    h = keys.partition_hash({"S": "1"})
    assert 0 <= h < 2 ** 64
    assert h != keys.partition_hash({"N": "1"})
    assert keys.partition_hash({"N": "1.0"}) == keys.partition_hash({"N": "1"})
    assert keys.partition_hash({"B": "AQ=="}) == keys.partition_hash({"B": b"\x01"})


def test_partition_hash_is_the_same_in_another_process():
    """Never Python's ``hash()``: a fresh interpreter (another hash seed) must agree."""
    code = ("from dynamoray.core import keys;"
            "print(keys.partition_hash({'S': 'hello'}), keys.shard_for({'N': '42'}, 16))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={"PYTHONHASHSEED": "12345"}, cwd=Path(__file__).parents[2]).stdout.split()
    assert [int(x) for x in out] == [keys.partition_hash({"S": "hello"}), keys.shard_for({"N": "42"}, 16)]


def test_partition_hash_known_value():
    """Pinned: the hash is part of the on-disk layout and must never change."""
    assert keys.partition_hash({"S": "a"}) == 6588034883912205775


def test_shard_for_range_and_balance():
    counts = [0] * 8
    for i in range(4000):
        shard = keys.shard_for({"S": f"key-{i}"}, 8)
        assert 0 <= shard < 8
        counts[shard] += 1
    assert min(counts) > 350  # about 500 each
    assert keys.shard_for({"S": "x"}, 1) == 0
    with pytest.raises(ValueError):
        keys.shard_for({"S": "x"}, 0)


def test_shard_for_moves_keys_only_to_a_new_shard():
    for i in range(500):
        value = {"S": f"k{i}"}
        before, after = keys.shard_for(value, 5), keys.shard_for(value, 6)
        assert after == before or after == 5


# --- the hot path's shortcuts agree with the general rules --------------------------------------


def _decimal_sort_bytes(text: str) -> bytes:
    """sort_key_bytes's general rule for a positive number (sign, exponent byte, digits)."""
    _, digits, exponent = Decimal(text).as_tuple()
    return bytes([0x03, exponent + len(digits) - 1 - values.MIN_EXPONENT, *digits])


@pytest.mark.parametrize("text", ["1", "7", "10", "12300", "99", "100", "9" * 38, "1" + "0" * 37])
def test_integer_sort_bytes_are_the_decimal_rule(text):
    assert keys.sort_key_bytes({"N": text}) == _decimal_sort_bytes(text)
    assert keys.sort_key_value("N", keys.sort_key_bytes({"N": text})) == {"N": text}


def test_remembered_hashes_and_shards_are_the_computed_ones():
    long_value = "x" * 300  # too long to be remembered: always computed
    for value in ({"S": "user#1"}, {"N": "1.50"}, {"N": "1.5"}, {"B": "AQ=="}, {"S": long_value}):
        first = keys.partition_hash(value)
        assert keys.partition_hash(value) == first  # the second comes from the memory
        for count in (1, 2, 5, 16):
            shard, candidate, state = -1, 0, first
            while candidate < count:  # jump consistent hashing, written out
                shard = candidate
                state = (state * 2862933555777941757 + 1) & 0xFFFFFFFFFFFFFFFF
                candidate = int((shard + 1) * ((1 << 31) / ((state >> 33) + 1)))
            assert keys.shard_for(value, count) == keys.shard_for(value, count) == shard
    assert keys.partition_hash({"N": "1.50"}) == keys.partition_hash({"N": "1.5"})
    with pytest.raises(ValueError):
        keys.partition_hash({"SS": ["a"]})
    with pytest.raises(ValueError):  # an invalid value is not remembered either
        keys.partition_hash({"X": "a"})
