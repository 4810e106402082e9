"""A table's partition map (``core/partition_map.py``): ranges of shards on hosts, splits, moves,
and the automatic splitter's policy."""

from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st

from dynamoray.core import partition_map as pm
from dynamoray.core.partition_map import PartitionMap, Range, ShardLoad, SplitThresholds


def owners(pmap: PartitionMap) -> list[int]:
    """The host of every shard, read range by range (each shard listed once per range holding it)."""
    seen: dict[int, list[int]] = {}
    for r in pmap.ranges:
        for shard in range(r.start, r.end):
            seen.setdefault(shard, []).append(r.host)
    assert sorted(seen) == list(range(pmap.shards)), "every shard is in some range"
    assert all(len(hosts) == 1 for hosts in seen.values()), "no shard is in two ranges"
    return [seen[s][0] for s in range(pmap.shards)]


def test_the_initial_map_is_one_range_on_one_host():
    pmap = pm.initial(4, 1)
    assert pmap == PartitionMap(4, (Range(0, 4, 1),), 0)
    assert [pm.host_of(pmap, s) for s in range(4)] == [1, 1, 1, 1]
    assert pmap.hosts == (1,)
    with pytest.raises(ValueError):
        pm.initial(0, 0)


def test_split_gives_the_upper_part_to_the_new_host_and_bumps_the_version():
    pmap = pm.split(pm.initial(8, 0), 0, 5, 2)
    assert pmap.ranges == (Range(0, 5, 0), Range(5, 8, 2))
    assert pmap.version == 1
    assert owners(pmap) == [0] * 5 + [2] * 3
    again = pm.split(pmap, 5, 6, 1)
    assert again.ranges == (Range(0, 5, 0), Range(5, 6, 2), Range(6, 8, 1))
    assert again.version == 2
    assert pmap.ranges == (Range(0, 5, 0), Range(5, 8, 2)), "the input map is unchanged"


def test_split_refuses_a_cut_outside_the_range_or_an_unknown_range():
    pmap = pm.split(pm.initial(4, 0), 0, 2, 1)
    for start, at in ((0, 0), (0, 2), (0, 3), (2, 2), (2, 4)):
        with pytest.raises(ValueError, match="not inside range"):
            pm.split(pmap, start, at, 1)
    with pytest.raises(ValueError, match="no range starts at shard 1"):
        pm.split(pmap, 1, 1, 1)
    with pytest.raises(ValueError, match="not inside range 0-0"):
        pm.split(pm.initial(1, 0), 0, 1, 1)


def test_move_gives_a_whole_range_to_another_host():
    pmap = pm.move(pm.split(pm.initial(4, 0), 0, 2, 0), 2, 1)
    assert pmap.ranges == (Range(0, 2, 0), Range(2, 4, 1))
    assert pmap.version == 2
    with pytest.raises(ValueError, match="already on host 1"):
        pm.move(pmap, 2, 1)
    with pytest.raises(ValueError, match="no range starts at shard 3"):
        pm.move(pmap, 3, 0)


def test_merge_joins_neighbours_on_one_host_only():
    pmap = pm.split(pm.initial(4, 0), 0, 2, 1)
    with pytest.raises(ValueError, match="on one host"):
        pm.merge(pmap, 0)
    with pytest.raises(ValueError, match="last one"):
        pm.merge(pmap, 2)
    joined = pm.merge(pm.move(pmap, 2, 0), 0)
    assert joined.ranges == (Range(0, 4, 0),)
    assert joined.version == 3


def test_validate_refuses_gaps_overlaps_and_short_maps():
    for ranges in [(Range(0, 2, 0), Range(3, 4, 0)), (Range(0, 3, 0), Range(2, 4, 1)),
                   (Range(0, 3, 0),), (Range(1, 4, 0),), (Range(0, 0, 0), Range(0, 4, 0)), ()]:
        with pytest.raises(ValueError):
            pm.validate(PartitionMap(4, ranges))
    with pytest.raises(ValueError, match="no host"):
        pm.validate(PartitionMap(2, (Range(0, 2, -1),)))


def test_range_and_host_lookups():
    pmap = pm.split(pm.split(pm.initial(6, 0), 0, 2, 1), 2, 4, 2)
    assert pm.range_of(pmap, 3) == Range(2, 4, 1)
    assert pm.shards_of_host(pmap, 1) == (2, 3)
    assert pm.ranges_of_host(pmap, 2) == (Range(4, 6, 2),)
    assert pmap.hosts == (0, 1, 2)
    with pytest.raises(ValueError, match="no shard 6"):
        pm.host_of(pmap, 6)


def test_the_wire_form_round_trips_and_is_validated():
    pmap = pm.split(pm.initial(4, 1), 0, 1, 0)
    wire = pm.to_wire(pmap)
    assert wire == {"Shards": 4, "Version": 1, "Ranges": [[0, 1, 1], [1, 4, 0]]}
    assert pm.from_wire(wire) == pmap
    with pytest.raises(ValueError):
        pm.from_wire({"Shards": 4, "Version": 1, "Ranges": [[0, 1, 1]]})


def test_a_map_recorded_on_a_larger_pool_folds_its_hosts_onto_the_pool():
    pmap = pm.split(pm.initial(4, 0), 0, 2, 3)
    assert pm.with_host_count(pmap, 2).ranges == (Range(0, 2, 0), Range(2, 4, 1))
    assert pm.with_host_count(pmap, 4) is pmap


# --- the splitter's policy -------------------------------------------------------------------------


def test_no_split_while_every_range_is_within_the_thresholds():
    pmap = pm.initial(4, 0)
    loads = {s: ShardLoad(100, 1.0) for s in range(4)}
    assert pm.choose_split(pmap, loads, SplitThresholds(size_bytes=1000), 2) is None
    assert pm.choose_split(pmap, loads, SplitThresholds(), 2) is None, "no thresholds: never"


def test_a_big_range_is_split_where_its_bytes_are_halved_onto_another_host():
    pmap = pm.initial(4, 1)
    loads = {s: ShardLoad(300, 0.0) for s in range(4)}
    choice = pm.choose_split(pmap, loads, SplitThresholds(size_bytes=1000), 3)
    assert choice == pm.SplitChoice(0, 2, 0)
    assert pm.apply(pmap, choice).ranges == (Range(0, 2, 1), Range(2, 4, 0))


def test_a_single_hot_shard_is_isolated_in_its_own_range():
    pmap = pm.initial(4, 0)
    loads = {0: ShardLoad(0, 1.0), 1: ShardLoad(0, 1.0), 2: ShardLoad(0, 500.0), 3: ShardLoad(0, 1.0)}
    limits = SplitThresholds(writes_per_second=100)
    first = pm.choose_split(pmap, loads, limits, 3)
    assert (first.range_start, first.at, first.new_host) == (0, 2, 1)
    pmap = pm.apply(pmap, first)
    assert pm.choose_split(pmap, loads, limits, 2) is None, "two hosts: [2, 4) stays, alone on host 1"
    second = pm.choose_split(pmap, loads, limits, 3)
    assert (second.range_start, second.at, second.new_host) == (2, 3, 2)
    pmap = pm.apply(pmap, second)
    assert pm.range_of(pmap, 2) == Range(2, 3, 1) and pm.one_range_per_host(pmap)
    assert pm.choose_split(pmap, loads, limits, 4) is None, "a range of one shard is not split"


def test_the_hot_first_shard_of_a_range_is_cut_off_after_it():
    pmap = pm.initial(3, 0)
    loads = {0: ShardLoad(5000, 0.0)}
    choice = pm.choose_split(pmap, loads, SplitThresholds(size_bytes=1000), 2)
    assert (choice.range_start, choice.at) == (0, 1)


def test_the_range_most_over_its_threshold_is_split_first():
    pmap = pm.split(pm.initial(4, 0), 0, 2, 1)
    loads = {0: ShardLoad(600), 1: ShardLoad(600), 2: ShardLoad(2000), 3: ShardLoad(2000)}
    choice = pm.choose_split(pmap, loads, SplitThresholds(size_bytes=1000), 3)
    assert (choice.range_start, choice.at, choice.new_host) == (2, 3, 2)
    assert pm.choose_split(pmap, loads, SplitThresholds(size_bytes=1000), 2) is None, "no host is free"


# --- properties ------------------------------------------------------------------------------------

operations = st.lists(st.tuples(st.sampled_from(["split", "move", "merge"]), st.integers(0, 63),
                                st.integers(0, 63), st.integers(0, 4)), max_size=40)


@settings(max_examples=300, deadline=None)
@given(shards=st.integers(1, 16), host=st.integers(0, 4), ops=operations)
def test_every_shard_is_owned_exactly_once_after_any_sequence_of_changes(shards, host, ops):
    pmap = pm.initial(shards, host)
    for op, a, b, new_host in ops:
        r = pmap.ranges[a % len(pmap.ranges)]
        before = owners(pmap)
        try:
            if op == "split":
                changed = pm.split(pmap, r.start, r.start + b % max(r.size, 1), new_host)
            elif op == "move":
                changed = pm.move(pmap, r.start, new_host)
            else:
                changed = pm.merge(pmap, r.start)
        except ValueError:
            assert owners(pmap) == before
            continue
        after = owners(changed)
        assert changed.version == pmap.version + 1
        moved = [s for s in range(shards) if after[s] != before[s]]
        if op == "move":
            assert all(after[s] == new_host for s in range(r.start, r.end))
        if op != "move":
            assert all(s in r for s in moved) or op == "merge"
        if op == "merge":
            assert moved == []
        assert pm.from_wire(pm.to_wire(changed)) == changed
        pmap = changed


@settings(max_examples=200, deadline=None)
@given(shards=st.integers(1, 12), hosts=st.integers(1, 4),
       sizes=st.lists(st.integers(0, 5000), min_size=12, max_size=12),
       rates=st.lists(st.floats(0, 500), min_size=12, max_size=12))
def test_the_splitter_converges_and_keeps_every_shard_owned_once(shards, hosts, sizes, rates):
    limits = SplitThresholds(size_bytes=2000, writes_per_second=100.0)
    loads = {s: ShardLoad(sizes[s], rates[s]) for s in range(shards)}
    pmap = pm.initial(shards, 0)
    for _ in range(shards):
        choice = pm.choose_split(pmap, loads, limits, hosts)
        if choice is None:
            break
        assert 0 <= choice.new_host < hosts
        pmap = pm.apply(pmap, choice)
        owners(pmap)
        assert pm.one_range_per_host(pmap), "never a split the mover refuses (a host with two ranges)"
    assert pm.choose_split(pmap, loads, limits, hosts) is None, "at most S-1 splits are ever needed"


def test_coalesced_joins_neighbours_on_one_host_and_keeps_the_version():
    from dynamoray.core.partition_map import PartitionMap, Range, coalesced, one_range_per_host

    pmap = PartitionMap(6, (Range(0, 2, 0), Range(2, 3, 1), Range(3, 5, 1), Range(5, 6, 0)), 7)
    joined = coalesced(pmap)
    assert joined == PartitionMap(6, (Range(0, 2, 0), Range(2, 5, 1), Range(5, 6, 0)), 7)
    assert not one_range_per_host(joined)  # host 0 holds [0, 2) and [5, 6)
    assert one_range_per_host(coalesced(PartitionMap(4, (Range(0, 2, 1), Range(2, 4, 1)), 1)))
    assert coalesced(pmap) is not pmap and pmap.ranges[1] == Range(2, 3, 1)  # the input is unchanged
