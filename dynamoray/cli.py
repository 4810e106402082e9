"""The ``dynamoray`` command line."""

from __future__ import annotations

import argparse
import os
import sys


def _serve(args: argparse.Namespace) -> int:
    # Every local Ray binds to loopback only and sends no usage stats; a gateway joining a Ray cluster
    # (--ray-address) takes its node's own address instead.
    os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "1" if args.ray_address else "0")
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    os.environ.setdefault("RAY_worker_niceness", "0")  # hosts at the gateway's priority (actors/__init__.py)
    from .capacity_cli import telemetry_options
    from .gateway.serve import kafka_config, run
    from .backups_cli import backup_options
    from .dax_cli import dax_options
    from .keys_cli import security_options
    from .partitions_cli import split_options

    kafka = None
    if args.kafka_bootstrap:
        try:
            kafka = kafka_config(args.kafka_bootstrap, args.kafka_config, args.kafka_timeout)
        except ValueError as error:
            args.parser.error(str(error))
    elif args.kafka_config:
        args.parser.error("--kafka-config needs --kafka-bootstrap")
    from .gateway.replicas import check as check_gateways

    try:
        check_gateways(args.gateways, args.engine, args.regions_file)
    except ValueError as error:
        args.parser.error(str(error))
    if args.ray_address and args.engine != "ray":
        args.parser.error("--ray-address needs --engine ray")
    if args.wait_for_zones and not args.ray_address:
        args.parser.error("--wait-for-zones needs --ray-address (a private local Ray has no zones)")
    if args.test_knobs and args.gateways > 1:
        args.parser.error("--test-knobs needs --gateways 1: each gateway process would have knobs of its own")
    from .backups_cli import export_settings

    export_settings(args, os.environ)  # where exports and imports find local buckets
    return run(args.host, args.port, args.data_dir, args.region, engine=args.engine, hosts=args.hosts,
               max_open=args.max_open_partitions, kafka=kafka, replicas=args.replicas,
               gateway_follower=args.gateway_follower, ttl_interval=args.ttl_interval or None,
               shards=args.shards, security=security_options(args), telemetry=telemetry_options(args),
               regions_file=args.regions_file, gateways=args.gateways, ray_address=args.ray_address,
               wait_for_zones=args.wait_for_zones, test_knobs=args.test_knobs,
               **backup_options(args), **dax_options(args), **split_options(args))


def _property(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, not {text!r}")
    return key.strip(), value


def _seconds(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be more than 0, not {text}")
    return value


def _non_negative(text: str) -> float:
    value = float(text)
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, not {text}")
    return value


def _shard_count(text: str) -> int:
    value = int(text)
    if not 1 <= value <= 64:
        raise argparse.ArgumentTypeError(f"must be from 1 to 64, not {value}")
    return value


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dynamoray", description="A DynamoDB-compatible database.")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the server (embedded log under --data-dir, or Kafka)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--data-dir", default="./data",
                       help="the embedded log and the root credentials (only the credentials with Kafka)")
    serve.add_argument("--region", default="us-east-1")
    serve.add_argument("--regions-file", default=None, metavar="FILE",
                       help="global tables: JSON or YAML mapping each region's name to its endpoint and the "
                            "credentials to call it with (docs/global-tables.md)")
    serve.add_argument("--engine", choices=("ray", "local"), default="ray",
                       help="ray: tables in Ray actors on a private local Ray (default); local: in-process")
    serve.add_argument("--hosts", type=_positive, default=2, help="partition host actors (--engine ray)")
    serve.add_argument("--gateways", type=_positive, default=1,
                       help="gateway processes sharing the port (--engine ray; default 1): the HTTP layer "
                            "scales with cores (docs/architecture.md, \"Gateway replicas\")")
    serve.add_argument("--ray-address", metavar="HOST:PORT|auto", default=None,
                       help="join this Ray cluster (started with `ray start`) instead of a private local "
                            "Ray (--engine ray; docs/deploy.md)")
    serve.add_argument("--wait-for-zones", metavar="N", type=int, default=0,
                       help="with --ray-address: wait until the cluster's nodes carry N zones (node label "
                            "dynamoray.io/zone=zone-a, ...) before placing the partition hosts across them")
    serve.add_argument("--shards", type=_shard_count, default=4,
                       help="log partitions (shards) each new table's key space is hashed into, 1 to 64 "
                            "(default 4); a table keeps the count it was created with")
    serve.add_argument("--max-open-partitions", type=_positive, default=256,
                       help="open partitions per host before idle ones hibernate (--engine ray)")
    serve.add_argument("--replicas", type=_positive, default=2,
                       help="copies of each table partition (--engine ray): the leader, a follower in the "
                            "gateway, then followers in the next hosts (default 2: see docs/architecture.md)")
    serve.add_argument("--gateway-follower", action=argparse.BooleanOptionalAction, default=True,
                       help="keep a follower of each table read in the gateway process, which serves "
                            "eventually consistent reads with no actor call (default on)")
    serve.add_argument("--kafka-bootstrap", metavar="HOST:PORT[,HOST:PORT...]",
                       help="keep the event log on this Kafka cluster instead of the embedded log")
    serve.add_argument("--kafka-config", metavar="KEY=VALUE", type=_property, action="append", default=[],
                       help="a librdkafka property for every Kafka client, e.g. security.protocol=SASL_SSL "
                            "(repeatable)")
    serve.add_argument("--kafka-timeout", metavar="SECONDS", type=_seconds, default=30.0,
                       help="how long a Kafka call may wait for the cluster before failing (default 30)")
    serve.add_argument("--ttl-interval", metavar="SECONDS", type=_non_negative, default=5.0,
                       help="pause between two rounds of the TTL sweeper, which deletes expired items "
                            "(default 5; 0 turns expiry off; see docs/ttl.md)")
    from .keys_cli import add_parser as add_keys_parser, add_serve_arguments

    add_serve_arguments(serve)  # encryption at rest, TLS, the endpoint id
    from .capacity_cli import add_serve_arguments as add_capacity_arguments

    add_capacity_arguments(serve)  # throttling, audit, usage, auto scaling
    from .backups_cli import add_parser as add_backups_parser, add_serve_arguments as add_backup_arguments

    add_backup_arguments(serve)  # the S3-compatible backup store, log retention
    from .dax_cli import add_serve_arguments as add_dax_arguments

    add_dax_arguments(serve)  # the accelerator (--dax-port)
    from .extensions_cli import add_parser as add_fork_parser, add_serve_arguments as add_extension_arguments

    add_extension_arguments(serve)  # --test-knobs
    from .partitions_cli import add_serve_arguments as add_partition_arguments

    add_partition_arguments(serve)  # the automatic splitter (--split-bytes/--split-writes)
    serve.set_defaults(func=_serve, parser=serve)
    from .iam_cli import add_parser as add_iam_parser  # dynamoray iam ... (the admin API)

    add_iam_parser(sub)
    add_keys_parser(sub)  # dynamoray keys ... (the admin API)
    from .hooks_cli import add_parser as add_hooks_parser  # dynamoray hooks ... (the admin API)

    add_hooks_parser(sub)
    from .capacity_cli import add_parsers as add_capacity_parsers  # dynamoray usage / audit (the admin API)

    add_capacity_parsers(sub)
    add_backups_parser(sub)  # dynamoray restore-status (the admin API)
    add_fork_parser(sub)  # dynamoray fork (the admin API)
    from .partitions_cli import add_parser as add_partitions_parser

    add_partitions_parser(sub)  # dynamoray partitions list/split/move (the admin API)
    from .dax_cli import add_parser as add_dax_parser

    add_dax_parser(sub)  # dynamoray dax --upstream URL (the accelerator as a process of its own)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
