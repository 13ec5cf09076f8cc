#!/usr/bin/env python3
"""Checks that directories of report tables (podwarden's, DuckDB's, pandas's) are identical.

    python3 bench/compare.py A_DIR B_DIR [C_DIR...] [--rate INR=0.01198]...

Every table of bench/README.md must be in every directory; each is parsed as CSV and
compared with the first directory's row by row and column by column, exactly (text, so
`0` and `0.0` differ). The first difference is reported with the table, the row (1 = the
first row after the header) and the column, and whether the two files hold the same rows in
another order. Then prints the headline figures converted to USD with the rates (to the
cent, half up; a currency without a rate is shown apart, unconverted). Exits 1 on any
difference (or a missing table), 0 otherwise; standard library only.
"""

import argparse
import csv
import os
import sys
from collections import Counter
from decimal import ROUND_HALF_UP, Decimal

TABLES = [
    "by_provider.csv",
    "by_project.csv",
    "by_owner.csv",
    "by_gpu_type.csv",
    "daily.csv",
    "top_pods.csv",
    "breakdown.csv",
    "headline.csv",
]
FIGURES = ["mtd_tracked", "last_month_same_period", "last_month_total", "mtd_orphans"]


def read(path):
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    if not rows:
        return [], []
    return rows[0], rows[1:]


def first_difference(table, a_dir, b_dir):
    """None when the table is the same in both directories, else a sentence saying where not."""
    pa, pb = os.path.join(a_dir, table), os.path.join(b_dir, table)
    for p in (pa, pb):
        if not os.path.isfile(p):
            return f"{table}: missing in {os.path.dirname(p)}"
    (ha, ra), (hb, rb) = read(pa), read(pb)
    if ha != hb:
        return f"{table}: header {ha} in {a_dir} but {hb} in {b_dir}"
    for n, (x, y) in enumerate(zip(ra, rb), start=1):
        if x == y:
            continue
        if len(x) != len(y):
            return f"{table} row {n}: {len(x)} fields in {a_dir} ({x}) but {len(y)} in {b_dir} ({y})"
        c = next(k for k in range(len(x)) if x[k] != y[k])
        same_rows = Counter(map(tuple, ra)) == Counter(map(tuple, rb))
        note = " (the same rows, in another order)" if same_rows else ""
        return (
            f"{table} row {n} column {ha[c] if c < len(ha) else c}: "
            f"{x[c]!r} in {a_dir} but {y[c]!r} in {b_dir}{note}\n"
            f"  {a_dir}: {','.join(x)}\n  {b_dir}: {','.join(y)}"
        )
    if len(ra) != len(rb):
        longer, d, rows = (a_dir, len(rb), ra) if len(ra) > len(rb) else (b_dir, len(ra), rb)
        return (
            f"{table}: {len(ra)} rows in {a_dir} but {len(rb)} in {b_dir}; "
            f"row {d + 1} only in {longer}: {','.join(rows[d])}"
        )
    return None


def headline_usd(d, rates):
    """{figure: (USD Decimal, {currency without a rate: micros})} of d/headline.csv."""
    header, rows = read(os.path.join(d, "headline.csv"))
    col = {h: k for k, h in enumerate(header)}
    out = {f: [Decimal(0), {}] for f in FIGURES}
    for r in rows:
        fig, cur, micros = r[col["figure"]], r[col["currency"]], int(r[col["micros"]])
        slot = out.setdefault(fig, [Decimal(0), {}])
        if cur in rates:
            slot[0] += Decimal(micros) * rates[cur] / Decimal(1_000_000)
        else:
            slot[1][cur] = slot[1].get(cur, 0) + micros
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("dirs", nargs="+", metavar="DIR")
    p.add_argument("--rate", action="append", default=[], metavar="CUR=RATE",
                   help="USD per unit of CUR for the headline totals (repeatable; USD is 1)")
    a = p.parse_args()
    if len(a.dirs) < 2:
        p.error("give at least two directories")
    rates = {"USD": Decimal(1)}
    for spec in a.rate:
        cur, _, r = spec.partition("=")
        rates[cur] = Decimal(r)

    extra = set()
    for d in a.dirs:
        if os.path.isdir(d):
            extra |= {f for f in os.listdir(d) if f.endswith(".csv")} - set(TABLES)
    tables = TABLES + sorted(extra)
    failures = []
    for b in a.dirs[1:]:
        for t in tables:
            diff = first_difference(t, a.dirs[0], b)
            if diff:
                failures.append(diff)
                break  # the first difference between this pair
    for d in a.dirs:
        if not os.path.isdir(d):
            failures.insert(0, f"{d}: not a directory")

    for f in failures:
        print(f"DIFFERENT: {f}")
    if not failures:
        counts = ", ".join(f"{t[:-4]} {len(read(os.path.join(a.dirs[0], t))[1])}" for t in TABLES)
        print(f"identical: {len(a.dirs)} directories, {len(tables)} tables (rows: {counts})")

    # The headline converted, from each directory whose headline differs from the first's.
    shown = []
    for d in a.dirs:
        if not os.path.isfile(os.path.join(d, "headline.csv")):
            continue
        h = headline_usd(d, rates)
        if shown and h == shown[0][1]:
            continue
        shown.append((d, h))
    cent = Decimal("0.01")
    for d, h in shown:
        label = d if len(shown) > 1 else " = ".join(a.dirs)
        print(f"headline in USD ({label}; rates {', '.join(f'{c}={r}' for c, r in rates.items())}):")
        for fig, (usd, unconverted) in h.items():
            rest = "".join(f" + {Decimal(m) / Decimal(1_000_000)} {c} (no rate)" for c, m in sorted(unconverted.items()))
            print(f"  {fig:24} {usd.quantize(cent, rounding=ROUND_HALF_UP):>20,} USD{rest}")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
