"""core/usage.py (billing) and core/scaling.py (auto scaling): pure folds and decisions."""

from __future__ import annotations

import pytest

from dynamoray.core import scaling, usage
from dynamoray.core.scaling import ScalingPolicy, ScalingState
from dynamoray.schemas.events import StorageSampled, UsageRecorded

DAY_MS = 86_400_000
NOV_26 = 1_795_651_200_000  # 2026-11-26T00:00:00Z


def sample(at_ms, covers_ms, size, mode="PAY_PER_REQUEST", read=0, write=0, backups=0, pitr=False, table="songs"):
    return StorageSampled(table, at_ms, covers_ms, size, mode, read, write, backups, pitr)


def test_request_units_add_up_per_table_and_day():
    events = [UsageRecorded("songs", "2026-11-26", "PAY_PER_REQUEST", 3, 8),
              UsageRecorded("songs", "2026-11-26", "PAY_PER_REQUEST", 1, 2),
              UsageRecorded("songs", "2026-11-27", "PAY_PER_REQUEST", 2_000_000, 0),
              UsageRecorded("albums", "2026-11-26", "PROVISIONED", 10, 20)]
    folded = usage.fold(events)
    assert folded[("2026-11-26", "songs")].read_request_units == 2.0  # half-units
    assert folded[("2026-11-26", "songs")].write_request_units == 5.0
    assert folded[("2026-11-27", "songs")].read_request_units == 1_000_000
    albums = folded[("2026-11-26", "albums")]
    assert (albums.read_request_units, albums.provisioned_read_units_consumed) == (0.0, 5.0)  # not billed per request


def test_storage_is_billed_in_gb_months_and_split_at_midnight():
    gib = usage.GIB
    # 30 GiB held for the whole of a 30-day month is 30 GB-months; a day of it is 1 GB-month.
    folded = usage.fold([sample(NOV_26 + DAY_MS, DAY_MS, 30 * gib, backups=3 * gib, pitr=True)])
    day = folded[("2026-11-26", "songs")]
    assert day.storage_gb_months == pytest.approx(1.0)
    assert day.backup_gb_months == pytest.approx(0.1) and day.pitr_gb_months == pytest.approx(1.0)
    # a sample spanning midnight gives each day its share
    split = usage.fold([sample(NOV_26 + 6 * 3_600_000, 12 * 3_600_000, 30 * gib)])
    assert split[("2026-11-25", "songs")].storage_gb_months == pytest.approx(0.25)
    assert split[("2026-11-26", "songs")].storage_gb_months == pytest.approx(0.25)


def test_provisioned_tables_are_billed_per_capacity_hour():
    folded = usage.fold([sample(NOV_26 + 7_200_000, 7_200_000, 0, "PROVISIONED", read=10, write=5)])
    day = folded[("2026-11-26", "songs")]
    assert (day.read_capacity_unit_hours, day.write_capacity_unit_hours) == (20.0, 10.0)
    on_demand = usage.fold([sample(NOV_26 + 7_200_000, 7_200_000, 0, read=10, write=5)])
    assert on_demand[("2026-11-26", "songs")].read_capacity_unit_hours == 0.0


def test_the_report_prices_each_day_with_the_sheet():
    events = [UsageRecorded("songs", "2026-11-26", "PAY_PER_REQUEST", 2_000_000, 4_000_000),
              sample(NOV_26 + DAY_MS, DAY_MS, 30 * usage.GIB),
              UsageRecorded("songs", "2026-11-27", "PAY_PER_REQUEST", 2, 2)]
    folded = usage.fold(events)
    report = usage.report(folded, usage.PriceSheet(), start="2026-11-26", end="2026-11-26")
    assert [(row["day"], row["table"]) for row in report.rows] == [("2026-11-26", "songs")]
    # 1M RRU at $0.125, 2M WRU at $0.625 per million, 1 GB-month at $0.25
    assert report.rows[0]["cost"] == pytest.approx(0.125 + 1.25 + 0.25)
    assert report.totals["write_request_units"] == 2_000_000
    custom = usage.report(folded, usage.PriceSheet.from_wire({"storage_gb_month": 1.0, "currency": "EUR"}))
    assert custom.totals["cost"] == pytest.approx(0.125 + 1.25 + 1.0 + 2 * 0.125e-6 + 2 * 0.625e-6) and \
        custom.prices.currency == "EUR"
    text = usage.to_csv(custom.rows, "EUR")
    lines = text.splitlines()
    assert lines[0].startswith("day,table,billing_mode,read_request_units") and lines[0].endswith("cost_eur")
    assert lines[1].startswith("2026-11-26,songs,PAY_PER_REQUEST,1000000,2000000,")


def test_a_price_sheet_refuses_unknown_members_and_bad_prices():
    with pytest.raises(ValueError, match="unknown price sheet members: bogus"):
        usage.PriceSheet.from_wire({"bogus": 1})
    with pytest.raises(ValueError, match="at least 0"):
        usage.PriceSheet.from_wire({"storage_gb_month": -1})


# --- auto scaling ------------------------------------------------------------------------------


def test_scale_out_after_rounds_above_the_target_to_the_capacity_that_meets_it():
    policy = ScalingPolicy(target_utilization=50, min_read=1, max_read=100, scale_out_rounds=2)
    change, state = scaling.decide(policy, "Read", 10, 9.0, ScalingState())  # 90 % > 50 %
    assert change is None and state == ScalingState(high=1)
    change, state = scaling.decide(policy, "Read", 10, 9.0, state)
    assert change == 18 and state == ScalingState()  # 9 / 50 %
    capped, _ = scaling.decide(policy, "Read", 10, 900.0, ScalingState(high=1))
    assert capped == 100


def test_scale_in_only_after_many_quiet_rounds_and_never_below_the_minimum():
    policy = ScalingPolicy(target_utilization=70, min_write=5, max_write=50, scale_in_rounds=3)
    state = ScalingState()
    for _ in range(2):
        change, state = scaling.decide(policy, "Write", 40, 1.0, state)
        assert change is None
    change, state = scaling.decide(policy, "Write", 40, 1.0, state)
    assert change == 5
    steady, state = scaling.decide(policy, "Write", 40, 27.0, ScalingState(low=2))  # 67.5 %: near the target
    assert steady is None and state == ScalingState()
    assert scaling.decide(policy, "Write", 100, 0.0, ScalingState())[0] == 50  # outside the bounds: at once


def test_a_policy_is_checked():
    assert ScalingPolicy.from_wire({"target_utilization": 40, "max_read": 10}).max_read == 10
    for bad in ({"target_utilization": 95}, {"min_read": 0}, {"min_write": 9, "max_write": 3}, {"oops": 1},
                {"scale_in_rounds": 0}):
        with pytest.raises(ValueError):
            ScalingPolicy.from_wire(bad)
