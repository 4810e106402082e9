"""Conditions, tables and items: a failed condition, a missing or existing table."""

from __future__ import annotations

from .base import DynamoError, resource_in_use, resource_not_found


def conditional_check_failed(item: dict | None = None) -> DynamoError:
    extra = {"Item": item} if item is not None else {}
    return DynamoError("ConditionalCheckFailedException", "The conditional request failed", **extra)


def table_not_found(table: str) -> DynamoError:
    return resource_not_found(f"Requested resource not found: Table: {table} not found")


def table_already_exists(table: str) -> DynamoError:
    return resource_in_use(f"Table already exists: {table}")
