"""Event <-> bytes: Avro (fastavro, schemaless) behind a schema-id header, with an encryption hook.

Wire format of a stored event (the Confluent wire format when not encrypted):

    byte 0      0x00 plain | 0x01 encrypted
    bytes 1-4   the schema id (big-endian), see ``dynamoray.schemas.events.SCHEMA_IDS``
    the rest    the Avro body; when encrypted, ``cipher.encrypt(body, header)`` with the five
                header bytes as associated data, so a ciphertext cannot be moved to another schema

A reader decodes with the schema the id names as the writer schema and the newest version it
knows of that event as the reader schema, so events written by older versions stay readable.

The server's encryption at rest does not use the ``Cipher`` hook: it seals whole records below the
codec (``events/encryption.py`` wraps the log), so every topic is covered whatever encodes it, and
the record's topic and partition are authenticated too.  The hook stays for codecs used on their own.

Replay decodes every event of a log, so the common case has a fast path: an event written with
the newest schema of its name, when that schema is flat (strings, bytes, ints, longs, booleans,
enums, and unions of null with one of those), is read by a reader compiled from the schema when
the registry is built (``compile_flat_reader``).  It reads the same bytes fastavro reads and gives
the same event, two to three times faster; anything else (schema evolution, other types, bytes the
fast reader does not expect) goes through fastavro.  Writing has the same fast path the other way
(``avro_writer.py``): every durable write encodes an event, so the newest flat schema of each name
gets a compiled writer that gives fastavro's bytes.
"""

from __future__ import annotations

import dataclasses
import io
import keyword
import struct
import types
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import fastavro
import orjson

from dynamoray.schemas.events import EVENT_TYPES, JSON_FIELDS, SCHEMA_IDS, load_schema

from .avro_writer import FastWriter, compile_flat_writer
from .avro_writer import flat_kind as _kind  # which fields the fast reader handles too
from .log import Record

PLAIN, ENCRYPTED = 0x00, 0x01
_HEADER = struct.Struct(">BI")


class CodecError(Exception):
    """The bytes are not an event this codec can read."""


class Cipher(Protocol):
    """Encryption at rest (supplied by the security layer; key ids belong in its own output)."""

    def encrypt(self, plaintext: bytes, associated_data: bytes) -> bytes: ...

    def decrypt(self, ciphertext: bytes, associated_data: bytes) -> bytes: ...


@dataclass(frozen=True, slots=True)
class LoggedEvent:
    """An event with the position and commit timestamp the log gave it."""

    offset: int
    timestamp: int
    event: Any


@dataclass(frozen=True, slots=True)
class _Schema:
    id: int
    name: str
    version: int
    parsed: Any
    json_fields: tuple[str, ...]  # the fields carried as orjson bytes


class SchemaRegistry:
    """Schema ids -> parsed Avro schemas, and each event name's newest version."""

    def __init__(self, schemas: Iterable[tuple[int, str, int, Mapping[str, Any]]], types: Mapping[str, type]) -> None:
        self._by_id: dict[int, _Schema] = {}
        self._newest: dict[str, _Schema] = {}
        for schema_id, name, version, schema in schemas:
            json_fields = tuple(f["name"] for f in schema["fields"] if f["name"] in JSON_FIELDS)
            entry = _Schema(schema_id, name, version, fastavro.parse_schema(dict(schema)), json_fields)
            if schema_id in self._by_id:
                raise ValueError(f"duplicate schema id {schema_id}")
            self._by_id[schema_id] = entry
            if name not in self._newest or version > self._newest[name].version:
                self._newest[name] = entry
        self.types = dict(types)
        self._names = {cls: name for name, cls in self.types.items()}
        # schema id -> compiled reader, for each name's newest schema when it is flat
        self.fast_readers: dict[int, FastReader] = {}
        for entry in self._newest.values():
            reader = compile_flat_reader(entry.parsed, self.types.get(entry.name), entry.json_fields)
            if reader is not None:
                self.fast_readers[entry.id] = reader
        # schema id -> compiled writer, for each name's newest schema when it is flat (avro_writer.py)
        self.fast_writers: dict[int, FastWriter] = {}
        for entry in self._newest.values():
            writer = compile_flat_writer(entry.parsed, entry.json_fields)
            if writer is not None:
                self.fast_writers[entry.id] = writer

    @classmethod
    def default(cls) -> SchemaRegistry:
        """The schemas shipped in ``dynamoray/schemas``."""
        return cls(((i, n, v, load_schema(n, v)) for i, n, v in SCHEMA_IDS), EVENT_TYPES)

    def by_id(self, schema_id: int) -> _Schema:
        try:
            return self._by_id[schema_id]
        except KeyError:
            raise CodecError(f"unknown schema id {schema_id}") from None

    def newest(self, name: str) -> _Schema:
        return self._newest[name]

    def name_of(self, event: Any) -> str:
        try:
            return self._names[type(event)]
        except KeyError:
            raise CodecError(f"not an event type: {type(event).__name__}") from None


class EventCodec:
    """Encodes events for the log and decodes them back (thread-safe, no state per call)."""

    def __init__(self, registry: SchemaRegistry | None = None, cipher: Cipher | None = None) -> None:
        self.registry = registry or SchemaRegistry.default()
        self.cipher = cipher
        # the five header bytes of a plain event -> the fast reader of its schema
        self._plain_readers = {_HEADER.pack(PLAIN, i): r for i, r in self.registry.fast_readers.items()}
        self._writers: dict[type, tuple[_Schema, FastWriter | None]] = {}  # event type -> newest schema, writer

    def encode(self, event: Any) -> bytes:
        found = self._writers.get(type(event))
        if found is None:
            schema = self.registry.newest(self.registry.name_of(event))
            found = self._writers[type(event)] = (schema, self.registry.fast_writers.get(schema.id))
        schema, writer = found
        body = None
        if writer is not None:
            try:
                body = writer(event)
            except Exception:  # noqa: BLE001 - a value it does not take as it is: fastavro writes it
                body = None
        if body is None:
            body = self._write_with_fastavro(schema, event)
        if self.cipher is None:
            return _HEADER.pack(PLAIN, schema.id) + body
        header = _HEADER.pack(ENCRYPTED, schema.id)
        return header + self.cipher.encrypt(body, header)

    def _write_with_fastavro(self, schema: _Schema, event: Any) -> bytes:
        record = {f: getattr(event, f) for f in event.__dataclass_fields__}
        for f in schema.json_fields:
            if record[f] is not None:
                record[f] = orjson.dumps(record[f])
        out = io.BytesIO()
        fastavro.schemaless_writer(out, schema.parsed, record)
        return out.getvalue()

    def decode(self, data: bytes) -> Any:
        reader = self._plain_readers.get(data[: _HEADER.size]) if type(data) is bytes else None
        if reader is not None:
            try:
                return reader(data, _HEADER.size)
            except (IndexError, ValueError):
                pass  # not what the fast reader expects: fastavro reads it, or says what is wrong
        return self._decode(data)

    def decode_record(self, record: Record) -> LoggedEvent:
        return LoggedEvent(record.offset, record.timestamp, self.decode(record.value))

    def _decode(self, data: bytes) -> Any:
        if len(data) < _HEADER.size:
            raise CodecError("event too short")
        magic, schema_id = _HEADER.unpack_from(data)
        body = data[_HEADER.size :]
        if magic == ENCRYPTED:
            if self.cipher is None:
                raise CodecError("encrypted event but no cipher configured")
            body = self.cipher.decrypt(body, data[: _HEADER.size])
        elif magic != PLAIN:
            raise CodecError(f"unknown event format {magic}")
        writer = self.registry.by_id(schema_id)
        reader = self.registry.fast_readers.get(schema_id)
        if reader is not None and magic == ENCRYPTED and type(body) is bytes:
            try:
                return reader(body, 0)
            except (IndexError, ValueError):
                pass
        return self._read_with_fastavro(writer, body)

    def _read_with_fastavro(self, writer: _Schema, body: bytes) -> Any:
        reader = self.registry.newest(writer.name)
        record = fastavro.schemaless_reader(
            io.BytesIO(body), writer.parsed, None if reader is writer else reader.parsed
        )
        for f in reader.json_fields:
            if record[f] is not None:
                record[f] = orjson.loads(record[f])
        return self.registry.types[writer.name](**record)


# --- the fast path: a reader compiled from a flat schema ------------------------------------------

FastReader = Callable[[bytes, int], Any]
"""``reader(data, pos)``: the event whose Avro body runs from ``pos`` to the end of ``data``.
Raises IndexError or ValueError when the bytes are not such a body (truncated, trailing bytes, a
union or enum index out of range, bad UTF-8 or JSON)."""

_VARINT = ("z = b[pos]", "if z < 128: pos += 1", "else: z, pos = _varint(b, pos)")  # z: the raw varint


def _varint(b: bytes, pos: int) -> tuple[int, int]:
    """The unsigned varint at ``pos`` (before zigzag decoding), and the position after it."""
    result = shift = 0
    while True:
        byte = b[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, pos
        shift += 7


def _value_lines(kind: str | tuple[str, ...], var: str, json: bool, names: dict[str, Any]) -> list[str]:
    """Statements that read one value of ``kind`` at ``pos`` into ``var`` and advance ``pos``."""
    if kind == "boolean":
        return [f"{var} = _BOOLEANS[b[pos]]", "pos += 1"]
    lines = list(_VARINT)
    if kind in ("int", "long"):
        return lines + [f"{var} = (z >> 1) ^ -(z & 1)"]
    if isinstance(kind, tuple):
        names[f"_symbols_{var}"] = kind
        return lines + ["if z & 1: raise ValueError('negative enum index')", f"{var} = _symbols_{var}[z >> 1]"]
    value = "b[pos:end]" if kind == "bytes" else "b[pos:end].decode()"
    return lines + [
        "if z & 1: raise ValueError('negative length')",
        "end = pos + (z >> 1)",
        f"{var} = _loads({value})" if json else f"{var} = {value}",
        "pos = end",
    ]


def _field_lines(avro_type: Any, var: str, json: bool, names: dict[str, Any]) -> list[str] | None:
    if not isinstance(avro_type, list):
        kind = _kind(avro_type)
        return None if kind is None else _value_lines(kind, var, json, names)
    if len(avro_type) != 2 or "null" not in avro_type:
        return None
    null = avro_type.index("null")
    kind = _kind(avro_type[1 - null])
    if kind is None:
        return None
    return [
        "u = b[pos]", "pos += 1",
        f"if u == {2 * null}: {var} = None",  # a union index is a zigzag varint: i is the byte 2i
        f"elif u == {2 * (1 - null)}:",
        *("    " + line for line in _value_lines(kind, var, json, names)),
        "else: raise ValueError('bad union index')",
    ]


def _slot_setters(cls: type, field_names: list[str]) -> list[Callable[[Any, Any], None]] | None:
    """The slot setters of a slotted dataclass whose ``__init__`` only stores exactly these fields."""
    if not dataclasses.is_dataclass(cls) or not cls.__dataclass_params__.init or hasattr(cls, "__post_init__"):
        return None
    model = dataclasses.fields(cls)
    if sorted(f.name for f in model) != sorted(field_names) or not all(f.init for f in model):
        return None
    slots = [cls.__dict__.get(name) for name in field_names]
    if not all(isinstance(slot, types.MemberDescriptorType) for slot in slots):
        return None
    return [slot.__set__ for slot in slots]


def compile_flat_reader(parsed: Mapping[str, Any], cls: type | None, json_fields: Iterable[str]) -> FastReader | None:
    """A fast reader of a record schema read with itself (no evolution) into ``cls``, or None
    when the schema has a field type it does not handle."""
    fields = parsed.get("fields") if parsed.get("type") == "record" else None
    if cls is None or not fields:
        return None
    field_names = [f["name"] for f in fields]
    if not all(n.isidentifier() and not keyword.iskeyword(n) for n in field_names):
        return None
    names: dict[str, Any] = {"_varint": _varint, "_loads": orjson.loads, "_BOOLEANS": (False, True), "_cls": cls}
    body = []
    for i, f in enumerate(fields):
        lines = _field_lines(f["type"], f"v{i}", f["name"] in json_fields, names)
        if lines is None:
            return None
        body += lines
    body.append("if pos != len(b): raise ValueError('trailing bytes')")
    setters = _slot_setters(cls, field_names)
    if setters is None:  # build through __init__
        body.append("return _cls(" + ", ".join(f"{n}=v{i}" for i, n in enumerate(field_names)) + ")")
    else:  # a plain slotted dataclass: store the slots, skipping __init__'s keyword handling
        names.update({f"_set{i}": s for i, s in enumerate(setters)}, _new=object.__new__)
        body += ["o = _new(_cls)", *(f"_set{i}(o, v{i})" for i in range(len(setters))), "return o"]
    source = "def read(b, pos):\n" + "".join(f"    {line}\n" for line in body)
    exec(compile(source, f"<fast reader of {parsed['name']}>", "exec"), names)
    return names["read"]
