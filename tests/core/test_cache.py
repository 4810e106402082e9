"""The accelerator's caches (core/cache.py): LRU under a byte bound, TTL, negative entries, log changes."""

from __future__ import annotations

from hypothesis import given, settings, strategies as st

from dynamoray.core.cache import (ENTRY_OVERHEAD, MISSING, CacheSettings, DaxCache, LruCache, item_bytes,
                                  key_token)


def key(p: str) -> dict:
    return {"p": {"S": p}}


def item(p: str, v: str = "x") -> dict:
    return {"p": {"S": p}, "v": {"S": v}}


def followed(**settings) -> DaxCache:
    cache = DaxCache(CacheSettings(settle=0.0, **settings))
    cache.follow("t", 0.0)
    return cache


# --- LruCache -------------------------------------------------------------------------------------


def test_lru_evicts_the_least_recently_used_to_stay_under_the_bound():
    lru = LruCache(max_bytes=300, ttl=10)
    for k in "abc":
        lru.put(k, k.upper(), 100, now=0)
    assert lru.get("a", 1) == "A"  # a is now the most recently used
    lru.put("d", "D", 100, now=1)
    assert lru.get("b", 1) is MISSING
    assert [lru.get(k, 1) for k in "acd"] == ["A", "C", "D"]
    assert lru.bytes == 300 and lru.stats.evictions == 1


def test_lru_expires_entries_after_their_ttl():
    lru = LruCache(max_bytes=1000, ttl=5)
    lru.put("a", None, 10, now=100)
    assert lru.get("a", 104.9) is None  # a cached None is a hit
    assert lru.get("a", 105) is MISSING
    assert lru.stats.expirations == 1 and lru.stats.hits == 1 and lru.stats.misses == 1
    assert len(lru) == 0 and lru.bytes == 0


def test_an_entry_bigger_than_the_bound_is_not_kept_and_replaces_nothing_else():
    lru = LruCache(max_bytes=100, ttl=5)
    lru.put("a", 1, 60, now=0)
    assert lru.put("big", 2, 101, now=0) is False
    assert lru.get("a", 0) == 1 and lru.get("big", 0) is MISSING


def test_a_zero_ttl_turns_the_cache_off():
    lru = LruCache(max_bytes=100, ttl=0)
    assert lru.put("a", 1, 10, now=0) is False
    assert lru.get("a", 0) is MISSING


def test_drop_group_drops_only_that_group():
    lru = LruCache(max_bytes=1000, ttl=5)
    lru.put(("t", 1), 1, 10, 0, group="t")
    lru.put(("t", 2), 2, 10, 0, group="t")
    lru.put(("u", 1), 3, 10, 0, group="u")
    assert lru.drop_group("t") == 2
    assert lru.get(("u", 1), 0) == 3 and len(lru) == 1 and lru.bytes == 10


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["put", "get", "pop", "tick"]), st.integers(0, 7),
                          st.integers(1, 120)), max_size=80))
def test_lru_never_exceeds_its_bound_and_agrees_with_a_dict_model(steps):
    """The byte bound always holds, and whatever the cache returns is what the model holds (the
    cache may have dropped an entry, never changed one); an entry never outlives its TTL."""
    lru = LruCache(max_bytes=300, ttl=10)
    model: dict[int, tuple[int, float]] = {}  # key -> (value, expires)
    now = 0.0
    for n, (op, k, size) in enumerate(steps):
        if op == "put":
            lru.put(k, n, size, now)
            model[k] = (n, now + 10)
        elif op == "pop":
            lru.pop(k)
            model.pop(k, None)
        elif op == "tick":
            now += size / 10
        else:
            found = lru.get(k, now)
            if found is not MISSING:
                assert k in model and model[k][0] == found and now < model[k][1]
        assert lru.bytes <= lru.max_bytes
        assert lru.bytes == sum(e.size for e in lru._entries.values())


# --- DaxCache: items ------------------------------------------------------------------------------


def test_items_and_absences_are_cached_by_table_and_key():
    cache = followed()
    ticket = cache.begin()
    assert cache.get_item("t", key("a"), 0) is MISSING
    assert cache.fill_item("t", key("a"), item("a"), ticket, 0)
    assert cache.fill_item("t", key("b"), None, ticket, 0)  # negative caching, as DAX
    assert cache.get_item("t", key("a"), 1) == item("a")
    assert cache.get_item("t", key("b"), 1) is None
    assert cache.get_item("u", key("a"), 1) is MISSING


def test_key_tokens_ignore_attribute_order():
    assert key_token({"p": {"S": "a"}, "c": {"N": "1"}}) == key_token({"c": {"N": "1"}, "p": {"S": "a"}})
    assert key_token({"p": {"S": "1"}}) != key_token({"p": {"N": "1"}})


def test_a_change_from_the_log_replaces_a_cached_item():
    cache = followed()
    cache.fill_item("t", key("a"), item("a", "old"), cache.begin(), 0)
    cache.apply_change("t", key("a"), item("a", "new"), 1)
    assert cache.get_item("t", key("a"), 2) == item("a", "new")
    cache.apply_change("t", key("a"), None, 3)  # deleted: a cached absence
    assert cache.get_item("t", key("a"), 4) is None


def test_a_change_of_an_uncached_key_caches_nothing():
    cache = followed()
    cache.apply_change("t", key("a"), item("a"), 1)
    assert cache.get_item("t", key("a"), 2) is MISSING


def test_a_fill_is_refused_when_the_key_changed_during_the_read():
    cache = followed()
    ticket = cache.begin()
    cache.apply_change("t", key("a"), item("a", "new"), 1)  # lands while the read is out
    assert not cache.fill_item("t", key("a"), item("a", "old"), ticket, 2)
    assert cache.get_item("t", key("a"), 2) is MISSING
    assert cache.items.stats.refused == 1
    assert cache.fill_item("t", key("b"), item("b"), ticket, 2)  # another key: fine


def test_a_fill_is_refused_within_settle_of_a_change_of_the_key():
    cache = DaxCache(CacheSettings(settle=1.0))
    cache.follow("t", -10)
    cache.apply_change("t", key("a"), item("a"), 100)
    assert not cache.fill_item("t", key("a"), item("a"), cache.begin(), 100.5)
    assert cache.fill_item("t", key("a"), item("a"), cache.begin(), 101.5)


def test_no_fill_before_the_table_is_followed_nor_from_a_read_begun_before():
    cache = DaxCache(CacheSettings(settle=0.0))
    early = cache.begin()
    assert not cache.fill_item("t", key("a"), item("a"), early, 0)
    cache.follow("t", 0)
    assert not cache.fill_item("t", key("a"), item("a"), early, 0)
    assert cache.fill_item("t", key("a"), item("a"), cache.begin(), 0)


def test_unfollow_drops_the_table():
    cache = followed()
    ticket = cache.begin()
    cache.fill_item("t", key("a"), item("a"), ticket, 0)
    cache.fill_page("t", "q", "page", [item("a")], ticket, 0)
    cache.unfollow("t")
    assert cache.get_item("t", key("a"), 0) is MISSING and cache.get_page("t", "q", 0) is MISSING
    assert cache.items.bytes == 0 and cache.queries.bytes == 0


def test_write_through_caches_the_new_image_unless_the_log_brought_a_newer_change():
    cache = followed()
    ticket = cache.begin()
    assert cache.write_through("t", key("a"), item("a", "mine"), ticket, 1)
    assert cache.get_item("t", key("a"), 1) == item("a", "mine")
    ticket = cache.begin()
    cache.apply_change("t", key("a"), item("a", "theirs"), 2)  # after my write began
    assert not cache.write_through("t", key("a"), item("a", "mine2"), ticket, 3)
    # which of the two is newer is unknown: neither stays cached, the next read asks the table
    assert cache.get_item("t", key("a"), 3) is MISSING


def test_log_changes_from_before_an_own_write_do_not_replace_it():
    """The feed lags: the changes of my earlier writes arrive after my newest one was written through."""
    cache = followed()
    for n, v in enumerate(("1", "2")):
        assert cache.write_through("t", key("a"), item("a", v), cache.begin(), n)
    assert cache.write_through("t", key("a"), None, cache.begin(), 2)  # deleted
    cache.apply_change("t", key("a"), item("a", "1"), 3)  # the log catches up, late
    cache.apply_change("t", key("a"), item("a", "2"), 3)
    assert cache.get_item("t", key("a"), 3) is None  # still my delete
    cache.apply_change("t", key("a"), None, 3)  # the delete itself: the log has caught up
    cache.apply_change("t", key("a"), item("a", "theirs"), 4)  # a later write by someone else
    assert cache.get_item("t", key("a"), 4) == item("a", "theirs")


def test_an_own_write_whose_change_never_comes_stops_holding_back_the_log():
    cache = followed()
    assert cache.write_through("t", key("a"), item("a", "mine"), cache.begin(), 0)
    cache.apply_change("t", key("a"), item("a", "other"), 1)
    assert cache.get_item("t", key("a"), 1) == item("a", "mine")
    cache.apply_change("t", key("a"), item("a", "later"), 10)  # OWN_WRITE_WAIT has passed
    assert cache.get_item("t", key("a"), 10) == item("a", "later")


def test_item_entries_count_their_size():
    cache = followed()
    cache.fill_item("t", key("a"), item("a"), cache.begin(), 0)
    assert cache.items.bytes == item_bytes(key("a"), item("a")) > ENTRY_OVERHEAD


# --- DaxCache: query pages ------------------------------------------------------------------------


def test_pages_live_until_their_ttl_whatever_the_changes_as_on_dax():
    cache = DaxCache(CacheSettings(settle=0.0, query_ttl=60))
    cache.follow("t", 0)
    cache.fill_page("t", "query:x", "page", [item("a")], cache.begin(), 0)
    cache.apply_change("t", key("a"), item("a", "new"), 1)
    assert cache.get_page("t", "query:x", 59) == "page"
    assert cache.get_page("t", "query:x", 60) is MISSING


def test_with_invalidate_queries_a_change_drops_the_tables_pages():
    cache = DaxCache(CacheSettings(settle=0.0, invalidate_queries=True))
    cache.follow("t", 0)
    cache.follow("u", 0)
    ticket = cache.begin()
    cache.fill_page("t", "q", "page", [], ticket, 0)
    cache.fill_page("u", "q", "other", [], ticket, 0)
    cache.fill_item("t", key("b"), item("b"), ticket, 0)
    cache.apply_change("t", key("a"), item("a"), 1)
    assert cache.get_page("t", "q", 1) is MISSING
    assert cache.get_page("u", "q", 1) == "other"
    assert not cache.fill_page("t", "q", "stale", [], ticket, 1)  # read began before the change
    assert cache.fill_item("t", key("c"), item("c"), cache.begin(), 1)  # items of the table: unaffected


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["read", "change", "write", "tick"]), st.sampled_from("abcd"),
                          st.integers(0, 3)), max_size=60))
def test_the_item_cache_never_returns_a_value_older_than_the_log(steps):
    """Against a model table: reads fill from the table as it was when they began, changes come
    from the log, writes are written through; whatever the cache returns is the item's value in
    the table now (all changes are applied: the feed has no lag in this model), or it misses."""
    cache = DaxCache(CacheSettings(settle=0.0, item_bytes=2000, item_ttl=50))
    cache.follow("t", 0)
    table: dict[str, dict | None] = {}
    now = 0.0
    pending: list[tuple] = []  # reads in flight: (key, value read, ticket)
    for op, k, v in steps:
        if op == "tick":
            now += 10
        elif op == "read":
            found = cache.get_item("t", key(k), now)
            if found is not MISSING:
                assert found == table.get(k)
            pending.append((k, table.get(k), cache.begin()))
            if v % 2 == 0:  # some reads finish later, after other steps
                for pk, value, ticket in pending:
                    cache.fill_item("t", key(pk), value, ticket, now)
                pending.clear()
        else:
            new = None if v == 0 else item(k, str(v))
            ticket = cache.begin()
            table[k] = new
            if op == "write" and k in "ab":  # the write's answer comes before the feed brings it
                cache.write_through("t", key(k), new, ticket, now)
            cache.apply_change("t", key(k), new, now)
            if op == "write" and k in "cd":  # ... or after
                cache.write_through("t", key(k), new, ticket, now)
        assert cache.items.bytes <= 2000
