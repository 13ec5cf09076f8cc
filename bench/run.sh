#!/usr/bin/env bash
# The spend-report tables benchmark: podwarden (examples/bench_tables) against the DuckDB and
# pandas baselines (bench/baselines/), on the synthetic spend.parquet of examples/bench_data.
#
#     bench/run.sh
#
# Environment (defaults in brackets):
#   BENCH_SIZES   pods per size, each × 90 days of rows   [10000 100000 1000000]
#   BENCH_RUNS    runs of each tool at each size            [5]
#   BENCH_DAY     report day                                [2026-11-20]
#   BENCH_OUT     parquet files, tables, logs, results.md   [target/bench]
#   BENCH_VENV    venv of the baselines                     [$HOME/.cache/podwarden-bench-venv]
#   BENCH_SKIP    tool@pods pairs not run, e.g. "pandas@1000000" (reported as skipped)  []
#   CARGO_TARGET_DIR                                        [target]
#   PYTHON        interpreter that makes the venv           [python3]
#
# Each run is timed by the tool itself (`seconds=`: from before reading the parquet to after
# writing the CSV files, imports and process start excluded) and measured by GNU time (peak
# RSS). The summary gives the median seconds and the largest peak of the runs, then the ratio
# podwarden / tool of the medians (below 1: podwarden is faster). The three tools' tables must
# be identical (bench/compare.py), or the script exits 1.
set -euo pipefail

cd "$(dirname "$0")/.."
DAY=${BENCH_DAY:-2026-11-20}
SIZES=${BENCH_SIZES:-10000 100000 1000000}
RUNS=${BENCH_RUNS:-5}
OUT=${BENCH_OUT:-target/bench}
VENV=${BENCH_VENV:-$HOME/.cache/podwarden-bench-venv}
SKIP=" ${BENCH_SKIP:-} "
TARGET=${CARGO_TARGET_DIR:-target}
RATES=(--rate INR=0.01198)
TOOLS=(podwarden duckdb pandas)
REQ=bench/baselines/requirements.txt

say() { printf '%s\n' "$*" >&2; }
die() { say "run.sh: $*"; exit 1; }

[ -x /usr/bin/time ] || die "needs GNU time at /usr/bin/time (apt-get install time)"
[[ "$RUNS" =~ ^[1-9][0-9]*$ ]] || die "BENCH_RUNS=$RUNS: expected a positive number"

# --- the baselines' venv -------------------------------------------------------------------
if [ ! -x "$VENV/bin/python" ]; then
    say "== making the venv $VENV"
    "${PYTHON:-python3}" -m venv "$VENV"
fi
PY="$VENV/bin/python"
if ! cmp -s "$REQ" "$VENV/.podwarden-bench-requirements"; then
    say "== pip install -r $REQ"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$REQ"
    cp "$REQ" "$VENV/.podwarden-bench-requirements"
fi

# --- podwarden's examples ------------------------------------------------------------------
say "== cargo build --release --examples"
cargo build --release --examples
BENCH_DATA="$TARGET/release/examples/bench_data"
BENCH_TABLES="$TARGET/release/examples/bench_tables"
for b in "$BENCH_DATA" "$BENCH_TABLES"; do [ -x "$b" ] || die "$b: not built"; done

# --- the machine and the versions ----------------------------------------------------------
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
ram=$(awk '/^MemTotal:/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
polars=$(awk '/^name = "polars"$/ { getline; gsub(/"/, "", $3); print $3; exit }' Cargo.lock 2>/dev/null || true)
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
git diff --quiet HEAD 2>/dev/null || commit="$commit (with uncommitted changes)"
machine="$(nproc) cores, ${cpu:-unknown CPU}, $ram RAM"
versions="podwarden $commit, $(rustc --version), polars ${polars:-?}; $("$PY" -c '
import sys, duckdb, pandas, pyarrow, numpy
print(f"Python {sys.version.split()[0]}, duckdb {duckdb.__version__}, pandas {pandas.__version__}, "
      f"pyarrow {pyarrow.__version__}, numpy {numpy.__version__}")')"
say "machine: $machine"
say "versions: $versions"
say "day $DAY, sizes $SIZES pods, $RUNS runs each, output under $OUT"

mkdir -p "$OUT/logs"
declare -A SECS PEAK FAILED ROWS

median() { "$PY" -c 'import statistics, sys; print(f"{statistics.median(map(float, sys.argv[1:])):.3f}")' "$@"; }

# One run of TOOL at PODS into DIR; records its seconds and peak, or why it failed.
run_one() {
    local tool=$1 pods=$2 data=$3 dir=$4 run=$5
    local log="$OUT/logs/$pods-$tool-$run" cmd
    case $tool in
        podwarden) cmd=("$BENCH_TABLES" "$data" "$DAY" "$dir" "${RATES[@]}") ;;
        duckdb) cmd=("$PY" bench/baselines/duckdb_tables.py "$data" "$DAY" "$dir" "${RATES[@]}") ;;
        pandas) cmd=("$PY" bench/baselines/pandas_tables.py "$data" "$DAY" "$dir" "${RATES[@]}") ;;
    esac
    rm -rf "$dir"
    local rc=0
    /usr/bin/time -f '%e %M' -o "$log.time" "${cmd[@]}" >"$log.out" 2>"$log.err" || rc=$?
    local wall kb secs
    read -r wall kb < <(tail -n 1 "$log.time") || true
    secs=$(sed -n 's/^seconds=//p' "$log.out" | tail -n 1)
    local key="$pods,$tool"
    if [ -n "${kb:-}" ] && [[ "$kb" =~ ^[0-9]+$ ]] && [ "$kb" -gt "${PEAK[$key]:-0}" ]; then PEAK[$key]=$kb; fi
    if [ "$rc" -ne 0 ] || [ -z "$secs" ]; then
        local why="exit $rc"
        [ "$rc" -eq 137 ] && why="killed (signal 9: out of memory?)"
        [ "$rc" -eq 0 ] && why="printed no seconds="
        FAILED[$key]="$why at run $run, peak $(( ${kb:-0} / 1024 )) MiB"
        say "  $tool run $run/$RUNS FAILED: $why; last lines of $log.err:"
        tail -n 5 "$log.err" >&2 || true
        return 1
    fi
    SECS[$key]="${SECS[$key]:-} $secs"
    printf '  %-9s run %d/%d: seconds=%s (process wall %s s, peak %d MiB)\n' \
        "$tool" "$run" "$RUNS" "$secs" "$wall" $(( kb / 1024 )) >&2
}

for pods in $SIZES; do
    data="$OUT/spend-$pods.parquet"
    say "== $pods pods: $BENCH_DATA $pods $DAY $data"
    "$BENCH_DATA" "$pods" "$DAY" "$data" >&2
    ROWS[$pods]=$("$PY" -c 'import sys, pyarrow.parquet as pq; print(pq.ParquetFile(sys.argv[1]).metadata.num_rows)' "$data")
    for run in $(seq 1 "$RUNS"); do
        # The tools take turns within each run, so a slow phase of the machine hits all three.
        for tool in "${TOOLS[@]}"; do
            key="$pods,$tool"
            if [[ "$SKIP" == *" $tool@$pods "* ]] || [ -n "${FAILED[$key]:-}" ]; then continue; fi
            run_one "$tool" "$pods" "$data" "$OUT/out-$pods/$tool" "$run" ||
                [ "$tool" != podwarden ] || die "podwarden failed at $pods pods: ${FAILED[$key]}"
        done
    done
    dirs=()
    for tool in "${TOOLS[@]}"; do
        [ -n "${SECS[$pods,$tool]:-}" ] && [ -z "${FAILED[$pods,$tool]:-}" ] && dirs+=("$OUT/out-$pods/$tool")
    done
    if [ "${#dirs[@]}" -ge 2 ]; then
        say "== $pods pods: bench/compare.py ${dirs[*]}"
        "$PY" bench/compare.py "${dirs[@]}" "${RATES[@]}" >&2 || die "the tables differ at $pods pods (see above)"
    else
        die "$pods pods: fewer than two tools ran, so nothing was compared (a benchmark whose tables are not checked proves nothing)"
    fi
done

# --- the summary ---------------------------------------------------------------------------
{
    echo "## Spend-report tables: podwarden vs DuckDB vs pandas"
    echo
    echo "Machine: $machine. Versions: $versions."
    echo "Report day $DAY; median of $RUNS runs of \`seconds=\` (reading the parquet to writing the CSVs); peak = largest peak RSS of the runs (GNU time)."
    echo
    echo "| pods | rows | tool | median s | peak MiB | podwarden / tool |"
    echo "|---:|---:|---|---:|---:|---:|"
    notes=()
    for pods in $SIZES; do
        pw=""
        [ -n "${SECS[$pods,podwarden]:-}" ] && pw=$(median ${SECS[$pods,podwarden]})
        for tool in "${TOOLS[@]}"; do
            key="$pods,$tool"
            peak="–"
            [ -n "${PEAK[$key]:-}" ] && peak=$(( PEAK[$key] / 1024 ))
            if [[ "$SKIP" == *" $tool@$pods "* ]]; then
                med="skipped"; ratio="–"; notes+=("$tool at $pods pods was skipped (BENCH_SKIP).")
            elif [ -n "${FAILED[$key]:-}" ]; then
                med="failed"; ratio="–"; notes+=("$tool at $pods pods failed: ${FAILED[$key]}.")
            else
                med=$(median ${SECS[$key]})
                ratio=$(awk -v a="$pw" -v b="$med" 'BEGIN { if (a == "" || b + 0 == 0) print "–"; else printf "%.2f", a / b }')
            fi
            printf '| %s | %s | %s | %s | %s | %s |\n' "$pods" "${ROWS[$pods]}" "$tool" "$med" "$peak" "$ratio"
        done
    done
    if [ "${#notes[@]}" -gt 0 ]; then
        echo
        for n in "${notes[@]}"; do echo "- $n"; done
    fi
} | tee "$OUT/results.md"
say "(also in $OUT/results.md; logs in $OUT/logs)"
