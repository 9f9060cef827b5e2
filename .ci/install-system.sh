#!/usr/bin/env bash
# System packages the tests and benchmarks use (Debian). Peer tools are never mocked: tests run the
# real ones. Needs root (CI runs as root); skips apt when everything is already there.
set -euo pipefail
PKGS=(b3sum coreutils openssl chromium zstd pigz libarchive-tools tar rsync umoci skopeo oci-image-tool libcap2-bin util-linux attr)
missing=()
for p in "${PKGS[@]}"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-system: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
