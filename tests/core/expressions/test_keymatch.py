"""Matching items against validated key conditions."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dynamoray.core import values
from dynamoray.core.expressions import ast
from dynamoray.core.expressions.keymatch import key_condition_matches, range_matches


def N(x):
    return {"N": str(x)}


def S(x):
    return {"S": x}


def B(raw: bytes):
    return {"B": base64.b64encode(raw).decode()}


def rc(op, *vals):
    return ast.RangeKeyCondition("sk", op, tuple(vals))


@pytest.mark.parametrize("op, bound, value, expected", [
    ("=", N(5), N(5), True), ("=", N(5), N(6), False),
    ("<", N(10), N(9), True), ("<", N(10), N(10), False),
    ("<=", N(10), N(10), True), ("<=", N(10), N(11), False),
    (">", N(10), N(11), True), (">", N(10), N(10), False),
    (">=", N(10), N(10), True), (">=", N(10), N(9), False),
    ("<", N(10), N(9.5), True), ("<", N(-1), N(-2), True),
    ("<", S("b"), S("a"), True), ("<", S("b"), S("ba"), False),
    (">", S("a"), S("\u00e9"), True),
    ("<", B(b"\x80"), B(b"\x7f"), True), (">", B(b"\x7f"), B(b"\x80"), True),
    ("=", S("5"), N(5), False), ("<", S("5"), N(1), False),
])
def test_comparisons(op, bound, value, expected):
    assert range_matches(rc(op, bound), value) is expected


def test_between_is_inclusive():
    cond = rc("BETWEEN", N(1), N(3))
    assert [range_matches(cond, N(x)) for x in (0, 1, 2, 3, 4)] == [False, True, True, True, False]
    assert range_matches(rc("BETWEEN", S("a"), S("c")), S("b"))
    assert not range_matches(cond, S("2"))


def test_begins_with():
    assert range_matches(rc("begins_with", S("ab")), S("abc"))
    assert not range_matches(rc("begins_with", S("ab")), S("ba"))
    assert range_matches(rc("begins_with", B(b"\x01")), B(b"\x01\x02"))
    assert not range_matches(rc("begins_with", S("1")), N(12))


def test_missing_value_never_matches():
    for cond in (rc("=", N(1)), rc("<", N(1)), rc("BETWEEN", N(1), N(2)), rc("begins_with", S("a"))):
        assert not range_matches(cond, None)


def test_unknown_operator_is_rejected():
    with pytest.raises(ValueError):
        range_matches(rc("<>", N(1)), N(2))


def test_key_condition_matches_hash_and_range():
    kc = ast.KeyCondition("pk", S("p"), rc(">", N(2)))
    assert key_condition_matches(kc, {"pk": S("p"), "sk": N(3)})
    assert not key_condition_matches(kc, {"pk": S("p"), "sk": N(2)})
    assert not key_condition_matches(kc, {"pk": S("q"), "sk": N(3)})
    assert not key_condition_matches(kc, {"pk": S("p")})
    assert not key_condition_matches(kc, {"sk": N(3)})


def test_hash_only_key_condition():
    kc = ast.KeyCondition("pk", N(1))
    assert key_condition_matches(kc, {"pk": N(1), "other": S("x")})
    assert not key_condition_matches(kc, {"pk": S("1")})


numbers = st.decimals(min_value=-10**9, max_value=10**9, places=4, allow_nan=False, allow_infinity=False)


@settings(max_examples=200, deadline=None)
@given(numbers, numbers, numbers)
def test_range_operators_agree_with_decimal_ordering(x, low, high):
    value = values.from_python(x)
    assert range_matches(rc("<", values.from_python(low)), value) is (x < low)
    assert range_matches(rc(">=", values.from_python(low)), value) is (x >= low)
    between = rc("BETWEEN", values.from_python(low), values.from_python(high))
    assert range_matches(between, value) is (low <= x <= high)
