"""The catalog service: table metadata (``core.catalog``) event-sourced on the catalog topic.

One instance runs as the catalog actor (``options.py``); the gateway's ``RayEngine`` asks it for
table descriptions, tags and TTL settings, and caches what it needs to route item calls.

- Every change is recorded first: the event is appended to the catalog topic and, once durable,
  folded into the state.  The constructor fences any earlier catalog writer, then replays the
  topic, so a restarted actor (Ray re-runs ``__init__``) comes back with every acknowledged change.
- A table's topic is created here, before its ``TableCreated`` event: a table in the catalog always
  has a topic.  The topic is deleted by the partition host that owns the table (``host.drop``),
  after ``TableDeleted`` is recorded.
- A failed append fail-stops the state: it is rebuilt from the log before the error is returned.

The calls are synchronous and, in the actor, run one at a time (no concurrency to reason about).
Retry contract: the actor is started with ``max_task_retries=0``; ``create_table`` also tolerates
an existing topic, so a client retrying a failed CreateTable is safe.
"""

from __future__ import annotations

import copy
import os
from typing import Callable

from ..core import catalog, errors, partition_map, tables
from ..events.log import EventLog, TopicExistsError
from . import records
from .records import table_topic

CATALOG_TOPIC = "dynamoray.catalog"  # the same topic LocalEngine uses


class CatalogService:
    def __init__(self, log_factory: Callable[[], EventLog]) -> None:
        self._log = log_factory()
        self._state = catalog.CatalogState()
        self._writer = None
        self._rebuild()

    def _rebuild(self) -> None:
        if self._writer is not None:
            self._writer.close()
        try:
            self._log.create_topic(CATALOG_TOPIC, 1)
        except TopicExistsError:  # a restart: recover from it
            pass
        self._writer = self._log.open_writer(CATALOG_TOPIC, 0)
        state = catalog.CatalogState()
        for value in records.read_all(self._log, CATALOG_TOPIC):
            catalog.evolve(state, records.decode_catalog(value))
        self._state = state

    def _record(self, event) -> None:
        try:
            self._writer.append([records.encode_catalog(event)])
        except Exception:
            self._rebuild()
            raise errors.internal_server_error("The table change could not be made durable") from None
        catalog.evolve(self._state, event)

    # --- tables ----------------------------------------------------------------------------------

    def create_table(self, description: dict) -> dict:
        name = description["TableName"]
        if name in self._state.tables:
            raise errors.table_already_exists(name)
        try:  # one log partition per shard (the description says how many)
            self._log.create_topic(table_topic(description["TableId"]), tables.shard_count(description))
        except TopicExistsError:
            pass
        self._record(catalog.table_created(description))
        return copy.deepcopy(description)

    def lookup(self, name: str) -> dict | None:
        description = self._state.tables.get(name)
        return copy.deepcopy(description) if description is not None else None

    def describe(self, name: str) -> dict:
        return copy.deepcopy(self._state.description(name))

    def list_tables(self) -> list[str]:
        return sorted(self._state.tables)

    def all_tables(self) -> list[dict]:
        return [copy.deepcopy(d) for _, d in sorted(self._state.tables.items())]

    def replace_table(self, name: str, description: dict) -> dict:
        self._state.description(name)
        self._record(catalog.table_updated(description))
        return copy.deepcopy(description)

    def delete_table(self, name: str) -> dict:
        description = copy.deepcopy(self._state.description(name))
        self._record(catalog.table_deleted(description))
        return description

    def set_partitions(self, name: str, table_id: str, spec: dict, expected_version: int) -> dict:
        """Record a table's new partition map (``core/partition_map.py``) if the recorded one is
        still at ``expected_version`` (so two movers never both win) and the table is still
        ``table_id``; returns the description with the new map.  ConditionalCheckFailed-like
        conflicts are a ValidationException naming the version found."""
        description = self._state.description(name)
        if description["TableId"] != table_id:
            raise errors.resource_not_found()
        current = int((description.get(tables.PARTITIONS) or {}).get("Version", 0))
        if current != expected_version:
            raise errors.validation(f"The partition map changed meanwhile (version {current}, expected {expected_version})")
        try:
            pmap = partition_map.from_wire(spec)
        except (ValueError, KeyError, TypeError) as error:
            raise errors.validation(f"Invalid partition map: {error}") from None
        if pmap.version != expected_version + 1 or pmap.shards != tables.shard_count(description):
            raise errors.validation("Invalid partition map: wrong version or shard count")
        self._record(catalog.partition_map_changed(description, spec))
        return copy.deepcopy(self._state.description(name))

    # --- tags and TTL ----------------------------------------------------------------------------

    def get_tags(self, name: str) -> dict[str, str]:
        self._state.description(name)
        return dict(self._state.tags.get(name, {}))

    def set_tags(self, name: str, tags: dict[str, str]) -> None:
        self._record(catalog.tags_changed(self._state.description(name), tags))

    def get_ttl(self, name: str) -> dict | None:
        self._state.description(name)
        spec = self._state.ttl.get(name)
        return dict(spec) if spec is not None else None

    def set_ttl(self, name: str, spec: dict) -> None:
        self._record(catalog.time_to_live_changed(self._state.description(name), spec))

    def ttl_settings(self) -> dict[str, dict]:
        """Every table's TTL setting, by table name (one call per TTL sweep)."""
        return {name: dict(spec) for name, spec in self._state.ttl.items() if name in self._state.tables}

    # --- operations ------------------------------------------------------------------------------

    def pid(self) -> int:
        return os.getpid()

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
        self._log.close()
