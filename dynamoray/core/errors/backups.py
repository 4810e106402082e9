"""Backups and point-in-time recovery."""

from __future__ import annotations

from .base import DynamoError


def backup_not_found(arn: str) -> DynamoError:
    return DynamoError("BackupNotFoundException", f"Backup not found: {arn}")


def backup_table_not_found(table: str) -> DynamoError:
    """The backup and continuous-backup operations name a missing table with their own error."""
    return DynamoError("TableNotFoundException", f"Table not found: {table}")


def restore_target_exists(table: str) -> DynamoError:
    return DynamoError("TableAlreadyExistsException", f"Table already exists: {table}")


def point_in_time_recovery_unavailable(table: str) -> DynamoError:
    return DynamoError("PointInTimeRecoveryUnavailableException",
                       f"Point in time recovery is not enabled for table '{table}'")


def invalid_restore_time(earliest: str, latest: str) -> DynamoError:
    return DynamoError(
        "InvalidRestoreTimeException",
        f"Invalid restore time specified. RestoreDateTime must be between {earliest} and {latest}",
    )


def restore_in_progress(table: str) -> DynamoError:
    return DynamoError("TableInUseException", f"Table is being restored: {table}")
