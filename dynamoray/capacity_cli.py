"""``dynamoray usage`` and ``dynamoray audit``: the billing report and the audit log, through the
admin API (``gateway/admin_capacity.py``).

    dynamoray usage [--from 2026-11-01] [--to 2026-11-30] [--table T] [--format csv|json] [--prices sheet.json]
    dynamoray audit [--table T] [--event-name PutItem] [--since 2026-11-26T00:00:00Z] [--until ...] [--user alice]
                    [--limit 50]
    dynamoray audit --data-plane on|off --table T     (record T's data-plane calls, or stop; "*": every table)

``--prices`` is a JSON object of price-sheet members (``core/usage.py``, ``PriceSheet``); the rest
keep AWS's us-east-1 prices.  Credentials: the root ones, from ``AWS_ACCESS_KEY_ID``/
``AWS_SECRET_ACCESS_KEY`` or the server's data directory (``--data-dir``), like ``dynamoray iam``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from .admin_cli import add_connection_arguments, admin_client


def _common(parser: argparse.ArgumentParser) -> None:
    add_connection_arguments(parser)


def add_parsers(sub: argparse._SubParsersAction) -> None:
    """Register ``dynamoray usage`` and ``dynamoray audit``."""
    usage = sub.add_parser("usage", help="request units, storage and their price per table per day (admin API)")
    _common(usage)
    usage.add_argument("--from", dest="start", metavar="YYYY-MM-DD", help="the first day (UTC, included)")
    usage.add_argument("--to", dest="end", metavar="YYYY-MM-DD", help="the last day (UTC, included)")
    usage.add_argument("--table", help="one table only")
    usage.add_argument("--format", choices=("csv", "json"), default="csv")
    usage.add_argument("--prices", metavar="FILE", help="a JSON price sheet (members left out keep AWS's prices)")
    usage.set_defaults(func=run_usage, command_name="usage")
    audit = sub.add_parser("audit", help="query the audit log of API calls (admin API)")
    _common(audit)
    audit.add_argument("--table", help="calls on this table")
    audit.add_argument("--event-name", help="calls of this operation, e.g. PutItem")
    audit.add_argument("--since", metavar="TIME", help="ISO 8601 UTC, e.g. 2026-11-26T00:00:00Z")
    audit.add_argument("--until", metavar="TIME", help="ISO 8601 UTC")
    audit.add_argument("--user", help="the caller's ARN, user name or access key id")
    audit.add_argument("--limit", type=int, default=50, help="records to print, newest first (default 50)")
    audit.add_argument("--data-plane", choices=("on", "off"),
                       help="instead of querying: record (or stop recording) --table's data-plane calls")
    audit.set_defaults(func=run_audit, command_name="audit")


def _call(args: argparse.Namespace, operation: str, **params: Any) -> dict | None:
    from .gateway.admin_client import AdminError

    client = admin_client(args, args.command_name)
    try:
        return client.call(operation, **{k: v for k, v in params.items() if v is not None})
    except AdminError as error:
        print(f"dynamoray {args.command_name}: {error.code}: {error.message}", file=sys.stderr)
    except OSError as error:
        print(f"dynamoray {args.command_name}: cannot reach {args.endpoint}: {error}", file=sys.stderr)
    return None


def run_usage(args: argparse.Namespace) -> int:
    from .core.usage import to_csv

    prices = None
    if args.prices:
        try:
            prices = json.loads(Path(args.prices).read_text())
        except (OSError, ValueError) as error:
            print(f"dynamoray usage: cannot read the price sheet {args.prices}: {error}", file=sys.stderr)
            return 1
    answer = _call(args, "GetUsage", StartDate=args.start, EndDate=args.end, TableName=args.table, PriceSheet=prices)
    if answer is None:
        return 1
    if args.format == "json":
        print(json.dumps(answer, indent=2, sort_keys=True))
    else:
        sys.stdout.write(to_csv(answer["Usage"], answer["PriceSheet"]["currency"]))
    return 0


def run_audit(args: argparse.Namespace) -> int:
    if args.data_plane is not None:
        if not args.table:
            print("dynamoray audit: --data-plane needs --table (or --table '*')", file=sys.stderr)
            return 1
        answer = _call(args, "UpdateAuditSettings", TableName=args.table, DataPlane=args.data_plane == "on")
        if answer is None:
            return 1
        print(json.dumps(answer, indent=2, sort_keys=True))
        return 0
    found, token = [], None
    while len(found) < args.limit:
        answer = _call(args, "LookupAuditEvents", TableName=args.table, EventName=args.event_name,
                       StartTime=args.since, EndTime=args.until, User=args.user,
                       MaxResults=min(1000, args.limit - len(found)), NextToken=token)
        if answer is None:
            return 1
        found.extend(answer["Events"])
        token = answer.get("NextToken")
        if token is None:
            break
    for record in found:  # one JSON record a line, newest first (like `aws cloudtrail lookup-events`)
        print(json.dumps(record, sort_keys=True))
    return 0


# --- dynamoray serve's options -------------------------------------------------------------------


def _seconds(text: str) -> float:
    value = float(text)
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, not {text}")
    return value


def add_serve_arguments(serve: argparse.ArgumentParser) -> None:
    """Throttling, audit, usage and auto scaling switches of ``dynamoray serve`` (docs/capacity.md)."""
    group = serve.add_argument_group("capacity, metrics, audit and usage (docs/capacity.md)")
    for flag, what in (("throttling", "throttle tables at their provisioned or on-demand limits"),
                       ("audit", "record API calls in the audit log"),
                       ("usage", "meter request units and storage for `dynamoray usage`"),
                       ("auto-scaling", "run the auto-scaling policies set with PutScalingPolicy")):
        group.add_argument(f"--{flag}", action=argparse.BooleanOptionalAction, default=True, help=f"{what} (default on)")
    group.add_argument("--adaptive-capacity", action=argparse.BooleanOptionalAction, default=True,
                       help="let a hot shard borrow its table's unused capacity (default on)")
    group.add_argument("--billing-switch-interval", metavar="SECONDS", type=_seconds, default=0.0,
                       help="least time between two switches to PAY_PER_REQUEST (AWS: 86400; default 0, any time)")
    group.add_argument("--audit-flush", metavar="SECONDS", type=_seconds, default=1.0,
                       help="how often buffered audit records are appended to the log (default 1)")
    group.add_argument("--usage-flush", metavar="SECONDS", type=_seconds, default=60.0,
                       help="how often metered request units are appended to the log (default 60)")
    group.add_argument("--storage-sample", metavar="SECONDS", type=_seconds, default=3600.0,
                       help="how often table sizes are sampled for storage billing (default 3600)")
    group.add_argument("--scaling-interval", metavar="SECONDS", type=_seconds, default=60.0,
                       help="how often auto-scaling policies are evaluated (default 60)")


def telemetry_options(args: argparse.Namespace) -> Any:
    from .core.throttle import ThrottleConfig
    from .gateway.telemetry import TelemetryOptions

    return TelemetryOptions(
        throttling=args.throttling, throttle=ThrottleConfig(adaptive=args.adaptive_capacity),
        switch_interval=args.billing_switch_interval, audit=args.audit, audit_flush=args.audit_flush or 1.0,
        usage=args.usage, usage_flush=args.usage_flush or 60.0, storage_interval=args.storage_sample or 3600.0,
        auto_scaling=args.auto_scaling, scaling_interval=args.scaling_interval or 60.0)
