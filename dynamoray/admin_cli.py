"""What every admin-API command of the CLI shares (``iam``, ``keys``, ``hooks``, ``usage``,
``audit``, ``restore-status``): where the server is, its root credentials, and the client."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any


def add_connection_arguments(parser: argparse.ArgumentParser) -> None:
    """``--endpoint``, ``--region``, ``--data-dir`` and ``--ca-bundle``, with their environment defaults."""
    parser.add_argument("--endpoint", default=os.environ.get("DYNAMORAY_ENDPOINT", "http://127.0.0.1:8000"))
    parser.add_argument("--region", default=os.environ.get("AWS_DEFAULT_REGION", "us-east-1"))
    parser.add_argument("--data-dir", help="read the root credentials from this server data directory")
    parser.add_argument("--ca-bundle", default=os.environ.get("AWS_CA_BUNDLE"),
                        help="certificates that verify an HTTPS endpoint (dynamoray serve --tls-cert)")


def root_credentials(args: argparse.Namespace, command: str) -> tuple[str, str]:
    """The root access key pair: from ``--data-dir``'s stored file, else ``DYNAMORAY_ROOT_CREDENTIALS``
    (what ``serve`` itself reads, and then stores no file), else the AWS environment variables."""
    from .gateway.credentials import ENV_VAR, FILE_NAME

    if args.data_dir and (Path(args.data_dir) / FILE_NAME).exists():
        stored = json.loads((Path(args.data_dir) / FILE_NAME).read_text())
        return stored["access_key"], stored["secret_key"]
    access, _, secret = os.environ.get(ENV_VAR, "").partition(":")
    if access and secret:
        return access, secret
    if args.data_dir:
        raise SystemExit(f"dynamoray {command}: {Path(args.data_dir) / FILE_NAME} does not exist (a server "
                         f"started with {ENV_VAR} stores none): set {ENV_VAR}=ACCESS_KEY:SECRET")
    access, secret = os.environ.get("AWS_ACCESS_KEY_ID", ""), os.environ.get("AWS_SECRET_ACCESS_KEY", "")
    if not access or not secret:
        raise SystemExit(f"dynamoray {command}: set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (or "
                         f"{ENV_VAR}=ACCESS_KEY:SECRET) to the root credentials, or pass --data-dir")
    return access, secret


def admin_client(args: argparse.Namespace, command: str) -> Any:
    """An ``AdminClient`` for the server the arguments name."""
    from .gateway.admin_client import AdminClient

    context = None
    if getattr(args, "ca_bundle", None):
        import ssl

        context = ssl.create_default_context(cafile=args.ca_bundle)
    return AdminClient(args.endpoint, *root_credentials(args, command), region=args.region, ssl_context=context)


def call_and_print(args: argparse.Namespace, command: str, operation: str, body: dict) -> int:
    """Call one admin operation and print its answer as JSON; errors go to stderr (exit code 1)."""
    import sys

    from .gateway.admin_client import AdminError

    try:
        answer = admin_client(args, command).call(operation, **body)
    except AdminError as error:
        print(f"dynamoray {command}: {error.code}: {error.message}", file=sys.stderr)
        return 1
    except OSError as error:
        print(f"dynamoray {command}: cannot reach {args.endpoint}: {error}", file=sys.stderr)
        return 1
    print(json.dumps(answer, indent=2, sort_keys=True))
    return 0
