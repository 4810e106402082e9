"""The catalog: table metadata as a fold of catalog events.

Catalog events are plain dicts (they go to the catalog's own log topic):
``{"type": "TableCreated", "description": {...}}``, ``{"type": "TableUpdated", "description":
{...}}``, ``{"type": "TableDeleted", "name": ...}``, ``{"type": "TagsSet", "arn": ..., "tags":
{...}}``, ``{"type": "TimeToLiveSet", "name": ..., "spec": {...}}``.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

from . import errors


@dataclass
class CatalogState:
    tables: dict[str, dict] = field(default_factory=dict)  # name -> description
    tags: dict[str, dict[str, str]] = field(default_factory=dict)  # table arn -> tags
    ttl: dict[str, dict] = field(default_factory=dict)  # name -> TimeToLiveDescription

    def description(self, name: str) -> dict:
        description = self.tables.get(name)
        if description is None:
            raise errors.table_not_found(name)
        return description


def table_created(description: dict) -> dict:
    return {"type": "TableCreated", "description": copy.deepcopy(description)}


def table_updated(description: dict) -> dict:
    return {"type": "TableUpdated", "description": copy.deepcopy(description)}


def table_deleted(name: str) -> dict:
    return {"type": "TableDeleted", "name": name}


def tags_set(arn: str, tags: dict[str, str]) -> dict:
    return {"type": "TagsSet", "arn": arn, "tags": dict(tags)}


def time_to_live_set(name: str, spec: dict) -> dict:
    return {"type": "TimeToLiveSet", "name": name, "spec": dict(spec)}


def evolve(state: CatalogState, event: dict) -> None:
    """Fold one catalog event into the state."""
    kind = event["type"]
    if kind in ("TableCreated", "TableUpdated"):
        description = event["description"]
        state.tables[description["TableName"]] = description
    elif kind == "TableDeleted":
        description = state.tables.pop(event["name"], None)
        state.ttl.pop(event["name"], None)
        if description is not None:
            state.tags.pop(description["TableArn"], None)
    elif kind == "TagsSet":
        state.tags[event["arn"]] = dict(event["tags"])
    elif kind == "TimeToLiveSet":
        state.ttl[event["name"]] = dict(event["spec"])
    else:
        raise ValueError(f"unknown catalog event {kind!r}")
