"""The errors package: every name the single ``errors.py`` module had is still exported, each area
module's public names are re-exported as the same objects, and no two areas define the same name."""

import importlib
import inspect
import pickle
import pkgutil

import pytest

from dynamoray.core import errors
from dynamoray.core.errors import DynamoError

# The public names of ``core/errors.py`` before it became a package (constructors and message
# constants).  A name lost in a move fails here; new names need not be added.
NAMES_BEFORE_THE_SPLIT = """
DynamoError INVALID_PARAMS INVALID_PARAMS_ARE JAVA_NS MEMBER_NOT_NULL NOT_BASE64 ON_DEMAND_HOT_KEY
PARAMETERIZED_CAST PARTITION_MOVED STRUCTURE_NOT_EXPECTED UNEXPECTED_FIELD UNEXPECTED_TOKEN
UNEXPECTED_VALUE access_denied action_operand_type attribute_definitions_unused attribute_names_empty
attribute_names_invalid_key attribute_names_unused attribute_redefined attribute_update_add_type
attribute_update_delete_type attribute_update_without_value attribute_values_empty
attribute_values_invalid_key attribute_values_invalid_value attribute_values_unused backup_not_found
backup_table_not_found between_order between_types capacity_feature_off capacity_parameter
conditional_check_failed conditional_operator_single_condition conditional_operator_without_conditions
consistent_read_on_gsi constraint_text constraint_violation constraint_violations delete_conflict
duplicate_attribute_to_get duplicate_binary_set_members duplicate_index_name duplicate_set_members
empty_key_value encryption_off entity_already_exists expected_conflict expected_list_without_operator
expected_missing_argument expected_value_forbidden expected_value_required expired_iterator
export_conflict export_not_found expression_empty expression_syntax expression_too_large fork_point
function_misused function_not_in_condition function_not_in_update global_member_not_found
global_table_exists global_table_not_found global_table_streams global_tables_off
hash_and_range_same_name hash_key_too_large hook_batch_too_large hook_constraint hook_not_found
hook_unavailable iam_limit_exceeded iam_validation idempotent_parameter_mismatch import_conflict
import_not_found in_too_many_operands index_already_exists index_backfilling index_key_empty
index_key_type_mismatch index_list_empty index_not_found index_throughput_forbidden
index_throughput_required index_update_ambiguous index_update_empty index_update_repeated
internal_server_error internal_table invalid_export_time invalid_expression invalid_key_schema
invalid_parameter invalid_resource_policy invalid_restore_time invalid_sequence_number
invalid_shard_iterator invalid_signature invalid_stream_arn invalid_type_name is_partition_moved
item_collection_size_limit_exceeded item_too_large iterator_expired key_attribute_update
key_attribute_without_definition key_attributes_not_defined key_condition_missed
key_condition_not_indexable key_condition_not_supported key_condition_repeated key_condition_type
key_conditions_length key_definition_count_mismatch key_invalid_condition key_invalid_operator
key_nested_attributes key_nested_operations key_schema_mismatch key_type_mismatch kms_inaccessible
kms_key_disabled kms_key_not_found kms_refused kms_throttled legacy_argument_count legacy_between_bounds
legacy_mixed_types legacy_operator_type limit_exceeded lsi_hash_mismatch lsi_without_range
lsi_without_table_range malformed_policy_document missing_authentication_token missing_key
mixed_expression_parameters mode_switch_limited nesting_too_deep no_stream_to_disable no_such_entity
non_key_attributes_not_allowed not_authorized not_convertible number_not_convertible number_not_numeric
number_overflow number_too_precise number_underflow one_online_index operand_count operand_type
operands_not_distinct parameter_required partiql_alias partiql_bag_type partiql_batch_duplicates
partiql_batch_mixed partiql_batch_select partiql_delete_returning partiql_duplicate_identifiers
partiql_duplicate_item partiql_duplicate_tuple_key partiql_empty_bag partiql_exists_key
partiql_exists_outside_transaction partiql_in_operands partiql_incomplete_key partiql_insert_format
partiql_insert_returning partiql_insert_several partiql_invalid_next_token partiql_key_type
partiql_missing_comparison partiql_next_token_mismatch partiql_not_on_index
partiql_order_by_hash_required partiql_order_by_not_key partiql_order_by_without_hash
partiql_order_by_without_where partiql_parameter_count partiql_repeated_key_condition
partiql_returning_star partiql_set_function_arguments partiql_set_function_target
partiql_set_function_value partiql_single_source partiql_source_components partiql_star_with_attributes
partiql_syntax partiql_too_many_reads partiql_transaction_index partiql_transaction_mixed
partiql_transaction_select partiql_transaction_unsupported partiql_tuple_key_type
partiql_unrecognized_function partiql_unsupported_clause partiql_unsupported_operation
partiql_unsupported_token partition_move_refused partition_moved path_too_deep paths_conflict
paths_overlap point_in_time_recovery_unavailable policy_not_found provisioned_throughput_exceeded
range_key_too_large records_trimmed redundant_parentheses replica_already_exists replica_exists
replica_in_own_region replica_missing replica_not_found replica_stream_disabled replica_stream_type
replica_update_member request_limit_exceeded requires_document_path reserved_keyword resource_in_use
resource_not_found restore_in_progress restore_target_exists section_repeated select_all_on_gsi
sequence_number_not_allowed sequence_number_required serialization service_unavailable shard_not_found
sse_already_default sse_key_without_enabled sse_same_key sse_type_not_supported sse_type_required
sse_type_without_enabled starting_key_invalid stream_already_enabled stream_not_found
stream_view_type_forbidden stream_view_type_required table_already_exists table_has_no_index
table_name_length table_not_found test_knob test_knobs_disabled throttling throttling_cancellation
throughput_exceeded timestamp_in_future timestamp_required too_many_gsi too_many_lsi
too_many_projected_attributes transact_item_one_action transaction_canceled transaction_conflict
transaction_in_progress transaction_multiple_operations transaction_too_large trimmed_data_access
ttl_already_disabled ttl_already_enabled ttl_other_attribute undefined_name undefined_value
unknown_function unknown_operation unknown_projection_type unknown_region unrecognized_client
unrecognized_collection update_attribute_missing update_operand_type update_path_invalid
update_type_mismatch validation wrong_container wrong_json_type""".split()

AREAS = [importlib.import_module(f"dynamoray.core.errors.{info.name}")
         for info in pkgutil.iter_modules(errors.__path__)]


def _own_definitions(module):
    """The functions and classes ``module`` defines itself (not those it imports)."""
    return {name: obj for name, obj in vars(module).items()
            if not name.startswith("_") and (inspect.isfunction(obj) or inspect.isclass(obj))
            and obj.__module__ == module.__name__}


def test_every_name_of_the_old_module_is_still_exported():
    assert len(NAMES_BEFORE_THE_SPLIT) == 287
    assert [name for name in NAMES_BEFORE_THE_SPLIT if not hasattr(errors, name)] == []


def test_the_areas_are_the_ones_the_docstring_lists():
    names = {area.__name__.rsplit(".", 1)[1] for area in AREAS}
    assert {"base", "expressions", "partiql", "streams"} <= names
    assert all(f"``{name}``" in errors.__doc__ for name in names)


@pytest.mark.parametrize("area", AREAS, ids=lambda area: area.__name__.rsplit(".", 1)[1])
def test_each_area_is_reexported_as_the_same_objects(area):
    public = {name: obj for name, obj in vars(area).items()
              if not name.startswith("_") and not inspect.ismodule(obj)}
    assert public
    assert [name for name, obj in public.items() if getattr(errors, name, None) is not obj] == []


def test_no_two_areas_define_the_same_name():
    seen: dict[str, str] = {}
    clashes = []
    for area in AREAS:
        for name in _own_definitions(area):
            if name in seen:
                clashes.append((name, seen[name], area.__name__))
            seen[name] = area.__name__
    assert clashes == []
    assert seen["table_not_found"] == "dynamoray.core.errors.items"


def test_constructors_built_in_different_areas_still_compose():
    # indexes and capacity build on base's limit_exceeded; items on resource_not_found.
    assert errors.one_online_index().error_type == "LimitExceededException"
    assert errors.index_not_found("i", "t").error_type == "ResourceNotFoundException"
    assert errors.table_not_found("t") == DynamoError(
        "ResourceNotFoundException", "Requested resource not found: Table: t not found")


def test_a_pickled_error_comes_back_equal():
    error = errors.transaction_canceled([{"Code": "None"}])
    assert pickle.loads(pickle.dumps(error)) == error
    assert isinstance(pickle.loads(pickle.dumps(error)), errors.DynamoError)
