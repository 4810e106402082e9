"""``dynamoray hooks ...``: deploy, list, describe and remove stored-procedure hooks; read dead letters.

    dynamoray hooks deploy orders_hooks:totals [--table orders] [--name totals] [--batch-size 100] ...
    dynamoray hooks list
    dynamoray hooks describe totals
    dynamoray hooks remove totals
    dynamoray hooks dlq totals [--from OFFSET] [--limit N]

``deploy`` imports MODULE (the current directory is on the path), takes FUNCTION's ``@hook``
settings, overrides them with the flags given, and sends the function pickled by value to the
server's admin API.  Credentials: the root ones, from ``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``
or the server's data directory (``--data-dir``), like ``dynamoray iam``.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys

from .admin_cli import add_connection_arguments, root_credentials

_FLAGS = (  # flag, python option, type
    ("--table", "table", str), ("--name", "name", str), ("--batch-size", "batch_size", int),
    ("--starting-position", "starting_position", str), ("--maximum-retry-attempts", "maximum_retry_attempts", int),
    ("--members", "members", int), ("--batch-window", "batch_window", float), ("--view-type", "view_type", str),
)


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``dynamoray hooks`` and its subcommands."""
    parser = sub.add_parser("hooks", help="deploy and manage stored-procedure hooks (admin API)")
    add_connection_arguments(parser)
    commands = parser.add_subparsers(dest="hooks_command", required=True)
    deploy = commands.add_parser("deploy", help="deploy MODULE:FUNCTION (again: replace it, keeping its position)")
    deploy.add_argument("target", metavar="MODULE:FUNCTION")
    for flag, dest, kind in _FLAGS:
        deploy.add_argument(flag, dest=dest, type=kind)
    deploy.add_argument("--bisect-batch-on-error", dest="bisect_batch_on_error", action=argparse.BooleanOptionalAction)
    deploy.add_argument("--exactly-once", dest="exactly_once", action=argparse.BooleanOptionalAction)
    deploy.add_argument("--on-failure", dest="on_failure", choices=("dlq", "discard"))
    commands.add_parser("list", help="the deployed hooks")
    for command in ("describe", "remove"):
        commands.add_parser(command, help=f"{command} a hook").add_argument("name", metavar="NAME")
    dlq = commands.add_parser("dlq", help="read a hook's dead-letter topic")
    dlq.add_argument("name", metavar="NAME")
    dlq.add_argument("--from", dest="start", type=int, help="the first offset (default: the oldest)")
    dlq.add_argument("--limit", type=int, default=100)
    parser.set_defaults(func=run)


def load_target(target: str):
    """The function MODULE:FUNCTION names (the current directory is importable)."""
    module_name, sep, attribute = target.partition(":")
    if not sep or not module_name or not attribute:
        raise SystemExit(f"dynamoray hooks: expected MODULE:FUNCTION, not {target!r}")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    value = importlib.import_module(module_name)
    for part in attribute.split("."):
        value = getattr(value, part)
    return value


def _overrides(args: argparse.Namespace) -> dict:
    names = [dest for _, dest, _ in _FLAGS] + ["bisect_batch_on_error", "exactly_once"]
    out = {name: getattr(args, name) for name in names if getattr(args, name) is not None}
    if args.on_failure is not None:
        out["on_failure"] = None if args.on_failure == "discard" else "dlq"
    return out


def _call(client, args: argparse.Namespace):
    command = args.hooks_command
    if command == "deploy":
        return client.deploy(load_target(args.target), **_overrides(args))
    if command == "list":
        return client.list()
    if command == "describe":
        return client.describe(args.name)
    if command == "remove":
        client.remove(args.name)
        return {}
    entries, next_offset = client.dead_letters(args.name, args.start, args.limit)
    return {"DeadLetters": entries, "NextOffset": next_offset}


def run(args: argparse.Namespace) -> int:
    from .gateway.admin_client import AdminError
    from .hooks import HooksClient

    client = HooksClient(args.endpoint, *root_credentials(args, "hooks"), args.region)
    try:
        answer = _call(client, args)
    except AdminError as error:
        print(f"dynamoray hooks: {error.code}: {error.message}", file=sys.stderr)
        return 1
    except ValueError as error:
        print(f"dynamoray hooks: {error}", file=sys.stderr)
        return 1
    except OSError as error:
        print(f"dynamoray hooks: cannot reach {args.endpoint}: {error}", file=sys.stderr)
        return 1
    print(json.dumps(answer, indent=2, sort_keys=True, default=str))
    return 0
