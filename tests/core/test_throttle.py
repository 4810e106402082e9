"""core/throttle.py: the token buckets behind throttling, with a fake clock (plain floats)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings, strategies as st

from dynamoray.core import errors, throttle
from dynamoray.core.throttle import READ, WRITE, ThrottleConfig

ARN = "arn:aws:dynamodb:us-east-1:000000000000:table/songs"


def description(mode="PROVISIONED", read=10, write=5, gsis=(), on_demand=None, shards=None):
    out = {"TableName": "songs", "TableArn": ARN,
           "ProvisionedThroughput": {"ReadCapacityUnits": read, "WriteCapacityUnits": write}}
    if mode == "PAY_PER_REQUEST":
        out["BillingModeSummary"] = {"BillingMode": "PAY_PER_REQUEST"}
        out["ProvisionedThroughput"] = {"ReadCapacityUnits": 0, "WriteCapacityUnits": 0}
    if on_demand is not None:
        out["OnDemandThroughput"] = on_demand
    if gsis:
        out["GlobalSecondaryIndexes"] = [
            {"IndexName": name, "IndexStatus": "ACTIVE",
             "ProvisionedThroughput": {"ReadCapacityUnits": r, "WriteCapacityUnits": w}} for name, r, w in gsis]
    return out


def opened(desc, shards=1, config=ThrottleConfig(), now=0.0):
    return throttle.open_table(throttle.limits_of(desc, shards), config, now)


def drain(state, kind, shard, units, now, config=ThrottleConfig()):
    """Admit-and-charge ``units``-sized requests at ``now`` until one is refused: (admitted, state, refusal)."""
    admitted = 0
    while True:
        refused = throttle.admit(state, kind, shard, now, config)
        if refused is not None:
            return admitted, state, refused
        state = throttle.charge(state, kind, {shard: 1.0} if shard is not None else None, units, now)
        admitted += 1


# --- buckets ------------------------------------------------------------------------------------


def test_a_bucket_refills_at_its_rate_up_to_its_capacity():
    bucket = throttle.full_bucket(2.0, 300, now=0.0)
    assert bucket.capacity == 600 and throttle.level(bucket, 0.0) == 600
    spent = throttle.take(bucket, 700, now=0.0)
    assert throttle.level(spent, 0.0) == -100  # a debt: the request was bigger than what was left
    assert throttle.level(spent, 10.0) == -80
    assert throttle.level(spent, 1000.0) == 600  # never more than 300 s of the rate


def test_resizing_keeps_what_the_bucket_holds_up_to_the_new_capacity():
    bucket = throttle.take(throttle.full_bucket(10.0, 300, 0.0), 2900, 0.0)  # holds 100
    assert throttle.level(throttle.resized(bucket, 1.0, 300, 0.0), 0.0) == 100
    assert throttle.level(throttle.resized(bucket, 0.1, 300, 0.0), 0.0) == 30


# --- provisioned: rate and 300 s of burst ----------------------------------------------------


def test_a_fresh_provisioned_table_lets_300_seconds_of_burst_through_then_throttles():
    state = opened(description(write=5))
    admitted, state, refused = drain(state, WRITE, 0, 1.0, now=0.0)
    assert admitted == 1500  # 5 WCU x 300 s of burst credit
    assert refused == throttle.Throttle("TableWriteProvisionedThroughputExceeded", True)


def test_once_the_burst_is_spent_the_table_runs_at_its_provisioned_rate():
    state = opened(description(read=4))
    _, state, _ = drain(state, READ, 0, 1.0, now=0.0)
    per_second = []
    for second in range(1, 6):
        admitted, state, _ = drain(state, READ, 0, 1.0, now=float(second))
        per_second.append(admitted)
    assert per_second == [4, 4, 4, 4, 4]


def test_unused_capacity_accumulates_as_burst_again():
    state = opened(description(write=2))
    _, state, _ = drain(state, WRITE, 0, 1.0, now=0.0)
    admitted, _, _ = drain(state, WRITE, 0, 1.0, now=100.0)
    assert admitted == 200  # 100 idle seconds at 2 WCU
    admitted, _, _ = drain(state, WRITE, 0, 1.0, now=10_000.0)
    assert admitted == 600  # capped at 300 s


def test_reads_and_writes_have_separate_buckets():
    state = opened(description(read=1, write=1))
    _, state, _ = drain(state, WRITE, 0, 1.0, now=0.0)
    assert throttle.admit(state, WRITE, 0, 0.0, ThrottleConfig()) is not None
    assert throttle.admit(state, READ, 0, 0.0, ThrottleConfig()) is None


def test_a_large_request_is_admitted_on_any_credit_and_leaves_a_debt():
    state = opened(description(write=1))
    state = throttle.charge(state, WRITE, {0: 1.0}, 299.5, 0.0)
    assert throttle.admit(state, WRITE, 0, 0.0, ThrottleConfig()) is None  # 0.5 left
    state = throttle.charge(state, WRITE, {0: 1.0}, 400, 0.0)  # a 400 KB write
    assert throttle.admit(state, WRITE, 0, 399.0, ThrottleConfig()) is not None
    assert throttle.admit(state, WRITE, 0, 400.0, ThrottleConfig()) is None
    assert throttle.retry_after(state, WRITE, 0.0) == pytest.approx(399.5)


# --- partitions: adaptive capacity and the per-partition ceilings -------------------------------


def test_adaptive_capacity_lets_a_hot_shard_borrow_what_the_others_leave():
    desc = description(write=8)
    adaptive = opened(desc, shards=4)
    hot, _, refused = drain(adaptive, WRITE, 2, 1.0, now=0.0)
    assert hot == 8 * 300  # the whole table's burst, through one shard
    assert refused.reason == "TableWriteProvisionedThroughputExceeded"
    config = ThrottleConfig(adaptive=False)
    strict = opened(desc, shards=4, config=config)
    alone, strict, refused = drain(strict, WRITE, 2, 1.0, now=0.0, config=config)
    assert alone == 2 * 300  # only its quarter share
    assert refused.reason == "TableWriteKeyRangeThroughputExceeded"
    assert throttle.admit(strict, WRITE, 1, 0.0, config) is None  # the other shards still have theirs


def test_a_shard_never_exceeds_the_partition_ceiling_even_with_table_capacity_left():
    config = ThrottleConfig(ceiling_seconds=1.0)
    state = opened(description(write=100_000), shards=2, config=config)
    admitted, state, refused = drain(state, WRITE, 0, 1.0, now=0.0, config=config)
    assert admitted == 1000 and refused.reason == "TableWriteKeyRangeThroughputExceeded"
    assert throttle.admit(state, WRITE, 1, 0.0, config) is None  # the other shard is not hot
    reads = opened(description(read=100_000), config=config)
    assert drain(reads, READ, 0, 1.0, now=0.0, config=config)[0] == 3000


# --- on demand ----------------------------------------------------------------------------------


def test_on_demand_tables_are_only_throttled_at_their_maximum_and_the_ceilings():
    unlimited = opened(description("PAY_PER_REQUEST"))
    assert not any(key[0] == throttle.TABLE for key in unlimited.buckets)
    admitted, _, refused = drain(unlimited, WRITE, 0, 10.0, now=0.0)
    assert admitted == 1000 and refused == throttle.Throttle("TableWriteKeyRangeThroughputExceeded", False)
    capped = opened(description("PAY_PER_REQUEST", on_demand={"MaxReadRequestUnits": 5, "MaxWriteRequestUnits": -1}))
    admitted, capped, refused = drain(capped, READ, 0, 1.0, now=0.0)
    assert admitted == 5 and refused == throttle.Throttle("TableReadMaxOnDemandThroughputExceeded", False)
    assert drain(capped, READ, 0, 1.0, now=1.0)[0] == 5


def test_throttle_errors_have_dynamodbs_types_messages_and_reasons():
    provisioned = throttle.Throttle("TableWriteProvisionedThroughputExceeded", True).error(ARN)
    assert provisioned.error_type == "ProvisionedThroughputExceededException"
    assert provisioned.message == ("The level of configured provisioned throughput for the table was exceeded. "
                                   "Consider increasing your provisioning level with the UpdateTable API.")
    assert provisioned.wire_body()["ThrottlingReasons"] == [
        {"reason": "TableWriteProvisionedThroughputExceeded", "resource": ARN}]
    hot = throttle.Throttle("TableReadKeyRangeThroughputExceeded", False).error(ARN)
    assert hot.error_type == "ThrottlingException" and hot.message == errors.ON_DEMAND_HOT_KEY
    assert hot.wire_body()["throttlingReasons"] == [{"reason": "TableReadKeyRangeThroughputExceeded", "resource": ARN}]
    capped = throttle.Throttle("IndexReadMaxOnDemandThroughputExceeded", False, "by_year").error(ARN)
    assert capped.message == "Throughput exceeds the maximum OnDemandThroughput configured on table or index"
    assert capped.wire_body()["throttlingReasons"][0]["resource"] == ARN + "/index/by_year"
    gsi = throttle.Throttle("IndexWriteProvisionedThroughputExceeded", True, "by_year").error(ARN)
    assert gsi.message.startswith("The level of configured provisioned throughput for one or more global "
                                  "secondary indexes of the table was exceeded.")


# --- global secondary indexes -------------------------------------------------------------------


def test_a_gsi_has_its_own_capacity_for_reads_and_throttles_table_writes_when_spent():
    state = opened(description(read=100, write=100, gsis=[("by_year", 1, 1)]))
    config = ThrottleConfig()
    assert throttle.admit(state, READ, None, 0.0, config, index="by_year") is None
    state = throttle.charge(state, READ, None, 0.0, 0.0, {"by_year": 300.0})
    assert throttle.admit(state, READ, None, 0.0, config, index="by_year") == throttle.Throttle(
        "IndexReadProvisionedThroughputExceeded", True, "by_year")
    assert throttle.admit(state, READ, 0, 0.0, config) is None  # the table's own reads are not affected
    state = throttle.charge(state, WRITE, {0: 1.0}, 1.0, 0.0, {"by_year": 300.0})
    assert throttle.admit(state, WRITE, 0, 0.0, config) == throttle.Throttle(
        "IndexWriteProvisionedThroughputExceeded", True, "by_year")


def test_new_limits_keep_the_spent_credit_and_fill_new_buckets():
    state = opened(description(write=1))
    _, state, _ = drain(state, WRITE, 0, 1.0, now=0.0)
    raised = throttle.retarget(state, throttle.limits_of(description(write=100, gsis=[("g", 5, 5)])),
                               ThrottleConfig(), 0.0)
    assert throttle.admit(raised, WRITE, 0, 0.0, ThrottleConfig()) is not None  # still spent
    assert throttle.admit(raised, WRITE, 0, 0.01, ThrottleConfig()) is None  # refills at the new rate
    assert throttle.level(raised.buckets[(throttle.INDEX, "g", READ)], 0.0) == 1500


def test_limits_come_from_the_description():
    limits = throttle.limits_of(description(read=3, write=4, gsis=[("g", 1, 2)]), shards=4)
    assert limits.throughput == throttle.Throughput(True, 3.0, 4.0)
    assert limits.shards == 4 and limits.index("g") == throttle.Throughput(True, 1.0, 2.0)
    on_demand = throttle.limits_of(description("PAY_PER_REQUEST", on_demand={"MaxReadRequestUnits": -1,
                                                                              "MaxWriteRequestUnits": 7}))
    assert on_demand.throughput == throttle.Throughput(False, None, 7.0)
    assert list(throttle.provisioned_rates(limits)) == [(None, READ, 3.0), (None, WRITE, 4.0), ("g", READ, 1.0),
                                                        ("g", WRITE, 2.0)]


# --- the bound, for any request sequence -------------------------------------------------------------

requests = st.lists(st.tuples(st.floats(0, 5, allow_nan=False), st.floats(0.5, 50, allow_nan=False),
                              st.integers(0, 3)), min_size=1, max_size=200)


@settings(max_examples=200, deadline=None)
@given(requests, st.integers(1, 50), st.booleans())
def test_admitted_units_never_exceed_rate_times_time_plus_burst(sequence, rate, adaptive):
    """Over any sequence of (pause, units, shard), what a provisioned table admits is at most its
    rate times the time elapsed, plus its 300 s of burst, plus the one request that took it below
    zero; and each shard stays under its partition ceiling the same way."""
    config = ThrottleConfig(adaptive=adaptive, ceiling_seconds=1.0)
    state = opened(description(write=rate), shards=4, config=config)
    now, total, per_shard, largest = 0.0, 0.0, [0.0] * 4, 0.0
    for pause, units, shard in sequence:
        now += pause
        if throttle.admit(state, WRITE, shard, now, config) is None:
            state = throttle.charge(state, WRITE, {shard: 1.0}, units, now)
            total += units
            per_shard[shard] += units
            largest = max(largest, units)
    assert total <= rate * now + rate * 300 + largest + 1e-6
    for used in per_shard:
        assert used <= 1000 * now + 1000 * 1.0 + largest + 1e-6
        if not adaptive:
            assert used <= rate / 4 * (now + 300) + largest + 1e-6


# --- switching to on demand ---------------------------------------------------------------------------


def test_switching_to_on_demand_is_limited_by_the_interval():
    provisioned = {**description(), "BillingModeSummary": {"BillingMode": "PROVISIONED",
                                                           "LastUpdateToPayPerRequestDateTime": 1000.0}}
    switch = {"BillingMode": "PAY_PER_REQUEST"}
    throttle.check_mode_switch(provisioned, switch, now=1000.0 + 86400, interval=86400)
    throttle.check_mode_switch(provisioned, switch, now=1001.0, interval=0)  # dynamoray's default: any time
    with pytest.raises(errors.DynamoError) as info:
        throttle.check_mode_switch(provisioned, switch, now=1000.0 + 3600, interval=86400)
    assert (info.value.error_type, info.value.message) == (
        "LimitExceededException", "Subscriber limit exceeded: Update to PayPerRequest mode are limited to once in 1 day(s).")
    throttle.check_mode_switch(provisioned, {"BillingMode": "PROVISIONED"}, now=1001.0, interval=86400)


def test_on_demand_throughput_is_checked_and_merged():
    assert throttle.on_demand_throughput({"MaxReadRequestUnits": 10}) == {"MaxReadRequestUnits": 10,
                                                                          "MaxWriteRequestUnits": -1}
    merged = throttle.on_demand_throughput({"MaxWriteRequestUnits": 3}, {"MaxReadRequestUnits": 10,
                                                                         "MaxWriteRequestUnits": -1})
    assert merged == {"MaxReadRequestUnits": 10, "MaxWriteRequestUnits": 3}
    with pytest.raises(errors.DynamoError) as info:
        throttle.on_demand_throughput({"MaxReadRequestUnits": 0})
    assert info.value.error_type == "ValidationException"
    assert not math.isnan(throttle.retry_after(opened(description()), READ, 0.0))
