"""The floor: a trivial aiohttp server (on uvloop, like ``dynamoray serve``) answering ``{}``.

    python bench/_gw_floor.py --port PORT [--host 127.0.0.1]

Every POST gets ``{}`` with DynamoDB's JSON 1.0 content type, so a run against it measures HTTP plus
the load generator and nothing else. ``GET /health`` answers 200.
"""

from __future__ import annotations

import argparse

from aiohttp import web

CONTENT_TYPE = "application/x-amz-json-1.0"


async def answer(request: web.Request) -> web.Response:
    await request.read()
    return web.Response(body=b"{}", headers={"Content-Type": CONTENT_TYPE})


async def health(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def app() -> web.Application:
    application = web.Application(client_max_size=16 * 1024 * 1024)
    application.router.add_get("/health", health)
    application.router.add_post("/{tail:.*}", answer)
    return application


def main() -> None:
    parser = argparse.ArgumentParser(description="trivial DynamoDB-protocol HTTP floor")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    try:
        import uvloop

        uvloop.install()
    except ImportError:  # pragma: no cover - uvloop is installed with dynamoray
        pass
    web.run_app(app(), host=args.host, port=args.port, access_log=None, print=None)


if __name__ == "__main__":
    main()
