#!/usr/bin/env python3
"""Baseline: the spend report's tables with pandas (read_parquet, boolean masks, groupby).

    python3 pandas_tables.py SPEND.parquet DAY OUTDIR [--rate INR=0.01198]...

Writes the same CSV files as duckdb_tables.py and prints `seconds=<float>`: wall time from
before the parquet is read to after the last CSV is written. Sums are int64 micro-units
(exact); the top-pods ranking multiplies them by the rates as Python Decimals (exact).
"""

import os
import sys
import time
from decimal import Decimal

import pandas as pd

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import NONE, parse_args  # noqa: E402

COLUMNS = [
    "date", "provider", "kind", "tracked", "target", "pod_id", "name", "project", "owner",
    "gpu_type", "currency", "amount_micros",
]
KEYS = ["provider", "kind", "target", "name", "project", "owner", "gpu_type", "currency"]
POD_KEYS = ["provider", "target", "name", "project", "kind", "currency"]
BREAKDOWN_KEYS = ["provider", "project", "owner", "kind", "currency"]


def write(df: pd.DataFrame, outdir: str, name: str):
    df.to_csv(os.path.join(outdir, name), index=False, lineterminator="\n")


def main():
    spend, window, outdir, rates = parse_args("pandas_tables.py")
    os.makedirs(outdir, exist_ok=True)
    w = window.iso()

    t = time.perf_counter()
    # The window is cut after reading: polars writes strings as Arrow string_view, which
    # pyarrow's dataset filters (read_parquet(filters=...)) cannot compare or filter yet.
    df = pd.read_parquet(spend, columns=COLUMNS)
    df = df[(df["date"] >= w["lm_start"]) & (df["date"] <= w["day"])]
    if df["amount_micros"].dtype != "int64":
        sys.exit(f"pandas_tables.py: amount_micros is {df['amount_micros'].dtype}, not int64 (nulls?)")
    for k in KEYS:
        df[k] = df[k].fillna(NONE)
    mtd = df["date"] >= w["month_start"]
    tracked = df["tracked"]

    # by_provider / by_project / by_owner / by_gpu_type: tracked, month to date.
    tracked_mtd = df[tracked & mtd]
    for column in ["provider", "project", "owner", "gpu_type"]:
        t_ = (
            tracked_mtd.groupby([column, "currency"], sort=True)["amount_micros"]
            .sum()
            .reset_index()
            .rename(columns={column: "key", "amount_micros": "micros"})
        )
        write(t_, outdir, f"by_{column}.csv")

    # daily: every row of the window.
    daily = (
        df.groupby(["date", "provider", "currency"], sort=True)["amount_micros"]
        .sum()
        .reset_index()
        .rename(columns={"amount_micros": "micros"})
    )
    write(daily, outdir, "daily.csv")

    # top_pods: month to date, ranked by the amount converted (exact Decimals).
    pods = (
        df[mtd]
        .groupby(POD_KEYS, sort=False)["amount_micros"]
        .sum()
        .reset_index()
        .rename(columns={"amount_micros": "micros"})
    )
    missing = set(pods["currency"].unique()) - set(rates)
    if missing:
        sys.exit(f"pandas_tables.py: no --rate for currency {', '.join(sorted(missing))}")
    pods["converted"] = [Decimal(int(m)) * rates[c] for m, c in zip(pods["micros"], pods["currency"])]
    top = pods.sort_values(
        ["converted", *POD_KEYS], ascending=[False] + [True] * len(POD_KEYS), kind="stable"
    ).head(20)
    write(top[[*POD_KEYS, "micros"]], outdir, "top_pods.csv")

    # breakdown: every row of the window, distinct pods and the two periods' sums.
    df["mtd_micros"] = df["amount_micros"].where(mtd, 0)
    df["last_month_micros"] = df["amount_micros"].where(~mtd, 0)
    breakdown = (
        df.groupby(BREAKDOWN_KEYS, sort=True)
        .agg(
            pods=("pod_id", "nunique"),
            mtd_micros=("mtd_micros", "sum"),
            last_month_micros=("last_month_micros", "sum"),
        )
        .reset_index()
    )
    write(breakdown, outdir, "breakdown.csv")

    # headline: four totals per currency.
    same_period = (df["date"] >= w["lm_start"]) & (df["date"] <= w["same_end"])
    figures = {
        "mtd_tracked": tracked & mtd,
        "last_month_same_period": tracked & same_period,
        "last_month_total": tracked & ~mtd,
        "mtd_orphans": (df["kind"] == "orphan") & mtd,
    }
    parts = []
    for figure, mask in figures.items():
        s = df.loc[mask].groupby("currency", sort=True)["amount_micros"].sum()
        parts.append(pd.DataFrame({"figure": figure, "currency": s.index, "micros": s.values}))
    headline = pd.concat(parts).sort_values(["figure", "currency"])
    write(headline, outdir, "headline.csv")

    print(f"seconds={time.perf_counter() - t:.3f}", flush=True)


if __name__ == "__main__":
    main()
