"""core/forks.py: what a ForkTable request means and which points it may name."""

import pytest

from dynamoray.core import forks
from dynamoray.core.errors import DynamoError


def _error(call, *args) -> str:
    with pytest.raises(DynamoError) as info:
        call(*args)
    assert info.value.error_type == "ValidationException"
    return info.value.message


def test_a_request_names_an_instant_or_a_cut():
    assert forks.parse_request({"SourceTableName": "src", "TargetTableName": "dst", "AtTime": 12.5}) == \
        forks.ForkRequest("src", "dst", at_time=12.5)
    assert forks.parse_request({"SourceTableName": "src", "TargetTableName": "dst", "AtOffsets": [3, -1]}) == \
        forks.ForkRequest("src", "dst", at_offsets=(3, -1))


@pytest.mark.parametrize("text, seconds", [
    ("1970-01-01T00:01:00Z", 60.0), ("1970-01-01T00:01:00", 60.0), ("1970-01-01T01:01:00+01:00", 60.0),
    (61, 61.0),
])
def test_instants_are_iso_strings_or_epoch_seconds(text, seconds):
    assert forks.parse_instant(text) == seconds


@pytest.mark.parametrize("body, message", [
    ({"TargetTableName": "dst", "AtTime": 1},
     "1 validation error detected: Value null at 'sourceTableName' failed to satisfy constraint: "
     "Member must not be null"),
    ({"SourceTableName": "src", "TargetTableName": "d", "AtTime": 1},
     "1 validation error detected: Value 'd' at 'targetTableName' failed to satisfy constraint: "
     "Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+ and length 3 to 255"),
    ({"SourceTableName": "src", "TargetTableName": "dst"},
     "Invalid fork point: give exactly one of AtTime and AtOffsets"),
    ({"SourceTableName": "src", "TargetTableName": "dst", "AtTime": True},
     "Invalid fork point: AtTime must be epoch seconds or an ISO-8601 date-time"),
    ({"SourceTableName": "src", "TargetTableName": "dst", "AtOffsets": []},
     "Invalid fork point: AtOffsets must be a list of integers, one log offset per shard"),
    ({"SourceTableName": "src", "TargetTableName": "dst", "AtOffsets": [1.5]},
     "Invalid fork point: AtOffsets must be a list of integers, one log offset per shard"),
])
def test_bad_requests(body, message):
    assert _error(forks.parse_request, body) == message


def test_offsets_must_be_in_each_shards_log():
    assert forks.check_offsets([-1, 4], [0, 0], [0, 5]) == [-1, 4]
    assert _error(forks.check_offsets, [0], [0, 0], [1, 1]) == \
        "Invalid fork point: AtOffsets has 1 offsets but the table has 2 shards"
    assert _error(forks.check_offsets, [0, 5], [0, 0], [1, 5]) == \
        "Invalid fork point: offset 5 of shard 1 is not in the log (from -1 to 4)"
    assert _error(forks.check_offsets, [-2], [0], [1]) == \
        "Invalid fork point: offset -2 of shard 0 is not in the log (from -1 to 0)"


def test_a_truncated_log_refuses_points_before_its_start():
    forks.check_retained([-1, 7], [0, 7])
    assert _error(forks.check_retained, [-1, 6], [0, 7]) == \
        "Invalid fork point: the log of shard 1 no longer reaches back to offset 6 (it starts at 7)"


def test_instants_in_the_future_are_refused():
    assert forks.check_instant(10.0, 10.0) == 10.0
    assert _error(forks.check_instant, 10.5, 10.0) == "Invalid fork point: AtTime is in the future"
