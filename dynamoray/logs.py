"""Structured logging: JSON lines in production, readable lines on a terminal."""

from __future__ import annotations

import logging
import sys

import orjson
import structlog


def configure(level: str = "info", json: bool | None = None) -> None:
    """Configure structlog once for the process (``json=None``: JSON unless stderr is a TTY)."""
    if json is None:
        json = not sys.stderr.isatty()
    renderer = (
        structlog.processors.JSONRenderer(serializer=lambda o, **kw: orjson.dumps(o, default=str).decode())
        if json
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.StackInfoRenderer(),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(getattr(logging, level.upper())),
        logger_factory=structlog.WriteLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )


def get(component: str) -> structlog.typing.FilteringBoundLogger:
    return structlog.get_logger(component=component)


if not structlog.is_configured():
    # Until a command configures logging (``dynamoray serve`` does, first thing), lines go to stderr
    # as well: structlog's own default is stdout, where they would mix into a command's output.
    configure()
