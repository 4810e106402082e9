"""The events of the log: frozen models named in the past tense, and their versioned Avro schemas.

Each model has an Avro schema ``<Name>.v<version>.avsc`` next to this module.  Avro stays flat:
item images, keys and table descriptions are carried as orjson bytes (``JSON_FIELDS``), which
encodes ~25x faster than a recursive AttributeValue schema.  In the models they are plain
wire-form dicts (see ``dynamoray.core.values``).

Evolution rules (checked by ``tests/schemas/test_event_schemas.py``): a new version only *appends*
fields, each with a default, and only appends enum symbols; the model gains the same field with
the same default.  ``SCHEMA_IDS`` is append-only: never renumber, reorder or delete a line, since
the id is written in front of every stored event.

The log position (offset) and the commit timestamp of an event are not in the event: the log
stamps them and hands them back with it (``dynamoray.events.codec.LoggedEvent``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from typing import Any

Item = dict[str, dict[str, Any]]

# (schema id, event name, version). Append-only.
SCHEMA_IDS: tuple[tuple[int, str, int], ...] = (
    (1, "ItemChanged", 1),
    (2, "TableCreated", 1),
    (3, "TableUpdated", 1),
    (4, "TableDeleted", 1),
    (5, "SnapshotTaken", 1),
    (6, "TransactionDecided", 1),
    (7, "LeaderEpochStarted", 1),
    (8, "TagsChanged", 1),
    (9, "TimeToLiveChanged", 1),
)

# Avro ``bytes`` fields whose model value is JSON (encoded with orjson).
JSON_FIELDS = frozenset(
    {"keys", "old_image", "new_image", "description", "time_index", "participants", "tags", "spec"}
)


@dataclass(frozen=True, slots=True)
class ItemChanged:
    table_id: str
    shard: int
    event_name: str  # INSERT | MODIFY | REMOVE
    keys: Item
    old_image: Item | None = None
    new_image: Item | None = None
    region: str = ""
    transaction_id: str | None = None
    principal: str | None = None
    principal_type: str | None = None
    request_id: str | None = None


@dataclass(frozen=True, slots=True)
class TableCreated:
    table_id: str
    table_name: str
    description: dict[str, Any]
    region: str = ""


@dataclass(frozen=True, slots=True)
class TableUpdated:
    table_id: str
    table_name: str
    description: dict[str, Any]


@dataclass(frozen=True, slots=True)
class TableDeleted:
    table_id: str
    table_name: str


@dataclass(frozen=True, slots=True)
class SnapshotTaken:
    table_id: str
    shard: int
    offset: int
    timestamp: int
    location: str
    time_index: list[list[int]] | None = None


@dataclass(frozen=True, slots=True)
class TransactionDecided:
    transaction_id: str
    decision: str  # COMMIT | ABORT
    participants: list[list[Any]]
    client_token: str | None = None


@dataclass(frozen=True, slots=True)
class LeaderEpochStarted:
    table_id: str
    shard: int
    epoch: int
    owner: str


@dataclass(frozen=True, slots=True)
class TagsChanged:
    table_id: str
    table_name: str
    tags: dict[str, str]


@dataclass(frozen=True, slots=True)
class TimeToLiveChanged:
    table_id: str
    table_name: str
    spec: dict[str, Any]


Event = ItemChanged | TableCreated | TableUpdated | TableDeleted | SnapshotTaken | TransactionDecided | LeaderEpochStarted | TagsChanged | TimeToLiveChanged

EVENT_TYPES: dict[str, type] = {
    cls.__name__: cls
    for cls in (
        ItemChanged, TableCreated, TableUpdated, TableDeleted, SnapshotTaken, TransactionDecided,
        LeaderEpochStarted, TagsChanged, TimeToLiveChanged,
    )
}


def schema_file(name: str, version: int) -> str:
    return f"{name}.v{version}.avsc"


def load_schema(name: str, version: int) -> dict[str, Any]:
    """The JSON of a shipped Avro schema (parse it with fastavro before use)."""
    text = resources.files(__package__).joinpath(schema_file(name, version)).read_text()
    return json.loads(text)
