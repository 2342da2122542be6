#!/usr/bin/env bash
# Install what qingdan needs from Debian 12 and build it into ./build.
# Used by deploy/quickstart.sh and tests/run.sh; safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

PKGS=(gcc libc6-dev pkg-config meson ninja-build python3
      libmicrohttpd-dev liblmdb-dev lmdb-utils libjansson-dev nettle-dev libzstd-dev libssl-dev libzip-dev libxml2-dev libxlsxwriter-dev
      check libcurl4-openssl-dev libcsv-dev libsystemd-dev curl openssl man-db groff-base ${QD_EXTRA_PKGS:-})

missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
	echo "setup: installing Debian packages: ${missing[*]}"
	SUDO=""
	[ "$(id -u)" -eq 0 ] || SUDO="sudo"
	$SUDO apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

BUILD=${QD_BUILD_DIR:-build}
if [ ! -f "$BUILD/build.ninja" ]; then
	meson setup "$BUILD" ${QD_MESON_ARGS:-} >/dev/null
fi
ninja -C "$BUILD" >/dev/null
echo "setup: built qingdand and qingdanctl in $BUILD/"
