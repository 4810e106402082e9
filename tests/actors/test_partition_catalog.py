"""The partition map in the catalog: recorded by ``PartitionMapChanged``, kept in the description as
the internal ``_Partitions`` (DescribeTable never shows it), back after a restart."""

from __future__ import annotations

import pytest

from dynamoray.actors.catalog_service import CatalogService
from dynamoray.core import catalog, partition_map as pm, tables
from dynamoray.core.errors import DynamoError
from dynamoray.events.memory import MemoryLog

from .helpers import description


def four_shards(name: str) -> dict:
    return tables.with_shards(description(name), 4)


def test_a_new_table_has_no_recorded_map_and_gets_the_initial_one():
    catalog_ = CatalogService(lambda: MemoryLog())
    created = catalog_.create_table(four_shards("t"))
    assert tables.PARTITIONS not in catalog_.describe("t")
    assert pm.of_description(created, 4, 1) == pm.initial(4, 1)


def test_a_recorded_map_is_in_the_description_survives_updates_and_restarts():
    log = MemoryLog()
    service = CatalogService(lambda: log)
    desc = service.create_table(four_shards("t"))
    split = pm.split(pm.initial(4, 0), 0, 2, 1)
    after = service.set_partitions("t", desc["TableId"], pm.to_wire(split), 0)
    assert pm.of_description(after, 4, 0) == split
    assert tables.PARTITIONS not in tables.public_description(after)
    stale = {**desc, "DeletionProtectionEnabled": True}  # an UpdateTable's description: no map, or an old one
    service.replace_table("t", stale)
    service.replace_table("t", {**stale, tables.PARTITIONS: pm.to_wire(pm.initial(4, 0))})
    assert pm.of_description(service.describe("t"), 4, 0) == split
    again = CatalogService(lambda: log)
    assert pm.of_description(again.describe("t"), 4, 0) == split
    assert again.describe("t")["DeletionProtectionEnabled"] is True
    assert [pm.of_description(d, 4, 0) for d in again.all_tables()] == [split]


def test_the_map_changes_only_from_the_version_it_was_read_at():
    service = CatalogService(lambda: MemoryLog())
    desc = service.create_table(four_shards("t"))
    first = pm.split(pm.initial(4, 0), 0, 2, 1)
    service.set_partitions("t", desc["TableId"], pm.to_wire(first), 0)
    other = pm.split(pm.initial(4, 0), 0, 3, 1)  # a second mover that read version 0
    with pytest.raises(DynamoError) as raced:
        service.set_partitions("t", desc["TableId"], pm.to_wire(other), 0)
    assert (raced.value.error_type, raced.value.message) == (
        "ValidationException", "The partition map changed meanwhile (version 1, expected 0)")
    with pytest.raises(DynamoError) as wrong:
        service.set_partitions("t", desc["TableId"], pm.to_wire(pm.split(pm.initial(8, 0), 0, 2, 1)), 1)
    assert wrong.value.message == "Invalid partition map: wrong version or shard count"
    with pytest.raises(DynamoError) as gone:
        service.set_partitions("t", "another-id", pm.to_wire(pm.move(first, 2, 0)), 1)
    assert gone.value.error_type == "ResourceNotFoundException"


def test_a_deleted_and_recreated_table_starts_with_no_map():
    state = catalog.CatalogState()
    old = four_shards("t")
    catalog.evolve(state, catalog.table_created(old))
    spec = pm.to_wire(pm.split(pm.initial(4, 0), 0, 1, 1))
    catalog.evolve(state, catalog.partition_map_changed(old, spec))
    assert state.tables["t"][tables.PARTITIONS] == spec
    catalog.evolve(state, catalog.table_deleted(old))
    new = {**four_shards("t"), "TableId": "new-id"}
    catalog.evolve(state, catalog.table_created(new))
    catalog.evolve(state, catalog.partition_map_changed(old, spec))  # late, of the deleted table
    assert tables.PARTITIONS not in state.tables["t"]
    assert state.partitions == {}
