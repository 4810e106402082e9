"""``dynamoray iam ...``: manage users, roles, access keys and policies through the admin API.

Each subcommand is one admin operation (``gateway/admin.py``); it prints the JSON answer.  The
root credentials come from ``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``, or from the server's
data directory (``--data-dir``, its ``root-credentials.json``).  Policy documents are read from a
file (``-`` for stdin).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .admin_cli import add_connection_arguments, call_and_print

# subcommand -> (operation, positional arguments as (name, request member), reads a document file)
_COMMANDS: dict[str, tuple[str, tuple[tuple[str, str], ...], bool]] = {}


def _add(command: str, operation: str, *members: tuple[str, str], document: bool = False) -> None:
    _COMMANDS[command] = (operation, members, document)


for _kind, _Kind in (("user", "User"), ("role", "Role")):
    _name = (_kind.upper(), f"{_Kind}Name")
    _add(f"create-{_kind}", f"Create{_Kind}", _name)
    _add(f"get-{_kind}", f"Get{_Kind}", _name)
    _add(f"list-{_kind}s", f"List{_Kind}s")
    _add(f"delete-{_kind}", f"Delete{_Kind}", _name)
    _add(f"put-{_kind}-policy", f"Put{_Kind}Policy", _name, ("POLICY_NAME", "PolicyName"), document=True)
    _add(f"get-{_kind}-policy", f"Get{_Kind}Policy", _name, ("POLICY_NAME", "PolicyName"))
    _add(f"delete-{_kind}-policy", f"Delete{_Kind}Policy", _name, ("POLICY_NAME", "PolicyName"))
    _add(f"list-{_kind}-policies", f"List{_Kind}Policies", _name)
    _add(f"attach-{_kind}-policy", f"Attach{_Kind}Policy", _name, ("POLICY_ARN", "PolicyArn"))
    _add(f"detach-{_kind}-policy", f"Detach{_Kind}Policy", _name, ("POLICY_ARN", "PolicyArn"))
    _add(f"list-attached-{_kind}-policies", f"ListAttached{_Kind}Policies", _name)
_add("create-access-key", "CreateAccessKey", ("USER", "UserName"))
_add("list-access-keys", "ListAccessKeys", ("USER", "UserName"))
_add("delete-access-key", "DeleteAccessKey", ("ACCESS_KEY_ID", "AccessKeyId"))
_add("create-policy", "CreatePolicy", ("POLICY_NAME", "PolicyName"), document=True)
_add("get-policy", "GetPolicy", ("POLICY_ARN", "PolicyArn"))
_add("list-policies", "ListPolicies")
_add("delete-policy", "DeletePolicy", ("POLICY_ARN", "PolicyArn"))


def _pairs(values: list[str] | None, flag: str) -> dict[str, str]:
    out = {}
    for value in values or []:
        key, sep, text = value.partition("=")
        if not sep or not key:
            raise SystemExit(f"dynamoray iam: {flag} takes KEY=VALUE, not {value!r}")
        out[key] = text
    return out


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``dynamoray iam`` and its subcommands."""
    iam = sub.add_parser("iam", help="manage IAM users, roles, access keys and policies (admin API)")
    add_connection_arguments(iam)
    commands = iam.add_subparsers(dest="iam_command", required=True)
    for command, (operation, members, document) in _COMMANDS.items():
        parser = commands.add_parser(command, help=f"the {operation} operation")
        for name, _ in members:
            parser.add_argument(f"arg_{name.lower()}", metavar=name)
        if document:
            parser.add_argument("file", metavar="FILE", help="the policy document (JSON; - for stdin)")
        if command.startswith("create-user") or command.startswith("create-role"):
            parser.add_argument("--tag", action="append", metavar="KEY=VALUE")
            parser.add_argument("--context", action="append", metavar="KEY=VALUE",
                                help="a request-context key the principal's requests carry")
        if command in ("create-access-key", "list-access-keys"):
            parser.add_argument("--role", action="store_true", help="USER names a role")
    iam.set_defaults(func=run)


def request_of(args: argparse.Namespace) -> tuple[str, dict]:
    """The admin operation and request body a parsed ``dynamoray iam`` command line stands for."""
    operation, members, document = _COMMANDS[args.iam_command]
    body = {member: getattr(args, f"arg_{name.lower()}") for name, member in members}
    if getattr(args, "role", False) is True:
        body["RoleName"] = body.pop("UserName")
    if document:
        body["PolicyDocument"] = sys.stdin.read() if args.file == "-" else Path(args.file).read_text()
    if getattr(args, "tag", None):
        body["Tags"] = [{"Key": k, "Value": v} for k, v in _pairs(args.tag, "--tag").items()]
    if getattr(args, "context", None):
        body["SessionContext"] = _pairs(args.context, "--context")
    return operation, body


def run(args: argparse.Namespace) -> int:
    return call_and_print(args, "iam", *request_of(args))
