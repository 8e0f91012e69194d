#!/usr/bin/env bash
# Idle memory of the desktop app: the desktop process plus its WebKit helper
# processes (WebKitWebProcess, WebKitNetworkProcess), measured as PSS (shared
# pages split between the processes that map them, so the sum is honest) and
# RSS, after the window has been idle for IDLE seconds. A benchmark, not a test.
#   tools/desktop-memory.sh [BINARY] [IDLE]   (default build/bin/flowweaver-desktop, 15 s)
# Extra environment for the app can be passed through, e.g.
#   FLOWWEAVER_GPU_POLICY=never tools/desktop-memory.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-build/bin/flowweaver-desktop}
idle=${2:-15}
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; sleep 0.5; rm -rf "$work"; }
trap cleanup EXIT
display=:$(( 300 + RANDOM % 100 ))
Xvfb "$display" -screen 0 1400x900x24 -nolisten tcp > /dev/null 2>&1 &
pids+=("$!")
export DISPLAY=$display
for _ in $(seq 100); do xdpyinfo -display "$display" >/dev/null 2>&1 && break; sleep 0.1; done
HOME=$work FLOWWEAVER_DATA_DIR=$work/data "$bin" > "$work/out" 2> "$work/log" &
app=$!; pids+=("$app")
for _ in $(seq 300); do xdotool search --onlyvisible --name "Flow Weaver" >/dev/null 2>&1 && break; sleep 0.2; done
sleep "$idle"
descendants() { local p=$1; echo "$p"; for c in $(pgrep -P "$p"); do descendants "$c"; done; }
total_pss=0 total_rss=0
printf '%-8s %-24s %10s %10s\n' PID NAME PSS_MiB RSS_MiB
for p in $(descendants "$app"); do
  [ -r "/proc/$p/smaps_rollup" ] || continue
  pss=$(awk '/^Pss:/{print $2}' "/proc/$p/smaps_rollup")
  rss=$(awk '/^Rss:/{print $2}' "/proc/$p/smaps_rollup")
  name=$(tr -d '\0' < "/proc/$p/comm")
  printf '%-8s %-24s %10d %10d\n' "$p" "$name" $((pss / 1024)) $((rss / 1024))
  total_pss=$((total_pss + pss)); total_rss=$((total_rss + rss))
done
printf '%-33s %10d %10d\n' TOTAL $((total_pss / 1024)) $((total_rss / 1024))
