"""Primary keys: the key schema, key extraction and validation, sort-key bytes, partition hashing.

- :class:`KeySchema` is a table's (or index's) key: a HASH attribute and an optional RANGE one,
  each typed S, N or B.  :func:`key_schema_from_wire` builds it from CreateTable's ``KeySchema``
  and ``AttributeDefinitions`` with DynamoDB's checks and messages.
- :func:`extract_key` takes the key out of an item being written (PutItem's checks);
  :func:`validate_key` checks a ``Key`` parameter (GetItem, DeleteItem, UpdateItem).
- :func:`sort_key_bytes` maps a key value to bytes whose order is DynamoDB's order, so partitions
  keep items in a sorted map; :func:`sort_key_value` reverses it.
- :func:`partition_hash` is a stable 64-bit hash (the same on every machine and every run) and
  :func:`shard_for` picks a shard from it.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from . import errors, values
from .values import AttributeValue, Item

KEY_TYPES = ("S", "N", "B")
MAX_HASH_KEY_BYTES = 2048
MAX_RANGE_KEY_BYTES = 1024
MAX_KEY_NAME_LENGTH = 255


@dataclass(frozen=True)
class KeySchema:
    hash_name: str
    hash_type: str
    range_name: str | None = None
    range_type: str | None = None

    @functools.cached_property  # read on every request: made once per schema (not a field)
    def names(self) -> tuple[str, ...]:
        """The key attribute names, HASH first."""
        return (self.hash_name,) if self.range_name is None else (self.hash_name, self.range_name)

    @functools.cached_property  # read on every request: made once per schema (not a field)
    def typed(self) -> tuple[tuple[str, str, bool], ...]:
        """``(name, type, is_hash)`` for each key attribute, HASH first."""
        pairs = [(self.hash_name, self.hash_type, True)]
        if self.range_name is not None:
            pairs.append((self.range_name, self.range_type, False))
        return tuple(pairs)

    def to_wire(self) -> list[dict]:
        """DynamoDB's ``KeySchema`` list for this schema."""
        return [{"AttributeName": name, "KeyType": "HASH" if is_hash else "RANGE"}
                for name, _, is_hash in self.typed]


# --- the schema (CreateTable) -------------------------------------------------------------------


def _shape_violations(key_schema: Any, definitions: Any) -> list[str]:
    """The request-shape checks coral runs before CreateTable's own (nulls, enums, lengths)."""
    found: list[str] = []
    for i, d in enumerate(definitions, 1):
        name, kind = d.get("AttributeName"), d.get("AttributeType")
        path = f"attributeDefinitions.{i}.member"
        found += _name_violations(name, f"{path}.attributeName")
        if kind is None:
            found.append(errors.constraint_violation("null", f"{path}.attributeType", errors.MEMBER_NOT_NULL))
        elif kind not in KEY_TYPES:
            rule = errors.constraint_text("enum", "B, N, S")
            found.append(errors.constraint_violation(f"'{kind}'", f"{path}.attributeType", rule))
    if not key_schema or len(key_schema) > 2:
        bound = ("min_len", 1) if not key_schema else ("max_len", 2)
        shown = "[" + ", ".join(
            f"KeySchemaElement(attributeName={k.get('AttributeName')}, keyType={k.get('KeyType')})"
            for k in key_schema) + "]"
        found.append(errors.constraint_violation(f"'{shown}'", "keySchema", errors.constraint_text(*bound)))
    for i, k in enumerate(key_schema or [], 1):
        name, kind = k.get("AttributeName"), k.get("KeyType")
        path = f"keySchema.{i}.member"
        found += _name_violations(name, f"{path}.attributeName")
        if kind is None:
            found.append(errors.constraint_violation("null", f"{path}.keyType", errors.MEMBER_NOT_NULL))
        elif kind not in ("HASH", "RANGE"):
            rule = errors.constraint_text("enum", "HASH, RANGE")
            found.append(errors.constraint_violation(f"'{kind}'", f"{path}.keyType", rule))
    return found


def _name_violations(name: Any, path: str) -> list[str]:
    if name is None:
        return [errors.constraint_violation("null", path, errors.MEMBER_NOT_NULL)]
    if len(name) > MAX_KEY_NAME_LENGTH:
        rule = errors.constraint_text("max_len", MAX_KEY_NAME_LENGTH)
        return [errors.constraint_violation(f"'{name}'", path, rule)]
    if not name:
        return [errors.constraint_violation("''", path, errors.constraint_text("min_len", 1))]
    return []


def key_schema_from_wire(key_schema: list[dict], attribute_definitions: list[dict]) -> KeySchema:
    """Build a :class:`KeySchema` from CreateTable's ``KeySchema`` and ``AttributeDefinitions``.

    Checks, in DynamoDB's order: the request shape (nulls, enums, lengths), that every key
    attribute is defined, that HASH and RANGE differ, that the first element is HASH and the
    second RANGE.  Definitions no key uses are left to :func:`check_definitions_used`, because
    whether they are an error depends on the indexes."""
    violations = _shape_violations(key_schema or [], attribute_definitions or [])
    if violations:
        raise errors.constraint_violations(violations)
    defined = {d["AttributeName"]: d["AttributeType"] for d in attribute_definitions}
    names = [k["AttributeName"] for k in key_schema]
    if len(names) == 2 and names[0] == names[1]:
        if len(defined) == 1:
            raise errors.key_attribute_without_definition()
        if names[0] in defined:
            raise errors.hash_and_range_same_name()
    if any(n not in defined for n in names):
        if len(attribute_definitions) < len(names):
            raise errors.key_attribute_without_definition()
        raise errors.key_attributes_not_defined(names, [d["AttributeName"] for d in attribute_definitions])
    if key_schema[0]["KeyType"] != "HASH":
        raise errors.invalid_key_schema("The first KeySchemaElement is not a HASH key type")
    if len(key_schema) == 2 and key_schema[1]["KeyType"] != "RANGE":
        raise errors.invalid_key_schema("The second KeySchemaElement is not a RANGE key type")
    range_name = names[1] if len(names) == 2 else None
    return KeySchema(names[0], defined[names[0]], range_name,
                     defined[range_name] if range_name is not None else None)


def check_definitions_used(attribute_definitions: list[dict], used: list[str], has_indexes: bool) -> None:
    """Every AttributeDefinition must be a key of the table or of one of its indexes.

    ``used`` lists the key attributes of the table then of its indexes, in request order."""
    defined = [d["AttributeName"] for d in attribute_definitions]
    used = list(dict.fromkeys(used))
    if set(defined) == set(used):
        return
    missing = [n for n in used if n not in defined]
    if not has_indexes:
        if len(defined) > len(used):
            raise errors.key_definition_count_mismatch()
        if len(defined) < len(used):
            raise errors.key_attribute_without_definition()
        raise errors.key_attributes_not_defined(used, defined)
    if len(defined) > len(used):
        raise errors.attribute_definitions_unused(defined, used)
    raise errors.key_attributes_not_defined(missing, defined)


# --- keys of items and Key parameters ------------------------------------------------------------


def _check_key_value(name: str, kind: str, raw: Any, is_hash: bool) -> None:
    if kind == "N":
        return  # a valid number takes at most 22 bytes: never over a key's limit
    if not raw:
        raise errors.empty_key_value(name, "string" if kind == "S" else "binary")
    if kind == "S":
        size = len(raw) if raw.isascii() else len(raw.encode("utf-8"))
    else:
        size = values.binary_length(raw)
    if is_hash and size > MAX_HASH_KEY_BYTES:
        raise errors.hash_key_too_large()
    if not is_hash and size > MAX_RANGE_KEY_BYTES:
        raise errors.range_key_too_large()


def extract_key(schema: KeySchema, item: Item) -> Item:
    """The key of an item being written (validated and normalized by ``values.validate_item``).

    Raises PutItem's errors: a missing key attribute, a key of the wrong type, an empty string
    or binary, a hash key over 2048 bytes or a range key over 1024 bytes."""
    key: Item = {}
    for name, kind, is_hash in schema.typed:
        value = item.get(name)
        if value is None:
            raise errors.missing_key(name)
        actual = values.type_of(value)
        if actual != kind:
            raise errors.key_type_mismatch(name, kind, actual)
        _check_key_value(name, kind, value[kind], is_hash)
        key[name] = value
    return key


def validate_key(schema: KeySchema, key: Any) -> Item:
    """Check and normalize a ``Key`` parameter: exactly the schema's attributes, of its types.

    Extra, missing or mistyped attributes give "The provided key element does not match the
    schema"; an empty or oversized value gives the same errors as :func:`extract_key`."""
    if not isinstance(key, dict):
        raise errors.wrong_container(key, "map")
    if len(key) != len(schema.names):
        raise errors.key_schema_mismatch()
    out: Item = {}
    for name, kind, is_hash in schema.typed:
        if name not in key:
            raise errors.key_schema_mismatch()
        value = values.validate_value(key[name])
        if values.type_of(value) != kind:
            raise errors.key_schema_mismatch()
        _check_key_value(name, kind, value[kind], is_hash)
        out[name] = value
    return out


# --- order-preserving sort-key bytes -------------------------------------------------------------

_NEGATIVE, _ZERO, _POSITIVE = 0x01, 0x02, 0x03
_END = 0xFF  # after a negative number's digits: shorter magnitudes sort after longer ones
_DIGIT_VALUES = bytes.maketrans(b"0123456789", bytes(range(10)))


def sort_key_bytes(value: AttributeValue) -> bytes:
    """Bytes whose unsigned lexicographic order is DynamoDB's order of S, N or B values.

    Strings are their UTF-8 bytes and binaries their raw bytes, so a ``begins_with`` prefix is
    a byte prefix.  A number is a sign byte, then one exponent byte and one byte per digit
    (exponent and digits inverted, and a terminator added, for negatives).  Values of different
    types are not comparable (a table's sort key has one type)."""
    (kind, raw), = value.items()
    if kind == "S":
        return raw.encode("utf-8")
    if kind == "B":
        return values.decode_binary(raw)
    if kind != "N":
        raise ValueError(f"not a key type: {kind}")
    if raw.__class__ is str and raw.isascii() and raw.isdigit() and raw[0] != "0" and len(raw) <= values.MAX_DIGITS:
        # a canonical positive integer (the common case): its digits as they are, no Decimal
        return bytes((_POSITIVE, len(raw) - 1 - values.MIN_EXPONENT)) + raw.encode("ascii").translate(_DIGIT_VALUES)
    number = Decimal(raw)
    if not number:
        return bytes([_ZERO])
    sign, digits, exponent = number.as_tuple()
    level = exponent + len(digits) - 1 - values.MIN_EXPONENT  # 0..255 for a valid number
    if not sign:
        return bytes([_POSITIVE, level, *digits])
    return bytes([_NEGATIVE, 255 - level, *(9 - d for d in digits), _END])


def sort_key_value(kind: str, data: bytes) -> AttributeValue:
    """The value :func:`sort_key_bytes` encoded (``kind`` is the key's type: S, N or B)."""
    if kind == "S":
        return {"S": data.decode("utf-8")}
    if kind == "B":
        return {"B": values.encode_binary(data)}
    if data[0] == _ZERO:
        return {"N": "0"}
    if data[0] == _POSITIVE:
        sign, level, digits = 0, data[1], tuple(data[2:])
    else:
        sign, level, digits = 1, 255 - data[1], tuple(9 - d for d in data[2:-1])
    exponent = level + values.MIN_EXPONENT - len(digits) + 1
    return {"N": values.format_number(Decimal((sign, digits, exponent)))}


# --- partition hashing ---------------------------------------------------------------------------


def partition_hash(value: AttributeValue) -> int:
    """A stable unsigned 64-bit hash of a key value (blake2b of its type and canonical bytes).

    Equal DynamoDB values hash equally (numbers are normalized, binaries decoded)."""
    (kind, raw), = value.items()
    remembered = (kind, raw) if raw.__class__ is str and len(raw) <= _MEMO_LENGTH else None
    if remembered is not None:
        found = _HASHES.get(remembered)
        if found is not None:
            return found
    found = _hash(kind, raw)
    if remembered is not None:
        if len(_HASHES) >= _MEMORY:
            _HASHES.clear()
        _HASHES[remembered] = found
    return found


# Memos of the hot path (results never change): a lookup costs a tenth of a hash.  Values up to
# _MEMO_LENGTH characters, _MEMORY of each at most (then the memory starts over).
_HASHES: dict[tuple[str, str], int] = {}  # (type, value) -> partition_hash
_SHARDS: dict[tuple[str, str, int], int] = {}  # (type, value, count) -> shard_for
_MEMO_LENGTH = 128
_MEMORY = 65536


def _hash(kind: str, raw: Any) -> int:
    if kind == "S":
        payload = raw.encode("utf-8")
    elif kind == "N":
        payload = values.normalize_number(raw).encode("ascii")
    elif kind == "B":
        payload = values.decode_binary(raw)
    else:
        raise ValueError(f"not a key type: {kind}")
    digest = hashlib.blake2b(kind.encode("ascii") + b"\x00" + payload, digest_size=8).digest()
    return int.from_bytes(digest, "big")


def shard_for(value: AttributeValue, shard_count: int) -> int:
    """The shard (``0 <= shard < shard_count``) a partition key belongs to.

    Jump consistent hashing (Lamping and Veach): growing from n to n+1 shards moves only about
    1/(n+1) of the keys, all of them to the new shard."""
    if shard_count < 1:
        raise ValueError("shard_count must be at least 1")
    if len(value) == 1:
        (kind, raw), = value.items()
        remembered = (kind, raw, shard_count) if raw.__class__ is str and len(raw) <= _MEMO_LENGTH else None
        shard = _SHARDS.get(remembered) if remembered is not None else None
        if shard is None:
            shard = _jump(partition_hash(value), shard_count)
            if remembered is not None:
                if len(_SHARDS) >= _MEMORY:
                    _SHARDS.clear()
                _SHARDS[remembered] = shard
        return shard
    return _jump(partition_hash(value), shard_count)


def _jump(key: int, shard_count: int) -> int:
    """Jump consistent hashing of a 64-bit hash into ``shard_count`` buckets."""
    shard, candidate = -1, 0
    while candidate < shard_count:
        shard = candidate
        key = (key * 2862933555777941757 + 1) & 0xFFFFFFFFFFFFFFFF
        candidate = int((shard + 1) * ((1 << 31) / ((key >> 33) + 1)))
    return shard
