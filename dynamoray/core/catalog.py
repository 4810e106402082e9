"""The catalog: table metadata as a fold of catalog events (``dynamoray.schemas.events``).

``TableCreated``/``TableUpdated`` carry the whole table description (DescribeTable's shape),
``TableDeleted`` removes it, ``TagsChanged`` and ``TimeToLiveChanged`` carry the table's whole new
tag map / TTL setting.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

from ..schemas.events import (PartitionMapChanged, TableCreated, TableDeleted, TableUpdated, TagsChanged,
                              TimeToLiveChanged)
from . import errors, tables


@dataclass
class CatalogState:
    tables: dict[str, dict] = field(default_factory=dict)  # name -> description
    tags: dict[str, dict[str, str]] = field(default_factory=dict)  # name -> tags
    ttl: dict[str, dict] = field(default_factory=dict)  # name -> TimeToLiveDescription
    partitions: dict[str, dict] = field(default_factory=dict)  # name -> partition_map.to_wire()

    def description(self, name: str) -> dict:
        description = self.tables.get(name)
        if description is None:
            raise errors.table_not_found(name)
        return description


def table_created(description: dict) -> TableCreated:
    return TableCreated(description["TableId"], description["TableName"], copy.deepcopy(description))


def table_updated(description: dict) -> TableUpdated:
    return TableUpdated(description["TableId"], description["TableName"], copy.deepcopy(description))


def table_deleted(description: dict) -> TableDeleted:
    return TableDeleted(description["TableId"], description["TableName"])


def tags_changed(description: dict, tags: dict[str, str]) -> TagsChanged:
    return TagsChanged(description["TableId"], description["TableName"], dict(tags))


def time_to_live_changed(description: dict, spec: dict) -> TimeToLiveChanged:
    return TimeToLiveChanged(description["TableId"], description["TableName"], dict(spec))


def partition_map_changed(description: dict, spec: dict) -> PartitionMapChanged:
    return PartitionMapChanged(description["TableId"], description["TableName"], dict(spec))


def evolve(state: CatalogState, event) -> None:
    """Fold one catalog event into the state.  A table's description carries its partition map
    (``tables.PARTITIONS``) as the last ``PartitionMapChanged`` set it: an update's description
    never changes it, a new table starts without one."""
    if isinstance(event, TableCreated):
        state.partitions.pop(event.table_name, None)
        state.tables[event.table_name] = {k: v for k, v in event.description.items() if k != tables.PARTITIONS}
    elif isinstance(event, TableUpdated):
        description = {k: v for k, v in event.description.items() if k != tables.PARTITIONS}
        if event.table_name in state.partitions:
            description[tables.PARTITIONS] = state.partitions[event.table_name]
        state.tables[event.table_name] = description
    elif isinstance(event, PartitionMapChanged):
        current = state.tables.get(event.table_name)
        if current is not None and current.get("TableId") == event.table_id:  # not a deleted namesake's
            state.partitions[event.table_name] = dict(event.spec)
            state.tables[event.table_name] = {**current, tables.PARTITIONS: dict(event.spec)}
    elif isinstance(event, TableDeleted):
        state.tables.pop(event.table_name, None)
        state.tags.pop(event.table_name, None)
        state.ttl.pop(event.table_name, None)
        state.partitions.pop(event.table_name, None)
    elif isinstance(event, TagsChanged):
        state.tags[event.table_name] = dict(event.tags)
    elif isinstance(event, TimeToLiveChanged):
        state.ttl[event.table_name] = dict(event.spec)
    else:
        raise ValueError(f"not a catalog event: {type(event).__name__}")
