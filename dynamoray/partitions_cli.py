"""``dynamoray partitions``: a table's partition map on the command line (shards step 2; the
admin API's ``DescribePartitions``, ``SplitPartition``, ``MovePartition``, root credentials):

    dynamoray partitions list TABLE                        # the ranges of shards and their hosts
    dynamoray partitions split TABLE FIRST [--at N] [--host H]  # cut the range starting at FIRST
    dynamoray partitions move TABLE FIRST HOST             # give the range starting at FIRST to HOST

Each prints the map (after the change) as JSON.  ``serve --split-bytes/--split-writes`` splits
ranges automatically instead (``actors/splitter.py``).
"""

from __future__ import annotations

import argparse

from .admin_cli import add_connection_arguments, call_and_print


def add_serve_arguments(serve: argparse.ArgumentParser) -> None:
    serve.add_argument("--split-bytes", metavar="BYTES", type=int, default=None,
                       help="split a table's range of shards onto another host once its items exceed this "
                            "size (--engine ray; off by default)")
    serve.add_argument("--split-writes", metavar="PER_SECOND", type=float, default=None,
                       help="split a table's range of shards onto another host once its writes per second "
                            "exceed this (--engine ray; off by default)")
    serve.add_argument("--split-interval", metavar="SECONDS", type=float, default=10.0,
                       help="how often the automatic splitter looks at the ranges' loads (default 10)")


def split_options(args: argparse.Namespace) -> dict:
    """``serve``'s ``split`` keyword: (thresholds, interval) when a --split-* threshold is set."""
    if args.split_bytes is None and args.split_writes is None:
        return {}
    if args.engine != "ray":
        args.parser.error("--split-bytes/--split-writes need --engine ray (the local engine is one process)")
    if (args.split_bytes or 0) < 0 or (args.split_writes or 0) < 0 or args.split_interval <= 0:
        args.parser.error("--split-bytes/--split-writes must not be negative, --split-interval must be positive")
    from .core.partition_map import SplitThresholds

    return {"split": (SplitThresholds(args.split_bytes, args.split_writes), args.split_interval)}


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("partitions", help="list, split or move a table's ranges of shards (admin API)")
    actions = parser.add_subparsers(dest="action", required=True)
    listing = actions.add_parser("list", help="print the table's partition map")
    listing.add_argument("table")
    split = actions.add_parser("split", help="cut a range in two; the upper part goes to another host")
    split.add_argument("table")
    split.add_argument("first", type=int, metavar="FIRST", help="the first shard of the range to cut")
    split.add_argument("--at", type=int, help="the first shard of the new upper range (default: the middle)")
    split.add_argument("--host", type=int, help="the host of the upper range (default: the least used)")
    move = actions.add_parser("move", help="give a range to another host")
    move.add_argument("table")
    move.add_argument("first", type=int, metavar="FIRST", help="the first shard of the range")
    move.add_argument("host", type=int, metavar="HOST", help="the host index to give it to")
    for child in (listing, split, move):
        add_connection_arguments(child)
        child.set_defaults(func=run)


def request_of(args: argparse.Namespace) -> tuple[str, dict]:
    """The admin operation and body an invocation means."""
    if args.action == "list":
        return "DescribePartitions", {"TableName": args.table}
    if args.action == "split":
        body = {"TableName": args.table, "FirstShard": args.first}
        if args.at is not None:
            body["AtShard"] = args.at
        if args.host is not None:
            body["Host"] = args.host
        return "SplitPartition", body
    return "MovePartition", {"TableName": args.table, "FirstShard": args.first, "Host": args.host}


def run(args: argparse.Namespace) -> int:
    operation, body = request_of(args)
    return call_and_print(args, "partitions", operation, body)
