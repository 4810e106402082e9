"""``dynamoray serve``'s accelerator options (``--dax-port`` and the cache settings) and ``dynamoray dax``,
the accelerator as a process of its own (``gateway/dax_process.py``; ``docs/accelerator.md``)."""

from __future__ import annotations

import argparse
from typing import Any

from .core import cache


def add_serve_arguments(serve: argparse.ArgumentParser) -> None:
    serve.add_argument("--dax-port", metavar="PORT", type=int, default=None,
                       help="also serve the DynamoDB API on this port through an in-memory item and query "
                            "cache kept fresh from the tables' logs (a DAX-like accelerator; docs/accelerator.md)")
    serve.add_argument("--dax-item-ttl", metavar="SECONDS", type=float, default=cache.DEFAULT_ITEM_TTL,
                       help="how long the accelerator keeps an item (default 300, as DAX; 0: no item cache)")
    serve.add_argument("--dax-query-ttl", metavar="SECONDS", type=float, default=cache.DEFAULT_QUERY_TTL,
                       help="how long the accelerator keeps a Query or Scan result (default 300; 0: no query cache)")
    serve.add_argument("--dax-cache-mb", metavar="MB", type=float, default=cache.DEFAULT_ITEM_BYTES / 2**20,
                       help="memory bound of each of the two caches, in MiB (default 64)")
    serve.add_argument("--dax-invalidate-queries", action="store_true",
                       help="drop a table's cached Query and Scan results on any change of the table "
                            "(DAX does not: they live until their TTL)")


def dax_options(args: argparse.Namespace) -> dict:
    """``run()``'s accelerator keywords from the parsed ``serve`` arguments."""
    if args.dax_port is None:
        return {}
    if not 0 < args.dax_port < 65536 or args.dax_port == args.port:
        args.parser.error("--dax-port must be a free TCP port other than --port")
    if args.dax_item_ttl < 0 or args.dax_query_ttl < 0 or args.dax_cache_mb <= 0:
        args.parser.error("--dax-item-ttl and --dax-query-ttl must be 0 or more, --dax-cache-mb more than 0")
    size = int(args.dax_cache_mb * 2**20)
    settings = cache.CacheSettings(item_ttl=args.dax_item_ttl, query_ttl=args.dax_query_ttl, item_bytes=size,
                                   query_bytes=size, invalidate_queries=args.dax_invalidate_queries)
    return {"dax_port": args.dax_port, "dax_settings": settings}


# --- ``dynamoray dax --upstream URL``: the accelerator as a process of its own -------------------

CREDENTIALS_ENV = "DYNAMORAY_DAX_CREDENTIALS"


def add_parser(sub: Any) -> None:
    dax = sub.add_parser("dax", help="run an accelerator (a DAX-like cache) in front of a dynamoray server",
                         description="Serve the DynamoDB API through an item and a query cache, forwarding "
                                     "misses and writes to --upstream (docs/accelerator.md).")
    dax.add_argument("--upstream", required=True, metavar="URL", help="the server, e.g. http://127.0.0.1:8000")
    dax.add_argument("--host", default="127.0.0.1")
    dax.add_argument("--port", type=int, default=8111)
    dax.add_argument("--region", default="us-east-1")
    dax.add_argument("--credentials", metavar="ACCESS_KEY:SECRET", default=None,
                     help=f"the accelerator's own credentials on the upstream (default ${CREDENTIALS_ENV}, "
                          "else $AWS_ACCESS_KEY_ID/$AWS_SECRET_ACCESS_KEY): its change feed and DescribeTable "
                          "calls; cache hits are served to requests signed with them")
    dax.add_argument("--item-ttl", metavar="SECONDS", type=float, default=cache.DEFAULT_ITEM_TTL,
                     help="how long an item is kept (default 300, as DAX; 0: no item cache)")
    dax.add_argument("--query-ttl", metavar="SECONDS", type=float, default=cache.DEFAULT_QUERY_TTL,
                     help="how long a Query or Scan result is kept (default 300; 0: no query cache)")
    dax.add_argument("--cache-mb", metavar="MB", type=float, default=cache.DEFAULT_ITEM_BYTES / 2**20,
                     help="memory bound of each of the two caches, in MiB (default 64)")
    dax.add_argument("--invalidate-queries", action="store_true",
                     help="drop a table's cached Query and Scan results on any change of the table")
    dax.add_argument("--settle", metavar="SECONDS", type=float, default=cache.DEFAULT_SETTLE,
                     help="a key changed this recently is not cached from a read (default 0.5)")
    dax.add_argument("--poll-interval", metavar="SECONDS", type=float, default=0.02,
                     help="seconds between two reads of the upstream's change feed (default 0.02)")
    dax.add_argument("--auth-ttl", metavar="SECONDS", type=float, default=60.0,
                     help="how long the upstream's permission of a principal's read of a table lets "
                          "the cache answer that principal (default 60)")
    dax.set_defaults(func=_dax, parser=dax)


def credentials(text: str | None, environ: dict) -> tuple[str, str] | None:
    """``ACCESS:SECRET`` from the option, ``$DYNAMORAY_DAX_CREDENTIALS`` or the AWS variables."""
    text = text or environ.get(CREDENTIALS_ENV)
    if text:
        access, sep, secret = text.partition(":")
        return (access, secret) if sep and access and secret else None
    access, secret = environ.get("AWS_ACCESS_KEY_ID"), environ.get("AWS_SECRET_ACCESS_KEY")
    return (access, secret) if access and secret else None


def _dax(args: argparse.Namespace) -> int:
    import os

    from .gateway.dax_process import DaxSettings, run

    found = credentials(args.credentials, dict(os.environ))
    if found is None:
        args.parser.error(f"credentials needed: --credentials ACCESS_KEY:SECRET, ${CREDENTIALS_ENV} or "
                          "$AWS_ACCESS_KEY_ID and $AWS_SECRET_ACCESS_KEY")
    if not args.upstream.startswith(("http://", "https://")):
        args.parser.error("--upstream must be an http:// or https:// URL")
    if min(args.item_ttl, args.query_ttl, args.settle) < 0 or args.cache_mb <= 0 or args.poll_interval <= 0 \
            or args.auth_ttl < 0:
        args.parser.error("TTLs and --settle must be 0 or more; --cache-mb and --poll-interval more than 0")
    size = int(args.cache_mb * 2**20)
    settings = cache.CacheSettings(item_ttl=args.item_ttl, query_ttl=args.query_ttl, item_bytes=size,
                                   query_bytes=size, settle=args.settle, invalidate_queries=args.invalidate_queries)
    access, secret = found
    return run(DaxSettings(args.upstream, access, secret, args.region, settings, args.poll_interval, args.auth_ttl),
               args.host, args.port)
