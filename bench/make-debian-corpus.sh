#!/usr/bin/env bash
# Build the Debian minbase benchmark corpus on demand (never in CI): needs root, debootstrap and
# Debian's package mirror. Output in bench/.cache/debian/:
#   base/   debootstrap --variant=minbase bookworm
#   plus/   base + python3-minimal and curl (second debootstrap with --include)
#   minus/  a copy of base with packages purged, docs and man pages removed, and a directory removed
set -euo pipefail
cd "$(dirname "$0")"
out=.cache/debian
mkdir -p "$out"
command -v debootstrap >/dev/null || { apt-get update -qq && apt-get install -y -qq debootstrap; }
suite=${SUITE:-bookworm}
mirror=${MIRROR:-http://deb.debian.org/debian}
if [ ! -d "$out/base/usr" ]; then
  debootstrap --variant=minbase "$suite" "$out/base" "$mirror" >"$out/base.log" 2>&1
fi
if [ ! -d "$out/plus/usr" ]; then
  debootstrap --variant=minbase --include=python3-minimal,curl "$suite" "$out/plus" "$mirror" >"$out/plus.log" 2>&1
fi
if [ ! -d "$out/minus/usr" ]; then
  cp -a "$out/base" "$out/minus.tmp"
  chroot "$out/minus.tmp" dpkg --purge --force-depends e2fsprogs libss2 libext2fs2 >/dev/null 2>&1 || true
  rm -rf "$out/minus.tmp/usr/share/doc" "$out/minus.tmp/usr/share/man" "$out/minus.tmp/var/cache/debconf"
  mv "$out/minus.tmp" "$out/minus"
fi
du -sh "$out"/base "$out"/plus "$out"/minus
