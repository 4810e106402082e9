"""Export to S3 and import from S3 (``core/exports.py``, ``core/imports.py``)."""

from __future__ import annotations

from .base import DynamoError


def invalid_export_time(earliest: str, latest: str) -> DynamoError:
    return DynamoError(
        "InvalidExportTimeException",
        f"Invalid export time specified. The export time must be between {earliest} and {latest}",
    )


def export_not_found(arn: str) -> DynamoError:
    return DynamoError("ExportNotFoundException", f"Export not found: {arn}")


def import_not_found(arn: str) -> DynamoError:
    return DynamoError("ImportNotFoundException", f"Import not found: {arn}")


def export_conflict() -> DynamoError:
    return DynamoError("ExportConflictException",
                       "An export with the same ClientToken and different parameters already exists")


def import_conflict() -> DynamoError:
    return DynamoError("ImportConflictException",
                       "An import with the same ClientToken and different parameters already exists")
