"""Usage accounting and its price (pure): what ``dynamoray usage`` reports.

The gateway records two kinds of events (``gateway/usage.py``, topic ``dynamoray.usage``):

- ``UsageRecorded``: request units a table consumed during part of a UTC day, in half-units, with
  the table's billing mode then.  On-demand tables are billed per request unit; provisioned tables
  per provisioned capacity-hour whatever they consume (their units are reported, not billed).
- ``StorageSampled``: a table's size and settings, standing for the time since the previous
  sample: storage in GB-months (bytes over time: 1 GB held for a whole month is 1 GB-month; a
  day of it is 1/days-in-month), on-demand backup storage, PITR storage (billed on the table's
  size while point-in-time recovery is on) and, for provisioned tables, capacity-hours.

:func:`fold` sums the events into one :class:`DayUsage` per (day, table); :func:`report` prices
the days of a range with a :class:`PriceSheet`; :func:`to_csv` renders it.  Replicated writes
(global tables) are counted when something records them; nothing does yet.
"""

from __future__ import annotations

import calendar
import csv
import io
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import datetime, timezone
from typing import Any, Iterable, Mapping

GIB = 1024 ** 3
MILLION = 1_000_000


@dataclass(frozen=True, slots=True)
class PriceSheet:
    """Prices in ``currency``.  The defaults are AWS's published on-demand prices for DynamoDB
    Standard tables in us-east-1 (https://aws.amazon.com/dynamodb/pricing/, as published after
    the 1 November 2024 price reduction; read for this module in November 2026)."""

    currency: str = "USD"
    read_request_units_per_million: float = 0.125
    write_request_units_per_million: float = 0.625
    replicated_write_units_per_million: float = 0.625
    storage_gb_month: float = 0.25
    backup_gb_month: float = 0.10
    pitr_gb_month: float = 0.20
    read_capacity_unit_hour: float = 0.00013
    write_capacity_unit_hour: float = 0.00065
    source: str = "AWS us-east-1 on-demand and provisioned prices (aws.amazon.com/dynamodb/pricing, Nov 2024)"

    @classmethod
    def from_wire(cls, spec: Mapping[str, Any] | None) -> "PriceSheet":
        """A sheet from JSON (any member left out keeps its default); unknown members are refused."""
        if not spec:
            return cls()
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(spec) - known)
        if unknown:
            raise ValueError(f"unknown price sheet members: {', '.join(unknown)}")
        values = {}
        for name, value in spec.items():
            if name in ("currency", "source"):
                values[name] = str(value)
            elif isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise ValueError(f"price {name} must be a number of at least 0, not {value!r}")
            else:
                values[name] = float(value)
        return replace(cls(), **values)

    def to_wire(self) -> dict:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class DayUsage:
    day: str  # YYYY-MM-DD, UTC
    table: str
    billing_mode: str = ""  # the last one seen that day
    read_request_units: float = 0.0  # on-demand: billed
    write_request_units: float = 0.0
    replicated_write_units: float = 0.0
    provisioned_read_units_consumed: float = 0.0  # provisioned tables: reported, not billed
    provisioned_write_units_consumed: float = 0.0
    storage_gb_months: float = 0.0
    backup_gb_months: float = 0.0
    pitr_gb_months: float = 0.0
    read_capacity_unit_hours: float = 0.0
    write_capacity_unit_hours: float = 0.0


def day_of(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, timezone.utc).strftime("%Y-%m-%d")


def _gb_months(byte_ms: float, day: str) -> float:
    """Bytes held for ``byte_ms``/bytes milliseconds, in GB-months of ``day``'s month."""
    year, month = int(day[:4]), int(day[5:7])
    month_ms = calendar.monthrange(year, month)[1] * 86_400_000
    return byte_ms / GIB / month_ms


def _add(usage: dict[tuple[str, str], DayUsage], day: str, table: str, **amounts: float) -> None:
    current = usage.get((day, table)) or DayUsage(day, table)
    mode = amounts.pop("billing_mode", None)
    changed = {name: getattr(current, name) + value for name, value in amounts.items()}
    usage[(day, table)] = replace(current, **changed, **({"billing_mode": mode} if mode else {}))


def fold(events: Iterable[Any], into: Mapping[tuple[str, str], DayUsage] | None = None) -> dict[tuple[str, str], DayUsage]:
    """(day, table) -> DayUsage from UsageRecorded and StorageSampled events (others are skipped)."""
    usage = dict(into or {})
    for event in events:
        kind = type(event).__name__
        if kind == "UsageRecorded":
            if event.billing_mode == "PROVISIONED":
                _add(usage, event.day, event.table_name, billing_mode=event.billing_mode,
                     provisioned_read_units_consumed=event.read_units / 2,
                     provisioned_write_units_consumed=event.write_units / 2,
                     replicated_write_units=event.replicated_write_units / 2)
            else:
                _add(usage, event.day, event.table_name, billing_mode=event.billing_mode,
                     read_request_units=event.read_units / 2, write_request_units=event.write_units / 2,
                     replicated_write_units=event.replicated_write_units / 2)
        elif kind == "StorageSampled":
            _fold_sample(usage, event)
    return usage


def _fold_sample(usage: dict[tuple[str, str], DayUsage], event: Any) -> None:
    """A sample's span, split at UTC midnights so each day gets its own share."""
    end, start = event.sampled_at, event.sampled_at - max(0, event.covers)
    while end > start:
        day_start = (end - 1) // 86_400_000 * 86_400_000
        piece_start = max(start, day_start)
        span = end - piece_start
        day = day_of(piece_start)
        hours = span / 3_600_000
        provisioned = event.billing_mode == "PROVISIONED"
        _add(usage, day, event.table_name, billing_mode=event.billing_mode,
             storage_gb_months=_gb_months(event.size_bytes * span, day),
             backup_gb_months=_gb_months(event.backup_bytes * span, day),
             pitr_gb_months=_gb_months(event.size_bytes * span, day) if event.pitr else 0.0,
             read_capacity_unit_hours=event.provisioned_read * hours if provisioned else 0.0,
             write_capacity_unit_hours=event.provisioned_write * hours if provisioned else 0.0)
        end = piece_start


_PRICED = (  # (usage member, price member, divisor)
    ("read_request_units", "read_request_units_per_million", MILLION),
    ("write_request_units", "write_request_units_per_million", MILLION),
    ("replicated_write_units", "replicated_write_units_per_million", MILLION),
    ("storage_gb_months", "storage_gb_month", 1),
    ("backup_gb_months", "backup_gb_month", 1),
    ("pitr_gb_months", "pitr_gb_month", 1),
    ("read_capacity_unit_hours", "read_capacity_unit_hour", 1),
    ("write_capacity_unit_hours", "write_capacity_unit_hour", 1),
)


def cost(day: DayUsage, prices: PriceSheet) -> float:
    return sum(getattr(day, member) * getattr(prices, price) / divisor for member, price, divisor in _PRICED)


@dataclass(frozen=True)
class Report:
    rows: list[dict] = field(default_factory=list)  # one per (day, table), oldest first, with "cost"
    totals: dict = field(default_factory=dict)  # every amount summed, and "cost"
    prices: PriceSheet = PriceSheet()

    def to_wire(self) -> dict:
        return {"Usage": self.rows, "Totals": self.totals, "PriceSheet": self.prices.to_wire()}


def report(usage: Mapping[tuple[str, str], DayUsage], prices: PriceSheet, start: str | None = None,
           end: str | None = None, table: str | None = None) -> Report:
    """The days from ``start`` to ``end`` (YYYY-MM-DD, both included; None: unbounded), priced."""
    rows, totals = [], {member: 0.0 for member, _, _ in _PRICED}
    totals["cost"] = 0.0
    for (day, name), entry in sorted(usage.items()):
        if (start is not None and day < start) or (end is not None and day > end) or (table is not None and name != table):
            continue
        row = asdict(entry)
        row["cost"] = cost(entry, prices)
        rows.append(row)
        for member in totals:
            totals[member] += row[member]
    return Report(rows, totals, prices)


CSV_COLUMNS = ["day", "table", "billing_mode"] + [member for member, _, _ in _PRICED] + [
    "provisioned_read_units_consumed", "provisioned_write_units_consumed", "cost"]


def to_csv(rows: Iterable[Mapping[str, Any]], currency: str = "USD") -> str:
    """The report's rows as CSV (a header line, then one line per day and table)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS[:-1] + [f"cost_{currency.lower()}"])
    for row in rows:
        writer.writerow([_cell(row.get(column)) for column in CSV_COLUMNS])
    return out.getvalue()


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.10g}"
    return "" if value is None else str(value)
