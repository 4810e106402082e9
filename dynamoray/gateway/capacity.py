"""ConsumedCapacity for responses, from the core's capacity rules (counted in half-units)."""

from __future__ import annotations

from typing import Iterable

from ..core import capacity


def _mode(body: dict) -> str | None:
    return body.get("ReturnConsumedCapacity")


def for_write(body: dict, table: str, old_size: int, new_size: int) -> dict | None:
    half = capacity.write_half_units(new_size, old_size)
    return capacity.consumed_capacity(table, write_units=half, mode=_mode(body))


def for_writes(body: dict, table: str, sizes: Iterable[tuple[int, int]]) -> dict | None:
    half = sum(capacity.write_half_units(new, old) for old, new in sizes)
    return capacity.consumed_capacity(table, write_units=half, mode=_mode(body))


def for_get(body: dict, table: str, size: int, consistent: bool) -> dict | None:
    half = capacity.read_half_units(size, consistent=consistent)
    return capacity.consumed_capacity(table, read_units=half, mode=_mode(body))


def for_gets(body: dict, table: str, sizes: Iterable[int], consistent: bool) -> dict | None:
    half = capacity.batch_read_half_units(sizes, consistent=consistent)
    return capacity.consumed_capacity(table, read_units=half, mode=_mode(body))


def for_scan(body: dict, table: str, total_bytes: int, consistent: bool) -> dict | None:
    half = capacity.scan_half_units(total_bytes, consistent=consistent)
    return capacity.consumed_capacity(table, read_units=half, mode=_mode(body))


def attach(response: dict, consumed: dict | None) -> dict:
    if consumed is not None:
        response["ConsumedCapacity"] = consumed
    return response
