"""dynamoray's own extensions: table forks, stream replay, test knobs (docs/extensions.md)."""

from __future__ import annotations

from .base import DynamoError, validation


def fork_point(detail: str) -> DynamoError:
    """ForkTable's AtTime/AtOffsets (one of them, well formed, within the retained log)."""
    return validation(f"Invalid fork point: {detail}")


def test_knobs_disabled() -> DynamoError:
    return validation("Test knobs are not enabled on this server: start it with dynamoray serve --test-knobs")


def test_knob(detail: str) -> DynamoError:
    return validation(f"Invalid test knob: {detail}")
