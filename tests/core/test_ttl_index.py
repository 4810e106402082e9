"""The TTL expiry index (core/ttl_index.py) against a brute-force scan (hypothesis), and the pages
a sweep reads from it (partition.scan with ``ScanSpec.expiry``)."""

from __future__ import annotations

from hypothesis import given, settings, strategies as st

from dynamoray.core import partition, snapshot, ttl, ttl_index
from dynamoray.core.commands import INSERT, MODIFY, REMOVE, ItemChange, ScanSpec
from dynamoray.core.keys import KeySchema

SCHEMA = KeySchema("p", "S", "s", "N")
NOW = 1_800_000_000
ATTRS = ("exp", "other")

# a TTL value: expired, expiring now, in the future, too old, or not a number at all
ttl_values = st.one_of(
    st.integers(NOW - ttl.MAX_AGE_SECONDS - 5, NOW + 5).map(lambda n: {"N": str(n)}),
    st.sampled_from([{"N": str(NOW - 1)}, {"N": str(NOW)}, {"N": f"{NOW - 1}.5"},
                     {"N": str(NOW - ttl.MAX_AGE_SECONDS)}, {"N": str(NOW - ttl.MAX_AGE_SECONDS - 1)},
                     {"S": str(NOW - 10)}, {"NS": [str(NOW - 10)]}, {"M": {"x": {"N": "1"}}}]))
keys_ = st.tuples(st.sampled_from("abcd"), st.integers(0, 3))
# (key, {attribute: value or None (absent)}), or (key, None): a delete
operations = st.lists(st.one_of(
    st.tuples(keys_, st.fixed_dictionaries({a: st.one_of(st.none(), ttl_values) for a in ATTRS})),
    st.tuples(keys_, st.none()),
    st.tuples(st.just("rebuild"), st.none()),  # a snapshot round trip
    st.tuples(st.just("retarget"), st.sampled_from(ATTRS)),  # the TTL attribute changes
), max_size=40)


def _change(state, key, attrs):
    p, s = key
    item_key = {"p": {"S": p}, "s": {"N": str(s)}}
    old = state.lookup(item_key)
    if attrs is None:
        return ItemChange(REMOVE, item_key, old, None) if old is not None else None
    new = {**item_key, **{a: v for a, v in attrs.items() if v is not None}}
    return ItemChange(MODIFY if old is not None else INSERT, item_key, old, new)


def _rebuilt(state):
    header = snapshot.SnapshotHeader("t", 0, state.applied_offset, state.applied_offset + 1, 0, SCHEMA, 0, None)
    return snapshot.decode(snapshot.encode_bytes(header, snapshot.capture(state)), SCHEMA, "t").state


def _brute_force(state, attribute, now):
    return sorted((item["p"]["S"], item["s"]["N"]) for collection in state.collections.values()
                  for item in collection.values() if ttl.is_expired(item, attribute, now))


def _swept(state, attribute, now, limit):
    """The keys of every page a sweep reads (without deleting), and the items it visited."""
    found, start, visited = [], None, 0
    while True:
        page = partition.scan(state, ScanSpec(limit=limit, exclusive_start=start, expiry=(attribute, now)))
        found += [(i["p"]["S"], i["s"]["N"]) for i in page.items]
        visited += page.scanned_count
        start = page.last_evaluated_key
        if start is None:
            return sorted(found), visited


@settings(max_examples=300, deadline=None)
@given(operations, st.integers(1, 5), st.integers(-3, 3))
def test_the_index_always_answers_what_a_brute_force_scan_does(ops, limit, shift):
    state, attribute, offset = partition.PartitionState(SCHEMA), "exp", 0
    assert _swept(state, attribute, NOW, limit) == ([], 0)  # made on first use, empty
    for first, second in ops:
        if first == "rebuild":
            state = _rebuilt(state)  # no index: the next sweep makes it from the items
        elif first == "retarget":
            attribute = second
        else:
            change = _change(state, first, second)
            if change is not None:
                partition.evolve(state, change, offset)
                offset += 1
        if state.expiry is not None and state.expiry.attribute == attribute:
            # the folded index holds exactly the items with a numeric TTL
            assert len(state.expiry) == len(state.expiry.expiries) == sum(
                ttl.expiry_time(item, attribute) is not None
                for c in state.collections.values() for item in c.values())
        now = NOW + shift
        expected = _brute_force(state, attribute, now)
        found, visited = _swept(state, attribute, now, limit)
        assert found == expected
        assert visited == len(expected)  # only expired items are visited


def test_pages_resume_after_their_last_item_even_once_it_is_deleted():
    state = partition.PartitionState(SCHEMA)
    for i in range(6):
        key = {"p": {"S": f"k{i}"}, "s": {"N": "0"}}
        partition.evolve(state, ItemChange(INSERT, key, None, {**key, "exp": {"N": str(NOW - 10 + i)}}))
    first = partition.scan(state, ScanSpec(limit=2, expiry=("exp", NOW)))
    assert [i["p"]["S"] for i in first.items] == ["k0", "k1"]  # expiry order
    assert first.last_evaluated_key == {"p": {"S": "k1"}, "s": {"N": "0"}, "exp": {"N": str(NOW - 9)}}
    assert first.bytes_read == 0
    for item in first.items:  # the sweeper deletes them before it asks for the next page
        partition.evolve(state, ItemChange(REMOVE, ttl_index_key(item), item, None))
    second = partition.scan(state, ScanSpec(limit=2, exclusive_start=first.last_evaluated_key, expiry=("exp", NOW)))
    assert [i["p"]["S"] for i in second.items] == ["k2", "k3"]
    assert len(state.expiry) == 4


def ttl_index_key(item):
    return {"p": item["p"], "s": item["s"]}


def test_a_table_keyed_on_its_ttl_attribute_and_the_filter_and_projection_apply():
    schema = KeySchema("exp", "N")
    state = partition.PartitionState(schema)
    for n in (NOW - 3, NOW - 2, NOW + 1):
        key = {"exp": {"N": str(n)}}
        partition.evolve(state, ItemChange(INSERT, key, None, {**key, "x": {"S": "y"}}))
    spec = ScanSpec(limit=1, expiry=("exp", NOW), filter=ttl.expiry_filter("exp", NOW))
    page = partition.scan(state, spec)
    assert page.items[0]["exp"] == {"N": str(NOW - 3)} and page.last_evaluated_key == {"exp": {"N": str(NOW - 3)}}
    rest = partition.scan(state, ScanSpec(exclusive_start=page.last_evaluated_key, expiry=("exp", NOW)))
    assert [i["exp"]["N"] for i in rest.items] == [str(NOW - 2)] and rest.last_evaluated_key is None
    assert isinstance(state.expiry, ttl_index.ExpiryIndex) and len(state.expiry) == 3


def test_a_release_scan_drops_the_index_and_reads_nothing():
    state = partition.PartitionState(SCHEMA)
    for s in range(3):
        key = {"p": {"S": "a"}, "s": {"N": str(s)}}
        partition.evolve(state, ItemChange(INSERT, key, None, {**key, "exp": {"N": str(NOW - 1)}}))
    found = partition.scan(state, ScanSpec(expiry=("exp", NOW)))
    assert found.count == 3 and len(state.expiry) == 3
    released = partition.scan(state, ttl_index.release_spec("exp"))
    assert (released.items, released.scanned_count, released.last_evaluated_key) == ([], 0, None)
    assert state.expiry is None
    key = {"p": {"S": "b"}, "s": {"N": "0"}}
    partition.evolve(state, ItemChange(INSERT, key, None, {**key, "exp": {"N": str(NOW - 1)}}))
    assert state.expiry is None  # no index kept up by the fold any more
    assert partition.scan(state, ScanSpec(expiry=("exp", NOW))).count == 4  # made again when asked
