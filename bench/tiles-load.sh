#!/usr/bin/env bash
# Tile load test: the release `qala` binary serving the Almaty demo city with
# 1,000,000 issues, measured with wrk over loopback; and PostGIS ST_AsMVT
# rendering the same tiles from the same issues in the same run, measured
# with pgbench. Prints a Markdown report (the numbers in docs/benchmarks.md).
#
#   bash bench/tiles-load.sh            # needs: wrk, postgresql-15-postgis-3, python3
#
# Environment: ISSUES (default 1000000), WORK (default /tmp/qala-bench),
# PGURL (default postgres://postgres@127.0.0.1:5432), DURATION (default 10s),
# QALA_BIN (default: target/release/qala, built first; set it to measure
# another build, e.g. the commit before a change, against the same database).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/lib.sh
source bench/lib.sh
COLD_PORT=18301
HOT_PORT=18302
need wrk wrk
need sqlite3 sqlite3
qala_and_demo

# The tiles measured: the densest z14 tile that is still all single points
# (the densest one of all is clustered by the 25,000-point rule), and the
# cluster tiles over the city centre at z8, z11 and z13.
read -r DENSE_Z14 DENSE_COUNT < <(python3 - "$DB" <<'PY'
import math, sqlite3, sys, collections
db = sqlite3.connect(sys.argv[1])
def tile(lon, lat, z):
    n = 2 ** z
    r = math.radians(lat)
    return int((lon + 180) / 360 * n), int((1 - math.log(math.tan(r) + 1 / math.cos(r)) / math.pi) / 2 * n)
counts = collections.Counter(tile(lon, lat, 14) for lon, lat in db.execute("select lon, lat from issues"))
(x, y), n = max(((k, c) for k, c in counts.items() if c <= 25000), key=lambda kc: kc[1])
print(f"14/{x}/{y}", n)
PY
)
CLUSTER_TILES="8/182/93 11/1461/750 13/5846/3002"
echo "dense z14 tile: $DENSE_Z14 ($DENSE_COUNT issues)" >&2

cleanup() { kill "${COLD_PID:-}" "${HOT_PID:-}" 2>/dev/null || true; }
trap cleanup EXIT
start() { # port, extra args… ; prints the pid
  "$BIN" --database "sqlite://$DB" serve --listen "127.0.0.1:$1" "${@:2}" >"$WORK/serve-$1.log" 2>&1 &
  echo $!
}
COLD_PID=$(start $COLD_PORT --tile-cache-mb 0)
started=$(date +%s.%N)
HOT_PID=$(start $HOT_PORT)
for port in $COLD_PORT $HOT_PORT; do
  until grep -q "qala listening" "$WORK/serve-$port.log"; do
    kill -0 "$( [ $port = $COLD_PORT ] && echo $COLD_PID || echo $HOT_PID )" || { cat "$WORK/serve-$port.log" >&2; exit 1; }
    sleep 0.2
  done
done

ready=$(date +%s.%N)
echo "Start-up with $ISSUES issues (index and cluster pyramid built, both servers starting together): $(python3 -c "print(round($ready - $started, 1))") s;" \
  "resident memory of a server before any tile is cached: $(( $(ps -o rss= -p "$HOT_PID") / 1024 )) MiB."
echo

size() { curl -s -H 'Accept-Encoding: gzip' -o /dev/null -w '%{size_download}' "$1"; }

echo "| tile | issues under it | gzip bytes | cold p50 ms | cold p99 ms | cold req/s | cold p50 ms, uncompressed | cached p50 ms | cached p99 ms | cached req/s |"
echo "|---|---|---|---|---|---|---|---|---|---|"
for t in $DENSE_Z14 $CLUSTER_TILES; do
  cold_url="http://127.0.0.1:$COLD_PORT/tiles/issues/$t.mvt"
  hot_url="http://127.0.0.1:$HOT_PORT/tiles/issues/$t.mvt"
  curl -s -o /dev/null "$hot_url"   # warm the cache
  read -r c50 c99 crps _ < <(measure "$cold_url" 1 1)
  read -r i50 _ < <(measure "$cold_url" 1 1 identity)
  read -r h50 h99 hrps _ < <(measure "$hot_url" 2 64)
  n=$(python3 - "$DB" "$t" <<'PY'
import math, sqlite3, sys
db = sqlite3.connect(sys.argv[1]); z, x, y = map(int, sys.argv[2].split("/"))
n = 2 ** z
def lon(x): return x / n * 360 - 180
def lat(y): return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * y / n))))
print(db.execute("select count(*) from issues where lon >= ? and lon < ? and lat > ? and lat <= ?",
                 (lon(x), lon(x + 1), lat(y + 1), lat(y))).fetchone()[0])
PY
)
  echo "| issues/$t | $n | $(size "$hot_url") | $c50 | $c99 | $crps | $i50 | $h50 | $h99 | $hrps |"
done

# PostGIS: the same issues, ST_AsMVT of the same tiles.
if postgis_copy; then
  echo
  # Compared like for like: ST_AsMVT returns uncompressed MVT, so Qala is
  # asked for the uncompressed tile too (cold: rendered per request;
  # cached: one connection, from the tile cache), over HTTP.
  echo "| tile | ST_AsMVT bytes | ST_AsMVT p50 ms | ST_AsMVT p99 ms | Qala bytes | Qala cold p50 ms | cold speed-up | Qala cached p50 ms | cached speed-up |"
  echo "|---|---|---|---|---|---|---|---|---|"
  for t in $DENSE_Z14; do
    IFS=/ read -r z x y <<<"$t"
    query="SELECT ST_AsMVT(q, 'issues', 4096, 'geom', 'id') FROM (SELECT id, category, status, created, ST_AsMVTGeom(geom, ST_TileEnvelope($z, $x, $y), 4096, 64, true) AS geom FROM issues WHERE geom && ST_TileEnvelope($z, $x, $y, margin => 64.0 / 4096)) q"
    bytes=$(psql "$PGB" -qtAc "SELECT length(($query))")
    read -r p50 p99 _ < <(pg_measure "$query" 1)
    read -r c50 _ < <(measure "http://127.0.0.1:$COLD_PORT/tiles/issues/$t.mvt" 1 1 identity)
    read -r h50 _ < <(measure "http://127.0.0.1:$HOT_PORT/tiles/issues/$t.mvt" 1 1 identity)
    qbytes=$(curl -s -H 'Accept-Encoding: identity' -o /dev/null -w '%{size_download}' "http://127.0.0.1:$HOT_PORT/tiles/issues/$t.mvt")
    ratio() { python3 -c "print(f'{$1 / $2:.0f}×')"; }
    echo "| issues/$t | $bytes | $p50 | $p99 | $qbytes | $c50 | $(ratio "$p50" "$c50") | $h50 | $(ratio "$p50" "$h50") |"
  done
else
  echo "skipped the ST_AsMVT comparison" >&2
fi
echo
machine
