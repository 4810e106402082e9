"""What the waiters and restore helpers decide from a DescribeTable answer (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .errors import DynamoDBError


@dataclass(frozen=True)
class Wait:
    """How long to wait: ``timeout`` seconds in all, polling every ``interval`` seconds."""

    timeout: float = 300.0
    interval: float = 0.2


def table_ready(description: dict[str, Any]) -> bool:
    """ACTIVE, and not still loading a restore."""
    restoring = (description.get("RestoreSummary") or {}).get("RestoreInProgress", False)
    return description.get("TableStatus") == "ACTIVE" and not restoring


def restore_failed(description: dict[str, Any]) -> DynamoDBError | None:
    status = description.get("TableStatus")
    if status in ("INACCESSIBLE_ENCRYPTION_CREDENTIALS", "ARCHIVED"):
        return DynamoDBError(f"Table {description.get('TableName')} became {status}", code="RestoreFailed")
    return None


def table_settled(description: dict[str, Any]) -> bool:
    """ACTIVE, and so is each global secondary index (one being deleted is still listed)."""
    indexes = description.get("GlobalSecondaryIndexes") or ()
    return description.get("TableStatus") == "ACTIVE" and all(i.get("IndexStatus") == "ACTIVE" for i in indexes)
