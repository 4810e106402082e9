"""core/knobs.py: the test knobs' settings, parsed and checked."""

import pytest

from dynamoray.core import keys, knobs, throttle
from dynamoray.core.errors import DynamoError

SCHEMA = keys.KeySchema("p", "S", "n", "N")


def _message(call, *args) -> str:
    with pytest.raises(DynamoError) as info:
        call(*args)
    assert info.value.error_type == "ValidationException"
    return info.value.message


def test_conflict_keys_name_items_whatever_the_number_spelling():
    table = knobs.parse_table_knobs({"ConflictKeys": [{"p": {"S": "a"}, "n": {"N": "1.50"}}]}, SCHEMA)
    assert table.conflicts({"p": {"S": "a"}, "n": {"N": "1.5"}})
    assert not table.conflicts({"p": {"S": "a"}, "n": {"N": "2"}})
    assert table.ceilings is None
    assert table.to_wire() == {"ConflictKeys": [{"p": {"S": "a"}, "n": {"N": "1.5"}}]}  # normalized


def test_ceilings_are_dynamodbs_unless_given_and_become_throttle_settings():
    assert knobs.parse_ceilings(True) == knobs.Ceilings(3000.0, 1000.0, 1.0)
    assert knobs.parse_ceilings(False) is None and knobs.parse_ceilings(None) is None
    given = knobs.parse_ceilings({"WriteUnitsPerSecond": 5, "BurstSeconds": 2})
    config = given.config(throttle.ThrottleConfig())
    assert (config.partition_read, config.partition_write, config.ceiling_seconds) == (3000.0, 5.0, 2.0)
    assert config.burst_seconds == throttle.BURST_SECONDS  # the rest is the server's
    assert _message(knobs.parse_ceilings, {"ReadUnitsPerSecond": -1}) == \
        "Invalid test knob: PartitionCeilings.ReadUnitsPerSecond must be a positive number"


def test_the_clock_offset_after_set_advance_and_reset():
    assert knobs.clock_offset({"Time": 1500.0}, 0.0, 1000.0) == 500.0
    assert knobs.clock_offset({"AdvanceSeconds": 60}, 500.0, 1000.0) == 560.0
    assert knobs.clock_offset({"AdvanceSeconds": -60}, 500.0, 1000.0) == 440.0
    assert knobs.clock_offset({"Reset": True}, 500.0, 1000.0) == 0.0
    assert _message(knobs.clock_offset, {}, 0.0, 0.0) == \
        "Invalid test knob: SetClock takes exactly one of Time, AdvanceSeconds and Reset"
    assert _message(knobs.clock_offset, {"Time": "noon"}, 0.0, 0.0) == \
        "Invalid test knob: Time must be a number of seconds"
    assert _message(knobs.clock_offset, {"Reset": False}, 0.0, 0.0) == "Invalid test knob: Reset must be true"


def test_conflict_reasons_name_only_the_held_items():
    assert knobs.conflict_reasons([False, False]) is None
    assert knobs.conflict_reasons([False, True]) == [
        {"Code": "None"}, {"Code": "TransactionConflict", "Message": "Transaction is ongoing for the item"}]
