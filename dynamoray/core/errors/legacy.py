"""Legacy conditions (Expected, QueryFilter/ScanFilter, KeyConditions, AttributesToGet)."""

from __future__ import annotations

from .base import DynamoError, invalid_parameter, validation


def legacy_argument_count(operator: str) -> DynamoError:
    return invalid_parameter(f"Invalid number of argument(s) for the {operator} ComparisonOperator")


def legacy_operator_type(operator: str, kind: str) -> DynamoError:
    return invalid_parameter(f"ComparisonOperator {operator} is not valid for {kind} AttributeValue type")


def legacy_mixed_types() -> DynamoError:
    return invalid_parameter("AttributeValues inside AttributeValueList must be of same type")


def legacy_between_bounds() -> DynamoError:
    return validation(
        "The BETWEEN condition was provided a range where the lower bound is greater than the upper bound"
    )


def expected_conflict(first: str, second: str, attribute: str) -> DynamoError:
    """E.g. ``Exists and ComparisonOperator cannot be used together for Attribute: a``."""
    return invalid_parameter(f"{first} and {second} cannot be used together for Attribute: {attribute}")


def expected_missing_argument(operator: str, attribute: str) -> DynamoError:
    return invalid_parameter(
        f"Value or AttributeValueList must be used with ComparisonOperator: {operator} "
        f"for Attribute: {attribute}"
    )


def expected_list_without_operator(attribute: str) -> DynamoError:
    return invalid_parameter(
        f"AttributeValueList can only be used with a ComparisonOperator for Attribute: {attribute}"
    )


def expected_value_required(exists: str, attribute: str) -> DynamoError:
    """``exists`` is how the request spelled Exists: ``null`` (absent) or ``true``."""
    return invalid_parameter(f"Value must be provided when Exists is {exists} for Attribute: {attribute}")


def expected_value_forbidden(attribute: str) -> DynamoError:
    return invalid_parameter(f"Value cannot be used when Exists is false for Attribute: {attribute}")


def conditional_operator_without_conditions() -> DynamoError:
    return validation("ConditionalOperator cannot be used without Filter or Expected")


def conditional_operator_single_condition() -> DynamoError:
    return validation("ConditionalOperator can only be used when Filter or Expected has two or more elements")


def mixed_expression_parameters(legacy: list[str], expression: list[str]) -> DynamoError:
    return validation(
        "Can not use both expression and non-expression parameters in the same request: "
        f"Non-expression parameters: {{{', '.join(legacy)}}} "
        f"Expression parameters: {{{', '.join(expression)}}}"
    )


def duplicate_attribute_to_get(name: str) -> DynamoError:
    return invalid_parameter(f"Duplicate value in attribute name: {name}")


def key_conditions_length() -> DynamoError:
    return validation("Conditions can be of length 1 or 2 only")


def key_condition_missed(name: str) -> DynamoError:
    return validation(f"Query condition missed key schema element: {name}")


def key_condition_not_supported() -> DynamoError:
    return validation("Query key condition not supported")


def key_condition_not_indexable() -> DynamoError:
    return validation("Attempted conditional constraint is not an indexable operation")
