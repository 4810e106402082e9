"""DynamoError: its wire body, its namespaces, and surviving a trip across processes."""

import pickle

import orjson
import pytest

from dynamoray.core import errors
from dynamoray.core.errors import DynamoError


@pytest.mark.parametrize("error, wire_type", [
    (errors.validation("x"), "com.amazon.coral.validate#ValidationException"),
    (errors.serialization("x"), "com.amazon.coral.service#SerializationException"),
    (errors.unrecognized_client(), "com.amazon.coral.service#UnrecognizedClientException"),
    (errors.access_denied("x"), "com.amazon.coral.service#AccessDeniedException"),
    (errors.unknown_operation(), "com.amazon.coral.service#UnknownOperationException"),
    (errors.conditional_check_failed(), "com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException"),
    (errors.table_not_found("t"), "com.amazonaws.dynamodb.v20120810#ResourceNotFoundException"),
    (errors.transaction_canceled([]), "com.amazonaws.dynamodb.v20120810#TransactionCanceledException"),
    (errors.internal_server_error(), "com.amazonaws.dynamodb.v20120810#InternalServerError"),
])
def test_wire_type_has_the_right_namespace(error, wire_type):
    assert error.wire_type == wire_type
    assert error.wire_body()["__type"] == wire_type


def test_wire_body_is_type_and_message():
    error = errors.table_not_found("Music")
    assert error.wire_body() == {
        "__type": "com.amazonaws.dynamodb.v20120810#ResourceNotFoundException",
        "message": "Requested resource not found: Table: Music not found",
    }
    assert error.status == 400


def test_wire_body_carries_extras():
    item = {"pk": {"S": "a"}}
    body = errors.conditional_check_failed(item).wire_body()
    assert body == {
        "__type": "com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException",
        "message": "The conditional request failed",
        "Item": item,
    }
    assert "Item" not in errors.conditional_check_failed().wire_body()


def test_transaction_canceled_lists_reason_codes():
    reasons = [{"Code": "None"}, {"Code": "ConditionalCheckFailed", "Message": "The conditional request failed"}]
    error = errors.transaction_canceled(reasons)
    assert error.message == (
        "Transaction cancelled, please refer cancellation reasons for specific reasons "
        "[None, ConditionalCheckFailed]"
    )
    assert error.wire_body()["CancellationReasons"] == reasons


def test_wire_body_is_json_serializable():
    body = errors.transaction_canceled([{"Code": "None"}]).wire_body()
    assert orjson.loads(orjson.dumps(body)) == body


def test_internal_error_is_a_500():
    assert errors.internal_server_error().status == 500


@pytest.mark.parametrize("error", [
    errors.validation("bad"),
    errors.conditional_check_failed({"pk": {"S": "a"}, "n": {"N": "1"}}),
    errors.transaction_canceled([{"Code": "None"}, {"Code": "TransactionConflict"}]),
    errors.internal_server_error("boom"),
    DynamoError("CustomThing", "m", 418, Extra=[1, 2]),
])
def test_pickle_round_trip_keeps_everything(error):
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is DynamoError
    assert (copy.error_type, copy.message, copy.status, copy.extra) == (
        error.error_type, error.message, error.status, error.extra)
    assert copy == error
    assert copy.wire_body() == error.wire_body()
    assert str(copy) == str(error)


def test_equality_compares_all_fields():
    assert errors.validation("a") == errors.validation("a")
    assert errors.validation("a") != errors.validation("b")
    assert errors.validation("a") != errors.serialization("a")
    assert DynamoError("X", "m", 400) != DynamoError("X", "m", 500)
    assert errors.validation("a") != "ValidationException: a"


def test_is_an_exception_with_a_readable_str():
    with pytest.raises(DynamoError) as caught:
        raise errors.validation("oops")
    assert str(caught.value) == "ValidationException: oops"


def test_constraint_violations_envelope():
    one = errors.constraint_violations([errors.constraint_violation("'x'", "keySchema", "rule")])
    assert one.message == "1 validation error detected: Value 'x' at 'keySchema' failed to satisfy constraint: rule"
    two = errors.constraint_violations(["a", "b"])
    assert two.message == "2 validation errors detected: a; b"


@pytest.mark.parametrize("error, message", [
    (errors.number_not_numeric("abc"), "The parameter cannot be converted to a numeric value: abc"),
    (errors.number_not_numeric(""), "The parameter cannot be converted to a numeric value: "),
    (errors.missing_key("pk"), "One or more parameter values were invalid: Missing the key pk in the item"),
    (errors.key_type_mismatch("pk", "S", "N"),
     "One or more parameter values were invalid: Type mismatch for key pk expected: S actual: N"),
    (errors.empty_key_value("pk", "string"),
     "One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain "
     "an empty string value. Key: pk"),
    (errors.hash_key_too_large(),
     "One or more parameter values were invalid: Size of hashkey has exceeded the maximum size limit of2048 bytes"),
    (errors.range_key_too_large(),
     "One or more parameter values were invalid: Aggregated size of all range keys has exceeded the size "
     "limit of 1024 bytes"),
    (errors.key_schema_mismatch(), "The provided key element does not match the schema"),
])
def test_key_and_number_messages(error, message):
    assert (error.error_type, error.message) == ("ValidationException", message)
