"""Attribute values: validation, normalization, every error with DynamoDB's exact wording, sizes."""

from decimal import Decimal

import pytest
from hypothesis import given, settings, strategies as st

from dynamoray.core import values
from dynamoray.core.errors import DynamoError
from dynamoray.core.values import (
    check_item_size, compare_scalars, from_python, item_size, normalize_number, to_python,
    validate_item, validate_value, value_size, values_equal,
)

INVALID = "One or more parameter values were invalid: "
NOT_NUMERIC = "The parameter cannot be converted to a numeric value: "
OVERFLOW = "Number overflow. Attempting to store a number with magnitude larger than supported range"
UNDERFLOW = "Number underflow. Attempting to store a number with magnitude smaller than supported range"
PRECISION = "Attempting to store more than 38 significant digits in a Number"
NESTING = ("Nesting Levels have exceeded supported limits: "
           "Attributes in the item have nested levels beyond supported limit")


def fails(value, error_type="ValidationException"):
    with pytest.raises(DynamoError) as caught:
        validate_value(value)
    assert caught.value.error_type == error_type
    return caught.value.message


# --- numbers ----------------------------------------------------------------------------------


@pytest.mark.parametrize("text, normal", [
    ("3", "3"), ("-7.1234", "-7.1234"), ("-17e5", "-1700000"), ("+3", "3"), (".123", "0.123"),
    ("0001.23", "1.23"), ("1e+5", "100000"), ("0e1000", "0"), ("-0", "0"), ("0.000", "0"),
    ("1.50", "1.5"), ("100", "100"), ("1E2", "100"), ("5.", "5"), ("-0.0010", "-0.001"),
    ("1" + "0" * 60, "1" + "0" * 60),
])
def test_numbers_are_normalized(text, normal):
    assert normalize_number(text) == normal
    assert validate_value({"N": text}) == {"N": normal}


def test_number_range_limits_are_inclusive():
    largest = "9.9999999999999999999999999999999999999E+125"
    assert Decimal(normalize_number(largest)) == Decimal(largest)
    assert Decimal(normalize_number("-" + largest)) == Decimal("-" + largest)
    assert normalize_number("1E-130") == "0." + "0" * 129 + "1"
    assert normalize_number("1E125") == "1" + "0" * 125


def test_thirty_eight_digits_are_kept_exactly():
    for text in ["3.1415926535897932384626433832795028841",
                 "314159265358979323846.26433832795028841",
                 "31415926535897932384626433832795028841e30"]:
        assert Decimal(normalize_number(text)) == Decimal(text)


@pytest.mark.parametrize("text", [
    "NaN", "Infinity", "-Infinity", "-NaN", "dog", "-dog", " 1", "1 ", "1.2.3", "0x10", "1e",
    "", "e5", ".", "+", "1e5.5", "١",  # an Arabic-Indic digit: Python's int() takes it, DynamoDB not
])
def test_malformed_numbers_echo_the_text(text):
    assert fails({"N": text}) == NOT_NUMERIC + text


@pytest.mark.parametrize("text, message", [
    ("1e126", OVERFLOW), ("-1e126", OVERFLOW), ("11e125", OVERFLOW), ("1e99999999999", OVERFLOW),
    ("1e2147483647", OVERFLOW), ("1e-131", UNDERFLOW), ("-1e-131", UNDERFLOW),
    ("0.9e-130", UNDERFLOW), ("1e-99999999999", UNDERFLOW),
    ("1234567890123456789012345678901234567890", PRECISION),  # 39 significant digits
    ("-1.23456789012345678901234567890123456789", PRECISION),
    ("3.14159265358979323846264338327950288419", PRECISION),
    ("1." + "0" * 300 + "1", PRECISION),  # must not be rounded to 1
    ("1" + "0" * 300 + "1", OVERFLOW),  # both too large and too precise: overflow is reported
])
def test_numbers_out_of_range_or_precision(text, message):
    assert fails({"N": text}) == message


def test_trailing_zeros_do_not_count_as_significant_digits():
    assert normalize_number("1" * 38 + "0" * 50) == "1" * 38 + "0" * 50
    assert normalize_number("0." + "0" * 50 + "1" * 38) == "0." + "0" * 50 + "1" * 38


def test_number_given_as_json_number_is_a_serialization_error():
    message = fails({"N": 123}, "SerializationException")
    assert message == "NUMBER_VALUE cannot be converted to String"
    assert fails({"N": 1.5}, "SerializationException") == "DECIMAL_VALUE cannot be converted to String"


def test_check_number_after_arithmetic():
    with pytest.raises(DynamoError) as caught:
        values.check_number(Decimal("9e125") + Decimal("9e125"))
    assert caught.value.message == OVERFLOW
    with pytest.raises(DynamoError) as caught:
        values.check_number(values.DECIMAL_CONTEXT.add(Decimal("1e50"), Decimal(1)))
    assert caught.value.message == PRECISION
    assert values.check_number(Decimal("2.50")) == Decimal("2.5")
    assert str(values.check_number(Decimal("2.50"))) == "2.5"


# --- strings, binaries, booleans, nulls -----------------------------------------------------


def test_scalars_pass_through():
    assert validate_value({"S": "héllo"}) == {"S": "héllo"}
    assert validate_value({"S": ""}) == {"S": ""}  # empty non-key strings are allowed
    assert validate_value({"B": ""}) == {"B": ""}
    assert validate_value({"B": "AAEC"}) == {"B": "AAEC"}
    assert validate_value({"BOOL": False}) == {"BOOL": False}
    assert validate_value({"NULL": True}) == {"NULL": True}


def test_binary_accepts_python_bytes_and_canonicalizes():
    assert validate_value({"B": b"\x00\x01"}) == {"B": "AAE="}


def test_bad_base64_is_a_serialization_error():
    message = fails({"B": "abc"}, "SerializationException")
    assert message == "Base64 encoded length is expected a multiple of 4 bytes but found: 3"


@pytest.mark.parametrize("raw, message", [
    (True, "TRUE_VALUE cannot be converted to String"),
    (False, "FALSE_VALUE cannot be converted to String"),
    (23, "NUMBER_VALUE cannot be converted to String"),
    (34.56, "DECIMAL_VALUE cannot be converted to String"),
    ([], "Unrecognized collection type class java.lang.String"),
    ({}, "Start of structure or map found where not expected"),
])
def test_string_of_the_wrong_json_type(raw, message):
    assert fails({"S": raw}, "SerializationException") == message


def test_bool_of_the_wrong_json_type():
    assert fails({"BOOL": 1}, "SerializationException") == "NUMBER_VALUE cannot be converted to Boolean"


def test_null_must_be_true():
    assert fails({"NULL": False}) == INVALID + "Null attribute value types must have the value of true"


def test_empty_attribute_value():
    message = "Supplied AttributeValue is empty, must contain exactly one of the supported datatypes"
    assert fails({}) == message
    assert fails({"S": None}) == message  # a null member is absent
    assert fails({"X": "1"}) == message  # unknown members are ignored, like DynamoDB's reader


def test_two_types_set():
    assert fails({"S": "a", "N": "1"}) == (
        "Supplied AttributeValue has more than one datatypes set, "
        "must contain exactly one of the supported datatypes"
    )


def test_unknown_member_next_to_a_type_is_ignored():
    assert validate_value({"S": "a", "Extra": 1}) == {"S": "a"}


def test_attribute_value_must_be_an_object():
    assert fails("x", "SerializationException") == "Expected map or null"
    assert fails([], "SerializationException") == "Start of list found where not expected"


# --- sets -----------------------------------------------------------------------------------


def test_sets_are_normalized_and_keep_their_order():
    assert validate_value({"NS": ["1.50", "-0", "2"]}) == {"NS": ["1.5", "0", "2"]}
    assert validate_value({"SS": ["b", "a"]}) == {"SS": ["b", "a"]}
    assert validate_value({"BS": ["AQ==", b"\x02"]}) == {"BS": ["AQ==", "Ag=="]}


def test_empty_strings_and_binaries_are_valid_set_members():
    assert validate_value({"SS": ["", "a"]}) == {"SS": ["", "a"]}
    assert validate_value({"BS": ["", "AQ=="]}) == {"BS": ["", "AQ=="]}


@pytest.mark.parametrize("kind, message", [
    ("SS", INVALID + "An string set  may not be empty"),
    ("NS", INVALID + "An number set  may not be empty"),
    ("BS", INVALID + "Binary sets should not be empty"),
])
def test_empty_sets(kind, message):
    assert fails({kind: []}) == message


def test_duplicate_strings_list_seen_members_in_byte_order_then_the_repeat():
    assert fails({"SS": ["b", "a", "b"]}) == INVALID + 'Input collection ["a", "b", "b"] contains duplicates.'
    assert fails({"SS": ["c", "a", "c", "z", "a"]}) == (
        INVALID + 'Input collection ["a", "c", "c", "z", "a"] contains duplicates.'
    )


def test_duplicate_binaries_compare_unsigned_bytes():
    assert fails({"BS": ["/w==", "AA==", "AA=="]}) == (
        INVALID + 'Input collection ["AA==","/w==","AA=="]of type BS contains duplicates.'
    )


def test_duplicate_numbers_are_numerically_equal_members():
    message = INVALID + "Input collection contains duplicates."
    assert fails({"NS": ["2", "1", "2"]}) == message
    assert fails({"NS": ["1", "1.0"]}) == message
    assert fails({"NS": ["100", "1E2"]}) == message
    assert fails({"NS": ["0", "-0"]}) == message


def test_bad_number_in_a_set():
    assert fails({"NS": ["1", "b"]}) == NOT_NUMERIC + "b"
    assert fails({"NS": ["1", ""]}) == NOT_NUMERIC
    assert fails({"NS": ["1e126"]}) == OVERFLOW


def test_set_must_be_a_list():
    assert fails({"SS": "a"}, "SerializationException") == "Expected list or null"
    assert fails({"SS": [1]}, "SerializationException") == "NUMBER_VALUE cannot be converted to String"


# --- documents and nesting ------------------------------------------------------------------


def deep_map(levels, leaf=None):
    value = leaf or {"S": "leaf"}
    for _ in range(levels):
        value = {"M": {"n": value}}
    return value


def test_documents_are_validated_recursively():
    doc = {"M": {"a": {"L": [{"N": "01"}, {"NS": ["2.0"]}]}, "": {"NULL": True}}}
    assert validate_value(doc) == {"M": {"a": {"L": [{"N": "1"}, {"NS": ["2"]}]}, "": {"NULL": True}}}


def test_nesting_limit_is_32_levels_counting_the_attribute():
    assert validate_value(deep_map(31)) == deep_map(31)  # leaf at level 32
    assert fails(deep_map(32)) == NESTING  # leaf at level 33
    assert validate_value(deep_map(31, {"M": {}})) == deep_map(31, {"M": {}})  # empty map at 32


def test_nesting_is_checked_in_document_order():
    assert fails(deep_map(40, {"N": "abc"})) == NESTING  # too deep before the bad number
    assert fails({"L": [{"N": "abc"}, deep_map(40)]}) == NOT_NUMERIC + "abc"
    assert fails({"L": [deep_map(40), {"N": "abc"}]}) == NESTING


def test_lists_are_nested_like_maps():
    value = {"S": "x"}
    for _ in range(32):
        value = {"L": [value]}
    assert fails(value) == NESTING


def test_wrong_containers():
    assert fails({"L": {}}, "SerializationException") == "Start of structure or map found where not expected"
    assert fails({"M": []}, "SerializationException") == "Start of list found where not expected"
    assert fails({"M": "x"}, "SerializationException") == "Expected map or null"


def test_validation_does_not_modify_its_input():
    raw = {"M": {"n": {"N": "01.0"}, "s": {"NS": ["1.0", "2"]}}}
    snapshot = {"M": {"n": {"N": "01.0"}, "s": {"NS": ["1.0", "2"]}}}
    validate_value(raw)
    assert raw == snapshot


def test_validate_item():
    assert validate_item({"a": {"N": "1.0"}, "b": {"S": "x"}}) == {"a": {"N": "1"}, "b": {"S": "x"}}
    with pytest.raises(DynamoError) as caught:
        validate_item({"a": {"N": "x"}})
    assert caught.value.message == NOT_NUMERIC + "x"


# --- sizes ----------------------------------------------------------------------------------


@pytest.mark.parametrize("value, size", [
    ({"S": "abc"}, 3),
    ({"S": "é"}, 2),  # UTF-8 bytes, not characters
    ({"S": "😃"}, 4),
    ({"S": ""}, 0),
    ({"B": "AAEC"}, 3),  # raw bytes, not base64 characters
    ({"B": ""}, 0),
    ({"BOOL": True}, 1),
    ({"NULL": True}, 1),
    ({"N": "0"}, 1),
    ({"N": "1"}, 2),
    ({"N": "12"}, 2),
    ({"N": "123"}, 3),
    ({"N": "12345"}, 4),
    ({"N": "1.2"}, 3),  # digit pairs are aligned on the decimal point
    ({"N": "12.34"}, 3),
    ({"N": "1.234"}, 4),
    ({"N": "0.1"}, 2),
    ({"N": "100"}, 2),  # trailing zeros are trimmed
    ({"N": "-1"}, 3),  # one more byte for a negative number
    ({"N": "-12.5"}, 4),
    ({"N": "1" * 38}, 20),
    ({"SS": ["ab", "c"]}, 3),
    ({"NS": ["1", "12345"]}, 6),
    ({"BS": ["AQ==", "AQI="]}, 3),
    ({"L": []}, 3),  # 3 bytes of overhead
    ({"M": {}}, 3),
    ({"L": [{"S": "ab"}, {"N": "1"}]}, 3 + (1 + 2) + (1 + 2)),  # plus 1 byte per element
    ({"M": {"ab": {"S": "xyz"}}}, 3 + 1 + 2 + 3),  # and the element's name
    ({"M": {"a": {"M": {"b": {"NULL": True}}}}}, 3 + 1 + 1 + (3 + 1 + 1 + 1)),
])
def test_value_sizes(value, size):
    assert value_size(value) == size


def test_item_size_adds_attribute_names():
    item = {"id": {"S": "abc"}, "n": {"N": "12345"}, "flag": {"BOOL": True},
            "l": {"L": [{"S": "xy"}]}, "é": {"NULL": True}}
    assert item_size(item) == (2 + 3) + (1 + 4) + (4 + 1) + (1 + 3 + 1 + 2) + (2 + 1)


def test_item_size_limit_is_400_kb_inclusive():
    at_limit = {"a": {"S": "x" * (400 * 1024 - 1)}}
    assert check_item_size(at_limit) == 400 * 1024
    over = {"a": {"S": "x" * (400 * 1024)}}
    with pytest.raises(DynamoError) as caught:
        check_item_size(over)
    assert (caught.value.error_type, caught.value.message) == (
        "ValidationException", "Item size has exceeded the maximum allowed size")


def test_long_attribute_names_count_toward_the_limit():
    name = "n" * (400 * 1024)
    with pytest.raises(DynamoError):
        check_item_size({name: {"NULL": True}})


# --- equality and order ---------------------------------------------------------------------


def test_values_equal():
    assert values_equal({"SS": ["a", "b"]}, {"SS": ["b", "a"]})
    assert not values_equal({"SS": ["a"]}, {"SS": ["a", "b"]})
    assert values_equal({"N": "1"}, {"N": "1"})
    assert not values_equal({"N": "1"}, {"S": "1"})
    assert values_equal({"L": [{"S": "a"}]}, {"L": [{"S": "a"}]})
    assert not values_equal({"L": [{"S": "a"}, {"S": "b"}]}, {"L": [{"S": "b"}, {"S": "a"}]})
    assert values_equal({"M": {"a": {"N": "1"}}}, {"M": {"a": {"N": "1"}}})
    assert not values_equal({"M": {"a": {"N": "1"}}}, {"M": {"a": {"N": "2"}}})


def test_compare_scalars():
    assert compare_scalars({"N": "-10"}, {"N": "9"}) == -1
    assert compare_scalars({"N": "10"}, {"N": "9"}) == 1
    assert compare_scalars({"S": "B"}, {"S": "a"}) == -1  # byte order: uppercase first
    assert compare_scalars({"S": "z"}, {"S": "é"}) == -1  # UTF-8 bytes
    assert compare_scalars({"B": "/w=="}, {"B": "AA=="}) == 1  # unsigned bytes
    assert compare_scalars({"S": "a"}, {"S": "a"}) == 0
    assert compare_scalars({"S": "1"}, {"N": "1"}) is None
    assert compare_scalars({"SS": ["a"]}, {"SS": ["a"]}) is None


# --- python conversion ----------------------------------------------------------------------


def test_from_python_and_back():
    native = {"s": "x", "i": 12, "d": Decimal("1.50"), "b": b"\x01", "n": None, "t": True,
              "l": [1, "a"], "m": {"k": 2}, "ss": {"a", "b"}, "ns": {1, 2}, "bs": {b"\x00"}}
    wire = values.item_from_python(native)
    assert wire["d"] == {"N": "1.5"}
    assert wire["ns"] == {"NS": ["1", "2"]}
    assert wire["bs"] == {"BS": ["AA=="]}
    back = values.item_to_python(wire)
    assert back == {**native, "d": Decimal("1.5")}


def test_from_python_refuses_floats_and_empty_sets():
    with pytest.raises(TypeError):
        from_python(1.5)
    with pytest.raises(TypeError):
        from_python(set())
    with pytest.raises(TypeError):
        from_python({1, "a"})
    with pytest.raises(TypeError):
        from_python(object())


def test_to_python_numbers():
    assert to_python({"N": "100"}) == 100 and isinstance(to_python({"N": "100"}), int)
    assert to_python({"N": "-0.5"}) == Decimal("-0.5")


# --- the hot path's shortcuts agree with the general rules --------------------------------------

NUMBER_TEXTS = st.one_of(
    st.integers(min_value=-10**45, max_value=10**45).map(str),
    st.decimals(allow_nan=False, allow_infinity=False).map(str),
    st.from_regex(r"[+-]?[0-9]{0,42}(\.[0-9]{0,42})?([eE][+-]?[0-9]{1,3})?", fullmatch=True),
)


def _outcome(call, text):
    try:
        return "ok", call(text)
    except DynamoError as error:
        return error.error_type, error.message


def _reference_size(text: str) -> int:
    """number_size's rule, read off the Decimal's digits (the general path)."""
    sign, digits, exponent = Decimal(text).as_tuple()
    kept = len(bytes(digits).rstrip(b"\0"))
    if not kept:
        return 1
    lowest, highest = exponent + len(digits) - kept, exponent + len(digits) - 1
    return 2 + highest // 2 - lowest // 2 + (1 if sign else 0)


@settings(max_examples=600, deadline=None)
@given(NUMBER_TEXTS)
def test_a_canonical_number_is_returned_as_it_is_and_others_are_normalized(text):
    """normalize_number skips the Decimal for canonical texts: same results, same errors."""
    general = _outcome(lambda t: values.format_number(values.parse_number(t)), text)
    assert _outcome(normalize_number, text) == general
    if general[0] == "ok":
        assert normalize_number(general[1]) == general[1]
        assert values.number_size(general[1]) == _reference_size(general[1])


@pytest.mark.parametrize("text", ["0", "7", "-7", "12300", "-12300", "0.05", "-0.0505", "100.001", "9" * 38,
                                  "1" + "0" * 37, "123456789.987654321"])
def test_number_size_of_canonical_texts(text):
    assert values.number_size(text) == _reference_size(text)


def test_one_member_values_keep_every_check():
    assert fails({"X": "a"}).endswith("must contain exactly one of the supported datatypes")
    assert fails({"S": None}).endswith("must contain exactly one of the supported datatypes")
    assert validate_value({"N": "01.50"}) == {"N": "1.5"}
    assert validate_value({"NULL": True}) == {"NULL": True}
    assert value_size({"S": "é" * 3}) == 6
    assert item_size({"é": {"S": "ab"}, "n": {"N": "12300"}}) == 2 + 2 + 1 + _reference_size("12300")
