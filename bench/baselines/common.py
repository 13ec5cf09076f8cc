"""What both baselines share: the command line and the report window (no engine code).

    SPEND.parquet DAY OUTDIR [--rate CUR=RATE]...

DAY is the report day (YYYY-MM-DD). A rate is the report currency (USD) per unit of CUR;
USD itself is 1. The window is the previous calendar month's first day to DAY.
"""

import argparse
import datetime as dt
from decimal import Decimal


class Window:
    def __init__(self, day: dt.date):
        self.day = day
        self.month_start = day.replace(day=1)
        last_month_end = self.month_start - dt.timedelta(days=1)
        self.lm_start = last_month_end.replace(day=1)
        self.lm_end = last_month_end
        # Same period last month: its first day to DAY's day of the month, cut at its end.
        self.same_end = min(self.lm_start + dt.timedelta(days=day.day - 1), last_month_end)

    def iso(self):
        """The window's dates as 'YYYY-MM-DD' strings (the parquet's date column is a string)."""
        return {
            "day": self.day.isoformat(),
            "month_start": self.month_start.isoformat(),
            "lm_start": self.lm_start.isoformat(),
            "lm_end": self.lm_end.isoformat(),
            "same_end": self.same_end.isoformat(),
        }


def parse_args(prog: str):
    p = argparse.ArgumentParser(prog=prog, description="The report tables of a spend.parquet, as CSV files.")
    p.add_argument("spend", help="spend.parquet")
    p.add_argument("day", type=dt.date.fromisoformat, help="report day, YYYY-MM-DD")
    p.add_argument("outdir", help="directory for the CSV files (created)")
    p.add_argument(
        "--rate",
        action="append",
        default=[],
        metavar="CUR=RATE",
        help="USD per unit of CUR, e.g. INR=0.01198 (repeatable; USD is 1)",
    )
    a = p.parse_args()
    rates = {"USD": Decimal(1)}
    for spec in a.rate:
        cur, sep, rate = spec.partition("=")
        if not sep or not cur:
            p.error(f"--rate {spec!r}: expected CUR=RATE")
        rates[cur] = Decimal(rate)
    return a.spend, Window(a.day), a.outdir, rates


# Key columns written as `(none)` when null.
NONE = "(none)"
