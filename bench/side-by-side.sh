#!/usr/bin/env bash
# Qala and PostGIS doing the same work on the same demo issues (1,000,000 by
# default), in one run, over and over: the release `qala` binary over HTTP
# (wrk, loopback) and PostgreSQL/PostGIS through pgbench (no HTTP in front of
# it: the most favourable set-up for the peer). Measured where users crowd
# the data: nearby at the densest 100 m cell, the z14 tile with the most
# issues (the crowded one) and the densest ordinary one, the district with
# the most issues (PostGIS: ST_Contains against the district's polygon). Each work item is
# measured RUNS times, alternating Qala and PostGIS; the table gives the
# range over the runs and the ratios (Qala over PostGIS); then the two tiles
# from Qala's tile cache (no peer: PostGIS has none). Also start-up,
# resident memory, and the memory an issue row costs in the row cache.
#
#   bash bench/side-by-side.sh   # needs wrk, pgbench, sqlite3, python3, postgresql-15-postgis-3
#
# Environment: RUNS (default 3), ROW_CACHE (1 to measure a cached row's
# memory; by default only up to 1,000,000 issues), and those of
# bench/lib.sh (ISSUES, WORK, PGURL, DURATION, QALA_BIN).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/lib.sh
source bench/lib.sh
RUNS=${RUNS:-3}
PORT=18401
need wrk wrk
need sqlite3 sqlite3
need pgbench postgresql-client-15
qala_and_demo
postgis_copy

# The densest 100 m cell (0.0013° of longitude by 0.001° of latitude, as in
# server/benches/queries.rs), the z14 tile with the most issues and the one
# with the most that is still drawn as single points (at most 25,000).
read -r LON LAT CROWDED CROWDED_N DENSE DENSE_N < <(python3 - "$DB" <<'PY'
import collections, math, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
def tile(lon, lat, z=14):
    n = 2 ** z
    r = math.radians(lat)
    return int((lon + 180) / 360 * n), int((1 - math.log(math.tan(r) + 1 / math.cos(r)) / math.pi) / 2 * n)
cells, tiles = collections.Counter(), collections.Counter()
for lon, lat in db.execute("select lon, lat from issues where hidden_at is null"):
    cells[(math.floor(lon / 0.0013), math.floor(lat / 0.001))] += 1
    tiles[tile(lon, lat)] += 1
(x, y), _ = max(cells.items(), key=lambda kv: (kv[1], kv[0]))
(cx, cy), cn = tiles.most_common(1)[0]
(dx, dy), dn = max(((k, c) for k, c in tiles.items() if c <= 25000), key=lambda kv: kv[1])
print(f"{(x + 0.5) * 0.0013:.6f} {(y + 0.5) * 0.001:.6f} 14/{cx}/{cy} {cn} 14/{dx}/{dy} {dn}")
PY
)
# A box of about 330 m around it, and an issue there to read by id.
BBOX=$(python3 -c "print(f'{$LON-0.002:.6f},{$LAT-0.0015:.6f},{$LON+0.002:.6f},{$LAT+0.0015:.6f}')")
IFS=, read -r W S E N <<<"$BBOX"
ISSUE_ID=$(sqlite3 "$DB" "select id from issues where hidden_at is null and lon between $W and $E and lat between $S and $N order by id limit 1")
# The district with the most issues, for the point-in-polygon work.
read -r DISTRICT DISTRICT_N < <(sqlite3 -separator ' ' "$DB" "select district_id, count(*) from issues where hidden_at is null and district_id is not null group by district_id order by 2 desc limit 1")
echo "densest point $LON,$LAT; crowded tile $CROWDED ($CROWDED_N issues); dense tile $DENSE ($DENSE_N issues); issue $ISSUE_ID; district $DISTRICT ($DISTRICT_N issues)" >&2

started=$(date +%s.%N)
serve_demo $PORT --tile-cache-mb 0
ready=$(date +%s.%N)
STARTUP=$(python3 -c "print(f'{$ready - $started:.1f}')")
RSS_START=$(rss_mib "$SERVED_PID")
trap 'kill $SERVED_PID 2>/dev/null || true' EXIT
Q="http://127.0.0.1:$PORT"

COLS="id, category, description, address, status, district_id, created_at, updated_at, votes, lon, lat"
P="ST_SetSRID(ST_MakePoint($LON, $LAT), 4326)::geography"
mvt() { # z/x/y → the ST_AsMVT query of that tile
  local z x y
  IFS=/ read -r z x y <<<"$1"
  echo "SELECT ST_AsMVT(q, 'issues', 4096, 'geom', 'id') FROM (SELECT id, category, status, created, ST_AsMVTGeom(geom, ST_TileEnvelope($z, $x, $y), 4096, 64, true) AS geom FROM issues WHERE geom && ST_TileEnvelope($z, $x, $y, margin => 64.0 / 4096)) q"
}
# name | Qala URL | connections | PostGIS query | Accept-Encoding for Qala
WORK_ITEMS=(
  "nearby k=10 within 500 m, 1 connection|$Q/api/v1/issues/nearby?lon=$LON&lat=$LAT&radius=500&limit=10|1|SELECT $COLS, ST_Distance(geog, $P) FROM issues WHERE ST_DWithin(geog, $P, 500) ORDER BY geog <-> $P LIMIT 10|gzip"
  "nearby k=10 within 500 m, 8 connections|$Q/api/v1/issues/nearby?lon=$LON&lat=$LAT&radius=500&limit=10|8|SELECT $COLS, ST_Distance(geog, $P) FROM issues WHERE ST_DWithin(geog, $P, 500) ORDER BY geog <-> $P LIMIT 10|gzip"
  "bbox list, 100 issues|$Q/api/v1/issues?bbox=$BBOX&limit=100|1|SELECT $COLS FROM issues WHERE geom4326 && ST_MakeEnvelope($W, $S, $E, $N, 4326) ORDER BY id LIMIT 100|gzip"
  "one issue by id|$Q/api/v1/issues/$ISSUE_ID|1|SELECT $COLS FROM issues WHERE id = $ISSUE_ID|gzip"
  "issues per district (/api/v1/districts)|$Q/api/v1/districts|1|SELECT district_id, count(*) FROM issues GROUP BY district_id|gzip"
  "first 100 issues inside the busiest district ($DISTRICT_N issues)|$Q/api/v1/districts/$DISTRICT/issues?limit=100|1|SELECT i.id, i.category, i.description, i.address, i.status, i.district_id, i.created_at, i.updated_at, i.votes, i.lon, i.lat FROM issues i JOIN districts d ON ST_Contains(d.geom, i.geom4326) WHERE d.id = $DISTRICT ORDER BY i.id LIMIT 100|gzip"
  "issues counted inside the busiest district|$Q/api/v1/stats/issues?district=$DISTRICT|1|SELECT count(*) FROM issues i JOIN districts d ON ST_Contains(d.geom, i.geom4326) WHERE d.id = $DISTRICT|gzip"
  "issues per status (/api/v1/stats/issues)|$Q/api/v1/stats/issues?group_by=status|1|SELECT status, count(*) FROM issues GROUP BY status|gzip"
  "crowded z14 tile $CROWDED ($CROWDED_N issues), cold|$Q/tiles/issues/$CROWDED.mvt|1|$(mvt "$CROWDED")|identity"
  "densest single-point z14 tile $DENSE ($DENSE_N issues), cold|$Q/tiles/issues/$DENSE.mvt|1|$(mvt "$DENSE")|identity"
)

# Every read once, so a miss of the row cache is not what is measured.
for item in "${WORK_ITEMS[@]}"; do
  IFS='|' read -r _ url _ _ _ <<<"$item"
  code=$(curl -s -o /dev/null -w '%{http_code}' "$url")
  [ "$code" = 200 ] || { echo "$url answered $code" >&2; exit 1; }
done

RESULTS="$WORK/side-by-side.tsv"
: >"$RESULTS"
for run in $(seq "$RUNS"); do
  for item in "${WORK_ITEMS[@]}"; do
    IFS='|' read -r name url conns sql coding <<<"$item"
    threads=$(( conns < 2 ? 1 : 2 ))
    read -r q50 q99 qrps extra < <(measure "$url" "$threads" "$conns" "$coding")
    [ -z "${extra:-}" ] || { echo "$name: $extra" >&2; exit 1; }
    read -r p50 p99 tps < <(pg_measure "$sql" "$conns")
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$q50" "$q99" "$qrps" "$p50" "$p99" "$tps" >>"$RESULTS"
    echo "run $run: $name: Qala p50 $q50 ms $qrps/s; PostGIS p50 $p50 ms $tps/s" >&2
  done
done
RSS_END=$(rss_mib "$SERVED_PID")

# The same two tiles from the tile cache: a server with the default cache,
# each tile fetched once first, then asked for gzipped as a browser does.
# PostGIS has no tile cache of its own (no peer figure: compare with the
# cold ST_AsMVT rows).
kill "$SERVED_PID"; wait "$SERVED_PID" 2>/dev/null || true
serve_demo $PORT
for run in $(seq "$RUNS"); do
  for tile in "$CROWDED" "$DENSE"; do
    curl -s -o /dev/null -H 'Accept-Encoding: gzip' "$Q/tiles/issues/$tile.mvt"
    read -r q50 q99 qrps extra < <(measure "$Q/tiles/issues/$tile.mvt" 1 1 gzip)
    [ -z "${extra:-}" ] || { echo "cached $tile: $extra" >&2; exit 1; }
    printf '%s\t%s\t%s\t%s\t0\t0\t0\n' "z14 tile $tile from the tile cache, gzip" "$q50" "$q99" "$qrps" >>"$RESULTS"
    echo "run $run: cached $tile: Qala p50 $q50 ms $qrps/s" >&2
  done
done

ratio_table "$RESULTS" PostGIS
echo
echo "Start-up with $ISSUES issues: $STARTUP s to listening; resident memory $RSS_START MiB after start, $RSS_END MiB after the runs (tile cache off, row cache holding what was read)."

# What a cached row costs: a server whose row cache can hold every issue,
# every issue read once through the list (1,000 per page), resident memory
# before and after. Skipped above a million issues (ROW_CACHE=0): ten
# million cached rows would take 5 GB and the reading most of an hour.
kill "$SERVED_PID"; wait "$SERVED_PID" 2>/dev/null || true
if [ "${ROW_CACHE:-$(( ISSUES <= 1000000 ))}" = 0 ]; then
  machine
  exit 0
fi
serve_demo $PORT --tile-cache-mb 0 --issue-cache-rows "$ISSUES"
before=$(rss_mib "$SERVED_PID")
rows=$(python3 - "$Q" <<'PY'
import json, sys, urllib.request
url, rows = sys.argv[1] + "/api/v1/issues?limit=1000", 0
while url:
    page = json.load(urllib.request.urlopen(url))
    rows += len(page["features"])
    url = page.get("next")
    if url and url.startswith("/"):
        url = sys.argv[1] + url
print(rows)
PY
)
after=$(rss_mib "$SERVED_PID")
echo "Row cache: $rows rows read into it took resident memory from $before to $after MiB: $(python3 -c "print(round(($after - $before) * 1048576 / $rows))") bytes per row."
machine
