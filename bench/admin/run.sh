#!/usr/bin/env bash
# The admin changelist of a 1,000,000-row PostgreSQL table under wrk, next to the same
# SQL statements (captured from one changelist request) replayed alone on the same pool
# at the same concurrency. See docs/performance.md, "Admin changelist".
#
# Needs: wrk (apt-get install -y wrk; installed here when run as root and missing), curl,
# python3, taskset (util-linux), PostgreSQL (ADMINBENCH_POSTGRES_URL, default
# postgres://postgres@127.0.0.1:5432/postgres; the database bench_admin is created and
# seeded on first start, about a minute).
#
# Usage: bench/admin/run.sh            (from anywhere)
#        MODE=export bench/admin/run.sh
#   The export instead of the changelist: the 1,000,000 books as CSV and JSON (and the
#   333,333 published ones as CSV) through /admin/library/book/export/, rows/s and the
#   server's peak RSS (VmHWM before and after, VmRSS sampled every 0.1 s during each
#   download), next to two baselines in the same run: psql's \copy of the same columns
#   in the same order, and a plain sea-orm stream() of the same rows inside the server
#   (POST /baseline/stream on the control port). See docs/performance.md, "Admin export".
# Knobs (environment): MODE (changelist), ROUNDS (3), DURATION (10, seconds), WARMUP (3, seconds),
# CASES (a subset of the names below, default all), SERVER_CPUS (0), WRK_CPUS (1),
# TIMING (1: one more wrk run per case with per-statement timing), ADMINBENCH_POOL (16),
# ADMINBENCH_PORT (8810), CARGO_TARGET_DIR.
set -euo pipefail

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-3}
SERVER_CPUS=${SERVER_CPUS:-0}
WRK_CPUS=${WRK_CPUS:-1}
TIMING=${TIMING:-1}
# name|connections|query string of the changelist (100 books a page in every case).
ALL_CASES=(
    "indexed|16|status=published&ordering=-added"
    "indexed-c1|1|status=published&ordering=-added"
    "default|16|"
    "search|4|q=subject042&status=published&ordering=-added"
)
CASES=${CASES:-indexed indexed-c1 default search}

here=$(cd "$(dirname "$0")" && pwd)
out=$(mktemp -d "${TMPDIR:-/tmp}/adminbench.XXXXXX")

if ! command -v wrk >/dev/null; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "wrk is missing: installing it with apt-get install -y wrk" >&2
        apt-get install -y wrk >/dev/null || { apt-get update >/dev/null && apt-get install -y wrk >/dev/null; }
    else
        echo "wrk is missing: install it (apt-get install -y wrk)" >&2
        exit 1
    fi
fi

echo "building (release)..." >&2
cargo build --release --quiet --manifest-path "$here/Cargo.toml"
target_dir=${CARGO_TARGET_DIR:-$here/target}
bin="$target_dir/release/batteries-adminbench"

taskset -c "$SERVER_CPUS" "$bin" >"$out/urls.json" 2>"$out/server.log" &
server=$!
trap 'kill "$server" 2>/dev/null || true' EXIT
for _ in $(seq 1 600); do
    [ -s "$out/urls.json" ] && break
    kill -0 "$server" 2>/dev/null || { cat "$out/server.log" >&2; exit 1; }
    sleep 0.5
done
[ -s "$out/urls.json" ] || { echo "the server did not start" >&2; exit 1; }
cat "$out/urls.json" >&2
admin=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["admin"])' "$out/urls.json")
control=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["control"])' "$out/urls.json")

# Log in through the login form: its CSRF token, then the credentials.
jar="$out/cookies.txt"
token=$(curl -sS -c "$jar" "$admin/login/" |
    python3 -c 'import re,sys; print(re.search(r"name=\"csrfmiddlewaretoken\" value=\"([^\"]+)\"", sys.stdin.read()).group(1))')
code=$(curl -sS -o /dev/null -w '%{http_code}' -b "$jar" -c "$jar" \
    --data-urlencode "csrfmiddlewaretoken=$token" --data-urlencode "username=admin" \
    --data-urlencode "password=correct horse battery staple" --data-urlencode "next=/admin/" \
    "$admin/login/")
[ "$code" = 302 ] || { echo "login answered $code, not 302" >&2; exit 1; }
sid=$(awk '$6 == "sessionid" { print $7 }' "$jar")
[ -n "$sid" ] || { echo "no session cookie after login" >&2; exit 1; }
cookie="Cookie: sessionid=$sid"

if [ "${MODE:-changelist}" = export ]; then
    status_kb() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$server/status"; }
    sample_rss() { # file: VmRSS every 0.1 s until killed
        while :; do status_kb VmRSS >>"$1"; sleep 0.1; done
    }
    peak() { sort -n "$1" | tail -1; }
    now() { date +%s.%N; }
    mb() { python3 -c 'import sys; print(f"{int(sys.argv[1]) / 1e6:.1f}")' "$1"; }
    rate() { python3 -c 'import sys; r, a, b = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]); print(f"{b - a:.2f} s, {r / (b - a):,.0f} rows/s")' "$@"; }
    download() { # name url lines-per-file-besides-rows
        : >"$out/rss-$1.txt"
        sample_rss "$out/rss-$1.txt" &
        local sampler=$! t0 t1 lines bytes code
        t0=$(now)
        read -r lines bytes < <(curl -sS -H "$cookie" -D "$out/headers-$1.txt" "$2" | wc -lc)
        t1=$(now)
        kill "$sampler"; wait "$sampler" 2>/dev/null || true
        code=$(awk 'NR == 1 { print $2 }' "$out/headers-$1.txt")
        [ "$code" = 200 ] || { echo "$1: answered $code" >&2; cat "$out/headers-$1.txt" >&2; exit 1; }
        echo "| $1 | $((lines - $3)) | $(mb "$bytes") MB | $(rate $((lines - $3)) "$t0" "$t1") | $(peak "$out/rss-$1.txt") kB | $(status_kb VmHWM) kB |"
    }
    pg_url=${ADMINBENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}
    pg_url="${pg_url%/*}/bench_admin"
    copy="\\copy (SELECT title, author_id, status, price, in_stock, added FROM library_book ORDER BY added DESC, id) TO STDOUT WITH CSV HEADER"
    echo "| what | rows | size | time, rows/s | server's peak VmRSS during it | server's VmHWM after it |"
    echo "| --- | ---: | ---: | --- | ---: | ---: |"
    echo "| (started, logged in) | | | | $(status_kb VmRSS) kB (now) | $(status_kb VmHWM) kB |"
    # Warm the table into the page cache first, so that no measured run is the one that
    # reads it from disk.
    psql -q "$pg_url" -c "$copy" >/dev/null
    download export-csv "$admin/library/book/export/?format=csv" 1
    download export-json "$admin/library/book/export/?format=json" 2
    download export-csv-published "$admin/library/book/export/?format=csv&status=published" 1
    # Baseline 1: psql's \copy of the same columns in the same order (the author's id,
    # not its name), no HTTP, no server.
    t0=$(now)
    read -r lines bytes < <(psql -q "$pg_url" -c "$copy" | wc -lc)
    t1=$(now)
    echo "| psql \\copy, same columns and order | $((lines - 1)) | $(mb "$bytes") MB | $(rate $((lines - 1)) "$t0" "$t1") | - | - |"
    # Baseline 2: sea-orm's stream() of the same rows inside the server.
    : >"$out/rss-stream.txt"
    sample_rss "$out/rss-stream.txt" &
    sampler=$!
    curl -sS -X POST "$control/baseline/stream" >"$out/stream.json"
    kill "$sampler"; wait "$sampler" 2>/dev/null || true
    python3 - "$out/stream.json" "$(peak "$out/rss-stream.txt")" "$(status_kb VmHWM)" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
if r.get("error"):
    sys.exit(f"baseline stream failed: {r['error']}")
print(f"| sea-orm stream() in the server (models decoded, nothing encoded or sent) | {r['rows']} | - | "
      f"{r['seconds']:.2f} s, {r['rows'] / r['seconds']:,.0f} rows/s | {sys.argv[2]} kB | {sys.argv[3]} kB |")
EOF
    echo "(raw output in $out)" >&2
    exit 0
fi

declare -A conns url
for line in "${ALL_CASES[@]}"; do
    IFS='|' read -r name c q <<<"$line"
    conns[$name]=$c
    url[$name]="$admin/library/book/${q:+?$q}"
done

# A benchmark of login pages is worthless: each case must answer 200 with a full page of
# 100 books. Then one more request is recorded: the statements to replay.
for name in $CASES; do
    body=$(curl -sS -w '\n%{http_code}' -H "$cookie" "${url[$name]}")
    code=${body##*$'\n'}
    rows=$(grep -o 'name="_selected_action"' <<<"$body" | wc -l)
    [ "$code" = 200 ] && [ "$rows" = 100 ] ||
        { echo "$name: expected 200 with 100 rows, got $code with $rows" >&2; exit 1; }
    curl -sS -X POST "$control/capture/$name" >/dev/null
    curl -sS -o /dev/null -H "$cookie" "${url[$name]}"
    curl -sS -X POST "$control/capture/$name/stop" >"$out/sql-$name.json"
    n=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["statements"]))' "$out/sql-$name.json")
    echo "$name: 200 with 100 rows; $n statements captured (in $out/sql-$name.json)" >&2
done

handler() { # name seconds file
    taskset -c "$WRK_CPUS" wrk -t1 -c"${conns[$1]}" -d"$2"s --timeout 30s --latency \
        -H "$cookie" "${url[$1]}" >"$3"
    if grep -qE 'Non-2xx|Socket errors' "$3"; then
        echo "$1: errors under load:" >&2
        cat "$3" >&2
        exit 1
    fi
}
bare() { # name seconds file
    curl -sS -X POST "$control/replay/$1?concurrency=${conns[$1]}&seconds=$2" >"$3"
    python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); sys.exit(1 if r.get("error") or r["errors"] else 0)' "$3" ||
        { echo "$1: replay failed: $(cat "$3")" >&2; exit 1; }
}

echo "warm-up: ${WARMUP}s per case and side" >&2
for name in $CASES; do
    handler "$name" "$WARMUP" "$out/warmup-handler-$name.txt"
    bare "$name" "$WARMUP" "$out/warmup-bare-$name.json"
done

# Each round runs, per case, the handler and the bare statements, alternating which goes
# first.
for round in $(seq 1 "$ROUNDS"); do
    for name in $CASES; do
        sides=(handler bare)
        [ $((round % 2)) = 0 ] && sides=(bare handler)
        for side in "${sides[@]}"; do
            echo "round $round/$ROUNDS: $name $side (${DURATION}s, ${conns[$name]} connections)" >&2
            "$side" "$name" "$DURATION" "$out/round$round-$side-$name.out"
        done
    done
done

if [ "$TIMING" = 1 ]; then
    for name in $CASES; do
        curl -sS -X POST "$control/timing/start" >/dev/null
        handler "$name" "$DURATION" "$out/timing-handler-$name.txt"
        curl -sS -X POST "$control/timing/stop" >"$out/timing-$name.json"
    done
fi

python3 - "$out" "$ROUNDS" $CASES <<'EOF'
import json, re, statistics, sys
out, rounds, names = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
UNIT = {"us": 1e-3, "ms": 1.0, "s": 1e3}
def ms(text):
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()
    return float(value) * UNIT[unit]
def wrk(path):
    text = open(path).read()
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
    p50 = ms(re.search(r"^\s+50%\s+(\S+)", text, re.M).group(1))
    p99 = ms(re.search(r"^\s+99%\s+(\S+)", text, re.M).group(1))
    return rps, p50, p99
def replay(path):
    r = json.load(open(path))
    return r["requests_per_sec"], r["p50_ms"], r["p99_ms"]
print(f"| case | side | requests/s (median of {rounds}) | rounds | p50 | p99 |")
print("| --- | --- | ---: | --- | ---: | ---: |")
ratios = []
for n in names:
    med = {}
    for side, parse in [("handler", wrk), ("bare", replay)]:
        res = [parse(f"{out}/round{r}-{side}-{n}.out") for r in range(1, rounds + 1)]
        med[side] = [statistics.median(x[i] for x in res) for i in range(3)]
        each = ", ".join(f"{x[0]:,.1f}" for x in res)
        r, p50, p99 = med[side]
        print(f"| `{n}` | {side} | {r:,.1f} | {each} | {p50:.2f} ms | {p99:.2f} ms |")
    h, b = med["handler"], med["bare"]
    ratios.append(f"{n}: handler/bare p50 {h[1] / b[1]:.2f}x, p99 {h[2] / b[2]:.2f}x, "
                  f"requests/s bare/handler {b[0] / h[0]:.2f}x (goal: within 1.5x)")
print()
print("\n".join(ratios))
for n in names:
    try:
        rows = json.load(open(f"{out}/timing-{n}.json"))
        text = open(f"{out}/timing-handler-{n}.txt").read()
    except FileNotFoundError:
        continue
    reqs = int(re.search(r"(\d+) requests in", text).group(1))
    print(f"\n{n}: per-statement time while the handler was under load ({reqs} requests):")
    for r in rows:
        print(f"  {r['count'] / reqs:5.2f}/req  mean {r['mean_ms']:8.3f} ms  {r['sql'][:110]}")
print(f"(raw output in {out})")
EOF
