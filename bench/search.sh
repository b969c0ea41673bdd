#!/usr/bin/env bash
# Place search (`/api/v1/search`) over a city-sized `places` layer (100,000
# streets and addresses by default, as an OSM import of Almaty brings:
# bench/places.py), side by side with PostgreSQL doing the same work on the
# same names: a `pg_trgm` GIN index on the lowercased names (`unaccent`'s
# work done ahead, in the copy), `LIKE '%q%'`, the same match classes
# (exact > name prefix > word prefix > substring), then distance from the
# map centre with PostGIS, best 8. The peer matches Cyrillic names against
# a Cyrillic query only; Qala also matches every Latin and Kazakh spelling
# (its keys are transliterated), so it does at least the peer's work.
# Measured on what a resident types: a street's name shared by a thousand
# addresses, a name half typed, the first two letters of "улица" (the
# crowded case: a quarter of all places match), a landmark's name that
# occurs once; and the reverse lookup that names the report form's pin.
#
#   bash bench/search.sh   # needs wrk, pgbench, python3, postgresql-15-postgis-3
#
# Environment: PLACES (default 100000), RUNS (default 3), and those of
# bench/lib.sh (WORK, PGURL, DURATION, QALA_BIN).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/lib.sh
source bench/lib.sh
PLACES=${PLACES:-100000}
RUNS=${RUNS:-3}
PORT=18402
PGB="$PGURL/qala_search"
SDB="$WORK/search-$PLACES.db"
need wrk wrk
need pgbench postgresql-client-15

if [ -z "${QALA_BIN:-}" ]; then
  cargo build --release -p qala-server >&2
fi
BIN=${QALA_BIN:-target/release/qala}
if [ ! -f "$SDB" ]; then
  python3 bench/places.py "$PLACES" "$WORK/places-$PLACES.geojson" "$WORK/places-$PLACES.csv"
  "$BIN" --database "sqlite://$SDB" demo --issues 1000 >&2
  /usr/bin/time -f "places import: %e s" "$BIN" --database "sqlite://$SDB" import "$WORK/places-$PLACES.geojson" --layer places --replace >&2
fi

# The peer's copy, made again whenever the names differ from the CSV's.
if [ "$(psql "$PGB" -qtAc "select count(*) || ' ' || md5(string_agg(key, ',' order by place, key)) from place_names" 2>/dev/null || true)" != \
  "$(python3 -c 'import csv, hashlib, sys; rows = sorted((int(r[0]), r[1]) for r in csv.reader(open(sys.argv[1], encoding="utf-8"))); print(len(rows), hashlib.md5(",".join(k for _, k in rows).encode()).hexdigest())' "$WORK/places-$PLACES.csv")" ]; then
  psql "$PGURL/postgres" -qc "DROP DATABASE IF EXISTS qala_search" -qc "CREATE DATABASE qala_search" >/dev/null
  psql "$PGB" -q <<'SQL' >/dev/null
CREATE EXTENSION postgis;
CREATE EXTENSION pg_trgm;
CREATE TABLE place_names (place int, key text, lon float8, lat float8);
SQL
  psql "$PGB" -qc "COPY place_names FROM STDIN CSV" <"$WORK/places-$PLACES.csv"
  psql "$PGB" -q <<'SQL' >/dev/null
ALTER TABLE place_names ADD COLUMN geog geography(Point, 4326);
UPDATE place_names SET geog = ST_SetSRID(ST_MakePoint(lon, lat), 4326)::geography;
CREATE INDEX ON place_names USING gin (key gin_trgm_ops);
CREATE INDEX ON place_names USING gist (geog);
VACUUM ANALYZE place_names;
SQL
fi

# (Copies made before the peer had it get the KNN index here.)
psql "$PGB" -qc "CREATE INDEX IF NOT EXISTS place_names_geog_idx ON place_names USING gist (geog)" -qc "ANALYZE place_names" >/dev/null

serve_url $PORT "sqlite://$SDB"
trap 'kill $SERVED_PID 2>/dev/null || true' EXIT
Q="http://127.0.0.1:$PORT"
CENTRE="76.93,43.25"
P="ST_SetSRID(ST_MakePoint(${CENTRE/,/, }), 4326)::geography"

# The peer's query for a one-word query `q` (lowercase): Qala's match
# classes (a substring only from 3 characters), best class per place, then
# the nearest, 8 of them.
peer_sql() {
  local q=$1 where
  if [ "${#q}" -ge 3 ]; then where="key LIKE '%$q%'"; else where="(key LIKE '$q%' OR key LIKE '% $q%')"; fi
  echo "SELECT place, max(quality) AS quality, min(d) AS d FROM (SELECT place, CASE WHEN key = '$q' THEN 3 WHEN key LIKE '$q%' THEN 2 WHEN key LIKE '% $q%' THEN 1 ELSE 0 END AS quality, ST_Distance(geog, $P) AS d FROM place_names WHERE $where) m GROUP BY place ORDER BY quality DESC, d LIMIT 8"
}

urlq() { python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1]))' "$1"; }
# name | Qala path | the peer's query; searches for one lowercase word.
WORK_ITEMS=()
for item in "a street's name, shared by its addresses|абая" "a name half typed|сейфул" \
  "the first two letters of улица (crowded)|ул" "a landmark's name, once in the city|медеу"; do
  IFS='|' read -r name q <<<"$item"
  WORK_ITEMS+=("search: $name ($q)|/api/v1/search?q=$(urlq "$q")&near=$CENTRE&limit=8|$(peer_sql "$q")")
  matched=$(psql "$PGB" -qtAc "SELECT count(DISTINCT place) FROM ($(peer_sql "$q" | sed 's/ LIMIT 8//')) m")
  first=$(curl -s "$Q/api/v1/search?q=$(urlq "$q")&near=$CENTRE&limit=8" | python3 -c 'import json, sys; f = json.load(sys.stdin)["features"]; print(f[0]["properties"]["name"] if f else "-")')
  echo "$name ($q): $matched places match; Qala's first: $first" >&2
done
# The pin's "near …": Qala measures to each street's line and finds the
# district too; the peer only the nearest named point within 300 m.
WORK_ITEMS+=("reverse: the named place nearest the pin|/api/v1/reverse?lon=${CENTRE%,*}&lat=${CENTRE#*,}|SELECT place FROM place_names WHERE ST_DWithin(geog, $P, 300) ORDER BY geog <-> $P LIMIT 1")

RESULTS="$WORK/search.tsv"
: >"$RESULTS"
for run in $(seq "$RUNS"); do
  for item in "${WORK_ITEMS[@]}"; do
    IFS='|' read -r name path sql <<<"$item"
    read -r q50 q99 qrps extra < <(measure "$Q$path" 1 1 gzip)
    [ -z "${extra:-}" ] || { echo "$name: $extra" >&2; exit 1; }
    read -r p50 p99 tps < <(pg_measure "$sql" 1)
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$q50" "$q99" "$qrps" "$p50" "$p99" "$tps" >>"$RESULTS"
    echo "run $run: $name: Qala p50 $q50 ms $qrps/s; PostgreSQL p50 $p50 ms $tps/s" >&2
  done
done
ratio_table "$RESULTS" PostgreSQL
echo
echo "$PLACES places ($(psql "$PGB" -qtAc "select count(*) from place_names") names); server resident memory $(rss_mib "$SERVED_PID") MiB after the runs."
machine
