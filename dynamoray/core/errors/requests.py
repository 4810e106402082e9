"""Request-shape errors (``dynamoray.schemas.validate``): the coral framework's wording for a
field of the wrong JSON type, a violated constraint of the service model, a missing parameter."""

from __future__ import annotations

from typing import Any

from .base import DynamoError, serialization, validation


# Request-shape checks (dynamoray.schemas.validate): the coral framework's wording.
JAVA_NS = "com.amazonaws.dynamodb.v20120810."
UNEXPECTED_FIELD = "Unexpected field type"
UNEXPECTED_VALUE = "Unexpected value type in payload"
UNEXPECTED_TOKEN = "Unexpected token received from parser"
STRUCTURE_NOT_EXPECTED = "Start of structure or map found where not expected"
NOT_BASE64 = "only base-64-encoded strings are convertible to bytes"
PARAMETERIZED_CAST = (
    "class sun.reflect.generics.reflectiveObjects.ParameterizedTypeImpl cannot be cast to class "
    "java.lang.Class (sun.reflect.generics.reflectiveObjects.ParameterizedTypeImpl and "
    "java.lang.Class are in module java.base of loader 'bootstrap')"
)


def not_convertible(json_kind: str, java_type: str) -> DynamoError:
    """``NUMBER_VALUE cannot be converted to String`` and the like."""
    return serialization(f"{json_kind} cannot be converted to {java_type}")


def unrecognized_collection(java_type: str) -> DynamoError:
    return serialization(f"Unrecognized collection type {java_type}")


MEMBER_NOT_NULL = "Member must not be null"


def constraint_text(kind: str, bound: Any) -> str:
    """One constraint as coral words it; ``kind`` is min_len, max_len, min, max, pattern, enum or nested."""
    return {
        "min_len": "Member must have length greater than or equal to {}",
        "max_len": "Member must have length less than or equal to {}",
        "min": "Member must have value greater than or equal to {}",
        "max": "Member must have value less than or equal to {}",
        "pattern": "Member must satisfy regular expression pattern: {}",
        "enum": "Member must satisfy enum value set: [{}]",
        "keys": "Map keys must satisfy constraint: [{}]",
        "values": "Map value must satisfy constraint: [{}]",
        "members": "Member must satisfy constraint: [{}]",
    }[kind].format(bound)


def constraint_violation(rendered: str, path: str, constraint: str) -> str:
    """``Value 'x' at 'tableName' failed to satisfy constraint: ...`` (``rendered`` already quoted)."""
    return f"Value {rendered} at '{path}' failed to satisfy constraint: {constraint}"


def constraint_violations(violations: list[str]) -> DynamoError:
    """``N validation error(s) detected: a; b``."""
    n = len(violations)
    return validation(f"{n} validation error{'s' if n > 1 else ''} detected: " + "; ".join(violations))


def parameter_required(name: str) -> DynamoError:
    return validation(f"The parameter '{name}' is required but was not present in the request")


def table_name_length() -> DynamoError:
    return validation("TableName must be at least 3 characters long and at most 255 characters long")


def wrong_json_type(raw: object, target: str) -> DynamoError:
    """A JSON value of the wrong kind where ``target`` (String, Boolean, ...) was expected."""
    if isinstance(raw, bool):
        return not_convertible("TRUE_VALUE" if raw else "FALSE_VALUE", target)
    if isinstance(raw, int):
        return not_convertible("NUMBER_VALUE", target)
    if isinstance(raw, float):
        return not_convertible("DECIMAL_VALUE", target)
    if isinstance(raw, list):
        return unrecognized_collection(f"class java.lang.{target}")
    if isinstance(raw, dict):
        return serialization("Start of structure or map found where not expected")
    return serialization("Unexpected value type in payload")


def wrong_container(raw: object, want: str) -> DynamoError:
    """A scalar, list or map where a ``list`` or ``map`` was expected."""
    if isinstance(raw, dict):
        return serialization("Start of structure or map found where not expected")
    if isinstance(raw, list):
        return serialization("Start of list found where not expected")
    return serialization(f"Expected {want} or null")
