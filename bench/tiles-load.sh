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

ISSUES=${ISSUES:-1000000}
WORK=${WORK:-/tmp/qala-bench}
PGURL=${PGURL:-postgres://postgres@127.0.0.1:5432}
DURATION=${DURATION:-10s}
COLD_PORT=18301
HOT_PORT=18302
mkdir -p "$WORK"

command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk" >&2; exit 1; }
if [ -z "${QALA_BIN:-}" ]; then
  cargo build --release -p qala-server >&2
fi
BIN=${QALA_BIN:-target/release/qala}
DB="$WORK/qala-$ISSUES.db"
if [ ! -f "$DB" ]; then
  /usr/bin/time -f "demo load: %e s, %M KB max RSS" "$BIN" --database "sqlite://$DB" demo --issues "$ISSUES" >&2
fi

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

# wrk → "p50 p99 requests/s" (latencies in ms).
measure() { # url threads connections [accept-encoding, default gzip]
  wrk -t"$2" -c"$3" -d"$DURATION" --latency -H "Accept-Encoding: ${4:-gzip}" "$1" | python3 -c '
import re, sys
text = sys.stdin.read()
def ms(v):
    n, unit = re.match(r"([\d.]+)(us|ms|s)", v).groups()
    return float(n) * {"us": 0.001, "ms": 1, "s": 1000}[unit]
p = {m.group(1): ms(m.group(2)) for m in re.finditer(r"^\s+(50|99)%\s+(\S+)", text, re.M)}
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
p50, p99 = p["50"], p["99"]
extra = " non2xx=" + non2xx.group(1) if non2xx else ""
print(f"{p50:.2f} {p99:.2f} {rps:.0f}{extra}")'
}

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
if psql "$PGURL/postgres" -qtAc "select 1 from pg_available_extensions where name='postgis'" | grep -q 1; then
  PGB="$PGURL/qala_bench"
  # The PostGIS copy is made once per demo database and reused by later runs
  # (a run of another build against the same database compares like for like).
  loaded=$(psql "$PGB" -qtAc "select count(*) from issues where geom is not null" 2>/dev/null || echo 0)
  if [ "$loaded" != "$ISSUES" ]; then
    psql "$PGURL/postgres" -qc "DROP DATABASE IF EXISTS qala_bench" -qc "CREATE DATABASE qala_bench" >/dev/null
    psql "$PGB" -q <<'SQL' >/dev/null
CREATE EXTENSION postgis;
CREATE TABLE issues (id bigint PRIMARY KEY, category text, status text, created text, lon float8, lat float8);
SQL
    sqlite3 -csv "$DB" "select id, category, status, substr(created_at, 1, 10), lon, lat from issues" |
      psql "$PGB" -qc "COPY issues FROM STDIN CSV"
    # Projected once up front with a GiST index: the most favourable set-up for ST_AsMVT.
    psql "$PGB" -q <<'SQL' >/dev/null
ALTER TABLE issues ADD COLUMN geom geometry(Point, 3857);
UPDATE issues SET geom = ST_Transform(ST_SetSRID(ST_MakePoint(lon, lat), 4326), 3857);
CREATE INDEX ON issues USING gist (geom);
VACUUM ANALYZE issues;
SQL
  fi
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
    echo "$query;" >"$WORK/asmvt.sql"
    rm -f "$WORK"/pgbench_log.*
    (cd "$WORK" && pgbench -n -c1 -T"${DURATION%s}" -f asmvt.sql -l --log-prefix=pgbench_log "$PGB" >/dev/null 2>&1)
    read -r p50 p99 < <(cat "$WORK"/pgbench_log.* | python3 -c '
import sys
lat = sorted(int(line.split()[2]) / 1000 for line in sys.stdin)
print(f"{lat[len(lat)//2]:.1f} {lat[int(len(lat)*0.99)]:.1f}")')
    read -r c50 _ < <(measure "http://127.0.0.1:$COLD_PORT/tiles/issues/$t.mvt" 1 1 identity)
    read -r h50 _ < <(measure "http://127.0.0.1:$HOT_PORT/tiles/issues/$t.mvt" 1 1 identity)
    qbytes=$(curl -s -H 'Accept-Encoding: identity' -o /dev/null -w '%{size_download}' "http://127.0.0.1:$HOT_PORT/tiles/issues/$t.mvt")
    ratio() { python3 -c "print(f'{$1 / $2:.0f}×')"; }
    echo "| issues/$t | $bytes | $p50 | $p99 | $qbytes | $c50 | $(ratio "$p50" "$c50") | $h50 | $(ratio "$p50" "$h50") |"
  done
else
  echo "PostGIS is not installed: skipped the ST_AsMVT comparison (apt-get install -y postgresql-15-postgis-3)" >&2
fi
echo
echo "Machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
