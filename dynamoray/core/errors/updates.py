"""Update evaluation (UpdateExpression and the legacy AttributeUpdates)."""

from __future__ import annotations

from .base import DynamoError, invalid_parameter, validation


def update_attribute_missing() -> DynamoError:
    return validation("The provided expression refers to an attribute that does not exist in the item")


def update_operand_type() -> DynamoError:
    return validation("An operand in the update expression has an incorrect data type")


def update_path_invalid() -> DynamoError:
    return validation("The document path provided in the update expression is invalid for update")


def update_type_mismatch() -> DynamoError:
    """A type clash in a legacy ``AttributeUpdates`` ADD/DELETE."""
    return validation("Type mismatch for attribute to update")


def key_attribute_update(name: str) -> DynamoError:
    return invalid_parameter(f"Cannot update attribute {name}. This attribute is part of the key")


def attribute_update_without_value() -> DynamoError:
    return invalid_parameter("Only DELETE action is allowed when no attribute value is specified")


def attribute_update_delete_type(kind: str) -> DynamoError:
    return invalid_parameter(f"DELETE action with value is not supported for the type {kind}")


def attribute_update_add_type(kind: str) -> DynamoError:
    return invalid_parameter(f"ADD action is not supported for the type {kind}")
