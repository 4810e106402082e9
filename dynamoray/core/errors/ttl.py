"""Time to live (UpdateTimeToLive)."""

from __future__ import annotations

from .base import DynamoError, validation


def ttl_already_enabled() -> DynamoError:
    return validation("TimeToLive is already enabled")


def ttl_already_disabled() -> DynamoError:
    return validation("TimeToLive is already disabled")


def ttl_other_attribute(current: str) -> DynamoError:
    """Enabling (or disabling) TTL on another attribute than the one it is active on."""
    return validation(f"TimeToLive is active on a different AttributeName: current AttributeName is {current}")
