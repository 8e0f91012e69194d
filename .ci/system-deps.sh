#!/usr/bin/env bash
# Installs the Debian packages the browser and desktop tests need, once.
# Chromium for Playwright, Xvfb/xdotool/imagemagick for the desktop window,
# GTK and WebKitGTK headers for the Wails build. PostgreSQL 15's server for
# the PostgreSQL store and cluster tests (backend/pgtest starts throwaway
# clusters from /usr/lib/postgresql/15/bin; no service is needed).
set -euo pipefail
pkgs=(chromium xvfb xauth x11-utils imagemagick xdotool libgtk-3-dev libwebkit2gtk-4.1-dev pkg-config desktop-file-utils appstream postgresql-15)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "system-deps: all present"
  exit 0
fi
echo "system-deps: installing ${missing[*]}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
# The tests start their own clusters: keep the package from creating and
# starting a "main" cluster on port 5432 that nothing uses (UCF_FORCE_CONFFOLD
# below keeps this file when the package sets up its own).
if [[ " ${missing[*]} " == *" postgresql-15 "* ]]; then
  $SUDO mkdir -p /etc/postgresql-common
  [ -e /etc/postgresql-common/createcluster.conf ] ||
    echo "create_main_cluster = false" | $SUDO tee /etc/postgresql-common/createcluster.conf >/dev/null
fi
$SUDO apt-get update -qq
$SUDO env UCF_FORCE_CONFFOLD=1 DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
