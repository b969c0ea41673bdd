#!/usr/bin/env bash
# Import benchmark: 1,000,000 GeoJSON point features into PostGIS, by
# `qala import` and by GDAL's ogr2ogr, same file, same database server, same
# run. Prints a Markdown table (the numbers in docs/benchmarks.md).
#
#   bash bench/import-postgis.sh     # needs: postgresql-15-postgis-3, gdal-bin, python3
#
# Environment: FEATURES (default 1000000), WORK (default /tmp/qala-bench),
# PGURL (default postgres://postgres@127.0.0.1:5432).
set -euo pipefail
cd "$(dirname "$0")/.."

FEATURES=${FEATURES:-1000000}
WORK=${WORK:-/tmp/qala-bench}
PGURL=${PGURL:-postgres://postgres@127.0.0.1:5432}
mkdir -p "$WORK"
command -v ogr2ogr >/dev/null || { echo "ogr2ogr is missing: apt-get install -y gdal-bin" >&2; exit 1; }
cargo build --release -p qala-server >&2
BIN=target/release/qala

FILE="$WORK/points-$FEATURES.geojson"
if [ ! -f "$FILE" ]; then
  # Seeded, so every run imports the same file.
  python3 - "$FEATURES" "$FILE" <<'PY'
import json, random, sys
n, path = int(sys.argv[1]), sys.argv[2]
rng = random.Random(2017)
kinds = ["bench", "tree", "lamp", "bin", "fountain", "playground"]
with open(path, "w") as out:
    out.write('{"type":"FeatureCollection","features":[\n')
    for i in range(n):
        feature = {"type": "Feature",
                   "geometry": {"type": "Point", "coordinates": [round(rng.uniform(76.75, 77.10), 6), round(rng.uniform(43.15, 43.40), 6)]},
                   "properties": {"name": f"asset {i}", "kind": rng.choice(kinds), "condition": rng.randint(1, 5)}}
        out.write(("," if i else "") + json.dumps(feature, separators=(",", ":")) + "\n")
    out.write("]}\n")
PY
fi

psql "$PGURL/postgres" -qc "DROP DATABASE IF EXISTS qala_import_bench WITH (FORCE)" >/dev/null
DB="$PGURL/qala_import_bench"
"$BIN" --database "$DB" migrate 2>/dev/null

/usr/bin/time -f "%e %M" -o "$WORK/qala.time" "$BIN" --database "$DB" import "$FILE" --layer public_spaces >/dev/null 2>"$WORK/qala-import.log"
qala=$(tail -n1 "$WORK/qala.time")
qala_rows=$(psql "$DB" -tAc "SELECT count(*) FROM features WHERE layer = 'public_spaces'")

/usr/bin/time -f "%e %M" -o "$WORK/ogr2ogr.time" ogr2ogr -f PostgreSQL "PG:dbname=qala_import_bench host=127.0.0.1 user=postgres" "$FILE" \
  -nln ogr_points -lco GEOMETRY_NAME=geometry -lco SPATIAL_INDEX=GIST -gt 65536 >/dev/null 2>"$WORK/ogr2ogr.log"
ogr=$(tail -n1 "$WORK/ogr2ogr.time")
ogr_rows=$(psql "$DB" -tAc "SELECT count(*) FROM ogr_points")

echo "| importer | features | seconds | features/s | max RSS MiB |"
echo "|---|---|---|---|---|"
for row in "qala import|$qala_rows|$qala" "ogr2ogr|$ogr_rows|$ogr"; do
  IFS='|' read -r name rows measured <<<"$row"
  read -r secs kb <<<"$measured"
  echo "| $name | $rows | $secs | $(python3 -c "print(round($rows / $secs))") | $((kb / 1024)) |"
done
echo
echo "File: $(du -m "$FILE" | cut -f1) MiB. Machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)."
