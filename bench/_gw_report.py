"""What the gateway bench prints and records: the machine, the table, the goals of issue 4."""

from __future__ import annotations

import os
import platform
import subprocess
from datetime import datetime, timezone
from pathlib import Path

from _gw_load import Summary

COLUMNS = ("phase", "clients", "target", "p50 ms", "p99 ms", "ops/s", "server CPU µs/call",
           "client CPU µs/call", "others % core", "calls", "errors")
DOCS_HEADER = ("# Benchmarks\n\nEach section names the script that produced it. "
               "Rerun the script before you quote a figure.\n")
SECTION = "## Gateway"


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


def _mem_gib() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) / 2**20
    return float("nan")


def _node_version() -> str:
    try:
        return subprocess.run(["node", "--version"], capture_output=True, text=True, timeout=30).stdout.strip()
    except OSError:
        return "absent"


def machine() -> str:
    load = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    return (f"{os.cpu_count()} cores ({_cpu_model()}), {_mem_gib():.0f} GiB RAM, Linux {platform.release()}, "
            f"Python {platform.python_version()}, Node {_node_version()}; load average at start {load}")


def now() -> str:
    return datetime.now(timezone.utc).strftime("%a %d %b %Y, %H:%M UTC")


def _fmt(value: float, digits: int) -> str:
    return "n/a" if value != value else f"{value:,.{digits}f}"  # NaN when a phase made no call


def rows(summaries: dict[tuple[str, str], Summary], phases: list[tuple[str, int]], targets: list[str]) -> list[tuple]:
    out = []
    for name, clients in phases:
        for target in targets:
            s = summaries[(target, f"{name}/{clients}")]
            figures = [(s.p50_ms, 2), (s.p99_ms, 2), (s.ops_per_s, 0), (s.server_us_per_call, 0),
                       (s.client_us_per_call, 0), (s.others_pct, 0)]
            out.append((name, str(clients), target, *(_fmt(v, d) for v, d in figures), str(s.calls), str(s.errors)))
    return out


def text_table(table: list[tuple]) -> str:
    widths = [max(len(str(r[i])) for r in [COLUMNS, *table]) for i in range(len(COLUMNS))]
    line = lambda r: "  ".join(str(v).rjust(w) if i > 2 else str(v).ljust(w)  # noqa: E731
                               for i, (v, w) in enumerate(zip(r, widths)))
    return "\n".join([line(COLUMNS), line(["-" * w for w in widths]), *(line(r) for r in table)])


def markdown_table(table: list[tuple]) -> str:
    head = "| " + " | ".join(COLUMNS) + " |\n|" + "---|" * len(COLUMNS) + "\n"
    return head + "\n".join("| " + " | ".join(r) + " |" for r in table)


def goals(summaries: dict[tuple[str, str], Summary], targets: list[str]) -> list[str]:
    """Issue 4's goals for each dynamoray target, checked against this run's figures."""
    lines = []
    peer = summaries.get(("dynalite", "Mixed 90/10/8"))
    for target in (t for t in targets if t.startswith("dynamoray")):
        get, put = summaries.get((target, "GetItem/1")), summaries.get((target, "PutItem/1"))
        mixed = summaries.get((target, "Mixed 90/10/8"))
        checks = []
        if get is not None:
            checks += [(f"GetItem p50 {get.p50_ms:.2f} ms ≤ 1 ms", get.p50_ms <= 1),
                       (f"GetItem p99 {get.p99_ms:.2f} ms < 10 ms", get.p99_ms < 10)]
        if put is not None:
            checks += [(f"durable PutItem p50 {put.p50_ms:.2f} ms ≤ 2 ms", put.p50_ms <= 2),
                       (f"PutItem p99 {put.p99_ms:.2f} ms < 10 ms", put.p99_ms < 10)]
        if peer is not None and mixed is not None:
            checks.append((f"8-client mixed {mixed.ops_per_s:,.0f} ops/s ≥ dynalite's {peer.ops_per_s:,.0f}",
                           mixed.ops_per_s >= peer.ops_per_s))
        if not checks:
            continue
        marks = "; ".join(f"{text} {'met' if ok else 'NOT met'}" for text, ok in checks)
        lines.append(f"- {target}: {marks}.")
    return lines


def record(path: Path, command: str, started: str, machine_line: str, settings: str,
           table: list[tuple], goal_lines: list[str], errors: list[str]) -> None:
    """Adds one run at the end of the Gateway section of ``path`` (other sections are left as they are)."""
    text = path.read_text() if path.exists() else DOCS_HEADER + f"\nMachine: {machine_line}. Created {started}.\n"
    if f"\n{SECTION}\n" not in text:
        text = text.rstrip("\n") + f"\n\n{SECTION}\n\n`bench/bench_gateway.py`; each run below was appended by it.\n"
    block = [f"\n### Run of {started}\n", f"- **Command:** `{command}`", f"- **Machine:** {machine_line}",
             f"- **Settings:** {settings}", "", markdown_table(table), ""]
    if goal_lines:
        block += ["Goals of issue 4 in this run:", *goal_lines, ""]
    if errors:
        block += ["Errors:", *(f"- {e}" for e in errors), ""]
    start = text.index(f"\n{SECTION}\n") + 1
    end = text.find("\n## ", start)  # the next section, which is someone else's
    end = len(text) if end < 0 else end + 1
    section = text[start:end].rstrip("\n") + "\n" + "\n".join(block) + "\n"
    path.write_text(text[:start] + section + ("\n" + text[end:] if end < len(text) else ""))
