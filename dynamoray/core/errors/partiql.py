"""PartiQL (``core/partiql``; ExecuteStatement, BatchExecuteStatement, ExecuteTransaction)."""

from __future__ import annotations

from .base import DynamoError, validation


def partiql_syntax(detail: str) -> DynamoError:
    return validation(f"Statement wasn't well formed, can't be processed: {detail}")


def partiql_parameter_count() -> DynamoError:
    return validation("Number of parameters in request and statement don't match.")


def partiql_incomplete_key() -> DynamoError:
    return validation("Where clause does not contain a mandatory equality on all key attributes")


def partiql_repeated_key_condition(name: str) -> DynamoError:
    return validation(f"Multiple conditions on same key {name}. Only single item Update/Insert/Delete are supported")


def partiql_key_type(name: str) -> DynamoError:
    return validation(f"Key attribute's data type should match its data type in table's schema: Key {name}")


def partiql_duplicate_item() -> DynamoError:
    return DynamoError("DuplicateItemException", "Duplicate primary key exists in table")


def partiql_unsupported_clause(clause: str) -> DynamoError:
    return validation(f"Unsupported clause: {clause}")


def partiql_unsupported_operation(what: str) -> DynamoError:
    return validation(f"Unsupported operation: {what}")


def partiql_unsupported_token(token: str) -> DynamoError:
    return validation(f"Unsupported token in expression: {token}")


def partiql_unrecognized_function(name: str) -> DynamoError:
    return validation(f"Unrecognized function: {name}")


def partiql_alias() -> DynamoError:
    return validation("Aliasing is not supported")


def partiql_star_with_attributes() -> DynamoError:
    return validation("Other attributes should not be present in the projection when '*' is used.")


def partiql_duplicate_identifiers(name: str) -> DynamoError:
    return validation(f"Duplicate identifiers in select clause: {name}")


def partiql_single_source() -> DynamoError:
    return validation("Only select from a single table or index is supported.")


def partiql_source_components() -> DynamoError:
    return validation("A path may contain at most 2 components in the FROM clause")


def partiql_not_on_index() -> DynamoError:
    return validation("This operation is not supported on an index")


def partiql_insert_several() -> DynamoError:
    return validation('Unsupported operation: Inserting multiple items in a single statement is not supported, '
                      'use "INSERT INTO tableName VALUE item" instead')


def partiql_insert_format() -> DynamoError:
    return validation("Unsupported format in item expression. Please use struct format {...} to express item "
                      "values for insert statement.")


def partiql_insert_returning() -> DynamoError:
    return validation("RETURNING is not supported in INSERT")


def partiql_delete_returning(shown: str) -> DynamoError:
    return validation(f"Invalid returning clause: RETURNING {shown}. Only RETURNING ALL OLD * is allowed in "
                      "DELETE statements.")


def partiql_returning_star() -> DynamoError:
    return validation("Expected '*' after ( MODIFIED | ALL ) ( NEW | OLD ) in RETURNING clause")


def partiql_empty_bag() -> DynamoError:
    return validation("Empty bags are not supported")


def partiql_bag_type() -> DynamoError:
    return validation("Unsupported data type in Bag. DynamoDB only supports either numbers or strings in bags")


def partiql_missing_comparison() -> DynamoError:
    return validation("MISSING must be compared using IS operator")


def partiql_tuple_key_type(actual: str, under: str) -> DynamoError:
    return validation(f"Tuple keys must be of type String. Actual type: {actual} under {under}")


def partiql_duplicate_tuple_key(key: str, under: str) -> DynamoError:
    return validation(f"Duplicate keys in tuple. Key: {key} under {under}")


def partiql_in_operands() -> DynamoError:
    return validation("IN operator must have a left hand argument of type Variable Reference and right hand "
                      "argument of type Seq with at least one member")


def partiql_set_function_arguments(function: str) -> DynamoError:
    return validation(f"SET_{function} must have exactly two arguments")


def partiql_set_function_target(function: str) -> DynamoError:
    return validation(f"The first argument to SET_{function} must equal the assignment value")


def partiql_set_function_value(function: str) -> DynamoError:
    return validation(f"The second argument to SET_{function} must be a value with type SET")


def partiql_order_by_without_where() -> DynamoError:
    return validation("Must have WHERE clause in the statement when using ORDER BY clause.")


def partiql_order_by_without_hash() -> DynamoError:
    return validation("Must have at least one non-optional hash key condition in WHERE clause when using ORDER BY clause.")


def partiql_order_by_not_key(name: str) -> DynamoError:
    return validation(f"Variable reference {name} in ORDER BY clause must be part of the primary key")


def partiql_order_by_hash_required() -> DynamoError:
    return validation("Must have hash key in ORDER BY clause when more than one hash key condition specified in "
                      "WHERE clause.")


def partiql_too_many_reads() -> DynamoError:
    return validation("Too many decomposed read operations for a given query.")


def partiql_invalid_next_token() -> DynamoError:
    return validation("Invalid NextToken")


def partiql_next_token_mismatch() -> DynamoError:
    return validation("NextToken does not match request")


def partiql_exists_outside_transaction() -> DynamoError:
    return validation("EXISTS can only be used in ExecuteTransaction write requests.")


def partiql_exists_key() -> DynamoError:
    return validation("EXISTS() must contain a single item read with additional condition")


def partiql_batch_mixed() -> DynamoError:
    return validation("Read and write requests together in the same batch is not supported.")


def partiql_batch_select() -> DynamoError:
    return validation("Only single item select is supported")


def partiql_batch_duplicates() -> DynamoError:
    """Two statements of one BatchExecuteStatement on the same item."""
    return validation("Provided list of item keys contains duplicates")


def partiql_transaction_mixed() -> DynamoError:
    return validation("ExecuteTransaction API does not support both read and write operations in the same request.")


def partiql_transaction_select() -> DynamoError:
    return validation("Select statements within ExecuteTransaction must specify the primary key in the where clause.")


def partiql_transaction_index() -> DynamoError:
    return validation("Reads on indices are not supported within transactions.")


def partiql_transaction_unsupported() -> DynamoError:
    return validation("Unsupported operation in transaction.")
