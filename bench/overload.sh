#!/usr/bin/env bash
# Overload test: 2,000 slow and idle connections (bench/slow_clients.py: half
# send half a request line, half sit idle after one request, each reopened
# as soon as the server closes it) while wrk sends normal traffic to the
# release `qala` binary on the demo city. Prints p50/p99, requests/s and the
# non-2xx count of the normal traffic with and without the attack, the
# attackers' counts, and the server's resident memory. Not run in CI.
#
#   bash bench/overload.sh              # needs: wrk, python3
#
# Environment: ISSUES (default 100000 here), SLOW (default 2000), DURATION
# (default 20s), CAP (a --max-connections for a second run that sheds; default
# 1000), WORK, QALA_BIN as in bench/lib.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
ISSUES=${ISSUES:-100000}
DURATION=${DURATION:-20s}
SLOW=${SLOW:-2000}
CAP=${CAP:-1000}
# shellcheck source=bench/lib.sh
source bench/lib.sh
PORT=18401
need wrk wrk
need python3 python3
# The attackers' sockets and wrk's are this shell's children.
ulimit -n "$(ulimit -Hn)"
qala_and_demo

URL="http://127.0.0.1:$PORT/api/v1/issues/nearby?lon=76.9450&lat=43.2380&radius=500&limit=10"
SECONDS_RUN=${DURATION%s}

# One run: label, extra serve args…
run() {
  local label=$1
  serve_demo "$PORT" "${@:2}"
  echo "## $label" >&2
  echo "quiet:  p50/p99 ms, req/s: $(measure "$URL" 2 50)"
  python3 bench/slow_clients.py 127.0.0.1 "$PORT" "$SLOW" "$(( SECONDS_RUN + 10 ))" >"$WORK/slow.out" &
  local attack=$!
  # Let the attackers connect before measuring.
  sleep 5
  echo "attack: p50/p99 ms, req/s: $(measure "$URL" 2 50)"
  echo "server RSS during the attack: $(rss_mib "$SERVED_PID") MiB"
  wait "$attack"
  echo "attackers: $(cat "$WORK/slow.out")"
  echo "after:  p50/p99 ms, req/s: $(measure "$URL" 2 50)"
  kill "$SERVED_PID"
  wait "$SERVED_PID" 2>/dev/null || true
}

echo "# $SLOW slow/idle connections, $ISSUES issues, wrk -t2 -c50 -d$DURATION on nearby"
echo "## default limits"
run "default limits"
echo "## --max-connections $CAP (sheds)"
run "cap $CAP" --max-connections "$CAP"
