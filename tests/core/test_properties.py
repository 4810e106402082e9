"""Property tests of the value model and the key encodings."""

import base64
from decimal import Decimal

import orjson
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from dynamoray.core import keys
from dynamoray.core.values import (
    compare_scalars, from_python, item_size, normalize_number, to_python, validate_item,
    validate_value, value_size, values_equal,
)

# Per-test settings, so loading this module changes no other module's hypothesis profile.
examples = settings(deadline=None, max_examples=150)


@st.composite
def number_texts(draw):
    """Any number DynamoDB accepts, written in any of the ways it accepts it."""
    digits = draw(st.text("0123456789", min_size=1, max_size=38))
    exponent = draw(st.integers(-170, 125))
    significant = digits.lstrip("0")
    if significant:
        adjusted = exponent + len(digits) - 1 - (len(digits) - len(significant))
        assume(-130 <= adjusted <= 125)
    sign = draw(st.sampled_from(["", "-", "+"]))
    style = draw(st.sampled_from(["exp", "plain", "padded"]))
    if style == "exp":
        return f"{sign}{digits}{draw(st.sampled_from('eE'))}{exponent}"
    plain = format(Decimal(f"{digits}e{exponent}"), "f")
    if style == "padded":
        plain = "00" + plain + ("" if "." not in plain else "000")
    return sign + plain


binaries = st.binary(max_size=24).map(lambda b: base64.b64encode(b).decode())
scalars = st.one_of(
    st.text(max_size=20).map(lambda s: {"S": s}),
    number_texts().map(lambda t: {"N": t}),
    binaries.map(lambda b: {"B": b}),
    st.booleans().map(lambda b: {"BOOL": b}),
    st.just({"NULL": True}),
    st.lists(st.text(max_size=8), min_size=1, max_size=5, unique=True).map(lambda v: {"SS": v}),
    st.lists(number_texts(), min_size=1, max_size=5, unique_by=normalize_number).map(lambda v: {"NS": v}),
    st.lists(st.binary(max_size=8), min_size=1, max_size=5, unique=True).map(
        lambda v: {"BS": [base64.b64encode(b).decode() for b in v]}),
)
raw_values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4).map(lambda v: {"L": v}),
        st.dictionaries(st.text(max_size=6), children, max_size=4).map(lambda v: {"M": v}),
    ),
    max_leaves=16,
)
raw_items = st.dictionaries(st.text(min_size=1, max_size=10), raw_values, max_size=6)


# --- numbers ----------------------------------------------------------------------------------


@examples
@given(number_texts())
def test_number_normalization_is_idempotent_and_exact(text):
    normal = normalize_number(text)
    assert normalize_number(normal) == normal
    assert Decimal(normal) == Decimal(text)
    assert "e" not in normal.lower()
    assert normal == "0" or not (normal.endswith("0") and "." in normal)


@examples
@given(number_texts(), number_texts())
def test_number_comparison_agrees_with_decimal(a, b):
    x, y = {"N": normalize_number(a)}, {"N": normalize_number(b)}
    da, db = Decimal(a), Decimal(b)
    assert compare_scalars(x, y) == (da > db) - (da < db)
    assert values_equal(x, y) == (da == db)


@examples
@given(number_texts())
def test_number_size_is_one_byte_per_two_digits_plus_one(text):
    normal = normalize_number(text)
    if Decimal(normal) == 0:
        assert value_size({"N": normal}) == 1
        return
    significant = len(normal.lstrip("-").replace(".", "").strip("0"))
    size = value_size({"N": normal}) - normal.startswith("-")
    assert (significant + 1) // 2 + 1 <= size <= significant // 2 + 2


# --- sort-key bytes ---------------------------------------------------------------------------


@examples
@given(number_texts(), number_texts())
def test_sort_key_bytes_order_numbers(a, b):
    x, y = {"N": normalize_number(a)}, {"N": normalize_number(b)}
    bx, by = keys.sort_key_bytes(x), keys.sort_key_bytes(y)
    assert ((bx > by) - (bx < by)) == compare_scalars(x, y)
    assert keys.sort_key_value("N", bx) == x


@examples
@given(st.text(), st.text())
def test_sort_key_bytes_order_strings(a, b):
    x, y = {"S": a}, {"S": b}
    bx, by = keys.sort_key_bytes(x), keys.sort_key_bytes(y)
    assert ((bx > by) - (bx < by)) == compare_scalars(x, y)
    assert keys.sort_key_value("S", bx) == x


@examples
@given(st.binary(), st.binary())
def test_sort_key_bytes_order_binaries(a, b):
    x, y = validate_value({"B": a}), validate_value({"B": b})
    bx, by = keys.sort_key_bytes(x), keys.sort_key_bytes(y)
    assert ((bx > by) - (bx < by)) == compare_scalars(x, y)
    assert keys.sort_key_value("B", bx) == x


@examples
@given(number_texts())
def test_partition_hash_ignores_the_number_spelling(text):
    assert keys.partition_hash({"N": text}) == keys.partition_hash({"N": normalize_number(text)})


# --- validation -------------------------------------------------------------------------------


@examples
@given(raw_values)
def test_validate_value_is_idempotent_and_json_stable(raw):
    value = validate_value(raw)
    assert validate_value(value) == value
    assert orjson.loads(orjson.dumps(value)) == value
    assert validate_value(orjson.loads(orjson.dumps(raw))) == value
    assert values_equal(value, value)


@examples
@given(raw_values)
def test_python_round_trip(raw):
    value = validate_value(raw)
    native = to_python(value)
    back = from_python(native)
    assert values_equal(back, value)
    assert validate_value(back) == back
    assert to_python(back) == native


@examples
@given(raw_items, raw_items)
def test_item_size_is_additive_over_attributes(a, b):
    a, b = validate_item(a), validate_item(b)
    b = {k: v for k, v in b.items() if k not in a}
    assert item_size({**a, **b}) == item_size(a) + item_size(b)
    assert item_size(a) == sum(len(k.encode()) + value_size(v) for k, v in a.items())
