"""DynamoDB attribute values: validation, normalization, comparison and size.

An attribute value is kept in DynamoDB's own JSON form, a dict with exactly one type key:
``{"S": "x"}``, ``{"N": "12.5"}``, ``{"B": "<base64>"}``, ``{"SS": [...]}``, ``{"NS": [...]}``,
``{"BS": [...]}``, ``{"M": {...}}``, ``{"L": [...]}``, ``{"NULL": True}``, ``{"BOOL": b}``.
An item is a ``dict[str, AttributeValue]``.  Keeping the wire form means items go to the log and
back to clients without conversion; the numbers in it are always *normalized* (see
:func:`normalize_number`), so equal numbers are equal strings, and binaries are canonical base64.

Numbers are decimals (never floats): up to 38 significant digits, magnitude between 1E-130 and
9.9999999999999999999999999999999999999E+125, or zero; their rules live in :mod:`value_numbers`.
"""

from __future__ import annotations

import base64
import binascii
import json
from decimal import Decimal
from typing import Any

from . import errors
from .value_numbers import (  # noqa: F401 - re-exported: numbers are part of the value model
    DECIMAL_CONTEXT,
    MAX_DIGITS,
    MAX_EXPONENT,
    MIN_EXPONENT,
    check_number,
    format_number,
    normalize_number,
    number_size,
    parse_number,
    to_decimal,
)

AttributeValue = dict[str, Any]
Item = dict[str, AttributeValue]

TYPES = frozenset({"S", "N", "B", "SS", "NS", "BS", "M", "L", "NULL", "BOOL"})
SCALAR_TYPES = frozenset({"S", "N", "B"})
SET_TYPES = frozenset({"SS", "NS", "BS"})
SET_ELEMENT = {"SS": "S", "NS": "N", "BS": "B"}
SET_OF = {"S": "SS", "N": "NS", "B": "BS"}

MAX_ITEM_SIZE = 400 * 1024
MAX_NESTING_DEPTH = 32

_TYPE_NAMES = {"S": "string", "B": "binary", "N": "number"}


# --- binaries ----------------------------------------------------------------------------------


def decode_binary(value: Any) -> bytes:
    """Decode a wire (base64) binary; bytes are accepted as they are."""
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    if not isinstance(value, str):
        raise errors.wrong_json_type(value, "Blob")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise errors.serialization(
            f"Base64 encoded length is expected a multiple of 4 bytes but found: {len(value)}"
        ) from None


def encode_binary(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def binary_length(b64: str) -> int:
    """Decoded length of a canonical base64 string, without decoding it."""
    if not b64:
        return 0
    return len(b64) * 3 // 4 - b64.count("=", -2)


# --- validation --------------------------------------------------------------------------------


def validate_value(value: Any, depth: int = 0) -> AttributeValue:
    """Check a wire attribute value and return its normalized form (the input is not modified).

    ``depth`` is the nesting level below the attribute (0 for the attribute itself).  DynamoDB
    counts the attribute as level 1 and refuses anything at level 33 or deeper, so 31 maps
    around a scalar are accepted and 32 are not.  Errors are raised in document order.
    Members that are not attribute-value types are ignored, as DynamoDB's JSON reader does."""
    if value.__class__ is dict and len(value) == 1 and depth < MAX_NESTING_DEPTH:
        for kind, raw in value.items():  # the common case: one member, a known type
            if raw is not None and kind in TYPES:
                return {kind: _VALIDATORS[kind](raw, depth)}
    if not isinstance(value, dict):
        raise errors.wrong_container(value, "map")
    if depth >= MAX_NESTING_DEPTH:
        raise errors.nesting_too_deep()
    present = [k for k, v in value.items() if v is not None and k in TYPES]
    if len(present) != 1:
        if not present:
            raise errors.validation(
                "Supplied AttributeValue is empty, must contain exactly one of the supported datatypes"
            )
        raise errors.validation(
            "Supplied AttributeValue has more than one datatypes set, "
            "must contain exactly one of the supported datatypes"
        )
    kind = present[0]
    return {kind: _VALIDATORS[kind](value[kind], depth)}


def _string(raw: Any, depth: int = 0) -> str:  # ``depth`` only matters for L and M
    if not isinstance(raw, str):
        raise errors.wrong_json_type(raw, "String")
    return raw


def _number(raw: Any, depth: int = 0) -> str:
    return normalize_number(raw)


def _binary(raw: Any, depth: int = 0) -> str:
    return encode_binary(decode_binary(raw))


def _bool(raw: Any, depth: int = 0) -> bool:
    if not isinstance(raw, bool):
        raise errors.wrong_json_type(raw, "Boolean")
    return raw


def _null(raw: Any, depth: int = 0) -> bool:
    if raw is not True:
        if not isinstance(raw, bool):
            raise errors.wrong_json_type(raw, "Boolean")
        raise errors.invalid_parameter("Null attribute value types must have the value of true")
    return True


def _list(raw: Any, depth: int) -> list:
    if not isinstance(raw, list):
        raise errors.wrong_container(raw, "list")
    return [validate_value(v, depth + 1) for v in raw]


def _map(raw: Any, depth: int) -> dict:
    if not isinstance(raw, dict):
        raise errors.wrong_container(raw, "map")
    return {_check_name(k): validate_value(v, depth + 1) for k, v in raw.items()}


def _set(kind: str):
    member = {"SS": _string, "NS": _number, "BS": _binary}[kind]

    def check(raw: Any, depth: int = 0) -> list:
        if not isinstance(raw, list):
            raise errors.wrong_container(raw, "list")
        if not raw:
            if kind == "BS":
                raise errors.invalid_parameter("Binary sets should not be empty")
            # DynamoDB's wording, grammar and double space included.
            raise errors.invalid_parameter(f"An {_SET_NAMES[kind]} set  may not be empty")
        members = [member(v) for v in raw]
        _check_unique(kind, members)
        return members

    return check


_SET_NAMES = {"SS": "string", "NS": "number", "BS": "binary"}


def _check_unique(kind: str, members: list) -> None:
    """Raise DynamoDB's duplicate error.  Empty strings and binaries are valid members.  Number
    members are compared normalized, so ``1`` and ``1.0`` are duplicates.  The message lists
    the members seen so far in byte order, then the repeat, then the rest as sent."""
    seen: set = set()
    for i, m in enumerate(members):
        if m not in seen:
            seen.add(m)
            continue
        if kind == "NS":
            raise errors.duplicate_set_members(None)
        if kind == "SS":
            shown = sorted(seen, key=lambda v: v.encode("utf-8")) + members[i:]
            listed = ", ".join(json.dumps(v, ensure_ascii=False) for v in shown)
            raise errors.duplicate_set_members(f"[{listed}]")
        shown = sorted(seen, key=decode_binary) + members[i:]
        raise errors.duplicate_binary_set_members("[" + ",".join(f'"{v}"' for v in shown) + "]")


_VALIDATORS = {
    "S": _string, "N": _number, "B": _binary, "BOOL": _bool, "NULL": _null, "L": _list,
    "M": _map, "SS": _set("SS"), "NS": _set("NS"), "BS": _set("BS"),
}


def _check_name(name: Any) -> str:
    if not isinstance(name, str):
        raise errors.wrong_json_type(name, "String")
    return name


def validate_item(item: Any) -> Item:
    """Validate every attribute of an item; returns the normalized item (no size check)."""
    if not isinstance(item, dict):
        raise errors.wrong_container(item, "map")
    out: Item = {}
    for name, value in item.items():
        _check_name(name)
        if name == "":
            raise errors.invalid_parameter("An attribute name cannot be empty")  # pragma: no branch
        out[name] = validate_value(value)
    return out


def check_item_size(item: Item) -> int:
    """Return the item's size, raising DynamoDB's error when it is over 400 KB."""
    size = item_size(item)
    if size > MAX_ITEM_SIZE:
        raise errors.item_too_large()
    return size


# --- sizes -------------------------------------------------------------------------------------


def value_size(value: AttributeValue) -> int:
    """Size in bytes of an attribute value, as DynamoDB counts it (without the name)."""
    (kind, raw), = value.items()
    if kind == "S":
        return len(raw) if raw.isascii() else len(raw.encode("utf-8"))
    if kind == "N":
        return number_size(raw)
    if kind == "B":
        return binary_length(raw)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind in SET_TYPES:  # the members' sizes, no overhead
        return sum(value_size({SET_ELEMENT[kind]: v}) for v in raw)
    if kind == "L":
        return 3 + sum(1 + value_size(v) for v in raw)
    # M
    return 3 + sum(1 + len(k.encode("utf-8")) + value_size(v) for k, v in raw.items())


def item_size(item: Item) -> int:
    """Item size: the UTF-8 length of each attribute name plus the size of its value."""
    total = 0
    for name, value in item.items():
        total += (len(name) if name.isascii() else len(name.encode("utf-8"))) + value_size(value)
    return total


# --- comparison --------------------------------------------------------------------------------


def type_of(value: AttributeValue) -> str:
    return next(iter(value))


def values_equal(a: AttributeValue, b: AttributeValue) -> bool:
    """DynamoDB equality: same type and value; sets compare as sets (normalized members)."""
    ka = next(iter(a))
    if ka not in b:
        return False
    va, vb = a[ka], b[ka]
    if ka in SET_TYPES:
        return len(va) == len(vb) and set(va) == set(vb)
    if ka == "L":
        return len(va) == len(vb) and all(values_equal(x, y) for x, y in zip(va, vb))
    if ka == "M":
        return va.keys() == vb.keys() and all(values_equal(va[k], vb[k]) for k in va)
    return va == vb


def compare_scalars(a: AttributeValue, b: AttributeValue) -> int | None:
    """Order two scalars (S, N, B) as DynamoDB does: numbers numerically, strings and binaries by
    unsigned bytes. Returns -1, 0 or 1, or None when they are not comparable (different types)."""
    ka = next(iter(a))
    if ka not in b or ka not in SCALAR_TYPES:
        return None
    va, vb = a[ka], b[ka]
    if ka == "N":
        x, y = Decimal(va), Decimal(vb)
    elif ka == "S":
        x, y = va.encode("utf-8"), vb.encode("utf-8")
    else:
        x, y = decode_binary(va), decode_binary(vb)
    return (x > y) - (x < y)


# --- python conversion (for tests, tools and the SDK) ------------------------------------------


def from_python(value: Any) -> AttributeValue:
    """Plain Python to a normalized attribute value (like boto3's TypeSerializer, but exact)."""
    if value is None:
        return {"NULL": True}
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, (int, Decimal)):
        return {"N": format_number(check_number(Decimal(value)))}
    if isinstance(value, float):
        raise TypeError("Float types are not supported. Use Decimal types instead.")
    if isinstance(value, (bytes, bytearray)):
        return {"B": encode_binary(bytes(value))}
    if isinstance(value, (set, frozenset)):
        return _set_from_python(value)
    if isinstance(value, (list, tuple)):
        return {"L": [from_python(v) for v in value]}
    if isinstance(value, dict):
        return {"M": {str(k): from_python(v) for k, v in value.items()}}
    raise TypeError(f"Unsupported type {type(value).__name__} for a DynamoDB value")


def _set_from_python(value: set | frozenset) -> AttributeValue:
    if not value:
        raise TypeError("DynamoDB sets may not be empty")
    if all(isinstance(v, str) for v in value):
        return {"SS": sorted(value)}
    if all(isinstance(v, (int, Decimal)) and not isinstance(v, bool) for v in value):
        return {"NS": sorted({format_number(check_number(Decimal(v))) for v in value}, key=Decimal)}
    if all(isinstance(v, (bytes, bytearray)) for v in value):
        return {"BS": [encode_binary(bytes(v)) for v in sorted(value)]}
    raise TypeError("A set must hold only strings, only numbers or only binaries")


def to_python(value: AttributeValue) -> Any:
    """A normalized attribute value to plain Python (numbers as int or Decimal, sets as sets)."""
    (kind, raw), = value.items()
    if kind in SET_TYPES:
        return {to_python({SET_ELEMENT[kind]: v}) for v in raw}
    if kind == "L":
        return [to_python(v) for v in raw]
    if kind == "M":
        return {k: to_python(v) for k, v in raw.items()}
    if kind == "N":
        return _number_to_python(raw)
    if kind == "B":
        return decode_binary(raw)
    return None if kind == "NULL" else raw  # S, BOOL


def _number_to_python(text: str) -> int | Decimal:
    return int(text) if "." not in text else Decimal(text)


def item_from_python(item: dict[str, Any]) -> Item:
    return {k: from_python(v) for k, v in item.items()}


def item_to_python(item: Item) -> dict[str, Any]:
    return {k: to_python(v) for k, v in item.items()}


def describe_type(kind: str) -> str:
    return _TYPE_NAMES.get(kind, kind)
