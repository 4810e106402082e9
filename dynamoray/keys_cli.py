"""``dynamoray keys ...`` (encryption keys, through the admin API) and ``dynamoray serve``'s security
options (encryption at rest, TLS, the endpoint id).

    dynamoray keys list                                   # master keys, their data keys
    dynamoray keys create --alias alias/orders            # a customer key (local keyring)
    dynamoray keys describe alias/orders
    dynamoray keys rotate [--key alias/orders] [--reencrypt]

Like ``dynamoray iam``, the root credentials come from ``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``
or ``--data-dir``; ``--ca-bundle`` (or ``AWS_CA_BUNDLE``) verifies an HTTPS endpoint.
"""

from __future__ import annotations

import argparse

from .admin_cli import add_connection_arguments, call_and_print


def add_serve_arguments(serve: argparse.ArgumentParser) -> None:
    group = serve.add_argument_group("security", "encryption at rest, TLS and the listener (docs/security.md)")
    group.add_argument("--no-encryption", action="store_true",
                       help="store records and snapshots in plaintext (benchmarks only; refused on encrypted data)")
    group.add_argument("--keyring", metavar="FILE", default="",
                       help="the keyring file of master keys (default <data-dir>/keyring.json, made on first start)")
    group.add_argument("--kms-key-id", metavar="KEY", default="",
                       help="keep the master keys in AWS KMS: this key (id, ARN or alias) is the server's own key")
    group.add_argument("--kms-region", metavar="REGION", default="", help="KMS's region (default --region)")
    group.add_argument("--kms-endpoint", metavar="URL", default="", help="another KMS endpoint (e.g. a local one)")
    group.add_argument("--tls-cert", metavar="FILE", default="", help="serve HTTPS with this certificate (PEM)")
    group.add_argument("--tls-key", metavar="FILE", default="", help="the certificate's private key (PEM)")
    group.add_argument("--endpoint-id", metavar="vpce-...", default="",
                       help="this listener's endpoint id, seen by IAM conditions as aws:SourceVpce")


def security_options(args: argparse.Namespace):  # -> gateway.security.SecurityOptions
    from .actors.key_setup import EncryptionOptions
    from .gateway.security import SecurityOptions

    encryption = EncryptionOptions(enabled=not args.no_encryption, keyring=args.keyring, kms_key_id=args.kms_key_id,
                                   kms_region=args.kms_region, kms_endpoint=args.kms_endpoint)
    return SecurityOptions(encryption, args.tls_cert, args.tls_key, args.endpoint_id)


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``dynamoray keys`` and its subcommands."""
    keys = sub.add_parser("keys", help="encryption keys: list, create, rotate (admin API)")
    add_connection_arguments(keys)
    commands = keys.add_subparsers(dest="keys_command", required=True)
    commands.add_parser("list", help="master keys and their data keys")
    create = commands.add_parser("create", help="a customer master key (local keyring)")
    create.add_argument("--alias", help="alias/NAME")
    create.add_argument("--description", default="")
    describe = commands.add_parser("describe", help="one master key (id, ARN, alias)")
    describe.add_argument("key")
    rotate = commands.add_parser("rotate", help="new key material and a new data key; old data stays readable")
    rotate.add_argument("--key", help="the master key (default: the server's own)")
    rotate.add_argument("--reencrypt", action="store_true",
                        help="also re-wrap every snapshot's and backup's data key under the new material")
    keys.set_defaults(func=run)


def request_of(args: argparse.Namespace) -> tuple[str, dict]:
    command = args.keys_command
    if command == "list":
        return "ListKeys", {}
    if command == "create":
        body = {"Description": args.description}
        if args.alias:
            body["Alias"] = args.alias
        return "CreateKey", body
    if command == "describe":
        return "DescribeKey", {"KeyId": args.key}
    body = {"ReencryptFiles": bool(args.reencrypt)}
    if args.key:
        body["KeyId"] = args.key
    return "RotateKey", body


def run(args: argparse.Namespace) -> int:
    return call_and_print(args, "keys", *request_of(args))
