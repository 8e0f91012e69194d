#!/usr/bin/env bash
# Cross-builds the Windows desktop app from Linux: windows-build.sh VERSION OUT.exe
# Wails on Windows uses WebView2 without cgo, so CGO_ENABLED=0 links it.
# go-winres (pinned) writes the icon, version and manifest resources into a
# .syso that the Go linker picks up from the main package's folder.
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
version=$1 out=$2
WINRES_VERSION=v0.3.3
winres=$PWD/.cache/bin/go-winres-$WINRES_VERSION
if [ ! -x "$winres" ]; then
  mkdir -p .cache/bin
  GOBIN=$PWD/.cache/bin "$GO" install "github.com/tc-hib/go-winres@$WINRES_VERSION"
  mv .cache/bin/go-winres "$winres"
fi
# Windows version resources want four numbers: 1.2.3 from a v1.2.3 tag, else 0.0.0.
num=$(sed -nE 's/^v?([0-9]+\.[0-9]+\.[0-9]+).*/\1/p' <<<"$version")
num=${num:-0.0.0}.0
syso=rsrc_windows_amd64.syso
trap 'rm -f "$syso"' EXIT
"$winres" simply --arch amd64 --out rsrc --icon build/appicon.png --manifest gui \
  --product-name "Flow Weaver" --file-description "Flow Weaver" --original-filename flowweaver.exe \
  --copyright "Flow Weaver" --file-version "$num" --product-version "$version"
GOOS=windows GOARCH=amd64 CGO_ENABLED=0 "$GO" build -tags desktop,production -trimpath -buildvcs=false \
  -ldflags "-s -w -H windowsgui -X main.version=$version" -o "$out" .
file "$out" 2>/dev/null || true
