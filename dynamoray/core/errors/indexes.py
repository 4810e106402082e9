"""Secondary indexes (``core/index_tables.py``, ``core/indexes.py``, Query/Scan on an index)."""

from __future__ import annotations

from .base import INVALID_PARAMS_ARE, DynamoError, invalid_parameter, limit_exceeded, resource_not_found, validation


def index_list_empty(member: str) -> DynamoError:
    """``member`` is LocalSecondaryIndexes or GlobalSecondaryIndexes."""
    return invalid_parameter(f"List of {member} is empty")


def lsi_without_table_range() -> DynamoError:
    return invalid_parameter(
        "Table KeySchema does not have a range key, which is required when specifying a LocalSecondaryIndex"
    )


def lsi_without_range(index: str) -> DynamoError:
    return invalid_parameter(f"Index KeySchema does not have a range key for index: {index}")


def lsi_hash_mismatch(index: str, index_hash: str, table_hash: str) -> DynamoError:
    return invalid_parameter(
        "Index KeySchema does not have the same leading hash key as table KeySchema for index: "
        f"{index}. index hash key: {index_hash}, table hash key: {table_hash}"
    )


def unknown_projection_type(kind: str | None) -> DynamoError:
    return invalid_parameter(f"Unknown ProjectionType: {'null' if kind is None else kind}")


def non_key_attributes_not_allowed(kind: str) -> DynamoError:
    return invalid_parameter(f"ProjectionType is {kind}, but NonKeyAttributes is specified")


def duplicate_index_name(index: str) -> DynamoError:
    return invalid_parameter(f"Duplicate index name: {index}")


def too_many_lsi(limit: int) -> DynamoError:
    return invalid_parameter(f"Number of LocalSecondaryIndexes exceeds per-table limit of {limit}")


def too_many_gsi(limit: int) -> DynamoError:
    return invalid_parameter(f"GlobalSecondaryIndex count exceeds the per-table limit of {limit}")


def too_many_projected_attributes(limit: int, count: int) -> DynamoError:
    return invalid_parameter(
        f"The number of NonKeyAttributes in all indexes of a table exceeds the limit of {limit}: {count}"
    )


def index_throughput_forbidden(index: str) -> DynamoError:
    return invalid_parameter(
        f"ProvisionedThroughput should not be specified for index: {index} when BillingMode is PAY_PER_REQUEST"
    )


def index_throughput_required(index: str) -> DynamoError:
    return invalid_parameter(f"ProvisionedThroughput must be specified for index: {index}")


def index_update_empty() -> DynamoError:
    return invalid_parameter(
        "One of GlobalSecondaryIndexUpdate.Update, GlobalSecondaryIndexUpdate.Create, "
        "GlobalSecondaryIndexUpdate.Delete must not be null"
    )


def index_update_ambiguous() -> DynamoError:
    return invalid_parameter(
        "Only one of GlobalSecondaryIndexUpdate.Update, GlobalSecondaryIndexUpdate.Create, "
        "GlobalSecondaryIndexUpdate.Delete can be specified"
    )


def index_update_repeated(index: str) -> DynamoError:
    return invalid_parameter(
        f"Only one global secondary index update per index is allowed simultaneously. Index: {index}"
    )


def one_online_index() -> DynamoError:
    return limit_exceeded(
        "Subscriber limit exceeded: Only 1 online index can be created or deleted simultaneously per table"
    )


def index_already_exists() -> DynamoError:
    return validation("Attempting to create an index which already exists")


def index_not_found(index: str, table: str) -> DynamoError:
    return resource_not_found(f"Requested resource not found: Index: {index} not found for table: {table}")


def attribute_redefined(name: str, existing: str, requested: str) -> DynamoError:
    return invalid_parameter(
        "Attributes cannot be redefined. Please check that your attribute has the same type as previously "
        f"defined. Attribute: {name}, existing type: {existing}, new type: {requested}"
    )


def table_has_no_index(index: str) -> DynamoError:
    return validation(f"The table does not have the specified index: {index}")


def consistent_read_on_gsi() -> DynamoError:
    return validation("Consistent reads are not supported on global secondary indexes")


def select_all_on_gsi(index: str) -> DynamoError:
    return invalid_parameter(
        f"Select type ALL_ATTRIBUTES is not supported for global secondary index {index} "
        "because its projection type is not ALL"
    )


def index_backfilling(index: str) -> DynamoError:
    return validation(f"Cannot read from backfilling global secondary index: {index}")


def starting_key_invalid() -> DynamoError:
    return validation("The provided starting key is invalid")


def index_key_type_mismatch(name: str, expected: str, actual: str, index: str) -> DynamoError:
    return invalid_parameter(
        f"Type mismatch for Index Key {name} Expected: {expected} Actual: {actual} IndexName: {index}"
    )


def index_key_empty(index: str, name: str, kind: str) -> DynamoError:
    """``kind`` is ``string`` or ``binary``."""
    return validation(
        INVALID_PARAMS_ARE + "A value specified for a secondary index key is not supported. "
        f"The AttributeValue for a key attribute cannot contain an empty {kind} value. "
        f"IndexName: {index}, IndexKey: {name}"
    )
