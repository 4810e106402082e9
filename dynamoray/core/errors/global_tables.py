"""Global tables (``core/global_tables.py``, ``gateway/replication.py``): replicas in the
current version and the 2017.11.29 API."""

from __future__ import annotations

from .base import DynamoError, validation


def global_tables_off() -> DynamoError:
    return validation("Global tables are not available on this server: start it with --region and --regions-file")


def unknown_region(region: str) -> DynamoError:
    return validation(f"One or more parameter values were invalid: Region {region} is not a region of this "
                      "deployment (see --regions-file)")


def replica_in_own_region(region: str) -> DynamoError:
    return validation(f"One or more parameter values were invalid: Cannot add a replica in {region}, "
                      "the region of the table itself")


def replica_exists(table: str, region: str) -> DynamoError:
    return validation(f"Failed to create the new replica of table with name: '{table}' because a replica "
                      f"already exists in region {region}")


def replica_missing(table: str, region: str) -> DynamoError:
    return validation(f"One or more parameter values were invalid: Table {table} has no replica in region {region}")


def replica_stream_type(table: str, view_type: str) -> DynamoError:
    return validation(f"One or more parameter values were invalid: Table {table} has a stream with StreamViewType "
                      f"{view_type}; a global table needs NEW_AND_OLD_IMAGES")


def replica_stream_disabled() -> DynamoError:
    return validation("One or more parameter values were invalid: Disabling Stream is not allowed for a Global "
                      "Table replica.")


def replica_update_member() -> DynamoError:
    return validation("One or more parameter values were invalid: One of ReplicationGroupUpdate.Create, "
                      "ReplicationGroupUpdate.Update, ReplicationGroupUpdate.Delete must be specified")


def global_table_not_found(name: str) -> DynamoError:
    return DynamoError("GlobalTableNotFoundException", f"Global table with name: '{name}' does not exist")


def global_table_exists(name: str) -> DynamoError:
    return DynamoError("GlobalTableAlreadyExistsException", f"Global table with name: '{name}' already exists")


def global_member_not_found(name: str, region: str) -> DynamoError:
    return DynamoError("TableNotFoundException", f"Table: {name} not found in region: {region}")


def replica_not_found(name: str, region: str) -> DynamoError:
    return DynamoError("ReplicaNotFoundException", f"Replica for global table '{name}' not found in region {region}")


def replica_already_exists(name: str, region: str) -> DynamoError:
    return DynamoError("ReplicaAlreadyExistsException",
                       f"Replica for global table '{name}' already exists in region {region}")


def global_table_streams(name: str, region: str) -> DynamoError:
    return validation(f"One or more parameter values were invalid: Table: {name} in region: {region} does not "
                      "have streams enabled with NEW_AND_OLD_IMAGES")
