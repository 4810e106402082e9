"""dynamoray extensions on the command line (``docs/extensions.md``):

    dynamoray serve --test-knobs                     # enable the admin API's test knobs
    dynamoray fork SRC DST                           # DST: a copy of SRC as of now
    dynamoray fork SRC DST --at 2026-11-26T10:00:00Z # ... as of an instant (ISO-8601 or epoch seconds)
    dynamoray fork SRC DST --offsets=12,-1,30,4      # ... as of a cut (``dynamoray fork SRC --offsets-now``)
    dynamoray fork SRC --offsets-now                 # print SRC's cut now (one log offset per shard)

``fork`` calls the running server's admin API (``ForkTable``, ``DescribeTableOffsets``) with the
root credentials, from ``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY`` or ``--data-dir``, and
waits until the fork is ACTIVE (``--no-wait`` returns at once).
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any, Callable

from .admin_cli import add_connection_arguments, admin_client


def add_serve_arguments(serve: argparse.ArgumentParser) -> None:
    serve.add_argument("--test-knobs", action="store_true",
                       help="enable the deterministic test knobs of the admin API: injected transaction "
                            "conflicts, strict partition ceilings, a controllable clock (docs/extensions.md)")


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("fork", help="fork a table as of an instant or log offsets (admin API)")
    parser.add_argument("source", metavar="SRC", help="the table to copy")
    parser.add_argument("target", metavar="DST", nargs="?", help="the new table")
    point = parser.add_mutually_exclusive_group()
    point.add_argument("--at", metavar="ISO|SECONDS", help="the instant to copy (default: now)")
    point.add_argument("--offsets", metavar="N,N,...", help="the cut to copy: one log offset per shard")
    point.add_argument("--offsets-now", action="store_true", help="print SRC's log offsets now and exit")
    parser.add_argument("--no-wait", action="store_true", help="return once the fork is created (CREATING)")
    add_connection_arguments(parser)
    parser.set_defaults(func=run_fork, parser=parser)


def _point(args: argparse.Namespace) -> dict[str, Any]:
    if args.offsets:
        try:
            return {"AtOffsets": [int(part) for part in args.offsets.split(",")]}
        except ValueError:
            args.parser.error("--offsets takes integers separated by commas")
    if args.at:
        try:
            return {"AtTime": float(args.at)}
        except ValueError:
            return {"AtTime": args.at}  # ISO-8601: the server parses it
    return {}


def run_fork(args: argparse.Namespace, call: Callable[..., dict] | None = None,
             sleep: Callable[[float], None] = time.sleep) -> int:
    from .gateway.admin_client import AdminError

    if call is None:
        call = admin_client(args, "fork").call
    try:
        if args.offsets_now:
            print(",".join(str(o) for o in call("DescribeTableOffsets", TableName=args.source)["Offsets"]))
            return 0
        if not args.target:
            args.parser.error("give DST, the table to create")
        point = _point(args) or {"AtOffsets": call("DescribeTableOffsets", TableName=args.source)["Offsets"]}
        answer = call("ForkTable", SourceTableName=args.source, TargetTableName=args.target, **point)
        offsets = ",".join(str(o) for o in answer["ForkOffsets"])
        print(f"{args.target}: a fork of {args.source} at offsets {offsets}", flush=True)
        while not args.no_wait:
            status = call("DescribeRestore", TableName=args.target)
            restore = status.get("Restore") or {}
            if restore.get("Phase") == "FAILED":
                print(f"{args.target}: the fork failed: {restore.get('Error')}", file=sys.stderr)
                return 1
            if status["TableStatus"] == "ACTIVE":
                print(f"{args.target}: ACTIVE, {restore.get('ItemsRestored', 0):,} items", flush=True)
                break
            sleep(0.2)
    except AdminError as error:
        print(f"dynamoray fork: {error.code}: {error.message}", file=sys.stderr)
        return 1
    return 0
