#!/usr/bin/env bash
# Writes over HTTP against the release `qala` binary, on SQLite and on
# PostGIS: new reports (each a durable commit before its 201) from 1 and 16
# connections, and a mixed load of 9 nearby reads to 1 report
# (bench/mixed.lua), side by side in the same run with PostgreSQL doing a
# plain INSERT of the same columns (pgbench, no HTTP in front of it). Each
# measured RUNS times; the table gives ranges and ratios.
#
#   bash bench/writes.sh    # needs wrk, pgbench, sqlite3, postgresql-15-postgis-3
#
# Environment: RUNS (default 3), ISSUES (default 1000000: the city the
# writes land in), DURATION, WORK, PGURL, QALA_BIN as in bench/lib.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/lib.sh
source bench/lib.sh
RUNS=${RUNS:-3}
PORT=18402
need wrk wrk
need pgbench postgresql-client-15
qala_and_demo
postgis_copy
# Limits off: one benchmark client writes faster and more alike than any
# resident (the limits are per client address).
export QALA_REPORTS_PER_ADDRESS=0 QALA_REPORTS_PER_ACCOUNT=0 QALA_WRITES_PER_ADDRESS=0 \
  QALA_WRITES_PER_ACCOUNT=0 QALA_DUPLICATE_REPORT_MINUTES=0

# The same city in a Qala database on PostgreSQL, loaded by qala once.
QPG="$PGURL/qala_city_$ISSUES"
have=$(psql "$QPG" -qtAc "select count(*) from issues" 2>/dev/null || echo 0)
if [ "$have" -lt "$ISSUES" ]; then
  psql "$PGURL/postgres" -qc "DROP DATABASE IF EXISTS qala_city_$ISSUES WITH (FORCE)" >/dev/null
  /usr/bin/time -f "PostGIS demo load: %e s" "$BIN" --database "$QPG" demo --issues "$ISSUES" >&2
fi

# The peer: a plain INSERT of a report's columns into the PostGIS copy,
# with its geometry columns and their GiST indexes.
INSERT="INSERT INTO issues (id, category, description, status, district_id, created_at, updated_at, votes, created, lon, lat, geom4326, geom, geog) SELECT nextval('bench_ids'), 'pothole', 'load report', 'open', 2, '2026-12-03T00:00:00.000Z', '2026-12-03T00:00:00.000Z', 0, '2026-12-03', p.lon, p.lat, ST_SetSRID(ST_MakePoint(p.lon, p.lat), 4326), ST_Transform(ST_SetSRID(ST_MakePoint(p.lon, p.lat), 4326), 3857), ST_SetSRID(ST_MakePoint(p.lon, p.lat), 4326)::geography FROM (SELECT 76.85 + random() * 0.15 AS lon, 43.20 + random() * 0.10 AS lat) p"
psql "$PGB" -qc "CREATE SEQUENCE IF NOT EXISTS bench_ids START 100000000" >/dev/null

RESULTS="$WORK/writes.tsv"
: >"$RESULTS"
for run in $(seq "$RUNS"); do
  for backend in sqlite postgis; do
    if [ "$backend" = sqlite ]; then
      # A copy, so the demo database other benchmarks read stays as made.
      cp "$DB" "$WORK/writes.db"
      rm -f "$WORK/writes.db-wal" "$WORK/writes.db-shm"
      url="sqlite://$WORK/writes.db"
    else
      url=$QPG
    fi
    serve_url "$PORT" "$url" --tile-cache-mb 0
    for item in "new reports, 1 connection|bench/report.lua|1|$INSERT" \
                "new reports, 16 connections|bench/report.lua|16|$INSERT" \
                "mixed 90 % nearby / 10 % reports, 16 connections|bench/mixed.lua|16|"; do
      IFS='|' read -r name script conns sql <<<"$item"
      read -r q50 q99 qrps extra < <(measure "http://127.0.0.1:$PORT" "$(( conns < 2 ? 1 : 2 ))" "$conns" gzip "$script")
      [ -z "${extra:-}" ] || { echo "$backend $name: $extra" >&2; exit 1; }
      if [ -n "$sql" ]; then
        read -r p50 p99 tps < <(pg_measure "$sql" "$conns")
        # Back to the copy other benchmarks expect.
        psql "$PGB" -qc "DELETE FROM issues WHERE id >= 100000000" >/dev/null
      else
        p50=0 p99=0 tps=0
      fi
      printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name ($backend)" "$q50" "$q99" "$qrps" "$p50" "$p99" "$tps" >>"$RESULTS"
      echo "run $run: $name on $backend: Qala p50 $q50 ms $qrps/s; PostgreSQL INSERT p50 $p50 ms $tps/s" >&2
    done
    kill "$SERVED_PID"; wait "$SERVED_PID" 2>/dev/null || true
  done
done

ratio_table "$RESULTS" "PostgreSQL INSERT"
machine
