#!/bin/bash
# Hub CPU (utime+stime from /proc, in ms) per round of 5000 fresh SSE subscribers connected
# and dropped (bench/connect-load.mjs), after a 2000-connection warm-up. CPU, not wall time:
# the machine is shared, so alternate the builds compared and quote medians.
#   bench/connect-cpu.sh <checkout with dist/> <port> <rounds> [herald serve flags...]
load="$(cd "$(dirname "$0")" && pwd)/connect-load.mjs"
dir=$1; port=$2; rounds=$3; shift 3
(cd "$dir" && node dist/cli/main.js serve --port "$port" --host 127.0.0.1 --anonymous \
  --jwt-key 0123456789abcdef0123456789abcdef "$@" > /dev/null 2>&1 &)
for _ in $(seq 1 150); do curl -s -o /dev/null "http://127.0.0.1:$port/healthz" && break; sleep 0.1; done
pid=$(pgrep -f "serve --port $port " | head -1)
[ -n "$pid" ] || { echo "hub did not start" >&2; exit 1; }
cpu() { awk '{print ($14+$15)*10}' "/proc/$pid/stat"; }
node "$load" "$port" 2000 > /dev/null
out=""
for _ in $(seq 1 "$rounds"); do
  c0=$(cpu); node "$load" "$port" 5000 > /dev/null; sleep 0.3; c1=$(cpu)
  out="$out $((c1 - c0))"
done
echo "$(basename "$dir") $*:$out"
kill "$pid"
