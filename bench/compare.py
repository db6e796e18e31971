"""Show the change between two runs of `bench/run`: `bench/compare A.json B.json`.

For each path measured in both runs: throughput and CPU per request of the service, its
ratio to the baseline of the same run (the steadier figure on a shared machine), p95 and
SQL statements per request, each as A -> B with the change in per cent. Then the
concurrency sweep, memory and the invariants.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any


def _number(value: Any) -> float | None:
    if isinstance(value, int | float) and not (isinstance(value, float) and math.isnan(value)):
        return float(value)
    return None


def change(before: Any, after: Any, *, digits: int = 2, lower_is_better: bool = False) -> str:
    """`a -> b (+x%)`, with a mark when the change is for the better or the worse."""
    a, b = _number(before), _number(after)
    shown = f"{_fmt(a, digits)} -> {_fmt(b, digits)}"
    if a is None or b is None or a == 0:
        return f"{shown:>22}        "
    percent = 100 * (b - a) / abs(a)
    better = percent < 0 if lower_is_better else percent > 0
    mark = " " if abs(percent) < 10 else ("+" if better else "-")
    return f"{shown:>22} {percent:>+5.0f}%{mark}"


def _fmt(value: float | None, digits: int) -> str:
    return "n/a" if value is None else f"{value:,.{digits}f}"


def _rows(
    title: str, first: dict[str, Any], second: dict[str, Any], statements: bool = True
) -> list[str]:
    lines = [
        f"\n{title}",
        f"  {'path':<32} {'ours/s':>30} {'ratio to baseline':>30} {'CPU ms/req':>30} "
        f"{'CPU x baseline':>30} {'p95 ms':>30}" + (f" {'SQL/req':>30}" if statements else ""),
    ]
    for name in [name for name in first if name in second]:
        a, b = first[name], second[name]
        sa, sb = a["summary"], b["summary"]
        line = (
            f"  {name:<32} {change(sa['rate'], sb['rate'], digits=0)} "
            f"{change(sa['rate_ratio'], sb['rate_ratio'])} "
            f"{change(sa['cpu_ms'], sb['cpu_ms'], digits=3, lower_is_better=True)} "
            f"{change(sa['cpu_ratio'], sb['cpu_ratio'], digits=1, lower_is_better=True)} "
            f"{change(sa['p95_ms'], sb['p95_ms'], digits=1, lower_is_better=True)}"
        )
        if statements:
            line += " " + change(
                a.get("statements_per_request"),
                b.get("statements_per_request"),
                digits=1,
                lower_is_better=True,
            )
        lines.append(line)
    only = sorted(set(first) ^ set(second))
    if only:
        lines.append(f"  in one run only: {', '.join(only)}")
    return lines


def compare(first: dict[str, Any], second: dict[str, Any]) -> str:
    lines = []
    for label, run in (("A", first), ("B", second)):
        machine = run.get("machine", {})
        settings = run.get("settings", {})
        lines.append(
            f"{label}: {run.get('started', '?')} commit {run.get('commit', '?')}, "
            f"{settings.get('mode', '?')} mode, {settings.get('load_generator', '?')}, "
            f"{settings.get('workers', '?')} worker(s); {machine.get('node', '?')} "
            f"{machine.get('cpus', '?')} CPUs, load average {machine.get('load_average_at_start')}"
        )
    if first.get("settings", {}).get("mode") != second.get("settings", {}).get("mode"):
        lines.append("WARNING: the runs are of different modes; compare the ratios only")
    lines.append(
        "(each cell: A -> B and the change; + better, - worse, by 10% or more. On a shared "
        "machine throughput moves with other load; the ratios and CPU per request less so)"
    )
    lines += _rows("paths", first.get("paths", {}), second.get("paths", {}))
    if first.get("sweep") and second.get("sweep"):
        lines += _rows("concurrency sweep", first["sweep"], second["sweep"], statements=False)
    memory_a, memory_b = first.get("memory", {}), second.get("memory", {})
    if memory_a and memory_b:
        repeats_a, repeats_b = (
            memory_a["rss_mb_after_each_repeat"],
            memory_b["rss_mb_after_each_repeat"],
        )
        last_a, last_b = max(repeats_a[-1] or [0]), max(repeats_b[-1] or [0])
        moved = change(last_a, last_b, digits=1, lower_is_better=True)
        lines.append(f"\nmemory: API worker RSS after the repeats {moved} MB")
    for label, run in (("A", first), ("B", second)):
        invariants = run.get("invariants", {})
        if invariants:
            lines.append(
                f"invariants {label}: {'OK' if invariants.get('ok') else 'FAILED'} "
                f"(stock discrepancy {invariants['stock']['stock_discrepancy_units']}, "
                f"replayed key made {invariants['replay']['orders_made']} order(s), outbox "
                f"drained in {invariants['outbox']['drain_seconds']} s)"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("first", type=Path, help="the earlier run's JSON (A)")
    parser.add_argument("second", type=Path, help="the later run's JSON (B)")
    arguments = parser.parse_args(argv)
    try:
        first = json.loads(arguments.first.read_text())
        second = json.loads(arguments.second.read_text())
    except (OSError, ValueError) as error:
        print(f"cannot read the runs: {error}", file=sys.stderr)
        return 2
    print(compare(first, second))
    return 0


if __name__ == "__main__":
    sys.exit(main())
