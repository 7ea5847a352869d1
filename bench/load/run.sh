#!/usr/bin/env bash
# Side-by-side HTTP load benchmark of the same `GET /hello` handler behind: no auth
# (`bare`), batteries JWT bearer tokens (`jwt`), batteries Redis sessions (`session`) and
# axum-login + tower-sessions with its Redis store (`axum-login`). See docs/performance.md.
#
# Needs: wrk (on Debian/Ubuntu: `apt-get install -y wrk`; this script installs it when
# run as root and it is missing), curl, python3, PostgreSQL and Redis (the URLs below).
#
# Usage: bench/load/run.sh            (from anywhere)
# Knobs (environment): ROUNDS (3), DURATION (10s), THREADS (2), CONNECTIONS (64),
# WARMUP (3s), APPS (a subset, e.g. "bare jwt"), LOADBENCH_POSTGRES_URL, LOADBENCH_REDIS_URL, LOADBENCH_DB_POOL (16),
# LOADBENCH_FRED_POOL (1), LOADBENCH_JWT_CACHE (JwtConfig's default; 0: no cache),
# CARGO_TARGET_DIR.
set -euo pipefail

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10s}
THREADS=${THREADS:-2}
CONNECTIONS=${CONNECTIONS:-64}
WARMUP=${WARMUP:-3s}
APPS=${APPS:-bare jwt session axum-login}

here=$(cd "$(dirname "$0")" && pwd)
out=$(mktemp -d "${TMPDIR:-/tmp}/loadbench.XXXXXX")

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
bin="$target_dir/release/batteries-loadbench"

"$bin" >"$out/apps.json" 2>"$out/server.log" &
server=$!
trap 'kill "$server" 2>/dev/null || true' EXIT
for _ in $(seq 1 120); do
    [ -s "$out/apps.json" ] && break
    kill -0 "$server" 2>/dev/null || { cat "$out/server.log" >&2; exit 1; }
    sleep 0.5
done
[ -s "$out/apps.json" ] || { echo "the apps did not start" >&2; exit 1; }

# name|url|header|expected user, one line per app (not tabs: `read` would merge the
# empty header of `bare` with its neighbours).
python3 - "$out/apps.json" $APPS >"$out/apps.tsv" <<'EOF'
import json, sys
for app in json.load(open(sys.argv[1]))["apps"]:
    if app["name"] not in sys.argv[2:]:
        continue
    print("|".join([app["name"], app["url"], app["header"] or "", json.dumps(app["user"])]))
EOF

# A benchmark of 401s is worthless: each app must answer 200 with its user, and the
# authenticated ones must not know the user without their header.
check() { # name url header expected
    local body code
    body=$(curl -sS -w '\n%{http_code}' ${3:+-H "$3"} "$2")
    code=${body##*$'\n'}
    body=${body%$'\n'*}
    python3 -c 'import json,sys; b=json.loads(sys.argv[2]); sys.exit(0 if sys.argv[1]=="200" and b.get("user")==json.loads(sys.argv[3]) else 1)' \
        "$code" "$body" "$4" || { echo "$1: expected 200 with user $4, got $code $body" >&2; exit 1; }
}
while IFS='|' read -r name url header user; do
    check "$name" "$url" "$header" "$user"
    [ -n "$header" ] && check "$name without credentials" "$url" "" null
    echo "$name answers 200 with user $user" >&2
done <"$out/apps.tsv"

load() { # name url header duration file
    if [ -n "$3" ]; then
        wrk -t"$THREADS" -c"$CONNECTIONS" -d"$4" --latency -H "$3" "$2" >"$5"
    else
        wrk -t"$THREADS" -c"$CONNECTIONS" -d"$4" --latency "$2" >"$5"
    fi
    if grep -qE 'Non-2xx|Socket errors' "$5"; then
        echo "$1: errors under load:" >&2
        cat "$5" >&2
        exit 1
    fi
}

mapfile -t apps <"$out/apps.tsv"
echo "warm-up: $WARMUP per app" >&2
for line in "${apps[@]}"; do
    IFS='|' read -r name url header _ <<<"$line"
    load "$name" "$url" "$header" "$WARMUP" "$out/warmup-$name.txt"
done

# Rounds alternate the apps, starting one further each round, so that no app always
# runs first or last.
n=${#apps[@]}
for round in $(seq 1 "$ROUNDS"); do
    for i in $(seq 0 $((n - 1))); do
        IFS='|' read -r name url header _ <<<"${apps[$(((i + round - 1) % n))]}"
        echo "round $round/$ROUNDS: $name ($DURATION, -t$THREADS -c$CONNECTIONS)" >&2
        load "$name" "$url" "$header" "$DURATION" "$out/round$round-$name.txt"
    done
done

python3 - "$out" "$ROUNDS" $(cut -d"|" -f1 "$out/apps.tsv") <<'EOF'
import re, statistics, sys
out, rounds, names = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
UNIT = {"us": 1e-3, "ms": 1.0, "s": 1e3}
def ms(text):
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()
    return float(value) * UNIT[unit]
def parse(path):
    text = open(path).read()
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
    p50 = ms(re.search(r"^\s+50%\s+(\S+)", text, re.M).group(1))
    p99 = ms(re.search(r"^\s+99%\s+(\S+)", text, re.M).group(1))
    return rps, p50, p99
res = {n: [parse(f"{out}/round{r}-{n}.txt") for r in range(1, rounds + 1)] for n in names}
med = {n: [statistics.median(x[i] for x in res[n]) for i in range(3)] for n in names}
print(f"| app | requests/s (median of {rounds}) | rounds | p50 | p99 |")
print("| --- | ---: | --- | ---: | ---: |")
for n in names:
    r, p50, p99 = med[n]
    each = ", ".join(f"{x[0]:,.0f}" for x in res[n])
    print(f"| `{n}` | {r:,.0f} | {each} | {p50:.2f} ms | {p99:.2f} ms |")
print()
for a, b, goal in [("jwt", "bare", "95%"), ("session", "axum-login", "100%")]:
    if a in med and b in med:
        print(f"{a} / {b}: {med[a][0] / med[b][0]:.1%} (goal: at least {goal})")
print(f"(raw wrk output in {out})")
EOF
