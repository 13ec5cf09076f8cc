#!/usr/bin/env python3
"""Baseline: the spend report's tables with DuckDB, one SQL query per table over the parquet.

    python3 duckdb_tables.py SPEND.parquet DAY OUTDIR [--rate INR=0.01198]...

Writes by_provider.csv, by_project.csv, by_owner.csv, by_gpu_type.csv, daily.csv,
top_pods.csv, breakdown.csv and headline.csv (see bench/README.md), and prints
`seconds=<float>`: wall time from before the parquet is read to after the last CSV is
written. Sums are exact (BIGINT micro-units summed as HUGEINT); the top-pods ranking
multiplies them by the rates as DECIMAL, so it is exact too.
"""

import os
import sys
import time

import duckdb

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import NONE, parse_args  # noqa: E402


def quote(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def main():
    spend, window, outdir, rates = parse_args("duckdb_tables.py")
    os.makedirs(outdir, exist_ok=True)
    w = {k: quote(v) for k, v in window.iso().items()}
    # Rates as exact decimals with as many fractional digits as the widest one given.
    scale = max(max(-r.as_tuple().exponent, 0) for r in rates.values())
    if scale > 30:
        sys.exit(f"duckdb_tables.py: a rate with {scale} fractional digits is too precise")
    rate_rows = ", ".join(f"({quote(c)}, {quote(str(r))}::DECIMAL(38,{scale}))" for c, r in rates.items())
    none = quote(NONE)

    def out(name):
        return quote(os.path.join(outdir, name))

    view = f"""
        CREATE TEMP VIEW spend AS
        SELECT
            date, provider, kind, tracked, target, pod_id, name, project, owner, gpu_type,
            currency, amount_micros,
            CASE WHEN date >= {w['month_start']} THEN 'mtd' ELSE 'last_month' END AS period
        FROM read_parquet({quote(spend)})
        WHERE date BETWEEN {w['lm_start']} AND {w['day']}
    """
    queries = []
    for column in ["provider", "project", "owner", "gpu_type"]:
        queries.append(f"""
            COPY (
                SELECT coalesce({column}, {none}) AS key, currency, sum(amount_micros) AS micros
                FROM spend
                WHERE tracked AND period = 'mtd'
                GROUP BY ALL
                ORDER BY key, currency
            ) TO {out(f'by_{column}.csv')} (FORMAT csv, HEADER true)
        """)
    queries.append(f"""
        COPY (
            SELECT date, coalesce(provider, {none}) AS provider, currency,
                   sum(amount_micros) AS micros
            FROM spend
            GROUP BY ALL
            ORDER BY date, provider, currency
        ) TO {out('daily.csv')} (FORMAT csv, HEADER true)
    """)
    queries.append(f"""
        COPY (
            WITH rates(currency, rate) AS (VALUES {rate_rows}),
            pods AS (
                SELECT coalesce(provider, {none}) AS provider, coalesce(target, {none}) AS target,
                       coalesce(name, {none}) AS name, coalesce(project, {none}) AS project,
                       coalesce(kind, {none}) AS kind, currency, sum(amount_micros) AS micros
                FROM spend
                WHERE period = 'mtd'
                GROUP BY ALL
            ),
            converted AS (
                SELECT pods.*,
                       CASE WHEN rates.rate IS NULL
                            THEN error('no --rate for currency ' || pods.currency)
                            ELSE pods.micros::DECIMAL(38,0) * rates.rate END AS converted
                FROM pods LEFT JOIN rates USING (currency)
            )
            SELECT provider, target, name, project, kind, currency, micros
            FROM converted
            ORDER BY converted DESC, provider, target, name, project, kind, currency
            LIMIT 20
        ) TO {out('top_pods.csv')} (FORMAT csv, HEADER true)
    """)
    queries.append(f"""
        COPY (
            SELECT coalesce(provider, {none}) AS provider, coalesce(project, {none}) AS project,
                   coalesce(owner, {none}) AS owner, coalesce(kind, {none}) AS kind, currency,
                   count(DISTINCT pod_id) AS pods,
                   coalesce(sum(amount_micros) FILTER (WHERE period = 'mtd'), 0) AS mtd_micros,
                   coalesce(sum(amount_micros) FILTER (WHERE period = 'last_month'), 0)
                       AS last_month_micros
            FROM spend
            GROUP BY ALL
            ORDER BY provider, project, owner, kind, currency
        ) TO {out('breakdown.csv')} (FORMAT csv, HEADER true)
    """)
    queries.append(f"""
        COPY (
            SELECT figure, currency, sum(amount_micros) AS micros
            FROM (
                SELECT 'mtd_tracked' AS figure, currency, amount_micros
                FROM spend WHERE tracked AND period = 'mtd'
                UNION ALL
                SELECT 'last_month_same_period', currency, amount_micros
                FROM spend WHERE tracked AND date BETWEEN {w['lm_start']} AND {w['same_end']}
                UNION ALL
                SELECT 'last_month_total', currency, amount_micros
                FROM spend WHERE tracked AND period = 'last_month'
                UNION ALL
                SELECT 'mtd_orphans', currency, amount_micros
                FROM spend WHERE kind = 'orphan' AND period = 'mtd'
            )
            GROUP BY ALL
            ORDER BY figure, currency
        ) TO {out('headline.csv')} (FORMAT csv, HEADER true)
    """)

    con = duckdb.connect()
    t = time.perf_counter()
    con.execute(view)
    for q in queries:
        con.execute(q)
    print(f"seconds={time.perf_counter() - t:.3f}", flush=True)


if __name__ == "__main__":
    main()
