"""Keys: an item's key against the table's schema, and the KeySchema/AttributeDefinitions of
CreateTable and UpdateTable."""

from __future__ import annotations

from .base import INVALID_PARAMS_ARE, DynamoError, invalid_parameter, validation


def key_schema_mismatch() -> DynamoError:
    return validation("The provided key element does not match the schema")


def missing_key(name: str) -> DynamoError:
    return invalid_parameter(f"Missing the key {name} in the item")


def key_type_mismatch(name: str, expected: str, actual: str) -> DynamoError:
    return invalid_parameter(f"Type mismatch for key {name} expected: {expected} actual: {actual}")


def empty_key_value(name: str, kind: str) -> DynamoError:
    """``kind`` is ``string`` or ``binary``."""
    return validation(
        INVALID_PARAMS_ARE
        + f"The AttributeValue for a key attribute cannot contain an empty {kind} value. Key: {name}"
    )


def hash_key_too_large() -> DynamoError:
    return invalid_parameter("Size of hashkey has exceeded the maximum size limit of2048 bytes")  # sic


def range_key_too_large() -> DynamoError:
    return invalid_parameter("Aggregated size of all range keys has exceeded the size limit of 1024 bytes")


def invalid_key_schema(detail: str) -> DynamoError:
    """``Invalid KeySchema: <detail>`` (CreateTable / UpdateTable)."""
    return validation(f"Invalid KeySchema: {detail}")


def key_attribute_without_definition() -> DynamoError:
    return invalid_key_schema("Some index key attribute have no definition")  # sic


def key_attributes_not_defined(keys: list[str], definitions: list[str]) -> DynamoError:
    return invalid_parameter(
        "Some index key attributes are not defined in AttributeDefinitions. "
        f"Keys: [{', '.join(keys)}], AttributeDefinitions: [{', '.join(definitions)}]"
    )


def key_definition_count_mismatch() -> DynamoError:
    return invalid_parameter(
        "Number of attributes in KeySchema does not exactly match number of attributes defined "
        "in AttributeDefinitions"
    )


def attribute_definitions_unused(definitions: list[str], used: list[str]) -> DynamoError:
    return invalid_parameter(
        f"Some AttributeDefinitions are not used. AttributeDefinitions: [{', '.join(definitions)}], "
        f"keys used: [{', '.join(used)}]"
    )


def hash_and_range_same_name() -> DynamoError:
    return validation("Both the Hash Key and the Range Key element in the KeySchema have the same name")
