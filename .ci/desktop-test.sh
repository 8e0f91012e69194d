#!/usr/bin/env bash
# Desktop end-to-end test: the real Wails binary in a real window under Xvfb.
#
# Needs (installed by .ci/system-deps.sh): libgtk-3-dev libwebkit2gtk-4.1-dev
# xvfb xauth xdotool imagemagick, plus Go and Node for the build.
#
# 1. Build the desktop binary (make desktop).
# 2. Prepare a data dir headlessly with the same binary: a project folder, a
#    workflow, and a workspace whose open tab is that project.
# 3. Start the desktop app on a fresh X display; wait for its window.
# 4. Prove the real webview is connected: the backend reports one WebSocket
#    for the project tab the UI restored.
# 5. Press Ctrl+Enter in the window: the UI starts the run over its socket;
#    the run must succeed.
# 5b. One process per data dir: `serve` on the window's data dir exits 4 naming
#    the window's pid; `flowweaver run` in a terminal hands its run to the window;
#    a second launch of the app brings the window forward and exits 0.
# 6. Screenshot the screen into artifacts/desktop.png and check it is not blank.
# 7. Keep running in the background: with a webhook trigger, closing the window
#    (File > Close Window, Ctrl+W) asks; Enter keeps it running: the window is
#    hidden, the webhook still starts runs, and a second launch shows the window.
#    SIGTERM ends the hidden app; `--background` starts it hidden, serving the
#    webhook, and a launch shows it.
# Prints binary size, time to window and idle RSS of the desktop process.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
bin=$root/build/bin/flowweaver-desktop
mkdir -p artifacts
rm -f artifacts/desktop-close-question.png

make desktop

work=$(mktemp -d)
data=$work/data
proj=$work/project
mkdir -p "$data" "$proj"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  sleep 0.5
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

fail() { echo "desktop-test: FAIL: $*" >&2; [ -f "$work/app.log" ] && tail -30 "$work/app.log" >&2; exit 1; }

# wait_for CMD...: retry for up to 60 s (a hang guard, not a timing goal).
wait_for() {
  local deadline=$((SECONDS + 60))
  until "$@"; do
    [ $SECONDS -lt $deadline ] || return 1
    sleep 0.2
  done
}

api() { # api METHOD PATH [BODY]
  local method=$1 path=$2 body=${3:-}
  if [ -n "$body" ]; then
    curl -sf -X "$method" -H "Authorization: Bearer $token" -H 'Content-Type: application/json' -d "$body" "$url$path"
  else
    curl -sf -X "$method" -H "Authorization: Bearer $token" "$url$path"
  fi
}
json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

# --- 2. prepare the data dir headlessly -----------------------------------
"$bin" serve --addr 127.0.0.1:0 --data-dir "$data" > "$work/serve.out" 2>"$work/serve.err" &
serve_pid=$!; pids+=("$serve_pid")
wait_for grep -q "listening on" "$work/serve.out" || fail "serve did not start"
url=$(sed -n 's/^flowweaver listening on //p' "$work/serve.out")
token=$("$bin" token --data-dir "$data" --ttl 10m)
pid=$(api POST /api/projects "{\"name\":\"desktop-demo\",\"path\":\"$proj\",\"trusted\":true}" | json 'd["id"]')
api PUT "/api/projects/$pid/workflows/hello" '{"name":"Hello desktop","nodes":[{"id":"greet","tool":"log","params":{"message":"hello from the window"},"position":{"x":0,"y":0}},{"id":"write","tool":"file.write","params":{"path":"from-window.txt","content":"ran"},"position":{"x":280,"y":0}}],"edges":[{"source":"greet","target":"write"}]}' >/dev/null
api PUT /api/workspace "{\"tabs\":[\"$pid\"],\"active\":\"$pid\"}" >/dev/null
# While serve holds the data dir, the desktop app refuses it (exit 4, naming serve's pid)
# before it opens the database or a window.
set +e
FLOWWEAVER_DATA_DIR=$data timeout 60 "$bin" > "$work/held.out" 2>&1; code=$?
set -e
[ "$code" = 4 ] || fail "the desktop app on a data dir held by serve exited $code, want 4: $(cat "$work/held.out")"
grep -q "pid $serve_pid" "$work/held.out" || fail "the refusal does not name serve's pid $serve_pid: $(cat "$work/held.out")"
kill -TERM "$serve_pid"; wait "$serve_pid" || fail "serve exited non-zero"

# --- 3. the window --------------------------------------------------------
display=:$(( 90 + RANDOM % 100 ))
Xvfb "$display" -screen 0 1400x900x24 -nolisten tcp > "$work/xvfb.log" 2>&1 &
pids+=("$!")
export DISPLAY=$display
wait_for xdpyinfo -display "$display" >/dev/null 2>&1 || wait_for xdotool getdisplaygeometry >/dev/null 2>&1 || fail "Xvfb did not start"

start_ns=$(date +%s%N)
FLOWWEAVER_DATA_DIR=$data "$bin" > "$work/app.out" 2> "$work/app.log" &
app_pid=$!; pids+=("$app_pid")
wid=""
find_window() { wid=$(xdotool search --onlyvisible --name "Flow Weaver" 2>/dev/null | head -1); [ -n "$wid" ]; }
wait_for find_window || fail "no window named Flow Weaver"
window_ms=$(( ($(date +%s%N) - start_ns) / 1000000 ))
wait_for grep -q "desktop backend on" "$work/app.log" || fail "no backend line"
url=$(sed -n 's/^flowweaver desktop backend on //p' "$work/app.log" | head -1)

# --- 4. the webview's per-project socket ---------------------------------
webview_connected() { [ "$(api GET /api/connections | json "d['projects'].get('$pid', 0)")" = "1" ]; }
wait_for webview_connected || fail "the webview never opened the project's WebSocket: $(api GET /api/connections)"

# The window title names the active project (the UI calls App.SetTitle).
titled() { [ "$(xdotool getwindowname "$wid")" = "Flow Weaver — desktop-demo" ]; }
wait_for titled || fail "window title is '$(xdotool getwindowname "$wid")', want 'Flow Weaver — desktop-demo'"

# --- 5. a run started from the window ------------------------------------
run_done() {
  local st
  st=$(api GET "/api/projects/$pid/runs" | json 'd["runs"][0]["status"] if d["runs"] else ""')
  [ "$st" = "succeeded" ] || { [ "$st" = "failed" ] && fail "the run failed"; false; }
}
press_run() {
  xdotool windowactivate --sync "$wid" >/dev/null 2>&1 || xdotool windowfocus --sync "$wid" >/dev/null 2>&1 || true
  xdotool mousemove --window "$wid" 600 400 click 1 key ctrl+Return
}
tries=0
until run_done; do
  tries=$((tries + 1))
  [ $tries -le 20 ] || fail "no run succeeded after pressing Ctrl+Enter in the window"
  if [ "$(api GET "/api/projects/$pid/runs" | json 'len(d["runs"])')" = "0" ]; then press_run; fi
  sleep 1
done
[ "$(cat "$proj/from-window.txt")" = "ran" ] || fail "the run's file.write did not happen"

# --- 5b. one process per data dir; the terminal hands runs to the window --
set +e
"$bin" serve --addr 127.0.0.1:0 --data-dir "$data" > "$work/serve2.out" 2>&1; code=$?
set -e
[ "$code" = 4 ] || fail "serve on the window's data dir exited $code, want 4: $(cat "$work/serve2.out")"
grep -q "pid $app_pid" "$work/serve2.out" || fail "the refusal does not name the window's pid $app_pid: $(cat "$work/serve2.out")"
"$bin" run --data-dir "$data" --project "$proj" hello > "$work/cli.out" 2> "$work/cli.err" || fail "flowweaver run exited $?: $(cat "$work/cli.err")"
grep -q "✓ hello succeeded" "$work/cli.err" || fail "flowweaver run printed no summary: $(cat "$work/cli.err")"
[ "$(api GET "/api/projects/$pid/runs" | json 'len(d["runs"])')" -ge 2 ] || fail "the terminal's run is not in the window's backend"
# A second launch of the app hands over to the window (brought to the front) and exits 0.
FLOWWEAVER_DATA_DIR=$data timeout 60 "$bin" > "$work/second.out" 2>&1 || fail "a second launch exited $?: $(cat "$work/second.out")"
grep -q "already running" "$work/second.out" || fail "a second launch did not hand over: $(cat "$work/second.out")"
kill -0 "$app_pid" 2>/dev/null || fail "the window died after a second launch"
sleep 1

# --- 6. screenshot, size, RSS --------------------------------------------
import -display "$display" -window root "$root/artifacts/desktop.png"
sd=$(convert "$root/artifacts/desktop.png" -colorspace Gray -format '%[fx:standard_deviation]' info:)
python3 -c "import sys; sys.exit(0 if float('$sd') > 0.02 else 1)" || fail "screenshot looks blank (stddev $sd)"
rss_kb=$(awk '/VmRSS/{print $2}' "/proc/$app_pid/status")
size=$(stat -c %s "$bin")
echo "desktop-test: binary $(( size / 1024 / 1024 )) MiB ($size bytes), window after ${window_ms} ms, idle RSS of the desktop process $(( rss_kb / 1024 )) MiB (webkit helper processes not included)"
echo "desktop-test: screenshot artifacts/desktop.png (stddev $sd)"

# --- 7. keep running in the background --------------------------------------
api PUT "/api/projects/$pid/workflows/hello" '{"name":"Hello desktop","nodes":[{"id":"greet","tool":"log","params":{"message":"hello from the window"},"position":{"x":0,"y":0}},{"id":"write","tool":"file.write","params":{"path":"from-window.txt","content":"ran"},"position":{"x":280,"y":0}}],"edges":[{"source":"greet","target":"write"}],"triggers":[{"id":"hook","type":"webhook"}]}' >/dev/null
hook_path() { api GET "/api/projects/$pid/workflows/hello/triggers" | json 'd["triggers"][0]["url"].split("/",3)[3]'; }
hook=$(hook_path)
[ -n "$hook" ] || fail "no webhook URL for the trigger"
visible() { [ -n "$(xdotool search --onlyvisible --name "Flow Weaver" 2>/dev/null | head -1)" ]; }
hidden() { ! visible; }
runs_count() { api GET "/api/projects/$pid/runs" | json 'len(d["runs"])'; }
# fire_webhook: POST the hook and wait for one more succeeded run.
fire_webhook() {
  local before
  before=$(runs_count)
  curl -sf -X POST -H 'Content-Type: application/json' -d '{"from":"ci"}' "$url/$hook" >/dev/null || fail "the webhook was refused ($1)"
  more_runs() { [ "$(runs_count)" -gt "$before" ] && [ "$(api GET "/api/projects/$pid/runs" | json 'd["runs"][0]["status"]')" = succeeded ]; }
  wait_for more_runs || fail "the webhook started no successful run ($1)"
}
# Ctrl+W in the window (File > Close Window) until the close question is
# answered: the page's dialog focuses "Keep running in the background", so
# Enter answers it. Retried: a key press can land before the page has focus.
close_and_keep() {
  local tries=0
  until hidden; do
    tries=$((tries + 1))
    [ $tries -le 10 ] || fail "closing the window with a trigger did not hide it"
    find_window || true
    xdotool mousemove --window "$wid" 600 400 click 1 >/dev/null 2>&1 || true
    xdotool key ctrl+w
    sleep 1
    if visible; then
      [ -f "$root/artifacts/desktop-close-question.png" ] || import -display "$display" -window root "$root/artifacts/desktop-close-question.png"
      xdotool key Return
    fi
    sleep 1
  done
  # The page asked (its dialog, with "remember my choice"), not the native fallback.
  ! grep -q "asking natively" "$work/app.log" || fail "the page did not show the close question; the native fallback asked"
}
close_and_keep
kill -0 "$app_pid" 2>/dev/null || fail "the app quit instead of keeping running in the background"
grep -q "window hidden; the backend keeps serving" "$work/app.log" || fail "no background line in the log"
fire_webhook "window hidden"
FLOWWEAVER_DATA_DIR=$data timeout 60 "$bin" > "$work/third.out" 2>&1 || fail "a launch while hidden exited $?: $(cat "$work/third.out")"
wait_for visible || fail "a second launch did not show the hidden window"
echo "desktop-test: closed with a trigger -> hidden, webhook served, second launch showed the window"

# Hidden again, SIGTERM quits it cleanly (no question: a signal is a quit).
close_and_keep
kill -TERM "$app_pid"
wait "$app_pid" 2>/dev/null || true
kill -0 "$app_pid" 2>/dev/null && fail "the hidden app did not quit on SIGTERM"

# --background (the autostart entry's flag): no window, the webhook serves.
FLOWWEAVER_DATA_DIR=$data "$bin" --background > "$work/bg.out" 2> "$work/bg.log" &
app_pid=$!; pids+=("$app_pid")
wait_for grep -q "desktop backend on" "$work/bg.log" || fail "no backend line in background mode: $(cat "$work/bg.log")"
url=$(sed -n 's/^flowweaver desktop backend on //p' "$work/bg.log" | head -1)
webview_connected_bg() { [ "$(api GET /api/connections | json "d['projects'].get('$pid', 0)")" = "1" ]; }
wait_for webview_connected_bg || fail "the hidden window's page did not connect"
hidden || fail "--background showed a window"
fire_webhook "started with --background"
hidden || fail "the window appeared while serving the webhook in the background"
FLOWWEAVER_DATA_DIR=$data timeout 60 "$bin" > "$work/fourth.out" 2>&1 || fail "a launch of the background app exited $?: $(cat "$work/fourth.out")"
wait_for visible || fail "a launch did not show the window of the app started with --background"
echo "desktop-test: --background started hidden and served the webhook; a launch showed the window"

kill -TERM "$app_pid"
wait "$app_pid" 2>/dev/null || true
echo "desktop-test: 1 passed, 0 failed"
