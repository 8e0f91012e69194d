#!/usr/bin/env bash
# The .deb as a user meets it: install it with apt, check what it placed,
# start it the way the application menu does (the Exec line of its .desktop
# entry) under Xvfb, screenshot the window, remove the package cleanly.
#
# Needs: root (or sudo), build/dist/flowweaver_*.deb (make dist), and
# xvfb xdotool imagemagick desktop-file-utils appstream (make system-deps).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
mkdir -p artifacts
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

debs=(build/dist/flowweaver_*.deb)
[ -f "${debs[0]}" ] || { echo "deb-test: no build/dist/flowweaver_*.deb (make dist)" >&2; exit 1; }
deb=$root/${debs[0]}

work=$(mktemp -d)
pids=()
installed=0
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  sleep 0.5
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  [ $installed = 0 ] || $SUDO apt-get remove -y -qq flowweaver >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "deb-test: FAIL: $*" >&2; [ -f "$work/app.log" ] && tail -30 "$work/app.log" >&2; exit 1; }
wait_for() { # retry for up to 60 s (a hang guard, not a timing goal)
  local deadline=$((SECONDS + 60))
  until "$@"; do
    [ $SECONDS -lt $deadline ] || return 1
    sleep 0.2
  done
}

# --- install -------------------------------------------------------------
if dpkg-query -W -f='${Status}' flowweaver 2>/dev/null | grep -q "install ok installed"; then
  fail "flowweaver is already installed on this machine; remove it first (apt-get remove flowweaver)"
fi
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "$deb" > "$work/apt.log" 2>&1 ||
  fail "apt-get install: $(tail -20 "$work/apt.log")"
installed=1

# --- the files it placed ---------------------------------------------------
[ "$(command -v flowweaver)" = /usr/bin/flowweaver ] || fail "flowweaver is not on PATH at /usr/bin/flowweaver"
want_version=$(dpkg-query -W -f='${Version}' flowweaver)
got_version=$(flowweaver version 2>&1 | head -1)
echo "deb-test: package $want_version, flowweaver version: $got_version"
[ -n "$got_version" ] || fail "flowweaver version printed nothing"
desktop=/usr/share/applications/flowweaver.desktop
desktop-file-validate "$desktop" || fail "desktop-file-validate $desktop"
appstreamcli validate --no-net /usr/share/metainfo/dev.flowweaver.app.metainfo.xml > "$work/appstream.log" 2>&1 ||
  fail "metainfo: $(cat "$work/appstream.log")"
for s in 16 22 24 32 48 64 128 256 512; do
  icon=/usr/share/icons/hicolor/${s}x${s}/apps/flowweaver.png
  [ -f "$icon" ] || fail "missing icon $icon"
  [ "$(identify -format '%wx%h' "$icon")" = "${s}x${s}" ] || fail "$icon is not ${s}x${s}"
done

# --- start it from its menu entry ---------------------------------------
exec_line=$(sed -n 's/^Exec=//p' "$desktop" | head -1)
# Field codes (%U, %f, ...) expand to nothing when no file is passed.
read -r -a cmd <<<"$(sed -E 's/ ?%[fFuUdDnNickvm]//g' <<<"$exec_line")"
[ "${cmd[0]}" = flowweaver ] || fail "Exec line '$exec_line' does not start flowweaver from PATH"

display=:$(( 200 + RANDOM % 100 ))
Xvfb "$display" -screen 0 1400x900x24 -nolisten tcp > "$work/xvfb.log" 2>&1 &
pids+=("$!")
export DISPLAY=$display
wait_for xdpyinfo -display "$display" >/dev/null 2>&1 || fail "Xvfb did not start"

mkdir -p "$work/home"
HOME=$work/home FLOWWEAVER_DATA_DIR=$work/data "${cmd[@]}" > "$work/app.out" 2> "$work/app.log" &
app_pid=$!; pids+=("$app_pid")
find_window() { [ -n "$(xdotool search --onlyvisible --name "Flow Weaver" 2>/dev/null | head -1)" ]; }
wait_for find_window || fail "no window named Flow Weaver after starting '$exec_line'"
wait_for grep -q "desktop backend on" "$work/app.log" || fail "the installed app started no backend"
sleep 2 # let the webview paint before the screenshot
import -display "$display" -window root "$root/artifacts/deb-launch.png"
sd=$(convert "$root/artifacts/deb-launch.png" -colorspace Gray -format '%[fx:standard_deviation]' info:)
python3 -c "import sys; sys.exit(0 if float('$sd') > 0.02 else 1)" || fail "screenshot looks blank (stddev $sd)"
echo "deb-test: started through '$exec_line'; screenshot artifacts/deb-launch.png (stddev $sd)"
kill -TERM "$app_pid"
wait "$app_pid" 2>/dev/null || true

# --- remove --------------------------------------------------------------
$SUDO apt-get remove -y -qq flowweaver > "$work/remove.log" 2>&1 || fail "apt-get remove: $(cat "$work/remove.log")"
installed=0
[ ! -e /usr/bin/flowweaver ] || fail "/usr/bin/flowweaver is still there after removal"
[ ! -e "$desktop" ] || fail "$desktop is still there after removal"
[ ! -e /usr/share/icons/hicolor/256x256/apps/flowweaver.png ] || fail "icons are still there after removal"
echo "deb-test: 1 passed, 0 failed"
