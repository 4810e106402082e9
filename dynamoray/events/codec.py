"""Event <-> bytes: Avro (fastavro, schemaless) behind a schema-id header, with an encryption hook.

Wire format of a stored event (the Confluent wire format when not encrypted):

    byte 0      0x00 plain | 0x01 encrypted
    bytes 1-4   the schema id (big-endian), see ``dynamoray.schemas.events.SCHEMA_IDS``
    the rest    the Avro body; when encrypted, ``cipher.encrypt(body, header)`` with the five
                header bytes as associated data, so a ciphertext cannot be moved to another schema

A reader decodes with the schema the id names as the writer schema and the newest version it
knows of that event as the reader schema, so events written by older versions stay readable.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import fastavro
import orjson

from dynamoray.schemas.events import EVENT_TYPES, JSON_FIELDS, SCHEMA_IDS, load_schema

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

    def encode(self, event: Any) -> bytes:
        schema = self.registry.newest(self.registry.name_of(event))
        record = {f: getattr(event, f) for f in event.__dataclass_fields__}
        for f in schema.json_fields:
            if record[f] is not None:
                record[f] = orjson.dumps(record[f])
        out = io.BytesIO()
        fastavro.schemaless_writer(out, schema.parsed, record)
        body = out.getvalue()
        if self.cipher is None:
            return _HEADER.pack(PLAIN, schema.id) + body
        header = _HEADER.pack(ENCRYPTED, schema.id)
        return header + self.cipher.encrypt(body, header)

    def decode(self, data: bytes) -> Any:
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
        reader = self.registry.newest(writer.name)
        record = fastavro.schemaless_reader(
            io.BytesIO(body), writer.parsed, None if reader is writer else reader.parsed
        )
        for f in reader.json_fields:
            if record[f] is not None:
                record[f] = orjson.loads(record[f])
        return self.registry.types[writer.name](**record)

    def decode_record(self, record: Record) -> LoggedEvent:
        return LoggedEvent(record.offset, record.timestamp, self.decode(record.value))
