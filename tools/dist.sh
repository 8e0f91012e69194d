#!/usr/bin/env bash
# make dist: release artifacts in build/dist, built reproducibly from the
# current commit:
#   flowweaver_<version>_amd64.deb   the desktop app for Debian/Ubuntu (nfpm)
#   flowweaver-linux-amd64           the same binary, bare
#   flowweaver-windows-amd64.exe     the desktop app cross-built for Windows
#   SHA256SUMS                       checksums of all of the above
# Reproducible: -trimpath, no VCS stamping, the version from git, and every
# mtime in the package set to the last commit's time (SOURCE_DATE_EPOCH).
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
NFPM_VERSION=v2.45.2
nfpm=$PWD/.cache/bin/nfpm-$NFPM_VERSION

# Version: the git tag (v1.2.3 -> 1.2.3), else 0.0.0+git<sha> (Debian
# versions must start with a digit).
describe=$(git describe --tags --always --dirty 2>/dev/null || echo dev)
if [[ $describe =~ ^v?([0-9]+\.[0-9]+[0-9A-Za-z.+~-]*)$ ]]; then
  deb_version=${BASH_REMATCH[1]//-/+}
else
  deb_version="0.0.0+git${describe//-/+}"
fi
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || echo 0)}
export DEB_VERSION=$deb_version

if [ ! -x "$nfpm" ]; then
  mkdir -p .cache/bin
  GOBIN=$PWD/.cache/bin "$GO" install "github.com/goreleaser/nfpm/v2/cmd/nfpm@$NFPM_VERSION"
  mv .cache/bin/nfpm "$nfpm"
fi

dist=build/dist
rm -rf "$dist"
mkdir -p "$dist"

# The desktop binary (GTK/WebKit, cgo); it also serves headless and has the CLI.
make desktop VERSION="$describe"
cp build/bin/flowweaver-desktop "$dist/flowweaver-linux-amd64"
touch -d "@$SOURCE_DATE_EPOCH" "$dist/flowweaver-linux-amd64"

"$nfpm" package --packager deb --config build/linux/nfpm.yaml --target "$dist/flowweaver_${deb_version}_amd64.deb"

# Windows: Wails uses WebView2 there, without cgo.
bash tools/windows-build.sh "$describe" "$dist/flowweaver-windows-amd64.exe"

(cd "$dist" && sha256sum flowweaver_*.deb flowweaver-linux-amd64 flowweaver-windows-amd64.exe > SHA256SUMS)
echo "dist: $(cd "$dist" && ls)"
cat "$dist/SHA256SUMS"
