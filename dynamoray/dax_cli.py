"""``dynamoray serve``'s accelerator options (``--dax-port`` and the cache settings; ``docs/accelerator.md``)."""

from __future__ import annotations

import argparse

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
