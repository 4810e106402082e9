"""Parse + evaluate cost of typical DynamoDB expressions (µs per call).

Run: .venv/bin/python bench/bench_expressions.py
Measures, for a typical condition and a typical update expression:
- parse+resolve: a fresh ExpressionContext each call (the per-request cost; parsing is cached by
  text, as it is on the server, so this is the steady-state cost),
- cold parse: the cache cleared each call (the first time a text is seen),
- evaluate / apply: the pure evaluators on a 9-attribute item.
"""

from __future__ import annotations

import statistics
import timeit

from dynamoray.core.expressions import ExpressionContext, parser
from dynamoray.core.expressions.evaluate import evaluate_condition
from dynamoray.core.expressions.update import apply_update

ITEM = {
    "pk": {"S": "user#42"}, "sk": {"S": "profile"}, "name": {"S": "Ada"}, "age": {"N": "36"},
    "active": {"BOOL": True}, "tags": {"SS": ["a", "b", "c"]}, "score": {"N": "12.5"},
    "address": {"M": {"city": {"S": "London"}, "zip": {"S": "N1"}}}, "history": {"L": [{"N": "1"}, {"N": "2"}]},
}
CONDITION = "attribute_exists(pk) AND #st = :active AND age BETWEEN :lo AND :hi AND contains(tags, :t)"
CONDITION_NAMES = {"#st": "active"}
CONDITION_VALUES = {":active": {"BOOL": True}, ":lo": {"N": "18"}, ":hi": {"N": "65"}, ":t": {"S": "b"}}
UPDATE = "SET score = score + :d, address.city = :c, history = list_append(history, :h) REMOVE #n ADD tags :nt"
UPDATE_NAMES = {"#n": "name"}
UPDATE_VALUES = {":d": {"N": "1"}, ":c": {"S": "Paris"}, ":h": {"L": [{"N": "3"}]}, ":nt": {"SS": ["d"]}}


def per_call_us(fn, number: int, repeat: int = 7) -> float:
    runs = timeit.repeat(fn, number=number, repeat=repeat)
    return statistics.median(runs) / number * 1e6


def main() -> None:
    def parse_condition():
        return ExpressionContext(CONDITION_NAMES, CONDITION_VALUES).condition(CONDITION)

    def parse_update():
        return ExpressionContext(UPDATE_NAMES, UPDATE_VALUES).update(UPDATE)

    def cold(fn):
        def run():
            parser.parse.cache_clear()
            return fn()
        return run

    condition, update = parse_condition(), parse_update()
    rows = [
        ("condition parse+resolve (cached parse)", per_call_us(parse_condition, 5000)),
        ("condition parse+resolve (cold)", per_call_us(cold(parse_condition), 2000)),
        ("condition evaluate", per_call_us(lambda: evaluate_condition(condition, ITEM), 20000)),
        ("update parse+resolve (cached parse)", per_call_us(parse_update, 5000)),
        ("update parse+resolve (cold)", per_call_us(cold(parse_update), 2000)),
        ("update apply", per_call_us(lambda: apply_update(update, ITEM), 10000)),
    ]
    assert evaluate_condition(condition, ITEM) is True
    for name, us in rows:
        print(f"{name:42s} {us:8.2f} µs/call")


if __name__ == "__main__":
    main()
