"""Hooks (the admin API's DeployHook and friends; dynamoray's own, shaped like Lambda's)."""

from __future__ import annotations

from .base import DynamoError, resource_not_found, validation


def hook_constraint(value: object, member: str, constraint: str) -> DynamoError:
    """A DeployHook parameter out of range, in the service model's wording."""
    return validation(f"1 validation error detected: Value '{value}' at '{member}' failed to satisfy "
                      f"constraint: {constraint}")


def hook_not_found(name: str) -> DynamoError:
    return resource_not_found(f"Hook not found: {name}")


def hook_unavailable(message: str) -> DynamoError:
    return validation(f"Hooks are not available on this server: {message}")


def hook_batch_too_large(writes: int, limit: int) -> DynamoError:
    """One stream record's writes exceed what one batch transaction can hold besides its checkpoint."""
    return validation(f"A hook batch wrote {writes} items; an exactly-once batch commits at most {limit} "
                      "items with its checkpoint in one transaction")
