"""Hooks, the pure part: settings and their errors, the registry fold, checkpoints, backoff."""

import pytest

from dynamoray.core import hooks, partition
from dynamoray.core.errors import DynamoError
from dynamoray.schemas.events import HookDeployed, HookRemoved


def test_defaults_follow_lambda_event_source_mappings():
    spec = hooks.spec_from_wire({"HookName": "totals", "TableName": "orders"})
    assert spec == hooks.HookSpec("totals", "orders", batch_size=100, starting_position="TRIM_HORIZON",
                                  maximum_retry_attempts=-1, bisect_batch_on_error=False, on_failure="DLQ",
                                  exactly_once=True, members=1, batch_window=0.0, view_type="NEW_AND_OLD_IMAGES")
    assert hooks.spec_from_wire(spec.to_wire()) == spec


@pytest.mark.parametrize("member, value, message", [
    ("BatchSize", 0, "Value '0' at 'batchSize' failed to satisfy constraint: Member must have value greater than or equal to 1"),
    ("BatchSize", 10001,
     "Value '10001' at 'batchSize' failed to satisfy constraint: Member must have value less than or equal to 10000"),
    ("BatchSize", "5", "Value '5' at 'batchSize' failed to satisfy constraint: Member must be an integer"),
    ("MaximumRetryAttempts", -2, "Value '-2' at 'maximumRetryAttempts' failed to satisfy constraint: "
                                 "Member must have value greater than or equal to -1"),
    ("StartingPosition", "AT_TIMESTAMP", "Value 'AT_TIMESTAMP' at 'startingPosition' failed to satisfy constraint: "
                                         "Member must satisfy enum value set: [TRIM_HORIZON, LATEST]"),
    ("OnFailure", "SQS",
     "Value 'SQS' at 'onFailure' failed to satisfy constraint: Member must satisfy enum value set: [DLQ, DISCARD]"),
    ("HookName", "bad name", "Value 'bad name' at 'hookName' failed to satisfy constraint: "
                             "Member must satisfy regular expression pattern: [A-Za-z0-9_-]{1,64}"),
    ("ExactlyOnce", "yes", "Value 'yes' at 'exactlyOnce' failed to satisfy constraint: Member must be a boolean"),
    ("Members", 17, "Value '17' at 'members' failed to satisfy constraint: Member must have value less than or equal to 16"),
])
def test_bad_settings_are_validation_errors(member, value, message):
    body = {"HookName": "h", "TableName": "orders", member: value}
    with pytest.raises(DynamoError) as raised:
        hooks.spec_from_wire(body)
    assert raised.value.error_type == "ValidationException"
    assert raised.value.message == "1 validation error detected: " + message


def test_a_missing_table_name_is_reported():
    with pytest.raises(DynamoError) as raised:
        hooks.spec_from_wire({"HookName": "h"})
    assert raised.value.message == ("1 validation error detected: Value 'null' at 'tableName' failed to satisfy "
                                    "constraint: Member must not be null")


def test_python_options_map_to_the_admin_api():
    wire = hooks.spec_to_wire_options({"batch_size": 5, "on_failure": None, "bisect_batch_on_error": True})
    assert wire == {"BatchSize": 5, "OnFailure": "DISCARD", "BisectBatchOnFunctionError": True}
    assert hooks.spec_to_wire_options({"on_failure": "dlq"}) == {"OnFailure": "DLQ"}
    with pytest.raises(TypeError):
        hooks.spec_to_wire_options({"batchsize": 5})


def test_the_registry_folds_deploys_and_removals_without_changing_its_input():
    spec = hooks.spec_from_wire({"HookName": "h", "TableName": "orders", "BatchSize": 7})
    first = hooks.evolve({}, hooks.hook_deployed(spec, b"f1", "m:f", 1000))
    assert first["h"].spec.batch_size == 7 and first["h"].version == 1 and first["h"].function == b"f1"
    second = hooks.evolve(first, HookDeployed("h", "orders", {**spec.to_wire(), "BatchSize": 9}, b"f2", "m:g", 2000))
    assert second["h"].version == 2 and second["h"].spec.batch_size == 9 and first["h"].version == 1
    removed = hooks.evolve(second, hooks.hook_removed(second, "h", 3000))
    assert removed == {} and "h" in second
    with pytest.raises(DynamoError) as raised:
        hooks.hook_removed(removed, "h", 4000)
    assert (raised.value.error_type, raised.value.message) == ("ResourceNotFoundException", "Hook not found: h")
    assert hooks.evolve(removed, HookRemoved("nope", 1)) == {}


def test_describe_never_shows_the_function():
    spec = hooks.spec_from_wire({"HookName": "h", "TableName": "orders"})
    shown = hooks.describe(hooks.evolve({}, hooks.hook_deployed(spec, b"secret", "m:f", 1500))["h"])
    assert shown["Source"] == "m:f" and shown["DeployedAt"] == 1.5 and shown["Version"] == 1
    assert shown["DeadLetterTopic"] == "dynamoray.hooks.h.dlq"
    assert b"secret" not in repr(shown).encode()


def test_the_first_checkpoint_needs_no_item_and_later_ones_the_start_offset():
    state = partition.PartitionState(hooks.CHECKPOINT_SCHEMA)
    first = hooks.checkpoint_put("h", "t1", 0, None, 5, 1)
    partition.evolve(state, partition.decide(state, first).change)
    key = hooks.checkpoint_key("h", "t1", 0)
    assert hooks.checkpoint_offset(state.lookup(key)) == 5
    with pytest.raises(DynamoError):  # a second "first" commit of the same batch
        partition.decide(state, hooks.checkpoint_put("h", "t1", 0, None, 5, 2))
    with pytest.raises(DynamoError):  # a batch that did not start where the checkpoint is
        partition.decide(state, hooks.checkpoint_put("h", "t1", 0, 4, 9, 2))
    partition.evolve(state, partition.decide(state, hooks.checkpoint_put("h", "t1", 0, 5, 9, 2)).change)
    assert hooks.checkpoint_offset(state.lookup(key)) == 9
    assert hooks.checkpoint_offset(None) is None


def test_backoff_doubles_up_to_a_cap():
    assert [hooks.backoff(n, 0.5, cap=3) for n in range(0, 6)] == [0.0, 0.5, 1.0, 2.0, 3, 3]


def test_retries_left_follows_maximum_retry_attempts():
    never = hooks.spec_from_wire({"HookName": "h", "TableName": "orders", "MaximumRetryAttempts": 0})
    twice = hooks.spec_from_wire({"HookName": "h", "TableName": "orders", "MaximumRetryAttempts": 2})
    forever = hooks.spec_from_wire({"HookName": "h", "TableName": "orders"})
    assert not hooks.retries_left(never, 1)
    assert [hooks.retries_left(twice, n) for n in (1, 2, 3)] == [True, True, False]
    assert hooks.retries_left(forever, 10_000)
