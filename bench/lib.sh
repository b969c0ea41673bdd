# Shared by the load benchmarks in bench/: sourced, not run.
#
# Environment: ISSUES (default 1000000), WORK (default /tmp/qala-bench),
# PGURL (default postgres://postgres@127.0.0.1:5432), DURATION (default 10s),
# QALA_BIN (default: target/release/qala, built first).

ISSUES=${ISSUES:-1000000}
WORK=${WORK:-/tmp/qala-bench}
PGURL=${PGURL:-postgres://postgres@127.0.0.1:5432}
DURATION=${DURATION:-10s}
PGB="$PGURL/qala_bench"
DB="$WORK/qala-$ISSUES.db"
mkdir -p "$WORK"

need() { # command, package
  command -v "$1" >/dev/null || { echo "$1 is missing: apt-get install -y $2" >&2; exit 1; }
}

# The release binary (BIN), and the demo city with $ISSUES issues in SQLite
# ($DB), made once and reused by later runs.
qala_and_demo() {
  if [ -z "${QALA_BIN:-}" ]; then
    cargo build --release -p qala-server >&2
  fi
  BIN=${QALA_BIN:-target/release/qala}
  if [ ! -f "$DB" ]; then
    /usr/bin/time -f "demo load: %e s, %M KB max RSS" "$BIN" --database "sqlite://$DB" demo --issues "$ISSUES" >&2
  fi
}

# Starts `qala serve` on a database: port, database URL, extra args… Sets
# SERVED_PID once it listens.
serve_url() {
  # Emptied here, not by the redirection: that runs in the child, and the
  # wait below could still read the last server's "listening".
  : >"$WORK/serve-$1.log"
  "$BIN" --database "$2" serve --listen "127.0.0.1:$1" "${@:3}" >"$WORK/serve-$1.log" 2>&1 &
  SERVED_PID=$!
  until grep -q "qala listening" "$WORK/serve-$1.log"; do
    kill -0 "$SERVED_PID" 2>/dev/null || { cat "$WORK/serve-$1.log" >&2; exit 1; }
    sleep 0.05
  done
}

# Starts `qala serve` on the demo database: port, extra args…
serve_demo() { serve_url "$1" "sqlite://$DB" "${@:2}"; }

# The Markdown table of a side-by-side's results: a TSV file of lines
# "work, Qala p50, p99, req/s, peer p50, p99, tps" (one per run; a peer
# p50 of 0: no peer for that work), and the peer's name. Ranges over the
# runs; ratios are each run's Qala over the same run's peer.
ratio_table() {
  python3 - "$1" "$2" <<'PY'
import sys, collections
rows = collections.OrderedDict()
for line in open(sys.argv[1]):
    name, *v = line.rstrip("\n").split("\t")
    rows.setdefault(name, []).append([float(x) for x in v])
peer = sys.argv[2]
print(f"| work | Qala p50 ms | Qala p99 ms | Qala req/s | {peer} p50 ms | {peer} tps | throughput ratio | p50 ratio |")
print("|---|---|---|---|---|---|---|---|")
def span(xs, fmt):
    lo, hi = min(xs), max(xs)
    return fmt(lo) if fmt(lo) == fmt(hi) else f"{fmt(lo)}–{fmt(hi)}"
ms = lambda x: f"{x:.3f}" if x < 1 else f"{x:.1f}" if x < 100 else f"{x:.0f}"
n = lambda x: f"{x:,.0f}"
r = lambda x: f"{x:.0f}×" if x >= 10 else f"{x:.1f}×" if x >= 1 else f"{x:.2f}×"
for name, runs in rows.items():
    q50, q99, qrps, p50, _, tps = zip(*runs)
    if all(p > 0 for p in p50):
        # Each run's ratio, from the same run's two measurements (a peer
        # too slow to finish two queries in a run has no throughput).
        through = span([a / b for a, b in zip(qrps, tps)], r) if all(t > 0 for t in tps) else "–"
        latency = span([b / a for a, b in zip(q50, p50)], r)
        theirs = f"{span(p50, ms)} | {span(tps, n if min(tps) >= 10 else lambda x: f'{x:.1f}')}"
    else:
        through = latency = "–"
        theirs = "– | –"
    print(f"| {name} | {span(q50, ms)} | {span(q99, ms)} | {span(qrps, n)} | {theirs} | {through} | {latency} |")
PY
}

rss_mib() { echo $(( $(ps -o rss= -p "$1") / 1024 )); }

# wrk → "p50 p99 requests/s" (latencies in ms; " non2xx=N" appended if any
# answer was not 2xx/3xx): url threads connections [accept-encoding, default
# gzip] [wrk Lua script making the requests]
measure() {
  wrk -t"$2" -c"$3" -d"$DURATION" --latency -H "Accept-Encoding: ${4:-gzip}" ${5:+-s "$5"} "$1" | python3 -c '
import re, sys
text = sys.stdin.read()
def ms(v):
    n, unit = re.match(r"([\d.]+)(us|ms|s)", v).groups()
    return float(n) * {"us": 0.001, "ms": 1, "s": 1000}[unit]
p = {m.group(1): ms(m.group(2)) for m in re.finditer(r"^\s+(50|99)%\s+(\S+)", text, re.M)}
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
extra = " non2xx=" + non2xx.group(1) if non2xx else ""
p50, p99 = p["50"], p["99"]
print(f"{p50:.3f} {p99:.3f} {rps:.0f}{extra}")'
}

# pgbench → "p50 p99 transactions/s" (latencies in ms): sql clients
pg_measure() {
  echo "$1;" >"$WORK/pg-query.sql"
  rm -f "$WORK"/pgbench_log.*
  (cd "$WORK" && pgbench -n -c"$2" -j"$(( $2 < 2 ? 1 : 2 ))" -T"${DURATION%s}" -f pg-query.sql -l --log-prefix=pgbench_log "$PGB" >/dev/null 2>&1)
  cat "$WORK"/pgbench_log.* | python3 -c '
import sys
lat, first, last = [], None, None
for line in sys.stdin:
    f = line.split()
    lat.append(int(f[2]) / 1000)
    t = int(f[4]) + int(f[5]) / 1e6
    first = t if first is None else min(first, t)
    last = t if last is None else max(last, t)
lat.sort()
print(f"{lat[len(lat)//2]:.3f} {lat[int(len(lat)*0.99)]:.3f} {len(lat) / max(last - first, 1e-9):.2f}")'
}

# The same issues in PostGIS ($PGB), made once per demo database and reused
# by later runs (so runs of two builds compare like for like): the public
# columns, points projected to 3857 (`geom`, for ST_AsMVT), in 4326
# (`geom4326`, for boxes) and as geography (`geog`, for metres and KNN), each
# with a GiST index, and a B-tree on district and status: the most
# favourable set-up for the peer. The districts layer beside them
# (`districts.geom`, 4326, GiST) for ST_Contains.
postgis_copy() {
  if ! psql "$PGURL/postgres" -qtAc "select 1 from pg_available_extensions where name='postgis'" | grep -q 1; then
    echo "PostGIS is not installed: apt-get install -y postgresql-15-postgis-3" >&2
    return 1
  fi
  local loaded
  loaded=$(psql "$PGB" -qtAc "select count(*) from issues where geog is not null" 2>/dev/null || echo 0)
  districts=$(psql "$PGB" -qtAc "select count(*) from districts" 2>/dev/null || echo 0)
  [ "$loaded" = "$ISSUES" ] && [ "$districts" -gt 0 ] && return 0
  psql "$PGURL/postgres" -qc "DROP DATABASE IF EXISTS qala_bench" -qc "CREATE DATABASE qala_bench" >/dev/null
  psql "$PGB" -q <<'SQL' >/dev/null
CREATE EXTENSION postgis;
CREATE TABLE issues (id bigint PRIMARY KEY, category text, description text, address text,
  status text, district_id bigint, created_at text, updated_at text, votes int,
  assigned_department text, created text, lon float8, lat float8);
SQL
  sqlite3 -csv "$DB" "select id, category, description, address, status, district_id, created_at, updated_at, votes, assigned_department, substr(created_at, 1, 10), lon, lat from issues where hidden_at is null" |
    psql "$PGB" -qc "COPY issues FROM STDIN CSV"
  psql "$PGB" -q <<'SQL' >/dev/null
ALTER TABLE issues ADD COLUMN geom geometry(Point, 3857), ADD COLUMN geom4326 geometry(Point, 4326), ADD COLUMN geog geography(Point, 4326);
UPDATE issues SET geom4326 = ST_SetSRID(ST_MakePoint(lon, lat), 4326);
UPDATE issues SET geom = ST_Transform(geom4326, 3857), geog = geom4326::geography;
CREATE INDEX ON issues USING gist (geom);
CREATE INDEX ON issues USING gist (geom4326);
CREATE INDEX ON issues USING gist (geog);
CREATE INDEX ON issues (district_id);
CREATE INDEX ON issues (status);
VACUUM ANALYZE issues;
CREATE TABLE districts (id bigint PRIMARY KEY, geojson text);
SQL
  sqlite3 -csv "$DB" "select id, geometry from features where layer = 'districts'" |
    psql "$PGB" -qc "COPY districts FROM STDIN CSV"
  psql "$PGB" -q <<'SQL' >/dev/null
ALTER TABLE districts ADD COLUMN geom geometry(MultiPolygon, 4326);
UPDATE districts SET geom = ST_Multi(ST_SetSRID(ST_GeomFromGeoJSON(geojson), 4326));
CREATE INDEX ON districts USING gist (geom);
VACUUM ANALYZE districts;
SQL
}

machine() {
  echo "Machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); load average before the run: $LOAD_BEFORE"
}
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
