"""Capacity units: DynamoDB's documented read/write rules, in half-units, and ConsumedCapacity."""

import pytest

from dynamoray.core import capacity
from dynamoray.core.capacity import (
    IndexCapacity, batch_read_half_units, consumed_capacity, index_write_half_units,
    read_half_units, scan_half_units, units, write_half_units,
)

KB = 1024


@pytest.mark.parametrize("size, eventual, strong, transactional", [
    (0, 0.5, 1, 2),  # a missing item still costs the minimum
    (1, 0.5, 1, 2),
    (3500, 0.5, 1, 2),  # "reading a 3,500-byte item consumes the same as reading a 4 KB item"
    (4 * KB, 0.5, 1, 2),
    (4 * KB + 1, 1, 2, 4),
    (8 * KB, 1, 2, 4),  # "an 8 KB item: 2 strongly consistent, 1 eventually, 4 transactional"
    (10 * KB, 1.5, 3, 6),  # "a 10 KB item is rounded up to 12 KB"
    (400 * KB, 50, 100, 200),
])
def test_item_reads(size, eventual, strong, transactional):
    assert units(read_half_units(size)) == eventual
    assert units(read_half_units(size, consistent=True)) == strong
    assert units(read_half_units(size, transactional=True)) == transactional


def test_batch_get_rounds_each_item_on_its_own():
    # "1.5 KB and 6.5 KB are counted as 12 KB (4 KB + 8 KB), not 8 KB"
    sizes = [1536, 6656]
    assert units(batch_read_half_units(sizes, consistent=True)) == 3
    assert units(scan_half_units(sum(sizes), consistent=True)) == 2


@pytest.mark.parametrize("total, eventual, strong", [
    (0, 0.5, 1),  # an empty result still costs one block
    (100, 0.5, 1),
    (4 * KB, 0.5, 1),
    (4 * KB + 1, 1, 2),
    (40 * KB, 5, 10),
    (1024 * KB, 128, 256),  # a full 1 MB page
])
def test_query_and_scan_sum_then_round(total, eventual, strong):
    assert units(scan_half_units(total)) == eventual
    assert units(scan_half_units(total, consistent=True)) == strong


def test_query_rounds_the_sum_not_each_item():
    many_small = [100] * 40  # 4000 bytes in all
    assert units(scan_half_units(sum(many_small), consistent=True)) == 1
    assert units(batch_read_half_units(many_small, consistent=True)) == 40


@pytest.mark.parametrize("new, old, expected", [
    (0, 0, 1),  # deleting a missing item costs 1 WCU
    (1, 0, 1),
    (KB, 0, 1),
    (KB + 1, 0, 2),
    (2 * KB + 1, 0, 3),
    (10, 2 * KB + 1, 3),  # the larger of the old and new item
    (0, 2 * KB + 1, 3),  # a delete costs the size of the deleted item
    (400 * KB, 0, 400),
])
def test_writes(new, old, expected):
    assert units(write_half_units(new, old)) == expected
    assert units(write_half_units(new, old, transactional=True)) == 2 * expected


def test_write_units_are_whole():
    assert all(write_half_units(n) % 2 == 0 for n in range(0, 5000, 37))


def test_index_writes():
    assert index_write_half_units(None, None) == 0  # not in the index before or after
    assert units(index_write_half_units(None, 100)) == 1  # enters the index
    assert units(index_write_half_units(2 * KB, None)) == 2  # leaves the index
    assert units(index_write_half_units(100, 100, key_changed=True)) == 2  # delete + put
    assert units(index_write_half_units(100, 3 * KB)) == 3  # projected attributes changed
    assert index_write_half_units(100, 100, changed=False) == 0


def test_units_render_as_floats():
    assert units(1) == 0.5 and isinstance(units(2), float)


# --- ConsumedCapacity ------------------------------------------------------------------------


def test_none_mode_returns_nothing():
    assert consumed_capacity("t", read_units=2, mode="NONE") is None
    assert consumed_capacity("t", read_units=2, mode=None) is None


def test_total_mode():
    assert consumed_capacity("Music", read_units=1) == {"TableName": "Music", "CapacityUnits": 0.5}
    assert consumed_capacity("Music", write_units=6, mode="TOTAL") == {"TableName": "Music", "CapacityUnits": 3.0}


def test_total_includes_the_indexes():
    gsi = IndexCapacity("byAlbum", is_global=True, write_units=4)
    assert consumed_capacity("Music", write_units=2, indexes=[gsi]) == {"TableName": "Music", "CapacityUnits": 3.0}


def test_indexes_mode_breaks_the_total_down():
    lsi = IndexCapacity("AlbumTitleIndex", is_global=False, write_units=2)
    gsi = IndexCapacity("GenreIndex", is_global=True, write_units=4)
    assert consumed_capacity("MusicCollection", write_units=2, indexes=[lsi, gsi], mode="INDEXES") == {
        "TableName": "MusicCollection",
        "CapacityUnits": 4.0,
        "Table": {"CapacityUnits": 1.0},
        "LocalSecondaryIndexes": {"AlbumTitleIndex": {"CapacityUnits": 1.0}},
        "GlobalSecondaryIndexes": {"GenreIndex": {"CapacityUnits": 2.0}},
    }


def test_indexes_mode_without_indexes_has_only_the_table():
    assert consumed_capacity("t", read_units=2, mode="INDEXES") == {
        "TableName": "t", "CapacityUnits": 1.0, "Table": {"CapacityUnits": 1.0}}


def test_query_on_a_local_index_is_reported_under_the_index():
    lsi = IndexCapacity("AlbumTitleIndex", is_global=False, read_units=1)
    assert consumed_capacity("MusicCollection", indexes=[lsi], mode="INDEXES") == {
        "TableName": "MusicCollection",
        "CapacityUnits": 0.5,
        "Table": {"CapacityUnits": 0.0},
        "LocalSecondaryIndexes": {"AlbumTitleIndex": {"CapacityUnits": 0.5}},
    }


def test_transactions_split_read_and_write_units():
    assert consumed_capacity("MusicCollection", write_units=20, split=True) == {
        "TableName": "MusicCollection", "CapacityUnits": 10.0, "WriteCapacityUnits": 10.0}
    assert consumed_capacity("MusicCollection", read_units=8, split=True) == {
        "TableName": "MusicCollection", "CapacityUnits": 4.0, "ReadCapacityUnits": 4.0}
    gsi = IndexCapacity("g1", is_global=True, write_units=4)
    assert consumed_capacity("t", read_units=2, write_units=4, indexes=[gsi], mode="INDEXES", split=True) == {
        "TableName": "t", "CapacityUnits": 5.0, "ReadCapacityUnits": 1.0, "WriteCapacityUnits": 4.0,
        "Table": {"CapacityUnits": 3.0, "ReadCapacityUnits": 1.0, "WriteCapacityUnits": 2.0},
        "GlobalSecondaryIndexes": {"g1": {"CapacityUnits": 2.0, "WriteCapacityUnits": 2.0}},
    }


def test_unknown_mode_is_a_programming_error():
    with pytest.raises(ValueError):
        consumed_capacity("t", mode="ALL")


def test_shape_matches_the_service_model():
    """Every key we emit is a member of botocore's ConsumedCapacity / Capacity shapes."""
    import botocore.session

    model = botocore.session.get_session().get_service_model("dynamodb")
    outer = set(model.shape_for("ConsumedCapacity").members)
    inner = set(model.shape_for("Capacity").members)
    shaped = consumed_capacity("t", read_units=2, write_units=2, mode="INDEXES", split=True, indexes=[
        IndexCapacity("l", False, 1, 1), IndexCapacity("g", True, 1, 1)])
    assert set(shaped) <= outer
    capacities = [shaped["Table"], *shaped["LocalSecondaryIndexes"].values(),
                  *shaped["GlobalSecondaryIndexes"].values()]
    assert all(set(c) <= inner for c in capacities)
    assert set(capacity.MODES) == set(model.shape_for("ReturnConsumedCapacity").enum)
