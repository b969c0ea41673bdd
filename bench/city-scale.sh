#!/usr/bin/env bash
# The demo city at city scale on both backends: for each size (1,000,000 and
# 10,000,000 issues by default), the time `qala demo` takes to load it into
# SQLite and into PostGIS, then the release server's start-up on each (to
# "listening", which is after the index, counters and cluster pyramid are
# built) and its resident memory after start, three starts each. Databases
# are made once and reused (WORK, and PostgreSQL databases qala_city_N).
#
#   bash bench/city-scale.sh     # needs postgresql-15-postgis-3; about 25 min at 10M
#
# Environment: SIZES (default "1000000 10000000"), STARTS (default 3), WORK,
# PGURL, QALA_BIN as in bench/lib.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/lib.sh
source bench/lib.sh
SIZES=${SIZES:-1000000 10000000}
STARTS=${STARTS:-3}
PORT=18403
if [ -z "${QALA_BIN:-}" ]; then
  cargo build --release -p qala-server >&2
fi
BIN=${QALA_BIN:-target/release/qala}

# Seconds from launch to "qala listening", and the RSS then: database URL.
start_once() {
  : >"$WORK/serve-$PORT.log"
  local t0 t1 pid
  t0=$(date +%s.%N)
  "$BIN" --database "$1" serve --listen "127.0.0.1:$PORT" --tile-cache-mb 0 >"$WORK/serve-$PORT.log" 2>&1 &
  pid=$!
  until grep -q "qala listening" "$WORK/serve-$PORT.log"; do
    kill -0 "$pid" 2>/dev/null || { cat "$WORK/serve-$PORT.log" >&2; exit 1; }
    sleep 0.05
  done
  t1=$(date +%s.%N)
  echo "$(python3 -c "print(f'{$t1 - $t0:.1f}')") $(rss_mib "$pid")"
  kill "$pid"; wait "$pid" 2>/dev/null || true
}

echo "| issues | store | demo load s | start-up s | RSS after start MiB | MiB per million |"
echo "|---|---|---|---|---|---|"
for n in $SIZES; do
  for store in sqlite postgis; do
    if [ "$store" = sqlite ]; then
      url="sqlite://$WORK/qala-$n.db"
      have=$( [ -f "$WORK/qala-$n.db" ] && sqlite3 "$WORK/qala-$n.db" "select count(*) from issues" || echo 0)
    else
      url="$PGURL/qala_city_$n"
      have=$(psql "$url" -qtAc "select count(*) from issues" 2>/dev/null || echo 0)
    fi
    load="(made before)"
    if [ "$have" -lt "$n" ]; then
      if [ "$store" = sqlite ]; then
        rm -f "$WORK/qala-$n.db" "$WORK/qala-$n.db-wal" "$WORK/qala-$n.db-shm"
      else
        psql "$PGURL/postgres" -qc "DROP DATABASE IF EXISTS qala_city_$n WITH (FORCE)" >/dev/null
      fi
      t0=$(date +%s.%N)
      "$BIN" --database "$url" demo --issues "$n" >/dev/null 2>&1
      load=$(python3 -c "print(f'{$(date +%s.%N) - $t0:.0f}')")
    fi
    starts=() rss=()
    for _ in $(seq "$STARTS"); do
      read -r s r < <(start_once "$url")
      starts+=("$s"); rss+=("$r")
    done
    python3 - "$n" "$store" "$load" "${starts[*]}" "${rss[*]}" <<'PY'
import sys
n, store, load = int(sys.argv[1]), sys.argv[2], sys.argv[3]
starts = [float(x) for x in sys.argv[4].split()]
rss = [int(x) for x in sys.argv[5].split()]
span = lambda xs, f: f(min(xs)) if f(min(xs)) == f(max(xs)) else f"{f(min(xs))}–{f(max(xs))}"
print(f"| {n:,} | {store} | {load} | {span(starts, lambda x: f'{x:.1f}')} | {span(rss, str)} | "
      f"{span([r / (n / 1e6) for r in rss], lambda x: f'{x:.0f}')} |")
PY
  done
done
machine
