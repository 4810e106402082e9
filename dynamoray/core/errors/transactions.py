"""Transactions (TransactWriteItems, TransactGetItems, ExecuteTransaction)."""

from __future__ import annotations

from .base import DynamoError, validation


def transaction_canceled(reasons: list[dict]) -> DynamoError:
    codes = ", ".join(r.get("Code", "None") for r in reasons)
    return DynamoError(
        "TransactionCanceledException",
        f"Transaction cancelled, please refer cancellation reasons for specific reasons [{codes}]",
        CancellationReasons=reasons,
    )


def transaction_conflict() -> DynamoError:
    return DynamoError(
        "TransactionConflictException",
        "Transaction is ongoing for the item",
    )


def transaction_in_progress() -> DynamoError:
    return DynamoError("TransactionInProgressException", "Transaction is in progress")


def transaction_multiple_operations() -> DynamoError:
    """Two actions of one TransactWriteItems/TransactGetItems on the same item."""
    return validation("Transaction request cannot include multiple operations on one item")


def transact_item_one_action() -> DynamoError:
    """A TransactWriteItem with none, or more than one, of its four actions."""
    return validation("TransactItems can only contain one of Check, Put, Update or Delete")


def transaction_too_large() -> DynamoError:
    """The items of one transaction add up to more than 4 MB (wording not checked against AWS)."""
    return validation("Transaction request size has exceeded the maximum allowed size of 4 MB")


def idempotent_parameter_mismatch() -> DynamoError:
    return DynamoError(
        "IdempotentParameterMismatchException",
        "Specified ClientRequestToken has already been used with a different request.",
    )
