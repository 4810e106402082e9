"""``dynamoray partitions`` (list/split/move through the admin API) and the splitter's serve flags."""

from __future__ import annotations

import pytest

from dynamoray.cli import build_parser
from dynamoray.core.partition_map import SplitThresholds
from dynamoray.partitions_cli import request_of, split_options


def parse(*argv: str):
    return build_parser().parse_args(list(argv))


def test_each_action_names_its_admin_operation_and_body():
    assert request_of(parse("partitions", "list", "t")) == ("DescribePartitions", {"TableName": "t"})
    assert request_of(parse("partitions", "split", "t", "0")) == (
        "SplitPartition", {"TableName": "t", "FirstShard": 0})
    assert request_of(parse("partitions", "split", "t", "2", "--at", "3", "--host", "1")) == (
        "SplitPartition", {"TableName": "t", "FirstShard": 2, "AtShard": 3, "Host": 1})
    assert request_of(parse("partitions", "move", "t", "2", "0")) == (
        "MovePartition", {"TableName": "t", "FirstShard": 2, "Host": 0})


def test_the_splitter_is_off_unless_a_threshold_is_given_and_needs_the_ray_engine(capsys):
    assert split_options(parse("serve")) == {}
    assert split_options(parse("serve", "--split-bytes", "1000", "--split-interval", "2")) == {
        "split": (SplitThresholds(1000, None), 2.0)}
    with pytest.raises(SystemExit):
        split_options(parse("serve", "--engine", "local", "--split-writes", "50"))
    assert "--split-bytes/--split-writes need --engine ray" in capsys.readouterr().err
