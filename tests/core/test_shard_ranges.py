"""A Scan page over ranges of a table's shards (step 2: the shards spread over several hosts):
chaining ``shards.scan`` over the ranges with ``range_part``/``joined`` gives exactly the pages of
one group holding every shard."""

from __future__ import annotations

from hypothesis import given, settings, strategies as st

from dynamoray.core import partition_map as pm, shards
from dynamoray.core.commands import ScanSpec

from .test_shards import SCHEMA, item, states_with


def fan_out(states, pmap: pm.PartitionMap, spec: ScanSpec):
    """The engine's fan-out, without hosts: each range scanned on its own slice of the states."""
    start = spec.exclusive_start
    first = 0 if start is None else shards.shard_of(SCHEMA, start, pmap.shards)
    begin = pmap.ranges.index(pm.range_of(pmap, first))
    pages = []
    for i, r in enumerate(pmap.ranges[begin:]):
        part, budget = shards.range_part(spec, pages, first=i == 0)
        pages.append(shards.scan(states[r.start:r.end], part, offset=r.start, total=pmap.shards, budget=budget))
        if pages[-1].last_evaluated_key is not None:
            break
    return shards.joined(pages)


def pages_of(scan, spec: ScanSpec) -> list:
    out = []
    while True:
        page = scan(spec)
        out.append(([shards.shard_of(SCHEMA, i, 8) for i in page.items], page.items, page.count,
                    page.scanned_count, page.bytes_read, page.last_evaluated_key))
        assert len(out) < 400
        if page.last_evaluated_key is None:
            return out
        spec = ScanSpec(spec.limit, page.last_evaluated_key, segment=spec.segment,
                        total_segments=spec.total_segments)


@settings(max_examples=60, deadline=None)
@given(cuts=st.sets(st.integers(1, 7), max_size=7), limit=st.one_of(st.none(), st.integers(1, 30)),
       count=st.integers(0, 120), big=st.booleans(), segments=st.sampled_from([(0, 1), (1, 3)]))
def test_pages_over_ranges_are_the_pages_of_one_group(cuts, limit, count, big, segments):
    states = states_with([item(f"k{i}", i, 30_000 if big and i % 3 == 0 else 0) for i in range(count)], 8)
    pmap = pm.initial(8, 0)
    for host, at in enumerate(sorted(cuts), start=1):
        pmap = pm.split(pmap, pmap.ranges[-1].start, at, host % 3)
    spec = ScanSpec(limit, None, segment=segments[0], total_segments=segments[1])
    whole = pages_of(lambda s: shards.scan(states, s), spec)
    spread = pages_of(lambda s: fan_out(states, pmap, s), spec)
    assert spread == whole
    assert sum(len(p[1]) for p in whole) == (count if segments == (0, 1) else sum(len(p[1]) for p in spread))


def test_a_range_refuses_a_start_key_of_another_range():
    states = states_with([item(f"k{i}", i) for i in range(40)], 8)
    start = next(i for i in (item(f"k{j}", j) for j in range(40)) if shards.shard_of(SCHEMA, i, 8) == 1)
    try:
        shards.scan(states[4:8], ScanSpec(None, start), offset=4, total=8)
    except ValueError as error:
        assert "shard 1 is not in shards 4..7" in str(error)
    else:
        raise AssertionError("a range scanned from another range's key")
