"""Backups on the command line: ``dynamoray serve``'s backup options and ``dynamoray restore-status``.

    dynamoray serve --backup-store s3://bucket/prefix --s3-endpoint-url http://127.0.0.1:9000
    dynamoray restore-status                 # the restores the server runs (or finished within the hour)
    dynamoray restore-status TABLE           # one restore, once
    dynamoray restore-status TABLE --follow  # a progress bar (items/s, percent, ETA) until ACTIVE

``restore-status`` calls the running server's admin API (``ListRestores``/``DescribeRestore``,
``gateway/admin_backups.py``) with the root credentials, from ``AWS_ACCESS_KEY_ID``/
``AWS_SECRET_ACCESS_KEY`` or the server's data directory (``--data-dir``), like ``dynamoray iam``.
The bar is rich's when rich is installed (``pip install dynamoray[sdk]``), else plain lines.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any, Callable, TextIO

from .admin_cli import add_connection_arguments, admin_client

DEFAULT_RETENTION_INTERVAL = 600.0  # seconds between two rounds of log retention


def add_serve_arguments(serve: argparse.ArgumentParser) -> None:
    serve.add_argument("--backup-store", metavar="s3://BUCKET[/PREFIX]",
                       help="keep partition snapshots and backup files in this S3-compatible bucket instead of "
                            "the data directory (credentials: the usual AWS environment or profile)")
    serve.add_argument("--s3-endpoint-url", metavar="URL",
                       help="the S3-compatible server of --backup-store (MinIO, Ceph...; default: AWS S3)")
    serve.add_argument("--local-buckets", metavar="DIR",
                       help="exports and imports: a bucket named B is the directory DIR/B when it exists "
                            "(default: DATA_DIR/buckets), else an S3 bucket (docs/export-import.md)")
    serve.add_argument("--s3-region", metavar="REGION", help="the region of --backup-store's bucket")
    serve.add_argument("--log-retention-interval", metavar="SECONDS", type=float, default=DEFAULT_RETENTION_INTERVAL,
                       help="pause between two rounds of log retention, which truncates table logs older than "
                            "what point-in-time recovery, streams and snapshots need (default 600; 0: never)")


def backup_options(args: argparse.Namespace) -> dict:
    """``run()``'s backup keywords from the parsed ``serve`` arguments."""
    from .actors.object_store import ObjectStoreError, S3Location

    store = None
    if args.backup_store:
        try:
            store = S3Location.parse(args.backup_store, endpoint_url=args.s3_endpoint_url, region=args.s3_region)
        except ObjectStoreError as error:
            args.parser.error(str(error))
    elif args.s3_endpoint_url or args.s3_region:
        args.parser.error("--s3-endpoint-url and --s3-region need --backup-store")
    if args.log_retention_interval < 0:
        args.parser.error("--log-retention-interval must be 0 or more")
    return {"backup_store": store, "retention_interval": args.log_retention_interval or None}


def export_settings(args: argparse.Namespace, environ: dict) -> None:
    """Set ``serve``'s export and import settings in ``environ`` (the server's environment, which
    its other processes inherit; ``actors/buckets.py`` reads it): where local buckets live."""
    from pathlib import Path

    from .actors.buckets import LOCAL_BUCKETS_ENV

    if args.local_buckets or not environ.get(LOCAL_BUCKETS_ENV):
        environ[LOCAL_BUCKETS_ENV] = str(Path(args.local_buckets or Path(args.data_dir) / "buckets").resolve())


# --- dynamoray restore-status -----------------------------------------------------------------------


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("restore-status", help="follow table restores (admin API)")
    parser.add_argument("table", metavar="TABLE", nargs="?", help="the restored (target) table; none: list them all")
    parser.add_argument("--follow", "-f", action="store_true", help="show a progress bar until the table is ACTIVE")
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between two polls with --follow")
    parser.add_argument("--json", action="store_true", help="print the admin API's answer as JSON")
    add_connection_arguments(parser)
    parser.set_defaults(func=run)


def describe_line(restore: dict | None, status: str) -> str:
    """One restore as a line of text."""
    if restore is None:
        return f"table {status}, no restore running"
    line = f"{restore['TableName']}: {restore['Phase']}"
    if restore.get("ItemsTotal") is not None:
        line += f" {restore['ItemsRestored']:,}/{restore['ItemsTotal']:,} items ({restore['Percent']:.1f} %)"
    if restore.get("ItemsPerSecond"):
        line += f", {restore['ItemsPerSecond']:,.0f} items/s"
    if restore.get("EtaSeconds") is not None and restore["Phase"] == "WRITING":
        line += f", ETA {restore['EtaSeconds']:.0f} s"
    if restore.get("Error"):
        line += f" ({restore['Error']})"
    return line + f"; table {status}"


class PlainBar:
    """Progress as plain lines, for a terminal without rich."""

    def __init__(self, out: TextIO) -> None:
        self.out = out

    def show(self, restore: dict | None, status: str) -> None:
        print(describe_line(restore, status), file=self.out, flush=True)

    def close(self) -> None:
        pass


class RichBar:
    """Progress as a rich bar: items, percent, items/s and ETA, as the server reports them."""

    def __init__(self, out: TextIO, table: str) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn

        self.progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(), TaskProgressColumn(),
                                 TextColumn("{task.fields[count]}"), TextColumn("{task.fields[rate]}"),
                                 TextColumn("{task.fields[eta]}"), console=Console(file=out), transient=False)
        self.task = self.progress.add_task(table, total=None, count="", rate="", eta="")
        self.progress.start()

    def show(self, restore: dict | None, status: str) -> None:
        if restore is None:
            return
        total = restore.get("ItemsTotal")
        done = restore["ItemsRestored"] if restore["Phase"] != "DONE" else (total or restore["ItemsRestored"])
        eta = restore.get("EtaSeconds")
        self.progress.update(self.task, total=total, completed=done,
                             description=f"{restore['TableName']} {restore['Phase'].lower()}",
                             count="" if total is None else f"{done:,}/{total:,} items",
                             rate=f"{restore.get('ItemsPerSecond', 0):,.0f} items/s",
                             eta="" if eta is None else f"ETA {eta:.0f} s")

    def close(self) -> None:
        self.progress.stop()


def make_bar(out: TextIO, table: str) -> Any:
    try:
        return RichBar(out, table)
    except ImportError:
        return PlainBar(out)


def follow(call: Callable[..., dict], table: str, bar: Any, interval: float = 1.0,
           sleep: Callable[[float], None] = time.sleep) -> int:
    """Poll ``DescribeRestore`` until the table is ACTIVE (0) or the restore failed or the table is
    gone (1), showing each answer on ``bar``."""
    try:
        while True:
            answer = call("DescribeRestore", TableName=table)
            restore, status = answer.get("Restore"), answer["TableStatus"]
            bar.show(restore, status)
            if (restore is not None and restore["Phase"] == "FAILED") or status == "DELETED":
                return 1
            if status == "ACTIVE" and (restore is None or restore["Phase"] == "DONE"):
                return 0
            sleep(interval)
    finally:
        bar.close()


def _print_all(restores: list[dict], out: TextIO) -> None:
    if not restores:
        print("no restores", file=out)
    for restore in restores:
        print(describe_line(restore, "restoring" if restore["Phase"] in ("READING", "WRITING") else "ACTIVE")
              .rsplit("; table", 1)[0], file=out)


def run(args: argparse.Namespace) -> int:
    from .gateway.admin_client import AdminError

    client = admin_client(args, "restore-status")
    try:
        if args.table is None:
            answer = client.call("ListRestores")
            print(json.dumps(answer, indent=2, sort_keys=True)) if args.json else _print_all(answer["Restores"], sys.stdout)
            return 0
        if args.follow:
            bar = PlainBar(sys.stdout) if args.json else make_bar(sys.stdout, args.table)
            return follow(client.call, args.table, bar, args.interval)
        answer = client.call("DescribeRestore", TableName=args.table)
        print(json.dumps(answer, indent=2, sort_keys=True) if args.json
              else describe_line(answer.get("Restore"), answer["TableStatus"]))
        return 0
    except AdminError as error:
        print(f"dynamoray restore-status: {error.code}: {error.message}", file=sys.stderr)
        return 1
    except OSError as error:
        print(f"dynamoray restore-status: cannot reach {args.endpoint}: {error}", file=sys.stderr)
        return 1
