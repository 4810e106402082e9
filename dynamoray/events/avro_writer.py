"""A writer compiled from a flat Avro schema: the encoding side of ``codec.compile_flat_reader``.

fastavro's ``schemaless_writer`` costs about 40 µs for an ``ItemChanged`` with two 1 KB images
(a dict built from the event, a ``BytesIO``, a generic walk of the schema).  Every durable write
encodes one, so :class:`~.codec.EventCodec` writes the newest schema of each event name with a
function compiled from that schema when it is flat (strings, bytes, ints, longs, booleans, enums,
and unions of null with one of those), like the fast reader.  It gives the same bytes fastavro
gives.  It takes only values of exactly the expected Python type (``str`` for a string, ``int``
but not ``bool`` for an int, in range); for anything else it raises :class:`Unwritable` and the
codec writes the event with fastavro, which then encodes it or raises its own error as before.
"""

from __future__ import annotations

import keyword
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import orjson

FastWriter = Callable[[Any], bytes]
"""``writer(event)``: the Avro body of ``event`` (without the codec's header)."""

_PRIMITIVES = frozenset({"string", "bytes", "int", "long", "boolean"})
_RANGES = {"int": (-(2**31), 2**31 - 1), "long": (-(2**63), 2**63 - 1)}
_SMALL = tuple(bytes((2 * n,)) for n in range(64))  # the zigzag varint of each n in 0..63


class Unwritable(Exception):
    """A value the compiled writer does not take as it is: fastavro writes the event instead."""


def varint(z: int) -> bytes:
    """The Avro varint of ``z``, an already zigzag-encoded (non-negative) number."""
    if z < 0x80:
        return bytes((z,))
    out = bytearray()
    while z >= 0x80:
        out.append((z & 0x7F) | 0x80)
        z >>= 7
    out.append(z)
    return bytes(out)


def zigzag(n: int) -> bytes:
    """An Avro int or long (a 64-bit range value): zigzag, then varint."""
    if 0 <= n < 64:
        return _SMALL[n]
    return varint((n << 1) ^ (n >> 63))


def length(n: int) -> bytes:
    """The length prefix of a string or bytes of ``n`` bytes."""
    return _SMALL[n] if n < 64 else varint(n << 1)


def flat_kind(avro_type: Any) -> str | tuple[str, ...] | None:
    """A primitive's name, an enum's symbols, or None when the fast writer/reader does not handle it."""
    if isinstance(avro_type, dict):
        if avro_type.get("type") == "enum" and "symbols" in avro_type:
            return tuple(avro_type["symbols"])
        if set(avro_type) == {"type"}:
            avro_type = avro_type["type"]
    return avro_type if isinstance(avro_type, str) and avro_type in _PRIMITIVES else None


def _value_lines(kind: str | tuple[str, ...], var: str, json: bool, names: dict[str, Any]) -> list[str]:
    """Statements that append the encoding of ``var`` (of ``kind``) to the output, or raise."""
    if isinstance(kind, tuple):
        names[f"_symbols_{var}"] = {symbol: zigzag(i) for i, symbol in enumerate(kind)}
        return [f"a(_symbols_{var}[{var}])"]  # an unknown symbol: KeyError, fastavro says what is wrong
    if kind == "boolean":
        return [f"if {var} is True: a(b'\\x01')", f"elif {var} is False: a(b'\\x00')", "else: raise _Unwritable"]
    if kind in _RANGES:
        low, high = _RANGES[kind]
        return [f"if type({var}) is not int or not {low} <= {var} <= {high}: raise _Unwritable", f"a(_zigzag({var}))"]
    if json:
        encoded = f"d = _dumps({var})"
    elif kind == "bytes":
        encoded = f"if type({var}) is not bytes: raise _Unwritable\nd = {var}"
    else:
        encoded = f"if type({var}) is not str: raise _Unwritable\nd = {var}.encode()"
    return [*encoded.split("\n"), "a(_length(len(d)))", "a(d)"]


def _field_lines(avro_type: Any, var: str, json: bool, names: dict[str, Any]) -> list[str] | None:
    if not isinstance(avro_type, list):
        kind = flat_kind(avro_type)
        if kind is None:
            return None
        guard = [f"if {var} is None: raise _Unwritable"] if json else []  # only a union takes None
        return guard + _value_lines(kind, var, json, names)
    if len(avro_type) != 2 or "null" not in avro_type:
        return None
    null = avro_type.index("null")
    kind = flat_kind(avro_type[1 - null])
    if kind is None:
        return None
    return [
        f"if {var} is None: a({zigzag(null)!r})",
        "else:",
        f"    a({zigzag(1 - null)!r})",
        *("    " + line for line in _value_lines(kind, var, json, names)),
    ]


def compile_flat_writer(parsed: Mapping[str, Any], json_fields: Iterable[str]) -> FastWriter | None:
    """A writer of a record schema's events (read by attribute), or None when the schema has a field
    type it does not handle.  The fields in ``json_fields`` are written as orjson bytes."""
    fields = parsed.get("fields") if parsed.get("type") == "record" else None
    if not fields:
        return None
    field_names = [f["name"] for f in fields]
    if not all(n.isidentifier() and not keyword.iskeyword(n) for n in field_names):
        return None
    json_fields = frozenset(json_fields)
    names: dict[str, Any] = {"_Unwritable": Unwritable, "_zigzag": zigzag, "_length": length, "_dumps": orjson.dumps}
    body = ["o = []", "a = o.append"]
    for i, f in enumerate(fields):
        lines = _field_lines(f["type"], f"v{i}", f["name"] in json_fields, names)
        if lines is None:
            return None
        body += [f"v{i} = e.{f['name']}", *lines]
    body.append("return b''.join(o)")
    source = "def write(e):\n" + "".join(f"    {line}\n" for line in body)
    exec(compile(source, f"<fast writer of {parsed['name']}>", "exec"), names)
    return names["write"]
