#!/usr/bin/env python3
"""A spend.parquet for testing the baselines without cargo (pyarrow and numpy only).

    python3 make_test_parquet.py OUT.parquet --pods N --day DAY [--days 90] [--edge-cases]

By default the rows follow the synthetic fleet of examples/support/synthetic.rs (what
`bench_data` writes): pod i is Podstack in INR (rate 207.00/h) when i % 10 >= 7, else Argus
in USD (2.49/h); an orphan (untracked, no project) when Argus and i % 20 == 6; one row per day for DAYS days ending on DAY, of
(i + d) % 25 hours. Pod-major row order, zstd, strings as string_view, as polars writes it.

--edge-cases adds what the synthetic fleet lacks: null names,
owners, GPU types and projects on tracked pods; keys that differ only by a suffix (`llm` /
`llm team`, `ana` / `ana bo`) and a name with a comma and quotes; one pod billed in both
currencies; rows dated after DAY (outside the window). Those files are for checking the
baselines against each other, not against podwarden.
"""

import argparse
import datetime as dt

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

PROJECTS = ["vision-prod", "research", "llm", "infra", "speech"]
OWNERS = ["ana", "bo", "chen"]
GPUS = ["H100-80GB", "A100-40GB", "L4"]
RATE_MICROS = {"argus": 2_490_000, "podstack": 207_000_000}  # per hour
INR_TO_USD = (1198, 100_000)  # 0.01198, what bench_data converts report_amount_micros with


def amount_str(m: np.ndarray) -> pa.Array:
    """The `amount` strings of micro-unit amounts as rust_decimal prints rate × hours (the rates
    have two decimals): 24900000 -> '24.90', 0 -> '0'."""
    out = []
    for v in m.tolist():
        whole, frac = divmod(v, 1_000_000)
        out.append(f"{whole}.{frac // 10_000:02d}" if v else "0")
    return pa.array(out, pa.string())


def main():
    p = argparse.ArgumentParser()
    p.add_argument("out")
    p.add_argument("--pods", type=int, required=True)
    p.add_argument("--day", type=dt.date.fromisoformat, required=True)
    p.add_argument("--days", type=int, default=90)
    p.add_argument("--edge-cases", action="store_true")
    p.add_argument("--pods-per-group", type=int, default=10_000, help="pods per row group")
    p.add_argument(
        "--strings",
        choices=["view", "plain"],
        default="view",
        help="string columns as Arrow string_view, as polars writes them (default), or plain string",
    )
    a = p.parse_args()

    writer = None
    rows = 0
    for start in range(0, a.pods, a.pods_per_group):
        table = part(range(start, min(start + a.pods_per_group, a.pods)), a)
        if a.strings == "view":
            table = table.cast(
                pa.schema([pa.field(f.name, pa.string_view() if f.type == pa.string() else f.type) for f in table.schema])
            )
        if writer is None:
            writer = pq.ParquetWriter(a.out, table.schema, compression="zstd")
        writer.write_table(table)
        rows += table.num_rows
    writer.close()
    print(f"make_test_parquet: {a.pods} pods, {rows} rows, {a.days} days to {a.day}: {a.out}")


def part(pods: range, a) -> pa.Table:
    i = np.arange(pods.start, pods.stop, dtype=np.int64)
    n = len(i)
    podstack = i % 10 >= 7
    # synthetic.rs's rule: an Argus pod with i % 20 == 6 is an orphan.
    orphan = ~podstack & (i % 20 == 6)

    # Pod-level columns (strings as Python lists: a pod range at a time keeps this small).
    ids = i.tolist()
    provider = np.where(podstack, "podstack", "argus")
    target = [f"t{x:07d}" for x in ids]
    pod_id = [f"p{x:07d}" for x in ids]
    name = [f"pod-{x}" for x in ids]
    project = [None if o else PROJECTS[x % 5] for x, o in zip(ids, orphan.tolist())]
    owner = [OWNERS[x % 3] for x in ids]
    gpu_type = [GPUS[x % 3] for x in ids]
    currency = np.where(podstack, "INR", "USD")
    if a.edge_cases:
        for k, x in enumerate(ids):
            if x % 7 == 3:
                name[k] = None
            if x % 11 == 4:
                owner[k] = None
            if x % 13 == 5:
                gpu_type[k] = None
            if x % 17 == 6 and not orphan[k]:
                project[k] = None
            if x % 9 == 2 and project[k] == "llm":
                project[k] = "llm team"
            if x % 23 == 8:
                owner[k] = "ana bo"
            if x == 7:
                name[k] = 'pod, "seven"'

    # Day-level rows: pod-major, DAYS days ending on DAY (plus two after it with edge cases).
    offsets = np.arange(a.days, dtype=np.int64)
    if a.edge_cases:
        offsets = np.concatenate([np.array([-2, -1], dtype=np.int64), offsets])
    d = len(offsets)
    pod_ix = np.repeat(np.arange(n), d)
    off = np.tile(offsets, n)
    hours = (i[pod_ix] + off) % 25
    prov = provider[pod_ix]
    cur = currency[pod_ix].astype(object)
    if a.edge_cases:
        # Pod 5 (Argus, USD) billed in INR on odd days.
        both = (i[pod_ix] == 5) & (off % 2 == 1)
        cur[both] = "INR"
    rate = np.where(cur == "INR", RATE_MICROS["podstack"], RATE_MICROS["argus"])
    amount = rate * hours
    inr = cur == "INR"
    report = np.where(inr, (amount * INR_TO_USD[0] + INR_TO_USD[1] // 2) // INR_TO_USD[1], amount)
    day0 = np.datetime64(a.day.isoformat(), "D")
    dates = (day0 - off.astype("timedelta64[D]")).astype(str)

    def take(values):
        return pa.array(values, pa.string()).take(pa.array(pod_ix))

    def parts_of(share):
        v = amount * share // 100
        return pa.array(np.where(inr, v, 0), pa.int64(), mask=~inr)

    hours_str = pa.array([str(h) for h in range(25)], pa.string()).take(pa.array(hours))
    status = ["stopped" if x % 8 == 0 else "running" for x in ids]
    idle = [x % 3 == 0 and x % 8 != 0 for x in ids]  # running and idle
    return pa.table(
        {
            "date": pa.array(dates, pa.string()),
            "provider": pa.array(prov, pa.string()),
            "kind": take(["orphan" if o else "pod" for o in orphan.tolist()]),
            "tracked": pa.array(~orphan[pod_ix], pa.bool_()),
            "target": take(target),
            "pod_id": take(pod_id),
            "name": take(name),
            "project": take(project),
            "owner": take(owner),
            "gpu_type": take(gpu_type),
            "gpu_count": pa.array(1 + i[pod_ix] % 4, pa.int64()),
            "region": take(["us-east-1"] * n),
            "status": take(status),
            "idle_now": pa.array(idle, pa.bool_()).take(pa.array(pod_ix)),
            "planned_action": pa.nulls(n * d, pa.string()),
            "planned_policy": pa.nulls(n * d, pa.string()),
            "hours": pa.array(hours_str.to_numpy(zero_copy_only=False), pa.string(), mask=podstack[pod_ix]),
            "currency": pa.array(cur, pa.string()),
            "amount": amount_str(amount),
            "amount_micros": pa.array(amount, pa.int64()),
            "report_currency": take(["USD"] * n),
            "report_amount_micros": pa.array(report, pa.int64()),
            "gpu_micros": parts_of(82),
            "cpu_micros": parts_of(8),
            "memory_micros": parts_of(6),
            "storage_micros": parts_of(4),
        }
    )


if __name__ == "__main__":
    main()
