"""The expression front-end (``core/expressions``: parser.py, resolve.py, keycond.py).

``kind`` is the request parameter (ConditionExpression, UpdateExpression, ...)."""

from __future__ import annotations

from .base import DynamoError, invalid_parameter, validation


def invalid_expression(kind: str, detail: str) -> DynamoError:
    """``Invalid <kind>: <detail>``, e.g. kind ``ConditionExpression``."""
    return validation(f"Invalid {kind}: {detail}")


def expression_syntax(kind: str, token: str, near: str) -> DynamoError:
    return invalid_expression(kind, f'Syntax error; token: "{token}", near: "{near}"')


def reserved_keyword(kind: str, word: str) -> DynamoError:
    return invalid_expression(kind, f"Attribute name is a reserved keyword; reserved keyword: {word}")


def expression_empty(kind: str) -> DynamoError:
    return invalid_expression(kind, "The expression can not be empty;")


def expression_too_large(kind: str, size: int) -> DynamoError:
    return invalid_expression(kind, f"Expression size has exceeded the maximum allowed size; expression size: {size}")


def redundant_parentheses(kind: str) -> DynamoError:
    return invalid_expression(kind, "The expression has redundant parentheses;")


def unknown_function(kind: str, name: str) -> DynamoError:
    return invalid_expression(kind, f"Invalid function name; function: {name}")


def function_misused(kind: str, name: str) -> DynamoError:
    """A condition function used as an operand, or ``size`` used as a condition."""
    return invalid_expression(
        kind, f"The function is not allowed to be used this way in an expression; function: {name}"
    )


def function_not_in_condition(kind: str, name: str) -> DynamoError:
    return invalid_expression(kind, f"The function is not allowed in a condition expression; function: {name}")


def function_not_in_update(kind: str, name: str) -> DynamoError:
    return invalid_expression(kind, f"The function is not allowed in an update expression; function: {name}")


def operand_count(kind: str, name: str, count: int) -> DynamoError:
    return invalid_expression(
        kind,
        "Incorrect number of operands for operator or function; "
        f"operator or function: {name}, number of operands: {count}",
    )


def operand_type(kind: str, name: str, type_name: str) -> DynamoError:
    """A constant operand of the wrong type (``type_name`` as DynamoDB prints it: S, N, M, ...)."""
    return invalid_expression(
        kind,
        f"Incorrect operand type for operator or function; operator or function: {name}, "
        f"operand type: {type_name}",
    )


def action_operand_type(kind: str, action: str, type_name: str) -> DynamoError:
    """ADD/DELETE with a constant of the wrong type (``type_name`` spelled out: STRING, MAP, ...)."""
    return invalid_expression(
        kind, f"Incorrect operand type for operator or function; operator: {action}, operand type: {type_name}"
    )


def requires_document_path(kind: str, name: str) -> DynamoError:
    return invalid_expression(kind, f"Operator or function requires a document path; operator or function: {name}")


def operands_not_distinct(kind: str, operator: str, path: str) -> DynamoError:
    return invalid_expression(
        kind,
        "The first operand must be distinct from the remaining operands for this operator or function; "
        f"operator: {operator}, first operand: {path}",
    )


def invalid_type_name(kind: str, name: str) -> DynamoError:
    return invalid_expression(
        kind, f"Invalid attribute type name found; type: {name}, valid types: {{B,NULL,SS,BOOL,L,BS,N,NS,S,M}}"
    )


def between_types(kind: str, low: str, high: str) -> DynamoError:
    """``low``/``high`` rendered as ``AttributeValue: {N:5}``."""
    return invalid_expression(
        kind,
        "The BETWEEN operator requires same data type for lower and upper bounds; "
        f"lower bound operand: {low}, upper bound operand: {high}",
    )


def between_order(kind: str, low: str, high: str) -> DynamoError:
    return invalid_expression(
        kind,
        "The BETWEEN operator requires upper bound to be greater than or equal to lower bound; "
        f"lower bound operand: {low}, upper bound operand: {high}",
    )


def in_too_many_operands(kind: str, count: int) -> DynamoError:
    return invalid_expression(kind, f"The IN operator is provided with too many operands; number of operands: {count}")


def path_too_deep(kind: str, levels: int) -> DynamoError:
    return invalid_expression(kind, f"The document path has too many nesting levels; nesting levels: {levels}")


def section_repeated(kind: str, section: str) -> DynamoError:
    return invalid_expression(kind, f'The "{section}" section can only be used once in an update expression;')


def paths_overlap(kind: str, one: str, two: str) -> DynamoError:
    return invalid_expression(
        kind,
        "Two document paths overlap with each other; must remove or rewrite one of these paths; "
        f"path one: {one}, path two: {two}",
    )


def paths_conflict(kind: str, one: str, two: str) -> DynamoError:
    return invalid_expression(
        kind,
        "Two document paths conflict with each other; must remove or rewrite one of these paths; "
        f"path one: {one}, path two: {two}",
    )


def undefined_name(kind: str, name: str) -> DynamoError:
    return invalid_expression(
        kind, f"An expression attribute name used in the document path is not defined; attribute name: {name}"
    )


def undefined_value(kind: str, name: str) -> DynamoError:
    return invalid_expression(
        kind, f"An expression attribute value used in expression is not defined; attribute value: {name}"
    )


def attribute_names_empty() -> DynamoError:
    return validation("ExpressionAttributeNames must not be empty")


def attribute_values_empty() -> DynamoError:
    return validation("ExpressionAttributeValues must not be empty")


def attribute_names_invalid_key(key: str) -> DynamoError:
    return validation(f'ExpressionAttributeNames contains invalid key: Syntax error; key: "{key}"')


def attribute_values_invalid_key(key: str) -> DynamoError:
    return validation(f'ExpressionAttributeValues contains invalid key: Syntax error; key: "{key}"')


def attribute_values_invalid_value(detail: str, key: str) -> DynamoError:
    return validation(f"ExpressionAttributeValues contains invalid value: {detail} for key {key}")


def attribute_names_unused(keys: list[str]) -> DynamoError:
    return validation(f"Value provided in ExpressionAttributeNames unused in expressions: keys: {{{', '.join(keys)}}}")


def attribute_values_unused(keys: list[str]) -> DynamoError:
    return validation(f"Value provided in ExpressionAttributeValues unused in expressions: keys: {{{', '.join(keys)}}}")


def key_invalid_operator(operator: str) -> DynamoError:
    return validation(f"Invalid operator used in KeyConditionExpression: {operator}")


def key_nested_operations() -> DynamoError:
    return validation("KeyConditionExpressions cannot contain nested operations")


def key_nested_attributes() -> DynamoError:
    return validation("KeyConditionExpressions cannot have conditions on nested attributes")


def key_invalid_condition(detail: str) -> DynamoError:
    return validation(f"Invalid condition in KeyConditionExpression: {detail}")


def key_condition_repeated() -> DynamoError:
    return validation("KeyConditionExpressions must only contain one condition per key")


def key_condition_type() -> DynamoError:
    return invalid_parameter("Condition parameter type does not match schema type")
