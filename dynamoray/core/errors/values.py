"""Attribute values that DynamoDB refuses (``core/values.py``): numbers out of range or
precision, items too large or too deeply nested, sets with duplicates."""

from __future__ import annotations

from .base import DynamoError, invalid_parameter, validation


def number_not_convertible() -> DynamoError:
    return validation("A value provided cannot be converted into a number")


def number_not_numeric(text: str) -> DynamoError:
    """A malformed ``N`` value (PutItem/GetItem/Query wording: the text is echoed, even when empty)."""
    return validation(f"The parameter cannot be converted to a numeric value: {text}")


def number_too_precise() -> DynamoError:
    return validation("Attempting to store more than 38 significant digits in a Number")


def number_overflow() -> DynamoError:
    return validation("Number overflow. Attempting to store a number with magnitude larger than supported range")


def number_underflow() -> DynamoError:
    return validation(
        "Number underflow. Attempting to store a number with magnitude smaller than supported range"
    )


def item_too_large() -> DynamoError:
    return validation("Item size has exceeded the maximum allowed size")


def nesting_too_deep() -> DynamoError:
    return validation(
        "Nesting Levels have exceeded supported limits: "
        "Attributes in the item have nested levels beyond supported limit"
    )


def duplicate_set_members(shown: str | None) -> DynamoError:
    """``shown`` is the bracketed member list (SS), or ``None`` for a number set (no list)."""
    if shown is None:
        return invalid_parameter("Input collection contains duplicates.")
    return invalid_parameter(f"Input collection {shown} contains duplicates.")


def duplicate_binary_set_members(shown: str) -> DynamoError:
    return invalid_parameter(f"Input collection {shown}of type BS contains duplicates.")  # sic, no space
